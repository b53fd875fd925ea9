/*
 * fuzz_uri.c - sigv4_uri_encode and sigv4_canonical_path.
 *
 * Input: the raw bytes of a path (or of any string to encode).
 *
 * sigv4_uri_encode, for every keep_slash x keep_percent:
 *   - appends to what the buffer already holds, NUL-terminated;
 *   - output bytes are unreserved, '/' (only with keep_slash) or "%XX"
 *     (upper-case hex when we encoded; a kept "%xx" may be lower-case);
 *   - percent-decoding the output gives back the input (keep_percent
 *     off), or the decoding of the input (keep_percent on).
 * sigv4_canonical_path, for every normalize x double_encode:
 *   - same character set;
 *   - normalised: starts with '/', no "//", no "." or ".." segment, and
 *     equals an independent RFC 3986 5.2.4 reference plus encoding;
 *   - without double encoding the result is a fixed point.
 */
#include <stdint.h>

#include "fuzz_util.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char PREFIX[] = "prefix";

/* b->p[from..] holds only unreserved bytes, '/' (when slash_ok), "%XX". */
static void check_charset(const struct pz_buf *b, size_t from, int slash_ok,
			  int lower_hex_ok, const char *what)
{
	size_t i;

	for (i = from; i < b->len; i++) {
		unsigned char c = (unsigned char)b->p[i];

		if (c == '%') {
			FUZZ_CHECK(i + 2 < b->len,
				   "%s: truncated escape at %zu", what, i);
			if (lower_hex_ok)
				FUZZ_CHECK(fuzz_hex_value((unsigned char)b->p[i + 1]) >= 0 &&
					   fuzz_hex_value((unsigned char)b->p[i + 2]) >= 0,
					   "%s: bad escape at %zu", what, i);
			else
				FUZZ_CHECK(fuzz_is_upper_hex((unsigned char)b->p[i + 1]) &&
					   fuzz_is_upper_hex((unsigned char)b->p[i + 2]),
					   "%s: bad escape at %zu", what, i);
			i += 2;
		} else if (c == '/') {
			FUZZ_CHECK(slash_ok, "%s: raw '/' at %zu", what, i);
		} else {
			FUZZ_CHECK(fuzz_is_unreserved(c),
				   "%s: byte 0x%02x at %zu", what, c, i);
		}
	}
}

static void check_encode(const char *s, size_t n, int keep_slash,
			 int keep_percent)
{
	struct pz_buf b = { NULL, 0, 0, 0 };
	size_t plen = sizeof PREFIX - 1, dn;
	char *dec_out;
	int rc;

	FUZZ_CHECK(pz_buf_add(&b, PREFIX, plen) == SIGV4_OK, "prefix");
	rc = sigv4_uri_encode(&b, s, n, keep_slash, keep_percent);
	FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
	FUZZ_CHECK(b.err == 0 && b.p != NULL && b.len <= b.cap, "buffer state");
	FUZZ_CHECK(b.p[b.len] == '\0', "not NUL-terminated");
	FUZZ_CHECK(memcmp(b.p, PREFIX, plen) == 0, "prefix clobbered");
	FUZZ_CHECK(b.len - plen <= 3 * n, "output longer than 3n");
	check_charset(&b, plen, keep_slash, keep_percent, "uri_encode");

	dec_out = fuzz_dup("", b.len - plen);
	dn = fuzz_pct_decode(dec_out, b.p + plen, b.len - plen);
	if (!keep_percent) {
		if (dn != n || memcmp(dec_out, s, n) != 0) {
			fuzz_dump("input", s, n);
			fuzz_dump("output", b.p + plen, b.len - plen);
		}
		FUZZ_CHECK(dn == n && memcmp(dec_out, s, n) == 0,
			   "decode(encode(x)) != x (keep_slash %d)", keep_slash);
	} else {
		char *dec_in = fuzz_dup("", n);
		size_t en = fuzz_pct_decode(dec_in, s, n);

		FUZZ_CHECK(dn == en && memcmp(dec_out, dec_in, en) == 0,
			   "decode(encode(x)) != decode(x) (keep_slash %d)",
			   keep_slash);
		free(dec_in);
	}
	free(dec_out);
	pz_buf_free(&b);
	FUZZ_CHECK(b.p == NULL && b.len == 0 && b.cap == 0, "pz_buf_free");
}

/*
 * Reference for the normalised path (RFC 3986 5.2.4 plus dropping empty
 * segments): a stack of segments. Writes into out (at least n + 2 bytes).
 */
static size_t ref_normalize(char *out, const char *s, size_t n)
{
	size_t *starts = malloc((n + 1) * sizeof *starts);
	size_t *lens = malloc((n + 1) * sizeof *lens);
	size_t depth = 0, i = 0, o = 0, k;
	int trailing = 0;

	if (starts == NULL || lens == NULL)
		abort();
	while (i < n) {
		size_t j = i;

		while (j < n && s[j] != '/')
			j++;
		if (j - i == 2 && s[i] == '.' && s[i + 1] == '.') {
			if (depth > 0)
				depth--;
		} else if (!(j - i == 0 || (j - i == 1 && s[i] == '.'))) {
			starts[depth] = i;
			lens[depth] = j - i;
			depth++;
		}
		/* The last segment decides: "x/", "x/." and "x/.." end in '/'. */
		trailing = j < n || (j - i == 1 && s[i] == '.') ||
		    (j - i == 2 && s[i] == '.' && s[i + 1] == '.');
		i = j + 1;
	}
	for (k = 0; k < depth; k++) {
		out[o++] = '/';
		memcpy(out + o, s + starts[k], lens[k]);
		o += lens[k];
	}
	if (depth == 0 || trailing)
		out[o++] = '/';
	free(starts);
	free(lens);
	return o;
}

static void check_path(const char *s, size_t n, int normalize,
		       int double_encode)
{
	struct pz_buf b = { NULL, 0, 0, 0 }, again = { NULL, 0, 0, 0 };
	int rc;

	rc = sigv4_canonical_path(&b, s, n, normalize, double_encode);
	FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
	FUZZ_CHECK(b.p != NULL && b.len > 0 && b.p[b.len] == '\0',
		   "empty or unterminated canonical path");
	check_charset(&b, 0, 1, !double_encode, "canonical_path");

	if (normalize) {
		struct pz_buf want = { NULL, 0, 0, 0 };
		char *ref = fuzz_dup("", n + 2);
		size_t rn = ref_normalize(ref, s, n), i;

		FUZZ_CHECK(b.p[0] == '/', "normalised path does not start with '/'");
		for (i = 0; i < b.len; i++) {
			size_t j = i + 1, seg;

			if (b.p[i] != '/')
				continue;
			while (j < b.len && b.p[j] != '/')
				j++;
			seg = j - i - 1;
			FUZZ_CHECK(seg > 0 || j == b.len, "\"//\" at %zu", i);
			FUZZ_CHECK(!(seg == 1 && b.p[i + 1] == '.'),
				   "\".\" segment at %zu", i);
			FUZZ_CHECK(!(seg == 2 && b.p[i + 1] == '.' && b.p[i + 2] == '.'),
				   "\"..\" segment at %zu", i);
		}
		FUZZ_CHECK(sigv4_uri_encode(&want, ref, rn, 1, !double_encode) == 0,
			   "reference encode");
		if (want.len != b.len || memcmp(want.p, b.p, b.len) != 0) {
			fuzz_dump("input", s, n);
			fuzz_dump("got", b.p, b.len);
			fuzz_dump("want", want.p, want.len);
		}
		FUZZ_CHECK(want.len == b.len && memcmp(want.p, b.p, b.len) == 0,
			   "normalised path differs from the reference");
		pz_buf_free(&want);
		free(ref);
	} else if (n > 0) {
		struct pz_buf want = { NULL, 0, 0, 0 };

		/* Without normalisation it is exactly the encoding. */
		FUZZ_CHECK(sigv4_uri_encode(&want, s, n, 1, !double_encode) == 0,
			   "encode");
		FUZZ_CHECK(want.len == b.len && memcmp(want.p, b.p, b.len) == 0,
			   "unnormalised path is not the plain encoding");
		pz_buf_free(&want);
	}

	if (!double_encode) {
		char *copy = fuzz_dup(b.p, b.len);

		rc = sigv4_canonical_path(&again, copy, b.len, normalize, 0);
		FUZZ_CHECK(rc == SIGV4_OK, "rc %d", rc);
		if (again.len != b.len || memcmp(again.p, b.p, b.len) != 0) {
			fuzz_dump("once", b.p, b.len);
			fuzz_dump("twice", again.p, again.len);
		}
		FUZZ_CHECK(again.len == b.len && memcmp(again.p, b.p, b.len) == 0,
			   "canonical path not idempotent (normalize %d)", normalize);
		free(copy);
		pz_buf_free(&again);
	}
	pz_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;
	int a, c;

	for (a = 0; a < 2; a++)
		for (c = 0; c < 2; c++) {
			check_encode(s, size, a, c);
			check_path(s, size, a, c);
		}
	return 0;
}
