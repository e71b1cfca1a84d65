/* gnttab_check() skips a state it has already found consistent (gnttab_gen):
 * these show that a change made through the module's mutating path is checked
 * in full again (a broken table panics), and that the skip is real (the same
 * break, made without the bump, goes unseen) so the first test is not passing
 * only because every check is a full one. The breaks run in a forked child:
 * the check panics with abort(). */
#include <signal.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xengnttab.h>

#include "sim/gnttab/gnttab_internal.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

/* dom1 shares a page with dom0 and dom0 maps it: a consistent state, checked. */
struct shared {
	xengntshr_handle *gs;
	xengnttab_handle *gt;
	void *share, *map;
	uint32_t ref;
};

static void share_and_map(struct shared *s)
{
	doms_up();
	as(1);
	s->gs = xengntshr_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->gs);
	s->share = xengntshr_share_pages(s->gs, 0, 1, &s->ref, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->share);
	as(0);
	s->gt = xengnttab_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->gt);
	s->map = xengnttab_map_grant_ref(s->gt, 1, s->ref, PROT_READ | PROT_WRITE);
	CU_ASSERT_PTR_NOT_NULL_FATAL(s->map);
	gnttab_check();
}

static void undo(struct shared *s)
{
	as(0);
	CU_ASSERT_EQUAL(xengnttab_unmap(s->gt, s->map, 1), 0);
	xengnttab_close(s->gt);
	as(1);
	CU_ASSERT_EQUAL(xengntshr_unshare(s->gs, s->share, 1), 0);
	xengntshr_close(s->gs);
	gnttab_check();
	sim_reset();
}

/* In a child: count one map too many on dom1's entry, then check twice.
 * bump: release the lock as a mutating path does. Returns the wait status. */
static int break_then_check(uint32_t ref, bool bump)
{
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		(void)!freopen("/dev/null", "w", stderr);   /* the expected panic's message */
		pthread_mutex_lock(&gnttab_lock);
		gnttab_domain_locked(1)->entries[ref].maps_read++;
		if (bump)
			gnttab_unlock();
		else
			pthread_mutex_unlock(&gnttab_lock);
		gnttab_check();
		_exit(0);
	}
	int st = -1;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
	return st;
}

static void test_change_is_checked_in_full(void)
{
	struct shared s = {0};

	share_and_map(&s);
	int st = break_then_check(s.ref, true);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	undo(&s);
}

static void test_unchanged_state_is_not_rechecked(void)
{
	struct shared s = {0};

	share_and_map(&s);
	int st = break_then_check(s.ref, false);
	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	undo(&s);
}

static const struct test_case cases[] = {
	TEST(test_change_is_checked_in_full),
	TEST(test_unchanged_state_is_not_rechecked),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("gnttab_check generation", NULL, NULL, cases);
}
