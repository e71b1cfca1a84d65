/* CUnit suites for sim/hypervisor: domains, identity, frames, mappings, faults,
 * fault sites and the PRNG. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

static int make_domain(const char *name, int domid, bool priv, size_t mem_bytes)
{
	struct sim_domain_config cfg = {.name = name, .domid = domid, .privileged = priv,
					.mem_bytes = mem_bytes};
	return sim_domain_create(&cfg);
}

static int reset_all(void)
{
	sim_reset();
	return 0;
}

/* ---- hypervisor_domain ---- */

static void domain_create_names_and_ids(void)
{
	int d0 = make_domain("dom0", 0, true, 0);
	int g = make_domain("guest", -1, false, 0);

	CU_ASSERT_EQUAL(d0, 0);
	CU_ASSERT_EQUAL(g, 1);
	CU_ASSERT_STRING_EQUAL(sim_domain_name(1), "guest");
	CU_ASSERT_STRING_EQUAL(sim_domain_name(77), "?");
	CU_ASSERT_TRUE(sim_domain_privileged(0));
	CU_ASSERT_FALSE(sim_domain_privileged(1));
	CU_ASSERT_EQUAL(sim_domain_count(), 2);
	CU_ASSERT_EQUAL(sim_frames_total(1), SIM_DOMAIN_MEM_BYTES_DEFAULT / SIM_PAGE_SIZE);
	sim_reset();
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
}

static void domain_create_bad_config(void)
{
	char longname[SIM_DOMAIN_NAME_MAX + 1];

	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	CU_ASSERT_EQUAL(make_domain("", -1, false, 0), -EINVAL);
	CU_ASSERT_EQUAL(make_domain(longname, -1, false, 0), -EINVAL);
	CU_ASSERT_EQUAL(make_domain("odd", -1, false, 4097), -EINVAL);
	CU_ASSERT_EQUAL(make_domain("far", SIM_DOMID_LIMIT, false, 0), -EINVAL);
	CU_ASSERT_EQUAL(make_domain("a", 5, false, 0), 5);
	CU_ASSERT_EQUAL(make_domain("b", 5, false, 0), -EEXIST);
	CU_ASSERT_EQUAL(sim_domain_count(), 1);
	sim_reset();
}

static int report_identity(void *arg)
{
	domid_t *out = arg;

	out[0] = sim_current_domid();
	out[1] = sim_domain_event_base() != NULL;
	return 42;
}

static void domain_call_runs_on_domain_thread(void)
{
	domid_t seen[2] = {0, 0};
	int g = make_domain("guest", 3, false, 0);

	CU_ASSERT_EQUAL(sim_current_domid(), DOMID_INVALID);
	CU_ASSERT_EQUAL(sim_domain_call((domid_t)g, report_identity, seen), 42);
	CU_ASSERT_EQUAL(seen[0], 3);
	CU_ASSERT_EQUAL(seen[1], 1);
	CU_ASSERT_EQUAL(sim_domain_call(9, report_identity, seen), -ESRCH);
	sim_reset();
}

static void thread_enter_sets_identity(void)
{
	int g = make_domain("guest", 4, false, 0);

	CU_ASSERT_EQUAL(sim_thread_enter(9), -ESRCH);
	CU_ASSERT_EQUAL(sim_thread_enter((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_current_domid(), 4);
	CU_ASSERT_PTR_NULL(sim_domain_event_base());
	sim_thread_leave();
	CU_ASSERT_EQUAL(sim_current_domid(), DOMID_INVALID);
	sim_reset();
}

struct order_log {
	int seen[8];
	int n;
};

struct order_item {
	struct order_log *log;
	int v;
};

static void append_value(void *arg)
{
	struct order_item *it = arg;

	it->log->seen[it->log->n++] = it->v;
}

static int noop(void *arg)
{
	(void)arg;
	return 0;
}

static void domain_post_keeps_order(void)
{
	struct order_log log = {0};
	struct order_item items[5];
	int g = make_domain("guest", -1, false, 0);

	for (int i = 0; i < 5; i++) {
		items[i].log = &log;
		items[i].v = i * 10;
		CU_ASSERT_EQUAL(sim_domain_post((domid_t)g, append_value, &items[i]), 0);
	}
	sim_domain_call((domid_t)g, noop, NULL);   /* queued after the posts */
	CU_ASSERT_EQUAL(log.n, 5);
	for (int i = 0; i < 5; i++)
		CU_ASSERT_EQUAL(log.seen[i], i * 10);
	sim_reset();
}

static void count_up(void *arg)
{
	atomic_fetch_add((atomic_int *)arg, 1);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Free mode: a paused domain runs nothing posted to it until its last pause
 * is undone; pauses nest up to SIM_PAUSE_MAX; a paused domain can be
 * destroyed. */
static void domain_pause_holds_its_work(void)
{
	atomic_int ran = 0;
	int g = make_domain("guest", -1, false, 0);

	CU_ASSERT_EQUAL(sim_domain_unpause((domid_t)g), -EINVAL);
	CU_ASSERT_EQUAL(sim_domain_pause((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_domain_pause((domid_t)g), 0);
	CU_ASSERT_TRUE(sim_domain_paused((domid_t)g));
	CU_ASSERT_EQUAL(sim_domain_post((domid_t)g, count_up, &ran), 0);
	sleep_ms(50);
	CU_ASSERT_EQUAL(atomic_load(&ran), 0);
	CU_ASSERT_EQUAL(sim_domain_unpause((domid_t)g), 0);
	sleep_ms(50);
	CU_ASSERT_EQUAL(atomic_load(&ran), 0);      /* paused once more */
	CU_ASSERT_EQUAL(sim_domain_unpause((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_domain_call((domid_t)g, noop, NULL), 0);   /* after the post */
	CU_ASSERT_EQUAL(atomic_load(&ran), 1);
	CU_ASSERT_FALSE(sim_domain_paused((domid_t)g));
	for (unsigned i = 0; i < SIM_PAUSE_MAX; i++)
		CU_ASSERT_EQUAL(sim_domain_pause((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_domain_pause((domid_t)g), -EBUSY);
	CU_ASSERT_EQUAL(sim_domain_destroy((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_domain_pause((domid_t)g), -ESRCH);
	CU_ASSERT_EQUAL(sim_domain_count(), 0);
}

/* The hooks see every domain of every test; only domid 6 is logged. */
static int hook_log[16], hook_n;
static void hook_note(domid_t d, int v)
{
	if (d == 6 && hook_n < 16)
		hook_log[hook_n++] = v + d;
}
static void hook_create(domid_t d)
{
	hook_note(d, 1000);
}
static void hook_destroy_a(domid_t d, bool crashed)
{
	hook_note(d, crashed ? 2000 : 3000);
}
static void hook_destroy_b(domid_t d, bool crashed)
{
	(void)crashed;
	hook_note(d, 4000);
}
static const struct sim_domain_hooks test_hooks_b = {"test-b", 95, NULL, hook_destroy_b};
static const struct sim_domain_hooks test_hooks_a = {"test-a", 90, hook_create, hook_destroy_a};
__attribute__((constructor)) static void register_test_hooks(void)
{
	/* Registered out of order on purpose: they must run by `order`. */
	sim_domain_hooks_register(&test_hooks_b);
	sim_domain_hooks_register(&test_hooks_a);
}

static void domain_destroy_runs_hooks_in_order(void)
{
	hook_n = 0;
	int g = make_domain("guest", 6, false, 0);
	CU_ASSERT_EQUAL(sim_domain_destroy((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_domain_destroy((domid_t)g), -ESRCH);
	CU_ASSERT_FALSE(sim_domain_alive(6));
	int h = make_domain("guest2", 6, false, 0);   /* the domid is free again */
	CU_ASSERT_EQUAL(h, 6);
	CU_ASSERT_EQUAL(sim_domain_crash(6), 0);
	int want[] = {1006, 3006, 4006, 1006, 2006, 4006};
	CU_ASSERT_EQUAL(hook_n, 6);
	for (int i = 0; i < 6 && i < hook_n; i++)
		CU_ASSERT_EQUAL(hook_log[i], want[i]);
	sim_reset();
}

static void destroy_self(void *arg)
{
	(void)arg;
	sim_domain_destroy(sim_current_domid());
}

static void domain_destroy_from_own_thread(void)
{
	int g = make_domain("guest", -1, false, 0);

	CU_ASSERT_EQUAL(sim_domain_post((domid_t)g, destroy_self, NULL), 0);
	for (int i = 0; i < 2000 && sim_domain_alive((domid_t)g); i++)
		usleep(1000);
	CU_ASSERT_FALSE(sim_domain_alive((domid_t)g));
	CU_ASSERT_EQUAL(sim_domain_call((domid_t)g, noop, NULL), -ESRCH);
	sim_reset();
}

/* ---- hypervisor_memory ---- */

static void frame_alloc_until_exhausted(void)
{
	int g = make_domain("small", -1, false, 4 * SIM_PAGE_SIZE);
	uint32_t f[5];

	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)g, &f[i]), 0);
	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)g, &f[4]), -ENOMEM);
	CU_ASSERT_EQUAL(sim_frames_free((domid_t)g), 0);
	CU_ASSERT_EQUAL(sim_frame_free((domid_t)g, f[2]), 0);
	CU_ASSERT_EQUAL(sim_frame_free((domid_t)g, f[2]), -EINVAL);
	CU_ASSERT_EQUAL(sim_frame_free((domid_t)g, 99), -EINVAL);
	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)g, &f[4]), 0);
	CU_ASSERT_EQUAL(f[4], f[2]);
	CU_ASSERT_EQUAL(sim_frame_alloc(77, &f[4]), -ESRCH);
	sim_reset();
}

static void frame_free_scrubs(void)
{
	int g = make_domain("guest", -1, false, 0);
	uint32_t f, f2;

	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)g, &f), 0);
	memset(sim_frame_hv((domid_t)g, f), 0xAB, SIM_PAGE_SIZE);
	CU_ASSERT_EQUAL(sim_frame_free((domid_t)g, f), 0);
	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)g, &f2), 0);
	CU_ASSERT_EQUAL(f2, f);
	CU_ASSERT_EQUAL(((uint8_t *)sim_frame_hv((domid_t)g, f2))[100], 0);
	sim_reset();
}

static void mem_map_shares_bytes(void)
{
	int a = make_domain("grantor", -1, false, 0);
	int b = make_domain("mapper", -1, false, 0);
	struct sim_page_desc pd[2];

	for (int i = 0; i < 2; i++) {
		pd[i].grantor = (domid_t)a;
		pd[i].ref = 10 + (uint32_t)i;
		CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)a, &pd[i].frame), 0);
	}
	uint8_t *p = sim_mem_map((domid_t)b, SIM_MAP_GRANT, 2, pd, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sim_mem_mappings(), 1);
	p[SIM_PAGE_SIZE + 7] = 0x5A;
	CU_ASSERT_EQUAL(((uint8_t *)sim_frame_hv((domid_t)a, pd[1].frame))[7], 0x5A);
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 1), -EINVAL);     /* not the whole mapping */
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 2), 0);
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 2), -EINVAL);     /* double unmap */
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	sim_reset();
}

static void mem_map_bad_args(void)
{
	int a = make_domain("grantor", -1, false, 4 * SIM_PAGE_SIZE);
	struct sim_page_desc pd = {.grantor = (domid_t)a, .frame = 4, .ref = 9};

	CU_ASSERT_PTR_NULL(sim_mem_map(0, SIM_MAP_GRANT, 1, &pd, PROT_READ));
	CU_ASSERT_EQUAL(errno, EINVAL);
	pd.grantor = 55;
	pd.frame = 0;
	CU_ASSERT_PTR_NULL(sim_mem_map(0, SIM_MAP_GRANT, 1, &pd, PROT_READ));
	CU_ASSERT_EQUAL(errno, ESRCH);
	pd.grantor = (domid_t)a;
	CU_ASSERT_PTR_NULL(sim_mem_map(0, SIM_MAP_GRANT, 0, &pd, PROT_READ));
	CU_ASSERT_PTR_NULL(sim_mem_map(0, SIM_MAP_GRANT, 1, &pd, PROT_WRITE | PROT_EXEC));
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	sim_reset();
}

static void mem_map_outlives_grantor(void)
{
	int a = make_domain("grantor", -1, false, 0);
	int b = make_domain("mapper", -1, false, 0);
	struct sim_page_desc pd = {.grantor = (domid_t)a, .ref = 8};

	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)a, &pd.frame), 0);
	memcpy(sim_frame_hv((domid_t)a, pd.frame), "alive", 6);
	char *p = sim_mem_map((domid_t)b, SIM_MAP_GRANT, 1, &pd, PROT_READ);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	CU_ASSERT_EQUAL(sim_domain_destroy((domid_t)a), 0);
	CU_ASSERT_STRING_EQUAL(p, "alive");
	CU_ASSERT_PTR_NULL(sim_mem_map((domid_t)b, SIM_MAP_GRANT, 1, &pd, PROT_READ));
	CU_ASSERT_EQUAL(sim_mem_unmap(p, 1), 0);
	sim_reset();
}

/* ---- hypervisor_fault ---- */

static uint8_t *map_one(int grantor, int mapper, uint32_t ref, int prot)
{
	struct sim_page_desc pd = {.grantor = (domid_t)grantor, .ref = ref};

	CU_ASSERT_EQUAL(sim_frame_alloc((domid_t)grantor, &pd.frame), 0);
	return sim_mem_map((domid_t)mapper, SIM_MAP_GRANT, 1, &pd, prot);
}

static void fault_write_readonly_is_reported(void)
{
	int a = make_domain("dom0", 0, true, 0);
	int b = make_domain("guest", 2, false, 0);
	char report[512] = "";
	uint64_t before = sim_fault_count();

	sim_thread_enter((domid_t)b);
	uint8_t *m = map_one(a, b, 9, PROT_READ);
	struct poke pk = {.p = m + 5, .v = 1};
	CU_ASSERT_EQUAL(sim_fault_catch(poke_read, &pk, report, sizeof(report)), 0);
	CU_ASSERT_EQUAL(sim_fault_catch(poke_write, &pk, report, sizeof(report)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "domain 2 (guest)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "write of grant ref 9 of domain 0 (dom0)"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "read-only"));
	CU_ASSERT_EQUAL(sim_fault_count(), before + 1);
	CU_ASSERT_EQUAL(sim_mem_unmap(m, 1), 0);
	sim_thread_leave();
	sim_reset();
}

static void fault_use_after_unmap_is_reported(void)
{
	int a = make_domain("dom0", 0, true, 0);
	int b = make_domain("guest", 3, false, 0);
	char report[512] = "";

	uint8_t *m = map_one(a, b, 12, PROT_READ | PROT_WRITE);
	struct poke pk = {.p = m + 5, .v = 1};
	CU_ASSERT_EQUAL(sim_fault_catch(poke_write, &pk, report, sizeof(report)), 0);
	CU_ASSERT_EQUAL(sim_mem_unmap(m, 1), 0);
	CU_ASSERT_EQUAL(sim_fault_catch(poke_read, &pk, report, sizeof(report)), 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "read of grant ref 12 of domain 0"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "mapped by domain 3"));
	CU_ASSERT_PTR_NOT_NULL(strstr(report, "after it was unmapped"));
	sim_reset();
}

/* Without a catch, the run fails with the message: exit status 1 and the report
 * on stderr. Checked in a child process. */
static void fault_uncaught_fails_the_run(void)
{
	int a = make_domain("dom0", 0, true, 0);
	int b = make_domain("guest", 4, false, 0);
	volatile uint8_t *p = map_one(a, b, 21, PROT_READ);
	int pipefd[2];
	char buf[1024] = "";
	int status = 0;

	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		sim_thread_enter(4);
		p[0] = 1;
		_exit(0);   /* not reached */
	}
	close(pipefd[1]);
	/* The report may come in several writes: read to EOF. */
	size_t got = 0;
	for (ssize_t n; got < sizeof(buf) - 1 && (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)n;
	buf[got] = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	CU_ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(buf, "xensim: memory fault: domain 4 (guest): write of grant ref 21"));
	sim_mem_unmap((void *)p, 1);
	sim_reset();
}

/* A fault outside sim mappings is not ours: with our handler installed, it
 * reaches the previous handler (the default action, or a sanitizer's report),
 * never our "memory fault" report. */
static void fault_elsewhere_is_not_swallowed(void)
{
	int status = 0, pipefd[2];
	char buf[4096] = "";
	size_t got = 0;

	sim_init();
	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	pid_t pid = fork();
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		volatile int *volatile np = (int *)16;
		*np = 1;
		_exit(0);
	}
	close(pipefd[1]);
	for (ssize_t n; got < sizeof(buf) - 1 && (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) > 0;)
		got += (size_t)n;
	buf[got] = 0;
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	bool died_of_it = WIFSIGNALED(status) &&
			  (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGABRT);
	CU_ASSERT_TRUE(died_of_it || (WIFEXITED(status) && WEXITSTATUS(status) != 0 &&
				      strstr(buf, "SEGV") != NULL));
	CU_ASSERT_PTR_NULL(strstr(buf, "memory fault"));
}

/* ---- hypervisor_faultsite ---- */

SIM_FAULT_SITE(test_site, "test.site", "a site only the hypervisor tests use")

static void fault_site_countdown_and_repeat(void)
{
	int fired[6];

	CU_ASSERT_PTR_EQUAL(sim_fault_site_find("test.site"), &test_site);
	CU_ASSERT_PTR_NULL(sim_fault_site_find("no.such.site"));
	CU_ASSERT_EQUAL(sim_fault_site_arm(&test_site, 2, 1), 0);
	for (int i = 0; i < 6; i++)
		fired[i] = sim_fault_hit(&test_site);
	int want[] = {0, 0, 1, 1, 0, 0};
	for (int i = 0; i < 6; i++)
		CU_ASSERT_EQUAL(fired[i], want[i]);
	CU_ASSERT_EQUAL(atomic_load(&test_site.injected), 2);
	CU_ASSERT_EQUAL(sim_fault_site_arm(&test_site, -1, 0), -EINVAL);
	sim_fault_site_disarm_all();
}

static void fault_site_probability_is_seeded(void)
{
	int run[2][64];

	for (int r = 0; r < 2; r++) {
		sim_rng_seed(1234);
		CU_ASSERT_EQUAL(sim_fault_site_arm_prob(&test_site, 500000), 0);
		for (int i = 0; i < 64; i++)
			run[r][i] = sim_fault_hit(&test_site);
		sim_fault_site_disarm_all();
	}
	int ones = 0;
	for (int i = 0; i < 64; i++) {
		CU_ASSERT_EQUAL(run[0][i], run[1][i]);
		ones += run[0][i];
	}
	CU_ASSERT_TRUE(ones > 10 && ones < 54);
	CU_ASSERT_EQUAL(sim_fault_site_arm_prob(&test_site, 0), -EINVAL);
	CU_ASSERT_FALSE(sim_fault_hit(&test_site));
}

static void rng_seeds_differ(void)
{
	sim_rng_seed(1);
	uint64_t a = sim_rng_next();
	sim_rng_seed(2);
	uint64_t b = sim_rng_next();
	sim_rng_seed(1);
	CU_ASSERT_EQUAL(sim_rng_next(), a);
	CU_ASSERT_NOT_EQUAL(a, b);
}

/* ---- hypervisor_threads ---- */

struct churn {
	domid_t peer;
	int rounds;
	int errors;
};

static int churn_maps(void *arg)
{
	struct churn *c = arg;

	for (int i = 0; i < c->rounds; i++) {
		struct sim_page_desc pd = {.grantor = c->peer, .ref = (uint32_t)i};
		if (sim_frame_alloc(c->peer, &pd.frame) < 0) {
			c->errors++;
			continue;
		}
		uint32_t *p = sim_mem_map(sim_current_domid(), SIM_MAP_GRANT, 1, &pd,
					  PROT_READ | PROT_WRITE);
		if (!p) {
			c->errors++;
			continue;
		}
		p[3] = (uint32_t)i;
		if (((uint32_t *)sim_frame_hv(c->peer, pd.frame))[3] != (uint32_t)i)
			c->errors++;
		if (sim_mem_unmap(p, 1) < 0 || sim_frame_free(c->peer, pd.frame) < 0)
			c->errors++;
	}
	return 0;
}

struct churn_thread {
	domid_t self;
	struct churn c;
	int rc;
};

static void *churn_thread(void *arg)
{
	struct churn_thread *t = arg;

	t->rc = sim_domain_call(t->self, churn_maps, &t->c);
	return NULL;
}

static void two_domains_map_concurrently(void)
{
	int a = make_domain("a", -1, false, 0);
	int b = make_domain("b", -1, false, 0);
	struct churn_thread t[2] = {
		{.self = (domid_t)a, .c = {.peer = (domid_t)b, .rounds = 3000}},
		{.self = (domid_t)b, .c = {.peer = (domid_t)a, .rounds = 3000}},
	};
	pthread_t th[2];

	for (int i = 0; i < 2; i++)
		pthread_create(&th[i], NULL, churn_thread, &t[i]);
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		CU_ASSERT_EQUAL(t[i].rc, 0);
		CU_ASSERT_EQUAL(t[i].c.errors, 0);
	}
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(sim_frames_free((domid_t)a), sim_frames_total((domid_t)a));
	sim_reset();
}

void test_register(void)
{
	static const struct test_case domain[] = {
		TEST(domain_create_names_and_ids),
		TEST(domain_create_bad_config),
		TEST(domain_call_runs_on_domain_thread),
		TEST(thread_enter_sets_identity),
		TEST(domain_post_keeps_order),
		TEST(domain_destroy_runs_hooks_in_order),
		TEST(domain_destroy_from_own_thread),
		TEST(domain_pause_holds_its_work),
		TEST_END,
	};
	static const struct test_case memory[] = {
		TEST(frame_alloc_until_exhausted),
		TEST(frame_free_scrubs),
		TEST(mem_map_shares_bytes),
		TEST(mem_map_bad_args),
		TEST(mem_map_outlives_grantor),
		TEST_END,
	};
	static const struct test_case fault[] = {
		TEST(fault_write_readonly_is_reported),
		TEST(fault_use_after_unmap_is_reported),
		TEST(fault_uncaught_fails_the_run),
		TEST(fault_elsewhere_is_not_swallowed),
		TEST_END,
	};
	static const struct test_case site[] = {
		TEST(fault_site_countdown_and_repeat),
		TEST(fault_site_probability_is_seeded),
		TEST(rng_seeds_differ),
		TEST_END,
	};
	static const struct test_case threads[] = {
		TEST(two_domains_map_concurrently),
		TEST_END,
	};
	test_add_suite("hypervisor_domain", NULL, reset_all, domain);
	test_add_suite("hypervisor_memory", NULL, reset_all, memory);
	test_add_suite("hypervisor_fault", NULL, reset_all, fault);
	test_add_suite("hypervisor_faultsite", NULL, reset_all, site);
	test_add_suite("hypervisor_threads", NULL, reset_all, threads);
}
