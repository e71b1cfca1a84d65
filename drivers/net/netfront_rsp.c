/*
 * netfront: what a response may say. Pure functions on copies, so that the
 * unit tests can walk every limit. A backend may answer tx requests out of
 * order (Linux's netback does, with mapped pages), so a tx response is
 * matched by id: it must name a page in flight; NULL answers an extra info
 * slot, and there cannot be more of those than extra slots sent. An rx
 * response lands in the slot of the request it consumed (netif.h), so its id
 * must be that slot's; data must stay inside its page and the frame within
 * NETFRONT_RX_FRAME_MAX bytes and NETFRONT_RX_SLOTS_MAX slots.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "drivers/net/netfront_internal.h"

static int netfront_why(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int netfront_why(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -EPROTO;
}

bool netfront_rsp_prod_ok(RING_IDX rsp_prod, RING_IDX rsp_cons, RING_IDX req_prod_pvt)
{
	return (RING_IDX)(rsp_prod - rsp_cons) <= (RING_IDX)(req_prod_pvt - rsp_cons);
}

int netfront_tx_rsp_check(const struct netfront_txview *v, const netif_tx_response_t *rsp, char *why,
			  size_t why_len)
{
	if (rsp->status == NETIF_RSP_NULL) {
		if (v->extras_outstanding == 0)
			return netfront_why(why, why_len, "tx response NULL (id %u) but no extra info slot is outstanding",
					    rsp->id);
		return 1;
	}
	if (rsp->status != NETIF_RSP_OKAY && rsp->status != NETIF_RSP_ERROR && rsp->status != NETIF_RSP_DROPPED)
		return netfront_why(why, why_len, "tx response id %u has unknown status %d", rsp->id, rsp->status);
	if (rsp->id >= v->nbufs)
		return netfront_why(why, why_len, "tx response id %u is out of range (%u pages)", rsp->id, v->nbufs);
	if (!v->bufs[rsp->id].tb_busy)
		return netfront_why(why, why_len, "tx response id %u answers no request in flight", rsp->id);
	return 0;
}

struct netfront_rxscan {
	const struct netfront_rx_limits *lim;
	netfront_rx_fetch_fn *fetch;
	void *ctx;
	RING_IDX cons;
	unsigned avail;
	netif_rx_response_t *rsps;
	struct netfront_rxpkt *pkt;
	char *why;
	size_t why_len;
};

static int rxscan_extra(struct netfront_rxscan *s, unsigned i)
{
	netif_extra_info_t x;

	memcpy(&x, &s->rsps[i], sizeof(x));
	if (x.type != XEN_NETIF_EXTRA_TYPE_GSO)
		return netfront_why(s->why, s->why_len, "rx slot %u: extra info type %u was never asked for",
				    s->cons + i, x.type);
	bool v4 = x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4, v6 = x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6;
	if ((!v4 || !s->lim->gso_tcpv4) && (!v6 || !s->lim->gso_tcpv6))
		return netfront_why(s->why, s->why_len, "rx slot %u: GSO type %u was not offered", s->cons + i,
				    x.u.gso.type);
	if (x.u.gso.size == 0)
		return netfront_why(s->why, s->why_len, "rx slot %u: GSO size 0", s->cons + i);
	s->pkt->gso_type = x.u.gso.type;
	s->pkt->gso_size = x.u.gso.size;
	return (x.flags & XEN_NETIF_EXTRA_FLAG_MORE) ? 1 : 0;
}

/* Slots after the first while the previous one asks for more extra info. */
static int rxscan_extras(struct netfront_rxscan *s, unsigned *i)
{
	int more = (s->rsps[0].flags & NETRXF_extra_info) ? 1 : 0;
	unsigned seen = 0;

	while (more > 0) {
		if (++*i >= s->avail)
			return -EAGAIN;
		if (++seen > NETFRONT_EXTRAS_MAX)
			return netfront_why(s->why, s->why_len, "rx frame at slot %u has more than %u extra info slots",
					    s->cons, NETFRONT_EXTRAS_MAX);
		s->fetch(s->ctx, *i, &s->rsps[*i]);
		more = rxscan_extra(s, *i);
	}
	return more;
}

static int rxscan_data(struct netfront_rxscan *s, unsigned i)
{
	const netif_rx_response_t *r = &s->rsps[i];
	RING_IDX slot = s->cons + i;
	unsigned want = slot & (s->lim->ring_size - 1);

	if (r->id != want)
		return netfront_why(s->why, s->why_len, "rx slot %u: response id %u, the request there was id %u",
				    slot, r->id, want);
	if (r->status < 0) {
		if (r->status != NETIF_RSP_ERROR && r->status != NETIF_RSP_DROPPED)
			return netfront_why(s->why, s->why_len, "rx slot %u: unknown status %d", slot, r->status);
		s->pkt->error = true;
		return 0;
	}
	if ((uint32_t)r->offset + (uint32_t)r->status > NETFRONT_PAGE_SIZE)
		return netfront_why(s->why, s->why_len, "rx slot %u (id %u): offset %u + length %d is beyond the page",
				    slot, r->id, r->offset, r->status);
	s->pkt->len += (uint32_t)r->status;
	if (s->pkt->len > NETFRONT_RX_FRAME_MAX)
		return netfront_why(s->why, s->why_len, "rx frame at slot %u is longer than %u bytes", s->cons,
				    NETFRONT_RX_FRAME_MAX);
	return 0;
}

int netfront_rx_parse(const struct netfront_rx_limits *lim, netfront_rx_fetch_fn *fetch, void *ctx,
		      RING_IDX cons, unsigned avail, netif_rx_response_t *rsps, struct netfront_rxpkt *out,
		      char *why, size_t why_len)
{
	struct netfront_rxscan s = {.lim = lim, .fetch = fetch, .ctx = ctx, .cons = cons, .avail = avail,
				    .rsps = rsps, .pkt = out, .why = why, .why_len = why_len};
	unsigned i = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	fetch(ctx, 0, &rsps[0]);
	out->flags = rsps[0].flags;
	out->ndata = 1;
	rc = rxscan_data(&s, 0);
	if (rc == 0)
		rc = rxscan_extras(&s, &i);
	for (bool more = rsps[0].flags & NETRXF_more_data; rc == 0 && more;) {
		if (++i >= avail)
			return -EAGAIN;
		if (++out->ndata > NETFRONT_RX_SLOTS_MAX)
			return netfront_why(why, why_len, "rx frame at slot %u takes more than %u data slots", cons,
					    NETFRONT_RX_SLOTS_MAX);
		fetch(ctx, i, &rsps[i]);
		rc = rxscan_data(&s, i);
		more = rsps[i].flags & NETRXF_more_data;
	}
	out->nslots = i + 1;
	return rc;
}
