/*
 * Handles (xengnttab_handle and xengntshr_handle are one struct) and their
 * mapping records. A handle belongs to the domain of the thread that opened
 * it; when that domain dies the handle goes dead: its mappings are released
 * (with their unmap notifications) and later calls fail ESRCH until close.
 *
 * Releasing a mapping follows Linux's gntdev/gntalloc order: clear the notify
 * byte while the page is still mapped, unmap, drop the grant side, and only
 * then send the notify event, so a peer woken by it can end its grant at once.
 */
#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab_internal.h"

static struct xengntdev_handle *gnttab_handles;
static unsigned gnttab_handles_count;
/* Mappings detached from their handle whose release is under way. */
static struct gnttab_mapping *gnttab_releasing;

static struct gnttab_mapping *gnttab_mapping_take_all_locked(struct xengntdev_handle *h);

const struct xengntdev_handle *gnttab_handles_first_locked(void)
{
	return gnttab_handles;
}

static const char *gnttab_kind_name(enum gnttab_kind kind)
{
	return kind == GNTTAB_KIND_TAB ? "xengnttab" : "xengntshr";
}

static bool gnttab_handle_known_locked(const struct xengntdev_handle *h)
{
	for (const struct xengntdev_handle *i = gnttab_handles; i; i = i->next)
		if (i == h)
			return true;
	return false;
}

struct xengntdev_handle *gnttab_handle_open(enum gnttab_kind kind, const char *api)
{
	domid_t domid = sim_current_domid();
	struct xengntdev_handle *h = NULL;
	int err = 0;

	if (domid == DOMID_INVALID) {
		err = ESRCH;
		goto out;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		err = ENOMEM;
		goto out;
	}
	h->kind = kind;
	h->domid = domid;
	h->max_grants = GNTTAB_HANDLE_MAPS_DEFAULT;
	/* Real handles are a gntdev/gntalloc fd; an eventfd stands in for it. */
	h->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->fd < 0) {
		err = errno;
		goto out;
	}
	pthread_mutex_lock(&gnttab_lock);
	h->dom = gnttab_domain_locked(domid);
	if (h->dom) {
		h->dom->handles++;
		h->next = gnttab_handles;
		gnttab_handles = h;
		gnttab_handles_count++;
	}
	gnttab_unlock();
	if (!h->dom)
		err = ESRCH;
out:
	if (err) {
		if (domid == DOMID_INVALID)
			sim_log("gnttab: %s by a thread outside any domain: ESRCH (use "
				"sim_thread_enter or a domain thread)", api);
		else
			sim_log("gnttab: %s by dom%u failed: %s", api, domid, strerror(err));
		if (h && h->fd >= 0)
			close(h->fd);
		free(h);
		h = NULL;
		errno = err;
	}
	return h;
}

/* A live domain's close with grants still mapped: each grantor counts its
 * pages (gnttab_stats.maps_closed), and the closer all of them
 * (closed_mapped). A dying domain's handles go elsewhere. */
static void gnttab_count_closed_locked(struct xengntdev_handle *h, const struct gnttab_mapping *list)
{
	for (const struct gnttab_mapping *m = list; m; m = m->next)
		for (uint32_t i = 0; m->kind == GNTTAB_KIND_TAB && i < m->count; i++)
			if (m->pages[i].grantor) {
				m->pages[i].grantor->maps_closed++;
				h->dom->closed_mapped++;
			}
}

int gnttab_handle_close(struct xengntdev_handle *h, enum gnttab_kind kind, bool exiting)
{
	struct xengntdev_handle **pp = &gnttab_handles;
	struct gnttab_mapping *list = NULL;
	int err = 0;

	if (!h)
		return 0;
	pthread_mutex_lock(&gnttab_lock);
	while (*pp && *pp != h)
		pp = &(*pp)->next;
	if (!*pp)
		err = EBADF;
	else if (h->kind != kind)
		err = EINVAL;
	if (!err) {
		/* Dead while closing: stays listed, so counts stay consistent. */
		h->dead = true;
		list = gnttab_mapping_take_all_locked(h);
		if (!exiting)
			gnttab_count_closed_locked(h, list);
	}
	gnttab_unlock();
	if (err) {
		sim_log("gnttab: %s_close of %p: %s", gnttab_kind_name(kind), (void *)h,
			err == EBADF ? "not an open handle" : "handle of the other kind");
		errno = err;
		return -1;
	}
	while (list) {
		struct gnttab_mapping *next = list->next;
		gnttab_mapping_release(list);
		list = next;
	}
	pthread_mutex_lock(&gnttab_lock);
	for (pp = &gnttab_handles; *pp != h; pp = &(*pp)->next)
		GNTTAB_ASSERT(*pp, "closing handle %p of dom%u vanished from the list", (void *)h,
			      h->domid);
	*pp = h->next;
	gnttab_handles_count--;
	/* Dropped last: the table must outlive the releases above. */
	h->dom->handles--;
	gnttab_domain_put_locked(h->dom);
	gnttab_unlock();
	close(h->fd);
	free(h->maps_by_addr);
	free(h);
	return 0;
}

int gnttab_handle_use_locked(struct xengntdev_handle *h, enum gnttab_kind kind,
			     const char *api)
{
	domid_t me = sim_current_domid();
	int rc = 0;

	if (!h || !gnttab_handle_known_locked(h))
		rc = -EBADF;
	else if (h->kind != kind)
		rc = -EINVAL;
	else if (h->dead)
		rc = -ESRCH;
	else if (me != h->domid)
		rc = -EPERM;
	if (rc == -EBADF)
		sim_log("gnttab: %s by dom%u: %p is not an open handle", api, me, (void *)h);
	else if (rc)
		sim_log("gnttab: %s by dom%u on a %s handle of dom%u: %s", api, me,
			gnttab_kind_name(h->kind), h->domid,
			rc == -EINVAL ? "wrong kind of handle"
			: rc == -ESRCH ? "the handle's domain is dead (or it is closing)"
				       : "the handle belongs to another domain");
	return rc;
}

int gnttab_handle_fd(struct xengntdev_handle *h, enum gnttab_kind kind, const char *api)
{
	pthread_mutex_lock(&gnttab_lock);
	bool ok = h && gnttab_handle_known_locked(h) && h->kind == kind;
	int fd = ok ? h->fd : -1;
	pthread_mutex_unlock(&gnttab_lock);   /* read only */
	if (!ok) {
		sim_log("gnttab: %s: %p is not an open %s handle", api, (void *)h,
			gnttab_kind_name(kind));
		errno = EBADF;
	}
	return fd;
}

int gnttab_handle_unmap(struct xengntdev_handle *h, enum gnttab_kind kind, void *addr,
			uint32_t count, const char *api)
{
	struct gnttab_mapping *m = NULL;

	pthread_mutex_lock(&gnttab_lock);
	int rc = gnttab_handle_use_locked(h, kind, api);
	if (rc == 0) {
		m = gnttab_mapping_take_locked(h, addr, count);
		if (!m) {
			rc = -EINVAL;
			sim_log("gnttab: %s by dom%u: %u page(s) at %p is not a live %s of this "
				"handle", api, h->domid, count, addr,
				kind == GNTTAB_KIND_TAB ? "mapping" : "share");
		}
	}
	gnttab_unlock();
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	gnttab_mapping_release(m);
	return 0;
}

/* ---- mapping records ---- */

struct gnttab_mapping *gnttab_mapping_alloc(enum gnttab_kind kind, uint32_t count)
{
	struct gnttab_mapping *m = calloc(1, sizeof(*m) + (size_t)count * sizeof(m->pages[0]));

	if (m) {
		m->kind = kind;
		m->count = count;
		m->notify_offset = GNTTAB_NOTIFY_NONE;
		m->notify_port = GNTTAB_NOTIFY_NONE;
	}
	return m;
}

/* ---- a handle's mappings by address ----
 *
 * An unmap names its mapping by address, and a backend keeps hundreds of
 * persistent grants mapped on one handle, all unmapped at a disconnect: a
 * walk of the list for each would be quadratic. So the list has an index:
 * open addressing with linear probing, a tombstone where a mapping left,
 * rebuilt (by gnttab_mapping_reserve_locked) before it is 3/4 full, so a
 * probe always ends at an empty slot. */
#define GNTTAB_MAPS_SLOTS_MIN 16u
#define GNTTAB_MAPS_TOMB ((struct gnttab_mapping *)1)

static uint32_t gnttab_maps_hash(const void *addr, uint32_t slots)
{
	uint64_t page = (uint64_t)(uintptr_t)addr >> 12;

	return (uint32_t)((page * 0x9E3779B97F4A7C15ull) >> 32) & (slots - 1);
}

/* The slot of h's mapping at addr, or UINT32_MAX. */
static uint32_t gnttab_maps_find(const struct xengntdev_handle *h, const void *addr)
{
	if (!h->maps_slots)
		return UINT32_MAX;
	for (uint32_t i = gnttab_maps_hash(addr, h->maps_slots);; i = (i + 1) & (h->maps_slots - 1)) {
		const struct gnttab_mapping *m = h->maps_by_addr[i];
		if (!m)
			return UINT32_MAX;
		if (m != GNTTAB_MAPS_TOMB && m->addr == addr)
			return i;
	}
}

static void gnttab_maps_insert(struct xengntdev_handle *h, struct gnttab_mapping *m)
{
	uint32_t i = gnttab_maps_hash(m->addr, h->maps_slots);

	while (h->maps_by_addr[i] && h->maps_by_addr[i] != GNTTAB_MAPS_TOMB)
		i = (i + 1) & (h->maps_slots - 1);
	h->maps_used += !h->maps_by_addr[i];
	h->maps_by_addr[i] = m;
	h->maps_live++;
}

int gnttab_mapping_reserve_locked(struct xengntdev_handle *h, const char *api)
{
	uint32_t slots = GNTTAB_MAPS_SLOTS_MIN;

	if ((h->maps_used + 1) * 4 <= h->maps_slots * 3)
		return 0;
	while ((h->maps_live + 1) * 2 > slots)
		slots *= 2;
	struct gnttab_mapping **old = h->maps_by_addr;
	uint32_t old_slots = h->maps_slots;
	h->maps_by_addr = calloc(slots, sizeof(*h->maps_by_addr));
	if (!h->maps_by_addr) {
		h->maps_by_addr = old;
		sim_log("gnttab: %s by dom%u: no memory for an index of %u mappings", api, h->domid,
			slots);
		return -ENOMEM;
	}
	h->maps_slots = slots;
	h->maps_live = h->maps_used = 0;
	for (uint32_t i = 0; i < old_slots; i++)
		if (old[i] && old[i] != GNTTAB_MAPS_TOMB)
			gnttab_maps_insert(h, old[i]);
	free(old);
	return 0;
}

void gnttab_mapping_add_locked(struct xengntdev_handle *h, struct gnttab_mapping *m)
{
	GNTTAB_ASSERT((h->maps_used + 1) * 4 <= h->maps_slots * 3,
		      "dom%u: mapping at %p added without room reserved", h->domid, (void *)m->addr);
	m->prev = NULL;
	m->next = h->maps;
	if (h->maps)
		h->maps->prev = m;
	h->maps = m;
	gnttab_maps_insert(h, m);
}

/* From h's list and index to the releasing list. */
static struct gnttab_mapping *gnttab_mapping_detach_locked(struct xengntdev_handle *h,
							   struct gnttab_mapping *m)
{
	uint32_t slot = gnttab_maps_find(h, m->addr);

	GNTTAB_ASSERT(slot != UINT32_MAX && h->maps_by_addr[slot] == m,
		      "dom%u: mapping at %p is not in its handle's index", h->domid, (void *)m->addr);
	h->maps_by_addr[slot] = GNTTAB_MAPS_TOMB;
	h->maps_live--;
	if (m->prev)
		m->prev->next = m->next;
	else
		h->maps = m->next;
	if (m->next)
		m->next->prev = m->prev;
	m->next = m->prev = NULL;
	if (m->kind == GNTTAB_KIND_TAB)
		h->grants_mapped -= m->count;
	m->releasing = true;
	m->rel_next = gnttab_releasing;
	gnttab_releasing = m;
	return m;
}

struct gnttab_mapping *gnttab_mapping_take_locked(struct xengntdev_handle *h, void *addr,
						  uint32_t count)
{
	uint32_t slot = gnttab_maps_find(h, addr);

	if (slot == UINT32_MAX || h->maps_by_addr[slot]->count != count)
		return NULL;
	return gnttab_mapping_detach_locked(h, h->maps_by_addr[slot]);
}

/* Every mapping of h, detached, as a list linked by ->next. */
static struct gnttab_mapping *gnttab_mapping_take_all_locked(struct xengntdev_handle *h)
{
	struct gnttab_mapping *list = NULL;

	while (h->maps) {
		struct gnttab_mapping *m = gnttab_mapping_detach_locked(h, h->maps);
		m->next = list;
		list = m;
	}
	GNTTAB_ASSERT(h->grants_mapped == 0, "handle of dom%u: %u grants left after detaching all",
		      h->domid, h->grants_mapped);
	return list;
}

static void gnttab_releasing_remove_locked(struct gnttab_mapping *m)
{
	struct gnttab_mapping **pp = &gnttab_releasing;

	while (*pp && *pp != m)
		pp = &(*pp)->rel_next;
	GNTTAB_ASSERT(*pp && m->releasing, "dom%u: mapping at %p is not being released", m->domid,
		      (void *)m->addr);
	*pp = m->rel_next;
	m->releasing = false;
}

void gnttab_mapping_unpin_locked(struct gnttab_mapping *m, uint32_t pages)
{
	GNTTAB_ASSERT(m->owner->maptrack_used >= pages, "dom%u: maptrack %u, unpinning %u",
		      m->domid, m->owner->maptrack_used, pages);
	for (uint32_t i = 0; i < pages; i++)
		gnttab_unpin_locked(m->pages[i].grantor, m->pages[i].ref, m->writable);
	/* After the loop: the owner's maptrack keeps a self-granting table alive. */
	m->owner->maptrack_used -= pages;
	gnttab_domain_put_locked(m->owner);
}

/* The grants behind a share end now, or at their peer's last unmap. A dead
 * owner's unmapped grants were revoked already. */
static void gnttab_mapping_end_locked(struct gnttab_mapping *m)
{
	struct gnttab_domain *own = m->owner;

	for (uint32_t i = 0; i < m->count; i++) {
		uint32_t ref = m->pages[i].ref;
		if (own->dead && own->entries[ref].flags == GTF_invalid)
			continue;
		GNTTAB_ASSERT(own->entries[ref].shr_owned && own->entries[ref].frame == m->pages[i].frame,
			      "dom%u ref %u: shared page's grant changed under it", m->domid, ref);
		gnttab_end_locked(own, ref, true);
	}
	gnttab_domain_put_locked(own);
}

void gnttab_mapping_release(struct gnttab_mapping *m)
{
	/* The notify offset needs a writable view: checked when it was set up. */
	if (m->notify_offset != GNTTAB_NOTIFY_NONE)
		__atomic_store_n(m->addr + m->notify_offset, (uint8_t)0, __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&gnttab_lock);
	gnttab_releasing_remove_locked(m);
	int rc = sim_mem_unmap(m->addr, m->count);
	GNTTAB_ASSERT(rc == 0, "dom%u: unmap of its %u page(s) at %p failed: %s", m->domid,
		      m->count, (void *)m->addr, strerror(-rc));
	for (uint32_t i = 0; m->kind == GNTTAB_KIND_TAB && i < m->count; i++)
		sim_trace_event(SIM_TR_GRANT_UNMAP, m->domid, m->pages[i].grantor_id,
				m->pages[i].ref, 0, NULL);
	if (m->kind == GNTTAB_KIND_TAB)
		gnttab_mapping_unpin_locked(m, m->count);
	else
		gnttab_mapping_end_locked(m);
	gnttab_unlock();
	/* evtchn_send logs its own failures (a peer that closed its end, say). */
	if (m->notify_port != GNTTAB_NOTIFY_NONE)
		evtchn_send(m->domid, m->notify_port);
	free(m);
}

int gnttab_notify_port_check(domid_t domid, evtchn_port_t port, const char *api)
{
	if (port == GNTTAB_NOTIFY_NONE)
		return 0;
	int st = evtchn_port_status(domid, port, NULL, NULL);
	if (st >= 0 && st != EVTCHNSTAT_closed)
		return 0;
	sim_log("gnttab: %s by dom%u: notify port %u is not an open port of dom%u", api, domid,
		port, domid);
	return -EINVAL;
}

struct gnttab_mapping *gnttab_handles_kill_locked(domid_t domid)
{
	struct gnttab_mapping *list = NULL;

	for (struct xengntdev_handle *h = gnttab_handles; h; h = h->next) {
		if (h->domid != domid || h->dead)
			continue;
		h->dead = true;
		struct gnttab_mapping *taken = gnttab_mapping_take_all_locked(h);
		while (taken) {
			struct gnttab_mapping *m = taken;
			taken = m->next;
			m->next = list;
			list = m;
		}
	}
	return list;
}

/* ---- whole-state check (see gnttab_check in table.c) ---- */

/* Count a mapping's pins into the grantors' scratch counters. A releasing
 * share of a dead owner has had its grants revoked already. */
static void gnttab_mapping_check_locked(const struct gnttab_mapping *m)
{
	GNTTAB_ASSERT(gnttab_domain_known_locked(m->owner) && m->owner->domid == m->domid,
		      "dom%u: mapping at %p: owner table is gone", m->domid, (void *)m->addr);
	if (m->kind == GNTTAB_KIND_TAB)
		m->owner->check_maptrack += m->count;
	else if (m->owner->dead)
		return;
	for (uint32_t i = 0; i < m->count; i++) {
		const struct gnttab_page *p = &m->pages[i];
		GNTTAB_ASSERT(gnttab_domain_known_locked(p->grantor) && p->ref < GNTTAB_GRANTS_MAX,
			      "dom%u: mapping at %p page %u: grantor table gone or ref %u",
			      m->domid, (void *)m->addr, i, p->ref);
		struct gnttab_entry *e = gnttab_entry_scratch(&p->grantor->entries[p->ref]);
		GNTTAB_ASSERT(e->flags != GTF_invalid && e->frame == p->frame,
			      "dom%u: mapping at %p page %u: dom%u ref %u is freed or changed",
			      m->domid, (void *)m->addr, i, p->grantor->domid, p->ref);
		if (m->kind == GNTTAB_KIND_SHR) {
			GNTTAB_ASSERT(p->grantor == m->owner && e->shr_owned && !e->end_pending,
				      "dom%u ref %u: shared page's grant is not a live share",
				      m->domid, p->ref);
			continue;
		}
		GNTTAB_ASSERT(e->domid == m->domid, "dom%u ref %u: mapped by dom%u, granted to dom%u",
			      p->grantor->domid, p->ref, m->domid, e->domid);
		if (m->writable)
			e->check_write++;
		else
			e->check_read++;
	}
}

void gnttab_handles_check_locked(void)
{
	unsigned n = 0;

	for (const struct xengntdev_handle *h = gnttab_handles; h; h = h->next, n++) {
		uint32_t mapped = 0;
		GNTTAB_ASSERT(gnttab_domain_known_locked(h->dom) && h->dom->domid == h->domid,
			      "handle %p of dom%u: its table is gone", (void *)h, h->domid);
		GNTTAB_ASSERT(!h->dead || !h->maps, "dead handle of dom%u still has mappings",
			      h->domid);
		h->dom->check_handles++;
		unsigned listed = 0;
		for (const struct gnttab_mapping *m = h->maps; m; m = m->next, listed++) {
			GNTTAB_ASSERT(m->kind == h->kind && m->owner == h->dom && !m->releasing,
				      "dom%u: mapping at %p does not match its handle", h->domid,
				      (void *)m->addr);
			gnttab_mapping_check_locked(m);
			if (m->kind == GNTTAB_KIND_TAB)
				mapped += m->count;
		}
		GNTTAB_ASSERT(listed == h->maps_live && h->maps_live <= h->maps_used &&
			      h->maps_used * 4 <= h->maps_slots * 3,
			      "handle of dom%u: %u mappings listed, index holds %u (%u of %u slots used)",
			      h->domid, listed, h->maps_live, h->maps_used, h->maps_slots);
		GNTTAB_ASSERT(mapped == h->grants_mapped && mapped <= h->max_grants,
			      "handle of dom%u: %u grants mapped, counted %u, cap %u", h->domid,
			      mapped, h->grants_mapped, h->max_grants);
	}
	GNTTAB_ASSERT(n == gnttab_handles_count, "%u handles listed, %u counted", n,
		      gnttab_handles_count);
	for (const struct gnttab_mapping *m = gnttab_releasing; m; m = m->rel_next) {
		GNTTAB_ASSERT(m->releasing, "dom%u: mapping at %p on the releasing list is not "
			      "releasing", m->domid, (void *)m->addr);
		gnttab_mapping_check_locked(m);
	}
}

unsigned gnttab_handles_open(void)
{
	pthread_mutex_lock(&gnttab_lock);
	unsigned n = gnttab_handles_count;
	pthread_mutex_unlock(&gnttab_lock);   /* read only */
	return n;
}
