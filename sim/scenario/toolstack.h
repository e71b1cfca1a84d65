/*
 * Private to sim/scenario's workloads: the toolstack's destroy of a device
 * (a hot-unplug), through the drivers' own xenbus_device_destroy on dom0's
 * thread, as xen/qemu/toolstack.c does on real Xen: online=0 and Closing,
 * then wait for the backend's Closed (or its directory gone), then remove
 * both directories; after the timeout, remove them anyway.
 *
 * Checked when the destroy ends, on dom0's thread at that moment (a slice
 * later the backend may have caught up):
 * - a destroy that ended because the backend said Closed (or went) finds
 *   none of the guest's grants still mapped, if the caller says the guest
 *   has no other device (a backend writes Closed only once it let go);
 * - no destroy, finished or timed out, leaves the backend's directory;
 * - a destroy that finished only after the backends' close timeout (10 s:
 *   blkback's and netback's wait for their frontend's answer to Closing),
 *   with the frontend's domain alive and no domain paused meanwhile, met a
 *   frontend that never answered its backend's Closing (Linux's frontends
 *   answer it in any state).
 * The workload polls the outcome between slices (harness thread).
 */
#ifndef SIM_SCENARIO_TOOLSTACK_H
#define SIM_SCENARIO_TOOLSTACK_H

#include <stdbool.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/workload.h"

struct scn_destroy;

#define SCN_CLOSE_TIMEOUT_NS (10ull * 1000000000ull)   /* blkback's and netback's */
#define SCN_DESTROY_TIMEOUT_MS 15000u   /* the destroy's: their close timeout and some */

/* Start it (harness thread; dom0 must live): *out until it is polled to its
 * end or cancelled. check_maps: the guest has no device but this one, so
 * its grants mapped by anyone are the backend's. 0 or -errno. */
int scn_destroy_start(struct scn_wl *wl, const struct xenbus_device *dev, bool check_maps,
		      struct scn_destroy **out);
/* Harness thread: has it ended? Then *rc is the destroy's (0, -ETIMEDOUT:
 * removed anyway; another -errno) and *d is freed and NULL. */
bool scn_destroy_poll(struct scn_destroy **d, int *rc);
/* Judge an ended destroy's rc (harness thread): timed out with the backend
 * alive and never paused meanwhile is the backend's failure (its close
 * timeout bounds its wait for the frontend: it never reached Closed);
 * timed out otherwise a note (it lets go when it runs again); another
 * -errno an error. true: it timed out. */
bool scn_destroy_judge(struct scn_wl *wl, const struct xenbus_device *dev, int rc, bool be_alive,
		       bool be_paused);
/* Harness thread: give it up (the backend's domain went, or the run ends);
 * nothing is checked. *d NULL after; NULL is fine. */
void scn_destroy_cancel(struct scn_destroy **d);

#endif
