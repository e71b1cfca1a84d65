/* CUnit suites for sim/gnttab: the libxengnttab API (xengnttab_* and
 * xengntshr_*) as in-process domains see it, and the sim-side view
 * (gnttab.h): sharing, mapping, grant copy. The test thread acts for a
 * domain with sim_thread_enter(). Unmap-notify, teardown, limits and the
 * threaded suite are in gnttab_notify_test.c. Every test ends in finish(). */
#include "tests/gnttab_fixture.h"

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

/* Enough mappings on one handle that its index is rebuilt several times,
 * unmapped in an order unlike the order they were made. */
static void unmap_many_in_any_order(void)
{
	enum { MAPS = 40, STRIDE = 7 };   /* STRIDE and MAPS coprime: each once */
	uint8_t *p[MAPS];
	struct fx f;

	fx_up(&f, 8, 1);
	for (unsigned i = 0; i < MAPS; i++) {
		p[i] = xengnttab_map_grant_ref(f.tab, 1, f.refs[i % 8], PROT_READ);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p[i]);
	}
	CU_ASSERT_EQUAL(stats_of(1).maps_active, MAPS);
	gnttab_check();
	for (unsigned i = 0; i < MAPS; i++) {
		unsigned k = i * STRIDE % MAPS;
		CU_ASSERT_EQUAL(p[k][0], 0xA0 + k % 8);
		CU_ASSERT_EQUAL(xengnttab_unmap(f.tab, p[k], 1), 0);
		EXPECT_FAIL(xengnttab_unmap(f.tab, p[k], 1), EINVAL);
	}
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	gnttab_check();
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

/* A live mapper's close with a page still mapped: released here, counted at
 * the grantor (maps_closed) and at the mapper (closed_mapped), since on Xen
 * the mapping would outlive the close. An unmap before the close counts
 * nothing. */
static void close_with_live_map_is_counted(void)
{
	doms_up();
	int ref = grant_frame(1, 2, false, NULL);
	xengnttab_handle *tab = tab_open_as(2);
	void *p = xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(xengnttab_unmap(tab, p, 1), 0);
	p = xengnttab_map_grant_ref(tab, 1, (uint32_t)ref, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(stats_of(1).maps_closed, 0);
	CU_ASSERT_EQUAL(stats_of(2).closed_mapped, 0);
	CU_ASSERT_EQUAL(xengnttab_close(tab), 0);
	CU_ASSERT_EQUAL(stats_of(1).maps_closed, 1);
	CU_ASSERT_EQUAL(stats_of(2).closed_mapped, 1);
	CU_ASSERT_EQUAL(stats_of(1).closed_mapped, 0);
	CU_ASSERT_EQUAL(stats_of(1).maps_active, 0);
	CU_ASSERT_EQUAL(gnttab_end_access(1, (uint32_t)ref), 0);
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
	TEST(unmap_many_in_any_order),
	TEST(map_grant_refs_fault_injected_eio),
	TEST(end_access_while_mapped_ebusy),
	TEST(close_with_live_map_is_counted),
	TEST(unshare_while_mapped_defers_end),
	TEST(grant_access_bad_arguments),
	TEST_END,
};

/* ---- gnttab_copy ---- */

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

void test_register(void)
{
	test_add_suite("gnttab_share", NULL, suite_fini, share_cases);
	test_add_suite("gnttab_map", NULL, suite_fini, map_cases);
	test_add_suite("gnttab_copy", NULL, suite_fini, copy_cases);
}
