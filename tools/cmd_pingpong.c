/*
 * `xensim pingpong`: the smallest real split driver. A guest (frontend) shares a
 * ring page and one data page per slot with dom0 (backend) and binds an event
 * channel; the backend maps the ring, takes each request's data by grant copy,
 * checks it, writes the inverted bytes back by grant copy and answers. The
 * frontend verifies every byte. The two sides use only Xen's API (xengntshr,
 * xengnttab, xenevtchn, io/ring.h) and libevent, each on its own domain thread;
 * only the set-up below uses the sim to create the domains and hand over the
 * ring ref and port (a real pair would use xenstore for that).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include <event2/event.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/ring.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "tools/xensim.h"

#define PP_PAGE_BYTES 4096u   /* Xen's page size on x86 */
#define PP_DATA_BYTES PP_PAGE_BYTES
#define PP_ROUND_TRIPS_MAX 100000000u

struct pp_request {
	uint32_t seq;
	uint32_t gref;        /* the slot's data page */
	uint16_t id;          /* slot */
	uint16_t len;         /* bytes of data, 1..4096 */
	uint32_t sum;         /* FNV-1a of the data */
};

struct pp_response {
	uint32_t seq;
	uint16_t id;
	int16_t status;       /* 0 ok, -1 the backend saw other bytes than announced */
	uint32_t sum;         /* FNV-1a of the inverted data */
};

DEFINE_RING_TYPES(pp, struct pp_request, struct pp_response);

#define PP_SLOTS __CONST_RING_SIZE(pp, PP_PAGE_BYTES)

static uint32_t fnv1a(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint8_t pp_invert(uint8_t b)
{
	return (uint8_t)(b ^ 0xFFu);
}

/* Deterministic content for request `seq`. */
static void pp_fill(uint8_t *p, size_t n, uint64_t seed, uint32_t seq)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + seq;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* ---------------- frontend (guest) ---------------- */

struct ppf {
	domid_t ppf_backend;
	uint64_t ppf_seed;
	uint32_t ppf_total, ppf_sent, ppf_done;
	xengntshr_handle *ppf_gs;
	xenevtchn_handle *ppf_xce;
	evtchn_port_t ppf_port;
	struct pp_sring *ppf_sring;
	uint32_t ppf_ring_ref;
	uint8_t *ppf_data;                 /* PP_SLOTS pages */
	uint32_t ppf_data_refs[PP_SLOTS];
	bool ppf_busy[PP_SLOTS];
	uint32_t ppf_seq_of[PP_SLOTS];
	struct pp_front_ring ppf_ring;
	struct event *ppf_ev;
	uint64_t ppf_notifies, ppf_events, ppf_bytes;
	const char *ppf_error;
	pthread_mutex_t ppf_lock;          /* completion, read by the main thread */
	pthread_cond_t ppf_cond;
	bool ppf_finished;
};

static void ppf_finish(struct ppf *f, const char *error)
{
	pthread_mutex_lock(&f->ppf_lock);
	if (!f->ppf_finished) {
		f->ppf_error = error;
		f->ppf_finished = true;
		pthread_cond_signal(&f->ppf_cond);
	}
	pthread_mutex_unlock(&f->ppf_lock);
}

static void ppf_issue(struct ppf *f)
{
	int notify = 0;

	for (uint16_t id = 0; id < PP_SLOTS && f->ppf_sent < f->ppf_total; id++) {
		if (f->ppf_busy[id] || RING_FULL(&f->ppf_ring))
			continue;
		uint32_t seq = f->ppf_sent++;
		uint16_t len = (uint16_t)(1 + (seq * 2654435761u) % PP_DATA_BYTES);
		uint8_t *page = f->ppf_data + (size_t)id * PP_PAGE_BYTES;
		pp_fill(page, len, f->ppf_seed, seq);
		struct pp_request *req = RING_GET_REQUEST(&f->ppf_ring, f->ppf_ring.req_prod_pvt);
		*req = (struct pp_request){.seq = seq, .gref = f->ppf_data_refs[id], .id = id,
					   .len = len, .sum = fnv1a(page, len)};
		f->ppf_ring.req_prod_pvt++;
		f->ppf_busy[id] = true;
		f->ppf_seq_of[id] = seq;
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ppf_ring, notify);
	if (notify) {
		f->ppf_notifies++;
		if (xenevtchn_notify(f->ppf_xce, f->ppf_port) < 0)
			ppf_finish(f, "notify failed");
	}
}

/* Check one response against what was sent; NULL if it is right. */
static const char *ppf_verify(struct ppf *f, const struct pp_response *rsp)
{
	uint8_t want[PP_DATA_BYTES];

	if (rsp->id >= PP_SLOTS || !f->ppf_busy[rsp->id])
		return "response for a slot that is not outstanding";
	if (rsp->seq != f->ppf_seq_of[rsp->id] || rsp->status != 0)
		return "response with a wrong sequence number or an error status";
	uint16_t len = (uint16_t)(1 + (rsp->seq * 2654435761u) % PP_DATA_BYTES);
	const uint8_t *page = f->ppf_data + (size_t)rsp->id * PP_PAGE_BYTES;
	pp_fill(want, len, f->ppf_seed, rsp->seq);
	for (uint16_t i = 0; i < len; i++)
		if (page[i] != pp_invert(want[i]))
			return "data page does not hold the inverted bytes";
	if (fnv1a(page, len) != rsp->sum)
		return "response checksum does not match the data";
	f->ppf_bytes += len;
	return NULL;
}

static void ppf_consume(struct ppf *f)
{
	int more;

	do {
		RING_IDX rp = f->ppf_sring->rsp_prod;
		xen_rmb();   /* responses are read after the index that publishes them */
		if (rp - f->ppf_ring.rsp_cons > PP_SLOTS) {
			ppf_finish(f, "backend's rsp_prod overflows the ring");
			return;
		}
		while (f->ppf_ring.rsp_cons != rp) {
			struct pp_response rsp = *RING_GET_RESPONSE(&f->ppf_ring, f->ppf_ring.rsp_cons);
			f->ppf_ring.rsp_cons++;
			const char *err = ppf_verify(f, &rsp);
			if (err) {
				ppf_finish(f, err);
				return;
			}
			f->ppf_busy[rsp.id] = false;
			f->ppf_done++;
		}
		ppf_issue(f);
		RING_FINAL_CHECK_FOR_RESPONSES(&f->ppf_ring, more);
	} while (more);
	if (f->ppf_done == f->ppf_total)
		ppf_finish(f, NULL);
}

static void ppf_event(evutil_socket_t fd, short what, void *arg)
{
	struct ppf *f = arg;
	xenevtchn_port_or_error_t port = xenevtchn_pending(f->ppf_xce);

	(void)fd;
	(void)what;
	if (port < 0)
		return;
	f->ppf_events++;
	xenevtchn_unmask(f->ppf_xce, (evtchn_port_t)port);
	ppf_consume(f);
}

static int ppf_setup(void *arg)
{
	struct ppf *f = arg;
	uint32_t refs[1 + PP_SLOTS];

	f->ppf_gs = xengntshr_open(NULL, 0);
	f->ppf_xce = xenevtchn_open(NULL, 0);
	if (!f->ppf_gs || !f->ppf_xce)
		return -errno;
	f->ppf_sring = xengntshr_share_pages(f->ppf_gs, f->ppf_backend, 1, refs, 1);
	f->ppf_data = xengntshr_share_pages(f->ppf_gs, f->ppf_backend, PP_SLOTS, refs + 1, 1);
	if (!f->ppf_sring || !f->ppf_data)
		return -errno;
	f->ppf_ring_ref = refs[0];
	memcpy(f->ppf_data_refs, refs + 1, sizeof(f->ppf_data_refs));
	SHARED_RING_INIT(f->ppf_sring);
	FRONT_RING_INIT(&f->ppf_ring, f->ppf_sring, PP_PAGE_BYTES);
	xenevtchn_port_or_error_t port = xenevtchn_bind_unbound_port(f->ppf_xce, f->ppf_backend);
	if (port < 0)
		return -errno;
	f->ppf_port = (evtchn_port_t)port;
	f->ppf_ev = event_new(sim_domain_event_base(), xenevtchn_fd(f->ppf_xce), EV_READ | EV_PERSIST,
			      ppf_event, f);
	return f->ppf_ev && event_add(f->ppf_ev, NULL) == 0 ? 0 : -ENOMEM;
}

static void ppf_kick(void *arg)
{
	ppf_issue(arg);
}

static int ppf_teardown(void *arg)
{
	struct ppf *f = arg;

	if (f->ppf_ev)
		event_free(f->ppf_ev);
	if (f->ppf_data)
		xengntshr_unshare(f->ppf_gs, f->ppf_data, PP_SLOTS);
	if (f->ppf_sring)
		xengntshr_unshare(f->ppf_gs, f->ppf_sring, 1);
	if (f->ppf_xce)
		xenevtchn_close(f->ppf_xce);   /* unbinds the port */
	if (f->ppf_gs)
		xengntshr_close(f->ppf_gs);
	return 0;
}

/* ---------------- backend (dom0) ---------------- */

struct ppb {
	domid_t ppb_frontend;
	uint32_t ppb_ring_ref;
	evtchn_port_t ppb_remote_port;
	xengnttab_handle *ppb_gt;
	xenevtchn_handle *ppb_xce;
	evtchn_port_t ppb_port;
	struct pp_sring *ppb_sring;
	struct pp_back_ring ppb_ring;
	struct event *ppb_ev;
	uint64_t ppb_notifies, ppb_events, ppb_requests, ppb_errors;
};

/* Copy the data in, check it, copy it back inverted: two grant copies. */
static int16_t ppb_serve(struct ppb *b, const struct pp_request *req, uint32_t *sum)
{
	uint8_t buf[PP_DATA_BYTES];
	xengnttab_grant_copy_segment_t seg = {
		.source.foreign = {.ref = req->gref, .offset = 0, .domid = b->ppb_frontend},
		.dest.virt = buf,
		.len = req->len,
		.flags = GNTCOPY_source_gref,
	};

	if (req->len == 0 || req->len > PP_DATA_BYTES)
		return -1;
	if (xengnttab_grant_copy(b->ppb_gt, 1, &seg) < 0 || seg.status != GNTST_okay)
		return -1;
	if (fnv1a(buf, req->len) != req->sum)
		return -1;
	for (uint16_t i = 0; i < req->len; i++)
		buf[i] = pp_invert(buf[i]);
	*sum = fnv1a(buf, req->len);
	seg = (xengnttab_grant_copy_segment_t){
		.source.virt = buf,
		.dest.foreign = {.ref = req->gref, .offset = 0, .domid = b->ppb_frontend},
		.len = req->len,
		.flags = GNTCOPY_dest_gref,
	};
	if (xengnttab_grant_copy(b->ppb_gt, 1, &seg) < 0 || seg.status != GNTST_okay)
		return -1;
	return 0;
}

static void ppb_work(struct ppb *b)
{
	int more, notify;

	do {
		RING_IDX rp = b->ppb_sring->req_prod;
		xen_rmb();   /* requests are read after the index that publishes them */
		if (rp - b->ppb_ring.req_cons > PP_SLOTS) {
			b->ppb_errors++;   /* a hostile frontend: stop serving it */
			return;
		}
		while (b->ppb_ring.req_cons != rp) {
			struct pp_request req;
			RING_COPY_REQUEST(&b->ppb_ring, b->ppb_ring.req_cons, &req);
			b->ppb_ring.req_cons++;
			struct pp_response rsp = {.seq = req.seq, .id = req.id};
			rsp.status = ppb_serve(b, &req, &rsp.sum);
			b->ppb_errors += rsp.status != 0;
			*RING_GET_RESPONSE(&b->ppb_ring, b->ppb_ring.rsp_prod_pvt) = rsp;
			b->ppb_ring.rsp_prod_pvt++;
			b->ppb_requests++;
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->ppb_ring, notify);
		if (notify) {
			b->ppb_notifies++;
			xenevtchn_notify(b->ppb_xce, b->ppb_port);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&b->ppb_ring, more);
	} while (more);
}

static void ppb_event(evutil_socket_t fd, short what, void *arg)
{
	struct ppb *b = arg;
	xenevtchn_port_or_error_t port = xenevtchn_pending(b->ppb_xce);

	(void)fd;
	(void)what;
	if (port < 0)
		return;
	b->ppb_events++;
	xenevtchn_unmask(b->ppb_xce, (evtchn_port_t)port);
	ppb_work(b);
}

static int ppb_connect(void *arg)
{
	struct ppb *b = arg;

	b->ppb_gt = xengnttab_open(NULL, 0);
	b->ppb_xce = xenevtchn_open(NULL, 0);
	if (!b->ppb_gt || !b->ppb_xce)
		return -errno;
	b->ppb_sring = xengnttab_map_grant_ref(b->ppb_gt, b->ppb_frontend, b->ppb_ring_ref,
					       PROT_READ | PROT_WRITE);
	if (!b->ppb_sring)
		return -errno;
	BACK_RING_INIT(&b->ppb_ring, b->ppb_sring, PP_PAGE_BYTES);
	xenevtchn_port_or_error_t port =
		xenevtchn_bind_interdomain(b->ppb_xce, b->ppb_frontend, b->ppb_remote_port);
	if (port < 0)
		return -errno;
	b->ppb_port = (evtchn_port_t)port;
	b->ppb_ev = event_new(sim_domain_event_base(), xenevtchn_fd(b->ppb_xce), EV_READ | EV_PERSIST,
			      ppb_event, b);
	return b->ppb_ev && event_add(b->ppb_ev, NULL) == 0 ? 0 : -ENOMEM;
}

static int ppb_disconnect(void *arg)
{
	struct ppb *b = arg;

	if (b->ppb_ev)
		event_free(b->ppb_ev);
	if (b->ppb_sring)
		xengnttab_unmap(b->ppb_gt, b->ppb_sring, 1);
	if (b->ppb_xce)
		xenevtchn_close(b->ppb_xce);
	if (b->ppb_gt)
		xengnttab_close(b->ppb_gt);
	return 0;
}

/* ---------------- the command ---------------- */

struct pp_opts {
	uint32_t round_trips;
	uint64_t seed;
};

static int pp_opt(void *ctx, int opt, const char *arg)
{
	struct pp_opts *o = ctx;
	uint64_t v;

	if (opt == 's')
		return xensim_parse_u64(arg, &o->seed);
	if (xensim_parse_u64_in(arg, 1, PP_ROUND_TRIPS_MAX, &v) < 0)
		return -EINVAL;
	o->round_trips = (uint32_t)v;
	return 0;
}

static void pp_usage(FILE *out)
{
	fprintf(out, "usage: xensim pingpong [--round-trips N] [--seed N]\n"
		     "  A guest and dom0 exchange N verified requests (default 10000) over a\n"
		     "  granted ring, grant copies and an event channel; then what was left over.\n");
}

/* 1 after --help, 0 to run, -EINVAL on a bad command line (said on stderr). */
static int pp_parse(int argc, char **argv, struct pp_opts *o)
{
	static const struct xensim_opt opts[] = {
		{"round-trips", 'n', "1..100000000"}, {"seed", 's', "an unsigned integer"}, {0},
	};
	const struct xensim_cli cli = {.cmd = "pingpong", .opts = opts, .apply = pp_opt, .ctx = o,
				       .usage = pp_usage};
	int first;

	*o = (struct pp_opts){.round_trips = 10000, .seed = 1};
	first = xensim_getopt(&cli, argc, argv);
	return first == -ECANCELED ? 1 : first < 0 ? -EINVAL : 0;
}

/* Everything given back? Prints what is left over; returns the count of leaks. */
static int pp_leaks(domid_t fe, domid_t be)
{
	struct gnttab_stats gf = {0}, gb = {0};
	int leaks = 0;

	gnttab_stats(fe, &gf);
	gnttab_stats(be, &gb);
	uint64_t left[] = {sim_mem_mappings(), evtchn_ports_in_use(fe), evtchn_ports_in_use(be),
			   gf.grants_active, gb.maptrack_used, gnttab_handles_open(),
			   evtchn_handles_open()};
	const char *what[] = {"mappings", "guest ports", "dom0 ports", "guest grants",
			      "dom0 maptrack", "gnttab handles", "evtchn handles"};
	for (size_t i = 0; i < sizeof(left) / sizeof(left[0]); i++)
		if (left[i]) {
			printf("  leak: %llu %s left after teardown\n", (unsigned long long)left[i], what[i]);
			leaks++;
		}
	evtchn_check();
	gnttab_check();
	return leaks;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);   /* free mode only: a wall time for the summary */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void pp_report(const struct ppf *f, const struct ppb *b, double secs)
{
	printf("pingpong: %u round trips over a %u-slot ring, %llu data bytes verified both ways\n",
	       f->ppf_done, (unsigned)PP_SLOTS, (unsigned long long)f->ppf_bytes);
	printf("  guest (frontend): %llu notifications sent, %llu events taken\n",
	       (unsigned long long)f->ppf_notifies, (unsigned long long)f->ppf_events);
	printf("  dom0 (backend):   %llu requests served, %llu notifications sent, %llu events taken, %llu errors\n",
	       (unsigned long long)b->ppb_requests, (unsigned long long)b->ppb_notifies,
	       (unsigned long long)b->ppb_events, (unsigned long long)b->ppb_errors);
	printf("  suppressed notifications: %llu of %llu possible (ring.h event indices)\n",
	       (unsigned long long)(2 * f->ppf_done - f->ppf_notifies - b->ppb_notifies),
	       (unsigned long long)(2 * f->ppf_done));
	printf("  %.3f s, %.0f round trips/s (free mode, 2 domain threads)\n", secs,
	       secs > 0 ? f->ppf_done / secs : 0.0);
}

/* Every wait is bounded: no completion within PP_STALL_S means a hang. */
#define PP_STALL_S 60

static void pp_wait(struct ppf *f)
{
	struct timespec deadline;

	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += PP_STALL_S;
	pthread_mutex_lock(&f->ppf_lock);
	while (!f->ppf_finished)
		if (pthread_cond_timedwait(&f->ppf_cond, &f->ppf_lock, &deadline) == ETIMEDOUT) {
			f->ppf_error = "no completion within " "60" " s: the exchange hung";
			f->ppf_finished = true;
		}
	pthread_mutex_unlock(&f->ppf_lock);
}

static int pp_run(const struct pp_opts *o)
{
	int be = sim_domain_create(&(struct sim_domain_config){.name = "dom0", .domid = 0, .privileged = true});
	int fe = sim_domain_create(&(struct sim_domain_config){.name = "guest", .domid = -1});
	struct ppf f = {.ppf_backend = 0, .ppf_seed = o->seed, .ppf_total = o->round_trips};
	struct ppb b = {.ppb_frontend = (domid_t)fe};
	int rc = XENSIM_EXIT_HARNESS;

	pthread_mutex_init(&f.ppf_lock, NULL);
	pthread_cond_init(&f.ppf_cond, NULL);
	if (be < 0 || fe < 0 || sim_domain_call((domid_t)fe, ppf_setup, &f) < 0)
		goto out;
	b.ppb_ring_ref = f.ppf_ring_ref;
	b.ppb_remote_port = f.ppf_port;
	if (sim_domain_call(0, ppb_connect, &b) < 0)
		goto out;
	double t0 = now_s();
	sim_domain_post((domid_t)fe, ppf_kick, &f);
	pp_wait(&f);
	double t1 = now_s();
	sim_domain_call(0, ppb_disconnect, &b);
	sim_domain_call((domid_t)fe, ppf_teardown, &f);
	pp_report(&f, &b, t1 - t0);
	int leaks = pp_leaks((domid_t)fe, 0);
	if (f.ppf_error)
		printf("FAIL: %s (seed %llu)\n", f.ppf_error, (unsigned long long)o->seed);
	rc = f.ppf_error || leaks || b.ppb_errors ? XENSIM_EXIT_FAIL : XENSIM_EXIT_PASS;
	printf("%s: %u round trips verified, %d leaks\n", rc ? "FAIL" : "PASS", f.ppf_done, leaks);
out:
	if (rc == XENSIM_EXIT_HARNESS)
		fprintf(stderr, "xensim pingpong: set-up failed (domains %d/%d)\n", be, fe);
	sim_reset();
	pthread_cond_destroy(&f.ppf_cond);
	pthread_mutex_destroy(&f.ppf_lock);
	return rc;
}

int cmd_pingpong(int argc, char **argv)
{
	struct pp_opts o;

	int rc = pp_parse(argc, argv, &o);

	if (rc != 0)
		return rc > 0 ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	return pp_run(&o);
}
