/*
 * The net workload's toolstack actions (wl_net.c's hooks for `suspend`,
 * `unplug`, `plug`), on the harness thread: the vif goes online=0, netback
 * must close it and let go of everything of the guest's; then online=1 (a
 * suspend: netfront reconnects with fresh rings). An unplug is the drivers'
 * own destroy (toolstack.h: online=0 and Closing, Closed, the nodes
 * removed): the guest's NIC vanishes, its peers stop waiting for it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/hostile_net.h"
#include "sim/scenario/wl_net_internal.h"

void nw_be_path(const struct nw *w, const struct nw_guest *g, const char *key, char *out, size_t len)
{
	snprintf(out, len, "/local/domain/%u/backend/vif/%u/%u/%s", w->be, g->domid, NW_DEVID, key);
}

/* Netback says Closed: it must hold nothing of the guest's any more, and a
 * closed netfront (closed: an unplug) nothing either. A netfront that goes
 * on may not have seen the Closed yet: the idle check bounds its grants. */
static void nw_check_released(struct nw *w, const struct nw_guest *g, const char *when, bool fe_closed)
{
	struct gnttab_stats st;

	if (gnttab_stats(g->domid, &st) == 0 && (st.maps_active || (fe_closed && st.grants_active)))
		scn_wl_fail(w->wl, "%s of vif %u of dom %u: netback (dom %u) closed it, but %lu of the guest's grants "
			    "are still mapped and %lu still active", when, NW_DEVID, g->domid, w->be, st.maps_active,
			    st.grants_active);
	for (evtchn_port_t p = 1; p < EVTCHN_PORTS_MAX; p++) {
		domid_t rd;
		int st = evtchn_port_status(w->be, p, &rd, NULL);
		/* The guest's end closed: a port netback kept is left unbound. */
		if ((st == EVTCHNSTAT_interdomain || st == EVTCHNSTAT_unbound) && rd == g->domid) {
			scn_wl_fail(w->wl, "%s of vif %u of dom %u: netback (dom %u) closed it, but its port %u is "
				    "still bound to the guest", when, NW_DEVID, g->domid, w->be, p);
			return;
		}
	}
}

/* A hot-unplugged NIC vanishes: its peers stop sending to it and waiting
 * for it, and the start barrier does not wait for it either. */
static void nw_unplugging(struct nw *w, struct nw_guest *g)
{
	atomic_store(&g->gone, true);
	atomic_fetch_or(&w->gone, 1u << g->index);
	nw_barrier_arrive(w, g);
	for (unsigned i = 0; i < w->n; i++) {
		struct nw_guest *p = &w->g[i];
		if (p == g || !p->alive || atomic_load(&p->gone))
			continue;
		if (sim_domain_post(p->domid, nw_guest_forget_peers, p) < 0)
			scn_wl_error(w->wl, "guest dom %u gone while dom %u was unplugged", p->domid, g->domid);
	}
}

/* Guest thread, its vif suspended and online again: a netfront still
 * connected has yet to see the old connection go. */
static void nw_guest_act_done(void *arg)
{
	struct nw_guest *g = arg;
	struct netfront_info info;

	if (g->nf && netfront_info(g->nf, &info) == 0 && info.connected)
		g->down_ends_act = true;
	else
		atomic_store(&g->acting, false);
}

static void nw_hostile_act_done(void *arg)
{
	struct nw *w = arg;

	hostile_front_toolstack_up(w->hf);
}

/* Asked for while it cannot start: started later (nw_act_next). */
static int nw_act_later(struct nw_guest *g, bool unplug)
{
	if (unplug)
		g->act_next = NW_NEXT_UNPLUG;
	else if (g->act_next == NW_NEXT_NONE)
		g->act_next = NW_NEXT_SUSPEND;
	return 0;
}

/* The toolstack takes a vif down: online=0; netback closes it. */
static int nw_act_begin(struct nw *w, struct nw_guest *g, bool unplug)
{
	char path[128];
	bool alive = g == &w->hg ? w->h_alive && w->hf : g->alive;

	if (!alive)
		return -EBUSY;
	if (!w->be_alive)   /* the backend's domain is down: when it is back */
		return nw_act_later(g, unplug);
	if (g->act != NW_ACT_NONE) {
		if (!g->act_unplug)   /* an unplug under way takes care of either */
			nw_act_later(g, unplug);
		return 0;
	}
	if (g == &w->hg)
		hostile_front_toolstack_down(w->hf);
	atomic_store(&g->acting, true);
	atomic_store(&g->expect_down, true);
	nw_be_path(w, g, "online", path, sizeof(path));
	int rc = unplug ? scn_destroy_start(w->wl, &g->dev, true, &g->destroy)
			: scn_wl_xs_write(w->wl, path, "0");
	if (rc < 0)
		return rc;
	g->act = NW_ACT_WAIT_CLOSED;
	g->act_unplug = unplug;
	g->act_polls = 0;
	g->act_paused = false;
	if (unplug)
		nw_unplugging(w, g);
	return 0;
}

/* The action asked for during the one just finished. */
static void nw_act_next(struct nw *w, struct nw_guest *g)
{
	int next = g->act_next;

	g->act_next = NW_NEXT_NONE;
	if (next != NW_NEXT_NONE && nw_act_begin(w, g, next == NW_NEXT_UNPLUG) < 0)
		scn_wl_error(w->wl, "dom %u: the %s asked for during another action could not start", g->domid,
			     next == NW_NEXT_UNPLUG ? "unplug" : "suspend");
}

/* Netback closed the vif (an unplug: the destroy ended, the nodes gone;
 * timed out: netback paused, it lets go when it runs again): finish the
 * action. */
static void nw_act_closed(struct nw *w, struct nw_guest *g, bool timed_out)
{
	char path[128];

	g->act = NW_ACT_NONE;
	if (!g->act_unplug) {
		nw_check_released(w, g, "suspend", false);
		if (sim_domain_post(g->domid, g == &w->hg ? nw_hostile_act_done : nw_guest_act_done,
				    g == &w->hg ? (void *)w : g) < 0)
			scn_wl_error(w->wl, "suspend of dom %u: the guest is gone", g->domid);
		nw_be_path(w, g, "online", path, sizeof(path));
		if (scn_wl_xs_write(w->wl, path, "1") < 0)
			scn_wl_error(w->wl, "suspend of dom %u: writing %s failed", g->domid, path);
		atomic_fetch_add(&w->suspends, 1);
		nw_act_next(w, g);
		return;
	}
	scn_wl_call(w->wl, g->domid, nw_guest_close, g);
	if (!timed_out)
		nw_check_released(w, g, "unplug", true);
	atomic_store(&g->unplugged, true);
	atomic_fetch_add(&w->unplugs, 1);
	if (!g->fin.finished && atomic_fetch_add(&w->finished, 1) + 1 == w->n)
		nw_judge_soon(w);   /* it will not finish now; the others go on */
}

/* An unplug's destroy: netback must reach Closed within its close timeout
 * and some, unless it was paused (its time was not its own to use). */
static void nw_unplug_poll(struct nw *w, struct nw_guest *g)
{
	int rc;

	if (sim_domain_paused(w->be))
		g->act_paused = true;
	if (scn_destroy_poll(&g->destroy, &rc))
		nw_act_closed(w, g, scn_destroy_judge(w->wl, &g->dev, rc, w->be_alive, g->act_paused));
}

void nw_act_poll(struct nw *w, struct nw_guest *g)
{
	char path[128], v[16] = "";

	if (g->act_unplug) {
		nw_unplug_poll(w, g);
		return;
	}
	nw_be_path(w, g, "state", path, sizeof(path));
	scn_wl_xs_read(w->wl, path, v, sizeof(v));
	if (strcmp(v, "6") == 0)
		nw_act_closed(w, g, false);
	else if (++g->act_polls > NW_ACT_POLLS_MAX)
		scn_wl_fail(w->wl, "netback (dom %u) did not close vif %u of dom %u after the toolstack set online=0 "
			    "(state %s)", w->be, NW_DEVID, g->domid, v[0] ? v : "gone");
}

/* The backend's domain crashed: a suspend under way starts over once it is
 * back (the toolstack re-creates the backend's halves, online). */
void nw_act_backend_gone(struct nw *w)
{
	for (unsigned i = 0; i <= w->n; i++) {
		struct nw_guest *g = i < w->n ? &w->g[i] : &w->hg;
		/* An unplug's destroy goes on: it sees the backend's directory
		 * gone with its domain and removes the device. */
		if (g->act == NW_ACT_NONE || g->destroy)
			continue;
		g->act = NW_ACT_NONE;
		nw_act_later(g, g->act_unplug);
	}
}

/* It is back: what waited for it starts. */
void nw_act_backend_back(struct nw *w)
{
	for (unsigned i = 0; i <= w->n; i++)
		nw_act_next(w, i < w->n ? &w->g[i] : &w->hg);
}

/* The last guest's vif: unplug and plug act on it. */
static struct nw_guest *nw_act_guest(struct nw *w)
{
	return &w->g[w->n - 1];
}

int nw_unplug(struct scn_wl *wl)
{
	struct nw *w = wl->priv;
	struct nw_guest *g = nw_act_guest(w);

	return atomic_load(&g->unplugged) ? 0 : nw_act_begin(w, g, true);   /* gone already: done */
}

int nw_plug(struct scn_wl *wl)
{
	struct nw *w = wl->priv;
	struct nw_guest *g = nw_act_guest(w);

	if (!atomic_load(&g->unplugged) || g->act != NW_ACT_NONE)
		return -EALREADY;
	atomic_store(&g->unplugged, false);
	atomic_store(&g->acting, false);   /* a new netfront: its CONNECTED is a new connection */
	int rc = nw_toolstack(w, NW_TS_CREATE, g);
	if (rc == 0)
		rc = scn_wl_call(wl, g->domid, nw_guest_open, g);   /* no traffic: its peers finished with it */
	return rc;
}

int nw_suspend(struct scn_wl *wl, domid_t guest, domid_t new_back)
{
	struct nw *w = wl->priv;

	if (new_back != w->be)
		return -ENOTSUP;   /* one netback per workload: a new backend is a restart */
	if (w->has_hostile && guest == w->hg.domid)
		return nw_act_begin(w, &w->hg, false);
	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].domid == guest)
			/* Unplugged: the guest has no vif of ours to save. */
			return atomic_load(&w->g[i].unplugged) ? -ENOTSUP : nw_act_begin(w, &w->g[i], false);
	return -ENOTSUP;   /* not a guest of ours (the backend's domain has no vif frontend here) */
}
