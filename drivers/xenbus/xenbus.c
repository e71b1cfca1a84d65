/*
 * XenbusState helpers and typed key access. Every value read from xenstore
 * may have been written by the other end, which may be hostile: numbers are
 * parsed strictly (decimal, bounded), strings bounded.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/xenbus/xenbus_internal.h"

static const char *const xenbus_state_names[] = {
	[XenbusStateUnknown] = "Unknown",
	[XenbusStateInitialising] = "Initialising",
	[XenbusStateInitWait] = "InitWait",
	[XenbusStateInitialised] = "Initialised",
	[XenbusStateConnected] = "Connected",
	[XenbusStateClosing] = "Closing",
	[XenbusStateClosed] = "Closed",
	[XenbusStateReconfiguring] = "Reconfiguring",
	[XenbusStateReconfigured] = "Reconfigured",
};

const char *xenbus_state_name(unsigned state)
{
	if (state >= sizeof(xenbus_state_names) / sizeof(xenbus_state_names[0]))
		return "invalid";
	return xenbus_state_names[state];
}

/* n bytes of s at buf[at], as many as fit before the last byte of buf. */
static size_t xenbus_put(char *buf, size_t len, size_t at, const char *s, size_t n)
{
	size_t room = len - 1 - at;

	n = n < room ? n : room;
	memcpy(buf + at, s, n);
	return at + n;
}

/* Truncated as snprintf would (a caller may use what fits), without its cost:
 * every typed key access joins a path. */
int xenbus_join(char *buf, size_t len, const char *dir, const char *key)
{
	size_t dir_len = strlen(dir), key_len = key && key[0] ? strlen(key) : 0;
	size_t want = key_len ? dir_len + 1 + key_len : dir_len;

	if (len == 0)
		return -ENAMETOOLONG;
	size_t at = xenbus_put(buf, len, 0, dir, dir_len);
	if (key_len) {
		at = xenbus_put(buf, len, at, "/", 1);
		at = xenbus_put(buf, len, at, key, key_len);
	}
	buf[at] = '\0';
	return want >= len ? -ENAMETOOLONG : 0;
}

/* Strict unsigned decimal: digits only, no sign, no blanks, no overflow. */
static int xenbus_parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!s[0])
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int xenbus_read_str(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		    const char *key, char *buf, size_t len)
{
	char path[XENBUS_PATH_MAX];
	unsigned vlen = 0;
	int rc = xenbus_join(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	char *v = xs_read(xs, t, path, &vlen);
	if (!v)
		return errno ? -errno : -EIO;
	if (vlen >= len || strlen(v) != vlen)
		rc = vlen >= len ? -E2BIG : -EINVAL;   /* an embedded NUL is malformed */
	else
		memcpy(buf, v, (size_t)vlen + 1);
	free(v);
	return rc;
}

int xenbus_read_uint(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, uint64_t max, uint64_t *out)
{
	char buf[32];
	int rc = xenbus_read_str(xs, t, dir, key, buf, sizeof(buf));

	if (rc == -E2BIG)
		rc = -EINVAL;
	if (rc == 0)
		rc = xenbus_parse_uint(buf, max, out);
	return rc;
}

int xenbus_read_uint_or(struct xs_handle *xs, xs_transaction_t t, const char *dir,
			const char *key, uint64_t max, uint64_t dflt, uint64_t *out)
{
	int rc = xenbus_read_uint(xs, t, dir, key, max, out);

	if (rc == -ENOENT) {
		*out = dflt;
		rc = 0;
	}
	return rc;
}

/* The transaction xenbus_transact runs on this thread, and whether anything
 * was written in it yet (tried: a refused write counts, its commit would
 * publish the rest without it). */
static __thread struct xenbus_tx_run {
	xs_transaction_t t;
	bool wrote;
} xenbus_tx_now = {XBT_NULL, false};

void xenbus_tx_note_write(xs_transaction_t t)
{
	if (t != XBT_NULL && t == xenbus_tx_now.t)
		xenbus_tx_now.wrote = true;
}

int xenbus_write_fmt(struct xs_handle *xs, xs_transaction_t t, const char *dir,
		     const char *key, const char *fmt, ...)
{
	char path[XENBUS_PATH_MAX], val[XENBUS_VALUE_MAX];
	va_list ap;
	int rc = xenbus_join(path, sizeof(path), dir, key);

	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	int n = vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(val))
		return -E2BIG;
	xenbus_tx_note_write(t);
	if (!xs_write(xs, t, path, val, (unsigned)n))
		return errno ? -errno : -EIO;
	return 0;
}

int xenbus_rm(struct xs_handle *xs, xs_transaction_t t, const char *dir, const char *key)
{
	char path[XENBUS_PATH_MAX];
	int rc = xenbus_join(path, sizeof(path), dir, key);

	if (rc == 0)
		xenbus_tx_note_write(t);
	if (rc == 0 && !xs_rm(xs, t, path) && errno != ENOENT)
		rc = errno ? -errno : -EIO;
	return rc;
}

int xenbus_transact(struct xs_handle *xs, xenbus_tx_fn *fn, void *arg)
{
	struct xenbus_tx_run outer = xenbus_tx_now;
	int rc = -EAGAIN;

	for (unsigned i = 0; i < XENBUS_TX_RETRIES && rc == -EAGAIN; i++) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL) {
			rc = errno ? -errno : -EIO;
			break;
		}
		xenbus_tx_now = (struct xenbus_tx_run){t, false};
		int fn_rc = fn(xs, t, arg);
		/* A pass that failed before writing anything is committed all the
		 * same: a transaction sees each node as it was when it first read
		 * it, so its failure may come from a mixed view (a directory
		 * removed and put back between two reads), which only the
		 * commit's EAGAIN reveals; then the rerun reads it whole. */
		bool commit = fn_rc == 0 || !xenbus_tx_now.wrote;
		bool ok = xs_transaction_end(xs, t, !commit);
		int end_rc = ok ? 0 : errno == EAGAIN ? -EAGAIN : errno ? -errno : -EIO;
		if (!commit || end_rc == 0)
			rc = fn_rc;    /* aborted, or committed as it was */
		else if (end_rc == -EAGAIN || fn_rc == 0)
			rc = end_rc;   /* a conflict reruns it; else the commit's error */
		else
			rc = fn_rc;
	}
	xenbus_tx_now = outer;
	return rc;
}

struct xenbus_offer_call {
	const struct xenbus_offer_ops *ops;
	void *arg;
	int verdict;
};

static int xenbus_offer_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xenbus_offer_call *c = arg;

	c->verdict = c->ops->check(xs, t, c->arg);
	if (c->verdict)
		return 0;   /* nothing written: the commit says whether what was read held together */
	return c->ops->publish(xs, t, c->arg);
}

int xenbus_offer_answer(struct xs_handle *xs, const struct xenbus_offer_ops *ops, void *arg)
{
	for (unsigned tries = 1;; tries++) {
		struct xenbus_offer_call c = {ops, arg, 0};
		int rc = ops->setup(arg);
		if (rc == 0)
			rc = xenbus_transact(xs, xenbus_offer_tx, &c);
		if (rc == 0)
			rc = c.verdict;
		if (rc != -ESTALE && rc != -EINPROGRESS)
			return rc;
		ops->teardown(arg);
		if (rc == -EINPROGRESS || tries == XENBUS_OFFER_TRIES)
			return rc;
	}
}

int xenbus_state_read_in(struct xs_handle *xs, xs_transaction_t t, const char *dir, XenbusState *out)
{
	uint64_t v;
	int rc = xenbus_read_uint(xs, t, dir, "state", XenbusStateReconfigured, &v);

	if (rc == 0)
		*out = (XenbusState)v;
	return rc;
}

int xenbus_state_read(struct xs_handle *xs, const char *dir, XenbusState *out)
{
	return xenbus_state_read_in(xs, XBT_NULL, dir, out);
}

struct xenbus_switch {
	const char *dir;
	XenbusState state;
	const char *error;   /* also write <dir>/error */
};

int xenbus_exists(struct xs_handle *xs, xs_transaction_t t, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, t, path, &len);

	if (!v)
		return errno ? -errno : -EIO;
	free(v);
	return 0;
}

static int xenbus_switch_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xenbus_switch *sw = arg;
	int rc = xenbus_exists(xs, t, sw->dir);   /* the directory must still be there */

	if (rc < 0)
		return rc;
	if (sw->error)
		rc = xenbus_write_fmt(xs, t, sw->dir, "error", "%s", sw->error);
	return rc ? rc : xenbus_write_fmt(xs, t, sw->dir, "state", "%u", (unsigned)sw->state);
}

int xenbus_state_switch(struct xs_handle *xs, const char *dir, XenbusState state)
{
	struct xenbus_switch sw = {.dir = dir, .state = state};

	return xenbus_transact(xs, xenbus_switch_tx, &sw);
}

int xenbus_dev_fatal(struct xs_handle *xs, const char *dir, const char *msg)
{
	struct xenbus_switch sw = {.dir = dir, .state = XenbusStateClosing, .error = msg};

	return xenbus_transact(xs, xenbus_switch_tx, &sw);
}

int xenbus_frontend_lookup(struct xs_handle *xs, const char *type, uint32_t devid,
			   struct xenbus_otherend *out)
{
	char dir[XENBUS_PATH_MAX], prefix[64];
	uint64_t be;
	int rc;

	if (snprintf(dir, sizeof(dir), "device/%s/%" PRIu32, type, devid) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	rc = xenbus_read_uint(xs, XBT_NULL, dir, "backend-id", DOMID_FIRST_RESERVED - 1, &be);
	if (rc == 0)
		rc = xenbus_read_str(xs, XBT_NULL, dir, "backend", out->path, sizeof(out->path));
	if (rc == -E2BIG)
		rc = -EINVAL;
	if (rc < 0)
		return rc;
	/* The path must lie in the backend domain's backend/<type>/ tree: a guest
	 * must not make its backend watch or read somewhere else. */
	snprintf(prefix, sizeof(prefix), "/local/domain/%" PRIu64 "/backend/%s/", be, type);
	if (strncmp(out->path, prefix, strlen(prefix)) != 0 || strstr(out->path, "/.."))
		return -EINVAL;
	out->domid = (uint32_t)be;
	return 0;
}
