/*
 * blkback: connecting to a frontend's rings (one per queue) and letting go of
 * them. The frontend's keys are read and bounded: protocol, number of queues,
 * ring order, ring refs and event channel of each queue (under queue-N/ with
 * two queues or more). All grants of a vbd go through one xengnttab handle,
 * so closing it at disconnect drops whatever a bug might have left mapped.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include <event2/event.h>

#include "drivers/blk/blkback_internal.h"

static struct xs_handle *blkback_ring_xs(struct blkback_vbd *vbd)
{
	return xenbus_xs(vbd->vbd_bb->bb_xb);
}

/* The ring refs and the event channel of one queue, from dir. */
static int blkback_ring_keys(struct blkback_vbd *vbd, const char *dir, unsigned order,
			     uint32_t *refs, uint32_t *port)
{
	struct xs_handle *xs = blkback_ring_xs(vbd);
	uint64_t v;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < (1u << order); i++) {
		char key[16];
		snprintf(key, sizeof(key), order ? "ring-ref%u" : "ring-ref", i);
		rc = xenbus_read_uint(xs, XBT_NULL, dir, key, UINT32_MAX, &v);
		refs[i] = (uint32_t)v;
	}
	if (rc == 0)
		rc = xenbus_read_uint(xs, XBT_NULL, dir, "event-channel", UINT32_MAX, &v);
	if (rc == 0)
		*port = (uint32_t)v;
	else
		blkback_vbd_log(vbd, "ring keys under %s missing or malformed: %s", dir, strerror(-rc));
	return rc;
}

static bool blkback_queue_event(void *arg)
{
	return blkback_queue_work(arg);
}

static void blkback_queue_continue(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	blkback_queue_work(arg);
}

static unsigned blkback_pow2_at_least(unsigned n)
{
	unsigned p = 1;

	while (p < n)
		p <<= 1;
	return p;
}

/* Buffers sized for the largest request the vbd allows. */
static int blkback_queue_alloc(struct blkback_queue *q)
{
	struct blkback_vbd *vbd = q->q_vbd;
	unsigned segs = vbd->vbd_limits.indirect_segs_max > BLKIF_MAX_SEGMENTS_PER_REQUEST
				? vbd->vbd_limits.indirect_segs_max
				: BLKIF_MAX_SEGMENTS_PER_REQUEST;

	q->q_buf_bytes = (size_t)segs * BLKBACK_PAGE_SIZE;
	q->q_buf = malloc(q->q_buf_bytes);
	q->q_segs = calloc(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, BLKBACK_PAGE_SIZE);
	q->q_copy = calloc(segs, sizeof(*q->q_copy));
	q->q_pages = calloc(segs, sizeof(*q->q_pages));
	q->q_refs = calloc(segs, sizeof(*q->q_refs));
	if (!q->q_buf || !q->q_segs || !q->q_copy || !q->q_pages || !q->q_refs)
		return -ENOMEM;
	return 0;
}

static int blkback_queue_connect(struct blkback_queue *q, const char *dir, unsigned order)
{
	struct blkback_vbd *vbd = q->q_vbd;
	struct event_base *base = vbd->vbd_bb->bb_cfg.base;
	uint32_t refs[BLKBACK_RING_PAGES_MAX], port = 0;
	int rc = blkback_ring_keys(vbd, dir, order, refs, &port);

	if (rc < 0)
		return rc;
	rc = blkback_queue_alloc(q);
	if (rc < 0)
		return rc;
	q->q_ring_pages = 1u << order;
	q->q_ring_addr = xengnttab_map_domain_grant_refs(vbd->vbd_gt, q->q_ring_pages, vbd->vbd_fe_domid,
							 refs, PROT_READ | PROT_WRITE);
	if (!q->q_ring_addr) {
		rc = errno ? -errno : -EIO;
		blkback_vbd_log(vbd, "mapping queue %u's ring (%u pages, first ref %" PRIu32 ") failed: %s",
				q->q_index, q->q_ring_pages, refs[0], strerror(-rc));
		return rc;
	}
	BACK_RING_INIT(&q->q_ring, (blkif_sring_t *)q->q_ring_addr, BLKBACK_PAGE_SIZE * q->q_ring_pages);
	q->q_work_ev = event_new(base, -1, 0, blkback_queue_continue, q);
	if (!q->q_work_ev)
		return -ENOMEM;
	/* Last: binding may deliver an event at once, and the queue is ready. */
	return xenbus_evtchn_bind(base, vbd->vbd_fe_domid, port, blkback_queue_event, q, &q->q_evtchn);
}

/* How many queues, how large, which protocol: bounded by what we offered. */
static int blkback_ring_params(struct blkback_vbd *vbd, unsigned *nq, unsigned *order)
{
	const struct blkback_config *c = &vbd->vbd_bb->bb_cfg;
	struct xs_handle *xs = blkback_ring_xs(vbd);
	char proto[32];
	uint64_t q, o, p;
	int rc = xenbus_read_str(xs, XBT_NULL, vbd->vbd_be.bd_fe_dir, "protocol", proto, sizeof(proto));

	/* Absent is the native ABI (blkif.h); a value we cannot read (longer
	 * than any ABI's name) is not, and neither is an unknown name. */
	if (rc == -E2BIG || rc == -EINVAL || (rc == 0 && strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) != 0)) {
		blkback_vbd_log(vbd, "frontend protocol '%s' is not %s", rc ? "(unreadable)" : proto,
				XEN_IO_PROTO_ABI_NATIVE);
		return -EPROTONOSUPPORT;
	}
	rc = xenbus_read_uint_or(xs, XBT_NULL, vbd->vbd_be.bd_fe_dir, "multi-queue-num-queues", c->queues_max, 1, &q);
	if (rc == 0)
		rc = xenbus_read_uint_or(xs, XBT_NULL, vbd->vbd_be.bd_fe_dir, "ring-page-order",
					 c->ring_page_order_max, 0, &o);
	if (rc == 0)
		rc = xenbus_read_uint_or(xs, XBT_NULL, vbd->vbd_be.bd_fe_dir, "feature-persistent", 1, 0, &p);
	if (rc == 0 && q == 0)
		rc = -EINVAL;
	if (rc < 0) {
		blkback_vbd_log(vbd, "frontend asks for more than offered (queues <= %u, order <= %u)",
				c->queues_max, c->ring_page_order_max);
		return rc;
	}
	*nq = (unsigned)q;
	*order = (unsigned)o;
	vbd->vbd_persistent = p && c->persistent;
	return 0;
}

int blkback_rings_connect(struct blkback_vbd *vbd)
{
	unsigned nq, order;
	int rc = blkback_ring_params(vbd, &nq, &order);

	if (rc < 0)
		return rc;
	vbd->vbd_gt = xengnttab_open(NULL, 0);
	if (!vbd->vbd_gt)
		return errno ? -errno : -EIO;
	if (vbd->vbd_persistent) {
		vbd->vbd_pgrants_max = vbd->vbd_bb->bb_cfg.persistent_grants_max;
		vbd->vbd_pgrants_slots = blkback_pow2_at_least(2 * vbd->vbd_pgrants_max);
		vbd->vbd_pgrants = calloc(vbd->vbd_pgrants_slots, sizeof(*vbd->vbd_pgrants));
		vbd->vbd_pmaps = calloc(vbd->vbd_pgrants_max ? vbd->vbd_pgrants_max : 1, sizeof(*vbd->vbd_pmaps));
		if (!vbd->vbd_pgrants || !vbd->vbd_pmaps)
			return -ENOMEM;
	}
	vbd->vbd_queues = calloc(nq, sizeof(*vbd->vbd_queues));
	if (!vbd->vbd_queues)
		return -ENOMEM;   /* the caller disconnects, which closes the handle */
	vbd->vbd_nr_queues = nq;
	for (unsigned i = 0; rc == 0 && i < nq; i++) {
		char dir[XENBUS_DIR_MAX + 24];
		struct blkback_queue *q = &vbd->vbd_queues[i];
		q->q_vbd = vbd;
		q->q_index = i;
		if (nq == 1)
			snprintf(dir, sizeof(dir), "%s", vbd->vbd_be.bd_fe_dir);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", vbd->vbd_be.bd_fe_dir, i);
		rc = blkback_queue_connect(q, dir, order);
	}
	return rc;
}

static void blkback_queue_disconnect(struct blkback_queue *q)
{
	struct blkback_vbd *vbd = q->q_vbd;
	struct xenbus_evtchn_stats s;

	if (q->q_evtchn) {
		xenbus_evtchn_stats(q->q_evtchn, &s);
		vbd->vbd_bb->bb_ev_closed.events += s.events;
		vbd->vbd_bb->bb_ev_closed.spurious += s.spurious;
		vbd->vbd_bb->bb_ev_closed.delayed += s.delayed;
		xenbus_evtchn_close(q->q_evtchn);
	}
	if (q->q_work_ev)
		event_free(q->q_work_ev);
	if (q->q_ring_addr)
		xengnttab_unmap(vbd->vbd_gt, q->q_ring_addr, q->q_ring_pages);
	free(q->q_buf);
	free(q->q_segs);
	free(q->q_copy);
	free(q->q_pages);
	free(q->q_refs);
}

void blkback_rings_disconnect(struct blkback_vbd *vbd)
{
	for (unsigned i = 0; i < vbd->vbd_nr_queues; i++)
		blkback_queue_disconnect(&vbd->vbd_queues[i]);
	for (unsigned i = 0; i < vbd->vbd_pmaps_n; i++)
		xengnttab_unmap(vbd->vbd_gt, vbd->vbd_pmaps[i].pm_addr, vbd->vbd_pmaps[i].pm_pages);
	free(vbd->vbd_pmaps);
	vbd->vbd_pmaps = NULL;
	vbd->vbd_pmaps_n = 0;
	free(vbd->vbd_pgrants);
	vbd->vbd_pgrants = NULL;
	vbd->vbd_pgrants_used = 0;
	free(vbd->vbd_queues);
	vbd->vbd_queues = NULL;
	vbd->vbd_nr_queues = 0;
	if (vbd->vbd_gt)
		xengnttab_close(vbd->vbd_gt);
	vbd->vbd_gt = NULL;
	vbd->vbd_persistent = false;
}
