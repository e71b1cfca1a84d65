/*
 * drivers/net: frames as netback, the links behind it and the workloads pass
 * them around, and the packet arithmetic they need: Ethernet/IPv4/IPv6 and
 * TCP/UDP header lookup, Internet checksums (full, and the partial one that
 * checksum offload leaves in a frame), and TCP segmentation of a GSO frame.
 *
 * Every function checks against the frame's length: frames come from guests.
 * Only IPv4 without options-in-the-way checks and IPv6 without extension
 * headers are understood; anything else is -EPROTONOSUPPORT (a frame still
 * goes through, but offloads on it cannot be honoured).
 * 0 or a negative errno unless said otherwise.
 */
#ifndef XENSIM_DRIVERS_NETPKT_H
#define XENSIM_DRIVERS_NETPKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- limits ---- */
#define NETPKT_FRAME_MAX 65535u          /* XEN_NETIF_MAX_TX_SIZE: a tx size is 16 bits */
#define NETPKT_ETH_HLEN 14u
#define NETPKT_ETH_ZLEN 60u              /* shortest Ethernet frame without FCS */
#define NETPKT_MTU 1500u                 /* frames without GSO carry at most this */
#define NETPKT_GSO_SEGS_MAX 256u         /* a GSO frame cut into more is refused */
#define NETPKT_GSO_SIZE_MIN 64u          /* smallest MSS a GSO frame may ask for */

#define NETPKT_ETHERTYPE_IPV4 0x0800u
#define NETPKT_ETHERTYPE_IPV6 0x86DDu
#define NETPKT_PROTO_TCP 6u
#define NETPKT_PROTO_UDP 17u

/* np_flags */
#define NETPKT_F_CSUM_PARTIAL 1u    /* L4 checksum field holds only the pseudo-header sum */
#define NETPKT_F_DATA_VALIDATED 2u  /* the checksum was verified (or never mattered) */

/* np_gso_type: the XEN_NETIF_GSO_TYPE_* values */
#define NETPKT_GSO_NONE 0u
#define NETPKT_GSO_TCPV4 1u
#define NETPKT_GSO_TCPV6 2u

struct netpkt {
	struct netpkt *np_next;    /* for whoever queues it */
	uint64_t np_stamp;         /* for whoever queues it (e.g. a deadline) */
	uint32_t np_len;
	uint32_t np_cap;
	uint16_t np_flags;
	uint8_t np_gso_type;
	uint16_t np_gso_size;      /* MSS: payload bytes per segment */
	uint8_t np_data[];
};

/* A frame of len bytes (contents undefined), flags and GSO clear. NULL for
 * len 0 or > NETPKT_FRAME_MAX, or out of memory. */
struct netpkt *netpkt_alloc(uint32_t len);
/* A copy with the same metadata; NULL out of memory. */
struct netpkt *netpkt_clone(const struct netpkt *p);
/* NULL is ignored. */
void netpkt_free(struct netpkt *p);
/* Bytes a frame holds in memory (for queue bounds). */
size_t netpkt_footprint(const struct netpkt *p);

/* ---- headers ---- */

struct netpkt_hdrs {
	uint16_t ethertype;
	bool ipv6;
	uint8_t proto;             /* NETPKT_PROTO_TCP / _UDP */
	uint16_t l3_off;           /* = NETPKT_ETH_HLEN */
	uint16_t l4_off;
	uint16_t l4_hlen;          /* TCP header with options, or 8 for UDP */
	uint32_t l4_len;           /* L4 header + payload, as the IP header says */
	uint16_t csum_off;         /* offset of the L4 checksum field in the frame */
};

/* Find the headers. -EPROTONOSUPPORT: not IPv4/IPv6 carrying TCP/UDP (or
 * fragmented, or with IPv6 extension headers); -EINVAL: truncated or lengths
 * that disagree with the frame. */
int netpkt_parse(const uint8_t *frame, uint32_t len, struct netpkt_hdrs *h);

/* One's-complement sum of len bytes added to sum (not folded). */
uint32_t netpkt_csum_add(uint32_t sum, const void *data, size_t len);
/* Fold to 16 bits and complement: the value a checksum field holds. */
uint16_t netpkt_csum_fold(uint32_t sum);
/* The pseudo-header sum of the L4 segment (unfolded). */
uint32_t netpkt_pseudo_sum(const uint8_t *frame, const struct netpkt_hdrs *h);

/* Write the IPv4 header checksum (nothing for IPv6). */
void netpkt_ip_csum_fill(uint8_t *frame, const struct netpkt_hdrs *h);
/* Write the full L4 checksum. */
void netpkt_l4_csum_fill(uint8_t *frame, const struct netpkt_hdrs *h);
/* Write what checksum offload expects: the folded, uncomplemented pseudo-header
 * sum in the L4 checksum field (Linux's CHECKSUM_PARTIAL convention). */
void netpkt_l4_csum_partial(uint8_t *frame, const struct netpkt_hdrs *h);
/* The IPv4 header checksum (true for IPv6) and the full L4 checksum hold. */
bool netpkt_csum_ok(const uint8_t *frame, const struct netpkt_hdrs *h);
/* The L4 checksum field holds the partial sum netpkt_l4_csum_partial writes. */
bool netpkt_csum_partial_ok(const uint8_t *frame, const struct netpkt_hdrs *h);

/* A frame marked NETPKT_F_CSUM_PARTIAL gets its full checksum and becomes
 * DATA_VALIDATED. Anything else is left alone. -EPROTONOSUPPORT/-EINVAL as
 * netpkt_parse: the frame cannot be completed. */
int netpkt_csum_complete(struct netpkt *p);

/* ---- GSO ---- */

/* Check a GSO frame's metadata against its headers: TCP of the right IP
 * version, gso_size >= NETPKT_GSO_SIZE_MIN, at most NETPKT_GSO_SEGS_MAX
 * segments. -EINVAL, -EPROTONOSUPPORT, -E2BIG. */
int netpkt_gso_check(const struct netpkt *p);
/* Cut a GSO frame into MTU-sized TCP segments with full checksums
 * (DATA_VALIDATED, GSO cleared), handed to emit in order. A frame that fits
 * one segment becomes one. emit takes ownership of each segment; a negative
 * return from emit stops the cut and is returned. p is left untouched.
 * -ENOMEM, or netpkt_gso_check's errors. */
typedef int netpkt_emit_fn(void *arg, struct netpkt *seg);
int netpkt_gso_segment(const struct netpkt *p, netpkt_emit_fn *emit, void *arg);

/* A flow hash of addresses and ports (0 for frames netpkt_parse refuses):
 * frames of one flow always get the same value. */
uint32_t netpkt_flow_hash(const uint8_t *frame, uint32_t len);

#endif
