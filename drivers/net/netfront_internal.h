/* Private to netfront (and its unit tests). */
#ifndef XENSIM_DRIVERS_NETFRONT_INTERNAL_H
#define XENSIM_DRIVERS_NETFRONT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xengnttab.h>

#include <event2/event.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/netif.h>

#include "drivers/net/netfront.h"
#include "drivers/net/netpkt.h"
#include "drivers/xenbus/xenbus.h"

/* ---- limits ---- */
#define NETFRONT_PAGE_SIZE (1u << XEN_PAGE_SHIFT)
#define NETFRONT_RING_SIZE __CONST_RING_SIZE(netif_tx, NETFRONT_PAGE_SIZE)
#define NETFRONT_TX_FRAME_MAX NETPKT_FRAME_MAX        /* a tx size is 16 bits */
#define NETFRONT_RX_FRAME_MAX (NETPKT_FRAME_MAX + NETPKT_ETH_HLEN)   /* 64 KiB datagram + Ethernet */
#define NETFRONT_RX_SLOTS_MAX XEN_NETIF_NR_SLOTS_MIN   /* data slots of one received frame */
#define NETFRONT_EXTRAS_MAX (XEN_NETIF_EXTRA_TYPE_MAX - 1u)
#define NETFRONT_RX_FRAME_SLOTS_MAX (NETFRONT_RX_SLOTS_MAX + NETFRONT_EXTRAS_MAX)
#define NETFRONT_TX_BUFS_MIN (XEN_NETIF_NR_SLOTS_MIN + 1u)
#define NETFRONT_RX_BATCH 64u                         /* frames per loop turn */
#define NETFRONT_DRAIN_TURNS_MAX (NETFRONT_RING_SIZE / NETFRONT_RX_BATCH + 1u)   /* a full ring at disconnect */
#define NETFRONT_CONNECT_TRIES_MAX 4u
#define NETFRONT_AWAY_MS_DEFAULT 30000u              /* a vanished backend is waited for */
#define NETFRONT_ERROR_MAX 192u

_Static_assert(NETFRONT_RING_SIZE == 256, "a netif ring page holds 256 slots");
_Static_assert(NETFRONT_TX_SLOTS_LIMIT + 1 <= NETFRONT_RING_SIZE, "a frame fits in the tx ring");
_Static_assert((NETFRONT_TX_FRAME_MAX + NETFRONT_PAGE_SIZE - 1) / NETFRONT_PAGE_SIZE < NETFRONT_TX_BUFS_MIN,
	       "the largest frame, packed, fits in the smallest tx pool");
_Static_assert(NETFRONT_RX_SLOTS_MAX * NETFRONT_PAGE_SIZE >= NETFRONT_RX_FRAME_MAX, "max frame fits max slots");
_Static_assert(NETFRONT_RX_FRAME_SLOTS_MAX < NETFRONT_RING_SIZE, "a frame fits in the rx ring");

/* ---- response checks (netfront_rsp.c): pure, on copies ---- */

/* One tx page: in flight from netfront_send() until the backend answers. */
struct netfront_txbuf {
	uint8_t *tb_page;
	uint32_t tb_ref;
	bool tb_busy;
	bool tb_first;              /* the first slot of its frame (counts errors) */
	uint16_t tb_next_free;
};

struct netfront_txview {
	const struct netfront_txbuf *bufs;
	unsigned nbufs;
	unsigned extras_outstanding;   /* extra info slots not answered yet */
};

/* A tx response: 0 a data slot's (its id may be released), 1 an extra info
 * slot's (NETIF_RSP_NULL), -EPROTO a violation (why says it with values). */
int netfront_tx_rsp_check(const struct netfront_txview *v, const netif_tx_response_t *rsp, char *why,
			  size_t why_len);

struct netfront_rx_limits {
	unsigned ring_size;          /* ids are slot & (ring_size - 1) */
	bool gso_tcpv4, gso_tcpv6;   /* what we told the backend we take */
};

/* One received frame as its responses describe it. */
struct netfront_rxpkt {
	unsigned nslots;             /* ring slots: data + extra info */
	unsigned ndata;
	uint32_t len;                /* bytes (negative statuses count 0) */
	uint16_t flags;              /* the first slot's NETRXF_* */
	uint8_t gso_type;
	uint16_t gso_size;
	bool error;                  /* a slot said NETIF_RSP_ERROR/DROPPED: drop the frame */
};

typedef void netfront_rx_fetch_fn(void *ctx, unsigned i, netif_rx_response_t *out);

/* Read one frame starting at ring index cons: each response is fetched once
 * into rsps[] (room for NETFRONT_RX_FRAME_SLOTS_MAX). avail: responses
 * published from cons on. 0: a whole frame; -EAGAIN: it continues past
 * rsp_prod (wait); -EPROTO: a violation (why). */
int netfront_rx_parse(const struct netfront_rx_limits *lim, netfront_rx_fetch_fn *fetch, void *ctx,
		      RING_IDX cons, unsigned avail, netif_rx_response_t *rsps, struct netfront_rxpkt *out,
		      char *why, size_t why_len);

/* rsp_prod is believable: no more responses than requests outstanding. */
bool netfront_rsp_prod_ok(RING_IDX rsp_prod, RING_IDX rsp_cons, RING_IDX req_prod_pvt);

/* ---- instance and queues ---- */

enum netfront_phase {
	NF_RESETTING,        /* stale state from an earlier instance: Closed first */
	NF_WAIT_BACKEND,     /* Initialising, no rings; waiting for InitWait */
	NF_PUBLISHED,        /* rings published (we are Connected), waiting for the backend */
	NF_CONNECTED,
	NF_BACKEND_CLOSED,   /* the backend closed: we are Closed, waiting for it */
	NF_DEAD,             /* terminal */
};

struct netfront;

struct netfront_queue {
	struct netfront *q_nf;
	unsigned q_index;
	void *q_rings;                      /* page 0: tx ring, page 1: rx ring */
	uint32_t q_ring_refs[2];
	netif_tx_front_ring_t q_tx;
	netif_rx_front_ring_t q_rx;
	struct xenbus_evtchn *q_ev_tx;      /* tx, or both without split channels */
	struct xenbus_evtchn *q_ev_rx;      /* NULL without split channels */
	struct event *q_rx_more;            /* continue after a full batch */

	/* tx */
	void *q_tx_pages;                   /* shared read-only */
	struct netfront_txbuf *q_txb;
	unsigned q_tx_free, q_tx_nfree;     /* free list head, length */
	unsigned q_tx_extras;
	unsigned q_tx_frames;               /* frames in flight */
	bool q_tx_blocked;                  /* a send got -EAGAIN */

	/* rx */
	void *q_rx_pages;                   /* shared writable */
	uint32_t *q_rx_refs;
	uint16_t *q_rx_free;                /* stack of free buffers */
	unsigned q_rx_nfree;
	uint16_t q_rx_buf_of_id[NETFRONT_RING_SIZE];
	netif_rx_response_t q_rx_rsps[NETFRONT_RX_FRAME_SLOTS_MAX];
	uint8_t *q_rx_frame;                /* one frame, reassembled */
};

/* What the backend offers (its keys), as the rings were set up for it. */
struct netfront_be_features {
	bool rx_copy, sg, gso_tcpv4, gso_tcpv6, ipv6_csum, split;
	uint64_t queues;
};

struct netfront {
	struct netfront_config nf_cfg;
	struct xenbus *nf_xb;
	char nf_dir[XENBUS_DIR_MAX];        /* device/vif/<devid> (relative) */
	struct xenbus_otherend nf_back;
	struct xenbus_watch *nf_watch;      /* the backend's state */
	struct xenbus_watch *nf_carrier_watch;
	enum netfront_phase nf_phase;
	char nf_error[NETFRONT_ERROR_MAX];
	int nf_error_code;                  /* netfront_error_code() */
	struct event *nf_defer_ev;          /* teardown after a violation */
	struct event *nf_away_timer;        /* the backend's directory vanished: bounded wait */
	unsigned nf_connect_tries;
	xengntshr_handle *nf_gs;
	int nf_cb_depth;                    /* inside our callbacks */
	struct netfront_info nf_info;
	unsigned nf_nq;
	struct netfront_be_features nf_offer;   /* read by netfront_rings_setup */
	struct netfront_queue *nf_queues;
	struct netfront_stats nf_stats;
	struct xenbus_evtchn_stats nf_ev_closed;
};

/* ---- netfront.c ---- */
/* A protocol violation by the backend: terminal (once), logged with values. */
void netfront_fail(struct netfront *nf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The same, for a backend that broke netif.h's protocol (-EPROTO). */
void netfront_fail_proto(struct netfront *nf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void netfront_event(struct netfront *nf, enum netfront_event ev);

/* ---- netfront_ring.c ---- */
int netfront_rings_setup(struct netfront *nf);
/* The backend's keys, read in t (XBT_NULL for none). */
int netfront_be_features(struct netfront *nf, xs_transaction_t t, struct netfront_be_features *f);
/* Release rings, channels and pages; frames in flight are counted lost. */
void netfront_rings_teardown(struct netfront *nf);
int netfront_rings_publish(struct xs_handle *xs, xs_transaction_t t, struct netfront *nf);
int netfront_keys_clean(struct xs_handle *xs, xs_transaction_t t, struct netfront *nf);

/* ---- netfront_io.c ---- */
bool netfront_ev_both(void *arg);
bool netfront_ev_tx(void *arg);
bool netfront_ev_rx(void *arg);
void netfront_rx_more_cb(evutil_socket_t fd, short what, void *arg);
/* Post every free rx buffer. */
void netfront_rx_refill(struct netfront_queue *q);

#endif
