/*
 * netback's tx map path: fragments of tx_map_threshold_bytes or more are
 * taken by mapping the frontend's grants read-only (one map call per ring
 * pass), the packet's head and small fragments by grant copy.
 *
 * Two worlds. With netfront: the verified workload between two guests, large
 * frames included, and netback's counters say which path carried them. With
 * a hand-made frontend (test code in guest 1, writing its tx ring itself,
 * its pages granted read-only unless a test says otherwise) and a link in
 * dom0 that keeps every frame netback hands it: exact slot layouts at the
 * threshold, map failures injected at the sim's "gnttab.map" site, grants
 * ended between the request and the map. Every frame is compared byte for
 * byte, and teardown must leave no grant, map or mapping behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"
#include <xen/io/netif.h>

#include "tests/net_harness.h"

#define TM_PAGES 80u
#define TM_SLOTS_MAX 18u
#define TM_CAPTURE_MAX 16u
#define TM_POLL_MS 5u
#define TM_WAIT_MS 20000u
#define TM_FE 1u                 /* the hand-made frontend's domain */
#define TM_THRESHOLD 2048u       /* what the tests map at, whatever the default is */

/* ---- dom0: netback with a link that keeps what it is given ---- */

struct tm_frame {
	uint32_t len;
	uint8_t data[NETPKT_FRAME_MAX];
};

static struct tm_frame tm_frames[TM_CAPTURE_MAX];   /* written on dom0's thread only */
static unsigned tm_nframes;

static int tm_link_attach(void *arg, struct netback_vif *vif, void **port)
{
	(void)arg;
	*port = vif;
	return 0;
}

static void tm_link_detach(void *arg, void *port)
{
	(void)arg;
	(void)port;
}

static void tm_link_output(void *arg, void *port, struct netpkt *pkt)
{
	(void)arg;
	(void)port;
	if (tm_nframes < TM_CAPTURE_MAX && pkt->np_len <= NETPKT_FRAME_MAX) {
		tm_frames[tm_nframes].len = pkt->np_len;
		memcpy(tm_frames[tm_nframes].data, pkt->np_data, pkt->np_len);
	}
	tm_nframes++;
	netpkt_free(pkt);
}

static const struct netback_link_ops tm_link = {
	.attach = tm_link_attach,
	.detach = tm_link_detach,
	.output = tm_link_output,
};

struct tm_back {
	struct netback_config cfg;
	struct netback *nb;
	struct netback_stats st;
};

static int tm_back_start_fn(void *arg)
{
	struct tm_back *b = arg;

	tm_nframes = 0;
	b->cfg.base = sim_domain_event_base();
	b->cfg.link = &tm_link;
	return netback_start(&b->cfg, &b->nb);
}

static int tm_back_peek_fn(void *arg)
{
	struct tm_back *b = arg;

	if (b->nb)
		netback_stats(b->nb, &b->st);
	return 0;
}

static int tm_back_stop_fn(void *arg)
{
	struct tm_back *b = arg;

	tm_back_peek_fn(b);
	if (b->nb)
		netback_stop(b->nb);
	b->nb = NULL;
	return 0;
}

/* ---- guest 1: a frontend writing its tx ring by hand ---- */

struct tm_fe {
	bool writable;                      /* grant the data pages writable (default: read-only) */
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	void *rings;
	uint32_t ring_refs[2];
	uint8_t *pages[TM_PAGES];           /* each shared alone, so one can be ended alone */
	uint32_t refs[TM_PAGES];
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
};

static int tm_fe_keys(struct tm_fe *f)
{
	struct xs_handle *xs = xs_open(0);
	const char *d = "device/vif/0";
	int rc = -EIO;

	if (!xs)
		return rc;
	rc = xenbus_write_fmt(xs, XBT_NULL, d, "tx-ring-ref", "%u", f->ring_refs[0]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "rx-ring-ref", "%u", f->ring_refs[1]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "event-channel", "%u", f->port);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "request-rx-copy", "1");
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "feature-rx-notify", "1");
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "feature-sg", "1");
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "state", "4");
	xs_close(xs);
	return rc;
}

static int tm_fe_setup_fn(void *arg)
{
	struct tm_fe *f = arg;

	f->gs = xengntshr_open(NULL, 0);
	f->xce = xenevtchn_open(NULL, 0);
	if (!f->gs || !f->xce)
		return -EIO;
	f->rings = xengntshr_share_pages(f->gs, 0, 2, f->ring_refs, 1);
	for (unsigned i = 0; i < TM_PAGES; i++)
		if (!(f->pages[i] = xengntshr_share_pages(f->gs, 0, 1, &f->refs[i], f->writable)))
			return -ENOMEM;
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(f->xce, 0);
	if (!f->rings || p < 0)
		return -EIO;
	f->port = (evtchn_port_t)p;
	SHARED_RING_INIT((netif_tx_sring_t *)f->rings);
	FRONT_RING_INIT(&f->tx, (netif_tx_sring_t *)f->rings, 4096);
	netif_rx_sring_t *rxs = (void *)((uint8_t *)f->rings + 4096);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&f->rx, rxs, 4096);
	return tm_fe_keys(f);
}

static int tm_fe_teardown_fn(void *arg)
{
	struct tm_fe *f = arg;
	struct xs_handle *xs = xs_open(0);

	if (xs) {
		xenbus_write_fmt(xs, XBT_NULL, "device/vif/0", "state", "6");
		xs_close(xs);
	}
	if (f->rings)
		xengntshr_unshare(f->gs, f->rings, 2);
	for (unsigned i = 0; i < TM_PAGES; i++)
		if (f->pages[i])
			xengntshr_unshare(f->gs, f->pages[i], 1);
	if (f->xce)
		xenevtchn_close(f->xce);
	if (f->gs)
		xengntshr_close(f->gs);
	return 0;
}

/* ---- packets: data slots of given sizes and offsets, one page each ---- */

struct tm_pkt {
	unsigned nslots;
	uint16_t size[TM_SLOTS_MAX];        /* bytes in each data slot */
	uint16_t offset[TM_SLOTS_MAX];
	unsigned page0;                     /* slot j uses page page0 + j */
	uint8_t seed;
};

static uint8_t tm_byte(uint8_t seed, uint32_t k)
{
	return (uint8_t)(seed * 31u + k * 7u + (k >> 8) * 13u + 1u);
}

static uint32_t tm_len(const struct tm_pkt *p)
{
	uint32_t len = 0;

	for (unsigned j = 0; j < p->nslots; j++)
		len += p->size[j];
	return len;
}

/* Requests to publish at once; pages to end (unshare) after writing them and
 * before the notification. */
struct tm_push {
	struct tm_fe *f;
	const struct tm_pkt *pkts;
	unsigned npkts;
	unsigned revoke[4];                 /* page index + 1; 0: none */
	unsigned bad_ref_req;               /* request index + 1 whose gref is never granted; 0: none */
	RING_IDX first;                     /* out: the first request's index */
	unsigned nreqs;                     /* out */
};

static void tm_put_pkt(struct tm_fe *f, const struct tm_pkt *p, uint16_t *id)
{
	uint32_t k = 0;

	for (unsigned j = 0; j < p->nslots; j++) {
		uint8_t *pg = f->pages[p->page0 + j];
		for (uint32_t b = 0; b < p->size[j]; b++)
			pg[p->offset[j] + b] = tm_byte(p->seed, k++);
		netif_tx_request_t *r = RING_GET_REQUEST(&f->tx, f->tx.req_prod_pvt++);
		*r = (netif_tx_request_t){.gref = f->refs[p->page0 + j], .offset = p->offset[j], .id = (*id)++,
					  .size = j == 0 ? (uint16_t)tm_len(p) : p->size[j],
					  .flags = j + 1 < p->nslots ? NETTXF_more_data : 0};
	}
}

static int tm_push_fn(void *arg)
{
	struct tm_push *ps = arg;
	struct tm_fe *f = ps->f;
	uint16_t id = (uint16_t)(f->tx.req_prod_pvt & 0xff);

	ps->first = f->tx.req_prod_pvt;
	for (unsigned i = 0; i < ps->npkts; i++)
		tm_put_pkt(f, &ps->pkts[i], &id);
	ps->nreqs = f->tx.req_prod_pvt - ps->first;
	if (ps->bad_ref_req)
		RING_GET_REQUEST(&f->tx, ps->first + ps->bad_ref_req - 1)->gref = 7777;
	xen_wmb();
	f->tx.sring->req_prod = f->tx.req_prod_pvt;
	for (unsigned i = 0; i < 4 && ps->revoke[i]; i++) {
		unsigned pg = ps->revoke[i] - 1;
		if (xengntshr_unshare(f->gs, f->pages[pg], 1) != 0)
			return -EIO;
		f->pages[pg] = NULL;
	}
	return xenevtchn_notify(f->xce, f->port);
}

/* ---- the world: dom0 netback + capture, guest 1 hand-made ---- */

struct tm_world {
	struct tm_back b;
	struct nh_vif vif;
	struct tm_fe f;
	RING_IDX answered;                  /* tx responses seen so far */
};

/* threshold: the backend's tx_map_threshold_bytes. */
static void tm_up(struct tm_world *w, uint32_t threshold, bool writable)
{
	memset(w, 0, sizeof(*w));
	nh_world_up(1);
	w->b.cfg = (struct netback_config){.queues_max = 1, .sg = true, .tx_map_threshold_bytes = threshold};
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, tm_back_start_fn, &w->b), 0);
	nh_vif_create(&w->vif, TM_FE, 0);
	w->f.writable = writable;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(TM_FE, tm_fe_setup_fn, &w->f), 0);
	CU_ASSERT_TRUE_FATAL(nh_wait_key("/local/domain/0/backend/vif/1/0/state", "4", TM_WAIT_MS));
}

static void tm_down(struct tm_world *w)
{
	sim_domain_call(0, tm_back_stop_fn, &w->b);
	sim_domain_call(TM_FE, tm_fe_teardown_fn, &w->f);
	nh_vif_remove(&w->vif);
	CU_ASSERT_EQUAL(w->b.st.fatal, 0);
	CU_ASSERT_EQUAL(sim_fault_count(), 0);   /* no stale or forbidden access */
	nh_check_clean(1);
	nh_world_down();
}

static void tm_peek(struct tm_world *w)
{
	sim_domain_call(0, tm_back_peek_fn, &w->b);
}

/* Publish the packets in one go and wait (bounded) until every slot is answered. */
static void tm_send(struct tm_world *w, struct tm_push *ps)
{
	ps->f = &w->f;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(TM_FE, tm_push_fn, ps), 0);
	RING_IDX want = ps->first + ps->nreqs;
	bool ok = false;
	for (unsigned t = 0; t <= TM_WAIT_MS && !ok; t += TM_POLL_MS) {
		ok = (RING_IDX)(((volatile netif_tx_sring_t *)w->f.rings)->rsp_prod - want) < 0x80000000u;
		if (!ok)
			nh_sleep_ms(TM_POLL_MS);
	}
	CU_ASSERT_TRUE_FATAL(ok);
	w->answered = want;
	tm_peek(w);   /* after its answers, netback has handed the packets on */
}

/* The status netback gave packet i of a push (its first slot's). */
static int16_t tm_status(struct tm_world *w, const struct tm_push *ps, unsigned i)
{
	RING_IDX idx = ps->first;

	for (unsigned k = 0; k < i; k++)
		idx += ps->pkts[k].nslots;
	return RING_GET_RESPONSE(&w->f.tx, idx)->status;
}

/* Every slot of packet i answered with the same status. */
static bool tm_all_slots(struct tm_world *w, const struct tm_push *ps, unsigned i, int16_t want)
{
	RING_IDX idx = ps->first;

	for (unsigned k = 0; k < i; k++)
		idx += ps->pkts[k].nslots;
	for (unsigned j = 0; j < ps->pkts[i].nslots; j++)
		if (RING_GET_RESPONSE(&w->f.tx, idx + j)->status != want)
			return false;
	return true;
}

struct tm_check {
	unsigned index;                     /* in tm_frames */
	const struct tm_pkt *p;
	bool ok;
};

static int tm_check_fn(void *arg)
{
	struct tm_check *c = arg;
	const struct tm_frame *fr = &tm_frames[c->index];
	uint32_t len = tm_len(c->p);

	c->ok = c->index < tm_nframes && c->index < TM_CAPTURE_MAX && fr->len == len;
	for (uint32_t k = 0; c->ok && k < len; k++)
		if (fr->data[k] != tm_byte(c->p->seed, k)) {
			printf("  frame %u byte %u is 0x%02x, expected 0x%02x\n", c->index, k, fr->data[k],
			       tm_byte(c->p->seed, k));
			c->ok = false;
		}
	if (c->index >= tm_nframes || c->index >= TM_CAPTURE_MAX)
		printf("  frame %u never reached the link (%u did)\n", c->index, tm_nframes);
	else if (fr->len != len)
		printf("  frame %u is %u bytes, expected %u\n", c->index, fr->len, len);
	return 0;
}

/* The index-th frame the link got is p, byte for byte. */
static bool tm_frame_is(unsigned index, const struct tm_pkt *p)
{
	struct tm_check c = {.index = index, .p = p};

	sim_domain_call(0, tm_check_fn, &c);
	return c.ok;
}

static int tm_nframes_fn(void *arg)
{
	*(unsigned *)arg = tm_nframes;
	return 0;
}

static unsigned tm_delivered(void)
{
	unsigned n = 0;

	sim_domain_call(0, tm_nframes_fn, &n);
	return n;
}

static void tm_expect_bytes_balance(const struct netback_stats *s)
{
	CU_ASSERT_EQUAL(s->tx_map_bytes + s->tx_copy_bytes, s->tx_bytes);
	CU_ASSERT_EQUAL(s->tx_map_packets + s->tx_copy_packets, s->tx_packets);
}

/* ---- suite netback_txmap_slots: exact layouts ---- */

/* 2 pages of data: a head slot and one full page. */
static const struct tm_pkt tm_two_pages = {.nslots = 2, .size = {1000, 4096}, .page0 = 0, .seed = 3};

static void txmap_large_fragment_mapped_readonly(void)
{
	struct tm_world w;
	struct tm_pkt pk = tm_two_pages;
	struct tm_push ps = {.pkts = &pk, .npkts = 1};

	tm_up(&w, TM_THRESHOLD, false);
	tm_send(&w, &ps);
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 0, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &pk));
	/* The page was granted read-only: a writable map would have been refused. */
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_bytes, 4096);
	CU_ASSERT_EQUAL(w.b.st.tx_copy_bytes, 1000);
	CU_ASSERT_EQUAL(w.b.st.tx_map_calls, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_failures, 0);
	tm_expect_bytes_balance(&w.b.st);
	tm_down(&w);
}

static void txmap_writable_grant_mapped_too(void)
{
	struct tm_world w;
	struct tm_pkt pk = tm_two_pages;
	struct tm_push ps = {.pkts = &pk, .npkts = 1};

	tm_up(&w, TM_THRESHOLD, true);
	tm_send(&w, &ps);
	CU_ASSERT_EQUAL(tm_status(&w, &ps, 0), NETIF_RSP_OKAY);
	CU_ASSERT_TRUE(tm_frame_is(0, &pk));
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 1);
	tm_down(&w);
}

static void txmap_threshold_boundary(void)
{
	struct tm_world w;
	/* threshold-1 bytes: copied; threshold bytes: mapped; a first slot at
	 * the threshold: its head copied, the rest mapped. */
	struct tm_pkt pk[3] = {
		{.nslots = 2, .size = {200, 2999}, .offset = {0, 1000}, .page0 = 0, .seed = 5},
		{.nslots = 2, .size = {200, 3000}, .offset = {64, 1096}, .page0 = 2, .seed = 6},
		{.nslots = 1, .size = {3000}, .offset = {17}, .page0 = 4, .seed = 7},
	};
	struct tm_push ps = {.pkts = pk, .npkts = 3};

	tm_up(&w, 3000, false);
	tm_send(&w, &ps);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_TRUE(tm_all_slots(&w, &ps, i, NETIF_RSP_OKAY));
		CU_ASSERT_TRUE(tm_frame_is(i, &pk[i]));
	}
	CU_ASSERT_EQUAL(w.b.st.tx_copy_packets, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 2);
	CU_ASSERT_EQUAL(w.b.st.tx_map_bytes, 3000 + (3000 - 128));
	CU_ASSERT_EQUAL(w.b.st.tx_map_calls, 1);   /* one map for the whole pass */
	tm_expect_bytes_balance(&w.b.st);
	tm_down(&w);
}

static void txmap_mixed_sizes_one_map_per_pass(void)
{
	struct tm_world w;
	struct tm_pkt pk[5] = {
		{.nslots = 1, .size = {60}, .page0 = 0, .seed = 11},
		{.nslots = 1, .size = {1514}, .offset = {100}, .page0 = 1, .seed = 12},
		{.nslots = 4, .size = {4096, 4096, 0, 100}, .page0 = 2, .seed = 13},   /* a zero-length slot */
		{.nslots = 17, .page0 = 6, .seed = 14},                                  /* 64 KiB */
		{.nslots = 3, .size = {300, 2048, 2047}, .offset = {0, 2048, 0}, .page0 = 23, .seed = 15},
	};
	struct tm_push ps = {.pkts = pk, .npkts = 5};

	pk[3].size[0] = 1000;
	for (unsigned j = 1; j < 16; j++)
		pk[3].size[j] = 4096;
	pk[3].size[16] = 65535 - 1000 - 15 * 4096;
	tm_up(&w, TM_THRESHOLD, false);
	tm_send(&w, &ps);
	for (unsigned i = 0; i < 5; i++) {
		CU_ASSERT_TRUE(tm_all_slots(&w, &ps, i, NETIF_RSP_OKAY));
		CU_ASSERT_TRUE(tm_frame_is(i, &pk[i]));
	}
	CU_ASSERT_EQUAL(w.b.st.tx_packets, 5);
	CU_ASSERT_EQUAL(w.b.st.tx_copy_packets, 2);
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 3);
	CU_ASSERT_EQUAL(w.b.st.tx_map_bytes, (4096 - 128) + 4096 + (65535 - 1000) + 2048);
	CU_ASSERT_EQUAL(w.b.st.tx_map_calls, 1);
	tm_expect_bytes_balance(&w.b.st);
	tm_down(&w);
}

static void txmap_copy_only_never_maps(void)
{
	struct tm_world w;
	struct tm_pkt pk = tm_two_pages;
	struct tm_push ps = {.pkts = &pk, .npkts = 1};

	tm_up(&w, NETBACK_TX_MAP_NEVER, false);
	tm_send(&w, &ps);
	CU_ASSERT_EQUAL(tm_status(&w, &ps, 0), NETIF_RSP_OKAY);
	CU_ASSERT_TRUE(tm_frame_is(0, &pk));
	CU_ASSERT_EQUAL(w.b.st.tx_map_calls, 0);
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 0);
	CU_ASSERT_EQUAL(w.b.st.tx_copy_bytes, 5096);
	tm_down(&w);
}

static void txmap_map_all_maps_past_the_head(void)
{
	struct tm_world w;
	struct tm_pkt pk[2] = {
		{.nslots = 1, .size = {100}, .page0 = 0, .seed = 21},             /* all head */
		{.nslots = 2, .size = {300, 10}, .offset = {5, 7}, .page0 = 1, .seed = 22},
	};
	struct tm_push ps = {.pkts = pk, .npkts = 2};

	tm_up(&w, NETBACK_TX_MAP_ALL, false);
	tm_send(&w, &ps);
	for (unsigned i = 0; i < 2; i++)
		CU_ASSERT_TRUE(tm_frame_is(i, &pk[i]));
	CU_ASSERT_EQUAL(w.b.st.tx_copy_packets, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_bytes, (300 - 128) + 10);
	tm_expect_bytes_balance(&w.b.st);
	tm_down(&w);
}

/* ---- suite netback_txmap_faults ---- */

static struct sim_fault_site *tm_map_site(void)
{
	struct sim_fault_site *s = sim_fault_site_find("gnttab.map");

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

static void txmap_map_fault_fails_that_packet(void)
{
	struct tm_world w;
	struct tm_pkt a = tm_two_pages, b = tm_two_pages;
	struct tm_push pa = {.pkts = &a, .npkts = 1}, pb = {.pkts = &b, .npkts = 1};

	b.page0 = 2;
	b.seed = 4;
	tm_up(&w, TM_THRESHOLD, false);
	uint64_t occ = tm_map_site()->occurrences;
	CU_ASSERT_EQUAL(sim_fault_site_arm(tm_map_site(), 0, 0), 0);   /* the next map fails */
	tm_send(&w, &pa);
	CU_ASSERT_TRUE(tm_map_site()->occurrences > occ);   /* the site is on this path */
	CU_ASSERT_EQUAL(tm_map_site()->injected, 1);
	CU_ASSERT_TRUE(tm_all_slots(&w, &pa, 0, NETIF_RSP_ERROR));
	CU_ASSERT_EQUAL(w.b.st.tx_map_failures, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_grant_errors, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_dropped, 1);
	CU_ASSERT_EQUAL(tm_delivered(), 0);
	tm_send(&w, &pb);   /* the next packet goes */
	CU_ASSERT_TRUE(tm_all_slots(&w, &pb, 0, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &b));
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 1);
	CU_ASSERT_EQUAL(w.b.st.fatal, 0);
	tm_down(&w);
}

/* Three packets in one pass; the batch map is refused and so is the first
 * packet's own: only that one fails. */
static void txmap_map_fault_in_batch_narrowed(void)
{
	struct tm_world w;
	struct tm_pkt pk[3] = {tm_two_pages, tm_two_pages, tm_two_pages};
	struct tm_push ps = {.pkts = pk, .npkts = 3};

	for (unsigned i = 0; i < 3; i++) {
		pk[i].page0 = 2 * i;
		pk[i].seed = (uint8_t)(40 + i);
	}
	tm_up(&w, TM_THRESHOLD, false);
	CU_ASSERT_EQUAL(sim_fault_site_arm(tm_map_site(), 0, 1), 0);   /* the next two maps fail */
	tm_send(&w, &ps);
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 0, NETIF_RSP_ERROR));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 1, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 2, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &pk[1]));
	CU_ASSERT_TRUE(tm_frame_is(1, &pk[2]));
	CU_ASSERT_EQUAL(w.b.st.tx_map_calls, 4);       /* the batch, then each packet */
	CU_ASSERT_EQUAL(w.b.st.tx_map_failures, 2);
	CU_ASSERT_EQUAL(w.b.st.tx_grant_errors, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_map_packets, 2);
	tm_down(&w);
}

/* A transient refusal of the batch alone costs nothing: every packet goes. */
static void txmap_batch_refusal_retried_per_packet(void)
{
	struct tm_world w;
	struct tm_pkt pk[2] = {tm_two_pages, tm_two_pages};
	struct tm_push ps = {.pkts = pk, .npkts = 2};

	pk[1].page0 = 2;
	pk[1].seed = 9;
	tm_up(&w, TM_THRESHOLD, false);
	CU_ASSERT_EQUAL(sim_fault_site_arm(tm_map_site(), 0, 0), 0);
	tm_send(&w, &ps);
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 0, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 1, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &pk[0]));
	CU_ASSERT_TRUE(tm_frame_is(1, &pk[1]));
	CU_ASSERT_EQUAL(w.b.st.tx_map_failures, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_grant_errors, 0);
	tm_down(&w);
}

/* The frontend ends the grant of the middle packet's large fragment after
 * publishing the request and before the map: a clean error for that packet. */
static void txmap_grant_ended_before_map(void)
{
	struct tm_world w;
	struct tm_pkt pk[3] = {tm_two_pages, tm_two_pages, tm_two_pages};
	struct tm_push ps = {.pkts = pk, .npkts = 3, .revoke = {3 + 1}};   /* page 3: packet 1's fragment */

	for (unsigned i = 0; i < 3; i++) {
		pk[i].page0 = 2 * i;
		pk[i].seed = (uint8_t)(60 + i);
	}
	tm_up(&w, TM_THRESHOLD, false);
	tm_send(&w, &ps);
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 0, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 1, NETIF_RSP_ERROR));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 2, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &pk[0]));
	CU_ASSERT_TRUE(tm_frame_is(1, &pk[2]));
	CU_ASSERT_EQUAL(w.b.st.tx_map_failures, 2);    /* the batch, then packet 1 alone */
	CU_ASSERT_EQUAL(w.b.st.tx_grant_errors, 1);
	CU_ASSERT_EQUAL(w.b.st.fatal, 0);
	tm_down(&w);
}

/* A large fragment naming a ref the frontend never granted. */
static void txmap_bad_ref_in_large_fragment(void)
{
	struct tm_world w;
	struct tm_pkt pk[2] = {tm_two_pages, tm_two_pages};
	struct tm_push ps = {.pkts = pk, .npkts = 2, .bad_ref_req = 2};   /* packet 0's page slot */

	pk[1].page0 = 2;
	pk[1].seed = 70;
	tm_up(&w, TM_THRESHOLD, false);
	tm_send(&w, &ps);
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 0, NETIF_RSP_ERROR));
	CU_ASSERT_TRUE(tm_all_slots(&w, &ps, 1, NETIF_RSP_OKAY));
	CU_ASSERT_TRUE(tm_frame_is(0, &pk[1]));
	CU_ASSERT_EQUAL(w.b.st.tx_grant_errors, 1);
	CU_ASSERT_EQUAL(w.b.st.tx_packets, 1);
	tm_down(&w);
}

/* Sustained faults while many packets come: each gets an answer, none leaks
 * a mapping, the vif stays up. */
static void txmap_fault_storm_no_leak(void)
{
	struct tm_world w;
	struct tm_pkt pk[8];
	struct tm_push ps = {.pkts = pk, .npkts = 8};
	unsigned ok = 0, err = 0;

	for (unsigned i = 0; i < 8; i++) {
		pk[i] = tm_two_pages;
		pk[i].page0 = 2 * i;
		pk[i].seed = (uint8_t)(80 + i);
	}
	tm_up(&w, TM_THRESHOLD, false);
	CU_ASSERT_EQUAL(sim_fault_site_arm_prob(tm_map_site(), 500000), 0);
	for (unsigned round = 0; round < 4; round++)
		tm_send(&w, &ps);
	sim_fault_site_disarm(tm_map_site());
	for (RING_IDX i = 0; i < w.answered; i++) {
		int16_t s = RING_GET_RESPONSE(&w.f.tx, i)->status;
		ok += s == NETIF_RSP_OKAY;
		err += s == NETIF_RSP_ERROR;
	}
	CU_ASSERT_EQUAL(ok + err, 64);
	CU_ASSERT_EQUAL(err, 2 * w.b.st.tx_grant_errors);
	CU_ASSERT_EQUAL(ok / 2, w.b.st.tx_packets);
	CU_ASSERT_EQUAL(tm_delivered(), w.b.st.tx_packets);
	CU_ASSERT_TRUE(w.b.st.tx_map_failures > 0);
	tm_down(&w);
}

/* ---- suite netback_txmap_netfront: the real frontend, verified frames ---- */

static void tm_netfront_run(uint32_t threshold, const struct nh_features *base, struct netback_stats *out)
{
	struct nh_features f = *base;
	struct network_config wc = {.seed = 7, .messages = 400, .pings = 20, .size_min = 60, .size_max = 65535,
				    .large_pct = 25, .offload = f.offload};
	struct nh_net net;
	struct nh_totals t;

	f.be.tx_map_threshold_bytes = threshold;
	nh_world_up(2);
	nh_net_up(&net, 2, &f);
	CU_ASSERT_TRUE(nh_net_work(&net, &wc));
	for (unsigned i = 0; i < 2; i++)
		nh_guest_peek(&net.g[i]);
	nh_backend_peek(&net.b);
	nh_totals(&net, &t);
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_TRUE(t.r.frames_verified > 400);
	CU_ASSERT_EQUAL(t.r.corrupt + t.r.duplicates + t.r.out_of_order + t.r.lost_bytes + t.r.gaps, 0);
	*out = net.b.stats;
	printf("  %s, threshold %u: %llu packets, %llu mapped (%llu bytes), %llu copied (%llu bytes), %llu map calls\n",
	       f.name, threshold, (unsigned long long)out->tx_packets, (unsigned long long)out->tx_map_packets,
	       (unsigned long long)out->tx_map_bytes, (unsigned long long)out->tx_copy_packets,
	       (unsigned long long)out->tx_copy_bytes, (unsigned long long)out->tx_map_calls);
	tm_expect_bytes_balance(out);
	CU_ASSERT_EQUAL(out->tx_map_failures, 0);
	CU_ASSERT_EQUAL(out->tx_dropped, 0);
	nh_net_down(&net);
	CU_ASSERT_EQUAL(sim_fault_count(), 0);
	nh_world_down();
}

static void txmap_netfront_large_frames_mapped(void)
{
	struct netback_stats s;

	tm_netfront_run(TM_THRESHOLD, &nh_all_on, &s);
	CU_ASSERT_TRUE(s.tx_map_packets > 0);
	CU_ASSERT_TRUE(s.tx_map_bytes > s.tx_bytes / 2);   /* the bulk of 64 KiB frames */
	CU_ASSERT_TRUE(s.tx_copy_packets > 0);             /* pings and small frames */
	CU_ASSERT_TRUE(s.tx_map_calls > 0 && s.tx_map_calls <= s.tx_map_packets);
}

static void txmap_netfront_copy_only(void)
{
	struct netback_stats s;

	tm_netfront_run(NETBACK_TX_MAP_NEVER, &nh_all_on, &s);
	CU_ASSERT_EQUAL(s.tx_map_packets, 0);
	CU_ASSERT_EQUAL(s.tx_map_calls, 0);
	CU_ASSERT_EQUAL(s.tx_copy_packets, s.tx_packets);
}

static void txmap_netfront_features_off_map_all(void)
{
	struct netback_stats s;

	/* MTU frames only (no sg, no GSO): below the default threshold, so only
	 * "map all" takes them by map. */
	tm_netfront_run(NETBACK_TX_MAP_ALL, &nh_all_off, &s);
	CU_ASSERT_TRUE(s.tx_map_packets > 0);
	CU_ASSERT_TRUE(s.tx_map_bytes > 0);
}

void test_register(void)
{
	static const struct test_case slots[] = {
		TEST(txmap_large_fragment_mapped_readonly),
		TEST(txmap_writable_grant_mapped_too),
		TEST(txmap_threshold_boundary),
		TEST(txmap_mixed_sizes_one_map_per_pass),
		TEST(txmap_copy_only_never_maps),
		TEST(txmap_map_all_maps_past_the_head),
		TEST_END,
	};
	static const struct test_case faults[] = {
		TEST(txmap_map_fault_fails_that_packet),
		TEST(txmap_map_fault_in_batch_narrowed),
		TEST(txmap_batch_refusal_retried_per_packet),
		TEST(txmap_grant_ended_before_map),
		TEST(txmap_bad_ref_in_large_fragment),
		TEST(txmap_fault_storm_no_leak),
		TEST_END,
	};
	static const struct test_case netfront[] = {
		TEST(txmap_netfront_large_frames_mapped),
		TEST(txmap_netfront_copy_only),
		TEST(txmap_netfront_features_off_map_all),
		TEST_END,
	};

	test_add_suite("netback_txmap_slots", NULL, NULL, slots);
	test_add_suite("netback_txmap_faults", NULL, NULL, faults);
	test_add_suite("netback_txmap_netfront", NULL, NULL, netfront);
}
