/*
 * recs.c - the numeric kernel behind personalize-local's recipes.
 *
 *   core.recs_neighbors(ent, feat, weight, n_ent, k, opts) -> nbr, sim
 *
 * The input is a sparse matrix in coordinate form: row r of it says that
 * entity ent[r] (1..n_ent) has feature feat[r] (any positive integer) with
 * weight weight[r] (1 when `weight` is nil); features are numbered 1..#ent
 * at most (the caller compacts them). For items and the users who
 * touched them (entities = items, features = users) the result is the
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
 * input always gives the same output.
 *
 * Every buffer is a userdata owned by the garbage collector, so a raised
 * error (a bad argument, memory) never leaks. The work is
 * sum over features of deg(f)^2 additions, plus a heap of k per entity.
 */
#include <math.h>
#include <stddef.h>

#include "core.h"

#define RECS_MAX_ENTITIES 10000000
#define RECS_MAX_K 1000
#define RECS_MAX_ROWS 100000000

/* One candidate neighbour in the per-entity heap. */
typedef struct {
	double sim;
	int ent;
} recs_cand;

/* a ranks after b: lower similarity, or equal and a higher index */
static int cand_worse(const recs_cand *a, const recs_cand *b)
{
	if (a->sim != b->sim)
		return a->sim < b->sim;
	return a->ent > b->ent;
}

/* Min-heap on "worse": heap[0] is the worst kept candidate. */
static void heap_sift_down(recs_cand *heap, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, w = i;
		recs_cand t;

		if (l < n && cand_worse(&heap[l], &heap[w]))
			w = l;
		if (r < n && cand_worse(&heap[r], &heap[w]))
			w = r;
		if (w == i)
			return;
		t = heap[i];
		heap[i] = heap[w];
		heap[w] = t;
		i = w;
	}
}

static void heap_sift_up(recs_cand *heap, int i)
{
	while (i > 0) {
		int p = (i - 1) / 2;
		recs_cand t;

		if (!cand_worse(&heap[i], &heap[p]))
			return;
		t = heap[i];
		heap[i] = heap[p];
		heap[p] = t;
		i = p;
	}
}

/* Offers c to a heap of capacity k holding *n candidates. */
static void heap_offer(recs_cand *heap, int *n, int k, recs_cand c)
{
	if (*n < k) {
		heap[*n] = c;
		heap_sift_up(heap, *n);
		(*n)++;
	} else if (cand_worse(&heap[0], &c)) {
		heap[0] = c;
		heap_sift_down(heap, *n, 0);
	}
}

/* A GC-owned, zeroed buffer of n elements of `size` bytes (pushed). */
static void *recs_buffer(lua_State *L, size_t n, size_t size)
{
	size_t bytes = (n == 0 ? 1 : n) * size;
	unsigned char *p = lua_newuserdata(L, bytes);
	size_t i;

	for (i = 0; i < bytes; i++)
		p[i] = 0;
	return p;
}

/* t[i] as an integer in [lo, hi]; raises naming the argument otherwise. */
static lua_Integer index_at(lua_State *L, int t, size_t i, lua_Integer lo,
			    lua_Integer hi, const char *what)
{
	lua_Number d;
	lua_Integer v;

	lua_rawgeti(L, t, (int)i);
	if (lua_type(L, -1) != LUA_TNUMBER)
		return luaL_error(L, "recs_neighbors: %s[%d] is not a number",
				  what, (int)i);
	d = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (!(d >= (lua_Number)lo && d <= (lua_Number)hi))
		return luaL_error(L, "recs_neighbors: %s[%d] is out of range",
				  what, (int)i);
	v = (lua_Integer)d;
	if ((lua_Number)v != d)
		return luaL_error(L, "recs_neighbors: %s[%d] is not an integer",
				  what, (int)i);
	return v;
}

/* opts[name] as a finite number in [lo, hi], or def when absent. */
static double opt_number(lua_State *L, int opts, const char *name, double def,
			 double lo, double hi)
{
	double v = def;

	if (opts == 0)
		return def;
	lua_getfield(L, opts, name);
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TNUMBER)
			return luaL_error(L, "recs_neighbors: opts.%s must be a number", name);
		v = lua_tonumber(L, -1);
		if (!(v >= lo && v <= hi))
			return luaL_error(L, "recs_neighbors: opts.%s out of range", name);
	}
	lua_pop(L, 1);
	return v;
}

/* Sorts heap[0..n) best first (insertion sort: n <= RECS_MAX_K). */
static void sort_best_first(recs_cand *heap, int n)
{
	int i;

	for (i = 1; i < n; i++) {
		recs_cand c = heap[i];
		int j = i - 1;

		while (j >= 0 && cand_worse(&heap[j], &c)) {
			heap[j + 1] = heap[j];
			j--;
		}
		heap[j + 1] = c;
	}
}

static int recs_neighbors(lua_State *L)
{
	size_t rows, r, n_feat = 0;
	lua_Integer n_ent, k;
	int opts = 0, has_weight, i, *ent, *feat, *ent_off, *ent_list, *feat_off;
	int *feat_list, *fill, *shared, *touched;
	double *w, *ent_w, *feat_w, *feat_pow, *norm_a, *norm_b, *acc;
	double alpha, beta, gamma, min_count;
	recs_cand *heap;

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
	alpha = opt_number(L, opts, "alpha", 0.5, 0, 4);
	beta = opt_number(L, opts, "beta", 0.5, 0, 4);
	gamma = opt_number(L, opts, "gamma", 0, 0, 4);
	min_count = opt_number(L, opts, "min_count", 1, 1, 1e9);

	rows = pz_rawlen(L, 1);
	luaL_argcheck(L, rows <= RECS_MAX_ROWS, 1, "too many rows");
	luaL_argcheck(L, pz_rawlen(L, 2) == rows, 2, "feat and ent differ in length");
	luaL_argcheck(L, !has_weight || pz_rawlen(L, 3) == rows, 3,
		      "weight and ent differ in length");
	lua_settop(L, 6);
	/* 17 buffers, 2 result tables and a temporary value above the args */
	luaL_checkstack(L, 24, "recs_neighbors");

	/* the coordinates, checked */
	ent = recs_buffer(L, rows, sizeof *ent);
	feat = recs_buffer(L, rows, sizeof *feat);
	w = recs_buffer(L, rows, sizeof *w);
	for (r = 0; r < rows; r++) {
		ent[r] = (int)index_at(L, 1, r + 1, 1, n_ent, "ent");
		feat[r] = (int)index_at(L, 2, r + 1, 1, (lua_Integer)rows, "feat");
		if ((size_t)feat[r] > n_feat)
			n_feat = (size_t)feat[r];
		w[r] = 1;
		if (has_weight) {
			lua_rawgeti(L, 3, (int)(r + 1));
			if (lua_type(L, -1) != LUA_TNUMBER)
				return luaL_error(L, "recs_neighbors: weight[%d] is not a number",
						  (int)(r + 1));
			w[r] = lua_tonumber(L, -1);
			lua_pop(L, 1);
			if (!(w[r] >= -1e12 && w[r] <= 1e12))
				return luaL_error(L, "recs_neighbors: weight[%d] is not finite",
						  (int)(r + 1));
		}
	}

	/* compressed rows by entity and by feature (counting sort) */
	ent_off = recs_buffer(L, (size_t)n_ent + 2, sizeof *ent_off);
	feat_off = recs_buffer(L, n_feat + 2, sizeof *feat_off);
	ent_list = recs_buffer(L, rows, sizeof *ent_list);
	feat_list = recs_buffer(L, rows, sizeof *feat_list);
	ent_w = recs_buffer(L, rows, sizeof *ent_w);
	feat_w = recs_buffer(L, rows, sizeof *feat_w);
	for (r = 0; r < rows; r++) {
		ent_off[ent[r] + 1]++;
		feat_off[feat[r] + 1]++;
	}
	for (i = 1; i <= n_ent + 1; i++)
		ent_off[i] += ent_off[i - 1];
	for (r = 1; r <= n_feat + 1; r++)
		feat_off[r] += feat_off[r - 1];
	fill = recs_buffer(L, (size_t)n_ent + n_feat + 2, sizeof *fill);
	for (r = 0; r < rows; r++) {
		int e = ent[r], f = feat[r];
		int pe = ent_off[e] + fill[e]++;
		int pf = feat_off[f] + fill[n_ent + 1 + f]++;

		ent_list[pe] = f;
		ent_w[pe] = w[r];
		feat_list[pf] = e;
		feat_w[pf] = w[r];
	}

	/* per-feature weights and per-entity norms */
	feat_pow = recs_buffer(L, n_feat + 1, sizeof *feat_pow);
	for (r = 1; r <= n_feat; r++) {
		int deg = feat_off[r + 1] - feat_off[r];

		feat_pow[r] = deg > 0 ? pow((double)deg, -gamma) : 0;
	}
	norm_a = recs_buffer(L, (size_t)n_ent + 1, sizeof *norm_a);
	norm_b = recs_buffer(L, (size_t)n_ent + 1, sizeof *norm_b);
	for (i = 1; i <= n_ent; i++) {
		double s = 0;
		int p;

		for (p = ent_off[i]; p < ent_off[i + 1]; p++)
			s += ent_w[p] * ent_w[p];
		norm_a[i] = s > 0 ? pow(s, alpha) : 1;
		norm_b[i] = s > 0 ? pow(s, beta) : 1;
	}

	acc = recs_buffer(L, (size_t)n_ent + 1, sizeof *acc);
	shared = recs_buffer(L, (size_t)n_ent + 1, sizeof *shared);
	touched = recs_buffer(L, (size_t)n_ent + 1, sizeof *touched);
	heap = recs_buffer(L, (size_t)k, sizeof *heap);

	lua_createtable(L, (int)(n_ent * k), 0);	/* nbr */
	lua_createtable(L, (int)(n_ent * k), 0);	/* sim */
	for (i = 1; i <= n_ent; i++) {
		int n_touched = 0, n_heap = 0, p, m, base = (i - 1) * (int)k;

		for (p = ent_off[i]; p < ent_off[i + 1]; p++) {
			int f = ent_list[p], q;
			double wi = ent_w[p] * feat_pow[f];

			for (q = feat_off[f]; q < feat_off[f + 1]; q++) {
				int j = feat_list[q];

				if (j == i)
					continue;
				if (shared[j] == 0)
					touched[n_touched++] = j;
				shared[j]++;
				acc[j] += wi * feat_w[q];
			}
		}
		for (m = 0; m < n_touched; m++) {
			int j = touched[m];

			if ((double)shared[j] >= min_count && acc[j] != 0) {
				recs_cand c;

				c.sim = acc[j] / (norm_a[i] * norm_b[j]);
				c.ent = j;
				heap_offer(heap, &n_heap, (int)k, c);
			}
			acc[j] = 0;
			shared[j] = 0;
		}
		sort_best_first(heap, n_heap);
		for (m = 0; m < (int)k; m++) {
			lua_pushinteger(L, m < n_heap ? heap[m].ent : 0);
			lua_rawseti(L, -3, base + m + 1);
			lua_pushnumber(L, m < n_heap ? heap[m].sim : 0);
			lua_rawseti(L, -2, base + m + 1);
		}
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
