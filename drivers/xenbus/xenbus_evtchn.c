/*
 * An interdomain event channel on its own xenevtchn handle, served from a
 * libevent loop. The evtchn device masks a port when it delivers it; we unmask
 * only after the handler ran (Linux's "late EOI"), and when events keep coming
 * with no work behind them we delay the unmask, doubling up to a bound. A peer
 * that hammers the port then costs at most one empty handler run per delay
 * (XSA-332 for backends, XSA-391 for frontends); a pending event is never lost,
 * the unmask re-delivers it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/xenbus/xenbus_internal.h"

struct xenbus_evtchn {
	struct event_base *ec_base;
	xenevtchn_handle *ec_xce;
	evtchn_port_t ec_port;
	bool ec_bound;
	struct event *ec_ev;          /* the handle's fd is readable */
	struct event *ec_timer;       /* delayed unmask */
	xenbus_evtchn_fn *ec_fn;
	void *ec_arg;
	unsigned ec_empty_run;        /* events in a row that found no work */
	unsigned ec_delay_us;
	bool ec_in_fn, ec_closing;
	struct xenbus_evtchn_stats ec_stats;
};

static void xenbus_evtchn_free(struct xenbus_evtchn *ch)
{
	if (ch->ec_ev)
		event_free(ch->ec_ev);
	if (ch->ec_timer)
		event_free(ch->ec_timer);
	if (ch->ec_bound && xenevtchn_unbind(ch->ec_xce, ch->ec_port) < 0)
		xd_log("xenbus: unbinding event channel port %u failed: %s", ch->ec_port,
		       strerror(errno));
	if (ch->ec_xce)
		xenevtchn_close(ch->ec_xce);
	free(ch);
}

static void xenbus_evtchn_unmask(struct xenbus_evtchn *ch)
{
	if (xenevtchn_unmask(ch->ec_xce, ch->ec_port) < 0)
		xd_log("xenbus: unmasking port %u failed: %s", ch->ec_port, strerror(errno));
}

static void xenbus_evtchn_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	xenbus_evtchn_unmask(arg);
}

/* After the handler: unmask now, or later if this looks like a storm. */
static void xenbus_evtchn_eoi(struct xenbus_evtchn *ch, bool work)
{
	if (work) {
		ch->ec_empty_run = 0;
		ch->ec_delay_us = 0;
	} else {
		ch->ec_stats.spurious++;
		ch->ec_empty_run++;
	}
	if (ch->ec_empty_run <= XENBUS_EVTCHN_SPURIOUS_FREE) {
		xenbus_evtchn_unmask(ch);
		return;
	}
	ch->ec_delay_us = ch->ec_delay_us ? ch->ec_delay_us * 2 : XENBUS_EVTCHN_DELAY_US_MIN;
	if (ch->ec_delay_us > XENBUS_EVTCHN_DELAY_US_MAX)
		ch->ec_delay_us = XENBUS_EVTCHN_DELAY_US_MAX;
	struct timeval tv = {.tv_sec = ch->ec_delay_us / 1000000, .tv_usec = ch->ec_delay_us % 1000000};
	ch->ec_stats.delayed++;
	if (evtimer_add(ch->ec_timer, &tv) < 0)
		xenbus_evtchn_unmask(ch);
}

static void xenbus_evtchn_ready(evutil_socket_t fd, short what, void *arg)
{
	struct xenbus_evtchn *ch = arg;
	xenevtchn_port_or_error_t port = xenevtchn_pending(ch->ec_xce);

	(void)fd;
	(void)what;
	if (port < 0)
		return;
	if ((evtchn_port_t)port != ch->ec_port) {
		xenevtchn_unmask(ch->ec_xce, (evtchn_port_t)port);   /* not ours: cannot happen */
		return;
	}
	ch->ec_stats.events++;
	ch->ec_in_fn = true;
	bool work = ch->ec_fn(ch->ec_arg);
	ch->ec_in_fn = false;
	if (ch->ec_closing)
		xenbus_evtchn_free(ch);
	else
		xenbus_evtchn_eoi(ch, work);
}

static int xenbus_evtchn_new(struct event_base *base, xenbus_evtchn_fn *fn, void *arg,
			     struct xenbus_evtchn **out)
{
	struct xenbus_evtchn *ch = calloc(1, sizeof(*ch));

	if (!ch)
		return -ENOMEM;
	ch->ec_base = base;
	ch->ec_fn = fn;
	ch->ec_arg = arg;
	ch->ec_xce = xenevtchn_open(NULL, 0);
	if (!ch->ec_xce) {
		int rc = errno ? -errno : -EIO;
		free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

static int xenbus_evtchn_arm(struct xenbus_evtchn *ch, xenevtchn_port_or_error_t port)
{
	if (port < 0)
		return errno ? -errno : -EIO;
	ch->ec_port = (evtchn_port_t)port;
	ch->ec_bound = true;
	ch->ec_ev = event_new(ch->ec_base, xenevtchn_fd(ch->ec_xce), EV_READ | EV_PERSIST,
			      xenbus_evtchn_ready, ch);
	ch->ec_timer = evtimer_new(ch->ec_base, xenbus_evtchn_timer, ch);
	if (!ch->ec_ev || !ch->ec_timer || event_add(ch->ec_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

int xenbus_evtchn_alloc(struct event_base *base, uint32_t remote_domid, xenbus_evtchn_fn *fn,
			void *arg, struct xenbus_evtchn **out)
{
	struct xenbus_evtchn *ch;
	int rc = xenbus_evtchn_new(base, fn, arg, &ch);

	if (rc < 0)
		return rc;
	rc = xenbus_evtchn_arm(ch, xenevtchn_bind_unbound_port(ch->ec_xce, remote_domid));
	if (rc < 0) {
		xd_log("xenbus: allocating an event channel for dom%u failed: %s", remote_domid,
		       strerror(-rc));
		xenbus_evtchn_free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

int xenbus_evtchn_bind(struct event_base *base, uint32_t remote_domid, uint32_t remote_port,
		       xenbus_evtchn_fn *fn, void *arg, struct xenbus_evtchn **out)
{
	struct xenbus_evtchn *ch;
	int rc = xenbus_evtchn_new(base, fn, arg, &ch);

	if (rc < 0)
		return rc;
	rc = xenbus_evtchn_arm(ch, xenevtchn_bind_interdomain(ch->ec_xce, remote_domid, remote_port));
	if (rc < 0) {
		xd_log("xenbus: binding to dom%u port %u failed: %s", remote_domid, remote_port,
		       strerror(-rc));
		xenbus_evtchn_free(ch);
		return rc;
	}
	*out = ch;
	return 0;
}

evtchn_port_t xenbus_evtchn_port(const struct xenbus_evtchn *ch)
{
	return ch->ec_port;
}

int xenbus_evtchn_notify(struct xenbus_evtchn *ch)
{
	ch->ec_stats.notifies++;
	return xenevtchn_notify(ch->ec_xce, ch->ec_port) < 0 ? (errno ? -errno : -EIO) : 0;
}

void xenbus_evtchn_stats(const struct xenbus_evtchn *ch, struct xenbus_evtchn_stats *out)
{
	*out = ch->ec_stats;
}

void xenbus_evtchn_close(struct xenbus_evtchn *ch)
{
	if (!ch)
		return;
	if (ch->ec_in_fn)
		ch->ec_closing = true;
	else
		xenbus_evtchn_free(ch);
}
