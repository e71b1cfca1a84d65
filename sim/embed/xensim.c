/*
 * sim/embed: include/xensim.h, the public embedding API, over
 * sim/hypervisor. Thin on purpose: what a user's test program gets is what
 * the scenario engine uses (domain creation and teardown, the run's start,
 * fault arming go through these functions there too).
 */
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <string.h>

#include "include/xensim.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/remote/remote.h"

_Static_assert(XENSIM_MODE_FREE == (int)SIM_MODE_FREE && XENSIM_MODE_DET == (int)SIM_MODE_DET,
	       "xensim.h modes are the scheduler's");
_Static_assert(XENSIM_POLICY_RANDOM == (int)SIM_POLICY_RANDOM &&
	       XENSIM_POLICY_PCT == (int)SIM_POLICY_PCT, "xensim.h policies are the scheduler's");
_Static_assert(XENSIM_RUN_DONE == (int)SIM_RUN_DONE && XENSIM_RUN_DEADLINE == (int)SIM_RUN_DEADLINE &&
	       XENSIM_RUN_IDLE == (int)SIM_RUN_IDLE && XENSIM_RUN_STEPS == (int)SIM_RUN_STEPS,
	       "xensim.h run results are the scheduler's");

#define XENSIM_PPM 1000000.0

static _Atomic uint64_t xensim_run_seed = 1;

int xensim_start(const struct xensim_config *cfg)
{
	struct xensim_config dflt = {.mode = XENSIM_MODE_FREE, .seed = 1};
	int rc = sim_init();

	if (!cfg)
		cfg = &dflt;
	if (rc < 0)
		return rc;
	if (sim_domain_count() != 0)
		return -EBUSY;
	struct sim_sched_config sc = {.mode = (enum sim_mode)cfg->mode,
				      .policy = (enum sim_policy)cfg->policy,
				      .pct_depth = cfg->pct_depth, .pct_steps = cfg->pct_steps,
				      .seed = cfg->seed};
	if ((cfg->mode != XENSIM_MODE_FREE && cfg->mode != XENSIM_MODE_DET) ||
	    (cfg->policy != XENSIM_POLICY_RANDOM && cfg->policy != XENSIM_POLICY_PCT))
		return -EINVAL;
	sim_fault_site_disarm_all();
	sim_fault_site_reset_counters();
	rc = sim_sched_configure(&sc);
	if (rc == 0)
		atomic_store(&xensim_run_seed, cfg->seed);
	return rc;
}

void xensim_stop(void)
{
	sim_reset();
}

/* ---- domains ---- */

static bool domid_ok(int domid)
{
	return domid >= 0 && domid < (int)SIM_DOMID_LIMIT;
}

int xensim_domain_create(const struct xensim_domain_config *cfg)
{
	if (!cfg || !cfg->name)
		return -EINVAL;
	if (cfg->mem_bytes > SIM_DOMAIN_MEM_BYTES_MAX || cfg->domid >= (int)SIM_DOMID_LIMIT)
		return -EINVAL;
	struct sim_domain_config sc = {.name = cfg->name, .mem_bytes = (size_t)cfg->mem_bytes,
				       .privileged = cfg->privileged, .domid = cfg->domid};
	return sim_domain_create(&sc);
}

int xensim_domain_destroy(int domid)
{
	return domid_ok(domid) ? sim_domain_destroy((domid_t)domid) : -ESRCH;
}

int xensim_domain_crash(int domid)
{
	return domid_ok(domid) ? sim_domain_crash((domid_t)domid) : -ESRCH;
}

bool xensim_domain_alive(int domid)
{
	return domid_ok(domid) && sim_domain_alive((domid_t)domid);
}

int xensim_domain_exec(int domid, const char *command)
{
	pid_t pid;

	if (!command || !*command)
		return -EINVAL;
	int rc = domid_ok(domid) ? remote_domain_exec((domid_t)domid, command, &pid) : -ESRCH;
	return rc < 0 ? rc : (int)pid;
}

int xensim_domain_call(int domid, int (*fn)(void *arg), void *arg)
{
	if (!fn)
		return -EINVAL;
	return domid_ok(domid) ? sim_domain_call((domid_t)domid, fn, arg) : -ESRCH;
}

int xensim_domain_post(int domid, void (*fn)(void *arg), void *arg)
{
	if (!fn)
		return -EINVAL;
	return domid_ok(domid) ? sim_domain_post((domid_t)domid, fn, arg) : -ESRCH;
}

int xensim_enter(int domid)
{
	if (sim_mode() == SIM_MODE_DET)
		return -EPERM;
	return domid_ok(domid) ? sim_thread_enter((domid_t)domid) : -ESRCH;
}

void xensim_leave(void)
{
	sim_thread_leave();
}

int xensim_current_domid(void)
{
	domid_t d = sim_current_domid();

	return d == DOMID_INVALID ? -1 : (int)d;
}

void xensim_wait_until(bool (*pred)(void *arg), void *arg)
{
	sim_sched_block_until(pred, arg);
}

/* ---- faults ---- */

static int fault_aim(struct sim_fault_site *site, const struct xensim_fault *f)
{
	struct sim_fault_aim aim = {.domid = DOMID_INVALID, .port = SIM_FAULT_PORT_ANY};

	if (f->aim_device && strlen(f->aim_device) >= sizeof(aim.device))
		return -EINVAL;
	aim.set = f->aim_domid >= 0 || f->aim_port >= 0 || f->aim_device;
	if (f->aim_domid >= 0)
		aim.domid = (domid_t)f->aim_domid;
	if (f->aim_port >= 0)
		aim.port = (uint32_t)f->aim_port;
	if (f->aim_device)
		strcpy(aim.device, f->aim_device);
	return sim_fault_site_aim(site, aim.set ? &aim : NULL);
}

int xensim_fault_arm(const char *site_name, const struct xensim_fault *f)
{
	struct sim_fault_site *site = site_name ? sim_fault_site_find(site_name) : NULL;

	if (!site)
		return -ENOENT;
	if (!f || f->repeat < -1 || f->after > INT64_MAX || f->prob < 0 || f->prob > 1 ||
	    isnan(f->prob))
		return -EINVAL;
	int rc = fault_aim(site, f);
	if (rc < 0)
		return rc;
	if (f->prob > 0) {
		uint32_t ppm = (uint32_t)llround(f->prob * XENSIM_PPM);
		return sim_fault_site_arm_prob(site, ppm ? ppm : 1);
	}
	return sim_fault_site_arm(site, (int64_t)f->after, f->repeat);
}

int xensim_fault_disarm(const char *site_name)
{
	struct sim_fault_site *site = site_name ? sim_fault_site_find(site_name) : NULL;

	if (!site)
		return -ENOENT;
	sim_fault_site_disarm(site);
	return 0;
}

uint64_t xensim_fault_occurrences(const char *site_name)
{
	struct sim_fault_site *site = site_name ? sim_fault_site_find(site_name) : NULL;

	return site ? atomic_load(&site->occurrences) : 0;
}

uint64_t xensim_fault_injected(const char *site_name)
{
	struct sim_fault_site *site = site_name ? sim_fault_site_find(site_name) : NULL;

	return site ? atomic_load(&site->injected) : 0;
}

/* ---- running ---- */

enum xensim_run_result xensim_run(bool (*until)(void *arg), void *arg, uint64_t deadline_ns,
				  uint64_t max_steps)
{
	return (enum xensim_run_result)sim_run(until, arg, deadline_ns, max_steps);
}

uint64_t xensim_now_ns(void)
{
	return sim_now_ns();
}

uint64_t xensim_steps(void)
{
	return sim_sched_steps();
}

uint64_t xensim_trace_hash(void)
{
	return sim_trace_hash();
}

uint64_t xensim_seed(void)
{
	return atomic_load(&xensim_run_seed);
}

uint64_t xensim_memory_faults(void)
{
	return sim_fault_count();
}
