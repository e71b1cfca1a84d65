/* Private to the hostile blk frontend (hostile_blk_front*.c): its state and
 * the helpers both halves use. */
#ifndef SIM_SCENARIO_HOSTILE_BLK_FRONT_INTERNAL_H
#define SIM_SCENARIO_HOSTILE_BLK_FRONT_INTERNAL_H

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>

#include "sim/gnttab/gnttab.h"
#include "sim/scenario/hostile_blk.h"

#define HF_QD_MAX 8u
#define HF_SEGS_MAX 16u               /* data pages of one request */
#define HF_SLOT_PAGES (HF_SEGS_MAX + 1u)   /* and its indirect page */
#define HF_PAGE 4096u
#define HF_SECTORS_PER_PAGE 8u
#define HF_RECONNECTS_MAX 8u
#define HF_BAD_REF_LOW 3u             /* a reserved entry: never granted */
#define HF_BAD_REF_HIGH (GNTTAB_GRANTS_MAX - 2u)
#define HF_UNKNOWN UINT32_MAX         /* model: content not known */
#define HF_ID_WILD 0xdead000000000000ull
#define HF_RING_ORDER_LIE_MAX 8u      /* the largest ring-page-order blkif.h knows */
#define HF_OVER_OFFER_MAX 8u          /* segments past the offered indirect maximum */
#define HF_SEGS_PER_INDIRECT_PAGE (HF_PAGE / sizeof(struct blkif_request_segment))
#define HF_QUEUES_LIE_MAX 16u         /* the over lie: offered + 1 queues, at most this */

enum hf_lie { HF_LIE_NONE, HF_LIE_ID, HF_LIE_OP, HF_LIE_NSEG, HF_LIE_SECT, HF_LIE_SECTOR,
	      HF_LIE_INDIRECT, HF_LIE_GREF, HF_LIE_COUNT };
enum hf_counter { HF_C_SENT, HF_C_ANSWERED, HF_C_ERRORS, HF_C_LIES, HF_C_DISCONNECTS,
		  HF_C_CONNECTS, HF_C_ABANDONED, HF_C_RESTARTS, HF_C_COUNT };

enum hf_phase { HF_WAIT_INITWAIT, HF_WAIT_CONNECTED, HF_CONNECTED, HF_WAIT_CLOSED, HF_LEAVING, HF_FINISHED };

enum hf_expect { HF_EXPECT_OK, HF_EXPECT_REFUSED, HF_EXPECT_EITHER };

struct hf_slot {
	bool busy;
	uint64_t seq;                     /* issue order: duplicated ids match FIFO */
	uint64_t id;
	uint8_t op, alt_op;               /* echo expected: op, or (indirect) alt_op */
	enum hf_lie lie;
	enum hf_expect expect;
	bool write, read;
	bool flipped;                     /* rewritten READ <-> WRITE */
	/* A rewrite lands on the response instead when blkback answered
	 * first (they share the slot, both start at byte 0): the byte at
	 * rw_off went from rw_old to rw_new. rw_new == rw_old: none. */
	uint8_t rw_off, rw_old, rw_new;
	uint32_t page, npages;            /* disk pages covered */
	uint32_t tag;
	RING_IDX idx;
};

struct hf {
	struct scn_wl *wl;
	domid_t fe, be;
	uint32_t devid;
	bool readonly, persistent, be_ref, alive;
	bool mute;                      /* mute=1: never answers the backend's Closing */
	/* blk.hostile.front.restart: start over once the backend has mapped the
	 * ring (harness thread sees it, posts the restart to the front). */
	atomic_bool restart_want, restart_posted;
	uint32_t requests, qd, disk_pages, region;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[7];
	char vdev[16], disk[SCN_NAME_MAX + 8];
	struct blk_store *store;
	uint64_t sum_start, rng;
	/* the guest's side */
	struct xs_handle *xs;
	char fe_dir[64], be_dir[96], be_state[112];
	struct event *xs_ev, *ev_ev;
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	uint8_t *data, *ro;
	uint32_t data_refs[HF_QD_MAX * HF_SLOT_PAGES], ro_ref;
	blkif_sring_t *sring;
	uint32_t ring_ref;
	blkif_front_ring_t ring;
	enum hf_phase phase;
	unsigned indirect_max, reconnects, pgrants_max;
	unsigned order_lie;               /* ring-page-order asked beyond the offer, 0: none */
	bool queues_lie;                  /* multi-queue-num-queues out of bounds asked */
	unsigned queues_asked;            /* ... this many (0, or one past the offer) */
	unsigned keys_lies;               /* keys lies told: order, zero, over in turn */
	void *q_extra;                    /* the over lie's rings but queue 0's */
	unsigned q_extra_n;
	char proto_lie[40];               /* a protocol the backend does not know, "": none */
	unsigned proto_lies;
	unsigned long order_max;          /* max-ring-page-order offered */
	bool discard;                     /* feature-discard offered */
	unsigned block_sectors;           /* 512-byte sectors per disk sector (sector=): 1 or 8 */
	char mode[8];
	uint64_t sectors;
	struct hf_slot slots[HF_QD_MAX];
	uint32_t *model;                  /* per disk page: write tag, 0 zeros, HF_UNKNOWN */
	uint32_t sent, next_tag;
	uint64_t next_seq, last_id;
	_Atomic uint64_t c[HF_C_COUNT];
};

static inline void hf_count(struct hf *h, enum hf_counter c)
{
	atomic_fetch_add(&h->c[c], 1);
}

static inline uint64_t hf_rand(struct hf *h)
{
	return scn_wl_rand(&h->rng);
}

static inline bool hf_hit(struct hf *h, struct sim_fault_site *site)
{
	char device[24];

	snprintf(device, sizeof(device), "vbd/%u", h->devid);
	return scn_wl_lie(site, h->fe, h->be, device);
}

/* The content a write tagged `tag` puts in disk page `page`. */
static inline void hf_pattern(const struct hf *h, uint32_t tag, uint32_t page, uint8_t *out)
{
	blkwork_pattern(scn_wl_seed(h->wl) ^ 0x6866, tag, page, HF_PAGE, out);
}

static inline uint8_t *hf_page(struct hf *h, unsigned slot, unsigned k)
{
	return h->data + ((size_t)slot * HF_SLOT_PAGES + k) * HF_PAGE;
}

static inline uint32_t hf_ref(struct hf *h, unsigned slot, unsigned k)
{
	return h->data_refs[slot * HF_SLOT_PAGES + k];
}

/* hostile_blk_front_lies.c: a well-formed request for slot `slot`, and the
 * lie of kind `lie` told in it; hfb_lie_id the id lie (after hfb_lie). */
void hfb_good(struct hf *h, unsigned slot, blkif_request_t *req, blkif_request_indirect_t *ind, bool *indirect);
void hfb_lie(struct hf *h, unsigned slot, enum hf_lie lie, blkif_request_t *req, blkif_request_indirect_t *ind,
	     bool indirect);
void hfb_lie_id(struct hf *h, unsigned slot, uint64_t *id);

/* hostile_blk_front_keys.c: the queue lies of blk.hostile.front.keys. */
void hfk_clean(struct hf *h);
int hfk_queues_lie(struct hf *h, unsigned turn);
void hfk_release(struct hf *h, bool alive);

#endif
