/*
 * The hostile net frontend's connection: the xenbus handshake done by hand
 * (xs_*), the rings, the responses and what it checks in them, reconnection
 * after netback disconnects it, and the resource check at every reconnection
 * (netback must hold no grant of ours mapped and no port bound to us once it
 * says Closed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/hostile_net_internal.h"

static void hf_count(struct hostile_front *h, enum hf_stat s)
{
	atomic_fetch_add_explicit(&h->st[s], 1, memory_order_relaxed);
}

/* Nothing is judged once the workload tears netback down. */
#define hf_fail(h, ...)                                                                                    \
	do {                                                                                               \
		if (!atomic_load(&(h)->quiet))                                                             \
			scn_wl_fail((h)->cfg.wl, __VA_ARGS__);                                             \
	} while (0)

/* ---- xenstore ---- */

static int hf_read_be(struct hostile_front *h, const char *key, char *buf, size_t len)
{
	return scn_xs_gets(h->xs, h->back_dir, key, buf, len);
}

static int hf_be_state(struct hostile_front *h)
{
	char s[16];

	return hf_read_be(h, "state", s, sizeof(s)) == 0 ? atoi(s) : XenbusStateUnknown;
}

static bool hf_be_flag(struct hostile_front *h, const char *key)
{
	char s[16];

	return hf_read_be(h, key, s, sizeof(s)) == 0 && strcmp(s, "1") == 0;
}

/* ---- one connection's resources ---- */

/* The channel's handle lives as long as the connection: an event that was
 * already pending when it went is dropped with it, never read. */
static void hf_release_conn(struct hostile_front *h, bool alive)
{
	scn_ev_free(h->ev_ev, alive);
	h->ev_ev = NULL;
	if (h->xce)
		xenevtchn_close(h->xce);
	h->xce = NULL;
	h->port = 0;
	if (!alive)
		return;
	if (h->rings)
		xengntshr_unshare(h->gs, h->rings, 2);
	if (h->tx_pages)
		xengntshr_unshare(h->gs, h->tx_pages, HF_TX_PAGES);
	if (h->rx_pages)
		xengntshr_unshare(h->gs, h->rx_pages, HF_RX_PAGES);
	if (h->ro_page)
		xengntshr_unshare(h->gs, h->ro_page, 1);
	h->rings = NULL;
	h->tx_pages = h->rx_pages = h->ro_page = NULL;
	memset(h->tx_refs, 0, sizeof(h->tx_refs));
	h->rw.pending = false;
	h->frame_open = false;
}

static void hf_ev_cb(evutil_socket_t fd, short what, void *arg);

static int hf_share_conn(struct hostile_front *h)
{
	domid_t be = h->cfg.back;

	h->xce = xenevtchn_open(NULL, 0);
	if (!h->xce)
		return -errno;
	h->ev_ev = scn_ev_new(sim_domain_event_base(), xenevtchn_fd(h->xce), EV_READ | EV_PERSIST, hf_ev_cb, h);
	if (!h->ev_ev || event_add(h->ev_ev, NULL) < 0)
		return -ENOMEM;

	h->rings = xengntshr_share_pages(h->gs, be, 2, h->ring_refs, 1);
	h->tx_pages = xengntshr_share_pages(h->gs, be, HF_TX_PAGES, h->tx_refs, 0);
	h->rx_pages = xengntshr_share_pages(h->gs, be, HF_RX_PAGES, h->rx_refs, 1);
	h->ro_page = xengntshr_share_pages(h->gs, be, 1, &h->ro_ref, 0);
	if (!h->rings || !h->tx_pages || !h->rx_pages || !h->ro_page)
		return -ENOMEM;
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(h->xce, be);
	if (p < 0)
		return -errno;
	h->port = (evtchn_port_t)p;
	netif_tx_sring_t *txs = h->rings;
	netif_rx_sring_t *rxs = (void *)((uint8_t *)h->rings + HF_PAGE_BYTES);
	SHARED_RING_INIT(txs);
	FRONT_RING_INIT(&h->tx, txs, HF_PAGE_BYTES);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&h->rx, rxs, HF_PAGE_BYTES);
	h->tx_real_prod = 0;
	memset(h->tx_busy, 0, sizeof(h->tx_busy));
	memset(h->rx_posted, 0, sizeof(h->rx_posted));
	h->tx_nfree = HF_TX_PAGES;
	h->pkt_status = 2;
	return 0;
}

/* Netback said Closed: nothing of the old connection may be left with it. */
static void hf_check_released(struct hostile_front *h)
{
	struct gnttab_stats st;

	if (gnttab_stats(h->cfg.domid, &st) == 0 && st.maps_active)
		hf_fail(h, "netback (dom %u) closed vif %s of dom %u but still maps %lu of its grants", h->cfg.back,
			h->device + 4, h->cfg.domid, st.maps_active);
	for (evtchn_port_t p = 1; p < EVTCHN_PORTS_MAX; p++) {
		domid_t rd;
		int st = evtchn_port_status(h->cfg.back, p, &rd, NULL);
		/* Ours closed: a port netback kept is left unbound, still naming us. */
		if ((st == EVTCHNSTAT_interdomain || st == EVTCHNSTAT_unbound) && rd == h->cfg.domid) {
			hf_fail(h, "netback (dom %u) closed vif %s of dom %u but its port %u is still bound to it",
				h->cfg.back, h->device + 4, h->cfg.domid, p);
			break;
		}
	}
}

SIM_FAULT_SITE(hnf_site_keys, "net.hostile.front.keys",
	       "hostile netfront: a bad xenstore key at connection (queues, feature flag, rx-copy, ring ref, port)");

/* One queue more than netback offers (multi-queue-max-queues, 1 when it
 * writes none), each queue's keys valid: its rings and a port of its own.
 * Only the count is wrong, so a backend that bounds it by anything but its
 * own offer connects. */
static void hf_key_lie_queues(struct hostile_front *h)
{
	char s[16], sub[SCN_XS_PATH_MAX];
	unsigned offer = hf_read_be(h, "multi-queue-max-queues", s, sizeof(s)) == 0 ? (unsigned)atoi(s) : 1;
	unsigned n = (offer ? offer : 1) + 1;

	for (unsigned i = 0; i < n && i < HF_QUEUE_DIRS_MAX; i++) {
		xenevtchn_port_or_error_t p = i ? xenevtchn_bind_unbound_port(h->xce, h->cfg.back) : (int)h->port;
		snprintf(sub, sizeof(sub), "%s/queue-%u", h->dir, i);
		scn_xs_printf(h->xs, sub, "tx-ring-ref", "%u", h->ring_refs[0]);
		scn_xs_printf(h->xs, sub, "rx-ring-ref", "%u", h->ring_refs[1]);
		scn_xs_printf(h->xs, sub, "event-channel", "%d", p < 0 ? 4000 : p);
	}
	scn_xs_printf(h->xs, h->dir, "multi-queue-num-queues", "%u", n);
	snprintf(h->key_lie, sizeof(h->key_lie), "multi-queue-num-queues=%u (offered %u)", n, offer);
}

/* One key netback must refuse to connect with, written over a good one. */
static void hf_key_lie(struct hostile_front *h)
{
	static const struct {
		const char *key, *fmt;
		uint32_t value;
	} lies[] = {
		{"multi-queue-num-queues", "%u", 0}, {"multi-queue-num-queues", "%u", 9},
		{"feature-sg", "yes%.0u", 0},        {"request-rx-copy", "%u", 0},
		{"tx-ring-ref", "%u", HF_BAD_REF},   {"event-channel", "%u", 4000},
	};
	unsigned nlies = sizeof(lies) / sizeof(lies[0]);
	unsigned v = (unsigned)(hf_rng(&h->rng) % (nlies + 1));
	char val[24];

	hf_count(h, HF_S_LIES);
	sim_trace_event(SIM_TR_FAULT, h->cfg.domid, h->cfg.back, 0, 0, "net.hostile.front.keys");
	if (v == nlies) {
		hf_key_lie_queues(h);
		return;
	}
	scn_xs_printf(h->xs, h->dir, lies[v].key, lies[v].fmt, lies[v].value);
	snprintf(val, sizeof(val), lies[v].fmt, lies[v].value);
	snprintf(h->key_lie, sizeof(h->key_lie), "%s=%s", lies[v].key, val);
}

static void hf_publish_keys(struct hostile_front *h)
{
	struct sim_fault_ctx ctx = {.domid = h->cfg.domid, .peer = h->cfg.back, .port = SIM_FAULT_PORT_ANY,
				    .device = h->device};
	char path[160];
	int rc = hf_share_conn(h);

	snprintf(path, sizeof(path), "%s/multi-queue-num-queues", h->dir);
	xs_rm(h->xs, XBT_NULL, path);   /* a lie of the last connection */
	for (unsigned i = 0; i < HF_QUEUE_DIRS_MAX; i++) {
		snprintf(path, sizeof(path), "%s/queue-%u", h->dir, i);
		xs_rm(h->xs, XBT_NULL, path);
	}
	h->key_lie[0] = '\0';

	h->sg = hf_be_flag(h, "feature-sg");
	h->gso4 = h->sg && hf_be_flag(h, "feature-gso-tcpv4");
	h->gso6 = h->sg && hf_be_flag(h, "feature-gso-tcpv6");
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "tx-ring-ref", "%u", h->ring_refs[0]);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "rx-ring-ref", "%u", h->ring_refs[1]);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "event-channel", "%u", h->port);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "request-rx-copy", "%u", 1);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "feature-rx-notify", "%u", 1);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "feature-sg", "%u", 1);
	if (rc == 0 && sim_fault_hit_ctx(&hnf_site_keys, &ctx))
		hf_key_lie(h);
	rc = rc ? rc : scn_xs_printf(h->xs, h->dir, "state", "%u", XenbusStateConnected);
	if (rc < 0) {
		scn_wl_error(h->cfg.wl, "hostile front (dom %u): publishing its rings failed: %s", h->cfg.domid,
			     strerror(-rc));
		return;
	}
	h->phase = HF_PUBLISHED;
}

static void hf_maybe_done(struct hostile_front *h)
{
	/* Doomed: a disconnection is owed (an rx lie outlives its packet). */
	if (h->done_called || (h->phase != HF_GAVE_UP && (h->next_seq < h->cfg.packets || h->inflight || h->doomed)))
		return;
	h->done_called = true;
	if (h->cfg.done)
		h->cfg.done(h->cfg.arg);
}

/* What is in flight called for a disconnection? */
static bool hf_fatal_called_for(struct hostile_front *h)
{
	if (h->doomed)
		return true;
	for (RING_IDX i = h->tx.rsp_cons; i != h->tx_real_prod; i++)
		if (hf_expect_accept(h, h->txs[i % HF_RING].seq) & HF_FATAL)
			return true;
	return false;
}

/* Netback left Connected (or refused to get there). */
static void hf_disconnect(struct hostile_front *h, bool refused)
{
	char why[160] = "";
	char err[8];

	hf_read_be(h, "error", why, sizeof(why));
	bool toolstack = atomic_load(&h->ts_down);
	if (toolstack && h->ts_clear_at_down) {
		h->ts_clear_at_down = false;
		atomic_store(&h->ts_down, false);
	}
	if (!refused && !toolstack && !hf_fatal_called_for(h))
		hf_fail(h, "netback (dom %u) disconnected vif %s of dom %u, which broke no rule: '%s' (%u packets in "
			"flight)", h->cfg.back, h->device + 4, h->cfg.domid, why, h->inflight);
	else if (!refused)
		hf_count(h, HF_S_FATAL_OK);
	hf_count(h, HF_S_DISCONNECTS);
	for (RING_IDX i = h->tx.rsp_cons; i != h->tx_real_prod; i++)
		if (h->txs[i % HF_RING].last)
			hf_expect_status(h, h->txs[i % HF_RING].seq, HF_ST_GONE, err, sizeof(err));
	h->inflight = 0;
	h->doomed = false;
	event_del(h->fatal_ev);
	hf_release_conn(h, true);
	scn_xs_printf(h->xs, h->dir, "state", "%u", XenbusStateClosed);
	h->phase = ++h->reconnects > HF_RECONNECTS_MAX ? HF_GAVE_UP : HF_CLOSED_WAIT;
	hf_maybe_done(h);
}

static void hf_rx_post(struct hostile_front *h);

static void hf_step(struct hostile_front *h, int be)
{
	switch (h->phase) {
	case HF_INIT:
		if (be == XenbusStateInitWait)
			hf_publish_keys(h);
		break;
	case HF_PUBLISHED:
		if (be == XenbusStateConnected && h->key_lie[0]) {
			hf_fail(h, "netback (dom %u) connected vif %s of dom %u, whose frontend wrote %s", h->cfg.back,
				h->device + 4, h->cfg.domid, h->key_lie);
		} else if (be == XenbusStateConnected) {
			h->phase = HF_CONNECTED;
			hf_count(h, HF_S_CONNECTS);
			hf_rx_post(h);
			hf_send(h);
			hf_maybe_done(h);
		} else if (be == XenbusStateClosing || be == XenbusStateClosed) {
			hf_disconnect(h, true);
		}
		break;
	case HF_CONNECTED:
		if (be != XenbusStateConnected)
			hf_disconnect(h, false);
		break;
	case HF_CLOSED_WAIT:
		if (be == XenbusStateClosed || be == XenbusStateInitWait) {
			hf_check_released(h);
			scn_xs_printf(h->xs, h->dir, "state", "%u", XenbusStateInitialising);
			h->phase = HF_INIT;
		}
		break;
	case HF_GAVE_UP:
		break;
	}
}

static void hf_sync(void *arg)
{
	struct hostile_front *h = arg;
	char **ev;

	while ((ev = xs_check_watch(h->xs)))
		free(ev);
	if (scn_wl_finished(h->cfg.wl) || atomic_load(&h->quiet))
		return;
	for (unsigned i = 0; i < 4; i++) {   /* a step may make the next one possible at once */
		enum hf_phase before = h->phase;
		hf_step(h, hf_be_state(h));
		if (h->phase == before)
			break;
	}
}

static void hf_xs_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hostile_front *h = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(h->cfg.wl, hf_sync, h);
}

/* ---- tx responses ---- */

static bool hf_tx_one(struct hostile_front *h, RING_IDX idx)
{
	netif_tx_response_t rsp;
	struct hf_slot *sl = &h->txs[idx % HF_RING];
	char err[256];

	RING_COPY_RESPONSE(&h->tx, idx, &rsp);
	if (rsp.id != sl->id) {
		hf_fail(h, "netback answered tx slot %u of dom %u with id %u; the request there had id %u", idx,
			h->cfg.domid, rsp.id, sl->id);
		return false;
	}
	bool bad = sl->extra ? rsp.status != NETIF_RSP_NULL
			     : rsp.status != NETIF_RSP_OKAY && rsp.status != NETIF_RSP_ERROR &&
				       rsp.status != NETIF_RSP_DROPPED;
	if (!sl->extra && h->pkt_status != 2 && rsp.status != h->pkt_status)
		bad = true;
	if (bad) {
		hf_fail(h, "netback answered tx slot %u (id %u, packet %u%s) of dom %u with status %d", idx, rsp.id,
			sl->seq, sl->extra ? ", extra info" : "", h->cfg.domid, rsp.status);
		return false;
	}
	hf_page_release(h, sl->page);
	sl->page = -1;
	if (!sl->extra)
		h->pkt_status = rsp.status;
	if (!sl->last)
		return true;
	hf_expect_status(h, sl->seq, h->pkt_status == NETIF_RSP_OKAY ? HF_ST_OKAY : HF_ST_ERROR, err, sizeof(err));
	hf_count(h, HF_S_ANSWERED);
	hf_count(h, h->pkt_status == NETIF_RSP_OKAY ? HF_S_OKAY : HF_S_ERRORS);
	h->pkt_status = 2;
	h->inflight--;
	if (h->doomed && h->doom_seq == sl->seq && !err[0]) {
		h->doomed = false;   /* rewritten in time into something answerable */
		event_del(h->fatal_ev);
	}
	if (err[0]) {
		hf_fail(h, "%s", err);
		return false;
	}
	return true;
}

static bool hf_tx_reap(struct hostile_front *h)
{
	int more;

	do {
		RING_IDX rp = h->tx.sring->rsp_prod;
		xen_rmb();   /* responses after the index that publishes them */
		if (rp - h->tx.rsp_cons > h->tx_real_prod - h->tx.rsp_cons) {
			hf_fail(h, "netback's tx rsp_prod %u for dom %u: only %u requests were published", rp,
				h->cfg.domid, h->tx_real_prod);
			return false;
		}
		for (; h->tx.rsp_cons != rp; h->tx.rsp_cons++)
			if (!hf_tx_one(h, h->tx.rsp_cons))
				return false;
		RING_FINAL_CHECK_FOR_RESPONSES(&h->tx, more);
	} while (more);
	return true;
}

/* ---- rx ---- */

static void hf_rx_post(struct hostile_front *h)
{
	int notify;
	RING_IDX start = h->rx.req_prod_pvt;

	if (h->doomed || h->rx_starved)
		return;   /* a push would undo an rx req_prod lie; a starving guest posts none */
	for (unsigned b = 0; b < HF_RX_PAGES + 1 && RING_FREE_REQUESTS(&h->rx); b++) {
		RING_IDX idx = h->rx.req_prod_pvt;
		struct hf_rxslot *s = &h->rxs[idx % HF_RING];
		netif_rx_request_t *req = RING_GET_REQUEST(&h->rx, idx);
		if (h->rx_lie != HF_RX_GOOD) {
			*s = (struct hf_rxslot){.id = (uint16_t)(idx & (HF_RING - 1)), .buf = -1, .lie = h->rx_lie};
			req->gref = h->rx_lie == HF_RX_READONLY ? h->ro_ref : HF_BAD_REF;
			h->rx_lie = HF_RX_GOOD;
		} else if (b < HF_RX_PAGES && !h->rx_posted[b]) {
			h->rx_posted[b] = true;
			*s = (struct hf_rxslot){.id = (uint16_t)(idx & (HF_RING - 1)), .buf = (int)b};
			req->gref = h->rx_refs[b];
		} else {
			continue;
		}
		req->id = s->id;
		h->rx.req_prod_pvt++;
	}
	if (h->rx.req_prod_pvt == start)
		return;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->rx, notify);
	if (notify && xenevtchn_notify(h->xce, h->port) < 0 && errno != ENOTCONN)
		scn_wl_error(h->cfg.wl, "hostile front (dom %u): notify failed: %s", h->cfg.domid, strerror(errno));
}

static bool hf_rx_data(struct hostile_front *h, RING_IDX idx, const netif_rx_response_t *r, const struct hf_rxslot *s)
{
	if (r->status < 0) {
		if (r->status != NETIF_RSP_ERROR && r->status != NETIF_RSP_DROPPED) {
			hf_fail(h, "netback answered rx slot %u of dom %u with status %d", idx, h->cfg.domid, r->status);
			return false;
		}
		h->frame_err = true;
		return true;
	}
	if (s->lie != HF_RX_GOOD && r->status > 0) {
		hf_fail(h, "netback says it copied %d bytes into rx slot %u of dom %u, whose ref was %s", r->status, idx,
			h->cfg.domid, s->lie == HF_RX_READONLY ? "granted read-only" : "never granted");
		return false;
	}
	if ((uint32_t)r->offset + (uint32_t)r->status > HF_PAGE_BYTES) {
		hf_fail(h, "netback's rx slot %u of dom %u: offset %u + %d bytes crosses the page", idx, h->cfg.domid,
			r->offset, r->status);
		return false;
	}
	if (s->buf >= 0 && h->frame_len + (uint32_t)r->status <= HF_FRAME_MAX) {
		memcpy(h->frame + h->frame_len, h->rx_pages + (size_t)s->buf * HF_PAGE_BYTES + r->offset,
		       (size_t)r->status);
		h->frame_len += (uint32_t)r->status;
	}
	return true;
}

static bool hf_rx_one(struct hostile_front *h, RING_IDX idx)
{
	netif_rx_response_t r;
	struct hf_rxslot *s = &h->rxs[idx % HF_RING];

	RING_COPY_RESPONSE(&h->rx, idx, &r);
	if (s->buf >= 0)
		h->rx_posted[s->buf] = false;
	if (r.id != s->id) {
		hf_fail(h, "netback answered rx slot %u of dom %u with id %u; the request there had id %u", idx,
			h->cfg.domid, r.id, s->id);
		return false;
	}
	if (!h->frame_open) {
		h->frame_open = true;
		h->frame_len = 0;
		h->frame_slots = 0;
		h->frame_err = false;
		if (r.flags & NETRXF_extra_info) {
			hf_fail(h, "netback's rx slot %u of dom %u asks for extra info on a frame sent without GSO", idx,
				h->cfg.domid);
			return false;
		}
	}
	if (++h->frame_slots > XEN_NETIF_NR_SLOTS_MIN) {
		hf_fail(h, "netback's rx frame for dom %u takes more than %u slots", h->cfg.domid, XEN_NETIF_NR_SLOTS_MIN);
		return false;
	}
	if (!hf_rx_data(h, idx, &r, s))
		return false;
	if (r.flags & NETRXF_more_data)
		return true;
	h->frame_open = false;
	hf_count(h, h->frame_err ? HF_S_RX_ERRORS : HF_S_RX_FRAMES);
	if (!h->frame_err && !hf_expect_reflected(h, h->frame, h->frame_len)) {
		hf_fail(h, "dom %u received a frame of %u bytes back that is not one netback passed on", h->cfg.domid,
			h->frame_len);
		return false;
	}
	return true;
}

static bool hf_rx_reap(struct hostile_front *h)
{
	int more;

	do {
		RING_IDX rp = h->rx.sring->rsp_prod;
		xen_rmb();
		if (rp - h->rx.rsp_cons > h->rx.req_prod_pvt - h->rx.rsp_cons) {
			hf_fail(h, "netback's rx rsp_prod %u for dom %u: only %u buffers were posted", rp, h->cfg.domid,
				h->rx.req_prod_pvt);
			return false;
		}
		for (; h->rx.rsp_cons != rp; h->rx.rsp_cons++)
			if (!hf_rx_one(h, h->rx.rsp_cons))
				return false;
		RING_FINAL_CHECK_FOR_RESPONSES(&h->rx, more);
	} while (more);
	return true;
}

static void hf_work(void *arg)
{
	struct hostile_front *h = arg;

	if (h->phase != HF_CONNECTED || scn_wl_finished(h->cfg.wl))
		return;
	if (!hf_tx_reap(h) || !hf_rx_reap(h))
		return;
	hf_rx_post(h);
	hf_send(h);
	hf_maybe_done(h);
}

static void hf_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hostile_front *h = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t p = xenevtchn_pending(h->xce);
	if (p < 0)
		return;
	xenevtchn_unmask(h->xce, (evtchn_port_t)p);
	scn_wl_guard(h->cfg.wl, hf_work, h);
}

/* ---- the rewrite, one scheduling step after publishing ---- */

static void hf_rewrite(void *arg);

void hf_rewrite_now(struct hostile_front *h)
{
	hf_rewrite(h);
}

static void hf_rewrite(void *arg)
{
	struct hostile_front *h = arg;
	struct hf_rewrite *rw = &h->rw;
	unsigned k = 0;
	bool size = hf_rng(&h->rng) % 2;
	const char *what;

	if (!rw->pending || h->phase != HF_CONNECTED)
		return;
	rw->pending = false;
	for (unsigned i = 1; i < rw->n && k == 0; i++)
		if (!rw->extra[i] && rw->reqs[i].size)
			k = i;
	/* Only offset and size: a response written but not yet published
	 * overlays a request's first four bytes (gref), not these. */
	if (size && rw->reqs[0].size > 2 * NETPKT_ETH_HLEN_BYTES) {
		k = 0;
		rw->reqs[0].size = (uint16_t)(rw->reqs[0].size - 1 - hf_rng(&h->rng) % (rw->reqs[0].size / 2));
		what = "first slot's size";
	} else if (rw->reqs[k].size) {
		rw->reqs[k].offset = (uint16_t)(HF_PAGE_BYTES - rw->reqs[k].size / 2);
		what = "a slot's offset, now crossing the page";
	} else {
		return;
	}
	/* Answered already: the slot holds the response now. */
	if ((int32_t)(h->tx.sring->rsp_prod - (rw->first + k)) > 0)
		return;
	hf_expect_widen(h, rw->seq, rw->reqs, rw->extra, rw->n, what);
	netif_tx_request_t *slot = RING_GET_REQUEST(&h->tx, rw->first + k);
	if (k == 0 && size)
		slot->size = rw->reqs[0].size;
	else
		slot->offset = rw->reqs[k].offset;
	hf_count(h, HF_S_REWRITES);
	sim_trace_event(SIM_TR_FAULT, h->cfg.domid, h->cfg.back, rw->first + k, 0, "net.hostile.front.rewrite");
}

void hf_rewrite_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hostile_front *h = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(h->cfg.wl, hf_rewrite, h);
}

static void hf_fatal_late(void *arg)
{
	struct hostile_front *h = arg;

	/* Netback's domain paused (or we were, and woke late): the wait starts
	 * over once it can run. A timer of ours armed before a pause may come
	 * early by the virtual clock: the wait is measured on it. */
	uint64_t pauses = scn_wl_pauses(h->cfg.wl), now = sim_now_ns();
	bool back_paused = sim_domain_paused(h->cfg.back);
	bool restart = pauses != h->doom_pauses || back_paused || h->doom_back_paused;
	if (h->doomed && (restart || now - h->doom_ns < HF_FATAL_WAIT_MS * 1000000ull)) {
		struct timeval tv = {.tv_sec = 0, .tv_usec = HF_FATAL_WAIT_MS * 1000};
		if (restart)
			h->doom_ns = now;
		h->doom_pauses = pauses;
		h->doom_back_paused = back_paused;
		evtimer_add(h->fatal_ev, &tv);
		return;
	}
	if (h->doomed && h->phase == HF_CONNECTED)
		hf_fail(h, "netback (dom %u) neither answered nor disconnected vif %s of dom %u within %u ms of a "
			"packet that calls for a disconnection (%s)", h->cfg.back, h->device + 4, h->cfg.domid,
			HF_FATAL_WAIT_MS, h->doom_why);
}

static void hf_fatal_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hostile_front *h = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(h->cfg.wl, hf_fatal_late, h);
}

void hf_doom(struct hostile_front *h, const char *why, uint32_t seq)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = HF_FATAL_WAIT_MS * 1000};

	if (!h->doomed) {   /* the wait runs from the first doomed packet */
		h->doom_pauses = scn_wl_pauses(h->cfg.wl);
		h->doom_ns = sim_now_ns();
		h->doom_back_paused = false;
	}
	h->doomed = true;
	h->doom_seq = seq;
	snprintf(h->doom_why, sizeof(h->doom_why), "%s", why);
	evtimer_add(h->fatal_ev, &tv);
}

/* ---- open / close ---- */

static int hf_open_handles(struct hostile_front *h)
{
	char path[160];
	unsigned n;

	h->xs = xs_open(0);
	h->gs = xengntshr_open(NULL, 0);
	if (!h->xs || !h->gs)
		return -errno ? -errno : -EIO;
	snprintf(path, sizeof(path), "%s/backend", h->dir);
	char *be = xs_read(h->xs, XBT_NULL, path, &n);
	if (!be)
		return -ENOENT;
	snprintf(h->back_dir, sizeof(h->back_dir), "%s", be);
	free(be);
	struct event_base *base = sim_domain_event_base();
	h->xs_ev = scn_ev_new(base, xs_fileno(h->xs), EV_READ | EV_PERSIST, hf_xs_cb, h);
	h->rewrite_ev = scn_ev_new(base, -1, 0, hf_rewrite_cb, h);
	h->fatal_ev = scn_ev_new(base, -1, 0, hf_fatal_cb, h);
	if (!h->xs_ev || !h->rewrite_ev || !h->fatal_ev)
		return -ENOMEM;
	event_add(h->xs_ev, NULL);
	snprintf(path, sizeof(path), "%s/state", h->back_dir);
	if (!xs_watch(h->xs, path, "hf"))
		return -errno;
	return scn_xs_printf(h->xs, h->dir, "state", "%u", XenbusStateInitialising);
}

static void hf_free(struct hostile_front *h, bool alive)
{
	scn_ev_free(h->xs_ev, alive);
	scn_ev_free(h->rewrite_ev, alive);
	scn_ev_free(h->fatal_ev, alive);
	hf_release_conn(h, alive);
	if (alive) {
		if (h->xs && h->phase != HF_INIT)
			scn_xs_printf(h->xs, h->dir, "state", "%u", XenbusStateClosed);
		if (h->gs)
			xengntshr_close(h->gs);
		if (h->xs)
			xs_close(h->xs);
	}
	pthread_mutex_destroy(&h->lock);
	free(h->exp);
	free(h->scratch);
	free(h->mbuf);
	free(h->frame);
	free(h);
}

int hostile_front_open(const struct hostile_front_config *cfg, struct hostile_front **out)
{
	struct hostile_front *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->cfg = *cfg;
	h->rng = cfg->seed ^ 0x686f7374696c65ull;
	snprintf(h->device, sizeof(h->device), "vif/%u", cfg->devid);
	snprintf(h->dir, sizeof(h->dir), "/local/domain/%u/device/vif/%u", cfg->domid, cfg->devid);
	pthread_mutex_init(&h->lock, NULL);
	h->exp = calloc(cfg->packets ? cfg->packets : 1, sizeof(*h->exp));
	h->scratch = malloc(HF_FRAME_MAX);
	h->mbuf = malloc(HF_FRAME_MAX);
	h->frame = malloc(HF_FRAME_MAX);
	int rc = h->exp && h->scratch && h->mbuf && h->frame ? hf_open_handles(h) : -ENOMEM;
	if (rc < 0) {
		hf_free(h, true);
		return rc;
	}
	*out = h;
	return 0;
}

void hostile_front_close(struct hostile_front *h)
{
	if (h)
		hf_free(h, true);
}

void hostile_front_toolstack_down(struct hostile_front *h)
{
	if (h)
		atomic_store(&h->ts_down, true);
}

void hostile_front_toolstack_up(struct hostile_front *h)
{
	if (!h)
		return;
	if (h->phase == HF_CONNECTED)
		h->ts_clear_at_down = true;   /* has yet to see the old connection go */
	else
		atomic_store(&h->ts_down, false);
}

void hostile_front_quiesce(struct hostile_front *h)
{
	if (h)
		atomic_store(&h->quiet, true);
}

void hostile_front_forget(struct hostile_front *h)
{
	if (h)
		hf_free(h, false);
}

void hostile_front_stats(const struct hostile_front *h, struct hostile_front_stats *out)
{
	const _Atomic uint64_t *s = h->st;

	*out = (struct hostile_front_stats){
		.sent = s[HF_S_SENT], .answered = s[HF_S_ANSWERED], .okay = s[HF_S_OKAY], .errors = s[HF_S_ERRORS],
		.lies = s[HF_S_LIES], .disconnects = s[HF_S_DISCONNECTS], .connects = s[HF_S_CONNECTS],
		.output = s[HF_S_OUTPUT], .rx_frames = s[HF_S_RX_FRAMES], .rx_errors = s[HF_S_RX_ERRORS],
		.rewrites = s[HF_S_REWRITES]};
}

bool hostile_front_done(const struct hostile_front *h)
{
	return atomic_load(&h->done_called);
}

uint64_t hostile_front_fatal_expected(const struct hostile_front *h)
{
	return atomic_load(&h->st[HF_S_FATAL_OK]);
}
