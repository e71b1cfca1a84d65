/* CUnit suites for the deterministic scheduler: replay by seed, virtual time,
 * hang detection, calls through the scheduler, and a known ring race found by
 * PCT. The ring pair here is test-only code written against Xen's API. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <event2/event.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"
#include <xen/io/ring.h>

#include "sim/hypervisor/hypervisor.h"
#include "tests/test.h"

struct rc_request {
	uint32_t seq;
};
struct rc_response {
	uint32_t seq;
};
DEFINE_RING_TYPES(rc, struct rc_request, struct rc_response);
#define RC_PAGE_BYTES 4096u

/* ---- a producer (guest) that sends one request at a time ---- */

struct rc_prod {
	domid_t peer;
	uint32_t total, sent, done;
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct rc_sring *sring;
	uint32_t ref;
	struct rc_front_ring ring;
	struct event *ev;
	uint32_t order_hash;          /* which responses came back when: the interleaving */
};

static void prod_send(struct rc_prod *p)
{
	int notify;

	RING_GET_REQUEST(&p->ring, p->ring.req_prod_pvt)->seq = p->sent++;
	p->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&p->ring, notify);
	if (notify)
		xenevtchn_notify(p->xce, p->port);
}

static void prod_event(evutil_socket_t fd, short what, void *arg)
{
	struct rc_prod *p = arg;
	int more;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(p->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(p->xce, (evtchn_port_t)port);
	do {
		RING_IDX rp = p->sring->rsp_prod;
		xen_rmb();
		while (p->ring.rsp_cons != rp) {
			uint32_t seq = RING_GET_RESPONSE(&p->ring, p->ring.rsp_cons)->seq;
			p->ring.rsp_cons++;
			p->done++;
			p->order_hash = p->order_hash * 31 + seq + (uint32_t)sim_sched_steps();
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&p->ring, more);
	} while (more);
	if (p->done == p->sent && p->sent < p->total)
		prod_send(p);
}

static int prod_setup(void *arg)
{
	struct rc_prod *p = arg;

	p->gs = xengntshr_open(NULL, 0);
	p->xce = xenevtchn_open(NULL, 0);
	p->sring = xengntshr_share_pages(p->gs, p->peer, 1, &p->ref, 1);
	if (!p->sring)
		return -1;
	SHARED_RING_INIT(p->sring);
	FRONT_RING_INIT(&p->ring, p->sring, RC_PAGE_BYTES);
	p->port = (evtchn_port_t)xenevtchn_bind_unbound_port(p->xce, p->peer);
	p->ev = event_new(sim_domain_event_base(), xenevtchn_fd(p->xce), EV_READ | EV_PERSIST,
			  prod_event, p);
	return event_add(p->ev, NULL);
}

static void prod_start(void *arg)
{
	prod_send(arg);
}

/* ---- a consumer (dom0), correct or with the lost-wakeup bug ---- */

struct rc_cons {
	domid_t peer;
	uint32_t ref;
	evtchn_port_t remote_port;
	bool broken;                  /* skips the final check for new requests */
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct rc_sring *sring;
	struct rc_back_ring ring;
	struct event *ev;
};

static void cons_serve(struct rc_cons *c)
{
	int notify;

	RING_IDX rp = c->sring->req_prod;
	xen_rmb();
	while (c->ring.req_cons != rp) {
		struct rc_request req;
		RING_COPY_REQUEST(&c->ring, c->ring.req_cons, &req);
		c->ring.req_cons++;
		RING_GET_RESPONSE(&c->ring, c->ring.rsp_prod_pvt)->seq = req.seq;
		c->ring.rsp_prod_pvt++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
	if (notify)
		xenevtchn_notify(c->xce, c->port);
}

static void cons_event(evutil_socket_t fd, short what, void *arg)
{
	struct rc_cons *c = arg;
	int more;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(c->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(c->xce, (evtchn_port_t)port);
	do {
		cons_serve(c);
		if (c->broken) {
			/* The bug: ask for an event, but do not look again before sleeping. */
			RING_IDX rp = c->sring->req_prod;
			xen_rmb();
			more = c->ring.req_cons != rp;
			if (!more) {
				c->sring->req_event = c->ring.req_cons + 1;
				xen_mb();
			}
		} else {
			RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
		}
	} while (more);
}

static int cons_connect(void *arg)
{
	struct rc_cons *c = arg;

	c->gt = xengnttab_open(NULL, 0);
	c->xce = xenevtchn_open(NULL, 0);
	c->sring = xengnttab_map_grant_ref(c->gt, c->peer, c->ref, PROT_READ | PROT_WRITE);
	if (!c->sring)
		return -1;
	BACK_RING_INIT(&c->ring, c->sring, RC_PAGE_BYTES);
	c->port = (evtchn_port_t)xenevtchn_bind_interdomain(c->xce, c->peer, c->remote_port);
	c->ev = event_new(sim_domain_event_base(), xenevtchn_fd(c->xce), EV_READ | EV_PERSIST,
			  cons_event, c);
	return event_add(c->ev, NULL);
}

static int cons_disconnect(void *arg)
{
	struct rc_cons *c = arg;

	event_free(c->ev);
	xengnttab_unmap(c->gt, c->sring, 1);
	xenevtchn_close(c->xce);
	xengnttab_close(c->gt);
	return 0;
}

static int prod_teardown(void *arg)
{
	struct rc_prod *p = arg;

	event_free(p->ev);
	xengntshr_unshare(p->gs, p->sring, 1);
	xenevtchn_close(p->xce);
	xengntshr_close(p->gs);
	return 0;
}

/* ---- one run ---- */

struct rc_run {
	enum sim_run_result result;
	uint64_t hash, steps, vt_ns;
	uint32_t done, order_hash;
};

static bool prod_finished(void *arg)
{
	struct rc_prod *p = arg;

	return p->done == p->total;
}

/* dom0 (consumer) and guest 1 (producer) with a connected ring, the first
 * request posted: the set-up every run here shares. */
static void rc_pair_up(struct rc_prod *p, struct rc_cons *c)
{
	int d0 = sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0, .privileged = true});
	int g = sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 1});

	CU_ASSERT_EQUAL_FATAL(d0, 0);
	CU_ASSERT_EQUAL_FATAL(g, 1);
	p->peer = 0;
	c->peer = 1;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, prod_setup, p), 0);
	c->ref = p->ref;
	c->remote_port = p->port;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, cons_connect, c), 0);
	sim_domain_post(1, prod_start, p);
}

static struct rc_run rc_exchange(const struct sim_sched_config *cfg, bool broken, uint32_t total)
{
	struct rc_run r = {0};

	struct rc_prod p = {.total = total};
	struct rc_cons c = {.broken = broken};

	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(cfg), 0);
	rc_pair_up(&p, &c);
	/* No deadline: a hang shows as IDLE (nothing can run, no timer pending). */
	r.result = sim_run(prod_finished, &p, UINT64_MAX, 2000000);
	r.hash = sim_trace_hash();
	r.steps = sim_sched_steps();
	r.vt_ns = sim_now_ns();
	r.done = p.done;
	r.order_hash = p.order_hash;
	sim_domain_call(0, cons_disconnect, &c);
	sim_domain_call(1, prod_teardown, &p);
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	sim_reset();
	return r;
}

static struct sim_sched_config det_cfg(enum sim_policy policy, uint64_t seed)
{
	return (struct sim_sched_config){.mode = SIM_MODE_DET, .policy = policy, .pct_depth = 2,
					 .pct_steps = 600, .seed = seed};
}

static int reset_all(void)
{
	sim_reset();
	return 0;
}

/* ---- sched_replay ---- */

static void run_same_seed_same_trace(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 42);
	struct rc_run a = rc_exchange(&cfg, false, 50);
	struct rc_run b = rc_exchange(&cfg, false, 50);

	CU_ASSERT_EQUAL(a.result, SIM_RUN_DONE);
	CU_ASSERT_EQUAL(a.done, 50);
	CU_ASSERT_EQUAL(a.hash, b.hash);
	CU_ASSERT_EQUAL(a.steps, b.steps);
	CU_ASSERT_EQUAL(a.order_hash, b.order_hash);
}

static void run_other_seeds_other_interleavings(void)
{
	uint64_t hashes[8];
	unsigned distinct = 0;

	for (int i = 0; i < 8; i++) {
		struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 100 + (uint64_t)i);
		struct rc_run r = rc_exchange(&cfg, false, 30);
		CU_ASSERT_EQUAL(r.result, SIM_RUN_DONE);
		hashes[i] = r.order_hash;
		bool seen = false;
		for (int j = 0; j < i; j++)
			seen |= hashes[j] == hashes[i];
		distinct += !seen;
	}
	CU_ASSERT_TRUE(distinct >= 4);
}

static void run_pct_replays(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_PCT, 7);
	struct rc_run a = rc_exchange(&cfg, false, 40);
	struct rc_run b = rc_exchange(&cfg, false, 40);

	CU_ASSERT_EQUAL(a.result, SIM_RUN_DONE);
	CU_ASSERT_EQUAL(a.hash, b.hash);
}

/* ---- sched_race: the known lost-wakeup bug ---- */

#define RACE_SEEDS 300

static int race_sweep(bool broken, uint64_t *first_seed)
{
	int hangs = 0;

	*first_seed = 0;
	for (uint64_t seed = 1; seed <= RACE_SEEDS; seed++) {
		struct sim_sched_config cfg = det_cfg(SIM_POLICY_PCT, seed);
		struct rc_run r = rc_exchange(&cfg, broken, 20);
		if (r.result != SIM_RUN_DONE) {
			if (!hangs)
				*first_seed = seed;
			hangs++;
			/* A hang is nothing runnable and no timer: IDLE, before any deadline. */
			CU_ASSERT_EQUAL(r.result, SIM_RUN_IDLE);
			CU_ASSERT_TRUE(r.done < 20);
		}
	}
	return hangs;
}

static void pct_finds_lost_wakeup(void)
{
	uint64_t first;
	int hangs = race_sweep(true, &first);

	printf("\n    pct:2 found the lost wakeup in %d of %d seeds, first at seed %llu\n", hangs,
	       RACE_SEEDS, (unsigned long long)first);
	CU_ASSERT_TRUE(hangs > 0);
	/* The same seed replays the same hang. */
	if (hangs) {
		struct sim_sched_config cfg = det_cfg(SIM_POLICY_PCT, first);
		CU_ASSERT_EQUAL(rc_exchange(&cfg, true, 20).result, SIM_RUN_IDLE);
	}
}

static void pct_correct_consumer_passes(void)
{
	uint64_t first;

	CU_ASSERT_EQUAL(race_sweep(false, &first), 0);
}

/* ---- sched_time ---- */

struct timer_probe {
	struct event *ev;
	uint64_t fired_at_ns;
};

static void timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct timer_probe *t = arg;

	(void)fd;
	(void)what;
	t->fired_at_ns = sim_now_ns();
}

static int timer_arm(void *arg)
{
	struct timer_probe *t = arg;
	struct timeval tv = {30, 0};

	t->ev = evtimer_new(sim_domain_event_base(), timer_fired, t);
	return evtimer_add(t->ev, &tv);
}

static int timer_free(void *arg)
{
	event_free(((struct timer_probe *)arg)->ev);
	return 0;
}

static bool timer_done(void *arg)
{
	return ((struct timer_probe *)arg)->fired_at_ns != 0;
}

static void virtual_time_skips_idle_waits(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 1);
	struct timer_probe t = {0};
	struct timespec w0, w1;

	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	int g = sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 1});
	uint64_t t0 = sim_now_ns();
	CU_ASSERT_EQUAL(t0, 1000000000ull);
	clock_gettime(CLOCK_MONOTONIC_RAW, &w0);   /* RAW is never virtual */
	CU_ASSERT_EQUAL(sim_domain_call((domid_t)g, timer_arm, &t), 0);
	CU_ASSERT_EQUAL(sim_run(timer_done, &t, UINT64_MAX, 0), SIM_RUN_DONE);
	clock_gettime(CLOCK_MONOTONIC_RAW, &w1);
	CU_ASSERT_EQUAL(t.fired_at_ns, t0 + 30ull * 1000000000ull);
	double wall = (double)(w1.tv_sec - w0.tv_sec) + (double)(w1.tv_nsec - w0.tv_nsec) / 1e9;
	CU_ASSERT_TRUE(wall < 5.0);   /* 30 virtual seconds cost no real wait */
	/* Nothing left to run and no timer: the scheduler says so. */
	CU_ASSERT_EQUAL(sim_run(NULL, NULL, UINT64_MAX, 0), SIM_RUN_IDLE);
	/* A deadline with nothing to do moves the clock to it. */
	CU_ASSERT_EQUAL(sim_run(NULL, NULL, sim_now_ns() + 5000, 0), SIM_RUN_DEADLINE);
	sim_domain_call((domid_t)g, timer_free, &t);
	sim_reset();
}

static void configure_refused_with_domains(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 1);

	sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 1});
	CU_ASSERT_EQUAL(sim_sched_configure(&cfg), -EBUSY);
	sim_reset();
	cfg.policy = SIM_POLICY_PCT;
	cfg.pct_depth = 0;
	CU_ASSERT_EQUAL(sim_sched_configure(&cfg), -EINVAL);
	CU_ASSERT_EQUAL(sim_mode(), SIM_MODE_FREE);
}

static void step_limit_stops_the_run(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 3);

	struct rc_prod p = {.total = 1000};
	struct rc_cons c = {0};

	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	rc_pair_up(&p, &c);
	uint64_t before = sim_sched_steps();
	CU_ASSERT_EQUAL(sim_run(prod_finished, &p, UINT64_MAX, 100), SIM_RUN_STEPS);
	CU_ASSERT_TRUE(sim_sched_steps() - before >= 100 && sim_sched_steps() - before <= 101);
	CU_ASSERT_TRUE(p.done < 1000);
	/* Tear down with the domains parked mid-exchange. */
	sim_domain_call(0, cons_disconnect, &c);
	sim_domain_call(1, prod_teardown, &p);
	sim_reset();
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
}

/* Crashing domains parked anywhere mid-exchange: their driver code never runs
 * again, so nothing touches the grants the teardown hooks just unmapped. */
static void crash_mid_callback_runs_no_driver_code(void)
{
	uint64_t faults = sim_fault_count();

	for (uint64_t stop_at = 1; stop_at <= 400; stop_at += 7) {
		struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, stop_at);
		struct rc_prod p = {.total = 1000};
		struct rc_cons c = {0};

		CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
		rc_pair_up(&p, &c);
		CU_ASSERT_EQUAL(sim_run(prod_finished, &p, UINT64_MAX, stop_at), SIM_RUN_STEPS);
		CU_ASSERT_EQUAL(sim_domain_crash(0), 0);
		CU_ASSERT_EQUAL(sim_domain_crash(1), 0);
		CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
		CU_ASSERT_EQUAL(sim_domain_count(), 0);
		/* What the dead drivers held: handles close from any thread; the
		 * events' base died with its domain, and libevent made them with
		 * malloc. */
		CU_ASSERT_EQUAL(xenevtchn_close(p.xce), 0);
		CU_ASSERT_EQUAL(xenevtchn_close(c.xce), 0);
		CU_ASSERT_EQUAL(xengntshr_close(p.gs), 0);
		CU_ASSERT_EQUAL(xengnttab_close(c.gt), 0);
		free(p.ev);
		free(c.ev);
		sim_reset();
	}
	CU_ASSERT_EQUAL(sim_fault_count(), faults);
}

/* ---- sched_livelock ---- */

/* A domain call that waits, at scheduling points, for what nobody will do. */
static int spin_forever(void *arg)
{
	const bool *go = arg;

	while (!*go)
		sim_sched_point("spin.test");
	return 0;
}

static void spin_forever_void(void *arg)
{
	spin_forever(arg);
}

static int count_call(void *arg)
{
	(*(unsigned *)arg)++;
	return 0;
}

static char livelock_seen[256];
static unsigned livelock_calls;

static void livelock_noted(const char *why)
{
	snprintf(livelock_seen, sizeof(livelock_seen), "%s", why);
	livelock_calls++;
}

/* The call gives up at the bound and says who spun where; later calls do not
 * run the spinner again; destroying it parks its thread (it never finishes its
 * step) instead of waiting forever; the next run is as good as new. */
static void call_bound_ends_a_spinning_call(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 5);
	bool go = false;
	unsigned ran = 0;
	char why[256];

	livelock_calls = 0;
	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	sim_sched_set_call_bound(5000, livelock_noted);
	CU_ASSERT_TRUE_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0,
									   .privileged = true}) == 0);
	CU_ASSERT_TRUE_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "guest",
									   .domid = 1}) == 1);
	CU_ASSERT_EQUAL(sim_domain_call(0, count_call, &ran), 0);
	CU_ASSERT_FALSE(sim_sched_livelock(why, sizeof(why)));
	uint64_t before = sim_sched_steps();
	CU_ASSERT_EQUAL(sim_domain_call(1, spin_forever, &go), -ETIMEDOUT);
	CU_ASSERT_TRUE(sim_sched_steps() - before >= 5000 && sim_sched_steps() - before <= 5001);
	CU_ASSERT_EQUAL(livelock_calls, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(livelock_seen, "domain 1 "));
	CU_ASSERT_PTR_NOT_NULL(strstr(livelock_seen, "spin.test"));
	CU_ASSERT_TRUE(sim_sched_livelock(why, sizeof(why)));
	CU_ASSERT_STRING_EQUAL(why, livelock_seen);
	/* Every later call from outside: refused at once, nothing runs. */
	before = sim_sched_steps();
	CU_ASSERT_EQUAL(sim_domain_call(0, count_call, &ran), -ETIMEDOUT);
	CU_ASSERT_EQUAL(ran, 1);
	CU_ASSERT_EQUAL(sim_sched_steps(), before);
	CU_ASSERT_EQUAL(sim_domain_destroy(1), 0);
	CU_ASSERT_EQUAL(sim_domain_destroy(0), 0);
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
	sim_reset();
	CU_ASSERT_FALSE(sim_sched_livelock(why, sizeof(why)));
	CU_ASSERT_EQUAL(livelock_calls, 1);
	struct rc_run r = rc_exchange(&cfg, false, 50);
	CU_ASSERT_EQUAL(r.done, 50);
}

/* No bound: a spinner stopped for destruction is parked after a million
 * points, and the destroy returns. */
static void destroy_parks_a_spinning_domain(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_PCT, 6);
	bool go = false;
	char why[256];

	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	CU_ASSERT_TRUE_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "guest",
									   .domid = 1}) == 1);
	CU_ASSERT_EQUAL(sim_domain_post(1, spin_forever_void, &go), 0);
	CU_ASSERT_EQUAL(sim_run(NULL, NULL, UINT64_MAX, 300), SIM_RUN_STEPS);
	CU_ASSERT_FALSE(sim_sched_livelock(why, sizeof(why)));
	CU_ASSERT_EQUAL(sim_domain_destroy(1), 0);
	CU_ASSERT_TRUE(sim_sched_livelock(why, sizeof(why)));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "domain 1 was stopped"));
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "spin.test"));
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
}

/* ---- sched_pause ---- */

static void pause_count(void *arg)
{
	(*(unsigned *)arg)++;
}

static bool pause_ran(void *arg)
{
	return *(unsigned *)arg > 0;
}

static void pause_undo(void *arg)
{
	CU_ASSERT_EQUAL(sim_domain_unpause((domid_t)(uintptr_t)arg), 0);
}

/* Det mode: a paused domain is never scheduled (nothing else can run: the
 * run is idle, not done); a call from outside cannot wait for it without a
 * timer that unpauses it; with one, virtual time moves to it and the work
 * runs then. */
static void paused_domain_not_scheduled(void)
{
	struct sim_sched_config cfg = det_cfg(SIM_POLICY_RANDOM, 9);
	unsigned ran = 0;

	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	CU_ASSERT_TRUE_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "guest",
									   .domid = 1}) == 1);
	CU_ASSERT_EQUAL(sim_domain_pause(1), 0);
	CU_ASSERT_EQUAL(sim_domain_post(1, pause_count, &ran), 0);
	uint64_t t0 = sim_now_ns();
	CU_ASSERT_EQUAL(sim_run(pause_ran, &ran, UINT64_MAX, 0), SIM_RUN_IDLE);
	CU_ASSERT_EQUAL(ran, 0);
	CU_ASSERT_EQUAL(sim_domain_call(1, count_call, &ran), -EAGAIN);
	CU_ASSERT_EQUAL(sim_timer_at(t0 + 2000000000ull, pause_undo, (void *)(uintptr_t)1), 0);
	CU_ASSERT_EQUAL(sim_run(pause_ran, &ran, UINT64_MAX, 0), SIM_RUN_DONE);
	CU_ASSERT_TRUE(ran >= 1);
	CU_ASSERT_TRUE(sim_now_ns() >= t0 + 2000000000ull);
	CU_ASSERT_FALSE(sim_domain_paused(1));
}

void test_register(void)
{
	static const struct test_case replay[] = {
		TEST(run_same_seed_same_trace),
		TEST(run_other_seeds_other_interleavings),
		TEST(run_pct_replays),
		TEST_END,
	};
	static const struct test_case time_cases[] = {
		TEST(virtual_time_skips_idle_waits),
		TEST(configure_refused_with_domains),
		TEST(step_limit_stops_the_run),
		TEST(crash_mid_callback_runs_no_driver_code),
		TEST_END,
	};
	static const struct test_case race[] = {
		TEST(pct_finds_lost_wakeup),
		TEST(pct_correct_consumer_passes),
		TEST_END,
	};
	test_add_suite("sched_replay", NULL, reset_all, replay);
	test_add_suite("sched_time", NULL, reset_all, time_cases);
	static const struct test_case livelock[] = {
		TEST(call_bound_ends_a_spinning_call),
		TEST(destroy_parks_a_spinning_domain),
		TEST_END,
	};
	test_add_suite("sched_race", NULL, reset_all, race);
	static const struct test_case pause[] = {
		TEST(paused_domain_not_scheduled),
		TEST_END,
	};
	test_add_suite("sched_livelock", NULL, reset_all, livelock);
	test_add_suite("sched_pause", NULL, reset_all, pause);
}
