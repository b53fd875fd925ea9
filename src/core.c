/*
 * core.c - luaopen_personalize_core: the C half of lua-personalize.
 *
 * The core does what Lua is slow or unable to do: SHA-256 and HMAC,
 * SigV4 canonicalisation and signing, and HTTP through libcurl. Every
 * policy (defaults, endpoints, retries, validation) lives in Lua.
 */
#include "core.h"

#define PZ_CORE_VERSION "0.1.0"

int luaopen_personalize_core(lua_State *L);

int luaopen_personalize_core(lua_State *L)
{
	lua_newtable(L);
	lua_pushliteral(L, PZ_CORE_VERSION);
	lua_setfield(L, -2, "_VERSION");
	pz_open_crypto(L);
	pz_open_sigv4(L);
	pz_open_http(L);
	return 1;
}
