/*
 * http_multi.c - personalize.multi: many personalize.http transfers at
 * once on the calling thread (libcurl's multi interface, with the plain
 * http:// transfers' sockets waited on beside libcurl's). See http.c for
 * the contract of the module.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "http_internal.h"

/* Takes `h` out of its multi (pure C); the caller drops its record. */
void multi_unlink(struct multi *m, struct http *h)
{
	if (h->plain_used)
		plain_abandon(&h->plain, &h->pasync);	/* no-op once done */
	else
		curl_multi_remove_handle(m->multi, h->easy);
	if (h->prev != NULL)
		h->prev->next = h->next;
	else
		m->head = h->next;
	if (h->next != NULL)
		h->next->prev = h->prev;
	h->prev = h->next = NULL;
	h->multi = NULL;
	m->pending--;
}


/* ---------------------------------------------------------------------
 * personalize.multi
 *
 * A record per transfer in flight, { http userdata, id, body anchor },
 * lives in a table referenced from the registry (m->ref) under the key
 * h->slot: it keeps the handle and its body string alive while libcurl
 * uses them, and gives back the caller's id on completion.
 */

static struct multi *multi_check(lua_State *L, int idx)
{
	struct multi *m = luaL_checkudata(L, idx, MULTI_MT);

	if (m->closed)
		luaL_error(L, "attempt to use a closed " MULTI_MT);
	return m;
}

/*
 * m:close(): aborts every transfer in flight (they are not reported) and
 * leaves their http handles usable. Idempotent; also __gc and __close.
 */
static int multi_close(lua_State *L)
{
	struct multi *m = luaL_checkudata(L, 1, MULTI_MT);
	struct http *h;

	while ((h = m->head) != NULL) {
		multi_unlink(m, h);
		http_release_transfer(h, 1);
	}
	if (m->multi != NULL) {
		curl_multi_cleanup(m->multi);
		m->multi = NULL;
	}
	if (m->ref != LUA_NOREF) {
		luaL_unref(L, LUA_REGISTRYINDEX, m->ref);
		m->ref = LUA_NOREF;
	}
	free(m->wait);
	m->wait = NULL;
	m->wait_cap = 0;
	m->closed = 1;
	return 0;
}

static int multi_tostring(lua_State *L)
{
	struct multi *m = luaL_checkudata(L, 1, MULTI_MT);

	if (m->closed)
		lua_pushliteral(L, MULTI_MT " (closed)");
	else
		lua_pushfstring(L, MULTI_MT " (%p)", (void *)m);
	return 1;
}

/* m:add(h, request, id) -> true | nil, code, message */
static int multi_add(lua_State *L)
{
	struct multi *m = multi_check(L, 1);
	struct http *h = http_check(L, 2);
	CURLMcode mc;
	int n, slot;

	if (h->multi != NULL)
		return luaL_error(L, "this " HTTP_MT " is already busy in a "
				  MULTI_MT " transfer");
	luaL_checktype(L, 3, LUA_TTABLE);
	lua_settop(L, 4);
	n = http_request_prepare(L, h, 3, 1);	/* pushes the body anchor: 5 */
	if (n != 0)
		return n;
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);	/* 6: records */
	lua_createtable(L, 3, 0);			/* 7: this record */
	lua_pushvalue(L, 2);
	lua_rawseti(L, 7, 1);
	lua_pushvalue(L, 4);
	lua_rawseti(L, 7, 2);
	lua_pushvalue(L, 5);
	lua_rawseti(L, 7, 3);
	slot = luaL_ref(L, 6);
	/* Nothing below raises before the handle is fully registered. */
	if (h->plain_used) {
		h->pasync_rc = plain_start(&h->plain, &h->preq, &h->pasync);
		mc = CURLM_OK;
	} else {
		mc = curl_multi_add_handle(m->multi, h->easy);
	}
	if (mc != CURLM_OK) {
		luaL_unref(L, 6, slot);
		http_release_transfer(h, 1);
		return luaL_error(L, "curl_multi_add_handle: %s",
				  curl_multi_strerror(mc));
	}
	h->slot = slot;
	h->multi = m;
	h->prev = NULL;
	h->next = m->head;
	if (m->head != NULL)
		m->head->prev = h;
	m->head = h;
	m->pending++;
	lua_pushboolean(L, 1);
	return 1;
}

/* Appends the outcome of h's ended transfer to `results` (n so far). */
static int multi_report(lua_State *L, struct http *h, int results,
			int records, int n)
{
	lua_rawgeti(L, records, h->slot);	/* record (anchors h) */
	luaL_unref(L, records, h->slot);
	lua_createtable(L, 0, 4);
	lua_rawgeti(L, -2, 2);
	lua_setfield(L, -2, "id");
	http_push_outcome(L, h);
	if (lua_isnil(L, -3)) {
		lua_setfield(L, -4, "message");
		lua_setfield(L, -3, "code");
		lua_pop(L, 1);
	} else {
		lua_setfield(L, -4, "body");
		lua_setfield(L, -3, "headers");
		lua_setfield(L, -2, "status");
	}
	lua_rawseti(L, results, ++n);
	lua_pop(L, 1);	/* the record */
	return n;
}

/*
 * Appends a result table for every finished transfer to the array at
 * `results`, starting after index `n`; `records` is the record table.
 * Returns the new length of the array.
 */
static int multi_collect(lua_State *L, struct multi *m, int results,
			 int records, int n)
{
	CURLMsg *msg;
	struct http *h, *next;
	int left;

	while ((msg = curl_multi_info_read(m->multi, &left)) != NULL) {
		CURL *easy = msg->easy_handle;
		CURLcode rc = msg->data.result;
		char *priv = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* `msg` is invalid once the handle is removed: copied above. */
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &priv);
		h = (struct http *)(void *)priv;
		multi_unlink(m, h);
		http_transfer_end(h, rc);
		n = multi_report(L, h, results, records, n);
	}
	/* The plain transfers that have ended. */
	for (h = m->head; h != NULL; h = next) {
		next = h->next;
		if (!h->plain_used || h->pasync_rc == PLAIN_AGAIN)
			continue;
		multi_unlink(m, h);
		http_plain_finish(h, h->pasync_rc);
		n = multi_report(L, h, results, records, n);
	}
	return n;
}

/* Monotonic seconds. */
static double multi_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/*
 * Lists the sockets of the plain transfers in flight in m->wait and
 * shortens *left (seconds) to the earliest of their deadlines. Returns
 * their number, or -1 when out of memory.
 */
static int multi_plain_waits(struct multi *m, double *left)
{
	long long now = plain_now_ms();
	struct http *h;
	int n = 0;

	for (h = m->head; h != NULL; h = h->next) {
		long long wake;

		if (!h->plain_used || h->pasync_rc != PLAIN_AGAIN)
			continue;
		if (n == m->wait_cap) {
			int cap = m->wait_cap ? m->wait_cap * 2 : 32;
			struct curl_waitfd *w = realloc(m->wait, (size_t)cap * sizeof *w);

			if (w == NULL)
				return -1;
			m->wait = w;
			m->wait_cap = cap;
		}
		m->wait[n].fd = h->pasync.fd;
		m->wait[n].events = h->pasync.events == POLLOUT ? CURL_WAIT_POLLOUT :
				    CURL_WAIT_POLLIN;
		m->wait[n].revents = 0;
		n++;
		wake = plain_wake(&h->pasync);
		if ((double)(wake - now) / 1000 < *left)
			*left = wake > now ? (double)(wake - now) / 1000 : 0;
	}
	return n;
}

/* Moves on the plain transfers whose sockets are ready or whose time is up
 * (m->wait lists the first `nwait` of them, in list order). */
static void multi_plain_step(struct multi *m, int nwait)
{
	struct http *h;
	int i = 0;

	for (h = m->head; h != NULL && i < nwait; h = h->next) {
		if (!h->plain_used || h->pasync_rc != PLAIN_AGAIN)
			continue;
		if (m->wait[i].revents != 0)
			h->pasync_rc = plain_resume(&h->plain, &h->preq, &h->pasync);
		if (h->pasync_rc == PLAIN_AGAIN)
			h->pasync_rc = plain_expire(&h->plain, &h->preq, &h->pasync);
		i++;
	}
}

/*
 * m:perform([wait = 1]) -> array of completions. Drives every transfer;
 * when none has finished yet, waits for socket activity and drives them
 * again, until one finishes or `wait` seconds have passed. Returns an
 * empty array when nothing finished in time (or nothing is pending).
 */
static int multi_perform(lua_State *L)
{
	struct multi *m = multi_check(L, 1);
	lua_Number wait = luaL_optnumber(L, 2, 1.0);
	double deadline;
	CURLMcode mc;
	int running, n = 0;

	luaL_argcheck(L, wait >= 0 && wait <= HTTP_MAX_SECONDS, 2,
		      "wait must be a number of seconds in [0, 1e6]");
	deadline = multi_now() + wait;
	lua_settop(L, 2);
	lua_newtable(L);				/* 3: results */
	lua_rawgeti(L, LUA_REGISTRYINDEX, m->ref);	/* 4: records */
	for (;;) {
		int nwait;
		double left;

		mc = curl_multi_perform(m->multi, &running);
		if (mc != CURLM_OK)
			return luaL_error(L, "curl_multi_perform: %s",
					  curl_multi_strerror(mc));
		n = multi_collect(L, m, 3, 4, n);
		if (n > 0 || m->pending == 0)
			break;
		left = deadline - multi_now();
		if (left <= 0)
			break;
		nwait = multi_plain_waits(m, &left);
		if (nwait < 0)
			return luaL_error(L, "out of memory waiting on sockets");
		mc = curl_multi_poll(m->multi, m->wait, (unsigned int)nwait,
				     left * 1000 > INT_MAX ? INT_MAX :
				     (int)(left * 1000) + 1, NULL);
		if (mc != CURLM_OK)
			return luaL_error(L, "curl_multi_poll: %s",
					  curl_multi_strerror(mc));
		multi_plain_step(m, nwait);
	}
	lua_settop(L, 3);
	return 1;
}

/* m:pending() -> number of transfers added and not yet reported */
static int multi_pending(lua_State *L)
{
	struct multi *m = multi_check(L, 1);

	lua_pushinteger(L, m->pending);
	return 1;
}

static const char *const multi_option_keys[] = { "max_connections", NULL };

/* core.multi([options]) -> a new personalize.multi */
int multi_new(lua_State *L)
{
	int opts = lua_isnoneornil(L, 1) ? 0 : 1;
	long max_conn = MULTI_DEFAULT_MAX_CONNECTIONS;
	struct multi *m;

	if (opts != 0) {
		luaL_checktype(L, 1, LUA_TTABLE);
		http_check_keys(L, 1, multi_option_keys, "multi options");
		if (http_get_field(L, 1, "max_connections", LUA_TNUMBER,
				   "multi options")) {
			lua_Number v = lua_tonumber(L, -1);

			if (!(v >= 0 && v <= 65536) || v != (lua_Number)(long)v)
				luaL_error(L, "multi options: field 'max_connections' "
					   "must be an integer in [0, 65536]");
			max_conn = (long)v;
		}
		lua_pop(L, 1);
	}
	http_require_global(L);
	m = lua_newuserdata(L, sizeof *m);
	memset(m, 0, sizeof *m);
	m->ref = LUA_NOREF;	/* before anything can raise: __gc reads it */
	luaL_getmetatable(L, MULTI_MT);
	lua_setmetatable(L, -2);
	lua_newtable(L);
	m->ref = luaL_ref(L, LUA_REGISTRYINDEX);
	m->multi = curl_multi_init();
	if (m->multi == NULL)
		return luaL_error(L, "curl_multi_init failed");
	curl_multi_setopt(m->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, max_conn);
	return 1;
}

const luaL_Reg multi_methods[] = {
	{ "add", multi_add },
	{ "perform", multi_perform },
	{ "pending", multi_pending },
	{ "close", multi_close },
	{ NULL, NULL }
};

const luaL_Reg multi_meta[] = {
	{ "__gc", multi_close },
	{ "__close", multi_close },
	{ "__tostring", multi_tostring },
	{ NULL, NULL }
};
