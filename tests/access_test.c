/* CUnit suites for sim/access and the reserved mapping range of
 * sim/hypervisor/memory.c: the range compare, what an address says about its
 * grant, the double-fetch window, the attack-surface report. The calls the
 * instrumented drivers make go through sim_access_hit() (the __asan_* entry
 * points are built in build-access/ only); code locations are given as
 * addresses of functions of this file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "sim/access/access.h"
#include "tests/sim_fixture.h"

static uint8_t *ring;               /* dom0's mapping of guest1's page, ref 8 */
static struct sim_page_desc ring_pd;

static void loc_first(void)
{
}

static void loc_again(void)
{
}

#define PC_FIRST ((const void *)((uintptr_t)loc_first + 1))
#define PC_AGAIN ((const void *)((uintptr_t)loc_again + 1))

static void map_ring(void)
{
	doms_up();
	ring_pd = (struct sim_page_desc){.grantor = 1, .ref = 8};
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(1, &ring_pd.frame), 0);
	ring = sim_mem_map(0, SIM_MAP_GRANT, 1, &ring_pd, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(ring);
	sim_access_configure(NULL);
	as(0);
}

static void unmap_ring(void)
{
	sim_thread_leave();
	CU_ASSERT_EQUAL(sim_mem_unmap(ring, 1), 0);
	sim_reset();
}

/* ---- the reserved range ---- */

static void range_holds_every_mapping(void)
{
	map_ring();
	uint8_t *heap = malloc(64);
	CU_ASSERT_TRUE(sim_mem_in_range(ring));
	CU_ASSERT_TRUE(sim_mem_in_range(ring + SIM_PAGE_SIZE - 1));
	CU_ASSERT_FALSE(sim_mem_in_range(heap));
	CU_ASSERT_FALSE(sim_mem_in_range(&ring_pd));
	CU_ASSERT_TRUE(sim_map_len >= SIM_MAP_RANGE_BYTES_MIN);
	free(heap);
	unmap_ring();
}

static void where_names_grant_and_offset(void)
{
	struct sim_mem_where w;

	map_ring();
	CU_ASSERT_TRUE_FATAL(sim_mem_where(ring + 0x58, &w));
	CU_ASSERT_EQUAL(w.mapper, 0);
	CU_ASSERT_EQUAL(w.kind, SIM_MAP_GRANT);
	CU_ASSERT_EQUAL(w.page.grantor, 1);
	CU_ASSERT_EQUAL(w.page.ref, 8);
	CU_ASSERT_EQUAL(w.page.frame, ring_pd.frame);
	CU_ASSERT_EQUAL(w.offset, 0x58);
	CU_ASSERT_PTR_EQUAL(w.base, ring);
	sim_thread_leave();
	CU_ASSERT_EQUAL(sim_mem_unmap(ring, 1), 0);
	CU_ASSERT_TRUE(sim_mem_in_range(ring));            /* quarantined, still reserved */
	CU_ASSERT_FALSE(sim_mem_where(ring + 0x58, &w));   /* but no live mapping */
	sim_reset();
}

/* Ranges come back from quarantine and are used again: no leak of the
 * reservation over many map/unmap cycles. */
static void range_reused_after_quarantine(void)
{
	doms_up();
	struct sim_page_desc pd = {.grantor = 1, .ref = 3};
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(1, &pd.frame), 0);
	uint8_t *first = sim_mem_map(0, SIM_MAP_GRANT, 1, &pd, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(first);
	CU_ASSERT_EQUAL(sim_mem_unmap(first, 1), 0);
	sim_reset();   /* flushes the quarantine */
	doms_up();
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(1, &pd.frame), 0);
	uint8_t *again = sim_mem_map(0, SIM_MAP_GRANT, 1, &pd, PROT_READ);
	CU_ASSERT_PTR_EQUAL(again, first);
	CU_ASSERT_EQUAL(sim_mem_unmap(again, 1), 0);
	sim_reset();
}

/* ---- the double-fetch window ---- */

static void detect_same_bytes_read_twice(void)
{
	char text[512];

	map_ring();
	sim_access_hit(ring + 0x40, 112, false, PC_FIRST);   /* the copy of a request */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	sim_access_hit(ring + 0x58, 2, false, PC_AGAIN);     /* a field of it, again */
	CU_ASSERT_EQUAL(sim_access_findings(), 1);
	sim_access_hit(ring + 0x58, 2, false, PC_AGAIN);     /* the same pair: one finding */
	CU_ASSERT_EQUAL(sim_access_findings(), 1);
	CU_ASSERT_EQUAL(sim_access_finding_text(0, text, sizeof(text)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "domain 0 read grant ref 8 of domain 1 offset 0x58 (2 bytes)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "loc_first"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "loc_again"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "tests/access_test.c:"));
	CU_ASSERT_EQUAL(sim_access_finding_text(1, text, sizeof(text)), -ENOENT);
	sim_access_configure(NULL);                          /* a new run forgets */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	unmap_ring();
}

static void detect_ring_indices_reread_freely(void)
{
	map_ring();
	for (int i = 0; i < 3; i++)
		for (uint32_t off = 0; off < 16; off += 4)
			sim_access_hit(ring + off, 4, false, PC_FIRST);
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	CU_ASSERT_EQUAL(sim_access_reads(), 12);
	unmap_ring();
}

static void detect_window_ends_at_push(void)
{
	map_ring();
	sim_access_hit(ring + 0x40, 8, false, PC_FIRST);
	sim_access_hit(ring + 8, 4, true, PC_FIRST);          /* rsp_prod pushed */
	sim_access_hit(ring + 0x40, 8, false, PC_AGAIN);      /* the slot's next use */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	sim_access_hit(ring + 4, 4, true, PC_FIRST);          /* req_event: no push */
	sim_access_hit(ring + 0x40, 8, false, PC_AGAIN);
	CU_ASSERT_EQUAL(sim_access_findings(), 1);
	unmap_ring();
}

static void detect_own_write_read_back(void)
{
	map_ring();
	sim_access_hit(ring + 0x80, 4, false, PC_FIRST);
	sim_access_hit(ring + 0x80, 4, true, PC_FIRST);       /* the domain's own value */
	sim_access_hit(ring + 0x80, 4, false, PC_AGAIN);
	sim_access_hit(ring + 0x84, 4, false, PC_AGAIN);      /* other bytes */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	CU_ASSERT_EQUAL(sim_access_writes(), 1);
	unmap_ring();
}

static void detect_ignores_private_memory(void)
{
	uint8_t priv[64];

	map_ring();
	sim_access_hit(priv, 8, false, PC_FIRST);
	sim_access_hit(priv, 8, false, PC_AGAIN);
	CU_ASSERT_EQUAL(sim_access_reads(), 0);
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	unmap_ring();
}

/* The memcpy family: a copy the compiler checked already is one read. */
static void memcpy_after_check_counts_once(void)
{
	uint8_t buf[32];

	map_ring();
	sim_access_hit(ring + 0x100, 32, false, PC_FIRST);   /* __asan_loadN of the copy */
	sim_access_memcpy(buf, ring + 0x100, 32);             /* then the call itself */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	CU_ASSERT_EQUAL(sim_access_reads(), 1);
	sim_access_memcpy(buf, ring + 0x100, 32);             /* a second, real fetch */
	CU_ASSERT_EQUAL(sim_access_findings(), 1);
	unmap_ring();
}

/* ---- the attack surface ---- */

static void report_lists_code_locations(void)
{
	char path[] = "/tmp/xensim-access-test.XXXXXX", line[512];
	int seen_first = 0, seen_again = 0;

	map_ring();
	sim_access_hit(ring + 0x40, 8, false, PC_FIRST);
	sim_access_hit(ring + 0x48, 4, true, PC_AGAIN);
	sim_access_hit(ring + 0x48, 4, true, PC_AGAIN);
	int fd = mkstemp(path);
	CU_ASSERT_TRUE_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(sim_access_report_write(path), 0);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f)) {
		seen_first += strstr(line, "loc_first tests/access_test.c:") && strstr(line, " 1      0  8");
		seen_again += strstr(line, "loc_again tests/access_test.c:") && strstr(line, " 0      2  4");
	}
	if (f)
		fclose(f);
	unlink(path);
	CU_ASSERT_EQUAL(seen_first, 1);
	CU_ASSERT_EQUAL(seen_again, 1);
	CU_ASSERT_EQUAL(sim_access_report_write("/nonexistent-dir/x.txt"), -ENOENT);
	unmap_ring();
}

/* ---- the index jump ---- */

static volatile uint32_t *req_prod(void)
{
	return (volatile uint32_t *)ring;
}

/* dom0 as a backend: it pushed rsp_prod and armed req_event, so req_prod is
 * the index it consumes. The jump is the first re-reading location's first
 * re-read. */
static void jump_backend_ready(uint32_t prod)
{
	map_ring();
	sim_access_configure(&(struct sim_access_config){.jump = 1});
	sim_access_hit(ring + 4, 4, true, PC_FIRST);   /* req_event */
	sim_access_hit(ring + 8, 4, true, PC_FIRST);   /* rsp_prod pushed */
	*req_prod() = prod;                            /* the frontend's */
}

static void jump_catches_slots_read_with_it(void)
{
	char text[512];

	jump_backend_ready(5);
	sim_access_hit(ring, 4, false, PC_FIRST);      /* the snapshot: never moved */
	CU_ASSERT_EQUAL(*req_prod(), 5);
	CU_ASSERT_FALSE(sim_access_jumped(DOMID_INVALID));
	sim_access_hit(ring, 4, false, PC_AGAIN);      /* read again: moved */
	CU_ASSERT_EQUAL(*req_prod(), 5 + 0x40000000u);
	CU_ASSERT_TRUE(sim_access_jumped(1));
	CU_ASSERT_FALSE(sim_access_jumped(2));
	sim_access_hit(ring + 8, 4, false, PC_FIRST);  /* the header is no slot */
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	sim_access_hit(ring + 0x40, 112, false, PC_FIRST);   /* a request, with it */
	CU_ASSERT_EQUAL_FATAL(sim_access_findings(), 1);
	CU_ASSERT_EQUAL(sim_access_finding_text(0, text, sizeof(text)), 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "index used unchecked: domain 0 read the producer index at offset 0 "
					    "of grant ref 8 of domain 1 again at loc_again"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "from 5 to 1073741829"));
	CU_ASSERT_PTR_NOT_NULL(strstr(text, "slots at loc_first"));
	sim_access_hit(ring, 4, false, PC_AGAIN);      /* one jump per run */
	CU_ASSERT_EQUAL(*req_prod(), 5 + 0x40000000u);
	unmap_ring();
}

/* A consumer that stops at the bad value reads no slot; once the peer
 * writes its index again, slots are fair. */
static void jump_spares_a_checked_index(void)
{
	jump_backend_ready(7);
	sim_access_hit(ring, 4, false, PC_FIRST);
	sim_access_hit(ring, 4, false, PC_AGAIN);
	CU_ASSERT_EQUAL(*req_prod(), 7 + 0x40000000u);
	*req_prod() = 9;                               /* the frontend pushes */
	sim_access_hit(ring + 0x40, 112, false, PC_FIRST);
	CU_ASSERT_EQUAL(sim_access_findings(), 0);
	unmap_ring();
}

/* A domain's own producer index (the one it pushed last) is never moved,
 * nor one of a ring whose event index it never armed, nor one of a page
 * whose header words read as no live ring's (the address maps a data page
 * now), nor any without the option. */
static void jump_only_a_consumed_index(void)
{
	jump_backend_ready(3);
	req_prod()[2] = 0x80000000u;                   /* rsp_prod: no ring's */
	sim_access_hit(ring, 4, false, PC_FIRST);
	sim_access_hit(ring, 4, false, PC_AGAIN);
	CU_ASSERT_EQUAL(*req_prod(), 3);
	req_prod()[2] = 0;
	sim_access_hit(ring, 4, true, PC_FIRST);       /* dom0 pushes req_prod now */
	sim_access_hit(ring, 4, false, PC_FIRST);
	sim_access_hit(ring, 4, false, PC_AGAIN);
	CU_ASSERT_EQUAL(*req_prod(), 3);
	sim_access_hit(ring + 8, 4, false, PC_FIRST);  /* rsp_prod: no rsp_event armed */
	sim_access_hit(ring + 8, 4, false, PC_AGAIN);
	CU_ASSERT_FALSE(sim_access_jumped(DOMID_INVALID));
	unmap_ring();
	map_ring();                                    /* no jump configured */
	sim_access_hit(ring + 4, 4, true, PC_FIRST);
	sim_access_hit(ring + 8, 4, true, PC_FIRST);
	sim_access_hit(ring, 4, false, PC_FIRST);
	sim_access_hit(ring, 4, false, PC_AGAIN);
	CU_ASSERT_EQUAL(*req_prod(), 0);
	unmap_ring();
}

void test_register(void)
{
	static const struct test_case range[] = {
		TEST(range_holds_every_mapping),
		TEST(where_names_grant_and_offset),
		TEST(range_reused_after_quarantine),
		TEST_END,
	};
	static const struct test_case detect[] = {
		TEST(detect_same_bytes_read_twice),
		TEST(detect_ring_indices_reread_freely),
		TEST(detect_window_ends_at_push),
		TEST(detect_own_write_read_back),
		TEST(detect_ignores_private_memory),
		TEST(memcpy_after_check_counts_once),
		TEST_END,
	};
	static const struct test_case jump[] = {
		TEST(jump_catches_slots_read_with_it),
		TEST(jump_spares_a_checked_index),
		TEST(jump_only_a_consumed_index),
		TEST_END,
	};
	static const struct test_case report[] = {
		TEST(report_lists_code_locations),
		TEST_END,
	};
	test_add_suite("access_range", NULL, NULL, range);
	test_add_suite("access_detect", NULL, NULL, detect);
	test_add_suite("access_jump", NULL, NULL, jump);
	test_add_suite("access_report", NULL, NULL, report);
}
