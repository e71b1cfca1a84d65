/* CUnit suite sched_slice: sim_run_sliced, the scheduler running a harness
 * hook in place at the end of each slice. Two domains take scheduling points
 * concurrently; the same seed run in one-step slices through the controller
 * (sim_run, max_steps 1, as the scenario runner did) and through the in-place
 * hook must make the same decisions (trace hash, steps, switches) and see the
 * hook at the same steps. */
#include <string.h>

#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define SL_POINTS 300u
#define SL_LOG_MAX 2048u

struct sl_state {
	unsigned done[2];
	uint64_t log[SL_LOG_MAX];    /* steps at which the harness looked */
	unsigned nlog;
	unsigned stop_after;         /* the hook ends the run after this many looks (0: never) */
};

static struct sl_state sl;

static void sl_work(void *arg)
{
	unsigned *done = arg;

	for (unsigned i = 0; i < SL_POINTS; i++)
		sim_sched_point("sl.point");
	*done = 1;
}

static bool sl_finished(void *arg)
{
	(void)arg;
	return sl.done[0] && sl.done[1];
}

static void sl_look(void)
{
	CU_ASSERT_EQUAL(sim_current_domid(), DOMID_INVALID);
	if (sl.nlog < SL_LOG_MAX)
		sl.log[sl.nlog++] = sim_sched_steps();
}

static bool sl_hook(void *arg)
{
	(void)arg;
	sl_look();
	return !sl.stop_after || sl.nlog < sl.stop_after;
}

struct sl_result {
	uint64_t hash, steps, switches;
	unsigned nlog;
	uint64_t log[SL_LOG_MAX];
};

static void sl_start(uint64_t seed)
{
	struct sim_sched_config cfg = {.mode = SIM_MODE_DET, .seed = seed};

	sim_reset();
	memset(&sl, 0, sizeof(sl));
	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	for (int id = 1; id <= 2; id++) {
		struct sim_domain_config dc = {.name = id == 1 ? "a" : "b", .domid = id};
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&dc), id);
	}
	CU_ASSERT_EQUAL(sim_domain_post(1, sl_work, &sl.done[0]), 0);
	CU_ASSERT_EQUAL(sim_domain_post(2, sl_work, &sl.done[1]), 0);
}

static void sl_end(struct sl_result *r)
{
	r->hash = sim_trace_hash();
	r->steps = sim_sched_steps();
	r->switches = sim_sched_switches();
	r->nlog = sl.nlog;
	memcpy(r->log, sl.log, sizeof(r->log));
	sim_reset();
}

/* The controller looks after every one-step slice. */
static void sl_run_controller(uint64_t seed, unsigned slice, struct sl_result *r)
{
	sl_start(seed);
	while (!sl_finished(NULL)) {
		enum sim_run_result res = sim_run(sl_finished, NULL, UINT64_MAX, slice);
		CU_ASSERT_FATAL(res == SIM_RUN_STEPS || res == SIM_RUN_DONE);
		if (res == SIM_RUN_STEPS)
			sl_look();
	}
	sl_end(r);
}

static void sl_run_in_place(uint64_t seed, unsigned slice, struct sl_result *r)
{
	sl_start(seed);
	while (!sl_finished(NULL)) {
		enum sim_run_result res = sim_run_sliced(sl_finished, NULL, UINT64_MAX, slice, sl_hook,
							 NULL);
		CU_ASSERT_FATAL(res == SIM_RUN_STEPS || res == SIM_RUN_DONE);
	}
	sl_end(r);
}

static void run_sliced_same_decisions_as_the_controller(void)
{
	static struct sl_result a, b;

	for (unsigned slice = 1; slice <= 3; slice += 2) {
		for (uint64_t seed = 1; seed <= 4; seed++) {
			sl_run_controller(seed, slice, &a);
			sl_run_in_place(seed, slice, &b);
			CU_ASSERT(a.steps >= 2 * SL_POINTS);
			CU_ASSERT_EQUAL(a.hash, b.hash);
			CU_ASSERT_EQUAL(a.steps, b.steps);
			CU_ASSERT_EQUAL(a.nlog, b.nlog);
			CU_ASSERT_EQUAL(memcmp(a.log, b.log, sizeof(a.log)), 0);
			/* Fewer switches: no round trip to the controller per slice. */
			CU_ASSERT(b.switches < a.switches);
		}
	}
}

/* A hook that says stop ends the run there, with SIM_RUN_STEPS. */
static void run_sliced_hook_ends_the_run(void)
{
	sl_start(7);
	sl.stop_after = 5;
	enum sim_run_result res = sim_run_sliced(sl_finished, NULL, UINT64_MAX, 2, sl_hook, NULL);
	CU_ASSERT_EQUAL(res, SIM_RUN_STEPS);
	CU_ASSERT_EQUAL(sl.nlog, 5);
	CU_ASSERT_EQUAL(sl.log[4], 10);
	CU_ASSERT_EQUAL(sim_sched_steps(), 10);
	/* A plain sim_run afterwards calls no hook. */
	sim_run(sl_finished, NULL, UINT64_MAX, 0);
	CU_ASSERT_EQUAL(sl.nlog, 5);
	CU_ASSERT(sl_finished(NULL));
	sim_reset();
}

/* ---- the idle hook ---- */

struct idle_log {
	unsigned calls;
	uint64_t from, to;
	bool on_controller;
};

static void idle_seen(uint64_t from_ns, uint64_t to_ns, void *arg)
{
	struct idle_log *l = arg;

	l->calls++;
	l->from = from_ns;
	l->to = to_ns;
	l->on_controller = sim_current_domid() == DOMID_INVALID;
}

static void idle_fired(void *arg)
{
	(*(unsigned *)arg)++;
}

static bool idle_all_fired(void *arg)
{
	return *(unsigned *)arg == 2;
}

/* A gap in which no domain ran is reported when a timer ends it, if it is
 * long enough: from the last time a domain had the token, to the timer. */
static void idle_hook_sees_gaps_a_timer_ends(void)
{
	struct idle_log l = {0};
	unsigned fired = 0;

	sl_start(3);
	CU_ASSERT_EQUAL(sim_run(sl_finished, NULL, UINT64_MAX, 0), SIM_RUN_DONE);
	uint64_t t0 = sim_now_ns();
	sim_sched_set_idle_hook(idle_seen, 20 * 1000000ull, &l);
	CU_ASSERT_EQUAL(sim_timer_at(t0 + 5 * 1000000ull, idle_fired, &fired), 0);    /* too short */
	CU_ASSERT_EQUAL(sim_timer_at(t0 + 30 * 1000000ull, idle_fired, &fired), 0);
	CU_ASSERT_EQUAL(sim_run(idle_all_fired, &fired, UINT64_MAX, 0), SIM_RUN_DONE);
	CU_ASSERT_EQUAL(fired, 2);
	CU_ASSERT_EQUAL(l.calls, 1);
	CU_ASSERT_EQUAL(l.from, t0);
	CU_ASSERT_EQUAL(l.to, t0 + 30 * 1000000ull);
	CU_ASSERT(l.on_controller);
	/* Removed: no more calls. */
	sim_sched_set_idle_hook(NULL, 0, NULL);
	fired = 0;
	CU_ASSERT_EQUAL(sim_timer_at(sim_now_ns() + 40 * 1000000ull, idle_fired, &fired), 0);
	CU_ASSERT_EQUAL(sim_timer_at(sim_now_ns() + 50 * 1000000ull, idle_fired, &fired), 0);
	sim_run(idle_all_fired, &fired, UINT64_MAX, 0);
	CU_ASSERT_EQUAL(l.calls, 1);
	sim_reset();
}

/* A domain that runs in between starts the gap again. */
static void idle_hook_gap_starts_when_a_domain_ran(void)
{
	struct idle_log l = {0};
	unsigned fired = 0;

	sl_start(4);
	sim_run(sl_finished, NULL, UINT64_MAX, 0);
	uint64_t t0 = sim_now_ns();
	sim_sched_set_idle_hook(idle_seen, 20 * 1000000ull, &l);
	sl.done[0] = 0;
	CU_ASSERT_EQUAL(sim_timer_at(t0 + 15 * 1000000ull, idle_fired, &fired), 0);
	CU_ASSERT_EQUAL(sim_timer_at(t0 + 30 * 1000000ull, idle_fired, &fired), 0);
	/* The domain works at 15 ms (posted by the first timer's run): 15 ms
	 * of gap on each side, none reported. */
	CU_ASSERT_EQUAL(sim_run(sl_finished, NULL, t0 + 16 * 1000000ull, 0), SIM_RUN_DEADLINE);
	CU_ASSERT_EQUAL(sim_domain_post(1, sl_work, &sl.done[0]), 0);
	CU_ASSERT_EQUAL(sim_run(idle_all_fired, &fired, UINT64_MAX, 0), SIM_RUN_DONE);
	CU_ASSERT_EQUAL(l.calls, 0);
	sim_reset();
}

static int suite_fini(void)
{
	sim_reset();
	return 0;
}

static const struct test_case slice_cases[] = {
	TEST(run_sliced_same_decisions_as_the_controller),
	TEST(run_sliced_hook_ends_the_run),
	TEST(idle_hook_sees_gaps_a_timer_ends),
	TEST(idle_hook_gap_starts_when_a_domain_ran),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("sched_slice", NULL, suite_fini, slice_cases);
}
