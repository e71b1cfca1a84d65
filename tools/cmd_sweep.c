/*
 * `xensim sweep`: run a scenario over a seed range (or one shard of it), -j
 * runs at a time, each isolated; print every failure with the command that
 * replays it, and a summary. --find stops at the first seed whose run meets
 * the scenario's expectation (a hang hunt: `expect hang`). --faults is the
 * fault sweep: fail occurrence 1, 2, 3, ... of each site the run reaches.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "sim/access/access.h"
#include "sim/scenario/scenario.h"
#include "tools/xensim.h"

struct sweep_cli {
	struct scn_sweep_opts o;
	struct scn_nemesis_opts nem;
	bool seeds_set, faults, nemesis, aim;
	const char *site;
	uint64_t max_per_site;
	const char *file;
};

static void sweep_usage(FILE *out)
{
	fprintf(out,
		"usage: xensim sweep FILE --seeds A..B [--shard I/N] [-j N] [--mode det|free]\n"
		"                    [--policy random|pct:D] [--find] [--quiet]\n"
		"                    [--access-points[-all]]  (build-access/xensim: every\n"
		"                    driver access to a ring index, or (-all) to shared\n"
		"                    memory, is a scheduling point) [--access-jump] (each\n"
		"                    seed moves another re-read of a producer index past\n"
		"                    the ring, see xensim run --help)\n"
		"       xensim sweep FILE --faults [--aim] [--site SITE] [--max N] [--seed N]\n"
		"       xensim sweep FILE --nemesis [--every N] [--actions LIST] [-j N] [--seed N]\n"
		"                    [--verbose]\n"
		"  --shard I/N  only the seeds s with (s - A) %% N == I (I from 0): shards\n"
		"               partition the range, for a CI matrix or GNU parallel\n"
		"  -j N         N runs at a time (worker processes; a seed sweep's worker\n"
		"               runs seed after seed while they pass, and any other end\n"
		"               gets the next seed a fresh process: same trace hashes)\n"
		"  --find       stop at the first seed whose run meets the expectation\n"
		"  --faults     fault sweep: fail occurrence 1, 2, ... of each reached site\n"
		"               until a run does not reach it; every run must pass or end\n"
		"               in a clean error with every oracle holding; without --site,\n"
		"               a scenario expecting no pass or running an attacker is\n"
		"               skipped, and so are the sites it says it leaves out\n"
		"               (evtchn.notify.drop, the hostile peers' *.hostile.* sites)\n"
		"  --aim        with --faults: each site aimed at each domain in turn\n"
		"  --nemesis    crash, restart, destroy, suspend each non-privileged domain,\n"
		"               crash it for 1 s (an outage: back after it), pause any\n"
		"               domain for 3 s (unplug each workload that can be)\n"
		"               at every XenbusState a device end reaches in the baseline run\n"
		"               and at every Nth step, each in its own run; every run must\n"
		"               pass or end in a clean workload error\n"
		"  --every N    nemesis: a step point every N scheduling steps (default: chosen\n"
		"               so that one scenario's sweep takes well under a minute)\n"
		"  --actions L  nemesis: a comma list of crash,restart,destroy,unplug,suspend,\n"
		"               pause,outage\n"
		"               (default: all; unplug and suspend where a workload has the hook)\n"
		"exit: 0 all passed (--find: found), 1 failures (--find: not found), 2 usage, 3 harness\n");
}

static int sweep_shard(struct sweep_cli *c, const char *arg)
{
	uint64_t i, n;
	const char *slash = strchr(arg, '/');
	char a[24];

	if (!slash || (size_t)(slash - arg) >= sizeof(a))
		return -1;
	snprintf(a, sizeof(a), "%.*s", (int)(slash - arg), arg);
	if (xensim_parse_u64(a, &i) < 0 || xensim_parse_u64(slash + 1, &n) < 0 || n == 0 || i >= n ||
	    n > 1000000)
		return -1;
	c->o.shard_index = (unsigned)i;
	c->o.shard_count = (unsigned)n;
	return 0;
}

static int sweep_opt(struct sweep_cli *c, int opt, const char *arg)
{
	uint64_t v;

	switch (opt) {
	case 'S': c->seeds_set = true; return xensim_parse_range(arg, &c->o.seed_first, &c->o.seed_last);
	case 'x': return sweep_shard(c, arg);
	case 'm': return xensim_parse_mode(arg, &c->o.run.mode);
	case 'p': return xensim_parse_policy(arg, &c->o.run.policy, &c->o.run.pct_depth);
	case 'F': c->o.find = true; return 0;
	case 'q': c->o.quiet = true; return 0;
	case 'f': c->faults = true; return 0;
	case 'e': c->site = arg; return 0;
	case 'M': return xensim_parse_u64(arg, &c->max_per_site);
	case 's': c->o.run.seed_set = true; return xensim_parse_u64(arg, &c->o.run.seed);
	case 'N': c->nemesis = true; return 0;
	case 'a': c->aim = true; return 0;
	case 'E': return xensim_parse_u64(arg, &c->nem.every) < 0 || c->nem.every == 0 ? -1 : 0;
	case 'A': return scn_nemesis_parse_actions(arg, &c->nem.actions);
	case 'v': c->nem.verbose = true; return 0;
	case 'P': c->o.run.access_points = SIM_ACCESS_POINTS_RING; return 0;
	case 'Q': c->o.run.access_points = SIM_ACCESS_POINTS_ALL; return 0;
	case 'J': c->o.run.access_jump = true; return 0;
	case 'j':
		if (xensim_parse_u64(arg, &v) < 0 || v == 0 || v > 64)
			return -1;
		c->o.jobs = (unsigned)v;
		return 0;
	}
	return -1;
}

static int sweep_parse(struct sweep_cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"seeds", required_argument, NULL, 'S'}, {"shard", required_argument, NULL, 'x'},
		{"mode", required_argument, NULL, 'm'}, {"policy", required_argument, NULL, 'p'},
		{"find", no_argument, NULL, 'F'}, {"quiet", no_argument, NULL, 'q'},
		{"faults", no_argument, NULL, 'f'}, {"site", required_argument, NULL, 'e'},
		{"max", required_argument, NULL, 'M'}, {"seed", required_argument, NULL, 's'},
		{"nemesis", no_argument, NULL, 'N'}, {"every", required_argument, NULL, 'E'},
		{"actions", required_argument, NULL, 'A'}, {"verbose", no_argument, NULL, 'v'},
		{"aim", no_argument, NULL, 'a'}, {"access-points", no_argument, NULL, 'P'},
		{"access-points-all", no_argument, NULL, 'Q'}, {"access-jump", no_argument, NULL, 'J'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	int opt;

	c->o.run.mode = c->o.run.policy = -1;
	c->o.jobs = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			sweep_usage(stdout);
			return 1;
		}
		if (opt == '?' || sweep_opt(c, opt, optarg) < 0) {
			if (opt != '?')
				fprintf(stderr, "xensim sweep: bad value '%s'\n", optarg ? optarg : "");
			sweep_usage(stderr);
			return -1;
		}
	}
	if (optind != argc - 1 || c->faults + c->seeds_set + c->nemesis != 1) {
		fprintf(stderr, "xensim sweep: %s\n", optind != argc - 1 ? "one scenario file, please"
			: "give one of --seeds A..B, --faults, --nemesis");
		sweep_usage(stderr);
		return -1;
	}
	if (c->aim && !c->faults) {
		fprintf(stderr, "xensim sweep: --aim goes with --faults\n");
		return -1;
	}
	c->file = argv[optind];
	return 0;
}

static int sweep_seeds(const struct scenario *s, struct sweep_cli *c)
{
	struct scn_sweep_stats st;
	char replay[SCN_MSG_MAX];

	if (scn_sweep(s, &c->o, &st) < 0) {
		fprintf(stderr, "xensim sweep: cannot run: %m\n");
		return XENSIM_EXIT_HARNESS;
	}
	printf("sweep %s seeds %lu..%lu", scn_path(s), c->o.seed_first, c->o.seed_last);
	if (c->o.shard_count > 1)
		printf(" shard %u/%u", c->o.shard_index, c->o.shard_count);
	printf(": %u runs, %u passed, %u failed, %u harness errors\n", st.runs, st.passed, st.failed,
	       st.harness);
	if (c->o.find) {
		if (!st.found) {
			printf("not found: no seed in the range meets the expectation\n");
			return XENSIM_EXIT_FAIL;
		}
		struct scn_result r = {.seed = st.found_seed};
		scn_replay_command(s, &c->o.run, &r, replay, sizeof(replay));
		printf("found: seed %lu meets the expectation (after %u runs)\nreplay: %s\n", st.found_seed,
		       st.runs, replay);
		return XENSIM_EXIT_PASS;
	}
	if (st.failed + st.harness)
		printf("first failing seed: %lu\n", st.first_failed_seed);
	return st.harness ? XENSIM_EXIT_HARNESS : st.failed ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
}

static int sweep_faults(const struct scenario *s, struct sweep_cli *c)
{
	struct scn_fault_sweep_stats st;

	if (c->site && !sim_fault_site_find(c->site)) {
		fprintf(stderr, "xensim sweep: unknown fault site '%s' (see `xensim faults`)\n", c->site);
		return XENSIM_EXIT_USAGE;
	}
	printf("fault sweep of %s:\n", scn_path(s));
	if ((c->aim ? scn_fault_sweep_aimed : scn_fault_sweep)(s, c->site, (unsigned)c->max_per_site,
							      &c->o.run, &st) < 0) {
		fprintf(stderr, "xensim sweep: cannot run: %m\n");
		return XENSIM_EXIT_HARNESS;
	}
	if (st.skipped)
		return XENSIM_EXIT_PASS;
	printf("fault sweep %s: %u sites, %u runs, %u failed", scn_path(s), st.sites, st.runs,
	       st.failed);
	printf(st.left_out ? " (%u reached sites left out)\n" : "\n", st.left_out);
	return st.failed ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
}

static int sweep_nemesis(const struct scenario *s, struct sweep_cli *c)
{
	struct scn_nemesis_stats st;

	c->nem.run = c->o.run;
	c->nem.jobs = c->o.jobs;
	if (!c->nem.actions)
		c->nem.actions = (1u << SCN_NEM_ACT_COUNT) - 1;
	if (scn_nemesis_sweep(s, &c->nem, &st) < 0) {
		fprintf(stderr, "xensim sweep: cannot run: %m\n");
		return XENSIM_EXIT_HARNESS;
	}
	if (st.skipped)
		return XENSIM_EXIT_PASS;
	printf("nemesis sweep %s: %u points, %u passed, %u failed (%u never reached their "
	       "trigger)\n", scn_path(s), st.points, st.passed, st.failed, st.unreached);
	return st.failed ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
}

int cmd_sweep(int argc, char **argv)
{
	struct sweep_cli c = {0};
	struct scenario *s;
	char err[SCN_ERR_MAX];
	int rc = sweep_parse(&c, argc, argv);

	if (rc != 0)
		return rc > 0 ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	if (scn_parse_file(c.file, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return XENSIM_EXIT_USAGE;
	}
	rc = c.nemesis ? sweep_nemesis(s, &c) : c.faults ? sweep_faults(s, &c) : sweep_seeds(s, &c);
	scn_free(s);
	return rc;
}
