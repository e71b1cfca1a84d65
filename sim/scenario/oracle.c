/*
 * Oracles. After every slice: no memory-protection fault, each workload's own
 * integrity check, and every few slices each sim module's whole-state check
 * (evtchn_check, gnttab_check, xs_store_check: they abort with the broken
 * invariant). At the end, after the workloads released everything: resource
 * balance per live domain (grants, foreign maps, maptrack, ports, xenstore
 * nodes it owns) and, once the domains are gone, process-wide (mappings,
 * handles, xenstore nodes, naming the paths left behind).
 */
#include <string.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/scenario/scn_internal.h"

#define ORACLE_PATHS_SHOWN 4u
#define ORACLE_TREE_NODES_MAX 4096u

/* ---- the xenstore tree, as paths, for "left behind" ---- */

struct tree {
	char **paths;
	unsigned n;
};

static void tree_walk(struct scn_run *run, const char *path, struct tree *t, unsigned depth)
{
	char kids[XENSTORE_PAYLOAD_MAX], child[SCN_TEXT_MAX * 2];
	unsigned bytes;

	if (t->n >= ORACLE_TREE_NODES_MAX || depth > 32)
		return;
	t->paths[t->n++] = strdup(path);
	if (scn_xs_directory(run, path, kids, sizeof(kids), &bytes) < 0)
		return;
	for (unsigned off = 0; off < bytes;) {
		const char *k = kids + off;
		size_t kl = strnlen(k, bytes - off);
		if (kl == 0)
			break;
		snprintf(child, sizeof(child), "%s%s%.*s", path, strcmp(path, "/") ? "/" : "", (int)kl, k);
		tree_walk(run, child, t, depth + 1);
		off += (unsigned)kl + 1;
	}
}

static void tree_free(struct tree *t)
{
	for (unsigned i = 0; i < t->n; i++)
		free(t->paths[i]);
	free(t->paths);
	t->paths = NULL;
	t->n = 0;
}

static bool tree_has(const struct tree *t, const char *path)
{
	for (unsigned i = 0; i < t->n; i++)
		if (t->paths[i] && strcmp(t->paths[i], path) == 0)
			return true;
	return false;
}

/* ---- start ---- */

static void oracle_stall(uint64_t from_ns, uint64_t to_ns, void *arg);

void scn_oracles_start(struct scn_run *run)
{
	if (sim_mode() == SIM_MODE_DET)
		sim_sched_set_idle_hook(oracle_stall, SCN_STALL_NS, run);
	run->faults_at_start = sim_fault_count();
	run->evtchn_handles_start = evtchn_handles_open();
	run->gnttab_handles_start = gnttab_handles_open();
	run->xs_nodes_start = xs_store_nodes_total();
	struct tree start = {.paths = calloc(ORACLE_TREE_NODES_MAX, sizeof(char *))};
	if (start.paths)
		tree_walk(run, "/", &start, 0);
	run->xs_paths_start = start.paths;
	run->xs_npaths_start = start.n;
}

/* ---- slices ---- */

static void oracle_memfault(struct scn_run *run)
{
	uint64_t n = sim_fault_count() - atomic_load(&run->faults_excused);

	if (n > run->faults_at_start)
		scn_run_outcome(run, SCN_OUT_FAIL, "memory-protection fault: %lu fault(s) on sim "
				"mappings (the report is on stderr)", n - run->faults_at_start);
}

static void oracle_modules(void)
{
	evtchn_check();
	gnttab_check();
	xs_store_check();
}

/* A domain gone mid-run whose pages a live domain still maps: on Xen a
 * zombie, held until the mapper lets go. A backend must let go of a dead
 * frontend's rings and persistent grants once the frontend's state is gone
 * (Unknown) or Closed: within SCN_ZOMBIE_NS of virtual time or
 * SCN_ZOMBIE_STEPS scheduling steps it has had its turn many times over
 * (det mode; a pause of any domain restarts the window). */
static uint64_t zombie_maps(domid_t id)
{
	struct gnttab_stats st;

	return gnttab_stats(id, &st) == 0 ? st.maps_active : 0;
}

static void oracle_zombies(struct scn_run *run, bool final)
{
	uint64_t now = sim_now_ns(), steps = sim_sched_steps(), pauses = atomic_load(&run->pauses);

	for (unsigned i = 0; i < run->nzombies;) {
		struct scn_zombie *z = &run->zombies[i];
		uint64_t maps = zombie_maps(z->id);
		if (maps == 0) {
			*z = run->zombies[--run->nzombies];
			continue;
		}
		if (z->pauses != pauses && !final) {
			z->pauses = pauses;
			z->since_ns = now;
			z->since_steps = steps;
		} else if (final || now - z->since_ns >= SCN_ZOMBIE_NS || steps - z->since_steps >= SCN_ZOMBIE_STEPS) {
			char dom[64];
			scn_run_outcome(run, SCN_OUT_FAIL, "%s is gone but %lu page(s) of its grants are still "
					"mapped %.3f s and %lu steps after it went (a backend kept a dead frontend's rings "
					"or grants: on Xen a zombie domain)", scn_dom_label(run, z->id, dom, sizeof(dom)),
					maps, (double)(now - z->since_ns) / 1e9, steps - z->since_steps);
			*z = run->zombies[--run->nzombies];
			continue;
		}
		i++;
	}
}

/* A live domain that closed a xengnttab handle with grants still mapped on
 * it: on Xen the mapping outlives the close (gntdev keeps an mmap'd grant
 * mapped until munmap), so those pages stay mapped for good and their
 * grantor can never end the grants. The simulator's close tidies them up,
 * which would hide a forgotten unmap on a disconnect path from every later
 * count; this is where it is seen. A hostile domain's are its own affair. */
static void oracle_closed_maps(struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->ndoms; i++) {
		struct gnttab_stats st;
		domid_t id = run->domids[i];
		if (!run->dom_alive[i] || scn_dom_hostile(run, id) || gnttab_stats(id, &st) < 0 ||
		    !st.closed_mapped)
			continue;
		char dom[64];
		scn_run_outcome(run, SCN_OUT_FAIL, "%s closed a grant handle with %lu page(s) still mapped "
				"on it (an unmap forgotten or refused: on Xen the mapping outlives the close, "
				"and the grantor can never end those grants)",
				scn_dom_label(run, id, dom, sizeof(dom)), st.closed_mapped);
		return;
	}
}

/* Is a live domain of the scenario paused now? (It may hold work up.) */
static bool run_domain_paused(const struct scn_run *run)
{
	for (unsigned i = 0; i < run->s->ndoms; i++)
		if (run->dom_alive[i] && sim_domain_paused(run->domids[i]))
			return true;
	return false;
}

static bool zombies_gone(void *arg)
{
	struct scn_run *run = arg;

	for (unsigned i = 0; i < run->nzombies; i++)
		if (zombie_maps(run->zombies[i].id))
			return false;
	return true;
}

/* Before the workloads stop (and their backends let go of everything): a
 * run that ended soon after a domain died gave the backends no time to let
 * go of it, so they get it now, up to the bound, and the zombie oracle
 * judges at its end. Not when a domain is paused (it would not run). */
void scn_oracles_zombies_end(struct scn_run *run)
{
	if (sim_mode() != SIM_MODE_DET || !run->nzombies || run->outcome == SCN_OUT_HARNESS ||
	    run_domain_paused(run))
		return;
	sim_run(zombies_gone, run, sim_now_ns() + SCN_ZOMBIE_NS, SCN_ZOMBIE_STEPS);
	oracle_zombies(run, true);   /* the bound has passed, or nothing moves */
}

/* A lost wakeup that a timer rescues is no hang: the run goes on, late. In
 * det mode a gap in which no domain ran ends at a timer (sched.c); when a gap
 * of SCN_STALL_NS or more ends while a workload has work in flight that only
 * its domains' events move on, an event was lost (not sent, or a consumer
 * that did not look again after arming its event index; or a delay without
 * bound). Not while a domain is paused, after a nemesis action, nor once a
 * fault was injected: each may hold work up by design (a workload's busy
 * hook leaves out what a hostile peer of its own may hold up). */
static void oracle_stall(uint64_t from_ns, uint64_t to_ns, void *arg)
{
	struct scn_run *run = arg;
	char what[160];

	if (run->stalled || run->stopping || scn_nemesis_excuses(run) || sim_fault_injected_total() ||
	    run_domain_paused(run))
		return;
	struct scn_wl *wl = scn_wls_busy(run, what, sizeof(what));
	if (!wl)
		return;
	run->stalled = true;
	scn_run_outcome(run, SCN_OUT_FAIL, "stall: no domain ran from %.3f s to %.3f s, when a timer "
			"ended the wait, while %s (workload %s): a wakeup was lost or held back (an event not "
			"sent, an event index armed without looking again, a delay without bound)",
			(double)(from_ns - run->t0_ns) / 1e9, (double)(to_ns - run->t0_ns) / 1e9, what, wl->id);
}

void scn_oracles_stop_stall(void)
{
	sim_sched_set_idle_hook(NULL, 0, NULL);
}

void scn_oracles_slice(struct scn_run *run)
{
	oracle_memfault(run);
	oracle_closed_maps(run);
	if (sim_mode() == SIM_MODE_DET)
		oracle_zombies(run, false);
	scn_wls_check(run);
	if (run->slices % SCN_DEEP_CHECK_SLICES == 0)
		oracle_modules();
}

/* ---- end ---- */

static void leak(struct scn_run *run, domid_t domid, const char *what, uint64_t n,
		 const char *source)
{
	char dom[64];

	scn_run_outcome(run, SCN_OUT_FAIL, "leak at teardown: %s: %lu %s (%s)",
			scn_dom_label(run, domid, dom, sizeof(dom)), n, what, source);
}

/* Each live domain, after the workloads stopped: nothing of theirs is left. */
static void oracle_domain(struct scn_run *run, unsigned i)
{
	domid_t id = run->domids[i];
	struct gnttab_stats st;

	if (gnttab_stats(id, &st) == 0) {
		if (st.grants_active)
			leak(run, id, "grants still active", st.grants_active, "gnttab_stats grants_active");
		if (st.maps_active)
			leak(run, id, "of its grants still mapped by others", st.maps_active,
			     "gnttab_stats maps_active");
		if (st.maptrack_used)
			leak(run, id, "foreign grants still mapped", st.maptrack_used,
			     "gnttab_stats maptrack_used");
	}
	unsigned ports = evtchn_ports_in_use(id);
	if (ports)
		leak(run, id, "event-channel ports still open", ports, "evtchn_ports_in_use");
	/* Against what it owned once its home was made. A privileged domain's
	 * nodes are the toolstack's: the tree oracle names those by path. */
	unsigned nodes = xs_store_nodes_owned(id);
	if (!run->s->doms[i].priv && nodes > run->xs_owned_start[i]) {
		char what[96];
		snprintf(what, sizeof(what), "xenstore nodes owned, %u when it started",
			 run->xs_owned_start[i]);
		leak(run, id, what, nodes, "xs_store_nodes_owned");
	}
}

static void oracle_tree(struct scn_run *run)
{
	struct tree now = {.paths = calloc(ORACLE_TREE_NODES_MAX, sizeof(char *))};
	struct tree start = {.paths = run->xs_paths_start, .n = run->xs_npaths_start};
	char extra[SCN_MSG_MAX / 2] = "";
	size_t k = 0;
	unsigned n = 0;

	if (!now.paths || !start.paths)
		goto out;
	tree_walk(run, "/", &now, 0);
	for (unsigned i = 0; i < now.n; i++) {
		if (tree_has(&start, now.paths[i]))
			continue;
		if (n++ < ORACLE_PATHS_SHOWN && k < sizeof(extra))
			k += (size_t)snprintf(extra + k, sizeof(extra) - k, " %s", now.paths[i]);
	}
	if (n)
		scn_run_outcome(run, SCN_OUT_FAIL, "leak at teardown: %u xenstore node(s) left behind:%s%s",
				n, extra, n > ORACLE_PATHS_SHOWN ? " ..." : "");
out:
	tree_free(&now);
}

static void oracle_process(struct scn_run *run)
{
	uint64_t maps = sim_mem_mappings();
	unsigned eh = evtchn_handles_open(), gh = gnttab_handles_open();

	if (maps)
		scn_run_outcome(run, SCN_OUT_FAIL, "leak at teardown: %lu memory mapping(s) still live "
				"after every domain went (sim_mem_mappings)", maps);
	/* A crashed domain's drivers never closed their handles, as a killed
	 * process would not; the kernel's part of that is not simulated. */
	if (run->crashes)
		eh = run->evtchn_handles_start, gh = run->gnttab_handles_start;
	if (eh != run->evtchn_handles_start)
		scn_run_outcome(run, SCN_OUT_FAIL, "leak at teardown: %u xenevtchn handle(s) open, %u "
				"at the start (evtchn_handles_open)", eh, run->evtchn_handles_start);
	if (gh != run->gnttab_handles_start)
		scn_run_outcome(run, SCN_OUT_FAIL, "leak at teardown: %u xengnttab/xengntshr handle(s) "
				"open, %u at the start (gnttab_handles_open)", gh, run->gnttab_handles_start);
	oracle_tree(run);
}

void scn_oracles_end(struct scn_run *run)
{
	oracle_memfault(run);
	if (run->outcome != SCN_OUT_HARNESS) {
		oracle_closed_maps(run);
		for (unsigned i = 0; i < run->s->ndoms; i++)
			if (run->dom_alive[i])
				oracle_domain(run, i);
	}
	for (unsigned i = run->s->ndoms; i-- > 0;)
		scn_domain_crash(run, i, true);
	oracle_modules();
	if (run->outcome != SCN_OUT_HARNESS)
		oracle_process(run);
	struct tree start = {.paths = run->xs_paths_start, .n = run->xs_npaths_start};
	tree_free(&start);
	run->xs_paths_start = NULL;
}
