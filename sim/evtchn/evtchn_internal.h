/*
 * Private to sim/evtchn. The port tables, the shared state behind a
 * xenevtchn handle (its "core": fd, delivery queue, restriction) and the
 * operations on them that both evtchn.c (sim side, hooks, check) and
 * xenevtchn.c (the libxenevtchn API) use. Everything named *_locked expects
 * evtchn_lock to be held.
 */
#ifndef SIM_EVTCHN_INTERNAL_H
#define SIM_EVTCHN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/evtchn/evtchn.h"
#include "sim/hypervisor/hypervisor.h"

/* A queued port is masked until unmasked, so one handle queues each of its
 * domain's ports at most once: the queue, a list threaded through the ports
 * themselves, can never overflow and costs a handle no memory. */
_Static_assert(EVTCHN_PORTS_MAX <= EVTCHN_HANDLE_QUEUE_MAX,
	       "a handle's queue holds every port of its domain");
_Static_assert(EVTCHN_PORTS_MAX <= (1u << 31), "ports fit xenevtchn_port_or_error_t");
_Static_assert(NR_VIRQS <= 256, "a virq fits the port's uint8_t");

/* Invariants are checked always, not only in debug builds. */
#define EVTCHN_ASSERT(cond, ...) SIM_ASSERT_IN("evtchn", cond, __VA_ARGS__)

struct evtchn_core;

struct evtchn_port {
	struct evtchn_core *owner;   /* the handle that bound it; NULL iff free */
	evtchn_port_t remote_port;   /* interdomain: the peer's port */
	domid_t remote_dom;          /* unbound: who may bind; interdomain: peer */
	uint8_t state;               /* EVTCHNSTAT_closed (free), _unbound, _interdomain, _virq */
	uint8_t virq;                /* virq: which one */
	bool pending;                /* an event arrived and was not delivered yet */
	bool masked;                 /* delivery held back until unmask */
	bool queued;                 /* on owner's queue, not read yet */
	bool unmask_deferred;        /* unmasked while queued: unmask when read */
	evtchn_port_t queue_next;    /* queued: the next port in owner's queue, 0 at the end */
};

struct evtchn_domain {
	domid_t domid;
	unsigned ports_used;
	/* Every port from here on was never allocated (evtchn_port_alloc_locked is
	 * the only way out of closed): still as calloc left it. A check visits
	 * ports below it, and all of them only every few checks and at destroy. */
	evtchn_port_t ports_hwm;
	evtchn_port_t virq_port[NR_VIRQS];   /* 0: virq not bound in this domain */
	struct evtchn_port ports[EVTCHN_PORTS_MAX];
};

/* What a xenevtchn handle (and every fdopen of its fd) shares. */
struct evtchn_core {
	struct evtchn_core *next, *prev;   /* all cores of the process */
	domid_t domid;              /* the domain that opened it */
	domid_t restrict_dom;       /* DOMID_INVALID: unrestricted */
	bool dead;                  /* its domain was destroyed */
	int fd;                     /* eventfd, semaphore mode: count == queue_len (+1 if dead) */
	unsigned refs;              /* xenevtchn handles on this core */
	unsigned ports_bound;
	unsigned check_ports;       /* scratch for evtchn_check */
	unsigned queue_len;
	evtchn_port_t queue_first, queue_last;   /* delivered ports, oldest first; 0: none */
};

struct xenevtchn_handle {
	struct evtchn_core *core;
};

/* Fault decisions for one send, drawn outside the lock. */
struct evtchn_send_faults {
	bool drop, dup, spurious;
	uint64_t spurious_pick;
};

extern pthread_mutex_t evtchn_lock;

/* The domain's port table, or NULL if the domain does not exist (for us). */
struct evtchn_domain *evtchn_domain_locked(domid_t domid);

/* Core registry. */
void evtchn_core_add_locked(struct evtchn_core *core);
void evtchn_core_remove_locked(struct evtchn_core *core);
struct evtchn_core *evtchn_core_find_fd_locked(int fd);
unsigned evtchn_handles_open_add_locked(int delta);

/* Allocate the lowest free port of the core's domain for the core, state
 * unbound allowing `remote_dom`. -ENOSPC when the table is full. */
int evtchn_port_alloc_locked(struct evtchn_core *core, domid_t remote_dom,
			     evtchn_port_t *port);
/* Close a bound port (EVTCHNOP_close): an interdomain peer returns to unbound
 * allowing this domain; a queued event for the port is discarded. */
void evtchn_port_close_locked(struct evtchn_domain *d, evtchn_port_t port);
/* Close every port of the core. */
void evtchn_core_unbind_all_locked(struct evtchn_core *core);

/* An event arrives at a bound port: pending, delivered unless masked. */
void evtchn_raise_locked(struct evtchn_domain *d, evtchn_port_t port);
/* Unmask; re-delivers a pending port. Deferred while the port is queued. */
void evtchn_unmask_locked(struct evtchn_domain *d, evtchn_port_t port);
/* Next delivered port of the core; -EAGAIN if none is queued. */
int evtchn_core_dequeue_locked(struct evtchn_core *core, evtchn_port_t *port);

/* Send from `domid`'s port `port`. faults == NULL: only validate. Returns 0,
 * EVTCHN_SEND_UNBOUND (unbound: dropped, nothing done yet; the caller counts it
 * with evtchn_send_dropped), -ESRCH (no such domain), -EINVAL (out of range,
 * closed, not sendable) or -ENOTCONN (unbound, strict mode); *why says which
 * in words. */
#define EVTCHN_SEND_UNBOUND 1
int evtchn_send_locked(domid_t domid, evtchn_port_t port,
		       const struct evtchn_send_faults *faults, const char **why);
/* Count a send dropped on an unbound port and put it on the timeline (the
 * port's allowed remote domain as the peer). Returns 0, the send's result. */
int evtchn_send_dropped(domid_t domid, evtchn_port_t port, domid_t remote_dom);
/* The evtchn.alloc fault site, drawn before an allocation of a port of
 * domid's for peer (outside evtchn_lock): true to fail it with ENOSPC. */
bool evtchn_alloc_fault(domid_t domid, domid_t peer);
/* Draw the fault sites of one send (takes the fault registry lock). */
/* ctx of the fault sites: the sender, its peer and the sender's port. */
void evtchn_send_faults_draw(struct evtchn_send_faults *faults, domid_t domid, domid_t peer,
			     evtchn_port_t port);

#endif
