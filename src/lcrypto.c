/*
 * lcrypto.c - hashing for Lua: sha256, sha256_hex, sha256_file,
 * hmac_sha256, hex, md5, md5_hex, sha1_hex.
 *
 * Thin bindings over OpenSSL; the outputs are Lua strings, so nothing
 * here owns memory across a call that can raise.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

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

#define CRYPTO_FILE_CHUNK 32768
#define CRYPTO_MAX_COUNT 9007199254740992.0	/* 2^53 */

/*
 * Hex SHA-256 of `length` bytes of `path` from `offset` (length < 0: to
 * the end). Pure C: the file is opened and closed here, never held across
 * a Lua call. Returns 0, an errno value, or -1 when the region passes the
 * end of the file.
 */
static int crypto_hash_region(const char *path, off_t offset, off_t length,
			      char hex[SIGV4_HEX_LEN])
{
	unsigned char buf[CRYPTO_FILE_CHUNK], md[SHA256_DIGEST_LENGTH];
	SHA256_CTX ctx;
	struct stat st;
	FILE *f;
	int rc = 0;

	f = fopen(path, "rb");
	if (f == NULL)
		return errno;
	if (fstat(fileno(f), &st) != 0) {
		rc = errno;
	} else if (!S_ISREG(st.st_mode)) {
		rc = EINVAL;
	} else {
		if (length < 0)
			length = offset <= st.st_size ? st.st_size - offset : 0;
		if (offset > st.st_size || length > st.st_size - offset)
			rc = -1;
		else if (offset > 0 && fseeko(f, offset, SEEK_SET) != 0)
			rc = errno;
	}
	SHA256_Init(&ctx);
	while (rc == 0 && length > 0) {
		size_t want = length > CRYPTO_FILE_CHUNK ? CRYPTO_FILE_CHUNK :
				(size_t)length;
		size_t got = fread(buf, 1, want, f);

		if (got != want) {
			rc = ferror(f) ? errno : -1;
			if (rc == 0)
				rc = EIO;
			break;
		}
		SHA256_Update(&ctx, buf, got);
		length -= (off_t)got;
	}
	SHA256_Final(md, &ctx);
	fclose(f);
	if (rc == 0)
		sigv4_hex(hex, md, sizeof md);
	return rc;
}

/* A whole number of bytes in [0, 2^53] at `idx`, or `dflt` when absent. */
static off_t crypto_opt_count(lua_State *L, int idx, off_t dflt)
{
	lua_Number v;

	if (lua_isnoneornil(L, idx))
		return dflt;
	v = luaL_checknumber(L, idx);
	luaL_argcheck(L, v >= 0 && v <= CRYPTO_MAX_COUNT &&
		      v == (lua_Number)(off_t)v, idx,
		      "a whole number of bytes in [0, 2^53] expected");
	return (off_t)v;
}

/*
 * core.sha256_file(path [, offset [, length]]) -> 64 hex digits, or nil
 * and a message. Hashes a region of a regular file (default: all of it)
 * without bringing it into Lua, for S3's X-Amz-Content-Sha256.
 */
static int crypto_sha256_file(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	off_t offset = crypto_opt_count(L, 2, 0);
	off_t length = crypto_opt_count(L, 3, -1);
	char hex[SIGV4_HEX_LEN];
	int rc = crypto_hash_region(path, offset, length, hex);

	if (rc == 0) {
		lua_pushlstring(L, hex, sizeof hex);
		return 1;
	}
	lua_pushnil(L);
	if (rc < 0)
		lua_pushfstring(L, "cannot hash '%s': offset + length passes "
				"the end of the file", path);
	else
		lua_pushfstring(L, "cannot hash '%s': %s", path, strerror(rc));
	return 2;
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

/*
 * core.md5(s) -> 16 raw bytes. MD5 is no security measure here: S3 uses
 * it for ETags and Content-MD5, so personalize-local's S3 subset must too.
 */
static int crypto_md5(lua_State *L)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(s, n, md, &len, EVP_md5(), NULL))
		return luaL_error(L, "MD5 is not available from OpenSSL");
	lua_pushlstring(L, (const char *)md, len);
	return 1;
}

/* Lower-case hex of the digest `md` of the string argument 1. */
static int digest_hex(lua_State *L, const EVP_MD *md, const char *name)
{
	size_t n;
	const char *s = luaL_checklstring(L, 1, &n);
	unsigned char digest[EVP_MAX_MD_SIZE];
	char hex[2 * EVP_MAX_MD_SIZE];
	unsigned int len = 0;

	if (!EVP_Digest(s, n, digest, &len, md, NULL))
		return luaL_error(L, "%s is not available from OpenSSL", name);
	sigv4_hex(hex, digest, len);
	lua_pushlstring(L, hex, 2 * (size_t)len);
	return 1;
}

/* core.md5_hex(s) -> 32 lower-case hex digits */
static int crypto_md5_hex(lua_State *L)
{
	return digest_hex(L, EVP_md5(), "MD5");
}

/*
 * core.sha1_hex(s) -> 40 lower-case hex digits. SHA-1 is no security
 * measure here: the SSO token cache names its files by the SHA-1 of the
 * session name or start URL (botocore's SSOTokenLoader), so we must too.
 */
static int crypto_sha1_hex(lua_State *L)
{
	return digest_hex(L, EVP_sha1(), "SHA-1");
}

static const luaL_Reg crypto_functions[] = {
	{ "sha256", crypto_sha256 },
	{ "sha256_hex", crypto_sha256_hex },
	{ "sha256_file", crypto_sha256_file },
	{ "hmac_sha256", crypto_hmac_sha256 },
	{ "hex", crypto_hex },
	{ "md5", crypto_md5 },
	{ "md5_hex", crypto_md5_hex },
	{ "sha1_hex", crypto_sha1_hex },
	{ NULL, NULL }
};

void pz_open_crypto(lua_State *L)
{
	pz_setfuncs(L, crypto_functions, 0);
}
