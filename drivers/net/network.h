/*
 * drivers/net: verified network workloads on top of netfront, one instance
 * per guest, all guests of a run numbered 0..peers-1.
 *
 * Guest i is MAC 02:00:00:00:00:<i+1>, IPv4 10.0.0.<i+1>, IPv6 fd00::<i+1>.
 * Towards every other guest it runs:
 *  - a bulk stream: TCP-framed messages of size_min..size_max bytes (frame
 *    size); a message larger than the MTU goes as one GSO frame when the
 *    backend offers GSO, else cut into MTU segments here (as a stack without
 *    TSO would). Flow control: at most window_bytes unacknowledged; the
 *    receiver acknowledges with small UDP frames. There is no retransmission:
 *    a frame lost stays lost, and is counted where it is found missing.
 *  - pings: UDP requests with a pattern payload, echoed back, one at a time.
 * Pairs of even index sum use IPv4, odd ones IPv6.
 *
 * Every byte is a function of (seed, flow, stream offset) or (seed, ping,
 * sequence) -- all guests of a run take the same seed -- so the receiver
 * checks each frame completely: Ethernet, IP and L4 headers,
 * checksums (full, or the partial sum a CSUM_PARTIAL frame carries), and the
 * payload. The oracle, per flow: intact (corrupt == 0), at most once
 * (duplicates), in order (out_of_order), and what never arrived (lost_bytes,
 * gaps). Which of those a run may show depends on its faults; the caller
 * compares them with what the switch, netback and netfront counted.
 *
 * Runs on the netfront's loop. 0 or a negative errno.
 */
#ifndef XENSIM_DRIVERS_NETWORK_H
#define XENSIM_DRIVERS_NETWORK_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netfront.h"

struct event_base;
struct network;

#define NETWORK_PEERS_MAX 16u
#define NETWORK_FAILURE_MAX 256u

struct network_config {
	struct event_base *base;      /* required: the netfront's loop */
	uint64_t seed;
	unsigned index, peers;        /* this guest, and how many there are (2..NETWORK_PEERS_MAX) */
	uint32_t messages;            /* bulk messages to each peer */
	uint32_t pings;               /* pings to each peer */
	uint32_t size_min, size_max;  /* message frame sizes, 60..65535 */
	unsigned large_pct;           /* % of messages above the MTU (if size_max allows) */
	uint32_t window_bytes;        /* 0: default */
	unsigned timeout_ms;          /* no ack / pong this long: given up; 0: default */
	bool offload;                 /* use checksum offload and GSO when offered */
	bool held;                    /* receive only, until network_release() */
	void (*finished)(void *arg);  /* this guest's sending is done (once) */
	void *arg;
};

struct network_result {
	bool finished;
	uint64_t frames_sent, frames_received, frames_verified, frames_foreign;
	uint64_t bytes_sent, bytes_received;
	uint64_t gso_sent, gso_received, csum_partial_sent, csum_partial_received;
	uint64_t corrupt;             /* any frame that is not exactly what was sent */
	uint64_t duplicates, out_of_order;
	uint64_t lost_bytes, gaps;    /* bulk bytes never seen, and the holes they form */
	uint64_t acks_sent, acks_received, ack_timeouts;
	uint64_t pings_sent, pings_ok, ping_timeouts, pings_late, pongs_sent;
	uint64_t send_again;          /* -EAGAIN from netfront */
	uint64_t peers_gone;          /* network_peer_gone() */
	char failure[NETWORK_FAILURE_MAX];   /* the first thing wrong, with values */
};

/* The addresses of guest index (MAC, IPv4 as 4 bytes, IPv6 as 16). */
void network_addr(unsigned index, uint8_t mac[6], uint8_t ip4[4], uint8_t ip6[16]);

int network_start(struct netfront *nf, const struct network_config *cfg, struct network **out);
/* Feed it the netfront's callbacks. */
void network_rx(struct network *w, const struct netfront_rx *rx);
void network_event(struct network *w, enum netfront_event ev);
/* The netfront was replaced (the old one closed, a new one opened on the
 * same device: a driver reload): sends go to nf, from its CONNECTED on. */
void network_set_netfront(struct network *w, struct netfront *nf);
/* Start sending (a workload started held: every guest can receive first). */
void network_release(struct network *w);
/* Peer `index` is gone for good (its NIC unplugged): nothing more is sent to
 * it, nothing of it is waited for (its stream counts as acknowledged, its
 * pings as done, echoes owed to it are dropped). What it sent before stays
 * checked. */
void network_peer_gone(struct network *w, unsigned index);
void network_result(const struct network *w, struct network_result *out);
/* Add r's counts to sum (start from {.finished = true}): finished only if
 * both are, the first failure kept. */
void network_result_add(struct network_result *sum, const struct network_result *r);
/* Bytes of bulk data received in order from every peer, for progress checks. */
uint64_t network_progress(const struct network *w);
/* NULL is ignored. */
void network_free(struct network *w);

#endif
