/*
 * compat.h - the one place where Lua 5.1 (LuaJIT) and 5.4 differ for us.
 *
 * Every shim is prefixed `pz_` so it never collides with a symbol the
 * host Lua or another module defines.
 */
#ifndef PERSONALIZE_COMPAT_H
#define PERSONALIZE_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
/* Lua 5.1 / LuaJIT: no luaL_newlib, no luaL_setfuncs, no lua_rawlen. */
#define pz_rawlen(L, i) lua_objlen((L), (i))
static inline void pz_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
	luaL_checkstack(L, nup + 1, "too many upvalues");
	for (; l->name != NULL; l++) {
		int i;
		for (i = 0; i < nup; i++)
			lua_pushvalue(L, -nup);
		lua_pushcclosure(L, l->func, nup);
		lua_setfield(L, -(nup + 2), l->name);
	}
	lua_pop(L, nup);
}
static inline void *pz_testudata(lua_State *L, int i, const char *tname)
{
	void *p = lua_touserdata(L, i);
	if (p == NULL || !lua_getmetatable(L, i))
		return NULL;
	luaL_getmetatable(L, tname);
	if (!lua_rawequal(L, -1, -2))
		p = NULL;
	lua_pop(L, 2);
	return p;
}
#else
#define pz_rawlen(L, i) lua_rawlen((L), (i))
#define pz_setfuncs(L, l, nup) luaL_setfuncs((L), (l), (nup))
#define pz_testudata(L, i, t) luaL_testudata((L), (i), (t))
#endif

/* Creates a new table holding the functions of `l`. */
#define pz_newlib(L, l) (lua_newtable(L), pz_setfuncs((L), (l), 0))

/*
 * Registers metatable `tname` with `methods` as its __index and the
 * metamethods of `meta`; leaves nothing on the stack.
 */
static inline void pz_newclass(lua_State *L, const char *tname,
			       const luaL_Reg *methods, const luaL_Reg *meta)
{
	luaL_newmetatable(L, tname);
	pz_setfuncs(L, meta, 0);
	pz_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}

#endif
