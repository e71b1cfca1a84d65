/*
 * blkfront: the rings (one per queue: pages shared with the backend, an
 * unbound event channel, a shadow table of requests in flight), their keys in
 * xenstore, and the persistent page pool.
 *
 * Each connection gets fresh rings. Taking them down gives the ring pages
 * back with xengntshr_unshare(), which ends the grants only once the backend
 * has unmapped them (a page is never reused while the backend may still map
 * it, XSA-396), and sends the I/Os that were in flight back to be reissued.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "drivers/blk/blkfront_internal.h"

static int blkfront_queue_setup(struct blkfront *bf, struct blkfront_queue *q)
{
	unsigned pages = 1u << bf->bf_order;

	q->q_sring = xengntshr_share_pages(bf->bf_gs, bf->bf_back.domid, (int)pages, q->q_refs, 1);
	if (!q->q_sring)
		return errno ? -errno : -ENOMEM;
	bf->bf_grant_pages += pages;
	blkif_sring_t *sring = q->q_sring;
	SHARED_RING_INIT(sring);
	FRONT_RING_INIT(&q->q_ring, sring, BLKFRONT_PAGE_SIZE * pages);
	unsigned n = RING_SIZE(&q->q_ring);
	q->q_shadow = calloc(n, sizeof(*q->q_shadow));
	if (!q->q_shadow)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++)
		q->q_shadow[i].sh_next_free = i + 1 < n ? i + 1 : UINT32_MAX;
	q->q_free = 0;
	return xenbus_evtchn_alloc(bf->bf_cfg.base, bf->bf_back.domid, blkfront_queue_event, q, &q->q_evtchn);
}

int blkfront_offer_read(struct blkfront *bf, xs_transaction_t t, unsigned *nq, unsigned *order)
{
	struct xs_handle *xs = xenbus_xs(bf->bf_xb);
	uint64_t be_q, be_order;
	int rc = xenbus_read_uint_or(xs, t, bf->bf_back.path, "multi-queue-max-queues", UINT32_MAX, 1, &be_q);

	if (rc == 0)
		rc = xenbus_read_uint_or(xs, t, bf->bf_back.path, "max-ring-page-order", UINT32_MAX, 0, &be_order);
	if (rc < 0)
		return rc;
	*nq = be_q < bf->bf_cfg.queues_max ? (be_q ? (unsigned)be_q : 1) : bf->bf_cfg.queues_max;
	*order = be_order < bf->bf_cfg.ring_page_order_max ? (unsigned)be_order : bf->bf_cfg.ring_page_order_max;
	return 0;
}

int blkfront_rings_setup(struct blkfront *bf)
{
	int rc = blkfront_offer_read(bf, XBT_NULL, &bf->bf_nq, &bf->bf_order);

	if (rc < 0)
		return rc;
	bf->bf_queues = calloc(bf->bf_nq, sizeof(*bf->bf_queues));
	if (!bf->bf_queues)
		return -ENOMEM;
	for (unsigned i = 0; rc == 0 && i < bf->bf_nq; i++) {
		bf->bf_queues[i].q_bf = bf;
		bf->bf_queues[i].q_index = i;
		rc = blkfront_queue_setup(bf, &bf->bf_queues[i]);
	}
	if (rc < 0)
		blkfront_rings_teardown(bf);
	return rc;
}

/* Every part in flight is dropped; its I/O starts over on the next ring. */
static void blkfront_queue_drop(struct blkfront_queue *q, struct blkfront_ioq *requeue)
{
	for (unsigned i = 0; q->q_shadow && i < RING_SIZE(&q->q_ring); i++) {
		struct blkfront_shadow *sh = &q->q_shadow[i];
		if (!sh->sh_id)
			continue;
		struct blkfront_io *io = sh->sh_io;
		blkfront_part_release(q, sh);
		io->io_parts = 0;
		io->io_issued = 0;
		if (!io->io_pending) {
			io->io_pending = true;
			blkfront_ioq_push(requeue, io);
			q->q_bf->bf_stats.reissued++;
		}
	}
}

static void blkfront_queue_free(struct blkfront *bf, struct blkfront_queue *q)
{
	if (q->q_evtchn) {
		struct xenbus_evtchn_stats s;
		xenbus_evtchn_stats(q->q_evtchn, &s);
		bf->bf_ev_closed.events += s.events;
		bf->bf_ev_closed.spurious += s.spurious;
		xenbus_evtchn_close(q->q_evtchn);
	}
	if (q->q_sring) {
		xengntshr_unshare(bf->bf_gs, q->q_sring, 1u << bf->bf_order);
		bf->bf_grant_pages -= 1u << bf->bf_order;
	}
	free(q->q_shadow);
}

void blkfront_rings_teardown(struct blkfront *bf)
{
	struct blkfront_ioq requeue = {0};

	for (unsigned i = 0; bf->bf_queues && i < bf->bf_nq; i++)
		blkfront_queue_drop(&bf->bf_queues[i], &requeue);
	for (unsigned i = 0; bf->bf_queues && i < bf->bf_nq; i++)
		blkfront_queue_free(bf, &bf->bf_queues[i]);
	free(bf->bf_queues);
	bf->bf_queues = NULL;
	bf->bf_nq = 0;
	/* Ahead of what was never issued: they were accepted first. */
	blkfront_ioq_prepend(&bf->bf_pending, &requeue);
}

static int blkfront_queue_publish(struct xs_handle *xs, xs_transaction_t t, struct blkfront *bf,
				  struct blkfront_queue *q, const char *dir)
{
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < (1u << bf->bf_order); i++) {
		char key[16];
		snprintf(key, sizeof(key), bf->bf_order ? "ring-ref%u" : "ring-ref", i);
		rc = xenbus_write_fmt(xs, t, dir, key, "%" PRIu32, q->q_refs[i]);
	}
	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, dir, "event-channel", "%u", xenbus_evtchn_port(q->q_evtchn));
	return rc;
}

int blkfront_rings_publish(struct xs_handle *xs, xs_transaction_t t, struct blkfront *bf)
{
	const char *d = bf->bf_dir;
	int rc = 0;

	if (bf->bf_nq > 1)
		rc = xenbus_write_fmt(xs, t, d, "multi-queue-num-queues", "%u", bf->bf_nq);
	if (rc == 0 && bf->bf_order)
		rc = xenbus_write_fmt(xs, t, d, "ring-page-order", "%u", bf->bf_order);
	for (unsigned i = 0; rc == 0 && i < bf->bf_nq; i++) {
		char dir[XENBUS_DIR_MAX + 24];
		if (bf->bf_nq == 1)
			snprintf(dir, sizeof(dir), "%s", d);
		else
			snprintf(dir, sizeof(dir), "%s/queue-%u", d, i);
		rc = blkfront_queue_publish(xs, t, bf, &bf->bf_queues[i], dir);
	}
	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, d, "protocol", "%s", XEN_IO_PROTO_ABI_NATIVE);
	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, d, "feature-persistent", "%d", bf->bf_cfg.persistent);
	return rc;
}

/* Keys of an earlier connection (ours or a previous instance's). */
int blkfront_keys_clean(struct xs_handle *xs, xs_transaction_t t, struct blkfront *bf)
{
	static const char *const prefixes[] = {"ring-ref", "queue-", "event-channel", "multi-queue-num-queues",
					       "ring-page-order", "error"};
	unsigned n = 0;
	int rc = 0;
	char **names = xs_directory(xs, t, bf->bf_dir, &n);

	if (!names)
		return errno ? -errno : -EIO;
	for (unsigned i = 0; rc == 0 && i < n; i++)
		for (size_t p = 0; p < sizeof(prefixes) / sizeof(prefixes[0]); p++)
			if (strncmp(names[i], prefixes[p], strlen(prefixes[p])) == 0) {
				rc = xenbus_rm(xs, t, bf->bf_dir, names[i]);
				break;
			}
	free(names);
	return rc;
}

void blkfront_pool_free(struct blkfront *bf)
{
	while (bf->bf_chunks) {
		struct blkfront_chunk *c = bf->bf_chunks;
		bf->bf_chunks = c->ck_next;
		xengntshr_unshare(bf->bf_gs, c->ck_addr, c->ck_pages);
		bf->bf_grant_pages -= c->ck_pages;
		bf->bf_pool_pages -= c->ck_pages;
		free(c);
	}
	bf->bf_free_pages = NULL;
	bf->bf_pool_free = 0;
}
