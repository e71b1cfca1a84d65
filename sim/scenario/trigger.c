/*
 * Triggers and what they fire, applied by the harness thread between slices
 * (so, in det mode, at the same points in every run with the same seed):
 * arming fault sites through the registry, timed actions on domains and
 * xenstore, and evtchn.notify.delay, which is the engine's own site: it arms
 * evtchn.notify.drop and replays each dropped send after the delay, so that
 * the event channel module needs to know nothing about it.
 *
 * The harness speaks to xenstore as dom0 through its own store connection,
 * the way a toolstack does: domain homes, actions, `when` predicates.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "include/xensim.h"
#include "sim/scenario/scn_internal.h"

SIM_FAULT_SITE(scn_fault_delay, "evtchn.notify.delay",
	       "an event-channel send is held back and delivered later (scenario engine: a "
	       "drop of evtchn.notify.drop, replayed after `delay`)");

const char *scn_action_name(enum scn_act_id id);

/* ---- the harness's xenstore connection ---- */

static void scn_xs_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct scn_run *run = ctx;

	if (hdr->type == XS_WATCH_EVENT)
		return;
	free(run->xs_reply);
	run->xs_reply = malloc(hdr->len + 1);
	if (!run->xs_reply)
		return;
	memcpy(run->xs_reply, payload, hdr->len);
	run->xs_reply[hdr->len] = '\0';
	run->xs_reply_type = hdr->type;
	run->xs_reply_len = hdr->len;
}

int scn_xs_open(struct scn_run *run)
{
	run->xs = xs_conn_new(0, scn_xs_deliver, run);
	if (!run->xs) {
		scn_run_outcome(run, SCN_OUT_HARNESS, "cannot open the harness's xenstore connection");
		return -ENOMEM;
	}
	return 0;
}

void scn_xs_close(struct scn_run *run)
{
	if (run->xs)
		xs_conn_free(run->xs);
	run->xs = NULL;
	free(run->xs_reply);
	run->xs_reply = NULL;
}

static int xs_errno_of(const char *name)
{
	static const int errs[] = {EINVAL, EACCES, EEXIST, EISDIR, ENOENT, ENOMEM, ENOSPC, EIO,
				   ENOTEMPTY, ENOSYS, EROFS, EBUSY, EAGAIN, EISCONN, E2BIG, EPERM};

	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		if (strcmp(xs_errno_name(errs[i]), name) == 0)
			return errs[i];
	return EIO;
}

/* One request; the reply stays in run->xs_reply. */
static int scn_xs_req(struct scn_run *run, uint32_t type, const void *payload, unsigned len)
{
	struct xsd_sockmsg hdr = {.type = type, .len = len};

	if (!run->xs)
		return -ENOTCONN;
	free(run->xs_reply);
	run->xs_reply = NULL;
	int rc = xs_conn_request(run->xs, &hdr, payload);
	if (rc < 0)
		return rc;
	if (!run->xs_reply)
		return -ENOMEM;
	return run->xs_reply_type == XS_ERROR ? -xs_errno_of(run->xs_reply) : 0;
}

static int scn_xs_req2(struct scn_run *run, uint32_t type, const char *a, const char *b)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	size_t la = strlen(a) + 1, lb = b ? strlen(b) : 0;

	if (la + lb > sizeof(buf))
		return -E2BIG;
	memcpy(buf, a, la);
	if (b)
		memcpy(buf + la, b, lb);
	return scn_xs_req(run, type, buf, (unsigned)(la + lb));
}

int scn_xs_read(struct scn_run *run, const char *path, char *buf, size_t len)
{
	int rc = scn_xs_req2(run, XS_READ, path, NULL);

	if (rc == 0)
		snprintf(buf, len, "%s", run->xs_reply);
	return rc;
}

int scn_xs_write(struct scn_run *run, const char *path, const char *value)
{
	return scn_xs_req2(run, XS_WRITE, path, value);
}

int scn_xs_rm(struct scn_run *run, const char *path)
{
	int rc = scn_xs_req2(run, XS_RM, path, NULL);

	return rc == -ENOENT ? 0 : rc;
}

/* perms: "n0 r1 b2", one entry per word, as xenstore-chmod takes them. */
int scn_xs_set_perms(struct scn_run *run, const char *path, const char *perms)
{
	char buf[SCN_TEXT_MAX * 2];
	size_t la = strlen(path) + 1, lp = strlen(perms) + 1;

	if (la + lp > sizeof(buf))
		return -E2BIG;
	memcpy(buf, path, la);
	memcpy(buf + la, perms, lp);
	for (size_t i = la; i < la + lp; i++)
		if (buf[i] == ' ')
			buf[i] = '\0';
	return scn_xs_req(run, XS_SET_PERMS, buf, (unsigned)(la + lp));
}

/* Remove path, then its parents while they are empty, up to (not including)
 * the first `keep` bytes of the path (e.g. a domain's home). */
int scn_xs_rm_prune(struct scn_run *run, const char *path, size_t keep)
{
	char p[SCN_TEXT_MAX * 2], kids[64];
	unsigned bytes;
	int rc = scn_xs_rm(run, path);

	snprintf(p, sizeof(p), "%s", path);
	for (char *slash = strrchr(p, '/'); rc == 0 && slash && (size_t)(slash - p) > keep;
	     slash = strrchr(p, '/')) {
		*slash = '\0';
		if (scn_xs_directory(run, p, kids, sizeof(kids), &bytes) < 0 || bytes > 0)
			break;
		rc = scn_xs_rm(run, p);
	}
	return rc;
}

int scn_xs_directory(struct scn_run *run, const char *path, char *buf, size_t len,
		     unsigned *bytes)
{
	int rc = scn_xs_req2(run, XS_DIRECTORY, path, NULL);

	if (rc == 0) {
		*bytes = run->xs_reply_len < len ? run->xs_reply_len : (unsigned)len;
		memcpy(buf, run->xs_reply, *bytes);
	}
	return rc;
}

/* ---- domains: the toolstack's part ---- */

static void dom_home(struct scn_run *run, unsigned dom, char *path, size_t len)
{
	snprintf(path, len, "/local/domain/%u", run->domids[dom]);
}

/* Create the domain; its xenstore home (name, domid) comes with it, from
 * the store's toolstack hook (sim/xenstore/home.c), as libxl writes it. */
int scn_domain_up(struct scn_run *run, unsigned dom)
{
	const struct scn_domain_decl *d = &run->s->doms[dom];
	struct xensim_domain_config cfg = {.name = d->name, .mem_bytes = d->mem_bytes,
					   .privileged = d->priv, .domid = d->domid};
	char path[96], val[SCN_NAME_MAX];

	int id = xensim_domain_create(&cfg);
	if (id < 0) {
		scn_run_outcome(run, SCN_OUT_HARNESS, "line %u: domain %s (domid %d) could not be "
				"created: %s", d->line, d->name, d->domid, strerror(-id));
		return id;
	}
	run->dom_alive[dom] = true;
	sim_trace_event(SIM_TR_DOMAIN, (domid_t)id, DOMID_INVALID, 1, 0, d->name);
	snprintf(path, sizeof(path), "/local/domain/%d/name", id);
	int rc = scn_xs_read(run, path, val, sizeof(val));
	if (rc < 0 || strcmp(val, d->name) != 0) {
		rc = rc < 0 ? rc : -EIO;
		scn_run_outcome(run, SCN_OUT_HARNESS, "domain %s: its xenstore home has no %s: %s",
				d->name, path, strerror(-rc));
	}
	run->xs_owned_start[dom] = xs_store_nodes_owned((domid_t)id);
	return rc;
}

/* A domain dies out of the way of its own code. Crashed from outside while
 * parked in the middle of a callback, its thread would run the rest of that
 * callback after the hypervisor took its mappings away, and driver code
 * would fault. So the harness first posts a callback that parks the domain
 * inside it, between event-loop callbacks (its workload events are deleted
 * there, on its own thread), and crashes it from outside once it is parked;
 * the parked thread wakes up dead and leaves its loop without running
 * anything else. A domain that does not get there in time is crashed as it
 * stands. */
struct scn_kill {
	domid_t domid;
	atomic_bool parked;
};

static bool kill_dead(void *arg)
{
	return !sim_domain_alive(((struct scn_kill *)arg)->domid);
}

static void kill_park(void *arg)
{
	struct scn_kill *k = arg;

	scn_evs_drop_domain(scn_current, k->domid);
	atomic_store(&k->parked, true);
	sim_sched_block_until(kill_dead, k);
}

static bool kill_parked(void *arg)
{
	return atomic_load(&((struct scn_kill *)arg)->parked);
}

static int dom_kill(domid_t id, bool orderly)
{
	struct scn_kill k = {.domid = id};

	if (sim_domain_post(id, kill_park, &k) == 0)
		sim_run(kill_parked, &k, sim_now_ns() + SCN_KILL_WAIT_NS, SCN_KILL_STEPS_MAX);
	/* Parked or not, k stays valid until the thread is joined: a post not
	 * yet run is dropped with the domain. */
	return orderly ? xensim_domain_destroy(id) : xensim_domain_crash(id);
}

int scn_domain_crash(struct scn_run *run, unsigned dom, bool orderly)
{
	domid_t id = run->domids[dom];
	char home[64];

	if (!run->dom_alive[dom])
		return 0;
	int rc = dom_kill(id, orderly);
	run->dom_alive[dom] = false;
	run->crashes += !run->stopping;
	if (!run->stopping) {
		run->last_gone = (int)dom;
		run->last_gone_orderly = orderly;
		run->last_gone_ns = sim_now_ns();
		if (rc == 0 && run->nzombies < SCN_ZOMBIES_MAX)
			run->zombies[run->nzombies++] = (struct scn_zombie){
				.id = id, .since_ns = run->last_gone_ns, .since_steps = sim_sched_steps(),
				.pauses = atomic_load(&run->pauses)};
	}
	sim_trace_event(SIM_TR_DOMAIN, id, DOMID_INVALID, orderly ? 0 : 2, 0, run->s->doms[dom].name);
	dom_home(run, dom, home, sizeof(home));
	scn_xs_rm(run, home);
	if (rc == 0)
		scn_wls_domain_event(run, id, SCN_DOM_CRASHED);
	return rc;
}

int scn_domain_restart(struct scn_run *run, unsigned dom)
{
	int rc = scn_domain_crash(run, dom, false);

	run->dom_back_ns[dom] = 0;   /* an outage's return, done now */
	if (rc == 0)
		rc = scn_domain_up(run, dom);
	if (rc == 0)
		scn_wls_domain_event(run, run->domids[dom], SCN_DOM_RESTARTED);
	return rc;
}

/* ---- counters and predicates ---- */

static struct sim_fault_site *occ_site(struct sim_fault_site *site)
{
	/* The delay site counts the sends its drop twin sees. */
	if (site == &scn_fault_delay)
		return sim_fault_site_find("evtchn.notify.drop");
	return site;
}

bool scn_counter_value(struct scn_run *run, const struct scn_counter_ref *c, uint64_t *out)
{
	switch (c->kind) {
	case SCN_CTR_STEPS: *out = sim_sched_steps(); return true;
	case SCN_CTR_SWITCHES: *out = sim_sched_switches(); return true;
	case SCN_CTR_SITE_OCC: *out = atomic_load(&occ_site(c->site)->occurrences); return true;
	case SCN_CTR_SITE_INJ: *out = atomic_load(&c->site->injected); return true;
	case SCN_CTR_WL:
		if (!run->wls[c->wl].priv)
			return false;
		*out = run->wls[c->wl].type->counter(&run->wls[c->wl], c->index);
		return true;
	}
	return false;
}

static bool cmp_u(uint64_t l, enum scn_op op, uint64_t r)
{
	switch (op) {
	case SCN_OP_EQ: return l == r;
	case SCN_OP_NE: return l != r;
	case SCN_OP_LT: return l < r;
	case SCN_OP_LE: return l <= r;
	case SCN_OP_GT: return l > r;
	case SCN_OP_GE: return l >= r;
	}
	return false;
}

bool scn_pred_holds(struct scn_run *run, const struct scn_pred *p)
{
	char val[SCN_TEXT_MAX];
	uint64_t v;

	if (!p->xs)
		return scn_counter_value(run, &p->ctr, &v) && cmp_u(v, p->op, p->rhs_u);
	if (scn_xs_read(run, p->path, val, sizeof(val)) < 0)
		return p->op == SCN_OP_NE;   /* absent: differs from anything */
	if (p->rhs_num && scn_parse_uint(val, &v) == 0)
		return cmp_u(v, p->op, p->rhs_u);
	bool eq = strcmp(val, p->rhs_s) == 0;
	return p->op == SCN_OP_EQ ? eq : p->op == SCN_OP_NE ? !eq : false;
}

/* Due now? AT by the clock, AFTER/WHEN by their predicate. */
static bool trig_due(struct scn_run *run, const struct scn_trigger *t)
{
	switch (t->kind) {
	case SCN_TRIG_AT: return sim_now_ns() >= run->t0_ns + t->at_ns;
	case SCN_TRIG_AFTER:
	case SCN_TRIG_WHEN: return scn_pred_holds(run, &t->pred);
	default: return false;
	}
}

/* ---- faults ---- */

static struct sim_fault_site *arm_target(struct scn_run *run, const struct scn_fault *f)
{
	if (f->site != &scn_fault_delay)
		return f->site;
	run->delay_active = true;
	run->delay_ns = f->delay_ns;
	return sim_fault_site_find("evtchn.notify.drop");
}

/* Through the public API (include/xensim.h), as a user's program arms one. */
static void fault_arm(struct scn_run *run, const struct scn_fault *f, int64_t after)
{
	struct sim_fault_site *site = arm_target(run, f);
	const struct sim_fault_aim *aim = &f->aim;
	struct xensim_fault xf = {
		.after = (uint64_t)after, .repeat = f->repeat,
		.prob = f->trig.kind == SCN_TRIG_PROB ? f->trig.ppm / 1e6 : 0,
		.aim_domid = aim->set && aim->domid != DOMID_INVALID ? aim->domid : -1,
		.aim_port = aim->set && aim->port != SIM_FAULT_PORT_ANY ? (int)aim->port : -1,
		.aim_device = aim->set && aim->device[0] ? aim->device : NULL,
	};

	int rc = xensim_fault_arm(site->name, &xf);
	SCN_ASSERT(rc == 0, "line %u: fault %s could not be armed: %s", f->line, site->name,
		   strerror(-rc));
	sim_trace_mix("scn.arm", (uint64_t)f->line);
	scn_trace_line(run, "fault %s armed (line %u)", f->site_name, f->line);
}

/* The registry has no per-site disarm: arm out of reach, then clear. */
static void fault_disarm(struct scn_run *run, const struct scn_fault *f)
{
	struct sim_fault_site *site = arm_target(run, f);

	sim_fault_site_arm(site, INT64_MAX, 0);
	atomic_store(&site->armed, false);
	if (f->site == &scn_fault_delay)
		run->delay_active = false;
	sim_trace_mix("scn.disarm", (uint64_t)f->line);
	scn_trace_line(run, "fault %s disarmed (line %u)", f->site_name, f->line);
}

static bool faults_apply(struct scn_run *run, const struct scn_fault *faults, unsigned n,
			 unsigned base)
{
	bool fired = false;

	for (unsigned i = 0; i < n; i++) {
		const struct scn_fault *f = &faults[i];
		unsigned k = base + i;
		if (!run->fault_armed[k] && trig_due(run, &f->trig)) {
			fault_arm(run, f, 0);
			run->fault_armed[k] = fired = true;
		}
		if (run->fault_armed[k] && !run->fault_over[k] && f->until_ns &&
		    sim_now_ns() >= run->t0_ns + f->until_ns) {
			fault_disarm(run, f);
			run->fault_over[k] = fired = true;
		}
	}
	return fired;
}

static void fault_start(struct scn_run *run, const struct scn_fault *f, unsigned k)
{
	if (f->trig.kind == SCN_TRIG_AFTER_SELF) {
		fault_arm(run, f, (int64_t)f->trig.n);
		run->fault_armed[k] = true;
	} else if (f->trig.kind == SCN_TRIG_PROB) {
		fault_arm(run, f, 0);
		run->fault_armed[k] = true;
	}
}

/* --fail SITE@DOMAIN:N: the swept fault aimed at a declared domain. */
static int sweep_aim(struct scn_run *run, struct scn_fault *f)
{
	for (unsigned d = 0; d < run->s->ndoms; d++) {
		if (strcmp(run->s->doms[d].name, run->o->sweep_aim) == 0) {
			f->aim = (struct sim_fault_aim){.set = true, .domid = run->domids[d],
							.port = SIM_FAULT_PORT_ANY};
			return 0;
		}
	}
	scn_run_outcome(run, SCN_OUT_HARNESS, "fault sweep: no domain '%s' to aim %s at",
			run->o->sweep_aim, f->site_name);
	return -EINVAL;
}

int scn_triggers_start(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nfaults; i++)
		fault_start(run, &run->s->faults[i], i);
	if (run->o->sweep_site) {
		struct scn_fault *f = &run->sweep_fault;
		f->site = sim_fault_site_find(run->o->sweep_site);
		if (!f->site || run->o->sweep_nth == 0) {
			scn_run_outcome(run, SCN_OUT_HARNESS, "fault sweep: no site '%s' or occurrence %lu",
					run->o->sweep_site, run->o->sweep_nth);
			return -EINVAL;
		}
		snprintf(f->site_name, sizeof(f->site_name), "%s", f->site->name);
		f->trig.kind = SCN_TRIG_AFTER_SELF;
		f->trig.n = run->o->sweep_nth - 1;
		f->delay_ns = SCN_DELAY_NS_DEFAULT;
		if (run->o->sweep_aim && sweep_aim(run, f) < 0)
			return -EINVAL;
		run->sweep_site = f->site;
		fault_start(run, f, SCN_FAULTS_MAX);
	}
	return 0;
}

/* ---- actions ---- */

/* `quota DOMAIN grants|maptrack N`: the new value, the other one kept. */
static int gnttab_quota(domid_t domid, const char *what, uint32_t value, uint32_t *grants,
			uint32_t *maptrack)
{
	if (strcmp(what, "grants") == 0)
		*grants = value;
	else
		*maptrack = value;
	return gnttab_set_limits(domid, *grants, *maptrack);
}

int scn_gnttab_quotas(struct scn_run *run)
{
	uint32_t g[SCN_DOMAINS_MAX] = {0}, m[SCN_DOMAINS_MAX] = {0};

	gnttab_limits_reset();
	for (unsigned i = 0; i < run->s->nquotas; i++) {
		const struct scn_quota *q = &run->s->quotas[i];
		if (q->dom < 0)
			continue;
		int rc = gnttab_quota((domid_t)run->s->doms[q->dom].domid, q->name, q->value, &g[q->dom],
				      &m[q->dom]);
		if (rc < 0) {
			scn_run_outcome(run, SCN_OUT_HARNESS, "line %u: quota %s %s %u refused: %s "
					"(at most %u grants, %u maptrack)", q->line,
					run->s->doms[q->dom].name, q->name, q->value, strerror(-rc),
					GNTTAB_GRANTS_MAX - GNTTAB_RESERVED_REFS, GNTTAB_MAPTRACK_MAX);
			return rc;
		}
	}
	return 0;
}

static int action_quota(struct scn_run *run, const struct scn_action *a)
{
	uint32_t g = 0, m = 0;

	if (a->dom2 < 0)
		return xs_quota_set(a->a, (unsigned)a->v);
	/* The other limit stays what the file's quotas made it. */
	for (unsigned i = 0; i < run->s->nquotas; i++) {
		const struct scn_quota *q = &run->s->quotas[i];
		if (q->dom == a->dom2)
			*(strcmp(q->name, "grants") == 0 ? &g : &m) = q->value;
	}
	return gnttab_quota(run->domids[a->dom], a->a, (uint32_t)a->v, &g, &m);
}

static int action_plug(struct scn_run *run, const struct scn_action *a)
{
	struct scn_wl *wl = &run->wls[a->dom];

	if (!wl->priv || scn_wl_finished(wl))
		return 0;   /* nothing of it is left to unplug */
	return a->act == SCN_ACT_UNPLUG ? wl->type->unplug(wl) : wl->type->plug(wl);
}

static int action_resize(struct scn_run *run, const struct scn_action *a)
{
	struct scn_wl *wl = &run->wls[a->dom];

	if (!wl->priv || scn_wl_finished(wl))
		return 0;
	return wl->type->resize(wl, a->v);
}

/* The backend a suspended guest's devices come back on: `to DOMAIN`, else the
 * workload's own `back=` domain (the same one), else none known. */
static domid_t suspend_back(struct scn_run *run, const struct scn_action *a, struct scn_wl *wl)
{
	if (a->dom2 >= 0)
		return run->domids[a->dom2];
	for (unsigned i = 0; wl->type->params[i].key; i++)
		if (strcmp(wl->type->params[i].key, "back") == 0 &&
		    wl->type->params[i].kind == SCN_P_DOMAIN)
			return scn_wl_domid(wl, i);
	return DOMID_INVALID;
}

static int action_suspend(struct scn_run *run, const struct scn_action *a)
{
	int rc = 0;

	for (unsigned i = 0; i < run->s->nwls && rc == 0; i++) {
		struct scn_wl *wl = &run->wls[i];
		if (!wl->type->suspend || !wl->priv || scn_wl_finished(wl))
			continue;
		rc = wl->type->suspend(wl, run->domids[a->dom], suspend_back(run, a, wl));
		if (rc == -ENOTSUP)
			rc = 0;   /* not one of its domains */
	}
	return rc;
}

static void action_unpause_timer(void *arg)
{
	domid_t domid = (domid_t)(uintptr_t)arg;
	int rc = sim_domain_unpause(domid);

	/* Destroyed or restarted meanwhile: its pause went with it. */
	if (rc < 0 && rc != -ESRCH && rc != -EINVAL)
		sim_log("scenario: unpause of domain %u failed: %s", domid, strerror(-rc));
}

/* pause DOMAIN [for TIME]: the toolstack's `xl pause`, and `xl unpause` after
 * TIME of virtual time (wall time in free mode). */
static int action_pause(struct scn_run *run, const struct scn_action *a)
{
	domid_t domid = run->domids[a->dom];
	int rc = a->act == SCN_ACT_PAUSE ? sim_domain_pause(domid) : sim_domain_unpause(domid);

	if (rc == 0 && a->act == SCN_ACT_PAUSE) {
		atomic_fetch_add(&run->pauses, 1);
		if (a->v)
			rc = sim_timer_at(sim_now_ns() + a->v, action_unpause_timer, (void *)(uintptr_t)domid);
	}
	return rc;
}

static int action_run(struct scn_run *run, const struct scn_action *a)
{
	char cur[SCN_TEXT_MAX];

	switch (a->act) {
	case SCN_ACT_CRASH: {
		bool alive = run->dom_alive[a->dom];
		int rc = scn_domain_crash(run, a->dom, false);
		if (rc == 0 && alive && a->v)   /* crash ... for: back after it */
			run->dom_back_ns[a->dom] = sim_now_ns() + a->v;
		return rc;
	}
	case SCN_ACT_DESTROY: return scn_domain_crash(run, a->dom, true);
	case SCN_ACT_RESTART: return scn_domain_restart(run, a->dom);
	case SCN_ACT_XS_WRITE: {
		int rc = scn_xs_write(run, a->a, a->b);
		if (rc == 0)
			scn_trace_faked_state(run, a->a);
		return rc;
	}
	case SCN_ACT_XS_RM: return scn_xs_rm(run, a->a);
	case SCN_ACT_XS_TOUCH:
		/* The same value again: a new generation, so every transaction that
		 * read the node fails its commit with EAGAIN. */
		if (scn_xs_read(run, a->a, cur, sizeof(cur)) < 0)
			return -ENOENT;
		return scn_xs_write(run, a->a, cur);
	case SCN_ACT_QUOTA: return action_quota(run, a);
	case SCN_ACT_NOTE:
		scn_note(run, DOMID_INVALID, "%s", a->a);
		return 0;
	case SCN_ACT_UNPLUG:
	case SCN_ACT_PLUG: return action_plug(run, a);
	case SCN_ACT_SUSPEND: return action_suspend(run, a);
	case SCN_ACT_PAUSE:
	case SCN_ACT_UNPAUSE: return action_pause(run, a);
	case SCN_ACT_RESIZE: return action_resize(run, a);
	case SCN_ACT_COUNT: break;
	}
	return -EINVAL;
}

/* A nemesis point may land where its action, or a later one of the file,
 * cannot apply: the device is already being unplugged, or is gone; the
 * domain to pause is dead. That
 * tests nothing more; it is not the harness breaking. */
static bool action_moot(int rc)
{
	return rc == -EBUSY || rc == -EALREADY || rc == -ENODEV || rc == -ENOENT || rc == -ESRCH;
}

static bool actions_apply(struct scn_run *run)
{
	bool fired = false;

	for (unsigned i = 0; i < run->s->nactions; i++) {
		const struct scn_action *a = &run->s->actions[i];
		if (run->action_done[i] || !trig_due(run, &a->trig))
			continue;
		run->action_done[i] = fired = true;
		sim_trace_mix("scn.action", (uint64_t)a->line);
		scn_note(run, DOMID_INVALID, "line %u: %s %s", a->line, scn_action_name(a->act),
			 a->act <= SCN_ACT_RESTART ? run->s->doms[a->dom].name : a->a);
		int rc = action_run(run, a);
		if (rc < 0 && action_moot(rc) &&
		    ((int)i == run->s->nemesis_action || scn_nemesis_excuses(run)))
			scn_note(run, DOMID_INVALID, "line %u: %s did not apply beside the nemesis: %s",
				 a->line, scn_action_name(a->act), strerror(-rc));
		else if (rc < 0)
			scn_run_outcome(run, SCN_OUT_HARNESS, "line %u: action %s failed: %s", a->line,
					scn_action_name(a->act), strerror(-rc));
	}
	return fired;
}

/* ---- delayed notifications ---- */

/* Called from the trace sink (any domain thread, under the run's trace lock). */
void scn_delay_capture_locked(struct scn_run *run, domid_t domid, evtchn_port_t port)
{
	if (!run->delay_active)
		return;
	if (run->ndelayed == SCN_DELAYED_MAX) {
		run->delayed_lost++;
		return;
	}
	run->delayed[run->ndelayed++] = (struct scn_delayed){
		.domid = domid, .port = port, .due_ns = sim_now_ns() + run->delay_ns};
	atomic_fetch_add(&scn_fault_delay.injected, 1);
}

static bool delayed_replay(struct scn_run *run)
{
	struct scn_delayed due[SCN_DELAYED_MAX];
	unsigned n = 0, keep = 0;
	uint64_t now = sim_now_ns();

	pthread_mutex_lock(&run->trace_lock);
	for (unsigned i = 0; i < run->ndelayed; i++) {
		if (run->delayed[i].due_ns <= now)
			due[n++] = run->delayed[i];
		else
			run->delayed[keep++] = run->delayed[i];
	}
	run->ndelayed = keep;
	pthread_mutex_unlock(&run->trace_lock);
	for (unsigned i = 0; i < n; i++) {
		sim_trace_mix("scn.replay", due[i].port);
		int rc = evtchn_send(due[i].domid, due[i].port);
		scn_trace_line(run, "evtchn.notify.delay: replayed dom %u port %u: %s", due[i].domid,
			       due[i].port, rc < 0 ? strerror(-rc) : "delivered");
	}
	return n > 0;
}

/* ---- the engine's entry points ---- */

/* The outages (crash ... for) whose time is over: the domain restarts. */
static bool outages_end(struct scn_run *run)
{
	bool fired = false;

	for (unsigned d = 0; d < run->s->ndoms; d++) {
		if (!run->dom_back_ns[d] || sim_now_ns() < run->dom_back_ns[d])
			continue;
		fired = true;
		scn_note(run, DOMID_INVALID, "%s back after its outage", run->s->doms[d].name);
		int rc = scn_domain_restart(run, d);
		if (rc < 0)
			scn_run_outcome(run, SCN_OUT_HARNESS, "restarting %s after its outage failed: %s",
					run->s->doms[d].name, strerror(-rc));
	}
	return fired;
}

bool scn_triggers_apply(struct scn_run *run)
{
	bool fired = faults_apply(run, run->s->faults, run->s->nfaults, 0);

	fired |= actions_apply(run);
	fired |= delayed_replay(run);
	fired |= outages_end(run);
	return fired;
}

uint64_t scn_triggers_next_ns(struct scn_run *run)
{
	uint64_t next = UINT64_MAX;

	for (unsigned i = 0; i < run->s->nfaults; i++) {
		const struct scn_fault *f = &run->s->faults[i];
		if (!run->fault_armed[i] && f->trig.kind == SCN_TRIG_AT && run->t0_ns + f->trig.at_ns < next)
			next = run->t0_ns + f->trig.at_ns;
		if (run->fault_armed[i] && !run->fault_over[i] && f->until_ns &&
		    run->t0_ns + f->until_ns < next)
			next = run->t0_ns + f->until_ns;
	}
	for (unsigned i = 0; i < run->s->nactions; i++) {
		const struct scn_action *a = &run->s->actions[i];
		if (!run->action_done[i] && a->trig.kind == SCN_TRIG_AT && run->t0_ns + a->trig.at_ns < next)
			next = run->t0_ns + a->trig.at_ns;
	}
	for (unsigned d = 0; d < run->s->ndoms; d++)
		if (run->dom_back_ns[d] && run->dom_back_ns[d] < next)
			next = run->dom_back_ns[d];
	pthread_mutex_lock(&run->trace_lock);
	for (unsigned i = 0; i < run->ndelayed; i++)
		if (run->delayed[i].due_ns < next)
			next = run->delayed[i].due_ns;
	pthread_mutex_unlock(&run->trace_lock);
	return next;
}

bool scn_nemesis_excuses(const struct scn_run *run)
{
	return run->s->nemesis_action >= 0 && run->action_done[run->s->nemesis_action];
}

/* Likewise a fault line that never armed, or whose site never injected (an
 * aim at a target that never acted, a count never reached). */
static void faults_unfired(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nfaults; i++) {
		const struct scn_fault *f = &run->s->faults[i];
		/* f->site: the delay site counts its own injections. */
		const char *what = !run->fault_armed[i] ? "was never armed (its trigger did not come)"
				   : atomic_load(&f->site->injected) == 0 ? "never injected" : NULL;
		if (!what)
			continue;
		scn_trace_line(run, "warning: line %u: fault %s %s", f->line, f->site_name, what);
		if (run->s->expect_fired && !scn_nemesis_excuses(run))
			scn_run_outcome(run, SCN_OUT_FAIL, "expect fired: line %u: fault %s %s", f->line,
					f->site_name, what);
		else if (!run->o->quiet)
			printf("warning: %s:%u: fault %s %s\n", run->s->path, f->line, f->site_name, what);
	}
}

/* An action whose trigger never came did not test what its line says: say so
 * (a warning, not a verdict: the run may have ended early for good reasons;
 * with `expect fired` a failure, unless a nemesis action that fired cut the
 * run short or changed its course, as it may by design). */
static void actions_unfired(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nactions; i++) {
		const struct scn_action *a = &run->s->actions[i];
		if (run->action_done[i])
			continue;
		run->r->actions_unfired++;
		scn_trace_line(run, "warning: line %u: %s never fired", a->line, scn_action_name(a->act));
		if (run->s->expect_fired && (int)i != run->s->nemesis_action && !scn_nemesis_excuses(run))
			scn_run_outcome(run, SCN_OUT_FAIL, "expect fired: line %u: the %s action never "
					"fired (its trigger did not come)", a->line, scn_action_name(a->act));
		else if (!run->o->quiet)
			printf("warning: %s:%u: the %s action never fired (its trigger did not come)\n",
			       run->s->path, a->line, scn_action_name(a->act));
	}
	run->r->nemesis_fired = scn_nemesis_excuses(run);
	faults_unfired(run);
	if (run->sweep_site)
		run->r->sweep_injected = atomic_load(&run->sweep_site->injected);
}

void scn_triggers_stop(struct scn_run *run)
{
	struct sim_fault_site *drop = sim_fault_site_find("evtchn.notify.drop");

	actions_unfired(run);
	sim_fault_site_disarm_all();
	if (drop)   /* the delay site saw every send its twin saw */
		atomic_store(&scn_fault_delay.occurrences, atomic_load(&drop->occurrences));
	run->delay_active = false;
	pthread_mutex_lock(&run->trace_lock);
	run->ndelayed = 0;
	pthread_mutex_unlock(&run->trace_lock);
}
