/*
 * drivers/blk: a verified random-I/O workload over a blkfront. It keeps up to
 * queue_depth I/Os in flight (reads, writes, flushes, discards), sizes drawn
 * log-uniformly between size_min and size_max, at random sector-aligned
 * offsets, and checks every byte it reads against a shadow model of the disk:
 * each logical block holds the pattern of the last acknowledged write to it,
 * zeros if never written, or, after a discard, either of the two. I/Os that
 * could race (a write overlapping anything in flight) are never in flight
 * together, so the model is exact. At the end it can read the whole span back.
 *
 * Under injected faults it can carry on past I/O errors (continue_on_error):
 * a failed write leaves each of its blocks holding either the old or the new
 * data, a failed read checks nothing. It can pause (the device goes away:
 * unplug, save/restore), carry on over a new blkfront of the same disk, and
 * drain every `drain_every` I/Os, calling idle() when nothing is in flight
 * (a point where the caller can check that every resource came back).
 *
 * Runs on the blkfront's loop thread; callbacks come from there too.
 */
#ifndef XENSIM_DRIVERS_BLKWORK_H
#define XENSIM_DRIVERS_BLKWORK_H

#include <stdbool.h>
#include <stdint.h>

struct blkfront;
struct blkwork;

#define BLKWORK_QUEUE_DEPTH_MAX 256u
#define BLKWORK_FAILURE_MAX 256u

struct blkwork_config {
	uint64_t seed;
	uint32_t ios;                 /* I/Os to complete */
	uint32_t queue_depth;         /* 1..BLKWORK_QUEUE_DEPTH_MAX */
	uint32_t size_min, size_max;  /* bytes; rounded to the sector size */
	uint32_t read_pct;            /* share of reads among reads and writes */
	uint32_t flush_pct, discard_pct;   /* share of all I/Os */
	uint64_t span_start;          /* where the region used starts (sector-aligned) */
	uint64_t span_bytes;          /* the region used, from span_start; 0: the rest of the disk */
	bool verify_at_end;           /* then read the span back and check it */
	bool disk_dirty;              /* unknown content: only check what we wrote */
	uint32_t initial_tag;         /* the disk holds blkwork_pattern(tag) everywhere; 0: zeros */
	bool continue_on_error;       /* an I/O error is counted, not the end */
	uint32_t drain_every;         /* let the queue drain every N I/Os (0: never) */
	void (*idle)(void *arg);      /* nothing in flight (drain points, end of phases) */
	void (*progress)(void *arg, uint32_t done);   /* done = 1, 2, ... each once */
	void (*finished)(void *arg);  /* once: all done, or stopped by an error */
	void *arg;
};

struct blkwork_result {
	bool finished;
	uint32_t done, reads, writes, flushes, discards;
	uint32_t unsupported;         /* flush/discard answered -EOPNOTSUPP */
	uint32_t errors;              /* I/Os that failed otherwise */
	uint32_t canceled;            /* completed -ECANCELED or -ENODEV while paused (device
				       * closed or removed under them) */
	uint32_t idle_points;
	uint32_t mismatches;          /* blocks read back other than the model allows */
	uint64_t bytes_read, bytes_written, blocks_verified;
	char failure[BLKWORK_FAILURE_MAX];   /* the first problem, with values */
};

/* Start: the first I/Os are submitted before this returns. -EINVAL (bad
 * config, blkfront not connected), -ENOMEM. */
int blkwork_start(struct blkfront *bf, const struct blkwork_config *cfg, struct blkwork **out);
void blkwork_result(const struct blkwork *w, struct blkwork_result *out);
/* Stop issuing (what is in flight completes as it will); I/Os in flight. */
unsigned blkwork_pause(struct blkwork *w);
/* Carry on over bf (the same disk, maybe a new blkfront): -EINVAL if its
 * geometry differs. */
int blkwork_resume(struct blkwork *w, struct blkfront *bf);
/* The disk grew to size_bytes (online resize): a workload whose span is
 * the rest of the disk takes the new room in, as never written (zeros, or
 * unknown if disk_dirty). 0 (also when its span is fixed or nothing grew);
 * -EINVAL for a smaller or unaligned size (the model cannot shrink), -ENOMEM. */
int blkwork_grow(struct blkwork *w, uint64_t size_bytes);
/* The content a write tagged `tag` puts in `block` (bs bytes), for a caller
 * that fills a disk the way initial_tag says. */
void blkwork_pattern(uint64_t seed, uint32_t tag, uint64_t block, uint32_t bs, void *out);
/* Only once finished, or after the blkfront was closed (which completes
 * every I/O). */
void blkwork_free(struct blkwork *w);

#endif
