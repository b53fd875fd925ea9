/*
 * http_plain.h - HTTP/1.1 over one kept-alive TCP connection, for plain
 * http:// requests whose body is in memory: the fast path of
 * personalize.http. libcurl serves everything else (TLS, proxies, files,
 * concurrent transfers); this path exists because libcurl's per-request
 * work (header generation, its state machine, five polls) costs more
 * than the rest of a signed Personalize call on loopback.
 *
 * Pure C: no Lua, no libcurl. The response head and body go to callbacks
 * shaped like libcurl's header and write callbacks, so personalize.http
 * keeps one way of collecting a response:
 *
 *   struct plain_conn c;  plain_init(&c);
 *   struct plain_request r = { .host = "127.0.0.1", .port = "8642",
 *       .authority = "127.0.0.1:8642", .head = "POST / HTTP/1.1\r\n...\r\n\r\n",
 *       .head_len = n, .body = b, .body_len = m, .connect_ms = 10000,
 *       .timeout_ms = 60000, .on_header = f, .on_body = g, .ud = p };
 *   enum plain_result rc = plain_perform(&c, &r);   -- r.status, r.message
 *   plain_close(&c);                                -- also frees buffers
 *
 * The connection is reused while the peer keeps it open and the same
 * authority is asked for; a request that finds a reused connection closed
 * before any byte of its answer arrived is sent once more on a new one.
 * Responses may have a Content-Length, be chunked, or run to the close of
 * the connection; 1xx heads are passed on and skipped.
 */
#ifndef PERSONALIZE_HTTP_PLAIN_H
#define PERSONALIZE_HTTP_PLAIN_H

#include <stddef.h>

#define PLAIN_AUTHORITY_MAX 300

enum plain_result {
	PLAIN_OK = 0,
	PLAIN_RESOLVE_ERROR,	/* the host name did not resolve */
	PLAIN_CONNECT_ERROR,	/* refused, unreachable, ... */
	PLAIN_CONNECT_TIMEOUT,	/* no connection within connect_ms */
	PLAIN_READ_TIMEOUT,	/* connected, no full answer in time */
	PLAIN_CLOSED,		/* the peer closed before the answer ended */
	PLAIN_PROTOCOL_ERROR,	/* not a well-formed HTTP/1.x answer */
	PLAIN_ABORTED,		/* a callback refused the data */
	PLAIN_IO_ERROR,		/* send or receive failed otherwise */
	PLAIN_NO_MEMORY,
	PLAIN_AGAIN		/* non-blocking use: wait for the socket */
};

struct plain_conn {
	int fd;			/* -1: not connected */
	int served;		/* answers received on fd */
	char authority[PLAIN_AUTHORITY_MAX];	/* what fd is connected to */
	char *in;		/* bytes received, in[pos .. len) not consumed */
	size_t in_len, in_pos, in_cap;
};

struct plain_request {
	/* in */
	const char *host;	/* for getaddrinfo: no brackets, NUL-ended */
	const char *port;	/* decimal, NUL-ended */
	const char *authority;	/* identifies the connection, NUL-ended */
	const char *head;	/* request line, fields and the empty line */
	size_t head_len;
	const char *body;	/* may be NULL when body_len is 0 */
	size_t body_len;
	int head_only;		/* HEAD: the answer has no body */
	long connect_ms, timeout_ms;	/* timeout_ms counts from the start */
	size_t (*on_header)(char *line, size_t size, size_t n, void *ud);
	size_t (*on_body)(char *data, size_t size, size_t n, void *ud);
	void *ud;
	/* out */
	int status;		/* the final status code */
	char message[160];	/* why, when the result is not PLAIN_OK */
};

void plain_init(struct plain_conn *c);
void plain_close(struct plain_conn *c);
enum plain_result plain_perform(struct plain_conn *c, struct plain_request *r);

/*
 * The same request without blocking, for a caller that waits on many
 * sockets at once (personalize.multi):
 *
 *   struct plain_async a;
 *   rc = plain_start(c, r, &a);
 *   while (rc == PLAIN_AGAIN) {
 *           poll a.fd for a.events, at most until plain_wake(&a);
 *           rc = ready ? plain_resume(c, r, &a) : plain_expire(c, r, &a);
 *   }
 *   -- rc and r->status / r->message as from plain_perform
 *
 * The answer is buffered whole and handed to the callbacks once it is
 * complete. plain_abandon(c, &a) drops a transfer in flight (and the
 * connection). The host name is resolved, when a connection is opened,
 * by a blocking getaddrinfo.
 */
struct plain_async {
	int fd;			/* wait on this ... */
	short events;		/* ... for these (POLLIN / POLLOUT) */
	int phase;
	int retried;		/* sent once more after a stale connection */
	long long deadline, connect_deadline;	/* ms, CLOCK_MONOTONIC */
	size_t sent;
	void *addrs, *next_addr;	/* struct addrinfo while connecting */
};

enum plain_result plain_start(struct plain_conn *c, struct plain_request *r,
			      struct plain_async *a);
enum plain_result plain_resume(struct plain_conn *c, struct plain_request *r,
			       struct plain_async *a);
enum plain_result plain_expire(struct plain_conn *c, struct plain_request *r,
			       struct plain_async *a);
long long plain_wake(const struct plain_async *a);
long long plain_now_ms(void);
void plain_abandon(struct plain_conn *c, struct plain_async *a);

#endif
