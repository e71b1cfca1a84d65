/*
 * Event channels: per-domain port tables and delivery to handles.
 *
 * A port is free (EVTCHNSTAT_closed), unbound (waiting for one named domain),
 * interdomain (linked to a peer port) or virq. Delivery follows Linux's evtchn
 * device: an event on an unmasked port masks it, clears pending and queues the
 * port on the owning handle, whose eventfd (semaphore mode) counts the queue,
 * so "fd readable" is exactly "queue not empty". An event on a masked port only
 * sets pending; unmask re-delivers it.
 *
 * One module lock guards everything. Under it we only touch our own state and
 * the eventfds: no call into the hypervisor, libevent or the fault registry,
 * because the hypervisor runs our domain hooks and may hold its own locks then.
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/evtchn/evtchn_internal.h"

pthread_mutex_t evtchn_lock = PTHREAD_MUTEX_INITIALIZER;

static struct evtchn_domain *evtchn_doms[SIM_DOMID_LIMIT];
static unsigned evtchn_doms_hi;   /* above every domid that ever had a table: the check stops here */
static struct evtchn_core *evtchn_cores;
static unsigned evtchn_handles;

/* evtchn_check visits every port of a table (not only those below its
 * high-water mark) at the first check and every this many after. */
#define EVTCHN_CHECK_FULL_EVERY 16u

SIM_FAULT_SITE_TRACED(evtchn_fault_drop, "evtchn.notify.drop",
	       "an event-channel send is lost");
SIM_FAULT_SITE_FLAGS(evtchn_fault_dup, "evtchn.notify.dup",
	       "an event-channel send arrives twice (pending again after delivery)",
		     SIM_FAULT_TRACED | SIM_FAULT_LEGAL);
SIM_FAULT_SITE_FLAGS(evtchn_fault_spurious, "evtchn.notify.spurious",
	       "a send also raises a random bound port of the receiver",
		     SIM_FAULT_TRACED | SIM_FAULT_LEGAL);
/* "evtchn.notify.delay" is the scenario engine's: it holds a notify back and
 * replays it later; nothing in this module needs to know. */

static void evtchn_check_domain_locked(const struct evtchn_domain *d, bool full);

/* ---- domains ---- */

struct evtchn_domain *evtchn_domain_locked(domid_t domid)
{
	return domid < SIM_DOMID_LIMIT ? evtchn_doms[domid] : NULL;
}

static void evtchn_on_create(domid_t domid)
{
	struct evtchn_domain *d = calloc(1, sizeof(*d));

	EVTCHN_ASSERT(d, "dom %u: no memory for a port table (%zu bytes)", domid, sizeof(*d));
	EVTCHN_ASSERT(domid < SIM_DOMID_LIMIT, "dom %u out of range", domid);
	d->domid = domid;
	pthread_mutex_lock(&evtchn_lock);
	EVTCHN_ASSERT(!evtchn_doms[domid], "dom %u created twice", domid);
	evtchn_doms[domid] = d;
	if (domid >= evtchn_doms_hi)
		evtchn_doms_hi = domid + 1u;
	pthread_mutex_unlock(&evtchn_lock);
}

/* A handle of a destroyed domain: no ports, nothing queued, and its fd stays
 * readable (like a hung-up device) so a blocked xenevtchn_pending() wakes up
 * and fails with ESRCH. */
static void evtchn_core_kill_locked(struct evtchn_core *core)
{
	uint64_t one = 1;

	evtchn_core_unbind_all_locked(core);
	EVTCHN_ASSERT(core->queue_len == 0, "dom %u: %u events left queued after unbind",
		      core->domid, core->queue_len);
	core->dead = true;
	EVTCHN_ASSERT(write(core->fd, &one, sizeof(one)) == sizeof(one),
		      "dom %u: eventfd %d write failed: %s", core->domid, core->fd,
		      strerror(errno));
}

static void evtchn_on_destroy(domid_t domid, bool crashed)
{
	(void)crashed;   /* a crash tears ports down exactly like a destroy */
	pthread_mutex_lock(&evtchn_lock);
	struct evtchn_domain *d = evtchn_domain_locked(domid);
	for (struct evtchn_core *c = evtchn_cores; c; c = c->next)
		if (c->domid == domid && !c->dead)
			evtchn_core_kill_locked(c);
	if (d) {
		EVTCHN_ASSERT(d->ports_used == 0, "dom %u: %u ports without a handle at destroy",
			      domid, d->ports_used);
		evtchn_check_domain_locked(d, true);   /* every port, one last time */
	}
	if (domid < SIM_DOMID_LIMIT)
		evtchn_doms[domid] = NULL;
	pthread_mutex_unlock(&evtchn_lock);
	free(d);
	/* As Xen's domain_kill does: tell whoever watches domain deaths (xenstored). */
	evtchn_raise_virq(VIRQ_DOM_EXC);
}

static const struct sim_domain_hooks evtchn_hooks = {
	.name = "evtchn",
	.order = 20,
	.on_create = evtchn_on_create,
	.on_destroy = evtchn_on_destroy,
};

__attribute__((constructor)) static void evtchn_hooks_register(void)
{
	sim_domain_hooks_register(&evtchn_hooks);
}

/* ---- handle cores ---- */

void evtchn_core_add_locked(struct evtchn_core *core)
{
	core->prev = NULL;
	core->next = evtchn_cores;
	if (core->next)
		core->next->prev = core;
	evtchn_cores = core;
}

/* O(1): a thousand guests open and close thousands of handles. */
void evtchn_core_remove_locked(struct evtchn_core *core)
{
	EVTCHN_ASSERT(core->prev ? core->prev->next == core : evtchn_cores == core,
		      "dom %u: handle (fd %d) not registered", core->domid, core->fd);
	if (core->prev)
		core->prev->next = core->next;
	else
		evtchn_cores = core->next;
	if (core->next)
		core->next->prev = core->prev;
	core->next = core->prev = NULL;
}

struct evtchn_core *evtchn_core_find_fd_locked(int fd)
{
	struct evtchn_core *c = evtchn_cores;

	while (c && c->fd != fd)
		c = c->next;
	return c;
}

unsigned evtchn_handles_open_add_locked(int delta)
{
	EVTCHN_ASSERT(delta >= 0 || evtchn_handles > 0, "handle count underflow");
	evtchn_handles += (unsigned)delta;
	return evtchn_handles;
}

/* The eventfd counts queued ports; both sides of it move under the lock. */
static void evtchn_fd_signal(struct evtchn_core *core)
{
	uint64_t one = 1;
	ssize_t n = write(core->fd, &one, sizeof(one));

	EVTCHN_ASSERT(n == sizeof(one), "dom %u: eventfd %d write failed: %s", core->domid,
		      core->fd, n < 0 ? strerror(errno) : "short write");
}

static void evtchn_fd_consume(struct evtchn_core *core)
{
	uint64_t v;
	ssize_t n = read(core->fd, &v, sizeof(v));

	EVTCHN_ASSERT(n == sizeof(v), "dom %u: eventfd %d read failed with %u queued: %s",
		      core->domid, core->fd, core->queue_len,
		      n < 0 ? strerror(errno) : "short read");
}

/* ---- ports ---- */

int evtchn_port_alloc_locked(struct evtchn_core *core, domid_t remote_dom,
			     evtchn_port_t *port)
{
	struct evtchn_domain *d = evtchn_domain_locked(core->domid);
	evtchn_port_t p = 1;   /* port 0 is reserved, as in Xen */

	EVTCHN_ASSERT(d, "dom %u: live handle without a port table", core->domid);
	while (p < EVTCHN_PORTS_MAX && d->ports[p].state != EVTCHNSTAT_closed)
		p++;
	if (p == EVTCHN_PORTS_MAX)
		return -ENOSPC;
	d->ports[p] = (struct evtchn_port){
		.owner = core, .state = EVTCHNSTAT_unbound, .remote_dom = remote_dom,
	};
	d->ports_used++;
	if (p >= d->ports_hwm)
		d->ports_hwm = p + 1;
	core->ports_bound++;
	*port = p;
	return 0;
}

static void evtchn_queue_remove_locked(struct evtchn_domain *d, struct evtchn_core *core,
				       evtchn_port_t port)
{
	evtchn_port_t prev = 0, cur = core->queue_first;
	unsigned seen = 0;

	while (cur && cur != port && seen++ < core->queue_len) {
		prev = cur;
		cur = d->ports[cur].queue_next;
	}
	EVTCHN_ASSERT(cur == port, "dom %u port %u: marked queued but not in the queue",
		      core->domid, port);
	if (prev)
		d->ports[prev].queue_next = d->ports[port].queue_next;
	else
		core->queue_first = d->ports[port].queue_next;
	if (core->queue_last == port)
		core->queue_last = prev;
	d->ports[port].queue_next = 0;
	core->queue_len--;
	evtchn_fd_consume(core);
}

void evtchn_port_close_locked(struct evtchn_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->ports[port];
	struct evtchn_core *core = p->owner;

	EVTCHN_ASSERT(core && p->state != EVTCHNSTAT_closed, "dom %u port %u: close of a free port",
		      d->domid, port);
	if (p->state == EVTCHNSTAT_interdomain) {
		struct evtchn_domain *rd = evtchn_domain_locked(p->remote_dom);
		EVTCHN_ASSERT(rd, "dom %u port %u: peer dom %u has no port table", d->domid, port,
			      p->remote_dom);
		struct evtchn_port *rp = &rd->ports[p->remote_port];
		rp->state = EVTCHNSTAT_unbound;
		rp->remote_dom = d->domid;
		rp->remote_port = 0;
	} else if (p->state == EVTCHNSTAT_virq) {
		d->virq_port[p->virq] = 0;
	}
	if (p->queued)
		evtchn_queue_remove_locked(d, core, port);
	*p = (struct evtchn_port){0};
	d->ports_used--;
	core->ports_bound--;
}

void evtchn_core_unbind_all_locked(struct evtchn_core *core)
{
	struct evtchn_domain *d = evtchn_domain_locked(core->domid);

	for (evtchn_port_t p = 1; d && core->ports_bound > 0 && p < EVTCHN_PORTS_MAX; p++)
		if (d->ports[p].owner == core)
			evtchn_port_close_locked(d, p);
	EVTCHN_ASSERT(core->ports_bound == 0, "dom %u: %u ports of a handle not found",
		      core->domid, core->ports_bound);
}

/* ---- delivery ---- */

static void evtchn_deliver_locked(struct evtchn_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->ports[port];
	struct evtchn_core *core = p->owner;

	EVTCHN_ASSERT(!p->queued, "dom %u port %u: delivered while queued", d->domid, port);
	EVTCHN_ASSERT(core->queue_len < EVTCHN_HANDLE_QUEUE_MAX, "dom %u port %u: queue full",
		      d->domid, port);
	p->pending = false;
	p->masked = true;
	p->queued = true;
	p->queue_next = 0;
	if (core->queue_last)
		d->ports[core->queue_last].queue_next = port;
	else
		core->queue_first = port;
	core->queue_last = port;
	core->queue_len++;
	evtchn_fd_signal(core);
}

void evtchn_raise_locked(struct evtchn_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->ports[port];

	EVTCHN_ASSERT(p->owner, "dom %u port %u: event on a free port", d->domid, port);
	p->pending = true;
	if (!p->masked)
		evtchn_deliver_locked(d, port);
}

void evtchn_unmask_locked(struct evtchn_domain *d, evtchn_port_t port)
{
	struct evtchn_port *p = &d->ports[port];

	/* Unmasking a port still in the queue would let it be queued twice; keep
	 * the intent and apply it when the port is read. */
	if (p->queued) {
		p->unmask_deferred = true;
		return;
	}
	p->masked = false;
	if (p->pending)
		evtchn_deliver_locked(d, port);
}

int evtchn_core_dequeue_locked(struct evtchn_core *core, evtchn_port_t *port)
{
	struct evtchn_domain *d = evtchn_domain_locked(core->domid);

	if (core->queue_len == 0)
		return -EAGAIN;
	EVTCHN_ASSERT(d, "dom %u: queued events without a port table", core->domid);
	evtchn_port_t p = core->queue_first;
	EVTCHN_ASSERT(p > 0 && p < EVTCHN_PORTS_MAX, "dom %u: %u queued, head port %u",
		      core->domid, core->queue_len, p);
	struct evtchn_port *pp = &d->ports[p];
	EVTCHN_ASSERT(pp->queued && pp->owner == core, "dom %u port %u: dequeued but not queued",
		      core->domid, p);
	core->queue_first = pp->queue_next;
	if (!core->queue_first)
		core->queue_last = 0;
	core->queue_len--;
	evtchn_fd_consume(core);
	pp->queue_next = 0;
	pp->queued = false;
	if (pp->unmask_deferred) {
		pp->unmask_deferred = false;
		evtchn_unmask_locked(d, p);
	}
	*port = p;
	return 0;
}

SIM_FAULT_SITE(evtchn_fault_alloc, "evtchn.alloc",
	       "a port allocation (bind_unbound_port, bind_interdomain) fails with ENOSPC, as when the "
	       "domain's ports run out")

bool evtchn_alloc_fault(domid_t domid, domid_t peer)
{
	const struct sim_fault_ctx ctx = {.domid = domid, .peer = peer, .port = SIM_FAULT_PORT_ANY};

	return sim_fault_hit_ctx(&evtchn_fault_alloc, &ctx);
}

/* ---- send ---- */

void evtchn_send_faults_draw(struct evtchn_send_faults *f, domid_t domid, domid_t peer,
			     evtchn_port_t port)
{
	const struct sim_fault_ctx ctx = {.domid = domid, .peer = peer, .port = port};

	f->drop = sim_fault_hit_ctx(&evtchn_fault_drop, &ctx);
	f->dup = !f->drop && sim_fault_hit_ctx(&evtchn_fault_dup, &ctx);
	f->spurious = !f->drop && sim_fault_hit_ctx(&evtchn_fault_spurious, &ctx);
	f->spurious_pick = f->spurious ? sim_rng_next() : 0;
}

/* An event on a port of the receiver that nobody sent: any port that could
 * legitimately receive one (interdomain or virq). */
static void evtchn_raise_spurious_locked(struct evtchn_domain *d, uint64_t pick)
{
	unsigned n = 0;

	for (evtchn_port_t p = 1; p < EVTCHN_PORTS_MAX; p++)
		n += d->ports[p].state == EVTCHNSTAT_interdomain || d->ports[p].state == EVTCHNSTAT_virq;
	if (n == 0)
		return;
	unsigned k = (unsigned)(pick % n);
	for (evtchn_port_t p = 1; p < EVTCHN_PORTS_MAX; p++) {
		uint8_t s = d->ports[p].state;
		if ((s == EVTCHNSTAT_interdomain || s == EVTCHNSTAT_virq) && k-- == 0) {
			evtchn_raise_locked(d, p);
			return;
		}
	}
}

/* The send on the timeline; a drop names both ends, so that the scenario
 * engine can replay it later (evtchn.notify.delay). */
static void evtchn_send_trace(domid_t domid, evtchn_port_t port, domid_t rdom,
			      evtchn_port_t rport, const struct evtchn_send_faults *f)
{
	if (f->drop) {
		sim_trace_event(SIM_TR_FAULT, domid, rdom, port, rport, "evtchn.notify.drop");
		return;
	}
	sim_trace_event(SIM_TR_NOTIFY, domid, rdom, port, rport, NULL);
	if (f->dup)
		sim_trace_event(SIM_TR_FAULT, domid, rdom, port, rport, "evtchn.notify.dup");
	if (f->spurious)
		sim_trace_event(SIM_TR_FAULT, domid, rdom, port, rport, "evtchn.notify.spurious");
}

static void evtchn_send_deliver_locked(struct evtchn_domain *rd, evtchn_port_t rport,
				       const struct evtchn_send_faults *f)
{
	if (f->drop)
		return;
	evtchn_raise_locked(rd, rport);
	if (f->dup)
		rd->ports[rport].pending = true;
	if (f->spurious)
		evtchn_raise_spurious_locked(rd, f->spurious_pick);
}

int evtchn_send_locked(domid_t domid, evtchn_port_t port,
		       const struct evtchn_send_faults *faults, const char **why)
{
	struct evtchn_domain *d = evtchn_domain_locked(domid);
	int rc = 0;

	*why = "ok";
	if (!d) {
		rc = -ESRCH;
		*why = "no such domain";
	} else if (port == 0 || port >= EVTCHN_PORTS_MAX) {
		rc = -EINVAL;
		*why = "port out of range";
	} else if (d->ports[port].state == EVTCHNSTAT_closed) {
		rc = -EINVAL;
		*why = "port is closed";
	} else if (d->ports[port].state == EVTCHNSTAT_unbound) {
		/* Xen's EVTCHNOP_send drops a send on an unbound port (never
		 * connected, or its peer closed) and returns success; strict mode
		 * fails it so that a driver that notifies too early is caught. */
		rc = evtchn_strict() ? -ENOTCONN : EVTCHN_SEND_UNBOUND;
		*why = "port is unbound (no peer, or the peer closed)";
	} else if (d->ports[port].state != EVTCHNSTAT_interdomain) {
		rc = -EINVAL;
		*why = "port is not interdomain";
	} else if (faults) {
		struct evtchn_port *p = &d->ports[port];
		struct evtchn_domain *rd = evtchn_domain_locked(p->remote_dom);
		EVTCHN_ASSERT(rd, "dom %u port %u: peer dom %u has no port table", domid, port,
			      p->remote_dom);
		evtchn_send_trace(domid, port, p->remote_dom, p->remote_port, faults);
		evtchn_send_deliver_locked(rd, p->remote_port, faults);
	}
	return rc;
}

/* ---- sim-side API (evtchn.h) ---- */

/* ---- sends on unbound ports (Xen: success, nothing delivered) ---- */

static _Atomic uint64_t evtchn_unbound_count;
static atomic_int evtchn_strict_mode = -1;   /* -1: not decided yet (environment) */

bool evtchn_strict(void)
{
	int m = atomic_load(&evtchn_strict_mode);

	if (m < 0) {
		const char *v = getenv(EVTCHN_STRICT_ENV);
		m = v && strcmp(v, "1") == 0;
		if (v && *v && strcmp(v, "0") != 0 && strcmp(v, "1") != 0)
			sim_log("%s='%s' is not 0 or 1: ignored, sends on unbound ports succeed",
				EVTCHN_STRICT_ENV, v);
		int unset = -1;
		atomic_compare_exchange_strong(&evtchn_strict_mode, &unset, m);
		m = atomic_load(&evtchn_strict_mode);
	}
	return m == 1;
}

void evtchn_set_strict(bool strict)
{
	atomic_store(&evtchn_strict_mode, strict ? 1 : 0);
}

uint64_t evtchn_unbound_sends(void)
{
	return atomic_load(&evtchn_unbound_count);
}

int evtchn_send_dropped(domid_t domid, evtchn_port_t port, domid_t remote_dom)
{
	atomic_fetch_add(&evtchn_unbound_count, 1);
	sim_trace_event(SIM_TR_NOTE, domid, remote_dom, port, 0, "evtchn.notify.unbound");
	return 0;
}

int evtchn_send(domid_t domid, evtchn_port_t port)
{
	struct evtchn_send_faults faults;
	const char *why;

	domid_t peer = DOMID_INVALID;

	pthread_mutex_lock(&evtchn_lock);
	int rc = evtchn_send_locked(domid, port, NULL, &why);
	if (rc >= 0)
		peer = evtchn_domain_locked(domid)->ports[port].remote_dom;
	pthread_mutex_unlock(&evtchn_lock);
	if (rc == 0) {
		evtchn_send_faults_draw(&faults, domid, peer, port);
		pthread_mutex_lock(&evtchn_lock);
		rc = evtchn_send_locked(domid, port, &faults, &why);
		pthread_mutex_unlock(&evtchn_lock);
	}
	if (rc == EVTCHN_SEND_UNBOUND)
		rc = evtchn_send_dropped(domid, port, peer);
	if (rc < 0)
		sim_log("evtchn: send: dom %u port %u: %s (%s)", domid, port, why, strerror(-rc));
	return rc;
}

void evtchn_raise_virq(unsigned virq)
{
	if (virq >= NR_VIRQS) {
		sim_log("evtchn: raise virq %u: out of range (NR_VIRQS %u)", virq, NR_VIRQS);
		return;
	}
	pthread_mutex_lock(&evtchn_lock);
	for (unsigned id = 0; id < evtchn_doms_hi; id++) {
		struct evtchn_domain *d = evtchn_doms[id];
		if (d && d->virq_port[virq])
			evtchn_raise_locked(d, d->virq_port[virq]);
	}
	pthread_mutex_unlock(&evtchn_lock);
}

int evtchn_port_status(domid_t domid, evtchn_port_t port, domid_t *remote_dom,
		       evtchn_port_t *remote_port)
{
	domid_t rdom = DOMID_INVALID;
	evtchn_port_t rport = 0;
	int rc;

	pthread_mutex_lock(&evtchn_lock);
	struct evtchn_domain *d = evtchn_domain_locked(domid);
	if (!d) {
		rc = -ESRCH;
	} else if (port >= EVTCHN_PORTS_MAX) {
		rc = -EINVAL;
	} else {
		const struct evtchn_port *p = &d->ports[port];
		rc = p->state;
		if (p->state == EVTCHNSTAT_unbound || p->state == EVTCHNSTAT_interdomain)
			rdom = p->remote_dom;
		if (p->state == EVTCHNSTAT_interdomain)
			rport = p->remote_port;
		if (p->state == EVTCHNSTAT_virq)
			rport = p->virq;   /* status reports u.virq; handed back here */
	}
	pthread_mutex_unlock(&evtchn_lock);
	if (remote_dom)
		*remote_dom = rdom;
	if (remote_port)
		*remote_port = rport;
	return rc;
}

unsigned evtchn_ports_in_use(domid_t domid)
{
	pthread_mutex_lock(&evtchn_lock);
	struct evtchn_domain *d = evtchn_domain_locked(domid);
	unsigned n = d ? d->ports_used : 0;
	pthread_mutex_unlock(&evtchn_lock);
	return n;
}

unsigned evtchn_handles_open(void)
{
	pthread_mutex_lock(&evtchn_lock);
	unsigned n = evtchn_handles;
	pthread_mutex_unlock(&evtchn_lock);
	return n;
}

/* ---- whole-state check ---- */

static void evtchn_check_port_locked(const struct evtchn_domain *d, evtchn_port_t port)
{
	const struct evtchn_port *p = &d->ports[port];
	domid_t id = d->domid;

	if (p->state == EVTCHNSTAT_closed) {
		EVTCHN_ASSERT(!p->owner && !p->pending && !p->masked && !p->queued,
			      "dom %u port %u: free port with owner or flags", id, port);
		return;
	}
	EVTCHN_ASSERT(p->owner && p->owner->domid == id && !p->owner->dead,
		      "dom %u port %u: bound port without a live handle of its domain", id, port);
	EVTCHN_ASSERT(!p->queued || p->masked, "dom %u port %u: queued but not masked", id, port);
	EVTCHN_ASSERT(!p->unmask_deferred || p->queued, "dom %u port %u: deferred unmask, not queued",
		      id, port);
	p->owner->check_ports++;
	if (p->state == EVTCHNSTAT_interdomain) {
		const struct evtchn_domain *rd = evtchn_domain_locked(p->remote_dom);
		EVTCHN_ASSERT(rd && p->remote_port > 0 && p->remote_port < EVTCHN_PORTS_MAX,
			      "dom %u port %u: peer dom %u port %u does not exist", id, port,
			      p->remote_dom, p->remote_port);
		const struct evtchn_port *rp = &rd->ports[p->remote_port];
		EVTCHN_ASSERT(rp->state == EVTCHNSTAT_interdomain && rp->remote_dom == id &&
			      rp->remote_port == port,
			      "dom %u port %u: peer dom %u port %u does not link back", id, port,
			      p->remote_dom, p->remote_port);
	} else if (p->state == EVTCHNSTAT_virq) {
		EVTCHN_ASSERT(p->virq < NR_VIRQS && d->virq_port[p->virq] == port,
			      "dom %u port %u: virq %u not registered", id, port, p->virq);
	} else {
		EVTCHN_ASSERT(p->state == EVTCHNSTAT_unbound, "dom %u port %u: bad state %u", id,
			      port, p->state);
	}
}

/* Ports from the high-water mark on were never allocated: all zero. */
static void evtchn_check_unused_locked(const struct evtchn_domain *d)
{
	enum { CHUNK = 64 };   /* ports compared per memcmp */
	static const struct evtchn_port zero[CHUNK];

	EVTCHN_ASSERT(d->ports_hwm <= EVTCHN_PORTS_MAX, "dom %u: port high-water mark %u out of range",
		      d->domid, d->ports_hwm);
	for (evtchn_port_t p = d->ports_hwm ? d->ports_hwm : 1; p < EVTCHN_PORTS_MAX;) {
		evtchn_port_t n = EVTCHN_PORTS_MAX - p < CHUNK ? EVTCHN_PORTS_MAX - p : CHUNK;
		if (memcmp(&d->ports[p], zero, n * sizeof(zero[0])) == 0) {
			p += n;
			continue;
		}
		while (memcmp(&d->ports[p], zero, sizeof(zero[0])) == 0)
			p++;   /* the first port written */
		EVTCHN_ASSERT(false, "dom %u port %u: written, but above the highest port ever allocated (%u)",
			      d->domid, p, d->ports_hwm ? d->ports_hwm - 1 : 0);
	}
}

/* full: also every port above the high-water mark (see ports_hwm). */
static void evtchn_check_domain_locked(const struct evtchn_domain *d, bool full)
{
	unsigned used = 0;

	EVTCHN_ASSERT(d->ports[0].state == EVTCHNSTAT_closed, "dom %u: port 0 in use", d->domid);
	if (full)
		evtchn_check_unused_locked(d);
	for (evtchn_port_t p = 1; p < d->ports_hwm; p++) {
		evtchn_check_port_locked(d, p);
		used += d->ports[p].state != EVTCHNSTAT_closed;
	}
	EVTCHN_ASSERT(used == d->ports_used, "dom %u: %u ports in use, counted %u", d->domid,
		      used, d->ports_used);
	for (unsigned v = 0; v < NR_VIRQS; v++)
		EVTCHN_ASSERT(d->virq_port[v] == 0 ||
			      (d->ports[d->virq_port[v]].state == EVTCHNSTAT_virq &&
			       d->ports[d->virq_port[v]].virq == v),
			      "dom %u: virq %u points at port %u, not bound to it", d->domid, v,
			      d->virq_port[v]);
}

static void evtchn_check_core_locked(const struct evtchn_core *c)
{
	const struct evtchn_domain *d = evtchn_domain_locked(c->domid);
	struct pollfd pfd = {.fd = c->fd, .events = POLLIN};

	EVTCHN_ASSERT(c->refs > 0, "dom %u: handle core fd %d without handles", c->domid, c->fd);
	EVTCHN_ASSERT(c->check_ports == c->ports_bound, "dom %u: handle fd %d owns %u ports, counted %u",
		      c->domid, c->fd, c->check_ports, c->ports_bound);
	EVTCHN_ASSERT(!c->dead || (c->ports_bound == 0 && c->queue_len == 0),
		      "dom %u: dead handle fd %d keeps ports or events", c->domid, c->fd);
	EVTCHN_ASSERT(c->dead || d, "dom %u: live handle fd %d without a port table", c->domid, c->fd);
	evtchn_port_t p = c->queue_first, last = 0;
	for (unsigned i = 0; i < c->queue_len; i++) {
		EVTCHN_ASSERT(p > 0 && p < EVTCHN_PORTS_MAX && d->ports[p].owner == c &&
			      d->ports[p].queued,
			      "dom %u port %u: in the queue of fd %d but not queued for it", c->domid,
			      p, c->fd);
		last = p;
		p = d->ports[p].queue_next;
	}
	EVTCHN_ASSERT(p == 0 && c->queue_last == last,
		      "dom %u: queue of fd %d: %u ports, then port %u; last %u, counted %u",
		      c->domid, c->fd, c->queue_len, p, c->queue_last, last);
	EVTCHN_ASSERT(poll(&pfd, 1, 0) >= 0, "dom %u: poll of fd %d failed", c->domid, c->fd);
	bool readable = pfd.revents & POLLIN;
	EVTCHN_ASSERT(readable == (c->queue_len > 0 || c->dead),
		      "dom %u: fd %d readable=%d with %u queued (dead %d)", c->domid, c->fd,
		      readable, c->queue_len, c->dead);
}

void evtchn_check(void)
{
	static unsigned checks;
	unsigned handles = 0;

	pthread_mutex_lock(&evtchn_lock);
	bool full = checks++ % EVTCHN_CHECK_FULL_EVERY == 0;
	for (struct evtchn_core *c = evtchn_cores; c; c = c->next)
		c->check_ports = 0;
	for (unsigned id = 0; id < evtchn_doms_hi; id++)
		if (evtchn_doms[id])
			evtchn_check_domain_locked(evtchn_doms[id], full);
	for (struct evtchn_core *c = evtchn_cores; c; c = c->next) {
		evtchn_check_core_locked(c);
		handles += c->refs;
	}
	EVTCHN_ASSERT(handles == evtchn_handles, "%u handles open, counted %u", evtchn_handles,
		      handles);
	pthread_mutex_unlock(&evtchn_lock);
}
