/*
 * Workload `blk`: the block driver pair of drivers/blk under the engine. The
 * toolstack (the harness, acting for dom0) creates the vbd's xenstore nodes,
 * the backend domain runs blkback over a ram disk, the frontend domain runs
 * blkfront and, once connected, the verified random-I/O workload (blkwork):
 * every byte read is checked against a shadow model of the disk.
 *
 * The disk is the engine's: a ram store wrapped so that the fault site
 * blk.disk.io can fail a read or a write with EIO (a disk error is the
 * environment's, never the driver's). A data mismatch is a failure of the
 * code under test; I/O errors, or a blkfront that declares itself failed and
 * says why, are a clean error the scenario may allow.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/blk/blkwork.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/workload.h"

SIM_FAULT_SITE(blk_fault_io, "blk.disk.io",
	       "a read or write of the disk behind blkback fails with EIO (scenario blk workload)");

enum bw_param { BW_P_FRONT, BW_P_BACK, BW_P_DEVID, BW_P_SIZE, BW_P_SECTOR, BW_P_IOS, BW_P_QD,
		BW_P_MIN, BW_P_MAX, BW_P_READ, BW_P_FLUSH, BW_P_DISCARD, BW_P_PERSISTENT,
		BW_P_INDIRECT, BW_P_ORDER, BW_P_COUNT };

static const struct scn_param bw_params[BW_P_COUNT + 1] = {
	[BW_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest running blkfront"},
	[BW_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running blkback"},
	[BW_P_DEVID] = {"devid", SCN_P_UINT, "51712", 1, 1u << 28, "virtual device (51712: xvda)"},
	[BW_P_SIZE] = {"size", SCN_P_SIZE, "16M", 4096, 1ull << 34, "disk size"},
	[BW_P_SECTOR] = {"sector", SCN_P_UINT, "512", 512, 4096, "sector size (512 or 4096)"},
	[BW_P_IOS] = {"ios", SCN_P_UINT, "200", 1, 10000000, "I/Os to complete"},
	[BW_P_QD] = {"qd", SCN_P_UINT, "8", 1, BLKWORK_QUEUE_DEPTH_MAX, "I/Os in flight"},
	[BW_P_MIN] = {"min", SCN_P_SIZE, "512", 512, 4u << 20, "smallest I/O"},
	[BW_P_MAX] = {"max", SCN_P_SIZE, "64k", 512, 4u << 20, "largest I/O"},
	[BW_P_READ] = {"read", SCN_P_PERCENT, "50", 0, 100, "reads among reads and writes"},
	[BW_P_FLUSH] = {"flush", SCN_P_PERCENT, "5", 0, 100, "flushes among all I/Os"},
	[BW_P_DISCARD] = {"discard", SCN_P_PERCENT, "5", 0, 100, "discards among all I/Os"},
	[BW_P_PERSISTENT] = {"persistent", SCN_P_BOOL, "1", 0, 0, "persistent grants, both ends"},
	[BW_P_INDIRECT] = {"indirect", SCN_P_UINT, "32", 0, 512, "indirect segments (0: none)"},
	[BW_P_ORDER] = {"order", SCN_P_UINT, "0", 0, BLKBACK_RING_ORDER_MAX, "ring page order"},
};

enum bw_counter { BW_C_DONE, BW_C_CONNECTS, BW_C_IO_ERRORS, BW_C_DISK_ERRORS, BW_C_COUNT };
static const char *const bw_counters[BW_C_COUNT + 1] = {
	"done", "connects", "io-errors", "disk-errors", NULL,
};

struct bw {
	struct scn_wl *wl;
	domid_t fe, be;
	bool fe_alive, be_alive;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[7];
	char vdev[16], disk[48];
	struct blkback_config bcfg;
	struct blkback *bb;
	struct blk_store *store;
	struct blkfront_config fcfg;
	struct blkfront *bf;
	struct blkwork_config wcfg;
	struct blkwork *work;
	_Atomic uint64_t c[BW_C_COUNT];
};

/* ---- the disk: ram, with blk.disk.io ---- */

static int bw_disk_read(struct blk_store *s, uint64_t off, void *buf, size_t len)
{
	struct blk_store *ram = blk_store_priv(s);

	return sim_fault_hit(&blk_fault_io) ? -EIO : blk_store_read(ram, off, buf, len);
}

static int bw_disk_write(struct blk_store *s, uint64_t off, const void *buf, size_t len)
{
	struct blk_store *ram = blk_store_priv(s);

	return sim_fault_hit(&blk_fault_io) ? -EIO : blk_store_write(ram, off, buf, len);
}

static int bw_disk_flush(struct blk_store *s)
{
	return blk_store_flush(blk_store_priv(s));
}

static int bw_disk_discard(struct blk_store *s, uint64_t off, uint64_t len)
{
	return blk_store_discard(blk_store_priv(s), off, len);
}

static void bw_disk_destroy(struct blk_store *s)
{
	blk_store_put(blk_store_priv(s));
}

static const struct blk_store_ops bw_disk_ops = {
	.kind = "scenario-ram", .read = bw_disk_read, .write = bw_disk_write,
	.flush = bw_disk_flush, .discard = bw_disk_discard, .destroy = bw_disk_destroy,
};

static int bw_disk_new(struct bw *w)
{
	struct scn_wl *wl = w->wl;
	uint64_t size = scn_wl_u(wl, BW_P_SIZE);
	uint32_t sector = (uint32_t)scn_wl_u(wl, BW_P_SECTOR);
	struct blk_store *ram;
	int rc = blk_store_ram_create(size, sector, &ram);

	if (rc == 0) {
		rc = blk_store_new(&bw_disk_ops, ram, size, sector, false, &w->store);
		if (rc < 0)
			blk_store_put(ram);
	}
	return rc;
}

/* ---- the toolstack (the harness, as dom0) ---- */

/* What the toolstack does: create the vbd, re-create the backend's half
 * after a restart of its domain (the guest's half lives on), remove it. */
enum bw_ts { BW_TS_CREATE, BW_TS_BACKEND, BW_TS_REMOVE };

static int bw_toolstack(struct bw *w, enum bw_ts what)
{
	struct xs_handle *xs;
	int rc = sim_thread_enter(0);

	if (rc < 0)
		return rc;
	xs = xs_open(0);
	if (!xs)
		rc = -errno;
	else if (what == BW_TS_CREATE)
		rc = xenbus_device_create(xs, &w->dev);
	else if (what == BW_TS_BACKEND)
		rc = xenbus_device_backend_recreate(xs, &w->dev);
	else
		rc = xenbus_device_remove(xs, &w->dev);
	if (xs)
		xs_close(xs);
	sim_thread_leave();
	return rc;
}

static void bw_device(struct bw *w)
{
	snprintf(w->vdev, sizeof(w->vdev), "%lu", scn_wl_u(w->wl, BW_P_DEVID));
	snprintf(w->disk, sizeof(w->disk), "scn-%s", w->wl->id);
	const char *fe[] = {"virtual-device", w->vdev, "device-type", "disk", NULL};
	const char *be[] = {"params", w->disk, "type", "ram", "mode", "w", NULL};
	memcpy(w->fe_keys, fe, sizeof(fe));
	memcpy(w->be_keys, be, sizeof(be));
	w->dev = (struct xenbus_device){.type = "vbd", .fe_domid = w->fe, .be_domid = w->be,
					.devid = (uint32_t)scn_wl_u(w->wl, BW_P_DEVID),
					.fe_keys = w->fe_keys, .be_keys = w->be_keys};
}

/* ---- backend, on its domain ---- */

static int bw_back_start(void *arg)
{
	struct bw *w = arg;

	w->bcfg.base = sim_domain_event_base();
	int rc = blkback_start(&w->bcfg, &w->bb);
	if (rc == 0)
		rc = blkback_disk_add(w->bb, w->disk, w->store);
	return rc;
}

static int bw_back_stop(void *arg)
{
	struct bw *w = arg;

	if (w->bb)
		blkback_stop(w->bb);
	w->bb = NULL;
	return 0;
}

/* ---- frontend, on its domain ---- */

static void bw_finished(void *arg)
{
	struct bw *w = arg;
	struct blkwork_result r;

	blkwork_result(w->work, &r);
	atomic_store(&w->c[BW_C_DONE], r.done);
	atomic_store(&w->c[BW_C_IO_ERRORS], r.errors);
	atomic_store(&w->c[BW_C_DISK_ERRORS], atomic_load(&blk_fault_io.injected));
	if (r.mismatches)
		scn_wl_fail(w->wl, "data: %u block(s) read back differ from what the disk may hold: %s",
			    r.mismatches, r.failure);
	else if (r.errors)
		scn_wl_error(w->wl, "%u I/O error(s) of %u I/Os: %s", r.errors, r.done, r.failure);
	else if (r.failure[0])
		scn_wl_fail(w->wl, "%s", r.failure);
	else
		scn_wl_done(w->wl);
}

static void bw_progress(void *arg, uint32_t done)
{
	struct bw *w = arg;

	atomic_store(&w->c[BW_C_DONE], done);
}

static void bw_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct bw *w = arg;

	if (ev == BLKFRONT_EV_CONNECTED && atomic_fetch_add(&w->c[BW_C_CONNECTS], 1) == 0) {
		int rc = blkwork_start(bf, &w->wcfg, &w->work);
		if (rc < 0)
			scn_wl_error(w->wl, "blkwork_start: %s", strerror(-rc));
	} else if (ev == BLKFRONT_EV_FAILED) {
		/* The driver gave up and says why (a broken backend, a setup it
		 * could not do): a clean error; wrong data would be a failure. */
		scn_wl_error(w->wl, "blkfront (dom %u) failed: %s", w->fe,
			     blkfront_error(bf) ? blkfront_error(bf) : "?");
	}
}

static int bw_front_open(void *arg)
{
	struct bw *w = arg;

	w->fcfg.base = sim_domain_event_base();
	return blkfront_open(&w->fcfg, &w->bf);
}

static int bw_front_close(void *arg)
{
	struct bw *w = arg;

	if (w->bf)
		blkfront_close(w->bf);   /* completes every I/O of the workload */
	blkwork_free(w->work);
	w->bf = NULL;
	w->work = NULL;
	return 0;
}

/* ---- the workload ---- */

static void bw_configs(struct bw *w)
{
	struct scn_wl *wl = w->wl;
	unsigned indirect = (unsigned)scn_wl_u(wl, BW_P_INDIRECT);
	bool persistent = scn_wl_u(wl, BW_P_PERSISTENT);
	unsigned order = (unsigned)scn_wl_u(wl, BW_P_ORDER);

	w->bcfg = (struct blkback_config){.ring_page_order_max = order, .indirect_segs_max = indirect,
					  .persistent = persistent, .flush = true, .discard = true};
	w->fcfg = (struct blkfront_config){.devid = (uint32_t)scn_wl_u(wl, BW_P_DEVID),
					   .ring_page_order_max = order, .indirect_segs_max = indirect,
					   .persistent = persistent, .on_event = bw_event, .arg = w};
	w->wcfg = (struct blkwork_config){
		.seed = scn_wl_seed(wl), .ios = (uint32_t)scn_wl_u(wl, BW_P_IOS),
		.queue_depth = (uint32_t)scn_wl_u(wl, BW_P_QD),
		.size_min = (uint32_t)scn_wl_u(wl, BW_P_MIN), .size_max = (uint32_t)scn_wl_u(wl, BW_P_MAX),
		.read_pct = (uint32_t)scn_wl_u(wl, BW_P_READ), .flush_pct = (uint32_t)scn_wl_u(wl, BW_P_FLUSH),
		.discard_pct = (uint32_t)scn_wl_u(wl, BW_P_DISCARD), .verify_at_end = true,
		.progress = bw_progress, .finished = bw_finished, .arg = w};
}

static int bw_start(struct scn_wl *wl)
{
	struct bw *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	w->fe = scn_wl_domid(wl, BW_P_FRONT);
	w->be = scn_wl_domid(wl, BW_P_BACK);
	w->fe_alive = w->be_alive = true;
	bw_configs(w);
	bw_device(w);
	if (!sim_domain_alive(0)) {
		scn_wl_error(wl, "needs domain 0 (the toolstack): declare `domain dom0 priv`");
		return -ESRCH;
	}
	rc = bw_disk_new(w);
	if (rc == 0)
		rc = bw_toolstack(w, BW_TS_CREATE);
	if (rc < 0)
		return rc;
	rc = scn_wl_call(wl, w->be, bw_back_start, w);
	if (rc == 0)
		rc = scn_wl_call(wl, w->fe, bw_front_open, w);
	if (rc < 0)
		scn_wl_error(wl, "set-up of the vbd (dom %u -> dom %u) failed: %s", w->fe, w->be,
			     strerror(-rc));
	return 0;
}

/* A restarted backend domain: the toolstack puts the backend's nodes back
 * (its home went with the crash) and a new blkback serves the same disk;
 * blkfront reconnects and reissues what was in flight. */
static void bw_back_restart(struct bw *w)
{
	int rc = bw_toolstack(w, BW_TS_BACKEND);

	if (rc == 0)
		rc = scn_wl_call(w->wl, w->be, bw_back_start, w);
	if (rc == 0)
		w->be_alive = true;
	else
		scn_wl_error(w->wl, "backend dom %u: restart failed: %s", w->be, strerror(-rc));
}

static void bw_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct bw *w = wl->priv;

	if (domid != w->fe && domid != w->be)
		return;
	if (ev == SCN_DOM_RESTARTED) {
		if (domid == w->be)   /* a restarted guest: its crash ended the workload */
			bw_back_restart(w);
		return;
	}
	/* The drivers' state lived on that domain's loop, which is gone: it is
	 * not freed (a crash frees nothing in the guest either). */
	if (domid == w->fe) {
		w->fe_alive = false;
		w->bf = NULL;
		w->work = NULL;
	} else {
		w->be_alive = false;
		w->bb = NULL;
		return;   /* a restart may follow: blkfront waits for the backend */
	}
	scn_wl_error(wl, "%s domain %u crashed after %lu I/Os", domid == w->fe ? "front" : "back",
		     domid, (uint64_t)atomic_load(&w->c[BW_C_DONE]));
}

static void bw_stop(struct scn_wl *wl)
{
	struct bw *w = wl->priv;

	if (w->fe_alive)
		scn_wl_call(wl, w->fe, bw_front_close, w);
	if (w->be_alive)
		scn_wl_call(wl, w->be, bw_back_stop, w);
	if (sim_domain_alive(0))
		bw_toolstack(w, BW_TS_REMOVE);
	blk_store_put(w->store);
	free(w);
}

static uint64_t bw_counter(struct scn_wl *wl, unsigned index)
{
	struct bw *w = wl->priv;

	return index < BW_C_COUNT ? atomic_load(&w->c[index]) : 0;
}

static int bw_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (a->u[BW_P_FRONT] == a->u[BW_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	if (a->u[BW_P_SECTOR] != 512 && a->u[BW_P_SECTOR] != 4096) {
		snprintf(err, len, "sector=%lu: 512 or 4096", a->u[BW_P_SECTOR]);
		return -EINVAL;
	}
	if (a->u[BW_P_MIN] > a->u[BW_P_MAX] || a->u[BW_P_SIZE] % a->u[BW_P_SECTOR]) {
		snprintf(err, len, "min= above max=, or size= not a multiple of the sector");
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_blk = {
	.name = "blk",
	.what = "blkfront and blkback over a ram disk, verified random I/O (drivers/blk)",
	.params = bw_params,
	.counters = bw_counters,
	.validate = bw_validate,
	.start = bw_start,
	.domain_event = bw_domain_event,
	.stop = bw_stop,
	.counter = bw_counter,
};
