/*
 * Virtual time. In deterministic mode the process's clocks (clock_gettime,
 * gettimeofday, time) read the scheduler's virtual time, so that libevent's
 * timers follow it and a 30 s timeout costs nothing; in free mode they are the
 * real clocks. These definitions interpose libc's for the whole process
 * (libevent included), and forward to libc's when the clock is real.
 *
 * The same way, the I/O calls that can change an fd's readiness are counted
 * (see "I/O the scheduler must see" below).
 */
#include <dlfcn.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "sim/hypervisor/hypervisor_internal.h"

/* Monotonic and real time are the same virtual count, so that libevent's
 * monotonic-to-real offset is 0 and stays 0. It starts at 1 s: some code reads
 * a zero time as "unset". */
_Atomic uint64_t vclock_ns = 1000000000ull;
atomic_bool vclock_virtual;

/* libc's definition of `name`. RTLD_NEXT finds it when libc comes after us in
 * the lookup order (the static build; a program linked with -lxensim); a
 * program that loads libxensim.so.0 only as a dependency of libxenevtchn.so.1
 * and the like has libc before it, so then ask libc itself. */
static void *libc_sym(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn) {
		void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
		fn = libc ? dlsym(libc, name) : NULL;
	}
	return fn;
}

typedef int clock_gettime_fn(clockid_t, struct timespec *);
typedef int gettimeofday_fn(struct timeval *, void *);

static clock_gettime_fn *real_clock_gettime(void)
{
	static clock_gettime_fn *fn;

	if (!fn)
		fn = (clock_gettime_fn *)libc_sym("clock_gettime");
	return fn;
}

static gettimeofday_fn *real_gettimeofday(void)
{
	static gettimeofday_fn *fn;

	if (!fn)
		fn = (gettimeofday_fn *)libc_sym("gettimeofday");
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

void hv_real_clock(clockid_t clk, struct timespec *ts)
{
	real_clock_gettime()(clk, ts);
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

/* ---- I/O the scheduler must see ----
 *
 * An idle domain can run when one of its fds is ready. In det mode only the
 * token holder runs, and an fd's readiness changes only through I/O (on it,
 * on a pipe or socket peer, on a duplicate of it), so the scheduler keeps the
 * answer of its last poll() of a domain's fds until any I/O happened since.
 * These wrappers count every read, write, close and dup onto an fd; free mode
 * pays one load per call. */
static _Atomic uint64_t io_gen;

static void io_touch(void)
{
	if (atomic_load_explicit(&vclock_virtual, memory_order_relaxed))
		atomic_fetch_add_explicit(&io_gen, 1, memory_order_relaxed);
}

uint64_t vclock_io_now(void)
{
	return atomic_load_explicit(&io_gen, memory_order_relaxed);
}

/* libc's definition of `name`, looked up once (racing lookups agree). */
static void *io_real(_Atomic(void *) *slot, const char *name)
{
	void *fn = atomic_load_explicit(slot, memory_order_relaxed);

	if (!fn) {
		fn = libc_sym(name);
		SIM_ASSERT(fn, "no libc definition of %s to forward to", name);
		atomic_store_explicit(slot, fn, memory_order_relaxed);
	}
	return fn;
}

/* `real`: libc's `name`, of the same type as the wrapper. */
#define IO_REAL(name)                                                          \
	static _Atomic(void *) name##_slot;                                    \
	__typeof__(&name) real = (__typeof__(&name))io_real(&name##_slot, #name)

ssize_t read(int fd, void *buf, size_t len)
{
	IO_REAL(read);
	io_touch();
	return real(fd, buf, len);
}

ssize_t write(int fd, const void *buf, size_t len)
{
	IO_REAL(write);
	io_touch();
	return real(fd, buf, len);
}

ssize_t readv(int fd, const struct iovec *iov, int n)
{
	IO_REAL(readv);
	io_touch();
	return real(fd, iov, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
	IO_REAL(writev);
	io_touch();
	return real(fd, iov, n);
}

/* The target's file is replaced: its readiness may change. */
int dup2(int old_fd, int new_fd)
{
	IO_REAL(dup2);
	io_touch();
	return real(old_fd, new_fd);
}

int dup3(int old_fd, int new_fd, int flags)
{
	IO_REAL(dup3);
	io_touch();
	return real(old_fd, new_fd, flags);
}

int close(int fd)
{
	IO_REAL(close);
	io_touch();
	return real(fd);
}

int eventfd_read(int fd, eventfd_t *value)
{
	IO_REAL(eventfd_read);
	io_touch();
	return real(fd, value);
}

int eventfd_write(int fd, eventfd_t value)
{
	IO_REAL(eventfd_write);
	io_touch();
	return real(fd, value);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
	IO_REAL(send);
	io_touch();
	return real(fd, buf, len, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
	IO_REAL(recv);
	io_touch();
	return real(fd, buf, len, flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, const struct sockaddr *to,
	       socklen_t to_len)
{
	IO_REAL(sendto);
	io_touch();
	return real(fd, buf, len, flags, to, to_len);
}

ssize_t recvfrom(int fd, void *restrict buf, size_t len, int flags,
		 struct sockaddr *restrict from, socklen_t *restrict from_len)
{
	IO_REAL(recvfrom);
	io_touch();
	return real(fd, buf, len, flags, from, from_len);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
	IO_REAL(sendmsg);
	io_touch();
	return real(fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
	IO_REAL(recvmsg);
	io_touch();
	return real(fd, msg, flags);
}

int shutdown(int fd, int how)
{
	IO_REAL(shutdown);
	io_touch();
	return real(fd, how);
}
