/*
 * netfront: frames in and out.
 *
 * Send: a frame's fragments are copied into tx pages, each fragment starting
 * a slot (a fragment larger than a page takes several), like an skb's frags;
 * with more slots than tx_slots_max, or a backend without feature-sg, the
 * frame is packed into as few pages as it needs. The first request carries
 * the frame's size and flags, a GSO extra info slot follows it.
 *
 * Receive: responses are taken a frame at a time (netfront_rx_parse, each
 * copied once), the data copied out of the buffers into one frame, and the
 * buffers posted again at once. tx responses give their page back by id.
 * Anything a response says that cannot be true is a violation: terminal.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netfront_internal.h"

/* ---- tx ---- */

static void netfront_txb_put(struct netfront_queue *q, unsigned id)
{
	q->q_txb[id].tb_busy = false;
	q->q_txb[id].tb_next_free = (uint16_t)q->q_tx_free;
	q->q_tx_free = id;
	q->q_tx_nfree++;
}

static unsigned netfront_txb_get(struct netfront_queue *q)
{
	unsigned id = q->q_tx_free;

	q->q_tx_free = q->q_txb[id].tb_next_free;
	q->q_tx_nfree--;
	q->q_txb[id].tb_busy = true;
	q->q_txb[id].tb_first = false;
	return id;
}

/* Take every tx response there is. false: a violation (now failed). */
static bool netfront_tx_reap(struct netfront_queue *q, bool *work)
{
	struct netfront *nf = q->q_nf;
	char why[NETFRONT_ERROR_MAX];
	int more;

	do {
		RING_IDX rp = q->q_tx.sring->rsp_prod;
		xen_rmb();   /* responses are read only after rsp_prod */
		if (!netfront_rsp_prod_ok(rp, q->q_tx.rsp_cons, q->q_tx.req_prod_pvt)) {
			netfront_fail_proto(nf, "queue %u: tx rsp_prod %u, but only %u requests outstanding", q->q_index, rp,
				      q->q_tx.req_prod_pvt - q->q_tx.rsp_cons);
			return false;
		}
		for (; q->q_tx.rsp_cons != rp; q->q_tx.rsp_cons++) {
			netif_tx_response_t rsp;
			RING_COPY_RESPONSE(&q->q_tx, q->q_tx.rsp_cons, &rsp);
			struct netfront_txview v = {.bufs = q->q_txb, .nbufs = nf->nf_cfg.tx_bufs,
						    .extras_outstanding = q->q_tx_extras};
			int rc = netfront_tx_rsp_check(&v, &rsp, why, sizeof(why));
			if (rc < 0) {
				netfront_fail_proto(nf, "queue %u, tx slot %u: %s", q->q_index, q->q_tx.rsp_cons, why);
				return false;
			}
			*work = true;
			if (rc == 1) {
				q->q_tx_extras--;
				continue;
			}
			if (q->q_txb[rsp.id].tb_first) {
				q->q_tx_frames--;
				nf->nf_stats.tx_errors += rsp.status != NETIF_RSP_OKAY;
			}
			netfront_txb_put(q, rsp.id);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&q->q_tx, more);
	} while (more);
	return true;
}

static bool netfront_tx_work(struct netfront_queue *q)
{
	bool work = false;

	if (q->q_nf->nf_phase == NF_DEAD || !netfront_tx_reap(q, &work))
		return work;
	if (q->q_tx_blocked && q->q_tx_nfree >= NETFRONT_TX_BUFS_MIN &&
	    RING_FREE_REQUESTS(&q->q_tx) > NETFRONT_TX_SLOTS_LIMIT) {
		q->q_tx_blocked = false;
		netfront_event(q->q_nf, NETFRONT_EV_TX_READY);
	}
	return work;
}

/* How many slots the frame takes: per fragment, or packed. */
static int netfront_tx_plan(struct netfront *nf, const struct netfront_tx *tx, uint32_t *len, unsigned *slots,
			    bool *packed)
{
	uint64_t total = 0;
	unsigned frag_slots = 0;

	for (unsigned i = 0; i < tx->iovcnt; i++) {
		total += tx->iov[i].iov_len;
		frag_slots += (unsigned)((tx->iov[i].iov_len + NETFRONT_PAGE_SIZE - 1) / NETFRONT_PAGE_SIZE);
		if (total > NETFRONT_TX_FRAME_MAX)
			return -EMSGSIZE;
	}
	if (total == 0)
		return -EINVAL;
	*len = (uint32_t)total;
	/* Packed when the fragments would take more slots than the backend takes
	 * or than the queue has pages: such a frame would wait for room that can
	 * never come (with 19 tx pages a 64 KiB frame in many fragments did). */
	unsigned slots_max = nf->nf_cfg.tx_slots_max < nf->nf_cfg.tx_bufs ? nf->nf_cfg.tx_slots_max
									  : nf->nf_cfg.tx_bufs;
	*packed = frag_slots > slots_max || !nf->nf_info.tx_sg;
	*slots = *packed ? (unsigned)((total + NETFRONT_PAGE_SIZE - 1) / NETFRONT_PAGE_SIZE) : frag_slots;
	if (*slots > 1 && !nf->nf_info.tx_sg)
		return -EMSGSIZE;
	return 0;
}

static int netfront_tx_check(struct netfront *nf, const struct netfront_tx *tx)
{
	const struct netfront_info *in = &nf->nf_info;

	if (nf->nf_phase == NF_DEAD)
		return -EIO;
	if (nf->nf_phase != NF_CONNECTED || !nf->nf_info.connected || !nf->nf_queues)
		return -ENOTCONN;
	if (!in->carrier)
		return -ENETDOWN;
	if (!tx->iov || tx->iovcnt == 0 || (tx->flags & ~(NETFRONT_F_CSUM_PARTIAL | NETFRONT_F_DATA_VALIDATED)))
		return -EINVAL;
	if (tx->gso_type == XEN_NETIF_GSO_TYPE_NONE)
		return 0;
	if (tx->gso_size == 0 || tx->gso_type > XEN_NETIF_GSO_TYPE_TCPV6)
		return -EINVAL;
	if ((tx->gso_type == XEN_NETIF_GSO_TYPE_TCPV4 && !in->tx_gso_tcpv4) ||
	    (tx->gso_type == XEN_NETIF_GSO_TYPE_TCPV6 && !in->tx_gso_tcpv6))
		return -EOPNOTSUPP;
	return 0;
}

/* Copy the frame into pages; ids[] gets the page of each data slot, sizes[]
 * its length. */
static void netfront_tx_fill(struct netfront_queue *q, const struct netfront_tx *tx, bool packed, uint16_t *ids,
			     uint16_t *sizes)
{
	unsigned s = 0;
	uint32_t used = NETFRONT_PAGE_SIZE;   /* bytes in page s-1: none open yet */

	for (unsigned i = 0; i < tx->iovcnt; i++) {
		const uint8_t *src = tx->iov[i].iov_base;
		size_t left = tx->iov[i].iov_len;
		if (!packed)
			used = NETFRONT_PAGE_SIZE;   /* each fragment starts a slot */
		while (left) {
			if (used == NETFRONT_PAGE_SIZE) {
				ids[s] = (uint16_t)netfront_txb_get(q);
				sizes[s++] = 0;
				used = 0;
			}
			size_t n = left < NETFRONT_PAGE_SIZE - used ? left : NETFRONT_PAGE_SIZE - used;
			memcpy(q->q_txb[ids[s - 1]].tb_page + used, src, n);
			used += (uint32_t)n;
			sizes[s - 1] = (uint16_t)(sizes[s - 1] + n);
			src += n;
			left -= n;
		}
	}
}

static void netfront_tx_put_req(struct netfront_queue *q, const netif_tx_request_t *req)
{
	*RING_GET_REQUEST(&q->q_tx, q->q_tx.req_prod_pvt) = *req;
	q->q_tx.req_prod_pvt++;
}

static void netfront_tx_requests(struct netfront_queue *q, const struct netfront_tx *tx, uint32_t len,
				 unsigned slots, const uint16_t *ids, const uint16_t *sizes)
{
	bool gso = tx->gso_type != XEN_NETIF_GSO_TYPE_NONE;
	uint16_t flags = (uint16_t)(((tx->flags & NETFRONT_F_CSUM_PARTIAL) ? NETTXF_csum_blank : 0) |
				    ((tx->flags & NETFRONT_F_DATA_VALIDATED) ? NETTXF_data_validated : 0));

	for (unsigned s = 0; s < slots; s++) {
		netif_tx_request_t req = {.gref = q->q_txb[ids[s]].tb_ref, .offset = 0, .id = ids[s],
					  .size = s == 0 ? (uint16_t)len : sizes[s]};
		req.flags = (uint16_t)((s + 1 < slots ? NETTXF_more_data : 0) |
				       (s == 0 ? flags | (gso ? NETTXF_extra_info : 0) : 0));
		netfront_tx_put_req(q, &req);
		if (s == 0 && gso) {
			netif_tx_request_t slot;
			netif_extra_info_t x = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
			x.u.gso.size = tx->gso_size;
			x.u.gso.type = tx->gso_type;
			memset(&slot, 0, sizeof(slot));
			memcpy(&slot, &x, sizeof(x));
			netfront_tx_put_req(q, &slot);
			q->q_tx_extras++;
		}
	}
	q->q_txb[ids[0]].tb_first = true;
}

int netfront_send(struct netfront *nf, const struct netfront_tx *tx)
{
	uint16_t ids[NETFRONT_RING_SIZE], sizes[NETFRONT_RING_SIZE];
	uint32_t len;
	unsigned slots;
	bool packed, work = false;
	int notify, rc = netfront_tx_check(nf, tx);

	if (rc == 0)
		rc = netfront_tx_plan(nf, tx, &len, &slots, &packed);
	if (rc < 0)
		return rc;
	struct netfront_queue *q = &nf->nf_queues[tx->hash % nf->nf_nq];
	unsigned ring_slots = slots + (tx->gso_type ? 1u : 0u);
	if (slots > q->q_tx_nfree || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {
		if (!netfront_tx_reap(q, &work))
			return -EIO;
		if (slots > q->q_tx_nfree || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {
			q->q_tx_blocked = true;
			return -EAGAIN;
		}
	}
	netfront_tx_fill(q, tx, packed, ids, sizes);
	netfront_tx_requests(q, tx, len, slots, ids, sizes);
	q->q_tx_frames++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_tx, notify);
	if (notify)
		xenbus_evtchn_notify(q->q_ev_tx);
	nf->nf_stats.tx_frames++;
	nf->nf_stats.tx_bytes += len;
	nf->nf_stats.tx_slots += ring_slots;
	nf->nf_stats.tx_packed += packed && slots > 1;
	return 0;
}

/* ---- rx ---- */

void netfront_rx_refill(struct netfront_queue *q)
{
	struct netfront *nf = q->q_nf;
	RING_IDX start = q->q_rx.req_prod_pvt;
	int notify;

	while (q->q_rx_nfree && RING_FREE_REQUESTS(&q->q_rx)) {
		RING_IDX idx = q->q_rx.req_prod_pvt;
		uint16_t b = q->q_rx_free[--q->q_rx_nfree];
		uint16_t id = (uint16_t)(idx & (RING_SIZE(&q->q_rx) - 1));
		q->q_rx_buf_of_id[id] = b;
		netif_rx_request_t *req = RING_GET_REQUEST(&q->q_rx, idx);
		req->id = id;
		req->pad = 0;
		req->gref = q->q_rx_refs[b];
		q->q_rx.req_prod_pvt++;
	}
	if (q->q_rx.req_prod_pvt == start)
		return;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_rx, notify);
	/* Without rx-notify the backend polls; before it is bound nobody listens. */
	if (notify && nf->nf_cfg.rx_notify && nf->nf_info.connected)
		xenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);
}

struct netfront_rxfetch {
	netif_rx_front_ring_t *ring;
	RING_IDX base;
};

static void netfront_rx_fetch(void *ctx, unsigned i, netif_rx_response_t *out)
{
	struct netfront_rxfetch *f = ctx;

	RING_COPY_RESPONSE(f->ring, f->base + i, out);
}

/* Copy the frame's data out of its buffers, and give the buffers back. */
static void netfront_rx_gather(struct netfront_queue *q, const struct netfront_rxpkt *p)
{
	uint32_t off = 0;

	for (unsigned i = 0; i < p->nslots; i++) {
		RING_IDX idx = q->q_rx.rsp_cons + i;
		uint16_t b = q->q_rx_buf_of_id[idx & (RING_SIZE(&q->q_rx) - 1)];
		const netif_rx_response_t *r = &q->q_rx_rsps[i];
		bool extra = i >= 1 && i <= (p->nslots - p->ndata);
		if (!extra && !p->error && r->status > 0) {
			const uint8_t *page = (const uint8_t *)q->q_rx_pages + (size_t)b * NETFRONT_PAGE_SIZE;
			memcpy(q->q_rx_frame + off, page + r->offset, (size_t)r->status);
			off += (uint32_t)r->status;
		}
		q->q_rx_free[q->q_rx_nfree++] = b;
	}
}

static void netfront_rx_deliver(struct netfront_queue *q, const struct netfront_rxpkt *p)
{
	struct netfront *nf = q->q_nf;
	struct netfront_rx rx = {.data = q->q_rx_frame, .len = p->len, .gso_type = p->gso_type,
				 .gso_size = p->gso_size, .queue = q->q_index, .slots = p->nslots};

	if (p->flags & NETRXF_csum_blank)
		rx.flags |= NETFRONT_F_CSUM_PARTIAL;
	if (p->flags & NETRXF_data_validated)
		rx.flags |= NETFRONT_F_DATA_VALIDATED;
	nf->nf_stats.rx_frames++;
	nf->nf_stats.rx_bytes += p->len;
	nf->nf_stats.rx_slots += p->nslots;
	nf->nf_stats.rx_gso += p->gso_type != 0;
	nf->nf_stats.rx_csum_partial += (rx.flags & NETFRONT_F_CSUM_PARTIAL) != 0;
	if (!nf->nf_cfg.on_rx)
		return;
	nf->nf_cb_depth++;
	nf->nf_cfg.on_rx(nf->nf_cfg.arg, nf, &rx);
	nf->nf_cb_depth--;
}

/* One frame off the ring: 1 taken, 0 incomplete or none, -1 violation. */
static int netfront_rx_one(struct netfront_queue *q, RING_IDX rp)
{
	struct netfront *nf = q->q_nf;
	struct netfront_rx_limits lim = {.ring_size = RING_SIZE(&q->q_rx), .gso_tcpv4 = nf->nf_cfg.sg && nf->nf_cfg.gso_tcpv4,
					 .gso_tcpv6 = nf->nf_cfg.sg && nf->nf_cfg.gso_tcpv6};
	struct netfront_rxfetch f = {.ring = &q->q_rx, .base = q->q_rx.rsp_cons};
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];
	int rc = netfront_rx_parse(&lim, netfront_rx_fetch, &f, q->q_rx.rsp_cons, rp - q->q_rx.rsp_cons, q->q_rx_rsps,
				   &p, why, sizeof(why));

	if (rc == -EAGAIN)
		return 0;
	if (rc < 0) {
		netfront_fail_proto(nf, "queue %u: %s", q->q_index, why);
		return -1;
	}
	netfront_rx_gather(q, &p);
	q->q_rx.rsp_cons += p.nslots;
	if (p.error)
		nf->nf_stats.rx_errors++;
	else
		netfront_rx_deliver(q, &p);
	return 1;
}

static bool netfront_rx_work(struct netfront_queue *q)
{
	struct netfront *nf = q->q_nf;
	unsigned frames = 0;
	int more = 0, rc = 1;

	if (nf->nf_phase == NF_DEAD)
		return false;
	RING_IDX rp = q->q_rx.sring->rsp_prod;
	xen_rmb();   /* responses are read only after rsp_prod */
	if (!netfront_rsp_prod_ok(rp, q->q_rx.rsp_cons, q->q_rx.req_prod_pvt)) {
		netfront_fail_proto(nf, "queue %u: rx rsp_prod %u, but only %u requests outstanding", q->q_index, rp,
			      q->q_rx.req_prod_pvt - q->q_rx.rsp_cons);
		return true;
	}
	while (q->q_rx.rsp_cons != rp && frames < NETFRONT_RX_BATCH && rc > 0 && nf->nf_phase != NF_DEAD &&
	       nf->nf_queues) {
		rc = netfront_rx_one(q, rp);
		frames += rc > 0;
	}
	if (rc < 0 || nf->nf_phase == NF_DEAD || !nf->nf_queues)
		return true;
	netfront_rx_refill(q);
	if (rc == 0) {
		/* A frame continues past rsp_prod: ask for the next response. */
		q->q_rx.sring->rsp_event = rp + 1;
		xen_mb();
		more = q->q_rx.sring->rsp_prod != rp;
	} else if (q->q_rx.rsp_cons != rp) {
		more = 1;   /* a full batch: yield, then go on */
	} else {
		RING_FINAL_CHECK_FOR_RESPONSES(&q->q_rx, more);
	}
	if (more)
		event_active(q->q_rx_more, EV_TIMEOUT, 0);
	return frames > 0;
}

void netfront_rx_more_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	netfront_rx_work(arg);
}

bool netfront_ev_tx(void *arg)
{
	return netfront_tx_work(arg);
}

bool netfront_ev_rx(void *arg)
{
	return netfront_rx_work(arg);
}

bool netfront_ev_both(void *arg)
{
	bool tx = netfront_tx_work(arg);
	bool rx = netfront_rx_work(arg);

	return tx || rx;
}
