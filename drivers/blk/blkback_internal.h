/* Private to blkback (and its unit tests). */
#ifndef XENSIM_DRIVERS_BLKBACK_INTERNAL_H
#define XENSIM_DRIVERS_BLKBACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkstore.h"
#include "drivers/xenbus/xenbus.h"

/* ---- limits ---- */
#define BLKBACK_PAGE_SIZE (1u << XEN_PAGE_SHIFT)
#define BLKBACK_SECTOR_SHIFT 9u                  /* blkif sectors are 512 bytes */
#define BLKBACK_SECTORS_PER_PAGE (BLKBACK_PAGE_SIZE >> BLKBACK_SECTOR_SHIFT)
#define BLKBACK_SEGS_PER_INDIRECT_PAGE (BLKBACK_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BLKBACK_INDIRECT_SEGS_LIMIT (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKBACK_SEGS_PER_INDIRECT_PAGE)
#define BLKBACK_RING_PAGES_MAX (1u << BLKBACK_RING_ORDER_MAX)
#define BLKBACK_REQS_PER_BATCH 32u               /* then yield to other vbds */
#define BLKBACK_PERSISTENT_DEFAULT 2048u         /* persistent grants per vbd */
#define BLKBACK_PERSISTENT_LIMIT 8192u           /* a frontend's whole grant table */
#define BLKBACK_VBDS_DEFAULT 64u
/* One watch per vbd (its frontend's state) plus discovery, on one xenstore
 * connection, whose watches xenstored bounds. */
#define BLKBACK_VBDS_LIMIT (XENBUS_WATCHES_MAX - 1u)
#define BLKBACK_CLOSE_TIMEOUT_MS 10000u          /* frontend's answer to Closing */
#define BLKBACK_LOG_BUDGET 8u                    /* error lines per vbd connection */
#define BLKBACK_NAME_MAX 64u

_Static_assert(BLKBACK_INDIRECT_SEGS_LIMIT == 4096, "8 indirect pages of 512 segments");
_Static_assert(BLKBACK_INDIRECT_SEGS_DEFAULT <= BLKBACK_INDIRECT_SEGS_LIMIT, "default within limit");
_Static_assert(BLKBACK_SECTORS_PER_PAGE == 8, "first_sect/last_sect are 0..7");
_Static_assert(sizeof(blkif_request_t) == 112, "a request is 112 bytes");
_Static_assert(BLKBACK_QUEUES_MAX <= 64, "queue-N names stay short");
_Static_assert(BLKBACK_VBDS_DEFAULT <= BLKBACK_VBDS_LIMIT, "default within the watch budget");

/* ---- request validation (blkback_req.c): pure functions on a copy ---- */

/* What the vbd allows; sizes in 512-byte sectors. */
struct blkback_limits {
	uint64_t sectors;
	uint32_t sector_size;           /* 512 or 4096 */
	unsigned indirect_segs_max;     /* 0: BLKIF_OP_INDIRECT not offered */
	bool readonly, flush, barrier, discard;
};

/* A request as validated: op resolved (INDIRECT -> its indirect_op). */
struct blkback_req {
	uint64_t id;
	uint8_t op;                     /* READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE, DISCARD */
	uint8_t rsp_op;                 /* the operation echoed in the response */
	bool indirect;
	uint64_t sector;                /* first sector, 512-byte units */
	uint64_t nr_sectors;            /* filled by blkback_segs_check (or discard) */
	unsigned nr_segs;
	unsigned nr_indirect_pages;
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
	struct blkif_request_segment direct[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};

/* The header of a request copy. Returns BLKIF_RSP_OKAY (go on), _ERROR
 * (malformed or not allowed) or _EOPNOTSUPP, with *why for a refusal. */
int blkback_req_check(const struct blkback_limits *lim, const blkif_request_t *req,
		      struct blkback_req *out, const char **why);
/* The segments (r->direct or the copied indirect ones) and the range they
 * cover; fills r->nr_sectors. BLKIF_RSP_OKAY or _ERROR with *why. */
int blkback_segs_check(const struct blkback_limits *lim, struct blkback_req *r,
		       const struct blkif_request_segment *segs, const char **why);

/* ---- instance, vbds, queues ---- */

struct blkback_pgrant {           /* one persistently mapped grant */
	grant_ref_t pg_ref;
	void *pg_addr;                /* NULL: empty slot */
};

struct blkback_pmap {             /* one map call's pages, unmapped whole */
	void *pm_addr;
	unsigned pm_pages;
};

struct blkback_vbd;

struct blkback_queue {
	struct blkback_vbd *q_vbd;
	unsigned q_index;
	void *q_ring_addr;
	unsigned q_ring_pages;
	blkif_back_ring_t q_ring;
	struct xenbus_evtchn *q_evtchn;
	struct event *q_work_ev;            /* continue after a full batch */
	bool q_dead;                        /* violation seen: take nothing more */
	uint8_t *q_buf;                     /* one request's data */
	uint8_t **q_pages;                  /* one request's mapped pages (persistent) */
	grant_ref_t *q_refs;                /* one request's refs to map persistently */
	size_t q_buf_bytes;
	struct blkif_request_segment *q_segs;       /* indirect segments, copied */
	xengnttab_grant_copy_segment_t *q_copy;     /* one batch of grant copies */
};

struct blkback_vbd {
	struct blkback_vbd *vbd_next;
	struct blkback *vbd_bb;
	uint32_t vbd_fe_domid, vbd_devid;
	/* The xenbus lifecycle: bd_dir backend/vbd/<fe>/<devid> (relative),
	 * bd_fe_dir the frontend's (absolute), bd_phase; REFUSED when its keys
	 * name nothing we can serve. */
	struct xenbus_backend_dev vbd_be;
	struct blk_store *vbd_store;
	bool vbd_readonly;
	uint64_t vbd_sectors_published;     /* what the frontend was told */
	struct blkback_limits vbd_limits;
	xengnttab_handle *vbd_gt;
	bool vbd_persistent;
	/* Grants kept mapped, shared by the queues: the frontend's pool is one
	 * per device. Open addressing, never shrinks while connected. A
	 * request's new grants are mapped by one call (vbd_pmaps: at most one
	 * per grant), and a disconnect unmaps each call's range whole. */
	struct blkback_pgrant *vbd_pgrants;
	unsigned vbd_pgrants_slots, vbd_pgrants_used, vbd_pgrants_max;
	struct blkback_pmap *vbd_pmaps;
	unsigned vbd_pmaps_n;
	unsigned vbd_nr_queues;
	struct blkback_queue *vbd_queues;
	unsigned vbd_log_budget;
};

struct blkback_disk {
	struct blkback_disk *dk_next;
	char dk_name[BLKBACK_NAME_MAX];
	struct blk_store *dk_store;
};

struct blkback {
	struct blkback_config bb_cfg;
	struct xenbus *bb_xb;
	struct xenbus_watch *bb_discover;
	struct blkback_vbd *bb_vbds;
	struct blkback_disk *bb_disks;
	struct blkback_stats bb_stats;
	struct xenbus_evtchn_stats bb_ev_closed;   /* counters of closed channels */
};

/* blkback.c */
void blkback_vbd_log(struct blkback_vbd *vbd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A protocol violation: stop taking requests, disconnect soon, count. */
void blkback_vbd_fatal(struct blkback_vbd *vbd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* blkback_ring.c */
int blkback_rings_connect(struct blkback_vbd *vbd);
void blkback_rings_disconnect(struct blkback_vbd *vbd);

/* blkback_io.c */
bool blkback_queue_work(struct blkback_queue *q);

#endif
