/*
 * xen/qemu/selftest.c: the quickest check on real Xen, dom0 talking to itself
 * through Xen's own userspace libraries only (libxenstore, libxengnttab with
 * its gntshr half, libxenevtchn). It is what the drivers stand on, so when it
 * fails the drivers' verdicts need not be read.
 *
 *   xenstore   watch (the immediate first event, then one per change), write,
 *              read back, a transaction, rm, get_domain_path
 *   gnttab     dom0 shares pages with itself (xengntshr_share_pages to domid
 *              0) and maps them (xengnttab_map_grant_ref/_refs): both views
 *              alias the same frames; a read-only grant refuses a writable map
 *   ring       an interdomain event channel bound to itself carries a
 *              xen/io/ring.h ring: the "front" writes random data into
 *              granted pages, the "back" hashes it, or fills pages from a
 *              seed the front then checks; notifications both ways
 *
 * Each part prints one line "XCHECK PASS|FAIL selftest-<part> key=value..."
 * on stdout (dom0's console); exit status 0 only if every part passed.
 *
 * usage: xcheck-selftest [--requests N] [--timeout-s S]
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

/* ring.h leaves the barriers to its includer (see drivers/platform.h). */
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#include <xen/io/ring.h>

#define ST_PAGE_BYTES 4096u
#define ST_DATA_PAGES 8u
#define ST_SLOT_BYTES 1024u
#define ST_SLOTS (ST_DATA_PAGES * (ST_PAGE_BYTES / ST_SLOT_BYTES))   /* = in flight max */
#define ST_REQUESTS_DEFAULT 4000u
#define ST_TIMEOUT_S_DEFAULT 30u
#define ST_STALL_MS_MAX 5000
#define ST_XS_PATH "/local/domain/0/xcheck-selftest"
#define ST_MSG_MAX 256

enum { ST_OP_WRITE = 1, ST_OP_READ = 2 };

struct st_request {
	uint32_t id;          /* the slot: page id / 4, offset (id % 4) * 1 KiB */
	uint16_t op, len;
	uint64_t seed;
};
struct st_response {
	uint32_t id;
	int32_t status;       /* 0, or -1 for a request the back rejected */
	uint64_t digest;      /* FNV-1a of the slot's len bytes */
};
DEFINE_RING_TYPES(st, struct st_request, struct st_response);

_Static_assert(ST_SLOTS <= __CONST_RING_SIZE(st, ST_PAGE_BYTES),
	       "every slot must fit in the ring at once");

struct st_ring {
	xengntshr_handle *shr;
	xengnttab_handle *gnt;
	xenevtchn_handle *fe_xce, *be_xce;
	void *shared;                      /* front: ring page + data pages */
	void *be_ring_page, *be_data;      /* back: its mappings of the same */
	uint32_t refs[1 + ST_DATA_PAGES];
	evtchn_port_t fe_port, be_port;    /* local ports of each end */
	st_front_ring_t front;
	st_back_ring_t back;
	struct st_request sent[ST_SLOTS];  /* the front's copy of what it asked */
	bool busy[ST_SLOTS];
	unsigned inflight;
	uint64_t requests_max, submitted, verified, rejected;
	uint64_t notify_fe_to_be, notify_be_to_fe, events_fe, events_be;
	uint64_t rng;
	char failure[ST_MSG_MAX];
};

static unsigned st_failed;

static void st_verdict(bool pass, const char *part, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* One write per line: the console interleaves kernel messages by write. */
static void st_verdict(bool pass, const char *part, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n = snprintf(line, sizeof(line), "XCHECK %s selftest-%s ", pass ? "PASS" : "FAIL", part);

	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stdout);
	fflush(stdout);
	st_failed += !pass;
}

static uint64_t st_next(uint64_t *state)   /* xorshift64* */
{
	*state ^= *state >> 12;
	*state ^= *state << 25;
	*state ^= *state >> 27;
	return *state * 2685821657736338717ull;
}

static void st_fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t s = seed | 1;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(st_next(&s) >> 56);
}

static uint64_t st_digest(const uint8_t *p, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static long st_ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

/* ---- xenstore ---- */

/* Wait up to timeout_ms for one watch event; its path into buf. */
static int st_xs_event(struct xs_handle *xs, char *buf, size_t len, int timeout_ms)
{
	struct pollfd pfd = {.fd = xs_fileno(xs), .events = POLLIN};
	unsigned n = 0;
	char **ev;

	if (poll(&pfd, 1, timeout_ms) <= 0)
		return -ETIMEDOUT;
	ev = xs_read_watch(xs, &n);
	if (!ev)
		return errno ? -errno : -EIO;
	snprintf(buf, len, "%s", ev[XS_WATCH_PATH]);
	free(ev);
	return 0;
}

/* Drain events until one names want; count every event seen. */
static bool st_xs_expect(struct xs_handle *xs, const char *want, unsigned *events)
{
	char path[256];

	while (st_xs_event(xs, path, sizeof(path), 3000) == 0) {
		(*events)++;
		if (strcmp(path, want) == 0)
			return true;
	}
	return false;
}

static bool st_xs_transaction(struct xs_handle *xs, char *msg, size_t len)
{
	for (int tries = 0; tries < 8; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);
		if (t == XBT_NULL) {
			snprintf(msg, len, "transaction_start: %s", strerror(errno));
			return false;
		}
		if (!xs_write(xs, t, ST_XS_PATH "/tx", "committed", 9)) {
			snprintf(msg, len, "write %s/tx in transaction: %s", ST_XS_PATH, strerror(errno));
			xs_transaction_end(xs, t, true);
			return false;
		}
		if (xs_transaction_end(xs, t, false))
			return true;
		if (errno != EAGAIN)
			break;
	}
	snprintf(msg, len, "transaction_end: %s", strerror(errno));
	return false;
}

static bool st_xs_steps(struct xs_handle *xs, unsigned *events, char *msg, size_t len)
{
	const char *val = "xensim on real xen";
	unsigned n = 0;
	char *got, *home;

	xs_rm(xs, XBT_NULL, ST_XS_PATH);
	if (!xs_watch(xs, ST_XS_PATH, "xcheck"))
		return snprintf(msg, len, "watch %s: %s", ST_XS_PATH, strerror(errno)), false;
	if (!st_xs_expect(xs, ST_XS_PATH, events))
		return snprintf(msg, len, "no first event for watch %s", ST_XS_PATH), false;
	if (!xs_write(xs, XBT_NULL, ST_XS_PATH "/key", val, (unsigned)strlen(val)))
		return snprintf(msg, len, "write %s/key: %s", ST_XS_PATH, strerror(errno)), false;
	if (!st_xs_expect(xs, ST_XS_PATH "/key", events))
		return snprintf(msg, len, "no watch event for %s/key", ST_XS_PATH), false;
	got = xs_read(xs, XBT_NULL, ST_XS_PATH "/key", &n);
	bool same = got && n == strlen(val) && memcmp(got, val, n) == 0;
	free(got);
	if (!same)
		return snprintf(msg, len, "read %s/key: not what was written", ST_XS_PATH), false;
	if (!st_xs_transaction(xs, msg, len))
		return false;
	if (!st_xs_expect(xs, ST_XS_PATH "/tx", events))
		return snprintf(msg, len, "no watch event for %s/tx at commit", ST_XS_PATH), false;
	if (!xs_rm(xs, XBT_NULL, ST_XS_PATH) || !st_xs_expect(xs, ST_XS_PATH, events))
		return snprintf(msg, len, "rm %s: %s, or no event", ST_XS_PATH, strerror(errno)), false;
	home = xs_get_domain_path(xs, 0);
	same = home && strcmp(home, "/local/domain/0") == 0;
	snprintf(msg, len, "get_domain_path(0) = %s", home ? home : "(null)");
	free(home);
	return same;
}

static void st_xenstore(void)
{
	struct xs_handle *xs = xs_open(0);
	unsigned events = 0;
	char msg[ST_MSG_MAX] = "";
	bool ok;

	if (!xs) {
		st_verdict(false, "xenstore", "xs_open: %s", strerror(errno));
		return;
	}
	xs_fileno(xs);   /* the watch pipe exists before the first event arrives */
	ok = st_xs_steps(xs, &events, msg, sizeof(msg));
	xs_unwatch(xs, ST_XS_PATH, "xcheck");
	if (ok)
		st_verdict(true, "xenstore", "watch_events=%u write_read=1 transaction=1 rm=1", events);
	else
		st_verdict(false, "xenstore", "%s (watch events so far %u)", msg, events);
	xs_close(xs);
}

/* ---- grant sharing ---- */

/* Both views must alias: what one writes the other reads, both ways. */
static bool st_alias(uint8_t *a, uint8_t *b, uint32_t pages, char *msg, size_t len)
{
	for (uint32_t i = 0; i < pages; i++) {
		uint8_t *pa = a + (size_t)i * ST_PAGE_BYTES, *pb = b + (size_t)i * ST_PAGE_BYTES;
		st_fill(pa, ST_PAGE_BYTES, 0x5eed0000u + i);
		if (memcmp(pa, pb, ST_PAGE_BYTES) != 0)
			return snprintf(msg, len, "page %u: the mapping does not see the sharer's write", i), false;
		memset(pb, 0xa5, ST_PAGE_BYTES);
		if (pa[0] != 0xa5 || pa[ST_PAGE_BYTES - 1] != 0xa5)
			return snprintf(msg, len, "page %u: the sharer does not see the mapper's write", i), false;
	}
	return true;
}

/* A read-only grant: a PROT_READ map works, a writable one is refused. */
static bool st_readonly(xengntshr_handle *shr, xengnttab_handle *gnt, char *msg, size_t len)
{
	uint32_t ref = 0;
	uint8_t *own = xengntshr_share_pages(shr, 0, 1, &ref, 0);
	bool ok = false;

	if (!own)
		return snprintf(msg, len, "share_pages(dom0, 1 page, read-only): %s", strerror(errno)), false;
	own[7] = 0x77;
	uint8_t *ro = xengnttab_map_grant_ref(gnt, 0, ref, PROT_READ);
	uint8_t *rw = xengnttab_map_grant_ref(gnt, 0, ref, PROT_READ | PROT_WRITE);
	if (!ro)
		snprintf(msg, len, "map read-only gref %u PROT_READ: %s", ref, strerror(errno));
	else if (ro[7] != 0x77)
		snprintf(msg, len, "read-only map of gref %u does not alias", ref);
	else if (rw)
		snprintf(msg, len, "gref %u granted read-only was mapped writable", ref);
	else
		ok = true;
	if (ro)
		xengnttab_unmap(gnt, ro, 1);
	if (rw)
		xengnttab_unmap(gnt, rw, 1);
	xengntshr_unshare(shr, own, 1);
	return ok;
}

static void st_gnttab(xengntshr_handle *shr, xengnttab_handle *gnt)
{
	enum { PAGES = 4 };
	uint32_t refs[PAGES] = {0};
	char msg[ST_MSG_MAX] = "";
	uint8_t *own = xengntshr_share_pages(shr, 0, PAGES, refs, 1);
	uint8_t *map = NULL;
	bool ok = false;

	if (!own) {
		st_verdict(false, "gnttab", "share_pages(dom0, %d pages, writable): %s", PAGES, strerror(errno));
		return;
	}
	map = xengnttab_map_domain_grant_refs(gnt, PAGES, 0, refs, PROT_READ | PROT_WRITE);
	if (!map)
		snprintf(msg, sizeof(msg), "map_domain_grant_refs(dom0, grefs %u..): %s", refs[0],
			 strerror(errno));
	else
		ok = st_alias(own, map, PAGES, msg, sizeof(msg)) &&
		     st_readonly(shr, gnt, msg, sizeof(msg));
	if (map && xengnttab_unmap(gnt, map, PAGES) != 0 && ok) {
		snprintf(msg, sizeof(msg), "unmap grefs %u..: %s", refs[0], strerror(errno));
		ok = false;
	}
	if (xengntshr_unshare(shr, own, PAGES) != 0 && ok) {
		snprintf(msg, sizeof(msg), "unshare grefs %u..: %s", refs[0], strerror(errno));
		ok = false;
	}
	if (ok)
		st_verdict(true, "gnttab", "pages=%d grefs=%u.. aliased=1 readonly_write_refused=1", PAGES,
			   refs[0]);
	else
		st_verdict(false, "gnttab", "%s", msg);
}

/* ---- the ring ---- */

static bool st_fail(struct st_ring *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool st_fail(struct st_ring *r, const char *fmt, ...)
{
	va_list ap;

	if (r->failure[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(r->failure, sizeof(r->failure), fmt, ap);
	va_end(ap);
	return false;
}

static uint8_t *st_slot(uint8_t *data, uint32_t id)
{
	return data + (size_t)id * ST_SLOT_BYTES;
}

/* Set-up as a split driver does it: the front shares the ring page and the
 * data pages and allocates an unbound port; the back maps and binds. */
static bool st_ring_setup(struct st_ring *r)
{
	uint32_t n = 1 + ST_DATA_PAGES;

	r->shared = xengntshr_share_pages(r->shr, 0, n, r->refs, 1);
	if (!r->shared)
		return st_fail(r, "share_pages(dom0, %u pages): %s", n, strerror(errno));
	SHARED_RING_INIT((st_sring_t *)r->shared);
	FRONT_RING_INIT(&r->front, (st_sring_t *)r->shared, ST_PAGE_BYTES);
	int port = xenevtchn_bind_unbound_port(r->fe_xce, 0);
	if (port < 0)
		return st_fail(r, "bind_unbound_port(remote dom0): %s", strerror(errno));
	r->fe_port = (evtchn_port_t)port;
	r->be_ring_page = xengnttab_map_grant_ref(r->gnt, 0, r->refs[0], PROT_READ | PROT_WRITE);
	if (!r->be_ring_page)
		return st_fail(r, "map ring gref %u: %s", r->refs[0], strerror(errno));
	r->be_data = xengnttab_map_domain_grant_refs(r->gnt, ST_DATA_PAGES, 0, r->refs + 1,
						     PROT_READ | PROT_WRITE);
	if (!r->be_data)
		return st_fail(r, "map data grefs %u..%u: %s", r->refs[1], r->refs[ST_DATA_PAGES],
			       strerror(errno));
	BACK_RING_INIT(&r->back, (st_sring_t *)r->be_ring_page, ST_PAGE_BYTES);
	port = xenevtchn_bind_interdomain(r->be_xce, 0, r->fe_port);
	if (port < 0)
		return st_fail(r, "bind_interdomain(dom0, port %u): %s", r->fe_port, strerror(errno));
	r->be_port = (evtchn_port_t)port;
	return true;
}

static void st_ring_teardown(struct st_ring *r)
{
	if (r->be_port && xenevtchn_unbind(r->be_xce, r->be_port) != 0)
		st_fail(r, "unbind back port %u: %s", r->be_port, strerror(errno));
	if (r->fe_port && xenevtchn_unbind(r->fe_xce, r->fe_port) != 0)
		st_fail(r, "unbind front port %u: %s", r->fe_port, strerror(errno));
	if (r->be_data && xengnttab_unmap(r->gnt, r->be_data, ST_DATA_PAGES) != 0)
		st_fail(r, "unmap data grefs: %s", strerror(errno));
	if (r->be_ring_page && xengnttab_unmap(r->gnt, r->be_ring_page, 1) != 0)
		st_fail(r, "unmap ring gref %u: %s", r->refs[0], strerror(errno));
	if (r->shared && xengntshr_unshare(r->shr, r->shared, 1 + ST_DATA_PAGES) != 0)
		st_fail(r, "unshare %u pages: %s", 1 + ST_DATA_PAGES, strerror(errno));
}

static void st_notify(struct st_ring *r, xenevtchn_handle *xce, evtchn_port_t port, uint64_t *count)
{
	if (xenevtchn_notify(xce, port) != 0)
		st_fail(r, "notify port %u: %s", port, strerror(errno));
	(*count)++;
}

/* Front: fill every free slot with a request. */
static void st_front_submit(struct st_ring *r)
{
	uint8_t *data = (uint8_t *)r->shared + ST_PAGE_BYTES;
	int notify = 0;

	for (uint32_t id = 0; id < ST_SLOTS && r->submitted < r->requests_max; id++) {
		if (r->busy[id])
			continue;
		struct st_request *q = &r->sent[id];
		q->id = id;
		q->op = (st_next(&r->rng) & 1) ? ST_OP_WRITE : ST_OP_READ;
		q->len = (uint16_t)(1 + st_next(&r->rng) % ST_SLOT_BYTES);
		q->seed = st_next(&r->rng);
		if (q->op == ST_OP_WRITE)
			st_fill(st_slot(data, id), q->len, q->seed);
		else
			memset(st_slot(data, id), 0, ST_SLOT_BYTES);
		*RING_GET_REQUEST(&r->front, r->front.req_prod_pvt) = *q;
		r->front.req_prod_pvt++;
		r->busy[id] = true;
		r->inflight++;
		r->submitted++;
	}
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&r->front, notify);
	if (notify)
		st_notify(r, r->fe_xce, r->fe_port, &r->notify_fe_to_be);
}

/* Back: copy each request once (the front may be hostile), check, serve. */
static void st_back_serve_one(struct st_ring *r, const struct st_request *q)
{
	struct st_response *p = RING_GET_RESPONSE(&r->back, r->back.rsp_prod_pvt);
	uint8_t *slot;

	memset(p, 0, sizeof(*p));
	p->id = q->id;
	if (q->id >= ST_SLOTS || q->len == 0 || q->len > ST_SLOT_BYTES ||
	    (q->op != ST_OP_WRITE && q->op != ST_OP_READ)) {
		p->status = -1;
		r->rejected++;
	} else {
		slot = st_slot(r->be_data, q->id);
		if (q->op == ST_OP_READ)
			st_fill(slot, q->len, q->seed);
		p->digest = st_digest(slot, q->len);
	}
	r->back.rsp_prod_pvt++;
}

static void st_back_serve(struct st_ring *r)
{
	int more = 1, notify = 0;

	while (more) {
		RING_IDX prod = r->back.sring->req_prod;
		xen_rmb();   /* read the requests only after their index */
		if (prod - r->back.req_cons > RING_SIZE(&r->back)) {
			st_fail(r, "back: req_prod %u overflows the ring (cons %u)", prod,
				r->back.req_cons);
			return;
		}
		while (r->back.req_cons != prod) {
			struct st_request q;
			RING_COPY_REQUEST(&r->back, r->back.req_cons, &q);
			r->back.req_cons++;
			st_back_serve_one(r, &q);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&r->back, more);
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&r->back, notify);
	if (notify)
		st_notify(r, r->be_xce, r->be_port, &r->notify_be_to_fe);
}

static void st_front_check(struct st_ring *r, const struct st_response *p)
{
	uint8_t *data = (uint8_t *)r->shared + ST_PAGE_BYTES;
	const struct st_request *q;
	uint8_t want[ST_SLOT_BYTES];

	if (p->id >= ST_SLOTS || !r->busy[p->id]) {
		st_fail(r, "front: response id %u not outstanding", p->id);
		return;
	}
	q = &r->sent[p->id];
	st_fill(want, q->len, q->seed);
	if (p->status != 0)
		st_fail(r, "front: request id %u op %u len %u rejected", q->id, q->op, q->len);
	else if (q->op == ST_OP_READ && memcmp(st_slot(data, q->id), want, q->len) != 0)
		st_fail(r, "front: read id %u len %u: data differs from seed %#" PRIx64, q->id, q->len,
			q->seed);
	else if (p->digest != st_digest(want, q->len))
		st_fail(r, "front: id %u op %u len %u: digest %#" PRIx64 " expected %#" PRIx64, q->id,
			q->op, q->len, p->digest, st_digest(want, q->len));
	else
		r->verified++;
	r->busy[p->id] = false;
	r->inflight--;
}

static void st_front_complete(struct st_ring *r)
{
	int more = 1;

	while (more) {
		RING_IDX prod = r->front.sring->rsp_prod;
		xen_rmb();   /* read the responses only after their index */
		if (prod - r->front.rsp_cons > r->inflight) {
			st_fail(r, "front: rsp_prod %u claims more than the %u in flight", prod,
				r->inflight);
			return;
		}
		while (r->front.rsp_cons != prod) {
			struct st_response p = *RING_GET_RESPONSE(&r->front, r->front.rsp_cons);
			r->front.rsp_cons++;
			st_front_check(r, &p);
		}
		RING_FINAL_CHECK_FOR_RESPONSES(&r->front, more);
	}
}

/* Take one pending port off xce; it stays masked until unmasked here. */
static bool st_event(struct st_ring *r, xenevtchn_handle *xce, evtchn_port_t want, uint64_t *count)
{
	xenevtchn_port_or_error_t port = xenevtchn_pending(xce);

	if (port < 0)
		return errno == EAGAIN ? false : st_fail(r, "pending: %s", strerror(errno));
	if ((evtchn_port_t)port != want)
		return st_fail(r, "event on port %d, expected %u", port, want);
	if (xenevtchn_unmask(xce, (evtchn_port_t)port) != 0)
		return st_fail(r, "unmask port %d: %s", port, strerror(errno));
	(*count)++;
	return true;
}

static void st_ring_run(struct st_ring *r, unsigned timeout_s)
{
	struct pollfd pfd[2] = {{.fd = xenevtchn_fd(r->fe_xce), .events = POLLIN},
				{.fd = xenevtchn_fd(r->be_xce), .events = POLLIN}};
	struct timespec t0, progress;
	uint64_t last = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	progress = t0;
	st_front_submit(r);
	while (!r->failure[0] && (r->verified < r->requests_max)) {
		if (st_ms_since(&t0) > (long)timeout_s * 1000 || st_ms_since(&progress) > ST_STALL_MS_MAX) {
			st_fail(r, "stalled: %" PRIu64 " submitted, %" PRIu64 " verified, %u in flight,"
				" front port %u back port %u", r->submitted, r->verified, r->inflight,
				r->fe_port, r->be_port);
			break;
		}
		if (poll(pfd, 2, 500) < 0 && errno != EINTR) {
			st_fail(r, "poll on event channel fds: %s", strerror(errno));
			break;
		}
		if (pfd[1].revents && st_event(r, r->be_xce, r->be_port, &r->events_be))
			st_back_serve(r);
		if (pfd[0].revents && st_event(r, r->fe_xce, r->fe_port, &r->events_fe)) {
			st_front_complete(r);
			st_front_submit(r);
		}
		if (r->verified != last) {
			last = r->verified;
			clock_gettime(CLOCK_MONOTONIC, &progress);
		}
	}
}

static void st_ring(xengntshr_handle *shr, xengnttab_handle *gnt, uint64_t requests, unsigned timeout_s)
{
	struct st_ring *r = calloc(1, sizeof(*r));

	if (!r) {
		st_verdict(false, "ring", "out of memory");
		return;
	}
	r->shr = shr;
	r->gnt = gnt;
	r->requests_max = requests;
	r->rng = 0x9e3779b97f4a7c15ull ^ (uint64_t)time(NULL);
	r->fe_xce = xenevtchn_open(NULL, 0);
	r->be_xce = xenevtchn_open(NULL, 0);
	if (!r->fe_xce || !r->be_xce)
		st_fail(r, "xenevtchn_open: %s", strerror(errno));
	else if (st_ring_setup(r))
		st_ring_run(r, timeout_s);
	st_ring_teardown(r);
	if (!r->failure[0] && (r->events_fe == 0 || r->events_be == 0))
		st_fail(r, "no event delivered one way: %" PRIu64 " to the back, %" PRIu64 " to the front",
			r->events_be, r->events_fe);
	if (r->failure[0])
		st_verdict(false, "ring", "%s", r->failure);
	else
		st_verdict(true, "ring", "requests_verified=%" PRIu64 " ports=%u<->%u grefs=%u "
			   "notify_fe_to_be=%" PRIu64 " notify_be_to_fe=%" PRIu64 " events_be=%" PRIu64
			   " events_fe=%" PRIu64, r->verified, r->fe_port, r->be_port, 1 + ST_DATA_PAGES,
			   r->notify_fe_to_be, r->notify_be_to_fe, r->events_be, r->events_fe);
	if (r->fe_xce)
		xenevtchn_close(r->fe_xce);
	if (r->be_xce)
		xenevtchn_close(r->be_xce);
	free(r);
}

static int st_usage(const char *argv0)
{
	fprintf(stderr, "usage: %s [--requests N] [--timeout-s S]\n", argv0);
	return 2;
}

int main(int argc, char **argv)
{
	uint64_t requests = ST_REQUESTS_DEFAULT;
	unsigned timeout_s = ST_TIMEOUT_S_DEFAULT;
	xengntshr_handle *shr;
	xengnttab_handle *gnt;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--requests") == 0 && i + 1 < argc)
			requests = strtoull(argv[++i], NULL, 0);
		else if (strcmp(argv[i], "--timeout-s") == 0 && i + 1 < argc)
			timeout_s = (unsigned)strtoul(argv[++i], NULL, 0);
		else
			return st_usage(argv[0]);
	}
	st_xenstore();
	shr = xengntshr_open(NULL, 0);
	gnt = xengnttab_open(NULL, 0);
	if (!shr || !gnt) {
		st_verdict(false, "gnttab", "xengntshr_open/xengnttab_open: %s (modules xen-gntalloc,"
			   " xen-gntdev loaded?)", strerror(errno));
		st_verdict(false, "ring", "no grant handles");
	} else {
		st_gnttab(shr, gnt);
		st_ring(shr, gnt, requests, timeout_s);
	}
	if (gnt)
		xengnttab_close(gnt);
	if (shr)
		xengntshr_close(shr);
	return st_failed ? 1 : 0;
}
