/*
 * End-to-end suites for the block split drivers on the sim: dom0 runs blkback
 * on its domain thread, guests run blkfront (and the verified workload) on
 * theirs, the test's main thread plays the toolstack (acting as dom0) and
 * waits, bounded, for what the domain threads report.
 *
 * Both feature sets run the same checks: everything on (multi-page rings,
 * 4 queues, persistent grants, indirect segments, flush, barrier, discard)
 * and everything off (one page, one queue, 11 segments, per-request grants,
 * no flush/discard). The deterministic-mode suite is blk_det_test.c.
 */
#include "tests/blk_harness.h"

/* ---- a guest's blkfront and workload on its thread ---- */

static void bt_guest_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct bt_guest *g = arg;

	if (ev == BLKFRONT_EV_CONNECTED) {
		g->connects++;
		bt_raise(g->sig_connected);
	} else if (ev == BLKFRONT_EV_FAILED) {
		bt_raise_failure(g->sig_failed, blkfront_error(bf));
	} else if (ev == BLKFRONT_EV_RESIZED) {
		bt_raise(g->sig_resized);
	}
}

static int bt_guest_open_fn(void *arg)
{
	struct bt_guest *g = arg;

	g->cfg.base = sim_domain_event_base();
	g->cfg.devid = g->devid;
	g->cfg.on_event = bt_guest_event;
	g->cfg.arg = g;
	return blkfront_open(&g->cfg, &g->bf);
}

static void bt_work_progress(void *arg, uint32_t done)
{
	struct bt_guest *g = arg;

	if (g->on_progress)
		g->on_progress(g, done);
}

static void bt_work_finished(void *arg)
{
	struct bt_guest *g = arg;

	blkwork_result(g->work, &g->res);
	bt_raise(g->sig_finished);
}

static int bt_guest_work_fn(void *arg)
{
	struct bt_guest *g = arg;

	g->wcfg.progress = bt_work_progress;
	g->wcfg.finished = bt_work_finished;
	g->wcfg.arg = g;
	return blkwork_start(g->bf, &g->wcfg, &g->work);
}

static int bt_guest_close_fn(void *arg)
{
	struct bt_guest *g = arg;

	if (g->bf) {
		blkfront_stats(g->bf, &g->stats);
		blkfront_info(g->bf, &g->info);
		const char *e = blkfront_error(g->bf);
		snprintf(g->error, sizeof(g->error), "%s", e ? e : "");
		blkfront_close(g->bf);
	}
	if (g->work)
		blkwork_result(g->work, &g->res);
	blkwork_free(g->work);
	g->work = NULL;
	g->bf = NULL;
	return 0;
}

static int bt_guest_peek_fn(void *arg)
{
	struct bt_guest *g = arg;

	blkfront_stats(g->bf, &g->stats);
	const char *e = blkfront_error(g->bf);
	snprintf(g->error, sizeof(g->error), "%s", e ? e : "");
	return blkfront_info(g->bf, &g->info);
}

static void bt_guest_init(struct bt_guest *g, domid_t domid, uint32_t devid, const struct blkfront_config *fe,
		   unsigned sig_base)
{
	memset(g, 0, sizeof(*g));
	g->domid = domid;
	g->devid = devid;
	g->cfg = *fe;
	g->sig_connected = sig_base;
	g->sig_finished = sig_base << 1;
	g->sig_failed = sig_base << 2;
	g->sig_resized = sig_base << 3;
	bt_fail_register(g->sig_connected | g->sig_finished | g->sig_failed | g->sig_resized, g->sig_failed);
}

static void bt_guest_open(struct bt_guest *g)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(g->domid, bt_guest_open_fn, g), 0);
}

static bool bt_guest_connected(struct bt_guest *g)
{
	return bt_wait(g->sig_connected, BT_WAIT_MS);
}

static void bt_guest_work(struct bt_guest *g)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(g->domid, bt_guest_work_fn, g), 0);
}

static void bt_guest_close(struct bt_guest *g)
{
	sim_domain_call(g->domid, bt_guest_close_fn, g);
}

static __attribute__((unused)) int bt_guest_peek(struct bt_guest *g)
{
	return sim_domain_call(g->domid, bt_guest_peek_fn, g);
}

/* Workload results must be perfect: every I/O done, nothing wrong. */
static void bt_expect_clean_run(const struct bt_guest *g, uint32_t ios)
{
	const struct blkwork_result *r = &g->res;

	CU_ASSERT_TRUE(r->finished);
	CU_ASSERT_EQUAL(r->done, ios);
	CU_ASSERT_EQUAL(r->errors, 0);
	CU_ASSERT_EQUAL(r->mismatches, 0);
	CU_ASSERT_STRING_EQUAL(r->failure, "");
	if (r->failure[0] || r->done != ios)
		printf("  workload of dom%u: %u/%u done, %u errors, %u mismatches: %s\n", g->domid, r->done, ios,
		       r->errors, r->mismatches, r->failure);
}

/* ---- one full run: connect, workload, teardown ---- */

static void bt_workload_cfg(struct blkwork_config *w, uint64_t seed, uint32_t ios)
{
	*w = (struct blkwork_config){.seed = seed, .ios = ios, .queue_depth = 32, .size_min = 512,
				     .size_max = 1u << 20, .read_pct = 50, .flush_pct = 2, .discard_pct = 2,
				     .verify_at_end = true};
}

static void bt_full_run(const struct bt_features *f, uint32_t ios, uint32_t sector_size)
{
	struct bt_backend b = {.cfg = f->be, .disk_names = {"disk0"}, .ndisks = 1};
	struct bt_vbd v;
	struct bt_guest g;

	bt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(64u << 20, sector_size, &b.disks[0]), 0);
	bt_backend_start(&b);
	bt_device(&v, 1, 51712, "disk0", false);
	bt_guest_init(&g, 1, 51712, &f->fe, 1);
	bt_guest_open(&g);
	CU_ASSERT_TRUE_FATAL(bt_guest_connected(&g));
	bt_workload_cfg(&g.wcfg, 42, ios);
	bt_guest_work(&g);
	CU_ASSERT_TRUE(bt_wait(g.sig_finished, BT_WAIT_MS));
	bt_guest_close(&g);
	bt_backend_stop(&b);
	bt_device_remove(&v);
	blk_store_put(b.disks[0]);
	printf("  %s: %u I/Os (%u reads, %u writes, %u flushes, %u discards, %u unsupported), "
	       "%llu MiB moved, %llu blocks verified\n"
	       "    frontend: %llu ring requests (%llu indirect), %llu events (%llu empty); "
	       "backend: %llu requests, %llu grants kept mapped, %llu events (%llu empty, %llu delayed)\n",
	       f->name, g.res.done, g.res.reads, g.res.writes, g.res.flushes, g.res.discards, g.res.unsupported,
	       (unsigned long long)((g.res.bytes_read + g.res.bytes_written) >> 20),
	       (unsigned long long)g.res.blocks_verified, (unsigned long long)g.stats.requests,
	       (unsigned long long)g.stats.indirect_requests, (unsigned long long)g.stats.events,
	       (unsigned long long)g.stats.events_spurious, (unsigned long long)b.stats.requests,
	       (unsigned long long)b.stats.persistent_maps, (unsigned long long)b.stats.events,
	       (unsigned long long)b.stats.events_spurious, (unsigned long long)b.stats.events_delayed);
	/* The features were really used (or really not). */
	bool on = f->be.persistent;
	CU_ASSERT_EQUAL(g.stats.indirect_requests > 0, on);
	CU_ASSERT_EQUAL(b.stats.persistent_maps > 0, on);
	/* A request's new grants are mapped by one call, not one call each. */
	CU_ASSERT(!on || b.stats.persistent_map_calls < b.stats.persistent_maps);
	CU_ASSERT_EQUAL(g.res.flushes > 0 && g.res.discards > 0, on);
	CU_ASSERT_EQUAL(g.res.unsupported > 0, !on);
	CU_ASSERT_EQUAL(b.stats.requests, g.stats.requests);
	CU_ASSERT_EQUAL(b.stats.rsp_error + b.stats.fatal, 0);
	bt_expect_clean_run(&g, ios);
	bt_check_clean(1);
	bt_world_down();
}

static void test_workload_all_on(void)
{
	bt_full_run(&bt_all_on, BT_WORKLOAD_IOS, 512);
}

static void test_workload_all_off(void)
{
	bt_full_run(&bt_all_off, BT_WORKLOAD_IOS, 512);
}



/* ---- a single guest with one vbd: set-up and teardown for the small tests ---- */

struct bt_one {
	struct bt_backend b;
	struct bt_vbd v;
	struct bt_guest g;
};

static void bt_one_up(struct bt_one *o, const struct bt_features *f, struct blk_store *disk, bool ro)
{
	memset(o, 0, sizeof(*o));
	o->b.cfg = f->be;
	o->b.disk_names[0] = "disk0";
	o->b.disks[0] = disk;
	o->b.ndisks = 1;
	bt_backend_start(&o->b);
	bt_device(&o->v, 1, 51712, "disk0", ro);
	bt_guest_init(&o->g, 1, 51712, &f->fe, 1);
	bt_guest_open(&o->g);
	CU_ASSERT_TRUE_FATAL(bt_guest_connected(&o->g));
	CU_ASSERT_EQUAL(bt_guest_peek(&o->g), 0);
}

static void bt_one_down(struct bt_one *o)
{
	bt_guest_close(&o->g);
	bt_backend_stop(&o->b);
	bt_device_remove(&o->v);
	blk_store_put(o->b.disks[0]);
	bt_check_clean(1);
}

static struct blk_store *bt_ram(uint64_t bytes, uint32_t sector_size)
{
	struct blk_store *s = NULL;

	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(bytes, sector_size, &s), 0);
	return s;
}

static char *bt_read_key(const char *dir, const char *key)
{
	char path[256];
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return xs_read(bt_xs, XBT_NULL, path, &len);
}

static bool bt_key_is(const char *dir, const char *key, const char *want)
{
	char *v = bt_read_key(dir, key);
	bool ok = v && strcmp(v, want) == 0;

	if (!ok)
		printf("  %s/%s is '%s', expected '%s'\n", dir, key, v ? v : "(absent)", want);
	free(v);
	return ok;
}

/* ---- connection: what both ends negotiated, in xenstore and in the API ---- */

static void test_connect_all_on_negotiates_everything(void)
{
	struct bt_one o;
	const char *fe = "/local/domain/1/device/vbd/51712", *be = "/local/domain/0/backend/vbd/1/51712";

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(64u << 20, 512), false);
	CU_ASSERT_EQUAL(o.g.info.queues, 4);
	CU_ASSERT_EQUAL(o.g.info.ring_pages, 16);
	CU_ASSERT_EQUAL(o.g.info.ring_slots, 512);
	CU_ASSERT_EQUAL(o.g.info.indirect_segs, 256);
	CU_ASSERT_TRUE(o.g.info.persistent && o.g.info.flush && o.g.info.barrier && o.g.info.discard);
	CU_ASSERT_EQUAL(o.g.info.size_bytes, 64u << 20);
	CU_ASSERT_EQUAL(o.g.info.sector_size, 512);
	CU_ASSERT_FALSE(o.g.info.readonly);
	CU_ASSERT_TRUE(bt_key_is(fe, "multi-queue-num-queues", "4"));
	CU_ASSERT_TRUE(bt_key_is(fe, "ring-page-order", "4"));
	CU_ASSERT_TRUE(bt_key_is(fe, "protocol", "x86_64-abi"));
	CU_ASSERT_TRUE(bt_key_is(fe, "state", "4"));
	char *ref = bt_read_key(fe, "queue-3/ring-ref15");
	CU_ASSERT_PTR_NOT_NULL(ref);
	free(ref);
	CU_ASSERT_PTR_NULL(bt_read_key(fe, "ring-ref"));   /* moved under queue-N/ */
	CU_ASSERT_TRUE(bt_key_is(be, "state", "4"));
	CU_ASSERT_TRUE(bt_key_is(be, "sectors", "131072"));
	CU_ASSERT_TRUE(bt_key_is(be, "feature-max-indirect-segments", "256"));
	CU_ASSERT_TRUE(bt_key_is(be, "multi-queue-max-queues", "4"));
	CU_ASSERT_TRUE(bt_key_is(be, "discard-granularity", "4096"));
	bt_one_down(&o);
	bt_world_down();
}

static void test_connect_all_off_negotiates_nothing(void)
{
	struct bt_one o;
	const char *fe = "/local/domain/1/device/vbd/51712", *be = "/local/domain/0/backend/vbd/1/51712";

	bt_world_up(1);
	bt_one_up(&o, &bt_all_off, bt_ram(64u << 20, 512), false);
	CU_ASSERT_EQUAL(o.g.info.queues, 1);
	CU_ASSERT_EQUAL(o.g.info.ring_pages, 1);
	CU_ASSERT_EQUAL(o.g.info.ring_slots, 32);
	CU_ASSERT_EQUAL(o.g.info.indirect_segs, 0);
	CU_ASSERT_FALSE(o.g.info.persistent || o.g.info.flush || o.g.info.barrier || o.g.info.discard);
	CU_ASSERT_TRUE(bt_key_is(fe, "feature-persistent", "0"));
	char *ref = bt_read_key(fe, "ring-ref");
	CU_ASSERT_PTR_NOT_NULL(ref);
	free(ref);
	CU_ASSERT_PTR_NULL(bt_read_key(fe, "multi-queue-num-queues"));
	CU_ASSERT_PTR_NULL(bt_read_key(be, "feature-max-indirect-segments"));
	CU_ASSERT_PTR_NULL(bt_read_key(be, "multi-queue-max-queues"));
	CU_ASSERT_TRUE(bt_key_is(be, "feature-flush-cache", "0"));
	CU_ASSERT_TRUE(bt_key_is(be, "max-ring-page-order", "0"));
	bt_one_down(&o);
	bt_world_down();
}

/* ---- disks: 4096-byte sectors, read-only, resize, a file ---- */

static int bt_submit_fn(void *arg)
{
	struct bt_guest *g = arg;
	static uint8_t buf[8192];

	return blkfront_submit(g->bf, (enum blkfront_op)g->user_op, g->user_off, buf, g->user_len, NULL, NULL);
}

static int bt_try_submit(struct bt_guest *g, enum blkfront_op op, uint64_t off, size_t len)
{
	g->user_op = op;
	g->user_off = off;
	g->user_len = len;
	return sim_domain_call(g->domid, bt_submit_fn, g);
}

static void bt_small_run(struct bt_guest *g, uint64_t seed, uint32_t ios)
{
	bt_workload_cfg(&g->wcfg, seed, ios);
	bt_guest_work(g);
	CU_ASSERT_TRUE(bt_wait(g->sig_finished, BT_WAIT_MS));
	bt_expect_clean_run(g, ios);
}

static void test_sector_4096_aligned_io_only(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(32u << 20, 4096), false);
	CU_ASSERT_EQUAL(o.g.info.sector_size, 4096);
	CU_ASSERT_EQUAL(o.g.info.size_bytes, 32u << 20);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 512, 4096), -EINVAL);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 4096, 512), -EINVAL);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, (32u << 20) - 4096, 8192), -EINVAL);
	bt_small_run(&o.g, 11, 1000);
	bt_one_down(&o);
	bt_world_down();
}

static void test_readonly_refuses_writes(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(8u << 20, 512), true);
	CU_ASSERT_TRUE(o.g.info.readonly);
	CU_ASSERT_FALSE(o.g.info.flush || o.g.info.discard || o.g.info.barrier);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_WRITE, 0, 4096), -EROFS);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_DISCARD, 0, 4096), -EOPNOTSUPP);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 0, 4096), 0);
	o.g.wcfg = (struct blkwork_config){.seed = 3, .ios = 200, .queue_depth = 8, .size_min = 512,
					   .size_max = 1u << 20, .read_pct = 100};
	bt_guest_work(&o.g);
	CU_ASSERT_TRUE(bt_wait(o.g.sig_finished, BT_WAIT_MS));
	bt_expect_clean_run(&o.g, 200);
	bt_one_down(&o);
	bt_world_down();
}

static int bt_refresh_fn(void *arg)
{
	blkback_refresh(((struct bt_backend *)arg)->bb);
	return 0;
}

static void test_resize_reaches_frontend(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_off, bt_ram(8u << 20, 512), false);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 8u << 20, 4096), -EINVAL);
	CU_ASSERT_EQUAL(blk_store_resize(o.b.disks[0], 16u << 20), 0);
	sim_domain_call(0, bt_refresh_fn, &o.b);
	CU_ASSERT_TRUE(bt_wait(o.g.sig_resized, BT_WAIT_MS));
	bt_guest_peek(&o.g);
	CU_ASSERT_EQUAL(o.g.info.size_bytes, 16u << 20);
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 8u << 20, 4096), 0);
	bt_one_down(&o);
	bt_world_down();
}

static void test_file_store_workload(void)
{
	char path[] = "/tmp/xensim-blk-XXXXXX";
	int fd = mkstemp(path);
	struct blk_store *s = NULL;
	struct bt_one o;

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(blk_store_file_open(path, 512, false, 16u << 20, &s), 0);
	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, s, false);
	bt_small_run(&o.g, 5, 300);
	bt_one_down(&o);
	bt_world_down();
	unlink(path);
}


/* ---- lifecycle: frontend restart, stale state, destroy ---- */

static void test_frontend_reopen_reconnects(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(16u << 20, 512), false);
	bt_small_run(&o.g, 21, 200);
	bt_guest_close(&o.g);
	CU_ASSERT_TRUE(bt_key_is("/local/domain/1/device/vbd/51712", "state", "6"));
	/* A new instance, as after a guest driver reload. */
	bt_guest_init(&o.g, 1, 51712, &bt_all_on.fe, 1);
	bt_guest_open(&o.g);
	CU_ASSERT_TRUE_FATAL(bt_guest_connected(&o.g));
	bt_workload_cfg(&o.g.wcfg, 22, 200);
	o.g.wcfg.disk_dirty = true;   /* the first run's data is there */
	bt_guest_work(&o.g);
	CU_ASSERT_TRUE(bt_wait(o.g.sig_finished, BT_WAIT_MS));
	bt_expect_clean_run(&o.g, 200);
	bt_one_down(&o);
	bt_world_down();
}

static void test_frontend_stale_state_is_reset_first(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_off, bt_ram(16u << 20, 512), false);
	bt_guest_close(&o.g);
	/* What a crashed instance leaves: Connected, with rings nobody serves. */
	CU_ASSERT_EQUAL(xenbus_write_fmt(bt_xs, XBT_NULL, "/local/domain/1/device/vbd/51712", "state", "4"), 0);
	CU_ASSERT_EQUAL(xenbus_write_fmt(bt_xs, XBT_NULL, "/local/domain/1/device/vbd/51712", "ring-ref", "9999"), 0);
	bt_guest_init(&o.g, 1, 51712, &bt_all_off.fe, 1);
	bt_guest_open(&o.g);
	CU_ASSERT_TRUE_FATAL(bt_guest_connected(&o.g));
	char *ref = bt_read_key("/local/domain/1/device/vbd/51712", "ring-ref");
	CU_ASSERT_TRUE(ref && strcmp(ref, "9999") != 0);   /* the stale key was replaced */
	free(ref);
	bt_one_down(&o);
	bt_world_down();
}

struct bt_destroy {
	struct xenbus *xb;
	struct xenbus_device dev;
	int rc;
};

static void bt_destroy_done(void *arg, int rc)
{
	struct bt_destroy *d = arg;

	d->rc = rc;
	bt_raise(1u << 20);
}

static int bt_destroy_fn(void *arg)
{
	struct bt_destroy *d = arg;
	int rc = xenbus_open(sim_domain_event_base(), &d->xb);

	return rc ? rc : xenbus_device_destroy(d->xb, &d->dev, 10000, bt_destroy_done, d);
}

static int bt_destroy_close_fn(void *arg)
{
	xenbus_close(((struct bt_destroy *)arg)->xb);
	return 0;
}

/* The toolstack's orderly removal: online=0, both ends close, nodes go. */
/* A wait that names a guest ends the moment its blkfront fails, with
 * blkfront's words, rather than at its deadline. */
static void test_wait_ends_when_blkfront_fails(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(16u << 20, 512), false);
	bt_device_remove(&o.v);   /* the toolstack takes the device away: blkfront fails */
	/* No workload runs: only the failure can end this wait early. */
	CU_ASSERT_FALSE(bt_wait(o.g.sig_finished, BT_WAIT_MS));
	CU_ASSERT_FALSE(bt_wait_timed_out);
	CU_ASSERT_PTR_NOT_NULL(strstr(bt_fails[0].words, "device removed"));
	bt_guest_close(&o.g);
	bt_backend_stop(&o.b);
	blk_store_put(o.b.disks[0]);
	bt_check_clean(1);
}

static void test_device_destroy_closes_both_ends(void)
{
	struct bt_one o;
	struct bt_destroy d = {.rc = 1};

	bt_world_up(1);
	bt_one_up(&o, &bt_all_on, bt_ram(16u << 20, 512), false);
	d.dev = o.v.dev;
	d.dev.fe_keys = d.dev.be_keys = NULL;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, bt_destroy_fn, &d), 0);
	CU_ASSERT_TRUE(bt_wait(1u << 20, BT_WAIT_MS));
	CU_ASSERT_EQUAL(d.rc, 0);   /* the backend reached Closed: no forced removal */
	CU_ASSERT_TRUE(bt_wait(o.g.sig_failed, BT_WAIT_MS));   /* the guest saw the device go */
	sim_domain_call(0, bt_destroy_close_fn, &d);
	bt_guest_peek(&o.g);
	CU_ASSERT_PTR_NOT_NULL(strstr(o.g.error, "device removed"));
	CU_ASSERT_EQUAL(bt_try_submit(&o.g, BLKFRONT_READ, 0, 4096), -EIO);
	bt_guest_close(&o.g);
	bt_backend_stop(&o.b);
	blk_store_put(o.b.disks[0]);
	bt_check_clean(1);
	bt_world_down();
}

/* ---- the synchronous API, from a thread that owns its loop ---- */

struct bt_sync {
	int open, conn, wr, rd, same, flush, discard, rd2, zero_or_same, eof, closed_ok;
};

static void *bt_sync_thread(void *arg)
{
	struct bt_sync *r = arg;
	struct event_base *base = event_base_new();
	struct blkfront_config cfg = bt_all_on.fe;
	struct blkfront *bf = NULL;
	static uint8_t out[256 * 1024], in[256 * 1024];

	sim_thread_enter(1);
	cfg.base = base;
	cfg.devid = 51712;
	r->open = blkfront_open(&cfg, &bf);
	if (r->open == 0) {
		r->conn = blkfront_wait_connected(bf, 10000);
		for (size_t i = 0; i < sizeof(out); i++)
			out[i] = (uint8_t)(i * 7 + 3);
		r->wr = blkfront_io(bf, BLKFRONT_WRITE, 1u << 20, out, sizeof(out));
		r->rd = blkfront_io(bf, BLKFRONT_READ, 1u << 20, in, sizeof(in));
		r->same = memcmp(in, out, sizeof(in)) == 0;
		r->flush = blkfront_io(bf, BLKFRONT_FLUSH, 0, NULL, 0);
		r->discard = blkfront_io(bf, BLKFRONT_DISCARD, 1u << 20, NULL, 64 * 1024);
		r->rd2 = blkfront_io(bf, BLKFRONT_READ, 1u << 20, in, 64 * 1024);
		r->zero_or_same = 1;
		for (size_t i = 0; i < 64 * 1024; i++)
			r->zero_or_same &= in[i] == 0 || in[i] == out[i];
		r->eof = blkfront_io(bf, BLKFRONT_READ, 16u << 20, in, 512);
		blkfront_close(bf);
	}
	event_base_free(base);
	sim_thread_leave();
	return NULL;
}

static void test_sync_api_round_trip(void)
{
	struct bt_backend b = {.cfg = bt_all_on.be, .disk_names = {"disk0"}, .ndisks = 1};
	struct bt_vbd v;
	struct bt_sync r = {0};
	pthread_t t;

	bt_world_up(1);
	b.disks[0] = bt_ram(16u << 20, 512);
	bt_backend_start(&b);
	bt_device(&v, 1, 51712, "disk0", false);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, bt_sync_thread, &r), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.open, 0);
	CU_ASSERT_EQUAL(r.conn, 0);
	CU_ASSERT_EQUAL(r.wr, 0);
	CU_ASSERT_EQUAL(r.rd, 0);
	CU_ASSERT_TRUE(r.same);
	CU_ASSERT_EQUAL(r.flush, 0);
	CU_ASSERT_EQUAL(r.discard, 0);
	CU_ASSERT_EQUAL(r.rd2, 0);
	CU_ASSERT_TRUE(r.zero_or_same);
	CU_ASSERT_EQUAL(r.eof, -EINVAL);
	bt_backend_stop(&b);
	bt_device_remove(&v);
	blk_store_put(b.disks[0]);
	bt_check_clean(1);
	bt_world_down();
}

static int bt_sync_inside_fn(void *arg)
{
	static uint8_t buf[4096];

	return blkfront_io(((struct bt_guest *)arg)->bf, BLKFRONT_READ, 0, buf, sizeof(buf));
}

/* The loop is already running on a domain thread: a sync call must refuse. */
static void test_sync_api_inside_loop_refuses(void)
{
	struct bt_one o;

	bt_world_up(1);
	bt_one_up(&o, &bt_all_off, bt_ram(8u << 20, 512), false);
	CU_ASSERT_EQUAL(sim_domain_call(1, bt_sync_inside_fn, &o.g), -EDEADLK);
	bt_one_down(&o);
	bt_world_down();
}

/* ---- backend restart in the middle of a run ---- */

struct bt_restart {
	struct bt_backend *b;
	uint32_t at;              /* completed I/Os when it happens */
	bool posted;
	unsigned restarts;
	int rc;
};

/* On dom0's thread, while the guest has I/O in flight: the backend goes
 * (every vbd Closed, every mapping and port released) and a new one starts on
 * the same disk. */
static void bt_restart_fn(void *arg)
{
	struct bt_restart *r = arg;

	bt_backend_stop_fn(r->b);
	r->rc = bt_backend_start_fn(r->b);
	r->restarts++;
}

static void bt_restart_progress(struct bt_guest *g, uint32_t done)
{
	struct bt_restart *r = g->user;

	if (done >= r->at && !r->posted)
		r->posted = sim_domain_post(0, bt_restart_fn, r) == 0;
}

static void bt_restart_run(const struct bt_features *f, uint32_t ios)
{
	struct bt_backend b = {.cfg = f->be, .disk_names = {"disk0"}, .ndisks = 1};
	struct bt_restart r = {.b = &b, .at = ios / 3};
	struct bt_vbd v;
	struct bt_guest g;

	bt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(64u << 20, 512, &b.disks[0]), 0);
	bt_backend_start(&b);
	bt_device(&v, 1, 51712, "disk0", false);
	bt_guest_init(&g, 1, 51712, &f->fe, 1);
	g.on_progress = bt_restart_progress;
	g.user = &r;
	bt_guest_open(&g);
	CU_ASSERT_TRUE_FATAL(bt_guest_connected(&g));
	bt_workload_cfg(&g.wcfg, 7, ios);
	bt_guest_work(&g);
	CU_ASSERT_TRUE(bt_wait(g.sig_finished, BT_WAIT_MS));
	bt_guest_close(&g);
	bt_backend_stop(&b);
	bt_device_remove(&v);
	blk_store_put(b.disks[0]);
	printf("  %s: restart after %u I/Os: %u connections, %llu I/Os reissued, %llu blocks verified\n",
	       f->name, r.at, g.connects, (unsigned long long)g.stats.reissued,
	       (unsigned long long)g.res.blocks_verified);
	CU_ASSERT_EQUAL(r.restarts, 1);
	CU_ASSERT_EQUAL(r.rc, 0);
	CU_ASSERT_EQUAL(g.connects, 2);
	CU_ASSERT_EQUAL(g.stats.connects, 2);
	bt_expect_clean_run(&g, ios);
	bt_check_clean(1);
	bt_world_down();
}

static void test_backend_restart_all_on(void)
{
	bt_restart_run(&bt_all_on, 3000);
}

static void test_backend_restart_all_off(void)
{
	bt_restart_run(&bt_all_off, 3000);
}

static int bt_suite_fini(void)
{
	bt_world_down();
	return 0;
}

static const struct test_case bt_workload_cases[] = {
	TEST(test_workload_all_on),
	TEST(test_workload_all_off),
	TEST_END,
};

static const struct test_case bt_connect_cases[] = {
	TEST(test_connect_all_on_negotiates_everything),
	TEST(test_connect_all_off_negotiates_nothing),
	TEST_END,
};

static const struct test_case bt_disk_cases[] = {
	TEST(test_sector_4096_aligned_io_only),
	TEST(test_readonly_refuses_writes),
	TEST(test_resize_reaches_frontend),
	TEST(test_file_store_workload),
	TEST_END,
};

static const struct test_case bt_lifecycle_cases[] = {
	TEST(test_frontend_reopen_reconnects),
	TEST(test_frontend_stale_state_is_reset_first),
	TEST(test_device_destroy_closes_both_ends),
	TEST(test_wait_ends_when_blkfront_fails),
	TEST(test_sync_api_round_trip),
	TEST(test_sync_api_inside_loop_refuses),
	TEST_END,
};

static const struct test_case bt_restart_cases[] = {
	TEST(test_backend_restart_all_on),
	TEST(test_backend_restart_all_off),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("blk_connect", NULL, bt_suite_fini, bt_connect_cases);
	test_add_suite("blk_disk", NULL, bt_suite_fini, bt_disk_cases);
	test_add_suite("blk_lifecycle", NULL, bt_suite_fini, bt_lifecycle_cases);
	test_add_suite("blk_workload", NULL, bt_suite_fini, bt_workload_cases);
	test_add_suite("blk_restart", NULL, bt_suite_fini, bt_restart_cases);
}
