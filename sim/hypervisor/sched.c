/*
 * The deterministic scheduler. Exactly one thread runs at a time: the holder of
 * the token. Domain threads give it up only at scheduling points (every Xen API
 * call, every ring barrier) and at the end of an event-loop step; the next
 * holder is chosen by one seeded PRNG (policies: random walk, PCT). The
 * controller (the harness thread in sim_run) holds the token when no domain
 * does; it alone advances virtual time, and only when no domain can run.
 *
 * Handoff is direct (holder -> next) through per-thread semaphores; a holder
 * that picks itself just carries on, so the hot path is a pick and a hash.
 * A pick asks every idle domain whether its event loop has work; the answer
 * of its fds is kept from one pick to the next while no I/O happened (vclock.c
 * counts it), so most picks make no system call. The threads of a
 * det run share one CPU (see pin_follow_controller). Everything here is
 * touched only by the token holder, except the thread list in free mode,
 * which has its own lock.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "sim/hypervisor/hypervisor_internal.h"

#define SCHED_PCT_DEPTH_MAX 16
#define SCHED_POLLFDS_MAX 256
#define SCHED_READY_CACHE_FDS 16        /* fds of a domain whose last poll is kept */
#define SCHED_READY_VERIFY_EVERY 64     /* a kept answer is checked by poll() this often */
#define SCHED_STOP_POINTS_MAX 1000000   /* points a stopped thread may pass before it is frozen */
#define LIVELOCK_SPIN "a loop that never waits"

enum sched_state { SCH_IDLE, SCH_RUNNING, SCH_PREEMPTED, SCH_BLOCKED, SCH_EXITED };

/* The last poll() of an idle domain's fds. It stays the answer while no I/O
 * happened since (vclock.c counts I/O): each pick would otherwise cost a
 * system call per idle domain. */
struct ready_cache {
	unsigned nfds;             /* 0: nothing kept */
	struct pollfd fds[SCHED_READY_CACHE_FDS];   /* revents 0 */
	uint64_t io_gen;           /* vclock_io_now() before that poll */
	bool ready;
	unsigned hits;
};

/* The scan of an idle domain's base (its fds and its next timer), kept while
 * the domain does not run: only its own steps change its events, but for an
 * event added or deleted by another thread, which the count of added events
 * shows. Every SCHED_READY_VERIFY_EVERY-th use is checked against a scan. */
struct scan_cache {
	bool valid;
	int added;                 /* event_base_get_num_events(EVENT_BASE_COUNT_ADDED) */
	unsigned nfds;
	struct pollfd fds[SCHED_READY_CACHE_FDS];
	bool has_timer;
	uint64_t next_timer_ns;
	unsigned hits;
};

struct sched_thread {
	domid_t domid;
	struct event_base *base;
	enum sched_state state;
	bool stopping;
	bool unlinked;             /* left the thread list already (self-destroy) */
	sem_t sem;                 /* posted to hand this thread the token */
	sem_t ready;               /* posted once, when the new thread has parked */
	bool (*block_pred)(void *arg);
	void *block_arg;
	uint64_t prio;             /* PCT */
	bool pick_ready;           /* pick_random's scratch */
	bool has_pthread;          /* pthread is set: the loop has started */
	bool frozen;               /* stopped but never left its step: parked for good */
	bool paused;               /* its domain is paused: not picked */
	uint64_t stop_points;      /* points passed since it was stopped */
	const char *site;          /* the last point it passed (NULL: none) */
	pthread_t pthread;
	struct ready_cache rc;
	struct scan_cache sc;
};

struct sim_timer {
	uint64_t at_ns;
	void (*fn)(void *arg);
	void *arg;
	struct sim_timer *next;   /* sorted by at_ns, then by arming order */
};

enum sched_back { BACK_NONE, BACK_UNTIL, BACK_IDLE, BACK_STEPS };

static struct {
	enum sim_mode mode;
	enum sim_policy policy;
	unsigned pct_depth;
	uint64_t pct_change[SCHED_PCT_DEPTH_MAX];
	uint64_t rng[4];
	pthread_mutex_t list_lock;
	struct sched_thread *threads[SIM_DOMAINS_MAX];
	unsigned nthreads;
	struct sched_thread *running;      /* token holder; NULL: the controller */
	sem_t ctl_sem;
	sem_t *exit_waiter;
	enum sched_back back;
	bool (*until)(void *arg);
	void *until_arg;
	uint64_t steps, max_steps, switches;
	bool (*slice_fn)(void *arg);       /* sim_run_sliced: the in-place slice hook */
	void *slice_arg;
	uint64_t slice_steps;
	bool slice_stop;                   /* the hook said stop: the run ends (BACK_STEPS) */
	uint64_t trace_hash;
	struct sim_timer *timers;          /* det mode: the environment's own timers */
	int cpu;                           /* det mode: the domain threads' one CPU, or -1 */
	bool ctl_pinned;                   /* the controller is held on S.cpu (pin_controller) */
	pid_t ctl_tid;                     /* then: which thread, and its own mask before */
	cpu_set_t ctl_mask;
	domid_t last_domid;                /* who passed the last point, and where */
	const char *last_site;
	uint64_t call_steps;               /* bound of a controller's domain call (0: none) */
	void (*on_livelock)(const char *why);   /* when one ran out of it */
	unsigned stuck_s;                  /* wall-clock seconds without a step: stuck (0: never) */
	_Atomic uint64_t steps_seen;       /* S.steps, for the controller's watchdog */
	char livelock[256];                /* a domain that never stopped running ("": none) */
	uint64_t active_ns;                /* det mode: virtual time a domain last had the token */
	uint64_t active_switches;          /* S.switches when active_ns was taken */
	sim_sched_idle_hook_fn *idle_hook; /* sim_sched_set_idle_hook */
	void *idle_arg;
	uint64_t idle_min_ns;
} S = {
	.list_lock = PTHREAD_MUTEX_INITIALIZER,
	.trace_hash = 14695981039346656037ull,
	.cpu = -1,
};

static __thread struct sched_thread *tls_sched;
static sem_t frozen_sem;                   /* never posted: where frozen threads wait */
extern _Atomic uint64_t vclock_ns;
extern atomic_bool vclock_virtual;

static pthread_once_t sched_once = PTHREAD_ONCE_INIT;

static void sched_init_once(void)
{
	sem_init(&S.ctl_sem, 0, 0);
	sem_init(&frozen_sem, 0, 0);
}

/* ---- PRNG and trace hash ---- */

static uint64_t sched_rng(void)
{
	return hv_rng_next(S.rng);
}

static void trace_mix_bytes(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		S.trace_hash = (S.trace_hash ^ b[i]) * 1099511628211ull;
}

/* The bytes of `s` without its NUL, like trace_mix_bytes(s, strlen(s)) in one pass. */
static void trace_mix_str(const char *s)
{
	for (; *s; s++)
		S.trace_hash = (S.trace_hash ^ (uint8_t)*s) * 1099511628211ull;
}

static void trace_mix(domid_t domid, const char *site)
{
	trace_mix_bytes(&domid, sizeof(domid));
	trace_mix_str(site);
}

void sim_trace_mix(const char *what, uint64_t value)
{
	if (S.mode != SIM_MODE_DET)
		return;
	trace_mix_str(what);
	trace_mix_bytes(&value, sizeof(value));
}

uint64_t sim_trace_hash(void)
{
	return S.trace_hash;
}

uint64_t sim_sched_steps(void)
{
	return S.steps;
}

enum sim_mode sim_mode(void)
{
	return S.mode;
}

bool sched_det(void)
{
	return S.mode == SIM_MODE_DET;
}

static void pin_controller(void);
static void unpin_controller(void);

/* ---- configuration ---- */

int sim_sched_configure(const struct sim_sched_config *cfg)
{
	uint64_t seed = cfg->seed;

	pthread_once(&sched_once, sched_init_once);
	if (sim_domain_count() != 0)
		return -EBUSY;
	if (cfg->policy == SIM_POLICY_PCT &&
	    (cfg->pct_depth == 0 || cfg->pct_depth > SCHED_PCT_DEPTH_MAX))
		return -EINVAL;
	S.mode = cfg->mode;
	S.policy = cfg->policy;
	S.pct_depth = cfg->pct_depth;
	hv_rng_seed(S.rng, seed);
	uint64_t k = cfg->pct_steps ? cfg->pct_steps : 20000;
	for (unsigned i = 0; i + 1 < S.pct_depth; i++)
		S.pct_change[i] = 1 + sched_rng() % k;
	S.steps = S.switches = 0;
	atomic_store_explicit(&S.steps_seen, 0, memory_order_relaxed);
	S.call_steps = 0;
	S.on_livelock = NULL;
	S.stuck_s = 0;
	S.livelock[0] = '\0';
	S.last_domid = DOMID_INVALID;
	S.last_site = NULL;
	S.idle_hook = NULL;
	unpin_controller();
	S.cpu = cfg->mode == SIM_MODE_DET ? sched_getcpu() : -1;
	if (S.cpu >= 0)
		pin_controller();
	while (S.timers) {
		struct sim_timer *t = S.timers;
		S.timers = t->next;
		free(t);
	}
	S.trace_hash = 14695981039346656037ull;
	trace_mix_bytes(&cfg->seed, sizeof(cfg->seed));
	atomic_store(&vclock_ns, 1000000000ull);
	S.active_ns = atomic_load(&vclock_ns);
	S.active_switches = 0;
	atomic_store(&vclock_virtual, cfg->mode == SIM_MODE_DET);
	sim_rng_seed(cfg->seed);
	atomic_store(&sim_sched_active, cfg->mode == SIM_MODE_DET);
	return 0;
}

/* ---- threads ---- */

struct sched_thread *sched_thread_new(domid_t domid, struct event_base *base)
{
	struct sched_thread *t = calloc(1, sizeof(*t));

	pthread_once(&sched_once, sched_init_once);
	if (!t)
		return NULL;
	t->domid = domid;
	t->base = base;
	t->state = SCH_IDLE;
	sem_init(&t->sem, 0, 0);
	sem_init(&t->ready, 0, 0);
	pthread_mutex_lock(&S.list_lock);
	SIM_ASSERT(S.nthreads < SIM_DOMAINS_MAX, "too many domain threads");
	t->prio = S.mode == SIM_MODE_DET ? S.pct_depth + sched_rng() % 1000000000ull : 0;
	S.threads[S.nthreads++] = t;
	pthread_mutex_unlock(&S.list_lock);
	return t;
}

static void sched_thread_unlink(struct sched_thread *t)
{
	pthread_mutex_lock(&S.list_lock);
	unsigned i = 0;
	while (i < S.nthreads && S.threads[i] != t)
		i++;
	SIM_ASSERT(i < S.nthreads, "domain %u: scheduler thread not registered", t->domid);
	memmove(&S.threads[i], &S.threads[i + 1], (S.nthreads - i - 1) * sizeof(S.threads[0]));
	S.nthreads--;
	t->unlinked = true;
	if (S.nthreads == 0)
		unpin_controller();   /* the run's domains are gone: the kernel may move it again */
	pthread_mutex_unlock(&S.list_lock);
}

void sched_thread_free(struct sched_thread *t)
{
	if (!t->unlinked)
		sched_thread_unlink(t);
	sem_destroy(&t->sem);
	sem_destroy(&t->ready);
	free(t);
}

/* ---- readiness ---- */

struct ready_scan {
	struct pollfd fds[SCHED_POLLFDS_MAX];
	unsigned nfds;
	struct event *timed[SCHED_POLLFDS_MAX];
	unsigned ntimed;
	bool timer_due;
	bool has_timer;
	uint64_t next_timer_ns;
};

/* Runs under the base's lock: only lock-free getters here. */
static int ready_scan_event(const struct event_base *base, const struct event *ev, void *arg)
{
	struct ready_scan *rs = arg;
	evutil_socket_t fd = event_get_fd(ev);
	short what = event_get_events(ev);

	(void)base;
	if (fd >= 0 && (what & (EV_READ | EV_WRITE)) && !(what & EV_SIGNAL) &&
	    rs->nfds < SCHED_POLLFDS_MAX) {
		rs->fds[rs->nfds].fd = fd;
		rs->fds[rs->nfds].events = (short)((what & EV_READ ? POLLIN : 0) |
						   (what & EV_WRITE ? POLLOUT : 0));
		rs->nfds++;
	}
	if (rs->ntimed < SCHED_POLLFDS_MAX)
		rs->timed[rs->ntimed++] = (struct event *)ev;
	return 0;
}

static void base_scan(struct event_base *base, struct ready_scan *rs)
{
	struct timeval tv;

	rs->nfds = rs->ntimed = 0;
	rs->timer_due = rs->has_timer = false;
	rs->next_timer_ns = 0;
	event_base_foreach_event(base, ready_scan_event, rs);
	for (unsigned i = 0; i < rs->ntimed; i++) {
		if (!event_pending(rs->timed[i], EV_TIMEOUT, &tv))
			continue;
		/* Real and monotonic virtual clocks agree, so this is virtual time. */
		uint64_t ns = (uint64_t)tv.tv_sec * 1000000000ull + (uint64_t)tv.tv_usec * 1000ull;
		if (ns <= atomic_load(&vclock_ns))
			rs->timer_due = true;
		if (!rs->has_timer || ns < rs->next_timer_ns)
			rs->next_timer_ns = ns;
		rs->has_timer = true;
	}
}

static bool scan_cache_same(const struct scan_cache *sc, const struct ready_scan *rs)
{
	if (sc->nfds != rs->nfds || sc->has_timer != rs->has_timer ||
	    (sc->has_timer && sc->next_timer_ns != rs->next_timer_ns))
		return false;
	for (unsigned i = 0; i < rs->nfds; i++)
		if (sc->fds[i].fd != rs->fds[i].fd || sc->fds[i].events != rs->fds[i].events)
			return false;
	return true;
}

/* base_scan of an idle domain, from its scan_cache when that holds (rs->timed
 * is then left empty: only base_scan's callers here, which do not use it). */
static void base_scan_idle(struct sched_thread *t, struct ready_scan *rs)
{
	struct scan_cache *sc = &t->sc;
	int added = event_base_get_num_events(t->base, EVENT_BASE_COUNT_ADDED);
	bool kept = sc->valid && sc->added == added;

	if (kept && ++sc->hits % SCHED_READY_VERIFY_EVERY != 0) {
		rs->nfds = sc->nfds;
		memcpy(rs->fds, sc->fds, sc->nfds * sizeof(sc->fds[0]));
		rs->ntimed = 0;
		rs->has_timer = sc->has_timer;
		rs->next_timer_ns = sc->next_timer_ns;
		rs->timer_due = sc->has_timer && sc->next_timer_ns <= atomic_load(&vclock_ns);
		return;
	}
	base_scan(t->base, rs);
	SIM_ASSERT(!kept || scan_cache_same(sc, rs),
		   "domain %u: its events changed while it was idle, none added or deleted", t->domid);
	sc->valid = rs->nfds <= SCHED_READY_CACHE_FDS;
	sc->added = added;
	sc->nfds = sc->valid ? rs->nfds : 0;
	memcpy(sc->fds, rs->fds, sc->nfds * sizeof(sc->fds[0]));
	sc->has_timer = rs->has_timer;
	sc->next_timer_ns = rs->next_timer_ns;
}

static bool ready_cache_holds(const struct ready_cache *rc, const struct ready_scan *rs)
{
	if (rc->nfds != rs->nfds)
		return false;
	for (unsigned i = 0; i < rs->nfds; i++)
		if (rc->fds[i].fd != rs->fds[i].fd || rc->fds[i].events != rs->fds[i].events)
			return false;
	return vclock_io_now() == rc->io_gen;
}

/* Is one of the idle domain's fds ready? From its last poll when no I/O could
 * have changed the answer; every SCHED_READY_VERIFY_EVERY-th such answer is
 * checked against poll(), so that a change of readiness vclock.c does not
 * count shows up. */
static bool fds_ready(struct sched_thread *t, struct ready_scan *rs)
{
	struct ready_cache *rc = &t->rc;
	bool kept = ready_cache_holds(rc, rs);

	if (kept && ++rc->hits % SCHED_READY_VERIFY_EVERY != 0)
		return rc->ready;
	uint64_t gen = vclock_io_now();
	bool ready = poll(rs->fds, rs->nfds, 0) > 0;
	/* (I/O counted meanwhile came from a thread without the token: not ours to judge.) */
	SIM_ASSERT(!kept || ready == rc->ready || vclock_io_now() != rc->io_gen,
		   "domain %u: one of its %u fds (the first: %d) became %s with no I/O counted",
		   t->domid, rs->nfds, rs->fds[0].fd, ready ? "ready" : "unready");
	rc->nfds = rs->nfds <= SCHED_READY_CACHE_FDS ? rs->nfds : 0;
	for (unsigned i = 0; i < rc->nfds; i++)
		rc->fds[i] = (struct pollfd){.fd = rs->fds[i].fd, .events = rs->fds[i].events};
	rc->io_gen = gen;
	rc->ready = ready;
	return ready;
}

static bool domain_has_work(struct sched_thread *t)
{
	struct ready_scan rs;

	if (event_base_get_num_events(t->base, EVENT_BASE_COUNT_ACTIVE) > 0)
		return true;
	base_scan_idle(t, &rs);
	if (rs.timer_due)
		return true;
	return rs.nfds && fds_ready(t, &rs);
}

static bool thread_ready(struct sched_thread *t)
{
	if (t->paused)
		return false;
	switch (t->state) {
	case SCH_RUNNING:
	case SCH_PREEMPTED:
		return true;
	case SCH_IDLE:
		return !t->stopping && domain_has_work(t);
	case SCH_BLOCKED:
		return t->block_pred(t->block_arg);
	case SCH_EXITED:
		return false;
	}
	return false;
}

/* Random walk: a uniform choice among the ready threads, in list order. */
static struct sched_thread *pick_random(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < S.nthreads; i++) {
		S.threads[i]->pick_ready = thread_ready(S.threads[i]);
		n += S.threads[i]->pick_ready;
	}
	if (n == 0)
		return NULL;
	unsigned k = n == 1 ? 0 : (unsigned)(sched_rng() % n);
	for (unsigned i = 0;; i++)
		if (S.threads[i]->pick_ready && k-- == 0)
			return S.threads[i];
}

/* PCT: the ready thread of highest priority, the first in list order among
 * equals. A thread that cannot beat the best so far needs no readiness test. */
static struct sched_thread *pick_pct(void)
{
	struct sched_thread *best = NULL;

	for (unsigned i = 0; i < S.nthreads; i++) {
		struct sched_thread *t = S.threads[i];
		if ((!best || t->prio > best->prio) && thread_ready(t))
			best = t;
	}
	return best;
}

/* The next holder by policy, or NULL when no domain can run. */
static struct sched_thread *sched_pick(void)
{
	return S.policy == SIM_POLICY_RANDOM ? pick_random() : pick_pct();
}

/* PCT: at the i-th change point the running thread drops to priority i. */
static void pct_step(struct sched_thread *t)
{
	for (unsigned i = 0; i + 1 < S.pct_depth; i++)
		if (S.pct_change[i] == S.steps)
			t->prio = i + 1;
}

/* ---- one CPU for the deterministic run ----
 *
 * Only the token holder runs, so the domain threads gain nothing from running
 * on several CPUs, and they lose much when they do: a handoff to a thread
 * asleep on another CPU is a cross-CPU wake-up, and every mprotect or munmap
 * of a grant mapping flushes the TLB of each CPU the process ran on, by
 * interrupt (a third of a short block run's time went to the two). So a det
 * run keeps to the CPU its controller is on when the scheduler is configured
 * (like rr keeps a recording on one CPU): the controller is held there until
 * the run's last domain thread is gone, and the domain threads, created by it
 * or by each other, inherit that mask. When the controller cannot be held, the
 * domain threads are pinned one by one and follow it when the kernel moves it.
 * Best effort: a refused affinity only costs time. */

static void pin_controller(void)
{
	cpu_set_t one;

	if (sched_getaffinity(0, sizeof(S.ctl_mask), &S.ctl_mask) != 0)
		return;
	CPU_ZERO(&one);
	CPU_SET(S.cpu, &one);
	if (sched_setaffinity(0, sizeof(one), &one) != 0)
		return;
	S.ctl_tid = gettid();
	S.ctl_pinned = true;
}

static void unpin_controller(void)
{
	if (!S.ctl_pinned)
		return;
	S.ctl_pinned = false;
	(void)sched_setaffinity(S.ctl_tid, sizeof(S.ctl_mask), &S.ctl_mask);   /* by tid: it may be gone */
}

static void pin_thread(struct sched_thread *t, int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	(void)pthread_setaffinity_np(t->pthread, sizeof(set), &set);
}

/* The controller, holding the token: when it is not held on one CPU and the
 * kernel moved it, move every parked thread to its new CPU. */
static void pin_follow_controller(void)
{
	if (S.ctl_pinned)
		return;
	int cpu = sched_getcpu();

	if (cpu < 0 || cpu == S.cpu)
		return;
	S.cpu = cpu;
	for (unsigned i = 0; i < S.nthreads; i++)
		if (S.threads[i]->has_pthread && S.threads[i]->state != SCH_EXITED)
			pin_thread(S.threads[i], cpu);
}

/* ---- handoff ---- */

static void resume(struct sched_thread *next)
{
	next->sc.valid = false;   /* it runs: its events may change */
	S.running = next;
	next->state = SCH_RUNNING;
	S.switches++;
	sem_post(&next->sem);
}

/* Give the token to `next` (or back to the controller with `why`) and wait
 * until somebody hands it back to `self`. */
static void hand_off(struct sched_thread *self, enum sched_state as, struct sched_thread *next,
		     enum sched_back why)
{
	self->state = as;
	if (next) {
		resume(next);
	} else {
		S.running = NULL;
		S.back = why;
		sem_post(&S.ctl_sem);
	}
	while (sem_wait(&self->sem) < 0 && errno == EINTR)
		;
	SIM_ASSERT(S.running == self, "domain %u resumed without the token", self->domid);
}

/* A slice of sim_run_sliced ended: its hook runs here, on the token holder,
 * as the harness. True: carry on with the next slice without the controller. */
static bool slice_continue(void)
{
	if (!S.slice_fn)
		return false;
	S.max_steps = S.steps + S.slice_steps;
	domid_t was = domain_tls_swap(DOMID_INVALID);
	bool go = S.slice_fn(S.slice_arg);
	domain_tls_swap(was);
	S.slice_stop = !go;
	return go;
}

/* Should the controller get the token back now? */
static enum sched_back controller_wants(void)
{
	if (S.until && S.until(S.until_arg))
		return BACK_UNTIL;
	if (S.slice_stop || (S.max_steps && S.steps >= S.max_steps && !slice_continue()))
		return BACK_STEPS;
	return BACK_NONE;
}

/* Choose who runs after `self` stops at a point (as PREEMPTED) or at the end of
 * a step (as IDLE); carry on when that is `self`. */
static void reschedule(struct sched_thread *self, enum sched_state as)
{
	self->sc.valid = false;   /* it ran: its events may have changed */
	enum sched_back why = controller_wants();

	if (why != BACK_NONE) {
		hand_off(self, as, NULL, why);
		return;
	}
	self->state = as;
	struct sched_thread *next = sched_pick();
	if (next == self) {
		self->state = SCH_RUNNING;
		return;
	}
	hand_off(self, as, next, BACK_IDLE);
}

static sim_sched_point_hook_fn *_Atomic point_hook;

void sim_sched_set_idle_hook(sim_sched_idle_hook_fn *fn, uint64_t min_ns, void *arg)
{
	S.idle_hook = fn;
	S.idle_min_ns = min_ns;
	S.idle_arg = arg;
	S.active_ns = atomic_load(&vclock_ns);
	S.active_switches = S.switches;
}

void sim_sched_set_point_hook(sim_sched_point_hook_fn *fn)
{
	atomic_store(&point_hook, fn);
}

/* ---- livelock: a domain that never stops running ---- */

static void livelock_note(domid_t domid, const char *site, const char *why, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* "domain D <fmt...>, last at SITE: WHY" */
static void livelock_note(domid_t domid, const char *site, const char *why, const char *fmt, ...)
{
	char how[96];
	va_list ap;

	if (S.livelock[0])
		return;
	va_start(ap, fmt);
	vsnprintf(how, sizeof(how), fmt, ap);
	va_end(ap);
	snprintf(S.livelock, sizeof(S.livelock), "domain %u %s, last at %s: %s", domid, how,
		 site ? site : "(no point)", why);
	sim_log("livelock: %s", S.livelock);
}

/* A stopped thread passes its points without yielding until its step ends;
 * one that never gets there spins in a loop waiting for what no other domain
 * will do now. It is parked for good: the waiter in sched_thread_stop() goes
 * on, the domain is torn down around it (domain.c does not join it). */
static void sched_freeze(struct sched_thread *t, const char *site)
{
	livelock_note(t->domid, site, LIVELOCK_SPIN,
		      "was stopped but did not finish its step in %u points", SCHED_STOP_POINTS_MAX);
	t->frozen = true;
	t->state = SCH_EXITED;
	sem_t *w = S.exit_waiter;
	S.exit_waiter = NULL;
	SIM_ASSERT(w, "domain %u frozen with nobody waiting for it to stop", t->domid);
	sem_post(w);
	for (;;)
		sem_wait(&frozen_sem);
}

bool sched_thread_frozen(const struct sched_thread *t)
{
	return t->frozen;
}

void sched_thread_set_paused(struct sched_thread *t, bool paused)
{
	t->paused = paused;
}

void sim_sched_set_call_bound(uint64_t steps, void (*on_livelock)(const char *why))
{
	S.call_steps = steps;
	S.on_livelock = on_livelock;
}

uint64_t sched_call_steps(void)
{
	return S.call_steps;
}

void sched_call_overran(domid_t callee)
{
	livelock_note(S.last_domid, S.last_site, LIVELOCK_SPIN,
		      "kept running through a %lu-step call to domain %u", S.call_steps, callee);
	if (S.on_livelock)
		S.on_livelock(S.livelock);
}

void sim_sched_set_stuck_bound(unsigned wall_s)
{
	S.stuck_s = wall_s;
}

/* ---- stuck: the token held, and no step for seconds of wall-clock time ----
 *
 * A domain that holds the token and never reaches a scheduling point again
 * leaves the controller waiting for ever: it blocks outside the sim (on a
 * lock another domain holds across a scheduling point, in a call the sim does
 * not see) or spins in a loop with no point in it. Steps are what a det run
 * is made of, so none for S.stuck_s seconds ends the run as a livelock does
 * (on_livelock), naming the domain and its last point. The wall clock only
 * bounds this wait: it never decides what a run does, only how long a run
 * that can do nothing more is waited for. */
static void step_counted(void)
{
	S.steps++;
	atomic_store_explicit(&S.steps_seen, S.steps, memory_order_relaxed);
}

static bool ctl_wait_for(unsigned s)
{
	struct timespec ts;

	/* sem_timedwait, not sem_clockwait: ThreadSanitizer sees the handoff
	 * only through the waits it knows. */
	hv_real_clock(CLOCK_REALTIME, &ts);
	ts.tv_sec += s;
	while (sem_timedwait(&S.ctl_sem, &ts) < 0)
		if (errno != EINTR)
			return false;
	return true;
}

static void ctl_wait_plain(void)
{
	while (sem_wait(&S.ctl_sem) < 0 && errno == EINTR)
		;
}

/* The controller waits for the token to come back to it. */
static void ctl_wait(void)
{
	uint64_t seen = atomic_load_explicit(&S.steps_seen, memory_order_relaxed);

	if (!S.stuck_s || !S.on_livelock) {
		ctl_wait_plain();
		return;
	}
	while (!ctl_wait_for(S.stuck_s)) {
		uint64_t now = atomic_load_explicit(&S.steps_seen, memory_order_relaxed);
		if (now != seen) {
			seen = now;
			continue;
		}
		/* The holder is blocked or spinning: S.running and its last
		 * point stay as they are while it does. */
		const struct sched_thread *h = S.running;
		livelock_note(h ? h->domid : DOMID_INVALID, h ? h->site : NULL,
			      "blocked outside the sim (on a lock held across a scheduling point?) "
			      "or in a loop without scheduling points",
			      "made no step for %u s of wall-clock time after step %lu", S.stuck_s, now);
		S.on_livelock(S.livelock);
		ctl_wait_plain();   /* it should not return: if it does, the run waits on */
		return;
	}
}

bool sim_sched_livelock(char *buf, size_t len)
{
	if (buf && len)
		snprintf(buf, len, "%s", S.livelock);
	return S.livelock[0] != '\0';
}

void sim_sched_point_slow(const char *site)
{
	struct sched_thread *t = tls_sched;

	if (!t || S.mode != SIM_MODE_DET)
		return;
	if (t->stopping) {
		if (++t->stop_points == SCHED_STOP_POINTS_MAX)
			sched_freeze(t, site);
		return;
	}
	SIM_ASSERT(S.running == t, "domain %u ran without the token (at %s)", t->domid, site);
	S.last_domid = t->domid;
	S.last_site = site;
	t->site = site;
	step_counted();
	trace_mix(t->domid, site);
	sim_sched_point_hook_fn *hook = atomic_load_explicit(&point_hook, memory_order_relaxed);
	if (hook)
		hook(t->domid, site);
	if (S.policy == SIM_POLICY_PCT)
		pct_step(t);
	reschedule(t, SCH_PREEMPTED);
}

/* ---- the domain thread's loop in deterministic mode ---- */

void sched_thread_wait_ready(struct sched_thread *t)
{
	while (sem_wait(&t->ready) < 0 && errno == EINTR)
		;
}

void sched_thread_exited(struct sched_thread *t)
{
	t->state = SCH_EXITED;
	if (S.exit_waiter) {
		sem_t *w = S.exit_waiter;
		S.exit_waiter = NULL;
		sem_post(w);
		return;
	}
	/* Destroyed from its own thread: nobody waits; leave the list (the domain
	 * is freed after the token has moved on), then pass the token on. */
	sched_thread_unlink(t);
	struct sched_thread *next = sched_pick();
	if (next)
		resume(next);
	else {
		S.running = NULL;
		S.back = BACK_IDLE;
		sem_post(&S.ctl_sem);
	}
}

void sched_domain_loop(struct sched_thread *t, atomic_bool *stop)
{
	tls_sched = t;
	t->pthread = pthread_self();
	t->has_pthread = true;
	if (S.cpu >= 0 && !S.ctl_pinned)
		pin_thread(t, S.cpu);
	sem_post(&t->ready);
	while (sem_wait(&t->sem) < 0 && errno == EINTR)
		;
	while (!atomic_load(stop)) {
		event_base_loop(t->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
		if (atomic_load(stop))
			break;
		S.last_domid = t->domid;
		S.last_site = "step";
		step_counted();
		trace_mix(t->domid, "step");
		reschedule(t, SCH_IDLE);
	}
	tls_sched = NULL;
}

/* Called by the token holder: let the (stopping) thread finish its current
 * step without yielding (its scheduling points are no-ops now) and leave its
 * loop. The caller sets the domain's stop flag first. */
void sched_thread_stop(struct sched_thread *t)
{
	struct sched_thread *self = tls_sched;
	sem_t *waiter = self ? &self->sem : &S.ctl_sem;

	t->stopping = true;
	if (t->state == SCH_EXITED)
		return;
	S.exit_waiter = waiter;
	resume(t);
	if (self)
		while (sem_wait(waiter) < 0 && errno == EINTR)
			;
	else
		ctl_wait();
	S.running = self;
	if (self)
		self->state = SCH_RUNNING;
}

/* ---- blocking and the controller ---- */

void sim_sched_block_until(bool (*pred)(void *arg), void *arg)
{
	struct sched_thread *t = tls_sched;

	if (!t || S.mode != SIM_MODE_DET) {
		while (!pred(arg)) {
			struct timespec ts = {0, 200000};
			nanosleep(&ts, NULL);
		}
		return;
	}
	while (!pred(arg) && !t->stopping) {
		t->block_pred = pred;
		t->block_arg = arg;
		struct sched_thread *next = sched_pick();
		hand_off(t, SCH_BLOCKED, next == t ? NULL : next, BACK_IDLE);
	}
}

/* ---- the environment's timers ---- */

struct free_timer {
	uint64_t at_ns;
	void (*fn)(void *arg);
	void *arg;
};

static void *free_timer_thread(void *arg)
{
	struct free_timer *t = arg;
	uint64_t now = sim_now_ns();

	if (t->at_ns > now) {
		struct timespec ts = {(time_t)((t->at_ns - now) / 1000000000ull),
				      (long)((t->at_ns - now) % 1000000000ull)};
		nanosleep(&ts, NULL);
	}
	t->fn(t->arg);
	free(t);
	return NULL;
}

int sim_timer_at(uint64_t at_ns, void (*fn)(void *arg), void *arg)
{
	if (S.mode != SIM_MODE_DET) {
		struct free_timer *ft = malloc(sizeof(*ft));
		pthread_t th;
		if (!ft)
			return -ENOMEM;
		*ft = (struct free_timer){at_ns, fn, arg};
		if (pthread_create(&th, NULL, free_timer_thread, ft) != 0) {
			free(ft);
			return -ENOMEM;
		}
		pthread_detach(th);
		return 0;
	}
	struct sim_timer *t = malloc(sizeof(*t)), **pp = &S.timers;
	if (!t)
		return -ENOMEM;
	*t = (struct sim_timer){.at_ns = at_ns, .fn = fn, .arg = arg};
	while (*pp && (*pp)->at_ns <= at_ns)
		pp = &(*pp)->next;
	t->next = *pp;
	*pp = t;
	return 0;
}

/* Run the environment's timers that are due (controller, holding the token). */
static void run_due_timers(void)
{
	while (S.timers && S.timers->at_ns <= atomic_load(&vclock_ns)) {
		struct sim_timer *t = S.timers;
		S.timers = t->next;
		trace_mix_bytes(&t->at_ns, sizeof(t->at_ns));
		t->fn(t->arg);
		free(t);
	}
}

static uint64_t next_timer_ns(bool *found)
{
	uint64_t best = UINT64_MAX;

	*found = false;
	if (S.timers) {
		best = S.timers->at_ns;
		*found = true;
	}
	for (unsigned i = 0; i < S.nthreads; i++) {
		struct ready_scan rs;
		/* A paused domain's timers wait for its unpause. */
		if (S.threads[i]->state != SCH_IDLE || S.threads[i]->stopping || S.threads[i]->paused)
			continue;
		base_scan_idle(S.threads[i], &rs);
		if (rs.has_timer && rs.next_timer_ns < best) {
			best = rs.next_timer_ns;
			*found = true;
		}
	}
	return best;
}

static enum sim_run_result run_free(bool (*until)(void *), void *arg, uint64_t deadline_ns)
{
	for (;;) {
		if (until && until(arg))
			return SIM_RUN_DONE;
		if (sim_now_ns() >= deadline_ns)
			return SIM_RUN_DEADLINE;
		struct timespec ts = {0, 200000};
		nanosleep(&ts, NULL);
	}
}

/* No domain can run: move virtual time to the next timer, if it is before the
 * deadline. False when there is nothing to wait for. */
static bool advance_time(uint64_t deadline_ns, enum sim_run_result *res)
{
	bool found;
	uint64_t t = next_timer_ns(&found);

	/* Virtual time moves only here: a domain that had the token since the
	 * last call had it at the time it is now (the idle hook's gap starts). */
	if (S.switches != S.active_switches) {
		S.active_switches = S.switches;
		S.active_ns = atomic_load(&vclock_ns);
	}

	if (!found || t > deadline_ns) {
		if (deadline_ns != UINT64_MAX && deadline_ns > atomic_load(&vclock_ns))
			atomic_store(&vclock_ns, deadline_ns);
		*res = found || deadline_ns != UINT64_MAX ? SIM_RUN_DEADLINE : SIM_RUN_IDLE;
		return false;
	}
	if (S.idle_hook && t >= S.active_ns + S.idle_min_ns)
		S.idle_hook(S.active_ns, t, S.idle_arg);
	if (t > atomic_load(&vclock_ns))
		atomic_store(&vclock_ns, t);
	trace_mix_bytes(&t, sizeof(t));
	run_due_timers();
	return true;
}

enum sim_run_result sim_run(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
			    uint64_t max_steps)
{
	enum sim_run_result res = SIM_RUN_IDLE;

	if (S.mode != SIM_MODE_DET)
		return run_free(until, arg, deadline_ns);
	SIM_ASSERT(!tls_sched && S.running == NULL, "sim_run called by a domain thread");
	S.until = until;
	S.until_arg = arg;
	S.max_steps = max_steps ? S.steps + max_steps : 0;
	pin_follow_controller();
	for (;;) {
		enum sched_back why = controller_wants();
		if (why == BACK_UNTIL || why == BACK_STEPS) {
			res = why == BACK_UNTIL ? SIM_RUN_DONE : SIM_RUN_STEPS;
			break;
		}
		if (atomic_load(&vclock_ns) >= deadline_ns) {
			res = SIM_RUN_DEADLINE;
			break;
		}
		struct sched_thread *next = sched_pick();
		if (!next) {
			if (!advance_time(deadline_ns, &res))
				break;
			continue;
		}
		resume(next);
		ctl_wait();
	}
	S.until = NULL;
	S.max_steps = 0;
	S.slice_fn = NULL;
	S.slice_stop = false;
	return res;
}

enum sim_run_result sim_run_sliced(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
				   uint64_t slice_steps, bool (*slice_fn)(void *arg),
				   void *slice_arg)
{
	SIM_ASSERT(slice_steps > 0, "sim_run_sliced with slices of 0 steps");
	if (S.mode == SIM_MODE_DET) {
		S.slice_fn = slice_fn;
		S.slice_arg = slice_arg;
		S.slice_steps = slice_steps;
	}
	return sim_run(until, arg, deadline_ns, slice_steps);
}

uint64_t sim_sched_switches(void)
{
	return S.switches;
}

/* ---- trace events ---- */

sim_trace_sink_fn *_Atomic sim_trace_sink;
static void *trace_sink_ctx;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

void sim_trace_set_sink(sim_trace_sink_fn *fn, void *ctx)
{
	pthread_mutex_lock(&trace_lock);
	trace_sink_ctx = ctx;
	atomic_store(&sim_trace_sink, fn);
	pthread_mutex_unlock(&trace_lock);
}

void sim_trace_emit(enum sim_trace_kind kind, domid_t domid, domid_t peer, uint32_t a,
		    uint32_t b, const char *text)
{
	struct sim_trace_event ev = {
		.step = S.steps, .vt_ns = sim_now_ns(), .kind = kind, .domid = domid,
		.peer = peer, .a = a, .b = b, .text = text ? text : "",
	};

	/* Free mode: domains emit in parallel; one at a time into the sink. */
	pthread_mutex_lock(&trace_lock);
	sim_trace_sink_fn *fn = atomic_load(&sim_trace_sink);
	if (fn)
		fn(&ev, trace_sink_ctx);
	pthread_mutex_unlock(&trace_lock);
}
