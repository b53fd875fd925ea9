/*
 * fuzz_util.h - small helpers shared by the libFuzzer targets in fuzz/.
 *
 * A violated invariant prints what was expected and abort()s, which
 * libFuzzer reports as a crash and saves the input as crash-<sha1>.
 */
#ifndef PERSONALIZE_FUZZ_UTIL_H
#define PERSONALIZE_FUZZ_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_CHECK(cond, ...)                                               \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: invariant failed: %s\n  ",  \
				__FILE__, __LINE__, #cond);                 \
			fprintf(stderr, __VA_ARGS__);                       \
			fputc('\n', stderr);                                \
			abort();                                            \
		}                                                           \
	} while (0)

/* Prints n bytes with C escapes, for invariant messages. */
static inline void fuzz_dump(const char *label, const char *s, size_t n)
{
	size_t i;

	fprintf(stderr, "  %s (%zu bytes): \"", label, n);
	for (i = 0; i < n && i < 512; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\')
			fputc(c, stderr);
		else
			fprintf(stderr, "\\x%02x", c);
	}
	fprintf(stderr, "%s\"\n", i < n ? "..." : "");
}

/* A heap copy of exactly n bytes (never NULL for n == 0 either), so that
 * ASan sees a read one byte past the end of a field. */
static inline char *fuzz_dup(const void *p, size_t n)
{
	char *q = malloc(n ? n : 1);

	if (q == NULL)
		abort();
	if (n)
		memcpy(q, p, n);
	return q;
}

static inline int fuzz_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static inline int fuzz_hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static inline int fuzz_is_upper_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F');
}

/*
 * An independent percent-decoder (the one in sigv4.c is static): "%XX"
 * with two hex digits becomes the byte, anything else is copied. Writes
 * at most n bytes into out; returns the decoded length.
 */
static inline size_t fuzz_pct_decode(char *out, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n &&
		    fuzz_hex_value((unsigned char)s[i + 1]) >= 0 &&
		    fuzz_hex_value((unsigned char)s[i + 2]) >= 0) {
			out[o++] = (char)(fuzz_hex_value((unsigned char)s[i + 1]) * 16 +
					  fuzz_hex_value((unsigned char)s[i + 2]));
			i += 2;
		} else {
			out[o++] = s[i];
		}
	}
	return o;
}

#endif
