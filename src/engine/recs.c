/*
 * recs.c - the neighbour kernel behind personalize-local's recipes.
 *
 *   ecore.recs_neighbors(ent, feat, weight, n_ent, k, opts) -> nbr, sim
 *   pz_neighbors(by_ent, by_feat, opts, nbr, sim)   (recs.h, for C callers)
 *
 * The input is a sparse matrix: row r of it says that entity ent[r]
 * (1..n_ent) has feature feat[r] (any positive integer) with weight
 * weight[r] (1 when `weight` is nil); features are numbered 1..#ent at
 * most (the caller compacts them). For items and the users who touched
 * them (entities = items, features = users) the result is the
 * item-to-item co-occurrence model; for items and the tokens of their
 * metadata it is a content similarity. Each (entity, feature) pair should
 * appear once: the caller merges duplicates.
 *
 * For every entity i and every other entity j sharing at least
 * opts.min_count features:
 *
 *   dot(i, j) = sum over shared f of w(i,f) * w(j,f) * deg(f)^-gamma
 *   sim(i, j) = dot(i, j) / (N(i)^alpha * N(j)^beta),  N(e) = sum_f w(e,f)^2
 *
 * where deg(f) is the number of entities having f. alpha = beta = 0.5,
 * gamma = 0 is the cosine; alpha = 1, gamma = 1 the random walk of P3 with
 * beta as its popularity penalty (RP3beta). The k best j of each i are
 * returned in two flat arrays of n_ent * k slots: nbr[(i-1)*k + m] is the
 * m-th neighbour of i (0 when i has fewer than m), sim[...] its similarity.
 * Order: similarity descending, then entity index ascending, so the same
 * input always gives the same output, whatever the number of threads.
 *
 * The work is sum over features of deg(f)^2 additions, plus a heap of k
 * per entity; pz_neighbors shares the entities among opts.threads threads
 * (each with its own accumulators; entities are handed out in blocks
 * from an atomic counter, since their costs differ widely). The Lua
 * binding's buffers are userdata owned by the garbage collector, so a
 * raised error (a bad argument, memory) never leaks.
 */
#include <math.h>
#include <stddef.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "recs.h"
#include "topk.h"

#define RECS_MAX_ENTITIES 10000000
#define RECS_MAX_K 1000
#define RECS_MAX_ROWS 100000000


/* A GC-owned, zeroed buffer of n elements of `size` bytes (pushed). */
static void *recs_buffer(lua_State *L, size_t n, size_t size)
{
	size_t bytes = (n == 0 ? 1 : n) * size;
	void *p = lua_newuserdata(L, bytes);

	memset(p, 0, bytes);
	return p;
}




/* ------------------------------------------------------------------ */
/* The kernel.                                                         */

typedef struct {
	const pz_csr *by_ent, *by_feat;
	const pz_nb_opts *o;
	const double *feat_pow, *norm_a, *norm_b;
	int32_t *nbr;
	double *sim;
	int next;		/* the next block of entities (atomic) */
	int failed;
} nb_job;

#define NB_BLOCK 64

static void *nb_worker(void *arg)
{
	nb_job *job = arg;
	const pz_csr *E = job->by_ent, *F = job->by_feat;
	int k = job->o->k, n = E->n;
	double *acc = calloc((size_t)n + 1, sizeof *acc);
	int32_t *shared = calloc((size_t)n + 1, sizeof *shared);
	int32_t *touched = calloc((size_t)n + 1, sizeof *touched);
	pz_cand *heap = calloc((size_t)k, sizeof *heap);

	if (acc == NULL || shared == NULL || touched == NULL || heap == NULL) {
		__atomic_store_n(&job->failed, 1, __ATOMIC_RELAXED);
		goto done;
	}
	for (;;) {
		int start = __atomic_fetch_add(&job->next, NB_BLOCK, __ATOMIC_RELAXED), i;

		if (start >= n || __atomic_load_n(&job->failed, __ATOMIC_RELAXED))
			break;
		for (i = start; i < start + NB_BLOCK && i < n; i++) {
			int n_touched = 0, n_heap = 0, m;
			int64_t p;

			for (p = E->off[i]; p < E->off[i + 1]; p++) {
				int32_t f = E->idx[p];
				double wi = (E->w ? E->w[p] : 1.0) * job->feat_pow[f];
				int64_t q;

				const int32_t *fi = F->idx;
				int64_t end = F->off[f + 1];

				if (F->w != NULL) {
					for (q = F->off[f]; q < end; q++) {
						int32_t j = fi[q];

						if (shared[j]++ == 0)
							touched[n_touched++] = j;
						acc[j] += wi * F->w[q];
					}
				} else {
					/* unweighted (most models): the same sums, one branch less */
					for (q = F->off[f]; q < end; q++) {
						int32_t j = fi[q];

						if (shared[j]++ == 0)
							touched[n_touched++] = j;
						acc[j] += wi;
					}
				}
			}
			for (m = 0; m < n_touched; m++) {
				int32_t j = touched[m];

				if (j != i && (double)shared[j] >= job->o->min_count && acc[j] != 0) {
					pz_cand c;

					c.key = c.value = acc[j] / (job->norm_a[i] * job->norm_b[j]);
					c.id = j;
					pz_topk_offer(heap, &n_heap, k, c);
				}
				acc[j] = 0;
				shared[j] = 0;
			}
			pz_topk_sort(heap, n_heap);
			for (m = 0; m < k; m++) {
				job->nbr[(size_t)i * k + m] = m < n_heap ? heap[m].id : -1;
				job->sim[(size_t)i * k + m] = m < n_heap ? heap[m].value : 0;
			}
		}
	}
done:
	free(acc);
	free(shared);
	free(touched);
	free(heap);
	return NULL;
}

int pz_neighbors(const pz_csr *by_ent, const pz_csr *by_feat, const pz_nb_opts *o,
		 int32_t *nbr, double *sim)
{
	int n = by_ent->n, nt = o->threads < 1 ? 1 : (o->threads > 16 ? 16 : o->threads), t, started = 0;
	double *feat_pow = malloc(((size_t)by_feat->n + 1) * sizeof *feat_pow);
	double *norm_a = malloc(((size_t)n + 1) * sizeof *norm_a);
	double *norm_b = malloc(((size_t)n + 1) * sizeof *norm_b);
	pthread_t tid[16];
	nb_job job;
	int32_t r;

	if (feat_pow == NULL || norm_a == NULL || norm_b == NULL) {
		free(feat_pow);
		free(norm_a);
		free(norm_b);
		return -1;
	}
	for (r = 0; r < by_feat->n; r++) {
		int64_t deg = by_feat->off[r + 1] - by_feat->off[r];

		feat_pow[r] = deg > 0 ? pow((double)deg, -o->gamma) : 0;
	}
	for (r = 0; r < n; r++) {
		double s = 0;
		int64_t p;

		for (p = by_ent->off[r]; p < by_ent->off[r + 1]; p++) {
			double w = by_ent->w ? by_ent->w[p] : 1.0;

			s += w * w;
		}
		norm_a[r] = s > 0 ? pow(s, o->alpha) : 1;
		norm_b[r] = s > 0 ? pow(s, o->beta) : 1;
	}
	memset(&job, 0, sizeof job);
	job.by_ent = by_ent;
	job.by_feat = by_feat;
	job.o = o;
	job.feat_pow = feat_pow;
	job.norm_a = norm_a;
	job.norm_b = norm_b;
	job.nbr = nbr;
	job.sim = sim;
	if (n >= 4 * NB_BLOCK)
		for (t = 1; t < nt; t++)
			if (pthread_create(&tid[started], NULL, nb_worker, &job) == 0)
				started++;
	nb_worker(&job);
	for (t = 0; t < started; t++)
		pthread_join(tid[t], NULL);
	free(feat_pow);
	free(norm_a);
	free(norm_b);
	return job.failed ? -1 : 0;
}

int pz_csr_transpose(const pz_csr *m, int32_t n_cols, int64_t **off_out, int32_t **idx_out, float **w_out)
{
	int64_t nnz = m->off[m->n], *off = calloc((size_t)n_cols + 1, sizeof *off), *fill, p;
	int32_t *idx = malloc(((size_t)nnz + 1) * sizeof *idx), r, c;
	float *w = m->w ? malloc(((size_t)nnz + 1) * sizeof *w) : NULL;

	fill = calloc((size_t)n_cols + 1, sizeof *fill);
	if (off == NULL || idx == NULL || (m->w && w == NULL) || fill == NULL) {
		free(off);
		free(idx);
		free(w);
		free(fill);
		return -1;
	}
	for (p = 0; p < nnz; p++)
		off[m->idx[p] + 1]++;
	for (c = 0; c < n_cols; c++)
		off[c + 1] += off[c];
	for (r = 0; r < m->n; r++)
		for (p = m->off[r]; p < m->off[r + 1]; p++) {
			int32_t col = m->idx[p];
			int64_t q = off[col] + fill[col]++;

			idx[q] = r;
			if (w)
				w[q] = m->w[p];
		}
	free(fill);
	*off_out = off;
	*idx_out = idx;
	*w_out = w;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The Lua binding: coordinates in, flat arrays out.                   */

/* opts[name] as an integer in [lo, hi], or def when absent. */
static int opt_int(lua_State *L, int opts, const char *name, int def, int lo, int hi)
{
	return (int)pz_opt_number(L, opts, "recs_neighbors", name, def, lo, hi);
}

static int recs_neighbors(lua_State *L)
{
	size_t rows, r, n_feat = 0;
	lua_Integer n_ent, k;
	int opts = 0, has_weight, i;
	int32_t *ent, *feat, *fill, *ent_idx, *feat_idx, *nbr;
	int64_t *ent_off, *feat_off;
	float *w, *ent_w, *feat_w;
	double *sim;
	pz_csr by_ent, by_feat;
	pz_nb_opts o;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	has_weight = !lua_isnoneornil(L, 3);
	if (has_weight)
		luaL_checktype(L, 3, LUA_TTABLE);
	n_ent = luaL_checkinteger(L, 4);
	luaL_argcheck(L, n_ent >= 1 && n_ent <= RECS_MAX_ENTITIES, 4,
		      "expected 1 to 10000000 entities");
	k = luaL_checkinteger(L, 5);
	luaL_argcheck(L, k >= 1 && k <= RECS_MAX_K, 5, "expected k from 1 to 1000");
	luaL_argcheck(L, n_ent * k <= 0x7fffffff, 5, "n_ent * k is too large");
	if (!lua_isnoneornil(L, 6)) {
		luaL_checktype(L, 6, LUA_TTABLE);
		opts = 6;
	}
	o.alpha = pz_opt_number(L, opts, "recs_neighbors", "alpha", 0.5, 0, 4);
	o.beta = pz_opt_number(L, opts, "recs_neighbors", "beta", 0.5, 0, 4);
	o.gamma = pz_opt_number(L, opts, "recs_neighbors", "gamma", 0, 0, 4);
	o.min_count = pz_opt_number(L, opts, "recs_neighbors", "min_count", 1, 1, 1e9);
	o.threads = opt_int(L, opts, "threads", 1, 1, 16);
	o.k = (int)k;

	rows = pz_rawlen(L, 1);
	luaL_argcheck(L, rows <= RECS_MAX_ROWS, 1, "too many rows");
	luaL_argcheck(L, pz_rawlen(L, 2) == rows, 2, "feat and ent differ in length");
	luaL_argcheck(L, !has_weight || pz_rawlen(L, 3) == rows, 3,
		      "weight and ent differ in length");
	lua_settop(L, 6);
	luaL_checkstack(L, 24, "recs_neighbors");

	/* the coordinates, checked (0-based from here) */
	ent = recs_buffer(L, rows, sizeof *ent);
	feat = recs_buffer(L, rows, sizeof *feat);
	w = recs_buffer(L, rows, sizeof *w);
	for (r = 0; r < rows; r++) {
		ent[r] = (int32_t)pz_integer_at(L, "recs_neighbors", 1, (lua_Integer)r + 1, 1, n_ent, "ent") - 1;
		feat[r] = (int32_t)pz_integer_at(L, "recs_neighbors", 2, (lua_Integer)r + 1, 1, (lua_Integer)rows, "feat") - 1;
		if ((size_t)feat[r] + 1 > n_feat)
			n_feat = (size_t)feat[r] + 1;
		w[r] = 1;
		if (has_weight) {
			double x = pz_number_at(L, "recs_neighbors", 3, (lua_Integer)r + 1, "weight");

			if (!(x >= -1e12 && x <= 1e12))
				return luaL_error(L, "recs_neighbors: weight[%d] is not finite",
						  (int)(r + 1));
			w[r] = (float)x;
		}
	}

	/* compressed rows by entity and by feature (counting sort) */
	ent_off = recs_buffer(L, (size_t)n_ent + 1, sizeof *ent_off);
	feat_off = recs_buffer(L, n_feat + 1, sizeof *feat_off);
	ent_idx = recs_buffer(L, rows, sizeof *ent_idx);
	feat_idx = recs_buffer(L, rows, sizeof *feat_idx);
	ent_w = recs_buffer(L, rows, sizeof *ent_w);
	feat_w = recs_buffer(L, rows, sizeof *feat_w);
	for (r = 0; r < rows; r++) {
		ent_off[ent[r] + 1]++;
		feat_off[feat[r] + 1]++;
	}
	for (i = 0; i < n_ent; i++)
		ent_off[i + 1] += ent_off[i];
	for (r = 0; r < n_feat; r++)
		feat_off[r + 1] += feat_off[r];
	fill = recs_buffer(L, (size_t)n_ent + n_feat + 1, sizeof *fill);
	for (r = 0; r < rows; r++) {
		int32_t e = ent[r], f = feat[r];
		int64_t pe = ent_off[e] + fill[e]++;
		int64_t pf = feat_off[f] + fill[n_ent + f]++;

		ent_idx[pe] = f;
		ent_w[pe] = w[r];
		feat_idx[pf] = e;
		feat_w[pf] = w[r];
	}
	by_ent.n = (int32_t)n_ent;
	by_ent.off = ent_off;
	by_ent.idx = ent_idx;
	by_ent.w = has_weight ? ent_w : NULL;
	by_feat.n = (int32_t)n_feat;
	by_feat.off = feat_off;
	by_feat.idx = feat_idx;
	by_feat.w = has_weight ? feat_w : NULL;
	nbr = recs_buffer(L, (size_t)(n_ent * k), sizeof *nbr);
	sim = recs_buffer(L, (size_t)(n_ent * k), sizeof *sim);
	if (pz_neighbors(&by_ent, &by_feat, &o, nbr, sim) != 0)
		return luaL_error(L, "recs_neighbors: not enough memory");

	lua_createtable(L, (int)(n_ent * k), 0);	/* nbr */
	lua_createtable(L, (int)(n_ent * k), 0);	/* sim */
	for (r = 0; r < (size_t)(n_ent * k); r++) {
		lua_pushinteger(L, nbr[r] + 1);
		lua_rawseti(L, -3, (int)r + 1);
		lua_pushnumber(L, sim[r]);
		lua_rawseti(L, -2, (int)r + 1);
	}
	return 2;
}

static const luaL_Reg recs_functions[] = {
	{ "recs_neighbors", recs_neighbors },
	{ NULL, NULL }
};

void pz_open_recs(lua_State *L)
{
	pz_setfuncs(L, recs_functions, 0);
}
