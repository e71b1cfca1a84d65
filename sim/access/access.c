/*
 * The access runtime: what the instrumented driver objects call before each
 * load and store. Why gcc's -fsanitize=kernel-address and not
 * -fsanitize=thread: with asan-instrumentation-with-call-threshold=0 every
 * access becomes one outlined call with the address (and the size in the
 * name), nothing else: no shadow memory, no module constructor, no
 * function entry/exit hooks, no runtime to link. TSan's instrumentation
 * would also need __tsan_func_entry/exit, __tsan_init and the whole
 * __tsan_atomic* family provided, and it rewrites atomics into calls.
 *
 * Fast path: one range comparison (every sim mapping lies in the reserved
 * range, sim/hypervisor/memory.c), return. Slow path: look the page up,
 * record, and in det mode with access points, yield to the scheduler.
 */
#include <stdatomic.h>
#include <string.h>

#include "sim/access/access_internal.h"

pthread_mutex_t acc_lock = PTHREAD_MUTEX_INITIALIZER;

static _Atomic int acc_points;   /* enum sim_access_points */
static _Atomic uint64_t acc_reads, acc_writes;

/* The compiler checks a struct copy or a small memcpy with __asan_loadN /
 * __asan_storeN and may still emit a memcpy call for it: that call must not
 * count the same bytes a second time (it would look like a double fetch). */
static __thread struct {
	uintptr_t addr;
	size_t n;
} acc_last[2];   /* [0] read, [1] write */

bool sim_access_built(void)
{
#ifdef SIM_ACCESS_BUILD
	return true;
#else
	return false;
#endif
}

void sim_access_configure(const struct sim_access_config *cfg)
{
	pthread_mutex_lock(&acc_lock);
	acc_detect_reset();
	acc_sites_reset();
	acc_jump_reset(cfg ? cfg->jump : 0);
	atomic_store(&acc_reads, 0);
	atomic_store(&acc_writes, 0);
	atomic_store(&acc_points, cfg ? (int)cfg->points : SIM_ACCESS_POINTS_OFF);
	pthread_mutex_unlock(&acc_lock);
}

uint64_t sim_access_reads(void)
{
	return atomic_load(&acc_reads);
}

uint64_t sim_access_writes(void)
{
	return atomic_load(&acc_writes);
}

static void access_slow(const void *addr, size_t n, bool write, const void *pc)
{
	struct acc_event ev = {.addr = (uintptr_t)addr, .len = (uint32_t)n, .write = write, .pc = pc};

	/* Quarantined or never mapped: the access faults and the fault
	 * reporter names it; nothing to record. */
	if (!sim_mem_where(addr, &ev.where))
		return;
	ev.dom = sim_current_domid();
	atomic_fetch_add_explicit(write ? &acc_writes : &acc_reads, 1, memory_order_relaxed);
	pthread_mutex_lock(&acc_lock);
	acc_sites_add(&ev);
	acc_detect(&ev);
	acc_jump(&ev);
	pthread_mutex_unlock(&acc_lock);
	/* Before the access happens: a peer may run in between (the lost
	 * wakeup's window between a check and the event index write). */
	int points = atomic_load_explicit(&acc_points, memory_order_relaxed);
	if (points == SIM_ACCESS_POINTS_ALL ||
	    (points == SIM_ACCESS_POINTS_RING && n == 4 && ev.where.offset < SIM_ACCESS_HEADER_BYTES))
		sim_sched_point(write ? "access.w" : "access.r");
}

void sim_access_hit(const void *addr, size_t n, bool write, const void *pc)
{
	if (__builtin_expect(!sim_mem_in_range(addr), 1) || n == 0)
		return;
	acc_last[write].addr = (uintptr_t)addr;
	acc_last[write].n = n;
	access_slow(addr, n, write, pc);
}

/* A call of the memcpy family: skip what the compiler's own check of the
 * same bytes just recorded. */
static void access_range(const void *addr, size_t n, bool write, const void *pc)
{
	if (__builtin_expect(!sim_mem_in_range(addr), 1) || n == 0)
		return;
	if (acc_last[write].addr == (uintptr_t)addr && acc_last[write].n == n) {
		acc_last[write].n = 0;
		return;
	}
	access_slow(addr, n, write, pc);
}

void *sim_access_memcpy(void *dst, const void *src, size_t n)
{
	access_range(src, n, false, __builtin_return_address(0));
	access_range(dst, n, true, __builtin_return_address(0));
	return memcpy(dst, src, n);
}

void *sim_access_memmove(void *dst, const void *src, size_t n)
{
	access_range(src, n, false, __builtin_return_address(0));
	access_range(dst, n, true, __builtin_return_address(0));
	return memmove(dst, src, n);
}

void *sim_access_memset(void *dst, int c, size_t n)
{
	access_range(dst, n, true, __builtin_return_address(0));
	return memset(dst, c, n);
}

int sim_access_memcmp(const void *a, const void *b, size_t n)
{
	access_range(a, n, false, __builtin_return_address(0));
	access_range(b, n, false, __builtin_return_address(0));
	return memcmp(a, b, n);
}

/* ---- the entry points of gcc's outlined checks (instrumented build only:
 * in the ASan build they are libasan's) ---- */
#ifdef SIM_ACCESS_BUILD
#define ACC_ENTRY(size)                                                                \
	void __asan_load##size##_noabort(const void *a);                              \
	void __asan_store##size##_noabort(const void *a);                             \
	void __asan_load##size##_noabort(const void *a)                               \
	{                                                                              \
		sim_access_hit(a, size, false, __builtin_return_address(0));          \
	}                                                                              \
	void __asan_store##size##_noabort(const void *a)                              \
	{                                                                              \
		sim_access_hit(a, size, true, __builtin_return_address(0));           \
	}
ACC_ENTRY(1)
ACC_ENTRY(2)
ACC_ENTRY(4)
ACC_ENTRY(8)
ACC_ENTRY(16)

void __asan_loadN_noabort(const void *a, size_t n);
void __asan_storeN_noabort(const void *a, size_t n);
void __asan_handle_no_return(void);

void __asan_loadN_noabort(const void *a, size_t n)
{
	sim_access_hit(a, n, false, __builtin_return_address(0));
}

void __asan_storeN_noabort(const void *a, size_t n)
{
	sim_access_hit(a, n, true, __builtin_return_address(0));
}

/* Emitted before calls that do not return; there is no shadow to unpoison. */
void __asan_handle_no_return(void)
{
}
#endif
