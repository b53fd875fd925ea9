/*
 * lsigv4.c - the SigV4 signer userdata, "personalize.signer".
 *
 * A signer owns reusable scratch buffers and a small cache of derived
 * signing keys, one per (secret, date, region, service), so a signature
 * costs the canonical-request hash plus one HMAC. The cache holds copies
 * of secrets: they are wiped on eviction, on close and in __gc.
 *
 * Lua view (the public API is lua/personalize/sigv4.lua):
 *   local s = core.signer()
 *   local authorization, signature, signed_headers [, creq, sts] =
 *     s:sign(method, path, query|nil, headers, payload_hash,
 *            access_key_id, secret, amz_date, region, service,
 *            normalize_path, double_encode, want_debug)
 *   headers: { Name = "value" | { "v1", "v2" } } (every header is signed)
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core.h"
#include "sigv4.h"

#define SIGNER_MT "personalize.signer"
#define KEY_CACHE_SIZE 4
#define KEY_CACHE_SECRET_MAX 128	/* longer secrets are not cached */
#define SCOPE_PART_MAX 64		/* region or service name */

struct key_entry {
	int used;
	size_t secret_len, region_len, service_len;
	char secret[KEY_CACHE_SECRET_MAX];
	char date8[8];
	char region[SCOPE_PART_MAX];
	char service[SCOPE_PART_MAX];
	struct sigv4_hmac_key key;
};

struct signer {
	int closed;
	unsigned next_victim;
	struct pz_buf creq, sts;
	struct sigv4_header *headers;
	size_t headers_cap;
	struct key_entry cache[KEY_CACHE_SIZE];
};

static struct signer *check_signer(lua_State *L)
{
	struct signer *s = luaL_checkudata(L, 1, SIGNER_MT);

	if (s->closed)
		luaL_error(L, "attempt to use a closed " SIGNER_MT);
	return s;
}

/* Wipes every secret and key, frees the buffers. Safe to call twice. */
static int signer_close(lua_State *L)
{
	struct signer *s = luaL_checkudata(L, 1, SIGNER_MT);

	if (!s->closed) {
		OPENSSL_cleanse(s->cache, sizeof s->cache);
		pz_buf_free(&s->creq);
		pz_buf_free(&s->sts);
		free(s->headers);
		s->headers = NULL;
		s->headers_cap = 0;
		s->closed = 1;
	}
	return 0;
}

static int signer_tostring(lua_State *L)
{
	struct signer *s = luaL_checkudata(L, 1, SIGNER_MT);

	if (s->closed)
		lua_pushliteral(L, SIGNER_MT " (closed)");
	else
		lua_pushfstring(L, SIGNER_MT " (%p)", (void *)s);
	return 1;
}

/* core.signer() -> a new signer */
static int signer_new(lua_State *L)
{
	struct signer *s = lua_newuserdata(L, sizeof *s);

	memset(s, 0, sizeof *s);
	luaL_getmetatable(L, SIGNER_MT);
	lua_setmetatable(L, -2);
	return 1;
}

/* Grows the header array to hold n entries; the userdata owns it. */
static void reserve_headers(lua_State *L, struct signer *s, size_t n)
{
	struct sigv4_header *h;
	size_t cap;

	if (n <= s->headers_cap)
		return;
	cap = s->headers_cap ? s->headers_cap * 2 : 16;
	while (cap < n)
		cap *= 2;
	h = realloc(s->headers, cap * sizeof *h);
	if (h == NULL) {
		luaL_error(L, "not enough memory for %d headers", (int)n);
		return;	/* not reached: luaL_error does not return */
	}
	s->headers = h;
	s->headers_cap = cap;
}

static void add_header(lua_State *L, struct signer *s, size_t *n,
		       const char *name, size_t name_len, int value_index)
{
	struct sigv4_header *h;

	if (lua_type(L, value_index) != LUA_TSTRING)
		luaL_error(L, "header '%s' must be a string or a list of strings",
			   name);
	reserve_headers(L, s, *n + 1);
	h = &s->headers[*n];
	h->name = name;
	h->name_len = name_len;
	h->value = lua_tolstring(L, value_index, &h->value_len);
	h->order = *n;
	(*n)++;
}

/*
 * Collects the headers table at `idx`. The pointers stay valid while the
 * table is on the stack: every string is referenced by it.
 */
static size_t collect_headers(lua_State *L, struct signer *s, int idx)
{
	size_t n = 0;

	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		size_t name_len;
		const char *name;

		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "header names must be strings");
		name = lua_tolstring(L, -2, &name_len);
		if (lua_type(L, -1) == LUA_TTABLE) {
			size_t i, len = pz_rawlen(L, -1);

			for (i = 1; i <= len; i++) {
				lua_rawgeti(L, -1, (int)i);
				add_header(L, s, &n, name, name_len, -1);
				lua_pop(L, 1);
			}
		} else {
			add_header(L, s, &n, name, name_len, -1);
		}
		lua_pop(L, 1);
	}
	return n;
}

/* A credential-scope part: non-empty, short, no '/', no whitespace. */
static const char *check_scope_part(lua_State *L, int idx, size_t *len)
{
	const char *p = luaL_checklstring(L, idx, len);
	size_t i;

	luaL_argcheck(L, *len > 0 && *len < SCOPE_PART_MAX, idx,
		      "must have 1 to 63 characters");
	for (i = 0; i < *len; i++)
		luaL_argcheck(L, p[i] != '/' && (unsigned char)p[i] > ' ', idx,
			      "must not contain '/' or whitespace");
	return p;
}

/* "YYYYMMDDTHHMMSSZ" */
static const char *check_amz_date(lua_State *L, int idx)
{
	size_t n, i;
	const char *d = luaL_checklstring(L, idx, &n);
	int ok = n == SIGV4_DATE_LEN && d[8] == 'T' && d[15] == 'Z';

	for (i = 0; ok && i < 15; i++)
		ok = i == 8 || (d[i] >= '0' && d[i] <= '9');
	luaL_argcheck(L, ok, idx, "expected an X-Amz-Date like 20150830T123600Z");
	return d;
}

/* The cached signing key for this scope, derived on a miss. */
static const struct sigv4_hmac_key *
signing_key(lua_State *L, struct signer *s, const char *secret,
	    size_t secret_len, const char *date8, const char *region,
	    size_t region_len, const char *service, size_t service_len,
	    struct sigv4_hmac_key *uncached)
{
	struct key_entry *e;
	int i;

	for (i = 0; i < KEY_CACHE_SIZE; i++) {
		e = &s->cache[i];
		if (e->used && e->secret_len == secret_len &&
		    e->region_len == region_len &&
		    e->service_len == service_len &&
		    memcmp(e->date8, date8, 8) == 0 &&
		    memcmp(e->region, region, region_len) == 0 &&
		    memcmp(e->service, service, service_len) == 0 &&
		    CRYPTO_memcmp(e->secret, secret, secret_len) == 0)
			return &e->key;
	}
	if (secret_len > KEY_CACHE_SECRET_MAX) {
		if (sigv4_signing_key(uncached, secret, secret_len, date8,
				      region, region_len, service, service_len))
			luaL_error(L, "not enough memory to derive a key");
		return uncached;
	}
	e = &s->cache[s->next_victim];
	s->next_victim = (s->next_victim + 1) % KEY_CACHE_SIZE;
	OPENSSL_cleanse(e, sizeof *e);
	if (sigv4_signing_key(&e->key, secret, secret_len, date8, region,
			      region_len, service, service_len))
		luaL_error(L, "not enough memory to derive a key");
	memcpy(e->secret, secret, secret_len);
	e->secret_len = secret_len;
	memcpy(e->date8, date8, 8);
	memcpy(e->region, region, region_len);
	e->region_len = region_len;
	memcpy(e->service, service, service_len);
	e->service_len = service_len;
	e->used = 1;
	return &e->key;
}

static int signer_sign(lua_State *L)
{
	struct signer *s = check_signer(L);
	struct sigv4_request req;
	struct sigv4_span sh;
	struct sigv4_hmac_key uncached;
	const struct sigv4_hmac_key *key;
	size_t akid_len, secret_len, region_len, service_len;
	const char *akid, *secret, *amz_date, *region, *service;
	char creq_hash[SIGV4_HEX_LEN], signature[SIGV4_HEX_LEN];
	unsigned char mac[SHA256_DIGEST_LENGTH];
	int want_debug, rc;
	luaL_Buffer auth;

	memset(&req, 0, sizeof req);
	req.method = luaL_checklstring(L, 2, &req.method_len);
	req.path = luaL_checklstring(L, 3, &req.path_len);
	req.query = luaL_optlstring(L, 4, NULL, &req.query_len);
	req.payload_hash = luaL_checklstring(L, 6, &req.payload_hash_len);
	akid = luaL_checklstring(L, 7, &akid_len);
	secret = luaL_checklstring(L, 8, &secret_len);
	amz_date = check_amz_date(L, 9);
	region = check_scope_part(L, 10, &region_len);
	service = check_scope_part(L, 11, &service_len);
	req.normalize_path = lua_toboolean(L, 12);
	req.double_encode = lua_toboolean(L, 13);
	want_debug = lua_toboolean(L, 14);
	req.nheaders = collect_headers(L, s, 5);
	req.headers = s->headers;

	pz_buf_reset(&s->creq);
	pz_buf_reset(&s->sts);
	rc = sigv4_canonical_request(&s->creq, &req, &sh);
	if (rc != SIGV4_OK)
		return luaL_error(L, rc == SIGV4_ETOOBIG ?
				  "request too large to sign" :
				  "not enough memory to sign");
	sigv4_sha256_hex(creq_hash, s->creq.p, s->creq.len);
	if (sigv4_string_to_sign(&s->sts, amz_date, region, region_len,
				 service, service_len, creq_hash))
		return luaL_error(L, "not enough memory to sign");

	key = signing_key(L, s, secret, secret_len, amz_date, region,
			  region_len, service, service_len, &uncached);
	sigv4_hmac(key, s->sts.p, s->sts.len, mac);
	if (key == &uncached)
		sigv4_hmac_wipe(&uncached);
	sigv4_hex(signature, mac, sizeof mac);
	OPENSSL_cleanse(mac, sizeof mac);

	/* AWS4-HMAC-SHA256 Credential=AKID/scope, SignedHeaders=..., Signature=... */
	luaL_buffinit(L, &auth);
	luaL_addstring(&auth, "AWS4-HMAC-SHA256 Credential=");
	luaL_addlstring(&auth, akid, akid_len);
	luaL_addchar(&auth, '/');
	luaL_addlstring(&auth, amz_date, 8);
	luaL_addchar(&auth, '/');
	luaL_addlstring(&auth, region, region_len);
	luaL_addchar(&auth, '/');
	luaL_addlstring(&auth, service, service_len);
	luaL_addstring(&auth, "/aws4_request, SignedHeaders=");
	luaL_addlstring(&auth, s->creq.p + sh.off, sh.len);
	luaL_addstring(&auth, ", Signature=");
	luaL_addlstring(&auth, signature, sizeof signature);
	luaL_pushresult(&auth);
	lua_pushlstring(L, signature, sizeof signature);
	lua_pushlstring(L, s->creq.p + sh.off, sh.len);
	if (!want_debug)
		return 3;
	lua_pushlstring(L, s->creq.p, s->creq.len);
	lua_pushlstring(L, s->sts.p, s->sts.len);
	return 5;
}

static const luaL_Reg signer_methods[] = {
	{ "sign", signer_sign },
	{ "close", signer_close },
	{ NULL, NULL }
};

static const luaL_Reg signer_meta[] = {
	{ "__gc", signer_close },
	{ "__tostring", signer_tostring },
	{ NULL, NULL }
};

static const luaL_Reg sigv4_functions[] = {
	{ "signer", signer_new },
	{ NULL, NULL }
};

void pz_open_sigv4(lua_State *L)
{
	pz_newclass(L, SIGNER_MT, signer_methods, signer_meta);
	pz_setfuncs(L, sigv4_functions, 0);
}
