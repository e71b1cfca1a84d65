/*
 * Sweeps. A seed sweep runs a seed range (a shard of it: seed s belongs to
 * shard (s - first) % count, so that shards partition the range and a CI
 * matrix or GNU parallel can spread it) with -j worker processes, each run
 * isolated; a worker runs seed after seed while they pass cleanly
 * (workers.c), which is most of a sweep's speed. A fault sweep is SQLite's: for every site the baseline run
 * reaches, fail occurrence 1, then 2, 3, ... of it, until a run never reaches
 * that occurrence; every such run must end in a pass or a clean error, with
 * every oracle holding.
 */
#include <errno.h>
#include <fnmatch.h>
#include <string.h>

#include "sim/scenario/scn_internal.h"

#define SWEEP_BATCH_RUNS 256u          /* runs prepared at once */
#define FAULT_SWEEP_PER_SITE_DEFAULT 200u
#define SWEEP_TAIL_LINES 8u

bool scn_shard_has(uint64_t first, uint64_t seed, unsigned index, unsigned count)
{
	if (count <= 1)
		return true;
	return (seed - first) % count == index;
}

static void sweep_report_failure(struct scn_job *job)
{
	char line[SCN_MSG_MAX * 2], replay[SCN_MSG_MAX], tail[2048];

	scn_result_line(job->s, &job->o, &job->r, line, sizeof(line));
	scn_replay_command(job->s, &job->o, &job->r, replay, sizeof(replay));
	printf("%s\n    %s\n    replay: %s\n", line, job->r.reason, replay);
	scn_job_tail(job, SWEEP_TAIL_LINES, tail, sizeof(tail));
	if (tail[0]) {
		printf("    last output of the run:\n");
		for (char *save = NULL, *l = strtok_r(tail, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
			printf("      | %s\n", l);
	}
}

struct sweep_ctx {
	const struct scn_sweep_opts *o;
	struct scn_sweep_stats *st;
};

static void sweep_done(struct scn_job *job, void *arg)
{
	struct sweep_ctx *c = arg;
	struct scn_sweep_stats *st = c->st;
	bool failed = job->r.verdict != SCN_VERDICT_PASS;

	st->runs++;
	st->passed += !failed;
	st->failed += job->r.verdict == SCN_VERDICT_FAIL;
	st->harness += job->r.verdict == SCN_VERDICT_HARNESS;
	if (failed && (st->failed + st->harness == 1 || job->r.seed < st->first_failed_seed))
		st->first_failed_seed = job->r.seed;
	if (!failed && c->o->find && (!st->found || job->r.seed < st->found_seed)) {
		st->found = true;
		st->found_seed = job->r.seed;
	}
	if (failed && !c->o->find)
		sweep_report_failure(job);
	else if (!c->o->quiet && !c->o->find) {
		char line[SCN_MSG_MAX * 2];
		scn_result_line(job->s, &job->o, &job->r, line, sizeof(line));
		printf("%s\n", line);
	}
}

int scn_sweep(const struct scenario *s, const struct scn_sweep_opts *o,
	      struct scn_sweep_stats *st)
{
	struct scn_job *jobs = calloc(SWEEP_BATCH_RUNS, sizeof(*jobs));
	struct sweep_ctx ctx = {.o = o, .st = st};
	uint64_t seed = o->seed_first;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!jobs)
		return -ENOMEM;
	while (rc == 0 && seed <= o->seed_last && !(o->find && st->found)) {
		unsigned n = 0;
		for (; n < SWEEP_BATCH_RUNS && seed <= o->seed_last; seed++) {
			if (!scn_shard_has(o->seed_first, seed, o->shard_index, o->shard_count))
				continue;
			jobs[n] = (struct scn_job){.s = s, .o = o->run, .capture = true};
			jobs[n].o.seed_set = true;
			jobs[n].o.seed = seed;
			jobs[n].o.quiet = true;
			n++;
			if (seed == UINT64_MAX)
				break;
		}
		rc = scn_jobs_run_reusing(jobs, n, o->jobs, sweep_done, &ctx);
		if (seed == UINT64_MAX)
			break;
	}
	free(jobs);
	return rc;
}

/* ---- fault sweep ---- */

/* Sites a whole-scenario sweep leaves out, and why. Each is still swept when
 * named (--site), and a scenario can still arm it with a `fault` line. */
static const struct {
	const char *pattern;   /* fnmatch(3) */
	const char *why;
} fault_sweep_skips[] = {
	{"evtchn.notify.drop", "Xen never drops a notification: every drop is a lost wakeup by "
	 "construction, which only a timeout recovers"},
	{"*.hostile.*", "a hostile peer's lies: the scenario's adversary, aimed by its own lines, "
	 "not a fault of the environment"},
};

const char *scn_fault_sweep_left_out(const char *site)
{
	for (size_t i = 0; i < sizeof(fault_sweep_skips) / sizeof(fault_sweep_skips[0]); i++)
		if (fnmatch(fault_sweep_skips[i].pattern, site, 0) == 0)
			return fault_sweep_skips[i].why;
	return NULL;
}

/* A scenario a fault sweep cannot judge: one that expects a hang, an error or
 * a failure (its pass is that), or one whose attacker's answers it counts
 * exactly (an injected fault changes those counts by design; the nemesis
 * sweep covers it). NULL: sweep it. */
static const char *fault_sweep_unjudged(const struct scenario *s, const struct scn_result *base)
{
	if (s->expect != SCN_EXPECT_PASS)
		return "it expects a hang, an error or a failure";
	if (base && base->attacker)
		return "it runs an attacker and counts its answers: a fault changes those counts "
		       "by design; sweep it with --nemesis, or name a site with --site";
	return NULL;
}

static bool fault_sweep_skipped(const struct scenario *s, const struct scn_result *base,
				struct scn_fault_sweep_stats *st)
{
	const char *why = fault_sweep_unjudged(s, base);

	if (why) {
		printf("fault sweep of %s: skipped (%s)\n", s->path, why);
		st->skipped = true;
	}
	return why != NULL;
}

static struct sim_fault_site *site_at(unsigned index)
{
	struct sim_fault_site *f = sim_fault_site_first();

	for (unsigned i = 0; f && i < index; i++)
		f = f->next;
	return f;
}

static void fault_sweep_done(struct scn_job *job, void *arg)
{
	unsigned *failed = arg;

	if (job->r.verdict != SCN_VERDICT_PASS) {
		(*failed)++;
		sweep_report_failure(job);   /* while its output is still there */
	}
}

/* One site (aimed at a domain, or anywhere): occurrence 1, 2, ... until a
 * run does not reach it. */
static int fault_sweep_site(const struct scenario *s, struct sim_fault_site *site,
			    uint64_t reached, unsigned max, const struct scn_run_opts *run,
			    struct scn_fault_sweep_stats *st)
{
	unsigned failed = 0, runs = 0;

	for (uint64_t k = 1; k <= max; k++) {
		struct scn_job job = {.s = s, .o = *run, .capture = true};
		job.o.sweep_site = site->name;
		job.o.sweep_nth = k;
		int rc = scn_jobs_run(&job, 1, 1, fault_sweep_done, &failed);
		if (rc < 0)
			return rc;
		runs++;
		/* That occurrence never came: nothing was injected (an aimed
		 * site counts every occurrence but fires on matching ones). */
		if (job.r.sweep_occurrences < k || (run->sweep_aim && job.r.sweep_injected == 0))
			break;
	}
	printf("  %-28s %s%-10s reached %4lu times in the baseline; %3u runs, %u failed\n",
	       site->name, run->sweep_aim ? "on " : "", run->sweep_aim ? run->sweep_aim : "",
	       reached, runs, failed);
	st->runs += runs;
	st->failed += failed;
	return 0;
}

static int fault_sweep_all(const struct scenario *s, const char *only_site,
			   unsigned max_per_site, const struct scn_run_opts *run,
			   struct scn_fault_sweep_stats *st, bool aimed);

int scn_fault_sweep(const struct scenario *s, const char *only_site, unsigned max_per_site,
		    const struct scn_run_opts *run, struct scn_fault_sweep_stats *st)
{
	return fault_sweep_all(s, only_site, max_per_site, run, st, false);
}

int scn_fault_sweep_aimed(const struct scenario *s, const char *only_site, unsigned max_per_site,
			  const struct scn_run_opts *run, struct scn_fault_sweep_stats *st)
{
	return fault_sweep_all(s, only_site, max_per_site, run, st, true);
}

/* A reached site, anywhere or aimed at each domain in turn. */
static int fault_sweep_one(const struct scenario *s, struct sim_fault_site *site, uint64_t reached,
			   unsigned max, const struct scn_run_opts *run,
			   struct scn_fault_sweep_stats *st, bool aimed)
{
	struct scn_run_opts o = *run;
	int rc = 0;

	if (!aimed)
		return fault_sweep_site(s, site, reached, max, run, st);
	for (unsigned d = 0; d < s->ndoms && rc == 0; d++) {
		o.sweep_aim = s->doms[d].name;
		rc = fault_sweep_site(s, site, reached, max, &o, st);
	}
	return rc;
}

static int fault_sweep_all(const struct scenario *s, const char *only_site,
			   unsigned max_per_site, const struct scn_run_opts *run,
			   struct scn_fault_sweep_stats *st, bool aimed)
{
	struct scn_result base;
	unsigned i = 0;

	memset(st, 0, sizeof(*st));
	if (!max_per_site)
		max_per_site = FAULT_SWEEP_PER_SITE_DEFAULT;
	if (!only_site && fault_sweep_skipped(s, NULL, st))
		return 0;
	int rc = scn_run_isolated_log(s, run, &base, false);
	if (rc < 0)
		return rc;
	if (base.verdict != SCN_VERDICT_PASS) {
		printf("baseline run fails already: %s\n", base.reason);
		st->failed++;
		return 0;
	}
	if (!only_site && fault_sweep_skipped(s, &base, st))
		return 0;
	for (struct sim_fault_site *f = sim_fault_site_first(); f && i < SCN_SITES_MAX; f = f->next, i++) {
		if (only_site && strcmp(only_site, f->name) != 0)
			continue;
		if (base.site_occurrences[i] == 0)
			continue;
		const char *why = only_site ? NULL : scn_fault_sweep_left_out(f->name);
		if (why) {
			printf("  %-28s left out: %s\n", f->name, why);
			st->left_out++;
			continue;
		}
		st->sites++;
		rc = fault_sweep_one(s, site_at(i), base.site_occurrences[i], max_per_site, run, st,
				     aimed);
		if (rc < 0)
			return rc;
	}
	return 0;
}
