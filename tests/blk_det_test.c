/*
 * The block split drivers in deterministic mode: one domain thread at a time,
 * virtual time, interleavings chosen by seed; the same seed gives the same
 * trace hash, and a backend restart with I/O in flight loses nothing.
 */
#include "tests/blk_harness.h"

#define BD_IOS 300u
#define BD_RESTART_AT 100u

struct bd_run {
	const struct bt_features *f;
	struct bt_backend b;
	struct bt_vbd v;
	struct blkfront *bf;
	struct blkwork *w;
	struct blkwork_result res;
	bool connected, finished, posted;
	unsigned restarts;
};

static int bd_toolstack_fn(void *arg)
{
	struct bd_run *r = arg;
	struct xs_handle *xs = xs_open(0);
	int rc = xs ? 0 : -EIO;

	for (domid_t d = 0; rc == 0 && d <= 1; d++) {
		char path[32];
		struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		if (!xs_mkdir(xs, XBT_NULL, path) || !xs_set_permissions(xs, XBT_NULL, path, &p, 1))
			rc = -EIO;
	}
	r->v.dev = (struct xenbus_device){.type = "vbd", .fe_domid = 1, .be_domid = 0, .devid = 51712,
					  .fe_keys = r->v.fe_keys, .be_keys = r->v.be_keys};
	const char *fe[] = {"virtual-device", "51712", NULL}, *be[] = {"params", "disk0", "type", "ram", NULL};
	memcpy(r->v.fe_keys, fe, sizeof(fe));
	memcpy(r->v.be_keys, be, sizeof(be));
	if (rc == 0)
		rc = xenbus_device_create(xs, &r->v.dev);
	xs_close(xs);
	return rc;
}

static void bd_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	(void)bf;
	if (ev == BLKFRONT_EV_CONNECTED)
		((struct bd_run *)arg)->connected = true;
}

static int bd_open_fn(void *arg)
{
	struct bd_run *r = arg;
	struct blkfront_config c = r->f->fe;

	c.base = sim_domain_event_base();
	c.devid = 51712;
	c.on_event = bd_event;
	c.arg = r;
	return blkfront_open(&c, &r->bf);
}

static void bd_restart_fn(void *arg)
{
	struct bd_run *r = arg;

	bt_backend_stop_fn(&r->b);
	bt_backend_start_fn(&r->b);
	r->restarts++;
}

static void bd_progress(void *arg, uint32_t done)
{
	struct bd_run *r = arg;

	if (done >= BD_RESTART_AT && !r->posted)
		r->posted = sim_domain_post(0, bd_restart_fn, r) == 0;
}

static void bd_finished(void *arg)
{
	struct bd_run *r = arg;

	r->finished = true;
	blkwork_result(r->w, &r->res);
}

static int bd_work_fn(void *arg)
{
	struct bd_run *r = arg;
	struct blkwork_config w = {.seed = 3, .ios = BD_IOS, .queue_depth = 8, .size_min = 512,
				   .size_max = 256 * 1024, .read_pct = 50, .flush_pct = 3, .discard_pct = 3,
				   .verify_at_end = true, .progress = bd_progress, .finished = bd_finished,
				   .arg = r};

	return blkwork_start(r->bf, &w, &r->w);
}

static int bd_close_fn(void *arg)
{
	struct bd_run *r = arg;

	blkfront_close(r->bf);
	blkwork_free(r->w);
	return 0;
}

static bool bd_connected(void *arg)
{
	return ((struct bd_run *)arg)->connected;
}

static bool bd_done(void *arg)
{
	return ((struct bd_run *)arg)->finished;
}

/* One run under the deterministic scheduler; returns its trace hash. */
static uint64_t bd_run_once(const struct bt_features *f, enum sim_policy policy, uint64_t seed)
{
	struct sim_sched_config cfg = {.mode = SIM_MODE_DET, .policy = policy, .pct_depth = 3,
				       .pct_steps = 6000, .seed = seed};
	struct bd_run *r = calloc(1, sizeof(*r));
	uint64_t hash;

	sim_reset();
	xs_store_reset();
	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
				      .name = "dom0", .domid = 0, .privileged = true}), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 1}), 1);
	r->f = f;
	r->b = (struct bt_backend){.cfg = f->be, .disk_names = {"disk0"}, .ndisks = 1};
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(8u << 20, 512, &r->b.disks[0]), 0);
	CU_ASSERT_EQUAL(sim_domain_call(0, bd_toolstack_fn, r), 0);
	CU_ASSERT_EQUAL(sim_domain_call(0, bt_backend_start_fn, &r->b), 0);
	CU_ASSERT_EQUAL(sim_domain_call(1, bd_open_fn, r), 0);
	CU_ASSERT_EQUAL(sim_run(bd_connected, r, UINT64_MAX, 5000000), SIM_RUN_DONE);
	CU_ASSERT_EQUAL(sim_domain_call(1, bd_work_fn, r), 0);
	CU_ASSERT_EQUAL(sim_run(bd_done, r, UINT64_MAX, 50000000), SIM_RUN_DONE);
	hash = sim_trace_hash();
	CU_ASSERT_EQUAL(r->restarts, 1);
	CU_ASSERT_EQUAL(r->res.done, BD_IOS);
	CU_ASSERT_EQUAL(r->res.errors + r->res.mismatches, 0);
	if (r->res.failure[0] || r->res.done != BD_IOS)
		printf("  seed %llu (%s): %u/%u done: %s\n", (unsigned long long)seed, f->name, r->res.done, BD_IOS,
		       r->res.failure);
	sim_domain_call(1, bd_close_fn, r);
	sim_domain_call(0, bt_backend_stop_fn, &r->b);
	blk_store_put(r->b.disks[0]);
	sim_reset();
	free(r);
	return hash;
}

static void test_det_same_seed_same_run(void)
{
	uint64_t a = bd_run_once(&bt_all_on, SIM_POLICY_RANDOM, 11);
	uint64_t b = bd_run_once(&bt_all_on, SIM_POLICY_RANDOM, 11);
	uint64_t c = bd_run_once(&bt_all_on, SIM_POLICY_RANDOM, 12);

	CU_ASSERT_EQUAL(a, b);
	CU_ASSERT_NOT_EQUAL(a, c);
}

/* Interleavings chosen by seed, a backend restart with I/O in flight each. */
static void test_det_seed_sweep_with_restart(void)
{
	for (uint64_t seed = 1; seed <= 8; seed++)
		bd_run_once(seed & 1 ? &bt_all_on : &bt_all_off, seed & 2 ? SIM_POLICY_PCT : SIM_POLICY_RANDOM,
			    seed);
}

static int bd_suite_fini(void)
{
	sim_reset();
	return sim_sched_configure(&(struct sim_sched_config){.mode = SIM_MODE_FREE}) ? 1 : 0;
}

static const struct test_case bd_cases[] = {
	TEST(test_det_same_seed_same_run),
	TEST(test_det_seed_sweep_with_restart),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("blk_det", NULL, bd_suite_fini, bd_cases);
}
