/* CUnit suites for the scenario engine: the parser (errors name the line and
 * the token), values, runs in this process (replay by seed, hang detection,
 * faults, oracles, triggers), isolated runs, shards, shrink and reports. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/scenario/scenario.h"
#include "sim/scenario/scn_internal.h"
#include "tests/test.h"

static int reset_all(void)
{
	sim_reset();
	return 0;
}

static struct scenario *parse_ok(const char *text)
{
	struct scenario *s = NULL;
	char err[SCN_ERR_MAX];
	int rc = scn_parse_text("t.scn", text, &s, err, sizeof(err));

	if (rc < 0)
		printf("\n    unexpected parse error: %s\n", err);
	CU_ASSERT_EQUAL(rc, 0);
	return s;
}

/* The error of a text that must not parse. */
static const char *parse_err(const char *text)
{
	static char err[SCN_ERR_MAX];
	struct scenario *s = NULL;

	CU_ASSERT_EQUAL(scn_parse_text("t.scn", text, &s, err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NULL(s);
	scn_free(s);
	return err;
}

#define RING_OK "domain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=20\n"

/* ---- scenario_parse ---- */

static void parse_errors_name_line_and_token(void)
{
	static const struct {
		const char *text, *prefix, *word;
	} cases[] = {
		{"domain dom0 priv\n# c\n\nfrobnicate 3\n", "t.scn:4: ", "unknown command 'frobnicate'"},
		{RING_OK "within 5\n", "t.scn:4: ", "'5' is not a time with a unit"},
		{RING_OK "within 5parsecs\n", "t.scn:4: ", "'5parsecs'"},
		{"domain dom0 priv\nworkload ring front=guest back=dom0\n", "t.scn:2: ",
		 "undefined domain 'guest' (declared so far: dom0)"},
		{RING_OK "at 2s crash ghost\n", "t.scn:4: ", "undefined domain 'ghost'"},
		{"domain a\ndomain a\n", "t.scn:2: ", "declared twice (first on line 1)"},
		{RING_OK "fault gnttab.mapp after 1\n", "t.scn:4: ", "unknown fault site 'gnttab.mapp'"},
		{RING_OK "fault gnttab.map prob 1.5\n", "t.scn:4: ", "not a probability"},
		{RING_OK "fault gnttab.map\n", "t.scn:4: ", "wrong number of arguments"},
		{"domain dom0 priv\ndomain g\nworkload ring front=g back=dom0 reqs=5\n", "t.scn:3: ",
		 "unknown parameter 'reqs'"},
		{"domain dom0 priv\ndomain g\nworkload ring front=g back=dom0 batch=99\n", "t.scn:3: ",
		 "batch=99 is out of range 1..16"},
		{"domain dom0 priv\nworkload ring front=dom0\n", "t.scn:2: ", "back= is required"},
		{"domain dom0 priv\nworkload rong\n", "t.scn:2: ", "unknown workload 'rong'"},
		{RING_OK "when ring.answers >= 3 note x\n", "t.scn:4: ", "unknown counter 'ring.answers'"},
		{RING_OK "expect sometimes\n", "t.scn:4: ", "usage: expect"},
		{RING_OK "mode fast\n", "t.scn:4: ", "'fast' is neither det nor free"},
		{RING_OK "policy pct:0\n", "t.scn:4: ", "pct:D with D in 1..16"},
		{RING_OK "describe \"open\n", "t.scn:4: ", "unterminated"},
		{RING_OK "describe \"open \\\n", "t.scn:4: ", "unterminated"},   /* a trailing backslash escapes nothing */
		{"domain dom0 priv\n", "t.scn:1: ", "no workload"},
		{RING_OK "fault gnttab.map after 0 on ghost\n", "t.scn:4: ",
		 "on 'ghost' is not a target (a declared domain: dom0, guest; a device vbd/N or vif/N; "
		 "a workload id: ring; or port N)"},
		{RING_OK "fault gnttab.map after 0 on port x\n", "t.scn:4: ", "on port 'x' is not a port"},
		{RING_OK "fault gnttab.map after 0 on\n", "t.scn:4: ", "on: the target is missing"},
		{RING_OK "fault gnttab.map after 0 on guest dom0\n", "t.scn:4: ", "two domains"},
		{RING_OK "fault gnttab.map after 0 on guest\nfault gnttab.map after 3 on dom0\n",
		 "t.scn:5: ", "aimed differently on line 4"},
		{RING_OK "at 1ms unplug ring\n", "t.scn:4: ",
		 "unplug ring: workload type ring cannot be unplugged (it has no unplug hook)"},
		{RING_OK "at 1ms plug nosuch\n", "t.scn:4: ", "no workload with id 'nosuch'"},
		{RING_OK "at 1ms suspend guest\n", "t.scn:4: ", "none has a suspend hook"},
		{RING_OK "at 1ms suspend guest from dom0\n", "t.scn:4: ", "usage: suspend DOMAIN [to"},
		{RING_OK "at 1ms xs-write guest:data/x Closing\n", "t.scn:4: ",
		 "'Closing' is a XenbusState name but /local/domain/1/data/x is no .../state node"},
		{RING_OK "quota guest grants lots\n", "t.scn:4: ", "quota guest grants: 'lots' is not"},
		{RING_OK "quota guest pages 3\n", "t.scn:4: ", "unknown domain quota 'pages'"},
		{RING_OK "quota ghost grants 3\n", "t.scn:4: ", "undefined domain 'ghost'"},
		{RING_OK "at 1ms quota guest maptrack 0\n", "t.scn:4: ", "not a count above 0"},
		{RING_OK "at 1ms pause ghost\n", "t.scn:4: ", "undefined domain 'ghost'"},
		{RING_OK "at 1ms pause guest during 3s\n", "t.scn:4: ", "usage: pause DOMAIN [for TIME]"},
		{RING_OK "at 1ms pause guest for\n", "t.scn:4: ", "usage: pause DOMAIN [for TIME]"},
		{RING_OK "at 1ms pause guest for 0s\n", "t.scn:4: ", "pause guest for: bad time '0s'"},
		{RING_OK "at 1ms pause guest for soon\n", "t.scn:4: ", "bad time 'soon'"},
		{RING_OK "at 1ms crash guest during 3s\n", "t.scn:4: ", "usage: crash DOMAIN [for TIME]"},
		{RING_OK "at 1ms crash guest for 0s\n", "t.scn:4: ", "crash guest for: bad time '0s'"},
		{RING_OK "at 1ms restart guest for 1s\n", "t.scn:4: ", "restart: wrong number of arguments"},
		{RING_OK "at 1ms unpause guest now\n", "t.scn:4: ", "unpause: wrong number of arguments"},
		{RING_OK "at 1ms sneeze guest\n", "t.scn:4: ", "pause, unpause, resize)"},
		{RING_OK "at 1ms resize ring 2M\n", "t.scn:4: ",
		 "resize ring: workload type ring cannot be resized (it has no resize hook)"},
		{RING_OK "at 1ms resize nosuch 2M\n", "t.scn:4: ", "no workload with id 'nosuch'"},
		{RING_OK "at 1ms resize ring\n", "t.scn:4: ", "resize: wrong number of arguments"},
		{"domain dom0 priv\ndomain g\nworkload blk front=g back=dom0\nat 1ms resize blk lots\n",
		 "t.scn:4: ", "resize blk: bad size 'lots'"},
		{"domain dom0 priv\ndomain g\nworkload blk front=g back=dom0\nat 1ms resize blk 0\n",
		 "t.scn:4: ", "resize blk: bad size '0'"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *err = parse_err(cases[i].text);
		bool ok = strncmp(err, cases[i].prefix, strlen(cases[i].prefix)) == 0 &&
			  strstr(err, cases[i].word) != NULL;
		if (!ok)
			printf("\n    case %zu: got \"%s\", want %s...%s\n", i, err, cases[i].prefix,
			       cases[i].word);
		CU_ASSERT_TRUE(ok);
	}
}

static void parse_values_units(void)
{
	uint64_t v;
	uint32_t ppm;

	CU_ASSERT_EQUAL(scn_parse_time("10ms", &v), 0);
	CU_ASSERT_EQUAL(v, 10000000ull);
	CU_ASSERT_EQUAL(scn_parse_time("1.5s", &v), 0);
	CU_ASSERT_EQUAL(v, 1500000000ull);
	CU_ASSERT_EQUAL(scn_parse_time("250us", &v), 0);
	CU_ASSERT_EQUAL(v, 250000ull);
	CU_ASSERT_EQUAL(scn_parse_time("0.001ms", &v), 0);
	CU_ASSERT_EQUAL(v, 1000ull);
	CU_ASSERT_NOT_EQUAL(scn_parse_time("5", &v), 0);
	CU_ASSERT_NOT_EQUAL(scn_parse_time("5 s", &v), 0);
	CU_ASSERT_EQUAL(scn_parse_size("4k", &v), 0);
	CU_ASSERT_EQUAL(v, 4096ull);
	CU_ASSERT_EQUAL(scn_parse_size("16MiB", &v), 0);
	CU_ASSERT_EQUAL(v, 16ull << 20);
	CU_ASSERT_EQUAL(scn_parse_uint("2k", &v), 0);
	CU_ASSERT_EQUAL(v, 2000ull);
	CU_ASSERT_NOT_EQUAL(scn_parse_uint("-1", &v), 0);
	CU_ASSERT_NOT_EQUAL(scn_parse_uint("99999999999999999999", &v), 0);
	CU_ASSERT_EQUAL(scn_parse_prob("5%", &ppm), 0);
	CU_ASSERT_EQUAL(ppm, 50000u);
	CU_ASSERT_EQUAL(scn_parse_prob("1/20", &ppm), 0);
	CU_ASSERT_EQUAL(ppm, 50000u);
	CU_ASSERT_EQUAL(scn_parse_prob("0.05", &ppm), 0);
	CU_ASSERT_EQUAL(ppm, 50000u);
	CU_ASSERT_NOT_EQUAL(scn_parse_prob("2", &ppm), 0);
	CU_ASSERT_EQUAL(scn_xenbus_state("Connected"), 4);
	CU_ASSERT_EQUAL(scn_xenbus_state("connected"), -1);
}

static void parse_defaults_and_domids(void)
{
	struct scenario *s = parse_ok("domain guest\ndomain dom0 priv\ndomain g2 id 7\ndomain g3\n"
				      "workload ring front=guest back=dom0\n");

	if (!s)
		return;
	CU_ASSERT_EQUAL(s->doms[0].domid, 1);    /* unprivileged: from 1 */
	CU_ASSERT_EQUAL(s->doms[1].domid, 0);    /* privileged: from 0 */
	CU_ASSERT_EQUAL(s->doms[2].domid, 7);
	CU_ASSERT_EQUAL(s->doms[3].domid, 2);
	CU_ASSERT_EQUAL(s->mode, SIM_MODE_DET);
	CU_ASSERT_EQUAL(s->expect, SCN_EXPECT_PASS);
	CU_ASSERT_EQUAL(s->within_ns, 60ull * 1000000000ull);
	CU_ASSERT_EQUAL(s->wls[0].args.u[2], 100u);   /* requests= default */
	CU_ASSERT_FALSE(scn_seed_pinned(s, NULL));
	scn_free(s);
}

static void parse_triggers_and_paths(void)
{
	struct scenario *s = parse_ok(RING_OK "fault gnttab.map after 3\nfault gnttab.copy after 5 ring.responses\n"
				      "fault evtchn.notify.drop prob 1/4 until 2s\n"
				      "when guest:device/vbd/0/state == Connected crash guest\n"
				      "at 1500us xs-write /tool/x \"a b\"\nexpect ring.responses >= 20\n");

	if (!s)
		return;
	CU_ASSERT_EQUAL(s->faults[0].trig.kind, SCN_TRIG_AFTER_SELF);
	CU_ASSERT_EQUAL(s->faults[0].trig.n, 3u);
	CU_ASSERT_EQUAL(s->faults[1].trig.kind, SCN_TRIG_AFTER);
	CU_ASSERT_EQUAL(s->faults[1].trig.pred.ctr.kind, SCN_CTR_WL);
	CU_ASSERT_EQUAL(s->faults[2].trig.ppm, 250000u);
	CU_ASSERT_EQUAL(s->faults[2].until_ns, 2000000000ull);
	CU_ASSERT_TRUE(s->actions[0].trig.pred.xs);
	CU_ASSERT_STRING_EQUAL(s->actions[0].trig.pred.path, "/local/domain/1/device/vbd/0/state");
	CU_ASSERT_EQUAL(s->actions[0].trig.pred.rhs_u, 4u);
	CU_ASSERT_EQUAL(s->actions[1].trig.at_ns, 1500000ull);
	CU_ASSERT_STRING_EQUAL(s->actions[1].b, "a b");
	CU_ASSERT_EQUAL(s->nexpect_counters, 1u);
	scn_free(s);
}

static void parse_aims_actions_quotas(void)
{
	struct scenario *s = parse_ok(RING_OK "fault evtchn.notify.drop after 2 on guest port 3 repeat 1\n"
				      "fault gnttab.copy after 0 on vbd/51712\n"
				      "fault gnttab.map after 0 on ring\n"
				      "when guest:device/vbd/51712/state == Connected xs-write "
				      "guest:device/vbd/51712/state Closing\n"
				      "at 1ms xs-write /x 4\n"
				      "quota guest grants 16\nquota dom0 maptrack 8\nquota nodes 100\n");
	char err[SCN_ERR_MAX];

	if (!s)
		return;
	CU_ASSERT_TRUE(s->faults[0].aim.set);
	CU_ASSERT_EQUAL(s->faults[0].aim.domid, 1);
	CU_ASSERT_EQUAL(s->faults[0].aim.port, 3u);
	CU_ASSERT_EQUAL(s->faults[0].repeat, 1);
	CU_ASSERT_EQUAL(s->faults[0].trig.kind, SCN_TRIG_AFTER_SELF);
	CU_ASSERT_STRING_EQUAL(s->faults[1].aim.device, "vbd/51712");
	CU_ASSERT_EQUAL(s->faults[1].aim.domid, DOMID_INVALID);
	CU_ASSERT_STRING_EQUAL(s->faults[2].aim.device, "ring");
	CU_ASSERT_STRING_EQUAL(s->actions[0].b, "5");      /* Closing, as a number */
	CU_ASSERT_STRING_EQUAL(s->actions[1].b, "4");      /* a number still works */
	CU_ASSERT_EQUAL(s->quotas[0].dom, 1);
	CU_ASSERT_STRING_EQUAL(s->quotas[0].name, "grants");
	CU_ASSERT_EQUAL(s->quotas[1].dom, 0);
	CU_ASSERT_EQUAL(s->quotas[2].dom, -1);
	/* A nemesis line: one more action, once; a bad one names --nemesis. */
	CU_ASSERT_EQUAL(scn_add_nemesis(s, "after 10 steps restart guest", err, sizeof(err)), 0);
	CU_ASSERT_EQUAL(s->nemesis_action, 2);
	CU_ASSERT_EQUAL(s->actions[2].act, SCN_ACT_RESTART);
	CU_ASSERT_EQUAL(scn_add_nemesis(s, "after 10 steps crash guest", err, sizeof(err)), -EINVAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "one nemesis per run"));
	struct scenario *d = scn_dup(s);
	CU_ASSERT_PTR_NOT_NULL(d);
	if (d) {
		CU_ASSERT_STRING_EQUAL(d->nemesis, "after 10 steps restart guest");
		CU_ASSERT_STRING_EQUAL(d->lines[0], s->lines[0]);
		CU_ASSERT_PTR_NOT_EQUAL(d->lines[0], s->lines[0]);
		scn_free(d);
	}
	scn_free(s);
	s = parse_ok(RING_OK);
	if (s) {
		CU_ASSERT_EQUAL(scn_add_nemesis(s, "when x == 1 crash ghost", err, sizeof(err)), -EINVAL);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, "--nemesis:4: undefined domain 'ghost'"));
		CU_ASSERT_EQUAL(s->nemesis_action, -1);
		CU_ASSERT_EQUAL(s->nactions, 0u);
		scn_free(s);
	}
}

/* ---- scenario_run: in this process ---- */

static struct scn_run_opts opts_seed(uint64_t seed)
{
	return (struct scn_run_opts){.seed_set = true, .seed = seed, .mode = -1, .policy = -1,
				     .quiet = true};
}

static struct scn_result run_text(const char *text, uint64_t seed)
{
	struct scn_result r = {.verdict = SCN_VERDICT_HARNESS};
	struct scenario *s = parse_ok(text);
	struct scn_run_opts o = opts_seed(seed);

	if (s) {
		CU_ASSERT_EQUAL(scn_run(s, &o, &r), 0);
		scn_free(s);
	}
	CU_ASSERT_EQUAL(sim_domain_count(), 0);   /* the run left nothing behind */
	return r;
}

static void run_same_seed_same_hash(void)
{
	const char *t = RING_OK "workload xenstore clients=guest ops=20\n";
	struct scn_result a = run_text(t, 5), b = run_text(t, 5);

	CU_ASSERT_EQUAL(a.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_EQUAL(a.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(a.trace_hash, b.trace_hash);
	CU_ASSERT_EQUAL(a.steps, b.steps);
	CU_ASSERT_EQUAL(a.seed, 5u);
}

static void run_other_seeds_other_interleavings(void)
{
	const char *t = RING_OK "workload xenstore clients=guest ops=20\n";
	uint64_t hashes[6];
	unsigned distinct = 0;

	for (unsigned i = 0; i < 6; i++) {
		struct scn_result r = run_text(t, 100 + i);
		CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
		hashes[i] = r.trace_hash;
		bool seen = false;
		for (unsigned j = 0; j < i; j++)
			seen |= hashes[j] == hashes[i];
		distinct += !seen;
	}
	CU_ASSERT_TRUE(distinct >= 5);
}

#define BROKEN "policy pct:2 steps=600\ndomain dom0 priv\ndomain guest\n" \
	       "workload ring front=guest back=dom0 requests=20 broken=%d\nexpect %s\n"

static void run_pct_finds_hang_correct_passes(void)
{
	char broken[256], correct[256];
	unsigned hangs = 0, first = 0;

	snprintf(broken, sizeof(broken), BROKEN, 1, "pass");
	snprintf(correct, sizeof(correct), BROKEN, 0, "pass");
	for (unsigned seed = 1; seed <= 20; seed++) {
		struct scn_result b = run_text(broken, seed), c = run_text(correct, seed);
		if (b.outcome == SCN_OUT_HANG && !hangs++)
			first = seed;
		CU_ASSERT_TRUE(b.outcome == SCN_OUT_HANG || b.outcome == SCN_OUT_PASS);
		CU_ASSERT_EQUAL(c.verdict, SCN_VERDICT_PASS);
		if (b.outcome == SCN_OUT_HANG)
			CU_ASSERT_PTR_NOT_NULL(strstr(b.reason, "nothing can run"));
	}
	printf("\n    pct:2 found the lost wakeup in %u of 20 seeds (first %u)\n", hangs, first);
	CU_ASSERT_TRUE(hangs > 0);
	/* The hang replays, and `expect hang` makes it the expected verdict. */
	snprintf(broken, sizeof(broken), BROKEN, 1, "hang");
	if (hangs) {
		struct scn_result r = run_text(broken, first);
		CU_ASSERT_EQUAL(r.outcome, SCN_OUT_HANG);
		CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	}
}

static void run_fault_gives_expected_error(void)
{
	struct scn_result r = run_text(RING_OK "fault gnttab.map after 0\nexpect error \"ring ref\"\n"
				       "expect fault gnttab.map\n", 1);
	struct scn_result p = run_text(RING_OK "fault gnttab.map after 0\n", 1);

	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_ERROR);
	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_EQUAL(r.injected, 1u);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "map of ring ref"));
	/* The same error where a pass is expected fails, naming it. */
	CU_ASSERT_EQUAL(p.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.reason, "expected pass, got error"));
}

#define TWO_RINGS "domain dom0 priv\ndomain g1\ndomain g2\ndomain other\n" \
	"workload ring front=g1 back=dom0 requests=20 id=r1\n" \
	"workload ring front=g2 back=dom0 requests=20 id=r2\n"

/* An aimed fault fires only where its target acts (or is the peer); an
 * unaimed one wherever the site is reached first. */
static void run_aimed_fault_fires_only_on_target(void)
{
	struct scn_result g2 = run_text(TWO_RINGS "fault gnttab.map after 0 repeat forever on g2\n", 1);
	struct scn_result g1 = run_text(TWO_RINGS "fault gnttab.map after 0 repeat forever on g1\n", 1);
	struct scn_result oth = run_text(TWO_RINGS "fault gnttab.map after 0 repeat forever on other\n", 1);
	struct scn_result port = run_text(TWO_RINGS "fault gnttab.map after 0 on dom0 port 7\n", 1);
	struct scn_result dev = run_text(TWO_RINGS "fault gnttab.map after 0 on vbd/51712\n", 1);
	struct scn_result all = run_text(TWO_RINGS "fault gnttab.map after 0 repeat forever\n", 1);
	struct scn_result drop = run_text(TWO_RINGS "fault evtchn.notify.drop after 0 repeat forever "
					  "on other\n", 1);
	/* The ring front's event channel is its port 1: drops there hang it;
	 * drops on a port nobody sends on change nothing. */
	struct scn_result p1 = run_text(RING_OK "fault evtchn.notify.drop after 0 repeat forever "
					"on guest port 1\n", 1);
	struct scn_result p9 = run_text(RING_OK "fault evtchn.notify.drop after 0 repeat forever "
					"on guest port 9\n", 1);

	CU_ASSERT_EQUAL(g2.outcome, SCN_OUT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(g2.reason, "r2: back (dom 0): map of ring ref"));
	CU_ASSERT_PTR_NOT_NULL(strstr(g2.reason, "of dom 2 failed"));
	CU_ASSERT_EQUAL(g1.outcome, SCN_OUT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(g1.reason, "r1: back (dom 0): map of ring ref"));
	/* Aimed where nothing happens: never injected, the run passes. */
	CU_ASSERT_EQUAL(oth.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(oth.injected, 0u);
	CU_ASSERT_EQUAL(port.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(port.injected, 0u);
	CU_ASSERT_EQUAL(dev.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(drop.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(drop.injected, 0u);
	CU_ASSERT_EQUAL(p1.outcome, SCN_OUT_HANG);
	CU_ASSERT_TRUE(p1.injected >= 1u);
	CU_ASSERT_EQUAL(p9.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(p9.injected, 0u);
	/* Unaimed: it fires at the first map, whoever makes it. */
	CU_ASSERT_EQUAL(all.outcome, SCN_OUT_ERROR);
	CU_ASSERT_TRUE(all.injected >= 1u);
}

/* A device aim: the xenstore write site names the device of the path. */
static void run_device_aim_matches_the_device(void)
{
	const char *blk = "domain dom0 priv\ndomain storage\ndomain guest\n"
			  "workload blk front=guest back=storage ios=20\n";
	char text[512];

	snprintf(text, sizeof(text), "%sfault xenstore.write.enospc after 2 on guest vbd/51712\n", blk);
	struct scn_result hit = run_text(text, 1);
	snprintf(text, sizeof(text), "%sfault xenstore.write.enospc after 2 on guest vbd/51713\n", blk);
	struct scn_result miss = run_text(text, 1);
	snprintf(text, sizeof(text), "%sfault xenstore.write.enospc after 0 on dom0 vbd/51712\n", blk);
	struct scn_result priv = run_text(text, 1);

	CU_ASSERT_EQUAL(hit.outcome, SCN_OUT_ERROR);
	CU_ASSERT_EQUAL(hit.injected, 1u);
	CU_ASSERT_PTR_NOT_NULL(strstr(hit.reason, "blkfront (dom 2) failed"));
	CU_ASSERT_EQUAL(miss.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(miss.injected, 0u);
	CU_ASSERT_EQUAL(priv.outcome, SCN_OUT_PASS);   /* dom0 writes no device node itself */
}

/* quota DOMAIN grants / maptrack: the grant table refuses past the limit. */
static void run_grant_quotas_bite(void)
{
	const char *blk = "domain dom0 priv\ndomain guest\nworkload blk front=guest back=dom0 ios=20\n";
	char text[512];
	/* The ring front shares 2 pages (the ring, one data page). */
	struct scn_result g = run_text(RING_OK "quota guest grants 1\n", 1);
	struct scn_result g2 = run_text(RING_OK "quota guest grants 2\n", 1);
	snprintf(text, sizeof(text), "%squota dom0 maptrack 2\n", blk);
	struct scn_result m = run_text(text, 1);
	snprintf(text, sizeof(text), "%squota dom0 maptrack 4000\n", blk);
	struct scn_result ok = run_text(text, 1);
	snprintf(text, sizeof(text), "%swhen blk.done >= 4 quota dom0 maptrack 2\n", blk);
	struct scn_result later = run_text(text, 1);

	CU_ASSERT_EQUAL(g.outcome, SCN_OUT_ERROR);
	CU_ASSERT_PTR_NOT_NULL(strstr(g.reason, "sharing pages with dom 0 failed: No space left"));
	CU_ASSERT_EQUAL(g2.outcome, SCN_OUT_PASS);
	CU_ASSERT_EQUAL(m.outcome, SCN_OUT_ERROR);
	CU_ASSERT_EQUAL(ok.outcome, SCN_OUT_PASS);
	CU_ASSERT_NOT_EQUAL(later.outcome, SCN_OUT_FAIL);
	/* Quotas do not outlive the run. */
	struct scn_result again = run_text(RING_OK, 1);
	CU_ASSERT_EQUAL(again.outcome, SCN_OUT_PASS);
}

/* An action whose trigger never came is counted (and warned about). */
static void run_unfired_action_is_counted(void)
{
	struct scn_result r = run_text(RING_OK "when ring.responses >= 1000 note never\n"
				       "when ring.responses >= 1 note once\n", 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_EQUAL(r.actions_unfired, 1u);
}

static void run_expectations_are_checked(void)
{
	struct scn_result never = run_text(RING_OK "fault gnttab.map after 1000\nexpect fault gnttab.map\n", 1);
	struct scn_result ctr = run_text(RING_OK "expect ring.responses == 21\n", 1);
	struct scn_result ok = run_text(RING_OK "expect ring.responses == 20\n", 1);

	CU_ASSERT_EQUAL(never.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(never.reason, "expect fault gnttab.map: never injected"));
	CU_ASSERT_EQUAL(ctr.verdict, SCN_VERDICT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(ctr.reason, "line 4: expect ring.responses == 21: it is 20"));
	CU_ASSERT_EQUAL(ok.verdict, SCN_VERDICT_PASS);
}

static void run_leak_names_the_path(void)
{
	struct scn_result r = run_text(RING_OK "at 0ms xs-write /tool/leftover 1\n", 1);

	CU_ASSERT_EQUAL(r.outcome, SCN_OUT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(r.reason, "left behind: /tool/leftover"));
	if (!strstr(r.reason, "left behind: /tool/leftover"))
		printf("\n    %s\n", r.reason);
}

static void run_illegal_xenbus_transition_caught(void)
{
	struct scn_result bad = run_text(RING_OK "at 0ms xs-write guest:device/x/state 4\n"
					 "when guest:device/x/state == Connected xs-write guest:device/x/state 2\n"
					 "at 0ms xs-rm guest:device\n", 1);
	struct scn_result ok = run_text(RING_OK "at 0ms xs-write guest:device/x/state 4\n"
					"when guest:device/x/state == 4 xs-write guest:device/x/state 6\n"
					"when guest:device/x/state == 6 xs-write guest:device/x/state 1\n"
					"when guest:device/x/state == 1 xs-rm guest:device\n", 1);

	CU_ASSERT_EQUAL(bad.outcome, SCN_OUT_FAIL);
	CU_ASSERT_PTR_NOT_NULL(strstr(bad.reason, "illegal XenbusState transition by domain 0 (dom0) "
				      "on /local/domain/1/device/x/state: Connected -> InitWait"));
	CU_ASSERT_EQUAL(ok.verdict, SCN_VERDICT_PASS);   /* closed, then a reconnect */
	if (ok.verdict != SCN_VERDICT_PASS)
		printf("\n    %s\n", ok.reason);
}

/* The file fakes the frontend's Closing while blkfront is between its
 * Initialising and Initialised: blkfront's next write (Initialised) is no
 * move of its own from Closing, and the run goes on (blkback closes, both
 * start over, the I/O completes). Judged as a move, it would be
 * Closing -> Initialised. */
static void run_write_after_faked_state_is_fresh(void)
{
	struct scn_result r = run_text("domain dom0 priv\ndomain guest\n"
				       "workload blk front=guest back=dom0 ios=50 qd=4\n"
				       "when dom0:backend/vbd/1/51712/state == InitWait "
				       "xs-write guest:device/vbd/51712/state Closing\n"
				       "within 30s\nexpect pass\n", 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	if (r.verdict != SCN_VERDICT_PASS)
		printf("\n    %s\n", r.reason);
}

static void run_restart_and_delay_recover(void)
{
	struct scn_result r = run_text("domain dom0 priv\ndomain be\ndomain guest\n"
				       "workload ring front=guest back=be requests=200 batch=4\n"
				       "when ring.responses >= 50 restart be\n"
				       "fault evtchn.notify.delay prob 30% delay 2ms\n"
				       "expect ring.reconnects == 1\nexpect ring.responses == 200\n"
				       "expect fault evtchn.notify.delay\n", 3);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_TRUE(r.vt_ns >= 2000000ull);   /* the delays cost virtual time only */
	if (r.verdict != SCN_VERDICT_PASS)
		printf("\n    %s\n", r.reason);
}

static void run_timed_action_fires_at_virtual_time(void)
{
	/* Virtual time moves only while every domain waits: with every send lost,
	 * the 1ms kick timers carry the exchange, and the crash at 3ms ends it. */
	struct scn_result r = run_text("domain dom0 priv\ndomain guest\n"
				       "workload ring front=guest back=dom0 requests=1000 kick=1ms\n"
				       "fault evtchn.notify.drop after 0 repeat forever\n"
				       "at 3ms crash guest\nexpect error \"crashed\"\n", 1);

	CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_PASS);
	CU_ASSERT_TRUE(r.vt_ns >= 3000000ull && r.vt_ns < 5000000ull);
}

/* ---- scenario_tools: isolation, shards, shrink, reports ---- */

static void isolated_run_matches_in_process(void)
{
	struct scenario *s = parse_ok(RING_OK);
	struct scn_run_opts o = opts_seed(9);
	struct scn_result a, b;

	if (!s)
		return;
	CU_ASSERT_EQUAL(scn_run_isolated(s, &o, &a), 0);
	CU_ASSERT_EQUAL(scn_run(s, &o, &b), 0);
	CU_ASSERT_FALSE(a.died);
	CU_ASSERT_EQUAL(a.trace_hash, b.trace_hash);
	CU_ASSERT_EQUAL(a.steps, b.steps);
	scn_free(s);
}

static void shards_partition_the_range(void)
{
	for (unsigned n = 1; n <= 5; n++) {
		for (uint64_t seed = 10; seed <= 40; seed++) {
			unsigned owners = 0;
			for (unsigned i = 0; i < n; i++)
				owners += scn_shard_has(10, seed, i, n);
			CU_ASSERT_EQUAL(owners, 1u);
		}
	}
	CU_ASSERT_TRUE(scn_shard_has(10, 13, 0, 3));
	CU_ASSERT_FALSE(scn_shard_has(10, 13, 1, 3));
}

static void shrink_keeps_failure_with_fewer_lines(void)
{
	struct scenario *s = NULL, *out = NULL;
	struct scn_shrink_stats st;
	char err[SCN_ERR_MAX], path[] = "/tmp/xensim-shrink-XXXXXX";
	int fd = mkstemp(path);

	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(scn_parse_file("scenarios/in-development/shrink-example.scn", &s, err,
					     sizeof(err)), 0);
	CU_ASSERT_EQUAL(scn_shrink(s, 3, path, &st), 0);
	printf("\n    shrink: %u -> %u lines in %u runs\n", st.lines_before, st.lines_after, st.runs);
	CU_ASSERT_TRUE(st.lines_before >= 29);
	CU_ASSERT_TRUE(st.lines_after <= 6);
	CU_ASSERT_PTR_NOT_NULL(strstr(st.reason, "ENOSPC"));
	CU_ASSERT_EQUAL(scn_parse_file(path, &out, err, sizeof(err)), 0);
	if (out) {
		struct scn_run_opts o = opts_seed(1);   /* the file pins its seed */
		o.seed_set = false;
		struct scn_result r;
		CU_ASSERT_EQUAL(scn_run(out, &o, &r), 0);
		CU_ASSERT_EQUAL(r.verdict, SCN_VERDICT_FAIL);
		CU_ASSERT_EQUAL(r.outcome, SCN_OUT_ERROR);
		CU_ASSERT_EQUAL(r.seed, 3u);
	}
	/* A passing scenario has nothing to shrink. */
	struct scenario *pass = parse_ok(RING_OK);
	CU_ASSERT_EQUAL(scn_shrink(pass, 1, path, &st), -EINVAL);
	scn_free(pass);
	scn_free(out);
	scn_free(s);
	unlink(path);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	size_t cap = 0;

	if (f) {
		if (getdelim(&buf, &cap, '\0', f) < 0) {
			free(buf);
			buf = NULL;
		}
		fclose(f);
	}
	return buf;
}

static void reports_and_timeline(void)
{
	struct scenario *s = parse_ok("domain dom0 priv\ndomain guest\npolicy pct:2 steps=600\n"
				      "workload ring front=guest back=dom0 requests=20 broken=1\n");
	struct scn_run_opts o = opts_seed(2);
	struct scn_report_row row = {.path = "t.scn", .category = "race", .description = "d"};
	char svg[] = "/tmp/xensim-tl-XXXXXX", html[64], xml[64];
	int fd = mkstemp(svg);

	if (!s || fd < 0)
		return;
	close(fd);
	o.timeline_path = svg;
	CU_ASSERT_EQUAL(scn_run(s, &o, &row.result), 0);
	CU_ASSERT_EQUAL(row.result.outcome, SCN_OUT_HANG);
	char *pic = slurp(svg);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pic);
	CU_ASSERT_PTR_NOT_NULL(strstr(pic, "<svg"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pic, ">guest<"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pic, "notify p"));
	CU_ASSERT_PTR_NOT_NULL(strstr(pic, "map ref"));
	row.timeline_svg = pic;
	snprintf(row.replay, sizeof(row.replay), "build/xensim run t.scn --seed 2");
	snprintf(html, sizeof(html), "%s.html", svg);
	snprintf(xml, sizeof(xml), "%s.xml", svg);
	CU_ASSERT_EQUAL(scn_report_html(html, &row, 1), 0);
	CU_ASSERT_EQUAL(scn_report_junit(xml, &row, 1), 0);
	char *h = slurp(html), *x = slurp(xml);
	CU_ASSERT_PTR_NOT_NULL(h && strstr(h, "<svg"));
	CU_ASSERT_PTR_NOT_NULL(h && strstr(h, "build/xensim run t.scn --seed 2"));
	CU_ASSERT_PTR_NOT_NULL(x && strstr(x, "<failure message=\"expected pass, got hang"));
	CU_ASSERT_PTR_NOT_NULL(x && strstr(x, "tests=\"1\" failures=\"1\""));
	free(h);
	free(x);
	free(pic);
	unlink(svg);
	unlink(html);
	unlink(xml);
	scn_free(s);
}

/* A nemesis sweep that cannot fail is a defect: over the test-only broken ring
 * back (a lost wakeup) restarting its backend at every 8th step finds points
 * that hang, and the same sweep over the correct back finds none. */
static struct scn_nemesis_stats nemesis_of(const char *text)
{
	struct scn_nemesis_stats st = {0};
	struct scn_nemesis_opts o = {.every = 8, .actions = 1u << SCN_NEM_RESTART, .jobs = 2,
				     .run = opts_seed(1)};
	struct scenario *s = parse_ok(text);

	if (s) {
		CU_ASSERT_EQUAL(scn_nemesis_sweep(s, &o, &st), 0);
		scn_free(s);
	}
	return st;
}

static void nemesis_sweep_finds_broken_backend(void)
{
	const char *base = "domain dom0 priv\ndomain backend\ndomain guest\nwithin 10s\n"
			   "workload ring front=guest back=backend requests=100 batch=4";
	char bad[256], good[256];

	snprintf(bad, sizeof(bad), "%s broken=1\n", base);
	snprintf(good, sizeof(good), "%s\n", base);
	struct scn_nemesis_stats b = nemesis_of(bad), g = nemesis_of(good);

	CU_ASSERT_TRUE(b.points > 50);
	CU_ASSERT_TRUE(b.failed > 0);
	CU_ASSERT_EQUAL(b.passed + b.failed, b.points);
	CU_ASSERT_TRUE(g.points > 50);
	CU_ASSERT_EQUAL(g.failed, 0u);
	printf("\n    nemesis: broken back %u of %u points failed; correct back %u of %u\n", b.failed,
	       b.points, g.failed, g.points);
	/* A scenario that expects no pass is not swept. */
	struct scn_nemesis_stats x = nemesis_of("domain dom0 priv\ndomain g\n"
						"workload ring front=g back=dom0\nexpect hang\n");
	CU_ASSERT_TRUE(x.skipped);
	CU_ASSERT_EQUAL(x.points, 0u);
}

void test_register(void)
{
	static const struct test_case parse[] = {
		TEST(parse_errors_name_line_and_token),
		TEST(parse_values_units),
		TEST(parse_defaults_and_domids),
		TEST(parse_triggers_and_paths),
		TEST(parse_aims_actions_quotas),
		TEST_END,
	};
	static const struct test_case run[] = {
		TEST(run_same_seed_same_hash),
		TEST(run_other_seeds_other_interleavings),
		TEST(run_pct_finds_hang_correct_passes),
		TEST(run_fault_gives_expected_error),
		TEST(run_expectations_are_checked),
		TEST(run_leak_names_the_path),
		TEST(run_illegal_xenbus_transition_caught),
		TEST(run_write_after_faked_state_is_fresh),
		TEST(run_restart_and_delay_recover),
		TEST(run_timed_action_fires_at_virtual_time),
		TEST(run_aimed_fault_fires_only_on_target),
		TEST(run_device_aim_matches_the_device),
		TEST(run_grant_quotas_bite),
		TEST(run_unfired_action_is_counted),
		TEST_END,
	};
	static const struct test_case tools[] = {
		TEST(isolated_run_matches_in_process),
		TEST(shards_partition_the_range),
		TEST(shrink_keeps_failure_with_fewer_lines),
		TEST(reports_and_timeline),
		TEST(nemesis_sweep_finds_broken_backend),
		TEST_END,
	};
	test_add_suite("scenario_parse", NULL, reset_all, parse);
	test_add_suite("scenario_run", NULL, reset_all, run);
	test_add_suite("scenario_tools", NULL, reset_all, tools);
}
