/*
 * Domain memory and mappings. Each domain's memory is a memfd; a frame is one
 * page of it. Mapping a frame mmaps that page of the memfd at a new address with
 * the grant's protection, so read-only grants really are PROT_READ. An unmapped
 * range is replaced by PROT_NONE and kept reserved (quarantine) so that a stale
 * access faults and can be reported instead of aliasing newer memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/hypervisor/hypervisor_internal.h"

struct sim_mem {
	domid_t domid;
	int fd;
	uint8_t *hv;                 /* the hypervisor's RW view of all frames */
	uint32_t frames;
	atomic_int refs;
	pthread_mutex_t lock;        /* frame allocator */
	uint32_t next_fresh;         /* frames >= this were never handed out */
	uint32_t *free_stack;
	uint32_t free_count, free_cap;
	uint8_t *used;               /* bitmap, one bit per frame */
	uint8_t *dirty;              /* bitmap: freed, not yet scrubbed (see mem_frame_scrub) */
	uint32_t dirty_count;
	uint64_t serial;             /* names its file: never reused, kept through reuse */
};

/* Freed frames a domain may hold unscrubbed: each is zeroed when handed out
 * again, or goes with the domain, instead of costing a hole punch (a system
 * call, then a fault and a clear on reuse) at every free. Beyond this many,
 * a freed frame goes back to the host at once. */
#define MEM_DIRTY_FRAMES_MAX 256u

struct mem_mapping {
	uint8_t *addr;
	uint32_t count;
	domid_t mapper;
	enum sim_map_kind kind;
	int prot;
	bool unmapped;
	struct sim_page_desc *pages;
	struct sim_mem **mems;       /* per page, a reference while live */
	struct mem_mapping *q_next;  /* quarantine FIFO */
	/* Unmapped with mprotect: the range still maps `count` pages of the file
	 * of memory `bk_serial` from `bk_frame` on, PROT_NONE (see recycling). */
	uint64_t bk_serial;          /* 0: plain PROT_NONE reservation */
	uint32_t bk_frame;
	struct mem_mapping *rc_prev, *rc_next, *rc_chain;   /* on the recycle list */
};

/* ---- reuse of a destroyed domain's memory ----
 *
 * A short run (a seed of a sweep) creates and destroys its domains' memory
 * each time: a memfd whose every touched page is allocated and cleared on a
 * page fault, then freed with the file. Instead, a released memory whose
 * touched pages are few is zeroed through the hypervisor's view and kept (its
 * file, view and bitmaps) for the next domain of the same size: its pages stay
 * allocated and mapped in that view, and a zeroed page reads as the hole it
 * replaces (frames come out zero-filled either way). A memory with more data
 * than that is emptied with one hole punch instead. A forked child drops what
 * its parent kept: the file is shared with the parent. */
#define MEM_REUSE_KEPT_MAX 4u          /* released memories kept for reuse */
#define MEM_REUSE_ZERO_PAGES_MAX 1024u /* beyond this many data pages: punch */
#define MEM_REUSE_EXTENTS_MAX 64u      /* beyond this many data extents: punch */

static pthread_mutex_t reuse_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_mem *reuse_kept[MEM_REUSE_KEPT_MAX];
static unsigned reuse_n;
static pthread_once_t reuse_once = PTHREAD_ONCE_INIT;

static void recycle_purge(uint64_t serial);

/* purge: forget the ranges that still map its file (not in a forked child,
 * where map_lock may be held by a thread that is gone; the serial is never
 * seen again there, so they are never reused, only kept until evicted). */
static void mem_destroy(struct sim_mem *mem, bool purge)
{
	if (purge)
		recycle_purge(mem->serial);
	munmap(mem->hv, (size_t)mem->frames * SIM_PAGE_SIZE);
	close(mem->fd);
	pthread_mutex_destroy(&mem->lock);
	free(mem->free_stack);
	free(mem->used);
	free(mem->dirty);
	free(mem);
}

/* In a forked child: the kept files are the parent's too; forget them. */
static void reuse_atfork_child(void)
{
	for (unsigned i = 0; i < reuse_n; i++)
		mem_destroy(reuse_kept[i], false);
	reuse_n = 0;
	pthread_mutex_init(&reuse_lock, NULL);
}

static void reuse_init(void)
{
	(void)pthread_atfork(NULL, NULL, reuse_atfork_child);
}

/* Every page of the file reads as zero again: the data extents (SEEK_DATA)
 * are cleared through the view, or the whole file punched if they are many.
 * False if the file could not be made zero (the memory is not kept). */
static bool mem_zero_all(struct sim_mem *mem)
{
	const off_t size = (off_t)mem->frames * SIM_PAGE_SIZE;
	off_t ext[MEM_REUSE_EXTENTS_MAX][2];
	unsigned n = 0;
	uint64_t pages = 0;

	for (off_t at = 0; at < size;) {
		off_t d = lseek(mem->fd, at, SEEK_DATA);
		if (d < 0 && errno == ENXIO)
			break;                       /* no data from here on */
		off_t h = d < 0 ? -1 : lseek(mem->fd, d, SEEK_HOLE);
		if (h < 0 || n == MEM_REUSE_EXTENTS_MAX)
			return fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0,
					 size) == 0;
		ext[n][0] = d;
		ext[n++][1] = h;
		pages += (uint64_t)(h - d) / SIM_PAGE_SIZE;
		at = h;
	}
	if (pages > MEM_REUSE_ZERO_PAGES_MAX)
		return fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, size) == 0;
	for (unsigned i = 0; i < n; i++)
		memset(mem->hv + ext[i][0], 0, (size_t)(ext[i][1] - ext[i][0]));
	return true;
}

/* The allocator as mem_create leaves it. */
static void mem_reset_state(struct sim_mem *mem, domid_t domid)
{
	mem->domid = domid;
	mem->next_fresh = 0;
	mem->free_count = 0;
	mem->dirty_count = 0;
	memset(mem->used, 0, (mem->frames + 7) / 8);
	memset(mem->dirty, 0, (mem->frames + 7) / 8);
	atomic_store(&mem->refs, 1);
}

/* Keep a released memory for reuse; false: the caller destroys it. */
static bool mem_keep(struct sim_mem *mem)
{
	pthread_once(&reuse_once, reuse_init);
	pthread_mutex_lock(&reuse_lock);
	bool room = reuse_n < MEM_REUSE_KEPT_MAX;
	pthread_mutex_unlock(&reuse_lock);
	if (!room || !mem_zero_all(mem))
		return false;
	pthread_mutex_lock(&reuse_lock);
	room = reuse_n < MEM_REUSE_KEPT_MAX;
	if (room)
		reuse_kept[reuse_n++] = mem;
	pthread_mutex_unlock(&reuse_lock);
	return room;
}

/* A kept memory of this size, most recently released first, or NULL. */
static struct sim_mem *mem_reuse(domid_t domid, size_t bytes)
{
	struct sim_mem *mem = NULL;

	pthread_once(&reuse_once, reuse_init);
	pthread_mutex_lock(&reuse_lock);
	for (unsigned i = reuse_n; i-- > 0;)
		if ((size_t)reuse_kept[i]->frames * SIM_PAGE_SIZE == bytes) {
			mem = reuse_kept[i];
			reuse_kept[i] = reuse_kept[--reuse_n];
			break;
		}
	pthread_mutex_unlock(&reuse_lock);
	if (mem)
		mem_reset_state(mem, domid);
	return mem;
}

/* ---- frames ---- */

struct sim_mem *mem_create(domid_t domid, size_t bytes)
{
	struct sim_mem *mem = mem_reuse(domid, bytes);
	char name[32];

	if (mem)
		return mem;
	mem = calloc(1, sizeof(*mem));
	if (!mem)
		return NULL;
	snprintf(name, sizeof(name), "xensim-dom%u", domid);
	static _Atomic uint64_t serials;
	mem->serial = atomic_fetch_add(&serials, 1) + 1;
	mem->domid = domid;
	mem->frames = (uint32_t)(bytes / SIM_PAGE_SIZE);
	mem->fd = memfd_create(name, MFD_CLOEXEC);
	mem->used = calloc((mem->frames + 7) / 8, 1);
	mem->dirty = calloc((mem->frames + 7) / 8, 1);
	atomic_init(&mem->refs, 1);
	pthread_mutex_init(&mem->lock, NULL);
	if (mem->fd < 0 || !mem->used || !mem->dirty || ftruncate(mem->fd, (off_t)bytes) < 0)
		goto fail;
	mem->hv = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mem->fd, 0);
	if (mem->hv == MAP_FAILED)
		goto fail;
	return mem;
fail:
	sim_log("domain %u: cannot create %zu bytes of memory: %s", domid, bytes, strerror(errno));
	if (mem->fd >= 0)
		close(mem->fd);
	free(mem->used);
	free(mem->dirty);
	free(mem);
	return NULL;
}

struct sim_mem *mem_get(struct sim_mem *mem)
{
	atomic_fetch_add(&mem->refs, 1);
	return mem;
}

void mem_put(struct sim_mem *mem)
{
	int old = atomic_fetch_sub(&mem->refs, 1);

	SIM_ASSERT(old > 0, "memory of domain %u released too often", mem->domid);
	if (old != 1)
		return;
	if (!mem_keep(mem))
		mem_destroy(mem, true);
}

static bool frame_used(const struct sim_mem *mem, uint32_t f)
{
	return mem->used[f / 8] & (1u << (f % 8));
}

static void bit_set(uint8_t *map, uint32_t f, bool on)
{
	if (on)
		map[f / 8] |= (uint8_t)(1u << (f % 8));
	else
		map[f / 8] &= (uint8_t)~(1u << (f % 8));
}

static void frame_mark(struct sim_mem *mem, uint32_t f, bool used)
{
	bit_set(mem->used, f, used);
}

static bool frame_dirty(const struct sim_mem *mem, uint32_t f)
{
	return mem->dirty[f / 8] & (1u << (f % 8));
}

/* The next owner sees zeros, and the memory goes back to the host: a hole
 * costs nothing until written. With mem_frame_alloc handing out fresh frames
 * (holes too) this makes every allocated frame zero-filled, so a sharer need
 * not clear (and so make resident) pages it may never touch. Up to
 * MEM_DIRTY_FRAMES_MAX freed frames are only marked, and zeroed when handed
 * out again (mem_frame_clean): a free in a loop (a teardown releasing a
 * pool of persistent grants) costs no system call. */
static void mem_frame_scrub(struct sim_mem *mem, uint32_t frame)
{
	if (mem->dirty_count < MEM_DIRTY_FRAMES_MAX) {
		bit_set(mem->dirty, frame, true);
		mem->dirty_count++;
		return;
	}
	if (fallocate(mem->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		      (off_t)frame * SIM_PAGE_SIZE, SIM_PAGE_SIZE) < 0)
		memset(mem_frame_hv(mem, frame), 0, SIM_PAGE_SIZE);
}

/* A frame leaving the free stack: zero it if its scrub was put off. */
static void mem_frame_clean(struct sim_mem *mem, uint32_t frame)
{
	if (!frame_dirty(mem, frame))
		return;
	memset(mem_frame_hv(mem, frame), 0, SIM_PAGE_SIZE);
	bit_set(mem->dirty, frame, false);
	mem->dirty_count--;
}

/* Frames come out zero-filled (see mem_frame_scrub). */
int mem_frame_alloc(struct sim_mem *mem, uint32_t *frame)
{
	int rc = 0;

	pthread_mutex_lock(&mem->lock);
	if (mem->free_count)
		*frame = mem->free_stack[--mem->free_count];
	else if (mem->next_fresh < mem->frames)
		*frame = mem->next_fresh++;
	else
		rc = -ENOMEM;
	if (rc == 0) {
		SIM_ASSERT(!frame_used(mem, *frame), "domain %u frame %u handed out twice",
			   mem->domid, *frame);
		frame_mark(mem, *frame, true);
		mem_frame_clean(mem, *frame);
	}
	pthread_mutex_unlock(&mem->lock);
	return rc;
}

static int free_stack_push(struct sim_mem *mem, uint32_t f)
{
	if (mem->free_count == mem->free_cap) {
		uint32_t cap = mem->free_cap ? mem->free_cap * 2 : 64;
		uint32_t *s = realloc(mem->free_stack, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		mem->free_stack = s;
		mem->free_cap = cap;
	}
	mem->free_stack[mem->free_count++] = f;
	return 0;
}

int mem_frame_free(struct sim_mem *mem, uint32_t frame)
{
	int rc = -EINVAL;

	pthread_mutex_lock(&mem->lock);
	if (frame < mem->frames && frame_used(mem, frame))
		rc = free_stack_push(mem, frame);
	if (rc == 0) {
		frame_mark(mem, frame, false);
		mem_frame_scrub(mem, frame);
	}
	pthread_mutex_unlock(&mem->lock);
	if (rc == -EINVAL)
		sim_log("domain %u: free of frame %u that is %s", mem->domid, frame,
			frame < mem->frames ? "not allocated" : "out of range");
	return rc;
}

uint32_t mem_frames_total(const struct sim_mem *mem)
{
	return mem->frames;
}

uint32_t mem_frames_free(struct sim_mem *mem)
{
	pthread_mutex_lock(&mem->lock);
	uint32_t n = mem->free_count + (mem->frames - mem->next_fresh);
	pthread_mutex_unlock(&mem->lock);
	return n;
}

void *mem_frame_hv(struct sim_mem *mem, uint32_t frame)
{
	return frame < mem->frames ? mem->hv + (size_t)frame * SIM_PAGE_SIZE : NULL;
}

void *sim_frame_hv(domid_t domid, uint32_t frame)
{
	struct sim_mem *mem = domain_mem_get(domid);
	void *p = mem ? mem_frame_hv(mem, frame) : NULL;

	/* The view stays valid while the domain lives; the caller knows it does. */
	if (mem)
		mem_put(mem);
	return p;
}

/* ---- the mapping registry: page address -> mapping (open addressing) ---- */

static pthread_rwlock_t map_lock = PTHREAD_RWLOCK_INITIALIZER;
static uintptr_t *slot_key;             /* page number; 0 empty, 1 tombstone */
static struct mem_mapping **slot_val;
static size_t slot_cap, slot_used, slot_live;
static struct mem_mapping *q_head, *q_tail;
static uint64_t q_pages, q_ranges;

/* Each quarantined range is a mapping of its own, and a process may have only
 * vm.max_map_count (65530 by default) of them: one-page ranges alone would
 * reach it before the page bound does. Leave room for the live maps, stacks
 * and heaps of a thousand guests. */
#define QUARANTINE_RANGES_MAX 16384u
static uint64_t mappings_live;

#define SLOT_EMPTY 0
#define SLOT_TOMB 1

static size_t slot_hash(uintptr_t key, size_t cap)
{
	return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & (cap - 1);
}

static size_t slot_find(uintptr_t key)
{
	if (!slot_cap)
		return SIZE_MAX;
	for (size_t i = slot_hash(key, slot_cap), n = 0; n < slot_cap; i = (i + 1) & (slot_cap - 1), n++) {
		if (slot_key[i] == key)
			return i;
		if (slot_key[i] == SLOT_EMPTY)
			return SIZE_MAX;
	}
	return SIZE_MAX;
}

static void slot_put_raw(uintptr_t key, struct mem_mapping *m)
{
	size_t i = slot_hash(key, slot_cap);

	while (slot_key[i] != SLOT_EMPTY && slot_key[i] != SLOT_TOMB)
		i = (i + 1) & (slot_cap - 1);
	if (slot_key[i] == SLOT_EMPTY)
		slot_used++;
	slot_key[i] = key;
	slot_val[i] = m;
	slot_live++;
}

static int slot_grow(size_t need)
{
	size_t cap = slot_cap ? slot_cap : 1024;

	while ((slot_live + need) * 2 > cap)
		cap *= 2;
	if (cap == slot_cap && (slot_used + need) * 4 < slot_cap * 3)
		return 0;
	uintptr_t *ok = slot_key;
	struct mem_mapping **ov = slot_val;
	size_t ocap = slot_cap;
	slot_key = calloc(cap, sizeof(*slot_key));
	slot_val = calloc(cap, sizeof(*slot_val));
	if (!slot_key || !slot_val) {
		free(slot_key);
		free(slot_val);
		slot_key = ok;
		slot_val = ov;
		return -ENOMEM;
	}
	slot_cap = cap;
	slot_used = slot_live = 0;
	for (size_t i = 0; i < ocap; i++)
		if (ok[i] > SLOT_TOMB)
			slot_put_raw(ok[i], ov[i]);
	free(ok);
	free(ov);
	return 0;
}

static uintptr_t page_key(const void *addr)
{
	return (uintptr_t)addr >> SIM_PAGE_SHIFT;
}

static void registry_remove(struct mem_mapping *m)
{
	for (uint32_t i = 0; i < m->count; i++) {
		size_t s = slot_find(page_key(m->addr + (size_t)i * SIM_PAGE_SIZE));
		SIM_ASSERT(s != SIZE_MAX && slot_val[s] == m, "mapping %p page %u not registered",
			   (void *)m->addr, i);
		slot_key[s] = SLOT_TOMB;
		slot_val[s] = NULL;
		slot_live--;
	}
}

/* ---- map / unmap ---- */

static void mapping_free(struct mem_mapping *m)
{
	free(m->pages);
	free(m->mems);
	free(m);
}

static void mapping_drop_mems(struct mem_mapping *m)
{
	for (uint32_t i = 0; i < m->count; i++)
		if (m->mems[i]) {
			mem_put(m->mems[i]);
			m->mems[i] = NULL;
		}
}

/* mmap each run of consecutive frames of one grantor with one call. */
static int mapping_mmap(struct mem_mapping *m)
{
	for (uint32_t i = 0, run; i < m->count; i += run) {
		run = 1;
		while (i + run < m->count && m->mems[i + run] == m->mems[i] &&
		       m->pages[i + run].frame == m->pages[i].frame + run)
			run++;
		void *want = m->addr + (size_t)i * SIM_PAGE_SIZE;
		void *got = mmap(want, (size_t)run * SIM_PAGE_SIZE, m->prot, MAP_SHARED | MAP_FIXED,
				 m->mems[i]->fd, (off_t)m->pages[i].frame * SIM_PAGE_SIZE);
		if (got != want)
			return -errno;
	}
	return 0;
}

/* ---- the reserved range: every mapping lives in one reservation ----
 *
 * So that "is this address a sim mapping?" is one comparison (the access
 * tracer's fast path, sim/access), every mapping and its quarantine sit in
 * [sim_map_lo, sim_map_lo + sim_map_len), reserved PROT_NONE once. A range
 * leaving quarantine is PROT_NONE already: it goes back to a free list of its
 * size without a system call. */
uintptr_t sim_map_lo, sim_map_len;

static pthread_once_t range_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t range_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t range_next;            /* never handed out at or above this */

struct range_stack {
	uintptr_t *addr;
	uint32_t *count;                /* the big stack only: pages of each */
	size_t n, cap;
};
static struct range_stack range_free[SIM_MAP_CLASS_PAGES_MAX + 1];   /* [count], [0]: bigger */

static void range_init(void)
{
	for (uint64_t bytes = SIM_MAP_RANGE_BYTES; bytes >= SIM_MAP_RANGE_BYTES_MIN; bytes /= 2) {
		void *p = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			       -1, 0);
		if (p != MAP_FAILED) {
			sim_map_lo = range_next = (uintptr_t)p;
			sim_map_len = bytes;
			return;
		}
	}
	sim_log("cannot reserve %llu bytes for grant mappings: %s",
		(unsigned long long)SIM_MAP_RANGE_BYTES_MIN, strerror(errno));
}

static int range_push(struct range_stack *st, uintptr_t addr, uint32_t count)
{
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 64;
		uintptr_t *a = realloc(st->addr, cap * sizeof(*a));
		if (a)
			st->addr = a;
		uint32_t *c = a ? realloc(st->count, cap * sizeof(*c)) : NULL;
		if (!c)
			return -ENOMEM;
		st->count = c;
		st->cap = cap;
	}
	st->addr[st->n] = addr;
	st->count[st->n++] = count;
	return 0;
}

/* count pages of the reserved range (PROT_NONE), or 0 when it is full. */
static uintptr_t range_alloc(uint32_t count)
{
	struct range_stack *st = &range_free[count <= SIM_MAP_CLASS_PAGES_MAX ? count : 0];
	size_t bytes = (size_t)count * SIM_PAGE_SIZE;
	uintptr_t a = 0;

	pthread_once(&range_once, range_init);
	pthread_mutex_lock(&range_lock);
	for (size_t i = st->n; i-- > 0;)
		if (st->count[i] == count) {
			a = st->addr[i];
			st->addr[i] = st->addr[--st->n];
			st->count[i] = st->count[st->n];
			break;
		}
	if (!a && sim_map_len && range_next + bytes <= sim_map_lo + sim_map_len) {
		a = range_next;
		range_next += bytes;
	}
	pthread_mutex_unlock(&range_lock);
	return a;
}

/* The range must be PROT_NONE again (unmapped or never mapped). A range the
 * free list cannot take stays reserved and unused: a leak of address space
 * only, never an alias. */
static void range_release(uintptr_t addr, uint32_t count)
{
	pthread_mutex_lock(&range_lock);
	(void)range_push(&range_free[count <= SIM_MAP_CLASS_PAGES_MAX ? count : 0], addr, count);
	pthread_mutex_unlock(&range_lock);
}

static int range_reserve_again(uintptr_t addr, uint32_t count)
{
	void *want = (void *)addr;

	if (mmap(want, (size_t)count * SIM_PAGE_SIZE, PROT_NONE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != want)
		return -errno;
	return 0;
}

/* ---- recycling unmapped ranges that still map their frames ----
 *
 * An unmap of one run of frames (one mmap: consecutive frames of one memory,
 * a single page most often) is an mprotect(PROT_NONE): the range keeps its
 * file pages, still faults on any access, and sits in the quarantine like any
 * other. Once out of quarantine (evicted, or its run ended: mem_quarantine_flush)
 * it waits here, keyed by (file, frame, pages); a later map of exactly those
 * frames takes it back with one mprotect to the new protection, instead of an
 * mmap, a PROT_NONE mmap at unmap and a page fault on first touch. (A sweep's
 * worker maps the same frames of the same reused memory run after run.) A
 * memory that is really destroyed takes its ranges with it (recycle_purge),
 * so no range keeps the pages of a dead file. Under map_lock (write). */
#define MEM_RECYCLE_MAX 4096u          /* ranges waiting for reuse */
#define MEM_RECYCLE_BUCKETS 1024u

static struct mem_mapping *rc_bucket[MEM_RECYCLE_BUCKETS];
static struct mem_mapping *rc_old, *rc_new;   /* oldest first, by rc_next */
static unsigned rc_n;
static uint64_t rc_hits;

static size_t recycle_hash(uint64_t serial, uint32_t frame, uint32_t count)
{
	uint64_t k = (serial * 0x9E3779B97F4A7C15ull) ^ ((uint64_t)frame << 8) ^ count;

	return (size_t)((k * 0xBF58476D1CE4E5B9ull) >> 40) & (MEM_RECYCLE_BUCKETS - 1);
}

static void recycle_unlink(struct mem_mapping *m)
{
	struct mem_mapping **pp = &rc_bucket[recycle_hash(m->bk_serial, m->bk_frame, m->count)];

	while (*pp != m)
		pp = &(*pp)->rc_chain;
	*pp = m->rc_chain;
	if (m->rc_prev)
		m->rc_prev->rc_next = m->rc_next;
	else
		rc_old = m->rc_next;
	if (m->rc_next)
		m->rc_next->rc_prev = m->rc_prev;
	else
		rc_new = m->rc_prev;
	rc_n--;
}

/* A plain reservation again (its file pages go), back to the free lists. */
static void recycle_drop(struct mem_mapping *m)
{
	if (range_reserve_again((uintptr_t)m->addr, m->count) == 0)
		range_release((uintptr_t)m->addr, m->count);
	mapping_free(m);
}

/* m left the quarantine and the registry: keep it for reuse, or drop it. */
static void recycle_put(struct mem_mapping *m)
{
	if (!m->bk_serial) {
		range_release((uintptr_t)m->addr, m->count);   /* PROT_NONE already */
		mapping_free(m);
		return;
	}
	size_t b = recycle_hash(m->bk_serial, m->bk_frame, m->count);
	m->rc_chain = rc_bucket[b];
	rc_bucket[b] = m;
	m->rc_next = NULL;
	m->rc_prev = rc_new;
	if (rc_new)
		rc_new->rc_next = m;
	else
		rc_old = m;
	rc_new = m;
	if (++rc_n > MEM_RECYCLE_MAX) {
		struct mem_mapping *o = rc_old;
		recycle_unlink(o);
		recycle_drop(o);
	}
}

static struct mem_mapping *recycle_take(uint64_t serial, uint32_t frame, uint32_t count)
{
	struct mem_mapping *m = rc_bucket[recycle_hash(serial, frame, count)];

	while (m && !(m->bk_serial == serial && m->bk_frame == frame && m->count == count))
		m = m->rc_chain;
	if (m) {
		recycle_unlink(m);
		rc_hits++;
	}
	return m;
}

/* The memory of `serial` is going away: no range may keep its pages. */
static void recycle_purge(uint64_t serial)
{
	pthread_rwlock_wrlock(&map_lock);
	for (struct mem_mapping *m = rc_old, *next; m; m = next) {
		next = m->rc_next;
		if (m->bk_serial == serial) {
			recycle_unlink(m);
			recycle_drop(m);
		}
	}
	for (struct mem_mapping *m = q_head; m; m = m->q_next)
		if (m->bk_serial == serial && range_reserve_again((uintptr_t)m->addr, m->count) == 0)
			m->bk_serial = 0;
	pthread_rwlock_unlock(&map_lock);
}

uint64_t sim_mem_recycled(void)
{
	pthread_rwlock_rdlock(&map_lock);
	uint64_t n = rc_hits;
	pthread_rwlock_unlock(&map_lock);
	return n;
}

/* One mmap made it: consecutive frames of one memory. */
static bool mapping_one_run(const struct mem_mapping *m)
{
	for (uint32_t i = 1; i < m->count; i++)
		if (m->mems[i] != m->mems[0] || m->pages[i].frame != m->pages[0].frame + i)
			return false;
	return true;
}

/* Take a free range of the reservation and map the frames into it. */
static int mapping_place(struct mem_mapping *m)
{
	uintptr_t a = range_alloc(m->count);

	if (!a) {
		sim_log("map of %u page(s) by domain %u: the reserved range of %lu bytes is full",
			m->count, m->mapper, (unsigned long)sim_map_len);
		return -ENOMEM;
	}
	m->addr = (uint8_t *)a;
	int rc = mapping_mmap(m);
	if (rc < 0) {
		if (range_reserve_again(a, m->count) == 0)
			range_release(a, m->count);
		m->addr = NULL;
	}
	return rc;
}

static int mapping_resolve(struct mem_mapping *m, const struct sim_page_desc *pages)
{
	for (uint32_t i = 0; i < m->count; i++) {
		m->pages[i] = pages[i];
		m->mems[i] = domain_mem_get(pages[i].grantor);
		if (!m->mems[i]) {
			sim_log("map by domain %u: grantor domain %u is not alive", m->mapper,
				pages[i].grantor);
			return -ESRCH;
		}
		if (pages[i].frame >= m->mems[i]->frames) {
			sim_log("map by domain %u: frame %u of domain %u out of range", m->mapper,
				pages[i].frame, pages[i].grantor);
			return -EINVAL;
		}
	}
	return 0;
}

/* 1 if m now maps its frames at a recycled range, 0 if none fits, or -errno. */
static int mapping_take_recycled(struct mem_mapping *m)
{
	if (!mapping_one_run(m))
		return 0;
	pthread_rwlock_wrlock(&map_lock);
	struct mem_mapping *old = recycle_take(m->mems[0]->serial, m->pages[0].frame, m->count);
	pthread_rwlock_unlock(&map_lock);
	if (!old)
		return 0;
	m->addr = old->addr;
	mapping_free(old);
	if (mprotect(m->addr, (size_t)m->count * SIM_PAGE_SIZE, m->prot) == 0)
		return 1;
	int rc = mapping_mmap(m);   /* the same frames by a new mmap over it */
	return rc < 0 ? rc : 1;
}

void *sim_mem_map(domid_t mapper, enum sim_map_kind kind, uint32_t count,
		  const struct sim_page_desc *pages, int prot)
{
	struct mem_mapping *m = calloc(1, sizeof(*m));
	int rc = -ENOMEM;

	if (!m)
		goto out;
	*m = (struct mem_mapping){.count = count, .mapper = mapper, .kind = kind, .prot = prot};
	m->pages = calloc(count, sizeof(*m->pages));
	m->mems = calloc(count, sizeof(*m->mems));
	if (count == 0 || (prot & ~(PROT_READ | PROT_WRITE)) || !(prot & PROT_READ)) {
		rc = -EINVAL;
		goto out;
	}
	if (!m->pages || !m->mems)
		goto out;
	rc = mapping_resolve(m, pages);
	if (rc < 0)
		goto out;
	rc = mapping_take_recycled(m);
	if (rc == 0)
		rc = mapping_place(m);
	else
		rc = rc > 0 ? 0 : rc;
	if (rc < 0)
		goto out;
	pthread_rwlock_wrlock(&map_lock);
	rc = slot_grow(count);
	for (uint32_t i = 0; rc == 0 && i < count; i++)
		slot_put_raw(page_key(m->addr + (size_t)i * SIM_PAGE_SIZE), m);
	if (rc == 0)
		mappings_live++;
	pthread_rwlock_unlock(&map_lock);
out:
	if (rc == 0)
		return m->addr;
	if (m) {
		if (m->addr && range_reserve_again((uintptr_t)m->addr, count) == 0)
			range_release((uintptr_t)m->addr, count);
		if (m->mems)
			mapping_drop_mems(m);
		mapping_free(m);
	}
	errno = -rc;
	return NULL;
}

/* Evict the oldest quarantined ranges beyond the bound; caller holds map_lock. */
static void quarantine_trim(uint64_t limit_pages)
{
	while (q_head && (q_pages > limit_pages || q_ranges > QUARANTINE_RANGES_MAX)) {
		struct mem_mapping *m = q_head;
		q_head = m->q_next;
		if (!q_head)
			q_tail = NULL;
		q_pages -= m->count;
		q_ranges--;
		registry_remove(m);
		recycle_put(m);
	}
}

int sim_mem_unmap(void *addr, uint32_t count)
{
	pthread_rwlock_wrlock(&map_lock);
	size_t s = slot_find(page_key(addr));
	struct mem_mapping *m = s == SIZE_MAX ? NULL : slot_val[s];
	struct sim_mem **mems = NULL;
	int rc = 0;

	if (!m || m->addr != addr || m->count != count || m->unmapped) {
		rc = -EINVAL;
		goto out;
	}
	/* Stale use faults: the pages become inaccessible (one run: kept mapped,
	 * for recycling), or an inaccessible reservation replaces them. The
	 * mprotect fails (ENOMEM) when the program munmapped pages of the range
	 * itself, as a gntdev mapping allows (Debian's libxenvchan does): then
	 * the reservation fills the hole. */
	if (mapping_one_run(m) && mprotect(addr, (size_t)count * SIM_PAGE_SIZE, PROT_NONE) == 0) {
		m->bk_serial = m->mems[0]->serial;
		m->bk_frame = m->pages[0].frame;
	} else if (mmap(addr, (size_t)count * SIM_PAGE_SIZE, PROT_NONE,
			MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0) != addr) {
		rc = -errno;
		goto out;
	}
	m->unmapped = true;
	/* Their references go after the lock: a last one destroys a memory,
	 * which takes map_lock (recycle_purge). */
	mems = m->mems;
	m->mems = NULL;
	mappings_live--;
	if (q_tail)
		q_tail->q_next = m;
	else
		q_head = m;
	q_tail = m;
	q_pages += count;
	q_ranges++;
	quarantine_trim(SIM_QUARANTINE_PAGES_MAX);
out:
	pthread_rwlock_unlock(&map_lock);
	if (mems) {
		for (uint32_t i = 0; i < count; i++)
			mem_put(mems[i]);
		free(mems);
	}
	if (rc < 0)
		sim_log("unmap of %u page(s) at %p: %s", count, addr,
			rc == -EINVAL ? "not exactly one live mapping" : strerror(-rc));
	return rc;
}

void mem_quarantine_flush(void)
{
	pthread_rwlock_wrlock(&map_lock);
	quarantine_trim(0);
	pthread_rwlock_unlock(&map_lock);
}

uint64_t sim_mem_mappings(void)
{
	pthread_rwlock_rdlock(&map_lock);
	uint64_t n = mappings_live;
	pthread_rwlock_unlock(&map_lock);
	return n;
}

bool mem_fault_lookup(const void *addr, struct mem_fault_info *info)
{
	/* A signal handler must not block on a lock its own thread may hold. */
	int tries = 1000000;

	while (pthread_rwlock_tryrdlock(&map_lock) != 0)
		if (--tries == 0)
			return false;
	size_t s = slot_find(page_key(addr));
	struct mem_mapping *m = s == SIZE_MAX ? NULL : slot_val[s];
	if (m) {
		uint32_t page = (uint32_t)(((const uint8_t *)addr - m->addr) / SIM_PAGE_SIZE);
		*info = (struct mem_fault_info){
			.mapper = m->mapper,
			.kind = m->kind,
			.page = m->pages[page],
			.offset = (uint32_t)((uintptr_t)addr & (SIM_PAGE_SIZE - 1)),
			.prot = m->prot,
			.unmapped = m->unmapped,
		};
	}
	pthread_rwlock_unlock(&map_lock);
	return m != NULL;
}

bool sim_mem_where(const void *addr, struct sim_mem_where *w)
{
	pthread_rwlock_rdlock(&map_lock);
	size_t s = slot_find(page_key(addr));
	struct mem_mapping *m = s == SIZE_MAX ? NULL : slot_val[s];
	bool live = m && !m->unmapped;
	if (live) {
		uint32_t page = (uint32_t)(((const uint8_t *)addr - m->addr) / SIM_PAGE_SIZE);
		*w = (struct sim_mem_where){
			.mapper = m->mapper,
			.kind = m->kind,
			.page = m->pages[page],
			.page_index = page,
			.offset = (uint32_t)((uintptr_t)addr & (SIM_PAGE_SIZE - 1)),
			.base = m->addr,
		};
	}
	pthread_rwlock_unlock(&map_lock);
	return live;
}

/* For sim/remote: an exec'd domain maps the same page of the same memfd. */
int sim_mem_page_fd(const void *addr, uint64_t *offset)
{
	int fd = -ESRCH;

	pthread_rwlock_rdlock(&map_lock);
	size_t s = slot_find(page_key(addr));
	struct mem_mapping *m = s == SIZE_MAX ? NULL : slot_val[s];
	if (m && !m->unmapped) {
		uint32_t page = (uint32_t)(((const uint8_t *)addr - m->addr) / SIM_PAGE_SIZE);
		*offset = (uint64_t)m->pages[page].frame * SIM_PAGE_SIZE;
		fd = fcntl(m->mems[page]->fd, F_DUPFD_CLOEXEC, 0);
		if (fd < 0)
			fd = -errno;
	}
	pthread_rwlock_unlock(&map_lock);
	return fd;
}
