/* CUnit suite gnttab_attack: the shared-memory attack sites gnttab.shm.flip
 * and gnttab.shm.rewrite (sim/gnttab/gnttab_attack.c). In det mode, dom1 (the
 * attacker) shares pages A (mapped read-only by dom0) and B (mapped by
 * nobody); dom2 shares page C (mapped by dom0). dom0 then takes scheduling
 * points, where the sites strike. Checked: only granted-and-mapped pages of
 * the aimed grantor change, each strike is on the trace with grantor, mapper,
 * ref and offset, the grant tables stay consistent, and a seed replays its
 * strikes byte for byte. */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include <xengnttab.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define PAGE SIM_PAGE_SIZE
#define STRIKES_MAX 64u
#define POINTS 40u

struct strike {
	domid_t grantor, mapper;
	uint32_t ref, offset;
	char site[32];
};

static struct {
	struct strike s[STRIKES_MAX];
	unsigned n;
} seen;

static void sink(const struct sim_trace_event *ev, void *ctx)
{
	(void)ctx;
	if (ev->kind != SIM_TR_FAULT || strncmp(ev->text, "gnttab.shm.", 11) != 0 ||
	    seen.n == STRIKES_MAX)
		return;
	struct strike *s = &seen.s[seen.n++];
	*s = (struct strike){.grantor = ev->domid, .mapper = ev->peer, .ref = ev->a,
			     .offset = ev->b};
	snprintf(s->site, sizeof(s->site), "%s", ev->text);
}

/* ---- the set-up: three pages, two grantors, one mapper ---- */

struct world {
	xengntshr_handle *shr1, *shr2;
	xengnttab_handle *tab0;
	uint8_t *a, *b, *c;          /* the grantors' own views */
	uint8_t *a_map, *c_map;      /* dom0's maps */
	uint32_t ref_a, ref_b, ref_c;
	uint8_t *spare;              /* a frame of dom1 it never granted */
	uint32_t spare_frame;
	unsigned points;             /* scheduling points dom0 takes per call */
};

static int share1(void *arg)
{
	struct world *w = arg;

	w->shr1 = xengntshr_open(NULL, 0);
	if (!w->shr1)
		return -errno;
	w->a = xengntshr_share_pages(w->shr1, 0, 1, &w->ref_a, 0);
	w->b = xengntshr_share_pages(w->shr1, 0, 1, &w->ref_b, 1);
	if (!w->a || !w->b)
		return -errno;
	memset(w->a, 0x5a, PAGE);
	memset(w->b, 0x6b, PAGE);
	return 0;
}

static int share2(void *arg)
{
	struct world *w = arg;

	w->shr2 = xengntshr_open(NULL, 0);
	if (!w->shr2)
		return -errno;
	w->c = xengntshr_share_pages(w->shr2, 0, 1, &w->ref_c, 1);
	if (!w->c)
		return -errno;
	memset(w->c, 0x7c, PAGE);
	return 0;
}

static int map0(void *arg)
{
	struct world *w = arg;

	w->tab0 = xengnttab_open(NULL, 0);
	if (!w->tab0)
		return -errno;
	w->a_map = xengnttab_map_grant_ref(w->tab0, 1, w->ref_a, PROT_READ);
	w->c_map = xengnttab_map_grant_ref(w->tab0, 2, w->ref_c, PROT_READ | PROT_WRITE);
	return w->a_map && w->c_map ? 0 : -errno;
}

static int points0(void *arg)
{
	const struct world *w = arg;

	for (unsigned i = 0; i < w->points; i++)
		sim_sched_point("test.point");
	return 0;
}

static int unmap0(void *arg)
{
	struct world *w = arg;

	if (w->a_map)
		xengnttab_unmap(w->tab0, w->a_map, 1);
	if (w->c_map)
		xengnttab_unmap(w->tab0, w->c_map, 1);
	w->a_map = w->c_map = NULL;
	return xengnttab_close(w->tab0);
}

static int unshare1(void *arg)
{
	struct world *w = arg;

	xengntshr_unshare(w->shr1, w->a, 1);
	xengntshr_unshare(w->shr1, w->b, 1);
	return xengntshr_close(w->shr1);
}

static int unshare2(void *arg)
{
	struct world *w = arg;

	xengntshr_unshare(w->shr2, w->c, 1);
	return xengntshr_close(w->shr2);
}

static void world_up(struct world *w, uint64_t seed)
{
	struct sim_sched_config cfg = {.mode = SIM_MODE_DET, .seed = seed};
	static const char *const names[] = {"dom0", "attacker", "other"};

	sim_reset();
	memset(w, 0, sizeof(*w));
	memset(&seen, 0, sizeof(seen));
	sim_fault_site_reset_counters();
	CU_ASSERT_EQUAL_FATAL(sim_sched_configure(&cfg), 0);
	for (int id = 0; id < 3; id++) {
		struct sim_domain_config dc = {.name = names[id], .domid = id, .privileged = id == 0};
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&dc), id);
	}
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, share1, w), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(2, share2, w), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, map0, w), 0);
	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(1, &w->spare_frame), 0);
	w->spare = sim_frame_hv(1, w->spare_frame);
	CU_ASSERT_PTR_NOT_NULL_FATAL(w->spare);
	memset(w->spare, 0x11, PAGE);
	sim_trace_set_sink(sink, NULL);
}

static void world_down(struct world *w)
{
	sim_trace_set_sink(NULL, NULL);
	sim_fault_site_disarm_all();
	CU_ASSERT_EQUAL(sim_domain_call(0, unmap0, w), 0);
	CU_ASSERT_EQUAL(sim_domain_call(1, unshare1, w), 0);
	CU_ASSERT_EQUAL(sim_domain_call(2, unshare2, w), 0);
	CU_ASSERT_EQUAL(sim_frame_free(1, w->spare_frame), 0);
	gnttab_check();
	sim_reset();
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 0);
}

static struct sim_fault_site *site(const char *name)
{
	struct sim_fault_site *f = sim_fault_site_find(name);

	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	return f;
}

/* Every strike, aimed at `grantor` (DOMID_INVALID: unaimed). */
static void arm_every(struct sim_fault_site *f, domid_t grantor)
{
	struct sim_fault_aim aim = {.set = true, .domid = grantor, .port = SIM_FAULT_PORT_ANY};

	CU_ASSERT_EQUAL(sim_fault_site_aim(f, grantor == DOMID_INVALID ? NULL : &aim), 0);
	CU_ASSERT_EQUAL(sim_fault_site_arm(f, 0, -1), 0);
}

static unsigned bytes_not(const uint8_t *p, uint8_t v)
{
	unsigned n = 0;

	for (unsigned i = 0; i < PAGE; i++)
		n += p[i] != v;
	return n;
}

static void strike_points(struct world *w, unsigned points)
{
	w->points = points;
	CU_ASSERT_EQUAL(sim_domain_call(0, points0, w), 0);
}

/* ---- tests ---- */

static void shm_flip_only_mapped_pages_of_the_aimed_grantor(void)
{
	struct world w;
	struct sim_fault_site *f = site("gnttab.shm.flip");
	uint64_t faults = sim_fault_count();

	world_up(&w, 7);
	arm_every(f, 1);
	strike_points(&w, POINTS);
	CU_ASSERT(atomic_load(&f->injected) >= POINTS);
	CU_ASSERT(bytes_not(w.a, 0x5a) > 0);        /* granted by dom1, mapped: attacked */
	CU_ASSERT_EQUAL(bytes_not(w.b, 0x6b), 0);   /* granted by dom1, not mapped */
	CU_ASSERT_EQUAL(bytes_not(w.c, 0x7c), 0);   /* mapped, but dom2's */
	CU_ASSERT_EQUAL(bytes_not(w.spare, 0x11), 0);   /* dom1's, never granted */
	CU_ASSERT_EQUAL(memcmp(w.a, w.a_map, PAGE), 0); /* the victim sees it */
	CU_ASSERT_EQUAL(sim_fault_count(), faults);     /* through the grantor's frame */
	CU_ASSERT(seen.n > 0);
	for (unsigned i = 0; i < seen.n; i++) {
		CU_ASSERT_EQUAL(seen.s[i].grantor, 1);
		CU_ASSERT_EQUAL(seen.s[i].mapper, 0);
		CU_ASSERT_EQUAL(seen.s[i].ref, w.ref_a);
		CU_ASSERT(seen.s[i].offset < PAGE);
		CU_ASSERT_STRING_EQUAL(seen.s[i].site, "gnttab.shm.flip");
	}
	CU_ASSERT(gnttab_shm_injected_by(1) >= POINTS);
	CU_ASSERT_EQUAL(gnttab_shm_injected_by(2), 0);
	struct gnttab_stats st;
	CU_ASSERT_EQUAL(gnttab_stats(1, &st), 0);
	CU_ASSERT_EQUAL(st.grants_active, 2);
	CU_ASSERT_EQUAL(st.maps_active, 1);
	gnttab_check();
	world_down(&w);
}

/* One flip: exactly one bit of page A, at the offset the trace names. */
static void shm_flip_changes_one_bit_at_the_traced_offset(void)
{
	struct world w;
	struct sim_fault_site *f = site("gnttab.shm.flip");

	world_up(&w, 3);
	CU_ASSERT_EQUAL(sim_fault_site_aim(f, &(struct sim_fault_aim){.set = true, .domid = 1,
								  .port = SIM_FAULT_PORT_ANY}), 0);
	CU_ASSERT_EQUAL(sim_fault_site_arm(f, 0, 0), 0);
	strike_points(&w, POINTS);
	CU_ASSERT_EQUAL_FATAL(seen.n, 1);
	CU_ASSERT_EQUAL(bytes_not(w.a, 0x5a), 1);
	uint8_t x = w.a[seen.s[0].offset] ^ 0x5a;
	CU_ASSERT(x != 0 && (x & (x - 1)) == 0);
	world_down(&w);
}

/* A rewrite sets one aligned word; with no aim both grantors' mapped pages
 * are targets, never the unmapped one. */
static void shm_rewrite_unaimed_hits_every_mapped_grantor(void)
{
	struct world w;
	struct sim_fault_site *f = site("gnttab.shm.rewrite");
	bool hit1 = false, hit2 = false;

	world_up(&w, 11);
	arm_every(f, DOMID_INVALID);
	strike_points(&w, POINTS);
	CU_ASSERT(seen.n >= POINTS);
	for (unsigned i = 0; i < seen.n; i++) {
		CU_ASSERT_EQUAL(seen.s[i].offset % 4, 0);
		CU_ASSERT_EQUAL(seen.s[i].mapper, 0);
		hit1 |= seen.s[i].grantor == 1 && seen.s[i].ref == w.ref_a;
		hit2 |= seen.s[i].grantor == 2 && seen.s[i].ref == w.ref_c;
		CU_ASSERT(seen.s[i].ref == w.ref_a || seen.s[i].ref == w.ref_c);
	}
	CU_ASSERT(hit1 && hit2);
	CU_ASSERT_EQUAL(bytes_not(w.b, 0x6b), 0);
	CU_ASSERT_EQUAL(bytes_not(w.spare, 0x11), 0);
	gnttab_check();
	world_down(&w);
}

/* Unarmed: no strike, no occurrence, no draw from the PRNG. */
static void shm_unarmed_changes_nothing(void)
{
	struct world w;

	world_up(&w, 5);
	uint64_t hash0 = sim_trace_hash();
	strike_points(&w, POINTS);
	CU_ASSERT_EQUAL(seen.n, 0);
	CU_ASSERT_EQUAL(bytes_not(w.a, 0x5a), 0);
	CU_ASSERT_EQUAL(bytes_not(w.c, 0x7c), 0);
	CU_ASSERT_EQUAL(atomic_load(&site("gnttab.shm.flip")->occurrences), 0);
	CU_ASSERT_EQUAL(atomic_load(&site("gnttab.shm.rewrite")->occurrences), 0);
	CU_ASSERT(sim_trace_hash() != hash0);   /* the points themselves were hashed */
	world_down(&w);
}

/* Once dom0 unmaps page A, dom1 has nothing left to attack. */
static int unmap_a(void *arg)
{
	struct world *w = arg;
	int rc = xengnttab_unmap(w->tab0, w->a_map, 1);

	w->a_map = NULL;
	return rc;
}

static void shm_unmapped_page_is_left_alone(void)
{
	struct world w;
	struct sim_fault_site *f = site("gnttab.shm.rewrite");

	world_up(&w, 9);
	CU_ASSERT_EQUAL(sim_domain_call(0, unmap_a, &w), 0);
	memset(w.a, 0x5a, PAGE);
	arm_every(f, 1);
	strike_points(&w, POINTS);
	CU_ASSERT_EQUAL(seen.n, 0);
	CU_ASSERT_EQUAL(atomic_load(&f->occurrences), 0);
	CU_ASSERT_EQUAL(bytes_not(w.a, 0x5a), 0);
	world_down(&w);
}

/* The same seed strikes the same bytes with the same values; another seed
 * elsewhere. */
struct replay {
	struct strike s[STRIKES_MAX];
	unsigned n;
	uint8_t a[PAGE];
	uint64_t hash;
};

static void shm_run_once(uint64_t seed, struct replay *out)
{
	struct world w;

	world_up(&w, seed);
	arm_every(site("gnttab.shm.rewrite"), 1);
	arm_every(site("gnttab.shm.flip"), 1);
	strike_points(&w, POINTS);
	memcpy(out->s, seen.s, sizeof(out->s));
	out->n = seen.n;
	memcpy(out->a, w.a, PAGE);
	out->hash = sim_trace_hash();
	world_down(&w);
}

static void shm_same_seed_same_strikes(void)
{
	static struct replay r1, r2, r3;

	shm_run_once(42, &r1);
	shm_run_once(42, &r2);
	shm_run_once(43, &r3);
	CU_ASSERT(r1.n >= POINTS);
	CU_ASSERT_EQUAL(r1.n, r2.n);
	CU_ASSERT_EQUAL(memcmp(r1.s, r2.s, sizeof(r1.s)), 0);
	CU_ASSERT_EQUAL(memcmp(r1.a, r2.a, PAGE), 0);
	CU_ASSERT_EQUAL(r1.hash, r2.hash);
	CU_ASSERT(memcmp(r1.a, r3.a, PAGE) != 0);
	CU_ASSERT(r1.hash != r3.hash);
}

static int suite_fini(void)
{
	sim_trace_set_sink(NULL, NULL);
	sim_reset();
	return 0;
}

static const struct test_case attack_cases[] = {
	TEST(shm_flip_only_mapped_pages_of_the_aimed_grantor),
	TEST(shm_flip_changes_one_bit_at_the_traced_offset),
	TEST(shm_rewrite_unaimed_hits_every_mapped_grantor),
	TEST(shm_unarmed_changes_nothing),
	TEST(shm_unmapped_page_is_left_alone),
	TEST(shm_same_seed_same_strikes),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("gnttab_attack", NULL, suite_fini, attack_cases);
}
