/*
 * `xensim run`: run scenario files. One file and one seed: the run's own
 * output, then its verdict line (seed and trace hash; for a failure, the
 * reason and the command that replays it). Several files, directories or
 * seeds: a progress line per run, a summary table, and with --report the
 * JUnit XML and HTML report. Every run is isolated in a child process.
 * The option helpers here are shared by sweep and shrink (tools/xensim.h).
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
#define RUN_SEEDS_MAX 100000u

/* ---- helpers shared with sweep and shrink ---- */

int xensim_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int xensim_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
	const char *dots = strstr(s, "..");
	char a[32];

	if (!dots || (size_t)(dots - s) >= sizeof(a))
		return -EINVAL;
	snprintf(a, sizeof(a), "%.*s", (int)(dots - s), s);
	if (xensim_parse_u64(a, first) < 0 || xensim_parse_u64(dots + 2, last) < 0 || *last < *first)
		return -EINVAL;
	return 0;
}

int xensim_parse_mode(const char *s, int *mode)
{
	if (strcmp(s, "det") == 0)
		*mode = SIM_MODE_DET;
	else if (strcmp(s, "free") == 0)
		*mode = SIM_MODE_FREE;
	else
		return -EINVAL;
	return 0;
}

int xensim_parse_policy(const char *s, int *policy, unsigned *depth)
{
	enum sim_policy p;
	int rc = scn_parse_policy(s, &p, depth);

	if (rc == 0)
		*policy = (int)p;
	return rc;
}

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
		"                  [--access-points[-all]] [--access-report FILE]\n"
		"  Run scenarios (a directory: every *.scn under it but in-development ones,\n"
		"  unless --all). Without --seed a file's `seed` line (else 1) is used;\n"
		"  with --seeds A..B, a file that pins its seed still runs that seed only\n"
		"  (use --seed N or `xensim sweep` to run it at others).\n"
		"  --trace FILE          every trace event of the run (one run only)\n"
		"  --check-determinism   run twice, compare the trace hashes (det mode)\n"
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

static int run_opt(struct run_cli *c, int opt, const char *arg)
{
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
	case 'f': return run_fail_opt(c, arg);
	case 'n': c->nemesis = arg; return 0;
	case 'M': return xensim_parse_u64(arg, &c->o.max_steps) < 0 || !c->o.max_steps ? -EINVAL : 0;
	case 'A': c->o.access_points = SIM_ACCESS_POINTS_RING; return 0;
	case 'B': c->o.access_points = SIM_ACCESS_POINTS_ALL; return 0;
	case 'R': c->o.access_report = arg; return 0;
	case 'j':
		if (xensim_parse_u64(arg, &v) < 0 || v == 0 || v > 64)
			return -EINVAL;
		c->jobs = (unsigned)v;
		return 0;
	}
	return -EINVAL;
}

static int run_parse_cli(struct run_cli *c, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"seed", required_argument, NULL, 's'}, {"seeds", required_argument, NULL, 'S'},
		{"mode", required_argument, NULL, 'm'}, {"policy", required_argument, NULL, 'p'},
		{"trace", required_argument, NULL, 't'}, {"check-determinism", no_argument, NULL, 'd'},
		{"category", required_argument, NULL, 'c'}, {"all", no_argument, NULL, 'a'},
		{"report", required_argument, NULL, 'r'}, {"junit", required_argument, NULL, 'J'},
		{"quiet", no_argument, NULL, 'q'}, {"fail", required_argument, NULL, 'f'},
		{"nemesis", required_argument, NULL, 'n'}, {"max-steps", required_argument, NULL, 'M'},
		{"access-points", no_argument, NULL, 'A'}, {"access-points-all", no_argument, NULL, 'B'},
		{"access-report", required_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	int opt;

	c->o.mode = c->o.policy = -1;
	c->jobs = 1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "j:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			run_usage(stdout);
			return 1;
		}
		if (opt == '?' || run_opt(c, opt, optarg) < 0) {
			if (opt != '?')
				fprintf(stderr, "xensim run: bad value '%s' for an option\n", optarg ? optarg : "");
			run_usage(stderr);
			return -EINVAL;
		}
	}
	c->files = argv + optind;
	c->nfiles = (unsigned)(argc - optind);
	if (c->nfiles == 0 || (c->seeds_set && c->o.seed_set)) {
		fprintf(stderr, "xensim run: %s\n", c->nfiles ? "--seed and --seeds exclude each other"
							   : "no scenario file");
		run_usage(stderr);
		return -EINVAL;
	}
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
	unsigned parse_errors;
};

static void set_add(struct run_set *set, const struct run_cli *c, const char *path, bool from_dir)
{
	char err[SCN_ERR_MAX];
	struct scenario *s;

	if (set->n == RUN_FILES_MAX)
		return;
	if (scn_parse_file(path, &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		set->parse_errors++;
		return;
	}
	if (c->nemesis && scn_add_nemesis(s, c->nemesis, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", path, err);
		scn_free(s);
		set->parse_errors++;
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
	if (!set->s)
		return -ENOMEM;
	for (unsigned i = 0; i < c->nfiles; i++) {
		struct stat st;
		if (stat(c->files[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			char **paths;
			unsigned n;
			int rc = scn_corpus_list(c->files[i], &paths, &n);
			if (rc < 0) {
				fprintf(stderr, "xensim run: %s: %s\n", c->files[i], strerror(-rc));
				set->parse_errors++;
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
	free(set->s);
}

/* ---- one run ---- */

static int exit_of(const struct scn_result *r)
{
	if (r->verdict == SCN_VERDICT_HARNESS)
		return XENSIM_EXIT_HARNESS;
	return r->verdict == SCN_VERDICT_FAIL ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
}

static int run_single(const struct scenario *s, struct run_cli *c)
{
	struct scn_result a, b;

	if (scn_run_isolated(s, &c->o, &a) < 0) {
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
	if (scn_run_isolated(s, &o2, &b) < 0)
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

int xensim_run_suite(struct scenario **s, unsigned n, struct scn_run_opts *o, bool seeds_set,
		     uint64_t first, uint64_t last, unsigned jobs, const char *report_dir,
		     const char *junit, bool check_det);

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
	if (suite && c.o.trace_path) {
		fprintf(stderr, "xensim run: --trace takes one scenario and one seed\n");
		rc = XENSIM_EXIT_USAGE;
	} else if (set.n == 0) {
		if (!set.parse_errors)
			fprintf(stderr, "xensim run: no scenario to run\n");
		rc = XENSIM_EXIT_USAGE;
	} else if (!suite) {
		rc = run_single(set.s[0], &c);
	} else {
		rc = xensim_run_suite(set.s, set.n, &c.o, c.seeds_set, c.seed_first, c.seed_last, c.jobs,
				      c.report_dir, c.junit, c.check_det);
		if (set.parse_errors && rc == XENSIM_EXIT_PASS)
			rc = XENSIM_EXIT_USAGE;
	}
	set_free(&set);
	return rc;
}

/* ---- many runs: progress, summary, reports ---- */

struct suite {
	struct scn_job *jobs;
	struct scn_report_row *rows;
	char (*tl)[64];
	unsigned n, done;
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
	su->rows = calloc(su->n, sizeof(*su->rows));
	su->tl = calloc(su->n, sizeof(*su->tl));
	if (!su->jobs || !su->rows || !su->tl)
		return -ENOMEM;
	unsigned j = 0;
	for (unsigned i = 0; i < n; i++) {
		uint64_t per = suite_seeds(s[i], seeds_set, first, last);
		for (uint64_t k = 0; k < per; k++)
			suite_job(su, j++, s[i], o, seeds_set && per > 1, first + k);
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
	printf("%u runs: %u passed, %u failed (%u harness errors), %.1fs of runs\n", su->n, pass,
	       fail - err, err, wall);
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
		rc = scn_report_html(path, su->rows, su->n);
		if (rc == 0)
			printf("report: %s\n", path);
		snprintf(path, sizeof(path), "%s/junit-scenarios.xml", dir);
		if (!junit)
			junit = path;
	}
	if (rc == 0 && junit) {
		rc = scn_report_junit(junit, su->rows, su->n);
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

int xensim_run_suite(struct scenario **s, unsigned n, struct scn_run_opts *o, bool seeds_set,
		     uint64_t first, uint64_t last, unsigned jobs, const char *report_dir,
		     const char *junit, bool check_det)
{
	struct suite su = {0};
	int rc = suite_jobs(&su, s, n, o, seeds_set, first, last);
	int ex = XENSIM_EXIT_PASS;

	if (rc < 0) {
		fprintf(stderr, "xensim run: %s\n", rc == -E2BIG ? "too many runs" : strerror(-rc));
		suite_free(&su);
		return rc == -E2BIG ? XENSIM_EXIT_USAGE : XENSIM_EXIT_HARNESS;
	}
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
