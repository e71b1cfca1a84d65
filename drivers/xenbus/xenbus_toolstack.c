/*
 * The toolstack role: a device is a pair of xenstore directories, written in
 * one transaction the way libxl does it (libxl__device_generic_add):
 *
 *   /local/domain/<fe>/device/<type>/<devid>        owner fe, be may read
 *       backend, backend-id, state=1, <fe keys>
 *   /local/domain/<be>/backend/<type>/<fe>/<devid>  owner be, fe may read
 *       frontend, frontend-id, online=1, state=1, <be keys>
 *
 * Every node gets its directory's permissions explicitly, so nothing depends
 * on the store's inheritance rules. Removal is online=0 + state=Closing, a
 * wait for the backend to reach Closed (bounded), then rm of both trees and of
 * the parents left empty.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/xenbus/xenbus_internal.h"

int xenbus_device_paths(const struct xenbus_device *dev, char *fe_path, char *be_path,
			size_t len)
{
	int a = snprintf(fe_path, len, "/local/domain/%" PRIu32 "/device/%s/%" PRIu32,
			 dev->fe_domid, dev->type, dev->devid);
	int b = snprintf(be_path, len, "/local/domain/%" PRIu32 "/backend/%s/%" PRIu32 "/%" PRIu32,
			 dev->be_domid, dev->type, dev->fe_domid, dev->devid);

	return a < 0 || b < 0 || (size_t)a >= len || (size_t)b >= len ? -ENAMETOOLONG : 0;
}

struct xenbus_create {
	const struct xenbus_device *dev;
	bool backend_only;
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	struct xs_permissions fe_perms[2], be_perms[2];
};

static int xenbus_put(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		      const char *key, const char *val, struct xs_permissions *perms)
{
	char path[XENBUS_PATH_MAX];
	int rc = xenbus_join(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	xenbus_tx_note_write(t);
	if (!xs_write(xs, t, path, val, (unsigned)strlen(val)) ||
	    !xs_set_permissions(xs, t, path, perms, 2))
		rc = errno ? -errno : -EIO;
	return rc;
}

/* Fresh directory dir with perms, then the fixed keys and the caller's. */
static int xenbus_put_dir(struct xs_handle *xs, xs_transaction_t t, const char *dir,
			  struct xs_permissions *perms, const char *const *fixed,
			  const char *const *extra)
{
	int rc = 0;

	xenbus_tx_note_write(t);
	if (!xs_rm(xs, t, dir) && errno != ENOENT)
		return errno ? -errno : -EIO;
	if (!xs_mkdir(xs, t, dir) || !xs_set_permissions(xs, t, dir, perms, 2))
		return errno ? -errno : -EIO;
	for (const char *const *kv = fixed; rc == 0 && kv[0]; kv += 2)
		rc = xenbus_put(xs, t, dir, kv[0], kv[1], perms);
	for (const char *const *kv = extra; rc == 0 && kv && kv[0]; kv += 2)
		rc = kv[1] ? xenbus_put(xs, t, dir, kv[0], kv[1], perms) : -EINVAL;
	return rc;
}

/* perms on dir and every node below it (a frontend's queue-N/ are one level
 * down; a bound keeps a hostile guest's deep tree from costing much). */
#define XENBUS_PERMS_DEPTH_MAX 3u

static int xenbus_perms_tree(struct xs_handle *xs, xs_transaction_t t, const char *dir,
			     struct xs_permissions *perms, unsigned depth)
{
	unsigned n = 0;
	int rc = 0;

	xenbus_tx_note_write(t);
	if (!xs_set_permissions(xs, t, dir, perms, 2))
		return errno ? -errno : -EIO;
	char **names = depth < XENBUS_PERMS_DEPTH_MAX ? xs_directory(xs, t, dir, &n) : NULL;
	for (unsigned i = 0; rc == 0 && names && i < n; i++) {
		char path[XENBUS_PATH_MAX];
		rc = xenbus_join(path, sizeof(path), dir, names[i]);
		if (rc == 0)
			rc = xenbus_perms_tree(xs, t, path, perms, depth + 1);
	}
	free(names);
	return rc;
}

/* The frontend's directory as the guest left it, with the backend domain's
 * read access given again: xenstored forgets a dead domain's permission
 * entries (XSA-322), and a new domain with the same id does not get them
 * back. A directory that is gone (the device removed meanwhile) has none
 * to give: looked at first, so that no refused SET_PERMS is committed
 * with the rest (a partial update). */
static int xenbus_frontend_regrant(struct xs_handle *xs, xs_transaction_t t, struct xenbus_create *c)
{
	int rc = xenbus_exists(xs, t, c->fe);

	if (rc < 0)
		return rc == -ENOENT ? 0 : rc;
	return xenbus_perms_tree(xs, t, c->fe, c->fe_perms, 0);
}

static int xenbus_create_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xenbus_create *c = arg;
	char fe_id[16], be_id[16];

	snprintf(fe_id, sizeof(fe_id), "%" PRIu32, c->dev->fe_domid);
	snprintf(be_id, sizeof(be_id), "%" PRIu32, c->dev->be_domid);
	const char *const fe_fixed[] = {"backend", c->be, "backend-id", be_id, "state", "1", NULL};
	const char *const be_fixed[] = {"frontend", c->fe, "frontend-id", fe_id,
					"online", "1", "state", "1", NULL};
	int rc = c->backend_only ? xenbus_frontend_regrant(xs, t, c)
				 : xenbus_put_dir(xs, t, c->fe, c->fe_perms, fe_fixed, c->dev->fe_keys);

	if (rc == 0)
		rc = xenbus_put_dir(xs, t, c->be, c->be_perms, be_fixed, c->dev->be_keys);
	return rc;
}

static int xenbus_device_write(struct xs_handle *xs, const struct xenbus_device *dev, bool backend_only)
{
	struct xenbus_create c = {
		.dev = dev,
		.backend_only = backend_only,
		.fe_perms = {{.id = dev->fe_domid, .perms = XS_PERM_NONE},
			     {.id = dev->be_domid, .perms = XS_PERM_READ}},
		.be_perms = {{.id = dev->be_domid, .perms = XS_PERM_NONE},
			     {.id = dev->fe_domid, .perms = XS_PERM_READ}},
	};
	int rc = xenbus_device_paths(dev, c.fe, c.be, sizeof(c.fe));

	if (rc == 0 && (dev->fe_domid >= DOMID_FIRST_RESERVED || dev->be_domid >= DOMID_FIRST_RESERVED))
		rc = -EINVAL;
	if (rc == 0)
		rc = xenbus_transact(xs, xenbus_create_tx, &c);
	if (rc < 0)
		xd_log("xenbus: creating %s %" PRIu32 " of dom%" PRIu32 " (backend dom%" PRIu32 ") failed: %s",
		       dev->type, dev->devid, dev->fe_domid, dev->be_domid, strerror(-rc));
	return rc;
}

int xenbus_device_create(struct xs_handle *xs, const struct xenbus_device *dev)
{
	return xenbus_device_write(xs, dev, false);
}

int xenbus_device_backend_recreate(struct xs_handle *xs, const struct xenbus_device *dev)
{
	return xenbus_device_write(xs, dev, true);
}

static int xenbus_close_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const char *be = arg;
	int rc = xenbus_exists(xs, t, be);

	if (rc < 0)
		return rc;
	/* As libxl does: online=0 always, Closing only if the backend is not
	 * Closed already (its frontend may have closed first; overwriting Closed
	 * would leave nobody to write it again). */
	uint64_t state = XenbusStateUnknown;
	rc = xenbus_write_fmt(xs, t, be, "online", "0");
	if (rc == 0 && (xenbus_read_uint(xs, t, be, "state", XenbusStateReconfigured, &state) < 0 ||
			state != XenbusStateClosed))
		rc = xenbus_write_fmt(xs, t, be, "state", "%d", XenbusStateClosing);
	return rc;
}

int xenbus_device_close(struct xs_handle *xs, const struct xenbus_device *dev)
{
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	int rc = xenbus_device_paths(dev, fe, be, sizeof(fe));

	return rc < 0 ? rc : xenbus_transact(xs, xenbus_close_tx, be);
}

/* rm path, then each parent that is left empty, stopping at the domain's home
 * directory /local/domain/<id> (3 slashes deep). */
static int xenbus_rm_cleanup(struct xs_handle *xs, xs_transaction_t t, char *path)
{
	int rc = xenbus_rm(xs, t, path, NULL);

	for (char *slash = strrchr(path, '/'); rc == 0 && slash; slash = strrchr(path, '/')) {
		*slash = '\0';
		unsigned depth = 0;
		for (const char *p = path; *p; p++)
			depth += *p == '/';
		if (depth <= 3)
			break;
		unsigned n = 0;
		char **names = xs_directory(xs, t, path, &n);
		free(names);
		if (!names || n > 0)
			break;
		rc = xenbus_rm(xs, t, path, NULL);
	}
	return rc;
}

static int xenbus_remove_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	const struct xenbus_device *dev = arg;
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	int rc = xenbus_device_paths(dev, fe, be, sizeof(fe));

	if (rc == 0)
		rc = xenbus_rm_cleanup(xs, t, fe);
	if (rc == 0)
		rc = xenbus_rm_cleanup(xs, t, be);
	return rc;
}

int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device *dev)
{
	int rc = xenbus_transact(xs, xenbus_remove_tx, (void *)dev);

	if (rc < 0)
		xd_log("xenbus: removing %s %" PRIu32 " of dom%" PRIu32 " failed: %s", dev->type,
		       dev->devid, dev->fe_domid, strerror(-rc));
	return rc;
}

/* ---- asynchronous destroy ---- */

struct xenbus_destroy {
	struct xenbus_destroy *xd_next;
	struct xenbus *xd_xb;
	struct xenbus_device xd_dev;    /* key lists not kept */
	char xd_type[16];
	char xd_be_path[XENBUS_PATH_MAX];
	struct xenbus_watch *xd_watch;
	struct event *xd_timer;
	xenbus_done_fn *xd_done;
	void *xd_arg;
};

static void xenbus_destroy_unlink(struct xenbus_destroy *d)
{
	struct xenbus_destroy **pp = &d->xd_xb->xb_destroys;

	while (*pp && *pp != d)
		pp = &(*pp)->xd_next;
	if (*pp)
		*pp = d->xd_next;
	xenbus_unwatch(d->xd_xb, d->xd_watch);
	event_free(d->xd_timer);
}

static void xenbus_destroy_finish(struct xenbus_destroy *d, int why)
{
	int rc = xenbus_device_remove(xenbus_xs(d->xd_xb), &d->xd_dev);

	xenbus_destroy_unlink(d);
	if (why < 0)
		xd_log("xenbus: %s %" PRIu32 " of dom%" PRIu32 ": backend did not close in time, removed anyway",
		       d->xd_type, d->xd_dev.devid, d->xd_dev.fe_domid);
	if (d->xd_done)
		d->xd_done(d->xd_arg, why < 0 ? why : rc);
	free(d);
}

static void xenbus_destroy_watch(void *arg, const char *path)
{
	struct xenbus_destroy *d = arg;
	XenbusState st;
	int rc = xenbus_state_read(xenbus_xs(d->xd_xb), d->xd_be_path, &st);

	(void)path;
	if (rc == -ENOENT || (rc == 0 && st == XenbusStateClosed))
		xenbus_destroy_finish(d, 0);
}

static void xenbus_destroy_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	xenbus_destroy_finish(arg, -ETIMEDOUT);
}

int xenbus_device_destroy(struct xenbus *xb, const struct xenbus_device *dev,
			  unsigned timeout_ms, xenbus_done_fn *done, void *arg)
{
	char fe[XENBUS_PATH_MAX], state[XENBUS_PATH_MAX];
	struct xenbus_destroy *d = calloc(1, sizeof(*d));
	struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
	int rc = -ENOMEM;

	if (!d)
		goto fail;
	d->xd_xb = xb;
	d->xd_dev = (struct xenbus_device){.type = d->xd_type, .fe_domid = dev->fe_domid,
					   .be_domid = dev->be_domid, .devid = dev->devid};
	snprintf(d->xd_type, sizeof(d->xd_type), "%s", dev->type);
	d->xd_done = done;
	d->xd_arg = arg;
	rc = xenbus_device_paths(dev, fe, d->xd_be_path, sizeof(fe));
	if (rc < 0)
		goto fail_free;
	rc = xenbus_device_close(xenbus_xs(xb), dev);
	if (rc < 0 && rc != -ENOENT)
		goto fail_free;
	rc = -ENOMEM;
	d->xd_timer = evtimer_new(xenbus_base(xb), xenbus_destroy_timeout, d);
	if (!d->xd_timer || evtimer_add(d->xd_timer, &tv) < 0)
		goto fail_timer;
	rc = xenbus_join(state, sizeof(state), d->xd_be_path, "state");
	if (rc == 0)
		rc = xenbus_watch(xb, state, xenbus_destroy_watch, d, &d->xd_watch);
	if (rc < 0)
		goto fail_timer;
	d->xd_next = xb->xb_destroys;
	xb->xb_destroys = d;
	return 0;
fail_timer:
	if (d->xd_timer)
		event_free(d->xd_timer);
fail_free:
	free(d);
fail:
	return rc;
}

void xenbus_destroys_cancel(struct xenbus *xb)
{
	while (xb->xb_destroys) {
		struct xenbus_destroy *d = xb->xb_destroys;
		xenbus_destroy_unlink(d);
		if (d->xd_done)
			d->xd_done(d->xd_arg, -ECANCELED);
		free(d);
	}
}
