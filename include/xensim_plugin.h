/*
 * xensim_plugin.h: your own workload in a scenario, from a shared object.
 *
 *     plugin ./libmyvchan.so                      # relative to the .scn file
 *     workload myvchan server=dom1 client=dom2 bytes=64k
 *
 * A plugin is a shared object that defines one symbol, `xensim_plugin` (use
 * XENSIM_PLUGIN below), listing its workloads. Each has the same shape as a
 * built-in one: a parameter table (checked at parse time: unknown keys,
 * ranges and required ones are file:line errors), counters (usable in
 * `when`/`after`/`expect`), and start/check/stop hooks. Its code talks to
 * the sim through Xen's own API (<xenevtchn.h>, <xengnttab.h>, <xenstore.h>;
 * link with -lxenevtchn -lxengnttab -lxenstore or with a library such as
 * libxenvchan that does), which the xensim executable provides to the
 * plugin, and through the xensim_wl_* functions here.
 *
 * ABI rule: XENSIM_PLUGIN_ABI changes whenever anything in this header
 * changes incompatibly (a struct layout, a function's meaning). The engine
 * refuses a plugin built for another version, with a message naming the
 * scenario line, the plugin and both versions: rebuild the plugin against
 * the installed header. Within one version, functions are only added.
 *
 * Threads: start, check, stop and domain_event run on the harness thread.
 * Code that acts as a domain runs on the domain's thread: through
 * xensim_wl_call (waits) or from the domain's event loop (xensim_wl_event_*).
 * In det mode everything is scheduled deterministically from the seed; use
 * xensim_wl_seed for your own random choices, never the clock.
 *
 * Conventions: 0 or a negative errno, as in xensim.h.
 */
#ifndef XENSIM_PLUGIN_H
#define XENSIM_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xensim.h"

#ifdef __cplusplus
extern "C" {
#endif

#define XENSIM_PLUGIN_ABI 1

enum xensim_param_kind {
	XENSIM_P_UINT,       /* decimal, k/M/G multipliers allowed */
	XENSIM_P_SIZE,       /* bytes: 4096, 4k, 16M */
	XENSIM_P_TIME,       /* ns: 500us, 10ms, 2s */
	XENSIM_P_BOOL,       /* 0/1, yes/no, on/off */
	XENSIM_P_PERCENT,    /* 0..100 */
	XENSIM_P_DOMAIN,     /* a declared domain: read it with xensim_wl_domid */
	XENSIM_P_STRING,     /* read it with xensim_wl_str */
};

struct xensim_param {
	const char *key;
	enum xensim_param_kind kind;
	const char *dflt;    /* as written in a scenario; NULL: required */
	uint64_t min, max;   /* numeric kinds, inclusive (0, 0: no bound) */
	const char *what;    /* one line of help */
};

/* A domain of the workload went away or came back (scenario actions). */
enum xensim_dom_event {
	XENSIM_DOM_CRASHED,    /* gone: crash or destroy; its event-loop events are dead */
	XENSIM_DOM_RESTARTED,  /* a fresh domain with the same name and domid is up */
};

struct xensim_wl;      /* one workload instance in a run (the engine's) */
struct xensim_event;   /* an event on a domain's loop (the engine's) */

struct xensim_workload {
	const char *name;                      /* `workload NAME ...` */
	const char *what;                      /* one line */
	const struct xensim_param *params;     /* {NULL}-ended; index = your own enum */
	const char *const *counters;           /* NULL-ended names; may be NULL */
	/* Every domain up. Set up (xensim_wl_call), return 0; < 0 is a harness
	 * error (say why with xensim_wl_error first). */
	int (*start)(struct xensim_wl *wl);
	/* Optional: after every slice of steps (det mode: at a deterministic
	 * point), to check invariants as the run goes: report with xensim_wl_fail. */
	void (*check)(struct xensim_wl *wl);
	/* Release everything (grants, ports, handles, xenstore nodes, memory):
	 * the engine then checks that nothing is left behind. */
	void (*stop)(struct xensim_wl *wl);
	/* Optional: a domain went or came back. */
	void (*domain_event)(struct xensim_wl *wl, int domid, enum xensim_dom_event ev);
	/* The counter of index i in counters[]. Required with counters. */
	uint64_t (*counter)(struct xensim_wl *wl, unsigned i);
};

struct xensim_plugin {
	unsigned abi;                              /* XENSIM_PLUGIN_ABI: always first */
	const char *name;
	const struct xensim_workload *const *workloads;   /* NULL-ended */
};

/* Define the plugin: XENSIM_PLUGIN("myvchan", &my_workload, &other); */
#define XENSIM_PLUGIN(pname, ...)                                               \
	static const struct xensim_workload *const xensim_plugin_wls_[] = {      \
		__VA_ARGS__, NULL};                                              \
	__attribute__((visibility("default"))) const struct xensim_plugin       \
		xensim_plugin = {XENSIM_PLUGIN_ABI, (pname), xensim_plugin_wls_}

/* ---- what a workload instance uses (exported by the xensim executable) ---- */

/* Parameters, by index in the params table. Out of range: the run stops
 * with an invariant message naming the workload. */
uint64_t xensim_wl_u(const struct xensim_wl *wl, unsigned param);
const char *xensim_wl_str(const struct xensim_wl *wl, unsigned param);
int xensim_wl_domid(const struct xensim_wl *wl, unsigned param);
/* The instance's id (`id=`, default the type) and a seed of the run for its
 * own choices (same seed, same choices). */
const char *xensim_wl_id(const struct xensim_wl *wl);
uint64_t xensim_wl_seed(const struct xensim_wl *wl);
/* Your own state. */
void xensim_wl_set_priv(struct xensim_wl *wl, void *priv);
void *xensim_wl_priv(const struct xensim_wl *wl);

/* The outcome, from any thread; the first report wins. done: completed and
 * verified. error: gave up cleanly (a failed grant map, the peer went away):
 * acceptable where the scenario says so (`expect error`, `allow error`).
 * fail: the code under test is wrong (bad data, lost bytes). Messages are
 * prefixed with the workload id and suffixed with the plugin and the
 * scenario's file:line. */
void xensim_wl_done(struct xensim_wl *wl);
void xensim_wl_error(struct xensim_wl *wl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void xensim_wl_fail(struct xensim_wl *wl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool xensim_wl_finished(const struct xensim_wl *wl);
/* A line on the run's timeline. */
void xensim_wl_note(struct xensim_wl *wl, int domid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Run fn(arg) on domid's thread as that domain, and wait for its result
 * (harness thread only). -ESRCH: the domain is not alive (or died before fn
 * ran); -EFAULT: fn made a memory-protection fault (a write through a
 * read-only grant, an access after unmap), which fails the workload with the
 * fault's report. */
int xensim_wl_call(struct xensim_wl *wl, int domid, int (*fn)(void *arg), void *arg);

/* Events on the calling domain's event loop (call on a domain's thread).
 * fd >= 0: cb runs each time fd is readable (an event channel's
 * xenevtchn_fd); fd < 0: a timer, armed with xensim_event_add. cb runs on
 * the domain's thread, guarded like xensim_wl_call. NULL: no memory or not
 * on a domain's thread. An event of a crashed domain is dead: free it. */
struct xensim_event *xensim_event_new(struct xensim_wl *wl, int fd, void (*cb)(void *arg), void *arg);
/* (Re)arm: fd events with timeout_ns 0 wait for ever; a timer fires once
 * after timeout_ns. -EINVAL for a dead event. */
int xensim_event_add(struct xensim_event *ev, uint64_t timeout_ns);
/* From the domain's thread or, once the domain is dead or the run stops,
 * from anywhere. NULL is fine. */
void xensim_event_free(struct xensim_event *ev);

/* The toolstack (dom0) writes, reads and removes xenstore nodes (harness
 * thread): -ENOENT, -EACCES, ... */
int xensim_wl_xs_write(struct xensim_wl *wl, const char *path, const char *value);
int xensim_wl_xs_read(struct xensim_wl *wl, const char *path, char *buf, size_t len);
int xensim_wl_xs_rm(struct xensim_wl *wl, const char *path);

#ifdef __cplusplus
}
#endif

#endif
