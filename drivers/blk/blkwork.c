/*
 * The verified random-I/O workload. The shadow model keeps one word per
 * logical block: the tag of the last acknowledged write (0: never written,
 * reads as zeros), or two tags when either may be on the disk (EITHER: after
 * a discard, old data or zeros; after a failed or canceled write, old or new
 * data; the first read settles it), or UNKNOWN when more than two could be.
 * Written data is a pattern of (seed, tag, block), so a block read back tells
 * which write it came from. Reads and writes are never in flight over the
 * same block at once, so each read has exactly one or two right answers.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkwork.h"

/* A model word: tag in the low bits, flags, the other possible tag above. */
#define BW_UNKNOWN (1ull << 30)
#define BW_EITHER (1ull << 31)
#define BW_TAG_MASK ((uint32_t)BW_UNKNOWN - 1)
#define BW_ALT_SHIFT 32u
#define BW_PICK_TRIES 8u             /* random ranges tried before waiting */
#define BW_VERIFY_CHUNK_BYTES (1u << 20)

struct blkwork_slot {
	struct blkwork *sl_w;
	bool sl_busy, sl_final;
	enum blkfront_op sl_op;
	uint64_t sl_block, sl_nblocks;
	uint32_t sl_tag;
	uint8_t *sl_buf;
};

struct blkwork {
	struct blkfront *bw_bf;
	struct blkwork_config bw_cfg;
	uint32_t bw_bs;                   /* block size: the disk's sector size */
	uint64_t bw_blocks;               /* the span, in blocks */
	uint64_t bw_min_blocks, bw_max_blocks;
	uint64_t *bw_model;
	uint64_t bw_rng;
	uint32_t bw_next_tag;
	uint32_t bw_submitted;            /* random-phase I/Os handed to blkfront */
	uint32_t bw_inflight;
	uint64_t bw_verify_next;          /* final pass: next block to read */
	bool bw_verifying, bw_stopping, bw_finished;
	bool bw_paused, bw_readonly;
	uint32_t bw_drained_at;           /* bw_submitted at the last drain point */
	struct blkwork_result bw_res;
	struct blkwork_slot bw_slots[];
};

static uint64_t bw_next(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545F4914F6CDD1Dull;
}

static uint64_t bw_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* A block's pattern: word k is the block's key (seed, tag, block mixed)
 * with k spread by the golden ratio, so every word differs from its
 * neighbours and from any other block's (a misplaced, shifted or stale copy
 * shows), at two instructions a word. */
static uint64_t bw_key(uint64_t seed, uint32_t tag, uint64_t block)
{
	return bw_mix(seed ^ ((uint64_t)tag << 40) ^ block);
}

static inline uint64_t bw_word(uint64_t key, unsigned k)
{
	return key ^ ((uint64_t)(k + 1) * 0x9E3779B97F4A7C15ull);
}

void blkwork_pattern(uint64_t seed, uint32_t tag, uint64_t block, uint32_t bs, void *out)
{
	uint64_t key = bw_key(seed, tag, block);
	uint64_t *o = out;

	for (unsigned k = 0; k < bs / 8; k++)
		o[k] = bw_word(key, k);
}

/* The content of `block` as written by the write tagged `tag`. */
static void bw_pattern(const struct blkwork *w, uint32_t tag, uint64_t block, uint64_t *out)
{
	blkwork_pattern(w->bw_cfg.seed, tag, block, w->bw_bs, out);
}

static void bw_fail(struct blkwork *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void bw_fail(struct blkwork *w, const char *fmt, ...)
{
	va_list ap;

	if (!w->bw_res.failure[0]) {
		va_start(ap, fmt);
		vsnprintf(w->bw_res.failure, sizeof(w->bw_res.failure), fmt, ap);
		va_end(ap);
	}
	w->bw_stopping = true;
}

/* ---- the model ---- */

/* Does data hold what the write tagged `tag` (0: zeros) put in block? */
static bool bw_holds(const struct blkwork *w, uint32_t tag, uint64_t block, const uint8_t *data)
{
	if (!tag)
		return data[0] == 0 && memcmp(data, data + 1, w->bw_bs - 1) == 0;
	uint64_t key = bw_key(w->bw_cfg.seed, tag, block);
	for (unsigned k = 0; k < w->bw_bs / 8; k++) {
		uint64_t v;
		memcpy(&v, data + 8 * k, sizeof(v));
		if (v != bw_word(key, k))
			return false;
	}
	return true;
}

static void bw_check_block(struct blkwork *w, uint64_t block, const uint8_t *data)
{
	uint64_t m = w->bw_model[block];
	uint32_t tag = (uint32_t)m & BW_TAG_MASK, alt = (uint32_t)(m >> BW_ALT_SHIFT);

	if (m & BW_UNKNOWN)
		return;
	w->bw_res.blocks_verified++;
	if (bw_holds(w, tag, block, data)) {
		w->bw_model[block] = tag;   /* settled: it stays so */
		return;
	}
	if ((m & BW_EITHER) && bw_holds(w, alt, block, data)) {
		w->bw_model[block] = alt;
		return;
	}
	w->bw_res.mismatches++;
	if (m & BW_EITHER)
		bw_fail(w, "block %" PRIu64 " (byte offset %" PRIu64 ") holds neither %s%" PRIu32 " nor %s%" PRIu32,
			block, w->bw_cfg.span_start + block * w->bw_bs, tag ? "write #" : "zeros", tag,
			alt ? "write #" : "zeros", alt);
	else if (tag)
		bw_fail(w, "block %" PRIu64 " (byte offset %" PRIu64 ") does not hold the data of write #%" PRIu32,
			block, w->bw_cfg.span_start + block * w->bw_bs, tag);
	else
		bw_fail(w, "block %" PRIu64 " (byte offset %" PRIu64 ") was never written but is not zeros",
			block, w->bw_cfg.span_start + block * w->bw_bs);
}

/* The block now holds what it held or `other` (a tag, 0: zeros). */
static void bw_model_either(struct blkwork *w, uint64_t block, uint32_t other)
{
	uint64_t m = w->bw_model[block];
	uint32_t tag = (uint32_t)m & BW_TAG_MASK, alt = (uint32_t)(m >> BW_ALT_SHIFT);

	if (m & BW_UNKNOWN || tag == other || ((m & BW_EITHER) && alt == other))
		return;
	if (m & BW_EITHER)
		w->bw_model[block] = BW_UNKNOWN;   /* three candidates: give up on it */
	else
		w->bw_model[block] = tag | BW_EITHER | (uint64_t)other << BW_ALT_SHIFT;
}

static void bw_model_update(struct blkwork *w, const struct blkwork_slot *s, int status)
{
	for (uint64_t b = s->sl_block; b < s->sl_block + s->sl_nblocks; b++) {
		if (s->sl_op == BLKFRONT_WRITE && !status)
			w->bw_model[b] = s->sl_tag;
		else if (s->sl_op == BLKFRONT_WRITE)   /* failed or canceled: old or new */
			bw_model_either(w, b, s->sl_tag);
		else if (s->sl_op == BLKFRONT_DISCARD)  /* done or not, in part or whole */
			bw_model_either(w, b, 0);
		else if (s->sl_op == BLKFRONT_READ && !status)
			bw_check_block(w, b, s->sl_buf + (b - s->sl_block) * w->bw_bs);
	}
}

/* ---- choosing I/Os ---- */

static uint64_t bw_size_blocks(struct blkwork *w)
{
	uint64_t lo = w->bw_min_blocks, hi = w->bw_max_blocks;
	unsigned octaves = 0;

	while ((lo << (octaves + 1)) <= hi)
		octaves++;
	uint64_t n = lo << (bw_next(&w->bw_rng) % (octaves + 1));
	n += bw_next(&w->bw_rng) % n;    /* spread within the octave */
	return n < hi ? n : hi;
}

static bool bw_writes(enum blkfront_op op)
{
	return op == BLKFRONT_WRITE || op == BLKFRONT_DISCARD;
}

static bool bw_conflicts(const struct blkwork *w, enum blkfront_op op, uint64_t block, uint64_t n)
{
	for (uint32_t i = 0; i < w->bw_cfg.queue_depth; i++) {
		const struct blkwork_slot *s = &w->bw_slots[i];
		if (!s->sl_busy || s->sl_op == BLKFRONT_FLUSH)
			continue;
		bool overlap = block < s->sl_block + s->sl_nblocks && s->sl_block < block + n;
		if (overlap && (bw_writes(op) || bw_writes(s->sl_op)))
			return true;
	}
	return false;
}

static enum blkfront_op bw_pick_op(struct blkwork *w)
{
	uint32_t r = (uint32_t)(bw_next(&w->bw_rng) % 100);

	if (r < w->bw_cfg.flush_pct)
		return BLKFRONT_FLUSH;
	if (r < w->bw_cfg.flush_pct + w->bw_cfg.discard_pct)
		return w->bw_readonly ? BLKFRONT_READ : BLKFRONT_DISCARD;
	if (w->bw_readonly)
		return BLKFRONT_READ;
	return bw_next(&w->bw_rng) % 100 < w->bw_cfg.read_pct ? BLKFRONT_READ : BLKFRONT_WRITE;
}

/* A random I/O that can go now, into s; false if every try collided. */
static bool bw_pick(struct blkwork *w, struct blkwork_slot *s)
{
	s->sl_op = bw_pick_op(w);
	s->sl_final = false;
	if (s->sl_op == BLKFRONT_FLUSH) {
		s->sl_block = s->sl_nblocks = 0;
		return true;
	}
	for (unsigned t = 0; t < BW_PICK_TRIES; t++) {
		uint64_t n = bw_size_blocks(w);
		uint64_t b = bw_next(&w->bw_rng) % (w->bw_blocks - n + 1);
		if (!bw_conflicts(w, s->sl_op, b, n)) {
			s->sl_block = b;
			s->sl_nblocks = n;
			return true;
		}
	}
	return false;
}

static bool bw_pick_verify(struct blkwork *w, struct blkwork_slot *s)
{
	uint64_t chunk = BW_VERIFY_CHUNK_BYTES / w->bw_bs;

	if (w->bw_verify_next >= w->bw_blocks)
		return false;
	chunk = chunk < w->bw_max_blocks ? chunk : w->bw_max_blocks;
	s->sl_op = BLKFRONT_READ;
	s->sl_final = true;
	s->sl_block = w->bw_verify_next;
	s->sl_nblocks = w->bw_blocks - s->sl_block < chunk ? w->bw_blocks - s->sl_block : chunk;
	w->bw_verify_next += s->sl_nblocks;
	return true;
}

/* ---- running ---- */

static void bw_done(void *arg, int status);

static void bw_finish_if_idle(struct blkwork *w)
{
	bool random_done = w->bw_submitted >= w->bw_cfg.ios;
	bool verify_done = !w->bw_cfg.verify_at_end || w->bw_verify_next >= w->bw_blocks;

	if (w->bw_finished || w->bw_inflight || !(w->bw_stopping || (random_done && verify_done)) ||
	    (w->bw_paused && !w->bw_stopping))
		return;
	w->bw_finished = true;
	w->bw_res.finished = true;
	if (w->bw_cfg.finished)
		w->bw_cfg.finished(w->bw_cfg.arg);
}

enum bw_submit_rc { BW_STOP, BW_SUBMITTED, BW_SKIPPED };

/* Submit s. BW_SKIPPED: not offered, counted as done, the slot stays free. */
static enum bw_submit_rc bw_submit(struct blkwork *w, struct blkwork_slot *s)
{
	uint64_t off = w->bw_cfg.span_start + s->sl_block * w->bw_bs, len = s->sl_nblocks * w->bw_bs;

	if (s->sl_op == BLKFRONT_WRITE) {
		s->sl_tag = ++w->bw_next_tag & BW_TAG_MASK;
		for (uint64_t b = 0; b < s->sl_nblocks; b++)
			bw_pattern(w, s->sl_tag, s->sl_block + b, (uint64_t *)(s->sl_buf + b * w->bw_bs));
	}
	s->sl_busy = true;
	int rc = blkfront_submit(w->bw_bf, s->sl_op, off, s->sl_buf, len, bw_done, s);
	if (rc == 0) {
		w->bw_inflight++;
		w->bw_submitted += !s->sl_final;
		return BW_SUBMITTED;
	}
	s->sl_busy = false;
	if (rc == -EBUSY)
		return BW_STOP;
	if (rc == -EOPNOTSUPP && (s->sl_op == BLKFRONT_FLUSH || s->sl_op == BLKFRONT_DISCARD)) {
		w->bw_res.unsupported++;
		w->bw_submitted++;
		w->bw_res.done++;
		if (w->bw_cfg.progress)   /* every count of done is reported, in order */
			w->bw_cfg.progress(w->bw_cfg.arg, w->bw_res.done);
		return BW_SKIPPED;
	}
	bw_fail(w, "submitting op %d at byte %" PRIu64 " length %" PRIu64 " failed: %s", s->sl_op, off, len,
		strerror(-rc));
	return BW_STOP;
}

/* The next I/O for a free slot: random ones, then (once they all completed)
 * the read-back of the whole span. */
static void bw_idle(struct blkwork *w)
{
	w->bw_res.idle_points++;
	if (w->bw_cfg.idle)
		w->bw_cfg.idle(w->bw_cfg.arg);
}

/* Every drain_every I/Os, wait for the queue to empty: an idle point. */
static bool bw_draining(struct blkwork *w)
{
	uint32_t n = w->bw_cfg.drain_every;

	if (!n || !w->bw_submitted || w->bw_submitted % n || w->bw_drained_at == w->bw_submitted)
		return false;
	if (w->bw_inflight)
		return true;
	w->bw_drained_at = w->bw_submitted;
	bw_idle(w);
	return false;
}

static bool bw_next_io(struct blkwork *w, struct blkwork_slot *s)
{
	if (w->bw_paused || bw_draining(w))
		return false;
	if (w->bw_submitted < w->bw_cfg.ios)
		return bw_pick(w, s);
	if (!w->bw_cfg.verify_at_end || (!w->bw_verifying && w->bw_inflight))
		return false;
	if (!w->bw_verifying)
		bw_idle(w);
	w->bw_verifying = true;
	return bw_pick_verify(w, s);
}

static void bw_fill(struct blkwork *w)
{
	uint32_t i = 0;

	while (i < w->bw_cfg.queue_depth && !w->bw_stopping) {
		struct blkwork_slot *s = &w->bw_slots[i];
		if (s->sl_busy) {
			i++;
			continue;
		}
		if (!bw_next_io(w, s))
			break;
		enum bw_submit_rc rc = bw_submit(w, s);
		if (rc == BW_STOP)
			break;
		i += rc == BW_SUBMITTED;
	}
	bw_finish_if_idle(w);
}

static void bw_count(struct blkwork *w, const struct blkwork_slot *s, int status)
{
	struct blkwork_result *r = &w->bw_res;
	uint64_t bytes = s->sl_nblocks * w->bw_bs;

	if (s->sl_final)
		return;
	r->done++;
	r->reads += s->sl_op == BLKFRONT_READ;
	r->writes += s->sl_op == BLKFRONT_WRITE;
	r->flushes += s->sl_op == BLKFRONT_FLUSH;
	r->discards += s->sl_op == BLKFRONT_DISCARD;
	r->bytes_read += s->sl_op == BLKFRONT_READ && !status ? bytes : 0;
	r->bytes_written += s->sl_op == BLKFRONT_WRITE && !status ? bytes : 0;
}

static void bw_done(void *arg, int status)
{
	struct blkwork_slot *s = arg;
	struct blkwork *w = s->sl_w;

	s->sl_busy = false;
	w->bw_inflight--;
	if (status == -EOPNOTSUPP && (s->sl_op == BLKFRONT_FLUSH || s->sl_op == BLKFRONT_DISCARD)) {
		w->bw_res.unsupported++;
		status = 0;
		s->sl_nblocks = 0;   /* nothing happened to the model */
	} else if ((status == -ECANCELED || status == -ENODEV) && w->bw_paused) {
		w->bw_res.canceled++;     /* the device was closed or removed under it, on purpose */
	} else if (status) {
		w->bw_res.errors++;
		if (!w->bw_cfg.continue_on_error)
			bw_fail(w, "op %d at byte %" PRIu64 " length %" PRIu64 " failed: %s", s->sl_op,
				w->bw_cfg.span_start + s->sl_block * w->bw_bs, s->sl_nblocks * w->bw_bs, strerror(-status));
	}
	bw_model_update(w, s, status);
	bw_count(w, s, status);
	if (w->bw_cfg.progress && !s->sl_final)
		w->bw_cfg.progress(w->bw_cfg.arg, w->bw_res.done);
	bw_fill(w);
}

static int bw_config_check(const struct blkwork_config *c, const struct blkfront_info *in)
{
	if (!in->connected || !c->queue_depth || c->queue_depth > BLKWORK_QUEUE_DEPTH_MAX ||
	    c->read_pct > 100 || c->flush_pct + c->discard_pct > 100 || in->sector_size > 4096)
		return -EINVAL;
	if (c->span_start % in->sector_size || c->span_start >= in->size_bytes)
		return -EINVAL;
	uint64_t span = c->span_bytes ? c->span_bytes : in->size_bytes - c->span_start;
	if (span > in->size_bytes - c->span_start || c->size_min > c->size_max || c->size_max > span ||
	    c->size_max < in->sector_size || span / in->sector_size > UINT32_MAX)
		return -EINVAL;
	return 0;
}

int blkwork_start(struct blkfront *bf, const struct blkwork_config *cfg, struct blkwork **out)
{
	struct blkfront_info in;
	struct blkwork *w;
	int rc = blkfront_info(bf, &in);

	if (rc < 0 || (rc = bw_config_check(cfg, &in)) < 0)
		return rc < 0 ? rc : -EINVAL;
	w = calloc(1, sizeof(*w) + cfg->queue_depth * sizeof(w->bw_slots[0]));
	if (!w)
		return -ENOMEM;
	w->bw_bf = bf;
	w->bw_cfg = *cfg;
	w->bw_bs = in.sector_size;
	w->bw_blocks = (cfg->span_bytes ? cfg->span_bytes : in.size_bytes - cfg->span_start) / in.sector_size;
	w->bw_min_blocks = cfg->size_min > in.sector_size ? cfg->size_min / in.sector_size : 1;
	w->bw_max_blocks = cfg->size_max / in.sector_size;
	w->bw_rng = bw_mix(cfg->seed) | 1;
	w->bw_readonly = in.readonly;
	w->bw_next_tag = cfg->initial_tag & BW_TAG_MASK;
	w->bw_model = calloc(w->bw_blocks, sizeof(*w->bw_model));
	rc = w->bw_model ? 0 : -ENOMEM;
	for (uint64_t b = 0; rc == 0 && b < w->bw_blocks; b++)
		w->bw_model[b] = cfg->disk_dirty ? BW_UNKNOWN : w->bw_next_tag;
	for (uint32_t i = 0; rc == 0 && i < cfg->queue_depth; i++) {
		w->bw_slots[i].sl_w = w;
		w->bw_slots[i].sl_buf = malloc(w->bw_max_blocks * w->bw_bs);
		rc = w->bw_slots[i].sl_buf ? 0 : -ENOMEM;
	}
	if (rc < 0) {
		blkwork_free(w);
		return rc;
	}
	*out = w;
	bw_fill(w);
	return 0;
}

void blkwork_result(const struct blkwork *w, struct blkwork_result *out)
{
	*out = w->bw_res;
}

unsigned blkwork_pause(struct blkwork *w)
{
	w->bw_paused = true;
	return w->bw_inflight;
}

int blkwork_resume(struct blkwork *w, struct blkfront *bf)
{
	struct blkfront_info in;
	int rc = blkfront_info(bf, &in);

	if (rc < 0)
		return rc;
	if (!in.connected || in.sector_size != w->bw_bs || in.size_bytes < w->bw_cfg.span_start + w->bw_blocks * w->bw_bs)
		return -EINVAL;
	w->bw_bf = bf;
	w->bw_readonly = in.readonly;
	w->bw_paused = false;
	bw_fill(w);
	return 0;
}

int blkwork_grow(struct blkwork *w, uint64_t size_bytes)
{
	if (w->bw_cfg.span_bytes)
		return 0;   /* a span of its own: the new room is not the workload's */
	if (size_bytes % w->bw_bs || size_bytes < w->bw_cfg.span_start + w->bw_blocks * w->bw_bs)
		return -EINVAL;
	uint64_t blocks = (size_bytes - w->bw_cfg.span_start) / w->bw_bs;
	if (blocks == w->bw_blocks)
		return 0;
	if (blocks > UINT32_MAX)
		return -EINVAL;
	uint64_t *model = realloc(w->bw_model, blocks * sizeof(*model));
	if (!model)
		return -ENOMEM;
	for (uint64_t b = w->bw_blocks; b < blocks; b++)
		model[b] = w->bw_cfg.disk_dirty ? BW_UNKNOWN : 0;
	w->bw_model = model;
	w->bw_blocks = blocks;
	return 0;
}

void blkwork_free(struct blkwork *w)
{
	if (!w)
		return;
	for (uint32_t i = 0; i < w->bw_cfg.queue_depth; i++)
		free(w->bw_slots[i].sl_buf);
	free(w->bw_model);
	free(w);
}
