/*
 * netfront: open/close and the frontend's side of the xenbus handshake. For
 * netif the frontend publishes its rings and goes straight to Connected; the
 * backend then maps them and goes Connected too.
 *
 * Every backend state event leads to netfront_step(), which acts on (our
 * phase, the backend's state) only: watch events may be coalesced and states
 * skipped. A backend seen leaving Connected (to InitWait after a restart, or
 * Closing/Closed) takes our rings down; the next connection uses fresh rings,
 * ports and pages so nothing of the old one can be mistaken for the new one.
 * A frontend whose own state is left over from an earlier instance goes
 * Closed first, then Initialising, so that the backend lets go of old rings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netfront_internal.h"

static void netfront_step(struct netfront *nf, XenbusState be);

static struct xs_handle *netfront_xs(struct netfront *nf)
{
	return xenbus_xs(nf->nf_xb);
}

void netfront_event(struct netfront *nf, enum netfront_event ev)
{
	if (!nf->nf_cfg.on_event)
		return;
	nf->nf_cb_depth++;
	nf->nf_cfg.on_event(nf->nf_cfg.arg, nf, ev);
	nf->nf_cb_depth--;
}

/* Our state node: 0, or -errno (logged). A device whose directory is gone
 * (removed under us) has no state to write: not an error. */
static int netfront_switch(struct netfront *nf, XenbusState st)
{
	int rc = xenbus_state_switch(netfront_xs(nf), nf->nf_dir, st);

	if (rc < 0 && rc != -ENOENT) {
		xd_log("netfront: vif %" PRIu32 ": switching to %s failed: %s", nf->nf_cfg.devid,
		       xenbus_state_name(st), strerror(-rc));
		return rc;
	}
	return 0;
}

/* Terminal. The teardown runs later from the loop: we may be deep inside a
 * queue's event handler here. */
static void netfront_vfail(struct netfront *nf, int code, const char *fmt, va_list ap)
{
	if (nf->nf_phase == NF_DEAD)
		return;
	vsnprintf(nf->nf_error, sizeof(nf->nf_error), fmt, ap);
	nf->nf_error_code = code;
	nf->nf_phase = NF_DEAD;
	nf->nf_info.connected = false;
	xd_log("netfront: vif %" PRIu32 " (backend dom%" PRIu32 "): failed: %s", nf->nf_cfg.devid,
	       nf->nf_back.domid, nf->nf_error);
	event_active(nf->nf_defer_ev, EV_TIMEOUT, 0);
}

void netfront_fail(struct netfront *nf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	netfront_vfail(nf, -EIO, fmt, ap);
	va_end(ap);
}

void netfront_fail_proto(struct netfront *nf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	netfront_vfail(nf, -EPROTO, fmt, ap);
	va_end(ap);
}

/* A step of the handshake: switch, or fail the device. Going on after a
 * switch that did not happen would take the next step from a state the
 * backend never saw (Connected -> Initialising with the Closed between
 * refused by a quota): the protocol is broken, as a xenbus_dev_fatal is. */
static bool netfront_go(struct netfront *nf, XenbusState st)
{
	int rc = netfront_switch(nf, st);

	if (rc < 0)
		netfront_fail(nf, "switching to %s failed: %s", xenbus_state_name(st), strerror(-rc));
	return rc == 0;
}

static void netfront_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct netfront *nf = arg;

	(void)fd;
	(void)what;
	if (nf->nf_phase != NF_DEAD)
		return;
	netfront_rings_teardown(nf);
	xenbus_dev_fatal(netfront_xs(nf), nf->nf_dir, nf->nf_error);
	netfront_event(nf, NETFRONT_EV_FAILED);
}

/* ---- the handshake ---- */

/* The backend's offer, read again in the transaction that answers it
 * (xenbus_offer_answer): the rings were made from its keys a moment ago. */
static int netfront_offer_still(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netfront *nf = arg;
	XenbusState st;
	struct netfront_be_features f;
	int rc = xenbus_state_read_in(xs, t, nf->nf_back.path, &st);

	if (rc == 0 && st != XenbusStateInitWait)
		return -EINPROGRESS;
	if (rc == 0)
		rc = netfront_be_features(nf, t, &f);
	if (rc == 0 && !f.rx_copy)
		return -EPROTONOSUPPORT;   /* the only receive mode there is (request-rx-copy) */
	const struct netfront_be_features *o = &nf->nf_offer;
	if (rc == 0 && (f.rx_copy != o->rx_copy || f.sg != o->sg || f.gso_tcpv4 != o->gso_tcpv4 ||
			f.gso_tcpv6 != o->gso_tcpv6 || f.ipv6_csum != o->ipv6_csum || f.split != o->split ||
			f.queues != o->queues))
		return -ESTALE;
	return rc;
}

static int netfront_publish_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netfront *nf = arg;
	int rc = netfront_keys_clean(xs, t, nf);

	if (rc == 0)
		rc = netfront_rings_publish(xs, t, nf);
	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, nf->nf_dir, "state", "%d", XenbusStateConnected);
	return rc;
}

/* Its directory is gone: its domain died (or the device went). */
static bool netfront_backend_gone(struct netfront *nf)
{
	XenbusState st;
	int rc = xenbus_state_read(netfront_xs(nf), nf->nf_back.path, &st);

	return rc == -ENOENT || rc == -EACCES;
}

static void netfront_backend_away(struct netfront *nf);

static int netfront_setup_cb(void *arg)
{
	return netfront_rings_setup(arg);
}

static void netfront_teardown_cb(void *arg)
{
	netfront_rings_teardown(arg);
}

static void netfront_publish(struct netfront *nf)
{
	static const struct xenbus_offer_ops ops = {
		netfront_setup_cb, netfront_teardown_cb, netfront_offer_still, netfront_publish_tx,
	};
	int rc = xenbus_offer_answer(netfront_xs(nf), &ops, nf);

	if (rc == -EINPROGRESS)   /* still NF_WAIT_BACKEND: its InitWait brings us back */
		return;
	if (rc == -ESTALE) {
		netfront_fail(nf, "the backend's offer (%s) changed %u times while the rings were set up",
			      nf->nf_back.path, XENBUS_OFFER_TRIES);
		return;
	}
	if (rc < 0 && netfront_backend_gone(nf)) {
		netfront_rings_teardown(nf);   /* shared with a domain that died (ESRCH) */
		netfront_backend_away(nf);
		return;
	}
	if (rc < 0) {
		netfront_fail(nf, "setting up and publishing the rings failed: %s", strerror(-rc));
		return;
	}
	nf->nf_phase = NF_PUBLISHED;
}

static void netfront_read_carrier(struct netfront *nf)
{
	uint64_t v;

	/* Absent means up (netif.h, "Link state"). */
	nf->nf_info.carrier = xenbus_read_uint_or(netfront_xs(nf), XBT_NULL, nf->nf_back.path, "carrier", 1, 1,
						  &v) != 0 || v == 1;
}

static void netfront_connect(struct netfront *nf)
{
	nf->nf_phase = NF_CONNECTED;
	nf->nf_info.connected = true;
	nf->nf_connect_tries = 0;
	nf->nf_stats.connects++;
	netfront_read_carrier(nf);
	netfront_event(nf, NETFRONT_EV_CONNECTED);
}

/* Leave Connected: what the backend already answered is taken, then the
 * rings go. A queue's rx work takes NETFRONT_RX_BATCH frames a turn, so it
 * runs until it finds nothing (a full ring's worth of turns at most: a
 * backend still answering cannot keep us here). true if we were connected
 * (the caller tells the user, once our state says where we are). */
static bool netfront_disconnect(struct netfront *nf)
{
	bool was = nf->nf_phase == NF_CONNECTED;

	nf->nf_info.connected = false;
	for (unsigned i = 0; was && nf->nf_queues && i < nf->nf_nq; i++) {
		for (unsigned turn = 0; turn < NETFRONT_DRAIN_TURNS_MAX; turn++)
			if (!netfront_ev_both(&nf->nf_queues[i]) || nf->nf_phase == NF_DEAD || !nf->nf_queues)
				break;
		if (nf->nf_phase == NF_DEAD)
			return false;
	}
	netfront_rings_teardown(nf);
	return was;
}

/* This connection is over: rings down, Closed, and the user told if it was
 * up. False if the frontend died meanwhile (nothing more to do). */
static bool netfront_close_connection(struct netfront *nf)
{
	bool was = netfront_disconnect(nf);

	if (nf->nf_phase == NF_DEAD || !netfront_go(nf, XenbusStateClosed))
		return false;
	nf->nf_phase = NF_BACKEND_CLOSED;
	if (was)
		netfront_event(nf, NETFRONT_EV_DISCONNECTED);
	return true;
}

/* The backend closed on us: we go Closed and wait for it to come back. */
static void netfront_backend_closed(struct netfront *nf)
{
	if (nf->nf_phase == NF_PUBLISHED && ++nf->nf_connect_tries >= NETFRONT_CONNECT_TRIES_MAX) {
		char why[128] = "";
		xenbus_read_str(netfront_xs(nf), XBT_NULL, nf->nf_back.path, "error", why, sizeof(why));
		netfront_fail(nf, "backend refused the connection %u times (%s)", nf->nf_connect_tries,
			      why[0] ? why : "no reason given");
		return;
	}
	netfront_close_connection(nf);
}

/* A backend that starts over under a connected frontend (its domain
 * restarted): this connection is over. Connected may not go back to
 * Initialising: Closed first, then Initialising asks for a new connection. */
static void netfront_new_backend(struct netfront *nf, XenbusState be)
{
	if (netfront_close_connection(nf))
		netfront_step(nf, be);
}

static bool netfront_backend_fresh(XenbusState be)
{
	return be == XenbusStateClosed || be == XenbusStateInitWait || be == XenbusStateInitialising ||
	       be == XenbusStateUnknown;
}

/* The backend closed on us. Seen at Closed already (it skipped Closing, or
 * the watch coalesced both), it let go of our rings and will not move again
 * until we start over: no later event would bring us back, so go on now. */
static void netfront_backend_closed_at(struct netfront *nf, XenbusState be)
{
	netfront_backend_closed(nf);
	if (nf->nf_phase == NF_BACKEND_CLOSED && be == XenbusStateClosed)
		netfront_step(nf, be);
}

static void netfront_step(struct netfront *nf, XenbusState be)
{
	bool closing = be == XenbusStateClosing || be == XenbusStateClosed;

	switch (nf->nf_phase) {
	case NF_RESETTING:
	case NF_BACKEND_CLOSED:
		if (!netfront_backend_fresh(be) || !netfront_go(nf, XenbusStateInitialising))
			break;
		nf->nf_phase = NF_WAIT_BACKEND;
		netfront_step(nf, be);
		break;
	case NF_WAIT_BACKEND:
		if (be == XenbusStateInitWait)
			netfront_publish(nf);
		else if (be == XenbusStateClosing)
			/* Closed before we connected (a toolstack's close: online=0,
			 * Closing): it waits for us to close, as for a connected
			 * frontend. Its Closed brings us back to Initialising. */
			netfront_close_connection(nf);
		break;
	case NF_PUBLISHED:
		if (be == XenbusStateConnected)
			netfront_connect(nf);
		else if (closing)
			netfront_backend_closed_at(nf, be);
		break;
	case NF_CONNECTED:
		if (closing) {
			netfront_backend_closed_at(nf, be);
		} else if (be != XenbusStateConnected) {   /* back at InitWait: a new backend */
			netfront_new_backend(nf, be);
		}
		break;
	case NF_DEAD:
		break;
	}
}

/* The backend's directory vanished but ours is there: its domain died, and
 * a toolstack may bring one back (a restarted driver domain). We let go of
 * the rings and wait, as for a backend that closed. A removed device takes
 * our directory too. */
static void netfront_backend_away(struct netfront *nf)
{
	uint64_t v;
	int rc = xenbus_read_uint(netfront_xs(nf), XBT_NULL, nf->nf_dir, "backend-id", UINT32_MAX, &v);

	if (rc == -ENOENT || rc == -EACCES) {
		netfront_fail(nf, "device removed: %s/state is gone", nf->nf_back.path);
		return;
	}
	if (!evtimer_pending(nf->nf_away_timer, NULL)) {
		unsigned ms = nf->nf_cfg.away_timeout_ms;
		struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
		evtimer_add(nf->nf_away_timer, &tv);
		xd_log("netfront: vif %" PRIu32 ": backend dom%" PRIu32 " gone (%s vanished); waiting %u ms for it",
		       nf->nf_cfg.devid, nf->nf_back.domid, nf->nf_back.path, ms);
	}
	if (nf->nf_phase != NF_CONNECTED && nf->nf_phase != NF_PUBLISHED)
		return;   /* no rings out: nothing to let go of */
	netfront_close_connection(nf);
}

static void netfront_away_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct netfront *nf = arg;

	(void)fd;
	(void)what;
	netfront_fail(nf, "backend dom%" PRIu32 " gone (%s vanished) for %u ms", nf->nf_back.domid,
		      nf->nf_back.path, nf->nf_cfg.away_timeout_ms);
}

static void netfront_backend_changed(void *arg, const char *path)
{
	struct netfront *nf = arg;
	XenbusState be;
	int rc = xenbus_state_read(netfront_xs(nf), nf->nf_back.path, &be);

	(void)path;
	if (nf->nf_phase == NF_DEAD)
		return;
	/* xenstored answers EACCES rather than ENOENT below a parent we may not
	 * read: the backend's directory went with its parents. */
	if (rc == -ENOENT || rc == -EACCES) {
		netfront_backend_away(nf);
		return;
	}
	event_del(nf->nf_away_timer);   /* back (or never gone) */
	if (rc < 0)
		netfront_fail(nf, "backend state %s/state unreadable: %s", nf->nf_back.path, strerror(-rc));
	else
		netfront_step(nf, be);
}

static void netfront_carrier_changed(void *arg, const char *path)
{
	struct netfront *nf = arg;
	bool was = nf->nf_info.carrier;

	(void)path;
	if (nf->nf_phase != NF_CONNECTED)
		return;
	netfront_read_carrier(nf);
	if (was != nf->nf_info.carrier)
		netfront_event(nf, NETFRONT_EV_CARRIER);
}

/* ---- open / close ---- */

static int netfront_config_check(struct netfront_config *c)
{
	/* With scatter-gather a frame may take XEN_NETIF_NR_SLOTS_MIN buffers:
	 * fewer posted and it could never be delivered. */
	unsigned rx_min = c->sg ? XEN_NETIF_NR_SLOTS_MIN : 1;

	if (!c->base || c->queues_max > NETFRONT_QUEUES_MAX || c->tx_slots_max > NETFRONT_TX_SLOTS_LIMIT ||
	    (c->tx_slots_max && c->tx_slots_max < XEN_NETIF_NR_SLOTS_MIN) || c->tx_bufs > NETFRONT_RING_SIZE ||
	    (c->tx_bufs && c->tx_bufs < NETFRONT_TX_BUFS_MIN) || c->rx_bufs > NETFRONT_RING_SIZE ||
	    (c->rx_bufs && c->rx_bufs < rx_min))
		return -EINVAL;
	c->queues_max = c->queues_max ? c->queues_max : 1;
	c->tx_slots_max = c->tx_slots_max ? c->tx_slots_max : XEN_NETIF_NR_SLOTS_MIN;
	c->tx_bufs = c->tx_bufs ? c->tx_bufs : NETFRONT_RING_SIZE;
	c->rx_bufs = c->rx_bufs ? c->rx_bufs : NETFRONT_RING_SIZE;
	c->away_timeout_ms = c->away_timeout_ms ? c->away_timeout_ms : NETFRONT_AWAY_MS_DEFAULT;
	return 0;
}

/* Our mac, written by the toolstack in our own directory. */
static int netfront_read_mac(struct netfront *nf)
{
	char s[32];
	unsigned m[6];
	int rc = xenbus_read_str(netfront_xs(nf), XBT_NULL, nf->nf_dir, "mac", s, sizeof(s));

	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return -EINVAL;
	for (unsigned i = 0; i < 6; i++)
		nf->nf_info.mac[i] = (uint8_t)m[i];
	return 0;
}

/* Our own state decides where we start: a left-over one is closed first.
 * A state we cannot write fails the open. */
static int netfront_start_state(struct netfront *nf)
{
	XenbusState me = XenbusStateUnknown;

	xenbus_state_read(netfront_xs(nf), nf->nf_dir, &me);
	if (me == XenbusStateUnknown || me == XenbusStateInitialising || me == XenbusStateClosed) {
		nf->nf_phase = NF_WAIT_BACKEND;
		return netfront_switch(nf, XenbusStateInitialising);
	}
	nf->nf_phase = NF_RESETTING;
	return netfront_switch(nf, XenbusStateClosed);
}

static int netfront_setup(struct netfront *nf)
{
	char path[XENBUS_PATH_MAX];
	int rc = xenbus_open(nf->nf_cfg.base, &nf->nf_xb);

	if (rc == 0)
		rc = xenbus_frontend_lookup(netfront_xs(nf), "vif", nf->nf_cfg.devid, &nf->nf_back);
	if (rc == 0)
		rc = netfront_read_mac(nf);
	if (rc < 0)
		return rc;
	nf->nf_info.backend_domid = nf->nf_back.domid;
	nf->nf_gs = xengntshr_open(NULL, 0);
	if (!nf->nf_gs)
		return errno ? -errno : -EIO;
	nf->nf_defer_ev = event_new(nf->nf_cfg.base, -1, 0, netfront_deferred, nf);
	nf->nf_away_timer = evtimer_new(nf->nf_cfg.base, netfront_away_timeout, nf);
	if (!nf->nf_defer_ev || !nf->nf_away_timer)
		return -ENOMEM;
	rc = netfront_start_state(nf);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/carrier", nf->nf_back.path);
	rc = xenbus_watch(nf->nf_xb, path, netfront_carrier_changed, nf, &nf->nf_carrier_watch);
	snprintf(path, sizeof(path), "%s/state", nf->nf_back.path);
	return rc ? rc : xenbus_watch(nf->nf_xb, path, netfront_backend_changed, nf, &nf->nf_watch);
}

static void netfront_free(struct netfront *nf)
{
	if (nf->nf_xb) {
		xenbus_unwatch(nf->nf_xb, nf->nf_watch);
		xenbus_unwatch(nf->nf_xb, nf->nf_carrier_watch);
	}
	if (nf->nf_gs)
		xengntshr_close(nf->nf_gs);
	if (nf->nf_defer_ev)
		event_free(nf->nf_defer_ev);
	if (nf->nf_away_timer)
		event_free(nf->nf_away_timer);
	xenbus_close(nf->nf_xb);
	free(nf);
}

int netfront_open(const struct netfront_config *cfg, struct netfront **out)
{
	struct netfront *nf = calloc(1, sizeof(*nf));
	int rc = -ENOMEM;

	if (!nf)
		return rc;
	nf->nf_cfg = *cfg;
	rc = netfront_config_check(&nf->nf_cfg);
	snprintf(nf->nf_dir, sizeof(nf->nf_dir), "device/vif/%" PRIu32, cfg->devid);
	if (rc == 0)
		rc = netfront_setup(nf);
	if (rc < 0) {
		if (rc != -ENOENT)
			xd_log("netfront: opening vif %" PRIu32 " failed: %s", cfg->devid, strerror(-rc));
		netfront_free(nf);
		return rc;
	}
	*out = nf;
	return 0;
}

void netfront_close(struct netfront *nf)
{
	if (!nf)
		return;
	if (nf->nf_cb_depth)
		xd_log("netfront: vif %" PRIu32 ": closed from inside its own callback", nf->nf_cfg.devid);
	nf->nf_info.connected = false;
	netfront_rings_teardown(nf);
	if (nf->nf_phase != NF_DEAD)
		netfront_switch(nf, XenbusStateClosing);
	netfront_switch(nf, XenbusStateClosed);
	netfront_free(nf);
}

int netfront_info(const struct netfront *nf, struct netfront_info *out)
{
	*out = nf->nf_info;
	return nf->nf_phase == NF_DEAD ? -EIO : nf->nf_stats.connects ? 0 : -ENOTCONN;
}

void netfront_stats(const struct netfront *nf, struct netfront_stats *out)
{
	*out = nf->nf_stats;
	out->events = nf->nf_ev_closed.events;
	out->events_spurious = nf->nf_ev_closed.spurious;
	for (unsigned i = 0; i < nf->nf_nq && nf->nf_queues; i++) {
		const struct netfront_queue *q = &nf->nf_queues[i];
		if (q->q_tx.sring)
			out->tx_unreaped += q->q_tx.req_prod_pvt - q->q_tx.rsp_cons;
		if (q->q_rx.sring)
			out->rx_untaken += q->q_rx.sring->rsp_prod - q->q_rx.rsp_cons;
		if (q->q_txb) {
			out->tx_bufs += nf->nf_cfg.tx_bufs;
			out->tx_bufs_free += q->q_tx_nfree;
			if (q->q_tx.sring)
				out->tx_bufs_in_ring += q->q_tx.req_prod_pvt - q->q_tx.rsp_cons - q->q_tx_extras;
		}
		if (q->q_rx_free) {
			out->rx_bufs += nf->nf_cfg.rx_bufs;
			out->rx_bufs_free += q->q_rx_nfree;
			if (q->q_rx.sring)
				out->rx_bufs_in_ring += q->q_rx.req_prod_pvt - q->q_rx.rsp_cons;
		}
		struct xenbus_evtchn *chans[2] = {q->q_ev_tx, q->q_ev_rx};
		for (unsigned c = 0; c < 2; c++) {
			struct xenbus_evtchn_stats s = {0};
			if (chans[c])
				xenbus_evtchn_stats(chans[c], &s);
			out->events += s.events;
			out->events_spurious += s.spurious;
		}
	}
}

const char *netfront_error(const struct netfront *nf)
{
	return nf->nf_phase == NF_DEAD ? nf->nf_error : NULL;
}

int netfront_error_code(const struct netfront *nf)
{
	return nf->nf_phase == NF_DEAD ? nf->nf_error_code : 0;
}
