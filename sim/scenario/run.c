/*
 * The runner: configure the scheduler, create the domains, start the
 * workloads, then drive sim_run() in short slices (a few dozen scheduling
 * steps in det mode, a few ms of wall time in free mode). Between slices, on
 * the harness thread and so at deterministic points, triggers are applied
 * and oracles checked. The run ends when every workload completed, one gave
 * up or failed, nothing can run any more, or a bound (`within`, `max-steps`)
 * is reached; teardown releases everything and the end oracles check that
 * nothing was left behind. The verdict compares the outcome with `expect`.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <time.h>

#include "include/xensim.h"
#include "sim/access/access.h"
#include "sim/scenario/scn_internal.h"

struct scn_run *scn_current;

const char *scn_outcome_name(enum scn_outcome o)
{
	static const char *const names[] = {
		[SCN_OUT_PASS] = "pass", [SCN_OUT_ERROR] = "error", [SCN_OUT_HANG] = "hang",
		[SCN_OUT_FAIL] = "fail", [SCN_OUT_HARNESS] = "harness-error",
	};
	return o <= SCN_OUT_HARNESS ? names[o] : "?";
}

const char *scn_verdict_name(enum scn_verdict v)
{
	static const char *const names[] = {
		[SCN_VERDICT_PASS] = "PASS", [SCN_VERDICT_FAIL] = "FAIL",
		[SCN_VERDICT_HARNESS] = "ERROR",
	};
	return v <= SCN_VERDICT_HARNESS ? names[v] : "?";
}

/* The worse outcome wins; within one kind, the first message. */
void scn_run_outcome(struct scn_run *run, enum scn_outcome o, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&run->msg_lock);
	if (o > run->outcome) {
		run->outcome = o;
		atomic_store(&run->outcome_seq, atomic_load(&run->timeline_count));
		va_start(ap, fmt);
		vsnprintf(run->reason, sizeof(run->reason), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&run->msg_lock);
	if (o >= SCN_OUT_FAIL)
		atomic_store(&run->stop_now, true);
}

const char *scn_dom_label(struct scn_run *run, domid_t domid, char *buf, size_t len)
{
	for (unsigned i = 0; i < run->s->ndoms; i++) {
		if (run->domids[i] == domid) {
			snprintf(buf, len, "domain %u (%s)", domid, run->s->doms[i].name);
			return buf;
		}
	}
	snprintf(buf, len, "domain %u", domid);
	return buf;
}

bool scn_dom_hostile(const struct scn_run *run, domid_t domid)
{
	for (unsigned i = 0; i < run->s->ndoms; i++)
		if (run->domids[i] == domid && run->dom_alive[i])
			return run->dom_hostile[i];
	return false;
}

/* ---- start ---- */

static double wall_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);   /* never virtual */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_choose(struct scn_run *run)
{
	const struct scenario *s = run->s;
	const struct scn_run_opts *o = run->o;

	run->seed = o->seed_set ? o->seed : s->seed;
	run->mode = o->mode >= 0 ? (enum sim_mode)o->mode : s->mode;
}

/* A harness call into a domain ran out of steps: a domain spins. It still
 * runs, and may still use what the caller would free next: the run ends here,
 * as a hang that says where; its process (an isolated child, a sweep's
 * worker) tells the parent through the progress record and its exit status
 * (scn_job_died). */
static void run_livelock_exit(const char *why)
{
	struct scn_run *run = scn_current;
	struct scn_progress *pg = run->o->progress;

	pg->trace_hash = sim_trace_hash();
	pg->steps = sim_sched_steps();
	pg->vt_ns = sim_now_ns() - run->t0_ns;
	snprintf(pg->livelock, sizeof(pg->livelock), "%s", why);
	fflush(NULL);
	sim_coverage_flush();
	_exit(SCN_EXIT_LIVELOCK);
}

/* Through the public API (include/xensim.h), as a user's program starts a run. */
static int run_configure(struct scn_run *run)
{
	const struct scenario *s = run->s;
	const struct scn_run_opts *o = run->o;
	struct xensim_config cfg = {
		.mode = (enum xensim_mode)run->mode,
		.policy = (enum xensim_policy)(o->policy >= 0 ? (enum sim_policy)o->policy : s->policy),
		.pct_depth = o->policy >= 0 ? o->pct_depth : s->pct_depth,
		.pct_steps = s->pct_steps, .seed = run->seed,
	};

	int rc = xensim_start(&cfg);
	uint64_t max_steps = o->max_steps ? o->max_steps : s->max_steps;
	/* Only a run whose process ends after it can end at a livelock. */
	if (rc == 0 && o->progress) {
		sim_sched_set_call_bound(max_steps > SCN_CALL_STEPS_MIN ? max_steps : SCN_CALL_STEPS_MIN,
					 run_livelock_exit);
		sim_sched_set_stuck_bound(o->stuck_s ? o->stuck_s : SCN_STUCK_S_DEFAULT);
	}
	if (rc == -EBUSY || rc == -ENOMEM)
		scn_run_outcome(run, SCN_OUT_HARNESS, "the process is not fresh: %u domains exist",
				sim_domain_count());
	else if (rc < 0)
		scn_run_outcome(run, SCN_OUT_HARNESS, "scheduler configuration refused: %s",
				strerror(-rc));
	if (rc == 0 && (o->access_points || o->access_report || o->access_jump) && !sim_access_built()) {
		scn_run_outcome(run, SCN_OUT_HARNESS, "access tracing needs the instrumented "
				"drivers: make access, then build-access/xensim");
		rc = -ENOTSUP;
	}
	sim_access_configure(&(struct sim_access_config){
		.points = o->access_points ? o->access_points
					   : sim_access_built() ? s->access_points : 0,
		.jump = o->access_jump ? (uint32_t)(run->seed ? run->seed : 1) : 0});
	return rc;
}

static int run_quotas(struct scn_run *run)
{
	xs_store_reset();
	xs_quota_reset();
	for (unsigned i = 0; i < run->s->nquotas; i++) {
		const struct scn_quota *q = &run->s->quotas[i];
		if (q->dom >= 0)
			continue;   /* a domain's grant quota: scn_gnttab_quotas */
		int rc = xs_quota_set(q->name, q->value);
		if (rc < 0) {
			scn_run_outcome(run, SCN_OUT_HARNESS, "line %u: quota %s %u refused: %s", q->line,
					q->name, q->value, strerror(-rc));
			return rc;
		}
	}
	return scn_gnttab_quotas(run);
}

static int run_domains(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->ndoms; i++) {
		run->domids[i] = (domid_t)run->s->doms[i].domid;
		int rc = scn_domain_up(run, i);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int run_start(struct scn_run *run)
{
	int rc = run_configure(run);

	if (rc == 0)
		rc = run_quotas(run);
	if (rc == 0)
		rc = scn_xs_open(run);
	if (rc < 0)
		return rc;
	scn_trace_start(run);
	scn_oracles_start(run);
	run->t0_ns = sim_now_ns();
	rc = run_domains(run);
	if (rc == 0)
		rc = scn_triggers_start(run);
	scn_wls_init(run);
	if (rc == 0)
		rc = scn_wls_start(run);
	return rc;
}

/* ---- the loop ---- */

static bool run_until(void *arg)
{
	struct scn_run *run = arg;

	return atomic_load_explicit(&run->wl_pending, memory_order_relaxed) == 0 ||
	       atomic_load_explicit(&run->stop_now, memory_order_relaxed);
}

static void run_progress(struct scn_run *run, char *buf, size_t len)
{
	size_t k = 0;

	buf[0] = '\0';
	for (unsigned i = 0; i < run->s->nwls && k < len; i++) {
		struct scn_wl *wl = &run->wls[i];
		const char *const *names = wl->type->counters;
		if (scn_wl_finished(wl) || !names || !wl->priv)
			continue;
		k += (size_t)snprintf(buf + k, len - k, "; %s:", wl->id);
		for (unsigned c = 0; names[c] && k < len; c++)
			k += (size_t)snprintf(buf + k, len - k, " %s=%lu", names[c],
					      wl->type->counter(wl, c));
	}
}

/* The attacker, when every workload still running has one (gnttab.shm.*):
 * a domain that rewrites the pages it shares can stall its own workload
 * (say, an index of its own ring set back), which says nothing of its peers.
 * The victims still hang a run that any other workload waits on. */
static domid_t run_hang_attacker(struct scn_run *run)
{
	domid_t who = DOMID_INVALID;

	for (unsigned i = 0; i < run->s->nwls; i++) {
		if (scn_wl_finished(&run->wls[i]))
			continue;
		domid_t a = scn_wl_shm_attacker(&run->wls[i]);
		if (a == DOMID_INVALID)
			return DOMID_INVALID;
		who = a;
	}
	return who;
}

/* What a deadlock most likely waits for: a domain the scenario took away
 * (its peers wait for it) before a lost wakeup in the code under test. */
static const char *run_hang_suspect(const struct scn_run *run, char *buf, size_t len)
{
	char t[32];

	if (run->last_gone < 0)
		return "a lost wakeup?";
	unsigned d = (unsigned)run->last_gone;
	snprintf(buf, len, "%s %s at %s%s: its peers may be waiting for it", run->s->doms[d].name,
		 scn_dom_gone_word(run, run->domids[d]),
		 scn_time_str(run->last_gone_ns - run->t0_ns, t, sizeof(t)),
		 run->dom_alive[d] ? " and restarted" : "");
	return buf;
}

/* A hang: `why`, or (stuck_ns) a deadlock: nothing could run from then on. */
static void run_hang(struct scn_run *run, const char *why, uint64_t stuck_ns)
{
	char t[32], prog[SCN_MSG_MAX / 2], by[48] = "", suspect[160];
	domid_t attacker = run_hang_attacker(run);
	enum scn_outcome o = attacker == DOMID_INVALID ? SCN_OUT_HANG : SCN_OUT_ERROR;

	if (attacker != DOMID_INVALID)
		snprintf(by, sizeof(by), "under shm attack by dom %u: ", attacker);
	run_progress(run, prog, sizeof(prog));
	if (stuck_ns)
		scn_run_outcome(run, o, "%shang: nothing can run from %s on: every domain waits and "
				"no timer is pending (%s)%s", by,
				scn_time_str(stuck_ns - run->t0_ns, t, sizeof(t)),
				run_hang_suspect(run, suspect, sizeof(suspect)), prog);
	else
		scn_run_outcome(run, o, "%shang: %s%s", by, why, prog);
}

/* ---- slices in place (det mode) ----
 *
 * The loop below runs the triggers and the oracles after every slice on the
 * harness thread. When no trigger can fire before virtual time moves (time
 * moves only on the harness thread), the work after a slice is the oracles
 * and the progress record alone: the scheduler runs it in place on whichever
 * thread holds the token (sim_run_sliced) and the domains carry on, saving
 * the two thread switches per slice that a return to the harness costs (most
 * of a short run's time). The same work happens at the same steps in the same
 * order, so scheduling decisions and trace hashes do not change. (Time
 * moved inside a slice: the harness looks, an `at` trigger may be due.) Any new
 * per-slice work belongs in run_after_slice; a trigger kind not known here
 * keeps the slices on the harness thread. */

static struct {
	uint64_t steps0, bound_ns;   /* the loop's bounds, as run_loop computes them */
	uint64_t max_steps;
	uint64_t vt_ns;              /* virtual time when the harness last looked */
	bool ended;                  /* the hook did the after-slice work, then stopped */
} run_inline;

static void run_after_slice(struct scn_run *run)
{
	run->slices++;
	scn_oracles_slice(run);
	struct scn_progress *pg = run->o->progress;
	if (pg) {
		pg->trace_hash = sim_trace_hash();
		pg->steps = sim_sched_steps();
		pg->vt_ns = sim_now_ns() - run->t0_ns;
	}
}

/* Kinds whose trigger fires only when time moves or from the site itself. */
static bool run_trig_timed(enum scn_trig_kind k)
{
	return k == SCN_TRIG_START || k == SCN_TRIG_AT || k == SCN_TRIG_AFTER_SELF ||
	       k == SCN_TRIG_PROB;
}

/* Would scn_triggers_apply() do nothing at any step until time moves? */
static bool run_triggers_quiet(const struct scn_run *run)
{
	const struct scenario *s = run->s;

	if (run->delay_active || run->ndelayed)
		return false;
	for (unsigned i = 0; i < s->nfaults; i++)
		if (!run->fault_armed[i] && !run_trig_timed(s->faults[i].trig.kind))
			return false;
	for (unsigned i = 0; i < s->nactions; i++)
		if (!run->action_done[i] && !run_trig_timed(s->actions[i].trig.kind))
			return false;
	return true;
}

/* The slice hook: the after-slice work, then carry on unless the harness
 * thread has something to do (the loop's checks, a trigger, the end). */
static bool run_slice_in_place(void *arg)
{
	struct scn_run *run = arg;

	if (!scn_wls_check_in_place(run)) {
		run_inline.ended = false;   /* the harness thread does the after-slice work */
		return false;
	}
	run_after_slice(run);
	bool go = !run_until(run) && run_triggers_quiet(run) &&
		  sim_now_ns() == run_inline.vt_ns && sim_now_ns() < run_inline.bound_ns &&
		  sim_sched_steps() - run_inline.steps0 < run_inline.max_steps;
	run_inline.ended = !go;
	return go;
}

static enum sim_run_result run_slice(struct scn_run *run, uint64_t deadline_ns)
{
	run_inline.ended = false;
	run_inline.vt_ns = sim_now_ns();
	if (run->mode == SIM_MODE_DET && run_triggers_quiet(run) && scn_wls_check_in_place(run))
		return sim_run_sliced(run_until, run, deadline_ns, run->s->slice_steps,
				      run_slice_in_place, run);
	if (run->mode == SIM_MODE_DET)
		return sim_run(run_until, run, deadline_ns, run->s->slice_steps);
	uint64_t slice_end = sim_now_ns() + SCN_FREE_SLICE_NS;
	return sim_run(run_until, run, slice_end < deadline_ns ? slice_end : deadline_ns, 0);
}

/* Det mode runs each slice without the `within` bound as deadline, so that
 * "nothing can run and no timer is pending" comes back as SIM_RUN_IDLE: a
 * deadlock, told apart from a run still busy at the bound. */
static void run_loop(struct scn_run *run)
{
	const uint64_t bound_ns = run->t0_ns + run->s->within_ns;
	const uint64_t steps0 = sim_sched_steps();
	const uint64_t max_steps = run->o->max_steps ? run->o->max_steps : run->s->max_steps;
	char t[32], why[128];

	uint64_t idle_steps = UINT64_MAX;   /* steps at the last idle slice */

	run_inline.steps0 = steps0;
	run_inline.bound_ns = bound_ns;
	run_inline.max_steps = max_steps;   /* the bound checked below */

	for (;;) {
		scn_triggers_apply(run);
		if (run_until(run))
			break;
		if (sim_now_ns() >= bound_ns) {
			snprintf(why, sizeof(why), "workloads still running at the bound (within %s)",
				 scn_time_str(run->s->within_ns, t, sizeof(t)));
			run_hang(run, why, 0);
			break;
		}
		if (sim_sched_steps() - steps0 >= max_steps) {
			snprintf(why, sizeof(why), "max-steps %lu reached before the workloads completed",
				 max_steps);
			run_hang(run, why, 0);
			break;
		}
		uint64_t next = scn_triggers_next_ns(run);
		if (run->mode != SIM_MODE_DET && bound_ns < next)
			next = bound_ns;
		enum sim_run_result rr = run_slice(run, next);
		if (!run_inline.ended)
			run_after_slice(run);
		/* Idle: a hang only if the after-slice work (a workload's check
		 * may act on xenstore, waking a domain) and the triggers changed
		 * nothing either, i.e. an idle slice again with no step taken. */
		if (rr == SIM_RUN_IDLE && scn_triggers_next_ns(run) == UINT64_MAX &&
		    !scn_triggers_apply(run) && sim_sched_steps() == idle_steps) {
			run_hang(run, NULL, sim_now_ns());
			break;
		}
		idle_steps = rr == SIM_RUN_IDLE ? sim_sched_steps() : UINT64_MAX;
	}
}

/* ---- end ---- */

/* A nemesis action that fired, or an index jump (--access-jump: a peer that
 * broke the protocol), may end a workload early: cleanly, by design. */
static bool run_cut_short(const struct scn_run *run)
{
	return scn_nemesis_excuses(run) || sim_access_jumped(DOMID_INVALID);
}

static bool run_error_allowed(const struct scn_run *run)
{
	const struct scenario *s = run->s;

	if (s->expect == SCN_EXPECT_ERROR && strstr(run->reason, s->expect_text))
		return true;
	for (unsigned i = 0; i < s->nallows; i++)
		if (strstr(run->reason, s->allows[i]))
			return true;
	/* Fault sweep: a clean error is what an injected fault may lead to,
	 * unless the fault is a history Xen itself may produce (a legal site:
	 * the driver must carry on); so it is for a run cut short. */
	return (run->sweep_site && !run->sweep_site->legal &&
		atomic_load(&run->sweep_site->injected) > 0) || run_cut_short(run);
}

static void run_expect_faults(struct scn_run *run)
{
	/* A nemesis that cut the run short (an error, or an unplug that ends a
	 * workload early): what it should have exercised is moot. */
	if (run_cut_short(run))
		return;
	/* A workload that gave up (it could not even set up, say) is the reason
	 * of the verdict: the faults it never reached say nothing more (each
	 * still gets its warning line). */
	if (run->outcome >= SCN_OUT_ERROR)
		return;
	for (unsigned i = 0; i < run->s->nexpect_faults; i++) {
		struct sim_fault_site *f = run->s->expect_faults[i];
		if (atomic_load(&f->injected) == 0)
			scn_run_outcome(run, SCN_OUT_FAIL, "expect fault %s: never injected (%lu "
					"occurrences)", f->name, (uint64_t)atomic_load(&f->occurrences));
	}
}

static void run_verdict(struct scn_run *run, struct scn_result *r)
{
	const struct scenario *s = run->s;
	enum scn_outcome o = run->outcome;
	bool ok;

	if (o == SCN_OUT_HARNESS) {
		r->verdict = SCN_VERDICT_HARNESS;
		return;
	}
	switch (s->expect) {
	case SCN_EXPECT_HANG:
		ok = o == SCN_OUT_HANG;
		break;
	case SCN_EXPECT_ERROR:
		ok = o == SCN_OUT_ERROR && run_error_allowed(run);
		break;
	case SCN_EXPECT_FAIL:
		ok = o == SCN_OUT_FAIL && strstr(run->reason, s->expect_text) != NULL;
		break;
	default:
		ok = o == SCN_OUT_PASS || (o == SCN_OUT_ERROR && run_error_allowed(run));
		break;
	}
	r->verdict = ok ? SCN_VERDICT_PASS : SCN_VERDICT_FAIL;
	if (ok || (o >= SCN_OUT_FAIL && s->expect != SCN_EXPECT_FAIL))
		return;
	static const char *const want[] = {
		[SCN_EXPECT_PASS] = "pass", [SCN_EXPECT_HANG] = "a hang", [SCN_EXPECT_ERROR] = "error",
		[SCN_EXPECT_FAIL] = "a failure",
	};
	bool text = s->expect == SCN_EXPECT_ERROR || s->expect == SCN_EXPECT_FAIL;
	char why[SCN_MSG_MAX * 2];
	snprintf(why, sizeof(why), "expected %s%s%s%s, got %s%s%s", want[s->expect],
		 text ? " \"" : "", text ? s->expect_text : "", text ? "\"" : "", scn_outcome_name(o),
		 run->reason[0] ? ": " : "", run->reason[0] ? run->reason : "");
	snprintf(run->reason, sizeof(run->reason), "%.*s", (int)sizeof(run->reason) - 1, why);
}

/* Before the workloads go: their counters are still there. */
static void run_expect_counters(struct scn_run *run)
{
	static const char *const ops[] = {"==", "!=", "<", "<=", ">", ">="};
	const struct scenario *s = run->s;
	uint64_t v;

	/* Only for runs that went through: after a hang or an error the counters
	 * say nothing new; nor after a nemesis action (an unplug ends a workload
	 * early and cleanly, by design), or an index jump. */
	if (run_cut_short(run))
		return;
	for (unsigned i = 0; i < s->nexpect_counters && run->outcome == SCN_OUT_PASS; i++) {
		const struct scn_pred *p = &s->expect_counters[i];
		if (scn_pred_holds(run, p))
			continue;
		bool known = scn_counter_value(run, &p->ctr, &v);
		scn_run_outcome(run, SCN_OUT_FAIL, "line %u: expect %s %s %s: it is %s%lu",
				s->expect_counter_lines[i], p->ctr.name, ops[p->op], p->rhs_s,
				known ? "" : "unknown ", known ? v : 0);
	}
}

/* The double-fetch oracle (sim/access): each finding names both reads. */
static void run_access_end(struct scn_run *run)
{
	char line[SCN_MSG_MAX];

	for (unsigned i = 0; sim_access_finding_text(i, line, sizeof(line)) == 0; i++) {
		fprintf(stderr, "%s\n", line);
		scn_run_outcome(run, SCN_OUT_FAIL, "%s", line);
	}
	if (run->o->access_report && sim_access_report_write(run->o->access_report) < 0)
		fprintf(stderr, "access report: cannot write %s\n", run->o->access_report);
}

/* A domain that never stopped running (sim_sched_livelock): the run hangs,
 * and says where, instead of waiting out the wall-clock limit. */
static void run_livelock(struct scn_run *run)
{
	char why[SCN_MSG_MAX / 2];

	if (run->mode == SIM_MODE_DET && sim_sched_livelock(why, sizeof(why)))
		scn_run_outcome(run, SCN_OUT_HANG, "livelock: %s", why);
}

static void run_teardown(struct scn_run *run)
{
	run->stopping = true;
	scn_oracles_stop_stall();
	run_access_end(run);
	run_expect_counters(run);
	if (run->outcome != SCN_OUT_PASS)   /* the end of the story, on the timeline */
		scn_note(run, DOMID_INVALID, "%s: %.90s", scn_outcome_name(run->outcome), run->reason);
	scn_triggers_stop(run);
	scn_oracles_zombies_end(run);
	scn_wls_stop(run);
	run_livelock(run);
	scn_oracles_end(run);
	run_livelock(run);   /* a domain that spun when destroyed */
	scn_xs_close(run);
	scn_trace_stop(run);
}

static void run_result(struct scn_run *run, struct scn_result *r, double wall0)
{
	run_expect_faults(run);
	r->outcome = run->outcome;
	run_verdict(run, r);
	snprintf(r->reason, sizeof(r->reason), "%s", run->reason);
	r->seed = run->seed;
	r->trace_hash = sim_trace_hash();
	r->steps = sim_sched_steps();
	r->vt_ns = sim_now_ns() - run->t0_ns;
	r->wall_s = wall_now_s() - wall0;
	r->mode = run->mode;
	r->injected = sim_fault_injected_total();
	unsigned i = 0;
	for (struct sim_fault_site *f = sim_fault_site_first(); f && i < SCN_SITES_MAX; f = f->next, i++)
		r->site_occurrences[i] = atomic_load(&f->occurrences);
	if (run->sweep_site) {
		struct sim_fault_site *occ = strcmp(run->sweep_site->name, "evtchn.notify.delay") == 0
			? sim_fault_site_find("evtchn.notify.drop") : run->sweep_site;
		r->sweep_occurrences = occ ? atomic_load(&occ->occurrences) : 0;
	}
}

/* The run's process ends right after it (an isolated run's child): the
 * domains are gone by then (the end oracles destroyed them), and what
 * sim_reset() would still do the exit does at once. A process that runs
 * more (tests, a sweep's reused worker, workers.c) resets. */
static enum { RUN_CLEANUP_FULL, RUN_CLEANUP_NONE } run_cleanup;

void scn_run_process_ends(void)
{
	run_cleanup = RUN_CLEANUP_NONE;
}

int scn_run(const struct scenario *s, const struct scn_run_opts *o, struct scn_result *r)
{
	struct scn_run *run = calloc(1, sizeof(*run));
	double wall0 = wall_now_s();
	int rc;

	memset(r, 0, sizeof(*r));
	if (!run) {
		r->verdict = SCN_VERDICT_HARNESS;
		snprintf(r->reason, sizeof(r->reason), "out of memory");
		return -ENOMEM;
	}
	run->s = s;
	run->o = o;
	run->r = r;
	run->last_gone = -1;
	pthread_mutex_init(&run->msg_lock, NULL);
	pthread_mutex_init(&run->trace_lock, NULL);
	pthread_mutex_init(&run->ev_lock, NULL);
	run_choose(run);
	scn_current = run;
	rc = run_start(run);
	if (rc == 0)
		run_loop(run);
	run_teardown(run);
	run_result(run, r, wall0);
	/* A timeline for every run that did not simply pass, expected or not. */
	if (run->timeline_count && o->timeline_path &&
	    (r->verdict != SCN_VERDICT_PASS || r->outcome != SCN_OUT_PASS)) {
		char *svg = scn_timeline_svg(run);
		FILE *f = svg ? fopen(o->timeline_path, "w") : NULL;
		if (f) {
			fputs(svg, f);
			fclose(f);
		}
		free(svg);
	}
	if (run_cleanup == RUN_CLEANUP_FULL)
		sim_reset();
	scn_evs_free_all(run);
	scn_current = NULL;
	pthread_mutex_destroy(&run->msg_lock);
	pthread_mutex_destroy(&run->trace_lock);
	pthread_mutex_destroy(&run->ev_lock);
	free(run);
	return rc < 0 && r->verdict == SCN_VERDICT_HARNESS ? rc : 0;
}

/* ---- the final line and the replay command ---- */

static const char *policy_arg(const struct scenario *s, const struct scn_run_opts *o, char *buf,
			      size_t len)
{
	enum sim_policy p = o->policy >= 0 ? (enum sim_policy)o->policy : s->policy;
	unsigned d = o->policy >= 0 ? o->pct_depth : s->pct_depth;

	if (p == SIM_POLICY_PCT)
		snprintf(buf, len, "pct:%u", d);
	else
		snprintf(buf, len, "random");
	return buf;
}

void scn_replay_command(const struct scenario *s, const struct scn_run_opts *o,
			const struct scn_result *r, char *buf, size_t len)
{
	char pol[16];
	/* The binary that ran it replays it (an instrumented build: the same
	 * trace hash, and the same sanitizer or access reports). */
	size_t k = (size_t)snprintf(buf, len, "%s run %s --seed %lu", program_invocation_name, s->path,
				    r->seed);

	if (k < len && o->mode >= 0 && o->mode != (int)s->mode)
		k += (size_t)snprintf(buf + k, len - k, " --mode %s",
				      o->mode == SIM_MODE_DET ? "det" : "free");
	if (k < len && o->policy >= 0)
		k += (size_t)snprintf(buf + k, len - k, " --policy %s", policy_arg(s, o, pol, sizeof(pol)));
	if (k < len && o->sweep_site)
		k += (size_t)snprintf(buf + k, len - k, " --fail %s%s%s:%lu", o->sweep_site,
				      o->sweep_aim ? "@" : "", o->sweep_aim ? o->sweep_aim : "",
				      o->sweep_nth);
	if (k < len && o->max_steps)
		k += (size_t)snprintf(buf + k, len - k, " --max-steps %lu", o->max_steps);
	if (k < len && o->access_points)
		k += (size_t)snprintf(buf + k, len - k, " --access-points%s",
				      o->access_points == SIM_ACCESS_POINTS_ALL ? "-all" : "");
	if (k < len && o->access_jump)
		k += (size_t)snprintf(buf + k, len - k, " --access-jump");
	if (k < len && s->nemesis[0])
		snprintf(buf + k, len - k, " --nemesis '%s'", s->nemesis);
}

void scn_result_line(const struct scenario *s, const struct scn_run_opts *o,
		     const struct scn_result *r, char *buf, size_t len)
{
	char t[32], pol[16];

	snprintf(buf, len, "%s %s outcome=%s mode=%s policy=%s steps=%lu vtime=%s wall=%.2fs "
		 "injected=%lu seed=%lu trace-hash=0x%016lx%s", scn_verdict_name(r->verdict), s->path,
		 scn_outcome_name(r->outcome), r->mode == SIM_MODE_DET ? "det" : "free",
		 policy_arg(s, o, pol, sizeof(pol)), r->steps, scn_time_str(r->vt_ns, t, sizeof(t)),
		 r->wall_s, r->injected, r->seed, r->trace_hash,
		 r->mode == SIM_MODE_FREE ? " (free mode: the hash is not reproducible)" : "");
}
