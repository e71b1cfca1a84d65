/*
 * blkback: taking requests off a queue's ring and serving them.
 *
 * The loop reads req_prod once, refuses a producer index that runs past the
 * responses (a frontend cannot have more than a ring of requests out), copies
 * each request once and serves the copy, and stops after a batch to let other
 * vbds run. When both ends agreed on persistent grants and every segment's
 * page is mapped, the store reads into and writes from those pages directly;
 * otherwise data moves through one bounce buffer, by grant copy (one batched
 * call per request) or through whichever pages are mapped. Only the request
 * is copied once: the data is the frontend's own, and racing with it can only
 * change what the frontend itself reads or writes. Any grant failure answers
 * that request BLKIF_RSP_ERROR; nothing a frontend puts in a request can do
 * more.
 * Store I/O is synchronous, so requests complete in ring order and a flush
 * covers every write answered before it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <event2/event.h>

#include "drivers/blk/blkback_internal.h"

static const struct timeval blkback_now = {0, 0};

static struct blkback_stats *blkback_io_stats(struct blkback_queue *q)
{
	return &q->q_vbd->vbd_bb->bb_stats;
}

/* The page a grant is persistently mapped at, or NULL. */
static void *blkback_pgrant(const struct blkback_vbd *vbd, grant_ref_t ref)
{
	unsigned mask = vbd->vbd_pgrants_slots - 1;

	for (unsigned i = (ref * 2654435761u) & mask; vbd->vbd_pgrants[i].pg_addr; i = (i + 1) & mask)
		if (vbd->vbd_pgrants[i].pg_ref == ref)
			return vbd->vbd_pgrants[i].pg_addr;
	return NULL;
}

static void blkback_pgrant_put(struct blkback_vbd *vbd, grant_ref_t ref, void *addr)
{
	unsigned mask = vbd->vbd_pgrants_slots - 1;
	unsigned i = (ref * 2654435761u) & mask;

	while (vbd->vbd_pgrants[i].pg_addr)
		i = (i + 1) & mask;
	vbd->vbd_pgrants[i] = (struct blkback_pgrant){.pg_ref = ref, .pg_addr = addr};
	vbd->vbd_pgrants_used++;
}

static int blkback_ref_cmp(const void *a, const void *b)
{
	grant_ref_t x = *(const grant_ref_t *)a, y = *(const grant_ref_t *)b;

	return (x > y) - (x < y);
}

/* Maps q_refs[0..n), grants of a request the table does not hold yet, with
 * one call: each ref once, in ascending order. False if that call failed:
 * nothing new is kept. */
static bool blkback_pgrants_add(struct blkback_queue *q, unsigned n)
{
	struct blkback_vbd *vbd = q->q_vbd;
	unsigned kept = 0;

	qsort(q->q_refs, n, sizeof(*q->q_refs), blkback_ref_cmp);
	for (unsigned i = 0; i < n; i++)
		if (kept == 0 || q->q_refs[i] != q->q_refs[kept - 1])
			q->q_refs[kept++] = q->q_refs[i];
	/* Writable even for writes: the same grant serves later reads
	 * (io/blkif.h, feature-persistent note 8). */
	uint8_t *addr = xengnttab_map_domain_grant_refs(vbd->vbd_gt, kept, vbd->vbd_fe_domid, q->q_refs,
							PROT_READ | PROT_WRITE);
	if (!addr) {
		blkback_io_stats(q)->grant_errors++;
		blkback_vbd_log(vbd, "queue %u: mapping %u grant ref(s) from %" PRIu32 " to %" PRIu32 " failed: %s",
				q->q_index, kept, q->q_refs[0], q->q_refs[kept - 1], strerror(errno));
		return false;
	}
	vbd->vbd_pmaps[vbd->vbd_pmaps_n++] = (struct blkback_pmap){.pm_addr = addr, .pm_pages = kept};
	for (unsigned i = 0; i < kept; i++)
		blkback_pgrant_put(vbd, q->q_refs[i], addr + (size_t)i * BLKBACK_PAGE_SIZE);
	blkback_io_stats(q)->persistent_maps += kept;
	blkback_io_stats(q)->persistent_map_calls++;
	return true;
}

static int blkback_store_status(int rc)
{
	return rc == 0 ? BLKIF_RSP_OKAY : rc == -EOPNOTSUPP ? BLKIF_RSP_EOPNOTSUPP : BLKIF_RSP_ERROR;
}

/* Every segment's persistently mapped page into q_pages: true if all have
 * one (the store can use them directly); false if grants are not persistent,
 * the table is full, or the map failed (*st is then BLKIF_RSP_ERROR). */
static bool blkback_pages(struct blkback_queue *q, const struct blkif_request_segment *segs,
			  unsigned nr_segs, int *st)
{
	struct blkback_vbd *vbd = q->q_vbd;

	if (!vbd->vbd_persistent)
		return false;
	/* The grants not mapped yet, as many as the table has room for (the
	 * rest go by copy): mapped by one call. */
	unsigned room = vbd->vbd_pgrants_max - vbd->vbd_pgrants_used, n = 0;
	for (unsigned i = 0; i < nr_segs; i++) {
		q->q_pages[i] = blkback_pgrant(vbd, segs[i].gref);
		if (!q->q_pages[i] && n < room)
			q->q_refs[n++] = segs[i].gref;
	}
	if (n && !blkback_pgrants_add(q, n)) {
		*st = BLKIF_RSP_ERROR;
		return false;
	}
	for (unsigned i = 0; i < nr_segs; i++) {
		if (!q->q_pages[i] && n)
			q->q_pages[i] = blkback_pgrant(vbd, segs[i].gref);
		if (!q->q_pages[i])
			return false;
	}
	return true;
}

/* Store I/O straight between the disk and the mapped pages in q_pages. */
static int blkback_direct(struct blkback_queue *q, const struct blkback_req *r,
			  const struct blkif_request_segment *segs)
{
	struct blk_store *store = q->q_vbd->vbd_store;
	uint64_t off = r->sector << BLKBACK_SECTOR_SHIFT;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < r->nr_segs; i++) {
		uint8_t *p = q->q_pages[i] + (segs[i].first_sect << BLKBACK_SECTOR_SHIFT);
		size_t len = (size_t)(segs[i].last_sect - segs[i].first_sect + 1) << BLKBACK_SECTOR_SHIFT;
		rc = r->op == BLKIF_OP_READ ? blk_store_read(store, off, p, len) : blk_store_write(store, off, p, len);
		off += len;
	}
	return blkback_store_status(rc);
}

/* Move a request's data between the frontend's pages and q_buf. */
static int blkback_move(struct blkback_queue *q, const struct blkif_request_segment *segs,
			unsigned nr_segs, bool to_pages)
{
	struct blkback_vbd *vbd = q->q_vbd;
	unsigned nc = 0;
	size_t pos = 0;

	for (unsigned i = 0; i < nr_segs; i++) {
		uint16_t off = (uint16_t)(segs[i].first_sect << BLKBACK_SECTOR_SHIFT);
		uint16_t len = (uint16_t)((segs[i].last_sect - segs[i].first_sect + 1) << BLKBACK_SECTOR_SHIFT);
		uint8_t *page = vbd->vbd_persistent ? blkback_pgrant(vbd, segs[i].gref) : NULL;
		blkback_io_stats(q)->persistent_full += vbd->vbd_persistent && !page;
		if (page && to_pages)
			memcpy(page + off, q->q_buf + pos, len);
		else if (page)
			memcpy(q->q_buf + pos, page + off, len);
		else if (to_pages)
			q->q_copy[nc++] = (xengnttab_grant_copy_segment_t){
				.source.virt = q->q_buf + pos,
				.dest.foreign = {.ref = segs[i].gref, .offset = off, .domid = (uint16_t)vbd->vbd_fe_domid},
				.len = len, .flags = GNTCOPY_dest_gref};
		else
			q->q_copy[nc++] = (xengnttab_grant_copy_segment_t){
				.source.foreign = {.ref = segs[i].gref, .offset = off, .domid = (uint16_t)vbd->vbd_fe_domid},
				.dest.virt = q->q_buf + pos,
				.len = len, .flags = GNTCOPY_source_gref};
		pos += len;
	}
	if (nc == 0)
		return BLKIF_RSP_OKAY;
	int rc = xengnttab_grant_copy(vbd->vbd_gt, nc, q->q_copy);
	for (unsigned i = 0; i < nc; i++)
		if (rc < 0 || q->q_copy[i].status != GNTST_okay) {
			blkback_io_stats(q)->grant_errors++;
			grant_ref_t ref = to_pages ? q->q_copy[i].dest.foreign.ref : q->q_copy[i].source.foreign.ref;
			blkback_vbd_log(vbd, "queue %u: grant copy of ref %" PRIu32 " failed: status %d",
					q->q_index, ref, rc < 0 ? GNTST_general_error : q->q_copy[i].status);
			return BLKIF_RSP_ERROR;
		}
	return BLKIF_RSP_OKAY;
}

/* The segment lists of an indirect request, copied once into q_segs. */
static int blkback_fetch_indirect(struct blkback_queue *q, const struct blkback_req *r)
{
	struct blkback_vbd *vbd = q->q_vbd;
	unsigned left = r->nr_segs;

	for (unsigned i = 0; i < r->nr_indirect_pages; i++) {
		unsigned n = left < BLKBACK_SEGS_PER_INDIRECT_PAGE ? left : BLKBACK_SEGS_PER_INDIRECT_PAGE;
		q->q_copy[i] = (xengnttab_grant_copy_segment_t){
			.source.foreign = {.ref = r->indirect_grefs[i], .offset = 0, .domid = (uint16_t)vbd->vbd_fe_domid},
			.dest.virt = (uint8_t *)q->q_segs + (size_t)i * BLKBACK_PAGE_SIZE,
			.len = (uint16_t)(n * sizeof(struct blkif_request_segment)),
			.flags = GNTCOPY_source_gref};
		left -= n;
	}
	int rc = xengnttab_grant_copy(vbd->vbd_gt, r->nr_indirect_pages, q->q_copy);
	for (unsigned i = 0; i < r->nr_indirect_pages; i++)
		if (rc < 0 || q->q_copy[i].status != GNTST_okay) {
			blkback_io_stats(q)->grant_errors++;
			blkback_vbd_log(vbd, "queue %u: copying indirect page ref %" PRIu32 " failed: status %d",
					q->q_index, r->indirect_grefs[i], rc < 0 ? GNTST_general_error : q->q_copy[i].status);
			return BLKIF_RSP_ERROR;
		}
	return BLKIF_RSP_OKAY;
}

/* Reads, writes, and flush/barrier with or without data. A flush orders
 * before its data (preflush); a barrier also flushes after (FUA). */
static int blkback_do_rw(struct blkback_queue *q, const struct blkback_req *r,
			 const struct blkif_request_segment *segs)
{
	struct blk_store *store = q->q_vbd->vbd_store;
	uint64_t off = r->sector << BLKBACK_SECTOR_SHIFT, bytes = r->nr_sectors << BLKBACK_SECTOR_SHIFT;
	bool flushing = r->op == BLKIF_OP_FLUSH_DISKCACHE || r->op == BLKIF_OP_WRITE_BARRIER;
	int st = BLKIF_RSP_OKAY;

	if (flushing)
		st = blkback_store_status(blk_store_flush(store));
	if (st == BLKIF_RSP_OKAY && r->nr_segs && blkback_pages(q, segs, r->nr_segs, &st)) {
		st = blkback_direct(q, r, segs);
		if (st == BLKIF_RSP_OKAY && r->op == BLKIF_OP_READ)
			blkback_io_stats(q)->bytes_read += bytes;
		else if (st == BLKIF_RSP_OKAY)
			blkback_io_stats(q)->bytes_written += bytes;
	} else if (st == BLKIF_RSP_OKAY && r->nr_segs && r->op == BLKIF_OP_READ) {
		st = blkback_store_status(blk_store_read(store, off, q->q_buf, bytes));
		if (st == BLKIF_RSP_OKAY)
			st = blkback_move(q, segs, r->nr_segs, true);
		if (st == BLKIF_RSP_OKAY)
			blkback_io_stats(q)->bytes_read += bytes;
	} else if (st == BLKIF_RSP_OKAY && r->nr_segs) {
		st = blkback_move(q, segs, r->nr_segs, false);
		if (st == BLKIF_RSP_OKAY)
			st = blkback_store_status(blk_store_write(store, off, q->q_buf, bytes));
		if (st == BLKIF_RSP_OKAY)
			blkback_io_stats(q)->bytes_written += bytes;
	}
	if (st == BLKIF_RSP_OKAY && r->op == BLKIF_OP_WRITE_BARRIER)
		st = blkback_store_status(blk_store_flush(store));
	return st;
}

/* Zeroed first: no padding byte of ours reaches the frontend (XSA-216). */
static void blkback_respond(struct blkback_queue *q, uint64_t id, uint8_t op, int16_t status)
{
	blkif_response_t rsp;

	memset(&rsp, 0, sizeof(rsp));
	rsp.id = id;
	rsp.operation = op;
	rsp.status = status;
	memcpy(RING_GET_RESPONSE(&q->q_ring, q->q_ring.rsp_prod_pvt), &rsp, sizeof(rsp));
	q->q_ring.rsp_prod_pvt++;
}

static void blkback_serve(struct blkback_queue *q, const blkif_request_t *req)
{
	struct blkback_vbd *vbd = q->q_vbd;
	struct blkback_stats *stats = blkback_io_stats(q);
	struct blkback_req r;
	const char *why = NULL;
	int st = blkback_req_check(&vbd->vbd_limits, req, &r, &why);

	stats->requests++;
	if (st == BLKIF_RSP_OKAY && r.op == BLKIF_OP_DISCARD) {
		st = blkback_store_status(blk_store_discard(vbd->vbd_store, r.sector << BLKBACK_SECTOR_SHIFT,
							    r.nr_sectors << BLKBACK_SECTOR_SHIFT));
	} else if (st == BLKIF_RSP_OKAY) {
		const struct blkif_request_segment *segs = r.indirect ? q->q_segs : r.direct;
		if (r.indirect)
			st = blkback_fetch_indirect(q, &r);
		if (st == BLKIF_RSP_OKAY)
			st = blkback_segs_check(&vbd->vbd_limits, &r, segs, &why);
		if (st == BLKIF_RSP_OKAY)
			st = blkback_do_rw(q, &r, segs);
	}
	if (why) {
		stats->invalid += st == BLKIF_RSP_ERROR;
		blkback_vbd_log(vbd, "queue %u: request id %#" PRIx64 " op %u sector %" PRIu64 " refused: %s",
				q->q_index, r.id, req->operation, r.sector, why);
	}
	stats->rsp_error += st == BLKIF_RSP_ERROR;
	stats->rsp_eopnotsupp += st == BLKIF_RSP_EOPNOTSUPP;
	blkback_respond(q, r.id, r.rsp_op, (int16_t)st);
}

static void blkback_push(struct blkback_queue *q)
{
	int notify;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->q_ring, notify);
	if (notify)
		xenbus_evtchn_notify(q->q_evtchn);   /* a closed peer end is the peer's problem */
}

/* One batch; true if it found requests (for the event storm limit). */
bool blkback_queue_work(struct blkback_queue *q)
{
	blkif_back_ring_t *ring = &q->q_ring;
	unsigned done = 0;
	int more = 0;

	if (q->q_dead)
		return false;
	RING_IDX rp = ring->sring->req_prod;
	xen_rmb();   /* requests are read after the index that publishes them */
	if (RING_REQUEST_PROD_OVERFLOW(ring, rp)) {
		blkback_vbd_fatal(q->q_vbd, "queue %u: req_prod %u is %u requests past rsp_prod %u (ring of %u)",
				  q->q_index, rp, rp - ring->rsp_prod_pvt, ring->rsp_prod_pvt, RING_SIZE(ring));
		return true;
	}
	while (ring->req_cons != rp && done < BLKBACK_REQS_PER_BATCH && !q->q_dead &&
	       !RING_REQUEST_CONS_OVERFLOW(ring, ring->req_cons)) {
		blkif_request_t req;
		RING_COPY_REQUEST(ring, ring->req_cons, &req);
		ring->req_cons++;
		blkback_serve(q, &req);
		done++;
	}
	blkback_push(q);
	if (done == BLKBACK_REQS_PER_BATCH)
		more = 1;
	else if (!q->q_dead)
		RING_FINAL_CHECK_FOR_REQUESTS(ring, more);
	/* Continue from a zero timer, not event_active(): libevent runs an
	 * event activated from a callback in the same pass, before it polls
	 * again, so a frontend that keeps the ring full would starve every fd
	 * event of this loop (xenstore watches, other vbds, posted work). */
	if (more && !q->q_dead)
		event_add(q->q_work_ev, &blkback_now);
	return done > 0;
}
