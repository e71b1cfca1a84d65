/*
 * Workload `net-hostile-back`: the real netfront (drivers/net) served by a
 * hostile backend, harness code written from io/netif.h with Xen's API only
 * (xengnttab, xenevtchn, xs_*). The backend echoes every frame the guest
 * sends (tx slots taken by grant copy, the frame copied into the guest's rx
 * buffers); on top, the guest runs a small verified exchange: frames of
 * known bytes (a header with magic, sequence and length), each expected back
 * exactly once and byte for byte.
 *
 * Where its fault sites fire, the backend lies in a response:
 *   net.hostile.back.id       tx id out of range, not outstanding, or a second
 *                             response with the same id; rx id not the slot's
 *   net.hostile.back.status   tx or rx status garbage, rx length past the
 *                             buffer; or NETIF_RSP_ERROR (legal: a frame lost)
 *   net.hostile.back.null     a tx data slot answered NETIF_RSP_NULL (the
 *                             answer of an extra info slot; none was sent)
 *   net.hostile.back.offset   rx offset + length crossing the page; or data at
 *                             an offset inside the page (legal)
 *   net.hostile.back.flags    an rx frame of more slots than any frame may
 *                             take; extra info of unknown type
 *   net.hostile.back.extras   an rx GSO extra of a type never offered, or a
 *                             chain of GSO extras without end
 *   net.hostile.back.prod     tx or rx rsp_prod jumps past the requests
 *   net.hostile.back.rewrite  an rx response made impossible after it was
 *                             published, at the backend's next loop turn
 *   net.hostile.back.split    (legal) an rx frame of several slots published
 *                             in two pushes, the rest 1 ms later: netfront
 *                             must ask for the event that tells of the rest
 * The oracle: netfront never faults, never delivers a frame that is not one
 * sent, whole; after a lie it must refuse it goes to its terminal state (the
 * run ends with its reason, `expect error`), and a legal oddity costs at most
 * the frame it concerned. A netfront that took an impossible response fails
 * the run, as does one that failed with nothing impossible said to it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/net/netfront.h"
#include "drivers/platform.h"   /* before netif.h: xen_mb() and friends */
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/workload.h"

SIM_FAULT_SITE(hnb_site_id, "net.hostile.back.id",
	       "hostile netback: tx ids out of range, not outstanding or twice; rx ids not the slot's");
SIM_FAULT_SITE(hnb_site_status, "net.hostile.back.status",
	       "hostile netback: garbage tx/rx status, rx length past the buffer; NETIF_RSP_ERROR (legal)");
SIM_FAULT_SITE(hnb_site_offset, "net.hostile.back.offset",
	       "hostile netback: rx offset + length crossing the page; data at an inner offset (legal)");
SIM_FAULT_SITE(hnb_site_flags, "net.hostile.back.flags",
	       "hostile netback: rx more_data chains longer than a frame may be; unknown extra info");
SIM_FAULT_SITE(hnb_site_extras, "net.hostile.back.extras",
	       "hostile netback: an rx GSO extra of a type never offered, or a chain of extras without end");
SIM_FAULT_SITE(hnb_site_null, "net.hostile.back.null",
	       "hostile netback: a tx data slot answered NETIF_RSP_NULL (the answer of an extra info slot)");
SIM_FAULT_SITE(hnb_site_prod, "net.hostile.back.prod", "hostile netback: tx or rx rsp_prod jumps past the requests");
SIM_FAULT_SITE(hnb_site_rewrite, "net.hostile.back.rewrite",
	       "hostile netback: an rx response made impossible after it was published");
SIM_FAULT_SITE(hnb_site_split, "net.hostile.back.split",
	       "hostile netback (legal): an rx frame's slots published in two pushes, the rest 1 ms later");

#define HB_PAGE 4096u
#define HB_RING 256u
#define HB_FRAME_MAX 65535u
#define HB_HDR 26u
#define HB_MAGIC 0x31424e48u          /* "HNB1" */
#define HB_WINDOW 8u                  /* frames in flight */
#define HB_SLOTS_MAX 64u              /* tx slots of one frame we accept */
#define HB_CHAIN 19u                  /* rx slots of the endless-chain lie: > XEN_NETIF_NR_SLOTS_MIN */
#define HB_STALL_MS 300u              /* no progress this long: judged */
#define HB_SPLIT_US 1000u             /* a split frame's rest is published this much later */
#define HB_DEVID 0u
#define HB_RING_PAGES 2u              /* tx and rx rings: what the backend maps */

_Static_assert(HB_CHAIN > XEN_NETIF_NR_SLOTS_MIN, "the chain lie is longer than a frame may be");
/* Full pages of the overlong-frame lie: few enough slots to be a frame,
 * more bytes than any frame may have (netif.h: 65535, and the rx buffers). */
/* Extra info slots of the extras-chain lie: more than one of each type
 * (XEN_NETIF_EXTRA_TYPE_MAX) and than a frame's slots. */
#define HB_EXTRAS_CHAIN 32u
_Static_assert(HB_EXTRAS_CHAIN > XEN_NETIF_EXTRA_TYPE_MAX + XEN_NETIF_NR_SLOTS_MIN, "the extras chain is impossible");
#define HB_LONG_SLOTS 17u
_Static_assert(HB_LONG_SLOTS <= XEN_NETIF_NR_SLOTS_MIN && HB_LONG_SLOTS * 4096u > 65535u + 4096u,
	       "the long-frame lie is a legal slot count but too many bytes");

enum hb_param { HB_P_FRONT, HB_P_BACK, HB_P_FRAMES, HB_P_RING, HB_P_RX_BUFS, HB_P_COUNT };
/* ring=: which ring the sites with a tx and an rx form (id, status, prod)
 * lie on. Each frame is answered on tx before it is echoed on rx, so with
 * both a site fired at a fixed occurrence lands on the same ring at every
 * seed: the other form would never be tried. */
enum hb_ring { HB_RING_BOTH, HB_RING_TX, HB_RING_RX };
static const struct scn_param hb_params[HB_P_COUNT + 1] = {
	[HB_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest running netfront"},
	[HB_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running the hostile backend"},
	[HB_P_FRAMES] = {"frames", SCN_P_UINT, "100", 1, 100000, "frames echoed"},
	[HB_P_RING] = {"ring", SCN_P_STRING, "both", 0, 0, "both, tx or rx: the ring the id, status and prod lies go to"},
	[HB_P_RX_BUFS] = {"rx-bufs", SCN_P_UINT, "0", 0, HB_RING,
			  "rx buffers netfront posts (18..256; 0: a ring's worth)"},
};

enum hb_counter { HB_C_SENT, HB_C_ECHOED, HB_C_LOST, HB_C_LIES, HB_C_FATAL_LIES, HB_C_REWRITES, HB_C_COUNT };
static const char *const hb_counters[HB_C_COUNT + 1] = {"sent", "echoed", "lost", "lies", "fatal-lies", "rewrites",
							 NULL};

struct hb;

/* The hostile backend, on the back domain's thread. */
struct hb_back {
	struct hb *w;
	domid_t domid, peer;
	struct xs_handle *xs;
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct event *xs_ev, *ev, *rw_ev, *split_ev;
	char dir[96], fe_dir[96];
	bool connected;
	void *tx_addr, *rx_addr;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	uint8_t frame[HB_FRAME_MAX];
	uint32_t frame_len;
	bool frame_ready;             /* copied, waiting for rx buffers */
	uint16_t last_id;             /* a tx id answered already */
	unsigned prod_lies;           /* rsp_prod lies told: even ones land inside the ring */
	bool prod_lied;               /* a rsp_prod lie stands: serve nothing more (a push would undo it) */
	RING_IDX rw_idx;
	bool rw_pending;
	RING_IDX split_at;            /* a split frame: rx responses published up to here only */
	bool split_pending;           /* ... until split_ev publishes the rest */
	uint64_t split_pauses;        /* scn_wl_pauses() when the first part went out */
	uint64_t rng;
};

/* The guest: netfront and the exchange. */
struct hb_front {
	struct hb *w;
	domid_t domid;
	struct netfront_config cfg;
	struct netfront *nf;
	struct event *kick;
	bool connected;
	uint32_t next, done_at;
	uint8_t buf[HB_FRAME_MAX];
	uint64_t last_progress_ns;
	uint64_t pauses_seen;         /* scn_wl_pauses at the last kick */
};

struct hb {
	struct scn_wl *wl;
	uint32_t frames;
	uint64_t seed;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[5];
	char mac[24], handle[8];
	struct hb_back b;
	struct hb_front f;
	enum hb_ring ring;
	unsigned rx_bufs;             /* netfront's, 0: its default (a ring's worth) */
	bool b_alive, f_alive;
	/* Shared: which frames came back, which the backend dropped. */
	_Atomic uint8_t *seen;        /* 1 echoed, 2 lost (the backend said so) */
	_Atomic uint64_t c[HB_C_COUNT];
	_Atomic bool fatal_told;
	char fatal_what[128];         /* the first impossible thing said (back's thread, before fatal_told) */
	char first_tx[96], first_rx[96];   /* what netfront's reason must say (hb_tell_kw) */
};

static void hb_count(struct hb *w, enum hb_counter c)
{
	atomic_fetch_add(&w->c[c], 1);
}


static void hb_fill(const struct hb *w, uint32_t seq, uint32_t len, uint8_t *f)
{
	uint64_t x = w->seed ^ ((uint64_t)seq * 0xD1B54A32D192ED03ull);
	uint32_t magic = HB_MAGIC;

	memset(f, 0xff, 6);
	memset(f + 6, 0x02, 6);
	f[12] = 0x88;
	f[13] = 0xB5;
	memcpy(f + 14, &magic, 4);
	memcpy(f + 18, &seq, 4);
	memcpy(f + 22, &len, 4);
	for (uint32_t i = HB_HDR; i < len; i++)
		f[i] = (uint8_t)(scn_wl_rand(&x) >> 24);
}

static uint32_t hb_len(const struct hb *w, uint32_t seq)
{
	uint64_t x = w->seed ^ seq;

	return 60 + (uint32_t)(scn_wl_rand(&x) % 9000);
}

/* ---- the backend's lies ---- */

static unsigned hb_ring_of(const char *s)
{
	return strcmp(s, "both") == 0 ? HB_RING_BOTH : strcmp(s, "tx") == 0 ? HB_RING_TX
	       : strcmp(s, "rx") == 0 ? HB_RING_RX : HB_RING_RX + 1;
}

static bool hb_fault(struct hb_back *b, struct sim_fault_site *site)
{
	return scn_wl_lie(site, b->domid, b->peer, "vif/0");
}

/* A site of both rings, reached on the tx ring (rx false) or the rx ring:
 * an occurrence on a ring that ring= leaves out is not one. */
static bool hb_fault_ring(struct hb_back *b, struct sim_fault_site *site, bool rx)
{
	enum hb_ring r = b->w->ring;

	if ((r == HB_RING_TX && rx) || (r == HB_RING_RX && !rx))
		return false;
	return hb_fault(b, site);
}

/* A lie netfront must refuse: remembered, then published. The first on
 * each ring is what netfront must fail on (its reason holds one of the
 * '|'-separated words): failing on a later one means it took this one. */
static void hb_tell_kw(struct hb_back *b, bool fatal, bool rx, const char *what, const char *words)
{
	struct hb *w = b->w;
	char *first = rx ? w->first_rx : w->first_tx;

	hb_count(w, HB_C_LIES);
	sim_trace_event(SIM_TR_FAULT, b->domid, b->peer, 0, 0, "net.hostile.back");
	if (!fatal)
		return;
	hb_count(w, HB_C_FATAL_LIES);
	if (!first[0])
		snprintf(first, sizeof(w->first_tx), "%s", words);
	if (!atomic_load(&w->fatal_told)) {
		snprintf(w->fatal_what, sizeof(w->fatal_what), "%s", what);
		atomic_store(&w->fatal_told, true);
	}
}

/* Does netfront's reason name one of the '|'-separated words? */
static bool hb_reason_has(const char *reason, const char *words)
{
	char buf[96], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", words);
	for (char *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
		if (strstr(reason, t))
			return true;
	return false;
}

static void hb_lost(struct hb *w, const uint8_t *frame, uint32_t len)
{
	uint32_t seq;

	if (len < HB_HDR)
		return;
	memcpy(&seq, frame + 18, 4);
	if (seq < w->frames && atomic_exchange(&w->seen[seq], 2) == 0)
		hb_count(w, HB_C_LOST);
}

/* A frame lost whose header we never saw: the oldest not settled. */
static void hb_lost_unknown(struct hb *w)
{
	for (uint32_t s = 0; s < w->frames; s++) {
		uint8_t zero = 0;
		if (atomic_compare_exchange_strong(&w->seen[s], &zero, 2)) {
			hb_count(w, HB_C_LOST);
			return;
		}
	}
}

/* ---- tx: one frame off the ring, every slot copied once ---- */

static int hb_tx_frame(struct hb_back *b, RING_IDX rp, netif_tx_request_t *reqs, unsigned *n)
{
	unsigned i = 0;
	bool more = true;

	*n = 0;
	while (more) {
		if (b->tx.req_cons + i == rp || i == HB_SLOTS_MAX)
			return i == HB_SLOTS_MAX ? -EPROTO : -EAGAIN;
		RING_COPY_REQUEST(&b->tx, b->tx.req_cons + i, &reqs[i]);
		more = reqs[i].flags & (i == 0 ? (NETTXF_more_data | NETTXF_extra_info) : NETTXF_more_data);
		if (i == 0 && (reqs[0].flags & NETTXF_extra_info))
			return -EPROTO;   /* we offered no GSO */
		i++;
	}
	*n = i;
	return 0;
}

static bool hb_tx_copy(struct hb_back *b, const netif_tx_request_t *reqs, unsigned n)
{
	xengnttab_grant_copy_segment_t segs[HB_SLOTS_MAX];
	uint32_t rest = reqs[0].size, at = 0;

	for (unsigned i = 1; i < n; i++)
		rest -= reqs[i].size < rest ? reqs[i].size : rest;
	for (unsigned i = 0; i < n; i++) {
		uint32_t sz = i == 0 ? rest : reqs[i].size;
		if (at + sz > HB_FRAME_MAX || reqs[i].offset + sz > HB_PAGE)
			return false;
		segs[i] = (xengnttab_grant_copy_segment_t){
			.source.foreign = {.ref = reqs[i].gref, .offset = reqs[i].offset, .domid = b->peer},
			.dest.virt = b->frame + at, .len = (uint16_t)sz, .flags = GNTCOPY_source_gref};
		at += sz;
	}
	if (xengnttab_grant_copy(b->gt, n, segs) < 0)
		return false;
	for (unsigned i = 0; i < n; i++)
		if (segs[i].status != GNTST_okay)
			return false;
	b->frame_len = at;
	return true;
}

static void hb_tx_respond(struct hb_back *b, const netif_tx_request_t *reqs, unsigned n, int16_t status)
{
	bool lie_id = hb_fault_ring(b, &hnb_site_id, false), lie_status = hb_fault_ring(b, &hnb_site_status, false);
	bool null = hb_fault(b, &hnb_site_null);
	unsigned v = (unsigned)(scn_wl_rand(&b->rng) % 3);

	for (unsigned i = 0; i < n; i++) {
		netif_tx_response_t *r = RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt++);
		r->id = reqs[i].id;
		r->status = status;
		if (i + 1 < n)
			continue;
		if (lie_id && v == 0) {
			r->id = (uint16_t)(HB_RING + scn_wl_rand(&b->rng) % 1000);
			hb_tell_kw(b, true, false, "tx response id out of range", "out of range|rsp_prod");
		} else if (lie_id && v == 1 && b->last_id != reqs[i].id) {
			r->id = b->last_id;
			hb_tell_kw(b, true, false, "tx response id not outstanding", "in flight|rsp_prod");
		} else if (lie_id && v == 2) {
			netif_tx_response_t *again = RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt++);
			*again = *r;
			hb_tell_kw(b, true, false, "tx response id answered twice", "in flight|rsp_prod");
		}
		if (null) {
			/* NULL answers an extra info slot; none was sent. */
			r->status = NETIF_RSP_NULL;
			hb_tell_kw(b, true, false, "tx data slot answered NETIF_RSP_NULL", "NULL|rsp_prod");
		} else if (lie_status) {
			r->status = v == 2 ? NETIF_RSP_ERROR : (int16_t)(v ? 5 : -7);
			hb_tell_kw(b, v != 2, false, "tx response status garbage", "unknown status|rsp_prod");
			if (v == 2)
				hb_lost(b->w, b->frame, b->frame_len);
		}
	}
	b->last_id = reqs[n - 1].id;
}

/* false: no frame now (none, incomplete, or the last one is waiting). */
static bool hb_tx_one(struct hb_back *b)
{
	netif_tx_request_t reqs[HB_SLOTS_MAX];
	unsigned n;
	RING_IDX rp = b->tx.sring->req_prod;

	xen_rmb();
	if (b->frame_ready)
		return false;
	int rc = hb_tx_frame(b, rp, reqs, &n);
	if (rc == -EPROTO)
		scn_wl_error(b->w->wl, "hostile back (dom %u): dom %u sent a frame it does not take (extra info, or "
			     "more than %u slots)", b->domid, b->peer, HB_SLOTS_MAX);
	if (rc < 0)
		return false;
	b->tx.req_cons += n;
	/* A copy refused (netfront gone, a grant fault): the frame is lost,
	 * and said so; the exchange counts it. */
	bool ok = hb_tx_copy(b, reqs, n);
	b->frame_ready = ok;
	hb_tx_respond(b, reqs, n, ok ? NETIF_RSP_OKAY : NETIF_RSP_ERROR);
	if (!ok)
		hb_lost_unknown(b->w);
	return true;
}

/* ---- rx: the frame back, one page per slot ---- */

struct hb_rxplan {
	unsigned slots;
	bool lie_offset, lie_flags, lie_status, lie_id;
	unsigned v;
	uint16_t inner;               /* legal inner offset */
};

static void hb_rx_response(struct hb_back *b, const struct hb_rxplan *p, unsigned k, const netif_rx_request_t *req,
			   uint32_t chunk, uint16_t off, bool last, bool seg_ok)
{
	netif_rx_response_t *r = RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt++);

	*r = (netif_rx_response_t){.id = req->id, .offset = off, .flags = last ? 0 : NETRXF_more_data,
				   .status = seg_ok ? (int16_t)chunk : NETIF_RSP_ERROR};
	if (k != 0)
		return;
	if (p->lie_id) {
		r->id = (uint16_t)(req->id + 1 + scn_wl_rand(&b->rng) % 200);
		hb_tell_kw(b, true, true, "rx response id not the slot's request", "response id|rsp_prod");
	}
	if (p->lie_status) {
		r->status = p->v == 0 ? -5 : p->v == 1 ? (int16_t)(HB_PAGE + 1 - off + scn_wl_rand(&b->rng) % 100) : NETIF_RSP_ERROR;
		hb_tell_kw(b, p->v != 2, true, p->v == 0 ? "rx status garbage" : "rx length past the buffer",
			   p->v == 0 ? "unknown status|rsp_prod" : "beyond the page|longer than|rsp_prod");
		if (p->v == 2)
			hb_lost(b->w, b->frame, b->frame_len);
	}
	if (p->lie_offset && p->v != 2) {
		r->offset = (uint16_t)(HB_PAGE - chunk / 2 - 1);
		hb_tell_kw(b, chunk >= 3, true, "rx offset + length crossing the page", "beyond the page|rsp_prod");
	}
}

/* flags: an unknown extra (0), an rx frame of more slots than any frame may
 * take (1), one of full pages longer than any frame may be (2); extras: a
 * well-formed GSO extra of a type the frontend never offered to take (it
 * writes feature-gso-tcpv4 only: an extra it did not ask for is as
 * impossible as an unknown one) (3), or a chain of GSO extras that asks for
 * more after each: each extra type may come once, so no frame carries more
 * than a few (netif.h) (4), or a GSO extra of the offered type with size 0
 * (gso.size is the segment size: 0 cuts nothing) (5). */
static bool hb_rx_flags_lie(struct hb_back *b, RING_IDX rp, bool extras)
{
	unsigned v = extras ? 3 + (unsigned)(scn_wl_rand(&b->rng) % 3) : (unsigned)(scn_wl_rand(&b->rng) % 3);
	unsigned need = v == 0 || v == 3 || v == 5 ? 2 : v == 1 ? HB_CHAIN : v == 2 ? HB_LONG_SLOTS
											: 1 + HB_EXTRAS_CHAIN;
	bool with_extras = v == 0 || v >= 3;   /* a data slot, then extra info slots */

	if (rp - b->rx.req_cons < need)
		return false;
	for (unsigned k = 0; k < need; k++) {
		netif_rx_request_t req;
		RING_COPY_REQUEST(&b->rx, b->rx.req_cons++, &req);
		netif_rx_response_t *r = RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt++);
		*r = (netif_rx_response_t){.id = req.id, .flags = k + 1 < need ? NETRXF_more_data : 0,
					   .status = need == HB_LONG_SLOTS ? HB_PAGE : 0};
		if (with_extras && k == 0)
			r->flags = NETRXF_extra_info;
		if (with_extras && k >= 1) {
			netif_extra_info_t x = {.type = v == 0 ? 7 : XEN_NETIF_EXTRA_TYPE_GSO,
						.flags = k + 1 < need ? XEN_NETIF_EXTRA_FLAG_MORE : 0};
			x.u.gso.type = v == 3 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4;
			x.u.gso.size = v == 5 ? 0 : 1448;
			memcpy(r, &x, sizeof(x));
		}
	}
	if (v == 2)
		hb_tell_kw(b, true, true, "rx frame of full pages longer than a frame may be", "longer than|rsp_prod");
	else if (v == 3)
		hb_tell_kw(b, true, true, "rx GSO extra of a type never offered", "not offered|rsp_prod");
	else if (v == 4)
		hb_tell_kw(b, true, true, "rx chain of extra info slots without end", "extra info|rsp_prod");
	else if (v == 5)
		hb_tell_kw(b, true, true, "rx GSO extra of size 0", "GSO size|rsp_prod");
	else
		hb_tell_kw(b, true, true, v == 0 ? "rx extra info of unknown type" : "rx frame of more slots than allowed",
			   v == 0 ? "extra info|rsp_prod" : "data slots|rsp_prod");
	return true;
}

static bool hb_rx_one(struct hb_back *b)
{
	RING_IDX rp = b->rx.sring->req_prod;
	struct hb_rxplan p = {.slots = (b->frame_len + HB_PAGE - 1) / HB_PAGE};

	xen_rmb();
	if (!b->frame_ready || b->split_pending)
		return false;
	if (hb_fault(b, &hnb_site_flags) && hb_rx_flags_lie(b, rp, false))
		return true;
	if (hb_fault(b, &hnb_site_extras) && hb_rx_flags_lie(b, rp, true))
		return true;
	p.lie_offset = hb_fault(b, &hnb_site_offset);
	p.lie_status = hb_fault_ring(b, &hnb_site_status, true);
	p.lie_id = hb_fault_ring(b, &hnb_site_id, true);
	p.v = (unsigned)(scn_wl_rand(&b->rng) % 3);
	/* The legal oddity: a one-slot frame placed at an inner offset. */
	if (p.lie_offset && p.v == 2 && p.slots == 1)
		p.inner = (uint16_t)(scn_wl_rand(&b->rng) % (HB_PAGE - b->frame_len + 1));
	if (rp - b->rx.req_cons < p.slots)
		return false;
	RING_IDX first = b->rx.rsp_prod_pvt;
	if (p.slots >= 2 && hb_fault(b, &hnb_site_split)) {
		b->split_at = first + 1 + (RING_IDX)(scn_wl_rand(&b->rng) % (p.slots - 1));
		b->split_pending = true;
		b->split_pauses = scn_wl_pauses(b->w->wl);
		hb_count(b->w, HB_C_LIES);
	}
	for (unsigned k = 0; k < p.slots; k++) {
		netif_rx_request_t req;
		RING_COPY_REQUEST(&b->rx, b->rx.req_cons++, &req);
		uint32_t chunk = b->frame_len - k * HB_PAGE < HB_PAGE ? b->frame_len - k * HB_PAGE : HB_PAGE;
		xengnttab_grant_copy_segment_t seg = {
			.source.virt = b->frame + k * HB_PAGE, .len = (uint16_t)chunk, .flags = GNTCOPY_dest_gref,
			.dest.foreign = {.ref = req.gref, .offset = p.inner, .domid = b->peer}};
		bool ok = xengnttab_grant_copy(b->gt, 1, &seg) == 0 && seg.status == GNTST_okay;
		if (!ok)
			hb_lost(b->w, b->frame, b->frame_len);
		hb_rx_response(b, &p, k, &req, chunk, p.inner, k + 1 == p.slots, ok);
	}
	if (p.lie_offset && p.v == 2)
		hb_count(b->w, HB_C_LIES);
	b->frame_ready = false;
	return true;
}

/* An rx rsp_prod past every buffer netfront may have posted: 300 past what
 * we answered (past the ring too), or, every other time, one more than its
 * buffers past it (within the ring when it posts fewer than half a ring's
 * worth): io/netif.h answers only requests, and a frontend that bounds
 * rsp_prod by the ring's size rather than by its requests takes it. */
static RING_IDX hb_rx_prod_lie(struct hb_back *b)
{
	unsigned bufs = b->w->rx_bufs ? b->w->rx_bufs : HB_RING;

	return b->rx.rsp_prod_pvt + (b->prod_lies++ % 2 ? 300u : bufs + 1u);
}

/* A tx rsp_prod past the requests netfront may have: half a ring past what
 * we answered (within the ring: the slots hold the last lap's responses,
 * which a frontend bounding rsp_prod by the ring's size rather than by its
 * requests takes as answers; past every request, as we answer all we see
 * at once and a frontend adds a frame's slots at most before it publishes),
 * or, every other time as for rx, 300 past it (past the ring too). */
static RING_IDX hb_tx_prod_lie(struct hb_back *b)
{
	return b->tx.rsp_prod_pvt + (b->prod_lies++ % 2 ? 300u : RING_SIZE(&b->tx) / 2);
}

/* The first part of a split frame, published as RING_PUSH_RESPONSES_AND_CHECK_NOTIFY
 * would (io/ring.h); the rest waits for split_ev. */
static int hb_push_split(struct hb_back *b)
{
	RING_IDX old = b->rx.sring->rsp_prod, mid = b->split_at;

	if (old == mid)
		return 0;   /* published already */
	xen_wmb();
	b->rx.sring->rsp_prod = mid;
	xen_mb();
	struct timeval tv = {.tv_sec = 0, .tv_usec = HB_SPLIT_US};
	event_add(b->split_ev, &tv);
	return (RING_IDX)(mid - b->rx.sring->rsp_event) < (RING_IDX)(mid - old);
}

static void hb_push(struct hb_back *b)
{
	int ntx, nrx;

	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->tx, ntx);
	if (b->split_pending)
		nrx = hb_push_split(b);
	else
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->rx, nrx);
	if (hb_fault(b, &hnb_site_prod)) {
		bool tx = b->w->ring == HB_RING_BOTH ? scn_wl_rand(&b->rng) % 2 : b->w->ring == HB_RING_TX;
		xen_wmb();
		if (tx)
			b->tx.sring->rsp_prod = hb_tx_prod_lie(b);
		else
			b->rx.sring->rsp_prod = hb_rx_prod_lie(b);
		hb_tell_kw(b, true, !tx, tx ? "tx rsp_prod past the requests" : "rx rsp_prod past the requests", "rsp_prod");
		b->prod_lied = true;
		ntx = 1;
	}
	if ((ntx || nrx) && xenevtchn_notify(b->xce, b->port) < 0 && errno != ENOTCONN)
		scn_wl_error(b->w->wl, "hostile back: notify failed: %s", strerror(errno));
}

static void hb_serve(void *arg)
{
	struct hb_back *b = arg;
	int more;

	if (!b->connected || scn_wl_finished(b->w->wl) || b->prod_lied)
		return;
	RING_IDX rx_first = b->rx.rsp_prod_pvt;
	for (unsigned turn = 0; turn < HB_RING; turn++) {
		while (hb_rx_one(b) || hb_tx_one(b))
			;
		if (b->frame_ready) {
			/* Wait for as many buffers as the frame takes. */
			unsigned need = (b->frame_len + HB_PAGE - 1) / HB_PAGE;
			b->rx.sring->req_event = b->rx.req_cons + need;
			xen_mb();
			if (b->rx.sring->req_prod - b->rx.req_cons >= need)
				continue;
			break;
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&b->tx, more);
		if (!more)
			break;
	}
	hb_push(b);
	if (b->rx.rsp_prod_pvt != rx_first && hb_fault(b, &hnb_site_rewrite)) {
		b->rw_idx = b->rx.rsp_prod_pvt - 1;
		b->rw_pending = true;
		event_active(b->rw_ev, EV_TIMEOUT, 0);
	}
}

/* The rewrite: the last rx response published, made impossible. */
static void hb_rewrite(void *arg)
{
	struct hb_back *b = arg;

	if (!b->rw_pending || !b->connected)
		return;
	b->rw_pending = false;
	netif_rx_response_t *r = RING_GET_RESPONSE(&b->rx, b->rw_idx);
	r->status = (int16_t)(HB_PAGE + 1000);
	hb_count(b->w, HB_C_REWRITES);
	sim_trace_event(SIM_TR_FAULT, b->domid, b->peer, b->rw_idx, 0, "net.hostile.back.rewrite");
}

static void hb_rw_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scn_wl_guard(((struct hb_back *)arg)->w->wl, hb_rewrite, arg);
}

/* Before the rest of a split frame: in det mode the timer fires only when
 * no domain can run, so netfront has taken what it was told of and sleeps.
 * The frame's first slots are published and not yet consumed (a frame is
 * taken whole), so a netfront keeping io/ring.h asked for an event past
 * them (rsp_event beyond split_at); at or behind it, the rest will raise no
 * event (the push only notifies on crossing rsp_event) and the frame waits
 * for whatever else wakes the guest: a lost wakeup, which tx traffic on a
 * shared channel would otherwise hide. Not while netfront is paused or
 * after a pause of either end since the first part (a paused domain did not
 * run when the timer was due), nor once netfront failed or was told an
 * impossible thing. */
static void hb_split_armed(struct hb_back *b)
{
	struct hb *w = b->w;
	RING_IDX ev = b->rx.sring->rsp_event;

	if (sim_mode() != SIM_MODE_DET || sim_domain_paused(b->peer) || scn_wl_pauses(w->wl) != b->split_pauses ||
	    atomic_load(&w->fatal_told) || b->prod_lied || !w->f.connected || b->rx.sring->rsp_prod != b->split_at)
		return;
	if ((RING_IDX)(b->split_at - ev) < HB_RING)
		scn_wl_fail(w->wl, "netfront (dom %u) sleeps on an rx frame whose first slots are published (rsp_prod %u) "
			    "with rsp_event %u: the rest of the frame will raise no event (a lost wakeup)", b->peer,
			    b->split_at, ev);
}

/* The rest of a split frame, then whatever waited behind it. */
static void hb_split_rest(void *arg)
{
	struct hb_back *b = arg;

	if (!b->split_pending || !b->connected)
		return;
	b->split_pending = false;
	hb_split_armed(b);
	if (!b->prod_lied)
		hb_push(b);
	hb_serve(b);
}

static void hb_split_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scn_wl_guard(((struct hb_back *)arg)->w->wl, hb_split_rest, arg);
}

static void hb_ev_cb(evutil_socket_t fd, short what, void *arg)
{
	struct hb_back *b = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t p = xenevtchn_pending(b->xce);
	if (p < 0)
		return;
	xenevtchn_unmask(b->xce, (evtchn_port_t)p);
	scn_wl_guard(b->w->wl, hb_serve, b);
}

/* ---- the backend's handshake (xs_* by hand) ---- */

static int hb_xs_write(struct hb_back *b, const char *key, const char *val)
{
	return scn_xs_printf(b->xs, b->dir, key, "%s", val);
}

static int hb_fe_uint(struct hb_back *b, const char *key, uint32_t *out)
{
	char v[SCN_XS_VALUE_MAX];
	int rc = scn_xs_gets(b->xs, b->fe_dir, key, v, sizeof(v));

	if (rc == 0)
		*out = (uint32_t)strtoul(v, NULL, 10);
	return rc;
}

static int hb_connect(struct hb_back *b)
{
	uint32_t txr = 0, rxr = 0, port = 0;   /* -O2 cannot see hb_fe_uint set them */
	int rc = hb_fe_uint(b, "tx-ring-ref", &txr);

	rc = rc ? rc : hb_fe_uint(b, "rx-ring-ref", &rxr);
	rc = rc ? rc : hb_fe_uint(b, "event-channel", &port);
	if (rc < 0)
		return rc;
	b->tx_addr = xengnttab_map_grant_ref(b->gt, b->peer, txr, PROT_READ | PROT_WRITE);
	b->rx_addr = xengnttab_map_grant_ref(b->gt, b->peer, rxr, PROT_READ | PROT_WRITE);
	if (!b->tx_addr || !b->rx_addr)
		return -EIO;
	BACK_RING_INIT(&b->tx, (netif_tx_sring_t *)b->tx_addr, HB_PAGE);
	BACK_RING_INIT(&b->rx, (netif_rx_sring_t *)b->rx_addr, HB_PAGE);
	xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(b->xce, b->peer, port);
	if (p < 0)
		return -errno;
	b->port = (evtchn_port_t)p;
	b->connected = true;
	b->prod_lied = false;
	return hb_xs_write(b, "state", "4");
}

static void hb_sync(void *arg)
{
	struct hb_back *b = arg;
	char path[160], **ev;
	unsigned n;

	while ((ev = xs_check_watch(b->xs)))
		free(ev);
	snprintf(path, sizeof(path), "%s/state", b->fe_dir);
	char *v = xs_read(b->xs, XBT_NULL, path, &n);
	int fe = v ? atoi(v) : XenbusStateUnknown;
	free(v);
	if (!b->connected && fe == XenbusStateConnected) {
		int rc = hb_connect(b);
		if (rc < 0)
			scn_wl_error(b->w->wl, "hostile back (dom %u): connecting to dom %u failed: %s", b->domid, b->peer,
				     strerror(-rc));
		else
			hb_serve(b);
	}
}

static void hb_xs_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scn_wl_guard(((struct hb_back *)arg)->w->wl, hb_sync, arg);
}

static int hb_back_start(void *arg)
{
	struct hb_back *b = arg;
	struct event_base *base = sim_domain_event_base();
	char path[160];

	snprintf(b->dir, sizeof(b->dir), "/local/domain/%u/backend/vif/%u/%u", b->domid, b->peer, HB_DEVID);
	snprintf(b->fe_dir, sizeof(b->fe_dir), "/local/domain/%u/device/vif/%u", b->peer, HB_DEVID);
	b->xs = xs_open(0);
	b->gt = xengnttab_open(NULL, 0);
	b->xce = xenevtchn_open(NULL, 0);
	if (!b->xs || !b->gt || !b->xce)
		return -EIO;
	b->xs_ev = scn_ev_new(base, xs_fileno(b->xs), EV_READ | EV_PERSIST, hb_xs_cb, b);
	b->ev = scn_ev_new(base, xenevtchn_fd(b->xce), EV_READ | EV_PERSIST, hb_ev_cb, b);
	b->rw_ev = scn_ev_new(base, -1, 0, hb_rw_cb, b);
	b->split_ev = scn_ev_new(base, -1, 0, hb_split_cb, b);
	if (!b->xs_ev || !b->ev || !b->rw_ev || !b->split_ev)
		return -ENOMEM;
	event_add(b->xs_ev, NULL);
	event_add(b->ev, NULL);
	int rc = hb_xs_write(b, "feature-rx-copy", "1");
	rc = rc ? rc : hb_xs_write(b, "feature-sg", "1");
	rc = rc ? rc : hb_xs_write(b, "state", "2");
	snprintf(path, sizeof(path), "%s/state", b->fe_dir);
	if (rc == 0 && !xs_watch(b->xs, path, "hb"))
		rc = -errno;
	return rc;
}

static void hb_back_release(struct hb_back *b, bool alive)
{
	scn_ev_free(b->xs_ev, alive);
	scn_ev_free(b->ev, alive);
	scn_ev_free(b->rw_ev, alive);
	scn_ev_free(b->split_ev, alive);
	b->xs_ev = b->ev = b->rw_ev = b->split_ev = NULL;
	b->split_pending = false;
	if (alive) {
		if (b->tx_addr)
			xengnttab_unmap(b->gt, b->tx_addr, 1);
		if (b->rx_addr)
			xengnttab_unmap(b->gt, b->rx_addr, 1);
		if (b->xs)
			hb_xs_write(b, "state", "6");
		if (b->xce)
			xenevtchn_close(b->xce);
		if (b->gt)
			xengnttab_close(b->gt);
		if (b->xs)
			xs_close(b->xs);
	}
	b->tx_addr = b->rx_addr = NULL;
	b->xce = NULL;
	b->gt = NULL;
	b->xs = NULL;
	b->connected = false;
}

static int hb_back_stop(void *arg)
{
	hb_back_release(arg, true);
	return 0;
}

/* ---- the guest: netfront and the verified exchange ---- */

static uint64_t hb_settled(struct hb *w)
{
	return atomic_load(&w->c[HB_C_ECHOED]) + atomic_load(&w->c[HB_C_LOST]);
}

static void hb_judge_end(struct hb *w)
{
	if (atomic_load(&w->fatal_told))
		scn_wl_fail(w->wl, "netfront (dom %u) took a response it must refuse (%s) and carried on", w->f.domid,
			    w->fatal_what);
	else
		scn_wl_done(w->wl);
}

static void hb_front_send(struct hb_front *f)
{
	struct hb *w = f->w;

	while (f->connected && f->next < w->frames && f->next - hb_settled(w) < HB_WINDOW && !scn_wl_finished(w->wl)) {
		uint32_t len = hb_len(w, f->next);
		hb_fill(w, f->next, len, f->buf);
		uint32_t cut = HB_HDR + len / 3;
		struct iovec iov[2] = {{f->buf, cut < len ? cut : len}, {f->buf + cut, cut < len ? len - cut : 0}};
		struct netfront_tx tx = {.iov = iov, .iovcnt = cut < len ? 2 : 1, .hash = f->next};
		int rc = netfront_send(f->nf, &tx);
		if (rc == -EAGAIN)
			return;
		if (rc < 0) {
			if (rc != -EIO)
				scn_wl_error(w->wl, "netfront_send (dom %u): %s", f->domid, strerror(-rc));
			return;
		}
		f->next++;
		hb_count(w, HB_C_SENT);
	}
	if (hb_settled(w) == w->frames)
		hb_judge_end(w);
}

static void hb_front_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct hb_front *f = arg;
	struct hb *w = f->w;
	uint32_t magic = 0, seq = UINT32_MAX, len = 0;

	(void)nf;
	if (rx->len >= HB_HDR) {
		memcpy(&magic, rx->data + 14, 4);
		memcpy(&seq, rx->data + 18, 4);
		memcpy(&len, rx->data + 22, 4);
	}
	if (magic != HB_MAGIC || seq >= w->frames || len != rx->len || len != hb_len(w, seq)) {
		scn_wl_fail(w->wl, "netfront (dom %u) delivered a frame of %u bytes that was never sent (header: seq %d, "
			    "length %u)", f->domid, rx->len, magic == HB_MAGIC ? (int)seq : -1, len);
		return;
	}
	hb_fill(w, seq, len, f->buf);
	if (memcmp(f->buf, rx->data, len) != 0) {
		scn_wl_fail(w->wl, "netfront (dom %u) delivered frame %u corrupted", f->domid, seq);
		return;
	}
	uint8_t was = atomic_exchange(&w->seen[seq], 1);
	if (was == 1) {
		scn_wl_fail(w->wl, "netfront (dom %u) delivered frame %u twice", f->domid, seq);
		return;
	}
	if (was == 2)
		atomic_fetch_sub(&w->c[HB_C_LOST], 1);   /* dropped said the backend, yet here: only late */
	hb_count(w, HB_C_ECHOED);
	f->last_progress_ns = sim_now_ns();
	hb_front_send(f);
}

/* Netfront failed: its teardown ran before it said so. Nothing may be left
 * but the two ring pages the backend still maps (their grants end when it
 * unmaps): no port, no other grant (leaks on the error path). */
static void hb_front_released(struct hb_front *f, const char *why)
{
	struct gnttab_stats st;
	unsigned ports = evtchn_ports_in_use(f->domid);

	if (gnttab_stats(f->domid, &st) < 0)
		return;
	if (ports || st.grants_active > HB_RING_PAGES)
		scn_wl_fail(f->w->wl, "netfront (dom %u) failed (%s) and tore down, but still holds %u event-channel "
			    "port(s) and %lu grant(s) (the backend maps %u ring pages)", f->domid, why, ports,
			    st.grants_active, HB_RING_PAGES);
}

static void hb_front_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct hb_front *f = arg;
	struct hb *w = f->w;

	if (ev == NETFRONT_EV_CONNECTED) {
		f->connected = true;
		f->last_progress_ns = sim_now_ns();
		hb_front_send(f);
	} else if (ev == NETFRONT_EV_TX_READY) {
		hb_front_send(f);
	} else if (ev == NETFRONT_EV_FAILED) {
		const char *e = netfront_error(nf);
		e = e ? e : "?";
		hb_front_released(f, e);
		bool rewritten = atomic_load(&w->c[HB_C_REWRITES]) && hb_reason_has(e, "beyond the page|longer than");
		if (!atomic_load(&w->fatal_told) && !rewritten)
			scn_wl_fail(w->wl, "netfront (dom %u) failed, but the backend said nothing impossible: %s", f->domid, e);
		else if (!rewritten && !(w->first_tx[0] && hb_reason_has(e, w->first_tx)) &&
			 !(w->first_rx[0] && hb_reason_has(e, w->first_rx)))
			scn_wl_fail(w->wl, "netfront (dom %u) failed on something later (%s) but took an impossible response "
				    "before it (%s)", f->domid, e, w->fatal_what);
		else
			scn_wl_error(w->wl, "netfront (dom %u) failed: %s", f->domid, e);
	} else if (ev == NETFRONT_EV_DISCONNECTED) {
		f->connected = false;
	}
}

/* Frames lost without a word: judged once nothing moves. A paused domain
 * moves nothing (xl pause): the window starts over while the backend is
 * paused, and after any pause (the front's own: this timer fires first when
 * it runs again, before what came meanwhile). */
static void hb_front_kick(evutil_socket_t fd, short what, void *arg)
{
	struct hb_front *f = arg;
	struct hb *w = f->w;

	(void)fd;
	(void)what;
	uint64_t pauses = scn_wl_pauses(w->wl);
	if (sim_domain_paused(w->b.domid) || pauses != f->pauses_seen)
		f->last_progress_ns = sim_now_ns();
	f->pauses_seen = pauses;
	if (scn_wl_finished(w->wl) || sim_now_ns() - f->last_progress_ns < HB_STALL_MS * 1000000ull)
		return;
	if (atomic_load(&w->fatal_told))
		scn_wl_fail(w->wl, "netfront (dom %u) neither refused the impossible response (%s) nor went on (%lu of "
			    "%u frames back)", f->domid, w->fatal_what, hb_settled(w), w->frames);
	else
		scn_wl_error(w->wl, "the exchange stalled: %lu of %u frames back or dropped", hb_settled(w), w->frames);
}

static int hb_front_open(void *arg)
{
	struct hb_front *f = arg;
	struct timeval tv = {.tv_sec = 0, .tv_usec = 50000};

	f->cfg = (struct netfront_config){.base = sim_domain_event_base(), .devid = HB_DEVID, .queues_max = 1,
					  .rx_bufs = f->w->rx_bufs, .sg = true, .gso_tcpv4 = true, .rx_notify = true,
					  .on_rx = hb_front_rx,
					  .on_event = hb_front_event, .arg = f};
	f->kick = scn_ev_new(f->cfg.base, -1, EV_PERSIST, hb_front_kick, f);
	if (!f->kick)
		return -ENOMEM;
	event_add(f->kick, &tv);
	return netfront_open(&f->cfg, &f->nf);
}

static int hb_front_close(void *arg)
{
	struct hb_front *f = arg;

	scn_ev_free(f->kick, true);
	f->kick = NULL;
	scn_wl_check_netfront_pools(f->w->wl, f->domid, f->nf);
	netfront_close(f->nf);
	f->nf = NULL;
	return 0;
}

/* ---- the workload ---- */

static int hb_toolstack(struct hb *w, bool create)
{
	int rc = sim_thread_enter(0);

	if (rc < 0)
		return rc;
	struct xs_handle *xs = xs_open(0);
	rc = !xs ? -errno : create ? xenbus_device_create(xs, &w->dev) : xenbus_device_remove(xs, &w->dev);
	if (xs)
		xs_close(xs);
	sim_thread_leave();
	return rc;
}

static int hb_start(struct scn_wl *wl)
{
	struct hb *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	w->frames = (uint32_t)scn_wl_u(wl, HB_P_FRAMES);
	w->ring = hb_ring_of(scn_wl_s(wl, HB_P_RING));
	w->rx_bufs = (unsigned)scn_wl_u(wl, HB_P_RX_BUFS);
	w->seed = scn_wl_seed(wl);
	w->seen = calloc(w->frames, sizeof(*w->seen));
	if (!w->seen)
		return -ENOMEM;
	w->f = (struct hb_front){.w = w, .domid = scn_wl_domid(wl, HB_P_FRONT)};
	w->b = (struct hb_back){.w = w, .domid = scn_wl_domid(wl, HB_P_BACK), .peer = w->f.domid,
				.rng = w->seed ^ 0xbadbacull};
	scn_wl_hostile(wl, w->b.domid);
	snprintf(w->mac, sizeof(w->mac), "02:00:00:00:00:01");
	snprintf(w->handle, sizeof(w->handle), "%u", HB_DEVID);
	const char *fe[] = {"mac", w->mac, "handle", w->handle, NULL};
	const char *be[] = {"mac", w->mac, "type", "vif", NULL};
	memcpy(w->fe_keys, fe, sizeof(fe));
	memcpy(w->be_keys, be, sizeof(be));
	w->dev = (struct xenbus_device){.type = "vif", .fe_domid = w->f.domid, .be_domid = w->b.domid,
					.devid = HB_DEVID, .fe_keys = w->fe_keys, .be_keys = w->be_keys};
	if (!sim_domain_alive(0)) {
		scn_wl_error(wl, "needs domain 0 (the toolstack): declare `domain dom0 priv`");
		return -ESRCH;
	}
	int rc = hb_toolstack(w, true);
	if (rc == 0)
		rc = scn_wl_call(wl, w->b.domid, hb_back_start, &w->b);
	w->b_alive = true;
	if (rc == 0)
		rc = scn_wl_call(wl, w->f.domid, hb_front_open, &w->f);
	w->f_alive = rc == 0;
	if (rc < 0)
		scn_wl_error(wl, "set-up (front dom %u, back dom %u) failed: %s", w->f.domid, w->b.domid, strerror(-rc));
	return 0;
}

static void hb_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct hb *w = wl->priv;

	if (ev != SCN_DOM_CRASHED)
		return;
	if (domid == w->b.domid) {
		w->b_alive = false;
		hb_back_release(&w->b, false);
	} else if (domid == w->f.domid) {
		w->f_alive = false;
		scn_ev_free(w->f.kick, false);
		w->f.kick = NULL;
		w->f.nf = NULL;
		/* A backend lets go of a dead frontend's rings (the zombie oracle). */
		if (w->b_alive && scn_wl_call(wl, w->b.domid, hb_back_stop, &w->b) < 0)
			hb_back_release(&w->b, false);
	} else {
		return;
	}
	scn_wl_error(wl, "domain %u %s", domid, scn_wl_gone(wl, domid));
}

static void hb_stop(struct scn_wl *wl)
{
	struct hb *w = wl->priv;

	if (w->f_alive && sim_domain_alive(w->f.domid))
		scn_wl_call(wl, w->f.domid, hb_front_close, &w->f);
	if (w->b_alive && sim_domain_alive(w->b.domid))
		scn_wl_call(wl, w->b.domid, hb_back_stop, &w->b);
	if (sim_domain_alive(0))
		hb_toolstack(w, false);
	free(w->seen);
	free(w);
}

static uint64_t hb_counter(struct scn_wl *wl, unsigned index)
{
	struct hb *w = wl->priv;

	return index < HB_C_COUNT ? atomic_load(&w->c[index]) : 0;
}

static int hb_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (hb_ring_of(a->s[HB_P_RING]) > HB_RING_RX) {
		snprintf(err, len, "ring=%s: both, tx or rx", a->s[HB_P_RING]);
		return -EINVAL;
	}
	if (a->u[HB_P_RX_BUFS] && a->u[HB_P_RX_BUFS] < XEN_NETIF_NR_SLOTS_MIN) {
		snprintf(err, len, "rx-bufs=%lu: 0 or %u..%u (netfront with feature-sg)", (unsigned long)a->u[HB_P_RX_BUFS],
			 XEN_NETIF_NR_SLOTS_MIN, HB_RING);
		return -EINVAL;
	}
	if (a->u[HB_P_FRONT] == a->u[HB_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_net_hostile_back = {
	.name = "net-hostile-back",
	.what = "drivers/net's netfront served by a hostile backend (net.hostile.back.* faults), frames echoed and checked",
	.params = hb_params,
	.counters = hb_counters,
	.validate = hb_validate,
	.start = hb_start,
	.domain_event = hb_domain_event,
	.stop = hb_stop,
	.counter = hb_counter,
};
