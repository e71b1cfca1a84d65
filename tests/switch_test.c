/*
 * Suites for sim/switch: learning and forwarding, each fault site, the
 * delay queue's bound, and replay by seed. Everything runs in deterministic
 * mode on dom0's thread; test ports record what reaches them. Frames carry
 * a sequence number in their payload so that order and copies show.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <event2/event.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/switch/switch.h"
#include "tests/test.h"

#define ST_PORTS 4u
#define ST_LOG_MAX 4096u

struct st_rx {
	unsigned port;        /* the test's index */
	uint32_t seq;
	uint64_t at_ns;
};

static struct {
	struct net_switch *sw;
	struct switch_config cfg;
	unsigned ids[ST_PORTS];
	struct st_rx log[ST_LOG_MAX];
	unsigned nlog;
	uint64_t hash;
} st;

static void st_deliver(void *arg, struct netpkt *pkt)
{
	unsigned port = (unsigned)(uintptr_t)arg;
	uint32_t seq;

	memcpy(&seq, pkt->np_data + NETPKT_ETH_HLEN, sizeof(seq));
	if (st.nlog < ST_LOG_MAX)
		st.log[st.nlog++] = (struct st_rx){.port = port, .seq = seq, .at_ns = sim_now_ns()};
	st.hash = (st.hash ^ (seq * 31u + port)) * 1099511628211ull;
	netpkt_free(pkt);
}

static void st_mac(unsigned port, uint8_t *mac)
{
	static const uint8_t base[6] = {0x02, 0xAA, 0, 0, 0, 0};

	memcpy(mac, base, 6);
	mac[5] = (uint8_t)(port + 1);
}

static int st_create_fn(void *arg)
{
	int rc;

	(void)arg;
	st.cfg.base = sim_domain_event_base();
	rc = switch_create(&st.cfg, &st.sw);
	for (unsigned i = 0; rc == 0 && i < ST_PORTS; i++)
		rc = switch_port_add(st.sw, st_deliver, (void *)(uintptr_t)i, &st.ids[i]);
	return rc;
}

static int st_destroy_fn(void *arg)
{
	(void)arg;
	switch_check(st.sw);
	switch_destroy(st.sw);
	st.sw = NULL;
	return 0;
}

struct st_send {
	unsigned from;
	int to;               /* a port, or -1 for broadcast */
	uint32_t seq;
};

static int st_send_fn(void *arg)
{
	struct st_send *s = arg;
	struct netpkt *p = netpkt_alloc(64);

	memset(p->np_data, 0, 64);
	if (s->to < 0)
		memset(p->np_data, 0xFF, 6);
	else
		st_mac((unsigned)s->to, p->np_data);
	st_mac(s->from, p->np_data + 6);
	memcpy(p->np_data + NETPKT_ETH_HLEN, &s->seq, sizeof(s->seq));
	switch_input(st.sw, st.ids[s->from], p);
	switch_check(st.sw);
	return 0;
}

static void st_send(unsigned from, int to, uint32_t seq)
{
	struct st_send s = {.from = from, .to = to, .seq = seq};

	CU_ASSERT_EQUAL(sim_domain_call(0, st_send_fn, &s), 0);
}

static int st_stats_fn(void *arg)
{
	switch_stats(st.sw, arg);
	return 0;
}

static struct switch_stats st_stats(void)
{
	struct switch_stats s;

	sim_domain_call(0, st_stats_fn, &s);
	return s;
}

static void st_up(uint64_t seed, const struct switch_config *cfg)
{
	struct sim_sched_config sc = {.mode = SIM_MODE_DET, .policy = SIM_POLICY_RANDOM, .seed = seed};

	sim_reset();
	sim_fault_site_disarm_all();
	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&sc), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0,
									    .privileged = true}), 0);
	memset(&st, 0, sizeof(st));
	if (cfg)
		st.cfg = *cfg;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, st_create_fn, NULL), 0);
}

static void st_down(void)
{
	sim_domain_call(0, st_destroy_fn, NULL);
	sim_fault_site_disarm_all();
	sim_reset();
}

/* Let timers run: virtual time moves to each deadline. */
static void st_settle(void)
{
	sim_run(NULL, NULL, sim_now_ns() + 100ull * 1000000u, 0);
}

static unsigned st_count(unsigned port, uint32_t seq)
{
	unsigned n = 0;

	for (unsigned i = 0; i < st.nlog; i++)
		n += st.log[i].port == port && st.log[i].seq == seq;
	return n;
}

static void st_arm(const char *site, int64_t after, int64_t repeat)
{
	struct sim_fault_site *f = sim_fault_site_find(site);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(sim_fault_site_arm(f, after, repeat), 0);
}

/* ---- learning ---- */

static void learn_unknown_floods_known_goes_to_one_port(void)
{
	st_up(1, NULL);
	st_send(0, 1, 1);   /* nobody known: everyone else */
	CU_ASSERT_EQUAL(st.nlog, 3);
	CU_ASSERT_TRUE(st_count(1, 1) && st_count(2, 1) && st_count(3, 1));
	st_send(1, 0, 2);   /* port 0 was learnt from frame 1 */
	CU_ASSERT_EQUAL(st.nlog, 4);
	CU_ASSERT_EQUAL(st_count(0, 2), 1);
	st_send(0, 1, 3);   /* and port 1 from frame 2 */
	CU_ASSERT_EQUAL(st.nlog, 5);
	CU_ASSERT_EQUAL(st_count(1, 3), 1);
	st_send(2, -1, 4);  /* broadcast */
	CU_ASSERT_EQUAL(st_count(0, 4) + st_count(1, 4) + st_count(3, 4), 3);
	CU_ASSERT_EQUAL(st_count(2, 4), 0);
	struct switch_stats s = st_stats();
	CU_ASSERT_EQUAL(s.macs, 3);
	CU_ASSERT_EQUAL(s.flooded, 2);
	CU_ASSERT_EQUAL(s.frames_in, 4);
	CU_ASSERT_EQUAL(s.frames_out, 8);
	st_down();
}

/* Many stations behind each port: the MAC index finds each on its port,
 * and forgets exactly those of a removed port. */
#define ST_STATIONS 1000u

static void st_station(unsigned i, uint8_t *mac)
{
	mac[0] = 0x02, mac[1] = 0xBB, mac[2] = (uint8_t)(i * 7u), mac[3] = 0, mac[4] = (uint8_t)(i >> 8),
	mac[5] = (uint8_t)i;
}

struct st_many {
	unsigned unicast_ok, misrouted;
};

static void st_send_raw(unsigned from, const uint8_t *dst, const uint8_t *src, uint32_t seq)
{
	struct netpkt *p = netpkt_alloc(64);

	memset(p->np_data, 0, 64);
	memcpy(p->np_data, dst, 6);
	memcpy(p->np_data + 6, src, 6);
	memcpy(p->np_data + NETPKT_ETH_HLEN, &seq, sizeof(seq));
	switch_input(st.sw, st.ids[from], p);
}

static int st_many_fn(void *arg)
{
	struct st_many *m = arg;
	uint8_t mac[6], other[6] = {0x02, 0xCC, 0, 0, 0, 1};

	for (unsigned i = 0; i < ST_STATIONS; i++) {   /* station i talks from port i % 4 */
		st_station(i, mac);
		st_send_raw(i % ST_PORTS, other, mac, 0);
	}
	switch_check(st.sw);
	for (unsigned i = 0; i < ST_STATIONS; i++) {
		unsigned before = st.nlog;
		st_station(i, mac);
		st_send_raw((i + 1) % ST_PORTS, mac, other, i + 1);
		bool one = st.nlog == before + 1;
		m->unicast_ok += one && st.log[before].port == i % ST_PORTS;
		m->misrouted += !one || st.log[before].port != i % ST_PORTS;
	}
	switch_port_remove(st.sw, st.ids[ST_PORTS - 1]);
	switch_check(st.sw);
	return 0;
}

static void learn_many_stations_each_on_its_port(void)
{
	struct st_many m = {0};

	st_up(1, NULL);
	CU_ASSERT_EQUAL(sim_domain_call(0, st_many_fn, &m), 0);
	CU_ASSERT_EQUAL(m.misrouted, 0);
	CU_ASSERT_EQUAL(m.unicast_ok, ST_STATIONS);
	/* 1000 stations and `other` (learnt on ports 1..3 and 0 in turn);
	 * port 3's 250 stations are gone, `other` last spoke from port 0. */
	CU_ASSERT_EQUAL(st_stats().macs, ST_STATIONS + 1 - ST_STATIONS / ST_PORTS);
	st_down();
}

static void learn_never_back_out_of_the_input_port(void)
{
	st_up(1, NULL);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st.nlog = 0;
	st_send(1, 1, 3);   /* to itself: the MAC lives on the input port */
	CU_ASSERT_EQUAL(st.nlog, 0);
	CU_ASSERT_EQUAL(st_stats().dropped_hairpin, 1);
	st_down();
}

static int st_remove_fn(void *arg)
{
	switch_port_remove(st.sw, st.ids[*(unsigned *)arg]);
	return 0;
}

static void learn_removed_port_forgotten(void)
{
	unsigned gone = 1;

	st_up(1, NULL);
	st_send(1, 0, 1);
	CU_ASSERT_EQUAL(st_stats().macs, 1);
	sim_domain_call(0, st_remove_fn, &gone);
	CU_ASSERT_EQUAL(st_stats().macs, 0);
	CU_ASSERT_EQUAL(st_stats().ports, 3);
	st.nlog = 0;
	st_send(0, 1, 2);   /* unknown again: flooded to the two left */
	CU_ASSERT_EQUAL(st.nlog, 2);
	CU_ASSERT_EQUAL(st_count(1, 2), 0);
	st_send(1, 0, 3);   /* from the port that is gone: dropped */
	CU_ASSERT_EQUAL(st_count(0, 3), 0);
	CU_ASSERT_EQUAL(st_stats().dropped_noport, 1);
	st_down();
}

/* ---- faults ---- */

static void fault_loss_drops_one_copy(void)
{
	st_up(1, NULL);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st_arm("switch.loss", 1, 0);   /* the second occurrence from now */
	for (uint32_t seq = 10; seq < 14; seq++)
		st_send(0, 1, seq);
	CU_ASSERT_EQUAL(st_count(1, 10) + st_count(1, 12) + st_count(1, 13), 3);
	CU_ASSERT_EQUAL(st_count(1, 11), 0);
	CU_ASSERT_EQUAL(st_stats().dropped_loss, 1);
	st_down();
}

static void fault_dup_delivers_twice(void)
{
	st_up(1, NULL);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st_arm("switch.dup", 0, 0);
	st_send(0, 1, 3);
	st_send(0, 1, 4);
	CU_ASSERT_EQUAL(st_count(1, 3), 2);
	CU_ASSERT_EQUAL(st_count(1, 4), 1);
	CU_ASSERT_EQUAL(st_stats().duplicated, 1);
	st_down();
}

static void fault_reorder_swaps_with_the_next(void)
{
	st_up(1, NULL);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st.nlog = 0;
	st_arm("switch.reorder", 0, 0);
	st_send(0, 1, 3);
	CU_ASSERT_EQUAL(st.nlog, 0);   /* held */
	st_send(0, 1, 4);
	CU_ASSERT_EQUAL_FATAL(st.nlog, 2);
	CU_ASSERT_EQUAL(st.log[0].seq, 4);
	CU_ASSERT_EQUAL(st.log[1].seq, 3);
	/* Held with nothing behind it: out after reorder_hold_us anyway. */
	st_arm("switch.reorder", 0, 0);
	uint64_t t0 = sim_now_ns();
	st_send(0, 1, 5);
	st_settle();
	CU_ASSERT_EQUAL_FATAL(st.nlog, 3);
	CU_ASSERT_EQUAL(st.log[2].seq, 5);
	CU_ASSERT_TRUE(st.log[2].at_ns >= t0 + SWITCH_REORDER_HOLD_US_DEFAULT * 1000ull);
	CU_ASSERT_EQUAL(st_stats().reordered, 2);
	st_down();
}

static void fault_delay_holds_and_keeps_order(void)
{
	struct switch_config c = {.delay_us_min = 3000, .delay_us_max = 3000};

	st_up(1, &c);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st.nlog = 0;
	st_arm("switch.delay", 0, 0);
	uint64_t t0 = sim_now_ns();
	st_send(0, 1, 3);   /* delayed */
	st_send(0, 1, 4);   /* behind it, not past it */
	CU_ASSERT_EQUAL(st.nlog, 0);
	CU_ASSERT_EQUAL(st_stats().queued, 2);
	st_settle();
	CU_ASSERT_EQUAL_FATAL(st.nlog, 2);
	CU_ASSERT_EQUAL(st.log[0].seq, 3);
	CU_ASSERT_EQUAL(st.log[1].seq, 4);
	CU_ASSERT_TRUE(st.log[0].at_ns >= t0 + 3000000u);
	CU_ASSERT_EQUAL(st_stats().queued, 0);
	st_down();
}

static void fault_delay_queue_bounded(void)
{
	struct switch_config c = {.delay_us_min = 1000, .delay_us_max = 1000, .queue_frames_max = 4};

	st_up(1, &c);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st.nlog = 0;
	st_arm("switch.delay", 0, 0);
	for (uint32_t seq = 10; seq < 20; seq++)
		st_send(0, 1, seq);
	CU_ASSERT_EQUAL(st_stats().queued, 4);
	CU_ASSERT_EQUAL(st_stats().dropped_queue, 6);
	st_settle();
	CU_ASSERT_EQUAL(st.nlog, 4);
	st_down();
}

static void fault_port_removed_with_frames_waiting(void)
{
	struct switch_config c = {.delay_us_min = 1000, .delay_us_max = 1000};
	unsigned gone = 1;

	st_up(1, &c);
	st_send(0, 1, 1);
	st_send(1, 0, 2);
	st_arm("switch.delay", 0, 0);
	st_send(0, 1, 3);
	st_send(0, 1, 4);
	sim_domain_call(0, st_remove_fn, &gone);
	st_settle();
	CU_ASSERT_EQUAL(st_count(1, 3) + st_count(1, 4), 0);
	CU_ASSERT_EQUAL(st_stats().dropped_noport, 2);
	st_down();
}

/* ---- replay ---- */

static uint64_t st_mixed_run(uint64_t seed, unsigned *delivered)
{
	static const char *const sites[] = {"switch.loss", "switch.dup", "switch.reorder", "switch.delay"};
	uint64_t hash;

	st_up(seed, NULL);
	for (unsigned i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(sim_fault_site_arm_prob(sim_fault_site_find(sites[i]), 150000), 0);
	for (uint32_t seq = 0; seq < 400; seq++) {
		st_send(seq % ST_PORTS, (int)((seq * 7 + 1) % ST_PORTS), seq);
		if (seq % 8 == 7)
			st_settle();   /* time passes: delayed frames go out */
	}
	st_settle();
	struct switch_stats s = st_stats();
	if (!(s.dropped_loss > 0 && s.duplicated > 0 && s.reordered > 0 && s.delayed > 0))
		printf("\n    seed %llu: %llu lost, %llu duplicated, %llu reordered, %llu delayed", (unsigned long long)seed,
		       (unsigned long long)s.dropped_loss, (unsigned long long)s.duplicated,
		       (unsigned long long)s.reordered, (unsigned long long)s.delayed);
	CU_ASSERT_TRUE(s.dropped_loss > 0 && s.duplicated > 0 && s.reordered > 0 && s.delayed > 0);
	CU_ASSERT_EQUAL(s.queued, 0);
	*delivered = st.nlog;
	hash = st.hash;
	st_down();
	return hash;
}

static void replay_same_seed_same_deliveries(void)
{
	unsigned n1, n2, n3;
	uint64_t a = st_mixed_run(77, &n1);
	uint64_t b = st_mixed_run(77, &n2);
	uint64_t c = st_mixed_run(78, &n3);

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_EQUAL(n1, n2);
	CU_ASSERT_NOT_EQUAL(a, c);
}

static int st_fini(void)
{
	sim_fault_site_disarm_all();
	sim_reset();
	return 0;
}

void test_register(void)
{
	static const struct test_case learn[] = {
		TEST(learn_unknown_floods_known_goes_to_one_port),
		TEST(learn_never_back_out_of_the_input_port),
		TEST(learn_removed_port_forgotten),
		TEST(learn_many_stations_each_on_its_port),
		TEST_END,
	};
	static const struct test_case faults[] = {
		TEST(fault_loss_drops_one_copy),
		TEST(fault_dup_delivers_twice),
		TEST(fault_reorder_swaps_with_the_next),
		TEST(fault_delay_holds_and_keeps_order),
		TEST(fault_delay_queue_bounded),
		TEST(fault_port_removed_with_frames_waiting),
		TEST_END,
	};
	static const struct test_case replay[] = {
		TEST(replay_same_seed_same_deliveries),
		TEST_END,
	};
	test_add_suite("switch_learning", NULL, st_fini, learn);
	test_add_suite("switch_faults", NULL, st_fini, faults);
	test_add_suite("switch_replay", NULL, st_fini, replay);
}
