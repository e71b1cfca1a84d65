/*
 * fuzz_netfront: the input is what a hostile backend answers the real
 * netfront (drivers/net) with, on the real sim (dom0 and guest1, free mode,
 * both loops run by the fuzzer's thread: fuzz/world.h). Set up once per process: a raw backend in dom0 (Xen's API only:
 * it maps the frontend's tx and rx rings and binds its event channel) and
 * netfront in guest1 (one queue, sg, GSO v4, checksum offload, 19 tx and 18
 * rx buffers). Per input: netfront sends 0..3 frames; the backend takes their
 * tx slots, writes the input's tx and rx responses, then answers the tx slots
 * still unanswered correctly, until every slot is answered or netfront failed.
 *
 * Input layout:
 *   [0]    flags: bits 0-1 = frames to send (a 200-byte frame, a 3000-byte
 *          one in two fragments, a TCP/IPv4 GSO frame, in turn); bits 2 and 3
 *          both set = tx rsp_prod lies by le32 [1..4]; bits 4 and 5 both set
 *          = rx rsp_prod lies by it (each lie costs a reopen, so rare)
 *   [5] ntx, [6] nrx: responses to write (at most FNF_RSP_MAX each)
 *   then   ntx * 4 bytes: tx responses {id le16, status le16}
 *   then   nrx * 8 bytes: rx responses {id, offset, flags, status: le16},
 *          each taking the next rx request posted
 * An id from FNF_ID_ALIAS up names the id of a slot seen (tx: the k-th slot
 * taken this input, k = id % slots; rx: the request it takes); other ids are
 * sent as they are.
 *
 * Invariants: frames netfront delivers are at most 64 KiB + headers; within
 * FW_WAIT_MS every slot is answered and netfront is back to its idle grant
 * count (rings and rx buffers), or it failed (terminal, with a reason), or,
 * after a lie, both loops are idle and good answers change nothing
 * FNF_LIE_ROUNDS times (left waiting); a
 * failed netfront closed, its grants all end once our backend unmapped the
 * rings; gnttab/evtchn/xenstore checks hold.
 */
#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/netif.h>

#include "drivers/net/netfront.h"
#include "drivers/xenbus/xenbus.h"
#include "fuzz/fuzz_common.h"
#include "fuzz/world.h"
#include "sim/gnttab/gnttab.h"

#define FNF_PAGE 4096u
#define FNF_RSP_MAX 64u
#define FNF_ID_ALIAS 0xff00u
#define FNF_LIE_ROUNDS 3u     /* after a lie: idle rounds until "left waiting" */
#define FNF_HDR 7u
#define FNF_TX_RSP_BYTES 4u
#define FNF_RX_RSP_BYTES 8u
#define FNF_FRAME_MAX (65535u + 14u + 4u)
#define FNF_SEEN_MAX 256u

static const char fnf_fe_dir[] = "/local/domain/1/device/vif/0";
static const char fnf_be_dir[] = "/local/domain/0/backend/vif/1/0";
#define fnf_xs fw_xs()   /* the toolstack's and the raw backend's (dom0) */

/* ==== the raw backend, dom0 ==== */

struct fnf_back {
	xengnttab_handle *gt;
	xenevtchn_handle *xce;
	evtchn_port_t port;
	void *tx_addr, *rx_addr;
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	uint16_t seen_id[FNF_SEEN_MAX];   /* tx slots taken this input */
	bool seen_extra[FNF_SEEN_MAX], answered[FNF_SEEN_MAX];
	unsigned nseen;
};

static struct fnf_back fnf_b;

static int fnf_back_connect_fn(void *arg)
{
	struct fnf_back *b = arg;
	uint64_t txr, rxr, port;
	int rc = xenbus_read_uint(fnf_xs, XBT_NULL, fnf_fe_dir, "tx-ring-ref", UINT32_MAX, &txr);

	rc = rc ? rc : xenbus_read_uint(fnf_xs, XBT_NULL, fnf_fe_dir, "rx-ring-ref", UINT32_MAX, &rxr);
	rc = rc ? rc : xenbus_read_uint(fnf_xs, XBT_NULL, fnf_fe_dir, "event-channel", UINT32_MAX, &port);
	/* The handles stay open across reconnects (as a backend keeps them);
	 * what a connection holds (the maps, the port) goes with it. */
	if (!b->gt)
		b->gt = xengnttab_open(NULL, 0);
	if (!b->xce)
		b->xce = xenevtchn_open(NULL, 0);
	if (rc || !b->gt || !b->xce)
		return -EIO;
	b->tx_addr = xengnttab_map_grant_ref(b->gt, 1, (uint32_t)txr, PROT_READ | PROT_WRITE);
	b->rx_addr = xengnttab_map_grant_ref(b->gt, 1, (uint32_t)rxr, PROT_READ | PROT_WRITE);
	xenevtchn_port_or_error_t p = xenevtchn_bind_interdomain(b->xce, 1, (uint32_t)port);
	if (!b->tx_addr || !b->rx_addr || p < 0)
		return -EIO;
	b->port = (evtchn_port_t)p;
	BACK_RING_INIT(&b->tx, (netif_tx_sring_t *)b->tx_addr, FNF_PAGE);
	BACK_RING_INIT(&b->rx, (netif_rx_sring_t *)b->rx_addr, FNF_PAGE);
	return xenbus_write_fmt(fnf_xs, XBT_NULL, fnf_be_dir, "state", "4");
}

static int fnf_back_disconnect_fn(void *arg)
{
	struct fnf_back *b = arg;

	xengnttab_handle *gt = b->gt;
	xenevtchn_handle *xce = b->xce;

	if (b->tx_addr)
		xengnttab_unmap(gt, b->tx_addr, 1);
	if (b->rx_addr)
		xengnttab_unmap(gt, b->rx_addr, 1);
	if (b->port)
		xenevtchn_unbind(xce, b->port);
	memset(b, 0, sizeof(*b));
	b->gt = gt;
	b->xce = xce;
	return 0;
}

/* ==== netfront, guest1 ==== */

struct fnf_front {
	struct netfront *nf;
	atomic_bool connected, failed;
	unsigned frames;                  /* to send this input */
	uint8_t buf[4096];
};

static struct fnf_front fnf_f;
static volatile uint8_t fnf_rx_sum;   /* so that reading each delivered byte is not optimized out */

static void fnf_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	uint8_t sum = 0;

	(void)arg, (void)nf;
	/* A runt (even 0 bytes) is passed up: netif.h allows any size, the
	 * stack above checks for an Ethernet header. Every byte must be there. */
	if (rx->len > FNF_FRAME_MAX)
		FUZZ_FAIL("netfront delivered a frame of %u bytes in %u slots", rx->len, rx->slots);
	for (uint32_t i = 0; i < rx->len; i++)
		sum ^= rx->data[i];
	fnf_rx_sum ^= sum;
}

static void fnf_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct fnf_front *f = arg;

	(void)nf;
	if (ev == NETFRONT_EV_CONNECTED)
		atomic_store(&f->connected, true);
	if (ev == NETFRONT_EV_FAILED)
		atomic_store(&f->failed, true);
}

static int fnf_open_fn(void *arg)
{
	struct fnf_front *f = arg;
	struct netfront_config cfg = {.base = fw_base(1), .devid = 0, .queues_max = 1,
				      .sg = true, .gso_tcpv4 = true, .csum = true, .rx_notify = true,
				      .tx_bufs = 19, .rx_bufs = 18, .on_rx = fnf_rx,
				      .on_event = fnf_event, .arg = f};

	atomic_store(&f->connected, false);
	atomic_store(&f->failed, false);
	return netfront_open(&cfg, &f->nf);
}

static int fnf_close_fn(void *arg)
{
	struct fnf_front *f = arg;

	netfront_close(f->nf);
	f->nf = NULL;
	return 0;
}

/* A TCP/IPv4 frame of len bytes to a MAC nobody has. */
static void fnf_frame(uint8_t *f, unsigned len)
{
	static const uint8_t hdr[] = {0x00, 0x16, 0x3e, 0, 0, 5, 0x00, 0x16, 0x3e, 0, 0, 1, 0x08, 0x00,
				      0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
				      0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x18, 0xff, 0xff,
				      0, 0, 0, 0};

	memset(f, 0x5a, len);
	memcpy(f, hdr, sizeof(hdr));
	f[16] = (uint8_t)((len - 14) >> 8);
	f[17] = (uint8_t)(len - 14);
}

static int fnf_send_fn(void *arg)
{
	struct fnf_front *f = arg;

	for (unsigned i = 0; i < f->frames; i++) {
		struct iovec iov[2] = {{f->buf, 200}, {f->buf, 0}};
		struct netfront_tx tx = {.iov = iov, .iovcnt = 1};
		fnf_frame(f->buf, sizeof(f->buf));
		if (i % 3 == 1) {
			iov[0].iov_len = 1500;
			iov[1] = (struct iovec){f->buf + 1500, 1500};
			tx.iovcnt = 2;
		} else if (i % 3 == 2) {
			iov[0].iov_len = 4096;
			tx.gso_type = XEN_NETIF_GSO_TYPE_TCPV4;
			tx.gso_size = 1448;
			tx.flags = NETFRONT_F_CSUM_PARTIAL;
		}
		netfront_send(f->nf, &tx);   /* -EAGAIN, -EINVAL: nothing sent, fine */
	}
	return 0;
}

static int fnf_stats_fn(void *arg)
{
	netfront_stats(fnf_f.nf, arg);
	return 0;
}

/* ==== the fuzzer's side ==== */

static bool fnf_connected(void *arg)
{
	(void)arg;
	return atomic_load(&fnf_f.connected);
}

static unsigned fnf_idle_grants;

static void fnf_open(void)
{
	struct netfront_stats st;

	fw_as(0);
	xenbus_write_fmt(fnf_xs, XBT_NULL, fnf_be_dir, "state", "2");
	if (fw_call(1, fnf_open_fn, &fnf_f) != 0)
		FUZZ_FAIL("netfront_open failed");
	fw_wait_state(fnf_fe_dir, XenbusStateConnected);   /* rings published */
	if (fw_call(0, fnf_back_connect_fn, &fnf_b) != 0)
		FUZZ_FAIL("the raw backend cannot map netfront's rings");
	if (!fw_wait(fnf_connected, NULL))
		FUZZ_FAIL("netfront did not connect in %u ms", FW_WAIT_MS);
	fw_call(1, fnf_stats_fn, &st);
	fnf_idle_grants = st.grant_pages;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *keys[] = {"mac", "00:16:3e:00:00:01", "handle", "0", NULL};
	static const char *be_keys[] = {"mac", "00:16:3e:00:00:01", "handle", "0", "type", "vif",
					"feature-rx-copy", "1", "feature-sg", "1", "feature-gso-tcpv4", "1",
					NULL};
	struct xenbus_device dev = {.type = "vif", .fe_domid = 1, .be_domid = 0, .devid = 0,
				    .fe_keys = keys, .be_keys = be_keys};

	(void)argc, (void)argv;
	fw_init();
	if (xenbus_device_create(fnf_xs, &dev) != 0)
		FUZZ_FAIL("cannot create the vif");
	fnf_open();
	return 0;
}

/* ==== one input, the backend's side (dom0) ==== */

struct fnf_play {
	const uint8_t *tx, *rx;
	unsigned ntx, nrx;
	bool tx_lie, rx_lie;
	uint32_t delta;
};

static void fnf_take_tx(struct fnf_back *b)
{
	RING_IDX rp = b->tx.sring->req_prod;
	bool extra = false;

	xen_rmb();
	if (rp - b->tx.req_cons > RING_SIZE(&b->tx))
		return;   /* netfront would not; the ring is not ours to judge here */
	while (b->tx.req_cons != rp && b->nseen < FNF_SEEN_MAX) {
		netif_tx_request_t r;
		RING_COPY_REQUEST(&b->tx, b->tx.req_cons, &r);
		b->tx.req_cons++;
		b->seen_extra[b->nseen] = extra;
		b->seen_id[b->nseen] = r.id;
		b->answered[b->nseen++] = false;
		extra = extra ? (((struct netif_extra_info *)&r)->flags & XEN_NETIF_EXTRA_FLAG_MORE) != 0
			      : (r.flags & NETTXF_extra_info) != 0;
	}
}

static void fnf_tx_put(struct fnf_back *b, uint16_t id, int16_t status)
{
	netif_tx_response_t *r = RING_GET_RESPONSE(&b->tx, b->tx.rsp_prod_pvt++);

	r->id = id;
	r->status = status;
}

static void fnf_tx_from_input(struct fnf_back *b, const uint8_t *in)
{
	uint16_t id;
	int16_t status;

	memcpy(&id, in, 2);
	memcpy(&status, in + 2, 2);
	if (b->nseen && id >= FNF_ID_ALIAS) {
		unsigned k = id % b->nseen;
		id = b->seen_id[k];
		b->answered[k] = true;
	}
	fnf_tx_put(b, id, status);
}

static void fnf_rx_from_input(struct fnf_back *b, const uint8_t *in)
{
	netif_rx_response_t r;
	netif_rx_request_t req;

	memcpy(&r, in, sizeof(r));
	RING_COPY_REQUEST(&b->rx, b->rx.req_cons, &req);
	b->rx.req_cons++;
	if (r.id >= FNF_ID_ALIAS)
		r.id = req.id;
	memcpy(RING_GET_RESPONSE(&b->rx, b->rx.rsp_prod_pvt++), &r, sizeof(r));
}

/* 1: something written (or lied about) and netfront notified; 0: nothing to
 * say, no event (an empty one is a storm netfront damps). */
static int fnf_play_fn(void *arg)
{
	struct fnf_play *p = arg;
	struct fnf_back *b = &fnf_b;
	unsigned rx_posted;

	if (!b->tx_addr)
		return 0;
	fnf_take_tx(b);
	RING_IDX tx_was = b->tx.rsp_prod_pvt, rx_was = b->rx.rsp_prod_pvt;
	for (unsigned i = 0; i < p->ntx; i++)
		fnf_tx_from_input(b, p->tx + i * FNF_TX_RSP_BYTES);
	rx_posted = b->rx.sring->req_prod - b->rx.req_cons;
	for (unsigned i = 0; i < p->nrx && i < rx_posted && i < RING_SIZE(&b->rx); i++)
		fnf_rx_from_input(b, p->rx + i * FNF_RX_RSP_BYTES);
	unsigned budget = b->nseen > p->ntx ? b->nseen - p->ntx : 0;   /* as fuzz_blkfront */
	for (unsigned k = 0; k < b->nseen && budget; k++)
		if (!b->answered[k]) {
			budget--;
			fnf_tx_put(b, b->seen_id[k], b->seen_extra[k] ? NETIF_RSP_NULL : NETIF_RSP_OKAY);
			b->answered[k] = true;
		}
	xen_wmb();
	b->tx.sring->rsp_prod = b->tx.rsp_prod_pvt + (p->tx_lie ? p->delta : 0);
	b->rx.sring->rsp_prod = b->rx.rsp_prod_pvt + (p->rx_lie ? p->delta : 0);
	if (b->tx.rsp_prod_pvt == tx_was && b->rx.rsp_prod_pvt == rx_was && !p->tx_lie && !p->rx_lie)
		return 0;
	xenevtchn_notify(b->xce, b->port);
	return 1;
}

static bool fnf_good(void *arg)
{
	struct fnf_play none = {0};

	(void)arg;
	return fw_call(0, fnf_play_fn, &none) > 0;
}

/* ==== one input ==== */

/* Idle again (every tx page back, the rx buffers refilled), or failed. */
static bool fnf_settled(void *arg)
{
	struct netfront_stats st;

	(void)arg;
	if (atomic_load(&fnf_f.failed))
		return true;
	fw_call(1, fnf_stats_fn, &st);
	return st.grant_pages == fnf_idle_grants;
}

/* false: still waiting after a lie, which is allowed (a producer index
 * behind what was written hides answers the frontend cannot know of). */
static bool fnf_wait(bool lied)
{
	if (fw_drive(fnf_settled, fnf_good, NULL, lied ? FNF_LIE_ROUNDS : 0, FW_WAIT_MS))
		return true;
	if (!lied)
		FUZZ_FAIL("netfront neither went idle (%u pages granted when idle) nor failed in %u ms",
			  fnf_idle_grants, FW_WAIT_MS);
	return false;
}

static bool fnf_grants_gone(void *arg)
{
	struct gnttab_stats g1;

	(void)arg;
	gnttab_stats(1, &g1);
	return g1.grants_active == 0;
}

static void fnf_reopen(void)
{
	struct gnttab_stats g1;

	fw_call(1, fnf_close_fn, &fnf_f);
	fw_call(0, fnf_back_disconnect_fn, &fnf_b);
	if (!fw_wait(fnf_grants_gone, NULL)) {
		gnttab_stats(1, &g1);
		FUZZ_FAIL("netfront closed after a failure leaves %llu grants",
			  (unsigned long long)g1.grants_active);
	}
	fw_as(0);
	xenbus_write_fmt(fnf_xs, XBT_NULL, fnf_be_dir, "state", "6");
	fnf_open();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fnf_play p = {0};
	size_t off = FNF_HDR;

	if (size < FNF_HDR)
		return 0;
	fnf_f.frames = data[0] & 3u;
	p.tx_lie = (data[0] & 0x0c) == 0x0c;
	p.rx_lie = (data[0] & 0x30) == 0x30;
	memcpy(&p.delta, data + 1, sizeof(p.delta));
	p.ntx = data[5] % (FNF_RSP_MAX + 1);
	p.nrx = data[6] % (FNF_RSP_MAX + 1);
	if (p.ntx > (size - off) / FNF_TX_RSP_BYTES)
		p.ntx = (unsigned)((size - off) / FNF_TX_RSP_BYTES);
	p.tx = data + off;
	off += p.ntx * FNF_TX_RSP_BYTES;
	if (p.nrx > (size - off) / FNF_RX_RSP_BYTES)
		p.nrx = (unsigned)((size - off) / FNF_RX_RSP_BYTES);
	p.rx = data + off;
	fnf_b.nseen = 0;
	fw_call(1, fnf_send_fn, &fnf_f);
	fw_settle();   /* the sends reach the ring */
	fw_call(0, fnf_play_fn, &p);
	/* Settled: guest1's handling is over, both loops are idle. */
	bool settled = fnf_wait(p.tx_lie || p.rx_lie);
	if (atomic_load(&fnf_f.failed) || !settled)
		fnf_reopen();   /* after a lie the rings are not worth going on with */
	fw_check();
	return 0;
}
