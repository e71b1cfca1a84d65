/*
 * The net workload's oracles on netback at an idle point and on what a guest
 * receives (wl_net.c calls them): maps and grants left behind, bytes left
 * queued, rx stalls in a calm run, offloads a guest never asked for.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "drivers/net/netpkt.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/wl_net_internal.h"

/* A connected netfront shares its rings and its tx and rx pools, no more
 * (pages of an earlier connection left shared show here). */
static const char *nw_judge_idle_grants(struct nw *w, char *buf, size_t len)
{
	for (unsigned i = 0; i < w->n; i++) {
		const struct nw_guest *g = &w->g[i];
		struct gnttab_stats st;
		uint64_t tx = g->cfg.tx_bufs ? g->cfg.tx_bufs : NW_BUFS_DEFAULT;
		uint64_t rx = g->cfg.rx_bufs ? g->cfg.rx_bufs : NW_BUFS_DEFAULT;
		pthread_mutex_lock(&w->lock);
		uint64_t most = (uint64_t)g->fin_queues * (tx + rx + 2);
		pthread_mutex_unlock(&w->lock);
		if (!most || atomic_load(&g->unplugged) || gnttab_stats(g->domid, &st) < 0 || st.grants_active <= most)
			continue;
		snprintf(buf, len, "idle, guest dom %u has %lu grants active; its netfront shares at most %lu (%u "
			 "queue(s) of %lu tx and %lu rx pages and 2 rings): pages left shared", g->domid,
			 st.grants_active, most, g->fin_queues, tx, rx);
		return buf;
	}
	return NULL;
}

/* An idle point (the backend's thread, between its callbacks): netback maps
 * a fragment only for the copy, so each connected guest's grants are mapped
 * exactly for its rings, two pages a queue; more is a map left behind. */
const char *nw_judge_idle_maps(struct nw *w, char *buf, size_t len)
{
	for (unsigned i = 0; i < w->n; i++) {
		const struct nw_guest *g = &w->g[i];
		struct gnttab_stats st;
		pthread_mutex_lock(&w->lock);
		unsigned q = g->fin_queues;
		pthread_mutex_unlock(&w->lock);
		if (!q || atomic_load(&g->unplugged) || atomic_load(&g->expect_down) ||
		    gnttab_stats(g->domid, &st) < 0 || st.maps_active <= 2u * q)
			continue;
		snprintf(buf, len, "idle, netback (dom %u) maps %lu grants of guest dom %u, whose vif has %u queue(s) "
			 "(2 ring pages each): maps left behind", w->be, st.maps_active, g->domid, q);
		return buf;
	}
	return nw_judge_idle_grants(w, buf, len);
}

/* Idle, with every guest through: nothing is on its way to them, so netback
 * holds no frame queued (a hostile frontend that starves its rx ring keeps
 * its queue: not checked then). Bytes counted here belong to frames a
 * connection's end left behind. */
const char *nw_judge_idle_rxq(struct nw *w, uint64_t queued, char *buf, size_t len)
{
	snprintf(buf, len, "idle, every guest through, yet netback (dom %u) counts %lu bytes queued towards its "
		 "guests (%lu suspends, %lu unplugs so far): frames of a closed connection kept", w->be, queued,
		 (uint64_t)atomic_load(&w->suspends), (uint64_t)atomic_load(&w->unplugs));
	return buf;
}

/* No connection was cut: no fault injected, no hostile frontend, no domain
 * of ours died, nothing suspended or unplugged (a pause cuts nothing). */
bool nw_undisturbed(struct nw *w)
{
	for (unsigned i = 0; i < w->n; i++)
		if (!w->g[i].alive)
			return false;
	return sim_fault_count() == w->faults_at_start && !w->has_hostile && !atomic_load(&w->be_deaths) &&
	       !atomic_load(&w->suspends) && !atomic_load(&w->unplugs);
}

/* A guest paused right now: frames towards it wait in netback's queue, and
 * its queue may be stalled until it runs again; neither is left for good. */
bool nw_guest_paused(struct nw *w)
{
	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].alive && sim_domain_paused(w->g[i].domid))
			return true;
	return false;
}

/* Nothing but the workload acted: undisturbed, and no domain paused. */
bool nw_calm(struct nw *w)
{
	return nw_undisturbed(w) && !scn_wl_pauses(w->wl);
}

/* Our netfronts post every buffer back the moment they took its frame, and
 * post at least a frame's worth (netfront.h): left alone, a guest never lacks
 * buffers for rx_stall_ms, so netback must never declare one stalled. */
const char *nw_judge_stalls(struct nw *w, uint64_t stalls, char *buf, size_t len)
{
	snprintf(buf, len, "netback (dom %u) declared a guest's rx stalled %lu time(s) (no buffers for %u ms), with "
		 "no fault and every guest refilling its ring at once: frames dropped while buffers were posted",
		 w->be, stalls, w->bcfg.rx_stall_ms ? w->bcfg.rx_stall_ms : 2000u);
	return buf;
}

/* A guest that posts buffers again is served again: every queue netback
 * stalled (a paused guest, say) was un-stalled by the verdict, every guest
 * through and no connection cut meanwhile. */
const char *nw_judge_unstalls(struct nw *w, uint64_t stalls, uint64_t unstalls, char *buf, size_t len)
{
	snprintf(buf, len, "netback (dom %u) stalled a guest's rx %lu time(s) but served it again only %lu "
		 "time(s), every guest through and refilling: a queue left refusing frames", w->be, stalls,
		 unstalls);
	return buf;
}

/* A received frame carries only the offloads this guest asked for
 * (feature-no-csum-offload, feature-ipv6-csum-offload, feature-gso-*), and a
 * frame above the MTU its GSO metadata: every such frame was sent as GSO
 * (network.c cuts the others), and netback passes it on as GSO or segments
 * it. NULL, or what is wrong. */
const char *nw_rx_offload_bad(const struct nw_guest *g, const struct netfront_rx *rx)
{
	struct netpkt_hdrs h;
	bool v6 = netpkt_parse(rx->data, rx->len, &h) == 0 && h.ipv6;

	if ((rx->flags & NETFRONT_F_CSUM_PARTIAL) && !(v6 ? g->cfg.csum && g->cfg.ipv6_csum : g->cfg.csum))
		return "a partial checksum, which it did not offer to take";
	if (rx->gso_type && !(g->cfg.sg && (rx->gso_type == NETPKT_GSO_TCPV6 ? g->cfg.gso_tcpv6 : g->cfg.gso_tcpv4)))
		return "GSO metadata of a type it did not offer to take";
	if (!rx->gso_type && rx->len > NETPKT_MTU + NETPKT_ETH_HLEN)
		return "more than the MTU without GSO metadata";
	return NULL;
}

/* netfront.h's size limits, probed at every connection: a frame of more
 * than 65535 bytes (a tx request's size is 16 bits) and, without
 * feature-sg, one of more than a page are refused -EMSGSIZE, never queued
 * (the network workload itself stays within both). NULL: as documented. */
const char *nw_probe_tx_limits(struct netfront *nf, char *buf, size_t len)
{
	static const uint8_t zeros[NETPKT_FRAME_MAX + 1];   /* to MAC 00:00:00:00:00:00: nobody */
	struct netfront_info in;
	uint32_t sizes[2] = {NETPKT_FRAME_MAX + 1, NW_PAGE_BYTES + 1};

	if (netfront_info(nf, &in) < 0 || !in.connected || !in.carrier)
		return NULL;
	for (unsigned i = 0; i < (in.tx_sg ? 1u : 2u); i++) {
		struct iovec iov = {.iov_base = (void *)zeros, .iov_len = sizes[i]};
		struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};
		int rc = netfront_send(nf, &tx);
		if (rc == -EMSGSIZE || rc == -ENOTCONN || rc == -ENETDOWN || rc == -EIO)
			continue;
		snprintf(buf, len, "netfront_send of a %u-byte frame%s gave %d (%s), not -EMSGSIZE (netfront.h: "
			 "over 65535 bytes, or over a page without feature-sg)", sizes[i],
			 in.tx_sg ? "" : " without feature-sg", rc, rc ? strerror(-rc) : "queued");
		return buf;
	}
	return NULL;
}

/* features=fewer: netback offers less than the guests would take (no split
 * event channels, no IPv6 offloads, two queues): elsewhere it offers
 * everything, and a frontend that uses what was never offered cannot show. */
void nw_features_fewer(struct netback_config *b)
{
	b->queues_max = 2;
	b->split_evtchn = false;
	b->gso_tcpv6 = false;
	b->ipv6_csum = false;
}

/* At every connection: what netfront says it uses is what both ends offered
 * (netif.h: a feature is used only when the other end advertised it; the
 * queues are the lesser of the two maxima). NULL, or what is wrong. */
const char *nw_judge_negotiated(const struct nw_guest *g, struct netfront *nf, char *buf, size_t len)
{
	const struct netback_config *b = &g->w->bcfg;
	const struct netfront_config *c = &g->cfg;
	struct netfront_info in;
	unsigned bq = b->queues_max ? b->queues_max : 1, fq = c->queues_max ? c->queues_max : 1;
	unsigned want_q = bq < fq ? bq : fq;
	bool split = b->split_evtchn && c->split_evtchn, sg = b->sg;

	if (netfront_info(nf, &in) < 0 || !in.connected)
		return NULL;
	if (in.queues == want_q && in.split_evtchn == split && in.tx_sg == sg &&
	    in.tx_gso_tcpv4 == (sg && b->gso_tcpv4) && in.tx_gso_tcpv6 == (sg && b->gso_tcpv6) &&
	    in.tx_ipv6_csum == b->ipv6_csum)
		return NULL;
	snprintf(buf, len, "netfront connected with %u queue(s), split channels %d, sg %d, GSO v4 %d, v6 %d, IPv6 "
		 "csum %d; both ends offered %u queue(s), split %d, sg %d, GSO v4 %d, v6 %d, IPv6 csum %d (netif.h)",
		 in.queues, in.split_evtchn, in.tx_sg, in.tx_gso_tcpv4, in.tx_gso_tcpv6, in.tx_ipv6_csum, want_q, split,
		 sg, sg && b->gso_tcpv4, sg && b->gso_tcpv6, b->ipv6_csum);
	return buf;
}

/* The link's view of a vif's connection (backend thread): which guest it
 * is, and, when netback lets go of it (before it says so in xenstore), the
 * frames it had answered into that guest's rx rings. */
void nw_link_attached(struct nw *w, struct netback_vif *vif, void *port)
{
	struct netback_vif_info in;

	netback_vif_info(vif, &in);
	for (unsigned i = 0; i < w->n; i++)
		if (w->g[i].domid == in.fe_domid) {
			w->g[i].be_vif = vif;
			w->g[i].be_port = port;
		}
}

void nw_link_detached(struct nw *w, void *port)
{
	for (unsigned i = 0; i < w->n; i++) {
		struct nw_guest *g = &w->g[i];
		struct netback_vif_info in;
		if (!port || g->be_port != port)
			continue;
		netback_vif_info(g->be_vif, &in);
		atomic_store(&g->be_rx_frames, in.rx_frames);
		g->be_vif = NULL;
		g->be_port = NULL;
	}
}

/* A guest's DISCONNECTED (its thread): netback let go of the rings first,
 * so every response it had published is in them, and netfront takes them
 * all before it lets go too (netfront.c: what the backend already answered
 * is taken). Every frame netback answered into this guest's rx rings was
 * delivered or counted an rx error. Not after netback's domain died (its
 * count went with it), nor for a guest unplugged once (a new vif). */
const char *nw_judge_rx_taken(struct nw_guest *g, char *buf, size_t len)
{
	struct netfront_stats st;
	uint64_t answered = atomic_load(&g->be_rx_frames);

	if (!g->nf || atomic_load(&g->gone) || atomic_load(&g->unplugged) || atomic_load(&g->reloaded))
		return NULL;
	netfront_stats(g->nf, &st);
	if (st.rx_frames + st.rx_errors == answered)
		return NULL;
	snprintf(buf, len, "netback answered %lu frame(s) into its rx rings by the time it closed them, netfront "
		 "took %lu (%lu delivered, %lu rx errors): responses left in the rings at the disconnection",
		 answered, st.rx_frames + st.rx_errors, st.rx_frames, st.rx_errors);
	return buf;
}

/* ---- tx liveness: every -EAGAIN answered by a TX_READY ---- */

/* The last -EAGAIN netfront's sender got is answered: a TX_READY, or the
 * connection changed (a new one starts unblocked). */
void nw_guest_tx_ready_mark(struct nw_guest *g, enum netfront_event ev)
{
	struct network_result r;

	if (!g->work || (ev != NETFRONT_EV_TX_READY && ev != NETFRONT_EV_CONNECTED &&
			 ev != NETFRONT_EV_DISCONNECTED && ev != NETFRONT_EV_FAILED))
		return;
	network_result(g->work, &r);
	g->again_at_ready = r.send_again;
}

/* Liveness of the tx queue: a send refused with -EAGAIN is followed by a
 * TX_READY once the ring drains (netfront.h). A sender that waits for it
 * would stall for ever; network's timers hide the stall, this does not.
 * Not after the workload ended in an error (a domain crashed, say): the
 * run stopped there, with no time left for the event. */
void nw_guest_tx_ready_check(struct nw_guest *g)
{
	struct network_result r;
	struct netfront_info info;

	if (atomic_load(&g->w->wl->state) == SCN_WL_ERROR)
		return;
	if (!g->work || !g->nf || netfront_error(g->nf) || netfront_info(g->nf, &info) < 0 || !info.connected)
		return;
	network_result(g->work, &r);
	if (r.send_again > g->again_at_ready)
		scn_wl_fail(g->w->wl, "netfront (dom %u): %" PRIu64 " send(s) got -EAGAIN after its last TX_READY, "
			    "and no TX_READY came by the end of the run (netfront.h: a TX_READY event follows)",
			    g->domid, r.send_again - g->again_at_ready);
}

/* ---- netfront's buffer pools balance ---- */

void scn_wl_check_netfront_pools(struct scn_wl *wl, domid_t domid, const struct netfront *nf)
{
	struct netfront_stats st;

	if (!nf)
		return;
	netfront_stats(nf, &st);
	scn_wl_check_balance(wl, "netfront", domid, "tx buffers", st.tx_bufs, st.tx_bufs_free, st.tx_bufs_in_ring);
	scn_wl_check_balance(wl, "netfront", domid, "rx buffers", st.rx_bufs, st.rx_bufs_free, st.rx_bufs_in_ring);
}
