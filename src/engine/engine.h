/*
 * engine.h - how the parts of personalize.engine.core register themselves.
 *
 * personalize.engine.core is the C half of personalize-local, apart from
 * the client's personalize.core so that a user of the client never loads
 * it. Each part exports one `pz_open_<part>(L)` that adds its functions to
 * the module table on top of the stack and creates its metatables. Nothing
 * here keeps process-wide mutable state.
 */
#ifndef PERSONALIZE_ENGINE_H
#define PERSONALIZE_ENGINE_H

#include <math.h>

#include "../compat.h"

void pz_open_sqlite(lua_State *L);	/* sqlite.c: the state database */
void pz_open_csv(lua_State *L);	/* csv_import.c: the streaming CSV reader of imports */
void pz_open_columns(lua_State *L);	/* columns.c: column files <-> Lua tables */
void pz_open_recs(lua_State *L);	/* recs.c: the neighbour kernel of the recipes */
void pz_open_hist(lua_State *L);	/* hist.c: the users' histories the recipes train on */
void pz_open_ease(lua_State *L);	/* ease.c: EASE, transitions and request-time votes */

/*
 * opts[name] (opts: a table's stack index, 0 for none) as a number in
 * [lo, hi], or def when absent; raises "<fn>: opts.<name> ..." otherwise.
 * The option reader of the parts' Lua bindings.
 */
static inline double pz_opt_number(lua_State *L, int opts, const char *fn, const char *name,
				   double def, double lo, double hi)
{
	double v = def;

	if (opts == 0)
		return def;
	lua_getfield(L, opts, name);
	if (!lua_isnil(L, -1)) {
		if (lua_type(L, -1) != LUA_TNUMBER)
			return luaL_error(L, "%s: opts.%s must be a number", fn, name);
		v = lua_tonumber(L, -1);
		if (!(v >= lo && v <= hi))
			return luaL_error(L, "%s: opts.%s out of range", fn, name);
	}
	lua_pop(L, 1);
	return v;
}

/* t[i] (t: a stack index) as a number; raises "<fn>: <what>[i] is not a number". */
static inline double pz_number_at(lua_State *L, const char *fn, int t, lua_Integer i, const char *what)
{
	double d;

	lua_rawgeti(L, t, (int)i);
	if (lua_type(L, -1) != LUA_TNUMBER)
		return luaL_error(L, "%s: %s[%d] is not a number", fn, what, (int)i);
	d = lua_tonumber(L, -1);
	lua_pop(L, 1);
	return d;
}

/* t[i] as an integer in [lo, hi]; raises naming fn, what and i otherwise. */
static inline lua_Integer pz_integer_at(lua_State *L, const char *fn, int t, lua_Integer i,
					lua_Integer lo, lua_Integer hi, const char *what)
{
	double d = pz_number_at(L, fn, t, i, what);

	if (!(d >= (double)lo && d <= (double)hi))
		return luaL_error(L, "%s: %s[%d] is out of range", fn, what, (int)i);
	if (d != floor(d))
		return luaL_error(L, "%s: %s[%d] is not an integer", fn, what, (int)i);
	return (lua_Integer)d;
}

#endif
