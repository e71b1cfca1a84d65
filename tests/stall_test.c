/*
 * The stall oracle (sim/scenario/oracle.c): a lost wakeup that a timer
 * rescues fails the run, though the run would go on. The blk workload is
 * wrapped so that, from a chosen slice on, the environment misbehaves behind
 * the drivers' backs: dom0 maps the guest's ring page and keeps moving its
 * rsp_event far ahead, so blkback's pushes never notify and blkfront sleeps
 * on responses it has; a harness timer is kept pending, as a driver's own
 * timer would be. Without the misbehaviour the same run passes; with it and
 * no timer, it hangs (the liveness oracle, not this one).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scn_internal.h"
#include "tests/test.h"

#define ST_SLICE_ACT 200u                 /* the misbehaviour starts mid-I/O */
#define ST_TIMER_NS (150ull * 1000000ull) /* the rescuing timer, past SCN_STALL_NS */

enum st_mode { ST_CLEAN, ST_NO_EVENTS, ST_NO_EVENTS_NO_TIMER };

static const struct scn_wl_type *st_real;
static struct scn_wl_type st_wrap;
static enum st_mode st_mode;
static unsigned st_checks;
static xengnttab_handle *st_gt;
static blkif_sring_t *st_ring;
static bool st_timer_pending;

static int reset_all(void)
{
	sim_reset();
	return 0;
}

static void st_timer(void *arg)
{
	(void)arg;
	st_timer_pending = false;
}

/* As dom0 (the harness's privilege), map the guest's one ring page. */
static void st_map_ring(struct scn_wl *wl)
{
	char ref[16] = "";

	if (scn_wl_xs_read(wl, "/local/domain/1/device/vbd/51712/ring-ref", ref, sizeof(ref)) < 0 ||
	    sim_thread_enter(0) < 0)
		return;
	st_gt = xengnttab_open(NULL, 0);
	if (st_gt)
		st_ring = xengnttab_map_grant_ref(st_gt, 1, (uint32_t)strtoul(ref, NULL, 10),
						  PROT_READ | PROT_WRITE);
	sim_thread_leave();
}

static void st_unmap_ring(void)
{
	if (!st_gt || sim_thread_enter(0) < 0)
		return;
	if (st_ring)
		xengnttab_unmap(st_gt, st_ring, 1);
	xengnttab_close(st_gt);
	sim_thread_leave();
	st_gt = NULL;
	st_ring = NULL;
}

static void st_check(struct scn_wl *wl)
{
	st_real->check(wl);
	if (st_mode == ST_CLEAN || ++st_checks < ST_SLICE_ACT)
		return;
	if (!st_ring && !st_gt)
		st_map_ring(wl);
	if (st_ring)
		st_ring->rsp_event = st_ring->rsp_prod + (1u << 30);   /* no push reaches it */
	if (st_mode == ST_NO_EVENTS && !st_timer_pending &&
	    sim_timer_at(sim_now_ns() + ST_TIMER_NS, st_timer, NULL) == 0)
		st_timer_pending = true;
}

static void st_stop(struct scn_wl *wl)
{
	st_unmap_ring();
	st_real->stop(wl);
}

static struct scn_result st_run(enum st_mode mode)
{
	static const char text[] = "domain dom0 priv\ndomain guest\nwithin 10s\n"
				   "workload blk front=guest back=dom0 ios=2000 qd=8 order=0 queues=1\n"
				   "expect blk.done == 2000\n";
	struct scn_result r = {.verdict = SCN_VERDICT_HARNESS};
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];
	struct scn_run_opts o = {.seed_set = true, .seed = 1, .mode = -1, .policy = -1, .quiet = true};

	CU_ASSERT_EQUAL_FATAL(scn_parse_text("stall.scn", text, &s, err, sizeof(err)), 0);
	st_real = s->wls[0].type;
	st_wrap = *st_real;
	st_wrap.check = st_check;
	st_wrap.check_in_place = NULL;   /* the harness thread: it maps as dom0 */
	st_wrap.stop = st_stop;
	s->wls[0].type = &st_wrap;
	st_mode = mode;
	st_checks = 0;
	st_timer_pending = false;
	CU_ASSERT_EQUAL(scn_run(s, &o, &r), 0);
	scn_free(s);
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
	return r;
}

static void stall_clean_run_passes(void)
{
	struct scn_result r = st_run(ST_CLEAN);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);   /* no stall where nothing was lost */
}

/* Responses blkfront was never told of, a timer pending: the stall oracle
 * fails the run when the timer ends the wait, naming the I/O in flight. */
static void stall_lost_wakeup_rescued_by_a_timer_fails(void)
{
	struct scn_result r = st_run(ST_NO_EVENTS);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "stall: no domain ran"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "blkfront (dom 1) had"));
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "in flight"));
	if (!strstr(r.reason, "stall:"))
		printf("\n    %s\n", r.reason);
}

/* The same with nothing pending: a hang, the liveness oracle's. */
static void stall_lost_wakeup_without_timer_is_a_hang(void)
{
	struct scn_result r = st_run(ST_NO_EVENTS_NO_TIMER);

	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_HANG);
	CU_ASSERT_PTR_NULL(strstr(r.reason, "stall:"));
}

static const struct test_case cases[] = {
	TEST(stall_clean_run_passes),
	TEST(stall_lost_wakeup_rescued_by_a_timer_fails),
	TEST(stall_lost_wakeup_without_timer_is_a_hang),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("stall_oracle", NULL, reset_all, cases);
}
