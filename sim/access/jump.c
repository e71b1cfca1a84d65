/*
 * The index jump (opt-in: sim_access_config.jump): a peer's producer index
 * moved between two of its consumer's reads.
 *
 * A consumer reads the peer's producer index (req_prod for a backend,
 * rsp_prod for a frontend), checks it against the ring (at most RING_SIZE
 * ahead of what it consumed) and consumes up to that value. A driver that
 * reads the index again and acts on the new value unchecked (the double
 * fetch of ring.h's indices, XSA-155's class) consumes slots the peer never
 * published, once the peer moves the index in between. The double-fetch
 * detector (detect.c) leaves the indices out, since reading them again is
 * how a consumer learns of more work; what matters is whether the value
 * acted on was checked.
 *
 * So at the n-th re-read of a producer index by its consumer (a second or
 * later read since the consumer's last push), the index is moved 2^30
 * ahead just before the load, as a hostile peer could. However the value
 * got there, a consumer holding it must read no slot of that ring while
 * the index still holds it: a correct one checks it, finds it past the ring
 * and stops (disconnects, says why). A slot read of that page by that
 * domain meanwhile is a finding.
 *
 * One jump per run, chosen by n (the run's seed): re-reads are counted by
 * code location, numbered in the order they first re-read, and n picks the
 * location ((n - 1) % 8 + 1) and its occurrence ((n - 1) / 8 + 1). A sweep
 * of seeds 1..8 so jumps at each of the first eight re-reading locations
 * once (a driver's final checks, and any location that re-reads in a
 * loop), whatever the traffic on other rings; 9..16 at their second.
 *
 * Which words are indices: a page where the domain last wrote the other
 * producer index (its pushes) and wrote the event index of the one it reads
 * (a backend: pushes rsp_prod at 8, wrote req_event at 4, reads req_prod at
 * 0; a frontend: pushes req_prod at 0, wrote rsp_event at 12, reads
 * rsp_prod at 8; a frontend's SHARED_RING_INIT writes all four, its pushes
 * then tell which is its own).
 * Slots begin at byte 64 (the indices, then ring.h's 48 bytes of padding).
 * An address keeps what it showed for the run, and may map another page
 * later (a data page of a new connection): so the four words must also read
 * as a live ring's at the jump (req_prod at most 2^16 ahead of rsp_prod, the
 * event index within 2^16 of the index read). Random data passes that once
 * in 2^32; a miss at worst, never a slot read of a page that holds no ring.
 */
#include <stdatomic.h>
#include <stdlib.h>

#include "sim/access/access_internal.h"

#define ACC_JUMP_RINGS_MAX 64u      /* index pages per domain */
#define ACC_SLOTS_OFFSET 64u        /* offsetof(struct x_sring, ring) in ring.h */
#define ACC_RING_SLOTS_MAX 65536u   /* more than any ring's (blkif's of 16 pages: 512) */

struct acc_ring {
	uintptr_t page;
	uint8_t wrote;                  /* bit k: a 4-byte write at offset 4k */
	uint8_t pushed;                 /* the index written last: 1 req_prod, 2 rsp_prod */
	uint8_t reads[2];               /* of req_prod, rsp_prod since the last push */
};

struct acc_jdom {
	unsigned n;
	struct acc_ring r[ACC_JUMP_RINGS_MAX];
};

#define ACC_JUMP_SITES 8u           /* re-reading locations n cycles through */
#define ACC_JUMP_PCS_MAX 64u

static struct acc_jdom *acc_jdoms[SIM_DOMID_LIMIT];
static uint32_t acc_jump_site, acc_jump_nth, acc_jump_seen;   /* 0: no jump */
static const void *acc_jump_pcs[ACC_JUMP_PCS_MAX];            /* re-reading, in order */
static unsigned acc_jump_npcs;
static _Atomic int acc_jumped_grantor = -1;                  /* whose ring, once jumped */
static struct acc_jump_watch {
	bool on;
	volatile uint32_t *index;       /* holds f.was + ACC_JUMP_BY till the peer writes it */
	struct acc_finding f;           /* f.dom reads it; pc_first: the re-read jumped */
} acc_watch;

void acc_jump_reset(uint32_t at)
{
	for (unsigned i = 0; i < SIM_DOMID_LIMIT; i++)
		if (acc_jdoms[i])
			acc_jdoms[i]->n = 0;
	acc_jump_site = at ? (at - 1) % ACC_JUMP_SITES + 1 : 0;
	acc_jump_nth = at ? (at - 1) / ACC_JUMP_SITES + 1 : 0;
	acc_jump_seen = 0;
	acc_jump_npcs = 0;
	acc_watch.on = false;
	atomic_store(&acc_jumped_grantor, -1);
}

static uintptr_t acc_page_of(uintptr_t addr)
{
	return addr & ~(uintptr_t)(SIM_PAGE_SIZE - 1);
}

static struct acc_ring *acc_ring_of(domid_t dom, uintptr_t page)
{
	struct acc_jdom *d = acc_jdoms[dom];

	if (!d && !(d = acc_jdoms[dom] = calloc(1, sizeof(*d))))
		return NULL;
	for (unsigned i = 0; i < d->n; i++)
		if (d->r[i].page == page)
			return &d->r[i];
	if (d->n == ACC_JUMP_RINGS_MAX)
		return NULL;   /* a miss, never a false finding */
	d->r[d->n] = (struct acc_ring){.page = page};
	return &d->r[d->n++];
}

static void acc_window_ends(domid_t dom)
{
	struct acc_jdom *d = acc_jdoms[dom];

	for (unsigned i = 0; d && i < d->n; i++)
		d->r[i].reads[0] = d->r[i].reads[1] = 0;
}

/* The re-reading location's number (1: the first to re-read), 0 past the
 * table. */
static unsigned acc_site_number(const void *pc)
{
	for (unsigned i = 0; i < acc_jump_npcs; i++)
		if (acc_jump_pcs[i] == pc)
			return i + 1;
	if (acc_jump_npcs == ACC_JUMP_PCS_MAX)
		return 0;
	acc_jump_pcs[acc_jump_npcs++] = pc;
	return acc_jump_npcs;
}

/* The sring header at h reads as a live ring's, for a consumer of index k. */
static bool acc_header_live(const volatile uint32_t *h, unsigned k)
{
	uint32_t req_prod = h[0], rsp_prod = h[2], prod = h[2 * k], event = h[2 * k + 1];

	return req_prod - rsp_prod <= ACC_RING_SLOTS_MAX && event - prod + ACC_RING_SLOTS_MAX <= 2 * ACC_RING_SLOTS_MAX;
}

/* A read of index k (0: req_prod, 1: rsp_prod) of r, before the load. */
static void acc_index_read(const struct acc_event *ev, struct acc_ring *r, unsigned k)
{
	if (r->pushed != 2 - k || !(r->wrote & (1u << (2 * k + 1))))
		return;   /* the domain's own index, or no ring it consumes */
	if (r->reads[k] < 2)
		r->reads[k]++;
	volatile uint32_t *idx = (volatile uint32_t *)ev->addr;
	if (r->reads[k] < 2 || acc_watch.on || !acc_header_live(idx - 2 * k, k) ||
	    acc_site_number(ev->pc) != acc_jump_site || ++acc_jump_seen != acc_jump_nth)
		return;
	uint32_t was = *idx;
	*idx = was + ACC_JUMP_BY;
	atomic_store(&acc_jumped_grantor, (int)ev->where.page.grantor);
	acc_watch = (struct acc_jump_watch){
		.on = true, .index = idx,
		.f = {.dom = ev->dom, .grantor = ev->where.page.grantor, .ref = ev->where.page.ref,
		      .offset = ev->where.offset, .len = 4, .pc_first = ev->pc, .jumped = true,
		      .was = was},
	};
}

bool sim_access_jumped(domid_t grantor)
{
	int g = atomic_load(&acc_jumped_grantor);

	return g >= 0 && (grantor == DOMID_INVALID || g == (int)grantor);
}

void acc_jump(const struct acc_event *ev)
{
	if (!acc_jump_site || ev->dom >= SIM_DOMID_LIMIT)
		return;
	uintptr_t page = acc_page_of(ev->addr);
	if (acc_watch.on && ev->dom == acc_watch.f.dom && page == acc_page_of((uintptr_t)acc_watch.index) &&
	    !ev->write && ev->where.offset >= ACC_SLOTS_OFFSET) {
		acc_watch.on = false;
		if (*acc_watch.index == acc_watch.f.was + ACC_JUMP_BY) {
			acc_watch.f.pc_again = ev->pc;
			acc_finding_add(&acc_watch.f);
		}
	}
	uint32_t off = ev->where.offset;
	if (ev->len != 4 || off >= SIM_ACCESS_HEADER_BYTES || off % 4)
		return;
	struct acc_ring *r = acc_ring_of(ev->dom, page);
	if (!r)
		return;
	if (!ev->write) {
		if (off % 8 == 0)
			acc_index_read(ev, r, off / 8);
		return;
	}
	r->wrote |= (uint8_t)(1u << (off / 4));
	if (off % 8 == 0) {   /* a push */
		r->pushed = (uint8_t)(off / 8 + 1);
		acc_window_ends(ev->dom);
	}
}
