/*
 * Hostile block peers and the blk workload's oracles, through the scenario
 * engine in this process.
 *
 * blk_hostile_front: a hostile frontend lies to the real blkback at each of
 * its sites; every lie is answered with an error (or, for req_prod past the
 * ring, the vbd is disconnected and reconnected), well-formed requests and
 * their data stay right, a read-only disk does not change, and a good guest
 * on the same blkback keeps its data.
 *
 * blk_hostile_back: a hostile backend lies to the real blkfront; each lie
 * ends in blkfront's terminal state with its reason, or in an I/O error, and
 * the oracle itself is shown to catch wrong data answered OKAY.
 *
 * blk_workload: the hooks (unplug, plug, suspend to another backend domain),
 * read-only vbds, transient errors with recovery, a slow disk, the shared
 * blkback and its config rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scn_internal.h"
#include "tests/test.h"

#define HB_DOMS "domain dom0 priv\ndomain guest\n"
#define HF_DOMS "domain dom0 priv\ndomain evil\n"

static int reset_all(void)
{
	sim_reset();
	return 0;
}

struct run_out {
	struct scn_result r;
	uint64_t counter;   /* the one named in run_text's `ctr`, at the end */
};

static struct run_out run_text(const char *text, uint64_t seed)
{
	struct run_out out = {.r = {.verdict = SCN_VERDICT_HARNESS}};
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];
	struct scn_run_opts o = {.seed_set = true, .seed = seed, .mode = -1, .policy = -1, .quiet = true};
	int rc = scn_parse_text("t.scn", text, &s, err, sizeof(err));

	if (rc < 0)
		printf("\n    parse error: %s\n", err);
	CU_ASSERT_EQUAL_FATAL(rc, 0);
	CU_ASSERT_EQUAL(scn_run(s, &o, &out.r), 0);
	if (out.r.verdict != SCN_VERDICT_PASS)
		printf("\n    seed %lu: %s\n", seed, out.r.reason);
	scn_free(s);
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
	return out;
}

/* Run and expect the verdict pass (the file's own expectations met). */
static struct run_out run_pass(const char *text, uint64_t seed)
{
	struct run_out out = run_text(text, seed);

	CU_ASSERT_EQUAL(out.r.verdict, SCN_VERDICT_PASS);
	return out;
}

/* ---- blk_hostile_front ---- */

static void front_site(const char *site, const char *expects, uint64_t seed)
{
	char text[1024];

	snprintf(text, sizeof(text), HF_DOMS
		 "workload blk-hostile-front front=evil back=dom0 requests=150\n"
		 "fault blk.hostile.front.%s prob 20%%\n"
		 "expect fault blk.hostile.front.%s\n%s", site, site, expects);
	run_pass(text, seed);
}

static void front_refusals_each_site(void)
{
	static const char *const refused[] = {"op", "nseg", "sect", "sector", "indirect", "gref"};

	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		/* Every lie refused (a lie answered OKAY fails the run). */
		for (uint64_t seed = 1; seed <= 2; seed++)
			front_site(refused[i], "expect blk-hostile-front.answered == 150\n"
				   "expect blk-hostile-front.errors >= 10\n", seed);
}

static void front_id_echoed_and_served(void)
{
	front_site("id", "expect blk-hostile-front.answered == 150\nexpect blk-hostile-front.errors == 0\n"
		   "expect blk-hostile-front.lies >= 10\n", 3);
}

static void front_prod_disconnects_then_reconnects(void)
{
	front_site("prod", "expect blk-hostile-front.disconnects >= 1\n"
		   "expect blk-hostile-front.connects >= 2\nexpect blk-hostile-front.abandoned >= 1\n", 4);
}

static void front_rewrite_answered_once(void)
{
	front_site("rewrite", "expect blk-hostile-front.answered == 150\n", 5);
}

static void front_readonly_disk_unchanged(void)
{
	run_pass(HF_DOMS "workload blk-hostile-front front=evil back=dom0 requests=150 mode=r\n"
		 "fault blk.hostile.front.gref prob 20%\n"
		 "expect blk-hostile-front.answered == 150\nexpect blk-hostile-front.errors >= 60\n", 6);
}

static void front_beside_good_guest(void)
{
	run_pass("domain dom0 priv\ndomain guest\ndomain evil\n"
		 "workload blk front=guest back=dom0 ios=200\n"
		 "workload blk-hostile-front front=evil back=dom0 requests=200\n"
		 "fault blk.hostile.front.sect prob 10%\nfault blk.hostile.front.prod prob 3%\n"
		 "fault blk.hostile.front.gref prob 10%\n"
		 "expect blk.done == 200\nexpect blk-hostile-front.lies >= 10\n", 7);
}

/* ---- blk_hostile_back ---- */

static void back_lie_fails_blkfront(const char *site, const char *why)
{
	char text[512];

	snprintf(text, sizeof(text), HB_DOMS "workload blk-hostile-back front=guest back=dom0 ios=200\n"
		 "fault blk.hostile.back.%s after 15\nexpect error \"%s\"\n", site, why);
	struct run_out out = run_pass(text, 8);
	CU_ASSERT_EQUAL(out.r.outcome, SCN_OUT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.r.reason, "blkfront (dom"));
}

static void back_id_op_prod_terminal(void)
{
	back_lie_fails_blkfront("op", "operation differs from the request's");
	back_lie_fails_blkfront("prod", "rsp_prod");
	back_lie_fails_blkfront("id", "queue 0: response id");
}

static void back_status_is_an_error_never_success(void)
{
	run_pass(HB_DOMS "workload blk-hostile-back front=guest back=dom0 ios=200 errors=continue\n"
		 "fault blk.hostile.back.status prob 10%\n"
		 "expect blk-hostile-back.io-errors >= 5\nexpect blk-hostile-back.done == 200\n", 9);
	/* Without continue the first one ends the run, as an I/O error. */
	struct run_out out = run_pass(HB_DOMS "workload blk-hostile-back front=guest back=dom0 ios=200\n"
				      "fault blk.hostile.back.status after 10\nexpect error \"I/O error\"\n", 9);
	CU_ASSERT_EQUAL(out.r.outcome, SCN_OUT_ERROR);
}

/* The data oracle can fail: a read answered OKAY with one wrong byte. */
static void back_wrong_data_is_caught(void)
{
	struct run_out out = run_text(HB_DOMS "workload blk-hostile-back front=guest back=dom0 ios=200\n"
				      "fault blk.hostile.back.data after 3\n", 10);

	CU_ASSERT_EQUAL(out.r.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_EQUAL(out.r.outcome, SCN_OUT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(out.r.reason, "wrong data"));
	CU_ASSERT_PTR_NOT_NULL(strstr(out.r.reason, "block "));
}

/* ---- blk_workload ---- */

#define BLK_DOMS "domain dom0 priv\ndomain storage\ndomain storage2\ndomain guest\n"

static void hooks_unplug_leaves_nothing(void)
{
	run_pass(BLK_DOMS "workload blk front=guest back=storage ios=300 selftest=unplug@80\n"
		 "expect blk.unplugs == 1\nexpect blk.connects == 1\nexpect blk.idle-checks >= 2\n", 11);
}

static void hooks_replug_keeps_acknowledged_writes(void)
{
	run_pass(BLK_DOMS "workload blk front=guest back=storage ios=300 selftest=replug@80\n"
		 "expect blk.plugs == 1\nexpect blk.connects == 2\nexpect blk.done == 300\n", 12);
}

static void hooks_suspend_to_another_backend(void)
{
	run_pass(BLK_DOMS "workload blk front=guest back=storage ios=300 selftest=suspend@80:storage2\n"
		 "expect blk.suspends == 1\nexpect blk.connects == 2\nexpect blk.done == 300\n", 13);
}

static void readonly_vbd_verified_unchanged(void)
{
	run_pass(BLK_DOMS "workload blk front=guest back=storage ios=200 mode=r size=1M\n"
		 "expect blk.done == 200\n", 14);
}

static void transient_errors_continue_or_stop(void)
{
	run_pass(BLK_DOMS "workload blk front=guest back=storage ios=300 errors=continue\n"
		 "fault blk.disk.io prob 5%\nexpect blk.io-errors >= 3\nexpect blk.done == 300\n", 15);
	struct run_out out = run_pass(BLK_DOMS "workload blk front=guest back=storage ios=300\n"
				      "fault blk.disk.io prob 5%\nexpect error \"I/O error\"\n", 15);
	CU_ASSERT_EQUAL(out.r.outcome, SCN_OUT_ERROR);
}

static void slow_disk_takes_virtual_time(void)
{
	struct run_out fast = run_pass(BLK_DOMS "workload blk front=guest back=storage ios=100\n", 16);
	struct run_out slow = run_pass(BLK_DOMS "workload blk front=guest back=storage ios=100 slow=3ms\n"
				       "fault blk.disk.slow prob 50%\n", 16);

	CU_ASSERT(slow.r.vt_ns >= fast.r.vt_ns + 30000000ull);
}

static void shared_backend_config_must_agree(void)
{
	struct run_out same = run_pass("domain dom0 priv\ndomain a\ndomain b\n"
				       "workload blk id=x front=a back=dom0 ios=100\n"
				       "workload blk id=y front=b back=dom0 ios=100 devid=51728\n"
				       "expect x.done == 100\nexpect y.done == 100\n", 17);
	struct run_out differ = run_text("domain dom0 priv\ndomain a\ndomain b\n"
					 "workload blk id=x front=a back=dom0 ios=100\n"
					 "workload blk id=y front=b back=dom0 ios=100 persistent=0\n", 17);

	(void)same;
	CU_ASSERT_NOT_EQUAL(differ.r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_PTR_NOT_NULL(strstr(differ.r.reason, "must agree"));
}

void test_register(void)
{
	static const struct test_case front[] = {
		TEST(front_refusals_each_site),
		TEST(front_id_echoed_and_served),
		TEST(front_prod_disconnects_then_reconnects),
		TEST(front_rewrite_answered_once),
		TEST(front_readonly_disk_unchanged),
		TEST(front_beside_good_guest),
		TEST_END,
	};
	static const struct test_case back[] = {
		TEST(back_id_op_prod_terminal),
		TEST(back_status_is_an_error_never_success),
		TEST(back_wrong_data_is_caught),
		TEST_END,
	};
	static const struct test_case wl[] = {
		TEST(hooks_unplug_leaves_nothing),
		TEST(hooks_replug_keeps_acknowledged_writes),
		TEST(hooks_suspend_to_another_backend),
		TEST(readonly_vbd_verified_unchanged),
		TEST(transient_errors_continue_or_stop),
		TEST(slow_disk_takes_virtual_time),
		TEST(shared_backend_config_must_agree),
		TEST_END,
	};
	test_add_suite("blk_hostile_front", NULL, reset_all, front);
	test_add_suite("blk_hostile_back", NULL, reset_all, back);
	test_add_suite("blk_workload", NULL, reset_all, wl);
}
