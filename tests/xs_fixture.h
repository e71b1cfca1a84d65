/* What the xenstore suites (xenstore_test, xenstore_watch_test) share: the
 * handles a test opened (closed at its end), domains made as the toolstack
 * would, store and event helpers, raw dispatcher connections. Every test
 * starts from a fresh store with only dom0 (begin) and ends with
 * xs_store_check() and no domain left (end). One binary includes it once. */
#ifndef XENSIM_TEST_XS_FIXTURE_H
#define XENSIM_TEST_XS_FIXTURE_H

#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

#define HANDLES_MAX 32
#define WAIT_MS 5000

static struct xs_handle *handles[HANDLES_MAX];
static unsigned handles_num;
static struct xs_handle *h0;   /* dom0's */

/* ---- set-up helpers ---- */

static inline void handles_close(void)
{
	while (handles_num)
		xs_close(handles[--handles_num]);
	h0 = NULL;
}

static inline void dom_make(int domid, bool priv)
{
	char name[16];
	struct sim_domain_config cfg = {.name = name, .privileged = priv, .domid = domid};

	snprintf(name, sizeof(name), "dom%d", domid);
	CU_ASSERT_FATAL(sim_domain_create(&cfg) == domid);
}

static inline struct xs_handle *open_as(domid_t domid)
{
	struct xs_handle *h;

	CU_ASSERT_FATAL(sim_thread_enter(domid) == 0);
	h = xs_open(0);
	sim_thread_leave();
	CU_ASSERT_FATAL(h != NULL && handles_num < HANDLES_MAX);
	handles[handles_num++] = h;
	return h;
}

static inline void begin(void)
{
	handles_close();
	xs_home_set_enabled(false);   /* the store alone: no toolstack writes homes */
	sim_reset();
	xs_store_reset();
	xs_quota_reset();
	dom_make(0, true);
	h0 = open_as(0);
}

static inline void end(void)
{
	xs_store_check();
	handles_close();
	sim_reset();
	xs_store_reset();
	xs_quota_reset();
}

static inline int suite_fini(void)
{
	handles_close();
	sim_reset();
	xs_store_reset();
	return 0;
}

/* ---- store helpers ---- */

static inline bool wr(struct xs_handle *h, xs_transaction_t t, const char *path, const char *v)
{
	return xs_write(h, t, path, v, (unsigned)strlen(v));
}

/* 0 if path reads as `expect`, else the errno (or -1 for another value). */
static inline int rd_is(struct xs_handle *h, xs_transaction_t t, const char *path, const char *expect)
{
	unsigned len;
	char *v = xs_read(h, t, path, &len);
	int rc = v ? (len == strlen(expect) && memcmp(v, expect, len) == 0 ? 0 : -1) : errno;

	free(v);
	return rc;
}

static inline int rd_err(struct xs_handle *h, const char *path)
{
	unsigned len;
	char *v = xs_read(h, XBT_NULL, path, &len);
	int rc = v ? 0 : errno;

	free(v);
	return rc;
}

static inline int ok_or_errno(bool ok)
{
	return ok ? 0 : errno;
}

/* perms as "n6 r5": 0 or errno. */
static inline int perms_set(struct xs_handle *h, const char *path, const char *spec)
{
	struct xs_permissions p[16];
	unsigned n = 0;
	char buf[128], *save, *tok;

	snprintf(buf, sizeof(buf), "%s", spec);
	for (tok = strtok_r(buf, " ", &save); tok && n < 16; tok = strtok_r(NULL, " ", &save)) {
		char s[24];

		snprintf(s, sizeof(s), "%s", tok);
		s[strlen(s) + 1] = '\0';
		CU_ASSERT_FATAL(xs_strings_to_perms(&p[n++], 1, s));
	}
	return ok_or_errno(xs_set_permissions(h, XBT_NULL, path, p, n));
}

/* "n6 r5", or "" on error. */
static inline const char *perms_get(struct xs_handle *h, const char *path)
{
	static char out[256];
	static const char letter[] = "nrwb";
	unsigned num = 0, len = 0;
	struct xs_permissions *p = xs_get_permissions(h, XBT_NULL, path, &num);

	out[0] = '\0';
	for (unsigned i = 0; p && i < num; i++)
		len += (unsigned)snprintf(out + len, sizeof(out) - len, "%s%c%u", i ? " " : "",
					  letter[p[i].perms & 3], p[i].id);
	free(p);
	return out;
}

/* dom0 makes /local/domain/<d> owned by d. */
static inline void home(domid_t d)
{
	char path[64], spec[16];

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	snprintf(spec, sizeof(spec), "n%u", d);
	CU_ASSERT_FATAL(xs_mkdir(h0, XBT_NULL, path));
	CU_ASSERT_FATAL(perms_set(h0, path, spec) == 0);
}

/* ---- event helpers ---- */

static inline bool ev_is(struct xs_handle *h, const char *path, const char *token)
{
	char **v = xs_check_watch(h);
	bool ok = v && strcmp(v[XS_WATCH_PATH], path) == 0 && strcmp(v[XS_WATCH_TOKEN], token) == 0;

	if (v && !ok)
		printf("\n  event %s/%s, expected %s/%s\n", v[0], v[1], path, token);
	free(v);
	return ok;
}

static inline bool ev_none(struct xs_handle *h)
{
	char **v = xs_check_watch(h);

	if (v)
		printf("\n  unexpected event %s/%s\n", v[0], v[1]);
	free(v);
	return !v && errno == EAGAIN;
}

static inline unsigned ev_drain(struct xs_handle *h)
{
	unsigned n = 0;
	char **v;

	while ((v = xs_check_watch(h))) {
		free(v);
		n++;
	}
	return n;
}

static inline bool fd_readable(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};

	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static inline bool wait_for(atomic_int *v, int target)
{
	for (int i = 0; i < WAIT_MS && atomic_load(v) < target; i++)
		usleep(1000);
	return atomic_load(v) >= target;
}

/* ---- raw dispatcher connections ---- */

struct raw {
	struct xs_conn *c;
	struct xsd_sockmsg hdr;            /* last reply */
	char body[XENSTORE_PAYLOAD_MAX + 1];
	unsigned replies;
	struct xsd_sockmsg ev_hdr;         /* last event */
	char ev[XENSTORE_PAYLOAD_MAX + 1];
	unsigned events;
};

static inline void raw_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct raw *r = ctx;

	if (hdr->type == XS_WATCH_EVENT) {
		r->ev_hdr = *hdr;
		memcpy(r->ev, payload, hdr->len);
		r->events++;
	} else {
		r->hdr = *hdr;
		memcpy(r->body, payload, hdr->len);
		r->body[hdr->len] = '\0';
		r->replies++;
	}
}

static inline int raw_req(struct raw *r, uint32_t type, uint32_t req_id, uint32_t tx_id, const void *p,
		   unsigned len)
{
	struct xsd_sockmsg hdr = {.type = type, .req_id = req_id, .tx_id = tx_id, .len = len};

	return xs_conn_request(r->c, &hdr, p);
}

/* The reply is an XS_ERROR carrying exactly this name. */
static inline bool raw_error_is(const struct raw *r, const char *name)
{
	return r->hdr.type == XS_ERROR && r->hdr.len == strlen(name) + 1 &&
	       memcmp(r->body, name, r->hdr.len) == 0;
}

#endif
