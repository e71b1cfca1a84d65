/*
 * The vif's side of xen-check's TAP step (xen/tapframe.h): inside
 * xensim-netfront --tap-echo, it checks every request that came through the
 * TAP and netback, byte by byte and in order, and answers each with a reply
 * of the same length that it generates itself, addressed back to the sender.
 * Then it sends the bulk stream (tapframe.h) through the TAP: frames with
 * partial checksums, most of them GSO, which netback must cut and complete.
 * Frames of other ethertypes (the kernel's own traffic on the TAP) are
 * counted and left alone. The first violation is kept as the failure, with
 * values; nothing is dropped silently: a reply that finds the tx ring full
 * waits in a bounded queue for netfront's TX_READY.
 */
#ifndef XENSIM_XEN_TAPECHO_H
#define XENSIM_XEN_TAPECHO_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netfront.h"

struct tapecho;

struct tapecho_result {
	uint32_t verified;          /* requests checked, in order */
	uint32_t replied;           /* replies queued on the tx ring */
	uint64_t bytes;             /* of the verified requests */
	uint64_t probes, foreign;
	uint32_t bulk_frames;       /* frames of the bulk stream sent */
	uint32_t bulk_gso;          /* of them GSO */
	uint64_t bulk_bytes;        /* their payload */
	bool failed;
	char why[256];
};

/* Expect `frames` requests of a run of `seed`. 0, -ENOMEM or -EINVAL. */
int tapecho_new(uint64_t seed, uint32_t frames, struct tapecho **out);
/* Feed it netfront's frames, and its TX_READY event. */
void tapecho_rx(struct tapecho *e, struct netfront *nf, const struct netfront_rx *rx);
void tapecho_tx_ready(struct tapecho *e, struct netfront *nf);
/* Every request verified, every reply and the bulk stream on the ring. */
bool tapecho_done(const struct tapecho *e);
bool tapecho_failed(const struct tapecho *e);
void tapecho_result(const struct tapecho *e, struct tapecho_result *out);
/* NULL is ignored. */
void tapecho_free(struct tapecho *e);

#endif
