/* CUnit suites for sim/evtchn, continued: teardown (a domain's destruction or
 * crash, a handle's close), the threaded suites (domain threads with their
 * libevent loops, and plain threads that entered a domain) and the invariant
 * check aborting on broken state. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/evtchn/evtchn_internal.h"   /* only to break state on purpose */
#include "tests/evtchn_fixture.h"

/* ---- evtchn_teardown ---- */

static void sim_domain_destroy_closes_ports(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2, q1, q2;
	domid_t rd;

	pair(h1, 1, h2, 2, &p1, &p2);
	pair(h2, 2, h1, 1, &q2, &q1);
	as(1);
	CU_ASSERT(xenevtchn_bind_virq(h1, VIRQ_DEBUG) > 0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);   /* queued at dom2 */
	as(2);
	CU_ASSERT_EQUAL(xenevtchn_notify(h2, q2), 0);   /* queued at dom1 */
	unsigned open_before = evtchn_handles_open();
	CU_ASSERT_EQUAL(sim_domain_destroy(1), 0);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(2, p2, &rd, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 1);
	CU_ASSERT_EQUAL(evtchn_port_status(2, q2, &rd, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(evtchn_handles_open(), open_before);   /* dead, not freed */
	evtchn_check();
	CU_ASSERT_TRUE(readable(h1));   /* a blocked pending() would wake up */
	EXPECT_FAIL(xenevtchn_pending(h1), ESRCH);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h1, 2), ESRCH);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);   /* the event sent before stays */
	CU_ASSERT_EQUAL(xenevtchn_close(h1), 0);
	CU_ASSERT_EQUAL(evtchn_handles_open(), open_before - 1);
	xenevtchn_close(h2);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(2), 0);
	finish();
}

static void sim_domain_crash_closes_ports_domid_reused(void)
{
	doms_up();
	xenevtchn_handle *h0 = open_as(0), *h1 = open_as(1);
	evtchn_port_t p1, p0;
	domid_t rd;

	pair(h1, 1, h0, 0, &p1, &p0);
	CU_ASSERT_EQUAL(sim_domain_crash(1), 0);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(0, p0, &rd, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 1);
	CU_ASSERT_EQUAL(sim_domain_create(&(struct sim_domain_config){.name = "guest1-again", .domid = 1}), 1);
	as(1);
	/* the old handle stays dead for the new incarnation */
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h1, 0), ESRCH);
	xenevtchn_handle *fresh = open_as(1);
	CU_ASSERT(xenevtchn_bind_interdomain(fresh, 0, p0) > 0);   /* dom0 waits for dom 1 */
	evtchn_check();
	xenevtchn_handle *hs[] = {h0, h1, fresh};
	close_all(hs, 3);
	finish();
}

static void xenevtchn_close_discards_queued_events(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2), *h2b = open_as(2);
	evtchn_port_t a1, a2, b1, b2, c1, c2;
	domid_t rd;

	pair(h1, 1, h2, 2, &a1, &a2);
	pair(h1, 1, h2, 2, &b1, &b2);
	pair(h1, 1, h2b, 2, &c1, &c2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, a1), 0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, b1), 0);
	CU_ASSERT_EQUAL(xenevtchn_close(h2), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, a1, &rd, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 2);
	CU_ASSERT_EQUAL(evtchn_port_status(1, b1, NULL, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(evtchn_port_status(1, c1, NULL, NULL), EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(2), 1);   /* h2b's port only */
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, c1), 0);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2b), (int)c2);   /* the other handle is unaffected */
	evtchn_check();
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h1, c1), 0);   /* unbind drops a queued event too */
	as(2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2b, c2), 0);
	CU_ASSERT_EQUAL(pending_now(h2b), -2);
	xenevtchn_handle *hs[] = {h1, h2b};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_unbind_drops_queued_event(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t a1, a2, b1, b2;

	pair(h1, 1, h2, 2, &a1, &a2);
	pair(h1, 1, h2, 2, &b1, &b2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, a1), 0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, b1), 0);
	as(2);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h2, a2), 0);
	evtchn_check();   /* the eventfd count follows the queue */
	CU_ASSERT_EQUAL(pending_now(h2), (int)b2);
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* ---- evtchn_threads ---- */

struct blocked_reader {
	xenevtchn_handle *h;
	domid_t domid;
	int result;
	int err;
	atomic_uint started;
};

static void *blocked_reader_main(void *arg)
{
	struct blocked_reader *r = arg;

	sim_thread_enter(r->domid);
	atomic_store(&r->started, 1);
	r->result = xenevtchn_pending(r->h);
	r->err = errno;
	sim_thread_leave();
	return NULL;
}

static void xenevtchn_pending_blocks_until_event(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	struct blocked_reader r = {.h = h2, .domid = 2, .result = -5};
	evtchn_port_t p1, p2;
	pthread_t t;

	pair(h1, 1, h2, 2, &p1, &p2);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, blocked_reader_main, &r), 0);
	CU_ASSERT_TRUE(wait_for(&r.started, 1));
	sleep_ms(30);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.result, (int)p2);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

static void sim_domain_destroy_wakes_blocked_pending(void)
{
	doms_up();
	xenevtchn_handle *h2 = open_as(2);
	struct blocked_reader r = {.h = h2, .domid = 2, .result = -5};
	pthread_t t;

	CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, blocked_reader_main, &r), 0);
	CU_ASSERT_TRUE(wait_for(&r.started, 1));
	sleep_ms(30);
	CU_ASSERT_EQUAL(sim_domain_destroy(2), 0);
	pthread_join(t, NULL);
	CU_ASSERT_EQUAL(r.result, -1);
	CU_ASSERT_EQUAL(r.err, ESRCH);
	xenevtchn_close(h2);
	finish();
}

/* A domain-side endpoint driven by the domain's own libevent loop. */
struct loop_end {
	domid_t domid;
	domid_t peer;
	evtchn_port_t remote_port;   /* bind_interdomain: the peer's port */
	xenevtchn_handle *h;
	struct event *ev;
	evtchn_port_t port;
	unsigned reply_until;        /* notify back while received < this */
	atomic_uint received;
	atomic_uint wrong;
	atomic_uint errors;
};

static void loop_end_cb(evutil_socket_t fd, short what, void *arg)
{
	struct loop_end *e = arg;
	int p = xenevtchn_pending(e->h);

	(void)fd;
	(void)what;
	if (p != (int)e->port) {
		atomic_fetch_add(&e->wrong, 1);
		return;
	}
	unsigned n = atomic_fetch_add(&e->received, 1) + 1;
	if (xenevtchn_unmask(e->h, e->port) < 0)
		atomic_fetch_add(&e->errors, 1);
	if (n < e->reply_until && xenevtchn_notify(e->h, e->port) < 0)
		atomic_fetch_add(&e->errors, 1);
}

/* On the domain thread: open, bind (unbound, or interdomain if remote_port),
 * consume the bind's own event, and watch the fd from the loop. */
static int loop_end_setup(void *arg)
{
	struct loop_end *e = arg;
	int p, rc = -1;

	e->h = xenevtchn_open(NULL, 0);
	if (!e->h)
		return -errno;
	if (e->remote_port) {
		p = xenevtchn_bind_interdomain(e->h, e->peer, e->remote_port);
		if (p > 0 && (xenevtchn_pending(e->h) != p || xenevtchn_unmask(e->h, (evtchn_port_t)p)))
			p = -1;
	} else {
		p = xenevtchn_bind_unbound_port(e->h, e->peer);
	}
	e->port = p > 0 ? (evtchn_port_t)p : 0;
	e->ev = event_new(sim_domain_event_base(), xenevtchn_fd(e->h), EV_READ | EV_PERSIST,
			  loop_end_cb, e);
	if (p > 0 && e->ev && event_add(e->ev, NULL) == 0)
		rc = p;
	return rc;
}

static int loop_end_teardown(void *arg)
{
	struct loop_end *e = arg;

	if (e->ev)
		event_free(e->ev);
	return xenevtchn_close(e->h);
}

static int loop_end_notify(void *arg)
{
	struct loop_end *e = arg;
	return xenevtchn_notify(e->h, e->port);
}

#define LOOP_NOTIFIES 1000u

static void xenevtchn_fd_readable_in_libevent_loop(void)
{
	doms_up();
	struct loop_end g = {.domid = 1, .peer = 0, .reply_until = 0};
	xenevtchn_handle *h0 = open_as(0);
	unsigned lost = 0;

	int gp = sim_domain_call(1, loop_end_setup, &g);
	CU_ASSERT_FATAL(gp > 0);
	int p0 = xenevtchn_bind_interdomain(h0, 1, (evtchn_port_t)gp);
	CU_ASSERT_FATAL(p0 > 0);
	CU_ASSERT_EQUAL(pending_now(h0), p0);
	for (unsigned i = 0; i < LOOP_NOTIFIES; i++) {
		CU_ASSERT_EQUAL(xenevtchn_notify(h0, (evtchn_port_t)p0), 0);
		if (!wait_for(&g.received, i + 1)) {
			lost++;
			break;
		}
	}
	sleep_ms(20);   /* anything extra would show up now */
	CU_ASSERT_EQUAL(lost, 0);
	CU_ASSERT_EQUAL(atomic_load(&g.received), LOOP_NOTIFIES);
	CU_ASSERT_EQUAL(atomic_load(&g.wrong), 0);
	CU_ASSERT_EQUAL(atomic_load(&g.errors), 0);
	CU_ASSERT_EQUAL(sim_domain_call(1, loop_end_teardown, &g), 0);
	xenevtchn_close(h0);
	finish();
}

#define PINGPONG_ROUNDS 10000u

static void xenevtchn_pingpong_two_domain_loops(void)
{
	doms_up();
	struct loop_end a = {.domid = 1, .peer = 2, .reply_until = PINGPONG_ROUNDS};
	struct loop_end b = {.domid = 2, .peer = 1, .reply_until = PINGPONG_ROUNDS + 1};

	int pa = sim_domain_call(1, loop_end_setup, &a);
	CU_ASSERT_FATAL(pa > 0);
	b.remote_port = (evtchn_port_t)pa;
	CU_ASSERT_FATAL(sim_domain_call(2, loop_end_setup, &b) > 0);
	/* a kicks; b answers every event; a answers until it has PINGPONG_ROUNDS. */
	CU_ASSERT_EQUAL(sim_domain_call(1, loop_end_notify, &a), 0);
	CU_ASSERT_TRUE(wait_for(&a.received, PINGPONG_ROUNDS));
	sleep_ms(20);
	CU_ASSERT_EQUAL(atomic_load(&a.received), PINGPONG_ROUNDS);
	CU_ASSERT_EQUAL(atomic_load(&b.received), PINGPONG_ROUNDS);
	CU_ASSERT_EQUAL(atomic_load(&a.wrong) + atomic_load(&b.wrong), 0);
	CU_ASSERT_EQUAL(atomic_load(&a.errors) + atomic_load(&b.errors), 0);
	evtchn_check();
	CU_ASSERT_EQUAL(sim_domain_call(1, loop_end_teardown, &a), 0);
	CU_ASSERT_EQUAL(sim_domain_call(2, loop_end_teardown, &b), 0);
	finish();
}

/* Two plain threads acting for two domains, blocking in xenevtchn_pending. */
struct pp_thread {
	xenevtchn_handle *h;
	domid_t domid;
	evtchn_port_t port;
	bool starts;
	unsigned received, wrong, errors;
};

static void *pp_thread_main(void *arg)
{
	struct pp_thread *t = arg;

	sim_thread_enter(t->domid);
	if (t->starts && xenevtchn_notify(t->h, t->port) < 0)
		t->errors++;
	while (t->received < PINGPONG_ROUNDS && t->errors == 0) {
		int p = xenevtchn_pending(t->h);
		if (p != (int)t->port) {
			t->wrong++;
			break;
		}
		t->received++;
		if (xenevtchn_unmask(t->h, t->port) < 0)
			t->errors++;
		bool last = t->starts && t->received == PINGPONG_ROUNDS;
		if (!last && xenevtchn_notify(t->h, t->port) < 0)
			t->errors++;
	}
	sim_thread_leave();
	return NULL;
}

static void xenevtchn_pingpong_two_blocking_threads(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	struct pp_thread a = {.h = h1, .domid = 1, .starts = true};
	struct pp_thread b = {.h = h2, .domid = 2};
	pthread_t ta, tb;

	pair(h1, 1, h2, 2, &a.port, &b.port);
	sim_thread_leave();
	CU_ASSERT_EQUAL_FATAL(pthread_create(&tb, NULL, pp_thread_main, &b), 0);
	CU_ASSERT_EQUAL_FATAL(pthread_create(&ta, NULL, pp_thread_main, &a), 0);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	CU_ASSERT_EQUAL(a.received, PINGPONG_ROUNDS);
	CU_ASSERT_EQUAL(b.received, PINGPONG_ROUNDS);
	CU_ASSERT_EQUAL(a.wrong + b.wrong + a.errors + b.errors, 0);
	CU_ASSERT_FALSE(readable(h1));
	CU_ASSERT_FALSE(readable(h2));
	evtchn_check();
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* Several threads, each with its own pair of handles in dom1/dom2, binding,
 * notifying and unbinding at once: the module lock keeps it consistent. */
#define STRESS_THREADS 4
#define STRESS_ROUNDS 500u

struct stress {
	unsigned delivered, errors;
};

static void *stress_main(void *arg)
{
	struct stress *s = arg;

	sim_thread_enter(1);
	xenevtchn_handle *h1 = xenevtchn_open(NULL, 0);
	sim_thread_enter(2);
	xenevtchn_handle *h2 = xenevtchn_open(NULL, 0);
	for (unsigned i = 0; h1 && h2 && i < STRESS_ROUNDS; i++) {
		sim_thread_enter(1);
		int p1 = xenevtchn_bind_unbound_port(h1, 2);
		sim_thread_enter(2);
		int p2 = xenevtchn_bind_interdomain(h2, 1, (evtchn_port_t)p1);
		s->errors += p1 <= 0 || p2 <= 0 || xenevtchn_pending(h2) != p2;
		s->errors += xenevtchn_unmask(h2, (evtchn_port_t)p2) != 0;
		sim_thread_enter(1);
		s->errors += xenevtchn_notify(h1, (evtchn_port_t)p1) != 0;
		sim_thread_enter(2);
		s->delivered += xenevtchn_pending(h2) == p2;
		s->errors += xenevtchn_unbind(h2, (evtchn_port_t)p2) != 0;
		sim_thread_enter(1);
		s->errors += xenevtchn_unbind(h1, (evtchn_port_t)p1) != 0;
	}
	s->errors += !h1 || !h2;
	xenevtchn_close(h1);
	xenevtchn_close(h2);
	sim_thread_leave();
	return NULL;
}

static void xenevtchn_concurrent_handles_stay_consistent(void)
{
	doms_up();
	struct stress s[STRESS_THREADS] = {{0}};
	pthread_t t[STRESS_THREADS];
	unsigned delivered = 0, errors = 0;

	sim_thread_leave();
	for (int i = 0; i < STRESS_THREADS; i++)
		CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, stress_main, &s[i]), 0);
	for (int i = 0; i < 50; i++)
		evtchn_check();   /* concurrently with the workers */
	for (int i = 0; i < STRESS_THREADS; i++) {
		pthread_join(t[i], NULL);
		delivered += s[i].delivered;
		errors += s[i].errors;
	}
	CU_ASSERT_EQUAL(errors, 0);
	CU_ASSERT_EQUAL(delivered, STRESS_THREADS * STRESS_ROUNDS);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(2), 0);
	finish();
}

/* ---- evtchn_check ---- */

/* In a child: break one invariant, run the check; it must abort naming it. */
static void check_aborts_on(void (*corrupt)(void), const char *expect)
{
	int pipefd[2];
	char msg[1024] = "";

	CU_ASSERT_EQUAL_FATAL(pipe(pipefd), 0);
	pid_t pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], STDERR_FILENO);
		corrupt();
		evtchn_check();
		_exit(0);
	}
	close(pipefd[1]);
	ssize_t n = read(pipefd[0], msg, sizeof(msg) - 1);
	msg[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
	int status = 0;
	waitpid(pid, &status, 0);
	CU_ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, expect));
}

static evtchn_port_t corrupt_port;

static void corrupt_peer_link(void)
{
	evtchn_domain_locked(1)->ports[corrupt_port].remote_port += 1;
}

static void corrupt_unmask_queued(void)
{
	evtchn_domain_locked(2)->ports[corrupt_port].masked = false;
}

static void evtchn_check_aborts_on_broken_state(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	evtchn_check();   /* intact: returns */
	corrupt_port = p1;
	check_aborts_on(corrupt_peer_link, "does not link back");
	corrupt_port = p2;
	check_aborts_on(corrupt_unmask_queued, "queued but not masked");
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* ---- registration ---- */

static const struct test_case teardown_cases[] = {
	TEST(sim_domain_destroy_closes_ports),
	TEST(sim_domain_crash_closes_ports_domid_reused),
	TEST(xenevtchn_close_discards_queued_events),
	TEST(xenevtchn_unbind_drops_queued_event),
	TEST_END,
};

static const struct test_case thread_cases[] = {
	TEST(xenevtchn_pending_blocks_until_event),
	TEST(sim_domain_destroy_wakes_blocked_pending),
	TEST(xenevtchn_fd_readable_in_libevent_loop),
	TEST(xenevtchn_pingpong_two_domain_loops),
	TEST(xenevtchn_pingpong_two_blocking_threads),
	TEST(xenevtchn_concurrent_handles_stay_consistent),
	TEST_END,
};

static const struct test_case check_cases[] = {
	TEST(evtchn_check_aborts_on_broken_state),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("evtchn_teardown", suite_reset, suite_reset, teardown_cases);
	test_add_suite("evtchn_threads", suite_reset, suite_reset, thread_cases);
	test_add_suite("evtchn_check", suite_reset, suite_reset, check_cases);
}
