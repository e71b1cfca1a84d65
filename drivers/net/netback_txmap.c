/*
 * netback: large tx fragments taken by mapping the frontend's grants.
 *
 * Grant copy costs a hypercall segment per slot and walks the page through
 * the hypervisor; for full-page fragments a mapping, one memcpy and an unmap
 * is the cheaper road, as long as the maps are batched: every fragment of a
 * ring pass goes into one xengnttab map call, read-only (a frontend that
 * grants its tx pages read-only must work, and we never write there).
 *
 * The userspace map call is all or nothing: a refused batch says nothing
 * about which ref was bad. So a refused batch is narrowed down by mapping
 * each packet's fragments alone; the packets whose own map is refused fail
 * (NETIF_RSP_ERROR, counted), the others carry on (XSA-362/365/367: a grant
 * map failure is per request, never a crash, never a leaked mapping).
 *
 * The bytes are copied out of the mapping into the packet once, before the
 * unmap, and only that copy is looked at afterwards: a frontend rewriting its
 * page meanwhile changes nothing we validated, and nothing points into a
 * mapping once it is gone (the sim makes such a stale access fault).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/mman.h>

#include "drivers/net/netback_internal.h"

uint32_t netback_txmap_threshold(const struct netback_config *cfg)
{
	return cfg->tx_map_threshold_bytes ? cfg->tx_map_threshold_bytes : NETBACK_TX_MAP_THRESHOLD_DEFAULT;
}

int netback_txmap_add(struct netback_queue *q, unsigned i, const netif_tx_request_t *r, uint32_t off_in_slot,
		      uint32_t size, uint32_t dst_off)
{
	uint32_t offset = (uint32_t)r->offset + off_in_slot;
	struct netback_txbatch *b = &q->q_tx_batch[i];

	/* netback_tx_parse refused this already; checked again where a page
	 * address is made from it. */
	if (size == 0 || offset + size > NETBACK_PAGE_SIZE || q->q_map_nfrags >= NETBACK_TXMAP_REFS_MAX) {
		netback_vif_log(q->q_vif, "queue %u: tx slot id %u (ref %" PRIu32 "): cannot map %" PRIu32
			       " bytes at offset %" PRIu32 " (%u fragments queued)", q->q_index, r->id, r->gref,
			       size, offset, q->q_map_nfrags);
		return -EINVAL;
	}
	if (b->tb_nmaps == 0)
		b->tb_map0 = q->q_map_nfrags;
	q->q_map_refs[q->q_map_nfrags] = r->gref;
	q->q_map_frags[q->q_map_nfrags++] = (struct netback_txfrag){
		.tf_pkt = i, .tf_dst_off = dst_off, .tf_offset = (uint16_t)offset, .tf_size = (uint16_t)size};
	b->tb_nmaps++;
	b->tb_map_bytes += size;
	return 0;
}

/* Map fragments first..first+n-1 in one call, copy them into their packets,
 * unmap. -errno if the map was refused (nothing was copied then). */
static int netback_txmap_range(struct netback_queue *q, unsigned first, unsigned n)
{
	struct netback_vif *vif = q->q_vif;
	struct netback_stats *st = &vif->vif_nb->nb_stats;
	int rc = 0;

	st->tx_map_calls++;
	uint8_t *addr = xengnttab_map_domain_grant_refs(vif->vif_gt, n, vif->vif_fe_domid, &q->q_map_refs[first],
							PROT_READ);
	if (!addr) {
		rc = -errno;
		st->tx_map_failures++;
		netback_vif_log(vif, "queue %u: read-only map of %u tx grant refs of dom%" PRIu32
			       " (first ref %" PRIu32 ") failed: %s", q->q_index, n, vif->vif_fe_domid,
			       q->q_map_refs[first], strerror(-rc));
		return rc;
	}
	for (unsigned k = 0; k < n; k++) {
		const struct netback_txfrag *f = &q->q_map_frags[first + k];
		struct netpkt *p = q->q_tx_batch[f->tf_pkt].tb_pkt;
		memcpy(p->np_data + f->tf_dst_off, addr + (size_t)k * NETBACK_PAGE_SIZE + f->tf_offset, f->tf_size);
	}
	if (xengnttab_unmap(vif->vif_gt, addr, n) < 0)
		netback_vif_log(vif, "queue %u: unmap of %u tx grant refs of dom%" PRIu32 " at %p failed: %s",
				q->q_index, n, vif->vif_fe_domid, (void *)addr, strerror(errno));
	return rc;
}

/* The batch was refused: each packet with fragments, alone. */
static void netback_txmap_narrow(struct netback_queue *q, unsigned npkts)
{
	for (unsigned i = 0; i < npkts; i++) {
		struct netback_txbatch *b = &q->q_tx_batch[i];
		if (b->tb_pkt && b->tb_nmaps && !b->tb_map_failed)
			b->tb_map_failed = netback_txmap_range(q, b->tb_map0, b->tb_nmaps) < 0;
	}
}

void netback_txmap_take(struct netback_queue *q, unsigned npkts)
{
	unsigned owners = 0, owner = 0;

	for (unsigned i = 0; i < npkts; i++)
		if (q->q_tx_batch[i].tb_nmaps) {
			owners++;
			owner = i;
		}
	if (owners == 0 || netback_txmap_range(q, 0, q->q_map_nfrags) == 0)
		return;
	if (owners == 1)
		q->q_tx_batch[owner].tb_map_failed = true;   /* its own map was the one refused */
	else
		netback_txmap_narrow(q, npkts);
}
