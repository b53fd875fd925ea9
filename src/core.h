/*
 * core.h - how the parts of personalize.core register themselves.
 *
 * Each part exports one `pz_open_<part>(L)` that adds its functions to the
 * module table on top of the stack and creates its metatables. Nothing here
 * keeps process-wide mutable state: per-instance state lives in userdata.
 */
#ifndef PERSONALIZE_CORE_H
#define PERSONALIZE_CORE_H

#include "compat.h"

void pz_open_crypto(lua_State *L);	/* lcrypto.c: sha256, hmac, hex */
void pz_open_sigv4(lua_State *L);	/* lsigv4.c: the signer userdata */
void pz_open_http(lua_State *L);	/* http*.c: libcurl easy + multi */
void pz_open_fs(lua_State *L);		/* fs.c: atomic writes, locks, dirs */

#endif
