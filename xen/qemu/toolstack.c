/*
 * xen/qemu/toolstack.c: the toolstack role on real Xen, for `make xen-check`.
 * Creates and destroys a device's xenstore nodes through drivers/xenbus
 * (xenbus_device_create / xenbus_device_destroy), i.e. exactly the way the
 * sim's toolstack writes them, so the drivers meet the same nodes on both.
 *
 * usage:
 *   xcheck-toolstack create TYPE FE_DOMID DEVID [--backend-domid N]
 *                    [--fe KEY=VALUE]... [--be KEY=VALUE]... [--verdict NAME]
 *   xcheck-toolstack destroy TYPE FE_DOMID DEVID [--backend-domid N]
 *                    [--timeout-ms N] [--verdict NAME]
 *   xcheck-toolstack wait PATH VALUE [--timeout-ms N] [--verdict NAME]
 *
 * destroy is the whole orderly removal: backend online=0 + state Closing, a
 * wait for the backend to reach Closed, then both directories go; it then
 * checks they are gone. wait polls a node until it holds VALUE. With
 * --verdict, one "XCHECK PASS|FAIL NAME ..." line is printed. Exit 0 or 1.
 */
#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drivers/xenbus/xenbus.h"

#define TS_KEYS_MAX 32u
#define TS_TIMEOUT_MS_DEFAULT 10000u
#define TS_MSG_MAX 512

struct ts_args {
	const char *cmd, *verdict;
	struct xenbus_device dev;
	const char *fe_keys[2 * TS_KEYS_MAX + 1], *be_keys[2 * TS_KEYS_MAX + 1];
	unsigned fe_n, be_n;
	unsigned timeout_ms;
	const char *path, *value;    /* wait */
	char kv[2 * TS_KEYS_MAX][XENBUS_VALUE_MAX];
};

struct ts_destroy {
	struct event_base *base;
	int rc;
	bool done;
};

static int ts_report(const struct ts_args *a, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ts_report(const struct ts_args *a, bool ok, const char *fmt, ...)
{
	char msg[TS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (a->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", a->verdict, msg);
	else
		fprintf(ok ? stdout : stderr, "xcheck-toolstack: %s\n", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

static int ts_usage(void)
{
	fprintf(stderr,
		"usage: xcheck-toolstack create TYPE FE_DOMID DEVID [--backend-domid N]\n"
		"                        [--fe KEY=VALUE]... [--be KEY=VALUE]... [--verdict NAME]\n"
		"       xcheck-toolstack destroy TYPE FE_DOMID DEVID [--backend-domid N]\n"
		"                        [--timeout-ms N] [--verdict NAME]\n"
		"       xcheck-toolstack wait PATH VALUE [--timeout-ms N] [--verdict NAME]\n");
	return 2;
}

/* KEY=VALUE into two list entries, the strings kept in a->kv. */
static bool ts_key(struct ts_args *a, const char **list, unsigned *n, const char *arg)
{
	const char *eq = strchr(arg, '=');
	unsigned slot = a->fe_n + a->be_n;

	if (!eq || eq == arg || *n >= 2 * TS_KEYS_MAX || slot + 2 > 2 * TS_KEYS_MAX)
		return false;
	snprintf(a->kv[slot], sizeof(a->kv[slot]), "%.*s", (int)(eq - arg), arg);
	snprintf(a->kv[slot + 1], sizeof(a->kv[slot + 1]), "%s", eq + 1);
	list[(*n)++] = a->kv[slot];
	list[(*n)++] = a->kv[slot + 1];
	list[*n] = NULL;
	return true;
}

static bool ts_option(struct ts_args *a, const char *opt, const char *val)
{
	if (strcmp(opt, "--backend-domid") == 0)
		a->dev.be_domid = (uint32_t)strtoul(val, NULL, 0);
	else if (strcmp(opt, "--timeout-ms") == 0)
		a->timeout_ms = (unsigned)strtoul(val, NULL, 0);
	else if (strcmp(opt, "--verdict") == 0)
		a->verdict = val;
	else if (strcmp(opt, "--fe") == 0)
		return ts_key(a, a->fe_keys, &a->fe_n, val);
	else if (strcmp(opt, "--be") == 0)
		return ts_key(a, a->be_keys, &a->be_n, val);
	else
		return false;
	return true;
}

static bool ts_parse(struct ts_args *a, int argc, char **argv)
{
	int i = 2;

	if (argc < 2)
		return false;
	a->cmd = argv[1];
	a->timeout_ms = TS_TIMEOUT_MS_DEFAULT;
	if (strcmp(a->cmd, "wait") == 0) {
		if (argc < 4)
			return false;
		a->path = argv[2];
		a->value = argv[3];
		i = 4;
	} else if (strcmp(a->cmd, "create") == 0 || strcmp(a->cmd, "destroy") == 0) {
		if (argc < 5)
			return false;
		a->dev.type = argv[2];
		a->dev.fe_domid = (uint32_t)strtoul(argv[3], NULL, 0);
		a->dev.devid = (uint32_t)strtoul(argv[4], NULL, 0);
		a->dev.fe_keys = a->fe_keys;
		a->dev.be_keys = a->be_keys;
		i = 5;
	} else {
		return false;
	}
	for (; i + 1 < argc; i += 2)
		if (!ts_option(a, argv[i], argv[i + 1]))
			return false;
	return i == argc;
}

static int ts_create(struct ts_args *a, struct xenbus *xb)
{
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	int rc = xenbus_device_create(xenbus_xs(xb), &a->dev);

	xenbus_device_paths(&a->dev, fe, be, sizeof(fe));
	if (rc < 0)
		return ts_report(a, false, "create %s %" PRIu32 " of dom%" PRIu32 ": %s", a->dev.type,
				 a->dev.devid, a->dev.fe_domid, strerror(-rc));
	return ts_report(a, true, "created %s and %s (%u frontend keys, %u backend keys)", fe, be,
			 a->fe_n / 2, a->be_n / 2);
}

static void ts_destroyed(void *arg, int rc)
{
	struct ts_destroy *d = arg;

	d->rc = rc;
	d->done = true;
	event_base_loopbreak(d->base);
}

static bool ts_gone(struct xs_handle *xs, const char *path)
{
	unsigned len;
	char *v = xs_read(xs, XBT_NULL, path, &len);

	free(v);
	return !v && errno == ENOENT;
}

static int ts_destroy(struct ts_args *a, struct xenbus *xb)
{
	struct ts_destroy d = {.base = xenbus_base(xb)};
	char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
	struct timespec t0, t1;
	int rc;

	XenbusState before = XenbusStateUnknown;

	xenbus_device_paths(&a->dev, fe, be, sizeof(fe));
	xenbus_state_read(xenbus_xs(xb), be, &before);   /* says why, if it fails */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = xenbus_device_destroy(xb, &a->dev, a->timeout_ms, ts_destroyed, &d);
	if (rc < 0)
		return ts_report(a, false, "destroy %s: %s", be, strerror(-rc));
	while (!d.done && event_base_dispatch(d.base) == 0)
		;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	if (!d.done || d.rc < 0)
		return ts_report(a, false, "destroy %s (backend state %s before the close): %s after %ld ms",
				 be, xenbus_state_name(before), d.done ? strerror(-d.rc) : "loop ended", ms);
	if (!ts_gone(xenbus_xs(xb), fe) || !ts_gone(xenbus_xs(xb), be))
		return ts_report(a, false, "destroy %s: a directory is still there (%s or %s)", be, fe, be);
	return ts_report(a, true, "%s %" PRIu32 " of dom%" PRIu32 ": backend Closed, both directories"
			 " removed, in %ld ms", a->dev.type, a->dev.devid, a->dev.fe_domid, ms);
}

static int ts_wait(struct ts_args *a, struct xenbus *xb)
{
	char *v = NULL;
	unsigned len = 0;

	for (unsigned ms = 0; ms <= a->timeout_ms; ms += 50) {
		free(v);
		v = xs_read(xenbus_xs(xb), XBT_NULL, a->path, &len);
		if (v && strcmp(v, a->value) == 0) {
			free(v);
			return ts_report(a, true, "%s = %s after about %u ms", a->path, a->value, ms);
		}
		usleep(50 * 1000);
	}
	int rc = ts_report(a, false, "%s is %s, not %s, after %u ms", a->path, v ? v : "absent",
			   a->value, a->timeout_ms);
	free(v);
	return rc;
}

int main(int argc, char **argv)
{
	static struct ts_args a;
	struct event_base *base;
	struct xenbus *xb = NULL;
	int rc;

	if (!ts_parse(&a, argc, argv))
		return ts_usage();
	base = event_base_new();
	if (!base)
		return ts_report(&a, false, "event_base_new failed");
	rc = xenbus_open(base, &xb);
	if (rc < 0)
		rc = ts_report(&a, false, "xenbus_open: %s", strerror(-rc));
	else if (strcmp(a.cmd, "create") == 0)
		rc = ts_create(&a, xb);
	else if (strcmp(a.cmd, "destroy") == 0)
		rc = ts_destroy(&a, xb);
	else
		rc = ts_wait(&a, xb);
	if (xb)
		xenbus_close(xb);
	event_base_free(base);
	return rc;
}
