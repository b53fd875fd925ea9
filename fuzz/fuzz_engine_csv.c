/*
 * fuzz_engine_csv.c - personalize-local's CSV reader for dataset imports
 * (import.parse of lua/personalize/engine/import.lua); the harness and
 * its invariants are in fuzz_engine_csv.lua.
 */
#define FUZZ_LUA_HARNESS "fuzz_engine_csv.lua"
#include "fuzz_lua.h"
