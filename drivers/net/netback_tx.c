/*
 * netback: frames the guest sends. One batch at a time: packets are read off
 * the tx ring (each slot copied once, netback_tx_parse), their data taken
 * into a buffer per packet: the head and the small fragments by one grant
 * copy, fragments of tx_map_threshold_bytes or more by one read-only grant
 * map (netback_txmap.c), every slot answered in ring order
 * (data slots with the packet's status, extra info slots NETIF_RSP_NULL), and
 * the good packets handed to the link. A packet whose grant copy or map
 * fails, whose slots are malformed or whose offload request does not match
 * its headers is answered NETIF_RSP_ERROR; only what netback_tx_parse calls
 * fatal disconnects the frontend.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/net/netback_internal.h"

struct netback_txfetch {
	netif_tx_back_ring_t *ring;
	RING_IDX base;
};

static void netback_tx_fetch(void *ctx, unsigned i, netif_tx_request_t *out)
{
	struct netback_txfetch *f = ctx;

	RING_COPY_REQUEST(f->ring, f->base + i, out);
}

static struct netback_stats *netback_q_stats(struct netback_queue *q)
{
	return &q->q_vif->vif_nb->nb_stats;
}

static void netback_tx_add_copy(struct netback_queue *q, const netif_tx_request_t *r, uint32_t size, void *dst,
				unsigned *nsegs)
{
	xengnttab_grant_copy_segment_t *seg = &q->q_copy[(*nsegs)++];

	memset(seg, 0, sizeof(*seg));
	seg->flags = GNTCOPY_source_gref;
	seg->source.foreign.ref = r->gref;
	seg->source.foreign.offset = r->offset;
	seg->source.foreign.domid = (uint16_t)q->q_vif->vif_fe_domid;
	seg->dest.virt = dst;
	seg->len = (uint16_t)size;
}

/* Bytes of data slot j that go by grant copy; the rest of it is mapped. A
 * packet's head is always copied: it is small and read first. */
static uint32_t netback_tx_copy_part(uint32_t threshold, unsigned j, uint32_t size)
{
	if (size < threshold)
		return size;
	if (j == 0)
		return size < NETBACK_TX_HDR_COPY_BYTES ? size : NETBACK_TX_HDR_COPY_BYTES;
	return 0;
}

/* Grant copy segments and map fragments for the packet's data slots, into a
 * fresh buffer. */
static void netback_tx_prepare(struct netback_queue *q, unsigned i, unsigned *nsegs)
{
	struct netback_txbatch *b = &q->q_tx_batch[i];
	const struct netback_txpkt *m = &b->tb_meta;
	uint32_t threshold = netback_txmap_threshold(&q->q_vif->vif_nb->nb_cfg);
	uint32_t off = 0;

	b->tb_seg0 = *nsegs;
	b->tb_pkt = netpkt_alloc(m->len);
	if (!b->tb_pkt) {
		netback_vif_log(q->q_vif, "no memory for a packet of %" PRIu32 " bytes", m->len);
		b->tb_status = NETIF_RSP_ERROR;
		return;
	}
	for (unsigned j = 0; j < m->nslots; j++) {
		if (j >= 1 && j <= m->nextras)
			continue;
		const netif_tx_request_t *r = &q->q_tx_reqs[j];
		uint32_t size = j == 0 ? m->first_len : r->size;
		if (size == 0)
			continue;   /* a zero-length slot is skipped, never a zero-length copy */
		uint32_t copied = netback_tx_copy_part(threshold, j, size);
		if (copied)
			netback_tx_add_copy(q, r, copied, b->tb_pkt->np_data + off, nsegs);
		if (copied < size && netback_txmap_add(q, i, r, copied, size - copied, off + copied) < 0) {
			b->tb_map_failed = true;
			break;
		}
		off += size;
	}
	b->tb_nsegs = *nsegs - b->tb_seg0;
	b->tb_status = NETIF_RSP_OKAY;
	struct netback_stats *st = netback_q_stats(q);
	st->tx_zero_slots += m->zero_slots;
	if (m->ndata > st->tx_slots_peak)
		st->tx_slots_peak = m->ndata;
}

/* Read packets into the batch until it is full or the ring is empty.
 * false: a fatal violation (the queue is dead). */
static bool netback_tx_gather(struct netback_queue *q, RING_IDX rp, unsigned *npkts, unsigned *nslots,
			      unsigned *nsegs)
{
	struct netback_vif *vif = q->q_vif;
	char why[NETBACK_WHY_MAX];

	while (*npkts < NETBACK_TX_BATCH_PKTS && q->q_tx.req_cons != rp &&
	       *nsegs + NETBACK_TX_PKT_SLOTS_MAX <= NETBACK_COPY_SEGS_MAX &&
	       q->q_map_nfrags + NETBACK_TX_PKT_SLOTS_MAX <= NETBACK_TXMAP_REFS_MAX) {
		struct netback_txbatch *b = &q->q_tx_batch[*npkts];
		struct netback_txfetch f = {.ring = &q->q_tx, .base = q->q_tx.req_cons};
		enum netback_tx_verdict v = netback_tx_parse(&vif->vif_tx_limits, netback_tx_fetch, &f,
							     rp - q->q_tx.req_cons, q->q_tx_reqs, &b->tb_meta,
							     why, sizeof(why));
		if (v == NETBACK_TX_FATAL) {
			netback_vif_fatal(vif, "queue %u, tx slot %u: %s", q->q_index, q->q_tx.req_cons, why);
			return false;
		}
		b->tb_slot0 = *nslots;
		b->tb_nslots = b->tb_meta.nslots;
		for (unsigned j = 0; j < b->tb_nslots; j++)
			q->q_tx_slots[*nslots + j] = (struct netback_txslot){
				.ts_id = q->q_tx_reqs[j].id, .ts_extra = j >= 1 && j <= b->tb_meta.nextras};
		*nslots += b->tb_nslots;
		q->q_tx.req_cons += b->tb_nslots;
		b->tb_pkt = NULL;
		b->tb_seg0 = b->tb_nsegs = 0;
		b->tb_map0 = b->tb_nmaps = b->tb_map_bytes = 0;
		b->tb_map_failed = false;
		if (v == NETBACK_TX_DROP) {
			b->tb_status = NETIF_RSP_ERROR;
			netback_vif_log(vif, "queue %u: dropping a packet: %s", q->q_index, why);
		} else {
			netback_tx_prepare(q, *npkts, nsegs);
		}
		(*npkts)++;
	}
	return true;
}

static void netback_tx_copy(struct netback_queue *q, unsigned nsegs)
{
	if (nsegs == 0)
		return;
	if (xengnttab_grant_copy(q->q_vif->vif_gt, nsegs, q->q_copy) < 0) {
		netback_vif_log(q->q_vif, "grant copy of %u tx segments failed: %s", nsegs, strerror(errno));
		for (unsigned i = 0; i < nsegs; i++)
			q->q_copy[i].status = GNTST_general_error;
	}
}

/* The offload the frontend asked for must fit the packet's headers. */
static const char *netback_tx_offload(struct netback_queue *q, struct netpkt *p)
{
	const struct netback_config *c = &q->q_vif->vif_nb->nb_cfg;
	struct netpkt_hdrs h;

	if (p->np_flags & NETPKT_F_CSUM_PARTIAL) {
		if (netpkt_parse(p->np_data, p->np_len, &h) < 0)
			return "checksum offload on a packet without TCP/UDP headers";
		if (h.ipv6 && !c->ipv6_csum)
			return "IPv6 checksum offload was not offered";
	}
	if (p->np_gso_type && netpkt_gso_check(p) < 0)
		return "GSO metadata does not match the packet's headers";
	return NULL;
}

static void netback_tx_finish(struct netback_queue *q, struct netback_txbatch *b)
{
	struct netback_stats *st = netback_q_stats(q);
	struct netpkt *p = b->tb_pkt;
	const char *why = NULL;

	for (unsigned i = 0; p && !why && i < b->tb_nsegs; i++) {
		const xengnttab_grant_copy_segment_t *s = &q->q_copy[b->tb_seg0 + i];
		if (s->status != GNTST_okay) {
			st->tx_grant_errors++;
			netback_vif_log(q->q_vif, "queue %u: grant copy from ref %" PRIu32 " failed (GNTST %d)", q->q_index,
					s->source.foreign.ref, s->status);
			why = "grant copy failed";
		}
	}
	if (p && !why && b->tb_map_failed) {
		st->tx_grant_errors++;   /* netback_txmap.c said which refs */
		why = "grant map failed";
	}
	if (p && !why) {
		p->np_flags = (uint16_t)(((b->tb_meta.flags & NETTXF_csum_blank) ? NETPKT_F_CSUM_PARTIAL : 0) |
					 ((b->tb_meta.flags & NETTXF_data_validated) ? NETPKT_F_DATA_VALIDATED : 0));
		p->np_gso_type = b->tb_meta.gso_type;
		p->np_gso_size = b->tb_meta.gso_size;
		why = netback_tx_offload(q, p);
		if (why)
			netback_vif_log(q->q_vif, "queue %u: dropping a packet: %s", q->q_index, why);
	}
	if (why || !p) {
		netpkt_free(p);
		b->tb_pkt = NULL;
		b->tb_status = NETIF_RSP_ERROR;
	}
	if (b->tb_status != NETIF_RSP_OKAY)
		st->tx_dropped++;
	for (unsigned j = 0; j < b->tb_nslots; j++)
		q->q_tx_slots[b->tb_slot0 + j].ts_status = b->tb_status;
}

static void netback_tx_respond(struct netback_queue *q, unsigned nslots)
{
	int notify;

	if (nslots == 0)
		return;
	for (unsigned j = 0; j < nslots; j++) {
		const struct netback_txslot *s = &q->q_tx_slots[j];
		netif_tx_response_t *rsp = RING_GET_RESPONSE(&q->q_tx, q->q_tx.rsp_prod_pvt);
		/* Zeroed first: nothing of ours in the padding (XSA-216). */
		memset(rsp, 0, sizeof(*rsp));
		rsp->id = s->ts_id;
		rsp->status = s->ts_extra ? NETIF_RSP_NULL : s->ts_status;
		q->q_tx.rsp_prod_pvt++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->q_tx, notify);
	if (notify)
		xenbus_evtchn_notify(q->q_ev_tx);
	netback_q_stats(q)->tx_slots += nslots;
}

static void netback_tx_deliver(struct netback_queue *q, unsigned npkts)
{
	struct netback_vif *vif = q->q_vif;
	const struct netback_config *c = &vif->vif_nb->nb_cfg;
	struct netback_stats *st = netback_q_stats(q);

	for (unsigned i = 0; i < npkts; i++) {
		struct netpkt *p = q->q_tx_batch[i].tb_pkt;
		q->q_tx_batch[i].tb_pkt = NULL;
		if (!p)
			continue;
		uint32_t mapped = q->q_tx_batch[i].tb_map_bytes;
		st->tx_packets++;
		st->tx_bytes += p->np_len;
		st->tx_map_packets += mapped != 0;
		st->tx_copy_packets += mapped == 0;
		st->tx_map_bytes += mapped;
		st->tx_copy_bytes += p->np_len - mapped;
		st->tx_gso += p->np_gso_type != NETPKT_GSO_NONE;
		st->tx_csum_partial += (p->np_flags & NETPKT_F_CSUM_PARTIAL) != 0;
		if (vif->vif_attached && vif->vif_carrier) {
			c->link->output(c->link_arg, vif->vif_port, p);
		} else {
			st->tx_no_link++;
			netpkt_free(p);
		}
	}
}

bool netback_tx_work(struct netback_queue *q)
{
	unsigned npkts = 0, nslots = 0, nsegs = 0;
	int more;

	if (q->q_dead)
		return false;
	RING_IDX rp = q->q_tx.sring->req_prod;
	xen_rmb();   /* the requests are read only after req_prod */
	if (RING_REQUEST_PROD_OVERFLOW(&q->q_tx, rp)) {
		netback_vif_fatal(q->q_vif, "queue %u: tx req_prod %u is more than %u slots ahead of rsp_prod %u",
				  q->q_index, rp, RING_SIZE(&q->q_tx), q->q_tx.rsp_prod_pvt);
		return true;
	}
	q->q_map_nfrags = 0;
	bool alive = netback_tx_gather(q, rp, &npkts, &nslots, &nsegs);
	netback_tx_copy(q, nsegs);
	netback_txmap_take(q, npkts);
	for (unsigned i = 0; i < npkts; i++)
		netback_tx_finish(q, &q->q_tx_batch[i]);
	netback_tx_respond(q, nslots);
	netback_tx_deliver(q, npkts);
	if (!alive || q->q_dead)
		return true;
	if (q->q_tx.req_cons != rp) {
		event_active(q->q_tx_work, EV_TIMEOUT, 0);   /* a full batch: yield, then go on */
	} else {
		RING_FINAL_CHECK_FOR_REQUESTS(&q->q_tx, more);
		if (more)
			event_active(q->q_tx_work, EV_TIMEOUT, 0);
	}
	return npkts > 0;
}
