/*
 * Virtual time. In deterministic mode the process's clocks (clock_gettime,
 * gettimeofday, time) read the scheduler's virtual time, so that libevent's
 * timers follow it and a 30 s timeout costs nothing; in free mode they are the
 * real clocks. These definitions interpose libc's for the whole process
 * (libevent included), and forward to libc's when the clock is real.
 */
#include <dlfcn.h>
#include <sys/time.h>
#include <time.h>

#include "sim/hypervisor/hypervisor_internal.h"

/* Monotonic and real time are the same virtual count, so that libevent's
 * monotonic-to-real offset is 0 and stays 0. It starts at 1 s: some code reads
 * a zero time as "unset". */
_Atomic uint64_t vclock_ns = 1000000000ull;
atomic_bool vclock_virtual;

typedef int clock_gettime_fn(clockid_t, struct timespec *);
typedef int gettimeofday_fn(struct timeval *, void *);

static clock_gettime_fn *real_clock_gettime(void)
{
	static clock_gettime_fn *fn;

	if (!fn)
		fn = (clock_gettime_fn *)dlsym(RTLD_NEXT, "clock_gettime");
	return fn;
}

static gettimeofday_fn *real_gettimeofday(void)
{
	static gettimeofday_fn *fn;

	if (!fn)
		fn = (gettimeofday_fn *)dlsym(RTLD_NEXT, "gettimeofday");
	return fn;
}

int clock_gettime(clockid_t clk, struct timespec *ts)
{
	/* CLOCK_MONOTONIC_RAW stays real: the harness measures its own cost with it. */
	if (!atomic_load_explicit(&vclock_virtual, memory_order_relaxed) ||
	    clk == CLOCK_PROCESS_CPUTIME_ID || clk == CLOCK_THREAD_CPUTIME_ID ||
	    clk == CLOCK_MONOTONIC_RAW)
		return real_clock_gettime()(clk, ts);
	uint64_t ns = atomic_load_explicit(&vclock_ns, memory_order_relaxed);
	ts->tv_sec = (time_t)(ns / 1000000000ull);
	ts->tv_nsec = (long)(ns % 1000000000ull);
	return 0;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	if (!atomic_load_explicit(&vclock_virtual, memory_order_relaxed))
		return real_gettimeofday()(tv, tz);
	uint64_t ns = atomic_load_explicit(&vclock_ns, memory_order_relaxed);
	tv->tv_sec = (time_t)(ns / 1000000000ull);   /* glibc declares tv nonnull */
	tv->tv_usec = (suseconds_t)(ns % 1000000000ull / 1000);
	return 0;
}

time_t time(time_t *out)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (out)
		*out = ts.tv_sec;
	return ts.tv_sec;
}

uint64_t sim_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}
