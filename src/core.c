/*
 * core.c - luaopen_personalize_core: the C half of lua-personalize.
 *
 * The core does what Lua is slow or unable to do: SHA-256 and HMAC,
 * SigV4 canonicalisation and signing, and HTTP through libcurl. Every
 * policy (defaults, endpoints, retries, validation) lives in Lua.
 */
#include <errno.h>
#include <time.h>

#include "core.h"

/* The version is lua/personalize/version.lua's: the Makefile (and so the
 * rock) passes it as -DPERSONALIZE_VERSION="x.y.z". */
#ifndef PERSONALIZE_VERSION
#error "build with -DPERSONALIZE_VERSION=\"x.y.z\" (the Makefile passes lua/personalize/version.lua's)"
#endif

/* The one symbol the module exports (the Makefile hides the rest). */
#if defined(__GNUC__)
#define PZ_EXPORT __attribute__((visibility("default")))
#else
#define PZ_EXPORT
#endif

PZ_EXPORT int luaopen_personalize_core(lua_State *L);

/* core.sleep(seconds): blocks the calling thread (not for OpenResty). */
static int core_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	struct timespec ts;

	luaL_argcheck(L, s >= 0 && s <= 86400, 1, "expected 0 to 86400 seconds");
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
	return 0;
}

/* core.now() -> monotonic seconds (float), for timing and deadlines */
static int core_now(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
	return 1;
}

/* core.time() -> wall-clock seconds since the epoch (float) */
static int core_time(lua_State *L)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec * 1e-9);
	return 1;
}

static const luaL_Reg core_functions[] = {
	{ "sleep", core_sleep },
	{ "now", core_now },
	{ "time", core_time },
	{ NULL, NULL }
};

PZ_EXPORT int luaopen_personalize_core(lua_State *L)
{
	pz_newlib(L, core_functions);
	lua_pushliteral(L, PERSONALIZE_VERSION);
	lua_setfield(L, -2, "_VERSION");
	pz_open_crypto(L);
	pz_open_sigv4(L);
	pz_open_http(L);
	pz_open_fs(L);
	return 1;
}
