/*
 * http_options.c - the arguments of personalize.http: checking option
 * tables, the options a handle keeps for its whole life (http_configure),
 * and a request's preparation (http_request_prepare: method, URL, headers,
 * body string or file region, response_file, the plain http:// path).
 * Raises on misuse with the caller's message; see http.c for the contract.
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
 * Argument checking.
 */

/* Raises unless every key of the table at `t` is one of `allowed`. */
void http_check_keys(lua_State *L, int t, const char *const *allowed,
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
int http_get_field(lua_State *L, int t, const char *field, int type,
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
int http_request_prepare(lua_State *L, struct http *h, int req,
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

/* Options that stay for the handle's whole life; raises on misuse. */
void http_configure(lua_State *L, struct http *h, int opts)
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

const char *const http_option_keys[] = {
	"ca_bundle", "verify", "connect_timeout", "timeout", "proxy",
	"user_agent", "plain", NULL
};

