/*
 * What the block suites (blk_test, blk_det_test) share: the two feature sets,
 * bounded signals from domain threads to the test thread, the world (dom0 +
 * guests with their xenstore homes), the toolstack's device nodes, and
 * blkback on dom0's thread.
 */
#ifndef XENSIM_TESTS_BLK_HARNESS_H
#define XENSIM_TESTS_BLK_HARNESS_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <xenstore.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/blk/blkwork.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tests/leftovers.h"
#include "tests/test.h"

#define BT_WAIT_MS 60000u        /* bound on every wait for a domain thread */
/* The judged run is 10,000 I/Os; ThreadSanitizer makes each ~5x dearer, and
 * races do not need volume to show there. */
#ifdef __SANITIZE_THREAD__
#define BT_WORKLOAD_IOS 2000u
#else
#define BT_WORKLOAD_IOS 10000u
#endif

struct bt_features {
	const char *name;
	struct blkback_config be;
	struct blkfront_config fe;
};

struct bt_backend {
	struct blkback_config cfg;
	struct blkback *bb;
	struct blk_store *disks[4];
	const char *disk_names[4];
	unsigned ndisks;
	struct blkback_stats stats;
};

struct bt_vbd {
	struct xenbus_device dev;
	const char *fe_keys[8], *be_keys[8];
	char vdev[16];
};

struct bt_guest {
	domid_t domid;
	uint32_t devid;
	struct blkfront_config cfg;
	struct blkfront *bf;
	struct blkwork *work;
	struct blkwork_config wcfg;
	struct blkwork_result res;
	struct blkfront_stats stats;
	struct blkfront_info info;
	char error[256];
	unsigned connects;
	unsigned sig_connected, sig_finished, sig_failed, sig_resized;
	void (*on_progress)(struct bt_guest *g, uint32_t done);
	void *user;
	int user_op;
	uint64_t user_off;
	size_t user_len;
};

/* ---- signals from domain threads to the test thread (bounded waits) ---- */

static pthread_mutex_t bt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bt_cond = PTHREAD_COND_INITIALIZER;
static unsigned bt_bits;

static inline void bt_raise(unsigned bits)
{
	pthread_mutex_lock(&bt_lock);
	bt_bits |= bits;
	pthread_cond_broadcast(&bt_cond);
	pthread_mutex_unlock(&bt_lock);
}

/* A guest's bits, and what its blkfront said when it failed (under
 * bt_lock): a wait that names the guest ends at once when its blkfront
 * reached its terminal state, unless it waits for exactly that. */
#define BT_GUESTS_MAX 4u
static struct bt_fail {
	unsigned all, failed;
	char words[256];
} bt_fails[BT_GUESTS_MAX];
static bool bt_wait_timed_out;   /* the last bt_wait ran to its deadline */

static inline void bt_fail_register(unsigned all, unsigned failed)
{
	pthread_mutex_lock(&bt_lock);
	for (unsigned i = 0; i < BT_GUESTS_MAX; i++)
		if (!bt_fails[i].all || bt_fails[i].all == all) {
			bt_fails[i] = (struct bt_fail){.all = all, .failed = failed};
			break;
		}
	pthread_mutex_unlock(&bt_lock);
}

static inline void bt_raise_failure(unsigned failed, const char *words)
{
	pthread_mutex_lock(&bt_lock);
	for (unsigned i = 0; i < BT_GUESTS_MAX; i++)
		if (bt_fails[i].failed == failed && !bt_fails[i].words[0])
			snprintf(bt_fails[i].words, sizeof(bt_fails[i].words), "%s", words ? words : "?");
	bt_bits |= failed;
	pthread_cond_broadcast(&bt_cond);
	pthread_mutex_unlock(&bt_lock);
}

static inline unsigned bt_fail_mask(unsigned bits)
{
	unsigned fail = 0;

	for (unsigned i = 0; i < BT_GUESTS_MAX; i++)
		if (bits & bt_fails[i].all)
			fail |= bt_fails[i].failed;
	return fail & ~bits;
}

static inline void bt_wait_failed(unsigned failed)
{
	for (unsigned i = 0; i < BT_GUESTS_MAX; i++)
		if (failed & bt_fails[i].failed)
			printf("  wait ended early: blkfront failed: %s\n", bt_fails[i].words);
}

/* Every bit, then clear them; false at the deadline, or at once when the
 * blkfront of a guest the bits name failed (its words are printed). */
static inline bool bt_wait(unsigned bits, unsigned ms)
{
	struct timespec dl;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += ms / 1000;
	dl.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&bt_lock);
	unsigned fail = bt_fail_mask(bits);
	bt_wait_timed_out = false;
	while ((bt_bits & bits) != bits && !(bt_bits & fail))
		if (pthread_cond_timedwait(&bt_cond, &bt_lock, &dl) == ETIMEDOUT) {
			bt_wait_timed_out = true;
			break;
		}
	ok = (bt_bits & bits) == bits;
	if (!ok && (bt_bits & fail))
		bt_wait_failed(bt_bits & fail);
	bt_bits &= ~bits;
	pthread_mutex_unlock(&bt_lock);
	return ok;
}

static inline void bt_clear(void)
{
	pthread_mutex_lock(&bt_lock);
	bt_bits = 0;
	memset(bt_fails, 0, sizeof(bt_fails));
	pthread_mutex_unlock(&bt_lock);
}

/* ---- feature sets ---- */

static const struct bt_features bt_all_on = {
	.name = "all features on",
	.be = {.ring_page_order_max = 4, .queues_max = 4, .indirect_segs_max = 256,
	       .persistent = true, .flush = true, .barrier = true, .discard = true},
	.fe = {.queues_max = 4, .ring_page_order_max = 4, .indirect_segs_max = 256, .persistent = true,
	       .grant_pages_max = 4096},
};

static const struct bt_features bt_all_off = {
	.name = "all features off",
	.be = {.ring_page_order_max = 0, .queues_max = 1, .indirect_segs_max = 0},
	.fe = {.queues_max = 1, .ring_page_order_max = 0, .indirect_segs_max = 0, .persistent = false,
	       .grant_pages_max = 4096},
};

/* ---- the world: dom0 + guests, homes in xenstore ---- */

static struct xs_handle *bt_xs;   /* the toolstack's connection (as dom0) */
static unsigned bt_nodes_base;

static inline void bt_home(domid_t d)
{
	char path[64];
	struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	CU_ASSERT_FATAL(xs_mkdir(bt_xs, XBT_NULL, path));
	CU_ASSERT_FATAL(xs_set_permissions(bt_xs, XBT_NULL, path, &p, 1));
}

static inline void bt_world_up(unsigned guests)
{
	sim_reset();
	bt_clear();
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
				      .name = "dom0", .domid = 0, .privileged = true}), 0);
	for (unsigned g = 1; g <= guests; g++) {
		char name[16];
		snprintf(name, sizeof(name), "guest%u", g);
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
					      .name = name, .domid = (int)g, .mem_bytes = 128u << 20}), (int)g);
	}
	xs_store_reset();
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(0), 0);
	bt_xs = xs_open(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(bt_xs);
	for (unsigned d = 0; d <= guests; d++)
		bt_home((domid_t)d);
	bt_nodes_base = xs_store_nodes_total();
}

static inline void bt_world_down(void)
{
	if (bt_xs)
		xs_close(bt_xs);
	bt_xs = NULL;
	sim_thread_leave();
	sim_reset();
}

/* Nothing of the drivers left: grants, maps, ports, handles, nodes. */
static inline void bt_check_clean(unsigned guests)
{
	expect_nothing_left((domid_t)guests, bt_nodes_base);
}

/* ---- the toolstack ---- */

static inline void bt_device(struct bt_vbd *v, domid_t fe, uint32_t devid, const char *disk, bool readonly)
{
	v->fe_keys[0] = "virtual-device";
	snprintf(v->vdev, sizeof(v->vdev), "%u", devid);
	v->fe_keys[1] = v->vdev;
	v->fe_keys[2] = "device-type";
	v->fe_keys[3] = "disk";
	v->fe_keys[4] = NULL;
	v->be_keys[0] = "params";
	v->be_keys[1] = disk;
	v->be_keys[2] = "type";
	v->be_keys[3] = "ram";
	v->be_keys[4] = "mode";
	v->be_keys[5] = readonly ? "r" : "w";
	v->be_keys[6] = NULL;
	v->dev = (struct xenbus_device){.type = "vbd", .fe_domid = fe, .be_domid = 0, .devid = devid,
					.fe_keys = v->fe_keys, .be_keys = v->be_keys};
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(bt_xs, &v->dev), 0);
}

static inline void bt_device_remove(struct bt_vbd *v)
{
	CU_ASSERT_EQUAL(xenbus_device_remove(bt_xs, &v->dev), 0);
}

/* ---- backend on dom0's thread ---- */

static inline int bt_backend_start_fn(void *arg)
{
	struct bt_backend *b = arg;
	int rc;

	b->cfg.base = sim_domain_event_base();
	rc = blkback_start(&b->cfg, &b->bb);
	for (unsigned i = 0; rc == 0 && i < b->ndisks; i++)
		rc = blkback_disk_add(b->bb, b->disk_names[i], b->disks[i]);
	return rc;
}

static inline int bt_backend_stop_fn(void *arg)
{
	struct bt_backend *b = arg;

	if (b->bb) {
		blkback_stats(b->bb, &b->stats);
		blkback_stop(b->bb);
	}
	b->bb = NULL;
	return 0;
}

static inline int bt_backend_stats_fn(void *arg)
{
	struct bt_backend *b = arg;

	if (b->bb)
		blkback_stats(b->bb, &b->stats);
	return 0;
}

static inline void bt_backend_start(struct bt_backend *b)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, bt_backend_start_fn, b), 0);
}

static inline void bt_backend_stop(struct bt_backend *b)
{
	sim_domain_call(0, bt_backend_stop_fn, b);
}

static inline void bt_backend_stats(struct bt_backend *b)
{
	sim_domain_call(0, bt_backend_stats_fn, b);
}

#endif
