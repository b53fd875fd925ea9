/*
 * sigv4.c - AWS Signature Version 4: canonicalisation and signing keys.
 *
 * Plain C over OpenSSL's SHA-256; never touches a lua_State. Memory comes
 * only from the caller's struct pz_buf (and one short-lived index array in
 * sigv4_canonical_query, freed before return). Secrets and derived keys
 * are wiped with OPENSSL_cleanse as soon as they are no longer needed.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "sigv4.h"

/* ---- buffers ---------------------------------------------------------- */

void pz_buf_reset(struct pz_buf *b)
{
	b->len = 0;
	b->err = 0;
	if (b->p != NULL)
		b->p[0] = '\0';
}

void pz_buf_free(struct pz_buf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
	b->err = 0;
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static int buf_reserve(struct pz_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;

	if (b->err)
		return b->err;
	if (extra > SIGV4_MAX_INPUT || b->len + extra > SIGV4_MAX_INPUT)
		return b->err = SIGV4_ETOOBIG;
	need = b->len + extra + 1;
	if (need <= b->cap)
		return SIGV4_OK;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap *= 2;
	/* Not realloc: the old bytes may hold key material to wipe. */
	p = malloc(cap);
	if (p == NULL)
		return b->err = SIGV4_ENOMEM;
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = p;
	b->cap = cap;
	return SIGV4_OK;
}

int pz_buf_add(struct pz_buf *b, const char *s, size_t n)
{
	int rc = buf_reserve(b, n);

	if (rc != SIGV4_OK)
		return rc;
	if (n > 0)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return SIGV4_OK;
}

int pz_buf_addc(struct pz_buf *b, char c)
{
	return pz_buf_add(b, &c, 1);
}

/* ---- encoding --------------------------------------------------------- */

static const char HEX_DIGITS[] = "0123456789abcdef";
static const char HEX_UPPER[] = "0123456789ABCDEF";

void sigv4_hex(char *out, const unsigned char *in, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = HEX_DIGITS[in[i] >> 4];
		out[2 * i + 1] = HEX_DIGITS[in[i] & 15];
	}
}

/* RFC 3986 section 2.3: ALPHA / DIGIT / "-" / "." / "_" / "~" */
static int is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	    c == '~';
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int is_percent_triplet(const char *s, size_t i, size_t n)
{
	return i + 2 < n && s[i] == '%' &&
	    hex_value((unsigned char)s[i + 1]) >= 0 &&
	    hex_value((unsigned char)s[i + 2]) >= 0;
}

int sigv4_uri_encode(struct pz_buf *b, const char *s, size_t n,
		     int keep_slash, int keep_percent)
{
	size_t i;
	int rc;

	/* Worst case triples the input: reserve once, then write directly. */
	if (n > SIGV4_MAX_INPUT / 3)
		return b->err = SIGV4_ETOOBIG;
	if ((rc = buf_reserve(b, 3 * n)) != SIGV4_OK)
		return rc;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char *o = b->p + b->len;

		if (is_unreserved(c) || (keep_slash && c == '/') ||
		    (keep_percent && is_percent_triplet(s, i, n))) {
			*o = (char)c;
			b->len += 1;
		} else {
			o[0] = '%';
			o[1] = HEX_UPPER[c >> 4];
			o[2] = HEX_UPPER[c & 15];
			b->len += 3;
		}
	}
	b->p[b->len] = '\0';
	return SIGV4_OK;
}

/* Appends the percent-decoding of s[0..n) ("%zz" that is not hex stays). */
static int uri_decode(struct pz_buf *b, const char *s, size_t n)
{
	size_t i;
	int rc;

	if ((rc = buf_reserve(b, n)) != SIGV4_OK)
		return rc;
	for (i = 0; i < n; i++) {
		if (is_percent_triplet(s, i, n)) {
			b->p[b->len++] = (char)(hex_value((unsigned char)s[i + 1]) * 16 +
						hex_value((unsigned char)s[i + 2]));
			i += 2;
		} else {
			b->p[b->len++] = s[i];
		}
	}
	b->p[b->len] = '\0';
	return SIGV4_OK;
}

/* ---- canonical URI ---------------------------------------------------- */

/*
 * Removes dot segments (RFC 3986 5.2.4) and empty segments, so "//a/./b/../"
 * becomes "/a/". A trailing slash, or a trailing "." or "..", leaves the
 * result ending in '/'. Writes into b; the result always starts with '/'.
 */
static int normalize_path(struct pz_buf *b, const char *s, size_t n)
{
	size_t base = b->len, i = 0;
	int trailing = 0;

	while (i < n) {
		size_t j = i, seg;

		while (j < n && s[j] != '/')
			j++;
		seg = j - i;
		trailing = (j < n) || (seg == 1 && s[i] == '.') ||
		    (seg == 2 && s[i] == '.' && s[i + 1] == '.');
		if (seg == 0 || (seg == 1 && s[i] == '.')) {
			/* empty or "." segment: dropped */
		} else if (seg == 2 && s[i] == '.' && s[i + 1] == '.') {
			/* "..": drop the last written segment, if any */
			while (b->len > base && b->p[b->len - 1] != '/')
				b->len--;
			if (b->len > base)
				b->len--;
		} else {
			if (pz_buf_addc(b, '/') || pz_buf_add(b, s + i, seg))
				return b->err;
		}
		i = j + 1;
	}
	if (b->len == base || trailing) {
		if (pz_buf_addc(b, '/'))
			return b->err;
	}
	b->p[b->len] = '\0';
	return b->err;
}

int sigv4_canonical_path(struct pz_buf *b, const char *path, size_t n,
			 int normalize, int double_encode)
{
	struct pz_buf tmp = { NULL, 0, 0, 0 };
	int rc;

	if (n == 0)
		return pz_buf_addc(b, '/');
	if (!normalize)
		return sigv4_uri_encode(b, path, n, 1, !double_encode);
	rc = normalize_path(&tmp, path, n);
	if (rc == SIGV4_OK)
		rc = sigv4_uri_encode(b, tmp.p, tmp.len, 1, !double_encode);
	pz_buf_free(&tmp);
	return rc;
}

/* ---- canonical query -------------------------------------------------- */

struct query_param {
	size_t off;		/* "name=value" inside the encoding buffer */
	const char *p;		/* set once the buffer stops moving */
	size_t name_len;
	size_t len;
};

/* Sorts by encoded name, then encoded value, bytewise (Task 1, step 3). */
static int query_param_cmp(const void *a, const void *b)
{
	const struct query_param *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->p, y->p, n);
	size_t xv, yv;

	if (c != 0)
		return c;
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	xv = x->len - x->name_len;
	yv = y->len - y->name_len;
	n = xv < yv ? xv : yv;
	c = memcmp(x->p + x->name_len, y->p + y->name_len, n);
	if (c != 0)
		return c;
	return xv < yv ? -1 : xv > yv;
}

/* Appends decode-then-encode of s[0..n) to b. */
static int reencode(struct pz_buf *b, struct pz_buf *tmp, const char *s,
		    size_t n)
{
	pz_buf_reset(tmp);
	if (uri_decode(tmp, s, n))
		return tmp->err;
	return sigv4_uri_encode(b, tmp->p, tmp->len, 0, 0);
}

int sigv4_canonical_query(struct pz_buf *b, const char *query, size_t n)
{
	struct pz_buf enc = { NULL, 0, 0, 0 }, tmp = { NULL, 0, 0, 0 };
	struct query_param *params = NULL;
	size_t count = 0, i, start;
	int rc = SIGV4_OK;

	if (query == NULL || n == 0)
		return SIGV4_OK;
	for (i = 0; i < n; i++)
		count += query[i] == '&';
	params = calloc(count + 1, sizeof *params);
	if (params == NULL)
		return b->err = SIGV4_ENOMEM;

	/* Encode every "name=value" into `enc`, skipping empty parameters. */
	count = 0;
	for (start = 0; start <= n && rc == SIGV4_OK; start = i + 1) {
		size_t eq;

		for (i = start; i < n && query[i] != '&'; i++)
			;
		if (i == start)
			continue;
		for (eq = start; eq < i && query[eq] != '='; eq++)
			;
		params[count].off = enc.len;
		rc = reencode(&enc, &tmp, query + start, eq - start);
		params[count].name_len = enc.len - params[count].off;
		if (rc == SIGV4_OK)
			rc = pz_buf_addc(&enc, '=');
		if (rc == SIGV4_OK && eq < i)
			rc = reencode(&enc, &tmp, query + eq + 1, i - eq - 1);
		params[count].len = enc.len - params[count].off;
		count++;
	}
	if (rc == SIGV4_OK && count > 0) {
		for (i = 0; i < count; i++)
			params[i].p = enc.p + params[i].off;
		qsort(params, count, sizeof *params, query_param_cmp);
		for (i = 0; i < count && rc == SIGV4_OK; i++) {
			if (i > 0)
				rc = pz_buf_addc(b, '&');
			if (rc == SIGV4_OK)
				rc = pz_buf_add(b, params[i].p, params[i].len);
		}
	}
	if (rc != SIGV4_OK)
		b->err = rc;
	free(params);
	pz_buf_free(&enc);
	pz_buf_free(&tmp);
	return rc;
}

/* ---- canonical headers ------------------------------------------------ */

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int sigv4_canonical_header_value(struct pz_buf *b, const char *v, size_t n)
{
	size_t i = 0;
	int pending_space = 0, rc;
	char *o;

	/* The value never grows: reserve once, then write directly. */
	if ((rc = buf_reserve(b, n)) != SIGV4_OK)
		return rc;
	o = b->p + b->len;
	while (i < n && is_space(v[i]))
		i++;
	for (; i < n; i++) {
		if (is_space(v[i])) {
			pending_space = 1;
			continue;
		}
		if (pending_space)
			*o++ = ' ';
		pending_space = 0;
		*o++ = v[i];
	}
	b->len = (size_t)(o - b->p);
	b->p[b->len] = '\0';
	return SIGV4_OK;
}

static int ascii_lower(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

/* Case-insensitive order of names, then the order given (stable). */
static int header_cmp(const void *a, const void *b)
{
	const struct sigv4_header *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	size_t i;

	for (i = 0; i < n; i++) {
		int cx = ascii_lower((unsigned char)x->name[i]);
		int cy = ascii_lower((unsigned char)y->name[i]);

		if (cx != cy)
			return cx - cy;
	}
	if (x->name_len != y->name_len)
		return x->name_len < y->name_len ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static int same_name(const struct sigv4_header *x, const struct sigv4_header *y)
{
	size_t i;

	if (x->name_len != y->name_len)
		return 0;
	for (i = 0; i < x->name_len; i++)
		if (ascii_lower((unsigned char)x->name[i]) !=
		    ascii_lower((unsigned char)y->name[i]))
			return 0;
	return 1;
}

static int add_lower(struct pz_buf *b, const char *s, size_t n)
{
	size_t i;
	int rc;

	if ((rc = buf_reserve(b, n)) != SIGV4_OK)
		return rc;
	for (i = 0; i < n; i++)
		b->p[b->len + i] = (char)ascii_lower((unsigned char)s[i]);
	b->len += n;
	b->p[b->len] = '\0';
	return SIGV4_OK;
}

/* ---- canonical request ------------------------------------------------ */

int sigv4_canonical_request(struct pz_buf *out, struct sigv4_request *req,
			    struct sigv4_span *signed_headers)
{
	size_t i;

	pz_buf_add(out, req->method, req->method_len);
	pz_buf_addc(out, '\n');
	sigv4_canonical_path(out, req->path, req->path_len,
			     req->normalize_path, req->double_encode);
	pz_buf_addc(out, '\n');
	sigv4_canonical_query(out, req->query, req->query_len);
	pz_buf_addc(out, '\n');

	if (req->nheaders > 1)
		qsort(req->headers, req->nheaders, sizeof *req->headers,
		      header_cmp);
	/* "name:v1,v2\n" per distinct name; repeated names join with ',' */
	for (i = 0; i < req->nheaders && !out->err; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (i > 0 && same_name(h, h - 1)) {
			out->len--;	/* undo the '\n' of the previous value */
			pz_buf_addc(out, ',');
		} else {
			add_lower(out, h->name, h->name_len);
			pz_buf_addc(out, ':');
		}
		sigv4_canonical_header_value(out, h->value, h->value_len);
		pz_buf_addc(out, '\n');
	}
	pz_buf_addc(out, '\n');

	signed_headers->off = out->len;
	for (i = 0; i < req->nheaders && !out->err; i++) {
		const struct sigv4_header *h = &req->headers[i];

		if (i > 0 && same_name(h, h - 1))
			continue;
		if (i > 0)
			pz_buf_addc(out, ';');
		add_lower(out, h->name, h->name_len);
	}
	signed_headers->len = out->len - signed_headers->off;
	pz_buf_addc(out, '\n');
	pz_buf_add(out, req->payload_hash, req->payload_hash_len);
	return out->err;
}

/* ---- hashing and keys ------------------------------------------------- */

/*
 * SHA-256 through the low-level interface: OpenSSL 3's one-shot SHA256()
 * fetches the algorithm from the provider on every call, which costs more
 * than hashing a whole canonical request.
 */
void sigv4_sha256(const void *data, size_t n,
		  unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX ctx;

	SHA256_Init(&ctx);
	SHA256_Update(&ctx, data, n);
	SHA256_Final(out, &ctx);
}

void sigv4_sha256_hex(char out[SIGV4_HEX_LEN], const void *data, size_t n)
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	sigv4_sha256(data, n, md);
	sigv4_hex(out, md, sizeof md);
}

void sigv4_hmac_init(struct sigv4_hmac_key *k, const void *key, size_t n)
{
	unsigned char block[SHA256_CBLOCK], pad[SHA256_CBLOCK];
	size_t i;

	memset(block, 0, sizeof block);
	if (n > sizeof block)
		sigv4_sha256(key, n, block);	/* RFC 2104: long keys are hashed */
	else
		memcpy(block, key, n);
	for (i = 0; i < sizeof pad; i++)
		pad[i] = block[i] ^ 0x36;
	SHA256_Init(&k->inner);
	SHA256_Update(&k->inner, pad, sizeof pad);
	for (i = 0; i < sizeof pad; i++)
		pad[i] = block[i] ^ 0x5c;
	SHA256_Init(&k->outer);
	SHA256_Update(&k->outer, pad, sizeof pad);
	OPENSSL_cleanse(block, sizeof block);
	OPENSSL_cleanse(pad, sizeof pad);
}

void sigv4_hmac(const struct sigv4_hmac_key *k, const void *msg, size_t n,
		unsigned char out[SHA256_DIGEST_LENGTH])
{
	SHA256_CTX ctx = k->inner;
	unsigned char inner[SHA256_DIGEST_LENGTH];

	SHA256_Update(&ctx, msg, n);
	SHA256_Final(inner, &ctx);
	ctx = k->outer;
	SHA256_Update(&ctx, inner, sizeof inner);
	SHA256_Final(out, &ctx);
	OPENSSL_cleanse(inner, sizeof inner);
	OPENSSL_cleanse(&ctx, sizeof ctx);
}

void sigv4_hmac_wipe(struct sigv4_hmac_key *k)
{
	OPENSSL_cleanse(k, sizeof *k);
}

/* out = HMAC(key, msg), with the key prepared on the spot. */
static void hmac_once(unsigned char out[SHA256_DIGEST_LENGTH],
		      const void *key, size_t key_len, const void *msg,
		      size_t msg_len)
{
	struct sigv4_hmac_key k;

	sigv4_hmac_init(&k, key, key_len);
	sigv4_hmac(&k, msg, msg_len, out);
	sigv4_hmac_wipe(&k);
}

int sigv4_signing_key(struct sigv4_hmac_key *out, const char *secret,
		      size_t secret_len, const char *date8, const char *region,
		      size_t region_len, const char *service,
		      size_t service_len)
{
	unsigned char k[SHA256_DIGEST_LENGTH];
	unsigned char *ksecret;

	ksecret = malloc(secret_len + 4);
	if (ksecret == NULL)
		return SIGV4_ENOMEM;
	memcpy(ksecret, "AWS4", 4);
	memcpy(ksecret + 4, secret, secret_len);
	hmac_once(k, ksecret, secret_len + 4, date8, 8);	/* kDate */
	OPENSSL_cleanse(ksecret, secret_len + 4);
	free(ksecret);
	hmac_once(k, k, sizeof k, region, region_len);	/* kRegion */
	hmac_once(k, k, sizeof k, service, service_len);	/* kService */
	hmac_once(k, k, sizeof k, "aws4_request", 12);	/* kSigning */
	sigv4_hmac_init(out, k, sizeof k);
	OPENSSL_cleanse(k, sizeof k);
	return SIGV4_OK;
}

int sigv4_string_to_sign(struct pz_buf *out, const char *amz_date,
			 const char *region, size_t region_len,
			 const char *service, size_t service_len,
			 const char canonical_hash[SIGV4_HEX_LEN])
{
	pz_buf_add(out, "AWS4-HMAC-SHA256\n", 17);
	pz_buf_add(out, amz_date, SIGV4_DATE_LEN);
	pz_buf_addc(out, '\n');
	pz_buf_add(out, amz_date, 8);
	pz_buf_addc(out, '/');
	pz_buf_add(out, region, region_len);
	pz_buf_addc(out, '/');
	pz_buf_add(out, service, service_len);
	pz_buf_add(out, "/aws4_request\n", 14);
	pz_buf_add(out, canonical_hash, SIGV4_HEX_LEN);
	return out->err;
}
