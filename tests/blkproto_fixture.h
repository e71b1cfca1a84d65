/*
 * The block protocol suites' world (blkproto_test.c: a raw frontend against
 * blkback; blkfront_hostile_test.c: a raw backend against blkfront): the
 * domains, the toolstack's nodes, bounded waits for what the domain threads
 * signal, the clean-up checks, and a real blkfront guest. One binary includes
 * it once.
 */
#ifndef XENSIM_TESTS_BLKPROTO_FIXTURE_H
#define XENSIM_TESTS_BLKPROTO_FIXTURE_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/blk/blkwork.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

#define PT_WAIT_MS 60000u

/* ==== harness: domains, toolstack, bounded waits ==== */

static pthread_mutex_t pt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t pt_cond = PTHREAD_COND_INITIALIZER;
static unsigned pt_bits;
static struct xs_handle *pt_xs;
static unsigned pt_nodes_base;

static inline void pt_raise(unsigned bits)
{
	pthread_mutex_lock(&pt_lock);
	pt_bits |= bits;
	pthread_cond_broadcast(&pt_cond);
	pthread_mutex_unlock(&pt_lock);
}

static inline bool pt_wait(unsigned bits)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += PT_WAIT_MS / 1000;
	pthread_mutex_lock(&pt_lock);
	while ((pt_bits & bits) != bits)
		if (pthread_cond_timedwait(&pt_cond, &pt_lock, &dl) == ETIMEDOUT)
			break;
	bool ok = (pt_bits & bits) == bits;
	pt_bits &= ~bits;
	pthread_mutex_unlock(&pt_lock);
	return ok;
}

static inline void pt_world_up(unsigned guests)
{
	sim_reset();
	xs_store_reset();
	pt_bits = 0;
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
				      .name = "dom0", .domid = 0, .privileged = true}), 0);
	for (unsigned g = 1; g <= guests; g++)
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
					      .name = g == 1 ? "guest1" : "guest2", .domid = (int)g}), (int)g);
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(0), 0);
	pt_xs = xs_open(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pt_xs);
	for (unsigned d = 0; d <= guests; d++) {
		char path[32];
		struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		CU_ASSERT_FATAL(xs_mkdir(pt_xs, XBT_NULL, path) && xs_set_permissions(pt_xs, XBT_NULL, path, &p, 1));
	}
	pt_nodes_base = xs_store_nodes_total();
}

static inline int pt_world_down(void)
{
	if (pt_xs)
		xs_close(pt_xs);
	pt_xs = NULL;
	sim_thread_leave();
	sim_reset();
	return 0;
}

static inline void pt_check_clean(unsigned guests)
{
	for (domid_t d = 0; d <= guests; d++) {
		struct gnttab_stats st = {0};
		gnttab_stats(d, &st);
		CU_ASSERT_EQUAL(st.grants_active + st.maps_active + st.maptrack_used, 0);
		CU_ASSERT_EQUAL(evtchn_ports_in_use(d), 0);
	}
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 0);
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), pt_nodes_base);
	gnttab_check();
	evtchn_check();
	xs_store_check();
}

static inline struct xenbus_device pt_device(domid_t fe, uint32_t devid, const char *disk)
{
	static const char *fe_keys[] = {"virtual-device", "51712", "device-type", "disk", NULL};
	static const char *be_keys[2][7] = {{"params", "disk1", "type", "ram", "mode", "w", NULL},
					     {"params", "disk2", "type", "ram", "mode", "w", NULL}};
	struct xenbus_device d = {.type = "vbd", .fe_domid = fe, .be_domid = 0, .devid = devid,
				  .fe_keys = fe_keys, .be_keys = be_keys[strcmp(disk, "disk1") != 0]};

	CU_ASSERT_EQUAL(xenbus_device_create(pt_xs, &d), 0);
	return d;
}

/* ==== a real blkfront for the guests of these suites ==== */

#define PG_SIG_CONNECTED (1u << 0)
#define PG_SIG_FAILED (1u << 1)
#define PG_SIG_IO (1u << 2)
#define PG_SIG_FINISHED (1u << 3)
#define PG_IOS 4u

struct pg {
	domid_t domid;
	struct blkfront_config cfg;
	struct blkfront *bf;
	struct blkwork *work;
	struct blkwork_config wcfg;
	struct blkwork_result res;
	int status[PG_IOS];
	unsigned done;
	uint8_t buf[PG_IOS][64 * 1024];
	char error[256];
	int resubmit;
};

static inline void pg_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	(void)arg;
	(void)bf;
	if (ev == BLKFRONT_EV_CONNECTED)
		pt_raise(PG_SIG_CONNECTED);
	if (ev == BLKFRONT_EV_FAILED)
		pt_raise(PG_SIG_FAILED);
}

static inline int pg_open_fn(void *arg)
{
	struct pg *g = arg;

	g->cfg.base = sim_domain_event_base();
	g->cfg.devid = 51712;
	g->cfg.on_event = pg_event;
	return blkfront_open(&g->cfg, &g->bf);
}

static inline void pg_io_done_counted(void *arg, int status);

static inline int pg_submit_fn(void *arg)
{
	struct pg *g = arg;
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < PG_IOS; i++)
		rc = blkfront_submit(g->bf, BLKFRONT_READ, (uint64_t)i * sizeof(g->buf[0]), g->buf[i],
				     sizeof(g->buf[0]), pg_io_done_counted, g);
	return rc;
}

static inline void pg_io_done_counted(void *arg, int status)
{
	struct pg *g = arg;

	g->status[g->done] = status;
	if (++g->done == PG_IOS)
		pt_raise(PG_SIG_IO);
}

static inline void pg_work_finished(void *arg)
{
	struct pg *g = arg;

	blkwork_result(g->work, &g->res);
	pt_raise(PG_SIG_FINISHED);
}

static inline int pg_work_fn(void *arg)
{
	struct pg *g = arg;

	g->wcfg.finished = pg_work_finished;
	g->wcfg.arg = g;
	return blkwork_start(g->bf, &g->wcfg, &g->work);
}

static inline int pg_close_fn(void *arg)
{
	struct pg *g = arg;
	const char *e = blkfront_error(g->bf);
	static uint8_t b[512];

	snprintf(g->error, sizeof(g->error), "%s", e ? e : "");
	/* Terminal: -EIO before anything else; alive: the range check answers. */
	g->resubmit = blkfront_submit(g->bf, BLKFRONT_READ, 1, b, sizeof(b), NULL, NULL);
	blkfront_close(g->bf);
	if (g->work)
		blkwork_result(g->work, &g->res);
	blkwork_free(g->work);
	return 0;
}

static const struct blkfront_config pg_fe_on = {.queues_max = 4, .ring_page_order_max = 4,
						.indirect_segs_max = 256, .persistent = true};
static const struct blkfront_config pg_fe_off = {0};

#endif
