/* What the event-channel suites (evtchn_test, evtchn_threads_test) share:
 * handles opened as a domain, a linked pair, non-blocking reads, the end of
 * every test (consistent state, nothing left open). */
#ifndef XENSIM_TEST_EVTCHN_FIXTURE_H
#define XENSIM_TEST_EVTCHN_FIXTURE_H

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <time.h>

#include <xenevtchn.h>

#include "sim/evtchn/evtchn.h"
#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define WAIT_MS_MAX 60000   /* bound on every wait for another thread */


static inline xenevtchn_handle *open_as(domid_t domid)
{
	as(domid);
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static inline bool readable(xenevtchn_handle *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(h), .events = POLLIN};
	return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

/* xenevtchn_pending() that never blocks: -2 when nothing is readable. */
static inline int pending_now(xenevtchn_handle *h)
{
	return readable(h) ? xenevtchn_pending(h) : -2;
}

/* An interdomain pair: `a` in dom `da` allocates, `b` in dom `db` binds. The
 * initial event of the bind is consumed and the port unmasked. */
static inline void pair(xenevtchn_handle *a, domid_t da, xenevtchn_handle *b, domid_t db,
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

static inline void close_all(xenevtchn_handle **hs, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		CU_ASSERT_EQUAL(xenevtchn_close(hs[i]), 0);
}

/* End of every test: consistent state, nothing left open. */
static inline void finish(void)
{
	evtchn_check();
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
	sim_reset();
	CU_ASSERT_EQUAL(evtchn_ports_in_use(0), 0);
}

static inline int suite_reset(void)
{
	sim_reset();
	return 0;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Wait (bounded) until *v reaches want. */
static inline bool wait_for(atomic_uint *v, unsigned want)
{
	for (unsigned i = 0; i < WAIT_MS_MAX * 10 && atomic_load(v) < want; i++) {
		struct timespec ts = {.tv_nsec = 100000};
		nanosleep(&ts, NULL);
	}
	return atomic_load(v) >= want;
}

#endif
