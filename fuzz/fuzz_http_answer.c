/*
 * fuzz_http_answer.c - src/http_plain.c reading a whole answer, both ways.
 *
 * Input: the bytes a peer sends back, whole (head, body, anything). They
 * are written into one end of a socketpair whose writing side is then
 * shut, and the request runs on the other end as on a kept-alive
 * connection it already holds, so no connect happens and the end of the
 * input is the peer closing: once with plain_perform (blocking), once
 * with plain_start / plain_resume (as a multi drives it).
 *
 * Invariants, from the contract in src/http_plain.h:
 *   - never hangs (the end of input is an EOF, not a wait) and never
 *     reads outside its buffers (ASan);
 *   - every head line handed to on_header ends in LF and lies in the input;
 *   - PLAIN_OK only with a final status of at least 200, and the body
 *     handed to on_body is never longer than the input;
 *   - any other result says why in a non-empty message;
 *   - PLAIN_ABORTED never happens (the callbacks accept everything);
 *   - after the call the connection is closed or ready for another
 *     request (nothing buffered), and plain_close frees everything (LSan);
 *   - both ways give the same result, status, kept connection and the
 *     same number of head and body bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz_util.h"
#include "http_plain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_ANSWER 65536	/* fits a socketpair's buffer whole */

struct seen {
	size_t head_bytes, body_bytes, input;
};

/* The callback type of http_plain.h hands a mutable line. */
/* cppcheck-suppress constParameter */
static size_t on_header(char *line, size_t size, size_t n, void *ud)
{
	struct seen *s = ud;
	size_t len = size * n;

	FUZZ_CHECK(len > 0 && line[len - 1] == '\n', "a head line without LF");
	s->head_bytes += len;
	FUZZ_CHECK(s->head_bytes <= s->input, "more head than input");
	return len;
}

static size_t on_body(char *bytes, size_t size, size_t n, void *ud)
{
	struct seen *s = ud;

	(void)bytes;
	s->body_bytes += size * n;
	FUZZ_CHECK(s->body_bytes <= s->input, "more body than input");
	return size * n;
}

/* The answer `data` read through a socketpair; blocking or not. */
static enum plain_result read_answer(const uint8_t *data, size_t size,
				     int nonblocking, struct seen *s, int *status,
				     int *kept)
{
	static const char head[] = "GET / HTTP/1.1\r\nHost: fuzz\r\n\r\n";
	struct plain_conn c;
	struct plain_request r;
	enum plain_result rc;
	int sv[2];
	size_t done = 0;

	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
	while (done < size) {
		ssize_t w = write(sv[1], data + done, size - done);

		FUZZ_CHECK(w > 0, "write: %s", strerror(errno));
		done += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	FUZZ_CHECK(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0, "fcntl");

	plain_init(&c);
	c.fd = sv[0];
	strcpy(c.authority, "fuzz:80");
	memset(&r, 0, sizeof r);
	memset(s, 0, sizeof *s);
	s->input = size;
	r.host = "fuzz";
	r.port = "80";
	r.authority = "fuzz:80";
	r.head = head;
	r.head_len = sizeof head - 1;
	r.connect_ms = 1000;
	r.timeout_ms = 5000;
	r.on_header = on_header;
	r.on_body = on_body;
	r.ud = s;
	if (!nonblocking) {
		rc = plain_perform(&c, &r);
	} else {
		struct plain_async a;

		rc = plain_start(&c, &r, &a);
		while (rc == PLAIN_AGAIN) {
			struct pollfd p;

			p.fd = a.fd;
			p.events = a.events;
			p.revents = 0;
			FUZZ_CHECK(poll(&p, 1, 5000) == 1, "the answer never became readable");
			rc = plain_resume(&c, &r, &a);
		}
	}
	FUZZ_CHECK(rc != PLAIN_ABORTED, "aborted without a refusal");
	if (rc == PLAIN_OK)
		FUZZ_CHECK(r.status >= 200 && r.status <= 999, "status %d", r.status);
	else
		FUZZ_CHECK(r.message[0] != '\0', "result %d without a message", (int)rc);
	FUZZ_CHECK(c.fd < 0 || c.in_pos == c.in_len, "bytes left on a kept connection");
	*status = r.status;
	*kept = c.fd >= 0;
	plain_close(&c);
	close(sv[1]);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct seen blocking, nonblocking;
	int status_b, status_n, kept_b, kept_n;
	enum plain_result rc_b, rc_n;

	if (size > FUZZ_MAX_ANSWER)
		size = FUZZ_MAX_ANSWER;
	rc_b = read_answer(data, size, 0, &blocking, &status_b, &kept_b);
	rc_n = read_answer(data, size, 1, &nonblocking, &status_n, &kept_n);
	/* Both ways read the same answer the same way. */
	FUZZ_CHECK(rc_b == rc_n, "blocking %d, non-blocking %d", (int)rc_b, (int)rc_n);
	if (rc_b == PLAIN_OK) {
		FUZZ_CHECK(status_b == status_n && kept_b == kept_n &&
			   blocking.head_bytes == nonblocking.head_bytes &&
			   blocking.body_bytes == nonblocking.body_bytes,
			   "status %d/%d kept %d/%d head %zu/%zu body %zu/%zu",
			   status_b, status_n, kept_b, kept_n,
			   blocking.head_bytes, nonblocking.head_bytes,
			   blocking.body_bytes, nonblocking.body_bytes);
	}
	return 0;
}
