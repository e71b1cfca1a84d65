/*
 * CUnit suites for drivers/xenbus: state and key helpers (strict parsing at
 * and past each bound), transactions, the toolstack role (nodes, permissions,
 * cleanup), the frontend's backend lookup, the watch dispatcher and backend
 * discovery on a domain's loop, the event channel's storm limit, and the
 * asynchronous device destroy.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <xenevtchn.h>
#include <xenstore.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

#define XT_WAIT_MS 30000u

static struct xs_handle *xt_xs;   /* the test thread acts as dom0 */
static unsigned xt_nodes_base;

static pthread_mutex_t xt_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t xt_cond = PTHREAD_COND_INITIALIZER;
static unsigned xt_bits;

static void xt_raise(unsigned bits)
{
	pthread_mutex_lock(&xt_lock);
	xt_bits |= bits;
	pthread_cond_broadcast(&xt_cond);
	pthread_mutex_unlock(&xt_lock);
}

static bool xt_wait(unsigned bits)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += XT_WAIT_MS / 1000;
	pthread_mutex_lock(&xt_lock);
	while ((xt_bits & bits) != bits)
		if (pthread_cond_timedwait(&xt_cond, &xt_lock, &dl) == ETIMEDOUT)
			break;
	bool ok = (xt_bits & bits) == bits;
	xt_bits &= ~bits;
	pthread_mutex_unlock(&xt_lock);
	return ok;
}

static int xt_up(void)
{
	sim_reset();
	xs_store_reset();
	xt_bits = 0;
	if (sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0, .privileged = true}) != 0 ||
	    sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 3}) != 3 ||
	    sim_thread_enter(0) != 0 || !(xt_xs = xs_open(0)))
		return 1;
	/* The domains' homes, as a toolstack makes them at domain creation. */
	for (unsigned d = 0; d <= 3; d += 3) {
		char path[32];
		struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		if (!xs_mkdir(xt_xs, XBT_NULL, path) || !xs_set_permissions(xt_xs, XBT_NULL, path, &p, 1))
			return 1;
	}
	xt_nodes_base = xs_store_nodes_total();
	return 0;
}

static int xt_down(void)
{
	xs_close(xt_xs);
	xt_xs = NULL;
	sim_thread_leave();
	sim_reset();
	return 0;
}

static void xt_put(const char *path, const char *val)
{
	CU_ASSERT_FATAL(xs_write(xt_xs, XBT_NULL, path, val, (unsigned)strlen(val)));
}

static bool xt_exists(const char *path)
{
	unsigned len;
	char *v = xs_read(xt_xs, XBT_NULL, path, &len);

	free(v);
	return v != NULL;
}

/* ==== states and keys ==== */

static void test_state_name_covers_enum(void)
{
	CU_ASSERT_STRING_EQUAL(xenbus_state_name(XenbusStateUnknown), "Unknown");
	CU_ASSERT_STRING_EQUAL(xenbus_state_name(XenbusStateConnected), "Connected");
	CU_ASSERT_STRING_EQUAL(xenbus_state_name(XenbusStateReconfigured), "Reconfigured");
	CU_ASSERT_STRING_EQUAL(xenbus_state_name(9), "invalid");
	CU_ASSERT_STRING_EQUAL(xenbus_state_name(UINT32_MAX), "invalid");
}

static void test_state_read_bounds(void)
{
	XenbusState st = XenbusStateUnknown;

	CU_ASSERT_EQUAL(xenbus_state_read(xt_xs, "/xt/dev", &st), -ENOENT);
	xt_put("/xt/dev/state", "8");
	CU_ASSERT_EQUAL(xenbus_state_read(xt_xs, "/xt/dev", &st), 0);
	CU_ASSERT_EQUAL(st, XenbusStateReconfigured);
	xt_put("/xt/dev/state", "9");
	CU_ASSERT_EQUAL(xenbus_state_read(xt_xs, "/xt/dev", &st), -EINVAL);
	xt_put("/xt/dev/state", "4x");
	CU_ASSERT_EQUAL(xenbus_state_read(xt_xs, "/xt/dev", &st), -EINVAL);
	xt_put("/xt/dev/state", "");
	CU_ASSERT_EQUAL(xenbus_state_read(xt_xs, "/xt/dev", &st), -EINVAL);
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

static void test_state_switch_never_resurrects(void)
{
	xt_put("/xt/dev/state", "1");
	CU_ASSERT_EQUAL(xenbus_state_switch(xt_xs, "/xt/dev", XenbusStateConnected), 0);
	CU_ASSERT_EQUAL(xenbus_dev_fatal(xt_xs, "/xt/dev", "broken ring"), 0);
	char *v = xs_read(xt_xs, XBT_NULL, "/xt/dev/error", &(unsigned){0});
	CU_ASSERT_STRING_EQUAL(v ? v : "", "broken ring");
	free(v);
	xs_rm(xt_xs, XBT_NULL, "/xt");
	unsigned before = xs_store_nodes_total();
	CU_ASSERT_EQUAL(xenbus_state_switch(xt_xs, "/xt/dev", XenbusStateClosed), -ENOENT);
	CU_ASSERT_EQUAL(xenbus_dev_fatal(xt_xs, "/xt/dev", "gone"), -ENOENT);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), before);
	CU_ASSERT_FALSE(xt_exists("/xt"));
}

static void test_read_uint_bounds(void)
{
	uint64_t v = 7;

	xt_put("/xt/k", "4096");
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "k", 4096, &v), 0);
	CU_ASSERT_EQUAL(v, 4096);
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "k", 4095, &v), -EINVAL);
	xt_put("/xt/k", "18446744073709551615");
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "k", UINT64_MAX, &v), 0);
	CU_ASSERT_EQUAL(v, UINT64_MAX);
	xt_put("/xt/k", "18446744073709551616");
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "k", UINT64_MAX, &v), -EINVAL);
	static const char *const bad[] = {"-1", "+1", " 1", "1 ", "0x10", "", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		xt_put("/xt/k", bad[i]);
		CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "k", UINT64_MAX, &v), -EINVAL);
	}
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "none", 10, &v), -ENOENT);
	CU_ASSERT_EQUAL(xenbus_read_uint_or(xt_xs, XBT_NULL, "/xt", "none", 10, 3, &v), 0);
	CU_ASSERT_EQUAL(v, 3);
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

static void test_read_str_bounds(void)
{
	char buf[8];

	xt_put("/xt/s", "1234567");
	CU_ASSERT_EQUAL(xenbus_read_str(xt_xs, XBT_NULL, "/xt", "s", buf, sizeof(buf)), 0);
	CU_ASSERT_STRING_EQUAL(buf, "1234567");
	xt_put("/xt/s", "12345678");
	CU_ASSERT_EQUAL(xenbus_read_str(xt_xs, XBT_NULL, "/xt", "s", buf, sizeof(buf)), -E2BIG);
	CU_ASSERT_FATAL(xs_write(xt_xs, XBT_NULL, "/xt/s", "a\0b", 3));
	CU_ASSERT_EQUAL(xenbus_read_str(xt_xs, XBT_NULL, "/xt", "s", buf, sizeof(buf)), -EINVAL);
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

/* The first run of fn meets a write by another connection: its commit fails
 * with EAGAIN and the whole function runs again. */
struct xt_tx {
	struct xs_handle *other;
	unsigned runs;
};

static int xt_tx_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xt_tx *c = arg;
	uint64_t v = 0;

	c->runs++;
	xenbus_read_uint(xs, t, "/xt", "n", 100, &v);
	if (c->runs == 1)
		xs_write(c->other, XBT_NULL, "/xt/n", "5", 1);
	return xenbus_write_fmt(xs, t, "/xt", "n", "%u", (unsigned)v + 1);
}

static void test_transact_reruns_on_conflict(void)
{
	struct xt_tx c = {.other = xs_open(0)};
	uint64_t v = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c.other);
	xt_put("/xt/n", "1");
	CU_ASSERT_EQUAL(xenbus_transact(xt_xs, xt_tx_fn, &c), 0);
	CU_ASSERT_EQUAL(c.runs, 2);
	CU_ASSERT_EQUAL(xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "n", 100, &v), 0);
	CU_ASSERT_EQUAL(v, 6);   /* built on the other write, not lost over it */
	xs_close(c.other);
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

/* A pass that only read and failed is committed: a conflict at the commit
 * reruns it (its failed read came from a mixed view: b removed and written
 * back by another connection between the pass's two reads); a key that is
 * really missing fails once; a pass that wrote is aborted, not rerun. */
struct xt_mixed {
	struct xs_handle *other;
	unsigned runs;
	bool write_first, mix;
};

static int xt_mixed_fn(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xt_mixed *c = arg;
	uint64_t a = 0, b = 0;

	c->runs++;
	if (c->write_first && xenbus_write_fmt(xs, t, "/xt", "w", "%u", c->runs) < 0)
		return -EIO;
	int rc = xenbus_read_uint(xs, t, "/xt", "a", 100, &a);
	if (rc == 0 && c->mix && c->runs == 1)
		xs_rm(c->other, XBT_NULL, "/xt/b");
	if (rc == 0)
		rc = xenbus_read_uint(xs, t, "/xt", "b", 100, &b);
	if (c->mix && c->runs == 1)
		xs_write(c->other, XBT_NULL, "/xt/b", "2", 1);
	return rc;
}

static void test_transact_commits_a_failed_read(void)
{
	struct xt_mixed c = {.other = xs_open(0), .mix = true};
	char *w;

	CU_ASSERT_PTR_NOT_NULL_FATAL(c.other);
	xt_put("/xt/a", "1");
	xt_put("/xt/b", "2");
	CU_ASSERT_EQUAL(xenbus_transact(xt_xs, xt_mixed_fn, &c), 0);
	CU_ASSERT_EQUAL(c.runs, 2);
	c = (struct xt_mixed){.other = c.other, .mix = true, .write_first = true};
	CU_ASSERT_EQUAL(xenbus_transact(xt_xs, xt_mixed_fn, &c), -ENOENT);
	CU_ASSERT_EQUAL(c.runs, 1);
	w = xs_read(xt_xs, XBT_NULL, "/xt/w", NULL);
	CU_ASSERT_PTR_NULL(w);   /* aborted: nothing of it published */
	free(w);
	xs_rm(xt_xs, XBT_NULL, "/xt/b");
	c = (struct xt_mixed){.other = c.other};
	CU_ASSERT_EQUAL(xenbus_transact(xt_xs, xt_mixed_fn, &c), -ENOENT);
	CU_ASSERT_EQUAL(c.runs, 1);
	xs_close(c.other);
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

/* ==== the toolstack ==== */

static const char *const xt_fe_keys[] = {"virtual-device", "51712", "device-type", "disk", NULL};
static const char *const xt_be_keys[] = {"params", "disk0", "type", "ram", "mode", "w", NULL};

static struct xenbus_device xt_dev(void)
{
	return (struct xenbus_device){.type = "vbd", .fe_domid = 3, .be_domid = 0, .devid = 51712,
				      .fe_keys = xt_fe_keys, .be_keys = xt_be_keys};
}

static void xt_expect_perms(const char *path, unsigned owner, unsigned reader)
{
	unsigned n = 0;
	struct xs_permissions *p = xs_get_permissions(xt_xs, XBT_NULL, path, &n);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(n, 2);
	CU_ASSERT_EQUAL(p[0].id, owner);
	CU_ASSERT_EQUAL(p[0].perms, XS_PERM_NONE);
	if (n == 2) {
		CU_ASSERT_EQUAL(p[1].id, reader);
		CU_ASSERT_EQUAL(p[1].perms, XS_PERM_READ);
	}
	free(p);
}

static bool xt_key_is(const char *dir, const char *key, const char *want)
{
	char path[256];
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	char *v = xs_read(xt_xs, XBT_NULL, path, &len);
	bool ok = v && strcmp(v, want) == 0;
	free(v);
	return ok;
}

static void test_device_create_like_libxl(void)
{
	struct xenbus_device d = xt_dev();
	const char *fe = "/local/domain/3/device/vbd/51712", *be = "/local/domain/0/backend/vbd/3/51712";
	char fp[128], bp[128];

	CU_ASSERT_EQUAL(xenbus_device_paths(&d, fp, bp, sizeof(fp)), 0);
	CU_ASSERT_STRING_EQUAL(fp, fe);
	CU_ASSERT_STRING_EQUAL(bp, be);
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d), 0);
	xt_expect_perms(fe, 3, 0);
	xt_expect_perms(be, 0, 3);
	xt_expect_perms("/local/domain/3/device/vbd/51712/backend", 3, 0);
	xt_expect_perms("/local/domain/0/backend/vbd/3/51712/params", 0, 3);
	CU_ASSERT_TRUE(xt_key_is(fe, "backend", be));
	CU_ASSERT_TRUE(xt_key_is(fe, "backend-id", "0"));
	CU_ASSERT_TRUE(xt_key_is(fe, "state", "1"));
	CU_ASSERT_TRUE(xt_key_is(fe, "virtual-device", "51712"));
	CU_ASSERT_TRUE(xt_key_is(be, "frontend", fe));
	CU_ASSERT_TRUE(xt_key_is(be, "frontend-id", "3"));
	CU_ASSERT_TRUE(xt_key_is(be, "online", "1"));
	CU_ASSERT_TRUE(xt_key_is(be, "state", "1"));
	CU_ASSERT_TRUE(xt_key_is(be, "mode", "w"));
	/* Leftovers of an earlier device are replaced, not merged. */
	xt_put("/local/domain/3/device/vbd/51712/ring-ref", "77");
	CU_ASSERT_EQUAL(xenbus_device_create(xt_xs, &d), 0);
	CU_ASSERT_FALSE(xt_exists("/local/domain/3/device/vbd/51712/ring-ref"));
	CU_ASSERT_EQUAL(xenbus_device_close(xt_xs, &d), 0);
	CU_ASSERT_TRUE(xt_key_is(be, "online", "0"));
	CU_ASSERT_TRUE(xt_key_is(be, "state", "5"));
	/* A backend already Closed (its frontend closed first) stays Closed: as
	 * libxl, never overwrite it with Closing, nobody would write Closed again. */
	xt_put("/local/domain/0/backend/vbd/3/51712/state", "6");
	CU_ASSERT_EQUAL(xenbus_device_close(xt_xs, &d), 0);
	CU_ASSERT_TRUE(xt_key_is(be, "state", "6"));
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);   /* empty parents went too */
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);      /* absent is fine */
	CU_ASSERT_EQUAL(xenbus_device_close(xt_xs, &d), -ENOENT);
}

static void test_device_backend_recreate_keeps_frontend(void)
{
	struct xenbus_device d = xt_dev();
	const char *fe = "/local/domain/3/device/vbd/51712", *be = "/local/domain/0/backend/vbd/3/51712";
	struct xs_permissions guest_only = {.id = 3, .perms = XS_PERM_NONE};

	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d), 0);
	/* The guest connected: its keys, one level down too (multi-queue). */
	xt_put("/local/domain/3/device/vbd/51712/state", "4");
	xt_put("/local/domain/3/device/vbd/51712/queue-0/ring-ref", "8");
	xt_put("/local/domain/0/backend/vbd/3/51712/state", "4");
	xt_put("/local/domain/0/backend/vbd/3/51712/sectors", "32768");
	/* What xenstored leaves of the backend's entries once it died. */
	CU_ASSERT_FATAL(xs_set_permissions(xt_xs, XBT_NULL, "/local/domain/3/device/vbd/51712/queue-0/ring-ref",
					   &guest_only, 1));
	CU_ASSERT_FATAL(xs_set_permissions(xt_xs, XBT_NULL, fe, &guest_only, 1));
	CU_ASSERT_EQUAL_FATAL(xenbus_device_backend_recreate(xt_xs, &d), 0);
	CU_ASSERT_TRUE(xt_key_is(fe, "state", "4"));              /* the guest's, untouched */
	CU_ASSERT_TRUE(xt_key_is(fe, "queue-0/ring-ref", "8"));
	xt_expect_perms(fe, 3, 0);                                /* the backend may read again */
	xt_expect_perms("/local/domain/3/device/vbd/51712/queue-0/ring-ref", 3, 0);
	CU_ASSERT_TRUE(xt_key_is(be, "state", "1"));              /* the backend's, fresh */
	CU_ASSERT_FALSE(xt_exists("/local/domain/0/backend/vbd/3/51712/sectors"));
	CU_ASSERT_TRUE(xt_key_is(be, "online", "1"));
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);
}

static void test_device_remove_keeps_home_and_siblings(void)
{
	struct xenbus_device a = xt_dev(), b = xt_dev();

	b.devid = 51728;
	unsigned base = xs_store_nodes_total();
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &a), 0);
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &b), 0);
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &a), 0);
	CU_ASSERT_TRUE(xt_exists("/local/domain/3/device/vbd/51728/state"));
	CU_ASSERT_TRUE(xt_exists("/local/domain/0/backend/vbd/3/51728/state"));
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &b), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), base);
	CU_ASSERT_TRUE(xt_exists("/local/domain/3/name"));   /* the home's, from its creation */
}

static void test_device_create_refuses_bad_domids(void)
{
	struct xenbus_device d = xt_dev();

	d.fe_domid = DOMID_FIRST_RESERVED;
	CU_ASSERT_EQUAL(xenbus_device_create(xt_xs, &d), -EINVAL);
	d = xt_dev();
	d.be_keys = (const char *const[]){"params", NULL};   /* a key without a value */
	CU_ASSERT_EQUAL(xenbus_device_create(xt_xs, &d), -EINVAL);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);   /* nothing committed */
}

/* The guest's view: lookup reads and checks backend and backend-id. */
static int xt_lookup_fn(void *arg)
{
	struct xenbus_otherend *o = arg;
	struct xs_handle *xs = xs_open(0);
	int rc = xs ? xenbus_frontend_lookup(xs, "vbd", 51712, o) : -EIO;

	xs_close(xs);
	return rc;
}

static void test_frontend_lookup_checks_backend_path(void)
{
	struct xenbus_device d = xt_dev();
	struct xenbus_otherend o;
	const char *key = "/local/domain/3/device/vbd/51712/backend";

	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), -ENOENT);
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d), 0);
	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), 0);
	CU_ASSERT_STRING_EQUAL(o.path, "/local/domain/0/backend/vbd/3/51712");
	CU_ASSERT_EQUAL(o.domid, 0);
	xt_put(key, "/local/domain/0/device/vbd/3/51712");        /* not a backend dir */
	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), -EINVAL);
	xt_put(key, "/local/domain/1/backend/vbd/3/51712");       /* other domain than backend-id */
	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), -EINVAL);
	xt_put(key, "/local/domain/0/backend/vbd/../../../../tool");
	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), -EINVAL);
	xt_put("/local/domain/3/device/vbd/51712/backend-id", "32752");   /* DOMID_FIRST_RESERVED */
	CU_ASSERT_EQUAL(sim_domain_call(3, xt_lookup_fn, &o), -EINVAL);
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);
}

/* ==== the dispatcher on dom0's loop ==== */

#define XT_MAX_SEEN 64u

struct xt_watcher {
	struct xenbus *xb;
	struct xenbus_watch *w[XENBUS_WATCHES_MAX + 1];
	unsigned nw;
	int rc_last;
	unsigned events;
	char seen[XT_MAX_SEEN][96];
	unsigned nseen;
	unsigned devs;
	uint32_t fe[XT_MAX_SEEN], devid[XT_MAX_SEEN];
};

static void xt_event(void *arg, const char *path)
{
	struct xt_watcher *x = arg;

	if (x->nseen < XT_MAX_SEEN)
		snprintf(x->seen[x->nseen++], sizeof(x->seen[0]), "%s", path);
	x->events++;
	xt_raise(1);
}

static int xt_open_fn(void *arg)
{
	return xenbus_open(sim_domain_event_base(), &((struct xt_watcher *)arg)->xb);
}

static int xt_close_fn(void *arg)
{
	xenbus_close(((struct xt_watcher *)arg)->xb);
	return 0;
}

static int xt_watch_fn(void *arg)
{
	struct xt_watcher *x = arg;

	x->rc_last = xenbus_watch(x->xb, "/xt/w", xt_event, x, &x->w[x->nw]);
	x->nw += x->rc_last == 0;
	return x->rc_last;
}

static int xt_unwatch_all_fn(void *arg)
{
	struct xt_watcher *x = arg;

	for (unsigned i = 0; i < x->nw; i++)
		xenbus_unwatch(x->xb, x->w[i]);
	x->nw = 0;
	return 0;
}

struct xt_snap {
	const struct xt_watcher *x;
	struct xt_watcher *copy;
};

static int xt_snapshot_fn(void *arg)
{
	struct xt_snap *s = arg;

	*s->copy = *s->x;
	return 0;
}

/* What x's callbacks saw so far, copied on dom0's thread (which goes on
 * taking events while the test reads): a round trip through dom0's loop,
 * so what was queued before it has run. */
static void xt_snapshot(const struct xt_watcher *x, struct xt_watcher *copy)
{
	sim_domain_call(0, xt_snapshot_fn, &(struct xt_snap){ .x = x, .copy = copy });
}

static void test_watch_fires_on_registration_and_change(void)
{
	struct xt_watcher *x = calloc(1, sizeof(*x));

	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_open_fn, x), 0);
	CU_ASSERT_EQUAL(sim_domain_call(0, xt_watch_fn, x), 0);
	CU_ASSERT_TRUE(xt_wait(1));
	xt_put("/xt/w/a/b", "1");
	CU_ASSERT_TRUE(xt_wait(1));
	struct xt_watcher *seen = malloc(sizeof(*seen));
	xt_snapshot(x, seen);
	CU_ASSERT_TRUE(seen->nseen >= 2);
	CU_ASSERT_STRING_EQUAL(seen->seen[0], "/xt/w");
	CU_ASSERT_STRING_EQUAL(seen->seen[seen->nseen - 1], "/xt/w/a/b");
	sim_domain_call(0, xt_unwatch_all_fn, x);
	xt_snapshot(x, seen);
	unsigned before = seen->events;
	xt_put("/xt/w/c", "1");
	xt_snapshot(x, seen);
	xt_snapshot(x, seen);
	CU_ASSERT_EQUAL(seen->events, before);   /* unwatched: nothing more */
	free(seen);
	sim_domain_call(0, xt_close_fn, x);
	xs_rm(xt_xs, XBT_NULL, "/xt");
	free(x);
}

static void test_watch_limit_at_and_past(void)
{
	struct xt_watcher *x = calloc(1, sizeof(*x));

	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_open_fn, x), 0);
	for (unsigned i = 0; i < XENBUS_WATCHES_MAX; i++)
		if (sim_domain_call(0, xt_watch_fn, x) != 0)
			break;
	CU_ASSERT_EQUAL(x->nw, XENBUS_WATCHES_MAX);
	CU_ASSERT_EQUAL(sim_domain_call(0, xt_watch_fn, x), -ENOSPC);
	sim_domain_call(0, xt_unwatch_all_fn, x);
	CU_ASSERT_EQUAL(sim_domain_call(0, xt_watch_fn, x), 0);   /* freed again */
	sim_domain_call(0, xt_close_fn, x);
	free(x);
}

static void xt_device_seen(void *arg, uint32_t fe, uint32_t devid)
{
	struct xt_watcher *x = arg;

	if (x->devs < XT_MAX_SEEN) {
		x->fe[x->devs] = fe;
		x->devid[x->devs] = devid;
	}
	x->devs++;
	xt_raise(2);
}

static int xt_discover_fn(void *arg)
{
	struct xt_watcher *x = arg;

	return xenbus_discover(x->xb, "vbd", xt_device_seen, x, &x->w[x->nw++]);
}

static bool xt_saw(const struct xt_watcher *x, uint32_t fe, uint32_t devid)
{
	for (unsigned i = 0; i < x->devs && i < XT_MAX_SEEN; i++)
		if (x->fe[i] == fe && x->devid[i] == devid)
			return true;
	return false;
}

/* Reports come one per watch event under a device (a device's creation
 * writes many keys), and from dom0's loop after xenstored delivered them: so
 * wait for the one asked for, not for a count. */
static bool xt_saw_soon(const struct xt_watcher *x, uint32_t fe, uint32_t devid)
{
	struct xt_watcher *seen = malloc(sizeof(*seen));
	bool found;

	for (;;) {
		xt_snapshot(x, seen);
		if ((found = xt_saw(seen, fe, devid)) || !xt_wait(2))
			break;
	}
	free(seen);
	return found;
}

static int xt_forget_fn(void *arg)
{
	((struct xt_watcher *)arg)->devs = 0;
	return 0;
}

/* Anything reported but these two devices of frontend 3 (or a re-check
 * of all of frontend 3's). */
static bool xt_saw_other(const struct xt_watcher *x)
{
	for (unsigned i = 0; i < x->devs && i < XT_MAX_SEEN; i++)
		if (x->fe[i] != 3 || (x->devid[i] != 51712 && x->devid[i] != 768 && x->devid[i] != XENBUS_DEVID_ANY))
			return true;
	return false;
}

static void test_discover_reports_devices_and_removals(void)
{
	struct xt_watcher *x = calloc(1, sizeof(*x));
	struct xenbus_device d = xt_dev();

	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d), 0);   /* before: found by the first event */
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_open_fn, x), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_discover_fn, x), 0);
	CU_ASSERT_TRUE(xt_saw_soon(x, 3, 51712));
	d.devid = 768;
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d), 0);
	CU_ASSERT_TRUE(xt_saw_soon(x, 3, 768));
	/* Noise under backend/vbd that is not a device is not reported as one
	 * (late reports of the two devices may still come). */
	sim_domain_call(0, xt_forget_fn, x);
	xt_put("/local/domain/0/backend/vbd/x", "1");
	struct xt_watcher *seen = malloc(sizeof(*seen));
	xt_snapshot(x, seen);
	xt_snapshot(x, seen);
	CU_ASSERT_FALSE(xt_saw_other(seen));
	xs_rm(xt_xs, XBT_NULL, "/local/domain/0/backend/vbd/x");
	xt_snapshot(x, seen);
	sim_domain_call(0, xt_forget_fn, x);
	/* A removal is reported too: the device, or its frontend's level, to
	 * re-check (late reports of its creation cannot be told apart). */
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);
	CU_ASSERT_TRUE(xt_saw_soon(x, 3, 768));
	d.devid = 51712;
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, &d), 0);
	bool saw = xt_saw_soon(x, 3, 51712);
	xt_snapshot(x, seen);
	CU_ASSERT_TRUE(saw || xt_saw(seen, 3, XENBUS_DEVID_ANY));
	free(seen);
	sim_domain_call(0, xt_unwatch_all_fn, x);
	sim_domain_call(0, xt_close_fn, x);
	free(x);
}

/* ==== asynchronous destroy with nobody at the backend ==== */

struct xt_destroy {
	struct xenbus *xb;
	struct xenbus_device dev;
	unsigned timeout_ms;
	int rc;
};

static void xt_destroy_done(void *arg, int rc)
{
	((struct xt_destroy *)arg)->rc = rc;
	xt_raise(4);
}

static int xt_destroy_fn(void *arg)
{
	struct xt_destroy *d = arg;
	int rc = xenbus_open(sim_domain_event_base(), &d->xb);

	return rc ? rc : xenbus_device_destroy(d->xb, &d->dev, d->timeout_ms, xt_destroy_done, d);
}

static int xt_destroy_close_fn(void *arg)
{
	xenbus_close(((struct xt_destroy *)arg)->xb);
	return 0;
}

static void test_destroy_times_out_then_removes(void)
{
	struct xt_destroy d = {.dev = xt_dev(), .timeout_ms = 50, .rc = 1};

	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d.dev), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_destroy_fn, &d), 0);
	CU_ASSERT_TRUE(xt_wait(4));
	CU_ASSERT_EQUAL(d.rc, -ETIMEDOUT);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);
	sim_domain_call(0, xt_destroy_close_fn, &d);
}

static void test_destroy_finishes_when_backend_closes(void)
{
	struct xt_destroy d = {.dev = xt_dev(), .timeout_ms = 20000, .rc = 1};

	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, &d.dev), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_destroy_fn, &d), 0);
	CU_ASSERT_TRUE(xt_key_is("/local/domain/0/backend/vbd/3/51712", "online", "0"));
	/* What a backend does when asked to close. */
	xt_put("/local/domain/0/backend/vbd/3/51712/state", "6");
	CU_ASSERT_TRUE(xt_wait(4));
	CU_ASSERT_EQUAL(d.rc, 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);
	sim_domain_call(0, xt_destroy_close_fn, &d);
}

/* ==== the event channel's storm limit ==== */

struct xt_chan {
	struct xenbus_evtchn *a, *b;   /* a: dom3's end, b: dom0's end */
	unsigned calls;
	bool work;
	struct xenbus_evtchn_stats st;
};

static bool xt_chan_fn(void *arg)
{
	struct xt_chan *c = arg;

	c->calls++;
	xt_raise(8);
	return c->work;
}

static bool xt_chan_quiet(void *arg)
{
	(void)arg;
	return true;
}

static int xt_chan_alloc_fn(void *arg)
{
	struct xt_chan *c = arg;

	return xenbus_evtchn_alloc(sim_domain_event_base(), 0, xt_chan_quiet, c, &c->a);
}

static int xt_chan_bind_fn(void *arg)
{
	struct xt_chan *c = arg;

	return xenbus_evtchn_bind(sim_domain_event_base(), 3, xenbus_evtchn_port(c->a), xt_chan_fn, c, &c->b);
}

static int xt_chan_storm_fn(void *arg)
{
	struct xt_chan *c = arg;

	for (unsigned i = 0; i < 200; i++)
		xenbus_evtchn_notify(c->a);
	return 0;
}

static int xt_chan_notify_fn(void *arg)
{
	return xenbus_evtchn_notify(((struct xt_chan *)arg)->a);
}

static int xt_chan_stats_fn(void *arg)
{
	struct xt_chan *c = arg;

	xenbus_evtchn_stats(c->b, &c->st);
	return 0;
}

static int xt_chan_close_a(void *arg)
{
	xenbus_evtchn_close(((struct xt_chan *)arg)->a);
	return 0;
}

static int xt_chan_close_b(void *arg)
{
	xenbus_evtchn_close(((struct xt_chan *)arg)->b);
	return 0;
}

static void test_evtchn_storm_is_delayed_not_lost(void)
{
	struct xt_chan c = {.work = false};

	CU_ASSERT_EQUAL_FATAL(sim_domain_call(3, xt_chan_alloc_fn, &c), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_chan_bind_fn, &c), 0);
	/* An empty event after each notify: past XENBUS_EVTCHN_SPURIOUS_FREE in a
	 * row, unmasking is delayed and the notifications coalesce. */
	for (unsigned round = 0; round < 20; round++) {
		sim_domain_call(3, xt_chan_storm_fn, &c);
		xt_wait(8);
	}
	sim_domain_call(0, xt_chan_stats_fn, &c);
	CU_ASSERT_TRUE(c.st.delayed > 0);
	CU_ASSERT_TRUE(c.st.events < 20u * 200u);
	CU_ASSERT_EQUAL(c.st.spurious, c.st.events);
	/* The next event with work is still delivered, and resets the delay. */
	c.work = true;
	unsigned before = c.calls;
	sim_domain_call(3, xt_chan_notify_fn, &c);
	CU_ASSERT_TRUE(xt_wait(8));
	sim_domain_call(0, xt_chan_stats_fn, &c);
	CU_ASSERT_TRUE(c.calls > before);
	sim_domain_call(0, xt_chan_close_b, &c);
	sim_domain_call(3, xt_chan_close_a, &c);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0) + evtchn_ports_in_use(3), 0);
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
}

/* ==== a backend's device lifecycle (xenbus_backend) ==== */

#define XT_FE_DIR "/local/domain/3/device/vbd/51712"
#define XT_BE_DIR "/local/domain/0/backend/vbd/3/51712"

/* A fake driver: publish and connect write the states a real one would,
 * and remember the state the device was in when they were called. */
struct xt_be {
	struct xenbus *xb;
	struct xenbus_backend_dev bd;
	unsigned publishes, connects, disconnects;
	uint64_t state_at_publish[4];
	bool start_over_in_connect;   /* the frontend starts over while we map */
	bool mapped;                  /* connect() took rings no disconnect() let go */
	unsigned maps_over;           /* connect() while still holding rings: a leak */
};

static int xt_be_publish(void *arg)
{
	struct xt_be *b = arg;
	uint64_t st = 0;

	xenbus_read_uint(xenbus_xs(b->xb), XBT_NULL, b->bd.bd_dir, "state", 8, &st);
	if (b->publishes < 4)
		b->state_at_publish[b->publishes] = st;
	b->publishes++;
	int rc = xenbus_state_switch(xenbus_xs(b->xb), b->bd.bd_dir, XenbusStateInitWait);
	xt_raise(8);
	return rc;
}

static int xt_be_connect(void *arg, char *why, size_t len)
{
	struct xt_be *b = arg;

	(void)why;
	(void)len;
	b->maps_over += b->mapped;
	b->mapped = true;
	if (b->start_over_in_connect) {
		b->start_over_in_connect = false;
		xenbus_write_fmt(xenbus_xs(b->xb), XBT_NULL, XT_FE_DIR, "state", "%d", XenbusStateInitialising);
	}
	return 0;
}

static int xt_be_announce(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xt_be *b = arg;

	return xenbus_write_fmt(xs, t, b->bd.bd_dir, "state", "%d", XenbusStateConnected);
}

static void xt_be_up(void *arg)
{
	((struct xt_be *)arg)->connects++;
	xt_raise(16);
}

static void xt_be_disconnect(void *arg)
{
	struct xt_be *b = arg;

	b->disconnects++;
	b->mapped = false;
}

static void xt_be_gone(void *arg)
{
	(void)arg;
}

static void xt_be_log(void *arg, const char *line)
{
	(void)arg;
	printf("  backend: %s\n", line);
}

static const struct xenbus_backend_ops xt_be_ops = {
	.publish = xt_be_publish, .connect = xt_be_connect, .announce = xt_be_announce,
	.up = xt_be_up, .disconnect = xt_be_disconnect,
	.gone = xt_be_gone, .log = xt_be_log, .ready_states = 1u << XenbusStateInitialised,
	.close_timeout_ms = 10000,
};

static int xt_be_up_fn(void *arg)
{
	struct xt_be *b = arg;
	int rc = xenbus_open(sim_domain_event_base(), &b->xb);

	return rc ? rc : xenbus_backend_init(&b->bd, b->xb, "vbd", 3, 51712, &xt_be_ops, b);
}

static int xt_be_down_fn(void *arg)
{
	struct xt_be *b = arg;

	xenbus_backend_stop(&b->bd);
	xenbus_backend_fini(&b->bd);
	xenbus_close(b->xb);
	return 0;
}

/* The device created and the fake backend Connected to the frontend's
 * rings (ring-ref 8, state Initialised). */
static void xt_be_connected(struct xenbus_device *d, struct xt_be *b)
{
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(xt_xs, d), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, xt_be_up_fn, b), 0);
	CU_ASSERT_TRUE_FATAL(xt_wait(8));                 /* found: InitWait */
	xt_put(XT_FE_DIR "/ring-ref", "8");
	xt_put(XT_FE_DIR "/state", "3");                  /* the rings are there */
	CU_ASSERT_TRUE_FATAL(xt_wait(16));
	CU_ASSERT_TRUE(xt_key_is(XT_BE_DIR, "state", "4"));
}

static void xt_be_teardown(struct xenbus_device *d, struct xt_be *b)
{
	sim_domain_call(0, xt_be_down_fn, b);
	CU_ASSERT_TRUE(xt_key_is(XT_BE_DIR, "state", "6"));
	CU_ASSERT_EQUAL(xenbus_device_remove(xt_xs, d), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), xt_nodes_base);
}

/* A frontend that starts over while we are connected gets a new connection
 * through Closed: Connected -> InitWait is not a legal move. */
static void test_backend_reconnect_goes_through_closed(void)
{
	struct xenbus_device d = xt_dev();
	struct xt_be b = {0};

	xt_be_connected(&d, &b);
	xt_put(XT_FE_DIR "/state", "1");                  /* the frontend starts over */
	CU_ASSERT_TRUE_FATAL(xt_wait(8));
	CU_ASSERT_EQUAL(b.publishes, 2);
	CU_ASSERT_EQUAL(b.state_at_publish[0], XenbusStateInitialising);
	CU_ASSERT_EQUAL(b.state_at_publish[1], XenbusStateClosed);   /* not Connected */
	CU_ASSERT_TRUE(b.disconnects >= 1);
	xt_put(XT_FE_DIR "/state", "3");
	CU_ASSERT_TRUE(xt_wait(16));
	CU_ASSERT_EQUAL(b.connects, 2);
	xt_be_teardown(&d, &b);
}

/* A frontend that went Closed, Initialising and Initialised again (new
 * rings) between two looks shows the state the backend connected at: only
 * its keys tell. The backend lets go of the old rings and connects to the
 * new ones in place: no Closed, which would end a connection the frontend
 * did nothing wrong on. */
static void test_backend_follows_a_reconnect_unseen(void)
{
	struct xenbus_device d = xt_dev();
	struct xt_be b = {0};

	xt_be_connected(&d, &b);
	xt_put(XT_FE_DIR "/state", "3");                  /* the same keys again: nothing */
	xt_put(XT_FE_DIR "/ring-ref", "9");               /* new rings ... */
	xt_put(XT_FE_DIR "/state", "3");                  /* ... same state */
	CU_ASSERT_TRUE_FATAL(xt_wait(16));
	CU_ASSERT_EQUAL(b.connects, 2);
	CU_ASSERT_EQUAL(b.maps_over, 0);                  /* the old rings let go first */
	CU_ASSERT_EQUAL(b.publishes, 1);                  /* in place: no Closed, no InitWait */
	CU_ASSERT_TRUE(xt_key_is(XT_BE_DIR, "state", "4"));
	xt_be_teardown(&d, &b);
}

/* A frontend that reconnected unseen (new keys, the same Connected-ready
 * state) and then starts over while the backend connects to its new keys:
 * the backend's node still says Connected, so the start-over must still
 * bring Closed and InitWait, not leave the backend waiting in between. */
static void test_backend_reconnect_meets_a_start_over(void)
{
	struct xenbus_device d = xt_dev();
	struct xt_be b = {0};

	xt_be_connected(&d, &b);
	b.start_over_in_connect = true;
	xt_put(XT_FE_DIR "/ring-ref", "9");               /* new rings ... */
	xt_put(XT_FE_DIR "/state", "3");                  /* ... same state */
	CU_ASSERT_TRUE_FATAL(xt_wait(8));                 /* Closed, then InitWait */
	CU_ASSERT_FALSE(b.start_over_in_connect);         /* the reconnect was tried */
	CU_ASSERT_EQUAL(b.publishes, 2);
	CU_ASSERT_EQUAL(b.state_at_publish[1], XenbusStateClosed);
	CU_ASSERT_TRUE(xt_key_is(XT_BE_DIR, "state", "2"));
	xt_put(XT_FE_DIR "/state", "3");
	CU_ASSERT_TRUE(xt_wait(16));
	CU_ASSERT_EQUAL(b.connects, 2);
	xt_be_teardown(&d, &b);
}

/* xenbus_offer_answer over a fake backend at /xt: its state and its offer
 * "q"; setup makes "rings" for the q it reads, publish writes /xt/fe. The
 * other connection plays the backend changing under the frontend. */
struct xt_offer {
	struct xs_handle *other;
	uint64_t made;
	unsigned setups, teardowns, checks;
	const char *state_at_first_check;   /* the backend writes its state then */
	bool bump_q;                        /* the backend's offer moves after every setup */
};

static int xt_offer_setup(void *arg)
{
	struct xt_offer *o = arg;

	o->setups++;
	int rc = xenbus_read_uint(xt_xs, XBT_NULL, "/xt", "q", 100, &o->made);
	if (rc == 0 && o->bump_q) {
		char v[8];
		int n = snprintf(v, sizeof(v), "%u", (unsigned)o->made + 1);
		xs_write(o->other, XBT_NULL, "/xt/q", v, (unsigned)n);
	}
	return rc;
}

static void xt_offer_teardown(void *arg)
{
	((struct xt_offer *)arg)->teardowns++;
}

static int xt_offer_check(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	struct xt_offer *o = arg;
	XenbusState st;
	uint64_t q;
	int rc = xenbus_state_read_in(xs, t, "/xt", &st);

	if (++o->checks == 1 && o->state_at_first_check)
		xs_write(o->other, XBT_NULL, "/xt/state", o->state_at_first_check, 1);
	if (rc == 0 && st != XenbusStateInitWait)
		return -EINPROGRESS;
	if (rc == 0)
		rc = xenbus_read_uint(xs, t, "/xt", "q", 100, &q);
	return rc == 0 && q != o->made ? -ESTALE : rc;
}

static int xt_offer_publish(struct xs_handle *xs, xs_transaction_t t, void *arg)
{
	return xenbus_write_fmt(xs, t, "/xt", "fe", "%u", (unsigned)((struct xt_offer *)arg)->made);
}

static int xt_offer_run(struct xt_offer *o, const char *state, const char *q)
{
	static const struct xenbus_offer_ops ops = {xt_offer_setup, xt_offer_teardown, xt_offer_check,
						    xt_offer_publish};

	xs_rm(xt_xs, XBT_NULL, "/xt");
	xt_put("/xt/state", state);
	xt_put("/xt/q", q);
	o->other = xs_open(0);
	CU_ASSERT_PTR_NOT_NULL(o->other);
	int rc = xenbus_offer_answer(xt_xs, &ops, o);
	xs_close(o->other);
	return rc;
}

static void test_offer_answered_only_when_it_holds(void)
{
	struct xt_offer ok = {0}, early = {0}, late = {.state_at_first_check = "2"}, moving = {.bump_q = true};

	CU_ASSERT_EQUAL(xt_offer_run(&ok, "2", "4"), 0);
	CU_ASSERT_TRUE(xt_key_is("/xt", "fe", "4"));
	CU_ASSERT_EQUAL(ok.teardowns, 0);
	/* Not waiting for us: rings torn down, nothing published. */
	CU_ASSERT_EQUAL(xt_offer_run(&early, "1", "4"), -EINPROGRESS);
	CU_ASSERT_EQUAL(early.setups, 1);
	CU_ASSERT_EQUAL(early.teardowns, 1);
	CU_ASSERT_FALSE(xt_key_is("/xt", "fe", "4"));
	/* "Not waiting" read just before the backend's InitWait: the commit
	 * fails, the check runs again and the rings go out. */
	CU_ASSERT_EQUAL(xt_offer_run(&late, "1", "4"), 0);
	CU_ASSERT_EQUAL(late.checks, 2);
	CU_ASSERT_EQUAL(late.teardowns, 0);
	CU_ASSERT_TRUE(xt_key_is("/xt", "fe", "4"));
	/* An offer that keeps moving: made again each time, then given up. */
	CU_ASSERT_EQUAL(xt_offer_run(&moving, "2", "4"), -ESTALE);
	CU_ASSERT_EQUAL(moving.setups, XENBUS_OFFER_TRIES);
	CU_ASSERT_EQUAL(moving.teardowns, XENBUS_OFFER_TRIES);
	CU_ASSERT_FALSE(xt_key_is("/xt", "fe", "4"));
	xs_rm(xt_xs, XBT_NULL, "/xt");
}

static const struct test_case xt_state_cases[] = {
	TEST(test_state_name_covers_enum),
	TEST(test_state_read_bounds),
	TEST(test_state_switch_never_resurrects),
	TEST(test_read_uint_bounds),
	TEST(test_read_str_bounds),
	TEST(test_transact_reruns_on_conflict),
	TEST(test_transact_commits_a_failed_read),
	TEST(test_offer_answered_only_when_it_holds),
	TEST_END,
};

static const struct test_case xt_toolstack_cases[] = {
	TEST(test_device_create_like_libxl),
	TEST(test_device_backend_recreate_keeps_frontend),
	TEST(test_device_remove_keeps_home_and_siblings),
	TEST(test_device_create_refuses_bad_domids),
	TEST(test_frontend_lookup_checks_backend_path),
	TEST(test_destroy_times_out_then_removes),
	TEST(test_destroy_finishes_when_backend_closes),
	TEST_END,
};

static const struct test_case xt_backend_cases[] = {
	TEST(test_backend_reconnect_goes_through_closed),
	TEST(test_backend_follows_a_reconnect_unseen),
	TEST(test_backend_reconnect_meets_a_start_over),
	TEST_END,
};

static const struct test_case xt_watch_cases[] = {
	TEST(test_watch_fires_on_registration_and_change),
	TEST(test_watch_limit_at_and_past),
	TEST(test_discover_reports_devices_and_removals),
	TEST_END,
};

static const struct test_case xt_evtchn_cases[] = {
	TEST(test_evtchn_storm_is_delayed_not_lost),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("xenbus_state", xt_up, xt_down, xt_state_cases);
	test_add_suite("xenbus_toolstack", xt_up, xt_down, xt_toolstack_cases);
	test_add_suite("xenbus_watch", xt_up, xt_down, xt_watch_cases);
	test_add_suite("xenbus_backend", xt_up, xt_down, xt_backend_cases);
	test_add_suite("xenbus_evtchn", xt_up, xt_down, xt_evtchn_cases);
}
