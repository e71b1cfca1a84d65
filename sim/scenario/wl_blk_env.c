/*
 * What the block workloads share: the disk behind a vbd, the toolstack's
 * part, and the registry of one blkback per backend domain (wl_blk.h).
 *
 * The disk is the engine's: a ram store wrapped so that blk.disk.io fails a
 * read or a write with EIO and blk.disk.slow makes one take virtual time (the
 * backend's thread waits on an environment timer: store I/O is synchronous in
 * blkback, so a slow disk holds up that backend as a real one would). Both are
 * the environment's, never the driver's, and both can be aimed at the vbd
 * (`on vbd/51712`) or its frontend domain.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "sim/scenario/scn_internal.h"
#include "sim/scenario/wl_blk.h"

SIM_FAULT_SITE(blk_fault_io, "blk.disk.io",
	       "a read or write of the disk behind blkback fails with EIO (scenario blk workloads)");
SIM_FAULT_SITE(blk_fault_slow, "blk.disk.slow",
	       "a read or write of the disk behind blkback takes the workload's slow= of virtual time");
SIM_FAULT_SITE(blk_fault_flush, "blk.disk.flush",
	       "a flush of the disk behind blkback fails with EIO (scenario blk workloads)");
SIM_FAULT_SITE(blk_fault_unsupported, "blk.disk.unsupported",
	       "a flush or discard of the disk behind blkback answers EOPNOTSUPP: a disk that cannot");

#define SCN_BLK_SUM_CHUNK_BYTES (64u << 10)

/* ---- the disk ---- */

struct scn_blk_disk {
	struct blk_store *ram;
	struct scn_blk_disk_opts o;
	char device[24];
	atomic_uint unsupported;          /* blk.disk.unsupported answers given */
	_Atomic uint64_t lowest;          /* the lowest byte written or discarded (UINT64_MAX: none) */
};

static void scn_blk_disk_touch(struct scn_blk_disk *d, uint64_t off)
{
	uint64_t was = atomic_load(&d->lowest);

	while (off < was && !atomic_compare_exchange_weak(&d->lowest, &was, off))
		;
}

enum { SLOW_WAITING, SLOW_DUE, SLOW_ABANDONED };

/* Whoever of the timer and the waiter comes second frees it: a waiter whose
 * domain is being stopped returns early, the timer still fires later. */
struct scn_blk_slow {
	atomic_int state;
};

static void scn_blk_slow_wake(void *arg)
{
	struct scn_blk_slow *sl = arg;

	if (atomic_exchange(&sl->state, SLOW_DUE) == SLOW_ABANDONED)
		free(sl);
}

static bool scn_blk_slow_due(void *arg)
{
	return atomic_load(&((struct scn_blk_slow *)arg)->state) == SLOW_DUE;
}

static void scn_blk_disk_wait(uint64_t ns)
{
	struct scn_blk_slow *sl = calloc(1, sizeof(*sl));

	if (!sl || sim_timer_at(sim_now_ns() + ns, scn_blk_slow_wake, sl) < 0) {
		free(sl);
		return;
	}
	sim_sched_block_until(scn_blk_slow_due, sl);
	if (atomic_exchange(&sl->state, SLOW_ABANDONED) == SLOW_DUE)
		free(sl);
}

/* Fault sites of one I/O: true if it must fail. */
static bool scn_blk_disk_faults(struct scn_blk_disk *d)
{
	struct sim_fault_ctx ctx = {.domid = DOMID_INVALID, .peer = d->o.fe,
				    .port = SIM_FAULT_PORT_ANY, .device = d->device};

	if (sim_fault_hit_ctx(&blk_fault_slow, &ctx))
		scn_blk_disk_wait(d->o.slow_ns);
	return sim_fault_hit_ctx(&blk_fault_io, &ctx);
}

static int scn_blk_disk_read(struct blk_store *s, uint64_t off, void *buf, size_t len)
{
	struct scn_blk_disk *d = blk_store_priv(s);

	return scn_blk_disk_faults(d) ? -EIO : blk_store_read(d->ram, off, buf, len);
}

static int scn_blk_disk_write(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	struct scn_blk_disk *d = blk_store_priv(s);

	if (scn_blk_disk_faults(d))
		return -EIO;
	scn_blk_disk_touch(d, off);
	return blk_store_write(d->ram, off, buf, len);
}

static bool scn_blk_disk_hit(struct scn_blk_disk *d, struct sim_fault_site *site)
{
	struct sim_fault_ctx ctx = {.domid = DOMID_INVALID, .peer = d->o.fe,
				    .port = SIM_FAULT_PORT_ANY, .device = d->device};

	return sim_fault_hit_ctx(site, &ctx);
}

/* A flush or discard the disk cannot do (EOPNOTSUPP), counted: the feature
 * may then go, and only then (wl_blk.c's feature oracle). */
static bool scn_blk_disk_unsupported(struct scn_blk_disk *d)
{
	if (!scn_blk_disk_hit(d, &blk_fault_unsupported))
		return false;
	atomic_fetch_add(&d->unsupported, 1);
	return true;
}

static int scn_blk_disk_flush(struct blk_store *s)
{
	struct scn_blk_disk *d = blk_store_priv(s);

	if (scn_blk_disk_unsupported(d))
		return -EOPNOTSUPP;
	return scn_blk_disk_hit(d, &blk_fault_flush) ? -EIO : blk_store_flush(d->ram);
}

static int scn_blk_disk_discard(struct blk_store *s, uint64_t off, uint64_t len)
{
	struct scn_blk_disk *d = blk_store_priv(s);

	if (scn_blk_disk_unsupported(d))
		return -EOPNOTSUPP;
	scn_blk_disk_touch(d, off);
	return blk_store_discard(d->ram, off, len);
}

uint64_t scn_blk_disk_lowest_change(struct blk_store *s)
{
	return atomic_load(&((struct scn_blk_disk *)blk_store_priv(s))->lowest);
}

uint64_t scn_blk_disk_refused(struct blk_store *s)
{
	struct blk_store_info in;

	blk_store_info(s, &in);
	return in.refused;
}

unsigned scn_blk_disk_unsupported_told(struct blk_store *s)
{
	return atomic_load(&((struct scn_blk_disk *)blk_store_priv(s))->unsupported);
}

static void scn_blk_disk_destroy(struct blk_store *s)
{
	struct scn_blk_disk *d = blk_store_priv(s);

	blk_store_put(d->ram);
	free(d);
}

/* The toolstack grows (or shrinks) the disk: the ram behind it follows. */
static int scn_blk_disk_resize(struct blk_store *s, uint64_t size_bytes)
{
	return blk_store_resize(((struct scn_blk_disk *)blk_store_priv(s))->ram, size_bytes);
}

static const struct blk_store_ops scn_blk_disk_ops = {
	.kind = "scenario-ram", .read = scn_blk_disk_read, .write = scn_blk_disk_write,
	.flush = scn_blk_disk_flush, .discard = scn_blk_disk_discard, .resize = scn_blk_disk_resize,
	.destroy = scn_blk_disk_destroy,
};

int scn_blk_disk_new(const struct scn_blk_disk_opts *o, struct blk_store **out)
{
	struct scn_blk_disk *d = calloc(1, sizeof(*d));
	int rc = d ? blk_store_ram_create(o->size_bytes, o->sector_size, &d->ram) : -ENOMEM;

	if (rc == 0) {
		d->o = *o;
		atomic_init(&d->lowest, UINT64_MAX);
		snprintf(d->device, sizeof(d->device), "vbd/%u", o->devid);
		rc = blk_store_new(&scn_blk_disk_ops, d, o->size_bytes, o->sector_size, o->readonly, out);
		if (rc < 0)
			blk_store_put(d->ram);
	}
	if (rc < 0)
		free(d);
	return rc;
}

int scn_blk_disk_fill(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	return blk_store_write(((struct scn_blk_disk *)blk_store_priv(s))->ram, off, buf, len);
}

uint64_t scn_blk_disk_sum(struct blk_store *s)
{
	struct blk_store_info in;
	uint64_t h = 14695981039346656037ull;
	uint8_t *buf = malloc(SCN_BLK_SUM_CHUNK_BYTES);

	blk_store_info(s, &in);
	for (uint64_t off = 0; buf && off < in.size_bytes; off += SCN_BLK_SUM_CHUNK_BYTES) {
		uint64_t n = in.size_bytes - off < SCN_BLK_SUM_CHUNK_BYTES ? in.size_bytes - off
									   : SCN_BLK_SUM_CHUNK_BYTES;
		/* Under the wrapper: a checksum is no disk I/O to fail or slow. */
		if (blk_store_read(((struct scn_blk_disk *)blk_store_priv(s))->ram, off, buf, n) < 0)
			memset(buf, 0xee, n);
		for (uint64_t i = 0; i < n; i++)
			h = (h ^ buf[i]) * 1099511628211ull;
	}
	free(buf);
	return h;
}

/* ---- the guest's driver ---- */

void scn_blk_front_failed(struct scn_wl *wl, domid_t fe, struct blkfront *bf)
{
	struct blkfront_stats fs;
	const char *why = blkfront_error(bf) ? blkfront_error(bf) : "?";

	blkfront_stats(bf, &fs);
	if (fs.ios_inflight)
		scn_wl_fail(wl, "blkfront (dom %u) failed (%s) with %u I/O(s) it accepted never completed", fe, why,
			    fs.ios_inflight);
	else
		scn_wl_error(wl, "blkfront (dom %u) failed: %s", fe, why);
}

/* ---- the toolstack (the harness, as dom0) ---- */

int scn_blk_toolstack(const struct xenbus_device *dev, enum scn_blk_ts what)
{
	struct xs_handle *xs;
	int rc = sim_thread_enter(0);

	if (rc < 0)
		return rc;
	xs = xs_open(0);
	if (!xs)
		rc = -errno;
	else if (what == SCN_BLK_TS_CREATE)
		rc = xenbus_device_create(xs, dev);
	else if (what == SCN_BLK_TS_BACKEND)
		rc = xenbus_device_backend_recreate(xs, dev);
	else
		rc = xenbus_device_remove(xs, dev);
	if (xs)
		xs_close(xs);
	sim_thread_leave();
	return rc;
}

/* ---- one blkback per backend domain ---- */

struct scn_blk_be {
	const struct scn_run *run;        /* entries of another run are stale */
	domid_t domid;
	unsigned refs;
	bool alive;
	struct blkback *bb;
	struct blkback_config cfg;
	unsigned ndisks;
	struct {
		char name[SCN_NAME_MAX + 8];
		struct blk_store *store;
	} disks[SCN_BLK_DISKS_MAX];
	/* for the calls on the domain's thread */
	unsigned first_new;
	struct blkback_stats stats;
	struct blk_store *resize_store;
	uint64_t resize_bytes;
};

static struct scn_blk_be scn_blk_bes[SCN_DOMAINS_MAX];

static struct {
	const struct scn_run *run;
	domid_t domid;
	unsigned users;
} scn_blk_fronts[SCN_DOMAINS_MAX];

static struct scn_blk_be *scn_blk_be_find(domid_t be, bool create)
{
	struct scn_blk_be *free_slot = NULL;

	for (unsigned i = 0; i < SCN_DOMAINS_MAX; i++) {
		struct scn_blk_be *e = &scn_blk_bes[i];
		if (e->run == scn_current && e->refs && e->domid == be)
			return e;
		if (!free_slot && (e->run != scn_current || !e->refs))
			free_slot = e;
	}
	if (!create || !free_slot)
		return NULL;
	*free_slot = (struct scn_blk_be){.run = scn_current, .domid = be};
	return free_slot;
}

/* On the backend's thread: start blkback if needed, add the disks from
 * first_new on. */
static int scn_blk_be_start(void *arg)
{
	struct scn_blk_be *e = arg;
	int rc = 0;

	if (!e->bb) {
		e->cfg.base = sim_domain_event_base();
		rc = blkback_start(&e->cfg, &e->bb);
		e->first_new = 0;
	}
	for (unsigned i = e->first_new; rc == 0 && i < e->ndisks; i++)
		rc = blkback_disk_add(e->bb, e->disks[i].name, e->disks[i].store);
	return rc;
}

static int scn_blk_be_stop(void *arg)
{
	struct scn_blk_be *e = arg;

	blkback_stop(e->bb);
	e->bb = NULL;
	return 0;
}

static int scn_blk_be_stats(void *arg)
{
	struct scn_blk_be *e = arg;

	if (!e->bb)
		return -ESRCH;
	blkback_stats(e->bb, &e->stats);
	return 0;
}

/* Backend thread: the disk takes its new size, blkback tells the frontends
 * it serves that disk to (blkback_refresh: "sectors", then Connected again). */
static int scn_blk_be_resize(void *arg)
{
	struct scn_blk_be *e = arg;
	int rc = blk_store_resize(e->resize_store, e->resize_bytes);

	if (rc == 0 && e->bb)
		blkback_refresh(e->bb);
	return rc;
}

static bool scn_blk_cfg_same(const struct blkback_config *a, const struct blkback_config *b)
{
	return a->ring_page_order_max == b->ring_page_order_max && a->queues_max == b->queues_max &&
	       a->indirect_segs_max == b->indirect_segs_max && a->persistent == b->persistent &&
	       a->flush == b->flush && a->barrier == b->barrier && a->discard == b->discard &&
	       a->persistent_grants_max == b->persistent_grants_max;
}

static const struct blkback_config scn_blk_cfg_default = {
	.indirect_segs_max = 32, .persistent = true, .flush = true, .discard = true,
	.persistent_grants_max = SCN_BLK_PGRANTS_DEFAULT,
};

int scn_blk_backend_get(struct scn_wl *wl, domid_t be, const struct blkback_config *cfg,
			const char *disk, struct blk_store *store)
{
	struct scn_blk_be *e = scn_blk_be_find(be, true);
	bool fresh;

	if (!e)
		return -ENOSPC;
	fresh = e->refs == 0;
	if (fresh) {
		e->cfg = cfg ? *cfg : scn_blk_cfg_default;
		e->alive = true;
	} else if (cfg && !scn_blk_cfg_same(cfg, &e->cfg)) {
		scn_wl_error(wl, "blkback in dom %u already runs with another config (persistent, "
			     "indirect, order, pgrants): the blk workloads of one backend must agree", be);
		return -EINVAL;
	}
	if (!e->alive)
		return -ESRCH;
	/* A disk blkback has already (its vbd unplugged while another vbd kept
	 * the backend up, plugged again now) stays as it is. */
	for (unsigned i = 0; i < e->ndisks; i++)
		if (strcmp(e->disks[i].name, disk) == 0) {
			if (e->disks[i].store != store)
				return -EEXIST;
			e->refs++;
			return 0;
		}
	if (e->ndisks == SCN_BLK_DISKS_MAX)
		return -ENOSPC;
	e->refs++;
	snprintf(e->disks[e->ndisks].name, sizeof(e->disks[0].name), "%s", disk);
	blk_store_get(store);
	e->disks[e->ndisks].store = store;
	e->first_new = e->ndisks++;
	int rc = scn_wl_call(wl, be, scn_blk_be_start, e);
	if (rc < 0)
		scn_blk_backend_put(wl, be);
	return rc;
}

void scn_blk_backend_put(struct scn_wl *wl, domid_t be)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (!e || --e->refs)
		return;
	if (e->bb && e->alive && sim_domain_alive(be)) {
		scn_wl_call(wl, be, scn_blk_be_stop, e);
		scn_wl_check_backend_stopped(wl, be, "vbd");
	}
	for (unsigned i = 0; i < e->ndisks; i++)
		blk_store_put(e->disks[i].store);
	*e = (struct scn_blk_be){0};
}

void scn_blk_backend_crashed(domid_t be)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	/* Its state lived on the domain's loop, which is gone: not freed (a
	 * crash frees nothing in that domain either). */
	if (e) {
		e->alive = false;
		e->bb = NULL;
	}
}

int scn_blk_backend_revive(struct scn_wl *wl, domid_t be)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (!e)
		return -ENOENT;
	if (e->alive)
		return 0;
	e->first_new = 0;
	int rc = scn_wl_call(wl, be, scn_blk_be_start, e);
	e->alive = rc == 0;
	return rc;
}

/* A backend domain restarted with other features (an upgraded driver
 * domain): the next blkback there offers these, and this ring geometry. */
void scn_blk_backend_reconfig(domid_t be, const struct blkback_config *c)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (e && !e->alive) {
		e->cfg.flush = c->flush;
		e->cfg.barrier = c->barrier;
		e->cfg.discard = c->discard;
		e->cfg.ring_page_order_max = c->ring_page_order_max;
		e->cfg.queues_max = c->queues_max;
		e->cfg.indirect_segs_max = c->indirect_segs_max;
	}
}

/* Det mode only: one thread runs at a time, so the harness may read one
 * counter in place (a domain call would change the run's interleaving; the
 * domain may be parked half way through a disconnect, so nothing that walks
 * its vbds). */
int scn_blk_backend_persistent_full(domid_t be, uint64_t *out)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (sim_mode() != SIM_MODE_DET || !e || !e->alive || !e->bb)
		return -ESRCH;
	*out = blkback_persistent_full(e->bb);
	return 0;
}

unsigned scn_blk_backend_users(domid_t be)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	return e ? e->refs : 0;
}

bool scn_blk_backend_config(domid_t be, struct blkback_config *out)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (!e || !e->alive)
		return false;
	*out = e->cfg;
	return true;
}

int scn_blk_backend_stats(struct scn_wl *wl, domid_t be, struct blkback_stats *out)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);
	int rc = e && e->alive ? scn_wl_call(wl, be, scn_blk_be_stats, e) : -ESRCH;

	if (rc == 0)
		*out = e->stats;
	return rc;
}

int scn_blk_backend_resize(struct scn_wl *wl, domid_t be, struct blk_store *store, uint64_t size_bytes)
{
	struct scn_blk_be *e = scn_blk_be_find(be, false);

	if (!e || !e->alive)   /* no blkback now: the next one reads the new size */
		return blk_store_resize(store, size_bytes);
	e->resize_store = store;
	e->resize_bytes = size_bytes;
	return scn_wl_call(wl, be, scn_blk_be_resize, e);
}

unsigned scn_blk_front_users(domid_t fe, int delta)
{
	unsigned i, slot = SCN_DOMAINS_MAX;

	for (i = 0; i < SCN_DOMAINS_MAX; i++) {
		bool live = scn_blk_fronts[i].run == scn_current && scn_blk_fronts[i].users;
		if (live && scn_blk_fronts[i].domid == fe)
			break;
		if (!live && slot == SCN_DOMAINS_MAX)
			slot = i;
	}
	if (i == SCN_DOMAINS_MAX) {
		if (delta <= 0 || slot == SCN_DOMAINS_MAX)
			return 0;
		i = slot;
		scn_blk_fronts[i].run = scn_current;
		scn_blk_fronts[i].domid = fe;
		scn_blk_fronts[i].users = 0;
	}
	scn_blk_fronts[i].users += (unsigned)delta;
	return scn_blk_fronts[i].users;
}
