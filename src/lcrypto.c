/*
 * lcrypto.c - hashing for Lua: sha256, sha256_hex, hmac_sha256, hex.
 *
 * Thin bindings over OpenSSL; the outputs are Lua strings, so nothing
 * here owns memory across a call that can raise.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "core.h"
#include "sigv4.h"

/* core.sha256(s) -> 32 raw bytes */
static int crypto_sha256(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char md[SHA256_DIGEST_LENGTH];

	sigv4_sha256(s, n, md);
	lua_pushlstring(L, (const char *)md, sizeof md);
	return 1;
}

/* core.sha256_hex(s) -> 64 lower-case hex digits */
static int crypto_sha256_hex(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	char hex[SIGV4_HEX_LEN];

	sigv4_sha256_hex(hex, s, n);
	lua_pushlstring(L, hex, sizeof hex);
	return 1;
}

/* core.hmac_sha256(key, msg) -> 32 raw bytes; the prepared key is wiped */
static int crypto_hmac_sha256(lua_State *L)
{
	size_t klen, mlen;
	const char *key = luaL_checklstring(L, 1, &klen);
	const char *msg = luaL_checklstring(L, 2, &mlen);
	struct sigv4_hmac_key k;
	unsigned char md[SHA256_DIGEST_LENGTH];

	sigv4_hmac_init(&k, key, klen);
	sigv4_hmac(&k, msg, mlen, md);
	sigv4_hmac_wipe(&k);
	lua_pushlstring(L, (const char *)md, sizeof md);
	OPENSSL_cleanse(md, sizeof md);
	return 1;
}

/* core.hex(s) -> lower-case hex of the bytes of s */
static int crypto_hex(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	luaL_Buffer b;
	char chunk[2 * 64];
	size_t i;

	luaL_buffinit(L, &b);
	for (i = 0; i < n; i += 64) {
		size_t m = n - i < 64 ? n - i : 64;

		sigv4_hex(chunk, (const unsigned char *)s + i, m);
		luaL_addlstring(&b, chunk, 2 * m);
	}
	luaL_pushresult(&b);
	return 1;
}

static const luaL_Reg crypto_functions[] = {
	{ "sha256", crypto_sha256 },
	{ "sha256_hex", crypto_sha256_hex },
	{ "hmac_sha256", crypto_hmac_sha256 },
	{ "hex", crypto_hex },
	{ NULL, NULL }
};

void pz_open_crypto(lua_State *L)
{
	pz_setfuncs(L, crypto_functions, 0);
}
