/*
 * Request validation. The ring is shared with a frontend that may be hostile:
 * each request is copied out once (RING_COPY_REQUEST) and only the copy is
 * looked at, here (XSA-155). Every field has a bound; a request that breaks
 * one is answered BLKIF_RSP_ERROR, an operation the vbd does not offer
 * BLKIF_RSP_EOPNOTSUPP, and the ring carries on.
 */
#include "drivers/blk/blkback_internal.h"

static int blkback_refuse(const char **why, const char *what, int status)
{
	*why = what;
	return status;
}

/* Sectors per logical block: a 4096-byte disk takes whole blocks only. */
static uint64_t blkback_block_sectors(const struct blkback_limits *lim)
{
	return lim->sector_size >> BLKBACK_SECTOR_SHIFT;
}

static bool blkback_range_ok(const struct blkback_limits *lim, uint64_t sector, uint64_t n)
{
	return n > 0 && sector <= lim->sectors && n <= lim->sectors - sector;
}

static int blkback_check_discard(const struct blkback_limits *lim, const blkif_request_t *req,
				 struct blkback_req *out, const char **why)
{
	blkif_request_discard_t d;

	memcpy(&d, req, sizeof(d));
	if (!lim->discard)
		return blkback_refuse(why, "discard not offered", BLKIF_RSP_EOPNOTSUPP);
	if (lim->readonly)
		return blkback_refuse(why, "discard on a read-only vbd", BLKIF_RSP_ERROR);
	if ((d.sector_number | d.nr_sectors) % blkback_block_sectors(lim))
		return blkback_refuse(why, "discard not aligned to the sector size", BLKIF_RSP_ERROR);
	if (!blkback_range_ok(lim, d.sector_number, d.nr_sectors))
		return blkback_refuse(why, "discard empty or past the end of the disk", BLKIF_RSP_ERROR);
	out->sector = d.sector_number;
	out->nr_sectors = d.nr_sectors;
	return BLKIF_RSP_OKAY;
}

static int blkback_check_indirect(const struct blkback_limits *lim, const blkif_request_t *req,
				  struct blkback_req *out, const char **why)
{
	blkif_request_indirect_t ind;

	memcpy(&ind, req, sizeof(ind));
	if (!lim->indirect_segs_max)
		return blkback_refuse(why, "indirect requests not offered", BLKIF_RSP_EOPNOTSUPP);
	if (ind.indirect_op != BLKIF_OP_READ && ind.indirect_op != BLKIF_OP_WRITE)
		return blkback_refuse(why, "indirect operation is neither read nor write", BLKIF_RSP_ERROR);
	if (ind.nr_segments == 0 || ind.nr_segments > lim->indirect_segs_max)
		return blkback_refuse(why, "indirect segment count out of range", BLKIF_RSP_ERROR);
	out->op = out->rsp_op = ind.indirect_op;
	out->indirect = true;
	out->sector = ind.sector_number;
	out->nr_segs = ind.nr_segments;
	out->nr_indirect_pages = (unsigned)((ind.nr_segments + BLKBACK_SEGS_PER_INDIRECT_PAGE - 1) /
					    BLKBACK_SEGS_PER_INDIRECT_PAGE);
	memcpy(out->indirect_grefs, ind.indirect_grefs, sizeof(out->indirect_grefs));
	return BLKIF_RSP_OKAY;
}

/* READ, WRITE, and FLUSH/BARRIER which may carry write data. */
static int blkback_check_rw(const struct blkback_limits *lim, const blkif_request_t *req,
			    struct blkback_req *out, const char **why)
{
	bool data_optional = req->operation == BLKIF_OP_FLUSH_DISKCACHE ||
			     req->operation == BLKIF_OP_WRITE_BARRIER;

	if (req->operation == BLKIF_OP_FLUSH_DISKCACHE && !lim->flush)
		return blkback_refuse(why, "flush not offered", BLKIF_RSP_EOPNOTSUPP);
	if (req->operation == BLKIF_OP_WRITE_BARRIER && !lim->barrier)
		return blkback_refuse(why, "barrier not offered", BLKIF_RSP_EOPNOTSUPP);
	if (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
		return blkback_refuse(why, "more than 11 segments", BLKIF_RSP_ERROR);
	if (req->nr_segments == 0 && !data_optional)
		return blkback_refuse(why, "read or write without segments", BLKIF_RSP_ERROR);
	out->sector = req->sector_number;
	out->nr_segs = req->nr_segments;
	memcpy(out->direct, req->seg, sizeof(out->direct));
	return BLKIF_RSP_OKAY;
}

int blkback_req_check(const struct blkback_limits *lim, const blkif_request_t *req,
		      struct blkback_req *out, const char **why)
{
	int st;

	memset(out, 0, sizeof(*out));
	out->id = req->id;
	out->op = out->rsp_op = req->operation;
	*why = NULL;
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
	case BLKIF_OP_WRITE_BARRIER:
	case BLKIF_OP_FLUSH_DISKCACHE:
		st = blkback_check_rw(lim, req, out, why);
		break;
	case BLKIF_OP_DISCARD:
		return blkback_check_discard(lim, req, out, why);
	case BLKIF_OP_INDIRECT:
		st = blkback_check_indirect(lim, req, out, why);
		break;
	default:
		return blkback_refuse(why, "unknown operation", BLKIF_RSP_EOPNOTSUPP);
	}
	if (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)
		st = blkback_refuse(why, "write to a read-only vbd", BLKIF_RSP_ERROR);
	if (st == BLKIF_RSP_OKAY && lim->readonly && out->op == BLKIF_OP_FLUSH_DISKCACHE)
		st = blkback_refuse(why, "flush of a read-only vbd", BLKIF_RSP_ERROR);
	return st;
}

int blkback_segs_check(const struct blkback_limits *lim, struct blkback_req *r,
		       const struct blkif_request_segment *segs, const char **why)
{
	uint64_t block = blkback_block_sectors(lim), total = 0;

	for (unsigned i = 0; i < r->nr_segs; i++) {
		struct blkif_request_segment s = segs[i];
		if (s.first_sect > s.last_sect || s.last_sect >= BLKBACK_SECTORS_PER_PAGE)
			return blkback_refuse(why, "segment sectors out of the page", BLKIF_RSP_ERROR);
		if ((uint64_t)(s.last_sect - s.first_sect + 1) % block || s.first_sect % block)
			return blkback_refuse(why, "segment not aligned to the sector size", BLKIF_RSP_ERROR);
		total += (uint64_t)(s.last_sect - s.first_sect + 1);
	}
	r->nr_sectors = total;
	if (r->nr_segs == 0)
		return BLKIF_RSP_OKAY;    /* a pure flush or barrier */
	if (r->sector % block)
		return blkback_refuse(why, "start sector not aligned to the sector size", BLKIF_RSP_ERROR);
	if (!blkback_range_ok(lim, r->sector, total))
		return blkback_refuse(why, "request past the end of the disk", BLKIF_RSP_ERROR);
	return BLKIF_RSP_OKAY;
}
