/*
 * xensim-netback: drivers/net's netback as a daemon on real Xen (dom0 or a
 * driver domain), linked against Debian's libxenevtchn, libxengnttab and
 * libxenstore. It serves every vif the toolstack creates under this domain's
 * backend/vif/ and joins them in a hub: a frame from one vif goes to every
 * other vif, and with --tap to a Linux TAP device too (frames from the TAP go
 * to every vif), through drivers/net/nettap: the TAP has no offload header,
 * so GSO frames are cut and partial checksums completed before they reach it.
 *
 * usage: xensim-netback [--tap NAME] [--features all|none] [--seconds N]
 *                       [--verdict NAME]
 * Runs until SIGINT/SIGTERM or N seconds, then lets go of every vif (state
 * Closed) and prints its counters; with --verdict, one
 * "XCHECK PASS|FAIL NAME ..." line (FAIL if a frontend broke the protocol, a
 * frame was refused as malformed, or a write into the TAP failed). Exit 0, 1
 * failed, 2 usage. The TAP is created down: whoever uses it brings it up.
 */
#include <errno.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drivers/net/netback.h"
#include "drivers/net/netpkt.h"
#include "drivers/net/nettap.h"

#define NB_PORTS_MAX 64u

struct nb_hub {
	struct netback_vif *hub_vifs[NB_PORTS_MAX];
	struct nettap *hub_tap;       /* NULL: none */
	uint64_t hub_frames;
};

struct nb_opts {
	struct netback_config cfg;
	const char *tap;
	unsigned seconds;
	const char *verdict;
};

static int nb_usage(void)
{
	fprintf(stderr, "usage: xensim-netback [--tap NAME] [--features all|none] [--seconds N] [--verdict NAME]\n");
	return 2;
}

/* ---- the hub ---- */

static int nb_attach(void *arg, struct netback_vif *vif, void **port)
{
	struct nb_hub *h = arg;

	for (unsigned i = 0; i < NB_PORTS_MAX; i++)
		if (!h->hub_vifs[i]) {
			h->hub_vifs[i] = vif;
			*port = &h->hub_vifs[i];
			return 0;
		}
	return -ENOSPC;
}

static void nb_detach(void *arg, void *port)
{
	(void)arg;
	*(struct netback_vif **)port = NULL;
}

/* A frame to every vif but `from` (NULL: from the TAP), and to the TAP. */
static void nb_flood(struct nb_hub *h, struct netback_vif **from, struct netpkt *pkt)
{
	h->hub_frames++;
	if (h->hub_tap && from)
		nettap_send(h->hub_tap, pkt);   /* a failure is counted there */
	for (unsigned i = 0; i < NB_PORTS_MAX; i++) {
		if (!h->hub_vifs[i] || &h->hub_vifs[i] == from)
			continue;
		struct netpkt *c = netpkt_clone(pkt);
		if (c)
			netback_vif_input(h->hub_vifs[i], c);
	}
	netpkt_free(pkt);
}

static void nb_output(void *arg, void *port, struct netpkt *pkt)
{
	nb_flood(arg, port, pkt);
}

static const struct netback_link_ops nb_link = {
	.attach = nb_attach,
	.detach = nb_detach,
	.output = nb_output,
};

static void nb_tap_rx(void *arg, struct netpkt *pkt)
{
	nb_flood(arg, NULL, pkt);
}

/* ---- the daemon ---- */

static void nb_features(struct netback_config *c, bool all)
{
	*c = (struct netback_config){.queues_max = 1};
	if (all)
		*c = (struct netback_config){.queues_max = 4, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true,
					     .ipv6_csum = true, .split_evtchn = true, .tx_slots_max = 32};
}

static int nb_parse(struct nb_opts *o, int argc, char **argv)
{
	nb_features(&o->cfg, true);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!val || strcmp(opt, "--help") == 0)
			return -EINVAL;
		i++;
		if (strcmp(opt, "--tap") == 0 && strlen(val) < IFNAMSIZ)
			o->tap = val;
		else if (strcmp(opt, "--features") == 0 && (!strcmp(val, "all") || !strcmp(val, "none")))
			nb_features(&o->cfg, strcmp(val, "all") == 0);
		else if (strcmp(opt, "--seconds") == 0)
			o->seconds = (unsigned)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--verdict") == 0)
			o->verdict = val;
		else
			return -EINVAL;
	}
	return 0;
}

static void nb_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* what: the step that failed with rc (when rc < 0). */
static int nb_report(const struct nb_opts *o, const struct nb_hub *h, const struct netback_stats *s, int rc,
		     const char *what)
{
	struct nettap_stats ts = {0};
	char msg[768];

	if (h->hub_tap)
		nettap_stats(h->hub_tap, &ts);
	/* Large GSO frames carry fragments over the map threshold: some of them
	 * must have come by grant map, through the real gntdev. */
	bool ok = rc == 0 && s->fatal == 0 && s->tx_dropped == 0 && ts.tx_errors == 0 &&
		  (s->tx_gso < 8 || s->tx_map_packets > 0);

	snprintf(msg, sizeof(msg),
		 "%llu connections, tx %llu frames (%llu MiB, %llu GSO; %llu frames / %llu KiB taken by grant map in "
		 "%llu map calls, %llu map failures), rx %llu frames (%llu MiB), %llu GSO cut, "
		 "%llu dropped from guests, %llu not deliverable (%llu full, %llu stalled, %llu down), %llu frontends "
		 "cut off; hub %llu frames, tap %llu in / %llu out (%llu GSO cut) / %llu errors%s%s%s",
		 (unsigned long long)s->connects, (unsigned long long)s->tx_packets,
		 (unsigned long long)(s->tx_bytes >> 20), (unsigned long long)s->tx_gso,
		 (unsigned long long)s->tx_map_packets, (unsigned long long)(s->tx_map_bytes >> 10),
		 (unsigned long long)s->tx_map_calls, (unsigned long long)s->tx_map_failures,
		 (unsigned long long)s->rx_packets, (unsigned long long)(s->rx_bytes >> 20),
		 (unsigned long long)s->rx_gso_segmented, (unsigned long long)s->tx_dropped,
		 (unsigned long long)(s->rx_dropped_full + s->rx_dropped_stalled + s->rx_dropped_other +
				      s->rx_dropped_down),
		 (unsigned long long)s->rx_dropped_full, (unsigned long long)s->rx_dropped_stalled,
		 (unsigned long long)s->rx_dropped_down, (unsigned long long)s->fatal, (unsigned long long)h->hub_frames,
		 (unsigned long long)ts.rx_frames, (unsigned long long)ts.tx_frames, (unsigned long long)ts.tx_gso_cut,
		 (unsigned long long)(ts.tx_errors + ts.rx_dropped), rc ? ": " : "", rc ? what : "",
		 rc ? strerror(-rc) : "");
	if (o->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", o->verdict, msg);
	else
		printf("xensim-netback: %s\n", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	static struct nb_opts o;
	static struct nb_hub hub;
	struct netback_stats st = {0};
	struct netback *nb = NULL;
	struct event_base *base;
	struct event *ev_int, *ev_term, *ev_timer;
	int rc = 0;

	if (nb_parse(&o, argc, argv) < 0)
		return nb_usage();
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	ev_int = base ? evsignal_new(base, SIGINT, nb_stop, base) : NULL;
	ev_term = base ? evsignal_new(base, SIGTERM, nb_stop, base) : NULL;
	ev_timer = base ? evtimer_new(base, nb_stop, base) : NULL;
	if (!ev_int || !ev_term || !ev_timer || event_add(ev_int, NULL) || event_add(ev_term, NULL))
		return 1;
	char what[64];
	snprintf(what, sizeof(what), "opening TAP %s: ", o.tap ? o.tap : "");
	if (o.tap)
		rc = nettap_open(o.tap, base, nb_tap_rx, &hub, &hub.hub_tap);
	o.cfg.base = base;
	o.cfg.link = &nb_link;
	o.cfg.link_arg = &hub;
	if (rc == 0) {
		snprintf(what, sizeof(what), "starting netback: ");
		rc = netback_start(&o.cfg, &nb);
	}
	if (rc == 0) {
		struct timeval tv = {.tv_sec = o.seconds};
		if (o.seconds)
			evtimer_add(ev_timer, &tv);
		printf("xensim-netback: serving backend/vif%s%s\n", o.tap ? ", bridged to TAP " : "", o.tap ? o.tap : "");
		fflush(stdout);
		event_base_dispatch(base);
		netback_stats(nb, &st);
	}
	netback_stop(nb);
	rc = nb_report(&o, &hub, &st, rc, what);
	nettap_close(hub.hub_tap);
	event_free(ev_int);
	event_free(ev_term);
	event_free(ev_timer);
	event_base_free(base);
	return rc;
}
