/*
 * topk.h - the k best candidates of a stream, kept in a bounded heap: the
 * neighbour lists of recs.c (similarity) and ease.c (EASE weights,
 * transitions) use it.
 *
 *   pz_cand heap[k]; int n = 0;
 *   pz_topk_offer(heap, &n, k, c);   -- for each candidate
 *   pz_topk_sort(heap, n);           -- best first
 *
 * Order: key descending, then id ascending, so equal input always gives
 * equal lists. `value` rides along (what the list stores, when it is not
 * the key itself).
 */
#ifndef PERSONALIZE_TOPK_H
#define PERSONALIZE_TOPK_H

#include <stdint.h>
#include <stdlib.h>

typedef struct {
	double key;
	double value;
	int32_t id;
} pz_cand;

/* a ranks after b: a lower key, or an equal key and a higher id */
static inline int pz_cand_worse(const pz_cand *a, const pz_cand *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	return a->id > b->id;
}

/* heap[0] is the worst kept candidate */
static inline void pz_topk_sift_down(pz_cand *heap, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		pz_cand t;

		if (l < n && pz_cand_worse(&heap[l], &heap[w]))
			w = l;
		if (r < n && pz_cand_worse(&heap[r], &heap[w]))
			w = r;
		if (w == i)
			return;
		t = heap[i];
		heap[i] = heap[w];
		heap[w] = t;
		i = w;
	}
}

/* Offers c to a heap of capacity k holding *n candidates. */
static inline void pz_topk_offer(pz_cand *heap, int *n, int k, pz_cand c)
{
	if (*n < k) {
		int i = (*n)++;

		heap[i] = c;
		while (i > 0 && pz_cand_worse(&heap[i], &heap[(i - 1) / 2])) {
			pz_cand t = heap[i];

			heap[i] = heap[(i - 1) / 2];
			heap[(i - 1) / 2] = t;
			i = (i - 1) / 2;
		}
	} else if (k > 0 && pz_cand_worse(&heap[0], &c)) {
		heap[0] = c;
		pz_topk_sift_down(heap, *n, 0);
	}
}

static inline int pz_cand_cmp(const void *x, const void *y)
{
	const pz_cand *a = x, *b = y;

	return pz_cand_worse(a, b) ? 1 : pz_cand_worse(b, a) ? -1 : 0;
}

/* Sorts the kept candidates best first. */
static inline void pz_topk_sort(pz_cand *heap, int n)
{
	qsort(heap, (size_t)n, sizeof *heap, pz_cand_cmp);
}

#endif
