/*
 * Hostile peers for the network drivers, on the sim.
 *
 * A hostile frontend (test code in guest 3, writing its rings by hand) sends
 * netback what netif.h forbids or what is merely odd: bad grant refs, slots
 * crossing a page, too many slots, zero-length and oversized fragments,
 * headers split across slots, unknown extra info, req_prod running ahead,
 * an event storm. Netback must answer with errors or disconnect that vif,
 * count it, and keep serving guests 1 and 2, which run the verified workload
 * meanwhile.
 *
 * A hostile backend (test code in dom0, mapping a real netfront's rings)
 * answers with bad ids, lengths, offsets, slot chains and producer indexes.
 * Netfront must go to its terminal state with a message naming the values,
 * refuse further sends, and close without leaving anything behind.
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
#define HT_POLL_MS 10u

static void ht_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (bounded) until path holds want. */
static bool ht_wait_key(const char *path, const char *want, unsigned ms)
{
	for (unsigned t = 0; t <= ms; t += HT_POLL_MS) {
		unsigned len;
		char *v = xs_read(nh_xs, XBT_NULL, path, &len);
		bool ok = v && strcmp(v, want) == 0;
		free(v);
		if (ok)
			return true;
		ht_sleep_ms(HT_POLL_MS);
	}
	return false;
}

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
	CU_ASSERT_TRUE_FATAL(ht_wait_key("/local/domain/0/backend/vif/3/0/state", be_state, 10000));
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
	CU_ASSERT_TRUE(t.finished);
	CU_ASSERT_TRUE(t.verified > 2000);
	CU_ASSERT_EQUAL(t.corrupt + t.duplicates + t.out_of_order + t.lost_bytes, 0);
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
	for (unsigned t = 0; t <= 10000; t += HT_POLL_MS) {
		if (((volatile netif_tx_sring_t *)w->h.rings)->rsp_prod >= want)
			return true;
		ht_sleep_ms(HT_POLL_MS);
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

	CU_ASSERT_TRUE(ht_wait_key("/local/domain/0/backend/vif/3/0/state", "5", 10000));
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
	for (unsigned t = 0; t < 10000 && !__atomic_load_n(&ht_captured, __ATOMIC_ACQUIRE); t += HT_POLL_MS)
		ht_sleep_ms(HT_POLL_MS);
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
	for (unsigned t = 0; t < 10000 && w.net.b.stats.rx_grant_errors == 0; t += HT_POLL_MS) {
		ht_sleep_ms(HT_POLL_MS);
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
		ht_sleep_ms(1);
	}
	ht_sleep_ms(300);
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
	ht_sleep_ms(200);
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

/* ---- a hostile backend in dom0, serving a real netfront in guest 1 ---- */

struct hb {
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	void *tx_addr, *rx_addr;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	void (*inject)(struct hb *b);
	unsigned storm;
};

static const struct nh_features hb_features = {
	.name = "one queue",
	.fe = {.queues_max = 1, .sg = true, .gso_tcpv4 = true, .csum = true, .rx_notify = true},
};

static int hb_connect_fn(void *arg)
{
	struct hb *b = arg;
	const char *fe = "/local/domain/1/device/vif/0";
	uint64_t txr, rxr, port;
	int rc = xenbus_read_uint(nh_xs, XBT_NULL, fe, "tx-ring-ref", UINT32_MAX, &txr);

	rc = rc ? rc : xenbus_read_uint(nh_xs, XBT_NULL, fe, "rx-ring-ref", UINT32_MAX, &rxr);
	rc = rc ? rc : xenbus_read_uint(nh_xs, XBT_NULL, fe, "event-channel", UINT32_MAX, &port);
	b->gt = xengnttab_open(NULL, 0);
	b->xce = xenevtchn_open(NULL, 0);
	if (rc || !b->gt || !b->xce)
		return -EIO;
	b->tx_addr = xengnttab_map_grant_ref(b->gt, 1, (uint32_t)txr, PROT_READ | PROT_WRITE);
	b->rx_addr = xengnttab_map_grant_ref(b->gt, 1, (uint32_t)rxr, PROT_READ | PROT_WRITE);
	xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(b->xce, 1, (uint32_t)port);
	if (!b->tx_addr || !b->rx_addr || p < 0)
		return -EIO;
	b->port = (evtchn_port_t)p;
	BACK_RING_INIT(&b->tx, (netif_tx_sring_t *)b->tx_addr, 4096);
	BACK_RING_INIT(&b->rx, (netif_rx_sring_t *)b->rx_addr, 4096);
	return xenbus_write_fmt(nh_xs, XBT_NULL, "/local/domain/0/backend/vif/1/0", "state", "4");
}

static int hb_inject_fn(void *arg)
{
	struct hb *b = arg;

	b->inject(b);
	xenevtchn_notify(b->xce, b->port);
	for (unsigned i = 0; i < b->storm; i++)
		xenevtchn_notify(b->xce, b->port);
	return 0;
}

static int hb_disconnect_fn(void *arg)
{
	struct hb *b = arg;

	if (b->tx_addr)
		xengnttab_unmap(b->gt, b->tx_addr, 1);
	if (b->rx_addr)
		xengnttab_unmap(b->gt, b->rx_addr, 1);
	if (b->xce)
		xenevtchn_close(b->xce);
	if (b->gt)
		xengnttab_close(b->gt);
	return 0;
}

struct hb_world {
	struct nh_vif vif;
	struct nh_guest g;
	struct hb b;
	uint8_t last[2048];
	uint32_t last_len;
	unsigned frames;
};

static void hb_rx_hook(struct nh_guest *g, const struct netfront_rx *rx)
{
	struct hb_world *w = g->user;

	w->last_len = rx->len < sizeof(w->last) ? rx->len : sizeof(w->last);
	memcpy(w->last, rx->data, w->last_len);
	__atomic_add_fetch(&w->frames, 1, __ATOMIC_RELEASE);
}

static void hb_up(struct hb_world *w)
{
	const char *be = "/local/domain/0/backend/vif/1/0";

	memset(w, 0, sizeof(*w));
	nh_world_up(1);
	nh_vif_create(&w->vif, 1, 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "feature-rx-copy", "1"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "feature-sg", "1"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "feature-gso-tcpv4", "1"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "state", "2"), 0);
	nh_guest_init(&w->g, 1, &hb_features);
	w->g.on_rx = hb_rx_hook;
	w->g.user = w;
	nh_guest_open(&w->g);
	CU_ASSERT_TRUE_FATAL(ht_wait_key("/local/domain/1/device/vif/0/state", "4", 10000));
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, hb_connect_fn, &w->b), 0);
	CU_ASSERT_TRUE_FATAL(nh_wait(nh_bit(0, NH_CONNECTED), NH_WAIT_MS));
}

static void hb_down(struct hb_world *w)
{
	nh_guest_close(&w->g);
	sim_domain_call(0, hb_disconnect_fn, &w->b);
	nh_vif_remove(&w->vif);
	nh_check_clean(1);
	nh_world_down();
}

/* One violation: netfront fails, says why with values, refuses to send. */
static void hb_case(void (*inject)(struct hb *b), bool with_tx, const char *why)
{
	struct hb_world w;

	hb_up(&w);
	if (with_tx)
		CU_ASSERT_EQUAL(sim_domain_call(1, nh_send_one_to_fn, &(struct nh_send_one){.g = &w.g, .to = 1}), 0);
	w.b.inject = inject;
	CU_ASSERT_EQUAL(sim_domain_call(0, hb_inject_fn, &w.b), 0);
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_FAILED), NH_WAIT_MS));
	nh_guest_peek(&w.g);
	if (!strstr(w.g.error, why))
		printf("  error is '%s', expected it to say '%s'\n", w.g.error, why);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.g.error, why));
	CU_ASSERT_EQUAL(sim_domain_call(1, nh_send_one_to_fn, &(struct nh_send_one){.g = &w.g, .to = 1}), -EIO);
	CU_ASSERT_TRUE(ht_wait_key("/local/domain/1/device/vif/0/state", "5", 10000));
	hb_down(&w);
}

static void hb_tx_rsp(struct hb *b, uint16_t id, int16_t status)
{
	netif_tx_response_t *r = RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt++);

	r->id = id;
	r->status = status;
	RING_PUSH_RESPONSES(&b->tx);
}

static void hb_rx_rsp(struct hb *b, uint16_t id, uint16_t offset, uint16_t flags, int16_t status)
{
	netif_rx_response_t *r = RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt++);

	*r = (netif_rx_response_t){.id = id, .offset = offset, .flags = flags, .status = status};
	b->rx.req_cons++;
}

static void hb_push_rx(struct hb *b)
{
	RING_PUSH_RESPONSES(&b->rx);
}

static void hb_tx_id_out_of_range(struct hb *b)
{
	hb_tx_rsp(b, 999, NETIF_RSP_OKAY);
}

static void hb_tx_id_not_in_flight(struct hb *b)
{
	hb_tx_rsp(b, 200, NETIF_RSP_OKAY);
}

static void hb_tx_status_unknown(struct hb *b)
{
	hb_tx_rsp(b, 0, -7);
}

static void hb_tx_null_without_extra(struct hb *b)
{
	hb_tx_rsp(b, 0, NETIF_RSP_NULL);
}

static void hb_tx_prod_overflow(struct hb *b)
{
	b->tx.sring->rsp_prod = 300;
}

static void hb_rx_id_mismatch(struct hb *b)
{
	hb_rx_rsp(b, 7, 0, 0, 100);
	hb_push_rx(b);
}

static void hb_rx_beyond_page(struct hb *b)
{
	hb_rx_rsp(b, 0, 4000, 0, 200);
	hb_push_rx(b);
}

static void hb_rx_too_many_slots(struct hb *b)
{
	for (uint16_t i = 0; i < 19; i++)
		hb_rx_rsp(b, i, 0, i + 1 < 19 ? NETRXF_more_data : 0, 10);
	hb_push_rx(b);
}

static void hb_rx_unknown_extra(struct hb *b)
{
	netif_extra_info_t x = {.type = XEN_NETIF_EXTRA_TYPE_HASH};

	hb_rx_rsp(b, 0, 0, NETRXF_extra_info, 100);
	memcpy(RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt), &x, sizeof(x));
	b->rx.rsp_prod_pvt++;
	hb_push_rx(b);
}

static void hb_rx_status_unknown(struct hb *b)
{
	hb_rx_rsp(b, 0, 0, 0, -5);
	hb_push_rx(b);
}

static void hb_rx_prod_overflow(struct hb *b)
{
	b->rx.sring->rsp_prod = 257;
}

static void hostile_be_tx_id_out_of_range(void)
{
	hb_case(hb_tx_id_out_of_range, true, "tx response id 999 is out of range (256 pages)");
}

static void hostile_be_tx_id_not_in_flight(void)
{
	hb_case(hb_tx_id_not_in_flight, true, "tx response id 200 answers no request in flight");
}

static void hostile_be_tx_status_unknown(void)
{
	hb_case(hb_tx_status_unknown, true, "tx response id 0 has unknown status -7");
}

static void hostile_be_tx_null_without_extra(void)
{
	hb_case(hb_tx_null_without_extra, true, "tx response NULL (id 0) but no extra info slot is outstanding");
}

static void hostile_be_tx_rsp_prod_overflow(void)
{
	hb_case(hb_tx_prod_overflow, true, "tx rsp_prod 300, but only 1 requests outstanding");
}

static void hostile_be_rx_id_mismatch(void)
{
	hb_case(hb_rx_id_mismatch, false, "rx slot 0: response id 7, the request there was id 0");
}

static void hostile_be_rx_beyond_page(void)
{
	hb_case(hb_rx_beyond_page, false, "rx slot 0 (id 0): offset 4000 + length 200 is beyond the page");
}

static void hostile_be_rx_too_many_slots(void)
{
	hb_case(hb_rx_too_many_slots, false, "rx frame at slot 0 takes more than 18 data slots");
}

static void hostile_be_rx_unknown_extra(void)
{
	hb_case(hb_rx_unknown_extra, false, "rx slot 1: extra info type 4 was never asked for");
}

static void hostile_be_rx_status_unknown(void)
{
	hb_case(hb_rx_status_unknown, false, "rx slot 0: unknown status -5");
}

static void hostile_be_rx_rsp_prod_overflow(void)
{
	hb_case(hb_rx_prod_overflow, false, "rx rsp_prod 257, but only 256 requests outstanding");
}

/* The raw backend itself is sound: a good frame goes through, and a storm of
 * events with nothing behind them is damped, not fatal. */
static void hb_rx_good_frame(struct hb *b)
{
	netif_rx_request_t req;
	uint8_t frame[100];
	xengnttab_grant_copy_segment_t seg = {.flags = GNTCOPY_dest_gref, .len = sizeof(frame)};

	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 3 + 1);
	RING_COPY_REQUEST(&b->rx, b->rx.req_cons, &req);
	seg.source.virt = frame;
	seg.dest.foreign.ref = req.gref;
	seg.dest.foreign.domid = 1;
	xengnttab_grant_copy(b->gt, 1, &seg);
	hb_rx_rsp(b, req.id, 0, 0, seg.status == GNTST_okay ? (int16_t)sizeof(frame) : NETIF_RSP_ERROR);
	hb_push_rx(b);
}

static void hostile_be_good_frame_and_storm_survive(void)
{
	struct hb_world w;

	hb_up(&w);
	w.b.inject = hb_rx_good_frame;
	w.b.storm = 20000;
	CU_ASSERT_EQUAL(sim_domain_call(0, hb_inject_fn, &w.b), 0);
	for (unsigned t = 0; t < 10000 && __atomic_load_n(&w.frames, __ATOMIC_ACQUIRE) == 0; t += HT_POLL_MS)
		ht_sleep_ms(HT_POLL_MS);
	CU_ASSERT_EQUAL(__atomic_load_n(&w.frames, __ATOMIC_ACQUIRE), 1);
	CU_ASSERT_EQUAL(w.last_len, 100);
	CU_ASSERT_EQUAL(w.last[99], (uint8_t)(99 * 3 + 1));
	ht_sleep_ms(100);
	nh_guest_peek(&w.g);
	printf("  storm from the backend: %llu events, %llu without work\n", (unsigned long long)w.g.stats.events,
	       (unsigned long long)w.g.stats.events_spurious);
	CU_ASSERT_STRING_EQUAL(w.g.error, "");
	CU_ASSERT_TRUE(w.g.stats.events_spurious < 20000);
	CU_ASSERT_TRUE(w.g.info.connected);
	hb_down(&w);
}

/* ---- a backend that starts over or says no ---- */

/* A new backend instance at InitWait, without Closed in between: netfront
 * drops the old rings and publishes fresh ones; the backend maps those. */
static void backend_reinit_reconnects_with_fresh_rings(void)
{
	const char *fe = "/local/domain/1/device/vif/0", *be = "/local/domain/0/backend/vif/1/0";
	struct hb_world w;
	uint64_t old_ref, new_ref;

	hb_up(&w);
	CU_ASSERT_EQUAL(xenbus_read_uint(nh_xs, XBT_NULL, fe, "tx-ring-ref", UINT32_MAX, &old_ref), 0);
	sim_domain_call(0, hb_disconnect_fn, &w.b);
	memset(&w.b, 0, sizeof(w.b));
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "state", "2"), 0);
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_DISCONNECTED), NH_WAIT_MS));
	CU_ASSERT_TRUE(ht_wait_key("/local/domain/1/device/vif/0/state", "4", 10000));
	CU_ASSERT_EQUAL(xenbus_read_uint(nh_xs, XBT_NULL, fe, "tx-ring-ref", UINT32_MAX, &new_ref), 0);
	CU_ASSERT_NOT_EQUAL(old_ref, new_ref);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, hb_connect_fn, &w.b), 0);
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_CONNECTED), NH_WAIT_MS));
	w.b.inject = hb_rx_good_frame;
	CU_ASSERT_EQUAL(sim_domain_call(0, hb_inject_fn, &w.b), 0);
	for (unsigned t = 0; t < 10000 && __atomic_load_n(&w.frames, __ATOMIC_ACQUIRE) == 0; t += HT_POLL_MS)
		ht_sleep_ms(HT_POLL_MS);
	CU_ASSERT_EQUAL(__atomic_load_n(&w.frames, __ATOMIC_ACQUIRE), 1);
	nh_guest_peek(&w.g);
	CU_ASSERT_EQUAL(w.g.stats.connects, 2);
	CU_ASSERT_EQUAL(w.g.connects, 2);
	hb_down(&w);
}

/* A backend that closes whenever the frontend has published: after a few
 * refusals netfront gives up, saying what the backend wrote. */
static void backend_refusing_fails_after_retries(void)
{
	const char *fe = "/local/domain/1/device/vif/0", *be = "/local/domain/0/backend/vif/1/0";
	struct hb_world w;
	unsigned refused = 0;

	memset(&w, 0, sizeof(w));
	nh_world_up(1);
	nh_vif_create(&w.vif, 1, 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "feature-rx-copy", "1"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "state", "2"), 0);
	nh_guest_init(&w.g, 1, &hb_features);
	nh_guest_open(&w.g);
	for (; refused < 8 && !nh_peek(nh_bit(0, NH_FAILED)); refused++) {
		if (!ht_wait_key("/local/domain/1/device/vif/0/state", "4", 10000))
			break;
		CU_ASSERT_EQUAL(xenbus_dev_fatal(nh_xs, be, "no room for this vif"), 0);
		for (unsigned t = 0; t < 10000 && !nh_peek(nh_bit(0, NH_FAILED)); t += HT_POLL_MS) {
			if (ht_wait_key("/local/domain/1/device/vif/0/state", "6", 0))
				break;
			ht_sleep_ms(HT_POLL_MS);
		}
		if (!nh_peek(nh_bit(0, NH_FAILED)))
			CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "state", "2"), 0);
	}
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_FAILED), NH_WAIT_MS));
	CU_ASSERT_EQUAL(refused, 4);
	nh_guest_peek(&w.g);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.g.error, "backend refused the connection 4 times (no room for this vif)"));
	(void)fe;
	nh_guest_close(&w.g);
	nh_vif_remove(&w.vif);
	nh_check_clean(1);
	nh_world_down();
}

static int ht_fini(void)
{
	nh_world_down();
	return 0;
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
	static const struct test_case be_cases[] = {
		TEST(hostile_be_tx_id_out_of_range),
		TEST(hostile_be_tx_id_not_in_flight),
		TEST(hostile_be_tx_status_unknown),
		TEST(hostile_be_tx_null_without_extra),
		TEST(hostile_be_tx_rsp_prod_overflow),
		TEST(hostile_be_rx_id_mismatch),
		TEST(hostile_be_rx_beyond_page),
		TEST(hostile_be_rx_too_many_slots),
		TEST(hostile_be_rx_unknown_extra),
		TEST(hostile_be_rx_status_unknown),
		TEST(hostile_be_rx_rsp_prod_overflow),
		TEST(hostile_be_good_frame_and_storm_survive),
		TEST_END,
	};
	static const struct test_case be_lifecycle[] = {
		TEST(backend_reinit_reconnects_with_fresh_rings),
		TEST(backend_refusing_fails_after_retries),
		TEST_END,
	};
	test_add_suite("nethostile_frontend_survivable", NULL, ht_fini, fe_survivable);
	test_add_suite("netfront_backend_lifecycle", NULL, ht_fini, be_lifecycle);
	test_add_suite("nethostile_frontend_refused", NULL, ht_fini, fe_refused);
	test_add_suite("nethostile_frontend_fatal", NULL, ht_fini, fe_fatal);
	test_add_suite("nethostile_backend", NULL, ht_fini, be_cases);
}
