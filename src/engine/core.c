/*
 * core.c - luaopen_personalize_engine_core: the C half of personalize-local.
 */
#include "engine.h"

#if defined(__GNUC__)
#define PZ_EXPORT __attribute__((visibility("default")))
#else
#define PZ_EXPORT
#endif

PZ_EXPORT int luaopen_personalize_engine_core(lua_State *L);

PZ_EXPORT int luaopen_personalize_engine_core(lua_State *L)
{
	lua_newtable(L);
	pz_open_sqlite(L);
	pz_open_csv(L);
	pz_open_columns(L);
	pz_open_recs(L);
	pz_open_hist(L);
	pz_open_ease(L);
	return 1;
}
