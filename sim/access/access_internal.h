/* Between the access runtime (access.c) and its detector and report
 * (detect.c, report.c). No other module includes this. */
#ifndef SIM_ACCESS_INTERNAL_H
#define SIM_ACCESS_INTERNAL_H

#include <pthread.h>

#include "sim/access/access.h"
#include "sim/hypervisor/hypervisor.h"

/* One shared access, as the detector sees it. */
struct acc_event {
	domid_t dom;                  /* the accessing domain (DOMID_INVALID: none) */
	struct sim_mem_where where;
	uintptr_t addr;
	uint32_t len;
	bool write;
	const void *pc;
};

/* detect.c; the caller holds acc_lock. */
void acc_detect(const struct acc_event *ev);
void acc_detect_reset(void);
void acc_sites_add(const struct acc_event *ev);
void acc_sites_reset(void);
#define ACC_JUMP_BY 0x40000000u   /* how far jump.c moves an index: past any ring */
/* jump.c; the caller holds acc_lock. at: the re-read to jump (0: none). */
void acc_jump(const struct acc_event *ev);
void acc_jump_reset(uint32_t at);

/* report.c: code locations as "function file:line" (addr2line on this
 * executable). n at most SIM_ACCESS_SITES_MAX. */
void acc_symbolize(const void *const *pcs, unsigned n, char (*out)[SIM_ACCESS_LOC_MAX]);

struct acc_site {
	const void *pc;
	uint64_t reads, writes;
	uint32_t sizes;               /* bit k: an access of 2^k bytes; bit 31: other */
	uint8_t kinds;                /* bit enum sim_map_kind */
	domid_t dom;                  /* the first domain seen there */
};
/* The table of sites seen (detect.c), for the report. */
const struct acc_site *acc_sites(unsigned *n);

struct acc_finding {
	domid_t dom, grantor;
	uint32_t ref, offset, len;
	const void *pc_first, *pc_again;
	bool jumped;                  /* jump.c's: index at offset jumped from `was` at
				       * pc_first, a slot read at pc_again */
	uint32_t was;
};
const struct acc_finding *acc_findings(unsigned *n);
/* One finding per re-reading location (pc_again); the caller holds acc_lock. */
void acc_finding_add(const struct acc_finding *f);

extern pthread_mutex_t acc_lock;

#endif
