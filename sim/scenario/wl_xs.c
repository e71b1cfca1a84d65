/*
 * Workload `xenstore`: several domains use the store at once through Xen's
 * <xenstore.h> API, each from its own event loop. Each client does `ops`
 * operations: a share `tx` of them increments one shared counter inside a
 * transaction (read, write +1, commit; a conflict at commit is retried), the
 * others write one of its own keys and read it back (sometimes removing it and
 * checking it is gone). With `watch=1` every client watches the counter,
 * drains whatever events arrived and re-reads it: events may be coalesced, so
 * only the value read counts. Checked: the counter ends equal to the commits
 * the clients counted (no lost update), every read-back sees its write, no
 * watcher ever sees the counter go back, and every watcher ends up seeing the
 * final value (a lost watch event shows as a hang).
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <xenstore.h>

#include "sim/scenario/workload.h"
#include "sim/xenstore/xs_store.h"

#define XSW_CLIENTS_MAX 16u
#define XSW_KEYS_MAX 64u
#define XSW_VALUE_MAX 64u

enum xsw_param { XSW_P_CLIENTS, XSW_P_OPS, XSW_P_TX, XSW_P_WATCH, XSW_P_KEYS, XSW_P_BELIEVE, XSW_P_COUNT };

static const struct scn_param xsw_params[XSW_P_COUNT + 1] = {
	[XSW_P_CLIENTS] = {"clients", SCN_P_DOMAINS, NULL, 0, 0, "domains that run a client"},
	[XSW_P_OPS] = {"ops", SCN_P_UINT, "50", 1, 1000000, "operations per client"},
	[XSW_P_TX] = {"tx", SCN_P_PERCENT, "50", 0, 100, "share of transactional increments"},
	[XSW_P_WATCH] = {"watch", SCN_P_BOOL, "1", 0, 0, "clients watch the counter"},
	[XSW_P_KEYS] = {"keys", SCN_P_UINT, "4", 1, XSW_KEYS_MAX, "keys per client"},
	[XSW_P_BELIEVE] = {"believe-reads", SCN_P_BOOL, "0", 0, 0,
			   "test only: a read that fails in a transaction is believed (aborted), "
			   "not committed to learn whether the view held together"},
};

enum xsw_counter { XSW_C_OPS, XSW_C_COMMITS, XSW_C_CONFLICTS, XSW_C_EVENTS, XSW_C_COUNT };
static const char *const xsw_counters[XSW_C_COUNT + 1] = {
	"ops", "commits", "conflicts", "events", NULL,
};

struct xsw;

struct xsw_client {
	struct xsw *w;
	domid_t domid;
	bool alive;
	bool finished;                /* ops done (or abandoned by a crash) */
	struct xs_handle *h;
	struct event *ev, *tick;
	uint64_t rng;
	uint32_t ops;
	_Atomic uint64_t last_seen;   /* counter value this watcher read last */
	_Atomic bool seen_any;
};

struct xsw {
	struct scn_wl *wl;
	char dir[64], counter[80], keydir[64];
	uint32_t ops, tx_pct, keys;
	bool watch, believe_reads;
	unsigned n;
	struct xsw_client c[XSW_CLIENTS_MAX];
	_Atomic unsigned finished;
	_Atomic uint64_t cnt[XSW_C_COUNT];
};

static uint64_t xsw_rand(struct xsw_client *c)
{
	c->rng ^= c->rng << 13;
	c->rng ^= c->rng >> 7;
	c->rng ^= c->rng << 17;
	return c->rng;
}

static void xsw_count(struct xsw *w, enum xsw_counter k)
{
	atomic_fetch_add_explicit(&w->cnt[k], 1, memory_order_relaxed);
}

/* "ENOSPC (No space left on device)" for messages a scenario can match. */
static const char *xsw_err(int err, char *buf, size_t len)
{
	snprintf(buf, len, "%s (%s)", xs_errno_name(err), strerror(err));
	return buf;
}

/* Done when every client finished and every live watcher saw the final count. */
static void xsw_maybe_done(struct xsw *w)
{
	if (atomic_load(&w->finished) != w->n)
		return;
	uint64_t want = atomic_load(&w->cnt[XSW_C_COMMITS]);
	for (unsigned i = 0; w->watch && i < w->n; i++)
		if (w->c[i].alive && atomic_load(&w->c[i].last_seen) != want)
			return;
	scn_wl_done(w->wl);
}

static void xsw_finish(struct xsw_client *c)
{
	if (c->finished)
		return;
	c->finished = true;
	atomic_fetch_add(&c->w->finished, 1);
}

/* ---- operations ---- */

/* One increment in a transaction: 1 committed, 0 conflict (retry), < 0 error. */
static int xsw_increment(struct xsw_client *c)
{
	struct xsw *w = c->w;
	char buf[XSW_VALUE_MAX];
	unsigned len;

	xs_transaction_t t = xs_transaction_start(c->h);
	if (t == XBT_NULL)
		return -errno;
	char *v = xs_read(c->h, t, w->counter, &len);
	if (!v) {
		/* Maybe a mixed view (the counter removed and written back since
		 * the transaction began): the commit says, EAGAIN for a redo. */
		int err = errno;
		bool ok = xs_transaction_end(c->h, t, w->believe_reads);
		return !ok && !w->believe_reads && errno == EAGAIN ? 0 : -err;
	}
	snprintf(buf, sizeof(buf), "%lu", strtoul(v, NULL, 10) + 1);
	free(v);
	if (!xs_write(c->h, t, w->counter, buf, (unsigned)strlen(buf))) {
		int err = errno;
		xs_transaction_end(c->h, t, true);
		return -err;
	}
	if (xs_transaction_end(c->h, t, false))
		return 1;
	return errno == EAGAIN ? 0 : -errno;
}

/* Write one of its keys and read it back; now and then remove it. */
static int xsw_key(struct xsw_client *c)
{
	struct xsw *w = c->w;
	char path[96], val[XSW_VALUE_MAX];
	uint64_t r = xsw_rand(c);
	unsigned len;

	snprintf(path, sizeof(path), "%s/k%lu", w->keydir, r % w->keys);
	snprintf(val, sizeof(val), "dom%u-op%u", c->domid, c->ops);
	if (!xs_write(c->h, XBT_NULL, path, val, (unsigned)strlen(val)))
		return -errno;
	char *got = xs_read(c->h, XBT_NULL, path, &len);
	if (!got)
		return -errno;
	bool same = len == strlen(val) && memcmp(got, val, len) == 0;
	free(got);
	if (!same) {
		scn_wl_fail(w->wl, "client dom %u: read back %s/%s differs from what it wrote (%s)",
			    c->domid, "home", path, val);
		return 0;
	}
	if ((r >> 8) % 8 == 0) {
		if (!xs_rm(c->h, XBT_NULL, path))
			return -errno;
		got = xs_read(c->h, XBT_NULL, path, &len);
		if (got || errno != ENOENT) {
			free(got);
			scn_wl_fail(w->wl, "client dom %u: %s still readable after xs_rm", c->domid, path);
		}
	}
	return 1;
}

static void xsw_op(struct xsw_client *c)
{
	struct xsw *w = c->w;
	char e[64];
	bool tx = xsw_rand(c) % 100 < w->tx_pct;
	int rc = tx ? xsw_increment(c) : xsw_key(c);

	if (rc < 0) {
		scn_wl_error(w->wl, "client dom %u: %s failed: %s", c->domid,
			     tx ? "transaction on the counter" : "write of its key", xsw_err(-rc, e, sizeof(e)));
		return;
	}
	if (tx && rc == 0) {
		xsw_count(w, XSW_C_CONFLICTS);
		return;   /* EAGAIN at commit: do it again */
	}
	if (tx)
		xsw_count(w, XSW_C_COMMITS);
	c->ops++;
	xsw_count(w, XSW_C_OPS);
}

static void xsw_tick_guarded(void *arg)
{
	struct xsw_client *c = arg;
	struct timeval now = {0, 0};

	if (scn_wl_finished(c->w->wl) || c->finished)
		return;
	xsw_op(c);
	if (c->ops == c->w->ops) {
		xsw_finish(c);
		xsw_maybe_done(c->w);
	} else {
		event_add(c->tick, &now);
	}
}

static void xsw_tick(evutil_socket_t fd, short what, void *arg)
{
	struct xsw_client *c = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(c->w->wl, xsw_tick_guarded, c);
}

/* ---- the watch ---- */

static void xsw_watch_guarded(void *arg)
{
	struct xsw_client *c = arg;
	struct xsw *w = c->w;
	unsigned n, len;
	char **ev;

	/* Drain: several events may stand for one change, or one for several. */
	while ((ev = xs_check_watch(c->h)) != NULL) {
		free(ev);
		xsw_count(w, XSW_C_EVENTS);
	}
	char *v = xs_read(c->h, XBT_NULL, w->counter, &len);
	if (!v)
		return;   /* the workload is being torn down */
	n = (unsigned)strtoul(v, NULL, 10);
	free(v);
	uint64_t prev = atomic_load(&c->last_seen);
	if (atomic_load(&c->seen_any) && n < prev)
		scn_wl_fail(w->wl, "watcher dom %u saw %s go back from %lu to %u", c->domid, w->counter,
			    prev, n);
	atomic_store(&c->last_seen, n);
	atomic_store(&c->seen_any, true);
	xsw_maybe_done(w);
}

static void xsw_watch(evutil_socket_t fd, short what, void *arg)
{
	struct xsw_client *c = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(c->w->wl, xsw_watch_guarded, c);
}

/* ---- set-up and teardown on a client's thread ---- */

static int xsw_client_setup(void *arg)
{
	struct xsw_client *c = arg;
	struct timeval now = {0, 0};

	c->h = xs_open(0);
	if (!c->h)
		return -errno;
	if (c->w->watch) {
		if (!xs_watch(c->h, c->w->counter, "xsw"))
			return -errno;
		c->ev = scn_ev_new(sim_domain_event_base(), xs_fileno(c->h), EV_READ | EV_PERSIST,
				   xsw_watch, c);
		if (!c->ev || event_add(c->ev, NULL) < 0)
			return -ENOMEM;
	}
	c->tick = scn_ev_new(sim_domain_event_base(), -1, 0, xsw_tick, c);
	if (!c->tick)
		return -ENOMEM;
	if (!c->finished)
		event_add(c->tick, &now);
	return 0;
}

static void xsw_client_release(struct xsw_client *c, bool alive)
{
	scn_ev_free(c->ev, alive);
	scn_ev_free(c->tick, alive);
	c->ev = c->tick = NULL;
	if (alive && c->h)
		xs_rm(c->h, XBT_NULL, c->w->keydir);
	if (c->h)
		xs_close(c->h);
	c->h = NULL;
}

static int xsw_client_teardown(void *arg)
{
	xsw_client_release(arg, true);
	return 0;
}

/* ---- the workload ---- */

static int xsw_prepare(struct scn_wl *wl, struct xsw *w)
{
	snprintf(w->dir, sizeof(w->dir), "/tool/%s", wl->id);
	snprintf(w->counter, sizeof(w->counter), "%s/counter", w->dir);
	snprintf(w->keydir, sizeof(w->keydir), "data-%s", wl->id);   /* relative: in each home */
	int rc = scn_wl_xs_write(wl, w->counter, "0");
	/* Owned by dom0, everyone may read and write: "b0". */
	if (rc == 0)
		rc = scn_wl_xs_set_perms(wl, w->dir, "b0");
	if (rc == 0)
		rc = scn_wl_xs_set_perms(wl, w->counter, "b0");
	return rc;
}

static int xsw_start(struct scn_wl *wl)
{
	struct xsw *w = calloc(1, sizeof(*w));
	domid_t ids[XSW_CLIENTS_MAX];

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	w->ops = (uint32_t)scn_wl_u(wl, XSW_P_OPS);
	w->tx_pct = (uint32_t)scn_wl_u(wl, XSW_P_TX);
	w->believe_reads = scn_wl_u(wl, XSW_P_BELIEVE) != 0;
	w->watch = scn_wl_u(wl, XSW_P_WATCH);
	w->keys = (uint32_t)scn_wl_u(wl, XSW_P_KEYS);
	w->n = scn_wl_domids(wl, XSW_P_CLIENTS, ids, XSW_CLIENTS_MAX);
	int rc = xsw_prepare(wl, w);
	if (rc < 0)
		return rc;
	for (unsigned i = 0; i < w->n; i++)
		w->c[i] = (struct xsw_client){.w = w, .domid = ids[i], .alive = true,
					      .rng = scn_wl_seed(wl) + ids[i] * 0x9E3779B97F4A7C15ull + 1};
	for (unsigned i = 0; i < w->n && !scn_wl_finished(wl); i++) {
		rc = scn_wl_call(wl, ids[i], xsw_client_setup, &w->c[i]);
		if (rc < 0)
			scn_wl_error(wl, "client dom %u: set-up failed: %s", ids[i], strerror(-rc));
	}
	return 0;
}

/* Checked once all is quiet: the counter holds exactly the commits. */
static void xsw_check(struct scn_wl *wl)
{
	struct xsw *w = wl->priv;
	char v[XSW_VALUE_MAX];

	if (atomic_load(&wl->state) != SCN_WL_DONE || scn_wl_xs_read(wl, w->counter, v, sizeof(v)) < 0)
		return;
	uint64_t commits = atomic_load(&w->cnt[XSW_C_COMMITS]);
	if (strtoul(v, NULL, 10) != commits)
		scn_wl_fail(wl, "lost update: %s is %s, the clients committed %lu increments", w->counter,
			    v, commits);
}

static struct xsw_client *xsw_client_of(struct xsw *w, domid_t domid)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->c[i].domid == domid)
			return &w->c[i];
	return NULL;
}

static void xsw_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct xsw *w = wl->priv;
	struct xsw_client *c = xsw_client_of(w, domid);

	if (!c)
		return;
	if (ev == SCN_DOM_CRASHED) {
		c->alive = false;
		xsw_client_release(c, false);
		xsw_finish(c);   /* what it committed stays; it does no more */
		xsw_maybe_done(w);
	} else {
		c->alive = true;
		atomic_store(&c->seen_any, false);
		int rc = scn_wl_call(wl, domid, xsw_client_setup, c);
		if (rc < 0)
			scn_wl_error(wl, "client dom %u: set-up after restart failed: %s", domid,
				     strerror(-rc));
	}
}

static void xsw_stop(struct scn_wl *wl)
{
	struct xsw *w = wl->priv;

	xsw_check(wl);
	for (unsigned i = 0; i < w->n; i++) {
		struct xsw_client *c = &w->c[i];
		if (c->alive && scn_wl_call(wl, c->domid, xsw_client_teardown, c) < 0)
			xsw_client_release(c, false);
	}
	scn_wl_xs_rm(wl, w->dir);
	free(w);
}

static uint64_t xsw_counter(struct scn_wl *wl, unsigned index)
{
	struct xsw *w = wl->priv;

	return index < XSW_C_COUNT ? atomic_load(&w->cnt[index]) : 0;
}

const struct scn_wl_type scn_wl_xs = {
	.name = "xenstore",
	.what = "several domains read, write, watch and transact on the store; no lost update",
	.params = xsw_params,
	.counters = xsw_counters,
	.start = xsw_start,
	.domain_event = xsw_domain_event,
	.check = xsw_check,
	.check_in_place = scn_wl_check_anywhere,
	.stop = xsw_stop,
	.counter = xsw_counter,
};
