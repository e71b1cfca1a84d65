/*
 * Fault sites: one small struct per place where the environment can misbehave
 * (SQLite style: countdown, repeat, probability, counters), registered by name
 * from constructors. The seeded PRNG lives here too: never the clock.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "sim/hypervisor/hypervisor_internal.h"

static pthread_mutex_t site_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sim_fault_site *sites;     /* sorted by name */
static uint64_t rng_state[4] = {1, 2, 3, 4};

void sim_fault_site_register(struct sim_fault_site *site)
{
	pthread_mutex_lock(&site_lock);
	struct sim_fault_site **p = &sites;
	while (*p && strcmp((*p)->name, site->name) < 0)
		p = &(*p)->next;
	SIM_ASSERT(!*p || strcmp((*p)->name, site->name) != 0, "fault site %s registered twice",
		   site->name);
	site->next = *p;
	*p = site;
	pthread_mutex_unlock(&site_lock);
}

/* Caller holds site_lock. */
static uint64_t rng_next_locked(void)
{
	return hv_rng_next(rng_state);
}

void sim_rng_seed(uint64_t seed)
{
	pthread_mutex_lock(&site_lock);
	hv_rng_seed(rng_state, seed);
	pthread_mutex_unlock(&site_lock);
}

uint64_t sim_rng_next(void)
{
	pthread_mutex_lock(&site_lock);
	uint64_t r = rng_next_locked();
	pthread_mutex_unlock(&site_lock);
	return r;
}

/* Decide for one occurrence of an armed site; caller holds site_lock. */
static bool site_decide(struct sim_fault_site *site)
{
	if (site->prob_ppm)
		return rng_next_locked() % 1000000u < site->prob_ppm;
	if (site->countdown > 0) {
		site->countdown--;
		return false;
	}
	if (site->repeat == 0)
		atomic_store(&site->armed, false);
	else if (site->repeat > 0)
		site->repeat--;
	return true;
}

bool sim_fault_aim_matches(const struct sim_fault_aim *aim, const struct sim_fault_ctx *ctx)
{
	struct sim_fault_ctx here = {.domid = DOMID_INVALID, .peer = DOMID_INVALID,
				     .port = SIM_FAULT_PORT_ANY};

	if (!aim->set)
		return true;
	if (ctx)
		here = *ctx;
	if (here.domid == DOMID_INVALID)
		here.domid = sim_current_domid();
	if (aim->domid != DOMID_INVALID && aim->domid != here.domid && aim->domid != here.peer)
		return false;
	if (aim->port != SIM_FAULT_PORT_ANY && aim->port != here.port)
		return false;
	return !aim->device[0] || (here.device && strcmp(aim->device, here.device) == 0);
}

bool sim_fault_hit_slow(struct sim_fault_site *site, const struct sim_fault_ctx *ctx)
{
	pthread_mutex_lock(&site_lock);
	atomic_fetch_add_explicit(&site->occurrences, 1, memory_order_relaxed);
	bool fire = atomic_load(&site->armed) && sim_fault_aim_matches(&site->aim, ctx) &&
		    site_decide(site);
	if (fire)
		atomic_fetch_add_explicit(&site->injected, 1, memory_order_relaxed);
	pthread_mutex_unlock(&site_lock);
	if (fire && !site->traced)
		sim_trace_event(SIM_TR_FAULT,
				ctx && ctx->domid != DOMID_INVALID ? ctx->domid : sim_current_domid(),
				ctx ? ctx->peer : DOMID_INVALID,
				ctx && ctx->port != SIM_FAULT_PORT_ANY ? ctx->port : 0, 0, site->name);
	return fire;
}

struct sim_fault_site *sim_fault_site_find(const char *name)
{
	pthread_mutex_lock(&site_lock);
	struct sim_fault_site *s = sites;
	while (s && strcmp(s->name, name) != 0)
		s = s->next;
	pthread_mutex_unlock(&site_lock);
	return s;
}

struct sim_fault_site *sim_fault_site_first(void)
{
	return sites;
}

int sim_fault_site_arm(struct sim_fault_site *site, int64_t after, int64_t repeat)
{
	if (after < 0 || repeat < -1)
		return -EINVAL;
	pthread_mutex_lock(&site_lock);
	site->countdown = after;
	site->repeat = repeat;
	site->prob_ppm = 0;
	atomic_store(&site->armed, true);
	pthread_mutex_unlock(&site_lock);
	return 0;
}

int sim_fault_site_arm_prob(struct sim_fault_site *site, uint32_t prob_ppm)
{
	if (prob_ppm == 0 || prob_ppm > 1000000u)
		return -EINVAL;
	pthread_mutex_lock(&site_lock);
	site->prob_ppm = prob_ppm;
	site->repeat = -1;
	atomic_store(&site->armed, true);
	pthread_mutex_unlock(&site_lock);
	return 0;
}

void sim_fault_site_disarm(struct sim_fault_site *site)
{
	pthread_mutex_lock(&site_lock);
	atomic_store(&site->armed, false);
	site->prob_ppm = 0;
	pthread_mutex_unlock(&site_lock);
}

int sim_fault_site_aim(struct sim_fault_site *site, const struct sim_fault_aim *aim)
{
	if (aim && strnlen(aim->device, SIM_FAULT_DEVICE_MAX) >= SIM_FAULT_DEVICE_MAX)
		return -EINVAL;
	pthread_mutex_lock(&site_lock);
	if (aim) {
		site->aim = *aim;
		site->aim.set = true;
	} else {
		memset(&site->aim, 0, sizeof(site->aim));
	}
	pthread_mutex_unlock(&site_lock);
	return 0;
}

void sim_fault_site_reset_counters(void)
{
	pthread_mutex_lock(&site_lock);
	for (struct sim_fault_site *s = sites; s; s = s->next) {
		atomic_store(&s->occurrences, 0);
		atomic_store(&s->injected, 0);
	}
	pthread_mutex_unlock(&site_lock);
}

uint64_t sim_fault_injected_total(void)
{
	uint64_t n = 0;

	pthread_mutex_lock(&site_lock);
	for (struct sim_fault_site *s = sites; s; s = s->next)
		n += atomic_load(&s->injected);
	pthread_mutex_unlock(&site_lock);
	return n;
}

void sim_fault_site_disarm_all(void)
{
	pthread_mutex_lock(&site_lock);
	for (struct sim_fault_site *s = sites; s; s = s->next) {
		atomic_store(&s->armed, false);
		s->prob_ppm = 0;
		memset(&s->aim, 0, sizeof(s->aim));
	}
	pthread_mutex_unlock(&site_lock);
}
