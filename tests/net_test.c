/*
 * End-to-end suites for the network split drivers on the sim: dom0 runs
 * netback and the switch on its domain thread, guests run netfront and the
 * verified workload (drivers/net/network.h) on theirs, the test's main thread
 * plays the toolstack (acting as dom0) and waits, bounded, for what the
 * domain threads report.
 *
 * Both feature sets run the same checks: everything on (4 queues, split
 * event channels, scatter-gather beyond 18 slots, GSO TCPv4/v6, checksum
 * offload both ways, rx-notify) and everything off (one queue, one channel,
 * one slot per frame, no offloads, a polled rx ring). Messages are 60 bytes
 * to 64 KiB either way: with everything on a large one is one GSO frame end
 * to end; with everything off the sending guest cuts it into MTU frames, as
 * a stack without TSO does, and no frame on the rings exceeds 1514 bytes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <xenstore.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/switch/switch.h"
#include "sim/xenstore/xs_store.h"
#include "tests/net_harness.h"
#include "tests/test.h"

#define NETFRONT_RING_SIZE_PUBLIC 256u   /* rx buffers a guest posts by default */

/* ---- the exchange: three guests, verified frames, both feature sets ---- */

/* steady_min: frames verified beside acks. The data frames and the pings
 * come of the seed; how many acks the receivers send, and which frames the
 * switch floods before it learns a MAC, come of timing (a floor on every
 * frame, acks in, failed on a loaded machine). */
static void nt_workload(const struct nh_features *f, uint32_t messages, uint32_t pings, uint64_t steady_min)
{
	struct network_config w = {.seed = 42, .messages = messages, .pings = pings, .size_min = 60,
				   .size_max = 65535, .large_pct = 8, .offload = f->offload};
	struct nh_net net;
	struct nh_totals t;
	struct timespec t0, t1;

	nh_world_up(3);
	nh_net_up(&net, 3, f);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	for (unsigned i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(nh_guest_peek(&net.g[i]), 0);
	nh_backend_peek(&net.b);
	nh_totals(&net, &t);
	const struct netback_stats *bs = &net.b.stats;
	printf("  %s: %llu frames verified (%llu not acks) of %llu received (%llu sent), %llu MiB, %llu GSO sent / %llu received, "
	       "%llu partial checksums sent / %llu received, %llu packed, %.2f s\n",
	       f->name, (unsigned long long)t.r.frames_verified, (unsigned long long)(t.r.frames_verified - t.r.acks_received),
	       (unsigned long long)t.r.frames_received, (unsigned long long)t.r.frames_sent,
	       (unsigned long long)(t.r.bytes_received >> 20), (unsigned long long)t.r.gso_sent, (unsigned long long)t.r.gso_received,
	       (unsigned long long)t.r.csum_partial_sent, (unsigned long long)t.r.csum_partial_received, (unsigned long long)t.tx_packed,
	       (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	printf("  netback: tx %llu packets %llu slots (%llu in the largest), rx %llu packets %llu slots, %llu GSO cut, %llu checksums "
	       "completed, peak queue %llu KiB, events %llu (%llu spurious)\n",
	       (unsigned long long)bs->tx_packets, (unsigned long long)bs->tx_slots, (unsigned long long)bs->tx_slots_peak,
	       (unsigned long long)bs->rx_packets,
	       (unsigned long long)bs->rx_slots, (unsigned long long)bs->rx_gso_segmented,
	       (unsigned long long)bs->rx_csum_completed, (unsigned long long)(bs->rx_queued_bytes_peak >> 10),
	       (unsigned long long)bs->events, (unsigned long long)bs->events_spurious);
	for (unsigned i = 0; i < 3; i++) {
		const struct network_result *r = &net.g[i].res;
		const struct netfront_stats *s = &net.g[i].stats;
		printf("  guest %u: sent %llu recv %llu foreign %llu lost %llu gaps %llu dups %llu ooo %llu pings %llu/%llu to %llu late %llu acks %llu/%llu ackto %llu | nf tx %llu rx %llu lost %llu\n", i,
		       (unsigned long long)r->frames_sent, (unsigned long long)r->frames_received, (unsigned long long)r->frames_foreign,
		       (unsigned long long)r->lost_bytes, (unsigned long long)r->gaps, (unsigned long long)r->duplicates,
		       (unsigned long long)r->out_of_order, (unsigned long long)r->pings_ok, (unsigned long long)r->pings_sent,
		       (unsigned long long)r->ping_timeouts, (unsigned long long)r->pings_late, (unsigned long long)r->acks_sent,
		       (unsigned long long)r->acks_received, (unsigned long long)r->ack_timeouts,
		       (unsigned long long)s->tx_frames, (unsigned long long)s->rx_frames, (unsigned long long)s->tx_lost);
	}
	printf("  backend drops: down %llu full %llu stalled %llu other %llu; switch in %llu out %llu flooded %llu noport %llu hairpin %llu\n",
	       (unsigned long long)bs->rx_dropped_down, (unsigned long long)bs->rx_dropped_full,
	       (unsigned long long)bs->rx_dropped_stalled, (unsigned long long)bs->rx_dropped_other,
	       (unsigned long long)net.b.sw_stats.frames_in, (unsigned long long)net.b.sw_stats.frames_out,
	       (unsigned long long)net.b.sw_stats.flooded, (unsigned long long)net.b.sw_stats.dropped_noport,
	       (unsigned long long)net.b.sw_stats.dropped_hairpin);
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_TRUE(t.r.frames_verified - t.r.acks_received >= steady_min);
	CU_ASSERT_EQUAL(t.r.frames_verified, t.r.frames_received);
	if (f->offload) {   /* the features were used, not only negotiated */
		CU_ASSERT_TRUE(bs->tx_slots_peak > 18);   /* beyond XEN_NETIF_NR_SLOTS_MIN */
		CU_ASSERT_TRUE(t.r.gso_sent > 0 && t.r.gso_received == t.r.gso_sent);
		CU_ASSERT_TRUE(t.r.csum_partial_sent > 0);
	} else {
		CU_ASSERT_EQUAL(bs->tx_slots_peak, 1);
		CU_ASSERT_EQUAL(t.r.gso_sent + t.r.csum_partial_sent + t.r.csum_partial_received, 0);
	}
	CU_ASSERT_EQUAL(t.r.corrupt, 0);
	CU_ASSERT_EQUAL(t.r.duplicates, 0);
	CU_ASSERT_EQUAL(t.r.out_of_order, 0);
	CU_ASSERT_EQUAL(t.r.lost_bytes, 0);
	CU_ASSERT_EQUAL(t.r.gaps, 0);
	CU_ASSERT_EQUAL(nh_pings_lost(&t), 0);
	CU_ASSERT_EQUAL(t.r.pings_ok + t.r.pings_late, 6u * pings);
	CU_ASSERT_EQUAL(t.tx_errors + t.rx_errors, 0);
	CU_ASSERT_EQUAL(bs->tx_dropped + bs->rx_dropped_full + bs->rx_dropped_stalled + bs->rx_dropped_other, 0);
	CU_ASSERT_EQUAL(bs->fatal, 0);
	CU_ASSERT_EQUAL(net.b.sw_stats.dropped_loss + net.b.sw_stats.dropped_queue + net.b.sw_stats.dropped_noport, 0);
	nh_net_down(&net);
	nh_world_down();
}

static void test_exchange_all_on_small(void)
{
	nt_workload(&nh_all_on, 200, 50, 1500);
}

static void test_exchange_all_off_small(void)
{
	nt_workload(&nh_all_off, 200, 50, 3500);
}

static void test_exchange_all_on_100k(void)
{
	nt_workload(&nh_all_on, 8000, 1600, 65000);   /* ~100k frames with the acks */
}

static void test_exchange_all_off_100k(void)
{
	nt_workload(&nh_all_off, 4000, 1500, 82000);
}

/* Everything on exercises GSO and checksum offload end to end; cutting and
 * completing happen when a receiver does not take them. */
static void test_exchange_mixed_features_cut_and_complete(void)
{
	struct network_config w = {.seed = 5, .messages = 600, .pings = 60, .size_min = 60, .size_max = 65535,
				   .large_pct = 30, .offload = true};
	struct nh_net net;
	struct nh_totals t;

	nh_world_up(3);
	memset(&net, 0, sizeof(net));
	net.n = 3;
	net.b.cfg = nh_all_on.be;
	nh_backend_start(&net.b);
	for (unsigned i = 0; i < 3; i++) {
		nh_vif_create(&net.vifs[i], (domid_t)(i + 1), i);
		nh_guest_init(&net.g[i], (domid_t)(i + 1), &nh_all_on);
	}
	/* Guest 2 takes no GSO and no partial checksums; guest 3 takes neither
	 * scatter-gather nor IPv6 checksum offload. */
	net.g[1].cfg.gso_tcpv4 = net.g[1].cfg.gso_tcpv6 = false;
	net.g[1].cfg.csum = net.g[1].cfg.ipv6_csum = false;
	net.g[2].cfg.sg = false;
	net.g[2].cfg.ipv6_csum = false;
	for (unsigned i = 0; i < 3; i++)
		nh_guest_open(&net.g[i]);
	CU_ASSERT_TRUE_FATAL(nh_wait(nh_bit(0, NH_CONNECTED) | nh_bit(1, NH_CONNECTED) | nh_bit(2, NH_CONNECTED),
				     NH_WAIT_MS));
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	for (unsigned i = 0; i < 3; i++)
		nh_guest_peek(&net.g[i]);
	nh_backend_peek(&net.b);
	nh_totals(&net, &t);
	const struct netback_stats *bs = &net.b.stats;
	printf("  mixed: %llu frames verified, %llu GSO sent / %llu received whole, %llu cut by netback, "
	       "%llu checksums completed by netback\n",
	       (unsigned long long)t.r.frames_verified, (unsigned long long)t.r.gso_sent, (unsigned long long)t.r.gso_received,
	       (unsigned long long)bs->rx_gso_segmented, (unsigned long long)bs->rx_csum_completed);
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_EQUAL(t.r.frames_verified, t.r.frames_received);
	CU_ASSERT_EQUAL(t.r.corrupt + t.r.duplicates + t.r.out_of_order + t.r.lost_bytes, 0);
	CU_ASSERT_TRUE(bs->rx_gso_segmented > 0);
	CU_ASSERT_TRUE(bs->rx_csum_completed > 0);
	CU_ASSERT_TRUE(t.r.gso_received > 0 && t.r.gso_received < t.r.gso_sent);
	CU_ASSERT_EQUAL(net.g[1].res.gso_received + net.g[1].res.csum_partial_received, 0);
	CU_ASSERT_EQUAL(net.g[2].res.gso_received, 0);
	CU_ASSERT_EQUAL(bs->rx_dropped_other + bs->rx_dropped_full + bs->tx_dropped, 0);
	nh_net_down(&net);
	nh_world_down();
}

/* The smallest pools a frontend may have: sends meet -EAGAIN all the time
 * and go on at TX_READY; frames wait in netback for buffers. */
static void test_exchange_smallest_pools(void)
{
	struct nh_features f = nh_all_on;
	struct network_config w = {.seed = 12, .messages = 400, .pings = 40, .size_min = 60, .size_max = 65535,
				   .large_pct = 15, .offload = true, .window_bytes = 128u << 10};
	struct nh_net net;
	struct nh_totals t;
	uint64_t again = 0;

	f.fe.queues_max = 1;
	f.fe.tx_bufs = 19;
	f.fe.rx_bufs = 18;
	nh_world_up(3);
	nh_net_up(&net, 3, &f);
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	for (unsigned i = 0; i < 3; i++) {
		nh_guest_peek(&net.g[i]);
		again += net.g[i].res.send_again;
	}
	nh_backend_peek(&net.b);
	nh_totals(&net, &t);
	printf("  smallest pools: %llu frames verified, %llu sends told to wait, netback queue peak %llu KiB\n",
	       (unsigned long long)t.r.frames_verified, (unsigned long long)again,
	       (unsigned long long)(net.b.stats.rx_queued_bytes_peak >> 10));
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_TRUE(again > 0);
	CU_ASSERT_EQUAL(t.r.corrupt + t.r.duplicates + t.r.out_of_order + t.r.lost_bytes + nh_pings_lost(&t), 0);
	CU_ASSERT_EQUAL(net.b.stats.rx_dropped_full + net.b.stats.rx_dropped_stalled, 0);
	nh_net_down(&net);
	nh_world_down();
}

static int nt_open_fn(void *arg)
{
	struct nh_guest *g = arg;
	struct netfront *nf = NULL;
	int rc;

	g->cfg.base = sim_domain_event_base();
	rc = netfront_open(&g->cfg, &nf);
	netfront_close(nf);
	return rc;
}

/* Configurations that cannot work are refused up front. */
static void test_open_refuses_impossible_configs(void)
{
	struct nh_vif v;
	struct nh_guest g;

	nh_world_up(1);
	nh_vif_create(&v, 1, 0);
	nh_guest_init(&g, 1, &nh_all_on);
	g.cfg.rx_bufs = 17;   /* a frame may need 18 with scatter-gather */
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_open_fn, &g), -EINVAL);
	g.cfg.rx_bufs = 18;
	g.cfg.tx_bufs = 18;   /* the largest frame, packed, plus room */
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_open_fn, &g), -EINVAL);
	g.cfg.tx_bufs = 0;
	g.cfg.tx_slots_max = 17;   /* below what netif.h makes every backend take */
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_open_fn, &g), -EINVAL);
	g.cfg.tx_slots_max = 0;
	g.cfg.queues_max = 9;
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_open_fn, &g), -EINVAL);
	g.cfg.queues_max = 1;
	g.cfg.devid = 5;   /* no such device */
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_open_fn, &g), -ENOENT);
	nh_vif_remove(&v);
	nh_check_clean(1);
	nh_world_down();
}

/* ---- connection: what both ends negotiated ---- */

static void test_connect_all_on_negotiates_everything(void)
{
	const char *fe = "/local/domain/1/device/vif/0", *be = "/local/domain/0/backend/vif/1/0";
	struct nh_net net;

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_on);
	CU_ASSERT_EQUAL(nh_guest_peek(&net.g[0]), 0);
	const struct netfront_info *in = &net.g[0].info;
	CU_ASSERT_TRUE(in->connected && in->carrier);
	CU_ASSERT_EQUAL(in->queues, 4);
	CU_ASSERT_TRUE(in->split_evtchn && in->tx_sg && in->tx_gso_tcpv4 && in->tx_gso_tcpv6 && in->tx_ipv6_csum);
	CU_ASSERT_EQUAL(in->mac[5], 1);
	CU_ASSERT_EQUAL(net.g[0].stats.grant_pages, 4u * (2 + 256 + 256));
	CU_ASSERT_TRUE(nh_key_is(fe, "multi-queue-num-queues", "4"));
	CU_ASSERT_TRUE(nh_key_is(fe, "request-rx-copy", "1"));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-rx-notify", "1"));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-sg", "1"));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-gso-tcpv6", "1"));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-no-csum-offload", "0"));
	CU_ASSERT_TRUE(nh_key_is(fe, "tx-ring-ref", NULL));   /* moved under queue-N/ */
	CU_ASSERT_TRUE(nh_key_is(fe, "queue-3/event-channel", NULL));
	char *ref = xs_read(nh_xs, XBT_NULL, "/local/domain/1/device/vif/0/queue-3/event-channel-rx", &(unsigned){0});
	CU_ASSERT_PTR_NOT_NULL(ref);
	free(ref);
	CU_ASSERT_TRUE(nh_key_is(fe, "state", "4"));
	CU_ASSERT_TRUE(nh_key_is(be, "state", "4"));
	CU_ASSERT_TRUE(nh_key_is(be, "multi-queue-max-queues", "4"));
	CU_ASSERT_TRUE(nh_key_is(be, "feature-split-event-channels", "1"));
	CU_ASSERT_TRUE(nh_key_is(be, "feature-gso-tcpv4", "1"));
	CU_ASSERT_TRUE(nh_key_is(be, "feature-rx-copy", "1"));
	CU_ASSERT_TRUE(nh_key_is(be, "carrier", "1"));
	nh_net_down(&net);
	nh_world_down();
}

static void test_connect_all_off_negotiates_nothing(void)
{
	const char *fe = "/local/domain/1/device/vif/0", *be = "/local/domain/0/backend/vif/1/0";
	struct nh_net net;

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_off);
	CU_ASSERT_EQUAL(nh_guest_peek(&net.g[0]), 0);
	const struct netfront_info *in = &net.g[0].info;
	CU_ASSERT_EQUAL(in->queues, 1);
	CU_ASSERT_FALSE(in->split_evtchn || in->tx_sg || in->tx_gso_tcpv4 || in->tx_gso_tcpv6 || in->tx_ipv6_csum);
	CU_ASSERT_TRUE(nh_key_is(fe, "multi-queue-num-queues", NULL));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-rx-notify", "0"));
	CU_ASSERT_TRUE(nh_key_is(fe, "feature-no-csum-offload", "1"));
	CU_ASSERT_TRUE(nh_key_is(fe, "event-channel-tx", NULL));
	char *ref = xs_read(nh_xs, XBT_NULL, "/local/domain/1/device/vif/0/event-channel", &(unsigned){0});
	CU_ASSERT_PTR_NOT_NULL(ref);
	free(ref);
	CU_ASSERT_TRUE(nh_key_is(be, "multi-queue-max-queues", NULL));
	CU_ASSERT_TRUE(nh_key_is(be, "feature-sg", "0"));
	CU_ASSERT_TRUE(nh_key_is(be, "feature-split-event-channels", "0"));
	nh_net_down(&net);
	nh_world_down();
}

/* ---- backend restart in the middle of a run ---- */

struct nt_restart {
	struct nh_backend *b;
	uint64_t at;              /* frames guest 1 received when the backend stops */
	uint64_t seen, after;     /* guest 1's frames: in all, since it reconnected */
	struct netback_stats old;
};

/* On dom0's thread, while every guest has frames in flight: the backend goes
 * (every vif Closed, every mapping and port released). */
static void nt_restart_stop_fn(void *arg)
{
	struct nt_restart *r = arg;

	netback_stats(r->b->nb, &r->old);
	netback_stop(r->b->nb);
	r->b->nb = NULL;
}

static void nt_restart_rx(struct nh_guest *g, const struct netfront_rx *rx)
{
	struct nt_restart *r = g->user;

	(void)rx;
	if (++r->seen == r->at)
		sim_domain_post(0, nt_restart_stop_fn, r);
	r->after += g->connects >= 2;
}

static void nt_restart_run(const struct nh_features *f)
{
	struct network_config w = {.seed = 9, .messages = 1500, .pings = 200, .size_min = 60, .size_max = 65535,
				   .large_pct = 8, .offload = f->offload, .timeout_ms = 300};
	struct nh_net net;
	struct nh_totals t;
	struct nt_restart r = {.at = 1500};

	nh_world_up(3);
	nh_net_up(&net, 3, f);
	r.b = &net.b;
	nh_guest_hooks(&net.g[0], nt_restart_rx, NULL, &r);
	unsigned finished = nh_net_work_start(&net, &w);
	/* Every frontend sees its backend go, then a new one comes. */
	CU_ASSERT_TRUE_FATAL(nh_wait(nh_all(&net, NH_DISCONNECTED), NH_WAIT_MS));
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, nh_netback_start_fn, &net.b), 0);
	CU_ASSERT_TRUE(nh_wait(nh_all(&net, NH_CONNECTED), NH_WAIT_MS));
	CU_ASSERT_TRUE(nh_wait(finished, NH_WAIT_MS));
	for (unsigned i = 0; i < 3; i++)
		nh_guest_peek(&net.g[i]);
	nh_backend_peek(&net.b);
	nh_totals(&net, &t);
	/* r.old is from just before netback_stop: the frames queued then are
	 * dropped by the stop (counted in stats that go with the instance). */
	uint64_t explained = r.old.rx_dropped_down + r.old.rx_dropped_full + r.old.rx_dropped_stalled +
			     r.old.rx_dropped_other + r.old.rx_queued_frames + t.tx_lost +
			     net.b.sw_stats.dropped_noport;
	printf("  %s: restart after %llu frames: %llu verified, %llu after reconnecting; %llu bytes lost in %llu "
	       "holes, %llu pings timed out; frames lost at the restart: %llu queued in netback, %llu in flight "
	       "on tx rings\n",
	       f->name, (unsigned long long)r.at, (unsigned long long)t.r.frames_verified, (unsigned long long)r.after,
	       (unsigned long long)t.r.lost_bytes, (unsigned long long)t.r.gaps, (unsigned long long)t.r.ping_timeouts,
	       (unsigned long long)(r.old.rx_dropped_down + r.old.rx_dropped_full + r.old.rx_queued_frames),
	       (unsigned long long)t.tx_lost);
	for (unsigned i = 0; i < 3; i++) {
		CU_ASSERT_EQUAL(net.g[i].connects, 2);
		CU_ASSERT_EQUAL(net.g[i].stats.connects, 2);
		CU_ASSERT_STRING_EQUAL(net.g[i].error, "");
	}
	CU_ASSERT_TRUE(t.r.finished);
	CU_ASSERT_TRUE(r.after > 1000);   /* the stream resumed */
	CU_ASSERT_EQUAL(t.r.corrupt, 0);
	CU_ASSERT_EQUAL(t.r.duplicates, 0);
	CU_ASSERT_EQUAL(t.r.out_of_order, 0);
	/* Losses only where the restart allows them: each is a frame counted. */
	CU_ASSERT_TRUE(t.r.gaps + t.r.ping_timeouts <= explained);
	CU_ASSERT_TRUE(t.r.lost_bytes == 0 || explained > 0);
	CU_ASSERT_EQUAL(net.b.stats.fatal + r.old.fatal, 0);
	nh_net_down(&net);
	nh_world_down();
}

static void test_backend_restart_all_on(void)
{
	nt_restart_run(&nh_all_on);
}

static void test_backend_restart_all_off(void)
{
	nt_restart_run(&nh_all_off);
}

/* One minimal frame from g to the other guest (0 <-> 1). */
static int nt_send_one_fn(void *arg)
{
	struct nh_guest *g = arg;
	uint8_t frame[60] = {0};
	struct iovec iov = {.iov_base = frame, .iov_len = sizeof(frame)};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};

	network_addr(g->index ? 0 : 1, frame, NULL, NULL);
	network_addr(g->index, frame + 6, NULL, NULL);
	return netfront_send(g->nf, &tx);
}

/* ---- a guest that stops posting rx buffers ---- */

#define NT_SIG_FLOODED (1u << 28)
#define NT_SIG_RELEASE (1u << 29)

struct nt_flood {
	struct nh_guest *g;
	unsigned total, sent;
	uint8_t frame[1514];
};

static void nt_flood_pump(struct nt_flood *f)
{
	struct iovec iov = {.iov_base = f->frame, .iov_len = sizeof(f->frame)};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};
	int rc = 0;

	while (f->sent < f->total && (rc = netfront_send(f->g->nf, &tx)) == 0)
		f->sent++;
	if (rc != -EAGAIN)
		nh_raise(NT_SIG_FLOODED);
}

static void nt_flood_event(struct nh_guest *g, enum netfront_event ev)
{
	if (ev == NETFRONT_EV_TX_READY)
		nt_flood_pump(g->user);
}

struct nt_flood_more {
	struct nt_flood *f;
	unsigned frames;
};

/* On the flooding guest's thread: more frames to send, and go. */
static int nt_flood_more_fn(void *arg)
{
	struct nt_flood_more *m = arg;

	m->f->total += m->frames;
	nt_flood_pump(m->f);
	return 0;
}

/* A stuck guest: its domain thread does nothing until released (bounded). */
static void nt_block_fn(void *arg)
{
	(void)arg;
	nh_wait(NT_SIG_RELEASE, 30000);
}

static void nt_flood(struct nt_flood *f, unsigned frames)
{
	struct nt_flood_more m = {.f = f, .frames = frames};

	sim_domain_call(f->g->domid, nt_flood_more_fn, &m);
	CU_ASSERT_TRUE(nh_wait(NT_SIG_FLOODED, NH_WAIT_MS));
}

static void test_stalled_guest_costs_bounded_memory(void)
{
	struct nh_features f = nh_all_on;
	struct network_config w = {.seed = 3, .messages = 100, .pings = 20, .size_min = 60, .size_max = 65535,
				   .large_pct = 10, .offload = true};
	struct nh_net net;
	struct nt_flood fl = {.total = 0};

	f.be.rx_stall_ms = 200;
	f.be.rx_queue_frames_max = 512;
	f.be.rx_queue_bytes_max = 1u << 20;
	nh_world_up(3);
	nh_net_up(&net, 3, &f);
	/* Guest 1 floods guest 3 with raw frames no flow control holds back. */
	fl.g = &net.g[0];
	network_addr(2, fl.frame, NULL, NULL);
	network_addr(0, fl.frame + 6, NULL, NULL);
	fl.frame[12] = 0x88, fl.frame[13] = 0xB5;
	nh_guest_hooks(&net.g[0], NULL, nt_flood_event, &fl);
	/* The switch learns where guest 3 is: what is for it goes to it alone. */
	CU_ASSERT_EQUAL(sim_domain_call(3, nt_send_one_fn, &net.g[2]), 0);
	for (unsigned i = 0; i < 100 && net.b.sw_stats.macs == 0; i++) {
		struct timespec ts = {.tv_nsec = 10 * 1000000L};
		nanosleep(&ts, NULL);
		nh_backend_peek(&net.b);
	}
	CU_ASSERT_EQUAL_FATAL(net.b.sw_stats.macs, 1);
	sim_domain_post(3, nt_block_fn, NULL);
	nt_flood(&fl, 20000);
	/* The queue towards guest 3 fills to its bound, then the stall empties it. */
	for (unsigned i = 0; i < 100 && net.b.stats.rx_stalls == 0; i++) {
		struct timespec ts = {.tv_nsec = 50 * 1000000L};
		nanosleep(&ts, NULL);
		nh_backend_peek(&net.b);
	}
	uint64_t peak = net.b.stats.rx_queued_bytes_peak;
	CU_ASSERT_EQUAL(net.b.stats.rx_stalls, 1);
	CU_ASSERT_EQUAL(net.b.stats.rx_queued_bytes, 0);
	nt_flood(&fl, 20000);   /* while stalled: refused at once, nothing queued */
	/* The flood is on guest 1's ring; wait (bounded) until netback took it all. */
	for (unsigned i = 0; i < 200; i++) {
		nh_backend_peek(&net.b);
		const struct netback_stats *s = &net.b.stats;
		if (s->rx_packets + s->rx_dropped_full + s->rx_dropped_stalled >= 40000 + 2)
			break;
		struct timespec ts = {.tv_nsec = 10 * 1000000L};
		nanosleep(&ts, NULL);
	}
	const struct netback_stats *bs = &net.b.stats;
	printf("  stuck guest: %u frames sent at it, %llu delivered before it stopped, %llu dropped at the queue "
	       "bound, %llu dropped stalled; queue peak %llu KiB (bound %u KiB per queue)\n",
	       fl.sent, (unsigned long long)bs->rx_packets, (unsigned long long)bs->rx_dropped_full,
	       (unsigned long long)bs->rx_dropped_stalled, (unsigned long long)(peak >> 10), f.be.rx_queue_bytes_max >> 10);
	CU_ASSERT_EQUAL(fl.sent, 40000);
	CU_ASSERT_TRUE(peak <= f.be.rx_queue_bytes_max);
	CU_ASSERT_EQUAL(bs->rx_queued_bytes_peak, peak);   /* no growth while stalled */
	CU_ASSERT_TRUE(bs->rx_dropped_stalled >= 20000);
	/* Every frame is accounted for: the flood, and guest 3's first frame,
	 * flooded to both others since nobody knew guest 1 then. */
	CU_ASSERT_EQUAL(bs->rx_packets + bs->rx_dropped_full + bs->rx_dropped_stalled, 40000 + 2);
	CU_ASSERT_TRUE(bs->rx_packets <= 2 + NETFRONT_RING_SIZE_PUBLIC);
	/* Released, the guest takes what it has and posts buffers again. */
	nh_raise(NT_SIG_RELEASE);
	nh_guest_hooks(&net.g[0], NULL, NULL, NULL);
	for (unsigned i = 0; i < 500 && net.b.stats.rx_unstalls == 0; i++) {
		struct timespec ts = {.tv_nsec = 10 * 1000000L};
		nanosleep(&ts, NULL);
		nh_backend_peek(&net.b);
	}
	CU_ASSERT_EQUAL(net.b.stats.rx_unstalls, 1);
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	for (unsigned i = 0; i < 3; i++) {
		nh_guest_peek(&net.g[i]);
		CU_ASSERT_EQUAL(net.g[i].res.corrupt + net.g[i].res.lost_bytes, 0);
		CU_ASSERT_EQUAL(net.g[i].res.pings_ok + net.g[i].res.pings_late, 40);   /* late: answered after a timeout */
	}
	nh_net_down(&net);
	nh_world_down();
}

/* ---- carrier, reopen, destroy ---- */

#define NT_SIG_CARRIER (1u << 27)

static void nt_carrier_event(struct nh_guest *g, enum netfront_event ev)
{
	(void)g;
	if (ev == NETFRONT_EV_CARRIER)
		nh_raise(NT_SIG_CARRIER);
}

struct nt_carrier {
	domid_t vif_of;
	bool up;
};

static int nt_carrier_fn(void *arg)
{
	struct nt_carrier *c = arg;

	return nh_vifs[c->vif_of] ? netback_vif_carrier(nh_vifs[c->vif_of], c->up) : -ENODEV;
}

static void test_carrier_down_drops_and_comes_back(void)
{
	struct network_config w = {.seed = 4, .messages = 100, .pings = 20, .size_min = 60, .size_max = 20000,
				   .large_pct = 10, .offload = true};
	struct nh_net net;
	struct nt_carrier c = {.vif_of = 2, .up = false};

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_on);
	nh_guest_hooks(&net.g[1], NULL, nt_carrier_event, NULL);
	CU_ASSERT_EQUAL(sim_domain_call(0, nt_carrier_fn, &c), 0);
	CU_ASSERT_TRUE(nh_wait(NT_SIG_CARRIER, NH_WAIT_MS));
	nh_guest_peek(&net.g[1]);
	CU_ASSERT_FALSE(net.g[1].info.carrier);
	CU_ASSERT_TRUE(nh_key_is("/local/domain/0/backend/vif/2/0", "carrier", "0"));
	CU_ASSERT_EQUAL(sim_domain_call(2, nt_send_one_fn, &net.g[1]), -ENETDOWN);
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_send_one_fn, &net.g[0]), 0);   /* towards guest 2: dropped */
	for (unsigned i = 0; i < 500 && net.b.stats.rx_dropped_down == 0; i++) {
		struct timespec ts = {.tv_nsec = 10 * 1000000L};
		nanosleep(&ts, NULL);
		nh_backend_peek(&net.b);
	}
	CU_ASSERT_EQUAL(net.b.stats.rx_dropped_down, 1);
	c.up = true;
	CU_ASSERT_EQUAL(sim_domain_call(0, nt_carrier_fn, &c), 0);
	CU_ASSERT_TRUE(nh_wait(NT_SIG_CARRIER, NH_WAIT_MS));
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	nh_guest_peek(&net.g[1]);
	CU_ASSERT_TRUE(net.g[1].info.carrier);
	CU_ASSERT_EQUAL(net.g[1].res.corrupt + net.g[1].res.lost_bytes, 0);
	nh_net_down(&net);
	nh_world_down();
}

static void test_frontend_reopen_reconnects(void)
{
	struct network_config w = {.seed = 6, .messages = 200, .pings = 20, .size_min = 60, .size_max = 65535,
				   .large_pct = 10, .offload = true};
	struct nh_net net;

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_on);
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	nh_guest_close(&net.g[0]);
	CU_ASSERT_TRUE(nh_key_is("/local/domain/1/device/vif/0", "state", "6"));
	/* A new instance, as after a guest driver reload, and a new run. */
	nh_guest_close(&net.g[1]);
	for (unsigned i = 0; i < 2; i++) {
		nh_guest_init(&net.g[i], (domid_t)(i + 1), &nh_all_on);
		nh_guest_open(&net.g[i]);
	}
	CU_ASSERT_TRUE_FATAL(nh_wait(nh_all(&net, NH_CONNECTED), NH_WAIT_MS));
	w.seed = 7;
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	for (unsigned i = 0; i < 2; i++) {
		nh_guest_peek(&net.g[i]);
		CU_ASSERT_EQUAL(net.g[i].res.corrupt + net.g[i].res.lost_bytes, 0);
		CU_ASSERT_EQUAL(net.g[i].res.pings_ok + net.g[i].res.pings_late, 20);   /* late: answered after a timeout */
	}
	nh_net_down(&net);
	nh_world_down();
}

/* What a crashed instance leaves: Connected, with rings nobody serves. A new
 * instance closes first, so the backend lets go, then connects afresh. */
static void test_frontend_stale_state_is_reset_first(void)
{
	const char *fe = "/local/domain/1/device/vif/0";
	struct network_config w = {.seed = 8, .messages = 100, .pings = 10, .size_min = 60, .size_max = 30000,
				   .large_pct = 10, .offload = true};
	struct nh_net net;

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_on);
	nh_guest_close(&net.g[0]);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, fe, "state", "4"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(nh_xs, XBT_NULL, fe, "queue-0/tx-ring-ref", "9999"), 0);
	nh_guest_init(&net.g[0], 1, &nh_all_on);
	nh_guest_open(&net.g[0]);
	CU_ASSERT_TRUE_FATAL(nh_wait(nh_bit(0, NH_CONNECTED), NH_WAIT_MS));
	char *ref = xs_read(nh_xs, XBT_NULL, "/local/domain/1/device/vif/0/queue-0/tx-ring-ref", &(unsigned){0});
	CU_ASSERT_TRUE(ref && strcmp(ref, "9999") != 0);   /* fresh rings, fresh keys */
	free(ref);
	CU_ASSERT_TRUE(nh_net_work(&net, &w));
	nh_guest_peek(&net.g[0]);
	CU_ASSERT_EQUAL(net.g[0].res.corrupt + net.g[0].res.lost_bytes, 0);
	nh_net_down(&net);
	nh_world_down();
}

struct nt_destroy {
	struct xenbus *xb;
	struct xenbus_device dev;
	int rc;
};

static void nt_destroy_done(void *arg, int rc)
{
	((struct nt_destroy *)arg)->rc = rc;
	nh_raise(1u << 30);
}

static int nt_destroy_fn(void *arg)
{
	struct nt_destroy *d = arg;
	int rc = xenbus_open(sim_domain_event_base(), &d->xb);

	return rc ? rc : xenbus_device_destroy(d->xb, &d->dev, 10000, nt_destroy_done, d);
}

static int nt_destroy_close_fn(void *arg)
{
	xenbus_close(((struct nt_destroy *)arg)->xb);
	return 0;
}

/* The toolstack's orderly removal: online=0, both ends close, nodes go. */
static void test_device_destroy_closes_both_ends(void)
{
	struct nh_net net;
	struct nt_destroy d = {.rc = 1};

	nh_world_up(2);
	nh_net_up(&net, 2, &nh_all_on);
	d.dev = net.vifs[0].dev;
	d.dev.fe_keys = d.dev.be_keys = NULL;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, nt_destroy_fn, &d), 0);
	CU_ASSERT_TRUE(nh_wait(1u << 30, NH_WAIT_MS));
	CU_ASSERT_EQUAL(d.rc, 0);   /* the backend reached Closed: no forced removal */
	CU_ASSERT_TRUE(nh_wait(nh_bit(0, NH_FAILED), NH_WAIT_MS));   /* the guest saw the device go */
	sim_domain_call(0, nt_destroy_close_fn, &d);
	nh_guest_peek(&net.g[0]);
	CU_ASSERT_PTR_NOT_NULL(strstr(net.g[0].error, "device removed"));
	CU_ASSERT_EQUAL(sim_domain_call(1, nt_send_one_fn, &net.g[0]), -EIO);
	nh_guest_close(&net.g[0]);
	nh_guest_close(&net.g[1]);
	nh_backend_stop(&net.b);
	nh_vif_remove(&net.vifs[1]);
	nh_check_clean(2);
	nh_world_down();
}

static int nt_suite_fini(void)
{
	nh_world_down();
	return 0;
}

static const struct test_case nt_exchange_cases[] = {
	TEST(test_exchange_all_on_small),
	TEST(test_exchange_all_off_small),
	TEST(test_exchange_all_on_100k),
	TEST(test_exchange_all_off_100k),
	TEST(test_exchange_mixed_features_cut_and_complete),
	TEST(test_exchange_smallest_pools),
	TEST_END,
};

static const struct test_case nt_connect_cases[] = {
	TEST(test_connect_all_on_negotiates_everything),
	TEST(test_connect_all_off_negotiates_nothing),
	TEST(test_open_refuses_impossible_configs),
	TEST_END,
};

static const struct test_case nt_lifecycle_cases[] = {
	TEST(test_backend_restart_all_on),
	TEST(test_backend_restart_all_off),
	TEST(test_stalled_guest_costs_bounded_memory),
	TEST(test_carrier_down_drops_and_comes_back),
	TEST(test_frontend_reopen_reconnects),
	TEST(test_frontend_stale_state_is_reset_first),
	TEST(test_device_destroy_closes_both_ends),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("net_exchange", NULL, nt_suite_fini, nt_exchange_cases);
	test_add_suite("net_connect", NULL, nt_suite_fini, nt_connect_cases);
	test_add_suite("net_lifecycle", NULL, nt_suite_fini, nt_lifecycle_cases);
}
