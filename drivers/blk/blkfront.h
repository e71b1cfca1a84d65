/*
 * drivers/blk: blkfront, the block frontend as a library for a guest domain.
 *
 * Open device/vbd/<devid>, then read, write, flush and discard by byte
 * offset, asynchronously (a completion callback) or synchronously (the call
 * runs the event loop until done). Large I/O is split into ring requests,
 * indirect ones when the backend offers them; data goes through pages granted
 * to the backend: a pool granted once and reused (persistent grants), or
 * pages granted per request, read-only for writes.
 *
 * The backend may restart: requests in flight are reissued on the new
 * connection, and an I/O completes only once the backend acknowledged all of
 * it. The backend may also be hostile: every response is validated (rsp_prod
 * bound, id in range and outstanding, operation matching); a violation puts
 * the device in a terminal error state where every I/O fails with -EIO and
 * blkfront_error() says what happened.
 *
 * Everything runs on the thread that runs cfg->base's loop; callbacks come
 * from that loop. 0 or a negative errno.
 */
#ifndef XENSIM_DRIVERS_BLKFRONT_H
#define XENSIM_DRIVERS_BLKFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct blkfront;

enum blkfront_op {
	BLKFRONT_READ,
	BLKFRONT_WRITE,
	BLKFRONT_FLUSH,       /* offset and length ignored */
	BLKFRONT_DISCARD,
};

enum blkfront_event {
	BLKFRONT_EV_CONNECTED,     /* first connection, or again after a restart */
	BLKFRONT_EV_DISCONNECTED,  /* the backend went away; I/O waits for it */
	BLKFRONT_EV_RESIZED,
	BLKFRONT_EV_FAILED,        /* terminal: see blkfront_error(); its rings are
				    * gone by then, it grants its pool's pages only */
};

typedef void blkfront_event_fn(void *arg, struct blkfront *bf, enum blkfront_event ev);
/* status: 0, -EIO (the backend said error, or the device failed),
 * -EOPNOTSUPP, -ECANCELED (closed first), -ETIMEDOUT (backend stayed away),
 * -ENODEV (the toolstack removed the device: its directories are gone). */
typedef void blkfront_done_fn(void *arg, int status);

struct blkfront_config {
	struct event_base *base;          /* required */
	uint32_t devid;
	unsigned queues_max;              /* 0/1: one queue */
	unsigned ring_page_order_max;     /* 0..4, capped by the backend */
	unsigned indirect_segs_max;       /* 0: never indirect; capped by the backend */
	bool persistent;                  /* pool of pages granted once */
	unsigned grant_pages_max;         /* pages granted at once; 0: default */
	unsigned ios_max;                 /* I/Os accepted, not completed; 0: default */
	unsigned reconnect_timeout_ms;    /* 0: default */
	unsigned sync_timeout_ms;         /* 0: default */
	blkfront_event_fn *on_event;      /* may be NULL */
	void *arg;
};

struct blkfront_info {
	bool connected;
	uint32_t backend_domid;
	uint64_t size_bytes;
	uint32_t sector_size;
	bool readonly, flush, barrier, discard, persistent;
	uint32_t discard_granularity;
	unsigned queues, ring_pages, ring_slots, indirect_segs;
};

struct blkfront_stats {
	uint64_t ios, requests, indirect_requests;
	uint64_t bytes_read, bytes_written;
	uint64_t connects, reissued, io_errors;
	uint64_t events, events_spurious;
	unsigned grant_pages;             /* granted now */
	unsigned ios_inflight;
	/* Now: the request slots of every queue (one per ring slot), those
	 * free and those a request in its ring holds; the persistent pool's
	 * pages, those free and those a request in a ring holds. Between calls
	 * into blkfront each slot and page is one or the other. */
	unsigned req_slots, req_slots_free, req_slots_in_ring;
	unsigned pool_pages, pool_pages_free, pool_pages_in_ring;
};

/* Start attaching to device/vbd/<devid>: returns at once, the handshake runs
 * in the loop (on_event says CONNECTED). -ENOENT no such device, -EINVAL. */
int blkfront_open(const struct blkfront_config *cfg, struct blkfront **out);
/* Close: pending I/Os complete with -ECANCELED (their callbacks run here),
 * the state goes Closing then Closed, grants and ports are released. Not
 * from inside one of this blkfront's callbacks. */
void blkfront_close(struct blkfront *bf);
/* Run the loop until connected: -ETIMEDOUT, -EIO if it failed, -EDEADLK if
 * called from inside the loop. */
int blkfront_wait_connected(struct blkfront *bf, unsigned timeout_ms);

int blkfront_info(const struct blkfront *bf, struct blkfront_info *out);
void blkfront_stats(const struct blkfront *bf, struct blkfront_stats *out);
/* NULL, or what put the device in its terminal error state. */
const char *blkfront_error(const struct blkfront *bf);

/* Queue an I/O; done(arg, status) runs later from the loop, never from
 * inside this call. offset and len are multiples of the sector size and
 * inside the disk; buf stays valid until done. -EINVAL, -EROFS, -EOPNOTSUPP
 * (flush/discard not offered), -EBUSY (ios_max reached), -ENOTCONN (never
 * connected), -EIO (failed state), -ESHUTDOWN (from a callback run by
 * blkfront_close). */
int blkfront_submit(struct blkfront *bf, enum blkfront_op op, uint64_t offset, void *buf,
		    size_t len, blkfront_done_fn *done, void *arg);
/* Synchronous forms: submit, then run the loop until done or the sync
 * timeout (-ETIMEDOUT; the I/O is then forgotten, not stopped). */
int blkfront_io(struct blkfront *bf, enum blkfront_op op, uint64_t offset, void *buf, size_t len);

#endif
