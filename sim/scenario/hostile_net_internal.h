/* Private to the hostile net frontend (hostile_net_front.c, _model.c, _conn.c). */
#ifndef SIM_SCENARIO_HOSTILE_NET_INTERNAL_H
#define SIM_SCENARIO_HOSTILE_NET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "drivers/platform.h"   /* before netif.h: xen_mb() and friends */
#include <xen/io/netif.h>
#include <xen/io/xenbus.h>

#include "sim/scenario/hostile_net.h"

/* ---- limits ---- */
#define HF_PAGE_BYTES 4096u
#define HF_RING 256u                 /* __CONST_RING_SIZE(netif_tx, 4096) */
#define HF_TX_PAGES 128u             /* the tx pool: one page per data slot */
#define HF_RX_PAGES 32u              /* rx buffers posted at a time */
#define HF_WINDOW 8u                 /* packets in flight */
#define HF_DATA_GOOD_MAX 4u          /* data slots of a well-formed packet */
#define HF_DATA_MAX 44u              /* data slots of the longest lie (netback's fatal bound is 40) */
#define HF_EXTRAS_CHAIN 5u           /* one more extra than there are types */
#define HF_SLOTS_MAX 64u             /* ring slots of one packet, lies included */
#define HF_HDR_BYTES 26u             /* Ethernet header, magic, sequence, length */
#define HF_CSUM_HDR_BYTES 54u        /* Ethernet and IPv6 headers, or IPv4 and TCP: the csum lie */
#define HF_MAGIC 0x31464e48u         /* "HNF1" */
#define HF_ETHERTYPE 0x88B5u         /* local experimental */
#define HF_BAD_REF 0x7ffff000u       /* never granted */
#define HF_QUEUE_DIRS_MAX 9u          /* queue-N/ of the queue-count lie: netback offers at most 8 */
#define HF_PROD_JUMP 300u            /* past a 256-slot ring */
#define HF_FATAL_WAIT_MS 200u        /* a packet that calls for a disconnection */
#define HF_RECONNECTS_MAX 64u
#define HF_FRAME_MAX (65535u + 4096u)
#define NETPKT_ETH_HLEN_BYTES 14u

_Static_assert(HF_DATA_MAX + HF_EXTRAS_CHAIN + 4 <= HF_SLOTS_MAX, "a lie fits in a packet's slots");
_Static_assert(HF_TX_PAGES >= HF_DATA_MAX + HF_WINDOW * HF_DATA_GOOD_MAX, "the pool holds a window and a lie");
_Static_assert(HF_SLOTS_MAX * HF_WINDOW <= HF_RING * 2, "the ring is not the bound");
_Static_assert(HF_RX_PAGES < HF_RING, "rx buffers fit the ring");

/* What a correct backend may do with a packet. */
enum { HF_OK = 1, HF_DROP = 2, HF_FATAL = 4 };
enum hf_status { HF_ST_NONE, HF_ST_OKAY, HF_ST_ERROR, HF_ST_GONE };
enum hf_rx_lie { HF_RX_GOOD, HF_RX_UNGRANTED, HF_RX_READONLY };
enum hf_prod_jump { HF_PROD_NONE, HF_PROD_JUMP_TX, HF_PROD_JUMP_RX };
enum hf_phase { HF_INIT, HF_PUBLISHED, HF_CONNECTED, HF_CLOSED_WAIT, HF_GAVE_UP };

enum hf_stat { HF_S_SENT, HF_S_ANSWERED, HF_S_OKAY, HF_S_ERRORS, HF_S_LIES, HF_S_DISCONNECTS, HF_S_CONNECTS,
	       HF_S_OUTPUT, HF_S_RX_FRAMES, HF_S_RX_ERRORS, HF_S_REWRITES, HF_S_FATAL_OK, HF_S_COUNT };

struct hf_expect {
	uint8_t accept;               /* HF_OK | HF_DROP | HF_FATAL */
	uint8_t nok;                  /* frames a correct backend may pass on */
	uint32_t len[2];
	uint64_t hash[2];
	uint8_t status;               /* enum hf_status (guest's thread) */
	uint8_t outputs;              /* times netback passed it on (backend's thread) */
	char lie[120];
};

struct hf_build {
	uint32_t seq;
	netif_tx_request_t reqs[HF_SLOTS_MAX];
	bool extra[HF_SLOTS_MAX];
	int page[HF_SLOTS_MAX];
	unsigned n;
	bool open_chain, rewrite;
	bool csum_lie;                /* checksum offload on headers that do not hold: dropped */
	enum hf_prod_jump prod_jump;
	char lie[120];
};

struct hf_slot {                      /* a tx ring slot in flight */
	uint32_t seq;
	uint16_t id;
	bool extra, last;
	int page;
};

struct hf_rxslot {                    /* an rx request posted */
	uint16_t id;
	int buf;                      /* rx page, or -1 a lie (enum hf_rx_lie in lie) */
	enum hf_rx_lie lie;
};

struct hf_rewrite {
	bool pending;
	uint32_t seq;
	RING_IDX first;
	unsigned n;
	netif_tx_request_t reqs[HF_SLOTS_MAX];
	bool extra[HF_SLOTS_MAX];
};

struct hostile_front {
	struct hostile_front_config cfg;
	char device[SIM_FAULT_DEVICE_MAX];
	char dir[64], back_dir[96];
	enum hf_phase phase;
	struct xs_handle *xs;
	xengntshr_handle *gs;
	xenevtchn_handle *xce;
	struct event *xs_ev, *ev_ev, *rewrite_ev, *fatal_ev;
	/* one connection */
	void *rings;
	uint32_t ring_refs[2];
	evtchn_port_t port;
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	RING_IDX tx_real_prod;
	uint8_t *tx_pages, *rx_pages, *ro_page;
	uint32_t tx_refs[HF_TX_PAGES], rx_refs[HF_RX_PAGES], ro_ref;
	bool tx_busy[HF_TX_PAGES];
	unsigned tx_nfree, tx_next;
	bool rx_posted[HF_RX_PAGES];
	struct hf_slot txs[HF_RING];
	struct hf_rxslot rxs[HF_RING];
	bool sg;
	bool gso4, gso6;
	unsigned gso_turn;                /* the next known-GSO lie: even TCPv4, odd TCPv6 */
	enum hf_rx_lie rx_lie;
	bool rx_starved;                  /* net.hostile.front.rxstarve fired */
	bool doomed;
	uint64_t doom_pauses;           /* the run's pauses when it was doomed */
	uint64_t doom_ns;               /* virtual time then (or at the last pause) */
	bool doom_back_paused;          /* netback's domain was paused at the last look */
	uint32_t doom_seq;
	char doom_why[120];
	char key_lie[64];              /* the bad key of this connection, "" none */
	unsigned reconnects;
	/* tx progress */
	uint32_t next_seq, inflight;
	int16_t pkt_status;           /* of the packet being answered; 2: none yet */
	bool pkt_mixed;
	struct hf_build build;
	struct hf_rewrite rw;
	/* rx reassembly */
	uint8_t *frame;
	uint32_t frame_len;
	unsigned frame_slots;
	bool frame_err, frame_open;
	/* shared with the backend's thread */
	pthread_mutex_t lock;
	struct hf_expect *exp;
	uint64_t rng;
	uint8_t *scratch, *mbuf;         /* a frame being built; the model's */
	atomic_bool done_called;
	atomic_bool quiet;
	/* The toolstack takes the vif down (suspend): a disconnection then is
	 * its doing; cleared at the next one if still connected at _up. */
	atomic_bool ts_down;
	bool ts_clear_at_down;                  /* hostile_front_quiesce(): teardown, judge nothing */
	_Atomic uint64_t st[HF_S_COUNT];
};

/* hostile_net_front.c */
uint64_t hf_rng(uint64_t *s);
uint64_t hf_fnv(const uint8_t *p, size_t n, uint64_t h);
const uint8_t *hf_tx_page_of(const struct hostile_front *h, uint32_t gref);
void hf_send(struct hostile_front *h);
void hf_page_release(struct hostile_front *h, int page);

/* hostile_net_model.c */
void hf_expect_set(struct hostile_front *h, const struct hf_build *b);
uint8_t hf_expect_accept(struct hostile_front *h, uint32_t seq);
/* A rewrite: also accept what the new requests say. */
void hf_expect_widen(struct hostile_front *h, uint32_t seq, const netif_tx_request_t *reqs, const bool *extra,
		     unsigned n, const char *what);
void hf_expect_status(struct hostile_front *h, uint32_t seq, enum hf_status st, char *err, size_t len);
bool hf_expect_frame(struct hostile_front *h, const uint8_t *data, uint32_t len);
bool hf_expect_reflected(struct hostile_front *h, const uint8_t *data, uint32_t len);
/* A disconnection is owed (for packet seq; UINT32_MAX: for the ring). */
void hf_doom(struct hostile_front *h, const char *why, uint32_t seq);

/* hostile_net_conn.c */
void hf_rewrite_cb(evutil_socket_t fd, short what, void *arg);
void hf_rewrite_now(struct hostile_front *h);

#endif
