/*
 * A hostile backend for netfront, on the sim: test code in dom0, mapping a
 * real netfront's rings, answers with bad ids, lengths, offsets, slot chains
 * and producer indexes, or starts over at InitWait, or refuses to connect.
 * Netfront must go to its terminal state with a message naming the values,
 * refuse further sends, and close without leaving anything behind (or
 * reconnect on fresh rings, or give up after its retries). A hostile
 * frontend for netback is nethostile_test.c.
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
	CU_ASSERT_TRUE_FATAL(nh_wait_key("/local/domain/1/device/vif/0/state", "4", 10000));
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
	CU_ASSERT_EQUAL(w.g.error_code, -EPROTO);   /* the backend's fault: not to be taken for an unplug */
	CU_ASSERT_EQUAL(sim_domain_call(1, nh_send_one_to_fn, &(struct nh_send_one){.g = &w.g, .to = 1}), -EIO);
	CU_ASSERT_TRUE(nh_wait_key("/local/domain/1/device/vif/0/state", "5", 10000));
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
	for (unsigned t = 0; t < 10000 && __atomic_load_n(&w.frames, __ATOMIC_ACQUIRE) == 0; t += NH_POLL_MS)
		nh_sleep_ms(NH_POLL_MS);
	CU_ASSERT_EQUAL(__atomic_load_n(&w.frames, __ATOMIC_ACQUIRE), 1);
	CU_ASSERT_EQUAL(w.last_len, 100);
	CU_ASSERT_EQUAL(w.last[99], (uint8_t)(99 * 3 + 1));
	nh_sleep_ms(100);
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
	CU_ASSERT_TRUE(nh_wait_key("/local/domain/1/device/vif/0/state", "4", 10000));
	CU_ASSERT_EQUAL(xenbus_read_uint(nh_xs, XBT_NULL, fe, "tx-ring-ref", UINT32_MAX, &new_ref), 0);
	CU_ASSERT_NOT_EQUAL(old_ref, new_ref);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, hb_connect_fn, &w.b), 0);
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_CONNECTED), NH_WAIT_MS));
	w.b.inject = hb_rx_good_frame;
	CU_ASSERT_EQUAL(sim_domain_call(0, hb_inject_fn, &w.b), 0);
	for (unsigned t = 0; t < 10000 && __atomic_load_n(&w.frames, __ATOMIC_ACQUIRE) == 0; t += NH_POLL_MS)
		nh_sleep_ms(NH_POLL_MS);
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
		if (!nh_wait_key("/local/domain/1/device/vif/0/state", "4", 10000))
			break;
		CU_ASSERT_EQUAL(xenbus_dev_fatal(nh_xs, be, "no room for this vif"), 0);
		for (unsigned t = 0; t < 10000 && !nh_peek(nh_bit(0, NH_FAILED)); t += NH_POLL_MS) {
			if (nh_wait_key("/local/domain/1/device/vif/0/state", "6", 0))
				break;
			nh_sleep_ms(NH_POLL_MS);
		}
		if (!nh_peek(nh_bit(0, NH_FAILED)))
			CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, be, "state", "2"), 0);
	}
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_FAILED), NH_WAIT_MS));
	CU_ASSERT_EQUAL(refused, 4);
	nh_guest_peek(&w.g);
	CU_ASSERT_PTR_NOT_NULL(strstr(w.g.error, "backend refused the connection 4 times (no room for this vif)"));
	CU_ASSERT_EQUAL(w.g.error_code, -EIO);   /* refused: no protocol broken */
	(void)fe;
	nh_guest_close(&w.g);
	nh_vif_remove(&w.vif);
	nh_check_clean(1);
	nh_world_down();
}

void test_register(void)
{
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
	test_add_suite("nethostile_backend", NULL, nh_fini, be_cases);
	test_add_suite("netfront_backend_lifecycle", NULL, nh_fini, be_lifecycle);
}
