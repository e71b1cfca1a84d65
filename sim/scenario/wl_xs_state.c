/*
 * Workload `xs-state`: the XenbusState handshake of a split driver, alone,
 * between a frontend and a backend domain, for `rounds` connect cycles
 * (back Initialising -> InitWait; front -> Initialised; back -> Connected;
 * front -> Connected; then, but for the last round, front Closing; back
 * Closing, Closed; front Closed, Initialising: a reconnect). Each end watches
 * the other's state node and, on every event, drains the events and acts on
 * the state it reads now: watch events are coalesced and states are skipped,
 * and a correct peer does not care. `strict=1` is a test-only front that
 * expects to see every state the back wrote, one event each; it fails as
 * soon as a scheduling coalesces two writes (a race the sweep finds).
 *
 * Each end checks that what it reads is a state the other end may be in.
 */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/workload.h"

enum xst_param { XST_P_FRONT, XST_P_BACK, XST_P_ROUNDS, XST_P_STRICT, XST_P_COUNT };

static const struct scn_param xst_params[XST_P_COUNT + 1] = {
	[XST_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the frontend domain"},
	[XST_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the backend domain"},
	[XST_P_ROUNDS] = {"rounds", SCN_P_UINT, "3", 1, 100000, "connect cycles"},
	[XST_P_STRICT] = {"strict", SCN_P_BOOL, "0", 0, 0,
			  "test only: the front expects one event per state the back wrote"},
};

enum xst_counter { XST_C_ROUNDS, XST_C_EVENTS, XST_C_WRITES, XST_C_COUNT };
static const char *const xst_counters[XST_C_COUNT + 1] = {"rounds", "events", "writes", NULL};

/* The states each end goes through, in order (a cycle). */
static const unsigned xst_back_seq[] = {XenbusStateInitialising, XenbusStateInitWait,
					XenbusStateConnected, XenbusStateClosing, XenbusStateClosed};
static const unsigned xst_front_seq[] = {XenbusStateInitialising, XenbusStateInitialised,
					 XenbusStateConnected, XenbusStateClosing, XenbusStateClosed};
#define XST_SEQ_LEN 5u

struct xst;

struct xst_end {
	struct xst *w;
	bool back;
	domid_t domid, peer;
	char dir[96], peer_state[112], state_path[112];
	struct xs_handle *h;
	struct event *ev;
	unsigned state;            /* own, as last written */
	unsigned seen;             /* peer's, as last read */
	bool seen_any;
};

struct xst {
	struct scn_wl *wl;
	unsigned rounds;
	bool strict;
	struct xst_end f, b;
	_Atomic uint64_t c[XST_C_COUNT];
};

static int xst_seq_index(const unsigned *seq, unsigned s)
{
	for (unsigned i = 0; i < XST_SEQ_LEN; i++)
		if (seq[i] == s)
			return (int)i;
	return -1;
}

static void xst_write(struct xst_end *e, unsigned s)
{
	char v[4];

	snprintf(v, sizeof(v), "%u", s);
	if (!xs_write(e->h, XBT_NULL, e->state_path, v, (unsigned)strlen(v))) {
		scn_wl_error(e->w->wl, "dom %u: write of %s failed: %s", e->domid, e->state_path,
			     strerror(errno));
		return;
	}
	e->state = s;
	atomic_fetch_add(&e->w->c[XST_C_WRITES], 1);
}

/* The peer's state as read now; false if unreadable or not a state it has. */
static bool xst_read_peer(struct xst_end *e, unsigned *out)
{
	unsigned len;
	char *v = xs_read(e->h, XBT_NULL, e->peer_state, &len);
	const unsigned *seq = e->back ? xst_front_seq : xst_back_seq;

	if (!v)
		return false;
	unsigned s = (unsigned)strtoul(v, NULL, 10);
	free(v);
	if (xst_seq_index(seq, s) < 0) {
		scn_wl_fail(e->w->wl, "dom %u read %s = %u (%s): not a state a %s goes through",
			    e->domid, e->peer_state, s, xenbus_state_name(s), e->back ? "frontend" : "backend");
		return false;
	}
	*out = s;
	return true;
}

/* strict: the test-only front that counts on one event per write. */
static void xst_strict_check(struct xst_end *e, unsigned s)
{
	if (!e->seen_any || s == e->seen)
		return;
	int i = xst_seq_index(xst_back_seq, e->seen);
	unsigned want = xst_back_seq[(unsigned)(i + 1) % XST_SEQ_LEN];
	if (s != want)
		scn_wl_fail(e->w->wl, "strict front (dom %u) saw the back go %s -> %s and missed %s "
			    "(watch events coalesced)", e->domid, xenbus_state_name(e->seen), xenbus_state_name(s),
			    xenbus_state_name(want));
}

static void xst_back_react(struct xst_end *e, unsigned fs)
{
	if (fs == XenbusStateInitialised && e->state == XenbusStateInitWait) {
		xst_write(e, XenbusStateConnected);
	} else if (fs == XenbusStateClosing && e->state == XenbusStateConnected) {
		xst_write(e, XenbusStateClosing);
		xst_write(e, XenbusStateClosed);
	} else if (fs == XenbusStateInitialising && e->state == XenbusStateClosed) {
		xst_write(e, XenbusStateInitialising);   /* the front reconnects */
		xst_write(e, XenbusStateInitWait);
	}
}

static void xst_front_react(struct xst_end *e, unsigned bs)
{
	struct xst *w = e->w;

	if (bs == XenbusStateInitWait && e->state == XenbusStateInitialising) {
		xst_write(e, XenbusStateInitialised);
	} else if (bs == XenbusStateConnected && e->state == XenbusStateInitialised) {
		xst_write(e, XenbusStateConnected);
		if (atomic_fetch_add(&w->c[XST_C_ROUNDS], 1) + 1 == w->rounds)
			scn_wl_done(w->wl);
		else
			xst_write(e, XenbusStateClosing);
	} else if (bs == XenbusStateClosed && e->state == XenbusStateClosing) {
		xst_write(e, XenbusStateClosed);
		xst_write(e, XenbusStateInitialising);
	}
}

static void xst_event_guarded(void *arg)
{
	struct xst_end *e = arg;
	unsigned s;
	char **ev;

	while ((ev = xs_check_watch(e->h)) != NULL) {
		free(ev);
		atomic_fetch_add(&e->w->c[XST_C_EVENTS], 1);
	}
	if (scn_wl_finished(e->w->wl) || !xst_read_peer(e, &s))
		return;
	if (e->w->strict && !e->back)
		xst_strict_check(e, s);
	e->seen = s;
	e->seen_any = true;
	if (e->back)
		xst_back_react(e, s);
	else
		xst_front_react(e, s);
}

static void xst_event(evutil_socket_t fd, short what, void *arg)
{
	struct xst_end *e = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(e->w->wl, xst_event_guarded, e);
}

static int xst_end_setup(void *arg)
{
	struct xst_end *e = arg;

	e->h = xs_open(0);
	if (!e->h || !xs_watch(e->h, e->peer_state, e->back ? "back" : "front"))
		return -errno;
	e->ev = scn_ev_new(sim_domain_event_base(), xs_fileno(e->h), EV_READ | EV_PERSIST, xst_event, e);
	if (!e->ev || event_add(e->ev, NULL) < 0)
		return -ENOMEM;
	e->state = XenbusStateInitialising;
	if (e->back)
		xst_write(e, XenbusStateInitWait);
	return 0;
}

static void xst_end_release(struct xst_end *e, bool alive)
{
	scn_ev_free(e->ev, alive);
	e->ev = NULL;
	if (e->h)
		xs_close(e->h);
	e->h = NULL;
}

static int xst_end_teardown(void *arg)
{
	xst_end_release(arg, true);
	return 0;
}

/* The toolstack's part: both state nodes, owned by their end, readable by
 * the other, at Initialising. */
static int xst_nodes(struct scn_wl *wl, struct xst_end *e)
{
	char perms[32];

	snprintf(e->state_path, sizeof(e->state_path), "%s/state", e->dir);
	snprintf(perms, sizeof(perms), "n%u r%u", e->domid, e->peer);
	int rc = scn_wl_xs_write(wl, e->state_path, "1");
	if (rc == 0)
		rc = scn_wl_xs_set_perms(wl, e->dir, perms);
	if (rc == 0)
		rc = scn_wl_xs_set_perms(wl, e->state_path, perms);
	return rc;
}

static int xst_start(struct scn_wl *wl)
{
	struct xst *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	w->rounds = (unsigned)scn_wl_u(wl, XST_P_ROUNDS);
	w->strict = scn_wl_u(wl, XST_P_STRICT);
	domid_t fe = scn_wl_domid(wl, XST_P_FRONT), be = scn_wl_domid(wl, XST_P_BACK);
	w->f = (struct xst_end){.w = w, .back = false, .domid = fe, .peer = be};
	w->b = (struct xst_end){.w = w, .back = true, .domid = be, .peer = fe};
	snprintf(w->f.dir, sizeof(w->f.dir), "/local/domain/%u/device/%s/0", fe, wl->id);
	snprintf(w->b.dir, sizeof(w->b.dir), "/local/domain/%u/backend/%s/%u/0", be, wl->id, fe);
	snprintf(w->f.peer_state, sizeof(w->f.peer_state), "%s/state", w->b.dir);
	snprintf(w->b.peer_state, sizeof(w->b.peer_state), "%s/state", w->f.dir);
	int rc = xst_nodes(wl, &w->f);
	if (rc == 0)
		rc = xst_nodes(wl, &w->b);
	if (rc < 0)
		return rc;
	rc = scn_wl_call(wl, fe, xst_end_setup, &w->f);
	if (rc == 0)
		rc = scn_wl_call(wl, be, xst_end_setup, &w->b);
	if (rc < 0)
		scn_wl_error(wl, "set-up failed: %s", strerror(-rc));
	return 0;
}

static void xst_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct xst *w = wl->priv;
	struct xst_end *e = domid == w->f.domid ? &w->f : domid == w->b.domid ? &w->b : NULL;

	if (!e || ev != SCN_DOM_CRASHED)
		return;
	xst_end_release(e, false);
	e->domid = DOMID_INVALID;
	scn_wl_error(wl, "%s domain %u %s in round %lu", e->back ? "back" : "front", domid,
		     scn_wl_gone(wl, domid),
		     (uint64_t)atomic_load(&w->c[XST_C_ROUNDS]) + 1);
}

static void xst_stop(struct scn_wl *wl)
{
	struct xst *w = wl->priv;
	struct xst_end *ends[] = {&w->f, &w->b};
	char home[32];

	for (unsigned i = 0; i < 2; i++) {
		struct xst_end *e = ends[i];
		if (e->domid != DOMID_INVALID && scn_wl_call(wl, e->domid, xst_end_teardown, e) < 0)
			xst_end_release(e, false);
		size_t keep = (size_t)snprintf(home, sizeof(home), "/local/domain/%u",
					       e == &w->f ? w->b.peer : w->f.peer);
		scn_wl_xs_rm_prune(wl, e->dir, keep);
	}
	free(w);
}

static uint64_t xst_counter(struct scn_wl *wl, unsigned index)
{
	struct xst *w = wl->priv;

	return index < XST_C_COUNT ? atomic_load(&w->c[index]) : 0;
}

static int xst_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (a->u[XST_P_FRONT] == a->u[XST_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_xs_state = {
	.name = "xs-state",
	.what = "the XenbusState handshake over xenstore watches, with reconnects",
	.params = xst_params,
	.counters = xst_counters,
	.validate = xst_validate,
	.start = xst_start,
	.domain_event = xst_domain_event,
	.stop = xst_stop,
	.counter = xst_counter,
};
