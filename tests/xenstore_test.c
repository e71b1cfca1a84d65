/*
 * CUnit tests of sim/xenstore: the store, its dispatcher (raw xs_wire
 * messages) and the in-process xs_* API of <xenstore.h>: paths, permissions,
 * quotas, transactions. Identities come from sim domains: a handle opened
 * after sim_thread_enter(d) acts for domain d. Watches, domains, the API's
 * edges and the fault sites are in xenstore_watch_test.c.
 */
#include <pthread.h>
#include <stdio.h>

#include "tests/xs_fixture.h"

/* ==== xenstore_paths ==== */

static void path_relative_resolves_under_home(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	CU_ASSERT(wr(h5, 0, "data/x", "1"));
	CU_ASSERT(rd_is(h0, 0, "/local/domain/5/data/x", "1") == 0);
	CU_ASSERT(rd_is(h5, 0, "data/x", "1") == 0);
	/* dom0's relative paths are under /local/domain/0 (test-xenstore uses that) */
	CU_ASSERT(wr(h0, 0, "t/y", "2"));
	CU_ASSERT(rd_is(h0, 0, "/local/domain/0/t/y", "2") == 0);
	end();
}

static void path_invalid_einval(void)
{
	static const char *bad[] = {"", "/a//b", "/a/", "//", "/a b", "/a.b", "/a\n", "@special",
				    "rel/", "/a:b"};

	begin();
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CU_ASSERT(!wr(h0, 0, bad[i], "v") && errno == EINVAL);
		CU_ASSERT(rd_err(h0, bad[i]) == EINVAL);
		CU_ASSERT(!xs_mkdir(h0, 0, bad[i]) && errno == EINVAL);
	}
	CU_ASSERT(xs_store_nodes_total() == 4);
	end();
}

static void path_length_limits(void)
{
	char p[XENSTORE_ABS_PATH_MAX + 2];

	begin();
	memset(p, 'a', sizeof(p));
	p[0] = '/';
	p[XENSTORE_ABS_PATH_MAX] = '\0';                 /* 3072 bytes: the limit */
	CU_ASSERT(wr(h0, 0, p, "v"));
	p[XENSTORE_ABS_PATH_MAX] = 'a';
	p[XENSTORE_ABS_PATH_MAX + 1] = '\0';             /* 3073: one past */
	CU_ASSERT(!wr(h0, 0, p, "v") && errno == EINVAL);
	memset(p, 'r', sizeof(p));
	p[XENSTORE_REL_PATH_MAX] = '\0';                 /* relative: 2048 */
	CU_ASSERT(wr(h0, 0, p, "v"));
	p[XENSTORE_REL_PATH_MAX] = 'r';
	p[XENSTORE_REL_PATH_MAX + 1] = '\0';
	CU_ASSERT(!wr(h0, 0, p, "v") && errno == EINVAL);
	end();
}

static void path_rm_rules(void)
{
	begin();
	CU_ASSERT(wr(h0, 0, "/r/a/b", "x"));
	CU_ASSERT(!xs_rm(h0, 0, "/") && errno == EINVAL);
	CU_ASSERT(xs_rm(h0, 0, "/r/missing"));            /* its parent exists: fine */
	CU_ASSERT(!xs_rm(h0, 0, "/r/nope/missing") && errno == ENOENT);
	CU_ASSERT(xs_rm(h0, 0, "/r"));                    /* recursive */
	CU_ASSERT(rd_err(h0, "/r/a/b") == ENOENT && rd_err(h0, "/r") == ENOENT);
	CU_ASSERT(xs_store_nodes_total() == 4 && xs_store_nodes_owned(0) == 4);
	end();
}

static void path_write_creates_parents_empty(void)
{
	unsigned n = 0;
	char **dir;

	begin();
	CU_ASSERT(wr(h0, 0, "/c/d/e", "v"));
	CU_ASSERT(rd_is(h0, 0, "/c", "") == 0 && rd_is(h0, 0, "/c/d", "") == 0);
	dir = xs_directory(h0, 0, "/c", &n);
	CU_ASSERT(dir && n == 1 && strcmp(dir[0], "d") == 0);
	free(dir);
	CU_ASSERT(xs_mkdir(h0, 0, "/c/d/e"));             /* exists: fine, value kept */
	CU_ASSERT(rd_is(h0, 0, "/c/d/e", "v") == 0);
	CU_ASSERT(xs_write(h0, 0, "/c/d/e", "", 0));      /* an empty value */
	CU_ASSERT(rd_is(h0, 0, "/c/d/e", "") == 0);
	CU_ASSERT(xs_write(h0, 0, "/c/bin", "a\0b", 3));  /* binary, no trailing NUL */
	CU_ASSERT(rd_is(h0, 0, "/c/bin", "a") == -1);
	end();
}

static void path_directory_order_and_parts(void)
{
	enum { N = 300 };
	char path[64];
	unsigned n = 0;
	char **dir;
	bool ordered = true;

	begin();
	for (int i = N - 1; i >= 0; i--) {   /* created in reverse: order is creation order */
		snprintf(path, sizeof(path), "/big/child-%04d-abcdefgh", i);
		CU_ASSERT_FATAL(xs_mkdir(h0, 0, path));
	}
	dir = xs_directory(h0, 0, "/big", &n);   /* > 4096 bytes: DIRECTORY_PART */
	CU_ASSERT_FATAL(dir && n == N);
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "child-%04d-abcdefgh", N - 1 - i);
		ordered = ordered && strcmp(dir[i], path) == 0;
	}
	CU_ASSERT(ordered);
	free(dir);
	end();
}

/* ==== xenstore_perms ==== */

/* /m (dom0's, "n0") holds /m/x owned by domain 6; what domain 5 may do with
 * each kind of entry, and with the default entry. */
static void perms_matrix_other_domain(void)
{
	static const struct {
		const char *perms;
		bool r, w;
	} cases[] = {
		{"n6 n5", false, false}, {"n6 r5", true, false}, {"n6 w5", false, true},
		{"n6 b5", true, true}, {"r6", true, false}, {"b6 n5", false, false},
		{"n6 r7", false, false}, {"w6 r5", true, false},
	};
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	dom_make(6, false);
	dom_make(7, false);
	h5 = open_as(5);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool r = cases[i].r, w = cases[i].w;
		unsigned n;
		char **dir;
		struct xs_permissions *p;

		xs_rm(h0, 0, "/m");
		CU_ASSERT_FATAL(wr(h0, 0, "/m/x/c", "c") && wr(h0, 0, "/m/x", "v"));
		CU_ASSERT_FATAL(perms_set(h0, "/m/x", cases[i].perms) == 0);
		CU_ASSERT_FATAL(xs_watch(h5, "/m/x", "t"));
		CU_ASSERT(ev_is(h5, "/m/x", "t"));        /* the first event, always */
		CU_ASSERT(rd_err(h5, "/m/x") == (r ? 0 : EACCES));
		dir = xs_directory(h5, 0, "/m/x", &n);
		CU_ASSERT((dir != NULL) == r);
		free(dir);
		p = xs_get_permissions(h5, 0, "/m/x", &n);
		CU_ASSERT((p != NULL) == r);
		free(p);
		CU_ASSERT(wr(h0, 0, "/m/x", "v2"));       /* visible only if readable */
		CU_ASSERT(r ? ev_is(h5, "/m/x", "t") : ev_none(h5));
		CU_ASSERT(ok_or_errno(wr(h5, 0, "/m/x", "w")) == (w ? 0 : EACCES));
		CU_ASSERT(ok_or_errno(xs_mkdir(h5, 0, "/m/x/sub")) == (w ? 0 : EACCES));
		CU_ASSERT(perms_set(h5, "/m/x", "n5") == EACCES);   /* only the owner */
		ev_drain(h5);
		CU_ASSERT(ok_or_errno(xs_rm(h5, 0, "/m/x")) == (w ? 0 : EACCES));
		CU_ASSERT(xs_unwatch(h5, "/m/x", "t"));
		ev_drain(h5);
	}
	end();
}

static void perms_dom0_owner_privileged(void)
{
	struct xs_handle *h5, *h6, *h8;

	begin();
	dom_make(5, false);
	dom_make(6, false);
	dom_make(8, true);
	h5 = open_as(5);
	h6 = open_as(6);
	h8 = open_as(8);
	CU_ASSERT(wr(h0, 0, "/o", "v") && perms_set(h0, "/o", "n6") == 0);
	CU_ASSERT(rd_is(h6, 0, "/o", "v") == 0 && wr(h6, 0, "/o", "w"));
	CU_ASSERT(perms_set(h6, "/o", "n6 r5") == 0);           /* owner may */
	CU_ASSERT(perms_set(h6, "/o", "n5") == EPERM);          /* but not give it away */
	CU_ASSERT(rd_is(h5, 0, "/o", "w") == 0);
	CU_ASSERT(rd_is(h8, 0, "/o", "w") == 0 && wr(h8, 0, "/o", "p"));   /* privileged */
	CU_ASSERT(perms_set(h8, "/o", "n5") == 0);
	CU_ASSERT(strcmp(perms_get(h0, "/o"), "n5") == 0);
	CU_ASSERT(xs_store_nodes_owned(5) == 1 && xs_store_nodes_owned(6) == 0);
	CU_ASSERT(xs_rm(h0, 0, "/o"));
	end();
}

static void perms_created_nodes_owned_and_inherited(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT(xs_mkdir(h0, 0, "/p") && perms_set(h0, "/p", "r0 b5") == 0);
	CU_ASSERT(wr(h5, 0, "/p/q/r", "v"));
	CU_ASSERT(strcmp(perms_get(h0, "/p/q"), "r5 b5") == 0);
	CU_ASSERT(strcmp(perms_get(h0, "/p/q/r"), "r5 b5") == 0);
	CU_ASSERT(xs_store_nodes_owned(5) == 2);
	CU_ASSERT(wr(h0, 0, "/p/q/s", "d"));                   /* dom0 inherits the owner */
	CU_ASSERT(strcmp(perms_get(h0, "/p/q/s"), "r5 b5") == 0);
	CU_ASSERT(xs_store_nodes_owned(5) == 3);
	end();
}

static void perms_missing_enoent_or_eacces(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT(xs_mkdir(h0, 0, "/s") && xs_mkdir(h0, 0, "/t") && xs_mkdir(h0, 0, "/u"));
	CU_ASSERT(perms_set(h0, "/t", "r0") == 0 && perms_set(h0, "/u", "w0") == 0);
	CU_ASSERT(rd_err(h5, "/s") == EACCES && rd_err(h5, "/s/missing/deeper") == EACCES);
	CU_ASSERT(rd_err(h5, "/t/missing") == ENOENT);
	CU_ASSERT(!wr(h5, 0, "/t/new", "v") && errno == EACCES);
	CU_ASSERT(wr(h5, 0, "/u/new/deep", "v"));              /* write-only parent */
	CU_ASSERT(strcmp(perms_get(h0, "/u/new/deep"), "w5") == 0);
	CU_ASSERT(!xs_rm(h5, 0, "/s/gone") && errno == EACCES);
	end();
}

/* The root has no ancestor to decide ENOENT or EACCES by: its own perms do
 * (this aborted the store; found by fuzz_xs_wire). */
static void perms_root_refused_to_guest(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT(rd_err(h5, "/") == EACCES);
	CU_ASSERT(!wr(h5, 0, "/", "v") && errno == EACCES);
	CU_ASSERT(!xs_rm(h5, 0, "/") && (errno == EACCES || errno == EINVAL));
	CU_ASSERT(rd_err(h0, "/") == 0);
	end();
}

static void perms_set_perms_validation(void)
{
	struct raw r = {0};
	struct xs_handle *h99;
	struct xs_permissions bad = {.id = 0, .perms = 0x40};

	begin();
	r.c = xs_conn_new(0, raw_deliver, &r);
	CU_ASSERT(wr(h0, 0, "/v", "x"));
	CU_ASSERT(raw_req(&r, XS_SET_PERMS, 1, 0, "/v\0x5", 6) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_SET_PERMS, 2, 0, "/v\0r", 5) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_SET_PERMS, 3, 0, "/v", 3) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_SET_PERMS, 4, 0, "/v\0n99", 7) == 0 && raw_error_is(&r, "ENOENT"));
	CU_ASSERT(!xs_set_permissions(h0, 0, "/v", &bad, 1) && errno == EINVAL);
	CU_ASSERT(strcmp(perms_get(h0, "/v"), "n0") == 0);     /* unchanged */
	/* naming a domain that does not exist: kept, but never honoured */
	CU_ASSERT(perms_set(h0, "/v", "n0 r99") == 0);
	CU_ASSERT(strcmp(perms_get(h0, "/v"), "n0 r99") == 0);
	dom_make(99, false);
	h99 = open_as(99);
	CU_ASSERT(rd_err(h99, "/v") == EACCES);
	xs_conn_free(r.c);
	end();
}

/* ==== xenstore_quota ==== */

static void quota_nodes_at_limit_and_past(void)
{
	struct xs_handle *h5;
	unsigned total;

	begin();
	dom_make(5, false);
	home(5);                                   /* domain 5 owns 1 node */
	h5 = open_as(5);
	CU_ASSERT_FATAL(xs_quota_set("nodes", 4) == 0);
	CU_ASSERT(wr(h5, 0, "a", "1") && wr(h5, 0, "b", "2"));
	total = xs_store_nodes_total();
	CU_ASSERT(!wr(h5, 0, "c/d", "3") && errno == ENOSPC);   /* needs 2, 1 left */
	CU_ASSERT(xs_store_nodes_total() == total && rd_err(h5, "c") == ENOENT);
	CU_ASSERT(wr(h5, 0, "c", "3"));                          /* exactly at the limit */
	CU_ASSERT(xs_store_nodes_owned(5) == 4);
	CU_ASSERT(!xs_mkdir(h5, 0, "e") && errno == ENOSPC);
	CU_ASSERT(wr(h5, 0, "a", "changed"));                    /* no new node: fine */
	CU_ASSERT(xs_rm(h5, 0, "a") && wr(h5, 0, "e", "5"));
	CU_ASSERT(wr(h0, 0, "/local/domain/5/f", "dom0"));      /* dom0 is not limited */
	CU_ASSERT(xs_store_nodes_owned(5) == 5);
	CU_ASSERT(xs_quota_set("no-such-quota", 1) == -ENOENT);
	end();
}

static void quota_nodes_in_transactions(void)
{
	struct xs_handle *h5;
	xs_transaction_t t, t1, t2;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	CU_ASSERT_FATAL(xs_quota_set("nodes", 4) == 0);
	t = xs_transaction_start(h5);
	CU_ASSERT_FATAL(t != XBT_NULL);
	CU_ASSERT(wr(h5, t, "a", "") && wr(h5, t, "b", "") && wr(h5, t, "c", ""));
	CU_ASSERT(!wr(h5, t, "d", "") && errno == ENOSPC);
	CU_ASSERT(xs_store_nodes_owned(5) == 1);                 /* nothing until commit */
	CU_ASSERT(xs_transaction_end(h5, t, false));
	CU_ASSERT(xs_store_nodes_owned(5) == 4);
	CU_ASSERT(xs_rm(h5, 0, "c"));
	CU_ASSERT_FATAL(xs_quota_set("nodes", 6) == 0);
	/* each fits alone, not both: the second commit is refused, whole (under
	 * different parents, so that they do not conflict) */
	t1 = xs_transaction_start(h5);
	t2 = xs_transaction_start(h5);
	CU_ASSERT(wr(h5, t1, "a/x", "") && wr(h5, t1, "a/y", ""));
	CU_ASSERT(wr(h5, t2, "b/p", "") && wr(h5, t2, "b/q", ""));
	CU_ASSERT(xs_transaction_end(h5, t1, false));
	CU_ASSERT(!xs_transaction_end(h5, t2, false) && errno == ENOSPC);
	CU_ASSERT(xs_store_nodes_owned(5) == 5 && rd_err(h5, "b/p") == ENOENT);
	/* under one parent they conflict first */
	t1 = xs_transaction_start(h5);
	t2 = xs_transaction_start(h5);
	CU_ASSERT(wr(h5, t1, "a/z", "") && wr(h5, t2, "a/w", ""));
	CU_ASSERT(xs_transaction_end(h5, t1, false));
	CU_ASSERT(!xs_transaction_end(h5, t2, false) && errno == EAGAIN);
	end();
}

static void quota_watches(void)
{
	struct xs_handle *h5;
	char tok[16];

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT_FATAL(xs_quota_set("watches", 3) == 0);
	for (int i = 0; i < 3; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		CU_ASSERT(xs_watch(h5, "/w", tok));
	}
	CU_ASSERT(!xs_watch(h5, "/w", "t3") && errno == E2BIG);
	CU_ASSERT(ev_drain(h5) == 3);
	for (int i = 0; i < 5; i++) {
		snprintf(tok, sizeof(tok), "t%d", i);
		CU_ASSERT(xs_watch(h0, "/w", tok));              /* dom0 is not limited */
	}
	CU_ASSERT(xs_unwatch(h5, "/w", "t0") && xs_watch(h5, "/w", "t3"));
	end();
}

static void quota_transactions(void)
{
	struct xs_handle *h5;
	xs_transaction_t t[3];

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT_FATAL(xs_quota_set("transactions", 2) == 0);
	t[0] = xs_transaction_start(h5);
	t[1] = xs_transaction_start(h5);
	CU_ASSERT(t[0] != XBT_NULL && t[1] != XBT_NULL && t[0] != t[1]);
	t[2] = xs_transaction_start(h5);
	CU_ASSERT(t[2] == XBT_NULL && errno == ENOSPC);
	CU_ASSERT(xs_transaction_end(h5, t[0], true));
	t[2] = xs_transaction_start(h5);
	CU_ASSERT(t[2] != XBT_NULL);
	for (int i = 0; i < 3; i++)
		CU_ASSERT(xs_transaction_start(h0) != XBT_NULL);   /* dom0 is not limited */
	end();
}

static void quota_value_bytes(void)
{
	static char big[3001];
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	memset(big, 'v', sizeof(big) - 1);
	CU_ASSERT(xs_write(h5, 0, "k", big, 2048));              /* the default limit */
	CU_ASSERT(!xs_write(h5, 0, "k", "x", 0) || true);
	CU_ASSERT(xs_write(h5, 0, "k", "old", 3));
	CU_ASSERT(!xs_write(h5, 0, "k", big, 2049) && errno == ENOSPC);
	CU_ASSERT(rd_is(h5, 0, "k", "old") == 0);                /* untouched */
	CU_ASSERT(!xs_write(h5, 0, "new", big, 2049) && errno == ENOSPC);
	CU_ASSERT(rd_err(h5, "new") == ENOENT);
	CU_ASSERT_FATAL(xs_quota_set("value_bytes", 10) == 0);
	CU_ASSERT(xs_write(h5, 0, "k", big, 10));
	CU_ASSERT(!xs_write(h5, 0, "k", big, 11) && errno == ENOSPC);
	CU_ASSERT(xs_write(h0, 0, "/local/domain/5/k", big, 3000));   /* dom0: no limit */
	end();
}

static void quota_perms(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	dom_make(6, false);
	home(5);
	h5 = open_as(5);
	CU_ASSERT(wr(h5, 0, "p", "v"));
	CU_ASSERT(perms_set(h5, "p", "n5 r0 r6 w6 b0") == 0);          /* 5 entries */
	CU_ASSERT(perms_set(h5, "p", "n5 r0 r6 w6 b0 n6") == ENOSPC);  /* 6 */
	CU_ASSERT(strcmp(perms_get(h5, "p"), "n5 r0 r6 w6 b0") == 0);
	CU_ASSERT(perms_set(h0, "/local/domain/5/p", "n5 r0 r6 w6 b0 n6 r6") == 0);
	end();
}

static void quota_pending_events(void)
{
	struct xs_store_stats before, after;
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	CU_ASSERT_FATAL(xs_quota_set("events", 3) == 0);
	CU_ASSERT(xs_watch(h5, "/local/domain/5", "t"));         /* 1 pending */
	xs_store_stats_get(&before);
	for (int i = 0; i < 4; i++)
		CU_ASSERT(wr(h0, 0, "/local/domain/5/k", "v"));   /* 2 fit, 2 dropped */
	xs_store_stats_get(&after);
	CU_ASSERT(after.events_dropped - before.events_dropped == 2);
	CU_ASSERT(ev_drain(h5) == 3);
	CU_ASSERT(wr(h0, 0, "/local/domain/5/k", "again"));     /* room again */
	CU_ASSERT(ev_is(h5, "/local/domain/5/k", "t"));
	end();
}

/* ==== xenstore_tx ==== */

/* test-xenstore's "ta err": the transaction keeps seeing what it read. */
static void tx_snapshot_then_conflict(void)
{
	xs_transaction_t t;

	begin();
	CU_ASSERT(wr(h0, 0, "/x", "a"));
	t = xs_transaction_start(h0);
	CU_ASSERT_FATAL(t != XBT_NULL);
	CU_ASSERT(rd_is(h0, t, "/x", "a") == 0);
	CU_ASSERT(wr(h0, 0, "/x", "b"));
	CU_ASSERT(rd_is(h0, t, "/x", "a") == 0);
	CU_ASSERT(wr(h0, t, "/x", "c") && rd_is(h0, t, "/x", "c") == 0);
	CU_ASSERT(rd_is(h0, 0, "/x", "b") == 0);
	CU_ASSERT(!xs_transaction_end(h0, t, false) && errno == EAGAIN);
	CU_ASSERT(rd_is(h0, 0, "/x", "b") == 0);
	CU_ASSERT(rd_err(h0, "/x") == 0 && !xs_transaction_end(h0, t, false) && errno == ENOENT);
	end();
}

static void tx_commit_without_conflict(void)
{
	xs_transaction_t t;

	begin();
	CU_ASSERT(wr(h0, 0, "/d/a", "1") && wr(h0, 0, "/d/b", "1"));
	t = xs_transaction_start(h0);
	CU_ASSERT(rd_is(h0, t, "/d/a", "1") == 0 && wr(h0, t, "/d/a", "2"));
	CU_ASSERT(wr(h0, 0, "/d/b", "other"));    /* untouched by t: no conflict */
	CU_ASSERT(wr(h0, t, "/e/new/deep", "n"));
	CU_ASSERT(xs_transaction_end(h0, t, false));
	CU_ASSERT(rd_is(h0, 0, "/d/a", "2") == 0 && rd_is(h0, 0, "/e/new/deep", "n") == 0);
	CU_ASSERT(rd_is(h0, 0, "/d/b", "other") == 0);
	end();
}

static void tx_abort_discards(void)
{
	xs_transaction_t t;
	unsigned total;

	begin();
	CU_ASSERT(wr(h0, 0, "/k", "keep"));
	CU_ASSERT(xs_watch(h0, "/", "all") && ev_is(h0, "/", "all"));
	total = xs_store_nodes_total();
	t = xs_transaction_start(h0);
	CU_ASSERT(wr(h0, t, "/k", "changed") && wr(h0, t, "/n/m", "new") && xs_rm(h0, t, "/tool"));
	CU_ASSERT(xs_transaction_end(h0, t, true));
	CU_ASSERT(rd_is(h0, 0, "/k", "keep") == 0 && rd_err(h0, "/n") == ENOENT);
	CU_ASSERT(rd_err(h0, "/tool") == 0 && xs_store_nodes_total() == total);
	CU_ASSERT(ev_none(h0));
	end();
}

/* A commit after one of the transaction's own changes was refused publishes
 * half an update: counted and described; an abort, or an RM of a node
 * already gone (a no-op), is not. */
static void tx_partial_commit_counted(void)
{
	struct xs_store_stats st;
	struct xs_handle *h5;
	char last[256];
	xs_transaction_t t;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	t = xs_transaction_start(h5);
	CU_ASSERT(wr(h5, t, "a", "1") && xs_rm(h5, t, "gone/below") == false && errno == ENOENT);
	CU_ASSERT(xs_transaction_end(h5, t, false));
	t = xs_transaction_start(h5);
	CU_ASSERT(wr(h5, t, "b", "1") && !wr(h5, t, "/tool/x", "no") && errno == EACCES);
	CU_ASSERT(xs_transaction_end(h5, t, true));
	xs_store_stats_get(&st);
	CU_ASSERT_EQUAL(st.partial_commits, 0);
	t = xs_transaction_start(h5);
	CU_ASSERT(wr(h5, t, "c", "1") && !wr(h5, t, "/tool/x", "no") && errno == EACCES);
	CU_ASSERT(xs_transaction_end(h5, t, false));   /* xenstored commits it, as Xen's */
	CU_ASSERT(rd_is(h0, 0, "/local/domain/5/c", "1") == 0);
	xs_store_stats_get(&st);
	CU_ASSERT_EQUAL(st.partial_commits, 1);
	xs_store_partial_last(last, sizeof(last));
	CU_ASSERT_STRING_EQUAL(last, "domain 5 committed transaction 3 after its WRITE of /tool/x failed (EACCES)");
	end();
}

static void tx_events_released_at_commit(void)
{
	struct xs_handle *hw;
	xs_transaction_t t;

	begin();
	hw = open_as(0);
	CU_ASSERT(wr(h0, 0, "/ev/gone/below", "x"));
	CU_ASSERT(xs_watch(hw, "/ev", "w") && ev_is(hw, "/ev", "w"));
	t = xs_transaction_start(h0);
	CU_ASSERT(wr(h0, t, "/ev/a", "1") && xs_rm(h0, t, "/ev/gone"));
	CU_ASSERT(rd_err(h0, "/ev/gone") == 0);                 /* outside: still there */
	CU_ASSERT(ev_none(hw));
	CU_ASSERT(xs_transaction_end(h0, t, false));
	CU_ASSERT(ev_is(hw, "/ev/a", "w"));
	CU_ASSERT(ev_is(hw, "/ev/gone", "w"));     /* the top of the removal only */
	CU_ASSERT(ev_none(hw));
	end();
}

static void tx_conflict_on_child_added_to_removed(void)
{
	xs_transaction_t t;

	begin();
	CU_ASSERT(wr(h0, 0, "/rm/a", "1"));
	t = xs_transaction_start(h0);
	CU_ASSERT(xs_rm(h0, t, "/rm") && rd_err(h0, "/rm/a") == 0);
	CU_ASSERT(wr(h0, 0, "/rm/b", "2"));
	CU_ASSERT(!xs_transaction_end(h0, t, false) && errno == EAGAIN);
	CU_ASSERT(rd_is(h0, 0, "/rm/b", "2") == 0 && rd_is(h0, 0, "/rm/a", "1") == 0);
	end();
}

/* A transaction's snapshot is older than the live tree: what it lists may
 * be gone since. Three ways the store once broke on that (each found by
 * fuzz_xs_wire, its input kept in fuzz/corpus/fuzz_xs_wire/ops-tx-*): an
 * RM inside whose subtree lists a child removed outside aborted the store;
 * an RM inside of a node whose parent was removed outside dereferenced
 * NULL; a node the transaction made again, still listed in its snapshot of
 * the parent, was listed twice. The first two cannot commit: EAGAIN. */
static void tx_rm_snapshot_child_gone(void)
{
	xs_transaction_t t;

	begin();
	CU_ASSERT(wr(h0, 0, "/h/b", "1"));
	t = xs_transaction_start(h0);
	CU_ASSERT(wr(h0, t, "/h/x", "2"));          /* /h, listing b, in its view */
	CU_ASSERT(xs_rm(h0, 0, "/h/b"));
	CU_ASSERT(!xs_rm(h0, t, "/h") && errno == EAGAIN);
	CU_ASSERT(!xs_transaction_end(h0, t, false) && errno == EAGAIN);
	CU_ASSERT(rd_err(h0, "/h") == 0 && rd_err(h0, "/h/x") == ENOENT);
	end();
}

static void tx_rm_parent_gone(void)
{
	xs_transaction_t t;

	begin();
	CU_ASSERT(wr(h0, 0, "/p/c", "1"));
	t = xs_transaction_start(h0);
	CU_ASSERT(rd_is(h0, t, "/p/c", "1") == 0);  /* /p/c in its view, /p not */
	CU_ASSERT(xs_rm(h0, 0, "/p"));
	CU_ASSERT(!xs_rm(h0, t, "/p/c") && errno == EAGAIN);
	CU_ASSERT(!xs_transaction_end(h0, t, false) && errno == EAGAIN);
	CU_ASSERT(rd_err(h0, "/p") == ENOENT);
	end();
}

static void tx_remade_child_listed_once(void)
{
	xs_transaction_t t;
	unsigned num = 0;
	char **names;

	begin();
	CU_ASSERT(wr(h0, 0, "/q/k", "1"));
	t = xs_transaction_start(h0);
	CU_ASSERT(wr(h0, t, "/q/other", "2"));      /* /q, listing k, in its view */
	CU_ASSERT(xs_rm(h0, 0, "/q/k"));
	CU_ASSERT(wr(h0, t, "/q/k", "again"));
	names = xs_directory(h0, t, "/q", &num);
	CU_ASSERT_FATAL(names != NULL);
	CU_ASSERT_EQUAL(num, 2);
	CU_ASSERT(num == 2 && strcmp(names[0], names[1]) != 0);
	free(names);
	CU_ASSERT(xs_rm(h0, t, "/q"));              /* its subtree walk sees k once */
	CU_ASSERT(xs_transaction_end(h0, t, true));
	end();
}

static void tx_protocol_errors(void)
{
	struct raw r = {0};
	uint32_t id;

	begin();
	r.c = xs_conn_new(0, raw_deliver, &r);
	CU_ASSERT(!wr(h0, 12345, "/a", "x") && errno == ENOENT);       /* unknown id */
	CU_ASSERT(!xs_transaction_end(h0, 12345, false) && errno == ENOENT);
	CU_ASSERT(raw_req(&r, XS_TRANSACTION_START, 1, 0, "", 1) == 0 &&
		  r.hdr.type == XS_TRANSACTION_START);
	id = (uint32_t)strtoul(r.body, NULL, 10);
	CU_ASSERT(id > 0 && r.hdr.len == strlen(r.body) + 1);
	CU_ASSERT(raw_req(&r, XS_TRANSACTION_START, 2, id, "", 1) == 0 &&
		  raw_error_is(&r, "EBUSY"));                           /* no nesting */
	CU_ASSERT(raw_req(&r, XS_TRANSACTION_END, 3, id, "X", 2) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_TRANSACTION_END, 4, 0, "T", 2) == 0 && raw_error_is(&r, "ENOENT"));
	CU_ASSERT(raw_req(&r, XS_READ, 5, id, "/tool", 6) == 0 && r.hdr.type == XS_READ &&
		  r.hdr.tx_id == id);
	CU_ASSERT(raw_req(&r, XS_TRANSACTION_END, 6, id, "F", 2) == 0 &&
		  r.hdr.type == XS_TRANSACTION_END && strcmp(r.body, "OK") == 0);
	CU_ASSERT(raw_req(&r, XS_READ, 7, id, "/tool", 6) == 0 && raw_error_is(&r, "ENOENT"));
	xs_conn_free(r.c);
	end();
}

/* Threads of several domains add to one counter in transactions, retrying
 * on EAGAIN: the total is exactly what the commits say. */
#define COUNTER_THREADS 6
#define COUNTER_ADDS 40

struct counter_arg {
	domid_t domid;
	atomic_int *commits, *failures;
};

static void *counter_thread(void *p)
{
	struct counter_arg *a = p;
	struct xs_handle *h;
	char v[16];

	if (sim_thread_enter(a->domid) != 0 || !(h = xs_open(0))) {
		atomic_fetch_add(a->failures, 1);
		return NULL;
	}
	sim_thread_leave();
	for (int i = 0; i < COUNTER_ADDS;) {
		xs_transaction_t t = xs_transaction_start(h);
		unsigned len;
		char *cur = xs_read(h, t, "/counter", &len);

		snprintf(v, sizeof(v), "%d", (cur ? atoi(cur) : -1000) + 1);
		free(cur);
		if (wr(h, t, "/counter", v) && xs_transaction_end(h, t, false)) {
			atomic_fetch_add(a->commits, 1);
			i++;
		} else if (errno != EAGAIN) {
			atomic_fetch_add(a->failures, 1);
			break;
		}
	}
	xs_close(h);
	return NULL;
}

static void tx_concurrent_counter_serializable(void)
{
	pthread_t th[COUNTER_THREADS];
	struct counter_arg a[COUNTER_THREADS];
	atomic_int commits = 0, failures = 0;

	begin();
	for (int d = 1; d <= 3; d++)
		dom_make(d, false);
	CU_ASSERT(wr(h0, 0, "/counter", "0") && perms_set(h0, "/counter", "b0") == 0);
	for (int i = 0; i < COUNTER_THREADS; i++) {
		a[i] = (struct counter_arg){.domid = (domid_t)(i % 4), .commits = &commits,
					    .failures = &failures};
		CU_ASSERT_FATAL(pthread_create(&th[i], NULL, counter_thread, &a[i]) == 0);
	}
	for (int i = 0; i < COUNTER_THREADS; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT(atomic_load(&failures) == 0);
	CU_ASSERT(atomic_load(&commits) == COUNTER_THREADS * COUNTER_ADDS);
	CU_ASSERT(rd_is(h0, 0, "/counter", "240") == 0);
	end();
}

void test_register(void)
{
	static const struct test_case paths[] = {
		TEST(path_relative_resolves_under_home), TEST(path_invalid_einval),
		TEST(path_length_limits), TEST(path_rm_rules), TEST(path_write_creates_parents_empty),
		TEST(path_directory_order_and_parts), TEST_END,
	};
	static const struct test_case perms[] = {
		TEST(perms_matrix_other_domain), TEST(perms_dom0_owner_privileged),
		TEST(perms_created_nodes_owned_and_inherited), TEST(perms_missing_enoent_or_eacces),
		TEST(perms_root_refused_to_guest),
		TEST(perms_set_perms_validation), TEST_END,
	};
	static const struct test_case quota[] = {
		TEST(quota_nodes_at_limit_and_past), TEST(quota_nodes_in_transactions),
		TEST(quota_watches), TEST(quota_transactions), TEST(quota_value_bytes),
		TEST(quota_perms), TEST(quota_pending_events), TEST_END,
	};
	static const struct test_case tx[] = {
		TEST(tx_snapshot_then_conflict), TEST(tx_commit_without_conflict),
		TEST(tx_abort_discards), TEST(tx_partial_commit_counted), TEST(tx_events_released_at_commit),
		TEST(tx_conflict_on_child_added_to_removed), TEST(tx_rm_snapshot_child_gone),
		TEST(tx_rm_parent_gone), TEST(tx_remade_child_listed_once), TEST(tx_protocol_errors),
		TEST(tx_concurrent_counter_serializable), TEST_END,
	};

	test_add_suite("xenstore_paths", NULL, suite_fini, paths);
	test_add_suite("xenstore_perms", NULL, suite_fini, perms);
	test_add_suite("xenstore_quota", NULL, suite_fini, quota);
	test_add_suite("xenstore_tx", NULL, suite_fini, tx);
}
