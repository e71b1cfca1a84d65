/*
 * Workload `blk-hostile-front`: a hostile block frontend against the real
 * blkback, written from io/blkif.h with Xen's API only (xengntshr for the
 * ring, data, indirect and read-only pages, xenevtchn, xs_* for the
 * handshake). It issues well-formed I/O to its own vbd (a disk of its own on
 * the backend domain's one blkback, which may serve well-behaved guests too)
 * and, when one of its fault sites fires, lies in that request:
 *
 *   blk.hostile.front.id       id out of range, stale, or another's in flight
 *   blk.hostile.front.op       an operation blkif.h does not have, a barrier
 *                              not offered, an indirect flush
 *   blk.hostile.front.nseg     0 segments, more than 11, more indirect ones
 *                              than offered (also a well-formed indirect
 *                              read of a few segments more than offered)
 *   blk.hostile.front.sect     first_sect > last_sect, last_sect > 7
 *   blk.hostile.front.sector   past the end of the disk; a discard whose
 *                              range wraps (in sectors or in bytes)
 *   blk.hostile.front.indirect an indirect page ref not granted, or bad
 *                              segments inside the indirect page
 *   blk.hostile.front.gref     a ref not granted, or a READ into a page
 *                              granted read-only
 *   blk.hostile.front.prod     req_prod jumps past the ring
 *   blk.hostile.front.keys     the handshake asks for a larger ring
 *                              (ring-page-order) than max-ring-page-order,
 *                              or (in turn) for no queue at all, or for one
 *                              queue more than offered, every queue's keys
 *                              valid (hostile_blk_front_keys.c)
 *   blk.hostile.front.rewrite  a published request made invalid, or its
 *                              READ/WRITE flipped, just after the
 *                              notification, while blkback may be reading it
 *                              (the double fetch of XSA-155)
 *
 * The oracle: the backend answers every request exactly once, echoing its id
 * (an error status for a lie, OKAY for what is well-formed, with the data
 * right), or disconnects the vbd (Closing/Closed), after which it maps none
 * of this domain's grants; it never maps more than a ring and its persistent
 * maximum; it never connects a ring larger than it offered; on a read-only
 * vbd (a mode without 'w': r, ro) the disk never changes. A backend that
 * faults, aborts or hangs fails the run through the engine's own oracles.
 * After a disconnect the front connects again (a fresh ring) and carries on.
 * All sites can be aimed: device vbd/<devid>, domain the guest or backend.
 */
#include "sim/evtchn/evtchn.h"
#include "sim/scenario/hostile_blk_front_internal.h"

SIM_FAULT_SITE(hf_site_id, "blk.hostile.front.id",
	       "hostile blk frontend: request id out of range, stale or duplicated");
SIM_FAULT_SITE(hf_site_op, "blk.hostile.front.op", "hostile blk frontend: a bad operation");
SIM_FAULT_SITE(hf_site_nseg, "blk.hostile.front.nseg",
	       "hostile blk frontend: 0 segments, more than 11, too many indirect ones");
SIM_FAULT_SITE(hf_site_sect, "blk.hostile.front.sect",
	       "hostile blk frontend: first_sect > last_sect or last_sect > 7");
SIM_FAULT_SITE(hf_site_sector, "blk.hostile.front.sector",
	       "hostile blk frontend: a request past the end of the disk");
SIM_FAULT_SITE(hf_site_indirect, "blk.hostile.front.indirect",
	       "hostile blk frontend: indirect page ref not granted, or bad segments in it");
SIM_FAULT_SITE(hf_site_gref, "blk.hostile.front.gref",
	       "hostile blk frontend: a ref not granted, or a READ into a read-only grant");
SIM_FAULT_SITE(hf_site_prod, "blk.hostile.front.prod", "hostile blk frontend: req_prod jumps past the ring");
SIM_FAULT_SITE(hf_site_keys, "blk.hostile.front.keys",
	       "hostile blk frontend: ring-page-order larger than the backend's max-ring-page-order");
SIM_FAULT_SITE(hf_site_protocol, "blk.hostile.front.protocol",
	       "hostile blk frontend: a protocol the backend does not know, 31 to 33 characters (its buffer's edge)");
SIM_FAULT_SITE(hf_site_restart, "blk.hostile.front.restart",
	       "hostile blk frontend: a new ring and port, Initialised again, as the backend connects to the old ones");
SIM_FAULT_SITE(hf_site_rewrite, "blk.hostile.front.rewrite",
	       "hostile blk frontend: a request rewritten after it was published (double fetch)");

static struct sim_fault_site *const hf_lie_sites[HF_LIE_COUNT] = {
	[HF_LIE_ID] = &hf_site_id, [HF_LIE_OP] = &hf_site_op, [HF_LIE_NSEG] = &hf_site_nseg,
	[HF_LIE_SECT] = &hf_site_sect, [HF_LIE_SECTOR] = &hf_site_sector,
	[HF_LIE_INDIRECT] = &hf_site_indirect, [HF_LIE_GREF] = &hf_site_gref,
};

enum hf_param { HF_P_FRONT, HF_P_BACK, HF_P_DEVID, HF_P_SIZE, HF_P_REQUESTS, HF_P_QD,
		HF_P_PERSISTENT, HF_P_MODE, HF_P_MUTE, HF_P_SECTOR, HF_P_COUNT };

static const struct scn_param hf_params[HF_P_COUNT + 1] = {
	[HF_P_FRONT] = {"front", SCN_P_DOMAIN, NULL, 0, 0, "the guest running the hostile frontend"},
	[HF_P_BACK] = {"back", SCN_P_DOMAIN, NULL, 0, 0, "the domain running blkback"},
	[HF_P_DEVID] = {"devid", SCN_P_UINT, "51728", 1, 1u << 28, "virtual device (51728: xvdb)"},
	[HF_P_SIZE] = {"size", SCN_P_SIZE, "1M", 256u << 10, 1ull << 30, "disk size"},
	[HF_P_REQUESTS] = {"requests", SCN_P_UINT, "200", 1, 1000000, "requests to send"},
	[HF_P_QD] = {"qd", SCN_P_UINT, "4", 1, HF_QD_MAX, "requests in flight"},
	[HF_P_PERSISTENT] = {"persistent", SCN_P_BOOL, "1", 0, 0, "ask for persistent grants"},
	[HF_P_MODE] = {"mode", SCN_P_STRING, "w", 0, 0,
		       "w, or r / ro: a read-only vbd (its disk must not change), written to the backend as is"},
	[HF_P_SECTOR] = {"sector", SCN_P_UINT, "512", 512, 4096,
			 "the disk's sector size (512 or 4096: a 512-byte-aligned part of a block is a lie)"},
	[HF_P_MUTE] = {"mute", SCN_P_BOOL, "0", 0, 0,
		       "never answer the backend's Closing (a hung guest): the backend must close by its timeout"},
};

static const char *const hf_counters[HF_C_COUNT + 1] = {
	"sent", "answered", "errors", "lies", "disconnects", "connects", "abandoned", "restarts", NULL,
};

/* ---- issuing ---- */

static void hf_issue_one(struct hf *h, unsigned slot)
{
	struct hf_slot *s = &h->slots[slot];
	union {
		blkif_request_t req;
		blkif_request_indirect_t ind;
	} u;
	bool indirect;
	enum hf_lie lie = HF_LIE_NONE;

	memset(&u, 0, sizeof(u));
	memset(s, 0, sizeof(*s));
	hfb_good(h, slot, &u.req, &u.ind, &indirect);
	s->expect = h->readonly && !s->read ? HF_EXPECT_REFUSED : HF_EXPECT_OK;
	for (unsigned l = HF_LIE_ID; l < HF_LIE_COUNT && lie == HF_LIE_NONE; l++)
		if (hf_hit(h, hf_lie_sites[l]))
			lie = (enum hf_lie)l;
	s->id = (h->next_seq + 1) << 8 | slot;
	if (lie != HF_LIE_NONE) {
		hf_count(h, HF_C_LIES);
		hfb_lie(h, slot, lie, &u.req, &u.ind, indirect);
		if (lie == HF_LIE_ID)
			hfb_lie_id(h, slot, &s->id);
	}
	u.req.id = s->id;   /* the same offset in every request layout */
	s->lie = lie;
	s->busy = true;
	s->seq = ++h->next_seq;
	s->idx = h->ring.req_prod_pvt;
	memcpy(RING_GET_REQUEST(&h->ring, h->ring.req_prod_pvt), &u, sizeof(u));
	h->ring.req_prod_pvt++;
	h->sent++;
	hf_count(h, HF_C_SENT);
}

/* The double fetch: change the last request published, in place. */
static void hf_rewrite(struct hf *h, unsigned slot)
{
	struct hf_slot *s = &h->slots[slot];
	blkif_request_t *req = RING_GET_REQUEST(&h->ring, s->idx);
	uint64_t v = hf_rand(h) % 4;

	uint8_t *bytes = (uint8_t *)req;

	if (v == 0 || v == 3) {
		s->rw_off = v == 0 ? offsetof(blkif_request_t, nr_segments) : offsetof(blkif_request_t, operation);
		s->rw_old = bytes[s->rw_off];
	}
	if (v == 0)
		req->nr_segments = 200;
	else if (v == 1)
		req->sector_number = UINT64_MAX - 7;
	else if (v == 2)
		req->seg[0].last_sect = 9;
	else if (s->read || s->write) {
		/* Still well-formed: a backend that checks one fetch and acts on
		 * another writes a read's stale pages to the disk, or reads into
		 * a write's; the echo says which one it served. */
		req->operation ^= BLKIF_OP_READ ^ BLKIF_OP_WRITE;
		s->flipped = true;
	}
	if (v == 0 || v == 3)
		s->rw_new = bytes[s->rw_off];
	s->expect = HF_EXPECT_EITHER;
	hf_count(h, HF_C_LIES);
}

static void hf_issue(struct hf *h)
{
	int last = -1;

	if (h->phase != HF_CONNECTED)
		return;
	for (unsigned i = 0; i < h->qd && h->sent < h->requests; i++)
		if (!h->slots[i].busy && !RING_FULL(&h->ring)) {
			hf_issue_one(h, i);
			last = (int)i;
		}
	if (last < 0)
		return;
	/* Always notify: a hostile front need not honour req_event. */
	RING_PUSH_REQUESTS(&h->ring);
	if (hf_hit(h, &hf_site_prod)) {
		hf_count(h, HF_C_LIES);
		h->sring->req_prod += RING_SIZE(&h->ring) + 1 + (RING_IDX)(hf_rand(h) % 64);
	}
	xenevtchn_notify(h->xce, h->port);
	/* The notification was a scheduling point: blkback may be reading it. */
	struct hf_slot *s = &h->slots[last];
	if (s->lie == HF_LIE_NONE && s->op != BLKIF_OP_INDIRECT && hf_hit(h, &hf_site_rewrite))
		hf_rewrite(h, (unsigned)last);
}

/* ---- responses ---- */

static struct hf_slot *hf_match(struct hf *h, uint64_t id)
{
	struct hf_slot *best = NULL;

	for (unsigned i = 0; i < h->qd; i++)
		if (h->slots[i].busy && h->slots[i].id == id && (!best || h->slots[i].seq < best->seq))
			best = &h->slots[i];
	return best;
}

static unsigned hf_busy(const struct hf *h)
{
	unsigned n = 0;

	for (unsigned i = 0; i < h->qd; i++)
		n += h->slots[i].busy;
	return n;
}

static void hf_forget_pages(struct hf *h, const struct hf_slot *s)
{
	for (uint32_t k = 0; k < s->npages && s->page + k < h->disk_pages; k++)
		h->model[s->page + k] = HF_UNKNOWN;
}

static void hf_forget_writes(struct hf *h, const struct hf_slot *s)
{
	if (s->write || s->flipped)
		hf_forget_pages(h, s);
}

/* A good read answered OKAY: the data must be what the model says. */
static bool hf_verify_read(struct hf *h, struct hf_slot *s)
{
	uint8_t want[HF_PAGE];
	unsigned slot = (unsigned)(s - h->slots);

	for (uint32_t k = 0; k < s->npages; k++) {
		uint32_t m = h->model[s->page + k];
		if (m == HF_UNKNOWN)
			continue;
		if (m)
			hf_pattern(h, m, s->page + k, want);
		else
			memset(want, 0, sizeof(want));
		if (memcmp(hf_page(h, slot, k), want, HF_PAGE) != 0) {
			scn_wl_fail(h->wl, "hostile front (dom %u): vbd %u page %u read back OKAY from backend "
				    "dom %u is not %s%u", h->fe, h->devid, s->page + k, h->be,
				    m ? "the data of write #" : "zeros", m);
			return false;
		}
	}
	return true;
}

static const char *const hf_lie_names[HF_LIE_COUNT] = {
	"none", "id", "op", "nseg", "sect", "sector", "indirect", "gref",
};

/* The response in ring slot idx as blkback wrote it: undo our own rewrite
 * of the request there if it came after the answer (it hit the id). */
static void hf_unrewrite(struct hf *h, RING_IDX idx, blkif_response_t *rsp)
{
	for (unsigned i = 0; i < h->qd; i++) {
		struct hf_slot *s = &h->slots[i];
		uint8_t *bytes = (uint8_t *)rsp;
		if (!s->busy || s->idx != idx || s->rw_new == s->rw_old || hf_match(h, rsp->id))
			continue;
		if (bytes[s->rw_off] == s->rw_new)
			bytes[s->rw_off] = s->rw_old;
	}
}

static bool hf_take(struct hf *h, const blkif_response_t *rsp)
{
	struct hf_slot *s = hf_match(h, rsp->id);

	if (!s) {
		scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u answered id %#lx, which is not "
			    "outstanding on vbd %u", h->fe, h->be, (unsigned long)rsp->id, h->devid);
		return false;
	}
	bool ok = rsp->status == BLKIF_RSP_OKAY;
	const char *why = NULL;
	if (!ok && rsp->status != BLKIF_RSP_ERROR && rsp->status != BLKIF_RSP_EOPNOTSUPP)
		why = "a status blkif.h does not have";
	/* blkif.h: EOPNOTSUPP is for an operation the backend may lack (a
	 * barrier, a flush, a discard, one it does not know); a read or a
	 * write is refused with ERROR, whatever was wrong with it. */
	else if (rsp->status == BLKIF_RSP_EOPNOTSUPP &&
		 (rsp->operation == BLKIF_OP_READ || rsp->operation == BLKIF_OP_WRITE))
		why = "EOPNOTSUPP for a read or a write (ERROR is the refusal of one)";
	else if (s->lie == HF_LIE_NONE && s->expect != HF_EXPECT_EITHER && rsp->operation != s->op &&
		 rsp->operation != s->alt_op)
		why = "an operation other than the request's";
	else if (ok && s->expect == HF_EXPECT_REFUSED)
		why = "OKAY for a request it had to refuse";
	else if (!ok && s->expect == HF_EXPECT_OK && !atomic_load(&blk_fault_io.injected))
		why = "an error for a well-formed request";
	if (why) {
		scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u answered id %#lx (lie %s, op %u) "
			    "with status %d op %u: %s", h->fe, h->be, (unsigned long)rsp->id,
			    hf_lie_names[s->lie], s->op, rsp->status, rsp->operation, why);
		return false;
	}
	/* What it served: the request as sent, or (flipped) the other op. */
	bool as_sent = !s->flipped || rsp->operation == s->op;
	bool rd = as_sent ? s->read : s->write, wr = as_sent ? s->write : s->read;
	if (ok && rd && !hf_verify_read(h, s))
		return false;
	if (ok && wr && as_sent && s->expect != HF_EXPECT_REFUSED)
		for (uint32_t k = 0; k < s->npages; k++)
			h->model[s->page + k] = s->tag;
	else if (wr || (s->write && !ok))
		hf_forget_pages(h, s);
	if (!ok)
		hf_count(h, HF_C_ERRORS);
	h->last_id = rsp->id;
	s->busy = false;
	hf_count(h, HF_C_ANSWERED);
	return true;
}

/* The backend maps at most our ring and its persistent maximum. */
static void hf_maps_check(struct hf *h, unsigned ring_pages)
{
	struct gnttab_stats st;

	if (sim_mode() != SIM_MODE_DET || scn_blk_front_users(h->fe, 0) != 1 || gnttab_stats(h->fe, &st) < 0)
		return;
	if (st.maps_active > ring_pages + h->pgrants_max)
		scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u maps %lu of its grants, more than "
			    "%u ring pages and %u persistent", h->fe, h->be, st.maps_active, ring_pages,
			    h->pgrants_max);
}

/* The bytes of a response that are no field (blkif.h's padding) must be
 * zero: anything else is the backend's memory (XSA-216). Read as bytes from
 * the slot with our own rewrite of the request undone, as hf_take sees it. */
static bool hf_padding_zero(struct hf *h, RING_IDX idx)
{
	blkif_response_t raw;
	const unsigned char *b = (const unsigned char *)&raw;

	memcpy(&raw, (const void *)RING_GET_RESPONSE(&h->ring, idx), sizeof(raw));
	hf_unrewrite(h, idx, &raw);
	for (size_t i = 0; i < sizeof(raw); i++) {
		bool field = i < sizeof(raw.id) ||
			     (i >= offsetof(blkif_response_t, operation) &&
			      i < offsetof(blkif_response_t, operation) + sizeof(raw.operation)) ||
			     (i >= offsetof(blkif_response_t, status) &&
			      i < offsetof(blkif_response_t, status) + sizeof(raw.status));
		if (!field && b[i] != 0) {
			scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u's response %u (id %#lx) has "
				    "padding byte %zu = %#x, not zero: backend memory leaked (XSA-216)", h->fe,
				    h->be, idx, (unsigned long)raw.id, i, b[i]);
			return false;
		}
	}
	return true;
}

static void hf_finish(struct hf *h);
static void hf_done(struct hf *h);

static void hf_consume(struct hf *h)
{
	int more;

	if (h->phase != HF_CONNECTED)
		return;
	do {
		RING_IDX rp = h->sring->rsp_prod;
		xen_rmb();   /* responses are read after the index that publishes them */
		if (rp - h->ring.rsp_cons > hf_busy(h)) {
			scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u's rsp_prod %u claims %u "
				    "responses, %u requests outstanding", h->fe, h->be, rp,
				    rp - h->ring.rsp_cons, hf_busy(h));
			return;
		}
		while (h->ring.rsp_cons != rp) {
			blkif_response_t rsp;
			RING_COPY_RESPONSE(&h->ring, h->ring.rsp_cons, &rsp);
			hf_unrewrite(h, h->ring.rsp_cons, &rsp);
			if (!hf_padding_zero(h, h->ring.rsp_cons))
				return;
			h->ring.rsp_cons++;
			if (!hf_take(h, &rsp))
				return;
		}
		hf_maps_check(h, 1);
		hf_issue(h);
		RING_FINAL_CHECK_FOR_RESPONSES(&h->ring, more);
	} while (more && h->phase == HF_CONNECTED);
	if (h->sent == h->requests && !hf_busy(h))
		hf_finish(h);
}

static void hf_consume_guarded(void *arg)
{
	struct hf *h = arg;

	if (!scn_wl_finished(h->wl))
		hf_consume(h);
}

static void hf_evtchn(evutil_socket_t fd, short what, void *arg)
{
	struct hf *h = arg;

	(void)fd;
	(void)what;
	xenevtchn_port_or_error_t port = xenevtchn_pending(h->xce);
	if (port < 0)
		return;
	xenevtchn_unmask(h->xce, (evtchn_port_t)port);
	scn_wl_guard(h->wl, hf_consume_guarded, h);
}

/* ---- the connection ---- */

static int hf_xs_write(struct hf *h, const char *key, unsigned long v)
{
	return scn_xs_printf(h->xs, h->fe_dir, key, "%lu", v);
}

static bool hf_xs_uint(struct hf *h, const char *key, unsigned long *out)
{
	char v[SCN_XS_VALUE_MAX];
	bool ok = scn_xs_gets(h->xs, h->be_dir, key, v, sizeof(v)) == 0;

	if (ok)
		*out = strtoul(v, NULL, 10);
	return ok;
}

static void hf_ring_release(struct hf *h)
{
	scn_ev_free(h->ev_ev, true);
	h->ev_ev = NULL;
	if (h->xce)
		xenevtchn_close(h->xce);
	h->xce = NULL;
	if (h->sring)
		xengntshr_unshare(h->gs, h->sring, 1);
	h->sring = NULL;
	hfk_release(h, true);
}

/* The ring's keys: one ring-ref, or (the keys lie) a ring-page-order past
 * the backend's max-ring-page-order, every ring-refN naming our one page,
 * or (in turn) a queue count of 0 or one past the offer. */
static int hf_ring_keys(struct hf *h)
{
	int rc;

	h->order_max = 0;
	h->order_lie = 0;
	h->queues_lie = false;
	hfk_clean(h);
	if (!hf_hit(h, &hf_site_keys))
		return hf_xs_write(h, "ring-ref", h->ring_ref);
	unsigned turn = h->keys_lies++ % 3;
	if (turn)
		return hfk_queues_lie(h, turn);
	hf_xs_uint(h, "max-ring-page-order", &h->order_max);
	if (h->order_max >= HF_RING_ORDER_LIE_MAX)
		return hf_xs_write(h, "ring-ref", h->ring_ref);
	hf_count(h, HF_C_LIES);
	h->order_lie = (unsigned)h->order_max + 1 +
		       (unsigned)(hf_rand(h) % (HF_RING_ORDER_LIE_MAX - h->order_max));
	rc = hf_xs_write(h, "ring-page-order", h->order_lie);
	for (unsigned i = 0; rc == 0 && i < 1u << h->order_lie; i++) {
		char key[24];
		snprintf(key, sizeof(key), "ring-ref%u", i);
		rc = hf_xs_write(h, key, h->ring_ref);
	}
	return rc;
}

/* The protocol key: the native ABI, or (the protocol lie) an unknown ABI of
 * 31, 32 and 33 characters in turn, at the edge of what a backend reads into a fixed
 * buffer; blkif.h knows three protocols, so it must refuse it. */
static int hf_protocol(struct hf *h)
{
	h->proto_lie[0] = '\0';
	if (!hf_hit(h, &hf_site_protocol))
		return scn_xs_printf(h->xs, h->fe_dir, "protocol", "%s", XEN_IO_PROTO_ABI_NATIVE);
	hf_count(h, HF_C_LIES);
	int n = 31 + (int)(h->proto_lies++ % 3);   /* below, at, past a 32-byte buffer in turn */
	snprintf(h->proto_lie, sizeof(h->proto_lie), "%s-%.*s", XEN_IO_PROTO_ABI_NATIVE,
		 n - (int)strlen(XEN_IO_PROTO_ABI_NATIVE) - 1, "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz");
	return scn_xs_printf(h->xs, h->fe_dir, "protocol", "%s", h->proto_lie);
}

/* Connected after the keys or protocol lie: the backend took a ring it
 * never offered, or an ABI it does not speak. */
static bool hf_order_took(struct hf *h)
{
	if (h->proto_lie[0]) {
		scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u connected vbd %u with protocol '%s' "
			    "(%zu characters), which it does not know", h->fe, h->be, h->devid, h->proto_lie,
			    strlen(h->proto_lie));
		return true;
	}
	if (h->queues_lie) {
		scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u connected vbd %u with "
			    "multi-queue-num-queues %u, out of 1..multi-queue-max-queues", h->fe, h->be, h->devid,
			    h->queues_asked);
		return true;
	}
	if (!h->order_lie)
		return false;
	scn_wl_fail(h->wl, "hostile front (dom %u): backend dom %u connected vbd %u with ring-page-order %u, "
		    "more than the max-ring-page-order %lu it offered", h->fe, h->be, h->devid, h->order_lie,
		    h->order_max);
	return true;
}

/* A fresh ring page and event channel (not published yet). */
static int hf_ring_new(struct hf *h)
{
	h->sring = xengntshr_share_pages(h->gs, h->be, 1, &h->ring_ref, 1);
	h->xce = xenevtchn_open(NULL, 0);
	if (!h->sring || !h->xce)
		return -errno;
	SHARED_RING_INIT(h->sring);
	FRONT_RING_INIT(&h->ring, h->sring, HF_PAGE);
	xenevtchn_port_or_error_t port = xenevtchn_bind_unbound_port(h->xce, h->be);
	if (port < 0)
		return -errno;
	h->port = (evtchn_port_t)port;
	h->ev_ev = scn_ev_new(sim_domain_event_base(), xenevtchn_fd(h->xce), EV_READ | EV_PERSIST, hf_evtchn, h);
	if (!h->ev_ev || event_add(h->ev_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

/* InitWait: a fresh ring and channel, published; Initialised. */
static int hf_publish(struct hf *h)
{
	unsigned long ind = 0;
	int rc;

	hf_xs_uint(h, "feature-max-indirect-segments", &ind);
	h->indirect_max = (unsigned)ind;
	rc = hf_ring_new(h);
	rc = rc ? rc : hf_ring_keys(h);
	rc = rc ? rc : hf_xs_write(h, "event-channel", h->port);
	rc = rc ? rc : hf_xs_write(h, "feature-persistent", h->persistent);
	rc = rc ? rc : hf_protocol(h);
	rc = rc ? rc : hf_xs_write(h, "state", XenbusStateInitialised);
	h->phase = HF_WAIT_CONNECTED;
	if (rc == 0 && hf_hit(h, &hf_site_restart))
		atomic_store(&h->restart_want, true);   /* hf_check watches the backend bind */
	return rc;
}

/* The new ring's keys and Initialised again, in one transaction. */
/* -EALREADY: the backend announced Connected first (our transaction read
 * its state, so an announce racing our commit makes the commit retry). */
static int hf_rekey_tx(struct hf *h)
{
	static const char *const keys[] = {"ring-ref", "event-channel", "state"};
	unsigned long v[] = {h->ring_ref, h->port, XenbusStateInitialised};

	for (;;) {
		xs_transaction_t t = xs_transaction_start(h->xs);
		bool ok = t != XBT_NULL, late = false;
		char *be = ok ? xs_read(h->xs, t, h->be_state, NULL) : NULL;
		if (be)
			late = strtoul(be, NULL, 10) == XenbusStateConnected;
		free(be);
		for (unsigned i = 0; ok && !late && i < sizeof(keys) / sizeof(keys[0]); i++) {
			char path[SCN_XS_PATH_MAX], val[24];
			snprintf(path, sizeof(path), "%s/%s", h->fe_dir, keys[i]);
			snprintf(val, sizeof(val), "%lu", v[i]);
			ok = xs_write(h->xs, t, path, val, (unsigned)strlen(val));
		}
		if (t != XBT_NULL && xs_transaction_end(h->xs, t, !ok || late))
			return late ? -EALREADY : ok ? 0 : -EIO;
		if (t == XBT_NULL || errno != EAGAIN)
			return -errno;
	}
}

/* What a restart replaces, kept until the new keys are published. */
struct hf_ring_saved {
	struct event *ev;
	xenevtchn_handle *xce;
	void *sring;
	uint32_t ring_ref;
	evtchn_port_t port;
	blkif_front_ring_t ring;
};

static void hf_ring_swap(struct hf *h, struct hf_ring_saved *o)
{
	struct hf_ring_saved cur = {h->ev_ev, h->xce, h->sring, h->ring_ref, h->port, h->ring};

	h->ev_ev = o->ev;
	h->xce = o->xce;
	h->sring = o->sring;
	h->ring_ref = o->ring_ref;
	h->port = o->port;
	h->ring = o->ring;
	*o = cur;
}

/* The front starts over while the backend connects (a guest's driver
 * restarting mid-handshake, its Closed and Initialising coalesced away as
 * watch events may be): a new ring and port, published with Initialised in
 * one transaction, the moment the backend has bound the old port. The
 * backend must end up serving the new ring: a connection is made from the
 * keys as they are when it announces Connected. A backend that announced
 * first (the front was paused, say) keeps the old ring: too late. */
static void hf_restart_guarded(void *arg)
{
	struct hf *h = arg;
	struct hf_ring_saved old = {0};

	atomic_store(&h->restart_posted, false);
	if (!atomic_exchange(&h->restart_want, false) || h->phase != HF_WAIT_CONNECTED)
		return;   /* connected already: too late for this one */
	hf_ring_swap(h, &old);   /* h's ring is empty now, old holds it */
	int rc = hf_ring_new(h);
	rc = rc ? rc : hf_rekey_tx(h);
	if (rc == -EALREADY)
		hf_ring_swap(h, &old);   /* back to the announced ring; old holds the new one */
	else
		hf_count(h, HF_C_RESTARTS);
	scn_ev_free(old.ev, true);
	xenevtchn_close(old.xce);
	xengntshr_unshare(h->gs, old.sring, 1);
	if (rc < 0 && rc != -EALREADY)
		scn_wl_error(h->wl, "hostile front (dom %u): publishing a new ring failed: %s", h->fe, strerror(-rc));
}

static void hf_restart_now(void *arg)
{
	struct hf *h = arg;

	scn_wl_guard(h->wl, hf_restart_guarded, h);
}

/* The backend closed on us: what was in flight is lost (its writes may or
 * may not have landed). */
static void hf_disconnected(struct hf *h)
{
	for (unsigned i = 0; i < h->qd; i++)
		if (h->slots[i].busy) {
			hf_forget_writes(h, &h->slots[i]);
			h->slots[i].busy = false;
			hf_count(h, HF_C_ABANDONED);
		}
	hf_count(h, HF_C_DISCONNECTS);
	if (!h->mute)   /* mute: the backend must get to Closed without us */
		hf_xs_write(h, "state", XenbusStateClosed);
	h->phase = HF_WAIT_CLOSED;
}

/* Closed: nothing of ours may stay mapped; then connect again or end. */
static void hf_closed(struct hf *h)
{
	struct gnttab_stats st;

	if (sim_mode() == SIM_MODE_DET && scn_blk_front_users(h->fe, 0) == 1 && gnttab_stats(h->fe, &st) == 0 &&
	    st.maps_active) {
		scn_wl_fail(h->wl, "hostile front (dom %u): vbd %u disconnected, yet backend dom %u still "
			    "maps %lu of its grants", h->fe, h->devid, h->be, st.maps_active);
		return;
	}
	hf_ring_release(h);
	if (h->mute)   /* Connected -> Initialising would be illegal */
		hf_xs_write(h, "state", XenbusStateClosed);
	if (h->sent >= h->requests || ++h->reconnects > HF_RECONNECTS_MAX) {
		hf_finish(h);
		return;
	}
	hf_xs_write(h, "state", XenbusStateInitialising);
	h->phase = HF_WAIT_INITWAIT;
}

static void hf_state_changed(struct hf *h)
{
	unsigned long st = XenbusStateUnknown, sectors;

	if (!hf_xs_uint(h, "state", &st))
		st = XenbusStateUnknown;
	bool closing = st == XenbusStateClosing || st == XenbusStateClosed || st == XenbusStateUnknown;
	if (h->phase == HF_WAIT_INITWAIT && st == XenbusStateInitWait) {
		if (hf_publish(h) < 0)
			scn_wl_error(h->wl, "hostile front (dom %u): publishing the ring failed: %s", h->fe,
				     strerror(errno));
	} else if (h->phase == HF_WAIT_CONNECTED && st == XenbusStateConnected) {
		unsigned long discard = 0;
		if (hf_order_took(h))
			return;
		h->sectors = hf_xs_uint(h, "sectors", &sectors) ? sectors : 0;
		h->discard = hf_xs_uint(h, "feature-discard", &discard) && discard;
		h->phase = HF_CONNECTED;
		hf_count(h, HF_C_CONNECTS);
		hf_maps_check(h, 1);
		hf_issue(h);
	} else if ((h->phase == HF_CONNECTED || h->phase == HF_WAIT_CONNECTED) && closing) {
		hf_disconnected(h);
		if (st == XenbusStateClosed || st == XenbusStateUnknown)
			hf_closed(h);
	} else if (h->phase == HF_LEAVING && closing) {
		hf_xs_write(h, "state", XenbusStateClosed);
		hf_done(h);
	} else if (h->phase == HF_WAIT_CLOSED && (st == XenbusStateClosed || st == XenbusStateUnknown)) {
		hf_closed(h);
	}
}

static void hf_xs_guarded(void *arg)
{
	struct hf *h = arg;
	char **ev;

	while ((ev = xs_check_watch(h->xs)) != NULL)
		free(ev);
	if (!scn_wl_finished(h->wl) && h->phase != HF_FINISHED)
		hf_state_changed(h);
}

static void hf_xs_event(evutil_socket_t fd, short what, void *arg)
{
	struct hf *h = arg;

	(void)fd;
	(void)what;
	scn_wl_guard(h->wl, hf_xs_guarded, h);
}

static void hf_done(struct hf *h)
{
	h->phase = HF_FINISHED;
	if (h->readonly && scn_blk_disk_sum(h->store) != h->sum_start) {
		scn_wl_fail(h->wl, "read-only vbd %u (dom %u -> dom %u): the disk's content changed under a "
			    "hostile frontend", h->devid, h->fe, h->be);
		return;
	}
	if (scn_blk_disk_refused(h->store)) {   /* a lie blkback passed on to its disk */
		scn_wl_fail(h->wl, "vbd %u (dom %u -> dom %u): the disk refused %lu I/O(s) out of its range or "
			    "alignment: blkback passed on requests it should have refused", h->devid, h->fe, h->be,
			    scn_blk_disk_refused(h->store));
		return;
	}
	scn_wl_done(h->wl);
}

/* Every request answered. A connected front leaves as a guest shutting
 * down does (XenbusState: Closing, the backend follows to Closing, then
 * Closed): a backend that does not follow leaves the run hanging. */
static void hf_finish(struct hf *h)
{
	if (h->phase != HF_CONNECTED) {
		hf_done(h);
		return;
	}
	h->phase = HF_LEAVING;
	hf_xs_write(h, "state", XenbusStateClosing);
}

static int hf_setup(void *arg)
{
	struct hf *h = arg;
	unsigned pages = h->qd * HF_SLOT_PAGES;

	h->xs = xs_open(0);
	h->gs = xengntshr_open(NULL, 0);
	if (!h->xs || !h->gs)
		return -errno;
	h->data = xengntshr_share_pages(h->gs, h->be, (int)pages, h->data_refs, 1);
	h->ro = xengntshr_share_pages(h->gs, h->be, 1, &h->ro_ref, 0);
	if (!h->data || !h->ro)
		return -errno;
	memset(h->ro, 0x5a, HF_PAGE);
	if (!xs_watch(h->xs, h->be_state, "be"))
		return -errno;
	h->xs_ev = scn_ev_new(sim_domain_event_base(), xs_fileno(h->xs), EV_READ | EV_PERSIST, hf_xs_event, h);
	if (!h->xs_ev || event_add(h->xs_ev, NULL) < 0)
		return -ENOMEM;
	h->phase = HF_WAIT_INITWAIT;
	return 0;
}

/* On the guest's thread (alive) or after it died. */
static void hf_release(struct hf *h, bool alive)
{
	scn_ev_free(h->xs_ev, alive);
	scn_ev_free(h->ev_ev, alive);
	h->xs_ev = h->ev_ev = NULL;
	if (alive && h->sring)
		xengntshr_unshare(h->gs, h->sring, 1);
	if (alive && h->data)
		xengntshr_unshare(h->gs, h->data, h->qd * HF_SLOT_PAGES);
	if (alive && h->ro)
		xengntshr_unshare(h->gs, h->ro, 1);
	hfk_release(h, alive);
	h->sring = NULL;
	h->data = h->ro = NULL;
	if (h->xce)
		xenevtchn_close(h->xce);
	if (h->gs)
		xengntshr_close(h->gs);
	if (h->xs)
		xs_close(h->xs);
	h->xce = NULL;
	h->gs = NULL;
	h->xs = NULL;
}

static int hf_teardown(void *arg)
{
	struct hf *h = arg;

	/* Closed first, so that the backend lets go of the ring. */
	if (h->xs)
		hf_xs_write(h, "state", XenbusStateClosed);
	hf_release(h, true);
	return 0;
}

/* ---- the workload ---- */

static void hf_device(struct hf *h)
{
	snprintf(h->vdev, sizeof(h->vdev), "%u", h->devid);
	snprintf(h->disk, sizeof(h->disk), "scn-%s", h->wl->id);
	snprintf(h->fe_dir, sizeof(h->fe_dir), "/local/domain/%u/device/vbd/%u", h->fe, h->devid);
	snprintf(h->be_dir, sizeof(h->be_dir), "/local/domain/%u/backend/vbd/%u/%u", h->be, h->fe, h->devid);
	snprintf(h->be_state, sizeof(h->be_state), "%s/state", h->be_dir);
	const char *fe[] = {"virtual-device", h->vdev, "device-type", "disk", NULL};
	const char *bk[] = {"params", h->disk, "type", "ram", "mode", h->mode, NULL};
	memcpy(h->fe_keys, fe, sizeof(fe));
	memcpy(h->be_keys, bk, sizeof(bk));
	h->dev = (struct xenbus_device){.type = "vbd", .fe_domid = h->fe, .be_domid = h->be, .devid = h->devid,
					.fe_keys = h->fe_keys, .be_keys = h->be_keys};
}

static int hf_start(struct scn_wl *wl)
{
	struct hf *h = calloc(1, sizeof(*h));
	struct blkback_config cfg;

	if (!h)
		return -ENOMEM;
	wl->priv = h;
	*h = (struct hf){.wl = wl, .fe = scn_wl_domid(wl, HF_P_FRONT), .be = scn_wl_domid(wl, HF_P_BACK),
			 .devid = (uint32_t)scn_wl_u(wl, HF_P_DEVID), .alive = true,
			 .requests = (uint32_t)scn_wl_u(wl, HF_P_REQUESTS), .qd = (uint32_t)scn_wl_u(wl, HF_P_QD),
			 .persistent = scn_wl_u(wl, HF_P_PERSISTENT), .mute = scn_wl_u(wl, HF_P_MUTE),
			 .readonly = strchr(scn_wl_s(wl, HF_P_MODE), 'w') == NULL,
			 .rng = scn_wl_seed(wl) | 1};
	scn_wl_hostile(wl, h->fe);
	snprintf(h->mode, sizeof(h->mode), "%s", scn_wl_s(wl, HF_P_MODE));
	h->disk_pages = (uint32_t)(scn_wl_u(wl, HF_P_SIZE) / HF_PAGE);
	h->region = h->disk_pages / h->qd;
	scn_blk_front_users(h->fe, 1);
	hf_device(h);
	h->block_sectors = (unsigned)(scn_wl_u(wl, HF_P_SECTOR) / 512);
	struct scn_blk_disk_opts o = {.size_bytes = scn_wl_u(wl, HF_P_SIZE),
				      .sector_size = (uint32_t)scn_wl_u(wl, HF_P_SECTOR),
				      .slow_ns = 1000000, .devid = h->devid, .fe = h->fe};
	h->model = calloc(h->disk_pages, sizeof(*h->model));
	int rc = h->model ? scn_blk_disk_new(&o, &h->store) : -ENOMEM;
	if (rc < 0)
		return rc;
	h->sum_start = scn_blk_disk_sum(h->store);
	rc = scn_blk_backend_get(wl, h->be, NULL, h->disk, h->store);
	if (rc < 0)
		return scn_wl_finished(wl) ? 0 : rc;
	h->be_ref = true;
	/* Persistent maps need both ends to say feature-persistent (blkif.h). */
	h->pgrants_max = scn_blk_backend_config(h->be, &cfg) && cfg.persistent && h->persistent
				 ? cfg.persistent_grants_max : 0;
	rc = scn_blk_toolstack(&h->dev, SCN_BLK_TS_CREATE);
	if (rc == 0)
		rc = scn_wl_call(wl, h->fe, hf_setup, h);
	if (rc < 0)
		scn_wl_error(wl, "hostile front (dom %u): set-up of vbd %u failed: %s", h->fe, h->devid,
			     strerror(-rc));
	return 0;
}

static void hf_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct hf *h = wl->priv;

	if (domid == h->be && ev == SCN_DOM_CRASHED)
		scn_blk_backend_crashed(domid);
	if (ev != SCN_DOM_CRASHED || (domid != h->fe && domid != h->be))
		return;
	if (domid == h->fe) {
		h->alive = false;
		hf_release(h, false);
	}
	scn_wl_error(wl, "%s domain %u %s", domid == h->fe ? "hostile front" : "backend", domid,
		     scn_wl_gone(wl, domid));
}

/* Harness thread, after every slice: a restart asked for goes to the front
 * the moment the backend has mapped the ring and bound the port, i.e. inside
 * its connect, before it announces. */
static void hf_check(struct scn_wl *wl)
{
	struct hf *h = wl->priv;
	struct gnttab_stats st;

	domid_t peer = DOMID_INVALID;

	if (!atomic_load(&h->restart_want) || atomic_load(&h->restart_posted) || !h->alive ||
	    gnttab_stats(h->fe, &st) < 0 || st.maps_active == 0 ||
	    evtchn_port_status(h->fe, h->port, &peer, NULL) != EVTCHNSTAT_interdomain)
		return;
	atomic_store(&h->restart_posted, true);
	if (sim_domain_post(h->fe, hf_restart_now, h) < 0)
		atomic_store(&h->restart_posted, false);
}

static void hf_stop(struct scn_wl *wl)
{
	struct hf *h = wl->priv;

	if (h->alive && scn_wl_call(wl, h->fe, hf_teardown, h) < 0)
		hf_release(h, false);
	if (h->be_ref)
		scn_blk_backend_put(wl, h->be);
	if (sim_domain_alive(0))
		scn_blk_toolstack(&h->dev, SCN_BLK_TS_REMOVE);
	scn_blk_front_users(h->fe, -1);
	blk_store_put(h->store);
	free(h->model);
	free(h);
}

static uint64_t hf_counter(struct scn_wl *wl, unsigned index)
{
	struct hf *h = wl->priv;

	return index < HF_C_COUNT ? atomic_load(&h->c[index]) : 0;
}

static int hf_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (a->u[HF_P_FRONT] == a->u[HF_P_BACK]) {
		snprintf(err, len, "front and back must be different domains");
		return -EINVAL;
	}
	if (a->u[HF_P_SIZE] / HF_PAGE / a->u[HF_P_QD] < HF_SEGS_MAX) {
		snprintf(err, len, "size= too small: %u pages per request slot at least", HF_SEGS_MAX);
		return -EINVAL;
	}
	if (strcmp(a->s[HF_P_MODE], "r") != 0 && strcmp(a->s[HF_P_MODE], "ro") != 0 &&
	    strcmp(a->s[HF_P_MODE], "w") != 0) {
		snprintf(err, len, "mode=%s: r, ro or w", a->s[HF_P_MODE]);
		return -EINVAL;
	}
	if (a->u[HF_P_SECTOR] != 512 && a->u[HF_P_SECTOR] != 4096) {
		snprintf(err, len, "sector=%lu: 512 or 4096", a->u[HF_P_SECTOR]);
		return -EINVAL;
	}
	return 0;
}

const struct scn_wl_type scn_wl_blk_hostile_front = {
	.name = "blk-hostile-front",
	.what = "a hostile blk frontend (lies at its fault sites) against the real blkback",
	.params = hf_params,
	.counters = hf_counters,
	.validate = hf_validate,
	.start = hf_start,
	.domain_event = hf_domain_event,
	.check = hf_check,
	.stop = hf_stop,
	.counter = hf_counter,
};
