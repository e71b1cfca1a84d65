/*
 * xensim-blkback: drivers/blk's blkback as a daemon on real Xen (dom0 or a
 * driver domain), linked against Debian's libxenevtchn, libxengnttab and
 * libxenstore. It serves every vbd the toolstack creates under this domain's
 * backend/vbd/: params names a disk given here, or (type file/phy) a path.
 *
 * usage: xensim-blkback [--ram NAME=SIZE]... [--file NAME=PATH]...
 *                       [--sector-size 512|4096] [--features all|none]
 *                       [--seconds N] [--verdict NAME]
 * SIZE takes a K, M or G suffix. Runs until SIGINT/SIGTERM or N seconds, then
 * lets go of every vbd (state Closed) and prints its counters; with
 * --verdict, one "XCHECK PASS|FAIL NAME ..." line. Exit 0, 1 failed, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkstore.h"

#define BB_DISKS_MAX 16

struct bb_opts {
	struct blkback_config cfg;
	uint32_t sector_size;
	unsigned seconds;
	const char *verdict;
	const char *names[BB_DISKS_MAX];
	struct blk_store *disks[BB_DISKS_MAX];
	unsigned ndisks;
};

static int bb_usage(void)
{
	fprintf(stderr, "usage: xensim-blkback [--ram NAME=SIZE]... [--file NAME=PATH]...\n"
			"                      [--sector-size 512|4096] [--features all|none]\n"
			"                      [--seconds N] [--verdict NAME]\n");
	return 2;
}

static int bb_size(const char *s, uint64_t *out)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	unsigned shift = *end == 'K' ? 10 : *end == 'M' ? 20 : *end == 'G' ? 30 : 0;

	if (end == s || (shift && end[1]) || (!shift && *end) || v == 0 || v > (1ull << 40) >> shift)
		return -EINVAL;
	*out = (uint64_t)v << shift;
	return 0;
}

/* NAME=VALUE: a ram disk of VALUE bytes, or the file VALUE. */
static int bb_disk(struct bb_opts *o, const char *arg, bool ram)
{
	const char *eq = strchr(arg, '=');
	uint64_t size;
	int rc;

	if (!eq || eq == arg || o->ndisks >= BB_DISKS_MAX)
		return -EINVAL;
	char *name = strndup(arg, (size_t)(eq - arg));
	if (!name)
		return -ENOMEM;
	if (ram)
		rc = bb_size(eq + 1, &size) ?: blk_store_ram_create(size - size % o->sector_size, o->sector_size,
								   &o->disks[o->ndisks]);
	else
		rc = blk_store_file_open(eq + 1, o->sector_size, false, 0, &o->disks[o->ndisks]);
	if (rc < 0) {
		fprintf(stderr, "xensim-blkback: disk %s: %s\n", arg, strerror(-rc));
		free(name);
		return rc;
	}
	o->names[o->ndisks++] = name;
	return 0;
}

static void bb_features(struct blkback_config *c, bool all)
{
	*c = (struct blkback_config){0};
	if (!all)
		return;
	*c = (struct blkback_config){.ring_page_order_max = 4, .queues_max = 4,
				     .indirect_segs_max = BLKBACK_INDIRECT_SEGS_DEFAULT, .persistent = true,
				     .flush = true, .barrier = true, .discard = true};
}

static int bb_parse(struct bb_opts *o, int argc, char **argv)
{
	o->sector_size = 512;
	bb_features(&o->cfg, true);
	for (int i = 1; i < argc; i++) {
		const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(opt, "--help") == 0 || !val)
			return -EINVAL;
		i++;
		if (strcmp(opt, "--sector-size") == 0)
			o->sector_size = (uint32_t)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--features") == 0 && (!strcmp(val, "all") || !strcmp(val, "none")))
			bb_features(&o->cfg, strcmp(val, "all") == 0);
		else if (strcmp(opt, "--seconds") == 0)
			o->seconds = (unsigned)strtoul(val, NULL, 10);
		else if (strcmp(opt, "--verdict") == 0)
			o->verdict = val;
		else if (strcmp(opt, "--ram") == 0 || strcmp(opt, "--file") == 0) {
			if (o->sector_size != 512 && o->sector_size != 4096)
				return -EINVAL;
			if (bb_disk(o, val, strcmp(opt, "--ram") == 0) < 0)
				return -EINVAL;
		} else
			return -EINVAL;
	}
	return 0;
}

static void bb_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

static void bb_report(const struct bb_opts *o, const struct blkback_stats *s, int rc)
{
	char msg[512];

	snprintf(msg, sizeof(msg),
		 "%llu connections, %llu requests, %llu MiB read, %llu MiB written, %llu errors, "
		 "%llu malformed, %llu frontends cut off%s%s",
		 (unsigned long long)s->connects, (unsigned long long)s->requests,
		 (unsigned long long)(s->bytes_read >> 20), (unsigned long long)(s->bytes_written >> 20),
		 (unsigned long long)s->rsp_error, (unsigned long long)s->invalid, (unsigned long long)s->fatal,
		 rc ? ": " : "", rc ? strerror(-rc) : "");
	if (o->verdict)
		printf("XCHECK %s %s %s\n", rc ? "FAIL" : "PASS", o->verdict, msg);
	else
		printf("xensim-blkback: %s\n", msg);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct bb_opts o;
	struct blkback_stats st = {0};
	struct blkback *bb = NULL;
	struct event_base *base;
	struct event *ev_int, *ev_term, *ev_timer;
	int rc;

	if (bb_parse(&o, argc, argv) < 0)
		return bb_usage();
	signal(SIGPIPE, SIG_IGN);
	base = event_base_new();
	ev_int = evsignal_new(base, SIGINT, bb_stop, base);
	ev_term = evsignal_new(base, SIGTERM, bb_stop, base);
	ev_timer = evtimer_new(base, bb_stop, base);
	if (!base || !ev_int || !ev_term || !ev_timer || event_add(ev_int, NULL) || event_add(ev_term, NULL))
		return 1;
	o.cfg.base = base;
	rc = blkback_start(&o.cfg, &bb);
	for (unsigned i = 0; rc == 0 && i < o.ndisks; i++)
		rc = blkback_disk_add(bb, o.names[i], o.disks[i]);
	if (rc == 0) {
		struct timeval tv = {.tv_sec = o.seconds};
		if (o.seconds)
			evtimer_add(ev_timer, &tv);
		printf("xensim-blkback: serving backend/vbd with %u named disk(s)\n", o.ndisks);
		fflush(stdout);
		event_base_dispatch(base);
		blkback_stats(bb, &st);
	}
	blkback_stop(bb);
	bb_report(&o, &st, rc);
	for (unsigned i = 0; i < o.ndisks; i++) {
		blk_store_put(o.disks[i]);
		free((char *)o.names[i]);
	}
	event_free(ev_int);
	event_free(ev_term);
	event_free(ev_timer);
	event_base_free(base);
	return rc ? 1 : 0;
}
