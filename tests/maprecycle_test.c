/* An unmapped range that still maps its frames (PROT_NONE) is taken back by a
 * later map of exactly those frames of the same memory (sim/hypervisor/
 * memory.c, recycling): the map must get the new protection, see the memory's
 * current data, and fault after its own unmap like any other; and a memory
 * that is really destroyed must leave no range mapping its file. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "tests/sim_fixture.h"
#include "tests/test.h"

#define OTHER_BYTES (2u << 20)   /* a size no other domain here has */

static void make(const char *name, int domid, size_t bytes)
{
	struct sim_domain_config cfg = {.name = name, .domid = domid, .privileged = domid == 0,
					.mem_bytes = bytes};

	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&cfg), domid);
}

static bool faults(volatile uint8_t *p, bool write, const char *says)
{
	char report[512] = "";
	struct poke pk = {.p = p + 5, .v = 1};
	bool f = sim_fault_catch(write ? poke_write : poke_read, &pk, report, sizeof(report)) == 1;

	if (f && says && !strstr(report, says)) {
		fprintf(stderr, "fault report without '%s': %s\n", says, report);
		return false;
	}
	return f;
}

static uint8_t *map_frame(domid_t mapper, uint32_t frame, int prot)
{
	struct sim_page_desc pd = {.grantor = 0, .frame = frame, .ref = 8};

	return sim_mem_map(mapper, SIM_MAP_GRANT, 1, &pd, prot);
}

/* A fresh run: dom0 and a guest, one frame of dom0's memory allocated. */
static uint32_t fresh_run(void)
{
	uint32_t f;

	sim_reset();
	make("dom0", 0, 0);
	make("guest", 1, 0);
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(0, &f), 0);
	return f;
}

static void test_recycled_map_keeps_protection(void)
{
	uint32_t f = fresh_run(), g;
	uint8_t *p = map_frame(1, f, PROT_READ | PROT_WRITE);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	p[0] = 0x11;
	CU_ASSERT_EQUAL(((uint8_t *)sim_frame_hv(0, f))[0], 0x11);
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 1), 0);
	CU_ASSERT_TRUE(faults(p, false, "after it was unmapped"));

	/* The next run: the same memory (reused), the same frame. */
	g = fresh_run();
	CU_ASSERT_EQUAL_FATAL(g, f);
	memset(sim_frame_hv(0, g), 0x22, SIM_PAGE_SIZE);
	uint64_t before = sim_mem_recycled();
	volatile uint8_t *q = map_frame(1, g, PROT_READ);
	CU_ASSERT_PTR_EQUAL_FATAL(q, p);                      /* recycled */
	CU_ASSERT_EQUAL(sim_mem_recycled(), before + 1);
	CU_ASSERT_EQUAL(q[0], 0x22);
	CU_ASSERT_FALSE(faults(q, false, NULL));
	CU_ASSERT_TRUE(faults(q, true, "read-only"));
	CU_ASSERT_EQUAL(sim_mem_unmap((void *)q, 1), 0);
	CU_ASSERT_TRUE(faults(q, false, "after it was unmapped"));

	/* A writable map of it again, after its quarantine. */
	g = fresh_run();
	q = map_frame(1, g, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_EQUAL(q, p);
	CU_ASSERT_EQUAL(q[0], 0);                             /* the reused memory is zero */
	CU_ASSERT_FALSE(faults(q, true, NULL));
	CU_ASSERT_EQUAL(((uint8_t *)sim_frame_hv(0, g))[5], 1);
	CU_ASSERT_EQUAL(sim_mem_unmap((void *)q, 1), 0);
	sim_reset();
}

/* A gntdev mapping may be munmapped by the program itself (Debian's
 * libxenvchan does so with its buffers): the unmap that follows still works,
 * and the range is an inaccessible reservation again. */
static void test_unmap_after_the_program_munmapped(void)
{
	uint32_t f = fresh_run();
	uint8_t *p = map_frame(1, f, PROT_READ | PROT_WRITE);

	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(munmap(p, SIM_PAGE_SIZE), 0);
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 1), 0);
	CU_ASSERT_TRUE(faults(p, false, "after it was unmapped"));
	sim_reset();
}

/* Lines of /proc/self/maps inside the mapping reservation naming `file`. */
static unsigned maps_of(const char *file)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[512];
	unsigned n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	while (fgets(line, sizeof(line), f)) {
		unsigned long lo;
		if (sscanf(line, "%lx-", &lo) == 1 && sim_mem_in_range((void *)lo) &&
		    strstr(line, file))
			n++;
	}
	fclose(f);
	return n;
}

/* Five memories at a reset: the four kept ones stay recyclable; the last
 * destroyed (dom0's, of its own size) is really freed, and so must be every
 * range still mapping it. */
static void test_destroyed_memory_leaves_no_range(void)
{
	uint32_t f;
	static const char *const names[] = {"dom0", "g1", "g2", "g3", "g4"};

	sim_reset();
	for (int id = 0; id < 5; id++)
		make(names[id], id, id == 0 ? OTHER_BYTES : 0);
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(0, &f), 0);
	uint8_t *p = map_frame(1, f, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 1), 0);
	CU_ASSERT_EQUAL(maps_of("memfd:xensim-dom0 "), 1u);  /* PROT_NONE, still its file */
	sim_reset();
	CU_ASSERT_EQUAL(maps_of("memfd:xensim-dom0 "), 0u);
	sim_reset();
}

static const struct test_case cases[] = {
	TEST(test_destroyed_memory_leaves_no_range),
	TEST(test_recycled_map_keeps_protection),
	TEST(test_unmap_after_the_program_munmapped),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("grant map range recycling", NULL, NULL, cases);
}
