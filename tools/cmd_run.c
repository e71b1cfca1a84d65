/*
 * `xensim run`: run scenario files. One file and one seed: the run's own
 * output, then its verdict line (seed and trace hash; for a failure, the
 * reason and the command that replays it). Several files, directories or
 * seeds: a progress line per run, a summary table, and with --report the
 * JUnit XML and HTML report. Every run is isolated in a child process.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sim/access/access.h"
#include "sim/scenario/scenario.h"
#include "tools/xensim.h"

#define RUN_FILES_MAX 4096u
#define RUN_JOBS_MAX 100000u
#define RUN_JOBS_CLI_MAX 64u
#define RUN_SEEDS_MAX 100000u

/* ---- the verdict line, shared with sweep ---- */

void xensim_print_result(const struct scenario *s, const struct scn_run_opts *o,
			 const struct scn_result *r)
{
	char line[1536], replay[SCN_MSG_MAX];

	scn_result_line(s, o, r, line, sizeof(line));
	if (r->reason[0])
		printf("  %s: %s\n", r->verdict == SCN_VERDICT_PASS ? "as expected" : "reason", r->reason);
	if (r->verdict != SCN_VERDICT_PASS) {
		scn_replay_command(s, o, r, replay, sizeof(replay));
		printf("  replay: %s\n", replay);
	}
	printf("%s\n", line);
}

/* ---- options ---- */

struct run_cli {
	struct scn_run_opts o;
	bool seeds_set, check_det, all;
	bool verbose;              /* a single run's log shown even when it passes */
	uint64_t seed_first, seed_last;
	const char *report_dir, *junit, *category;
	const char *nemesis;       /* --nemesis 'LINE': one more timed action */
	unsigned jobs;
	char **files;
	unsigned nfiles;
};

static void run_usage(FILE *out)
{
	fprintf(out,
		"usage: xensim run FILE|DIR... [--seed N | --seeds A..B] [--mode det|free]\n"
		"                  [--policy random|pct:D] [--trace FILE] [--check-determinism]\n"
		"                  [--category C] [--all] [--report DIR] [--junit FILE] [-j N]\n"
		"                  [--fail SITE:N] [--nemesis LINE] [--max-steps N] [--quiet]\n"
		"                  [--verbose] [--access-points[-all]] [--access-report FILE]\n"
		"                  [--access-jump]\n"
		"  Run scenarios (a directory: every *.scn under it but in-development ones,\n"
		"  unless --all). Without --seed a file's `seed` line (else 1) is used;\n"
		"  with --seeds A..B, a file that pins its seed still runs that seed only\n"
		"  (use --seed N or `xensim sweep` to run it at others).\n"
		"  --trace FILE          every trace event of the run (one run only)\n"
		"  --check-determinism   run twice, compare the trace hashes (det mode)\n"
		"  --verbose             one run: its log (driver and sim messages on stderr)\n"
		"                        as it goes; else shown only if the run does not pass\n"
		"  --report DIR          write DIR/index.html and DIR/junit-scenarios.xml\n"
		"  --fail SITE[@DOMAIN]:N  also fail occurrence N of a fault site (of those\n"
		"                        involving DOMAIN): a fault sweep's replay\n"
		"  --nemesis LINE        one more timed action, as a file line (nemesis sweep\n"
		"                        replay): 'when guest:device/vbd/51712/state == InitWait\n"
		"                        restart storage'; once it fired, a clean error passes\n"
		"  --max-steps N         instead of the file's max-steps (a nemesis sweep's bound)\n"
		"  --access-points       (build-access/xensim) every driver access to a ring\n"
		"                        index is a scheduling point (det mode)\n"
		"  --access-points-all   every driver access to shared memory is one\n"
		"  --access-report FILE  (build-access/xensim) the code locations that touched\n"
		"                        shared memory, as text (or JSON: FILE.json)\n"
		"  --access-jump         (build-access/xensim) move one re-read of a peer's\n"
		"                        producer index past the ring (the seed picks which),\n"
		"                        as a hostile peer could; a driver then reading the\n"
		"                        ring's slots used the index unchecked: the run fails\n"
		"exit: 0 pass, 1 a failure of the code under test, 2 usage, 3 harness error\n");
}

/* SITE:N, or SITE@DOMAIN:N (aimed, as `xensim sweep --faults --aim` prints). */
static int run_fail_opt(struct run_cli *c, const char *arg)
{
	static char site[64];
	const char *colon = strrchr(arg, ':');

	if (!colon || (size_t)(colon - arg) >= sizeof(site) || xensim_parse_u64(colon + 1, &c->o.sweep_nth) < 0 ||
	    c->o.sweep_nth == 0)
		return -EINVAL;
	snprintf(site, sizeof(site), "%.*s", (int)(colon - arg), arg);
	char *at = strchr(site, '@');
	if (at) {
		*at = '\0';
		if (!at[1] || !site[0])
			return -EINVAL;
		c->o.sweep_aim = at + 1;
	}
	c->o.sweep_site = site;
	return 0;
}

static int run_opt(void *ctx, int opt, const char *arg)
{
	struct run_cli *c = ctx;
	uint64_t v;

	switch (opt) {
	case 's': c->o.seed_set = true; return xensim_parse_u64(arg, &c->o.seed);
	case 'S': c->seeds_set = true; return xensim_parse_range(arg, &c->seed_first, &c->seed_last);
	case 'm': return xensim_parse_mode(arg, &c->o.mode);
	case 'p': return xensim_parse_policy(arg, &c->o.policy, &c->o.pct_depth);
	case 't': c->o.trace_path = arg; return 0;
	case 'd': c->check_det = true; return 0;
	case 'c': c->category = arg; return 0;
	case 'a': c->all = true; return 0;
	case 'r': c->report_dir = arg; return 0;
	case 'J': c->junit = arg; return 0;
	case 'q': c->o.quiet = true; return 0;
	case 'v': c->verbose = true; return 0;
	case 'f': return run_fail_opt(c, arg);
	case 'n': c->nemesis = arg; return 0;
	case 'M': return xensim_parse_u64_in(arg, 1, UINT64_MAX, &c->o.max_steps);
	case 'A': c->o.access_points = SIM_ACCESS_POINTS_RING; return 0;
	case 'B': c->o.access_points = SIM_ACCESS_POINTS_ALL; return 0;
	case 'R': c->o.access_report = arg; return 0;
	case 'K': c->o.access_jump = true; return 0;
	case 'j':
		if (xensim_parse_u64_in(arg, 1, RUN_JOBS_CLI_MAX, &v) < 0)
			return -EINVAL;
		c->jobs = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

static const struct xensim_opt run_opts[] = {
	{"seed", 's', "an unsigned integer"}, {"seeds", 'S', "A..B with A <= B, or N"},
	{"mode", 'm', "det or free"}, {"policy", 'p', "random or pct:D with D 1..16"},
	{"trace", 't', "a file path"}, {"check-determinism", 'd', NULL},
	{"category", 'c', "functional, fault, race, regression or in-development"},
	{"all", 'a', NULL}, {"report", 'r', "a directory"}, {"junit", 'J', "a file path"},
	{"quiet", 'q', NULL}, {"verbose", 'v', NULL}, {"fail", 'f', "SITE:N or SITE@DOMAIN:N with N >= 1"},
	{"nemesis", 'n', "a scenario line"}, {"max-steps", 'M', "1..2^64-1"},
	{"access-points", 'A', NULL}, {"access-points-all", 'B', NULL}, {"access-jump", 'K', NULL},
	{"access-report", 'R', "a file path (.json for JSON)"}, {NULL, 'j', "1..64"}, {0},
};

static int run_parse_cli(struct run_cli *c, int argc, char **argv)
{
	const struct xensim_cli cli = {
		.cmd = "run", .opts = run_opts, .apply = run_opt, .ctx = c, .usage = run_usage,
		.args_min = 1, .args_max = RUN_FILES_MAX, .args_what = "no scenario file given",
	};

	c->o.mode = c->o.policy = -1;
	c->jobs = 1;
	int first = xensim_getopt(&cli, argc, argv);
	if (first < 0)
		return first == -ECANCELED ? 1 : -EINVAL;
	c->files = argv + first;
	c->nfiles = (unsigned)(argc - first);
	if (c->seeds_set && c->o.seed_set) {
		fprintf(stderr, "xensim run: --seed and --seeds exclude each other\n");
		run_usage(stderr);
		return -EINVAL;
	}
	if (c->category && xensim_parse_category("run", c->category) < 0)
		return -EINVAL;
	if (c->check_det && c->o.mode == SIM_MODE_FREE) {
		fprintf(stderr, "xensim run: --check-determinism needs det mode: free-running threads "
			"have no reproducible trace hash\n");
		return -EINVAL;
	}
	return 0;
}

/* ---- the scenario set ---- */

struct run_set {
	struct scenario **s;
	unsigned n;
	struct scn_report_row *bad;   /* files that did not parse: a row each */
	unsigned parse_errors;
};

/* A file that could not be read or parsed is a row of its own (a JUnit
 * <error>, a line in the table and the HTML), never silently left out. */
static void set_bad(struct run_set *set, const char *path, const char *err)
{
	fprintf(stderr, "%s\n", err);
	if (set->bad && set->parse_errors < RUN_FILES_MAX) {
		struct scn_report_row *r = &set->bad[set->parse_errors];
		*r = (struct scn_report_row){.path = strdup(path), .category = "-", .description = ""};
		r->result.verdict = SCN_VERDICT_HARNESS;
		r->result.outcome = SCN_OUT_HARNESS;
		snprintf(r->result.reason, sizeof(r->result.reason), "the file does not parse: %s", err);
		snprintf(r->replay, sizeof(r->replay), "xensim run %s", path);
	}
	set->parse_errors++;
}

static void set_add(struct run_set *set, const struct run_cli *c, const char *path, bool from_dir)
{
	char err[SCN_ERR_MAX];
	struct scenario *s;

	if (set->n == RUN_FILES_MAX)
		return;
	if (scn_parse_file(path, &s, err, sizeof(err)) < 0) {
		set_bad(set, path, err);
		return;
	}
	if (c->nemesis && scn_add_nemesis(s, c->nemesis, err, sizeof(err)) < 0) {
		char msg[SCN_ERR_MAX + 256];
		snprintf(msg, sizeof(msg), "%s: %s", path, err);
		set_bad(set, path, msg);
		scn_free(s);
		return;
	}
	const char *cat = scn_category_name(scn_category(s));
	bool skip = (c->category && strcmp(c->category, cat) != 0) ||
		    (from_dir && !c->all && !c->category && scn_category(s) == SCN_CAT_INDEV);
	if (skip)
		scn_free(s);
	else
		set->s[set->n++] = s;
}

static int set_load(struct run_set *set, const struct run_cli *c)
{
	set->s = calloc(RUN_FILES_MAX, sizeof(*set->s));
	set->bad = calloc(RUN_FILES_MAX, sizeof(*set->bad));
	if (!set->s || !set->bad)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nfiles; i++) {
		struct stat st;
		if (stat(c->files[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			char **paths;
			unsigned n;
			int rc = scn_corpus_list(c->files[i], &paths, &n);
			if (rc < 0) {
				char msg[512];
				snprintf(msg, sizeof(msg), "xensim run: %s: %s", c->files[i], strerror(-rc));
				set_bad(set, c->files[i], msg);
				continue;
			}
			for (unsigned k = 0; k < n; k++) {
				set_add(set, c, paths[k], true);
				free(paths[k]);
			}
			free(paths);
		} else {
			set_add(set, c, c->files[i], false);
		}
	}
	return 0;
}

static void set_free(struct run_set *set)
{
	for (unsigned i = 0; i < set->n; i++)
		scn_free(set->s[i]);
	for (unsigned i = 0; set->bad && i < set->parse_errors && i < RUN_FILES_MAX; i++)
		free((char *)set->bad[i].path);
	free(set->s);
	free(set->bad);
}

/* ---- one run ---- */

static int exit_of(const struct scn_result *r)
{
	if (r->verdict == SCN_VERDICT_HARNESS)
		return XENSIM_EXIT_HARNESS;
	return r->verdict == SCN_VERDICT_FAIL ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
}

/* A trace that cannot be written is a usage error, found before the run. */
static int trace_writable(const char *path)
{
	FILE *f = path ? fopen(path, "w") : NULL;

	if (path && !f) {
		fprintf(stderr, "xensim run: --trace: cannot write %s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (f)
		fclose(f);
	return 0;
}

static int run_single(const struct scenario *s, struct run_cli *c)
{
	struct scn_result a, b;

	if (trace_writable(c->o.trace_path) < 0)
		return XENSIM_EXIT_USAGE;
	if (scn_run_isolated_log(s, &c->o, &a, c->verbose) < 0) {
		fprintf(stderr, "xensim run: cannot start a run: %s\n", strerror(errno));
		return XENSIM_EXIT_HARNESS;
	}
	xensim_print_result(s, &c->o, &a);
	if (!c->check_det)
		return exit_of(&a);
	if (a.mode != SIM_MODE_DET) {
		fprintf(stderr, "xensim run: --check-determinism: the scenario runs in free mode\n");
		return XENSIM_EXIT_USAGE;
	}
	struct scn_run_opts o2 = c->o;
	o2.trace_path = NULL;
	o2.seed_set = true;
	o2.seed = a.seed;
	if (scn_run_isolated_log(s, &o2, &b, false) < 0)
		return XENSIM_EXIT_HARNESS;
	if (a.trace_hash != b.trace_hash || a.steps != b.steps || a.verdict != b.verdict) {
		printf("NONDETERMINISTIC %s seed=%lu: trace-hash 0x%016lx vs 0x%016lx, steps %lu vs %lu\n",
		       scn_path(s), a.seed, a.trace_hash, b.trace_hash, a.steps, b.steps);
		return XENSIM_EXIT_HARNESS;
	}
	printf("deterministic: a second run gave the same trace-hash=0x%016lx in %lu steps\n",
	       b.trace_hash, b.steps);
	return exit_of(&a);
}

static int run_suite(const struct run_set *set, struct run_cli *c);

int cmd_run(int argc, char **argv)
{
	struct run_cli c = {0};
	struct run_set set = {0};
	int rc = run_parse_cli(&c, argc, argv);

	if (rc != 0)
		return rc > 0 ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	if (set_load(&set, &c) < 0)
		return XENSIM_EXIT_HARNESS;
	bool suite = set.n + set.parse_errors > 1 || c.seeds_set || c.report_dir || c.junit ||
		     c.nfiles > 1 || c.category;
	bool only_bad = set.n == 0 && set.parse_errors && !c.report_dir && !c.junit;
	if (suite && c.o.trace_path) {
		fprintf(stderr, "xensim run: --trace takes one scenario and one seed\n");
		rc = XENSIM_EXIT_USAGE;
	} else if (set.n + set.parse_errors == 0) {
		fprintf(stderr, "xensim run: no scenario to run%s%s\n", c.category ? " in category " : "",
			c.category ? c.category : "");
		rc = XENSIM_EXIT_USAGE;
	} else if (only_bad) {
		rc = XENSIM_EXIT_USAGE;
	} else if (!suite) {
		rc = run_single(set.s[0], &c);
	} else {
		rc = run_suite(&set, &c);
		if (set.parse_errors && rc == XENSIM_EXIT_PASS)
			rc = XENSIM_EXIT_USAGE;
	}
	set_free(&set);
	return rc;
}

/* ---- many runs: progress, summary, reports ---- */

struct suite {
	struct scn_job *jobs;
	struct scn_report_row *rows;   /* n runs, then nbad files that did not parse */
	char (*tl)[64];
	unsigned n, nbad, done;
	bool capture_tail;
};

static void suite_progress(struct scn_job *job, void *arg)
{
	struct suite *su = arg;
	unsigned i = (unsigned)(job - su->jobs);
	char replay[SCN_MSG_MAX], tail[2048];

	su->done++;
	printf("[%3u/%u] %-5s %-6s %-52s seed=%-5lu %7.2fs\n", su->done, su->n,
	       scn_verdict_name(job->r.verdict), scn_outcome_name(job->r.outcome), scn_path(job->s),
	       job->r.seed, job->r.wall_s);
	scn_replay_command(job->s, &job->o, &job->r, replay, sizeof(replay));
	snprintf(su->rows[i].replay, sizeof(su->rows[i].replay), "%s", replay);
	su->rows[i].result = job->r;
	if (job->r.verdict == SCN_VERDICT_PASS)
		return;
	printf("          %s\n          replay: %s\n", job->r.reason, replay);
	scn_job_tail(job, 6, tail, sizeof(tail));
	for (char *save = NULL, *l = strtok_r(tail, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		printf("          | %s\n", l);
}

/* Seeds of scenario s in a suite: A..B, but a file that pins its seed runs
 * at that seed only (it means something only there: `expect hang`, say). */
static uint64_t suite_seeds(const struct scenario *s, bool seeds_set, uint64_t first, uint64_t last)
{
	return seeds_set && !scn_seed_pinned(s, NULL) ? last - first + 1 : 1;
}

static void suite_job(struct suite *su, unsigned j, struct scenario *s, const struct scn_run_opts *o,
		      bool seed_set, uint64_t seed)
{
	struct scn_job *job = &su->jobs[j];

	*job = (struct scn_job){.s = s, .o = *o, .capture = true};
	job->o.quiet = true;
	if (seed_set) {
		job->o.seed_set = true;
		job->o.seed = seed;
	}
	snprintf(su->tl[j], sizeof(su->tl[j]), "/tmp/xensim-tl-%d-%u.svg", (int)getpid(), j);
	job->o.timeline_path = su->tl[j];
	su->rows[j] = (struct scn_report_row){.path = scn_path(s),
					      .category = scn_category_name(scn_category(s)),
					      .description = scn_description(s)};
}

static int suite_jobs(struct suite *su, struct scenario **s, unsigned n, const struct scn_run_opts *o,
		      bool seeds_set, uint64_t first, uint64_t last)
{
	uint64_t total = 0;

	if (seeds_set && last - first >= RUN_SEEDS_MAX)
		return -E2BIG;
	for (unsigned i = 0; i < n; i++)
		total += suite_seeds(s[i], seeds_set, first, last);
	if (total > RUN_JOBS_MAX)
		return -E2BIG;
	su->n = (unsigned)total;
	su->jobs = calloc(su->n, sizeof(*su->jobs));
	su->rows = calloc(su->n + su->nbad, sizeof(*su->rows));
	su->tl = calloc(su->n, sizeof(*su->tl));
	if (!su->jobs || !su->rows || !su->tl)
		return -ENOMEM;
	unsigned j = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t per = suite_seeds(s[i], seeds_set, first, last);
		for (uint64_t k = 0; k < per; k++)
			suite_job(su, j++, s[i], o, seeds_set && !scn_seed_pinned(s[i], NULL), first + k);
	}
	return 0;
}

/* Run every job a second time and compare (det mode only). */
static unsigned suite_check_determinism(struct suite *su, unsigned parallel)
{
	struct scn_job *twins = calloc(su->n, sizeof(*twins));
	unsigned bad = 0;

	if (!twins)
		return su->n;
	for (unsigned i = 0; i < su->n; i++) {
		twins[i] = (struct scn_job){.s = su->jobs[i].s, .o = su->jobs[i].o, .capture = true};
		twins[i].o.timeline_path = NULL;
		twins[i].o.seed_set = true;
		twins[i].o.seed = su->jobs[i].r.seed;
	}
	scn_jobs_run(twins, su->n, parallel, NULL, NULL);
	for (unsigned i = 0; i < su->n; i++) {
		const struct scn_result *a = &su->jobs[i].r, *b = &twins[i].r;
		if (a->mode != SIM_MODE_DET)
			continue;
		if (a->trace_hash != b->trace_hash || a->steps != b->steps || a->verdict != b->verdict) {
			printf("NONDETERMINISTIC %s seed=%lu: trace-hash 0x%016lx vs 0x%016lx, steps %lu vs %lu\n",
			       scn_path(su->jobs[i].s), a->seed, a->trace_hash, b->trace_hash, a->steps, b->steps);
			bad++;
		}
	}
	printf("determinism: %u of %u runs repeated with the same trace hash\n", su->n - bad, su->n);
	free(twins);
	return bad;
}

static void suite_table(const struct suite *su)
{
	unsigned pass = 0, fail = 0, err = 0;
	double wall = 0;

	printf("\n%-56s %-14s %4s %4s %4s %8s\n", "scenario", "category", "runs", "pass", "fail", "time");
	for (unsigned i = 0; i < su->n;) {
		unsigned j = i, p = 0, f = 0;
		double t = 0;
		for (; j < su->n && su->jobs[j].s == su->jobs[i].s; j++) {
			p += su->rows[j].result.verdict == SCN_VERDICT_PASS;
			f += su->rows[j].result.verdict != SCN_VERDICT_PASS;
			err += su->rows[j].result.verdict == SCN_VERDICT_HARNESS;
			t += su->rows[j].result.wall_s;
		}
		printf("%-56s %-14s %4u %4u %4u %7.2fs%s\n", su->rows[i].path, su->rows[i].category, j - i, p,
		       f, t, f ? "  FAIL" : "");
		pass += p;
		fail += f;
		wall += t;
		i = j;
	}
	for (unsigned i = su->n; i < su->n + su->nbad; i++) {
		printf("%-56s %-14s %4u %4u %4u %7.2fs  PARSE ERROR\n", su->rows[i].path, "-", 1, 0, 1, 0.0);
		err++;
		fail++;
	}
	printf("%u runs: %u passed, %u failed (%u harness errors), %.1fs of runs\n", su->n + su->nbad,
	       pass, fail - err, err, wall);
}

static void suite_timelines(struct suite *su)
{
	for (unsigned i = 0; i < su->n; i++) {
		FILE *f = fopen(su->tl[i], "r");
		if (!f)
			continue;
		char *buf = NULL;
		size_t cap = 0;
		if (getdelim(&buf, &cap, '\0', f) > 0)
			su->rows[i].timeline_svg = buf;
		else
			free(buf);
		fclose(f);
		unlink(su->tl[i]);
	}
}

static int suite_reports(struct suite *su, const char *dir, const char *junit)
{
	char path[512];
	int rc = 0;

	if (dir) {
		mkdir(dir, 0755);
		snprintf(path, sizeof(path), "%s/index.html", dir);
		rc = scn_report_html(path, su->rows, su->n + su->nbad);
		if (rc == 0)
			printf("report: %s\n", path);
		snprintf(path, sizeof(path), "%s/junit-scenarios.xml", dir);
		if (!junit)
			junit = path;
	}
	if (rc == 0 && junit) {
		rc = scn_report_junit(junit, su->rows, su->n + su->nbad);
		if (rc == 0)
			printf("junit: %s\n", junit);
	}
	if (rc < 0)
		fprintf(stderr, "xensim run: cannot write the report: %s\n", strerror(-rc));
	return rc;
}

static void suite_free(struct suite *su)
{
	for (unsigned i = 0; su->rows && i < su->n; i++)
		free((char *)su->rows[i].timeline_svg);
	free(su->jobs);
	free(su->rows);
	free(su->tl);
}

static int run_suite(const struct run_set *set, struct run_cli *c)
{
	struct suite su = {.nbad = set->parse_errors < RUN_FILES_MAX ? set->parse_errors : RUN_FILES_MAX};
	int rc = suite_jobs(&su, set->s, set->n, &c->o, c->seeds_set, c->seed_first, c->seed_last);
	unsigned jobs = c->jobs;
	const char *report_dir = c->report_dir, *junit = c->junit;
	bool check_det = c->check_det;
	int ex = XENSIM_EXIT_PASS;

	if (rc < 0) {
		fprintf(stderr, "xensim run: %s\n", rc == -E2BIG ? "too many runs" : strerror(-rc));
		suite_free(&su);
		return rc == -E2BIG ? XENSIM_EXIT_USAGE : XENSIM_EXIT_HARNESS;
	}
	for (unsigned i = 0; i < su.nbad; i++)
		su.rows[su.n + i] = set->bad[i];   /* the path stays owned by the set */
	rc = scn_jobs_run(su.jobs, su.n, jobs, suite_progress, &su);
	suite_timelines(&su);
	suite_table(&su);
	for (unsigned i = 0; i < su.n; i++) {
		int e = exit_of(&su.rows[i].result);
		if (e == XENSIM_EXIT_HARNESS || (e == XENSIM_EXIT_FAIL && ex == XENSIM_EXIT_PASS))
			ex = e;
	}
	if (check_det && suite_check_determinism(&su, jobs))
		ex = XENSIM_EXIT_HARNESS;
	if ((report_dir || junit) && suite_reports(&su, report_dir, junit) < 0)
		ex = XENSIM_EXIT_HARNESS;
	if (rc < 0)
		ex = XENSIM_EXIT_HARNESS;
	suite_free(&su);
	return ex;
}
