/*
 * Nemesis sweeps (Jepsen's nemesis, made exhaustive): from a baseline run,
 * learn every XenbusState each device end reaches (the trace's state events:
 * path and new state) and how many scheduling steps the run takes; then, for
 * each domain a toolstack could lose (every non-privileged one: dom0 and the
 * other privileged domains are the toolstack itself and are not targets) and
 * each action (crash, restart, destroy, outage: a crash with the domain back
 * a second later; unplug for a workload that has the
 * hook; suspend when a workload has that hook), fire that action once at each state each end reaches
 * (`when PATH == State ACTION TARGET`) and at every Nth step
 * (`after K steps ACTION TARGET`), each in its own isolated run.
 *
 * A point passes when its run passes or ends in a clean workload error (a
 * workload whose domain was taken away may give up, saying so). It fails on
 * an oracle failure (leak, illegal transition, corruption, memory fault), a
 * hang, a harness error or a death. Each failing point is printed with the
 * one command that replays it (`xensim run FILE --seed S --nemesis 'LINE'`).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/scn_internal.h"

#define NEM_POINTS_MAX 4096u            /* points of one sweep */
#define NEM_STATES_MAX 128u             /* (path, state) pairs the baseline shows */
#define NEM_BATCH 64u                   /* runs prepared at once */
/* Automatic --every: scheduling steps of all the runs together. The machine
 * runs some 50k-100k steps a second per core, so this is 10-20 s on two; counted in
 * steps, not seconds, so that the points (and so the verdict) of a sweep do
 * not depend on the machine's speed or on -j. */
#define NEM_BUDGET_STEPS 1500000.0
#define NEM_STEP_POINTS_MIN 4u          /* step points per target and action, at least */
#define NEM_STEP_POINTS_MAX 64u
/* Races cluster where the ends change state (a handshake, a close): besides
 * every Nth step, the steps within NEM_NEAR of each state write the baseline
 * makes, at most NEM_NEAR_POINTS_MAX per target and action. */
#define NEM_NEAR 12u
#define NEM_NEAR_POINTS_MAX 48u
#define NEM_EV_STEPS_MAX 256u
#define NEM_RUN_OVERHEAD_STEPS 1000.0   /* a fork and a result, per run */
#define NEM_WALL_LIMIT_S 120u           /* one point's run, wall clock */
#define NEM_TAIL_LINES 6u
/* A point's run may take this many times the baseline's steps (a reconnect
 * costs some), at least NEM_MAX_STEPS_MIN: past it, a livelock is a hang in
 * seconds rather than a run to the file's max-steps. */
#define NEM_MAX_STEPS_FACTOR 50u
#define NEM_MAX_STEPS_MIN 200000u

static const char *const nem_act_names[SCN_NEM_ACT_COUNT] = {
	[SCN_NEM_CRASH] = "crash", [SCN_NEM_RESTART] = "restart",
	[SCN_NEM_DESTROY] = "destroy", [SCN_NEM_UNPLUG] = "unplug", [SCN_NEM_SUSPEND] = "suspend",
	[SCN_NEM_PAUSE] = "pause", [SCN_NEM_OUTAGE] = "outage",
};
/* The scenario verb of an action's line, where it is not the action's name. */
static const char *const nem_act_verbs[SCN_NEM_ACT_COUNT] = {
	[SCN_NEM_OUTAGE] = "crash",
};
/* What follows the target in an action's line: a pause is undone after it,
 * longer than a notification's round trip and than netback's rx stall bound,
 * shorter than any driver's give-up timeout. An outage (a crash, the same
 * domain back a second later) lets the other ends act while it is gone:
 * a restart is one step, so they never see the gap. */
static const char *const nem_act_tails[SCN_NEM_ACT_COUNT] = {
	[SCN_NEM_PAUSE] = " for 3s", [SCN_NEM_OUTAGE] = " for 1s",
};

static const char *nem_act_verb(unsigned a)
{
	return nem_act_verbs[a] ? nem_act_verbs[a] : nem_act_names[a];
}

int scn_nemesis_parse_actions(const char *list, unsigned *mask)
{
	char buf[SCN_TEXT_MAX];
	char *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%s", list);
	*mask = 0;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		unsigned a = 0;
		while (a < SCN_NEM_ACT_COUNT && strcmp(t, nem_act_names[a]) != 0)
			a++;
		if (a == SCN_NEM_ACT_COUNT)
			return -EINVAL;
		*mask |= 1u << a;
	}
	return *mask ? 0 : -EINVAL;
}

/* ---- the baseline: states reached ---- */

struct nem_state {
	char path[SCN_TEXT_MAX];     /* DOMAIN:relative, as a scenario writes it */
	unsigned state;
};

struct nem_base {
	struct nem_state st[NEM_STATES_MAX];
	unsigned nst;
	uint64_t steps;
	uint64_t ev_steps[NEM_EV_STEPS_MAX];   /* steps of its state writes, ascending, distinct */
	unsigned nev;
};

/* The state's name, or NULL for a value no XenbusState has. */
static const char *state_name(unsigned s)
{
	return s <= SCN_XENBUS_STATE_LAST ? xenbus_state_name(s) : NULL;
}

/* /local/domain/ID/rest into NAME:rest (the domids are fixed at parse time). */
static void path_scenario(const struct scenario *s, const char *abs, char *out, size_t len)
{
	unsigned id;
	int used = 0;

	snprintf(out, len, "%.*s", (int)(SCN_TEXT_MAX - 1), abs);
	if (sscanf(abs, "/local/domain/%u/%n", &id, &used) != 1 || used == 0)
		return;
	for (unsigned i = 0; i < s->ndoms; i++)
		if (s->doms[i].domid == (int)id)
			snprintf(out, len, "%s:%.*s", s->doms[i].name, (int)(SCN_TEXT_MAX - SCN_NAME_MAX),
				 abs + used);
}

static void base_add(struct nem_base *b, const char *path, unsigned state)
{
	if (!state_name(state) || b->nst == NEM_STATES_MAX)
		return;
	for (unsigned i = 0; i < b->nst; i++)
		if (b->st[i].state == state && strcmp(b->st[i].path, path) == 0)
			return;
	snprintf(b->st[b->nst].path, sizeof(b->st[b->nst].path), "%s", path);
	b->st[b->nst++].state = state;
}

/* Trace lines: "STEP VTIME  state    domD FROM -> TO PATH", the states by
 * name (trace.c). */
static void base_read_trace(const struct scenario *s, FILE *f, struct nem_base *b)
{
	char line[512], from[32], to[32], path[256], rel[SCN_TEXT_MAX];
	unsigned d;
	unsigned long step;

	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lu %*s state dom%u %31s -> %31s %255s", &step, &d, from, to, path) != 5)
			continue;
		int state = scn_xenbus_state(to);
		if (state < 0)
			continue;
		path_scenario(s, path, rel, sizeof(rel));
		base_add(b, rel, (unsigned)state);
		if (b->nev < NEM_EV_STEPS_MAX && (b->nev == 0 || b->ev_steps[b->nev - 1] < step))
			b->ev_steps[b->nev++] = step;
	}
}

static int nem_baseline(const struct scenario *s, const struct scn_nemesis_opts *o,
			struct nem_base *b)
{
	char tpath[64];
	struct scn_job job = {.s = s, .o = o->run, .capture = true};

	snprintf(tpath, sizeof(tpath), "/tmp/xensim-nemesis-%d.trace", (int)getpid());
	job.o.trace_path = tpath;
	job.o.quiet = true;
	job.o.wall_limit_s = NEM_WALL_LIMIT_S;
	int rc = scn_jobs_run(&job, 1, 1, NULL, NULL);
	if (rc < 0)
		return rc;
	FILE *f = fopen(tpath, "r");
	if (f) {
		base_read_trace(s, f, b);
		fclose(f);
	}
	unlink(tpath);
	b->steps = job.r.steps;
	if (job.r.verdict != SCN_VERDICT_PASS) {
		char replay[SCN_MSG_MAX];
		scn_replay_command(s, &job.o, &job.r, replay, sizeof(replay));
		printf("baseline run fails already: %s\n    replay: %s\n", job.r.reason, replay);
		return -EINVAL;
	}
	return 0;
}

/* ---- points ---- */

struct nem_point {
	char line[SCN_LINE_BYTES_MAX];
	enum scn_nem_act act;
};

struct nem_plan {
	struct nem_point *p;
	unsigned n;
	bool full;
};

static void plan_add(struct nem_plan *pl, enum scn_nem_act act, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void plan_add(struct nem_plan *pl, enum scn_nem_act act, const char *fmt, ...)
{
	va_list ap;

	if (pl->n == NEM_POINTS_MAX) {
		pl->full = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(pl->p[pl->n].line, sizeof(pl->p[pl->n].line), fmt, ap);
	va_end(ap);
	pl->p[pl->n++].act = act;
}

static bool any_suspend_hook(const struct scenario *s)
{
	for (unsigned w = 0; w < s->nwls; w++)
		if (s->wls[w].type->suspend)
			return true;
	return false;
}

/* The targets of one action: non-privileged domains, or workloads that can
 * be unplugged; suspend only where a workload can be suspended. */
static unsigned plan_targets(const struct scenario *s, enum scn_nem_act act,
			     const char **names, unsigned max)
{
	unsigned n = 0;

	if (act == SCN_NEM_SUSPEND && !any_suspend_hook(s))
		return 0;
	if (act == SCN_NEM_UNPLUG) {
		for (unsigned w = 0; w < s->nwls && n < max; w++)
			if (s->wls[w].type->unplug)
				names[n++] = s->wls[w].id;
		return n;
	}
	/* A pause stops any domain, the privileged ones too (a backend in dom0). */
	for (unsigned d = 0; d < s->ndoms && n < max; d++)
		if (!s->doms[d].priv || act == SCN_NEM_PAUSE)
			names[n++] = s->doms[d].name;
	return n;
}

/* Steps between step points: chosen so that the sweep's runs take about
 * NEM_BUDGET_STEPS, within [MIN, MAX] step points per pair. */
static uint64_t plan_every(const struct nem_base *b, unsigned pairs)
{
	double runs = NEM_BUDGET_STEPS / ((double)b->steps + NEM_RUN_OVERHEAD_STEPS);
	double left = runs - (double)pairs * b->nst;
	double per_pair = pairs ? left / pairs : 0;
	unsigned k = per_pair < NEM_STEP_POINTS_MIN ? NEM_STEP_POINTS_MIN
		     : per_pair > NEM_STEP_POINTS_MAX ? NEM_STEP_POINTS_MAX : (unsigned)per_pair;
	uint64_t every = b->steps / (k + 1);

	return every ? every : 1;
}

/* The steps next to the baseline's state writes that are no Nth step. */
static void plan_near(struct nem_plan *pl, const struct nem_base *b, uint64_t every, enum scn_nem_act a,
		      const char *target)
{
	uint64_t last = 0;
	unsigned n = 0;

	for (unsigned i = 0; i < b->nev && n < NEM_NEAR_POINTS_MAX; i++) {
		uint64_t from = b->ev_steps[i] > NEM_NEAR ? b->ev_steps[i] - NEM_NEAR : 1;
		for (uint64_t k = from > last ? from : last + 1; k <= b->ev_steps[i] + NEM_NEAR && k < b->steps &&
		     n < NEM_NEAR_POINTS_MAX; k++) {
			last = k;
			if (k % every == 0)
				continue;
			plan_add(pl, a, "after %lu steps %s %s%s", k, nem_act_verb(a), target,
				 nem_act_tails[a] ? nem_act_tails[a] : "");
			n++;
		}
	}
}

static void plan_build(const struct scenario *s, const struct scn_nemesis_opts *o,
		       const struct nem_base *b, struct nem_plan *pl, uint64_t *every)
{
	const char *names[SCN_DOMAINS_MAX + SCN_WORKLOADS_MAX];
	unsigned pairs = 0;

	for (unsigned a = 0; a < SCN_NEM_ACT_COUNT; a++)
		if (o->actions & (1u << a))
			pairs += plan_targets(s, (enum scn_nem_act)a, names, SCN_DOMAINS_MAX);
	*every = o->every ? o->every : plan_every(b, pairs);
	for (unsigned a = 0; a < SCN_NEM_ACT_COUNT; a++) {
		if (!(o->actions & (1u << a)))
			continue;
		unsigned nt = plan_targets(s, (enum scn_nem_act)a, names, SCN_DOMAINS_MAX);
		for (unsigned t = 0; t < nt; t++) {
			for (unsigned i = 0; i < b->nst; i++)
				plan_add(pl, (enum scn_nem_act)a, "when %s == %s %s %s%s", b->st[i].path,
					 state_name(b->st[i].state), nem_act_verb(a), names[t],
					 nem_act_tails[a] ? nem_act_tails[a] : "");
			for (uint64_t k = *every; k < b->steps; k += *every)
				plan_add(pl, (enum scn_nem_act)a, "after %lu steps %s %s%s", k,
					 nem_act_verb(a), names[t], nem_act_tails[a] ? nem_act_tails[a] : "");
			plan_near(pl, b, *every, (enum scn_nem_act)a, names[t]);
		}
	}
}

/* ---- running the points ---- */

struct nem_ctx {
	struct scn_nemesis_stats *st;
	bool verbose;
};

static void nem_report(const struct scn_job *job, const struct nem_point *pt)
{
	char replay[SCN_MSG_MAX * 2], tail[2048];

	scn_replay_command(job->s, &job->o, &job->r, replay, sizeof(replay));
	printf("FAIL point: %s\n    %s: %s%s\n    replay: %s\n", pt->line,
	       scn_outcome_name(job->r.outcome), job->r.died ? "the run died: " : "",
	       job->r.reason, replay);
	scn_job_tail(job, NEM_TAIL_LINES, tail, sizeof(tail));
	for (char *save = NULL, *l = strtok_r(tail, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		printf("      | %s\n", l);
}

static void nem_done(struct scn_job *job, void *arg)
{
	struct nem_ctx *c = arg;
	const struct nem_point *pt = job->user;
	bool ok = job->r.verdict == SCN_VERDICT_PASS && !job->r.died;

	c->st->points++;
	c->st->unreached += !job->r.nemesis_fired;
	if (ok) {
		c->st->passed++;
		if (c->verbose)
			printf("ok   point: %s (%s%s)\n", pt->line, scn_outcome_name(job->r.outcome),
			       job->r.nemesis_fired ? "" : ", not reached");
		return;
	}
	c->st->failed++;
	nem_report(job, pt);
}

static void jobs_free(struct scn_job *jobs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		scn_free((struct scenario *)jobs[i].s);
}

static uint64_t nem_max_steps(const struct scenario *s, const struct nem_base *b)
{
	uint64_t m = b->steps * NEM_MAX_STEPS_FACTOR;

	if (m < NEM_MAX_STEPS_MIN)
		m = NEM_MAX_STEPS_MIN;
	return m < s->max_steps ? m : 0;   /* 0: the file's is lower already */
}

static int nem_run_points(const struct scenario *s, const struct scn_nemesis_opts *o,
			  const struct nem_base *b, const struct nem_plan *pl,
			  struct scn_nemesis_stats *st)
{
	struct scn_job *jobs = calloc(NEM_BATCH, sizeof(*jobs));
	struct nem_ctx ctx = {.st = st, .verbose = o->verbose};
	char err[SCN_ERR_MAX];
	int rc = 0;

	if (!jobs)
		return -ENOMEM;
	for (unsigned first = 0; rc == 0 && first < pl->n; first += NEM_BATCH) {
		unsigned n = 0;
		for (unsigned i = first; i < pl->n && n < NEM_BATCH && rc == 0; i++) {
			struct scenario *copy = scn_dup(s);
			if (!copy) {
				rc = -ENOMEM;
				break;
			}
			if (scn_add_nemesis(copy, pl->p[i].line, err, sizeof(err)) < 0) {
				printf("harness: point %s: %s\n", pl->p[i].line, err);
				scn_free(copy);
				rc = -EINVAL;
				break;
			}
			jobs[n] = (struct scn_job){.s = copy, .o = o->run, .capture = true,
						   .user = (void *)&pl->p[i]};
			jobs[n].o.quiet = true;
			jobs[n].o.wall_limit_s = NEM_WALL_LIMIT_S;
			if (!jobs[n].o.max_steps)
				jobs[n].o.max_steps = nem_max_steps(s, b);
			n++;
		}
		if (rc == 0)
			rc = scn_jobs_run_reusing(jobs, n, o->jobs ? o->jobs : 1, nem_done, &ctx);
		jobs_free(jobs, n);
	}
	free(jobs);
	return rc;
}

static void nem_header(const struct scenario *s, const struct nem_base *b, uint64_t every,
		       const struct nem_plan *pl)
{
	printf("nemesis sweep of %s: baseline %lu steps, %u device states reached, a step point "
	       "every %lu steps; %u points\n", s->path, b->steps, b->nst, every, pl->n);
	for (unsigned d = 0; d < s->ndoms; d++)
		if (s->doms[d].priv)
			printf("  %s is privileged (the toolstack): paused, never crashed, restarted, "
			       "destroyed or suspended\n", s->doms[d].name);
	if (pl->full)
		printf("  (only the first %u points: the limit)\n", NEM_POINTS_MAX);
}

int scn_nemesis_sweep(const struct scenario *s, const struct scn_nemesis_opts *o,
		      struct scn_nemesis_stats *st)
{
	struct nem_base *b = calloc(1, sizeof(*b));
	struct nem_plan pl = {.p = calloc(NEM_POINTS_MAX, sizeof(*pl.p))};
	uint64_t every;
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!b || !pl.p) {
		rc = -ENOMEM;
		goto out;
	}
	if (s->expect != SCN_EXPECT_PASS || s->nemesis_action >= 0) {
		printf("nemesis sweep of %s: skipped (it expects a hang, an error or a failure, or "
		       "carries a nemesis already)\n", s->path);
		st->skipped = true;
		goto out;
	}
	rc = nem_baseline(s, o, b);
	if (rc == -EINVAL) {
		st->failed++;
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	plan_build(s, o, b, &pl, &every);
	nem_header(s, b, every, &pl);
	rc = nem_run_points(s, o, b, &pl, st);
out:
	free(pl.p);
	free(b);
	return rc;
}
