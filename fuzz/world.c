/*
 * The driver targets' world, run from the fuzzer's thread: see fuzz/world.h.
 */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

#include <event2/event.h>

#include "drivers/xenbus/xenbus.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/world.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_internal.h"
#include "sim/xenstore/xs_store.h"

#define FW_EVENTS_MAX 128u   /* events one loop holds: a few per driver and channel */

static struct event_base *fw_bases[FW_DOMAINS];
static struct xs_handle *fw_toolstack;
static unsigned fw_cur;

void fw_init(void)
{
	static const char *names[FW_DOMAINS] = {"dom0", "guest1"};

	if (sim_init() < 0)
		FUZZ_FAIL("sim_init failed");
	for (unsigned d = 0; d < FW_DOMAINS; d++) {
		struct sim_domain_config cfg = {.name = names[d], .domid = (int)d, .privileged = d == 0};
		if (sim_domain_create(&cfg) != (int)d || !(fw_bases[d] = event_base_new()))
			FUZZ_FAIL("cannot create %s (domid %u) and its loop", names[d], d);
	}
	fw_as(0);
	if (!(fw_toolstack = xs_open(0)))
		FUZZ_FAIL("dom0 cannot open xenstore");
	for (unsigned d = 0; d < FW_DOMAINS; d++) {
		char path[32];
		struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};
		snprintf(path, sizeof(path), "/local/domain/%u", d);
		if (!xs_mkdir(fw_toolstack, XBT_NULL, path) ||
		    !xs_set_permissions(fw_toolstack, XBT_NULL, path, &p, 1))
			FUZZ_FAIL("cannot make %s", path);
	}
}

struct event_base *fw_base(unsigned d)
{
	return d < FW_DOMAINS ? fw_bases[d] : NULL;
}

struct xs_handle *fw_xs(void)
{
	return fw_toolstack;
}

void fw_as(unsigned d)
{
	if (sim_thread_enter((domid_t)d) != 0)
		FUZZ_FAIL("domain %u is gone", d);
	fw_cur = d;
}

int fw_call(unsigned d, int (*fn)(void *arg), void *arg)
{
	fw_as(d);
	return fn(arg);
}

void fw_pump(void)
{
	unsigned was = fw_cur;

	for (unsigned d = 0; d < FW_DOMAINS; d++) {
		fw_as(d);
		event_base_loop(fw_bases[d], EVLOOP_NONBLOCK);
	}
	fw_as(was);
}

/* The events a loop holds (event_pending takes the base's lock, which
 * event_base_foreach_event holds: gather first, then look). */
struct fw_scan {
	const struct event *evs[FW_EVENTS_MAX];
	unsigned n;
};

static int fw_scan_event(const struct event_base *base, const struct event *ev, void *arg)
{
	struct fw_scan *s = arg;

	(void)base;
	if (s->n < FW_EVENTS_MAX)
		s->evs[s->n++] = ev;
	return 0;
}

/* Would a pass of this loop do anything now: an active event, a readable
 * descriptor, a timer due (event_pending gives its expiry on the wall clock,
 * libevent's own mapping of its monotonic clock)? */
static bool fw_idle(struct event_base *base)
{
	struct fw_scan s = {.n = 0};
	struct pollfd fds[FW_EVENTS_MAX];
	unsigned nfds = 0;
	struct timeval now, soon, slack = {.tv_usec = FW_TIMER_SOON_US}, at;

	if (event_base_get_num_events(base, EVENT_BASE_COUNT_ACTIVE) > 0)
		return false;
	event_base_foreach_event(base, fw_scan_event, &s);
	gettimeofday(&now, NULL);
	timeradd(&now, &slack, &soon);
	for (unsigned i = 0; i < s.n; i++) {
		evutil_socket_t fd = event_get_fd(s.evs[i]);
		if (fd >= 0 && (event_get_events(s.evs[i]) & EV_READ) && event_pending(s.evs[i], EV_READ, NULL))
			fds[nfds++] = (struct pollfd){.fd = fd, .events = POLLIN};
		if (event_pending(s.evs[i], EV_TIMEOUT, &at) && timercmp(&at, &soon, <=))
			return false;
	}
	return nfds == 0 || poll(fds, nfds, 0) == 0;
}

bool fw_settle(void)
{
	for (unsigned pass = 0; pass < FW_SETTLE_PASSES; pass++) {
		bool idle = true;
		for (unsigned d = 0; d < FW_DOMAINS; d++)
			idle = idle && fw_idle(fw_bases[d]);
		if (idle)
			return true;
		fw_pump();
	}
	return false;
}

uint64_t fw_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

bool fw_drive(bool (*done)(void *arg), bool (*poke)(void *arg), void *arg,
	      unsigned idle_rounds, unsigned ms)
{
	uint64_t end = fw_ms() + ms;
	unsigned idle = 0;

	/* Settled first, every time: done() may already hold before the loops
	 * ran what the caller just set off (an input that writes no tx slot is
	 * "answered" at once), and the checks after it must see its effects. */
	for (;;) {
		bool quiet = fw_settle();
		if (done(arg))
			return true;
		if (fw_ms() > end)
			return false;
		bool changed = poke && poke(arg);
		if (changed)
			idle = 0;
		else if (quiet && idle_rounds && ++idle >= idle_rounds)
			return false;
		if (!changed && quiet)
			sched_yield();   /* only a timer further off can move it now */
	}
}

bool fw_wait(bool (*done)(void *arg), void *arg)
{
	return fw_drive(done, NULL, arg, 0, FW_WAIT_MS);
}

/* The store's requests so far, less the harness's own state reads (a read
 * outside a transaction changes nothing xs_store_check() looks at): see
 * fw_check(). Counted exactly, as the requests one read made. */
static uint64_t fw_xs_reads;

static uint64_t fw_xs_requests(void)
{
	struct xs_store_stats st;

	xs_store_stats_get(&st);
	return st.requests;
}

XenbusState fw_state(const char *dir)
{
	XenbusState st = XenbusStateUnknown;
	unsigned was = fw_cur;
	uint64_t before = fw_xs_requests();

	fw_as(0);
	xenbus_state_read(fw_toolstack, dir, &st);
	fw_as(was);
	fw_xs_reads += fw_xs_requests() - before;
	return st;
}

struct fw_state_want {
	const char *dir;
	XenbusState want;
};

static bool fw_state_is(void *arg)
{
	struct fw_state_want *w = arg;

	return fw_state(w->dir) == w->want;
}

void fw_wait_state(const char *dir, XenbusState want)
{
	struct fw_state_want w = {.dir = dir, .want = want};

	if (!fw_wait(fw_state_is, &w))
		FUZZ_FAIL("%s stays in %s, not %s after %u ms", dir, xenbus_state_name(fw_state(dir)),
			  xenbus_state_name(want), FW_WAIT_MS);
}

/* What xs_store_check() verifies (the nodes, their owners' counts and
 * permissions, each connection's watches and transactions, which domains are
 * alive) changes only by a request (counted; fw_state()'s reads, which change
 * none of it, not), a node's change (the store generation), a connection
 * opened or closed (their number and the newest one's creation order), a
 * connection dropped, or a domain coming, going or being introduced (a digest
 * of those flags). The same fingerprint as at the last check: the store is
 * the one found consistent then, and checking it again could not fail. */
struct fw_xs_print {
	uint64_t requests, dropped, gen, newest, conns, doms;
};

static struct fw_xs_print fw_xs_checked;
static bool fw_xs_checked_valid;

static void fw_xs_print(struct fw_xs_print *p)
{
	xs_lock();
	*p = (struct fw_xs_print){.requests = xs_g.stats.requests - fw_xs_reads,
				  .dropped = xs_g.stats.conns_dropped, .gen = xs_g.gen,
				  .newest = xs_g.conns ? xs_g.conns->order : 0};
	for (const struct xs_conn *c = xs_g.conns; c; c = c->next)
		p->conns++;
	for (unsigned d = 0; d < XS_DOMID_SLOTS; d++)   /* FNV-1a over the flags */
		p->doms = (p->doms ^ (xs_g.doms[d].alive | xs_g.doms[d].introduced << 1 |
				      (uint64_t)xs_g.doms[d].target << 2)) * 0x100000001b3ull;
	xs_unlock();
}

static bool fw_xs_same(const struct fw_xs_print *a, const struct fw_xs_print *b)
{
	return a->requests == b->requests && a->dropped == b->dropped && a->gen == b->gen &&
	       a->newest == b->newest && a->conns == b->conns && a->doms == b->doms;
}

/* SIGALRM held off meanwhile: libFuzzer's -timeout ticks with it, and
 * evtchn_check() asserts that its poll(fd, 0 ms) of every handle succeeds,
 * which a signal arriving just then makes fail with EINTR (a false alarm,
 * seen once in 480 k inputs; the tick comes when the checks are over).
 * gnttab_check() skips by itself a table unchanged since it last passed
 * (gnttab_gen); xs_store_check() is skipped here the same way (above). */
void fw_check(void)
{
	sigset_t alarm, was;
	struct fw_xs_print now;

	sigemptyset(&alarm);
	sigaddset(&alarm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alarm, &was);
	gnttab_check();
	evtchn_check();
	fw_xs_print(&now);
	if (!fw_xs_checked_valid || !fw_xs_same(&now, &fw_xs_checked)) {
		xs_store_check();
		fw_xs_checked = now;
		fw_xs_checked_valid = true;
	}
	pthread_sigmask(SIG_SETMASK, &was, NULL);
}
