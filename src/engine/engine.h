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

#include "../compat.h"

void pz_open_sqlite(lua_State *L);	/* sqlite.c: the state database */
void pz_open_csv(lua_State *L);	/* csv_import.c: the streaming CSV reader of imports */
void pz_open_columns(lua_State *L);	/* columns.c: column files <-> Lua tables */
void pz_open_recs(lua_State *L);	/* recs.c: the neighbour kernel of the recipes */
void pz_open_hist(lua_State *L);	/* hist.c: the users' histories the recipes train on */
void pz_open_ease(lua_State *L);	/* ease.c: EASE, transitions and request-time votes */

#endif
