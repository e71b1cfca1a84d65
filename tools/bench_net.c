/*
 * `xensim bench net`: frames from guest 1 to guest 2 through the whole
 * network path, free mode, each domain on its own thread:
 *
 *   guest1 netfront -> dom0 netback (vif of dom1) -> sim switch
 *                   -> dom0 netback (vif of dom2) -> guest2 netfront
 *
 * One netback instance in dom0 serves both vifs (one backend per vif, as
 * Linux's netback does), one queue each, split event channels, rx-notify,
 * scatter-gather and GSO offered and accepted on both ends.
 *
 * Three phases per run, on the same connected world: 64-byte frames (pps),
 * 1500-byte frames and 64 KiB TCPv4 GSO frames (Gbit/s of frame bytes). Only
 * frames that arrive verified count: the receiver checks the length, the
 * addresses, a bench header (phase, sender, sequence, a tag of the three),
 * and a stamp of (sequence, offset) every 512 bytes and in the last 8 bytes,
 * so a truncated frame, a stale or misplaced buffer, or another frame's data
 * is caught without summing every byte. A frame that fails the check fails
 * the run; a frame lost (counted by netback or the switch) just does not
 * count. The sender keeps the tx ring full: it sends until -EAGAIN and
 * resumes on TX_READY; and, like TCP, it stays at most a window of frames
 * ahead of what the receiver verified (below netback's rx queue bound), so
 * a receiver that gets less CPU slows the sender instead of making netback
 * drop (on this shared 2-core machine a domain thread is often descheduled).
 * Rates are verified frames over the time from the first send to the last
 * frame verified.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <xenstore.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/netpkt.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/switch/switch.h"
#include "sim/xenstore/xs_store.h"
#include "tools/bench.h"

#define BN_GUESTS 2u
#define BN_DEVID 0u
#define BN_BURST 64u                 /* frames per turn of the sender's loop */
#define BN_WAIT_MS 30000u            /* bound on connecting, and on a phase without progress */
#define BN_IDLE_MS 500u              /* sender done, nothing verified this long: the rest is lost */
#define BN_POLL_MS 20u
#define BN_PARK_MS 50u               /* window shut this long without progress: the rest was lost */
#define BN_STAMP_STRIDE 512u
#define BN_STAMP_EVERY 256u          /* frames between two time stamps of the receiver */
#define BN_MAGIC 0x626e7378u         /* "xsnb" */
#define BN_ETHERTYPE 0x88B5u         /* local experimental */
#define BN_L4_HLEN 54u               /* Ethernet + IPv4 + TCP, no options */
#define BN_MSS 1448u

struct bn_hdr {                      /* right after the L2 (raw) or L4 (GSO) headers */
	uint32_t magic;
	uint32_t flow;               /* phase << 8 | sender index */
	uint64_t seq;
	uint32_t len;
	uint32_t tag;
};

/* BN_GSO64K_COPY runs on a second world whose netback takes every tx slot by
 * grant copy (NETBACK_TX_MAP_NEVER): the default maps fragments of
 * NETBACK_TX_MAP_THRESHOLD_DEFAULT bytes and more, and the two show what the
 * sim's real page mappings cost. */
enum bn_phase { BN_64B, BN_1500B, BN_GSO64K, BN_GSO64K_COPY, BN_PHASES };

struct bn_phase_def {
	const char *metric;
	uint32_t len;                /* frame bytes */
	bool gso;
	uint64_t count;              /* frames at scale 1.0: about a second each */
	unsigned window;             /* frames sent ahead of the receiver (below netback's rx queue bound) */
};

static const struct bn_phase_def bn_phases[BN_PHASES] = {
	[BN_64B] = {"net.64b.pps", 64, false, 400000, 768},
	[BN_1500B] = {"net.1500b.gbit", 1500, false, 250000, 768},
	[BN_GSO64K] = {"net.gso64k.gbit", NETPKT_FRAME_MAX, true, 25000, 48},
	[BN_GSO64K_COPY] = {"net.gso64k.copy.gbit", NETPKT_FRAME_MAX, true, 25000, 48},
};

static const struct bench_metric bn_metrics[] = {
	{"net.64b.pps", "pps", "ring.eventfd", 1000000, 0},
	{"net.1500b.gbit", "Gbit/s", "ceil.memcpy", 0, 0},
	{"net.gso64k.gbit", "Gbit/s", "ceil.memcpy", 20, 0},
	{"net.gso64k.copy.gbit", "Gbit/s", "ceil.memcpy", 0, 0},
	{NULL, NULL, NULL, 0, 0},
};

/* ---- frames: what the sender writes and the receiver checks ---- */

static uint64_t bn_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static uint32_t bn_tag(uint32_t flow, uint64_t seq, uint32_t len)
{
	return (uint32_t)bn_mix(seq * 0x9E3779B97F4A7C15ull ^ ((uint64_t)flow << 32 | len));
}

static uint64_t bn_stamp(uint32_t flow, uint64_t seq, uint32_t off)
{
	return bn_mix(seq ^ (uint64_t)off << 40 ^ (uint64_t)flow << 56);
}

static uint32_t bn_hdr_off(enum bn_phase ph)
{
	return bn_phases[ph].gso ? BN_L4_HLEN : NETPKT_ETH_HLEN;
}

/* The stamp offsets of a frame: every stride past the bench header, and
 * the last 8 bytes. */
static uint32_t bn_stamp_first(enum bn_phase ph)
{
	uint32_t end = bn_hdr_off(ph) + (uint32_t)sizeof(struct bn_hdr);

	return (end + BN_STAMP_STRIDE - 1) / BN_STAMP_STRIDE * BN_STAMP_STRIDE;
}

/* Headers that never change within a phase: addresses, and for GSO the
 * IPv4/TCP headers with a valid IP checksum and the partial TCP sum. */
static void bn_template(uint8_t *f, enum bn_phase ph, unsigned from, unsigned to)
{
	uint32_t len = bn_phases[ph].len;
	struct netpkt_hdrs h;

	memset(f, 0x5A, len);
	network_addr(to, f, NULL, NULL);
	network_addr(from, f + 6, NULL, NULL);
	if (!bn_phases[ph].gso) {
		f[12] = BN_ETHERTYPE >> 8, f[13] = BN_ETHERTYPE & 0xFF;
		return;
	}
	uint8_t *ip = f + NETPKT_ETH_HLEN, *tcp = ip + 20;
	uint32_t iplen = len - NETPKT_ETH_HLEN;
	f[12] = 0x08, f[13] = 0x00;
	memset(ip, 0, 40);
	ip[0] = 0x45, ip[2] = (uint8_t)(iplen >> 8), ip[3] = (uint8_t)iplen, ip[6] = 0x40, ip[8] = 64;
	ip[9] = NETPKT_PROTO_TCP;
	network_addr(from, NULL, ip + 12, NULL);
	network_addr(to, NULL, ip + 16, NULL);
	tcp[0] = 0x9c, tcp[1] = 0x40, tcp[2] = 0x13, tcp[3] = 0x89;   /* ports 40000 -> 5001 */
	tcp[12] = 5 << 4, tcp[13] = 0x18, tcp[14] = 0xFF, tcp[15] = 0xFF;   /* ACK|PSH, window */
	if (netpkt_parse(f, len, &h) == 0) {
		netpkt_ip_csum_fill(f, &h);
		netpkt_l4_csum_partial(f, &h);
	}
}

static void bn_put64(uint8_t *p, uint64_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint64_t bn_get64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* The parts that change per frame. */
static void bn_frame_seal(uint8_t *f, enum bn_phase ph, uint32_t flow, uint64_t seq)
{
	uint32_t len = bn_phases[ph].len;
	struct bn_hdr hd = {.magic = BN_MAGIC, .flow = flow, .seq = seq, .len = len, .tag = bn_tag(flow, seq, len)};

	if (bn_phases[ph].gso) {
		uint32_t tseq = (uint32_t)(seq * (len - BN_L4_HLEN));
		uint8_t *t = f + NETPKT_ETH_HLEN + 20 + 4;
		t[0] = (uint8_t)(tseq >> 24), t[1] = (uint8_t)(tseq >> 16), t[2] = (uint8_t)(tseq >> 8), t[3] = (uint8_t)tseq;
	}
	memcpy(f + bn_hdr_off(ph), &hd, sizeof(hd));
	for (uint32_t o = bn_stamp_first(ph); o + 16 <= len; o += BN_STAMP_STRIDE)
		bn_put64(f + o, bn_stamp(flow, seq, o));
	bn_put64(f + len - 8, bn_stamp(flow, seq, len - 8));
}

/* NULL if the frame is what bn_frame_seal wrote for some seq (in *seq). */
static const char *bn_frame_check(const uint8_t *f, uint32_t len, const uint8_t *tmpl, enum bn_phase ph,
				  uint32_t flow, uint64_t *seq)
{
	struct bn_hdr hd;

	if (len != bn_phases[ph].len)
		return "frame length";
	if (memcmp(f, tmpl, NETPKT_ETH_HLEN) != 0)
		return "Ethernet header";
	/* GSO: IPv4 and TCP headers as sent, the TCP sequence (38..41) aside. */
	if (bn_phases[ph].gso && (memcmp(f + 14, tmpl + 14, 24) != 0 || memcmp(f + 42, tmpl + 42, 12) != 0))
		return "IPv4/TCP headers";
	memcpy(&hd, f + bn_hdr_off(ph), sizeof(hd));
	if (hd.magic != BN_MAGIC || hd.flow != flow || hd.len != len || hd.tag != bn_tag(flow, hd.seq, len))
		return "bench header";
	for (uint32_t o = bn_stamp_first(ph); o + 16 <= len; o += BN_STAMP_STRIDE)
		if (bn_get64(f + o) != bn_stamp(flow, hd.seq, o))
			return "payload stamp";
	if (bn_get64(f + len - 8) != bn_stamp(flow, hd.seq, len - 8))
		return "last payload stamp";
	*seq = hd.seq;
	return NULL;
}

/* ---- the world ---- */

struct bn_guest {
	domid_t domid;
	unsigned index;
	struct netfront *nf;
	atomic_bool connected, failed;
	/* sender (guest 1), on its thread; the window (like TCP's) keeps it
	 * from running ahead of the receiver into netback's drops */
	struct bn_guest *peer;
	struct event *more, *park_timer;
	uint64_t floor;              /* frames below this count as answered (lost ones given up) */
	atomic_bool parked;          /* waiting for the window: the receiver wakes us */
	_Atomic uint64_t park_at;    /* sent, when parked */
	uint8_t *frame;              /* NETPKT_FRAME_MAX bytes */
	enum bn_phase ph;            /* both: set before the phase starts */
	uint64_t count, sent;
	bool blocked;
	_Atomic uint64_t t0_ns;
	atomic_int send_rc;
	atomic_bool send_done;
	/* receiver (guest 2), on its thread */
	uint8_t tmpl[BN_L4_HLEN];
	uint32_t rx_flow;
	uint64_t next, since_stamp;
	_Atomic uint64_t next_pub;   /* next, for the sender's window */
	_Atomic uint64_t verified, gaps, old, foreign, t_last_ns, verified_at_last;
	char bad[160];               /* the first frame that failed its check */
	atomic_bool bad_seen;
	struct netfront_stats nfs;   /* after the last phase (main thread) */
};

struct bn_world {
	struct xs_handle *xs;
	struct netback *nb;
	struct net_switch *sw;
	struct xenbus_device dev[BN_GUESTS];
	const char *fe_keys[BN_GUESTS][5], *be_keys[BN_GUESTS][7];
	char mac[BN_GUESTS][24];
	struct bn_guest g[BN_GUESTS];
	struct netback_stats nbs;
	struct switch_stats sws;
	bool tx_copy_only;           /* netback takes no tx fragment by grant map */
};

static const struct netback_config bn_be_cfg = {
	.queues_max = 1, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true, .ipv6_csum = true,
	.split_evtchn = true, .tx_slots_max = 32, .tx_slots_fatal = 40,
};

static int bn_back_start(void *arg)
{
	struct bn_world *w = arg;
	struct netback_config c = bn_be_cfg;
	int rc = switch_create(&(struct switch_config){.base = sim_domain_event_base()}, &w->sw);

	c.base = sim_domain_event_base();
	if (w->tx_copy_only)
		c.tx_map_threshold_bytes = NETBACK_TX_MAP_NEVER;
	c.link = &switch_netback_link;
	c.link_arg = w->sw;
	return rc ? rc : netback_start(&c, &w->nb);
}

static int bn_back_stats(void *arg)
{
	struct bn_world *w = arg;

	if (w->nb)
		netback_stats(w->nb, &w->nbs);
	if (w->sw)
		switch_stats(w->sw, &w->sws);
	return 0;
}

static int bn_back_stop(void *arg)
{
	struct bn_world *w = arg;

	bn_back_stats(w);
	if (w->nb)
		netback_stop(w->nb);   /* detaches both vifs from the switch */
	w->nb = NULL;
	if (w->sw) {
		switch_check(w->sw);
		switch_destroy(w->sw);
	}
	w->sw = NULL;
	return 0;
}

static int bn_home(struct xs_handle *xs, domid_t d)
{
	char path[64];
	struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	return xs_mkdir(xs, XBT_NULL, path) && xs_set_permissions(xs, XBT_NULL, path, &p, 1) ? 0 : -EIO;
}

static int bn_vif_create(struct bn_world *w, unsigned i)
{
	uint8_t m[6];

	network_addr(i, m, NULL, NULL);
	snprintf(w->mac[i], sizeof(w->mac[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	const char *fe[] = {"mac", w->mac[i], "handle", "0", NULL};
	const char *be[] = {"mac", w->mac[i], "handle", "0", "type", "vif", NULL};
	memcpy(w->fe_keys[i], fe, sizeof(fe));
	memcpy(w->be_keys[i], be, sizeof(be));
	w->dev[i] = (struct xenbus_device){.type = "vif", .fe_domid = i + 1, .be_domid = 0, .devid = BN_DEVID,
					   .fe_keys = w->fe_keys[i], .be_keys = w->be_keys[i]};
	return xenbus_device_create(w->xs, &w->dev[i]);
}

/* ---- the guests ---- */

static void bn_send_burst(struct bn_guest *g);

static void bn_send_more(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bn_send_burst(arg);
}

static bool bn_window_open(struct bn_guest *g)
{
	uint64_t acked = atomic_load_explicit(&g->peer->next_pub, memory_order_relaxed);

	return g->sent - (acked > g->floor ? acked : g->floor) < bn_phases[g->ph].window;
}

/* Window shut: park until the receiver catches up (it wakes us), or until
 * BN_PARK_MS pass without that (frames were lost). Parked and the
 * receiver's progress are each stored, then the other's read (both
 * seq_cst), so one of us sees the other: no lost wake-up. true: open again. */
static bool bn_park(struct bn_guest *g)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = BN_PARK_MS * 1000};

	atomic_store(&g->park_at, g->sent);
	atomic_store(&g->parked, true);
	if (bn_window_open(g) && atomic_exchange(&g->parked, false))
		return true;
	evtimer_add(g->park_timer, &tv);
	return false;
}

static void bn_park_expired(evutil_socket_t fd, short what, void *arg)
{
	struct bn_guest *g = arg;

	(void)fd;
	(void)what;
	if (!atomic_exchange(&g->parked, false))
		return;   /* woken meanwhile */
	g->floor = g->sent;
	bn_send_burst(g);
}

/* On the receiver's thread: wake a parked sender once half its window is free. */
static void bn_unpark(struct bn_guest *tx, uint64_t next)
{
	if (!atomic_load(&tx->parked) || atomic_load(&tx->park_at) - next > bn_phases[tx->ph].window / 2)
		return;
	if (atomic_exchange(&tx->parked, false))
		event_active(tx->more, EV_TIMEOUT, 0);   /* from another thread: libevent locks the base */
}

static void bn_send_finish(struct bn_guest *g, int rc)
{
	atomic_store(&g->send_rc, rc);
	atomic_store(&g->send_done, true);
}

/* Fill the tx ring, a burst per loop turn; -EAGAIN waits for TX_READY. */
static void bn_send_burst(struct bn_guest *g)
{
	const struct bn_phase_def *d = &bn_phases[g->ph];
	struct iovec iov = {.iov_base = g->frame, .iov_len = d->len};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};
	uint32_t flow = (uint32_t)g->ph << 8 | g->index;

	if (d->gso)
		tx = (struct netfront_tx){.iov = &iov, .iovcnt = 1, .flags = NETFRONT_F_CSUM_PARTIAL,
					  .gso_type = NETPKT_GSO_TCPV4, .gso_size = BN_MSS};
	for (unsigned n = 0; n < BN_BURST && g->sent < g->count; n++) {
		if (!bn_window_open(g) && !bn_park(g))
			return;
		bn_frame_seal(g->frame, g->ph, flow, g->sent);
		int rc = netfront_send(g->nf, &tx);
		if (rc == -EAGAIN) {
			g->blocked = true;
			return;
		}
		if (rc < 0) {
			bn_send_finish(g, rc);
			return;
		}
		g->sent++;
	}
	if (g->sent < g->count)
		event_active(g->more, EV_TIMEOUT, 0);
	else
		bn_send_finish(g, 0);
}

static void bn_rx_bad(struct bn_guest *g, const char *what, uint32_t len)
{
	if (atomic_load(&g->bad_seen))
		return;
	snprintf(g->bad, sizeof(g->bad), "guest %u: frame %lu of %u bytes failed the check: %s", g->index + 1,
		 (unsigned long)g->next, len, what);
	atomic_store(&g->bad_seen, true);
}

static void bn_rx_count(struct bn_guest *g, uint64_t seq)
{
	if (seq < g->next) {
		atomic_fetch_add_explicit(&g->old, 1, memory_order_relaxed);
		return;
	}
	if (seq > g->next)
		atomic_fetch_add_explicit(&g->gaps, seq - g->next, memory_order_relaxed);
	g->next = seq + 1;
	atomic_store(&g->next_pub, g->next);
	bn_unpark(g->peer, g->next);
	uint64_t v = atomic_load_explicit(&g->verified, memory_order_relaxed) + 1;
	atomic_store_explicit(&g->verified, v, memory_order_relaxed);
	if (++g->since_stamp >= BN_STAMP_EVERY || seq + 1 == g->count) {
		g->since_stamp = 0;
		atomic_store(&g->t_last_ns, bench_now_ns());
		atomic_store(&g->verified_at_last, v);
	}
}

/* A whole frame of another phase (one that arrived late): not this phase's
 * to count, and not corrupt either. */
static bool bn_rx_foreign(const struct bn_guest *g, const struct netfront_rx *rx)
{
	struct bn_hdr hd;

	for (unsigned ph = 0; ph < BN_PHASES; ph++) {
		if (ph == g->ph || rx->len != bn_phases[ph].len)
			continue;
		memcpy(&hd, rx->data + bn_hdr_off(ph), sizeof(hd));
		if (hd.magic == BN_MAGIC && hd.flow >> 8 == ph)
			return true;
	}
	return false;
}

static void bn_on_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct bn_guest *g = arg;
	uint64_t seq;

	(void)nf;
	if (bn_rx_foreign(g, rx)) {
		atomic_fetch_add_explicit(&g->foreign, 1, memory_order_relaxed);
		return;
	}
	const char *why = bn_frame_check(rx->data, rx->len, g->tmpl, g->ph, g->rx_flow, &seq);
	if (!why && bn_phases[g->ph].gso && (rx->gso_type != NETPKT_GSO_TCPV4 || rx->gso_size != BN_MSS))
		why = "GSO metadata (type, size) not as sent";
	if (why)
		bn_rx_bad(g, why, rx->len);
	else
		bn_rx_count(g, seq);
}

static void bn_on_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct bn_guest *g = arg;

	(void)nf;
	if (ev == NETFRONT_EV_CONNECTED)
		atomic_store(&g->connected, true);
	else if (ev == NETFRONT_EV_FAILED || ev == NETFRONT_EV_DISCONNECTED)
		atomic_store(&g->failed, true);
	else if (ev == NETFRONT_EV_TX_READY && g->blocked && g->more) {
		g->blocked = false;
		event_active(g->more, EV_TIMEOUT, 0);
	}
}

static int bn_guest_open(void *arg)
{
	struct bn_guest *g = arg;
	struct netfront_config c = {
		.base = sim_domain_event_base(), .devid = BN_DEVID, .queues_max = 1, .sg = true, .gso_tcpv4 = true,
		.gso_tcpv6 = true, .csum = true, .ipv6_csum = true, .split_evtchn = true, .rx_notify = true,
		.tx_slots_max = 32, .on_rx = bn_on_rx, .on_event = bn_on_event, .arg = g,
	};

	g->more = event_new(c.base, -1, 0, bn_send_more, g);
	g->park_timer = evtimer_new(c.base, bn_park_expired, g);
	g->frame = malloc(NETPKT_FRAME_MAX);
	if (!g->more || !g->park_timer || !g->frame)
		return -ENOMEM;
	return netfront_open(&c, &g->nf);
}

static int bn_guest_close(void *arg)
{
	struct bn_guest *g = arg;

	netfront_close(g->nf);
	g->nf = NULL;
	if (g->more)
		event_free(g->more);
	if (g->park_timer)
		event_free(g->park_timer);
	g->more = g->park_timer = NULL;
	free(g->frame);
	g->frame = NULL;
	return 0;
}

/* Receiver: expect phase g->ph from guest `from`. */
static int bn_rx_arm(void *arg)
{
	struct bn_guest *g = arg;
	bn_template(g->frame, g->ph, 0, g->index);   /* only the headers are kept */
	memcpy(g->tmpl, g->frame, sizeof(g->tmpl));
	g->rx_flow = (uint32_t)g->ph << 8 | 0u;
	g->next = g->since_stamp = 0;
	atomic_store(&g->next_pub, 0);
	atomic_store(&g->verified, 0);
	atomic_store(&g->verified_at_last, 0);
	atomic_store(&g->t_last_ns, 0);
	atomic_store(&g->gaps, 0);
	atomic_store(&g->old, 0);
	atomic_store(&g->foreign, 0);
	return 0;
}

static void bn_tx_start(void *arg)
{
	struct bn_guest *g = arg;

	bn_template(g->frame, g->ph, g->index, 1);
	g->sent = g->floor = 0;
	g->blocked = false;
	atomic_store(&g->parked, false);
	atomic_store(&g->t0_ns, bench_now_ns());
	bn_send_burst(g);
}

/* ---- a run ---- */

static void bn_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int bn_domains(void)
{
	static const char *const names[] = {"dom0", "guest1", "guest2"};
	int rc = 0;

	sim_reset();
	for (int d = 0; rc >= 0 && d <= (int)BN_GUESTS; d++)
		rc = sim_domain_create(&(struct sim_domain_config){
			.name = names[d], .domid = d, .privileged = d == 0, .mem_bytes = (d ? 64u : 128u) << 20});
	xs_store_reset();
	return rc < 0 ? rc : sim_thread_enter(0);
}

static int bn_wait_connected(struct bench_run *r, struct bn_world *w)
{
	uint64_t deadline = bench_now_ns() + BN_WAIT_MS * 1000000ull;

	for (;;) {
		bool all = true;
		for (unsigned i = 0; i < BN_GUESTS; i++) {
			if (atomic_load(&w->g[i].failed)) {
				bench_log(r, "guest %u's netfront failed or disconnected while connecting", i + 1);
				return -EIO;
			}
			all = all && atomic_load(&w->g[i].connected);
		}
		if (all)
			return 0;
		if (bench_now_ns() > deadline) {
			bench_log(r, "the vifs did not connect within %u ms", BN_WAIT_MS);
			return -ETIMEDOUT;
		}
		bn_sleep_ms(1);
	}
}

static int bn_world_up(struct bench_run *r, struct bn_world *w)
{
	int rc = bn_domains();

	if (rc < 0) {
		bench_log(r, "creating dom0 and %u guests failed: %s", BN_GUESTS, strerror(-rc));
		return rc;
	}
	w->xs = xs_open(0);
	for (unsigned d = 0; w->xs && rc == 0 && d <= BN_GUESTS; d++)
		rc = bn_home(w->xs, (domid_t)d);
	if (!w->xs || rc < 0) {
		bench_log(r, "xenstore: the domains' homes could not be made");
		return -EIO;
	}
	rc = sim_domain_call(0, bn_back_start, w);
	for (unsigned i = 0; rc == 0 && i < BN_GUESTS; i++) {
		struct bn_guest *g = &w->g[i];
		g->index = i;
		g->domid = (domid_t)(i + 1);
		g->peer = &w->g[(i + 1) % BN_GUESTS];
		rc = bn_vif_create(w, i);
		if (rc == 0)
			rc = sim_domain_call(g->domid, bn_guest_open, g);
	}
	if (rc < 0) {
		bench_log(r, "starting netback, the switch and the netfronts failed: %s", strerror(-rc));
		return rc;
	}
	return bn_wait_connected(r, w);
}

static void bn_world_down(struct bn_world *w)
{
	/* The receiver first: it may wake the sender's loop until it is closed. */
	for (unsigned i = BN_GUESTS; i-- > 0;)
		if (w->g[i].domid)
			sim_domain_call(w->g[i].domid, bn_guest_close, &w->g[i]);
	if (w->nb || w->sw)
		sim_domain_call(0, bn_back_stop, w);
	for (unsigned i = 0; w->xs && i < BN_GUESTS; i++)
		if (w->dev[i].type)
			xenbus_device_remove(w->xs, &w->dev[i]);
	if (w->xs)
		xs_close(w->xs);
	sim_thread_leave();
	sim_reset();
}

/* Wait until every frame arrived, or nothing arrived for BN_IDLE_MS after
 * the sender finished (the rest was dropped somewhere and counted there). */
static int bn_phase_wait(struct bench_run *r, struct bn_guest *tx, struct bn_guest *rx)
{
	uint64_t seen = 0, changed = bench_now_ns();

	for (;;) {
		bn_sleep_ms(BN_POLL_MS);
		uint64_t v = atomic_load(&rx->verified), now = bench_now_ns();
		if (atomic_load(&rx->bad_seen)) {
			bench_log(r, "%s", rx->bad);
			return -EIO;
		}
		if (atomic_load(&tx->failed) || atomic_load(&rx->failed)) {
			bench_log(r, "a netfront failed or disconnected during %s", bn_phases[tx->ph].metric);
			return -EIO;
		}
		if (atomic_load(&tx->send_done) && atomic_load(&tx->send_rc) < 0) {
			bench_log(r, "netfront_send failed: %s", strerror(-atomic_load(&tx->send_rc)));
			return atomic_load(&tx->send_rc);
		}
		if (v >= tx->count)
			return 0;
		if (v != seen) {
			seen = v;
			changed = now;
		} else if (now - changed > (atomic_load(&tx->send_done) ? BN_IDLE_MS : BN_WAIT_MS) * 1000000ull) {
			if (atomic_load(&tx->send_done))
				return 0;
			bench_log(r, "%s: no frame verified for %u ms (%lu of %lu)", bn_phases[tx->ph].metric,
				  BN_WAIT_MS, (unsigned long)v, (unsigned long)tx->count);
			return -ETIMEDOUT;
		}
	}
}

static int bn_guest_stats(void *arg)
{
	struct bn_guest *g = arg;

	netfront_stats(g->nf, &g->nfs);
	return 0;
}

/* What a phase cost in events and what it lost, when something was lost
 * (or always with XENSIM_BENCH_NET_VERBOSE set). */
static void bn_phase_note(struct bench_run *r, struct bn_world *w, enum bn_phase ph, uint64_t count)
{
	struct bn_guest *tx = &w->g[0], *rx = &w->g[1];
	struct netback_stats nb0 = w->nbs;
	struct switch_stats sw0 = w->sws;
	struct netfront_stats tx0 = tx->nfs, rx0 = rx->nfs;
	uint64_t v = atomic_load(&rx->verified);

	sim_domain_call(0, bn_back_stats, w);
	sim_domain_call(tx->domid, bn_guest_stats, tx);
	sim_domain_call(rx->domid, bn_guest_stats, rx);
	if (v == count && !atomic_load(&rx->old) && !getenv("XENSIM_BENCH_NET_VERBOSE"))
		return;
	bench_log(r, "%s: %lu of %lu frames verified, %lu missing in sequence, %lu old; netback dropped "
		  "%lu (queue full), %lu tx errors; switch lost %lu; events: netback %lu (%lu spurious, %lu delayed), "
		  "sender %lu, receiver %lu", bn_phases[ph].metric, (unsigned long)v, (unsigned long)count,
		  (unsigned long)atomic_load(&rx->gaps), (unsigned long)atomic_load(&rx->old),
		  (unsigned long)(w->nbs.rx_dropped_full - nb0.rx_dropped_full),
		  (unsigned long)(w->nbs.tx_dropped - nb0.tx_dropped), (unsigned long)(w->sws.dropped_loss - sw0.dropped_loss),
		  (unsigned long)(w->nbs.events - nb0.events),
		  (unsigned long)(w->nbs.events_spurious - nb0.events_spurious),
		  (unsigned long)(w->nbs.events_delayed - nb0.events_delayed),
		  (unsigned long)(tx->nfs.events - tx0.events), (unsigned long)(rx->nfs.events - rx0.events));
}

static int bn_phase_run(struct bench_run *r, struct bn_world *w, enum bn_phase ph)
{
	struct bn_guest *tx = &w->g[0], *rx = &w->g[1];
	const struct bn_phase_def *d = &bn_phases[ph];
	uint64_t count = bench_count(r, d->count);

	tx->ph = rx->ph = ph;
	tx->count = rx->count = count;
	atomic_store(&tx->send_done, false);
	atomic_store(&tx->send_rc, 0);
	int rc = sim_domain_call(rx->domid, bn_rx_arm, rx);
	if (rc == 0)
		rc = sim_domain_post(tx->domid, bn_tx_start, tx);
	if (rc == 0)
		rc = bn_phase_wait(r, tx, rx);
	if (rc < 0)
		return rc;
	bn_phase_note(r, w, ph, count);
	uint64_t n = atomic_load(&rx->verified_at_last), t0 = atomic_load(&tx->t0_ns);
	uint64_t t1 = atomic_load(&rx->t_last_ns);
	if (n == 0 || t1 <= t0) {
		bench_log(r, "%s: no frame arrived verified", d->metric);
		return -EIO;
	}
	double ns = (double)(t1 - t0);
	bench_put(r, d->metric, d->gso || d->len > 64 ? (double)n * d->len * 8.0 / ns : (double)n * 1e9 / ns);
	return 0;
}

/* Phases [first, last) on a freshly connected world. */
static int bn_world_run(struct bench_run *r, bool copy_only, enum bn_phase first, enum bn_phase last)
{
	struct bn_world *w = calloc(1, sizeof(*w));
	int rc = -ENOMEM;

	if (w) {
		w->tx_copy_only = copy_only;
		rc = bn_world_up(r, w);
	}
	for (int ph = first; rc == 0 && ph < (int)last; ph++)
		rc = bn_phase_run(r, w, (enum bn_phase)ph);
	if (w)
		bn_world_down(w);
	free(w);
	return rc;
}

static int bn_run(struct bench_run *r)
{
	int rc = bn_world_run(r, false, BN_64B, BN_GSO64K_COPY);

	return rc ? rc : bn_world_run(r, true, BN_GSO64K_COPY, BN_PHASES);
}

const struct bench bench_net = {
	.name = "net",
	.what = "frames guest to guest through two vifs of netback and the switch: 64 B pps, 1500 B and 64 KiB GSO "
		"Gbit/s (GSO also with tx grant copy only)",
	.metrics = bn_metrics,
	.runs = 0,
	.run = bn_run,
	.one_cpu_too = 1,
};
