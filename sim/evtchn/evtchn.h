/*
 * sim/evtchn: per-domain event-channel port tables. Implements Xen's
 * libxenevtchn API (xenevtchn.h) for in-process domains; this header is the
 * sim-side view that other sim modules, tests and the harness use.
 */
#ifndef SIM_EVTCHN_H
#define SIM_EVTCHN_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/event_channel.h>
#include <xen/xen.h>

#define EVTCHN_PORTS_MAX 4096u        /* ports per domain (port 0 is reserved) */
#define EVTCHN_HANDLE_QUEUE_MAX 4096u /* delivered, not yet read ports per handle */

#define EVTCHN_STRICT_ENV "XENSIM_EVTCHN_STRICT"   /* "0" (default) or "1" */

/* Send an event from `domid`'s local port, as EVTCHNOP_send would (used by the
 * grant unmap notification). -EINVAL unknown/closed port, -ESRCH no such
 * domain. An unbound port (never connected, or its peer closed) drops the send
 * and returns 0, as Xen does; in strict mode it fails with -ENOTCONN. Goes
 * through the evtchn.notify.* fault sites. */
int evtchn_send(domid_t domid, evtchn_port_t port);

/* Strict mode: a send (xenevtchn_notify, evtchn_send) on an unbound port fails
 * with ENOTCONN and logs, instead of Xen's silent success. Default: the
 * environment variable XENSIM_EVTCHN_STRICT ("1" on, "0" or unset off; any
 * other value is reported and ignored), read at the first send;
 * evtchn_set_strict() overrides it for the process. */
bool evtchn_strict(void);
void evtchn_set_strict(bool strict);
/* Sends dropped on unbound ports since the process started (each also a
 * SIM_TR_NOTE "evtchn.notify.unbound" trace event: domid, its port as a, the
 * port's allowed remote domain as peer). */
uint64_t evtchn_unbound_sends(void);

/* Raise a virtual IRQ (e.g. VIRQ_DOM_EXC) for every handle bound to it. */
void evtchn_raise_virq(unsigned virq);

/* EVTCHNSTAT_* of a port, as EVTCHNOP_status reports it; -EINVAL out of range,
 * -ESRCH no such domain. remote_dom: the allowed (unbound) or peer
 * (interdomain) domain, else DOMID_INVALID; remote_port: the peer port
 * (interdomain) or the virq number (virq), else 0. Either pointer may be NULL. */
int evtchn_port_status(domid_t domid, evtchn_port_t port, domid_t *remote_dom,
		       evtchn_port_t *remote_port);

/* Ports not free in the domain (for leak checks). */
unsigned evtchn_ports_in_use(domid_t domid);
/* Open xenevtchn handles in the process. */
unsigned evtchn_handles_open(void);

/* Verify the whole state (peer links symmetric, masks, queues); aborts with a
 * message naming domain and port on a broken invariant. */
void evtchn_check(void);

#endif
