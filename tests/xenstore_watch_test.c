/*
 * CUnit tests of sim/xenstore, continued: watches (in a domain's event loop
 * and in det mode too), domain introduction and death, the API's edges
 * against the real libxenstore's exports, and the store's fault sites.
 */
#include <dlfcn.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "tests/xs_fixture.h"

/* ==== xenstore_watch ==== */

static void watch_first_event_and_changes_below(void)
{
	begin();
	CU_ASSERT(xs_watch(h0, "/nothing/yet", "any token: at all"));
	CU_ASSERT(ev_is(h0, "/nothing/yet", "any token: at all"));   /* even if missing */
	CU_ASSERT(ev_none(h0));
	CU_ASSERT(wr(h0, 0, "/nothing/yet/below", "x"));
	CU_ASSERT(ev_is(h0, "/nothing/yet/below", "any token: at all"));
	CU_ASSERT(wr(h0, 0, "/nothing/else", "x") && ev_none(h0));   /* beside: no */
	CU_ASSERT(wr(h0, 0, "/nothing/yetother", "x") && ev_none(h0));
	CU_ASSERT(perms_set(h0, "/nothing/yet", "r0") == 0);
	CU_ASSERT(ev_is(h0, "/nothing/yet", "any token: at all"));   /* perms too */
	end();
}

static void watch_ancestor_removal(void)
{
	begin();
	CU_ASSERT(wr(h0, 0, "/a/b/c", "x") && wr(h0, 0, "/a/b/d", "y"));
	CU_ASSERT(xs_watch(h0, "/a/b/c", "deep") && ev_is(h0, "/a/b/c", "deep"));
	CU_ASSERT(xs_watch(h0, "/a/x/missing", "gone") && ev_is(h0, "/a/x/missing", "gone"));
	CU_ASSERT(xs_watch(h0, "/a", "top") && ev_is(h0, "/a", "top"));
	CU_ASSERT(xs_rm(h0, 0, "/a/b"));
	/* the removed watched node itself; the watch above sees the top only */
	CU_ASSERT(ev_is(h0, "/a/b/c", "deep"));
	CU_ASSERT(ev_is(h0, "/a/b", "top"));
	CU_ASSERT(ev_none(h0));
	end();
}

static void watch_relative_paths(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	CU_ASSERT(xs_watch(h5, "device", "rel") && ev_is(h5, "device", "rel"));
	CU_ASSERT(xs_watch(h5, "/local/domain/5/device", "abs") &&
		  ev_is(h5, "/local/domain/5/device", "abs"));
	CU_ASSERT(wr(h0, 0, "/local/domain/5/device/vbd", "1"));
	CU_ASSERT(ev_is(h5, "device/vbd", "rel"));
	CU_ASSERT(ev_is(h5, "/local/domain/5/device/vbd", "abs"));
	CU_ASSERT(xs_unwatch(h5, "device", "rel"));
	CU_ASSERT(!xs_unwatch(h5, "device", "rel") && errno == ENOENT);
	end();
}

/* Only what the watcher may read (or whose parent it may read). */
static void watch_no_event_for_unreadable_nodes(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT(xs_mkdir(h0, 0, "/sec") && xs_mkdir(h0, 0, "/pub"));
	CU_ASSERT(perms_set(h0, "/pub", "r0") == 0);
	CU_ASSERT(xs_watch(h5, "/", "all") && ev_is(h5, "/", "all"));
	CU_ASSERT(wr(h0, 0, "/sec/hidden", "x") && ev_none(h5));          /* parent n0 */
	CU_ASSERT(wr(h0, 0, "/pub/listed", "x") && ev_is(h5, "/pub/listed", "all"));
	CU_ASSERT(perms_set(h0, "/pub/listed", "n0") == 0 && ev_is(h5, "/pub/listed", "all"));
	CU_ASSERT(wr(h0, 0, "/sec/hidden/deeper", "x") && ev_none(h5));
	CU_ASSERT(xs_rm(h0, 0, "/sec/hidden") && ev_none(h5));
	CU_ASSERT(perms_set(h0, "/sec", "n0 r5") == 0 && ev_is(h5, "/sec", "all"));
	CU_ASSERT(wr(h0, 0, "/sec/now", "x") && ev_is(h5, "/sec/now", "all"));
	end();
}

static void watch_errors_and_reset(void)
{
	struct raw r = {0};

	begin();
	CU_ASSERT(xs_watch(h0, "/w", "t") && ev_is(h0, "/w", "t"));
	CU_ASSERT(!xs_watch(h0, "/w", "t") && errno == EEXIST);
	CU_ASSERT(xs_watch(h0, "/w", "u") && ev_is(h0, "/w", "u"));
	CU_ASSERT(!xs_watch(h0, "/w//", "t") && errno == EINVAL);
	CU_ASSERT(!xs_unwatch(h0, "/w", "nope") && errno == ENOENT);
	r.c = xs_conn_new(0, raw_deliver, &r);
	CU_ASSERT(raw_req(&r, XS_WATCH, 1, 0, "/w\0t", 4) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_WATCH, 2, 999, "/w\0t\0", 5) == 0 && strcmp(r.body, "OK") == 0);
	CU_ASSERT(r.events == 1 && r.ev_hdr.req_id == 0 && r.ev_hdr.tx_id == 0 &&
		  r.ev_hdr.len == 5 && memcmp(r.ev, "/w\0t\0", 5) == 0);
	CU_ASSERT(raw_req(&r, XS_RESET_WATCHES, 3, 0, "", 1) == 0 && strcmp(r.body, "OK") == 0);
	CU_ASSERT(wr(h0, 0, "/w", "x") && r.events == 1);
	CU_ASSERT(ev_is(h0, "/w", "t") && ev_is(h0, "/w", "u"));
	xs_conn_free(r.c);
	end();
}

static void watch_special_privileged_only(void)
{
	struct xs_handle *h5;

	begin();
	dom_make(5, false);
	dom_make(6, false);
	h5 = open_as(5);
	CU_ASSERT(xs_watch(h5, "@introduceDomain", "i") && ev_is(h5, "@introduceDomain", "i"));
	CU_ASSERT(xs_watch(h0, "@introduceDomain", "i") && ev_is(h0, "@introduceDomain", "i"));
	CU_ASSERT(xs_introduce_domain(h0, 6, 0x1234, 1));
	CU_ASSERT(ev_is(h0, "@introduceDomain", "i") && ev_none(h5));
	CU_ASSERT(strcmp(perms_get(h0, "@introduceDomain"), "n0") == 0);
	CU_ASSERT(perms_set(h0, "@introduceDomain", "n0 r5") == 0);   /* now it may */
	ev_drain(h0);
	ev_drain(h5);
	CU_ASSERT(xs_release_domain(h0, 6) && xs_introduce_domain(h0, 6, 0, 1));
	CU_ASSERT(ev_is(h5, "@introduceDomain", "i"));
	end();
}

static void watch_fileno_readiness_and_filter(void)
{
	struct xs_handle *hf;
	int fd;

	begin();
	CU_ASSERT_FATAL(sim_thread_enter(0) == 0);
	hf = xs_open(XS_UNWATCH_FILTER);
	sim_thread_leave();
	CU_ASSERT_FATAL(hf != NULL);
	handles[handles_num++] = hf;
	fd = xs_fileno(hf);
	CU_ASSERT(fd >= 0 && !fd_readable(fd));
	CU_ASSERT(xs_watch(hf, "/f", "t") && fd_readable(fd));
	CU_ASSERT(wr(h0, 0, "/f/a", "1") && fd_readable(fd));
	CU_ASSERT(ev_is(hf, "/f", "t") && fd_readable(fd));
	CU_ASSERT(ev_is(hf, "/f/a", "t") && !fd_readable(fd));
	CU_ASSERT(ev_none(hf) && !fd_readable(fd));
	CU_ASSERT(wr(h0, 0, "/f/b", "1") && fd_readable(fd));
	CU_ASSERT(xs_unwatch(hf, "/f", "t"));          /* filtered: the queued event goes */
	CU_ASSERT(!fd_readable(fd) && ev_none(hf));
	end();
}

struct blocked_reader {
	struct xs_handle *h;
	atomic_int got;
	char path[64];
};

static void *blocked_reader_thread(void *p)
{
	struct blocked_reader *b = p;
	unsigned num = 0;
	char **v = xs_read_watch(b->h, &num);

	if (v && num == 2)
		snprintf(b->path, sizeof(b->path), "%s", v[XS_WATCH_PATH]);
	free(v);
	atomic_store(&b->got, 1);
	return NULL;
}

static void watch_read_watch_blocks_until_event(void)
{
	struct blocked_reader b = {.got = 0};
	pthread_t th;

	begin();
	b.h = open_as(0);
	CU_ASSERT(xs_watch(b.h, "/rw", "t") && ev_is(b.h, "/rw", "t"));
	CU_ASSERT_FATAL(pthread_create(&th, NULL, blocked_reader_thread, &b) == 0);
	usleep(20000);
	CU_ASSERT(atomic_load(&b.got) == 0);
	CU_ASSERT(wr(h0, 0, "/rw/now", "x"));
	CU_ASSERT(wait_for(&b.got, 1));
	pthread_join(th, NULL);
	CU_ASSERT(strcmp(b.path, "/rw/now") == 0);
	end();
}

/* A guest's own event loop (its domain thread) watches through xs_fileno. */
struct loop_ctx {
	struct xs_handle *h;
	struct event *ev;
	atomic_int ready, seen, done, bad;
};

static void loop_on_readable(evutil_socket_t fd, short what, void *arg)
{
	struct loop_ctx *lc = arg;
	char **v;

	(void)fd;
	(void)what;
	while ((v = xs_check_watch(lc->h))) {
		atomic_fetch_add(&lc->seen, 1);
		free(v);
	}
	if (errno != EAGAIN)
		atomic_fetch_add(&lc->bad, 1);
}

static void loop_setup(void *arg)
{
	struct loop_ctx *lc = arg;

	lc->h = xs_open(0);
	if (!lc->h || !xs_watch(lc->h, "/loop", "t") ||
	    !(lc->ev = event_new(sim_domain_event_base(), xs_fileno(lc->h), EV_READ | EV_PERSIST,
				 loop_on_readable, lc)) ||
	    event_add(lc->ev, NULL) != 0)
		atomic_fetch_add(&lc->bad, 1);
	atomic_store(&lc->ready, 1);
}

static void loop_teardown(void *arg)
{
	struct loop_ctx *lc = arg;

	if (lc->ev)
		event_free(lc->ev);
	xs_close(lc->h);
	atomic_store(&lc->done, 1);
}

static void watch_fileno_in_domain_event_loop(void)
{
	struct loop_ctx lc = {.ready = 0};
	char path[32];

	begin();
	dom_make(5, false);
	CU_ASSERT(xs_mkdir(h0, 0, "/loop") && perms_set(h0, "/loop", "r0") == 0);
	CU_ASSERT_FATAL(sim_domain_post(5, loop_setup, &lc) == 0);
	CU_ASSERT_FATAL(wait_for(&lc.ready, 1));
	for (int i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/loop/k%d", i);
		CU_ASSERT(wr(h0, 0, path, "v"));
	}
	CU_ASSERT(wait_for(&lc.seen, 6));                       /* first event + 5 */
	CU_ASSERT(sim_domain_post(5, loop_teardown, &lc) == 0);
	CU_ASSERT(wait_for(&lc.done, 1));
	CU_ASSERT(atomic_load(&lc.bad) == 0 && atomic_load(&lc.seen) == 6);
	end();
}

/* In deterministic mode a blocked xs_read_watch passes the token on (through
 * the scheduler) instead of hanging the run. */
struct det_ctx {
	struct xs_handle *h;
	char path[64];
	atomic_int done;
};

static int det_reader_open(void *arg)
{
	struct det_ctx *c = arg;

	c->h = xs_open(0);
	return c->h && xs_watch(c->h, "/det", "t") ? 0 : -1;
}

static void det_reader_run(void *arg)
{
	struct det_ctx *c = arg;
	unsigned num;
	char **first = xs_read_watch(c->h, &num), **v = xs_read_watch(c->h, &num);

	if (first && v)
		snprintf(c->path, sizeof(c->path), "%s", v[XS_WATCH_PATH]);
	free(first);
	free(v);
	atomic_store(&c->done, 1);
}

static int det_reader_close(void *arg)
{
	xs_close(((struct det_ctx *)arg)->h);
	return 0;
}

static void det_writer(void *arg)
{
	struct xs_handle *h = xs_open(0);

	(void)arg;
	if (h)
		xs_write(h, XBT_NULL, "/det/x", "1", 1);
	xs_close(h);
}

static bool det_done(void *arg)
{
	return atomic_load(&((struct det_ctx *)arg)->done) != 0;
}

static void watch_read_watch_in_det_mode(void)
{
	struct sim_sched_config det = {.mode = SIM_MODE_DET, .policy = SIM_POLICY_RANDOM, .seed = 7};
	struct sim_sched_config free_mode = {.mode = SIM_MODE_FREE};
	struct det_ctx c = {.done = 0};

	handles_close();
	sim_reset();
	xs_store_reset();
	CU_ASSERT_FATAL(sim_sched_configure(&det) == 0);
	dom_make(0, true);
	dom_make(5, true);
	CU_ASSERT_FATAL(sim_domain_call(5, det_reader_open, &c) == 0);
	CU_ASSERT(sim_domain_post(5, det_reader_run, &c) == 0);
	CU_ASSERT(sim_domain_post(0, det_writer, NULL) == 0);
	CU_ASSERT(sim_run(det_done, &c, sim_now_ns() + 10ull * 1000000000ull, 1000000) ==
		  SIM_RUN_DONE);
	CU_ASSERT(strcmp(c.path, "/det/x") == 0);
	sim_domain_call(5, det_reader_close, &c);
	sim_reset();
	CU_ASSERT(sim_sched_configure(&free_mode) == 0);
	end();
}

/* ==== xenstore_domains ==== */

static void domain_introduce_and_release(void)
{
	char *path;

	begin();
	dom_make(6, false);
	CU_ASSERT(xs_watch(h0, "@introduceDomain", "i") && ev_is(h0, "@introduceDomain", "i"));
	CU_ASSERT(xs_watch(h0, "@releaseDomain", "r") && ev_is(h0, "@releaseDomain", "r"));
	CU_ASSERT(!xs_is_domain_introduced(h0, 6) && xs_is_domain_introduced(h0, 0));
	CU_ASSERT(!xs_introduce_domain(h0, 6, 0, 0) && errno == EINVAL);   /* event channel 0 */
	CU_ASSERT(!xs_introduce_domain(h0, 42, 0, 1) && errno == EINVAL);  /* no such domain */
	CU_ASSERT(xs_introduce_domain(h0, 6, 0, 1) && ev_is(h0, "@introduceDomain", "i"));
	CU_ASSERT(xs_is_domain_introduced(h0, 6) && xs_is_domain_introduced(h0, DOMID_SELF));
	CU_ASSERT(xs_introduce_domain(h0, 6, 0, 1) && ev_none(h0));       /* again: quiet */
	CU_ASSERT(xs_resume_domain(h0, 6));
	CU_ASSERT(xs_release_domain(h0, 6) && ev_is(h0, "@releaseDomain", "r"));
	CU_ASSERT(!xs_is_domain_introduced(h0, 6));
	CU_ASSERT(!xs_release_domain(h0, 6) && errno == ENOENT);
	CU_ASSERT(!xs_release_domain(h0, 0) && errno == EINVAL);
	CU_ASSERT(!xs_resume_domain(h0, 6) && errno == ENOENT);
	path = xs_get_domain_path(h0, 6);
	CU_ASSERT(path && strcmp(path, "/local/domain/6") == 0);
	free(path);
	end();
}

static void domain_death_drops_connections(void)
{
	struct xs_handle *h5;
	int fd;

	begin();
	dom_make(5, false);
	home(5);
	h5 = open_as(5);
	fd = xs_fileno(h5);
	CU_ASSERT(xs_watch(h5, "data", "t") && ev_is(h5, "data", "t"));
	CU_ASSERT(wr(h5, 0, "data", "mine") && ev_is(h5, "data", "t"));
	CU_ASSERT(xs_transaction_start(h5) != XBT_NULL);
	CU_ASSERT(xs_watch(h0, "@releaseDomain", "r") && ev_is(h0, "@releaseDomain", "r"));
	CU_ASSERT(sim_domain_crash(5) == 0);
	CU_ASSERT(ev_is(h0, "@releaseDomain", "r"));
	CU_ASSERT(rd_err(h5, "data") == EIO);                   /* dropped */
	CU_ASSERT(fd_readable(fd) && !xs_check_watch(h5) && errno == EIO);
	CU_ASSERT(rd_err(h0, "/local/domain/5") == ENOENT);   /* its nodes went with it */
	CU_ASSERT(xs_store_nodes_owned(5) == 0);
	end();
}

/* A new domain with a dead one's id gets none of its rights. The nodes the
 * dead one owned went with it (XSA-419), subtree and all, watches firing;
 * kept (-K), they are dom0's. */
static void domain_reuse_does_not_inherit(bool keep_orphans)
{
	struct xs_handle *h5;

	begin();
	xs_store_set_keep_orphans(keep_orphans);
	dom_make(5, false);
	CU_ASSERT(wr(h0, 0, "/shared", "s") && perms_set(h0, "/shared", "n0 b5") == 0);
	CU_ASSERT(wr(h0, 0, "/owned/below", "o") && perms_set(h0, "/owned", "n5") == 0);
	CU_ASSERT(perms_set(h0, "/owned/below", "n0 r5") == 0);   /* dom0's, below 5's */
	CU_ASSERT(xs_watch(h0, "/owned", "o") && ev_is(h0, "/owned", "o"));
	h5 = open_as(5);
	CU_ASSERT(rd_is(h5, 0, "/shared", "s") == 0 && rd_is(h5, 0, "/owned/below", "o") == 0);
	CU_ASSERT(sim_domain_destroy(5) == 0);
	dom_make(5, false);
	h5 = open_as(5);
	CU_ASSERT(rd_err(h5, "/shared") == EACCES && !wr(h5, 0, "/shared", "x") && errno == EACCES);
	if (keep_orphans) {
		CU_ASSERT(rd_err(h5, "/owned") == EACCES && strcmp(perms_get(h0, "/owned"), "n0") == 0);
		CU_ASSERT(rd_is(h0, 0, "/owned/below", "o") == 0 && ev_none(h0));
	} else {
		CU_ASSERT(rd_err(h0, "/owned") == ENOENT && rd_err(h0, "/owned/below") == ENOENT);
		CU_ASSERT(ev_drain(h0) >= 1);   /* the watch on /owned saw it go */
	}
	xs_store_set_keep_orphans(false);
	end();
}

static void domain_death_removes_owned_nodes(void)
{
	domain_reuse_does_not_inherit(false);
}

static void domain_death_keep_orphans(void)
{
	domain_reuse_does_not_inherit(true);
}

static void domain_set_target(void)
{
	struct xs_handle *h7;

	begin();
	dom_make(5, false);
	dom_make(7, false);
	CU_ASSERT(wr(h0, 0, "/g", "v") && perms_set(h0, "/g", "n5") == 0);
	h7 = open_as(7);
	CU_ASSERT(rd_err(h7, "/g") == EACCES);
	CU_ASSERT(!xs_set_target(h0, 7, 5) && errno == ENOENT);     /* not introduced */
	CU_ASSERT(xs_introduce_domain(h0, 5, 0, 1) && xs_introduce_domain(h0, 7, 0, 1));
	CU_ASSERT(xs_set_target(h0, 7, 5));
	CU_ASSERT(rd_is(h7, 0, "/g", "v") == 0 && wr(h7, 0, "/g", "dm"));
	end();
}

static void domain_privileged_requests_refused(void)
{
	struct xs_handle *h5;
	char *s;

	begin();
	dom_make(5, false);
	dom_make(6, false);
	h5 = open_as(5);
	CU_ASSERT(!xs_introduce_domain(h5, 6, 0, 1) && errno == EACCES);
	CU_ASSERT(!xs_release_domain(h5, 6) && errno == EACCES);
	CU_ASSERT(!xs_is_domain_introduced(h5, 0) && errno == EACCES);
	CU_ASSERT(!xs_set_target(h5, 5, 6) && errno == EACCES);
	s = xs_control_command(h5, "check", NULL, 0);
	CU_ASSERT(!s && errno == EACCES);
	free(s);
	s = xs_get_domain_path(h5, 6);                          /* anyone may */
	CU_ASSERT(s && strcmp(s, "/local/domain/6") == 0);
	free(s);
	end();
}

/* ==== xenstore_api ==== */

static void api_open_outside_domain_esrch(void)
{
	begin();
	sim_thread_leave();
	CU_ASSERT(xs_open(0) == NULL && errno == ESRCH);
	CU_ASSERT(xs_daemon_open() == NULL && errno == ESRCH);
	xs_close(NULL);
	end();
}

static bool line_in(const char *name, char **list, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

static unsigned lines_read(const char *cmd, char **out, unsigned max)
{
	char line[256];
	unsigned n = 0;
	FILE *p = popen(cmd, "r");

	while (p && n < max && fgets(line, sizeof(line), p)) {
		line[strcspn(line, "\n")] = '\0';
		out[n++] = strdup(line);
	}
	if (p)
		pclose(p);
	return n;
}

/* Every function Debian's libxenstore.so.4 exports is defined here. */
static void api_exports_match_libxenstore(void)
{
	static char *lib[128], *mine[8192];
	unsigned nl = lines_read("objdump -T $(find /usr/lib -name libxenstore.so.4 -print -quit) "
				 "2>/dev/null | awk '$2 == \"g\" && $4 == \".text\" { print $NF }'",
				 lib, 128);
	char self[512], cmd[640];
	ssize_t self_len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	unsigned nm, missing = 0;

	CU_ASSERT_FATAL(self_len > 0);
	self[self_len] = '\0';
	snprintf(cmd, sizeof(cmd), "nm --defined-only '%s' | awk '$2 == \"T\" { print $3 }'", self);
	nm = lines_read(cmd, mine, 8192);

	CU_ASSERT(nl >= 30);
	for (unsigned i = 0; i < nl; i++) {
		if (!line_in(lib[i], mine, nm)) {
			printf("\n  missing: %s", lib[i]);
			missing++;
		}
		free(lib[i]);
	}
	for (unsigned i = 0; i < nm; i++)
		free(mine[i]);
	CU_ASSERT(missing == 0);
}

/* The pure helpers behave like the real library's (loaded aside). */
static void api_helpers_match_real_library(void)
{
	static const char *pairs[][2] = {
		{"/a", "/a"}, {"/a", "/a/b"}, {"/a", "/ab"}, {"/", "/a"}, {"/a/b", "/a"},
		{"a", "a/b"}, {"", ""}, {"", "/x"}, {"/a/", "/a/b"},
	};
	static const char *perm_strings[][2] = {
		{"r5\0", "1"}, {"b0\0n7\0", "2"}, {"x1\0", "1"}, {"r\0", "1"}, {"w0x10\0", "1"},
		{"n-1\0", "1"}, {"r5z\0", "1"}, {"n65535\0", "1"},
	};
	void *lib = dlopen("libxenstore.so.4", RTLD_NOW | RTLD_LOCAL);
	bool (*subpath)(const char *, const char *);
	bool (*to_perms)(struct xs_permissions *, unsigned int, const char *);

	if (!lib) {
		printf("\n  skipped: %s", dlerror());
		return;
	}
	*(void **)&subpath = dlsym(lib, "xs_path_is_subpath");
	*(void **)&to_perms = dlsym(lib, "xs_strings_to_perms");
	CU_ASSERT_FATAL(subpath && to_perms);
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++)
		CU_ASSERT(subpath(pairs[i][0], pairs[i][1]) ==
			  xs_path_is_subpath(pairs[i][0], pairs[i][1]));
	for (size_t i = 0; i < sizeof(perm_strings) / sizeof(perm_strings[0]); i++) {
		struct xs_permissions a[2] = {{0}}, b[2] = {{0}};
		unsigned n = (unsigned)atoi(perm_strings[i][1]);
		bool ra = to_perms(a, n, perm_strings[i][0]), rb = xs_strings_to_perms(b, n, perm_strings[i][0]);

		CU_ASSERT(ra == rb && (!ra || memcmp(a, b, sizeof(a)) == 0));
	}
	dlclose(lib);
}

static void api_daemon_paths_match_real_library(void)
{
	void *lib = dlopen("libxenstore.so.4", RTLD_NOW | RTLD_LOCAL);
	const char *(*sock)(void), *(*rundir)(void);
	char real[256];

	if (!lib) {
		printf("\n  skipped: %s", dlerror());
		return;
	}
	*(void **)&sock = dlsym(lib, "xs_daemon_socket");
	*(void **)&rundir = dlsym(lib, "xs_daemon_rundir");
	CU_ASSERT_FATAL(sock && rundir);
	unsetenv("XENSTORED_PATH");
	unsetenv("XENSTORED_RUNDIR");
	CU_ASSERT(strcmp(rundir(), xs_daemon_rundir()) == 0);
	snprintf(real, sizeof(real), "%s", sock());
	CU_ASSERT(strcmp(real, xs_daemon_socket()) == 0);
	setenv("XENSTORED_RUNDIR", "/tmp/rd", 1);
	snprintf(real, sizeof(real), "%s", sock());
	CU_ASSERT(strcmp(real, xs_daemon_socket()) == 0 && strcmp(real, "/tmp/rd/socket") == 0);
	setenv("XENSTORED_PATH", "/tmp/xs.sock", 1);
	CU_ASSERT(strcmp(sock(), xs_daemon_socket()) == 0 && strcmp(xs_daemon_socket_ro(), "/tmp/xs.sock") == 0);
	unsetenv("XENSTORED_PATH");
	unsetenv("XENSTORED_RUNDIR");
	dlclose(lib);
}

/* The dispatcher on raw messages: replies echo type, req_id and tx_id;
 * errors carry the errno's name. */
static void api_raw_dispatcher_messages(void)
{
	char big[XENSTORE_PAYLOAD_MAX + 1] = "/raw";
	struct raw r = {0}, r5 = {0};
	unsigned replies;

	begin();
	dom_make(5, false);
	r.c = xs_conn_new(0, raw_deliver, &r);
	r5.c = xs_conn_new(5, raw_deliver, &r5);
	CU_ASSERT(raw_req(&r, XS_READ, 42, 0, "/nope", 6) == 0 && r.hdr.req_id == 42 &&
		  r.hdr.tx_id == 0 && raw_error_is(&r, "ENOENT"));
	CU_ASSERT(raw_req(&r, XS_WRITE, 43, 0, "/raw\0hello", 10) == 0 &&
		  r.hdr.type == XS_WRITE && r.hdr.len == 3 && memcmp(r.body, "OK", 3) == 0);
	CU_ASSERT(raw_req(&r, XS_READ, 44, 0, "/raw", 5) == 0 && r.hdr.type == XS_READ &&
		  r.hdr.len == 5 && memcmp(r.body, "hello", 5) == 0);
	CU_ASSERT(raw_req(&r, XS_READ, 45, 0, "/raw\0x", 7) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, XS_READ, 46, 0, "/raw", 4) == 0 && raw_error_is(&r, "EINVAL"));
	CU_ASSERT(raw_req(&r, 20, 47, 0, "", 0) == 0 && raw_error_is(&r, "ENOSYS"));
	CU_ASSERT(raw_req(&r, XS_WATCH_EVENT, 48, 0, "", 0) == 0 && raw_error_is(&r, "ENOSYS"));
	CU_ASSERT(raw_req(&r, 0x7fff, 49, 0, "", 0) == 0 && raw_error_is(&r, "ENOSYS"));
	replies = r.replies;
	CU_ASSERT(raw_req(&r, XS_WRITE, 50, 0, big, sizeof(big)) == -EPROTO && r.replies == replies);
	CU_ASSERT(raw_req(&r, XS_DIRECTORY_PART, 51, 0, "/\0" "0", 4) == 0 &&
		  r.hdr.type == XS_DIRECTORY_PART);
	CU_ASSERT(memcmp(r.body + strlen(r.body) + 1, "local\0tool\0raw\0", 16) == 0 &&
		  r.hdr.len == strlen(r.body) + 1 + 16);
	CU_ASSERT(raw_req(&r, XS_GET_PERMS, 52, 0, "/raw", 5) == 0 && r.hdr.len == 3 &&
		  memcmp(r.body, "n0", 3) == 0);
	CU_ASSERT(raw_req(&r, XS_IS_DOMAIN_INTRODUCED, 53, 0, "0", 2) == 0 &&
		  memcmp(r.body, "T", 2) == 0);
	CU_ASSERT(raw_req(&r5, XS_IS_DOMAIN_INTRODUCED, 54, 0, "0", 2) == 0 &&
		  raw_error_is(&r5, "EACCES"));
	CU_ASSERT(raw_req(&r, XS_GET_DOMAIN_PATH, 55, 0, "7", 2) == 0 &&
		  strcmp(r.body, "/local/domain/7") == 0 && r.hdr.len == 16);
	CU_ASSERT(raw_req(&r, XS_DIRECTORY, 56, 0, "/", 2) == 0 && r.hdr.len == 15);
	CU_ASSERT(raw_req(&r5, XS_WRITE, 57, 0, "/x\0y", 4) == 0 && raw_error_is(&r5, "EACCES"));
	xs_conn_free(r.c);
	xs_conn_free(r5.c);
	end();
}

static void api_directory_part_and_e2big(void)
{
	struct raw r = {0};
	char path[64];

	begin();
	for (int i = 0; i < 250; i++) {
		snprintf(path, sizeof(path), "/many/node-with-a-longish-name-%03d", i);
		CU_ASSERT_FATAL(xs_mkdir(h0, 0, path));
	}
	r.c = xs_conn_new(0, raw_deliver, &r);
	CU_ASSERT(raw_req(&r, XS_DIRECTORY, 1, 0, "/many", 6) == 0 && raw_error_is(&r, "E2BIG"));
	CU_ASSERT(raw_req(&r, XS_DIRECTORY_PART, 2, 0, "/many\0" "100000", 13) == 0 &&
		  r.hdr.len == strlen(r.body) + 2);           /* past the end: "<gen>\0\0" */
	xs_conn_free(r.c);
	end();
}

static void api_control_and_misc(void)
{
	char *s;

	begin();
	s = xs_control_command(h0, "check", NULL, 0);
	CU_ASSERT(s && strcmp(s, "OK") == 0);
	free(s);
	s = xs_debug_command(h0, "help", NULL, 0);
	CU_ASSERT(s && strstr(s, "quota") != NULL);
	free(s);
	s = xs_control_command(h0, "no-such-command", NULL, 0);
	CU_ASSERT(!s && errno == EINVAL);
	CU_ASSERT(!xs_restrict(h0, 5));
	CU_ASSERT(xs_suspend_evtchn_port(3) == -1);
	CU_ASSERT(wr(h0, 0, "/local/domain/3/device/suspend/event-channel", "17"));
	CU_ASSERT_FATAL(sim_thread_enter(0) == 0);
	CU_ASSERT(xs_suspend_evtchn_port(3) == 17);
	sim_thread_leave();
	end();
}

/* ---- xenstore_faults: the store's fault sites ---- */

static void fault_write_enospc_guest_only(void)
{
	begin();
	dom_make(1, false);
	struct xs_handle *h1 = open_as(1);
	struct sim_fault_site *site = sim_fault_site_find("xenstore.write.enospc");

	struct xs_permissions own = {.id = 1, .perms = XS_PERM_NONE};

	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_TRUE(xs_mkdir(h0, XBT_NULL, "/local/domain/1"));
	CU_ASSERT_TRUE(xs_set_permissions(h0, XBT_NULL, "/local/domain/1", &own, 1));
	CU_ASSERT_TRUE(xs_write(h1, XBT_NULL, "data/a", "1", 1));
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/tool/x", "1", 1));   /* dom0: no quota errors */
	errno = 0;
	CU_ASSERT_FALSE(xs_write(h1, XBT_NULL, "data/b", "2", 1));
	CU_ASSERT_EQUAL(errno, ENOSPC);
	CU_ASSERT_PTR_NULL(xs_read(h1, XBT_NULL, "data/b", NULL));   /* nothing written */
	CU_ASSERT_TRUE(xs_write(h1, XBT_NULL, "data/b", "2", 1));     /* fired once */
	CU_ASSERT_EQUAL(atomic_load(&site->injected), 1);
	end();
}

static void fault_tx_eagain_discards_the_transaction(void)
{
	begin();
	struct sim_fault_site *site = sim_fault_site_find("xenstore.tx.eagain");

	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	xs_transaction_t t = xs_transaction_start(h0);
	CU_ASSERT_TRUE(xs_write(h0, t, "/tool/tx", "1", 1));
	errno = 0;
	CU_ASSERT_FALSE(xs_transaction_end(h0, t, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	CU_ASSERT_PTR_NULL(xs_read(h0, XBT_NULL, "/tool/tx", NULL));
	t = xs_transaction_start(h0);   /* the redo commits */
	CU_ASSERT_TRUE(xs_write(h0, t, "/tool/tx", "1", 1));
	CU_ASSERT_TRUE(xs_transaction_end(h0, t, false));
	free(xs_read(h0, XBT_NULL, "/tool/tx", NULL));
	end();
}

/* The transaction's second read meets a key removed and written back since
 * its first: ENOENT (and again on a reread), EAGAIN at commit, an event for
 * each change, the key unchanged in the store, and the rerun spared. */
static void fault_tx_stale_mixed_view_then_conflict(void)
{
	begin();
	struct xs_handle *hw = open_as(0);
	struct sim_fault_site *site = sim_fault_site_find("xenstore.tx.stale");
	unsigned len = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_TRUE(site->legal);
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/tool/s/a", "1", 1));
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/tool/s/b", "22", 2));
	CU_ASSERT_TRUE(xs_watch(hw, "/tool/s/b", "tok"));
	CU_ASSERT_TRUE(ev_is(hw, "/tool/s/b", "tok"));
	xs_transaction_t t = xs_transaction_start(h0);
	free(xs_read(h0, t, "/tool/s/a", NULL));           /* unarmed: a plain snapshot */
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, -1), 0);
	char *v = xs_read(h0, t, "/tool/s/a", NULL);           /* seen: never hit */
	CU_ASSERT_PTR_NOT_NULL(v);
	free(v);
	errno = 0;
	CU_ASSERT_PTR_NULL(xs_read(h0, t, "/tool/s/b", NULL));
	CU_ASSERT_EQUAL(errno, ENOENT);
	CU_ASSERT_PTR_NULL(xs_read(h0, t, "/tool/s/b", NULL));   /* the view repeats */
	CU_ASSERT_TRUE(ev_is(hw, "/tool/s/b", "tok"));           /* removed */
	CU_ASSERT_TRUE(ev_is(hw, "/tool/s/b", "tok"));           /* written back */
	CU_ASSERT_TRUE(ev_none(hw));
	errno = 0;
	CU_ASSERT_FALSE(xs_transaction_end(h0, t, false));
	CU_ASSERT_EQUAL(errno, EAGAIN);
	v = xs_read(h0, XBT_NULL, "/tool/s/b", &len);
	CU_ASSERT(v && len == 2 && memcmp(v, "22", 2) == 0);
	free(v);
	/* The rerun is spared although the site stays armed; the one after is not. */
	t = xs_transaction_start(h0);
	v = xs_read(h0, t, "/tool/s/b", &len);
	CU_ASSERT(v && len == 2);
	free(v);
	CU_ASSERT_TRUE(xs_transaction_end(h0, t, false));
	t = xs_transaction_start(h0);
	CU_ASSERT_TRUE(xs_write(h0, t, "/tool/s/a", "3", 1));   /* touched first: never hit */
	v = xs_read(h0, t, "/tool/s/a", NULL);
	CU_ASSERT_PTR_NOT_NULL(v);
	free(v);
	CU_ASSERT_PTR_NULL(xs_read(h0, t, "/tool/s/b", NULL));
	CU_ASSERT_FALSE(xs_transaction_end(h0, t, false));
	CU_ASSERT_EQUAL(atomic_load(&site->injected), 2);
	v = xs_read(h0, XBT_NULL, "/tool/s/a", NULL);
	CU_ASSERT(v && v[0] == '1');                              /* the conflicted write is gone */
	free(v);
	sim_fault_site_disarm(site);
	end();
}

static void fault_watch_delay_keeps_order(void)
{
	begin();
	struct xs_handle *hw = open_as(0);
	struct sim_fault_site *site = sim_fault_site_find("xenstore.watch.delay");

	CU_ASSERT_PTR_NOT_NULL_FATAL(site);
	CU_ASSERT_TRUE(xs_watch(hw, "/tool/w", "tok"));
	CU_ASSERT_TRUE(ev_is(hw, "/tool/w", "tok"));
	CU_ASSERT_EQUAL(sim_fault_site_arm(site, 0, 0), 0);
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/tool/w/a", "1", 1));
	CU_ASSERT_TRUE(ev_none(hw));                                   /* held back */
	/* The next request releases it, before its own event: order is kept. */
	CU_ASSERT_TRUE(xs_write(h0, XBT_NULL, "/tool/w/b", "1", 1));
	CU_ASSERT_TRUE(ev_is(hw, "/tool/w/a", "tok"));
	CU_ASSERT_TRUE(ev_is(hw, "/tool/w/b", "tok"));
	CU_ASSERT_TRUE(ev_none(hw));
	end();
}

void test_register(void)
{
	static const struct test_case watch[] = {
		TEST(watch_first_event_and_changes_below), TEST(watch_ancestor_removal),
		TEST(watch_relative_paths), TEST(watch_no_event_for_unreadable_nodes),
		TEST(watch_errors_and_reset), TEST(watch_special_privileged_only),
		TEST(watch_fileno_readiness_and_filter), TEST(watch_read_watch_blocks_until_event),
		TEST(watch_fileno_in_domain_event_loop), TEST(watch_read_watch_in_det_mode), TEST_END,
	};
	static const struct test_case domains[] = {
		TEST(domain_introduce_and_release), TEST(domain_death_drops_connections),
		TEST(domain_death_removes_owned_nodes), TEST(domain_death_keep_orphans), TEST(domain_set_target),
		TEST(domain_privileged_requests_refused), TEST_END,
	};
	static const struct test_case api[] = {
		TEST(api_open_outside_domain_esrch), TEST(api_exports_match_libxenstore),
		TEST(api_helpers_match_real_library), TEST(api_daemon_paths_match_real_library),
		TEST(api_raw_dispatcher_messages), TEST(api_directory_part_and_e2big),
		TEST(api_control_and_misc), TEST_END,
	};
	static const struct test_case faults[] = {
		TEST(fault_write_enospc_guest_only),
		TEST(fault_tx_eagain_discards_the_transaction),
		TEST(fault_tx_stale_mixed_view_then_conflict),
		TEST(fault_watch_delay_keeps_order),
		TEST_END,
	};

	test_add_suite("xenstore_watch", NULL, suite_fini, watch);
	test_add_suite("xenstore_domains", NULL, suite_fini, domains);
	test_add_suite("xenstore_api", NULL, suite_fini, api);
	test_add_suite("xenstore_faults", NULL, suite_fini, faults);
}
