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
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include <curl/curl.h>

#include "core.h"
#include "http_parse.h"
#include "http_plain.h"

#define HTTP_MT "personalize.http"
#define MULTI_MT "personalize.multi"

#define HTTP_DEFAULT_USER_AGENT "lua-personalize/" PERSONALIZE_VERSION
#define HTTP_DEFAULT_CONNECT_TIMEOUT_MS 10000L
#define HTTP_DEFAULT_TIMEOUT_MS 60000L
#define HTTP_MAX_SECONDS 1e6		/* upper bound of any timeout */
#define HTTP_MAX_HEAD_BYTES (1024 * 1024)	/* response header budget */
#define HTTP_KEEP_BUFFER (1024 * 1024)	/* larger buffers are not kept */
#define HTTP_HOST_MAX 256
#define HTTP_UA_MAX 256
#define HTTP_METHOD_MAX 32
#define MULTI_DEFAULT_MAX_CONNECTIONS 32L

/* Why one of our callbacks aborted a transfer (libcurl only sees "0"). */
enum http_failure {
	HTTP_FAIL_NONE = 0,
	HTTP_FAIL_OOM,		/* a response buffer could not grow */
	HTTP_FAIL_HEAD_TOO_BIG,	/* response headers over HTTP_MAX_HEAD_BYTES */
	HTTP_FAIL_WRITE_FILE,	/* response_file could not be written */
	HTTP_FAIL_READ_FILE	/* body_file could not be read */
};

/* A growable byte buffer; all-zero is a valid empty buffer. */
struct http_buf {
	char *data;
	size_t len, cap;
};

struct multi;

struct http {
	CURL *easy;			/* NULL once closed */
	int closed;
	long timeout_ms;		/* default total timeout per request */

	/* The current (or last) transfer. */
	struct curl_slist *req_headers;
	const char *upload_mem;		/* body string, anchored by the caller */
	size_t upload_len, upload_pos;
	FILE *upload_file;		/* body_file */
	curl_off_t upload_start;	/* body_offset: where the region starts */
	curl_off_t upload_size;		/* the region's length */
	curl_off_t upload_left;		/* bytes of it not yet handed to libcurl */
	FILE *download_file;		/* response_file */
	char *download_path;		/* removed if the transfer fails */
	int to_file;			/* the body went to response_file */
	int connected;			/* libcurl reached "request about to go" */
	enum http_failure failure;
	int file_errno;
	CURLcode rc;
	long status;
	struct http_buf head;		/* [name_len][value_len][name][value]... */
	struct http_buf body;
	struct http_buf scratch;	/* assembles "Name: value" lines */
	char host[HTTP_HOST_MAX];	/* host[:port] of the URL, for messages */
	char errbuf[CURL_ERROR_SIZE];

	/* The fast path (http_plain.c) for plain http:// requests. */
	struct plain_conn plain;
	int plain_ok;			/* allowed: no proxy, not turned off */
	int plain_used;			/* the current transfer goes that way */
	enum plain_result plain_rc;
	struct plain_request preq;
	struct plain_async pasync;	/* ... driven by a multi */
	enum plain_result pasync_rc;	/* PLAIN_AGAIN while in progress */
	struct http_buf req_head;	/* its request line and fields */
	char plain_host[HTTP_HOST_MAX];	/* for getaddrinfo, no brackets */
	char plain_port[8];
	char plain_authority[PLAIN_AUTHORITY_MAX];
	char user_agent[HTTP_UA_MAX];

	/* Membership of a multi: non-NULL while a transfer runs there. */
	struct multi *multi;
	struct http *prev, *next;
	int slot;			/* key of its record in the multi */
};

struct multi {
	CURLM *multi;			/* NULL once closed */
	int closed;
	int pending;			/* transfers added, not yet reported */
	int ref;			/* registry ref of the record table */
	struct http *head;		/* the handles in flight */
	struct curl_waitfd *wait;	/* the plain transfers' sockets */
	int wait_cap;
};

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

/* ---------------------------------------------------------------------
 * Buffers (pure C, never raise).
 */

/* Makes room for `extra` more bytes. Returns 0, or -1 when out of memory. */
static int http_buf_reserve(struct http_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (extra > SIZE_MAX - b->len)
		return -1;
	want = b->len + extra;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap = cap > SIZE_MAX / 2 ? want : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

static int http_buf_append(struct http_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (http_buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

static void http_buf_free(struct http_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Empties `b`, giving its memory back when it grew large. */
static void http_buf_trim(struct http_buf *b)
{
	if (b->cap > HTTP_KEEP_BUFFER)
		http_buf_free(b);
	b->len = 0;
}

/* ---------------------------------------------------------------------
 * libcurl callbacks: they touch only `struct http`, never Lua.
 */

/*
 * One response header line. A status line starts a new response head
 * (after a 1xx, for instance), so only the final response's fields are
 * kept; names are stored lower-cased.
 */
static size_t http_on_header(char *data, size_t size, size_t n, void *ud)
{
	struct http *h = ud;
	size_t len = size * n, need, i;
	struct http_header_line line;
	char *name;

	switch (http_parse_header_line(data, len, &line)) {
	case HTTP_LINE_STATUS:
		h->head.len = 0;
		break;
	case HTTP_LINE_FIELD:
		need = 2 * sizeof(size_t) + line.name_len + line.value_len;
		if (line.name_len + line.value_len > HTTP_MAX_HEAD_BYTES ||
		    need > HTTP_MAX_HEAD_BYTES - h->head.len) {
			h->failure = HTTP_FAIL_HEAD_TOO_BIG;
			return 0;
		}
		if (http_buf_reserve(&h->head, need)) {
			h->failure = HTTP_FAIL_OOM;
			return 0;
		}
		http_buf_append(&h->head, &line.name_len, sizeof(size_t));
		http_buf_append(&h->head, &line.value_len, sizeof(size_t));
		name = h->head.data + h->head.len;
		http_buf_append(&h->head, line.name, line.name_len);
		http_buf_append(&h->head, line.value, line.value_len);
		for (i = 0; i < line.name_len; i++)
			if (name[i] >= 'A' && name[i] <= 'Z')
				name[i] = (char)(name[i] - 'A' + 'a');
		break;
	default:
		break;
	}
	return len;
}

/* Response body bytes: to response_file when given, else to memory. */
static size_t http_on_body(char *data, size_t size, size_t n, void *ud)
{
	struct http *h = ud;
	size_t len = size * n;

	if (h->download_file != NULL) {
		if (len > 0 && fwrite(data, 1, len, h->download_file) != len) {
			h->failure = HTTP_FAIL_WRITE_FILE;
			h->file_errno = errno;
			return 0;
		}
		return len;
	}
	if (http_buf_append(&h->body, data, len)) {
		h->failure = HTTP_FAIL_OOM;
		return 0;
	}
	return len;
}

/* Request body bytes, from body_file or from the body string. */
static size_t http_on_read(char *buf, size_t size, size_t n, void *ud)
{
	struct http *h = ud;
	size_t room = size * n, got;

	if (h->upload_file != NULL) {
		if ((curl_off_t)room > h->upload_left)
			room = (size_t)h->upload_left;
		if (room == 0)
			return 0;
		got = fread(buf, 1, room, h->upload_file);
		if (got < room) {
			/* A short region: the file shrank under us or cannot be read. */
			h->failure = HTTP_FAIL_READ_FILE;
			h->file_errno = ferror(h->upload_file) ? errno : EIO;
			return CURL_READFUNC_ABORT;
		}
		h->upload_left -= (curl_off_t)got;
		return got;
	}
	got = h->upload_len - h->upload_pos;
	if (got > room)
		got = room;
	if (got > 0)
		memcpy(buf, h->upload_mem + h->upload_pos, got);
	h->upload_pos += got;
	return got;
}

/*
 * Rewinds the request body; libcurl needs it when it resends a request,
 * e.g. after finding that a kept-alive connection had been closed.
 */
static int http_on_seek(void *ud, curl_off_t offset, int origin)
{
	struct http *h = ud;

	if (origin != SEEK_SET || offset < 0)
		return CURL_SEEKFUNC_CANTSEEK;
	if (h->upload_file != NULL) {
		if (offset > h->upload_size ||
		    (curl_off_t)(off_t)(h->upload_start + offset) !=
		    h->upload_start + offset ||
		    fseeko(h->upload_file, (off_t)(h->upload_start + offset),
			   SEEK_SET) != 0)
			return CURL_SEEKFUNC_FAIL;
		h->upload_left = h->upload_size - offset;
		return CURL_SEEKFUNC_OK;
	}
	if ((unsigned long long)offset > h->upload_len)
		return CURL_SEEKFUNC_FAIL;
	h->upload_pos = (size_t)offset;
	return CURL_SEEKFUNC_OK;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/*
 * Called once the connection (TCP and TLS) is up, just before the request
 * is sent: a timeout after this point is a read timeout.
 */
static int http_on_prereq(void *ud, char *ip, char *local_ip, int port,
			  int local_port)
{
	struct http *h = ud;

	(void)ip;
	(void)local_ip;
	(void)port;
	(void)local_port;
	h->connected = 1;
	return CURL_PREREQFUNC_OK;
}
#endif

/* ---------------------------------------------------------------------
 * Transfer life cycle (pure C, never raise).
 */

/*
 * Releases what a transfer holds besides the reusable buffers: files,
 * the request header list, the body pointer. A response_file is removed
 * when `remove_download` is set (the transfer failed or never finished).
 */
static void http_release_transfer(struct http *h, int remove_download)
{
	if (h->upload_file != NULL) {
		fclose(h->upload_file);
		h->upload_file = NULL;
	}
	if (h->download_file != NULL) {
		fclose(h->download_file);
		h->download_file = NULL;
	}
	if (h->download_path != NULL) {
		if (remove_download)
			remove(h->download_path);
		free(h->download_path);
		h->download_path = NULL;
	}
	if (h->req_headers != NULL) {
		if (h->easy != NULL)
			curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, NULL);
		curl_slist_free_all(h->req_headers);
		h->req_headers = NULL;
	}
	if (h->upload_mem != NULL && h->easy != NULL)	/* no dangling pointer */
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS, NULL);
	h->upload_mem = NULL;
	h->upload_len = h->upload_pos = 0;
	h->upload_start = h->upload_size = h->upload_left = 0;
}

/* Forgets the previous transfer entirely: the state a new one starts from. */
static void http_transfer_reset(struct http *h)
{
	http_release_transfer(h, 1);
	http_buf_trim(&h->head);
	http_buf_trim(&h->body);
	http_buf_trim(&h->scratch);
	h->to_file = 0;
	h->connected = 0;
	h->failure = HTTP_FAIL_NONE;
	h->file_errno = 0;
	h->rc = CURLE_OK;
	h->status = 0;
	h->errbuf[0] = '\0';
	h->plain_used = 0;
	h->plain_rc = PLAIN_OK;
	http_buf_trim(&h->req_head);
}

/*
 * Records the outcome of a finished transfer (`rc` from libcurl) and
 * releases its files; a failed transfer's response_file is removed.
 */
static void http_transfer_end(struct http *h, CURLcode rc)
{
	long status = 0;

	h->rc = rc;
	if (h->download_file != NULL) {
		if (fclose(h->download_file) != 0 && h->failure == HTTP_FAIL_NONE) {
			h->failure = HTTP_FAIL_WRITE_FILE;
			h->file_errno = errno;
		}
		h->download_file = NULL;
	}
	if (rc == CURLE_OK && h->failure == HTTP_FAIL_NONE)
		curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
	h->status = status;
	http_release_transfer(h, rc != CURLE_OK || h->failure != HTTP_FAIL_NONE);
}

/* The error code of a failed transfer, one of the five of the API. */
static const char *http_error_code(const struct http *h)
{
	if (h->failure != HTTP_FAIL_NONE)
		return "HTTPClientError";
	switch (h->plain_rc) {
	case PLAIN_OK:
		break;
	case PLAIN_RESOLVE_ERROR:
	case PLAIN_CONNECT_ERROR:
		return "EndpointConnectionError";
	case PLAIN_CONNECT_TIMEOUT:
		return "ConnectTimeoutError";
	case PLAIN_READ_TIMEOUT:
		return "ReadTimeoutError";
	default:
		return "HTTPClientError";
	}
	switch (h->rc) {
	case CURLE_OPERATION_TIMEDOUT:
		return h->connected ? "ReadTimeoutError" : "ConnectTimeoutError";
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
		return "EndpointConnectionError";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_USE_SSL_FAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
#if LIBCURL_VERSION_NUM >= 0x074d00
	case CURLE_SSL_CLIENTCERT:
#endif
		return "SSLError";
	default:
		return "HTTPClientError";
	}
}

/* ---------------------------------------------------------------------
 * Pushing results (may raise only on out-of-memory).
 */

/* Pushes the table of the final response's headers. */
static void http_push_headers(lua_State *L, const struct http *h)
{
	size_t pos = 0, nlen, vlen;

	lua_newtable(L);
	while (h->head.len - pos >= 2 * sizeof(size_t)) {
		const char *name;

		memcpy(&nlen, h->head.data + pos, sizeof(size_t));
		memcpy(&vlen, h->head.data + pos + sizeof(size_t), sizeof(size_t));
		pos += 2 * sizeof(size_t);
		name = h->head.data + pos;
		pos += nlen + vlen;
		lua_pushlstring(L, name, nlen);
		lua_pushvalue(L, -1);
		lua_rawget(L, -3);
		if (lua_isnil(L, -1)) {
			lua_pop(L, 1);
			lua_pushlstring(L, name + nlen, vlen);
		} else {	/* a repeated header: "first, second" */
			lua_pushliteral(L, ", ");
			lua_pushlstring(L, name + nlen, vlen);
			lua_concat(L, 3);
		}
		lua_rawset(L, -3);
	}
}

/* Pushes the sentence explaining why a transfer failed. */
static void http_push_error_message(lua_State *L, const struct http *h)
{
	const char *what, *code = http_error_code(h);

	switch (h->failure) {
	case HTTP_FAIL_OOM:
		lua_pushfstring(L, "out of memory receiving the response from %s",
				h->host);
		return;
	case HTTP_FAIL_HEAD_TOO_BIG:
		lua_pushfstring(L, "the response headers from %s exceed %d bytes",
				h->host, (int)HTTP_MAX_HEAD_BYTES);
		return;
	case HTTP_FAIL_WRITE_FILE:
		lua_pushfstring(L, "cannot write response_file (%s) receiving from %s",
				strerror(h->file_errno), h->host);
		return;
	case HTTP_FAIL_READ_FILE:
		lua_pushfstring(L, "cannot read body_file (%s) sending to %s",
				strerror(h->file_errno), h->host);
		return;
	case HTTP_FAIL_NONE:
		break;
	}
	if (strcmp(code, "ConnectTimeoutError") == 0)
		what = "Connect timeout on endpoint";
	else if (strcmp(code, "ReadTimeoutError") == 0)
		what = "Read timeout on endpoint";
	else if (strcmp(code, "EndpointConnectionError") == 0)
		what = "Could not connect to the endpoint";
	else if (strcmp(code, "SSLError") == 0)
		what = "SSL error talking to";
	else
		what = "HTTP client error talking to";
	if (h->plain_rc != PLAIN_OK) {
		lua_pushfstring(L, "%s %s: %s", what, h->host, h->preq.message);
		return;
	}
	lua_pushfstring(L, "%s %s: %s (curl error %d)", what, h->host,
			h->errbuf[0] ? h->errbuf : curl_easy_strerror(h->rc),
			(int)h->rc);
}

/*
 * Pushes the outcome of the finished transfer: status, headers, body
 * (body is nil when it went to response_file), or nil, code, message.
 * Returns 3, the number of values pushed.
 */
static int http_push_outcome(lua_State *L, struct http *h)
{
	if (h->rc != CURLE_OK || h->failure != HTTP_FAIL_NONE ||
	    h->plain_rc != PLAIN_OK) {
		lua_pushnil(L);
		lua_pushstring(L, http_error_code(h));
		http_push_error_message(L, h);
	} else {
		lua_pushinteger(L, (lua_Integer)h->status);
		http_push_headers(L, h);
		if (h->to_file)
			lua_pushnil(L);
		else if (h->body.len == 0)
			lua_pushliteral(L, "");
		else
			lua_pushlstring(L, h->body.data, h->body.len);
	}
	http_buf_trim(&h->body);
	http_buf_trim(&h->head);
	return 3;
}

/* ---------------------------------------------------------------------
 * Argument checking.
 */

/* Raises unless every key of the table at `t` is one of `allowed`. */
static void http_check_keys(lua_State *L, int t, const char *const *allowed,
			    const char *what)
{
	const char *const *a;

	lua_pushnil(L);
	while (lua_next(L, t)) {
		const char *key;

		lua_pop(L, 1);
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "%s: unexpected non-string key", what);
		key = lua_tostring(L, -1);
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			luaL_error(L, "%s: unknown field '%s'", what, key);
	}
}

/*
 * Pushes t[field] and raises unless it is nil or of Lua type `type`.
 * Returns 1 when the field is present (not nil).
 */
static int http_get_field(lua_State *L, int t, const char *field, int type,
			  const char *what)
{
	int got;

	lua_getfield(L, t, field);
	got = lua_type(L, -1);
	if (got == LUA_TNIL)
		return 0;
	if (got != type)
		luaL_error(L, "%s: field '%s' must be a %s, not a %s", what,
			   field, lua_typename(L, type), lua_typename(L, got));
	return 1;
}

/*
 * The number of seconds at stack index `idx` as libcurl milliseconds.
 * Raises unless 0 < seconds <= HTTP_MAX_SECONDS; rounds up so that a
 * tiny positive value never becomes 0 ("no timeout" to libcurl).
 */
static long http_seconds_ms(lua_State *L, int idx, const char *field,
			    const char *what)
{
	lua_Number s = lua_tonumber(L, idx), ms;
	long r;

	if (!(s > 0 && s <= HTTP_MAX_SECONDS))
		luaL_error(L, "%s: field '%s' must be a number of seconds in "
			   "(0, 1e6]", what, field);
	ms = s * 1000;
	r = (long)ms;
	if ((lua_Number)r < ms)
		r++;
	return r;
}

/*
 * The byte count at stack index `idx` (body_offset, body_length). Raises
 * unless it is a whole number in [0, 2^53]: beyond that a double no longer
 * holds every integer, and no file region is that large.
 */
static curl_off_t http_byte_count(lua_State *L, int idx, const char *field,
				  const char *what)
{
	lua_Number v = lua_tonumber(L, idx);

	if (!(v >= 0 && v <= 9007199254740992.0) ||
	    v != (lua_Number)(curl_off_t)v)
		luaL_error(L, "%s: field '%s' must be a whole number of bytes "
			   "in [0, 2^53]", what, field);
	return (curl_off_t)v;
}

/* Copies the host[:port] part of `url`, never its userinfo, to h->host. */
static void http_url_host(struct http *h, const char *url)
{
	const char *start = strstr(url, "://"), *end, *p;
	size_t n;

	start = start != NULL ? start + 3 : url;
	end = start + strcspn(start, "/?#");
	for (p = start; p < end; p++)	/* "user:password@host" */
		if (*p == '@')
			start = p + 1;
	n = (size_t)(end - start);
	if (n >= sizeof h->host)
		n = sizeof h->host - 1;
	memcpy(h->host, start, n);
	h->host[n] = '\0';
	if (n == 0)
		strcpy(h->host, "(no host)");
}

/* Appends one header line to h->req_headers; raises when out of memory. */
static void http_add_header(lua_State *L, struct http *h, const char *line)
{
	struct curl_slist *l = curl_slist_append(h->req_headers, line);

	if (l == NULL)
		luaL_error(L, "out of memory building request headers");
	h->req_headers = l;
}

/*
 * Builds h->req_headers from the name -> value table at `t` (0: none).
 * Raises on a name that is not a token and on a value that is not a
 * string/number or holds CR, LF or NUL (header injection). libcurl's own
 * "Expect: 100-continue" and "Accept: * / *" are suppressed unless the
 * caller gives those headers, and so is the form Content-Type it adds to
 * a CURLOPT_POSTFIELDS body (`fields_body`); an empty value is sent as an
 * empty value.
 */
static void http_build_headers(lua_State *L, struct http *h, int t,
			       int fields_body, int plain)
{
	int has_accept = 0, has_expect = 0, has_type = 0;
	int has_host = 0, has_agent = 0, has_length = 0;
	size_t nlen, vlen;

	h->scratch.len = 0;
	if (t != 0) {
		lua_pushnil(L);
		while (lua_next(L, t)) {
			const char *name, *value;

			if (lua_type(L, -2) != LUA_TSTRING)
				luaL_error(L, "request: header names must be strings");
			name = lua_tolstring(L, -2, &nlen);
			if (!http_is_token(name, nlen))
				luaL_error(L, "request: invalid header name '%s'", name);
			if (lua_type(L, -1) != LUA_TSTRING &&
			    lua_type(L, -1) != LUA_TNUMBER)
				luaL_error(L, "request: the value of header '%s' must "
					   "be a string", name);
			value = lua_tolstring(L, -1, &vlen);
			if (memchr(value, '\r', vlen) || memchr(value, '\n', vlen) ||
			    memchr(value, '\0', vlen))
				luaL_error(L, "request: the value of header '%s' "
					   "contains CR, LF or NUL", name);
			has_accept |= http_name_is(name, nlen, "accept");
			has_expect |= http_name_is(name, nlen, "expect");
			has_type |= http_name_is(name, nlen, "content-type");
			if (plain) {
				/* "Name: value\r\n" lines, collected in scratch */
				has_host |= http_name_is(name, nlen, "host");
				has_agent |= http_name_is(name, nlen, "user-agent");
				has_length |= http_name_is(name, nlen, "content-length");
				if (http_buf_reserve(&h->scratch, nlen + vlen + 4))
					luaL_error(L, "out of memory building request headers");
				http_buf_append(&h->scratch, name, nlen);
				http_buf_append(&h->scratch, ": ", vlen > 0 ? 2 : 1);
				http_buf_append(&h->scratch, value, vlen);
				http_buf_append(&h->scratch, "\r\n", 2);
				lua_pop(L, 1);
				continue;
			}

			/* "Name: value", or "Name;" which libcurl sends as "Name:" */
			h->scratch.len = 0;
			if (http_buf_reserve(&h->scratch, nlen + vlen + 3))
				luaL_error(L, "out of memory building request headers");
			http_buf_append(&h->scratch, name, nlen);
			if (vlen > 0) {
				http_buf_append(&h->scratch, ": ", 2);
				http_buf_append(&h->scratch, value, vlen);
			} else {
				http_buf_append(&h->scratch, ";", 1);
			}
			h->scratch.data[h->scratch.len] = '\0';
			http_add_header(L, h, h->scratch.data);
			lua_pop(L, 1);
		}
	}
	if (plain) {
		/* As libcurl sends them: Host, User-Agent, the caller's
		 * fields, Content-Length. */
		char line[HTTP_UA_MAX + PLAIN_AUTHORITY_MAX + 32];
		int n = 0, m = 0;

		(void)has_accept;
		(void)has_expect;
		(void)has_type;
		if (!has_host)
			n += snprintf(line + n, sizeof line - (size_t)n, "Host: %s\r\n",
				      h->plain_authority);
		if (!has_agent && h->user_agent[0] != '\0')
			n += snprintf(line + n, sizeof line - (size_t)n,
				      "User-Agent: %s\r\n", h->user_agent);
		if (http_buf_append(&h->req_head, line, (size_t)n) ||
		    http_buf_append(&h->req_head, h->scratch.data, h->scratch.len))
			luaL_error(L, "out of memory building request headers");
		if (fields_body && !has_length)
			m = snprintf(line, sizeof line, "Content-Length: %lu\r\n",
				     (unsigned long)h->upload_len);
		if (http_buf_append(&h->req_head, line, (size_t)m) ||
		    http_buf_append(&h->req_head, "\r\n", 2))
			luaL_error(L, "out of memory building request headers");
		h->scratch.len = 0;
		return;
	}
	if (!has_expect)
		http_add_header(L, h, "Expect:");
	if (!has_accept)
		http_add_header(L, h, "Accept:");
	if (fields_body && !has_type)
		http_add_header(L, h, "Content-Type:");
}

/*
 * Whether `url` can take the fast path; if so fills plain_host,
 * plain_port and plain_authority and starts h->req_head with the request
 * line. Only "http://host[:port][/path][?query]" with a path of visible
 * ASCII qualifies: userinfo, odd ports or bytes libcurl would refuse or
 * rewrite are left to libcurl, which reports them as it always did.
 */
static int http_plain_start(struct http *h, const char *url,
			    const char *method, size_t method_len)
{
	const char *auth, *end, *target, *host, *host_end, *port = NULL, *p;
	size_t host_len, port_len = 0, target_len;

	if (strncmp(url, "http://", 7) != 0)
		return 0;
	auth = url + 7;
	end = auth + strcspn(auth, "/?#");
	for (p = auth; p < end; p++)
		if (*p == '@' || *p == '%' || (unsigned char)*p <= ' ' ||
		    (unsigned char)*p >= 0x7f)
			return 0;
	host = auth;
	if (*host == '[') {
		host_end = memchr(host, ']', (size_t)(end - host));
		if (host_end == NULL)
			return 0;
		host++;
		p = host_end + 1;
	} else {
		host_end = memchr(host, ':', (size_t)(end - host));
		if (host_end == NULL)
			host_end = end;
		p = host_end;
	}
	if (p < end) {
		if (*p != ':')
			return 0;
		port = p + 1;
		port_len = (size_t)(end - port);
		if (port_len == 0 || port_len > 5 || strspn(port, "0123456789") < port_len)
			return 0;
	}
	host_len = (size_t)(host_end - host);
	if (host_len == 0 || host_len >= sizeof h->plain_host ||
	    (size_t)(end - auth) >= sizeof h->plain_authority)
		return 0;
	memcpy(h->plain_host, host, host_len);
	h->plain_host[host_len] = '\0';
	if (port != NULL) {
		long n = strtol(port, NULL, 10);

		if (n < 1 || n > 65535)
			return 0;
		memcpy(h->plain_port, port, port_len);
		h->plain_port[port_len] = '\0';
	} else {
		strcpy(h->plain_port, "80");
	}
	/* The Host libcurl sends: the authority, without a default port. */
	if (port != NULL && strcmp(h->plain_port, "80") == 0)
		end = port - 1;
	memcpy(h->plain_authority, auth, (size_t)(end - auth));
	h->plain_authority[end - auth] = '\0';

	/* The request target: path and query as given, no fragment. */
	target = auth + strcspn(auth, "/?#");
	target_len = strcspn(target, "#");
	for (p = target; p < target + target_len; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	h->req_head.len = 0;
	if (http_buf_reserve(&h->req_head, method_len + target_len + 16))
		return 0;
	http_buf_append(&h->req_head, method, method_len);
	http_buf_append(&h->req_head, " ", 1);
	if (target_len == 0 || *target == '?')
		http_buf_append(&h->req_head, "/", 1);
	http_buf_append(&h->req_head, target, target_len);
	http_buf_append(&h->req_head, " HTTP/1.1\r\n", 11);
	return 1;
}

/* Raises with libcurl's text unless `rc` is CURLE_OK. */
static void http_setopt_check(lua_State *L, CURLcode rc, const char *what)
{
	if (rc != CURLE_OK)
		luaL_error(L, "cannot set %s: %s", what, curl_easy_strerror(rc));
}

/*
 * Leaves nil, "HTTPClientError", "cannot open <what> '<path>': <reason>"
 * at stack indices base+1 .. base+3, dropping everything above them (the
 * caller has at least three values above `base`; `path` stays reachable
 * until the message is built). Returns 3.
 */
static int http_local_error(lua_State *L, int base, const char *what,
			    const char *path, int err)
{
	lua_pushnil(L);
	lua_pushliteral(L, "HTTPClientError");
	lua_pushfstring(L, "cannot open %s '%s': %s", what, path, strerror(err));
	lua_replace(L, base + 3);
	lua_replace(L, base + 2);
	lua_replace(L, base + 1);
	lua_settop(L, base + 3);
	return 3;
}

static const char *const http_request_keys[] = {
	"method", "url", "headers", "body", "body_file", "response_file",
	"timeout", "body_offset", "body_length", NULL
};

/*
 * Sets h's easy handle up for the request table at `req` (a positive
 * index). Shared by h:request and m:add so both behave identically.
 *
 * Misuse raises. On success returns 0 with exactly one value pushed: the
 * body string (or nil), which the caller must keep reachable until the
 * transfer ends, since libcurl reads it in place. When a local file cannot
 * be opened it returns 3 with nil, code, message pushed instead.
 */
static int http_request_prepare(lua_State *L, struct http *h, int req,
				int allow_plain)
{
	const char *what = "request", *url, *method = "GET";
	size_t url_len, method_len = 3;
	int base = lua_gettop(L), upload, fields, is_head, err, plain;
	long timeout_ms = h->timeout_ms;
	curl_off_t size = 0, offset = 0, length = -1;
	struct stat st;
	CURLcode rc;

	http_check_keys(L, req, http_request_keys, what);
	http_transfer_reset(h);

	/* 1. Validate every field; nothing is opened yet, so raising is fine. */
	if (!http_get_field(L, req, "url", LUA_TSTRING, what))	/* base+1 */
		luaL_error(L, "request: field 'url' is required");
	url = lua_tolstring(L, base + 1, &url_len);
	if (strlen(url) != url_len)
		luaL_error(L, "request: field 'url' contains a NUL byte");
	if (http_get_field(L, req, "method", LUA_TSTRING, what))	/* +2 */
		method = lua_tolstring(L, base + 2, &method_len);
	if (!http_is_token(method, method_len) || method_len > HTTP_METHOD_MAX)
		luaL_error(L, "request: invalid method '%s'", method);
	http_get_field(L, req, "headers", LUA_TTABLE, what);	/* +3 */
	http_get_field(L, req, "body", LUA_TSTRING, what);	/* +4 */
	http_get_field(L, req, "body_file", LUA_TSTRING, what);	/* +5 */
	http_get_field(L, req, "response_file", LUA_TSTRING, what); /* +6 */
	if (http_get_field(L, req, "timeout", LUA_TNUMBER, what))	/* +7 */
		timeout_ms = http_seconds_ms(L, base + 7, "timeout", what);
	if (http_get_field(L, req, "body_offset", LUA_TNUMBER, what))	/* +8 */
		offset = http_byte_count(L, base + 8, "body_offset", what);
	if (http_get_field(L, req, "body_length", LUA_TNUMBER, what))	/* +9 */
		length = http_byte_count(L, base + 9, "body_length", what);
	if (!lua_isnil(L, base + 4) && !lua_isnil(L, base + 5))
		luaL_error(L, "request: give 'body' or 'body_file', not both");
	if (lua_isnil(L, base + 5) &&
	    (!lua_isnil(L, base + 8) || !lua_isnil(L, base + 9)))
		luaL_error(L, "request: 'body_offset' and 'body_length' need "
			   "'body_file'");
	is_head = strcmp(method, "HEAD") == 0;
	if (is_head && (!lua_isnil(L, base + 4) || !lua_isnil(L, base + 5)))
		luaL_error(L, "request: a HEAD request cannot have a body");
	upload = !lua_isnil(L, base + 4) || !lua_isnil(L, base + 5) ||
		 strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
		 strcmp(method, "PATCH") == 0;
	/* A body in memory (or none) goes out as CURLOPT_POSTFIELDS. */
	fields = upload && lua_isnil(L, base + 5);
	plain = allow_plain && h->plain_ok && lua_isnil(L, base + 5) &&
		lua_isnil(L, base + 6) &&
		http_plain_start(h, url, method, method_len);
	/* The body string (its length goes into the fast path's head). */
	if (!lua_isnil(L, base + 4))
		h->upload_mem = lua_tolstring(L, base + 4, &h->upload_len);
	http_build_headers(L, h, lua_isnil(L, base + 3) ? 0 : base + 3, fields,
			   plain);
	if (!lua_isnil(L, base + 6)) {
		h->download_path = strdup(lua_tostring(L, base + 6));
		if (h->download_path == NULL)
			luaL_error(L, "out of memory");
	}
	http_url_host(h, url);

	/* 2. Open the files: failures here are returned, not raised. */
	if (h->upload_mem != NULL) {
		size = (curl_off_t)h->upload_len;
	} else if (!lua_isnil(L, base + 5)) {
		const char *path = lua_tostring(L, base + 5);

		h->upload_file = fopen(path, "rb");
		if (h->upload_file == NULL) {
			err = errno;
			http_release_transfer(h, 0);
			return http_local_error(L, base, "body_file", path, err);
		}
		err = fstat(fileno(h->upload_file), &st) != 0 ? errno :
		      !S_ISREG(st.st_mode) ? EINVAL : 0;
		if (err != 0) {
			http_release_transfer(h, 0);
			return http_local_error(L, base, "body_file (a regular file)",
						path, err);
		}
		size = (curl_off_t)st.st_size;
		/* The region [offset, offset + length): by default to the end. */
		if (length < 0)
			length = offset <= size ? size - offset : 0;
		if (offset > size || length > size - offset) {
			http_release_transfer(h, 0);
			return http_local_error(L, base, "body_file (the region "
						"body_offset + body_length passes "
						"its end)", path, EINVAL);
		}
		if (offset > 0 && fseeko(h->upload_file, (off_t)offset,
					 SEEK_SET) != 0) {
			err = errno;
			http_release_transfer(h, 0);
			return http_local_error(L, base, "body_file", path, err);
		}
		h->upload_start = offset;
		h->upload_size = h->upload_left = size = length;
	}
	if (h->download_path != NULL) {
		h->download_file = fopen(h->download_path, "wb");
		if (h->download_file == NULL) {
			err = errno;
			http_local_error(L, base, "response_file",
					 h->download_path, err);
			http_release_transfer(h, 0);
			return 3;
		}
		h->to_file = 1;
	}

	/* 3. The fast path needs nothing from libcurl. */
	if (plain) {
		struct plain_request *r = &h->preq;

		h->plain_used = 1;
		r->host = h->plain_host;
		r->port = h->plain_port;
		r->authority = h->plain_authority;
		r->head = h->req_head.data;
		r->head_len = h->req_head.len;
		r->body = h->upload_mem;
		r->body_len = h->upload_len;
		r->head_only = is_head;
		r->timeout_ms = timeout_ms;
		r->on_header = http_on_header;
		r->on_body = http_on_body;
		r->ud = h;
		lua_pushvalue(L, base + 4);
		lua_replace(L, base + 1);
		lua_settop(L, base + 1);
		return 0;
	}

	/* 3. Per-request options: every one is set on every request. */
	rc = curl_easy_setopt(h->easy, CURLOPT_URL, url);
	http_setopt_check(L, rc, "url");
	curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->req_headers);
	curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(h->easy, CURLOPT_HTTPGET, 1L);	/* clears UPLOAD, NOBODY */
	if (is_head) {
		curl_easy_setopt(h->easy, CURLOPT_NOBODY, 1L);
	} else if (fields) {
		/*
		 * A body in memory is handed to libcurl whole: it goes out in
		 * the same send() as the head (with the read callback the head
		 * and body were two writes, hence two segments and two wake-ups
		 * of the peer per request). Content-Length is always sent, 0
		 * for an empty POST/PUT/PATCH.
		 */
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
		curl_easy_setopt(h->easy, CURLOPT_POSTFIELDS,
				 h->upload_mem != NULL ? h->upload_mem : "");
		if (strcmp(method, "POST") != 0)
			rc = curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, method);
	} else if (upload) {
		/* A body_file region: read by http_on_read. */
		curl_easy_setopt(h->easy, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(h->easy, CURLOPT_INFILESIZE_LARGE, size);
		if (strcmp(method, "PUT") != 0)
			rc = curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, method);
	} else if (strcmp(method, "GET") != 0) {
		rc = curl_easy_setopt(h->easy, CURLOPT_CUSTOMREQUEST, method);
	}
	http_setopt_check(L, rc, "method");

	/* Leave only the body anchor on the stack. */
	lua_pushvalue(L, base + 4);
	lua_replace(L, base + 1);
	lua_settop(L, base + 1);
	return 0;
}

/* ---------------------------------------------------------------------
 * personalize.http
 */

static struct http *http_check(lua_State *L, int idx)
{
	struct http *h = luaL_checkudata(L, idx, HTTP_MT);

	if (h->closed)
		luaL_error(L, "attempt to use a closed " HTTP_MT);
	return h;
}

/* Takes `h` out of its multi (pure C); the caller drops its record. */
static void multi_unlink(struct multi *m, struct http *h)
{
	if (h->plain_used)
		plain_abandon(&h->plain, &h->pasync);	/* no-op once done */
	else
		curl_multi_remove_handle(m->multi, h->easy);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		m->head = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->multi = NULL;
	m->pending--;
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
static void plain_finish(struct http *h, enum plain_result pr)
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
		plain_finish(h, plain_perform(&h->plain, &h->preq));
		return http_push_outcome(L, h);
	}
	rc = curl_easy_perform(h->easy);
	http_transfer_end(h, rc);
	return http_push_outcome(L, h);
}

/* Options that stay for the handle's whole life; raises on misuse. */
static void http_configure(lua_State *L, struct http *h, int opts)
{
	const char *what = "http options";
	long connect_ms = HTTP_DEFAULT_CONNECT_TIMEOUT_MS;
	const char *ua = HTTP_DEFAULT_USER_AGENT;
	CURL *e = h->easy;
	CURLcode rc;

	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)h);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, h->errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* The signed path must go out as signed: no "/./" or "/../" folding. */
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS,
			      (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	http_setopt_check(L, rc, "protocols");
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, (void *)h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, (void *)h);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, http_on_read);
	curl_easy_setopt(e, CURLOPT_READDATA, (void *)h);
	curl_easy_setopt(e, CURLOPT_SEEKFUNCTION, http_on_seek);
	curl_easy_setopt(e, CURLOPT_SEEKDATA, (void *)h);
#if LIBCURL_VERSION_NUM >= 0x075000
	curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, http_on_prereq);
	curl_easy_setopt(e, CURLOPT_PREREQDATA, (void *)h);
#endif
	h->timeout_ms = HTTP_DEFAULT_TIMEOUT_MS;
	if (opts != 0) {
		if (http_get_field(L, opts, "ca_bundle", LUA_TSTRING, what)) {
			/* Only this bundle: the system's CA directory is off too. */
			rc = curl_easy_setopt(e, CURLOPT_CAINFO, lua_tostring(L, -1));
			http_setopt_check(L, rc, "ca_bundle");
			curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
		}
		lua_pop(L, 1);
		if (http_get_field(L, opts, "verify", LUA_TBOOLEAN, what) &&
		    !lua_toboolean(L, -1)) {
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		lua_pop(L, 1);
		if (http_get_field(L, opts, "connect_timeout", LUA_TNUMBER, what))
			connect_ms = http_seconds_ms(L, -1, "connect_timeout", what);
		lua_pop(L, 1);
		if (http_get_field(L, opts, "timeout", LUA_TNUMBER, what))
			h->timeout_ms = http_seconds_ms(L, -1, "timeout", what);
		lua_pop(L, 1);
		if (http_get_field(L, opts, "proxy", LUA_TSTRING, what)) {
			rc = curl_easy_setopt(e, CURLOPT_PROXY, lua_tostring(L, -1));
			http_setopt_check(L, rc, "proxy");
			h->plain_ok = 0;
		}
		lua_pop(L, 1);
		if (http_get_field(L, opts, "user_agent", LUA_TSTRING, what)) {
			size_t len;
			const char *s = lua_tolstring(L, -1, &len);

			rc = curl_easy_setopt(e, CURLOPT_USERAGENT, s);
			http_setopt_check(L, rc, "user_agent");
			if (len >= sizeof h->user_agent || strlen(s) != len ||
			    strpbrk(s, "\r\n") != NULL)
				h->plain_ok = 0;
			else
				memcpy(h->user_agent, s, len + 1);
			ua = NULL;
		}
		lua_pop(L, 1);
		if (http_get_field(L, opts, "plain", LUA_TBOOLEAN, what) &&
		    !lua_toboolean(L, -1))
			h->plain_ok = 0;
		lua_pop(L, 1);
	}
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	h->preq.connect_ms = connect_ms;
	if (ua != NULL) {
		rc = curl_easy_setopt(e, CURLOPT_USERAGENT, ua);
		http_setopt_check(L, rc, "user_agent");
		strcpy(h->user_agent, ua);
	}
}

static const char *const http_option_keys[] = {
	"ca_bundle", "verify", "connect_timeout", "timeout", "proxy",
	"user_agent", "plain", NULL
};

/* core.http([options]) -> a new personalize.http */
static int http_new(lua_State *L)
{
	int opts = lua_isnoneornil(L, 1) ? 0 : 1;
	struct http *h;

	if (opts != 0) {
		luaL_checktype(L, 1, LUA_TTABLE);
		http_check_keys(L, 1, http_option_keys, "http options");
	}
	if (http_global_rc != CURLE_OK)
		return luaL_error(L, "curl_global_init failed: %s",
				  curl_easy_strerror(http_global_rc));
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
 * personalize.multi
 *
 * A record per transfer in flight, { http userdata, id, body anchor },
 * lives in a table referenced from the registry (m->ref) under the key
 * h->slot: it keeps the handle and its body string alive while libcurl
 * uses them, and gives back the caller's id on completion.
 */

static struct multi *multi_check(lua_State *L, int idx)
{
	struct multi *m = luaL_checkudata(L, idx, MULTI_MT);

	if (m->closed)
		luaL_error(L, "attempt to use a closed " MULTI_MT);
	return m;
}

/*
 * m:close(): aborts every transfer in flight (they are not reported) and
 * leaves their http handles usable. Idempotent; also __gc and __close.
 */
static int multi_close(lua_State *L)
{
	struct multi *m = luaL_checkudata(L, 1, MULTI_MT);
	struct http *h;

	while ((h = m->head) != NULL) {
		multi_unlink(m, h);
		http_release_transfer(h, 1);
	}
	if (m->multi != NULL) {
		curl_multi_cleanup(m->multi);
		m->multi = NULL;
	}
	if (m->ref != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, m->ref);
		m->ref = LUA_NOREF;
	}
	free(m->wait);
	m->wait = NULL;
	m->wait_cap = 0;
	m->closed = 1;
	return 0;
}

static int multi_tostring(lua_State *L)
{
	struct multi *m = luaL_checkudata(L, 1, MULTI_MT);

	if (m->closed)
		lua_pushliteral(L, MULTI_MT " (closed)");
	else
		lua_pushfstring(L, MULTI_MT " (%p)", (void *)m);
	return 1;
}

/* m:add(h, request, id) -> true | nil, code, message */
static int multi_add(lua_State *L)
{
	struct multi *m = multi_check(L, 1);
	struct http *h = http_check(L, 2);
	CURLMcode mc;
	int n, slot;

	if (h->multi != NULL)
		return luaL_error(L, "this " HTTP_MT " is already busy in a "
				  MULTI_MT " transfer");
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_settop(L, 4);
	n = http_request_prepare(L, h, 3, 1);	/* pushes the body anchor: 5 */
	if (n != 0)
		return n;
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);	/* 6: records */
	lua_createtable(L, 3, 0);			/* 7: this record */
	lua_pushvalue(L, 2);
	lua_rawseti(L, 7, 1);
	lua_pushvalue(L, 4);
	lua_rawseti(L, 7, 2);
	lua_pushvalue(L, 5);
	lua_rawseti(L, 7, 3);
	slot = luaL_ref(L, 6);
	/* Nothing below raises before the handle is fully registered. */
	if (h->plain_used) {
		h->pasync_rc = plain_start(&h->plain, &h->preq, &h->pasync);
		mc = CURLM_OK;
	} else {
		mc = curl_multi_add_handle(m->multi, h->easy);
	}
	if (mc != CURLM_OK) {
		luaL_unref(L, 6, slot);
		http_release_transfer(h, 1);
		return luaL_error(L, "curl_multi_add_handle: %s",
				  curl_multi_strerror(mc));
	}
	h->slot = slot;
	h->multi = m;
	h->prev = NULL;
	h->next = m->head;
	if (m->head != NULL)
		m->head->prev = h;
	m->head = h;
	m->pending++;
	lua_pushboolean(L, 1);
	return 1;
}

/* Appends the outcome of h's ended transfer to `results` (n so far). */
static int multi_report(lua_State *L, struct http *h, int results,
			int records, int n)
{
	lua_rawgeti(L, records, h->slot);	/* record (anchors h) */
	luaL_unref(L, records, h->slot);
	lua_createtable(L, 0, 4);
	lua_rawgeti(L, -2, 2);
	lua_setfield(L, -2, "id");
	http_push_outcome(L, h);
	if (lua_isnil(L, -3)) {
		lua_setfield(L, -4, "message");
		lua_setfield(L, -3, "code");
		lua_pop(L, 1);
	} else {
		lua_setfield(L, -4, "body");
		lua_setfield(L, -3, "headers");
		lua_setfield(L, -2, "status");
	}
	lua_rawseti(L, results, ++n);
	lua_pop(L, 1);	/* the record */
	return n;
}

/*
 * Appends a result table for every finished transfer to the array at
 * `results`, starting after index `n`; `records` is the record table.
 * Returns the new length of the array.
 */
static int multi_collect(lua_State *L, struct multi *m, int results,
			 int records, int n)
{
	CURLMsg *msg;
	struct http *h, *next;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* `msg` is invalid once the handle is removed: copied above. */
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		h = (struct http *)(void *)priv;
		multi_unlink(m, h);
		http_transfer_end(h, rc);
		n = multi_report(L, h, results, records, n);
	}
	/* The plain transfers that have ended. */
	for (h = m->head; h != NULL; h = next) {
		next = h->next;
		if (!h->plain_used || h->pasync_rc == PLAIN_AGAIN)
			continue;
		multi_unlink(m, h);
		plain_finish(h, h->pasync_rc);
		n = multi_report(L, h, results, records, n);
	}
	return n;
}

/* Monotonic seconds. */
static double multi_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Lists the sockets of the plain transfers in flight in m->wait and
 * shortens *left (seconds) to the earliest of their deadlines. Returns
 * their number, or -1 when out of memory.
 */
static int multi_plain_waits(struct multi *m, double *left)
{
	long long now = plain_now_ms();
	struct http *h;
	int n = 0;

	for (h = m->head; h != NULL; h = h->next) {
		long long wake;

		if (!h->plain_used || h->pasync_rc != PLAIN_AGAIN)
			continue;
		if (n == m->wait_cap) {
			int cap = m->wait_cap ? m->wait_cap * 2 : 32;
			struct curl_waitfd *w = realloc(m->wait, (size_t)cap * sizeof *w);

			if (w == NULL)
				return -1;
			m->wait = w;
			m->wait_cap = cap;
		}
		m->wait[n].fd = h->pasync.fd;
		m->wait[n].events = h->pasync.events == POLLOUT ? CURL_WAIT_POLLOUT :
				    CURL_WAIT_POLLIN;
		m->wait[n].revents = 0;
		n++;
		wake = plain_wake(&h->pasync);
		if ((double)(wake - now) / 1000 < *left)
			*left = wake > now ? (double)(wake - now) / 1000 : 0;
	}
	return n;
}

/* Moves on the plain transfers whose sockets are ready or whose time is up
 * (m->wait lists the first `nwait` of them, in list order). */
static void multi_plain_step(struct multi *m, int nwait)
{
	struct http *h;
	int i = 0;

	for (h = m->head; h != NULL && i < nwait; h = h->next) {
		if (!h->plain_used || h->pasync_rc != PLAIN_AGAIN)
			continue;
		if (m->wait[i].revents != 0)
			h->pasync_rc = plain_resume(&h->plain, &h->preq, &h->pasync);
		if (h->pasync_rc == PLAIN_AGAIN)
			h->pasync_rc = plain_expire(&h->plain, &h->preq, &h->pasync);
		i++;
	}
}

/*
 * m:perform([wait = 1]) -> array of completions. Drives every transfer;
 * when none has finished yet, waits for socket activity and drives them
 * again, until one finishes or `wait` seconds have passed. Returns an
 * empty array when nothing finished in time (or nothing is pending).
 */
static int multi_perform(lua_State *L)
{
	struct multi *m = multi_check(L, 1);
	lua_Number wait = luaL_optnumber(L, 2, 1.0);
	double deadline;
	CURLMcode mc;
	int running, n = 0;

	luaL_argcheck(L, wait >= 0 && wait <= HTTP_MAX_SECONDS, 2,
		      "wait must be a number of seconds in [0, 1e6]");
	deadline = multi_now() + wait;
	lua_settop(L, 2);
	lua_newtable(L);				/* 3: results */
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);	/* 4: records */
	for (;;) {
		int nwait;
		double left;

		mc = curl_multi_perform(m->multi, &running);
		if (mc != CURLM_OK)
			return luaL_error(L, "curl_multi_perform: %s",
					  curl_multi_strerror(mc));
		n = multi_collect(L, m, 3, 4, n);
		if (n > 0 || m->pending == 0)
			break;
		left = deadline - multi_now();
		if (left <= 0)
			break;
		nwait = multi_plain_waits(m, &left);
		if (nwait < 0)
			return luaL_error(L, "out of memory waiting on sockets");
		mc = curl_multi_poll(m->multi, m->wait, (unsigned int)nwait,
				     left * 1000 > INT_MAX ? INT_MAX :
				     (int)(left * 1000) + 1, NULL);
		if (mc != CURLM_OK)
			return luaL_error(L, "curl_multi_poll: %s",
					  curl_multi_strerror(mc));
		multi_plain_step(m, nwait);
	}
	lua_settop(L, 3);
	return 1;
}

/* m:pending() -> number of transfers added and not yet reported */
static int multi_pending(lua_State *L)
{
	struct multi *m = multi_check(L, 1);

	lua_pushinteger(L, m->pending);
	return 1;
}

static const char *const multi_option_keys[] = { "max_connections", NULL };

/* core.multi([options]) -> a new personalize.multi */
static int multi_new(lua_State *L)
{
	int opts = lua_isnoneornil(L, 1) ? 0 : 1;
	long max_conn = MULTI_DEFAULT_MAX_CONNECTIONS;
	struct multi *m;

	if (opts != 0) {
		luaL_checktype(L, 1, LUA_TTABLE);
		http_check_keys(L, 1, multi_option_keys, "multi options");
		if (http_get_field(L, 1, "max_connections", LUA_TNUMBER,
				   "multi options")) {
			lua_Number v = lua_tonumber(L, -1);

			if (!(v >= 0 && v <= 65536) || v != (lua_Number)(long)v)
				luaL_error(L, "multi options: field 'max_connections' "
					   "must be an integer in [0, 65536]");
			max_conn = (long)v;
		}
		lua_pop(L, 1);
	}
	if (http_global_rc != CURLE_OK)
		return luaL_error(L, "curl_global_init failed: %s",
				  curl_easy_strerror(http_global_rc));
	m = lua_newuserdata(L, sizeof *m);
	memset(m, 0, sizeof *m);
	m->ref = LUA_NOREF;	/* before anything can raise: __gc reads it */
	luaL_getmetatable(L, MULTI_MT);
	lua_setmetatable(L, -2);
	lua_newtable(L);
	m->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	m->multi = curl_multi_init();
	if (m->multi == NULL)
		return luaL_error(L, "curl_multi_init failed");
	curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_conn);
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

static const luaL_Reg multi_methods[] = {
	{ "add", multi_add },
	{ "perform", multi_perform },
	{ "pending", multi_pending },
	{ "close", multi_close },
	{ NULL, NULL }
};

static const luaL_Reg multi_meta[] = {
	{ "__gc", multi_close },
	{ "__close", multi_close },
	{ "__tostring", multi_tostring },
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
