/*
 * fuzz_sign.c - the whole signer: canonical request, string to sign,
 * signing key, signature.
 *
 * Input layout (see fuzz/README.md; fuzz/make_corpus.sh writes it):
 *   byte 0        flags: bit 0 normalize_path, bit 1 double_encode,
 *                 bit 2 no query (NULL instead of the query field)
 *   bytes 1..     fields separated by 0xFF:
 *                 method, path, query, payload hash, secret, region,
 *                 service, then header name, header value, ... (at most
 *                 MAX_HEADERS pairs; a missing field is empty)
 * Every field is copied into its own exactly-sized heap block so that
 * ASan sees a read past the end of any one of them.
 *
 * Invariants:
 *   - every step returns SIGV4_OK; the SignedHeaders span lies inside the
 *     canonical request and is followed by '\n' and the payload hash;
 *   - SignedHeaders is lower-case, and (when no name holds ';') strictly
 *     increasing with one entry per distinct case-insensitive name;
 *   - the canonical request does not depend on the order of the header
 *     array (only on each header's `order`);
 *   - sigv4_sha256 / sigv4_sha256_hex agree with OpenSSL's SHA256();
 *   - the string to sign is the documented concatenation;
 *   - the signature equals an independent derivation with OpenSSL's
 *     one-shot HMAC();
 *   - nothing leaks (libFuzzer's -detect_leaks=1, the default).
 */
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "fuzz_util.h"
#include "sigv4.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEADERS 64
#define FIXED_FIELDS 7
#define MAX_FIELDS (FIXED_FIELDS + 2 * MAX_HEADERS)

static const char AMZ_DATE[] = "20150830T123600Z";

struct field {
	char *p;
	size_t n;
};

static int lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

static int same_name_ci(const struct field *a, const struct field *b)
{
	size_t i;

	if (a->n != b->n)
		return 0;
	for (i = 0; i < a->n; i++)
		if (lower((unsigned char)a->p[i]) != lower((unsigned char)b->p[i]))
			return 0;
	return 1;
}

static void hmac(unsigned char out[32], const void *key, size_t klen,
		 const void *msg, size_t mlen)
{
	unsigned int len = 32;

	FUZZ_CHECK(HMAC(EVP_sha256(), key, (int)klen, msg, mlen, out, &len) != NULL &&
		   len == 32, "OpenSSL HMAC");
}

static void check_signed_headers(const char *sh, size_t len,
				 const struct field *names, size_t nh)
{
	size_t i, j, distinct = 0, entries = 0, start;
	const char *prev = NULL;
	size_t prev_len = 0;

	for (i = 0; i < len; i++)
		FUZZ_CHECK(!(sh[i] >= 'A' && sh[i] <= 'Z'),
			   "upper-case byte in SignedHeaders at %zu", i);
	for (i = 0; i < nh; i++)
		if (memchr(names[i].p, ';', names[i].n) != NULL)
			return;	/* the list cannot be split back */
	for (i = 0; i < nh; i++) {
		for (j = 0; j < i && !same_name_ci(&names[i], &names[j]); j++)
			;
		distinct += j == i;
	}
	if (nh == 0) {
		FUZZ_CHECK(len == 0, "SignedHeaders without headers");
		return;
	}
	for (start = 0; start <= len; start = i + 1) {
		for (i = start; i < len && sh[i] != ';'; i++)
			;
		if (prev != NULL) {
			size_t m = prev_len < i - start ? prev_len : i - start;
			int c = memcmp(prev, sh + start, m);

			if (c == 0)
				c = prev_len < i - start ? -1 : prev_len > i - start;
			if (c >= 0)
				fuzz_dump("SignedHeaders", sh, len);
			FUZZ_CHECK(c < 0, "SignedHeaders not strictly increasing at %zu",
				   start);
		}
		prev = sh + start;
		prev_len = i - start;
		entries++;
	}
	FUZZ_CHECK(entries == distinct, "%zu SignedHeaders entries for %zu names",
		   entries, distinct);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct field f[MAX_FIELDS];
	struct sigv4_header headers[MAX_HEADERS], reversed[MAX_HEADERS];
	struct field names[MAX_HEADERS];
	struct sigv4_request req, req2;
	struct sigv4_span sh, sh2;
	struct sigv4_hmac_key key;
	struct pz_buf creq = { NULL, 0, 0, 0 }, creq2 = { NULL, 0, 0, 0 };
	struct pz_buf sts = { NULL, 0, 0, 0 };
	char creq_hash[SIGV4_HEX_LEN], *date, *kmsg;
	unsigned char mac[32], want[32], k[32];
	size_t nf = 0, i, start, nh;
	uint8_t flags;
	int rc;

	if (size == 0)
		return 0;
	flags = data[0];
	memset(f, 0, sizeof f);
	for (start = 1; start <= size && nf < MAX_FIELDS; start = i + 1) {
		for (i = start; i < size && data[i] != 0xFF; i++)
			;
		f[nf].p = fuzz_dup(data + start, i - start);
		f[nf].n = i - start;
		nf++;
	}
	for (i = nf; i < MAX_FIELDS; i++)
		f[i].p = fuzz_dup("", 0);
	nh = nf > FIXED_FIELDS ? (nf - FIXED_FIELDS + 1) / 2 : 0;

	for (i = 0; i < nh; i++) {
		const struct field *name = &f[FIXED_FIELDS + 2 * i];
		const struct field *value = &f[FIXED_FIELDS + 2 * i + 1];

		headers[i].name = name->p;
		headers[i].name_len = name->n;
		headers[i].value = value->p;
		headers[i].value_len = value->n;
		headers[i].order = i;
		names[i] = *name;
		reversed[nh - 1 - i] = headers[i];
	}

	memset(&req, 0, sizeof req);
	req.method = f[0].p;
	req.method_len = f[0].n;
	req.path = f[1].p;
	req.path_len = f[1].n;
	req.query = (flags & 4) ? NULL : f[2].p;
	req.query_len = (flags & 4) ? 0 : f[2].n;
	req.payload_hash = f[3].p;
	req.payload_hash_len = f[3].n;
	req.headers = headers;
	req.nheaders = nh;
	req.normalize_path = flags & 1;
	req.double_encode = (flags >> 1) & 1;

	/* Task 1 */
	rc = sigv4_canonical_request(&creq, &req, &sh);
	FUZZ_CHECK(rc == SIGV4_OK, "canonical_request rc %d", rc);
	FUZZ_CHECK(creq.p != NULL && creq.p[creq.len] == '\0', "unterminated");
	FUZZ_CHECK(sh.off <= creq.len && sh.len <= creq.len - sh.off,
		   "SignedHeaders span %zu+%zu outside %zu", sh.off, sh.len,
		   creq.len);
	FUZZ_CHECK(creq.len - sh.off - sh.len == 1 + f[3].n &&
		   creq.p[sh.off + sh.len] == '\n' &&
		   memcmp(creq.p + sh.off + sh.len + 1, f[3].p, f[3].n) == 0,
		   "SignedHeaders not followed by the payload hash");
	FUZZ_CHECK(sh.off >= 2 && creq.p[sh.off - 1] == '\n' &&
		   creq.p[sh.off - 2] == '\n',
		   "SignedHeaders not after the blank line");
	check_signed_headers(creq.p + sh.off, sh.len, names, nh);

	req2 = req;
	req2.headers = reversed;
	rc = sigv4_canonical_request(&creq2, &req2, &sh2);
	FUZZ_CHECK(rc == SIGV4_OK, "canonical_request rc %d", rc);
	if (creq2.len != creq.len || memcmp(creq2.p, creq.p, creq.len) != 0) {
		fuzz_dump("given order", creq.p, creq.len);
		fuzz_dump("reversed", creq2.p, creq2.len);
	}
	FUZZ_CHECK(creq2.len == creq.len && memcmp(creq2.p, creq.p, creq.len) == 0 &&
		   sh2.off == sh.off && sh2.len == sh.len,
		   "canonical request depends on the header array order");

	/* Task 2 */
	sigv4_sha256_hex(creq_hash, creq.p, creq.len);
	{
		unsigned char md[32], ref[32];
		char hex[SIGV4_HEX_LEN];

		sigv4_sha256(creq.p, creq.len, md);
		SHA256((const unsigned char *)creq.p, creq.len, ref);
		sigv4_hex(hex, ref, sizeof ref);
		FUZZ_CHECK(memcmp(md, ref, 32) == 0 &&
			   memcmp(hex, creq_hash, SIGV4_HEX_LEN) == 0,
			   "sigv4_sha256 differs from OpenSSL SHA256()");
	}
	date = fuzz_dup(AMZ_DATE, SIGV4_DATE_LEN);
	rc = sigv4_string_to_sign(&sts, date, f[5].p, f[5].n, f[6].p, f[6].n,
				  creq_hash);
	FUZZ_CHECK(rc == SIGV4_OK, "string_to_sign rc %d", rc);
	{
		size_t want_len = 17 + 16 + 1 + 8 + 1 + f[5].n + 1 + f[6].n + 14 + 64;
		char *w = fuzz_dup("", want_len), *o = w;

		memcpy(o, "AWS4-HMAC-SHA256\n", 17), o += 17;
		memcpy(o, AMZ_DATE, 16), o += 16;
		*o++ = '\n';
		memcpy(o, AMZ_DATE, 8), o += 8;
		*o++ = '/';
		memcpy(o, f[5].p, f[5].n), o += f[5].n;
		*o++ = '/';
		memcpy(o, f[6].p, f[6].n), o += f[6].n;
		memcpy(o, "/aws4_request\n", 14), o += 14;
		memcpy(o, creq_hash, 64);
		FUZZ_CHECK(sts.len == want_len && memcmp(sts.p, w, want_len) == 0,
			   "string to sign differs from the concatenation");
		free(w);
	}

	/* Task 3 and the signature, against OpenSSL's HMAC(). */
	rc = sigv4_signing_key(&key, f[4].p, f[4].n, date, f[5].p, f[5].n,
			       f[6].p, f[6].n);
	FUZZ_CHECK(rc == SIGV4_OK, "signing_key rc %d", rc);
	sigv4_hmac(&key, sts.p, sts.len, mac);
	sigv4_hmac_wipe(&key);

	kmsg = fuzz_dup("", 4 + f[4].n);
	memcpy(kmsg, "AWS4", 4);
	memcpy(kmsg + 4, f[4].p, f[4].n);
	hmac(k, kmsg, 4 + f[4].n, AMZ_DATE, 8);
	hmac(k, k, 32, f[5].p, f[5].n);
	hmac(k, k, 32, f[6].p, f[6].n);
	hmac(k, k, 32, "aws4_request", 12);
	hmac(want, k, 32, sts.p, sts.len);
	FUZZ_CHECK(memcmp(mac, want, 32) == 0,
		   "signature differs from OpenSSL HMAC derivation");

	free(kmsg);
	free(date);
	pz_buf_free(&creq);
	pz_buf_free(&creq2);
	pz_buf_free(&sts);
	for (i = 0; i < MAX_FIELDS; i++)
		free(f[i].p);
	return 0;
}
