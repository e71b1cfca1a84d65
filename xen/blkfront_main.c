/*
 * xensim-blkfront: drivers/blk's blkfront and verified workload on real Xen,
 * linked against Debian's libxenevtchn, libxengnttab and libxenstore. It
 * attaches to device/vbd/<devid> of the domain it runs in, runs N random
 * reads, writes, flushes and discards checked against a shadow model (the
 * disk's earlier content is not assumed: only what this run wrote is
 * checked), reads the region back, and closes.
 *
 * usage: xensim-blkfront --devid N [--ios N] [--queue-depth N]
 *                        [--size-min BYTES] [--size-max BYTES] [--read-pct P]
 *                        [--flush-pct P] [--discard-pct P] [--span BYTES]
 *                        [--seed S] [--features all|none] [--timeout-s N]
 *                        [--verdict NAME]
 * Prints one summary line; with --verdict, "XCHECK PASS|FAIL NAME ...".
 * Exit 0 clean run, 1 failure, 2 usage.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkwork.h"

struct bf_opts {
	struct blkfront_config cfg;
	struct blkwork_config work;
	unsigned timeout_s;
	const char *verdict;
	bool have_devid;
};

struct bf_run {
	struct event_base *base;
	bool finished, expired;
};

static int bf_usage(void)
{
	fprintf(stderr, "usage: xensim-blkfront --devid N [--ios N] [--queue-depth N]\n"
			"                       [--size-min BYTES] [--size-max BYTES] [--read-pct P]\n"
			"                       [--flush-pct P] [--discard-pct P] [--span BYTES]\n"
			"                       [--seed S] [--features all|none] [--timeout-s N]\n"
			"                       [--verdict NAME]\n");
	return 2;
}

static void bf_features(struct blkfront_config *c, bool all)
{
	c->queues_max = all ? 4 : 1;
	c->ring_page_order_max = all ? 4 : 0;
	c->indirect_segs_max = all ? 256 : 0;
	c->persistent = all;
}

/* An unsigned option value; false if malformed. */
static bool bf_num(const char *s, uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && end != s && !*end && *out <= max;
}

static bool bf_option(struct bf_opts *o, const char *opt, const char *val)
{
	struct blkwork_config *w = &o->work;
	uint64_t v;

	if (strcmp(opt, "--features") == 0 && (!strcmp(val, "all") || !strcmp(val, "none"))) {
		bf_features(&o->cfg, strcmp(val, "all") == 0);
		return true;
	}
	if (strcmp(opt, "--verdict") == 0) {
		o->verdict = val;
		return true;
	}
	if (!bf_num(val, UINT32_MAX, &v) && !(strcmp(opt, "--seed") == 0 && bf_num(val, UINT64_MAX, &v)))
		return false;
	if (strcmp(opt, "--devid") == 0)
		o->cfg.devid = (uint32_t)v, o->have_devid = true;
	else if (strcmp(opt, "--ios") == 0)
		w->ios = (uint32_t)v;
	else if (strcmp(opt, "--queue-depth") == 0)
		w->queue_depth = (uint32_t)v;
	else if (strcmp(opt, "--size-min") == 0)
		w->size_min = (uint32_t)v;
	else if (strcmp(opt, "--size-max") == 0)
		w->size_max = (uint32_t)v;
	else if (strcmp(opt, "--read-pct") == 0)
		w->read_pct = (uint32_t)v;
	else if (strcmp(opt, "--flush-pct") == 0)
		w->flush_pct = (uint32_t)v;
	else if (strcmp(opt, "--discard-pct") == 0)
		w->discard_pct = (uint32_t)v;
	else if (strcmp(opt, "--span") == 0)
		w->span_bytes = v;
	else if (strcmp(opt, "--seed") == 0)
		w->seed = v;
	else if (strcmp(opt, "--timeout-s") == 0)
		o->timeout_s = (unsigned)v;
	else
		return false;
	return true;
}

static int bf_parse(struct bf_opts *o, int argc, char **argv)
{
	bf_features(&o->cfg, true);
	o->work = (struct blkwork_config){.seed = 1, .ios = 1000, .queue_depth = 32, .size_min = 512,
					  .size_max = 1u << 20, .read_pct = 50, .flush_pct = 2, .discard_pct = 2,
					  .verify_at_end = true, .disk_dirty = true};
	o->timeout_s = 60;
	for (int i = 1; i + 1 < argc; i += 2)
		if (!bf_option(o, argv[i], argv[i + 1]))
			return -EINVAL;
	return argc % 2 == 1 && o->have_devid ? 0 : -EINVAL;
}

static void bf_finished(void *arg)
{
	struct bf_run *r = arg;

	r->finished = true;
	event_base_loopbreak(r->base);
}

static void bf_expired(evutil_socket_t fd, short what, void *arg)
{
	struct bf_run *r = arg;

	(void)fd;
	(void)what;
	r->expired = true;
	event_base_loopbreak(r->base);
}

static int bf_report(const struct bf_opts *o, const struct blkwork_result *r, const struct blkfront_info *in,
		     const char *error)
{
	bool ok = !error && r->finished && !r->errors && !r->mismatches && !r->failure[0];
	char msg[768];

	snprintf(msg, sizeof(msg),
		 "vbd %" PRIu32 ": %u/%u I/Os (%u reads, %u writes, %u flushes, %u discards, %u not offered), "
		 "%llu MiB, %llu blocks verified, %u errors, %u mismatches; %u queue(s), %u ring page(s), "
		 "%u indirect segs, persistent %s%s%s",
		 o->cfg.devid, r->done, o->work.ios, r->reads, r->writes, r->flushes, r->discards, r->unsupported,
		 (unsigned long long)((r->bytes_read + r->bytes_written) >> 20),
		 (unsigned long long)r->blocks_verified, r->errors, r->mismatches, in->queues, in->ring_pages,
		 in->indirect_segs, in->persistent ? "yes" : "no", error || r->failure[0] ? ": " : "",
		 error ? error : r->failure);
	if (o->verdict)
		printf("XCHECK %s %s %s\n", ok ? "PASS" : "FAIL", o->verdict, msg);
	else
		printf("xensim-blkfront: %s %s\n", ok ? "PASS" : "FAIL", msg);
	fflush(stdout);
	return ok ? 0 : 1;
}

static int bf_run(struct bf_opts *o, struct blkfront *bf, struct bf_run *r, struct blkwork_result *res)
{
	struct timeval tv = {.tv_sec = o->timeout_s};
	struct event *t = evtimer_new(r->base, bf_expired, r);
	struct blkwork *w = NULL;
	int rc = t && evtimer_add(t, &tv) == 0 ? 0 : -ENOMEM;

	o->work.finished = bf_finished;
	o->work.arg = r;
	if (rc == 0)
		rc = blkwork_start(bf, &o->work, &w);
	while (rc == 0 && !r->finished && !r->expired)
		if (event_base_loop(r->base, EVLOOP_ONCE) < 0)
			rc = -EIO;
	if (w)
		blkwork_result(w, res);
	blkfront_close(bf);   /* completes what is left, before the workload goes */
	blkwork_free(w);
	if (t)
		event_free(t);
	return rc ? rc : r->expired ? -ETIMEDOUT : 0;
}

int main(int argc, char **argv)
{
	static struct bf_opts o;
	struct bf_run r = {0};
	struct blkwork_result res = {0};
	struct blkfront_info in = {0};
	struct blkfront *bf;
	char error[256] = "";
	int rc;

	if (bf_parse(&o, argc, argv) < 0)
		return bf_usage();
	signal(SIGPIPE, SIG_IGN);
	r.base = event_base_new();
	if (!r.base)
		return 1;
	o.cfg.base = r.base;
	rc = blkfront_open(&o.cfg, &bf);
	if (rc == 0) {
		rc = blkfront_wait_connected(bf, o.timeout_s * 1000);
		blkfront_info(bf, &in);
		if (rc < 0) {
			const char *e = blkfront_error(bf);
			snprintf(error, sizeof(error), "not connected: %s", e ? e : strerror(-rc));
			blkfront_close(bf);
		} else if ((rc = bf_run(&o, bf, &r, &res)) < 0) {
			snprintf(error, sizeof(error), "%s", strerror(-rc));
		}
	} else {
		snprintf(error, sizeof(error), "opening device/vbd/%" PRIu32 ": %s", o.cfg.devid, strerror(-rc));
	}
	rc = bf_report(&o, &res, &in, error[0] ? error : NULL);
	event_base_free(r.base);
	return rc;
}
