/*
 * Workload `blk`: the block driver pair of drivers/blk under the engine. The
 * toolstack (the harness, acting for dom0) creates the vbd's xenstore nodes,
 * the backend domain runs blkback over a ram disk (one blkback per backend
 * domain, shared by every workload that names it: wl_blk_env.c), the
 * frontend domain runs blkfront and, once connected, the verified random-I/O
 * workload (blkwork): every byte read is checked against a shadow model.
 *
 * A data mismatch is a failure of the code under test; I/O errors (unless
 * errors=continue, which counts them and carries on), or a blkfront that
 * declares itself failed and says why, are a clean error the scenario may
 * allow.
 *
 * Resource oracles, exact where the frontend domain is this workload's only
 * (deterministic mode, where nothing runs while they look):
 * - at every connection and every idle point (no I/O in flight), the grants
 *   the domain has active are exactly those blkfront accounts for, the
 *   backend maps exactly the ring pages plus at most the persistent grants it
 *   may keep (none without persistent grants, which blkback serves by copy);
 * - after every slice, the backend maps at most two rings (old and new, while
 *   reconnecting) plus its persistent maximum, and none once the vbd's
 *   backend state is Closed;
 * - a read-only vbd (mode=r, or disk=ro: a read-only disk attached with
 *   mode=w) leaves the disk's content unchanged.
 * The toolstack hooks (unplug, plug, suspend) detach and re-attach the device
 * as a toolstack does; wl_blk_hooks.c.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkwork.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/wl_blk_internal.h"

static const struct scn_param bw_params[BW_P_COUNT + 1] = {
	[BW_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest running blkfront"},
	[BW_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running blkback"},
	[BW_P_DEVID] = {"devid", SCN_P_UINT, "51712", 1, 1u << 28, "virtual device (51712: xvda)"},
	[BW_P_SIZE] = {"size", SCN_P_SIZE, "16M", 4096, BW_SIZE_BYTES_MAX, "disk size"},
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
	[BW_P_PGRANTS] = {"pgrants", SCN_P_UINT, "2048", 1, 8192, "persistent grants blkback keeps per vbd"},
	[BW_P_FGRANTS] = {"fgrants", SCN_P_UINT, "2048", 64, 8000, "blkfront's budget: pages it grants at once"},
	[BW_P_MODE] = {"mode", SCN_P_STRING, "w", 0, 0, "w, or r: a read-only vbd (its disk must not change)"},
	[BW_P_DISK] = {"disk", SCN_P_STRING, "rw", 0, 0,
		       "rw, or ro: the disk itself is read-only (a shared image), whatever mode= says: the vbd must be "
		       "read-only too"},
	[BW_P_ERRORS] = {"errors", SCN_P_STRING, "stop", 0, 0, "stop at an I/O error, or continue (count it)"},
	[BW_P_SLOW] = {"slow", SCN_P_TIME, "1ms", 0, 0, "what one blk.disk.slow costs the disk"},
	[BW_P_DRAIN] = {"drain", SCN_P_UINT, "100", 0, 10000000, "an idle point (resource check) every N I/Os"},
	[BW_P_PLUG_WAIT] = {"plug-wait", SCN_P_TIME, "50ms", 0, 0, "unplugged: wait this long for a plug, then end"},
	[BW_P_SELFTEST] = {"selftest", SCN_P_STRING, "", 0, 0,
			   "after N I/Os: unplug@N, replug@N, suspend@N[:DOMAIN] (test only); reload@N: blkfront "
			   "closed and a new one opened at once (a driver reload; blkback still Connected)"},
	[BW_P_FORDER] = {"front-order", SCN_P_STRING, "", 0, 0,
			 "blkfront's own largest ring order (default: order=, the backend's)"},
	[BW_P_FINDIRECT] = {"front-indirect", SCN_P_STRING, "", 0, 0,
			    "blkfront's own indirect segment maximum (default: indirect=, the backend's)"},
	[BW_P_QUEUES] = {"queues", SCN_P_UINT, "1", 1, BLKBACK_QUEUES_MAX, "queues both ends offer (1: not multi-queue)"},
	[BW_P_FEATURES] = {"features", SCN_P_STRING, "flush,discard", 0, 0,
			   "what blkback offers: flush, barrier, discard (comma-separated) or none; A>B: A, "
			   "then B once its domain restarted or on a suspend's other backend"},
	[BW_P_AT] = {"at", SCN_P_SIZE, "0", 0, 1ull << 34, "where on the disk the I/O region starts (it runs to the end)"},
};

static const char *const bw_counters[BW_C_COUNT + 1] = {
	"done", "connects", "io-errors", "disk-errors", "unplugs", "plugs", "suspends",
	"idle-checks", "canceled", "resizes", NULL,
};

void bw_count_set(struct bw *w, enum bw_counter c, uint64_t v)
{
	atomic_store(&w->c[c], v);
}

void bw_count_add(struct bw *w, enum bw_counter c)
{
	atomic_fetch_add(&w->c[c], 1);
}

/* ---- resource oracles ---- */

/* Exact checks need a deterministic run and a frontend domain of our own. */
bool bw_exact(const struct bw *w)
{
	return sim_mode() == SIM_MODE_DET && scn_blk_front_users(w->fe, 0) == 1;
}

void scn_wl_check_blkfront_pools(struct scn_wl *wl, domid_t domid, const struct blkfront *bf)
{
	struct blkfront_stats st;

	if (!bf)
		return;
	blkfront_stats(bf, &st);
	scn_wl_check_balance(wl, "blkfront", domid, "request slots", st.req_slots, st.req_slots_free,
			     st.req_slots_in_ring);
	scn_wl_check_balance(wl, "blkfront", domid, "persistent pool pages", st.pool_pages, st.pool_pages_free,
			     st.pool_pages_in_ring);
}

/* Front thread, at a connection or an idle point of a live blkfront. */
static void bw_res_check(struct bw *w, const char *where, bool connect)
{
	struct blkfront_stats fs;
	struct blkfront_info in;
	struct gnttab_stats st;

	if (w->bf)
		scn_wl_check_blkfront_pools(w->wl, w->fe, w->bf);
	if (!w->bf || !bw_exact(w) || blkfront_info(w->bf, &in) < 0 || gnttab_stats(w->fe, &st) < 0)
		return;
	blkfront_stats(w->bf, &fs);
	bw_count_add(w, BW_C_IDLE_CHECKS);
	unsigned ring = in.queues * in.ring_pages;
	bool pers = in.persistent && w->fcfg.persistent;
	unsigned pool = fs.grant_pages > ring ? fs.grant_pages - ring : 0;
	unsigned keep = pers ? (pool < w->bcfg.persistent_grants_max ? pool : w->bcfg.persistent_grants_max) : 0;
	if (st.grants_active != fs.grant_pages)
		scn_wl_fail(w->wl, "grants %s: dom %u has %lu grants active, blkfront vbd %u accounts for %u "
			    "(leaked or lost track)", where, w->fe, st.grants_active, w->fcfg.devid, fs.grant_pages);
	else if (!w->fcfg.persistent && fs.grant_pages != ring)
		scn_wl_fail(w->wl, "grants %s: blkfront vbd %u (dom %u) still grants %u pages besides its %u "
			    "ring pages, with no I/O in flight", where, w->fcfg.devid, w->fe, pool, ring);
	else if (st.maps_active > ring + (connect ? 0 : keep))
		scn_wl_fail(w->wl, "grants %s: backend dom %u maps %lu of dom %u's grants; allowed: the %u ring "
			    "pages%s plus %u persistent (of %u pooled, max %u)", where, w->be, st.maps_active,
			    w->fe, ring, connect ? " (just connected)" : "", connect ? 0 : keep, pool,
			    w->bcfg.persistent_grants_max);
}

static unsigned bw_queues(const struct bw *w)
{
	unsigned b = w->bcfg.queues_max ? w->bcfg.queues_max : 1, f = w->fcfg.queues_max ? w->fcfg.queues_max : 1;

	return b < f ? b : f;
}

/* blkfront's flush, barrier and discard are what this backend offers for
 * this disk: at every connection (a backend of other features after a
 * suspend is negotiated afresh) and at the end (a feature goes only when
 * the backend answered EOPNOTSUPP, never after a plain error). */
static void bw_features_check(struct bw *w, const struct blkfront_info *in, const struct blk_store_info *d,
			      const char *where)
{
	bool ro = w->readonly || d->readonly;
	bool flush = w->bcfg.flush && !ro, barrier = w->bcfg.barrier && !ro;
	bool discard = w->bcfg.discard && !ro && d->discard_granularity;

	if (in->flush != flush || in->barrier != barrier || in->discard != discard)
		scn_wl_fail(w->wl, "vbd %u (dom %u) %s: blkfront says flush %d barrier %d discard %d; backend "
			    "dom %u offers flush %d barrier %d discard %d", w->dev.devid, w->fe, where, in->flush,
			    in->barrier, in->discard, w->be, flush, barrier, discard);
}

/* At the end, with no EOPNOTSUPP ever told by the disk: the features are
 * still the backend's, and no flush or discard was refused as unsupported
 * while every backend offered them. */
static void bw_features_end(struct bw *w, const struct blkwork_result *r)
{
	struct blkfront_info in;
	struct blk_store_info d;

	if (!w->bf || !bw_exact(w) || scn_blk_disk_unsupported_told(w->store) || blkfront_info(w->bf, &in) < 0)
		return;
	blk_store_info(w->store, &d);
	if (in.connected)
		bw_features_check(w, &in, &d, "at the end");
	if (r->unsupported && w->offers_all && !w->readonly && !scn_wl_finished(w->wl))
		scn_wl_fail(w->wl, "vbd %u (dom %u): %u flushes or discards failed -EOPNOTSUPP; every backend "
			    "offered them and the disk never refused one", w->dev.devid, w->fe, r->unsupported);
}

static void bw_probe_done(void *arg, int status)
{
	(void)arg;
	(void)status;
}

/* Front thread, at a connection to a read-only vbd: blkfront itself must
 * refuse a write or a discard (-EROFS, or -EOPNOTSUPP for a discard not
 * offered), before any request reaches the backend (which would refuse it
 * too, as an I/O error the caller cannot tell from a failing disk). */
static void bw_readonly_probe(struct bw *w, const struct blkfront_info *in)
{
	int rc = blkfront_submit(w->bf, BLKFRONT_WRITE, 0, w->probe, in->sector_size, bw_probe_done, w);
	int rd = rc == -EROFS ? blkfront_submit(w->bf, BLKFRONT_DISCARD, 0, NULL, in->sector_size, bw_probe_done, w)
			      : -EROFS;

	if (rc != -EROFS || (rd != -EROFS && rd != -EOPNOTSUPP))
		scn_wl_fail(w->wl, "read-only vbd %u (dom %u): blkfront answered a write %d and a discard %d, not "
			    "-EROFS (%d)", w->dev.devid, w->fe, rc, rd, -EROFS);
}

/* Front thread, at a connection: what blkfront was told and agreed on is
 * the disk this workload made and no more than both ends offered (blkif.h:
 * "sectors" in 512-byte units whatever the sector size, ring order and
 * indirect segments the smaller of the two ends' maxima). Not when no
 * backend maps a page of the guest: blkfront finished connecting to a
 * backend domain that died meanwhile (it read Connected just before the
 * crash); the restarted one may offer other features, and the reconnection
 * that follows is judged. */
static void bw_view_check(struct bw *w)
{
	struct blkfront_info in;
	struct blk_store_info d;
	struct gnttab_stats st;
	unsigned order = w->bcfg.ring_page_order_max < w->fcfg.ring_page_order_max ? w->bcfg.ring_page_order_max
										     : w->fcfg.ring_page_order_max;
	unsigned segs = w->bcfg.indirect_segs_max < w->fcfg.indirect_segs_max ? w->bcfg.indirect_segs_max
									      : w->fcfg.indirect_segs_max;

	if (!w->bf || blkfront_info(w->bf, &in) < 0 || (gnttab_stats(w->fe, &st) == 0 && !st.maps_active))
		return;
	blk_store_info(w->store, &d);
	if (in.size_bytes != d.size_bytes || in.sector_size != d.sector_size)
		scn_wl_fail(w->wl, "vbd %u (dom %u): blkfront sees a disk of %lu bytes in %u-byte sectors, the "
			    "disk is %lu bytes in %u-byte sectors", w->dev.devid, w->fe, in.size_bytes,
			    in.sector_size, d.size_bytes, d.sector_size);
	else if (in.readonly != (w->readonly || d.readonly))
		scn_wl_fail(w->wl, "vbd %u (dom %u): blkfront sees it %s, the vbd is %s", w->dev.devid, w->fe,
			    in.readonly ? "read-only" : "writable", in.readonly ? "writable" : "read-only");
	else if (in.ring_pages > 1u << order || in.indirect_segs > segs)
		scn_wl_fail(w->wl, "vbd %u (dom %u): blkfront uses %u ring pages and %u indirect segments; the "
			    "ends offered at most %u and %u", w->dev.devid, w->fe, in.ring_pages,
			    in.indirect_segs, 1u << order, segs);
	else if (in.queues != bw_queues(w))
		scn_wl_fail(w->wl, "vbd %u (dom %u): blkfront uses %u queues; the ends offered %u and %u",
			    w->dev.devid, w->fe, in.queues, w->bcfg.queues_max, w->fcfg.queues_max);
	else
		bw_features_check(w, &in, &d, "at a connection");
	if (in.readonly)
		bw_readonly_probe(w, &in);
}

static void bw_idle(void *arg)
{
	bw_res_check(arg, "at an idle point", false);
}

/* What blkfront can hold at once: two rings (old and new while it
 * reconnects), and per I/O in flight its data pages and the indirect pages
 * of its parts (at most one per data page), plus one pool chunk of slack. */
static uint64_t bw_grants_bound(const struct bw *w, unsigned ring)
{
	uint64_t pages = (scn_wl_u(w->wl, BW_P_MAX) + 4095) / 4096;

	return 2 * ring + scn_wl_u(w->wl, BW_P_QD) * 2 * (pages + 1) + BW_POOL_SLACK_PAGES;
}

/* I/O blkfront accepted, on a device both ends have connected: only their
 * events move it on (a slow disk's delay is far shorter than a stall). */
static bool bw_busy(struct scn_wl *wl, char *what, size_t len)
{
	const struct bw *w = wl->priv;
	struct blkfront_info fi;
	struct blkfront_stats fs;

	if (!w->fe_alive || !w->be_alive || w->plug != BW_PLUGGED || !w->bf ||
	    blkfront_info(w->bf, &fi) < 0 || !fi.connected)
		return false;
	blkfront_stats(w->bf, &fs);
	if (!fs.ios_inflight)
		return false;
	snprintf(what, len, "blkfront (dom %u) had %u I/O(s) in flight on %s to dom %u", w->fe, fs.ios_inflight,
		 w->vdev, w->be);
	return true;
}

/* The toolstack hooks act on domains (harness thread); the rest only reads. */
static bool bw_check_in_place(struct scn_wl *wl)
{
	const struct bw *w = wl->priv;

	return w->plug == BW_PLUGGED && (w->st == BW_ST_NONE || w->st_done);
}

/* Persistent grants on both ends and a guest that never granted more pages
 * than blkback keeps per vbd: every page fits in blkback's table, on every
 * connection (the table starts empty at each), so no segment may ever have
 * been copied for want of room (the table's bookkeeping kept across a
 * disconnect, a wrong limit, eviction). Only with this workload alone on
 * its backend: the count is the instance's. */
static void bw_persist_check(struct bw *w)
{
	uint64_t full = 0;

	if (!w->bcfg.persistent || !w->fcfg.persistent || w->grants_max > w->bcfg.persistent_grants_max ||
	    scn_blk_backend_users(w->be) != 1 || scn_blk_backend_persistent_full(w->be, &full) < 0 || !full)
		return;
	scn_wl_fail(w->wl, "persistent grants: backend dom %u copied %lu segment(s) for want of room in its "
		    "table of %u, yet dom %u never granted more than %lu pages", w->be, full,
		    w->bcfg.persistent_grants_max, w->fe, w->grants_max);
}

/* After every slice: on the harness thread, or in place (bw_check_in_place). */
static void bw_check(struct scn_wl *wl)
{
	struct bw *w = wl->priv;
	struct gnttab_stats st;
	char path[96], v[16];

	bw_hooks_check(w);
	if (!w->fe_alive || !w->be_alive || w->plug != BW_PLUGGED || !bw_exact(w) ||
	    gnttab_stats(w->fe, &st) < 0)
		return;
	unsigned order = (unsigned)scn_wl_u(wl, BW_P_ORDER);   /* features=A>B may change it */
	/* A "ring" here is every queue's: blkfront uses at most the queues it offers. */
	unsigned ring = (1u << (w->bcfg.ring_page_order_max > order ? w->bcfg.ring_page_order_max : order)) *
			(w->fcfg.queues_max ? w->fcfg.queues_max : 1);
	unsigned keep = w->bcfg.persistent ? w->bcfg.persistent_grants_max : 0;
	w->grants_max = st.grants_active > w->grants_max ? st.grants_active : w->grants_max;
	uint64_t held = bw_grants_bound(w, ring);
	if (st.grants_active > held) {
		scn_wl_fail(wl, "grants: dom %u has %lu grants active, more than two sets of rings of %u pages and "
			    "what %lu I/Os of up to %lu bytes in flight can need (%lu)", w->fe, st.grants_active,
			    ring, scn_wl_u(wl, BW_P_QD), scn_wl_u(wl, BW_P_MAX), held);
		return;
	}
	if (st.grants_active > w->fcfg.grant_pages_max + 2 * ring) {   /* a documented limit */
		scn_wl_fail(wl, "grants: dom %u has %lu grants active, more than blkfront's budget of %u "
			    "pages (fgrants) and two sets of rings of %u pages", w->fe, st.grants_active,
			    w->fcfg.grant_pages_max, ring);
		return;
	}
	if (st.maps_active > 2 * ring + keep) {
		scn_wl_fail(wl, "persistent grants: backend dom %u maps %lu of dom %u's grants, more than "
			    "two sets of rings of %u pages and the persistent maximum %u", w->be, st.maps_active,
			    w->fe, ring, keep);
		return;
	}
	if (++w->slices % BW_STATE_CHECK_SLICES)
		return;
	bw_persist_check(w);
	if (!st.maps_active)
		return;
	snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/%u/state", w->be, w->fe,
		 w->dev.devid);
	if (scn_wl_xs_read(wl, path, v, sizeof(v)) == 0 && atoi(v) == XenbusStateClosed)
		scn_wl_fail(wl, "disconnected vbd %u: backend dom %u is Closed but still maps %lu of dom "
			    "%u's grants", w->dev.devid, w->be, st.maps_active, w->fe);
}

/* ---- frontend, on its domain ---- */

void bw_finished(void *arg)
{
	struct bw *w = arg;
	struct blkwork_result r;

	blkwork_result(w->work, &r);
	bw_count_set(w, BW_C_DONE, r.done);
	bw_count_set(w, BW_C_IO_ERRORS, r.errors);
	bw_count_set(w, BW_C_CANCELED, r.canceled);
	bw_count_set(w, BW_C_DISK_ERRORS, atomic_load(&blk_fault_io.injected));
	if (bw_resize_hold(w))
		return;   /* bw_resize_follow comes back here */
	if (r.mismatches) {
		scn_wl_fail(w->wl, "data: %u block(s) read back differ from what the disk may hold: %s",
			    r.mismatches, r.failure);
		return;
	}
	if (scn_blk_disk_refused(w->store)) {
		scn_wl_fail(w->wl, "disk: vbd %u (dom %u -> dom %u): the disk refused %lu I/O(s) out of its range "
			    "or alignment: blkback passed on requests it should have bounded", w->dev.devid, w->fe,
			    w->be, scn_blk_disk_refused(w->store));
		return;
	}
	if (scn_blk_disk_lowest_change(w->store) < w->wcfg.span_start) {
		scn_wl_fail(w->wl, "data: vbd %u (dom %u -> dom %u): the disk was changed at byte %lu, below the "
			    "I/O region at %lu that the frontend alone used", w->dev.devid, w->fe, w->be,
			    scn_blk_disk_lowest_change(w->store), w->wcfg.span_start);
		return;
	}
	if (w->readonly && scn_blk_disk_sum(w->store) != w->sum_start) {
		scn_wl_fail(w->wl, "read-only vbd %u (dom %u -> dom %u): the disk's content changed",
			    w->dev.devid, w->fe, w->be);
		return;
	}
	if (!r.failure[0] && w->bf && blkfront_error(w->bf) == NULL) {
		bw_features_end(w, &r);
		bw_res_check(w, "at the end", false);
	}
	if (w->bf && blkfront_error(w->bf))   /* its reason, not the I/O errors it caused */
		scn_wl_error(w->wl, "blkfront (dom %u) failed: %s", w->fe, blkfront_error(w->bf));
	else if (r.errors && !w->cont)
		scn_wl_error(w->wl, "%u I/O error(s) of %u I/Os: %s", r.errors, r.done, r.failure);
	else if (r.failure[0] && w->cont && r.errors)
		scn_wl_error(w->wl, "stopped after %u I/O error(s) of %u I/Os: %s", r.errors, r.done, r.failure);
	else if (r.failure[0])
		scn_wl_fail(w->wl, "%s", r.failure);
	else
		scn_wl_done(w->wl);
}

static void bw_progress(void *arg, uint32_t done)
{
	bw_count_set(arg, BW_C_DONE, done);
}

/* A failed blkfront tore its rings down before it said so (blkfront.h):
 * it accounts for its persistent pool's pages and nothing else. Ring pages
 * it still holds stay granted until the device is closed and count against
 * its budget. (The grant table may still show a ring page a hung backend
 * maps: the grant ends when the backend unmaps, XSA-396.) */
static void bw_failed_check(struct bw *w, struct blkfront *bf)
{
	struct blkfront_stats fs;

	blkfront_stats(bf, &fs);
	if (fs.grant_pages != fs.pool_pages)
		scn_wl_fail(w->wl, "blkfront (dom %u) failed, its rings torn down, yet accounts %u granted pages, "
			    "its pool being %u", w->fe, fs.grant_pages, fs.pool_pages);
}

static void bw_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct bw *w = arg;

	if (ev == BLKFRONT_EV_CONNECTED) {
		bw_count_add(w, BW_C_CONNECTS);
		bw_view_check(w);
		bw_res_check(w, "at a connection", true);
		int rc = w->work ? blkwork_resume(w->work, bf) : blkwork_start(bf, &w->wcfg, &w->work);
		if (rc < 0)
			scn_wl_error(w->wl, "blkwork on vbd %u (dom %u): %s", w->dev.devid, w->fe, strerror(-rc));
		else
			bw_resize_follow(w);
	} else if (ev == BLKFRONT_EV_RESIZED) {
		bw_count_add(w, BW_C_RESIZES);
		bw_resize_follow(w);
	} else if (ev == BLKFRONT_EV_FAILED) {
		bw_failed_check(w, bf);
		/* The driver gave up and says why (a broken backend, a setup it
		 * could not do); wrong data would be a failure. */
		if (w->plug == BW_PLUGGED)
			scn_blk_front_failed(w->wl, w->fe, bf);
	}
}

int bw_front_open(void *arg)
{
	struct bw *w = arg;

	w->fcfg.base = sim_domain_event_base();
	return blkfront_open(&w->fcfg, &w->bf);
}

/* Close the device (its I/Os in flight complete with -ECANCELED); the
 * workload stays for a later blkfront unless `all`. */
int bw_front_close(void *arg)
{
	struct bw *w = arg;

	if (w->work)
		blkwork_pause(w->work);
	if (w->bf) {
		scn_wl_check_blkfront_pools(w->wl, w->fe, w->bf);
		blkfront_close(w->bf);
	}
	w->bf = NULL;
	return 0;
}

static int bw_front_free(void *arg)
{
	struct bw *w = arg;

	bw_front_close(w);
	blkwork_free(w->work);
	w->work = NULL;
	return 0;
}

/* ---- the workload ---- */

/* front-order= and front-indirect=: a number, or "" for the backend's value. */
static unsigned bw_front_u(const char *s, uint64_t dflt)
{
	return s[0] ? (unsigned)strtoul(s, NULL, 10) : (unsigned)dflt;
}

/* The value of a "name:N" token in a features list, or dflt. */
static unsigned bw_features_u(const char *list, const char *name, unsigned dflt)
{
	size_t n = strlen(name);

	for (const char *p = strstr(list, name); p; p = strstr(p + 1, name))
		if ((p == list || p[-1] == ',') && p[n] == ':')
			return (unsigned)strtoul(p + n + 1, NULL, 10);
	return dflt;
}

/* features=A or A>B: what blkback offers (the disk permitting), before the
 * '>' or, with `later`, after it: flush, barrier, discard, and the ring's
 * geometry (order:N, queues:N, indirect:N; else order=, queues=, indirect=). */
static void bw_features(struct bw *w, bool later)
{
	struct blkback_config *c = &w->bcfg;
	const char *s = scn_wl_s(w->wl, BW_P_FEATURES);
	const char *gt = strchr(s, '>'), *from = gt && later ? gt + 1 : s;
	size_t n = gt && !later ? (size_t)(gt - s) : strlen(from);
	char buf[64];

	n = n < sizeof(buf) - 1 ? n : sizeof(buf) - 1;
	memcpy(buf, from, n);
	buf[n] = '\0';
	c->flush = strstr(buf, "flush") != NULL;
	c->barrier = strstr(buf, "barrier") != NULL;
	c->discard = strstr(buf, "discard") != NULL;
	c->ring_page_order_max = bw_features_u(buf, "order", (unsigned)scn_wl_u(w->wl, BW_P_ORDER));
	c->indirect_segs_max = bw_features_u(buf, "indirect", (unsigned)scn_wl_u(w->wl, BW_P_INDIRECT));
	unsigned queues = bw_features_u(buf, "queues", (unsigned)scn_wl_u(w->wl, BW_P_QUEUES));
	c->queues_max = queues > 1 ? queues : 0;
}

/* A "name:N" token: N at most max. */
static bool bw_features_num_ok(const char *t, const char *name, unsigned max)
{
	size_t n = strlen(name);
	char *end;

	if (strncmp(t, name, n) != 0 || t[n] != ':' || !t[n + 1])
		return false;
	unsigned long v = strtoul(t + n + 1, &end, 10);
	return !*end && v <= max;
}

static int bw_features_validate(const char *s, char *err, size_t len)
{
	char buf[SCN_NAME_MAX * 2];

	if (strlen(s) >= sizeof(buf) || strlen(s) >= 64) {
		snprintf(err, len, "features: too long");
		return -EINVAL;
	}
	memcpy(buf, s, strlen(s) + 1);
	for (char *save = NULL, *t = strtok_r(buf, ",>", &save); t; t = strtok_r(NULL, ",>", &save))
		if (strcmp(t, "flush") && strcmp(t, "barrier") && strcmp(t, "discard") && strcmp(t, "none") &&
		    !bw_features_num_ok(t, "order", BLKBACK_RING_ORDER_MAX) &&
		    !bw_features_num_ok(t, "queues", BLKBACK_QUEUES_MAX) &&
		    !bw_features_num_ok(t, "indirect", BW_FRONT_INDIRECT_MAX)) {
			snprintf(err, len, "features: unknown '%s' (flush, barrier, discard, none, order:N, "
				 "queues:N, indirect:N; A>B)", t);
			return -EINVAL;
		}
	return 0;
}

static void bw_configs(struct bw *w)
{
	struct scn_wl *wl = w->wl;
	unsigned indirect = (unsigned)scn_wl_u(wl, BW_P_INDIRECT);
	bool persistent = scn_wl_u(wl, BW_P_PERSISTENT);
	unsigned order = (unsigned)scn_wl_u(wl, BW_P_ORDER);
	unsigned f_order = bw_front_u(scn_wl_s(wl, BW_P_FORDER), order);
	unsigned f_indirect = bw_front_u(scn_wl_s(wl, BW_P_FINDIRECT), indirect);

	w->mode_ro = strcmp(scn_wl_s(wl, BW_P_MODE), "r") == 0;
	w->disk_ro = strcmp(scn_wl_s(wl, BW_P_DISK), "ro") == 0;
	w->readonly = w->mode_ro || w->disk_ro;
	w->cont = strcmp(scn_wl_s(wl, BW_P_ERRORS), "continue") == 0;
	unsigned queues = (unsigned)scn_wl_u(wl, BW_P_QUEUES);
	w->bcfg = (struct blkback_config){.persistent = persistent,
					  .persistent_grants_max = (unsigned)scn_wl_u(wl, BW_P_PGRANTS)};
	bw_features(w, false);
	w->fcfg = (struct blkfront_config){.devid = (uint32_t)scn_wl_u(wl, BW_P_DEVID), .queues_max = queues,
					   .ring_page_order_max = f_order, .indirect_segs_max = f_indirect,
					   .persistent = persistent, .on_event = bw_event, .arg = w,
					   .grant_pages_max = (unsigned)scn_wl_u(wl, BW_P_FGRANTS)};
	w->wcfg = (struct blkwork_config){
		.seed = scn_wl_seed(wl), .ios = (uint32_t)scn_wl_u(wl, BW_P_IOS),
		.queue_depth = (uint32_t)scn_wl_u(wl, BW_P_QD),
		.size_min = (uint32_t)scn_wl_u(wl, BW_P_MIN), .size_max = (uint32_t)scn_wl_u(wl, BW_P_MAX),
		.read_pct = (uint32_t)scn_wl_u(wl, BW_P_READ), .flush_pct = (uint32_t)scn_wl_u(wl, BW_P_FLUSH),
		.discard_pct = (uint32_t)scn_wl_u(wl, BW_P_DISCARD), .verify_at_end = true,
		.span_start = scn_wl_u(wl, BW_P_AT),
		.initial_tag = w->readonly ? 1 : 0, .continue_on_error = w->cont,
		.drain_every = (uint32_t)scn_wl_u(wl, BW_P_DRAIN), .idle = bw_idle,
		.progress = bw_progress, .finished = bw_finished, .arg = w};
}

void bw_device(struct bw *w, domid_t be)
{
	w->be = be;
	snprintf(w->vdev, sizeof(w->vdev), "%lu", scn_wl_u(w->wl, BW_P_DEVID));
	snprintf(w->disk, sizeof(w->disk), "scn-%s", w->wl->id);
	const char *fe[] = {"virtual-device", w->vdev, "device-type", "disk", NULL};
	const char *bk[] = {"params", w->disk, "type", "ram", "mode", w->mode_ro ? "r" : "w", NULL};
	memcpy(w->fe_keys, fe, sizeof(fe));
	memcpy(w->be_keys, bk, sizeof(bk));
	w->dev = (struct xenbus_device){.type = "vbd", .fe_domid = w->fe, .be_domid = be,
					.devid = (uint32_t)scn_wl_u(w->wl, BW_P_DEVID),
					.fe_keys = w->fe_keys, .be_keys = w->be_keys};
}

/* A read-only disk holds a known pattern (write #1 everywhere), so that
 * reads check something and a change shows. */
static int bw_disk(struct bw *w)
{
	struct scn_wl *wl = w->wl;
	struct scn_blk_disk_opts o = {.size_bytes = scn_wl_u(wl, BW_P_SIZE),
				      .sector_size = (uint32_t)scn_wl_u(wl, BW_P_SECTOR),
				      .slow_ns = scn_wl_u(wl, BW_P_SLOW), .devid = w->dev.devid, .fe = w->fe,
				      .readonly = w->disk_ro};
	uint8_t block[4096];
	int rc = scn_blk_disk_new(&o, &w->store);

	atomic_init(&w->disk_bytes, o.size_bytes);
	for (uint64_t b = 0; rc == 0 && w->readonly && b < o.size_bytes / o.sector_size; b++) {
		blkwork_pattern(w->wcfg.seed, 1, b, o.sector_size, block);
		rc = scn_blk_disk_fill(w->store, b * o.sector_size, block, o.sector_size);
	}
	if (rc == 0 && w->readonly)
		w->sum_start = scn_blk_disk_sum(w->store);
	return rc;
}

static void bw_offers_note(struct bw *w)
{
	w->offers_all &= (w->bcfg.flush || !w->wcfg.flush_pct) && (w->bcfg.discard || !w->wcfg.discard_pct);
}

/* features=A>B: A for the workload's own backend domain, B for any other (a
 * suspend's target): two ends that must negotiate again. */
static void bw_backend_features(struct bw *w, domid_t be)
{
	if (!w->home_set) {
		w->home_be = be;
		w->home_set = true;
		w->offers_all = true;
	}
	bw_features(w, be != w->home_be);
	bw_offers_note(w);
}

/* Toolstack nodes, a blkback on be serving the disk, then blkfront. */
int bw_attach(struct bw *w, domid_t be)
{
	int rc;

	bw_device(w, be);
	bw_backend_features(w, be);
	rc = scn_blk_backend_get(w->wl, be, &w->bcfg, w->disk, w->store);
	if (rc < 0)
		return rc;
	w->be_ref = true;
	w->be_alive = true;
	rc = scn_blk_toolstack(&w->dev, SCN_BLK_TS_CREATE);
	if (rc == 0)
		rc = scn_wl_call(w->wl, w->fe, bw_front_open, w);
	if (rc == 0)
		w->plug = BW_PLUGGED;
	return rc;
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
	w->fe_alive = true;
	scn_blk_front_users(w->fe, 1);
	bw_configs(w);
	bw_device(w, scn_wl_domid(wl, BW_P_BACK));
	rc = bw_selftest_parse(w);
	if (rc < 0)
		return rc;
	if (!sim_domain_alive(0)) {
		scn_wl_error(wl, "needs domain 0 (the toolstack): declare `domain dom0 priv`");
		return -ESRCH;
	}
	rc = bw_disk(w);
	if (rc < 0)
		return rc;
	rc = bw_attach(w, w->be);
	if (rc < 0 && !scn_wl_finished(wl))
		scn_wl_error(wl, "set-up of the vbd (dom %u -> dom %u) failed: %s", w->fe, w->be,
			     strerror(-rc));
	return 0;
}

/* A restarted backend domain: the toolstack puts the backend's nodes back
 * (its home went with the crash) and a new blkback serves the same disk;
 * blkfront reconnects and reissues what was in flight. */
static void bw_back_restart(struct bw *w)
{
	/* Nodes first: the guest must not find its backend's directory gone
	 * while the new blkback starts. */
	int rc = w->plug == BW_PLUGGED ? scn_blk_toolstack(&w->dev, SCN_BLK_TS_BACKEND) : 0;

	if (rc == 0 && strchr(scn_wl_s(w->wl, BW_P_FEATURES), '>')) {   /* it comes back offering B of A>B */
		bw_features(w, true);
		bw_offers_note(w);
		scn_blk_backend_reconfig(w->be, &w->bcfg);
	}
	if (rc == 0)
		rc = scn_blk_backend_revive(w->wl, w->be);
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
		if (domid == w->be)
			bw_back_restart(w);
		return;
	}
	/* The drivers' state lived on that domain's loop, which is gone: it is
	 * not freed (a crash frees nothing in the guest either). */
	if (domid == w->be) {
		w->be_alive = false;
		scn_blk_backend_crashed(domid);
		if (domid != w->fe)
			return;   /* a restart may follow: blkfront waits for the backend */
	}
	w->fe_alive = false;
	w->bf = NULL;
	w->work = NULL;
	scn_wl_error(wl, "%s domain %u %s after %lu I/Os", domid == w->be ? "back" : "front",
		     domid, scn_wl_gone(wl, domid), (uint64_t)atomic_load(&w->c[BW_C_DONE]));
}

static void bw_stop(struct scn_wl *wl)
{
	struct bw *w = wl->priv;

	bw_hooks_stop(w);
	if (w->fe_alive)
		scn_wl_call(wl, w->fe, bw_front_free, w);
	if (w->be_ref)
		scn_blk_backend_put(wl, w->be);
	if (sim_domain_alive(0))
		scn_blk_toolstack(&w->dev, SCN_BLK_TS_REMOVE);
	scn_blk_front_users(w->fe, -1);
	blk_store_put(w->store);
	free(w);
}

static uint64_t bw_counter(struct scn_wl *wl, unsigned index)
{
	struct bw *w = wl->priv;

	return index < BW_C_COUNT ? atomic_load(&w->c[index]) : 0;
}

static bool bw_front_bad(const char *s, unsigned max)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	return s[0] && (*end || v > max);
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
	if (strcmp(a->s[BW_P_MODE], "r") != 0 && strcmp(a->s[BW_P_MODE], "w") != 0) {
		snprintf(err, len, "mode=%s: r or w", a->s[BW_P_MODE]);
		return -EINVAL;
	}
	if (strcmp(a->s[BW_P_DISK], "rw") != 0 && strcmp(a->s[BW_P_DISK], "ro") != 0) {
		snprintf(err, len, "disk=%s: rw or ro", a->s[BW_P_DISK]);
		return -EINVAL;
	}
	if (strcmp(a->s[BW_P_ERRORS], "stop") != 0 && strcmp(a->s[BW_P_ERRORS], "continue") != 0) {
		snprintf(err, len, "errors=%s: stop or continue", a->s[BW_P_ERRORS]);
		return -EINVAL;
	}
	if (bw_features_validate(a->s[BW_P_FEATURES], err, len) < 0)
		return -EINVAL;
	if (a->u[BW_P_AT] % a->u[BW_P_SECTOR] || a->u[BW_P_AT] + a->u[BW_P_MAX] > a->u[BW_P_SIZE] ||
	    (a->u[BW_P_AT] && (strcmp(a->s[BW_P_MODE], "r") == 0 || strcmp(a->s[BW_P_DISK], "ro") == 0))) {
		snprintf(err, len, "at=%lu: a multiple of the sector, at least max= before the end of the disk, "
			 "and 0 with mode=r or disk=ro", a->u[BW_P_AT]);
		return -EINVAL;
	}
	if (bw_front_bad(a->s[BW_P_FORDER], BW_FRONT_ORDER_MAX) ||
	    bw_front_bad(a->s[BW_P_FINDIRECT], BW_FRONT_INDIRECT_MAX)) {
		snprintf(err, len, "front-order=%s front-indirect=%s: 0..%u and 0..%u", a->s[BW_P_FORDER],
			 a->s[BW_P_FINDIRECT], BW_FRONT_ORDER_MAX, BW_FRONT_INDIRECT_MAX);
		return -EINVAL;
	}
	return bw_selftest_validate(a->s[BW_P_SELFTEST], err, len);
}

const struct scn_wl_type scn_wl_blk = {
	.name = "blk",
	.what = "blkfront and blkback over a ram disk, verified random I/O (drivers/blk)",
	.params = bw_params,
	.counters = bw_counters,
	.validate = bw_validate,
	.start = bw_start,
	.domain_event = bw_domain_event,
	.check = bw_check,
	.check_in_place = bw_check_in_place,
	.busy = bw_busy,
	.stop = bw_stop,
	.counter = bw_counter,
	.unplug = bw_unplug,
	.plug = bw_plug,
	.suspend = bw_suspend,
	.resize = bw_resize,
};
