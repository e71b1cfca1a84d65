/*
 * drivers/net: netfront, the network frontend as a library for a guest.
 *
 * Open device/vif/<devid>; send frames (scatter-gather fragments, checksum
 * offload and GSO metadata, a hash that picks the queue); receive frames by
 * callback, with their checksum flags and GSO metadata. Data goes through
 * pages granted to the backend once per connection: per queue a pool of tx
 * pages (read-only to the backend) and one of rx buffers that are posted and
 * refilled as responses come back. A page is used again only once the
 * backend answered for it, and pages are given back only through
 * xengntshr_unshare, which waits for the backend's mappings (XSA-396).
 *
 * The backend may restart: the rings go down (frames in flight are lost and
 * counted), and come up again with fresh rings, ports and pages when the
 * backend returns. The backend may be hostile: rsp_prod is bounded, every
 * response is copied once and checked (tx ids in range and in flight, rx ids
 * matching their slot, offsets and lengths inside the page, frame length,
 * extra info types); a violation is terminal: netfront_error() says what.
 *
 * Everything runs on the thread that runs cfg->base's loop; callbacks come
 * from that loop. 0 or a negative errno.
 */
#ifndef XENSIM_DRIVERS_NETFRONT_H
#define XENSIM_DRIVERS_NETFRONT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct event_base;
struct netfront;

#define NETFRONT_QUEUES_MAX 8u
#define NETFRONT_TX_SLOTS_LIMIT 64u     /* tx_slots_max may go up to this */

/* Frame flags, both ways. */
#define NETFRONT_F_CSUM_PARTIAL 1u      /* L4 checksum field holds the pseudo-header sum */
#define NETFRONT_F_DATA_VALIDATED 2u    /* checksum verified by whoever says so */

/* gso_type values: XEN_NETIF_GSO_TYPE_* (0 none, 1 TCPv4, 2 TCPv6). */

enum netfront_event {
	NETFRONT_EV_CONNECTED,      /* first connection, or again after a backend restart */
	NETFRONT_EV_DISCONNECTED,   /* the backend went away; sends fail -ENOTCONN */
	NETFRONT_EV_TX_READY,       /* a send that got -EAGAIN may be tried again */
	NETFRONT_EV_CARRIER,        /* the carrier key changed: see netfront_info() */
	NETFRONT_EV_FAILED,         /* terminal: see netfront_error() */
};

struct netfront_tx {
	const struct iovec *iov;    /* the frame in fragments; each starts a slot */
	unsigned iovcnt;
	unsigned flags;             /* NETFRONT_F_* */
	uint8_t gso_type;           /* needs the backend's feature-gso-tcpv4/v6 */
	uint16_t gso_size;
	uint32_t hash;              /* the queue is hash % queues */
};

struct netfront_rx {
	const uint8_t *data;        /* valid during the callback only */
	uint32_t len;
	unsigned flags;             /* NETFRONT_F_* */
	uint8_t gso_type;
	uint16_t gso_size;
	unsigned queue, slots;
};

typedef void netfront_rx_fn(void *arg, struct netfront *nf, const struct netfront_rx *rx);
typedef void netfront_event_fn(void *arg, struct netfront *nf, enum netfront_event ev);

struct netfront_config {
	struct event_base *base;    /* required */
	uint32_t devid;
	unsigned queues_max;        /* 0/1: one queue */
	bool sg, gso_tcpv4, gso_tcpv6;   /* what we accept on receive (feature-*) */
	bool csum;                  /* accept partial checksums (IPv4); false: feature-no-csum-offload */
	bool ipv6_csum;             /* ... for IPv6 */
	bool split_evtchn;          /* if the backend offers it */
	bool rx_notify;             /* feature-rx-notify; false: the backend polls */
	unsigned tx_slots_max;      /* fragments beyond this are packed; 0: XEN_NETIF_NR_SLOTS_MIN */
	unsigned tx_bufs;           /* tx pages per queue, 18..256; 0: 256 */
	unsigned rx_bufs;           /* rx buffers per queue, 18 (1 without sg)..256; 0: 256 */
	unsigned away_timeout_ms;   /* a backend gone (its directory vanished) this long:
				     * failed; 0: default (30 s) */
	netfront_rx_fn *on_rx;      /* may be NULL */
	netfront_event_fn *on_event;   /* may be NULL */
	void *arg;
};

struct netfront_info {
	bool connected, carrier;
	uint32_t backend_domid;
	uint8_t mac[6];
	unsigned queues;
	bool split_evtchn;
	bool tx_sg, tx_gso_tcpv4, tx_gso_tcpv6, tx_ipv6_csum;   /* what sends may use */
};

struct netfront_stats {
	uint64_t tx_frames, tx_bytes, tx_slots;
	uint64_t tx_errors;         /* the backend answered NETIF_RSP_ERROR/DROPPED */
	uint64_t tx_lost;           /* in flight when the backend went away */
	uint64_t tx_packed;         /* frames whose fragments were packed */
	uint64_t rx_frames, rx_bytes, rx_slots;
	uint64_t rx_errors;         /* frames the backend marked with an error status */
	uint64_t rx_gso, rx_csum_partial;
	uint64_t connects;
	uint64_t events, events_spurious;
	unsigned grant_pages;       /* granted now */
	/* Now, over every queue's rings: tx requests not yet answered and
	 * reaped, rx responses published and not yet taken. */
	unsigned tx_unreaped, rx_untaken;
	/* Now, over every queue: the buffers of the tx and rx pools, those
	 * free, and those a ring holds (a tx data slot not yet reaped, an rx
	 * request not yet taken back). Between calls into netfront every
	 * buffer is one or the other. */
	unsigned tx_bufs, tx_bufs_free, tx_bufs_in_ring;
	unsigned rx_bufs, rx_bufs_free, rx_bufs_in_ring;
};

/* Start attaching to device/vif/<devid>: returns at once, the handshake runs
 * in the loop (on_event says CONNECTED). -ENOENT no such device, -EINVAL. */
int netfront_open(const struct netfront_config *cfg, struct netfront **out);
/* State Closing then Closed, grants and ports released. Not from inside one
 * of this netfront's callbacks. NULL is ignored. */
void netfront_close(struct netfront *nf);

/* Queue a frame on a tx ring; 0 once it is there. -EAGAIN: no room now (a
 * TX_READY event follows), -ENOTCONN, -ENETDOWN (no carrier), -EIO (failed),
 * -EMSGSIZE (over 65535 bytes, or more than a page without feature-sg),
 * -EOPNOTSUPP (GSO the backend does not offer), -EINVAL. */
int netfront_send(struct netfront *nf, const struct netfront_tx *tx);

int netfront_info(const struct netfront *nf, struct netfront_info *out);
void netfront_stats(const struct netfront *nf, struct netfront_stats *out);
/* NULL, or what put the device in its terminal error state. */
const char *netfront_error(const struct netfront *nf);
/* 0 while not failed; then -EPROTO if the backend broke netif.h's protocol
 * (a response out of range or malformed), -EIO for anything else (the
 * device removed, the backend gone too long or refusing, a xenstore error). */
int netfront_error_code(const struct netfront *nf);

#endif
