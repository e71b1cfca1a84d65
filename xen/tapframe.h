/*
 * The frames of xen-check's TAP step: a peer on dom0's side of the TAP
 * (xen/qemu/tappeer.c) sends requests into it, xensim-netback bridges them to
 * a vif, and the netfront on that vif (xensim-netfront --tap-echo) checks each
 * one and answers with a reply of the same length whose bytes it generates
 * itself, which the peer checks in turn. So every byte of both directions is
 * verified by the side that did not write it.
 *
 * Layout after the Ethernet header (ethertype TAPFRAME_ETHERTYPE, an IEEE
 * local experimental one, not the workload's hello 0x88B5):
 *   magic "XTAP" (4), kind (1), zero (3), seq (4), frame length (2), zero (4),
 *   then payload bytes that are a function of (seed, kind, seq,
 *   offset). Big-endian. Frames are 60..TAPFRAME_LEN_MAX bytes: one MTU,
 *   since a TAP has no offload header to carry anything larger.
 * Sequence numbers from TAPFRAME_SEQ_PROBE up are probes, answered like
 * requests but outside the counted, in-order sequence.
 */
#ifndef XENSIM_XEN_TAPFRAME_H
#define XENSIM_XEN_TAPFRAME_H

#include <stddef.h>
#include <stdint.h>

#define TAPFRAME_ETHERTYPE 0x88B6u
#define TAPFRAME_MAGIC 0x58544150u      /* "XTAP" */
#define TAPFRAME_HLEN 32u               /* Ethernet 14 + ours 18 */
#define TAPFRAME_LEN_MIN 60u
#define TAPFRAME_LEN_MAX 1514u          /* MTU 1500 + Ethernet */
#define TAPFRAME_SEQ_PROBE 0x80000000u

enum tapframe_kind {
	TAPFRAME_REQ = 1,               /* from the TAP side towards the vif */
	TAPFRAME_RSP = 2,               /* the vif's answer */
};

struct tapframe_hdr {
	uint8_t dst[6], src[6];
	enum tapframe_kind kind;
	uint32_t seq;
	uint32_t len;                   /* the whole frame */
};

/* The length of request seq in a run of seed: spread over 60..1514, with
 * both ends of the range taken often. */
uint32_t tapframe_len(uint64_t seed, uint32_t seq);

/* Write a whole frame of h->len bytes (TAPFRAME_LEN_MIN..TAPFRAME_LEN_MAX). */
void tapframe_build(uint8_t *frame, const struct tapframe_hdr *h, uint64_t seed);

/* 1: a frame of ours, checked byte by byte (header, length, payload) and
 * described in *h; 0: another ethertype (not ours, to be ignored); -EINVAL:
 * ours but wrong, with why (offsets and values). */
int tapframe_check(const uint8_t *frame, size_t len, uint64_t seed, struct tapframe_hdr *h, char *why,
		   size_t why_len);

/* ---- the bulk stream: TCP over IPv4, from the vif through the TAP ----
 * After the last reply the vif sends TAPFRAME_BULK_FRAMES TCP frames with
 * partial checksums, those larger than TAPFRAME_BULK_MSS as GSO TCPv4 (MSS
 * TAPFRAME_BULK_MSS), carrying one stream
 * whose bytes are a function of (seed, stream offset). A TAP carries no
 * offload metadata, so netback must cut them into segments with full
 * checksums; the peer checks each segment: at most one MTU, IPv4 header and
 * TCP checksums (computed here, not by the drivers' code), addresses, ports,
 * the TCP sequence number continuing the stream, every payload byte. */
#define TAPFRAME_BULK_FRAMES 24u
#define TAPFRAME_BULK_MSS 1460u         /* one segment: 1514 bytes */
#define TAPFRAME_BULK_HLEN 54u          /* Ethernet + IPv4 + TCP without options */
#define TAPFRAME_BULK_PLEN_MAX (65535u - TAPFRAME_BULK_HLEN)   /* a frame's size is 16 bits on the ring */
#define TAPFRAME_BULK_SMALL 1u         /* the bulk frame that is not GSO */
#define TAPFRAME_BULK_PORT_SRC 40001u
#define TAPFRAME_BULK_PORT_DST 5001u

/* Payload bytes of bulk frame i: frame 0 the largest a frame holds, frame
 * TAPFRAME_BULK_SMALL one segment or less (no GSO: only its checksum is
 * completed), the next an exact multiple of the MSS, the rest mostly more
 * than one MSS. */
uint32_t tapframe_bulk_plen(uint64_t seed, uint32_t i);
/* All the bulk frames' payload bytes together: the stream's length. */
uint64_t tapframe_bulk_bytes(uint64_t seed);

/* Write bulk frame i, whose payload starts at stream offset `off` (its TCP
 * sequence number), from MAC src to dst: headers with both checksums zero
 * (the sender fills them) and the payload. Returns the frame's length. */
uint32_t tapframe_bulk_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6], uint64_t seed, uint32_t i,
			     uint32_t off);

struct tapframe_seg {
	uint32_t seq, plen;             /* stream offset and payload bytes */
};

/* 1: a segment of the stream, checked completely (see above), in *seg;
 * 0: not IPv4 TCP between the stream's ports (to be ignored); -EINVAL with
 * why. */
int tapframe_bulk_check(const uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6], uint64_t seed,
			struct tapframe_seg *seg, char *why, size_t why_len);

#endif
