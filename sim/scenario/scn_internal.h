/* Private to sim/scenario. No other module includes this. */
#ifndef SIM_SCENARIO_INTERNAL_H
#define SIM_SCENARIO_INTERNAL_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <xen/event_channel.h>

#include "sim/scenario/scenario.h"
#include "sim/scenario/workload.h"
#include "sim/xenstore/xs_store.h"

/* Invariants of the engine hold always (sim_panic names the module). */
#define SCN_ASSERT(cond, ...) SIM_ASSERT_IN("scenario", cond, __VA_ARGS__)

#define SCN_NS_PER_MS ((uint64_t)1000000)
#define SCN_NS_PER_S ((uint64_t)1000000000)
#define SCN_WITHIN_NS_DEFAULT (60 * SCN_NS_PER_S)
#define SCN_NEMESIS_WITHIN_NS_MIN (120 * SCN_NS_PER_S)   /* a nemesis run's `within` at least */
#define SCN_MAX_STEPS_DEFAULT ((uint64_t)5000000)
/* A harness call into a domain (a workload's start or stop, a toolstack
 * action) may take the run's max-steps, and at least this many: past it a
 * domain spins (sim_sched_set_call_steps). */
#define SCN_CALL_STEPS_MIN ((uint64_t)1000000)
#define SCN_SLICE_STEPS_DEFAULT 1u
#define SCN_SLICE_STEPS_MAX 100000u
#define SCN_FREE_SLICE_NS (2 * SCN_NS_PER_MS)  /* free mode: wall time per slice */
#define SCN_DELAY_NS_DEFAULT SCN_NS_PER_MS        /* evtchn.notify.delay hold time */
#define SCN_DELAYED_MAX 256u                      /* notifications held back at once */
#define SCN_DEEP_CHECK_SLICES 16u                 /* module *_check() every N slices */
#define SCN_ZOMBIES_MAX 32u                       /* domains gone mid-run, watched for maps left */
#define SCN_ZOMBIE_NS (2ull * 1000000000ull)      /* how long a dead domain's pages may stay mapped */
#define SCN_ZOMBIE_STEPS 20000u                   /* ... or how many scheduling steps */
#define SCN_STALL_NS (100ull * 1000000ull)         /* no domain ran, work in flight: a lost wakeup */
#define SCN_SITE_NAME_MAX 48u
#define SCN_EXPECT_COUNTERS_MAX 8u
#define SCN_KILL_WAIT_NS (2 * SCN_NS_PER_S)       /* for a domain to reach its loop */
#define SCN_KILL_STEPS_MAX 100000u

/* ---- a parsed scenario ---- */

struct scn_domain_decl {
	char name[SCN_NAME_MAX];
	bool priv;
	uint64_t mem_bytes;
	int domid;               /* assigned at parse time */
	unsigned line;
};

enum scn_trig_kind {
	SCN_TRIG_START,          /* armed at the start (a fault with `repeat` only) */
	SCN_TRIG_AT,             /* at <virtual time> */
	SCN_TRIG_AFTER_SELF,     /* fault: skip N occurrences of its own site, fail the next */
	SCN_TRIG_AFTER,          /* once COUNTER >= N */
	SCN_TRIG_PROB,           /* fault: each occurrence with probability p */
	SCN_TRIG_WHEN,           /* once the predicate holds */
};

enum scn_op { SCN_OP_EQ, SCN_OP_NE, SCN_OP_LT, SCN_OP_LE, SCN_OP_GT, SCN_OP_GE };

enum scn_ctr_kind {
	SCN_CTR_STEPS,
	SCN_CTR_SWITCHES,
	SCN_CTR_SITE_OCC,        /* <site>: its occurrences */
	SCN_CTR_SITE_INJ,        /* <site>.injected */
	SCN_CTR_WL,              /* <workload>.<counter> */
};

struct scn_counter_ref {
	char name[SCN_TEXT_MAX];
	enum scn_ctr_kind kind;
	struct sim_fault_site *site;
	unsigned wl, index;
};

struct scn_pred {
	bool xs;                 /* a xenstore value; else a counter */
	char path[SCN_TEXT_MAX]; /* xs: absolute */
	struct scn_counter_ref ctr;
	enum scn_op op;
	bool rhs_num;
	uint64_t rhs_u;
	char rhs_s[SCN_TEXT_MAX];
};

struct scn_trigger {
	enum scn_trig_kind kind;
	uint64_t at_ns;          /* AT: from the start of the run */
	uint64_t n;              /* AFTER, AFTER_SELF */
	uint32_t ppm;            /* PROB */
	struct scn_pred pred;    /* WHEN; AFTER uses pred.ctr */
};

struct scn_fault {
	unsigned line;
	char site_name[SCN_SITE_NAME_MAX];
	struct sim_fault_site *site;
	struct scn_trigger trig;
	int64_t repeat;          /* further injections after the first; -1 forever */
	uint64_t until_ns;       /* disarm at this time; 0: never */
	uint64_t delay_ns;       /* evtchn.notify.delay: hold time */
	struct sim_fault_aim aim;   /* `on TARGET...`; aim.set false: everywhere */
};

enum scn_act_id {
	SCN_ACT_CRASH,
	SCN_ACT_DESTROY,
	SCN_ACT_RESTART,
	SCN_ACT_XS_WRITE,
	SCN_ACT_XS_RM,
	SCN_ACT_XS_TOUCH,
	SCN_ACT_QUOTA,
	SCN_ACT_NOTE,
	SCN_ACT_UNPLUG,          /* dom: the workload's index */
	SCN_ACT_PLUG,
	SCN_ACT_SUSPEND,         /* dom: the guest; dom2: the new backend, or -1 */
	SCN_ACT_PAUSE,           /* dom; v: for how long (ns), 0: until an unpause */
	SCN_ACT_UNPAUSE,
	SCN_ACT_RESIZE,          /* dom: the workload's index; v: the new size (bytes) */
	SCN_ACT_COUNT
};

struct scn_action {
	unsigned line;
	struct scn_trigger trig;
	enum scn_act_id act;
	unsigned dom;                    /* domain index (unplug, plug: workload index) */
	int dom2;                        /* suspend ... to DOMAIN: its index; else -1 */
	char a[SCN_TEXT_MAX], b[SCN_TEXT_MAX];
	uint64_t v;
};

struct scn_quota {
	unsigned line;
	char name[SCN_NAME_MAX];         /* a xenstore quota, or grants / maptrack */
	int dom;                         /* grants, maptrack: the domain's index; else -1 */
	unsigned value;
};

struct scn_wl_decl {
	unsigned line;
	const struct scn_wl_type *type;
	char id[SCN_NAME_MAX];
	struct scn_wl_args args;
};

struct scenario {
	char path[256];
	char **lines;                    /* the file's physical lines, for shrink */
	unsigned nlines;
	bool seed_set;
	uint64_t seed;
	enum sim_mode mode;
	enum sim_policy policy;
	unsigned pct_depth;
	uint64_t pct_steps;
	enum scn_category category;
	char describe[SCN_TEXT_MAX];
	struct scn_domain_decl doms[SCN_DOMAINS_MAX];
	unsigned ndoms;
	struct scn_wl_decl wls[SCN_WORKLOADS_MAX];
	unsigned nwls;
	struct scn_fault faults[SCN_FAULTS_MAX];
	unsigned nfaults;
	struct scn_action actions[SCN_ACTIONS_MAX];
	unsigned nactions;
	struct scn_quota quotas[SCN_QUOTAS_MAX];
	unsigned nquotas;
	enum scn_expect expect;
	char expect_text[SCN_TEXT_MAX];
	char allows[SCN_ALLOWS_MAX][SCN_TEXT_MAX];
	unsigned nallows;
	bool expect_fired;                 /* `expect fired`: every action and fault line must fire */
	struct sim_fault_site *expect_faults[SCN_EXPECT_FAULTS_MAX];
	unsigned nexpect_faults;
	struct scn_pred expect_counters[SCN_EXPECT_COUNTERS_MAX];
	unsigned expect_counter_lines[SCN_EXPECT_COUNTERS_MAX];
	unsigned nexpect_counters;
	uint64_t within_ns;
	uint64_t max_steps;
	unsigned slice_steps;
	int access_points;               /* `access points [ring|all]`: sim/access */
	/* scn_add_nemesis: one more action line (from a sweep or --nemesis) */
	char nemesis[SCN_LINE_BYTES_MAX];
	int nemesis_action;              /* its index in actions[], or -1 */
};

/* ---- values (value.c) ---- */

int scn_parse_uint(const char *s, uint64_t *out);        /* 12, 4k, 2M */
int scn_parse_size(const char *s, uint64_t *out);        /* bytes */
int scn_parse_time(const char *s, uint64_t *out_ns);     /* 10ms, 2s, 1.5s */
int scn_parse_prob(const char *s, uint32_t *out_ppm);    /* 0.05, 5%, 1/20 */
int scn_parse_bool(const char *s, bool *out);
const char *scn_time_str(uint64_t ns, char *buf, size_t len);   /* "1.25s", "300us" */
/* XenbusState names as numbers ("Connected" -> 4); -1 if not one. */
int scn_xenbus_state(const char *s);
#define SCN_XENBUS_STATE_LAST 8   /* XenbusStateReconfigured; names: xenbus_state_name() */

/* ---- tokens (parse.c) ---- */

struct scn_tokens {
	unsigned n;
	char *v[SCN_TOKENS_MAX];
	char buf[SCN_LINE_BYTES_MAX];
};
/* Split a line into tokens ("quoted strings", # comments). -EINVAL with why. */
int scn_tokenize(const char *line, struct scn_tokens *t, const char **why);

/* Parser state passed to command handlers. */
struct scn_parser {
	struct scenario *s;
	const char *file;
	unsigned line;
	char *err;
	size_t err_len;
	bool seen_mode, seen_policy, seen_category, seen_expect, seen_within;
	unsigned counter_refs_pending;
};
int scn_perr(struct scn_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int scn_domain_index(struct scn_parser *p, const char *name, unsigned *out);
int scn_parse_trigger(struct scn_parser *p, char **v, unsigned n, unsigned *used,
		      struct scn_trigger *t, bool fault);
int scn_parse_action(struct scn_parser *p, char **v, unsigned n, struct scn_action *a);
/* v: LHS OP VALUE. */
int scn_parse_pred(struct scn_parser *p, char **v, struct scn_pred *pr);
int scn_parse_expect_counter(struct scn_parser *p, char **v);
bool scn_pred_holds(struct scn_run *run, const struct scn_pred *p);
int scn_parse_workload(struct scn_parser *p, char **v, unsigned n);
/* `domain NAME ... exec "COMMAND ARGS" [KEY=VALUE]...` (sim/remote/wl_exec.c):
 * an exec workload id=NAME dom=NAME cmd=COMMAND with the further parameters. */
int scn_domain_exec(struct scn_parser *p, const char *dom, char **v, unsigned n);
/* plugin.c: `plugin PATH` (include/xensim_plugin.h); a new file sees none. */
int scn_plugin_load(struct scn_parser *p, const char *path);
void scn_plugins_parse_begin(void);
const struct scn_wl_type *scn_plugin_type_find(const char *name);
/* After the whole file: counters named by triggers exist. */
int scn_resolve_counters(struct scn_parser *p);
int scn_resolve_counter(const struct scenario *s, struct scn_counter_ref *c);

/* ---- a run (run.c, trigger.c, oracle.c, trace.c) ---- */

struct scn_delayed {
	domid_t domid;
	evtchn_port_t port;
	uint64_t due_ns;
};

struct scn_trace_rec {
	uint64_t seq;                      /* its place among all the run's records */
	uint64_t step, vt_ns;
	uint8_t kind;
	domid_t domid, peer;
	uint32_t a, b;
	char text[96];
};
#define SCN_TIMELINE_EVENTS_MAX 160u       /* kept for the picture: the last ones */
#define SCN_TIMELINE_HEAD_MAX 48u          /* and those around the first fault */
#define SCN_FAKED_STATES_MAX 16u           /* state nodes a file's xs-write may fake in a run */
#define SCN_TIMELINE_HEAD_BEFORE 8u        /* of which before it */

struct scn_run {
	const struct scenario *s;
	const struct scn_run_opts *o;
	struct scn_result *r;
	uint64_t seed;
	enum sim_mode mode;
	uint64_t t0_ns;
	domid_t domids[SCN_DOMAINS_MAX];
	bool dom_alive[SCN_DOMAINS_MAX];
	uint64_t dom_back_ns[SCN_DOMAINS_MAX];   /* crash ... for: restart then (0: none) */
	bool dom_hostile[SCN_DOMAINS_MAX];   /* runs an attacker (scn_wl_hostile) */
	struct scn_wl wls[SCN_WORKLOADS_MAX];
	atomic_uint wl_pending;            /* workloads still running */
	atomic_bool stop_now;              /* a workload failed or gave up */
	pthread_mutex_t msg_lock;          /* first outcome message */
	enum scn_outcome wl_outcome;
	char wl_msg[SCN_MSG_MAX];
	/* triggers */
	bool fault_armed[SCN_FAULTS_MAX + 1], fault_over[SCN_FAULTS_MAX + 1];   /* + the sweep's */
	bool action_done[SCN_ACTIONS_MAX];
	struct sim_fault_site *sweep_site;
	struct scn_fault sweep_fault;
	/* evtchn.notify.delay: drops of evtchn.notify.drop become delays */
	bool delay_active;
	uint64_t delay_ns;
	struct scn_delayed delayed[SCN_DELAYED_MAX];
	unsigned ndelayed;
	uint64_t delayed_lost;
	/* harness xenstore connection (dom0) */
	struct xs_conn *xs;
	char *xs_reply;
	uint32_t xs_reply_type;
	unsigned xs_reply_len;
	/* oracles */
	uint64_t faults_at_start;
	_Atomic uint64_t faults_excused;   /* on dying domains' threads (scn_wl_guard) */
	_Atomic uint64_t pauses;           /* pause actions done (a run with one is not calm) */
	unsigned xs_nodes_start;
	unsigned xs_owned_start[SCN_DOMAINS_MAX];  /* after its home was made */
	char **xs_paths_start;             /* the tree before the domains came */
	unsigned xs_npaths_start;
	unsigned evtchn_handles_start, gnttab_handles_start;
	unsigned slices;
	/* trace */
	pthread_mutex_t trace_lock;
	FILE *trace;
	struct scn_trace_rec timeline[SCN_TIMELINE_EVENTS_MAX];
	_Atomic uint64_t timeline_count;   /* records seen (the ring keeps the last) */
	struct scn_trace_rec tl_head[SCN_TIMELINE_HEAD_MAX];   /* from just before the first fault */
	unsigned tl_head_n;
	/* state nodes the file wrote itself (xs-write), each kept for the run:
	 * how often (a workload asks whether a peer's reaction to a state has a
	 * cause the file made), and whether the fake is still the last word there
	 * (the next write by another domain is no move of its writer's own: the
	 * XenbusState oracle skips its order) */
	struct scn_state_fake {
		char path[SCN_TEXT_MAX];
		unsigned writes;
		bool pending;
	} state_fakes[SCN_FAKED_STATES_MAX];
	_Atomic uint64_t outcome_seq;      /* records seen when the outcome was set: the failure */
	uint64_t site_trace_injected[SCN_FAULTS_MAX + 1];
	/* workload events by domain, so a dying domain's are deleted in time */
	pthread_mutex_t ev_lock;
	struct scn_ev_rec *evs;
	unsigned crashes;                  /* domains crashed or destroyed mid-run */
	int last_gone;                     /* the scenario domain that went last (-1: none) */
	bool last_gone_orderly;            /* destroyed (true) or crashed: scn_dom_gone_word() */
	uint64_t last_gone_ns;
	struct scn_zombie {                /* a domain gone mid-run whose grants others may still map */
		domid_t id;
		uint64_t since_ns, since_steps, pauses;   /* the window: from its death, or the last pause */
	} zombies[SCN_ZOMBIES_MAX];
	unsigned nzombies;
	bool stalled;                      /* the stall oracle spoke (once a run) */
	bool stopping;                     /* teardown has begun */
	/* end */
	enum scn_outcome outcome;
	char reason[SCN_MSG_MAX];
};

struct scn_ev_rec {
	struct event *ev;
	domid_t domid;                     /* the domain whose base holds it */
	struct scn_ev_rec *next;
};
/* On the dying domain's own thread: delete its workload events, so that its
 * base, freed by its exiting thread, touches no memory a workload frees. */
void scn_evs_drop_domain(struct scn_run *run, domid_t domid);
void scn_evs_free_all(struct scn_run *run);

/* The run of the calling thread's scenario (one at a time per process). */
extern struct scn_run *scn_current;

/* Outcomes: the first (worst-first across kinds) wins. */
void scn_run_outcome(struct scn_run *run, enum scn_outcome o, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
const char *scn_dom_label(struct scn_run *run, domid_t domid, char *buf, size_t len);
/* Whether domid runs an attacker: the oracles that judge a client's own
 * conduct (a partial xenstore commit) leave it out. */
bool scn_dom_hostile(const struct scn_run *run, domid_t domid);
void scn_note(struct scn_run *run, domid_t domid, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* trigger.c */
int scn_triggers_start(struct scn_run *run);
/* A clean error is an acceptable end: the nemesis action fired. */
bool scn_nemesis_excuses(const struct scn_run *run);
/* Quotas on domains (grants, maptrack) before they are created. */
int scn_gnttab_quotas(struct scn_run *run);
/* Apply what is due now; true if anything fired. */
bool scn_triggers_apply(struct scn_run *run);
/* The earliest virtual time a trigger or a held notification waits for
 * (absolute), or UINT64_MAX. */
uint64_t scn_triggers_next_ns(struct scn_run *run);
void scn_triggers_stop(struct scn_run *run);
/* From the trace sink: a dropped send becomes a delayed one while
 * evtchn.notify.delay is armed. Caller holds run->trace_lock. */
void scn_delay_capture_locked(struct scn_run *run, domid_t domid, evtchn_port_t port);
const char *scn_action_name(enum scn_act_id id);
bool scn_counter_value(struct scn_run *run, const struct scn_counter_ref *c, uint64_t *out);
int scn_xs_read(struct scn_run *run, const char *path, char *buf, size_t len);
int scn_xs_write(struct scn_run *run, const char *path, const char *value);
int scn_xs_rm(struct scn_run *run, const char *path);
int scn_xs_set_perms(struct scn_run *run, const char *path, const char *perms);
int scn_xs_rm_prune(struct scn_run *run, const char *path, size_t keep);
int scn_xs_directory(struct scn_run *run, const char *path, char *buf, size_t len,
		     unsigned *bytes);
int scn_xs_open(struct scn_run *run);
void scn_xs_close(struct scn_run *run);
int scn_domain_crash(struct scn_run *run, unsigned dom, bool orderly);
int scn_domain_restart(struct scn_run *run, unsigned dom);
int scn_domain_up(struct scn_run *run, unsigned dom);

/* oracle.c */
void scn_oracles_start(struct scn_run *run);
void scn_oracles_slice(struct scn_run *run);
void scn_oracles_stop_stall(void);   /* teardown: the stall oracle judges no more */
/* At teardown, before the workloads stop: backends get their time to let go of dead domains. */
void scn_oracles_zombies_end(struct scn_run *run);
void scn_oracles_end(struct scn_run *run);

/* trace.c */
void scn_trace_start(struct scn_run *run);
/* The file's xs-write of a .../state node: PATH as the trace names it. */
void scn_trace_faked_state(struct scn_run *run, const char *path);
/* How many times the file's xs-write wrote the state node PATH so far. */
unsigned scn_trace_faked_state_writes(struct scn_run *run, const char *path);
void scn_trace_stop(struct scn_run *run);
void scn_trace_line(struct scn_run *run, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The timeline of the run as an inline SVG document; malloc'd. */
char *scn_timeline_svg(struct scn_run *run);

/* workload.c */
void scn_wls_init(struct scn_run *run);
int scn_wls_start(struct scn_run *run);
void scn_wls_domain_event(struct scn_run *run, domid_t domid, enum scn_dom_event ev);
void scn_wls_check(struct scn_run *run);
/* The first workload with work in flight (its busy hook), or NULL. */
struct scn_wl *scn_wls_busy(struct scn_run *run, char *what, size_t len);
/* May every workload's check() run in place on a domain thread right now? */
bool scn_wls_check_in_place(struct scn_run *run);
/* A domain of the workload that attacked pages it shares (gnttab.shm.*), or
 * DOMID_INVALID: its checks then judge the attack, not the code (workload.c). */
domid_t scn_wl_shm_attacker(const struct scn_wl *wl);
/* The process exits after this run: scn_run skips the cleanup (run.c). */
void scn_run_process_ends(void);
void scn_wls_stop(struct scn_run *run);
bool scn_wls_all_done(struct scn_run *run);

/* isolate.c: fork and collect, shared by run, sweep and shrink. */
#define SCN_WALL_LIMIT_S_DEFAULT 600u   /* an isolated run's wall-clock limit */
#define SCN_STUCK_S_DEFAULT 30u         /* an isolated det run's wait for a step (scn_run_opts) */
#define SCN_EXIT_LIVELOCK 99u          /* a run's process ended it at a livelock */
/* The run's process ended without a result: job->r says how, with the trace
 * hash and step of its last slice (`last`). */
void scn_job_died(struct scn_job *job, int status, const struct scn_progress *last);
struct scn_child {
	pid_t pid;
	int fd;                   /* result pipe */
	struct scn_result r;
	size_t got;
};

/* Text helpers (report.c). */
void scn_xml_escape(FILE *f, const char *s);

/* "was destroyed" if domid is the domain the scenario last destroyed, else
 * "crashed": the words of every message about a domain that went. */
const char *scn_dom_gone_word(const struct scn_run *run, domid_t domid);

#endif
