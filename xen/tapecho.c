/*
 * xen-check's TAP step, the vif's side (tapecho.h): check requests, answer
 * them with generated replies.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drivers/net/netpkt.h"
#include "xen/tapecho.h"
#include "xen/tapframe.h"

/* Replies waiting for room on the tx ring: the peer keeps at most a window
 * of requests unanswered (xcheck-tappeer's TP_WINDOW_MAX is 64), plus probes. */
#define TAPECHO_QUEUE_MAX 128u

struct tapecho_reply {
	uint8_t dst[6];
	uint32_t seq, len;
};

struct tapecho {
	uint64_t seed;
	uint32_t frames;
	struct tapecho_reply q[TAPECHO_QUEUE_MAX];
	unsigned q_head, q_count;
	uint8_t peer_mac[6];        /* the TAP side's, from its requests */
	uint32_t bulk_next, bulk_off;   /* the next bulk frame, its stream offset */
	struct tapecho_result res;
};

int tapecho_new(uint64_t seed, uint32_t frames, struct tapecho **out)
{
	struct tapecho *e;

	if (frames >= TAPFRAME_SEQ_PROBE)
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->seed = seed;
	e->frames = frames;
	*out = e;
	return 0;
}

static void tapecho_fail(struct tapecho *e, const char *why)
{
	if (!e->res.failed)
		snprintf(e->res.why, sizeof(e->res.why), "%s", why);
	e->res.failed = true;
}

/* Bulk frame e->bulk_next, checksum partial, GSO if above one MSS. */
static int tapecho_bulk_one(struct tapecho *e, struct netfront *nf, const struct netfront_info *info)
{
	static uint8_t frame[TAPFRAME_BULK_HLEN + TAPFRAME_BULK_PLEN_MAX];
	struct netpkt_hdrs h;
	uint32_t len = tapframe_bulk_build(frame, e->peer_mac, info->mac, e->seed, e->bulk_next, e->bulk_off);
	int rc = netpkt_parse(frame, len, &h);

	if (rc < 0)
		return rc;
	netpkt_ip_csum_fill(frame, &h);
	netpkt_l4_csum_partial(frame, &h);
	/* The headers in a fragment of their own: netback must join slots. */
	struct iovec iov[2] = {{.iov_base = frame, .iov_len = TAPFRAME_BULK_HLEN},
			       {.iov_base = frame + TAPFRAME_BULK_HLEN, .iov_len = len - TAPFRAME_BULK_HLEN}};
	bool gso = len - TAPFRAME_BULK_HLEN > TAPFRAME_BULK_MSS;
	struct netfront_tx tx = {.iov = iov, .iovcnt = 2, .flags = NETFRONT_F_CSUM_PARTIAL, .gso_type = gso ? 1 : 0,
				 .gso_size = gso ? TAPFRAME_BULK_MSS : 0, .hash = 0};
	rc = netfront_send(nf, &tx);
	if (rc == 0) {
		e->res.bulk_frames++;
		e->res.bulk_gso += gso;
		e->res.bulk_bytes += len - TAPFRAME_BULK_HLEN;
		e->bulk_off += len - TAPFRAME_BULK_HLEN;
		e->bulk_next++;
	}
	return rc;
}

/* Once every request is answered: the bulk stream, until the ring is full. */
static void tapecho_bulk(struct tapecho *e, struct netfront *nf, const struct netfront_info *info)
{
	char why[160];
	int rc = 0;

	if (e->res.replied < e->frames || e->bulk_next == TAPFRAME_BULK_FRAMES)
		return;
	if (!info->tx_sg || !info->tx_gso_tcpv4) {
		snprintf(why, sizeof(why), "the backend offers no %s: the bulk stream needs it",
			 info->tx_sg ? "GSO TCPv4" : "scatter-gather");
		tapecho_fail(e, why);
		return;
	}
	while (rc == 0 && e->bulk_next < TAPFRAME_BULK_FRAMES)
		rc = tapecho_bulk_one(e, nf, info);
	if (rc < 0 && rc != -EAGAIN) {
		snprintf(why, sizeof(why), "sending bulk frame %u (%u payload bytes) failed: %s", e->bulk_next,
			 tapframe_bulk_plen(e->seed, e->bulk_next), strerror(-rc));
		tapecho_fail(e, why);
	}
}

/* Send the queued replies in order until the ring is full, then the bulk. */
static void tapecho_flush(struct tapecho *e, struct netfront *nf)
{
	static uint8_t frame[TAPFRAME_LEN_MAX];
	struct netfront_info info;
	char why[128];

	if (netfront_info(nf, &info) < 0)
		return;
	while (e->q_count > 0 && !e->res.failed) {
		const struct tapecho_reply *rp = &e->q[e->q_head];
		struct tapframe_hdr h = {.kind = TAPFRAME_RSP, .seq = rp->seq, .len = rp->len};
		memcpy(h.dst, rp->dst, 6);
		memcpy(h.src, info.mac, 6);
		tapframe_build(frame, &h, e->seed);
		struct iovec iov = {.iov_base = frame, .iov_len = rp->len};
		/* One flow, so one queue: queues are not ordered among themselves. */
		struct netfront_tx tx = {.iov = &iov, .iovcnt = 1, .hash = 0};
		int rc = netfront_send(nf, &tx);
		if (rc == -EAGAIN)
			return;   /* TX_READY brings us back */
		if (rc < 0) {
			snprintf(why, sizeof(why), "sending reply %u (%u bytes) failed: %s", rp->seq, rp->len, strerror(-rc));
			tapecho_fail(e, why);
			return;
		}
		if (rp->seq < TAPFRAME_SEQ_PROBE)
			e->res.replied++;
		e->q_head = (e->q_head + 1) % TAPECHO_QUEUE_MAX;
		e->q_count--;
	}
	if (e->q_count == 0 && !e->res.failed)
		tapecho_bulk(e, nf, &info);
}

/* A request in order (or a probe), or the failure it is. */
static int tapecho_accept(struct tapecho *e, const struct tapframe_hdr *h)
{
	char why[160];

	if (h->kind != TAPFRAME_REQ)
		snprintf(why, sizeof(why), "frame kind %u (seq %u) where only requests come", h->kind, h->seq);
	else if (h->seq >= TAPFRAME_SEQ_PROBE)
		return 0;
	else if (h->seq != e->res.verified || h->seq >= e->frames)
		snprintf(why, sizeof(why), "request %u arrived where request %u of %u was due", h->seq, e->res.verified,
			 e->frames);
	else if (h->len != tapframe_len(e->seed, h->seq))
		snprintf(why, sizeof(why), "request %u is %u bytes, not %u", h->seq, h->len, tapframe_len(e->seed, h->seq));
	else
		return 0;
	tapecho_fail(e, why);
	return -EPROTO;
}

void tapecho_rx(struct tapecho *e, struct netfront *nf, const struct netfront_rx *rx)
{
	struct tapframe_hdr h;
	char why[200];
	int rc = tapframe_check(rx->data, rx->len, e->seed, &h, why, sizeof(why));

	if (rc == 0) {
		e->res.foreign++;
		return;
	}
	if (rc < 0) {
		char msg[256];
		snprintf(msg, sizeof(msg), "a corrupt request came in: %s", why);
		tapecho_fail(e, msg);
	}
	if (e->res.failed || tapecho_accept(e, &h) < 0)
		return;
	if (e->q_count == TAPECHO_QUEUE_MAX) {
		snprintf(why, sizeof(why), "request %u: %u replies already wait for the ring", h.seq, e->q_count);
		tapecho_fail(e, why);
		return;
	}
	memcpy(e->peer_mac, h.src, 6);
	if (h.seq >= TAPFRAME_SEQ_PROBE) {
		e->res.probes++;
	} else {
		e->res.verified++;
		e->res.bytes += h.len;
	}
	struct tapecho_reply *rp = &e->q[(e->q_head + e->q_count++) % TAPECHO_QUEUE_MAX];
	memcpy(rp->dst, h.src, 6);
	rp->seq = h.seq;
	rp->len = h.len;
	tapecho_flush(e, nf);
}

void tapecho_tx_ready(struct tapecho *e, struct netfront *nf)
{
	tapecho_flush(e, nf);
}

bool tapecho_done(const struct tapecho *e)
{
	return e->res.replied == e->frames && e->bulk_next == TAPFRAME_BULK_FRAMES;
}

bool tapecho_failed(const struct tapecho *e)
{
	return e->res.failed;
}

void tapecho_result(const struct tapecho *e, struct tapecho_result *out)
{
	*out = e->res;
}

void tapecho_free(struct tapecho *e)
{
	free(e);
}
