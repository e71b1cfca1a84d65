/*
 * The `blk` workload's online resize (`resize ID SIZE`): the toolstack grows
 * the disk, blkback publishes the new "sectors" and writes Connected again
 * (blkif.h's resize), blkfront reads it and says BLKFRONT_EV_RESIZED, and the
 * verified I/O takes the new room in (blkwork_grow). Two oracles:
 *  - no size blkfront reports is more than the disk has (and at a
 *    connection it is the disk's: bw_view_check; a backend restarted after a
 *    resize publishes the new size from the start);
 *  - the workload does not end while blkfront still sees the old size: its
 *    end waits until blkfront catches up, at most BW_RESIZE_NS_MAX of virtual
 *    time on its loop (a delayed watch is allowed, a resize never noticed
 *    is not).
 * Grow only: the shadow model of the disk cannot give back blocks.
 * Neither the front nor the harness thread takes the disk's lock
 * (blk_store_info): blkback holds it across a slow I/O's wait, a scheduling
 * point; they read the size the toolstack set (bw->disk_bytes) instead.
 */
#include <errno.h>
#include <string.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/wl_blk_internal.h"

#define BW_RESIZE_NS_MAX (10ull * 1000000000ull)   /* blkfront's catch-up after the I/O ended */

/* Harness thread: the `resize` action. */
int bw_resize(struct scn_wl *wl, uint64_t size_bytes)
{
	struct bw *w = wl->priv;
	uint64_t now = atomic_load(&w->disk_bytes), sector = scn_wl_u(wl, BW_P_SECTOR);

	if (size_bytes < now) {
		/* Moot beside a nemesis that reordered the file's resizes; else
		 * the engine reports the action failing. */
		scn_wl_note(wl, DOMID_INVALID, "resize vbd %u to %lu bytes: the disk has %lu already, and "
			    "the blk workload grows a disk only", w->dev.devid, size_bytes, now);
		return -EALREADY;
	}
	if (size_bytes % sector || size_bytes > BW_SIZE_BYTES_MAX) {
		scn_wl_error(wl, "resize vbd %u to %lu bytes: not whole %lu-byte sectors, or past %llu bytes",
			     w->dev.devid, size_bytes, sector, BW_SIZE_BYTES_MAX);
		return -EINVAL;
	}
	if (w->readonly) {
		scn_wl_error(wl, "resize vbd %u: a read-only vbd (mode=r, disk=ro) checks the disk's whole content "
			     "against its first size",
			     w->dev.devid);
		return -EINVAL;
	}
	atomic_store(&w->disk_bytes, size_bytes);   /* before blkfront can hear of it */
	int rc = scn_blk_backend_resize(wl, w->be, w->store, size_bytes);
	if (rc < 0)
		scn_wl_error(wl, "resize vbd %u (dom %u) to %lu bytes: %s", w->dev.devid, w->be, size_bytes,
			     strerror(-rc));
	return rc;
}

/* Front thread, at a connection or a resize event: blkfront's size must be
 * no more than the disk's (less: a resize it has yet to read); the workload
 * follows it. */
void bw_resize_follow(struct bw *w)
{
	struct blkfront_info in;
	uint64_t disk = atomic_load(&w->disk_bytes);

	if (!w->bf || blkfront_info(w->bf, &in) < 0 || !in.connected)
		return;
	atomic_store(&w->front_size, in.size_bytes);
	if (in.size_bytes > disk) {
		scn_wl_fail(w->wl, "resize: blkfront (dom %u) says vbd %u has %lu bytes, more than the disk's %lu",
			    w->fe, w->dev.devid, in.size_bytes, disk);
		return;
	}
	int rc = w->work ? blkwork_grow(w->work, in.size_bytes) : 0;
	if (rc < 0)
		scn_wl_fail(w->wl, "resize: vbd %u (dom %u) now %lu bytes, less than the I/O already used: %s",
			    w->dev.devid, w->fe, in.size_bytes, strerror(-rc));
	if (atomic_load(&w->resize_waiting)) {
		atomic_store(&w->resize_waiting, false);
		bw_finished(w);   /* it waited for this */
	}
}

/* Front thread: the end waited BW_RESIZE_NS_MAX and blkfront never caught up. */
static void bw_resize_late(evutil_socket_t fd, short what, void *arg)
{
	struct bw *w = arg;

	(void)fd;
	(void)what;
	if (!atomic_load(&w->resize_waiting))
		return;
	scn_wl_fail(w->wl, "resize: the disk of vbd %u grew to %lu bytes; blkfront (dom %u) still sees %lu, "
		    "%llus after the workload's last I/O", w->dev.devid, (uint64_t)atomic_load(&w->disk_bytes), w->fe,
		    (unsigned long)atomic_load(&w->front_size), BW_RESIZE_NS_MAX / 1000000000ull);
}

/* Front thread, from bw_finished: true if the end must wait for blkfront to
 * see the disk's size (bw_resize_follow ends it, or bw_resize_late). */
bool bw_resize_hold(struct bw *w)
{
	struct timeval tv = {.tv_sec = (time_t)(BW_RESIZE_NS_MAX / 1000000000ull)};
	uint64_t seen = atomic_load(&w->front_size);

	if (!seen || seen == atomic_load(&w->disk_bytes) || !w->bf || blkfront_error(w->bf))
		return false;
	if (!w->resize_ev)
		w->resize_ev = scn_ev_new(sim_domain_event_base(), -1, 0, bw_resize_late, w);
	if (!w->resize_ev || event_add(w->resize_ev, &tv) < 0) {
		scn_wl_error(w->wl, "resize: no timer for the wait on blkfront (dom %u)", w->fe);
		return true;
	}
	atomic_store(&w->resize_waiting, true);
	return true;
}
