/*
 * sign_loop.c - the baseline for the signing benchmark: the same SigV4
 * work as one client request (hash the body, build and hash the canonical
 * request, build the string to sign, one HMAC with a cached key, hex),
 * in a plain C loop with no Lua. Prints nanoseconds per signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sigv4.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 200000, i;
	const char *body = "{\"campaignArn\":\"arn:aws:personalize:us-east-1:123456789012:campaign/movies\",\"numResults\":10,\"userId\":\"42\"}";
	struct sigv4_header headers[4];
	struct pz_buf creq = { NULL, 0, 0, 0 }, sts = { NULL, 0, 0, 0 };
	struct sigv4_hmac_key key;
	char payload[SIGV4_HEX_LEN], hash[SIGV4_HEX_LEN], sig[SIGV4_HEX_LEN];
	unsigned char mac[32];
	volatile char sink = 0;
	double t0, t1;

	sigv4_signing_key(&key, "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 40,
			  "20150830", "us-east-1", 9, "personalize", 11);
	t0 = now();
	for (i = 0; i < n; i++) {
		struct sigv4_request req;
		struct sigv4_span sh;

		headers[0] = (struct sigv4_header){ "Content-Type", 12, "application/json", 16, 0 };
		headers[1] = (struct sigv4_header){ "Host", 4, "personalize-runtime.us-east-1.amazonaws.com", 43, 1 };
		headers[2] = (struct sigv4_header){ "X-Amz-Date", 10, "20150830T123600Z", 16, 2 };
		sigv4_sha256_hex(payload, body, strlen(body));
		memset(&req, 0, sizeof req);
		req.method = "POST"; req.method_len = 4;
		req.path = "/recommendations"; req.path_len = 16;
		req.headers = headers; req.nheaders = 3;
		req.payload_hash = payload; req.payload_hash_len = SIGV4_HEX_LEN;
		req.normalize_path = req.double_encode = 1;
		pz_buf_reset(&creq);
		pz_buf_reset(&sts);
		sigv4_canonical_request(&creq, &req, &sh);
		sigv4_sha256_hex(hash, creq.p, creq.len);
		sigv4_string_to_sign(&sts, "20150830T123600Z", "us-east-1", 9,
				     "personalize", 11, hash);
		sigv4_hmac(&key, sts.p, sts.len, mac);
		sigv4_hex(sig, mac, sizeof mac);
		sink ^= sig[0];
	}
	t1 = now();
	printf("%.1f\n", (t1 - t0) * 1e9 / (double)n);
	pz_buf_free(&creq);
	pz_buf_free(&sts);
	return sink == 127;
}
