/*
 * netback: reading one guest packet off the tx ring (io/netif.h, "Guest
 * transmit"): a first slot whose size is the whole packet, optional extra
 * info slots, further data slots while NETTXF_more_data is set.
 *
 * Pure: every slot is fetched once into the caller's array and only the copy
 * is looked at (XSA-155). What is malformed but survivable (too many slots,
 * sizes that do not add up, a packet too short) is dropped with error
 * responses; what shows a broken frontend (a slot crossing its page, a chain
 * running past req_prod or past the fatal slot count, an unknown extra type,
 * a GSO request we never offered) disconnects it, as Linux's netback does.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "drivers/net/netback_internal.h"

struct netback_txscan {
	const struct netback_tx_limits *lim;
	netback_tx_fetch_fn *fetch;
	void *ctx;
	unsigned avail;
	netif_tx_request_t *reqs;
	struct netback_txpkt *pkt;
	char *why;
	size_t why_len;
	bool drop;                       /* survivable fault seen: drop at the end */
};

static enum netback_tx_verdict txscan_fatal(struct netback_txscan *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static enum netback_tx_verdict txscan_fatal(struct netback_txscan *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, s->why_len, fmt, ap);
	va_end(ap);
	return NETBACK_TX_FATAL;
}

/* A survivable fault: remember the first reason, keep consuming the chain. */
static void txscan_drop(struct netback_txscan *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void txscan_drop(struct netback_txscan *s, const char *fmt, ...)
{
	va_list ap;

	if (s->drop)
		return;
	s->drop = true;
	va_start(ap, fmt);
	vsnprintf(s->why, s->why_len, fmt, ap);
	va_end(ap);
}

static enum netback_tx_verdict txscan_gso(struct netback_txscan *s, unsigned i, const netif_extra_info_t *x)
{
	bool v4 = x->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4, v6 = x->u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6;

	if (!v4 && !v6)
		return txscan_fatal(s, "slot %u: GSO type %u is unknown", i, x->u.gso.type);
	if ((v4 && !s->lim->gso_tcpv4) || (v6 && !s->lim->gso_tcpv6))
		return txscan_fatal(s, "slot %u: GSO type %u was not offered", i, x->u.gso.type);
	if (x->u.gso.size == 0)
		return txscan_fatal(s, "slot %u: GSO size 0", i);
	s->pkt->gso_type = x->u.gso.type;
	s->pkt->gso_size = x->u.gso.size;
	return NETBACK_TX_OK;
}

/* Slots 1..: extra info while the previous one asks for more. */
static enum netback_tx_verdict txscan_extras(struct netback_txscan *s, unsigned *i)
{
	bool more = s->reqs[0].flags & NETTXF_extra_info;
	unsigned seen = 0;

	while (more) {
		netif_extra_info_t x;
		if (++*i >= s->avail)
			return txscan_fatal(s, "extra info slot %u is past req_prod (%u slots published)", *i, s->avail);
		if (++seen > NETBACK_EXTRAS_MAX)
			return txscan_fatal(s, "more than %u extra info slots", NETBACK_EXTRAS_MAX);
		s->fetch(s->ctx, *i, &s->reqs[*i]);
		memcpy(&x, &s->reqs[*i], sizeof(x));
		if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
			return txscan_fatal(s, "slot %u: extra info type %u is unknown", *i, x.type);
		if (x.type == XEN_NETIF_EXTRA_TYPE_GSO && txscan_gso(s, *i, &x) != NETBACK_TX_OK)
			return NETBACK_TX_FATAL;
		/* MCAST_ADD/DEL and HASH carry nothing we act on. */
		more = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	}
	s->pkt->nextras = seen;
	return NETBACK_TX_OK;
}

static enum netback_tx_verdict txscan_slot_bounds(struct netback_txscan *s, unsigned i, uint32_t size)
{
	const netif_tx_request_t *r = &s->reqs[i];

	if ((uint32_t)r->offset + size > NETBACK_PAGE_SIZE)
		return txscan_fatal(s, "slot %u (id %u, ref %" PRIu32 "): offset %u + size %" PRIu32 " crosses the page",
				    i, r->id, r->gref, r->offset, size);
	return NETBACK_TX_OK;
}

/* Further data slots; what they hold comes off the first slot's size. */
static enum netback_tx_verdict txscan_data(struct netback_txscan *s, unsigned *i, uint32_t *rest)
{
	bool more = s->reqs[0].flags & NETTXF_more_data;
	struct netback_txpkt *p = s->pkt;

	while (more) {
		if (++*i >= s->avail)
			return txscan_fatal(s, "packet continues in slot %u, past req_prod (%u slots published)", *i,
					    s->avail);
		if (p->ndata + 1 > s->lim->slots_fatal)
			return txscan_fatal(s, "packet takes more than %u data slots", s->lim->slots_fatal);
		s->fetch(s->ctx, *i, &s->reqs[*i]);
		const netif_tx_request_t *r = &s->reqs[*i];
		p->ndata++;
		if (txscan_slot_bounds(s, *i, r->size) != NETBACK_TX_OK)
			return NETBACK_TX_FATAL;
		if (r->size > *rest)
			txscan_drop(s, "slot %u: size %u is more than the %" PRIu32 " bytes left of the packet", *i, r->size,
				    *rest);
		else
			*rest -= r->size;
		p->zero_slots += r->size == 0;
		more = r->flags & NETTXF_more_data;
	}
	return NETBACK_TX_OK;
}

/* What only the whole packet shows. */
static void txscan_packet(struct netback_txscan *s)
{
	struct netback_txpkt *p = s->pkt;

	if (p->ndata > s->lim->slots_max)
		txscan_drop(s, "packet takes %u data slots, more than %u", p->ndata, s->lim->slots_max);
	if (p->ndata > 1 && !s->lim->sg)
		txscan_drop(s, "packet takes %u data slots without feature-sg", p->ndata);
	if (p->len < NETPKT_ETH_HLEN)
		txscan_drop(s, "packet of %" PRIu32 " bytes is shorter than an Ethernet header", p->len);
	if (p->gso_type && p->len <= NETPKT_ETH_HLEN)
		txscan_drop(s, "GSO packet of %" PRIu32 " bytes has no headers", p->len);
}

enum netback_tx_verdict netback_tx_parse(const struct netback_tx_limits *lim, netback_tx_fetch_fn *fetch,
					 void *ctx, unsigned avail, netif_tx_request_t *reqs,
					 struct netback_txpkt *out, char *why, size_t why_len)
{
	struct netback_txscan s = {.lim = lim, .fetch = fetch, .ctx = ctx, .avail = avail, .reqs = reqs,
				   .pkt = out, .why = why, .why_len = why_len};
	unsigned i = 0;
	uint32_t rest;

	memset(out, 0, sizeof(*out));
	why[0] = '\0';
	fetch(ctx, 0, &reqs[0]);
	out->ndata = 1;
	out->len = reqs[0].size;
	out->flags = reqs[0].flags & (NETTXF_csum_blank | NETTXF_data_validated);
	rest = reqs[0].size;
	if (txscan_extras(&s, &i) != NETBACK_TX_OK || txscan_data(&s, &i, &rest) != NETBACK_TX_OK)
		return NETBACK_TX_FATAL;
	/* The first slot holds what the others do not. */
	out->first_len = rest;
	if (txscan_slot_bounds(&s, 0, rest) != NETBACK_TX_OK)
		return NETBACK_TX_FATAL;
	out->nslots = i + 1;
	txscan_packet(&s);
	return s.drop ? NETBACK_TX_DROP : NETBACK_TX_OK;
}

unsigned netback_rx_slots(uint32_t len, bool gso)
{
	unsigned data = len ? (len + NETBACK_PAGE_SIZE - 1) / NETBACK_PAGE_SIZE : 1;

	return data + (gso ? 1u : 0u);
}
