/*
 * http_plain.c - HTTP/1.1 over one kept-alive TCP connection (see
 * http_plain.h for the contract).
 *
 * One request costs three system calls when the answer fits one read:
 * sendmsg (head and body together), poll, recv. Sockets are non-blocking;
 * every wait is a poll bounded by the request's deadline, so a stalled
 * peer ends in PLAIN_READ_TIMEOUT, never in a hang.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "http_parse.h"
#include "http_plain.h"

#define PLAIN_READ_SIZE 16384		/* free space wanted before a recv */
#define PLAIN_MAX_BUFFER (1024 * 1024 + 4096)	/* longest head line + slack */
#define PLAIN_MAX_CHUNK_LINE 1024	/* "size;extensions" of a chunk */
#define PLAIN_MAX_ANSWER ((size_t)1 << 30)	/* a whole answer, non-blocking */

/* The state of reading one answer. */
struct plain_read {
	struct plain_conn *c;
	struct plain_request *r;
	long long deadline;		/* ms, CLOCK_MONOTONIC */
	int eof;			/* the peer closed its side */
	int wait_first;			/* poll before the next recv */
	size_t received;		/* bytes of this answer so far */
	/*
	 * Non-blocking reading (plain_resume): no byte of the answer is
	 * dropped from c->in, a recv that would block ends the attempt with
	 * PLAIN_AGAIN, and a dry attempt only checks that the whole answer is
	 * there (no callback, no change to the connection).
	 */
	int nonblocking, dry;
};

long long plain_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds left until `deadline`, for poll. */
static int plain_left(long long deadline)
{
	long long d = deadline - plain_now_ms();

	if (d < 0)
		return 0;
	return d > INT_MAX ? INT_MAX : (int)d;
}

#if defined(__GNUC__)
static void plain_say(struct plain_request *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#endif

static void plain_say(struct plain_request *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->message, sizeof r->message, fmt, ap);
	va_end(ap);
}

void plain_init(struct plain_conn *c)
{
	memset(c, 0, sizeof *c);
	c->fd = -1;
}

static void plain_disconnect(struct plain_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->served = 0;
	c->authority[0] = '\0';
	c->in_len = c->in_pos = 0;
}

void plain_close(struct plain_conn *c)
{
	plain_disconnect(c);
	free(c->in);
	c->in = NULL;
	c->in_cap = 0;
}

/* Waits until fd is ready for `events` or the deadline: 1, 0 (time), -1. */
static int plain_wait(int fd, short events, long long deadline)
{
	struct pollfd p;
	int n;

	p.fd = fd;
	p.events = events;
	p.revents = 0;
	do
		n = poll(&p, 1, plain_left(deadline));
	while (n < 0 && errno == EINTR);
	return n;
}

/* Makes the connected socket `fd` c's connection to r's authority. */
static void plain_adopt(struct plain_conn *c, struct plain_request *r, int fd)
{
	int one = 1;

	/* Requests are written whole: send them at once. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	c->fd = fd;
	c->served = 0;
	snprintf(c->authority, sizeof c->authority, "%s", r->authority);
	c->in_len = c->in_pos = 0;
}

/* r's host and port as addresses (*res for freeaddrinfo). */
static enum plain_result plain_resolve(struct plain_request *r,
				       struct addrinfo **res)
{
	struct addrinfo hints;
	int rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	rc = getaddrinfo(r->host, r->port, &hints, res);
	if (rc != 0) {
		plain_say(r, "cannot resolve %s: %s", r->host,
			  rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return PLAIN_RESOLVE_ERROR;
	}
	return PLAIN_OK;
}

/* A non-blocking, close-on-exec stream socket for `ai`, or -1 (errno). */
static int plain_socket(const struct addrinfo *ai)
{
	int fd = socket(ai->ai_family, ai->ai_socktype, ai->ai_protocol);

	if (fd < 0)
		return -1;
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
		int err = errno;

		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

/* ---------------------------------------------------------------------
 * Connecting, without blocking: the blocking path waits on these steps
 * itself, a multi waits on them with its other sockets.
 */

enum { ASYNC_DONE = 0, ASYNC_CONNECTING, ASYNC_SENDING, ASYNC_RECEIVING };

long long plain_wake(const struct plain_async *a)
{
	if (a->phase == ASYNC_CONNECTING && a->connect_deadline < a->deadline)
		return a->connect_deadline;
	return a->deadline;
}

static void async_free_addrs(struct plain_async *a)
{
	if (a->addrs != NULL)
		freeaddrinfo(a->addrs);
	a->addrs = a->next_addr = NULL;
}

/* Ends the transfer with `rc`, dropping the connection unless OK. */
static enum plain_result async_end(struct plain_conn *c, struct plain_async *a,
				   enum plain_result rc)
{
	if (a->phase == ASYNC_CONNECTING && a->fd >= 0)
		close(a->fd);	/* not adopted by c yet */
	async_free_addrs(a);
	if (rc != PLAIN_OK)
		plain_disconnect(c);
	a->phase = ASYNC_DONE;
	a->fd = -1;
	a->events = 0;
	return rc;
}

/*
 * Tries the addresses not tried yet: PLAIN_OK once one is connected (c
 * holds it), PLAIN_AGAIN while one is in progress (a->fd, POLLOUT), or
 * the last failure when none worked.
 */
static enum plain_result dial_next(struct plain_conn *c,
				   struct plain_request *r,
				   struct plain_async *a, int err)
{
	struct addrinfo *ai;

	while ((ai = a->next_addr) != NULL) {
		int fd;

		a->next_addr = ai->ai_next;
		fd = plain_socket(ai);
		if (fd < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
			async_free_addrs(a);
			plain_adopt(c, r, fd);
			return PLAIN_OK;
		}
		if (errno == EINPROGRESS) {
			a->phase = ASYNC_CONNECTING;
			a->fd = fd;
			a->events = POLLOUT;
			return PLAIN_AGAIN;
		}
		err = errno;
		close(fd);
	}
	plain_say(r, "cannot connect to %s: %s", r->authority, strerror(err));
	return async_end(c, a, PLAIN_CONNECT_ERROR);
}

/* Resolves r's host and starts connecting (see dial_next). */
static enum plain_result dial_start(struct plain_conn *c,
				    struct plain_request *r,
				    struct plain_async *a)
{
	struct addrinfo *res = NULL;
	enum plain_result rc = plain_resolve(r, &res);

	if (rc != PLAIN_OK)
		return async_end(c, a, rc);
	a->addrs = a->next_addr = res;
	a->connect_deadline = plain_now_ms() + r->connect_ms;
	return dial_next(c, r, a, ECONNREFUSED);
}

/* The connect in progress on a->fd, once it is writable (see dial_next). */
static enum plain_result dial_check(struct plain_conn *c,
				    struct plain_request *r,
				    struct plain_async *a)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return PLAIN_AGAIN;
	if (err == 0) {
		int fd = a->fd;

		async_free_addrs(a);
		plain_adopt(c, r, fd);
		return PLAIN_OK;
	}
	close(a->fd);
	a->fd = -1;
	return dial_next(c, r, a, err);
}

/* No connection by plain_wake(a). */
static enum plain_result dial_timeout(struct plain_conn *c,
				      struct plain_request *r,
				      struct plain_async *a)
{
	plain_say(r, "no connection to %s within %ld ms", r->authority, r->connect_ms);
	return async_end(c, a, PLAIN_CONNECT_TIMEOUT);
}

/* Connects c to r's host and port within connect_ms (and the deadline). */
static enum plain_result plain_connect(struct plain_conn *c,
				       struct plain_request *r,
				       long long deadline)
{
	struct plain_async a;
	enum plain_result rc;

	memset(&a, 0, sizeof a);
	a.fd = -1;
	a.deadline = deadline;
	rc = dial_start(c, r, &a);
	while (rc == PLAIN_AGAIN) {
		if (plain_wait(a.fd, POLLOUT, plain_wake(&a)) == 0)
			return dial_timeout(c, r, &a);
		rc = dial_check(c, r, &a);
	}
	return rc;
}

/* Writes head and body; *stale when a reused connection turned out dead. */
static enum plain_result plain_send(struct plain_conn *c,
				    struct plain_request *r,
				    long long deadline, int *stale,
				    size_t *progress, int nonblocking)
{
	size_t total = r->head_len + r->body_len, done = *progress;

	while (done < total) {
		struct iovec iov[2];
		struct msghdr msg;
		ssize_t n;

		memset(&msg, 0, sizeof msg);
		if (done < r->head_len) {
			iov[0].iov_base = (void *)(uintptr_t)(r->head + done);
			iov[0].iov_len = r->head_len - done;
			iov[1].iov_base = (void *)(uintptr_t)r->body;
			iov[1].iov_len = r->body_len;
			msg.msg_iovlen = r->body_len > 0 ? 2 : 1;
		} else {
			iov[0].iov_base = (void *)(uintptr_t)(r->body + (done - r->head_len));
			iov[0].iov_len = total - done;
			msg.msg_iovlen = 1;
		}
		msg.msg_iov = iov;
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL);
		if (n > 0) {
			done += (size_t)n;
			*progress = done;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (nonblocking)
				return PLAIN_AGAIN;
			if (plain_wait(c->fd, POLLOUT, deadline) == 0) {
				plain_say(r, "timed out sending to %s", r->authority);
				return PLAIN_READ_TIMEOUT;
			}
			continue;
		}
		if (done == 0 && c->served > 0 &&
		    (errno == EPIPE || errno == ECONNRESET))
			*stale = 1;
		plain_say(r, "cannot send to %s: %s", r->authority, strerror(errno));
		return PLAIN_IO_ERROR;
	}
	return PLAIN_OK;
}

/* Receives more bytes into c->in (or sets st->eof). */
static enum plain_result plain_fill(struct plain_read *st)
{
	struct plain_conn *c = st->c;

	if (c->in_pos > 0 && !st->nonblocking) {
		memmove(c->in, c->in + c->in_pos, c->in_len - c->in_pos);
		c->in_len -= c->in_pos;
		c->in_pos = 0;
	}
	if (c->in_cap - c->in_len < PLAIN_READ_SIZE / 2) {
		size_t cap = c->in_cap == 0 ? PLAIN_READ_SIZE : c->in_cap * 2;
		char *p;

		if (cap > (st->nonblocking ? PLAIN_MAX_ANSWER : PLAIN_MAX_BUFFER)) {
			if (c->in_cap - c->in_len > 0)
				cap = c->in_cap;
			else {
				plain_say(st->r, "a line of the answer from %s is too long",
					  st->r->authority);
				return PLAIN_PROTOCOL_ERROR;
			}
		}
		if (cap != c->in_cap) {
			p = realloc(c->in, cap);
			if (p == NULL) {
				plain_say(st->r, "out of memory receiving from %s",
					  st->r->authority);
				return PLAIN_NO_MEMORY;
			}
			c->in = p;
			c->in_cap = cap;
		}
	}
	for (;;) {
		ssize_t n;

		if (st->wait_first) {
			st->wait_first = 0;
			if (plain_wait(c->fd, POLLIN, st->deadline) == 0)
				goto timeout;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n > 0) {
			c->in_len += (size_t)n;
			st->received += (size_t)n;
			return PLAIN_OK;
		}
		if (n == 0 || errno == ECONNRESET) {
			st->eof = 1;
			return PLAIN_OK;
		}
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK) {
			if (st->nonblocking)
				return PLAIN_AGAIN;
			st->wait_first = 1;
			continue;
		}
		plain_say(st->r, "cannot receive from %s: %s", st->r->authority,
			  strerror(errno));
		return PLAIN_IO_ERROR;
	}
timeout:
	plain_say(st->r, "no full answer from %s within %ld ms",
		  st->r->authority, st->r->timeout_ms);
	return PLAIN_READ_TIMEOUT;
}

static enum plain_result plain_closed(struct plain_read *st)
{
	plain_say(st->r, "%s closed the connection %s", st->r->authority,
		  st->received == 0 && st->c->in_len == 0 ? "without an answer" :
		  "before the answer ended");
	return PLAIN_CLOSED;
}

/* The next line (with its LF) of at most `max` bytes. */
static enum plain_result plain_line(struct plain_read *st, char **line,
				    size_t *len, size_t max)
{
	struct plain_conn *c = st->c;

	for (;;) {
		size_t avail = c->in_len - c->in_pos;
		char *start = avail > 0 ? c->in + c->in_pos : NULL;
		char *lf = avail > 0 ? memchr(start, '\n', avail) : NULL;
		enum plain_result rc;

		if (lf != NULL) {
			*line = start;
			*len = (size_t)(lf - start) + 1;
			c->in_pos += *len;
			return PLAIN_OK;
		}
		if (avail > max) {
			plain_say(st->r, "a line of the answer from %s is too long",
				  st->r->authority);
			return PLAIN_PROTOCOL_ERROR;
		}
		if (st->eof)
			return plain_closed(st);
		rc = plain_fill(st);
		if (rc != PLAIN_OK)
			return rc;
	}
}

/* Hands `n` buffered bytes to on_body. */
static enum plain_result plain_deliver(struct plain_read *st, size_t n)
{
	struct plain_conn *c = st->c;

	if (n > 0 && !st->dry &&
	    st->r->on_body(c->in + c->in_pos, 1, n, st->r->ud) != n) {
		plain_say(st->r, "the answer from %s was refused", st->r->authority);
		return PLAIN_ABORTED;
	}
	c->in_pos += n;
	return PLAIN_OK;
}

/* `left` bytes of body, or to the close of the connection when negative. */
static enum plain_result plain_body(struct plain_read *st, long long left)
{
	struct plain_conn *c = st->c;

	while (left != 0) {
		size_t avail = c->in_len - c->in_pos, n = avail;
		enum plain_result rc;

		if (avail == 0) {
			if (st->eof)
				return left < 0 ? PLAIN_OK : plain_closed(st);
			rc = plain_fill(st);
			if (rc != PLAIN_OK)
				return rc;
			continue;
		}
		if (left > 0 && (unsigned long long)left < n)
			n = (size_t)left;
		rc = plain_deliver(st, n);
		if (rc != PLAIN_OK)
			return rc;
		if (left > 0)
			left -= (long long)n;
	}
	return PLAIN_OK;
}

/* True when the line is empty (CRLF or LF alone). */
static int plain_blank(const char *line, size_t len)
{
	return len == 1 || (len == 2 && line[0] == '\r');
}

/* A chunked body, its trailer fields skipped. */
static enum plain_result plain_chunked(struct plain_read *st)
{
	for (;;) {
		char *line;
		size_t len, i = 0;
		long long size = 0;
		enum plain_result rc = plain_line(st, &line, &len, PLAIN_MAX_CHUNK_LINE);

		if (rc != PLAIN_OK)
			return rc;
		for (; i < len; i++) {
			int d, ch = (unsigned char)line[i];

			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else if (ch >= 'A' && ch <= 'F')
				d = ch - 'A' + 10;
			else
				break;
			if (size > (LLONG_MAX >> 4))
				goto bad;
			size = size * 16 + d;
		}
		if (i == 0 || (line[i] != ';' && line[i] != '\r' && line[i] != '\n' &&
			       line[i] != ' ' && line[i] != '\t'))
			goto bad;
		if (size == 0)
			break;
		rc = plain_body(st, size);
		if (rc != PLAIN_OK)
			return rc;
		rc = plain_line(st, &line, &len, PLAIN_MAX_CHUNK_LINE);
		if (rc != PLAIN_OK)
			return rc;
		if (!plain_blank(line, len))
			goto bad;
	}
	for (;;) {	/* trailer fields, then the empty line */
		char *line;
		size_t len;
		enum plain_result rc = plain_line(st, &line, &len, PLAIN_MAX_BUFFER);

		if (rc != PLAIN_OK)
			return rc;
		if (plain_blank(line, len))
			return PLAIN_OK;
	}
bad:
	plain_say(st->r, "a malformed chunk in the answer from %s", st->r->authority);
	return PLAIN_PROTOCOL_ERROR;
}

/* True when the comma-separated value holds `token` (any case). */
static int plain_has_token(const char *v, size_t n, const char *token)
{
	size_t tlen = strlen(token), i = 0;

	while (i < n) {
		size_t start, end, k;

		while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
			i++;
		start = i;
		while (i < n && v[i] != ',')
			i++;
		end = i;
		while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
			end--;
		if (end - start != tlen)
			continue;
		for (k = 0; k < tlen; k++) {
			char a = v[start + k];

			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (a != token[k])
				break;
		}
		if (k == tlen)
			return 1;
	}
	return 0;
}

/* Reads one answer: heads (1xx ones passed on and skipped), then body. */
static enum plain_result plain_receive(struct plain_conn *c,
				       struct plain_request *r,
				       long long deadline, int *stale,
				       int nonblocking, int dry)
{
	struct plain_read st;
	struct http_header_line hl;
	long long length = -1;
	int status = 0, want_status = 1, chunked = 0, close_after = 0;
	int http10 = 0, keep_alive = 0;
	enum plain_result rc;

	memset(&st, 0, sizeof st);
	st.c = c;
	st.r = r;
	st.deadline = deadline;
	st.wait_first = !nonblocking;
	st.nonblocking = nonblocking;
	st.dry = dry;
	for (;;) {
		char *line;
		size_t len;

		rc = plain_line(&st, &line, &len, PLAIN_MAX_BUFFER);
		if (rc != PLAIN_OK) {
			if (rc == PLAIN_CLOSED && st.received == 0 && c->in_len == 0 &&
			    c->served > 0)
				*stale = 1;
			return rc;
		}
		switch (http_parse_header_line(line, len, &hl)) {
		case HTTP_LINE_STATUS:
			if (hl.status < 100)
				goto bad;
			status = hl.status;
			want_status = 0;
			http10 = len >= 8 && memcmp(line, "HTTP/1.0", 8) == 0;
			length = -1;
			chunked = close_after = keep_alive = 0;
			break;
		case HTTP_LINE_FIELD:
			if (want_status)
				goto bad;
			if (http_name_is(hl.name, hl.name_len, "content-length")) {
				long long v = 0;
				size_t i;

				if (hl.value_len == 0)
					goto bad;
				for (i = 0; i < hl.value_len; i++) {
					char ch = hl.value[i];

					if (ch < '0' || ch > '9' || v > (LLONG_MAX - 9) / 10)
						goto bad;
					v = v * 10 + (ch - '0');
				}
				if (length >= 0 && length != v)
					goto bad;
				length = v;
			} else if (http_name_is(hl.name, hl.name_len, "transfer-encoding")) {
				if (!plain_has_token(hl.value, hl.value_len, "chunked"))
					goto bad;	/* no coding was asked for */
				chunked = 1;
			} else if (http_name_is(hl.name, hl.name_len, "connection")) {
				close_after |= plain_has_token(hl.value, hl.value_len, "close");
				keep_alive |= plain_has_token(hl.value, hl.value_len, "keep-alive");
			}
			break;
		case HTTP_LINE_END:
			if (want_status)
				goto bad;
			break;
		case HTTP_LINE_INVALID:
			if (want_status)
				goto bad;
			break;
		}
		if (!dry && r->on_header(line, 1, len, r->ud) != len) {
			plain_say(r, "the answer from %s was refused", r->authority);
			return PLAIN_ABORTED;
		}
		if (hl.kind != HTTP_LINE_END)
			continue;
		if (status >= 200)
			break;
		if (status == 101)
			goto bad;	/* no upgrade was asked for */
		want_status = 1;	/* 1xx: the real answer follows */
	}
	r->status = status;
	if (http10 && !keep_alive)
		close_after = 1;
	if (r->head_only || status == 204 || status == 304) {
		rc = PLAIN_OK;
	} else if (chunked) {
		rc = plain_chunked(&st);
	} else if (length >= 0) {
		rc = plain_body(&st, length);
	} else {
		rc = plain_body(&st, -1);
		close_after = 1;
	}
	if (rc != PLAIN_OK || dry)
		return rc;
	c->served++;
	/* Bytes past the answer: the connection cannot be trusted again. */
	if (close_after || st.eof || c->in_pos != c->in_len)
		plain_disconnect(c);
	else
		c->in_len = c->in_pos = 0;
	return PLAIN_OK;
bad:
	plain_say(r, "%s sent a malformed HTTP answer", r->authority);
	return PLAIN_PROTOCOL_ERROR;
}

enum plain_result plain_perform(struct plain_conn *c, struct plain_request *r)
{
	long long deadline = plain_now_ms() + r->timeout_ms;
	enum plain_result rc = PLAIN_OK;
	int attempt;

	r->status = 0;
	r->message[0] = '\0';
	if (c->fd >= 0 && strcmp(c->authority, r->authority) != 0)
		plain_disconnect(c);
	for (attempt = 0; attempt < 2; attempt++) {
		int stale = 0;
		size_t sent = 0;

		if (c->fd < 0) {
			rc = plain_connect(c, r, deadline);
			if (rc != PLAIN_OK)
				return rc;
		}
		rc = plain_send(c, r, deadline, &stale, &sent, 0);
		if (rc == PLAIN_OK)
			rc = plain_receive(c, r, deadline, &stale, 0, 0);
		if (rc == PLAIN_OK)
			return PLAIN_OK;
		plain_disconnect(c);
		if (!stale)
			return rc;
		/* A kept-alive connection the peer had closed: once more. */
		r->message[0] = '\0';
	}
	return rc;
}

/* ---------------------------------------------------------------------
 * Without blocking (see http_plain.h): the same steps, each one ending
 * with PLAIN_AGAIN where the blocking path would poll.
 */

static enum plain_result async_begin(struct plain_conn *c,
				     struct plain_request *r,
				     struct plain_async *a);

/* A kept connection turned out closed: once more on a new one. */
static enum plain_result async_stale(struct plain_conn *c,
				     struct plain_request *r,
				     struct plain_async *a,
				     enum plain_result rc)
{
	if (a->retried)
		return async_end(c, a, rc);
	a->retried = 1;
	plain_disconnect(c);
	r->message[0] = '\0';
	return async_begin(c, r, a);
}

static enum plain_result async_send(struct plain_conn *c,
				    struct plain_request *r,
				    struct plain_async *a)
{
	int stale = 0;
	enum plain_result rc;

	a->phase = ASYNC_SENDING;
	a->fd = c->fd;
	rc = plain_send(c, r, a->deadline, &stale, &a->sent, 1);
	if (rc == PLAIN_AGAIN) {
		a->events = POLLOUT;
		return rc;
	}
	if (stale)
		return async_stale(c, r, a, rc);
	if (rc != PLAIN_OK)
		return async_end(c, a, rc);
	a->phase = ASYNC_RECEIVING;
	a->events = POLLIN;
	c->in_len = c->in_pos = 0;
	return PLAIN_AGAIN;
}

static enum plain_result async_begin(struct plain_conn *c,
				     struct plain_request *r,
				     struct plain_async *a)
{
	a->sent = 0;
	if (c->fd < 0) {
		enum plain_result rc = dial_start(c, r, a);

		if (rc != PLAIN_OK)
			return rc;
	}
	return async_send(c, r, a);
}

enum plain_result plain_start(struct plain_conn *c, struct plain_request *r,
			      struct plain_async *a)
{
	memset(a, 0, sizeof *a);
	a->fd = -1;
	r->status = 0;
	r->message[0] = '\0';
	a->deadline = plain_now_ms() + r->timeout_ms;
	if (c->fd >= 0 && strcmp(c->authority, r->authority) != 0)
		plain_disconnect(c);
	return async_begin(c, r, a);
}

/*
 * The answer so far, parsed from its first byte: a dry pass says whether
 * it is all there; then the real pass hands it to the callbacks.
 */
static enum plain_result async_receive(struct plain_conn *c,
				       struct plain_request *r,
				       struct plain_async *a)
{
	int stale = 0;
	enum plain_result rc;

	c->in_pos = 0;
	rc = plain_receive(c, r, a->deadline, &stale, 1, 1);
	if (rc == PLAIN_AGAIN)
		return rc;
	if (rc == PLAIN_OK) {
		c->in_pos = 0;
		rc = plain_receive(c, r, a->deadline, &stale, 1, 0);
	}
	if (rc == PLAIN_OK) {
		a->phase = ASYNC_DONE;
		a->fd = -1;
		a->events = 0;
		return rc;
	}
	if (stale)
		return async_stale(c, r, a, rc);
	return async_end(c, a, rc);
}

enum plain_result plain_resume(struct plain_conn *c, struct plain_request *r,
			       struct plain_async *a)
{
	enum plain_result rc;

	switch (a->phase) {
	case ASYNC_CONNECTING:
		rc = dial_check(c, r, a);
		return rc == PLAIN_OK ? async_send(c, r, a) : rc;
	case ASYNC_SENDING:
		return async_send(c, r, a);
	case ASYNC_RECEIVING:
		return async_receive(c, r, a);
	default:
		plain_say(r, "no transfer in progress to %s", r->authority);
		return PLAIN_IO_ERROR;
	}
}

enum plain_result plain_expire(struct plain_conn *c, struct plain_request *r,
			       struct plain_async *a)
{
	long long now = plain_now_ms();

	if (a->phase == ASYNC_DONE || now < plain_wake(a))
		return a->phase == ASYNC_DONE ? PLAIN_IO_ERROR : PLAIN_AGAIN;
	if (a->phase == ASYNC_CONNECTING)
		return dial_timeout(c, r, a);
	plain_say(r, "no full answer from %s within %ld ms", r->authority,
		  r->timeout_ms);
	return async_end(c, a, PLAIN_READ_TIMEOUT);
}

void plain_abandon(struct plain_conn *c, struct plain_async *a)
{
	if (a->phase != ASYNC_DONE)
		async_end(c, a, PLAIN_IO_ERROR);
}
