/*
 * Workload `ring`: a request/response exchange over one shared ring page and
 * an event channel, written only against Xen's API (xengntshr, xengnttab,
 * xenevtchn, io/ring.h) and libevent, each end on its own domain's loop. The
 * front (guest) shares the ring and one data page per slot; the back maps the
 * ring, copies each request out once (RING_COPY_REQUEST), checks it, takes
 * the data by grant copy and answers with its checksum. The front checks
 * every response: slot outstanding, sequence, status, checksum.
 *
 * Options for the scenarios: `broken=1` is a test-only back that skips the
 * final check for new requests before it sleeps (a lost wakeup that PCT
 * finds); `kick=T` makes both ends look at the ring every T, surviving lost
 * notifications; `revoke=1` unshares the front's pages as soon as the last
 * response is in, while the back still maps them (the end is deferred, XSA-396).
 * The back may restart: like blkfront, the front then starts a fresh ring and
 * issues its outstanding requests again. The fault site ring.hostile.rewrite
 * makes the front change a request after publishing it; the back copies each
 * request once and checks the copy (a checksum of its fields), so it answers
 * either the old request or a rejection, exactly once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/ring.h>

#include "sim/gnttab/gnttab.h"
#include "sim/scenario/workload.h"

#define RW_PAGE_BYTES 4096u
#define RW_BATCH_MAX 16u
#define RW_STATUS_OK 0
#define RW_STATUS_COPY_FAILED -1
#define RW_STATUS_REJECTED -2
#define RW_SEQ_FLIP 0x80000000u       /* what the hostile front does to a seq */

SIM_FAULT_SITE_TRACED(rw_fault_rewrite, "ring.hostile.rewrite",
	       "a hostile ring frontend rewrites a request after publishing it (scenario ring workload)");

struct rw_request {
	uint32_t seq;
	uint16_t id;
	uint16_t len;
	uint32_t gref;
	uint32_t sum;
	uint32_t check;       /* of the fields above: a changed request shows */
};

struct rw_response {
	uint32_t seq;
	uint16_t id;
	int16_t status;
	uint32_t sum;
};

DEFINE_RING_TYPES(rw, struct rw_request, struct rw_response);
#define RW_SLOTS __CONST_RING_SIZE(rw, RW_PAGE_BYTES)
_Static_assert(RW_BATCH_MAX <= RW_SLOTS, "a batch fits in the ring");

enum rw_param { RW_P_FRONT, RW_P_BACK, RW_P_REQUESTS, RW_P_BATCH, RW_P_BROKEN, RW_P_KICK,
		RW_P_REVOKE, RW_P_COUNT };

static const struct scn_param rw_params[RW_P_COUNT + 1] = {
	[RW_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest that shares the ring"},
	[RW_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain that maps it and answers"},
	[RW_P_REQUESTS] = {"requests", SCN_P_UINT, "100", 1, 10000000, "requests to exchange"},
	[RW_P_BATCH] = {"batch", SCN_P_UINT, "1", 1, RW_BATCH_MAX, "requests in flight at once"},
	[RW_P_BROKEN] = {"broken", SCN_P_BOOL, "0", 0, 0,
			 "test only: the back skips the final check before sleeping"},
	[RW_P_KICK] = {"kick", SCN_P_TIME, "0ms", 0, 0, "both ends re-check the ring this often"},
	[RW_P_REVOKE] = {"revoke", SCN_P_BOOL, "0", 0, 0,
			 "the front unshares its pages while the back still maps them"},
};

enum rw_counter { RW_C_REQUESTS, RW_C_RESPONSES, RW_C_NOTIFIES, RW_C_EVENTS, RW_C_REJECTED,
		  RW_C_RECONNECTS, RW_C_DEFERRED, RW_C_COUNT };
static const char *const rw_counters[RW_C_COUNT + 1] = {
	"requests", "responses", "notifies", "events", "rejected", "reconnects", "deferred", NULL,
};

struct rw;

struct rw_front {
	struct rw *w;
	domid_t domid, peer;
	bool alive;
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct rw_sring *sring;
	uint32_t ring_ref;
	uint8_t *data;
	uint32_t data_refs[RW_BATCH_MAX];
	struct rw_front_ring ring;
	struct event *ev, *kick_ev;
	bool busy[RW_BATCH_MAX];
	bool idx_rewritten[RW_SLOTS];     /* by ring index: the hostile rewrites */
	uint32_t seq_of[RW_BATCH_MAX];
	uint32_t sent, done;
	bool revoked;
};

struct rw_back {
	struct rw *w;
	domid_t domid, peer;
	bool alive, connected;
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	struct rw_sring *sring;
	struct rw_back_ring ring;
	struct event *ev, *kick_ev;
};

struct rw {
	struct scn_wl *wl;
	uint32_t total, batch;
	bool broken, revoke;
	uint64_t kick_ns, seed;
	struct rw_front f;
	struct rw_back b;
	_Atomic uint64_t c[RW_C_COUNT];
};

static void rw_count(struct rw *w, enum rw_counter c)
{
	atomic_fetch_add_explicit(&w->c[c], 1, memory_order_relaxed);
}

static uint32_t rw_fnv(const uint8_t *p, size_t n)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint32_t rw_check(const struct rw_request *r)
{
	uint32_t h = 2166136261u;

	h = (h ^ r->seq) * 16777619u;
	h = (h ^ r->id) * 16777619u;
	h = (h ^ r->len) * 16777619u;
	h = (h ^ r->gref) * 16777619u;
	return (h ^ r->sum) * 16777619u;
}

static uint16_t rw_len(uint32_t seq)
{
	return (uint16_t)(1 + (seq * 2654435761u) % RW_PAGE_BYTES);
}

static void rw_fill(uint8_t *p, size_t n, uint64_t seed, uint32_t seq)
{
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + seq + 1;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* ---- front ---- */

static void front_notify(struct rw_front *f)
{
	rw_count(f->w, RW_C_NOTIFIES);
	/* ENOTCONN while the back is away (restarting): it serves on attach. */
	if (xenevtchn_notify(f->xce, f->port) < 0 && errno != ENOTCONN)
		scn_wl_error(f->w->wl, "front: notify on port %u failed: %s", f->port, strerror(errno));
}

/* The hostile front: flip the sequence number of the request it just
 * published. The back may be reading it, or may have answered it already
 * (a response takes its request's slot in the ring): either way the front
 * must accept the original, the flipped value, or a rejection there. */
static void front_rewrite(struct rw_front *f, RING_IDX idx)
{
	struct rw_request *req = RING_GET_REQUEST(&f->ring, idx);

	f->idx_rewritten[idx % RW_SLOTS] = true;
	req->seq ^= RW_SEQ_FLIP;
	sim_trace_event(SIM_TR_FAULT, f->domid, f->peer, idx, 0, "ring.hostile.rewrite");
}

/* Put slot id's request (data filled already) on the ring, unpublished. */
static void front_put(struct rw_front *f, uint16_t id)
{
	uint32_t seq = f->seq_of[id];
	uint16_t len = rw_len(seq);
	struct rw_request r = {.seq = seq, .id = id, .len = len, .gref = f->data_refs[id],
			       .sum = rw_fnv(f->data + (size_t)id * RW_PAGE_BYTES, len)};

	r.check = rw_check(&r);
	*RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt) = r;
	f->idx_rewritten[f->ring.req_prod_pvt % RW_SLOTS] = false;
	f->ring.req_prod_pvt++;
}

static void front_issue(struct rw_front *f)
{
	RING_IDX first = f->ring.req_prod_pvt;
	int notify = 0;

	for (uint16_t id = 0; id < f->w->batch && f->sent < f->w->total; id++) {
		if (f->busy[id] || RING_FULL(&f->ring))
			continue;
		uint32_t seq = f->sent++;
		rw_fill(f->data + (size_t)id * RW_PAGE_BYTES, rw_len(seq), f->w->seed, seq);
		f->busy[id] = true;
		f->seq_of[id] = seq;
		front_put(f, id);
		rw_count(f->w, RW_C_REQUESTS);
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (f->ring.req_prod_pvt != first && sim_fault_hit(&rw_fault_rewrite))
		front_rewrite(f, f->ring.req_prod_pvt - 1);
	if (notify)
		front_notify(f);
}

/* NULL if the response at ring index idx is right for what was sent. */
static const char *front_verify(struct rw_front *f, const struct rw_response *rsp, RING_IDX idx)
{
	bool rewritten = f->idx_rewritten[idx % RW_SLOTS];

	if (rsp->id >= f->w->batch || !f->busy[rsp->id])
		return "response for a slot that is not outstanding";
	if (rsp->status == RW_STATUS_REJECTED)
		return rewritten ? NULL : "back rejected a request that was not rewritten";
	if (rsp->status == RW_STATUS_COPY_FAILED)
		return NULL;
	uint32_t want = f->seq_of[rsp->id];
	if (rsp->status != RW_STATUS_OK ||
	    (rsp->seq != want && !(rewritten && rsp->seq == (want ^ RW_SEQ_FLIP))))
		return "response with a wrong sequence number or status";
	const uint8_t *page = f->data + (size_t)rsp->id * RW_PAGE_BYTES;
	if (rw_fnv(page, rw_len(want)) != rsp->sum)
		return "checksum differs from the data sent";
	return NULL;
}

static void front_revoke(struct rw_front *f)
{
	struct gnttab_stats st;

	/* The back still maps the ring: the grant's end is deferred to its unmap. */
	xengntshr_unshare(f->gs, f->data, f->w->batch);
	xengntshr_unshare(f->gs, f->sring, 1);
	f->data = NULL;
	f->sring = NULL;
	f->revoked = true;
	if (gnttab_stats(f->domid, &st) == 0)
		atomic_store(&f->w->c[RW_C_DEFERRED], st.end_deferred);
}

static void front_finish(struct rw_front *f)
{
	if (f->w->revoke)
		front_revoke(f);
	scn_wl_done(f->w->wl);
}

static bool front_take(struct rw_front *f, const struct rw_response *rsp, RING_IDX idx)
{
	const char *err = front_verify(f, rsp, idx);

	if (err) {
		scn_wl_fail(f->w->wl, "front (dom %u): %s: slot %u seq %u status %d", f->domid, err,
			    rsp->id, rsp->seq, rsp->status);
		return false;
	}
	if (rsp->status == RW_STATUS_COPY_FAILED) {
		scn_wl_error(f->w->wl, "back could not grant-copy the data of request %u (ref %u of "
			     "dom %u)", f->seq_of[rsp->id], f->data_refs[rsp->id], f->domid);
		return false;
	}
	if (rsp->status == RW_STATUS_REJECTED)
		rw_count(f->w, RW_C_REJECTED);
	f->busy[rsp->id] = false;
	f->done++;
	rw_count(f->w, RW_C_RESPONSES);
	return true;
}

static void front_consume(void *arg)
{
	struct rw_front *f = arg;
	int more;

	if (f->revoked || scn_wl_finished(f->w->wl))
		return;
	do {
		RING_IDX rp = f->sring->rsp_prod;
		xen_rmb();   /* responses are read after the index that publishes them */
		if (rp - f->ring.rsp_cons > RW_SLOTS) {
			scn_wl_fail(f->w->wl, "front: back's rsp_prod %u overflows the ring (rsp_cons %u)",
				    rp, f->ring.rsp_cons);
			return;
		}
		while (f->ring.rsp_cons != rp) {
			RING_IDX idx = f->ring.rsp_cons++;
			struct rw_response rsp = *RING_GET_RESPONSE(&f->ring, idx);
			if (!front_take(f, &rsp, idx))
				return;
		}
		front_issue(f);
		RING_FINAL_CHECK_FOR_RESPONSES(&f->ring, more);
	} while (more);
	if (f->done == f->w->total)
		front_finish(f);
}

static void front_event(evutil_socket_t fd, short what, void *arg)
{
	struct rw_front *f = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(f->xce);
	if (port < 0)
		return;
	rw_count(f->w, RW_C_EVENTS);
	xenevtchn_unmask(f->xce, (evtchn_port_t)port);
	scn_wl_guard(f->w->wl, front_consume, f);
}

static void front_kick(evutil_socket_t fd, short what, void *arg)
{
	struct rw_front *f = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(f->w->wl, front_consume, f);
}

static struct event *rw_kick_timer(struct rw *w, event_callback_fn cb, void *arg)
{
	struct timeval tv = scn_tv(w->kick_ns);
	struct event *ev;

	if (!w->kick_ns)
		return NULL;
	ev = scn_ev_new(sim_domain_event_base(), -1, EV_PERSIST, cb, arg);
	if (ev)
		event_add(ev, &tv);
	return ev;
}

static int front_setup(void *arg)
{
	struct rw_front *f = arg;
	uint32_t refs[1 + RW_BATCH_MAX];

	f->gs = xengntshr_open(NULL, 0);
	f->xce = xenevtchn_open(NULL, 0);
	if (!f->gs || !f->xce)
		return -errno;
	f->sring = xengntshr_share_pages(f->gs, f->peer, 1, refs, 1);
	if (f->sring)
		f->data = xengntshr_share_pages(f->gs, f->peer, (int)f->w->batch, refs + 1, 1);
	if (!f->sring || !f->data) {
		scn_wl_error(f->w->wl, "front (dom %u): sharing pages with dom %u failed: %s", f->domid,
			     f->peer, strerror(errno));
		return 0;
	}
	f->ring_ref = refs[0];
	memcpy(f->data_refs, refs + 1, f->w->batch * sizeof(refs[0]));
	SHARED_RING_INIT(f->sring);
	FRONT_RING_INIT(&f->ring, f->sring, RW_PAGE_BYTES);
	xenevtchn_port_or_error_t port = xenevtchn_bind_unbound_port(f->xce, f->peer);
	if (port < 0)
		return -errno;
	f->port = (evtchn_port_t)port;
	f->ev = scn_ev_new(sim_domain_event_base(), xenevtchn_fd(f->xce), EV_READ | EV_PERSIST,
			   front_event, f);
	if (!f->ev || event_add(f->ev, NULL) < 0)
		return -ENOMEM;
	f->kick_ev = rw_kick_timer(f->w, front_kick, f);
	return 0;
}

static void front_issue_guarded(void *arg)
{
	front_issue(arg);
}

static void front_start(void *arg)
{
	struct rw_front *f = arg;

	scn_wl_guard(f->w->wl, front_issue_guarded, f);
}

/* Release everything; `alive`: on the front's own thread, else after it died. */
static void front_release(struct rw_front *f, bool alive)
{
	scn_ev_free(f->ev, alive);
	scn_ev_free(f->kick_ev, alive);
	f->ev = f->kick_ev = NULL;
	if (alive && f->data)
		xengntshr_unshare(f->gs, f->data, f->w->batch);
	if (alive && f->sring)
		xengntshr_unshare(f->gs, f->sring, 1);
	f->data = NULL;
	f->sring = NULL;
	if (f->xce)
		xenevtchn_close(f->xce);
	if (f->gs)
		xengntshr_close(f->gs);
	f->xce = NULL;
	f->gs = NULL;
}

static int front_teardown(void *arg)
{
	front_release(arg, true);
	return 0;
}

/* The back restarted: what the old one took off the ring but never answered
 * may be gone (a response takes its request's slot before it is published),
 * so, like blkfront, start a fresh ring and issue every outstanding request
 * again, before the new back attaches. */
static int front_reconnect(void *arg)
{
	struct rw_front *f = arg;

	if (!f->sring || f->revoked)
		return 0;
	SHARED_RING_INIT(f->sring);
	FRONT_RING_INIT(&f->ring, f->sring, RW_PAGE_BYTES);
	for (uint16_t id = 0; id < f->w->batch; id++)
		if (f->busy[id])
			front_put(f, id);
	RING_PUSH_REQUESTS(&f->ring);
	return 0;
}

/* ---- back ---- */

static void back_answer(struct rw_back *b, const struct rw_request *req)
{
	struct rw_response *rsp = RING_GET_RESPONSE(&b->ring, b->ring.rsp_prod_pvt);
	uint8_t buf[RW_PAGE_BYTES];

	*rsp = (struct rw_response){.seq = req->seq, .id = req->id, .status = RW_STATUS_OK};
	/* The copy is what counts: a request changed while we read it shows. */
	if (rw_check(req) != req->check || req->len == 0 || req->len > RW_PAGE_BYTES) {
		rsp->status = RW_STATUS_REJECTED;
	} else {
		xengnttab_grant_copy_segment_t seg = {
			.source.foreign = {.ref = req->gref, .offset = 0, .domid = b->peer},
			.dest.virt = buf, .len = req->len, .flags = GNTCOPY_source_gref};
		if (xengnttab_grant_copy(b->gt, 1, &seg) < 0 || seg.status != GNTST_okay)
			rsp->status = RW_STATUS_COPY_FAILED;
		else
			rsp->sum = rw_fnv(buf, req->len);
	}
	b->ring.rsp_prod_pvt++;
}

static void back_serve(struct rw_back *b)
{
	int notify;
	RING_IDX rp = b->sring->req_prod;

	xen_rmb();   /* requests are read after the index that publishes them */
	if (rp - b->ring.req_cons > RW_SLOTS) {
		scn_wl_fail(b->w->wl, "back: front's req_prod %u overflows the ring (req_cons %u)", rp,
			    b->ring.req_cons);
		return;
	}
	while (b->ring.req_cons != rp) {
		struct rw_request req;
		RING_COPY_REQUEST(&b->ring, b->ring.req_cons, &req);   /* once: the front may change it */
		b->ring.req_cons++;
		back_answer(b, &req);
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&b->ring, notify);
	if (notify && xenevtchn_notify(b->xce, b->port) < 0)
		scn_wl_error(b->w->wl, "back: notify on port %u failed: %s", b->port, strerror(errno));
}

static void back_work(void *arg)
{
	struct rw_back *b = arg;
	int more;

	if (!b->connected)
		return;
	do {
		back_serve(b);
		if (b->w->broken) {
			/* The test-only bug: ask for an event, but do not look again
			 * before sleeping; a request pushed in between is never seen. */
			RING_IDX rp = b->sring->req_prod;
			xen_rmb();
			more = b->ring.req_cons != rp;
			if (!more) {
				b->sring->req_event = b->ring.req_cons + 1;
				xen_mb();
			}
		} else {
			RING_FINAL_CHECK_FOR_REQUESTS(&b->ring, more);
		}
	} while (more && !scn_wl_finished(b->w->wl));
}

static void back_event(evutil_socket_t fd, short what, void *arg)
{
	struct rw_back *b = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(b->xce);
	if (port < 0)
		return;
	rw_count(b->w, RW_C_EVENTS);
	xenevtchn_unmask(b->xce, (evtchn_port_t)port);
	scn_wl_guard(b->w->wl, back_work, b);
}

static void back_kick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scn_wl_guard(((struct rw_back *)arg)->w->wl, back_work, arg);
}

static void back_post(void *arg)
{
	scn_wl_guard(((struct rw_back *)arg)->w->wl, back_work, arg);
}

/* Map the ring and bind. After a restart the front has reset the ring and
 * put its outstanding requests on it again. */
static int back_connect(void *arg)
{
	struct rw_back *b = arg;
	struct rw_front *f = &b->w->f;

	b->gt = xengnttab_open(NULL, 0);
	b->xce = xenevtchn_open(NULL, 0);
	if (!b->gt || !b->xce)
		return -errno;
	b->sring = xengnttab_map_grant_ref(b->gt, b->peer, f->ring_ref, PROT_READ | PROT_WRITE);
	if (!b->sring) {
		scn_wl_error(b->w->wl, "back (dom %u): map of ring ref %u of dom %u failed: %s",
			     b->domid, f->ring_ref, b->peer, strerror(errno));
		return 0;
	}
	BACK_RING_INIT(&b->ring, b->sring, RW_PAGE_BYTES);
	xenevtchn_port_or_error_t port = xenevtchn_bind_interdomain(b->xce, b->peer, f->port);
	if (port < 0)
		return -errno;
	b->port = (evtchn_port_t)port;
	b->ev = scn_ev_new(sim_domain_event_base(), xenevtchn_fd(b->xce), EV_READ | EV_PERSIST,
			   back_event, b);
	if (!b->ev || event_add(b->ev, NULL) < 0)
		return -ENOMEM;
	b->kick_ev = rw_kick_timer(b->w, back_kick, b);
	b->connected = true;
	return 0;
}

static void back_release(struct rw_back *b, bool alive)
{
	scn_ev_free(b->ev, alive);
	scn_ev_free(b->kick_ev, alive);
	b->ev = b->kick_ev = NULL;
	if (alive && b->sring)
		xengnttab_unmap(b->gt, b->sring, 1);
	b->sring = NULL;
	b->connected = false;
	if (b->xce)
		xenevtchn_close(b->xce);
	if (b->gt)
		xengnttab_close(b->gt);   /* a dead back's maps go with its handle */
	b->xce = NULL;
	b->gt = NULL;
}

static int back_teardown(void *arg)
{
	back_release(arg, true);
	return 0;
}

/* ---- the workload ---- */

static void rw_attach_back(struct rw *w)
{
	struct scn_wl *wl = w->wl;
	int rc = scn_wl_call(wl, w->b.domid, back_connect, &w->b);

	if (rc < 0)
		scn_wl_error(wl, "back (dom %u): connect failed: %s", w->b.domid, strerror(-rc));
	else if (w->b.connected)
		sim_domain_post(w->b.domid, back_post, &w->b);   /* serve what waited */
}

static int rw_start(struct scn_wl *wl)
{
	struct rw *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	wl->priv = w;
	w->wl = wl;
	w->total = (uint32_t)scn_wl_u(wl, RW_P_REQUESTS);
	w->batch = (uint32_t)scn_wl_u(wl, RW_P_BATCH);
	w->broken = scn_wl_u(wl, RW_P_BROKEN);
	w->kick_ns = scn_wl_u(wl, RW_P_KICK);
	w->revoke = scn_wl_u(wl, RW_P_REVOKE);
	w->seed = scn_wl_seed(wl);
	w->f = (struct rw_front){.w = w, .domid = scn_wl_domid(wl, RW_P_FRONT),
				 .peer = scn_wl_domid(wl, RW_P_BACK), .alive = true};
	w->b = (struct rw_back){.w = w, .domid = w->f.peer, .peer = w->f.domid, .alive = true};
	int rc = scn_wl_call(wl, w->f.domid, front_setup, &w->f);
	if (rc < 0) {
		scn_wl_error(wl, "front (dom %u): setup failed: %s", w->f.domid, strerror(-rc));
		return 0;
	}
	if (scn_wl_finished(wl))
		return 0;
	rw_attach_back(w);
	if (!scn_wl_finished(wl))
		sim_domain_post(w->f.domid, front_start, &w->f);
	return 0;
}

static void rw_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct rw *w = wl->priv;

	if (domid == w->b.domid && ev == SCN_DOM_CRASHED) {
		w->b.alive = false;
		back_release(&w->b, false);
	} else if (domid == w->b.domid && ev == SCN_DOM_RESTARTED && w->f.alive) {
		w->b.alive = true;
		rw_count(w, RW_C_RECONNECTS);
		if (scn_wl_call(wl, w->f.domid, front_reconnect, &w->f) == 0)
			rw_attach_back(w);
	} else if (domid == w->f.domid && ev == SCN_DOM_CRASHED) {
		w->f.alive = false;
		front_release(&w->f, false);
		/* A backend lets go of a dead frontend's ring (the zombie oracle). */
		if (w->b.alive && scn_wl_call(wl, w->b.domid, back_teardown, &w->b) < 0)
			back_release(&w->b, false);
		scn_wl_error(wl, "front (dom %u) %s with %u of %u responses in", domid,
			     scn_wl_gone(wl, domid), w->f.done, w->total);
	}
}

static void rw_stop(struct scn_wl *wl)
{
	struct rw *w = wl->priv;

	/* The back first: it unmaps, so the front's grants can end. */
	if (w->b.alive && scn_wl_call(wl, w->b.domid, back_teardown, &w->b) < 0)
		back_release(&w->b, false);
	if (w->f.alive && scn_wl_call(wl, w->f.domid, front_teardown, &w->f) < 0)
		front_release(&w->f, false);
	free(w);
}

static uint64_t rw_counter(struct scn_wl *wl, unsigned index)
{
	struct rw *w = wl->priv;

	return index < RW_C_COUNT ? atomic_load_explicit(&w->c[index], memory_order_relaxed) : 0;
}

static int rw_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (a->u[RW_P_FRONT] == a->u[RW_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_ring = {
	.name = "ring",
	.what = "requests and responses over a shared ring page, an event channel and grant copy",
	.params = rw_params,
	.counters = rw_counters,
	.validate = rw_validate,
	.start = rw_start,
	.domain_event = rw_domain_event,
	.stop = rw_stop,
	.counter = rw_counter,
};
