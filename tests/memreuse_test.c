/* A destroyed domain's memory is kept and reused by the next domain of the
 * same size (sim/hypervisor/memory.c): the new domain must see every frame
 * zero-filled and the allocator as fresh, whether the old data was cleared
 * page by page or punched out as a whole. The tests first show the memory
 * was reused (the hypervisor's view is at the same address), so the zero
 * checks are about the reuse path, not a fresh file. */
#include <string.h>

#include "tests/sim_fixture.h"
#include "tests/test.h"

#define MEM_BYTES (16u << 20)     /* 4096 frames: more than the per-page bound */

static void make_guest(void)
{
	struct sim_domain_config cfg = {.name = "guest", .domid = 1, .mem_bytes = MEM_BYTES};

	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&cfg), 1);
}

/* Fill `frames` allocated frames and one never allocated with non-zero bytes. */
static void dirty(uint32_t frames)
{
	for (uint32_t i = 0; i < frames; i++) {
		uint32_t f;
		CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(1, &f), 0);
		memset(sim_frame_hv(1, f), 0xa5, SIM_PAGE_SIZE);
	}
	memset(sim_frame_hv(1, sim_frames_total(1) - 1), 0x5a, SIM_PAGE_SIZE);
}

static bool all_zero(void)
{
	for (uint32_t f = 0; f < sim_frames_total(1); f++) {
		const uint8_t *p = sim_frame_hv(1, f);
		for (uint32_t i = 0; i < SIM_PAGE_SIZE; i++)
			if (p[i])
				return false;
	}
	return true;
}

static void reuse_after(uint32_t frames)
{
	sim_reset();
	make_guest();
	void *view = sim_frame_hv(1, 0);
	dirty(frames);
	CU_ASSERT_EQUAL_FATAL(sim_domain_destroy(1), 0);
	make_guest();
	CU_ASSERT_PTR_EQUAL(sim_frame_hv(1, 0), view);   /* the same memory, reused */
	CU_ASSERT_TRUE(all_zero());
	CU_ASSERT_EQUAL(sim_frames_free(1), sim_frames_total(1));
	uint32_t f = UINT32_MAX;
	CU_ASSERT_EQUAL(sim_frame_alloc(1, &f), 0);
	CU_ASSERT_EQUAL(f, 0);                          /* handed out as from a fresh file */
	sim_reset();
}

static void test_reuse_clears_few_pages(void)
{
	reuse_after(40);
}

static void test_reuse_punches_many_pages(void)
{
	reuse_after(2000);
}

static const struct test_case cases[] = {
	TEST(test_reuse_clears_few_pages),
	TEST(test_reuse_punches_many_pages),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("domain memory reuse", NULL, NULL, cases);
}
