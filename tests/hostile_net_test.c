/*
 * The net workload's toolstack hooks (unplug, plug, suspend) and its oracles,
 * driven from a test until the scenario actions `unplug ID`, `plug ID` and
 * `suspend DOMAIN` call them: the workload type is wrapped so that its
 * check() (between slices) calls a hook at a chosen slice. Also: the checks
 * fail where they should, with test-only misbehaviour of the environment (a
 * good guest's vif closed behind the workload's back; a grant of the guest
 * kept mapped by the backend domain across a suspend), and the hostile
 * peers' scenarios pass where the drivers are right.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <xengnttab.h>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scn_internal.h"
#include "tests/test.h"

#define HN_SLICE_ACT 400u      /* the hook goes in mid-traffic */

enum hn_step { HN_SUSPEND, HN_UNPLUG_PLUG, HN_REFUSE, HN_CLOSE_BEHIND, HN_LEAK_MAP, HN_UNPLUG_EARLY,
	       HN_SUSPEND_HOSTILE, HN_CLOSE_HOSTILE_BEHIND, HN_SUSPEND_UNPLUG, HN_NONE };

static const struct scn_wl_type *hn_real;
static struct scn_wl_type hn_wrap;
static enum hn_step hn_step;
static unsigned hn_checks;
static int hn_rc1, hn_rc2;
static uint64_t hn_connects_at_plug, hn_connects_at_stop;
static xengnttab_handle *hn_gt;
static void *hn_leak;

static int reset_all(void)
{
	sim_reset();
	return 0;
}

/* Dom0 maps guest 2's tx ring page and keeps it: a backend that leaks a map. */
static void hn_leak_map(struct scn_wl *wl)
{
	char ref[16] = "";

	if (scn_wl_xs_read(wl, "/local/domain/2/device/vif/0/tx-ring-ref", ref, sizeof(ref)) < 0)
		return;
	if (sim_thread_enter(0) < 0)
		return;
	hn_gt = xengnttab_open(NULL, 0);
	if (hn_gt)
		hn_leak = xengnttab_map_grant_ref(hn_gt, 2, (uint32_t)strtoul(ref, NULL, 10), PROT_READ);
	sim_thread_leave();
}

static void hn_leak_release(void)
{
	if (!hn_gt || sim_thread_enter(0) < 0)
		return;
	if (hn_leak)
		xengnttab_unmap(hn_gt, hn_leak, 1);
	xengnttab_close(hn_gt);
	sim_thread_leave();
	hn_gt = NULL;
	hn_leak = NULL;
}

static uint64_t hn_counter(struct scn_wl *wl, const char *name)
{
	for (unsigned i = 0; hn_real->counters[i]; i++)
		if (strcmp(hn_real->counters[i], name) == 0)
			return hn_real->counter(wl, i);
	return UINT64_MAX;
}

static void hn_check(struct scn_wl *wl)
{
	hn_real->check(wl);
	if (++hn_checks == 1 && hn_step == HN_UNPLUG_EARLY)
		hn_rc1 = hn_real->unplug(wl);   /* before any vif connected */
	if (hn_checks == HN_SLICE_ACT) {
		switch (hn_step) {
		case HN_SUSPEND: hn_rc1 = hn_real->suspend(wl, 2, 0); break;
		case HN_UNPLUG_PLUG: hn_rc1 = hn_real->unplug(wl); break;
		case HN_REFUSE:
			hn_rc1 = hn_real->suspend(wl, 2, 7);   /* another backend: a restart, not this */
			hn_rc2 = hn_real->plug(wl);            /* nothing unplugged */
			break;
		case HN_CLOSE_BEHIND:
			hn_rc1 = scn_wl_xs_write(wl, "/local/domain/0/backend/vif/1/0/online", "0");
			break;
		case HN_LEAK_MAP:
			hn_leak_map(wl);
			hn_rc1 = hn_real->suspend(wl, 2, 0);
			break;
		case HN_SUSPEND_HOSTILE: hn_rc1 = hn_real->suspend(wl, 3, 0); break;
		case HN_CLOSE_HOSTILE_BEHIND:
			hn_rc1 = scn_wl_xs_write(wl, "/local/domain/0/backend/vif/3/0/online", "0");
			break;
		case HN_SUSPEND_UNPLUG:   /* the unplug waits for the suspend, as a toolstack's would */
			hn_rc1 = hn_real->suspend(wl, 2, 0);
			hn_rc2 = hn_real->unplug(wl);
			break;
		case HN_UNPLUG_EARLY:
		case HN_NONE:
			break;
		}
	}
	if (hn_step == HN_UNPLUG_PLUG && hn_rc2 == -1 && hn_counter(wl, "unplugs") == 1) {
		hn_rc2 = hn_real->plug(wl);   /* as soon as the unplug is through */
		hn_connects_at_plug = hn_counter(wl, "connects");
	}
}

static void hn_stop(struct scn_wl *wl)
{
	hn_connects_at_stop = hn_counter(wl, "connects");
	hn_leak_release();
	hn_real->stop(wl);
}

static struct scn_result hn_run(const char *text, enum hn_step step, uint64_t seed)
{
	struct scn_result r = {.verdict = SCN_VERDICT_HARNESS};
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];
	struct scn_run_opts o = {.seed_set = true, .seed = seed, .mode = -1, .policy = -1, .quiet = true};

	CU_ASSERT_EQUAL_FATAL(scn_parse_text("t.scn", text, &s, err, sizeof(err)), 0);
	hn_real = s->wls[0].type;
	hn_wrap = *hn_real;
	hn_wrap.check = hn_check;
	hn_wrap.check_in_place = NULL;   /* hn_check acts as the toolstack: harness thread only */
	hn_wrap.stop = hn_stop;
	s->wls[0].type = &hn_wrap;
	hn_step = step;
	hn_checks = 0;
	hn_rc1 = hn_rc2 = -1;
	CU_ASSERT_EQUAL(scn_run(s, &o, &r), 0);
	scn_free(s);
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
	if (r.verdict != SCN_VERDICT_PASS)
		printf("\n    %s: %s\n", scn_verdict_name(r.verdict), r.reason);
	return r;
}

#define HN_NET "domain dom0 priv\ndomain g1\ndomain g2\nwithin 10s\n" \
	       "workload net back=dom0 guests=g1,g2 messages=40 pings=5 features=none\n"

/* Save/restore to the same backend: the vif closes (nothing of it left with
 * netback, nothing shared by the guest), comes back, and the streams go on:
 * frames in flight lost and counted, nothing corrupt. */
static void net_suspend_reconnects_and_streams_go_on(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\nexpect net.suspends == 1\nexpect net.connects == 3\n"
				     "expect net.corrupt == 0\nexpect net.finished == 2\n", HN_SUSPEND, 1);

	CU_ASSERT_EQUAL(hn_rc1, 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

/* Hot-unplug of the last guest's vif, then plug: the other guests carry on
 * and finish (they stop sending to and waiting for the vanished NIC: no
 * ping timeout, a clean pass); the vif comes back and connects again (a
 * connection counted after the plug, whenever the first ones were made). */
static void net_unplug_then_plug(void)
{
	struct scn_result r = hn_run("domain dom0 priv\ndomain g1\ndomain g2\ndomain g3\nwithin 10s\n"
				     "workload net back=dom0 guests=g1,g2,g3 messages=40 pings=5 features=none\n"
				     "expect pass\nexpect net.unplugs == 1\nexpect net.finished == 3\n"
				     "expect net.corrupt == 0\n", HN_UNPLUG_PLUG, 1);

	CU_ASSERT_EQUAL(hn_rc1, 0);
	CU_ASSERT_EQUAL(hn_rc2, 0);
	CU_ASSERT_TRUE(hn_connects_at_stop > hn_connects_at_plug);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

/* Unplugged before any traffic (before its vif connected): the start barrier
 * does not wait for it, the other guest finishes (it used to hang). */
static void net_unplug_before_the_start(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\nexpect net.unplugs == 1\nexpect net.finished == 2\n",
				     HN_UNPLUG_EARLY, 1);

	CU_ASSERT_EQUAL(hn_rc1, 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

/* An unplug asked for while the same vif's suspend is under way: done after
 * it, both counted, the other guest finishes; a suspend of the unplugged
 * guest is none of the workload's business any more. */
static void net_unplug_during_a_suspend_waits(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\nexpect net.suspends == 1\nexpect net.unplugs == 1\n"
				     "expect net.finished == 2\nexpect net.corrupt == 0\n", HN_SUSPEND_UNPLUG, 1);

	CU_ASSERT_EQUAL(hn_rc1, 0);
	CU_ASSERT_EQUAL(hn_rc2, 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

#define HN_HOSTILE "domain dom0 priv\ndomain g1\ndomain g2\ndomain evil\nwithin 10s\n" \
		   "workload net back=dom0 guests=g1,g2 messages=40 pings=5 hostile=evil hostile-packets=400\n"

/* The hostile domain saved and restored: its disconnection is the
 * toolstack's, not judged as netback's; it reconnects and carries on. */
static void net_suspend_of_the_hostile_guest(void)
{
	struct scn_result r = hn_run(HN_HOSTILE "expect pass\nexpect net.suspends == 1\n"
				     "expect net.hostile-sent == 400\n", HN_SUSPEND_HOSTILE, 1);

	CU_ASSERT_EQUAL(hn_rc1, 0);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

/* ... but the same disconnection behind the workload's back is netback's,
 * and the hostile frontend's model still judges it. */
static void net_hostile_vif_closed_behind_fails(void)
{
	struct scn_result r = hn_run(HN_HOSTILE "expect pass\n", HN_CLOSE_HOSTILE_BEHIND, 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "disconnected vif 0 of dom 3, which broke no rule"));
}

/* A run cut short while the hostile frontend is busy (max-steps: a hang):
 * netback closing its vif at the teardown is not judged, the verdict stays
 * the run's own (it was "disconnected vif 0 of dom 3, which broke no rule"). */
static void net_teardown_is_not_judged(void)
{
	struct scn_result r = hn_run("domain dom0 priv\ndomain g1\ndomain g2\ndomain evil\nmax-steps 4000\n"
				     "workload net back=dom0 guests=g1,g2 messages=40 pings=5 hostile=evil "
				     "hostile-packets=100000\nexpect pass\n", HN_NONE, 1);

	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_HANG);
	CU_ASSERT_PTR_NULL(strstr(r.reason, "broke no rule"));
}

static void net_hooks_refuse_what_they_cannot(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\nexpect net.suspends == 0\nexpect net.connects == 2\n",
				     HN_REFUSE, 2);

	CU_ASSERT_EQUAL(hn_rc1, -ENOTSUP);
	CU_ASSERT_EQUAL(hn_rc2, -EALREADY);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
}

/* A good guest's vif closed behind the workload's back (as a netback that
 * kicked a well-behaved frontend would): the run fails at once, naming the
 * guest, not when `within` runs out. */
static void net_good_guest_disconnected_fails_fast(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\n", HN_CLOSE_BEHIND, 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "disconnected vif 0 of guest dom 1, which broke no rule"));
	CU_ASSERT_TRUE(r.vt_ns < 1000000000ull);
}

/* The backend domain keeps a map of the guest's ring across a suspend (a
 * grant leak on the disconnect path): the resource check at the reconnection
 * names it. */
static void net_suspend_catches_a_map_left_behind(void)
{
	struct scn_result r = hn_run(HN_NET "expect pass\n", HN_LEAK_MAP, 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "suspend of vif 0 of dom 2: netback (dom 0) closed it, but 1 of the "
					   "guest's grants are still mapped"));
}

/* ---- the hostile peers' scenarios, in this process ---- */

static struct scn_result hn_file(const char *path, uint64_t seed)
{
	struct scn_result r = {.verdict = SCN_VERDICT_HARNESS};
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];
	struct scn_run_opts o = {.seed_set = true, .seed = seed, .mode = -1, .policy = -1, .quiet = true};

	CU_ASSERT_EQUAL_FATAL(scn_parse_file(path, &s, err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(scn_run(s, &o, &r), 0);
	scn_free(s);
	if (r.verdict != SCN_VERDICT_PASS)
		printf("\n    %s seed %lu: %s: %s\n", path, seed, scn_verdict_name(r.verdict), r.reason);
	return r;
}

static void hostile_front_beside_good_guests_passes(void)
{
	for (uint64_t seed = 1; seed <= 3; seed++)
		CU_ASSERT_EQUAL(hn_file("scenarios/hostile/net-front-beside-good-guest.scn", seed).verdict,
				SCN_VERDICT_PASS);
}

/* A fatal lie: netfront says why, the run ends with that clean error. */
static void hostile_back_fatal_lie_ends_with_netfronts_reason(void)
{
	struct scn_result r = hn_file("scenarios/hostile/net-back-prod.scn", 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "rsp_prod"));
}

void test_register(void)
{
	static const struct test_case hooks[] = {
		TEST(net_suspend_reconnects_and_streams_go_on),
		TEST(net_unplug_then_plug),
		TEST(net_unplug_before_the_start),
		TEST(net_unplug_during_a_suspend_waits),
		TEST(net_suspend_of_the_hostile_guest),
		TEST(net_hooks_refuse_what_they_cannot),
		TEST_END,
	};
	static const struct test_case oracles[] = {
		TEST(net_good_guest_disconnected_fails_fast),
		TEST(net_suspend_catches_a_map_left_behind),
		TEST(net_hostile_vif_closed_behind_fails),
		TEST(net_teardown_is_not_judged),
		TEST(hostile_front_beside_good_guests_passes),
		TEST(hostile_back_fatal_lie_ends_with_netfronts_reason),
		TEST_END,
	};
	test_add_suite("hostile_net_hooks", NULL, reset_all, hooks);
	test_add_suite("hostile_net_oracles", NULL, reset_all, oracles);
}
