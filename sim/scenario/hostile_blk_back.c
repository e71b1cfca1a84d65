/*
 * Workload `blk-hostile-back`: a hostile block backend serving the real
 * blkfront, with the verified random-I/O workload (blkwork) on top. Written
 * from io/blkif.h with Xen's API only: it maps the ring (xengnttab), binds
 * the channel (xenevtchn), moves data by grant copy to and from a ram disk
 * of its own, and does the backend's half of the handshake with xs_*. It
 * serves correctly and, when one of its fault sites fires, lies:
 *
 *   blk.hostile.back.id       a response id out of range, not outstanding
 *                             (another generation), or the same one twice
 *   blk.hostile.back.op       an operation other than the request's
 *   blk.hostile.back.status   a status blkif.h does not have
 *   blk.hostile.back.prod     rsp_prod jumps past what was asked
 *   blk.hostile.back.rewrite  a published response's status or id changed
 *                             just after the notification, while blkfront
 *                             may be reading it
 *   blk.hostile.back.keys     at a connection, a disk description out of
 *                             blkif.h's bounds: sector-size 0, 256, 1000 or
 *                             8192, or "sectors" whose bytes pass 2^64
 *   blk.hostile.back.data     test only: a read answered OKAY with wrong data
 *                             (what no frontend can see: blkwork's model must)
 *   blk.hostile.back.zero     an all-zero response (id 0, READ, OKAY) for the
 *                             request answered next after one whose id is 0
 *                             in its low word: the empty shadow of a slot a
 *                             frontend numbering its slots from 0 just freed
 *
 * With indirect=N it offers feature-max-indirect-segments N and serves
 * indirect reads and writes (its lies then reach them: an indirect request
 * is answered with its indirect_op, as blkif.h's backends echo it); with
 * info=BITS it publishes the info key so (VDISK_READONLY with another bit:
 * a read-only CD-ROM or removable disk), refuses writes if read-only, and
 * the run fails if blkfront sends one; with reorder=1 it answers the
 * requests of each batch last first (blkif.h's responses may come in any
 * order: a backend with real asynchronous I/O completes them so), honestly.
 *
 * The oracle: blkfront never faults, aborts or hangs; it never completes an
 * I/O with wrong data as a success (blkwork's shadow model); a lie either
 * becomes an I/O error or puts blkfront in its terminal state with the reason
 * (a clean error the scenario expects), or is ignored when blkfront read the
 * response before the lie was written. All sites can be aimed: device
 * vbd/<devid>, domain the backend or the guest.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/blk/blkfront.h"
#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>

#include "sim/scenario/hostile_blk.h"
#include "sim/scenario/scn_internal.h"

#define HB_PAGE 4096u
#define HB_SECTOR_SHIFT 9u
#define HB_GARBAGE_STATUS 0x5a5a
#define HB_ID_NO_SLOT 0xffff00ull          /* low word past any ring */

SIM_FAULT_SITE(hb_site_id, "blk.hostile.back.id",
	       "hostile blk backend: response id out of range, not outstanding, or twice");
SIM_FAULT_SITE(hb_site_op, "blk.hostile.back.op", "hostile blk backend: response operation not the request's");
SIM_FAULT_SITE(hb_site_status, "blk.hostile.back.status", "hostile blk backend: a status blkif.h does not have");
SIM_FAULT_SITE(hb_site_prod, "blk.hostile.back.prod", "hostile blk backend: rsp_prod jumps past the requests");
SIM_FAULT_SITE(hb_site_rewrite, "blk.hostile.back.rewrite",
	       "hostile blk backend: a response rewritten after it was published");
SIM_FAULT_SITE(hb_site_keys, "blk.hostile.back.keys",
	       "hostile blk backend: sector-size or sectors out of bounds at a connection");
SIM_FAULT_SITE(hb_site_data, "blk.hostile.back.data",
	       "test only: hostile blk backend answers a read OKAY with wrong data (blkwork must see it)");
SIM_FAULT_SITE(hb_site_zero, "blk.hostile.back.zero",
	       "hostile blk backend: an all-zero response (id 0) after answering the request of id 0 in its low word");

#define HB_INDIRECT_MAX 512u               /* indirect=: as blkfront's usual maximum */
#define HB_HELD_MAX 64u                    /* reorder=1: answers held back per batch (a ring's) */
#define HB_SEGS_PER_PAGE (HB_PAGE / sizeof(struct blkif_request_segment))

enum hb_param { HB_P_FRONT, HB_P_BACK, HB_P_DEVID, HB_P_SIZE, HB_P_IOS, HB_P_QD, HB_P_MIN, HB_P_MAX,
		HB_P_PERSISTENT, HB_P_ERRORS, HB_P_INDIRECT, HB_P_INFO, HB_P_REORDER, HB_P_COUNT };

static const struct scn_param hb_params[HB_P_COUNT + 1] = {
	[HB_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest running blkfront and blkwork"},
	[HB_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running the hostile backend"},
	[HB_P_DEVID] = {"devid", SCN_P_UINT, "51712", 1, 1u << 28, "virtual device"},
	[HB_P_SIZE] = {"size", SCN_P_SIZE, "4M", 64u << 10, 1ull << 30, "disk size"},
	[HB_P_IOS] = {"ios", SCN_P_UINT, "200", 1, 10000000, "I/Os to complete"},
	[HB_P_QD] = {"qd", SCN_P_UINT, "8", 1, BLKWORK_QUEUE_DEPTH_MAX, "I/Os in flight"},
	[HB_P_MIN] = {"min", SCN_P_SIZE, "512", 512, 1u << 20, "smallest I/O"},
	[HB_P_MAX] = {"max", SCN_P_SIZE, "64k", 512, 1u << 20, "largest I/O"},
	[HB_P_PERSISTENT] = {"persistent", SCN_P_BOOL, "1", 0, 0, "blkfront's persistent pool"},
	[HB_P_ERRORS] = {"errors", SCN_P_STRING, "stop", 0, 0, "blkwork: stop at an I/O error, or continue"},
	[HB_P_INDIRECT] = {"indirect", SCN_P_UINT, "0", 0, HB_INDIRECT_MAX,
			   "feature-max-indirect-segments offered (0: none); blkfront asks up to this"},
	[HB_P_INFO] = {"info", SCN_P_UINT, "0", 0, 7, "the info key's VDISK_* bits (4: read-only; then reads only)"},
	[HB_P_REORDER] = {"reorder", SCN_P_BOOL, "0", 0, 0, "answer each batch's requests last first (legal)"},
};

enum hb_counter { HB_C_DONE, HB_C_REQUESTS, HB_C_LIES, HB_C_IO_ERRORS, HB_C_CONNECTS, HB_C_COUNT };
static const char *const hb_counters[HB_C_COUNT + 1] = {
	"done", "requests", "lies", "io-errors", "connects", NULL,
};

enum hb_phase { HB_NEW, HB_INITWAIT, HB_CONNECTED, HB_CLOSED };

struct hb {
	struct scn_wl *wl;
	domid_t fe, be;
	uint32_t devid;
	bool fe_alive, be_alive;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[5];
	char vdev[16], fe_dir[64], be_dir[96], fe_state[80];
	struct blk_store *store;
	uint64_t rng, size;
	/* the backend's side */
	struct xs_handle *xs;
	struct event *xs_ev, *ev_ev;
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	blkif_sring_t *sring;
	blkif_back_ring_t ring;
	enum hb_phase phase;
	unsigned indirect, info;          /* indirect=, info= */
	bool zero_next;                   /* blk.hostile.back.zero: the next answer is all zeros */
	bool reorder;                     /* reorder=1 */
	blkif_response_t held[HB_HELD_MAX];   /* reorder=1: this batch's answers, in request order */
	unsigned nheld;
	uint8_t *buf;                     /* one request's data */
	xengnttab_grant_copy_segment_t *copy;   /* one request's copies */
	struct blkif_request_segment *isegs;    /* an indirect request's segments */
	/* the guest's side */
	struct blkfront_config fcfg;
	struct blkfront *bf;
	struct blkwork_config wcfg;
	struct blkwork *work;
	bool cont;
	unsigned id_lies;
	const char *keys_lie;             /* the disk description told at this connection, if a lie */
	_Atomic uint64_t c[HB_C_COUNT];
	_Atomic uint64_t bad_status;      /* responses with a status blkif.h lacks */
	_Atomic uint64_t ro_writes;       /* writes sent to a vbd published read-only */
};

static void hb_count(struct hb *h, enum hb_counter c)
{
	atomic_fetch_add(&h->c[c], 1);
}

static uint64_t hb_rand(struct hb *h)
{
	return scn_wl_rand(&h->rng);
}

static bool hb_hit(struct hb *h, struct sim_fault_site *site)
{
	char device[24];

	snprintf(device, sizeof(device), "vbd/%u", h->devid);
	bool hit = scn_wl_lie(site, h->be, h->fe, device);
	if (hit)
		hb_count(h, HB_C_LIES);
	return hit;
}

/* ---- serving ---- */

/* Without persistent grants each request's pages are granted fresh: every
 * byte the frontend did not mean to send (a write's page outside its
 * sectors, all of a read's page) must be zero, else the frontend shares
 * memory that is none of the backend's business (XSA-403). A request naming
 * one page twice is not judged. */
static void hb_pages_clean(struct hb *h, bool write, const struct blkif_request_segment *segs, unsigned n)
{
	uint8_t page[HB_PAGE];

	for (unsigned i = 0; i < n; i++) {
		const struct blkif_request_segment *s = &segs[i];
		for (unsigned j = 0; j < i; j++)
			if (segs[j].gref == s->gref)
				return;
		xengnttab_grant_copy_segment_t seg = {
			.source.foreign = {.ref = s->gref, .offset = 0, .domid = h->fe},
			.dest.virt = page, .len = HB_PAGE, .flags = GNTCOPY_source_gref};
		if (xengnttab_grant_copy(h->gt, 1, &seg) < 0 || seg.status != GNTST_okay)
			return;   /* the copy that serves it says what is wrong */
		size_t lo = write ? (size_t)s->first_sect << HB_SECTOR_SHIFT : HB_PAGE;
		size_t hi = write ? ((size_t)s->last_sect + 1) << HB_SECTOR_SHIFT : HB_PAGE;
		for (size_t b = 0; b < HB_PAGE; b++)
			if ((b < lo || b >= hi) && page[b] != 0) {
				scn_wl_fail(h->wl, "XSA-403: blkfront (dom %u) shared grant ref %u with backend dom "
					    "%u for a %s of sectors %u..%u, and byte %zu of the page is %#x: data "
					    "not meant for the backend", h->fe, s->gref, h->be, write ? "write" : "read",
					    s->first_sect, s->last_sect, b, page[b]);
				return;
			}
	}
}

/* Move one request's data between the disk and the frontend's pages: n
 * segments (at most 11, or indirect= of them) from sector on. */
static int16_t hb_rw(struct hb *h, bool write, uint64_t sector, const struct blkif_request_segment *segs,
		     unsigned n, unsigned n_max)
{
	xengnttab_grant_copy_segment_t *seg = h->copy;
	uint64_t off = sector << HB_SECTOR_SHIFT;
	size_t pos = 0;

	if (n == 0 || n > n_max)
		return BLKIF_RSP_ERROR;
	if (write && (h->info & VDISK_READONLY)) {
		atomic_fetch_add(&h->ro_writes, 1);
		return BLKIF_RSP_ERROR;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct blkif_request_segment *s = &segs[i];
		if (s->first_sect > s->last_sect || s->last_sect > 7)
			return BLKIF_RSP_ERROR;
		uint16_t len = (uint16_t)((s->last_sect - s->first_sect + 1) << HB_SECTOR_SHIFT);
		uint16_t o = (uint16_t)(s->first_sect << HB_SECTOR_SHIFT);
		if (write)
			seg[i] = (xengnttab_grant_copy_segment_t){
				.source.foreign = {.ref = s->gref, .offset = o, .domid = h->fe},
				.dest.virt = h->buf + pos, .len = len, .flags = GNTCOPY_source_gref};
		else
			seg[i] = (xengnttab_grant_copy_segment_t){
				.source.virt = h->buf + pos,
				.dest.foreign = {.ref = s->gref, .offset = o, .domid = h->fe},
				.len = len, .flags = GNTCOPY_dest_gref};
		pos += len;
	}
	if (off > h->size || pos > h->size - off)
		return BLKIF_RSP_ERROR;
	if (!h->fcfg.persistent)
		hb_pages_clean(h, write, segs, n);
	if (!write && blk_store_read(h->store, off, h->buf, pos) < 0)
		return BLKIF_RSP_ERROR;
	if (!write && hb_hit(h, &hb_site_data))
		h->buf[hb_rand(h) % pos] ^= 0x40;
	if (xengnttab_grant_copy(h->gt, n, seg) < 0)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < n; i++)
		if (seg[i].status != GNTST_okay)
			return BLKIF_RSP_ERROR;
	if (write && blk_store_write(h->store, off, h->buf, pos) < 0)
		return BLKIF_RSP_ERROR;
	return BLKIF_RSP_OKAY;
}

/* An indirect read or write: its segment pages copied in, then served as
 * one request of nr_segments; *echo is the operation the answer carries. */
static int16_t hb_indirect(struct hb *h, const blkif_request_t *req, uint8_t *echo)
{
	blkif_request_indirect_t ind;
	xengnttab_grant_copy_segment_t cp[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];

	memcpy(&ind, req, sizeof(ind));
	*echo = ind.indirect_op;
	unsigned n = ind.nr_segments, pages = (unsigned)((n + HB_SEGS_PER_PAGE - 1) / HB_SEGS_PER_PAGE);
	if (!h->indirect || n == 0 || n > h->indirect ||
	    (ind.indirect_op != BLKIF_OP_READ && ind.indirect_op != BLKIF_OP_WRITE))
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0, left = n; i < pages; i++, left -= (unsigned)HB_SEGS_PER_PAGE) {
		unsigned k = left < HB_SEGS_PER_PAGE ? left : (unsigned)HB_SEGS_PER_PAGE;
		cp[i] = (xengnttab_grant_copy_segment_t){
			.source.foreign = {.ref = ind.indirect_grefs[i], .offset = 0, .domid = h->fe},
			.dest.virt = h->isegs + (size_t)i * HB_SEGS_PER_PAGE,
			.len = (uint16_t)(k * sizeof(struct blkif_request_segment)), .flags = GNTCOPY_source_gref};
	}
	if (xengnttab_grant_copy(h->gt, pages, cp) < 0)
		return BLKIF_RSP_ERROR;
	for (unsigned i = 0; i < pages; i++)
		if (cp[i].status != GNTST_okay)
			return BLKIF_RSP_ERROR;
	return hb_rw(h, ind.indirect_op == BLKIF_OP_WRITE, ind.sector_number, h->isegs, n, h->indirect);
}

static void hb_put_ring(struct hb *h, const blkif_response_t *rsp)
{
	memcpy(RING_GET_RESPONSE(&h->ring, h->ring.rsp_prod_pvt), rsp, sizeof(*rsp));
	h->ring.rsp_prod_pvt++;
}

/* reorder=1: the batch's answers into the ring, last first. */
static void hb_held_flush(struct hb *h)
{
	while (h->nheld)
		hb_put_ring(h, &h->held[--h->nheld]);
}

static void hb_put(struct hb *h, const blkif_response_t *rsp)
{
	if (h->reorder) {
		if (h->nheld == HB_HELD_MAX)
			hb_held_flush(h);
		h->held[h->nheld++] = *rsp;
		return;
	}
	hb_put_ring(h, rsp);
}

/* The answer, honest or not; op is the operation it echoes. */
static void hb_respond(struct hb *h, const blkif_request_t *req, uint8_t op, int16_t status)
{
	blkif_response_t rsp;
	bool twice = false;

	memset(&rsp, 0, sizeof(rsp));
	rsp.id = req->id;
	rsp.operation = op;
	rsp.status = status;
	if (h->zero_next) {
		h->zero_next = false;
		memset(&rsp, 0, sizeof(rsp));   /* id 0, BLKIF_OP_READ, OKAY */
	} else if ((uint32_t)req->id == 0 && hb_hit(h, &hb_site_zero)) {
		h->zero_next = true;
	} else if (hb_hit(h, &hb_site_id)) {
		/* Variants in turn from the run's seed: the first lie ends the
		 * device, so seeds 1, 2, 3 try each first. */
		uint64_t v = (h->wl->run->seed + h->id_lies++) % 3;
		if (v == 0)
			rsp.id = req->id | HB_ID_NO_SLOT;
		else if (v == 1)
			rsp.id = req->id ^ (1ull << 32);         /* another generation */
		else
			twice = true;
	} else if (hb_hit(h, &hb_site_op)) {
		rsp.operation = hb_rand(h) % 2 ? (uint8_t)(op ^ 1) : 0x42;
	} else if (hb_hit(h, &hb_site_status)) {
		static const int16_t garbage[] = {1, 7, -3, -100, 0x7fff};
		rsp.status = garbage[hb_rand(h) % (sizeof(garbage) / sizeof(garbage[0]))];
		atomic_fetch_add(&h->bad_status, 1);
	}
	hb_put(h, &rsp);
	if (twice)
		hb_put(h, &rsp);
}

static void hb_serve_one(struct hb *h, const blkif_request_t *req)
{
	uint8_t echo = req->operation;
	int16_t st;

	hb_count(h, HB_C_REQUESTS);
	switch (req->operation) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		st = hb_rw(h, req->operation == BLKIF_OP_WRITE, req->sector_number, req->seg, req->nr_segments,
			   BLKIF_MAX_SEGMENTS_PER_REQUEST);
		break;
	case BLKIF_OP_INDIRECT:
		st = hb_indirect(h, req, &echo);
		break;
	case BLKIF_OP_FLUSH_DISKCACHE:
		st = req->nr_segments || (h->info & VDISK_READONLY) ? BLKIF_RSP_ERROR : BLKIF_RSP_OKAY;
		break;
	default:
		st = BLKIF_RSP_EOPNOTSUPP;
		break;
	}
	hb_respond(h, req, echo, st);
}

/* Publish; then perhaps lie about the producer, or change the last answer
 * after the notification (if its slot was not handed back to a request). */
static void hb_push(struct hb *h)
{
	hb_held_flush(h);
	RING_IDX last = h->ring.rsp_prod_pvt - 1;

	RING_PUSH_RESPONSES(&h->ring);
	if (hb_hit(h, &hb_site_prod))
		h->sring->rsp_prod += RING_SIZE(&h->ring) + 1 + (RING_IDX)(hb_rand(h) % 8);
	xenevtchn_notify(h->xce, h->port);
	if (hb_hit(h, &hb_site_rewrite) && h->sring->req_prod - last < RING_SIZE(&h->ring)) {
		blkif_response_t *rsp = RING_GET_RESPONSE(&h->ring, last);
		if (hb_rand(h) % 2)
			rsp->status = HB_GARBAGE_STATUS;
		else
			rsp->id |= HB_ID_NO_SLOT;   /* a second fetch of the id would index past the table */
	}
}

static void hb_work(struct hb *h)
{
	int more;

	do {
		RING_IDX rp = h->sring->req_prod;
		xen_rmb();   /* requests are read after the index that publishes them */
		bool any = false;
		while (h->ring.req_cons != rp && !RING_REQUEST_CONS_OVERFLOW(&h->ring, h->ring.req_cons)) {
			blkif_request_t req;
			RING_COPY_REQUEST(&h->ring, h->ring.req_cons, &req);
			h->ring.req_cons++;
			hb_serve_one(h, &req);
			any = true;
		}
		if (any)
			hb_push(h);
		RING_FINAL_CHECK_FOR_REQUESTS(&h->ring, more);
	} while (more && h->phase == HB_CONNECTED && !scn_wl_finished(h->wl));
}

static void hb_work_guarded(void *arg)
{
	struct hb *h = arg;

	if (h->phase == HB_CONNECTED && !scn_wl_finished(h->wl))
		hb_work(h);
}

static void hb_evtchn(evutil_socket_t fd, short what, void *arg)
{
	struct hb *h = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(h->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(h->xce, (evtchn_port_t)port);
	scn_wl_guard(h->wl, hb_work_guarded, h);
}

/* ---- the backend's handshake ---- */

static int hb_write(struct hb *h, const char *key, unsigned long v)
{
	return scn_xs_printf(h->xs, h->be_dir, key, "%lu", v);
}

static bool hb_read(struct hb *h, const char *dir, const char *key, unsigned long *out)
{
	char v[SCN_XS_VALUE_MAX];
	bool ok = scn_xs_gets(h->xs, dir, key, v, sizeof(v)) == 0;

	if (ok)
		*out = strtoul(v, NULL, 10);
	return ok;
}

static void hb_disconnect(struct hb *h)
{
	scn_ev_free(h->ev_ev, true);
	h->ev_ev = NULL;
	if (h->xce)
		xenevtchn_close(h->xce);
	h->xce = NULL;
	if (h->sring)
		xengnttab_unmap(h->gt, h->sring, 1);
	h->sring = NULL;
}

static int hb_initwait(struct hb *h)
{
	int rc = hb_write(h, "feature-flush-cache", !(h->info & VDISK_READONLY));

	rc = rc ? rc : hb_write(h, "feature-persistent", 1);
	rc = rc ? rc : hb_write(h, "feature-barrier", 0);
	if (rc == 0 && h->indirect)
		rc = hb_write(h, "feature-max-indirect-segments", h->indirect);
	rc = rc ? rc : hb_write(h, "state", XenbusStateInitWait);
	h->phase = HB_INITWAIT;
	return rc;
}

/* The disk's keys, or (blk.hostile.back.keys) one of them out of blkif.h's
 * bounds: a sector size that is no power of two from 512 to the page, or a
 * sector count whose bytes do not fit in 64 bits (seed 6: not even the
 * count, a decimal past 2^64 that a parser wrapping on overflow takes for a
 * small disk). */
static int hb_disk_keys(struct hb *h)
{
	static const char *const lies[][2] = {   /* by seed: 1, 2, 3 the first three after [0] */
		{"sectors", "18446744073709551615"}, {"sector-size", "0"}, {"sector-size", "1000"},
		{"sectors", "36028797018963968"},   /* 2^55: 2^64 bytes */
		{"sector-size", "8192"}, {"sector-size", "256"},
		{"sectors", "18446744073709552128"},   /* 2^64 + 512: a parser that wraps reads 512 */
	};
	int rc = hb_write(h, "sectors", h->size >> HB_SECTOR_SHIFT);

	rc = rc ? rc : hb_write(h, "info", h->info);
	rc = rc ? rc : hb_write(h, "sector-size", 512);
	h->keys_lie = NULL;
	if (rc == 0 && hb_hit(h, &hb_site_keys)) {
		/* By seed, not drawn: seeds 1..6 tell each once. */
		unsigned k = (unsigned)(h->wl->run->seed % (sizeof(lies) / sizeof(lies[0])));
		h->keys_lie = lies[k][0];
		rc = scn_xs_printf(h->xs, h->be_dir, lies[k][0], "%s", lies[k][1]);
		scn_wl_note(h->wl, h->be, "hostile back: %s = %s", lies[k][0], lies[k][1]);
	}
	return rc;
}

static int hb_connect(struct hb *h)
{
	unsigned long ref, evtchn;

	if (!hb_read(h, h->fe_dir, "ring-ref", &ref) || !hb_read(h, h->fe_dir, "event-channel", &evtchn))
		return -ENOENT;
	h->sring = xengnttab_map_grant_ref(h->gt, h->fe, (uint32_t)ref, PROT_READ | PROT_WRITE);
	h->xce = xenevtchn_open(NULL, 0);
	if (!h->sring || !h->xce)
		return -errno;
	BACK_RING_INIT(&h->ring, h->sring, HB_PAGE);
	xenevtchn_port_or_error_t port = xenevtchn_bind_interdomain(h->xce, h->fe, (evtchn_port_t)evtchn);
	if (port < 0)
		return -errno;
	h->port = (evtchn_port_t)port;
	h->ev_ev = scn_ev_new(sim_domain_event_base(), xenevtchn_fd(h->xce), EV_READ | EV_PERSIST, hb_evtchn, h);
	if (!h->ev_ev || event_add(h->ev_ev, NULL) < 0)
		return -ENOMEM;
	int rc = hb_disk_keys(h);
	rc = rc ? rc : hb_write(h, "state", XenbusStateConnected);
	h->phase = HB_CONNECTED;
	hb_count(h, HB_C_CONNECTS);
	return rc;
}

static void hb_fe_changed(struct hb *h)
{
	unsigned long st = XenbusStateUnknown;
	int rc = 0;

	if (!hb_read(h, h->fe_dir, "state", &st))
		st = XenbusStateUnknown;
	bool gone = st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown;
	if (h->phase == HB_INITWAIT && st == XenbusStateInitialised)
		rc = hb_connect(h);
	else if ((h->phase == HB_CONNECTED || h->phase == HB_INITWAIT) && gone) {
		hb_disconnect(h);
		rc = hb_write(h, "state", XenbusStateClosed);
		h->phase = HB_CLOSED;
	} else if (h->phase == HB_CLOSED && st == XenbusStateInitialising)
		rc = hb_initwait(h);
	if (rc < 0 && !scn_wl_finished(h->wl))
		scn_wl_error(h->wl, "hostile back (dom %u): handshake step failed: %s", h->be, strerror(-rc));
}

static void hb_xs_guarded(void *arg)
{
	struct hb *h = arg;
	char **ev;

	while ((ev = xs_check_watch(h->xs)) != NULL)
		free(ev);
	if (!scn_wl_finished(h->wl))
		hb_fe_changed(h);
}

static void hb_xs_event(evutil_socket_t fd, short what, void *arg)
{
	struct hb *h = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(h->wl, hb_xs_guarded, h);
}

static int hb_back_setup(void *arg)
{
	struct hb *h = arg;

	h->xs = xs_open(0);
	h->gt = xengnttab_open(NULL, 0);
	if (!h->xs || !h->gt)
		return -errno;
	int rc = hb_initwait(h);
	if (rc < 0)
		return rc;
	if (!xs_watch(h->xs, h->fe_state, "fe"))
		return -errno;
	h->xs_ev = scn_ev_new(sim_domain_event_base(), xs_fileno(h->xs), EV_READ | EV_PERSIST, hb_xs_event, h);
	return h->xs_ev && event_add(h->xs_ev, NULL) == 0 ? 0 : -ENOMEM;
}

static void hb_back_release(struct hb *h, bool alive)
{
	scn_ev_free(h->xs_ev, alive);
	scn_ev_free(h->ev_ev, alive);
	h->xs_ev = h->ev_ev = NULL;
	if (alive && h->sring)
		xengnttab_unmap(h->gt, h->sring, 1);
	h->sring = NULL;
	if (h->xce)
		xenevtchn_close(h->xce);
	if (h->gt)
		xengnttab_close(h->gt);
	if (h->xs)
		xs_close(h->xs);
	h->xce = NULL;
	h->gt = NULL;
	h->xs = NULL;
}

static int hb_back_teardown(void *arg)
{
	hb_back_release(arg, true);
	return 0;
}

/* ---- the guest: blkfront and blkwork ---- */

/* Every response with a status blkif.h lacks is an error of its request
 * (blkfront counts one per part): over one connection, none is lost, so
 * blkfront's error count covers them. true: the run failed. */
static bool hb_status_taken(struct hb *h)
{
	struct blkfront_stats fs;
	uint64_t bad = atomic_load(&h->bad_status);

	if (!h->bf || atomic_load(&h->c[HB_C_CONNECTS]) != 1)
		return false;
	blkfront_stats(h->bf, &fs);
	if (fs.io_errors >= bad)
		return false;
	scn_wl_fail(h->wl, "blkfront (dom %u) took %" PRIu64 " response(s) whose status blkif.h does not have "
		    "as success: %" PRIu64 " such statuses told, %" PRIu64 " I/O errors counted", h->fe,
		    bad - fs.io_errors, bad, (uint64_t)fs.io_errors);
	return true;
}

static void hb_finished(void *arg)
{
	struct hb *h = arg;
	struct blkwork_result r;

	blkwork_result(h->work, &r);
	atomic_store(&h->c[HB_C_DONE], r.done);
	atomic_store(&h->c[HB_C_IO_ERRORS], r.errors);
	if (r.mismatches)
		scn_wl_fail(h->wl, "data: blkfront completed a read as a success with wrong data: %s", r.failure);
	else if (h->bf && blkfront_error(h->bf))   /* its reason, not the I/O errors it caused */
		scn_wl_error(h->wl, "blkfront (dom %u) failed: %s", h->fe, blkfront_error(h->bf));
	else if (hb_status_taken(h))
		return;
	else if (atomic_load(&h->ro_writes))
		scn_wl_fail(h->wl, "blkfront (dom %u) sent %lu write(s) to vbd %u, published read-only (info %u)",
			    h->fe, (unsigned long)atomic_load(&h->ro_writes), h->devid, h->info);
	else if (r.errors && (!h->cont || r.failure[0]))
		scn_wl_error(h->wl, "%u I/O error(s) of %u I/Os: %s", r.errors, r.done, r.failure);
	else if (r.failure[0])
		scn_wl_fail(h->wl, "%s", r.failure);
	else
		scn_wl_done(h->wl);
}

static void hb_progress(void *arg, uint32_t done)
{
	atomic_store(&((struct hb *)arg)->c[HB_C_DONE], done);
}

/* At a connection: a disk description out of bounds must have been refused,
 * and a good one taken as told. */
static bool hb_view_bad(struct hb *h, struct blkfront *bf)
{
	struct blkfront_info in;

	if (blkfront_info(bf, &in) < 0)
		return false;
	if (h->keys_lie)
		scn_wl_fail(h->wl, "blkfront (dom %u) connected to backend dom %u whose %s was out of blkif.h's "
			    "bounds: it sees %" PRIu64 " bytes in %u-byte sectors", h->fe, h->be, h->keys_lie,
			    in.size_bytes, in.sector_size);
	else if (in.size_bytes != h->size || in.sector_size != 512)
		scn_wl_fail(h->wl, "blkfront (dom %u) sees %" PRIu64 " bytes in %u-byte sectors; backend dom %u "
			    "told %" PRIu64 " in 512", h->fe, in.size_bytes, in.sector_size, h->be, h->size);
	else if (in.readonly != !!(h->info & VDISK_READONLY))   /* blkif.h: the bit, whatever the others */
		scn_wl_fail(h->wl, "blkfront (dom %u) sees vbd %u %s; backend dom %u published info %u",
			    h->fe, h->devid, in.readonly ? "read-only" : "writable", h->be, h->info);
	else
		return false;
	return true;
}

static void hb_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct hb *h = arg;

	if (ev == BLKFRONT_EV_CONNECTED && hb_view_bad(h, bf))
		return;
	if (ev == BLKFRONT_EV_CONNECTED && !h->work) {
		int rc = blkwork_start(bf, &h->wcfg, &h->work);
		if (rc < 0)
			scn_wl_error(h->wl, "blkwork_start: %s", strerror(-rc));
	} else if (ev == BLKFRONT_EV_FAILED) {
		scn_blk_front_failed(h->wl, h->fe, bf);
	}
}

static int hb_front_open(void *arg)
{
	struct hb *h = arg;

	h->fcfg.base = sim_domain_event_base();
	return blkfront_open(&h->fcfg, &h->bf);
}

static int hb_front_close(void *arg)
{
	struct hb *h = arg;

	if (h->bf) {
		scn_wl_check_blkfront_pools(h->wl, h->fe, h->bf);
		blkfront_close(h->bf);
	}
	blkwork_free(h->work);
	h->bf = NULL;
	h->work = NULL;
	return 0;
}

/* ---- the workload ---- */

static void hb_configs(struct hb *h)
{
	struct scn_wl *wl = h->wl;

	h->cont = strcmp(scn_wl_s(wl, HB_P_ERRORS), "continue") == 0;
	bool ro = h->info & VDISK_READONLY;
	h->fcfg = (struct blkfront_config){.devid = h->devid, .persistent = scn_wl_u(wl, HB_P_PERSISTENT),
					   .indirect_segs_max = h->indirect, .on_event = hb_event, .arg = h};
	h->wcfg = (struct blkwork_config){
		.seed = scn_wl_seed(wl), .ios = (uint32_t)scn_wl_u(wl, HB_P_IOS),
		.queue_depth = (uint32_t)scn_wl_u(wl, HB_P_QD), .size_min = (uint32_t)scn_wl_u(wl, HB_P_MIN),
		.size_max = (uint32_t)scn_wl_u(wl, HB_P_MAX), .read_pct = ro ? 100 : 50, .flush_pct = ro ? 0 : 5,
		.verify_at_end = true, .continue_on_error = h->cont,
		.progress = hb_progress, .finished = hb_finished, .arg = h};
}

static void hb_device(struct hb *h)
{
	snprintf(h->vdev, sizeof(h->vdev), "%u", h->devid);
	snprintf(h->fe_dir, sizeof(h->fe_dir), "/local/domain/%u/device/vbd/%u", h->fe, h->devid);
	snprintf(h->fe_state, sizeof(h->fe_state), "%s/state", h->fe_dir);
	snprintf(h->be_dir, sizeof(h->be_dir), "/local/domain/%u/backend/vbd/%u/%u", h->be, h->fe, h->devid);
	const char *fe[] = {"virtual-device", h->vdev, "device-type", "disk", NULL};
	const char *bk[] = {"type", "hostile", "mode", "w", NULL};
	memcpy(h->fe_keys, fe, sizeof(fe));
	memcpy(h->be_keys, bk, sizeof(bk));
	h->dev = (struct xenbus_device){.type = "vbd", .fe_domid = h->fe, .be_domid = h->be, .devid = h->devid,
					.fe_keys = h->fe_keys, .be_keys = h->be_keys};
}

static int hb_start(struct scn_wl *wl)
{
	struct hb *h = calloc(1, sizeof(*h));
	int rc;

	if (!h)
		return -ENOMEM;
	wl->priv = h;
	h->wl = wl;
	h->fe = scn_wl_domid(wl, HB_P_FRONT);
	h->be = scn_wl_domid(wl, HB_P_BACK);
	scn_wl_hostile(wl, h->be);
	h->devid = (uint32_t)scn_wl_u(wl, HB_P_DEVID);
	h->size = scn_wl_u(wl, HB_P_SIZE);
	h->rng = scn_wl_seed(wl) | 1;
	h->fe_alive = h->be_alive = true;
	h->indirect = (unsigned)scn_wl_u(wl, HB_P_INDIRECT);
	h->info = (unsigned)scn_wl_u(wl, HB_P_INFO);
	h->reorder = scn_wl_u(wl, HB_P_REORDER);
	hb_configs(h);
	hb_device(h);
	unsigned segs = h->indirect > BLKIF_MAX_SEGMENTS_PER_REQUEST ? h->indirect : BLKIF_MAX_SEGMENTS_PER_REQUEST;
	h->buf = malloc((size_t)segs * HB_PAGE);
	h->copy = calloc(segs, sizeof(*h->copy));
	h->isegs = calloc(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST, HB_PAGE);
	if (!h->buf || !h->copy || !h->isegs)
		return -ENOMEM;
	rc = blk_store_ram_create(h->size, 512, &h->store);
	if (rc == 0)
		rc = scn_blk_toolstack(&h->dev, SCN_BLK_TS_CREATE);
	if (rc < 0)
		return rc;
	rc = scn_wl_call(wl, h->be, hb_back_setup, h);
	if (rc == 0)
		rc = scn_wl_call(wl, h->fe, hb_front_open, h);
	if (rc < 0)
		scn_wl_error(wl, "hostile back: set-up of vbd %u (dom %u -> dom %u) failed: %s", h->devid, h->fe,
			     h->be, strerror(-rc));
	return 0;
}

static void hb_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct hb *h = wl->priv;

	if (ev != SCN_DOM_CRASHED || (domid != h->fe && domid != h->be))
		return;
	if (domid == h->be) {
		h->be_alive = false;
		hb_back_release(h, false);
	} else {
		h->fe_alive = false;
		h->bf = NULL;
		h->work = NULL;
		/* A backend lets go of a dead frontend's ring (the zombie oracle). */
		if (h->be_alive && scn_wl_call(wl, h->be, hb_back_teardown, h) < 0)
			hb_back_release(h, false);
	}
	scn_wl_error(wl, "%s domain %u %s", domid == h->be ? "hostile back" : "front", domid,
		     scn_wl_gone(wl, domid));
}

static void hb_stop(struct scn_wl *wl)
{
	struct hb *h = wl->priv;

	/* The guest first: blkfront closes, then the back lets go of the ring. */
	if (h->fe_alive)
		scn_wl_call(wl, h->fe, hb_front_close, h);
	if (h->be_alive && scn_wl_call(wl, h->be, hb_back_teardown, h) < 0)
		hb_back_release(h, false);
	if (sim_domain_alive(0))
		scn_blk_toolstack(&h->dev, SCN_BLK_TS_REMOVE);
	blk_store_put(h->store);
	free(h->buf);
	free(h->copy);
	free(h->isegs);
	free(h);
}

static uint64_t hb_counter(struct scn_wl *wl, unsigned index)
{
	struct hb *h = wl->priv;

	return index < HB_C_COUNT ? atomic_load(&h->c[index]) : 0;
}

static int hb_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (a->u[HB_P_FRONT] == a->u[HB_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	if (a->u[HB_P_MIN] > a->u[HB_P_MAX]) {
		snprintf(err, len, "min= above max=");
		return -EINVAL;
	}
	if (strcmp(a->s[HB_P_ERRORS], "stop") != 0 && strcmp(a->s[HB_P_ERRORS], "continue") != 0) {
		snprintf(err, len, "errors=%s: stop or continue", a->s[HB_P_ERRORS]);
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_blk_hostile_back = {
	.name = "blk-hostile-back",
	.what = "a hostile blk backend (lies at its fault sites) serving the real blkfront, verified I/O",
	.params = hb_params,
	.counters = hb_counters,
	.validate = hb_validate,
	.start = hb_start,
	.domain_event = hb_domain_event,
	.stop = hb_stop,
	.counter = hb_counter,
};
