/*
 * The whole network stack under the deterministic scheduler: three guests on
 * a switch whose fault sites lose, duplicate, reorder and delay frames. The
 * oracle is the workload's, held against what the switch and netback say
 * they did: every frame intact; duplicates only as many as the switch made;
 * out-of-order arrivals only as many as it reordered; holes only as many as
 * frames were dropped somewhere. And the same seed replays the same run.
 */
#include <stdio.h>
#include <string.h>

#include "tests/net_harness.h"

struct nd_outcome {
	uint64_t trace_hash, vt_ns;
	struct nh_totals t;
	struct switch_stats sw;
	struct netback_stats nb;
	bool finished;
};

static void nd_arm(uint32_t ppm)
{
	static const char *const sites[] = {"switch.loss", "switch.dup", "switch.reorder", "switch.delay"};

	for (unsigned i = 0; ppm && i < 4; i++)
		CU_ASSERT_EQUAL(sim_fault_site_arm_prob(sim_fault_site_find(sites[i]), ppm), 0);
}

static struct nd_outcome nd_run(const struct nh_features *f, uint64_t seed, uint32_t fault_ppm)
{
	struct sim_sched_config sc = {.mode = SIM_MODE_DET, .policy = SIM_POLICY_RANDOM, .seed = seed};
	struct network_config w = {.seed = seed, .messages = 300, .pings = 40, .size_min = 60, .size_max = 65535,
				   .large_pct = 8, .offload = f->offload, .timeout_ms = 200};
	struct nd_outcome o = {0};
	struct nh_net net;

	nh_world_up_mode(3, &sc);
	nh_net_up(&net, 3, f);
	nd_arm(fault_ppm);
	o.finished = nh_net_work(&net, &w);
	sim_fault_site_disarm_all();
	for (unsigned i = 0; i < 3; i++)
		nh_guest_peek(&net.g[i]);
	nh_backend_peek(&net.b);
	nh_totals(&net, &o.t);
	o.sw = net.b.sw_stats;
	o.nb = net.b.stats;
	o.vt_ns = sim_now_ns();
	o.trace_hash = sim_trace_hash();
	nh_net_down(&net);
	nh_world_down();
	return o;
}

static void nd_oracle(const char *what, const struct nd_outcome *o)
{
	const struct nh_totals *t = &o->t;
	uint64_t drops = o->sw.dropped_loss + o->sw.dropped_queue + o->sw.dropped_noport + o->nb.rx_dropped_full +
			 o->nb.rx_dropped_stalled + o->nb.rx_dropped_other + o->nb.rx_dropped_down;

	printf("  %s: %llu frames verified in %.3f virtual s; switch: %llu lost, %llu duplicated, %llu reordered, "
	       "%llu delayed; guests saw %llu duplicates, %llu out of order, %llu holes (%llu bytes), %llu ping "
	       "timeouts\n",
	       what, (unsigned long long)t->verified, (double)(o->vt_ns - 1000000000ull) / 1e9,
	       (unsigned long long)o->sw.dropped_loss, (unsigned long long)o->sw.duplicated,
	       (unsigned long long)o->sw.reordered, (unsigned long long)o->sw.delayed,
	       (unsigned long long)t->duplicates, (unsigned long long)t->out_of_order, (unsigned long long)t->gaps,
	       (unsigned long long)t->lost_bytes, (unsigned long long)t->ping_timeouts);
	CU_ASSERT_TRUE(o->finished && t->finished);
	CU_ASSERT_TRUE(t->verified > 1000);
	CU_ASSERT_EQUAL(t->corrupt, 0);
	CU_ASSERT_TRUE(t->duplicates <= o->sw.duplicated);
	CU_ASSERT_TRUE(t->out_of_order <= o->sw.reordered);
	CU_ASSERT_TRUE(t->gaps <= drops);
	CU_ASSERT_TRUE(t->lost_bytes == 0 || drops > 0);
	CU_ASSERT_EQUAL(o->nb.fatal, 0);
}

static void faulty_switch_all_on_oracle_holds(void)
{
	struct nd_outcome o = nd_run(&nh_all_on, 101, 20000);

	nd_oracle("all on, 2% of each fault", &o);
	CU_ASSERT_TRUE(o.sw.dropped_loss > 0 && o.sw.duplicated > 0 && o.sw.reordered > 0 && o.sw.delayed > 0);
}

static void faulty_switch_all_off_oracle_holds(void)
{
	struct nd_outcome o = nd_run(&nh_all_off, 202, 20000);

	nd_oracle("all off, 2% of each fault", &o);
	CU_ASSERT_TRUE(o.sw.dropped_loss > 0 && o.sw.duplicated > 0 && o.sw.reordered > 0 && o.sw.delayed > 0);
}

static void clean_switch_no_loss_deterministic(void)
{
	struct nd_outcome o = nd_run(&nh_all_on, 303, 0);

	nd_oracle("all on, no faults", &o);
	CU_ASSERT_EQUAL(o.t.duplicates + o.t.out_of_order + o.t.gaps + o.t.lost_bytes + o.t.ping_timeouts, 0);
}

static void same_seed_same_run(void)
{
	struct nd_outcome a = nd_run(&nh_all_on, 404, 20000);
	struct nd_outcome b = nd_run(&nh_all_on, 404, 20000);

	printf("  seed 404 twice: trace hash %016llx and %016llx\n", (unsigned long long)a.trace_hash,
	       (unsigned long long)b.trace_hash);
	CU_ASSERT_EQUAL(a.trace_hash, b.trace_hash);
	CU_ASSERT_EQUAL(a.vt_ns, b.vt_ns);
	CU_ASSERT_EQUAL(a.t.verified, b.t.verified);
	CU_ASSERT_EQUAL(a.t.gaps, b.t.gaps);
	CU_ASSERT_EQUAL(a.sw.dropped_loss, b.sw.dropped_loss);
	CU_ASSERT_EQUAL(a.sw.duplicated, b.sw.duplicated);
}

static int nd_fini(void)
{
	nh_world_down();
	return 0;
}

void test_register(void)
{
	static const struct test_case cases[] = {
		TEST(clean_switch_no_loss_deterministic),
		TEST(faulty_switch_all_on_oracle_holds),
		TEST(faulty_switch_all_off_oracle_holds),
		TEST(same_seed_same_run),
		TEST_END,
	};
	test_add_suite("netdet_switch_faults", NULL, nd_fini, cases);
}
