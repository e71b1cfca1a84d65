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
 * holds frames on a ring until the next one); in a run with a pause action,
 * late pings are the pause's (a paused guest answers none), noted, not an
 * error.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/netpkt.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/access/access.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/hostile_net.h"
#include "sim/scenario/wl_net_internal.h"
#include "sim/switch/switch.h"

/* What netfront accepts (its config check): the list and the parser say the
 * same range, so a value the file may write never fails at run time. */
#define NW_NETIF_SLOTS_MIN 18u           /* XEN_NETIF_NR_SLOTS_MIN: netback's default */
#define NW_TX_BUFS_MIN (NW_NETIF_SLOTS_MIN + 1u)
#define NW_RX_BUFS_MIN NW_NETIF_SLOTS_MIN
/* netback's rx queue bound per queue (netback.h rx_queue_bytes_max): its own
 * floor (two of the largest frames) and ceiling; its default is 4 MiB. */
#define NW_RXQ_BYTES_MIN (2u * (NETPKT_FRAME_MAX + (unsigned)sizeof(struct netpkt)))
#define NW_RXQ_BYTES_MAX (256u << 20)

enum nw_param { NW_P_BACK, NW_P_GUESTS, NW_P_MESSAGES, NW_P_PINGS, NW_P_MAX, NW_P_LARGE,
		NW_P_FEATURES, NW_P_TIMEOUT, NW_P_TX_BUFS, NW_P_RX_BUFS, NW_P_QUEUES, NW_P_WINDOW,
		NW_P_HOSTILE, NW_P_HOSTILE_PACKETS, NW_P_RXQ_BYTES, NW_P_RELOAD, NW_P_AWAY, NW_P_COUNT };

static const struct scn_param nw_params[NW_P_COUNT + 1] = {
	[NW_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running netback and the switch"},
	[NW_P_GUESTS] = {"guests", SCN_P_DOMAINS, NULL, 0, 0, "the guests, a vif and netfront each (2..8)"},
	[NW_P_MESSAGES] = {"messages", SCN_P_UINT, "100", 0, 1000000, "bulk messages to each peer"},
	[NW_P_PINGS] = {"pings", SCN_P_UINT, "10", 0, 100000, "pings to each peer"},
	[NW_P_MAX] = {"max", SCN_P_SIZE, "65535", 60, 65535, "largest message frame (60..65535)"},
	[NW_P_LARGE] = {"large", SCN_P_PERCENT, "10", 0, 100, "messages above the MTU (GSO or cut)"},
	[NW_P_FEATURES] = {"features", SCN_P_STRING, "all", 0, 0,
			   "all: multi-queue, sg, GSO, csum offload, split evtchn, rx-notify; none; "
			   "mixed: odd guests none, guests 2, 6... no IPv6 partial checksums on rx; "
			   "fewer: guests all, netback no split, GSO v4 only, 2 queues"},
	[NW_P_TIMEOUT] = {"timeout", SCN_P_TIME, "200ms", 1000000, 60000000000ull,
			  "no ack or pong this long: given up (a lost frame)"},
	[NW_P_TX_BUFS] = {"tx-bufs", SCN_P_UINT, "256", NW_TX_BUFS_MIN, NW_BUFS_DEFAULT,
			  "netfront tx pages per queue (a frame's slots and one more, up to a ring)"},
	[NW_P_RX_BUFS] = {"rx-bufs", SCN_P_UINT, "256", NW_RX_BUFS_MIN, NW_BUFS_DEFAULT,
			  "netfront rx buffers per queue (a frame's slots, up to a ring)"},
	[NW_P_QUEUES] = {"queues", SCN_P_UINT, "0", 0, 4, "queues per vif with features all (1..4; 0: 4)"},
	[NW_P_WINDOW] = {"window", SCN_P_SIZE, "0", 0, 16u << 20,
			 "unacknowledged bytes per peer (0: the workload's default)"},
	[NW_P_HOSTILE] = {"hostile", SCN_P_STRING, "", 0, 0,
			  "a domain running a hostile netfront on the same netback (net.hostile.front.* faults)"},
	[NW_P_HOSTILE_PACKETS] = {"hostile-packets", SCN_P_UINT, "200", 1, HOSTILE_FRONT_PACKETS_MAX,
				  "packets the hostile netfront sends"},
	[NW_P_RXQ_BYTES] = {"rx-queue-bytes", SCN_P_SIZE, "4194304", NW_RXQ_BYTES_MIN, NW_RXQ_BYTES_MAX,
			    "netback's bound on the bytes queued towards a guest, per queue (XSA-392)"},
	[NW_P_RELOAD] = {"reload", SCN_P_UINT, "0", 0, 1000000,
			 "frames the first guest receives before its netfront is closed and opened again (0: never)"},
	[NW_P_AWAY] = {"away", SCN_P_TIME, "30s", 1000000, 600000000000ull,
		       "netfront's bounded wait for a backend whose directory vanished"},
};

enum nw_counter { NW_C_FRAMES, NW_C_SENT, NW_C_DROPS, NW_C_CORRUPT, NW_C_DUPLICATES, NW_C_OUT_OF_ORDER,
		  NW_C_GAPS, NW_C_PINGS, NW_C_CONNECTS, NW_C_FINISHED, NW_C_SUSPENDS, NW_C_UNPLUGS,
		  NW_C_H_SENT, NW_C_H_ANSWERED, NW_C_H_ERRORS, NW_C_H_LIES, NW_C_H_DISCONNECTS, NW_C_H_OUTPUT,
		  NW_C_H_RX, NW_C_H_REWRITES, NW_C_COUNT };
static const char *const nw_counters[NW_C_COUNT + 1] = {
	"frames", "sent", "drops", "corrupt", "duplicates", "out-of-order", "gaps", "pings", "connects",
	"finished", "suspends", "unplugs", "hostile-sent", "hostile-answered", "hostile-errors", "hostile-lies",
	"hostile-disconnects", "hostile-output", "hostile-rx", "hostile-rewrites", NULL,
};


static uint64_t nw_crash_allowance(struct nw *w)
{
	uint64_t add = atomic_load(&w->dead_drops) + atomic_load(&w->crash_sent);
	uint64_t sub = atomic_load(&w->crash_verified);

	return add > sub ? add - sub : 0;
}

/* ---- feature sets (tests/net_harness.h's all on / all off) ---- */

/* features=all, none, or mixed: the backend offers everything, guests 0,
 * 2, 4... take it all and guests 1, 3... nothing, so frames cross between
 * ends that negotiated differently; of mixed's, guests 2, 6... refuse IPv6
 * partial checksums on rx (feature-ipv6-csum-offload 0: each end's key is
 * what it takes) yet send them, as netback offers them. */
static void nw_features(struct nw *w, const char *features)
{
	bool mixed = strcmp(features, "mixed") == 0, fewer = strcmp(features, "fewer") == 0;
	bool all = mixed || fewer || strcmp(features, "all") == 0;

	if (all)
		w->bcfg = (struct netback_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true,
						  .gso_tcpv6 = true, .ipv6_csum = true, .split_evtchn = true,
						  .tx_slots_max = 32, .tx_slots_fatal = 40};
	else
		w->bcfg = (struct netback_config){.queues_max = 1};
	if (fewer)   /* the guests ask for more than netback offers */
		nw_features_fewer(&w->bcfg);
	w->bcfg.rx_queue_bytes_max = (unsigned)scn_wl_u(w->wl, NW_P_RXQ_BYTES);
	for (unsigned i = 0; i < w->n; i++) {
		struct netfront_config *c = &w->g[i].cfg;
		if (all && !(mixed && i % 2))
			*c = (struct netfront_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true,
						      .gso_tcpv6 = true, .csum = true, .ipv6_csum = true,
						      .split_evtchn = true, .rx_notify = true, .tx_slots_max = 32};
		else
			*c = (struct netfront_config){.queues_max = 1, .csum = false, .rx_notify = false};
		if (mixed && i % 4 == 2)
			c->ipv6_csum = false;
		c->tx_bufs = (unsigned)scn_wl_u(w->wl, NW_P_TX_BUFS);
		c->rx_bufs = (unsigned)scn_wl_u(w->wl, NW_P_RX_BUFS);
		c->away_timeout_ms = (unsigned)(scn_wl_u(w->wl, NW_P_AWAY) / 1000000u);
		if (c->sg && scn_wl_u(w->wl, NW_P_QUEUES))
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
	atomic_store(&w->fatal, b->fatal);
	atomic_store(&w->no_link, b->tx_no_link);
	atomic_store(&w->slots_peak, b->tx_slots_peak);
	atomic_store(&w->rxq_peak, b->rx_queue_bytes_peak);
}

static int nw_link_attach(void *arg, struct netback_vif *vif, void **port)
{
	struct nw *w = arg;
	struct netback_vif_info in;

	netback_vif_info(vif, &in);
	if (w->has_hostile && in.fe_domid == w->hg.domid) {
		w->hvif = vif;
		*port = &w->hg;
		return 0;
	}
	int rc = switch_netback_link.attach(w->sw, vif, port);
	if (rc == 0)
		nw_link_attached(w, vif, *port);
	return rc;
}

static void nw_link_detach(void *arg, void *port)
{
	struct nw *w = arg;

	if (port == &w->hg) {
		w->hvif = NULL;
	} else {
		nw_link_detached(w, port);
		switch_netback_link.detach(w->sw, port);
	}
}

/* A frame from the hostile frontend: one a correct netback could pass on,
 * or the run fails; then back into its vif (it checks what it receives). */
static void nw_hostile_output(struct nw *w, struct netpkt *pkt)
{
	char why[512];

	if (w->hf && hostile_front_output(w->hf, pkt->np_data, pkt->np_len, why, sizeof(why)) < 0) {
		scn_wl_fail(w->wl, "%s", why);
		netpkt_free(pkt);
		return;
	}
	atomic_fetch_add(&w->reflected, 1);
	if (!w->hvif) {
		netpkt_free(pkt);
		atomic_fetch_add(&w->refl_dropped, 1);
		atomic_fetch_add(&w->refl_unlinked, 1);
	} else if (netback_vif_input(w->hvif, pkt) < 0) {
		atomic_fetch_add(&w->refl_dropped, 1);
	}
}

static void nw_link_output(void *arg, void *port, struct netpkt *pkt)
{
	struct nw *w = arg;

	if (port == &w->hg)
		nw_hostile_output(w, pkt);
	else
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

/* What the hostile frontend cost in counted drops (its errors, frames
 * reflected to it that did not arrive whole), so that they do not excuse the
 * good guests' holes. NULL if all is well with it. */
static const char *nw_judge_hostile(struct nw *w, const struct netback_stats *b, uint64_t *h_drops, uint64_t *h_fatal,
				    char *buf, size_t len)
{
	struct hostile_front_stats hs;

	*h_drops = *h_fatal = 0;
	if (!w->has_hostile || !w->hf)
		return NULL;
	hostile_front_stats(w->hf, &hs);
	/* Reflected frames that never came back, less those dropped here
	 * (netback never counted them: they must not take its drops away). */
	uint64_t refl = atomic_load(&w->reflected), back = hs.rx_frames + atomic_load(&w->refl_unlinked);
	*h_drops = hs.errors + (refl > back ? refl - back : 0);
	*h_fatal = hostile_front_fatal_expected(w->hf);
	scn_wl_note(w->wl, w->hg.domid, "hostile: %lu packets sent (%lu lies), %lu answered OKAY, %lu errors, %lu "
		    "passed on, %lu reflected, %lu received back, %lu disconnections", hs.sent, hs.lies, hs.okay,
		    hs.errors, hs.output, refl, hs.rx_frames, hs.disconnects);
	return hostile_front_verdict(w->hf, b->tx_no_link, buf, len);
}

static void nw_judge(void *arg);

static void nw_judge_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nw_judge(arg);
}

/* Netback has frames queued to deliver, and the guests buffers for them,
 * when it ran last before the verdict was posted (a backend domain just
 * unpaused, say): it gets steps of its own first (true: judged later). What
 * is left queued after those is left for good (nw_judge_idle_rxq). A queue
 * it stalled just now (its timers ran late: the backend was paused) is
 * served again only at its next look, a poll period away for a frontend
 * without rx-notify: the verdict waits for that too (nw_judge_unstalls). */
static bool nw_judge_later(struct nw *w, const struct netback_stats *b)
{
	if (b->rx_stalls > b->rx_unstalls && w->judge_stall_waits < NW_JUDGE_STALL_WAITS_MAX) {
		struct timeval tv = scn_tv(NW_JUDGE_STALL_WAIT_MS * 1000000ull);
		w->judge_stall_waits++;
		return event_base_once(sim_domain_event_base(), -1, EV_TIMEOUT, nw_judge_timer, w, &tv) == 0;
	}
	if (!b->rx_queued_bytes || w->judge_defers >= NW_JUDGE_DEFERS_MAX)
		return false;
	w->judge_defers++;
	return sim_domain_post(w->be, nw_judge, w) == 0;
}

/* What netback's own counters and state say at the verdict: the hostile
 * front's account, then the idle-point oracles. NULL: nothing wrong. */
static const char *nw_judge_backend(struct nw *w, const struct netback_stats *b, uint64_t *h_drops,
				    uint64_t *h_fatal, char *buf, size_t len)
{
	const char *bad = nw_judge_hostile(w, b, h_drops, h_fatal, buf, len);

	if (!bad)
		bad = nw_judge_idle_maps(w, buf, len);
	bool paused = nw_guest_paused(w);
	if (!bad && !w->has_hostile && b->rx_queued_bytes && !paused)
		bad = nw_judge_idle_rxq(w, b->rx_queued_bytes, buf, len);
	if (!bad && b->rx_stalls && nw_calm(w))
		bad = nw_judge_stalls(w, b->rx_stalls, buf, len);
	if (!bad && b->rx_stalls > b->rx_unstalls && nw_undisturbed(w) && !paused)
		bad = nw_judge_unstalls(w, b->rx_stalls, b->rx_unstalls, buf, len);
	return bad;
}

/* What the guests' verified workloads saw, all guests together. */
struct nw_tally {
	struct network_result r;   /* summed over the guests, the first failure kept */
	uint64_t tx_lost;          /* netfront's frames lost and errors */
};

static void nw_tally_guests(struct nw *w, struct nw_tally *t)
{
	*t = (struct nw_tally){.r.finished = true};
	pthread_mutex_lock(&w->lock);
	for (unsigned i = 0; i < w->n; i++) {
		const struct netfront_stats *fs = &w->g[i].fin_stats;
		network_result_add(&t->r, &w->g[i].fin);
		t->tx_lost += fs->tx_lost + fs->tx_errors + fs->rx_errors;
	}
	pthread_mutex_unlock(&w->lock);
}

/* Every check passed but the pings: a ping that timed out beyond the
 * counted drops may only be late (a lost notification holds frames on a
 * ring until the next one): not wrong data, but not a clean pass either,
 * unless the run paused a domain, which answers no ping while the pause
 * lasts (shorter than netback's stall bound, nothing is dropped). */
static void nw_judge_pings(struct nw *w, uint64_t pto, uint64_t gaps, uint64_t drops)
{
	if (gaps + pto > drops && !scn_wl_pauses(w->wl)) {
		scn_wl_error(w->wl, "%lu ping timeout(s) and %lu hole(s), but only %lu frame(s) dropped where "
			     "counted (frames held up?)", pto, gaps, drops);
		return;
	}
	if (gaps + pto > drops)
		scn_wl_note(w->wl, w->be, "%lu ping timeout(s) and %lu hole(s), %lu frame(s) dropped where "
			    "counted: pings late across the run's pause(s)", pto, gaps, drops);
	scn_wl_done(w->wl);
}

/* The oracle, on the backend's thread once every guest finished sending. */
static void nw_judge(void *arg)
{
	struct nw *w = arg;
	struct switch_stats s = {0};
	struct netback_stats b = {0};
	struct nw_tally t;
	char hwhy[512];
	uint64_t h_drops, h_fatal;

	if (atomic_load(&w->judged) || scn_wl_finished(w->wl))
		return;
	nw_publish_back(w, &s, &b);
	if (nw_judge_later(w, &b) || atomic_exchange(&w->judged, true))
		return;
	if (w->sw)
		switch_check(w->sw);
	nw_tally_guests(w, &t);
	uint64_t dups = t.r.duplicates, ooo = t.r.out_of_order, gaps = t.r.gaps;
	const char *hbad = nw_judge_backend(w, &b, &h_drops, &h_fatal, hwhy, sizeof(hwhy));
	uint64_t drops = nw_drops_of(&s, &b) + t.tx_lost + nw_crash_allowance(w) + atomic_load(&w->reload_allowance);
	/* A vif the toolstack took down left the switch, which forgot its MAC:
	 * frames to it went flooded to the other ports, and missed it. */
	if (atomic_load(&w->suspends) || atomic_load(&w->unplugs))
		drops += s.flooded;
	drops = drops > h_drops ? drops - h_drops : 0;
	scn_wl_note(w->wl, w->be, "%lu frames verified; switch: %lu lost, %lu duplicated, %lu reordered, "
		    "%lu delayed; guests saw %lu duplicates, %lu out of order, %lu holes (%lu bytes), "
		    "%lu ping timeouts", t.r.frames_verified, s.dropped_loss, s.duplicated, s.reordered, s.delayed,
		    dups, ooo, gaps, t.r.lost_bytes, t.r.ping_timeouts);
	if (hbad)
		scn_wl_fail(w->wl, "%s", hbad);
	else if (t.r.corrupt || t.r.failure[0])
		scn_wl_fail(w->wl, "%lu corrupt frame(s): %s", t.r.corrupt, t.r.failure[0] ? t.r.failure : "?");
	else if (dups > s.duplicated + atomic_load(&w->dead_dups))
		scn_wl_fail(w->wl, "%lu duplicate frame(s) received, the switch duplicated %lu", dups,
			    s.duplicated + atomic_load(&w->dead_dups));
	else if (ooo > s.reordered + atomic_load(&w->dead_reorders))
		scn_wl_fail(w->wl, "%lu frame(s) out of order, the switch reordered %lu", ooo,
			    s.reordered + atomic_load(&w->dead_reorders));
	else if (gaps > drops)
		scn_wl_fail(w->wl, "%lu hole(s) in the streams, but only %lu frame(s) dropped where counted",
			    gaps, drops);
	else if (t.r.lost_bytes && !drops)
		scn_wl_fail(w->wl, "%lu bulk byte(s) never arrived, no frame dropped where counted", t.r.lost_bytes);
	else if (!w->has_hostile && !sim_fault_injected_total() && b.tx_dropped > b.tx_grant_errors)
		/* Our netfronts send only what netback offered, well-formed: a
		 * frame netback refused (not for a grant error) is a disagreement
		 * of the two ends, a bug in one of them, even if the streams
		 * carried on. */
		scn_wl_fail(w->wl, "netback refused %lu frame(s) of its well-behaved netfronts (no fault "
			    "injected, no hostile frontend; its log says why)", b.tx_dropped - b.tx_grant_errors);
	else if (b.fatal > h_fatal + sim_access_jumped(DOMID_INVALID))   /* a jumped index: one */
		scn_wl_fail(w->wl, "netback disconnected %lu frontend(s) for a protocol violation (%lu of them the "
			    "hostile one, for a packet that called for it)", b.fatal, h_fatal);
	else
		nw_judge_pings(w, t.r.ping_timeouts, gaps, drops);   /* gaps <= drops here */
}

/* ---- a guest ---- */

/* Every guest finished, and the hostile frontend too: judge on the backend's
 * thread (it reads netback's and the switch's counters). */
void nw_judge_soon(struct nw *w)
{
	if (atomic_load(&w->finished) < w->n || (w->has_hostile && !atomic_load(&w->h_done)))
		return;
	if (sim_domain_post(w->be, nw_judge, w) < 0)
		scn_wl_error(w->wl, "backend dom %u gone before the verdict", w->be);
}

/* ---- the hostile frontend ---- */

static void nw_hostile_done(void *arg)
{
	struct nw *w = arg;

	atomic_store(&w->h_done, true);
	nw_judge_soon(w);
}

static int nw_hostile_open(void *arg)
{
	struct nw *w = arg;
	struct hostile_front_config c = {.wl = w->wl, .domid = w->hg.domid, .back = w->be, .devid = NW_DEVID,
					 .seed = scn_wl_seed(w->wl) ^ 0x5bd1e995u,
					 .packets = (uint32_t)scn_wl_u(w->wl, NW_P_HOSTILE_PACKETS),
					 .done = nw_hostile_done, .arg = w};

	/* netback.h: tx_slots_max 0 is XEN_NETIF_NR_SLOTS_MIN, tx_slots_fatal 0
	 * is tx_slots_max + 2. */
	c.slots_max = w->bcfg.tx_slots_max ? w->bcfg.tx_slots_max : NW_NETIF_SLOTS_MIN;
	c.slots_fatal = w->bcfg.tx_slots_fatal ? w->bcfg.tx_slots_fatal : c.slots_max + 2;
	network_addr(w->hg.index, c.mac, NULL, NULL);
	return hostile_front_open(&c, &w->hf);
}

static int nw_hostile_close(void *arg)
{
	struct nw *w = arg;

	hostile_front_close(w->hf);
	w->hf = NULL;
	return 0;
}

/* hostile=NAME: a declared domain, not the backend nor a guest. */
static int nw_hostile_find(struct nw *w, const char *name)
{
	for (unsigned d = 0; d < DOMID_FIRST_RESERVED; d++) {
		if (!sim_domain_alive((domid_t)d) || strcmp(sim_domain_name((domid_t)d), name) != 0)
			continue;
		for (unsigned i = 0; i < w->n; i++)
			if (w->g[i].domid == d)
				return -EINVAL;
		return d == w->be ? -EINVAL : (int)d;
	}
	return -ENOENT;
}

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

/* Guest thread: stop waiting for the peers unplugged since last time. */
void nw_guest_forget_peers(void *arg)
{
	struct nw_guest *g = arg;
	unsigned gone = atomic_load(&g->w->gone);

	if (!g->work)
		return;
	for (unsigned i = 0; i < g->w->n; i++)
		if ((gone & ~g->forgotten) & (1u << i))
			network_peer_gone(g->work, i);
	g->forgotten |= gone;
	nw_guest_publish(g);
}

/* Guest g started its workload, or was unplugged before it did: once every
 * guest got this far, the started ones send (any thread). */
void nw_barrier_arrive(struct nw *w, struct nw_guest *g)
{
	bool release = false;

	pthread_mutex_lock(&w->lock);
	if (!g->arrived) {
		g->arrived = true;
		w->arrived++;
	}
	if (w->arrived == w->n && !w->released)
		release = w->released = true;
	pthread_mutex_unlock(&w->lock);
	for (unsigned i = 0; release && i < w->n; i++)
		if (!atomic_load(&w->g[i].gone) && sim_domain_post(w->g[i].domid, nw_guest_release, &w->g[i]) < 0)
			scn_wl_error(w->wl, "guest dom %u gone before the start", w->g[i].domid);
}

static void nw_work_finished(void *arg)
{
	struct nw_guest *g = arg;
	struct nw *w = g->w;

	struct netfront_stats stats;
	struct netfront_info info;
	struct network_result fin;

	nw_guest_publish(g);
	/* Read before the lock: netfront_stats reads the shared rings, a
	 * scheduling point under access tracing, where no lock may be held. */
	network_result(g->work, &fin);
	netfront_stats(g->nf, &stats);
	unsigned queues = netfront_info(g->nf, &info) == 0 && info.connected ? info.queues : 0;
	pthread_mutex_lock(&w->lock);
	g->fin = fin;
	g->fin_stats = stats;
	g->fin_queues = queues;
	pthread_mutex_unlock(&w->lock);
	if (atomic_fetch_add(&w->finished, 1) + 1 == w->n)
		nw_judge_soon(w);
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
		.offload = g->cfg.sg,   /* this guest's feature set is all */
		.window_bytes = (uint32_t)scn_wl_u(wl, NW_P_WINDOW),
		.held = true,   /* nobody sends before everyone listens */
		.finished = nw_work_finished, .arg = g};
	int rc = network_start(g->nf, &g->wcfg, &g->work);
	if (rc < 0) {
		scn_wl_error(wl, "network_start (dom %u): %s", g->domid, strerror(-rc));
		return;
	}
	g->started = true;
	nw_guest_forget_peers(g);   /* unplugged before we started */
	nw_barrier_arrive(w, g);
}

static void nw_guest_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct nw_guest *g = arg;
	const char *bad = nw_rx_offload_bad(g, rx);

	(void)nf;
	if (bad)
		scn_wl_fail(g->w->wl, "guest dom %u received a frame of %u bytes (flags %#x, GSO type %u) with %s",
			    g->domid, rx->len, rx->flags, rx->gso_type, bad);
	if (!g->work)
		return;
	network_rx(g->work, rx);
	nw_guest_publish(g);
	nw_reload_maybe(g, scn_wl_u(g->w->wl, NW_P_RELOAD));
}

/* How many times the file wrote this guest's frontend state (xs-write). */
static unsigned nw_fe_state_faked(const struct nw_guest *g)
{
	char path[96];

	snprintf(path, sizeof(path), "/local/domain/%u/device/vif/%u/state", g->domid, NW_DEVID);
	return scn_wl_state_faked(g->w->wl, path);
}

static void nw_guest_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct nw_guest *g = arg;

	nw_guest_tx_ready_mark(g, ev);
	if (ev == NETFRONT_EV_CONNECTED) {
		char why[256];
		atomic_fetch_add(&g->connects, 1);
		g->fakes_at_up = nw_fe_state_faked(g);
		if (nw_probe_tx_limits(nf, why, sizeof(why)) || nw_judge_negotiated(g, nf, why, sizeof(why)))
			scn_wl_fail(g->w->wl, "guest dom %u: %s", g->domid, why);
		if (!g->started && !atomic_load(&g->gone))
			nw_guest_start_work(g);
		if (!atomic_load(&g->acting))
			atomic_store(&g->expect_down, false);
	} else if (ev == NETFRONT_EV_DISCONNECTED) {
		/* The first disconnection after the backend died is that death's,
		 * even if a connection to the dead one was reported in between
		 * (its CONNECTED can come after the death and clear expect_down). */
		unsigned deaths = atomic_load(&g->w->be_deaths);
		bool death = deaths != g->deaths_at_down;
		g->deaths_at_down = deaths;
		/* The file wrote our state since we connected (a frontend closed
		 * or starting over, as the backend sees it): netback let go for it. */
		bool faked = nw_fe_state_faked(g) != g->fakes_at_up;
		if (!atomic_load(&g->expect_down) && !death && !faked)
			atomic_store(&g->kicked, true);   /* check() fails the run with netback's reason */
		char why[256];
		if (!death && !atomic_load(&g->w->be_deaths) && nw_judge_rx_taken(g, why, sizeof(why)))
			scn_wl_fail(g->w->wl, "guest dom %u: %s", g->domid, why);
		if (g->down_ends_act) {
			g->down_ends_act = false;
			atomic_store(&g->acting, false);
		}
	} else if (ev == NETFRONT_EV_FAILED) {
		const char *e = netfront_error(nf);
		/* Unplugged: the toolstack's destroy removes the device, which
		 * netfront may see before the harness closes it; a backend that
		 * broke the protocol meanwhile is still an error. */
		if (atomic_load(&g->gone) && netfront_error_code(nf) != -EPROTO)
			scn_wl_note(g->w->wl, g->domid, "netfront of the unplugged vif: %s", e ? e : "?");
		else
			scn_wl_error(g->w->wl, "netfront (dom %u) failed: %s", g->domid, e ? e : "?");
	}
	if (g->work)
		network_event(g->work, ev);
}

int nw_guest_open(void *arg)
{
	struct nw_guest *g = arg;

	g->cfg.base = sim_domain_event_base();
	g->cfg.devid = NW_DEVID;
	g->cfg.on_rx = nw_guest_rx;
	g->cfg.on_event = nw_guest_event;
	g->cfg.arg = g;
	return netfront_open(&g->cfg, &g->nf);
}

int nw_guest_close(void *arg)
{
	struct nw_guest *g = arg;

	nw_guest_tx_ready_check(g);
	scn_wl_check_netfront_pools(g->w->wl, g->domid, g->nf);
	nw_reload_free(g);
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


static int nw_ts_one(struct xs_handle *xs, enum nw_ts what, const struct xenbus_device *dev)
{
	return what == NW_TS_CREATE ? xenbus_device_create(xs, dev)
	       : what == NW_TS_BACKEND ? xenbus_device_backend_recreate(xs, dev)
				       : xenbus_device_remove(xs, dev);
}

/* Do it for every vif (only: just that one). */
int nw_toolstack(struct nw *w, enum nw_ts what, struct nw_guest *only)
{
	bool create = what != NW_TS_REMOVE;
	struct xs_handle *xs;
	int rc = sim_thread_enter(0), rc2;

	if (rc < 0)
		return rc;
	xs = xs_open(0);
	if (!xs)
		rc = -errno;
	for (unsigned i = 0; xs && i <= w->n; i++) {
		struct nw_guest *g = i < w->n ? &w->g[i] : &w->hg;
		/* Unplugged, or being unplugged (its destroy removes it). */
		if (only ? g != only : (i == w->n && !w->has_hostile) || atomic_load(&g->unplugged) || g->destroy)
			continue;
		rc2 = nw_ts_one(xs, what, &g->dev);
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
	w->faults_at_start = sim_fault_count();
	w->be = scn_wl_domid(wl, NW_P_BACK);
	w->n = scn_wl_domids(wl, NW_P_GUESTS, doms, NW_GUESTS_MAX);
	for (unsigned i = 0; i < w->n; i++) {
		w->g[i].w = w;
		w->g[i].domid = doms[i];
		w->g[i].index = i;
		nw_device(w, &w->g[i]);
	}
	nw_features(w, scn_wl_s(wl, NW_P_FEATURES));
	if (scn_wl_s(wl, NW_P_HOSTILE)[0]) {
		int d = nw_hostile_find(w, scn_wl_s(wl, NW_P_HOSTILE));
		if (d < 0) {
			scn_wl_error(wl, "hostile=%s: %s", scn_wl_s(wl, NW_P_HOSTILE),
				     d == -ENOENT ? "no such domain" : "must be neither the backend nor a guest");
			return d;
		}
		w->has_hostile = true;
		scn_wl_hostile(wl, (domid_t)d);
		w->hg = (struct nw_guest){.w = w, .domid = (domid_t)d, .index = w->n};
		nw_device(w, &w->hg);
	}
	if (!sim_domain_alive(0)) {
		scn_wl_error(wl, "needs domain 0 (the toolstack): declare `domain dom0 priv`");
		return -ESRCH;
	}
	rc = nw_toolstack(w, NW_TS_CREATE, NULL);
	if (rc < 0)
		return rc;
	rc = scn_wl_call(wl, w->be, nw_back_start, w);
	if (rc == 0)
		w->be_alive = true;
	for (unsigned i = 0; rc == 0 && i < w->n; i++) {
		rc = scn_wl_call(wl, w->g[i].domid, nw_guest_open, &w->g[i]);
		w->g[i].alive = rc == 0;
	}
	if (rc == 0 && w->has_hostile) {
		rc = scn_wl_call(wl, w->hg.domid, nw_hostile_open, w);
		w->h_alive = rc == 0;
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
	nw_act_backend_gone(w);
}

/* A restarted backend domain: the toolstack puts the backends' halves back,
 * a new switch and netback serve them; the netfronts reconnect. */
static void nw_back_restart(struct nw *w)
{
	int rc = nw_toolstack(w, NW_TS_BACKEND, NULL);

	if (rc == 0)
		rc = scn_wl_call(w->wl, w->be, nw_back_start, w);
	if (rc == 0) {
		w->be_alive = true;
		nw_act_backend_back(w);
		/* A verdict posted to the domain that died (the guests finished
		 * while it was paused) died with it: post it again. */
		nw_judge_soon(w);
	} else {
		scn_wl_error(w->wl, "backend dom %u: restart failed: %s", w->be, strerror(-rc));
	}
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
		atomic_fetch_add(&w->be_deaths, 1);
		nw_back_crashed(w);
	}
	for (unsigned i = 0; i < w->n; i++) {
		atomic_store(&w->g[i].expect_down, true);   /* a backend gone drops every vif */
		if (w->g[i].domid == domid) {
			ours = true;
			w->g[i].alive = false;
			w->g[i].nf = NULL;
			w->g[i].work = NULL;
		}
	}
	if (w->has_hostile && domid == w->hg.domid) {
		ours = true;
		w->h_alive = false;   /* its memory goes at stop: the backend may still look at it */
	}
	if (ours)
		scn_wl_error(wl, "domain %u %s", domid, scn_wl_gone(wl, domid));
}

/* Documented limits, while the run goes: netback takes no packet of more
 * data slots than it was configured for (beyond, it drops or disconnects). */
static void nw_check_limits(struct nw *w)
{
	uint64_t max = w->bcfg.tx_slots_max ? w->bcfg.tx_slots_max : NW_NETIF_SLOTS_MIN;
	uint64_t peak = atomic_load(&w->slots_peak);

	if (peak > max)
		scn_wl_fail(w->wl, "netback (dom %u) passed on a packet of %lu data slots; its limit is %lu", w->be,
			    peak, max);
	/* Towards a guest that takes nothing (XSA-392), each of netback's rx
	 * queues stays within rx_queue_bytes_max. */
	uint64_t rxq = atomic_load(&w->rxq_peak);
	if (rxq > w->bcfg.rx_queue_bytes_max)
		scn_wl_fail(w->wl, "netback (dom %u) queued %lu bytes on one rx queue towards a guest; its bound "
			    "is %u bytes per queue", w->be, rxq, w->bcfg.rx_queue_bytes_max);
}

/* With every guest connected: a guest's tx requests not answered and reaped,
 * rx responses it has not taken, or frames netback holds for the guests
 * (which, idle, have posted every buffer they will): only the two ends'
 * events move these on. Not beside a hostile frontend, which may post no
 * buffers at all. */
static bool nw_busy(struct scn_wl *wl, char *what, size_t len)
{
	const struct nw *w = wl->priv;
	struct netback_stats st;

	if (w->has_hostile || !w->be_alive || !w->nb)
		return false;
	const struct nw_guest *held = NULL;   /* the first guest with ring work */
	struct netfront_stats held_st = {0};
	for (unsigned i = 0; i < w->n; i++) {
		const struct nw_guest *g = &w->g[i];
		struct netfront_info fi;
		struct netfront_stats fs;
		if (!g->alive)
			continue;
		if (!g->nf || g->act != NW_ACT_NONE || atomic_load(&g->acting) || atomic_load(&g->unplugged) ||
		    netfront_info(g->nf, &fi) < 0 || !fi.connected)
			return false;
		netfront_stats(g->nf, &fs);
		if (!held && (fs.tx_unreaped || fs.rx_untaken)) {
			held = g;
			held_st = fs;
		}
	}
	if (held) {
		snprintf(what, len, "netfront (dom %u) had %u tx request(s) not answered and reaped and %u rx "
			 "response(s) not taken", held->domid, held_st.tx_unreaped, held_st.rx_untaken);
		return true;
	}
	netback_stats(w->nb, &st);
	if (!st.rx_queued_frames)
		return false;
	snprintf(what, len, "netback (dom %u) held %lu frame(s) for its connected guests", w->be,
		 st.rx_queued_frames);
	return true;
}

/* The toolstack actions act on xenstore (harness thread); the rest reads. */
static bool nw_check_in_place(struct scn_wl *wl)
{
	const struct nw *w = wl->priv;

	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].act != NW_ACT_NONE || atomic_load(&w->g[i].kicked))
			return false;
	return w->hg.act == NW_ACT_NONE;
}

static void nw_check(struct scn_wl *wl)
{
	struct nw *w = wl->priv;

	for (unsigned i = 0; i < w->n; i++) {
		struct nw_guest *g = &w->g[i];
		if (atomic_load(&g->corrupt))
			scn_wl_fail(wl, "guest dom %u received %lu corrupt frame(s)", g->domid,
				    (uint64_t)atomic_load(&g->corrupt));
		if (atomic_load(&g->kicked) && !atomic_load(&g->expect_down) && !sim_access_jumped(g->domid)) {
			char path[128], why[256] = "";
			nw_be_path(w, g, "error", path, sizeof(path));
			scn_wl_xs_read(wl, path, why, sizeof(why));
			scn_wl_fail(wl, "netback (dom %u) disconnected vif %u of guest dom %u, which broke no rule: %s",
				    w->be, NW_DEVID, g->domid, why[0] ? why : "(no error written)");
		}
		if (g->act == NW_ACT_WAIT_CLOSED)
			nw_act_poll(w, g);
	}
	if (w->hg.act == NW_ACT_WAIT_CLOSED)
		nw_act_poll(w, &w->hg);
	nw_check_limits(w);
}

static void nw_stop(struct scn_wl *wl)
{
	struct nw *w = wl->priv;

	for (unsigned i = 0; i < w->n; i++)
		scn_destroy_cancel(&w->g[i].destroy);
	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].alive && sim_domain_alive(w->g[i].domid))
			scn_wl_call(wl, w->g[i].domid, nw_guest_close, &w->g[i]);
	/* netback first: nothing of the hostile frontend is looked at after;
	 * its closing the hostile vif is teardown, not a disconnection. */
	hostile_front_quiesce(w->hf);
	if (w->be_alive && sim_domain_alive(w->be)) {
		scn_wl_call(wl, w->be, nw_back_stop, w);
		scn_wl_check_backend_stopped(wl, w->be, "vif");
	}
	if (w->h_alive && sim_domain_alive(w->hg.domid))
		scn_wl_call(wl, w->hg.domid, nw_hostile_close, w);
	hostile_front_forget(w->hf);   /* the guest died with it open */
	w->hf = NULL;
	if (sim_domain_alive(0))
		nw_toolstack(w, NW_TS_REMOVE, NULL);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

static uint64_t nw_hostile_counter(struct nw *w, unsigned index)
{
	struct hostile_front_stats hs = {0};

	if (w->hf)
		hostile_front_stats(w->hf, &hs);
	switch (index) {
	case NW_C_H_SENT: return hs.sent;
	case NW_C_H_ANSWERED: return hs.answered;
	case NW_C_H_ERRORS: return hs.errors;
	case NW_C_H_LIES: return hs.lies;
	case NW_C_H_DISCONNECTS: return hs.disconnects;
	case NW_C_H_OUTPUT: return hs.output;
	case NW_C_H_RX: return hs.rx_frames;
	case NW_C_H_REWRITES: return hs.rewrites;
	default: return 0;
	}
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
	else if (index == NW_C_SUSPENDS)
		v = atomic_load(&w->suspends);
	else if (index == NW_C_UNPLUGS)
		v = atomic_load(&w->unplugs);
	else if (index >= NW_C_H_SENT)
		v = nw_hostile_counter(w, index);
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
	if (strcmp(a->s[NW_P_FEATURES], "all") != 0 && strcmp(a->s[NW_P_FEATURES], "none") != 0 &&
	    strcmp(a->s[NW_P_FEATURES], "mixed") != 0 && strcmp(a->s[NW_P_FEATURES], "fewer") != 0) {
		snprintf(err, len, "features=%s: all, none, mixed or fewer", a->s[NW_P_FEATURES]);
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
	.check_in_place = nw_check_in_place,
	.busy = nw_busy,
	.stop = nw_stop,
	.counter = nw_counter,
	.unplug = nw_unplug,
	.plug = nw_plug,
	.suspend = nw_suspend,
};
