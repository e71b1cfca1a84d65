/*
 * Frames and packet arithmetic. Header fields are read and written byte by
 * byte in network order (frames are byte arrays of any alignment). Checksums
 * follow RFC 1071: summed over native 16-bit words and swapped once at the
 * end, which gives the same one's-complement sum as network-order words.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/netpkt.h"

_Static_assert(NETPKT_FRAME_MAX == 0xFFFF, "a netif tx size is 16 bits");
_Static_assert(NETPKT_ETH_ZLEN >= NETPKT_ETH_HLEN, "a minimal frame holds its header");
_Static_assert(NETPKT_FRAME_MAX / NETPKT_GSO_SIZE_MIN <= 4 * NETPKT_GSO_SEGS_MAX,
	       "the smallest MSS cannot ask for absurd segment counts");

#define NETPKT_IPV4_HLEN 20u
#define NETPKT_IPV6_HLEN 40u
#define NETPKT_TCP_HLEN 20u
#define NETPKT_UDP_HLEN 8u
#define NETPKT_TCP_FIN 0x01u
#define NETPKT_TCP_PSH 0x08u
#define NETPKT_TCP_CWR 0x80u

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* ---- frames ---- */

/* Frames come and go at line rate, mostly on one thread (netback's loop).
 * A freed frame's buffer is kept, per thread and per power-of-two size
 * class, for the next frame of that class: the hot path neither mallocs nor,
 * for 64 KiB frames, lets glibc give pages back to the kernel only to fault
 * them in again on the next frame. Bounded per class; drained when the
 * thread exits. Off under ASan, which must see every use after free. */
#define NETPKT_CLASS_MIN_SHIFT 11u                 /* class 0: up to 2 KiB of data */
#define NETPKT_CLASSES 6u                          /* ... class 5: up to 64 KiB */
#define NETPKT_CACHE_CLASS_BYTES (2u << 20)        /* buffers kept per class and thread */
#define NETPKT_CACHE_CLASS_FRAMES 256u
#if defined(__SANITIZE_ADDRESS__)
#define NETPKT_CACHE_ON 0
#else
#define NETPKT_CACHE_ON 1
#endif

_Static_assert((1u << (NETPKT_CLASS_MIN_SHIFT + NETPKT_CLASSES - 1)) > NETPKT_FRAME_MAX, "the top class holds any frame");
_Static_assert(NETPKT_CACHE_CLASS_BYTES >> (NETPKT_CLASS_MIN_SHIFT + NETPKT_CLASSES - 1) >= 16,
	       "the cache holds a batch of the largest frames");

struct netpkt_cache {
	struct netpkt *nc_head[NETPKT_CLASSES];
	unsigned nc_count[NETPKT_CLASSES];
};

static __thread struct netpkt_cache *netpkt_tls;
static pthread_key_t netpkt_key;
static pthread_once_t netpkt_once = PTHREAD_ONCE_INIT;
static bool netpkt_key_ok;

static void netpkt_cache_drain(void *arg)
{
	struct netpkt_cache *c = arg;

	for (unsigned k = 0; k < NETPKT_CLASSES; k++)
		while (c->nc_head[k]) {
			struct netpkt *p = c->nc_head[k];
			c->nc_head[k] = p->np_next;
			free(p);
		}
	free(c);
}

static void netpkt_key_init(void)
{
	netpkt_key_ok = pthread_key_create(&netpkt_key, netpkt_cache_drain) == 0;
}

/* This thread's cache, NULL if there is none (and none can be made). */
static struct netpkt_cache *netpkt_cache(void)
{
	if (!NETPKT_CACHE_ON || netpkt_tls)
		return netpkt_tls;
	pthread_once(&netpkt_once, netpkt_key_init);
	struct netpkt_cache *c = netpkt_key_ok ? calloc(1, sizeof(*c)) : NULL;
	if (c && pthread_setspecific(netpkt_key, c) != 0) {
		free(c);
		c = NULL;
	}
	netpkt_tls = c;
	return c;
}

static unsigned netpkt_class(uint32_t len)
{
	unsigned k = 0;

	while ((1u << (NETPKT_CLASS_MIN_SHIFT + k)) < len)
		k++;
	return k;
}

static uint32_t netpkt_class_cap(unsigned k)
{
	return 1u << (NETPKT_CLASS_MIN_SHIFT + k);
}

struct netpkt *netpkt_alloc(uint32_t len)
{
	struct netpkt_cache *c;
	struct netpkt *p;

	if (len == 0 || len > NETPKT_FRAME_MAX)
		return NULL;
	unsigned k = netpkt_class(len);
	c = netpkt_cache();
	if (c && c->nc_head[k]) {
		p = c->nc_head[k];
		c->nc_head[k] = p->np_next;
		c->nc_count[k]--;
	} else {
		p = malloc(sizeof(*p) + netpkt_class_cap(k));
	}
	if (p) {
		memset(p, 0, sizeof(*p));
		p->np_len = len;
		p->np_cap = netpkt_class_cap(k);
	}
	return p;
}

struct netpkt *netpkt_clone(const struct netpkt *p)
{
	struct netpkt *c = netpkt_alloc(p->np_len);

	if (c) {
		memcpy(c->np_data, p->np_data, p->np_len);
		c->np_flags = p->np_flags;
		c->np_gso_type = p->np_gso_type;
		c->np_gso_size = p->np_gso_size;
		c->np_stamp = p->np_stamp;
	}
	return c;
}

void netpkt_free(struct netpkt *p)
{
	struct netpkt_cache *c = p ? netpkt_cache() : NULL;
	unsigned k = p ? netpkt_class(p->np_cap) : 0;

	if (c && k < NETPKT_CLASSES && p->np_cap == netpkt_class_cap(k) &&
	    c->nc_count[k] < NETPKT_CACHE_CLASS_FRAMES &&
	    (c->nc_count[k] + 1) * (uint64_t)netpkt_class_cap(k) <= NETPKT_CACHE_CLASS_BYTES) {
		p->np_next = c->nc_head[k];
		c->nc_head[k] = p;
		c->nc_count[k]++;
		return;
	}
	free(p);
}

size_t netpkt_footprint(const struct netpkt *p)
{
	return sizeof(*p) + p->np_cap;
}

/* ---- headers ---- */

static int netpkt_parse_ipv4(const uint8_t *f, uint32_t len, struct netpkt_hdrs *h)
{
	const uint8_t *ip = f + NETPKT_ETH_HLEN;
	unsigned ihl = (ip[0] & 0x0Fu) * 4u;

	if (len < NETPKT_ETH_HLEN + NETPKT_IPV4_HLEN || (ip[0] >> 4) != 4)
		return -EINVAL;
	uint32_t tot = rd16(ip + 2);
	if (ihl < NETPKT_IPV4_HLEN || tot < ihl || tot > len - NETPKT_ETH_HLEN)
		return -EINVAL;
	if (rd16(ip + 6) & 0x3FFFu)   /* MF or a fragment offset */
		return -EPROTONOSUPPORT;
	h->ipv6 = false;
	h->proto = ip[9];
	h->l4_off = (uint16_t)(NETPKT_ETH_HLEN + ihl);
	h->l4_len = tot - ihl;
	return 0;
}

static int netpkt_parse_ipv6(const uint8_t *f, uint32_t len, struct netpkt_hdrs *h)
{
	const uint8_t *ip = f + NETPKT_ETH_HLEN;

	if (len < NETPKT_ETH_HLEN + NETPKT_IPV6_HLEN || (ip[0] >> 4) != 6)
		return -EINVAL;
	uint32_t pl = rd16(ip + 4);
	if (pl > len - NETPKT_ETH_HLEN - NETPKT_IPV6_HLEN)
		return -EINVAL;
	h->ipv6 = true;
	h->proto = ip[6];   /* extension headers are not looked through */
	h->l4_off = NETPKT_ETH_HLEN + NETPKT_IPV6_HLEN;
	h->l4_len = pl;
	return 0;
}

static int netpkt_parse_l4(const uint8_t *f, struct netpkt_hdrs *h)
{
	const uint8_t *l4 = f + h->l4_off;

	if (h->proto == NETPKT_PROTO_TCP) {
		if (h->l4_len < NETPKT_TCP_HLEN)
			return -EINVAL;
		h->l4_hlen = (uint16_t)((l4[12] >> 4) * 4u);
		if (h->l4_hlen < NETPKT_TCP_HLEN || h->l4_hlen > h->l4_len)
			return -EINVAL;
		h->csum_off = (uint16_t)(h->l4_off + 16);
		return 0;
	}
	if (h->proto == NETPKT_PROTO_UDP) {
		if (h->l4_len < NETPKT_UDP_HLEN)
			return -EINVAL;
		h->l4_hlen = NETPKT_UDP_HLEN;
		h->csum_off = (uint16_t)(h->l4_off + 6);
		return 0;
	}
	return -EPROTONOSUPPORT;
}

int netpkt_parse(const uint8_t *frame, uint32_t len, struct netpkt_hdrs *h)
{
	int rc;

	memset(h, 0, sizeof(*h));
	if (len < NETPKT_ETH_HLEN)
		return -EINVAL;
	h->ethertype = rd16(frame + 12);
	h->l3_off = NETPKT_ETH_HLEN;
	if (h->ethertype == NETPKT_ETHERTYPE_IPV4)
		rc = netpkt_parse_ipv4(frame, len, h);
	else if (h->ethertype == NETPKT_ETHERTYPE_IPV6)
		rc = netpkt_parse_ipv6(frame, len, h);
	else
		rc = -EPROTONOSUPPORT;
	return rc ? rc : netpkt_parse_l4(frame, h);
}

/* ---- checksums ---- */

static uint32_t netpkt_fold16(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xFFFFu) + (acc >> 16);
	return (uint32_t)acc;
}

uint32_t netpkt_csum_add(uint32_t sum, const void *data, size_t len)
{
	const uint8_t *p = data;
	uint64_t acc = 0;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t w;
		memcpy(&w, p, 8);
		acc += (w & 0xFFFFFFFFu) + (w >> 32);
	}
	for (; len >= 2; p += 2, len -= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
	}
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (len)
		acc += p[0];   /* a lone last byte is the high byte of its word */
	uint32_t native = netpkt_fold16(acc);
	return sum + (uint32_t)(((native & 0xFFu) << 8) | (native >> 8));
#else
	if (len)
		acc += (uint32_t)p[0] << 8;
	return sum + netpkt_fold16(acc);
#endif
}

uint16_t netpkt_csum_fold(uint32_t sum)
{
	return (uint16_t)~netpkt_fold16(sum);
}

uint32_t netpkt_pseudo_sum(const uint8_t *frame, const struct netpkt_hdrs *h)
{
	const uint8_t *ip = frame + h->l3_off;
	uint32_t sum;

	if (h->ipv6)
		sum = netpkt_csum_add(0, ip + 8, 32);
	else
		sum = netpkt_csum_add(0, ip + 12, 8);
	return sum + (h->l4_len >> 16) + (h->l4_len & 0xFFFFu) + h->proto;
}

void netpkt_ip_csum_fill(uint8_t *frame, const struct netpkt_hdrs *h)
{
	uint8_t *ip = frame + h->l3_off;

	if (h->ipv6)
		return;
	wr16(ip + 10, 0);
	wr16(ip + 10, netpkt_csum_fold(netpkt_csum_add(0, ip, (size_t)(h->l4_off - h->l3_off))));
}

static uint16_t netpkt_l4_final(const struct netpkt_hdrs *h, uint16_t c)
{
	/* A UDP checksum of 0 means "none": the same value is sent as 0xFFFF. */
	return h->proto == NETPKT_PROTO_UDP && c == 0 ? 0xFFFFu : c;
}

void netpkt_l4_csum_fill(uint8_t *frame, const struct netpkt_hdrs *h)
{
	wr16(frame + h->csum_off, 0);
	uint32_t sum = netpkt_csum_add(netpkt_pseudo_sum(frame, h), frame + h->l4_off, h->l4_len);
	wr16(frame + h->csum_off, netpkt_l4_final(h, netpkt_csum_fold(sum)));
}

void netpkt_l4_csum_partial(uint8_t *frame, const struct netpkt_hdrs *h)
{
	wr16(frame + h->csum_off, (uint16_t)~netpkt_csum_fold(netpkt_pseudo_sum(frame, h)));
}

bool netpkt_csum_ok(const uint8_t *frame, const struct netpkt_hdrs *h)
{
	if (!h->ipv6 &&
	    netpkt_csum_fold(netpkt_csum_add(0, frame + h->l3_off, (size_t)(h->l4_off - h->l3_off))) != 0)
		return false;
	if (!h->ipv6 && h->proto == NETPKT_PROTO_UDP && rd16(frame + h->csum_off) == 0)
		return true;
	uint32_t sum = netpkt_csum_add(netpkt_pseudo_sum(frame, h), frame + h->l4_off, h->l4_len);
	return netpkt_csum_fold(sum) == 0;
}

bool netpkt_csum_partial_ok(const uint8_t *frame, const struct netpkt_hdrs *h)
{
	uint16_t want = (uint16_t)~netpkt_csum_fold(netpkt_pseudo_sum(frame, h));

	return rd16(frame + h->csum_off) == want;
}

int netpkt_csum_complete(struct netpkt *p)
{
	struct netpkt_hdrs h;
	int rc;

	if (!(p->np_flags & NETPKT_F_CSUM_PARTIAL))
		return 0;
	rc = netpkt_parse(p->np_data, p->np_len, &h);
	if (rc < 0)
		return rc;
	/* The field already holds the pseudo-header sum: sum the segment as is. */
	uint32_t sum = netpkt_csum_add(0, p->np_data + h.l4_off, h.l4_len);
	wr16(p->np_data + h.csum_off, netpkt_l4_final(&h, netpkt_csum_fold(sum)));
	p->np_flags = (uint16_t)((p->np_flags & ~NETPKT_F_CSUM_PARTIAL) | NETPKT_F_DATA_VALIDATED);
	return 0;
}

/* ---- GSO ---- */

static int netpkt_gso_hdrs(const struct netpkt *p, struct netpkt_hdrs *h, uint32_t *nsegs)
{
	int rc = netpkt_parse(p->np_data, p->np_len, h);

	if (rc < 0)
		return rc;
	if (h->proto != NETPKT_PROTO_TCP)
		return -EPROTONOSUPPORT;
	if ((p->np_gso_type == NETPKT_GSO_TCPV4 && h->ipv6) ||
	    (p->np_gso_type == NETPKT_GSO_TCPV6 && !h->ipv6) ||
	    (p->np_gso_type != NETPKT_GSO_TCPV4 && p->np_gso_type != NETPKT_GSO_TCPV6))
		return -EINVAL;
	if (p->np_gso_size < NETPKT_GSO_SIZE_MIN)
		return -EINVAL;
	uint32_t payload = h->l4_len - h->l4_hlen;
	*nsegs = payload ? (payload + p->np_gso_size - 1) / p->np_gso_size : 1;
	return *nsegs > NETPKT_GSO_SEGS_MAX ? -E2BIG : 0;
}

int netpkt_gso_check(const struct netpkt *p)
{
	struct netpkt_hdrs h;
	uint32_t nsegs;

	return netpkt_gso_hdrs(p, &h, &nsegs);
}

/* Segment i of nsegs: headers copied and fixed, its slice of the payload. */
static struct netpkt *netpkt_gso_one(const struct netpkt *p, const struct netpkt_hdrs *h, uint32_t i,
				     uint32_t nsegs)
{
	uint32_t hlen = (uint32_t)h->l4_off + h->l4_hlen;
	uint32_t payload = h->l4_len - h->l4_hlen;
	uint32_t off = i * p->np_gso_size;
	uint32_t chunk = payload - off < p->np_gso_size ? payload - off : p->np_gso_size;
	struct netpkt *s = netpkt_alloc(hlen + chunk);

	if (!s)
		return NULL;
	memcpy(s->np_data, p->np_data, hlen);
	memcpy(s->np_data + hlen, p->np_data + hlen + off, chunk);
	uint8_t *ip = s->np_data + h->l3_off, *tcp = s->np_data + h->l4_off;
	struct netpkt_hdrs sh = *h;
	sh.l4_len = h->l4_hlen + chunk;
	if (h->ipv6) {
		wr16(ip + 4, (uint16_t)sh.l4_len);
	} else {
		wr16(ip + 2, (uint16_t)(hlen - NETPKT_ETH_HLEN + chunk));
		wr16(ip + 4, (uint16_t)(rd16(ip + 4) + i));
	}
	wr32(tcp + 4, rd32(tcp + 4) + off);
	if (i + 1 < nsegs)
		tcp[13] &= (uint8_t)~(NETPKT_TCP_FIN | NETPKT_TCP_PSH);
	if (i > 0)
		tcp[13] &= (uint8_t)~NETPKT_TCP_CWR;
	netpkt_ip_csum_fill(s->np_data, &sh);
	netpkt_l4_csum_fill(s->np_data, &sh);
	s->np_flags = NETPKT_F_DATA_VALIDATED;
	return s;
}

int netpkt_gso_segment(const struct netpkt *p, netpkt_emit_fn *emit, void *arg)
{
	struct netpkt_hdrs h;
	uint32_t nsegs;
	int rc = netpkt_gso_hdrs(p, &h, &nsegs);

	for (uint32_t i = 0; rc == 0 && i < nsegs; i++) {
		struct netpkt *s = netpkt_gso_one(p, &h, i, nsegs);
		rc = s ? emit(arg, s) : -ENOMEM;
	}
	return rc;
}

uint32_t netpkt_flow_hash(const uint8_t *frame, uint32_t len)
{
	struct netpkt_hdrs h;
	uint32_t x = 2166136261u;

	if (netpkt_parse(frame, len, &h) < 0)
		return 0;
	const uint8_t *addrs = frame + h.l3_off + (h.ipv6 ? 8 : 12);
	unsigned alen = h.ipv6 ? 32 : 8;
	for (unsigned i = 0; i < alen; i++)
		x = (x ^ addrs[i]) * 16777619u;
	for (unsigned i = 0; i < 4; i++)
		x = (x ^ frame[h.l4_off + i]) * 16777619u;
	x = (x ^ h.proto) * 16777619u;
	return x ^ (x >> 16);
}
