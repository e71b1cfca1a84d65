/*
 * The block protocol's hostile edges from the frontend's side, end to end: a
 * raw frontend, written here with Xen's API only, on a real ring to blkback.
 * Crafted requests are each answered with the right status, the connection
 * kept; random bytes are cut off, counted, while another guest's vbd works.
 * The backend's side (a raw backend against blkfront) is
 * blkfront_hostile_test.c; the pure checks behind both are unit-tested at and
 * past every bound in blkunit_test.c.
 */
#include "tests/blkproto_fixture.h"

/* ==== request builders ==== */

static blkif_request_t pt_rw(uint8_t op, uint8_t nseg, uint64_t sector)
{
	blkif_request_t r;

	memset(&r, 0, sizeof(r));
	r.operation = op;
	r.nr_segments = nseg;
	r.id = 0x1234;
	r.sector_number = sector;
	for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
		r.seg[i] = (struct blkif_request_segment){.gref = 100 + i, .first_sect = 0, .last_sect = 7};
	return r;
}

static blkif_request_t pt_discard(uint64_t sector, uint64_t n)
{
	blkif_request_discard_t d;
	blkif_request_t q;

	memset(&q, 0, sizeof(q));
	memset(&d, 0, sizeof(d));
	d.operation = BLKIF_OP_DISCARD;
	d.id = 5;
	d.sector_number = sector;
	d.nr_sectors = n;
	memcpy(&q, &d, sizeof(d));
	return q;
}


static const struct blkback_config pt_be_on = {.ring_page_order_max = 4, .queues_max = 4,
					       .indirect_segs_max = 256, .persistent = true,
					       .flush = true, .barrier = true, .discard = true};
static const struct blkback_config pt_be_off = {0};

struct pt_backend {
	struct blkback_config cfg;
	struct blkback *bb;
	struct blk_store *disk[2];
	struct blkback_stats stats;
};

static int pt_backend_start_fn(void *arg)
{
	struct pt_backend *b = arg;
	int rc;

	b->cfg.base = sim_domain_event_base();
	rc = blkback_start(&b->cfg, &b->bb);
	if (rc == 0)
		rc = blkback_disk_add(b->bb, "disk1", b->disk[0]);
	if (rc == 0 && b->disk[1])
		rc = blkback_disk_add(b->bb, "disk2", b->disk[1]);
	return rc;
}

static int pt_backend_stop_fn(void *arg)
{
	struct pt_backend *b = arg;

	blkback_stats(b->bb, &b->stats);
	blkback_stop(b->bb);
	return 0;
}


/* ==== a raw frontend: crafted requests, or random bytes ==== */

#define RF_DATA_PAGES 4u
#define RF_RSP_MAX 64u
#define RF_ROUND_TICKS 100u          /* garbage writes before we give up a round */
#define RF_SIG_CONNECTED (1u << 8)
#define RF_SIG_RESPONSES (1u << 9)
#define RF_SIG_DONE (1u << 10)
#define RF_SIG_CLOSED (1u << 11)

struct rf {
	domid_t domid;
	uint32_t devid;
	struct xenbus *xb;
	struct xenbus_watch *watch;
	struct xenbus_otherend back;
	xengntshr_handle *gs;
	struct xenbus_evtchn *ch;
	blkif_sring_t *sring;
	uint32_t ring_ref;
	blkif_front_ring_t ring;
	uint8_t *data;
	uint32_t data_refs[RF_DATA_PAGES];
	bool published, connected;
	uint32_t force_ref;   /* publish this ring-ref instead of ours */
	bool eager;           /* publish at once, not waiting for InitWait */
	unsigned nrsp, want;
	uint8_t rsp[RF_RSP_MAX][sizeof(blkif_response_t)];
	/* hostile */
	bool hostile;
	uint64_t rng;
	struct event *tick;
	unsigned round, rounds, ticks;
	uint64_t garbage;
};

static uint64_t rf_rand(struct rf *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 7;
	f->rng ^= f->rng << 17;
	return f->rng;
}

static bool rf_event(void *arg)
{
	struct rf *f = arg;
	RING_IDX rp = f->sring->rsp_prod;

	xen_rmb();
	if (f->hostile) {
		f->ring.rsp_cons = rp;   /* not reading them: the ring is garbage anyway */
		return true;
	}
	while (f->ring.rsp_cons != rp && f->nrsp < RF_RSP_MAX)
		memcpy(f->rsp[f->nrsp++], RING_GET_RESPONSE(&f->ring, f->ring.rsp_cons++), sizeof(f->rsp[0]));
	if (f->want && f->nrsp >= f->want)
		pt_raise(RF_SIG_RESPONSES);
	return true;
}

static void rf_publish(struct rf *f)
{
	struct xs_handle *xs = xenbus_xs(f->xb);
	char dir[64];

	snprintf(dir, sizeof(dir), "device/vbd/%u", f->devid);
	f->sring = xengntshr_share_pages(f->gs, 0, 1, &f->ring_ref, 1);
	if (!f->sring)
		return;
	SHARED_RING_INIT(f->sring);
	FRONT_RING_INIT(&f->ring, f->sring, 4096);
	if (xenbus_evtchn_alloc(xenbus_base(f->xb), 0, rf_event, f, &f->ch) < 0)
		return;
	xenbus_write_fmt(xs, XBT_NULL, dir, "ring-ref", "%u", f->force_ref ? f->force_ref : f->ring_ref);
	xenbus_write_fmt(xs, XBT_NULL, dir, "event-channel", "%u", xenbus_evtchn_port(f->ch));
	xenbus_write_fmt(xs, XBT_NULL, dir, "protocol", "x86_64-abi");
	xenbus_write_fmt(xs, XBT_NULL, dir, "feature-persistent", "%d", !f->hostile);
	xenbus_state_switch(xs, dir, XenbusStateInitialised);
	f->published = true;
}

static void rf_unpublish(struct rf *f)
{
	if (f->tick)
		event_del(f->tick);
	xenbus_evtchn_close(f->ch);
	f->ch = NULL;
	if (f->sring)
		xengntshr_unshare(f->gs, f->sring, 1);
	f->sring = NULL;
	f->published = f->connected = false;
}

static void rf_tick_arm(struct rf *f)
{
	struct timeval tv = {.tv_usec = 200};

	evtimer_add(f->tick, &tv);
}

/* Round end: start over (Closed, then Initialising) or stop. */
static void rf_round_over(struct rf *f)
{
	struct xs_handle *xs = xenbus_xs(f->xb);
	char dir[64];

	snprintf(dir, sizeof(dir), "device/vbd/%u", f->devid);
	rf_unpublish(f);
	xenbus_state_switch(xs, dir, XenbusStateClosed);
	if (++f->round < f->rounds)
		xenbus_state_switch(xs, dir, XenbusStateInitialising);
	else
		pt_raise(RF_SIG_DONE);
}

static void rf_backend_changed(void *arg, const char *path)
{
	struct rf *f = arg;
	XenbusState be;

	(void)path;
	if (xenbus_state_read(xenbus_xs(f->xb), f->back.path, &be) < 0)
		return;
	if (be == XenbusStateInitWait && !f->published && (!f->hostile || f->round < f->rounds))
		rf_publish(f);
	else if (be == XenbusStateConnected && f->published && !f->connected) {
		f->connected = true;
		f->ticks = 0;
		pt_raise(RF_SIG_CONNECTED);
		if (f->hostile)
			rf_tick_arm(f);
	} else if ((be == XenbusStateClosing || be == XenbusStateClosed) && f->published) {
		if (f->hostile) {
			rf_round_over(f);
		} else {
			rf_unpublish(f);
			pt_raise(RF_SIG_CLOSED);
		}
	}
}

/* Mode A: the whole page, indices included. Mode B: random requests behind
 * a believable req_prod, with mostly real grant refs, to reach deep checks. */
static void rf_scribble(struct rf *f)
{
	if (f->round % 2 == 0) {
		for (unsigned i = 0; i < 4096 / 8; i++)
			((uint64_t *)(void *)f->sring)[i] = rf_rand(f);
		return;
	}
	for (unsigned k = 0; k < 4; k++) {
		blkif_request_t r;
		for (unsigned i = 0; i < sizeof(r) / 8; i++)
			((uint64_t *)(void *)&r)[i] = rf_rand(f);
		r.operation = (uint8_t)(rf_rand(f) % 8);
		r.nr_segments = (uint8_t)(rf_rand(f) % 13);
		r.sector_number = rf_rand(f) % 4096;
		for (unsigned i = 0; i < BLKIF_MAX_SEGMENTS_PER_REQUEST; i++)
			if (rf_rand(f) % 4)
				r.seg[i].gref = f->data_refs[rf_rand(f) % RF_DATA_PAGES];
		memcpy(RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt), &r, sizeof(r));
		f->ring.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&f->ring);
}

static void rf_tick(evutil_socket_t fd, short what, void *arg)
{
	struct rf *f = arg;
	char dir[64];

	(void)fd;
	(void)what;
	if (!f->connected)
		return;
	rf_scribble(f);
	f->garbage++;
	xenbus_evtchn_notify(f->ch);
	if (++f->ticks < RF_ROUND_TICKS) {
		rf_tick_arm(f);
		return;
	}
	/* The backend put up with it: we close ourselves. */
	snprintf(dir, sizeof(dir), "device/vbd/%u", f->devid);
	xenbus_state_switch(xenbus_xs(f->xb), dir, XenbusStateClosing);
}

static int rf_start_fn(void *arg)
{
	struct rf *f = arg;
	char path[XENBUS_PATH_MAX];
	int rc = xenbus_open(sim_domain_event_base(), &f->xb);

	if (rc == 0)
		rc = xenbus_frontend_lookup(xenbus_xs(f->xb), "vbd", f->devid, &f->back);
	if (rc < 0)
		return rc;
	f->gs = xengntshr_open(NULL, 0);
	f->data = f->gs ? xengntshr_share_pages(f->gs, 0, RF_DATA_PAGES, f->data_refs, 1) : NULL;
	f->tick = evtimer_new(sim_domain_event_base(), rf_tick, f);
	if (!f->data || !f->tick)
		return -ENOMEM;
	if (f->eager)
		rf_publish(f);
	snprintf(path, sizeof(path), "%s/state", f->back.path);
	return xenbus_watch(f->xb, path, rf_backend_changed, f, &f->watch);
}

static int rf_stop_fn(void *arg)
{
	struct rf *f = arg;
	char dir[64];

	snprintf(dir, sizeof(dir), "device/vbd/%u", f->devid);
	xenbus_unwatch(f->xb, f->watch);
	rf_unpublish(f);
	xenbus_state_switch(xenbus_xs(f->xb), dir, XenbusStateClosed);
	if (f->tick)
		event_free(f->tick);
	if (f->data)
		xengntshr_unshare(f->gs, f->data, RF_DATA_PAGES);
	if (f->gs)
		xengntshr_close(f->gs);
	xenbus_close(f->xb);
	return 0;
}

struct rf_send {
	struct rf *f;
	blkif_request_t req[16];
	unsigned n;
};

static int rf_send_fn(void *arg)
{
	struct rf_send *s = arg;
	struct rf *f = s->f;
	int notify;

	for (unsigned i = 0; i < s->n; i++) {
		memcpy(RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt), &s->req[i], sizeof(s->req[i]));
		f->ring.req_prod_pvt++;
	}
	f->want = f->nrsp + s->n;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (notify)
		xenbus_evtchn_notify(f->ch);
	return 0;
}

static blkif_response_t rf_rsp(const struct rf *f, unsigned i)
{
	blkif_response_t r;

	memcpy(&r, f->rsp[i], sizeof(r));
	return r;
}


/* ==== blkback_ring: crafted requests through a real ring ==== */

static void pt_put_seg(blkif_request_t *r, unsigned i, uint32_t ref)
{
	r->seg[i] = (struct blkif_request_segment){.gref = ref, .first_sect = 0, .last_sect = 7};
}

static int rf_fill_fn(void *arg)
{
	struct rf *f = arg;

	for (unsigned i = 0; i < 4096; i++)
		f->data[i] = (uint8_t)(i * 13 + 1);
	memset(f->data + 4096, 0, 4096);
	return 0;
}

static int rf_compare_fn(void *arg)
{
	struct rf *f = arg;

	return memcmp(f->data, f->data + 4096, 4096) == 0 ? 0 : -EIO;
}

static void test_ring_crafted_requests_answered(void)
{
	struct pt_backend b = {.cfg = pt_be_on};
	struct rf f = {.domid = 1, .devid = 51712};
	struct rf_send s = {.f = &f, .n = 10};
	blkif_request_indirect_t ind;

	pt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(4u << 20, 512, &b.disk[0]), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, pt_backend_start_fn, &b), 0);
	struct xenbus_device dev = pt_device(1, 51712, "disk1");
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, rf_start_fn, &f), 0);
	CU_ASSERT_TRUE_FATAL(pt_wait(RF_SIG_CONNECTED));
	sim_domain_call(1, rf_fill_fn, &f);
	s.req[0] = pt_rw(BLKIF_OP_WRITE, 1, 0);          /* fine */
	pt_put_seg(&s.req[0], 0, f.data_refs[0]);
	s.req[1] = pt_rw(BLKIF_OP_READ, 12, 0);          /* 12 segments */
	s.req[2] = pt_rw(BLKIF_OP_READ, 1, 0);           /* a grant that does not exist */
	s.req[2].seg[0].gref = 0xdeadbeef;
	s.req[3] = pt_rw(9, 1, 0);                       /* unknown operation */
	s.req[4] = pt_rw(BLKIF_OP_READ, 1, 8192);        /* past the end of 4 MiB */
	s.req[5] = pt_rw(BLKIF_OP_READ, 1, 0);           /* fine: reads back req 0 */
	pt_put_seg(&s.req[5], 0, f.data_refs[1]);
	memset(&ind, 0, sizeof(ind));
	ind.operation = BLKIF_OP_INDIRECT;
	ind.indirect_op = BLKIF_OP_READ;
	ind.nr_segments = 16;
	ind.indirect_grefs[0] = 0xfeedface;              /* indirect page not granted */
	memcpy(&s.req[6], &ind, sizeof(ind));
	s.req[7] = pt_discard(64, 64);                   /* fine */
	s.req[8] = pt_rw(BLKIF_OP_WRITE_BARRIER, 1, 16); /* fine: a barrier with data */
	pt_put_seg(&s.req[8], 0, f.data_refs[0]);
	s.req[9] = pt_rw(BLKIF_OP_FLUSH_DISKCACHE, 1, 24);   /* fine: a flush with data */
	pt_put_seg(&s.req[9], 0, f.data_refs[0]);
	for (unsigned i = 0; i < s.n; i++)
		s.req[i].id = 1000 + i;
	sim_domain_call(1, rf_send_fn, &s);
	CU_ASSERT_TRUE_FATAL(pt_wait(RF_SIG_RESPONSES));
	static const int16_t want[10] = {BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_ERROR, BLKIF_RSP_EOPNOTSUPP,
					 BLKIF_RSP_ERROR, BLKIF_RSP_OKAY, BLKIF_RSP_ERROR, BLKIF_RSP_OKAY,
					 BLKIF_RSP_OKAY, BLKIF_RSP_OKAY};
	static const uint8_t ops[10] = {1, 0, 0, 9, 0, 0, 0, 5, 2, 3};
	for (unsigned i = 0; i < s.n; i++) {
		blkif_response_t r = rf_rsp(&f, i);
		CU_ASSERT_EQUAL(r.id, 1000 + i);
		CU_ASSERT_EQUAL(r.status, want[i]);
		CU_ASSERT_EQUAL(r.operation, ops[i]);
		/* padding bytes of a response are zero (XSA-216) */
		CU_ASSERT_EQUAL(f.rsp[i][9] | f.rsp[i][12] | f.rsp[i][13] | f.rsp[i][14] | f.rsp[i][15], 0);
	}
	CU_ASSERT_EQUAL(sim_domain_call(1, rf_compare_fn, &f), 0);
	/* A producer index past a ring of requests: the frontend is cut off. */
	s.n = 0;
	f.ring.req_prod_pvt += 33;
	sim_domain_call(1, rf_send_fn, &s);
	CU_ASSERT_TRUE(pt_wait(RF_SIG_CLOSED));
	sim_domain_call(0, pt_backend_stop_fn, &b);
	CU_ASSERT_EQUAL(b.stats.fatal, 1);
	CU_ASSERT_EQUAL(b.stats.invalid, 2);           /* 12 segments, past the end */
	CU_ASSERT_EQUAL(b.stats.grant_errors, 2);      /* the data ref's map, the indirect page's copy */
	CU_ASSERT_EQUAL(b.stats.persistent_maps, 2);   /* data pages 0 and 1, each mapped once */
	CU_ASSERT_EQUAL(b.stats.rsp_error, 4);
	CU_ASSERT_EQUAL(b.stats.rsp_eopnotsupp, 1);
	char *err = xs_read(pt_xs, XBT_NULL, "/local/domain/0/backend/vbd/1/51712/error", &(unsigned){0});
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "req_prod") ? err : NULL);
	free(err);
	sim_domain_call(1, rf_stop_fn, &f);
	xenbus_device_remove(pt_xs, &dev);
	blk_store_put(b.disk[0]);
	pt_check_clean(1);
	pt_world_down();
}



/* A frontend whose rings are published before any backend runs: the backend,
 * once started, goes InitWait then connects straight away. */
static void test_handshake_frontend_published_first(void)
{
	struct pt_backend b = {.cfg = pt_be_on};
	struct rf f = {.domid = 1, .devid = 51712, .eager = true};
	struct rf_send s = {.f = &f, .n = 1};

	pt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(4u << 20, 512, &b.disk[0]), 0);
	struct xenbus_device dev = pt_device(1, 51712, "disk1");
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, rf_start_fn, &f), 0);
	char *st = xs_read(pt_xs, XBT_NULL, "/local/domain/1/device/vbd/51712/state", &(unsigned){0});
	CU_ASSERT_STRING_EQUAL(st ? st : "", "3");
	free(st);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, pt_backend_start_fn, &b), 0);
	CU_ASSERT_TRUE_FATAL(pt_wait(RF_SIG_CONNECTED));
	s.req[0] = pt_rw(BLKIF_OP_READ, 1, 0);
	pt_put_seg(&s.req[0], 0, f.data_refs[1]);
	sim_domain_call(1, rf_send_fn, &s);
	CU_ASSERT_TRUE(pt_wait(RF_SIG_RESPONSES));
	CU_ASSERT_EQUAL(rf_rsp(&f, 0).status, BLKIF_RSP_OKAY);
	sim_domain_call(1, rf_stop_fn, &f);
	sim_domain_call(0, pt_backend_stop_fn, &b);
	xenbus_device_remove(pt_xs, &dev);
	blk_store_put(b.disk[0]);
	pt_check_clean(1);
	pt_world_down();
}

/* A ring ref the backend cannot map: refused with a reason, nothing kept. */
static void test_ring_unmappable_ref_refused(void)
{
	struct pt_backend b = {.cfg = pt_be_on};
	struct rf f = {.domid = 1, .devid = 51712, .force_ref = 4000};

	pt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(4u << 20, 512, &b.disk[0]), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, pt_backend_start_fn, &b), 0);
	struct xenbus_device dev = pt_device(1, 51712, "disk1");
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, rf_start_fn, &f), 0);
	CU_ASSERT_TRUE(pt_wait(RF_SIG_CLOSED));
	char *err = xs_read(pt_xs, XBT_NULL, "/local/domain/0/backend/vbd/1/51712/error", &(unsigned){0});
	CU_ASSERT_PTR_NOT_NULL(err && strstr(err, "rings") ? err : NULL);
	free(err);
	sim_domain_call(1, rf_stop_fn, &f);
	sim_domain_call(0, pt_backend_stop_fn, &b);
	CU_ASSERT_EQUAL(b.stats.connects, 0);
	CU_ASSERT_EQUAL(b.stats.fatal, 0);
	xenbus_device_remove(pt_xs, &dev);
	blk_store_put(b.disk[0]);
	pt_check_clean(1);
	pt_world_down();
}

static int pt_roundtrip_fn(void *arg)
{
	(void)arg;
	return 0;
}

/* params names no disk: the device is left alone (logged), not half-served. */
static void test_ring_unknown_disk_not_served(void)
{
	struct pt_backend b = {.cfg = pt_be_off};
	const char *fe_keys[] = {"virtual-device", "51712", NULL};
	const char *be_keys[] = {"params", "nosuchdisk", "type", "ram", "mode", "w", NULL};
	struct xenbus_device dev = {.type = "vbd", .fe_domid = 1, .be_domid = 0, .devid = 51712,
				    .fe_keys = fe_keys, .be_keys = be_keys};

	pt_world_up(1);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(4u << 20, 512, &b.disk[0]), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, pt_backend_start_fn, &b), 0);
	CU_ASSERT_EQUAL(xenbus_device_create(pt_xs, &dev), 0);
	sim_domain_call(0, pt_roundtrip_fn, NULL);
	sim_domain_call(0, pt_roundtrip_fn, NULL);
	char *st = xs_read(pt_xs, XBT_NULL, "/local/domain/0/backend/vbd/1/51712/state", &(unsigned){0});
	CU_ASSERT_STRING_EQUAL(st ? st : "", "1");
	free(st);
	sim_domain_call(0, pt_backend_stop_fn, &b);
	CU_ASSERT_EQUAL(b.stats.vbds, 0);
	CU_ASSERT_EQUAL(b.stats.refused, 1);
	xenbus_device_remove(pt_xs, &dev);
	blk_store_put(b.disk[0]);
	pt_check_clean(1);
	pt_world_down();
}

/* ==== blkback_hostile: random bytes in one guest's ring, another guest works ==== */

static void pt_hostile_frontend(const struct blkback_config *be, const struct blkfront_config *fe)
{
	struct pt_backend b = {.cfg = *be};
	struct pg *g = calloc(1, sizeof(*g));
	struct rf *f = calloc(1, sizeof(*f));

	pt_world_up(2);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(64u << 20, 512, &b.disk[0]), 0);
	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(4u << 20, 512, &b.disk[1]), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, pt_backend_start_fn, &b), 0);
	struct xenbus_device good = pt_device(1, 51712, "disk1"), bad = pt_device(2, 51712, "disk2");
	g->domid = 1;
	g->cfg = *fe;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, pg_open_fn, g), 0);
	CU_ASSERT_TRUE_FATAL(pt_wait(PG_SIG_CONNECTED));
	*f = (struct rf){.domid = 2, .devid = 51712, .hostile = true, .rng = 0x9e3779b97f4a7c15ull, .rounds = 6};
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(2, rf_start_fn, f), 0);
	g->wcfg = (struct blkwork_config){.seed = 99, .ios = 2000, .queue_depth = 32, .size_min = 512,
					  .size_max = 1u << 20, .read_pct = 50, .flush_pct = 2, .discard_pct = 2,
					  .verify_at_end = true};
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, pg_work_fn, g), 0);
	CU_ASSERT_TRUE(pt_wait(RF_SIG_DONE | PG_SIG_FINISHED));
	sim_domain_call(2, rf_stop_fn, f);
	sim_domain_call(1, pg_close_fn, g);
	sim_domain_call(0, pt_backend_stop_fn, &b);
	printf("  hostile guest: %u rounds, %llu garbage writes; backend: %llu fatal, %llu malformed, "
	       "%llu not supported, %llu grant errors; good guest: %u I/Os, %u mismatches\n",
	       f->round, (unsigned long long)f->garbage, (unsigned long long)b.stats.fatal,
	       (unsigned long long)b.stats.invalid, (unsigned long long)b.stats.rsp_eopnotsupp,
	       (unsigned long long)b.stats.grant_errors, g->res.done, g->res.mismatches);
	CU_ASSERT_EQUAL(f->round, 6);
	CU_ASSERT_TRUE(b.stats.fatal >= 3);          /* the scribbled indices, at least */
	CU_ASSERT_TRUE(b.stats.invalid > 0);         /* the random requests were answered */
	CU_ASSERT_TRUE(g->res.finished);
	CU_ASSERT_EQUAL(g->res.done, 2000);
	CU_ASSERT_EQUAL(g->res.errors + g->res.mismatches, 0);
	CU_ASSERT_STRING_EQUAL(g->error, "");
	xenbus_device_remove(pt_xs, &good);
	xenbus_device_remove(pt_xs, &bad);
	blk_store_put(b.disk[0]);
	blk_store_put(b.disk[1]);
	pt_check_clean(2);
	pt_world_down();
	free(g);
	free(f);
}

static void test_hostile_frontend_all_on(void)
{
	pt_hostile_frontend(&pt_be_on, &pg_fe_on);
}

static void test_hostile_frontend_all_off(void)
{
	pt_hostile_frontend(&pt_be_off, &pg_fe_off);
}

/* ==== registration ==== */

static const struct test_case pt_ring_cases[] = {
	TEST(test_ring_crafted_requests_answered),
	TEST(test_ring_unmappable_ref_refused),
	TEST(test_ring_unknown_disk_not_served),
	TEST(test_handshake_frontend_published_first),
	TEST_END,
};

static const struct test_case pt_hostile_fe_cases[] = {
	TEST(test_hostile_frontend_all_on),
	TEST(test_hostile_frontend_all_off),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("blkback_ring", NULL, pt_world_down, pt_ring_cases);
	test_add_suite("blkback_hostile", NULL, pt_world_down, pt_hostile_fe_cases);
}
