/* CUnit suites for sim/gnttab, continued: unmap-notify (a byte cleared and an
 * event sent when a mapping goes), teardown (a domain destroyed or crashed
 * with its grants mapped or mapping others'), the limits (grant table and
 * maptrack sizes), and the threaded suite (plain threads that entered a
 * domain, mapping while the other side goes). Every test ends in finish(). */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#include "tests/gnttab_fixture.h"

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
	test_add_suite("gnttab_notify", NULL, suite_fini, notify_cases);
	test_add_suite("gnttab_teardown", NULL, suite_fini, teardown_cases);
	test_add_suite("gnttab_limits", NULL, suite_fini, limits_cases);
	test_add_suite("gnttab_threads", NULL, suite_fini, threads_cases);
}
