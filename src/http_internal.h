/*
 * http_internal.h - what the parts of the libcurl binding share
 * ("personalize.http" and "personalize.multi"; the contract is in http.c).
 *
 *   http.c            the personalize.http userdata, registration, the
 *                     process-wide curl_global_init
 *   http_transfer.c   buffers, libcurl callbacks, a transfer's life cycle,
 *                     pushing its outcome (pure C but the last)
 *   http_options.c    argument checking, a handle's options, a request's
 *                     preparation (headers, body, files, the plain path)
 *   http_multi.c      personalize.multi
 *
 * Not a public header: only these files include it.
 */
#ifndef PERSONALIZE_HTTP_INTERNAL_H
#define PERSONALIZE_HTTP_INTERNAL_H

#include <stddef.h>

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

/* http.c */
struct http *http_check(lua_State *L, int idx);
void http_plain_finish(struct http *h, enum plain_result pr);
void http_require_global(lua_State *L);

/* http_transfer.c: buffers (0, or -1 when out of memory) */
int http_buf_reserve(struct http_buf *b, size_t extra);
int http_buf_append(struct http_buf *b, const void *p, size_t n);
void http_buf_free(struct http_buf *b);
void http_buf_trim(struct http_buf *b);
/* http_transfer.c: libcurl callbacks, the transfer life cycle, results */
size_t http_on_header(char *data, size_t size, size_t n, void *ud);
size_t http_on_body(char *data, size_t size, size_t n, void *ud);
size_t http_on_read(char *buf, size_t size, size_t n, void *ud);
int http_on_seek(void *ud, curl_off_t offset, int origin);
#if LIBCURL_VERSION_NUM >= 0x075000
int http_on_prereq(void *ud, char *ip, char *local_ip, int port,
		   int local_port);
#endif
void http_release_transfer(struct http *h, int remove_download);
void http_transfer_reset(struct http *h);
void http_transfer_end(struct http *h, CURLcode rc);
int http_push_outcome(lua_State *L, struct http *h);

/* http_options.c */
extern const char *const http_option_keys[];
void http_check_keys(lua_State *L, int t, const char *const *allowed,
		     const char *what);
int http_get_field(lua_State *L, int t, const char *field, int type,
		   const char *what);
void http_configure(lua_State *L, struct http *h, int opts);
int http_request_prepare(lua_State *L, struct http *h, int req,
			 int allow_plain);

/* http_multi.c */
extern const luaL_Reg multi_methods[], multi_meta[];
void multi_unlink(struct multi *m, struct http *h);
int multi_new(lua_State *L);

#endif
