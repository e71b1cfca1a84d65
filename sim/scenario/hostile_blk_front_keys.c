/*
 * The hostile blk frontend's queue lies at a handshake (workload
 * `blk-hostile-front`, site blk.hostile.front.keys; hostile_blk_front.c
 * tells the ring-page-order lie itself). blkif.h: multi-queue-num-queues
 * "must be greater than zero, and no more than the value reported by the
 * backend in multi-queue-max-queues" (absent: one queue). Each lie is told
 * beside keys that would be valid for it, so that only the count is wrong:
 *   zero   multi-queue-num-queues 0 and the one ring's keys at the top;
 *   over   one queue more than offered, each with a ring page of its own
 *          and a port bound for the backend under queue-N/ (queue-0 the
 *          front's own ring and port).
 */
#include "sim/scenario/hostile_blk_front_internal.h"

static int hfk_write(struct hf *h, const char *dir, const char *key, unsigned long v)
{
	char path[SCN_XS_PATH_MAX];

	snprintf(path, sizeof(path), "%s%s%s", h->fe_dir, dir[0] ? "/" : "", dir);
	return scn_xs_printf(h->xs, path, key, "%lu", v);
}

/* A lie of an earlier handshake must not outlive it. */
void hfk_clean(struct hf *h)
{
	static const char *const keys[] = {"ring-page-order", "multi-queue-num-queues"};
	char path[SCN_XS_PATH_MAX];

	for (unsigned i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", h->fe_dir, keys[i]);
		xs_rm(h->xs, XBT_NULL, path);
	}
	for (unsigned q = 0; q <= HF_QUEUES_LIE_MAX; q++) {
		snprintf(path, sizeof(path), "%s/queue-%u", h->fe_dir, q);
		xs_rm(h->xs, XBT_NULL, path);
	}
}

/* The extra rings of an `over` lie; the ports went with the handle. */
void hfk_release(struct hf *h, bool alive)
{
	if (alive && h->q_extra)
		xengntshr_unshare(h->gs, h->q_extra, h->q_extra_n);
	h->q_extra = NULL;
	h->q_extra_n = 0;
}

static int hfk_zero(struct hf *h)
{
	h->queues_asked = 0;
	int rc = hfk_write(h, "", "multi-queue-num-queues", 0);
	return rc ? rc : hfk_write(h, "", "ring-ref", h->ring_ref);
}

static int hfk_over(struct hf *h)
{
	char v[SCN_XS_VALUE_MAX], dir[24];
	uint32_t refs[HF_QUEUES_LIE_MAX];
	unsigned long max = 1;

	if (scn_xs_gets(h->xs, h->be_dir, "multi-queue-max-queues", v, sizeof(v)) == 0)
		max = strtoul(v, NULL, 10);
	if (max >= HF_QUEUES_LIE_MAX)
		return hfk_zero(h);
	unsigned n = (unsigned)max + 1;
	h->q_extra = xengntshr_share_pages(h->gs, h->be, (int)(n - 1), refs, 1);
	if (!h->q_extra)
		return -errno;
	h->q_extra_n = n - 1;
	h->queues_asked = n;
	int rc = hfk_write(h, "", "multi-queue-num-queues", n);
	for (unsigned q = 0; rc == 0 && q < n; q++) {
		xenevtchn_port_or_error_t port = q ? xenevtchn_bind_unbound_port(h->xce, h->be) : (int)h->port;
		if (port < 0)
			return -errno;
		snprintf(dir, sizeof(dir), "queue-%u", q);
		rc = hfk_write(h, dir, "ring-ref", q ? refs[q - 1] : h->ring_ref);
		rc = rc ? rc : hfk_write(h, dir, "event-channel", (unsigned long)port);
	}
	return rc;
}

/* Told in turn (zero, over) by the caller's count; 0 or -errno. */
int hfk_queues_lie(struct hf *h, unsigned turn)
{
	h->queues_lie = true;
	hf_count(h, HF_C_LIES);
	return turn % 2 ? hfk_over(h) : hfk_zero(h);
}
