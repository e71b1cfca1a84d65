/*
 * The hostile blk frontend's requests (workload `blk-hostile-front`, see
 * hostile_blk_front.c): a well-formed read, write or flush for a slot, and
 * each lie told in one, one function per kind behind a table.
 */
#include "sim/scenario/hostile_blk_front_internal.h"

/* ---- building requests ---- */

/* A well-formed read, write or flush into slot s. */
void hfb_good(struct hf *h, unsigned slot, blkif_request_t *req, blkif_request_indirect_t *ind, bool *indirect)
{
	struct hf_slot *s = &h->slots[slot];
	uint64_t r = hf_rand(h) % 100;

	*indirect = h->indirect_max >= HF_SEGS_MAX && hf_rand(h) % 4 == 0;
	s->npages = *indirect ? 12 + (uint32_t)(hf_rand(h) % (HF_SEGS_MAX - 11))
			      : (uint32_t)scn_at_edge(hf_rand(h), BLKIF_MAX_SEGMENTS_PER_REQUEST, 4);
	s->page = slot * h->region + (uint32_t)(hf_rand(h) % (h->region - s->npages + 1));
	s->write = r < 45;
	s->read = r >= 45 && r < 95;
	s->op = s->write ? BLKIF_OP_WRITE : s->read ? BLKIF_OP_READ : BLKIF_OP_FLUSH_DISKCACHE;
	s->alt_op = s->op;
	if (!s->write && !s->read) {
		*indirect = false;
		s->npages = 0;
		req->operation = s->op;
		return;
	}
	if (s->write)
		s->tag = ++h->next_tag;
	struct blkif_request_segment *segs = *indirect ? (void *)hf_page(h, slot, HF_SEGS_MAX) : req->seg;
	for (uint32_t k = 0; k < s->npages; k++) {
		segs[k] = (struct blkif_request_segment){.gref = hf_ref(h, slot, k), .first_sect = 0,
							 .last_sect = HF_SECTORS_PER_PAGE - 1};
		if (s->write)
			hf_pattern(h, s->tag, s->page + k, hf_page(h, slot, k));
	}
	if (*indirect) {
		ind->operation = BLKIF_OP_INDIRECT;
		ind->indirect_op = s->op;
		ind->nr_segments = (uint16_t)s->npages;
		ind->sector_number = (uint64_t)s->page * HF_SECTORS_PER_PAGE;
		ind->indirect_grefs[0] = hf_ref(h, slot, HF_SEGS_MAX);
		ind->handle = (blkif_vdev_t)h->devid;
		s->op = BLKIF_OP_INDIRECT;
	} else {
		req->operation = s->op;
		req->nr_segments = (uint8_t)s->npages;
		req->sector_number = (uint64_t)s->page * HF_SECTORS_PER_PAGE;
		req->handle = (blkif_vdev_t)h->devid;
	}
}

/* A busy slot's id other than slot's own, or 0. */
static uint64_t hf_other_id(struct hf *h, unsigned slot)
{
	for (unsigned i = 0; i < h->qd; i++)
		if (i != slot && h->slots[i].busy)
			return h->slots[i].id;
	return 0;
}

void hfb_lie_id(struct hf *h, unsigned slot, uint64_t *id)
{
	uint64_t v = hf_rand(h) % 3, other = hf_other_id(h, slot);

	if (v == 1 && h->last_id)
		*id = h->last_id;                 /* stale: answered already */
	else if (v == 2 && other)
		*id = other;                      /* another request's, in flight */
	else
		*id = HF_ID_WILD | (hf_rand(h) & 0xffffffffull);
}

static uint32_t hf_bad_ref(struct hf *h)
{
	return hf_rand(h) % 2 ? HF_BAD_REF_LOW : HF_BAD_REF_HIGH - (uint32_t)(hf_rand(h) % 16);
}

/* One lie being told: the request as it will be published, and its slot. */
struct hf_lying {
	struct hf *h;
	unsigned slot;
	struct hf_slot *s;
	blkif_request_t *req;
	blkif_request_indirect_t *ind;
	bool indirect;
	struct blkif_request_segment *segs;
	unsigned nseg;
	uint64_t v;                       /* the lie's own draw */
};

/* A flush has no segment to lie about: make it a one-page read first. */
static void hf_lie_as_read(struct hf_lying *l, uint8_t last_sect)
{
	if (l->s->npages)
		return;
	l->req->operation = l->s->op = l->s->alt_op = BLKIF_OP_READ;
	l->req->nr_segments = 1;
	l->segs[0] = (struct blkif_request_segment){.gref = hf_ref(l->h, l->slot, 0), .last_sect = last_sect};
	l->s->read = true;
}

static void hf_lie_well_formed(struct hf_lying *l)
{
	/* the id is set by the caller; the request itself is well formed */
	l->s->expect = l->h->readonly && (l->s->write || !l->s->read) ? HF_EXPECT_REFUSED : HF_EXPECT_OK;
}

static void hf_lie_op(struct hf_lying *l)
{
	if (l->v % 3 == 0)
		l->req->operation = (uint8_t)scn_past_edge(hf_rand(l->h), BLKIF_OP_INDIRECT + 1, 200);
	else if (l->v % 3 == 1)
		l->req->operation = BLKIF_OP_WRITE_BARRIER;   /* not offered */
	else if (l->indirect)
		l->ind->indirect_op = BLKIF_OP_FLUSH_DISKCACHE;
	else
		l->req->operation = BLKIF_OP_INDIRECT + 1 + (uint8_t)(hf_rand(l->h) % 100);
	l->s->op = l->s->alt_op = l->req->operation;
}

/* A well-formed indirect read but for its count: a few segments more than
 * feature-max-indirect-segments, all valid (the slot's pages, reused), on
 * the disk. A backend that bounds the count by something else (the
 * indirect pages, blkif.h's largest) serves it. false: no room for it. */
static bool hf_lie_over_offer(struct hf_lying *l)
{
	struct hf *h = l->h;
	unsigned n = h->indirect_max + 1 + (unsigned)(hf_rand(h) % HF_OVER_OFFER_MAX);

	if (n > HF_SEGS_PER_INDIRECT_PAGE || n > h->disk_pages)
		return false;
	for (unsigned k = 0; k < n; k++)
		l->segs[k] = (struct blkif_request_segment){.gref = hf_ref(h, l->slot, k % HF_SEGS_MAX),
							    .last_sect = HF_SECTORS_PER_PAGE - 1};
	l->ind->indirect_op = BLKIF_OP_READ;
	l->ind->nr_segments = (uint16_t)n;
	l->ind->sector_number = 0;
	l->s->alt_op = BLKIF_OP_READ;
	l->s->read = true;
	l->s->write = false;
	return true;
}

static void hf_lie_nseg(struct hf_lying *l)
{
	if (l->indirect && l->v % 3 == 2 && hf_lie_over_offer(l))
		return;
	if (l->indirect)
		l->ind->nr_segments = l->v % 2 ? 0 : (uint16_t)scn_past_edge(hf_rand(l->h), l->h->indirect_max + 1, 4096);
	else
		l->req->nr_segments = l->v % 2 ? 0
					       : (uint8_t)scn_past_edge(hf_rand(l->h), BLKIF_MAX_SEGMENTS_PER_REQUEST + 1, 200);
	if (!l->s->read && !l->s->write && !l->indirect)   /* a flush may have no segments */
		l->req->nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST + 1;
}

/* On a 4096-byte-sector disk, blkif.h's sectors are still 512 bytes: a
 * request must cover whole disk sectors. This one starts or ends inside
 * one, which a 512-byte disk would serve. */
static bool hf_lie_part_block(struct hf_lying *l)
{
	if (l->h->block_sectors < 2 || l->v % 3 != 2)
		return false;
	hf_lie_as_read(l, 7);
	if (l->v % 2)
		l->segs[l->v % l->nseg].first_sect = (uint8_t)(1 + hf_rand(l->h) % 7);
	else
		l->segs[l->v % l->nseg].last_sect = (uint8_t)(hf_rand(l->h) % 7);
	return true;
}

/* first_sect > last_sect; last_sect past the page; or (a third of them) a
 * segment starting inside the page and ending past it while no longer than
 * a page (first 1..7, last 8..first+7): a check of the length alone, not
 * of where it ends, lets it through. */
static void hf_lie_sect(struct hf_lying *l)
{
	struct blkif_request_segment *seg = &l->segs[l->v % l->nseg];

	if (hf_lie_part_block(l))
		return;
	hf_lie_as_read(l, 0);
	if ((l->v / 2) % 3 == 2) {
		seg->first_sect = (uint8_t)(1 + hf_rand(l->h) % (HF_SECTORS_PER_PAGE - 1));
		seg->last_sect = (uint8_t)(HF_SECTORS_PER_PAGE + hf_rand(l->h) % seg->first_sect);
		return;
	}
	seg->first_sect = l->v % 2 ? 5 : 0;
	seg->last_sect = l->v % 2 ? 2 : (uint8_t)(HF_SECTORS_PER_PAGE + hf_rand(l->h) % 248);
}

/* A discard starting on the disk whose range wraps: 2^64 sectors on, or
 * (times 512) a few bytes on. A check in bytes, or of the start only, lets
 * it through to the store. */
static void hf_lie_discard(struct hf_lying *l)
{
	blkif_request_discard_t d = {.operation = BLKIF_OP_DISCARD, .handle = (blkif_vdev_t)l->h->devid};
	uint64_t start = (uint64_t)l->s->page * HF_SECTORS_PER_PAGE;

	d.sector_number = start;
	/* From sector 0 nothing wraps: 2^64 + 8 sectors would be a plain 8. */
	bool wrap = l->v % 4 >= 2 && start > 0;
	d.nr_sectors = wrap ? UINT64_MAX - start + 1 + HF_SECTORS_PER_PAGE : (1ull << 55) + HF_SECTORS_PER_PAGE;
	memset(l->req, 0, sizeof(*l->req));
	memcpy(l->req, &d, sizeof(d));
	l->s->op = l->s->alt_op = BLKIF_OP_DISCARD;
	l->s->npages = 1;   /* the page it would discard: its content is no longer known */
	l->s->write = true;
	l->s->read = false;
}

/* On a 4096-byte-sector disk: a discard of one whole page's worth of
 * 512-byte sectors, but starting inside a disk sector. */
static void hf_lie_discard_part(struct hf_lying *l)
{
	hf_lie_discard(l);
	blkif_request_discard_t *d = (blkif_request_discard_t *)l->req;
	d->sector_number += 1 + hf_rand(l->h) % (l->h->block_sectors - 1);
	d->nr_sectors = HF_SECTORS_PER_PAGE;
}

static void hf_lie_sector(struct hf_lying *l)
{
	if (l->h->discard && !l->indirect && l->v % 3 == 2) {
		hf_lie_discard(l);
		return;
	}
	if (l->h->discard && !l->indirect && l->h->block_sectors > 1 && l->v % 3 == 1 && l->v % 2) {
		hf_lie_discard_part(l);   /* a discard of a part of a disk sector */
		return;
	}
	hf_lie_as_read(l, 7);
	if (l->h->block_sectors > 1 && l->v % 3 == 1) {   /* a start inside a disk sector */
		uint64_t *sector = l->indirect ? &l->ind->sector_number : &l->req->sector_number;
		*sector += 1 + hf_rand(l->h) % (l->h->block_sectors - 1);
		return;
	}
	/* Starting on the disk: at its last sector, or so that the request's
	 * last sector is the first past the end (a bound counted in anything
	 * but sectors, segments say, lets that through). */
	uint64_t one_past = l->h->sectors + 1 - (uint64_t)HF_SECTORS_PER_PAGE * l->nseg;
	uint64_t near = (l->v / 2) % 2 ? one_past : l->h->sectors - 1;
	if (l->indirect)
		l->ind->sector_number = l->v % 2 ? near : 1ull << 62;
	else
		l->req->sector_number = l->v % 2 ? near : UINT64_MAX - 3;
}

static void hf_lie_indirect(struct hf_lying *l)
{
	struct hf_slot *s = l->s;

	if (!l->indirect) {   /* not offered, or a direct one: make it indirect anyway */
		blkif_request_indirect_t bad = {.operation = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ,
						.nr_segments = 1, .handle = (blkif_vdev_t)l->h->devid};
		bad.indirect_grefs[0] = hf_bad_ref(l->h);
		memcpy(l->req, &bad, sizeof(bad));
		s->op = BLKIF_OP_INDIRECT;
		s->alt_op = BLKIF_OP_READ;
		s->read = true;
		s->write = false;
	} else if (l->v % 2) {
		l->ind->indirect_grefs[0] = hf_bad_ref(l->h);
	} else {
		l->segs[l->v % l->nseg].gref = hf_bad_ref(l->h);   /* a bad ref inside the indirect page */
	}
}

static void hf_lie_gref(struct hf_lying *l)
{
	if (l->s->read && l->v % 2 == 0) {
		l->segs[l->v % l->nseg].gref = l->h->ro_ref;   /* a READ into a read-only grant */
		return;
	}
	l->segs[l->v % l->nseg].gref = hf_bad_ref(l->h);
	if (!l->s->npages) {
		l->req->operation = l->s->op = l->s->alt_op = BLKIF_OP_WRITE;
		l->req->nr_segments = 1;
		l->segs[0].last_sect = 7;
		l->s->write = true;
	}
}

static void (*const hf_lies[HF_LIE_COUNT])(struct hf_lying *l) = {
	[HF_LIE_ID] = hf_lie_well_formed, [HF_LIE_OP] = hf_lie_op, [HF_LIE_NSEG] = hf_lie_nseg,
	[HF_LIE_SECT] = hf_lie_sect, [HF_LIE_SECTOR] = hf_lie_sector,
	[HF_LIE_INDIRECT] = hf_lie_indirect, [HF_LIE_GREF] = hf_lie_gref,
};

/* Turn the well-formed request into one of the lie's kind. */
void hfb_lie(struct hf *h, unsigned slot, enum hf_lie lie, blkif_request_t *req, blkif_request_indirect_t *ind,
	     bool indirect)
{
	struct hf_slot *s = &h->slots[slot];
	struct hf_lying l = {.h = h, .slot = slot, .s = s, .req = req, .ind = ind, .indirect = indirect,
			     .segs = indirect ? (void *)hf_page(h, slot, HF_SEGS_MAX) : req->seg,
			     .nseg = s->npages ? s->npages : 1};

	l.v = hf_rand(h);
	s->expect = HF_EXPECT_REFUSED;
	if (hf_lies[lie])
		hf_lies[lie](&l);
}
