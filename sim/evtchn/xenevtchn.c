/*
 * libxenevtchn (xenevtchn.h) for in-process domains. The caller's domain is
 * the domain of the calling thread; a handle belongs to the domain that opened
 * it and refuses calls from other domains' threads (EPERM), and from any thread
 * once its domain is destroyed (ESRCH). Like the real library: -1 (or NULL)
 * with errno on failure; each failure also logs one line naming domain, port
 * and reason.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "sim/evtchn/evtchn_internal.h"

/* What a failing call reports: the handle's domain (and the caller's when it
 * differs), the local port, and the remote end or other argument it names.
 * Fields are uint32_t so a caller's out-of-range value is shown as passed. */
struct xce_err {
	const char *op;
	domid_t domid;            /* the handle's domain */
	domid_t caller;           /* the calling thread's domain */
	uint32_t port;            /* XCE_NONE: none */
	uint32_t rdom;            /* XCE_NONE: none */
	uint32_t rport;           /* XCE_NONE: none */
	const char *arg_name;     /* another argument worth naming ("virq", "fd") */
	uint32_t arg;
	const char *why;
};

#define XCE_NONE UINT32_MAX
#define XCE_ERR(o, cur, p)                                                     \
	(struct xce_err)                                                       \
	{                                                                      \
		.op = (o), .domid = (cur), .caller = (cur), .port = (p),       \
		.rdom = XCE_NONE, .rport = XCE_NONE, .why = "ok"               \
	}

static void xce_format(const struct xce_err *e, char *buf, size_t len)
{
	size_t n = 0;

	if (e->domid == DOMID_INVALID)
		n += (size_t)snprintf(buf + n, len - n, "no domain");
	else
		n += (size_t)snprintf(buf + n, len - n, "dom %u", e->domid);
	if (e->caller != e->domid && n < len)
		n += (size_t)snprintf(buf + n, len - n, " (called by %s %u)",
				      e->caller == DOMID_INVALID ? "no domain," : "dom",
				      e->caller);
	if (e->port != XCE_NONE && n < len)
		n += (size_t)snprintf(buf + n, len - n, " port %u", e->port);
	if (e->rdom != XCE_NONE && n < len)
		n += (size_t)snprintf(buf + n, len - n, " remote dom %u", e->rdom);
	if (e->rport != XCE_NONE && n < len)
		n += (size_t)snprintf(buf + n, len - n, " remote port %u", e->rport);
	if (e->arg_name && n < len)
		snprintf(buf + n, len - n, " %s %u", e->arg_name, e->arg);
}

static int xce_fail(const struct xce_err *e, int rc)
{
	char what[160];

	xce_format(e, what, sizeof(what));
	sim_log("evtchn: %s: %s: %s (%s)", e->op, what, e->why, strerror(-rc));
	errno = -rc;
	return -1;
}

/* May the calling domain `cur` use the handle now? */
static int xce_enter_locked(const xenevtchn_handle *h, domid_t cur, struct xce_err *e)
{
	int rc = 0;

	e->domid = h->core->domid;
	if (h->core->dead) {
		rc = -ESRCH;
		e->why = "the handle's domain was destroyed";
	} else if (cur != h->core->domid) {
		rc = -EPERM;
		e->why = "a handle is only usable by the domain that opened it";
	}
	return rc;
}

/* The handle's domain table and the port, if the port is bound to this handle. */
static int xce_own_port_locked(const xenevtchn_handle *h, evtchn_port_t port,
			       struct evtchn_domain **dp, struct xce_err *e)
{
	struct evtchn_domain *d = evtchn_domain_locked(h->core->domid);
	int rc = 0;

	EVTCHN_ASSERT(d, "dom %u: live handle without a port table", h->core->domid);
	if (port == 0 || port >= EVTCHN_PORTS_MAX) {
		rc = -EINVAL;
		e->why = "port out of range";
	} else if (d->ports[port].owner != h->core) {
		rc = -EINVAL;
		e->why = d->ports[port].state == EVTCHNSTAT_closed ? "port is closed"
								   : "port is not bound to this handle";
	}
	*dp = d;
	return rc;
}

/* ---- open / close ---- */

/* The fd is an eventfd in semaphore mode counting queued ports, so poll and
 * libevent see "readable" exactly while something is queued. Non-blocking:
 * xenevtchn_pending() does its own blocking with poll(), and the queue side
 * never waits on it. */
static int xce_core_new(domid_t domid, unsigned flags, struct evtchn_core **out)
{
	struct evtchn_core *core = calloc(1, sizeof(*core));
	int efd_flags = EFD_SEMAPHORE | EFD_NONBLOCK;
	int rc = core ? 0 : -ENOMEM;

	if (!(flags & XENEVTCHN_NO_CLOEXEC))
		efd_flags |= EFD_CLOEXEC;
	if (core) {
		core->fd = eventfd(0, efd_flags);
		core->domid = domid;
		core->restrict_dom = DOMID_INVALID;
		core->refs = 1;
	}
	if (core && core->fd < 0) {
		rc = -errno;
		free(core);
		core = NULL;
	}
	*out = core;
	return rc;
}

static void xce_core_free(struct evtchn_core *core)
{
	close(core->fd);
	free(core);
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	struct xce_err e = XCE_ERR("open", sim_current_domid(), XCE_NONE);
	xenevtchn_handle *h = NULL;
	int rc = 0;

	(void)logger;
	sim_sched_point("evtchn.open");
	if (flags & ~XENEVTCHN_NO_CLOEXEC) {
		rc = -EINVAL;
		e.why = "unknown flags";
	} else if (e.domid == DOMID_INVALID) {
		rc = -ESRCH;
		e.why = "calling thread is in no domain (use sim_domain_call or sim_thread_enter)";
	} else {
		h = calloc(1, sizeof(*h));
		rc = h ? xce_core_new(e.domid, flags, &h->core) : -ENOMEM;
		if (rc < 0)
			e.why = "cannot allocate the handle or its eventfd";
	}
	if (rc == 0) {
		pthread_mutex_lock(&evtchn_lock);
		if (evtchn_domain_locked(e.domid)) {
			evtchn_core_add_locked(h->core);
			evtchn_handles_open_add_locked(1);
		} else {
			rc = -ESRCH;
			e.why = "domain does not exist (or is being destroyed)";
		}
		pthread_mutex_unlock(&evtchn_lock);
	}
	if (rc < 0) {
		if (h && h->core)
			xce_core_free(h->core);
		free(h);
		h = NULL;
		xce_fail(&e, rc);
	}
	return h;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
				   unsigned open_flags)
{
	struct xce_err e = XCE_ERR("fdopen", sim_current_domid(), XCE_NONE);
	xenevtchn_handle *h = calloc(1, sizeof(*h));
	int rc = h ? 0 : -ENOMEM;

	(void)logger;
	sim_sched_point("evtchn.fdopen");
	if (open_flags & XENEVTCHN_NO_CLOEXEC) {
		rc = -EINVAL;
		e.why = "XENEVTCHN_NO_CLOEXEC is not accepted by fdopen";
	}
	pthread_mutex_lock(&evtchn_lock);
	struct evtchn_core *core = rc == 0 ? evtchn_core_find_fd_locked(fd) : NULL;
	if (rc == 0 && !core) {
		rc = -EBADF;
		e.why = "fd is not an open event-channel handle";
	}
	if (rc == 0) {
		h->core = core;
		rc = xce_enter_locked(h, e.domid, &e);
	}
	if (rc == 0) {
		core->refs++;
		evtchn_handles_open_add_locked(1);
	}
	pthread_mutex_unlock(&evtchn_lock);
	if (rc < 0) {
		free(h);
		h = NULL;
		e.arg_name = "fd";
		e.arg = (uint32_t)fd;
		xce_fail(&e, rc);
	}
	return h;
}

int xenevtchn_close(xenevtchn_handle *h)
{
	struct evtchn_core *dead = NULL;

	sim_sched_point("evtchn.close");
	if (!h)
		return 0;
	/* Allowed from any thread, as after fork: closing is always safe. */
	pthread_mutex_lock(&evtchn_lock);
	struct evtchn_core *core = h->core;
	EVTCHN_ASSERT(core->refs > 0, "dom %u: close of a handle whose fd %d has no references",
		      core->domid, core->fd);
	evtchn_handles_open_add_locked(-1);
	if (--core->refs == 0) {
		evtchn_core_unbind_all_locked(core);
		evtchn_core_remove_locked(core);
		dead = core;
	}
	pthread_mutex_unlock(&evtchn_lock);
	if (dead)
		xce_core_free(dead);
	free(h);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->core->fd;
}

/* ---- binding ---- */

/* The restriction of xenevtchn_restrict(): Linux answers EACCES, the project
 * contract EPERM. */
static int xce_restricted_locked(const xenevtchn_handle *h, domid_t remote,
				 struct xce_err *e)
{
	domid_t r = h->core->restrict_dom;
	int rc = 0;

	if (r != DOMID_INVALID && r != remote) {
		rc = -EPERM;
		e->why = "handle is restricted to another domain";
	}
	return rc;
}

static domid_t xce_resolve_domid(uint32_t domid, domid_t cur)
{
	return domid == DOMID_SELF ? cur : domid < SIM_DOMID_LIMIT ? (domid_t)domid : DOMID_INVALID;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	domid_t cur = sim_current_domid();
	domid_t remote = xce_resolve_domid(domid, cur);
	struct xce_err e = XCE_ERR("bind_unbound_port", cur, XCE_NONE);
	evtchn_port_t port = 0;

	sim_sched_point("evtchn.bind_unbound_port");
	bool fault = evtchn_alloc_fault(cur, remote);
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_enter_locked(h, cur, &e);
	if (rc == 0)
		rc = xce_restricted_locked(h, remote, &e);
	if (rc == 0 && !evtchn_domain_locked(remote)) {
		rc = -ESRCH;
		e.why = "remote domain does not exist";
	}
	if (rc == 0 && (rc = fault ? -ENOSPC : evtchn_port_alloc_locked(h->core, remote, &port)) < 0)
		e.why = "no free port";
	pthread_mutex_unlock(&evtchn_lock);
	if (rc < 0) {
		e.rdom = domid;
		return xce_fail(&e, rc);
	}
	return (xenevtchn_port_or_error_t)port;
}

/* Is `rport` of `rd` an unbound port that `cur` may bind to? */
static int xce_check_remote_locked(const struct evtchn_domain *rd, evtchn_port_t rport,
				   domid_t cur, struct xce_err *e)
{
	int rc = -EINVAL;

	if (!rd) {
		rc = -ESRCH;
		e->why = "remote domain does not exist";
	} else if (rport == 0 || rport >= EVTCHN_PORTS_MAX) {
		e->why = "remote port out of range";
	} else if (rd->ports[rport].state != EVTCHNSTAT_unbound) {
		e->why = "remote port is not unbound";
	} else if (rd->ports[rport].remote_dom != cur) {
		e->why = "remote port allows another domain";
	} else {
		rc = 0;
	}
	return rc;
}

static int xce_bind_interdomain_locked(xenevtchn_handle *h, domid_t cur, domid_t remote,
				       evtchn_port_t rport, bool fault, evtchn_port_t *port,
				       struct xce_err *e)
{
	struct evtchn_domain *rd = evtchn_domain_locked(remote);
	int rc = xce_enter_locked(h, cur, e);

	if (rc == 0)
		rc = xce_restricted_locked(h, remote, e);
	if (rc == 0)
		rc = xce_check_remote_locked(rd, rport, cur, e);
	if (rc == 0 && (rc = fault ? -ENOSPC : evtchn_port_alloc_locked(h->core, remote, port)) < 0)
		e->why = "no free local port";
	if (rc == 0) {
		struct evtchn_domain *d = evtchn_domain_locked(cur);
		d->ports[*port].state = EVTCHNSTAT_interdomain;
		d->ports[*port].remote_port = rport;
		rd->ports[rport].state = EVTCHNSTAT_interdomain;
		rd->ports[rport].remote_port = *port;
		/* Xen sets the new local port pending so that an event the peer
		 * sent before the bind is not lost: the handle sees one at once. */
		evtchn_raise_locked(d, *port);
	}
	return rc;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
						     evtchn_port_t remote_port)
{
	domid_t cur = sim_current_domid();
	domid_t remote = xce_resolve_domid(domid, cur);
	struct xce_err e = XCE_ERR("bind_interdomain", cur, XCE_NONE);
	evtchn_port_t port = 0;

	sim_sched_point("evtchn.bind_interdomain");
	bool fault = evtchn_alloc_fault(cur, remote);
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_bind_interdomain_locked(h, cur, remote, remote_port, fault, &port, &e);
	pthread_mutex_unlock(&evtchn_lock);
	if (rc < 0) {
		e.rdom = domid;
		e.rport = remote_port;
		return xce_fail(&e, rc);
	}
	return (xenevtchn_port_or_error_t)port;
}

static int xce_bind_virq_locked(xenevtchn_handle *h, domid_t cur, unsigned virq,
				bool privileged, evtchn_port_t *port, struct xce_err *e)
{
	struct evtchn_domain *d = evtchn_domain_locked(cur);
	int rc = xce_enter_locked(h, cur, e);

	if (rc == 0 && h->core->restrict_dom != DOMID_INVALID) {
		rc = -EPERM;
		e->why = "handle is restricted to a domain";
	} else if (rc == 0 && virq >= NR_VIRQS) {
		rc = -EINVAL;
		e->why = "virq out of range";
	} else if (rc == 0 && virq == VIRQ_DOM_EXC && !privileged) {
		rc = -EPERM;
		e->why = "VIRQ_DOM_EXC needs a privileged domain";
	} else if (rc == 0 && d->virq_port[virq] != 0) {
		/* Xen binds a virq once per vcpu (domain here): EEXIST. */
		rc = -EEXIST;
		e->why = "virq already bound in this domain";
	}
	if (rc == 0 && (rc = evtchn_port_alloc_locked(h->core, DOMID_INVALID, port)) < 0)
		e->why = "no free port";
	if (rc == 0) {
		d->ports[*port].state = EVTCHNSTAT_virq;
		d->ports[*port].virq = (uint8_t)virq;
		d->virq_port[virq] = *port;
	}
	return rc;
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("bind_virq", cur, XCE_NONE);
	evtchn_port_t port = 0;

	sim_sched_point("evtchn.bind_virq");
	bool privileged = sim_domain_privileged(cur);   /* hypervisor call: before our lock */
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_bind_virq_locked(h, cur, virq, privileged, &port, &e);
	pthread_mutex_unlock(&evtchn_lock);
	if (rc < 0) {
		e.arg_name = "virq";
		e.arg = virq;
		return xce_fail(&e, rc);
	}
	return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("unbind", cur, port);
	struct evtchn_domain *d;

	sim_sched_point("evtchn.unbind");
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_enter_locked(h, cur, &e);
	if (rc == 0)
		rc = xce_own_port_locked(h, port, &d, &e);
	if (rc == 0)
		evtchn_port_close_locked(d, port);
	pthread_mutex_unlock(&evtchn_lock);
	return rc < 0 ? xce_fail(&e, rc) : 0;
}

int xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("restrict", cur, XCE_NONE);

	sim_sched_point("evtchn.restrict");
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_enter_locked(h, cur, &e);
	if (rc == 0 && domid >= DOMID_FIRST_RESERVED) {
		rc = -EINVAL;
		e.why = "cannot restrict to a reserved domid";
	} else if (rc == 0 && h->core->restrict_dom != DOMID_INVALID) {
		rc = -EPERM;
		e.why = "handle is already restricted";
	}
	if (rc == 0)
		h->core->restrict_dom = domid;
	pthread_mutex_unlock(&evtchn_lock);
	e.arg_name = "to domid";
	e.arg = domid;
	return rc < 0 ? xce_fail(&e, rc) : 0;
}

/* ---- events ---- */

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("notify", cur, port);
	struct evtchn_send_faults faults;
	struct evtchn_domain *d;

	sim_sched_point("evtchn.notify");
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_enter_locked(h, cur, &e);
	if (rc == 0)
		rc = xce_own_port_locked(h, port, &d, &e);
	if (rc == 0)
		rc = evtchn_send_locked(cur, port, NULL, &e.why);
	domid_t peer = rc >= 0 ? d->ports[port].remote_dom : DOMID_INVALID;
	pthread_mutex_unlock(&evtchn_lock);
	if (rc == 0) {
		/* The fault registry is not called under our lock; the port may
		 * change in between, so the send validates again. */
		evtchn_send_faults_draw(&faults, cur, peer, port);
		pthread_mutex_lock(&evtchn_lock);
		rc = xce_enter_locked(h, cur, &e);
		if (rc == 0)
			rc = xce_own_port_locked(h, port, &d, &e);
		if (rc == 0)
			rc = evtchn_send_locked(cur, port, &faults, &e.why);
		pthread_mutex_unlock(&evtchn_lock);
	}
	if (rc == EVTCHN_SEND_UNBOUND)
		rc = evtchn_send_dropped(cur, port, peer);
	return rc < 0 ? xce_fail(&e, rc) : 0;
}

/* Block until the fd is readable (something queued, or the domain died). */
static bool xce_fd_readable(void *arg)
{
	struct pollfd pfd = {.fd = *(int *)arg, .events = POLLIN};

	return poll(&pfd, 1, 0) > 0;
}

static int xce_wait_readable(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	int n;

	if (sim_mode() == SIM_MODE_DET) {
		/* The token holder must not block: wait through the scheduler. */
		sim_sched_block_until(xce_fd_readable, &fd);
		return 0;
	}
	do
		n = poll(&pfd, 1, -1);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("pending", cur, XCE_NONE);
	evtchn_port_t port = 0;
	int rc;

	sim_sched_point("evtchn.pending");
	for (;;) {
		pthread_mutex_lock(&evtchn_lock);
		rc = xce_enter_locked(h, cur, &e);
		if (rc == 0)
			rc = evtchn_core_dequeue_locked(h->core, &port);
		pthread_mutex_unlock(&evtchn_lock);
		if (rc != -EAGAIN)
			break;
		/* Blocking read semantics, like Linux's evtchn device. */
		rc = xce_wait_readable(h->core->fd);
		if (rc < 0) {
			e.why = "poll of the handle's fd failed";
			break;
		}
	}
	if (rc < 0)
		return xce_fail(&e, rc);
	return (xenevtchn_port_or_error_t)port;
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	domid_t cur = sim_current_domid();
	struct xce_err e = XCE_ERR("unmask", cur, port);
	struct evtchn_domain *d;

	sim_sched_point("evtchn.unmask");
	pthread_mutex_lock(&evtchn_lock);
	int rc = xce_enter_locked(h, cur, &e);
	if (rc == 0)
		rc = xce_own_port_locked(h, port, &d, &e);
	if (rc == 0)
		evtchn_unmask_locked(d, port);
	pthread_mutex_unlock(&evtchn_lock);
	return rc < 0 ? xce_fail(&e, rc) : 0;
}
