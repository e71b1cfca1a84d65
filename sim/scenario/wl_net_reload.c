/*
 * The net workload's reload= (wl_net.c): the first guest's netfront is
 * closed and a new one opened on the same device at once, as a guest does
 * when its driver is reloaded, mid-stream, while netback is still Connected
 * to the old rings. The new netfront starts from its own state left Closed
 * and must wait for netback to start over (InitWait) before it publishes:
 * the traffic then goes on over the new connection, and the run's oracles
 * stay as they are (frames the closed rings held count as possible drops).
 */
#include <errno.h>
#include <string.h>

#include "sim/scenario/wl_net_internal.h"

/* Frames a closed connection's rings may have held: a ring each way, per
 * queue (netfront.h allows NETFRONT_QUEUES_MAX). */
#define NW_RELOAD_LOST_MAX (2u * 256u * NETFRONT_QUEUES_MAX)

static void nw_reload_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nw_guest *g = arg;
	struct nw *w = g->w;

	(void)fd;
	(void)what;
	if (!g->nf || !g->work || scn_wl_finished(w->wl))
		return;
	atomic_store(&g->reloaded, true);
	atomic_fetch_add(&w->reload_allowance, NW_RELOAD_LOST_MAX);
	network_event(g->work, NETFRONT_EV_FAILED);   /* sends stop: nothing to send on */
	netfront_close(g->nf);
	g->nf = NULL;
	int rc = nw_guest_open(g);
	if (rc < 0) {
		scn_wl_error(w->wl, "guest dom %u: reopening its netfront failed: %s", g->domid, strerror(-rc));
		return;
	}
	network_set_netfront(g->work, g->nf);
}

/* After a frame reached the guest (its thread, inside netfront's callback:
 * the reload runs later, from the loop). */
void nw_reload_maybe(struct nw_guest *g, uint64_t after)
{
	if (!after || g->index != 0 || atomic_load(&g->reloaded) || ++g->rx_seen < after)
		return;
	if (!g->reload_ev)
		g->reload_ev = event_new(sim_domain_event_base(), -1, 0, nw_reload_cb, g);
	if (g->reload_ev && !event_pending(g->reload_ev, EV_TIMEOUT, NULL))
		event_active(g->reload_ev, EV_TIMEOUT, 0);
}

void nw_reload_free(struct nw_guest *g)
{
	if (g->reload_ev)
		event_free(g->reload_ev);
	g->reload_ev = NULL;
}
