/*
 * Workload `evtchn-storm`: one domain notifies another's port as fast as it
 * can with nothing behind the events (XSA-332: a guest against its backend;
 * XSA-391: a driver domain against its frontends). The port is served by
 * drivers/xenbus's event channel (the one every driver here uses), whose
 * handler finds no work each time. A peer must not make the served end run
 * its handler once per notification: after a run of empty events the unmask
 * is delayed, so the storm coalesces. Then one notification with work must
 * still arrive (a delayed unmask may never lose an event).
 *
 * Checked: handler runs during the storm at most xst_runs_max() (the
 * storm-free allowance of xenbus plus the delays that can expire while the
 * storm goes on); the event with work is delivered (a lost one is a hang)
 * and soon (busy() for the stall oracle: a storm paced by interval= lasts,
 * delays grow to their cap, and the work must not wait much past it).
 * Counters: notifies, runs (handler runs, the last one with work), delayed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/workload.h"

#define XSA_STORM_PER_TURN 8u      /* notifications per turn of the stormer's loop */
#define XSA_STORM_RUNS_MAX (2u * XENBUS_EVTCHN_SPURIOUS_FREE + 16u)   /* xst_runs_max() */

enum xst_param { XST_P_STORMER, XST_P_VICTIM, XST_P_NOTIFIES, XST_P_INTERVAL, XST_P_COUNT };

static const struct scn_param xst_params[XST_P_COUNT + 1] = {
	[XST_P_STORMER] = {"stormer", SCN_P_DOMAIN, NULL, 0, 0, "the domain that notifies"},
	[XST_P_VICTIM] = {"victim", SCN_P_DOMAIN, NULL, 0, 0, "the domain whose port is stormed"},
	[XST_P_NOTIFIES] = {"notifies", SCN_P_UINT, "2000", 1, 1000000, "empty notifications"},
	[XST_P_INTERVAL] = {"interval", SCN_P_TIME, "0s", 0, 1000000000ull,
			    "virtual time between turns of the stormer (0: none, the storm is over at once)"},
};

enum xst_counter { XST_C_NOTIFIES, XST_C_RUNS, XST_C_DELAYED, XST_C_COUNT };
static const char *const xst_counters[XST_C_COUNT + 1] = {"notifies", "runs", "delayed", NULL};

struct xst {
	struct scn_wl *wl;
	domid_t stormer, victim;
	uint32_t notifies;
	uint64_t interval_ns;
	struct xenbus_evtchn *vch, *sch;    /* the victim's port, the stormer's end */
	struct event *turn;                 /* the stormer's loop, one turn at a time */
	_Atomic bool work;                  /* the storm is over: the next event has work */
	_Atomic uint64_t storm_runs;
	_Atomic uint64_t cnt[XST_C_COUNT];
};

/* Runs a storm may cost: the allowance before delays, as many again for the
 * delayed unmasks that fire while it lasts (virtual time moves only when
 * every domain idles: in det mode few, unless the stormer paces itself),
 * and one per longest delay of a paced storm's duration. */
static unsigned xst_runs_max(const struct xst *x)
{
	uint64_t turns = (x->notifies + XSA_STORM_PER_TURN - 1) / XSA_STORM_PER_TURN;

	return XSA_STORM_RUNS_MAX + (unsigned)(turns * x->interval_ns / (XENBUS_EVTCHN_DELAY_US_MAX * 1000ull));
}

static bool xst_victim_fn(void *arg)
{
	struct xst *x = arg;

	atomic_fetch_add(&x->cnt[XST_C_RUNS], 1);
	if (!atomic_load(&x->work)) {
		atomic_fetch_add(&x->storm_runs, 1);
		return false;
	}
	uint64_t runs = atomic_load(&x->storm_runs);
	if (runs > xst_runs_max(x))
		scn_wl_fail(x->wl, "XSA-332/391: dom %u ran its event handler %lu times for %u empty "
			    "notifications from dom %u (port %u), at most %u allowed: no storm limit",
			    x->victim, (unsigned long)runs, x->notifies, x->stormer,
			    xenbus_evtchn_port(x->vch), xst_runs_max(x));
	else if (!scn_wl_finished(x->wl))
		scn_wl_done(x->wl);
	return true;
}

static bool xst_stormer_fn(void *arg)
{
	(void)arg;
	return false;   /* nobody notifies the stormer */
}

/* One turn: a few notifications, then the loop runs again (after interval=). */
static void xst_turn(evutil_socket_t fd, short what, void *arg)
{
	struct xst *x = arg;
	const struct timeval next = scn_tv(x->interval_ns);

	(void)fd;
	(void)what;
	if (scn_wl_finished(x->wl))
		return;
	for (unsigned i = 0; i < XSA_STORM_PER_TURN && atomic_load(&x->cnt[XST_C_NOTIFIES]) < x->notifies; i++) {
		xenbus_evtchn_notify(x->sch);
		atomic_fetch_add(&x->cnt[XST_C_NOTIFIES], 1);
	}
	if (atomic_load(&x->cnt[XST_C_NOTIFIES]) < x->notifies) {
		event_add(x->turn, &next);
		return;
	}
	atomic_store(&x->work, true);
	xenbus_evtchn_notify(x->sch);
}

static int xst_victim_open(void *arg)
{
	struct xst *x = arg;

	return xenbus_evtchn_alloc(sim_domain_event_base(), x->stormer, xst_victim_fn, x, &x->vch);
}

static int xst_stormer_open(void *arg)
{
	struct xst *x = arg;
	static const struct timeval now = {0, 0};
	int rc = xenbus_evtchn_bind(sim_domain_event_base(), x->victim, xenbus_evtchn_port(x->vch),
				    xst_stormer_fn, x, &x->sch);

	if (rc < 0)
		return rc;
	x->turn = scn_ev_new(sim_domain_event_base(), -1, 0, xst_turn, x);
	if (!x->turn)
		return -ENOMEM;
	return event_add(x->turn, &now) < 0 ? -EIO : 0;
}

static int xst_start(struct scn_wl *wl)
{
	struct xst *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	wl->priv = x;
	x->wl = wl;
	x->stormer = scn_wl_domid(wl, XST_P_STORMER);
	x->victim = scn_wl_domid(wl, XST_P_VICTIM);
	scn_wl_hostile(wl, x->stormer);
	x->notifies = (uint32_t)scn_wl_u(wl, XST_P_NOTIFIES);
	x->interval_ns = scn_wl_u(wl, XST_P_INTERVAL);
	int rc = scn_wl_call(wl, x->victim, xst_victim_open, x);
	if (rc == 0)
		rc = scn_wl_call(wl, x->stormer, xst_stormer_open, x);
	if (rc < 0)
		scn_wl_error(wl, "event channel between dom %u and dom %u: %s", x->stormer, x->victim,
			     strerror(-rc));
	return 0;
}

static int xst_stormer_close(void *arg)
{
	struct xst *x = arg;

	if (x->turn)
		scn_ev_free(x->turn, true);
	if (x->sch)
		xenbus_evtchn_close(x->sch);
	return 0;
}

static int xst_victim_close(void *arg)
{
	struct xst *x = arg;
	struct xenbus_evtchn_stats st;

	if (!x->vch)
		return 0;
	xenbus_evtchn_stats(x->vch, &st);
	atomic_store(&x->cnt[XST_C_DELAYED], st.delayed);
	xenbus_evtchn_close(x->vch);
	return 0;
}

static void xst_stop(struct scn_wl *wl)
{
	struct xst *x = wl->priv;

	scn_wl_call(wl, x->stormer, xst_stormer_close, x);
	scn_wl_call(wl, x->victim, xst_victim_close, x);
	free(x);
}

/* The event with work is sent and its handler has not run: only the
 * victim's own unmask moves it on, no later than the longest delay. */
static bool xst_busy(struct scn_wl *wl, char *what, size_t len)
{
	const struct xst *x = wl->priv;

	if (!atomic_load(&x->work))
		return false;
	snprintf(what, len, "dom %u's event with work on port %u, after a storm from dom %u, not yet handled",
		 x->victim, x->vch ? xenbus_evtchn_port(x->vch) : 0, x->stormer);
	return true;
}

static uint64_t xst_counter(struct scn_wl *wl, unsigned index)
{
	struct xst *x = wl->priv;

	return index < XST_C_COUNT ? atomic_load(&x->cnt[index]) : 0;
}

const struct scn_wl_type scn_wl_evtchn_storm = {
	.name = "evtchn-storm",
	.what = "a domain notifies another's port with no work behind it; the storm must coalesce (XSA-332/391)",
	.params = xst_params,
	.counters = xst_counters,
	.start = xst_start,
	.busy = xst_busy,
	.stop = xst_stop,
	.counter = xst_counter,
};
