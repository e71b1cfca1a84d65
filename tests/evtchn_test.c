/* CUnit suites for sim/evtchn: the libxenevtchn API (xenevtchn.h) as in-process
 * domains see it, and the sim-side view (evtchn.h): binding, notification,
 * masking. The test thread acts for a domain with sim_thread_enter().
 * Teardown, threads and the invariant check are in evtchn_threads_test.c. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/evtchn_fixture.h"

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

void test_register(void)
{
	test_add_suite("evtchn_bind", suite_reset, suite_reset, bind_cases);
	test_add_suite("evtchn_notify", suite_reset, suite_reset, notify_cases);
	test_add_suite("evtchn_mask", suite_reset, suite_reset, mask_cases);
}
