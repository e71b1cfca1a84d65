/* Private to the network workload (and its unit tests). */
#ifndef XENSIM_DRIVERS_NETWORK_INTERNAL_H
#define XENSIM_DRIVERS_NETWORK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "drivers/net/netpkt.h"
#include "drivers/net/network.h"

/* ---- limits ---- */
#define NETWORK_PORT_DATA 5001u
#define NETWORK_PORT_ACK 5002u
#define NETWORK_PORT_PING 5003u
#define NETWORK_PORT_BASE 40000u        /* source port: base + sender index */
#define NETWORK_HOLES_MAX 256u          /* missing ranges remembered per stream */
#define NETWORK_PONGS_MAX 64u           /* echoes waiting for room in the ring */
#define NETWORK_PUMP_BUDGET 64u         /* frames per loop turn */
#define NETWORK_WINDOW_DEFAULT (256u << 10)
#define NETWORK_TIMEOUT_MS_DEFAULT 3000u
#define NETWORK_FRAGS_MAX 48u           /* iov fragments of one frame */
#define NETWORK_CTRL_BYTES 16u          /* ack and ping headers in the payload */
#define NETWORK_MAGIC_ACK 0x5853414Bu   /* "XSAK" */
#define NETWORK_MAGIC_PING 0x58535047u  /* "XSPG" */
#define NETWORK_PING_REQ 1u
#define NETWORK_PING_RSP 2u

_Static_assert(NETWORK_PEERS_MAX <= 250, "indexes make the last byte of an address");

/* ---- frames (network_frame.c): pure ---- */

struct network_hdr {
	bool ipv6;
	uint8_t proto;                  /* NETPKT_PROTO_TCP / _UDP */
	unsigned src, dst;              /* guest indexes */
	uint16_t sport, dport;
	uint32_t seq;                   /* TCP */
	uint8_t tcp_flags;
	uint16_t ip_id;
};

#define NETWORK_TCP_ACK 0x10u
#define NETWORK_TCP_PSH 0x08u

/* Header bytes for this IP version and protocol. */
unsigned network_hdr_len(bool ipv6, uint8_t proto);
/* Write Ethernet + IP + L4 headers for plen payload bytes; checksums 0. */
unsigned network_hdr_build(uint8_t *frame, const struct network_hdr *h, uint32_t plen);
/* IPv4 header checksum, and the L4 checksum full or partial (offload). */
void network_csum(uint8_t *frame, uint32_t len, bool partial);

/* The bytes every payload is made of: a function of (key, offset). */
uint64_t network_mix(uint64_t x);
void network_fill(uint8_t *dst, uint64_t key, uint64_t off, size_t len);

/* Flow keys: what the bytes of a stream or a ping depend on. */
uint64_t network_stream_key(uint64_t seed, unsigned src, unsigned dst);
uint64_t network_ping_key(uint64_t seed, unsigned src, unsigned dst, uint32_t seq);

/* What a received frame claims to be, after the header checks. */
struct network_view {
	struct netpkt_hdrs h;
	unsigned src;                   /* the sender's index */
	uint16_t sport, dport;
	const uint8_t *payload;
	uint32_t plen;
	uint32_t seq;
	uint8_t tcp_flags;
};

/* Check a frame for guest `me`: addresses (MAC, IPs of a known peer with the
 * right IP version), lengths, checksums as the flags allow. 0, or -EINVAL
 * with why. -EXDEV: a frame for another guest (flooded by the switch). */
int network_view(const uint8_t *frame, uint32_t len, unsigned flags, unsigned me, unsigned peers,
		 struct network_view *v, char *why, size_t why_len);

#endif
