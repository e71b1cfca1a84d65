/*
 * Unit suites for what the network drivers decide on copies, at and past
 * every limit: netback's reading of a guest's tx slots, netfront's checks of
 * tx and rx responses, and the packet arithmetic (checksums, GSO cuts) that
 * netback and the workload rely on. Pure functions: no domains.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/netback_internal.h"
#include "drivers/net/netfront_internal.h"
#include "drivers/net/netpkt.h"
#include "drivers/net/network_internal.h"
#include "tests/test.h"

/* ---- netback: tx slot parsing ---- */

struct tp_ring {
	netif_tx_request_t slots[NETBACK_RING_SIZE];
	unsigned fetched[NETBACK_RING_SIZE];
	unsigned n;
};

static void tp_fetch(void *ctx, unsigned i, netif_tx_request_t *out)
{
	struct tp_ring *r = ctx;

	r->fetched[i]++;
	*out = r->slots[i];
}

/* A packet of len bytes in ndata slots: the first holds what the others do
 * not; the others hold `each` bytes. */
static void tp_packet(struct tp_ring *r, uint16_t len, unsigned ndata, uint16_t each)
{
	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < ndata; i++)
		r->slots[i] = (netif_tx_request_t){.gref = 100 + i, .offset = 0, .id = (uint16_t)i,
						   .size = i == 0 ? len : each,
						   .flags = i + 1 < ndata ? NETTXF_more_data : 0};
	r->n = ndata;
}

static const struct netback_tx_limits tp_lim = {.slots_max = XEN_NETIF_NR_SLOTS_MIN, .slots_fatal = 20,
						 .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = false};

static enum netback_tx_verdict tp_parse_lim(struct tp_ring *r, const struct netback_tx_limits *lim,
					    struct netback_txpkt *p, char *why)
{
	netif_tx_request_t reqs[NETBACK_TX_PKT_SLOTS_MAX];

	return netback_tx_parse(lim, tp_fetch, r, r->n, reqs, p, why, NETBACK_WHY_MAX);
}

static enum netback_tx_verdict tp_parse(struct tp_ring *r, struct netback_txpkt *p)
{
	char why[NETBACK_WHY_MAX];

	return tp_parse_lim(r, &tp_lim, p, why);
}

static void txparse_single_slot_ok(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 60, 1, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.nslots, 1);
	CU_ASSERT_EQUAL(p.ndata, 1);
	CU_ASSERT_EQUAL(p.len, 60);
	CU_ASSERT_EQUAL(p.first_len, 60);
}

static void txparse_slots_at_max_ok_past_max_dropped(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 18 * 100, 18, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.ndata, 18);
	CU_ASSERT_EQUAL(p.first_len, 100);
	tp_packet(&r, 19 * 100, 19, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_DROP);
	CU_ASSERT_EQUAL(p.nslots, 19);   /* all of it is answered */
	tp_packet(&r, 20 * 100, 20, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_DROP);
}

static void txparse_slots_past_fatal_disconnects(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 21 * 100, 21, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
}

static void txparse_raised_limits_accept_beyond_min(void)
{
	struct netback_tx_limits lim = tp_lim;
	struct tp_ring r;
	struct netback_txpkt p;
	char why[NETBACK_WHY_MAX];

	lim.slots_max = NETBACK_TX_SLOTS_LIMIT;
	lim.slots_fatal = NETBACK_TX_SLOTS_FATAL_LIMIT;
	tp_packet(&r, NETBACK_TX_SLOTS_LIMIT * 64, NETBACK_TX_SLOTS_LIMIT, 64);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.ndata, NETBACK_TX_SLOTS_LIMIT);
	tp_packet(&r, (NETBACK_TX_SLOTS_LIMIT + 1) * 64, NETBACK_TX_SLOTS_LIMIT + 1, 64);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_DROP);
	tp_packet(&r, NETBACK_TX_SLOTS_FATAL_LIMIT * 8, NETBACK_TX_SLOTS_FATAL_LIMIT, 8);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_DROP);
	tp_packet(&r, (NETBACK_TX_SLOTS_FATAL_LIMIT + 1) * 8, NETBACK_TX_SLOTS_FATAL_LIMIT + 1, 8);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_FATAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "more than 128 data slots"));
}

static void txparse_offset_at_page_end_ok_past_fatal(void)
{
	struct tp_ring r;
	struct netback_txpkt p;
	char why[NETBACK_WHY_MAX];

	tp_packet(&r, 96, 1, 0);
	r.slots[0].offset = 4000;
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	r.slots[0].offset = 4001;
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &tp_lim, &p, why), NETBACK_TX_FATAL);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "offset 4001 + size 96 crosses the page"));
	/* A later slot, and the first slot's own share of a multi-slot packet. */
	tp_packet(&r, 200, 2, 100);
	r.slots[1].offset = 3997;
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
}

static void txparse_first_slot_share_crosses_page(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	/* 4200 bytes, the second slot holds 100: the first would hold 4100. */
	tp_packet(&r, 4200, 2, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_packet(&r, 4196, 2, 100);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.first_len, 4096);
}

static void txparse_fragment_larger_than_rest_dropped(void)
{
	struct tp_ring r;
	struct netback_txpkt p;
	char why[NETBACK_WHY_MAX];

	tp_packet(&r, 150, 3, 100);   /* 100 + 100 > 150 */
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &tp_lim, &p, why), NETBACK_TX_DROP);
	CU_ASSERT_EQUAL(p.nslots, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "slot 2: size 100 is more than the 50 bytes left"));
	tp_packet(&r, 200, 3, 100);   /* exactly: the first slot holds nothing */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.first_len, 0);
}

static void txparse_zero_length_slots_counted(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 60, 5, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.zero_slots, 4);
	CU_ASSERT_EQUAL(p.first_len, 60);
	/* A whole packet of nothing is not a packet. */
	tp_packet(&r, 0, 1, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_DROP);
}

static void txparse_header_split_across_slots_ok(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 70, 3, 30);   /* 10 bytes of header in the first slot */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.first_len, 10);
	CU_ASSERT_EQUAL(p.ndata, 3);
}

static void txparse_short_packet_dropped(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, NETPKT_ETH_HLEN - 1, 1, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_DROP);
	tp_packet(&r, NETPKT_ETH_HLEN, 1, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
}

static void txparse_multi_slot_without_sg_dropped(void)
{
	struct netback_tx_limits lim = tp_lim;
	struct tp_ring r;
	struct netback_txpkt p;
	char why[NETBACK_WHY_MAX];

	lim.sg = false;
	tp_packet(&r, 200, 2, 100);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_DROP);
	tp_packet(&r, 200, 1, 0);
	CU_ASSERT_EQUAL(tp_parse_lim(&r, &lim, &p, why), NETBACK_TX_OK);
}

static void txparse_chain_past_req_prod_fatal(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_packet(&r, 300, 3, 100);
	r.n = 2;   /* the third slot is not published */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	CU_ASSERT_EQUAL(r.fetched[2], 0);   /* and never read */
}

static void tp_extra(struct tp_ring *r, unsigned i, uint8_t type, uint8_t flags, uint16_t size, uint8_t gso_type)
{
	netif_extra_info_t x = {.type = type, .flags = flags};

	x.u.gso.size = size;
	x.u.gso.type = gso_type;
	memset(&r->slots[i], 0, sizeof(r->slots[i]));
	memcpy(&r->slots[i], &x, sizeof(x));
}

/* A GSO packet: first slot, extras at 1..nx, then data slots of 100. */
static void tp_gso_packet(struct tp_ring *r, unsigned nx, unsigned ndata_more, uint8_t gso_type, uint16_t size)
{
	memset(r, 0, sizeof(*r));
	r->slots[0] = (netif_tx_request_t){.gref = 1, .size = (uint16_t)(1000 + ndata_more * 100),
					   .flags = NETTXF_extra_info | NETTXF_csum_blank |
						    (ndata_more ? NETTXF_more_data : 0)};
	for (unsigned i = 1; i <= nx; i++)
		tp_extra(r, i, i == 1 ? XEN_NETIF_EXTRA_TYPE_GSO : XEN_NETIF_EXTRA_TYPE_HASH,
			 i < nx ? XEN_NETIF_EXTRA_FLAG_MORE : 0, size, gso_type);
	for (unsigned i = 0; i < ndata_more; i++)
		r->slots[1 + nx + i] = (netif_tx_request_t){.gref = 2 + i, .id = (uint16_t)(5 + i), .size = 100,
							    .flags = i + 1 < ndata_more ? NETTXF_more_data : 0};
	r->n = 1 + nx + ndata_more;
}

static void txparse_gso_extra_read(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_gso_packet(&r, 1, 2, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.nextras, 1);
	CU_ASSERT_EQUAL(p.nslots, 4);
	CU_ASSERT_EQUAL(p.ndata, 3);
	CU_ASSERT_EQUAL(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	CU_ASSERT_EQUAL(p.gso_size, 1448);
	CU_ASSERT_EQUAL(p.flags, NETTXF_csum_blank);
	CU_ASSERT_EQUAL(p.first_len, 1000);
}

static void txparse_gso_refusals_fatal(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_gso_packet(&r, 1, 0, XEN_NETIF_GSO_TYPE_TCPV6, 1448);   /* not offered */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_gso_packet(&r, 1, 0, 7, 1448);                          /* unknown */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_gso_packet(&r, 1, 0, XEN_NETIF_GSO_TYPE_TCPV4, 0);      /* size 0 */
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
}

static void txparse_extra_types_and_count(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_gso_packet(&r, NETBACK_EXTRAS_MAX, 1, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.nextras, NETBACK_EXTRAS_MAX);
	tp_gso_packet(&r, NETBACK_EXTRAS_MAX + 1, 1, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_gso_packet(&r, 1, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	tp_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_NONE, 0, 0, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_MAX, 0, 0, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
	tp_extra(&r, 1, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, 0, 0, 0);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	CU_ASSERT_EQUAL(p.gso_type, 0);
}

static void txparse_extra_past_req_prod_fatal(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_gso_packet(&r, 2, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	r.n = 2;
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_FATAL);
}

static void txparse_fetches_each_slot_once(void)
{
	struct tp_ring r;
	struct netback_txpkt p;

	tp_gso_packet(&r, 2, 5, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	CU_ASSERT_EQUAL(tp_parse(&r, &p), NETBACK_TX_OK);
	for (unsigned i = 0; i < r.n; i++)
		CU_ASSERT_EQUAL(r.fetched[i], 1);
	CU_ASSERT_EQUAL(r.fetched[r.n], 0);
}

static void rxslots_by_length(void)
{
	CU_ASSERT_EQUAL(netback_rx_slots(1, false), 1);
	CU_ASSERT_EQUAL(netback_rx_slots(4096, false), 1);
	CU_ASSERT_EQUAL(netback_rx_slots(4097, false), 2);
	CU_ASSERT_EQUAL(netback_rx_slots(NETPKT_FRAME_MAX, false), 16);
	CU_ASSERT_EQUAL(netback_rx_slots(NETPKT_FRAME_MAX, true), 17);
	CU_ASSERT_TRUE(netback_rx_slots(NETPKT_FRAME_MAX, true) <= XEN_NETIF_NR_SLOTS_MIN);
}

/* ---- netfront: tx responses ---- */

static void txrsp_ids_range_and_in_flight(void)
{
	struct netfront_txbuf bufs[4] = {{.tb_busy = true}, {.tb_busy = false}, {.tb_busy = true}, {.tb_busy = true}};
	struct netfront_txview v = {.bufs = bufs, .nbufs = 4, .extras_outstanding = 0};
	char why[NETFRONT_ERROR_MAX];

	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 0, .status = NETIF_RSP_OKAY}, why,
					      sizeof(why)), 0);
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 3, .status = NETIF_RSP_ERROR}, why,
					      sizeof(why)), 0);
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 2, .status = NETIF_RSP_DROPPED}, why,
					      sizeof(why)), 0);
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 4, .status = NETIF_RSP_OKAY}, why,
					      sizeof(why)), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "id 4 is out of range (4 pages)"));
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 1, .status = NETIF_RSP_OKAY}, why,
					      sizeof(why)), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "answers no request in flight"));
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 0xFFFF, .status = 0}, why,
					      sizeof(why)), -EPROTO);
}

static void txrsp_status_values(void)
{
	struct netfront_txbuf bufs[1] = {{.tb_busy = true}};
	struct netfront_txview v = {.bufs = bufs, .nbufs = 1, .extras_outstanding = 0};
	char why[NETFRONT_ERROR_MAX];

	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 0, .status = -3}, why, sizeof(why)),
			-EPROTO);
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.id = 0, .status = 2}, why, sizeof(why)),
			-EPROTO);
	/* NULL answers an extra info slot; there must be one outstanding. */
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.status = NETIF_RSP_NULL}, why, sizeof(why)),
			-EPROTO);
	v.extras_outstanding = 1;
	CU_ASSERT_EQUAL(netfront_tx_rsp_check(&v, &(netif_tx_response_t){.status = NETIF_RSP_NULL}, why, sizeof(why)),
			1);
}

static void rspprod_bounded_by_outstanding(void)
{
	CU_ASSERT_TRUE(netfront_rsp_prod_ok(10, 5, 10));
	CU_ASSERT_FALSE(netfront_rsp_prod_ok(11, 5, 10));
	CU_ASSERT_TRUE(netfront_rsp_prod_ok(5, 5, 10));
	CU_ASSERT_FALSE(netfront_rsp_prod_ok(4, 5, 10));   /* going backwards is "4 billion ahead" */
	CU_ASSERT_TRUE(netfront_rsp_prod_ok(2, 0xFFFFFFF0u, 5));   /* across the wrap */
	CU_ASSERT_FALSE(netfront_rsp_prod_ok(6, 0xFFFFFFF0u, 5));
}

/* ---- netfront: rx responses ---- */

struct rp_ring {
	netif_rx_response_t slots[NETFRONT_RING_SIZE];
	unsigned fetched[NETFRONT_RING_SIZE];
	RING_IDX cons;
	unsigned n;
};

static void rp_fetch(void *ctx, unsigned i, netif_rx_response_t *out)
{
	struct rp_ring *r = ctx;

	r->fetched[i]++;
	*out = r->slots[i];
}

/* ndata data slots of `each` bytes starting at ring index cons. */
static void rp_frame(struct rp_ring *r, RING_IDX cons, unsigned ndata, int16_t each)
{
	memset(r, 0, sizeof(*r));
	r->cons = cons;
	for (unsigned i = 0; i < ndata; i++)
		r->slots[i] = (netif_rx_response_t){.id = (uint16_t)((cons + i) & (NETFRONT_RING_SIZE - 1)),
						    .offset = 0, .status = each,
						    .flags = i + 1 < ndata ? NETRXF_more_data : 0};
	r->n = ndata;
}

static const struct netfront_rx_limits rp_lim = {.ring_size = NETFRONT_RING_SIZE, .gso_tcpv4 = true,
						 .gso_tcpv6 = false};

static int rp_parse(struct rp_ring *r, struct netfront_rxpkt *p, char *why)
{
	netif_rx_response_t rsps[NETFRONT_RX_FRAME_SLOTS_MAX];

	return netfront_rx_parse(&rp_lim, rp_fetch, r, r->cons, r->n, rsps, p, why, NETFRONT_ERROR_MAX);
}

static void rxparse_single_and_multi_slot(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 7, 1, 1514);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_EQUAL(p.len, 1514);
	CU_ASSERT_EQUAL(p.nslots, 1);
	rp_frame(&r, 250, 10, 4096);   /* across the ring's wrap */
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_EQUAL(p.len, 40960);
	CU_ASSERT_EQUAL(p.ndata, 10);
}

static void rxparse_id_must_match_slot(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 7, 3, 100);
	r.slots[2].id = 3;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "rx slot 9: response id 3, the request there was id 9"));
}

static void rxparse_offset_and_length_in_page(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 0, 1, 96);
	r.slots[0].offset = 4000;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	r.slots[0].offset = 4001;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "offset 4001 + length 96 is beyond the page"));
	rp_frame(&r, 0, 1, 4097);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
}

static void rxparse_error_status_drops_unknown_is_violation(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 0, 3, 100);
	r.slots[1].status = NETIF_RSP_ERROR;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_TRUE(p.error);
	CU_ASSERT_EQUAL(p.nslots, 3);   /* the whole frame is consumed */
	r.slots[1].status = NETIF_RSP_DROPPED;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_TRUE(p.error);
	r.slots[1].status = -3;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
}

static void rxparse_incomplete_waits(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 0, 4, 100);
	r.n = 3;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EAGAIN);
	CU_ASSERT_EQUAL(r.fetched[3], 0);
}

static void rxparse_slot_count_limit(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_frame(&r, 0, NETFRONT_RX_SLOTS_MAX, 100);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	rp_frame(&r, 0, NETFRONT_RX_SLOTS_MAX + 1, 100);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "more than 18 data slots"));
}

static void rxparse_frame_length_limit(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];
	unsigned full = NETFRONT_RX_FRAME_MAX / 4096;   /* 16 full pages, then the rest */

	rp_frame(&r, 0, full + 1, 4096);
	r.slots[full].status = (int16_t)(NETFRONT_RX_FRAME_MAX - full * 4096);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_EQUAL(p.len, NETFRONT_RX_FRAME_MAX);
	r.slots[full].status++;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "longer than"));
}

static void rp_gso(struct rp_ring *r, uint8_t type, uint8_t flags, uint8_t gso_type, uint16_t size)
{
	netif_extra_info_t x = {.type = type, .flags = flags};

	rp_frame(r, 0, 3, 1000);
	x.u.gso.type = gso_type;
	x.u.gso.size = size;
	r->slots[0].flags |= NETRXF_extra_info;
	r->slots[2] = r->slots[1];
	r->slots[2].id = 2;
	r->slots[3] = (netif_rx_response_t){.id = 3, .status = 1000};
	r->slots[2].flags = NETRXF_more_data;
	memset(&r->slots[1], 0, sizeof(r->slots[1]));
	memcpy(&r->slots[1], &x, sizeof(x));
	r->n = 4;
}

static void rxparse_gso_extra(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];

	rp_gso(&r, XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), 0);
	CU_ASSERT_EQUAL(p.nslots, 4);
	CU_ASSERT_EQUAL(p.ndata, 3);
	CU_ASSERT_EQUAL(p.len, 3000);
	CU_ASSERT_EQUAL(p.gso_type, XEN_NETIF_GSO_TYPE_TCPV4);
	CU_ASSERT_EQUAL(p.gso_size, 1448);
	rp_gso(&r, XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV6, 1448);   /* not offered */
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	rp_gso(&r, XEN_NETIF_EXTRA_TYPE_GSO, 0, XEN_NETIF_GSO_TYPE_TCPV4, 0);
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	rp_gso(&r, XEN_NETIF_EXTRA_TYPE_HASH, 0, 0, 0);   /* never asked for */
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	rp_gso(&r, XEN_NETIF_EXTRA_TYPE_GSO, XEN_NETIF_EXTRA_FLAG_MORE, XEN_NETIF_GSO_TYPE_TCPV4, 1448);
	r.n = 2;   /* the next extra is not there yet */
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EAGAIN);
}

static void rxparse_extras_chain_limit(void)
{
	struct rp_ring r;
	struct netfront_rxpkt p;
	char why[NETFRONT_ERROR_MAX];
	netif_extra_info_t x = {.type = XEN_NETIF_EXTRA_TYPE_GSO, .flags = XEN_NETIF_EXTRA_FLAG_MORE};

	x.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	x.u.gso.size = 1448;
	rp_frame(&r, 0, 1, 100);
	r.slots[0].flags = NETRXF_extra_info;
	for (unsigned i = 1; i <= NETFRONT_EXTRAS_MAX + 1; i++)
		memcpy(&r.slots[i], &x, sizeof(x));
	r.n = NETFRONT_EXTRAS_MAX + 2;
	CU_ASSERT_EQUAL(rp_parse(&r, &p, why), -EPROTO);
	CU_ASSERT_PTR_NOT_NULL(strstr(why, "extra info slots"));
}

/* ---- packets: checksums and GSO ---- */

/* RFC 1071 the slow way: network-order 16-bit words. */
static uint16_t pk_ref_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	return (uint16_t)~sum;
}

static void csum_matches_reference_at_every_length(void)
{
	uint8_t buf[300];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(buf); len++)
		CU_ASSERT_EQUAL(netpkt_csum_fold(netpkt_csum_add(0, buf, len)), pk_ref_csum(buf, len, 0));
}

/* A TCP (or UDP) frame between guests 0 and 1, payload from the workload's bytes. */
static struct netpkt *pk_frame(bool v6, uint8_t proto, uint32_t plen, uint32_t seq)
{
	struct network_hdr h = {.ipv6 = v6, .proto = proto, .src = 0, .dst = 1, .sport = 40000, .dport = 5001,
				.seq = seq, .tcp_flags = 0x18 | 0x01, .ip_id = 77};
	struct netpkt *p = netpkt_alloc(network_hdr_len(v6, proto) + plen);
	unsigned hl = network_hdr_build(p->np_data, &h, plen);

	network_fill(p->np_data + hl, 1234, seq, plen);
	network_csum(p->np_data, p->np_len, false);
	return p;
}

static void csum_partial_then_complete_is_full(void)
{
	for (int v6 = 0; v6 <= 1; v6++)
		for (uint8_t proto = NETPKT_PROTO_TCP; proto <= NETPKT_PROTO_UDP; proto += NETPKT_PROTO_UDP - NETPKT_PROTO_TCP) {
			struct netpkt *p = pk_frame(v6, proto, 1001, 5);
			struct netpkt_hdrs h;
			CU_ASSERT_EQUAL_FATAL(netpkt_parse(p->np_data, p->np_len, &h), 0);
			CU_ASSERT_TRUE(netpkt_csum_ok(p->np_data, &h));
			uint8_t full[2] = {p->np_data[h.csum_off], p->np_data[h.csum_off + 1]};
			netpkt_l4_csum_partial(p->np_data, &h);
			CU_ASSERT_TRUE(netpkt_csum_partial_ok(p->np_data, &h));
			CU_ASSERT_FALSE(netpkt_csum_ok(p->np_data, &h));
			p->np_flags = NETPKT_F_CSUM_PARTIAL;
			CU_ASSERT_EQUAL(netpkt_csum_complete(p), 0);
			CU_ASSERT_EQUAL(p->np_flags, NETPKT_F_DATA_VALIDATED);
			CU_ASSERT_EQUAL(memcmp(full, p->np_data + h.csum_off, 2), 0);
			p->np_data[p->np_len - 1] ^= 0x40;   /* one bit off */
			CU_ASSERT_FALSE(netpkt_csum_ok(p->np_data, &h));
			netpkt_free(p);
		}
}

static void parse_refuses_what_it_cannot_read(void)
{
	struct netpkt *p = pk_frame(false, NETPKT_PROTO_TCP, 100, 0);
	struct netpkt_hdrs h;

	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, 13, &h), -EINVAL);
	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, 14 + 19, &h), -EINVAL);
	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, p->np_len - 1, &h), -EINVAL);   /* IP says more */
	p->np_data[14 + 6] |= 0x20;   /* more fragments */
	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, p->np_len, &h), -EPROTONOSUPPORT);
	p->np_data[14 + 6] &= (uint8_t)~0x20;
	p->np_data[14 + 20 + 12] = 0x40;   /* TCP header of 16 bytes */
	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, p->np_len, &h), -EINVAL);
	p->np_data[12] = 0x81;             /* a VLAN tag */
	CU_ASSERT_EQUAL(netpkt_parse(p->np_data, p->np_len, &h), -EPROTONOSUPPORT);
	netpkt_free(p);
}

struct pk_segs {
	struct netpkt *seg[NETPKT_GSO_SEGS_MAX];
	unsigned n;
};

static int pk_emit(void *arg, struct netpkt *s)
{
	struct pk_segs *c = arg;

	c->seg[c->n++] = s;
	return 0;
}

static void pk_gso_cut(bool v6, uint32_t plen, uint16_t mss)
{
	struct netpkt *p = pk_frame(v6, NETPKT_PROTO_TCP, plen, 0xFFFFF000u);   /* seq wraps inside */
	struct pk_segs c = {.n = 0};
	uint32_t off = 0;

	p->np_gso_type = v6 ? NETPKT_GSO_TCPV6 : NETPKT_GSO_TCPV4;
	p->np_gso_size = mss;
	CU_ASSERT_EQUAL_FATAL(netpkt_gso_segment(p, pk_emit, &c), 0);
	CU_ASSERT_EQUAL(c.n, (plen + mss - 1) / mss);
	for (unsigned i = 0; i < c.n; i++) {
		struct netpkt *s = c.seg[i];
		struct netpkt_hdrs h;
		CU_ASSERT_EQUAL_FATAL(netpkt_parse(s->np_data, s->np_len, &h), 0);
		uint32_t n = h.l4_len - h.l4_hlen;
		CU_ASSERT_TRUE(n == mss || (i + 1 == c.n && n <= mss));
		CU_ASSERT_TRUE(netpkt_csum_ok(s->np_data, &h));
		CU_ASSERT_EQUAL(s->np_flags, NETPKT_F_DATA_VALIDATED);
		const uint8_t *tcp = s->np_data + h.l4_off;
		uint32_t seq = (uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7];
		CU_ASSERT_EQUAL(seq, 0xFFFFF000u + off);
		CU_ASSERT_EQUAL((tcp[13] & 0x09) != 0, i + 1 == c.n);   /* FIN and PSH on the last only */
		CU_ASSERT_EQUAL(memcmp(s->np_data + h.l4_off + h.l4_hlen, p->np_data + h.l4_off + h.l4_hlen + off, n), 0);
		if (!v6)
			CU_ASSERT_EQUAL(s->np_data[14 + 5], (uint8_t)(77 + i));   /* IPv4 ids count up */
		off += n;
		netpkt_free(s);
	}
	CU_ASSERT_EQUAL(off, plen);
	netpkt_free(p);
}

static void gso_cuts_v4_and_v6(void)
{
	pk_gso_cut(false, 65535 - 54, 1460);
	pk_gso_cut(true, 65535 - 74, 1440);
	pk_gso_cut(false, 1460 * 3, 1460);   /* an exact multiple */
	pk_gso_cut(false, 100, 1460);        /* one segment */
}

static void gso_check_limits(void)
{
	struct netpkt *p = pk_frame(false, NETPKT_PROTO_TCP, 65535 - 54, 0);

	/* 65481 bytes of payload: 256 segments of 256 is the most allowed. */
	p->np_gso_type = NETPKT_GSO_TCPV4;
	p->np_gso_size = 256;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), 0);
	p->np_gso_size = 255;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), -E2BIG);
	p->np_gso_size = NETPKT_GSO_SIZE_MIN - 1;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), -EINVAL);
	p->np_gso_size = 1460;
	p->np_gso_type = NETPKT_GSO_TCPV6;   /* an IPv4 frame */
	CU_ASSERT_EQUAL(netpkt_gso_check(p), -EINVAL);
	p->np_gso_type = 3;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), -EINVAL);
	netpkt_free(p);
	p = pk_frame(false, NETPKT_PROTO_TCP, 500, 0);
	p->np_gso_type = NETPKT_GSO_TCPV4;
	p->np_gso_size = NETPKT_GSO_SIZE_MIN;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), 0);
	netpkt_free(p);
	p = pk_frame(false, NETPKT_PROTO_UDP, 5000, 0);
	p->np_gso_type = NETPKT_GSO_TCPV4;
	p->np_gso_size = 1460;
	CU_ASSERT_EQUAL(netpkt_gso_check(p), -EPROTONOSUPPORT);
	netpkt_free(p);
}

/* ---- the workload's frame check ---- */

static void view_accepts_what_was_sent_refuses_any_change(void)
{
	struct netpkt *p = pk_frame(true, NETPKT_PROTO_TCP, 3000, 9);
	struct network_view v;
	char why[160];

	CU_ASSERT_EQUAL(network_view(p->np_data, p->np_len, 0, 1, 2, &v, why, sizeof(why)), 0);
	CU_ASSERT_EQUAL(v.src, 0);
	CU_ASSERT_EQUAL(v.plen, 3000);
	CU_ASSERT_EQUAL(v.seq, 9);
	CU_ASSERT_EQUAL(network_view(p->np_data, p->np_len, 0, 0, 2, &v, why, sizeof(why)), -EXDEV);
	/* Every byte counts but IPv6's traffic class, flow label and hop limit. */
	unsigned missed = 0;
	for (uint32_t at = 0; at < p->np_len; at++) {
		p->np_data[at] ^= 1;
		int rc = network_view(p->np_data, p->np_len, 0, 1, 2, &v, why, sizeof(why));
		bool free_byte = at == 14 || at == 15 || at == 16 || at == 17 || at == 21;
		if (rc == 0 && !free_byte && missed++ < 4)
			printf("\n    a change at byte %u went unnoticed", at);
		p->np_data[at] ^= 1;
	}
	CU_ASSERT_EQUAL(missed, 0);
	netpkt_free(p);
}

static const struct test_case txparse_cases[] = {
	TEST(txparse_single_slot_ok),
	TEST(txparse_slots_at_max_ok_past_max_dropped),
	TEST(txparse_slots_past_fatal_disconnects),
	TEST(txparse_raised_limits_accept_beyond_min),
	TEST(txparse_offset_at_page_end_ok_past_fatal),
	TEST(txparse_first_slot_share_crosses_page),
	TEST(txparse_fragment_larger_than_rest_dropped),
	TEST(txparse_zero_length_slots_counted),
	TEST(txparse_header_split_across_slots_ok),
	TEST(txparse_short_packet_dropped),
	TEST(txparse_multi_slot_without_sg_dropped),
	TEST(txparse_chain_past_req_prod_fatal),
	TEST(txparse_gso_extra_read),
	TEST(txparse_gso_refusals_fatal),
	TEST(txparse_extra_types_and_count),
	TEST(txparse_extra_past_req_prod_fatal),
	TEST(txparse_fetches_each_slot_once),
	TEST(rxslots_by_length),
	TEST_END,
};

static const struct test_case rsp_cases[] = {
	TEST(txrsp_ids_range_and_in_flight),
	TEST(txrsp_status_values),
	TEST(rspprod_bounded_by_outstanding),
	TEST(rxparse_single_and_multi_slot),
	TEST(rxparse_id_must_match_slot),
	TEST(rxparse_offset_and_length_in_page),
	TEST(rxparse_error_status_drops_unknown_is_violation),
	TEST(rxparse_incomplete_waits),
	TEST(rxparse_slot_count_limit),
	TEST(rxparse_frame_length_limit),
	TEST(rxparse_gso_extra),
	TEST(rxparse_extras_chain_limit),
	TEST_END,
};

/* A frame's buffer may be one an earlier frame had (the per-thread cache):
 * it comes back with clean metadata and room for what was asked. */
static void alloc_reuse_clean_metadata_and_room(void)
{
	static const uint32_t lens[] = {1, 60, 1500, 2048, 2049, 9000, 32769, NETPKT_FRAME_MAX};

	for (unsigned i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct netpkt *p = netpkt_alloc(lens[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(p);
		p->np_flags = NETPKT_F_CSUM_PARTIAL;
		p->np_gso_type = NETPKT_GSO_TCPV4;
		p->np_gso_size = 1448;
		p->np_stamp = 99;
		p->np_next = p;
		memset(p->np_data, 0xA5, lens[i]);
		netpkt_free(p);
		struct netpkt *q = netpkt_alloc(lens[i]);
		CU_ASSERT_PTR_NOT_NULL_FATAL(q);
		CU_ASSERT_EQUAL(q->np_len, lens[i]);
		CU_ASSERT_TRUE(q->np_cap >= lens[i]);
		CU_ASSERT_TRUE(netpkt_footprint(q) >= sizeof(*q) + lens[i]);
		CU_ASSERT_EQUAL(q->np_flags, 0);
		CU_ASSERT_EQUAL(q->np_gso_type, 0);
		CU_ASSERT_EQUAL(q->np_gso_size, 0);
		CU_ASSERT_EQUAL(q->np_stamp, 0);
		CU_ASSERT_PTR_NULL(q->np_next);
		memset(q->np_data, 0x5A, lens[i]);   /* all of it is ours (ASan checks) */
		netpkt_free(q);
	}
	CU_ASSERT_PTR_NULL(netpkt_alloc(0));
	CU_ASSERT_PTR_NULL(netpkt_alloc(NETPKT_FRAME_MAX + 1));
	netpkt_free(NULL);
}

static const struct test_case pkt_cases[] = {
	TEST(csum_matches_reference_at_every_length),
	TEST(csum_partial_then_complete_is_full),
	TEST(parse_refuses_what_it_cannot_read),
	TEST(gso_cuts_v4_and_v6),
	TEST(gso_check_limits),
	TEST(view_accepts_what_was_sent_refuses_any_change),
	TEST(alloc_reuse_clean_metadata_and_room),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("netback_txparse", NULL, NULL, txparse_cases);
	test_add_suite("netfront_responses", NULL, NULL, rsp_cases);
	test_add_suite("netpkt_packets", NULL, NULL, pkt_cases);
}
