/*
 * `xensim bench blk`: the block split drivers in free mode, blkfront in a
 * guest and blkback in dom0 over a ram disk, set up through xenstore by the
 * same toolstack code (drivers/xenbus) and the same driver code as the tests.
 *
 * One run connects two vbds of one disk (one with persistent grants, one
 * with a grant per request) and measures, one phase after the other, on the
 * guest's thread: 4 KiB random reads and writes at queue depth 32 (IOPS),
 * 64 KiB sequential reads and writes at queue depth 8 (MB/s, 10^6 bytes),
 * and the latency of 4 KiB reads at queue depth 1 (median and p99).
 *
 * Every byte moved is accounted for cheaply: each 4 KiB block of the disk
 * carries a tag (its number and the generation of its last write) in its
 * first and last 8 bytes. Reads poison the tags of their buffer first and
 * check them on completion; writes set them and record the generation once
 * acknowledged (two writes of one block are never in flight together); at the
 * end the whole disk is read back from the store and checked. Offsets come
 * from a fixed-seed PRNG, never the clock.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tools/bench.h"

#define BB_GUEST 1u
#define BB_DISK_BYTES (64ull << 20)
#define BB_BLOCK_BYTES 4096u
#define BB_BLOCKS (BB_DISK_BYTES / BB_BLOCK_BYTES)
#define BB_SEQ_BYTES 65536u
#define BB_SEQ_QD 8u
#define BB_QD_MAX 32u
#define BB_WAIT_MS 60000u                /* bound on every wait for a domain thread */
#define BB_FAILURE_MAX 256u
#define BB_TAG_MAGIC 0x6b6c6273696d6578ull   /* "xemisblk" */
#define BB_POISON 0xdeadbeefdeadbeefull

_Static_assert(BB_SEQ_BYTES % BB_BLOCK_BYTES == 0, "sequential I/O is whole blocks");
_Static_assert(BB_SEQ_QD <= BB_QD_MAX, "slots for the sequential depth");
_Static_assert(BB_BLOCKS < (1ull << 32), "block numbers fit the tag");

enum bb_vbd { BB_PERSISTENT, BB_PER_REQUEST, BB_VBDS };
enum bb_kind { BB_READ, BB_WRITE };

static const uint32_t bb_devids[BB_VBDS] = {51712, 51728};   /* xvda, xvdb */

struct bb_phase;

struct bb_slot {
	struct bb_phase *sl_ph;
	uint8_t *sl_buf;
	uint64_t sl_block;               /* first block of the I/O */
	uint32_t sl_gen;                 /* write: the generation written */
	uint64_t sl_t0_ns;
};

/* One measured phase: runs on the guest's thread, reports to the main one. */
struct bb_phase {
	struct bb_world *ph_w;
	struct blkfront *ph_bf;
	enum bb_kind ph_kind;
	bool ph_seq;
	uint32_t ph_qd, ph_bytes;
	uint64_t ph_ios;                 /* to complete */
	uint64_t ph_submitted, ph_done, ph_inflight;
	uint64_t ph_rng, ph_next_block;
	uint64_t ph_t0_ns, ph_t1_ns;
	double *ph_lat_us;               /* NULL: latencies not kept */
	bool ph_stop;
	char ph_failure[BB_FAILURE_MAX];
	struct bb_slot ph_slot[BB_QD_MAX];
};

struct bb_world {
	struct xs_handle *w_xs;          /* the toolstack's (as dom0) */
	struct blk_store *w_disk;
	struct blkback *w_bb;
	struct blkfront *w_bf[BB_VBDS];
	struct xenbus_device w_dev[BB_VBDS];
	char w_vdev[BB_VBDS][16];
	const char *w_fe_keys[BB_VBDS][5];
	const char *w_be_keys[BB_VBDS][7];
	uint32_t *w_gen;                 /* per block: generation of its acknowledged data */
	uint8_t *w_busy;                 /* per block: a write is in flight */
	uint32_t w_gen_next;
	uint8_t *w_bufs;                 /* BB_QD_MAX slots of BB_SEQ_BYTES */
	pthread_mutex_t w_lock;
	pthread_cond_t w_cond;
	unsigned w_connected, w_failed, w_finished;
};

/* ---- tags and the PRNG ---- */

static uint64_t bb_tag(uint64_t block, uint32_t gen)
{
	return (block << 32 | gen) ^ BB_TAG_MAGIC;
}

static void bb_tag_put(uint8_t *blk, uint64_t tag)
{
	memcpy(blk, &tag, sizeof(tag));
	memcpy(blk + BB_BLOCK_BYTES - sizeof(tag), &tag, sizeof(tag));
}

/* 0 if both tag words of blk are `want`; else the first that differs. */
static uint64_t bb_tag_bad(const uint8_t *blk, uint64_t want)
{
	uint64_t head, tail;

	memcpy(&head, blk, sizeof(head));
	memcpy(&tail, blk + BB_BLOCK_BYTES - sizeof(tail), sizeof(tail));
	return head != want ? head ^ want : tail != want ? tail ^ want : 0;
}

static uint64_t bb_rng_next(uint64_t *s)   /* splitmix64 */
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* ---- signals from the domain threads (bounded waits) ---- */

static void bb_signal(struct bb_world *w, unsigned *counter)
{
	pthread_mutex_lock(&w->w_lock);
	(*counter)++;
	pthread_cond_broadcast(&w->w_cond);
	pthread_mutex_unlock(&w->w_lock);
}

/* Wait until *counter reaches n; false after BB_WAIT_MS or a failed device. */
static bool bb_wait(struct bb_world *w, const unsigned *counter, unsigned n)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += BB_WAIT_MS / 1000;
	pthread_mutex_lock(&w->w_lock);
	while (*counter < n && !w->w_failed)
		if (pthread_cond_timedwait(&w->w_cond, &w->w_lock, &dl) == ETIMEDOUT)
			break;
	bool ok = *counter >= n;
	pthread_mutex_unlock(&w->w_lock);
	return ok;
}

/* ---- a phase, on the guest's thread ---- */

static void bb_fail(struct bb_phase *ph, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bb_fail(struct bb_phase *ph, const char *fmt, ...)
{
	va_list ap;

	if (!ph->ph_failure[0]) {
		va_start(ap, fmt);
		vsnprintf(ph->ph_failure, sizeof(ph->ph_failure), fmt, ap);
		va_end(ap);
	}
	ph->ph_stop = true;
}

/* The next I/O's first block: random, or the next run of the sequence. A
 * write skips blocks with a write in flight, so the model stays exact. */
static uint64_t bb_pick(struct bb_phase *ph)
{
	uint64_t nblk = ph->ph_bytes / BB_BLOCK_BYTES, b;

	if (ph->ph_seq) {
		b = ph->ph_next_block;
		ph->ph_next_block = (b + nblk) % BB_BLOCKS;
		return b;
	}
	b = bb_rng_next(&ph->ph_rng) % BB_BLOCKS;
	while (ph->ph_kind == BB_WRITE && ph->ph_w->w_busy[b])
		b = (b + 1) % BB_BLOCKS;
	return b;
}

static void bb_done(void *arg, int status);

static void bb_submit(struct bb_slot *sl)
{
	struct bb_phase *ph = sl->sl_ph;
	struct bb_world *w = ph->ph_w;
	unsigned nblk = ph->ph_bytes / BB_BLOCK_BYTES;

	sl->sl_block = bb_pick(ph);
	if (ph->ph_kind == BB_WRITE) {
		sl->sl_gen = ++w->w_gen_next;
		for (unsigned i = 0; i < nblk; i++) {
			w->w_busy[sl->sl_block + i] = 1;
			bb_tag_put(sl->sl_buf + (size_t)i * BB_BLOCK_BYTES, bb_tag(sl->sl_block + i, sl->sl_gen));
		}
	} else {
		for (unsigned i = 0; i < nblk; i++)
			bb_tag_put(sl->sl_buf + (size_t)i * BB_BLOCK_BYTES, BB_POISON);
	}
	ph->ph_submitted++;
	ph->ph_inflight++;
	sl->sl_t0_ns = ph->ph_lat_us ? bench_now_ns() : 0;
	int rc = blkfront_submit(ph->ph_bf, ph->ph_kind == BB_WRITE ? BLKFRONT_WRITE : BLKFRONT_READ,
				 sl->sl_block * BB_BLOCK_BYTES, sl->sl_buf, ph->ph_bytes, bb_done, sl);
	if (rc < 0) {
		ph->ph_inflight--;
		bb_fail(ph, "blkfront_submit of block %" PRIu64 " (%u bytes): %s", sl->sl_block,
			ph->ph_bytes, strerror(-rc));
	}
}

/* A completed I/O: its data checked (read) or recorded (write). */
static void bb_account(struct bb_slot *sl)
{
	struct bb_phase *ph = sl->sl_ph;
	struct bb_world *w = ph->ph_w;
	unsigned nblk = ph->ph_bytes / BB_BLOCK_BYTES;

	for (unsigned i = 0; i < nblk; i++) {
		uint64_t b = sl->sl_block + i;
		if (ph->ph_kind == BB_WRITE) {
			w->w_gen[b] = sl->sl_gen;
			w->w_busy[b] = 0;
			continue;
		}
		uint64_t bad = bb_tag_bad(sl->sl_buf + (size_t)i * BB_BLOCK_BYTES, bb_tag(b, w->w_gen[b]));
		if (bad)
			bb_fail(ph, "read of block %" PRIu64 ": tag differs from generation %" PRIu32
				" by %#" PRIx64, b, w->w_gen[b], bad);
	}
}

static void bb_finish_if_idle(struct bb_phase *ph)
{
	if (ph->ph_inflight)
		return;
	ph->ph_t1_ns = bench_now_ns();
	bb_signal(ph->ph_w, &ph->ph_w->w_finished);
}

static void bb_done(void *arg, int status)
{
	struct bb_slot *sl = arg;
	struct bb_phase *ph = sl->sl_ph;

	if (ph->ph_lat_us)
		ph->ph_lat_us[ph->ph_done] = (double)(bench_now_ns() - sl->sl_t0_ns) / 1000.0;
	ph->ph_inflight--;
	ph->ph_done++;
	if (status < 0)
		bb_fail(ph, "I/O of block %" PRIu64 " (%u bytes) completed with %s", sl->sl_block,
			ph->ph_bytes, strerror(-status));
	else
		bb_account(sl);
	if (!ph->ph_stop && ph->ph_submitted < ph->ph_ios)
		bb_submit(sl);
	bb_finish_if_idle(ph);
}

static int bb_phase_start_fn(void *arg)
{
	struct bb_phase *ph = arg;

	ph->ph_t0_ns = bench_now_ns();
	for (unsigned i = 0; i < ph->ph_qd && ph->ph_submitted < ph->ph_ios && !ph->ph_stop; i++)
		bb_submit(&ph->ph_slot[i]);
	bb_finish_if_idle(ph);
	return 0;
}

/* ---- one phase, from the main thread ---- */

struct bb_phase_cfg {
	enum bb_vbd vbd;
	enum bb_kind kind;
	bool seq;
	uint32_t qd, bytes;
	uint64_t ios, seed;
	double *lat_us;
};

/* Run a phase to its end; the elapsed seconds, or a negative errno. */
static int bb_phase_run(struct bench_run *r, struct bb_world *w, const struct bb_phase_cfg *c,
			double *seconds)
{
	struct bb_phase *ph = calloc(1, sizeof(*ph));
	int rc = ph ? 0 : -ENOMEM;

	if (rc < 0)
		return rc;
	*ph = (struct bb_phase){.ph_w = w, .ph_bf = w->w_bf[c->vbd], .ph_kind = c->kind, .ph_seq = c->seq,
				.ph_qd = c->qd, .ph_bytes = c->bytes, .ph_ios = c->ios, .ph_rng = c->seed,
				.ph_next_block = c->seed % BB_BLOCKS, .ph_lat_us = c->lat_us};
	ph->ph_next_block -= ph->ph_next_block % (c->bytes / BB_BLOCK_BYTES);
	for (unsigned i = 0; i < BB_QD_MAX; i++)
		ph->ph_slot[i] = (struct bb_slot){.sl_ph = ph, .sl_buf = w->w_bufs + (size_t)i * BB_SEQ_BYTES};
	unsigned finished = w->w_finished;
	rc = sim_domain_call(BB_GUEST, bb_phase_start_fn, ph);
	if (rc == 0 && !bb_wait(w, &w->w_finished, finished + 1)) {
		bench_log(r, "phase (%s %u bytes qd %u) did not finish within %u ms: %" PRIu64 " of %" PRIu64
			  " done", c->kind == BB_WRITE ? "write" : "read", c->bytes, c->qd, BB_WAIT_MS,
			  ph->ph_done, ph->ph_ios);
		return -ETIMEDOUT;   /* ph stays: the guest may still complete into it */
	}
	if (rc == 0 && ph->ph_failure[0]) {
		bench_log(r, "%s", ph->ph_failure);
		rc = -EIO;
	}
	*seconds = (double)(ph->ph_t1_ns - ph->ph_t0_ns) / 1e9;
	free(ph);
	return rc;
}

/* ---- the world: dom0 with blkback, the guest with two blkfronts ---- */

static void bb_front_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct bb_world *w = arg;

	(void)bf;
	if (ev == BLKFRONT_EV_CONNECTED)
		bb_signal(w, &w->w_connected);
	else if (ev == BLKFRONT_EV_FAILED || ev == BLKFRONT_EV_DISCONNECTED)
		bb_signal(w, &w->w_failed);
}

static int bb_back_start_fn(void *arg)
{
	struct bb_world *w = arg;
	struct blkback_config cfg = {.base = sim_domain_event_base(), .ring_page_order_max = 0,
				     .indirect_segs_max = 32, .persistent = true, .flush = true};
	int rc = blkback_start(&cfg, &w->w_bb);

	if (rc == 0)
		rc = blkback_disk_add(w->w_bb, "bench-disk", w->w_disk);
	return rc;
}

static int bb_back_stop_fn(void *arg)
{
	struct bb_world *w = arg;

	if (w->w_bb)
		blkback_stop(w->w_bb);
	w->w_bb = NULL;
	return 0;
}

static int bb_front_open_fn(void *arg)
{
	struct bb_world *w = arg;
	int rc = 0;

	for (unsigned v = 0; v < BB_VBDS && rc == 0; v++) {
		struct blkfront_config cfg = {.base = sim_domain_event_base(), .devid = bb_devids[v],
					      .indirect_segs_max = 32, .persistent = v == BB_PERSISTENT,
					      .on_event = bb_front_event, .arg = w};
		rc = blkfront_open(&cfg, &w->w_bf[v]);
	}
	return rc;
}

static int bb_front_close_fn(void *arg)
{
	struct bb_world *w = arg;

	for (unsigned v = 0; v < BB_VBDS; v++)
		if (w->w_bf[v])
			blkfront_close(w->w_bf[v]);
	return 0;
}

static int bb_home(struct xs_handle *xs, domid_t d)
{
	char path[64];
	struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	return xs_mkdir(xs, XBT_NULL, path) && xs_set_permissions(xs, XBT_NULL, path, &p, 1) ? 0 : -EIO;
}

static int bb_devices(struct bb_world *w)
{
	int rc = 0;

	for (unsigned v = 0; v < BB_VBDS && rc == 0; v++) {
		snprintf(w->w_vdev[v], sizeof(w->w_vdev[v]), "%u", bb_devids[v]);
		const char *fe[] = {"virtual-device", w->w_vdev[v], "device-type", "disk", NULL};
		const char *be[] = {"params", "bench-disk", "type", "ram", "mode", "w", NULL};
		memcpy(w->w_fe_keys[v], fe, sizeof(fe));
		memcpy(w->w_be_keys[v], be, sizeof(be));
		w->w_dev[v] = (struct xenbus_device){.type = "vbd", .fe_domid = BB_GUEST, .be_domid = 0,
						     .devid = bb_devids[v], .fe_keys = w->w_fe_keys[v],
						     .be_keys = w->w_be_keys[v]};
		rc = xenbus_device_create(w->w_xs, &w->w_dev[v]);
	}
	return rc;
}

/* The disk, every block tagged with generation 1. */
static int bb_disk_fill(struct bb_world *w)
{
	uint8_t *blk = calloc(1, BB_BLOCK_BYTES);
	int rc = blk ? blk_store_ram_create(BB_DISK_BYTES, 512, &w->w_disk) : -ENOMEM;

	for (uint64_t b = 0; rc == 0 && b < BB_BLOCKS; b++) {
		w->w_gen[b] = 1;
		bb_tag_put(blk, bb_tag(b, 1));
		rc = blk_store_write(w->w_disk, b * BB_BLOCK_BYTES, blk, BB_BLOCK_BYTES);
	}
	w->w_gen_next = 1;
	free(blk);
	return rc;
}

static int bb_domains(void)
{
	int rc;

	sim_reset();
	rc = sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0, .privileged = true});
	if (rc >= 0)
		rc = sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = BB_GUEST,
								   .mem_bytes = 256u << 20});
	return rc < 0 ? rc : 0;
}

static int bb_world_up(struct bench_run *r, struct bb_world *w)
{
	int rc = bb_domains();

	xs_store_reset();
	if (rc == 0)
		rc = sim_thread_enter(0);
	if (rc == 0 && !(w->w_xs = xs_open(0)))
		rc = -EIO;
	for (domid_t d = 0; rc == 0 && d <= BB_GUEST; d++)
		rc = bb_home(w->w_xs, d);
	if (rc == 0)
		rc = bb_disk_fill(w);
	if (rc == 0)
		rc = sim_domain_call(0, bb_back_start_fn, w);
	if (rc == 0)
		rc = bb_devices(w);
	if (rc == 0)
		rc = sim_domain_call(BB_GUEST, bb_front_open_fn, w);
	if (rc == 0 && !bb_wait(w, &w->w_connected, BB_VBDS))
		rc = -ETIMEDOUT;
	if (rc < 0)
		bench_log(r, "setting up dom0's blkback and the guest's two vbds failed: %s", strerror(-rc));
	return rc;
}

static void bb_world_down(struct bb_world *w)
{
	sim_domain_call(BB_GUEST, bb_front_close_fn, w);
	sim_domain_call(0, bb_back_stop_fn, w);
	for (unsigned v = 0; v < BB_VBDS && w->w_xs; v++)
		if (w->w_dev[v].type)   /* created */
			xenbus_device_remove(w->w_xs, &w->w_dev[v]);
	if (w->w_xs)
		xs_close(w->w_xs);
	sim_thread_leave();
	sim_reset();
	blk_store_put(w->w_disk);
}

/* The whole disk, read back from the store, holds what was acknowledged. */
static int bb_disk_verify(struct bench_run *r, struct bb_world *w)
{
	uint8_t *blk = malloc(BB_BLOCK_BYTES);
	int rc = blk ? 0 : -ENOMEM;

	for (uint64_t b = 0; rc == 0 && b < BB_BLOCKS; b++) {
		rc = blk_store_read(w->w_disk, b * BB_BLOCK_BYTES, blk, BB_BLOCK_BYTES);
		if (rc == 0 && bb_tag_bad(blk, bb_tag(b, w->w_gen[b]))) {
			bench_log(r, "disk block %" PRIu64 " does not hold generation %" PRIu32 " after the run",
				  b, w->w_gen[b]);
			rc = -EIO;
		}
	}
	free(blk);
	return rc;
}

/* ---- the run ---- */

static int bb_iops(struct bench_run *r, struct bb_world *w, const char *metric, enum bb_vbd vbd,
		   enum bb_kind kind, uint64_t ios, uint64_t seed)
{
	struct bb_phase_cfg c = {.vbd = vbd, .kind = kind, .qd = 32, .bytes = BB_BLOCK_BYTES,
				 .ios = bench_count(r, ios), .seed = seed};
	double s = 0;
	int rc = bb_phase_run(r, w, &c, &s);

	if (rc == 0)
		bench_put(r, metric, (double)c.ios / s);
	return rc;
}

static int bb_seq(struct bench_run *r, struct bb_world *w, enum bb_kind kind, uint64_t ios)
{
	struct bb_phase_cfg c = {.vbd = BB_PERSISTENT, .kind = kind, .seq = true, .qd = BB_SEQ_QD,
				 .bytes = BB_SEQ_BYTES, .ios = bench_count(r, ios), .seed = 0};
	double s = 0;
	int rc = bb_phase_run(r, w, &c, &s);
	double bytes_per_s = (double)c.ios * BB_SEQ_BYTES / s;

	if (rc == 0 && kind == BB_READ) {
		bench_put(r, "blk.seq64k.read", bytes_per_s / 1e6);
		bench_put(r, "blk.seq64k.read.gbit", bytes_per_s * 8 / 1e9);
	} else if (rc == 0) {
		bench_put(r, "blk.seq64k.write", bytes_per_s / 1e6);
	}
	return rc;
}

static int bb_latency(struct bench_run *r, struct bb_world *w, uint64_t ios)
{
	struct bb_phase_cfg c = {.vbd = BB_PERSISTENT, .kind = BB_READ, .qd = 1, .bytes = BB_BLOCK_BYTES,
				 .ios = bench_count(r, ios), .seed = 77};
	double s = 0;
	int rc;

	c.lat_us = calloc(c.ios, sizeof(double));
	rc = c.lat_us ? bb_phase_run(r, w, &c, &s) : -ENOMEM;
	if (rc == 0) {
		bench_put(r, "blk.qd1.lat.p50", bench_percentile(c.lat_us, c.ios, 50));
		bench_put(r, "blk.qd1.lat.p99", bench_percentile(c.lat_us, c.ios, 99));
	}
	if (rc != -ETIMEDOUT)
		free(c.lat_us);
	return rc;
}

static int bb_phases(struct bench_run *r, struct bb_world *w)
{
	uint64_t seed = 0x5eed0000u + (uint64_t)bench_run_index(r);
	int rc = bb_iops(r, w, "blk.randread4k.qd32.persistent", BB_PERSISTENT, BB_READ, 200000, seed + 1);

	if (rc == 0)
		rc = bb_iops(r, w, "blk.randread4k.qd32.nonpersistent", BB_PER_REQUEST, BB_READ, 15000, seed + 2);
	if (rc == 0)
		rc = bb_iops(r, w, "blk.randwrite4k.qd32.persistent", BB_PERSISTENT, BB_WRITE, 200000, seed + 3);
	if (rc == 0)
		rc = bb_iops(r, w, "blk.randwrite4k.qd32.nonpersistent", BB_PER_REQUEST, BB_WRITE, 15000,
			     seed + 4);
	if (rc == 0)
		rc = bb_seq(r, w, BB_WRITE, 20000);
	if (rc == 0)
		rc = bb_seq(r, w, BB_READ, 20000);
	if (rc == 0)
		rc = bb_latency(r, w, 20000);
	return rc;
}

static int bb_run(struct bench_run *r)
{
	struct bb_world *w = calloc(1, sizeof(*w));
	int rc = w ? 0 : -ENOMEM;

	if (rc == 0) {
		pthread_mutex_init(&w->w_lock, NULL);
		pthread_cond_init(&w->w_cond, NULL);
		w->w_gen = calloc(BB_BLOCKS, sizeof(*w->w_gen));
		w->w_busy = calloc(BB_BLOCKS, 1);
		w->w_bufs = aligned_alloc(BB_BLOCK_BYTES, (size_t)BB_QD_MAX * BB_SEQ_BYTES);
		rc = w->w_gen && w->w_busy && w->w_bufs ? 0 : -ENOMEM;
	}
	if (rc == 0)
		rc = bb_world_up(r, w);
	if (rc == 0)
		rc = bb_phases(r, w);
	if (rc == 0)
		rc = bb_disk_verify(r, w);
	if (w && rc != -ETIMEDOUT) {
		/* After a timeout the guest may still touch w: leave it (the run's
		 * process ends soon). */
		bb_world_down(w);
		free(w->w_gen);
		free(w->w_busy);
		free(w->w_bufs);
		free(w);
	}
	return rc;
}

static const struct bench_metric bb_metrics[] = {
	{"blk.randread4k.qd32.persistent", "IOPS", "ring.eventfd", 700000, 0},
	{"blk.randread4k.qd32.nonpersistent", "IOPS", "ring.eventfd", 0, 0},
	{"blk.randwrite4k.qd32.persistent", "IOPS", "ring.eventfd", 0, 0},
	{"blk.randwrite4k.qd32.nonpersistent", "IOPS", "ring.eventfd", 0, 0},
	{"blk.seq64k.read", "MB/s", NULL, 0, 0},
	{"blk.seq64k.read.gbit", "Gbit/s", "ceil.memcpy", 0, 0},
	{"blk.seq64k.write", "MB/s", NULL, 0, 0},
	{"blk.qd1.lat.p50", "us", "ceil.eventfd.rtt", 0, 1},
	{"blk.qd1.lat.p99", "us", "ceil.eventfd.rtt", 0, 1},
	{NULL, NULL, NULL, 0, 0},
};

const struct bench bench_blk = {
	.name = "blk",
	.what = "blkfront (guest) to blkback (dom0) on a ram disk: 4 KiB random IOPS at qd 32 with and "
		"without persistent grants, 64 KiB sequential MB/s, qd 1 latency",
	.metrics = bb_metrics,
	.run = bb_run,
	.one_cpu_too = 1,
};
