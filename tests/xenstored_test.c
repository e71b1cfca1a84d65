/*
 * The xs_wire server (sim/xenstore/wire_server.c) seen from real sockets:
 * framing with partial reads and writes, watch events, flow control and the
 * output bound (xenstored_wire); thousands of malformed messages while a
 * well-behaved client keeps working (xenstored_fuzz); 100 concurrent clients
 * whose committed transactions must add up to a serial history
 * (xenstored_concurrency).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

#define TC_TIMEOUT_MS 10000
#define TC_EVENTS_MAX 256
#define TC_EVENT_BYTES 160

static char g_dir[64];
static char g_path[128];
static struct xs_server *g_srv;

/* ---------------------------------------------------------------------------
 * A minimal blocking xs_wire client, written for the tests (not libxenstore).
 */

struct tc {
	int fd;
	uint32_t req_id;
	struct xsd_sockmsg hdr;                 /* the last reply */
	char body[XENSTORE_PAYLOAD_MAX + 1];    /* its payload, NUL added */
	unsigned nevents;                       /* watch events seen meanwhile */
	char events[TC_EVENTS_MAX][TC_EVENT_BYTES];   /* "path|token" */
};

static const struct {
	const char *name;
	int err;
} tc_errnos[] = {
	{"EINVAL", EINVAL}, {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"EISDIR", EISDIR},
	{"ENOENT", ENOENT}, {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC}, {"EIO", EIO},
	{"ENOTEMPTY", ENOTEMPTY}, {"ENOSYS", ENOSYS}, {"EROFS", EROFS}, {"EBUSY", EBUSY},
	{"EAGAIN", EAGAIN}, {"EISCONN", EISCONN}, {"E2BIG", E2BIG}, {"EPERM", EPERM},
};

/* The errno an XS_ERROR payload names, or 0 if it names none of the table. */
static int tc_errno_of(const char *body, uint32_t len)
{
	for (size_t i = 0; i < sizeof(tc_errnos) / sizeof(tc_errnos[0]); i++)
		if (len == strlen(tc_errnos[i].name) + 1 && strcmp(body, tc_errnos[i].name) == 0)
			return tc_errnos[i].err;
	return 0;
}

static int tc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static int tc_open_at(struct tc *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = tc_connect(path);
	return c->fd < 0 ? c->fd : 0;
}

static int tc_open(struct tc *c)
{
	return tc_open_at(c, g_path);
}

static void tc_close(struct tc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static int tc_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes within timeout_ms. -ETIMEDOUT, -ECONNRESET on EOF. */
static int tc_recv_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rc = poll(&pfd, 1, timeout_ms);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc < 0)
			continue;
		ssize_t n = recv(fd, p, len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static int tc_send_msg(struct tc *c, uint32_t type, uint32_t tx, const void *payload,
		       uint32_t len)
{
	struct xsd_sockmsg hdr = {.type = type, .req_id = ++c->req_id, .tx_id = tx, .len = len};
	int rc = tc_send_all(c->fd, &hdr, sizeof(hdr));

	return rc < 0 ? rc : tc_send_all(c->fd, payload, len);
}

/* One whole message into c->hdr / c->body. */
static int tc_recv_msg(struct tc *c, int timeout_ms)
{
	int rc = tc_recv_all(c->fd, &c->hdr, sizeof(c->hdr), timeout_ms);

	if (rc < 0)
		return rc;
	if (c->hdr.len > XENSTORE_PAYLOAD_MAX)
		return -EMSGSIZE;
	rc = tc_recv_all(c->fd, c->body, c->hdr.len, timeout_ms);
	c->body[rc < 0 ? 0 : c->hdr.len] = '\0';
	return rc;
}

static void tc_stash_event(struct tc *c)
{
	const char *path = c->body;
	const char *token = path + strlen(path) + 1;

	if (c->nevents < TC_EVENTS_MAX && token < c->body + c->hdr.len)
		snprintf(c->events[c->nevents++], TC_EVENT_BYTES, "%.120s|%.32s", path, token);
}

/* Read until a reply (watch events are stashed). 0 if it is the answer to
 * request `type`, -errno for an XS_ERROR, -EPROTO for anything else. */
static int tc_await_reply(struct tc *c, uint32_t type)
{
	int rc;

	for (;;) {
		rc = tc_recv_msg(c, TC_TIMEOUT_MS);
		if (rc < 0)
			return rc;
		if (c->hdr.type != XS_WATCH_EVENT)
			break;
		tc_stash_event(c);
	}
	if (c->hdr.req_id != c->req_id)
		return -EPROTO;
	if (c->hdr.type == XS_ERROR)
		return tc_errno_of(c->body, c->hdr.len) ? -tc_errno_of(c->body, c->hdr.len) : -EPROTO;
	return c->hdr.type == type ? 0 : -EPROTO;
}

static int tc_request(struct tc *c, uint32_t type, uint32_t tx, const void *payload,
		      uint32_t len)
{
	int rc = tc_send_msg(c, type, tx, payload, len);

	return rc < 0 ? rc : tc_await_reply(c, type);
}

/* "a\0" or "a\0b" (b without its NUL, as a written value) or "a\0b\0". */
static uint32_t tc_pack(char *buf, const char *a, const char *b, bool b_nul)
{
	size_t la = strlen(a) + 1, lb = b ? strlen(b) + (b_nul ? 1 : 0) : 0;

	memcpy(buf, a, la);
	if (b)
		memcpy(buf + la, b, lb);
	return (uint32_t)(la + lb);
}

static int tc_write(struct tc *c, uint32_t tx, const char *path, const char *value)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, XS_WRITE, tx, buf, tc_pack(buf, path, value, false));
}

/* On success c->body holds the value (NUL-terminated), c->hdr.len its length. */
static int tc_read(struct tc *c, uint32_t tx, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, XS_READ, tx, buf, tc_pack(buf, path, NULL, false));
}

static int tc_simple(struct tc *c, uint32_t type, uint32_t tx, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, type, tx, buf, tc_pack(buf, path, NULL, false));
}

static int tc_watch(struct tc *c, uint32_t type, const char *path, const char *token)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, type, 0, buf, tc_pack(buf, path, token, true));
}

static int tc_tx_start(struct tc *c, uint32_t *tx)
{
	int rc = tc_request(c, XS_TRANSACTION_START, 0, "", 1);

	if (rc == 0)
		*tx = (uint32_t)strtoul(c->body, NULL, 10);
	return rc == 0 && *tx == 0 ? -EPROTO : rc;
}

static int tc_tx_end(struct tc *c, uint32_t tx, bool commit)
{
	return tc_request(c, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2);
}

/* The next watch event, stashed or from the socket: "path|token" in out. */
static int tc_next_event(struct tc *c, char *out, size_t outlen, int timeout_ms)
{
	int rc;

	while (c->nevents == 0) {
		rc = tc_recv_msg(c, timeout_ms);
		if (rc < 0)
			return rc;
		if (c->hdr.type != XS_WATCH_EVENT)
			return -EPROTO;
		tc_stash_event(c);
	}
	snprintf(out, outlen, "%s", c->events[0]);
	memmove(c->events[0], c->events[1], (size_t)(c->nevents - 1) * TC_EVENT_BYTES);
	c->nevents--;
	return 0;
}

/* True if the server closed the connection within timeout_ms (data before
 * the end is read and dropped). */
static bool tc_sees_eof(int fd, int timeout_ms)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* ---------------------------------------------------------------------------
 * Suite set-up: dom0, a fresh store and a server on its own thread.
 */

static int server_up(void)
{
	struct sim_domain_config dom0 = {.name = "dom0", .privileged = true, .domid = 0};
	struct xs_server_config cfg = {.socket_path = g_path, .quiet = true,
				       };

	if (sim_init() < 0)
		return -1;
	xs_store_reset();
	xs_quota_reset();
	if (sim_domain_create(&dom0) != 0)
		return -1;
	return xs_server_start(&cfg, &g_srv) < 0 ? -1 : 0;
}

static int suite_init(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/xensim-xsd-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/socket", g_dir);
	return server_up();
}

static int suite_fini(void)
{
	xs_server_stop(g_srv);
	g_srv = NULL;
	xs_store_check();
	xs_quota_reset();
	sim_reset();
	rmdir(g_dir);
	return 0;
}

/* ---------------------------------------------------------------------------
 * xenstored_wire
 */

static void server_write_read_roundtrip(void)
{
	struct tc c;

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	CU_ASSERT(tc_write(&c, 0, "/wire/a", "hello") == 0);
	CU_ASSERT(c.hdr.len == 3 && strcmp(c.body, "OK") == 0);
	CU_ASSERT(tc_read(&c, 0, "/wire/a") == 0);
	CU_ASSERT(c.hdr.len == 5 && memcmp(c.body, "hello", 5) == 0);
	CU_ASSERT(c.hdr.req_id == c.req_id && c.hdr.tx_id == 0);
	CU_ASSERT(tc_read(&c, 0, "/wire/missing") == -ENOENT);
	CU_ASSERT(c.hdr.type == XS_ERROR && strcmp(c.body, "ENOENT") == 0);
	tc_close(&c);
}

/* The server must reassemble a request sent one byte per write. */
static void server_request_one_byte_at_a_time(void)
{
	char buf[128];
	struct xsd_sockmsg hdr;
	struct tc c;
	uint32_t len = tc_pack(buf, "/wire/bytewise", "slowly", false);
	char msg[sizeof(hdr) + sizeof(buf)];

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	hdr = (struct xsd_sockmsg){.type = XS_WRITE, .req_id = 77, .tx_id = 0, .len = len};
	memcpy(msg, &hdr, sizeof(hdr));
	memcpy(msg + sizeof(hdr), buf, len);
	for (size_t i = 0; i < sizeof(hdr) + len; i++) {
		CU_ASSERT_FATAL(tc_send_all(c.fd, msg + i, 1) == 0);
		usleep(i % 4 == 0 ? 2000 : 0);   /* let the server see partial data */
	}
	CU_ASSERT_FATAL(tc_recv_msg(&c, TC_TIMEOUT_MS) == 0);
	CU_ASSERT(c.hdr.type == XS_WRITE && c.hdr.req_id == 77 && strcmp(c.body, "OK") == 0);
	c.req_id = 77;
	CU_ASSERT(tc_read(&c, 0, "/wire/bytewise") == 0);
	CU_ASSERT(strcmp(c.body, "slowly") == 0);
	tc_close(&c);
}

/* Several requests in one write: each answered, in order. */
static void server_pipelined_requests_answered_in_order(void)
{
	char msgs[8 * 64], *p = msgs;
	struct tc c;

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	CU_ASSERT_FATAL(tc_write(&c, 0, "/wire/pipe", "x") == 0);
	for (uint32_t i = 0; i < 8; i++) {
		struct xsd_sockmsg hdr = {.type = XS_READ, .req_id = 100 + i, .len = 11};
		memcpy(p, &hdr, sizeof(hdr));
		memcpy(p + sizeof(hdr), "/wire/pipe", 11);
		p += sizeof(hdr) + 11;
	}
	CU_ASSERT_FATAL(tc_send_all(c.fd, msgs, (size_t)(p - msgs)) == 0);
	for (uint32_t i = 0; i < 8; i++) {
		CU_ASSERT_FATAL(tc_recv_msg(&c, TC_TIMEOUT_MS) == 0);
		CU_ASSERT(c.hdr.type == XS_READ && c.hdr.req_id == 100 + i);
		CU_ASSERT(c.hdr.len == 1 && c.body[0] == 'x');
	}
	tc_close(&c);
}

/* 800 KB of replies to a client that reads nothing until it has sent every
 * request: the server writes partially, pauses the client and resumes it,
 * and never drops it. */
static void server_large_output_flow_controlled(void)
{
	enum { N = 400, VALUE_BYTES = 2000 };
	static char value[VALUE_BYTES + 1];
	static char reqs[N * (sizeof(struct xsd_sockmsg) + 12)];
	struct xs_server_stats before, after;
	uint32_t len = 12;
	struct tc c;
	bool ok = true;

	memset(value, 'v', VALUE_BYTES);
	CU_ASSERT_FATAL(tc_open(&c) == 0);
	CU_ASSERT_FATAL(tc_write(&c, 0, "/wire/large", value) == 0);
	xs_server_stats_get(g_srv, &before);
	/* One send: many small sends would each take a whole socket buffer slot
	 * and block this client once the server pauses it. */
	for (uint32_t i = 0; i < N; i++) {
		struct xsd_sockmsg hdr = {.type = XS_READ, .req_id = 1000 + i, .len = len};
		memcpy(reqs + i * (sizeof(hdr) + len), &hdr, sizeof(hdr));
		memcpy(reqs + i * (sizeof(hdr) + len) + sizeof(hdr), "/wire/large", len);
	}
	ok = tc_send_all(c.fd, reqs, sizeof(reqs)) == 0;
	CU_ASSERT(ok);
	for (uint32_t i = 0; i < N && ok; i++) {
		ok = tc_recv_msg(&c, TC_TIMEOUT_MS) == 0 && c.hdr.req_id == 1000 + i &&
		     c.hdr.len == VALUE_BYTES && memcmp(c.body, value, VALUE_BYTES) == 0;
	}
	CU_ASSERT(ok);
	xs_server_stats_get(g_srv, &after);
	CU_ASSERT(after.drops_backlog == before.drops_backlog);
	CU_ASSERT(after.requests - before.requests == N);
	tc_close(&c);
}

static void server_watch_immediate_event_then_changes(void)
{
	char ev[TC_EVENT_BYTES];
	struct tc w, c;

	CU_ASSERT_FATAL(tc_open(&w) == 0);
	CU_ASSERT_FATAL(tc_open(&c) == 0);
	CU_ASSERT(tc_watch(&w, XS_WATCH, "/wire/w", "tok") == 0);
	CU_ASSERT(strcmp(w.body, "OK") == 0);
	CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), TC_TIMEOUT_MS) == 0);
	CU_ASSERT_STRING_EQUAL(ev, "/wire/w|tok");
	CU_ASSERT(w.hdr.req_id == 0 && w.hdr.tx_id == 0);
	CU_ASSERT(tc_write(&c, 0, "/wire/w/x", "1") == 0);
	CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), TC_TIMEOUT_MS) == 0);
	CU_ASSERT_STRING_EQUAL(ev, "/wire/w/x|tok");
	CU_ASSERT(tc_watch(&w, XS_UNWATCH, "/wire/w", "tok") == 0);
	CU_ASSERT(tc_write(&c, 0, "/wire/w/y", "2") == 0);
	CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), 200) == -ETIMEDOUT);
	tc_close(&c);
	tc_close(&w);
}

/* A change made by a store connection on another thread (this test thread,
 * not the server's loop) reaches the socket watcher: the cross-thread path. */
struct direct_reply {
	struct xsd_sockmsg hdr;
	char body[XENSTORE_PAYLOAD_MAX + 1];
};

static void direct_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct direct_reply *r = ctx;

	if (hdr->type == XS_WATCH_EVENT)
		return;
	r->hdr = *hdr;
	memcpy(r->body, payload, hdr->len);
	r->body[hdr->len] = '\0';
}

static void server_event_from_other_thread_delivered(void)
{
	static struct direct_reply reply;
	char buf[64], ev[TC_EVENT_BYTES];
	struct tc w;
	struct xs_conn *direct = xs_conn_new(0, direct_deliver, &reply);

	CU_ASSERT_FATAL(direct != NULL);
	CU_ASSERT_FATAL(tc_open(&w) == 0);
	CU_ASSERT(tc_watch(&w, XS_WATCH, "/wire/direct", "d") == 0);
	CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), TC_TIMEOUT_MS) == 0);
	for (int i = 0; i < 50; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/wire/direct/%d", i);
		struct xsd_sockmsg hdr = {.type = XS_WRITE, .req_id = (uint32_t)i + 1,
					  .len = tc_pack(buf, path, "v", false)};
		CU_ASSERT(xs_conn_request(direct, &hdr, buf) == 0);
		CU_ASSERT(reply.hdr.type == XS_WRITE && strcmp(reply.body, "OK") == 0);
	}
	for (int i = 0; i < 50; i++) {
		char want[TC_EVENT_BYTES];
		snprintf(want, sizeof(want), "/wire/direct/%d|d", i);
		CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), TC_TIMEOUT_MS) == 0);
		CU_ASSERT_STRING_EQUAL(ev, want);
	}
	xs_conn_free(direct);
	tc_close(&w);
}

static void server_transaction_over_socket(void)
{
	struct tc c, o;
	uint32_t tx = 0;

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	CU_ASSERT_FATAL(tc_open(&o) == 0);
	CU_ASSERT_FATAL(tc_tx_start(&c, &tx) == 0);
	CU_ASSERT(tc_write(&c, tx, "/wire/tx/a", "in-tx") == 0);
	CU_ASSERT(c.hdr.tx_id == tx);
	CU_ASSERT(tc_read(&o, 0, "/wire/tx/a") == -ENOENT);
	CU_ASSERT(tc_read(&c, tx, "/wire/tx/a") == 0 && strcmp(c.body, "in-tx") == 0);
	CU_ASSERT(tc_tx_end(&c, tx, true) == 0);
	CU_ASSERT(tc_read(&o, 0, "/wire/tx/a") == 0 && strcmp(o.body, "in-tx") == 0);
	CU_ASSERT(tc_read(&c, tx, "/wire/tx/a") == -ENOENT);   /* tx id gone */
	tc_close(&o);
	tc_close(&c);
}

static void server_oversized_len_closes_only_that_connection(void)
{
	struct xsd_sockmsg hdr = {.type = XS_WRITE, .req_id = 1,
				  .len = XENSTORE_PAYLOAD_MAX + 1};
	struct xs_server_stats before, after;
	struct tc bad, good;

	CU_ASSERT_FATAL(tc_open(&bad) == 0);
	CU_ASSERT_FATAL(tc_open(&good) == 0);
	xs_server_stats_get(g_srv, &before);
	CU_ASSERT(tc_send_all(bad.fd, &hdr, sizeof(hdr)) == 0);
	CU_ASSERT(tc_sees_eof(bad.fd, TC_TIMEOUT_MS));
	CU_ASSERT(tc_write(&good, 0, "/wire/good", "still") == 0);
	xs_server_stats_get(g_srv, &after);
	CU_ASSERT(after.drops_oversized == before.drops_oversized + 1);
	tc_close(&bad);
	tc_close(&good);
}

/* A payload of exactly XENSTORE_PAYLOAD_MAX is legal framing. */
static void server_payload_max_accepted(void)
{
	static char buf[XENSTORE_PAYLOAD_MAX];
	struct tc c;

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	memset(buf, 'p', sizeof(buf));
	memcpy(buf, "/wire/max", 10);   /* path, NUL, then a long value */
	CU_ASSERT(tc_request(&c, XS_WRITE, 0, buf, sizeof(buf)) != -ECONNRESET);
	CU_ASSERT(c.hdr.req_id == c.req_id);
	CU_ASSERT(tc_write(&c, 0, "/wire/after-max", "1") == 0);
	tc_close(&c);
}

/* A client that sends requests and hangs up without reading its replies. */
static void server_client_gone_with_output_pending(void)
{
	struct xs_server_stats st;
	struct tc c, good;

	CU_ASSERT_FATAL(tc_open(&c) == 0);
	for (int i = 0; i < 200; i++)
		CU_ASSERT(tc_send_msg(&c, XS_DIRECTORY, 0, "/\0", 2) == 0);
	tc_close(&c);
	CU_ASSERT_FATAL(tc_open(&good) == 0);
	CU_ASSERT(tc_simple(&good, XS_DIRECTORY, 0, "/") == 0);
	for (int i = 0; i < 200; i++) {
		xs_server_stats_get(g_srv, &st);
		if (st.conns_open == 1)
			break;
		usleep(10000);
	}
	CU_ASSERT(st.conns_open == 1);
	tc_close(&good);
}

static void server_start_rejects_bad_paths(void)
{
	char longp[200], file[128];
	struct xs_server *srv = NULL;
	int fd;

	memset(longp, 'a', sizeof(longp));
	longp[0] = '/';
	longp[XS_SERVER_SOCKET_PATH_MAX + 1] = '\0';
	CU_ASSERT(xs_server_start(&(struct xs_server_config){.socket_path = longp}, &srv) ==
		  -ENAMETOOLONG);
	CU_ASSERT(xs_server_start(&(struct xs_server_config){.socket_path = ""}, &srv) ==
		  -EINVAL);
	CU_ASSERT(xs_server_start(&(struct xs_server_config){.socket_path = g_path}, &srv) ==
		  -EADDRINUSE);
	snprintf(file, sizeof(file), "%s/plain-file", g_dir);
	fd = open(file, O_CREAT | O_WRONLY, 0600);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT(xs_server_start(&(struct xs_server_config){.socket_path = file}, &srv) ==
		  -EEXIST);
	unlink(file);
	CU_ASSERT(srv == NULL);
}

/* A socket file left behind by a dead server is replaced. */
static void server_start_replaces_stale_socket(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct xs_server *srv = NULL;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), cfd;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/stale", g_dir);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	close(fd);   /* the file stays, nobody listens */
	CU_ASSERT_FATAL(xs_server_start(&(struct xs_server_config){.socket_path = sa.sun_path,
								   .quiet = true}, &srv) == 0);
	cfd = tc_connect(sa.sun_path);
	CU_ASSERT(cfd >= 0);
	if (cfd >= 0)
		close(cfd);
	xs_server_stop(srv);
	CU_ASSERT(access(sa.sun_path, F_OK) != 0);   /* stop removes the file */
}

/* A watcher that never reads while a flood of events is made for it: once
 * its queued output passes the bound (64 KiB on this server) it is dropped;
 * the writer, on the same server, carries on. */
static void server_watch_flood_drops_nonreader(void)
{
	enum { WRITES = 4000 };
	char path[256], ev[TC_EVENT_BYTES], sock[160];
	struct xs_server_stats before, after;
	struct xs_server *srv = NULL;
	struct tc w, c;
	int rc = 0;

	snprintf(sock, sizeof(sock), "%s/small-bound", g_dir);
	CU_ASSERT_FATAL(xs_server_start(&(struct xs_server_config){.socket_path = sock,
				.quiet = true, .out_bytes_max = 64 * 1024}, &srv) == 0);
	CU_ASSERT_FATAL(tc_open_at(&w, sock) == 0);
	CU_ASSERT_FATAL(tc_open_at(&c, sock) == 0);
	xs_server_stats_get(srv, &before);
	CU_ASSERT(tc_watch(&w, XS_WATCH, "/flood", "f") == 0);
	CU_ASSERT(tc_next_event(&w, ev, sizeof(ev), TC_TIMEOUT_MS) == 0);
	memset(path, 'n', sizeof(path));
	memcpy(path, "/flood/", 7);
	path[200] = '\0';
	for (int i = 0; i < WRITES && rc == 0; i++) {
		path[7] = (char)('a' + i % 26);
		rc = tc_write(&c, 0, path, "v");
	}
	CU_ASSERT(rc == 0);
	CU_ASSERT(tc_sees_eof(w.fd, TC_TIMEOUT_MS));
	xs_server_stats_get(srv, &after);
	CU_ASSERT(after.drops_backlog == before.drops_backlog + 1);
	CU_ASSERT(tc_simple(&c, XS_RM, 0, "/flood") == 0);
	tc_close(&c);
	tc_close(&w);
	xs_server_stop(srv);
}

/* ---------------------------------------------------------------------------
 * xenstored_fuzz: seeded malformed traffic on several connections while a
 * well-behaved client checks its answers.
 */

#define FUZZ_SEED 0x5eedf00dULL
#define FUZZ_THREADS 4
#define FUZZ_MSGS_PER_THREAD 1500

static uint64_t fuzz_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

struct fuzz_state {
	uint64_t seed, rng;
	int fd;
	unsigned sent, reconnects, expected_closes, missed_closes;
	unsigned bad_frames;            /* server output that is not valid xs_wire */
	char bad_frame_what[160];
	char in[2 * (XENSTORE_PAYLOAD_MAX + 16)];
	size_t in_len;
	char out[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
};

static atomic_uint fuzz_threads_done;

/* Every message the server sends must be a well-formed xs_wire message. */
static void fuzz_check_frames(struct fuzz_state *f)
{
	struct xsd_sockmsg hdr;
	size_t off = 0;

	while (f->in_len - off >= sizeof(hdr)) {
		memcpy(&hdr, f->in + off, sizeof(hdr));
		bool bad = hdr.len > XENSTORE_PAYLOAD_MAX || hdr.type >= XS_TYPE_COUNT;
		if (!bad && f->in_len - off < sizeof(hdr) + hdr.len)
			break;
		if (!bad && hdr.type == XS_ERROR)
			bad = hdr.len == 0 || f->in[off + sizeof(hdr) + hdr.len - 1] != '\0' ||
			      !tc_errno_of(f->in + off + sizeof(hdr), hdr.len);
		if (bad) {
			if (!f->bad_frames++)
				snprintf(f->bad_frame_what, sizeof(f->bad_frame_what),
					 "seed %#llx msg %u: type %u len %u", (unsigned long long)f->seed,
					 f->sent, hdr.type, hdr.len);
			f->in_len = 0;
			return;
		}
		off += sizeof(hdr) + hdr.len;
	}
	memmove(f->in, f->in + off, f->in_len - off);
	f->in_len -= off;
}

/* Read what is there without waiting. false if the server closed. */
static bool fuzz_drain(struct fuzz_state *f, int timeout_ms)
{
	for (;;) {
		struct pollfd pfd = {.fd = f->fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return true;
		ssize_t n = recv(f->fd, f->in + f->in_len, sizeof(f->in) - f->in_len, 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return false;
		if (n < 0)
			return true;
		f->in_len += (size_t)n;
		fuzz_check_frames(f);
		timeout_ms = 0;
	}
}

static void fuzz_reconnect(struct fuzz_state *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = tc_connect(g_path);
	f->in_len = 0;
	f->reconnects++;
}

static const uint32_t fuzz_types[] = {
	XS_DIRECTORY, XS_READ, XS_GET_PERMS, XS_WATCH, XS_UNWATCH, XS_TRANSACTION_START,
	XS_TRANSACTION_END, XS_INTRODUCE, XS_RELEASE, XS_GET_DOMAIN_PATH, XS_WRITE, XS_MKDIR,
	XS_RM, XS_SET_PERMS, XS_WATCH_EVENT, XS_ERROR, XS_IS_DOMAIN_INTRODUCED, XS_RESUME,
	XS_SET_TARGET, XS_RESET_WATCHES, XS_DIRECTORY_PART, XS_CONTROL, 20, XS_TYPE_COUNT,
	XS_INVALID, 0xffffffffu,
};

/* Payloads that stress the parsers: missing or extra NULs, odd paths, bad
 * perms, numbers that overflow, long paths. */
static uint32_t fuzz_payload(struct fuzz_state *f, char *p)
{
#define SHAPE(lit) {lit, sizeof(lit) - 1}
	static const struct {
		const char *bytes;
		uint32_t len;
	} shapes[] = {
		SHAPE("/fuzz/a"), SHAPE("/fuzz/a\0"), SHAPE("/fuzz/a\0v"), SHAPE("/fuzz//b\0"),
		SHAPE("/fuzz/a/\0"), SHAPE("fuzz-rel\0"), SHAPE("\0"), SHAPE(""),
		SHAPE("/fuzz/a\0tok"), SHAPE("/fuzz/a\0\0\0"), SHAPE("/fuzz/a\0n0\0"),
		SHAPE("/fuzz/a\0x9\0"), SHAPE("/fuzz/a\0r99999999999999\0"),
		SHAPE("/fuzz/a\0b1\0w\0"), SHAPE("T"), SHAPE("TT\0"), SHAPE("X\0"), SHAPE("F\0"),
		SHAPE("999999999999\0"), SHAPE("-1\0"), SHAPE("1\0" "2\0" "/fuzz\0"),
		SHAPE("@introduceDomain\0t\0"), SHAPE("/fuzz/\xff\x01\0"), SHAPE("/fuzz/a b\0"),
		SHAPE("/fuzz/a\0" "2000\0"), SHAPE("/fuzz/a\0" "1\0" "0\0"),
	};
#undef SHAPE
	const size_t nshapes = sizeof(shapes) / sizeof(shapes[0]);
	uint64_t r = fuzz_next(&f->rng);
	uint32_t len;

	switch (r % 4) {
	case 0:   /* random bytes */
		len = (uint32_t)(fuzz_next(&f->rng) % 200);
		for (uint32_t i = 0; i < len; i++)
			p[i] = (char)fuzz_next(&f->rng);
		return len;
	case 1:   /* a long path near and past the limits */
		len = 2040 + (uint32_t)(fuzz_next(&f->rng) % 1100);
		memset(p, 'l', len);
		memcpy(p, "/fuzz/", 6);
		p[len - 1] = '\0';
		return len;
	default:
		len = shapes[(r >> 8) % nshapes].len;
		memcpy(p, shapes[(r >> 8) % nshapes].bytes, len);
		return len;
	}
}

/* One malformed (or odd) message, chosen by the PRNG. */
static void fuzz_one(struct fuzz_state *f)
{
	char *buf = f->out;
	struct xsd_sockmsg hdr;
	uint64_t r = fuzz_next(&f->rng);
	uint32_t len = fuzz_payload(f, buf + sizeof(hdr));
	unsigned kind = (unsigned)(r % 100);

	hdr.type = fuzz_types[(r >> 8) % (sizeof(fuzz_types) / sizeof(fuzz_types[0]))];
	hdr.req_id = (uint32_t)(r >> 16);
	hdr.tx_id = (r >> 40) % 8 == 0 ? (uint32_t)(r >> 44) : 0;
	hdr.len = len;
	if (kind < 4) {                 /* announce more than the maximum */
		hdr.len = XENSTORE_PAYLOAD_MAX + 1 + (uint32_t)(r >> 50);
		len = 0;
	} else if (kind < 8) {          /* a header and part of the payload, then hang up */
		len = len / 2;
	} else if (kind < 10) {         /* pure garbage as a header */
		hdr.type = (uint32_t)(r >> 32);
		hdr.len = (uint32_t)fuzz_next(&f->rng) % 64;
	}
	memcpy(buf, &hdr, sizeof(hdr));
	f->sent++;
	if (tc_send_all(f->fd, buf, sizeof(hdr) + len) < 0) {
		fuzz_reconnect(f);
		return;
	}
	if (kind < 4) {
		f->expected_closes++;
		f->missed_closes += !tc_sees_eof(f->fd, TC_TIMEOUT_MS);
		fuzz_reconnect(f);
	} else if ((kind < 8 && len < hdr.len) || (kind >= 8 && kind < 10)) {
		/* Hang up: what follows would be read as this message's payload. */
		fuzz_drain(f, 0);
		fuzz_reconnect(f);
	} else if (!fuzz_drain(f, kind % 3 == 0 ? 5 : 0)) {
		fuzz_reconnect(f);
	}
}

static void *fuzz_thread(void *arg)
{
	struct fuzz_state *f = arg;

	f->rng = f->seed;
	f->fd = tc_connect(g_path);
	for (unsigned i = 0; i < FUZZ_MSGS_PER_THREAD && f->fd >= 0; i++)
		fuzz_one(f);
	if (f->fd >= 0)
		close(f->fd);
	atomic_fetch_add(&fuzz_threads_done, 1);
	return NULL;
}

/* The well-behaved client: unique values written and read back. */
static int fuzz_good_round(struct tc *c, unsigned round)
{
	char path[64], value[64];
	int rc;

	snprintf(path, sizeof(path), "/good/k%u", round % 50);
	snprintf(value, sizeof(value), "value-%u", round);
	rc = tc_write(c, 0, path, value);
	if (rc == 0)
		rc = tc_read(c, 0, path);
	if (rc == 0 && strcmp(c->body, value) != 0)
		rc = -EILSEQ;
	return rc;
}

static void fuzz_malformed_messages_good_client_unaffected(void)
{
	static struct fuzz_state fs[FUZZ_THREADS];
	pthread_t th[FUZZ_THREADS];
	unsigned rounds = 0, failed = 0, sent = 0;
	struct xs_server_stats st;
	struct tc good;
	int first_rc = 0;

	CU_ASSERT_FATAL(tc_open(&good) == 0);
	atomic_store(&fuzz_threads_done, 0);
	for (int i = 0; i < FUZZ_THREADS; i++) {
		memset(&fs[i], 0, sizeof(fs[i]));
		fs[i].seed = FUZZ_SEED + (uint64_t)i;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, fuzz_thread, &fs[i]) == 0);
	}
	for (; atomic_load(&fuzz_threads_done) < FUZZ_THREADS; rounds++) {
		int rc = fuzz_good_round(&good, rounds);
		failed += rc != 0;
		first_rc = first_rc ? first_rc : rc;
	}
	for (int i = 0; i < FUZZ_THREADS; i++) {
		pthread_join(th[i], NULL);
		sent += fs[i].sent;
		if (fs[i].bad_frames || fs[i].missed_closes || fs[i].fd < 0)
			printf("\nfuzz thread %d (seed %#llx): %u bad frames (first: %s), "
			       "%u of %u oversized messages not closed, fd %d\n", i,
			       (unsigned long long)fs[i].seed, fs[i].bad_frames,
			       fs[i].bad_frame_what, fs[i].missed_closes, fs[i].expected_closes,
			       fs[i].fd);
		CU_ASSERT(fs[i].bad_frames == 0);
		CU_ASSERT(fs[i].missed_closes == 0);
		CU_ASSERT(fs[i].expected_closes > 0);
	}
	if (failed)
		printf("\ngood client: %u of %u rounds failed, first rc %d\n", failed, rounds,
		       first_rc);
	CU_ASSERT(failed == 0);
	CU_ASSERT(rounds > 0);
	CU_ASSERT(sent == FUZZ_THREADS * FUZZ_MSGS_PER_THREAD);
	CU_ASSERT(fuzz_good_round(&good, rounds) == 0);
	xs_server_stats_get(g_srv, &st);
	CU_ASSERT(st.drops_oversized >= FUZZ_THREADS);
	xs_store_check();
	tc_close(&good);
}

/* ---------------------------------------------------------------------------
 * xenstored_concurrency: 100 clients. Each round a client increments one of
 * COUNTERS shared counters inside a transaction, logs the increment under
 * /conc/log/<k>/<new value> = <client>, and records its round in
 * /conc/client/<i>; outside transactions it writes and reads back a key of its
 * own. A serial history exists iff every counter equals its committed
 * increments and its log holds exactly 1..value, one entry per commit.
 */

#define CONC_CLIENTS 100
#define CONC_ROUNDS 10
#define CONC_COUNTERS 8
#define CONC_RETRIES_MAX 5000

struct conc_client {
	unsigned id;
	unsigned committed[CONC_COUNTERS];
	unsigned retries;
	int error;                      /* first unexpected result */
	char error_what[128];
};

static int conc_fail(struct conc_client *cl, int rc, const char *what)
{
	if (!cl->error) {
		cl->error = rc ? rc : -EPROTO;
		snprintf(cl->error_what, sizeof(cl->error_what), "client %u: %s: %d", cl->id, what,
			 rc);
	}
	return rc ? rc : -EPROTO;
}

/* One attempt: 0 committed, -EAGAIN conflict (retry), else an error. */
static int conc_attempt(struct tc *c, struct conc_client *cl, unsigned k, unsigned round)
{
	char path[64], value[32];
	uint32_t tx;
	unsigned v;
	int rc = tc_tx_start(c, &tx);

	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "/conc/counter/%u", k);
	rc = tc_read(c, tx, path);
	v = rc == 0 ? (unsigned)strtoul(c->body, NULL, 10) : 0;
	if (rc == 0 || rc == -ENOENT) {
		snprintf(value, sizeof(value), "%u", v + 1);
		rc = tc_write(c, tx, path, value);
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "/conc/log/%u/%u", k, v + 1);
		snprintf(value, sizeof(value), "%u", cl->id);
		rc = tc_write(c, tx, path, value);
	}
	if (rc == 0) {
		snprintf(path, sizeof(path), "/conc/client/%u", cl->id);
		snprintf(value, sizeof(value), "%u", round);
		rc = tc_write(c, tx, path, value);
	}
	if (rc < 0) {
		tc_tx_end(c, tx, false);
		return rc;
	}
	return tc_tx_end(c, tx, true);
}

static int conc_round(struct tc *c, struct conc_client *cl, unsigned round)
{
	unsigned k = (cl->id * 7 + round) % CONC_COUNTERS;
	char path[64], value[32];
	int rc = -EAGAIN;

	for (unsigned tries = 0; rc == -EAGAIN && tries < CONC_RETRIES_MAX; tries++) {
		rc = conc_attempt(c, cl, k, round);
		cl->retries += rc == -EAGAIN;
	}
	if (rc < 0)
		return conc_fail(cl, rc, "transaction");
	cl->committed[k]++;
	snprintf(path, sizeof(path), "/conc/own/%u/%u", cl->id, round);
	snprintf(value, sizeof(value), "%u-%u", cl->id, round);
	rc = tc_write(c, 0, path, value);
	if (rc == 0)
		rc = tc_read(c, 0, path);
	if (rc < 0 || strcmp(c->body, value) != 0)
		return conc_fail(cl, rc, "own key");
	return 0;
}

static void *conc_thread(void *arg)
{
	struct conc_client *cl = arg;
	struct tc *c = malloc(sizeof(*c));
	int rc = c ? tc_open(c) : -ENOMEM;

	if (rc < 0)
		conc_fail(cl, rc, "connect");
	for (unsigned r = 0; r < CONC_ROUNDS && rc == 0; r++)
		rc = conc_round(c, cl, r);
	if (c)
		tc_close(c);
	free(c);
	return NULL;
}

static unsigned conc_read_uint(struct tc *c, const char *path)
{
	return tc_read(c, 0, path) == 0 ? (unsigned)strtoul(c->body, NULL, 10) : ~0u;
}

/* The counter equals its commits, and its log is exactly 1..value with each
 * client appearing as often as it committed. */
static void conc_check_counter(struct tc *c, unsigned k, struct conc_client *cls)
{
	unsigned total = 0, per_client[CONC_CLIENTS] = {0}, bad = 0;
	char path[64];

	for (unsigned i = 0; i < CONC_CLIENTS; i++)
		total += cls[i].committed[k];
	snprintf(path, sizeof(path), "/conc/counter/%u", k);
	CU_ASSERT(conc_read_uint(c, path) == total);
	for (unsigned v = 1; v <= total; v++) {
		snprintf(path, sizeof(path), "/conc/log/%u/%u", k, v);
		unsigned who = conc_read_uint(c, path);
		if (who < CONC_CLIENTS)
			per_client[who]++;
		else
			bad++;
	}
	snprintf(path, sizeof(path), "/conc/log/%u/%u", k, total + 1);
	CU_ASSERT(tc_read(c, 0, path) == -ENOENT);
	CU_ASSERT(bad == 0);
	for (unsigned i = 0; i < CONC_CLIENTS; i++)
		CU_ASSERT(per_client[i] == cls[i].committed[k]);
}

static void conc_100_clients_serializable(void)
{
	static struct conc_client cls[CONC_CLIENTS];
	pthread_t th[CONC_CLIENTS];
	unsigned retries = 0, errors = 0;
	struct tc c;

	CU_ASSERT_FATAL(xs_quota_set("nodes", 100000) == 0);
	for (unsigned i = 0; i < CONC_CLIENTS; i++) {
		memset(&cls[i], 0, sizeof(cls[i]));
		cls[i].id = i;
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, conc_thread, &cls[i]) == 0);
	}
	for (unsigned i = 0; i < CONC_CLIENTS; i++) {
		pthread_join(th[i], NULL);
		retries += cls[i].retries;
		if (cls[i].error && errors++ < 5)
			printf("\n%s\n", cls[i].error_what);
	}
	CU_ASSERT(errors == 0);
	CU_ASSERT_FATAL(tc_open(&c) == 0);
	for (unsigned k = 0; k < CONC_COUNTERS; k++)
		conc_check_counter(&c, k, cls);
	for (unsigned i = 0; i < CONC_CLIENTS; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/conc/client/%u", i);
		CU_ASSERT(conc_read_uint(&c, path) == CONC_ROUNDS - 1);
	}
	printf("(%u conflicts retried) ", retries);
	xs_store_check();
	tc_close(&c);
}

void test_register(void)
{
	static const struct test_case wire[] = {
		TEST(server_write_read_roundtrip),
		TEST(server_request_one_byte_at_a_time),
		TEST(server_pipelined_requests_answered_in_order),
		TEST(server_large_output_flow_controlled),
		TEST(server_watch_immediate_event_then_changes),
		TEST(server_event_from_other_thread_delivered),
		TEST(server_transaction_over_socket),
		TEST(server_oversized_len_closes_only_that_connection),
		TEST(server_payload_max_accepted),
		TEST(server_client_gone_with_output_pending),
		TEST(server_start_rejects_bad_paths),
		TEST(server_start_replaces_stale_socket),
		TEST(server_watch_flood_drops_nonreader),
		TEST_END,
	};
	static const struct test_case fuzz[] = {
		TEST(fuzz_malformed_messages_good_client_unaffected),
		TEST_END,
	};
	static const struct test_case conc[] = {
		TEST(conc_100_clients_serializable),
		TEST_END,
	};

	test_add_suite("xenstored_wire", suite_init, suite_fini, wire);
	test_add_suite("xenstored_fuzz", suite_init, suite_fini, fuzz);
	test_add_suite("xenstored_concurrency", suite_init, suite_fini, conc);
}
