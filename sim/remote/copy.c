/*
 * Grant copy for an exec'd domain. A segment's local side is an address in
 * the client's memory, which the sim cannot reach; the client sends the bytes
 * of local sources with the request and gets the bytes of local destinations
 * back. Between, the sim makes the in-process call with those local sides in a
 * bounce buffer, so statuses, checks and messages are the in-process ones.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "sim/remote/remote_internal.h"

static void rc_fail(struct rmt_rep *rep, int err)
{
	rep->rc = -1;
	rep->err = err;
	rep->len = 0;
}

/* Bytes each direction needs, checking each segment's length. */
static int rc_sizes(const struct rmt_copy_seg *s, uint32_t count, size_t *in, size_t *out)
{
	*in = *out = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (s[i].len > 4096u)
			return -EINVAL;
		if (!(s[i].flags & GNTCOPY_source_gref))
			*in += s[i].len;
		if (!(s[i].flags & GNTCOPY_dest_gref))
			*out += s[i].len;
	}
	return 0;
}

static void rc_segs(const struct rmt_copy_seg *s, uint32_t count, uint8_t *bounce_in,
		    uint8_t *bounce_out, xengnttab_grant_copy_segment_t *segs)
{
	for (uint32_t i = 0; i < count; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		memset(g, 0, sizeof(*g));
		g->len = (uint16_t)s[i].len;
		g->flags = (uint16_t)s[i].flags;
		if (s[i].flags & GNTCOPY_source_gref) {
			g->source.foreign.ref = s[i].src_ref;
			g->source.foreign.domid = (uint16_t)s[i].src_domid;
			g->source.foreign.offset = (uint16_t)s[i].src_offset;
		} else {
			g->source.virt = bounce_in;
			bounce_in += s[i].len;
		}
		if (s[i].flags & GNTCOPY_dest_gref) {
			g->dest.foreign.ref = s[i].dst_ref;
			g->dest.foreign.domid = (uint16_t)s[i].dst_domid;
			g->dest.foreign.offset = (uint16_t)s[i].dst_offset;
		} else {
			g->dest.virt = bounce_out;
			bounce_out += s[i].len;
		}
	}
}

void rs_copy(xengnttab_handle *xgt, const struct rmt_req *rq, const uint8_t *in,
	     struct rmt_rep *rep, uint8_t **out, size_t *out_cap)
{
	uint32_t count = (uint32_t)rq->a[0];
	const struct rmt_copy_seg *s = (const struct rmt_copy_seg *)in;
	size_t nin, nout;

	if (count == 0 || count > RMT_COPY_SEGS_MAX ||
	    rq->len < sizeof(*s) * count || rc_sizes(s, count, &nin, &nout) < 0 ||
	    rq->len != sizeof(*s) * count + nin) {
		rc_fail(rep, EINVAL);
		return;
	}
	size_t need = sizeof(int16_t) * count + nout;
	if (need > *out_cap) {
		uint8_t *p = realloc(*out, need);
		if (!p) {
			rc_fail(rep, ENOMEM);
			return;
		}
		*out = p;
		*out_cap = need;
	}
	xengnttab_grant_copy_segment_t *segs = calloc(count, sizeof(*segs));
	if (!segs) {
		rc_fail(rep, ENOMEM);
		return;
	}
	/* Local sources are read from the request in place (a copy of them). */
	uint8_t *bounce_out = *out + sizeof(int16_t) * count;
	rc_segs(s, count, (uint8_t *)(uintptr_t)(in + sizeof(*s) * count), bounce_out, segs);
	rep->rc = xengnttab_grant_copy(xgt, count, segs);
	rep->err = rep->rc < 0 ? errno : 0;
	for (uint32_t i = 0; i < count; i++)
		memcpy(*out + sizeof(int16_t) * i, &segs[i].status, sizeof(int16_t));
	rep->len = (uint32_t)need;
	free(segs);
}
