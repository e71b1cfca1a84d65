/*
 * netback: frames for the guest. netback_vif_input() adapts a frame to what
 * the frontend accepts (GSO cut into segments, partial checksums completed,
 * nothing larger than a page without feature-sg) and queues it on the queue
 * its flow hashes to. The queue is bounded in frames and bytes: beyond,
 * frames are dropped and counted.
 *
 * Delivery copies each frame into buffers the frontend posted, one page per
 * slot, by grant copy, the GSO extra info in the slot after the first: each
 * response lands in the ring slot of the request it consumed, as netif.h
 * requires. When the head frame finds too few buffers we ask for an event
 * (req_event) and wait; a frontend without feature-rx-notify is polled.
 * Waiting longer than rx_stall_ms without progress means the guest stopped
 * posting: the queue is dropped and stays empty (frames refused) until
 * buffers appear again, so a stuck guest costs bounded memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "drivers/net/netback_internal.h"

static struct netback_stats *netback_rx_stats(struct netback_vif *vif)
{
	return &vif->vif_nb->nb_stats;
}

static uint64_t netback_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the queue ---- */

static void netback_rxq_account(struct netback_queue *q, int64_t frames, int64_t bytes)
{
	struct netback_stats *st = netback_rx_stats(q->q_vif);

	q->q_rxq_frames = (unsigned)((int64_t)q->q_rxq_frames + frames);
	q->q_rxq_bytes = (uint64_t)((int64_t)q->q_rxq_bytes + bytes);
	st->rx_queued_bytes = (uint64_t)((int64_t)st->rx_queued_bytes + bytes);
	st->rx_queued_frames = (uint64_t)((int64_t)st->rx_queued_frames + frames);
	if (st->rx_queued_bytes > st->rx_queued_bytes_peak)
		st->rx_queued_bytes_peak = st->rx_queued_bytes;
	if (q->q_rxq_bytes > st->rx_queue_bytes_peak)
		st->rx_queue_bytes_peak = q->q_rxq_bytes;
}

static struct netpkt *netback_rxq_pop(struct netback_queue *q)
{
	struct netpkt *p = q->q_rxq_head;

	if (p) {
		q->q_rxq_head = p->np_next;
		if (!q->q_rxq_head)
			q->q_rxq_tail = NULL;
		p->np_next = NULL;
		netback_rxq_account(q, -1, -(int64_t)netpkt_footprint(p));
	}
	return p;
}

void netback_rxq_purge(struct netback_queue *q, uint64_t *counter)
{
	struct netpkt *p;

	while ((p = netback_rxq_pop(q))) {
		(*counter)++;
		netpkt_free(p);
	}
	q->q_rx_waiting = false;
}

static int netback_rx_drop(struct netpkt *p, uint64_t *counter, int rc)
{
	(*counter)++;
	netpkt_free(p);
	return rc;
}

/* ---- input ---- */

/* What the frontend cannot take is made into something it can. */
static int netback_rx_adapt(struct netback_vif *vif, struct netpkt *p)
{
	const struct netback_vif_info *in = &vif->vif_info;
	struct netback_stats *st = netback_rx_stats(vif);
	struct netpkt_hdrs h;

	if (p->np_flags & NETPKT_F_CSUM_PARTIAL) {
		if (netpkt_parse(p->np_data, p->np_len, &h) < 0)
			return -EINVAL;
		if (h.ipv6 ? !in->rx_ipv6_csum : !in->rx_csum) {
			if (netpkt_csum_complete(p) < 0)
				return -EINVAL;
			st->rx_csum_completed++;
		}
	}
	if (p->np_gso_type && netpkt_gso_check(p) < 0)
		return -EINVAL;
	if (!in->rx_sg && p->np_len > NETBACK_PAGE_SIZE)
		return -EMSGSIZE;
	return 0;
}

int netback_rx_enqueue(struct netback_vif *vif, struct netpkt *p)
{
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	struct netback_stats *st = netback_rx_stats(vif);
	int rc = netback_rx_adapt(vif, p);

	if (rc < 0)
		return netback_rx_drop(p, &st->rx_dropped_other, rc);
	/* One queue (the common case): no need to hash the headers. */
	unsigned qi = vif->vif_nr_queues > 1 ? netpkt_flow_hash(p->np_data, p->np_len) % vif->vif_nr_queues : 0;
	struct netback_queue *q = &vif->vif_queues[qi];
	size_t fp = netpkt_footprint(p);
	if (q->q_stalled)
		return netback_rx_drop(p, &st->rx_dropped_stalled, -ENOBUFS);
	if (q->q_rxq_frames >= c->rx_queue_frames_max || q->q_rxq_bytes + fp > c->rx_queue_bytes_max)
		return netback_rx_drop(p, &st->rx_dropped_full, -ENOBUFS);
	p->np_next = NULL;
	if (q->q_rxq_tail)
		q->q_rxq_tail->np_next = p;
	else
		q->q_rxq_head = p;
	q->q_rxq_tail = p;
	netback_rxq_account(q, 1, (int64_t)fp);
	if (!q->q_rx_waiting)
		event_active(q->q_rx_work, EV_TIMEOUT, 0);
	return 0;
}

static bool netback_rx_gso_ok(const struct netback_vif *vif, const struct netpkt *p)
{
	return (p->np_gso_type == NETPKT_GSO_TCPV4 && vif->vif_info.rx_gso_tcpv4) ||
	       (p->np_gso_type == NETPKT_GSO_TCPV6 && vif->vif_info.rx_gso_tcpv6);
}

static int netback_rx_emit(void *arg, struct netpkt *seg)
{
	netback_rx_enqueue(arg, seg);
	return 0;   /* a segment dropped is counted; the others still go */
}

int netback_vif_input(struct netback_vif *vif, struct netpkt *p)
{
	struct netback_stats *st = netback_rx_stats(vif);

	if (!vif->vif_info.connected || !vif->vif_carrier || !vif->vif_nr_queues)
		return netback_rx_drop(p, &st->rx_dropped_down, -ENETDOWN);
	if (!p->np_gso_type || netback_rx_gso_ok(vif, p))
		return netback_rx_enqueue(vif, p);
	/* The frontend cannot take this GSO type: cut it here. */
	int rc = netpkt_gso_segment(p, netback_rx_emit, vif);
	if (rc < 0)
		return netback_rx_drop(p, &st->rx_dropped_other, rc);
	st->rx_gso_segmented++;
	netpkt_free(p);
	return 0;
}

/* ---- delivery ---- */

static uint16_t netback_rx_csum_flags(const struct netpkt *p)
{
	if (p->np_flags & NETPKT_F_CSUM_PARTIAL)
		return NETRXF_csum_blank | NETRXF_data_validated;
	return (p->np_flags & NETPKT_F_DATA_VALIDATED) ? NETRXF_data_validated : 0;
}

/* Consume the requests the frame needs: a copy segment per data slot. */
static void netback_rx_place(struct netback_queue *q, const struct netpkt *p, unsigned *nslots, unsigned *nsegs)
{
	bool gso = p->np_gso_type != NETPKT_GSO_NONE;
	unsigned need = netback_rx_slots(p->np_len, gso), ndata = need - gso;

	for (unsigned k = 0, d = 0; k < need; k++) {
		netif_rx_request_t req;
		struct netback_rxslot *s = &q->q_rx_slots[(*nslots)++];
		RING_COPY_REQUEST(&q->q_rx, q->q_rx.req_cons, &req);
		q->q_rx.req_cons++;
		*s = (struct netback_rxslot){.rs_id = req.id, .rs_seg = -1, .rs_pkt = p};
		if (gso && k == 1) {
			s->rs_extra = true;
			continue;
		}
		uint32_t off = d * NETBACK_PAGE_SIZE;
		uint32_t chunk = p->np_len - off < NETBACK_PAGE_SIZE ? p->np_len - off : NETBACK_PAGE_SIZE;
		xengnttab_grant_copy_segment_t *seg = &q->q_copy[*nsegs];
		memset(seg, 0, sizeof(*seg));
		seg->flags = GNTCOPY_dest_gref;
		seg->source.virt = (void *)(p->np_data + off);
		seg->dest.foreign.ref = req.gref;
		seg->dest.foreign.offset = 0;
		seg->dest.foreign.domid = (uint16_t)q->q_vif->vif_fe_domid;
		seg->len = (uint16_t)chunk;
		s->rs_seg = (int)(*nsegs)++;
		s->rs_first = d == 0;
		s->rs_status = (int16_t)chunk;
		s->rs_flags = d + 1 < ndata ? NETRXF_more_data : 0;
		if (d == 0)
			s->rs_flags |= (uint16_t)((gso ? NETRXF_extra_info : 0) | netback_rx_csum_flags(p));
		d++;
	}
}

static void netback_rx_copy(struct netback_queue *q, unsigned nsegs)
{
	if (nsegs == 0)
		return;
	if (xengnttab_grant_copy(q->q_vif->vif_gt, nsegs, q->q_copy) < 0) {
		netback_vif_log(q->q_vif, "grant copy of %u rx segments failed: %s", nsegs, strerror(errno));
		for (unsigned i = 0; i < nsegs; i++)
			q->q_copy[i].status = GNTST_general_error;
	}
}

static void netback_rx_respond_one(struct netback_queue *q, const struct netback_rxslot *s)
{
	void *slot = RING_GET_RESPONSE(&q->q_rx, q->q_rx.rsp_prod_pvt);

	/* Zeroed first: nothing of ours in the padding (XSA-216). */
	memset(slot, 0, sizeof(netif_rx_response_t));
	if (s->rs_extra) {
		netif_extra_info_t x = {.type = XEN_NETIF_EXTRA_TYPE_GSO};
		x.u.gso.size = s->rs_pkt->np_gso_size;
		x.u.gso.type = s->rs_pkt->np_gso_type;
		memcpy(slot, &x, sizeof(x));
	} else {
		netif_rx_response_t rsp = {.id = s->rs_id, .offset = 0, .flags = s->rs_flags, .status = s->rs_status};
		const xengnttab_grant_copy_segment_t *seg = &q->q_copy[s->rs_seg];
		if (seg->status != GNTST_okay) {
			rsp.status = NETIF_RSP_ERROR;
			netback_rx_stats(q->q_vif)->rx_grant_errors++;
			netback_vif_log(q->q_vif, "queue %u: grant copy to ref %" PRIu32 " failed (GNTST %d)", q->q_index,
					seg->dest.foreign.ref, seg->status);
		}
		memcpy(slot, &rsp, sizeof(rsp));
	}
	q->q_rx.rsp_prod_pvt++;
}

static void netback_rx_respond(struct netback_queue *q, unsigned nslots)
{
	int notify;

	if (nslots == 0)
		return;
	for (unsigned j = 0; j < nslots; j++)
		netback_rx_respond_one(q, &q->q_rx_slots[j]);
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->q_rx, notify);
	if (notify)
		xenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);
	netback_rx_stats(q->q_vif)->rx_slots += nslots;
}

static void netback_rx_timer_arm(struct netback_queue *q, uint64_t ms)
{
	struct timeval tv = {.tv_sec = (time_t)(ms / 1000), .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(q->q_rx_timer, &tv);
}

/* After a batch: more to do now, wait for buffers, or nothing queued. */
static void netback_rx_wait(struct netback_queue *q, bool progress)
{
	const struct netback_config *c = &q->q_vif->vif_nb->nb_cfg;
	bool notify = q->q_vif->vif_info.rx_notify;
	struct netpkt *head = q->q_rxq_head;

	if (!head) {
		q->q_rx_waiting = false;
		if (q->q_stalled && !notify)
			netback_rx_timer_arm(q, c->rx_poll_ms);   /* keep looking for buffers */
		else
			evtimer_del(q->q_rx_timer);
		return;
	}
	unsigned need = netback_rx_slots(head->np_len, head->np_gso_type != NETPKT_GSO_NONE);
	q->q_rx.sring->req_event = q->q_rx.req_cons + need;
	xen_mb();   /* req_event is visible before we look at req_prod again */
	if (q->q_rx.sring->req_prod - q->q_rx.req_cons >= need) {
		event_active(q->q_rx_work, EV_TIMEOUT, 0);
		return;
	}
	if (!q->q_rx_waiting || progress)
		q->q_rx_wait_ns = netback_now_ns();
	q->q_rx_waiting = true;
	uint64_t waited_ms = (netback_now_ns() - q->q_rx_wait_ns) / 1000000u;
	uint64_t left_ms = waited_ms < c->rx_stall_ms ? c->rx_stall_ms - waited_ms : 0;
	netback_rx_timer_arm(q, notify ? left_ms : (left_ms < c->rx_poll_ms ? left_ms : c->rx_poll_ms));
}

static void netback_rx_unstall(struct netback_queue *q, RING_IDX rp)
{
	if (!q->q_stalled || rp == q->q_rx.req_cons)
		return;
	q->q_stalled = false;
	netback_rx_stats(q->q_vif)->rx_unstalls++;
	netback_vif_log(q->q_vif, "queue %u: the frontend posts buffers again", q->q_index);
}

bool netback_rx_work(struct netback_queue *q)
{
	struct netback_stats *st = netback_rx_stats(q->q_vif);
	unsigned npkts = 0, nslots = 0, nsegs = 0;

	if (q->q_dead)
		return false;
	RING_IDX rp = q->q_rx.sring->req_prod;
	xen_rmb();   /* the requests are read only after req_prod */
	if (RING_REQUEST_PROD_OVERFLOW(&q->q_rx, rp)) {
		netback_vif_fatal(q->q_vif, "queue %u: rx req_prod %u is more than %u slots ahead of rsp_prod %u",
				  q->q_index, rp, RING_SIZE(&q->q_rx), q->q_rx.rsp_prod_pvt);
		return true;
	}
	netback_rx_unstall(q, rp);
	while (q->q_rxq_head && npkts < NETBACK_RX_BATCH_PKTS) {
		struct netpkt *p = q->q_rxq_head;
		unsigned need = netback_rx_slots(p->np_len, p->np_gso_type != NETPKT_GSO_NONE);
		if (rp - q->q_rx.req_cons < need || nsegs + need > NETBACK_COPY_SEGS_MAX)
			break;
		q->q_rx_done[npkts++] = netback_rxq_pop(q);
		netback_rx_place(q, p, &nslots, &nsegs);
	}
	netback_rx_copy(q, nsegs);
	netback_rx_respond(q, nslots);
	q->q_vif->vif_info.rx_frames += npkts;
	for (unsigned i = 0; i < npkts; i++) {
		st->rx_packets++;
		st->rx_bytes += q->q_rx_done[i]->np_len;
		netpkt_free(q->q_rx_done[i]);
	}
	netback_rx_wait(q, npkts > 0);
	return npkts > 0;
}

static void netback_rx_stall(struct netback_queue *q)
{
	struct netback_stats *st = netback_rx_stats(q->q_vif);
	unsigned frames = q->q_rxq_frames;

	netback_rxq_purge(q, &st->rx_dropped_stalled);
	q->q_stalled = true;
	st->rx_stalls++;
	netback_vif_log(q->q_vif, "queue %u: no rx buffers for %u ms, %u frames dropped; refusing frames until "
			"the frontend posts buffers", q->q_index, q->q_vif->vif_nb->nb_cfg.rx_stall_ms, frames);
	/* Any buffer posted from now on wakes us (or the poll finds it). */
	q->q_rx.sring->req_event = q->q_rx.req_cons + 1;
	xen_mb();
	if (!q->q_vif->vif_info.rx_notify)
		netback_rx_timer_arm(q, q->q_vif->vif_nb->nb_cfg.rx_poll_ms);
	else if (q->q_rx.sring->req_prod != q->q_rx.req_cons)
		event_active(q->q_rx_work, EV_TIMEOUT, 0);
}

void netback_rx_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct netback_queue *q = arg;
	const struct netback_config *c = &q->q_vif->vif_nb->nb_cfg;

	(void)fd;
	(void)what;
	if (q->q_dead)
		return;
	netback_rx_work(q);
	if (q->q_rx_waiting && (netback_now_ns() - q->q_rx_wait_ns) / 1000000u >= c->rx_stall_ms)
		netback_rx_stall(q);
}
