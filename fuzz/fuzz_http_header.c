/*
 * fuzz_http_header.c - http_parse_header_line and http_is_token.
 *
 * Input: one response header line as libcurl hands it to the header
 * callback (any bytes; usually ending in CRLF).
 *
 * Invariants, from the contract in src/http_parse.h:
 *   - reads only line[0 .. len-1] (ASan: the input is an exact heap block);
 *   - returns out->kind; fields that do not apply are NULL / 0;
 *   - END exactly when the line is empty after one CRLF / LF / CR;
 *   - STATUS exactly when it starts with "HTTP/"; status is 0 or the three
 *     digits after the first run of spaces;
 *   - FIELD: name is a non-empty token at the start of the line, followed
 *     by ':'; value lies inside the line, after the ':', without leading
 *     or trailing SP/HTAB; a line starting with SP/HTAB is never a FIELD;
 *   - http_is_token agrees with an independent RFC 9110 tchar check,
 *     and NULL / empty are not tokens.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "http_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ref_tchar(unsigned char c)
{
	static const char extra[] = "!#$%&'*+-.^_`|~";
	size_t i;

	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	for (i = 0; i < sizeof extra - 1; i++)
		if (c == (unsigned char)extra[i])
			return 1;
	return 0;
}

static int ref_token(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!ref_tchar((unsigned char)s[i]))
			return 0;
	return n > 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *line = (const char *)data, *end_p = line + size;
	struct http_header_line out;
	enum http_line_kind kind;
	size_t end = size, i;

	/* NULL with length 0 is allowed and is the end of a head. */
	FUZZ_CHECK(http_parse_header_line(NULL, 0, &out) == HTTP_LINE_END &&
		   out.kind == HTTP_LINE_END && out.name == NULL &&
		   out.value == NULL, "NULL line");
	FUZZ_CHECK(!http_is_token(NULL, 0), "NULL is a token");

	FUZZ_CHECK(http_is_token(line, size) == ref_token(line, size),
		   "http_is_token disagrees with the reference");

	memset(&out, 0xA5, sizeof out);	/* the parser must set every field */
	kind = http_parse_header_line(line, size, &out);
	FUZZ_CHECK(kind == out.kind, "return value is not out->kind");

	if (end > 0 && line[end - 1] == '\n') {
		end--;
		if (end > 0 && line[end - 1] == '\r')
			end--;
	} else if (end > 0 && line[end - 1] == '\r') {
		end--;
	}

	switch (kind) {
	case HTTP_LINE_END:
		FUZZ_CHECK(end == 0, "END for a non-empty line");
		break;
	case HTTP_LINE_STATUS:
		FUZZ_CHECK(end >= 5 && memcmp(line, "HTTP/", 5) == 0,
			   "STATUS without HTTP/");
		/* The contract says "the 3-digit code": 0..999 ("055" is 55;
		 * see fuzz/README.md), and those digits follow a space. */
		FUZZ_CHECK(out.status >= 0 && out.status <= 999,
			   "status %d", out.status);
		if (out.status != 0) {
			char digits[4];
			const char *sp = memchr(line, ' ', end);

			snprintf(digits, sizeof digits, "%03d", out.status);
			FUZZ_CHECK(sp != NULL, "status %d without a space", out.status);
			while (sp < line + end && *sp == ' ')
				sp++;
			FUZZ_CHECK(line + end - sp >= 3 && memcmp(sp, digits, 3) == 0 &&
				   (line + end - sp == 3 || sp[3] == ' '),
				   "status %d is not the 3 digits after the first space",
				   out.status);
		}
		break;
	case HTTP_LINE_FIELD:
		FUZZ_CHECK(end > 0 && !(end >= 5 && memcmp(line, "HTTP/", 5) == 0),
			   "FIELD for an END or STATUS line");
		FUZZ_CHECK(out.status == 0, "status set on a FIELD");
		FUZZ_CHECK(out.name == line, "name does not start the line");
		FUZZ_CHECK(out.name_len > 0 && out.name_len < end,
			   "name_len %zu of %zu", out.name_len, end);
		FUZZ_CHECK(http_is_token(out.name, out.name_len) &&
			   ref_token(out.name, out.name_len), "name is not a token");
		FUZZ_CHECK(line[out.name_len] == ':', "name not followed by ':'");
		FUZZ_CHECK(out.value != NULL && out.value > line + out.name_len &&
			   out.value <= end_p && out.value_len <= (size_t)(end_p - out.value) &&
			   out.value + out.value_len <= line + end,
			   "value outside the line");
		for (i = out.name_len + 1; line + i < out.value; i++)
			FUZZ_CHECK(line[i] == ' ' || line[i] == '\t',
				   "skipped a non-OWS byte before the value");
		if (out.value_len > 0) {
			FUZZ_CHECK(out.value[0] != ' ' && out.value[0] != '\t',
				   "value has leading OWS");
			FUZZ_CHECK(out.value[out.value_len - 1] != ' ' &&
				   out.value[out.value_len - 1] != '\t',
				   "value has trailing OWS");
		}
		for (i = (size_t)(out.value + out.value_len - line); i < end; i++)
			FUZZ_CHECK(line[i] == ' ' || line[i] == '\t',
				   "dropped a non-OWS byte after the value");
		break;
	case HTTP_LINE_INVALID:
		FUZZ_CHECK(end > 0, "INVALID for an empty line");
		FUZZ_CHECK(!(end >= 5 && memcmp(line, "HTTP/", 5) == 0),
			   "INVALID for a status line");
		break;
	default:
		FUZZ_CHECK(0, "unknown kind %d", (int)kind);
	}
	if (kind != HTTP_LINE_FIELD)
		FUZZ_CHECK(out.name == NULL && out.name_len == 0 &&
			   out.value == NULL && out.value_len == 0,
			   "FIELD parts set on kind %d", (int)kind);
	if (kind != HTTP_LINE_STATUS)
		FUZZ_CHECK(out.status == 0, "status set on kind %d", (int)kind);
	if (size > 0 && (line[0] == ' ' || line[0] == '\t') && end > 0)
		FUZZ_CHECK(kind == HTTP_LINE_INVALID,
			   "obsolete line folding not INVALID");
	/* A line that is "token:..." after the terminator is a FIELD. */
	if (end > 0 && !(end >= 5 && memcmp(line, "HTTP/", 5) == 0)) {
		size_t t = 0;

		while (t < end && ref_tchar((unsigned char)line[t]))
			t++;
		FUZZ_CHECK((kind == HTTP_LINE_FIELD) == (t > 0 && t < end && line[t] == ':'),
			   "FIELD/INVALID decision differs from the reference");
	}
	return 0;
}
