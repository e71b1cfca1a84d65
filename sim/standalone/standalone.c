/*
 * Standalone mode of the shared libraries: a program that knows nothing of
 * xensim (built against Xen's headers, linked against -lxenevtchn -lxengnttab
 * -lxenstore) and run with LD_LIBRARY_PATH=<xensim>/lib uses the sim as if it
 * ran in a real dom0.
 *
 * At the first Xen API call from a thread outside every sim domain, if the
 * process has not set up the sim itself (sim_init(), or a domain created), we
 * start it in free mode, create dom0 ("Domain-0", privileged) and the guests
 * of XENSIM_DOMAINS, write their xenstore homes as a toolstack does, and from
 * then on every thread outside a domain acts as dom0, like the threads of a
 * process in a real dom0. Only the shared build registers this (-DXENSIM_SHARED):
 * the static archive, the xensim command and the tests keep "outside a domain"
 * meaning the harness.
 *
 * Knobs (read once, at that first call; a bad value fails the call with
 * EINVAL after one line naming the variable):
 *   XENSIM_STANDALONE=1|0     0: never start (calls outside a domain fail ESRCH)
 *   XENSIM_DOMAINS=name[:domid],...   guests besides dom0 (at most
 *                             SA_GUESTS_MAX; names 1..31 of [A-Za-z0-9_.-];
 *                             domid 1..SIM_DOMID_LIMIT-1, else the lowest free)
 *   XENSIM_MODE=free          det needs a controller thread: refused (see below)
 *   XENSIM_REPORT=0|1         1: print what was left over at exit
 *   XENSIM_EVTCHN_STRICT=0|1  1: a notify on an unbound port fails (evtchn.h)
 *
 * Det mode is refused: it runs exactly one domain thread at a time under a
 * controller that calls sim_run(); the program's own threads are not sim
 * domain threads, so nothing would schedule them.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/standalone/standalone.h"
#include "sim/xenstore/xs_store.h"

#define SA_GUESTS_MAX 64u
#define SA_ENV_MAX 4096u          /* longest XENSIM_DOMAINS accepted */
#define SA_DOM0_NAME "Domain-0"

enum sa_state { SA_UNDECIDED, SA_ACTIVE, SA_OFF, SA_FAILED };

struct sa_guest {
	char name[SIM_DOMAIN_NAME_MAX];
	int domid;                /* < 0: the lowest free */
};

struct sa_config {
	bool enabled;
	bool report;
	unsigned nguests;
	struct sa_guest guests[SA_GUESTS_MAX];
};

static _Atomic int sa_state = SA_UNDECIDED;
static __thread bool sa_starting;      /* this thread runs sa_start */
static domid_t sa_domids[SA_GUESTS_MAX + 1];
static unsigned sa_ndomains;

/* ---- the environment ---- */

static int sa_bool_env(const char *var, bool dflt, bool *out)
{
	const char *v = getenv(var);

	*out = dflt;
	if (!v || !*v)
		return 0;
	if (strcmp(v, "0") != 0 && strcmp(v, "1") != 0) {
		sim_log("standalone: %s='%s': must be 0 or 1", var, v);
		return -EINVAL;
	}
	*out = v[0] == '1';
	return 0;
}

static bool sa_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= SIM_DOMAIN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			  (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
		if (!ok)
			return false;
	}
	return strcmp(name, SA_DOM0_NAME) != 0;
}

/* One "name[:domid]" item of XENSIM_DOMAINS. */
static int sa_parse_guest(char *item, struct sa_guest *g)
{
	char *colon = strchr(item, ':');
	int rc = 0;

	g->domid = -1;
	if (colon) {
		char *end;
		*colon = '\0';
		long id = strtol(colon + 1, &end, 10);
		if (colon[1] == '\0' || *end != '\0' || id < 1 || id >= (long)SIM_DOMID_LIMIT) {
			sim_log("standalone: XENSIM_DOMAINS: '%s': domid must be 1..%u", colon + 1,
				SIM_DOMID_LIMIT - 1);
			rc = -EINVAL;
		}
		g->domid = (int)id;
	}
	if (rc == 0 && !sa_name_ok(item)) {
		sim_log("standalone: XENSIM_DOMAINS: '%s': a name is 1..%u characters of "
			"[A-Za-z0-9_.-], not \"%s\"", item, SIM_DOMAIN_NAME_MAX - 1, SA_DOM0_NAME);
		rc = -EINVAL;
	}
	if (rc == 0)
		snprintf(g->name, sizeof(g->name), "%s", item);
	return rc;
}

static int sa_check_unique(const struct sa_config *cfg)
{
	for (unsigned i = 0; i < cfg->nguests; i++)
		for (unsigned j = 0; j < i; j++) {
			const struct sa_guest *a = &cfg->guests[i], *b = &cfg->guests[j];
			if (strcmp(a->name, b->name) == 0 || (a->domid >= 0 && a->domid == b->domid)) {
				sim_log("standalone: XENSIM_DOMAINS: '%s' and '%s': names and domids "
					"must be unique", b->name, a->name);
				return -EINVAL;
			}
		}
	return 0;
}

static int sa_parse_domains(struct sa_config *cfg)
{
	const char *v = getenv("XENSIM_DOMAINS");
	char buf[SA_ENV_MAX];
	int rc = 0;

	if (!v || !*v)
		return 0;
	if (strlen(v) >= sizeof(buf)) {
		sim_log("standalone: XENSIM_DOMAINS: longer than %u bytes", SA_ENV_MAX - 1);
		return -EINVAL;
	}
	snprintf(buf, sizeof(buf), "%s", v);
	char *save = NULL;
	for (char *item = strtok_r(buf, ",", &save); item && rc == 0;
	     item = strtok_r(NULL, ",", &save)) {
		if (cfg->nguests == SA_GUESTS_MAX) {
			sim_log("standalone: XENSIM_DOMAINS: more than %u domains", SA_GUESTS_MAX);
			return -EINVAL;
		}
		rc = sa_parse_guest(item, &cfg->guests[cfg->nguests++]);
	}
	return rc < 0 ? rc : sa_check_unique(cfg);
}

static int sa_parse_env(struct sa_config *cfg)
{
	const char *mode = getenv("XENSIM_MODE");
	bool strict;
	int rc = sa_bool_env("XENSIM_STANDALONE", true, &cfg->enabled);

	if (rc == 0)
		rc = sa_bool_env("XENSIM_REPORT", false, &cfg->report);
	if (rc == 0)
		rc = sa_bool_env(EVTCHN_STRICT_ENV, false, &strict);
	if (rc == 0 && mode && *mode && strcmp(mode, "free") != 0) {
		sim_log("standalone: XENSIM_MODE='%s': a standalone program runs in free mode "
			"only (det mode schedules sim domain threads, not the program's own)", mode);
		rc = -EINVAL;
	}
	if (rc == 0)
		rc = sa_parse_domains(cfg);
	return rc;
}

/* ---- domains and their xenstore homes ---- */

/* As a toolstack does: /local/domain/N owned by dom0 and readable by N, with
 * `name` and `domid`; N's own `data` directory for what it publishes. */
static int sa_create(const char *name, int domid, bool privileged)
{
	struct sim_domain_config dc = {.name = name, .privileged = privileged, .domid = domid};
	int rc = sim_domain_create(&dc);

	if (rc < 0)
		sim_log("standalone: cannot create domain %s (domid %d): %s", name, domid,
			strerror(-rc));
	else
		sa_domids[sa_ndomains++] = (domid_t)rc;
	return rc;
}

static int sa_create_all(const struct sa_config *cfg)
{
	/* The homes (sim/xenstore/home.c, at each creation) as libxl writes them. */
	xs_home_set_libxl(true);
	int rc = sa_create(SA_DOM0_NAME, 0, true);

	for (unsigned i = 0; i < cfg->nguests && rc >= 0; i++)
		rc = sa_create(cfg->guests[i].name, cfg->guests[i].domid, false);
	return rc < 0 ? rc : 0;
}

/* ---- the report at exit ---- */

static void sa_report_domain(domid_t d)
{
	struct gnttab_stats st = {0};

	gnttab_stats(d, &st);
	fprintf(stderr,
		"xensim: report: dom%u (%s): %llu grants active, %llu foreign maps of them, "
		"%llu grants of others mapped, %u event-channel ports, %u xenstore nodes owned\n",
		d, sim_domain_name(d), (unsigned long long)st.grants_active,
		(unsigned long long)st.maps_active, (unsigned long long)st.maptrack_used,
		evtchn_ports_in_use(d), xs_store_nodes_owned(d));
}

static void sa_report(void)
{
	if (atomic_load(&sa_state) != SA_ACTIVE)
		return;
	fprintf(stderr, "xensim: report: left over at exit of pid %d:\n", (int)getpid());
	for (unsigned i = 0; i < sa_ndomains; i++)
		if (sim_domain_alive(sa_domids[i]))
			sa_report_domain(sa_domids[i]);
	fprintf(stderr,
		"xensim: report: %u xenevtchn handles, %u xengnttab/xengntshr handles, "
		"%llu sim mappings (pages shared or mapped); %llu notifies on unbound ports dropped; "
		"%llu memory-protection faults\n",
		evtchn_handles_open(), gnttab_handles_open(),
		(unsigned long long)sim_mem_mappings(),
		(unsigned long long)evtchn_unbound_sends(), (unsigned long long)sim_fault_count());
}

/* ---- start ---- */

static void sa_start(void)
{
	struct sa_config cfg = {0};
	int rc = 0;

	sa_starting = true;
	if (sim_initialised()) {
		/* The process set the sim up itself: its threads outside a domain
		 * are its harness, as before. */
		atomic_store(&sa_state, SA_OFF);
		sim_outside_set(NULL);
		sa_starting = false;
		return;
	}
	rc = sa_parse_env(&cfg);
	if (rc == 0 && !cfg.enabled) {
		atomic_store(&sa_state, SA_OFF);
		sa_starting = false;
		return;
	}
	if (rc == 0)
		rc = sim_init();
	if (rc == 0)
		rc = sa_create_all(&cfg);
	if (rc == 0 && cfg.report)
		atexit(sa_report);
	if (rc < 0)
		sim_log("standalone: not started (%s): Xen calls outside a domain fail",
			strerror(-rc));
	atomic_store(&sa_state, rc == 0 ? SA_ACTIVE : SA_FAILED);
	sa_starting = false;
}

static domid_t sa_outside(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	int st = atomic_load(&sa_state);

	if (st == SA_ACTIVE)
		return 0;
	if (st != SA_UNDECIDED || sa_starting)
		return DOMID_INVALID;
	pthread_once(&once, sa_start);
	return atomic_load(&sa_state) == SA_ACTIVE ? 0 : DOMID_INVALID;
}

void sim_standalone_enable(void)
{
	sim_outside_set(sa_outside);
}

#ifdef XENSIM_SHARED
__attribute__((constructor)) static void sa_register(void)
{
	sim_standalone_enable();
}
#endif
