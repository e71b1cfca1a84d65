/*
 * fuzz_blkfront: the input is what a hostile backend answers the real
 * blkfront (drivers/blk) with, on the real sim (dom0 and guest1, free mode,
 * both loops run by the fuzzer's thread: fuzz/world.h). Set up once per process: a raw backend in dom0 (Xen's API only:
 * it maps the frontend's ring, binds its event channel, offers a 4 MiB disk)
 * and blkfront in guest1 (one queue, one ring page, no persistent grants, no
 * indirect segments). Per input: the frontend submits 1..FBK_IOS_MAX I/Os of
 * one page; once their requests are on the ring, the backend writes the
 * input's responses, then answers whatever is still outstanding correctly,
 * until every I/O is done or the frontend failed.
 *
 * Input layout:
 *   [0]    flags: bits 0-1 = I/Os - 1; bits 2 and 3 both set = rsp_prod lies
 *          by le32 [1..4] (counted from what was written; rare, as each lie
 *          costs a reopen); bits 4-5 = op of each I/O
 *          (read, write, flush, discard) for the first I/O, rotating
 *   [1..4] that le32
 *   then   16-byte responses {id le64, op u8, pad u8, status le16, pad le32}
 *          (at most FBK_RSP_MAX); an id from FBK_ID_ALIAS up (all ones but
 *          the low byte) names the id of request (id % requests seen), op
 *          0xff that request's op; other ids are sent as they are.
 *
 * Invariants: every I/O's completion runs exactly once, with 0 or -EIO;
 * within FW_WAIT_MS each I/O is done or the frontend failed (terminal,
 * with a reason), or, after a lie, both loops are idle and good answers to
 * whatever is outstanding change nothing FBK_LIE_ROUNDS times (left waiting); a frontend alive after the input holds no grant (all I/Os
 * done, only its ring pages granted); gnttab/evtchn/xenstore checks. A failed frontend is
 * closed (its grants must all go) and opened again for the next input.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/blkif.h>

#include "drivers/blk/blkfront.h"
#include "drivers/xenbus/xenbus.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/world.h"
#include "sim/gnttab/gnttab.h"

#define FBK_DEVID 51712u
#define FBK_PAGE 4096u
#define FBK_IOS_MAX 4u
#define FBK_RSP_MAX 40u
#define FBK_ID_ALIAS 0xffffffffffffff00ull   /* ids from here name a request seen */
#define FBK_LIE_ROUNDS 3u     /* after a lie: idle rounds until "left waiting" */
#define FBK_HDR 5u
#define FBK_RSP_BYTES 16u

/* ==== the raw backend, dom0 ==== */

struct fbk_back {
	struct xenbus *xb;
	struct xenbus_watch *watch;
	xengnttab_handle *gt;
	void *ring;
	blkif_back_ring_t br;
	struct xenbus_evtchn *ch;
	bool connected;
	bool keys_written;           /* the disk's keys: once (see fbk_state_write) */
	blkif_request_t seen[64];    /* requests taken off the ring, this input */
	bool answered[64];
	unsigned nseen;
};

static struct fbk_back fbk_b;
static const char fbk_be_dir[] = "backend/vbd/1/51712";
static const char fbk_fe_dir[] = "/local/domain/1/device/vbd/51712";

static bool fbk_back_event(void *arg)
{
	(void)arg;
	return true;   /* requests are taken when the input is played */
}

/* The peer's own xenstore writes are plain writes, one request each: a
 * state switch in a transaction (xenbus_state_switch: start, read, write,
 * end) is what a driver owes its peer, not what a harness must pay on every
 * reconnect. The disk's keys never change and stay in the backend's
 * directory (nothing removes them): written once. */
static int fbk_state_write(struct fbk_back *b, XenbusState st)
{
	return xenbus_write_fmt(xenbus_xs(b->xb), XBT_NULL, fbk_be_dir, "state", "%u", (unsigned)st);
}

static int fbk_back_connect(struct fbk_back *b)
{
	struct xs_handle *xs = xenbus_xs(b->xb);
	uint64_t ref, port;

	if (xenbus_read_uint(xs, XBT_NULL, fbk_fe_dir, "ring-ref", UINT32_MAX, &ref) < 0 ||
	    xenbus_read_uint(xs, XBT_NULL, fbk_fe_dir, "event-channel", UINT32_MAX, &port) < 0)
		return -EINVAL;
	if (!b->gt)   /* kept open across reconnects, as a backend keeps it */
		b->gt = xengnttab_open(NULL, 0);
	uint32_t r = (uint32_t)ref;
	b->ring = b->gt ? xengnttab_map_domain_grant_refs(b->gt, 1, 1, &r, PROT_READ | PROT_WRITE) : NULL;
	if (!b->ring)
		return -EIO;
	BACK_RING_INIT(&b->br, (blkif_sring_t *)b->ring, FBK_PAGE);
	if (xenbus_evtchn_bind(xenbus_base(b->xb), 1, (uint32_t)port, fbk_back_event, b, &b->ch) < 0)
		return -EIO;
	if (!b->keys_written) {
		xenbus_write_fmt(xs, XBT_NULL, fbk_be_dir, "sectors", "8192");
		xenbus_write_fmt(xs, XBT_NULL, fbk_be_dir, "sector-size", "512");
		xenbus_write_fmt(xs, XBT_NULL, fbk_be_dir, "info", "0");
		xenbus_write_fmt(xs, XBT_NULL, fbk_be_dir, "feature-flush-cache", "1");
		xenbus_write_fmt(xs, XBT_NULL, fbk_be_dir, "feature-discard", "1");
		b->keys_written = true;
	}
	b->connected = true;
	return fbk_state_write(b, XenbusStateConnected);
}

static void fbk_back_disconnect(struct fbk_back *b)
{
	xenbus_evtchn_close(b->ch);
	b->ch = NULL;
	if (b->ring)
		xengnttab_unmap(b->gt, b->ring, 1);
	b->ring = NULL;
	b->connected = false;
}

static void fbk_fe_changed(void *arg, const char *path)
{
	struct fbk_back *b = arg;
	struct xs_handle *xs = xenbus_xs(b->xb);
	XenbusState fe;

	(void)path;
	if (xenbus_state_read(xs, fbk_fe_dir, &fe) < 0)
		return;
	if (fe == XenbusStateInitialised && !b->connected) {
		if (fbk_back_connect(b) < 0)
			FUZZ_FAIL("the raw backend cannot connect to %s", fbk_fe_dir);
	} else if ((fe == XenbusStateClosing || fe == XenbusStateClosed) && b->connected) {
		fbk_back_disconnect(b);
		fbk_state_write(b, XenbusStateClosed);
	} else if (fe == XenbusStateInitialising && !b->connected) {
		fbk_state_write(b, XenbusStateInitWait);
	}
}

static int fbk_back_start_fn(void *arg)
{
	struct fbk_back *b = arg;
	char path[96];
	int rc = xenbus_open(fw_base(0), &b->xb);

	if (rc < 0)
		return rc;
	fbk_state_write(b, XenbusStateInitWait);
	snprintf(path, sizeof(path), "%s/state", fbk_fe_dir);
	return xenbus_watch(b->xb, path, fbk_fe_changed, b, &b->watch);
}

/* ==== the frontend, guest1 ==== */

struct fbk_front {
	struct blkfront *bf;
	atomic_bool failed, connected;
	atomic_uint done[FBK_IOS_MAX];
	atomic_int status[FBK_IOS_MAX];
	unsigned nios;
	uint8_t flags;
	uint8_t buf[FBK_IOS_MAX][FBK_PAGE];
};

static struct fbk_front fbk_f;

static void fbk_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct fbk_front *f = arg;

	(void)bf;
	if (ev == BLKFRONT_EV_CONNECTED)
		atomic_store(&f->connected, true);
	if (ev == BLKFRONT_EV_FAILED)
		atomic_store(&f->failed, true);
}

static int fbk_open_fn(void *arg)
{
	struct fbk_front *f = arg;
	struct blkfront_config cfg = {.base = fw_base(1), .devid = FBK_DEVID,
				      .on_event = fbk_event, .arg = f};

	atomic_store(&f->failed, false);
	atomic_store(&f->connected, false);
	return blkfront_open(&cfg, &f->bf);
}

static int fbk_close_fn(void *arg)
{
	struct fbk_front *f = arg;

	blkfront_close(f->bf);
	f->bf = NULL;
	return 0;
}

static void fbk_done(void *arg, int status)
{
	unsigned i = (unsigned)(uintptr_t)arg;

	atomic_store(&fbk_f.status[i], status);
	if (atomic_fetch_add(&fbk_f.done[i], 1) != 0)
		FUZZ_FAIL("I/O %u completed twice (now with %d)", i, status);
}

static int fbk_submit_fn(void *arg)
{
	struct fbk_front *f = arg;
	static const enum blkfront_op ops[4] = {BLKFRONT_READ, BLKFRONT_WRITE, BLKFRONT_FLUSH,
						BLKFRONT_DISCARD};

	for (unsigned i = 0; i < f->nios; i++) {
		enum blkfront_op op = ops[((f->flags >> 4) + i) % 4];
		atomic_store(&f->done[i], 0);
		int rc = blkfront_submit(f->bf, op, (uint64_t)i * FBK_PAGE, f->buf[i], FBK_PAGE,
					 fbk_done, (void *)(uintptr_t)i);
		if (rc < 0) {   /* refused up front: no completion will come */
			atomic_store(&f->done[i], 1);
			atomic_store(&f->status[i], rc);
		}
	}
	return 0;
}

struct fbk_idle {
	struct blkfront_stats st;
	struct blkfront_info info;
};

static int fbk_info_fn(void *arg)
{
	struct fbk_idle *id = arg;

	blkfront_stats(fbk_f.bf, &id->st);
	return blkfront_info(fbk_f.bf, &id->info);
}

/* ==== the fuzzer's side ==== */

static bool fbk_connected(void *arg)
{
	(void)arg;
	return atomic_load(&fbk_f.connected);
}

static void fbk_open(void)
{
	if (fw_call(1, fbk_open_fn, &fbk_f) != 0)
		FUZZ_FAIL("blkfront_open failed");
	if (!fw_wait(fbk_connected, NULL))
		FUZZ_FAIL("blkfront did not connect in %u ms", FW_WAIT_MS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *fe_keys[] = {"virtual-device", "51712", "device-type", "disk", NULL};
	static const char *be_keys[] = {"params", "disk1", "type", "ram", "mode", "w", NULL};
	struct xenbus_device dev = {.type = "vbd", .fe_domid = 1, .be_domid = 0, .devid = FBK_DEVID,
				    .fe_keys = fe_keys, .be_keys = be_keys};
	(void)argc, (void)argv;
	fw_init();
	if (xenbus_device_create(fw_xs(), &dev) != 0 || fw_call(0, fbk_back_start_fn, &fbk_b) != 0)
		FUZZ_FAIL("cannot start the raw backend");
	fbk_open();
	return 0;
}

/* ==== one input, the backend's side (dom0) ==== */

struct fbk_play {
	const uint8_t *rsp;
	unsigned nrsp;
	bool lie;
	uint32_t delta;
};

static void fbk_take_requests(struct fbk_back *b)
{
	RING_IDX rp = b->br.sring->req_prod;

	xen_rmb();
	while (b->br.req_cons != rp && b->nseen < 64) {
		RING_COPY_REQUEST(&b->br, b->br.req_cons, &b->seen[b->nseen]);
		b->answered[b->nseen++] = false;
		b->br.req_cons++;
	}
}

static uint8_t fbk_req_op(const blkif_request_t *r)
{
	return r->operation;
}

static void fbk_put(struct fbk_back *b, uint64_t id, uint8_t op, int16_t status)
{
	blkif_response_t *r = RING_GET_RESPONSE(&b->br, b->br.rsp_prod_pvt);

	memset(r, 0, sizeof(*r));
	r->id = id;
	r->operation = op;
	r->status = status;
	b->br.rsp_prod_pvt++;
}

static void fbk_put_from_input(struct fbk_back *b, const uint8_t *in)
{
	uint64_t id;
	uint8_t op = in[8];
	int16_t status;

	memcpy(&id, in, sizeof(id));
	memcpy(&status, in + 10, sizeof(status));
	if (b->nseen && id >= FBK_ID_ALIAS) {
		unsigned k = (unsigned)(id % b->nseen);
		id = b->seen[k].id;
		b->answered[k] = true;
		if (op == 0xff)
			op = fbk_req_op(&b->seen[k]);
	}
	fbk_put(b, id, op, status);
}

/* The input's responses, then good answers to what is still outstanding.
 * 1: something was written (or lied about) and the frontend notified; 0:
 * nothing to say, no event (an empty one is a storm blkfront damps). */
static int fbk_play_fn(void *arg)
{
	struct fbk_play *p = arg;
	struct fbk_back *b = &fbk_b;

	if (!b->connected)
		return 0;
	fbk_take_requests(b);
	RING_IDX was = b->br.rsp_prod_pvt;
	for (unsigned i = 0; i < p->nrsp; i++)
		fbk_put_from_input(b, p->rsp + i * FBK_RSP_BYTES);
	/* No more answers than requests seen in all: a response with a made-up
	 * id then takes the place of a real one, and reaches the id checks
	 * rather than the count check. */
	unsigned budget = b->nseen > p->nrsp ? b->nseen - p->nrsp : 0;
	for (unsigned k = 0; k < b->nseen && budget; k++)
		if (!b->answered[k]) {
			budget--;
			fbk_put(b, b->seen[k].id, fbk_req_op(&b->seen[k]), BLKIF_RSP_OKAY);
			b->answered[k] = true;
		}
	xen_wmb();
	b->br.sring->rsp_prod = b->br.rsp_prod_pvt + (p->lie ? p->delta : 0);
	if (p->lie)
		b->br.rsp_prod_pvt += p->delta;
	if (b->br.rsp_prod_pvt == was)
		return 0;
	xenbus_evtchn_notify(b->ch);
	return 1;
}

/* Later requests (a requeue, a retry): answered correctly. */
static bool fbk_good(void *arg)
{
	struct fbk_play none = {0};

	(void)arg;
	return fw_call(0, fbk_play_fn, &none) > 0;
}

static bool fbk_all_done(void)
{
	for (unsigned i = 0; i < fbk_f.nios; i++)
		if (!atomic_load(&fbk_f.done[i]))
			return false;
	return true;
}

static void fbk_check_status(void)
{
	for (unsigned i = 0; i < fbk_f.nios; i++) {
		int s = atomic_load(&fbk_f.status[i]);
		if (atomic_load(&fbk_f.done[i]) && s != 0 && s != -EIO && s != -EOPNOTSUPP &&
		    s != -EINVAL && s != -ENOSPC && s != -EAGAIN)
			FUZZ_FAIL("I/O %u completed with %d", i, s);
	}
}

static bool fbk_settled(void *arg)
{
	(void)arg;
	return fbk_all_done() || atomic_load(&fbk_f.failed);
}

/* false: still waiting after a lie, which is allowed (an rsp_prod behind
 * what was written hides answers: the frontend cannot know they exist). */
static bool fbk_wait(bool lied)
{
	if (fw_drive(fbk_settled, fbk_good, NULL, lied ? FBK_LIE_ROUNDS : 0, FW_WAIT_MS))
		return true;
	if (!lied)
		FUZZ_FAIL("blkfront neither completed its I/Os nor failed in %u ms", FW_WAIT_MS);
	return false;
}

/* Idle, only the rings stay granted: by its own count and the grant table's. */
static void fbk_check_idle(void)
{
	struct fbk_idle id;
	struct gnttab_stats g1;
	unsigned rings;

	fw_call(1, fbk_info_fn, &id);
	gnttab_stats(1, &g1);
	rings = id.info.queues * id.info.ring_pages;
	if (id.st.ios_inflight != 0 || id.st.grant_pages != rings || g1.grants_active != rings)
		FUZZ_FAIL("blkfront alive and idle holds %u I/Os and %u granted pages (%llu grants "
			  "in guest1's table), rings %u", id.st.ios_inflight, id.st.grant_pages,
			  (unsigned long long)g1.grants_active, rings);
}

static bool fbk_grants_gone(void *arg)
{
	struct gnttab_stats g1;

	(void)arg;
	gnttab_stats(1, &g1);
	return g1.grants_active == 0;
}

/* Closed after a failure: once our backend has unmapped the ring (seeing
 * Closing, on dom0's loop), no grant of guest1's may stay. */
static void fbk_reopen(void)
{
	struct gnttab_stats g1;

	fw_call(1, fbk_close_fn, &fbk_f);
	if (!fw_wait(fbk_grants_gone, NULL)) {
		gnttab_stats(1, &g1);
		FUZZ_FAIL("blkfront closed after a failure leaves %llu grants for %u ms",
			  (unsigned long long)g1.grants_active, FW_WAIT_MS);
	}
	fbk_open();
}

/* Our submits reach the ring at once (the frontend is connected). */
static bool fbk_on_ring(void *arg)
{
	(void)arg;
	return !fbk_b.connected || fbk_b.br.sring->req_prod != fbk_b.br.req_cons ||
	       atomic_load(&fbk_f.failed) || fbk_all_done();
}

static void fbk_wait_ring(void)
{
	if (!fw_wait(fbk_on_ring, NULL))
		FUZZ_FAIL("blkfront put no request on its ring in %u ms", FW_WAIT_MS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fbk_play p = {0};

	if (size < FBK_HDR)
		return 0;
	fbk_f.flags = data[0];
	fbk_f.nios = 1u + (data[0] & 3u);
	p.lie = (data[0] & 0x0c) == 0x0c;
	memcpy(&p.delta, data + 1, sizeof(p.delta));
	p.rsp = data + FBK_HDR;
	p.nrsp = (unsigned)((size - FBK_HDR) / FBK_RSP_BYTES);
	if (p.nrsp > FBK_RSP_MAX)
		p.nrsp = FBK_RSP_MAX;
	fbk_b.nseen = 0;
	fw_call(1, fbk_submit_fn, &fbk_f);
	fbk_wait_ring();
	fw_call(0, fbk_play_fn, &p);
	/* Settled: whatever guest1 was handling (the rest of those responses, a
	 * failure they caused) is over, both loops are idle. */
	bool settled = fbk_wait(p.lie);
	fbk_check_status();
	if (atomic_load(&fbk_f.failed) || !settled)
		fbk_reopen();   /* after a lie the ring is not worth going on with */
	else
		fbk_check_idle();
	fw_check();
	return 0;
}
