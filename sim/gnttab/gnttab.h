/*
 * sim/gnttab: per-domain grant tables (v1). Implements Xen's libxengnttab API
 * (xengnttab.h: xengnttab_* and xengntshr_*) for in-process domains; this header
 * is the sim-side view that other sim modules, tests and the harness use.
 *
 * The API side, in short: a handle belongs to the domain of the thread that
 * opened it (outside a domain: NULL, ESRCH); another domain's thread gets EPERM;
 * after its domain died every call but close fails ESRCH; close works from any
 * thread. A failed map sets errno from the GNTST_* of the first bad ref:
 * bad_domain ESRCH, bad_gntref EINVAL, no_device_space ENOSPC (maptrack or
 * set_max_grants cap), general_error EIO (as in Xen 4.17: a ref not granted, granted
 * to another domain, or a write map of a read-only grant), others EIO; nothing
 * stays mapped. Grant copy puts per-segment GNTST_* in status and fails the
 * whole call (EINVAL) only for a segment with no gref side or unknown flags.
 * The dma-buf calls fail ENOSYS. Fault sites: gnttab.map, gnttab.copy,
 * gnttab.share, and the shared-memory attack gnttab.shm.flip and
 * gnttab.shm.rewrite (gnttab_attack.c).
 */
#ifndef SIM_GNTTAB_H
#define SIM_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/xen.h>
#include <xengnttab.h>

#define GNTTAB_GRANTS_MAX 8192u      /* grant entries per domain (ref 0..7 reserved) */
#define GNTTAB_RESERVED_REFS 8u      /* GNTTAB_NR_RESERVED_ENTRIES in Xen */
#define GNTTAB_MAPTRACK_MAX 16384u   /* foreign grants a domain may have mapped */
#define GNTTAB_HANDLE_MAPS_DEFAULT 16384u

struct gnttab_stats {
	uint64_t grants_active;      /* entries in use */
	uint64_t maps_active;        /* foreign maps of this domain's grants */
	uint64_t maptrack_used;      /* grants this domain has mapped */
	uint64_t end_deferred;       /* ends refused because still mapped (XSA-396 window) */
	/* Pages of this domain's grants a live domain still had mapped when it
	 * closed its xengnttab handle (released here; on Xen, gntdev keeps an
	 * mmap'd grant mapped until munmap: a leak of the mapper's). */
	uint64_t maps_closed;
	/* The same seen from the mapper: pages of any domain's grants this
	 * domain, alive, still had mapped when it closed a handle of its own. */
	uint64_t closed_mapped;
};

/* Low level grant operations, as a kernel would do them on behalf of `domid`. */
/* Grant `grantee` access to frame; returns ref (> 0) or -errno (-ENOSPC full). */
int gnttab_grant_access(domid_t domid, domid_t grantee, uint32_t frame, bool readonly);
/* End access: -EBUSY while the grant is mapped (counted in end_deferred), -EINVAL
 * bad ref, -EPERM a gntshr page's grant (xengntshr_unshare ends it), -ESRCH no
 * live domain. The frame stays the caller's. */
int gnttab_end_access(domid_t domid, uint32_t ref);
/* The GNTST_* status a map by `mapper` of (grantor, ref, readonly) would get
 * (grantor may be DOMID_SELF); the per-handle cap is not considered. */
int16_t gnttab_check_map(domid_t mapper, domid_t grantor, uint32_t ref, bool readonly);

/* The latest table of `domid` (all zero if it has none); -EINVAL bad domid. */
int gnttab_stats(domid_t domid, struct gnttab_stats *out);
/* xengnttab_close for a process that went (an exec'd domain's program, its
 * connection gone): its mappings go with it, as the kernel unmaps a dead
 * process's grants, and none is counted in maps_closed/closed_mapped. */
int gnttab_close_at_exit(xengnttab_handle *xgt);
/* Open xengnttab/xengntshr handles in the process. */
unsigned gnttab_handles_open(void);

/* Scenario quotas (`quota DOMAIN grants N`): at most `grants` grant entries
 * in use by domid and `maptrack` foreign grants mapped by it at once (0: the
 * defaults, GNTTAB_REFS_USABLE and GNTTAB_MAPTRACK_MAX). Kept by domid, so a
 * restarted domain keeps them; gnttab_limits_reset() clears every one. */
int gnttab_set_limits(domid_t domid, uint32_t grants, uint32_t maptrack);
void gnttab_limits_reset(void);

/* Strikes of the shared-memory attack (gnttab.shm.flip, gnttab.shm.rewrite)
 * in pages `grantor` granted, since that domain was created: its own view of
 * those pages is the attack's doing, not the code's (scenario verdicts). */
uint64_t gnttab_shm_injected_by(domid_t grantor);

/* Verify the whole state (map counts match the map registry, flags legal);
 * aborts with a message naming domain and ref on a broken invariant. */
void gnttab_check(void);

#endif
