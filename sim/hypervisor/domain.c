/*
 * Domains as threads. Each domain runs its own thread with its own libevent
 * event_base; work reaches it through a small queue woken by an eventfd. The
 * calling thread's domain (thread-local) is the identity of every Xen API call.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/thread.h>

#include "sim/hypervisor/hypervisor_internal.h"

_Static_assert(SIM_DOMID_LIMIT <= DOMID_FIRST_RESERVED, "domids must stay below Xen's reserved ids");
_Static_assert(SIM_DOMAINS_MAX >= SIM_DOMID_LIMIT, "every domid can be live at once");
_Static_assert(SIM_PAGE_SIZE == 1u << SIM_PAGE_SHIFT, "page size and shift agree");

#define DOMAIN_HOOKS_MAX 16
/* A domain thread runs an event loop and driver callbacks: shallow stacks.
 * glibc's default is 8 MiB of address space (and two mappings) per thread;
 * a thousand guests need far less, sanitizers keep their default. */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define DOMAIN_STACK_BYTES 0u
#else
#define DOMAIN_STACK_BYTES (1u << 20)
#endif
/* Allocations from this size on get their own zero-filled mapping. The
 * per-domain tables (ports, grants) are sized for the worst case and touched
 * sparsely; glibc's adaptive threshold would move them to the heap once the
 * first one is freed, where calloc zeroes, and so makes resident, all of it. */
#define DOMAIN_MMAP_THRESHOLD_BYTES (64u << 10)

enum domain_state { DOM_RUNNING = 1, DOM_DYING };

struct domain_call;

/* A posted item: fn(arg), or a synchronous call record. */
struct domain_work {
	void (*fn)(void *arg);
	void *arg;
	struct domain_call *call;
	struct domain_work *next;
};

struct domain_call {
	int (*fn)(void *arg);
	void *arg;
	int rc;
	bool done;
	bool abandoned;        /* det mode: the caller stopped waiting; free when run */
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

struct sim_domain {
	domid_t domid;
	char name[SIM_DOMAIN_NAME_MAX];
	bool privileged;
	enum domain_state state;
	struct sim_mem *mem;
	struct sched_thread *sched;
	pthread_t thread;
	struct event_base *base;
	struct event *wake_ev;
	int wake_fd;
	atomic_bool stop;
	bool free_on_exit;     /* destroyed from its own thread */
	pthread_mutex_t work_lock;
	struct domain_work *work_head, *work_tail;
	unsigned pause_count;  /* under work_lock */
	atomic_bool paused;
	pthread_cond_t pause_cond;   /* free mode: the paused thread waits on it */
};

static pthread_mutex_t dom_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_domain *domains[SIM_DOMID_LIMIT];
static unsigned domains_live;

static pthread_mutex_t hooks_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct sim_domain_hooks *hooks[DOMAIN_HOOKS_MAX];
static unsigned hooks_count;

static __thread domid_t tls_domid = DOMID_INVALID;
static __thread struct sim_domain *tls_domain_thread;   /* set on a domain's own thread */

atomic_bool sim_sched_active;

void sim_panic(const char *module, const char *file, int line, const char *cond,
	       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "xensim: %s:%d: %s invariant '%s' broken: %s\n", file, line, module, cond,
		msg);
	abort();
}

#ifdef XENSIM_GCOV
void __gcov_dump(void);   /* libgcov; a weak reference would not pull it in */
#endif

void sim_coverage_flush(void)
{
#ifdef XENSIM_GCOV
	__gcov_dump();
#endif
}

void sim_log(const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n = snprintf(line, sizeof(line), "xensim: ");

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}

static int init_rc;

static void init_once(void)
{
	mallopt(M_MMAP_THRESHOLD, DOMAIN_MMAP_THRESHOLD_BYTES);   /* also fixes it: no adapting */
	mallopt(M_ARENA_MAX, 1);
	if (evthread_use_pthreads() < 0) {
		sim_log("cannot enable libevent threading");
		init_rc = -ENOSYS;
		return;
	}
	init_rc = fault_handler_install();
}

static atomic_bool init_called;
static sim_outside_fn *_Atomic outside_fn;

int sim_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	atomic_store(&init_called, true);
	pthread_once(&once, init_once);
	return init_rc;
}

void sim_domain_hooks_register(const struct sim_domain_hooks *h)
{
	pthread_mutex_lock(&hooks_lock);
	SIM_ASSERT(hooks_count < DOMAIN_HOOKS_MAX, "too many domain hooks (%s)", h->name);
	unsigned i = hooks_count++;
	while (i > 0 && hooks[i - 1]->order > h->order) {
		hooks[i] = hooks[i - 1];
		i--;
	}
	hooks[i] = h;
	pthread_mutex_unlock(&hooks_lock);
}

static void run_hooks(domid_t domid, bool create, bool crashed)
{
	for (unsigned i = 0; i < hooks_count; i++) {
		if (create && hooks[i]->on_create)
			hooks[i]->on_create(domid);
		else if (!create && hooks[i]->on_destroy)
			hooks[i]->on_destroy(domid, crashed);
	}
}

/* The domain if live; caller holds dom_lock. */
static struct sim_domain *domain_live_locked(domid_t domid)
{
	if (domid >= SIM_DOMID_LIMIT || !domains[domid])
		return NULL;
	return domains[domid]->state == DOM_RUNNING ? domains[domid] : NULL;
}

static struct domain_work *work_take_all(struct sim_domain *d)
{
	pthread_mutex_lock(&d->work_lock);
	struct domain_work *w = d->work_head;
	d->work_head = d->work_tail = NULL;
	pthread_mutex_unlock(&d->work_lock);
	return w;
}

/* Run (or, once the domain is dead, refuse) one item, then free it. */
static void work_run(struct sim_domain *d, struct domain_work *w)
{
	bool dead = atomic_load(&d->stop);
	struct domain_call *c = w->call;

	if (!c) {
		if (!dead)
			w->fn(w->arg);
	} else if (sched_det()) {
		int rc = dead || c->abandoned ? -ESRCH : c->fn(c->arg);
		if (c->abandoned) {
			free(c);
		} else {
			c->rc = rc;
			c->done = true;
		}
	} else {
		int rc = dead ? -ESRCH : c->fn(c->arg);
		pthread_mutex_lock(&c->lock);
		c->rc = rc;
		c->done = true;
		pthread_cond_signal(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	free(w);
}

static void domain_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct sim_domain *d = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		sim_log("domain %u: wake read failed: %s", d->domid, strerror(errno));
	if (atomic_load(&d->paused) && !atomic_load(&d->stop)) {
		event_base_loopbreak(d->base);   /* free mode: the work waits for the unpause */
		return;
	}
	for (struct domain_work *w = work_take_all(d), *next; w; w = next) {
		next = w->next;
		work_run(d, w);
	}
	if (atomic_load(&d->stop))
		event_base_loopbreak(d->base);
}

static void domain_free(struct sim_domain *d);

/* Free mode: a paused domain's thread waits here, between loop steps, until
 * unpaused or stopped. True: carry on. */
static bool domain_pause_wait(struct sim_domain *d)
{
	pthread_mutex_lock(&d->work_lock);
	while (d->pause_count && !atomic_load(&d->stop))
		pthread_cond_wait(&d->pause_cond, &d->work_lock);
	pthread_mutex_unlock(&d->work_lock);
	return !atomic_load(&d->stop);
}

static void *domain_thread(void *arg)
{
	struct sim_domain *d = arg;

	bool det = sched_det();

	tls_domid = d->domid;
	tls_domain_thread = d;
	if (det)
		sched_domain_loop(d->sched, &d->stop);
	while (!det && !atomic_load(&d->stop) && domain_pause_wait(d))
		if (event_base_loop(d->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
			break;
	/* Work posted after the stop is answered "domain dead". */
	for (struct domain_work *w = work_take_all(d), *next; w; w = next) {
		next = w->next;
		work_run(d, w);
	}
	tls_domid = DOMID_INVALID;
	tls_domain_thread = NULL;
	if (det)
		sched_thread_exited(d->sched);   /* the token moves on: touch nothing after */
	if (d->free_on_exit)
		domain_free(d);
	return NULL;
}

static int domain_check_config(const struct sim_domain_config *cfg)
{
	if (!cfg->name || !cfg->name[0] || strlen(cfg->name) >= SIM_DOMAIN_NAME_MAX)
		return -EINVAL;
	if (cfg->mem_bytes % SIM_PAGE_SIZE || cfg->mem_bytes > SIM_DOMAIN_MEM_BYTES_MAX)
		return -EINVAL;
	if (cfg->domid >= (int)SIM_DOMID_LIMIT)
		return -EINVAL;
	return 0;
}

/* Reserve a domid; caller holds dom_lock. */
static int domain_pick_id(int want)
{
	if (want >= 0)
		return domains[want] ? -EEXIST : want;
	for (unsigned id = 1; id < SIM_DOMID_LIMIT; id++)
		if (!domains[id])
			return (int)id;
	return -ENOSPC;
}

static void domain_free(struct sim_domain *d)
{
	/* A frozen thread is still inside a callback of its base, for good:
	 * libevent would wait for that callback to end. They stay allocated. */
	bool frozen = d->sched && sched_thread_frozen(d->sched);

	if (d->wake_ev && !frozen)
		event_free(d->wake_ev);
	if (d->base && !frozen)
		event_base_free(d->base);
	if (d->wake_fd >= 0)
		close(d->wake_fd);
	if (d->mem)
		mem_put(d->mem);
	if (d->sched)
		sched_thread_free(d->sched);
	pthread_mutex_destroy(&d->work_lock);
	pthread_cond_destroy(&d->pause_cond);
	free(d);
}

static struct sim_domain *domain_alloc(const struct sim_domain_config *cfg, domid_t domid)
{
	struct sim_domain *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	d->domid = domid;
	d->wake_fd = -1;
	snprintf(d->name, sizeof(d->name), "%s", cfg->name);
	d->privileged = cfg->privileged;
	pthread_mutex_init(&d->work_lock, NULL);
	pthread_cond_init(&d->pause_cond, NULL);
	d->mem = mem_create(domid, cfg->mem_bytes ? cfg->mem_bytes : SIM_DOMAIN_MEM_BYTES_DEFAULT);
	d->base = event_base_new();
	d->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!d->mem || !d->base || d->wake_fd < 0)
		goto fail;
	d->wake_ev = event_new(d->base, d->wake_fd, EV_READ | EV_PERSIST, domain_wake_cb, d);
	if (!d->wake_ev || event_add(d->wake_ev, NULL) < 0)
		goto fail;
	d->sched = sched_thread_new(domid, d->base);
	if (!d->sched)
		goto fail;
	return d;
fail:
	domain_free(d);
	return NULL;
}

static int domain_thread_start(struct sim_domain *d)
{
	pthread_attr_t attr;
	int rc = pthread_attr_init(&attr);

	if (rc != 0)
		return rc;
	if (DOMAIN_STACK_BYTES)
		rc = pthread_attr_setstacksize(&attr, DOMAIN_STACK_BYTES);
	if (rc == 0)
		rc = pthread_create(&d->thread, &attr, domain_thread, d);
	pthread_attr_destroy(&attr);
	return rc;
}

int sim_domain_create(const struct sim_domain_config *cfg)
{
	int rc = sim_init();

	if (rc < 0)
		return rc;
	rc = domain_check_config(cfg);
	if (rc < 0) {
		sim_log("domain create '%s': bad config (name, mem_bytes %zu or domid %d)",
			cfg->name ? cfg->name : "(null)", cfg->mem_bytes, cfg->domid);
		return rc;
	}
	pthread_mutex_lock(&dom_lock);
	int id = domain_pick_id(cfg->domid);
	struct sim_domain *d = id >= 0 ? domain_alloc(cfg, (domid_t)id) : NULL;
	if (id >= 0 && !d)
		id = -ENOMEM;
	if (d && domain_thread_start(d) != 0) {
		domain_free(d);
		d = NULL;
		id = -EAGAIN;
	}
	if (d) {
		d->state = DOM_RUNNING;
		domains[id] = d;
		domains_live++;
	}
	pthread_mutex_unlock(&dom_lock);
	if (d && sched_det())
		sched_thread_wait_ready(d->sched);   /* parked: the creator keeps the token */
	if (id < 0) {
		sim_log("domain create '%s' (domid %d) failed: %s", cfg->name, cfg->domid, strerror(-id));
		return id;
	}
	run_hooks((domid_t)id, true, false);
	return id;
}

static void domain_wake(struct sim_domain *d)
{
	uint64_t one = 1;

	if (write(d->wake_fd, &one, sizeof(one)) < 0)
		sim_log("domain %u: wake write failed: %s", d->domid, strerror(errno));
}

static int domain_teardown(domid_t domid, bool crashed)
{
	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	if (d)
		d->state = DOM_DYING;
	pthread_mutex_unlock(&dom_lock);
	if (!d)
		return -ESRCH;
	bool self = tls_domain_thread == d;
	bool stopped_first = sched_det() && !self;
	if (stopped_first) {
		/* Det mode: the domain finishes its current step (nothing else runs
		 * meanwhile), leaves its loop, and only then loses its grants, ports
		 * and store connection: its driver code never sees them vanish. */
		atomic_store(&d->stop, true);
		sched_thread_stop(d->sched);
		if (sched_thread_frozen(d->sched))
			pthread_detach(d->thread);   /* a livelock: it never comes back */
		else
			pthread_join(d->thread, NULL);
	}
	run_hooks(domid, false, crashed);
	atomic_store(&d->stop, true);
	domain_wake(d);
	pthread_mutex_lock(&d->work_lock);
	pthread_cond_broadcast(&d->pause_cond);   /* free mode: paused, it stops now */
	pthread_mutex_unlock(&d->work_lock);
	if (self) {
		/* Destroyed from its own thread: it ends, and frees itself, when the
		 * current callback returns to the loop. */
		d->free_on_exit = true;
		pthread_detach(d->thread);
	} else if (!stopped_first) {
		pthread_join(d->thread, NULL);
	}
	pthread_mutex_lock(&dom_lock);
	domains[domid] = NULL;
	domains_live--;
	pthread_mutex_unlock(&dom_lock);
	if (!self)
		domain_free(d);
	return 0;
}

int sim_domain_destroy(domid_t domid)
{
	return domain_teardown(domid, false);
}

int sim_domain_crash(domid_t domid)
{
	sim_log("domain %u (%s) crashed", domid, sim_domain_name(domid));
	return domain_teardown(domid, true);
}

/* The highest live domid below `below`, or -1: one lock for the scan, not
 * one per domid (a reset runs once per seed of a sweep). */
static int domain_live_below(int below)
{
	int id = below;

	pthread_mutex_lock(&dom_lock);
	while (--id >= 0 && !domain_live_locked((domid_t)id))
		;
	pthread_mutex_unlock(&dom_lock);
	return id;
}

void sim_reset(void)
{
	for (int id = domain_live_below((int)SIM_DOMID_LIMIT); id >= 0; id = domain_live_below(id))
		sim_domain_destroy((domid_t)id);
	sim_fault_site_disarm_all();
	sim_sched_configure(&(struct sim_sched_config){.mode = SIM_MODE_FREE});
	if (tls_domid != DOMID_INVALID && !tls_domain_thread)
		tls_domid = DOMID_INVALID;
	mem_quarantine_flush();
}

/* One pause more (delta 1) or less (-1). */
static int domain_pause_adjust(domid_t domid, int delta)
{
	int rc = 0;

	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	if (!d) {
		pthread_mutex_unlock(&dom_lock);
		return -ESRCH;
	}
	pthread_mutex_lock(&d->work_lock);
	if (delta < 0 && d->pause_count == 0)
		rc = -EINVAL;
	else if (delta > 0 && d->pause_count == SIM_PAUSE_MAX)
		rc = -EBUSY;
	else
		d->pause_count += (unsigned)delta;
	bool paused = d->pause_count > 0;
	atomic_store(&d->paused, paused);
	if (sched_det())
		sched_thread_set_paused(d->sched, paused);
	if (!paused)
		pthread_cond_broadcast(&d->pause_cond);
	pthread_mutex_unlock(&d->work_lock);
	/* Free mode: a pause breaks the loop at its step's end; an unpause runs
	 * the work that waited. */
	if (rc == 0 && !sched_det())
		domain_wake(d);
	pthread_mutex_unlock(&dom_lock);
	return rc;
}

int sim_domain_pause(domid_t domid)
{
	return domain_pause_adjust(domid, 1);
}

int sim_domain_unpause(domid_t domid)
{
	return domain_pause_adjust(domid, -1);
}

bool sim_domain_paused(domid_t domid)
{
	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	bool paused = d && atomic_load(&d->paused);
	pthread_mutex_unlock(&dom_lock);
	return paused;
}

bool sim_domain_alive(domid_t domid)
{
	pthread_mutex_lock(&dom_lock);
	bool alive = domain_live_locked(domid) != NULL;
	pthread_mutex_unlock(&dom_lock);
	return alive;
}

bool sim_domain_privileged(domid_t domid)
{
	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	bool priv = d && d->privileged;
	pthread_mutex_unlock(&dom_lock);
	return priv;
}

const char *sim_domain_name(domid_t domid)
{
	/* Names are immutable for a domain's life; the slot pointer is read under
	 * the lock, the name copied into a per-thread buffer. */
	static __thread char name[SIM_DOMAIN_NAME_MAX];

	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domid < SIM_DOMID_LIMIT ? domains[domid] : NULL;
	snprintf(name, sizeof(name), "%s", d ? d->name : "?");
	pthread_mutex_unlock(&dom_lock);
	return name;
}

unsigned sim_domain_count(void)
{
	pthread_mutex_lock(&dom_lock);
	unsigned n = domains_live;
	pthread_mutex_unlock(&dom_lock);
	return n;
}

static int domain_enqueue(domid_t domid, struct domain_work *w)
{
	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	if (d) {
		pthread_mutex_lock(&d->work_lock);
		if (d->work_tail)
			d->work_tail->next = w;
		else
			d->work_head = w;
		d->work_tail = w;
		pthread_mutex_unlock(&d->work_lock);
		domain_wake(d);
	}
	pthread_mutex_unlock(&dom_lock);
	return d ? 0 : -ESRCH;
}

int sim_domain_post(domid_t domid, void (*fn)(void *arg), void *arg)
{
	struct domain_work *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	w->fn = fn;
	w->arg = arg;
	int rc = domain_enqueue(domid, w);
	if (rc < 0)
		free(w);
	return rc;
}

static bool call_done(void *arg)
{
	struct domain_call *c = arg;

	return c->done;
}

/* Det mode: one thread runs at a time, so wait through the scheduler. The
 * record is on the heap: a caller whose own domain is being stopped gives up
 * waiting, and the runner (or the drain of a dead domain) frees it then. */
static int domain_call_det(domid_t domid, int (*fn)(void *arg), void *arg)
{
	struct domain_call *c = calloc(1, sizeof(*c));
	struct domain_work *w = calloc(1, sizeof(*w));
	int rc = -ENOMEM;

	if (!c || !w)
		goto fail;
	/* A domain spins: running it again would only spin again. */
	rc = -ETIMEDOUT;
	if (!tls_domain_thread && sim_sched_livelock(NULL, 0))
		goto fail;
	*c = (struct domain_call){.fn = fn, .arg = arg, .rc = -ESRCH};
	w->call = c;
	rc = domain_enqueue(domid, w);
	if (rc < 0)
		goto fail;
	if (tls_domain_thread)
		sim_sched_block_until(call_done, c);
	else if (sim_run(call_done, c, UINT64_MAX, sched_call_steps()) == SIM_RUN_STEPS &&
		 !c->done)
		sched_call_overran(domid);
	if (!c->done) {
		c->abandoned = true;
		return sim_sched_livelock(NULL, 0) ? -ETIMEDOUT : sim_domain_paused(domid) ? -EAGAIN : -ESRCH;
	}
	rc = c->rc;
	free(c);
	return rc;
fail:
	free(c);
	free(w);
	return rc;
}

int sim_domain_call(domid_t domid, int (*fn)(void *arg), void *arg)
{
	struct domain_call c = {.fn = fn, .arg = arg, .rc = -ESRCH};
	struct domain_work *w;

	if (tls_domain_thread && tls_domain_thread->domid == domid)
		return -EDEADLK;
	if (sched_det())
		return domain_call_det(domid, fn, arg);
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->call = &c;
	pthread_mutex_init(&c.lock, NULL);
	pthread_cond_init(&c.cond, NULL);
	int rc = domain_enqueue(domid, w);
	if (rc == 0) {
		pthread_mutex_lock(&c.lock);
		while (!c.done)
			pthread_cond_wait(&c.cond, &c.lock);
		pthread_mutex_unlock(&c.lock);
		rc = c.rc;
	} else {
		free(w);
	}
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	return rc;
}

struct event_base *sim_domain_event_base(void)
{
	return tls_domain_thread ? tls_domain_thread->base : NULL;
}

domid_t sim_current_domid(void)
{
	if (tls_domid != DOMID_INVALID)
		return tls_domid;
	sim_outside_fn *fn = atomic_load_explicit(&outside_fn, memory_order_acquire);
	return fn ? fn() : DOMID_INVALID;
}

bool sim_initialised(void)
{
	return atomic_load(&init_called);
}

void sim_outside_set(sim_outside_fn *fn)
{
	atomic_store_explicit(&outside_fn, fn, memory_order_release);
}

int sim_thread_enter(domid_t domid)
{
	if (!sim_domain_alive(domid))
		return -ESRCH;
	tls_domid = domid;
	return 0;
}

domid_t domain_tls_swap(domid_t domid)
{
	domid_t was = tls_domid;

	tls_domid = domid;
	return was;
}

void sim_thread_leave(void)
{
	if (!tls_domain_thread)
		tls_domid = DOMID_INVALID;
}

struct sim_mem *domain_mem_get(domid_t domid)
{
	pthread_mutex_lock(&dom_lock);
	struct sim_domain *d = domain_live_locked(domid);
	struct sim_mem *mem = d ? mem_get(d->mem) : NULL;
	pthread_mutex_unlock(&dom_lock);
	return mem;
}

int sim_frame_alloc(domid_t domid, uint32_t *frame)
{
	struct sim_mem *mem = domain_mem_get(domid);

	if (!mem)
		return -ESRCH;
	int rc = mem_frame_alloc(mem, frame);
	mem_put(mem);
	return rc;
}

int sim_frame_free(domid_t domid, uint32_t frame)
{
	struct sim_mem *mem = domain_mem_get(domid);

	if (!mem)
		return -ESRCH;
	int rc = mem_frame_free(mem, frame);
	mem_put(mem);
	return rc;
}

uint32_t sim_frames_total(domid_t domid)
{
	struct sim_mem *mem = domain_mem_get(domid);
	uint32_t n = mem ? mem_frames_total(mem) : 0;

	if (mem)
		mem_put(mem);
	return n;
}

uint32_t sim_frames_free(domid_t domid)
{
	struct sim_mem *mem = domain_mem_get(domid);
	uint32_t n = mem ? mem_frames_free(mem) : 0;

	if (mem)
		mem_put(mem);
	return n;
}
