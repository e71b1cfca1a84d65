/*
 * The one platform seam of the drivers: ring barriers and logging. Everything
 * else a driver uses is Xen's own API (xenevtchn.h, xengnttab.h, xenstore.h,
 * xen/io/ring.h) and libevent, so the same sources build for the sim and for
 * real Xen. The barriers are real fences in both builds; the sim build also
 * makes each one a scheduling point (deterministic mode interleaves there).
 */
#ifndef XENSIM_DRIVERS_PLATFORM_H
#define XENSIM_DRIVERS_PLATFORM_H

/* Xen's headers give guests that name no interface version the legacy one, in
 * which ring.h replaces xen_mb() by the kernel's mb(). Ask for 4.14+. */
#if !defined(__XEN_INTERFACE_VERSION__) || __XEN_INTERFACE_VERSION__ < 0x00030208
#error "build with -D__XEN_INTERFACE_VERSION__=0x00040e00 (see the Makefile)"
#endif

/* Provided by the sim library in the sim build, by xen/platform.c on real Xen. */
void xd_barrier_point(const char *what);
void xd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define xen_mb()                                                               \
	do {                                                                   \
		__atomic_thread_fence(__ATOMIC_SEQ_CST);                       \
		xd_barrier_point("xen_mb");                                    \
	} while (0)
#define xen_rmb()                                                              \
	do {                                                                   \
		__atomic_thread_fence(__ATOMIC_ACQUIRE);                       \
		xd_barrier_point("xen_rmb");                                   \
	} while (0)
#define xen_wmb()                                                              \
	do {                                                                   \
		__atomic_thread_fence(__ATOMIC_RELEASE);                       \
		xd_barrier_point("xen_wmb");                                   \
	} while (0)

#endif
