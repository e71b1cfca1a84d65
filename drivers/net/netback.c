/*
 * netback: the instance, vif discovery and what each vif does at each step
 * of the xenbus lifecycle (drivers/xenbus's xenbus_backend, shared with
 * blkback). For netif the frontend goes straight from Initialising to
 * Connected once its rings are published (there is no Initialised step):
 *
 *   found -> publish features, InitWait
 *   frontend Connected -> map rings, bind channels, attach to the link, Connected
 *   frontend Closing/Closed/gone, online=0, violation -> disconnect, Closing/Closed
 *   frontend back at Initialising -> Closed, publish again, InitWait (reconnect)
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
	if (!xenbus_backend_fatal(&vif->vif_be, line))
		return;
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	vif->vif_nb->nb_stats.fatal++;
	vif->vif_log_budget = vif->vif_log_budget ? vif->vif_log_budget : 1;
	netback_vif_log(vif, "frontend broke the protocol, disconnecting: %s", line);
	if (c->on_fatal)
		c->on_fatal(c->on_fatal_arg, &vif->vif_info, line);
}

/* ---- publishing ---- */

static int netback_publish_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netback_vif *vif = arg;
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	const char *d = vif->vif_be.bd_dir;
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
	return xenbus_backend_initwait_tx(xs, t, d);
}

static int netback_vif_publish(void *arg)
{
	struct netback_vif *vif = arg;
	int rc = xenbus_transact(netback_xs(vif), netback_publish_tx, vif);

	if (rc == 0)
		vif->vif_log_budget = NETBACK_LOG_BUDGET;
	return rc;
}

static int netback_connected_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct netback_vif *vif = arg;
	int rc = xenbus_write_fmt(xs, t, vif->vif_be.bd_dir, "carrier", "%d", vif->vif_carrier);

	return rc ? rc : xenbus_write_fmt(xs, t, vif->vif_be.bd_dir, "state", "%d", XenbusStateConnected);
}

/* ---- connection (the xenbus_backend ops) ---- */

static void netback_vif_disconnect(void *arg)
{
	struct netback_vif *vif = arg;
	const struct netback_config *c = &vif->vif_nb->nb_cfg;

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

static int netback_vif_connect(void *arg, char *why, size_t why_len)
{
	struct netback_vif *vif = arg;
	int rc;

	vif->vif_why[0] = '\0';
	rc = netback_read_features(vif);
	if (rc == 0)
		rc = netback_rings_connect(vif);
	if (rc < 0)
		snprintf(why, why_len, "%s", vif->vif_why);
	return rc;
}

static void netback_vif_up(void *arg)
{
	struct netback_vif *vif = arg;

	vif->vif_info.connected = true;
	vif->vif_nb->nb_stats.connects++;
	netback_vif_attach(vif);
}

static void netback_vif_free(struct netback_vif *vif);
static void netback_discovered(void *arg, uint32_t fe, uint32_t devid);

/* Removed by the toolstack: freed. A device made again under the same name
 * before we got here (an unplug, then a plug at once) had its watch events
 * taken for this one, which was still listed: look for it now. */
static void netback_vif_gone(void *arg)
{
	struct netback_vif *vif = arg;
	struct netback *nb = vif->vif_nb;
	uint32_t fe = vif->vif_fe_domid, devid = vif->vif_devid;

	netback_vif_free(vif);
	netback_discovered(nb, fe, devid);
}

static void netback_vif_log_line(void *arg, const char *line)
{
	netback_vif_log(arg, "%s", line);
}

/* Connected too: netif has no Initialised, the rings come with Connected. */
static const struct xenbus_backend_ops netback_vif_ops = {
	.publish = netback_vif_publish,
	.connect = netback_vif_connect,
	.announce = netback_connected_tx,
	.up = netback_vif_up,
	.disconnect = netback_vif_disconnect,
	.gone = netback_vif_gone,
	.log = netback_vif_log_line,
	.ready_states = 1u << XenbusStateInitialised | 1u << XenbusStateConnected,
	.close_timeout_ms = NETBACK_CLOSE_TIMEOUT_MS,
};

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

	if (xenbus_read_str(netback_xs(vif), XBT_NULL, vif->vif_be.bd_dir, "mac", s, sizeof(s)) < 0)
		return;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6)
		return;
	for (unsigned i = 0; i < 6; i++)
		vif->vif_info.mac[i] = (uint8_t)m[i];
}

static int netback_vif_setup(struct netback_vif *vif)
{
	int rc = xenbus_backend_init(&vif->vif_be, vif->vif_nb->nb_xb, "vif", vif->vif_fe_domid,
				     vif->vif_devid, &netback_vif_ops, vif);

	if (rc == 0)
		netback_vif_read_mac(vif);
	return rc;
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
	xenbus_backend_sync(&vif->vif_be);
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
	netback_vif_disconnect(vif);
	xenbus_backend_fini(&vif->vif_be);
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
				xenbus_backend_kick(&v->vif_be);
		return;
	}
	struct netback_vif *vif = netback_vif_find(nb, fe, devid);
	if (vif)
		xenbus_backend_kick(&vif->vif_be);
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
		xenbus_backend_stop(&vif->vif_be);
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
		out->connected += vif->vif_be.bd_phase == XENBUS_BE_CONNECTED;
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
	return xenbus_write_fmt(netback_xs(vif), XBT_NULL, vif->vif_be.bd_dir, "carrier", "%d", up);
}
