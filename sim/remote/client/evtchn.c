/*
 * libxenevtchn.so.1 for exec'd domains: every call goes to the sim as the
 * domain of XENSIM_REMOTE_SOCKET. xenevtchn_fd() is the sim handle's own
 * eventfd, passed at open: it polls readable exactly while a port is
 * pending on the handle (the in-process rule), and xenevtchn_pending()
 * blocks until one is, like a read of Linux's /dev/xen/evtchn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "sim/remote/client/rc.h"

struct xenevtchn_handle {
	struct rc_conn *c;
	int fd;
};

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
	xenevtchn_handle *h = calloc(1, sizeof(*h));

	(void)logger;
	if (!h)
		return NULL;
	h->c = rc_open(RMT_OPEN_EVTCHN, flags, !(flags & XENEVTCHN_NO_CLOEXEC), &h->fd);
	if (!h->c || h->fd < 0) {
		int e = h->c ? EPROTO : errno;
		rc_close(h->c);
		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned int flags)
{
	(void)logger, (void)fd, (void)flags;
	fprintf(stderr, "xensim remote: xenevtchn_fdopen: an exec'd domain has no "
		"/dev/xen/evtchn fd to adopt: use xenevtchn_open\n");
	errno = EOPNOTSUPP;
	return NULL;
}

int xenevtchn_close(xenevtchn_handle *h)
{
	if (!h)
		return 0;
	close(h->fd);
	rc_close(h->c);   /* the sim closes the handle: its ports go */
	free(h);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *h)
{
	return h->fd;
}

static int64_t ev_call(xenevtchn_handle *h, enum rmt_op op, uint64_t a0, uint64_t a1)
{
	uint64_t a[6] = {a0, a1};

	return rc_call(h->c, op, a, NULL, 0, NULL, 0, NULL);
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *h, uint32_t domid)
{
	return (xenevtchn_port_or_error_t)ev_call(h, RMT_EVT_BIND_UNBOUND, domid, 0);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *h, uint32_t domid,
						     evtchn_port_t remote_port)
{
	return (xenevtchn_port_or_error_t)ev_call(h, RMT_EVT_BIND_INTERDOMAIN, domid, remote_port);
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *h, unsigned int virq)
{
	return (xenevtchn_port_or_error_t)ev_call(h, RMT_EVT_BIND_VIRQ, virq, 0);
}

int xenevtchn_unbind(xenevtchn_handle *h, evtchn_port_t port)
{
	return (int)ev_call(h, RMT_EVT_UNBIND, port, 0);
}

int xenevtchn_notify(xenevtchn_handle *h, evtchn_port_t port)
{
	return (int)ev_call(h, RMT_EVT_NOTIFY, port, 0);
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *h)
{
	return (xenevtchn_port_or_error_t)ev_call(h, RMT_EVT_PENDING, 0, 0);
}

int xenevtchn_unmask(xenevtchn_handle *h, evtchn_port_t port)
{
	return (int)ev_call(h, RMT_EVT_UNMASK, port, 0);
}

int xenevtchn_restrict(xenevtchn_handle *h, domid_t domid)
{
	return (int)ev_call(h, RMT_EVT_RESTRICT, domid, 0);
}
