/*
 * xs-attack's attacks on the wire limits of xs_wire.h (XENSTORE_PAYLOAD_MAX,
 * XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX): long-path (XSA-323) and
 * big-event (XSA-324). What each checks is in wl_xsa.c's header comment.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/wl_xsa.h"

/* ---- long-path (XSA-323) ---- */

/* `prefix`, then levels of 'x' to exactly `len` bytes (no trailing slash). */
static char *xsa_long_path(const char *prefix, size_t len)
{
	char *p = malloc(len + 1);
	size_t n;

	if (!p)
		return NULL;
	n = (size_t)snprintf(p, len + 1, "%s", prefix);
	while (len - n >= 2) {
		size_t seg = len - n > 100 ? 100 : len - n;
		if (len - n - seg == 1)
			seg--;
		p[n] = '/';
		memset(p + n + 1, 'x', seg - 1);
		n += seg;
	}
	if (n < len)
		p[n++] = 'x';
	p[len] = '\0';
	return p;
}

/* Write a path of `len` bytes below `prefix`; whether the store took it. */
static int xsa_write_len(struct xsa *x, struct xs_handle *h, const char *prefix, size_t len,
			 bool *taken)
{
	char *p = xsa_long_path(prefix, len);

	if (!p)
		return -ENOMEM;
	*taken = xs_write(h, XBT_NULL, p, "x", 1);
	if (!*taken && errno != EINVAL)
		scn_wl_fail(x->wl, "dom %u: a %zu-byte path was refused with %s, not EINVAL", x->att, len,
			    strerror(errno));
	free(p);
	return 0;
}

int xsa_long_paths(void *arg)
{
	struct xsa *x = arg;
	struct xs_handle *h = xsa_open(x, x->att);
	const size_t rel_too_long[] = {XENSTORE_REL_PATH_MAX + 1, XENSTORE_ABS_PATH_MAX};
	char rel[XSA_PATH_MAX], abs[XSA_PATH_MAX * 2];
	size_t home = (size_t)snprintf(abs, sizeof(abs), "/local/domain/%u/", x->att);
	bool taken;
	int rc;

	if (!h)
		return -EIO;
	snprintf(rel, sizeof(rel), "data/%s", x->wl->id);
	snprintf(abs + home, sizeof(abs) - home, "%s", rel);
	rc = xsa_write_len(x, h, rel, XENSTORE_REL_PATH_MAX, &taken);
	if (rc == 0 && !taken)
		scn_wl_fail(x->wl, "dom %u: the longest relative path (%u bytes) was refused", x->att,
			    XENSTORE_REL_PATH_MAX);
	for (size_t i = 0; rc == 0 && i < 2 && !scn_wl_finished(x->wl); i++) {
		rc = xsa_write_len(x, h, rel, rel_too_long[i], &taken);
		if (rc == 0 && taken)
			scn_wl_fail(x->wl, "XSA-323: dom %u wrote a %zu-byte relative path (the limit is %u): "
				    "its node's absolute path is %zu bytes%s", x->att, rel_too_long[i],
				    XENSTORE_REL_PATH_MAX, home + rel_too_long[i],
				    home + rel_too_long[i] > XENSTORE_ABS_PATH_MAX
				    ? ", longer than any client may name it" : "");
		else if (rc == 0)
			xsa_add(x, XSA_C_REFUSED);
	}
	if (rc == 0 && !scn_wl_finished(x->wl))
		rc = xsa_write_len(x, h, abs, XENSTORE_ABS_PATH_MAX + 1, &taken);
	if (rc == 0 && !scn_wl_finished(x->wl)) {
		if (taken)
			scn_wl_fail(x->wl, "XSA-323: dom %u wrote a %u-byte absolute path (the limit is %u)",
				    x->att, XENSTORE_ABS_PATH_MAX + 1, XENSTORE_ABS_PATH_MAX);
		else
			xsa_add(x, XSA_C_REFUSED);
	}
	xs_rm(h, XBT_NULL, rel);
	xs_close(h);
	return rc;
}

/* ---- big-event (XSA-324) ---- */

/* Count the events queued on h; fail on one longer than a message may be.
 * Whether one named `want` (exactly) came. */
static bool xsa_events_sized(struct xsa *x, struct xs_handle *h, const char *want)
{
	bool saw = false;
	char **v;

	while ((v = xs_check_watch(h)) != NULL) {
		size_t len = strlen(v[XS_WATCH_PATH]) + strlen(v[XS_WATCH_TOKEN]) + 2;
		xsa_add(x, XSA_C_EVENTS);
		if (len > XENSTORE_PAYLOAD_MAX && !scn_wl_finished(x->wl))
			scn_wl_fail(x->wl, "XSA-324: dom %u got a %zu-byte watch event for %.80s...: a message "
				    "carries at most %u", x->att, len, v[XS_WATCH_PATH], XENSTORE_PAYLOAD_MAX);
		saw |= strcmp(v[XS_WATCH_PATH], want) == 0;
		free(v);
	}
	return saw;
}

int xsa_big_event(void *arg)
{
	struct xsa *x = arg;
	struct xs_handle *h = xsa_open(x, x->att);
	char w[XSA_PATH_MAX], below[XSA_PATH_MAX + 8];
	char *token = malloc(XENSTORE_PAYLOAD_MAX);
	bool ok;

	if (!h || !token) {
		free(token);
		if (h)
			xs_close(h);
		return -ENOMEM;
	}
	snprintf(w, sizeof(w), "data/%s/w", x->wl->id);
	snprintf(below, sizeof(below), "%s/below", w);
	/* path, NUL, token, NUL: exactly one full message */
	size_t tlen = XENSTORE_PAYLOAD_MAX - strlen(w) - 2;
	memset(token, 't', tlen);
	token[tlen] = '\0';
	ok = xs_write(h, XBT_NULL, w, "0", 1) && xs_watch(h, w, token);
	if (!ok) {
		scn_wl_error(x->wl, "dom %u: a watch on %s with a %zu-byte token: %s", x->att, w, tlen,
			     strerror(errno));
	} else {
		xsa_events_sized(x, h, w);   /* the watch's first event */
		ok = xs_write(h, XBT_NULL, below, "1", 1) && xs_write(h, XBT_NULL, w, "1", 1);
		if (!ok)
			scn_wl_error(x->wl, "dom %u: writing %s: %s", x->att, below, strerror(errno));
		else if (!xsa_events_sized(x, h, w) && !scn_wl_finished(x->wl))
			scn_wl_fail(x->wl, "dom %u got no event for %s after writing it (a %u-byte event): "
				    "the check would prove nothing", x->att, w, XENSTORE_PAYLOAD_MAX);
		else if (!scn_wl_finished(x->wl))
			xsa_add(x, XSA_C_REFUSED);
		xs_unwatch(h, w, token);
	}
	free(token);
	xs_close(h);
	return 0;
}
