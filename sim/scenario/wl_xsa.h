/*
 * The xs-attack workload's state, shared by its files: wl_xsa.c (the
 * workload and most attacks) and wl_xsa_limits.c (the attacks on the wire
 * limits: path lengths, message size).
 */
#ifndef SIM_SCENARIO_WL_XSA_H
#define SIM_SCENARIO_WL_XSA_H

#include <stdatomic.h>

#include <xenstore.h>

#include "sim/scenario/workload.h"

#define XSA_PATH_MAX 128u

enum xsa_counter { XSA_C_PHASE, XSA_C_REFUSED, XSA_C_EVENTS, XSA_C_COUNT };

struct xsa {
	struct scn_wl *wl;
	domid_t att, vic;
	unsigned rounds;
	char dir[64];                 /* /tool/ID: the toolstack's part of the attack */
	struct xs_handle *vh;         /* the victim's handle (event-flood) */
	_Atomic uint64_t cnt[XSA_C_COUNT];
};

void xsa_add(struct xsa *x, enum xsa_counter k);
/* An xs handle of the calling domain thread (d names it in the error). */
struct xs_handle *xsa_open(struct xsa *x, domid_t d);

/* wl_xsa_limits.c, run on the attacker's thread */
int xsa_long_paths(void *arg);
int xsa_big_event(void *arg);

#endif
