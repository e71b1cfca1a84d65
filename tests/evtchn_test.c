/* CUnit suites for sim/evtchn: the libxenevtchn API (xenevtchn.h) as in-process
 * domains see it, and the sim-side view (evtchn.h). The test thread acts for a
 * domain with sim_thread_enter(); the threaded suites use domain threads with
 * their libevent loops, and plain threads that entered a domain. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <xenevtchn.h>

#include "sim/evtchn/evtchn.h"
#include "sim/evtchn/evtchn_internal.h"   /* only to break state on purpose */
#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define WAIT_MS_MAX 60000   /* bound on every wait for another thread */


/* ---- helpers ---- */


static xenevtchn_handle *open_as(domid_t domid)
{
	as(domid);
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static bool readable(xenevtchn_handle *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(h), .events = POLLIN};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* xenevtchn_pending() that never blocks: -2 when nothing is readable. */
static int pending_now(xenevtchn_handle *h)
{
	return readable(h) ? xenevtchn_pending(h) : -2;
}

/* An interdomain pair: `a` in dom `da` allocates, `b` in dom `db` binds. The
 * initial event of the bind is consumed and the port unmasked. */
static void pair(xenevtchn_handle *a, domid_t da, xenevtchn_handle *b, domid_t db,
		 evtchn_port_t *pa, evtchn_port_t *pb)
{
	as(da);
	int p = xenevtchn_bind_unbound_port(a, db);
	CU_ASSERT_FATAL(p > 0);
	as(db);
	int q = xenevtchn_bind_interdomain(b, da, (evtchn_port_t)p);
	CU_ASSERT_FATAL(q > 0);
	CU_ASSERT_EQUAL(pending_now(b), q);
	CU_ASSERT_EQUAL(xenevtchn_unmask(b, (evtchn_port_t)q), 0);
	*pa = (evtchn_port_t)p;
	*pb = (evtchn_port_t)q;
}

static void close_all(xenevtchn_handle **hs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(xenevtchn_close(hs[i]), 0);
}

/* End of every test: consistent state, nothing left open. */
static void finish(void)
{
	evtchn_check();
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
	sim_reset();
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0), 0);
}

static int suite_reset(void)
{
	sim_reset();
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait (bounded) until *v reaches want. */
static bool wait_for(atomic_uint *v, unsigned want)
{
	for (unsigned i = 0; i < WAIT_MS_MAX * 10 && atomic_load(v) < want; i++) {
		struct timespec ts = {.tv_nsec = 100000};
		nanosleep(&ts, NULL);
	}
	return atomic_load(v) >= want;
}

/* ---- evtchn_bind ---- */

static void xenevtchn_open_outside_domain_esrch(void)
{
	sim_reset();
	EXPECT_NULL(xenevtchn_open(NULL, 0), ESRCH);
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
}

static void xenevtchn_open_bad_flags_einval(void)
{
	doms_up();
	as(1);
	EXPECT_NULL(xenevtchn_open(NULL, 0x40), EINVAL);
	xenevtchn_handle *h = xenevtchn_open(NULL, XENEVTCHN_NO_CLOEXEC);
	CU_ASSERT_PTR_NOT_NULL(h);
	CU_ASSERT_EQUAL(evtchn_handles_open(), 1);
	xenevtchn_close(h);
	CU_ASSERT_EQUAL(xenevtchn_close(NULL), 0);
	finish();
}

static void xenevtchn_bind_unbound_port_self_unbound(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	domid_t rd;
	evtchn_port_t rp;

	int p = xenevtchn_bind_unbound_port(h, DOMID_SELF);
	int q = xenevtchn_bind_unbound_port(h, 0);
	CU_ASSERT_EQUAL(p, 1);   /* lowest free port; 0 is reserved */
	CU_ASSERT_EQUAL(q, 2);
	CU_ASSERT_EQUAL(evtchn_port_status(1, 1, &rd, &rp), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 1);
	CU_ASSERT_EQUAL(evtchn_port_status(1, 2, &rd, &rp), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, 3, &rd, &rp), EVTCHNSTAT_closed);
	CU_ASSERT_EQUAL(evtchn_port_status(1, EVTCHN_PORTS_MAX, NULL, NULL), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_port_status(77, 1, NULL, NULL), -ESRCH);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 2);
	CU_ASSERT_FALSE(readable(h));   /* an unbound port is not pending */
	xenevtchn_close(h);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	finish();
}

static void xenevtchn_bind_unbound_port_bad_domid_esrch(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);

	EXPECT_FAIL(xenevtchn_bind_unbound_port(h, 77), ESRCH);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h, 0x10000), ESRCH);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h, DOMID_INVALID), ESRCH);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	xenevtchn_close(h);
	finish();
}

static void xenevtchn_bind_interdomain_links_both_ends(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0);
	domid_t rd;
	evtchn_port_t rp;

	as(1);
	int p1 = xenevtchn_bind_unbound_port(h1, 0);
	as(0);
	int p0 = xenevtchn_bind_interdomain(h0, 1, (evtchn_port_t)p1);
	CU_ASSERT(p0 > 0);
	CU_ASSERT_EQUAL(evtchn_port_status(0, (evtchn_port_t)p0, &rd, &rp), EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(rd, 1);
	CU_ASSERT_EQUAL(rp, (evtchn_port_t)p1);
	CU_ASSERT_EQUAL(evtchn_port_status(1, (evtchn_port_t)p1, &rd, &rp), EVTCHNSTAT_interdomain);
	CU_ASSERT_EQUAL(rd, 0);
	CU_ASSERT_EQUAL(rp, (evtchn_port_t)p0);
	evtchn_check();
	xenevtchn_handle *hs[] = {h0, h1};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_bind_interdomain_bad_domid_esrch(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(0);

	EXPECT_FAIL(xenevtchn_bind_interdomain(h, 77, 1), ESRCH);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h, 0x12345, 1), ESRCH);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0), 0);
	xenevtchn_close(h);
	finish();
}

static void xenevtchn_bind_interdomain_not_unbound_einval(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0), *h2 = open_as(2);
	evtchn_port_t p1, p0;

	pair(h1, 1, h0, 0, &p1, &p0);
	as(0);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 1, p1 + 5), EINVAL);   /* a free port */
	/* already interdomain: a second binder is refused */
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 1, p1), EINVAL);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 1, 0), EINVAL);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 1, EVTCHN_PORTS_MAX), EINVAL);
	as(1);   /* a virq port cannot be bound either */
	CU_ASSERT_EQUAL(xenevtchn_bind_virq(h1, VIRQ_DEBUG), (int)p1 + 1);
	as(2);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h2, 1, p1 + 1), EINVAL);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0), 1);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(2), 0);
	xenevtchn_handle *hs[] = {h0, h1, h2};
	close_all(hs, 3);
	finish();
}

static void xenevtchn_bind_interdomain_other_domain_einval(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0), *h2 = open_as(2);

	as(1);
	int p = xenevtchn_bind_unbound_port(h1, 2);
	as(0);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 1, (evtchn_port_t)p), EINVAL);
	CU_ASSERT_EQUAL(evtchn_port_status(1, (evtchn_port_t)p, NULL, NULL), EVTCHNSTAT_unbound);
	as(2);
	CU_ASSERT(xenevtchn_bind_interdomain(h2, 1, (evtchn_port_t)p) > 0);
	xenevtchn_handle *hs[] = {h0, h1, h2};
	close_all(hs, 3);
	finish();
}

static void xenevtchn_bind_interdomain_local_port_pending(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0);

	as(1);
	int p1 = xenevtchn_bind_unbound_port(h1, 0);
	as(0);
	CU_ASSERT_FALSE(readable(h0));
	int p0 = xenevtchn_bind_interdomain(h0, 1, (evtchn_port_t)p1);
	CU_ASSERT_TRUE(readable(h0));
	CU_ASSERT_EQUAL(xenevtchn_pending(h0), p0);
	CU_ASSERT_FALSE(readable(h0));   /* exactly one event */
	as(1);
	CU_ASSERT_FALSE(readable(h1));   /* the allocating side sees nothing */
	xenevtchn_handle *hs[] = {h0, h1};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_bind_interdomain_loopback_self(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(0);

	int a = xenevtchn_bind_unbound_port(h, DOMID_SELF);
	int b = xenevtchn_bind_interdomain(h, DOMID_SELF, (evtchn_port_t)a);
	CU_ASSERT(b > a);
	CU_ASSERT_EQUAL(pending_now(h), b);
	CU_ASSERT_EQUAL(xenevtchn_notify(h, (evtchn_port_t)b), 0);
	CU_ASSERT_EQUAL(pending_now(h), a);
	CU_ASSERT_EQUAL(xenevtchn_notify(h, (evtchn_port_t)a), 0);
	CU_ASSERT_EQUAL(pending_now(h), -2);   /* b is still masked */
	CU_ASSERT_EQUAL(xenevtchn_unmask(h, (evtchn_port_t)b), 0);
	CU_ASSERT_EQUAL(pending_now(h), b);
	xenevtchn_close(h);
	finish();
}

static void xenevtchn_call_other_domain_eperm(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	evtchn_port_t p = (evtchn_port_t)xenevtchn_bind_unbound_port(h, 0);

	as(2);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h, 0), EPERM);
	EXPECT_FAIL(xenevtchn_notify(h, p), EPERM);
	EXPECT_FAIL(xenevtchn_pending(h), EPERM);   /* refused, not blocked */
	EXPECT_FAIL(xenevtchn_unbind(h, p), EPERM);
	EXPECT_FAIL(xenevtchn_unmask(h, p), EPERM);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p, NULL, NULL), EVTCHNSTAT_unbound);
	xenevtchn_close(h);   /* closing is allowed from anywhere */
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	finish();
}

static void xenevtchn_unbind_twice_einval(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	evtchn_port_t p = (evtchn_port_t)xenevtchn_bind_unbound_port(h, 0);

	CU_ASSERT_EQUAL(xenevtchn_unbind(h, p), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p, NULL, NULL), EVTCHNSTAT_closed);
	EXPECT_FAIL(xenevtchn_unbind(h, p), EINVAL);
	EXPECT_FAIL(xenevtchn_unbind(h, 0), EINVAL);
	EXPECT_FAIL(xenevtchn_unbind(h, EVTCHN_PORTS_MAX + 3), EINVAL);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	xenevtchn_close(h);
	finish();
}

static void xenevtchn_unbind_returns_peer_to_unbound(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0);
	evtchn_port_t p1, p0;
	domid_t rd;

	pair(h1, 1, h0, 0, &p1, &p0);
	as(0);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h0, p0), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p1, &rd, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(rd, 0);   /* allowing the closer's domain */
	CU_ASSERT_EQUAL(evtchn_port_status(0, p0, NULL, NULL), EVTCHNSTAT_closed);
	as(1);   /* the peer closed: a notify succeeds and delivers nothing */
	uint64_t dropped = evtchn_unbound_sends();
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	CU_ASSERT_EQUAL(evtchn_unbound_sends() - dropped, 1);
	CU_ASSERT_FALSE(readable(h1));
	CU_ASSERT_FALSE(readable(h0));
	as(0);   /* and the closer may bind to it again */
	int again = xenevtchn_bind_interdomain(h0, 1, p1);
	CU_ASSERT(again > 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p1, &rd, NULL), EVTCHNSTAT_interdomain);
	evtchn_check();
	xenevtchn_handle *hs[] = {h0, h1};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_bind_unbound_port_table_full_enospc(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	int last = 0;

	for (unsigned i = 1; i < EVTCHN_PORTS_MAX; i++)
		last = xenevtchn_bind_unbound_port(h, 0);
	CU_ASSERT_EQUAL(last, (int)EVTCHN_PORTS_MAX - 1);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h, 0), ENOSPC);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), EVTCHN_PORTS_MAX - 1);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h, 100), 0);
	CU_ASSERT_EQUAL(xenevtchn_bind_unbound_port(h, 0), 100);   /* the hole is reused */
	evtchn_check();
	xenevtchn_close(h);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), 0);
	finish();
}

static void xenevtchn_bind_virq_dom_exc_needs_privilege(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0);
	evtchn_port_t rp;

	as(1);
	EXPECT_FAIL(xenevtchn_bind_virq(h1, VIRQ_DOM_EXC), EPERM);
	CU_ASSERT(xenevtchn_bind_virq(h1, VIRQ_TIMER) > 0);   /* others are accepted */
	EXPECT_FAIL(xenevtchn_bind_virq(h1, NR_VIRQS), EINVAL);
	as(0);
	int p = xenevtchn_bind_virq(h0, VIRQ_DOM_EXC);
	CU_ASSERT(p > 0);
	CU_ASSERT_EQUAL(evtchn_port_status(0, (evtchn_port_t)p, NULL, &rp), EVTCHNSTAT_virq);
	CU_ASSERT_EQUAL(rp, VIRQ_DOM_EXC);
	EXPECT_FAIL(xenevtchn_bind_virq(h0, VIRQ_DOM_EXC), EEXIST);   /* once per domain */
	EXPECT_FAIL(xenevtchn_notify(h0, (evtchn_port_t)p), EINVAL);   /* not sendable */
	CU_ASSERT_EQUAL(xenevtchn_unbind(h0, (evtchn_port_t)p), 0);
	CU_ASSERT(xenevtchn_bind_virq(h0, VIRQ_DOM_EXC) > 0);   /* free again after unbind */
	xenevtchn_handle *hs[] = {h0, h1};
	close_all(hs, 2);
	finish();
}

static void evtchn_raise_virq_delivers_to_bound_domains(void)
{
	doms_up();
	xenevtchn_handle *h0 = open_as(0), *h1 = open_as(1), *h2 = open_as(2);

	as(0);
	int e0 = xenevtchn_bind_virq(h0, VIRQ_DOM_EXC);
	as(1);
	int d1 = xenevtchn_bind_virq(h1, VIRQ_DEBUG);
	as(2);
	int d2 = xenevtchn_bind_virq(h2, VIRQ_DEBUG);
	evtchn_raise_virq(VIRQ_DEBUG);
	evtchn_raise_virq(NR_VIRQS);   /* out of range: logged, ignored */
	as(0);
	CU_ASSERT_EQUAL(pending_now(h0), -2);
	as(1);
	CU_ASSERT_EQUAL(pending_now(h1), d1);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), d2);
	evtchn_raise_virq(VIRQ_DEBUG);   /* masked now: pending only */
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, (evtchn_port_t)d2), 0);
	CU_ASSERT_EQUAL(pending_now(h2), d2);
	evtchn_raise_virq(VIRQ_DOM_EXC);
	as(0);
	CU_ASSERT_EQUAL(pending_now(h0), e0);
	xenevtchn_handle *hs[] = {h0, h1, h2};
	close_all(hs, 3);
	finish();
}

static void xenevtchn_restrict_limits_binds(void)
{
	doms_up();
	xenevtchn_handle *h0 = open_as(0), *h1 = open_as(1), *h2 = open_as(2);

	as(1);
	int to0 = xenevtchn_bind_unbound_port(h1, 0);
	as(2);
	int to0b = xenevtchn_bind_unbound_port(h2, 0);
	as(0);
	EXPECT_FAIL(xenevtchn_restrict(h0, DOMID_SELF), EINVAL);
	CU_ASSERT_EQUAL(xenevtchn_restrict(h0, 1), 0);
	CU_ASSERT(xenevtchn_bind_unbound_port(h0, 1) > 0);
	CU_ASSERT(xenevtchn_bind_interdomain(h0, 1, (evtchn_port_t)to0) > 0);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h0, 2), EPERM);
	EXPECT_FAIL(xenevtchn_bind_unbound_port(h0, DOMID_SELF), EPERM);
	EXPECT_FAIL(xenevtchn_bind_interdomain(h0, 2, (evtchn_port_t)to0b), EPERM);
	EXPECT_FAIL(xenevtchn_bind_virq(h0, VIRQ_DOM_EXC), EPERM);
	EXPECT_FAIL(xenevtchn_restrict(h0, 2), EPERM);   /* only once */
	CU_ASSERT_EQUAL(evtchn_port_status(2, (evtchn_port_t)to0b, NULL, NULL), EVTCHNSTAT_unbound);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0), 2);
	xenevtchn_handle *hs[] = {h0, h1, h2};
	close_all(hs, 3);
	finish();
}

static void xenevtchn_fdopen_shares_ports(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h0 = open_as(0);
	evtchn_port_t p1, p0;

	pair(h1, 1, h0, 0, &p1, &p0);
	as(1);
	xenevtchn_handle *again = xenevtchn_fdopen(NULL, xenevtchn_fd(h1), 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(again);
	CU_ASSERT_EQUAL(xenevtchn_fd(again), xenevtchn_fd(h1));
	CU_ASSERT_EQUAL(evtchn_handles_open(), 3);
	as(0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h0, p0), 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(again), (int)p1);   /* same port set, same queue */
	CU_ASSERT_EQUAL(xenevtchn_unmask(again, p1), 0);
	CU_ASSERT_EQUAL(xenevtchn_close(h1), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p1, NULL, NULL), EVTCHNSTAT_interdomain);
	as(0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h0, p0), 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(again), (int)p1);   /* still alive after the first close */
	evtchn_check();
	CU_ASSERT_EQUAL(xenevtchn_close(again), 0);
	CU_ASSERT_EQUAL(evtchn_port_status(1, p1, NULL, NULL), EVTCHNSTAT_closed);
	CU_ASSERT_EQUAL(evtchn_port_status(0, p0, NULL, NULL), EVTCHNSTAT_unbound);
	xenevtchn_close(h0);
	finish();
}

static void xenevtchn_fdopen_bad_fd_or_flags(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1);
	int fd = xenevtchn_fd(h1);

	EXPECT_NULL(xenevtchn_fdopen(NULL, 0, 0), EBADF);   /* stdin: not an evtchn fd */
	EXPECT_NULL(xenevtchn_fdopen(NULL, -1, 0), EBADF);
	EXPECT_NULL(xenevtchn_fdopen(NULL, fd, XENEVTCHN_NO_CLOEXEC), EINVAL);
	as(2);
	EXPECT_NULL(xenevtchn_fdopen(NULL, fd, 0), EPERM);   /* dom1's fd */
	CU_ASSERT_EQUAL(evtchn_handles_open(), 1);
	xenevtchn_close(h1);
	EXPECT_NULL(xenevtchn_fdopen(NULL, fd, 0), EBADF);   /* closed: gone */
	finish();
}

/* ---- evtchn_notify ---- */

static void xenevtchn_notify_delivers_to_peer(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	as(1);
	CU_ASSERT_FALSE(readable(h1));
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	CU_ASSERT_FALSE(readable(h1));   /* the sender sees nothing */
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);
	CU_ASSERT_EQUAL(xenevtchn_notify(h2, p2), 0);
	as(1);
	CU_ASSERT_EQUAL(pending_now(h1), (int)p1);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* What the trace sink saw of drops on unbound ports. */
struct unbound_seen {
	unsigned n;
	domid_t domid, peer;
	uint32_t port;
};

static void unbound_sink(const struct sim_trace_event *ev, void *ctx)
{
	struct unbound_seen *seen = ctx;

	if (ev->kind != SIM_TR_NOTE || strcmp(ev->text, "evtchn.notify.unbound") != 0)
		return;
	seen->n++;
	seen->domid = ev->domid;
	seen->peer = ev->peer;
	seen->port = ev->a;
}

/* Xen drops a send on an unbound port and returns success; counted, traced. */
static void xenevtchn_notify_unbound_dropped_counted(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	evtchn_port_t p = (evtchn_port_t)xenevtchn_bind_unbound_port(h, 2);
	struct unbound_seen seen = {0};
	uint64_t before = evtchn_unbound_sends();

	sim_trace_set_sink(unbound_sink, &seen);
	CU_ASSERT_EQUAL(xenevtchn_notify(h, p), 0);
	CU_ASSERT_EQUAL(evtchn_send(1, p), 0);
	sim_trace_set_sink(NULL, NULL);
	CU_ASSERT_EQUAL(evtchn_unbound_sends() - before, 2);
	CU_ASSERT_EQUAL(seen.n, 2);
	CU_ASSERT_EQUAL(seen.domid, 1);
	CU_ASSERT_EQUAL(seen.peer, 2);
	CU_ASSERT_EQUAL(seen.port, p);
	CU_ASSERT_FALSE(readable(h));   /* delivered nowhere, not even locally */
	CU_ASSERT_EQUAL(evtchn_port_status(1, p, NULL, NULL), EVTCHNSTAT_unbound);
	xenevtchn_close(h);
	finish();
}

/* The strict option: the old failure, not counted as a drop. */
static void xenevtchn_notify_unbound_strict_enotconn(void)
{
	doms_up();
	xenevtchn_handle *h = open_as(1);
	evtchn_port_t p = (evtchn_port_t)xenevtchn_bind_unbound_port(h, 2);
	uint64_t before = evtchn_unbound_sends();

	evtchn_set_strict(true);
	CU_ASSERT_TRUE(evtchn_strict());
	EXPECT_FAIL(xenevtchn_notify(h, p), ENOTCONN);
	CU_ASSERT_EQUAL(evtchn_send(1, p), -ENOTCONN);
	evtchn_set_strict(false);
	CU_ASSERT_EQUAL(evtchn_unbound_sends(), before);
	CU_ASSERT_EQUAL(xenevtchn_notify(h, p), 0);
	xenevtchn_close(h);
	finish();
}

static void xenevtchn_notify_closed_or_foreign_einval(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *other = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	as(1);
	/* a port of another handle of the same domain */
	EXPECT_FAIL(xenevtchn_notify(other, p1), EINVAL);
	EXPECT_FAIL(xenevtchn_notify(h1, 0), EINVAL);
	EXPECT_FAIL(xenevtchn_notify(h1, EVTCHN_PORTS_MAX), EINVAL);
	CU_ASSERT_EQUAL(xenevtchn_unbind(h1, p1), 0);
	EXPECT_FAIL(xenevtchn_notify(h1, p1), EINVAL);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), -2);   /* nothing arrived */
	xenevtchn_handle *hs[] = {h1, other, h2};
	close_all(hs, 3);
	finish();
}

static void evtchn_send_sim_side_paths(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	sim_thread_leave();   /* the hypervisor sends from no domain's thread */
	CU_ASSERT_EQUAL(evtchn_send(1, p1), 0);
	CU_ASSERT_EQUAL(evtchn_send(1, p1 + 1), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(1, 0), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(1, EVTCHN_PORTS_MAX), -EINVAL);
	CU_ASSERT_EQUAL(evtchn_send(77, 1), -ESRCH);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

#define PAIRS 1000u

static void xenevtchn_notify_thousand_pairs_each_once(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1[PAIRS], p2[PAIRS];
	static unsigned seen[EVTCHN_PORTS_MAX];
	unsigned got = 0, wrong = 0;

	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < PAIRS; i++)
		pair(h1, 1, h2, 2, &p1[i], &p2[i]);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(1), PAIRS);
	CU_ASSERT_EQUAL(evtchn_ports_in_use(2), PAIRS);
	as(1);
	for (unsigned i = 0; i < PAIRS; i++)
		CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1[i]), 0);
	as(2);
	for (int p; (p = pending_now(h2)) != -2 && got < 2 * PAIRS; got++) {
		if (p <= 0 || p >= (int)EVTCHN_PORTS_MAX)
			wrong++;
		else
			seen[p]++;
	}
	CU_ASSERT_EQUAL(got, PAIRS);
	CU_ASSERT_EQUAL(wrong, 0);
	for (unsigned i = 0; i < PAIRS; i++)
		if (seen[p2[i]] != 1)
			wrong++;
	CU_ASSERT_EQUAL(wrong, 0);
	evtchn_check();
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* Drain a handle: read everything, unmask each, until nothing comes back. */
static unsigned drain_count(xenevtchn_handle *h)
{
	unsigned n = 0;

	for (int p; n < 100 && (p = pending_now(h)) > 0; n++)
		xenevtchn_unmask(h, (evtchn_port_t)p);
	return n;
}

static void evtchn_fault_drop_loses_one_send(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	struct sim_fault_site *site = sim_fault_site_find("evtchn.notify.drop");
	evtchn_port_t p1, p2;

	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	pair(h1, 1, h2, 2, &p1, &p2);
	uint64_t before = atomic_load(&site->injected);
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);   /* lost, but the sender cannot tell */
	as(2);
	CU_ASSERT_EQUAL(drain_count(h2), 0);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);   /* fired once only */
	as(2);
	CU_ASSERT_EQUAL(drain_count(h2), 1);
	CU_ASSERT_EQUAL(atomic_load(&site->injected) - before, 1);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

static void evtchn_fault_dup_delivers_twice(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	CU_ASSERT_EQUAL(sim_fault_site_arm(sim_fault_site_find("evtchn.notify.dup"), 0, 0), 0);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);   /* pending again: re-delivered */
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

static void evtchn_fault_spurious_adds_an_event(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t a1, a2, b1, b2;

	pair(h1, 1, h2, 2, &a1, &a2);
	pair(h1, 1, h2, 2, &b1, &b2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, a1), 0);
	as(2);
	CU_ASSERT_EQUAL(drain_count(h2), 1);   /* without the fault: one */
	CU_ASSERT_EQUAL(sim_fault_site_arm(sim_fault_site_find("evtchn.notify.spurious"), 0, 0), 0);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, a1), 0);
	as(2);
	CU_ASSERT_EQUAL(drain_count(h2), 2);   /* a2 and a random one of a2, b2 */
	as(1);
	CU_ASSERT_EQUAL(drain_count(h1), 0);   /* the sender's side is untouched */
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

/* ---- evtchn_mask ---- */

static void xenevtchn_notify_masked_port_only_pending(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);   /* delivered: masked now */
	as(1);
	for (int i = 0; i < 3; i++)
		CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	as(2);
	CU_ASSERT_FALSE(readable(h2));
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);
	CU_ASSERT_TRUE(readable(h2));
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);   /* the three coalesce into one */
	CU_ASSERT_FALSE(readable(h2));
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);
	CU_ASSERT_FALSE(readable(h2));   /* nothing pending: unmask delivers nothing */
	evtchn_check();
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_unmask_while_queued_waits_for_read(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *h2 = open_as(2);
	evtchn_port_t p1, p2;

	pair(h1, 1, h2, 2, &p1, &p2);
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	as(2);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h2, p2), 0);   /* before reading it */
	as(1);
	CU_ASSERT_EQUAL(xenevtchn_notify(h1, p1), 0);
	evtchn_check();   /* queued => masked still holds */
	as(2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);
	CU_ASSERT_EQUAL(pending_now(h2), (int)p2);   /* the second send, once */
	CU_ASSERT_EQUAL(pending_now(h2), -2);
	xenevtchn_handle *hs[] = {h1, h2};
	close_all(hs, 2);
	finish();
}

static void xenevtchn_unmask_bad_port_einval(void)
{
	doms_up();
	xenevtchn_handle *h1 = open_as(1), *other = open_as(1);
	evtchn_port_t p = (evtchn_port_t)xenevtchn_bind_unbound_port(h1, 2);

	EXPECT_FAIL(xenevtchn_unmask(other, p), EINVAL);
	EXPECT_FAIL(xenevtchn_unmask(h1, p + 1), EINVAL);
	EXPECT_FAIL(xenevtchn_unmask(h1, 0), EINVAL);
	CU_ASSERT_EQUAL(xenevtchn_unmask(h1, p), 0);   /* an unbound port of ours: fine */
	xenevtchn_handle *hs[] = {h1, other};
	close_all(hs, 2);
	finish();
}

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

static const struct test_case bind_cases[] = {
	TEST(xenevtchn_open_outside_domain_esrch),
	TEST(xenevtchn_open_bad_flags_einval),
	TEST(xenevtchn_bind_unbound_port_self_unbound),
	TEST(xenevtchn_bind_unbound_port_bad_domid_esrch),
	TEST(xenevtchn_bind_interdomain_links_both_ends),
	TEST(xenevtchn_bind_interdomain_bad_domid_esrch),
	TEST(xenevtchn_bind_interdomain_not_unbound_einval),
	TEST(xenevtchn_bind_interdomain_other_domain_einval),
	TEST(xenevtchn_bind_interdomain_local_port_pending),
	TEST(xenevtchn_bind_interdomain_loopback_self),
	TEST(xenevtchn_call_other_domain_eperm),
	TEST(xenevtchn_unbind_twice_einval),
	TEST(xenevtchn_unbind_returns_peer_to_unbound),
	TEST(xenevtchn_bind_unbound_port_table_full_enospc),
	TEST(xenevtchn_bind_virq_dom_exc_needs_privilege),
	TEST(evtchn_raise_virq_delivers_to_bound_domains),
	TEST(xenevtchn_restrict_limits_binds),
	TEST(xenevtchn_fdopen_shares_ports),
	TEST(xenevtchn_fdopen_bad_fd_or_flags),
	TEST_END,
};

static const struct test_case notify_cases[] = {
	TEST(xenevtchn_notify_delivers_to_peer),
	TEST(xenevtchn_notify_unbound_dropped_counted),
	TEST(xenevtchn_notify_unbound_strict_enotconn),
	TEST(xenevtchn_notify_closed_or_foreign_einval),
	TEST(evtchn_send_sim_side_paths),
	TEST(xenevtchn_notify_thousand_pairs_each_once),
	TEST(evtchn_fault_drop_loses_one_send),
	TEST(evtchn_fault_dup_delivers_twice),
	TEST(evtchn_fault_spurious_adds_an_event),
	TEST_END,
};

static const struct test_case mask_cases[] = {
	TEST(xenevtchn_notify_masked_port_only_pending),
	TEST(xenevtchn_unmask_while_queued_waits_for_read),
	TEST(xenevtchn_unmask_bad_port_einval),
	TEST_END,
};

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
	test_add_suite("evtchn_bind", suite_reset, suite_reset, bind_cases);
	test_add_suite("evtchn_notify", suite_reset, suite_reset, notify_cases);
	test_add_suite("evtchn_mask", suite_reset, suite_reset, mask_cases);
	test_add_suite("evtchn_teardown", suite_reset, suite_reset, teardown_cases);
	test_add_suite("evtchn_threads", suite_reset, suite_reset, thread_cases);
	test_add_suite("evtchn_check", suite_reset, suite_reset, check_cases);
}
