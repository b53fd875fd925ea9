/*
 * fuzz_engine_csv.c - personalize-local's CSV readers for dataset imports
 * (import.parse of lua/personalize/engine/import.lua, and the C one of
 * src/engine/csv_import.c that must agree with it); the harness and its
 * invariants are in fuzz_engine_csv.lua.
 */
#define FUZZ_LUA_HARNESS "fuzz_engine_csv.lua"
#define FUZZ_LUA_WITH_ENGINE_CORE
#include "fuzz_lua.h"
