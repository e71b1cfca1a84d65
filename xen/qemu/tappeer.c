/*
 * xen/qemu/tappeer.c: the peer on dom0's side of xensim-netback's TAP. It
 * talks to the TAP interface the way any program on the host would, through
 * the kernel: an AF_PACKET socket bound to the interface, so what it sends
 * leaves the kernel by the TAP (netback reads it from /dev/net/tun) and what
 * netback writes into the TAP arrives on the socket.
 *
 * First it probes (a small request every 100 ms) until the netfront on the
 * far side answers; then it sends --frames requests, at most --window
 * unanswered, each of tapframe_len() bytes (60..1514), and checks that the
 * replies come back in order, addressed to the TAP's MAC from the vif's,
 * every byte as the far side generates it (xen/tapframe.h). Nothing may be
 * lost: the path has no retransmission and no reason to drop.
 *
 * Prints one line "XCHECK PASS|FAIL NAME ..." with --verdict (else a
 * summary). Exit 0 passed, 1 failed, 2 usage.
 *
 * usage: xcheck-tappeer --if NAME [--frames N] [--window W] [--seed S]
 *                       [--vif-mac MAC] [--timeout-s T] [--verdict NAME]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "xen/tapframe.h"

#define TP_FRAMES_DEFAULT 2000u
#define TP_WINDOW_DEFAULT 8u
#define TP_WINDOW_MAX 64u
#define TP_TIMEOUT_S_DEFAULT 60u
#define TP_PROBE_MS 100u
#define TP_WHY_MAX 256u
#define TP_BULK_RCVBUF_BYTES (32 << 20)   /* truesize of ~550 segments, with room */

struct tp_run {
	const char *ifname, *verdict;
	unsigned frames, window, timeout_s;
	uint64_t seed;
	uint8_t tap_mac[6], vif_mac[6];
	int fd, ifindex;
	unsigned ifflags;
	uint64_t deadline_ms;
	uint32_t probes, sent, verified;
	uint64_t bytes_sent, bytes_verified;
	uint64_t foreign, own, late_probes;
	int fd_ip;                    /* the bulk stream's segments */
	uint64_t bulk_bytes, bulk_got, bulk_foreign;
	uint32_t bulk_segs, bulk_seg_len_max;
	char why[TP_WHY_MAX];
	uint8_t frame[65536];
};

static int tp_usage(void)
{
	fprintf(stderr, "usage: xcheck-tappeer --if NAME [--frames N] [--window W] [--seed S]\n"
			"                      [--vif-mac MAC] [--timeout-s T] [--verdict NAME]\n");
	return 2;
}

static uint64_t tp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first failure is the one reported; it ends the run. */
static int tp_fail(struct tp_run *r, int rc, const char *fmt, const char *detail)
{
	if (!r->why[0])
		snprintf(r->why, sizeof(r->why), fmt, detail);
	return rc;
}

static int tp_mac(const char *s, uint8_t mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5], &tail) != 6)
		return -EINVAL;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 0xFF)
			return -EINVAL;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int tp_parse(struct tp_run *r, int argc, char **argv)
{
	*r = (struct tp_run){.frames = TP_FRAMES_DEFAULT, .window = TP_WINDOW_DEFAULT,
			     .timeout_s = TP_TIMEOUT_S_DEFAULT, .seed = 1, .fd = -1, .fd_ip = -1,
			     .vif_mac = {0x02, 0, 0, 0, 0, 0x02}};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];
		if (strcmp(opt, "--if") == 0 && strlen(val) < IFNAMSIZ)
			r->ifname = val;
		else if (strcmp(opt, "--frames") == 0)
			r->frames = (unsigned)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--window") == 0)
			r->window = (unsigned)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--seed") == 0)
			r->seed = strtoull(val, NULL, 10);
		else if (strcmp(opt, "--timeout-s") == 0)
			r->timeout_s = (unsigned)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--verdict") == 0)
			r->verdict = val;
		else if (strcmp(opt, "--vif-mac") != 0 || tp_mac(val, r->vif_mac) < 0)
			return -EINVAL;
	}
	bool ok = argc % 2 == 1 && r->ifname && r->frames < TAPFRAME_SEQ_PROBE && r->window >= 1 &&
		  r->window <= TP_WINDOW_MAX && r->timeout_s > 0;
	return ok ? 0 : -EINVAL;
}

/* ---- the interface ---- */

static int tp_ifreq(struct tp_run *r, unsigned long req, struct ifreq *ifr, const char *what)
{
	memset(ifr, 0, sizeof(*ifr));
	snprintf(ifr->ifr_name, sizeof(ifr->ifr_name), "%s", r->ifname);
	if (ioctl(r->fd, req, ifr) == 0)
		return 0;
	int rc = -errno;
	char msg[TP_WHY_MAX];
	snprintf(msg, sizeof(msg), "%s of interface %s failed: %s", what, r->ifname, strerror(-rc));
	return tp_fail(r, rc, "%s", msg);
}

/* The bulk stream's socket: IPv4 frames on the TAP, opened before anything
 * is sent, with room for the whole stream (it comes in a burst, and the
 * kernel drops what a full socket cannot take). */
static int tp_open_ip(struct tp_run *r)
{
	int rcvbuf_bytes = TP_BULK_RCVBUF_BYTES;
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_IP), .sll_ifindex = r->ifindex};

	r->fd_ip = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_IP));
	if (r->fd_ip < 0)
		return tp_fail(r, -errno, "socket(AF_PACKET, ETH_P_IP) failed: %s", strerror(errno));
	if (setsockopt(r->fd_ip, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf_bytes, sizeof(rcvbuf_bytes)) < 0)
		return tp_fail(r, -errno, "SO_RCVBUFFORCE failed: %s", strerror(errno));
	if (bind(r->fd_ip, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		return tp_fail(r, -errno, "bind of the IPv4 socket failed: %s", strerror(errno));
	return 0;
}

/* The socket, bound to the TAP interface for our ethertype only (the
 * kernel's own traffic on it, IPv6 neighbour discovery and such, stays out).
 * The interface must be up, with carrier: a TAP has carrier while a
 * process (netback) holds it open. */
static int tp_open(struct tp_run *r)
{
	struct ifreq ifr;
	char msg[TP_WHY_MAX];
	int rc;

	r->fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(TAPFRAME_ETHERTYPE));
	if (r->fd < 0)
		return tp_fail(r, -errno, "socket(AF_PACKET) failed: %s", strerror(errno));
	rc = tp_ifreq(r, SIOCGIFINDEX, &ifr, "SIOCGIFINDEX");
	r->ifindex = ifr.ifr_ifindex;
	if (rc == 0)
		rc = tp_ifreq(r, SIOCGIFFLAGS, &ifr, "SIOCGIFFLAGS");
	r->ifflags = (unsigned)(uint16_t)ifr.ifr_flags;
	if (rc == 0 && (r->ifflags & (IFF_UP | IFF_RUNNING)) != (IFF_UP | IFF_RUNNING)) {
		snprintf(msg, sizeof(msg), "interface %s is not up with carrier (flags 0x%x)", r->ifname, r->ifflags);
		rc = tp_fail(r, -ENETDOWN, "%s", msg);
	}
	if (rc == 0)
		rc = tp_ifreq(r, SIOCGIFHWADDR, &ifr, "SIOCGIFHWADDR");
	memcpy(r->tap_mac, ifr.ifr_hwaddr.sa_data, 6);
	struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(TAPFRAME_ETHERTYPE),
				  .sll_ifindex = r->ifindex};
	if (rc == 0 && bind(r->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		rc = tp_fail(r, -errno, "bind to the interface failed: %s", strerror(errno));
	return rc == 0 ? tp_open_ip(r) : rc;
}

/* ---- frames ---- */

static int tp_send(struct tp_run *r, uint32_t seq, uint32_t len)
{
	static uint8_t frame[TAPFRAME_LEN_MAX];
	struct tapframe_hdr h = {.kind = TAPFRAME_REQ, .seq = seq, .len = len};

	memcpy(h.dst, r->vif_mac, 6);
	memcpy(h.src, r->tap_mac, 6);
	tapframe_build(frame, &h, r->seed);
	if (send(r->fd, frame, len, 0) != (ssize_t)len)
		return tp_fail(r, -EIO, "send into the TAP failed: %s", strerror(errno));
	return 0;
}

/* A reply is ours, checked, and addressed from the vif to the TAP. */
static int tp_check(struct tp_run *r, const uint8_t *frame, size_t len, struct tapframe_hdr *h)
{
	char why[TP_WHY_MAX - 64];   /* room for the words around it */
	int rc = tapframe_check(frame, len, r->seed, h, why, sizeof(why));

	if (rc < 0)
		return tp_fail(r, rc, "a corrupt frame came out of the TAP: %s", why);
	if (rc == 0) {
		r->foreign++;
		return 0;
	}
	if (h->kind != TAPFRAME_RSP) {
		r->own++;   /* a request of ours, looped back by the kernel */
		return 0;
	}
	if (memcmp(h->dst, r->tap_mac, 6) || memcmp(h->src, r->vif_mac, 6)) {
		snprintf(why, sizeof(why), "reply %u: addressed %02x:..:%02x from %02x:..:%02x, not to the TAP's MAC from the vif's",
			 h->seq, h->dst[0], h->dst[5], h->src[0], h->src[5]);
		return tp_fail(r, -EINVAL, "%s", why);
	}
	return 1;
}

/* One frame from fd into r->frame, waiting until `until_ms`: its length,
 * 0 none came, or a negative errno. */
static ssize_t tp_read(struct tp_run *r, int fd, uint64_t until_ms)
{
	for (;;) {
		uint64_t now = tp_now_ms();
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= until_ms)
			return 0;
		int n = poll(&p, 1, (int)(until_ms - now));
		if (n < 0 && errno != EINTR)
			return tp_fail(r, -errno, "poll failed: %s", strerror(errno));
		if (n <= 0)
			continue;
		/* MSG_TRUNC: the real length, so an oversized frame shows. */
		ssize_t len = recv(fd, r->frame, sizeof(r->frame), MSG_DONTWAIT | MSG_TRUNC);
		if (len < 0 && errno != EAGAIN && errno != EINTR)
			return tp_fail(r, -errno, "recv from the TAP failed: %s", strerror(errno));
		if (len > (ssize_t)sizeof(r->frame))
			return tp_fail(r, -EMSGSIZE, "a frame of %s bytes came out of the TAP", "more than 65535");
		if (len > 0)
			return len;
	}
}

/* The next reply, waiting until `until_ms`: 1 one arrived (in *h), 0 none. */
static int tp_recv(struct tp_run *r, uint64_t until_ms, struct tapframe_hdr *h)
{
	for (;;) {
		ssize_t len = tp_read(r, r->fd, until_ms);
		int rc = len <= 0 ? (int)len : tp_check(r, r->frame, (size_t)len, h);
		if (rc != 0 || len == 0)
			return rc;
	}
}

/* Until the far side answers a probe: the netfront connects in its own time. */
static int tp_probe(struct tp_run *r)
{
	struct tapframe_hdr h;
	int rc = 0;

	while (rc == 0) {
		if (tp_now_ms() >= r->deadline_ms)
			return tp_fail(r, -ETIMEDOUT, "%s", "no answer to any probe: is the vif's netfront up?");
		rc = tp_send(r, TAPFRAME_SEQ_PROBE + r->probes, TAPFRAME_LEN_MIN);
		r->probes++;
		while (rc == 0 && (rc = tp_recv(r, tp_now_ms() + TP_PROBE_MS, &h)) == 1 && h.seq < TAPFRAME_SEQ_PROBE)
			rc = tp_fail(r, -EPROTO, "%s", "a reply to a request never sent, while probing");
	}
	return rc < 0 ? rc : 0;
}

/* One reply: the next in sequence, of the length its request had. */
static int tp_reply(struct tp_run *r, const struct tapframe_hdr *h)
{
	char why[TP_WHY_MAX];

	if (h->seq >= TAPFRAME_SEQ_PROBE) {
		r->late_probes++;
		return 0;
	}
	if (h->seq != r->verified || h->len != tapframe_len(r->seed, h->seq)) {
		snprintf(why, sizeof(why), "reply %u of %u bytes where reply %u of %u bytes was due (%u sent)", h->seq,
			 h->len, r->verified, tapframe_len(r->seed, r->verified), r->sent);
		return tp_fail(r, -EPROTO, "%s", why);
	}
	r->verified++;
	r->bytes_verified += h->len;
	return 0;
}

static int tp_exchange(struct tp_run *r)
{
	struct tapframe_hdr h;
	char why[TP_WHY_MAX];
	int rc = 0;

	while (rc == 0 && r->verified < r->frames) {
		while (rc == 0 && r->sent < r->frames && r->sent - r->verified < r->window) {
			uint32_t len = tapframe_len(r->seed, r->sent);
			rc = tp_send(r, r->sent, len);
			r->sent++;
			r->bytes_sent += len;
		}
		if (rc == 0)
			rc = tp_recv(r, r->deadline_ms, &h);
		if (rc == 0) {
			snprintf(why, sizeof(why), "timed out after %u s waiting for reply %u (%u sent)", r->timeout_s,
				 r->verified, r->sent);
			rc = tp_fail(r, -ETIMEDOUT, "%s", why);
		} else if (rc == 1) {
			rc = tp_reply(r, &h);
		}
	}
	return rc;
}

/* One segment of the bulk stream: the next bytes of it, in order. */
static int tp_segment(struct tp_run *r, size_t len)
{
	char why[TP_WHY_MAX - 64];
	struct tapframe_seg seg;
	int rc = tapframe_bulk_check(r->frame, len, r->tap_mac, r->vif_mac, r->seed, &seg, why, sizeof(why));

	if (rc < 0)
		return tp_fail(r, rc, "bulk stream: %s", why);
	if (rc == 0) {
		r->bulk_foreign++;
		return 0;
	}
	if (seg.seq != r->bulk_got || r->bulk_got + seg.plen > r->bulk_bytes) {
		snprintf(why, sizeof(why), "segment seq %u (%u bytes) where seq %llu of %llu was due", seg.seq, seg.plen,
			 (unsigned long long)r->bulk_got, (unsigned long long)r->bulk_bytes);
		return tp_fail(r, -EPROTO, "bulk stream: %s", why);
	}
	r->bulk_got += seg.plen;
	r->bulk_segs++;
	if (len > r->bulk_seg_len_max)
		r->bulk_seg_len_max = (uint32_t)len;
	return 0;
}

/* After the replies: the vif's GSO frames, as the segments netback cut. */
static int tp_bulk(struct tp_run *r)
{
	char why[TP_WHY_MAX];
	int rc = 0;

	r->bulk_bytes = tapframe_bulk_bytes(r->seed);
	while (rc == 0 && r->bulk_got < r->bulk_bytes) {
		ssize_t len = tp_read(r, r->fd_ip, r->deadline_ms);
		if (len == 0) {
			snprintf(why, sizeof(why), "bulk stream: timed out after %u s with %llu of %llu bytes (%u segments)",
				 r->timeout_s, (unsigned long long)r->bulk_got, (unsigned long long)r->bulk_bytes,
				 r->bulk_segs);
			return tp_fail(r, -ETIMEDOUT, "%s", why);
		}
		rc = len < 0 ? (int)len : tp_segment(r, (size_t)len);
	}
	return rc;
}

static int tp_report(const struct tp_run *r, int rc)
{
	char msg[1024];
	bool ok = rc == 0 && r->verified == r->frames && r->bulk_got == r->bulk_bytes && r->bulk_bytes > 0;

	snprintf(msg, sizeof(msg),
		 "TAP %s (ifindex %d, flags 0x%x, MAC %02x:%02x:%02x:%02x:%02x:%02x): %u frames of %u..%u bytes sent "
		 "into it (%llu KiB), %u replies from the vif verified in order (%llu KiB), %u probes, %llu late "
		 "probe replies, %llu foreign frames; bulk stream: %u frames from the vif (mostly GSO, checksums partial) "
		 "came as %u segments of at most %u bytes, IPv4 and TCP checksums complete, %llu of %llu KiB verified in order%s%s",
		 r->ifname, r->ifindex, r->ifflags, r->tap_mac[0], r->tap_mac[1], r->tap_mac[2], r->tap_mac[3],
		 r->tap_mac[4], r->tap_mac[5], r->sent, TAPFRAME_LEN_MIN, TAPFRAME_LEN_MAX,
		 (unsigned long long)(r->bytes_sent >> 10), r->verified, (unsigned long long)(r->bytes_verified >> 10),
		 r->probes, (unsigned long long)r->late_probes, (unsigned long long)r->foreign, TAPFRAME_BULK_FRAMES,
		 r->bulk_segs, r->bulk_seg_len_max, (unsigned long long)(r->bulk_got >> 10),
		 (unsigned long long)(r->bulk_bytes >> 10), r->why[0] ? ": " : "",
		 r->why);
	if (r->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", r->verdict, msg);
	else
		printf("xcheck-tappeer: %s\n", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct tp_run r;
	int rc;

	if (tp_parse(&r, argc, argv) < 0)
		return tp_usage();
	r.deadline_ms = tp_now_ms() + r.timeout_s * 1000ull;
	rc = tp_open(&r);
	if (rc == 0)
		rc = tp_probe(&r);
	if (rc == 0)
		rc = tp_exchange(&r);
	if (rc == 0)
		rc = tp_bulk(&r);
	rc = tp_report(&r, rc);
	if (r.fd >= 0)
		close(r.fd);
	if (r.fd_ip >= 0)
		close(r.fd_ip);
	return rc;
}
