/*
 * fuzz_blkback: the input is what a hostile frontend puts in front of the
 * real blkback (drivers/blk), on the real sim (grant tables, event channels,
 * xenstore; dom0 and guest1, free mode, both loops run by the fuzzer's thread:
 * fuzz/world.h). Set up once per process:
 * blkback in dom0 over a 4 MiB ram disk (indirect segments, flush, barrier,
 * discard offered; persistent grants declined by the frontend, so that every
 * map must be undone by the time a request is answered), and a raw frontend
 * in guest1 sharing a one-page ring, FBF_DATA_PAGES data pages and
 * FBF_IND_PAGES pages for indirect segment lists.
 *
 * Input layout:
 *   [0]      flags: bits 0 and 1 both set = req_prod is rsp_prod + le32 at [1..4] (a lying
 *            producer index), else the number of requests written
 *   [1..4]   that le32
 *   [5]      n: requests to write (at most the ring size)
 *   then     n * 112 bytes: the requests, copied into the ring's next slots
 *   then     the rest: the indirect pages' bytes
 * A grant reference below FBF_REF_ALIASES in a segment, an indirect_grefs
 * entry or an indirect page's segment is replaced by the ref of one of our
 * shared pages (ref % (data + indirect pages)): the frontend names its own
 * grants; other values are passed as they are (grants that do not exist).
 *
 * Invariants after each input: within FBF_WAIT_MS the backend answers every
 * request or disconnects the frontend (never hangs, never crashes); each
 * response carries an id and operation of a request sent in this input and a
 * BLKIF_RSP_* status; once all are answered dom0 holds no map of guest1's
 * grants beyond the ring's; gnttab_check/evtchn_check/xs_store_check hold.
 * A disconnected frontend reconnects (Closed, Initialising) before the next.
 * An input that writes nothing and does not lie sends no event: a run of
 * empty events is a storm that blkback rightly damps (late unmask, up to
 * XENBUS_EVTCHN_DELAY_US_MAX), which would cost the next inputs real time.
 */
#include <errno.h>
#include <string.h>

#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkstore.h"
#include "drivers/xenbus/xenbus.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/world.h"
#include "sim/gnttab/gnttab.h"

#define FBF_DEVID 51712u
#define FBF_PAGE 4096u
#define FBF_DATA_PAGES 8u
#define FBF_IND_PAGES 2u
#define FBF_PAGES (FBF_DATA_PAGES + FBF_IND_PAGES)
#define FBF_REF_ALIASES 64u        /* refs below this name one of our pages */
#define FBF_HDR 6u
#define FBF_RING_SIZE __CONST_RING_SIZE(blkif, FBF_PAGE)

struct fbf {
	struct xenbus *xb;
	struct xenbus_otherend back;
	xengntshr_handle *gs;
	struct xenbus_evtchn *ch;
	blkif_sring_t *sring;
	uint32_t ring_ref;
	blkif_front_ring_t ring;
	uint8_t *pages;                   /* data pages, then indirect pages */
	uint32_t refs[FBF_PAGES];
	bool connected;
	bool keys_written;                /* protocol, feature-persistent: once */
};

static struct fbf fbf;
static struct blkback *fbf_bb;
static struct blk_store *fbf_disk;
static char fbf_fe_dir[64], fbf_be_dir[128];
static const char fbf_dir[] = "device/vbd/51712";   /* guest1's relative path */

/* ==== the frontend, guest1 ==== */

static bool fbf_event(void *arg)
{
	(void)arg;
	return true;   /* we poll rsp_prod */
}

static int fbf_open_fn(void *arg)
{
	struct fbf *f = arg;
	int rc = xenbus_open(fw_base(1), &f->xb);

	if (rc == 0)
		rc = xenbus_frontend_lookup(xenbus_xs(f->xb), "vbd", FBF_DEVID, &f->back);
	if (rc < 0)
		return rc;
	f->gs = xengntshr_open(NULL, 0);
	f->pages = f->gs ? xengntshr_share_pages(f->gs, 0, FBF_PAGES, f->refs, 1) : NULL;
	return f->pages ? 0 : -ENOMEM;
}

/* The peer's own xenstore writes are plain writes, one request each: a
 * state switch in a transaction (xenbus_state_switch: start, read, write,
 * end) is what a driver owes its peer, not what a harness must pay on every
 * reconnect. The keys that never change stay in the frontend's directory
 * (nothing removes them) and are written once. */
static int fbf_state_write(struct fbf *f, XenbusState st)
{
	return xenbus_write_fmt(xenbus_xs(f->xb), XBT_NULL, fbf_dir, "state", "%u", (unsigned)st);
}

static int fbf_publish_fn(void *arg)
{
	struct fbf *f = arg;
	struct xs_handle *xs = xenbus_xs(f->xb);

	f->sring = xengntshr_share_pages(f->gs, 0, 1, &f->ring_ref, 1);
	if (!f->sring)
		return -ENOMEM;
	SHARED_RING_INIT(f->sring);
	FRONT_RING_INIT(&f->ring, f->sring, FBF_PAGE);
	if (xenbus_evtchn_alloc(xenbus_base(f->xb), 0, fbf_event, f, &f->ch) < 0)
		return -ENOSPC;
	if (!f->keys_written) {
		xenbus_write_fmt(xs, XBT_NULL, fbf_dir, "protocol", "x86_64-abi");
		xenbus_write_fmt(xs, XBT_NULL, fbf_dir, "feature-persistent", "0");
		f->keys_written = true;
	}
	xenbus_write_fmt(xs, XBT_NULL, fbf_dir, "ring-ref", "%u", f->ring_ref);
	xenbus_write_fmt(xs, XBT_NULL, fbf_dir, "event-channel", "%u", xenbus_evtchn_port(f->ch));
	return fbf_state_write(f, XenbusStateInitialised);
}

static int fbf_unpublish_fn(void *arg)
{
	struct fbf *f = arg;

	xenbus_evtchn_close(f->ch);
	f->ch = NULL;
	if (f->sring)
		xengntshr_unshare(f->gs, f->sring, 1);
	f->sring = NULL;
	return fbf_state_write(f, XenbusStateClosed);
}

static int fbf_state_fn(void *arg)
{
	return fbf_state_write(&fbf, *(XenbusState *)arg);
}

static int fbf_notify_fn(void *arg)
{
	return xenbus_evtchn_notify(((struct fbf *)arg)->ch);
}

/* ==== connecting, from the fuzzer's thread ==== */

static void fbf_connect(void)
{
	XenbusState init = XenbusStateInitialising;

	if (fw_state(fbf_be_dir) != XenbusStateInitWait) {
		fw_call(1, fbf_state_fn, &init);
		fw_wait_state(fbf_be_dir, XenbusStateInitWait);
	}
	if (fw_call(1, fbf_publish_fn, &fbf) != 0)
		FUZZ_FAIL("the frontend cannot publish its ring");
	fw_wait_state(fbf_be_dir, XenbusStateConnected);
	fbf.connected = true;
}

static void fbf_disconnect(void)
{
	fw_call(1, fbf_unpublish_fn, &fbf);
	fw_wait_state(fbf_be_dir, XenbusStateClosed);
	fbf.connected = false;
}

static int fbf_backend_start_fn(void *arg)
{
	struct blkback_config cfg = {.base = fw_base(0), .ring_page_order_max = 0,
				     .queues_max = 1, .indirect_segs_max = 256, .persistent = true,
				     .flush = true, .barrier = true, .discard = true};
	int rc = blkback_start(&cfg, &fbf_bb);

	(void)arg;
	return rc ? rc : blkback_disk_add(fbf_bb, "disk1", fbf_disk);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *fe_keys[] = {"virtual-device", "51712", "device-type", "disk", NULL};
	static const char *be_keys[] = {"params", "disk1", "type", "ram", "mode", "w", NULL};
	struct xenbus_device dev = {.type = "vbd", .fe_domid = 1, .be_domid = 0, .devid = FBF_DEVID,
				    .fe_keys = fe_keys, .be_keys = be_keys};

	(void)argc, (void)argv;
	fw_init();
	if (blk_store_ram_create(4u << 20, 512, &fbf_disk) != 0 ||
	    fw_call(0, fbf_backend_start_fn, NULL) != 0 ||
	    xenbus_device_paths(&dev, fbf_fe_dir, fbf_be_dir, sizeof(fbf_be_dir)) != 0 ||
	    xenbus_device_create(fw_xs(), &dev) != 0 || fw_call(1, fbf_open_fn, &fbf) != 0)
		FUZZ_FAIL("cannot start blkback or the frontend");
	fbf_connect();
	return 0;
}

/* ==== one input ==== */

static uint32_t fbf_ref(uint32_t ref)
{
	return ref < FBF_REF_ALIASES ? fbf.refs[ref % FBF_PAGES] : ref;
}

static void fbf_alias_request(blkif_request_t *r)
{
	if (r->operation == BLKIF_OP_INDIRECT) {
		blkif_request_indirect_t *ind = (blkif_request_indirect_t *)r;
		for (unsigned i = 0; i < BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST; i++)
			ind->indirect_grefs[i] = fbf_ref(ind->indirect_grefs[i]);
	} else if (r->operation != BLKIF_OP_DISCARD) {
		for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
			r->seg[i].gref = fbf_ref(r->seg[i].gref);
	}
}

static void fbf_fill_indirect(const uint8_t *data, size_t size)
{
	uint8_t *ind = fbf.pages + FBF_DATA_PAGES * FBF_PAGE;
	struct blkif_request_segment *seg = (struct blkif_request_segment *)ind;

	if (size > FBF_IND_PAGES * FBF_PAGE)
		size = FBF_IND_PAGES * FBF_PAGE;
	memset(ind, 0, FBF_IND_PAGES * FBF_PAGE);
	memcpy(ind, data, size);
	for (size_t i = 0; i < FBF_IND_PAGES * FBF_PAGE / sizeof(*seg); i++)
		seg[i].gref = fbf_ref(seg[i].gref);
}

/* Whether (id, op) was sent: the backend answers only requests it was given. */
static bool fbf_sent(const blkif_request_t *reqs, unsigned n, uint64_t id, uint8_t op)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t rop = reqs[i].operation;
		if (rop == BLKIF_OP_INDIRECT)
			rop = ((const blkif_request_indirect_t *)&reqs[i])->indirect_op;
		uint64_t rid = reqs[i].operation == BLKIF_OP_DISCARD ?
				       ((const blkif_request_discard_t *)&reqs[i])->id :
			       reqs[i].operation == BLKIF_OP_INDIRECT ?
				       ((const blkif_request_indirect_t *)&reqs[i])->id : reqs[i].id;
		if (rid == id && (op == reqs[i].operation || op == rop))
			return true;
	}
	return false;
}

static void fbf_check_responses(const blkif_request_t *reqs, unsigned n, bool lying)
{
	RING_IDX rp = fbf.sring->rsp_prod;

	xen_rmb();
	for (; fbf.ring.rsp_cons != rp; fbf.ring.rsp_cons++) {
		blkif_response_t r;
		memcpy(&r, RING_GET_RESPONSE(&fbf.ring, fbf.ring.rsp_cons), sizeof(r));
		if (r.status != BLKIF_RSP_OKAY && r.status != BLKIF_RSP_ERROR &&
		    r.status != BLKIF_RSP_EOPNOTSUPP)
			FUZZ_FAIL("response id %llu op %u has status %d", (unsigned long long)r.id,
				  r.operation, r.status);
		if (!lying && !fbf_sent(reqs, n, r.id, r.operation))
			FUZZ_FAIL("response id %llu op %u answers no request sent",
				  (unsigned long long)r.id, r.operation);
	}
}

/* Every request answered, or the backend gave up on us. */
struct fbf_want {
	RING_IDX rsp_prod;
};

static bool fbf_settled(void *arg)
{
	struct fbf_want *w = arg;

	return fbf.sring->rsp_prod == w->rsp_prod || fw_state(fbf_be_dir) != XenbusStateConnected;
}

static bool fbf_wait_answers(RING_IDX want)
{
	struct fbf_want w = {.rsp_prod = want};

	if (!fw_wait(fbf_settled, &w))
		FUZZ_FAIL("blkback neither answered (%u of %u) nor disconnected in %u ms",
			  fbf.sring->rsp_prod - fbf.ring.rsp_cons, want - fbf.ring.rsp_cons, FW_WAIT_MS);
	return fbf.sring->rsp_prod == want && fw_state(fbf_be_dir) == XenbusStateConnected;
}

static void fbf_check_balance(void)
{
	struct gnttab_stats g1, d0;

	gnttab_stats(1, &g1);
	gnttab_stats(0, &d0);
	if (g1.maps_active > 1 || d0.maptrack_used > 1)
		FUZZ_FAIL("after every answer guest1's grants have %llu maps (dom0 maps %llu); "
			  "only the ring's may stay", (unsigned long long)g1.maps_active,
			  (unsigned long long)d0.maptrack_used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static blkif_request_t reqs[FBF_RING_SIZE];
	bool lying = size > 0 && (data[0] & 3) == 3;   /* rare: each lie costs a reconnect */
	unsigned n = size > 5 ? data[5] % (FBF_RING_SIZE + 1) : 0;
	uint32_t delta = 0;
	size_t off = FBF_HDR;
	RING_IDX want;

	if (size < FBF_HDR)
		return 0;
	memcpy(&delta, data + 1, sizeof(delta));
	if (!fbf.connected)
		fbf_connect();
	if (n > (size - off) / sizeof(blkif_request_t))
		n = (unsigned)((size - off) / sizeof(blkif_request_t));
	for (unsigned i = 0; i < n; i++, off += sizeof(blkif_request_t)) {
		memcpy(&reqs[i], data + off, sizeof(blkif_request_t));
		fbf_alias_request(&reqs[i]);
	}
	fbf_fill_indirect(data + off, size - off);
	for (unsigned i = 0; i < n; i++)
		memcpy(RING_GET_REQUEST(&fbf.ring, fbf.ring.req_prod_pvt + i), &reqs[i], sizeof(reqs[i]));
	fbf.ring.req_prod_pvt += n;
	want = lying ? fbf.ring.rsp_cons + delta : fbf.ring.req_prod_pvt;
	xen_wmb();
	fbf.sring->req_prod = want;
	if (lying)
		fbf.ring.req_prod_pvt = want;
	if (n == 0 && !lying) {   /* nothing to do: no event (see the top) */
		fw_check();
		return 0;
	}
	fw_call(1, fbf_notify_fn, &fbf);
	if (!fbf_wait_answers(want)) {
		fbf_check_responses(reqs, n, lying);
		fbf_disconnect();
	} else {
		fbf_check_responses(reqs, n, lying);
		fbf_check_balance();
	}
	fw_check();
	return 0;
}
