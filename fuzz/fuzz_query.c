/*
 * fuzz_query.c - sigv4_canonical_query.
 *
 * Input: a raw query string (what follows '?').
 *
 * Invariants:
 *   - output is "name=value" parameters joined by '&', each part made of
 *     unreserved bytes and upper-case "%XX" only; no empty parameter;
 *   - parameters are sorted by encoded name, then encoded value (bytes);
 *   - there are as many parameters as non-empty '&'-separated pieces;
 *   - canonicalising the output again gives the same output.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* -1, 0, 1 like memcmp, shorter first on a common prefix. */
static int bytes_cmp(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	if (c != 0)
		return c < 0 ? -1 : 1;
	return an < bn ? -1 : an > bn;
}

static void check_part(const char *p, size_t n, const char *what)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '%') {
			FUZZ_CHECK(i + 2 < n && fuzz_is_upper_hex((unsigned char)p[i + 1]) &&
				   fuzz_is_upper_hex((unsigned char)p[i + 2]),
				   "%s: bad escape at %zu", what, i);
			i += 2;
		} else {
			FUZZ_CHECK(fuzz_is_unreserved(c), "%s: byte 0x%02x", what, c);
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *q = (const char *)data;
	struct pz_buf out = { NULL, 0, 0, 0 }, again = { NULL, 0, 0, 0 };
	const char *prev_name = NULL, *prev_value = NULL;
	size_t prev_name_len = 0, prev_value_len = 0, params = 0, pieces = 0;
	size_t i, start;
	char *copy;
	int rc;

	rc = sigv4_canonical_query(&out, q, size);
	FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
	FUZZ_CHECK(out.err == 0, "sticky error %d", out.err);
	if (out.len == 0) {
		/* Only an empty query (or only '&'s) canonicalises to nothing. */
		for (i = 0; i < size; i++)
			FUZZ_CHECK(q[i] == '&', "non-empty query gave nothing");
		pz_buf_free(&out);
		return 0;
	}
	FUZZ_CHECK(out.p[out.len] == '\0', "not NUL-terminated");

	for (start = 0; start <= size; start = i + 1) {
		for (i = start; i < size && q[i] != '&'; i++)
			;
		pieces += i > start;
	}

	for (start = 0; start <= out.len; start = i + 1) {
		const char *name = out.p + start, *eq;
		size_t len, name_len;

		for (i = start; i < out.len && out.p[i] != '&'; i++)
			;
		len = i - start;
		FUZZ_CHECK(len > 0, "empty parameter at %zu", start);
		eq = memchr(name, '=', len);
		FUZZ_CHECK(eq != NULL, "parameter without '=' at %zu", start);
		name_len = (size_t)(eq - name);
		check_part(name, name_len, "name");
		check_part(eq + 1, len - name_len - 1, "value");
		if (prev_name != NULL) {
			int c = bytes_cmp(prev_name, prev_name_len, name, name_len);

			if (c == 0)
				c = bytes_cmp(prev_value, prev_value_len, eq + 1,
					      len - name_len - 1);
			if (c > 0)
				fuzz_dump("output", out.p, out.len);
			FUZZ_CHECK(c <= 0, "parameters out of order at %zu", start);
		}
		prev_name = name;
		prev_name_len = name_len;
		prev_value = eq + 1;
		prev_value_len = len - name_len - 1;
		params++;
	}
	FUZZ_CHECK(params == pieces, "%zu parameters from %zu pieces", params,
		   pieces);

	/* A fixed point: the canonical form canonicalises to itself. */
	copy = fuzz_dup(out.p, out.len);
	rc = sigv4_canonical_query(&again, copy, out.len);
	FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
	if (again.len != out.len || memcmp(again.p, out.p, out.len) != 0) {
		fuzz_dump("input", q, size);
		fuzz_dump("once", out.p, out.len);
		fuzz_dump("twice", again.p, again.len);
	}
	FUZZ_CHECK(again.len == out.len && memcmp(again.p, out.p, out.len) == 0,
		   "canonical query is not idempotent");
	free(copy);
	pz_buf_free(&again);
	pz_buf_free(&out);
	return 0;
}
