/*
 * The ceilings every other benchmark is divided by, measured in the same
 * invocation on the same machine: what the hardware and kernel give two
 * threads with nothing of xensim in between.
 *
 * - ring.eventfd: Xen's io/ring.h between two threads, 32 requests in flight
 *   (blkif-sized: 112-byte requests), eventfd notifications with ring.h's
 *   notification suppression (RING_PUSH_*_AND_CHECK_NOTIFY, RING_FINAL_CHECK_*).
 * - ring.spin: the same ring with both ends polling, no notifications.
 * - ceil.eventfd.rtt: an eventfd ping-pong round trip between two threads.
 * - ceil.memcpy: memcpy of 64 KiB blocks over 1 MiB buffers (cache-warm, as
 *   the drivers' copies of ring-sized working sets are).
 * - ceil.handoff: a token passed between two threads with mutex+condvar, the
 *   primitive of the deterministic scheduler.
 * - ceil.unix.rtt: a 16-byte request/response over a unix stream socketpair.
 * - ceil.thread: create and join a thread that makes and frees an event_base.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "drivers/platform.h"   /* xen_mb() and friends, before ring.h */
#include <xen/io/ring.h>

#include "tools/bench.h"

#define CEIL_RING_INFLIGHT 32u
#define CEIL_RING_OPS 2000000u
#define CEIL_RTT_OPS 50000u
#define CEIL_MEMCPY_BLOCK 65536u
#define CEIL_MEMCPY_SPAN (1u << 20)
#define CEIL_MEMCPY_BYTES (8ull << 30)
#define CEIL_HANDOFF_OPS 200000u
#define CEIL_THREADS 400u

struct ceil_req { uint64_t id; uint8_t body[104]; };   /* 112 bytes, like blkif */
struct ceil_rsp { uint64_t id; int16_t status; };
DEFINE_RING_TYPES(ceil, struct ceil_req, struct ceil_rsp);

/* ThreadSanitizer does not model the fences ring.h's protocol rests on; the
 * bare ring is the ceiling, not code under test, so it is not instrumented. */
#define CEIL_NO_TSAN __attribute__((no_sanitize_thread))

struct ceil_ring {
	void *page;
	ceil_front_ring_t front;
	ceil_back_ring_t back;
	int efd_to_back, efd_to_front;      /* -1: spinning */
	uint64_t ops;
	uint64_t notify_back, notify_front;
	uint64_t bad;                       /* a response with another id than expected */
	bool one_cpu;                       /* both ends share one CPU (bench .1cpu variant) */
};

static void efd_wait(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) < 0 && errno == EINTR)
		;
}

static void efd_kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		abort();
}

/* The back end: answer every request, sleep on the eventfd when idle. */
CEIL_NO_TSAN static void *ceil_back(void *arg)
{
	struct ceil_ring *c = arg;
	uint64_t done = 0;

	while (done < c->ops) {
		int more;
		RING_FINAL_CHECK_FOR_REQUESTS(&c->back, more);
		if (!more) {
			if (c->efd_to_back >= 0)
				efd_wait(c->efd_to_back);
			else if (c->one_cpu)
				sched_yield();   /* spinning on the peer's only CPU would wait out a time slice */
			continue;
		}
		while (RING_HAS_UNCONSUMED_REQUESTS(&c->back)) {
			struct ceil_req req;
			RING_COPY_REQUEST(&c->back, c->back.req_cons, &req);
			c->back.req_cons++;
			struct ceil_rsp *rsp = RING_GET_RESPONSE(&c->back, c->back.rsp_prod_pvt);
			rsp->id = req.id;
			rsp->status = 0;
			c->back.rsp_prod_pvt++;
			done++;
		}
		int notify;
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->back, notify);
		if (notify && c->efd_to_front >= 0) {
			efd_kick(c->efd_to_front);
			c->notify_front++;
		}
	}
	return NULL;
}

CEIL_NO_TSAN static uint64_t ceil_front_reap(struct ceil_ring *c, uint64_t *expect)
{
	uint64_t n = 0;

	while (RING_HAS_UNCONSUMED_RESPONSES(&c->front)) {
		struct ceil_rsp *rsp = RING_GET_RESPONSE(&c->front, c->front.rsp_cons);
		c->bad += rsp->id != (*expect)++;
		c->front.rsp_cons++;
		n++;
	}
	return n;
}

/* The front end: keep CEIL_RING_INFLIGHT requests in flight until c->ops answered. */
CEIL_NO_TSAN static void ceil_front(struct ceil_ring *c)
{
	uint64_t sent = 0, answered = 0, expect = 0;

	while (answered < c->ops) {
		while (sent < c->ops && sent - answered < CEIL_RING_INFLIGHT) {
			struct ceil_req *req = RING_GET_REQUEST(&c->front, c->front.req_prod_pvt);
			req->id = sent++;
			c->front.req_prod_pvt++;
		}
		int notify;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&c->front, notify);
		if (notify && c->efd_to_back >= 0) {
			efd_kick(c->efd_to_back);
			c->notify_back++;
		}
		uint64_t got = ceil_front_reap(c, &expect);
		if (got == 0) {
			int more;
			RING_FINAL_CHECK_FOR_RESPONSES(&c->front, more);
			if (!more && c->efd_to_front >= 0)
				efd_wait(c->efd_to_front);
			else if (!more && c->one_cpu)
				sched_yield();
		}
		answered += got;
	}
}

CEIL_NO_TSAN static int ceil_ring_run(struct bench_run *r, bool spin, const char *metric)
{
	struct ceil_ring c = {.ops = bench_count(r, CEIL_RING_OPS), .efd_to_back = -1, .efd_to_front = -1};
	cpu_set_t cpus;

	c.one_cpu = sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) == 1;
	pthread_t t;
	int rc = -ENOMEM;

	if (posix_memalign(&c.page, 4096, 4096) != 0)
		return -ENOMEM;
	SHARED_RING_INIT((ceil_sring_t *)c.page);
	FRONT_RING_INIT(&c.front, (ceil_sring_t *)c.page, 4096);
	BACK_RING_INIT(&c.back, (ceil_sring_t *)c.page, 4096);
	if (!spin) {
		c.efd_to_back = eventfd(0, EFD_CLOEXEC);
		c.efd_to_front = eventfd(0, EFD_CLOEXEC);
		if (c.efd_to_back < 0 || c.efd_to_front < 0)
			goto out;
	}
	uint64_t t0 = bench_now_ns();
	if (pthread_create(&t, NULL, ceil_back, &c) != 0)
		goto out;
	ceil_front(&c);
	pthread_join(t, NULL);
	uint64_t ns = bench_now_ns() - t0;
	if (c.bad) {
		bench_log(r, "%s: %llu responses out of order", metric, (unsigned long long)c.bad);
		rc = -EPROTO;
		goto out;
	}
	bench_put(r, metric, (double)c.ops * 1e9 / (double)ns);
	rc = 0;
out:
	if (c.efd_to_back >= 0)
		close(c.efd_to_back);
	if (c.efd_to_front >= 0)
		close(c.efd_to_front);
	free(c.page);
	return rc;
}

/* ---- eventfd and unix-socket round trips ---- */

struct ceil_pingpong {
	int a, b;             /* ping goes a -> peer, pong peer -> b */
	uint64_t ops;
	bool socket;
};

static void pp_recv(int fd, bool socket)
{
	char buf[16];

	if (socket) {
		size_t got = 0;
		while (got < sizeof(buf)) {
			ssize_t n = read(fd, buf + got, sizeof(buf) - got);
			if (n <= 0)
				abort();
			got += (size_t)n;
		}
	} else {
		efd_wait(fd);
	}
}

static void pp_send(int fd, bool socket)
{
	char buf[16] = "xensim-ceiling";

	if (!socket)
		efd_kick(fd);
	else if (write(fd, buf, sizeof(buf)) != sizeof(buf))
		abort();
}

static void *pp_peer(void *arg)
{
	struct ceil_pingpong *p = arg;

	for (uint64_t i = 0; i < p->ops; i++) {
		pp_recv(p->a, p->socket);
		pp_send(p->socket ? p->a : p->b, p->socket);
	}
	return NULL;
}

static int ceil_rtt(struct bench_run *r, bool socket, const char *p50, const char *p99)
{
	struct ceil_pingpong p = {.ops = bench_count(r, CEIL_RTT_OPS), .socket = socket};
	int sv[2] = {-1, -1};
	pthread_t t;
	double *samples = calloc(p.ops, sizeof(double));
	int rc = -ENOMEM;

	if (!samples)
		return -ENOMEM;
	if (socket ? socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0
		   : ((sv[0] = eventfd(0, EFD_CLOEXEC)) < 0 || (sv[1] = eventfd(0, EFD_CLOEXEC)) < 0))
		goto out;
	/* eventfds: ping on sv[0], pong on sv[1]; the socket: both ways on each end */
	p.a = socket ? sv[1] : sv[0];
	p.b = sv[1];
	if (pthread_create(&t, NULL, pp_peer, &p) != 0)
		goto out;
	for (uint64_t i = 0; i < p.ops; i++) {
		uint64_t t0 = bench_now_ns();
		pp_send(sv[0], socket);
		pp_recv(socket ? sv[0] : sv[1], socket);
		samples[i] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	pthread_join(t, NULL);
	double median = bench_percentile(samples, p.ops, 50);
	bench_put(r, p50, median);
	bench_put(r, p99, bench_percentile(samples, p.ops, 99));
	if (socket)   /* what a request/response protocol over the socket can do */
		bench_put(r, "ceil.unix.ops", 1e6 / median);
	rc = 0;
out:
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	free(samples);
	return rc;
}

/* ---- memcpy, handoff, thread creation ---- */

static int ceil_memcpy(struct bench_run *r)
{
	uint8_t *src = malloc(CEIL_MEMCPY_SPAN), *dst = malloc(CEIL_MEMCPY_SPAN);
	uint64_t bytes = bench_count(r, CEIL_MEMCPY_BYTES / CEIL_MEMCPY_BLOCK) * CEIL_MEMCPY_BLOCK;
	uint64_t sum = 0;

	if (!src || !dst) {
		free(src);
		free(dst);
		return -ENOMEM;
	}
	memset(src, 0x5a, CEIL_MEMCPY_SPAN);
	memset(dst, 0, CEIL_MEMCPY_SPAN);
	uint64_t t0 = bench_now_ns();
	for (uint64_t done = 0, off = 0; done < bytes; done += CEIL_MEMCPY_BLOCK) {
		memcpy(dst + off, src + ((off + CEIL_MEMCPY_BLOCK * 3) % CEIL_MEMCPY_SPAN), CEIL_MEMCPY_BLOCK);
		sum += dst[off + (done & 0xfff)];   /* keeps the copy observable */
		off = (off + CEIL_MEMCPY_BLOCK) % CEIL_MEMCPY_SPAN;
	}
	uint64_t ns = bench_now_ns() - t0;
	free(src);
	free(dst);
	if (sum != (bytes / CEIL_MEMCPY_BLOCK) * 0x5a)
		return -EIO;
	bench_put(r, "ceil.memcpy", (double)bytes * 8.0 / (double)ns);
	return 0;
}

struct ceil_handoff {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int turn;             /* 0 or 1: who holds the token */
	uint64_t ops;
};

static void handoff_loop(struct ceil_handoff *h, int me)
{
	pthread_mutex_lock(&h->lock);
	for (uint64_t i = 0; i < h->ops; i++) {
		while (h->turn != me)
			pthread_cond_wait(&h->cond, &h->lock);
		h->turn = !me;
		pthread_cond_broadcast(&h->cond);
	}
	pthread_mutex_unlock(&h->lock);
}

static void *handoff_peer(void *arg)
{
	handoff_loop(arg, 1);
	return NULL;
}

static int ceil_handoff(struct bench_run *r)
{
	struct ceil_handoff h = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER,
				 .ops = bench_count(r, CEIL_HANDOFF_OPS)};
	pthread_t t;

	uint64_t t0 = bench_now_ns();
	if (pthread_create(&t, NULL, handoff_peer, &h) != 0)
		return -EAGAIN;
	handoff_loop(&h, 0);
	pthread_join(t, NULL);
	uint64_t ns = bench_now_ns() - t0;
	bench_put(r, "ceil.handoff", (double)(2 * h.ops) * 1e9 / (double)ns);
	return 0;
}

static void *thread_with_base(void *arg)
{
	struct event_base *base = event_base_new();

	if (base)
		event_base_free(base);
	return base ? arg : NULL;
}

static int ceil_thread(struct bench_run *r)
{
	uint64_t n = bench_count(r, CEIL_THREADS);
	double *samples = calloc(n, sizeof(double));

	if (!samples)
		return -ENOMEM;
	for (uint64_t i = 0; i < n; i++) {
		pthread_t t;
		void *ok = NULL;
		uint64_t t0 = bench_now_ns();
		if (pthread_create(&t, NULL, thread_with_base, &n) != 0 || pthread_join(t, &ok) != 0 || !ok) {
			free(samples);
			return -EAGAIN;
		}
		samples[i] = (double)(bench_now_ns() - t0) / 1000.0;
	}
	bench_put(r, "ceil.thread", bench_percentile(samples, n, 50));
	free(samples);
	return 0;
}

static int ceiling_run(struct bench_run *r)
{
	int rc = ceil_rtt(r, false, "ceil.eventfd.rtt", "ceil.eventfd.rtt.p99");

	if (rc == 0)
		rc = ceil_rtt(r, true, "ceil.unix.rtt", "ceil.unix.rtt.p99");
	if (rc == 0)
		rc = ceil_memcpy(r);
	if (rc == 0)
		rc = ceil_handoff(r);
	if (rc == 0)
		rc = ceil_thread(r);
	return rc;
}

static int ring_run(struct bench_run *r)
{
	int rc = ceil_ring_run(r, false, "ring.eventfd");

	return rc == 0 ? ceil_ring_run(r, true, "ring.spin") : rc;
}

static const struct bench_metric ceiling_metrics[] = {
	{"ceil.eventfd.rtt", "us", NULL, 0, 1},
	{"ceil.eventfd.rtt.p99", "us", NULL, 0, 1},
	{"ceil.unix.rtt", "us", NULL, 0, 1},
	{"ceil.unix.rtt.p99", "us", NULL, 0, 1},
	{"ceil.unix.ops", "ops/s", NULL, 0, 0},
	{"ceil.memcpy", "Gbit/s", NULL, 0, 0},
	{"ceil.handoff", "switch/s", NULL, 0, 0},
	{"ceil.thread", "us", NULL, 0, 1},
	{NULL},
};

static const struct bench_metric ring_metrics[] = {
	{"ring.eventfd", "ops/s", NULL, 0, 0},
	{"ring.spin", "ops/s", NULL, 0, 0},
	{NULL},
};

const struct bench bench_ceiling = {
	.name = "ceiling",
	.what = "what two bare threads get: eventfd and unix-socket round trips, memcpy, "
		"mutex/condvar handoff, thread creation",
	.metrics = ceiling_metrics,
	.run = ceiling_run,
	.one_cpu_too = 1,
};

const struct bench bench_ring = {
	.name = "ring",
	.what = "Xen's io/ring.h between two threads, 32 in flight: eventfd notifications "
		"with suppression, and spinning",
	.metrics = ring_metrics,
	.run = ring_run,
	.one_cpu_too = 1,
};
