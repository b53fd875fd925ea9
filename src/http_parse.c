/*
 * http_parse.c - the response header-line parser (contract in http_parse.h).
 *
 * It calls neither Lua nor libcurl, so a fuzz target links this file
 * alone. Input comes straight from the network: every access is bounded
 * by the length given, and no locale-dependent <ctype.h> is used.
 */
#include <string.h>

#include "http_parse.h"

/* RFC 9110 tchar: the bytes allowed in a field name. */
static int http_is_tchar(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int http_is_ows(char c)
{
	return c == ' ' || c == '\t';
}

/* "HTTP/1.1 200 OK": the status code after the first run of spaces. */
static int http_parse_status(const char *line, size_t len)
{
	size_t i = 5;	/* past "HTTP/" */
	int code = 0, digits = 0;

	while (i < len && line[i] != ' ')
		i++;
	while (i < len && line[i] == ' ')
		i++;
	for (; i < len && digits < 3; i++, digits++) {
		if (line[i] < '0' || line[i] > '9')
			return 0;
		code = code * 10 + (line[i] - '0');
	}
	/* Exactly three digits, followed by the end or a space. */
	if (digits != 3 || (i < len && line[i] != ' '))
		return 0;
	return code;
}

/* Contract in http_parse.h. */
int http_is_token(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if (!http_is_tchar((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Contract in http_parse.h. */
enum http_line_kind http_parse_header_line(const char *line, size_t len,
					   struct http_header_line *out)
{
	size_t end = len, i, v, e;

	memset(out, 0, sizeof *out);
	if (line == NULL)
		end = 0;
	/* Drop one line terminator: LF, CRLF or a lone CR. */
	if (end > 0 && line[end - 1] == '\n') {
		end--;
		if (end > 0 && line[end - 1] == '\r')
			end--;
	} else if (end > 0 && line[end - 1] == '\r') {
		end--;
	}
	if (end == 0)
		return out->kind = HTTP_LINE_END;

	if (end >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		out->status = http_parse_status(line, end);
		return out->kind = HTTP_LINE_STATUS;
	}

	/* name ":" OWS value OWS; no space is allowed before the colon. */
	for (i = 0; i < end && http_is_tchar((unsigned char)line[i]); i++)
		;
	if (i == 0 || i == end || line[i] != ':')
		return out->kind = HTTP_LINE_INVALID;
	for (v = i + 1; v < end && http_is_ows(line[v]); v++)
		;
	for (e = end; e > v && http_is_ows(line[e - 1]); e--)
		;
	out->name = line;
	out->name_len = i;
	out->value = line + v;
	out->value_len = e - v;
	return out->kind = HTTP_LINE_FIELD;
}

int http_name_is(const char *s, size_t len, const char *lit)
{
	size_t i;

	for (i = 0; i < len; i++) {
		char a = s[i], b = lit[i];

		if (b == '\0')
			return 0;
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (b >= 'A' && b <= 'Z')
			b = (char)(b - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return lit[len] == '\0';
}
