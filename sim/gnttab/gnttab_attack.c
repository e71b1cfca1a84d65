/*
 * The protocol-agnostic attack on shared memory (DESIGN.md section 7). At a
 * scheduling point, a domain that granted a page to another rewrites bytes of
 * it while the other holds it mapped: what a hostile peer can do on real Xen
 * at any moment, here at moments the seed chooses. It knows no protocol, so it
 * reaches any code that maps grants, ours or a user's.
 *
 * Sites:
 *   gnttab.shm.flip     one bit of one byte anywhere in the page
 *   gnttab.shm.rewrite  one aligned 32-bit word set to an edge value (0, ~0,
 *                       2^31, the old value +-1, +256: a ring index pushed
 *                       past a full ring, or a random word)
 * Three strikes in four hit a byte the grantor changed since the last strike
 * at that page (live data: a request just published, an index just moved);
 * the others hit anywhere (a rewrite, one time in four of those, in the first
 * 64 bytes, where io/ring.h keeps a ring's shared indices).
 * An occurrence is a scheduling point (det mode) at which at least one page
 * is granted by the attacker and mapped by another domain; the page is drawn
 * uniformly among those, the offset and value from the run's seeded PRNG, so
 * a seed replays its flips. The context is {domid: the grantor (attacker),
 * peer: the mapper (victim)}; `fault gnttab.shm.flip ... on guest` attacks
 * only pages guest granted (the aim names the attacker, not the victim).
 *
 * The bytes are written through the hypervisor's view of the grantor's own
 * frame, never through the victim's mapping (which may be read-only) and never
 * into anything but a frame that is granted and mapped right now.
 */
#include <string.h>

#include "sim/gnttab/gnttab_internal.h"

#define SHM_RING_HEAD_BYTES 64u      /* io/ring.h: req_prod, req_event, rsp_prod, rsp_event, pad */
#define SHM_HEAD_ONE_IN 4u           /* rewrites aimed at the ring header: 1 in 4 */
#define SHM_WALK_ALL UINT32_MAX
#define SHM_SNAPS_MAX 64u            /* pages whose bytes at the last strike are kept */
#define SHM_FRESH_ONE_IN 4u          /* strikes anywhere rather than at fresh bytes: 1 in 4 */

SIM_FAULT_SITE_TRACED(gnttab_shm_flip, "gnttab.shm.flip",
	       "a grantor flips one bit of a page it granted, while the mapper has it mapped");
SIM_FAULT_SITE_TRACED(gnttab_shm_rewrite, "gnttab.shm.rewrite",
	       "a grantor rewrites a 32-bit word of a page it granted, while the mapper has it mapped");

/* Injections per attacking grantor since its domain was created. */
static _Atomic uint64_t shm_injected[SIM_DOMID_LIMIT];

uint64_t gnttab_shm_injected_by(domid_t grantor)
{
	return grantor < SIM_DOMID_LIMIT ? atomic_load(&shm_injected[grantor]) : 0;
}

static void shm_snaps_forget(domid_t grantor);

static void shm_on_create(domid_t domid)
{
	atomic_store(&shm_injected[domid], 0);
	pthread_mutex_lock(&gnttab_lock);
	shm_snaps_forget(domid);
	gnttab_unlock();
}

static const struct sim_domain_hooks shm_hooks = {
	.name = "gnttab.shm", .order = 11, .on_create = shm_on_create,
};

struct shm_target {
	domid_t grantor, mapper;
	uint32_t ref, frame;
};

/* The aimed attacker, or DOMID_INVALID for every grantor. */
static domid_t shm_attacker(const struct sim_fault_site *site)
{
	return site->aim.set ? site->aim.domid : DOMID_INVALID;
}

/* A page of a live grantor, granted now, mapped by another domain. */
static bool shm_page_attackable(const struct gnttab_page *p, domid_t mapper, domid_t attacker)
{
	const struct gnttab_domain *g = p->grantor;

	if (!g || g->dead || g->domid == mapper || p->ref >= GNTTAB_GRANTS_MAX)
		return false;
	if (attacker != DOMID_INVALID && g->domid != attacker)
		return false;
	return g->entries[p->ref].flags != GTF_invalid && g->entries[p->ref].frame == p->frame;
}

/* Count the attackable pages (want SHM_WALK_ALL), or find the want-th one.
 * Handles, their mappings and pages in list order: the same in every replay. */
static uint32_t shm_walk_locked(domid_t attacker, uint32_t want, struct shm_target *out)
{
	uint32_t n = 0;

	for (const struct xengntdev_handle *h = gnttab_handles_first_locked(); h; h = h->next) {
		if (h->kind != GNTTAB_KIND_TAB || h->dead)
			continue;
		for (const struct gnttab_mapping *m = h->maps; m; m = m->next) {
			for (uint32_t i = 0; i < m->count; i++) {
				const struct gnttab_page *p = &m->pages[i];
				if (!shm_page_attackable(p, m->domid, attacker))
					continue;
				if (n++ == want) {
					*out = (struct shm_target){.grantor = p->grantor->domid,
								   .mapper = m->domid, .ref = p->ref,
								   .frame = p->frame};
					return n;
				}
			}
		}
	}
	return n;
}

static uint32_t shm_edge_value(uint32_t old, uint64_t r)
{
	switch (r % 8) {
	case 0: return 0;
	case 1: return UINT32_MAX;
	case 2: return 0x80000000u;
	case 3: return old + 1;
	case 4: return old - 1;
	case 5: return old + 256;
	case 6: return old ^ 0xffff0000u;
	default: return (uint32_t)(r >> 32);
	}
}

/* ---- where to strike: bytes the grantor changed since ----
 *
 * A byte the grantor wrote since the last strike at this page is live data
 * (a request just published, an index just moved): the window in which a
 * peer reads it, checks it and perhaps reads it again. Three strikes in four
 * go there when there is such a byte; the others anywhere. No protocol is
 * known: only what changed. */

/* Which page each snapshot holds, apart from the bytes, so that looking one
 * up touches one small array (the bytes stay untouched, and not resident,
 * in runs that never strike). */
struct shm_snap {
	bool used;
	domid_t grantor;
	uint32_t frame;
	uint8_t *bytes;
};

static struct shm_snap shm_snaps[SHM_SNAPS_MAX];   /* under gnttab_lock */
static uint8_t shm_snap_bytes[SHM_SNAPS_MAX][GNTTAB_PAGE_SIZE];
static unsigned shm_snap_next;

static struct shm_snap *shm_snap_find(domid_t grantor, uint32_t frame)
{
	for (unsigned i = 0; i < SHM_SNAPS_MAX; i++)
		if (shm_snaps[i].used && shm_snaps[i].grantor == grantor && shm_snaps[i].frame == frame)
			return &shm_snaps[i];
	return NULL;
}

static void shm_snap_take(struct shm_snap *s, domid_t grantor, uint32_t frame, const uint8_t *page)
{
	if (!s) {
		s = &shm_snaps[shm_snap_next];
		s->bytes = shm_snap_bytes[shm_snap_next];
		shm_snap_next = (shm_snap_next + 1) % SHM_SNAPS_MAX;
	}
	s->used = true;
	s->grantor = grantor;
	s->frame = frame;
	memcpy(s->bytes, page, GNTTAB_PAGE_SIZE);
}

/* A domain created anew (a new run, a restart) starts with no history. */
static void shm_snaps_forget(domid_t grantor)
{
	for (unsigned i = 0; i < SHM_SNAPS_MAX; i++)
		if (shm_snaps[i].grantor == grantor)
			shm_snaps[i].used = false;
}

/* The k-th byte (k < changed count) that differs from the snapshot. */
static uint32_t shm_changed_nth(const uint8_t *page, const struct shm_snap *s, uint32_t k)
{
	for (uint32_t i = 0; i < GNTTAB_PAGE_SIZE; i++)
		if (page[i] != s->bytes[i] && k-- == 0)
			return i;
	return 0;
}

static uint32_t shm_pick_offset(const uint8_t *page, const struct shm_snap *s, bool flip,
				uint64_t r)
{
	uint32_t changed = 0;

	for (uint32_t i = 0; s && i < GNTTAB_PAGE_SIZE; i++)
		changed += page[i] != s->bytes[i];
	if (changed && r % SHM_FRESH_ONE_IN != 0)
		return shm_changed_nth(page, s, (uint32_t)((r >> 8) % changed));
	if (!flip && (r >> 4) % SHM_HEAD_ONE_IN == 0)
		return (uint32_t)((r >> 8) % SHM_RING_HEAD_BYTES);
	return (uint32_t)((r >> 8) % GNTTAB_PAGE_SIZE);
}

/* Rewrite the page; returns the byte offset changed (a word's first byte). */
static uint32_t shm_apply(uint8_t *page, const struct shm_snap *s, bool flip)
{
	uint64_t r = sim_rng_next();
	uint32_t off = shm_pick_offset(page, s, flip, r), word;

	if (flip) {
		page[off] ^= (uint8_t)(1u << ((r >> 40) % 8));
		return off;
	}
	off &= ~3u;
	memcpy(&word, page + off, sizeof(word));
	word = shm_edge_value(word, sim_rng_next());
	memcpy(page + off, &word, sizeof(word));
	return off;
}

static void shm_inject(struct sim_fault_site *site, const struct shm_target *t, bool flip)
{
	uint8_t *page = sim_frame_hv(t->grantor, t->frame);

	GNTTAB_ASSERT(page, "dom%u ref %u: granted frame %u has no hypervisor view", t->grantor,
		      t->ref, t->frame);
	struct shm_snap *snap = shm_snap_find(t->grantor, t->frame);
	uint32_t off = shm_apply(page, snap, flip);
	shm_snap_take(snap, t->grantor, t->frame, page);
	atomic_fetch_add(&shm_injected[t->grantor], 1);
	sim_trace_mix(site->name, (uint64_t)t->ref << 32 | off);
	sim_trace_event(SIM_TR_FAULT, t->grantor, t->mapper, t->ref, off, site->name);
}

static void shm_try(struct sim_fault_site *site, bool flip)
{
	struct shm_target t;

	if (!atomic_load_explicit(&site->armed, memory_order_relaxed))
		return;
	/* Held by this very thread (a point inside gnttab) or a parked one: no
	 * attack this time, the same way in every replay. */
	if (pthread_mutex_trylock(&gnttab_lock) != 0)
		return;
	domid_t attacker = shm_attacker(site);
	uint32_t n = shm_walk_locked(attacker, SHM_WALK_ALL, &t);
	if (n > 0) {
		uint32_t k = n == 1 ? 0 : (uint32_t)(sim_rng_next() % n);
		shm_walk_locked(attacker, k, &t);
		struct sim_fault_ctx ctx = {.domid = t.grantor, .peer = t.mapper,
					    .port = SIM_FAULT_PORT_ANY};
		if (sim_fault_hit_ctx(site, &ctx))
			shm_inject(site, &t, flip);
	}
	gnttab_unlock();
}

/* The scheduler's hook: two loads when neither site is armed. */
static void shm_point(domid_t domid, const char *site)
{
	(void)domid;
	(void)site;
	shm_try(&gnttab_shm_flip, true);
	shm_try(&gnttab_shm_rewrite, false);
}

__attribute__((constructor)) static void shm_register(void)
{
	sim_sched_set_point_hook(shm_point);
	sim_domain_hooks_register(&shm_hooks);
}
