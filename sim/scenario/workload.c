/*
 * The workload registry (one table) and what workloads use from the engine:
 * arguments, outcome reports, calls into domains, fault-guarded callbacks,
 * events that survive their domain. Also the runner's side: start, check,
 * domain events and stop for every workload of a run.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/scn_internal.h"

extern const struct scn_wl_type scn_wl_ring;
extern const struct scn_wl_type scn_wl_xs;
extern const struct scn_wl_type scn_wl_xs_state;
extern const struct scn_wl_type scn_wl_blk;
extern const struct scn_wl_type scn_wl_net;
extern const struct scn_wl_type scn_wl_blk_hostile_front;
extern const struct scn_wl_type scn_wl_blk_hostile_back;
extern const struct scn_wl_type scn_wl_net_hostile_back;
extern const struct scn_wl_type scn_wl_xs_attack;
extern const struct scn_wl_type scn_wl_evtchn_storm;
extern const struct scn_wl_type scn_wl_exec;      /* sim/remote/wl_exec.c */

/* One line per workload type: a new driver pair adds its entry here. */
static const struct scn_wl_type *const scn_wl_table[] = {
	&scn_wl_ring,
	&scn_wl_xs,
	&scn_wl_xs_state,
	&scn_wl_blk,
	&scn_wl_net,
	&scn_wl_blk_hostile_front,
	&scn_wl_blk_hostile_back,
	&scn_wl_net_hostile_back,
	&scn_wl_xs_attack,
	&scn_wl_evtchn_storm,
	&scn_wl_exec,
};

const struct scn_wl_type *const *scn_wl_types(unsigned *count)
{
	*count = sizeof(scn_wl_table) / sizeof(scn_wl_table[0]);
	return scn_wl_table;
}

const struct scn_wl_type *scn_wl_type_find(const char *name)
{
	for (size_t i = 0; i < sizeof(scn_wl_table) / sizeof(scn_wl_table[0]); i++)
		if (strcmp(scn_wl_table[i]->name, name) == 0)
			return scn_wl_table[i];
	return scn_plugin_type_find(name);
}

/* ---- arguments ---- */

static unsigned wl_nparams(const struct scn_wl_type *t)
{
	unsigned n = 0;

	while (t->params[n].key)
		n++;
	return n;
}

/* wl->nparams is counted once, by scn_wls_init: the oracles look parameters
 * up at every slice. */
static void wl_param_check(const struct scn_wl *wl, unsigned param)
{
	SCN_ASSERT(param < wl->nparams, "workload %s: parameter %u of %u", wl->id, param, wl->nparams);
}

uint64_t scn_wl_u(const struct scn_wl *wl, unsigned param)
{
	wl_param_check(wl, param);
	return wl->args->u[param];
}

const char *scn_wl_s(const struct scn_wl *wl, unsigned param)
{
	wl_param_check(wl, param);
	return wl->args->s[param];
}

domid_t scn_wl_domid(const struct scn_wl *wl, unsigned param)
{
	wl_param_check(wl, param);
	SCN_ASSERT(wl->type->params[param].kind == SCN_P_DOMAIN, "workload %s: %s is no domain",
		   wl->id, wl->type->params[param].key);
	return wl->run->domids[wl->args->u[param]];
}

void scn_wl_hostile(struct scn_wl *wl, domid_t domid)
{
	for (unsigned i = 0; i < wl->run->s->ndoms; i++)
		if (wl->run->domids[i] == domid)
			wl->run->dom_hostile[i] = true;
	wl->run->r->attacker = true;
}

unsigned scn_wl_domids(const struct scn_wl *wl, unsigned param, domid_t *out, unsigned max)
{
	unsigned n = 0;

	wl_param_check(wl, param);
	SCN_ASSERT(wl->type->params[param].kind == SCN_P_DOMAINS, "workload %s: %s is no list",
		   wl->id, wl->type->params[param].key);
	for (unsigned i = 0; i < wl->run->s->ndoms && n < max; i++)
		if (wl->args->u[param] & (1ull << i))
			out[n++] = wl->run->domids[i];
	return n;
}

uint64_t scn_wl_seed(const struct scn_wl *wl)
{
	uint64_t h = 14695981039346656037ull ^ wl->run->seed;

	for (const char *p = wl->id; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	return h;
}

/* ---- outcome ---- */

void scn_wl_done(struct scn_wl *wl)
{
	int running = SCN_WL_RUNNING;

	if (atomic_compare_exchange_strong(&wl->state, &running, SCN_WL_DONE)) {
		atomic_fetch_sub(&wl->run->wl_pending, 1);
		scn_note(wl->run, DOMID_INVALID, "%s: done", wl->id);
	}
}

/* One of the workload's domains rewrote pages it shares (gnttab.shm.*): the
 * workload's checks assume well-behaved peers, so what they find wrong is the
 * attack's doing, reported as a clean error; other workloads and the engine's
 * oracles (faults, leaks, hangs, invariants) stay strict. DOMID_INVALID: none. */
domid_t scn_wl_shm_attacker(const struct scn_wl *wl)
{
	domid_t d[SCN_DOMAINS_MAX];

	for (unsigned p = 0; wl->type->params[p].key; p++) {
		unsigned n = 0;
		if (wl->type->params[p].kind == SCN_P_DOMAIN)
			d[n++] = scn_wl_domid(wl, p);
		else if (wl->type->params[p].kind == SCN_P_DOMAINS)
			n = scn_wl_domids(wl, p, d, SCN_DOMAINS_MAX);
		for (unsigned i = 0; i < n; i++)
			if (gnttab_shm_injected_by(d[i]))
				return d[i];
	}
	return DOMID_INVALID;
}

static void wl_report(struct scn_wl *wl, enum scn_wl_state st, enum scn_outcome o,
		      const char *fmt, va_list ap)
{
	char msg[SCN_MSG_MAX];
	int running = SCN_WL_RUNNING;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A crashed domain's thread finishing its callback sees everything fail:
	 * that says nothing about the code under test. */
	domid_t self = sim_current_domid();
	if (self != DOMID_INVALID && !sim_domain_alive(self)) {
		scn_note(wl->run, self, "%s: after its domain died: %s", wl->id, msg);
		return;
	}
	domid_t attacker = o == SCN_OUT_ERROR || o == SCN_OUT_FAIL ? scn_wl_shm_attacker(wl)
								    : DOMID_INVALID;
	if (attacker != DOMID_INVALID) {
		char why[SCN_MSG_MAX + 64];
		snprintf(why, sizeof(why), "under shm attack by dom %u: %s", attacker, msg);
		snprintf(msg, sizeof(msg), "%.*s", (int)sizeof(msg) - 1, why);
		o = SCN_OUT_ERROR;
		st = SCN_WL_ERROR;
	}
	if (atomic_compare_exchange_strong(&wl->state, &running, (int)st))
		atomic_fetch_sub(&wl->run->wl_pending, 1);
	else if (o == SCN_OUT_FAIL)
		atomic_store(&wl->state, (int)st);   /* wrong after all: that counts */
	else
		return;                              /* a later give-up changes nothing */
	scn_run_outcome(wl->run, o, "%s: %s", wl->id, msg);
	/* An attacked workload's end stops nothing: the others (a good guest on
	 * the same backend) go on under the attack and must still pass. */
	if (attacker == DOMID_INVALID)
		atomic_store(&wl->run->stop_now, true);
}

const char *scn_dom_gone_word(const struct scn_run *run, domid_t domid)
{
	bool destroyed = run->last_gone >= 0 && run->domids[run->last_gone] == domid &&
			 run->last_gone_orderly;

	return destroyed ? "was destroyed" : "crashed";
}

const char *scn_wl_gone(const struct scn_wl *wl, domid_t domid)
{
	return scn_dom_gone_word(wl->run, domid);
}

void scn_wl_error(struct scn_wl *wl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wl_report(wl, SCN_WL_ERROR, SCN_OUT_ERROR, fmt, ap);
	va_end(ap);
}

void scn_wl_fail(struct scn_wl *wl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	wl_report(wl, SCN_WL_FAIL, SCN_OUT_FAIL, fmt, ap);
	va_end(ap);
}

void scn_wl_check_balance(struct scn_wl *wl, const char *driver, domid_t domid, const char *what,
			  unsigned total, unsigned free, unsigned held)
{
	if (free + held != total)
		scn_wl_fail(wl, "%s (dom %u): of its %u %s %u are free and %u held by its rings: %d neither "
			    "(lost on some path, never used again)", driver, domid, total, what, free, held,
			    (int)total - (int)(free + held));
}

bool scn_wl_finished(const struct scn_wl *wl)
{
	return atomic_load(&wl->state) != SCN_WL_RUNNING;
}

uint64_t scn_wl_pauses(const struct scn_wl *wl)
{
	return atomic_load(&wl->run->pauses);
}

/* ---- helpers ---- */

int scn_wl_call(struct scn_wl *wl, domid_t domid, int (*fn)(void *arg), void *arg)
{
	(void)wl;
	return sim_domain_call(domid, fn, arg);
}

bool scn_wl_guard(struct scn_wl *wl, void (*fn)(void *arg), void *arg)
{
	char report[SCN_MSG_MAX];

	if (sim_fault_catch(fn, arg, report, sizeof(report)) == 0)
		return false;
	/* A crashed domain's thread finishes its callback after the hypervisor
	 * took its mappings away: its last steps are not the workload's fault. */
	domid_t self = sim_current_domid();
	if (self != DOMID_INVALID && !sim_domain_alive(self)) {
		atomic_fetch_add(&wl->run->faults_excused, 1);
		scn_wl_note(wl, self, "dead domain stopped at a lost page");
	}
	else
		scn_wl_fail(wl, "%s", report);
	return true;
}

void scn_wl_note(struct scn_wl *wl, domid_t domid, const char *fmt, ...)
{
	char msg[SCN_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	scn_note(wl->run, domid, "%s: %s", wl->id, msg);
}

int scn_wl_xs_write(struct scn_wl *wl, const char *path, const char *value)
{
	return scn_xs_write(wl->run, path, value);
}

int scn_wl_xs_read(struct scn_wl *wl, const char *path, char *buf, size_t len)
{
	return scn_xs_read(wl->run, path, buf, len);
}

unsigned scn_wl_state_faked(struct scn_wl *wl, const char *path)
{
	return scn_trace_faked_state_writes(wl->run, path);
}

/* fn(wl, path/child) for each child depth levels down; false from fn ends
 * the walk of that child's parent. */
static void wl_xs_children(struct scn_wl *wl, const char *path, bool (*fn)(struct scn_wl *, const char *),
			   unsigned depth)
{
	char kids[XENSTORE_PAYLOAD_MAX], child[SCN_TEXT_MAX];
	unsigned bytes;

	if (scn_xs_directory(wl->run, path, kids, sizeof(kids), &bytes) < 0)
		return;
	for (unsigned off = 0; off < bytes;) {
		size_t kl = strnlen(kids + off, bytes - off);
		if (kl == 0)
			break;
		snprintf(child, sizeof(child), "%s/%.*s", path, (int)kl, kids + off);
		if (depth > 1)
			wl_xs_children(wl, child, fn, depth - 1);
		else if (!fn(wl, child))
			return;
		off += (unsigned)kl + 1;
	}
}

static bool wl_device_left_closed(struct scn_wl *wl, const char *dir)
{
	char path[SCN_TEXT_MAX + 8], v[16] = "";
	unsigned long st;

	snprintf(path, sizeof(path), "%s/state", dir);
	if (scn_xs_read(wl->run, path, v, sizeof(v)) < 0 || sscanf(v, "%lu", &st) != 1 ||
	    st == XenbusStateClosed || st == XenbusStateInitialising || st == XenbusStateUnknown)
		return true;
	scn_wl_fail(wl, "the backend driver stopped leaving %s at %s (%lu), not Closed: its frontend is not "
		    "told it is gone, and the next backend starts from there", path, xenbus_state_name((unsigned)st),
		    st);
	return false;
}

void scn_wl_check_backend_stopped(struct scn_wl *wl, domid_t be, const char *type)
{
	char dir[64];

	snprintf(dir, sizeof(dir), "/local/domain/%u/backend/%s", be, type);
	wl_xs_children(wl, dir, wl_device_left_closed, 2);   /* FE/DEVID */
}

int scn_wl_xs_rm(struct scn_wl *wl, const char *path)
{
	return scn_xs_rm(wl->run, path);
}

int scn_wl_xs_set_perms(struct scn_wl *wl, const char *path, const char *perms)
{
	return scn_xs_set_perms(wl->run, path, perms);
}

int scn_wl_xs_rm_prune(struct scn_wl *wl, const char *path, size_t keep)
{
	return scn_xs_rm_prune(wl->run, path, keep);
}

struct event *scn_ev_new(struct event_base *base, evutil_socket_t fd, short what,
			 event_callback_fn cb, void *arg)
{
	struct scn_run *run = scn_current;
	struct event *ev = calloc(1, event_get_struct_event_size());
	struct scn_ev_rec *rec = calloc(1, sizeof(*rec));

	if (!ev || !rec || event_assign(ev, base, fd, what, cb, arg) < 0) {
		free(ev);
		free(rec);
		return NULL;
	}
	*rec = (struct scn_ev_rec){.ev = ev, .domid = sim_current_domid()};
	pthread_mutex_lock(&run->ev_lock);
	rec->next = run->evs;
	run->evs = rec;
	pthread_mutex_unlock(&run->ev_lock);
	return ev;
}

void scn_ev_free(struct event *ev, bool base_alive)
{
	struct scn_run *run = scn_current;

	if (!ev)
		return;
	pthread_mutex_lock(&run->ev_lock);
	for (struct scn_ev_rec **p = &run->evs; *p; p = &(*p)->next) {
		if ((*p)->ev == ev) {
			struct scn_ev_rec *dead = *p;
			*p = dead->next;
			free(dead);
			break;
		}
	}
	pthread_mutex_unlock(&run->ev_lock);
	if (base_alive)
		event_del(ev);
	free(ev);
}

void scn_evs_drop_domain(struct scn_run *run, domid_t domid)
{
	pthread_mutex_lock(&run->ev_lock);
	for (struct scn_ev_rec *r = run->evs; r; r = r->next)
		if (r->domid == domid)
			event_del(r->ev);
	pthread_mutex_unlock(&run->ev_lock);
}

/* At the end: records of events whose workload already freed them are gone;
 * anything left is the engine's to drop. */
void scn_evs_free_all(struct scn_run *run)
{
	while (run->evs) {
		struct scn_ev_rec *r = run->evs;
		run->evs = r->next;
		free(r);
	}
}

/* ---- the runner's side ---- */

void scn_wls_init(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nwls; i++) {
		struct scn_wl *wl = &run->wls[i];
		const struct scn_wl_decl *d = &run->s->wls[i];

		wl->type = d->type;
		wl->nparams = wl_nparams(d->type);
		snprintf(wl->id, sizeof(wl->id), "%s", d->id);
		wl->args = &d->args;
		wl->run = run;
		atomic_store(&wl->state, SCN_WL_RUNNING);
	}
	atomic_store(&run->wl_pending, run->s->nwls);
}

int scn_wls_start(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nwls && !atomic_load(&run->stop_now); i++) {
		struct scn_wl *wl = &run->wls[i];
		int rc = wl->type->start(wl);
		if (rc < 0) {
			scn_run_outcome(run, SCN_OUT_HARNESS, "workload %s (line %u): start failed: %s",
					wl->id, run->s->wls[i].line, strerror(-rc));
			return rc;
		}
	}
	return 0;
}

void scn_wls_domain_event(struct scn_run *run, domid_t domid, enum scn_dom_event ev)
{
	for (unsigned i = 0; i < run->s->nwls; i++)
		if (run->wls[i].type->domain_event && run->wls[i].priv)
			run->wls[i].type->domain_event(&run->wls[i], domid, ev);
}

int scn_xs_printf(struct xs_handle *xs, const char *dir, const char *key, const char *fmt, ...)
{
	char path[SCN_XS_PATH_MAX], val[SCN_XS_VALUE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_write(xs, XBT_NULL, path, val, (unsigned)strlen(val)) ? 0 : -errno;
}

int scn_xs_gets(struct xs_handle *xs, const char *dir, const char *key, char *buf, size_t len)
{
	char path[SCN_XS_PATH_MAX];
	unsigned n;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	char *v = xs_read(xs, XBT_NULL, path, &n);
	if (!v)
		return errno ? -errno : -EIO;
	snprintf(buf, len, "%s", v);
	free(v);
	return 0;
}

bool scn_wl_lie(struct sim_fault_site *site, domid_t liar, domid_t victim, const char *device)
{
	struct sim_fault_ctx ctx = {.domid = liar, .peer = victim, .port = SIM_FAULT_PORT_ANY,
				    .device = device};

	return sim_fault_hit_ctx(site, &ctx);   /* an injection puts itself on the timeline */
}

uint64_t scn_wl_rand(uint64_t *state)
{
	uint64_t x = *state += 0x9E3779B97F4A7C15ull;

	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

uint64_t scn_past_edge(uint64_t r, uint64_t first_bad, uint64_t span)
{
	return r % 2 || !span ? first_bad : first_bad + (r >> 1) % span;
}

uint64_t scn_at_edge(uint64_t r, uint64_t last, uint64_t typical)
{
	return r % 8 == 0 || !typical ? last : 1 + (r >> 3) % typical;
}

bool scn_wl_check_anywhere(struct scn_wl *wl)
{
	(void)wl;
	return true;
}

bool scn_wls_check_in_place(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nwls; i++) {
		struct scn_wl *wl = &run->wls[i];
		const struct scn_wl_type *t = wl->type;
		if (t->check && wl->priv && !scn_wl_finished(wl) && (!t->check_in_place || !t->check_in_place(wl)))
			return false;
	}
	return true;
}

void scn_wls_check(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->nwls; i++)
		if (run->wls[i].type->check && run->wls[i].priv)
			run->wls[i].type->check(&run->wls[i]);
}

struct scn_wl *scn_wls_busy(struct scn_run *run, char *what, size_t len)
{
	for (unsigned i = 0; i < run->s->nwls; i++) {
		struct scn_wl *wl = &run->wls[i];
		if (wl->type->busy && wl->priv && atomic_load(&wl->state) == SCN_WL_RUNNING &&
		    wl->type->busy(wl, what, len))
			return wl;
	}
	return NULL;
}

void scn_wls_stop(struct scn_run *run)
{
	for (unsigned i = run->s->nwls; i-- > 0;) {
		if (run->wls[i].priv)
			run->wls[i].type->stop(&run->wls[i]);
		run->wls[i].priv = NULL;   /* stop freed it */
	}
}

bool scn_wls_all_done(struct scn_run *run)
{
	return atomic_load(&run->wl_pending) == 0;
}
