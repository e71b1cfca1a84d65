/* CUnit suite for the sweep's reused worker processes (sim/scenario/workers.c):
 * a run in a reused worker has the trace hash of a run in a fresh process, and
 * a worker that dies mid-run costs that run only. */
#include <errno.h>
#include <semaphore.h>
#include <stdarg.h>
#include <string.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/scn_internal.h"
#include "tests/test.h"

#define SWEEP_TEST_RUNS 6u
#define SWEEP_TEST_DIES 3u   /* the seed whose run is killed in the second test */
#define SWEEP_TEST_STUCK_S 2u   /* a domain making no step this long is stuck */
#define RING_OK "domain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=20\n"
#define RING_SLOW "domain dom0 priv\ndomain guest\n" \
	"workload ring front=guest back=dom0 requests=10000000\nwithin 1000s\n"

static int reset_all(void)
{
	sim_reset();
	return 0;
}

static struct scenario *parse_ok(const char *text)
{
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];

	CU_ASSERT_EQUAL(scn_parse_text("t.scn", text, &s, err, sizeof(err)), 0);
	return s;
}

/* Seeds 1..SWEEP_TEST_RUNS, through reused workers or a fresh process each;
 * seed `die` (0: none) runs `slow` with a 1 s wall-clock limit. */
static void sweep_jobs(struct scenario *s, struct scenario *slow, unsigned die, bool reuse,
		       struct scn_job *jobs)
{
	for (unsigned i = 0; i < SWEEP_TEST_RUNS; i++) {
		jobs[i] = (struct scn_job){
			.s = i + 1 == die ? slow : s, .capture = true,
			.o = {.seed_set = true, .seed = i + 1, .mode = -1, .policy = -1, .quiet = true,
			      .wall_limit_s = i + 1 == die ? 1 : 0, .stuck_s = SWEEP_TEST_STUCK_S},
		};
	}
	int rc = reuse ? scn_jobs_run_reusing(jobs, SWEEP_TEST_RUNS, 1, NULL, NULL)
		       : scn_jobs_run(jobs, SWEEP_TEST_RUNS, 1, NULL, NULL);
	CU_ASSERT_EQUAL(rc, 0);
}

/* Every run but seed SWEEP_TEST_DIES's went through (outcome pass) with the
 * hash of a fresh process; that one's result. */
static struct scn_result *others_as_fresh(struct scn_job *jobs, const struct scn_job *fresh)
{
	for (unsigned i = 0; i < SWEEP_TEST_RUNS; i++) {
		if (i + 1 == SWEEP_TEST_DIES)
			continue;
		CU_ASSERT_EQUAL(jobs[i].r.outcome, SCN_OUT_PASS);
		CU_ASSERT_EQUAL(jobs[i].r.trace_hash, fresh[i].r.trace_hash);
	}
	return &jobs[SWEEP_TEST_DIES - 1].r;
}

static void reusing_matches_fresh_processes(void)
{
	struct scenario *s = parse_ok(RING_OK);
	struct scn_job fresh[SWEEP_TEST_RUNS], reused[SWEEP_TEST_RUNS];

	if (!s)
		return;
	sweep_jobs(s, NULL, 0, false, fresh);
	sweep_jobs(s, NULL, 0, true, reused);
	for (unsigned i = 0; i < SWEEP_TEST_RUNS; i++) {
		CU_ASSERT_EQUAL(reused[i].r.verdict, SCN_VERDICT_PASS);
		CU_ASSERT_FALSE(reused[i].r.died);
		CU_ASSERT_EQUAL(reused[i].r.seed, i + 1);
		CU_ASSERT_EQUAL(reused[i].r.trace_hash, fresh[i].r.trace_hash);
		CU_ASSERT_EQUAL(reused[i].r.steps, fresh[i].r.steps);
	}
	/* The seeds differ: equal hashes above are not one seed replayed. */
	CU_ASSERT_NOT_EQUAL(reused[0].r.trace_hash, reused[1].r.trace_hash);
	scn_free(s);
}

static void reusing_worker_death_costs_one_run(void)
{
	struct scenario *s = parse_ok(RING_OK), *slow = parse_ok(RING_SLOW);
	struct scn_job fresh[SWEEP_TEST_RUNS], reused[SWEEP_TEST_RUNS];

	if (!s || !slow)
		goto out;
	sweep_jobs(s, NULL, 0, false, fresh);
	sweep_jobs(s, slow, SWEEP_TEST_DIES, true, reused);
	struct scn_result *r = others_as_fresh(reused, fresh);
	CU_ASSERT_TRUE(r->died);
	CU_ASSERT_EQUAL(r->verdict, SCN_VERDICT_HARNESS);
	CU_ASSERT_PTR_NOT_NULL(strstr(r->reason, "wall-clock limit"));
	CU_ASSERT_EQUAL(r->seed, SWEEP_TEST_DIES);
	CU_ASSERT_TRUE(r->steps > 0);   /* published by its last slice */
out:
	scn_free(s);
	scn_free(slow);
}

/* ---- a domain that spins or blocks: the run ends there, as a hang that says where ---- */

static const struct scn_wl_type *stop_real;
static struct scn_wl_type stop_wrap;
static int (*stop_call)(void *arg);   /* what domain 1 is asked to do at the stop */

static int spin_forever(void *arg)
{
	const bool *go = arg;

	while (!*go)
		sim_sched_point("spin.test");
	return 0;
}

/* Blocked outside the sim, as on a lock another domain holds across a
 * scheduling point: no step ever again. */
static int block_forever(void *arg)
{
	sem_t never;

	(void)arg;
	sim_sched_point("block.test");
	sem_init(&never, 0, 0);
	while (sem_wait(&never) == 0 || errno == EINTR)
		;
	return 0;
}

/* Seed SWEEP_TEST_DIES's workload stop first asks the guest to run
 * stop_call, which never returns. */
static void stuck_stop(struct scn_wl *wl)
{
	static bool never;

	if (wl->run->seed == SWEEP_TEST_DIES)
		scn_wl_call(wl, 1, stop_call, &never);
	stop_real->stop(wl);
}

/* Seeds 1..SWEEP_TEST_RUNS of `text`, seed SWEEP_TEST_DIES's guest stuck in
 * `call` at the stop: that run's result (the others checked as fresh ones). */
static struct scn_result *stuck_run(struct scenario *s, int (*call)(void *arg), bool reuse,
				    struct scn_job *jobs)
{
	struct scn_job fresh[SWEEP_TEST_RUNS];

	sweep_jobs(s, NULL, 0, false, fresh);
	stop_real = s->wls[0].type;
	stop_wrap = *stop_real;
	stop_wrap.stop = stuck_stop;
	stop_call = call;
	s->wls[0].type = &stop_wrap;
	sweep_jobs(s, NULL, 0, reuse, jobs);
	s->wls[0].type = stop_real;
	return others_as_fresh(jobs, fresh);
}

/* A hang of the verdict wanted, in its own process still, whose reason
 * says each of the NULL-ended phrases. */
static void hang_said(const struct scn_result *r, enum scn_verdict want, ...)
{
	va_list ap;

	CU_ASSERT_FALSE(r->died);
	CU_ASSERT_EQUAL(r->outcome, SCN_OUT_HANG);
	CU_ASSERT_EQUAL(r->verdict, want);
	va_start(ap, want);
	for (const char *p = va_arg(ap, const char *); p; p = va_arg(ap, const char *))
		CU_ASSERT_PTR_NOT_NULL(strstr(r->reason, p));
	va_end(ap);
}

static void livelock_check(const char *text, enum scn_verdict want, bool reuse)
{
	struct scenario *s = parse_ok(text);
	struct scn_job jobs[SWEEP_TEST_RUNS];

	if (!s)
		return;
	struct scn_result *r = stuck_run(s, spin_forever, reuse, jobs);
	hang_said(r, want, "livelock: domain 1 kept running", "spin.test", NULL);
	CU_ASSERT_TRUE(r->steps >= SCN_CALL_STEPS_MIN);
	CU_ASSERT_TRUE(r->steps < 3 * SCN_CALL_STEPS_MIN);
	scn_free(s);
}

static void livelock_ends_the_run_as_a_hang(void)
{
	livelock_check(RING_OK "max-steps 20000\n", SCN_VERDICT_FAIL, false);
	livelock_check(RING_OK "max-steps 20000\n", SCN_VERDICT_FAIL, true);
	livelock_check(RING_OK "max-steps 20000\nexpect hang\n", SCN_VERDICT_PASS, true);
}

/* A domain blocked outside the sim ends its run within seconds, as a hang
 * naming it and its last point, not at the wall-clock limit of minutes.
 * Not under ThreadSanitizer: the report reads the stuck domain's state (its
 * last point, the trace hash) with no handoff to order it, by design (the
 * domain is blocked), which TSan reports as a race and ends the run. */
static void stuck_domain_ends_the_run_as_a_hang(void)
{
#ifdef __SANITIZE_THREAD__
	return;
#endif
	struct scenario *s = parse_ok(RING_OK);
	struct scn_job jobs[SWEEP_TEST_RUNS];

	if (!s)
		return;
	for (int reuse = 0; reuse <= 1; reuse++) {
		hang_said(stuck_run(s, block_forever, reuse, jobs), SCN_VERDICT_FAIL, "domain 1 made no step for 2 s",
			  "last at block.test", "blocked outside the sim", NULL);
	}
	scn_free(s);
}

void test_register(void)
{
	static const struct test_case workers[] = {
		TEST(reusing_matches_fresh_processes),
		TEST(reusing_worker_death_costs_one_run),
		TEST(livelock_ends_the_run_as_a_hang),
		TEST(stuck_domain_ends_the_run_as_a_hang),
		TEST_END,
	};
	test_add_suite("sweep_workers", NULL, reset_all, workers);
}
