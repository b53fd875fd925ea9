/*
 * http.c - HTTP through libcurl: "personalize.http" and "personalize.multi".
 *
 * A personalize.http owns one libcurl easy handle, reused for every
 * request so that connections are kept alive, plus the buffers of the
 * transfer in progress. A personalize.multi drives many of them at once on
 * the calling thread. Policy (retries, which CA bundle, proxies from the
 * environment) is Lua's; this file only moves bytes and classifies errors.
 *
 * Lua view:
 *   local h = core.http{ ca_bundle=, verify=, connect_timeout=, timeout=,
 *                        proxy=, user_agent=, plain= }    -- all optional
 *   status, headers, body = h:request{ method=, url=, headers=, body=,
 *                                      body_file=, body_offset=, body_length=,
 *                                      response_file=, timeout= }
 *   nil, code, message    = h:request{...}                 -- on failure
 *   h:close()                                              -- also __gc
 *   local m = core.multi{ max_connections= }
 *   m:add(h, request, id)  -> true | nil, code, message
 *   m:perform(wait)        -> { {id=, status=, headers=, body=} |
 *                               {id=, code=, message=}, ... }
 *   m:pending(), m:close()
 *
 * Plain http:// requests with the body in memory (or none), no proxy and
 * no response_file go through http_plain.c on the handle's own kept-alive
 * socket instead of libcurl: the same bytes on the wire, the same results
 * and error codes, a fraction of the work per request. In a multi they
 * run without blocking beside libcurl's transfers (their sockets are
 * waited on by curl_multi_poll as extra descriptors). `plain = false`
 * sends everything through libcurl.
 *
 * body_file sends a regular file, or with body_offset / body_length (bytes,
 * whole numbers) only that region of it, so Content-Length is known and
 * the body never passes through Lua; response_file receives the body of
 * the response instead of memory.
 *
 * Memory contract: nothing malloc'ed is ever held only by a C local across
 * a call that can raise. Transfer state (header list, files, buffers) lives
 * in the userdata and is released by the next request, by close or by
 * __gc, whichever comes first.
 *
 * libcurl callbacks never call Lua: they only fill buffers in the userdata
 * and record why they aborted, so a transfer can run inside
 * curl_multi_perform without a Lua state at hand.
 *
 * The parts (http_internal.h): this file (the personalize.http userdata,
 * registration), http_transfer.c, http_options.c, http_multi.c.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "http_internal.h"

/* ---------------------------------------------------------------------
 * Process-wide: curl_global_init, exactly once.
 *
 * curl_global_init is not thread-safe in libcurl < 7.84, and a process may
 * run several Lua states on several threads (or load us twice), so it is
 * run under pthread_once. These two variables are the only process-wide
 * mutable state of the module; the result is written once, inside the
 * once-routine, and only read afterwards. curl_global_cleanup is never
 * called: we cannot know when the last user in the process is gone.
 */
static pthread_once_t http_global_once = PTHREAD_ONCE_INIT;
static CURLcode http_global_rc = CURLE_FAILED_INIT;

static void http_global_init(void)
{
	http_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* Raises when curl_global_init failed (nothing can be done then). */
void http_require_global(lua_State *L)
{
	if (http_global_rc != CURLE_OK)
		luaL_error(L, "curl_global_init failed: %s",
			   curl_easy_strerror(http_global_rc));
}

/* ---------------------------------------------------------------------
 * personalize.http
 */

struct http *http_check(lua_State *L, int idx)
{
	struct http *h = luaL_checkudata(L, idx, HTTP_MT);

	if (h->closed)
		luaL_error(L, "attempt to use a closed " HTTP_MT);
	return h;
}

/*
 * h:close(): aborts a transfer in a multi (it will not be reported),
 * removes an unfinished response_file, frees everything. Idempotent;
 * also __gc and __close.
 */
static int http_close(lua_State *L)
{
	struct http *h = luaL_checkudata(L, 1, HTTP_MT);
	struct multi *m = h->multi;

	if (m != NULL) {
		multi_unlink(m, h);
		if (m->ref != LUA_NOREF) {
			lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);
			if (lua_istable(L, -1))
				luaL_unref(L, -1, h->slot);
			lua_pop(L, 1);
		}
	}
	http_release_transfer(h, 1);
	if (h->easy != NULL) {
		curl_easy_cleanup(h->easy);
		h->easy = NULL;
	}
	http_buf_free(&h->head);
	http_buf_free(&h->body);
	http_buf_free(&h->scratch);
	http_buf_free(&h->req_head);
	plain_close(&h->plain);
	h->closed = 1;
	return 0;
}

static int http_tostring(lua_State *L)
{
	struct http *h = luaL_checkudata(L, 1, HTTP_MT);

	if (h->closed)
		lua_pushliteral(L, HTTP_MT " (closed)");
	else
		lua_pushfstring(L, HTTP_MT " (%p)", (void *)h);
	return 1;
}

/* Records the outcome `pr` of h's plain transfer. */
void http_plain_finish(struct http *h, enum plain_result pr)
{
	/* A refusal by a callback is told by h->failure. */
	h->plain_rc = pr == PLAIN_ABORTED && h->failure != HTTP_FAIL_NONE ?
		      PLAIN_OK : pr;
	h->status = pr == PLAIN_OK ? h->preq.status : 0;
	http_release_transfer(h, pr != PLAIN_OK);
}

/* h:request(req) -> status, headers, body | nil, code, message */
static int http_request(lua_State *L)
{
	struct http *h = http_check(L, 1);
	CURLcode rc;
	int n;

	if (h->multi != NULL)
		return luaL_error(L, "this " HTTP_MT " is busy in a " MULTI_MT
				  " transfer; wait for its completion");
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	n = http_request_prepare(L, h, 2, 1);
	if (n != 0)
		return n;
	/* The body anchor sits at index 3 for the whole transfer. */
	if (h->plain_used) {
		http_plain_finish(h, plain_perform(&h->plain, &h->preq));
		return http_push_outcome(L, h);
	}
	rc = curl_easy_perform(h->easy);
	http_transfer_end(h, rc);
	return http_push_outcome(L, h);
}

/* core.http([options]) -> a new personalize.http */
static int http_new(lua_State *L)
{
	int opts = lua_isnoneornil(L, 1) ? 0 : 1;
	struct http *h;

	if (opts != 0) {
		luaL_checktype(L, 1, LUA_TTABLE);
		http_check_keys(L, 1, http_option_keys, "http options");
	}
	http_require_global(L);
	h = lua_newuserdata(L, sizeof *h);
	memset(h, 0, sizeof *h);
	luaL_getmetatable(L, HTTP_MT);
	lua_setmetatable(L, -2);
	h->easy = curl_easy_init();
	if (h->easy == NULL)
		return luaL_error(L, "curl_easy_init failed");
	strcpy(h->host, "(no host)");
	plain_init(&h->plain);
	/* libcurl takes proxies for http:// from these: leave them to it. */
	h->plain_ok = getenv("http_proxy") == NULL && getenv("ALL_PROXY") == NULL &&
		      getenv("all_proxy") == NULL;
	http_configure(L, h, opts);
	return 1;
}

/* ---------------------------------------------------------------------
 * Registration.
 */

static const luaL_Reg http_methods[] = {
	{ "request", http_request },
	{ "close", http_close },
	{ NULL, NULL }
};

static const luaL_Reg http_meta[] = {
	{ "__gc", http_close },
	{ "__close", http_close },
	{ "__tostring", http_tostring },
	{ NULL, NULL }
};


static const luaL_Reg http_functions[] = {
	{ "http", http_new },
	{ "multi", multi_new },
	{ NULL, NULL }
};

void pz_open_http(lua_State *L)
{
	const curl_version_info_data *info;

	pthread_once(&http_global_once, http_global_init);
	pz_newclass(L, HTTP_MT, http_methods, http_meta);
	pz_newclass(L, MULTI_MT, multi_methods, multi_meta);
	pz_setfuncs(L, http_functions, 0);
	/*
	 * core.curl_version: "libcurl/7.88.1 OpenSSL/3.0.x", for diagnostics.
	 * (Not curl_version(): it initialises libldap/libsasl, which leak.)
	 */
	info = curl_version_info(CURLVERSION_NOW);
	lua_pushfstring(L, "libcurl/%s %s", info->version,
			info->ssl_version != NULL ? info->ssl_version : "(no TLS)");
	lua_setfield(L, -2, "curl_version");
}
