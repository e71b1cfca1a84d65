/*
 * fuzz_netback: the input is what a hostile frontend puts on the tx and rx
 * rings of the real netback (drivers/net), on the real sim (dom0 and guest1,
 * free mode, both loops run by the fuzzer's thread: fuzz/world.h). Set up
 * once per process: netback in dom0 (sg, GSO
 * v4/v6, 32 data slots, disconnect past 40), its link a sink here that checks
 * and frees every frame netback delivers; a raw frontend in guest1 sharing a
 * tx ring, an rx ring and FNB_PAGES data pages, with one event channel.
 *
 * Input layout:
 *   [0]      flags: bits 0-1 both set = tx req_prod lies (rsp_prod + le32
 *            [1..4]); bit 2 = rx req_prod lies the same way; bit 3 = the
 *            link hands netback a frame for guest1 (the rest, as below)
 *   [5] ntx, [6] nrx: slots to write (ntx at most FNB_SLOTS_MAX; nrx too)
 *   then     ntx * 12 bytes: tx slots (netif_tx_request_t, or an extra info
 *            where the slot before said so), copied into the ring
 *   then     nrx * 8 bytes: rx requests (netif_rx_request_t)
 *   then     the rest: the data pages' bytes (frames to send), and the frame
 *            handed to netback (at most FNB_FRAME_MAX bytes)
 * A gref below FNB_REF_ALIASES in a tx request or an rx request is replaced
 * by the ref of one of our data pages (ref % FNB_PAGES); others pass as they
 * are (grants that do not exist).
 *
 * Invariants after each input: within FNB_WAIT_MS netback answers every tx
 * slot or disconnects the vif; each tx response has a NETIF_RSP_* status and
 * the id of a tx request sent (NULL for extras); each rx response the id of
 * an rx request posted, a status that is an error or a length that fits the
 * page from its offset; frames reaching the link are at most 64 KiB + a
 * header; once every tx slot is answered no map of guest1's data pages stays
 * (only the two rings); a disconnect for a slot crossing its page names a
 * slot we wrote, with its offset and at most its size (a packet's first slot
 * holds the packet's size); gnttab/evtchn/xenstore checks hold. A disconnected
 * frontend reconnects before the next input. An input that writes nothing,
 * injects nothing and does not lie sends no event (a run of empty events is
 * a storm netback damps with real-time delays; see fuzz_blkback.c).
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/netif.h>

#include "drivers/net/netback.h"
#include "drivers/net/netpkt.h"
#include "drivers/xenbus/xenbus.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/world.h"
#include "sim/gnttab/gnttab.h"

#define FNB_PAGE 4096u
#define FNB_PAGES 8u
#define FNB_REF_ALIASES 64u
#define FNB_SLOTS_MAX 255u   /* a whole ring but one: chains past any bound fit */
#define FNB_FRAME_MAX 65536u
#define FNB_HDR 7u
#define FNB_TX_BYTES 12u
#define FNB_RX_BYTES 8u
#define FNB_LINK_FRAME_MAX (65535u + 14u + 4u)   /* a GSO frame: 64 KiB IP + Ethernet + VLAN */

static const char fnb_fe_dir[] = "device/vif/0";
static const char fnb_be_dir[] = "/local/domain/0/backend/vif/1/0";

/* ==== dom0: netback and its link ==== */

static struct netback *fnb_nb;
static struct netback_vif *fnb_vif;      /* while attached */
static atomic_uint_fast64_t fnb_frames;

static int fnb_link_attach(void *arg, struct netback_vif *vif, void **port)
{
	(void)arg;
	fnb_vif = vif;
	*port = vif;
	return 0;
}

static void fnb_link_detach(void *arg, void *port)
{
	(void)arg;
	if (port == fnb_vif)
		fnb_vif = NULL;
}

static void fnb_link_output(void *arg, void *port, struct netpkt *pkt)
{
	(void)arg, (void)port;
	if (pkt->np_len > FNB_LINK_FRAME_MAX)
		FUZZ_FAIL("netback delivered a frame of %u bytes", pkt->np_len);
	atomic_fetch_add(&fnb_frames, 1);
	netpkt_free(pkt);
}

/* The reason netback gave for its last disconnect (written from dom0's loop
 * before the state change the fuzzer waits for). */
static char fnb_fatal_why[512];
static atomic_bool fnb_fatal_seen;

static void fnb_on_fatal(void *arg, const struct netback_vif_info *vif, const char *why)
{
	(void)arg, (void)vif;
	snprintf(fnb_fatal_why, sizeof(fnb_fatal_why), "%s", why);
	atomic_store(&fnb_fatal_seen, true);
}

static const struct netback_link_ops fnb_link = {
	.attach = fnb_link_attach, .detach = fnb_link_detach, .output = fnb_link_output};

static int fnb_backend_start_fn(void *arg)
{
	struct netback_config cfg = {.base = fw_base(0), .link = &fnb_link,
				     .queues_max = 1, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true,
				     .ipv6_csum = true, .tx_slots_max = 32, .tx_slots_fatal = 40,
				     .rx_queue_frames_max = 8, .on_fatal = fnb_on_fatal};

	(void)arg;
	return netback_start(&cfg, &fnb_nb);
}

struct fnb_inject {
	const uint8_t *frame;
	uint32_t len;
};

static int fnb_inject_fn(void *arg)
{
	struct fnb_inject *in = arg;
	struct netpkt *p;

	if (!fnb_vif || in->len == 0)
		return 0;
	p = netpkt_alloc(in->len);
	if (!p)
		return -ENOMEM;
	memcpy(p->np_data, in->frame, in->len);
	return netback_vif_input(fnb_vif, p);   /* ownership passes, taken or dropped */
}

/* ==== the raw frontend, guest1 ==== */

struct fnb_front {
	struct xs_handle *xs;             /* guest1's, kept open */
	bool keys_written;                /* the features: once */
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	void *rings;
	uint32_t ring_refs[2];
	uint8_t *pages;
	uint32_t refs[FNB_PAGES];
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	bool connected;
	uint16_t rx_ids[256];             /* id posted in each rx slot (by index & 255) */
};

static struct fnb_front fnb_f;

static int fnb_open_fn(void *arg)
{
	struct fnb_front *f = arg;

	f->xs = xs_open(0);
	f->gs = xengntshr_open(NULL, 0);
	f->xce = xenevtchn_open(NULL, 0);
	f->pages = f->gs ? xengntshr_share_pages(f->gs, 0, FNB_PAGES, f->refs, 1) : NULL;
	return f->xs && f->pages && f->xce ? 0 : -ENOMEM;
}

/* One xenstore handle of guest1's for the whole run and the features
 * written once (they stay in the frontend's directory: nothing removes
 * them): a reconnect costs netback's own work, not the harness's opening of
 * a connection and eight writes. */
static int fnb_publish_fn(void *arg)
{
	struct fnb_front *f = arg;
	struct xs_handle *xs = f->xs;
	int rc = 0;

	f->rings = xengntshr_share_pages(f->gs, 0, 2, f->ring_refs, 1);
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(f->xce, 0);
	if (!f->rings || p < 0)
		return -EIO;
	f->port = (evtchn_port_t)p;
	SHARED_RING_INIT((netif_tx_sring_t *)f->rings);
	FRONT_RING_INIT(&f->tx, (netif_tx_sring_t *)f->rings, FNB_PAGE);
	netif_rx_sring_t *rxs = (void *)((uint8_t *)f->rings + FNB_PAGE);
	SHARED_RING_INIT(rxs);
	FRONT_RING_INIT(&f->rx, rxs, FNB_PAGE);
	if (!f->keys_written) {
		rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "request-rx-copy", "1");
		rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "feature-rx-notify", "1");
		rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "feature-sg", "1");
		rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "feature-gso-tcpv4", "1");
		f->keys_written = rc == 0;
	}
	rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "tx-ring-ref", "%u", f->ring_refs[0]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "rx-ring-ref", "%u", f->ring_refs[1]);
	rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "event-channel", "%u", f->port);
	rc |= xenbus_write_fmt(xs, XBT_NULL, fnb_fe_dir, "state", "4");
	return rc;
}

static int fnb_unpublish_fn(void *arg)
{
	struct fnb_front *f = arg;

	if (f->port)
		xenevtchn_unbind(f->xce, f->port);
	f->port = 0;
	if (f->rings)
		xengntshr_unshare(f->gs, f->rings, 2);
	f->rings = NULL;
	xenbus_write_fmt(f->xs, XBT_NULL, fnb_fe_dir, "state", "6");
	return 0;
}

static int fnb_state_fn(void *arg)
{
	return xenbus_write_fmt(fnb_f.xs, XBT_NULL, fnb_fe_dir, "state", "%u", *(unsigned *)arg);
}

static int fnb_notify_fn(void *arg)
{
	struct fnb_front *f = arg;

	return xenevtchn_notify(f->xce, f->port);
}

/* ==== connecting, from the fuzzer's thread ==== */

static void fnb_connect(void)
{
	unsigned init = XenbusStateInitialising;

	if (fw_state(fnb_be_dir) != XenbusStateInitWait) {
		fw_call(1, fnb_state_fn, &init);
		fw_wait_state(fnb_be_dir, XenbusStateInitWait);
	}
	if (fw_call(1, fnb_publish_fn, &fnb_f) != 0)
		FUZZ_FAIL("the frontend cannot publish its rings");
	fw_wait_state(fnb_be_dir, XenbusStateConnected);
	fnb_f.connected = true;
}

static void fnb_disconnect(void)
{
	fw_call(1, fnb_unpublish_fn, &fnb_f);
	fw_wait_state(fnb_be_dir, XenbusStateClosed);
	fnb_f.connected = false;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *keys[] = {"mac", "00:16:3e:00:00:01", "handle", "0", NULL};
	static const char *be_keys[] = {"mac", "00:16:3e:00:00:01", "handle", "0", "type", "vif", NULL};
	struct xenbus_device dev = {.type = "vif", .fe_domid = 1, .be_domid = 0, .devid = 0,
				    .fe_keys = keys, .be_keys = be_keys};

	(void)argc, (void)argv;
	fw_init();
	if (fw_call(0, fnb_backend_start_fn, NULL) != 0 || xenbus_device_create(fw_xs(), &dev) != 0 ||
	    fw_call(1, fnb_open_fn, &fnb_f) != 0)
		FUZZ_FAIL("cannot start netback or the frontend");
	fnb_connect();
	return 0;
}

/* ==== one input ==== */

struct fnb_input {
	uint8_t flags;
	uint32_t delta;
	unsigned ntx, nrx;
	const uint8_t *tx, *rx, *rest;
	size_t nrest;
};

static uint32_t fnb_ref(uint32_t ref)
{
	return ref < FNB_REF_ALIASES ? fnb_f.refs[ref % FNB_PAGES] : ref;
}

/* tx slots into the ring; the ids of real requests into ids[]. */
static void fnb_put_tx(const struct fnb_input *in, bool *is_req, uint16_t *ids)
{
	bool extra = false;

	for (unsigned i = 0; i < in->ntx; i++) {
		union {
			netif_tx_request_t req;
			struct netif_extra_info ex;
		} s;
		memcpy(&s, in->tx + i * FNB_TX_BYTES, FNB_TX_BYTES);
		/* Which slots are extras is netback's call (a flag in the middle
		 * of a chain, say): any slot's id field may come back. */
		is_req[i] = true;
		ids[i] = s.req.id;
		if (!extra) {
			s.req.gref = fnb_ref(s.req.gref);
			extra = (s.req.flags & NETTXF_extra_info) != 0;
		} else {
			extra = (s.ex.flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0;
		}
		memcpy(RING_GET_REQUEST(&fnb_f.tx, fnb_f.tx.req_prod_pvt + i), &s, FNB_TX_BYTES);
	}
	fnb_f.tx.req_prod_pvt += in->ntx;
}

/* Only into slots whose responses we have read: more would overwrite them
 * (an overflowing req_prod is the lying mode's job). */
static void fnb_put_rx(struct fnb_input *in)
{
	unsigned room = RING_SIZE(&fnb_f.rx) - (fnb_f.rx.req_prod_pvt - fnb_f.rx.rsp_cons);

	if (in->nrx > room)
		in->nrx = room;
	for (unsigned i = 0; i < in->nrx; i++) {
		netif_rx_request_t r;
		memcpy(&r, in->rx + i * FNB_RX_BYTES, FNB_RX_BYTES);
		r.gref = fnb_ref(r.gref);
		fnb_f.rx_ids[(fnb_f.rx.req_prod_pvt + i) & 255] = r.id;
		memcpy(RING_GET_REQUEST(&fnb_f.rx, fnb_f.rx.req_prod_pvt + i), &r, sizeof(r));
	}
	fnb_f.rx.req_prod_pvt += in->nrx;
}

static bool fnb_tx_id_sent(uint16_t id, const bool *is_req, const uint16_t *ids, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (is_req[i] && ids[i] == id)
			return true;
	return false;
}

static void fnb_check_tx(bool lying, const bool *is_req, const uint16_t *ids, unsigned n)
{
	RING_IDX rp = fnb_f.tx.sring->rsp_prod;

	xen_rmb();
	for (; fnb_f.tx.rsp_cons != rp; fnb_f.tx.rsp_cons++) {
		netif_tx_response_t r;
		memcpy(&r, RING_GET_RESPONSE(&fnb_f.tx, fnb_f.tx.rsp_cons), sizeof(r));
		if (r.status < NETIF_RSP_DROPPED || r.status > NETIF_RSP_NULL)
			FUZZ_FAIL("tx response id %u has status %d", r.id, r.status);
		if (!lying && r.status != NETIF_RSP_NULL && !fnb_tx_id_sent(r.id, is_req, ids, n))
			FUZZ_FAIL("tx response id %u (status %d) answers no request sent", r.id, r.status);
	}
}

static void fnb_check_rx(void)
{
	RING_IDX rp = fnb_f.rx.sring->rsp_prod;

	xen_rmb();
	if (rp - fnb_f.rx.rsp_cons > fnb_f.rx.req_prod_pvt - fnb_f.rx.rsp_cons)
		FUZZ_FAIL("netback produced rx responses up to %u, only %u requests posted", rp,
			  fnb_f.rx.req_prod_pvt);
	for (; fnb_f.rx.rsp_cons != rp; fnb_f.rx.rsp_cons++) {
		netif_rx_response_t r;
		memcpy(&r, RING_GET_RESPONSE(&fnb_f.rx, fnb_f.rx.rsp_cons), sizeof(r));
		if (r.flags & NETRXF_extra_info) {   /* the next slot is an extra: skip it */
			if (fnb_f.rx.rsp_cons + 1 != rp)
				fnb_f.rx.rsp_cons++;
			continue;
		}
		if (r.status >= 0 && (unsigned)r.offset + (unsigned)r.status > FNB_PAGE)
			FUZZ_FAIL("rx response id %u: offset %u + length %d past the page", r.id,
				  r.offset, r.status);
	}
}

/* A disconnect for a slot crossing its page must be about values we wrote:
 * a slot with that id, that offset, and a size at least the one reported (a
 * packet's first slot holds the whole packet's size, its part in the page is
 * less). A reason with a size no slot had means netback computed it wrong.
 * Not after a lying req_prod: netback then rightly reads slots this input did
 * not write (what earlier inputs left in the ring, or its own responses). */
static void fnb_check_fatal(const struct fnb_input *in, bool tx_lie)
{
	unsigned id, off;
	unsigned long long size;
	const char *p = strstr(fnb_fatal_why, "(id ");

	if (!atomic_exchange(&fnb_fatal_seen, false) || tx_lie || !strstr(fnb_fatal_why, "crosses the page") || !p ||
	    sscanf(p, "(id %u, ref %*u): offset %u + size %llu", &id, &off, &size) != 3)
		return;
	for (unsigned i = 0; i < in->ntx; i++) {
		netif_tx_request_t r;
		memcpy(&r, in->tx + i * FNB_TX_BYTES, FNB_TX_BYTES);
		if (r.id == id && r.offset == off && size <= r.size)
			return;
	}
	FUZZ_FAIL("netback's reason names a slot we did not write: %s", fnb_fatal_why);
}

/* Every tx slot answered, or the vif cut off. */
static bool fnb_tx_settled(void *arg)
{
	return fnb_f.tx.sring->rsp_prod == *(RING_IDX *)arg ||
	       fw_state(fnb_be_dir) != XenbusStateConnected;
}

static bool fnb_wait_tx(RING_IDX want)
{
	if (!fw_wait(fnb_tx_settled, &want))
		FUZZ_FAIL("netback neither answered tx (%u of %u) nor disconnected in %u ms",
			  fnb_f.tx.sring->rsp_prod - fnb_f.tx.rsp_cons, want - fnb_f.tx.rsp_cons, FW_WAIT_MS);
	return fnb_f.tx.sring->rsp_prod == want;
}

static bool fnb_maps_back(void *arg)
{
	struct gnttab_stats g1;

	(void)arg;
	gnttab_stats(1, &g1);
	return g1.maps_active <= 2;
}

/* Every tx slot answered: only the two rings may stay mapped. */
static void fnb_check_maps(void)
{
	struct gnttab_stats g1;

	if (fw_wait(fnb_maps_back, NULL))
		return;
	gnttab_stats(1, &g1);
	FUZZ_FAIL("every tx slot answered, yet %llu maps of guest1's grants stay",
		  (unsigned long long)g1.maps_active);
}

static bool fnb_parse(const uint8_t *data, size_t size, struct fnb_input *in)
{
	size_t off = FNB_HDR;

	if (size < FNB_HDR)
		return false;
	in->flags = data[0];
	memcpy(&in->delta, data + 1, sizeof(in->delta));
	in->ntx = data[5] % (FNB_SLOTS_MAX + 1);
	in->nrx = data[6] % (FNB_SLOTS_MAX + 1);
	if (in->ntx > (size - off) / FNB_TX_BYTES)
		in->ntx = (unsigned)((size - off) / FNB_TX_BYTES);
	in->tx = data + off;
	off += in->ntx * FNB_TX_BYTES;
	if (in->nrx > (size - off) / FNB_RX_BYTES)
		in->nrx = (unsigned)((size - off) / FNB_RX_BYTES);
	in->rx = data + off;
	off += in->nrx * FNB_RX_BYTES;
	in->rest = data + off;
	in->nrest = size - off;
	return true;
}

/* false: nothing written, injected or lied about; no event then. */
static bool fnb_push(struct fnb_input *in, bool tx_lie, bool rx_lie)
{
	size_t n = in->nrest < FNB_PAGES * FNB_PAGE ? in->nrest : FNB_PAGES * FNB_PAGE;

	memcpy(fnb_f.pages, in->rest, n);
	fnb_put_rx(in);
	xen_wmb();
	fnb_f.tx.sring->req_prod = tx_lie ? fnb_f.tx.rsp_cons + in->delta : fnb_f.tx.req_prod_pvt;
	fnb_f.rx.sring->req_prod = rx_lie ? fnb_f.rx.rsp_cons + in->delta : fnb_f.rx.req_prod_pvt;
	if (tx_lie)
		fnb_f.tx.req_prod_pvt = fnb_f.tx.sring->req_prod;
	if (rx_lie)
		fnb_f.rx.req_prod_pvt = fnb_f.rx.sring->req_prod;
	if (in->flags & 8) {
		struct fnb_inject inj = {.frame = in->rest,
					 .len = (uint32_t)(in->nrest < FNB_FRAME_MAX ? in->nrest : FNB_FRAME_MAX)};
		fw_call(0, fnb_inject_fn, &inj);
	}
	if (in->ntx == 0 && in->nrx == 0 && !tx_lie && !rx_lie && !(in->flags & 8))
		return false;
	fw_call(1, fnb_notify_fn, &fnb_f);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool is_req[FNB_SLOTS_MAX];
	static uint16_t ids[FNB_SLOTS_MAX];
	struct fnb_input in;
	bool tx_lie, rx_lie;

	if (!fnb_parse(data, size, &in))
		return 0;
	tx_lie = (in.flags & 3) == 3;   /* rare: each lie costs a reconnect */
	rx_lie = (in.flags & 4) != 0 && (in.flags & 3) == 3;
	if (!fnb_f.connected)
		fnb_connect();
	fnb_put_tx(&in, is_req, ids);
	if (!fnb_push(&in, tx_lie, rx_lie)) {
		fw_check();
		return 0;
	}
	bool answered = fnb_wait_tx(fnb_f.tx.sring->req_prod);
	fnb_check_tx(tx_lie, is_req, ids, in.ntx);
	if (!rx_lie)
		fnb_check_rx();
	if (!answered || fw_state(fnb_be_dir) != XenbusStateConnected) {
		fnb_check_fatal(&in, tx_lie);   /* settled: the fatal hook has run */
		fnb_disconnect();
	} else {
		fnb_check_maps();
	}
	fw_check();
	return 0;
}
