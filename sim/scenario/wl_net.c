/*
 * Workload `net`: the network driver pair of drivers/net under the engine.
 * The toolstack (the harness, acting for dom0) creates a vif per guest; the
 * backend domain runs one sim/switch and netback, every vif on the switch
 * (switch_netback_link); each guest runs netfront and, once every guest is
 * connected, the verified network workload (drivers/net/network.h): a bulk
 * stream and pings towards every other guest, every byte checked.
 *
 * The oracle, once every guest finished sending (judged on the backend's
 * thread, against what the switch and netback say they did): no corrupt
 * frame ever; duplicates only as many as the switch duplicated; frames out of
 * order only as many as it reordered; holes and ping timeouts only as many as
 * frames were dropped somewhere and counted (switch.loss, a full delay queue,
 * netback's queues, a grant copy refused, frames in flight); no frontend
 * disconnected for a protocol violation. A corrupt frame fails the run at
 * once (check()). Ping timeouts beyond the counted drops are a clean error,
 * not a failure: a ping may be late rather than lost (a lost notification
 * holds frames on a ring until the next one).
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/workload.h"
#include "sim/switch/switch.h"

#define NW_GUESTS_MAX 8u
#define NW_DEVID 0u

enum nw_param { NW_P_BACK, NW_P_GUESTS, NW_P_MESSAGES, NW_P_PINGS, NW_P_MAX, NW_P_LARGE,
		NW_P_FEATURES, NW_P_TIMEOUT, NW_P_TX_BUFS, NW_P_RX_BUFS, NW_P_QUEUES, NW_P_WINDOW,
		NW_P_COUNT };

static const struct scn_param nw_params[NW_P_COUNT + 1] = {
	[NW_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running netback and the switch"},
	[NW_P_GUESTS] = {"guests", SCN_P_DOMAINS, NULL, 0, 0, "the guests, a vif and netfront each (2..8)"},
	[NW_P_MESSAGES] = {"messages", SCN_P_UINT, "100", 0, 1000000, "bulk messages to each peer"},
	[NW_P_PINGS] = {"pings", SCN_P_UINT, "10", 0, 100000, "pings to each peer"},
	[NW_P_MAX] = {"max", SCN_P_SIZE, "65535", 60, 65535, "largest message frame (60..65535)"},
	[NW_P_LARGE] = {"large", SCN_P_PERCENT, "10", 0, 100, "messages above the MTU (GSO or cut)"},
	[NW_P_FEATURES] = {"features", SCN_P_STRING, "all", 0, 0,
			   "all: multi-queue, sg, GSO, csum offload, split evtchn, rx-notify; none"},
	[NW_P_TIMEOUT] = {"timeout", SCN_P_TIME, "200ms", 1000000, 60000000000ull,
			  "no ack or pong this long: given up (a lost frame)"},
	[NW_P_TX_BUFS] = {"tx-bufs", SCN_P_UINT, "0", 0, 256, "netfront tx pages per queue (18..256; 0: 256)"},
	[NW_P_RX_BUFS] = {"rx-bufs", SCN_P_UINT, "0", 0, 256, "netfront rx buffers per queue (18..256; 0: 256)"},
	[NW_P_QUEUES] = {"queues", SCN_P_UINT, "0", 0, 4, "queues per vif with features all (1..4; 0: 4)"},
	[NW_P_WINDOW] = {"window", SCN_P_SIZE, "0", 0, 16u << 20,
			 "unacknowledged bytes per peer (0: the workload's default)"},
};

enum nw_counter { NW_C_FRAMES, NW_C_SENT, NW_C_DROPS, NW_C_CORRUPT, NW_C_DUPLICATES, NW_C_OUT_OF_ORDER,
		  NW_C_GAPS, NW_C_PINGS, NW_C_CONNECTS, NW_C_FINISHED, NW_C_COUNT };
static const char *const nw_counters[NW_C_COUNT + 1] = {
	"frames", "sent", "drops", "corrupt", "duplicates", "out-of-order", "gaps", "pings", "connects",
	"finished", NULL,
};

struct nw;

struct nw_guest {
	struct nw *w;
	domid_t domid;
	unsigned index;
	bool alive;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[7];
	char mac[24], handle[12];
	struct netfront_config cfg;
	struct netfront *nf;
	struct network_config wcfg;
	struct network *work;
	bool started;
	/* Published on the guest's thread, read anywhere. */
	_Atomic uint64_t verified, sent, corrupt, duplicates, out_of_order, gaps, pings_ok;
	_Atomic unsigned connects;
	/* The result when this guest finished sending (under nw.lock). */
	struct network_result fin;
	struct netfront_stats fin_stats;
};

struct nw {
	struct scn_wl *wl;
	domid_t be;
	bool be_alive;
	unsigned n;
	struct nw_guest g[NW_GUESTS_MAX];
	struct netback_config bcfg;
	struct switch_config scfg;
	struct netback *nb;
	struct net_switch *sw;
	pthread_mutex_t lock;
	_Atomic unsigned started, finished;
	atomic_bool judged;
	_Atomic uint64_t drops;     /* published by the backend's thread */
	/* What a crash of the backend domain may have lost, uncounted: the
	 * drops its switch and netback had counted, and the frames in flight
	 * then (sent by the guests as each said soon after, less what had been
	 * received at the crash). */
	_Atomic uint64_t live_drops;    /* the running backend's own count */
	_Atomic uint64_t dead_drops, crash_sent, crash_verified;
	/* Duplicates and reorderings the switches of crashed backends made. */
	_Atomic uint64_t live_dups, live_reorders, dead_dups, dead_reorders;
};

static uint64_t nw_crash_allowance(struct nw *w)
{
	uint64_t add = atomic_load(&w->dead_drops) + atomic_load(&w->crash_sent);
	uint64_t sub = atomic_load(&w->crash_verified);

	return add > sub ? add - sub : 0;
}

/* ---- feature sets (tests/net_harness.h's all on / all off) ---- */

static void nw_features(struct nw *w, bool all)
{
	if (all)
		w->bcfg = (struct netback_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true,
						  .gso_tcpv6 = true, .ipv6_csum = true, .split_evtchn = true,
						  .tx_slots_max = 32, .tx_slots_fatal = 40};
	else
		w->bcfg = (struct netback_config){.queues_max = 1};
	for (unsigned i = 0; i < w->n; i++) {
		struct netfront_config *c = &w->g[i].cfg;
		if (all)
			*c = (struct netfront_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true,
						      .gso_tcpv6 = true, .csum = true, .ipv6_csum = true,
						      .split_evtchn = true, .rx_notify = true, .tx_slots_max = 32};
		else
			*c = (struct netfront_config){.queues_max = 1, .csum = false, .rx_notify = false};
		c->tx_bufs = (unsigned)scn_wl_u(w->wl, NW_P_TX_BUFS);
		c->rx_bufs = (unsigned)scn_wl_u(w->wl, NW_P_RX_BUFS);
		if (all && scn_wl_u(w->wl, NW_P_QUEUES))
			c->queues_max = (unsigned)scn_wl_u(w->wl, NW_P_QUEUES);
	}
}

/* ---- the backend's side: drops as counted by the switch and netback ---- */

static uint64_t nw_drops_of(const struct switch_stats *s, const struct netback_stats *b)
{
	return s->dropped_loss + s->dropped_queue + s->dropped_noport + s->dropped_runt + s->dropped_hairpin +
	       s->dropped_nomem + b->tx_dropped + b->tx_no_link + b->rx_dropped_full + b->rx_dropped_stalled +
	       b->rx_dropped_other + b->rx_dropped_down + b->rx_grant_errors;
}

static void nw_publish_back(struct nw *w, struct switch_stats *s, struct netback_stats *b)
{
	struct switch_stats s0 = {0};
	struct netback_stats b0 = {0};

	s = s ? s : &s0;
	b = b ? b : &b0;
	if (w->sw)
		switch_stats(w->sw, s);
	if (w->nb)
		netback_stats(w->nb, b);
	atomic_store(&w->live_drops, nw_drops_of(s, b));
	atomic_store(&w->live_dups, s->duplicated);
	atomic_store(&w->live_reorders, s->reordered);
	atomic_store(&w->drops, nw_drops_of(s, b) + nw_crash_allowance(w));
}

static int nw_link_attach(void *arg, struct netback_vif *vif, void **port)
{
	struct nw *w = arg;

	return switch_netback_link.attach(w->sw, vif, port);
}

static void nw_link_detach(void *arg, void *port)
{
	struct nw *w = arg;

	switch_netback_link.detach(w->sw, port);
}

static void nw_link_output(void *arg, void *port, struct netpkt *pkt)
{
	struct nw *w = arg;

	switch_netback_link.output(w->sw, port, pkt);
	nw_publish_back(w, NULL, NULL);
}

static const struct netback_link_ops nw_link = {
	.attach = nw_link_attach, .detach = nw_link_detach, .output = nw_link_output,
};

static int nw_back_start(void *arg)
{
	struct nw *w = arg;
	int rc;

	w->scfg = (struct switch_config){.base = sim_domain_event_base()};
	rc = switch_create(&w->scfg, &w->sw);
	if (rc < 0)
		return rc;
	w->bcfg.base = sim_domain_event_base();
	w->bcfg.link = &nw_link;
	w->bcfg.link_arg = w;
	return netback_start(&w->bcfg, &w->nb);
}

static int nw_back_stop(void *arg)
{
	struct nw *w = arg;

	if (w->nb)
		netback_stop(w->nb);   /* detaches every vif from the switch */
	w->nb = NULL;
	if (w->sw) {
		switch_check(w->sw);
		switch_destroy(w->sw);
	}
	w->sw = NULL;
	return 0;
}

/* The oracle, on the backend's thread once every guest finished sending. */
static void nw_judge(void *arg)
{
	struct nw *w = arg;
	struct switch_stats s = {0};
	struct netback_stats b = {0};
	uint64_t corrupt = 0, dups = 0, ooo = 0, gaps = 0, lost = 0, pto = 0, verified = 0, tx_lost = 0;
	char first[NETWORK_FAILURE_MAX] = "";

	if (atomic_exchange(&w->judged, true) || scn_wl_finished(w->wl))
		return;
	if (w->sw)
		switch_check(w->sw);
	nw_publish_back(w, &s, &b);
	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->n; i++) {
		const struct network_result *r = &w->g[i].fin;
		corrupt += r->corrupt;
		dups += r->duplicates;
		ooo += r->out_of_order;
		gaps += r->gaps;
		lost += r->lost_bytes;
		pto += r->ping_timeouts;
		verified += r->frames_verified;
		tx_lost += w->g[i].fin_stats.tx_lost + w->g[i].fin_stats.tx_errors + w->g[i].fin_stats.rx_errors;
		if (r->failure[0] && !first[0])
			snprintf(first, sizeof(first), "%s", r->failure);
	}
	pthread_mutex_unlock(&w->lock);
	uint64_t drops = nw_drops_of(&s, &b) + tx_lost + nw_crash_allowance(w);
	scn_wl_note(w->wl, w->be, "%lu frames verified; switch: %lu lost, %lu duplicated, %lu reordered, "
		    "%lu delayed; guests saw %lu duplicates, %lu out of order, %lu holes (%lu bytes), "
		    "%lu ping timeouts", verified, s.dropped_loss, s.duplicated, s.reordered, s.delayed,
		    dups, ooo, gaps, lost, pto);
	if (corrupt || first[0])
		scn_wl_fail(w->wl, "%lu corrupt frame(s): %s", corrupt, first[0] ? first : "?");
	else if (dups > s.duplicated + atomic_load(&w->dead_dups))
		scn_wl_fail(w->wl, "%lu duplicate frame(s) received, the switch duplicated %lu", dups,
			    s.duplicated + atomic_load(&w->dead_dups));
	else if (ooo > s.reordered + atomic_load(&w->dead_reorders))
		scn_wl_fail(w->wl, "%lu frame(s) out of order, the switch reordered %lu", ooo,
			    s.reordered + atomic_load(&w->dead_reorders));
	else if (gaps > drops)
		scn_wl_fail(w->wl, "%lu hole(s) in the streams, but only %lu frame(s) dropped where counted",
			    gaps, drops);
	else if (lost && !drops)
		scn_wl_fail(w->wl, "%lu bulk byte(s) never arrived, no frame dropped where counted", lost);
	else if (b.fatal)
		scn_wl_fail(w->wl, "netback disconnected %lu frontend(s) for a protocol violation", b.fatal);
	else if (gaps + pto > drops)
		/* A ping that timed out may only be late (a lost notification
		 * holds frames on a ring until the next one): not wrong data,
		 * but not a clean pass either. */
		scn_wl_error(w->wl, "%lu ping timeout(s) and %lu hole(s), but only %lu frame(s) dropped where "
			     "counted (frames held up?)", pto, gaps, drops);
	else
		scn_wl_done(w->wl);
}

/* ---- a guest ---- */

static void nw_guest_publish(struct nw_guest *g)
{
	struct network_result r;

	if (!g->work)
		return;
	network_result(g->work, &r);
	atomic_store(&g->verified, r.frames_verified);
	atomic_store(&g->sent, r.frames_sent);
	atomic_store(&g->corrupt, r.corrupt);
	atomic_store(&g->duplicates, r.duplicates);
	atomic_store(&g->out_of_order, r.out_of_order);
	atomic_store(&g->gaps, r.gaps);
	atomic_store(&g->pings_ok, r.pings_ok);
}

static void nw_guest_release(void *arg)
{
	struct nw_guest *g = arg;

	if (g->work)
		network_release(g->work);
}

static void nw_work_finished(void *arg)
{
	struct nw_guest *g = arg;
	struct nw *w = g->w;

	nw_guest_publish(g);
	pthread_mutex_lock(&w->lock);
	network_result(g->work, &g->fin);
	netfront_stats(g->nf, &g->fin_stats);
	pthread_mutex_unlock(&w->lock);
	if (atomic_fetch_add(&w->finished, 1) + 1 == w->n && sim_domain_post(w->be, nw_judge, w) < 0)
		scn_wl_error(w->wl, "backend dom %u gone before the verdict", w->be);
}

static void nw_guest_start_work(struct nw_guest *g)
{
	struct nw *w = g->w;
	struct scn_wl *wl = w->wl;

	g->wcfg = (struct network_config){
		.base = sim_domain_event_base(), .seed = scn_wl_seed(wl), .index = g->index, .peers = w->n,
		.messages = (uint32_t)scn_wl_u(wl, NW_P_MESSAGES), .pings = (uint32_t)scn_wl_u(wl, NW_P_PINGS),
		.size_min = 60, .size_max = (uint32_t)scn_wl_u(wl, NW_P_MAX),
		.large_pct = (unsigned)scn_wl_u(wl, NW_P_LARGE),
		.timeout_ms = (unsigned)(scn_wl_u(wl, NW_P_TIMEOUT) / 1000000u),
		.offload = strcmp(scn_wl_s(wl, NW_P_FEATURES), "all") == 0,
		.window_bytes = (uint32_t)scn_wl_u(wl, NW_P_WINDOW),
		.held = true,   /* nobody sends before everyone listens */
		.finished = nw_work_finished, .arg = g};
	int rc = network_start(g->nf, &g->wcfg, &g->work);
	if (rc < 0) {
		scn_wl_error(wl, "network_start (dom %u): %s", g->domid, strerror(-rc));
		return;
	}
	g->started = true;
	if (atomic_fetch_add(&w->started, 1) + 1 < w->n)
		return;
	for (unsigned i = 0; i < w->n; i++)
		if (sim_domain_post(w->g[i].domid, nw_guest_release, &w->g[i]) < 0)
			scn_wl_error(wl, "guest dom %u gone before the start", w->g[i].domid);
}

static void nw_guest_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct nw_guest *g = arg;

	(void)nf;
	if (!g->work)
		return;
	network_rx(g->work, rx);
	nw_guest_publish(g);
}

static void nw_guest_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct nw_guest *g = arg;

	if (ev == NETFRONT_EV_CONNECTED) {
		atomic_fetch_add(&g->connects, 1);
		if (!g->started)
			nw_guest_start_work(g);
	} else if (ev == NETFRONT_EV_FAILED) {
		const char *e = netfront_error(nf);
		scn_wl_error(g->w->wl, "netfront (dom %u) failed: %s", g->domid, e ? e : "?");
	}
	if (g->work)
		network_event(g->work, ev);
}

static int nw_guest_open(void *arg)
{
	struct nw_guest *g = arg;

	g->cfg.base = sim_domain_event_base();
	g->cfg.devid = NW_DEVID;
	g->cfg.on_rx = nw_guest_rx;
	g->cfg.on_event = nw_guest_event;
	g->cfg.arg = g;
	return netfront_open(&g->cfg, &g->nf);
}

static int nw_guest_close(void *arg)
{
	struct nw_guest *g = arg;

	network_free(g->work);
	g->work = NULL;
	netfront_close(g->nf);
	g->nf = NULL;
	return 0;
}

/* ---- the toolstack (the harness, as dom0) ---- */

static void nw_device(struct nw *w, struct nw_guest *g)
{
	uint8_t m[6];

	network_addr(g->index, m, NULL, NULL);
	snprintf(g->mac, sizeof(g->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	snprintf(g->handle, sizeof(g->handle), "%u", NW_DEVID);
	const char *fe[] = {"mac", g->mac, "handle", g->handle, NULL};
	const char *be[] = {"mac", g->mac, "handle", g->handle, "type", "vif", NULL};
	memcpy(g->fe_keys, fe, sizeof(fe));
	memcpy(g->be_keys, be, sizeof(be));
	g->dev = (struct xenbus_device){.type = "vif", .fe_domid = g->domid, .be_domid = w->be,
					.devid = NW_DEVID, .fe_keys = g->fe_keys, .be_keys = g->be_keys};
}

/* What the toolstack does: create the vifs, re-create the backend's halves
 * after a restart of its domain (the guests' halves live on), remove them. */
enum nw_ts { NW_TS_CREATE, NW_TS_BACKEND, NW_TS_REMOVE };

static int nw_ts_one(struct xs_handle *xs, enum nw_ts what, const struct xenbus_device *dev)
{
	return what == NW_TS_CREATE ? xenbus_device_create(xs, dev)
	       : what == NW_TS_BACKEND ? xenbus_device_backend_recreate(xs, dev)
				       : xenbus_device_remove(xs, dev);
}

static int nw_toolstack(struct nw *w, enum nw_ts what)
{
	bool create = what != NW_TS_REMOVE;
	struct xs_handle *xs;
	int rc = sim_thread_enter(0), rc2;

	if (rc < 0)
		return rc;
	xs = xs_open(0);
	if (!xs)
		rc = -errno;
	for (unsigned i = 0; xs && i < w->n; i++) {
		rc2 = nw_ts_one(xs, what, &w->g[i].dev);
		if (rc2 < 0 && rc == 0)
			rc = rc2;
		if (rc < 0 && create)
			break;
	}
	if (xs)
		xs_close(xs);
	sim_thread_leave();
	return rc;
}

/* ---- the workload ---- */

static int nw_start(struct scn_wl *wl)
{
	struct nw *w = calloc(1, sizeof(*w));
	domid_t doms[NW_GUESTS_MAX];
	int rc;

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	pthread_mutex_init(&w->lock, NULL);
	w->be = scn_wl_domid(wl, NW_P_BACK);
	w->n = scn_wl_domids(wl, NW_P_GUESTS, doms, NW_GUESTS_MAX);
	for (unsigned i = 0; i < w->n; i++) {
		w->g[i].w = w;
		w->g[i].domid = doms[i];
		w->g[i].index = i;
		nw_device(w, &w->g[i]);
	}
	nw_features(w, strcmp(scn_wl_s(wl, NW_P_FEATURES), "all") == 0);
	if (!sim_domain_alive(0)) {
		scn_wl_error(wl, "needs domain 0 (the toolstack): declare `domain dom0 priv`");
		return -ESRCH;
	}
	rc = nw_toolstack(w, NW_TS_CREATE);
	if (rc < 0)
		return rc;
	rc = scn_wl_call(wl, w->be, nw_back_start, w);
	if (rc == 0)
		w->be_alive = true;
	for (unsigned i = 0; rc == 0 && i < w->n; i++) {
		rc = scn_wl_call(wl, w->g[i].domid, nw_guest_open, &w->g[i]);
		w->g[i].alive = rc == 0;
	}
	if (rc < 0)
		scn_wl_error(wl, "set-up of the vifs (back dom %u) failed: %s", w->be, strerror(-rc));
	return 0;
}

/* On a guest soon after the backend crashed: what it has sent by now. */
static void nw_guest_count_sent(void *arg)
{
	struct nw_guest *g = arg;
	struct network_result r;

	if (!g->work)
		return;
	network_result(g->work, &r);
	atomic_fetch_add(&g->w->crash_sent, r.frames_sent);
}

/* The backend domain crashed: what its switch and netback counted, and what
 * was in flight, may be gone with it (a restart may follow). */
static void nw_back_crashed(struct nw *w)
{
	uint64_t got = 0;

	for (unsigned i = 0; i < w->n; i++) {
		got += atomic_load(&w->g[i].verified);
		if (w->g[i].alive && sim_domain_post(w->g[i].domid, nw_guest_count_sent, &w->g[i]) < 0)
			w->g[i].alive = false;
	}
	atomic_fetch_add(&w->crash_verified, got);
	atomic_fetch_add(&w->dead_drops, atomic_exchange(&w->live_drops, 0));
	atomic_fetch_add(&w->dead_dups, atomic_exchange(&w->live_dups, 0));
	atomic_fetch_add(&w->dead_reorders, atomic_exchange(&w->live_reorders, 0));
	w->be_alive = false;
	w->nb = NULL;
	w->sw = NULL;
}

/* A restarted backend domain: the toolstack puts the backends' halves back,
 * a new switch and netback serve them; the netfronts reconnect. */
static void nw_back_restart(struct nw *w)
{
	int rc = nw_toolstack(w, NW_TS_BACKEND);

	if (rc == 0)
		rc = scn_wl_call(w->wl, w->be, nw_back_start, w);
	if (rc == 0)
		w->be_alive = true;
	else
		scn_wl_error(w->wl, "backend dom %u: restart failed: %s", w->be, strerror(-rc));
}

static void nw_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct nw *w = wl->priv;
	bool ours = false;

	if (ev == SCN_DOM_RESTARTED) {
		if (domid == w->be)   /* a restarted guest: its crash ended the workload */
			nw_back_restart(w);
		return;
	}
	/* The drivers' state lived on that domain's loop, which is gone: it is
	 * not freed (a crash frees nothing in the guest either). */
	if (domid == w->be) {
		nw_back_crashed(w);
		return;   /* a restart may follow: the netfronts wait for the backend */
	}
	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].domid == domid) {
			ours = true;
			w->g[i].alive = false;
			w->g[i].nf = NULL;
			w->g[i].work = NULL;
		}
	if (ours)
		scn_wl_error(wl, "domain %u crashed", domid);
}

static void nw_check(struct scn_wl *wl)
{
	struct nw *w = wl->priv;

	for (unsigned i = 0; i < w->n; i++)
		if (atomic_load(&w->g[i].corrupt))
			scn_wl_fail(wl, "guest dom %u received %lu corrupt frame(s)", w->g[i].domid,
				    (uint64_t)atomic_load(&w->g[i].corrupt));
}

static void nw_stop(struct scn_wl *wl)
{
	struct nw *w = wl->priv;

	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].alive && sim_domain_alive(w->g[i].domid))
			scn_wl_call(wl, w->g[i].domid, nw_guest_close, &w->g[i]);
	if (w->be_alive && sim_domain_alive(w->be))
		scn_wl_call(wl, w->be, nw_back_stop, w);
	if (sim_domain_alive(0))
		nw_toolstack(w, NW_TS_REMOVE);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static uint64_t nw_counter(struct scn_wl *wl, unsigned index)
{
	struct nw *w = wl->priv;
	uint64_t v = 0;

	for (unsigned i = 0; i < w->n; i++) {
		const struct nw_guest *g = &w->g[i];
		switch (index) {
		case NW_C_FRAMES: v += atomic_load(&g->verified); break;
		case NW_C_SENT: v += atomic_load(&g->sent); break;
		case NW_C_CORRUPT: v += atomic_load(&g->corrupt); break;
		case NW_C_DUPLICATES: v += atomic_load(&g->duplicates); break;
		case NW_C_OUT_OF_ORDER: v += atomic_load(&g->out_of_order); break;
		case NW_C_GAPS: v += atomic_load(&g->gaps); break;
		case NW_C_PINGS: v += atomic_load(&g->pings_ok); break;
		case NW_C_CONNECTS: v += atomic_load(&g->connects); break;
		default: break;
		}
	}
	if (index == NW_C_DROPS)
		v = atomic_load(&w->drops);
	else if (index == NW_C_FINISHED)
		v = atomic_load(&w->finished);
	return v;
}

static int nw_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	unsigned n = (unsigned)__builtin_popcountll(a->u[NW_P_GUESTS]);

	if (n < 2 || n > NW_GUESTS_MAX) {
		snprintf(err, len, "guests: 2..%u domains, not %u", NW_GUESTS_MAX, n);
		return -EINVAL;
	}
	if (a->u[NW_P_GUESTS] & (1ull << a->u[NW_P_BACK])) {
		snprintf(err, len, "back must not be one of the guests");
		return -EINVAL;
	}
	for (unsigned p = NW_P_TX_BUFS; p <= NW_P_RX_BUFS; p++)
		if (a->u[p] != 0 && a->u[p] < 18) {
			snprintf(err, len, "%s=%llu: 0 (the default) or 18..256 (a packet may take 18 slots)",
				 nw_params[p].key, (unsigned long long)a->u[p]);
			return -EINVAL;
		}
	if (strcmp(a->s[NW_P_FEATURES], "all") != 0 && strcmp(a->s[NW_P_FEATURES], "none") != 0) {
		snprintf(err, len, "features=%s: all or none", a->s[NW_P_FEATURES]);
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_net = {
	.name = "net",
	.what = "netfronts on a switch through netback, verified bulk streams and pings (drivers/net)",
	.params = nw_params,
	.counters = nw_counters,
	.validate = nw_validate,
	.start = nw_start,
	.domain_event = nw_domain_event,
	.check = nw_check,
	.stop = nw_stop,
	.counter = nw_counter,
};
