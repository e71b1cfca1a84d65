/*
 * xen-check's TAP frames (tapframe.h): built and checked here, by both ends.
 * Pure: no I/O, no state.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xen/tapframe.h"

#define TAPFRAME_OFF_MAGIC 14u
#define TAPFRAME_OFF_KIND 18u
#define TAPFRAME_OFF_SEQ 22u
#define TAPFRAME_OFF_LEN 26u

_Static_assert(TAPFRAME_OFF_LEN + 2 + 4 == TAPFRAME_HLEN, "the header ends where the payload starts");
_Static_assert(TAPFRAME_HLEN <= TAPFRAME_LEN_MIN, "the shortest frame holds a header");

static void wr16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, v >> 16);
	wr16(p + 2, v);
}

static uint32_t rd16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return rd16(p) << 16 | rd16(p + 2);
}

/* splitmix64's finaliser: every payload byte is a function of its key. */
static uint64_t tapframe_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static uint64_t tapframe_key(uint64_t seed, enum tapframe_kind kind, uint32_t seq)
{
	return tapframe_mix(seed ^ tapframe_mix((uint64_t)kind << 32 | seq));
}

static uint8_t tapframe_byte(uint64_t key, uint32_t off)
{
	return (uint8_t)(tapframe_mix(key + off / 8) >> (off % 8 * 8));
}

uint32_t tapframe_len(uint64_t seed, uint32_t seq)
{
	uint64_t r = tapframe_mix(seed ^ (0x4C454E00ull << 32) ^ seq);
	uint32_t span = TAPFRAME_LEN_MAX - TAPFRAME_LEN_MIN + 1;

	if (r % 8 == 0)
		return TAPFRAME_LEN_MIN;
	if (r % 8 == 1)
		return TAPFRAME_LEN_MAX;
	return TAPFRAME_LEN_MIN + (uint32_t)((r >> 8) % span);
}

void tapframe_build(uint8_t *frame, const struct tapframe_hdr *h, uint64_t seed)
{
	uint64_t key = tapframe_key(seed, h->kind, h->seq);

	memset(frame, 0, TAPFRAME_HLEN);
	memcpy(frame, h->dst, 6);
	memcpy(frame + 6, h->src, 6);
	wr16(frame + 12, TAPFRAME_ETHERTYPE);
	wr32(frame + TAPFRAME_OFF_MAGIC, TAPFRAME_MAGIC);
	frame[TAPFRAME_OFF_KIND] = (uint8_t)h->kind;
	wr32(frame + TAPFRAME_OFF_SEQ, h->seq);
	wr16(frame + TAPFRAME_OFF_LEN, h->len);
	for (uint32_t off = TAPFRAME_HLEN; off < h->len; off++)
		frame[off] = tapframe_byte(key, off);
}

/* The header's fields, or -EINVAL with why. */
static int tapframe_parse(const uint8_t *frame, size_t len, struct tapframe_hdr *h, char *why, size_t why_len)
{
	int rc = -EINVAL;

	if (len < TAPFRAME_LEN_MIN || len > TAPFRAME_LEN_MAX)
		snprintf(why, why_len, "frame of %zu bytes, outside %u..%u", len, TAPFRAME_LEN_MIN, TAPFRAME_LEN_MAX);
	else if (rd32(frame + TAPFRAME_OFF_MAGIC) != TAPFRAME_MAGIC)
		snprintf(why, why_len, "magic 0x%08x, not 0x%08x", rd32(frame + TAPFRAME_OFF_MAGIC), TAPFRAME_MAGIC);
	else if (frame[TAPFRAME_OFF_KIND] != TAPFRAME_REQ && frame[TAPFRAME_OFF_KIND] != TAPFRAME_RSP)
		snprintf(why, why_len, "kind %u", frame[TAPFRAME_OFF_KIND]);
	else if (rd16(frame + TAPFRAME_OFF_LEN) != len)
		snprintf(why, why_len, "seq %u: %zu bytes arrived, the header says %u", rd32(frame + TAPFRAME_OFF_SEQ),
			 len, rd16(frame + TAPFRAME_OFF_LEN));
	else
		rc = 0;
	if (rc == 0) {
		memcpy(h->dst, frame, 6);
		memcpy(h->src, frame + 6, 6);
		h->kind = frame[TAPFRAME_OFF_KIND];
		h->seq = rd32(frame + TAPFRAME_OFF_SEQ);
		h->len = (uint32_t)len;
	}
	return rc;
}

int tapframe_check(const uint8_t *frame, size_t len, uint64_t seed, struct tapframe_hdr *h, char *why,
		   size_t why_len)
{
	static const uint8_t zero[TAPFRAME_HLEN];
	int rc;

	if (len < 14 || rd16(frame + 12) != TAPFRAME_ETHERTYPE)
		return 0;
	rc = tapframe_parse(frame, len, h, why, why_len);
	if (rc == 0 && (frame[19] || memcmp(frame + 20, zero, 2) || memcmp(frame + 28, zero, 4))) {
		snprintf(why, why_len, "seq %u: reserved header bytes are not zero", h->seq);
		rc = -EINVAL;
	}
	uint64_t key = rc == 0 ? tapframe_key(seed, h->kind, h->seq) : 0;
	for (uint32_t off = TAPFRAME_HLEN; rc == 0 && off < len; off++)
		if (frame[off] != tapframe_byte(key, off)) {
			snprintf(why, why_len, "seq %u (%zu bytes, kind %u): byte %u is 0x%02x, not 0x%02x", h->seq, len,
				 h->kind, off, frame[off], tapframe_byte(key, off));
			rc = -EINVAL;
		}
	return rc == 0 ? 1 : rc;
}

/* ---- the bulk stream ---- */

#define TAPFRAME_KIND_BULK 3u           /* the payload key's kind: not a tapframe_kind */
#define TAPFRAME_ETHERTYPE_IPV4 0x0800u
#define TAPFRAME_PROTO_TCP 6u
#define TAPFRAME_IP_SRC 0x0A000002u     /* 10.0.0.2: the vif */
#define TAPFRAME_IP_DST 0x0A000001u     /* 10.0.0.1: the TAP side */

_Static_assert(TAPFRAME_BULK_HLEN + TAPFRAME_BULK_MSS == TAPFRAME_LEN_MAX, "a full segment is one MTU");

uint32_t tapframe_bulk_plen(uint64_t seed, uint32_t i)
{
	uint64_t r = tapframe_mix(seed ^ (0x42554C4Bull << 32) ^ i);

	if (i == 0)
		return TAPFRAME_BULK_PLEN_MAX;
	if (i == TAPFRAME_BULK_SMALL)
		return 1 + (uint32_t)((r >> 8) % TAPFRAME_BULK_MSS);
	if (i == TAPFRAME_BULK_SMALL + 1 || r % 4 == 0)
		return TAPFRAME_BULK_MSS * (uint32_t)(1 + (r >> 8) % 40);
	return TAPFRAME_BULK_MSS + 1 + (uint32_t)((r >> 8) % (TAPFRAME_BULK_PLEN_MAX - TAPFRAME_BULK_MSS));
}

uint64_t tapframe_bulk_bytes(uint64_t seed)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < TAPFRAME_BULK_FRAMES; i++)
		n += tapframe_bulk_plen(seed, i);
	return n;
}

uint32_t tapframe_bulk_build(uint8_t *frame, const uint8_t dst[6], const uint8_t src[6], uint64_t seed, uint32_t i,
			     uint32_t off)
{
	uint32_t plen = tapframe_bulk_plen(seed, i);
	uint64_t key = tapframe_key(seed, TAPFRAME_KIND_BULK, 0);
	uint8_t *ip = frame + 14, *tcp = ip + 20;

	memset(frame, 0, TAPFRAME_BULK_HLEN);
	memcpy(frame, dst, 6);
	memcpy(frame + 6, src, 6);
	wr16(frame + 12, TAPFRAME_ETHERTYPE_IPV4);
	ip[0] = 0x45;
	wr16(ip + 2, 40 + plen);
	wr16(ip + 4, i);
	ip[8] = 64;
	ip[9] = TAPFRAME_PROTO_TCP;
	wr32(ip + 12, TAPFRAME_IP_SRC);
	wr32(ip + 16, TAPFRAME_IP_DST);
	wr16(tcp, TAPFRAME_BULK_PORT_SRC);
	wr16(tcp + 2, TAPFRAME_BULK_PORT_DST);
	wr32(tcp + 4, off);
	tcp[12] = 5 << 4;
	tcp[13] = 0x18;   /* ACK PSH */
	wr16(tcp + 14, 65535);
	for (uint32_t k = 0; k < plen; k++)
		frame[TAPFRAME_BULK_HLEN + k] = tapframe_byte(key, off + k);
	return TAPFRAME_BULK_HLEN + plen;
}

/* RFC 1071's sum, folded: written again here so that a wrong checksum in
 * the drivers' code cannot agree with itself. */
static uint32_t tapframe_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	for (size_t k = 0; k + 1 < len; k += 2)
		sum += rd16(p + k);
	if (len % 2)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return sum;
}

/* The segment's headers, or the first thing wrong with them. */
static int tapframe_seg_hdrs(const uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6],
			     char *why, size_t why_len)
{
	const uint8_t *ip = frame + 14, *tcp = ip + 20;
	uint32_t l4len = (uint32_t)len - 34;
	uint32_t pseudo = (TAPFRAME_IP_SRC >> 16) + (TAPFRAME_IP_SRC & 0xFFFF) + (TAPFRAME_IP_DST >> 16) +
			  (TAPFRAME_IP_DST & 0xFFFF) + TAPFRAME_PROTO_TCP + l4len;

	if (len > TAPFRAME_LEN_MAX || len < TAPFRAME_BULK_HLEN + 1)
		snprintf(why, why_len, "a segment of %zu bytes, outside %u..%u", len, TAPFRAME_BULK_HLEN + 1,
			 TAPFRAME_LEN_MAX);
	else if (memcmp(frame, dst, 6) || memcmp(frame + 6, src, 6))
		snprintf(why, why_len, "segment seq %u: MAC addresses are not the vif's to the TAP's", rd32(tcp + 4));
	else if (ip[0] != 0x45 || rd16(ip + 2) != len - 14 || rd32(ip + 12) != TAPFRAME_IP_SRC ||
		 rd32(ip + 16) != TAPFRAME_IP_DST || (rd16(ip + 6) & 0x3FFF))
		snprintf(why, why_len, "segment seq %u (%zu bytes): IPv4 header wrong (version/ihl 0x%02x, total length "
			 "%u, fragment 0x%04x)", rd32(tcp + 4), len, ip[0], rd16(ip + 2), rd16(ip + 6));
	else if (tapframe_sum(0, ip, 20) != 0xFFFF)
		snprintf(why, why_len, "segment seq %u: IPv4 header checksum 0x%04x is wrong", rd32(tcp + 4),
			 rd16(ip + 10));
	else if (tcp[12] != 5 << 4 || (tcp[13] & ~0x08u) != 0x10)
		snprintf(why, why_len, "segment seq %u: TCP offset byte 0x%02x, flags 0x%02x", rd32(tcp + 4), tcp[12],
			 tcp[13]);
	else if (tapframe_sum(pseudo, tcp, l4len) != 0xFFFF)
		snprintf(why, why_len, "segment seq %u (%u payload bytes): TCP checksum 0x%04x is wrong (not completed?)",
			 rd32(tcp + 4), l4len - 20, rd16(tcp + 16));
	else
		return 0;
	return -EINVAL;
}

int tapframe_bulk_check(const uint8_t *frame, size_t len, const uint8_t dst[6], const uint8_t src[6], uint64_t seed,
			struct tapframe_seg *seg, char *why, size_t why_len)
{
	const uint8_t *tcp = frame + 34;
	uint64_t key = tapframe_key(seed, TAPFRAME_KIND_BULK, 0);

	if (len < TAPFRAME_BULK_HLEN || rd16(frame + 12) != TAPFRAME_ETHERTYPE_IPV4 || frame[23] != TAPFRAME_PROTO_TCP ||
	    rd16(tcp) != TAPFRAME_BULK_PORT_SRC || rd16(tcp + 2) != TAPFRAME_BULK_PORT_DST)
		return 0;
	if (tapframe_seg_hdrs(frame, len, dst, src, why, why_len) < 0)
		return -EINVAL;
	seg->seq = rd32(tcp + 4);
	seg->plen = (uint32_t)len - TAPFRAME_BULK_HLEN;
	for (uint32_t k = 0; k < seg->plen; k++)
		if (frame[TAPFRAME_BULK_HLEN + k] != tapframe_byte(key, seg->seq + k)) {
			snprintf(why, why_len, "segment seq %u (%u payload bytes): stream byte %u is 0x%02x, not 0x%02x",
				 seg->seq, seg->plen, seg->seq + k, frame[TAPFRAME_BULK_HLEN + k],
				 tapframe_byte(key, seg->seq + k));
			return -EINVAL;
		}
	return 1;
}
