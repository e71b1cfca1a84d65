/*
 * The whole network stack under the deterministic scheduler: three guests on
 * a switch whose fault sites lose, duplicate, reorder and delay frames. The
 * oracle is the workload's, held against what the switch and netback say
 * they did: every frame intact; duplicates only as many as the switch made;
 * out-of-order arrivals only as many as it reordered; holes only as many as
 * frames were dropped somewhere. And the same seed replays the same run.
 *
 * Also the harness's fail-fast: a wait that names a guest whose netfront
 * failed, or whose vif netback disconnected for a violation, ends at once
 * with the driver's words instead of running to its deadline.
 */
#include <stdio.h>
#include <string.h>

#include "drivers/net/netfront_internal.h"
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
	       what, (unsigned long long)t->r.frames_verified, (double)(o->vt_ns - 1000000000ull) / 1e9,
	       (unsigned long long)o->sw.dropped_loss, (unsigned long long)o->sw.duplicated,
	       (unsigned long long)o->sw.reordered, (unsigned long long)o->sw.delayed,
	       (unsigned long long)t->r.duplicates, (unsigned long long)t->r.out_of_order, (unsigned long long)t->r.gaps,
	       (unsigned long long)t->r.lost_bytes, (unsigned long long)t->r.ping_timeouts);
	CU_ASSERT_TRUE(o->finished && t->r.finished);
	CU_ASSERT_TRUE(t->r.frames_verified > 1000);
	CU_ASSERT_EQUAL(t->r.corrupt, 0);
	CU_ASSERT_TRUE(t->r.duplicates <= o->sw.duplicated);
	CU_ASSERT_TRUE(t->r.out_of_order <= o->sw.reordered);
	CU_ASSERT_TRUE(t->r.gaps <= drops);
	CU_ASSERT_TRUE(t->r.lost_bytes == 0 || drops > 0);
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
	CU_ASSERT_EQUAL(o.t.r.duplicates + o.t.r.out_of_order + o.t.r.gaps + o.t.r.lost_bytes + o.t.r.ping_timeouts, 0);
}

static void same_seed_same_run(void)
{
	struct nd_outcome a = nd_run(&nh_all_on, 404, 20000);
	struct nd_outcome b = nd_run(&nh_all_on, 404, 20000);

	printf("  seed 404 twice: trace hash %016llx and %016llx\n", (unsigned long long)a.trace_hash,
	       (unsigned long long)b.trace_hash);
	CU_ASSERT_EQUAL(a.trace_hash, b.trace_hash);
	CU_ASSERT_EQUAL(a.vt_ns, b.vt_ns);
	CU_ASSERT_EQUAL(a.t.r.frames_verified, b.t.r.frames_verified);
	CU_ASSERT_EQUAL(a.t.r.gaps, b.t.r.gaps);
	CU_ASSERT_EQUAL(a.sw.dropped_loss, b.sw.dropped_loss);
	CU_ASSERT_EQUAL(a.sw.duplicated, b.sw.duplicated);
}

/* ---- fail fast ---- */

#define ND_FAST_STEPS_MAX 5000u      /* a wait that ends "at once" takes fewer steps */
#define ND_PATIENT_MS 2000u          /* the same wait, ignoring failures, runs this long */

/* Hostile writes on the guest's own thread, into the rings it shares. */
static int nd_bad_tx_req_prod_fn(void *arg)
{
	struct netfront_queue *q = &((struct nh_guest *)arg)->nf->nf_queues[0];

	/* Far past what the ring holds: netback must take it as a violation. */
	q->q_tx.sring->req_prod = q->q_tx.req_prod_pvt + 1000u;
	return xenbus_evtchn_notify(q->q_ev_tx);
}

static int nd_bad_rx_rsp_prod_fn(void *arg)
{
	struct netfront_queue *q = &((struct nh_guest *)arg)->nf->nf_queues[0];

	/* As a broken backend would: more responses than requests posted. */
	q->q_rx.sring->rsp_prod = q->q_rx.rsp_cons + 1000u;
	netfront_ev_both(q);
	return 0;
}

static bool nd_bits_only(void *arg)
{
	return nh_peek(*(unsigned *)arg);
}

/* Guest 0 (dom1) is broken by fn; a wait for its workload's end (never
 * started: it could only time out) must end at once with `words`. */
static void nd_fail_fast(int (*fn)(void *), const char *words)
{
	struct sim_sched_config sc = {.mode = SIM_MODE_DET, .policy = SIM_POLICY_RANDOM, .seed = 7};
	struct nh_net net;
	unsigned bits = nh_bit(0, NH_FINISHED);

	nh_world_up_mode(2, &sc);
	nh_net_up(&net, 2, &nh_all_off);
	CU_ASSERT_EQUAL(sim_domain_call(1, fn, &net.g[0]), 0);
	uint64_t t0 = sim_now_ns();
	CU_ASSERT_FALSE(nh_wait(bits, NH_WAIT_MS));
	uint64_t fast = nh_wait_spent, fast_ns = sim_now_ns() - t0;
	printf("  failed in %llu steps, %llu virtual ns: %s\n", (unsigned long long)fast,
	       (unsigned long long)fast_ns, nh_failure[0]);
	CU_ASSERT_TRUE(fast < ND_FAST_STEPS_MAX);
	CU_ASSERT_TRUE(fast_ns < 1000000000ull);
	CU_ASSERT_PTR_NOT_NULL(strstr(nh_failure[0], words));
	/* What the wait did before: blind to the failure, it runs to its end. */
	t0 = sim_now_ns();
	uint64_t steps = sim_sched_steps();
	sim_run(nd_bits_only, &bits, t0 + ND_PATIENT_MS * 1000000ull, 0);
	printf("  the same wait blind to failures: %llu steps, still waiting after %u virtual ms\n",
	       (unsigned long long)(sim_sched_steps() - steps), ND_PATIENT_MS);
	CU_ASSERT_FALSE(nh_peek(bits));
	CU_ASSERT_TRUE(sim_now_ns() - t0 >= ND_PATIENT_MS * 1000000ull);
	nh_net_down(&net);
	nh_world_down();
}

static void wait_ends_when_netback_fails_the_vif(void)
{
	nd_fail_fast(nd_bad_tx_req_prod_fn, "netback disconnected vif 0 of dom1: queue 0: tx req_prod");
}

static void wait_ends_when_netfront_fails(void)
{
	nd_fail_fast(nd_bad_rx_rsp_prod_fn, "netfront failed: ");
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
	static const struct test_case fast_cases[] = {
		TEST(wait_ends_when_netback_fails_the_vif),
		TEST(wait_ends_when_netfront_fails),
		TEST_END,
	};
	test_add_suite("netdet_switch_faults", NULL, nd_fini, cases);
	test_add_suite("netdet_fail_fast", NULL, nd_fini, fast_cases);
}
