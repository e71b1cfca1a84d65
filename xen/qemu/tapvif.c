/*
 * xen/qemu/tapvif.c: the vif's side of xen-check's TAP step without Xen, for
 * tests/check-tap.sh on any Linux host. drivers/net/nettap (the code
 * xensim-netback bridges its vifs with) opens the TAP; this program stands
 * where netback's vifs would: it checks xcheck-tappeer's requests
 * (xen/tapframe.h), answers each, then sends the bulk stream as GSO frames
 * with partial checksums, which nettap must cut and complete for the peer's
 * checks to pass. It brings the TAP up itself.
 *
 * --fault makes one thing wrong on purpose, so the check shows the peer
 * catches it: reply-byte (a byte of reply 7 flipped), drop-reply (reply 7
 * not sent), bulk-csum (the partial checksum of the bulk frame that is not
 * GSO off by one, so completing it gives a wrong checksum).
 *
 * usage: xcheck-tapvif --tap NAME --frames N [--seed S] [--timeout-s T]
 *                      [--fault none|reply-byte|drop-reply|bulk-csum]
 * Prints "tapvif: ready" once the TAP is up, then one line
 * "XCHECK PASS|FAIL tap-vif ...". Exit 0 passed, 1 failed, 2 usage,
 * 77 skipped: no /dev/net/tun or no CAP_NET_ADMIN (the reason printed).
 */
#include <errno.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "drivers/net/netpkt.h"
#include "drivers/net/nettap.h"
#include "xen/tapframe.h"

#define TV_FAULT_AT 7u                 /* the reply a fault hits */
#define TV_FAULT_BULK_AT TAPFRAME_BULK_SMALL   /* not GSO: its checksum is only completed */
#define TV_LINGER_MS 500u
#define TV_EXIT_SKIP 77

enum tv_fault { TV_FAULT_NONE, TV_FAULT_REPLY_BYTE, TV_FAULT_DROP_REPLY, TV_FAULT_BULK_CSUM };

struct tv_run {
	const char *tap_name;
	uint32_t frames, timeout_s;
	uint64_t seed;
	enum tv_fault fault;
	struct event_base *base;
	struct nettap *tap;
	struct event *linger_ev;
	uint8_t mac[6];
	uint32_t verified, replied, bulk_frames;
	uint64_t foreign, probes;
	bool failed, done;
	char why[256];
};

static int tv_usage(void)
{
	fprintf(stderr, "usage: xcheck-tapvif --tap NAME --frames N [--seed S] [--timeout-s T]\n"
			"                     [--fault none|reply-byte|drop-reply|bulk-csum]\n");
	return 2;
}

static void tv_fail(struct tv_run *r, const char *why)
{
	if (!r->failed)
		snprintf(r->why, sizeof(r->why), "%s", why);
	r->failed = true;
	event_base_loopbreak(r->base);
}

static struct netpkt *tv_reply(struct tv_run *r, const struct tapframe_hdr *req)
{
	struct tapframe_hdr h = {.kind = TAPFRAME_RSP, .seq = req->seq, .len = req->len};
	struct netpkt *p = netpkt_alloc(req->len);

	if (!p)
		return NULL;
	memcpy(h.dst, req->src, 6);
	memcpy(h.src, r->mac, 6);
	tapframe_build(p->np_data, &h, r->seed);
	if (r->fault == TV_FAULT_REPLY_BYTE && req->seq == TV_FAULT_AT)
		p->np_data[req->len - 1] ^= 0x40;
	return p;
}

/* Bulk frame i as netback would hand it over: GSO, checksum partial. */
static struct netpkt *tv_bulk(struct tv_run *r, const uint8_t dst[6], uint32_t i, uint32_t off)
{
	struct netpkt *p = netpkt_alloc(TAPFRAME_BULK_HLEN + tapframe_bulk_plen(r->seed, i));
	struct netpkt_hdrs h;

	if (!p)
		return NULL;
	tapframe_bulk_build(p->np_data, dst, r->mac, r->seed, i, off);
	if (netpkt_parse(p->np_data, p->np_len, &h) < 0) {
		netpkt_free(p);
		return NULL;
	}
	netpkt_ip_csum_fill(p->np_data, &h);
	netpkt_l4_csum_partial(p->np_data, &h);
	if (r->fault == TV_FAULT_BULK_CSUM && i == TV_FAULT_BULK_AT)
		p->np_data[h.csum_off + 1] ^= 1;
	p->np_flags = NETPKT_F_CSUM_PARTIAL;
	if (p->np_len - TAPFRAME_BULK_HLEN > TAPFRAME_BULK_MSS) {
		p->np_gso_type = NETPKT_GSO_TCPV4;
		p->np_gso_size = TAPFRAME_BULK_MSS;
	}
	return p;
}

static int tv_send(struct tv_run *r, struct netpkt *p, const char *what)
{
	char why[160];
	int rc = p ? nettap_send(r->tap, p) : -ENOMEM;

	netpkt_free(p);
	if (rc < 0) {
		snprintf(why, sizeof(why), "nettap_send of %s failed: %s", what, strerror(-rc));
		tv_fail(r, why);
	}
	return rc;
}

static void tv_send_bulk(struct tv_run *r, const uint8_t dst[6])
{
	uint32_t off = 0;

	for (uint32_t i = 0; i < TAPFRAME_BULK_FRAMES && !r->failed; i++) {
		if (tv_send(r, tv_bulk(r, dst, i, off), "a bulk frame") == 0)
			r->bulk_frames++;
		off += tapframe_bulk_plen(r->seed, i);
	}
	struct timeval tv = {.tv_sec = 0, .tv_usec = TV_LINGER_MS * 1000};
	r->done = true;
	evtimer_add(r->linger_ev, &tv);
}

/* A request: in order, the length its seq calls for; probes aside. */
static int tv_accept(struct tv_run *r, const struct tapframe_hdr *h)
{
	char why[160];

	if (h->kind == TAPFRAME_REQ && h->seq >= TAPFRAME_SEQ_PROBE) {
		r->probes++;
		return 0;
	}
	if (h->kind == TAPFRAME_REQ && h->seq == r->verified && h->seq < r->frames &&
	    h->len == tapframe_len(r->seed, h->seq)) {
		r->verified++;
		return 0;
	}
	snprintf(why, sizeof(why), "frame kind %u seq %u (%u bytes) where request %u was due", h->kind, h->seq, h->len,
		 r->verified);
	tv_fail(r, why);
	return -EPROTO;
}

static void tv_rx(void *arg, struct netpkt *pkt)
{
	struct tv_run *r = arg;
	struct tapframe_hdr h;
	char why[200];
	int rc = r->done || r->failed ? 0 : tapframe_check(pkt->np_data, pkt->np_len, r->seed, &h, why, sizeof(why));

	if (rc == 0)
		r->foreign++;
	else if (rc < 0)
		tv_fail(r, why);
	else if (tv_accept(r, &h) == 0 && !(r->fault == TV_FAULT_DROP_REPLY && h.seq == TV_FAULT_AT) &&
		 tv_send(r, tv_reply(r, &h), "a reply") == 0 && h.seq < TAPFRAME_SEQ_PROBE)
		r->replied++;
	if (rc > 0 && !r->failed && r->verified == r->frames && h.seq == r->frames - 1)
		tv_send_bulk(r, h.src);
	netpkt_free(pkt);
}

/* ---- set-up ---- */

static int tv_up(struct tv_run *r)
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int rc = fd < 0 ? -errno : 0;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", nettap_name(r->tap));
	if (rc == 0 && ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	if (fd >= 0)
		close(fd);
	return rc;
}

static int tv_parse(struct tv_run *r, int argc, char **argv)
{
	static const char *const faults[] = {"none", "reply-byte", "drop-reply", "bulk-csum"};

	*r = (struct tv_run){.seed = 1, .timeout_s = 60, .mac = {0x02, 0, 0, 0, 0, 0x02}};
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *opt = argv[i], *val = argv[i + 1];
		bool known = false;
		if (strcmp(opt, "--tap") == 0)
			r->tap_name = val, known = true;
		else if (strcmp(opt, "--frames") == 0)
			r->frames = (uint32_t)strtoul(val, NULL, 10), known = true;
		else if (strcmp(opt, "--seed") == 0)
			r->seed = strtoull(val, NULL, 10), known = true;
		else if (strcmp(opt, "--timeout-s") == 0)
			r->timeout_s = (uint32_t)strtoul(val, NULL, 10), known = true;
		for (unsigned f = 0; f < sizeof(faults) / sizeof(faults[0]) && strcmp(opt, "--fault") == 0; f++)
			if (strcmp(val, faults[f]) == 0)
				r->fault = (enum tv_fault)f, known = true;
		if (!known)
			return -EINVAL;
	}
	return argc % 2 == 1 && r->tap_name && r->frames > 0 && r->frames < TAPFRAME_SEQ_PROBE ? 0 : -EINVAL;
}

static void tv_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct tv_run *r = arg;

	(void)fd;
	(void)what;
	if (r->done)
		event_base_loopbreak(r->base);
	else
		tv_fail(r, "timed out before every request came");
}

static int tv_report(const struct tv_run *r)
{
	struct nettap_stats st = {0};
	bool ok = !r->failed && r->done && r->replied == r->frames && r->bulk_frames == TAPFRAME_BULK_FRAMES;

	if (r->tap)
		nettap_stats(r->tap, &st);
	printf("XCHECK %s tap-vif %u of %u requests verified, %u replies and %u bulk frames sent, %llu probes, "
	       "%llu foreign; nettap: %llu in, %llu out, %llu GSO cut, %llu errors%s%s\n",
	       ok ? "PASS" : "FAIL", r->verified, r->frames, r->replied, r->bulk_frames, (unsigned long long)r->probes,
	       (unsigned long long)r->foreign, (unsigned long long)st.rx_frames, (unsigned long long)st.tx_frames,
	       (unsigned long long)st.tx_gso_cut, (unsigned long long)st.tx_errors, r->why[0] ? ": " : "", r->why);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct tv_run r;
	int rc;

	if (tv_parse(&r, argc, argv) < 0)
		return tv_usage();
	r.base = event_base_new();
	r.linger_ev = r.base ? evtimer_new(r.base, tv_timeout, &r) : NULL;
	if (!r.linger_ev)
		return 1;
	rc = nettap_open(r.tap_name, r.base, tv_rx, &r, &r.tap);
	if (rc == -EPERM || rc == -EACCES || rc == -ENOENT || rc == -ENODEV) {
		printf("SKIP tap-vif: cannot create TAP %s (%s): needs /dev/net/tun and CAP_NET_ADMIN\n", r.tap_name,
		       strerror(-rc));
		return TV_EXIT_SKIP;
	}
	if (rc == 0)
		rc = tv_up(&r);
	if (rc < 0) {
		snprintf(r.why, sizeof(r.why), "setting up TAP %s failed: %s", r.tap_name, strerror(-rc));
		r.failed = true;
	} else {
		struct timeval tv = {.tv_sec = r.timeout_s};
		evtimer_add(r.linger_ev, &tv);
		printf("tapvif: ready\n");
		fflush(stdout);
		event_base_dispatch(r.base);
	}
	rc = tv_report(&r);
	nettap_close(r.tap);
	event_free(r.linger_ev);
	event_base_free(r.base);
	return rc;
}
