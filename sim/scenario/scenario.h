/*
 * sim/scenario: the scenario engine. A scenario file (scenarios/README.md has
 * the format) declares domains, workloads, fault triggers, timed actions and
 * expectations; the engine parses it, runs it under the deterministic
 * scheduler (or free-running), applies triggers between short slices of
 * scheduling steps, checks oracles after every slice and at teardown, and
 * gives a verdict with the seed and trace hash that replay it.
 *
 * Verdicts follow XTF: pass, fail (the code under test is wrong) and harness
 * error (the engine or the environment broke). Parse errors are reported as
 * "file:line: message".
 *
 * Conventions: 0 or a negative errno unless said otherwise.
 */
#ifndef SIM_SCENARIO_H
#define SIM_SCENARIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/hypervisor/hypervisor.h"

/* ---- limits (all here; see the static asserts in parse.c) ---- */
#define SCN_LINES_MAX 512u            /* lines in one file */
#define SCN_LINE_BYTES_MAX 512u       /* bytes in one line */
#define SCN_TOKENS_MAX 32u            /* tokens in one line */
#define SCN_DOMAINS_MAX 16u
#define SCN_WORKLOADS_MAX 8u
#define SCN_FAULTS_MAX 32u
#define SCN_ACTIONS_MAX 64u
#define SCN_QUOTAS_MAX 8u
#define SCN_EXPECT_FAULTS_MAX 16u
#define SCN_ALLOWS_MAX 8u
#define SCN_NAME_MAX 32u              /* domain and workload names, with the NUL */
#define SCN_TEXT_MAX 128u             /* strings: paths, messages, descriptions */
#define SCN_MSG_MAX 512u              /* a verdict's reason */
#define SCN_ERR_MAX 512u              /* a parse error */
#define SCN_SITES_MAX 64u             /* fault sites a result reports */

enum scn_category {
	SCN_CAT_FUNCTIONAL,
	SCN_CAT_FAULT,
	SCN_CAT_RACE,
	SCN_CAT_REGRESSION,
	SCN_CAT_INDEV,       /* in-development: skipped by corpus runs */
	SCN_CAT_COUNT
};
const char *scn_category_name(enum scn_category c);

/* What the run must end in. */
enum scn_expect {
	SCN_EXPECT_PASS,     /* workloads complete, every oracle holds */
	SCN_EXPECT_HANG,     /* workloads do not complete (deadlock or past `within`) */
	SCN_EXPECT_ERROR,    /* a workload gives up cleanly with a matching message */
	SCN_EXPECT_FAIL,     /* an oracle catches the code under test (known-bad code) */
};

/* What a run ended in, before comparing with the expectation. */
enum scn_outcome {
	SCN_OUT_PASS,        /* workloads complete, clean */
	SCN_OUT_ERROR,       /* a workload gave up cleanly (an error it reported) */
	SCN_OUT_HANG,        /* not complete: nothing could run, or past the bound */
	SCN_OUT_FAIL,        /* an oracle broke: integrity, leak, memory fault ... */
	SCN_OUT_HARNESS,     /* the engine or the environment broke */
};
const char *scn_outcome_name(enum scn_outcome o);

enum scn_verdict {
	SCN_VERDICT_PASS,
	SCN_VERDICT_FAIL,
	SCN_VERDICT_HARNESS,
};
const char *scn_verdict_name(enum scn_verdict v);

struct scenario;   /* a parsed file; see scn_internal.h */

/* Parse a file / a text held in memory (name is used in messages). On error
 * -EINVAL (syntax or meaning; err holds "file:line: message"), -ENOENT /
 * -EIO (cannot read; err says so), -ENOMEM. */
int scn_parse_file(const char *path, struct scenario **out, char *err, size_t err_len);
int scn_parse_text(const char *name, const char *text, struct scenario **out, char *err,
		   size_t err_len);
void scn_free(struct scenario *s);
/* A copy of s (its own lines), or NULL. */
struct scenario *scn_dup(const struct scenario *s);
/* Add one more timed-action line ("when PATH == InitWait restart storage",
 * "after 4000 steps crash guest") to s, as the nemesis: a clean workload error
 * is then an acceptable end once it fired, and the replay command carries it
 * (--nemesis 'LINE'). err: "--nemesis: message". One per scenario. */
int scn_add_nemesis(struct scenario *s, const char *line, char *err, size_t err_len);
/* "random" or "pct:D" (D in 1..16), as files and the command line write it. */
int scn_parse_policy(const char *s, enum sim_policy *policy, unsigned *depth);

/* Facts about a parsed scenario (for list, reports, check scripts). */
const char *scn_path(const struct scenario *s);
enum scn_category scn_category(const struct scenario *s);
const char *scn_description(const struct scenario *s);   /* "" if none */
enum scn_expect scn_expectation(const struct scenario *s);
bool scn_seed_pinned(const struct scenario *s, uint64_t *seed);

/* ---- running ---- */

struct scn_run_opts {
	bool seed_set;            /* else the file's seed, else 1 */
	uint64_t seed;
	int mode;                 /* -1: the file's; else enum sim_mode */
	int policy;               /* -1: the file's; else enum sim_policy */
	unsigned pct_depth;       /* with policy SIM_POLICY_PCT */
	const char *trace_path;   /* every trace event as a text line; NULL: none */
	const char *timeline_path; /* a failing run writes its timeline (SVG) here */
	bool quiet;               /* no progress on stdout (the verdict line stays) */
	/* Fault sweep: fail occurrence `sweep_nth` (1-based) of `sweep_site` once,
	 * on top of the file's faults; 0/NULL: off. */
	const char *sweep_site;
	uint64_t sweep_nth;
	const char *sweep_aim;    /* with sweep_site: aimed at this domain (a name); NULL: anywhere */
	/* Isolated runs: where the run publishes its last trace hash after each
	 * slice (shared with the parent); NULL in-process. */
	struct scn_progress *progress;
	unsigned wall_limit_s;    /* isolated runs: kill the run after this (0: 600) */
	/* Isolated det runs: a domain that makes no step for this many seconds
	 * of wall-clock time is stuck (blocked outside the sim): the run ends
	 * there as a hang that names it (0: SCN_STUCK_S_DEFAULT). */
	unsigned stuck_s;
	uint64_t max_steps;       /* instead of the file's `max-steps` (0: the file's) */
	/* Access tracing (the instrumented build, sim/access): every shared
	 * access is a scheduling point (as the file's `access points`); the
	 * attack surface written to this file at the end (NULL: none). */
	int access_points;        /* enum sim_access_points (0: off, or the file's) */
	const char *access_report;
	/* The index jump (sim/access/jump.c): one re-read of a peer's producer
	 * index, picked by the seed, moved past the ring; a consumer reading
	 * slots with it is a finding (the run fails with it). */
	bool access_jump;
};

struct scn_progress {
	uint64_t trace_hash, steps, vt_ns;
	char livelock[SCN_MSG_MAX / 2];   /* the run ended at a livelock (SCN_EXIT_LIVELOCK) */
};

struct scn_result {
	enum scn_verdict verdict;
	enum scn_outcome outcome;
	char reason[SCN_MSG_MAX];      /* what broke and where; "" on a clean pass */
	uint64_t seed;
	uint64_t trace_hash;
	uint64_t steps;
	uint64_t vt_ns;                /* virtual (det) or wall (free) time at the end */
	double wall_s;
	uint64_t injected;             /* faults injected in the run, all sites */
	uint64_t sweep_occurrences;    /* fault sweep: occurrences of the swept site */
	uint64_t sweep_injected;       /* fault sweep: what the swept site injected */
	int mode;                      /* enum sim_mode the run used */
	bool died;                     /* the run's process died (memory fault, abort) */
	/* Occurrences of each fault site, in registry order (sim_fault_site_first). */
	uint64_t site_occurrences[SCN_SITES_MAX];
	uint32_t actions_unfired;      /* timed actions whose trigger never came */
	bool nemesis_fired;            /* the scn_add_nemesis action fired */
	bool attacker;                 /* a domain ran an attacker (scn_wl_hostile) */
};

/* Run in this process (needs a process where no domain exists: tests, or a
 * forked child). The verdict is in r; returns 0, or -errno when the run could
 * not even start (then r->verdict is SCN_VERDICT_HARNESS). */
int scn_run(const struct scenario *s, const struct scn_run_opts *o, struct scn_result *r);

/* Run in a forked child, so that a memory-protection fault or an abort in the
 * code under test ends that run only: r then says died, with the trace hash
 * of the last slice. The child inherits stdout and stderr. */
int scn_run_isolated(const struct scenario *s, const struct scn_run_opts *o,
		     struct scn_result *r);
/* The same, but the run's stderr (the log of the code under test and of the
 * sim) is held back and written to this stderr only if the run did not pass,
 * or if show_log: a passing run with deliberate faults prints no error lines.
 * Its stdout (progress, warnings) is inherited. */
int scn_run_isolated_log(const struct scenario *s, const struct scn_run_opts *o,
			 struct scn_result *r, bool show_log);

/* Many isolated runs, `parallel` at a time; on_done(job, arg) in the parent
 * as each ends, in completion order. With capture, a run's stdout and stderr
 * go to a memory file whose last lines scn_job_tail() gives. */
struct scn_job {
	const struct scenario *s;
	struct scn_run_opts o;
	struct scn_result r;
	bool capture;
	bool capture_stderr_only;   /* with capture: stdout stays inherited */
	void *user;
	/* the engine's */
	int pid;
	int out_fd;
	struct scn_shared *shared;
};
int scn_jobs_run(struct scn_job *jobs, unsigned n, unsigned parallel,
		 void (*on_done)(struct scn_job *job, void *arg), void *arg);
/* The same, in worker processes that run job after job while runs pass
 * cleanly (a fresh one after any other end): for many short runs, a sweep.
 * Same results and trace hashes; a worker's death costs only its run. */
int scn_jobs_run_reusing(struct scn_job *jobs, unsigned n, unsigned parallel,
			 void (*on_done)(struct scn_job *job, void *arg), void *arg);
/* The last `lines` lines of a captured run's output, into buf. */
void scn_job_tail(const struct scn_job *job, unsigned lines, char *buf, size_t len);

/* The one line every run ends with ("PASS ... seed=N trace-hash=0x..."), and
 * the command that replays it (for a failing run). */
void scn_result_line(const struct scenario *s, const struct scn_run_opts *o,
		     const struct scn_result *r, char *buf, size_t len);
void scn_replay_command(const struct scenario *s, const struct scn_run_opts *o,
			const struct scn_result *r, char *buf, size_t len);

/* ---- sweeping seeds and faults ---- */

struct scn_sweep_opts {
	uint64_t seed_first, seed_last;   /* inclusive */
	unsigned shard_index, shard_count; /* 0-based index of count shards; count 0/1: all */
	unsigned jobs;                    /* parallel worker processes, >= 1 */
	bool find;                        /* stop at the first seed whose run passes */
	bool quiet;                       /* only failures and the summary */
	struct scn_run_opts run;          /* mode/policy overrides */
};

struct scn_sweep_stats {
	unsigned runs, passed, failed, harness;
	uint64_t first_failed_seed;       /* valid when failed + harness > 0 */
	bool found;                       /* find: a passing seed */
	uint64_t found_seed;
};

/* The seeds of [first, last] that shard i of n runs: seed s belongs to shard
 * (s - first) % n. Shards partition the range. */
bool scn_shard_has(uint64_t first, uint64_t seed, unsigned index, unsigned count);

/* Run the seeds (each isolated), print a line per failure (and per run unless
 * quiet), and the summary. */
int scn_sweep(const struct scenario *s, const struct scn_sweep_opts *o,
	      struct scn_sweep_stats *st);

/* Fault sweep (SQLite style): for each site the baseline run reaches (or the
 * one named), fail occurrence 1, 2, 3, ... until a run injects nothing. Every
 * run must end in a pass or a clean error with every oracle holding.
 * max_per_site bounds the occurrences tried (0: 200). */
struct scn_fault_sweep_stats {
	unsigned sites, runs, failed;
	unsigned left_out;      /* reached sites not swept (scn_fault_sweep_left_out) */
	bool skipped;           /* the scenario is not one a fault sweep can judge */
};
/* Why a whole-scenario fault sweep (no site named) leaves a reached site
 * out, or NULL: a site whose every injection is a hang by construction, or a
 * scenario adversary's own lie sites. A named site (--site) is always swept. */
const char *scn_fault_sweep_left_out(const char *site);
int scn_fault_sweep(const struct scenario *s, const char *only_site, unsigned max_per_site,
		    const struct scn_run_opts *run, struct scn_fault_sweep_stats *st);
/* The same with each site aimed at each declared domain in turn (`fault SITE
 * after N on DOMAIN`): occurrence 1, 2, ... of those involving that domain,
 * until a run injects nothing. Replay: xensim run FILE --fail SITE@DOMAIN:N. */
int scn_fault_sweep_aimed(const struct scenario *s, const char *only_site, unsigned max_per_site,
			  const struct scn_run_opts *run, struct scn_fault_sweep_stats *st);

/* Nemesis sweep (nemesis.c): from a baseline run, every XenbusState each
 * device end reaches and its step count; then each action on each target
 * (crash, restart, destroy: every non-privileged domain; unplug: every
 * workload with the hook; suspend: every non-privileged domain, if a
 * workload has the hook), fired once at each such state and at every
 * `every`th step, each point in its own isolated run. A point passes when the
 * run passes or ends in a clean workload error; a hang, an oracle failure, a
 * harness error or a death fails it (printed with its replay command). */
enum scn_nem_act { SCN_NEM_CRASH, SCN_NEM_RESTART, SCN_NEM_DESTROY, SCN_NEM_UNPLUG,
		   SCN_NEM_SUSPEND, SCN_NEM_PAUSE, SCN_NEM_OUTAGE, SCN_NEM_ACT_COUNT };
struct scn_nemesis_opts {
	uint64_t every;                   /* steps between step points; 0: automatic */
	unsigned actions;                 /* mask of 1 << enum scn_nem_act */
	unsigned jobs;                    /* parallel runs */
	bool verbose;                     /* a line per passing point too */
	struct scn_run_opts run;          /* seed, mode, policy */
};
struct scn_nemesis_stats {
	unsigned points, passed, failed;
	unsigned unreached;               /* the action's trigger never came (passed) */
	bool skipped;                     /* the scenario does not expect a pass */
};
/* "crash,restart" into a mask; -EINVAL for an unknown name or an empty list. */
int scn_nemesis_parse_actions(const char *list, unsigned *mask);
int scn_nemesis_sweep(const struct scenario *s, const struct scn_nemesis_opts *o,
		      struct scn_nemesis_stats *st);

/* ---- shrinking ---- */

struct scn_shrink_stats {
	unsigned lines_before, lines_after;   /* meaningful lines (no comments/blanks) */
	unsigned runs;
	char reason[SCN_MSG_MAX];             /* the failure kept */
};
/* Reduce a failing scenario: drop lines, lower counts, as long as the run at
 * `seed` still fails the same way (same outcome). Writes the result to
 * out_path. -EINVAL if the scenario does not fail at that seed. Deterministic. */
int scn_shrink(const struct scenario *s, uint64_t seed, const char *out_path,
	       struct scn_shrink_stats *st);

/* ---- reports ---- */

struct scn_report_row {
	const char *path;
	const char *category;
	const char *description;
	struct scn_result result;
	char replay[SCN_MSG_MAX];
	const char *timeline_svg;         /* inline SVG of a failure, or NULL */
};
/* JUnit XML (one testsuite "scenarios", a testcase per row) and an HTML page
 * with a row per scenario and a timeline per failure. */
int scn_report_junit(const char *path, const struct scn_report_row *rows, unsigned n);
int scn_report_html(const char *path, const struct scn_report_row *rows, unsigned n);

/* ---- corpus ---- */

/* Every *.scn under dir (recursively), sorted by path; caller frees each
 * string and the array. */
int scn_corpus_list(const char *dir, char ***paths, unsigned *count);

#endif
