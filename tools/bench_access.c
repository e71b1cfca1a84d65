/*
 * `xensim bench access`: what the access instrumentation costs per I/O.
 *
 * access.blk.plain    CPU microseconds per verified block I/O of a det-mode blk
 *                     scenario, run by this binary (drivers not instrumented)
 * access.blk.traced   the same scenario and seed by the instrumented sibling
 *                     (build-access/ next to build/, build-bench-access/ next
 *                     to build-bench/, else ./build-access/; XENSIM_ACCESS_BIN
 *                     overrides): every
 *                     driver load and store calls sim/access, the shared ones
 *                     are recorded and checked for double fetches
 * access.blk.overhead traced / plain: the slowdown per I/O (1.0: none)
 *
 * Det mode without access points: both runs take the very same schedule (the
 * same trace hash), so the difference is the instrumentation alone. Each time
 * is the CPU time (user + system) of the child process: on a shared machine
 * the wall clock mostly measures the other load; process start and exit are
 * a few milliseconds of a run of seconds.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "tools/bench.h"

#define BA_IOS 20000u                 /* per run at scale 1 */
#define BA_SCN_BYTES 512u

static int ba_binaries(struct bench_run *r, char *plain, char *traced, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", plain, len - 1);

	if (n <= 0) {
		bench_log(r, "cannot read /proc/self/exe");
		return -ENOENT;
	}
	plain[n] = '\0';
	const char *env = getenv("XENSIM_ACCESS_BIN");
	char *slash = strrchr(plain, '/');
	if (env)
		snprintf(traced, len, "%s", env);
	else if (slash)
		snprintf(traced, len, "%.*s-access%s", (int)(slash - plain), plain, slash);
	/* A sanitizer or coverage tree has no sibling: make check's is there
	 * (tests/check-access.sh builds it first). */
	if (!env && (!slash || access(traced, X_OK) != 0))
		snprintf(traced, len, "build-access/xensim");
	if (access(traced, X_OK) != 0) {
		bench_log(r, "no instrumented binary at %s: build it with `make access` "
			  "(or set XENSIM_ACCESS_BIN)", traced);
		return -ENOENT;
	}
	return 0;
}

static double ba_children_cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Run `bin run FILE --seed 1`; its CPU seconds (< 0: it did not pass). */
static double ba_cpu_s(struct bench_run *r, const char *bin, const char *file)
{
	char cmd[2 * PATH_MAX + 64], line[1024];
	bool passed = false;

	snprintf(cmd, sizeof(cmd), "'%s' run '%s' --seed 1 --quiet 2>&1", bin, file);
	double cpu0 = ba_children_cpu_s();
	FILE *p = popen(cmd, "r");
	while (p && fgets(line, sizeof(line), p))
		passed |= strncmp(line, "PASS ", 5) == 0;
	int rc = p ? pclose(p) : -1;
	if (rc != 0 || !passed) {
		bench_log(r, "%s run %s: no passing result line (exit status %d)", bin, file, rc);
		return -1;
	}
	return ba_children_cpu_s() - cpu0;
}

static int ba_scenario(struct bench_run *r, char *path, size_t len, uint64_t ios)
{
	snprintf(path, len, "/tmp/xensim-bench-access.XXXXXX");
	int fd = mkstemp(path);
	char text[BA_SCN_BYTES];
	int n = snprintf(text, sizeof(text),
			 "describe bench access: verified block I/O, instrumented or not\n"
			 "domain dom0 priv\ndomain guest\n"
			 "workload blk front=guest back=dom0 ios=%lu qd=8\n"
			 "within 3600s\nmax-steps 1000000000\nexpect blk.done == %lu\n",
			 (unsigned long)ios, (unsigned long)ios);
	if (fd < 0 || write(fd, text, (size_t)n) != n) {
		bench_log(r, "cannot write %s", path);
		if (fd >= 0)
			close(fd);
		return -EIO;
	}
	close(fd);
	return 0;
}

static int ba_run(struct bench_run *r)
{
	char plain[PATH_MAX], traced[PATH_MAX], file[64];
	uint64_t ios = bench_count(r, BA_IOS);
	int rc = ba_binaries(r, plain, traced, sizeof(plain));

	if (rc == 0)
		rc = ba_scenario(r, file, sizeof(file), ios);
	if (rc < 0)
		return rc;
	double t_plain = ba_cpu_s(r, plain, file);
	double t_traced = t_plain < 0 ? -1 : ba_cpu_s(r, traced, file);
	unlink(file);
	if (t_plain < 0 || t_traced < 0)
		return -EIO;
	bench_put(r, "access.blk.plain", t_plain * 1e6 / (double)ios);
	bench_put(r, "access.blk.traced", t_traced * 1e6 / (double)ios);
	bench_put(r, "access.blk.overhead", t_plain > 0 ? t_traced / t_plain : 0);
	return 0;
}

static const struct bench_metric ba_metrics[] = {
	{"access.blk.plain", "us", NULL, 0, 1},
	{"access.blk.traced", "us", "access.blk.plain", 0, 1},
	{"access.blk.overhead", "x", NULL, 0, 1},
	{NULL, NULL, NULL, 0, 0},
};

const struct bench bench_access = {
	.name = "access",
	.what = "access tracing: CPU us per verified block I/O, instrumented drivers vs not (ratio)",
	.metrics = ba_metrics,
	.run = ba_run,
};
