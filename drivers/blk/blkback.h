/*
 * drivers/blk: blkback, the block backend. One instance serves every vbd that
 * the toolstack creates under the calling domain's backend/vbd/, for any
 * number of frontends, from one libevent loop. Each vbd's disk comes from its
 * backend keys: params names a store given with blkback_disk_add(), else
 * (type "file" or "phy") params is a path opened as a file store; mode "r"
 * makes the vbd read-only.
 *
 * Offered features (io/blkif.h): multi-page rings, multi-queue, persistent
 * grants, indirect segments, flush, barrier, discard; 512 and 4096-byte
 * sectors come from the store. A frontend that breaks the protocol (ring
 * overflow, bad ring keys) is disconnected and counted; others carry on.
 *
 * Every function runs on the thread of cfg->base's loop. 0 or -errno.
 */
#ifndef XENSIM_DRIVERS_BLKBACK_H
#define XENSIM_DRIVERS_BLKBACK_H

#include <stdbool.h>
#include <stdint.h>

struct event_base;
struct blk_store;
struct blkback;

#define BLKBACK_RING_ORDER_MAX 4u        /* 16 pages per ring */
#define BLKBACK_QUEUES_MAX 16u
#define BLKBACK_INDIRECT_SEGS_DEFAULT 256u  /* 1 MiB in one request */

struct blkback_config {
	struct event_base *base;          /* required */
	unsigned ring_page_order_max;     /* max-ring-page-order offered, 0..4 */
	unsigned queues_max;              /* multi-queue-max-queues; 0/1: not offered */
	unsigned indirect_segs_max;       /* feature-max-indirect-segments; 0: none */
	bool persistent, flush, barrier, discard;
	unsigned persistent_grants_max;   /* kept mapped per vbd; 0: default */
	unsigned vbds_max;                /* 0: default (64); at most 127 */
};

struct blkback_stats {
	unsigned vbds, connected;
	unsigned refused;                 /* devices whose keys name no disk */
	uint64_t connects, disconnects;
	uint64_t requests;                /* taken off rings */
	uint64_t rsp_error, rsp_eopnotsupp;   /* answered with an error status */
	uint64_t invalid;                 /* malformed requests (a subset of rsp_error) */
	uint64_t grant_errors;            /* failed grant maps or copies */
	uint64_t fatal;                   /* frontends disconnected for a violation */
	uint64_t persistent_maps;         /* grants kept mapped */
	uint64_t persistent_map_calls;    /* map calls for them: one per request with new grants */
	uint64_t persistent_full;         /* segments copied with persistent grants on: the table was full */
	uint64_t bytes_read, bytes_written;
	uint64_t events, events_spurious, events_delayed;
};

int blkback_start(const struct blkback_config *cfg, struct blkback **out);
/* Disconnect every vbd (its state becomes Closed) and free the instance; the
 * devices stay in xenstore for a successor. */
void blkback_stop(struct blkback *bb);
/* Name a store for vbds whose params is that name (a reference is taken).
 * -EEXIST for a name in use. */
int blkback_disk_add(struct blkback *bb, const char *name, struct blk_store *store);
/* Look at the stores again: a connected vbd whose disk changed size
 * publishes the new size and re-writes Connected (a resize). */
void blkback_refresh(struct blkback *bb);
void blkback_stats(const struct blkback *bb, struct blkback_stats *out);
/* One counter, read without walking the vbds (for an observer that may look
 * while the instance is half way through a disconnect): persistent_full. */
uint64_t blkback_persistent_full(const struct blkback *bb);

#endif
