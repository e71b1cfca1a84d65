/*
 * A backend's device lifecycle (io/blkif.h and io/netif.h, "STATE
 * DIAGRAMS"), shared by blkback and netback:
 *
 *   found -> publish features, InitWait
 *   frontend shows its rings (Initialised, or Connected for netif) -> connect
 *   frontend Closing/Closed/gone, online=0, violation -> disconnect, Closing/Closed
 *   frontend back at Initialising -> Closed if not already, publish, InitWait
 *
 * Watch events may be coalesced and states skipped, so every event leads to
 * xenbus_backend_sync(), which acts on (phase, frontend state, online) only.
 * A connection never restarts from Connected or Closing: the state goes
 * Closed first, the one state a new InitWait may follow (XenbusState's
 * reconnect path), so a frontend and the toolstack always see where it went.
 * A connection is made on one consistent view of the frontend (its state and
 * a digest of its keys, read in one transaction, and read again in the one
 * that announces Connected): a frontend that restarted meanwhile may have
 * handed its grant refs out again for other pages.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/xenbus/xenbus_internal.h"

static void xenbus_backend_log(struct xenbus_backend_dev *bd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void xenbus_backend_log(struct xenbus_backend_dev *bd, const char *fmt, ...)
{
	char line[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	bd->bd_ops->log(bd->bd_arg, line);
}

static struct xs_handle *xenbus_backend_xs(struct xenbus_backend_dev *bd)
{
	return xenbus_xs(bd->bd_xb);
}

static void xenbus_backend_switch(struct xenbus_backend_dev *bd, XenbusState st)
{
	int rc = xenbus_state_switch(xenbus_backend_xs(bd), bd->bd_dir, st);

	if (rc < 0 && rc != -ENOENT)
		xenbus_backend_log(bd, "switching to %s failed: %s", xenbus_state_name(st), strerror(-rc));
}

/* Why this connection ended, for the frontend and the toolstack to read; the
 * state goes Closing with it. */
static void xenbus_backend_error(struct xenbus_backend_dev *bd, const char *what)
{
	int rc = xenbus_dev_fatal(xenbus_backend_xs(bd), bd->bd_dir, what);

	if (rc < 0 && rc != -ENOENT)
		xenbus_backend_log(bd, "writing the error failed: %s", strerror(-rc));
}

static void xenbus_backend_disconnect(struct xenbus_backend_dev *bd)
{
	if (bd->bd_close_timer)
		event_del(bd->bd_close_timer);
	bd->bd_ops->disconnect(bd->bd_arg);
}

static void xenbus_backend_close(struct xenbus_backend_dev *bd, XenbusState st)
{
	unsigned ms = bd->bd_ops->close_timeout_ms;
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};

	xenbus_backend_disconnect(bd);
	bd->bd_phase = st == XenbusStateClosed ? XENBUS_BE_CLOSED : XENBUS_BE_CLOSING;
	xenbus_backend_switch(bd, st);
	if (st == XenbusStateClosing)
		evtimer_add(bd->bd_close_timer, &tv);
}

/* Inside the publish transaction: InitWait only while the device is online.
 * The toolstack may close it (online=0, state Closing, as libxl) between our
 * read of online and this write: the commit then conflicts, and the rerun
 * finds it closed. */
static int xenbus_backend_online_tx(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
	uint64_t online = 0;
	int rc = xenbus_read_uint(xs, t, dir, "online", 1, &online);

	return rc == 0 && online != 1 ? -ESHUTDOWN : rc;
}

int xenbus_backend_initwait_tx(struct xs_handle *xs, xs_transaction_t t, const char *dir)
{
	int rc = xenbus_backend_online_tx(xs, t, dir);

	return rc < 0 ? rc : xenbus_write_fmt(xs, t, dir, "state", "%d", XenbusStateInitWait);
}

static void xenbus_backend_publish(struct xenbus_backend_dev *bd)
{
	int rc = bd->bd_ops->publish(bd->bd_arg);

	if (rc == -ESHUTDOWN) {   /* closed by the toolstack meanwhile */
		xenbus_backend_close(bd, XenbusStateClosed);
		return;
	}
	if (rc < 0) {
		xenbus_backend_log(bd, "publishing features failed: %s", strerror(-rc));
		return;
	}
	bd->bd_phase = XENBUS_BE_INITWAIT;
	bd->bd_fatal_pending = false;
}

/* The frontend starts over (Initialising) while we were connected or
 * closing: Closed, then InitWait for the new connection. */
static void xenbus_backend_restart(struct xenbus_backend_dev *bd)
{
	xenbus_backend_close(bd, XenbusStateClosed);
	xenbus_backend_publish(bd);
}

/* ---- a consistent view of the frontend ---- */

#define XENBUS_VIEW_DEPTH_MAX 2u      /* the device directory and its queue-N/ */
#define XENBUS_VIEW_KEYS_MAX 256u     /* a hostile frontend's directory costs no more */

struct xenbus_view {
	struct xenbus_backend_dev *bd;
	uint64_t state;
	uint64_t digest;                  /* FNV-1a over "name=value" of every key */
	uint64_t keys_digest;             /* the same but the device's own state */
	unsigned keys;
	const uint64_t *expect;           /* announce: the digest connect() saw */
};

static uint64_t xenbus_fnv(uint64_t h, const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ ((const uint8_t *)p)[i]) * 0x100000001b3ull;
	return h;
}

static int xenbus_view_dir(struct xs_handle *xs, xs_transaction_t t, const char *dir, unsigned depth,
			   struct xenbus_view *v)
{
	unsigned n = 0;
	char **names = xs_directory(xs, t, dir, &n);
	int rc = names ? 0 : errno ? -errno : -EIO;

	for (unsigned i = 0; rc == 0 && i < n && v->keys < XENBUS_VIEW_KEYS_MAX; i++, v->keys++) {
		char path[XENBUS_PATH_MAX];
		unsigned len = 0;
		rc = xenbus_join(path, sizeof(path), dir, names[i]);
		char *val = rc ? NULL : xs_read(xs, t, path, &len);
		uint64_t h = xenbus_fnv(0, path, strlen(path) + 1);
		if (val)
			h = xenbus_fnv(h ^ 0x9e3779b97f4a7c15ull, val, len);
		free(val);
		v->digest = xenbus_fnv(v->digest, &h, sizeof(h));
		if (depth > 1 || strcmp(names[i], "state") != 0)
			v->keys_digest = xenbus_fnv(v->keys_digest, &h, sizeof(h));
		if (rc == 0 && depth < XENBUS_VIEW_DEPTH_MAX)
			rc = xenbus_view_dir(xs, t, path, depth + 1, v);
		if (rc == -ENOENT)
			rc = 0;   /* a plain key has no children */
	}
	free(names);
	return rc;
}

static int xenbus_view_read(struct xs_handle *xs, xs_transaction_t t, struct xenbus_view *v)
{
	v->digest = v->keys_digest = 0xcbf29ce484222325ull;
	v->keys = 0;
	int rc = xenbus_read_uint(xs, t, v->bd->bd_fe_dir, "state", XenbusStateReconfigured, &v->state);

	return rc ? rc : xenbus_view_dir(xs, t, v->bd->bd_fe_dir, 1, v);
}

static int xenbus_view_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	return xenbus_view_read(xs, t, arg);
}

static bool xenbus_view_ready(const struct xenbus_backend_dev *bd, const struct xenbus_view *v)
{
	return v->state < 32 && (bd->bd_ops->ready_states & (1u << v->state));
}

/* The view again, and Connected with it only if nothing changed. */
static int xenbus_announce_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xenbus_view *v = arg;
	int rc = xenbus_view_read(xs, t, v);

	if (rc == 0 && (v->digest != *v->expect || !xenbus_view_ready(v->bd, v)))
		rc = -ESTALE;
	if (rc == 0)   /* the toolstack may have closed the device meanwhile */
		rc = xenbus_backend_online_tx(xs, t, v->bd->bd_dir);
	return rc ? rc : v->bd->bd_ops->announce(xs, t, v->bd->bd_arg);
}

/* The frontend moved on under us: not its fault, no error; the event its
 * change raised brings us back here. */
static void xenbus_backend_stale(struct xenbus_backend_dev *bd)
{
	bd->bd_ops->disconnect(bd->bd_arg);
	xenbus_backend_kick(bd);
}

static void xenbus_backend_connect(struct xenbus_backend_dev *bd)
{
	struct xs_handle *xs = xenbus_backend_xs(bd);
	struct xenbus_view seen = {.bd = bd}, now = {.bd = bd};
	char why[192] = "", what[256];
	int rc = xenbus_transact(xs, xenbus_view_tx, &seen);

	if (rc < 0 || !xenbus_view_ready(bd, &seen))
		return;   /* unreadable or not ready after all: the next event tells */
	rc = bd->bd_ops->connect(bd->bd_arg, why, sizeof(why));
	now.expect = &seen.digest;
	if (rc == 0)
		rc = xenbus_transact(xs, xenbus_announce_tx, &now);
	else if (xenbus_transact(xs, xenbus_view_tx, &now) == 0 && now.digest != seen.digest)
		rc = -ESTALE;   /* a failure of keys that are gone: not the frontend's fault */
	if (rc == -ESTALE) {
		xenbus_backend_stale(bd);
		return;
	}
	if (rc == -ESHUTDOWN) {   /* closed by the toolstack: never Closing -> Connected */
		xenbus_backend_close(bd, XenbusStateClosed);
		return;
	}
	if (rc == 0) {
		bd->bd_phase = XENBUS_BE_CONNECTED;
		bd->bd_fe_keys = now.keys_digest;
		bd->bd_fe_served = true;
		if (bd->bd_ops->up)
			bd->bd_ops->up(bd->bd_arg);
		return;
	}
	snprintf(what, sizeof(what), "connecting to the frontend's rings failed: %s", why[0] ? why : strerror(-rc));
	xenbus_backend_log(bd, "%s", what);
	xenbus_backend_error(bd, what);
	xenbus_backend_close(bd, XenbusStateClosing);
}

/* Connected, and the frontend shows its rings: are they the ones we
 * connected to? A frontend that went Closed, Initialising and Connected again
 * (new rings, new grant refs) between two of our looks shows the same state;
 * only its keys tell. Unreadable: no news. */
static bool xenbus_backend_fe_moved(struct xenbus_backend_dev *bd)
{
	struct xenbus_view v = {.bd = bd};

	if (xenbus_transact(xenbus_backend_xs(bd), xenbus_view_tx, &v) < 0)
		return false;
	return xenbus_view_ready(bd, &v) && (!bd->bd_fe_served || v.keys_digest != bd->bd_fe_keys);
}

/* The frontend reconnected unseen: it took our Connected for its new rings,
 * so serve those, staying Connected (a Closed now would end a connection it
 * did nothing wrong on). The state node is not touched until the announce
 * writes Connected again; a failure there closes as any failed connect. If
 * the connect cannot be made yet (the frontend is starting over, or moved
 * once more), we stay Connected, as our node says, with no rings served:
 * the event its change raised decides, as for any Connected backend
 * (restart, close, or connect anew). */
static void xenbus_backend_reconnect(struct xenbus_backend_dev *bd, XenbusState fe)
{
	xenbus_backend_log(bd, "the frontend's keys changed while it stayed %s (it reconnected "
			   "between two looks): connecting to its new rings", xenbus_state_name(fe));
	xenbus_backend_disconnect(bd);
	bd->bd_fe_served = false;
	xenbus_backend_connect(bd);
}

/* What to do for (our phase, frontend state, online). */
static void xenbus_backend_step(struct xenbus_backend_dev *bd, XenbusState fe, bool online)
{
	bool fe_gone = fe == XenbusStateClosed || fe == XenbusStateUnknown;
	bool fe_ready = fe < 32 && (bd->bd_ops->ready_states & (1u << fe));
	bool fe_restart = online && fe == XenbusStateInitialising;

	switch (bd->bd_phase) {
	case XENBUS_BE_NEW:
		if (!online) {   /* closed by the toolstack before we looked: never InitWait */
			xenbus_backend_close(bd, XenbusStateClosed);
			break;
		}
		xenbus_backend_publish(bd);
		if (bd->bd_phase == XENBUS_BE_INITWAIT)
			xenbus_backend_step(bd, fe, online);
		break;
	case XENBUS_BE_INITWAIT:
		if (!online || fe == XenbusStateClosing)
			xenbus_backend_close(bd, XenbusStateClosing);
		else if (fe_ready)
			xenbus_backend_connect(bd);
		break;
	case XENBUS_BE_CONNECTED:
		if (fe_restart)
			xenbus_backend_restart(bd);
		else if (online && fe_ready && xenbus_backend_fe_moved(bd))
			xenbus_backend_reconnect(bd, fe);
		else if (fe_gone)
			xenbus_backend_close(bd, XenbusStateClosed);
		else if (!online || fe == XenbusStateClosing)
			xenbus_backend_close(bd, XenbusStateClosing);
		break;
	case XENBUS_BE_CLOSING:
		if (fe_gone)
			xenbus_backend_close(bd, XenbusStateClosed);
		else if (fe_restart)
			xenbus_backend_restart(bd);
		break;
	case XENBUS_BE_CLOSED:
		if (fe_restart)
			xenbus_backend_publish(bd);
		break;
	case XENBUS_BE_REFUSED:
		break;
	}
}

void xenbus_backend_sync(struct xenbus_backend_dev *bd)
{
	struct xs_handle *xs = xenbus_backend_xs(bd);
	XenbusState fe = XenbusStateUnknown;
	uint64_t online = 0;
	int rc = xenbus_read_uint(xs, XBT_NULL, bd->bd_dir, "online", 1, &online);

	if (rc == -ENOENT) {   /* the toolstack removed the device */
		bd->bd_gone = true;
		event_active(bd->bd_defer_ev, EV_TIMEOUT, 0);
		return;
	}
	if (bd->bd_phase == XENBUS_BE_REFUSED || bd->bd_gone)
		return;
	if (xenbus_state_read(xs, bd->bd_fe_dir, &fe) < 0)
		fe = XenbusStateUnknown;
	if (bd->bd_fatal_pending) {
		bd->bd_fatal_pending = false;
		xenbus_backend_close(bd, fe == XenbusStateClosed ? XenbusStateClosed : XenbusStateClosing);
		return;
	}
	xenbus_backend_step(bd, fe, online == 1);
}

/* Deferred work: teardown after a violation, removal, or a resync. */
static void xenbus_backend_deferred(evutil_socket_t fd, short what, void *arg)
{
	struct xenbus_backend_dev *bd = arg;

	(void)fd;
	(void)what;
	if (bd->bd_gone)
		bd->bd_ops->gone(bd->bd_arg);   /* frees bd */
	else
		xenbus_backend_sync(bd);
}

static void xenbus_backend_close_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct xenbus_backend_dev *bd = arg;

	(void)fd;
	(void)what;
	xenbus_backend_log(bd, "frontend did not close within %u ms; closing anyway",
			   bd->bd_ops->close_timeout_ms);
	xenbus_backend_close(bd, XenbusStateClosed);
}

static void xenbus_backend_fe_changed(void *arg, const char *path)
{
	(void)path;
	xenbus_backend_sync(arg);
}

void xenbus_backend_kick(struct xenbus_backend_dev *bd)
{
	event_active(bd->bd_defer_ev, EV_TIMEOUT, 0);
}

bool xenbus_backend_fatal(struct xenbus_backend_dev *bd, const char *msg)
{
	if (bd->bd_fatal_pending)
		return false;
	bd->bd_fatal_pending = true;
	xenbus_backend_error(bd, msg);
	/* Not from inside the ring callback that found it: later, from the loop. */
	event_active(bd->bd_defer_ev, EV_TIMEOUT, 0);
	return true;
}

void xenbus_backend_refuse(struct xenbus_backend_dev *bd)
{
	bd->bd_phase = XENBUS_BE_REFUSED;
}

void xenbus_backend_stop(struct xenbus_backend_dev *bd)
{
	bool was = bd->bd_phase != XENBUS_BE_NEW && bd->bd_phase != XENBUS_BE_REFUSED;

	xenbus_backend_disconnect(bd);
	if (was)
		xenbus_backend_switch(bd, XenbusStateClosed);
}

/* Read what the toolstack wrote: frontend path and id must agree. */
static int xenbus_backend_read_frontend(struct xenbus_backend_dev *bd, const char *type)
{
	struct xs_handle *xs = xenbus_backend_xs(bd);
	char want[XENBUS_PATH_MAX];
	uint64_t fe;
	int rc = xenbus_read_uint(xs, XBT_NULL, bd->bd_dir, "frontend-id", DOMID_FIRST_RESERVED - 1, &fe);

	if (rc == 0)
		rc = xenbus_read_str(xs, XBT_NULL, bd->bd_dir, "frontend", bd->bd_fe_dir, sizeof(bd->bd_fe_dir));
	if (rc < 0)
		return rc == -E2BIG ? -EINVAL : rc;
	snprintf(want, sizeof(want), "/local/domain/%" PRIu32 "/device/%s/%" PRIu32, bd->bd_fe_domid, type,
		 bd->bd_devid);
	return fe == bd->bd_fe_domid && strcmp(want, bd->bd_fe_dir) == 0 ? 0 : -EINVAL;
}

int xenbus_backend_init(struct xenbus_backend_dev *bd, struct xenbus *xb, const char *type,
			uint32_t fe_domid, uint32_t devid, const struct xenbus_backend_ops *ops, void *arg)
{
	struct event_base *base = xenbus_base(xb);
	char path[XENBUS_PATH_MAX];
	int rc;

	*bd = (struct xenbus_backend_dev){.bd_xb = xb, .bd_ops = ops, .bd_arg = arg, .bd_fe_domid = fe_domid,
					  .bd_devid = devid};
	if (snprintf(bd->bd_dir, sizeof(bd->bd_dir), "backend/%s/%" PRIu32 "/%" PRIu32, type, fe_domid,
		     devid) >= (int)sizeof(bd->bd_dir))
		return -ENAMETOOLONG;
	bd->bd_defer_ev = event_new(base, -1, 0, xenbus_backend_deferred, bd);
	bd->bd_close_timer = evtimer_new(base, xenbus_backend_close_timeout, bd);
	if (!bd->bd_defer_ev || !bd->bd_close_timer)
		return -ENOMEM;
	rc = xenbus_backend_read_frontend(bd, type);
	if (rc < 0)
		return rc;
	snprintf(path, sizeof(path), "%s/state", bd->bd_fe_dir);
	return xenbus_watch(xb, path, xenbus_backend_fe_changed, bd, &bd->bd_fe_watch);
}

void xenbus_backend_fini(struct xenbus_backend_dev *bd)
{
	xenbus_unwatch(bd->bd_xb, bd->bd_fe_watch);
	bd->bd_fe_watch = NULL;
	if (bd->bd_defer_ev)
		event_free(bd->bd_defer_ev);
	if (bd->bd_close_timer)
		event_free(bd->bd_close_timer);
	bd->bd_defer_ev = bd->bd_close_timer = NULL;
}
