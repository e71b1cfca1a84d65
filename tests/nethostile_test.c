/*
 * A hostile frontend for netback, on the sim: test code in guest 3, writing
 * its rings by hand, sends what netif.h forbids or what is merely odd: bad
 * grant refs, slots crossing a page, too many slots, zero-length and
 * oversized fragments, headers split across slots, unknown extra info,
 * req_prod running ahead, an event storm. Netback must answer with errors or
 * disconnect that vif, count it, and keep serving guests 1 and 2, which run
 * the verified workload meanwhile. A hostile backend for netfront is
 * netfront_hostile_test.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"
#include <xen/io/netif.h>

#include "tests/net_harness.h"


#define HF_PAGES 8u

/* ---- a hostile frontend in guest 3 ---- */

struct hf {
	domid_t domid;
	const char *bad_key, *bad_value;    /* written last, over a good key */
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	void *rings;
	uint32_t ring_refs[2];
	uint8_t *pages;
	uint32_t refs[HF_PAGES];
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
};

static int hf_setup_fn(void *arg)
{
	struct hf *h = arg;
	struct xs_handle *xs = xs_open(0);
	const char *d = "device/vif/0";
	int rc = -EIO;

	h->gs = xengntshr_open(NULL, 0);
	h->xce = xenevtchn_open(NULL, 0);
	if (!xs || !h->gs || !h->xce)
		goto out;
	h->rings = xengntshr_share_pages(h->gs, 0, 2, h->ring_refs, 1);
	h->pages = xengntshr_share_pages(h->gs, 0, HF_PAGES, h->refs, 1);
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(h->xce, 0);
	if (!h->rings || !h->pages || p < 0)
		goto out;
	h->port = (evtchn_port_t)p;
	SHARED_RING_INIT((netif_tx_sring_t *)h->rings);
	FRONT_RING_INIT(&h->tx, (netif_tx_sring_t *)h->rings, 4096);
	netif_rx_sring_t *rxs = (void *)((uint8_t *)h->rings + 4096);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&h->rx, rxs, 4096);
	rc = 0;
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "tx-ring-ref", "%u", h->ring_refs[0]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "rx-ring-ref", "%u", h->ring_refs[1]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "event-channel", "%u", h->port);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "request-rx-copy", "1");
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "feature-rx-notify", "1");
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "feature-sg", "1");
	if (h->bad_key)
		rc |= xenbus_write_fmt(xs, XBT_NULL, d, h->bad_key, "%s", h->bad_value);
	rc |= xenbus_write_fmt(xs, XBT_NULL, d, "state", "4");
out:
	if (xs)
		xs_close(xs);
	return rc;
}

static int hf_teardown_fn(void *arg)
{
	struct hf *h = arg;
	struct xs_handle *xs = xs_open(0);

	if (xs) {
		xenbus_write_fmt(xs, XBT_NULL, "device/vif/0", "state", "6");
		xs_close(xs);
	}
	if (h->rings)
		xengntshr_unshare(h->gs, h->rings, 2);
	if (h->pages)
		xengntshr_unshare(h->gs, h->pages, HF_PAGES);
	if (h->xce)
		xenevtchn_close(h->xce);
	if (h->gs)
		xengntshr_close(h->gs);
	return 0;
}

/* Requests to put on the tx ring, then req_prod as given (0: what was put). */
struct hf_push {
	struct hf *h;
	netif_tx_request_t reqs[160];
	unsigned n;
	unsigned req_prod_extra;      /* claim this many more than were written */
	bool rx_too;                  /* also post rx buffers: nreqs_rx of them */
	unsigned nreqs_rx;
	uint32_t rx_gref;             /* 0: the hostile pages in turn */
	unsigned storm;               /* notifications without work */
};

static int hf_push_fn(void *arg)
{
	struct hf_push *p = arg;
	struct hf *h = p->h;

	for (unsigned i = 0; i < p->n; i++)
		*RING_GET_REQUEST(&h->tx, h->tx.req_prod_pvt++) = p->reqs[i];
	xen_wmb();
	h->tx.sring->req_prod = h->tx.req_prod_pvt + p->req_prod_extra;
	for (unsigned i = 0; i < p->nreqs_rx; i++) {
		netif_rx_request_t *r = RING_GET_REQUEST(&h->rx, h->rx.req_prod_pvt);
		r->id = (uint16_t)(h->rx.req_prod_pvt & 255);
		r->gref = p->rx_gref ? p->rx_gref : h->refs[i % HF_PAGES];
		h->rx.req_prod_pvt++;
	}
	xen_wmb();
	h->rx.sring->req_prod = h->rx.req_prod_pvt;
	xenevtchn_notify(h->xce, h->port);
	for (unsigned i = 0; i < p->storm; i++)
		xenevtchn_notify(h->xce, h->port);
	return 0;
}

/* Guest 1's capture of raw frames (ethertype 0x88B5). */
static uint8_t ht_capture[256];
static unsigned ht_captured;

static void ht_capture_rx(struct nh_guest *g, const struct netfront_rx *rx)
{
	(void)g;
	if (rx->len == 200 && rx->data[12] == 0x88 && rx->data[13] == 0xB5) {
		memcpy(ht_capture, rx->data, 200);
		__atomic_add_fetch(&ht_captured, 1, __ATOMIC_RELEASE);
	}
}

/* ---- the world: guests 1 and 2 run the workload, guest 3 is hostile ---- */

struct ht_world {
	struct nh_net net;            /* guests 1, 2 */
	struct nh_vif hvif;
	struct hf h;
	unsigned finished;
};

static void ht_up_with(struct ht_world *w, const char *bad_key, const char *bad_value, const char *be_state)
{
	struct network_config wc = {.seed = 11, .messages = 1500, .pings = 200, .size_min = 60, .size_max = 65535,
				    .large_pct = 8, .offload = true};

	memset(w, 0, sizeof(*w));
	nh_world_up(3);
	nh_net_up(&w->net, 2, &nh_all_on);
	ht_captured = 0;
	nh_guest_hooks(&w->net.g[0], ht_capture_rx, NULL, NULL);
	nh_vif_create(&w->hvif, 3, 2);
	w->h.domid = 3;
	w->h.bad_key = bad_key;
	w->h.bad_value = bad_value;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(3, hf_setup_fn, &w->h), 0);
	CU_ASSERT_TRUE_FATAL(nh_wait_key("/local/domain/0/backend/vif/3/0/state", be_state, 10000));
	w->finished = nh_net_work_start(&w->net, &wc);
}

static void ht_up(struct ht_world *w)
{
	ht_up_with(w, NULL, NULL, "4");
}

/* The good guests finished, verified, whatever guest 3 did. */
static void ht_down(struct ht_world *w)
{
	struct nh_totals t;

	CU_ASSERT_TRUE(nh_wait(w->finished, NH_WAIT_MS));
	for (unsigned i = 0; i < 2; i++)
		nh_guest_peek(&w->net.g[i]);
	nh_totals(&w->net, &t);
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_TRUE(t.r.frames_verified > 2000);
	CU_ASSERT_EQUAL(t.r.corrupt + t.r.duplicates + t.r.out_of_order + t.r.lost_bytes, 0);
	sim_domain_call(3, hf_teardown_fn, &w->h);
	nh_vif_remove(&w->hvif);
	nh_net_down(&w->net);
	nh_world_down();
}

static void ht_push(struct ht_world *w, struct hf_push *p)
{
	p->h = &w->h;
	CU_ASSERT_EQUAL(sim_domain_call(3, hf_push_fn, p), 0);
}

/* A valid 200-byte frame from guest 3 in page pg, to a MAC nobody has: the
 * switch floods it, the workloads ignore it, the capture below sees it. */
static void ht_frame_bytes(uint8_t *f)
{
	for (unsigned i = 0; i < 200; i++)
		f[i] = (uint8_t)(i * 7 + 3);
	network_addr(5, f, NULL, NULL);
	network_addr(2, f + 6, NULL, NULL);
	f[12] = 0x88, f[13] = 0xB5;
}

static netif_tx_request_t ht_frame(struct ht_world *w, unsigned pg, uint16_t id)
{
	ht_frame_bytes(w->h.pages + (size_t)pg * 4096);
	return (netif_tx_request_t){.gref = w->h.refs[pg], .offset = 0, .id = id, .size = 200};
}

/* Wait (bounded) until netback answered `slots` tx requests of guest 3. */
static bool ht_wait_tx_rsp(struct ht_world *w, RING_IDX want)
{
	for (unsigned t = 0; t <= 10000; t += NH_POLL_MS) {
		if (((volatile netif_tx_sring_t *)w->h.rings)->rsp_prod >= want)
			return true;
		nh_sleep_ms(NH_POLL_MS);
	}
	return false;
}

static int16_t ht_tx_status(struct ht_world *w, RING_IDX i)
{
	return RING_GET_RESPONSE(&w->h.tx, i)->status;
}

/* The vif of guest 3 was disconnected for a violation whose message says `why`. */
static void ht_expect_fatal(struct ht_world *w, const char *why)
{
	char *err;
	unsigned len;

	CU_ASSERT_TRUE(nh_wait_key("/local/domain/0/backend/vif/3/0/state", "5", 10000));
	err = xs_read(nh_xs, XBT_NULL, "/local/domain/0/backend/vif/3/0/error", &len);
	CU_ASSERT_PTR_NOT_NULL(err);
	if (err && !strstr(err, why))
		printf("  error is '%s', expected it to say '%s'\n", err, why);
	CU_ASSERT_TRUE(err && strstr(err, why));
	free(err);
	nh_backend_peek(&w->net.b);
	CU_ASSERT_EQUAL(w->net.b.stats.fatal, 1);
}

/* ---- hostile frontend: survivable faults ---- */

static void hostile_fe_bad_gref_answered_error(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 2};

	ht_up(&w);
	p.reqs[0] = ht_frame(&w, 0, 1);
	p.reqs[0].gref = 7777;   /* never granted */
	p.reqs[1] = ht_frame(&w, 1, 2);
	ht_push(&w, &p);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 2));
	CU_ASSERT_EQUAL(ht_tx_status(&w, 0), NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(ht_tx_status(&w, 1), NETIF_RSP_OKAY);   /* the next one goes */
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_grant_errors, 1);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

static void hostile_fe_slots_past_max_dropped(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 34};   /* all_on: 32 slots accepted, 40 fatal */

	ht_up(&w);
	for (unsigned i = 0; i < p.n; i++) {
		p.reqs[i] = ht_frame(&w, i % HF_PAGES, (uint16_t)i);
		p.reqs[i].size = i ? 10 : (uint16_t)(10 * p.n);
		p.reqs[i].flags = i + 1 < p.n ? NETTXF_more_data : 0;
	}
	ht_push(&w, &p);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 34));
	for (unsigned i = 0; i < 34; i++)
		CU_ASSERT_EQUAL(ht_tx_status(&w, i), NETIF_RSP_ERROR);
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_dropped, 1);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

static void hostile_fe_oversized_fragment_dropped(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 3};

	ht_up(&w);
	for (unsigned i = 0; i < 3; i++)
		p.reqs[i] = ht_frame(&w, i, (uint16_t)i);
	p.reqs[0].size = 200;
	p.reqs[0].flags = NETTXF_more_data;
	p.reqs[1].size = 150;
	p.reqs[1].flags = NETTXF_more_data;
	p.reqs[2].size = 100;   /* 150 + 100 > 200 */
	ht_push(&w, &p);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 3));
	CU_ASSERT_EQUAL(ht_tx_status(&w, 2), NETIF_RSP_ERROR);
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_dropped, 1);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

static void hostile_fe_zero_length_and_split_headers_delivered(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 5};

	ht_up(&w);
	/* 200 bytes: 6 in the first slot (half a MAC), nothing, 94, nothing, 100. */
	netif_tx_request_t whole = ht_frame(&w, 0, 0);
	uint8_t *src = w.h.pages;
	memcpy(w.h.pages + 4096, src + 6, 94);
	memcpy(w.h.pages + 2 * 4096, src + 100, 100);
	p.reqs[0] = whole;
	p.reqs[0].flags = NETTXF_more_data;
	p.reqs[1] = (netif_tx_request_t){.gref = w.h.refs[3], .id = 1, .size = 0, .flags = NETTXF_more_data};
	p.reqs[2] = (netif_tx_request_t){.gref = w.h.refs[1], .id = 2, .size = 94, .flags = NETTXF_more_data};
	p.reqs[3] = (netif_tx_request_t){.gref = w.h.refs[4], .offset = 4096, .id = 3, .size = 0,
					 .flags = NETTXF_more_data};
	p.reqs[4] = (netif_tx_request_t){.gref = w.h.refs[2], .id = 4, .size = 100};
	ht_push(&w, &p);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 5));
	for (unsigned i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(ht_tx_status(&w, i), NETIF_RSP_OKAY);
	/* Guest 1 gets exactly the 200 bytes, whole. */
	uint8_t want[200];
	ht_frame_bytes(want);
	for (unsigned t = 0; t < 10000 && !__atomic_load_n(&ht_captured, __ATOMIC_ACQUIRE); t += NH_POLL_MS)
		nh_sleep_ms(NH_POLL_MS);
	CU_ASSERT_EQUAL(__atomic_load_n(&ht_captured, __ATOMIC_ACQUIRE), 1);
	CU_ASSERT_EQUAL(memcmp(ht_capture, want, 200), 0);
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_zero_slots, 2);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_dropped, 0);
	ht_down(&w);
}

static void hostile_fe_bad_offload_dropped(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 1};

	ht_up(&w);
	p.reqs[0] = ht_frame(&w, 0, 0);
	p.reqs[0].flags = NETTXF_csum_blank;   /* on a frame with no TCP/UDP to sum */
	ht_push(&w, &p);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 1));
	CU_ASSERT_EQUAL(ht_tx_status(&w, 0), NETIF_RSP_ERROR);
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.tx_dropped, 1);
	ht_down(&w);
}

static void hostile_fe_bad_rx_buffers_answered_error(void)
{
	struct ht_world w;
	struct hf_push p = {.n = 0, .nreqs_rx = 4, .rx_gref = 9999};
	struct hf_push tx = {.n = 1};

	ht_up(&w);
	ht_push(&w, &p);
	/* Guest 1 sends to guest 3: the switch learns guest 3 from this first. */
	tx.reqs[0] = ht_frame(&w, 0, 0);
	ht_push(&w, &tx);
	CU_ASSERT_TRUE(ht_wait_tx_rsp(&w, 1));
	CU_ASSERT_EQUAL(sim_domain_call(1, nh_send_one_to_fn, &(struct nh_send_one){.g = &w.net.g[0], .to = 2}), 0);
	for (unsigned t = 0; t < 10000 && w.net.b.stats.rx_grant_errors == 0; t += NH_POLL_MS) {
		nh_sleep_ms(NH_POLL_MS);
		nh_backend_peek(&w.net.b);
	}
	/* Each frame for guest 3 meets a bad buffer; 4 were posted. */
	CU_ASSERT_TRUE(w.net.b.stats.rx_grant_errors >= 1 && w.net.b.stats.rx_grant_errors <= 4);
	CU_ASSERT_EQUAL(RING_GET_RESPONSE(&w.h.rx, 0)->status, NETIF_RSP_ERROR);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

/* Connect and disconnect over and over: netback follows (or skips states,
 * coalesced), maps and unmaps each time, leaks nothing, and the others carry
 * on. The toolstack's connection writes guest 3's state here. */
static void hostile_fe_connect_storm_survived(void)
{
	struct ht_world w;
	unsigned flaps = 200;

	ht_up(&w);
	for (unsigned i = 0; i < flaps; i++) {
		xenbus_write_fmt(nh_xs, XBT_NULL, "/local/domain/3/device/vif/0", "state", "%d",
				 i % 2 ? XenbusStateConnected : XenbusStateInitialising);
		nh_sleep_ms(1);
	}
	nh_sleep_ms(300);
	nh_backend_peek(&w.net.b);
	printf("  connect storm: %u state flips, %llu connections, %llu disconnections\n", flaps,
	       (unsigned long long)w.net.b.stats.connects, (unsigned long long)w.net.b.stats.disconnects);
	/* Free mode: how many flips netback sees apart depends on the machine
	 * (8 of 200 under TSan on a loaded VM); it must keep following them. */
	CU_ASSERT_TRUE(w.net.b.stats.connects >= 3);
	CU_ASSERT_TRUE(w.net.b.stats.disconnects >= 2);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

static void hostile_fe_event_storm_damped(void)
{
	struct ht_world w;
	struct hf_push p = {.storm = 20000};

	ht_up(&w);
	ht_push(&w, &p);
	nh_sleep_ms(200);
	nh_backend_peek(&w.net.b);
	printf("  storm: %llu events taken, %llu without work, %llu unmasks delayed\n",
	       (unsigned long long)w.net.b.stats.events, (unsigned long long)w.net.b.stats.events_spurious,
	       (unsigned long long)w.net.b.stats.events_delayed);
	CU_ASSERT_TRUE(w.net.b.stats.events_spurious < 20000);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);
	ht_down(&w);
}

/* ---- hostile frontend: keys the backend cannot connect with ---- */

static void ht_refused_case(const char *key, const char *value, const char *why)
{
	struct ht_world w;
	unsigned len;

	ht_up_with(&w, key, value, "5");
	char *err = xs_read(nh_xs, XBT_NULL, "/local/domain/0/backend/vif/3/0/error", &len);
	CU_ASSERT_TRUE(err && strstr(err, why));
	if (!err || !strstr(err, why))
		printf("  error is '%s', expected '%s'\n", err ? err : "(none)", why);
	free(err);
	nh_backend_peek(&w.net.b);
	CU_ASSERT_EQUAL(w.net.b.stats.fatal, 0);   /* refused, not a violation found on a ring */
	ht_down(&w);
}

static void hostile_fe_unmappable_ring_refused(void)
{
	ht_refused_case("tx-ring-ref", "4000", "mapping queue 0's tx ring (ref 4000) failed");
}

static void hostile_fe_without_rx_copy_refused(void)
{
	ht_refused_case("request-rx-copy", "0", "frontend does not set request-rx-copy");
}

static void hostile_fe_malformed_feature_refused(void)
{
	ht_refused_case("feature-sg", "yes", "frontend key /local/domain/3/device/vif/0/feature-sg is not 0 or 1");
}

static void hostile_fe_unbindable_port_refused(void)
{
	ht_refused_case("event-channel", "4000", "binding queue 0's event channel (port 4000) failed");
}

/* ---- hostile frontend: what disconnects it ---- */

static void ht_fatal_case(void (*fill)(struct ht_world *w, struct hf_push *p), const char *why)
{
	struct ht_world w;
	struct hf_push p = {.n = 0};

	ht_up(&w);
	fill(&w, &p);
	ht_push(&w, &p);
	ht_expect_fatal(&w, why);
	ht_down(&w);
}

static void hf_fill_crossing(struct ht_world *w, struct hf_push *p)
{
	p->reqs[p->n] = ht_frame(w, 0, 0);
	p->reqs[p->n++].offset = 3950;
}

static void hf_fill_too_many_slots(struct ht_world *w, struct hf_push *p)
{
	for (unsigned i = 0; i < 41; i++) {
		p->reqs[i] = ht_frame(w, i % HF_PAGES, (uint16_t)i);
		p->reqs[i].size = i ? 1 : 41;
		p->reqs[i].flags = i + 1 < 41 ? NETTXF_more_data : 0;
	}
	p->n = 41;
}

static void hf_fill_prod_overflow(struct ht_world *w, struct hf_push *p)
{
	p->reqs[p->n++] = ht_frame(w, 0, 0);
	p->req_prod_extra = 300;
}

static void hf_fill_chain_past_prod(struct ht_world *w, struct hf_push *p)
{
	p->reqs[0] = ht_frame(w, 0, 0);
	p->reqs[0].flags = NETTXF_more_data;
	p->n = 1;
}

static void hf_fill_bad_extra(struct ht_world *w, struct hf_push *p)
{
	netif_extra_info_t x = {.type = 9};

	p->reqs[0] = ht_frame(w, 0, 0);
	p->reqs[0].flags = NETTXF_extra_info;
	memset(&p->reqs[1], 0, sizeof(p->reqs[1]));
	memcpy(&p->reqs[1], &x, sizeof(x));
	p->n = 2;
}

static void hf_fill_rx_prod_overflow(struct ht_world *w, struct hf_push *p)
{
	(void)w;
	p->nreqs_rx = 257;   /* more buffers than the ring has slots */
}

static void hostile_fe_slot_crossing_page_disconnects(void)
{
	ht_fatal_case(hf_fill_crossing, "offset 3950 + size 200 crosses the page");
}

static void hostile_fe_too_many_slots_disconnects(void)
{
	ht_fatal_case(hf_fill_too_many_slots, "more than 40 data slots");
}

static void hostile_fe_req_prod_overflow_disconnects(void)
{
	ht_fatal_case(hf_fill_prod_overflow, "tx req_prod 301 is more than 256 slots ahead");
}

static void hostile_fe_chain_past_req_prod_disconnects(void)
{
	ht_fatal_case(hf_fill_chain_past_prod, "past req_prod");
}

static void hostile_fe_unknown_extra_disconnects(void)
{
	ht_fatal_case(hf_fill_bad_extra, "extra info type 9 is unknown");
}

static void hostile_fe_rx_prod_overflow_disconnects(void)
{
	ht_fatal_case(hf_fill_rx_prod_overflow, "rx req_prod 257 is more than 256 slots ahead");
}

void test_register(void)
{
	static const struct test_case fe_survivable[] = {
		TEST(hostile_fe_bad_gref_answered_error),
		TEST(hostile_fe_slots_past_max_dropped),
		TEST(hostile_fe_oversized_fragment_dropped),
		TEST(hostile_fe_zero_length_and_split_headers_delivered),
		TEST(hostile_fe_bad_offload_dropped),
		TEST(hostile_fe_bad_rx_buffers_answered_error),
		TEST(hostile_fe_event_storm_damped),
		TEST(hostile_fe_connect_storm_survived),
		TEST_END,
	};
	static const struct test_case fe_refused[] = {
		TEST(hostile_fe_unmappable_ring_refused),
		TEST(hostile_fe_without_rx_copy_refused),
		TEST(hostile_fe_malformed_feature_refused),
		TEST(hostile_fe_unbindable_port_refused),
		TEST_END,
	};
	static const struct test_case fe_fatal[] = {
		TEST(hostile_fe_slot_crossing_page_disconnects),
		TEST(hostile_fe_too_many_slots_disconnects),
		TEST(hostile_fe_req_prod_overflow_disconnects),
		TEST(hostile_fe_chain_past_req_prod_disconnects),
		TEST(hostile_fe_unknown_extra_disconnects),
		TEST(hostile_fe_rx_prod_overflow_disconnects),
		TEST_END,
	};
	test_add_suite("nethostile_frontend_survivable", NULL, nh_fini, fe_survivable);
	test_add_suite("nethostile_frontend_refused", NULL, nh_fini, fe_refused);
	test_add_suite("nethostile_frontend_fatal", NULL, nh_fini, fe_fatal);
}
