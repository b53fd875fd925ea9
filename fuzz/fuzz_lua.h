/*
 * fuzz_lua.h - a libFuzzer target whose harness is Lua: for the parts of
 * personalize-local written in Lua over the C core (the SigV4 verifier,
 * the CSV reader).
 *
 * The including file defines FUZZ_LUA_HARNESS (a file name in fuzz/) and,
 * when the harness needs personalize.core, FUZZ_LUA_WITH_CORE (the core's
 * sources are then linked in, built with the fuzzer's sanitizers, and
 * preloaded); FUZZ_LUA_WITH_ENGINE_CORE does the same for
 * personalize.engine.core (src/engine/). FUZZ_LUA_ROOT is the repository (check.mk passes $(CURDIR)).
 *
 * One Lua 5.4 state lives for the whole run. The harness file returns a
 * function; each input is passed to it as a string, and a full garbage
 * collection follows. A Lua error (an
 * invariant the harness assert()s, or a bug in the code under test that
 * raises where it must return) prints the traceback and abort()s, which
 * libFuzzer reports as a crash.
 */
#ifndef PERSONALIZE_FUZZ_LUA_H
#define PERSONALIZE_FUZZ_LUA_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#ifndef FUZZ_LUA_ROOT
#error "build with -DFUZZ_LUA_ROOT=\"<repository>\" (check.mk passes it)"
#endif

#ifdef FUZZ_LUA_WITH_CORE
int luaopen_personalize_core(lua_State *L);
#endif
#ifdef FUZZ_LUA_WITH_ENGINE_CORE
int luaopen_personalize_engine_core(lua_State *L);
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static lua_State *fuzz_L;
static int fuzz_fn = LUA_NOREF;

static int fuzz_traceback(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);

	luaL_traceback(L, L, msg ? msg : "(error object is not a string)", 1);
	return 1;
}

static void fuzz_fail(const char *what)
{
	fprintf(stderr, "fuzz_lua: %s: %s\n", what, lua_tostring(fuzz_L, -1));
	abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_L = luaL_newstate();
	if (!fuzz_L)
		abort();
	luaL_openlibs(fuzz_L);
#ifdef FUZZ_LUA_WITH_CORE
	luaL_getsubtable(fuzz_L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(fuzz_L, luaopen_personalize_core);
	lua_setfield(fuzz_L, -2, "personalize.core");
	lua_pop(fuzz_L, 1);
#endif
#ifdef FUZZ_LUA_WITH_ENGINE_CORE
	luaL_getsubtable(fuzz_L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
	lua_pushcfunction(fuzz_L, luaopen_personalize_engine_core);
	lua_setfield(fuzz_L, -2, "personalize.engine.core");
	lua_pop(fuzz_L, 1);
#endif
	lua_getglobal(fuzz_L, "package");
	lua_pushliteral(fuzz_L, FUZZ_LUA_ROOT "/lua/?.lua;" FUZZ_LUA_ROOT
			"/lua/?/init.lua;" FUZZ_LUA_ROOT "/fuzz/?.lua");
	lua_setfield(fuzz_L, -2, "path");
	lua_pop(fuzz_L, 1);
	lua_pushcfunction(fuzz_L, fuzz_traceback);
	if (luaL_loadfile(fuzz_L, FUZZ_LUA_ROOT "/fuzz/" FUZZ_LUA_HARNESS) != LUA_OK)
		fuzz_fail("cannot load the harness");
	if (lua_pcall(fuzz_L, 0, 1, -2) != LUA_OK)
		fuzz_fail("the harness failed to start");
	if (!lua_isfunction(fuzz_L, -1)) {
		lua_pushliteral(fuzz_L, "it must return a function");
		fuzz_fail(FUZZ_LUA_HARNESS);
	}
	fuzz_fn = luaL_ref(fuzz_L, LUA_REGISTRYINDEX);
	lua_pop(fuzz_L, 1);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int top = lua_gettop(fuzz_L);

	lua_pushcfunction(fuzz_L, fuzz_traceback);
	lua_rawgeti(fuzz_L, LUA_REGISTRYINDEX, fuzz_fn);
	lua_pushlstring(fuzz_L, (const char *)data, size);
	if (lua_pcall(fuzz_L, 1, 0, top + 1) != LUA_OK)
		fuzz_fail(FUZZ_LUA_HARNESS);
	lua_settop(fuzz_L, top);
	/*
	 * Free this input's garbage now: libFuzzer's leak detection runs
	 * LeakSanitizer after every input that made more allocations than it
	 * freed, which garbage the collector has not reached yet would do.
	 */
	lua_gc(fuzz_L, LUA_GCCOLLECT, 0);
	return 0;
}

#endif
