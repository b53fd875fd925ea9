/*
 * fuzz_header.c - sigv4_canonical_header_value.
 *
 * Input: a header value as given by a caller (any bytes).
 *
 * Invariants:
 *   - no leading or trailing space, no two spaces in a row, no HTAB,
 *     CR or LF in the output;
 *   - the output is the input with every run of SP/HTAB/CR/LF between
 *     two other bytes replaced by one space (an independent reference),
 *     appended after what the buffer held, or into an empty buffer;
 *   - a sticky error in the buffer is returned and nothing is appended.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int ws(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char prefix[] = "x-amz-meta:";
	const char *v = (const char *)data;
	struct pz_buf b = { NULL, 0, 0, 0 };
	size_t plen = sizeof prefix - 1, i, o = 0, n;
	char *want = fuzz_dup("", size);
	const char *got;
	int rc;

	FUZZ_CHECK(pz_buf_add(&b, prefix, plen) == SIGV4_OK, "prefix");
	rc = sigv4_canonical_header_value(&b, v, size);
	FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
	FUZZ_CHECK(b.p[b.len] == '\0', "not NUL-terminated");
	FUZZ_CHECK(memcmp(b.p, prefix, plen) == 0, "prefix clobbered");
	got = b.p + plen;
	n = b.len - plen;

	if (n > 0) {
		FUZZ_CHECK(got[0] != ' ', "leading space");
		FUZZ_CHECK(got[n - 1] != ' ', "trailing space");
	}
	for (i = 0; i < n; i++) {
		FUZZ_CHECK(got[i] != '\t' && got[i] != '\r' && got[i] != '\n',
			   "HTAB/CR/LF at %zu", i);
		FUZZ_CHECK(!(got[i] == ' ' && i + 1 < n && got[i + 1] == ' '),
			   "double space at %zu", i);
	}

	/* Reference: trim, then collapse each whitespace run to one space. */
	for (i = 0; i < size; i++) {
		if (ws(v[i])) {
			if (o > 0 && want[o - 1] != ' ')
				want[o++] = ' ';
		} else {
			want[o++] = v[i];
		}
	}
	if (o > 0 && want[o - 1] == ' ')
		o--;
	if (o != n || memcmp(want, got, n) != 0) {
		fuzz_dump("input", v, size);
		fuzz_dump("got", got, n);
		fuzz_dump("want", want, o);
	}
	FUZZ_CHECK(o == n && memcmp(want, got, n) == 0, "differs from reference");

	/* The same from an empty buffer, then after a sticky error. */
	pz_buf_free(&b);
	rc = sigv4_canonical_header_value(&b, v, size);
	FUZZ_CHECK(rc == SIGV4_OK && b.len == o && b.p != NULL && b.p[b.len] == '\0' &&
		   memcmp(b.p, want, o) == 0, "from an empty buffer");
	b.err = SIGV4_ENOMEM;
	rc = sigv4_canonical_header_value(&b, v, size);
	FUZZ_CHECK(rc == SIGV4_ENOMEM && b.len == o, "sticky error not kept");

	free(want);
	pz_buf_free(&b);
	return 0;
}
