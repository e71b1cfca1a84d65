/*
 * xensim.h: the sim as a library, for your own test program.
 *
 * xensim simulates Xen's hypervisor primitives in one process: domains are
 * threads, and the Xen userspace API (<xenevtchn.h>, <xengnttab.h>,
 * <xenstore.h>, from libxen-dev, unchanged) acts for the domain of the
 * calling thread. Your code is written against that API only; this header is
 * what a test program needs around it: start the sim, create domains, run
 * functions as a domain, inject faults, run until something holds, and read
 * the seed and trace hash that replay a run.
 *
 * Two modes. Free: domains are real parallel threads (stress, sanitizers).
 * Det (deterministic): one domain thread runs at a time, control passes only
 * at Xen API calls, the choice of the next domain comes from the seed, and
 * time is virtual: the same program with the same seed makes the same run,
 * with the same trace hash.
 *
 * Every domain gets its xenstore home as libxl writes it: /local/domain/N
 * with `name` and `domid` (owner dom0, readable by N); the home itself
 * belongs to N. It goes when the domain dies.
 *
 * Conventions: functions returning int give 0 (or a value >= 0) on success
 * and a negative errno on failure, and set nothing else; they never exit the
 * process. Domains are named by their domid (an int). Not async-signal-safe.
 * Link: pkg-config --cflags --libs xensim; in the source tree, the static
 * build/libxensim.a as a whole archive (its fault sites and domain hooks
 * register from constructors), then build/libxendrv.a, -levent_pthreads
 * -levent -pthread -lrt -lm (examples/embed/Makefile does both).
 */
#ifndef XENSIM_H
#define XENSIM_H

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define XENSIM_API_VERSION 1
#define XENSIM_NO_DEADLINE UINT64_MAX

enum xensim_mode { XENSIM_MODE_FREE = 0, XENSIM_MODE_DET = 1 };
enum xensim_policy { XENSIM_POLICY_RANDOM = 0, XENSIM_POLICY_PCT = 1 };

struct xensim_config {
	enum xensim_mode mode;
	enum xensim_policy policy;   /* det mode: a seeded random walk, or PCT */
	unsigned pct_depth;          /* PCT: bug depth 1..16 */
	uint64_t pct_steps;          /* PCT: expected run length in steps (0: 20000) */
	uint64_t seed;               /* the run's one seed (scheduler and faults) */
};

/* Start (or restart) the sim in a mode. NULL: free mode, seed 1. Disarms
 * every fault site and zeroes their counters; virtual time restarts at 1 s.
 * -EBUSY if domains exist (xensim_stop first), -EINVAL for a bad policy or
 * depth, -ENOMEM if the process-wide state could not be set up. */
int xensim_start(const struct xensim_config *cfg);
/* Destroy every domain (their homes go), wait for their threads, disarm the
 * faults; back to free mode. Never fails. */
void xensim_stop(void);

/* ---- domains ---- */

struct xensim_domain_config {
	const char *name;      /* required, 1..31 bytes */
	bool privileged;       /* dom0-like: xenstore superuser */
	uint64_t mem_bytes;    /* 0: 64 MiB; a multiple of 4096, at most 4 GiB */
	int domid;             /* < 0: the lowest free id (from 1; 0 only if asked) */
};

/* Create a domain; its thread runs its own event loop until it dies.
 * Returns the domid (>= 0), or -EINVAL (bad config), -EEXIST (domid in
 * use), -ENOSPC (no free domid), -ENOMEM, -EAGAIN (no thread). */
int xensim_domain_create(const struct xensim_domain_config *cfg);
/* Orderly destroy / crash: the domain's grants, ports, xenstore connections
 * and home go; pages others mapped stay valid until they unmap them. From
 * the domain's own thread, it ends when the current function returns.
 * -ESRCH if no such live domain. */
int xensim_domain_destroy(int domid);
int xensim_domain_crash(int domid);
bool xensim_domain_alive(int domid);

/* Free mode only: start an unmodified program as the (live) domain, in its
 * own process: /bin/sh -c "exec COMMAND", stdin /dev/null, stdout and
 * stderr inherited. Its Debian libxenevtchn.so.1 / libxengnttab.so.1 resolve
 * to build/lib-remote's (LD_LIBRARY_PATH; XENSIM_LIB_REMOTE overrides the
 * directory) and its libxenstore.so.4 reaches the store through
 * XENSTORED_PATH, all as this domain. The domain's sockets stay until it is
 * destroyed; the caller waits for the process (waitpid) and may crash the
 * domain when it dies. Returns the pid (> 0), or -ESRCH (no such live
 * domain), -ENOTSUP (det mode), -errno of the spawn. */
int xensim_domain_exec(int domid, const char *command);

/* Run fn(arg) on the domain's thread, as that domain: every Xen API call in
 * it acts for the domain and may block (an event-channel read, ...). call
 * waits and returns fn's result; in det mode the waiting caller drives the
 * scheduler meanwhile (other domains run too, deterministically). post
 * returns at once (use xensim_run to let it run). -ESRCH: no such live
 * domain (or it died before fn ran), -EDEADLK: call from the domain's own
 * thread, -ENOMEM. */
int xensim_domain_call(int domid, int (*fn)(void *arg), void *arg);
int xensim_domain_post(int domid, void (*fn)(void *arg), void *arg);

/* Free mode only: the calling thread acts for the domain (a further vcpu)
 * until xensim_leave(). -ESRCH if not alive, -EPERM in det mode (there only
 * scheduled domain threads may run: use xensim_domain_call). */
int xensim_enter(int domid);
void xensim_leave(void);
/* The domain the calling thread acts for, or -1. */
int xensim_current_domid(void);

/* On a domain's thread: wait until pred(arg) holds. Det mode: through the
 * scheduler (pred is re-checked whenever this thread is picked); free mode:
 * by polling. pred must not block or call Xen APIs that block. */
void xensim_wait_until(bool (*pred)(void *arg), void *arg);

/* ---- faults (`xensim faults` lists the sites) ---- */

struct xensim_fault {
	uint64_t after;          /* skip this many (matching) occurrences, fail the next */
	int64_t repeat;          /* further injections after the first; -1: forever */
	double prob;             /* > 0: each occurrence with this probability (seeded),
				  * instead of after/repeat */
	int aim_domid;           /* only occurrences involving this domain; -1: any */
	int aim_port;            /* only on this event-channel port (of the sender, or
				  * with aim_domid: of that domain); -1: any */
	const char *aim_device;  /* only on this device ("vbd/51712"); NULL: any */
};

/* Arm the site named `site` ("evtchn.notify.drop", "gnttab.map", ...).
 * An aim replaces the site's previous one (none: it fires anywhere).
 * -ENOENT: no such site, -EINVAL: prob not in [0, 1], repeat < -1, or a
 * device name of 32 bytes or more. */
int xensim_fault_arm(const char *site, const struct xensim_fault *f);
/* -ENOENT: no such site. */
int xensim_fault_disarm(const char *site);
/* Occurrences of the site and injections so far (since xensim_start);
 * 0 for an unknown site. */
uint64_t xensim_fault_occurrences(const char *site);
uint64_t xensim_fault_injected(const char *site);

/* ---- running ---- */

enum xensim_run_result {
	XENSIM_RUN_DONE,       /* until(arg) became true */
	XENSIM_RUN_DEADLINE,   /* the clock (xensim_now_ns) reached the deadline */
	XENSIM_RUN_IDLE,       /* det: no domain can run and no timer is pending (a hang) */
	XENSIM_RUN_STEPS,      /* max_steps scheduling steps were taken */
};
/* Let the domains run until until(arg) holds (checked after every step;
 * NULL: never), the clock reaches deadline_ns (absolute, XENSIM_NO_DEADLINE:
 * none) or max_steps steps (0: no limit). Call it from your main thread,
 * never from a domain's. Free mode: the domains run anyway; this polls. */
enum xensim_run_result xensim_run(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
				  uint64_t max_steps);

/* Virtual time in det mode (starts at 1 s, moves only when every domain
 * waits, to the next timer), real monotonic time in free mode; ns. */
uint64_t xensim_now_ns(void);
/* Scheduling steps so far. */
uint64_t xensim_steps(void);
/* FNV-1a over every scheduling decision since xensim_start (det mode): same
 * program, same seed, same hash. Meaningless in free mode. */
uint64_t xensim_trace_hash(void);
/* The seed given to xensim_start (1 by default). */
uint64_t xensim_seed(void);
/* Memory-protection faults seen (a write through a read-only grant, an
 * access after unmap). One that is not caught ends the process with a report. */
uint64_t xensim_memory_faults(void);

#ifdef __cplusplus
}
#endif

#endif
