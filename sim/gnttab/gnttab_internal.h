/*
 * Private to sim/gnttab. No other module includes this.
 *
 * One module lock (gnttab_lock) guards every table, handle and mapping record.
 * Lock order: gnttab_lock may be held while calling into the hypervisor (it
 * runs our domain hooks without holding its own locks), never while calling
 * evtchn or touching memory through a pointer a guest gave us: a stale guest
 * pointer faults, and the fault must not leave the module locked.
 */
#ifndef SIM_GNTTAB_INTERNAL_H
#define SIM_GNTTAB_INTERNAL_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <xengnttab.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"

#define GNTTAB_ASSERT(cond, ...) SIM_ASSERT_IN("gnttab", cond, __VA_ARGS__)

#define GNTTAB_PAGE_SIZE SIM_PAGE_SIZE
#define GNTTAB_REFS_USABLE (GNTTAB_GRANTS_MAX - GNTTAB_RESERVED_REFS)
/* "No notification" for notify_offset / notify_port (-1 in the API). */
#define GNTTAB_NOTIFY_NONE UINT32_MAX
/* Status of a map/copy of an entry not granted to the caller, or a write to a
 * read-only grant. Xen 4.17 itself answers GNTST_general_error in both cases
 * (_set_status_v1); xensim uses the more telling code. */
/* Xen 4.17 answers a wrong grantee, an unused entry and a write to a read-only
 * grant with GNTST_general_error (_set_status_v1), so do we. */
#define GNTTAB_ST_DENIED GNTST_general_error

_Static_assert(GNTTAB_PAGE_SIZE == 4096, "grant pages are 4 KiB (XEN_PAGE_SIZE)");
_Static_assert(GNTTAB_RESERVED_REFS < GNTTAB_GRANTS_MAX, "some refs must be usable");
_Static_assert(GNTTAB_HANDLE_MAPS_DEFAULT <= GNTTAB_MAPTRACK_MAX,
	       "a handle's default cap fits in the domain's maptrack");
_Static_assert(GNTTAB_MAPTRACK_MAX < UINT32_MAX / 2, "counters do not overflow");

/* One grant entry as v1 shares it ({flags, domid, frame}) plus what Xen keeps
 * in its active entry: how many maps of each kind are live. */
struct gnttab_entry {
	uint16_t flags;          /* GTF_*; GTF_invalid when free */
	domid_t domid;           /* the grantee */
	uint32_t frame;
	uint32_t maps_read;      /* live read-only maps */
	uint32_t maps_write;     /* live writable maps */
	bool end_pending;        /* ended while mapped: finished at the last unmap */
	bool shr_owned;          /* frame allocated by gntshr: freed with the grant */
	/* Scratch for gnttab_check(), valid in round check_round only (see
	 * gnttab_entry_scratch): a check need not clear every entry first. */
	uint32_t check_read, check_write;
	bool check_free;
	uint32_t check_round;
};

/* The grant table of one domain incarnation. A dead one (its domain was
 * destroyed) lingers while foreign maps of its grants or handles remain. */
struct gnttab_domain {
	domid_t domid;
	bool dead;
	uint32_t grants_active;    /* entries not GTF_invalid */
	uint32_t maps_active;      /* live maps (by anyone) of our grants */
	uint32_t maptrack_used;    /* grants this domain has mapped */
	uint32_t handles;          /* handles pointing here, open or dead */
	uint64_t end_deferred;     /* ends refused/deferred because still mapped */
	uint64_t maps_closed;      /* pages of ours a live mapper left mapped at its handle's close */
	uint64_t closed_mapped;    /* pages we left mapped at our own handles' closes (live) */
	uint32_t check_maptrack, check_handles;   /* scratch for gnttab_check() */
	struct gnttab_domain *zombie_next;        /* replaced by a new incarnation */
	/* Refs from `fresh` on were never handed out: their entries were never
	 * written, and a check or a revoke need not visit them (most of a
	 * table, most of the time; visiting them would also make the whole
	 * table resident). A grant takes the last released ref if there is
	 * one, else `fresh`: refs come out 8, 9, 10, ... on a fresh table. */
	uint32_t fresh;
	uint32_t released_n;
	uint32_t released[GNTTAB_REFS_USABLE];    /* stack of released refs */
	struct gnttab_entry entries[GNTTAB_GRANTS_MAX];
};

/* Refs a grant can still take: the released ones and the fresh ones (the
 * same count as sim/hypervisor/memory.c's frames: a stack plus a counter). */
static inline uint32_t gnttab_refs_free(const struct gnttab_domain *d)
{
	return d->released_n + (GNTTAB_GRANTS_MAX - d->fresh);
}

enum gnttab_kind { GNTTAB_KIND_TAB, GNTTAB_KIND_SHR };

struct gnttab_page {
	struct gnttab_domain *grantor;
	uint32_t grantor_id;     /* as the caller named it (DOMID_SELF resolved later) */
	uint32_t ref;
	uint32_t frame;
};

/* One address range a handle mapped (TAB: foreign grants) or shared (SHR: the
 * grantor's own view of pages it allocated and granted). */
struct gnttab_mapping {
	struct gnttab_mapping *next;       /* on its handle, or a caller's list */
	struct gnttab_mapping *prev;       /* on its handle (NULL: the first) */
	struct gnttab_mapping *rel_next;   /* on the releasing list */
	bool releasing;                    /* detached from its handle, not yet undone */
	enum gnttab_kind kind;
	domid_t domid;                 /* the mapping (TAB) or sharing (SHR) domain */
	struct gnttab_domain *owner;   /* its table: maptrack (TAB), grants (SHR) */
	uint8_t *addr;
	uint32_t count;
	bool writable;
	uint32_t notify_offset;        /* GNTTAB_NOTIFY_NONE or < a page */
	evtchn_port_t notify_port;     /* GNTTAB_NOTIFY_NONE or a local port */
	struct gnttab_page pages[];
};

/* xengnttab_handle and xengntshr_handle are both this struct in xengnttab.h. */
struct xengntdev_handle {
	struct xengntdev_handle *next;    /* all handles of the process */
	enum gnttab_kind kind;
	domid_t domid;
	struct gnttab_domain *dom;
	bool dead;                /* its domain is gone: calls fail ESRCH */
	bool used;                /* a map was asked: set_max_grants is too late */
	int fd;
	uint32_t max_grants;
	uint32_t grants_mapped;
	struct gnttab_mapping *maps;
	/* The same mappings by address (see gnttab_mapping_add_locked). */
	struct gnttab_mapping **maps_by_addr;
	uint32_t maps_slots;      /* a power of two, or 0 before the first map */
	uint32_t maps_live;       /* slots holding a mapping */
	uint32_t maps_used;       /* slots holding a mapping or a tombstone */
};

extern pthread_mutex_t gnttab_lock;
/* The current gnttab_check() round, never 0 (a fresh entry's round). */
extern uint32_t gnttab_check_round;

/* An entry's check scratch, cleared on its first use in this round. */
static inline struct gnttab_entry *gnttab_entry_scratch(struct gnttab_entry *e)
{
	if (e->check_round != gnttab_check_round) {
		e->check_round = gnttab_check_round;
		e->check_read = e->check_write = 0;
		e->check_free = false;
	}
	return e;
}
/* Bumped by every unlock that may have changed a table, handle or mapping
 * (all but the read-only queries): gnttab_check() skips a state it has
 * already found consistent, which is what a full check would find again. */
extern uint64_t gnttab_gen;

static inline void gnttab_unlock(void)
{
	gnttab_gen++;
	pthread_mutex_unlock(&gnttab_lock);
}

/* ---- table.c ---- */
const char *gnttab_status_name(int16_t st);
int gnttab_status_errno(int16_t st);
/* The live table of a domain (DOMID_SELF must be resolved first), or NULL. */
struct gnttab_domain *gnttab_domain_locked(uint32_t domid);
/* The scenario quotas of domid (gnttab_set_limits), or the defaults. */
uint32_t gnttab_grants_limit_locked(domid_t domid);
uint32_t gnttab_maptrack_limit_locked(domid_t domid);
bool gnttab_domain_known_locked(const struct gnttab_domain *d);
/* The GNTST_* a use by `user` of (g, ref) for reading or writing gets; on
 * failure `why` says why with values. */
int16_t gnttab_access_check_locked(domid_t user, const struct gnttab_domain *g,
				   uint32_t ref, bool write, char *why, size_t why_len);
void gnttab_pin_locked(struct gnttab_domain *g, uint32_t ref, bool write);
void gnttab_unpin_locked(struct gnttab_domain *g, uint32_t ref, bool write);
/* A new entry; returns the ref or -ENOSPC. */
int gnttab_grant_locked(struct gnttab_domain *d, domid_t grantee, uint32_t frame,
			bool readonly, bool shr_owned);
/* End a grant: 0 done; 1 deferred to the last unmap (if defer); -EBUSY. */
int gnttab_end_locked(struct gnttab_domain *d, uint32_t ref, bool defer);
/* Free a dead table once nothing refers to it any more. */
void gnttab_domain_put_locked(struct gnttab_domain *d);
void gnttab_tables_check_begin_locked(void);
void gnttab_tables_check_end_locked(void);

/* ---- handle.c ---- */
struct xengntdev_handle *gnttab_handle_open(enum gnttab_kind kind, const char *api);
/* exiting: the owner is a process that went (its mappings go with it, as the
 * kernel unmaps a dead process's grants): nothing is counted as left mapped. */
int gnttab_handle_close(struct xengntdev_handle *h, enum gnttab_kind kind, bool exiting);
int gnttab_handle_fd(struct xengntdev_handle *h, enum gnttab_kind kind, const char *api);
/* Unmap (TAB) or unshare (SHR) exactly one mapping of h; 0 or -1 with errno. */
int gnttab_handle_unmap(struct xengntdev_handle *h, enum gnttab_kind kind, void *addr,
			uint32_t count, const char *api);
/* 0 if the calling thread may use h now, else -errno (logged). */
int gnttab_handle_use_locked(struct xengntdev_handle *h, enum gnttab_kind kind,
			     const char *api);
struct gnttab_mapping *gnttab_mapping_alloc(enum gnttab_kind kind, uint32_t count);
/* Room for one more mapping of h, so that gnttab_mapping_add_locked cannot
 * fail: 0 or -ENOMEM (logged), before a map or share changes anything. */
int gnttab_mapping_reserve_locked(struct xengntdev_handle *h, const char *api);
/* Link a new mapping to h (first on its list); room was reserved. */
void gnttab_mapping_add_locked(struct xengntdev_handle *h, struct gnttab_mapping *m);
/* Unlink the mapping of h at exactly (addr, count), or NULL. A detached
 * mapping sits on the releasing list until gnttab_mapping_release() undoes
 * it, so gnttab_check() still counts its grants meanwhile. */
struct gnttab_mapping *gnttab_mapping_take_locked(struct xengntdev_handle *h, void *addr,
						  uint32_t count);
/* Notify, unmap, drop pins / end grants, free. Called without the lock. */
void gnttab_mapping_release(struct gnttab_mapping *m);
/* Undo the grant side of a mapping that was never linked (lock held). */
void gnttab_mapping_unpin_locked(struct gnttab_mapping *m, uint32_t pages);
/* A notify port must be a port of the domain that is in use. */
int gnttab_notify_port_check(domid_t domid, evtchn_port_t port, const char *api);
/* Kill the handles of a dying domain; returns their mappings, unlinked. */
struct gnttab_mapping *gnttab_handles_kill_locked(domid_t domid);
void gnttab_handles_check_locked(void);
/* Every open handle, newest first, linked by ->next (the shm attack walks them). */
const struct xengntdev_handle *gnttab_handles_first_locked(void);

#endif
