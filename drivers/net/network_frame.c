/*
 * The workload's frames: headers built and checked byte by byte, payload
 * bytes generated from (key, offset) so that any slice of any stream can be
 * checked on its own, wherever a GSO cut or a switch put it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "drivers/net/network_internal.h"

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

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

void network_addr(unsigned index, uint8_t mac[6], uint8_t ip4[4], uint8_t ip6[16])
{
	static const uint8_t mac0[6] = {0x02, 0, 0, 0, 0, 0};
	static const uint8_t ip60[16] = {0xfd, 0};

	if (mac) {
		memcpy(mac, mac0, 6);
		mac[5] = (uint8_t)(index + 1);
	}
	if (ip4) {
		ip4[0] = 10, ip4[1] = 0, ip4[2] = 0, ip4[3] = (uint8_t)(index + 1);
	}
	if (ip6) {
		memcpy(ip6, ip60, 16);
		ip6[15] = (uint8_t)(index + 1);
	}
}

unsigned network_hdr_len(bool ipv6, uint8_t proto)
{
	return NETPKT_ETH_HLEN + (ipv6 ? 40u : 20u) + (proto == NETPKT_PROTO_TCP ? 20u : 8u);
}

static unsigned network_ip_build(uint8_t *ip, const struct network_hdr *h, uint32_t l4len)
{
	if (h->ipv6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		wr16(ip + 4, l4len);
		ip[6] = h->proto;
		ip[7] = 64;
		network_addr(h->src, NULL, NULL, ip + 8);
		network_addr(h->dst, NULL, NULL, ip + 24);
		return 40;
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, 20 + l4len);
	wr16(ip + 4, h->ip_id);
	wr16(ip + 6, 0x4000);   /* DF */
	ip[8] = 64;
	ip[9] = h->proto;
	network_addr(h->src, NULL, ip + 12, NULL);
	network_addr(h->dst, NULL, ip + 16, NULL);
	return 20;
}

unsigned network_hdr_build(uint8_t *frame, const struct network_hdr *h, uint32_t plen)
{
	unsigned l4h = h->proto == NETPKT_PROTO_TCP ? 20u : 8u;
	uint8_t *l4;

	network_addr(h->dst, frame, NULL, NULL);
	network_addr(h->src, frame + 6, NULL, NULL);
	wr16(frame + 12, h->ipv6 ? NETPKT_ETHERTYPE_IPV6 : NETPKT_ETHERTYPE_IPV4);
	l4 = frame + NETPKT_ETH_HLEN + network_ip_build(frame + NETPKT_ETH_HLEN, h, l4h + plen);
	memset(l4, 0, l4h);
	wr16(l4, h->sport);
	wr16(l4 + 2, h->dport);
	if (h->proto == NETPKT_PROTO_TCP) {
		wr32(l4 + 4, h->seq);
		l4[12] = 5 << 4;
		l4[13] = h->tcp_flags;
		wr16(l4 + 14, 65535);   /* window */
	} else {
		wr16(l4 + 4, l4h + plen);
	}
	return (unsigned)(l4 - frame) + l4h;
}

void network_csum(uint8_t *frame, uint32_t len, bool partial)
{
	struct netpkt_hdrs h;

	if (netpkt_parse(frame, len, &h) < 0)
		return;
	netpkt_ip_csum_fill(frame, &h);
	if (partial)
		netpkt_l4_csum_partial(frame, &h);
	else
		netpkt_l4_csum_fill(frame, &h);
}

/* ---- payload bytes ---- */

uint64_t network_mix(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

void network_fill(uint8_t *dst, uint64_t key, uint64_t off, size_t len)
{
	while (len) {
		uint64_t w = network_mix(key ^ ((off >> 3) * 0x9E3779B97F4A7C15ull));
		unsigned skip = (unsigned)(off & 7), n = 8 - skip;
		if (n > len)
			n = (unsigned)len;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		if (skip == 0 && n == 8) {
			memcpy(dst, &w, 8);   /* the same bytes as the loop below */
		} else
#endif
		{
			for (unsigned i = 0; i < n; i++)
				dst[i] = (uint8_t)(w >> ((skip + i) * 8));
		}
		dst += n;
		off += n;
		len -= n;
	}
}

uint64_t network_stream_key(uint64_t seed, unsigned src, unsigned dst)
{
	return network_mix(seed ^ network_mix(0x5354524541ull + src * 256u + dst));
}

uint64_t network_ping_key(uint64_t seed, unsigned src, unsigned dst, uint32_t seq)
{
	return network_mix(seed ^ network_mix(0x50494E47ull + ((uint64_t)seq << 16) + src * 256u + dst));
}

/* ---- checking a received frame ---- */

static int network_bad(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int network_bad(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* Which guest an address belongs to, or -1. */
static int network_ip_index(const uint8_t *ip, bool ipv6, unsigned peers)
{
	uint8_t want[16];
	unsigned alen = ipv6 ? 16 : 4;
	int idx = ip[alen - 1] - 1;

	if (idx < 0 || (unsigned)idx >= peers)
		return -1;
	network_addr((unsigned)idx, NULL, ipv6 ? NULL : want, ipv6 ? want : NULL);
	return memcmp(ip, want, alen) == 0 ? idx : -1;
}

static int network_view_addrs(const uint8_t *f, unsigned me, unsigned peers, struct network_view *v, char *why,
			      size_t why_len)
{
	const uint8_t *ip = f + v->h.l3_off;
	bool v6 = v->h.ipv6;
	int src = network_ip_index(ip + (v6 ? 8 : 12), v6, peers);
	int dst = network_ip_index(ip + (v6 ? 24 : 16), v6, peers);
	uint8_t mac[6];

	if (src < 0 || dst != (int)me || (unsigned)src == me)
		return network_bad(why, why_len, "IPv%d addresses name no peer of guest %u", v6 ? 6 : 4, me);
	if (v6 != ((me + (unsigned)src) % 2 == 1))
		return network_bad(why, why_len, "guest %d -> %u must use IPv%d", src, me, v6 ? 4 : 6);
	network_addr((unsigned)src, mac, NULL, NULL);
	if (memcmp(f + 6, mac, 6) != 0)
		return network_bad(why, why_len, "source MAC is not guest %d's", src);
	v->src = (unsigned)src;
	return 0;
}

static int network_view_csum(const uint8_t *f, unsigned flags, struct network_view *v, char *why, size_t why_len)
{
	const struct netpkt_hdrs *h = &v->h;

	if (!h->ipv6 && netpkt_csum_fold(netpkt_csum_add(0, f + h->l3_off, (size_t)(h->l4_off - h->l3_off))) != 0)
		return network_bad(why, why_len, "IPv4 header checksum is wrong");
	if (flags & NETFRONT_F_CSUM_PARTIAL) {
		if (!netpkt_csum_partial_ok(f, h))
			return network_bad(why, why_len, "partial checksum field does not hold the pseudo-header sum");
	} else if (!netpkt_csum_ok(f, h)) {
		return network_bad(why, why_len, "%s checksum is wrong%s", h->proto == NETPKT_PROTO_TCP ? "TCP" : "UDP",
				   (flags & NETFRONT_F_DATA_VALIDATED) ? " (yet marked data-validated)" : "");
	}
	return 0;
}

int network_view(const uint8_t *frame, uint32_t len, unsigned flags, unsigned me, unsigned peers,
		 struct network_view *v, char *why, size_t why_len)
{
	uint8_t mac[6];
	int rc;

	memset(v, 0, sizeof(*v));
	network_addr(me, mac, NULL, NULL);
	if (len >= NETPKT_ETH_HLEN && memcmp(frame, mac, 6) != 0)
		return (frame[0] & 1) ? network_bad(why, why_len, "a group-addressed frame") : -EXDEV;
	rc = netpkt_parse(frame, len, &v->h);
	if (rc < 0)
		return network_bad(why, why_len, "headers of a %u-byte frame do not parse (%s)", len, strerror(-rc));
	if ((uint32_t)v->h.l4_off + v->h.l4_len != len)
		return network_bad(why, why_len, "IP says %u bytes, the frame has %u", v->h.l4_off + v->h.l4_len, len);
	rc = network_view_addrs(frame, me, peers, v, why, why_len);
	if (rc == 0)
		rc = network_view_csum(frame, flags, v, why, why_len);
	if (rc < 0)
		return rc;
	const uint8_t *l4 = frame + v->h.l4_off;
	v->sport = rd16(l4);
	v->dport = rd16(l4 + 2);
	v->payload = l4 + v->h.l4_hlen;
	v->plen = v->h.l4_len - v->h.l4_hlen;
	if (v->h.proto == NETPKT_PROTO_TCP) {
		v->seq = rd32(l4 + 4);
		v->tcp_flags = l4[13];
	}
	if (v->sport != NETWORK_PORT_BASE + v->src && v->sport != NETWORK_PORT_PING)
		return network_bad(why, why_len, "source port %u is not guest %u's", v->sport, v->src);
	return 0;
}
