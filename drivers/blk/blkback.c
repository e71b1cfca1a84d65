/*
 * blkback: the instance, vbd discovery and what each vbd does at each step
 * of the xenbus lifecycle (drivers/xenbus's xenbus_backend, which it shares
 * with netback; io/blkif.h, "STATE DIAGRAMS"):
 *
 *   found -> publish features, InitWait
 *   frontend Initialised -> map rings, bind channels, publish the disk's
 *   properties, Connected
 *   frontend Closing/Closed/gone, online=0, violation -> disconnect, Closing/Closed
 *   frontend back at Initialising -> Closed, publish again, InitWait (reconnect)
 *
 * A frontend at Connected while we wait in InitWait is stale (a previous
 * connection, e.g. before our domain restarted): we wait for it to start
 * over rather than map old rings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <event2/event.h>

#include "drivers/blk/blkback_internal.h"

void blkback_vbd_log(struct blkback_vbd *vbd, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (vbd->vbd_log_budget == 0)
		return;
	vbd->vbd_log_budget--;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	xd_log("blkback: vbd %" PRIu32 " of dom%" PRIu32 ": %s%s", vbd->vbd_devid,
	       vbd->vbd_fe_domid, line, vbd->vbd_log_budget ? "" : " (further errors not logged)");
}

static struct xs_handle *blkback_xs(struct blkback_vbd *vbd)
{
	return xenbus_xs(vbd->vbd_bb->bb_xb);
}

void blkback_vbd_fatal(struct blkback_vbd *vbd, const char *fmt, ...)
{
	char line[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	for (unsigned i = 0; i < vbd->vbd_nr_queues; i++)
		vbd->vbd_queues[i].q_dead = true;
	if (!xenbus_backend_fatal(&vbd->vbd_be, line))
		return;
	vbd->vbd_bb->bb_stats.fatal++;
	vbd->vbd_log_budget = vbd->vbd_log_budget ? vbd->vbd_log_budget : 1;
	blkback_vbd_log(vbd, "frontend broke the protocol, disconnecting: %s", line);
}

/* ---- publishing ---- */

static int blkback_publish_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkback_vbd *vbd = arg;
	const struct blkback_config *c = &vbd->vbd_bb->bb_cfg;
	const struct blkback_limits *lim = &vbd->vbd_limits;
	struct blk_store_info info;
	const char *d = vbd->vbd_be.bd_dir;
	int rc = 0;

	blk_store_info(vbd->vbd_store, &info);
	rc |= xenbus_write_fmt(xs, t, d, "feature-flush-cache", "%d", lim->flush);
	rc |= xenbus_write_fmt(xs, t, d, "feature-barrier", "%d", lim->barrier);
	rc |= xenbus_write_fmt(xs, t, d, "feature-discard", "%d", lim->discard);
	if (lim->discard) {
		rc |= xenbus_write_fmt(xs, t, d, "discard-granularity", "%" PRIu32, info.discard_granularity);
		rc |= xenbus_write_fmt(xs, t, d, "discard-alignment", "0");
		rc |= xenbus_write_fmt(xs, t, d, "discard-secure", "0");
	}
	rc |= xenbus_write_fmt(xs, t, d, "feature-persistent", "%d", c->persistent);
	rc |= xenbus_write_fmt(xs, t, d, "max-ring-page-order", "%u", c->ring_page_order_max);
	if (lim->indirect_segs_max)
		rc |= xenbus_write_fmt(xs, t, d, "feature-max-indirect-segments", "%u", lim->indirect_segs_max);
	else
		rc |= xenbus_rm(xs, t, d, "feature-max-indirect-segments");
	if (c->queues_max > 1)
		rc |= xenbus_write_fmt(xs, t, d, "multi-queue-max-queues", "%u", c->queues_max);
	else
		rc |= xenbus_rm(xs, t, d, "multi-queue-max-queues");
	rc |= xenbus_rm(xs, t, d, "error");
	if (rc)
		return rc < 0 ? rc : -EIO;
	return xenbus_backend_initwait_tx(xs, t, d);
}

static void blkback_vbd_limits(struct blkback_vbd *vbd)
{
	const struct blkback_config *c = &vbd->vbd_bb->bb_cfg;
	struct blk_store_info info;

	blk_store_info(vbd->vbd_store, &info);
	bool ro = vbd->vbd_readonly || info.readonly;
	vbd->vbd_limits = (struct blkback_limits){
		.sectors = info.size_bytes >> BLKBACK_SECTOR_SHIFT,
		.sector_size = info.sector_size,
		.indirect_segs_max = c->indirect_segs_max,
		.readonly = ro,
		.flush = c->flush && !ro,
		.barrier = c->barrier && !ro,
		.discard = c->discard && !ro && info.discard_granularity,
	};
}

static int blkback_vbd_publish(void *arg)
{
	struct blkback_vbd *vbd = arg;

	blkback_vbd_limits(vbd);
	int rc = xenbus_transact(blkback_xs(vbd), blkback_publish_tx, vbd);
	if (rc == 0)
		vbd->vbd_log_budget = BLKBACK_LOG_BUDGET;
	return rc;
}

static int blkback_connected_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkback_vbd *vbd = arg;
	const char *d = vbd->vbd_be.bd_dir;
	unsigned info = vbd->vbd_limits.readonly ? VDISK_READONLY : 0;
	int rc = 0;

	rc |= xenbus_write_fmt(xs, t, d, "sectors", "%" PRIu64, vbd->vbd_limits.sectors);
	rc |= xenbus_write_fmt(xs, t, d, "info", "%u", info);
	rc |= xenbus_write_fmt(xs, t, d, "sector-size", "%" PRIu32, vbd->vbd_limits.sector_size);
	rc |= xenbus_write_fmt(xs, t, d, "physical-sector-size", "%" PRIu32, vbd->vbd_limits.sector_size);
	if (rc)
		return rc < 0 ? rc : -EIO;
	return xenbus_write_fmt(xs, t, d, "state", "%d", XenbusStateConnected);
}

/* ---- connection (the xenbus_backend ops) ---- */

static void blkback_vbd_disconnect(void *arg)
{
	struct blkback_vbd *vbd = arg;

	if (!vbd->vbd_queues && !vbd->vbd_gt)
		return;
	blkback_rings_disconnect(vbd);
	vbd->vbd_bb->bb_stats.disconnects++;
}

static int blkback_vbd_connect(void *arg, char *why, size_t why_len)
{
	(void)why;
	(void)why_len;
	return blkback_rings_connect(arg);
}

static int blkback_vbd_announce(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkback_vbd *vbd = arg;

	vbd->vbd_sectors_published = vbd->vbd_limits.sectors;
	return blkback_connected_tx(xs, t, vbd);
}

static void blkback_vbd_up(void *arg)
{
	((struct blkback_vbd *)arg)->vbd_bb->bb_stats.connects++;
}

static void blkback_vbd_free(struct blkback_vbd *vbd);
static void blkback_discovered(void *arg, uint32_t fe, uint32_t devid);

/* Removed by the toolstack: freed. A device made again under the same name
 * before we got here (an unplug, then a plug at once) had its watch events
 * taken for this one, which was still listed: look for it now. */
static void blkback_vbd_gone(void *arg)
{
	struct blkback_vbd *vbd = arg;
	struct blkback *bb = vbd->vbd_bb;
	uint32_t fe = vbd->vbd_fe_domid, devid = vbd->vbd_devid;

	blkback_vbd_free(vbd);
	blkback_discovered(bb, fe, devid);
}

static void blkback_vbd_log_line(void *arg, const char *line)
{
	blkback_vbd_log(arg, "%s", line);
}

static const struct xenbus_backend_ops blkback_vbd_ops = {
	.publish = blkback_vbd_publish,
	.connect = blkback_vbd_connect,
	.announce = blkback_vbd_announce,
	.up = blkback_vbd_up,
	.disconnect = blkback_vbd_disconnect,
	.gone = blkback_vbd_gone,
	.log = blkback_vbd_log_line,
	.ready_states = 1u << XenbusStateInitialised,
	.close_timeout_ms = BLKBACK_CLOSE_TIMEOUT_MS,
};

/* ---- discovery ---- */

static struct blkback_vbd *blkback_vbd_find(struct blkback *bb, uint32_t fe, uint32_t devid)
{
	for (struct blkback_vbd *v = bb->bb_vbds; v; v = v->vbd_next)
		if (v->vbd_fe_domid == fe && v->vbd_devid == devid)
			return v;
	return NULL;
}

static struct blk_store *blkback_disk_find(struct blkback *bb, const char *name)
{
	for (struct blkback_disk *d = bb->bb_disks; d; d = d->dk_next)
		if (strcmp(d->dk_name, name) == 0)
			return d->dk_store;
	return NULL;
}

/* The store named by params (and type), with a reference for the vbd.
 * -ENOENT: keys not all written yet; -ENODEV: they name no disk we have. */
static int blkback_vbd_open_store(struct blkback_vbd *vbd)
{
	struct xs_handle *xs = blkback_xs(vbd);
	char params[XENBUS_PATH_MAX], type[16] = "", mode[4] = "w";
	int rc = xenbus_read_str(xs, XBT_NULL, vbd->vbd_be.bd_dir, "params", params, sizeof(params));

	if (rc < 0)
		return rc;
	xenbus_read_str(xs, XBT_NULL, vbd->vbd_be.bd_dir, "type", type, sizeof(type));
	xenbus_read_str(xs, XBT_NULL, vbd->vbd_be.bd_dir, "mode", mode, sizeof(mode));
	vbd->vbd_readonly = mode[0] != 'w';
	vbd->vbd_store = blkback_disk_find(vbd->vbd_bb, params);
	if (vbd->vbd_store) {
		blk_store_get(vbd->vbd_store);
		return 0;
	}
	if (strcmp(type, "file") != 0 && strcmp(type, "phy") != 0) {
		blkback_vbd_log(vbd, "params '%s' (type '%s') names no disk of this backend", params, type);
		return -ENODEV;
	}
	rc = blk_store_file_open(params, 512, vbd->vbd_readonly, 0, &vbd->vbd_store);
	return rc == -ENOENT ? -ENODEV : rc;
}

static int blkback_vbd_setup(struct blkback_vbd *vbd)
{
	struct blkback *bb = vbd->vbd_bb;
	int rc = xenbus_backend_init(&vbd->vbd_be, bb->bb_xb, "vbd", vbd->vbd_fe_domid, vbd->vbd_devid,
				     &blkback_vbd_ops, vbd);

	return rc ? rc : blkback_vbd_open_store(vbd);
}

static void blkback_vbd_add(struct blkback *bb, uint32_t fe, uint32_t devid)
{
	struct blkback_vbd *vbd;
	unsigned n = 0;

	for (vbd = bb->bb_vbds; vbd; vbd = vbd->vbd_next)
		n++;
	if (n >= bb->bb_cfg.vbds_max || !(vbd = calloc(1, sizeof(*vbd))))
		return;
	*vbd = (struct blkback_vbd){.vbd_bb = bb, .vbd_fe_domid = fe, .vbd_devid = devid,
				    .vbd_log_budget = BLKBACK_LOG_BUDGET};
	int rc = blkback_vbd_setup(vbd);
	if (rc == -ENOENT || rc == -ENOMEM || !vbd->vbd_be.bd_defer_ev) {
		/* Keys not all written yet: the next event under the device retries. */
		blkback_vbd_free(vbd);
		return;
	}
	if (rc < 0) {
		/* Remembered, so that the events of its other keys do not retry. */
		blkback_vbd_log(vbd, "cannot serve this device: %s", strerror(-rc));
		xenbus_backend_refuse(&vbd->vbd_be);
	}
	vbd->vbd_next = bb->bb_vbds;
	bb->bb_vbds = vbd;
	xenbus_backend_sync(&vbd->vbd_be);
}

static void blkback_vbd_free(struct blkback_vbd *vbd)
{
	struct blkback *bb = vbd->vbd_bb;

	for (struct blkback_vbd **pp = &bb->bb_vbds; *pp; pp = &(*pp)->vbd_next)
		if (*pp == vbd) {
			*pp = vbd->vbd_next;
			break;
		}
	blkback_vbd_disconnect(vbd);
	xenbus_backend_fini(&vbd->vbd_be);
	blk_store_put(vbd->vbd_store);
	free(vbd);
}

/* Something under backend/vbd changed: new devices, removed ones, or keys of
 * a known one (online, or our own writes, which cost a lookup). */
static void blkback_discovered(void *arg, uint32_t fe, uint32_t devid)
{
	struct blkback *bb = arg;

	if (devid == XENBUS_DEVID_ANY) {
		for (struct blkback_vbd *v = bb->bb_vbds; v; v = v->vbd_next)
			if (fe == XENBUS_DEVID_ANY || v->vbd_fe_domid == fe)
				xenbus_backend_kick(&v->vbd_be);
		return;
	}
	struct blkback_vbd *vbd = blkback_vbd_find(bb, fe, devid);
	if (vbd)
		xenbus_backend_kick(&vbd->vbd_be);
	else if (fe < DOMID_FIRST_RESERVED)
		blkback_vbd_add(bb, fe, devid);
}

/* ---- the instance ---- */

static int blkback_config_check(const struct blkback_config *c)
{
	if (!c->base || c->ring_page_order_max > BLKBACK_RING_ORDER_MAX ||
	    c->queues_max > BLKBACK_QUEUES_MAX || c->indirect_segs_max > BLKBACK_INDIRECT_SEGS_LIMIT ||
	    c->persistent_grants_max > BLKBACK_PERSISTENT_LIMIT || c->vbds_max > BLKBACK_VBDS_LIMIT)
		return -EINVAL;
	return 0;
}

int blkback_start(const struct blkback_config *cfg, struct blkback **out)
{
	struct blkback *bb;
	int rc = blkback_config_check(cfg);

	if (rc < 0)
		return rc;
	bb = calloc(1, sizeof(*bb));
	if (!bb)
		return -ENOMEM;
	bb->bb_cfg = *cfg;
	if (!bb->bb_cfg.queues_max)
		bb->bb_cfg.queues_max = 1;
	if (!bb->bb_cfg.persistent_grants_max)
		bb->bb_cfg.persistent_grants_max = BLKBACK_PERSISTENT_DEFAULT;
	if (!bb->bb_cfg.vbds_max)
		bb->bb_cfg.vbds_max = BLKBACK_VBDS_DEFAULT;
	rc = xenbus_open(cfg->base, &bb->bb_xb);
	if (rc < 0)
		goto fail_free;
	rc = xenbus_discover(bb->bb_xb, "vbd", blkback_discovered, bb, &bb->bb_discover);
	if (rc < 0)
		goto fail_close;
	*out = bb;
	return 0;
fail_close:
	xenbus_close(bb->bb_xb);
fail_free:
	free(bb);
	return rc;
}

void blkback_stop(struct blkback *bb)
{
	if (!bb)
		return;
	xenbus_unwatch(bb->bb_xb, bb->bb_discover);
	while (bb->bb_vbds) {
		struct blkback_vbd *vbd = bb->bb_vbds;
		xenbus_backend_stop(&vbd->vbd_be);
		blkback_vbd_free(vbd);
	}
	while (bb->bb_disks) {
		struct blkback_disk *d = bb->bb_disks;
		bb->bb_disks = d->dk_next;
		blk_store_put(d->dk_store);
		free(d);
	}
	xenbus_close(bb->bb_xb);
	free(bb);
}

int blkback_disk_add(struct blkback *bb, const char *name, struct blk_store *store)
{
	struct blkback_disk *d;

	if (strlen(name) >= BLKBACK_NAME_MAX || !name[0])
		return -EINVAL;
	if (blkback_disk_find(bb, name))
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	snprintf(d->dk_name, sizeof(d->dk_name), "%s", name);
	blk_store_get(store);
	d->dk_store = store;
	d->dk_next = bb->bb_disks;
	bb->bb_disks = d;
	return 0;
}

/* A new size, with state Connected written again for the frontend's watch:
 * only while the node still says Connected. The toolstack may have written
 * Closing there (online=0) before our sync saw it: writing Connected over it
 * would take the device back from a close (Closing -> Connected). */
static int blkback_resized_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct blkback_vbd *vbd = arg;
	XenbusState st;
	int rc = xenbus_state_read_in(xs, t, vbd->vbd_be.bd_dir, &st);

	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	return st == XenbusStateConnected ? blkback_connected_tx(xs, t, vbd) : 0;
}

void blkback_refresh(struct blkback *bb)
{
	for (struct blkback_vbd *vbd = bb->bb_vbds; vbd; vbd = vbd->vbd_next) {
		if (vbd->vbd_be.bd_phase != XENBUS_BE_CONNECTED)
			continue;
		blkback_vbd_limits(vbd);
		if (vbd->vbd_limits.sectors == vbd->vbd_sectors_published)
			continue;
		vbd->vbd_sectors_published = vbd->vbd_limits.sectors;
		int rc = xenbus_transact(blkback_xs(vbd), blkback_resized_tx, vbd);
		if (rc < 0)
			blkback_vbd_log(vbd, "publishing the new size failed: %s", strerror(-rc));
	}
}

uint64_t blkback_persistent_full(const struct blkback *bb)
{
	return bb->bb_stats.persistent_full;
}

void blkback_stats(const struct blkback *bb, struct blkback_stats *out)
{
	*out = bb->bb_stats;
	out->vbds = out->connected = out->refused = 0;
	out->events = bb->bb_ev_closed.events;
	out->events_spurious = bb->bb_ev_closed.spurious;
	out->events_delayed = bb->bb_ev_closed.delayed;
	for (const struct blkback_vbd *vbd = bb->bb_vbds; vbd; vbd = vbd->vbd_next) {
		out->refused += vbd->vbd_be.bd_phase == XENBUS_BE_REFUSED;
		out->vbds += vbd->vbd_be.bd_phase != XENBUS_BE_REFUSED;
		out->connected += vbd->vbd_be.bd_phase == XENBUS_BE_CONNECTED;
		for (unsigned i = 0; i < vbd->vbd_nr_queues; i++) {
			struct xenbus_evtchn_stats s = {0};
			if (vbd->vbd_queues[i].q_evtchn)
				xenbus_evtchn_stats(vbd->vbd_queues[i].q_evtchn, &s);
			out->events += s.events;
			out->events_spurious += s.spurious;
			out->events_delayed += s.delayed;
		}
	}
}
