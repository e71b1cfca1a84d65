/*
 * Unit suites for the block drivers' pure parts: blkback's request
 * validation and blkfront's response check, each limit at and past its bound
 * (they include the drivers' *_internal.h to reach these functions), and the
 * disk stores. The same checks under a real ring: blkproto_test.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drivers/blk/blkback_internal.h"
#include "drivers/blk/blkfront_internal.h"
#include "drivers/blk/blkstore.h"
#include "drivers/blk/blkwork.h"
#include "tests/test.h"

/* ==== blkback_req_check / blkback_segs_check ==== */

static const struct blkback_limits pt_lim = {
	.sectors = 1024, .sector_size = 512, .indirect_segs_max = 256,
	.flush = true, .barrier = true, .discard = true,
};

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

/* Header then segments, as blkback_serve does; the status. */
static int pt_check(const struct blkback_limits *lim, const blkif_request_t *req, struct blkback_req *r)
{
	const char *why;
	int st = blkback_req_check(lim, req, r, &why);

	if (st == BLKIF_RSP_OKAY && r->op != BLKIF_OP_DISCARD && !r->indirect)
		st = blkback_segs_check(lim, r, r->direct, &why);
	return st;
}

static void test_reqcheck_segment_count_bounds(void)
{
	struct blkback_req r;
	blkif_request_t q = pt_rw(BLKIF_OP_READ, 1, 0);

	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_sectors, 8);
	q.nr_segments = 11;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_sectors, 88);
	q.nr_segments = 12;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.nr_segments = 255;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.nr_segments = 0;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q = pt_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);   /* 0 only for flush and barrier */
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);
	q = pt_rw(BLKIF_OP_WRITE_BARRIER, 0, 0);
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);
	q = pt_rw(BLKIF_OP_WRITE_BARRIER, 12, 0);
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
}

static void test_reqcheck_segment_sector_bounds(void)
{
	struct blkback_req r;
	blkif_request_t q = pt_rw(BLKIF_OP_WRITE, 1, 0);

	q.seg[0].first_sect = 7;
	q.seg[0].last_sect = 7;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_sectors, 1);
	q.seg[0].last_sect = 8;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.seg[0].first_sect = 3;
	q.seg[0].last_sect = 2;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.seg[0].first_sect = 255;
	q.seg[0].last_sect = 255;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
}

static void test_reqcheck_disk_end_bounds(void)
{
	struct blkback_req r;
	blkif_request_t q = pt_rw(BLKIF_OP_READ, 2, 1024 - 16);

	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_OKAY);   /* ends exactly at the end */
	q.sector_number = 1024 - 15;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.sector_number = UINT64_MAX - 4;   /* sector + count overflows */
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
	q.sector_number = 1024;
	CU_ASSERT_EQUAL(pt_check(&pt_lim, &q, &r), BLKIF_RSP_ERROR);
}

static void test_reqcheck_4096_sector_alignment(void)
{
	struct blkback_limits lim = pt_lim;
	struct blkback_req r;
	blkif_request_t q = pt_rw(BLKIF_OP_READ, 1, 8);

	lim.sector_size = 4096;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_OKAY);
	q.sector_number = 4;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	q.sector_number = 8;
	q.seg[0].last_sect = 3;   /* half a block */
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	q.seg[0].first_sect = 4;
	q.seg[0].last_sect = 7;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
}

static void test_reqcheck_indirect_bounds(void)
{
	struct blkback_limits lim = pt_lim;
	struct blkback_req r;
	blkif_request_indirect_t ind;
	blkif_request_t q;
	const char *why;

	memset(&ind, 0, sizeof(ind));
	ind.operation = BLKIF_OP_INDIRECT;
	ind.indirect_op = BLKIF_OP_WRITE;
	ind.nr_segments = 256;
	ind.id = 77;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_OKAY);
	CU_ASSERT_TRUE(r.indirect);
	CU_ASSERT_EQUAL(r.rsp_op, BLKIF_OP_WRITE);   /* responses echo indirect_op */
	CU_ASSERT_EQUAL(r.nr_indirect_pages, 1);
	ind.nr_segments = 257;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_ERROR);
	lim.indirect_segs_max = 4096;
	ind.nr_segments = 513;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_indirect_pages, 2);
	ind.nr_segments = 4096;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_indirect_pages, 8);
	ind.nr_segments = 0;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_ERROR);
	ind.nr_segments = 8;
	ind.indirect_op = BLKIF_OP_FLUSH_DISKCACHE;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_ERROR);
	lim.indirect_segs_max = 0;
	ind.indirect_op = BLKIF_OP_READ;
	memcpy(&q, &ind, sizeof(ind));
	CU_ASSERT_EQUAL(blkback_req_check(&lim, &q, &r, &why), BLKIF_RSP_EOPNOTSUPP);
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

static void test_reqcheck_discard_bounds(void)
{
	struct blkback_limits lim = pt_lim;
	struct blkback_req r;
	blkif_request_t q = pt_discard(0, 1024);

	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_OKAY);
	CU_ASSERT_EQUAL(r.nr_sectors, 1024);
	q = pt_discard(1, 1024);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	q = pt_discard(8, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	q = pt_discard(UINT64_MAX, 2);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	lim.sector_size = 4096;
	q = pt_discard(8, 4);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	lim.discard = false;
	q = pt_discard(0, 8);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	lim.discard = true;
	lim.readonly = true;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
}

static void test_reqcheck_ops_offered_and_readonly(void)
{
	struct blkback_limits lim = pt_lim;
	struct blkback_req r;
	blkif_request_t q = pt_rw(BLKIF_OP_RESERVED_1, 1, 0);

	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	q.operation = 7;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	q.operation = 255;
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	CU_ASSERT_EQUAL(r.id, 0x1234);   /* still answerable */
	lim.flush = lim.barrier = false;
	q = pt_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	q = pt_rw(BLKIF_OP_WRITE_BARRIER, 1, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_EOPNOTSUPP);
	lim.readonly = true;
	q = pt_rw(BLKIF_OP_WRITE, 1, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
	q = pt_rw(BLKIF_OP_READ, 1, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_OKAY);
	lim.flush = true;   /* a flush is a write too */
	q = pt_rw(BLKIF_OP_FLUSH_DISKCACHE, 0, 0);
	CU_ASSERT_EQUAL(pt_check(&lim, &q, &r), BLKIF_RSP_ERROR);
}

/* ==== blkfront_rsp_check / blkfront_rsp_prod_ok ==== */

static void pt_queue(struct blkfront_queue *q, struct blkfront_shadow *sh, unsigned n)
{
	memset(q, 0, sizeof(*q));
	memset(sh, 0, n * sizeof(*sh));
	q->q_ring.nr_ents = n;
	q->q_shadow = sh;
}

static blkif_response_t pt_rsp(uint64_t id, uint8_t op)
{
	blkif_response_t r;

	memset(&r, 0, sizeof(r));
	r.id = id;
	r.operation = op;
	return r;
}

static void test_rspcheck_id_bounds(void)
{
	struct blkfront_shadow sh[32];
	struct blkfront_queue q;
	const char *why;

	pt_queue(&q, sh, 32);
	sh[31] = (struct blkfront_shadow){.sh_id = 5ull << 32 | 31, .sh_op = BLKIF_OP_READ};
	blkif_response_t r = pt_rsp(5ull << 32 | 31, BLKIF_OP_READ);
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), 0);            /* last slot */
	r.id = 5ull << 32 | 32;
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);      /* one past */
	r.id = UINT64_MAX;
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
	r.id = 5ull << 32 | 30;                                          /* free slot */
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "id is not outstanding");
	r.id = 4ull << 32 | 31;                                          /* stale generation */
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
	r.id = 0;
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
}

static void test_rspcheck_operation_must_match(void)
{
	struct blkfront_shadow sh[32];
	struct blkfront_queue q;
	const char *why;

	pt_queue(&q, sh, 32);
	/* An indirect write is answered with its indirect_op, WRITE. */
	sh[3] = (struct blkfront_shadow){.sh_id = 1ull << 32 | 3, .sh_op = BLKIF_OP_WRITE, .sh_indirect = true};
	blkif_response_t r = pt_rsp(1ull << 32 | 3, BLKIF_OP_WRITE);
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), 0);
	r.operation = BLKIF_OP_READ;
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
	r.operation = BLKIF_OP_INDIRECT;
	CU_ASSERT_EQUAL(blkfront_rsp_check(&q, &r, &why), -EPROTO);
	CU_ASSERT_STRING_EQUAL(why, "operation differs from the request's");
}

static void test_rspcheck_rsp_prod_bounds(void)
{
	blkif_front_ring_t ring = {.nr_ents = 32};

	ring.rsp_cons = 100;
	ring.req_prod_pvt = 110;   /* 10 outstanding */
	CU_ASSERT_TRUE(blkfront_rsp_prod_ok(&ring, 100));
	CU_ASSERT_TRUE(blkfront_rsp_prod_ok(&ring, 110));
	CU_ASSERT_FALSE(blkfront_rsp_prod_ok(&ring, 111));
	CU_ASSERT_FALSE(blkfront_rsp_prod_ok(&ring, 99));     /* backwards */
	CU_ASSERT_FALSE(blkfront_rsp_prod_ok(&ring, 100 + 32));
	ring.rsp_cons = UINT32_MAX - 2;   /* indices wrap */
	ring.req_prod_pvt = 5;
	CU_ASSERT_TRUE(blkfront_rsp_prod_ok(&ring, 5));
	CU_ASSERT_TRUE(blkfront_rsp_prod_ok(&ring, 1));
	CU_ASSERT_FALSE(blkfront_rsp_prod_ok(&ring, 6));
}

/* ==== the stores ==== */

static void test_store_ram_sparse_and_discard(void)
{
	struct blk_store *s;
	struct blk_store_info in;
	uint8_t buf[3 * 4096], zero[4096] = {0};

	CU_ASSERT_EQUAL_FATAL(blk_store_ram_create(1u << 30, 512, &s), 0);   /* 1 GiB costs nothing */
	blk_store_info(s, &in);
	CU_ASSERT_EQUAL(in.size_bytes, 1u << 30);
	CU_ASSERT_EQUAL(in.chunks_allocated, 0);
	memset(buf, 0xab, sizeof(buf));
	CU_ASSERT_EQUAL(blk_store_write(s, 4096 - 512, buf, sizeof(buf)), 0);   /* touches 4 chunks */
	blk_store_info(s, &in);
	CU_ASSERT_EQUAL(in.chunks_allocated, 4);
	/* Discard [4096, 12288): two whole chunks go; the edges keep their data. */
	CU_ASSERT_EQUAL(blk_store_discard(s, 4096, 8192), 0);
	blk_store_info(s, &in);
	CU_ASSERT_EQUAL(in.chunks_allocated, 2);
	CU_ASSERT_EQUAL(blk_store_read(s, 4096, buf, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(buf, zero, 4096), 0);
	CU_ASSERT_EQUAL(blk_store_read(s, 4096 - 512, buf, 512), 0);
	CU_ASSERT_EQUAL(buf[0], 0xab);
	CU_ASSERT_EQUAL(blk_store_read(s, (1u << 30) - 512, buf, 512), 0);      /* last sector */
	CU_ASSERT_EQUAL(blk_store_read(s, (1u << 30) - 512, buf, 1024), -EINVAL);
	CU_ASSERT_EQUAL(blk_store_read(s, 100, buf, 512), -EINVAL);
	CU_ASSERT_EQUAL(blk_store_resize(s, 4096), 0);                          /* shrink drops data */
	CU_ASSERT_EQUAL(blk_store_resize(s, 1u << 20), 0);
	CU_ASSERT_EQUAL(blk_store_read(s, 8192 + 4096, buf, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(buf, zero, 4096), 0);
	blk_store_put(s);
}

static void test_store_file_punch_and_readonly(void)
{
	char path[] = "/tmp/xensim-store-XXXXXX";
	int fd = mkstemp(path);
	struct blk_store *s, *ro;
	uint8_t buf[8192], zero[4096] = {0};

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL_FATAL(blk_store_file_open(path, 4096, false, 1u << 20, &s), 0);
	memset(buf, 0x5a, sizeof(buf));
	CU_ASSERT_EQUAL(blk_store_write(s, 0, buf, sizeof(buf)), 0);
	CU_ASSERT_EQUAL(blk_store_write(s, 512, buf, 4096), -EINVAL);   /* 4 KiB sectors */
	CU_ASSERT_EQUAL(blk_store_flush(s), 0);
	CU_ASSERT_EQUAL(blk_store_discard(s, 4096, 4096), 0);
	CU_ASSERT_EQUAL(blk_store_read(s, 4096, buf, 4096), 0);
	CU_ASSERT_EQUAL(memcmp(buf, zero, 4096), 0);
	CU_ASSERT_EQUAL_FATAL(blk_store_file_open(path, 512, true, 0, &ro), 0);
	CU_ASSERT_EQUAL(blk_store_write(ro, 0, buf, 512), -EROFS);
	CU_ASSERT_EQUAL(blk_store_read(ro, 0, buf, 512), 0);
	CU_ASSERT_EQUAL(buf[0], 0x5a);
	blk_store_put(ro);
	blk_store_put(s);
	unlink(path);
}

static const struct test_case ut_reqcheck_cases[] = {
	TEST(test_reqcheck_segment_count_bounds),
	TEST(test_reqcheck_segment_sector_bounds),
	TEST(test_reqcheck_disk_end_bounds),
	TEST(test_reqcheck_4096_sector_alignment),
	TEST(test_reqcheck_indirect_bounds),
	TEST(test_reqcheck_discard_bounds),
	TEST(test_reqcheck_ops_offered_and_readonly),
	TEST_END,
};

static const struct test_case ut_rspcheck_cases[] = {
	TEST(test_rspcheck_id_bounds),
	TEST(test_rspcheck_operation_must_match),
	TEST(test_rspcheck_rsp_prod_bounds),
	TEST_END,
};

/* ---- the verified workload's data ---- */

/* Each block's content tells it from another block, another write of it,
 * another run, and from itself moved by a word: every word differs from
 * the word at the same place in the others, and from its neighbours. */
static void test_pattern_tells_blocks_apart(void)
{
	enum { WORDS = 4096 / 8 };
	static uint64_t p[5][WORDS];
	const uint64_t key[5][3] = {{7, 1, 100}, {7, 1, 101}, {7, 2, 100}, {8, 1, 100}, {7, 1, 100ull << 24}};
	unsigned same = 0, near = 0, zero = 0;

	for (unsigned i = 0; i < 5; i++)
		blkwork_pattern(key[i][0], (uint32_t)key[i][1], key[i][2], 4096, p[i]);
	for (unsigned k = 0; k < WORDS; k++) {
		for (unsigned i = 0; i < 5; i++) {
			zero += p[i][k] == 0;
			near += k + 1 < WORDS && p[i][k] == p[i][k + 1];
			for (unsigned j = i + 1; j < 5; j++)
				same += p[i][k] == p[j][k];
		}
	}
	CU_ASSERT_EQUAL(same, 0);
	CU_ASSERT_EQUAL(near, 0);
	CU_ASSERT_EQUAL(zero, 0);
	uint64_t again[WORDS];
	blkwork_pattern(7, 1, 100, 4096, again);
	CU_ASSERT_EQUAL(memcmp(again, p[0], sizeof(again)), 0);   /* and is the same each time */
}

static const struct test_case ut_pattern_cases[] = {
	TEST(test_pattern_tells_blocks_apart),
	TEST_END,
};

static const struct test_case ut_store_cases[] = {
	TEST(test_store_ram_sparse_and_discard),
	TEST(test_store_file_punch_and_readonly),
	TEST_END,
};

void test_register(void)
{
	test_add_suite("blkback_reqcheck", NULL, NULL, ut_reqcheck_cases);
	test_add_suite("blkfront_rspcheck", NULL, NULL, ut_rspcheck_cases);
	test_add_suite("blk_store", NULL, NULL, ut_store_cases);
	test_add_suite("blk_pattern", NULL, NULL, ut_pattern_cases);
}
