/*
 * netfront: the queues of one connection. Per queue: the tx and rx ring
 * pages, a pool of tx pages shared read-only (the backend only reads what we
 * send), a pool of rx buffers shared writable, one event channel or a tx/rx
 * pair, and their keys in xenstore (under queue-N/ with two queues or more).
 *
 * Everything is given back with xengntshr_unshare(), which ends the grants
 * only once the backend has unmapped them: a page is never reused while the
 * backend may still map it (XSA-396). Pages come zeroed from gntshr, and hold
 * only frames meant for this backend afterwards (XSA-403).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netfront_internal.h"

static int netfront_be_flag(struct netfront *nf, xs_transaction_t t, const char *key, bool *out)
{
	uint64_t v;
	int rc = xenbus_read_uint_or(xenbus_xs(nf->nf_xb), t, nf->nf_back.path, key, 1, 0, &v);

	*out = rc == 0 && v;
	return rc;
}

int netfront_be_features(struct netfront *nf, xs_transaction_t t, struct netfront_be_features *f)
{
	*f = (struct netfront_be_features){0};
	int rc = netfront_be_flag(nf, t, "feature-rx-copy", &f->rx_copy);

	rc = rc ? rc : netfront_be_flag(nf, t, "feature-sg", &f->sg);
	rc = rc ? rc : netfront_be_flag(nf, t, "feature-gso-tcpv4", &f->gso_tcpv4);
	rc = rc ? rc : netfront_be_flag(nf, t, "feature-gso-tcpv6", &f->gso_tcpv6);
	rc = rc ? rc : netfront_be_flag(nf, t, "feature-ipv6-csum-offload", &f->ipv6_csum);
	rc = rc ? rc : netfront_be_flag(nf, t, "feature-split-event-channels", &f->split);
	if (rc == 0)
		rc = xenbus_read_uint_or(xenbus_xs(nf->nf_xb), t, nf->nf_back.path, "multi-queue-max-queues",
					 UINT32_MAX, 1, &f->queues);
	return rc;
}

/* ---- one queue ---- */

static int netfront_queue_pools(struct netfront *nf, struct netfront_queue *q)
{
	unsigned ntx = nf->nf_cfg.tx_bufs, nrx = nf->nf_cfg.rx_bufs;
	uint32_t *tx_refs = calloc(ntx, sizeof(*tx_refs));
	int rc = -ENOMEM;

	q->q_txb = calloc(ntx, sizeof(*q->q_txb));
	q->q_rx_refs = calloc(nrx, sizeof(*q->q_rx_refs));
	q->q_rx_free = calloc(nrx, sizeof(*q->q_rx_free));
	q->q_rx_frame = malloc(NETFRONT_RX_FRAME_MAX);
	if (!tx_refs || !q->q_txb || !q->q_rx_refs || !q->q_rx_free || !q->q_rx_frame)
		goto out;
	q->q_tx_pages = xengntshr_share_pages(nf->nf_gs, nf->nf_back.domid, (int)ntx, tx_refs, 0);
	if (!q->q_tx_pages)
		goto fail_errno;
	nf->nf_stats.grant_pages += ntx;
	q->q_rx_pages = xengntshr_share_pages(nf->nf_gs, nf->nf_back.domid, (int)nrx, q->q_rx_refs, 1);
	if (!q->q_rx_pages)
		goto fail_errno;
	nf->nf_stats.grant_pages += nrx;
	for (unsigned i = 0; i < ntx; i++)
		q->q_txb[i] = (struct netfront_txbuf){.tb_page = (uint8_t *)q->q_tx_pages + (size_t)i * NETFRONT_PAGE_SIZE,
						      .tb_ref = tx_refs[i], .tb_next_free = (uint16_t)(i + 1)};
	q->q_tx_free = 0;
	q->q_tx_nfree = ntx;
	for (unsigned i = 0; i < nrx; i++)
		q->q_rx_free[i] = (uint16_t)(nrx - 1 - i);
	q->q_rx_nfree = nrx;
	rc = 0;
	goto out;
fail_errno:
	rc = errno ? -errno : -ENOMEM;
out:
	free(tx_refs);
	return rc;
}

static int netfront_queue_channels(struct netfront *nf, struct netfront_queue *q, bool split)
{
	struct event_base *base = nf->nf_cfg.base;
	uint32_t be = nf->nf_back.domid;
	int rc;

	if (!split)
		return xenbus_evtchn_alloc(base, be, netfront_ev_both, q, &q->q_ev_tx);
	rc = xenbus_evtchn_alloc(base, be, netfront_ev_tx, q, &q->q_ev_tx);
	return rc ? rc : xenbus_evtchn_alloc(base, be, netfront_ev_rx, q, &q->q_ev_rx);
}

static int netfront_queue_setup(struct netfront *nf, struct netfront_queue *q, bool split)
{
	int rc;

	q->q_rings = xengntshr_share_pages(nf->nf_gs, nf->nf_back.domid, 2, q->q_ring_refs, 1);
	if (!q->q_rings)
		return errno ? -errno : -ENOMEM;
	nf->nf_stats.grant_pages += 2;
	netif_tx_sring_t *txs = q->q_rings;
	netif_rx_sring_t *rxs = (void *)((uint8_t *)q->q_rings + NETFRONT_PAGE_SIZE);
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&q->q_tx, txs, NETFRONT_PAGE_SIZE);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&q->q_rx, rxs, NETFRONT_PAGE_SIZE);
	rc = netfront_queue_pools(nf, q);
	if (rc < 0)
		return rc;
	q->q_rx_more = event_new(nf->nf_cfg.base, -1, 0, netfront_rx_more_cb, q);
	if (!q->q_rx_more)
		return -ENOMEM;
	/* Buffers are posted before the backend looks: it finds them at connect. */
	netfront_rx_refill(q);
	return netfront_queue_channels(nf, q, split);
}

int netfront_rings_setup(struct netfront *nf)
{
	struct netfront_be_features f;
	int rc = netfront_be_features(nf, XBT_NULL, &f);

	if (rc < 0)
		return rc;
	nf->nf_offer = f;
	nf->nf_nq = f.queues < nf->nf_cfg.queues_max ? (f.queues ? (unsigned)f.queues : 1) : nf->nf_cfg.queues_max;
	bool split = f.split && nf->nf_cfg.split_evtchn;
	struct netfront_info *in = &nf->nf_info;
	in->queues = nf->nf_nq;
	in->split_evtchn = split;
	in->tx_sg = f.sg;
	in->tx_gso_tcpv4 = f.sg && f.gso_tcpv4;
	in->tx_gso_tcpv6 = f.sg && f.gso_tcpv6;
	in->tx_ipv6_csum = f.ipv6_csum;
	nf->nf_queues = calloc(nf->nf_nq, sizeof(*nf->nf_queues));
	if (!nf->nf_queues)
		return -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < nf->nf_nq; i++) {
		nf->nf_queues[i].q_nf = nf;
		nf->nf_queues[i].q_index = i;
		rc = netfront_queue_setup(nf, &nf->nf_queues[i], split);
	}
	if (rc < 0)
		netfront_rings_teardown(nf);
	return rc;
}

static void netfront_evtchn_release(struct netfront *nf, struct xenbus_evtchn *ch)
{
	struct xenbus_evtchn_stats s;

	if (!ch)
		return;
	xenbus_evtchn_stats(ch, &s);
	nf->nf_ev_closed.events += s.events;
	nf->nf_ev_closed.spurious += s.spurious;
	xenbus_evtchn_close(ch);
}

static void netfront_queue_free(struct netfront *nf, struct netfront_queue *q)
{
	netfront_evtchn_release(nf, q->q_ev_tx);
	netfront_evtchn_release(nf, q->q_ev_rx);
	if (q->q_rx_more)
		event_free(q->q_rx_more);
	nf->nf_stats.tx_lost += q->q_tx_frames;
	if (q->q_tx_pages) {
		xengntshr_unshare(nf->nf_gs, q->q_tx_pages, nf->nf_cfg.tx_bufs);
		nf->nf_stats.grant_pages -= nf->nf_cfg.tx_bufs;
	}
	if (q->q_rx_pages) {
		xengntshr_unshare(nf->nf_gs, q->q_rx_pages, nf->nf_cfg.rx_bufs);
		nf->nf_stats.grant_pages -= nf->nf_cfg.rx_bufs;
	}
	if (q->q_rings) {
		xengntshr_unshare(nf->nf_gs, q->q_rings, 2);
		nf->nf_stats.grant_pages -= 2;
	}
	free(q->q_txb);
	free(q->q_rx_refs);
	free(q->q_rx_free);
	free(q->q_rx_frame);
}

void netfront_rings_teardown(struct netfront *nf)
{
	for (unsigned i = 0; nf->nf_queues && i < nf->nf_nq; i++)
		netfront_queue_free(nf, &nf->nf_queues[i]);
	free(nf->nf_queues);
	nf->nf_queues = NULL;
	nf->nf_nq = 0;
}

/* ---- keys ---- */

static int netfront_queue_publish(struct xs_handle *xs, xs_transaction_t t, struct netfront_queue *q,
				  const char *dir)
{
	int rc = xenbus_write_fmt(xs, t, dir, "tx-ring-ref", "%" PRIu32, q->q_ring_refs[0]);

	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, dir, "rx-ring-ref", "%" PRIu32, q->q_ring_refs[1]);
	if (rc == 0 && q->q_ev_rx) {
		rc = xenbus_write_fmt(xs, t, dir, "event-channel-tx", "%u", xenbus_evtchn_port(q->q_ev_tx));
		if (rc == 0)
			rc = xenbus_write_fmt(xs, t, dir, "event-channel-rx", "%u", xenbus_evtchn_port(q->q_ev_rx));
	} else if (rc == 0) {
		rc = xenbus_write_fmt(xs, t, dir, "event-channel", "%u", xenbus_evtchn_port(q->q_ev_tx));
	}
	return rc;
}

int netfront_rings_publish(struct xs_handle *xs, xs_transaction_t t, struct netfront *nf)
{
	const struct netfront_config *c = &nf->nf_cfg;
	const char *d = nf->nf_dir;
	int rc = 0;

	if (nf->nf_nq > 1)
		rc = xenbus_write_fmt(xs, t, d, "multi-queue-num-queues", "%u", nf->nf_nq);
	for (unsigned i = 0; rc == 0 && i < nf->nf_nq; i++) {
		char dir[XENBUS_DIR_MAX + 24];
		if (nf->nf_nq == 1)
			snprintf(dir, sizeof(dir), "%s", d);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", d, i);
		rc = netfront_queue_publish(xs, t, &nf->nf_queues[i], dir);
	}
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "request-rx-copy", "1");
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-rx-notify", "%d", c->rx_notify);
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-sg", "%d", c->sg);
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-gso-tcpv4", "%d", c->sg && c->gso_tcpv4);
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-gso-tcpv6", "%d", c->sg && c->gso_tcpv6);
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-no-csum-offload", "%d", !c->csum);
	rc = rc ? rc : xenbus_write_fmt(xs, t, d, "feature-ipv6-csum-offload", "%d", c->ipv6_csum);
	return rc;
}

/* Keys of an earlier connection (ours or a previous instance's). */
int netfront_keys_clean(struct xs_handle *xs, xs_transaction_t t, struct netfront *nf)
{
	static const char *const prefixes[] = {"tx-ring-ref", "rx-ring-ref", "event-channel", "queue-",
					       "multi-queue-num-queues", "request-rx-copy", "feature-", "error"};
	unsigned n = 0;
	int rc = 0;
	char **names = xs_directory(xs, t, nf->nf_dir, &n);

	if (!names)
		return errno ? -errno : -EIO;
	for (unsigned i = 0; rc == 0 && i < n; i++)
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
			if (strncmp(names[i], prefixes[p], strlen(prefixes[p])) == 0) {
				rc = xenbus_rm(xs, t, nf->nf_dir, names[i]);
				break;
			}
	free(names);
	return rc;
}
