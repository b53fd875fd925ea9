/*
 * sigv4.h - AWS Signature Version 4 in plain C (no Lua here).
 *
 * The steps follow the AWS SigV4 documentation: canonical request, string
 * to sign, derived signing key, signature. Every function returns 0 or a
 * negative SIGV4_E* code; nothing here allocates on behalf of the caller
 * except through a struct pz_buf the caller owns and frees.
 */
#ifndef PERSONALIZE_SIGV4_H
#define PERSONALIZE_SIGV4_H

#include <stddef.h>
#include <stdint.h>
#include <openssl/sha.h>

#define SIGV4_OK 0
#define SIGV4_ENOMEM (-1)	/* allocation failed */
#define SIGV4_ETOOBIG (-2)	/* input above SIGV4_MAX_INPUT */
#define SIGV4_EINVAL (-3)	/* malformed input (date, scope part) */

/* Inputs above this size are refused: no AWS request comes near it. */
#define SIGV4_MAX_INPUT ((size_t)64 * 1024 * 1024)

#define SIGV4_HEX_LEN 64	/* hex SHA-256 / signature */
#define SIGV4_DATE_LEN 16	/* "20150830T123600Z" */

/* A growable byte buffer; len bytes used, always NUL-terminated when p. */
struct pz_buf {
	char *p;
	size_t len, cap;
	int err;		/* sticky: first error, later appends no-op */
};

void pz_buf_reset(struct pz_buf *b);
void pz_buf_free(struct pz_buf *b);	/* wipes the bytes, then frees */
int pz_buf_add(struct pz_buf *b, const char *s, size_t n);
int pz_buf_addc(struct pz_buf *b, char c);

/* One header as given; the same name may appear several times. */
struct sigv4_header {
	const char *name;
	size_t name_len;
	const char *value;
	size_t value_len;
	size_t order;		/* position as given, for a stable sort */
};

struct sigv4_request {
	const char *method;
	size_t method_len;
	const char *path;	/* as sent on the wire, before '?' */
	size_t path_len;
	const char *query;	/* raw query after '?', or NULL */
	size_t query_len;
	struct sigv4_header *headers;	/* sorted in place by the signer */
	size_t nheaders;
	const char *payload_hash;	/* hex SHA-256 or UNSIGNED-PAYLOAD */
	size_t payload_hash_len;
	int normalize_path;	/* remove dot segments, collapse '//' */
	int double_encode;	/* encode the (already encoded) path again */
};

/* Where the signed-headers line sits inside a canonical request. */
struct sigv4_span {
	size_t off, len;
};

/*
 * Task 1: the canonical request, appended to `out`. `signed_headers`
 * receives the span of the SignedHeaders line inside `out`.
 */
int sigv4_canonical_request(struct pz_buf *out, struct sigv4_request *req,
			    struct sigv4_span *signed_headers);

/* Appends URI-encoded `s` to `b`: RFC 3986 unreserved bytes stay, '/'
 * stays when keep_slash, an existing "%XX" stays when keep_percent. */
int sigv4_uri_encode(struct pz_buf *b, const char *s, size_t n,
		     int keep_slash, int keep_percent);

/* Appends the canonical URI of `path` (Task 1, step 2). */
int sigv4_canonical_path(struct pz_buf *b, const char *path, size_t n,
			 int normalize, int double_encode);

/* Appends the canonical query string of raw `query` (Task 1, step 3). */
int sigv4_canonical_query(struct pz_buf *b, const char *query, size_t n);

/* Appends "name:value" canonical header value: trimmed, runs of
 * whitespace collapsed to one space (Task 1, step 4). */
int sigv4_canonical_header_value(struct pz_buf *b, const char *v, size_t n);

/* Hex of `n` bytes into out (2n chars, not terminated). */
void sigv4_hex(char *out, const unsigned char *in, size_t n);

void sigv4_sha256(const void *data, size_t n,
		  unsigned char out[SHA256_DIGEST_LENGTH]);
void sigv4_sha256_hex(char out[SIGV4_HEX_LEN], const void *data, size_t n);

/* HMAC-SHA-256 with a key prepared once: the inner and outer hash states
 * after the padded key block, so each HMAC costs the message hashing only. */
struct sigv4_hmac_key {
	SHA256_CTX inner, outer;
};

void sigv4_hmac_init(struct sigv4_hmac_key *k, const void *key, size_t n);
void sigv4_hmac(const struct sigv4_hmac_key *k, const void *msg, size_t n,
		unsigned char out[SHA256_DIGEST_LENGTH]);
void sigv4_hmac_wipe(struct sigv4_hmac_key *k);

/*
 * Task 3: the derived signing key
 *   HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")
 * prepared for HMAC. Intermediate keys are wiped before return.
 */
int sigv4_signing_key(struct sigv4_hmac_key *out, const char *secret,
		      size_t secret_len, const char *date8, const char *region,
		      size_t region_len, const char *service,
		      size_t service_len);

/* Task 2: the string to sign for `amz_date` and the canonical request hash. */
int sigv4_string_to_sign(struct pz_buf *out, const char *amz_date,
			 const char *region, size_t region_len,
			 const char *service, size_t service_len,
			 const char canonical_hash[SIGV4_HEX_LEN]);

#endif
