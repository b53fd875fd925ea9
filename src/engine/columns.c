/*
 * columns.c - column files <-> Lua tables, for rows that live in Lua
 * (records sent one by one, the rows a data deletion keeps, recipes and
 * filters that read a dataset's columns).
 *
 *   local ok, err = ecore.columns_write(dir, data)      -- { n =, FIELD = {...} } -> files
 *   local data, err = ecore.columns_read({ dir, ... })  -- the parts, in order -> { n =, FIELD = {...} }
 *
 * The files' format, writer and mapped reader are colfile.c's (see
 * colfile.h); numbers come back as Lua integers (int64 columns) or
 * floats, as import.parse makes them, strings once per distinct value.
 * Memory is owned by userdata with __gc, so a raise never leaks it;
 * nothing is process-wide.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "colfile.h"
#include "engine.h"

#define WRITER_TNAME "personalize.engine.column_writer"
#define MSG_SIZE 8192
#define TWO_63 9223372036854775808.0

/* ------------------------------------------------------------------ */
/* Writing Lua tables as columns.                                      */

typedef struct {
	column c;
} writer;

static int writer_gc(lua_State *L)
{
	writer *w = luaL_checkudata(L, 1, WRITER_TNAME);

	column_free(&w->c);
	return 0;
}

static int is_int_value(lua_State *L, int i)
{
#if LUA_VERSION_NUM >= 503
	return lua_isinteger(L, i);
#else
	lua_Number x = lua_tonumber(L, i);

	return x == floor(x) && x >= -TWO_63 && x < TWO_63;
#endif
}

/* The kind that holds every value of the column at index t, rows 1..n. */
static int column_kind(lua_State *L, int t, lua_Integer n)
{
	int seen_string = 0, seen_bool = 0, seen_int = 0, seen_float = 0;
	lua_Integer i;

	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, t, (int)i);
		switch (lua_type(L, -1)) {
		case LUA_TNIL:
			break;
		case LUA_TSTRING:
			seen_string = 1;
			break;
		case LUA_TBOOLEAN:
			seen_bool = 1;
			break;
		case LUA_TNUMBER:
			if (is_int_value(L, -1))
				seen_int = 1;
			else
				seen_float = 1;
			break;
		default:
			lua_pop(L, 1);
			return -1;
		}
		lua_pop(L, 1);
	}
	if (seen_string + seen_bool + (seen_int || seen_float) > 1)
		return K_MIXED;
	if (seen_bool)
		return K_BOOL;
	if (seen_float)
		return seen_int ? K_MIXED : K_FLOAT64;
	if (seen_int)
		return K_INT64;
	return K_STRING;
}

/* columns_write(dir, data) -> true | nil, message */
static int columns_write(lua_State *L)
{
	const char *dir = luaL_checkstring(L, 1);
	lua_Integer n;
	char err[MSG_SIZE];

	luaL_checktype(L, 2, LUA_TTABLE);
	lua_getfield(L, 2, "n");
	n = lua_tointeger(L, -1);
	lua_pop(L, 1);
	if (n < 0 || n > INT_MAX)
		return luaL_argerror(L, 2, "data.n must be a row count");
	lua_pushnil(L);
	while (lua_next(L, 2) != 0) {
		/* key at -2, column at -1 */
		if (lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), "n") != 0) {
			const char *name = lua_tostring(L, -2);
			int t = lua_gettop(L), kind;
			writer *w;
			lua_Integer i;

			if (!col_is_name(name) || !lua_istable(L, t))
				return luaL_error(L, "columns_write: column %s is not a named table", name);
			kind = column_kind(L, t, n);
			if (kind < 0)
				return luaL_error(L, "columns_write: column %s holds a value that is not a "
						  "string, number or boolean", name);
			w = lua_newuserdata(L, sizeof *w);
			memset(w, 0, sizeof *w);
			luaL_getmetatable(L, WRITER_TNAME);
			lua_setmetatable(L, -2);
			strcpy(w->c.name, name);
			w->c.kind = kind;
			for (i = 1; i <= n; i++) {
				int fail = 0, ty;

				lua_rawgeti(L, t, (int)i);
				ty = lua_type(L, -1);
				if ((kind == K_INT64 || kind == K_FLOAT64) && ty == LUA_TNIL)
					w->c.flags |= F_VALID;
				if (kind == K_STRING) {
					int32_t code = -1;

					if (ty == LUA_TSTRING) {
						size_t len;
						const char *s = lua_tolstring(L, -1, &len);
						int64_t r = dict_intern(&w->c.d, s, len);

						fail = r < 0;
						code = (int32_t)r;
					}
					fail = fail || buf_add(&w->c.data, &code, sizeof code);
				} else if (kind == K_BOOL) {
					unsigned char b = ty == LUA_TNIL ? 2 : (unsigned char)lua_toboolean(L, -1);

					fail = buf_add(&w->c.data, &b, 1);
				} else if (kind == K_INT64) {
					int64_t x = ty == LUA_TNIL ? 0 : (int64_t)lua_tointeger(L, -1);
					unsigned char b = ty != LUA_TNIL;

					fail = buf_add(&w->c.data, &x, sizeof x) || buf_add(&w->c.valid, &b, 1);
				} else if (kind == K_FLOAT64) {
					double x = ty == LUA_TNIL ? 0 : (double)lua_tonumber(L, -1);
					unsigned char b = ty != LUA_TNIL;

					fail = buf_add(&w->c.data, &x, sizeof x) || buf_add(&w->c.valid, &b, 1);
				} else {
					unsigned char tag = TAG_NIL;
					int64_t slot = 0;

					if (ty == LUA_TSTRING) {
						size_t len;
						const char *s = lua_tolstring(L, -1, &len);

						tag = TAG_STRING;
						slot = dict_intern(&w->c.d, s, len);
						fail = slot < 0;
					} else if (ty == LUA_TBOOLEAN) {
						tag = lua_toboolean(L, -1) ? TAG_TRUE : TAG_FALSE;
					} else if (ty == LUA_TNUMBER && is_int_value(L, -1)) {
						tag = TAG_INT;
						slot = (int64_t)lua_tointeger(L, -1);
					} else if (ty == LUA_TNUMBER) {
						double x = (double)lua_tonumber(L, -1);

						tag = TAG_FLOAT;
						memcpy(&slot, &x, sizeof slot);
					}
					fail = fail || buf_add(&w->c.tags, &tag, 1) || buf_add(&w->c.data, &slot, sizeof slot);
				}
				lua_pop(L, 1);
				if (fail)
					return luaL_error(L, "out of memory");
			}
			w->c.n = (size_t)n;
			if (column_write(dir, &w->c, err, sizeof err) != 0) {
				lua_pushnil(L);
				lua_pushstring(L, err);
				return 2;
			}
			column_free(&w->c);
			lua_pop(L, 1);	/* the writer */
		}
		lua_pop(L, 1);
	}
	if (sync_dir(dir, err, sizeof err) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return 2;
	}
	lua_pushboolean(L, 1);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Reading column files back into Lua tables.                          */

#define VIEW_TNAME "personalize.engine.colview"

static int view_gc(lua_State *L)
{
	colview_close(luaL_checkudata(L, 1, VIEW_TNAME));
	return 0;
}

/*
 * Adds the column file `path` (named `name`) to the result table at
 * index `res`, its rows after `base`; returns the file's row count, or
 * -1 with nil, message pushed.
 */
static long long read_column(lua_State *L, int res, const char *path, const char *name, size_t base)
{
	colview *v = lua_newuserdata(L, sizeof *v);
	int vi = lua_gettop(L), t;
	char err[MSG_SIZE];
	uint64_t i, n;

	memset(v, 0, sizeof *v);
	luaL_getmetatable(L, VIEW_TNAME);
	lua_setmetatable(L, -2);
	if (colview_open(v, path, err, sizeof err) != 0) {
		lua_pushnil(L);
		lua_pushstring(L, err);
		return -1;
	}
	n = v->n;
	lua_getfield(L, res, name);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_createtable(L, (int)(base + n), 0);
		lua_pushvalue(L, -1);
		lua_setfield(L, res, name);
	}
	t = lua_gettop(L);
	/* the dictionary's strings, pushed once each */
	lua_createtable(L, (int)v->dcount, 0);
	for (i = 0; i < v->dcount; i++) {
		size_t len;
		const char *s = colview_dict(v, i, &len);

		lua_pushlstring(L, s, len);
		lua_rawseti(L, -2, (int)i + 1);
	}
	for (i = 0; i < n; i++) {
		int row = (int)(base + i + 1);
		int64_t x;
		double d;

		switch (v->kind) {
		case K_STRING: {
			int32_t code;

			memcpy(&code, v->data + 4 * i, 4);
			if (code < 0 || (uint64_t)code >= v->dcount)
				continue;
			lua_rawgeti(L, t + 1, code + 1);
			break;
		}
		case K_BOOL:
			if (v->data[i] > 1)
				continue;
			lua_pushboolean(L, v->data[i]);
			break;
		case K_INT64:
			if (v->valid && !v->valid[i])
				continue;
			memcpy(&x, v->data + 8 * i, 8);
			lua_pushinteger(L, (lua_Integer)x);
			break;
		case K_FLOAT64:
			if (v->valid && !v->valid[i])
				continue;
			memcpy(&d, v->data + 8 * i, 8);
			lua_pushnumber(L, (lua_Number)d);
			break;
		case K_MIXED:
			memcpy(&x, v->data + 8 * i, 8);
			switch (v->tags[i]) {
			case TAG_INT:
				lua_pushinteger(L, (lua_Integer)x);
				break;
			case TAG_FLOAT:
				memcpy(&d, v->data + 8 * i, sizeof d);
				lua_pushnumber(L, (lua_Number)d);
				break;
			case TAG_STRING:
				if (x < 0 || (uint64_t)x >= v->dcount)
					continue;
				lua_rawgeti(L, t + 1, (int)x + 1);
				break;
			case TAG_FALSE:
			case TAG_TRUE:
				lua_pushboolean(L, v->tags[i] == TAG_TRUE);
				break;
			default:
				continue;
			}
			break;
		default:
			continue;
		}
		lua_rawseti(L, t, row);
	}
	colview_close(v);
	lua_settop(L, vi - 1);
	return (long long)n;
}

/* columns_read({ dir, ... }) -> { n =, FIELD = {...} } | nil, message */
static int columns_read(lua_State *L)
{
	int nparts, k, res;
	size_t base = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	nparts = (int)pz_rawlen(L, 1);
	lua_newtable(L);
	res = lua_gettop(L);
	for (k = 1; k <= nparts; k++) {
		const char *dir;
		DIR *d;
		struct dirent *e;
		long long part_n = -1;
		char path[PATH_MAX];

		lua_rawgeti(L, 1, k);
		dir = lua_tostring(L, -1);
		if (dir == NULL)
			return luaL_argerror(L, 1, "a list of directories");
		d = opendir(dir);
		if (d == NULL) {
			lua_pushnil(L);
			lua_pushfstring(L, "cannot read %s: %s", dir, strerror(errno));
			return 2;
		}
		/* names first, so a raise while reading never leaks the DIR */
		lua_newtable(L);
		while ((e = readdir(d)) != NULL) {
			size_t len = strlen(e->d_name);

			if (len > 4 && strcmp(e->d_name + len - 4, ".col") == 0) {
				lua_pushlstring(L, e->d_name, len - 4);
				lua_rawseti(L, -2, (int)pz_rawlen(L, -2) + 1);
			}
		}
		closedir(d);
		for (int j = 1; j <= (int)pz_rawlen(L, -1); j++) {
			const char *name;
			long long got;

			lua_rawgeti(L, -1, j);
			name = lua_tostring(L, -1);
			if (snprintf(path, sizeof path, "%s/%s.col", dir, name) >= (int)sizeof path)
				return luaL_error(L, "columns_read: path too long");
			got = read_column(L, res, path, name, base);
			if (got < 0)
				return 2;
			if (part_n >= 0 && got != part_n) {
				lua_pushnil(L);
				lua_pushfstring(L, "%s: columns of different lengths", dir);
				return 2;
			}
			part_n = got;
			lua_pop(L, 1);
		}
		lua_pop(L, 2);
		if (part_n > 0)
			base += (size_t)part_n;
	}
	lua_pushinteger(L, (lua_Integer)base);
	lua_setfield(L, res, "n");
	return 1;
}

static const luaL_Reg writer_meta[] = {
	{ "__gc", writer_gc },
	{ NULL, NULL }
};

static const luaL_Reg view_meta[] = {
	{ "__gc", view_gc },
	{ NULL, NULL }
};

static const luaL_Reg no_methods[] = {
	{ NULL, NULL }
};

static const luaL_Reg column_functions[] = {
	{ "columns_write", columns_write },
	{ "columns_read", columns_read },
	{ NULL, NULL }
};

void pz_open_columns(lua_State *L)
{
	pz_newclass(L, WRITER_TNAME, no_methods, writer_meta);
	pz_newclass(L, VIEW_TNAME, no_methods, view_meta);
	pz_setfuncs(L, column_functions, 0);
}
