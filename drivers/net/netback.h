/*
 * drivers/net: netback, the network backend. One instance serves every vif
 * the toolstack creates under the calling domain's backend/vif/, for any
 * number of frontends, from one libevent loop.
 *
 * Per vif (io/netif.h): a tx and an rx ring per queue (multi-queue), one
 * event channel per queue or a tx/rx pair (split event channels). Frames the
 * guest sends are taken from its pages whole, into one buffer (the head and
 * small fragments by grant copy, large fragments by a read-only grant map,
 * see tx_map_threshold_bytes): headers split across slots and zero-length
 * slots cost nothing. Frames for
 * the guest are grant-copied into the buffers the frontend posted
 * (request-rx-copy), adapted first to what the frontend accepts: a GSO frame
 * is cut into segments for a frontend without that GSO type, a partial
 * checksum is completed for one without checksum offload.
 *
 * The other side of every vif is a link: a small table of functions the
 * caller provides (frames out), plus netback_vif_input() (frames in). In the
 * sim the harness connects links to a switch; on real Xen to a TAP device or
 * to another vif.
 *
 * Hardening: every request is copied out of the ring once and validated on
 * the copy; slot, size and extra-info limits; bounded queues towards the
 * guest, with stall detection when the guest stops posting buffers; event
 * storms are damped by xenbus_evtchn. A frontend that breaks the protocol is
 * disconnected (state Closing, error written) and counted; others carry on.
 *
 * Every function runs on the thread of cfg->base's loop. 0 or -errno.
 */
#ifndef XENSIM_DRIVERS_NETBACK_H
#define XENSIM_DRIVERS_NETBACK_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netpkt.h"

struct event_base;
struct netback;
struct netback_vif;
struct netback_vif_info;

#define NETBACK_QUEUES_MAX 8u
#define NETBACK_TX_SLOTS_LIMIT 64u         /* tx_slots_max may go up to this */
#define NETBACK_TX_SLOTS_FATAL_LIMIT 128u  /* tx_slots_fatal may go up to this */
/* tx_map_threshold_bytes: a tx fragment at least this large is taken by
 * mapping the frontend's grant (read-only) rather than by grant copy; the
 * packet's first NETBACK_TX_HDR_COPY_BYTES always go by copy. */
#define NETBACK_TX_MAP_THRESHOLD_DEFAULT 2048u
#define NETBACK_TX_MAP_NEVER UINT32_MAX    /* copy only */
#define NETBACK_TX_MAP_ALL 1u              /* map every fragment past the copied head */

/* The link behind the vifs. A vif is attached when it connects and detached
 * when it disconnects; between the two the vif pointer is valid and frames may
 * be given to netback_vif_input(). */
struct netback_link_ops {
	/* -errno: the vif connects anyway and its frames are dropped. */
	int (*attach)(void *link_arg, struct netback_vif *vif, void **port);
	void (*detach)(void *link_arg, void *port);
	/* A frame the guest sent; ownership passes. np_flags may say
	 * CSUM_PARTIAL, np_gso_type/size a GSO frame (checked against its
	 * headers before it gets here). */
	void (*output)(void *link_arg, void *port, struct netpkt *pkt);
};

struct netback_config {
	struct event_base *base;            /* required */
	const struct netback_link_ops *link;   /* NULL: guests' frames are dropped */
	void *link_arg;
	unsigned queues_max;                /* multi-queue-max-queues; 0/1: not offered */
	bool sg, gso_tcpv4, gso_tcpv6, ipv6_csum, split_evtchn;
	unsigned tx_slots_max;              /* more data slots: dropped; 0: XEN_NETIF_NR_SLOTS_MIN */
	unsigned tx_slots_fatal;            /* more: disconnect; 0: tx_slots_max + 2 */
	uint32_t tx_map_threshold_bytes;    /* see NETBACK_TX_MAP_*; 0: the default */
	unsigned rx_queue_frames_max;       /* per queue, towards the guest; 0: default */
	unsigned rx_queue_bytes_max;        /* per queue; 0: default */
	unsigned rx_stall_ms;               /* no buffers this long: stalled; 0: default */
	unsigned rx_poll_ms;                /* frontends without feature-rx-notify; 0: default */
	unsigned vifs_max;                  /* 0: default */
	/* A frontend was disconnected for a protocol violation (counted in
	 * stats.fatal; why is what its error key says): the toolstack's cue
	 * that this vif is broken. Runs on the loop, from inside ring work:
	 * must not call into netback. May be NULL. */
	void (*on_fatal)(void *arg, const struct netback_vif_info *vif, const char *why);
	void *on_fatal_arg;
};

/* What a vif negotiated. */
struct netback_vif_info {
	uint32_t fe_domid, devid;
	uint8_t mac[6];                     /* the backend's "mac" key (zero if none) */
	bool connected;
	unsigned queues;
	bool split_evtchn, rx_notify;
	bool rx_sg, rx_gso_tcpv4, rx_gso_tcpv6;   /* frames to the guest may use these */
	bool rx_csum, rx_ipv6_csum;         /* ... may carry partial checksums */
	uint64_t rx_frames;                 /* frames answered into its rx rings, every connection */
};

struct netback_stats {
	unsigned vifs, connected;
	uint64_t connects, disconnects;
	uint64_t fatal;                     /* frontends disconnected for a violation */
	/* guest -> link */
	uint64_t tx_packets, tx_bytes, tx_slots;
	uint64_t tx_dropped;                /* answered NETIF_RSP_ERROR (bad packet, grant error) */
	uint64_t tx_grant_errors, tx_zero_slots, tx_gso, tx_csum_partial;
	uint64_t tx_slots_peak;             /* most data slots one packet took */
	uint64_t tx_no_link;                /* good packets dropped: no link, or carrier off */
	/* how delivered packets were taken: tx_map_bytes + tx_copy_bytes == tx_bytes */
	uint64_t tx_map_packets, tx_map_bytes;    /* packets with a mapped fragment; bytes mapped */
	uint64_t tx_copy_packets, tx_copy_bytes;  /* packets taken by copy alone; bytes copied */
	uint64_t tx_map_calls, tx_map_failures;   /* grant map calls; those refused (all or nothing) */
	/* link -> guest */
	uint64_t rx_packets, rx_bytes, rx_slots;
	uint64_t rx_dropped_full;           /* queue at its bound */
	uint64_t rx_dropped_stalled;        /* queue drained or frame refused while stalled */
	uint64_t rx_dropped_other;          /* not deliverable (too large, bad offload) */
	uint64_t rx_dropped_down;           /* vif not connected, carrier off, or disconnected */
	uint64_t rx_grant_errors;           /* frontend's buffer refused the copy */
	uint64_t rx_stalls, rx_unstalls;
	uint64_t rx_gso_segmented, rx_csum_completed;
	uint64_t rx_queued_bytes, rx_queued_bytes_peak;   /* all queues: now, and the largest seen */
	uint64_t rx_queued_frames;          /* all queues, now (netback_stop drops them, counted down) */
	uint64_t rx_queue_bytes_peak;       /* the most one queue held (<= rx_queue_bytes_max) */
	uint64_t events, events_spurious, events_delayed;
};

int netback_start(const struct netback_config *cfg, struct netback **out);
/* Disconnect every vif (its state becomes Closed), detach it from the link
 * and free the instance; queued frames are dropped (counted). The devices
 * stay in xenstore for a successor. */
void netback_stop(struct netback *nb);
void netback_stats(const struct netback *nb, struct netback_stats *out);

/* A frame for the guest; ownership passes whatever the outcome.
 * -ENOBUFS dropped (queue full, or stalled), -ENETDOWN not connected or no
 * carrier, -EMSGSIZE/-EINVAL cannot be delivered to this frontend. */
int netback_vif_input(struct netback_vif *vif, struct netpkt *pkt);
void netback_vif_info(const struct netback_vif *vif, struct netback_vif_info *out);
/* Link state as the frontend sees it ("carrier" key); down drops frames both ways. */
int netback_vif_carrier(struct netback_vif *vif, bool up);

#endif
