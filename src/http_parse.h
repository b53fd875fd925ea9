/*
 * http_parse.h - the response header-line parser of the libcurl binding
 * (http_transfer.c, its header callback).
 *
 * The functions below live in src/http_parse.c and use neither Lua nor
 * libcurl, so a fuzz target links that file alone:
 *
 *   int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
 *   {
 *           struct http_header_line out;
 *           http_parse_header_line((const char *)d, n, &out);
 *           return 0;
 *   }
 */
#ifndef PERSONALIZE_HTTP_PARSE_H
#define PERSONALIZE_HTTP_PARSE_H

#include <stddef.h>

/* What one line of a response head is. */
enum http_line_kind {
	HTTP_LINE_INVALID = 0,	/* not usable: ignore it */
	HTTP_LINE_FIELD,	/* "name: value" */
	HTTP_LINE_STATUS,	/* "HTTP/x.y NNN reason": a new response head */
	HTTP_LINE_END		/* the empty line that ends a head */
};

/*
 * The parts of one line. Pointers point into the line given to the
 * parser; nothing is copied or NUL-terminated. Fields that do not apply
 * to `kind` are NULL / 0.
 */
struct http_header_line {
	enum http_line_kind kind;
	int status;		/* STATUS: the 3-digit code, 0 if malformed */
	const char *name;	/* FIELD: the name, a non-empty RFC 9110 token */
	size_t name_len;
	const char *value;	/* FIELD: the value without surrounding SP/HTAB */
	size_t value_len;	/* (may hold any other byte, including NUL) */
};

/*
 * Classifies `len` bytes at `line` (one header line as libcurl delivers
 * it, with or without its trailing CRLF or LF) and fills `*out`.
 * Contract: reads only line[0 .. len-1]; accepts any bytes; `line` may be
 * NULL when `len` is 0; never allocates; returns out->kind. Obsolete
 * line folding (a line starting with SP or HTAB) is reported INVALID.
 */
enum http_line_kind http_parse_header_line(const char *line, size_t len,
					   struct http_header_line *out);

/*
 * True when the `len` bytes at `s` are a non-empty RFC 9110 token (the
 * syntax of a field name or a method). Same bounds contract as above.
 */
int http_is_token(const char *s, size_t len);

/*
 * True when the `len` bytes at `s` equal the NUL-ended `lit`, ignoring
 * ASCII case (field names: "Content-Length" is "content-length").
 */
int http_name_is(const char *s, size_t len, const char *lit);

#endif
