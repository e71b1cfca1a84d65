/*
 * The xs_wire server (sim/xenstore/wire_server.c) seen from real sockets:
 * framing with partial reads and writes, watch events, flow control and the
 * output bound (xenstored_wire). The stress suites (malformed traffic, 100
 * concurrent clients) are in xenstored_stress_test.c.
 */
#include "tests/xs_wire_client.h"

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

	test_add_suite("xenstored_wire", suite_init, suite_fini, wire);
}
