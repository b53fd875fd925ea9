/*
 * recs.h - the neighbour kernel of personalize-local's recipes, on
 * compressed sparse rows (see recs.c for the similarity it computes).
 */
#ifndef PERSONALIZE_RECS_H
#define PERSONALIZE_RECS_H

#include <stdint.h>

/* Rows 0..n-1: row r holds idx[off[r] .. off[r+1]-1] with weights w[...] (NULL: 1). */
typedef struct {
	int32_t n;
	const int64_t *off;
	const int32_t *idx;
	const float *w;
} pz_csr;

typedef struct {
	double alpha, beta, gamma, min_count;
	int k;			/* neighbours kept per entity, 1..1000 */
	int threads;		/* 1 or more */
} pz_nb_opts;

/*
 * The k best neighbours of each entity of by_ent (entities -> features),
 * by_feat being its transpose (features -> entities): nbr[i*k + m] is the
 * m-th neighbour of entity i (0-based; -1 past the last), sim[...] its
 * similarity. Returns 0, or -1 when memory runs out.
 */
int pz_neighbors(const pz_csr *by_ent, const pz_csr *by_feat, const pz_nb_opts *o,
		 int32_t *nbr, double *sim);

/* The transpose of `m` (n_cols columns) into off/idx/w the caller frees; 0 or -1. */
int pz_csr_transpose(const pz_csr *m, int32_t n_cols, int64_t **off, int32_t **idx, float **w);

#endif
