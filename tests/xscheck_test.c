/* xs_store_check() skips a state it has already found consistent (no
 * xs_unlock since its last pass, sim/xenstore/store.c), and its walk of the
 * nodes while the tree is unchanged: these show a change
 * made under the store's lock is checked in full again (a broken count
 * panics), and that the skip is real (the same break, made without the
 * unlock's count, goes unseen), so the first test is not passing only
 * because every check is a full one. The breaks run in a forked child: the
 * check panics with abort(). */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/xenstore/xs_internal.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

/* Up the domains, check once, then in a forked child run `breaks` (which
 * breaks the store and checks) with the expected panic's message silenced;
 * returns the child's wait status. */
static int in_child(void (*breaks)(const void *arg), const void *arg)
{
	doms_up();
	xs_store_check();
	pid_t pid = fork();

	if (pid == 0) {
		signal(SIGABRT, SIG_DFL);
		(void)!freopen("/dev/null", "w", stderr);   /* the expected panic's message */
		breaks(arg);
		_exit(0);
	}
	int st = -1;
	CU_ASSERT_EQUAL_FATAL(waitpid(pid, &st, 0), pid);
	sim_reset();
	return st;
}

/* Illegal permission bits on @introduceDomain (checked by every
 * check that runs), then check. arg (counted): release the lock as every store
 * operation does. */
static void break_perms(const void *arg)
{
	xs_lock();
	xs_g.special[XS_SPECIAL_INTRODUCE].perms[0].perms |= 0x40;
	if (*(const bool *)arg)
		xs_unlock();
	else
		pthread_mutex_unlock(&xs_g.lock);
	xs_store_check();
}

static int break_then_check(bool counted)
{
	return in_child(break_perms, &counted);
}

static void test_change_is_checked_in_full(void)
{
	int st = break_then_check(true);

	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

static void test_unchanged_state_is_skipped(void)
{
	int st = break_then_check(false);

	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

/* The node walk: a node broken in place (illegal permission bits) without
 * its generation changing. In a child: one check, the break, then `checks`
 * checks, each after an unlock (so each runs; only the walk may be skipped);
 * touched: tell the store as xs_perms_forget_domain does. */
struct in_place {
	unsigned checks;
	bool touched;
};

static void break_node(const void *arg)
{
	const struct in_place *ip = arg;

	xs_lock();
	((struct xs_node *)xs_tree_get("/local"))->perms[0].perms |= 0x40;
	if (ip->touched)
		xs_tree_touched();
	xs_unlock();
	for (unsigned i = 0; i < ip->checks; i++) {
		xs_lock();
		xs_unlock();
		xs_store_check();
	}
}

static int break_in_place(unsigned checks, bool touched)
{
	return in_child(break_node, &(struct in_place){checks, touched});
}

static void test_walk_skipped_while_the_tree_is_unchanged(void)
{
	int st = break_in_place(1, false);   /* (deterministic: not a 16th check here) */

	CU_ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0);
}

static void test_walk_runs_when_touched_and_every_16th_check(void)
{
	int st = break_in_place(1, true);

	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	st = break_in_place(16, false);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

/* The tree's shape, broken through xs_tree_put (the generation moves, so
 * the next check walks): a node its parent does not list, or (arg: true) a
 * list naming a child twice. */
static void break_tree(const void *arg)
{
	xs_lock();
	const struct xs_node *t = xs_tree_get("/tool");   /* gone once /tool is put */
	struct xs_node *n = *(const bool *)arg
		? xs_node_make("/tool", t->perms, t->perms_num, NULL, 0, "a\0a", 4)
		: xs_node_make("/tool/orphan", t->perms, t->perms_num, NULL, 0, NULL, 0);
	if (*(const bool *)arg)
		xs_tree_put(xs_node_make("/tool/a", t->perms, t->perms_num, NULL, 0, NULL, 0));
	xs_tree_put(n);
	xs_unlock();
	xs_store_check();
}

static int break_shape(bool twice)
{
	return in_child(break_tree, &twice);
}

static void test_walk_sees_unlisted_and_twice_listed_nodes(void)
{
	int st = break_shape(false);

	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
	st = break_shape(true);
	CU_ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
}

static const struct test_case cases[] = {
	TEST(test_walk_sees_unlisted_and_twice_listed_nodes),
	TEST(test_walk_skipped_while_the_tree_is_unchanged),
	TEST(test_walk_runs_when_touched_and_every_16th_check),
	TEST(test_change_is_checked_in_full),
	TEST(test_unchanged_state_is_skipped),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("xs_store_check: skip a checked state", NULL, NULL, cases);
}
