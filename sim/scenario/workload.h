/*
 * sim/scenario: the workload registry. A workload is what a scenario runs on
 * its domains (`workload ring front=guest back=dom0 requests=200`): a small
 * table of parameters and function pointers, listed once in workload.c's
 * table. A new driver pair plugs in with one table entry and one file.
 *
 * The engine parses and checks the parameters against the table, creates the
 * domains, then calls start() on the harness thread; the workload sets itself
 * up on its domains (scn_wl_call), runs from their event loops, and reports
 * through scn_wl_done / scn_wl_error / scn_wl_fail, which any thread may
 * call. Between slices the engine calls check(); at the end stop(), which must
 * release everything the workload holds (the engine then checks that grants,
 * mappings, ports, handles and xenstore nodes are back where they started).
 *
 * A domain of the workload may crash (scenario actions): domain_event() is
 * then called on the harness thread once the domain is gone, and again once a
 * restarted domain is up. Its event_base is gone with it: workloads allocate
 * their events with scn_ev_new so that nothing leaks or dangles.
 */
#ifndef SIM_SCENARIO_WORKLOAD_H
#define SIM_SCENARIO_WORKLOAD_H

#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <event2/event.h>

#include "sim/scenario/scenario.h"

#define SCN_XS_PATH_MAX 160u     /* scn_xs_printf/gets: <dir>/<key> */
#define SCN_XS_VALUE_MAX 64u
#define SCN_PARAMS_MAX 32u

enum scn_param_kind {
	SCN_P_UINT,          /* decimal (k/M/G multipliers allowed) */
	SCN_P_SIZE,          /* bytes: 4096, 4k, 16M, 1G */
	SCN_P_TIME,          /* ns: 500us, 10ms, 2s */
	SCN_P_BOOL,          /* 0/1, yes/no, on/off, true/false */
	SCN_P_PERCENT,       /* 0..100: 25 or 25% */
	SCN_P_DOMAIN,        /* a declared domain; u[] holds its index */
	SCN_P_DOMAINS,       /* a comma list of declared domains; u[] holds a bit mask */
	SCN_P_STRING,        /* s[] holds it */
};

struct scn_param {
	const char *key;
	enum scn_param_kind kind;
	const char *dflt;    /* as written in a file; NULL: required */
	uint64_t min, max;   /* numeric kinds, inclusive (0, 0: no bound) */
	const char *what;    /* one line for README / `xensim list --workloads` */
};

struct scn_wl_args {
	uint64_t u[SCN_PARAMS_MAX];
	char s[SCN_PARAMS_MAX][SCN_TEXT_MAX];
};

enum scn_dom_event {
	SCN_DOM_CRASHED,     /* gone (crash or destroy); its handles answer ESRCH */
	SCN_DOM_RESTARTED,   /* a fresh domain with the same name and domid is up */
};

/* Where a workload instance stands (scn_wl.state). */
enum scn_wl_state { SCN_WL_RUNNING, SCN_WL_DONE, SCN_WL_ERROR, SCN_WL_FAIL };

struct scn_wl;
struct netfront;
struct blkfront;

struct scn_wl_type {
	const char *name;
	const char *what;                 /* one line */
	const struct scn_param *params;   /* indexed by the workload's own enum, {NULL}-ended */
	const char *const *counters;      /* names for `when`/`after`, NULL-ended; may be NULL */
	/* Parse time, optional: check parameters against each other. */
	int (*validate)(const struct scn_wl_args *a, char *err, size_t len);
	/* Harness thread, every domain up. < 0: a harness error (the message
	 * through scn_wl_error first); a failure of the code under test is
	 * reported with scn_wl_error/fail and start still returns 0. */
	int (*start)(struct scn_wl *wl);
	void (*domain_event)(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev);
	void (*check)(struct scn_wl *wl);           /* optional, between slices */
	/* Optional, det mode: may check() run now on whichever domain thread
	 * holds the token, acting as the harness (then it must not scn_wl_call,
	 * wait or act on domains)? NULL: check() runs on the harness thread only. */
	bool (*check_in_place)(struct scn_wl *wl);
	/* Optional, det mode, while the workload runs, on the thread running
	 * the scheduler with every domain parked and no domain run for a
	 * while: has the workload work in flight that only its domains' own
	 * events move on (I/O submitted on a connected device, frames a driver
	 * holds for a connected peer)? Then what says what, and the run has
	 * stalled (the stall oracle). */
	bool (*busy)(struct scn_wl *wl, char *what, size_t len);
	void (*stop)(struct scn_wl *wl);            /* release everything */
	uint64_t (*counter)(struct scn_wl *wl, unsigned index);   /* index in counters[] */
	/* Optional toolstack actions on the workload's device(s), harness
	 * thread; 0 or -errno (-ENOTSUP if the workload has none):
	 * unplug: hot-unplug as a toolstack does (the backend is asked to close,
	 *         then the device's nodes go); the workload carries on without it;
	 * plug:   hot-plug it back (new nodes; the ends connect again);
	 * suspend: the guest `guest` is saved and restored (its frontends
	 *         reconnect as after save/restore or migration), with its devices
	 *         now served by new_back (the same domain, or another one);
	 * resize: the disk behind the device becomes size_bytes, online (the
	 *         backend tells its frontend; the workload follows the new size).
	 *         A failure of the harness or an unsupported size: < 0, after
	 *         scn_wl_error. */
	int (*unplug)(struct scn_wl *wl);
	int (*plug)(struct scn_wl *wl);
	int (*suspend)(struct scn_wl *wl, domid_t guest, domid_t new_back);
	int (*resize)(struct scn_wl *wl, uint64_t size_bytes);
};

/* One instance in a run. Workload code reads the arguments and keeps its own
 * state in priv; the rest is the engine's. */
struct scn_wl {
	const struct scn_wl_type *type;
	char id[SCN_NAME_MAX];
	const struct scn_wl_args *args;
	unsigned nparams;                 /* of type->params (engine) */
	void *priv;
	struct scn_run *run;
	atomic_int state;                 /* enum scn_wl_state (engine) */
};

/* A workload's own xenstore access through its domain's handle (a hostile
 * peer speaking for itself; scn_wl_xs_* act as the toolstack):
 * <dir>/<key> = the formatted value, or <dir>/<key> read into buf.
 * 0 or -errno (-ENOENT absent). */
struct xs_handle;
int scn_xs_printf(struct xs_handle *xs, const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
int scn_xs_gets(struct xs_handle *xs, const char *dir, const char *key, char *buf, size_t len);

/* A hostile peer (liar) asks whether to lie now at `site`: an occurrence
 * acting as `liar` against `victim` on `device` ("vbd/51712", "vif/0"), so
 * that `fault SITE ... on DOMAIN|DEVICE` aims it; a lie it tells goes on
 * the timeline. */
bool scn_wl_lie(struct sim_fault_site *site, domid_t liar, domid_t victim, const char *device);
/* splitmix64 over *state: a workload's own draws from a seed of the run. */
uint64_t scn_wl_rand(uint64_t *state);
/* A value out of range from one draw r: half the time the first one past
 * the range (first_bad itself, where an off-by-one lets it through), else
 * first_bad + r % span. A liar's pick of a bad field value. */
uint64_t scn_past_edge(uint64_t r, uint64_t first_bad, uint64_t span);
/* A value in range 1..last from one draw r: one time in eight the last
 * one (the most a peer must take, where an off-by-one refuses it), else
 * 1 + r % typical (typical <= last: the usual small values). A good
 * request's count of segments or slots. */
uint64_t scn_at_edge(uint64_t r, uint64_t last, uint64_t typical);

/* A check_in_place for a check() that only reads. */
bool scn_wl_check_anywhere(struct scn_wl *wl);

/* The registry. */
const struct scn_wl_type *scn_wl_type_find(const char *name);
const struct scn_wl_type *const *scn_wl_types(unsigned *count);

/* Arguments. */
uint64_t scn_wl_u(const struct scn_wl *wl, unsigned param);
const char *scn_wl_s(const struct scn_wl *wl, unsigned param);
domid_t scn_wl_domid(const struct scn_wl *wl, unsigned param);
/* The workload runs an attacker on domid (a hostile peer, a store attack):
 * oracles of a client's own conduct do not judge that domain. */
void scn_wl_hostile(struct scn_wl *wl, domid_t domid);
/* The domains of a SCN_P_DOMAINS parameter, in declaration order. */
unsigned scn_wl_domids(const struct scn_wl *wl, unsigned param, domid_t *out, unsigned max);
/* A seed of the run for the workload's own choices (same seed, same choices). */
uint64_t scn_wl_seed(const struct scn_wl *wl);

/* Outcome, from any thread; the first report wins. done: completed and
 * verified. error: gave up cleanly (e.g. a grant map failed and the workload
 * said so), an acceptable end under injected faults when the scenario allows
 * it. fail: the code under test is wrong (wrong data, lost or doubled
 * response, protocol violation). */
void scn_wl_done(struct scn_wl *wl);
void scn_wl_error(struct scn_wl *wl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* How a domain of the workload went, for its messages from domain_event():
 * "was destroyed" (an orderly destroy) or "crashed". */
const char *scn_wl_gone(const struct scn_wl *wl, domid_t domid);
void scn_wl_fail(struct scn_wl *wl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
bool scn_wl_finished(const struct scn_wl *wl);
/* The run's pause actions so far (`pause DOMAIN`): a paused guest refills
 * nothing, a paused backend serves nothing, for as long as it lasts. */
uint64_t scn_wl_pauses(const struct scn_wl *wl);

/* Run fn(arg) on domid's thread and wait (sim_domain_call). */
int scn_wl_call(struct scn_wl *wl, domid_t domid, int (*fn)(void *arg), void *arg);
/* Run fn(arg) on the calling thread; a memory-protection fault inside it
 * becomes scn_wl_fail with the fault's report instead of ending the process.
 * True if it faulted. */
bool scn_wl_guard(struct scn_wl *wl, void (*fn)(void *arg), void *arg);
/* A line on the run's timeline (SIM_TR_NOTE) and in the trace. */
void scn_wl_note(struct scn_wl *wl, domid_t domid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The toolstack's xenstore access (dom0, the harness's own connection), for
 * setting up what a workload's domains need: 0 or -errno (-ENOENT, -EACCES,
 * ...). Harness thread only. */
int scn_wl_xs_write(struct scn_wl *wl, const char *path, const char *value);
int scn_wl_xs_read(struct scn_wl *wl, const char *path, char *buf, size_t len);
/* How many times the scenario file itself wrote the state node PATH
 * (xs-write, faking its owner): a peer reacting to such a write, e.g. a
 * backend dropping a frontend the file showed Closed, has a cause. */
unsigned scn_wl_state_faked(struct scn_wl *wl, const char *path);
/* A backend driver in domain be stopped (its domain lives on): every device
 * of TYPE ("vbd", "vif") it took up must be left Closed, so that its
 * frontend knows the backend is gone and a successor starts from Closed
 * (Linux's backends switch to Closed on remove); one it never took up keeps
 * the toolstack's Initialising. Fails the run naming the first left in
 * another state. */
void scn_wl_check_backend_stopped(struct scn_wl *wl, domid_t be, const char *type);
/* A frontend's pool balance: of `total` things (buffers, request slots,
 * pages) named `what`, `free` are free and `held` held by its rings; any
 * other count fails the run naming the driver, domain and pool. One lost on
 * some path (an error response, a dropped frame) is never used again, and
 * no grant count or data check sees it. */
void scn_wl_check_balance(struct scn_wl *wl, const char *driver, domid_t domid, const char *what,
			  unsigned total, unsigned free, unsigned held);
/* The same for every pool of a netfront (tx and rx buffers) and of a
 * blkfront (request slots, persistent pool pages) about to close: on its
 * domain's thread, outside its callbacks. */
void scn_wl_check_netfront_pools(struct scn_wl *wl, domid_t domid, const struct netfront *nf);
void scn_wl_check_blkfront_pools(struct scn_wl *wl, domid_t domid, const struct blkfront *bf);
int scn_wl_xs_rm(struct scn_wl *wl, const char *path);
/* perms: "n1 r0", one entry per word (owner first, as xenstore-chmod). */
int scn_wl_xs_set_perms(struct scn_wl *wl, const char *path, const char *perms);
/* Remove path and then its parents while empty, keeping the first `keep`
 * bytes of the path (a domain's home: strlen("/local/domain/N")). */
int scn_wl_xs_rm_prune(struct scn_wl *wl, const char *path, size_t keep);

/* libevent events in memory the workload owns: freeing one whose domain died
 * (its base is gone) releases the memory without touching the base. */
struct event *scn_ev_new(struct event_base *base, evutil_socket_t fd, short what,
			 event_callback_fn cb, void *arg);
void scn_ev_free(struct event *ev, bool base_alive);
/* A libevent timeout of ns nanoseconds. */
static inline struct timeval scn_tv(uint64_t ns)
{
	return (struct timeval){.tv_sec = (time_t)(ns / 1000000000u),
				.tv_usec = (suseconds_t)(ns % 1000000000u / 1000u)};
}

#endif
