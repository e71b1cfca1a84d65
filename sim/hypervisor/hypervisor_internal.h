/* Private to sim/hypervisor. No other module includes this. */
#ifndef SIM_HYPERVISOR_INTERNAL_H
#define SIM_HYPERVISOR_INTERNAL_H

#include <stdio.h>
#include <stdlib.h>

#include "sim/hypervisor/hypervisor.h"

/* The one PRNG of the sim (xoshiro256**, seeded by splitmix64); the fault
 * sites and the scheduler each keep a state. */
static inline uint64_t hv_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void hv_rng_seed(uint64_t s[4], uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		s[i] = hv_splitmix64(&seed);
}

static inline uint64_t hv_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static inline uint64_t hv_rng_next(uint64_t s[4])
{
	uint64_t result = hv_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = hv_rotl(s[3], 45);
	return result;
}

/* Memory of one domain: a memfd of `frames` pages, the hypervisor's view of it,
 * and a free-frame stack. Referenced by its domain and by every mapped page, so
 * foreign maps outlive a dead grantor. */
struct sim_mem;
struct sim_mem *mem_create(domid_t domid, size_t bytes);
struct sim_mem *mem_get(struct sim_mem *mem);   /* take a reference */
void mem_put(struct sim_mem *mem);
int mem_frame_alloc(struct sim_mem *mem, uint32_t *frame);
int mem_frame_free(struct sim_mem *mem, uint32_t frame);
uint32_t mem_frames_total(const struct sim_mem *mem);
uint32_t mem_frames_free(struct sim_mem *mem);
void *mem_frame_hv(struct sim_mem *mem, uint32_t frame);
/* Drop every quarantined range for real (munmap). */
void mem_quarantine_flush(void);

/* The domain's memory with a reference taken, or NULL (dead/unknown domain). */
struct sim_mem *domain_mem_get(domid_t domid);
/* Set the calling thread's domain identity, returning the previous one: the
 * scheduler runs a slice hook on a domain thread as the harness (sched.c). */
domid_t domain_tls_swap(domid_t domid);

/* What the fault handler needs to know about an address. */
struct mem_fault_info {
	domid_t mapper;
	enum sim_map_kind kind;
	struct sim_page_desc page;
	uint32_t offset;       /* byte offset in the page */
	int prot;              /* PROT_* of the mapping when live */
	bool unmapped;         /* the range is in quarantine */
};
/* Look up a faulting address; false if it is not a sim mapping. Called from the
 * signal handler: takes the registry lock with trylock only. */
bool mem_fault_lookup(const void *addr, struct mem_fault_info *info);

int fault_handler_install(void);

/* In det mode every read, write and close is counted (vclock.c): while the
 * count stays the same, no fd's readiness changed. */
uint64_t vclock_io_now(void);

/* The scheduler's view of a domain thread (sched.c). */
struct sched_thread;
struct sched_thread *sched_thread_new(domid_t domid, struct event_base *base);
void sched_thread_free(struct sched_thread *t);
bool sched_det(void);
/* A new domain thread parks; its creator waits for that before going on. */
void sched_thread_wait_ready(struct sched_thread *t);
/* The det-mode loop of a domain thread: one event-loop step per turn, until
 * *stop. Then the thread tidies up and calls sched_thread_exited(). */
void sched_domain_loop(struct sched_thread *t, atomic_bool *stop);
void sched_thread_exited(struct sched_thread *t);
/* The token holder lets a stopping domain thread leave its loop. */
void sched_thread_stop(struct sched_thread *t);
/* After sched_thread_stop(): the thread never finished its step and is parked
 * for good (a livelock); it is not to be joined. */
bool sched_thread_frozen(const struct sched_thread *t);
/* Det mode: a paused thread is never picked (domain.c counts the pauses). */
void sched_thread_set_paused(struct sched_thread *t, bool paused);
/* Det mode: the bound of a domain call made by the controller (0: none), and
 * what to note when one ran out of it. */
uint64_t sched_call_steps(void);
void sched_call_overran(domid_t callee);
/* A clock as the kernel has it, virtual time or not (a real deadline for
 * sem_timedwait, which counts in CLOCK_REALTIME). */
void hv_real_clock(clockid_t clk, struct timespec *ts);

#endif
