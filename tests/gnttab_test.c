/* CUnit suites for sim/gnttab: the libxengnttab API (xengnttab_* and
 * xengntshr_*) as in-process domains see it, and the sim-side view
 * (gnttab.h). The test thread acts for a domain with sim_thread_enter(); the
 * threaded suite uses plain threads that entered a domain. Every test ends in
 * finish(): whole-state check, reset, nothing left mapped or counted. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define PAGE SIM_PAGE_SIZE
#define NOTIFY_NONE ((uint32_t)-1)


/* ---- helpers ---- */

static int make_domain(const char *name, int domid, size_t mem_bytes)
{
	struct sim_domain_config cfg = {.name = name, .domid = domid, .privileged = domid == 0,
					.mem_bytes = mem_bytes};
	return sim_domain_create(&cfg);
}


static struct gnttab_stats stats_of(domid_t domid)
{
	struct gnttab_stats s;

	CU_ASSERT_EQUAL(gnttab_stats(domid, &s), 0);
	return s;
}

static bool stats_zero(domid_t domid)
{
	struct gnttab_stats s = stats_of(domid);

	return !s.grants_active && !s.maps_active && !s.maptrack_used && !s.end_deferred;
}

/* Every test ends here: consistent, and nothing left behind. */
static void finish(void)
{
	gnttab_check();
	sim_reset();
	gnttab_check();
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 0);
	for (domid_t d = 0; d < 8; d++)
		CU_ASSERT_TRUE(stats_zero(d));
}

static int suite_fini(void)
{
	sim_reset();
	return 0;
}

static xengntshr_handle *shr_open_as(domid_t domid)
{
	as(domid);
	xengntshr_handle *h = xengntshr_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static xengnttab_handle *tab_open_as(domid_t domid)
{
	as(domid);
	xengnttab_handle *h = xengnttab_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

/* `owner` shares `count` pages with `peer`; each page starts with its index. */
static uint8_t *share_as(xengntshr_handle *shr, domid_t owner, domid_t peer, int count,
			 uint32_t *refs, int writable)
{
	as(owner);
	uint8_t *p = xengntshr_share_pages(shr, peer, count, refs, writable);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < count; i++)
		p[(size_t)i * PAGE] = (uint8_t)(0xA0 + i);
	return p;
}

/* A fresh frame of dom `d` granted to `peer` with the sim-side call. */
static int grant_frame(domid_t d, domid_t peer, bool readonly, uint32_t *frame_out)
{
	uint32_t frame;

	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(d, &frame), 0);
	if (frame_out)
		*frame_out = frame;
	return gnttab_grant_access(d, peer, frame, readonly);
}

/* The common set-up: dom1 shares `count` pages with dom2 (f->own, f->refs),
 * dom2 has a gnttab handle and is the current domain. */
struct fx {
	xengntshr_handle *shr;
	xengnttab_handle *tab;
	uint8_t *own;
	uint32_t refs[8];
};

static void fx_up(struct fx *f, int count, int writable)
{
	doms_up();
	f->shr = shr_open_as(1);
	f->own = share_as(f->shr, 1, 2, count, f->refs, writable);
	f->tab = tab_open_as(2);
}

static void fx_down(struct fx *f)
{
	CU_ASSERT_EQUAL(xengnttab_close(f->tab), 0);
	CU_ASSERT_EQUAL(xengntshr_close(f->shr), 0);
	finish();
}

/* Memory accesses run under sim_fault_catch(). */
struct poke {
	volatile uint8_t *p;
	uint8_t v;
};

static void poke_write(void *arg)
{
	struct poke *k = arg;
	*k->p = k->v;
}

static void poke_read(void *arg)
{
	struct poke *k = arg;
	k->v = *k->p;
}

/* ---- event channels for the notify tests ---- */

struct chan {
	domid_t da, db;
	xenevtchn_handle *a, *b;
	evtchn_port_t pa, pb;
};

/* The port delivered to h now, or -1 if none is queued. */
static int pending_now(xenevtchn_handle *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(h), .events = POLLIN};

	if (poll(&pfd, 1, 0) != 1)
		return -1;
	int port = xenevtchn_pending(h);
	if (port > 0)
		xenevtchn_unmask(h, (evtchn_port_t)port);
	return port;
}

static void chan_up(struct chan *c, domid_t da, domid_t db)
{
	*c = (struct chan){.da = da, .db = db};
	as(da);
	c->a = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->a);
	int pa = xenevtchn_bind_unbound_port(c->a, db);
	CU_ASSERT_FATAL(pa > 0);
	as(db);
	c->b = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->b);
	int pb = xenevtchn_bind_interdomain(c->b, da, (evtchn_port_t)pa);
	CU_ASSERT_FATAL(pb > 0);
	c->pa = (evtchn_port_t)pa;
	c->pb = (evtchn_port_t)pb;
	/* bind_interdomain leaves the new port pending: drain it. */
	CU_ASSERT_EQUAL(pending_now(c->b), pb);
	as(da);
	CU_ASSERT_EQUAL(pending_now(c->a), -1);
}

static void chan_down(struct chan *c)
{
	xenevtchn_close(c->a);
	xenevtchn_close(c->b);
}

/* ---- gnttab_share ---- */

static void share_pages_peer_sees_same_bytes(void)
{
	uint32_t refs[2];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 2, refs, 1);
	CU_ASSERT(refs[0] >= GNTTAB_RESERVED_REFS && refs[1] >= GNTTAB_RESERVED_REFS);
	CU_ASSERT_NOT_EQUAL(refs[0], refs[1]);
	strcpy((char *)own + 16, "from dom1");
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 2);

	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *peer = xengnttab_map_domain_grant_refs(tab, 2, 1, refs, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	CU_ASSERT_EQUAL(peer[0], 0xA0);
	CU_ASSERT_EQUAL(peer[PAGE], 0xA1);
	CU_ASSERT_STRING_EQUAL((char *)peer + 16, "from dom1");
	strcpy((char *)peer + PAGE + 16, "from dom2");
	CU_ASSERT_STRING_EQUAL((char *)own + PAGE + 16, "from dom2");
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 2);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 2);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 2);
	gnttab_check();

	CU_ASSERT_EQUAL(xengnttab_unmap(tab, peer, 2), 0);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 2), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	as(2);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void share_pages_frames_come_back_zeroed(void)
{
	uint32_t ref, free_before;

	doms_up();
	free_before = sim_frames_free(1);
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *p = xengntshr_share_pages(shr, 2, 1, &ref, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before - 1);
	memset(p, 0xAB, PAGE);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, p, 1), 0);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	p = xengntshr_share_pages(shr, 2, 1, &ref, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	bool zero = true;
	for (size_t i = 0; i < PAGE; i++)
		zero = zero && p[i] == 0;
	CU_ASSERT_TRUE(zero);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, p, 1), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void share_pages_readonly_grant_maps_read_only(void)
{
	uint32_t ref;

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref, 0);
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, ref, PROT_READ | PROT_WRITE), EIO);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, ref, false), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, ref, true), GNTST_okay);
	uint8_t *peer = xengnttab_map_grant_ref(tab, 1, ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(peer);
	CU_ASSERT_EQUAL(peer[0], own[0]);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, peer, 1), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);   /* close unshares too */
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	finish();
}

static void share_pages_bad_arguments(void)
{
	uint32_t refs[2];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint32_t free_before = sim_frames_free(1);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 0, refs, 1), EINVAL);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, -1, refs, 1), EINVAL);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 1, NULL, 1), EINVAL);
	EXPECT_NULL(xengntshr_share_pages(shr, SIM_DOMID_LIMIT, 1, refs, 1), EINVAL);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, GNTTAB_GRANTS_MAX, refs, 1), ENOSPC);
	EXPECT_NULL(xengntshr_share_page_notify(shr, 2, refs, 1, PAGE, NOTIFY_NONE), EINVAL);
	EXPECT_NULL(xengntshr_share_page_notify(shr, 2, refs, 1, NOTIFY_NONE, 99), EINVAL);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void share_pages_out_of_memory_all_or_nothing(void)
{
	uint32_t refs[17];

	sim_reset();
	CU_ASSERT_EQUAL_FATAL(make_domain("small", 1, 16 * PAGE), 1);
	CU_ASSERT_EQUAL_FATAL(make_domain("peer", 2, 0), 2);
	xengntshr_handle *shr = shr_open_as(1);
	uint32_t free_before = sim_frames_free(1);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 17, refs, 1), ENOMEM);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	uint8_t *p = xengntshr_share_pages(shr, 2, (int)free_before, refs, 1);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(sim_frames_free(1), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	finish();
}

static void share_pages_fault_injected_enomem(void)
{
	uint32_t ref;

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	struct sim_fault_site *site = sim_fault_site_find("gnttab.share");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	uint32_t free_before = sim_frames_free(1);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 1, &ref, 1), ENOMEM);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	uint8_t *p = xengntshr_share_pages(shr, 2, 1, &ref, 1);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void open_outside_domain_esrch(void)
{
	sim_reset();
	CU_ASSERT_EQUAL(sim_current_domid(), DOMID_INVALID);
	EXPECT_NULL(xengnttab_open(NULL, 0), ESRCH);
	EXPECT_NULL(xengntshr_open(NULL, 0), ESRCH);
	CU_ASSERT_EQUAL(xengnttab_close(NULL), 0);
	CU_ASSERT_EQUAL(xengntshr_close(NULL), 0);
	finish();
}

static void handle_of_other_domain_eperm(void)
{
	uint32_t ref;
	xengnttab_grant_copy_segment_t seg = {0};

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref, 1);
	xengnttab_handle *tab = tab_open_as(1);
	as(2);
	EXPECT_NULL(xengntshr_share_pages(shr, 0, 1, &ref, 1), EPERM);
	EXPECT_FAIL(xengntshr_unshare(shr, own, 1), EPERM);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, ref, PROT_READ), EPERM);
	EXPECT_FAIL(xengnttab_set_max_grants(tab, 4), EPERM);
	EXPECT_FAIL(xengnttab_grant_copy(tab, 1, &seg), EPERM);
	EXPECT_FAIL(xengnttab_unmap(tab, own, 1), EPERM);
	/* The fd and close work from anywhere, as after fork. */
	CU_ASSERT(xengnttab_fd(tab) >= 0);
	CU_ASSERT(xengntshr_fd(shr) >= 0);
	CU_ASSERT_NOT_EQUAL(xengnttab_fd(tab), xengntshr_fd(shr));
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void handle_wrong_kind_or_closed(void)
{
	uint32_t ref;

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	xengnttab_handle *tab = tab_open_as(1);
	/* The two handle types are one struct in xengnttab.h: mixing them is caught. */
	EXPECT_NULL(xengnttab_map_grant_ref((xengnttab_handle *)shr, 2, 8, PROT_READ), EINVAL);
	EXPECT_NULL(xengntshr_share_pages((xengntshr_handle *)tab, 2, 1, &ref, 1), EINVAL);
	EXPECT_FAIL(xengntshr_close((xengntshr_handle *)tab), EINVAL);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 2, 8, PROT_READ), EBADF);
	EXPECT_FAIL(xengnttab_close(tab), EBADF);
	EXPECT_FAIL(xengnttab_fd(tab), EBADF);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void unshare_wrong_address_or_twice_einval(void)
{
	uint32_t refs[2];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 2, refs, 1);
	EXPECT_FAIL(xengntshr_unshare(shr, own + PAGE, 1), EINVAL);
	EXPECT_FAIL(xengntshr_unshare(shr, own, 1), EINVAL);
	EXPECT_FAIL(xengntshr_unshare(shr, NULL, 2), EINVAL);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 2);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 2), 0);
	EXPECT_FAIL(xengntshr_unshare(shr, own, 2), EINVAL);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void unshared_page_access_is_reported(void)
{
	uint32_t ref;
	char report[512] = "";

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref, 1);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 1), 0);
	struct poke k = {.p = own + 8};
	CU_ASSERT_EQUAL(sim_fault_catch(poke_read, &k, report, sizeof(report)), 1);
	char want[64];
	snprintf(want, sizeof(want), "grant ref %u", ref);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "domain 1"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "read"));
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void dmabuf_calls_enosys(void)
{
	uint32_t ref = 8, fd = 0;

	doms_up();
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_FAIL(xengnttab_dmabuf_exp_from_refs(tab, 1, 0, 1, &ref, &fd), ENOSYS);
	EXPECT_FAIL(xengnttab_dmabuf_exp_wait_released(tab, 3, 10), ENOSYS);
	EXPECT_FAIL(xengnttab_dmabuf_imp_to_refs(tab, 1, 3, 1, &ref), ENOSYS);
	EXPECT_FAIL(xengnttab_dmabuf_imp_release(tab, 3), ENOSYS);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static const struct test_case share_cases[] = {
	TEST(share_pages_peer_sees_same_bytes),
	TEST(share_pages_frames_come_back_zeroed),
	TEST(share_pages_readonly_grant_maps_read_only),
	TEST(share_pages_bad_arguments),
	TEST(share_pages_out_of_memory_all_or_nothing),
	TEST(share_pages_fault_injected_enomem),
	TEST(open_outside_domain_esrch),
	TEST(handle_of_other_domain_eperm),
	TEST(handle_wrong_kind_or_closed),
	TEST(unshare_wrong_address_or_twice_einval),
	TEST(unshared_page_access_is_reported),
	TEST(dmabuf_calls_enosys),
	TEST_END,
};

/* ---- gnttab_map ---- */

static void map_grant_ref_readonly_write_is_reported(void)
{
	char report[512] = "", want[64];
	uint32_t frame;

	doms_up();
	int ref = grant_frame(1, 2, false, &frame);
	CU_ASSERT_FATAL(ref >= (int)GNTTAB_RESERVED_REFS);
	memcpy(sim_frame_hv(1, frame), "granted", 8);
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_STRING_EQUAL((char *)p, "granted");
	struct poke k = {.p = p + 3, .v = 'X'};
	CU_ASSERT_EQUAL(sim_fault_catch(poke_write, &k, report, sizeof(report)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "domain 2"));
	snprintf(want, sizeof(want), "grant ref %d of domain 1", ref);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "write"));
	CU_ASSERT_STRING_EQUAL((char *)sim_frame_hv(1, frame), "granted");
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void map_grant_ref_unmapped_read_is_reported(void)
{
	struct fx f;
	char report[512] = "", want[64];

	fx_up(&f, 1, 1);
	uint8_t *p = xengnttab_map_grant_ref(f.tab, 1, f.refs[0], PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	struct poke k = {.p = p + 100};
	CU_ASSERT_EQUAL(sim_fault_catch(poke_read, &k, report, sizeof(report)), 0);
	CU_ASSERT_EQUAL(xengnttab_unmap(f.tab, p, 1), 0);
	CU_ASSERT_EQUAL(sim_fault_catch(poke_read, &k, report, sizeof(report)), 1);
	snprintf(want, sizeof(want), "grant ref %u of domain 1", f.refs[0]);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, want));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "read"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "mapped by domain 2"));
	fx_down(&f);
}

static void map_grant_ref_bad_domain_esrch(void)
{
	doms_up();
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 77, 8, PROT_READ), ESRCH);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, SIM_DOMID_LIMIT + 5, 8, PROT_READ), ESRCH);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, DOMID_INVALID, 8, PROT_READ), ESRCH);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 77, 8, true), GNTST_bad_domain);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void map_grant_ref_bad_ref_einval(void)
{
	doms_up();
	CU_ASSERT_EQUAL(grant_frame(1, 2, false, NULL), (int)GNTTAB_RESERVED_REFS);
	xengnttab_handle *tab = tab_open_as(2);
	for (uint32_t ref = 0; ref < GNTTAB_RESERVED_REFS; ref++)
		EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, ref, PROT_READ), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, GNTTAB_GRANTS_MAX, PROT_READ), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, 0xFFFFFFFFu, PROT_READ), EINVAL);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, 1, true), GNTST_bad_gntref);
	/* In range but never granted. */
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, GNTTAB_RESERVED_REFS + 1, PROT_READ), EIO);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void map_grant_ref_granted_to_other_domain_eacces(void)
{
	doms_up();
	int ref = grant_frame(1, 0, false, NULL);
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ), EIO);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, (uint32_t)ref, true), GNTST_general_error);
	CU_ASSERT_EQUAL(gnttab_check_map(0, 1, (uint32_t)ref, false), GNTST_okay);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void map_grant_ref_write_on_readonly_grant_eacces(void)
{
	doms_up();
	int ref = grant_frame(1, 2, true, NULL);
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_WRITE), EIO);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ | PROT_WRITE), EIO);
	void *p = xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void map_grant_refs_partial_failure_undone(void)
{
	uint32_t refs[3], domids[3] = {1, 1, 1};

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	share_as(shr, 1, 2, 2, refs, 1);
	refs[2] = 4000;   /* never granted */
	xengnttab_handle *tab = tab_open_as(2);
	uint64_t maps_before = sim_mem_mappings();
	EXPECT_NULL(xengnttab_map_grant_refs(tab, 3, domids, refs, PROT_READ), EIO);
	CU_ASSERT_EQUAL(sim_mem_mappings(), maps_before);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 0);
	gnttab_check();
	EXPECT_NULL(xengnttab_map_grant_refs(tab, 0, domids, refs, PROT_READ), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_refs(tab, 2, NULL, refs, PROT_READ), EINVAL);
	EXPECT_NULL(xengnttab_map_domain_grant_refs(tab, 2, 1, NULL, PROT_READ), EINVAL);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void map_grant_refs_from_two_grantors(void)
{
	uint32_t refs[2], domids[2] = {1, 0};

	doms_up();
	xengntshr_handle *shr1 = shr_open_as(1);
	share_as(shr1, 1, 2, 1, &refs[0], 1);
	xengntshr_handle *shr0 = shr_open_as(0);
	uint8_t *own0 = share_as(shr0, 0, 2, 1, &refs[1], 1);
	own0[0] = 0x55;
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_refs(tab, 2, domids, refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p[0], 0xA0);
	CU_ASSERT_EQUAL(p[PAGE], 0x55);
	CU_ASSERT_EQUAL(stats_of(0).maps_active, 1);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 1);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 2);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 2), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr1), 0);
	as(0);
	CU_ASSERT_EQUAL(xengntshr_close(shr0), 0);
	finish();
}

static void map_grant_ref_domid_self(void)
{
	uint32_t ref;

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 1, 1, &ref, 1);
	xengnttab_handle *tab = tab_open_as(1);
	uint8_t *p = xengnttab_map_grant_ref(tab, DOMID_SELF, ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_NOT_EQUAL(p, own);
	CU_ASSERT_EQUAL(p[0], 0xA0);
	CU_ASSERT_EQUAL(stats_of(1).maptrack_used, 1);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 1);
	/* Closing the mapping handle last is fine too: close unmaps. */
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 1);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	finish();
}

static void unmap_wrong_address_or_twice_einval(void)
{
	struct fx f;

	fx_up(&f, 2, 1);
	uint8_t *p = xengnttab_map_domain_grant_refs(f.tab, 2, 1, f.refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	EXPECT_FAIL(xengnttab_unmap(f.tab, p + PAGE, 1), EINVAL);
	EXPECT_FAIL(xengnttab_unmap(f.tab, p, 1), EINVAL);
	EXPECT_FAIL(xengnttab_unmap(f.tab, NULL, 1), EINVAL);
	xengnttab_handle *other = tab_open_as(2);
	EXPECT_FAIL(xengnttab_unmap(other, p, 2), EINVAL);   /* not its mapping */
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 2);
	CU_ASSERT_EQUAL(xengnttab_unmap(f.tab, p, 2), 0);
	EXPECT_FAIL(xengnttab_unmap(f.tab, p, 2), EINVAL);
	CU_ASSERT_EQUAL(xengnttab_close(other), 0);
	fx_down(&f);
}

static void map_grant_refs_fault_injected_eio(void)
{
	uint32_t refs[3];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	share_as(shr, 1, 2, 3, refs, 1);
	xengnttab_handle *tab = tab_open_as(2);
	struct sim_fault_site *site = sim_fault_site_find("gnttab.map");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 1, 0), 0);   /* the second ref */
	EXPECT_NULL(xengnttab_map_domain_grant_refs(tab, 3, 1, refs, PROT_READ), EIO);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	void *p = xengnttab_map_domain_grant_refs(tab, 3, 1, refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 3);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void end_access_while_mapped_ebusy(void)
{
	uint32_t sref;

	doms_up();
	int ref = grant_frame(1, 2, false, NULL);
	xengnttab_handle *tab = tab_open_as(2);
	void *p = xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), -EBUSY);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), -EBUSY);
	CU_ASSERT_EQUAL(stats_of(1).end_deferred, 2);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 1);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_end_access(1, 3), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_end_access(1, GNTTAB_GRANTS_MAX), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_end_access(77, 8), -ESRCH);
	/* A gntshr page's grant is the share's, not the caller's to end. */
	xengntshr_handle *shr = shr_open_as(1);
	share_as(shr, 1, 2, 1, &sref, 1);
	CU_ASSERT_EQUAL(gnttab_end_access(1, sref), -EPERM);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	as(2);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

static void unshare_while_mapped_defers_end(void)
{
	uint32_t ref;

	doms_up();
	uint32_t free_before = sim_frames_free(1);
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref, 1);
	strcpy((char *)own + 1, "still here");
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_ref(tab, 1, ref, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 1), 0);
	/* The XSA-396 window: the grant and its frame live on while mapped. */
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 1);
	CU_ASSERT_EQUAL(stats_of(1).end_deferred, 1);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before - 1);
	CU_ASSERT_STRING_EQUAL((char *)p + 1, "still here");
	gnttab_check();
	as(2);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void grant_access_bad_arguments(void)
{
	doms_up();
	CU_ASSERT_EQUAL(gnttab_grant_access(77, 2, 0, false), -ESRCH);
	CU_ASSERT_EQUAL(gnttab_grant_access(1, SIM_DOMID_LIMIT, 0, false), -EINVAL);
	CU_ASSERT_EQUAL(gnttab_grant_access(1, 2, sim_frames_total(1), false), -EINVAL);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	struct gnttab_stats s;
	CU_ASSERT_EQUAL(gnttab_stats(SIM_DOMID_LIMIT, &s), -EINVAL);
	finish();
}

static const struct test_case map_cases[] = {
	TEST(map_grant_ref_readonly_write_is_reported),
	TEST(map_grant_ref_unmapped_read_is_reported),
	TEST(map_grant_ref_bad_domain_esrch),
	TEST(map_grant_ref_bad_ref_einval),
	TEST(map_grant_ref_granted_to_other_domain_eacces),
	TEST(map_grant_ref_write_on_readonly_grant_eacces),
	TEST(map_grant_refs_partial_failure_undone),
	TEST(map_grant_refs_from_two_grantors),
	TEST(map_grant_ref_domid_self),
	TEST(unmap_wrong_address_or_twice_einval),
	TEST(map_grant_refs_fault_injected_eio),
	TEST(end_access_while_mapped_ebusy),
	TEST(unshare_while_mapped_defers_end),
	TEST(grant_access_bad_arguments),
	TEST_END,
};

/* ---- gnttab_copy ---- */

static xengnttab_grant_copy_segment_t seg_to_gref(void *src, domid_t d, uint32_t ref,
						  uint16_t off, uint16_t len)
{
	return (xengnttab_grant_copy_segment_t){
		.source.virt = src, .dest.foreign = {.ref = ref, .offset = off, .domid = d},
		.len = len, .flags = GNTCOPY_dest_gref, .status = 99};
}

static xengnttab_grant_copy_segment_t seg_from_gref(domid_t d, uint32_t ref, uint16_t off,
						    void *dst, uint16_t len)
{
	return (xengnttab_grant_copy_segment_t){
		.source.foreign = {.ref = ref, .offset = off, .domid = d}, .dest.virt = dst,
		.len = len, .flags = GNTCOPY_source_gref, .status = 99};
}

static void grant_copy_to_and_from_gref(void)
{
	struct fx f;
	char out[64] = "";

	fx_up(&f, 1, 1);
	xengnttab_grant_copy_segment_t segs[2] = {
		seg_to_gref("copied in", 1, f.refs[0], 100, 10),
		seg_from_gref(1, f.refs[0], 0, out, 1),
	};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 2, segs), 0);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_okay);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_okay);
	CU_ASSERT_STRING_EQUAL((char *)f.own + 100, "copied in");
	CU_ASSERT_EQUAL((uint8_t)out[0], 0xA0);
	segs[0] = seg_from_gref(1, f.refs[0], 100, out, 10);
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 1, segs), 0);
	CU_ASSERT_STRING_EQUAL(out, "copied in");
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);   /* a copy leaves no map behind */
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 0, NULL), 0);
	fx_down(&f);
}

static void grant_copy_gref_to_gref(void)
{
	uint32_t refs[2];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 2, refs, 1);
	strcpy((char *)own + 10, "page zero");
	xengnttab_handle *tab = tab_open_as(2);
	xengnttab_grant_copy_segment_t seg = {
		.source.foreign = {.ref = refs[0], .offset = 10, .domid = 1},
		.dest.foreign = {.ref = refs[1], .offset = 20, .domid = 1},
		.len = 10, .flags = GNTCOPY_source_gref | GNTCOPY_dest_gref};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(tab, 1, &seg), 0);
	CU_ASSERT_EQUAL(seg.status, GNTST_okay);
	CU_ASSERT_STRING_EQUAL((char *)own + PAGE + 20, "page zero");
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void grant_copy_crossing_page_bad_copy_arg(void)
{
	struct fx f;
	uint8_t *buf = calloc(2, PAGE);

	fx_up(&f, 1, 1);
	memset(buf, 'v', 2 * PAGE);
	xengnttab_grant_copy_segment_t segs[3] = {
		seg_to_gref(buf, 1, f.refs[0], PAGE - 100, 200),        /* gref side crosses */
		seg_from_gref(1, f.refs[0], PAGE - 1, buf, 2),          /* gref side crosses */
		seg_to_gref(buf + PAGE - 100, 1, f.refs[0], 0, 200),    /* virt side may cross */
	};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 3, segs), 0);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_bad_copy_arg);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_bad_copy_arg);
	CU_ASSERT_EQUAL(segs[2].status, GNTST_okay);
	CU_ASSERT_EQUAL(f.own[PAGE - 1], 0);      /* the refused copy wrote nothing */
	CU_ASSERT_EQUAL(f.own[0], 'v');
	CU_ASSERT_EQUAL(f.own[199], 'v');
	CU_ASSERT_EQUAL(f.own[200], 0);
	free(buf);
	fx_down(&f);
}

static void grant_copy_into_readonly_grant_denied(void)
{
	struct fx f;
	char out[4] = "";

	fx_up(&f, 1, 0);
	xengnttab_grant_copy_segment_t segs[2] = {
		seg_to_gref("zz", 1, f.refs[0], 0, 2),
		seg_from_gref(1, f.refs[0], 0, out, 1),
	};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 2, segs), 0);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_general_error);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_okay);
	CU_ASSERT_EQUAL(f.own[0], 0xA0);
	CU_ASSERT_EQUAL((uint8_t)out[0], 0xA0);
	fx_down(&f);
}

static void grant_copy_mixed_statuses(void)
{
	uint32_t ref;
	char out[8] = "";

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref, 1);
	int other = grant_frame(1, 0, false, NULL);   /* granted to dom0, not dom2 */
	xengnttab_handle *tab = tab_open_as(2);
	xengnttab_grant_copy_segment_t segs[6] = {
		seg_to_gref("ab", 1, ref, 0, 2),
		seg_to_gref("cd", 1, 5, 0, 2),                   /* reserved ref */
		seg_to_gref("ef", 1, GNTTAB_GRANTS_MAX + 3, 0, 2), /* out of range */
		seg_to_gref("gh", 77, ref, 0, 2),                /* no such domain */
		seg_to_gref("ij", 1, (uint32_t)other, 0, 2),     /* not granted to us */
		seg_from_gref(1, ref, 0, out, 2),
	};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(tab, 6, segs), 0);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_okay);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_bad_gntref);
	CU_ASSERT_EQUAL(segs[2].status, GNTST_bad_gntref);
	CU_ASSERT_EQUAL(segs[3].status, GNTST_bad_domain);
	CU_ASSERT_EQUAL(segs[4].status, GNTST_general_error);
	CU_ASSERT_EQUAL(segs[5].status, GNTST_okay);
	CU_ASSERT_EQUAL(memcmp(own, "ab", 2), 0);
	CU_ASSERT_EQUAL(memcmp(out, "ab", 2), 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)other), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void grant_copy_bad_call_einval(void)
{
	struct fx f;

	fx_up(&f, 1, 1);
	char a[4] = "abc", b[4] = "";
	xengnttab_grant_copy_segment_t segs[2] = {
		seg_to_gref("xy", 1, f.refs[0], 0, 2),
		{.source.virt = a, .dest.virt = b, .len = 3, .flags = 0, .status = 99},
	};
	/* A local-to-local segment makes the call bad: nothing is copied. */
	EXPECT_FAIL(xengnttab_grant_copy(f.tab, 2, segs), EINVAL);
	CU_ASSERT_EQUAL(segs[0].status, 99);
	CU_ASSERT_EQUAL(f.own[0], 0xA0);
	segs[1].flags = GNTCOPY_dest_gref | 0x40;
	EXPECT_FAIL(xengnttab_grant_copy(f.tab, 2, segs), EINVAL);
	EXPECT_FAIL(xengnttab_grant_copy(f.tab, 2, NULL), EINVAL);
	fx_down(&f);
}

static void grant_copy_fault_injected_general_error(void)
{
	struct fx f;

	fx_up(&f, 1, 1);
	struct sim_fault_site *site = sim_fault_site_find("gnttab.copy");
	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	xengnttab_grant_copy_segment_t segs[2] = {
		seg_to_gref("p", 1, f.refs[0], 0, 1),
		seg_to_gref("q", 1, f.refs[0], 1, 1),
	};
	CU_ASSERT_EQUAL(xengnttab_grant_copy(f.tab, 2, segs), 0);
	CU_ASSERT_EQUAL(segs[0].status, GNTST_general_error);
	CU_ASSERT_EQUAL(segs[1].status, GNTST_okay);
	CU_ASSERT_EQUAL(f.own[0], 0xA0);
	CU_ASSERT_EQUAL(f.own[1], 'q');
	fx_down(&f);
}

static const struct test_case copy_cases[] = {
	TEST(grant_copy_to_and_from_gref),
	TEST(grant_copy_gref_to_gref),
	TEST(grant_copy_crossing_page_bad_copy_arg),
	TEST(grant_copy_into_readonly_grant_denied),
	TEST(grant_copy_mixed_statuses),
	TEST(grant_copy_bad_call_einval),
	TEST(grant_copy_fault_injected_general_error),
	TEST_END,
};

/* ---- gnttab_notify ---- */

/* dom1 shares a page (byte 10 set to 1) with dom2, which maps it with an
 * unmap notification on byte 10 and the channel's dom2 end. */
struct notify_fixture {
	struct chan c;
	xengntshr_handle *shr;
	xengnttab_handle *tab;
	uint8_t *own, *peer;
	uint32_t ref;
};

static void notify_fixture_up(struct notify_fixture *f)
{
	doms_up();
	chan_up(&f->c, 1, 2);
	f->shr = shr_open_as(1);
	f->own = share_as(f->shr, 1, 2, 1, &f->ref, 1);
	f->own[10] = 1;
	f->tab = tab_open_as(2);
	f->peer = xengnttab_map_grant_ref_notify(f->tab, 1, f->ref, PROT_READ | PROT_WRITE, 10,
						 f->c.pb);
	CU_ASSERT_PTR_NOT_NULL_FATAL(f->peer);
	CU_ASSERT_EQUAL(f->peer[10], 1);
}

static void notify_fixture_down(struct notify_fixture *f)
{
	CU_ASSERT_EQUAL(xengnttab_close(f->tab), 0);
	CU_ASSERT_EQUAL(xengntshr_close(f->shr), 0);
	chan_down(&f->c);
	finish();
}

static void map_notify_on_unmap(void)
{
	struct notify_fixture f;

	notify_fixture_up(&f);
	as(1);
	CU_ASSERT_EQUAL(pending_now(f.c.a), -1);
	as(2);
	CU_ASSERT_EQUAL(xengnttab_unmap(f.tab, f.peer, 1), 0);
	CU_ASSERT_EQUAL(f.own[10], 0);
	CU_ASSERT_EQUAL(f.own[11], 0);
	CU_ASSERT_EQUAL(f.own[0], 0xA0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(f.c.a), (int)f.c.pa);
	notify_fixture_down(&f);
}

static void map_notify_on_close(void)
{
	struct notify_fixture f;

	notify_fixture_up(&f);
	as(2);
	CU_ASSERT_EQUAL(xengnttab_close(f.tab), 0);
	f.tab = NULL;
	CU_ASSERT_EQUAL(f.own[10], 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(f.c.a), (int)f.c.pa);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	notify_fixture_down(&f);
}

static void map_notify_on_mapper_destroy(void)
{
	struct notify_fixture f;

	notify_fixture_up(&f);
	CU_ASSERT_EQUAL(sim_domain_destroy(2), 0);
	CU_ASSERT_EQUAL(f.own[10], 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(f.c.a), (int)f.c.pa);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 0);
	/* The dead domain's handle fails until closed; close works from anywhere. */
	EXPECT_NULL(xengnttab_map_grant_ref(f.tab, 1, f.ref, PROT_READ), ESRCH);
	gnttab_check();
	notify_fixture_down(&f);
}

static void map_notify_bad_arguments_einval(void)
{
	struct chan c;
	uint32_t ref;

	doms_up();
	chan_up(&c, 1, 2);
	xengntshr_handle *shr = shr_open_as(1);
	share_as(shr, 1, 2, 1, &ref, 1);
	xengnttab_handle *tab = tab_open_as(2);
	int rw = PROT_READ | PROT_WRITE;
	EXPECT_NULL(xengnttab_map_grant_ref_notify(tab, 1, ref, rw, PAGE, c.pb), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_ref_notify(tab, 1, ref, PROT_READ, 10, NOTIFY_NONE), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_ref_notify(tab, 1, ref, rw, 10, c.pb + 100), EINVAL);
	EXPECT_NULL(xengnttab_map_grant_ref_notify(tab, 1, ref, rw, NOTIFY_NONE, 0), EINVAL);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	/* Event only, on a read-only map: fine. */
	void *p = xengnttab_map_grant_ref_notify(tab, 1, ref, PROT_READ, NOTIFY_NONE, c.pb);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(c.a), (int)c.pa);
	as(2);
	p = xengnttab_map_grant_ref_notify(tab, 1, ref, rw, NOTIFY_NONE, NOTIFY_NONE);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(c.a), -1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	as(2);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	chan_down(&c);
	finish();
}

/* dom1 shares with notify (byte 5, its channel end); dom2 maps read-only. */
static void share_notify_on_unshare_while_mapped(void)
{
	struct chan c;
	uint32_t ref;

	doms_up();
	chan_up(&c, 1, 2);
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = xengntshr_share_page_notify(shr, 2, &ref, 0, 5, c.pa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	own[5] = 7;
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_ref(tab, 1, ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(p[5], 7);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 1), 0);
	CU_ASSERT_EQUAL(p[5], 0);   /* the peer sees the cleared byte */
	as(2);
	CU_ASSERT_EQUAL(pending_now(c.b), (int)c.pb);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 1);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	chan_down(&c);
	finish();
}

static void share_notify_on_close(void)
{
	struct chan c;
	uint32_t ref;

	doms_up();
	chan_up(&c, 1, 2);
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = xengntshr_share_page_notify(shr, 2, &ref, 1, 0, c.pa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	own[0] = 1;
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_ref(tab, 1, ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(p[0], 0);
	as(2);
	CU_ASSERT_EQUAL(pending_now(c.b), (int)c.pb);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	chan_down(&c);
	finish();
}

static const struct test_case notify_cases[] = {
	TEST(map_notify_on_unmap),
	TEST(map_notify_on_close),
	TEST(map_notify_on_mapper_destroy),
	TEST(map_notify_bad_arguments_einval),
	TEST(share_notify_on_unshare_while_mapped),
	TEST(share_notify_on_close),
	TEST_END,
};

/* ---- gnttab_teardown ---- */

/* The grantor dies (destroy or crash) while dom2 maps its page: the map stays
 * readable, new maps and copies fail bad_domain, the notify went out. */
static void grantor_death_keeps_maps(bool crash)
{
	struct chan c;
	uint32_t ref[2];
	char out[4];

	doms_up();
	chan_up(&c, 1, 2);
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = xengntshr_share_page_notify(shr, 2, &ref[0], 1, 9, c.pa);
	CU_ASSERT_PTR_NOT_NULL_FATAL(own);
	strcpy((char *)own, "legacy!!!x");
	uint8_t *own2 = share_as(shr, 1, 2, 1, &ref[1], 1);
	(void)own2;
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p = xengnttab_map_grant_ref(tab, 1, ref[0], PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);

	CU_ASSERT_EQUAL(crash ? sim_domain_crash(1) : sim_domain_destroy(1), 0);
	as(2);
	CU_ASSERT_EQUAL(memcmp(p, "legacy!!!", 9), 0);
	CU_ASSERT_EQUAL(p[9], 0);              /* the share's notify byte */
	CU_ASSERT_EQUAL(pending_now(c.b), (int)c.pb);
	p[0] = 'L';                            /* still writable memory */
	CU_ASSERT_EQUAL(p[0], 'L');
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, ref[0], PROT_READ), ESRCH);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, ref[1], PROT_READ), ESRCH);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, ref[0], true), GNTST_bad_domain);
	xengnttab_grant_copy_segment_t seg = seg_from_gref(1, ref[0], 0, out, 1);
	CU_ASSERT_EQUAL(xengnttab_grant_copy(tab, 1, &seg), 0);
	CU_ASSERT_EQUAL(seg.status, GNTST_bad_domain);
	/* Only the mapped grant lingers. */
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 1);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 1);
	gnttab_check();
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 1, ref, 1), ESRCH);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	CU_ASSERT_TRUE(stats_zero(1));
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	chan_down(&c);
	finish();
}

static void domain_destroy_grantor_while_mapped(void)
{
	grantor_death_keeps_maps(false);
}

static void domain_crash_grantor_while_mapped(void)
{
	grantor_death_keeps_maps(true);
}

static void domain_destroy_mapper_unmaps_all(void)
{
	uint32_t refs[3];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 3, refs, 1);
	int lref = grant_frame(1, 2, false, NULL);
	xengnttab_handle *tab = tab_open_as(2);
	xengnttab_handle *tab2 = tab_open_as(2);
	uint8_t *p = xengnttab_map_domain_grant_refs(tab, 3, 1, refs, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_PTR_NOT_NULL(xengnttab_map_grant_ref(tab2, 1, (uint32_t)lref, PROT_READ));
	xengntshr_handle *shr2 = shr_open_as(2);
	uint32_t ref2;
	share_as(shr2, 2, 1, 1, &ref2, 1);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 4);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)lref), -EBUSY);

	CU_ASSERT_EQUAL(sim_domain_destroy(2), 0);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_TRUE(stats_zero(2));
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)lref), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_unshare(shr, own, 3), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	/* Dead handles: every call but close fails ESRCH. */
	EXPECT_FAIL(xengnttab_unmap(tab, p, 3), ESRCH);
	EXPECT_FAIL(xengnttab_set_max_grants(tab2, 1), ESRCH);
	EXPECT_NULL(xengntshr_share_pages(shr2, 1, 1, &ref2, 1), ESRCH);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 4);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab2), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr2), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

/* A new domain with the same id gets a fresh table; the old incarnation's
 * mapped grant lives on (a zombie table) until unmapped. */
static void domain_id_reuse_while_mapped(void)
{
	uint32_t ref_old, ref_new;

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	uint8_t *own = share_as(shr, 1, 2, 1, &ref_old, 1);
	strcpy((char *)own + 1, "old");
	xengnttab_handle *tab = tab_open_as(2);
	uint8_t *p_old = xengnttab_map_grant_ref(tab, 1, ref_old, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p_old);
	CU_ASSERT_EQUAL(sim_domain_destroy(1), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(make_domain("guest1-again", 1, 0), 1);
	CU_ASSERT_TRUE(stats_zero(1));
	shr = shr_open_as(1);
	own = share_as(shr, 1, 2, 1, &ref_new, 1);
	CU_ASSERT_EQUAL(ref_new, ref_old);
	strcpy((char *)own + 1, "new");
	gnttab_check();
	as(2);
	uint8_t *p_new = xengnttab_map_grant_ref(tab, 1, ref_new, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p_new);
	CU_ASSERT_STRING_EQUAL((char *)p_new + 1, "new");
	CU_ASSERT_STRING_EQUAL((char *)p_old + 1, "old");
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 1);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p_old, 1), 0);
	gnttab_check();
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 1);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p_new, 1), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static const struct test_case teardown_cases[] = {
	TEST(domain_destroy_grantor_while_mapped),
	TEST(domain_crash_grantor_while_mapped),
	TEST(domain_destroy_mapper_unmaps_all),
	TEST(domain_id_reuse_while_mapped),
	TEST_END,
};

/* ---- gnttab_limits ---- */

static void set_max_grants_caps_the_handle(void)
{
	uint32_t refs[5];
	void *p[5];

	doms_up();
	xengntshr_handle *shr = shr_open_as(1);
	share_as(shr, 1, 2, 5, refs, 1);
	xengnttab_handle *tab = tab_open_as(2);
	CU_ASSERT_EQUAL(xengnttab_set_max_grants(tab, 4), 0);
	CU_ASSERT_EQUAL(xengnttab_set_max_grants(tab, 4), 0);   /* still before any map */
	p[0] = xengnttab_map_domain_grant_refs(tab, 3, 1, refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p[0]);
	EXPECT_NULL(xengnttab_map_domain_grant_refs(tab, 2, 1, refs + 3, PROT_READ), ENOSPC);
	p[1] = xengnttab_map_grant_ref(tab, 1, refs[3], PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(p[1]);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, refs[4], PROT_READ), ENOSPC);
	/* Another handle of the domain has its own cap. */
	xengnttab_handle *tab2 = tab_open_as(2);
	p[2] = xengnttab_map_grant_ref(tab2, 1, refs[4], PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(p[2]);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p[1], 1), 0);
	p[1] = xengnttab_map_grant_ref(tab, 1, refs[4], PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(p[1]);
	EXPECT_FAIL(xengnttab_set_max_grants(tab, 100), EINVAL);   /* too late */
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, 5);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab2), 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static void set_max_grants_after_failed_map_einval(void)
{
	doms_up();
	xengnttab_handle *tab = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_grant_ref(tab, 1, 8, PROT_READ), EIO);
	EXPECT_FAIL(xengnttab_set_max_grants(tab, 1), EINVAL);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	finish();
}

/* The domain's maptrack bound holds across handles, at and past the bound. */
static void maptrack_domain_limit_enospc(void)
{
	const uint32_t first = 10000, second = GNTTAB_MAPTRACK_MAX - first;
	uint32_t *refs = malloc(GNTTAB_MAPTRACK_MAX * sizeof(*refs));

	doms_up();
	int ref = grant_frame(1, 2, true, NULL);
	for (uint32_t i = 0; i < GNTTAB_MAPTRACK_MAX; i++)
		refs[i] = (uint32_t)ref;
	xengnttab_handle *a = tab_open_as(2), *b = tab_open_as(2);
	EXPECT_NULL(xengnttab_map_domain_grant_refs(a, GNTTAB_MAPTRACK_MAX + 1, 1, refs, PROT_READ),
		    ENOSPC);
	void *pa = xengnttab_map_domain_grant_refs(a, first, 1, refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pa);
	void *pb = xengnttab_map_domain_grant_refs(b, second, 1, refs, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pb);
	CU_ASSERT_EQUAL(stats_of(2).maptrack_used, GNTTAB_MAPTRACK_MAX);
	CU_ASSERT_EQUAL(gnttab_check_map(2, 1, (uint32_t)ref, true), GNTST_no_device_space);
	EXPECT_NULL(xengnttab_map_grant_ref(b, 1, (uint32_t)ref, PROT_READ), ENOSPC);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, GNTTAB_MAPTRACK_MAX);
	gnttab_check();
	CU_ASSERT_EQUAL(xengnttab_unmap(a, pa, first), 0);
	void *pc = xengnttab_map_grant_ref(b, 1, (uint32_t)ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL(pc);
	CU_ASSERT_EQUAL(xengnttab_close(a), 0);
	CU_ASSERT_EQUAL(xengnttab_close(b), 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), 0);
	free(refs);
	finish();
}

static void grant_table_full_enospc(void)
{
	uint32_t ref;

	doms_up();
	for (uint32_t i = 0; i < GNTTAB_GRANTS_MAX - GNTTAB_RESERVED_REFS; i++)
		CU_ASSERT_EQUAL_FATAL(gnttab_grant_access(1, 2, 0, true), (int)(GNTTAB_RESERVED_REFS + i));
	CU_ASSERT_EQUAL(gnttab_grant_access(1, 2, 0, true), -ENOSPC);
	xengntshr_handle *shr = shr_open_as(1);
	uint32_t free_before = sim_frames_free(1);
	EXPECT_NULL(xengntshr_share_pages(shr, 2, 1, &ref, 1), ENOSPC);
	CU_ASSERT_EQUAL(sim_frames_free(1), free_before);
	CU_ASSERT_EQUAL(gnttab_end_access(1, 100), 0);
	void *p = xengntshr_share_pages(shr, 2, 1, &ref, 1);
	CU_ASSERT_PTR_NOT_NULL(p);
	CU_ASSERT_EQUAL(ref, 100);   /* the freed ref is reused */
	gnttab_check();
	for (uint32_t r = GNTTAB_RESERVED_REFS; r < GNTTAB_GRANTS_MAX; r++)
		if (r != 100)
			CU_ASSERT_EQUAL(gnttab_end_access(1, r), 0);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	CU_ASSERT_EQUAL(stats_of(1).grants_active, 0);
	finish();
}

static const struct test_case limits_cases[] = {
	TEST(set_max_grants_caps_the_handle),
	TEST(set_max_grants_after_failed_map_einval),
	TEST(maptrack_domain_limit_enospc),
	TEST(grant_table_full_enospc),
	TEST_END,
};

/* ---- gnttab_threads ---- */

#define THREAD_ROUNDS 300
#define THREAD_PAGES 8

struct mapper_arg {
	domid_t self, peer;
	uint32_t refs[THREAD_PAGES];
	bool touch;               /* read through the map (not if we may die) */
	atomic_bool started;      /* a first map worked */
	/* Results, read by the main thread after join. */
	unsigned maps_ok, map_errors, unmap_errors, copy_errors, bad_bytes;
	int last_errno;
};

/* Map one page of the peer, check its first byte, copy it, unmap. */
static void *mapper_thread(void *arg)
{
	struct mapper_arg *m = arg;
	uint8_t b;

	if (sim_thread_enter(m->self) < 0)
		return NULL;
	xengnttab_handle *tab = xengnttab_open(NULL, 0);
	for (unsigned i = 0; tab && i < THREAD_ROUNDS; i++) {
		unsigned k = i % THREAD_PAGES;
		uint8_t want = (uint8_t)(0xA0 + k);
		uint8_t *p = xengnttab_map_grant_ref(tab, m->peer, m->refs[k], PROT_READ);
		if (!p) {
			m->map_errors++;
			m->last_errno = errno;
			continue;
		}
		m->maps_ok++;
		atomic_store(&m->started, true);
		if (m->touch)
			m->bad_bytes += p[0] != want;
		xengnttab_grant_copy_segment_t seg = seg_from_gref(m->peer, m->refs[k], 0, &b, 1);
		if (xengnttab_grant_copy(tab, 1, &seg) < 0 || seg.status != GNTST_okay)
			m->copy_errors++;
		else
			m->bad_bytes += b != want;
		if (xengnttab_unmap(tab, p, 1) < 0)
			m->unmap_errors++;
	}
	xengnttab_close(tab);
	sim_thread_leave();
	return NULL;
}

/* Bounded wait for a mapper thread's first map. */
static void wait_started(struct mapper_arg *m)
{
	for (unsigned i = 0; i < 10000000 && !atomic_load(&m->started); i++)
		sched_yield();
	CU_ASSERT_TRUE(atomic_load(&m->started));
}

static void *checker_thread(void *arg)
{
	atomic_bool *stop = arg;

	while (!atomic_load(stop))
		gnttab_check();
	return NULL;
}

static void two_domains_map_unmap_concurrently(void)
{
	struct mapper_arg args[2] = {{.self = 1, .peer = 2, .touch = true},
				     {.self = 2, .peer = 1, .touch = true}};
	xengntshr_handle *shr[2];
	pthread_t th[3];
	atomic_bool stop = false;

	doms_up();
	shr[0] = shr_open_as(1);
	share_as(shr[0], 1, 2, THREAD_PAGES, args[1].refs, 0);
	shr[1] = shr_open_as(2);
	share_as(shr[1], 2, 1, THREAD_PAGES, args[0].refs, 0);
	sim_thread_leave();
	for (int i = 0; i < 2; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, mapper_thread, &args[i]), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th[2], NULL, checker_thread, &stop), 0);
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop, true);
	pthread_join(th[2], NULL);
	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(args[i].maps_ok, THREAD_ROUNDS);
		CU_ASSERT_EQUAL(args[i].map_errors + args[i].unmap_errors + args[i].copy_errors, 0);
		CU_ASSERT_EQUAL(args[i].bad_bytes, 0);
	}
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(stats_of(2).maps_active, 0);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr[0]), 0);
	as(2);
	CU_ASSERT_EQUAL(xengntshr_close(shr[1]), 0);
	finish();
}

/* The grantor dies while a mapper thread maps and unmaps its pages: maps
 * start failing ESRCH, nothing breaks, nothing leaks. */
static void grantor_destroyed_during_mapping(void)
{
	struct mapper_arg arg = {.self = 2, .peer = 1, .touch = true};
	xengntshr_handle *shr;
	pthread_t th;

	doms_up();
	shr = shr_open_as(1);
	share_as(shr, 1, 2, THREAD_PAGES, arg.refs, 0);
	sim_thread_leave();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, mapper_thread, &arg), 0);
	wait_started(&arg);
	CU_ASSERT_EQUAL(sim_domain_destroy(1), 0);
	pthread_join(th, NULL);
	/* Maps made before the death stay readable; later ones fail. */
	CU_ASSERT_EQUAL(arg.bad_bytes, 0);
	CU_ASSERT_EQUAL(arg.unmap_errors, 0);
	CU_ASSERT_EQUAL(arg.maps_ok + arg.map_errors, THREAD_ROUNDS);
	if (arg.map_errors)
		CU_ASSERT_EQUAL(arg.last_errno, ESRCH);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

/* The mapper dies under its own running thread: its calls turn to ESRCH. */
static void mapper_destroyed_during_mapping(void)
{
	struct mapper_arg arg = {.self = 2, .peer = 1, .touch = false};
	xengntshr_handle *shr;
	pthread_t th;

	doms_up();
	shr = shr_open_as(1);
	share_as(shr, 1, 2, THREAD_PAGES, arg.refs, 0);
	sim_thread_leave();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, mapper_thread, &arg), 0);
	wait_started(&arg);
	CU_ASSERT_EQUAL(sim_domain_destroy(2), 0);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(arg.bad_bytes, 0);
	CU_ASSERT_EQUAL(arg.maps_ok + arg.map_errors, THREAD_ROUNDS);
	if (arg.map_errors)
		CU_ASSERT_EQUAL(arg.last_errno, ESRCH);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	gnttab_check();
	as(1);
	CU_ASSERT_EQUAL(xengntshr_close(shr), 0);
	finish();
}

static const struct test_case threads_cases[] = {
	TEST(two_domains_map_unmap_concurrently),
	TEST(grantor_destroyed_during_mapping),
	TEST(mapper_destroyed_during_mapping),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("gnttab_share", NULL, suite_fini, share_cases);
	test_add_suite("gnttab_map", NULL, suite_fini, map_cases);
	test_add_suite("gnttab_copy", NULL, suite_fini, copy_cases);
	test_add_suite("gnttab_notify", NULL, suite_fini, notify_cases);
	test_add_suite("gnttab_teardown", NULL, suite_fini, teardown_cases);
	test_add_suite("gnttab_limits", NULL, suite_fini, limits_cases);
	test_add_suite("gnttab_threads", NULL, suite_fini, threads_cases);
}
