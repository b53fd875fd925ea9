/*
 * ease.h - the EASE solve of ease.c, for C callers: the training path
 * passes the users' histories (hist.h) straight to it.
 *
 *   pz_ease_opts o;
 *   pz_ease_model m;
 *   char err[160];
 *   pz_ease_defaults(&o);
 *   o.lambda = 200;
 *   if (pz_ease_train(&hist, &o, &m, err, sizeof err) != 0) ... err says why
 *   ... m.off[i] .. m.off[i+1]-1 index m.nbr / m.sim (0-based items)
 *   pz_ease_free(&m);
 *
 * pz_ease_train keeps no state between calls, frees its work memory before
 * it returns and leaves nothing allocated when it fails.
 */
#ifndef PERSONALIZE_EASE_H
#define PERSONALIZE_EASE_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

typedef struct {
	int32_t max_items;	/* N: the most popular items solved (default 3000; N x N doubles, twice) */
	int32_t k;		/* neighbours kept per item (default 200) */
	int32_t max_per_user;	/* each user's newest items counted (default 2000) */
	int32_t threads;	/* 1 or 2 (default 1) */
	int32_t weighted;	/* X holds the pairs' weights instead of 1 */
	int32_t signed_;	/* keep the k largest |B| (negative too), not the k largest B */
	double lambda;		/* the L2 penalty (default 500) */
} pz_ease_opts;

/* Compressed rows over all n_items: item i's neighbours are
 * nbr[off[i] .. off[i+1]-1] with weights sim[...], best first. */
typedef struct {
	int32_t n_items;
	int32_t n_solved;	/* how many items the solve covered */
	int64_t *off;		/* n_items + 1 */
	int32_t *nbr;
	float *sim;
} pz_ease_model;

int pz_ease_train(const pz_hist *h, const pz_ease_opts *o, pz_ease_model *m,
		  char *err, size_t errlen);
void pz_ease_free(pz_ease_model *m);
void pz_ease_defaults(pz_ease_opts *o);

/*
 * Transitions, the time order of the histories: for each user's items
 * (oldest first), item j at d <= window positions after item i adds 1/d
 * (times both pairs' weights when weighted) to i -> j; each total is
 * divided by sqrt(users of i * users of j) and each item keeps its k best
 * (ties: the smaller index), as compressed rows in a pz_ease_model (all
 * items; n_solved = n_items). Work: the interactions times the window,
 * plus a heap of k per item.
 */
typedef struct {
	int32_t window;		/* 0 .. 255 */
	int32_t k;		/* 1 .. 1000 */
	int32_t weighted;
} pz_transitions_opts;

int pz_transitions(const pz_hist *h, const pz_transitions_opts *o, pz_ease_model *m,
		   char *err, size_t errlen);

#endif
