/*
 * hist.c - the users' histories that the recipes train on, built in C
 * from a dataset's column files, and kept for serving as one mapped file.
 *
 *   local h = ecore.hist_build({ dir, ... }, opts)   -- or nil, message
 *   h:stats()        -> { users =, items =, pairs =, events =, rows =,
 *                         active_users =, t_min =, t_max = }
 *   h:item_ids()     -> { id, ... }  sorted (item k of the arrays is ids[k])
 *   h:user_ids()     -> { id, ... }  sorted
 *   h:item_counts()  -> distinct, total, first_time (arrays by item)
 *   h:rows()         -> hist_off, hist, hist_w, hist_time (Lua arrays, 1-based,
 *                       as recipes/common.lua's index has them)
 *   h:neighbors(opts) -> off, nbr, sim: each item's k nearest items
 *                       (recs.c's similarity over users; compressed rows,
 *                       1-based; opts: k, alpha, beta, gamma, min_count,
 *                       weighted, threads, digits (significant digits of sim))
 *   h:save(path)     -> true | nil, message (fsync'd, then renamed)
 *   local h = ecore.hist_load(path)                  -- or nil, message
 *   h:user(id)       -> u (1-based) or nil
 *   h:items(u, max)  -> { item, ... } user u's items, newest first, at most max
 *
 * hist_build reads the columns opts.user (default "USER_ID"), opts.item
 * ("ITEM_ID"), opts.time ("TIMESTAMP"), opts.type ("EVENT_TYPE") and
 * opts.value ("EVENT_VALUE") of each part directory, then the rows of
 * opts.extra (a Lua columnar table { n =, USER_ID = {...}, ... }: the
 * records sent one by one), and keeps the rows that pass the solution's
 * filters: opts.event_type (equal), opts.threshold (EVENT_VALUE at least),
 * opts.params ({ [type] = { threshold =, weight = } }: only the listed
 * types, each with its threshold and weight). `rows` counts the rows that
 * pass and `active_users` the users with at least opts.active_rows
 * (default 2) of them (the minimum-data rules); rows whose weight is 0 or less are then left out
 * of the histories. The histories are hist.h's: users and items numbered
 * in the order of their sorted ids, each user's distinct items oldest
 * first by their latest interaction (equal times: the later row), with
 * summed weights. This is what recipes/common.lua's index computes from
 * Lua tables, without a table per interaction: memory is about 40 bytes
 * per interaction while building and 16 per (user, item) pair after.
 *
 * A saved file holds the users' sorted ids and the histories (items and
 * times), for serving: hist_load maps it read-only; stats, item_ids and
 * neighbors need a built one.
 *
 * Memory is malloc'd, owned by the userdata and freed by __gc; nothing is
 * process-wide.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "colfile.h"
#include "engine.h"
#include "hist.h"
#include "hist_impl.h"
#include "recs.h"

#define HIST_MAGIC "PZHIST01"


void hist_free(hist_ud *u)
{
	if (u->map != NULL) {
		munmap(u->map, u->map_size);
	} else {
		free(u->off);
		free(u->item);
		free(u->time);
		free(u->uoff);
		free(u->ubytes);
	}
	free(u->weight);
	free(u->ioff);
	free(u->ibytes);
	free(u->distinct);
	free(u->total);
	free(u->first_time);
	memset(u, 0, sizeof *u);
}

static int hist_gc(lua_State *L)
{
	hist_free(luaL_checkudata(L, 1, HIST_TNAME));
	return 0;
}

static hist_ud *check_hist(lua_State *L)
{
	hist_ud *u = luaL_checkudata(L, 1, HIST_TNAME);

	if (u->off == NULL)
		luaL_error(L, "the history is closed");
	return u;
}

const pz_hist *pz_hist_arg(lua_State *L, int idx, const char *fn)
{
	const hist_ud *u = luaL_checkudata(L, idx, HIST_TNAME);

	if (u->off == NULL)
		luaL_error(L, "%s: the history is closed", fn);
	return &u->h;
}

static hist_ud *check_built(lua_State *L)
{
	hist_ud *u = check_hist(L);

	if (!u->built)
		luaL_error(L, "a loaded history holds no item statistics: build one with hist_build");
	return u;
}

/* nil, msg: an expected failure. */
int hist_fail(lua_State *L, const char *msg)
{
	lua_pushnil(L);
	lua_pushstring(L, msg);
	return 2;
}

/* Byte order, then length: the order of Lua's string comparison in the C locale. */
int id_cmp(const void *pa, const void *pb)
{
	const id_ref *a = pa, *b = pb;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);

	if (c != 0)
		return c;
	return a->len < b->len ? -1 : (a->len > b->len);
}


/* ------------------------------------------------------------------ */
/* Reading a history from Lua.                                         */

static void set_number(lua_State *L, const char *k, double v)
{
	lua_pushnumber(L, v);
	lua_setfield(L, -2, k);
}

static void set_integer(lua_State *L, const char *k, int64_t v)
{
	lua_pushinteger(L, (lua_Integer)v);
	lua_setfield(L, -2, k);
}

static int hist_stats(lua_State *L)
{
	hist_ud *u = check_built(L);

	lua_createtable(L, 0, 8);
	set_integer(L, "users", u->h.n_users);
	set_integer(L, "items", u->h.n_items);
	set_integer(L, "pairs", u->off[u->h.n_users]);
	set_integer(L, "events", u->events);
	set_integer(L, "rows", u->rows);
	set_integer(L, "active_users", u->active_users);
	set_number(L, "t_min", u->t_min);
	set_number(L, "t_max", u->t_max);
	return 1;
}

static void push_ids(lua_State *L, const uint64_t *offs, const char *bytes, int32_t n)
{
	int32_t i;

	lua_createtable(L, n, 0);
	for (i = 0; i < n; i++) {
		lua_pushlstring(L, bytes + offs[i], (size_t)(offs[i + 1] - offs[i]));
		lua_rawseti(L, -2, i + 1);
	}
}

static int hist_item_ids(lua_State *L)
{
	hist_ud *u = check_built(L);

	push_ids(L, u->ioff, u->ibytes, u->h.n_items);
	return 1;
}

static int hist_user_ids(lua_State *L)
{
	hist_ud *u = check_hist(L);

	push_ids(L, u->uoff, u->ubytes, u->h.n_users);
	return 1;
}

/* A whole number as a Lua integer (times are integers in most data). */
static void push_time(lua_State *L, double t)
{
	if (t == floor(t) && fabs(t) < 9e15)
		lua_pushinteger(L, (lua_Integer)t);
	else
		lua_pushnumber(L, t);
}

static int hist_item_counts(lua_State *L)
{
	hist_ud *u = check_built(L);
	int32_t k;

	lua_createtable(L, u->h.n_items, 0);
	lua_createtable(L, u->h.n_items, 0);
	lua_createtable(L, u->h.n_items, 0);
	for (k = 0; k < u->h.n_items; k++) {
		lua_pushinteger(L, u->distinct[k]);
		lua_rawseti(L, -4, k + 1);
		lua_pushinteger(L, u->total[k]);
		lua_rawseti(L, -3, k + 1);
		push_time(L, u->first_time[k]);
		lua_rawseti(L, -2, k + 1);
	}
	return 3;
}

static int hist_rows(lua_State *L)
{
	hist_ud *u = check_built(L);
	int64_t pairs = u->off[u->h.n_users], p;
	int32_t r;

	luaL_argcheck(L, pairs < 0x7fffffff, 1, "too many pairs for Lua arrays");
	lua_createtable(L, u->h.n_users + 1, 0);
	for (r = 0; r <= u->h.n_users; r++) {
		lua_pushinteger(L, (lua_Integer)u->off[r] + 1);
		lua_rawseti(L, -2, r + 1);
	}
	lua_createtable(L, (int)pairs, 0);
	lua_createtable(L, (int)pairs, 0);
	lua_createtable(L, (int)pairs, 0);
	for (p = 0; p < pairs; p++) {
		lua_pushinteger(L, u->item[p] + 1);
		lua_rawseti(L, -4, (int)p + 1);
		lua_pushnumber(L, u->weight[p]);
		lua_rawseti(L, -3, (int)p + 1);
		push_time(L, u->time[p]);
		lua_rawseti(L, -2, (int)p + 1);
	}
	return 4;
}

/* x rounded to `digits` significant digits, as recipes/common.lua's round. */
static double round_sig(double x, int digits)
{
	double scale;

	if (x == 0 || digits <= 0)
		return x;
	scale = pow(10, digits - 1 - floor(log10(fabs(x))));
	return floor(x * scale + 0.5) / scale;
}

static double get_opt(lua_State *L, int t, const char *k, double def)
{
	double v = def;

	lua_getfield(L, t, k);
	if (lua_type(L, -1) == LUA_TNUMBER)
		v = lua_tonumber(L, -1);
	else if (lua_type(L, -1) == LUA_TBOOLEAN)
		v = lua_toboolean(L, -1);
	lua_pop(L, 1);
	return v;
}

/* h:neighbors(opts) -> off, nbr, sim */
static int hist_neighbors(lua_State *L)
{
	hist_ud *u = check_built(L);
	pz_nb_opts o;
	pz_csr by_user, by_item;
	int64_t *ioff = NULL;
	int32_t *iidx = NULL, *nbr, k, i;
	float *iw = NULL;
	double *sim;
	int weighted, digits, rc, m, p = 1;
	size_t slots;

	luaL_checktype(L, 2, LUA_TTABLE);
	o.k = (int)get_opt(L, 2, "k", 30);
	o.alpha = get_opt(L, 2, "alpha", 0.5);
	o.beta = get_opt(L, 2, "beta", 0.5);
	o.gamma = get_opt(L, 2, "gamma", 0);
	o.min_count = get_opt(L, 2, "min_count", 1);
	o.threads = (int)get_opt(L, 2, "threads", 2);
	weighted = get_opt(L, 2, "weighted", 0) != 0;
	digits = (int)get_opt(L, 2, "digits", 0);
	luaL_argcheck(L, o.k >= 1 && o.k <= 1000, 2, "k from 1 to 1000");
	luaL_argcheck(L, o.alpha >= 0 && o.alpha <= 4 && o.beta >= 0 && o.beta <= 4 && o.gamma >= 0 &&
		      o.gamma <= 4 && o.min_count >= 1, 2, "alpha, beta, gamma from 0 to 4, min_count 1 or more");
	k = o.k;
	by_user.n = u->h.n_users;
	by_user.off = u->off;
	by_user.idx = u->item;
	by_user.w = weighted ? u->weight : NULL;
	if (pz_csr_transpose(&by_user, u->h.n_items, &ioff, &iidx, &iw) != 0)
		return luaL_error(L, "neighbors: not enough memory");
	by_item.n = u->h.n_items;
	by_item.off = ioff;
	by_item.idx = iidx;
	by_item.w = iw;
	slots = (size_t)u->h.n_items * (size_t)k;
	nbr = malloc((slots + 1) * sizeof *nbr);
	sim = malloc((slots + 1) * sizeof *sim);
	rc = nbr && sim ? pz_neighbors(&by_item, &by_user, &o, nbr, sim) : -1;
	free(ioff);
	free(iidx);
	free(iw);
	if (rc != 0) {
		free(nbr);
		free(sim);
		return luaL_error(L, "neighbors: not enough memory");
	}
	lua_createtable(L, u->h.n_items + 1, 0);	/* off */
	lua_newtable(L);				/* nbr */
	lua_newtable(L);				/* sim */
	for (i = 0; i < u->h.n_items; i++) {
		lua_pushinteger(L, p);
		lua_rawseti(L, -4, i + 1);
		for (m = 0; m < k; m++) {
			size_t s = (size_t)i * k + m;

			if (nbr[s] < 0)
				break;
			lua_pushinteger(L, nbr[s] + 1);
			lua_rawseti(L, -3, p);
			lua_pushnumber(L, round_sig(sim[s], digits));
			lua_rawseti(L, -2, p);
			p++;
		}
	}
	lua_pushinteger(L, p);
	lua_rawseti(L, -4, u->h.n_items + 1);
	free(nbr);
	free(sim);
	return 3;
}

/* ------------------------------------------------------------------ */
/* The serving file.                                                   */

/*
 * Layout: magic (8), n_users (8), pairs (8), ubytes (8), then off
 * (int64 x n_users+1), uoff (uint64 x n_users+1), item (int32 x pairs,
 * padded to 8), time (double x pairs), then the user id bytes.
 */
static int hist_save(lua_State *L)
{
	hist_ud *u = check_hist(L);
	const char *path = luaL_checkstring(L, 2);
	char tmp[4096], err[MSG];
	uint64_t head[4], pad = 0;
	int64_t pairs = u->off[u->h.n_users];
	size_t n1 = (size_t)u->h.n_users + 1, ipad = ((size_t)pairs * 4) % 8;
	int fd, ok;

	if (snprintf(tmp, sizeof tmp, "%s.tmp.XXXXXX", path) >= (int)sizeof tmp)
		return hist_fail(L, "the path is too long");
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, sizeof err, "cannot create a temporary file for %s: %s", path, strerror(errno));
		return hist_fail(L, err);
	}
	memcpy(&head[0], HIST_MAGIC, 8);
	head[1] = (uint64_t)u->h.n_users;
	head[2] = (uint64_t)pairs;
	head[3] = u->uoff[u->h.n_users];
	ok = fchmod(fd, 0644) == 0 && write_all(fd, (const char *)head, sizeof head) == 0 &&
	     write_all(fd, (const char *)u->off, n1 * 8) == 0 &&
	     write_all(fd, (const char *)u->uoff, n1 * 8) == 0 &&
	     write_all(fd, (const char *)u->item, (size_t)pairs * 4) == 0 &&
	     write_all(fd, (const char *)&pad, ipad ? 8 - ipad : 0) == 0 &&
	     write_all(fd, (const char *)u->time, (size_t)pairs * 8) == 0 &&
	     write_all(fd, u->ubytes, (size_t)head[3]) == 0 && fsync(fd) == 0;
	if (close(fd) != 0)
		ok = 0;
	if (!ok || rename(tmp, path) != 0) {
		snprintf(err, sizeof err, "cannot write %s: %s", path, strerror(errno));
		unlink(tmp);
		return hist_fail(L, err);
	}
	lua_pushboolean(L, 1);
	return 1;
}

static int hist_load(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	hist_ud *u = lua_newuserdata(L, sizeof *u);
	char err[MSG];
	struct stat st;
	uint64_t head[4], n1, pairs, need;
	unsigned char *p;
	int fd;
	size_t ipad;
	int64_t r;

	memset(u, 0, sizeof *u);
	luaL_getmetatable(L, HIST_TNAME);
	lua_setmetatable(L, -2);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		snprintf(err, sizeof err, "cannot read %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return hist_fail(L, err);
	}
	if ((size_t)st.st_size >= sizeof head) {
		void *m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m != MAP_FAILED) {
			u->map = m;
			u->map_size = (size_t)st.st_size;
		}
	}
	close(fd);
	if (u->map == NULL)
		return hist_fail(L, "cannot map the history file");
	p = u->map;
	memcpy(head, p, sizeof head);
	n1 = head[1] + 1;
	pairs = head[2];
	ipad = (size_t)((pairs * 4) % 8);
	need = sizeof head + n1 * 16 + pairs * 4 + (ipad ? 8 - ipad : 0) + pairs * 8 + head[3];
	if (memcmp(p, HIST_MAGIC, 8) != 0 || head[1] > INT32_MAX || pairs > (uint64_t)1 << 40 ||
	    need != u->map_size) {
		snprintf(err, sizeof err, "%s is not a history file of this engine", path);
		return hist_fail(L, err);
	}
	u->off = (int64_t *)(void *)(p + sizeof head);
	u->uoff = (uint64_t *)(void *)(p + sizeof head + n1 * 8);
	u->item = (int32_t *)(void *)(p + sizeof head + n1 * 16);
	u->time = (double *)(void *)(p + sizeof head + n1 * 16 + pairs * 4 + (ipad ? 8 - ipad : 0));
	u->ubytes = (char *)(p + need - head[3]);
	u->h.n_users = (int32_t)head[1];
	for (r = 0; r < u->h.n_users; r++)
		if (u->off[r] > u->off[r + 1] || u->uoff[r] > u->uoff[r + 1])
			return hist_fail(L, "a damaged history file");
	if (u->off[0] != 0 || (uint64_t)u->off[u->h.n_users] != pairs || u->uoff[u->h.n_users] != head[3])
		return hist_fail(L, "a damaged history file");
	u->h.off = u->off;
	u->h.item = u->item;
	u->h.time = u->time;
	return 1;
}

/* h:user(id) -> u (1-based) or nil: a binary search over the sorted ids. */
static int hist_user(lua_State *L)
{
	hist_ud *u = check_hist(L);
	size_t len;
	const char *id = luaL_checklstring(L, 2, &len);
	int32_t lo = 0, hi = u->h.n_users - 1;

	while (lo <= hi) {
		int32_t mid = lo + (hi - lo) / 2;
		id_ref a, b;
		int c;

		a.s = id;
		a.len = len;
		b.s = u->ubytes + u->uoff[mid];
		b.len = (size_t)(u->uoff[mid + 1] - u->uoff[mid]);
		c = id_cmp(&a, &b);
		if (c == 0) {
			lua_pushinteger(L, mid + 1);
			return 1;
		}
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	lua_pushnil(L);
	return 1;
}

/* h:items(u, max) -> user u's items (1-based), newest first, at most max */
static int hist_items(lua_State *L)
{
	hist_ud *u = check_hist(L);
	lua_Integer r = luaL_checkinteger(L, 2), max = luaL_optinteger(L, 3, 0x7fffffff), n = 0;
	int64_t p;

	luaL_argcheck(L, r >= 1 && r <= u->h.n_users, 2, "no such user");
	lua_newtable(L);
	for (p = u->off[r] - 1; p >= u->off[r - 1] && n < max; p--) {
		lua_pushinteger(L, u->item[p] + 1);
		lua_rawseti(L, -2, (int)++n);
	}
	return 1;
}

static const luaL_Reg hist_methods[] = {
	{ "stats", hist_stats },
	{ "item_ids", hist_item_ids },
	{ "user_ids", hist_user_ids },
	{ "item_counts", hist_item_counts },
	{ "rows", hist_rows },
	{ "neighbors", hist_neighbors },
	{ "save", hist_save },
	{ "user", hist_user },
	{ "items", hist_items },
	{ NULL, NULL }
};

static const luaL_Reg hist_meta[] = {
	{ "__gc", hist_gc },
	{ NULL, NULL }
};

static const luaL_Reg hist_functions[] = {
	{ "hist_build", pz_hist_build },
	{ "hist_load", hist_load },
	{ NULL, NULL }
};

void pz_open_hist(lua_State *L)
{
	pz_newclass(L, HIST_TNAME, hist_methods, hist_meta);
	pz_open_hist_build(L);
	pz_setfuncs(L, hist_functions, 0);
}
