/*
 * `xensim bench`: runs the benchmarks of tools/bench_*.c, each run in a forked
 * child (a clean process: resident memory and thread counts start from zero,
 * and a crash or hang ends only that run), keeps median/min/max per metric,
 * divides by the ceilings measured in the same invocation, prints a table and
 * writes a JSON report. Numbers are reported, never asserted.
 */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tools/bench.h"
#include "tools/xensim.h"

#define BENCH_RUNS_DEFAULT 5
#define BENCH_RUNS_MAX 50
#define BENCH_METRICS_MAX 64          /* per benchmark */
#define BENCH_RUN_TIMEOUT_S 300       /* one run of one benchmark */
#define BENCH_QUICK_SCALE 0.05

static const struct bench *const bench_base[] = {
	&bench_ceiling, &bench_ring, &bench_evtchn, &bench_xenstore,
	&bench_blk, &bench_net, &bench_det, &bench_scale, &bench_access,
};
#define BENCH_BASE_COUNT (sizeof(bench_base) / sizeof(bench_base[0]))
#define BENCH_COUNT_MAX (2 * BENCH_BASE_COUNT)
#define BENCH_ONE_CPU_SUFFIX ".1cpu"

/* The benchmarks as run: each of bench_base, then the one-CPU variants. */
struct bench_entry {
	const struct bench *b;          /* the variant (name and metrics suffixed) */
	const struct bench *base;       /* what runs */
	bool one_cpu;
};
static struct bench_entry bench_all[BENCH_COUNT_MAX];
static size_t bench_count_all;

struct bench_run {
	const struct bench *b;
	const char *suffix;          /* "" or BENCH_ONE_CPU_SUFFIX, added to each metric put */
	double scale;
	int index;
	FILE *out;                   /* the pipe to the parent: "metric value" lines */
};

struct bench_stat {                  /* one metric over all runs */
	const struct bench_metric *m;
	double values[BENCH_RUNS_MAX];
	int n;
	double median, min, max;
};

struct bench_opts {
	int runs;
	double scale;
	const char *json;
	bool selected[BENCH_COUNT_MAX];
};

/* ---- the API the benchmarks use (in the child) ---- */

void bench_put(struct bench_run *r, const char *metric, double value)
{
	for (const struct bench_metric *m = r->b->metrics; m->name; m++)
		if (strcmp(m->name, metric) == 0) {
			fprintf(r->out, "%s%s %.17g\n", metric, r->suffix, value);
			fflush(r->out);
			return;
		}
	fprintf(stderr, "bench %s: bench_put of unknown metric '%s'\n", r->b->name, metric);
	abort();
}

int bench_run_index(const struct bench_run *r) { return r->index; }

uint64_t bench_count(const struct bench_run *r, uint64_t n)
{
	double v = round((double)n * r->scale);

	return v < 1 ? 1 : (uint64_t)v;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_log(struct bench_run *r, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "  [%s] ", r->b->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_percentile(double *samples, size_t n, double pct)
{
	if (n == 0)
		return NAN;
	qsort(samples, n, sizeof(*samples), cmp_double);
	size_t i = (size_t)ceil(pct / 100.0 * (double)n);
	return samples[i == 0 ? 0 : (i > n ? n - 1 : i - 1)];
}

/* ---- the parent: one forked child per run ---- */

static const struct bench_metric *metric_of(const struct bench *b, const char *name)
{
	for (const struct bench_metric *m = b->metrics; m->name; m++)
		if (strcmp(m->name, name) == 0)
			return m;
	return NULL;
}

/* All of this process's threads to come on the CPU it runs on now. */
static int pin_one_cpu(void)
{
	cpu_set_t set;
	int cpu = sched_getcpu();

	CPU_ZERO(&set);
	CPU_SET(cpu < 0 ? 0 : cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) == 0 ? 0 : -errno;
}

static void child_run(const struct bench_entry *e, int index, double scale, int fd)
{
	struct bench_run r = {.b = e->base, .suffix = e->one_cpu ? BENCH_ONE_CPU_SUFFIX : "",
			      .scale = scale, .index = index, .out = fdopen(fd, "w")};
	int rc = r.out ? 0 : -ENOMEM;

	if (rc == 0 && e->one_cpu)
		rc = pin_one_cpu();
	if (rc == 0)
		rc = e->base->run(&r);
	if (rc < 0)
		fprintf(stderr, "  [%s] run %d failed: %s\n", e->b->name, index + 1, strerror(-rc));
	if (r.out)
		fclose(r.out);
	_exit(rc < 0 ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS);
}

static void stat_add(struct bench_stat *stats, int nstats, const char *name, double v)
{
	for (int i = 0; i < nstats; i++)
		if (strcmp(stats[i].m->name, name) == 0 && stats[i].n < BENCH_RUNS_MAX)
			stats[i].values[stats[i].n++] = v;
}

/* One run in a child; its lines go into stats. 0, or -1 if it failed. */
static int run_once(const struct bench_entry *e, int index, double scale,
		    struct bench_stat *stats, int nstats)
{
	int fds[2];

	if (pipe(fds) < 0)
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		alarm(BENCH_RUN_TIMEOUT_S);
		child_run(e, index, scale, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		return -1;
	}
	FILE *in = fdopen(fds[0], "r");
	char name[128];
	double v;
	while (in && fscanf(in, "%127s %lf", name, &v) == 2)
		stat_add(stats, nstats, name, v);
	if (in)
		fclose(in);
	int status = 0;
	waitpid(pid, &status, 0);
	if (WIFSIGNALED(status))
		fprintf(stderr, "  [%s] run %d killed by signal %d%s\n", e->b->name, index + 1,
			WTERMSIG(status), WTERMSIG(status) == SIGALRM ? " (over the time limit)" : "");
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static void stat_finish(struct bench_stat *s)
{
	double sorted[BENCH_RUNS_MAX];

	if (s->n == 0)
		return;
	memcpy(sorted, s->values, sizeof(double) * (size_t)s->n);
	qsort(sorted, (size_t)s->n, sizeof(double), cmp_double);
	s->min = sorted[0];
	s->max = sorted[s->n - 1];
	s->median = s->n % 2 ? sorted[s->n / 2] : (sorted[s->n / 2 - 1] + sorted[s->n / 2]) / 2;
}

struct bench_table {
	struct bench_stat stats[BENCH_COUNT_MAX * BENCH_METRICS_MAX];
	int n;
	int failed_runs;
};

static void bench_one(const struct bench_entry *e, const struct bench_opts *o, struct bench_table *t)
{
	const struct bench *b = e->b;
	int first = t->n, runs = o->runs;

	if (b->runs > 0 && b->runs < runs)
		runs = b->runs;
	for (const struct bench_metric *m = b->metrics; m->name && t->n < (int)(sizeof(t->stats) / sizeof(t->stats[0])); m++)
		t->stats[t->n++] = (struct bench_stat){.m = m};
	fprintf(stderr, "bench %s: %d run%s ...\n", b->name, runs, runs == 1 ? "" : "s");
	for (int i = 0; i < runs; i++)
		if (run_once(e, i, o->scale, t->stats + first, t->n - first) < 0)
			t->failed_runs++;
	for (int i = first; i < t->n; i++)
		stat_finish(&t->stats[i]);
}

static const struct bench_stat *stat_find(const struct bench_table *t, const char *name)
{
	for (int i = 0; name && i < t->n; i++)
		if (strcmp(t->stats[i].m->name, name) == 0 && t->stats[i].n > 0)
			return &t->stats[i];
	return NULL;
}

/* The fraction of the ceiling reached: value/ceiling, or ceiling/value for a
 * metric where lower is better. NAN without a ceiling. */
static double stat_ratio(const struct bench_table *t, const struct bench_stat *s)
{
	const struct bench_stat *c = stat_find(t, s->m->ceiling);

	if (!c || s->n == 0 || s->median <= 0 || c->median <= 0)
		return NAN;
	return s->m->lower_is_better ? c->median / s->median : s->median / c->median;
}

static const char *stat_verdict(const struct bench_stat *s)
{
	if (s->n == 0)
		return "NO DATA";
	if (s->m->target <= 0)
		return "";
	bool met = s->m->lower_is_better ? s->median <= s->m->target : s->median >= s->m->target;
	return met ? "met" : "MISSED";
}

static void print_table(const struct bench_table *t)
{
	printf("\n%-38s %14s %-8s %12s %12s %3s  %-18s %7s %12s %s\n", "metric", "median", "unit",
	       "min", "max", "n", "ceiling", "ratio", "target", "");
	for (int i = 0; i < t->n; i++) {
		const struct bench_stat *s = &t->stats[i];
		double ratio = stat_ratio(t, s);
		char rbuf[16] = "-", tbuf[24] = "-";

		if (!isnan(ratio))
			snprintf(rbuf, sizeof(rbuf), "%.3f", ratio);
		if (s->m->target > 0)
			snprintf(tbuf, sizeof(tbuf), "%s%.4g", s->m->lower_is_better ? "<=" : ">=",
				 s->m->target);
		printf("%-38s %14.4g %-8s %12.4g %12.4g %3d  %-18s %7s %12s %s\n", s->m->name,
		       s->median, s->m->unit, s->min, s->max, s->n,
		       s->m->ceiling ? s->m->ceiling : "-", rbuf, tbuf, stat_verdict(s));
	}
	printf("\nratio = the fraction of the ceiling reached (value/ceiling; ceiling/value where "
	       "lower is better); ceilings measured in this run.\n");
}

static void json_number(FILE *f, const char *key, double v, bool comma)
{
	if (isnan(v) || isinf(v))
		fprintf(f, "\"%s\": null%s", key, comma ? ", " : "");
	else
		fprintf(f, "\"%s\": %.6g%s", key, v, comma ? ", " : "");
}

static void json_stat(FILE *f, const struct bench_table *t, const struct bench_stat *s)
{
	const struct bench_stat *c = stat_find(t, s->m->ceiling);

	fprintf(f, "    {\"name\": \"%s\", ", s->m->name);
	json_number(f, "value", s->n ? s->median : NAN, true);
	fprintf(f, "\"unit\": \"%s\", ", s->m->unit);
	if (s->m->ceiling)
		fprintf(f, "\"ceiling\": \"%s\", ", s->m->ceiling);
	else
		fprintf(f, "\"ceiling\": null, ");
	json_number(f, "ceiling_value", c ? c->median : NAN, true);
	json_number(f, "ratio", stat_ratio(t, s), true);
	json_number(f, "median", s->n ? s->median : NAN, true);
	fprintf(f, "\"n\": %d, ", s->n);
	json_number(f, "min", s->n ? s->min : NAN, true);
	json_number(f, "max", s->n ? s->max : NAN, true);
	json_number(f, "target", s->m->target > 0 ? s->m->target : NAN, true);
	fprintf(f, "\"lower_is_better\": %s, \"verdict\": \"%s\"}", s->m->lower_is_better ? "true" : "false",
		stat_verdict(s));
}

static int write_json(const struct bench_table *t, const struct bench_opts *o)
{
	FILE *f = fopen(o->json, "w");
	struct utsname u;

	if (!f) {
		fprintf(stderr, "xensim bench: cannot write %s: %s\n", o->json, strerror(errno));
		return -1;
	}
	uname(&u);
	fprintf(f, "{\n  \"tool\": \"xensim bench\",\n  \"machine\": {\"cpus\": %ld, \"kernel\": \"%s %s\"},\n",
		sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release);
	fprintf(f, "  \"runs\": %d, \"scale\": %g, \"failed_runs\": %d,\n  \"results\": [\n", o->runs,
		o->scale, t->failed_runs);
	for (int i = 0; i < t->n; i++) {
		json_stat(f, t, &t->stats[i]);
		fprintf(f, "%s\n", i + 1 < t->n ? "," : "");
	}
	fprintf(f, "  ]\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* ---- the command line ---- */

static char *str_join(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	char *s = malloc(la + lb + 1);

	if (!s)
		abort();
	memcpy(s, a, la);
	memcpy(s + la, b, lb + 1);
	return s;
}

static bool ceiling_has_one_cpu(const char *ceiling)
{
	for (size_t i = 0; ceiling && i < BENCH_BASE_COUNT; i++)
		if (bench_base[i]->one_cpu_too && metric_of(bench_base[i], ceiling))
			return true;
	return false;
}

/* "<name>.1cpu" with every metric suffixed (and its ceiling, when that one
 * has a one-CPU variant too). Lives as long as the process. */
static const struct bench *one_cpu_variant(const struct bench *b)
{
	struct bench *v = calloc(1, sizeof(*v));
	size_t n = 0;

	while (b->metrics[n].name)
		n++;
	struct bench_metric *m = calloc(n + 1, sizeof(*m));
	if (!v || !m)
		abort();
	for (size_t i = 0; i < n; i++) {
		m[i] = b->metrics[i];
		m[i].name = str_join(b->metrics[i].name, BENCH_ONE_CPU_SUFFIX);
		if (ceiling_has_one_cpu(b->metrics[i].ceiling))
			m[i].ceiling = str_join(b->metrics[i].ceiling, BENCH_ONE_CPU_SUFFIX);
	}
	*v = *b;
	v->name = str_join(b->name, BENCH_ONE_CPU_SUFFIX);
	v->what = str_join("every thread on one CPU: ", b->what);
	v->metrics = m;
	return v;
}

static void bench_table_build(void)
{
	if (bench_count_all)
		return;
	for (size_t i = 0; i < BENCH_BASE_COUNT; i++) {
		const struct bench *b = bench_base[i];
		bench_all[bench_count_all++] = (struct bench_entry){.b = b, .base = b};
		if (b->one_cpu_too)
			bench_all[bench_count_all++] = (struct bench_entry){.b = one_cpu_variant(b), .base = b,
									    .one_cpu = true};
	}
}

/* A name selects its benchmark and the benchmark's one-CPU variant. */
static bool bench_select(const char *name, struct bench_opts *o)
{
	bool any = false;

	for (size_t i = 0; i < bench_count_all; i++)
		if (strcmp(bench_all[i].b->name, name) == 0 ||
		    (bench_all[i].one_cpu && strcmp(bench_all[i].base->name, name) == 0))
			o->selected[i] = any = true;
	return any;
}

static void list_benches(void)
{
	for (size_t i = 0; i < bench_count_all; i++) {
		printf("%-10s %s\n", bench_all[i].b->name, bench_all[i].b->what);
		for (const struct bench_metric *m = bench_all[i].b->metrics; m->name; m++)
			printf("  %-38s %-8s ceiling %s\n", m->name, m->unit, m->ceiling ? m->ceiling : "-");
	}
}

/* Every ceiling the selected benchmarks name is measured too. */
static void select_ceilings(struct bench_opts *o)
{
	for (size_t i = 0; i < bench_count_all; i++) {
		if (!o->selected[i])
			continue;
		for (const struct bench_metric *m = bench_all[i].b->metrics; m->name; m++)
			for (size_t j = 0; m->ceiling && j < bench_count_all; j++)
				if (metric_of(bench_all[j].b, m->ceiling))
					o->selected[j] = true;
	}
}

static int parse_args(int argc, char **argv, struct bench_opts *o)
{
	bool any = false;

	*o = (struct bench_opts){.runs = BENCH_RUNS_DEFAULT, .scale = 1.0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		uint64_t v;

		if (strcmp(a, "--runs") == 0 && i + 1 < argc && xensim_parse_u64(argv[i + 1], &v) == 0 &&
		    v >= 1 && v <= BENCH_RUNS_MAX) {
			o->runs = (int)v;
			i++;
		} else if (strcmp(a, "--json") == 0 && i + 1 < argc) {
			o->json = argv[++i];
		} else if (strcmp(a, "--quick") == 0) {
			o->scale = BENCH_QUICK_SCALE;
		} else if (strcmp(a, "--list") == 0) {
			list_benches();
			return 1;
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			printf("usage: xensim bench [NAME...] [--runs 1..%d] [--quick] [--json FILE] [--list]\n"
			       "  Speed and scale, each with its reference ceiling measured in the same run\n"
			       "  and printed as a ratio. NAME: a benchmark or a group (see --list).\n",
			       BENCH_RUNS_MAX);
			return 1;
		} else if (bench_select(a, o)) {
			any = true;
		} else {
			fprintf(stderr, "xensim bench: unknown argument '%s' (benchmarks: see --list; "
				"--runs takes 1..%d)\n", a, BENCH_RUNS_MAX);
			return -1;
		}
	}
	for (size_t i = 0; !any && i < bench_count_all; i++)
		o->selected[i] = true;
	select_ceilings(o);
	return 0;
}

int cmd_bench(int argc, char **argv)
{
	static struct bench_table table;
	struct bench_opts o;

	bench_table_build();
	int rc = parse_args(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	for (size_t i = 0; i < bench_count_all; i++)
		if (o.selected[i])
			bench_one(&bench_all[i], &o, &table);
	print_table(&table);
	if (o.json && write_json(&table, &o) < 0)
		return XENSIM_EXIT_HARNESS;
	if (o.json)
		printf("wrote %s\n", o.json);
	if (table.failed_runs) {
		fprintf(stderr, "xensim bench: %d run(s) failed (see above)\n", table.failed_runs);
		return XENSIM_EXIT_FAIL;
	}
	return XENSIM_EXIT_PASS;
}
