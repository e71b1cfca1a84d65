/* Private to netback (and its unit tests). */
#ifndef XENSIM_DRIVERS_NETBACK_INTERNAL_H
#define XENSIM_DRIVERS_NETBACK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <xengnttab.h>

#include <event2/event.h>

#include "drivers/platform.h"   /* before ring.h: xen_mb() and friends */
#include <xen/io/netif.h>

#include "drivers/net/netback.h"
#include "drivers/xenbus/xenbus.h"

/* ---- limits ---- */
#define NETBACK_PAGE_SIZE (1u << XEN_PAGE_SHIFT)
#define NETBACK_RING_SIZE __CONST_RING_SIZE(netif_tx, NETBACK_PAGE_SIZE)
#define NETBACK_EXTRAS_MAX (XEN_NETIF_EXTRA_TYPE_MAX - 1u)   /* one of each type */
#define NETBACK_TX_PKT_SLOTS_MAX (NETBACK_TX_SLOTS_FATAL_LIMIT + NETBACK_EXTRAS_MAX + 1u)
#define NETBACK_TX_BATCH_PKTS 64u          /* packets per grant copy, then yield */
#define NETBACK_RX_BATCH_PKTS 64u
#define NETBACK_COPY_SEGS_MAX 512u         /* segments per grant copy call */
#define NETBACK_TX_HDR_COPY_BYTES 128u     /* a packet's head always goes by grant copy */
#define NETBACK_TXMAP_REFS_MAX 512u        /* grant refs per map call (one per ring pass) */
#define NETBACK_RX_SLOTS_MAX (((NETPKT_FRAME_MAX + NETBACK_PAGE_SIZE - 1) / NETBACK_PAGE_SIZE) + 1u)
#define NETBACK_RX_FRAMES_DEFAULT 1024u
#define NETBACK_RX_FRAMES_LIMIT 65536u
#define NETBACK_RX_BYTES_DEFAULT (4u << 20)
#define NETBACK_RX_BYTES_LIMIT (256u << 20)
#define NETBACK_RX_STALL_MS_DEFAULT 2000u
#define NETBACK_RX_POLL_MS_DEFAULT 2u
#define NETBACK_VIFS_DEFAULT 256u
#define NETBACK_VIFS_LIMIT 4096u
#define NETBACK_CLOSE_TIMEOUT_MS 10000u
#define NETBACK_LOG_BUDGET 8u
#define NETBACK_WHY_MAX 160u

_Static_assert(NETBACK_RING_SIZE == 256, "a netif ring page holds 256 slots");
_Static_assert(NETBACK_TX_SLOTS_LIMIT >= XEN_NETIF_NR_SLOTS_MIN, "accept what netif.h requires");
_Static_assert(NETBACK_TX_SLOTS_FATAL_LIMIT >= NETBACK_TX_SLOTS_LIMIT, "fatal above dropped");
_Static_assert(NETBACK_TX_PKT_SLOTS_MAX <= NETBACK_RING_SIZE, "a packet fits in the ring");
_Static_assert(NETBACK_COPY_SEGS_MAX >= NETBACK_TX_PKT_SLOTS_MAX, "one packet fits in a batch");
_Static_assert(NETBACK_TXMAP_REFS_MAX >= 2 * NETBACK_TX_PKT_SLOTS_MAX, "a map batch holds packets");
_Static_assert(NETBACK_TX_HDR_COPY_BYTES < NETBACK_TX_MAP_THRESHOLD_DEFAULT, "the head is smaller than a fragment");
_Static_assert(NETBACK_RX_SLOTS_MAX <= XEN_NETIF_NR_SLOTS_MIN, "rx frames stay within the minimum");
_Static_assert(NETBACK_RX_BYTES_DEFAULT >= 4 * (NETPKT_FRAME_MAX + 64), "a queue holds big frames");
_Static_assert(sizeof(netif_extra_info_t) <= sizeof(netif_rx_response_t), "extra info overlays rx");

/* ---- tx slot parsing (netback_txparse.c): pure, on copies ---- */

struct netback_tx_limits {
	unsigned slots_max;        /* data slots; more: drop */
	unsigned slots_fatal;      /* more: the frontend is broken */
	bool sg, gso_tcpv4, gso_tcpv6;
};

enum netback_tx_verdict {
	NETBACK_TX_OK,
	NETBACK_TX_DROP,           /* answer every slot NETIF_RSP_ERROR, carry on */
	NETBACK_TX_FATAL,          /* disconnect the frontend */
};

/* A packet as its slots describe it. */
struct netback_txpkt {
	unsigned nslots;           /* ring slots: data + extra info */
	unsigned nextras;          /* slots 1..nextras are extra info */
	unsigned ndata;
	uint32_t len;              /* the first slot's size: the whole packet */
	uint32_t first_len;        /* bytes in the first data slot */
	uint16_t flags;            /* NETTXF_csum_blank | NETTXF_data_validated */
	uint8_t gso_type;
	uint16_t gso_size;
	unsigned zero_slots;       /* data slots of size 0 (skipped) */
};

/* Copy request i (counted from the packet's first slot) out of the ring. */
typedef void netback_tx_fetch_fn(void *ctx, unsigned i, netif_tx_request_t *out);

/* Read one packet: each slot is fetched once, into reqs[] (room for
 * NETBACK_TX_PKT_SLOTS_MAX), and only the copies are looked at. avail: slots
 * published (req_prod - req_cons, >= 1). For OK and DROP, out->nslots slots
 * belong to the packet; why says what was wrong, with values. */
enum netback_tx_verdict netback_tx_parse(const struct netback_tx_limits *lim, netback_tx_fetch_fn *fetch,
					 void *ctx, unsigned avail, netif_tx_request_t *reqs,
					 struct netback_txpkt *out, char *why, size_t why_len);

/* Slots a frame takes in the guest's rx ring (data, plus one for GSO). */
unsigned netback_rx_slots(uint32_t len, bool gso);

/* ---- instance, vifs, queues ---- */

struct netback_txslot {
	uint16_t ts_id;
	bool ts_extra;
	int16_t ts_status;
};

struct netback_txbatch {
	struct netpkt *tb_pkt;        /* NULL: dropped */
	unsigned tb_seg0, tb_nsegs;   /* its grant copy segments */
	unsigned tb_slot0, tb_nslots;
	struct netback_txpkt tb_meta;
	int16_t tb_status;
	unsigned tb_map0, tb_nmaps;   /* its mapped fragments (netback_txmap.c) */
	uint32_t tb_map_bytes;
	bool tb_map_failed;
};

/* A fragment taken by mapping: page i of the pass's map is q_map_refs[i]. */
struct netback_txfrag {
	unsigned tf_pkt;              /* in q_tx_batch */
	uint32_t tf_dst_off;          /* where in the packet */
	uint16_t tf_offset, tf_size;  /* in the granted page */
};

struct netback_rxslot {
	uint16_t rs_id;
	bool rs_extra;
	bool rs_first;
	uint16_t rs_flags;
	int16_t rs_status;            /* bytes, or NETIF_RSP_ERROR */
	int rs_seg;                   /* its copy segment, -1: none */
	const struct netpkt *rs_pkt;  /* extra slots: whose GSO info */
};

struct netback_vif;

struct netback_queue {
	struct netback_vif *q_vif;
	unsigned q_index;
	bool q_dead;                        /* violation seen: take nothing more */
	void *q_tx_addr, *q_rx_addr;
	netif_tx_back_ring_t q_tx;
	netif_rx_back_ring_t q_rx;
	struct xenbus_evtchn *q_ev_tx;      /* tx, or both without split channels */
	struct xenbus_evtchn *q_ev_rx;      /* NULL without split channels */
	struct event *q_tx_work, *q_rx_work;   /* continue after a full batch */
	struct event *q_rx_timer;           /* stall detection and polling */

	/* tx: one batch */
	netif_tx_request_t q_tx_reqs[NETBACK_TX_PKT_SLOTS_MAX];
	struct netback_txslot q_tx_slots[NETBACK_RING_SIZE];
	struct netback_txbatch q_tx_batch[NETBACK_TX_BATCH_PKTS];
	xengnttab_grant_copy_segment_t q_copy[NETBACK_COPY_SEGS_MAX];
	uint32_t q_map_refs[NETBACK_TXMAP_REFS_MAX];    /* fragments to map this pass */
	struct netback_txfrag q_map_frags[NETBACK_TXMAP_REFS_MAX];
	unsigned q_map_nfrags;

	/* rx: frames waiting for the guest, and one batch */
	struct netpkt *q_rxq_head, *q_rxq_tail;
	unsigned q_rxq_frames;
	uint64_t q_rxq_bytes;
	bool q_rx_waiting;                  /* the head frame waits for buffers */
	uint64_t q_rx_wait_ns;              /* since */
	bool q_stalled;
	struct netback_rxslot q_rx_slots[NETBACK_RING_SIZE];
	struct netpkt *q_rx_done[NETBACK_RX_BATCH_PKTS];
};

struct netback_vif {
	struct netback_vif *vif_next;
	struct netback *vif_nb;
	uint32_t vif_fe_domid, vif_devid;
	/* The xenbus lifecycle: bd_dir backend/vif/<fe>/<devid> (relative),
	 * bd_fe_dir the frontend's (absolute), bd_phase. */
	struct xenbus_backend_dev vif_be;
	struct netback_vif_info vif_info;
	bool vif_carrier;
	xengnttab_handle *vif_gt;
	unsigned vif_nr_queues;
	struct netback_queue *vif_queues;
	struct netback_tx_limits vif_tx_limits;
	char vif_why[NETBACK_WHY_MAX];      /* why the last connection attempt failed */
	void *vif_port;                     /* the link's, while attached */
	bool vif_attached;
	unsigned vif_log_budget;
};

struct netback {
	struct netback_config nb_cfg;
	struct xenbus *nb_xb;
	struct xenbus_watch *nb_discover;
	struct netback_vif *nb_vifs;
	struct netback_stats nb_stats;
	struct xenbus_evtchn_stats nb_ev_closed;   /* counters of closed channels */
};

/* netback.c */
void netback_vif_log(struct netback_vif *vif, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Why a connection is refused, kept for the log line and the error key. */
void netback_vif_refuse(struct netback_vif *vif, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A protocol violation: stop taking requests, disconnect soon, count. */
void netback_vif_fatal(struct netback_vif *vif, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* netback_ring.c */
int netback_rings_connect(struct netback_vif *vif);
void netback_rings_disconnect(struct netback_vif *vif);
/* Read the frontend's feature keys into vif_info. */
int netback_read_features(struct netback_vif *vif);

/* netback_tx.c */
bool netback_tx_work(struct netback_queue *q);

/* netback_txmap.c */
uint32_t netback_txmap_threshold(const struct netback_config *cfg);
/* Queue a fragment of packet b (batch index i) for this pass's map; -EINVAL
 * (logged) if it does not lie within one page: the packet must fail. */
int netback_txmap_add(struct netback_queue *q, unsigned i, const netif_tx_request_t *r, uint32_t off_in_slot,
		      uint32_t size, uint32_t dst_off);
/* Take every fragment of the pass's q_map_frags by mapping, in one call; a
 * refused map is narrowed down to the packets at fault (tb_map_failed). */
void netback_txmap_take(struct netback_queue *q, unsigned npkts);

/* netback_rx.c */
bool netback_rx_work(struct netback_queue *q);
void netback_rx_timer_cb(evutil_socket_t fd, short what, void *arg);
/* Drop every queued frame (counted as `why` in the stats). */
void netback_rxq_purge(struct netback_queue *q, uint64_t *counter);
int netback_rx_enqueue(struct netback_vif *vif, struct netpkt *pkt);

#endif
