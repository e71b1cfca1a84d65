/*
 * Private to sim/scenario's block workloads (wl_blk*.c, hostile_blk*.c):
 * what they share. The disk behind a vbd (a ram store with the environment's
 * fault sites), the toolstack's part (device nodes, as libxl writes them),
 * and one blkback per backend domain, reference-counted: blkback serves
 * every vbd under its domain's backend/vbd/, so two workloads with the same
 * backend domain share one instance (and its faults and limits).
 *
 * All of it runs on the harness thread (start, check, stop, domain events,
 * toolstack hooks), which needs no lock: the registry is the run's.
 */
#ifndef SIM_SCENARIO_WL_BLK_H
#define SIM_SCENARIO_WL_BLK_H

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/workload.h"

#define SCN_BLK_DISKS_MAX 8u              /* disks one backend domain serves */
#define SCN_BLK_PGRANTS_DEFAULT 2048u     /* persistent grants kept per vbd */

extern struct sim_fault_site blk_fault_io;   /* blk.disk.io */

/* The disk: ram, with blk.disk.io (EIO) and blk.disk.slow (the I/O takes
 * slow_ns of virtual time), aimed by the vbd's device name and frontend. */
struct scn_blk_disk_opts {
	uint64_t size_bytes;
	uint32_t sector_size;
	uint64_t slow_ns;
	uint32_t devid;
	domid_t fe;
	bool readonly;                /* the store refuses writes (a read-only image) */
};
int scn_blk_disk_new(const struct scn_blk_disk_opts *o, struct blk_store **out);
/* FNV-1a over the whole content (the store is thread-safe). */
/* The harness's own write of the disk (a read-only disk's pattern), under
 * the wrapper: no disk I/O for blk.disk.io or blk.disk.slow to hit. */
int scn_blk_disk_fill(struct blk_store *s, uint64_t off, const void *buf, size_t len);
uint64_t scn_blk_disk_sum(struct blk_store *s);
/* How many flushes and discards the disk answered EOPNOTSUPP (blk.disk.unsupported). */
unsigned scn_blk_disk_unsupported_told(struct blk_store *s);
/* I/Os the disk refused (out of range, misaligned, a write to a read-only
 * store): blkback must bound every request before its disk, so any is a
 * request it trusted (blk_store_info's refused). */
uint64_t scn_blk_disk_refused(struct blk_store *s);
/* The lowest byte offset blkback wrote or discarded (UINT64_MAX: none). */
uint64_t scn_blk_disk_lowest_change(struct blk_store *s);

/* blkfront gave up (BLKFRONT_EV_FAILED) and says why: a clean error, unless
 * it left an I/O it accepted never completed (none may wait for a backend it
 * no longer listens to, its pages granted to that backend all the while):
 * then a failure. */
void scn_blk_front_failed(struct scn_wl *wl, domid_t fe, struct blkfront *bf);

/* The toolstack, as dom0. */
/* CREATE the vbd; BACKEND: re-create the backend's half after a restart of
 * its domain (the guest's half lives on); REMOVE. A hot-unplug is the
 * drivers' whole destroy (toolstack.h). */
enum scn_blk_ts { SCN_BLK_TS_CREATE, SCN_BLK_TS_BACKEND, SCN_BLK_TS_REMOVE };
int scn_blk_toolstack(const struct xenbus_device *dev, enum scn_blk_ts what);

/* The backend domain's blkback, started by the first user with its config
 * (cfg NULL: the defaults), the disk added under `disk`. -EINVAL if an
 * instance runs with another config than a non-NULL cfg. */
int scn_blk_backend_get(struct scn_wl *wl, domid_t be, const struct blkback_config *cfg,
			const char *disk, struct blk_store *store);
/* Drop a reference; the last stops blkback (if its domain lives). */
void scn_blk_backend_put(struct scn_wl *wl, domid_t be);
/* The domain crashed (the instance is gone with it) / is back (a new
 * instance with every disk of the old, started by the first caller). */
void scn_blk_backend_crashed(domid_t be);
int scn_blk_backend_revive(struct scn_wl *wl, domid_t be);
/* The config it runs with; false if none runs there. */
/* Before scn_blk_backend_revive: what the restarted blkback offers (flush,
 * barrier, discard, ring order, queues, indirect segments). */
void scn_blk_backend_reconfig(domid_t be, const struct blkback_config *c);
bool scn_blk_backend_config(domid_t be, struct blkback_config *out);
/* Its persistent_full counter read in place from the harness thread: det
 * mode only (no domain call, which would change the interleaving). */
int scn_blk_backend_persistent_full(domid_t be, uint64_t *out);
/* How many workloads (vbds) it serves. */
unsigned scn_blk_backend_users(domid_t be);
/* Its statistics, read on its domain's thread. */
int scn_blk_backend_stats(struct scn_wl *wl, domid_t be, struct blkback_stats *out);

/* The disk `store` (served by be) becomes size_bytes, online: resized on
 * the backend's thread, then blkback_refresh there. 0 or -errno. */
int scn_blk_backend_resize(struct scn_wl *wl, domid_t be, struct blk_store *store, uint64_t size_bytes);

/* Workloads whose device grants live in domain fe (the resource oracles are
 * exact only for a domain that one workload uses): delta +1 / -1 / 0. */
unsigned scn_blk_front_users(domid_t fe, int delta);

#endif
