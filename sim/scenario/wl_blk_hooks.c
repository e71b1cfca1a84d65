/*
 * The `blk` workload's toolstack hooks, as the scenario actions `unplug ID`,
 * `plug ID` and `suspend DOMAIN [to DOMAIN]` call them (harness thread).
 *
 * Detaching is what a toolstack does for a hot-unplug: the workload stops
 * issuing, and the drivers' own xenbus_device_destroy (toolstack.h) asks the
 * backend to close (online=0, Closing), waits for its Closed (its store I/O
 * is synchronous, so nothing of the old connection can still reach the
 * disk) and removes the nodes. Then the guest closes its blkfront (what was
 * in flight completes -ECANCELED: a write may or may not have landed, the
 * model says so), and the domain must hold no grant and the backend no map
 * of it. Attaching creates the nodes again (on the same backend domain or,
 * for a suspend, the one named), and a new blkfront carries the same
 * workload on: every acknowledged write must still read back.
 *
 * There is no save/restore inside blkfront to drive (its backend path is
 * fixed at open), so a suspend is a detach and an attach with the guest's I/O
 * paused in between: the guest's view of a migration.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "sim/gnttab/gnttab.h"
#include "sim/scenario/scn_internal.h"
#include "sim/scenario/wl_blk_internal.h"

static int bw_front_pause(void *arg)
{
	struct bw *w = arg;

	if (w->work)
		blkwork_pause(w->work);
	return 0;
}

static int bw_detach(struct bw *w, bool reattach, domid_t to)
{
	int rc;

	if (w->plug != BW_PLUGGED)
		return -EBUSY;
	if (w->fe_alive)
		scn_wl_call(w->wl, w->fe, bw_front_pause, w);
	rc = scn_destroy_start(w->wl, &w->dev, bw_exact(w), &w->destroy);
	if (rc < 0)
		return rc;
	scn_wl_note(w->wl, w->fe, "vbd %u: toolstack destroys it (backend dom %u)%s", w->dev.devid, w->be,
		    reattach ? ", to attach it again" : "");
	w->plug = BW_CLOSING;
	w->plug_pending = reattach;
	w->plug_to = to;
	w->detach_paused = false;
	return 0;
}

static void bw_plug_wait_fired(evutil_socket_t fd, short what, void *arg)
{
	struct bw *w = arg;

	(void)fd;
	(void)what;
	atomic_store(&w->plug_wait_over, true);
}

static int bw_plug_wait_arm(void *arg)
{
	struct bw *w = arg;
	struct timeval tv = scn_tv(scn_wl_u(w->wl, BW_P_PLUG_WAIT));

	if (!w->plug_wait_ev)
		w->plug_wait_ev = scn_ev_new(sim_domain_event_base(), -1, 0, bw_plug_wait_fired, w);
	if (!w->plug_wait_ev)
		return -ENOMEM;
	atomic_store(&w->plug_wait_over, false);
	return event_add(w->plug_wait_ev, &tv) < 0 ? -ENOMEM : 0;
}

static int bw_plug_wait_cancel(void *arg)
{
	struct bw *w = arg;

	if (w->plug_wait_ev)
		event_del(w->plug_wait_ev);
	atomic_store(&w->plug_wait_over, false);
	return 0;
}

static int bw_reattach(struct bw *w, domid_t to)
{
	if (w->fe_alive)
		scn_wl_call(w->wl, w->fe, bw_plug_wait_cancel, w);
	int rc = bw_attach(w, to);
	if (rc < 0)
		scn_wl_error(w->wl, "plugging vbd %u (dom %u -> dom %u) failed: %s", w->dev.devid, w->fe, to,
			     strerror(-rc));
	else
		bw_count_add(w, BW_C_PLUGS);
	return rc;
}

/* Nothing of the device may be left in the guest's grant table, nor mapped. */
static void bw_detached_check(struct bw *w)
{
	struct gnttab_stats st;

	if (!bw_exact(w) || gnttab_stats(w->fe, &st) < 0)
		return;
	bw_count_add(w, BW_C_IDLE_CHECKS);
	if (st.grants_active || st.maps_active)
		scn_wl_fail(w->wl, "vbd %u detached from backend dom %u: dom %u still has %lu grants "
			    "active, %lu of them mapped", w->dev.devid, w->be, w->fe, st.grants_active,
			    st.maps_active);
}

/* The destroy ended, the device's nodes gone: close the guest's side.
 * Unless the destroy timed out (the backend paused or gone: it lets go of
 * the guest's pages when it runs again), nothing of the device may be left. */
static void bw_detached(struct bw *w, bool timed_out)
{
	if (w->fe_alive)
		scn_wl_call(w->wl, w->fe, bw_front_close, w);
	if (!timed_out)
		bw_detached_check(w);
	if (w->be_ref)
		scn_blk_backend_put(w->wl, w->be);
	w->be_ref = false;
	w->plug = BW_UNPLUGGED;
	if (scn_wl_finished(w->wl) || !w->fe_alive)
		return;
	if (w->plug_pending) {
		w->plug_pending = false;
		bw_reattach(w, w->plug_to);
	} else if (scn_wl_call(w->wl, w->fe, bw_plug_wait_arm, w) < 0) {
		scn_wl_error(w->wl, "vbd %u: arming the plug wait failed", w->dev.devid);
	}
}

/* Harness thread, after every slice while the toolstack's destroy is under
 * way. It wrote online=0 and state Closing (libxl's close): from then on the
 * backend may only go on to Closed, never (back) to Connected, whatever it
 * was doing (a connection under way announces nothing once online is 0).
 * And it must get there: blkback's close timeout bounds the wait for its
 * frontend (which may be hung), so a live backend that lets the destroy time
 * out (the device removed under it) is stuck, unless it was paused: its time
 * was not its own to use. Ended: the destroy's outcome in *timed_out. */
static bool bw_destroy_ended(struct bw *w, bool *timed_out)
{
	char path[96], v[16];
	int rc;

	snprintf(path, sizeof(path), "/local/domain/%u/backend/vbd/%u/%u/state", w->be, w->fe,
		 w->dev.devid);
	if (w->be_alive && scn_wl_xs_read(w->wl, path, v, sizeof(v)) == 0 && atoi(v) == XenbusStateConnected)
		scn_wl_fail(w->wl, "vbd %u: backend dom %u wrote Connected after the toolstack closed the device "
			    "(online=0, state Closing)", w->dev.devid, w->be);
	if (w->be_alive && sim_domain_paused(w->be))
		w->detach_paused = true;
	if (!scn_destroy_poll(&w->destroy, &rc))
		return false;
	*timed_out = scn_destroy_judge(w->wl, &w->dev, rc, w->be_alive, w->detach_paused);
	return true;
}

/* No plug came: the workload ends with what it did, verified. */
static void bw_end_unplugged(struct bw *w)
{
	struct blkwork_result r = {0};

	w->plug = BW_ENDED;
	if (w->work)
		blkwork_result(w->work, &r);
	bw_count_set(w, BW_C_CANCELED, r.canceled);
	if (r.mismatches)
		scn_wl_fail(w->wl, "data: %u block(s) read back differ from what the disk may hold: %s",
			    r.mismatches, r.failure);
	else
		scn_wl_done(w->wl);
}

/* reload@N: the guest's driver is reloaded (front thread): blkfront closed
 * (Closing, Closed; what was in flight completes -ECANCELED) and a new one
 * opened on the same device at once, while blkback may still be Connected
 * to the old rings. The new one must wait for the backend to start over
 * (Closed, then InitWait) and carry the workload on. */
static int bw_front_reload(void *arg)
{
	struct bw *w = arg;

	bw_front_close(w);
	return bw_front_open(w);
}

static void bw_selftest_step(struct bw *w)
{
	if (w->st == BW_ST_NONE || w->st_done || w->plug != BW_PLUGGED ||
	    atomic_load(&w->c[BW_C_DONE]) < w->st_at)
		return;
	w->st_done = true;
	scn_wl_note(w->wl, w->fe, "selftest: %s", scn_wl_s(w->wl, BW_P_SELFTEST));
	if (w->st == BW_ST_RELOAD) {
		int rc = w->fe_alive ? scn_wl_call(w->wl, w->fe, bw_front_reload, w) : 0;
		if (rc < 0)
			scn_wl_error(w->wl, "reload of vbd %u (dom %u): %s", w->dev.devid, w->fe, strerror(-rc));
		return;
	}
	int rc = w->st == BW_ST_SUSPEND ? bw_suspend(w->wl, w->fe, w->st_to) : bw_unplug(w->wl);
	if (rc == 0 && w->st == BW_ST_REPLUG)
		rc = bw_plug(w->wl);
	if (rc < 0)
		scn_wl_error(w->wl, "selftest %s: %s", scn_wl_s(w->wl, BW_P_SELFTEST), strerror(-rc));
}

void bw_hooks_check(struct bw *w)
{
	bool timed_out;

	if (scn_wl_finished(w->wl))
		return;
	bw_selftest_step(w);
	if (w->plug == BW_CLOSING && bw_destroy_ended(w, &timed_out))
		bw_detached(w, timed_out);
	else if (w->plug == BW_UNPLUGGED && atomic_load(&w->plug_wait_over))
		bw_end_unplugged(w);
}

/* The timers on the front's loop: the plug wait's and the resize's. */
static int bw_front_evs_free(void *arg)
{
	struct bw *w = arg;

	scn_ev_free(w->plug_wait_ev, w->fe_alive);
	scn_ev_free(w->resize_ev, w->fe_alive);
	w->plug_wait_ev = w->resize_ev = NULL;
	return 0;
}

void bw_hooks_stop(struct bw *w)
{
	scn_destroy_cancel(&w->destroy);
	if (!w->plug_wait_ev && !w->resize_ev)
		return;
	if (w->fe_alive)
		scn_wl_call(w->wl, w->fe, bw_front_evs_free, w);
	else
		bw_front_evs_free(w);
}

/* ---- the hooks ---- */

int bw_unplug(struct scn_wl *wl)
{
	struct bw *w = wl->priv;
	int rc = bw_detach(w, false, w->be);

	if (rc == 0)
		bw_count_add(w, BW_C_UNPLUGS);
	return rc;
}

int bw_plug(struct scn_wl *wl)
{
	struct bw *w = wl->priv;

	switch (w->plug) {
	case BW_PLUGGED:
		return -EALREADY;
	case BW_CLOSING:
		w->plug_pending = true;   /* once it is detached */
		w->plug_to = w->be;
		return 0;
	case BW_UNPLUGGED:
		return bw_reattach(w, w->be);
	case BW_ENDED:
		break;
	}
	return -ESHUTDOWN;
}

int bw_suspend(struct scn_wl *wl, domid_t guest, domid_t new_back)
{
	struct bw *w = wl->priv;

	if (guest != w->fe)
		return 0;   /* not our guest: its devices are another workload's */
	if (new_back == w->fe)
		return -EINVAL;
	int rc = bw_detach(w, true, new_back);
	if (rc == 0)
		bw_count_add(w, BW_C_SUSPENDS);
	return rc;
}

/* ---- selftest=: the hooks before the scenario actions exist ---- */

static int bw_selftest_split(const char *s, enum bw_selftest *kind, uint64_t *at, char *dom, size_t len)
{
	static const char *const names[] = {[BW_ST_UNPLUG] = "unplug", [BW_ST_REPLUG] = "replug",
					    [BW_ST_SUSPEND] = "suspend", [BW_ST_RELOAD] = "reload"};
	const char *at_sign = strchr(s, '@');
	char *end;

	*kind = BW_ST_NONE;
	dom[0] = '\0';
	if (!s[0])
		return 0;
	for (unsigned k = BW_ST_UNPLUG; at_sign && k <= BW_ST_RELOAD; k++)
		if ((size_t)(at_sign - s) == strlen(names[k]) && strncmp(s, names[k], strlen(names[k])) == 0)
			*kind = (enum bw_selftest)k;
	if (*kind == BW_ST_NONE)
		return -EINVAL;
	*at = strtoull(at_sign + 1, &end, 10);
	if (end == at_sign + 1 || (*end && (*end != ':' || *kind != BW_ST_SUSPEND)))
		return -EINVAL;
	if (*end == ':')
		snprintf(dom, len, "%s", end + 1);
	return 0;
}

int bw_selftest_validate(const char *s, char *err, size_t len)
{
	enum bw_selftest kind;
	uint64_t at;
	char dom[SCN_NAME_MAX];

	if (bw_selftest_split(s, &kind, &at, dom, sizeof(dom)) == 0)
		return 0;
	snprintf(err, len, "selftest=%s: unplug@N, replug@N, suspend@N[:DOMAIN] or reload@N", s);
	return -EINVAL;
}

int bw_selftest_parse(struct bw *w)
{
	char dom[SCN_NAME_MAX];
	const struct scn_run *run = w->wl->run;

	bw_selftest_split(scn_wl_s(w->wl, BW_P_SELFTEST), &w->st, &w->st_at, dom, sizeof(dom));
	w->st_to = w->be;
	if (!dom[0])
		return 0;
	for (unsigned i = 0; i < run->s->ndoms; i++)
		if (strcmp(run->s->doms[i].name, dom) == 0) {
			w->st_to = run->domids[i];
			return 0;
		}
	scn_wl_error(w->wl, "selftest: no domain '%s'", dom);
	return -ENOENT;
}
