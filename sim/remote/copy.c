/*
 * Grant copy for an exec'd domain. A segment's local side is an address in
 * the client's memory, which the sim cannot reach; the client sends the bytes
 * of local sources with the request and gets the bytes of local destinations
 * back. Between, the sim makes the in-process call with those local sides in a
 * bounce buffer, so statuses, checks and messages are the in-process ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>

#include <xen/xen.h>
#include <xen/grant_table.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/remote/remote_internal.h"

/* Bytes each direction needs, checking each segment's length. */
static int rc_sizes(const struct rmt_copy_seg *s, uint32_t count, size_t *in, size_t *out)
{
	*in = *out = 0;
	for (uint32_t i = 0; i < count; i++) {
		if (s[i].len > SIM_PAGE_SIZE)   /* a segment stays within one page */
			return -EINVAL;
		if (!(s[i].flags & GNTCOPY_source_gref))
			*in += s[i].len;
		if (!(s[i].flags & GNTCOPY_dest_gref))
			*out += s[i].len;
	}
	return 0;
}

/* One side of a segment: a grant ref, or the next bytes of a bounce buffer. */
static void rc_side(union xengnttab_copy_ptr *p, bool gref, uint32_t ref, uint32_t domid, uint32_t offset,
		    uint8_t **bounce, uint32_t len)
{
	if (gref) {
		p->foreign.ref = ref;
		p->foreign.domid = (uint16_t)domid;
		p->foreign.offset = (uint16_t)offset;
	} else {
		p->virt = *bounce;
		*bounce += len;
	}
}

static void rc_segs(const struct rmt_copy_seg *s, uint32_t count, uint8_t *bounce_in,
		    uint8_t *bounce_out, xengnttab_grant_copy_segment_t *segs)
{
	for (uint32_t i = 0; i < count; i++) {
		xengnttab_grant_copy_segment_t *g = &segs[i];
		memset(g, 0, sizeof(*g));
		g->len = (uint16_t)s[i].len;
		g->flags = (uint16_t)s[i].flags;
		rc_side(&g->source, s[i].flags & GNTCOPY_source_gref, s[i].src_ref, s[i].src_domid,
			s[i].src_offset, &bounce_in, s[i].len);
		rc_side(&g->dest, s[i].flags & GNTCOPY_dest_gref, s[i].dst_ref, s[i].dst_domid,
			s[i].dst_offset, &bounce_out, s[i].len);
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
		rs_fail(rep, EINVAL);
		return;
	}
	size_t need = sizeof(int16_t) * count + nout;
	if (need > *out_cap) {
		uint8_t *p = realloc(*out, need);
		if (!p) {
			rs_fail(rep, ENOMEM);
			return;
		}
		*out = p;
		*out_cap = need;
	}
	xengnttab_grant_copy_segment_t *segs = calloc(count, sizeof(*segs));
	if (!segs) {
		rs_fail(rep, ENOMEM);
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
