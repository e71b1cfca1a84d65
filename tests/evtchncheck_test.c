/* evtchn_check() visits the ports below a table's high-water mark at every
 * check, and every port only at the first check, every EVTCHN_CHECK_FULL_EVERY
 * checks and when the domain is destroyed (sim/evtchn/evtchn.c). These show a
 * break below the mark is seen at once, a break above it is seen by the next
 * full check and by the destroy, and that the skip is real (the same break
 * above the mark goes unseen by a partial check), so the first case is not
 * passing only because every check is a full one. The breaks run in a forked
 * child: the check panics with abort(). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "sim/evtchn/evtchn_internal.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

/* The checks a child runs after the break, and what then. */
enum after { CHECK_ONCE, CHECK_FULL_ROUND, DESTROY };

/* dom1 binds one unbound port (its mark is 2 then). In a child: one check
 * (the process's first is full), break `port`, then `after`. Returns the
 * child's wait status. */
static int break_then(evtchn_port_t port, enum after after)
{
	doms_up();
	as(1);
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	CU_ASSERT_EQUAL_FATAL(xenevtchn_bind_unbound_port(h, 0), 1);
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		(void)!freopen("/dev/null", "w", stderr);   /* the expected panic's message */
		evtchn_check();
		pthread_mutex_lock(&evtchn_lock);
		evtchn_domain_locked(1)->ports[port].queued = true;   /* not masked: broken for any port */
		pthread_mutex_unlock(&evtchn_lock);
		if (after == CHECK_ONCE)
			evtchn_check();
		for (unsigned i = 0; after == CHECK_FULL_ROUND && i < 16; i++)
			evtchn_check();
		if (after == DESTROY) {
			xenevtchn_close(h);
			sim_domain_destroy(1);
		}
		_exit(0);
	}
	int st = -1;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
	xenevtchn_close(h);
	sim_reset();
	return st;
}

static bool aborted(int st)
{
	return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

static void test_break_below_the_mark_is_seen_at_once(void)
{
	CU_ASSERT_TRUE(aborted(break_then(1, CHECK_ONCE)));
}

static void test_break_above_the_mark_is_seen_by_a_full_check(void)
{
	CU_ASSERT_TRUE(aborted(break_then(300, CHECK_FULL_ROUND)));
	CU_ASSERT_TRUE(aborted(break_then(EVTCHN_PORTS_MAX - 1, DESTROY)));
}

static void test_partial_check_skips_above_the_mark(void)
{
	int st = break_then(300, CHECK_ONCE);

	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static const struct test_case cases[] = {
	TEST(test_break_below_the_mark_is_seen_at_once),
	TEST(test_break_above_the_mark_is_seen_by_a_full_check),
	TEST(test_partial_check_skips_above_the_mark),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("evtchn_check: high-water mark", NULL, NULL, cases);
}
