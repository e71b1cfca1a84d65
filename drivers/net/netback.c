/*
 * netback: the instance, vif discovery and each vif's side of the xenbus
 * handshake. For netif the frontend goes straight from Initialising to
 * Connected once its rings are published (there is no Initialised step):
 *
 *   found -> publish features, InitWait
 *   frontend Connected -> map rings, bind channels, attach to the link, Connected
 *   frontend Closing/Closed/gone, online=0, violation -> disconnect, Closing/Closed
 *   frontend back at Initialising -> publish again, InitWait (reconnect)
 *
 * Watch events may be coalesced and states skipped, so every event leads to
 * one function, netback_vif_sync(), that reads the frontend's state and the
 * device's online flag and does what the pair (phase, state) asks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netback_internal.h"

void netback_vif_log(struct netback_vif *vif, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (vif->vif_log_budget == 0)
		return;
	vif->vif_log_budget--;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	xd_log("netback: vif %" PRIu32 " of dom%" PRIu32 ": %s%s", vif->vif_devid, vif->vif_fe_domid, line,
	       vif->vif_log_budget ? "" : " (further errors not logged)");
}

static struct xs_handle *netback_xs(struct netback_vif *vif)
{
	return xenbus_xs(vif->vif_nb->nb_xb);
}

static void netback_vif_switch(struct netback_vif *vif, XenbusState st)
{
	int rc = xenbus_state_switch(netback_xs(vif), vif->vif_dir, st);

	if (rc < 0 && rc != -ENOENT)
		netback_vif_log(vif, "switching to %s failed: %s", xenbus_state_name(st), strerror(-rc));
}

/* Why this connection ended, for the frontend and the toolstack to read;
 * the state goes Closing with it. */
static void netback_vif_error(struct netback_vif *vif, const char *what)
{
	int rc = xenbus_dev_fatal(netback_xs(vif), vif->vif_dir, what);

	if (rc < 0 && rc != -ENOENT)
		netback_vif_log(vif, "writing the error failed: %s", strerror(-rc));
}

void netback_vif_refuse(struct netback_vif *vif, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(vif->vif_why, sizeof(vif->vif_why), fmt, ap);
	va_end(ap);
}

void netback_vif_fatal(struct netback_vif *vif, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < vif->vif_nr_queues; i++)
		vif->vif_queues[i].q_dead = true;
	if (vif->vif_fatal_pending)
		return;
	vif->vif_fatal_pending = true;
	vif->vif_nb->nb_stats.fatal++;
	vif->vif_log_budget = vif->vif_log_budget ? vif->vif_log_budget : 1;
	netback_vif_log(vif, "frontend broke the protocol, disconnecting: %s", line);
	netback_vif_error(vif, line);
	/* Not from inside the ring callback that found it: later, from the loop. */
	event_active(vif->vif_defer_ev, EV_TIMEOUT, 0);
}

/* ---- publishing ---- */

static int netback_publish_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netback_vif *vif = arg;
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	const char *d = vif->vif_dir;
	int rc = 0;

	rc |= xenbus_write_fmt(xs, t, d, "feature-rx-copy", "1");
	rc |= xenbus_write_fmt(xs, t, d, "feature-rx-flip", "0");
	rc |= xenbus_write_fmt(xs, t, d, "feature-sg", "%d", c->sg);
	rc |= xenbus_write_fmt(xs, t, d, "feature-gso-tcpv4", "%d", c->sg && c->gso_tcpv4);
	rc |= xenbus_write_fmt(xs, t, d, "feature-gso-tcpv6", "%d", c->sg && c->gso_tcpv6);
	rc |= xenbus_write_fmt(xs, t, d, "feature-ipv6-csum-offload", "%d", c->ipv6_csum);
	rc |= xenbus_write_fmt(xs, t, d, "feature-split-event-channels", "%d", c->split_evtchn);
	if (c->queues_max > 1)
		rc |= xenbus_write_fmt(xs, t, d, "multi-queue-max-queues", "%u", c->queues_max);
	else
		rc |= xenbus_rm(xs, t, d, "multi-queue-max-queues");
	rc |= xenbus_rm(xs, t, d, "error");
	if (rc)
		return rc < 0 ? rc : -EIO;
	return xenbus_write_fmt(xs, t, d, "state", "%d", XenbusStateInitWait);
}

static void netback_vif_publish(struct netback_vif *vif)
{
	int rc = xenbus_transact(netback_xs(vif), netback_publish_tx, vif);

	if (rc < 0) {
		netback_vif_log(vif, "publishing features failed: %s", strerror(-rc));
		return;
	}
	vif->vif_phase = VIF_INITWAIT;
	vif->vif_fatal_pending = false;
	vif->vif_log_budget = NETBACK_LOG_BUDGET;
}

static int netback_connected_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netback_vif *vif = arg;
	int rc = xenbus_write_fmt(xs, t, vif->vif_dir, "carrier", "%d", vif->vif_carrier);

	return rc ? rc : xenbus_write_fmt(xs, t, vif->vif_dir, "state", "%d", XenbusStateConnected);
}

/* ---- connection ---- */

static void netback_vif_disconnect(struct netback_vif *vif)
{
	const struct netback_config *c = &vif->vif_nb->nb_cfg;

	event_del(vif->vif_close_timer);
	if (vif->vif_attached && c->link)
		c->link->detach(c->link_arg, vif->vif_port);
	vif->vif_attached = false;
	vif->vif_port = NULL;
	vif->vif_info.connected = false;
	if (!vif->vif_queues && !vif->vif_gt)
		return;
	netback_rings_disconnect(vif);
	vif->vif_nb->nb_stats.disconnects++;
}

static void netback_vif_close(struct netback_vif *vif, XenbusState st);

static void netback_vif_attach(struct netback_vif *vif)
{
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	int rc;

	if (!c->link)
		return;
	rc = c->link->attach(c->link_arg, vif, &vif->vif_port);
	if (rc < 0)
		netback_vif_log(vif, "the link refused the vif (%s): its frames are dropped", strerror(-rc));
	vif->vif_attached = rc == 0;
}

static void netback_vif_connect(struct netback_vif *vif)
{
	int rc;

	vif->vif_why[0] = '\0';
	rc = netback_read_features(vif);
	if (rc == 0)
		rc = netback_rings_connect(vif);
	if (rc == 0)
		rc = xenbus_transact(netback_xs(vif), netback_connected_tx, vif);
	if (rc < 0) {
		char what[NETBACK_WHY_MAX + 64];
		snprintf(what, sizeof(what), "connecting to the frontend's rings failed: %s",
			 vif->vif_why[0] ? vif->vif_why : strerror(-rc));
		netback_vif_log(vif, "%s", what);
		netback_vif_error(vif, what);
		netback_vif_close(vif, XenbusStateClosing);
		return;
	}
	vif->vif_phase = VIF_CONNECTED;
	vif->vif_info.connected = true;
	vif->vif_nb->nb_stats.connects++;
	netback_vif_attach(vif);
}

static void netback_vif_close(struct netback_vif *vif, XenbusState st)
{
	struct timeval tv = {.tv_sec = NETBACK_CLOSE_TIMEOUT_MS / 1000};

	netback_vif_disconnect(vif);
	vif->vif_phase = st == XenbusStateClosed ? VIF_CLOSED : VIF_CLOSING;
	netback_vif_switch(vif, st);
	if (st == XenbusStateClosing)
		evtimer_add(vif->vif_close_timer, &tv);
}

/* What to do for (our phase, frontend state, online). */
static void netback_vif_step(struct netback_vif *vif, XenbusState fe, bool online)
{
	bool fe_gone = fe == XenbusStateClosed || fe == XenbusStateUnknown;
	bool fe_ready = fe == XenbusStateConnected || fe == XenbusStateInitialised;

	switch (vif->vif_phase) {
	case VIF_NEW:
		netback_vif_publish(vif);
		if (vif->vif_phase == VIF_INITWAIT)
			netback_vif_step(vif, fe, online);
		break;
	case VIF_INITWAIT:
		if (!online || fe == XenbusStateClosing)
			netback_vif_close(vif, XenbusStateClosing);
		else if (fe_ready)
			netback_vif_connect(vif);
		break;
	case VIF_CONNECTED:
		if (fe == XenbusStateInitialising) {   /* frontend restarted */
			netback_vif_disconnect(vif);
			netback_vif_publish(vif);
		} else if (fe_gone) {
			netback_vif_close(vif, XenbusStateClosed);
		} else if (!online || fe == XenbusStateClosing) {
			netback_vif_close(vif, XenbusStateClosing);
		}
		break;
	case VIF_CLOSING:
		if (fe_gone)
			netback_vif_close(vif, XenbusStateClosed);
		else if (online && fe == XenbusStateInitialising) {
			netback_vif_disconnect(vif);
			netback_vif_publish(vif);
		}
		break;
	case VIF_CLOSED:
		if (online && fe == XenbusStateInitialising)
			netback_vif_publish(vif);
		break;
	}
}

static void netback_vif_free(struct netback_vif *vif);

static void netback_vif_sync(struct netback_vif *vif)
{
	struct xs_handle *xs = netback_xs(vif);
	XenbusState fe = XenbusStateUnknown;
	uint64_t online = 0;
	int rc = xenbus_read_uint(xs, XBT_NULL, vif->vif_dir, "online", 1, &online);

	if (rc == -ENOENT) {   /* the toolstack removed the device */
		vif->vif_gone = true;
		event_active(vif->vif_defer_ev, EV_TIMEOUT, 0);
		return;
	}
	if (xenbus_state_read(xs, vif->vif_fe_dir, &fe) < 0)
		fe = XenbusStateUnknown;
	if (vif->vif_fatal_pending) {
		vif->vif_fatal_pending = false;
		netback_vif_close(vif, fe == XenbusStateClosed ? XenbusStateClosed : XenbusStateClosing);
		return;
	}
	netback_vif_step(vif, fe, online == 1);
}

/* Deferred work: teardown after a violation, removal, or a resync. */
static void netback_vif_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct netback_vif *vif = arg;

	(void)fd;
	(void)what;
	if (vif->vif_gone)
		netback_vif_free(vif);
	else
		netback_vif_sync(vif);
}

static void netback_vif_close_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct netback_vif *vif = arg;

	(void)fd;
	(void)what;
	netback_vif_log(vif, "frontend did not close within %u ms; closing anyway", NETBACK_CLOSE_TIMEOUT_MS);
	netback_vif_close(vif, XenbusStateClosed);
}

static void netback_fe_changed(void *arg, const char *path)
{
	(void)path;
	netback_vif_sync(arg);
}

/* ---- discovery ---- */

static struct netback_vif *netback_vif_find(struct netback *nb, uint32_t fe, uint32_t devid)
{
	for (struct netback_vif *v = nb->nb_vifs; v; v = v->vif_next)
		if (v->vif_fe_domid == fe && v->vif_devid == devid)
			return v;
	return NULL;
}

/* "aa:bb:cc:dd:ee:ff"; anything else leaves the mac zero. */
static void netback_vif_read_mac(struct netback_vif *vif)
{
	char s[32];
	unsigned m[6];

	if (xenbus_read_str(netback_xs(vif), XBT_NULL, vif->vif_dir, "mac", s, sizeof(s)) < 0)
		return;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return;
	for (unsigned i = 0; i < 6; i++)
		vif->vif_info.mac[i] = (uint8_t)m[i];
}

/* Read what the toolstack wrote: frontend path and id must agree. */
static int netback_vif_read_frontend(struct netback_vif *vif)
{
	struct xs_handle *xs = netback_xs(vif);
	char want[XENBUS_PATH_MAX];
	uint64_t fe;
	int rc = xenbus_read_uint(xs, XBT_NULL, vif->vif_dir, "frontend-id", DOMID_FIRST_RESERVED - 1, &fe);

	if (rc == 0)
		rc = xenbus_read_str(xs, XBT_NULL, vif->vif_dir, "frontend", vif->vif_fe_dir, sizeof(vif->vif_fe_dir));
	if (rc < 0)
		return rc;
	snprintf(want, sizeof(want), "/local/domain/%" PRIu32 "/device/vif/%" PRIu32, vif->vif_fe_domid,
		 vif->vif_devid);
	return fe == vif->vif_fe_domid && strcmp(want, vif->vif_fe_dir) == 0 ? 0 : -EINVAL;
}

static int netback_vif_setup(struct netback_vif *vif)
{
	struct event_base *base = vif->vif_nb->nb_cfg.base;
	char path[XENBUS_PATH_MAX];
	int rc = netback_vif_read_frontend(vif);

	if (rc < 0)
		return rc;
	netback_vif_read_mac(vif);
	vif->vif_defer_ev = event_new(base, -1, 0, netback_vif_deferred, vif);
	vif->vif_close_timer = evtimer_new(base, netback_vif_close_timeout, vif);
	if (!vif->vif_defer_ev || !vif->vif_close_timer)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/state", vif->vif_fe_dir);
	return xenbus_watch(vif->vif_nb->nb_xb, path, netback_fe_changed, vif, &vif->vif_fe_watch);
}

static void netback_vif_add(struct netback *nb, uint32_t fe, uint32_t devid)
{
	struct netback_vif *vif;
	unsigned n = 0;

	for (vif = nb->nb_vifs; vif; vif = vif->vif_next)
		n++;
	if (n >= nb->nb_cfg.vifs_max || !(vif = calloc(1, sizeof(*vif))))
		return;
	vif->vif_nb = nb;
	vif->vif_fe_domid = fe;
	vif->vif_devid = devid;
	vif->vif_carrier = true;
	vif->vif_log_budget = NETBACK_LOG_BUDGET;
	vif->vif_info.fe_domid = fe;
	vif->vif_info.devid = devid;
	snprintf(vif->vif_dir, sizeof(vif->vif_dir), "backend/vif/%" PRIu32 "/%" PRIu32, fe, devid);
	int rc = netback_vif_setup(vif);
	if (rc < 0) {
		/* Keys not all written yet is normal; the next event retries. */
		if (rc != -ENOENT)
			netback_vif_log(vif, "cannot serve this device: %s", strerror(-rc));
		netback_vif_free(vif);
		return;
	}
	vif->vif_next = nb->nb_vifs;
	nb->nb_vifs = vif;
	nb->nb_stats.vifs++;
	netback_vif_sync(vif);
}

static void netback_vif_free(struct netback_vif *vif)
{
	struct netback *nb = vif->vif_nb;

	for (struct netback_vif **pp = &nb->nb_vifs; *pp; pp = &(*pp)->vif_next)
		if (*pp == vif) {
			*pp = vif->vif_next;
			nb->nb_stats.vifs--;
			break;
		}
	if (vif->vif_close_timer)
		netback_vif_disconnect(vif);
	xenbus_unwatch(nb->nb_xb, vif->vif_fe_watch);
	if (vif->vif_defer_ev)
		event_free(vif->vif_defer_ev);
	if (vif->vif_close_timer)
		event_free(vif->vif_close_timer);
	free(vif);
}

/* Something under backend/vif changed: new devices, removed ones, or keys of
 * a known one (online, or our own writes, which cost a lookup). */
static void netback_discovered(void *arg, uint32_t fe, uint32_t devid)
{
	struct netback *nb = arg;

	if (devid == XENBUS_DEVID_ANY) {
		for (struct netback_vif *v = nb->nb_vifs; v; v = v->vif_next)
			if (fe == XENBUS_DEVID_ANY || v->vif_fe_domid == fe)
				event_active(v->vif_defer_ev, EV_TIMEOUT, 0);
		return;
	}
	struct netback_vif *vif = netback_vif_find(nb, fe, devid);
	if (vif)
		event_active(vif->vif_defer_ev, EV_TIMEOUT, 0);
	else if (fe < DOMID_FIRST_RESERVED)
		netback_vif_add(nb, fe, devid);
}

/* ---- the instance ---- */

static int netback_config_check(struct netback_config *c)
{
	if (!c->base || c->queues_max > NETBACK_QUEUES_MAX || c->tx_slots_max > NETBACK_TX_SLOTS_LIMIT ||
	    c->tx_slots_fatal > NETBACK_TX_SLOTS_FATAL_LIMIT || c->rx_queue_frames_max > NETBACK_RX_FRAMES_LIMIT ||
	    c->rx_queue_bytes_max > NETBACK_RX_BYTES_LIMIT || c->vifs_max > NETBACK_VIFS_LIMIT)
		return -EINVAL;
	if (c->tx_slots_max && c->tx_slots_max < XEN_NETIF_NR_SLOTS_MIN)
		return -EINVAL;   /* netif.h: a backend accepts at least this many */
	if (c->link && (!c->link->attach || !c->link->detach || !c->link->output))
		return -EINVAL;
	c->queues_max = c->queues_max ? c->queues_max : 1;
	c->tx_slots_max = c->tx_slots_max ? c->tx_slots_max : XEN_NETIF_NR_SLOTS_MIN;
	c->tx_slots_fatal = c->tx_slots_fatal ? c->tx_slots_fatal : c->tx_slots_max + 2;
	if (c->tx_slots_fatal < c->tx_slots_max || c->tx_slots_fatal > NETBACK_TX_SLOTS_FATAL_LIMIT)
		return -EINVAL;
	c->rx_queue_frames_max = c->rx_queue_frames_max ? c->rx_queue_frames_max : NETBACK_RX_FRAMES_DEFAULT;
	c->rx_queue_bytes_max = c->rx_queue_bytes_max ? c->rx_queue_bytes_max : NETBACK_RX_BYTES_DEFAULT;
	if (c->rx_queue_bytes_max < 2 * (NETPKT_FRAME_MAX + sizeof(struct netpkt)))
		return -EINVAL;   /* room for the largest frame, twice */
	c->rx_stall_ms = c->rx_stall_ms ? c->rx_stall_ms : NETBACK_RX_STALL_MS_DEFAULT;
	c->rx_poll_ms = c->rx_poll_ms ? c->rx_poll_ms : NETBACK_RX_POLL_MS_DEFAULT;
	c->vifs_max = c->vifs_max ? c->vifs_max : NETBACK_VIFS_DEFAULT;
	return 0;
}

int netback_start(const struct netback_config *cfg, struct netback **out)
{
	struct netback *nb = calloc(1, sizeof(*nb));
	int rc = -ENOMEM;

	if (!nb)
		return rc;
	nb->nb_cfg = *cfg;
	rc = netback_config_check(&nb->nb_cfg);
	if (rc < 0)
		goto fail_free;
	rc = xenbus_open(cfg->base, &nb->nb_xb);
	if (rc < 0)
		goto fail_free;
	rc = xenbus_discover(nb->nb_xb, "vif", netback_discovered, nb, &nb->nb_discover);
	if (rc < 0)
		goto fail_close;
	*out = nb;
	return 0;
fail_close:
	xenbus_close(nb->nb_xb);
fail_free:
	free(nb);
	return rc;
}

void netback_stop(struct netback *nb)
{
	if (!nb)
		return;
	xenbus_unwatch(nb->nb_xb, nb->nb_discover);
	while (nb->nb_vifs) {
		struct netback_vif *vif = nb->nb_vifs;
		bool was = vif->vif_phase != VIF_NEW;
		netback_vif_disconnect(vif);
		if (was)
			netback_vif_switch(vif, XenbusStateClosed);
		netback_vif_free(vif);
	}
	xenbus_close(nb->nb_xb);
	free(nb);
}

static void netback_stats_queue(struct netback_stats *out, const struct netback_queue *q)
{
	struct xenbus_evtchn *chans[2] = {q->q_ev_tx, q->q_ev_rx};

	for (unsigned i = 0; i < 2; i++) {
		struct xenbus_evtchn_stats s = {0};
		if (chans[i])
			xenbus_evtchn_stats(chans[i], &s);
		out->events += s.events;
		out->events_spurious += s.spurious;
		out->events_delayed += s.delayed;
	}
}

void netback_stats(const struct netback *nb, struct netback_stats *out)
{
	*out = nb->nb_stats;
	out->connected = 0;
	out->events = nb->nb_ev_closed.events;
	out->events_spurious = nb->nb_ev_closed.spurious;
	out->events_delayed = nb->nb_ev_closed.delayed;
	for (const struct netback_vif *vif = nb->nb_vifs; vif; vif = vif->vif_next) {
		out->connected += vif->vif_phase == VIF_CONNECTED;
		for (unsigned i = 0; i < vif->vif_nr_queues; i++)
			netback_stats_queue(out, &vif->vif_queues[i]);
	}
}

void netback_vif_info(const struct netback_vif *vif, struct netback_vif_info *out)
{
	*out = vif->vif_info;
}

int netback_vif_carrier(struct netback_vif *vif, bool up)
{
	if (vif->vif_carrier == up)
		return 0;
	vif->vif_carrier = up;
	if (!up)
		for (unsigned i = 0; i < vif->vif_nr_queues; i++)
			netback_rxq_purge(&vif->vif_queues[i], &vif->vif_nb->nb_stats.rx_dropped_down);
	return xenbus_write_fmt(netback_xs(vif), XBT_NULL, vif->vif_dir, "carrier", "%d", up);
}
