/*
 * ease.c - EASE, the closed-form item-to-item model (Steck, "Embarrassingly
 * Shallow Autoencoders for Sparse Data", WWW 2019), for personalize-local's
 * recipes.
 *
 *   C:   pz_ease_train(&hist, &opts, &model, err, sizeof err) -> 0 or -1
 *   Lua: core.ease(hist_off, hist, hist_w, n_items, opts) -> off, nbr, sim, n_solved
 *        core.transitions(hist_off, hist, hist_w, n_items, opts) -> off, nbr, sim
 *        (both also take a history built in C: core.ease(hist, opts))
 *        core.rows(off, nbr, sim, n) -> rows        (compressed rows in C)
 *        core.votes(items, n, rows, n_newest, decay, weight, ...) -> acc, best
 *        (a user's items voting over rows, as user-personalization scores)
 *
 * From the users' histories (hist.h), over the opts.max_items most popular
 * items (distinct users, then index ascending; a bounded dense solve):
 *
 *   G = X^T X           X[u][i] = 1 (or the pair's weight, opts.weighted)
 *                       over each user's newest opts.max_per_user items
 *   P = (G + lambda I)^-1   (Cholesky in double: G + lambda I = L L^T,
 *                            W = L^-1, P = W^T W)
 *   B[i][j] = -P[i][j] / P[j][j],  B[j][j] = 0
 *
 * and keeps, for each kept item i, the opts.k largest positive B[i][j]
 * (how much having i predicts j: a user's score of j is the sum of B[i][j]
 * over the user's items i) as compressed rows, best first, ties by the
 * smaller index; opts.signed_ keeps the k largest |B[i][j]| instead
 * (negative weights too, for an exact EASE when k covers the row). Items outside the top max_items get no EASE weights (an
 * empty row), and are no one's neighbour: the Gram matrix and its inverse
 * are N x N doubles (N = 3000: 72 MB, about n^3 / 2 multiply-adds).
 *
 * The work: sum over users of (kept items)^2 for G, then n^3 / 6 for each
 * of the Cholesky factor, W and P; opts.threads (1 or 2) splits W and P
 * (and G) between threads. The kernel keeps no state between calls and
 * frees what it allocated before it returns; the model's arrays are the
 * caller's (pz_ease_free). The Lua binding owns everything in userdata
 * with __gc, so a raised error (a bad argument, memory) never leaks.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "ease.h"
#include "topk.h"

#define EASE_MAX_ITEMS 20000
#define EASE_MAX_K 1000
#define EASE_MAX_USERS 100000000
#define EASE_MAX_ROWS 2000000000LL

void pz_ease_defaults(pz_ease_opts *o)
{
	o->max_items = 3000;
	o->k = 200;
	o->max_per_user = 2000;
	o->threads = 1;
	o->weighted = 0;
	o->signed_ = 0;
	o->lambda = 500;
}

void pz_ease_free(pz_ease_model *m)
{
	free(m->off);
	free(m->nbr);
	free(m->sim);
	m->off = NULL;
	m->nbr = NULL;
	m->sim = NULL;
}

/* a . b over n doubles, four partial sums */
static double dot(const double *a, const double *b, int32_t n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int32_t i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/* out[r] = a[r] . b over n doubles for four rows a[0..3]: b is read once
 * for all four (the solve's loops are bound by memory traffic). */
static void dot4(const double *const a[4], const double *b, int32_t n, double out[4])
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0, t0 = 0, t1 = 0, t2 = 0, t3 = 0;
	const double *a0 = a[0], *a1 = a[1], *a2 = a[2], *a3 = a[3];
	int32_t i = 0;

	for (; i + 2 <= n; i += 2) {
		double x = b[i], y = b[i + 1];

		s0 += a0[i] * x;
		s1 += a1[i] * x;
		s2 += a2[i] * x;
		s3 += a3[i] * x;
		t0 += a0[i + 1] * y;
		t1 += a1[i + 1] * y;
		t2 += a2[i + 1] * y;
		t3 += a3[i + 1] * y;
	}
	for (; i < n; i++) {
		s0 += a0[i] * b[i];
		s1 += a1[i] * b[i];
		s2 += a2[i] * b[i];
		s3 += a3[i] * b[i];
	}
	out[0] = s0 + t0;
	out[1] = s1 + t1;
	out[2] = s2 + t2;
	out[3] = s3 + t3;
}

/* Rows in a block of at most four from `left` remaining ones. */
static int32_t block_rows(int32_t left)
{
	return left < 4 ? left : 4;
}

/* Row b of a block of nb rows from r0; past the end, the first row again
 * (read, never written). */
static int32_t block_row(int32_t r0, int32_t b, int32_t nb)
{
	return b < nb ? r0 + b : r0;
}

/* The shared state of the solve's steps. Matrices are n x n, row-major. */
typedef struct {
	const pz_hist *h;
	const pz_ease_opts *o;
	const int32_t *col;	/* item -> column, or -1 */
	int32_t n;
	double *a;		/* G + lambda I, then L (lower), then P (upper) */
	double *w;		/* W = L^-1 (lower); rows of W^T afterwards (upper) */
	double *g2;		/* the second thread's half of G, or NULL */
	int32_t lo, hi;		/* this worker's range (users, columns or rows) */
	int step;
	int failed;
} ease_job;

/* G over users [lo, hi): upper triangle of `out` (n x n). */
static void gram_users(const ease_job *j, double *out, int32_t *cols, double *vals)
{
	const pz_hist *h = j->h;
	int32_t u, n = j->n, cap = j->o->max_per_user;

	for (u = j->lo; u < j->hi; u++) {
		int64_t p, first = h->off[u];
		int32_t c = 0, x, y;

		for (p = h->off[u + 1] - 1; p >= first && c < cap; p--) {
			int32_t col = j->col[h->item[p]];

			if (col < 0)
				continue;
			cols[c] = col;
			vals[c] = j->o->weighted ? (double)h->weight[p] : 1.0;
			c++;
		}
		for (x = 0; x < c; x++) {
			double *row = out + (size_t)cols[x] * (size_t)n, vx = vals[x];

			for (y = 0; y < c; y++)
				if (cols[y] >= cols[x])
					row[cols[y]] += vx * vals[y];
		}
	}
}

/* Columns [lo, hi) of W = L^-1 (lower): column blocks of W are
 * independent (W[:, c] solves L w = e_c). Row i of W is
 *   W[i][c] = -(sum_{k=c}^{i-1} L[i][k] W[k][c]) / L[i][i]  (c < i),
 * W[k][c] = 0 for c > k; rows go four at a time, so each earlier row k
 * is read once for the four. */
static void inverse_columns(const ease_job *j)
{
	int32_t n = j->n, i0, i, b, k, c, c0 = j->lo, c1 = j->hi;
	const double *l = j->a;
	double *w = j->w;

	for (i0 = c0; i0 < n; i0 += 4) {
		int32_t nb = block_rows(n - i0);
		double *wi[4];
		const double *li[4];

		for (b = 0; b < 4; b++) {
			int32_t r = block_row(i0, b, nb);

			wi[b] = w + (size_t)r * (size_t)n;
			li[b] = l + (size_t)r * (size_t)n;
		}
		/* the rows before the block, four rows at once */
		for (k = c0; k < i0; k++) {
			const double *wk = w + (size_t)k * (size_t)n;
			int32_t top = k + 1 < c1 ? k + 1 : c1;

			if (nb == 4) {
				double f0 = li[0][k], f1 = li[1][k], f2 = li[2][k], f3 = li[3][k];
				double *w0 = wi[0], *w1 = wi[1], *w2 = wi[2], *w3 = wi[3];

				for (c = c0; c < top; c++) {
					double x = wk[c];

					w0[c] -= f0 * x;
					w1[c] -= f1 * x;
					w2[c] -= f2 * x;
					w3[c] -= f3 * x;
				}
			} else {
				for (b = 0; b < nb; b++) {
					double f = li[b][k];

					for (c = c0; c < top; c++)
						wi[b][c] -= f * wk[c];
				}
			}
		}
		/* inside the block, row by row */
		for (b = 0; b < nb; b++) {
			int32_t end;

			i = i0 + b;
			end = i < c1 ? i : c1;
			for (k = i0; k < i; k++) {
				const double *wk = w + (size_t)k * (size_t)n;
				double f = li[b][k];
				int32_t top = k + 1 < end ? k + 1 : end;

				for (c = c0; c < top; c++)
					wi[b][c] -= f * wk[c];
			}
			for (c = c0; c < end; c++)
				wi[b][c] /= li[b][i];
			if (i < c1)
				wi[b][i] = 1 / li[b][i];
		}
	}
}

/* Rows [lo, hi) of P = W^T W from S = W^T (upper, row-major in w):
 * P[r][c] = S[r][c..] . S[c][c..] for c >= r, written to a's upper part;
 * four rows r at a time. */
static void product_rows(const ease_job *j)
{
	int32_t n = j->n, r0, r, c, b;
	const double *s = j->w;
	double *p = j->a;

	for (r0 = j->lo; r0 < j->hi; r0 += 4) {
		int32_t nb = block_rows(j->hi - r0);

		for (r = r0; r < r0 + nb; r++)
			for (c = r; c < r0 + nb; c++)
				p[(size_t)r * (size_t)n + c] = dot(s + (size_t)r * (size_t)n + c,
					s + (size_t)c * (size_t)n + c, n - c);
		for (c = r0 + nb; c < n; c++) {
			const double *sc = s + (size_t)c * (size_t)n + c;
			const double *a[4];
			double out[4];

			for (b = 0; b < 4; b++)
				a[b] = s + (size_t)block_row(r0, b, nb) * (size_t)n + c;
			dot4(a, sc, n - c, out);
			for (b = 0; b < nb; b++)
				p[(size_t)(r0 + b) * (size_t)n + c] = out[b];
		}
	}
}

static void *worker(void *arg)
{
	ease_job *j = arg;

	if (j->step == 0) {
		int32_t cap = j->o->max_per_user;
		int32_t *cols = malloc((size_t)cap * sizeof *cols);
		double *vals = malloc((size_t)cap * sizeof *vals);

		if (cols == NULL || vals == NULL)
			j->failed = 1;
		else
			gram_users(j, j->g2 ? j->g2 : j->a, cols, vals);
		free(cols);
		free(vals);
	} else if (j->step == 1) {
		inverse_columns(j);
	} else {
		product_rows(j);
	}
	return NULL;
}

/* Runs step `step` over [0, total) split at `mid` between this thread and
 * a second one when threads > 1 (the second does [mid, total)). */
static int run_split(ease_job *base, int step, int32_t total, int32_t mid, double *g2)
{
	ease_job a = *base, b = *base;
	pthread_t t;
	int two = base->o->threads > 1 && mid > 0 && mid < total;

	a.step = b.step = step;
	a.lo = 0;
	a.hi = two ? mid : total;
	b.lo = mid;
	b.hi = total;
	a.g2 = NULL;
	b.g2 = g2;
	a.failed = b.failed = 0;
	if (two && pthread_create(&t, NULL, worker, &b) != 0)
		two = 0, a.hi = total;
	worker(&a);
	if (two)
		pthread_join(t, NULL);
	return a.failed || (two && b.failed);
}

/* The split point of rows [0, n) where work grows like (n - r)^2 (P) or
 * like (n - c)^2 too (columns of W): half of the cubic's area. */
static int32_t cubic_half(int32_t n)
{
	return (int32_t)((double)n * (1 - pow(0.5, 1.0 / 3)));
}

/* Items by popularity: distinct users desc, index asc. */
typedef struct {
	int32_t count, item;
} ease_pop;

static int pop_cmp(const void *x, const void *y)
{
	const ease_pop *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->item < b->item ? -1 : (a->item > b->item);
}

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto done; } while (0)

int pz_ease_train(const pz_hist *h, const pz_ease_opts *o, pz_ease_model *m,
		  char *err, size_t errlen)
{
	int32_t n_items = h->n_items, n = 0, i, c, r;
	int64_t p, total = h->n_users > 0 ? h->off[h->n_users] : 0;
	ease_pop *pop = NULL;
	int32_t *col = NULL, *item_of = NULL;
	double *a = NULL, *w = NULL, *g2 = NULL;
	pz_cand *heap = NULL;
	ease_job job;
	int rc = -1;

	memset(m, 0, sizeof *m);
	m->n_items = n_items;
	if (o->max_items < 1 || o->max_items > EASE_MAX_ITEMS || o->k < 1 || o->k > EASE_MAX_K
	    || o->max_per_user < 1 || !(o->lambda > 0 && o->lambda < 1e12))
		FAIL("ease: options out of range");
	if (n_items < 0 || h->n_users < 0)
		FAIL("ease: negative sizes");

	/* the N most popular items */
	pop = calloc((size_t)n_items + 1, sizeof *pop);
	col = malloc(((size_t)n_items + 1) * sizeof *col);
	m->off = calloc((size_t)n_items + 1, sizeof *m->off);
	if (pop == NULL || col == NULL || m->off == NULL)
		FAIL("ease: out of memory");
	for (i = 0; i < n_items; i++) {
		pop[i].item = i;
		col[i] = -1;
	}
	for (p = 0; p < total; p++) {
		int32_t it = h->item[p];

		if (it < 0 || it >= n_items)
			FAIL("ease: item %ld out of range", (long)it);
		pop[it].count++;
	}
	qsort(pop, (size_t)n_items, sizeof *pop, pop_cmp);
	for (i = 0; i < n_items && i < o->max_items && pop[i].count > 0; i++)
		n++;
	m->n_solved = n;
	if (n == 0) {
		m->nbr = malloc(1);
		m->sim = malloc(1);
		rc = (m->nbr && m->sim) ? 0 : -1;
		if (rc)
			FAIL("ease: out of memory");
		goto done;
	}
	item_of = malloc((size_t)n * sizeof *item_of);
	if (item_of == NULL)
		FAIL("ease: out of memory");
	/* columns in item order, so ties and layout do not depend on qsort */
	for (i = 0; i < n; i++)
		col[pop[i].item] = 0;
	for (i = 0, c = 0; i < n_items; i++)
		if (col[i] == 0) {
			col[i] = c;
			item_of[c++] = i;
		}

	a = calloc((size_t)n * (size_t)n, sizeof *a);
	w = calloc((size_t)n * (size_t)n, sizeof *w);
	if (a == NULL || w == NULL)
		FAIL("ease: out of memory for a %d x %d solve", (int)n, (int)n);
	if (o->threads > 1) {
		g2 = calloc((size_t)n * (size_t)n, sizeof *g2);	/* freed after G */
	}

	memset(&job, 0, sizeof job);
	job.h = h;
	job.o = o;
	job.col = col;
	job.n = n;
	job.a = a;
	job.w = w;

	/* G (upper), the users split at half the rows */
	if (run_split(&job, 0, h->n_users, g2 ? h->n_users / 2 : h->n_users, g2))
		FAIL("ease: out of memory");
	if (g2) {
		size_t q, nn = (size_t)n * (size_t)n;

		for (q = 0; q < nn; q++)
			a[q] += g2[q];
		free(g2);
		g2 = NULL;
	}
	/* A = G + lambda I, full symmetric lower part: L is built in place
	 * row by row, L[i][j] = (A[i][j] - L[i][..j] . L[j][..j]) / L[j][j] */
	for (i = 0; i < n; i++) {
		double *ai = a + (size_t)i * (size_t)n;

		for (c = 0; c < i; c++)
			ai[c] = a[(size_t)c * (size_t)n + i];
		ai[i] += o->lambda;
	}
	/* four rows at a time: the columns before the block with dot4 (each
	 * earlier row read once for the four), then the block row by row */
	for (r = 0; r < n; r += 4) {
		int32_t nb = block_rows(n - r), b;
		double *lb[4];
		const double *la[4];

		for (b = 0; b < 4; b++)
			lb[b] = a + (size_t)block_row(r, b, nb) * (size_t)n;
		for (b = 0; b < 4; b++)
			la[b] = lb[b];
		for (c = 0; c < r; c++) {
			const double *lc = a + (size_t)c * (size_t)n;
			double out[4];

			dot4(la, lc, c, out);
			for (b = 0; b < nb; b++)
				lb[b][c] = (lb[b][c] - out[b]) / lc[c];
		}
		for (b = 0; b < nb; b++) {
			double *li = lb[b], d;

			i = r + b;
			for (c = r; c < i; c++) {
				const double *lc = a + (size_t)c * (size_t)n;

				li[c] = (li[c] - dot(li, lc, c)) / lc[c];
			}
			d = li[i] - dot(li, li, i);
			if (!(d > 0))
				FAIL("ease: the Gram matrix is not positive definite (lambda too small?)");
			li[i] = sqrt(d);
		}
	}
	/* W = L^-1 (lower), columns split between threads */
	if (run_split(&job, 1, n, cubic_half(n), NULL))
		FAIL("ease: out of memory");
	/* S = W^T in place (upper), then P = S S^T into a's upper part */
	for (i = 0; i < n; i++)
		for (c = 0; c < i; c++) {
			w[(size_t)c * (size_t)n + i] = w[(size_t)i * (size_t)n + c];
			w[(size_t)i * (size_t)n + c] = 0;
		}
	if (run_split(&job, 2, n, cubic_half(n), NULL))
		FAIL("ease: out of memory");
	for (i = 0; i < n; i++)
		for (c = 0; c < i; c++)
			a[(size_t)i * (size_t)n + c] = a[(size_t)c * (size_t)n + i];

	/* top k of each row of B = -P / diag(P) */
	{
		int32_t k = o->k < n - 1 ? o->k : n - 1;
		int64_t fill = 0;

		heap = malloc(((size_t)k + 1) * sizeof *heap);
		m->nbr = malloc(((size_t)n * (size_t)k + 1) * sizeof *m->nbr);
		m->sim = malloc(((size_t)n * (size_t)k + 1) * sizeof *m->sim);
		if (heap == NULL || m->nbr == NULL || m->sim == NULL)
			FAIL("ease: out of memory");
		for (i = 0; i < n_items; i++) {
			int32_t ci = col[i], size = 0;

			m->off[i] = fill;
			if (ci < 0)
				continue;
			for (c = 0; c < n; c++) {
				pz_cand cand;

				if (c == ci)
					continue;
				cand.value = -a[(size_t)ci * (size_t)n + c] / a[(size_t)c * (size_t)n + c];
				cand.key = o->signed_ ? fabs(cand.value) : cand.value;
				cand.id = item_of[c];
				if (cand.key > 0)
					pz_topk_offer(heap, &size, k, cand);
			}
			pz_topk_sort(heap, size);
			for (r = 0; r < size; r++) {
				m->nbr[fill] = heap[r].id;
				m->sim[fill] = (float)heap[r].value;
				fill++;
			}
		}
		m->off[n_items] = fill;
	}
	rc = 0;
done:
	free(pop);
	free(col);
	free(item_of);
	free(a);
	free(w);
	free(g2);
	free(heap);
	if (rc)
		pz_ease_free(m);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Transitions: what follows an item in the users' histories.          */

int pz_transitions(const pz_hist *h, const pz_transitions_opts *o, pz_ease_model *m,
		   char *err, size_t errlen)
{
	int32_t n_items = h->n_items, i, window = o->window;
	int64_t p, total = h->n_users > 0 ? h->off[h->n_users] : 0, fill = 0;
	int64_t *occ_off = NULL;
	int32_t *occ = NULL, *touched = NULL, *cnt = NULL;
	unsigned char *rem = NULL;
	double *acc = NULL;
	pz_cand *heap = NULL;
	int rc = -1;
	int32_t u;

	memset(m, 0, sizeof *m);
	m->n_items = n_items;
	if (window < 0 || window > 255 || o->k < 1 || o->k > EASE_MAX_K)
		FAIL("transitions: options out of range");
	if (n_items < 0 || h->n_users < 0 || total > 0x7fffffffLL)
		FAIL("transitions: sizes out of range");
	occ_off = calloc((size_t)n_items + 2, sizeof *occ_off);
	occ = malloc(((size_t)total + 1) * sizeof *occ);
	rem = malloc((size_t)total + 1);
	cnt = calloc((size_t)n_items + 1, sizeof *cnt);
	acc = calloc((size_t)n_items + 1, sizeof *acc);
	touched = malloc(((size_t)n_items + 1) * sizeof *touched);
	heap = malloc(((size_t)o->k + 1) * sizeof *heap);
	m->off = calloc((size_t)n_items + 1, sizeof *m->off);
	m->nbr = malloc(((size_t)n_items * (size_t)o->k + 1) * sizeof *m->nbr);
	m->sim = malloc(((size_t)n_items * (size_t)o->k + 1) * sizeof *m->sim);
	if (!occ_off || !occ || !rem || !cnt || !acc || !touched || !heap || !m->off || !m->nbr || !m->sim)
		FAIL("transitions: out of memory");
	/* each position's item, how many positions follow it in its user's
	 * history (at most window), and the positions of each item */
	for (u = 0; u < h->n_users; u++) {
		for (p = h->off[u]; p < h->off[u + 1]; p++) {
			int64_t left = h->off[u + 1] - 1 - p;
			int32_t it = h->item[p];

			if (it < 0 || it >= n_items)
				FAIL("transitions: item %ld out of range", (long)it);
			rem[p] = (unsigned char)(left < window ? left : window);
			cnt[it]++;
		}
	}
	for (i = 0; i < n_items; i++)
		occ_off[i + 1] = occ_off[i] + cnt[i];
	{
		int64_t *next = calloc((size_t)n_items + 1, sizeof *next);

		if (next == NULL)
			FAIL("transitions: out of memory");
		for (p = 0; p < total; p++) {
			int32_t it = h->item[p];

			occ[occ_off[it] + next[it]++] = (int32_t)p;
		}
		free(next);
	}
	for (i = 0; i < n_items; i++) {
		int64_t q;
		int32_t n_touched = 0, size = 0, t, r;

		m->off[i] = fill;
		for (q = occ_off[i]; q < occ_off[i + 1]; q++) {
			int64_t at = occ[q];
			int32_t d;

			for (d = 1; d <= rem[at]; d++) {
				int32_t j = h->item[at + d];
				double w = 1.0 / d;

				if (o->weighted)
					w *= (double)h->weight[at] * (double)h->weight[at + d];
				if (acc[j] == 0)
					touched[n_touched++] = j;
				acc[j] += w;
				if (acc[j] == 0)
					acc[j] = 1e-300;	/* stays touched */
			}
		}
		for (t = 0; t < n_touched; t++) {
			int32_t j = touched[t];
			pz_cand c;

			c.key = c.value = acc[j] / sqrt((double)cnt[i] * (double)cnt[j]);
			c.id = j;
			acc[j] = 0;
			if (j != i && c.key > 0)
				pz_topk_offer(heap, &size, o->k, c);
		}
		pz_topk_sort(heap, size);
		for (r = 0; r < size; r++) {
			m->nbr[fill] = heap[r].id;
			m->sim[fill] = (float)heap[r].value;
			fill++;
		}
	}
	m->off[n_items] = fill;
	m->n_solved = n_items;
	rc = 0;
done:
	free(occ_off);
	free(occ);
	free(rem);
	free(cnt);
	free(acc);
	free(touched);
	free(heap);
	if (rc)
		pz_ease_free(m);
	return rc;
}

/* ------------------------------------------------------------------ */
/* The Lua binding: Lua arrays in, Lua arrays out.                     */

#define EASE_MT "personalize.engine.ease"

/* What a call owns, freed by __gc (also on a raised error). */
typedef struct {
	int64_t *off;
	int32_t *item;
	float *weight;
	pz_ease_model model;
} ease_ud;

static int ease_gc(lua_State *L)
{
	ease_ud *u = luaL_checkudata(L, 1, EASE_MT);

	free(u->off);
	free(u->item);
	free(u->weight);
	u->off = NULL;
	u->item = NULL;
	u->weight = NULL;
	pz_ease_free(&u->model);
	return 0;
}



/* core.ease(hist_off, hist, hist_w, n_items, opts): hist_off has
 * n_users + 1 entries (1-based positions into hist), hist 1-based items,
 * hist_w their weights (nil: all 1). opts: lambda, max_items, k,
 * max_per_user, threads, weighted and signed (booleans). Returns off (n_items + 1),
 * nbr, sim: item i's neighbours nbr[off[i] .. off[i+1]-1], 1-based. */
/* Reads arguments 1-4 (hist_off, hist, hist_w, n_items) into a new
 * userdata (pushed) and h; opts is argument 5 (a table) afterwards. A
 * history userdata of hist.c as argument 1 (then opts at 2) is read in
 * place instead. */
static ease_ud *read_hist(lua_State *L, const char *fn, pz_hist *h)
{
	lua_Integer n_items, n_users, i, total;
	int has_w;
	ease_ud *u;

	if (lua_type(L, 1) == LUA_TUSERDATA) {
		/* a history built in C (hist.c): read in place, kept alive as
		 * argument 1 for the call */
		*h = *pz_hist_arg(L, 1, fn);
		if (lua_isnoneornil(L, 2)) {
			lua_settop(L, 1);
			lua_newtable(L);
		} else {
			luaL_checktype(L, 2, LUA_TTABLE);
			lua_settop(L, 2);
		}
		lua_insert(L, 2);	/* opts at 5, as for Lua arrays */
		lua_pushnil(L);
		lua_insert(L, 2);
		lua_pushnil(L);
		lua_insert(L, 2);
		lua_pushnil(L);
		lua_insert(L, 2);
		lua_settop(L, 5);
		u = lua_newuserdata(L, sizeof *u);
		memset(u, 0, sizeof *u);
		luaL_getmetatable(L, EASE_MT);
		lua_setmetatable(L, -2);
		return u;
	}
	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	has_w = !lua_isnoneornil(L, 3);
	if (has_w)
		luaL_checktype(L, 3, LUA_TTABLE);
	n_items = luaL_checkinteger(L, 4);
	luaL_argcheck(L, n_items >= 0 && n_items <= 100000000, 4, "expected 0 to 100000000 items");
	if (lua_isnoneornil(L, 5)) {
		lua_settop(L, 4);
		lua_newtable(L);
	} else {
		luaL_checktype(L, 5, LUA_TTABLE);
		lua_settop(L, 5);
	}
	n_users = (lua_Integer)pz_rawlen(L, 1) - 1;
	luaL_argcheck(L, n_users >= 0 && n_users <= EASE_MAX_USERS, 1,
		      "expected n_users + 1 offsets");
	total = (lua_Integer)pz_rawlen(L, 2);
	luaL_argcheck(L, total <= EASE_MAX_ROWS, 2, "too many entries");
	luaL_argcheck(L, !has_w || (lua_Integer)pz_rawlen(L, 3) == total, 3,
		      "hist_w and hist differ in length");

	u = lua_newuserdata(L, sizeof *u);
	memset(u, 0, sizeof *u);
	luaL_getmetatable(L, EASE_MT);
	lua_setmetatable(L, -2);
	u->off = calloc((size_t)n_users + 1, sizeof *u->off);
	u->item = malloc(((size_t)total + 1) * sizeof *u->item);
	u->weight = malloc(((size_t)total + 1) * sizeof *u->weight);
	if (u->off == NULL || u->item == NULL || u->weight == NULL)
		luaL_error(L, "%s: out of memory", fn);
	for (i = 0; i <= n_users; i++) {
		lua_Integer v = pz_integer_at(L, fn, 1, i + 1, 1, total + 1, "hist_off");

		u->off[i] = v - 1;
		if (i > 0 && u->off[i] < u->off[i - 1])
			luaL_error(L, "%s: hist_off[%d] is smaller than the one before", fn, (int)(i + 1));
	}
	if (u->off[0] != 0 || u->off[n_users] != total)
		luaL_error(L, "%s: hist_off must run from 1 to #hist + 1", fn);
	for (i = 0; i < total; i++) {
		u->item[i] = (int32_t)(pz_integer_at(L, fn, 2, i + 1, 1, n_items, "hist") - 1);
		u->weight[i] = 1;
		if (has_w) {
			double d = pz_number_at(L, fn, 3, i + 1, "hist_w");

			if (!(d >= -1e12 && d <= 1e12))
				luaL_error(L, "%s: hist_w[%d] is not finite", fn, (int)(i + 1));
			u->weight[i] = (float)d;
		}
	}
	h->n_users = (int32_t)n_users;
	h->n_items = (int32_t)n_items;
	h->off = u->off;
	h->item = u->item;
	h->weight = u->weight;
	h->time = NULL;
	return u;
}

/* Pushes the model's rows as Lua arrays off, nbr, sim (1-based). */
static void push_rows(lua_State *L, const pz_ease_model *m)
{
	lua_Integer i, total;
	int64_t q;

	luaL_checkstack(L, 8, "rows");
	lua_createtable(L, (int)m->n_items + 1, 0);
	for (i = 0; i <= m->n_items; i++) {
		lua_pushinteger(L, (lua_Integer)m->off[i] + 1);
		lua_rawseti(L, -2, (int)(i + 1));
	}
	total = (lua_Integer)m->off[m->n_items];
	lua_createtable(L, (int)total, 0);
	lua_createtable(L, (int)total, 0);
	for (q = 0; q < total; q++) {
		lua_pushinteger(L, (lua_Integer)m->nbr[q] + 1);
		lua_rawseti(L, -3, (int)(q + 1));
		lua_pushnumber(L, (lua_Number)m->sim[q]);
		lua_rawseti(L, -2, (int)(q + 1));
	}
}

static int l_ease(lua_State *L)
{
	pz_ease_opts o;
	pz_hist h;
	ease_ud *u = read_hist(L, "ease", &h);
	char err[160];

	pz_ease_defaults(&o);
	o.lambda = pz_opt_number(L, 5, "ease", "lambda", o.lambda, 1e-9, 1e11);
	o.max_items = (int32_t)pz_opt_number(L, 5, "ease", "max_items", o.max_items, 1, EASE_MAX_ITEMS);
	o.k = (int32_t)pz_opt_number(L, 5, "ease", "k", o.k, 1, EASE_MAX_K);
	o.max_per_user = (int32_t)pz_opt_number(L, 5, "ease", "max_per_user", o.max_per_user, 1, 1e9);
	o.threads = (int32_t)pz_opt_number(L, 5, "ease", "threads", o.threads, 1, 2);
	lua_getfield(L, 5, "weighted");
	o.weighted = lua_toboolean(L, -1);
	lua_pop(L, 1);
	lua_getfield(L, 5, "signed");
	o.signed_ = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (pz_ease_train(&h, &o, &u->model, err, sizeof err) != 0)
		return luaL_error(L, "%s", err);
	push_rows(L, &u->model);
	lua_pushinteger(L, u->model.n_solved);
	return 4;
}

/* core.transitions(hist_off, hist, hist_w, n_items, opts) -> off, nbr,
 * sim (opts: window, k, weighted): see pz_transitions. */
static int l_transitions(lua_State *L)
{
	pz_transitions_opts o;
	pz_hist h;
	ease_ud *u = read_hist(L, "transitions", &h);
	char err[160];

	o.window = (int32_t)pz_opt_number(L, 5, "ease", "window", 10, 0, 255);
	o.k = (int32_t)pz_opt_number(L, 5, "ease", "k", 100, 1, EASE_MAX_K);
	lua_getfield(L, 5, "weighted");
	o.weighted = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (pz_transitions(&h, &o, &u->model, err, sizeof err) != 0)
		return luaL_error(L, "%s", err);
	push_rows(L, &u->model);
	return 3;
}

/* ------------------------------------------------------------------ */
/* Votes over compressed rows, for the recipe's requests.              */

#define ROWS_MT "personalize.engine.rows"

typedef struct {
	int32_t n;		/* entities (items) */
	int64_t *off;		/* n + 1, 0-based */
	int32_t *nbr;		/* 0-based */
	double *sim;
} ease_rows;

static int rows_gc(lua_State *L)
{
	ease_rows *r = luaL_checkudata(L, 1, ROWS_MT);

	free(r->off);
	free(r->nbr);
	free(r->sim);
	r->off = NULL;
	r->nbr = NULL;
	r->sim = NULL;
	return 0;
}

/* core.rows(off, nbr, sim, n) -> rows: compressed rows (1-based Lua
 * arrays, as the recipes keep them: entity i's neighbours are
 * nbr[off[i] .. off[i+1]-1]) copied into C for core.votes. */
static int l_rows(lua_State *L)
{
	lua_Integer n, i, total;
	ease_rows *r;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	luaL_checktype(L, 3, LUA_TTABLE);
	n = luaL_checkinteger(L, 4);
	luaL_argcheck(L, n >= 0 && n <= 100000000, 4, "expected 0 to 100000000 entities");
	total = (lua_Integer)pz_rawlen(L, 2);
	luaL_argcheck(L, (lua_Integer)pz_rawlen(L, 3) == total, 3, "sim and nbr differ in length");
	r = lua_newuserdata(L, sizeof *r);
	memset(r, 0, sizeof *r);
	luaL_getmetatable(L, ROWS_MT);
	lua_setmetatable(L, -2);
	r->n = (int32_t)n;
	r->off = calloc((size_t)n + 1, sizeof *r->off);
	r->nbr = malloc(((size_t)total + 1) * sizeof *r->nbr);
	r->sim = malloc(((size_t)total + 1) * sizeof *r->sim);
	if (r->off == NULL || r->nbr == NULL || r->sim == NULL)
		return luaL_error(L, "rows: out of memory");
	for (i = 0; i <= n; i++) {
		r->off[i] = pz_integer_at(L, "rows", 1, i + 1, 1, total + 1, "off") - 1;
		if (i > 0 && r->off[i] < r->off[i - 1])
			return luaL_error(L, "rows: off[%d] is smaller than the one before", (int)(i + 1));
	}
	if (r->off[0] != 0 || r->off[n] != total)
		return luaL_error(L, "rows: off must run from 1 to #nbr + 1");
	for (i = 0; i < total; i++) {
		r->nbr[i] = (int32_t)(pz_integer_at(L, "rows", 2, i + 1, 1, n, "nbr") - 1);
		r->sim[i] = pz_number_at(L, "rows", 3, i + 1, "sim");
	}
	return 1;
}

/* core.votes(items, n_items, rows1, n1, decay1, w1, [rows2, ...]) ->
 * acc, best. items: entity indexes, newest first. For each part, the
 * newest n items vote: the p-th newest (p = 0, 1, ...) adds
 * sim / (1 + decay p) to each of its neighbours; the part's totals are
 * divided by their best (when positive) and weighed by w, summed over
 * the parts in order into acc = { [entity] = value }; best is acc's
 * largest value (0 at least). A part with w = 0 is skipped. */
static int l_votes(lua_State *L)
{
	lua_Integer n_items, n_list, i;
	int top = lua_gettop(L), arg;
	double *part, *acc, best = 0;
	int32_t *touched, *list, n_touched, n_cand = 0, *cand;
	unsigned char *seen;

	luaL_checktype(L, 1, LUA_TTABLE);
	n_items = luaL_checkinteger(L, 2);
	luaL_argcheck(L, n_items >= 0 && n_items <= 100000000, 2, "expected 0 to 100000000 items");
	luaL_argcheck(L, top >= 2 && (top - 2) % 4 == 0, top, "expected rows, n, decay, weight per part");
	n_list = (lua_Integer)pz_rawlen(L, 1);
	/* scratch, owned by the collector */
	part = lua_newuserdata(L, ((size_t)n_items + 1) * 2 * sizeof *part);
	acc = part + n_items + 1;
	touched = lua_newuserdata(L, ((size_t)n_items + 1) * 2 * sizeof *touched);
	cand = touched + n_items + 1;
	seen = lua_newuserdata(L, (size_t)n_items + 1);
	list = lua_newuserdata(L, ((size_t)n_list + 1) * sizeof *list);
	memset(part, 0, ((size_t)n_items + 1) * 2 * sizeof *part);
	memset(seen, 0, (size_t)n_items + 1);
	for (i = 0; i < n_list; i++)
		list[i] = (int32_t)(pz_integer_at(L, "votes", 1, i + 1, 1, n_items, "items") - 1);
	for (arg = 3; arg + 3 <= top; arg += 4) {
		ease_rows *r = luaL_checkudata(L, arg, ROWS_MT);
		lua_Integer n = luaL_checkinteger(L, arg + 1);
		double decay = luaL_checknumber(L, arg + 2), w = luaL_checknumber(L, arg + 3);
		double pbest = 0, f;
		int32_t p, m;

		if (r->n != n_items)
			return luaL_error(L, "votes: rows for %d entities, not %d", (int)r->n, (int)n_items);
		if (w == 0)
			continue;
		n_touched = 0;
		for (p = 0; p < n_list && p < n; p++) {
			int32_t it = list[p];
			double rw = 1 / (1 + decay * p);
			int64_t q;

			for (q = r->off[it]; q < r->off[it + 1]; q++) {
				int32_t j = r->nbr[q];

				if (!(seen[j] & 1)) {
					seen[j] |= 1;
					touched[n_touched++] = j;
				}
				part[j] += rw * r->sim[q];
				if (part[j] > pbest)
					pbest = part[j];
			}
		}
		f = pbest > 0 ? w / pbest : 0;
		for (m = 0; m < n_touched; m++) {
			int32_t j = touched[m];

			if (f != 0) {
				if (!(seen[j] & 2)) {
					seen[j] |= 2;
					cand[n_cand++] = j;
				}
				acc[j] += f * part[j];
			}
			part[j] = 0;
			seen[j] &= (unsigned char)~1u;
		}
	}
	lua_createtable(L, 0, n_cand);
	for (i = 0; i < n_cand; i++) {
		int32_t j = cand[i];

		if (acc[j] > best)
			best = acc[j];
		lua_pushnumber(L, acc[j]);
		lua_rawseti(L, -2, j + 1);
	}
	lua_pushnumber(L, best);
	return 2;
}

static const luaL_Reg ease_functions[] = {
	{ "ease", l_ease },
	{ "transitions", l_transitions },
	{ "rows", l_rows },
	{ "votes", l_votes },
	{ NULL, NULL }
};

static const luaL_Reg ease_meta[] = {
	{ "__gc", ease_gc },
	{ NULL, NULL }
};

static const luaL_Reg ease_methods[] = {
	{ NULL, NULL }
};

static const luaL_Reg rows_meta[] = {
	{ "__gc", rows_gc },
	{ NULL, NULL }
};

void pz_open_ease(lua_State *L)
{
	pz_newclass(L, EASE_MT, ease_methods, ease_meta);
	pz_newclass(L, ROWS_MT, ease_methods, rows_meta);
	pz_setfuncs(L, ease_functions, 0);
}
