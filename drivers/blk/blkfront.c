/*
 * blkfront: open/close, the frontend's side of the xenbus handshake, and the
 * synchronous calls.
 *
 * Every backend state event leads to blkfront_step(), which acts on (our
 * phase, the backend's state) only: watch events may be coalesced and states
 * skipped. A backend seen leaving Connected (to InitWait after a restart, or
 * Closing/Closed) takes our rings down; the parts in flight go back to the
 * pending list and are reissued on the next connection, which uses fresh
 * rings, ports and refs so nothing of the old connection can be mistaken for
 * the new one. A frontend whose own state is left over from an earlier
 * instance goes Closed first, then Initialising, so that the backend lets go
 * of the old rings before it looks for new ones.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "drivers/blk/blkfront_internal.h"

static void blkfront_step(struct blkfront *bf, XenbusState be);
static void blkfront_backend_away(struct blkfront *bf);

static struct xs_handle *blkfront_xs(struct blkfront *bf)
{
	return xenbus_xs(bf->bf_xb);
}

void blkfront_event(struct blkfront *bf, enum blkfront_event ev)
{
	if (!bf->bf_cfg.on_event)
		return;
	bf->bf_cb_depth++;
	bf->bf_cfg.on_event(bf->bf_cfg.arg, bf, ev);
	bf->bf_cb_depth--;
}

void blkfront_log(struct blkfront *bf, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	if (!bf->bf_log_budget)
		return;
	bf->bf_log_budget--;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	xd_log("blkfront: vbd %" PRIu32 ": %s%s", bf->bf_cfg.devid, line,
	       bf->bf_log_budget ? "" : " (further lines not logged)");
}

/* Our state node: 0, or -errno (logged). A device whose directory is gone
 * (removed under us) has no state to write: not an error. */
static int blkfront_switch(struct blkfront *bf, XenbusState st)
{
	int rc = xenbus_state_switch(blkfront_xs(bf), bf->bf_dir, st);

	if (rc < 0 && rc != -ENOENT) {
		xd_log("blkfront: vbd %" PRIu32 ": switching to %s failed: %s", bf->bf_cfg.devid,
		       xenbus_state_name(st), strerror(-rc));
		return rc;
	}
	return 0;
}

/* Terminal. The teardown runs later from the loop: we may be deep inside a
 * queue's event handler here. */
static void blkfront_die(struct blkfront *bf, const char *fmt, va_list ap)
{
	if (bf->bf_phase == BF_DEAD)
		return;
	vsnprintf(bf->bf_error, sizeof(bf->bf_error), fmt, ap);
	bf->bf_phase = BF_DEAD;
	xd_log("blkfront: vbd %" PRIu32 " (backend dom%" PRIu32 "): failed: %s", bf->bf_cfg.devid,
	       bf->bf_back.domid, bf->bf_error);
	event_active(bf->bf_defer_ev, EV_TIMEOUT, 0);
}

void blkfront_fail(struct blkfront *bf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	blkfront_die(bf, fmt, ap);
	va_end(ap);
}

/* A step of the handshake: switch, or fail the device. Going on after a
 * switch that did not happen would take the next step from a state the
 * backend never saw (Connected -> Initialising with the Closed between
 * refused by a quota): the protocol is broken, as a xenbus_dev_fatal is. */
static bool blkfront_go(struct blkfront *bf, XenbusState st)
{
	int rc = blkfront_switch(bf, st);

	if (rc < 0)
		blkfront_fail(bf, "switching to %s failed: %s", xenbus_state_name(st), strerror(-rc));
	return rc == 0;
}

static void blkfront_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct blkfront *bf = arg;

	(void)fd;
	(void)what;
	if (bf->bf_phase != BF_DEAD)
		return;
	blkfront_rings_teardown(bf);
	blkfront_fail_all(bf, bf->bf_fail_status ? bf->bf_fail_status : -EIO);
	xenbus_dev_fatal(blkfront_xs(bf), bf->bf_dir, bf->bf_error);
	blkfront_event(bf, BLKFRONT_EV_FAILED);
}

/* While the backend is away, I/O waits at most this long. */
static void blkfront_reconnect_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct blkfront *bf = arg;
	struct timeval tv = {.tv_sec = bf->bf_cfg.reconnect_timeout_ms / 1000,
			     .tv_usec = (bf->bf_cfg.reconnect_timeout_ms % 1000) * 1000};

	(void)fd;
	(void)what;
	if (bf->bf_phase == BF_CONNECTED || bf->bf_phase == BF_DEAD)
		return;
	if (bf->bf_away) {   /* no backend to come back to: a bounded wait ends */
		blkfront_fail(bf, "backend dom%" PRIu32 " gone (%s vanished) for %u ms", bf->bf_back.domid,
			      bf->bf_back.path, bf->bf_cfg.reconnect_timeout_ms);
		return;
	}
	if (bf->bf_ios)
		xd_log("blkfront: vbd %" PRIu32 ": backend away for %u ms, failing %u I/Os", bf->bf_cfg.devid,
		       bf->bf_cfg.reconnect_timeout_ms, bf->bf_ios);
	blkfront_fail_all(bf, -ETIMEDOUT);
	evtimer_add(bf->bf_reconnect_timer, &tv);
}

/* ---- the handshake ---- */

/* The backend's offer, read again in the transaction that answers it. The
 * rings were set up from the keys as they were a moment ago, after an
 * InitWait blkfront saw; a driver domain restarted since then recreates its
 * directory, state Initialising and no keys until its own InitWait. So:
 * -EINPROGRESS if the backend is not (or no longer) waiting for us, its next
 * state brings us back; -ESTALE if its offer is not what the rings were made
 * for. Either way nothing is published; a change after these reads makes the
 * commit fail and the reads run again. */
static int blkfront_offer_still(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkfront *bf = arg;
	XenbusState st;
	unsigned nq, order;
	int rc = xenbus_state_read_in(xs, t, bf->bf_back.path, &st);

	if (rc == 0 && st != XenbusStateInitWait && st != XenbusStateInitialised)
		return -EINPROGRESS;
	if (rc == 0)
		rc = blkfront_offer_read(bf, t, &nq, &order);
	if (rc == 0 && (nq != bf->bf_nq || order != bf->bf_order))
		return -ESTALE;
	return rc;
}

static int blkfront_publish_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkfront *bf = arg;
	int rc = blkfront_keys_clean(xs, t, bf);

	if (rc == 0)
		rc = blkfront_rings_publish(xs, t, bf);
	if (rc == 0)
		rc = xenbus_write_fmt(xs, t, bf->bf_dir, "state", "%d", XenbusStateInitialised);
	return rc;
}

/* Its directory is gone: its domain died (or the device went). */
static bool blkfront_backend_gone(struct blkfront *bf)
{
	XenbusState st;
	int rc = xenbus_state_read(blkfront_xs(bf), bf->bf_back.path, &st);

	return rc == -ENOENT || rc == -EACCES;
}

static int blkfront_setup_cb(void *arg)
{
	return blkfront_rings_setup(arg);
}

static void blkfront_teardown_cb(void *arg)
{
	blkfront_rings_teardown(arg);
}

static void blkfront_publish(struct blkfront *bf)
{
	static const struct xenbus_offer_ops ops = {
		blkfront_setup_cb, blkfront_teardown_cb, blkfront_offer_still, blkfront_publish_tx,
	};
	int rc = xenbus_offer_answer(blkfront_xs(bf), &ops, bf);

	if (rc == -EINPROGRESS)   /* still BF_WAIT_BACKEND: its InitWait brings us back */
		return;
	if (rc == -ESTALE) {
		blkfront_fail(bf, "the backend's offer (%s) changed %u times while the rings were set up",
			      bf->bf_back.path, XENBUS_OFFER_TRIES);
		return;
	}
	if (rc < 0 && blkfront_backend_gone(bf)) {
		blkfront_rings_teardown(bf);   /* shared with a domain that died (ESRCH) */
		blkfront_backend_away(bf);
		return;
	}
	if (rc < 0) {
		blkfront_fail(bf, "setting up and publishing the rings failed: %s", strerror(-rc));
		return;
	}
	bf->bf_phase = BF_PUBLISHED;
}

static int blkfront_read_flag(struct blkfront *bf, xs_transaction_t t, const char *key, bool *out)
{
	uint64_t v;
	int rc = xenbus_read_uint_or(blkfront_xs(bf), t, bf->bf_back.path, key, 1, 0, &v);

	*out = rc == 0 && v;
	return rc;
}

/* What the backend says about the disk, bounded. */
static int blkfront_read_disk(struct blkfront *bf, xs_transaction_t t, struct blkfront_info *in)
{
	struct xs_handle *xs = blkfront_xs(bf);
	const char *d = bf->bf_back.path;
	uint64_t sectors, ss, info, gran, ind;
	int rc = xenbus_read_uint(xs, t, d, "sectors", UINT64_MAX >> BLKFRONT_SECTOR_SHIFT, &sectors);

	if (rc == 0)
		rc = xenbus_read_uint_or(xs, t, d, "sector-size", BLKFRONT_PAGE_SIZE, 512, &ss);
	if (rc == 0 && (ss < 512 || (ss & (ss - 1))))
		rc = -EINVAL;
	if (rc == 0)
		rc = xenbus_read_uint_or(xs, t, d, "info", UINT32_MAX, 0, &info);
	if (rc == 0)
		rc = xenbus_read_uint_or(xs, t, d, "feature-max-indirect-segments", UINT32_MAX, 0, &ind);
	rc = rc ? rc : blkfront_read_flag(bf, t, "feature-flush-cache", &in->flush);
	rc = rc ? rc : blkfront_read_flag(bf, t, "feature-barrier", &in->barrier);
	rc = rc ? rc : blkfront_read_flag(bf, t, "feature-discard", &in->discard);
	rc = rc ? rc : blkfront_read_flag(bf, t, "feature-persistent", &in->persistent);
	if (rc == 0)
		rc = xenbus_read_uint_or(xs, t, d, "discard-granularity", UINT32_MAX, ss, &gran);
	if (rc < 0)
		return rc;
	in->size_bytes = sectors << BLKFRONT_SECTOR_SHIFT;
	in->sector_size = (uint32_t)ss;
	in->readonly = info & VDISK_READONLY;
	in->discard_granularity = (uint32_t)gran;
	in->indirect_segs = ind > BLKFRONT_INDIRECT_SEGS_LIMIT ? BLKFRONT_INDIRECT_SEGS_LIMIT : (unsigned)ind;
	return 0;
}

/* Segments per ring request: indirect if both ends want it, and never more
 * than the grant budget can hold next to the rings. */
static void blkfront_size_requests(struct blkfront *bf)
{
	struct blkfront_info *in = &bf->bf_info;
	unsigned segs = in->indirect_segs < bf->bf_cfg.indirect_segs_max ? in->indirect_segs
									  : bf->bf_cfg.indirect_segs_max;
	unsigned room = bf->bf_cfg.grant_pages_max - bf->bf_nq * (1u << bf->bf_order) -
			BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;

	if (segs > room)
		segs = room;
	in->indirect_segs = segs > BLKIF_MAX_SEGMENTS_PER_REQUEST ? segs : 0;
	bf->bf_segs_max = in->indirect_segs ? in->indirect_segs : BLKIF_MAX_SEGMENTS_PER_REQUEST;
}

/* The backend's state and its disk description, read together: it writes
 * them in one transaction, and a backend restarted since we saw Connected
 * has neither (a new one starts from Initialising). */
struct blkfront_disk_read {
	struct blkfront *bf;
	uint64_t state;
	struct blkfront_info in;
	int state_rc, rc;
};

/* A transaction snapshots each node when it first reads it, so a failed read
 * may come from a mixed view: the transaction is committed anyway, and a
 * conflict at commit (EAGAIN) reads everything again. */
static int blkfront_disk_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkfront_disk_read *r = arg;

	r->state_rc = xenbus_read_uint(xs, t, r->bf->bf_back.path, "state", XenbusStateReconfigured, &r->state);
	r->in = (struct blkfront_info){0};
	r->rc = 0;
	if (r->state_rc == 0 && r->state == XenbusStateConnected)
		r->rc = blkfront_read_disk(r->bf, t, &r->in);
	return 0;
}

/* The size the backend publishes now; true if it is not the one we had. */
static bool blkfront_size_refresh(struct blkfront *bf)
{
	uint64_t sectors;
	int rc = xenbus_read_uint(blkfront_xs(bf), XBT_NULL, bf->bf_back.path, "sectors",
				  UINT64_MAX >> BLKFRONT_SECTOR_SHIFT, &sectors);

	if (rc < 0 || sectors << BLKFRONT_SECTOR_SHIFT == bf->bf_info.size_bytes)
		return false;
	bf->bf_info.size_bytes = sectors << BLKFRONT_SECTOR_SHIFT;
	return true;
}

static void blkfront_connect(struct blkfront *bf)
{
	struct blkfront_disk_read r = {.bf = bf};
	int rc = xenbus_transact(blkfront_xs(bf), blkfront_disk_tx, &r);
	struct blkfront_info in = r.in;

	rc = rc ? rc : r.state_rc;
	if (rc == 0 && r.state != XenbusStateConnected) {
		blkfront_step(bf, (XenbusState)r.state);   /* it moved on since */
		return;
	}
	rc = rc ? rc : r.rc;
	/* Its directory going while we read (its domain died): not a bad disk
	 * description but a backend away. */
	if ((rc == -ENOENT || rc == -EACCES) && blkfront_backend_gone(bf)) {
		blkfront_backend_away(bf);
		return;
	}
	if (rc < 0) {
		blkfront_fail(bf, "backend %s is Connected without a valid disk description: %s",
			      bf->bf_back.path, strerror(-rc));
		return;
	}
	if (bf->bf_ever_connected && in.sector_size != bf->bf_info.sector_size) {
		blkfront_fail(bf, "sector size changed from %" PRIu32 " to %" PRIu32 " across a reconnect",
			      bf->bf_info.sector_size, in.sector_size);
		return;
	}
	in.connected = true;
	in.backend_domid = bf->bf_back.domid;
	in.queues = bf->bf_nq;
	in.ring_pages = 1u << bf->bf_order;
	in.ring_slots = bf->bf_queues ? RING_SIZE(&bf->bf_queues[0].q_ring) : 0;
	bf->bf_info = in;
	blkfront_size_requests(bf);
	if (!blkfront_go(bf, XenbusStateConnected))
		return;
	/* The disk may have been resized while our Connected was being written
	 * (a commit retried after EAGAIN, our domain paused): what we announce
	 * is the size published now. A later resize comes as a watch event. */
	(void)blkfront_size_refresh(bf);
	bf->bf_phase = BF_CONNECTED;
	bf->bf_ever_connected = true;
	bf->bf_connect_tries = 0;
	bf->bf_log_budget = BLKFRONT_LOG_BUDGET;
	bf->bf_stats.connects++;
	event_del(bf->bf_reconnect_timer);
	blkfront_event(bf, BLKFRONT_EV_CONNECTED);
	blkfront_kick(bf);
}

static void blkfront_resize_check(struct blkfront *bf)
{
	if (blkfront_size_refresh(bf))
		blkfront_event(bf, BLKFRONT_EV_RESIZED);
}

/* The backend is away: what waits for it waits at most this long. */
static void blkfront_reconnect_arm(struct blkfront *bf)
{
	struct timeval tv = {.tv_sec = bf->bf_cfg.reconnect_timeout_ms / 1000,
			     .tv_usec = (bf->bf_cfg.reconnect_timeout_ms % 1000) * 1000};

	if (!evtimer_pending(bf->bf_reconnect_timer, NULL))
		evtimer_add(bf->bf_reconnect_timer, &tv);
}

/* Leave Connected: rings down, parts in flight back to pending. */
static void blkfront_disconnect(struct blkfront *bf)
{
	bool was = bf->bf_phase == BF_CONNECTED;

	blkfront_rings_teardown(bf);
	bf->bf_info.connected = false;
	blkfront_reconnect_arm(bf);
	if (was)
		blkfront_event(bf, BLKFRONT_EV_DISCONNECTED);
}

/* The backend closed on us: we go Closed and wait for it to come back. */
static void blkfront_backend_closed(struct blkfront *bf)
{
	if (bf->bf_phase == BF_PUBLISHED && ++bf->bf_connect_tries >= BLKFRONT_CONNECT_TRIES_MAX) {
		char why[128] = "";
		xenbus_read_str(blkfront_xs(bf), XBT_NULL, bf->bf_back.path, "error", why, sizeof(why));
		blkfront_fail(bf, "backend refused the connection %u times (%s)", bf->bf_connect_tries,
			      why[0] ? why : "no reason given");
		return;
	}
	blkfront_disconnect(bf);
	if (blkfront_go(bf, XenbusStateClosed))
		bf->bf_phase = BF_BACKEND_CLOSED;
}

/* A backend that starts over under a connected frontend (its domain
 * restarted): this connection is over. Connected may not go back to
 * Initialising: Closed first (what the new backend sees of it is a
 * frontend that closed, not one that is still using old rings), then
 * Initialising to ask for a new connection. */
static void blkfront_new_backend(struct blkfront *bf, XenbusState be)
{
	blkfront_disconnect(bf);
	if (!blkfront_go(bf, XenbusStateClosed))
		return;
	bf->bf_phase = BF_BACKEND_CLOSED;
	blkfront_step(bf, be);
}

static bool blkfront_backend_fresh(XenbusState be)
{
	return be == XenbusStateClosed || be == XenbusStateInitWait || be == XenbusStateInitialising ||
	       be == XenbusStateUnknown;
}

/* Waiting for the backend, we are Initialising; a backend Closed meanwhile
 * saw our node say otherwise (someone else wrote it): it waits for a
 * frontend that starts over, so our node must say Initialising again. A
 * backend still Closed from before we started needs nothing: our node
 * says Initialising already. */
static void blkfront_initialising_again(struct blkfront *bf)
{
	XenbusState own;

	if (xenbus_state_read(blkfront_xs(bf), bf->bf_dir, &own) == 0 && own != XenbusStateInitialising)
		blkfront_go(bf, XenbusStateInitialising);
}

static void blkfront_step(struct blkfront *bf, XenbusState be)
{
	bool closing = be == XenbusStateClosing || be == XenbusStateClosed;

	switch (bf->bf_phase) {
	case BF_RESETTING:
	case BF_BACKEND_CLOSED:
		if (!blkfront_backend_fresh(be) || !blkfront_go(bf, XenbusStateInitialising))
			break;
		bf->bf_phase = BF_WAIT_BACKEND;
		blkfront_step(bf, be);
		break;
	case BF_WAIT_BACKEND:
		if (be == XenbusStateInitWait || be == XenbusStateInitialised)
			blkfront_publish(bf);
		else if (be == XenbusStateClosing)
			/* Closing before we connected (a toolstack's close: online=0,
			 * Closing; or a node of ours someone else wrote): it waits for
			 * us to close, as for a connected frontend. Its Closed brings
			 * us back to Initialising. */
			blkfront_backend_closed(bf);
		else if (closing)
			blkfront_initialising_again(bf);
		break;
	case BF_PUBLISHED:
		if (be == XenbusStateConnected)
			blkfront_connect(bf);
		else if (closing)
			blkfront_backend_closed(bf);
		break;
	case BF_CONNECTED:
		if (be == XenbusStateConnected) {
			blkfront_resize_check(bf);
		} else if (closing) {
			blkfront_backend_closed(bf);
		} else {    /* back at InitWait/Initialising: a new backend */
			blkfront_new_backend(bf, be);
		}
		break;
	case BF_DEAD:
		break;
	}
}

/* The backend's directory vanished but ours is there: its domain died, and
 * a toolstack may bring one back (a restarted driver domain). We let go of
 * the rings and wait, as for a backend that closed; I/O waits at most
 * reconnect_timeout_ms. A removed device takes our directory too. */
static void blkfront_backend_away(struct blkfront *bf)
{
	uint64_t v;
	int rc = xenbus_read_uint(blkfront_xs(bf), XBT_NULL, bf->bf_dir, "backend-id", UINT32_MAX, &v);

	if (rc == -ENOENT || rc == -EACCES) {
		bf->bf_fail_status = -ENODEV;
		blkfront_fail(bf, "device removed: %s/state is gone", bf->bf_back.path);
		return;
	}
	if (!bf->bf_away)
		xd_log("blkfront: vbd %" PRIu32 ": backend dom%" PRIu32 " gone (%s vanished); waiting %u ms for it",
		       bf->bf_cfg.devid, bf->bf_back.domid, bf->bf_back.path, bf->bf_cfg.reconnect_timeout_ms);
	bf->bf_away = true;
	if (bf->bf_phase != BF_CONNECTED && bf->bf_phase != BF_PUBLISHED) {
		blkfront_reconnect_arm(bf);   /* no rings out, but the wait is bounded */
		return;
	}
	blkfront_disconnect(bf);
	if (blkfront_go(bf, XenbusStateClosed))
		bf->bf_phase = BF_BACKEND_CLOSED;
}

static void blkfront_backend_changed(void *arg, const char *path)
{
	struct blkfront *bf = arg;
	XenbusState be;
	int rc = xenbus_state_read(blkfront_xs(bf), bf->bf_back.path, &be);

	(void)path;
	if (bf->bf_phase == BF_DEAD)
		return;
	/* xenstored answers EACCES rather than ENOENT below a parent we may not
	 * read: the backend's directory went with its parents. */
	if (rc == -ENOENT || rc == -EACCES) {
		blkfront_backend_away(bf);
		return;
	}
	bf->bf_away = false;   /* back (or never gone) */
	if (rc < 0)
		blkfront_fail(bf, "backend state %s/state unreadable: %s", bf->bf_back.path, strerror(-rc));
	else
		blkfront_step(bf, be);
}

/* ---- open / close ---- */

static int blkfront_config_check(struct blkfront_config *c)
{
	if (!c->base || c->queues_max > BLKFRONT_QUEUES_MAX || c->ring_page_order_max > BLKFRONT_RING_ORDER_MAX ||
	    c->indirect_segs_max > BLKFRONT_INDIRECT_SEGS_LIMIT || c->grant_pages_max > BLKFRONT_GRANT_PAGES_LIMIT ||
	    c->ios_max > BLKFRONT_IOS_LIMIT)
		return -EINVAL;
	c->queues_max = c->queues_max ? c->queues_max : 1;
	c->grant_pages_max = c->grant_pages_max ? c->grant_pages_max : BLKFRONT_GRANT_PAGES_DEFAULT;
	c->ios_max = c->ios_max ? c->ios_max : BLKFRONT_IOS_DEFAULT;
	c->reconnect_timeout_ms = c->reconnect_timeout_ms ? c->reconnect_timeout_ms : BLKFRONT_RECONNECT_MS_DEFAULT;
	c->sync_timeout_ms = c->sync_timeout_ms ? c->sync_timeout_ms : BLKFRONT_SYNC_MS_DEFAULT;
	/* Room for the rings and one largest request. */
	unsigned need = c->queues_max * (1u << c->ring_page_order_max) + BLKIF_MAX_SEGMENTS_PER_REQUEST;
	return c->grant_pages_max >= need ? 0 : -EINVAL;
}

/* Our own state decides where we start: a left-over one is closed first.
 * A state we cannot write fails the open. */
static int blkfront_start_state(struct blkfront *bf)
{
	XenbusState me = XenbusStateUnknown;

	xenbus_state_read(blkfront_xs(bf), bf->bf_dir, &me);
	if (me == XenbusStateUnknown || me == XenbusStateInitialising || me == XenbusStateClosed) {
		bf->bf_phase = BF_WAIT_BACKEND;
		return blkfront_switch(bf, XenbusStateInitialising);
	}
	bf->bf_phase = BF_RESETTING;
	return blkfront_switch(bf, XenbusStateClosed);
}

static int blkfront_setup(struct blkfront *bf)
{
	struct event_base *base = bf->bf_cfg.base;
	char path[XENBUS_PATH_MAX];
	int rc = xenbus_open(base, &bf->bf_xb);

	if (rc < 0)
		return rc;
	rc = xenbus_frontend_lookup(blkfront_xs(bf), "vbd", bf->bf_cfg.devid, &bf->bf_back);
	if (rc < 0)
		return rc;
	bf->bf_gs = xengntshr_open(NULL, 0);
	if (!bf->bf_gs)
		return errno ? -errno : -EIO;
	bf->bf_defer_ev = event_new(base, -1, 0, blkfront_deferred, bf);
	bf->bf_reconnect_timer = evtimer_new(base, blkfront_reconnect_timeout, bf);
	bf->bf_done_ev = event_new(base, -1, 0, blkfront_dispatch_cb, bf);
	if (!bf->bf_defer_ev || !bf->bf_reconnect_timer || !bf->bf_done_ev)
		return -ENOMEM;
	rc = blkfront_start_state(bf);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/state", bf->bf_back.path);
	return xenbus_watch(bf->bf_xb, path, blkfront_backend_changed, bf, &bf->bf_watch);
}

static void blkfront_free(struct blkfront *bf)
{
	if (bf->bf_xb)
		xenbus_unwatch(bf->bf_xb, bf->bf_watch);
	blkfront_pool_free(bf);
	blkfront_io_free_all(bf);
	if (bf->bf_gs)
		xengntshr_close(bf->bf_gs);
	if (bf->bf_defer_ev)
		event_free(bf->bf_defer_ev);
	if (bf->bf_reconnect_timer)
		event_free(bf->bf_reconnect_timer);
	if (bf->bf_done_ev)
		event_free(bf->bf_done_ev);
	xenbus_close(bf->bf_xb);
	free(bf);
}

int blkfront_open(const struct blkfront_config *cfg, struct blkfront **out)
{
	struct blkfront *bf = calloc(1, sizeof(*bf));
	int rc = -ENOMEM;

	if (!bf)
		return rc;
	bf->bf_cfg = *cfg;
	rc = blkfront_config_check(&bf->bf_cfg);
	snprintf(bf->bf_dir, sizeof(bf->bf_dir), "device/vbd/%" PRIu32, cfg->devid);
	if (rc == 0)
		rc = blkfront_setup(bf);
	if (rc < 0) {
		if (rc != -ENOENT)
			xd_log("blkfront: opening vbd %" PRIu32 " failed: %s", cfg->devid, strerror(-rc));
		blkfront_free(bf);
		return rc;
	}
	*out = bf;
	return 0;
}

void blkfront_close(struct blkfront *bf)
{
	if (!bf)
		return;
	if (bf->bf_cb_depth)
		xd_log("blkfront: vbd %" PRIu32 ": closed from inside its own callback", bf->bf_cfg.devid);
	bf->bf_closing = true;   /* completions below may try to submit more */
	blkfront_rings_teardown(bf);
	blkfront_fail_all(bf, -ECANCELED);
	if (bf->bf_phase != BF_DEAD)
		blkfront_switch(bf, XenbusStateClosing);
	blkfront_switch(bf, XenbusStateClosed);
	blkfront_free(bf);
}

/* ---- queries ---- */

int blkfront_info(const struct blkfront *bf, struct blkfront_info *out)
{
	*out = bf->bf_info;
	return bf->bf_phase == BF_DEAD ? -EIO : bf->bf_ever_connected ? 0 : -ENOTCONN;
}

/* The lists are walked, not their counters trusted (bounded: a list that
 * loops counts one past its pool). */
static void blkfront_stats_slots(const struct blkfront *bf, struct blkfront_stats *out)
{
	for (unsigned i = 0; i < bf->bf_nq && bf->bf_queues; i++) {
		const struct blkfront_queue *q = &bf->bf_queues[i];
		if (!q->q_shadow || !q->q_ring.sring)
			continue;
		unsigned size = RING_SIZE(&q->q_ring), n = 0;
		out->req_slots += size;
		for (uint32_t s = q->q_free; s != UINT32_MAX && s < size && n <= size; s = q->q_shadow[s].sh_next_free)
			n++;
		out->req_slots_free += n;
		out->req_slots_in_ring += q->q_ring.req_prod_pvt - q->q_ring.rsp_cons;
		for (unsigned s = 0; s < size; s++)
			if (q->q_shadow[s].sh_id && q->q_shadow[s].sh_pool)
				out->pool_pages_in_ring += q->q_shadow[s].sh_npages;
	}
	out->pool_pages = bf->bf_pool_pages;
	for (const struct blkfront_page *pg = bf->bf_free_pages; pg && out->pool_pages_free <= bf->bf_pool_pages;
	     pg = pg->pg_next)
		out->pool_pages_free++;
}

void blkfront_stats(const struct blkfront *bf, struct blkfront_stats *out)
{
	*out = bf->bf_stats;
	out->events = bf->bf_ev_closed.events;
	out->events_spurious = bf->bf_ev_closed.spurious;
	for (unsigned i = 0; i < bf->bf_nq && bf->bf_queues; i++) {
		struct xenbus_evtchn_stats s = {0};
		if (bf->bf_queues[i].q_evtchn)
			xenbus_evtchn_stats(bf->bf_queues[i].q_evtchn, &s);
		out->events += s.events;
		out->events_spurious += s.spurious;
	}
	out->grant_pages = bf->bf_grant_pages;
	out->ios_inflight = bf->bf_ios;
	blkfront_stats_slots(bf, out);
}

const char *blkfront_error(const struct blkfront *bf)
{
	return bf->bf_phase == BF_DEAD ? bf->bf_error : NULL;
}

/* ---- synchronous use: run the loop until a flag is set ---- */

struct blkfront_waiter {
	bool done, expired;
	int status;
};

static void blkfront_wait_expired(evutil_socket_t fd, short what, void *arg)
{
	struct blkfront_waiter *w = arg;

	(void)fd;
	(void)what;
	w->expired = true;
}

static int blkfront_run_until(struct blkfront *bf, struct blkfront_waiter *w, unsigned timeout_ms,
			      bool (*cond)(struct blkfront *, struct blkfront_waiter *))
{
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	struct event *t;
	int rc = 0;

	/* Inside a callback of ours the loop cannot run again; inside any other
	 * callback of this loop, event_base_loop() refuses (below). */
	if (bf->bf_cb_depth)
		return -EDEADLK;
	t = evtimer_new(bf->bf_cfg.base, blkfront_wait_expired, w);
	if (!t || evtimer_add(t, &tv) < 0) {
		if (t)
			event_free(t);
		return -ENOMEM;
	}
	while (!cond(bf, w) && !w->expired)
		if (event_base_loop(bf->bf_cfg.base, EVLOOP_ONCE) < 0) {
			rc = -EDEADLK;   /* the loop is already running: we are inside it */
			break;
		}
	event_free(t);
	return rc ? rc : cond(bf, w) ? 0 : -ETIMEDOUT;
}

static bool blkfront_is_up(struct blkfront *bf, struct blkfront_waiter *w)
{
	(void)w;
	return bf->bf_phase == BF_CONNECTED || bf->bf_phase == BF_DEAD;
}

int blkfront_wait_connected(struct blkfront *bf, unsigned timeout_ms)
{
	struct blkfront_waiter w = {0};
	int rc = blkfront_run_until(bf, &w, timeout_ms, blkfront_is_up);

	return rc ? rc : bf->bf_phase == BF_DEAD ? -EIO : 0;
}

static void blkfront_sync_done(void *arg, int status)
{
	struct blkfront_waiter *w = arg;

	w->done = true;
	w->status = status;
}

static bool blkfront_io_done(struct blkfront *bf, struct blkfront_waiter *w)
{
	(void)bf;
	return w->done;
}

int blkfront_io(struct blkfront *bf, enum blkfront_op op, uint64_t offset, void *buf, size_t len)
{
	struct blkfront_waiter w = {0};
	int rc;

	if (bf->bf_cb_depth)
		return -EDEADLK;
	rc = blkfront_submit(bf, op, offset, buf, len, blkfront_sync_done, &w);
	if (rc < 0)
		return rc;
	rc = blkfront_run_until(bf, &w, bf->bf_cfg.sync_timeout_ms, blkfront_io_done);
	if (rc == 0)
		return w.status;
	/* Still out there: forget it, so its completion touches nothing of ours. */
	blkfront_io_forget(bf, blkfront_sync_done, &w);
	return rc;
}
