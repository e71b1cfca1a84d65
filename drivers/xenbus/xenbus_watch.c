/*
 * The watch dispatcher: one xenstore connection, its fd in a libevent loop,
 * watch events routed to callbacks by token. Backend discovery is a watch on
 * backend/<type> that turns event paths into (frontend domid, devid) pairs.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/xenbus/xenbus_internal.h"

static struct xenbus_watch *xenbus_watch_find(struct xenbus *xb, const char *token)
{
	for (struct xenbus_watch *w = xb->xb_watches; w; w = w->xw_next)
		if (strcmp(w->xw_token, token) == 0)
			return w;
	return NULL;   /* unwatched while its events were queued: dropped */
}

/* Drain at most XENBUS_EVENTS_PER_DISPATCH events, then yield to the rest of
 * the loop; a flood of watch events cannot starve the rings (XSA-349). */
static void xenbus_dispatch(evutil_socket_t fd, short what, void *arg)
{
	struct xenbus *xb = arg;
	unsigned n;

	(void)fd;
	(void)what;
	for (n = 0; n < XENBUS_EVENTS_PER_DISPATCH; n++) {
		char **ev = xs_check_watch(xb->xb_xs);
		if (!ev) {
			if (errno != EAGAIN)
				xd_log("xenbus: reading watch events failed: %s", strerror(errno));
			break;
		}
		struct xenbus_watch *w = xenbus_watch_find(xb, ev[XS_WATCH_TOKEN]);
		if (w)
			w->xw_fn(w->xw_arg, ev[XS_WATCH_PATH]);
		free(ev);
	}
	if (n == XENBUS_EVENTS_PER_DISPATCH)
		event_active(xb->xb_ev, EV_READ, 0);
}

int xenbus_open(struct event_base *base, struct xenbus **out)
{
	struct xenbus *xb = calloc(1, sizeof(*xb));
	int rc = -ENOMEM;

	if (!xb)
		goto fail;
	xb->xb_base = base;
	xb->xb_xs = xs_open(0);
	if (!xb->xb_xs) {
		rc = errno ? -errno : -EIO;
		xd_log("xenbus: xs_open failed: %s", strerror(-rc));
		goto fail_free;
	}
	xb->xb_ev = event_new(base, xs_fileno(xb->xb_xs), EV_READ | EV_PERSIST, xenbus_dispatch, xb);
	if (!xb->xb_ev || event_add(xb->xb_ev, NULL) < 0)
		goto fail_close;
	*out = xb;
	return 0;
fail_close:
	if (xb->xb_ev)
		event_free(xb->xb_ev);
	xs_close(xb->xb_xs);
fail_free:
	free(xb);
fail:
	return rc;
}

void xenbus_close(struct xenbus *xb)
{
	if (!xb)
		return;
	xenbus_destroys_cancel(xb);
	while (xb->xb_watches)
		xenbus_unwatch(xb, xb->xb_watches);
	event_free(xb->xb_ev);
	xs_close(xb->xb_xs);
	free(xb);
}

struct xs_handle *xenbus_xs(struct xenbus *xb)
{
	return xb->xb_xs;
}

struct event_base *xenbus_base(struct xenbus *xb)
{
	return xb->xb_base;
}

int xenbus_watch(struct xenbus *xb, const char *path, xenbus_watch_fn *fn, void *arg,
		 struct xenbus_watch **out)
{
	struct xenbus_watch *w = NULL;
	int rc = -ENOSPC;

	if (xb->xb_nwatches >= XENBUS_WATCHES_MAX)
		goto fail;
	rc = -ENOMEM;
	w = calloc(1, sizeof(*w));
	if (!w || !(w->xw_path = strdup(path)))
		goto fail;
	snprintf(w->xw_token, sizeof(w->xw_token), "xb%" PRIu64, ++xb->xb_token_seq);
	w->xw_xb = xb;
	w->xw_fn = fn;
	w->xw_arg = arg;
	/* Linked first: the registration event may already be queued. */
	w->xw_next = xb->xb_watches;
	xb->xb_watches = w;
	xb->xb_nwatches++;
	if (!xs_watch(xb->xb_xs, path, w->xw_token)) {
		rc = errno ? -errno : -EIO;
		xd_log("xenbus: watch on %s failed: %s", path, strerror(-rc));
		xb->xb_watches = w->xw_next;
		xb->xb_nwatches--;
		goto fail;
	}
	/* The registration event may sit unread in the connection: look now. */
	event_active(xb->xb_ev, EV_READ, 0);
	*out = w;
	return 0;
fail:
	if (w)
		free(w->xw_path);
	free(w);
	return rc;
}

void xenbus_unwatch(struct xenbus *xb, struct xenbus_watch *w)
{
	struct xenbus_watch **pp = &xb->xb_watches;

	if (!w)
		return;
	while (*pp && *pp != w)
		pp = &(*pp)->xw_next;
	if (!*pp)
		return;
	*pp = w->xw_next;
	xb->xb_nwatches--;
	/* Fails only if the connection is gone; the watch is gone with it. */
	xs_unwatch(xb->xb_xs, w->xw_path, w->xw_token);
	free(w->xw_path);
	free(w);
}

/* ---- backend discovery ---- */

/* A decimal path component below the watched dir, or XENBUS_DEVID_ANY if the
 * path ends before it; -1 if malformed (not one of ours: ignored). */
static int64_t xenbus_component(const char **p)
{
	uint64_t v = 0;
	const char *s = *p;

	if (*s == '\0')
		return XENBUS_DEVID_ANY;
	if (*s != '/')
		return -1;
	s++;
	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9' && v < UINT32_MAX)
		v = v * 10 + (uint64_t)(*s++ - '0');
	if (v >= UINT32_MAX || (*s && *s != '/'))
		return -1;
	*p = s;
	return (int64_t)v;
}

/* The devices under dir/<fe> (all frontends if fe is ANY). */
static void xenbus_discover_list(struct xenbus_watch *w, struct xs_handle *xs, uint32_t fe)
{
	char path[XENBUS_PATH_MAX];
	unsigned n = 0;

	if (fe == XENBUS_DEVID_ANY)
		snprintf(path, sizeof(path), "%s", w->xw_path);
	else
		snprintf(path, sizeof(path), "%s/%" PRIu32, w->xw_path, fe);
	char **names = xs_directory(xs, XBT_NULL, path, &n);
	for (unsigned i = 0; names && i < n; i++) {
		const char *cur = names[i];
		char comp[XENBUS_PATH_MAX];
		snprintf(comp, sizeof(comp), "/%s", cur);
		cur = comp;
		int64_t id = xenbus_component(&cur);
		if (id < 0 || id == XENBUS_DEVID_ANY || *cur)
			continue;
		if (fe == XENBUS_DEVID_ANY)
			xenbus_discover_list(w, xs, (uint32_t)id);
		else
			w->xw_dev_fn(w->xw_dev_arg, fe, (uint32_t)id);
	}
	free(names);
}

static void xenbus_discover_event(void *arg, const char *path)
{
	struct xenbus_watch *w = arg;
	size_t plen = strlen(w->xw_path);

	if (strncmp(path, w->xw_path, plen) != 0)
		return;
	const char *rest = path + plen;
	int64_t fe = xenbus_component(&rest);
	int64_t devid = fe >= 0 && fe != XENBUS_DEVID_ANY ? xenbus_component(&rest) : XENBUS_DEVID_ANY;
	if (fe < 0 || devid < 0)
		return;
	/* A whole level changed (registration, a removal): tell the owner to
	 * re-check what it has, then list what exists now. */
	if (devid == XENBUS_DEVID_ANY) {
		w->xw_dev_fn(w->xw_dev_arg, (uint32_t)fe, XENBUS_DEVID_ANY);
		xenbus_discover_list(w, w->xw_xb->xb_xs, (uint32_t)fe);
		return;
	}
	w->xw_dev_fn(w->xw_dev_arg, (uint32_t)fe, (uint32_t)devid);
}

int xenbus_discover(struct xenbus *xb, const char *type, xenbus_device_fn *fn, void *arg,
		    struct xenbus_watch **out)
{
	char path[XENBUS_PATH_MAX];
	struct xenbus_watch *w;
	int rc;

	if (snprintf(path, sizeof(path), "backend/%s", type) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	rc = xenbus_watch(xb, path, xenbus_discover_event, NULL, &w);
	if (rc < 0)
		return rc;
	/* Set before the loop runs again: the first event is not dispatched yet. */
	w->xw_arg = w;
	w->xw_dev_fn = fn;
	w->xw_dev_arg = arg;
	*out = w;
	return 0;
}
