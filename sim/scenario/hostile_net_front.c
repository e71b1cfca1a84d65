/*
 * The hostile net frontend (see hostile_net.h): a guest that talks to the
 * real netback over one queue and one event channel, with nothing but
 * xengntshr, xenevtchn and xs_* calls and io/netif.h.
 *
 * Packets are built from pages of a tx pool (one data slot per page, at a
 * random offset); every frame carries a header (magic, sequence, length) and
 * bytes that are a function of the seed and the sequence. Where a fault site
 * fires, the packet lies in one field class:
 *   net.hostile.front.slots    more data slots than XEN_NETIF_NR_SLOTS_MIN, or
 *                              a chain that never ends (more_data on the last)
 *   net.hostile.front.size     first size smaller than the fragments, larger
 *                              than its page holds, below a header; or
 *                              zero-length fragments (legal: must go through)
 *   net.hostile.front.offset   offset + size crosses the page
 *   net.hostile.front.extra    unknown extra type, bad GSO type or size, a
 *                              chain of extras; a lone MCAST_ADD (legal)
 *   net.hostile.front.id       ids out of range, or all the same (legal: ids
 *                              are the frontend's business, echoed back)
 *   net.hostile.front.gref     a ref never granted (tx), or rx buffers that
 *                              are not granted or granted read-only
 *   net.hostile.front.prod     tx or rx req_prod jumps past the ring
 *   net.hostile.front.csum     checksum offload (NETTXF_csum_blank) on headers
 *                              that do not hold: an IPv4 total length or an
 *                              IPv6 payload length past the packet, an IPv4
 *                              header longer than its total length
 *   net.hostile.front.rewrite  a tx request changed in the shared ring at the
 *                              next scheduling step after it was published
 *   net.hostile.front.rxstarve no more rx buffers posted, for good (XSA-392)
 * What a correct backend may do with each packet is worked out from the
 * requests as written (hostile_net_model.c); a rewritten one may be taken as
 * either version.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/hostile_net_internal.h"

SIM_FAULT_SITE(hnf_site_slots, "net.hostile.front.slots",
	       "hostile netfront: more slots than XEN_NETIF_NR_SLOTS_MIN, or a chain that never ends");
SIM_FAULT_SITE(hnf_site_size, "net.hostile.front.size",
	       "hostile netfront: first slot size against the fragments (smaller, too large, tiny); 0-length fragments");
SIM_FAULT_SITE(hnf_site_offset, "net.hostile.front.offset", "hostile netfront: a slot's offset + size crosses its page");
SIM_FAULT_SITE(hnf_site_extra, "net.hostile.front.extra",
	       "hostile netfront: unknown extra info, bad GSO type or size, a chain of extras");
SIM_FAULT_SITE(hnf_site_id, "net.hostile.front.id", "hostile netfront: tx ids out of range or duplicated");
SIM_FAULT_SITE(hnf_site_gref, "net.hostile.front.gref",
	       "hostile netfront: a tx ref never granted; rx buffers not granted or read-only");
SIM_FAULT_SITE(hnf_site_prod, "net.hostile.front.prod", "hostile netfront: tx or rx req_prod jumps past the ring");
SIM_FAULT_SITE(hnf_site_rxstarve, "net.hostile.front.rxstarve",
	       "hostile netfront: posts no more rx buffers, for good: what netback passes on "
	       "towards it queues there (XSA-392: the queue must stay bounded)");
SIM_FAULT_SITE(hnf_site_csum, "net.hostile.front.csum",
	       "hostile netfront: checksum offload asked on IPv4/IPv6/TCP headers whose lengths run past the "
	       "packet");
SIM_FAULT_SITE(hnf_site_rewrite, "net.hostile.front.rewrite",
	       "hostile netfront: a tx request changed in the ring after it was published (XSA-155)");

/* ---- small helpers ---- */

uint64_t hf_rng(uint64_t *s)
{
	uint64_t x = *s += 0x9E3779B97F4A7C15ull;

	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

uint64_t hf_fnv(const uint8_t *p, size_t n, uint64_t h)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static void hf_put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* The frame of packet seq, len bytes. */
static void hf_frame(const struct hostile_front *h, uint32_t seq, uint32_t len, uint8_t *f)
{
	uint64_t x = h->cfg.seed ^ ((uint64_t)seq * 0xD1B54A32D192ED03ull);

	memcpy(f, h->cfg.mac, 6);
	memcpy(f + 6, h->cfg.mac, 6);
	f[12] = HF_ETHERTYPE >> 8;
	f[13] = HF_ETHERTYPE & 0xff;
	hf_put32(f + 14, HF_MAGIC);
	hf_put32(f + 18, seq);
	hf_put32(f + 22, len);
	for (uint32_t i = HF_HDR_BYTES; i < len; i++)
		f[i] = (uint8_t)(hf_rng(&x) >> 24);
}

static void hf_count(struct hostile_front *h, enum hf_stat s)
{
	atomic_fetch_add_explicit(&h->st[s], 1, memory_order_relaxed);
}

static bool hf_fault(struct hostile_front *h, struct sim_fault_site *site)
{
	return scn_wl_lie(site, h->cfg.domid, h->cfg.back, h->device);
}

static void hf_lie(struct hostile_front *h, struct hf_build *b, const char *what)
{
	size_t k = strlen(b->lie);

	snprintf(b->lie + k, sizeof(b->lie) - k, "%s%s", k ? "; " : "", what);
	hf_count(h, HF_S_LIES);
	sim_trace_event(SIM_TR_FAULT, h->cfg.domid, h->cfg.back, b->seq, 0, "net.hostile.front");
}

/* ---- the tx page pool ---- */

static int hf_page_get(struct hostile_front *h)
{
	for (unsigned i = 0; i < HF_TX_PAGES; i++) {
		unsigned p = (h->tx_next + i) % HF_TX_PAGES;
		if (!h->tx_busy[p]) {
			h->tx_busy[p] = true;
			h->tx_nfree--;
			h->tx_next = p + 1;
			return (int)p;
		}
	}
	return -1;
}

static void hf_page_put(struct hostile_front *h, int p)
{
	if (p < 0 || !h->tx_busy[p])
		return;
	h->tx_busy[p] = false;
	h->tx_nfree++;
}

void hf_page_release(struct hostile_front *h, int page)
{
	hf_page_put(h, page);
}

const uint8_t *hf_tx_page_of(const struct hostile_front *h, uint32_t gref)
{
	for (unsigned i = 0; i < HF_TX_PAGES; i++)
		if (h->tx_refs[i] == gref)
			return h->tx_pages + (size_t)i * HF_PAGE_BYTES;
	return NULL;
}

/* ---- building a packet ---- */

static void hf_slot_add(struct hf_build *b, const netif_tx_request_t *r, bool extra, int page)
{
	b->reqs[b->n] = *r;
	b->extra[b->n] = extra;
	b->page[b->n] = page;
	b->n++;
}

/* Every data slot but the last says more_data. */
static void hf_fix_flags(struct hf_build *b)
{
	int last = -1;

	for (unsigned i = 0; i < b->n; i++)
		if (!b->extra[i]) {
			b->reqs[i].flags &= (uint16_t)~NETTXF_more_data;
			last = (int)i;
		}
	for (unsigned i = 0; i < b->n; i++)
		if (!b->extra[i] && (int)i != last)
			b->reqs[i].flags |= NETTXF_more_data;
}

/* A well-formed packet of ndata data slots. false: not enough pages now. */
static bool hf_build_good(struct hostile_front *h, struct hf_build *b, unsigned ndata)
{
	uint16_t size[HF_DATA_MAX];
	uint32_t len = 0;

	if (h->tx_nfree < ndata)
		return false;
	for (unsigned j = 0; j < ndata; j++) {
		if (j == 0)
			size[j] = (uint16_t)(ndata == 1 ? 60 + hf_rng(&h->rng) % 1400 : HF_HDR_BYTES + hf_rng(&h->rng) % 400);
		else
			size[j] = (uint16_t)(1 + hf_rng(&h->rng) % 1000);
		len += size[j];
	}
	hf_frame(h, b->seq, len, h->scratch);
	uint32_t at = 0;
	for (unsigned j = 0; j < ndata; j++) {
		int p = hf_page_get(h);
		uint16_t off = (uint16_t)(hf_rng(&h->rng) % (HF_PAGE_BYTES - size[j] + 1));
		memcpy(h->tx_pages + (size_t)p * HF_PAGE_BYTES + off, h->scratch + at, size[j]);
		at += size[j];
		netif_tx_request_t r = {.gref = h->tx_refs[p], .offset = off, .id = (uint16_t)p,
					.size = j == 0 ? (uint16_t)len : size[j]};
		hf_slot_add(b, &r, false, p);
	}
	hf_fix_flags(b);
	return true;
}

/* Insert a slot at position pos (>= 1), moving the rest up. */
static void hf_slot_insert(struct hf_build *b, unsigned pos, const netif_tx_request_t *r, bool extra)
{
	for (unsigned i = b->n; i > pos; i--) {
		b->reqs[i] = b->reqs[i - 1];
		b->extra[i] = b->extra[i - 1];
		b->page[i] = b->page[i - 1];
	}
	b->reqs[pos] = *r;
	b->extra[pos] = extra;
	b->page[pos] = -1;
	b->n++;
}

static void hf_extra_insert(struct hf_build *b, unsigned pos, const netif_extra_info_t *x)
{
	netif_tx_request_t slot;

	memset(&slot, 0, sizeof(slot));
	memcpy(&slot, x, sizeof(*x));
	hf_slot_insert(b, pos, &slot, true);
	b->reqs[0].flags |= NETTXF_extra_info;
}

static unsigned hf_extras(const struct hf_build *b)
{
	unsigned k = 0;

	for (unsigned i = 0; i < b->n; i++)
		k += b->extra[i];
	return k;
}

/* The first data slot after slot 0 with bytes, or 0. */
static unsigned hf_some_data_slot(const struct hf_build *b)
{
	for (unsigned i = 1; i < b->n; i++)
		if (!b->extra[i] && b->reqs[i].size)
			return i;
	return 0;
}

static void hf_lie_slots(struct hostile_front *h, struct hf_build *b)
{
	if (hf_rng(&h->rng) % 3 == 0) {
		b->reqs[b->n - 1].flags |= NETTXF_more_data;
		b->open_chain = true;
		hf_lie(h, b, "the last slot says more_data: a chain that never ends");
		return;
	}
	/* Rebuilt with more data slots than netif.h makes a backend take. */
	for (unsigned i = 0; i < b->n; i++)
		hf_page_put(h, b->page[i]);
	b->n = 0;
	/* Half the time just past one of the bounds (netif.h's, then this
	 * netback's drop and fatal ones, where an off-by-one lets it through). */
	unsigned edges[] = {XEN_NETIF_NR_SLOTS_MIN + 1, h->cfg.slots_max + 1, h->cfg.slots_fatal + 1};
	uint64_t r = hf_rng(&h->rng);
	unsigned want = XEN_NETIF_NR_SLOTS_MIN + 1 + (unsigned)((r >> 3) % (HF_DATA_MAX - XEN_NETIF_NR_SLOTS_MIN));
	if (r % 2) {
		unsigned e = edges[(r >> 1) % 3];
		want = e > XEN_NETIF_NR_SLOTS_MIN + 1 && e <= HF_DATA_MAX ? e : XEN_NETIF_NR_SLOTS_MIN + 1;
	}
	if (!hf_build_good(h, b, want))
		hf_build_good(h, b, 1);
	else
		hf_lie(h, b, "more data slots than XEN_NETIF_NR_SLOTS_MIN");
}

static void hf_lie_size(struct hostile_front *h, struct hf_build *b)
{
	unsigned v = (unsigned)(hf_rng(&h->rng) % 4);
	uint32_t rest = 0;

	for (unsigned i = 1; i < b->n; i++)
		rest += b->extra[i] ? 0 : b->reqs[i].size;
	if (v == 0 && rest > 0) {
		b->reqs[0].size = (uint16_t)(hf_rng(&h->rng) % rest);
		hf_lie(h, b, "first slot's size smaller than the fragments after it");
	} else if (v == 1 && b->reqs[0].size <= 65535 - HF_PAGE_BYTES) {
		b->reqs[0].size = (uint16_t)(b->reqs[0].size + HF_PAGE_BYTES);
		hf_lie(h, b, "first slot's size larger than its page can hold");
	} else if (v == 2) {
		unsigned k = 1 + (unsigned)(hf_rng(&h->rng) % 3);
		for (unsigned i = 0; i < k && b->n < HF_SLOTS_MAX; i++) {
			netif_tx_request_t z = {.gref = h->tx_refs[hf_rng(&h->rng) % HF_TX_PAGES],
						.offset = (uint16_t)(hf_rng(&h->rng) % (HF_PAGE_BYTES + 1)), .id = 0x7000};
			hf_slot_insert(b, 1 + hf_extras(b) + (unsigned)(hf_rng(&h->rng) % (b->n - hf_extras(b))), &z, false);
		}
		hf_fix_flags(b);
		hf_lie(h, b, "zero-length fragments");
	} else {
		b->reqs[0].size = (uint16_t)(hf_rng(&h->rng) % NETPKT_ETH_HLEN_BYTES);
		for (unsigned i = 1; i < b->n; i++)
			b->reqs[i].size = 0;
		hf_lie(h, b, "a packet shorter than an Ethernet header");
	}
}

static void hf_lie_offset(struct hostile_front *h, struct hf_build *b)
{
	unsigned j = hf_some_data_slot(b);
	int64_t bytes = b->reqs[j].size;

	for (unsigned i = 1; j == 0 && i < b->n; i++)
		bytes -= b->extra[i] ? 0 : b->reqs[i].size;   /* what the first slot holds */
	if (bytes <= 0 || bytes > HF_PAGE_BYTES)
		return;
	uint32_t size = (uint32_t)bytes;
	uint32_t over = 1 + (uint32_t)(hf_rng(&h->rng) % (size < 100 ? size : 100));
	uint32_t off = HF_PAGE_BYTES - size + over;
	b->reqs[j].offset = (uint16_t)(off < HF_PAGE_BYTES ? off : HF_PAGE_BYTES - 1);
	hf_lie(h, b, "a slot's offset + size crosses its page");
}

static bool hf_gso_offered(const struct hostile_front *h, uint8_t type)
{
	return (type == XEN_NETIF_GSO_TYPE_TCPV4 && h->gso4) || (type == XEN_NETIF_GSO_TYPE_TCPV6 && h->gso6);
}

/* A known GSO type, TCPv4 and TCPv6 in turn (no draw of the rng: the other
 * lies keep their sequence): with a backend offering only one of them, every
 * other such lie asks for the one it did not offer (io/netif.h: a request
 * for an offload never offered; the model calls for a disconnection). */
static uint8_t hf_gso_known(struct hostile_front *h)
{
	return h->gso_turn++ % 2 ? XEN_NETIF_GSO_TYPE_TCPV6 : XEN_NETIF_GSO_TYPE_TCPV4;
}

static void hf_lie_extra(struct hostile_front *h, struct hf_build *b)
{
	netif_extra_info_t x;
	unsigned v = (unsigned)(hf_rng(&h->rng) % 6);

	memset(&x, 0, sizeof(x));
	if (v == 0) {
		uint64_t r = hf_rng(&h->rng);
		x.type = (uint8_t)(r % 2 ? 0 : scn_past_edge(r >> 1, XEN_NETIF_EXTRA_TYPE_MAX, 200));
		hf_lie(h, b, "an extra info slot of unknown type");
	} else if (v == 1 || v == 2 || v == 5) {
		x.type = XEN_NETIF_EXTRA_TYPE_GSO;
		x.u.gso.type = (uint8_t)(v == 1 ? scn_past_edge(hf_rng(&h->rng), XEN_NETIF_GSO_TYPE_TCPV6 + 1, 200)
						: hf_gso_known(h));
		x.u.gso.size = (uint16_t)(v == 2 ? 0 : 1448);
		hf_lie(h, b, v == 1   ? "GSO of an unknown type"
			     : v == 2 ? "GSO size 0"
			     : hf_gso_offered(h, x.u.gso.type) ? "GSO on a frame without TCP"
							       : "GSO of a known type the backend did not offer");
	} else if (v == 3) {
		/* Inserted last first: the chain ends where it should (no MORE on
		 * its last slot), so only its length is wrong, not the data slot
		 * after it read as one more extra of some unknown type. */
		bool after = hf_extras(b) > 0;
		for (unsigned i = 0; i < HF_EXTRAS_CHAIN; i++) {
			x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
			x.flags = i == 0 && !after ? 0 : XEN_NETIF_EXTRA_FLAG_MORE;
			hf_extra_insert(b, 1, &x);
		}
		hf_lie(h, b, "a chain of extra info slots longer than there are types");
		return;
	} else {
		x.type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD;
		hf_lie(h, b, "a multicast extra info slot");
	}
	hf_extra_insert(b, 1, &x);
}

static void hf_lie_id(struct hostile_front *h, struct hf_build *b)
{
	bool dup = hf_rng(&h->rng) % 2;

	for (unsigned i = 0; i < b->n; i++)
		if (!b->extra[i])
			b->reqs[i].id = dup ? b->reqs[0].id : (uint16_t)(0xFFFF - i);
	hf_lie(h, b, dup ? "every slot with the same id" : "ids out of any range");
}

static void hf_lie_gref(struct hostile_front *h, struct hf_build *b)
{
	unsigned v = (unsigned)(hf_rng(&h->rng) % 3);
	unsigned j = hf_some_data_slot(b);

	if (v == 0) {
		b->reqs[j].gref = HF_BAD_REF;
		hf_lie(h, b, "a tx ref never granted");
	} else {
		h->rx_lie = v == 1 ? HF_RX_UNGRANTED : HF_RX_READONLY;
		hf_lie(h, b, v == 1 ? "rx buffers never granted" : "rx buffers granted read-only");
	}
}

static void hf_put16be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* Bytes of the frame its first data slot holds (the others hold the rest). */
static uint32_t hf_first_slot_bytes(const struct hf_build *b)
{
	uint32_t rest = 0;

	for (unsigned i = 1; i < b->n; i++)
		if (!b->extra[i])
			rest += b->reqs[i].size;
	return rest < b->reqs[0].size ? b->reqs[0].size - rest : 0;
}

/* Checksum offload on headers whose lengths do not hold (in the first slot,
 * over the frame's own header): a backend completing the checksum would sum
 * bytes past the packet, so it must drop it (NETIF_RSP_ERROR). */
static void hf_lie_csum(struct hostile_front *h, struct hf_build *b)
{
	uint8_t *f = h->tx_pages + (size_t)b->page[0] * HF_PAGE_BYTES + b->reqs[0].offset, *ip = f + 14;
	uint32_t len = b->reqs[0].size, past = 1 + (uint32_t)(hf_rng(&h->rng) % 512);
	unsigned v = (unsigned)(hf_rng(&h->rng) % 3);

	memset(ip, 0, HF_CSUM_HDR_BYTES - 14);
	if (v == 1) {
		hf_put16be(f + 12, 0x86DD);
		ip[0] = 0x60;
		hf_put16be(ip + 4, len - HF_CSUM_HDR_BYTES + past);   /* payload length */
		ip[6] = 6;                                            /* TCP */
	} else {
		hf_put16be(f + 12, 0x0800);
		ip[0] = v == 0 ? 0x45 : 0x4F;                         /* IHL 20 or 60 bytes */
		hf_put16be(ip + 2, v == 0 ? len - 14 + past : 40);   /* total length */
		ip[9] = 6;
		ip[20 + 12] = 5 << 4;                                 /* a TCP header of 20 bytes */
	}
	b->reqs[0].flags |= NETTXF_csum_blank;
	b->csum_lie = true;
	hf_lie(h, b, v == 0 ? "csum offload, IPv4 total length past the packet"
		     : v == 1 ? "csum offload, IPv6 payload length past the packet"
			      : "csum offload, IPv4 header longer than its total length");
}

/* Each site in turn; each that fires adds its lie. */
static void hf_lies(struct hostile_front *h, struct hf_build *b)
{
	/* First: it writes the first slot's bytes where the packet as built put them. */
	if (hf_first_slot_bytes(b) >= HF_CSUM_HDR_BYTES && hf_fault(h, &hnf_site_csum))
		hf_lie_csum(h, b);
	if (hf_fault(h, &hnf_site_slots))
		hf_lie_slots(h, b);
	if (!b->open_chain && hf_fault(h, &hnf_site_size))
		hf_lie_size(h, b);
	if (hf_fault(h, &hnf_site_offset))
		hf_lie_offset(h, b);
	if (b->n + HF_EXTRAS_CHAIN < HF_SLOTS_MAX && hf_fault(h, &hnf_site_extra))
		hf_lie_extra(h, b);
	if (hf_fault(h, &hnf_site_id))
		hf_lie_id(h, b);
	if (hf_fault(h, &hnf_site_gref))
		hf_lie_gref(h, b);
	if (hf_fault(h, &hnf_site_prod)) {
		b->prod_jump = hf_rng(&h->rng) % 2 ? HF_PROD_JUMP_TX : HF_PROD_JUMP_RX;
		hf_lie(h, b, b->prod_jump == HF_PROD_JUMP_TX ? "tx req_prod jumps past the ring"
							     : "rx req_prod jumps past the ring");
	}
	if (!h->rx_starved && hf_fault(h, &hnf_site_rxstarve)) {
		h->rx_starved = true;   /* its frames reflected back now queue in netback */
		hf_lie(h, b, "posts no more rx buffers");
	}
	b->rewrite = hf_fault(h, &hnf_site_rewrite);
}

/* ---- sending ---- */

static void hf_notify(struct hostile_front *h)
{
	if (xenevtchn_notify(h->xce, h->port) < 0 && errno != ENOTCONN)
		scn_wl_error(h->cfg.wl, "hostile front (dom %u): notify on port %u failed: %s", h->cfg.domid, h->port,
			     strerror(errno));
}

static void hf_publish(struct hostile_front *h, const struct hf_build *b)
{
	RING_IDX first = h->tx.req_prod_pvt;
	int notify;

	for (unsigned i = 0; i < b->n; i++) {
		*RING_GET_REQUEST(&h->tx, first + i) = b->reqs[i];
		h->txs[(first + i) % HF_RING] = (struct hf_slot){.seq = b->seq, .id = b->reqs[i].id,
							       .extra = b->extra[i], .page = b->page[i],
							       .last = i + 1 == b->n};
	}
	h->tx.req_prod_pvt += b->n;
	h->tx_real_prod = h->tx.req_prod_pvt;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&h->tx, notify);
	if (b->prod_jump == HF_PROD_JUMP_TX) {
		xen_wmb();
		h->tx.sring->req_prod = h->tx.req_prod_pvt + HF_PROD_JUMP;
		notify = 1;
	} else if (b->prod_jump == HF_PROD_JUMP_RX) {
		xen_wmb();
		h->rx.sring->req_prod = h->rx.req_prod_pvt + HF_PROD_JUMP;
		notify = 1;
	}
	/* The rewrite: before the notification (netback may be reading the
	 * ring already), or at the frontend's next loop turn (between netback's
	 * reads, if the scheduler stops it there). */
	bool now = b->rewrite && hf_rng(&h->rng) % 2;
	if (b->rewrite) {
		h->rw = (struct hf_rewrite){.pending = true, .seq = b->seq, .first = first, .n = b->n};
		memcpy(h->rw.reqs, b->reqs, sizeof(b->reqs[0]) * b->n);
		memcpy(h->rw.extra, b->extra, sizeof(b->extra[0]) * b->n);
	}
	if (now)
		hf_rewrite_now(h);
	if (notify)
		hf_notify(h);
	if (b->rewrite && !now)
		event_active(h->rewrite_ev, EV_TIMEOUT, 0);
}

static bool hf_send_one(struct hostile_front *h)
{
	struct hf_build *b = &h->build;
	/* A good packet may take every data slot this netback takes (at least
	 * XEN_NETIF_NR_SLOTS_MIN, netif.h): the edge of what it must accept. */
	unsigned edge = h->cfg.slots_max > XEN_NETIF_NR_SLOTS_MIN ? h->cfg.slots_max : XEN_NETIF_NR_SLOTS_MIN;
	unsigned ndata = h->sg ? (unsigned)scn_at_edge(hf_rng(&h->rng), edge < HF_DATA_MAX ? edge : HF_DATA_MAX,
						       HF_DATA_GOOD_MAX) : 1;

	if (h->tx_nfree < HF_DATA_MAX || RING_FREE_REQUESTS(&h->tx) < HF_SLOTS_MAX)
		return false;
	memset(b, 0, sizeof(*b));
	b->seq = h->next_seq;
	if (!hf_build_good(h, b, ndata))
		return false;
	hf_lies(h, b);
	hf_expect_set(h, b);
	h->next_seq++;
	h->inflight++;
	hf_count(h, HF_S_SENT);
	if (b->open_chain || b->prod_jump)
		hf_doom(h, b->lie, UINT32_MAX);
	else if (hf_expect_accept(h, b->seq) == HF_FATAL)
		hf_doom(h, b->lie, b->seq);   /* unless a rewrite makes it answerable */
	hf_publish(h, b);
	return true;
}

void hf_send(struct hostile_front *h)
{
	while (h->phase == HF_CONNECTED && !h->doomed && h->inflight < HF_WINDOW && h->next_seq < h->cfg.packets &&
	       !scn_wl_finished(h->cfg.wl) && hf_send_one(h))
		;
}
