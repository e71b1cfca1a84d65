/*
 * `xensim bench det`: the deterministic scheduler's speed.
 *
 * det.steps      scheduling steps per second of a two-domain ring exchange
 *                (a guest producer, a dom0 consumer, io/ring.h over a shared
 *                page, an interdomain event channel), policy random
 * det.steps.pct  the same exchange under pct:2
 * det.seeds      seeds per second of a short block scenario, swept as
 *                `xensim sweep FILE --seeds A..B` does (-j 1): what a user
 *                sweeping seeds gets
 * det.seeds.cpu  the same per CPU-second of the sweep's processes (the
 *                parent and its workers): the figure per core, which a
 *                loaded machine does not move
 *
 * The ring pair is bench-only code written against Xen's API, like the pair in
 * tests/sched_test.c; it keeps a few requests in flight so that both domains
 * are often runnable at once and the policy has choices to make.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#include <event2/event.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/ring.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/scenario/scenario.h"
#include "tools/bench.h"

#define BD_PAGE_BYTES 4096u
#define BD_INFLIGHT_MAX 4u            /* requests the producer keeps posted */
#define BD_REQUESTS 40000u            /* per run at scale 1 */
#define BD_SEEDS 100u                 /* per run at scale 1 */
#define BD_STEPS_PER_REQUEST 4u       /* measured; PCT's expected run length */
#define BD_STEPS_MAX_PER_REQUEST 64u  /* bound on a run: a livelock ends it */

struct bd_request {
	uint32_t seq;
};
struct bd_response {
	uint32_t seq;
};
DEFINE_RING_TYPES(bd, struct bd_request, struct bd_response);

/* ---- the producer (guest 1) ---- */

struct bd_prod {
	uint32_t total, sent, done;
	bool bad;                     /* a response out of order */
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct bd_sring *sring;
	uint32_t ref;
	struct bd_front_ring ring;
	struct event *ev;
};

static void bd_prod_fill(struct bd_prod *p)
{
	int notify;

	while (p->sent < p->total && p->sent - p->done < BD_INFLIGHT_MAX) {
		RING_GET_REQUEST(&p->ring, p->ring.req_prod_pvt)->seq = p->sent++;
		p->ring.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&p->ring, notify);
	if (notify)
		xenevtchn_notify(p->xce, p->port);
}

static void bd_prod_event(evutil_socket_t fd, short what, void *arg)
{
	struct bd_prod *p = arg;
	int more;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(p->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(p->xce, (evtchn_port_t)port);
	do {
		RING_IDX rp = p->sring->rsp_prod;
		xen_rmb();
		while (p->ring.rsp_cons != rp) {
			uint32_t seq = RING_GET_RESPONSE(&p->ring, p->ring.rsp_cons)->seq;
			p->ring.rsp_cons++;
			p->bad |= seq != p->done;
			p->done++;
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&p->ring, more);
	} while (more);
	bd_prod_fill(p);
}

static int bd_prod_setup(void *arg)
{
	struct bd_prod *p = arg;

	p->gs = xengntshr_open(NULL, 0);
	p->xce = xenevtchn_open(NULL, 0);
	if (!p->gs || !p->xce)
		return -ENOMEM;
	p->sring = xengntshr_share_pages(p->gs, 0, 1, &p->ref, 1);
	if (!p->sring)
		return -ENOMEM;
	SHARED_RING_INIT(p->sring);
	FRONT_RING_INIT(&p->ring, p->sring, BD_PAGE_BYTES);
	int port = xenevtchn_bind_unbound_port(p->xce, 0);
	if (port < 0)
		return -EIO;
	p->port = (evtchn_port_t)port;
	p->ev = event_new(sim_domain_event_base(), xenevtchn_fd(p->xce), EV_READ | EV_PERSIST,
			  bd_prod_event, p);
	return p->ev ? event_add(p->ev, NULL) : -ENOMEM;
}

static void bd_prod_start(void *arg)
{
	bd_prod_fill(arg);
}

static int bd_prod_teardown(void *arg)
{
	struct bd_prod *p = arg;

	if (p->ev)
		event_free(p->ev);
	if (p->sring)
		xengntshr_unshare(p->gs, p->sring, 1);
	if (p->xce)
		xenevtchn_close(p->xce);
	if (p->gs)
		xengntshr_close(p->gs);
	return 0;
}

/* ---- the consumer (dom0) ---- */

struct bd_cons {
	uint32_t ref;
	evtchn_port_t remote_port;
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct bd_sring *sring;
	struct bd_back_ring ring;
	struct event *ev;
};

static void bd_cons_serve(struct bd_cons *c)
{
	int notify;

	RING_IDX rp = c->sring->req_prod;
	xen_rmb();
	while (c->ring.req_cons != rp) {
		struct bd_request req;
		RING_COPY_REQUEST(&c->ring, c->ring.req_cons, &req);
		c->ring.req_cons++;
		RING_GET_RESPONSE(&c->ring, c->ring.rsp_prod_pvt)->seq = req.seq;
		c->ring.rsp_prod_pvt++;
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
	if (notify)
		xenevtchn_notify(c->xce, c->port);
}

static void bd_cons_event(evutil_socket_t fd, short what, void *arg)
{
	struct bd_cons *c = arg;
	int more;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(c->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(c->xce, (evtchn_port_t)port);
	do {
		bd_cons_serve(c);
		RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
	} while (more);
}

static int bd_cons_connect(void *arg)
{
	struct bd_cons *c = arg;

	c->gt = xengnttab_open(NULL, 0);
	c->xce = xenevtchn_open(NULL, 0);
	if (!c->gt || !c->xce)
		return -ENOMEM;
	c->sring = xengnttab_map_grant_ref(c->gt, 1, c->ref, PROT_READ | PROT_WRITE);
	if (!c->sring)
		return -EIO;
	BACK_RING_INIT(&c->ring, c->sring, BD_PAGE_BYTES);
	int port = xenevtchn_bind_interdomain(c->xce, 1, c->remote_port);
	if (port < 0)
		return -EIO;
	c->port = (evtchn_port_t)port;
	c->ev = event_new(sim_domain_event_base(), xenevtchn_fd(c->xce), EV_READ | EV_PERSIST,
			  bd_cons_event, c);
	return c->ev ? event_add(c->ev, NULL) : -ENOMEM;
}

static int bd_cons_disconnect(void *arg)
{
	struct bd_cons *c = arg;

	if (c->ev)
		event_free(c->ev);
	if (c->sring)
		xengnttab_unmap(c->gt, c->sring, 1);
	if (c->xce)
		xenevtchn_close(c->xce);
	if (c->gt)
		xengnttab_close(c->gt);
	return 0;
}

/* ---- det.steps ---- */

static bool bd_finished(void *arg)
{
	const struct bd_prod *p = arg;

	return p->done == p->total || p->bad;
}

struct bd_outcome {
	enum sim_run_result result;
	uint64_t steps, elapsed_ns;
	uint32_t done;
};

static const char *const bd_result_names[] = {
	[SIM_RUN_DONE] = "done", [SIM_RUN_DEADLINE] = "deadline",
	[SIM_RUN_IDLE] = "nothing can run (a hang)", [SIM_RUN_STEPS] = "step bound reached",
};

/* Domains up, ring connected, first requests posted; then the timed run. */
static int bd_exchange(const struct sim_sched_config *cfg, uint32_t total, struct bd_outcome *out)
{
	struct bd_prod p = {.total = total};
	struct bd_cons c = {0};
	int rc = sim_sched_configure(cfg);

	if (rc < 0)
		return rc;
	if (sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0,
							  .privileged = true}) != 0 ||
	    sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = 1}) != 1) {
		rc = -EIO;
		goto out;
	}
	rc = sim_domain_call(1, bd_prod_setup, &p);
	c.ref = p.ref;
	c.remote_port = p.port;
	if (rc == 0)
		rc = sim_domain_call(0, bd_cons_connect, &c);
	if (rc == 0)
		rc = sim_domain_post(1, bd_prod_start, &p);
	if (rc < 0)
		goto out;
	uint64_t steps0 = sim_sched_steps(), t0 = bench_now_ns();
	out->result = sim_run(bd_finished, &p, UINT64_MAX, (uint64_t)total * BD_STEPS_MAX_PER_REQUEST);
	out->elapsed_ns = bench_now_ns() - t0;
	out->steps = sim_sched_steps() - steps0;
	out->done = p.done;
	if (out->result != SIM_RUN_DONE || p.bad || p.done != total)
		rc = -EIO;
out:
	sim_domain_call(0, bd_cons_disconnect, &c);
	sim_domain_call(1, bd_prod_teardown, &p);
	sim_reset();
	return rc;
}

static int bd_steps(struct bench_run *r, const char *metric, enum sim_policy policy)
{
	uint32_t total = (uint32_t)bench_count(r, BD_REQUESTS);
	struct sim_sched_config cfg = {
		.mode = SIM_MODE_DET, .policy = policy, .pct_depth = 2,
		.pct_steps = (uint64_t)total * BD_STEPS_PER_REQUEST,
		.seed = 1 + (uint64_t)bench_run_index(r),
	};
	struct bd_outcome o = {0};
	int rc = bd_exchange(&cfg, total, &o);

	if (rc < 0) {
		bench_log(r, "%s: seed %llu: ring exchange failed after %u of %u responses: %s (run: %s)",
			  metric, (unsigned long long)cfg.seed, o.done, total, strerror(-rc),
			  bd_result_names[o.result]);
		return rc;
	}
	bench_put(r, metric, (double)o.steps * 1e9 / (double)(o.elapsed_ns ? o.elapsed_ns : 1));
	return 0;
}

/* ---- det.seeds ---- */

/* Short, but the whole block path: xenbus handshake, persistent grants,
 * indirect segments, verified I/O, teardown with the leak oracles. */
static const char bd_blk_scn[] =
	"describe bench: a short block run, 40 verified I/Os on a 1 MiB ram disk\n"
	"category functional\n"
	"domain dom0 priv\n"
	"domain guest\n"
	"workload blk front=guest back=dom0 size=1M ios=40 qd=8\n"
	"within 30s\n"
	"expect blk.done == 40\n";

/* CPU time of this process and of its reaped children (the sweep's workers). */
static uint64_t bd_cpu_ns(void)
{
	struct rusage self, kids;

	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	const struct timeval *tv[] = {&self.ru_utime, &self.ru_stime, &kids.ru_utime, &kids.ru_stime};
	uint64_t ns = 0;
	for (unsigned i = 0; i < 4; i++)
		ns += (uint64_t)tv[i]->tv_sec * 1000000000ull + (uint64_t)tv[i]->tv_usec * 1000ull;
	return ns;
}

/* What `xensim sweep FILE --seeds 1..N --quiet` does (the seeds are the run's
 * own: run i sweeps from seed 1 + i * N, so repeats do not replay one set). */
static int bd_seeds(struct bench_run *r)
{
	unsigned n = (unsigned)bench_count(r, BD_SEEDS);
	struct scenario *s = NULL;
	struct scn_sweep_stats st;
	char err[SCN_ERR_MAX];
	int rc = scn_parse_text("bench-det-blk", bd_blk_scn, &s, err, sizeof(err));

	if (rc < 0) {
		bench_log(r, "det.seeds: cannot parse the block scenario: %s", err);
		return rc;
	}
	struct scn_sweep_opts o = {
		.seed_first = 1 + (uint64_t)bench_run_index(r) * n, .jobs = 1, .quiet = true,
		.run = {.mode = -1, .policy = -1},
	};
	o.seed_last = o.seed_first + n - 1;
	uint64_t t0 = bench_now_ns(), cpu0 = bd_cpu_ns();
	rc = scn_sweep(s, &o, &st);
	uint64_t elapsed_ns = bench_now_ns() - t0, cpu_ns = bd_cpu_ns() - cpu0;
	if (rc == 0 && st.passed != n) {
		bench_log(r, "det.seeds: %u of %u seeds passed (first failure: seed %llu)", st.passed,
			  n, (unsigned long long)st.first_failed_seed);
		rc = -EIO;
	}
	if (rc == 0) {
		bench_put(r, "det.seeds", (double)n * 1e9 / (double)(elapsed_ns ? elapsed_ns : 1));
		bench_put(r, "det.seeds.cpu", (double)n * 1e9 / (double)(cpu_ns ? cpu_ns : 1));
	}
	scn_free(s);
	return rc;
}

static int bd_run(struct bench_run *r)
{
	int rc = bd_steps(r, "det.steps", SIM_POLICY_RANDOM);

	if (rc == 0)
		rc = bd_steps(r, "det.steps.pct", SIM_POLICY_PCT);
	if (rc == 0)
		rc = bd_seeds(r);
	return rc;
}

static const struct bench_metric bd_metrics[] = {
	{"det.steps", "steps/s", "ceil.handoff.1cpu", 400000, 0},
	{"det.steps.pct", "steps/s", "ceil.handoff.1cpu", 400000, 0},
	{"det.seeds", "seeds/s", NULL, 1000, 0},
	{"det.seeds.cpu", "seeds/cpu-s", NULL, 1000, 0},
	{NULL, NULL, NULL, 0, 0},
};

const struct bench bench_det = {
	.name = "det",
	.what = "deterministic mode: scheduling steps/s (random, pct:2), block scenario seeds/s",
	.metrics = bd_metrics,
	.run = bd_run,
};
