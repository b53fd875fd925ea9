/*
 * fuzz_engine_auth.c - personalize-local's SigV4 verifier
 * (lua/personalize/engine/auth.lua over the C core); the harness and its
 * invariants are in fuzz_engine_auth.lua.
 */
#define FUZZ_LUA_HARNESS "fuzz_engine_auth.lua"
#define FUZZ_LUA_WITH_CORE 1
#include "fuzz_lua.h"
