/*
 * http_transfer.c - one transfer of a personalize.http: its growable
 * buffers, the libcurl callbacks that fill them (they touch only `struct
 * http`, never Lua), the transfer's life cycle, and pushing its outcome
 * to Lua (status, headers, body | nil, code, message). See http.c for the
 * contract of the module.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "http_internal.h"

/* ---------------------------------------------------------------------
 * Buffers (pure C, never raise).
 */

/* Makes room for `extra` more bytes. Returns 0, or -1 when out of memory. */
int http_buf_reserve(struct http_buf *b, size_t extra)
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

int http_buf_append(struct http_buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (http_buf_reserve(b, n))
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void http_buf_free(struct http_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Empties `b`, giving its memory back when it grew large. */
void http_buf_trim(struct http_buf *b)
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
size_t http_on_header(char *data, size_t size, size_t n, void *ud)
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
size_t http_on_body(char *data, size_t size, size_t n, void *ud)
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
size_t http_on_read(char *buf, size_t size, size_t n, void *ud)
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
int http_on_seek(void *ud, curl_off_t offset, int origin)
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
int http_on_prereq(void *ud, char *ip, char *local_ip, int port,
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
void http_release_transfer(struct http *h, int remove_download)
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
void http_transfer_reset(struct http *h)
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
void http_transfer_end(struct http *h, CURLcode rc)
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
int http_push_outcome(lua_State *L, struct http *h)
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

