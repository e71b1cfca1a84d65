/*
 * The block protocol's hostile edges from the backend's side, end to end: a
 * raw backend, written here with Xen's API only, on the other end of a real
 * blkfront's ring, answering with bad ids, operations and producer indices,
 * or refusing every connection (the frontend fails cleanly, naming what it
 * saw), or skipping InitWait (blkif.h allows it). The frontend's side is
 * blkproto_test.c.
 */
#include "tests/blkproto_fixture.h"

enum rb_mode { RB_GOOD, RB_ID_RANGE, RB_ID_STALE, RB_ID_DUP, RB_OP, RB_STATUS, RB_RSP_PROD, RB_REFUSE };

struct rb;
struct rb_q {
	struct rb *b;
	void *ring;
	unsigned pages;
	blkif_back_ring_t br;
	struct xenbus_evtchn *ch;
};

struct rb {
	enum rb_mode mode;
	bool offer_all;
	XenbusState first_state;   /* 0: InitWait; Initialised skips it (blkif.h allows) */
	char dir[64], fe_dir[64];
	struct xenbus *xb;
	struct xenbus_watch *watch;
	xengnttab_handle *gt;
	unsigned nq;
	struct rb_q q[4];
	bool connected;
	unsigned seen;
};

static void rb_put(struct rb_q *q, const blkif_response_t *r)
{
	memcpy(RING_GET_RESPONSE(&q->br, q->br.rsp_prod_pvt), r, sizeof(*r));
	q->br.rsp_prod_pvt++;
}

static void rb_answer(struct rb *b, struct rb_q *q, const blkif_request_t *req)
{
	blkif_response_t r;

	memset(&r, 0, sizeof(r));
	r.id = req->id;
	r.operation = req->operation == BLKIF_OP_INDIRECT ? ((const blkif_request_indirect_t *)req)->indirect_op
							   : req->operation;
	if (++b->seen > 1 && b->mode == RB_ID_DUP)
		return;
	switch (b->mode) {
	case RB_ID_RANGE:
		r.id = (r.id & ~0xffffffffull) | RING_SIZE(&q->br);
		break;
	case RB_ID_STALE:
		r.id += 1ull << 32;
		break;
	case RB_ID_DUP:
		rb_put(q, &r);
		break;
	case RB_OP:
		r.operation ^= 1;
		break;
	case RB_STATUS:
		r.status = 42;
		break;
	default:
		break;
	}
	rb_put(q, &r);
}

static bool rb_event(void *arg)
{
	struct rb_q *q = arg;
	int more;

	do {
		RING_IDX rp = q->br.sring->req_prod;
		xen_rmb();
		while (q->br.req_cons != rp) {
			blkif_request_t req;
			RING_COPY_REQUEST(&q->br, q->br.req_cons, &req);
			q->br.req_cons++;
			rb_answer(q->b, q, &req);
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&q->br, more);
	} while (more);
	xen_wmb();
	/* "lengths": a producer index claiming a ring more than was answered */
	bool lie = q->b->mode == RB_RSP_PROD && q->b->seen;
	q->br.sring->rsp_prod = q->br.rsp_prod_pvt + (lie ? RING_SIZE(&q->br) : 0);
	xenbus_evtchn_notify(q->ch);
	return true;
}

static int rb_connect_queue(struct rb *b, struct rb_q *q, const char *dir, unsigned order)
{
	struct xs_handle *xs = xenbus_xs(b->xb);
	uint32_t refs[16];
	uint64_t v, port;

	for (unsigned i = 0; i < (1u << order); i++) {
		char key[16];
		snprintf(key, sizeof(key), order ? "ring-ref%u" : "ring-ref", i);
		if (xenbus_read_uint(xs, XBT_NULL, dir, key, UINT32_MAX, &v) < 0)
			return -EINVAL;
		refs[i] = (uint32_t)v;
	}
	if (xenbus_read_uint(xs, XBT_NULL, dir, "event-channel", UINT32_MAX, &port) < 0)
		return -EINVAL;
	q->b = b;
	q->pages = 1u << order;
	q->ring = xengnttab_map_domain_grant_refs(b->gt, q->pages, 1, refs, PROT_READ | PROT_WRITE);
	if (!q->ring)
		return -EIO;
	BACK_RING_INIT(&q->br, (blkif_sring_t *)q->ring, 4096u << order);
	return xenbus_evtchn_bind(xenbus_base(b->xb), 1, (uint32_t)port, rb_event, q, &q->ch);
}

static void rb_connect(struct rb *b)
{
	struct xs_handle *xs = xenbus_xs(b->xb);
	uint64_t nq, order;

	xenbus_read_uint_or(xs, XBT_NULL, b->fe_dir, "multi-queue-num-queues", 4, 1, &nq);
	xenbus_read_uint_or(xs, XBT_NULL, b->fe_dir, "ring-page-order", 4, 0, &order);
	b->gt = xengnttab_open(NULL, 0);
	b->nq = (unsigned)nq;
	for (unsigned i = 0; i < b->nq; i++) {
		char dir[80];
		snprintf(dir, sizeof(dir), b->nq > 1 ? "%s/queue-%u" : "%s", b->fe_dir, i);
		CU_ASSERT_EQUAL(rb_connect_queue(b, &b->q[i], dir, (unsigned)order), 0);
	}
	xenbus_write_fmt(xs, XBT_NULL, b->dir, "sectors", "8192");
	xenbus_write_fmt(xs, XBT_NULL, b->dir, "sector-size", "512");
	xenbus_write_fmt(xs, XBT_NULL, b->dir, "info", "0");
	xenbus_state_switch(xs, b->dir, XenbusStateConnected);
	b->connected = true;
}

static void rb_disconnect(struct rb *b)
{
	for (unsigned i = 0; i < b->nq; i++) {
		xenbus_evtchn_close(b->q[i].ch);
		if (b->q[i].ring)
			xengnttab_unmap(b->gt, b->q[i].ring, b->q[i].pages);
		memset(&b->q[i], 0, sizeof(b->q[i]));
	}
	if (b->gt)
		xengnttab_close(b->gt);
	b->gt = NULL;
	b->connected = false;
}

static void rb_fe_changed(void *arg, const char *path)
{
	struct rb *b = arg;
	XenbusState fe;

	(void)path;
	if (xenbus_state_read(xenbus_xs(b->xb), b->fe_dir, &fe) < 0)
		return;
	if (b->mode == RB_REFUSE) {   /* every connection refused, with a reason */
		b->seen += fe == XenbusStateInitialised;
		if (fe == XenbusStateInitialised)
			xenbus_dev_fatal(xenbus_xs(b->xb), b->dir, "disk on fire");
		else if (fe == XenbusStateClosed)
			xenbus_state_switch(xenbus_xs(b->xb), b->dir, XenbusStateClosed);
		else if (fe == XenbusStateInitialising)
			xenbus_state_switch(xenbus_xs(b->xb), b->dir, XenbusStateInitWait);
		return;
	}
	if (fe == XenbusStateInitialised && !b->connected)
		rb_connect(b);
	else if ((fe == XenbusStateClosing || fe == XenbusStateClosed) && b->connected) {
		rb_disconnect(b);
		xenbus_state_switch(xenbus_xs(b->xb), b->dir, XenbusStateClosed);
	}
}

static int rb_start_fn(void *arg)
{
	struct rb *b = arg;
	char path[96];
	int rc = xenbus_open(sim_domain_event_base(), &b->xb);
	struct xs_handle *xs = rc ? NULL : xenbus_xs(b->xb);

	if (rc < 0)
		return rc;
	snprintf(b->dir, sizeof(b->dir), "backend/vbd/1/51712");
	snprintf(b->fe_dir, sizeof(b->fe_dir), "/local/domain/1/device/vbd/51712");
	if (b->offer_all) {
		xenbus_write_fmt(xs, XBT_NULL, b->dir, "max-ring-page-order", "4");
		xenbus_write_fmt(xs, XBT_NULL, b->dir, "multi-queue-max-queues", "4");
		xenbus_write_fmt(xs, XBT_NULL, b->dir, "feature-max-indirect-segments", "256");
	}
	xenbus_state_switch(xs, b->dir, b->first_state ? b->first_state : XenbusStateInitWait);
	snprintf(path, sizeof(path), "%s/state", b->fe_dir);
	return xenbus_watch(b->xb, path, rb_fe_changed, b, &b->watch);
}

static int rb_stop_fn(void *arg)
{
	struct rb *b = arg;

	rb_disconnect(b);
	xenbus_close(b->xb);
	return 0;
}

static void pt_raw_backend(enum rb_mode mode, bool all_on, XenbusState first, const char *why)
{
	struct rb b = {.mode = mode, .offer_all = all_on, .first_state = first};
	struct pg *g = calloc(1, sizeof(*g));

	pt_world_up(1);
	struct xenbus_device dev = pt_device(1, 51712, "disk1");
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, rb_start_fn, &b), 0);
	g->domid = 1;
	g->cfg = all_on ? pg_fe_on : pg_fe_off;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, pg_open_fn, g), 0);
	CU_ASSERT_TRUE_FATAL(pt_wait(PG_SIG_CONNECTED));
	CU_ASSERT_EQUAL(sim_domain_call(1, pg_submit_fn, g), 0);
	CU_ASSERT_TRUE(pt_wait(PG_SIG_IO));
	if (why)
		CU_ASSERT_TRUE(pt_wait(PG_SIG_FAILED));
	sim_domain_call(1, pg_close_fn, g);
	int want = mode == RB_GOOD ? 0 : -EIO;
	for (unsigned i = 0; i < PG_IOS; i++)
		CU_ASSERT_EQUAL(g->status[i], want);
	if (why) {
		CU_ASSERT_PTR_NOT_NULL(strstr(g->error, why));
		CU_ASSERT_EQUAL(g->resubmit, -EIO);          /* terminal */
		printf("  frontend reports: %s\n", g->error);
	} else {
		CU_ASSERT_STRING_EQUAL(g->error, "");
		CU_ASSERT_EQUAL(g->resubmit, -EINVAL);
	}
	sim_domain_call(0, rb_stop_fn, &b);
	xenbus_device_remove(pt_xs, &dev);
	pt_check_clean(1);
	pt_world_down();
	free(g);
}

static void pt_hostile_backend(enum rb_mode mode, bool all_on, const char *why)
{
	pt_raw_backend(mode, all_on, 0, why);
}

/* A backend that goes straight to Initialised, without InitWait. */
static void test_handshake_backend_skips_initwait(void)
{
	pt_raw_backend(RB_GOOD, false, XenbusStateInitialised, NULL);
}

/* A backend that refuses every connection: the frontend tries a bounded
 * number of times, then fails with the backend's reason. */
static void test_handshake_refused_connections_are_bounded(void)
{
	struct rb b = {.mode = RB_REFUSE};
	struct pg *g = calloc(1, sizeof(*g));

	pt_world_up(1);
	struct xenbus_device dev = pt_device(1, 51712, "disk1");
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, rb_start_fn, &b), 0);
	g->domid = 1;
	g->cfg = pg_fe_off;
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(1, pg_open_fn, g), 0);
	CU_ASSERT_TRUE(pt_wait(PG_SIG_FAILED));
	sim_domain_call(1, pg_close_fn, g);
	CU_ASSERT_PTR_NOT_NULL(strstr(g->error, "refused the connection 4 times (disk on fire)"));
	sim_domain_call(0, rb_stop_fn, &b);
	CU_ASSERT_TRUE(b.seen >= 1);   /* watch events coalesce or repeat: no exact count */
	xenbus_device_remove(pt_xs, &dev);
	pt_check_clean(1);
	pt_world_down();
	free(g);
}

static void test_hostile_backend_good_answers_pass(void)
{
	pt_hostile_backend(RB_GOOD, false, NULL);
	pt_hostile_backend(RB_GOOD, true, NULL);
}

static void test_hostile_backend_unknown_status_is_an_io_error(void)
{
	pt_hostile_backend(RB_STATUS, false, NULL);
}

static void test_hostile_backend_id_out_of_range(void)
{
	pt_hostile_backend(RB_ID_RANGE, false, "id names no slot");
	pt_hostile_backend(RB_ID_RANGE, true, "id names no slot");
}

static void test_hostile_backend_id_stale_generation(void)
{
	pt_hostile_backend(RB_ID_STALE, false, "not outstanding");
	pt_hostile_backend(RB_ID_STALE, true, "not outstanding");
}

static void test_hostile_backend_id_answered_twice(void)
{
	pt_hostile_backend(RB_ID_DUP, false, "not outstanding");
	pt_hostile_backend(RB_ID_DUP, true, "rsp_prod");   /* one request per queue there */
}

static void test_hostile_backend_wrong_operation(void)
{
	pt_hostile_backend(RB_OP, false, "operation differs");
	pt_hostile_backend(RB_OP, true, "operation differs");
}

static void test_hostile_backend_rsp_prod_past_requests(void)
{
	pt_hostile_backend(RB_RSP_PROD, false, "rsp_prod");
	pt_hostile_backend(RB_RSP_PROD, true, "rsp_prod");
}

/* ==== registration ==== */

static const struct test_case rb_handshake_cases[] = {
	TEST(test_handshake_backend_skips_initwait),
	TEST(test_handshake_refused_connections_are_bounded),
	TEST_END,
};

static const struct test_case rb_hostile_cases[] = {
	TEST(test_hostile_backend_good_answers_pass),
	TEST(test_hostile_backend_unknown_status_is_an_io_error),
	TEST(test_hostile_backend_id_out_of_range),
	TEST(test_hostile_backend_id_stale_generation),
	TEST(test_hostile_backend_id_answered_twice),
	TEST(test_hostile_backend_wrong_operation),
	TEST(test_hostile_backend_rsp_prod_past_requests),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("blkfront_handshake", NULL, pt_world_down, rb_handshake_cases);
	test_add_suite("blkfront_hostile", NULL, pt_world_down, rb_hostile_cases);
}
