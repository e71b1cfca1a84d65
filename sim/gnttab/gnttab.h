/*
 * sim/gnttab: per-domain grant tables (v1). Implements Xen's libxengnttab API
 * (xengnttab.h: xengnttab_* and xengntshr_*) for in-process domains; this header
 * is the sim-side view that other sim modules, tests and the harness use.
 */
#ifndef SIM_GNTTAB_H
#define SIM_GNTTAB_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/grant_table.h>
#include <xen/xen.h>

#define GNTTAB_GRANTS_MAX 8192u      /* grant entries per domain (ref 0..7 reserved) */
#define GNTTAB_RESERVED_REFS 8u      /* GNTTAB_NR_RESERVED_ENTRIES in Xen */
#define GNTTAB_MAPTRACK_MAX 16384u   /* foreign grants a domain may have mapped */
#define GNTTAB_HANDLE_MAPS_DEFAULT 16384u

struct gnttab_stats {
	uint64_t grants_active;      /* entries in use */
	uint64_t maps_active;        /* foreign maps of this domain's grants */
	uint64_t maptrack_used;      /* grants this domain has mapped */
	uint64_t end_deferred;       /* ends refused because still mapped (XSA-396 window) */
};

/* Low level grant operations, as a kernel would do them on behalf of `domid`. */
/* Grant `grantee` access to frame; returns ref (> 0) or -errno (-ENOSPC full). */
int gnttab_grant_access(domid_t domid, domid_t grantee, uint32_t frame, bool readonly);
/* End access: -EBUSY while the grant is mapped, -EINVAL bad ref. */
int gnttab_end_access(domid_t domid, uint32_t ref);
/* The GNTST_* status a map by `mapper` of (grantor, ref, readonly) would get. */
int16_t gnttab_check_map(domid_t mapper, domid_t grantor, uint32_t ref, bool readonly);

int gnttab_stats(domid_t domid, struct gnttab_stats *out);
/* Open xengnttab/xengntshr handles in the process. */
unsigned gnttab_handles_open(void);

/* Verify the whole state (map counts match the map registry, flags legal);
 * aborts with a message naming domain and ref on a broken invariant. */
void gnttab_check(void);

#endif
