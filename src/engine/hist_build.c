/*
 * hist_build.c - ecore.hist_build: the users' histories (hist.h) built
 * from a dataset's column files and the rows sent one by one, through the
 * solution's event filters, with the offline metrics' holdout. See hist.c
 * for the contract of the result.
 */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "colfile.h"
#include "engine.h"
#include "hist.h"
#include "hist_impl.h"

#define MAX_FILTERS 64
#define BUILDER_TNAME "personalize.engine.hist_builder"

/* One filter entry of opts.params. */
typedef struct {
	char name[256];
	size_t len;
	int has_threshold;
	double threshold, weight;
} type_rule;

typedef struct {
	const char *event_type;
	size_t event_type_len;
	int has_threshold;
	double threshold;
	int has_params;
	type_rule rules[MAX_FILTERS];
	int nrules;
	int needs_value;	/* some threshold reads EVENT_VALUE */
	lua_Integer active_rows;	/* opts.active_rows: rows that make a user active */
} filters;

/* A value's source: a mapped column, or a Lua column (the extra rows). */
typedef struct {
	colview v;
	int present;
	int32_t *codes;		/* K_STRING: dictionary code -> global id + 1 (0: not yet) */
	signed char *type_ok;	/* EVENT_TYPE K_STRING: code -> -1 unknown, 0 fails, 1 + rule */
} source;

typedef struct {
	dict users, items;
	int32_t *ucount, *upass;	/* per global user: rows kept (w > 0), rows passing */
	size_t ucap;
	filters f;
	char err[MSG];
	/* pass 2 */
	int64_t *fill;
	int32_t *g_item;
	double *g_time;
	float *g_w;
} builder;

static void builder_free(builder *b)
{
	dict_free(&b->users);
	dict_free(&b->items);
	free(b->ucount);
	free(b->upass);
	free(b->fill);
	free(b->g_item);
	free(b->g_time);
	free(b->g_w);
	memset(b, 0, sizeof *b);
}


static int builder_gc(lua_State *L)
{
	builder_free(luaL_checkudata(L, 1, BUILDER_TNAME));
	return 0;
}

/* The rule index + 1 for an event type passing the type filters, 0 when it fails. */
static int type_rule_of(const filters *f, const char *s, size_t len)
{
	int r;

	if (f->event_type != NULL &&
	    (s == NULL || len != f->event_type_len || memcmp(s, f->event_type, len) != 0))
		return 0;
	if (!f->has_params)
		return 1;
	if (s == NULL)
		return 0;
	for (r = 0; r < f->nrules; r++)
		if (f->rules[r].len == len && memcmp(f->rules[r].name, s, len) == 0)
			return r + 2;
	return 0;
}

/* Whether a row with type rule `rule` (from type_rule_of) and value passes; its weight. */
static int value_passes(const filters *f, int rule, int has_value, double value, double *w)
{
	*w = 1;
	if (f->has_threshold && !(has_value && value >= f->threshold))
		return 0;
	if (rule >= 2) {
		const type_rule *t = &f->rules[rule - 2];

		if (t->has_threshold && !(has_value && value >= t->threshold))
			return 0;
		*w = t->weight;
	}
	return 1;
}

static int grow_users(builder *b, size_t need)
{
	size_t cap = b->ucap ? b->ucap : 1024;
	int32_t *c, *p;

	if (need <= b->ucap)
		return 0;
	while (cap < need)
		cap *= 2;
	c = realloc(b->ucount, cap * sizeof *c);
	if (c == NULL)
		return -1;
	b->ucount = c;
	p = realloc(b->upass, cap * sizeof *p);
	if (p == NULL)
		return -1;
	b->upass = p;
	memset(b->ucount + b->ucap, 0, (cap - b->ucap) * sizeof *c);
	memset(b->upass + b->ucap, 0, (cap - b->ucap) * sizeof *p);
	b->ucap = cap;
	return 0;
}

/* The global id of a string in `d` through the part's code cache; -1 out of memory. */
static int64_t intern_cached(dict *d, source *s, uint64_t i, char *scratch)
{
	size_t len;
	const char *str;

	if (s->codes != NULL) {
		int32_t code;

		memcpy(&code, s->v.data + 4 * i, 4);
		if (code < 0 || (uint64_t)code >= s->v.dcount)
			return -2;
		if (s->codes[code] == 0) {
			int64_t g;

			str = colview_dict(&s->v, (uint64_t)code, &len);
			g = dict_intern(d, str, len);
			if (g < 0)
				return -1;
			s->codes[code] = (int32_t)g + 1;
		}
		return s->codes[code] - 1;
	}
	str = colview_text(&s->v, i, &len, scratch);
	if (str == NULL)
		return -2;
	return dict_intern(d, str, len);
}

enum { S_USER, S_ITEM, S_TIME, S_TYPE, S_VALUE, S_COUNT };

typedef struct {
	source s[S_COUNT];
} part;

static void part_close(part *p)
{
	int k;

	for (k = 0; k < S_COUNT; k++) {
		colview_close(&p->s[k].v);
		free(p->s[k].codes);
		free(p->s[k].type_ok);
		p->s[k].codes = NULL;
		p->s[k].type_ok = NULL;
		p->s[k].present = 0;
	}
}

/* Opens the part's columns; 0, or -1 with b->err set. */
static int part_open(builder *b, part *p, const char *dir, const char *const names[S_COUNT])
{
	int k;

	memset(p, 0, sizeof *p);
	for (k = 0; k < S_COUNT; k++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof path, "%s/%s.col", dir, names[k]);
		if (stat(path, &st) != 0) {
			if (k == S_USER || k == S_ITEM) {
				snprintf(b->err, sizeof b->err, "%s has no %s column", dir, names[k]);
				part_close(p);
				return -1;
			}
			continue;
		}
		if (colview_open(&p->s[k].v, path, b->err, sizeof b->err) != 0) {
			part_close(p);
			return -1;
		}
		p->s[k].present = 1;
		if (p->s[k].v.kind == K_STRING && (k == S_USER || k == S_ITEM)) {
			p->s[k].codes = calloc((size_t)p->s[k].v.dcount + 1, sizeof *p->s[k].codes);
			if (p->s[k].codes == NULL)
				goto oom;
		}
		if (p->s[k].v.kind == K_STRING && k == S_TYPE) {
			p->s[k].type_ok = malloc((size_t)p->s[k].v.dcount + 1);
			if (p->s[k].type_ok == NULL)
				goto oom;
			memset(p->s[k].type_ok, -1, (size_t)p->s[k].v.dcount + 1);
		}
	}
	for (k = 1; k < S_COUNT; k++)
		if (p->s[k].present && p->s[k].v.n != p->s[S_USER].v.n) {
			snprintf(b->err, sizeof b->err, "%s: columns of different lengths", dir);
			part_close(p);
			return -1;
		}
	return 0;
oom:
	snprintf(b->err, sizeof b->err, "not enough memory to read %s", dir);
	part_close(p);
	return -1;
}

/*
 * Row i of a part through the filters: 1 with *w, *t set, 0 when filtered
 * out, -1 with b->err when memory runs out. *user / *item are global ids
 * (interned on the way).
 */
static int part_row(builder *b, part *p, uint64_t i, int32_t *user, int32_t *item, double *t, double *w)
{
	char scratch[40];
	int rule = 1, has_value = 0;
	double value = 0;
	int64_t g;
	source *ty = &p->s[S_TYPE];

	if (b->f.event_type != NULL || b->f.has_params) {
		if (!ty->present) {
			rule = type_rule_of(&b->f, NULL, 0);
		} else if (ty->type_ok != NULL) {
			int32_t code;

			memcpy(&code, ty->v.data + 4 * i, 4);
			if (code < 0 || (uint64_t)code >= ty->v.dcount) {
				rule = type_rule_of(&b->f, NULL, 0);
			} else {
				if (ty->type_ok[code] < 0) {
					size_t len;
					const char *s = colview_dict(&ty->v, (uint64_t)code, &len);

					ty->type_ok[code] = (signed char)type_rule_of(&b->f, s, len);
				}
				rule = ty->type_ok[code];
			}
		} else {
			size_t len;
			const char *s = colview_text(&ty->v, i, &len, scratch);

			rule = type_rule_of(&b->f, s, s ? len : 0);
		}
		if (rule == 0)
			return 0;
	}
	if (b->f.needs_value && p->s[S_VALUE].present)
		has_value = colview_number(&p->s[S_VALUE].v, i, &value);
	if (!value_passes(&b->f, rule, has_value, value, w))
		return 0;
	g = intern_cached(&b->users, &p->s[S_USER], i, scratch);
	if (g == -2)
		return 0;
	if (g < 0)
		goto oom;
	*user = (int32_t)g;
	g = intern_cached(&b->items, &p->s[S_ITEM], i, scratch);
	if (g == -2)
		return 0;
	if (g < 0)
		goto oom;
	*item = (int32_t)g;
	*t = 0;
	if (p->s[S_TIME].present && !colview_number(&p->s[S_TIME].v, i, t))
		*t = 0;
	return 1;
oom:
	snprintf(b->err, sizeof b->err, "not enough memory for the histories");
	return -1;
}

/* The extra rows' value k of column `col` (a Lua table at index cols, or absent) as text. */
static const char *lua_cell_text(lua_State *L, int tbl, lua_Integer i, size_t *len, char *scratch)
{
	const char *s = NULL;

	if (tbl == 0)
		return NULL;
	lua_rawgeti(L, tbl, (int)i);
	switch (lua_type(L, -1)) {
	case LUA_TSTRING:
		s = lua_tolstring(L, -1, len);	/* anchored in the column table */
		break;
	case LUA_TNUMBER:
	case LUA_TBOOLEAN:
		lua_getglobal(L, "tostring");
		lua_pushvalue(L, -2);
		lua_call(L, 1, 1);
		s = lua_tolstring(L, -1, len);
		if (s != NULL && *len < 39) {
			memcpy(scratch, s, *len);
			scratch[*len] = 0;
			s = scratch;
		} else {
			s = NULL;
		}
		lua_pop(L, 1);
		break;
	default:
		break;
	}
	lua_pop(L, 1);
	return s;
}

static int lua_cell_number(lua_State *L, int tbl, lua_Integer i, double *x)
{
	int ok = 0;

	if (tbl == 0)
		return 0;
	lua_rawgeti(L, tbl, (int)i);
	if (lua_type(L, -1) == LUA_TNUMBER) {
		*x = lua_tonumber(L, -1);
		ok = 1;
	} else if (lua_type(L, -1) == LUA_TSTRING) {
		const char *s = lua_tostring(L, -1);
		char *end;

		*x = strtod(s, &end);
		ok = end != s && *end == 0;
	}
	lua_pop(L, 1);
	return ok;
}

/* The id in `d` of a Lua cell's text: -2 when empty, -1 out of memory. */
static int64_t lua_cell_intern(lua_State *L, dict *d, int tbl, lua_Integer i, char *scratch)
{
	size_t len;
	const char *s = lua_cell_text(L, tbl, i, &len, scratch);

	return s == NULL ? -2 : dict_intern(d, s, len);
}

/* Row i (1-based) of the extra rows: as part_row. cols[k] are stack indexes or 0. */
static int extra_row(lua_State *L, builder *b, const int cols[S_COUNT], lua_Integer i,
		     int32_t *user, int32_t *item, double *t, double *w)
{
	char scratch[40];
	size_t len;
	const char *s;
	int rule = 1, has_value;
	double value = 0;
	int64_t g;

	if (b->f.event_type != NULL || b->f.has_params) {
		s = lua_cell_text(L, cols[S_TYPE], i, &len, scratch);
		rule = type_rule_of(&b->f, s, s ? len : 0);
		if (rule == 0)
			return 0;
	}
	has_value = lua_cell_number(L, cols[S_VALUE], i, &value);
	if (!value_passes(&b->f, rule, has_value, value, w))
		return 0;
	g = lua_cell_intern(L, &b->users, cols[S_USER], i, scratch);
	if (g == -2)
		return 0;
	if (g < 0)
		goto oom;
	*user = (int32_t)g;
	g = lua_cell_intern(L, &b->items, cols[S_ITEM], i, scratch);
	if (g == -2)
		return 0;
	if (g < 0)
		goto oom;
	*item = (int32_t)g;
	if (!lua_cell_number(L, cols[S_TIME], i, t))
		*t = 0;
	return 1;
oom:
	snprintf(b->err, sizeof b->err, "not enough memory for the histories");
	return -1;
}

/* Sorted order of a dictionary's strings: ranks[code] and the sorted blob. */
/* Fills rank[code] and a sorted copy of the strings (offsets + bytes); 0 or -1. */
static int sort_ids(const dict *d, int32_t *rank, uint64_t **offs, char **bytes)
{
	size_t n = d->count, i, total = 0;
	id_ref *refs = malloc((n + 1) * sizeof *refs);
	uint64_t *o = malloc((n + 1) * sizeof *o);
	char *by;

	if (refs == NULL || o == NULL) {
		free(refs);
		free(o);
		return -1;
	}
	for (i = 0; i < n; i++) {
		refs[i].s = dict_at(d, i, &refs[i].len);
		refs[i].code = (int32_t)i;
		total += refs[i].len;
	}
	qsort(refs, n, sizeof *refs, id_cmp);
	by = malloc(total + 1);
	if (by == NULL) {
		free(refs);
		free(o);
		return -1;
	}
	o[0] = 0;
	for (i = 0; i < n; i++) {
		rank[refs[i].code] = (int32_t)i;
		memcpy(by + o[i], refs[i].s, refs[i].len);
		o[i + 1] = o[i] + refs[i].len;
	}
	free(refs);
	*offs = o;
	*bytes = by;
	return 0;
}

/* One user's entry while deduplicating. */
typedef struct {
	int32_t item;
	int32_t seq;
	double time;
	float w;
} entry;

static int entry_cmp(const void *pa, const void *pb)
{
	const entry *a = pa, *b = pb;

	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

/* Sorts entries by (time, seq); most users' rows come in time order already. */
static void sort_entries(entry *e, size_t n)
{
	size_t i;

	for (i = 1; i < n; i++)
		if (entry_cmp(&e[i - 1], &e[i]) > 0)
			break;
	if (i < n)
		qsort(e, n, sizeof *e, entry_cmp);
}

static void read_filters(lua_State *L, int opts, filters *f)
{
	memset(f, 0, sizeof *f);
	lua_getfield(L, opts, "event_type");
	if (lua_type(L, -1) == LUA_TSTRING)
		f->event_type = lua_tolstring(L, -1, &f->event_type_len);	/* anchored in opts */
	lua_pop(L, 1);
	lua_getfield(L, opts, "threshold");
	if (lua_type(L, -1) == LUA_TNUMBER) {
		f->has_threshold = 1;
		f->threshold = lua_tonumber(L, -1);
	}
	lua_pop(L, 1);
	lua_getfield(L, opts, "params");
	if (lua_istable(L, -1)) {
		f->has_params = 1;
		lua_pushnil(L);
		while (lua_next(L, -2) != 0) {
			size_t len;
			const char *name;
			type_rule *r;

			if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
				luaL_error(L, "hist_build: opts.params maps event types to { threshold =, weight = }");
			if (f->nrules >= MAX_FILTERS)
				luaL_error(L, "hist_build: at most %d event types in opts.params", MAX_FILTERS);
			name = lua_tolstring(L, -2, &len);
			if (len >= sizeof f->rules[0].name)
				luaL_error(L, "hist_build: an event type longer than 255 bytes");
			r = &f->rules[f->nrules++];
			memcpy(r->name, name, len);
			r->len = len;
			lua_getfield(L, -1, "threshold");
			if (lua_type(L, -1) == LUA_TNUMBER) {
				r->has_threshold = 1;
				r->threshold = lua_tonumber(L, -1);
			}
			lua_pop(L, 1);
			lua_getfield(L, -1, "weight");
			r->weight = lua_type(L, -1) == LUA_TNUMBER ? lua_tonumber(L, -1) : 1;
			lua_pop(L, 2);
		}
	}
	lua_pop(L, 1);
	lua_getfield(L, opts, "active_rows");
	f->active_rows = lua_isnumber(L, -1) ? lua_tointeger(L, -1) : 2;
	lua_pop(L, 1);
	f->needs_value = f->has_threshold;
	for (int r = 0; r < f->nrules; r++)
		f->needs_value |= f->rules[r].has_threshold;
}

static const char *opt_name(lua_State *L, int opts, const char *key, const char *def)
{
	const char *s;

	lua_getfield(L, opts, key);
	s = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : def;	/* anchored in opts */
	lua_pop(L, 1);
	return s;
}

static void *xcalloc(size_t n, size_t size)
{
	return calloc(n == 0 ? 1 : n, size);
}


/*
 * Holds out the newest rows of some users (opts.holdout = { users =
 * { [userId] = true } (absent: every user), keep = 0.9 }): each such
 * user's rows are ordered by time, then row, the first floor(n * keep)
 * stay and the others are left out of the histories, reported in the
 * table at stack index 11 as [userId] = { relevant = { [itemId] = true },
 * last_item = <the newest item kept, or nil> }. The offline metrics'
 * split, without a Lua value per interaction.
 */
static int hold_out(lua_State *L, builder *b, int opts, const int64_t *start, entry *scratch)
{
	double keep = 0.9;
	size_t g;
	int users = 0;

	lua_getfield(L, opts, "keep");
	if (lua_type(L, -1) == LUA_TNUMBER)
		keep = lua_tonumber(L, -1);
	lua_pop(L, 1);
	if (!(keep >= 0 && keep <= 1))
		luaL_error(L, "hist_build: opts.holdout.keep must be from 0 to 1");
	lua_getfield(L, opts, "users");
	if (lua_istable(L, -1))
		users = lua_gettop(L);
	for (g = 0; g < b->users.count; g++) {
		size_t len, ilen;
		const char *id = dict_at(&b->users, g, &len), *item;
		int64_t n = b->ucount[g], n_in, q, s = start[g];

		if (n == 0)
			continue;
		if (users != 0) {
			int chosen;

			lua_pushlstring(L, id, len);
			lua_rawget(L, users);
			chosen = lua_toboolean(L, -1);
			lua_pop(L, 1);
			if (!chosen)
				continue;
		}
		for (q = 0; q < n; q++) {
			scratch[q].item = b->g_item[s + q];
			scratch[q].time = b->g_time[s + q];
			scratch[q].w = b->g_w[s + q];
			scratch[q].seq = (int32_t)q;
		}
		sort_entries(scratch, (size_t)n);
		for (q = 0; q < n; q++) {
			b->g_item[s + q] = scratch[q].item;
			b->g_time[s + q] = scratch[q].time;
			b->g_w[s + q] = scratch[q].w;
		}
		n_in = (int64_t)floor((double)n * keep + 1e-9);
		if (n_in > n)
			n_in = n;
		lua_pushlstring(L, id, len);
		lua_createtable(L, 0, 2);
		lua_newtable(L);
		for (q = n_in; q < n; q++) {
			item = dict_at(&b->items, (size_t)b->g_item[s + q], &ilen);
			lua_pushlstring(L, item, ilen);
			lua_pushboolean(L, 1);
			lua_rawset(L, -3);
		}
		lua_setfield(L, -2, "relevant");
		if (n_in > 0) {
			item = dict_at(&b->items, (size_t)b->g_item[s + n_in - 1], &ilen);
			lua_pushlstring(L, item, ilen);
			lua_setfield(L, -2, "last_item");
		}
		lua_rawset(L, 11);
		b->ucount[g] = (int32_t)n_in;
	}
	lua_pop(L, 1);
	return 0;
}

/* hist_build({ dir, ... }, opts) -> hist | nil, message */
int pz_hist_build(lua_State *L)
{
	const char *names[S_COUNT];
	int cols[S_COUNT] = { 0, 0, 0, 0, 0 }, nparts, k, pass, extra = 0;
	lua_Integer extra_n = 0;
	builder *b;
	hist_ud *u;
	part p;
	size_t n_users, n_items, uu;
	int32_t *urank = NULL, *irank = NULL, *mark = NULL, *first_of = NULL;
	int64_t placed = 0, pairs = 0, max_count = 0;
	entry *scratch_e = NULL;
	int64_t *uoff = NULL, *start = NULL;
	int holdout = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	names[S_USER] = opt_name(L, 2, "user", "USER_ID");
	names[S_ITEM] = opt_name(L, 2, "item", "ITEM_ID");
	names[S_TIME] = opt_name(L, 2, "time", "TIMESTAMP");
	names[S_TYPE] = opt_name(L, 2, "type", "EVENT_TYPE");
	names[S_VALUE] = opt_name(L, 2, "value", "EVENT_VALUE");
	nparts = (int)pz_rawlen(L, 1);
	for (k = 1; k <= nparts; k++) {
		lua_rawgeti(L, 1, k);
		if (lua_type(L, -1) != LUA_TSTRING)
			return luaL_argerror(L, 1, "a list of part directories");
		lua_pop(L, 1);
	}
	lua_getfield(L, 2, "extra");	/* index 3 */
	if (lua_istable(L, 3)) {
		extra = 3;
		lua_getfield(L, 3, "n");
		extra_n = lua_tointeger(L, -1);
		lua_pop(L, 1);
		for (k = 0; k < S_COUNT; k++) {
			lua_getfield(L, 3, names[k]);	/* indexes 4..8 */
			cols[k] = lua_istable(L, -1) ? lua_gettop(L) : 0;
		}
	} else {
		for (k = 0; k < S_COUNT; k++)
			lua_pushnil(L);
	}
	b = lua_newuserdata(L, sizeof *b);	/* index 9 */
	memset(b, 0, sizeof *b);
	luaL_getmetatable(L, BUILDER_TNAME);
	lua_setmetatable(L, -2);
	read_filters(L, 2, &b->f);
	lua_getfield(L, 2, "holdout");	/* index 10 */
	if (lua_istable(L, -1))
		holdout = 10;

	/* pass 1 counts the rows of each user; pass 2 places them, grouped by user */
	for (pass = 1; pass <= 2; pass++) {
		for (k = 1; k <= nparts + 1; k++) {
			uint64_t r, n;
			int is_extra = k > nparts;

			if (is_extra) {
				if (!extra)
					break;
				n = (uint64_t)extra_n;
			} else {
				lua_rawgeti(L, 1, k);
				if (part_open(b, &p, lua_tostring(L, -1), names) != 0) {
					lua_pop(L, 1);
					return hist_fail(L, b->err);
				}
				lua_pop(L, 1);
				n = p.s[S_USER].v.n;
			}
			for (r = 0; r < n; r++) {
				int32_t user, item;
				double t, w;
				int got = is_extra ? extra_row(L, b, cols, (lua_Integer)r + 1, &user, &item, &t, &w)
						   : part_row(b, &p, r, &user, &item, &t, &w);

				if (got < 0) {
					if (!is_extra)
						part_close(&p);
					return hist_fail(L, b->err);
				}
				if (got == 0)
					continue;
				if (pass == 1) {
					if (grow_users(b, (size_t)user + 1) != 0) {
						if (!is_extra)
							part_close(&p);
						return hist_fail(L, "not enough memory for the histories");
					}
					b->upass[user]++;
					if (w > 0)
						b->ucount[user]++;
				} else if (w > 0) {
					int64_t q = b->fill[user]++;

					b->g_item[q] = item;
					b->g_time[q] = t;
					b->g_w[q] = (float)w;
				}
			}
			if (!is_extra)
				part_close(&p);
		}
		if (pass == 1) {
			size_t total = 0, g;

			n_users = b->users.count;
			for (g = 0; g < n_users; g++)
				total += (size_t)b->ucount[g];
			free(b->fill);	/* (pass 1 runs once: for the analyzer) */
			free(b->g_item);
			free(b->g_time);
			free(b->g_w);
			b->fill = xcalloc(n_users + 1, sizeof *b->fill);
			b->g_item = xcalloc(total + 1, sizeof *b->g_item);
			b->g_time = xcalloc(total + 1, sizeof *b->g_time);
			b->g_w = xcalloc(total + 1, sizeof *b->g_w);
			if (!b->fill || !b->g_item || !b->g_time || !b->g_w) {
				builder_free(b);
				return hist_fail(L, "not enough memory for the histories");
			}
			for (g = 0; g < n_users; g++) {
				b->fill[g] = (int64_t)placed;
				placed += b->ucount[g];
				if (b->ucount[g] > max_count)
					max_count = b->ucount[g];
			}
		}
	}

	/* ranks, then each user's distinct items in rank order */
	n_users = b->users.count;
	n_items = b->items.count;
	lua_newtable(L);			/* index 11: the held-out rows */
	u = lua_newuserdata(L, sizeof *u);	/* index 12 */
	memset(u, 0, sizeof *u);
	luaL_getmetatable(L, HIST_TNAME);
	lua_setmetatable(L, -2);
	urank = xcalloc(n_users + 1, sizeof *urank);
	irank = xcalloc(n_items + 1, sizeof *irank);
	mark = malloc((n_items + 1) * sizeof *mark);
	first_of = xcalloc(n_users + 1, sizeof *first_of);
	scratch_e = xcalloc((size_t)max_count + 1, sizeof *scratch_e);
	uoff = xcalloc(n_users + 2, sizeof *uoff);
	u->distinct = xcalloc(n_items + 1, sizeof *u->distinct);
	u->total = xcalloc(n_items + 1, sizeof *u->total);
	u->first_time = xcalloc(n_items + 1, sizeof *u->first_time);
	if (!urank || !irank || !mark || !first_of || !scratch_e || !uoff || !u->distinct || !u->total ||
	    !u->first_time || sort_ids(&b->users, urank, &u->uoff, &u->ubytes) != 0 ||
	    sort_ids(&b->items, irank, &u->ioff, &u->ibytes) != 0)
		goto oom;
	for (uu = 0; uu < n_items; uu++) {
		mark[uu] = -1;
		u->first_time[uu] = HUGE_VAL;
	}
	/* where each user's rows start (b->fill now holds where they end) */
	start = xcalloc(n_users + 1, sizeof *start);
	if (start == NULL)
		goto oom;
	for (uu = 0; uu < n_users; uu++)
		start[uu] = b->fill[uu] - b->ucount[uu];
	if (holdout != 0 && hold_out(L, b, holdout, start, scratch_e) != 0)
		goto oom;
	/* distinct pairs per user (by rank), to size the final arrays */
	{
		size_t g;

		for (g = 0; g < n_users; g++) {
			int64_t q, d = 0;

			for (q = start[g]; q < start[g] + b->ucount[g]; q++) {
				int32_t it = b->g_item[q];

				if (mark[it] != (int32_t)g) {
					mark[it] = (int32_t)g;
					d++;
				}
			}
			uoff[urank[g] + 1] = d;
			first_of[urank[g]] = (int32_t)g;
			if (b->upass[g] >= b->f.active_rows)
				u->active_users++;
			u->rows += b->upass[g];
		}
		for (g = 0; g < n_users; g++)
			uoff[g + 1] += uoff[g];
		pairs = uoff[n_users];
	}
	u->off = uoff;
	uoff = NULL;
	u->item = xcalloc((size_t)pairs + 1, sizeof *u->item);
	u->weight = xcalloc((size_t)pairs + 1, sizeof *u->weight);
	u->time = xcalloc((size_t)pairs + 1, sizeof *u->time);
	if (!u->item || !u->weight || !u->time)
		goto oom;
	{
		size_t r;

		for (uu = 0; uu < n_items; uu++)
			mark[uu] = -1;
		u->t_min = HUGE_VAL;
		u->t_max = -HUGE_VAL;
		for (r = 0; r < n_users; r++) {
			size_t g = (size_t)first_of[r];
			int64_t q, d = 0, e;

			for (q = start[g]; q < start[g] + b->ucount[g]; q++) {
				int32_t it = b->g_item[q], k2 = irank[it];
				double t = b->g_time[q];

				u->total[k2]++;
				u->events++;
				if (t < u->first_time[k2])
					u->first_time[k2] = t;
				if (t < u->t_min)
					u->t_min = t;
				if (t > u->t_max)
					u->t_max = t;
				if (mark[it] < 0) {
					mark[it] = (int32_t)d;
					scratch_e[d].item = k2;
					scratch_e[d].time = t;
					scratch_e[d].w = b->g_w[q];
					scratch_e[d].seq = (int32_t)(q - start[g]);
					d++;
					u->distinct[k2]++;
				} else {
					entry *x = &scratch_e[mark[it]];

					x->w += b->g_w[q];
					if (t >= x->time) {
						x->time = t;
						x->seq = (int32_t)(q - start[g]);
					}
				}
			}
			/* reset the marks this user set */
			for (q = start[g]; q < start[g] + b->ucount[g]; q++)
				mark[b->g_item[q]] = -1;
			sort_entries(scratch_e, (size_t)d);
			for (e = 0; e < d; e++) {
				int64_t at = u->off[r] + e;

				u->item[at] = scratch_e[e].item;
				u->weight[at] = scratch_e[e].w;
				u->time[at] = scratch_e[e].time;
			}
		}
	}
	for (uu = 0; uu < n_items; uu++)
		if (u->first_time[uu] == HUGE_VAL)
			u->first_time[uu] = 0;
	if (u->events == 0)
		u->t_min = u->t_max = 0;
	u->h.n_users = (int32_t)n_users;
	u->h.n_items = (int32_t)n_items;
	u->h.off = u->off;
	u->h.item = u->item;
	u->h.weight = u->weight;
	u->h.time = u->time;
	u->built = 1;
	free(start);
	free(urank);
	free(irank);
	free(mark);
	free(first_of);
	free(scratch_e);
	builder_free(b);
	if (holdout != 0) {
		lua_pushvalue(L, 11);
		return 2;
	}
	return 1;
oom:
	free(start);
	free(urank);
	free(irank);
	free(mark);
	free(first_of);
	free(scratch_e);
	free(uoff);
	return hist_fail(L, "not enough memory for the histories");
}


static const luaL_Reg builder_meta[] = {
	{ "__gc", builder_gc },
	{ NULL, NULL }
};

static const luaL_Reg no_methods[] = {
	{ NULL, NULL }
};

void pz_open_hist_build(lua_State *L)
{
	pz_newclass(L, BUILDER_TNAME, no_methods, builder_meta);
}
