/* What the xenstored suites (xenstored_test, xenstored_stress_test) share: a
 * minimal blocking xs_wire client written for the tests (not libxenstore),
 * and the suite set-up: dom0, a fresh store and a server on its own thread. */
#ifndef XENSIM_TESTS_XS_WIRE_CLIENT_H
#define XENSIM_TESTS_XS_WIRE_CLIENT_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

#define TC_TIMEOUT_MS 10000
#define TC_EVENTS_MAX 256
#define TC_EVENT_BYTES 160

static char g_dir[64];
static char g_path[128];
static struct xs_server *g_srv;

/* ---------------------------------------------------------------------------
 * A minimal blocking xs_wire client, written for the tests (not libxenstore).
 */

struct tc {
	int fd;
	uint32_t req_id;
	struct xsd_sockmsg hdr;                 /* the last reply */
	char body[XENSTORE_PAYLOAD_MAX + 1];    /* its payload, NUL added */
	unsigned nevents;                       /* watch events seen meanwhile */
	char events[TC_EVENTS_MAX][TC_EVENT_BYTES];   /* "path|token" */
};

static const struct {
	const char *name;
	int err;
} tc_errnos[] = {
	{"EINVAL", EINVAL}, {"EACCES", EACCES}, {"EEXIST", EEXIST}, {"EISDIR", EISDIR},
	{"ENOENT", ENOENT}, {"ENOMEM", ENOMEM}, {"ENOSPC", ENOSPC}, {"EIO", EIO},
	{"ENOTEMPTY", ENOTEMPTY}, {"ENOSYS", ENOSYS}, {"EROFS", EROFS}, {"EBUSY", EBUSY},
	{"EAGAIN", EAGAIN}, {"EISCONN", EISCONN}, {"E2BIG", E2BIG}, {"EPERM", EPERM},
};

/* The errno an XS_ERROR payload names, or 0 if it names none of the table. */
static inline int tc_errno_of(const char *body, uint32_t len)
{
	for (size_t i = 0; i < sizeof(tc_errnos) / sizeof(tc_errnos[0]); i++)
		if (len == strlen(tc_errnos[i].name) + 1 && strcmp(body, tc_errnos[i].name) == 0)
			return tc_errnos[i].err;
	return 0;
}

static inline int tc_connect(const char *path)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		close(fd);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

static inline int tc_open_at(struct tc *c, const char *path)
{
	memset(c, 0, sizeof(*c));
	c->fd = tc_connect(path);
	return c->fd < 0 ? c->fd : 0;
}

static inline int tc_open(struct tc *c)
{
	return tc_open_at(c, g_path);
}

static inline void tc_close(struct tc *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static inline int tc_send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read exactly len bytes within timeout_ms. -ETIMEDOUT, -ECONNRESET on EOF. */
static inline int tc_recv_all(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;

	while (len > 0) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int rc = poll(&pfd, 1, timeout_ms);
		if (rc == 0)
			return -ETIMEDOUT;
		if (rc < 0 && errno != EINTR)
			return -errno;
		if (rc < 0)
			continue;
		ssize_t n = recv(fd, p, len, 0);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return -errno;
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		}
	}
	return 0;
}

static inline int tc_send_msg(struct tc *c, uint32_t type, uint32_t tx, const void *payload,
		       uint32_t len)
{
	struct xsd_sockmsg hdr = {.type = type, .req_id = ++c->req_id, .tx_id = tx, .len = len};
	int rc = tc_send_all(c->fd, &hdr, sizeof(hdr));

	return rc < 0 ? rc : tc_send_all(c->fd, payload, len);
}

/* One whole message into c->hdr / c->body. */
static inline int tc_recv_msg(struct tc *c, int timeout_ms)
{
	int rc = tc_recv_all(c->fd, &c->hdr, sizeof(c->hdr), timeout_ms);

	if (rc < 0)
		return rc;
	if (c->hdr.len > XENSTORE_PAYLOAD_MAX)
		return -EMSGSIZE;
	rc = tc_recv_all(c->fd, c->body, c->hdr.len, timeout_ms);
	c->body[rc < 0 ? 0 : c->hdr.len] = '\0';
	return rc;
}

static inline void tc_stash_event(struct tc *c)
{
	const char *path = c->body;
	const char *token = path + strlen(path) + 1;

	if (c->nevents < TC_EVENTS_MAX && token < c->body + c->hdr.len)
		snprintf(c->events[c->nevents++], TC_EVENT_BYTES, "%.120s|%.32s", path, token);
}

/* Read until a reply (watch events are stashed). 0 if it is the answer to
 * request `type`, -errno for an XS_ERROR, -EPROTO for anything else. */
static inline int tc_await_reply(struct tc *c, uint32_t type)
{
	int rc;

	for (;;) {
		rc = tc_recv_msg(c, TC_TIMEOUT_MS);
		if (rc < 0)
			return rc;
		if (c->hdr.type != XS_WATCH_EVENT)
			break;
		tc_stash_event(c);
	}
	if (c->hdr.req_id != c->req_id)
		return -EPROTO;
	if (c->hdr.type == XS_ERROR)
		return tc_errno_of(c->body, c->hdr.len) ? -tc_errno_of(c->body, c->hdr.len) : -EPROTO;
	return c->hdr.type == type ? 0 : -EPROTO;
}

static inline int tc_request(struct tc *c, uint32_t type, uint32_t tx, const void *payload,
		      uint32_t len)
{
	int rc = tc_send_msg(c, type, tx, payload, len);

	return rc < 0 ? rc : tc_await_reply(c, type);
}

/* "a\0" or "a\0b" (b without its NUL, as a written value) or "a\0b\0". */
static uint32_t tc_pack(char *buf, const char *a, const char *b, bool b_nul)
{
	size_t la = strlen(a) + 1, lb = b ? strlen(b) + (b_nul ? 1 : 0) : 0;

	memcpy(buf, a, la);
	if (b)
		memcpy(buf + la, b, lb);
	return (uint32_t)(la + lb);
}

static inline int tc_write(struct tc *c, uint32_t tx, const char *path, const char *value)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, XS_WRITE, tx, buf, tc_pack(buf, path, value, false));
}

/* On success c->body holds the value (NUL-terminated), c->hdr.len its length. */
static inline int tc_read(struct tc *c, uint32_t tx, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, XS_READ, tx, buf, tc_pack(buf, path, NULL, false));
}

static inline int tc_simple(struct tc *c, uint32_t type, uint32_t tx, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, type, tx, buf, tc_pack(buf, path, NULL, false));
}

static inline int tc_watch(struct tc *c, uint32_t type, const char *path, const char *token)
{
	char buf[XENSTORE_PAYLOAD_MAX];

	return tc_request(c, type, 0, buf, tc_pack(buf, path, token, true));
}

static inline int tc_tx_start(struct tc *c, uint32_t *tx)
{
	int rc = tc_request(c, XS_TRANSACTION_START, 0, "", 1);

	*tx = 0;
	if (rc == 0)
		*tx = (uint32_t)strtoul(c->body, NULL, 10);
	return rc == 0 && *tx == 0 ? -EPROTO : rc;
}

static inline int tc_tx_end(struct tc *c, uint32_t tx, bool commit)
{
	return tc_request(c, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2);
}

/* The next watch event, stashed or from the socket: "path|token" in out. */
static inline int tc_next_event(struct tc *c, char *out, size_t outlen, int timeout_ms)
{
	int rc;

	while (c->nevents == 0) {
		rc = tc_recv_msg(c, timeout_ms);
		if (rc < 0)
			return rc;
		if (c->hdr.type != XS_WATCH_EVENT)
			return -EPROTO;
		tc_stash_event(c);
	}
	snprintf(out, outlen, "%s", c->events[0]);
	memmove(c->events[0], c->events[1], (size_t)(c->nevents - 1) * TC_EVENT_BYTES);
	c->nevents--;
	return 0;
}

/* True if the server closed the connection within timeout_ms (data before
 * the end is read and dropped). */
static inline bool tc_sees_eof(int fd, int timeout_ms)
{
	char buf[4096];

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return false;
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* ---------------------------------------------------------------------------
 * Suite set-up: dom0, a fresh store and a server on its own thread.
 */

static inline int server_up(void)
{
	struct sim_domain_config dom0 = {.name = "dom0", .privileged = true, .domid = 0};
	struct xs_server_config cfg = {.socket_path = g_path, .quiet = true,
				       };

	if (sim_init() < 0)
		return -1;
	xs_store_reset();
	xs_quota_reset();
	if (sim_domain_create(&dom0) != 0)
		return -1;
	return xs_server_start(&cfg, &g_srv) < 0 ? -1 : 0;
}

static inline int suite_init(void)
{
	snprintf(g_dir, sizeof(g_dir), "/tmp/xensim-xsd-XXXXXX");
	if (!mkdtemp(g_dir))
		return -1;
	snprintf(g_path, sizeof(g_path), "%s/socket", g_dir);
	return server_up();
}

static inline int suite_fini(void)
{
	xs_server_stop(g_srv);
	g_srv = NULL;
	xs_store_check();
	xs_quota_reset();
	sim_reset();
	rmdir(g_dir);
	return 0;
}

#endif
