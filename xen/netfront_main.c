/*
 * xensim-netfront: drivers/net's netfront and the verified network workload
 * (drivers/net/network.h) in a domain of real Xen, linked against Debian's
 * libraries. Run one per guest index on vifs that a backend joins (for
 * instance xensim-netback's hub): each sends bulk streams and pings to every
 * other index and checks every frame it gets.
 *
 * usage: xensim-netfront --index I --peers P [--devid N] [--seed S]
 *                        [--messages M] [--pings K] [--size-min B] [--size-max B]
 *                        [--large-pct P] [--features all|none] [--timeout-s T]
 *                        [--linger-ms L] [--verdict NAME]
 * Before sending, the instances find each other: each broadcasts a small
 * hello frame every 100 ms until it heard every other index (a peer that says
 * hello can already receive). After its own sending is done it lingers L ms
 * (default 2000) to echo the others' pings. With --verdict, one
 * "XCHECK PASS|FAIL NAME ..." line: PASS when the run finished with every
 * frame intact and nothing lost. Exit 0, 1 failed, 2 usage.
 *
 * usage: xensim-netfront --tap-echo N [--devid N] [--seed S] [--timeout-s T]
 *                        [--linger-ms L] [--verdict NAME]
 * Instead of the workload, the vif's side of xen-check's TAP step
 * (xen/tapecho.h): check the N requests a peer sends through the TAP that
 * xensim-netback bridges to this vif, answer each, send the bulk stream of
 * GSO frames, linger L ms, and PASS when all N were verified and answered
 * and the stream is on the ring (the peer checks what came of it).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "drivers/net/netfront.h"
#include "drivers/net/network.h"
#include "xen/tapecho.h"
#include "xen/tapframe.h"

#define NF_HELLO_MS 100u
#define NF_HELLO_LEN 60u
#define NF_ETHERTYPE_HELLO 0x88B5u

struct nf_run {
	struct event_base *base;
	struct netfront_config cfg;
	struct network_config wcfg;
	struct netfront *nf;
	struct network *work;
	struct tapecho *echo;         /* --tap-echo: instead of the workload */
	uint32_t echo_frames;
	struct event *hello_ev, *deadline_ev, *linger_ev;
	unsigned timeout_s, linger_ms;
	const char *verdict;
	uint32_t heard;               /* peers whose hello arrived, a bit each */
	bool released, failed, lingering;
	char why[256];
};

static int nf_usage(void)
{
	fprintf(stderr, "usage: xensim-netfront --index I --peers P [--devid N] [--seed S]\n"
			"                       [--messages M] [--pings K] [--size-min B] [--size-max B]\n"
			"                       [--large-pct P] [--features all|none] [--timeout-s T]\n"
			"                       [--linger-ms L] [--verdict NAME]\n"
			"       xensim-netfront --tap-echo N [--devid N] [--seed S] [--timeout-s T]\n"
			"                       [--linger-ms L] [--verdict NAME]\n");
	return 2;
}

static void nf_timer_ms(struct event *ev, unsigned ms)
{
	struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (suseconds_t)(ms % 1000) * 1000};

	evtimer_add(ev, &tv);
}

static void nf_stop(struct nf_run *r, const char *why)
{
	if (why && !r->why[0]) {
		r->failed = true;
		snprintf(r->why, sizeof(r->why), "%s", why);
	}
	event_base_loopbreak(r->base);
}

/* ---- finding the others ---- */

static void nf_hello_send(struct nf_run *r)
{
	uint8_t f[NF_HELLO_LEN] = {0};
	struct iovec iov = {.iov_base = f, .iov_len = sizeof(f)};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};

	memset(f, 0xFF, 6);
	network_addr(r->wcfg.index, f + 6, NULL, NULL);
	f[12] = NF_ETHERTYPE_HELLO >> 8;
	f[13] = NF_ETHERTYPE_HELLO & 0xFF;
	f[14] = (uint8_t)r->wcfg.index;
	netfront_send(r->nf, &tx);   /* lost or refused: the next one goes */
}

static bool nf_heard_all(const struct nf_run *r)
{
	uint32_t all = ((1u << r->wcfg.peers) - 1) & ~(1u << r->wcfg.index);

	return (r->heard & all) == all;
}

static void nf_hello_tick(evutil_socket_t fd, short what, void *arg)
{
	struct nf_run *r = arg;

	(void)fd;
	(void)what;
	nf_hello_send(r);
	if (!r->released && r->work && nf_heard_all(r)) {
		r->released = true;
		network_release(r->work);
	}
	/* A few more after release: the others may not have heard us yet. */
	nf_timer_ms(r->hello_ev, r->released ? NF_HELLO_MS * 5 : NF_HELLO_MS);
}

/* ---- netfront and workload callbacks ---- */

static void nf_finished(void *arg)
{
	struct nf_run *r = arg;

	r->lingering = true;
	nf_timer_ms(r->linger_ev, r->linger_ms);
}

static void nf_linger_done(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nf_stop(arg, NULL);
}

static void nf_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nf_stop(arg, "the run did not finish in time");
}

/* --tap-echo: stop at the first violation; linger once everything is answered. */
static void nf_echo_check(struct nf_run *r)
{
	struct tapecho_result res;

	if (tapecho_failed(r->echo)) {
		tapecho_result(r->echo, &res);
		nf_stop(r, res.why);
	} else if (tapecho_done(r->echo) && !r->lingering) {
		nf_finished(r);
	}
}

static void nf_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct nf_run *r = arg;

	if (r->echo) {
		tapecho_rx(r->echo, nf, rx);
		nf_echo_check(r);
		return;
	}
	if (rx->len >= 15 && rx->data[12] == (NF_ETHERTYPE_HELLO >> 8) && rx->data[13] == (NF_ETHERTYPE_HELLO & 0xFF)) {
		if (rx->data[14] < r->wcfg.peers)
			r->heard |= 1u << rx->data[14];
		return;
	}
	if (r->work)
		network_rx(r->work, rx);
}

static void nf_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct nf_run *r = arg;

	(void)nf;
	if (ev == NETFRONT_EV_FAILED) {
		nf_stop(r, netfront_error(r->nf));
		return;
	}
	if (r->echo) {
		if (ev == NETFRONT_EV_TX_READY)
			tapecho_tx_ready(r->echo, r->nf);
		nf_echo_check(r);
		return;
	}
	if (ev == NETFRONT_EV_CONNECTED && !r->work) {
		r->wcfg.base = r->base;
		r->wcfg.held = true;
		r->wcfg.finished = nf_finished;
		r->wcfg.arg = r;
		if (network_start(r->nf, &r->wcfg, &r->work) < 0) {
			nf_stop(r, "starting the workload failed");
			return;
		}
		nf_timer_ms(r->hello_ev, 0);
	}
	if (r->work)
		network_event(r->work, ev);
}

/* ---- options and the run ---- */

static void nf_features(struct netfront_config *c, bool all)
{
	*c = (struct netfront_config){.queues_max = 1};
	if (all)
		*c = (struct netfront_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true,
					      .csum = true, .ipv6_csum = true, .split_evtchn = true, .rx_notify = true,
					      .tx_slots_max = 32};
}

static int nf_opt(struct nf_run *r, const char *opt, const char *val)
{
	unsigned long v = strtoul(val, NULL, 10);

	if (strcmp(opt, "--features") == 0 && (!strcmp(val, "all") || !strcmp(val, "none"))) {
		uint32_t devid = r->cfg.devid;
		nf_features(&r->cfg, strcmp(val, "all") == 0);
		r->cfg.devid = devid;
		r->wcfg.offload = strcmp(val, "all") == 0;
	} else if (strcmp(opt, "--verdict") == 0) {
		r->verdict = val;
	} else {
		static const char *const keys[] = {"--devid", "--index", "--peers", "--seed", "--messages", "--pings",
						   "--size-min", "--size-max", "--large-pct", "--timeout-s", "--linger-ms", "--tap-echo"};
		uint64_t *dst64 = strcmp(opt, "--seed") == 0 ? &r->wcfg.seed : NULL;
		uint32_t *dst[] = {&r->cfg.devid, &r->wcfg.index, &r->wcfg.peers, NULL, &r->wcfg.messages, &r->wcfg.pings,
				   &r->wcfg.size_min, &r->wcfg.size_max, &r->wcfg.large_pct, &r->timeout_s, &r->linger_ms,
				   &r->echo_frames};
		for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
			if (strcmp(opt, keys[i]) == 0) {
				if (dst64)
					*dst64 = v;
				else
					*dst[i] = (uint32_t)v;
				return 0;
			}
		return -EINVAL;
	}
	return 0;
}

static int nf_parse(struct nf_run *r, int argc, char **argv)
{
	nf_features(&r->cfg, true);
	r->wcfg = (struct network_config){.peers = 0, .messages = 1000, .pings = 100, .size_min = 60,
					  .size_max = 65535, .large_pct = 8, .offload = true, .seed = 1};
	r->timeout_s = 60;
	r->linger_ms = 2000;
	for (int i = 1; i < argc; i += 2)
		if (i + 1 >= argc || nf_opt(r, argv[i], argv[i + 1]) < 0)
			return -EINVAL;
	if (r->echo_frames)
		return r->echo_frames < TAPFRAME_SEQ_PROBE ? 0 : -EINVAL;
	return r->wcfg.peers >= 2 && r->wcfg.peers <= NETWORK_PEERS_MAX && r->wcfg.index < r->wcfg.peers ? 0 : -EINVAL;
}

static int nf_echo_report(struct nf_run *r)
{
	struct tapecho_result res = {0};
	struct netfront_stats st = {0};
	char msg[640];

	if (r->echo)
		tapecho_result(r->echo, &res);
	if (r->nf)
		netfront_stats(r->nf, &st);
	bool ok = !r->failed && !res.failed && res.verified == r->echo_frames && res.replied == r->echo_frames &&
		  res.bulk_frames == TAPFRAME_BULK_FRAMES && st.tx_errors == 0;
	snprintf(msg, sizeof(msg),
		 "vif %u: %u of %u requests from the TAP verified in order (%llu KiB), %u replies sent, %u frames "
		 "of the bulk stream sent (%u GSO, %llu KiB), %llu probes answered, %llu foreign frames; netfront: %llu "
		 "connections, %llu tx errors, %llu rx errors%s%s",
		 r->cfg.devid, res.verified, r->echo_frames, (unsigned long long)(res.bytes >> 10), res.replied,
		 res.bulk_frames, res.bulk_gso, (unsigned long long)(res.bulk_bytes >> 10),
		 (unsigned long long)res.probes, (unsigned long long)res.foreign, (unsigned long long)st.connects,
		 (unsigned long long)st.tx_errors, (unsigned long long)st.rx_errors, r->why[0] || res.failed ? ": " : "",
		 r->why[0] ? r->why : res.why);
	if (r->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", r->verdict, msg);
	else
		printf("xensim-netfront: %s\n", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

static int nf_report(struct nf_run *r)
{
	struct network_result res = {0};
	struct netfront_stats st = {0};
	char msg[640];

	if (r->work)
		network_result(r->work, &res);
	if (r->nf)
		netfront_stats(r->nf, &st);
	bool ok = !r->failed && res.finished && res.corrupt == 0 && res.lost_bytes == 0 && res.duplicates == 0 &&
		  res.out_of_order == 0 && res.ping_timeouts == 0;
	snprintf(msg, sizeof(msg),
		 "index %u of %u: %llu frames sent, %llu received, %llu verified (%llu MiB), %llu GSO sent / %llu "
		 "received, %llu corrupt, %llu duplicated, %llu out of order, %llu bytes lost, %llu/%llu pings; "
		 "netfront: %llu connections, %llu tx errors, %llu rx errors%s%s",
		 r->wcfg.index, r->wcfg.peers, (unsigned long long)res.frames_sent,
		 (unsigned long long)res.frames_received, (unsigned long long)res.frames_verified,
		 (unsigned long long)(res.bytes_received >> 20), (unsigned long long)res.gso_sent,
		 (unsigned long long)res.gso_received, (unsigned long long)res.corrupt,
		 (unsigned long long)res.duplicates, (unsigned long long)res.out_of_order,
		 (unsigned long long)res.lost_bytes, (unsigned long long)res.pings_ok,
		 (unsigned long long)res.pings_sent, (unsigned long long)st.connects, (unsigned long long)st.tx_errors,
		 (unsigned long long)st.rx_errors, r->why[0] ? ": " : "",
		 r->why[0] ? r->why : (res.failure[0] ? res.failure : ""));
	if (r->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", r->verdict, msg);
	else
		printf("xensim-netfront: %s\n", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct nf_run r;
	int rc;

	if (nf_parse(&r, argc, argv) < 0)
		return nf_usage();
	signal(SIGPIPE, SIG_IGN);
	r.base = event_base_new();
	if (!r.base)
		return 1;
	r.hello_ev = evtimer_new(r.base, nf_hello_tick, &r);
	r.deadline_ev = evtimer_new(r.base, nf_deadline, &r);
	r.linger_ev = evtimer_new(r.base, nf_linger_done, &r);
	if (!r.hello_ev || !r.deadline_ev || !r.linger_ev)
		return 1;
	r.cfg.base = r.base;
	r.cfg.on_rx = nf_rx;
	r.cfg.on_event = nf_event;
	r.cfg.arg = &r;
	rc = r.echo_frames ? tapecho_new(r.wcfg.seed, r.echo_frames, &r.echo) : 0;
	if (rc == 0)
		rc = netfront_open(&r.cfg, &r.nf);
	if (rc < 0) {
		snprintf(r.why, sizeof(r.why), "opening vif %u failed: %s", r.cfg.devid, strerror(-rc));
		r.failed = true;
	} else {
		nf_timer_ms(r.deadline_ev, r.timeout_s * 1000u);
		event_base_dispatch(r.base);
	}
	rc = r.echo_frames ? nf_echo_report(&r) : nf_report(&r);
	network_free(r.work);
	tapecho_free(r.echo);
	netfront_close(r.nf);
	event_free(r.hello_ev);
	event_free(r.deadline_ev);
	event_free(r.linger_ev);
	event_base_free(r.base);
	return rc;
}
