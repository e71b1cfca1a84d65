/*
 * The xs_wire server under stress: thousands of malformed messages while a
 * well-behaved client keeps working (xenstored_fuzz); 100 concurrent clients
 * whose committed transactions must add up to a serial history
 * (xenstored_concurrency).
 */
#include <stdatomic.h>

#include "tests/xs_wire_client.h"

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
	static const struct test_case fuzz[] = {
		TEST(fuzz_malformed_messages_good_client_unaffected),
		TEST_END,
	};
	static const struct test_case conc[] = {
		TEST(conc_100_clients_serializable),
		TEST_END,
	};

	test_add_suite("xenstored_fuzz", suite_init, suite_fini, fuzz);
	test_add_suite("xenstored_concurrency", suite_init, suite_fini, conc);
}
