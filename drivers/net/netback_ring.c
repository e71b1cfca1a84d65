/*
 * netback: the frontend's keys and its rings. What the frontend asks for is
 * read and bounded by what we offered: rx-copy (required), rx-notify, sg,
 * GSO, checksum offload, the number of queues; then, per queue (under
 * queue-N/ with two queues or more), the tx and rx ring refs and one event
 * channel or a tx/rx pair. All grants of a vif go through one xengnttab
 * handle, so closing it at disconnect drops whatever might be left mapped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "drivers/net/netback_internal.h"

static struct xs_handle *netback_ring_xs(struct netback_vif *vif)
{
	return xenbus_xs(vif->vif_nb->nb_xb);
}

static int netback_flag(struct netback_vif *vif, const char *key, uint64_t dflt, bool *out)
{
	uint64_t v;
	int rc = xenbus_read_uint_or(netback_ring_xs(vif), XBT_NULL, vif->vif_be.bd_fe_dir, key, 1, dflt, &v);

	if (rc < 0)
		netback_vif_refuse(vif, "frontend key %s/%s is not 0 or 1", vif->vif_be.bd_fe_dir, key);
	*out = rc == 0 && v;
	return rc;
}

int netback_read_features(struct netback_vif *vif)
{
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	struct netback_vif_info *in = &vif->vif_info;
	bool copy = false, sg = false, v4 = false, v6 = false, nocsum = false, v6csum = false;
	int rc = netback_flag(vif, "request-rx-copy", 0, &copy);

	rc = rc ? rc : netback_flag(vif, "feature-rx-notify", 0, &in->rx_notify);
	rc = rc ? rc : netback_flag(vif, "feature-sg", 0, &sg);
	rc = rc ? rc : netback_flag(vif, "feature-gso-tcpv4", 0, &v4);
	rc = rc ? rc : netback_flag(vif, "feature-gso-tcpv6", 0, &v6);
	rc = rc ? rc : netback_flag(vif, "feature-no-csum-offload", 0, &nocsum);
	rc = rc ? rc : netback_flag(vif, "feature-ipv6-csum-offload", 0, &v6csum);
	if (rc < 0)
		return rc;
	if (!copy) {
		netback_vif_refuse(vif, "frontend does not set request-rx-copy; only copying receivers are served");
		return -EPROTONOSUPPORT;
	}
	/* GSO to the guest needs more than one slot per frame. */
	in->rx_sg = sg;
	in->rx_gso_tcpv4 = sg && v4;
	in->rx_gso_tcpv6 = sg && v6;
	in->rx_csum = !nocsum;
	in->rx_ipv6_csum = v6csum;
	vif->vif_tx_limits = (struct netback_tx_limits){.slots_max = c->tx_slots_max, .slots_fatal = c->tx_slots_fatal,
							.sg = c->sg, .gso_tcpv4 = c->sg && c->gso_tcpv4,
							.gso_tcpv6 = c->sg && c->gso_tcpv6};
	return 0;
}

/* ---- event handlers ---- */

static bool netback_ev_both(void *arg)
{
	struct netback_queue *q = arg;
	bool tx = netback_tx_work(q);
	bool rx = netback_rx_work(q);

	return tx || rx;
}

static bool netback_ev_tx(void *arg)
{
	return netback_tx_work(arg);
}

static bool netback_ev_rx(void *arg)
{
	return netback_rx_work(arg);
}

static void netback_tx_continue(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	netback_tx_work(arg);
}

static void netback_rx_continue(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	netback_rx_work(arg);
}

/* ---- one queue ---- */

struct netback_qkeys {
	uint32_t tx_ref, rx_ref;
	uint32_t port_tx, port_rx;    /* equal without split channels */
	bool split;
};

static int netback_queue_keys(struct netback_vif *vif, const char *dir, struct netback_qkeys *k)
{
	struct xs_handle *xs = netback_ring_xs(vif);
	uint64_t tx, rx, ptx = 0, prx = 0;
	bool split = false;
	int rc = xenbus_read_uint(xs, XBT_NULL, dir, "tx-ring-ref", UINT32_MAX, &tx);

	if (rc == 0)
		rc = xenbus_read_uint(xs, XBT_NULL, dir, "rx-ring-ref", UINT32_MAX, &rx);
	if (rc == 0 && vif->vif_nb->nb_cfg.split_evtchn &&
	    xenbus_read_uint(xs, XBT_NULL, dir, "event-channel-tx", UINT32_MAX, &ptx) == 0 &&
	    xenbus_read_uint(xs, XBT_NULL, dir, "event-channel-rx", UINT32_MAX, &prx) == 0)
		split = true;
	if (rc == 0 && !split) {
		rc = xenbus_read_uint(xs, XBT_NULL, dir, "event-channel", UINT32_MAX, &ptx);
		prx = ptx;
	}
	if (rc < 0) {
		netback_vif_refuse(vif, "ring keys under %s missing or malformed: %s", dir, strerror(-rc));
		return rc;
	}
	*k = (struct netback_qkeys){.tx_ref = (uint32_t)tx, .rx_ref = (uint32_t)rx, .port_tx = (uint32_t)ptx,
				    .port_rx = (uint32_t)prx, .split = split};
	return 0;
}

/* Take the rings up where they are: a frontend that kept its rings across a
 * backend restart goes on from the responses it has (as Linux's netback
 * does). What it published beyond them must fit in the ring. */
static int netback_queue_attach(struct netback_queue *q)
{
	netif_tx_sring_t *txs = q->q_tx_addr;
	netif_rx_sring_t *rxs = q->q_rx_addr;
	RING_IDX tx_rsp = txs->rsp_prod, tx_req = txs->req_prod;
	RING_IDX rx_rsp = rxs->rsp_prod, rx_req = rxs->req_prod;

	xen_rmb();   /* the indexes once, before the ring is ours */
	BACK_RING_ATTACH(&q->q_tx, txs, tx_rsp, NETBACK_PAGE_SIZE);
	BACK_RING_ATTACH(&q->q_rx, rxs, rx_rsp, NETBACK_PAGE_SIZE);
	if (tx_req - tx_rsp > RING_SIZE(&q->q_tx) || rx_req - rx_rsp > RING_SIZE(&q->q_rx)) {
		netback_vif_refuse(q->q_vif, "queue %u: rings hold more requests than slots (tx %u..%u, rx %u..%u)",
				   q->q_index, tx_rsp, tx_req, rx_rsp, rx_req);
		return -EPROTO;
	}
	return 0;
}

static int netback_queue_map(struct netback_queue *q, const struct netback_qkeys *k)
{
	struct netback_vif *vif = q->q_vif;
	int prot = PROT_READ | PROT_WRITE;

	q->q_tx_addr = xengnttab_map_grant_ref(vif->vif_gt, vif->vif_fe_domid, k->tx_ref, prot);
	if (q->q_tx_addr)
		q->q_rx_addr = xengnttab_map_grant_ref(vif->vif_gt, vif->vif_fe_domid, k->rx_ref, prot);
	if (!q->q_tx_addr || !q->q_rx_addr) {
		int rc = errno ? -errno : -EIO;
		netback_vif_refuse(vif, "mapping queue %u's %s ring (ref %" PRIu32 ") failed: %s", q->q_index,
				   q->q_tx_addr ? "rx" : "tx", q->q_tx_addr ? k->rx_ref : k->tx_ref, strerror(-rc));
		return rc;
	}
	return netback_queue_attach(q);
}

static int netback_queue_bind(struct netback_queue *q, const struct netback_qkeys *k)
{
	struct netback_vif *vif = q->q_vif;
	struct event_base *base = vif->vif_nb->nb_cfg.base;
	int rc;

	vif->vif_info.split_evtchn = k->split;
	if (!k->split) {
		rc = xenbus_evtchn_bind(base, vif->vif_fe_domid, k->port_tx, netback_ev_both, q, &q->q_ev_tx);
	} else {
		rc = xenbus_evtchn_bind(base, vif->vif_fe_domid, k->port_tx, netback_ev_tx, q, &q->q_ev_tx);
		if (rc == 0)
			rc = xenbus_evtchn_bind(base, vif->vif_fe_domid, k->port_rx, netback_ev_rx, q, &q->q_ev_rx);
	}
	if (rc < 0)
		netback_vif_refuse(vif, "binding queue %u's event channel%s (port %u%s) failed: %s", q->q_index,
				   k->split ? "s" : "", q->q_ev_tx ? k->port_rx : k->port_tx, k->split ? " of a pair" : "",
				   strerror(-rc));
	return rc;
}

static int netback_queue_connect(struct netback_queue *q, const char *dir)
{
	struct event_base *base = q->q_vif->vif_nb->nb_cfg.base;
	struct netback_qkeys k;
	int rc = netback_queue_keys(q->q_vif, dir, &k);

	if (rc == 0)
		rc = netback_queue_map(q, &k);
	if (rc < 0)
		return rc;
	q->q_tx_work = event_new(base, -1, 0, netback_tx_continue, q);
	q->q_rx_work = event_new(base, -1, 0, netback_rx_continue, q);
	q->q_rx_timer = evtimer_new(base, netback_rx_timer_cb, q);
	if (!q->q_tx_work || !q->q_rx_work || !q->q_rx_timer)
		return -ENOMEM;
	/* Last: binding may deliver an event at once, and the queue is ready. */
	return netback_queue_bind(q, &k);
}

static int netback_queue_count(struct netback_vif *vif, unsigned *nq)
{
	uint64_t q;
	int rc = xenbus_read_uint_or(netback_ring_xs(vif), XBT_NULL, vif->vif_be.bd_fe_dir, "multi-queue-num-queues",
				     vif->vif_nb->nb_cfg.queues_max, 1, &q);

	if (rc == 0 && q == 0)
		rc = -EINVAL;
	if (rc < 0)
		netback_vif_refuse(vif, "frontend asks for a number of queues other than 1..%u",
				   vif->vif_nb->nb_cfg.queues_max);
	*nq = (unsigned)q;
	return rc;
}

int netback_rings_connect(struct netback_vif *vif)
{
	unsigned nq;
	int rc = netback_queue_count(vif, &nq);

	if (rc < 0)
		return rc;
	vif->vif_gt = xengnttab_open(NULL, 0);
	if (!vif->vif_gt)
		return errno ? -errno : -EIO;
	vif->vif_queues = calloc(nq, sizeof(*vif->vif_queues));
	if (!vif->vif_queues)
		return -ENOMEM;   /* the caller disconnects, which closes the handle */
	vif->vif_nr_queues = nq;
	vif->vif_info.queues = nq;
	/* Every queue knows its vif before any connects: a failure half way
	 * leaves the rest to be taken down like the others. */
	for (unsigned i = 0; i < nq; i++) {
		vif->vif_queues[i].q_vif = vif;
		vif->vif_queues[i].q_index = i;
	}
	for (unsigned i = 0; rc == 0 && i < nq; i++) {
		char dir[XENBUS_DIR_MAX + 24];
		struct netback_queue *q = &vif->vif_queues[i];
		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", vif->vif_be.bd_fe_dir);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", vif->vif_be.bd_fe_dir, i);
		rc = netback_queue_connect(q, dir);
	}
	return rc;
}

static void netback_evtchn_release(struct netback *nb, struct xenbus_evtchn *ch)
{
	struct xenbus_evtchn_stats s;

	if (!ch)
		return;
	xenbus_evtchn_stats(ch, &s);
	nb->nb_ev_closed.events += s.events;
	nb->nb_ev_closed.spurious += s.spurious;
	nb->nb_ev_closed.delayed += s.delayed;
	xenbus_evtchn_close(ch);
}

static void netback_queue_disconnect(struct netback_queue *q)
{
	struct netback_vif *vif = q->q_vif;
	struct netback *nb = vif->vif_nb;

	netback_evtchn_release(nb, q->q_ev_tx);
	netback_evtchn_release(nb, q->q_ev_rx);
	if (q->q_tx_work)
		event_free(q->q_tx_work);
	if (q->q_rx_work)
		event_free(q->q_rx_work);
	if (q->q_rx_timer)
		event_free(q->q_rx_timer);
	netback_rxq_purge(q, &nb->nb_stats.rx_dropped_down);
	if (q->q_tx_addr)
		xengnttab_unmap(vif->vif_gt, q->q_tx_addr, 1);
	if (q->q_rx_addr)
		xengnttab_unmap(vif->vif_gt, q->q_rx_addr, 1);
}

void netback_rings_disconnect(struct netback_vif *vif)
{
	for (unsigned i = 0; i < vif->vif_nr_queues; i++)
		netback_queue_disconnect(&vif->vif_queues[i]);
	free(vif->vif_queues);
	vif->vif_queues = NULL;
	vif->vif_nr_queues = 0;
	if (vif->vif_gt)
		xengnttab_close(vif->vif_gt);
	vif->vif_gt = NULL;
}
