/*
 * The workload's state machine on one guest: bulk streams and pings out,
 * their checks and echoes in. One pump sends what is due, in this order:
 * echoes of pings, acks, pings, bulk data; it stops at -EAGAIN and goes on
 * at TX_READY, stops while the backend is away and goes on at CONNECTED.
 * Nothing is ever resent: a frame lost is found as a hole by its receiver.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/network_internal.h"

struct network_hole {
	uint64_t lo, hi;
};

/* Everything between this guest and one other. */
struct network_peer {
	struct network *pe_w;
	unsigned pe_index;
	bool pe_ipv6;
	uint16_t pe_ip_id;
	/* the bulk stream to the peer */
	uint64_t pe_tx_key;
	uint64_t pe_next, pe_acked;         /* stream offsets */
	uint32_t pe_msgs;                   /* messages started */
	uint32_t pe_msg_left;               /* payload bytes of the current one still to send */
	struct event *pe_ack_timer;
	uint64_t pe_timer_acked;            /* pe_acked when the timer was armed */
	/* the bulk stream from the peer */
	uint64_t pe_rx_key;
	uint64_t pe_expected;               /* the next offset in order */
	uint64_t pe_ack_sent;               /* what our last ack said */
	bool pe_ack_pending;
	struct network_hole pe_holes[NETWORK_HOLES_MAX];
	unsigned pe_nholes;
	uint64_t pe_forgotten;              /* bytes of holes dropped from a full table */
	/* pings to the peer */
	uint32_t pe_pings;                  /* sent */
	bool pe_ping_out;
	uint32_t pe_ping_seq;
	struct event *pe_ping_timer;
};

struct network_pong {
	unsigned pp_peer;
	uint32_t pp_seq;
	uint16_t pp_len;
};

struct network {
	struct netfront *nw_nf;
	struct network_config nw_cfg;
	struct netfront_info nw_info;
	bool nw_up;                         /* connected, with carrier */
	uint64_t nw_rng;
	struct network_peer nw_peers[NETWORK_PEERS_MAX];
	struct network_pong nw_pongs[NETWORK_PONGS_MAX];
	unsigned nw_npongs;
	unsigned nw_rr;                     /* round robin over peers */
	struct event *nw_pump_ev;
	uint8_t *nw_buf;                    /* one frame being built */
	uint8_t *nw_scratch;                /* expected bytes, to compare */
	struct network_result nw_res;
};

static void network_fail(struct network *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void network_fail(struct network *w, const char *fmt, ...)
{
	va_list ap;

	w->nw_res.corrupt++;
	if (w->nw_res.failure[0])
		return;
	va_start(ap, fmt);
	vsnprintf(w->nw_res.failure, sizeof(w->nw_res.failure), fmt, ap);
	va_end(ap);
}

static uint32_t network_rand(struct network *w, uint32_t lo, uint32_t hi)
{
	w->nw_rng = network_mix(w->nw_rng + 0x9E3779B97F4A7C15ull);
	return lo + (uint32_t)(w->nw_rng % ((uint64_t)hi - lo + 1));
}

static uint32_t network_mss(bool ipv6)
{
	return NETPKT_MTU - (ipv6 ? 60u : 40u);
}

static void network_timer_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

static bool network_partial_ok(const struct network *w, bool ipv6)
{
	return w->nw_cfg.offload && (!ipv6 || w->nw_info.tx_ipv6_csum);
}

/* ---- sending ---- */

/* Hand the frame in nw_buf to netfront, cut into fragments. */
static int network_send(struct network *w, uint32_t len, uint32_t hlen, bool partial, uint8_t gso_type,
			uint16_t gso_size, uint32_t hash)
{
	struct iovec iov[NETWORK_FRAGS_MAX];
	unsigned n = 0;
	uint32_t off = hlen;

	iov[n++] = (struct iovec){.iov_base = w->nw_buf, .iov_len = hlen};
	while (off < len) {
		uint32_t piece = n + 1 == NETWORK_FRAGS_MAX ? len - off : network_rand(w, 1024, 16384);
		if (piece > len - off)
			piece = len - off;
		iov[n++] = (struct iovec){.iov_base = w->nw_buf + off, .iov_len = piece};
		off += piece;
	}
	struct netfront_tx tx = {.iov = iov, .iovcnt = n, .flags = partial ? NETFRONT_F_CSUM_PARTIAL : 0,
				 .gso_type = gso_type, .gso_size = gso_size, .hash = hash};
	int rc = netfront_send(w->nw_nf, &tx);
	if (rc == 0) {
		w->nw_res.frames_sent++;
		w->nw_res.bytes_sent += len;
		w->nw_res.gso_sent += gso_type != 0;
		w->nw_res.csum_partial_sent += partial;
	}
	return rc;
}

static void network_ctl(uint8_t *c, uint32_t magic, uint8_t kind, unsigned src, unsigned dst, uint64_t v)
{
	memset(c, 0, NETWORK_CTRL_BYTES);
	for (unsigned i = 0; i < 4; i++)
		c[i] = (uint8_t)(magic >> (24 - 8 * i));
	c[4] = kind;
	c[5] = (uint8_t)src;
	c[6] = (uint8_t)dst;
	for (unsigned i = 0; i < 8; i++)
		c[8 + i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint32_t network_ctl_magic(const uint8_t *c)
{
	return (uint32_t)c[0] << 24 | (uint32_t)c[1] << 16 | (uint32_t)c[2] << 8 | c[3];
}

static uint64_t network_ctl_value(const uint8_t *c)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v = v << 8 | c[8 + i];
	return v;
}

/* A UDP frame of plen payload bytes: the control header, then a pattern. */
static int network_send_ctrl(struct network_peer *pe, uint16_t sport, uint16_t dport, const uint8_t *ctl,
			     uint32_t plen, uint64_t pattern_key)
{
	struct network *w = pe->pe_w;
	struct network_hdr h = {.ipv6 = pe->pe_ipv6, .proto = NETPKT_PROTO_UDP, .src = w->nw_cfg.index,
				.dst = pe->pe_index, .sport = sport, .dport = dport, .ip_id = pe->pe_ip_id};
	unsigned hl = network_hdr_build(w->nw_buf, &h, plen);
	bool partial = network_partial_ok(w, pe->pe_ipv6);

	memcpy(w->nw_buf + hl, ctl, NETWORK_CTRL_BYTES);
	network_fill(w->nw_buf + hl + NETWORK_CTRL_BYTES, pattern_key, 0, plen - NETWORK_CTRL_BYTES);
	network_csum(w->nw_buf, hl + plen, partial);
	int rc = network_send(w, hl + plen, hl, partial, 0, 0, (uint32_t)sport * 31u + dport);
	if (rc == 0)
		pe->pe_ip_id++;
	return rc;
}

static uint64_t network_ack_key(const struct network_peer *pe, uint64_t v)
{
	return pe->pe_rx_key ^ network_mix(v);
}

static int network_send_ack(struct network_peer *pe)
{
	struct network *w = pe->pe_w;
	uint8_t ctl[NETWORK_CTRL_BYTES];

	network_ctl(ctl, NETWORK_MAGIC_ACK, 0, w->nw_cfg.index, pe->pe_index, pe->pe_expected);
	/* Two pattern bytes: at least a minimal Ethernet frame over IPv4. */
	int rc = network_send_ctrl(pe, (uint16_t)(NETWORK_PORT_BASE + w->nw_cfg.index), NETWORK_PORT_ACK, ctl,
				   NETWORK_CTRL_BYTES + 2, network_ack_key(pe, pe->pe_expected));
	if (rc == 0) {
		pe->pe_ack_sent = pe->pe_expected;
		pe->pe_ack_pending = false;
		w->nw_res.acks_sent++;
	}
	return rc;
}

/* A ping from us (pong false), or the echo of the peer's ping. */
static int network_send_ping(struct network_peer *pe, uint32_t seq, uint16_t len, bool pong)
{
	struct network *w = pe->pe_w;
	unsigned me = w->nw_cfg.index, peer = pe->pe_index;
	unsigned hl = network_hdr_len(pe->pe_ipv6, NETPKT_PROTO_UDP);
	unsigned from = pong ? peer : me, to = pong ? me : peer;
	uint8_t ctl[NETWORK_CTRL_BYTES];

	network_ctl(ctl, NETWORK_MAGIC_PING, pong ? NETWORK_PING_RSP : NETWORK_PING_REQ, from, to, seq);
	return network_send_ctrl(pe, pong ? NETWORK_PORT_PING : (uint16_t)(NETWORK_PORT_BASE + me),
				 pong ? (uint16_t)(NETWORK_PORT_BASE + peer) : NETWORK_PORT_PING, ctl, len - hl,
				 network_ping_key(w->nw_cfg.seed, from, to, seq));
}

static void network_arm_ack_timer(struct network_peer *pe)
{
	if (pe->pe_next == pe->pe_acked || evtimer_pending(pe->pe_ack_timer, NULL))
		return;
	pe->pe_timer_acked = pe->pe_acked;
	network_timer_ms(pe->pe_ack_timer, pe->pe_w->nw_cfg.timeout_ms);
}

static uint32_t network_message_size(struct network *w, bool ipv6)
{
	const struct network_config *c = &w->nw_cfg;
	uint32_t mtu_frame = NETPKT_MTU + NETPKT_ETH_HLEN;
	uint32_t lo = c->size_min, hi = c->size_max;
	uint32_t floor = network_hdr_len(ipv6, NETPKT_PROTO_TCP) + 1;

	if (hi > mtu_frame && network_rand(w, 0, 99) < c->large_pct)
		lo = lo > mtu_frame + 1 ? lo : mtu_frame + 1;
	else if (hi > mtu_frame)
		hi = lo > mtu_frame ? lo : mtu_frame;
	uint32_t size = network_rand(w, lo, hi);
	return size < floor ? floor : size;
}

/* The next frame of the bulk stream to pe. 1 sent, 0 nothing due, -errno. */
static int network_send_bulk(struct network_peer *pe)
{
	struct network *w = pe->pe_w;
	bool v6 = pe->pe_ipv6;
	uint32_t mss = network_mss(v6);

	if (pe->pe_msg_left == 0) {
		if (pe->pe_msgs == w->nw_cfg.messages || pe->pe_next - pe->pe_acked >= w->nw_cfg.window_bytes)
			return 0;
		pe->pe_msg_left = network_message_size(w, v6) - network_hdr_len(v6, NETPKT_PROTO_TCP);
		pe->pe_msgs++;
	}
	bool gso_ok = w->nw_cfg.offload && (v6 ? w->nw_info.tx_gso_tcpv6 : w->nw_info.tx_gso_tcpv4);
	uint32_t n = pe->pe_msg_left > mss && !gso_ok ? mss : pe->pe_msg_left;
	bool last = n == pe->pe_msg_left, gso = n > mss, partial = network_partial_ok(w, v6);
	struct network_hdr h = {.ipv6 = v6, .proto = NETPKT_PROTO_TCP, .src = w->nw_cfg.index, .dst = pe->pe_index,
				.sport = (uint16_t)(NETWORK_PORT_BASE + w->nw_cfg.index), .dport = NETWORK_PORT_DATA,
				.seq = (uint32_t)pe->pe_next, .ip_id = pe->pe_ip_id,
				.tcp_flags = (uint8_t)(NETWORK_TCP_ACK | (last ? NETWORK_TCP_PSH : 0))};
	unsigned hl = network_hdr_build(w->nw_buf, &h, n);
	network_fill(w->nw_buf + hl, pe->pe_tx_key, pe->pe_next, n);
	network_csum(w->nw_buf, hl + n, partial);
	int rc = network_send(w, hl + n, hl, partial, gso ? (v6 ? NETPKT_GSO_TCPV6 : NETPKT_GSO_TCPV4) : 0,
			      gso ? (uint16_t)mss : 0, (uint32_t)pe->pe_tx_key);
	if (rc < 0)
		return rc;
	pe->pe_next += n;
	pe->pe_msg_left -= n;
	pe->pe_ip_id = (uint16_t)(pe->pe_ip_id + (gso ? (n + mss - 1) / mss : 1));
	network_arm_ack_timer(pe);
	return 1;
}

static int network_send_pong(struct network *w)
{
	struct network_pong *p = &w->nw_pongs[0];
	int rc = network_send_ping(&w->nw_peers[p->pp_peer], p->pp_seq, p->pp_len, true);

	if (rc < 0)
		return rc;
	memmove(w->nw_pongs, w->nw_pongs + 1, --w->nw_npongs * sizeof(*p));
	w->nw_res.pongs_sent++;
	return 1;
}

static int network_send_new_ping(struct network_peer *pe)
{
	struct network *w = pe->pe_w;
	uint32_t floor = network_hdr_len(pe->pe_ipv6, NETPKT_PROTO_UDP) + NETWORK_CTRL_BYTES;
	uint16_t len = (uint16_t)network_rand(w, floor > NETPKT_ETH_ZLEN ? floor : NETPKT_ETH_ZLEN,
					      NETPKT_MTU + NETPKT_ETH_HLEN);
	int rc = network_send_ping(pe, pe->pe_pings, len, false);

	if (rc < 0)
		return rc;
	pe->pe_ping_seq = pe->pe_pings++;
	pe->pe_ping_out = true;
	w->nw_res.pings_sent++;
	network_timer_ms(pe->pe_ping_timer, w->nw_cfg.timeout_ms);
	return 1;
}

/* One frame of whatever is due. 1 sent, 0 nothing due, -errno. */
static int network_send_next(struct network *w)
{
	unsigned peers = w->nw_cfg.peers, me = w->nw_cfg.index;
	int rc = 0;

	if (w->nw_npongs)
		return network_send_pong(w);
	for (unsigned p = 0; p < peers; p++)
		if (p != me && w->nw_peers[p].pe_ack_pending)
			return (rc = network_send_ack(&w->nw_peers[p])) ? rc : 1;
	for (unsigned i = 0; i < peers; i++) {
		struct network_peer *pe = &w->nw_peers[(w->nw_rr + i) % peers];
		if (pe->pe_index != me && !pe->pe_ping_out && pe->pe_pings < w->nw_cfg.pings)
			return network_send_new_ping(pe);
	}
	for (unsigned i = 0; i < peers && rc == 0; i++) {
		unsigned p = (w->nw_rr + i) % peers;
		if (p != me && (rc = network_send_bulk(&w->nw_peers[p])) != 0)
			w->nw_rr = (p + 1) % peers;
	}
	return rc;
}

static bool network_done(const struct network *w)
{
	for (unsigned p = 0; p < w->nw_cfg.peers; p++) {
		const struct network_peer *pe = &w->nw_peers[p];
		if (p == w->nw_cfg.index)
			continue;
		if (pe->pe_msgs < w->nw_cfg.messages || pe->pe_msg_left || pe->pe_acked != pe->pe_next)
			return false;
		if (pe->pe_ping_out || pe->pe_pings < w->nw_cfg.pings)
			return false;
	}
	return true;
}

static void network_pump(struct network *w)
{
	unsigned budget = NETWORK_PUMP_BUDGET;
	int rc = 1;

	if (w->nw_cfg.held)
		return;
	while (w->nw_up && budget && rc > 0) {
		rc = network_send_next(w);
		budget -= rc > 0;
	}
	if (rc == -EAGAIN)
		w->nw_res.send_again++;   /* TX_READY brings us back */
	else if (rc == -ENOTCONN || rc == -ENETDOWN)
		w->nw_up = false;         /* CONNECTED or CARRIER brings us back */
	else if (rc < 0 && rc != -EIO)
		network_fail(w, "guest %u: netfront refused a frame: %s", w->nw_cfg.index, strerror(-rc));
	if (rc > 0 && budget == 0)
		event_active(w->nw_pump_ev, EV_TIMEOUT, 0);
	if (!w->nw_res.finished && network_done(w)) {
		w->nw_res.finished = true;
		if (w->nw_cfg.finished)
			w->nw_cfg.finished(w->nw_cfg.arg);
	}
}

static void network_pump_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	network_pump(arg);
}

/* ---- timers ---- */

static void network_ack_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct network_peer *pe = arg;

	(void)fd;
	(void)what;
	if (pe->pe_acked != pe->pe_next && pe->pe_acked == pe->pe_timer_acked) {
		/* No word from the receiver for a whole timeout: what is in flight
		 * is either there or lost, and the receiver will tell which. */
		pe->pe_w->nw_res.ack_timeouts++;
		pe->pe_acked = pe->pe_next;
	}
	network_arm_ack_timer(pe);
	network_pump(pe->pe_w);
}

static void network_ping_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct network_peer *pe = arg;

	(void)fd;
	(void)what;
	if (!pe->pe_ping_out)
		return;
	pe->pe_ping_out = false;
	pe->pe_w->nw_res.ping_timeouts++;
	network_pump(pe->pe_w);
}

/* ---- receiving ---- */

/* Bytes [lo, hi) arrived behind the expected offset: a hole they fill
 * (out of order) or bytes seen already (a duplicate). */
static void network_rx_late(struct network_peer *pe, uint64_t lo, uint64_t hi)
{
	struct network *w = pe->pe_w;

	for (unsigned i = 0; i < pe->pe_nholes; i++) {
		struct network_hole *h = &pe->pe_holes[i];
		if (lo < h->lo || hi > h->hi)
			continue;
		w->nw_res.out_of_order++;
		if (lo == h->lo && hi == h->hi) {
			*h = pe->pe_holes[--pe->pe_nholes];
		} else if (lo == h->lo) {
			h->lo = hi;
		} else if (hi == h->hi) {
			h->hi = lo;
		} else if (pe->pe_nholes < NETWORK_HOLES_MAX) {
			pe->pe_holes[pe->pe_nholes++] = (struct network_hole){.lo = hi, .hi = h->hi};
			h->hi = lo;
		} else {
			pe->pe_forgotten += h->hi - hi;
			h->hi = lo;
		}
		return;
	}
	w->nw_res.duplicates++;
}

static void network_rx_hole(struct network_peer *pe, uint64_t lo, uint64_t hi)
{
	if (pe->pe_nholes == NETWORK_HOLES_MAX) {
		pe->pe_forgotten += pe->pe_holes[0].hi - pe->pe_holes[0].lo;
		pe->pe_holes[0] = pe->pe_holes[--pe->pe_nholes];
	}
	pe->pe_holes[pe->pe_nholes++] = (struct network_hole){.lo = lo, .hi = hi};
}

static void network_rx_data(struct network *w, struct network_peer *pe, const struct network_view *v)
{
	/* The 32-bit sequence number, placed near where we are in the stream. */
	uint64_t off = pe->pe_expected + (uint64_t)(int64_t)(int32_t)(v->seq - (uint32_t)pe->pe_expected);

	if (v->dport != NETWORK_PORT_DATA || v->sport != NETWORK_PORT_BASE + pe->pe_index) {
		network_fail(w, "guest %u: TCP frame from guest %u to port %u", w->nw_cfg.index, pe->pe_index, v->dport);
		return;
	}
	network_fill(w->nw_scratch, pe->pe_rx_key, off, v->plen);
	if (memcmp(w->nw_scratch, v->payload, v->plen) != 0) {
		network_fail(w, "guest %u: %u bytes from guest %u at stream offset %" PRIu64 " are not what was sent",
			     w->nw_cfg.index, v->plen, pe->pe_index, off);
		return;
	}
	if (off >= pe->pe_expected) {
		if (off > pe->pe_expected)
			network_rx_hole(pe, pe->pe_expected, off);
		pe->pe_expected = off + v->plen;
	} else {
		network_rx_late(pe, off, off + v->plen);
	}
	w->nw_res.frames_verified++;
	if ((v->tcp_flags & NETWORK_TCP_PSH) || pe->pe_expected - pe->pe_ack_sent >= w->nw_cfg.window_bytes / 4)
		pe->pe_ack_pending = pe->pe_expected != pe->pe_ack_sent;
}

static void network_rx_ack(struct network *w, struct network_peer *pe, const struct network_view *v,
			   const uint8_t *ctl)
{
	uint64_t acked = network_ctl_value(ctl);

	network_fill(w->nw_scratch, pe->pe_tx_key ^ network_mix(acked), 0, v->plen - NETWORK_CTRL_BYTES);
	if (memcmp(w->nw_scratch, v->payload + NETWORK_CTRL_BYTES, v->plen - NETWORK_CTRL_BYTES) != 0 ||
	    acked > pe->pe_next) {
		network_fail(w, "guest %u: ack from guest %u for offset %" PRIu64 " (sent up to %" PRIu64 ") is wrong",
			     w->nw_cfg.index, pe->pe_index, acked, pe->pe_next);
		return;
	}
	w->nw_res.acks_received++;
	w->nw_res.frames_verified++;
	if (acked > pe->pe_acked)
		pe->pe_acked = acked;
}

static void network_rx_ping(struct network *w, struct network_peer *pe, const struct network_view *v,
			    const uint8_t *ctl)
{
	bool req = ctl[4] == NETWORK_PING_REQ;
	uint32_t seq = (uint32_t)network_ctl_value(ctl);
	unsigned from = req ? pe->pe_index : w->nw_cfg.index, to = req ? w->nw_cfg.index : pe->pe_index;
	uint32_t plen = v->plen - NETWORK_CTRL_BYTES;

	network_fill(w->nw_scratch, network_ping_key(w->nw_cfg.seed, from, to, seq), 0, plen);
	if ((!req && ctl[4] != NETWORK_PING_RSP) || ctl[5] != from || ctl[6] != to ||
	    memcmp(w->nw_scratch, v->payload + NETWORK_CTRL_BYTES, plen) != 0) {
		network_fail(w, "guest %u: ping %s %" PRIu32 " from guest %u is not what was sent", w->nw_cfg.index,
			     req ? "request" : "response", seq, pe->pe_index);
		return;
	}
	w->nw_res.frames_verified++;
	if (req) {
		if (w->nw_npongs < NETWORK_PONGS_MAX)
			w->nw_pongs[w->nw_npongs++] = (struct network_pong){
				.pp_peer = pe->pe_index, .pp_seq = seq,
				.pp_len = (uint16_t)(v->h.l4_off + v->h.l4_len)};
		else
			network_fail(w, "guest %u: more than %u pings waiting for an echo", w->nw_cfg.index,
				     NETWORK_PONGS_MAX);
	} else if (pe->pe_ping_out && seq == pe->pe_ping_seq) {
		pe->pe_ping_out = false;
		evtimer_del(pe->pe_ping_timer);
		w->nw_res.pings_ok++;
	} else if (seq < pe->pe_pings) {
		w->nw_res.pings_late++;   /* after its timeout, or a duplicate */
	} else {
		network_fail(w, "guest %u: echo of ping %" PRIu32 " from guest %u, never sent", w->nw_cfg.index, seq,
			     pe->pe_index);
	}
}

static void network_rx_udp(struct network *w, struct network_peer *pe, const struct network_view *v)
{
	const uint8_t *ctl = v->payload;

	if (v->plen < NETWORK_CTRL_BYTES) {
		network_fail(w, "guest %u: UDP frame of %u bytes from guest %u", w->nw_cfg.index, v->plen, pe->pe_index);
		return;
	}
	uint32_t magic = network_ctl_magic(ctl);
	if (magic == NETWORK_MAGIC_ACK && v->dport == NETWORK_PORT_ACK)
		network_rx_ack(w, pe, v, ctl);
	else if (magic == NETWORK_MAGIC_PING && (v->dport == NETWORK_PORT_PING || v->sport == NETWORK_PORT_PING))
		network_rx_ping(w, pe, v, ctl);
	else
		network_fail(w, "guest %u: UDP frame from guest %u to port %u is none of ours", w->nw_cfg.index,
			     pe->pe_index, v->dport);
}

void network_rx(struct network *w, const struct netfront_rx *rx)
{
	struct network_view v;
	char why[160];
	int rc = network_view(rx->data, rx->len, rx->flags, w->nw_cfg.index, w->nw_cfg.peers, &v, why, sizeof(why));

	if (rc == -EXDEV) {
		w->nw_res.frames_foreign++;
		return;
	}
	w->nw_res.frames_received++;
	w->nw_res.bytes_received += rx->len;
	w->nw_res.gso_received += rx->gso_type != 0;
	w->nw_res.csum_partial_received += (rx->flags & NETFRONT_F_CSUM_PARTIAL) != 0;
	if (rc < 0) {
		network_fail(w, "guest %u: frame of %u bytes on queue %u: %s", w->nw_cfg.index, rx->len, rx->queue, why);
		return;
	}
	struct network_peer *pe = &w->nw_peers[v.src];
	if (v.h.proto == NETPKT_PROTO_TCP)
		network_rx_data(w, pe, &v);
	else
		network_rx_udp(w, pe, &v);
	if (w->nw_up)
		network_pump(w);
}

void network_event(struct network *w, enum netfront_event ev)
{
	if (ev == NETFRONT_EV_FAILED) {
		w->nw_up = false;
		return;
	}
	if (ev == NETFRONT_EV_CONNECTED || ev == NETFRONT_EV_CARRIER || ev == NETFRONT_EV_DISCONNECTED) {
		bool ok = netfront_info(w->nw_nf, &w->nw_info) == 0;
		w->nw_up = ok && w->nw_info.connected && w->nw_info.carrier;
	}
	if (w->nw_up)
		network_pump(w);
}

void network_set_netfront(struct network *w, struct netfront *nf)
{
	w->nw_nf = nf;
	w->nw_up = false;
}

void network_release(struct network *w)
{
	w->nw_cfg.held = false;
	network_pump(w);
}

void network_peer_gone(struct network *w, unsigned index)
{
	if (index >= w->nw_cfg.peers || index == w->nw_cfg.index)
		return;
	struct network_peer *pe = &w->nw_peers[index];
	if (pe->pe_msgs == w->nw_cfg.messages && !pe->pe_msg_left && pe->pe_acked == pe->pe_next &&
	    pe->pe_pings == w->nw_cfg.pings && !pe->pe_ping_out && !pe->pe_ack_pending)
		return;   /* nothing owed either way */
	w->nw_res.peers_gone++;
	pe->pe_msgs = w->nw_cfg.messages;
	pe->pe_msg_left = 0;
	pe->pe_acked = pe->pe_next;
	evtimer_del(pe->pe_ack_timer);
	pe->pe_pings = w->nw_cfg.pings;
	pe->pe_ping_out = false;
	evtimer_del(pe->pe_ping_timer);
	pe->pe_ack_pending = false;
	unsigned keep = 0;
	for (unsigned i = 0; i < w->nw_npongs; i++)
		if (w->nw_pongs[i].pp_peer != index)
			w->nw_pongs[keep++] = w->nw_pongs[i];
	w->nw_npongs = keep;
	network_pump(w);   /* may be done now */
}

/* ---- the instance ---- */

static int network_config_check(struct network_config *c)
{
	if (!c->base || c->peers < 2 || c->peers > NETWORK_PEERS_MAX || c->index >= c->peers ||
	    c->size_min < NETPKT_ETH_ZLEN || c->size_max > NETPKT_FRAME_MAX || c->size_min > c->size_max ||
	    c->large_pct > 100)
		return -EINVAL;
	c->window_bytes = c->window_bytes ? c->window_bytes : NETWORK_WINDOW_DEFAULT;
	c->timeout_ms = c->timeout_ms ? c->timeout_ms : NETWORK_TIMEOUT_MS_DEFAULT;
	return 0;
}

static int network_peers_init(struct network *w)
{
	const struct network_config *c = &w->nw_cfg;

	for (unsigned p = 0; p < c->peers; p++) {
		struct network_peer *pe = &w->nw_peers[p];
		pe->pe_w = w;
		pe->pe_index = p;
		pe->pe_ipv6 = (c->index + p) % 2 == 1;
		pe->pe_tx_key = network_stream_key(c->seed, c->index, p);
		pe->pe_rx_key = network_stream_key(c->seed, p, c->index);
		pe->pe_ip_id = (uint16_t)network_mix(c->seed + p);
		pe->pe_ack_timer = evtimer_new(c->base, network_ack_timeout, pe);
		pe->pe_ping_timer = evtimer_new(c->base, network_ping_timeout, pe);
		if (!pe->pe_ack_timer || !pe->pe_ping_timer)
			return -ENOMEM;
	}
	return 0;
}

int network_start(struct netfront *nf, const struct network_config *cfg, struct network **out)
{
	struct network *w = calloc(1, sizeof(*w));
	int rc = -ENOMEM;

	if (!w)
		return rc;
	w->nw_nf = nf;
	w->nw_cfg = *cfg;
	rc = network_config_check(&w->nw_cfg);
	if (rc == 0) {
		w->nw_rng = network_mix(cfg->seed ^ (0xA5A5ull + cfg->index));
		w->nw_buf = malloc(NETPKT_FRAME_MAX);
		w->nw_scratch = malloc(NETPKT_FRAME_MAX);
		w->nw_pump_ev = event_new(cfg->base, -1, 0, network_pump_cb, w);
		rc = w->nw_buf && w->nw_scratch && w->nw_pump_ev ? network_peers_init(w) : -ENOMEM;
	}
	if (rc < 0) {
		network_free(w);
		return rc;
	}
	network_event(w, NETFRONT_EV_CONNECTED);
	*out = w;
	return 0;
}

void network_result(const struct network *w, struct network_result *out)
{
	*out = w->nw_res;
	for (unsigned p = 0; p < w->nw_cfg.peers; p++) {
		const struct network_peer *pe = &w->nw_peers[p];
		out->lost_bytes += pe->pe_forgotten;
		out->gaps += pe->pe_nholes;
		for (unsigned i = 0; i < pe->pe_nholes; i++)
			out->lost_bytes += pe->pe_holes[i].hi - pe->pe_holes[i].lo;
	}
}

void network_result_add(struct network_result *sum, const struct network_result *r)
{
#define NR_ADD(f) sum->f += r->f
	NR_ADD(frames_sent); NR_ADD(frames_received); NR_ADD(frames_verified); NR_ADD(frames_foreign);
	NR_ADD(bytes_sent); NR_ADD(bytes_received);
	NR_ADD(gso_sent); NR_ADD(gso_received); NR_ADD(csum_partial_sent); NR_ADD(csum_partial_received);
	NR_ADD(corrupt); NR_ADD(duplicates); NR_ADD(out_of_order); NR_ADD(lost_bytes); NR_ADD(gaps);
	NR_ADD(acks_sent); NR_ADD(acks_received); NR_ADD(ack_timeouts);
	NR_ADD(pings_sent); NR_ADD(pings_ok); NR_ADD(ping_timeouts); NR_ADD(pings_late); NR_ADD(pongs_sent);
	NR_ADD(send_again); NR_ADD(peers_gone);
#undef NR_ADD
	sum->finished &= r->finished;
	if (r->failure[0] && !sum->failure[0])
		snprintf(sum->failure, sizeof(sum->failure), "%s", r->failure);
}

uint64_t network_progress(const struct network *w)
{
	uint64_t sum = 0;

	for (unsigned p = 0; p < w->nw_cfg.peers; p++)
		sum += w->nw_peers[p].pe_expected;
	return sum;
}

void network_free(struct network *w)
{
	if (!w)
		return;
	for (unsigned p = 0; p < NETWORK_PEERS_MAX; p++) {
		if (w->nw_peers[p].pe_ack_timer)
			event_free(w->nw_peers[p].pe_ack_timer);
		if (w->nw_peers[p].pe_ping_timer)
			event_free(w->nw_peers[p].pe_ping_timer);
	}
	if (w->nw_pump_ev)
		event_free(w->nw_pump_ev);
	free(w->nw_buf);
	free(w->nw_scratch);
	free(w);
}
