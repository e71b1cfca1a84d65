/*
 * Scale: many guests in one process, each with a vbd and a vif, built exactly
 * as `xensim bench scale` builds them (this file includes its world, without
 * the bench harness): every device connects on both ends, does one verified
 * I/O (a 4 KiB read of a pattern, one frame reflected back to its sender),
 * and the teardown leaves nothing behind: no grant, map, port, handle or
 * xenstore node. No timing is asserted.
 *
 * Also the pieces that scale needed: the xenstore watch index keeps the event
 * order of the old walk over every watch (connections newest first, a
 * connection's watches in the order they were set) and forgets unwatched
 * watches; the event-channel queue (a list through the ports) keeps delivery
 * order when a port in its middle is closed.
 */
#define SCALE_WORLD_ONLY
#include "tools/bench_scale.c"

#include <poll.h>
#include <xenevtchn.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "tests/leftovers.h"
#include "tests/test.h"

#define ST_GUESTS 64u

/* ---- many guests ---- */

static void st_check_clean(const struct scale_world *w, unsigned nodes_base)
{
	expect_nothing_left((domid_t)(w->nbe + w->n), nodes_base);
}

static void test_guests_connect_do_io_and_leave_nothing(void)
{
	static struct scale_world w;
	uint64_t fds = scale_raise_nofile();
	unsigned nodes_base, n = ST_GUESTS;

	/* A low descriptor limit costs guests, not the test. */
	if (fds < (uint64_t)n * SCALE_FDS_PER_GUEST + SCALE_FDS_SPARE) {
		n = fds > 2 * SCALE_FDS_SPARE ? (unsigned)((fds - SCALE_FDS_SPARE) / SCALE_FDS_PER_GUEST) : 2;
		printf("  RLIMIT_NOFILE %llu: %u guests instead of %u\n", (unsigned long long)fds, n, ST_GUESTS);
	}
	CU_ASSERT_EQUAL_FATAL(scale_world_up(&w, n), 0);
	CU_ASSERT_EQUAL(w.nbe, (n + SCALE_GUESTS_PER_BACKEND - 1) / SCALE_GUESTS_PER_BACKEND);
	nodes_base = xs_store_nodes_total();
	int rc = scale_connect(&w);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(scale_states_connected(&w), 2 * n);
	if (rc == 0) {
		CU_ASSERT_EQUAL(scale_io(&w), 0);
	}
	if (w.failure[0])
		printf("  %s\n", w.failure);
	unsigned blk = 0, frames = 0;
	for (unsigned i = 0; i < w.n; i++) {
		blk += w.g[i].blk_verified;
		frames += w.g[i].frame_verified;
	}
	CU_ASSERT_EQUAL(blk, n);
	CU_ASSERT_EQUAL(frames, n);
	CU_ASSERT_EQUAL(w.sig[SCALE_FAILED], 0);
	scale_teardown(&w);
	uint64_t vbds = 0, vifs = 0, reads = 0, frames_back = 0;
	for (unsigned b = 0; b < w.nbe; b++) {
		vbds += w.be[b].bstats.connects;
		vifs += w.be[b].nstats.connects;
		reads += w.be[b].bstats.requests;
		frames_back += w.be[b].nstats.rx_packets;
	}
	/* The backends connected each device once and saw one request each. */
	CU_ASSERT_EQUAL(vbds, n);
	CU_ASSERT_EQUAL(vifs, n);
	CU_ASSERT_EQUAL(reads, n);
	CU_ASSERT_EQUAL(frames_back, n);
	st_check_clean(&w, nodes_base);
	scale_world_down(&w);
}

/* ---- the xenstore watch index ---- */

static struct xs_handle *st_open_as(domid_t d)
{
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(d), 0);
	struct xs_handle *h = xs_open(0);
	sim_thread_leave();
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static bool st_ev_is(struct xs_handle *h, const char *path, const char *token)
{
	char **v = xs_check_watch(h);
	bool ok = v && strcmp(v[XS_WATCH_PATH], path) == 0 && strcmp(v[XS_WATCH_TOKEN], token) == 0;

	if (!ok)
		printf("\n  event %s/%s, expected %s/%s\n", v ? v[0] : "(none)", v ? v[1] : "",
		       path, token);
	free(v);
	return ok;
}

static void st_ev_drain(struct xs_handle *h)
{
	char **v;

	while ((v = xs_check_watch(h)))
		free(v);
}

static void test_watch_index_keeps_order_and_forgets_unwatched(void)
{
	sim_reset();
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
				      .name = "dom0", .domid = 0, .privileged = true}), 0);
	xs_store_reset();
	struct xs_handle *a = st_open_as(0), *b = st_open_as(0);
	/* Set on the child first, then the root, then the parent: the events of
	 * one write come in that order, not in path order. */
	CU_ASSERT_TRUE(xs_watch(a, "/x/y", "a-child"));
	CU_ASSERT_TRUE(xs_watch(a, "/", "a-root"));
	CU_ASSERT_TRUE(xs_watch(a, "/x", "a-parent"));
	CU_ASSERT_TRUE(xs_watch(b, "/x", "b-parent"));
	CU_ASSERT_TRUE(xs_watch(b, "/x/y/z", "b-node"));
	CU_ASSERT_TRUE(xs_watch(b, "/x/yy", "b-sibling"));   /* a prefix, not an ancestor */
	st_ev_drain(a);
	st_ev_drain(b);
	CU_ASSERT_TRUE(xs_write(a, XBT_NULL, "/x/y/z", "1", 1));
	CU_ASSERT_TRUE(st_ev_is(a, "/x/y/z", "a-child"));
	CU_ASSERT_TRUE(st_ev_is(a, "/x/y/z", "a-root"));
	CU_ASSERT_TRUE(st_ev_is(a, "/x/y/z", "a-parent"));
	CU_ASSERT_PTR_NULL(xs_check_watch(a));
	CU_ASSERT_TRUE(st_ev_is(b, "/x/y/z", "b-parent"));
	CU_ASSERT_TRUE(st_ev_is(b, "/x/y/z", "b-node"));
	CU_ASSERT_PTR_NULL(xs_check_watch(b));
	/* Unwatched: gone from the index too. */
	CU_ASSERT_TRUE(xs_unwatch(a, "/", "a-root"));
	CU_ASSERT_TRUE(xs_unwatch(b, "/x/y/z", "b-node"));
	CU_ASSERT_TRUE(xs_write(b, XBT_NULL, "/x/y/z", "2", 1));
	CU_ASSERT_TRUE(st_ev_is(a, "/x/y/z", "a-child"));
	CU_ASSERT_TRUE(st_ev_is(a, "/x/y/z", "a-parent"));
	CU_ASSERT_PTR_NULL(xs_check_watch(a));
	CU_ASSERT_TRUE(st_ev_is(b, "/x/y/z", "b-parent"));
	CU_ASSERT_PTR_NULL(xs_check_watch(b));
	/* Closing a connection takes its watches out of the index. */
	xs_close(a);
	CU_ASSERT_TRUE(xs_write(b, XBT_NULL, "/x/yy", "3", 1));
	CU_ASSERT_TRUE(st_ev_is(b, "/x/yy", "b-parent"));
	CU_ASSERT_TRUE(st_ev_is(b, "/x/yy", "b-sibling"));
	xs_store_check();
	xs_close(b);
	sim_reset();
	xs_store_reset();
}

/* ---- the event-channel queue ---- */

static void test_evtchn_queue_close_in_middle_keeps_order(void)
{
	evtchn_port_t local[3], remote[3];

	sim_reset();
	for (int id = 0; id < 2; id++)
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
					      .name = id ? "guest1" : "dom0", .domid = id, .privileged = !id}), id);
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(1), 0);
	xenevtchn_handle *g = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(g);
	for (int i = 0; i < 3; i++)
		local[i] = (evtchn_port_t)xenevtchn_bind_unbound_port(g, 0);
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(0), 0);
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	/* bind_interdomain leaves each new port pending: three queued, in order. */
	for (int i = 0; i < 3; i++)
		remote[i] = (evtchn_port_t)xenevtchn_bind_interdomain(h, 1, local[i]);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h, remote[1]), 0);
	CU_ASSERT_EQUAL(xenevtchn_pending(h), (int)remote[0]);
	CU_ASSERT_EQUAL(xenevtchn_pending(h), (int)remote[2]);
	struct pollfd pfd = {.fd = xenevtchn_fd(h), .events = POLLIN};
	CU_ASSERT_EQUAL(poll(&pfd, 1, 0), 0);   /* nothing more queued */
	evtchn_check();
	xenevtchn_close(h);
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(1), 0);
	xenevtchn_close(g);
	sim_thread_leave();
	evtchn_check();
	sim_reset();
}

void test_register(void)
{
	static const struct test_case world[] = {
		TEST(test_guests_connect_do_io_and_leave_nothing), TEST_END,
	};
	static const struct test_case pieces[] = {
		TEST(test_watch_index_keeps_order_and_forgets_unwatched),
		TEST(test_evtchn_queue_close_in_middle_keeps_order), TEST_END,
	};
	test_add_suite("scale_world", NULL, NULL, world);
	test_add_suite("scale_pieces", NULL, NULL, pieces);
}
