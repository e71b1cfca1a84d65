/*
 * blkfront: I/O. An I/O is accepted onto the pending list and carved into
 * ring requests ("parts") as rings, shadow slots and grant pages allow: up to
 * 11 segments, or an indirect request of up to the negotiated segments.
 * Writes copy the caller's data into the granted pages; reads copy it out
 * when the response comes. An I/O completes when its last part does.
 *
 * Responses come from a backend we do not trust: rsp_prod is read once and
 * must not claim more responses than requests are outstanding; each response
 * is copied once and must name an outstanding request (slot in range, id
 * equal, including the generation) with the operation it asked for. Anything
 * else is a violation and the device fails for good (blkfront_fail).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>

#include <event2/event.h>

#include "drivers/blk/blkfront_internal.h"

/* ---- pages ---- */

static int blkfront_pool_grow(struct blkfront *bf, unsigned need)
{
	unsigned room = bf->bf_cfg.grant_pages_max - bf->bf_grant_pages;
	unsigned n = need > BLKFRONT_POOL_CHUNK_PAGES ? need : BLKFRONT_POOL_CHUNK_PAGES;
	struct blkfront_chunk *c;
	uint32_t *refs;

	if (n > room)
		n = room;
	if (n < need)
		return -ENOSPC;
	c = malloc(sizeof(*c) + n * sizeof(c->ck_page[0]));
	refs = malloc(n * sizeof(*refs));
	if (!c || !refs) {
		free(c);
		free(refs);
		return -ENOMEM;
	}
	/* Writable: a persistent grant serves reads and writes (blkif.h note 8). */
	c->ck_addr = xengntshr_share_pages(bf->bf_gs, bf->bf_back.domid, (int)n, refs, 1);
	if (!c->ck_addr) {
		int rc = errno ? -errno : -ENOMEM;
		free(c);
		free(refs);
		return rc;
	}
	c->ck_pages = n;
	for (unsigned i = 0; i < n; i++) {
		c->ck_page[i] = (struct blkfront_page){.pg_next = bf->bf_free_pages,
						       .pg_addr = (uint8_t *)c->ck_addr + (size_t)i * BLKFRONT_PAGE_SIZE,
						       .pg_ref = refs[i]};
		bf->bf_free_pages = &c->ck_page[i];
	}
	free(refs);
	c->ck_next = bf->bf_chunks;
	bf->bf_chunks = c;
	bf->bf_pool_pages += n;
	bf->bf_pool_free += n;
	bf->bf_grant_pages += n;
	return 0;
}

static void blkfront_page_lists_free(struct blkfront_shadow *sh)
{
	if (sh->sh_pool != sh->sh_pool_inline)
		free(sh->sh_pool);
	if (sh->sh_refs != sh->sh_refs_inline)
		free(sh->sh_refs);
	sh->sh_pool = NULL;
	sh->sh_refs = NULL;
}

/* Pages for a part: from the pool, or a grant of their own (read-only for
 * writes: the backend has nothing to write there). */
static int blkfront_part_pages(struct blkfront *bf, struct blkfront_shadow *sh, bool writable)
{
	unsigned n = sh->sh_npages;
	int rc = 0;

	if (bf->bf_cfg.persistent) {
		if (bf->bf_pool_free < n)
			rc = blkfront_pool_grow(bf, n - bf->bf_pool_free);
		if (rc == 0)
			sh->sh_pool = n <= BLKFRONT_SH_INLINE_PAGES ? sh->sh_pool_inline
								    : malloc(n * sizeof(*sh->sh_pool));
		if (rc == 0 && !sh->sh_pool)
			rc = -ENOMEM;
		for (unsigned i = 0; rc == 0 && i < n; i++) {
			sh->sh_pool[i] = bf->bf_free_pages;
			bf->bf_free_pages = bf->bf_free_pages->pg_next;
		}
		bf->bf_pool_free -= rc == 0 ? n : 0;
		return rc;
	}
	if (bf->bf_grant_pages + n > bf->bf_cfg.grant_pages_max)
		return -ENOSPC;
	sh->sh_refs = n <= BLKFRONT_SH_INLINE_PAGES ? sh->sh_refs_inline : malloc(n * sizeof(*sh->sh_refs));
	if (!sh->sh_refs)
		return -ENOMEM;
	sh->sh_share = xengntshr_share_pages(bf->bf_gs, bf->bf_back.domid, (int)n, sh->sh_refs, writable);
	if (!sh->sh_share) {
		rc = errno ? -errno : -ENOMEM;
		blkfront_page_lists_free(sh);
		return rc;
	}
	bf->bf_grant_pages += n;
	return 0;
}

static uint8_t *blkfront_page(const struct blkfront_shadow *sh, unsigned i)
{
	return sh->sh_pool ? sh->sh_pool[i]->pg_addr : (uint8_t *)sh->sh_share + (size_t)i * BLKFRONT_PAGE_SIZE;
}

static grant_ref_t blkfront_ref(const struct blkfront_shadow *sh, unsigned i)
{
	return sh->sh_pool ? sh->sh_pool[i]->pg_ref : sh->sh_refs[i];
}

void blkfront_part_release(struct blkfront_queue *q, struct blkfront_shadow *sh)
{
	struct blkfront *bf = q->q_bf;

	if (sh->sh_pool) {
		/* LIFO: the backend's persistent map of these stays hot. */
		for (unsigned i = sh->sh_npages; i-- > 0;) {
			sh->sh_pool[i]->pg_next = bf->bf_free_pages;
			bf->bf_free_pages = sh->sh_pool[i];
		}
		bf->bf_pool_free += sh->sh_npages;
	}
	if (sh->sh_share) {
		/* The grant ends when the backend unmaps, not before (XSA-396). */
		xengntshr_unshare(bf->bf_gs, sh->sh_share, sh->sh_npages);
		bf->bf_grant_pages -= sh->sh_npages;
	}
	blkfront_page_lists_free(sh);
	uint32_t slot = (uint32_t)(sh - q->q_shadow);
	*sh = (struct blkfront_shadow){.sh_next_free = q->q_free};
	q->q_free = slot;
	q->q_inflight--;
}

/* ---- issuing ---- */

static struct blkfront_queue *blkfront_pick_queue(struct blkfront *bf)
{
	for (unsigned i = 0; i < bf->bf_nq; i++) {
		unsigned k = (bf->bf_next_queue + i) % bf->bf_nq;
		struct blkfront_queue *q = &bf->bf_queues[k];
		if (!RING_FULL(&q->q_ring) && q->q_free != UINT32_MAX) {
			bf->bf_next_queue = (k + 1) % bf->bf_nq;
			return q;
		}
	}
	return NULL;
}

static unsigned blkfront_inflight(const struct blkfront *bf)
{
	unsigned n = 0;

	for (unsigned i = 0; i < bf->bf_nq; i++)
		n += bf->bf_queues[i].q_inflight;
	return n;
}

/* Segments, data (for writes) and the request itself, for a read or write. */
static void blkfront_fill_rw(struct blkfront *bf, const struct blkfront_io *io,
			     const struct blkfront_shadow *sh, void *slot)
{
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	uint64_t sector = (io->io_offset + sh->sh_off) >> BLKFRONT_SECTOR_SHIFT;

	for (unsigned i = 0; i < sh->sh_ndata; i++) {
		uint32_t left = sh->sh_bytes - i * BLKFRONT_PAGE_SIZE;
		uint32_t bytes = left < BLKFRONT_PAGE_SIZE ? left : BLKFRONT_PAGE_SIZE;
		struct blkif_request_segment s = {.gref = blkfront_ref(sh, i), .first_sect = 0,
						  .last_sect = (uint8_t)((bytes >> BLKFRONT_SECTOR_SHIFT) - 1)};
		if (io->io_op == BLKIF_OP_WRITE)
			memcpy(blkfront_page(sh, i), io->io_buf + sh->sh_off + (size_t)i * BLKFRONT_PAGE_SIZE, bytes);
		if (sh->sh_indirect)
			((struct blkif_request_segment *)blkfront_page(sh, sh->sh_ndata + i / BLKFRONT_SEGS_PER_INDIRECT_PAGE))
				[i % BLKFRONT_SEGS_PER_INDIRECT_PAGE] = s;
		else
			seg[i] = s;
	}
	if (sh->sh_indirect) {
		blkif_request_indirect_t r;
		memset(&r, 0, sizeof(r));
		r.operation = BLKIF_OP_INDIRECT;
		r.indirect_op = io->io_op;
		r.nr_segments = (uint16_t)sh->sh_ndata;
		r.id = sh->sh_id;
		r.sector_number = sector;
		r.handle = (blkif_vdev_t)bf->bf_cfg.devid;
		for (unsigned j = 0; j < sh->sh_npages - sh->sh_ndata; j++)
			r.indirect_grefs[j] = blkfront_ref(sh, sh->sh_ndata + j);
		memcpy(slot, &r, sizeof(r));
		return;
	}
	blkif_request_t r;
	memset(&r, 0, sizeof(r));
	r.operation = io->io_op;
	r.nr_segments = (uint8_t)sh->sh_ndata;
	r.handle = (blkif_vdev_t)bf->bf_cfg.devid;
	r.id = sh->sh_id;
	r.sector_number = sector;
	memcpy(r.seg, seg, sh->sh_ndata * sizeof(seg[0]));
	memcpy(slot, &r, sizeof(r));
}

static void blkfront_fill_other(struct blkfront *bf, const struct blkfront_io *io,
				const struct blkfront_shadow *sh, void *slot)
{
	blkif_request_t r;

	memset(&r, 0, sizeof(r));
	if (io->io_op == BLKIF_OP_DISCARD) {
		blkif_request_discard_t *d = (blkif_request_discard_t *)&r;
		d->operation = BLKIF_OP_DISCARD;
		d->handle = (blkif_vdev_t)bf->bf_cfg.devid;
		d->id = sh->sh_id;
		d->sector_number = io->io_offset >> BLKFRONT_SECTOR_SHIFT;
		d->nr_sectors = io->io_len >> BLKFRONT_SECTOR_SHIFT;
	} else {
		r.operation = io->io_op;   /* a flush without data */
		r.handle = (blkif_vdev_t)bf->bf_cfg.devid;
		r.id = sh->sh_id;
	}
	memcpy(slot, &r, sizeof(r));
}

/* Shape the next part of io into sh: which bytes, how many pages. */
static void blkfront_shape(struct blkfront *bf, const struct blkfront_io *io, struct blkfront_shadow *sh)
{
	sh->sh_op = io->io_op;
	sh->sh_off = io->io_issued;
	if (io->io_op != BLKIF_OP_READ && io->io_op != BLKIF_OP_WRITE)
		return;   /* flush and discard carry no pages */
	size_t left = io->io_len - io->io_issued, max = (size_t)bf->bf_segs_max * BLKFRONT_PAGE_SIZE;
	sh->sh_bytes = (uint32_t)(left < max ? left : max);
	sh->sh_ndata = (sh->sh_bytes + BLKFRONT_PAGE_SIZE - 1) / BLKFRONT_PAGE_SIZE;
	sh->sh_indirect = sh->sh_ndata > BLKIF_MAX_SEGMENTS_PER_REQUEST;
	sh->sh_npages = sh->sh_ndata + (sh->sh_indirect ? (unsigned)((sh->sh_ndata + BLKFRONT_SEGS_PER_INDIRECT_PAGE - 1) /
								    BLKFRONT_SEGS_PER_INDIRECT_PAGE)
							: 0);
}

/* One part of io onto a ring: 1 done, 0 not now (no slot, no grants: a
 * completion will bring them), < 0 the I/O cannot go out at all. */
static int blkfront_issue(struct blkfront *bf, struct blkfront_io *io, bool *touched)
{
	struct blkfront_queue *q = blkfront_pick_queue(bf);

	if (!q)
		return 0;
	/* Shaped in place: the shadow's inline page lists stay where they are. */
	uint32_t slot = q->q_free;
	struct blkfront_shadow *sh = &q->q_shadow[slot];
	uint32_t next_free = sh->sh_next_free;
	blkfront_shape(bf, io, sh);
	if (sh->sh_npages) {
		int rc = blkfront_part_pages(bf, sh, io->io_op == BLKIF_OP_READ);
		if (rc < 0) {
			*sh = (struct blkfront_shadow){.sh_next_free = next_free};
			return blkfront_inflight(bf) ? 0 : rc;
		}
	}
	q->q_free = next_free;
	/* The generation makes a stale or replayed id differ from the live one. */
	sh->sh_id = (uint64_t)++q->q_gen << 32 | slot;
	sh->sh_io = io;
	q->q_inflight++;
	void *ring_slot = RING_GET_REQUEST(&q->q_ring, q->q_ring.req_prod_pvt);
	if (sh->sh_ndata)
		blkfront_fill_rw(bf, io, sh, ring_slot);
	else
		blkfront_fill_other(bf, io, sh, ring_slot);
	q->q_ring.req_prod_pvt++;
	touched[q->q_index] = true;
	io->io_issued += io->io_op == BLKIF_OP_FLUSH_DISKCACHE || io->io_op == BLKIF_OP_DISCARD ? io->io_len : sh->sh_bytes;
	io->io_parts++;
	bf->bf_stats.requests++;
	bf->bf_stats.indirect_requests += sh->sh_indirect;
	return 1;
}

static void blkfront_push(struct blkfront *bf, const bool *touched)
{
	for (unsigned i = 0; i < bf->bf_nq; i++) {
		int notify;
		if (!touched[i])
			continue;
		RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf->bf_queues[i].q_ring, notify);
		if (notify)
			xenbus_evtchn_notify(bf->bf_queues[i].q_evtchn);
	}
}

static void blkfront_io_finish(struct blkfront *bf, struct blkfront_io *io)
{
	blkfront_ioq_push(&bf->bf_done, io);
}

void blkfront_kick(struct blkfront *bf)
{
	bool touched[BLKFRONT_QUEUES_MAX] = {false};

	if (bf->bf_phase != BF_CONNECTED)
		return;
	while (bf->bf_pending.head) {
		struct blkfront_io *io = bf->bf_pending.head;
		/* A forgotten read or write has no buffer left: issue no more of it. */
		bool orphan = !io->io_buf && (io->io_op == BLKIF_OP_READ || io->io_op == BLKIF_OP_WRITE);
		int rc = orphan ? -ECANCELED : blkfront_issue(bf, io, touched);
		if (rc == 0)
			break;
		if (rc < 0 || io->io_issued >= io->io_len) {
			blkfront_ioq_pop(&bf->bf_pending);
			io->io_pending = false;
		}
		if (rc < 0) {
			io->io_status = io->io_status ? io->io_status : rc;
			if (!io->io_parts)
				blkfront_io_finish(bf, io);
		}
	}
	blkfront_push(bf, touched);
	if (bf->bf_done.head)
		event_active(bf->bf_done_ev, EV_TIMEOUT, 0);
}

/* ---- completions ---- */

static void blkfront_io_put(struct blkfront *bf, struct blkfront_io *io)
{
	io->io_next = bf->bf_io_free;
	bf->bf_io_free = io;
}

void blkfront_io_free_all(struct blkfront *bf)
{
	while (bf->bf_io_free) {
		struct blkfront_io *io = bf->bf_io_free;
		bf->bf_io_free = io->io_next;
		free(io);
	}
}

void blkfront_dispatch(struct blkfront *bf)
{
	struct blkfront_io *io;
	bool plugged = bf->bf_plugged;

	bf->bf_cb_depth++;
	bf->bf_plugged = true;
	while ((io = blkfront_ioq_pop(&bf->bf_done))) {
		bf->bf_ios--;
		if (io->io_done)
			io->io_done(io->io_arg, io->io_status);
		blkfront_io_put(bf, io);
	}
	bf->bf_plugged = plugged;
	bf->bf_cb_depth--;
	if (!plugged && bf->bf_pending.head)
		blkfront_kick(bf);
}

void blkfront_dispatch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	blkfront_dispatch(arg);
}

void blkfront_fail_all(struct blkfront *bf, int status)
{
	struct blkfront_io *io;

	while ((io = blkfront_ioq_pop(&bf->bf_pending))) {
		io->io_pending = false;
		io->io_status = status;
		if (!io->io_parts)   /* parts in flight finish it when they complete */
			blkfront_io_finish(bf, io);
	}
	blkfront_dispatch(bf);
}

static int blkfront_status_errno(struct blkfront *bf, int16_t status)
{
	switch (status) {
	case BLKIF_RSP_OKAY:
		return 0;
	case BLKIF_RSP_EOPNOTSUPP:
		return -EOPNOTSUPP;
	case BLKIF_RSP_ERROR:
		return -EIO;
	default:
		blkfront_log(bf, "unknown response status %d taken as an error", status);
		return -EIO;
	}
}

static void blkfront_complete(struct blkfront_queue *q, struct blkfront_shadow *sh, int16_t status)
{
	struct blkfront *bf = q->q_bf;
	struct blkfront_io *io = sh->sh_io;
	int st = blkfront_status_errno(bf, status);

	if (st == 0 && io->io_op == BLKIF_OP_READ && io->io_buf)
		for (unsigned i = 0; i < sh->sh_ndata; i++) {
			uint32_t left = sh->sh_bytes - i * BLKFRONT_PAGE_SIZE;
			memcpy(io->io_buf + sh->sh_off + (size_t)i * BLKFRONT_PAGE_SIZE, blkfront_page(sh, i),
			       left < BLKFRONT_PAGE_SIZE ? left : BLKFRONT_PAGE_SIZE);
		}
	if (st == -EOPNOTSUPP && io->io_op == BLKIF_OP_FLUSH_DISKCACHE)
		bf->bf_info.flush = false;
	if (st == -EOPNOTSUPP && io->io_op == BLKIF_OP_DISCARD)
		bf->bf_info.discard = false;
	if (st == 0 && io->io_op == BLKIF_OP_READ)
		bf->bf_stats.bytes_read += sh->sh_bytes;
	if (st == 0 && io->io_op == BLKIF_OP_WRITE)
		bf->bf_stats.bytes_written += sh->sh_bytes;
	bf->bf_stats.io_errors += st != 0;
	blkfront_part_release(q, sh);
	io->io_parts--;
	if (st && !io->io_status)
		io->io_status = st;
	if (!io->io_pending && !io->io_parts)
		blkfront_io_finish(bf, io);
}

bool blkfront_rsp_prod_ok(const blkif_front_ring_t *ring, RING_IDX rp)
{
	return (RING_IDX)(rp - ring->rsp_cons) <= (RING_IDX)(ring->req_prod_pvt - ring->rsp_cons);
}

int blkfront_rsp_check(const struct blkfront_queue *q, const blkif_response_t *rsp, const char **why)
{
	uint32_t slot = (uint32_t)rsp->id;
	const struct blkfront_shadow *sh;

	if (slot >= RING_SIZE(&q->q_ring)) {
		*why = "id names no slot of the ring";
		return -EPROTO;
	}
	sh = &q->q_shadow[slot];
	if (!sh->sh_id || sh->sh_id != rsp->id) {
		*why = "id is not outstanding";
		return -EPROTO;
	}
	if (rsp->operation != sh->sh_op) {
		*why = "operation differs from the request's";
		return -EPROTO;
	}
	return 0;
}

/* Take every response there is; true if there was any. */
static bool blkfront_consume(struct blkfront_queue *q)
{
	struct blkfront *bf = q->q_bf;
	blkif_front_ring_t *ring = &q->q_ring;
	bool work = false;
	int more;

	do {
		RING_IDX rp = ring->sring->rsp_prod;
		xen_rmb();   /* responses are read after the index that publishes them */
		if (!blkfront_rsp_prod_ok(ring, rp)) {
			blkfront_fail(bf, "queue %u: backend's rsp_prod %u claims %u responses, %u requests outstanding",
				      q->q_index, rp, rp - ring->rsp_cons, ring->req_prod_pvt - ring->rsp_cons);
			return true;
		}
		while (ring->rsp_cons != rp) {
			blkif_response_t rsp;
			const char *why;
			RING_COPY_RESPONSE(ring, ring->rsp_cons, &rsp);
			ring->rsp_cons++;
			work = true;
			if (blkfront_rsp_check(q, &rsp, &why) < 0) {
				blkfront_fail(bf, "queue %u: response id %#" PRIx64 " op %u status %d: %s", q->q_index,
					      rsp.id, rsp.operation, rsp.status, why);
				return true;
			}
			blkfront_complete(q, &q->q_shadow[(uint32_t)rsp.id], rsp.status);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(ring, more);
	} while (more);
	return work;
}

bool blkfront_queue_event(void *arg)
{
	struct blkfront_queue *q = arg;
	struct blkfront *bf = q->q_bf;

	if (bf->bf_phase != BF_CONNECTED)
		return false;
	bool work = blkfront_consume(q);
	blkfront_kick(bf);
	blkfront_dispatch(bf);
	return work;
}

/* ---- submission ---- */

static int blkfront_range_ok(const struct blkfront *bf, uint64_t offset, size_t len)
{
	uint64_t ss = bf->bf_info.sector_size;

	if (len == 0 || offset % ss || len % ss || offset > bf->bf_info.size_bytes ||
	    len > bf->bf_info.size_bytes - offset)
		return -EINVAL;
	return 0;
}

static int blkfront_submit_check(const struct blkfront *bf, enum blkfront_op op, uint64_t offset,
				 const void *buf, size_t len)
{
	if (bf->bf_phase == BF_DEAD)
		return -EIO;
	if (bf->bf_closing)
		return -ESHUTDOWN;
	if (!bf->bf_ever_connected)
		return -ENOTCONN;
	if (bf->bf_ios >= bf->bf_cfg.ios_max)
		return -EBUSY;
	switch (op) {
	case BLKFRONT_READ:
	case BLKFRONT_WRITE:
		if (!buf)
			return -EINVAL;
		if (op == BLKFRONT_WRITE && bf->bf_info.readonly)
			return -EROFS;
		return blkfront_range_ok(bf, offset, len);
	case BLKFRONT_FLUSH:
		return bf->bf_info.flush ? 0 : -EOPNOTSUPP;
	case BLKFRONT_DISCARD:
		if (!bf->bf_info.discard)
			return -EOPNOTSUPP;
		return bf->bf_info.readonly ? -EROFS : blkfront_range_ok(bf, offset, len);
	}
	return -EINVAL;
}

int blkfront_submit(struct blkfront *bf, enum blkfront_op op, uint64_t offset, void *buf, size_t len,
		    blkfront_done_fn *done, void *arg)
{
	static const uint8_t ops[] = {[BLKFRONT_READ] = BLKIF_OP_READ, [BLKFRONT_WRITE] = BLKIF_OP_WRITE,
				      [BLKFRONT_FLUSH] = BLKIF_OP_FLUSH_DISKCACHE,
				      [BLKFRONT_DISCARD] = BLKIF_OP_DISCARD};
	struct blkfront_io *io;
	int rc = blkfront_submit_check(bf, op, offset, buf, len);

	if (rc < 0)
		return rc;
	io = bf->bf_io_free;
	if (io)
		bf->bf_io_free = io->io_next;
	else if (!(io = malloc(sizeof(*io))))
		return -ENOMEM;
	*io = (struct blkfront_io){.io_op = ops[op], .io_offset = offset, .io_buf = buf,
				   .io_len = op == BLKFRONT_FLUSH ? 0 : len, .io_pending = true,
				   .io_done = done, .io_arg = arg};
	blkfront_ioq_push(&bf->bf_pending, io);
	bf->bf_ios++;
	bf->bf_stats.ios++;
	if (!bf->bf_plugged)   /* else the dispatch loop issues the whole batch */
		blkfront_kick(bf);
	return 0;
}

static void blkfront_forget_one(struct blkfront_io *io, blkfront_done_fn *done, void *arg)
{
	if (io->io_done == done && io->io_arg == arg) {
		io->io_done = NULL;
		io->io_buf = NULL;
	}
}

void blkfront_io_forget(struct blkfront *bf, blkfront_done_fn *done, void *arg)
{
	for (struct blkfront_io *io = bf->bf_pending.head; io; io = io->io_next)
		blkfront_forget_one(io, done, arg);
	for (struct blkfront_io *io = bf->bf_done.head; io; io = io->io_next)
		blkfront_forget_one(io, done, arg);
	for (unsigned i = 0; i < bf->bf_nq; i++)
		for (unsigned s = 0; s < RING_SIZE(&bf->bf_queues[i].q_ring); s++)
			if (bf->bf_queues[i].q_shadow[s].sh_id)
				blkfront_forget_one(bf->bf_queues[i].q_shadow[s].sh_io, done, arg);
}
