/*
 * The client's grant mappings: each page is an mmap of the grantor's memfd
 * (passed once per connection) at the frame's offset, with the grant's
 * protection, so a read-only map really is PROT_READ. An unmapped range
 * becomes PROT_NONE and stays reserved (a bounded quarantine), so a stale
 * access faults; the SIGSEGV handler then prints the message the sim prints
 * for an in-process domain (domain, grantor, grant ref, frame, offset) and
 * the process exits with status 1, as the sim does.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "sim/remote/client/rc_maps.h"

#define RM_PAGE 4096u
#define RM_QUARANTINE_PAGES_MAX 65536u   /* unmapped pages kept PROT_NONE */

static pthread_rwlock_t rm_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct rm_map *rm_live, *rm_q_head, *rm_q_tail;
static uint64_t rm_q_pages;
static struct sigaction rm_old_segv;
static pthread_once_t rm_once = PTHREAD_ONCE_INIT;

/* ---- memfds by id ---- */

int rm_memfd_take(struct rm_memfds *m, const struct rmt_page *pg, const int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < m->n; i++)
		if (m->id[i] == pg->memfd_id) {
			if (pg->fd_index < 0)
				return m->fd[i];
			close(m->fd[i]);   /* sent again: the sim forgot it; take the new one */
			m->fd[i] = fds[pg->fd_index];
			return m->fd[i];
		}
	if (pg->fd_index < 0 || (unsigned)pg->fd_index >= nfds || m->n == RM_MEMFDS_MAX)
		return -1;
	m->id[m->n] = pg->memfd_id;
	m->fd[m->n] = fds[pg->fd_index];
	return m->fd[m->n++];
}

void rm_memfds_close(struct rm_memfds *m)
{
	for (unsigned i = 0; i < m->n; i++)
		close(m->fd[i]);
	m->n = 0;
}

/* ---- faults ---- */

static const struct rm_map *rm_find_locked(const void *addr)
{
	for (int pass = 0; pass < 2; pass++)
		for (const struct rm_map *m = pass ? rm_q_head : rm_live; m; m = m->next) {
			uintptr_t a = (uintptr_t)addr, b = (uintptr_t)m->addr;
			if (a >= b && a < b + (uintptr_t)m->count * RM_PAGE)
				return m;
		}
	return NULL;
}

static bool rm_is_write(const void *uctx)
{
#if defined(__x86_64__)
	const ucontext_t *uc = uctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#else
	(void)uctx;
	return false;
#endif
}

/* The sim's wording (sim/hypervisor/fault.c), for the same fault in process. */
static void rm_format(const struct rm_map *m, const void *addr, bool write, char *buf,
		      size_t len)
{
	uint32_t i = (uint32_t)(((uintptr_t)addr - (uintptr_t)m->addr) / RM_PAGE);
	const struct rmt_page *pg = &m->pages[i];
	unsigned off = (unsigned)((uintptr_t)addr & (RM_PAGE - 1));
	const char *op = write ? "write" : "read";
	const char *why = m->unmapped ? "after it was unmapped"
			  : write && !(m->prot & PROT_WRITE) ? "through a read-only mapping"
							     : "(access not permitted)";

	if (m->shared)
		snprintf(buf, len, "xensim: memory fault: domain %u (%s): %s of its shared page "
			 "(grant ref %u, frame %u, offset 0x%x) at %p %s\n", m->domid, m->name, op,
			 pg->ref, pg->frame, off, addr, m->unmapped ? "after it was unshared" : why);
	else
		snprintf(buf, len, "xensim: memory fault: domain %u (%s): %s of grant ref %u of "
			 "domain %u (%s) (frame %u, offset 0x%x) mapped by domain %u at %p %s\n",
			 m->domid, m->name, op, pg->ref, pg->grantor, pg->grantor_name, pg->frame,
			 off, m->domid, addr, why);
}

static void rm_segv(int sig, siginfo_t *si, void *uctx)
{
	static char msg[512];
	int tries = 1000000;

	(void)sig;
	while (pthread_rwlock_tryrdlock(&rm_lock) != 0)
		if (--tries == 0)
			break;
	const struct rm_map *m = tries ? rm_find_locked(si->si_addr) : NULL;
	if (m)
		rm_format(m, si->si_addr, rm_is_write(uctx), msg, sizeof(msg));
	if (tries)
		pthread_rwlock_unlock(&rm_lock);
	if (!m) {
		sigaction(SIGSEGV, &rm_old_segv, NULL);   /* not ours: as before us */
		return;
	}
	if (write(STDERR_FILENO, msg, strlen(msg)) < 0)
		_exit(1);
	_exit(1);
}

static void rm_install(void)
{
	struct sigaction sa = {.sa_sigaction = rm_segv, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &rm_old_segv);
}

/* ---- maps ---- */

static void rm_quarantine_trim_locked(void)
{
	while (rm_q_pages > RM_QUARANTINE_PAGES_MAX && rm_q_head) {
		struct rm_map *m = rm_q_head;
		rm_q_head = m->next;
		if (!rm_q_head)
			rm_q_tail = NULL;
		rm_q_pages -= m->count;
		munmap(m->addr, (size_t)m->count * RM_PAGE);
		free(m->pages);
		free(m);
	}
}

void *rm_map(struct rm_map *m, struct rm_memfds *mf, const int *fds, unsigned nfds)
{
	size_t len = (size_t)m->count * RM_PAGE;
	uint8_t *base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
			     -1, 0);

	pthread_once(&rm_once, rm_install);
	if (base == MAP_FAILED)
		return NULL;
	for (uint32_t i = 0; i < m->count; i++) {
		int fd = rm_memfd_take(mf, &m->pages[i], fds, nfds);
		if (fd < 0 || mmap(base + (size_t)i * RM_PAGE, RM_PAGE, m->prot,
				   MAP_SHARED | MAP_FIXED, fd, (off_t)m->pages[i].offset) == MAP_FAILED) {
			int e = fd < 0 ? EPROTO : errno;
			munmap(base, len);
			errno = e;
			return NULL;
		}
	}
	m->addr = base;
	pthread_rwlock_wrlock(&rm_lock);
	m->next = rm_live;
	rm_live = m;
	pthread_rwlock_unlock(&rm_lock);
	return base;
}

/* Take the live mapping at exactly addr/count (count 0: any count) of owner
 * out of the live list, its range made PROT_NONE and put in quarantine. NULL
 * if none. The caller tells the sim (sim_addr). */
bool rm_unmap(const void *owner, void *addr, uint32_t count, uint64_t *sim_addr)
{
	struct rm_map *m = NULL;

	pthread_rwlock_wrlock(&rm_lock);
	for (struct rm_map **pp = &rm_live; *pp; pp = &(*pp)->next)
		if ((*pp)->owner == owner && (!addr || (*pp)->addr == addr) &&
		    (!count || (*pp)->count == count)) {
			m = *pp;
			*pp = m->next;
			break;
		}
	if (m) {
		mmap(m->addr, (size_t)m->count * RM_PAGE, PROT_NONE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE, -1, 0);
		m->unmapped = true;
		m->next = NULL;
		if (rm_q_tail)
			rm_q_tail->next = m;
		else
			rm_q_head = m;
		rm_q_tail = m;
		rm_q_pages += m->count;
		*sim_addr = m->sim_addr;
		rm_quarantine_trim_locked();
	}
	pthread_rwlock_unlock(&rm_lock);
	return m != NULL;
}
