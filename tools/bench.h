/*
 * `xensim bench`: the harness every benchmark is written against.
 *
 * A benchmark is one function that does one run and records one or more metric
 * values with bench_put(). The harness repeats it (--runs N, default 5), keeps
 * the median, min and max of each metric, divides each by the median of its
 * ceiling (a metric of another benchmark measured in the same process, in the
 * same invocation), prints a table and writes reports/bench.json.
 *
 * Rules (the issue's): numbers are never asserted in tests; a run measures real
 * time with bench_now_ns() (CLOCK_MONOTONIC_RAW, which the sim's virtual clock
 * does not interpose); free mode unless the benchmark is about det mode.
 */
#ifndef XENSIM_BENCH_H
#define XENSIM_BENCH_H

#include <stddef.h>
#include <stdint.h>

struct bench_run;     /* one run of one benchmark (opaque) */

struct bench_metric {
	const char *name;       /* "blk.randread4k.qd32.persistent" */
	const char *unit;       /* "IOPS", "ops/s", "Gbit/s", "MB/s", "us", "s", "KiB" */
	const char *ceiling;    /* name of the metric it is compared with, or NULL */
	double target;          /* the target in `unit`, 0 if none */
	int lower_is_better;    /* latency, time, memory */
};

struct bench {
	const char *name;                     /* "blk": what `xensim bench blk` selects */
	const char *what;                     /* one line for `xensim bench --list` */
	const struct bench_metric *metrics;   /* ends with an entry whose name is NULL */
	int runs;                             /* at most this many runs (heavy benches); 0: --runs */
	/* Also run it with every thread on one CPU, as "<name>.1cpu" with metrics
	 * "<metric>.1cpu" (ceilings too, where the ceiling's bench has the same):
	 * on an idle VM a wake-up across CPUs costs tens of microseconds, on one
	 * CPU a context switch a few; the two placements bound what users see. */
	int one_cpu_too;
	/* One run: bench_put() every metric, return 0, or a negative errno after
	 * bench_log() said what broke (the harness then reports the bench as failed). */
	int (*run)(struct bench_run *r);
};

/* Record the value of `metric` (one of the bench's metrics) for this run. */
void bench_put(struct bench_run *r, const char *metric, double value);

/* max(1, round(n * scale)): scale is 1.0 for `make bench`, 0.05 with --quick
 * (the smoke test in make check). Op counts go through it. */
uint64_t bench_count(const struct bench_run *r, uint64_t n);

/* Which run this is, 0-based (e.g. a seed per run). */
int bench_run_index(const struct bench_run *r);

/* Real monotonic time in nanoseconds (CLOCK_MONOTONIC_RAW). */
uint64_t bench_now_ns(void);

/* A line on stderr prefixed with the benchmark's name. */
void bench_log(struct bench_run *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Median and p99 of `n` samples (sorts them in place). */
double bench_percentile(double *samples, size_t n, double pct);

/* The benchmarks, in the order they run (ceilings first). */
extern const struct bench bench_ceiling;   /* tools/bench_ceiling.c */
extern const struct bench bench_ring;      /* tools/bench_ceiling.c */
extern const struct bench bench_evtchn;    /* tools/bench_prim.c */
extern const struct bench bench_xenstore;  /* tools/bench_prim.c */
extern const struct bench bench_blk;       /* tools/bench_blk.c */
extern const struct bench bench_net;       /* tools/bench_net.c */
extern const struct bench bench_det;       /* tools/bench_det.c */
extern const struct bench bench_scale;     /* tools/bench_scale.c */
extern const struct bench bench_access;    /* tools/bench_access.c */

#endif
