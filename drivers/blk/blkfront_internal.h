/* Private to blkfront (and its unit tests). */
#ifndef XENSIM_DRIVERS_BLKFRONT_INTERNAL_H
#define XENSIM_DRIVERS_BLKFRONT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xengnttab.h>

#include <event2/event.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "drivers/blk/blkfront.h"
#include "drivers/xenbus/xenbus.h"

/* ---- limits ---- */
#define BLKFRONT_PAGE_SIZE (1u << XEN_PAGE_SHIFT)
#define BLKFRONT_SECTOR_SHIFT 9u
#define BLKFRONT_SEGS_PER_INDIRECT_PAGE (BLKFRONT_PAGE_SIZE / sizeof(struct blkif_request_segment))
#define BLKFRONT_INDIRECT_SEGS_LIMIT (BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST * BLKFRONT_SEGS_PER_INDIRECT_PAGE)
#define BLKFRONT_RING_ORDER_MAX 4u
#define BLKFRONT_QUEUES_MAX 16u
#define BLKFRONT_GRANT_PAGES_DEFAULT 2048u      /* 8 MiB shared at most */
#define BLKFRONT_GRANT_PAGES_LIMIT 8000u        /* below Xen's 8192 grant entries */
#define BLKFRONT_IOS_DEFAULT 256u
#define BLKFRONT_IOS_LIMIT 65536u
#define BLKFRONT_POOL_CHUNK_PAGES 64u           /* pool grows by one share of this */
#define BLKFRONT_RECONNECT_MS_DEFAULT 30000u
#define BLKFRONT_SYNC_MS_DEFAULT 30000u
#define BLKFRONT_CONNECT_TRIES_MAX 4u           /* refused connections in a row */
#define BLKFRONT_ERROR_MAX 192u
#define BLKFRONT_LOG_BUDGET 8u                  /* lines a backend can make us log */
/* Page lists a shadow holds without an allocation: a 64 KiB part and its
 * indirect page, so the common sizes cost no malloc per request. */
#define BLKFRONT_SH_INLINE_PAGES 17u

_Static_assert(BLKFRONT_INDIRECT_SEGS_LIMIT == 4096, "8 indirect pages of 512 segments");
_Static_assert(BLKFRONT_GRANT_PAGES_DEFAULT <= BLKFRONT_GRANT_PAGES_LIMIT, "default within limit");
_Static_assert(BLKFRONT_SH_INLINE_PAGES > BLKIF_MAX_SEGMENTS_PER_REQUEST, "every direct request fits inline");
_Static_assert(BLKFRONT_GRANT_PAGES_LIMIT >= BLKFRONT_INDIRECT_SEGS_LIMIT + BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST,
	       "the largest request fits in the grant budget");

enum blkfront_phase {
	BF_RESETTING,        /* stale state from an earlier instance: Closed first */
	BF_WAIT_BACKEND,     /* Initialising, no rings; waiting for InitWait */
	BF_PUBLISHED,        /* rings published (Initialised), waiting for Connected */
	BF_CONNECTED,
	BF_BACKEND_CLOSED,   /* the backend closed: we are Closed, waiting for it */
	BF_DEAD,             /* terminal */
};

/* A page granted to the backend from the persistent pool. */
struct blkfront_page {
	struct blkfront_page *pg_next;   /* free list (LIFO: recently used first) */
	uint8_t *pg_addr;
	uint32_t pg_ref;
};

struct blkfront_chunk {              /* one xengntshr_share_pages() of the pool */
	struct blkfront_chunk *ck_next;
	void *ck_addr;
	unsigned ck_pages;
	struct blkfront_page ck_page[];
};

/* One user I/O, split into ring requests ("parts"). */
struct blkfront_io {
	struct blkfront_io *io_next;     /* on the pending list or the done list */
	uint8_t io_op;                   /* BLKIF_OP_READ/WRITE/FLUSH_DISKCACHE/DISCARD */
	uint64_t io_offset;
	size_t io_len;
	uint8_t *io_buf;
	size_t io_issued;                /* bytes handed to parts so far */
	unsigned io_parts;               /* parts issued, not completed */
	bool io_pending;                 /* on the pending list */
	int io_status;
	blkfront_done_fn *io_done;       /* NULL: forgotten (a sync call timed out) */
	void *io_arg;
};

/* A FIFO of I/Os. */
struct blkfront_ioq {
	struct blkfront_io *head, *tail;
};

static inline void blkfront_ioq_push(struct blkfront_ioq *l, struct blkfront_io *io)
{
	io->io_next = NULL;
	if (l->tail)
		l->tail->io_next = io;
	else
		l->head = io;
	l->tail = io;
}

static inline struct blkfront_io *blkfront_ioq_pop(struct blkfront_ioq *l)
{
	struct blkfront_io *io = l->head;

	if (io) {
		l->head = io->io_next;
		if (!l->head)
			l->tail = NULL;
		io->io_next = NULL;
	}
	return io;
}

/* All of `front` ahead of l. */
static inline void blkfront_ioq_prepend(struct blkfront_ioq *l, struct blkfront_ioq *front)
{
	if (!front->head)
		return;
	front->tail->io_next = l->head;
	if (!l->tail)
		l->tail = front->tail;
	l->head = front->head;
	*front = (struct blkfront_ioq){0};
}

/* One ring request in flight. */
struct blkfront_shadow {
	uint64_t sh_id;                  /* 0: free */
	uint32_t sh_next_free;
	uint8_t sh_op;                   /* what the response must echo */
	bool sh_indirect;
	struct blkfront_io *sh_io;
	size_t sh_off;                   /* of the io */
	uint32_t sh_bytes;
	unsigned sh_ndata, sh_npages;    /* data pages, all pages (with indirect) */
	struct blkfront_page **sh_pool;  /* pool mode: its pages (sh_pool_inline or malloc'd) */
	void *sh_share;                  /* share mode: its own grant of sh_npages */
	uint32_t *sh_refs;               /* share mode: their refs (sh_refs_inline or malloc'd) */
	struct blkfront_page *sh_pool_inline[BLKFRONT_SH_INLINE_PAGES];
	uint32_t sh_refs_inline[BLKFRONT_SH_INLINE_PAGES];
};

struct blkfront;

struct blkfront_queue {
	struct blkfront *q_bf;
	unsigned q_index;
	void *q_sring;
	uint32_t q_refs[1u << BLKFRONT_RING_ORDER_MAX];
	blkif_front_ring_t q_ring;
	struct xenbus_evtchn *q_evtchn;
	struct blkfront_shadow *q_shadow;   /* RING_SIZE entries */
	uint32_t q_free;                    /* first free shadow, or UINT32_MAX */
	uint32_t q_gen;                     /* id = gen << 32 | slot: stale ids differ */
	unsigned q_inflight;
};

struct blkfront {
	struct blkfront_config bf_cfg;
	struct xenbus *bf_xb;
	char bf_dir[XENBUS_DIR_MAX];        /* device/vbd/<devid> (relative) */
	struct xenbus_otherend bf_back;
	struct xenbus_watch *bf_watch;      /* the backend's state */
	enum blkfront_phase bf_phase;
	char bf_error[BLKFRONT_ERROR_MAX];
	int bf_fail_status;                 /* what I/O in flight ends with then */
	struct event *bf_defer_ev;          /* teardown after a violation */
	struct event *bf_reconnect_timer;
	bool bf_away;                       /* the backend's directory vanished */
	unsigned bf_connect_tries;
	unsigned bf_log_budget;
	bool bf_closing;                    /* in blkfront_close: no new I/O */
	bool bf_ever_connected;
	xengntshr_handle *bf_gs;

	/* negotiated */
	unsigned bf_nq, bf_order;
	struct blkfront_queue *bf_queues;
	unsigned bf_next_queue;
	struct blkfront_info bf_info;
	unsigned bf_segs_max;               /* per ring request */

	/* I/O */
	struct blkfront_ioq bf_pending;     /* accepted, not (fully) issued */
	struct blkfront_ioq bf_done;        /* completed, callback not run yet */
	struct event *bf_done_ev;           /* runs the callbacks from the loop */
	struct blkfront_io *bf_io_free;     /* spare I/O records (at most ios_max exist) */
	unsigned bf_ios;                    /* accepted, not completed */
	int bf_cb_depth;                    /* inside our callbacks */
	bool bf_plugged;                    /* running completions: submissions wait for one kick */
	struct blkfront_chunk *bf_chunks;
	struct blkfront_page *bf_free_pages;
	unsigned bf_pool_pages, bf_pool_free;
	unsigned bf_grant_pages;            /* pool + per-request grants */
	struct blkfront_stats bf_stats;
	struct xenbus_evtchn_stats bf_ev_closed;
};

/* ---- blkfront.c ---- */
/* A protocol violation by the backend: terminal (once), logged with values. */
void blkfront_fail(struct blkfront *bf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void blkfront_event(struct blkfront *bf, enum blkfront_event ev);
/* A line about what the backend did, at most BLKFRONT_LOG_BUDGET per connection. */
void blkfront_log(struct blkfront *bf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- blkfront_ring.c ---- */
/* The queues and ring order both ends offer, as the backend's keys say now
 * (read in t, XBT_NULL for none). */
int blkfront_offer_read(struct blkfront *bf, xs_transaction_t t, unsigned *nq, unsigned *order);
int blkfront_rings_setup(struct blkfront *bf);
/* Release rings and channels; the I/Os with parts in flight go back to the
 * head of the pending list, to be issued again whole. */
void blkfront_rings_teardown(struct blkfront *bf);
int blkfront_rings_publish(struct xs_handle *xs, xs_transaction_t t, struct blkfront *bf);
int blkfront_keys_clean(struct xs_handle *xs, xs_transaction_t t, struct blkfront *bf);
void blkfront_pool_free(struct blkfront *bf);

/* ---- blkfront_io.c ---- */
/* Issue what the pending list holds, as far as rings and grants allow. */
void blkfront_kick(struct blkfront *bf);
/* Complete every pending I/O with status (close, failure; rings down). */
void blkfront_fail_all(struct blkfront *bf, int status);
/* Run the callbacks of completed I/Os, then issue what they submitted (all
 * of it in one push: one notification for a batch, not one per I/O). */
void blkfront_dispatch(struct blkfront *bf);
/* Free the spare I/O records. */
void blkfront_io_free_all(struct blkfront *bf);
void blkfront_dispatch_cb(evutil_socket_t fd, short what, void *arg);
bool blkfront_queue_event(void *arg);
/* Give back a part's pages and shadow slot. */
void blkfront_part_release(struct blkfront_queue *q, struct blkfront_shadow *sh);
/* An I/O whose caller stopped waiting (done, arg): its completion calls
 * nothing and copies nothing. */
void blkfront_io_forget(struct blkfront *bf, blkfront_done_fn *done, void *arg);

/* The response check, pure: 0 if rsp answers the request in the shadow
 * table, else -EPROTO and *why. */
int blkfront_rsp_check(const struct blkfront_queue *q, const blkif_response_t *rsp,
		       const char **why);
/* A producer index is believable: at most the requests outstanding. */
bool blkfront_rsp_prod_ok(const blkif_front_ring_t *ring, RING_IDX rp);

#endif
