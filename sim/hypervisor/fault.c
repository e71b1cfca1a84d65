/*
 * Memory-protection faults on sim mappings: a write through a read-only grant
 * map, or any access to a range that was unmapped. The SIGSEGV handler names
 * the accessing domain, the grantor, the grant ref and the operation; then the
 * run fails with that message, unless the thread is inside sim_fault_catch().
 * Faults elsewhere are not ours: the previous handler (or the default) takes them.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include "sim/hypervisor/hypervisor_internal.h"

#define FAULT_REPORT_MAX 512

static struct sigaction old_segv;
static atomic_uint_fast64_t faults_seen;
static __thread sigjmp_buf *tls_catch;
static __thread char tls_report[FAULT_REPORT_MAX];

static bool fault_is_write(const void *uctx)
{
#if defined(__x86_64__)
	const ucontext_t *uc = uctx;
	return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;   /* page-fault error code: W */
#else
	(void)uctx;
	return false;
#endif
}

static void fault_format(const struct mem_fault_info *fi, const void *addr, bool write)
{
	domid_t who = sim_current_domid();
	const char *op = write ? "write" : "read";
	char whos[64];

	if (who == DOMID_INVALID)
		snprintf(whos, sizeof(whos), "a thread outside any domain");
	else
		snprintf(whos, sizeof(whos), "domain %u (%s)", who, sim_domain_name(who));
	const char *why = fi->unmapped ? "after it was unmapped"
			  : write && !(fi->prot & PROT_WRITE) ? "through a read-only mapping"
							     : "(access not permitted)";
	if (fi->kind == SIM_MAP_SHARED)
		snprintf(tls_report, sizeof(tls_report),
			 "memory fault: %s: %s of its shared page (grant ref %u, frame %u, offset 0x%x) "
			 "at %p %s", whos, op, fi->page.ref, fi->page.frame, fi->offset, addr,
			 fi->unmapped ? "after it was unshared" : why);
	else
		snprintf(tls_report, sizeof(tls_report),
			 "memory fault: %s: %s of grant ref %u of domain %u (%s) (frame %u, offset 0x%x) "
			 "mapped by domain %u at %p %s", whos, op, fi->page.ref, fi->page.grantor,
			 sim_domain_name(fi->page.grantor), fi->page.frame, fi->offset, fi->mapper,
			 addr, why);
}

static void segv_handler(int sig, siginfo_t *si, void *uctx)
{
	struct mem_fault_info fi;

	(void)sig;
	if (!mem_fault_lookup(si->si_addr, &fi)) {
		/* Not a sim mapping: hand it to whoever handled SIGSEGV before us. */
		sigaction(SIGSEGV, &old_segv, NULL);
		return;
	}
	atomic_fetch_add(&faults_seen, 1);
	fault_format(&fi, si->si_addr, fault_is_write(uctx));
	if (tls_catch)
		siglongjmp(*tls_catch, 1);
	size_t n = strlen(tls_report);
	tls_report[n] = '\n';
	if (write(STDERR_FILENO, "xensim: ", 8) < 0 || write(STDERR_FILENO, tls_report, n + 1) < 0)
		_exit(1);
	sim_coverage_flush();   /* not async-signal-safe, but the process ends here anyway */
	_exit(1);
}

int fault_handler_install(void)
{
	struct sigaction sa = {.sa_sigaction = segv_handler, .sa_flags = SA_SIGINFO};

	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &old_segv) < 0) {
		sim_log("cannot install the SIGSEGV handler: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

int sim_fault_catch(void (*fn)(void *arg), void *arg, char *report, size_t len)
{
	sigjmp_buf jb;
	sigjmp_buf *prev = tls_catch;

	sim_init();
	if (sigsetjmp(jb, 1) == 0) {
		tls_catch = &jb;
		fn(arg);
		tls_catch = prev;
		return 0;
	}
	tls_catch = prev;
	if (report && len)
		snprintf(report, len, "%s", tls_report);
	return 1;
}

uint64_t sim_fault_count(void)
{
	return atomic_load(&faults_seen);
}
