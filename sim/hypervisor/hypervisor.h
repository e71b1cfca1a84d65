/*
 * sim/hypervisor: domains as threads, their memory (frames in a per-domain memfd),
 * the memory-protection fault reporter, fault sites and scheduling points.
 *
 * Every other sim module stands on this one. Drivers never include it: they see
 * only Xen's own headers. Identity: the domain of the calling thread is the
 * identity of every Xen API call (sim_current_domid()).
 *
 * Conventions: functions return 0 or a negative errno unless they say otherwise.
 */
#ifndef SIM_HYPERVISOR_H
#define SIM_HYPERVISOR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/xen.h>

struct event_base;

/* ---- limits (all in one place; see also the static asserts in domain.c) ---- */
#define SIM_PAGE_SIZE 4096u
#define SIM_PAGE_SHIFT 12u
#define SIM_DOMAINS_MAX 2048u              /* live + dying domains at once */
#define SIM_DOMID_LIMIT 2048u              /* domids are 0 .. SIM_DOMID_LIMIT-1 */
#define SIM_DOMAIN_NAME_MAX 32u            /* including the NUL */
#define SIM_DOMAIN_MEM_BYTES_DEFAULT (64u << 20)
#define SIM_DOMAIN_MEM_BYTES_MAX (1ull << 32)
#define SIM_QUARANTINE_PAGES_MAX 65536u    /* unmapped pages kept PROT_NONE */
#define SIM_MAP_RANGE_BYTES (64ull << 30)  /* address space reserved for mappings */
#define SIM_MAP_RANGE_BYTES_MIN (1ull << 30) /* the least a reservation may shrink to */
#define SIM_MAP_CLASS_PAGES_MAX 64u            /* mapping sizes with a free list of their own */
#define SIM_FAULT_DEVICE_MAX 32u           /* an aimed fault's device name, with NUL */
#define SIM_FAULT_PORT_ANY UINT32_MAX

/* ---- domains ---- */

struct sim_domain_config {
	const char *name;          /* required, < SIM_DOMAIN_NAME_MAX bytes */
	size_t mem_bytes;          /* 0: SIM_DOMAIN_MEM_BYTES_DEFAULT; multiple of a page */
	bool privileged;           /* dom0-like: xenstore superuser, VIRQ_DOM_EXC */
	int domid;                 /* < 0: the lowest free id (never 0 unless asked) */
};

/* Set up the process-wide state (fault handler, registries). Idempotent. */
int sim_init(void);
/* Destroy every domain, wait for their threads, end the quarantine: no
 * thread of the last run is left to touch it, ranges leave it without a
 * system call, and a next run's maps of the same frames reuse them (see
 * recycling in memory.c). For tests, and for a process that runs one
 * scenario after another (a sweep's worker). */
void sim_reset(void);

/* Create a domain and start its thread, which runs its own libevent event_base
 * until the domain is destroyed. Returns the domid (>= 0) or -errno:
 * -EINVAL bad config, -EEXIST domid in use, -ENOSPC no free domid, -ENOMEM. */
int sim_domain_create(const struct sim_domain_config *cfg);
/* Orderly teardown (hooks run, thread stopped and joined, unless called from
 * the domain's own thread, which then exits when its callback returns). In det
 * mode a domain destroyed from outside first finishes its current step (no
 * other domain runs meanwhile), then loses its grants, ports and xenstore
 * connection: its driver code never sees them vanish under it.
 * Foreign mappings of its frames stay valid until unmapped (a dying domain).
 * -ESRCH if no such live domain. */
int sim_domain_destroy(domid_t domid);
/* Like destroy, but counted as a crash; same teardown of hypervisor resources. */
int sim_domain_crash(domid_t domid);

/* Pause and unpause, as the toolstack's `xl pause` / `xl unpause`: a paused
 * domain runs none of its code (notifications to it stay pending, work and
 * calls posted to it wait) until unpaused. Det mode: it is not scheduled from
 * its next scheduling point on, wherever that is (as a vCPU stops anywhere);
 * free mode: from the end of its current event-loop step. Pauses nest, up to
 * SIM_PAUSE_MAX; unpause undoes one. -ESRCH: no such live domain; -EINVAL:
 * unpause of a domain not paused; -EBUSY: past the nesting limit. */
#define SIM_PAUSE_MAX 255u
int sim_domain_pause(domid_t domid);
int sim_domain_unpause(domid_t domid);
bool sim_domain_paused(domid_t domid);
bool sim_domain_alive(domid_t domid);
bool sim_domain_privileged(domid_t domid);
/* The domain's name, or "?" for an unknown domid. Never NULL. */
const char *sim_domain_name(domid_t domid);
/* Number of live domains. */
unsigned sim_domain_count(void);

/* Run fn(arg) on the domain's thread, from its event loop. post: returns at once;
 * call: waits and returns fn's result. -ESRCH if the domain is not alive,
 * -EDEADLK for a call from the domain's own thread; det mode, from outside
 * the domains: -EAGAIN if the domain is paused and nothing (no timer) can
 * unpause it. */
int sim_domain_post(domid_t domid, void (*fn)(void *arg), void *arg);
int sim_domain_call(domid_t domid, int (*fn)(void *arg), void *arg);

/* The event_base of the calling thread's domain (NULL outside a domain thread,
 * and for threads that entered a domain with sim_thread_enter()). */
struct event_base *sim_domain_event_base(void);

/* The calling thread's domain, or DOMID_INVALID outside any domain (unless a
 * standalone process gave its other threads a domain: sim_outside_set). */
domid_t sim_current_domid(void);
/* Has sim_init() been called (by anyone, directly or by creating a domain)? */
bool sim_initialised(void);
/* Who a thread outside every domain is: fn() is asked by sim_current_domid()
 * on such threads (DOMID_INVALID: nobody, the harness). For the standalone
 * mode of the shared libraries (sim/standalone); NULL removes it. fn may be
 * called from any thread, also the fault handler's. */
typedef domid_t sim_outside_fn(void);
void sim_outside_set(sim_outside_fn *fn);
/* Let the calling thread act for a live domain (a further vcpu of it): tests and
 * tools use this. -ESRCH if not alive. sim_thread_leave() undoes it. */
int sim_thread_enter(domid_t domid);
void sim_thread_leave(void);

/* Per-domain teardown/creation hooks, run in ascending order on create and in
 * ascending order on destroy (gnttab 10: unmap with notify, evtchn 20: close ports,
 * xenstore 30: release). Registered once, typically from a constructor. */
struct sim_domain_hooks {
	const char *name;
	int order;
	void (*on_create)(domid_t domid);
	void (*on_destroy)(domid_t domid, bool crashed);
};
void sim_domain_hooks_register(const struct sim_domain_hooks *hooks);

/* ---- memory: frames and mappings ---- */

/* Allocate / free a frame of the domain's memory. -ENOMEM when exhausted,
 * -ESRCH for a dead domain. A frame comes out zero-filled (and not resident
 * until touched): freeing punches it out of the domain's memfd. */
int sim_frame_alloc(domid_t domid, uint32_t *frame);
int sim_frame_free(domid_t domid, uint32_t frame);
/* Frames of the domain (total, free). 0 for an unknown domain. */
uint32_t sim_frames_total(domid_t domid);
uint32_t sim_frames_free(domid_t domid);
/* The hypervisor's own read-write view of a frame (for grant copy), valid while
 * the domain or any mapping of its memory exists. NULL if out of range. */
void *sim_frame_hv(domid_t domid, uint32_t frame);

enum sim_map_kind {
	SIM_MAP_GRANT,    /* a foreign grant mapped by the mapper */
	SIM_MAP_SHARED,   /* the grantor's own view of pages it shares (gntshr) */
};

/* What the fault reporter needs to name a page: whose address space, whose
 * frame, which grant ref and how it was mapped. */
struct sim_page_desc {
	domid_t grantor;
	uint32_t frame;
	uint32_t ref;
};

/* Map count frames (each from its own grantor) contiguously into the process,
 * on behalf of domain `mapper`, with PROT_READ or PROT_READ|PROT_WRITE.
 * Returns the address or NULL with errno set. The frames stay alive (even if the
 * grantor dies) until sim_mem_unmap(). */
void *sim_mem_map(domid_t mapper, enum sim_map_kind kind, uint32_t count,
		  const struct sim_page_desc *pages, int prot);
/* Unmap a whole mapping made by sim_mem_map: the range becomes PROT_NONE and stays
 * reserved for a while, so a stale access faults and is reported. -EINVAL if
 * addr/count is not exactly one mapping. */
int sim_mem_unmap(void *addr, uint32_t count);
/* Mappings alive now (for leak checks). */
uint64_t sim_mem_mappings(void);
/* Maps that took back a range still mapping their frames (tests, bench). */
uint64_t sim_mem_recycled(void);

/* Every mapping (live or in quarantine) lies in [sim_map_lo, sim_map_lo +
 * sim_map_len), reserved once at the first map: an address outside is no sim
 * mapping (one comparison; the access tracer's fast path). 0/0 before. */
extern uintptr_t sim_map_lo, sim_map_len;
static inline bool sim_mem_in_range(const void *addr)
{
	return (uintptr_t)addr - sim_map_lo < sim_map_len;
}
/* What a live mapping's address is: whose mapping, whose frame and grant ref. */
struct sim_mem_where {
	domid_t mapper;
	enum sim_map_kind kind;
	struct sim_page_desc page;
	uint32_t page_index;       /* page of the mapping */
	uint32_t offset;           /* byte offset in the page */
	const void *base;          /* the mapping's first byte */
};
/* false if addr is in no live mapping (never mapped, or in quarantine). */
bool sim_mem_where(const void *addr, struct sim_mem_where *w);
/* A new fd (O_CLOEXEC) of the memfd holding the live mapped page at addr, and
 * the page's offset in it (sim/remote passes it to an exec'd domain). -ESRCH
 * if addr is in no live mapping. */
int sim_mem_page_fd(const void *addr, uint64_t *offset);

/* ---- memory-protection faults ---- */

/* Run fn(arg); if it makes a memory-protection fault on a sim mapping, the fault
 * is reported into report[] and this returns 1; 0 if fn returned normally.
 * Without such a catch, a fault prints the report and exits the process with
 * status 1 (the run fails with that message). */
int sim_fault_catch(void (*fn)(void *arg), void *arg, char *report, size_t len);
/* Faults seen so far in the process. */
uint64_t sim_fault_count(void);

/* ---- fault sites (injection; SQLite-style: one small struct per site) ---- */

struct sim_fault_site {
	const char *name;         /* "gnttab.map", "evtchn.notify.drop", ... */
	const char *what;         /* one line for `xensim faults` */
	/* Arming (under the registry lock): fire when countdown reaches 0, then
	 * `repeat` more times (-1 forever); or with probability prob_ppm per occurrence. */
	int64_t countdown;
	int64_t repeat;
	uint32_t prob_ppm;
	atomic_bool armed;
	/* Every injection is a SIM_TR_FAULT event on the timeline: emitted here
	 * (domain, peer, port of the context), unless the site emits its own with
	 * more detail (a grant ref, both ports): then `traced` is set. */
	bool traced;
	bool legal;               /* SIM_FAULT_LEGAL (see SIM_FAULT_SITE_FLAGS) */
	/* Aimed (`fault SITE ... on TARGET`): only occurrences whose context
	 * matches count toward the countdown and may fire. */
	struct sim_fault_aim {
		bool set;
		domid_t domid;            /* acting domain or its peer; DOMID_INVALID: any */
		uint32_t port;            /* SIM_FAULT_PORT_ANY: any */
		char device[SIM_FAULT_DEVICE_MAX];   /* "": any */
	} aim;
	/* Counters. */
	_Atomic uint64_t occurrences;
	_Atomic uint64_t injected;
	struct sim_fault_site *next;
};

/* Where one occurrence happens: an aimed site fires only where this matches.
 * domid: the acting domain (DOMID_INVALID: the calling thread's); peer: the
 * domain at the other end, if any; port: an event-channel port of domid (or
 * SIM_FAULT_PORT_ANY); device: "vbd/51712", "vif/0" or a workload id (or NULL). */
struct sim_fault_ctx {
	domid_t domid;
	domid_t peer;
	uint32_t port;
	const char *device;
};

/* Declare a site in a .c file: SIM_FAULT_SITE(gnttab_map_fail, "gnttab.map", "...");
 * then test it with sim_fault_hit(&gnttab_map_fail). Flags:
 * SIM_FAULT_TRACED  the site puts its own SIM_TR_FAULT event on the timeline;
 * SIM_FAULT_LEGAL   what it injects is a history Xen itself may produce (a
 *                   commit conflict, a late or spurious event, a slow disk):
 *                   a correct driver carries on, so a fault sweep does not
 *                   excuse an error it leads to. */
#define SIM_FAULT_TRACED 1u
#define SIM_FAULT_LEGAL 2u
#define SIM_FAULT_SITE_FLAGS(var, sname, swhat, flags)                         \
	struct sim_fault_site var = {.name = (sname), .what = (swhat),         \
				     .traced = ((flags) & SIM_FAULT_TRACED) != 0, \
				     .legal = ((flags) & SIM_FAULT_LEGAL) != 0}; \
	__attribute__((constructor)) static void var##_register(void)          \
	{                                                                      \
		sim_fault_site_register(&var);                                 \
	}
#define SIM_FAULT_SITE(var, sname, swhat) SIM_FAULT_SITE_FLAGS(var, sname, swhat, 0)
#define SIM_FAULT_SITE_TRACED(var, sname, swhat) SIM_FAULT_SITE_FLAGS(var, sname, swhat, SIM_FAULT_TRACED)

void sim_fault_site_register(struct sim_fault_site *site);
/* Count an occurrence; true if the fault must be injected now. ctx says where
 * it happens (NULL: the calling thread's domain, no peer, port or device). */
bool sim_fault_hit_slow(struct sim_fault_site *site, const struct sim_fault_ctx *ctx);
static inline bool sim_fault_hit_ctx(struct sim_fault_site *site, const struct sim_fault_ctx *ctx)
{
	if (!atomic_load_explicit(&site->armed, memory_order_relaxed)) {
		atomic_fetch_add_explicit(&site->occurrences, 1, memory_order_relaxed);
		return false;
	}
	return sim_fault_hit_slow(site, ctx);
}
static inline bool sim_fault_hit(struct sim_fault_site *site)
{
	return sim_fault_hit_ctx(site, NULL);
}
struct sim_fault_site *sim_fault_site_find(const char *name);
/* Iterate: first, then next (NULL at the end). Sorted by name. */
struct sim_fault_site *sim_fault_site_first(void);
/* Arm: fire at occurrence `after` (0 = next), then `repeat` more (-1 forever). */
int sim_fault_site_arm(struct sim_fault_site *site, int64_t after, int64_t repeat);
int sim_fault_site_arm_prob(struct sim_fault_site *site, uint32_t prob_ppm);
void sim_fault_site_disarm(struct sim_fault_site *site);
/* Aim the site (NULL: not aimed; everywhere). Kept across arm/disarm; cleared
 * by sim_fault_site_disarm_all(). -EINVAL for a device name too long. */
int sim_fault_site_aim(struct sim_fault_site *site, const struct sim_fault_aim *aim);
/* Does an occurrence at ctx match the aim? (No aim: always.) */
bool sim_fault_aim_matches(const struct sim_fault_aim *aim, const struct sim_fault_ctx *ctx);
void sim_fault_site_disarm_all(void);
/* Zero every site's occurrence and injection counters (a new run). */
void sim_fault_site_reset_counters(void);
/* Faults injected since the counters were last zeroed, at every site. */
uint64_t sim_fault_injected_total(void);

/* Seeded PRNG (splitmix/xoshiro) shared by fault probabilities and the scheduler.
 * Never seeded from the clock in deterministic mode. */
void sim_rng_seed(uint64_t seed);
uint64_t sim_rng_next(void);

/* ---- execution modes and the deterministic scheduler ---- */

enum sim_mode { SIM_MODE_FREE, SIM_MODE_DET };
enum sim_policy { SIM_POLICY_RANDOM, SIM_POLICY_PCT };

struct sim_sched_config {
	enum sim_mode mode;
	enum sim_policy policy;     /* det mode only */
	unsigned pct_depth;         /* PCT: bug depth d (1..16), d-1 priority change points */
	uint64_t pct_steps;         /* PCT: expected steps of a run (0: 20000) */
	uint64_t seed;              /* the one seed of the run (scheduler, fault sites) */
};

/* Choose the mode before any domain exists (-EBUSY otherwise, -EINVAL for a bad
 * PCT depth). Resets virtual time to 1 s, the step count and the trace hash. */
int sim_sched_configure(const struct sim_sched_config *cfg);
/* Det mode, livelocks: a domain that keeps passing scheduling points and
 * never waits. A domain call made from outside the domains (sim_domain_call
 * by the harness) gives up after `steps` steps (0, the default: never), and
 * on_livelock(why) is called (if set) on the caller's thread. The spinning
 * domain still runs and may still use what the call's caller would free next,
 * so on_livelock should end the process (or leave the sim alone); if it
 * returns, the call and every later one from outside the domains return
 * -ETIMEDOUT. A domain stopped for destruction that does not finish its step
 * within a million points is parked for good and torn down around. Either
 * way sim_sched_livelock() says which domain, at which point (true), until the
 * next sim_sched_configure(); set the bound after that. */
void sim_sched_set_call_bound(uint64_t steps, void (*on_livelock)(const char *why));
/* Det mode, a domain stuck outside the sim: it holds the token and makes no
 * step for `wall_s` seconds of wall-clock time (blocked on a lock another
 * domain holds across a scheduling point, or spinning with no point in its
 * loop). The controller's wait then calls the on_livelock of
 * sim_sched_set_call_bound (which must be set) with the domain and its last
 * point. 0, the default: wait for ever. Reset by sim_sched_configure(). */
void sim_sched_set_stuck_bound(unsigned wall_s);
bool sim_sched_livelock(char *buf, size_t len);
enum sim_mode sim_mode(void);

enum sim_run_result {
	SIM_RUN_DONE,       /* until(arg) became true */
	SIM_RUN_DEADLINE,   /* the (virtual) clock reached deadline_ns */
	SIM_RUN_IDLE,       /* no domain can run and no timer is pending: a hang */
	SIM_RUN_STEPS,      /* max_steps scheduling steps were taken */
};
/* Run the domains until until(arg) holds (checked after every step; NULL:
 * never), the clock reaches deadline_ns (UINT64_MAX: none) or max_steps steps
 * (0: no limit). Det mode: called by the harness thread, which holds the token
 * meanwhile; free mode: polls. */
enum sim_run_result sim_run(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
			    uint64_t max_steps);
/* sim_run in slices of slice_steps steps (> 0), with max_steps 0. Det mode:
 * at the end of each slice the token holder, a domain thread or the
 * controller, calls slice_fn(slice_arg) in place, as the harness
 * (sim_current_domid() is DOMID_INVALID meanwhile); true carries on with the
 * next slice, false ends the run with SIM_RUN_STEPS. It saves the two thread
 * switches that a return to the controller after every slice costs, and
 * changes no scheduling decision. slice_fn must not create, destroy or call
 * domains, advance time or draw from the PRNGs. Free mode: plain sim_run. */
enum sim_run_result sim_run_sliced(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
				   uint64_t slice_steps, bool (*slice_fn)(void *arg),
				   void *slice_arg);
/* Run fn(arg) once the clock reaches at_ns: for the environment's own delays
 * (a held-back watch event, ...). Det mode: when no domain can run, time moves
 * to the earliest of these and the domains' timers, and fn runs on the harness
 * thread holding the token. Free mode: from a short-lived thread. fn must only
 * touch sim state under that module's own lock. -ENOMEM. */
int sim_timer_at(uint64_t at_ns, void (*fn)(void *arg), void *arg);
/* Monotonic time in ns: virtual in det mode (starts at 1 s), real in free mode. */
uint64_t sim_now_ns(void);
uint64_t sim_sched_steps(void);
uint64_t sim_sched_switches(void);
/* FNV-1a over every scheduling decision of the run: same seed, same hash. */
uint64_t sim_trace_hash(void);
/* Mix a harness event into the trace hash (det mode; nothing in free mode). */
void sim_trace_mix(const char *what, uint64_t value);
/* Wait on the calling domain thread until pred(arg) holds: through the
 * scheduler in det mode (the thread is runnable again when pred holds), by
 * polling in free mode. */
void sim_sched_block_until(bool (*pred)(void *arg), void *arg);

/* ---- trace events: what a timeline draws (domains as lanes, arrows) ---- */

enum sim_trace_kind {
	SIM_TR_NOTIFY,       /* domid port a -> peer port b */
	SIM_TR_GRANT_MAP,    /* domid maps peer's ref a (b: 1 read-only) */
	SIM_TR_GRANT_UNMAP,  /* domid unmaps peer's ref a */
	SIM_TR_GRANT_COPY,   /* domid copies from/to peer's ref a (b: bytes) */
	SIM_TR_XS,           /* a xenstore operation by domid: a = its xs_wire type (XS_WRITE,
	                        XS_RM, XS_WATCH_EVENT delivered, XS_TRANSACTION_END), b = the
	                        errno it ended with (0: done), text = the path; for a commit
	                        after a change in the transaction was refused, that change
	                        ("WRITE of PATH failed (ENOSPC)"), else "" */
	SIM_TR_STATE,        /* domid's device state a -> b (text: the path) */
	SIM_TR_FAULT,        /* an injected fault (text: the site) */
	SIM_TR_DOMAIN,       /* domain created (a=1), destroyed (a=0), crashed (a=2) */
	SIM_TR_NOTE,         /* anything else the harness wants on the timeline */
};

struct sim_trace_event {
	uint64_t step;
	uint64_t vt_ns;
	enum sim_trace_kind kind;
	domid_t domid;
	domid_t peer;
	uint32_t a, b;
	const char *text;    /* valid during the call only */
};

typedef void sim_trace_sink_fn(const struct sim_trace_event *ev, void *ctx);
/* Install (or with NULL remove) the one sink; events are dropped without one. */
void sim_trace_set_sink(sim_trace_sink_fn *fn, void *ctx);
extern sim_trace_sink_fn *_Atomic sim_trace_sink;
void sim_trace_emit(enum sim_trace_kind kind, domid_t domid, domid_t peer, uint32_t a,
		    uint32_t b, const char *text);
static inline void sim_trace_event(enum sim_trace_kind kind, domid_t domid, domid_t peer,
				   uint32_t a, uint32_t b, const char *text)
{
	if (atomic_load_explicit(&sim_trace_sink, memory_order_relaxed))
		sim_trace_emit(kind, domid, peer, a, b, text);
}

/* ---- scheduling points ---- */

extern atomic_bool sim_sched_active;
void sim_sched_point_slow(const char *site);
/* One hook for modules above this one (the shared-memory attack of sim/gnttab):
 * called at every scheduling point of a domain thread in det mode, by the
 * token holder, after the point is counted and hashed and before the next
 * holder is chosen. It runs with the domain's identity and must not block,
 * yield or call domains. NULL removes it. Free mode never calls it. */
typedef void sim_sched_point_hook_fn(domid_t domid, const char *site);
void sim_sched_set_point_hook(sim_sched_point_hook_fn *fn);
/* Det mode: called by the thread in sim_run when a timer ends a gap of at
 * least min_ns of virtual time in which no domain ran (every one idle, or
 * paused), before the timer runs: from_ns is when a domain last had the
 * token, to_ns the timer's time. What a hook reads of the domains is as the
 * gap left it. It must not block or call domains. NULL removes it. */
typedef void sim_sched_idle_hook_fn(uint64_t from_ns, uint64_t to_ns, void *arg);
void sim_sched_set_idle_hook(sim_sched_idle_hook_fn *fn, uint64_t min_ns, void *arg);
/* Every Xen API entry and ring barrier calls this; free mode pays one load. */
static inline void sim_sched_point(const char *site)
{
	if (atomic_load_explicit(&sim_sched_active, memory_order_relaxed))
		sim_sched_point_slow(site);
}

/* ---- invariants ---- */

/* Invariants of the sim hold always, not only in debug builds: a broken one
 * prints "xensim: FILE:LINE: MODULE invariant 'COND' broken: MESSAGE" and
 * aborts. (A hostile guest is never an invariant: it is an error, returned.) */
void sim_panic(const char *module, const char *file, int line, const char *cond,
	       const char *fmt, ...) __attribute__((noreturn, format(printf, 5, 6)));
#define SIM_ASSERT_IN(module, cond, ...)                                       \
	do {                                                                   \
		if (!(cond))                                                   \
			sim_panic(module, __FILE__, __LINE__, #cond, __VA_ARGS__); \
	} while (0)
#define SIM_ASSERT(cond, ...) SIM_ASSERT_IN("hypervisor", cond, __VA_ARGS__)

/* ---- coverage ---- */

/* Write gcov's counters now. A forked run ends with _exit(), which skips gcov's
 * writer at exit, so without this `make coverage` would not count what scenario
 * runs reach. A no-op unless built for coverage (VARIANT=cov defines XENSIM_GCOV). */
void sim_coverage_flush(void);

/* ---- logging ---- */

/* One line to stderr, prefixed "xensim: ". */
void sim_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
