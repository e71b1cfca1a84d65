/*
 * drivers/net: nettap, a Linux TAP device as a port for netpkt frames, so a
 * backend can bridge its vifs to the host's network stack (xensim-netback
 * --tap). Linux only: /dev/net/tun, which needs CAP_NET_ADMIN.
 *
 * The TAP is opened without IFF_VNET_HDR, so it carries plain Ethernet frames
 * and no offload metadata: nettap_send cuts a GSO frame into MTU segments and
 * completes a partial checksum before writing, as a NIC without offloads
 * would need; frames read from it are marked DATA_VALIDATED (the kernel
 * built them with full checksums). The TAP is created down; bringing it up
 * (and addressing it) is the host's business. It lasts while it is open.
 *
 * Everything runs on the thread of the event_base given to nettap_open; rx
 * comes from that loop. 0 or a negative errno.
 */
#ifndef XENSIM_DRIVERS_NETTAP_H
#define XENSIM_DRIVERS_NETTAP_H

#include <stdint.h>

#include "drivers/net/netpkt.h"

struct event_base;
struct nettap;

#define NETTAP_READS_PER_EVENT 64u      /* frames taken per wakeup, so vifs get a turn */

/* A frame read from the TAP; the callee owns it. */
typedef void nettap_rx_fn(void *arg, struct netpkt *pkt);

struct nettap_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t rx_dropped;            /* no memory for a frame read */
	uint64_t tx_frames, tx_bytes;   /* written, after GSO cuts */
	uint64_t tx_gso_cut;            /* GSO frames cut into segments */
	uint64_t tx_errors;             /* refused (bad GSO or headers) or not written */
};

/* Create (or attach to) TAP `name` (shorter than IFNAMSIZ) and read it from
 * base's loop. -EPERM without CAP_NET_ADMIN, -ENOENT without /dev/net/tun,
 * -EBUSY if a process holds it already, -EINVAL, -ENOMEM. */
int nettap_open(const char *name, struct event_base *base, nettap_rx_fn *rx, void *arg, struct nettap **out);
/* Write p (left untouched) into the TAP: cut if GSO, checksum completed if
 * partial. 0; -EMSGSIZE, -EINVAL, -EPROTONOSUPPORT (cannot cut or
 * complete it), -EIO (not written in full): counted in tx_errors. */
int nettap_send(struct nettap *t, const struct netpkt *p);
void nettap_stats(const struct nettap *t, struct nettap_stats *out);
/* The interface's name. */
const char *nettap_name(const struct nettap *t);
/* The TAP goes away with it. NULL is ignored. */
void nettap_close(struct nettap *t);

#endif
