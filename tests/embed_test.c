/*
 * include/xensim.h, the public embedding API: start/stop, domains and their
 * xenstore homes as libxl writes them, running as a domain, faults by name,
 * runs until a predicate, seeds and trace hashes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenevtchn.h>
#include <xenstore.h>

#include "include/xensim.h"
#include "tests/test.h"

static int dom(const char *name, bool priv)
{
	struct xensim_domain_config c = {.name = name, .privileged = priv, .domid = priv ? 0 : -1};

	return xensim_domain_create(&c);
}

/* ---- homes ---- */

static char *read_as(int domid, const char *path)
{
	CU_ASSERT_EQUAL_FATAL(xensim_enter(domid), 0);
	struct xs_handle *h = xs_open(0);
	char *v = h ? xs_read(h, XBT_NULL, path, NULL) : NULL;
	if (h)
		xs_close(h);
	xensim_leave();
	return v;
}

static bool write_as(int domid, const char *path, const char *value)
{
	CU_ASSERT_EQUAL_FATAL(xensim_enter(domid), 0);
	struct xs_handle *h = xs_open(0);
	bool ok = h && xs_write(h, XBT_NULL, path, value, (unsigned)strlen(value));
	if (h)
		xs_close(h);
	xensim_leave();
	return ok;
}

static void home_name_and_domid_readable_by_the_domain_only(void)
{
	CU_ASSERT_EQUAL_FATAL(xensim_start(NULL), 0);
	CU_ASSERT_EQUAL(dom("dom0", true), 0);
	int a = dom("alpha", false), b = dom("beta", false);
	CU_ASSERT_EQUAL_FATAL(a, 1);
	char *v = read_as(a, "domid");          /* relative: its own home */
	CU_ASSERT_STRING_EQUAL(v ? v : "", "1");
	free(v);
	v = read_as(a, "/local/domain/1/name");
	CU_ASSERT_STRING_EQUAL(v ? v : "", "alpha");
	free(v);
	v = read_as(b, "/local/domain/1/domid");   /* another guest: no */
	CU_ASSERT_PTR_NULL(v);
	free(v);
	CU_ASSERT_FALSE(write_as(a, "name", "mallory"));     /* owner dom0: read only */
	CU_ASSERT_TRUE(write_as(a, "data/key", "v"));        /* its data/ is its own */
	CU_ASSERT_TRUE(write_as(a, "own-key", "v"));         /* as is its home */
	CU_ASSERT_EQUAL(xensim_domain_destroy(a), 0);
	v = read_as(0, "/local/domain/1/name");              /* the home went with it */
	CU_ASSERT_PTR_NULL(v);
	free(v);
	xensim_stop();
}

/* ---- start, enter, faults ---- */

static void start_refused_while_domains_exist(void)
{
	struct xensim_config det = {.mode = XENSIM_MODE_DET, .seed = 9};

	CU_ASSERT_EQUAL_FATAL(xensim_start(NULL), 0);
	CU_ASSERT_EQUAL(dom("dom0", true), 0);
	CU_ASSERT_EQUAL(xensim_start(&det), -EBUSY);
	xensim_stop();
	det.policy = XENSIM_POLICY_PCT;
	det.pct_depth = 99;
	CU_ASSERT_EQUAL(xensim_start(&det), -EINVAL);
	det.pct_depth = 2;
	CU_ASSERT_EQUAL(xensim_start(&det), 0);
	CU_ASSERT_EQUAL(xensim_seed(), 9);
	CU_ASSERT_EQUAL(dom("dom0", true), 0);
	CU_ASSERT_EQUAL(xensim_enter(0), -EPERM);          /* det: only domain threads run */
	xensim_stop();
}

static void fault_arm_by_name_fires_and_counts(void)
{
	struct xensim_fault f = {.after = 1, .repeat = 0, .aim_domid = -1, .aim_port = -1};

	CU_ASSERT_EQUAL_FATAL(xensim_start(NULL), 0);
	CU_ASSERT_EQUAL(xensim_fault_arm("no.such.site", &f), -ENOENT);
	f.prob = 2;
	CU_ASSERT_EQUAL(xensim_fault_arm("evtchn.notify.drop", &f), -EINVAL);
	f.prob = 0;
	CU_ASSERT_EQUAL(xensim_fault_arm("evtchn.notify.drop", &f), 0);
	CU_ASSERT_EQUAL(dom("dom0", true), 0);
	int g = dom("guest", false);
	CU_ASSERT_EQUAL_FATAL(xensim_enter(g), 0);
	xenevtchn_handle *x = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(x);
	int local = xenevtchn_bind_unbound_port(x, g);      /* loopback: g to itself */
	int port = xenevtchn_bind_interdomain(x, g, local);
	CU_ASSERT_TRUE_FATAL(local > 0 && port > 0);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(xenevtchn_notify(x, port), 0);
	xenevtchn_close(x);
	xensim_leave();
	CU_ASSERT_EQUAL(xensim_fault_occurrences("evtchn.notify.drop"), 3);
	CU_ASSERT_EQUAL(xensim_fault_injected("evtchn.notify.drop"), 1);   /* the 2nd only */
	CU_ASSERT_EQUAL(xensim_fault_disarm("evtchn.notify.drop"), 0);
	xensim_stop();
}

/* ---- det runs: a call as a domain, the same seed, the same hash ---- */

static int calls;

static int as_domain(void *arg)
{
	calls += xensim_current_domid() == *(int *)arg;
	xenevtchn_handle *x = xenevtchn_open(NULL, 0);   /* a scheduling point */
	xenevtchn_close(x);
	return 7;
}

static uint64_t det_run(uint64_t seed)
{
	struct xensim_config c = {.mode = XENSIM_MODE_DET, .seed = seed};

	CU_ASSERT_EQUAL_FATAL(xensim_start(&c), 0);
	CU_ASSERT_EQUAL(dom("dom0", true), 0);
	int ids[3];
	for (int i = 0; i < 3; i++)
		ids[i] = dom(i == 0 ? "a" : i == 1 ? "b" : "c", false);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(xensim_domain_call(ids[i], as_domain, &ids[i]), 7);
	CU_ASSERT_EQUAL(xensim_domain_call(99, as_domain, NULL), -ESRCH);
	uint64_t h = xensim_trace_hash();
	CU_ASSERT_TRUE(xensim_steps() > 0);
	xensim_stop();
	return h;
}

static void det_same_seed_same_hash(void)
{
	calls = 0;
	uint64_t a = det_run(5), b = det_run(5);
	CU_ASSERT_EQUAL(calls, 6);
	CU_ASSERT_EQUAL(a, b);
}

void test_register(void)
{
	static const struct test_case home[] = {
		TEST(home_name_and_domid_readable_by_the_domain_only),
		TEST_END,
	};
	static const struct test_case api[] = {
		TEST(start_refused_while_domains_exist),
		TEST(fault_arm_by_name_fires_and_counts),
		TEST(det_same_seed_same_hash),
		TEST_END,
	};
	test_add_suite("embed_home", NULL, NULL, home);
	test_add_suite("embed_api", NULL, NULL, api);
}
