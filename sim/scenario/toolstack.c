/*
 * The toolstack's destroy of a device for the workloads' unplug: see
 * toolstack.h. Its xenbus connection is its own, on dom0's loop, opened at
 * the start and closed once the harness has seen the end.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/scn_internal.h"
#include "sim/scenario/toolstack.h"

struct scn_destroy {
	struct scn_wl *wl;
	struct xenbus *xb;          /* on dom0's loop */
	struct xenbus_device dev;   /* no key lists */
	char type[16];
	bool check_maps;
	uint64_t start_ns, pauses_at_start;
	atomic_bool ended;
	int rc;
};

/* dom0's thread, from xenbus_device_destroy: the directories are gone (or
 * should be: checked), and the backend said Closed, went, or timed out. */
static void scn_destroy_done(void *arg, int rc)
{
	struct scn_destroy *d = arg;
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	struct gnttab_stats st;

	if (rc == -ECANCELED)
		goto out;
	if (rc == 0 && sim_now_ns() - d->start_ns >= SCN_CLOSE_TIMEOUT_NS && sim_domain_alive(d->dev.fe_domid) &&
	    atomic_load(&d->wl->run->pauses) == d->pauses_at_start)
		scn_wl_fail(d->wl, "%s %u of dom %u: the toolstack's destroy took %llu ms: backend dom %u closed only "
			    "by its close timeout; the frontend, alive and never paused, did not answer its Closing",
			    d->type, d->dev.devid, d->dev.fe_domid,
			    (unsigned long long)((sim_now_ns() - d->start_ns) / 1000000), d->dev.be_domid);
	if (rc == 0 && d->check_maps && gnttab_stats(d->dev.fe_domid, &st) == 0 && st.maps_active)
		scn_wl_fail(d->wl, "%s %u of dom %u: the toolstack's destroy finished (backend dom %u Closed, or "
			    "gone) while %lu of the guest's grants were still mapped", d->type, d->dev.devid,
			    d->dev.fe_domid, d->dev.be_domid, st.maps_active);
	if (xenbus_device_paths(&d->dev, fe, be, sizeof(fe)) == 0 && xenbus_exists(xenbus_xs(d->xb), XBT_NULL, be) == 0)
		scn_wl_fail(d->wl, "%s %u of dom %u: the toolstack's destroy ended (%s) with %s still in xenstore",
			    d->type, d->dev.devid, d->dev.fe_domid, rc == 0 ? "backend Closed or gone" : strerror(-rc),
			    be);
out:
	d->rc = rc;
	atomic_store(&d->ended, true);
}

static int scn_destroy_begin(void *arg)
{
	struct scn_destroy *d = arg;
	int rc = xenbus_open(sim_domain_event_base(), &d->xb);

	if (rc == 0)
		rc = xenbus_device_destroy(d->xb, &d->dev, SCN_DESTROY_TIMEOUT_MS, scn_destroy_done, d);
	return rc;
}

static int scn_destroy_close(void *arg)
{
	struct scn_destroy *d = arg;

	xenbus_close(d->xb);   /* one under way ends -ECANCELED */
	return 0;
}

/* Its connection goes with it; a dom0 that went took the loop with it. */
static void scn_destroy_free(struct scn_destroy *d)
{
	if (d->xb && sim_domain_alive(0))
		scn_wl_call(d->wl, 0, scn_destroy_close, d);
	free(d);
}

int scn_destroy_start(struct scn_wl *wl, const struct xenbus_device *dev, bool check_maps,
		      struct scn_destroy **out)
{
	struct scn_destroy *d = calloc(1, sizeof(*d));
	int rc;

	if (!d)
		return -ENOMEM;
	*d = (struct scn_destroy){.wl = wl, .check_maps = check_maps,
				  .start_ns = sim_now_ns(), .pauses_at_start = atomic_load(&wl->run->pauses)};
	snprintf(d->type, sizeof(d->type), "%s", dev->type);
	d->dev = (struct xenbus_device){.type = d->type, .fe_domid = dev->fe_domid, .be_domid = dev->be_domid,
					.devid = dev->devid};
	rc = scn_wl_call(wl, 0, scn_destroy_begin, d);
	if (rc < 0) {
		scn_destroy_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

bool scn_destroy_poll(struct scn_destroy **d, int *rc)
{
	if (!*d || !atomic_load(&(*d)->ended))
		return false;
	*rc = (*d)->rc;
	scn_destroy_free(*d);
	*d = NULL;
	return true;
}

void scn_destroy_cancel(struct scn_destroy **d)
{
	if (!*d)
		return;
	scn_destroy_free(*d);
	*d = NULL;
}

bool scn_destroy_judge(struct scn_wl *wl, const struct xenbus_device *dev, int rc, bool be_alive,
		       bool be_paused)
{
	if (rc == -ETIMEDOUT && be_alive && !be_paused)
		scn_wl_fail(wl, "%s %u of dom %u: backend dom %u did not reach Closed within %u s of the toolstack's "
			    "close (online=0, state Closing): the destroy removed the device under it", dev->type,
			    dev->devid, dev->fe_domid, dev->be_domid, SCN_DESTROY_TIMEOUT_MS / 1000);
	else if (rc == -ETIMEDOUT)
		scn_wl_note(wl, dev->be_domid, "%s %u of dom %u: backend %s: the destroy timed out and removed the "
			    "device anyway", dev->type, dev->devid, dev->fe_domid, be_alive ? "paused" : "gone");
	else if (rc < 0)
		scn_wl_error(wl, "%s %u of dom %u: the toolstack's destroy failed: %s", dev->type, dev->devid,
			     dev->fe_domid, strerror(-rc));
	return rc == -ETIMEDOUT;
}
