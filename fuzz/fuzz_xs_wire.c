/*
 * fuzz_xs_wire: the real xs_wire server (sim/xenstore/wire_server.c, over real
 * unix sockets, on this thread's event_base) in front of the real store.
 * Three servers run, one per domain (dom0, guest 1, guest 2: each of their
 * connections acts as that domain), so that permissions, quotas and
 * cross-domain watches and transactions are reached. The first byte of an
 * input picks its mode:
 *
 *  < 0x20  raw: the whole input (that byte included) is the byte stream of one
 *          dom0 connection: connect, send it all, shut our side, run the loop
 *          until the server closes. Framing bugs are fuzzed here.
 *  >= 0x20 ops: the byte is a set-up (FZX_CFG_*: small quotas unless asked,
 *          guest homes, guests introduced), the rest a sequence of compact
 *          ops (fzx_op_run; layout and mutator: xs_wire_ops.h) that the
 *          target encodes as well-formed xsd_sockmsg messages on one of four
 *          connections (0, 1: dom0; 2: domain 1; 3: domain 2; kept across
 *          inputs). An op byte is kind (bits 0-4, modulo FZX_OP_COUNT),
 *          connection (bits 5-6) and "in a transaction" (bit 7: the next
 *          byte picks one of FZX_TXS slots; an empty one starts a
 *          transaction first); its arguments follow: a path byte (bits 0-2 a
 *          base, 3-7 a suffix: fzx_path), values, perms, tokens, domids (the
 *          byte modulo 4). Each op is sent and answered before the next one:
 *          the interleaving of connections is the input's, and what came
 *          back can be judged against the store as the op left it.
 *          Transactions still open commit at the end. FZX_TRACE=1 in the
 *          environment prints each op and its answer.
 *
 * Invariants, both modes: every message the server sends is framed
 * (len <= XENSTORE_PAYLOAD_MAX); every reply answers one of our requests in
 * order (same req_id, same type or XS_ERROR); the server closes each
 * connection within bounded loop turns once we shut it; its open
 * connections are exactly ours; xs_store_check() finds the store consistent. The store is reset
 * (xs_store_reset, xs_quota_reset) before the next input.
 * Ops mode adds, after each op (fzx_judge):
 *  - quotas: an op of a guest never takes its node count, its connection's
 *    watches or its open transactions past the quota (XS_QUOTA_*);
 *  - watch events, read permission: an event a guest gets for a node that
 *    a WRITE, MKDIR or BULK made names a node it may read, or whose parent it
 *    may read (@specials: their perms); a guest whose watch covers a node
 *    that an RM or WRITE (outside a transaction) changed, and that could read
 *    the node or its parent before, is told (the path as its watch names it);
 *  - RELEASE: the domain's nodes are gone (the store holds at least as many
 *    fewer nodes as it owned) and no permission entry names it any more
 *    unless marked ignored (a new domain with its id inherits nothing).
 * These look at the store's own state (xs_internal.h) under its lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/xs_wire.h"
#include "fuzz/xs_wire_ops.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_internal.h"
#include "sim/xenstore/xs_server.h"
#include "sim/xenstore/xs_store.h"

#define FZX_TURNS_MAX 100000u           /* loop turns before "the server hangs" */
#define FZX_POLL_MAX 64u                /* descriptors of the loop looked at when settling */
#define FZX_RAW_MODE_MAX 0x20u          /* first byte below: raw mode */
#define FZX_SERVERS 3u                  /* dom0, domain 1, domain 2 */
#define FZX_BULK_MAX 128u               /* nodes one BULK op makes */
#define FZX_VALUE_MAX 4000u             /* a WRITE's value, below the payload max */
#define FZX_OPS_MAX 96u                 /* ops of one input run; the rest is cut */

/* Set-up bits of an ops-mode input's first byte. */
#define FZX_CFG_DEFAULT_QUOTAS 0x01u    /* not the small quotas of fzx_small_quotas */
#define FZX_CFG_NO_HOMES 0x02u          /* no /local/domain/N owned by N */
#define FZX_CFG_NO_INTRODUCE 0x04u      /* the guests are not introduced */

static const struct {
	const char *name;
	unsigned value;
} fzx_small_quotas[] = {
	{"nodes", 8}, {"watches", 4}, {"transactions", 2},
	{"value_bytes", 64}, {"perms", 3}, {"events", 8},
};

static struct event_base *fzx_base;
static struct xs_server *fzx_srv[FZX_SERVERS];
static char fzx_dir[64];

struct fzx_conn fzx_conns[FZX_CONNS];
struct fzx_event fzx_events[FZX_EVENTS_MAX];
unsigned fzx_events_n;

static const domid_t fzx_conn_domid[FZX_CONNS] = {0, 0, 1, 2};

static void fzx_socket_path(unsigned server, char *buf, size_t len)
{
	snprintf(buf, len, "%s/socket%u", fzx_dir, server);
}

static int fzx_connect_to(unsigned server)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	fzx_socket_path(server, sa.sun_path, sizeof(sa.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		FUZZ_FAIL("connect %s: %s", sa.sun_path, strerror(errno));
	return fd;
}

/* ---- what comes back ---- */

static void fzx_event_note(unsigned conn, const uint8_t *payload, uint32_t len)
{
	struct fzx_event *e;
	const uint8_t *nul = memchr(payload, '\0', len);

	if (conn == UINT32_MAX || !nul || fzx_events_n >= FZX_EVENTS_MAX ||
	    (size_t)(nul - payload) > XENSTORE_ABS_PATH_MAX)
		return;
	e = &fzx_events[fzx_events_n++];
	e->conn = conn;
	memcpy(e->path, payload, (size_t)(nul - payload) + 1);
}

static void fzx_one_msg(const struct xsd_sockmsg *m, const uint8_t *payload, unsigned conn,
			struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	if (m->type == XS_WATCH_EVENT) {
		rx->events++;
		fzx_event_note(conn, payload, m->len);
		return;
	}
	rx->replies++;
	while (reqs->next < reqs->n && reqs->hdr[reqs->next].req_id != m->req_id)
		reqs->next++;   /* a request may close the connection unanswered, never skip one silently */
	if (reqs->next >= reqs->n)
		FUZZ_FAIL("conn %u: reply %u (type %u req_id %u) answers no request sent", conn,
			  rx->replies, m->type, m->req_id);
	if (m->type != reqs->hdr[reqs->next].type && m->type != XS_ERROR)
		FUZZ_FAIL("conn %u: reply type %u to request type %u req_id %u", conn, m->type,
			  reqs->hdr[reqs->next].type, m->req_id);
	reqs->next++;
	rx->last_type = m->type;
	snprintf(rx->last, sizeof(rx->last), "%.*s", (int)m->len, (const char *)payload);
}

static void fzx_parse(unsigned conn, struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	size_t off = 0;

	while (rx->len - off >= FZX_HDR) {
		struct xsd_sockmsg m;
		memcpy(&m, rx->buf + off, FZX_HDR);
		if (m.len > XENSTORE_PAYLOAD_MAX)
			FUZZ_FAIL("conn %u: server sent type %u with len %u", conn, m.type, m.len);
		if (rx->len - off - FZX_HDR < m.len)
			break;
		fzx_one_msg(&m, rx->buf + off + FZX_HDR, conn, reqs, rx);
		off += FZX_HDR + m.len;
	}
	memmove(rx->buf, rx->buf + off, rx->len - off);
	rx->len -= off;
}

/* Read what is there; true once the server has closed the connection. */
static bool fzx_recv(int fd, unsigned conn, struct fzx_reqs *reqs, struct fzx_rx *rx, bool *got)
{
	ssize_t n = recv(fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len, 0);

	if (n > 0) {
		rx->len += (size_t)n;
		fzx_parse(conn, reqs, rx);
		*got = true;
	}
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- raw mode: the old one-connection byte stream ---- */

static void fzx_frame(const uint8_t *data, size_t size, struct fzx_reqs *reqs)
{
	size_t off = 0;

	reqs->n = reqs->next = 0;
	while (size - off >= FZX_HDR) {
		struct xsd_sockmsg h;
		memcpy(&h, data + off, FZX_HDR);
		if (h.len > XENSTORE_PAYLOAD_MAX || size - off - FZX_HDR < h.len)
			return;   /* the server closes here, or waits for bytes that never come */
		reqs->hdr[reqs->n++] = h;
		off += FZX_HDR + h.len;
	}
}

/* One turn: send what the socket takes, run the loop once, read what came.
 * true once the server has closed the connection. */
static bool fzx_turn(int fd, const uint8_t *data, size_t size, size_t *sent, bool *shut,
		     struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	bool got = false;
	ssize_t n;

	if (*sent < size) {
		n = send(fd, data + *sent, size - *sent, MSG_NOSIGNAL);
		if (n > 0)
			*sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			*sent = size;   /* EPIPE / ECONNRESET: it cut us off */
	}
	if (*sent == size && !*shut) {
		shutdown(fd, SHUT_WR);
		*shut = true;
	}
	event_base_loop(fzx_base, EVLOOP_NONBLOCK);
	return fzx_recv(fd, UINT32_MAX, reqs, rx, &got);
}

static void fzx_raw(const uint8_t *data, size_t size)
{
	static struct fzx_conn raw;   /* its own: the ops-mode connections stay as they are */
	struct fzx_conn *c = &raw;
	size_t sent = 0;
	bool shut = false, closed = false;
	int fd;

	fzx_frame(data, size, &c->reqs);
	c->rx.len = c->rx.replies = c->rx.events = 0;
	fd = fzx_connect_to(0);
	for (unsigned t = 0; t < FZX_TURNS_MAX && !closed; t++)
		closed = fzx_turn(fd, data, size, &sent, &shut, &c->reqs, &c->rx);
	if (!closed)
		FUZZ_FAIL("the server neither closed nor finished after %u turns (%zu of %zu bytes "
			  "sent, %u replies)", FZX_TURNS_MAX, sent, size, c->rx.replies);
	close(fd);
}

/* ---- ops mode: connections ---- */

static uint64_t fzx_accepted(unsigned server)
{
	struct xs_server_stats st;

	xs_server_stats_get(fzx_srv[server], &st);
	return st.conns_accepted;
}

/* Open conn c; once the server accepted, its store connection is the newest
 * (xs_g.conns runs newest first). */
static void fzx_conn_open(struct fzx_conn *c)
{
	uint64_t before = fzx_accepted(c->domid);
	unsigned t;

	c->fd = fzx_connect_to(c->domid);
	c->shut = c->closed = false;
	c->reqs.n = c->reqs.next = 0;
	c->rx.len = c->rx.replies = c->rx.events = 0;
	memset(c->txs, 0, sizeof(c->txs));
	for (t = 0; t < FZX_TURNS_MAX && fzx_accepted(c->domid) == before; t++)
		event_base_loop(fzx_base, EVLOOP_NONBLOCK);
	if (t == FZX_TURNS_MAX)
		FUZZ_FAIL("server of domain %u never accepted conn %u", c->domid, c->idx);
	xs_lock();
	c->store = xs_g.conns;
	xs_unlock();
	if (!c->store || xs_conn_domid(c->store) != c->domid)
		FUZZ_FAIL("conn %u: newest store connection is not of domain %u", c->idx, c->domid);
}

struct fzx_scan {
	const struct event *evs[FZX_POLL_MAX];
	unsigned n;
};

/* Under the base's lock: only collect (event_pending takes it too). */
static int fzx_scan_event(const struct event_base *base, const struct event *ev, void *arg)
{
	struct fzx_scan *s = arg;

	(void)base;
	if (s->n < FZX_POLL_MAX)
		s->evs[s->n++] = ev;
	return 0;
}

/* Would a pass of the loop do anything (an active event, a descriptor it
 * waits on ready), or is there anything for us to read? The server's only
 * timer (accept retry) is not waited for. */
static bool fzx_idle(void)
{
	struct fzx_scan s = {.n = 0};
	struct pollfd fds[FZX_POLL_MAX + FZX_CONNS];
	unsigned n = 0;

	if (event_base_get_num_events(fzx_base, EVENT_BASE_COUNT_ACTIVE) > 0)
		return false;
	event_base_foreach_event(fzx_base, fzx_scan_event, &s);
	for (unsigned i = 0; i < s.n; i++) {
		short what = (short)event_pending(s.evs[i], EV_READ | EV_WRITE, NULL);
		if (event_get_fd(s.evs[i]) >= 0 && what)
			fds[n++] = (struct pollfd){.fd = event_get_fd(s.evs[i]),
				.events = (short)((what & EV_READ ? POLLIN : 0) | (what & EV_WRITE ? POLLOUT : 0))};
	}
	for (unsigned i = 0; i < FZX_CONNS; i++)
		if (fzx_conns[i].fd >= 0 && !fzx_conns[i].closed)
			fds[n++] = (struct pollfd){.fd = fzx_conns[i].fd, .events = POLLIN};
	return poll(fds, n, 0) == 0;
}

/* Run the loop and read every open connection until nothing is left to do
 * and `until` (if any) holds. */
static void fzx_settle(bool (*until)(void))
{
	unsigned t;

	for (t = 0; t < FZX_TURNS_MAX && (!fzx_idle() || (until && !until())); t++) {
		bool got = false;

		event_base_loop(fzx_base, EVLOOP_NONBLOCK);
		for (unsigned i = 0; i < FZX_CONNS; i++) {
			struct fzx_conn *c = &fzx_conns[i];
			if (c->fd >= 0 && !c->closed &&
			    fzx_recv(c->fd, i, &c->reqs, &c->rx, &got)) {
				c->closed = true;
				c->store = NULL;   /* freed by the server */
			}
		}
	}
	if (t == FZX_TURNS_MAX)
		FUZZ_FAIL("the servers did not settle in %u turns (idle %d; conn 0-3 open %d%d%d%d, "
			  "unanswered %u %u %u %u)", FZX_TURNS_MAX, fzx_idle(),
			  fzx_conns[0].fd >= 0 && !fzx_conns[0].closed, fzx_conns[1].fd >= 0 && !fzx_conns[1].closed,
			  fzx_conns[2].fd >= 0 && !fzx_conns[2].closed, fzx_conns[3].fd >= 0 && !fzx_conns[3].closed,
			  fzx_conns[0].reqs.n - fzx_conns[0].reqs.next, fzx_conns[1].reqs.n - fzx_conns[1].reqs.next,
			  fzx_conns[2].reqs.n - fzx_conns[2].reqs.next, fzx_conns[3].reqs.n - fzx_conns[3].reqs.next);
}

/* Every connection we shut has been closed by the server. */
static bool fzx_shut_closed(void)
{
	for (unsigned i = 0; i < FZX_CONNS; i++)
		if (fzx_conns[i].fd >= 0 && fzx_conns[i].shut && !fzx_conns[i].closed)
			return false;
	return true;
}

static bool fzx_all_answered(void)
{
	for (unsigned i = 0; i < FZX_CONNS; i++) {
		const struct fzx_conn *c = &fzx_conns[i];
		if (c->fd >= 0 && !c->closed && c->reqs.next < c->reqs.n)
			return false;
	}
	return true;
}

#define FZX_CLOSE_ALL UINT32_MAX          /* fzx_close_conns: every connection */
#define FZX_CLOSE_SHUT (UINT32_MAX - 1)   /* only those already shut */

/* Shut our side of connection `only` (or as said above) and wait until the
 * server closed every one we shut. */
static void fzx_close_conns(unsigned only)
{
	for (unsigned i = 0; i < FZX_CONNS && only != FZX_CLOSE_SHUT; i++) {
		struct fzx_conn *c = &fzx_conns[i];
		if (c->fd >= 0 && (only == FZX_CLOSE_ALL || only == i) && !c->shut) {
			shutdown(c->fd, SHUT_WR);
			c->shut = true;
		}
	}
	fzx_settle(fzx_shut_closed);
	for (unsigned i = 0; i < FZX_CONNS; i++) {
		struct fzx_conn *c = &fzx_conns[i];
		if (c->fd >= 0 && c->closed && c->shut) {
			close(c->fd);
			c->fd = -1;
			c->shut = c->closed = false;
			c->store = NULL;
		}
	}
}

/* Connections are kept from one input to the next (opening four costs
 * more than most inputs); one the server cut off or dropped (its domain was
 * released) is closed here and opened again on first use. xs_store_reset
 * took their watches and transactions. */
static void fzx_conns_fresh(void)
{
	bool stale = false;

	xs_lock();
	for (unsigned i = 0; i < FZX_CONNS; i++) {
		struct fzx_conn *c = &fzx_conns[i];
		if (c->fd >= 0 && (c->closed || c->store->dead)) {
			stale = true;
			if (!c->shut)
				shutdown(c->fd, SHUT_WR);
			c->shut = true;
		}
		memset(c->txs, 0, sizeof(c->txs));
	}
	xs_unlock();
	if (stale)
		fzx_close_conns(FZX_CLOSE_SHUT);
}

/* Queue one message on conn c (opened on first use). */
static void fzx_send(struct fzx_conn *c, uint32_t type, uint32_t tx_id, const void *payload,
		     unsigned len)
{
	struct xsd_sockmsg h = {.type = type, .req_id = ++c->req_id, .tx_id = tx_id, .len = len};
	uint8_t buf[FZX_HDR + XENSTORE_PAYLOAD_MAX];
	size_t off = 0;

	if (c->fd < 0)
		fzx_conn_open(c);
	if (c->shut || c->closed || c->reqs.n >= FZX_REQS_MAX)
		return;
	memcpy(buf, &h, FZX_HDR);
	memcpy(buf + FZX_HDR, payload, len);
	c->reqs.hdr[c->reqs.n++] = h;
	/* The server reads as we write; a full socket is drained by the loop. */
	for (unsigned t = 0; off < FZX_HDR + len && t < FZX_TURNS_MAX; t++) {
		ssize_t n = send(c->fd, buf + off, FZX_HDR + len - off, MSG_NOSIGNAL);
		if (n > 0)
			off += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			return;   /* it cut us off: the settle sees the close */
		else
			fzx_settle(NULL);
	}
}

/* ---- ops mode: the input ---- */

/* The canonical form of a path as conn domid names it ("" if special). */
void fzx_canon(domid_t domid, const char *path, char *buf, size_t len)
{
	if (path[0] == '/' || path[0] == '@')
		snprintf(buf, len, "%s", path);
	else
		snprintf(buf, len, "/local/domain/%u/%s", domid, path);
}

/* path\0 then more strings: the payload of most requests. */
static unsigned fzx_strings(char *buf, unsigned len, const char *const *s, unsigned n)
{
	unsigned off = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(s[i]) + 1;
		if (off + l > len)
			break;
		memcpy(buf + off, s[i], l);
		off += (unsigned)l;
	}
	return off;
}

static void fzx_send_path(struct fzx_op *op, uint32_t type, const char *path, const char *more)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	const char *s[2] = {path, more};

	fzx_send(op->c, type, op->tx_id, buf, fzx_strings(buf, sizeof(buf), s, more ? 2 : 1));
}

static void fzx_send_write(struct fzx_op *op, const char *path, struct fzx_in *in)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	uint8_t lb = fzx_byte(in);
	unsigned plen = (unsigned)strlen(path) + 1;
	unsigned vlen = lb & 0x80 ? (lb & 0x7f) * 32u : lb & 0x0f;

	if (vlen > FZX_VALUE_MAX)
		vlen = FZX_VALUE_MAX;
	memcpy(buf, path, plen);
	for (unsigned i = 0; i < vlen; i++)
		buf[plen + i] = i < FZX_WRITE_VALUE_BYTES ? (char)fzx_byte(in) : (char)('a' + i % 26);
	fzx_send(op->c, XS_WRITE, op->tx_id, buf, plen + vlen);
}

/* SET_PERMS: 1..4 entries, each a letter and a domid 0..3 (3: never known). */
static void fzx_send_perms(struct fzx_op *op, const char *path, struct fzx_in *in)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	unsigned n = 1 + (fzx_byte(in) & 3), off = (unsigned)strlen(path) + 1;

	memcpy(buf, path, off);
	for (unsigned i = 0; i < n; i++) {
		uint8_t e = fzx_byte(in);
		off += (unsigned)snprintf(buf + off, sizeof(buf) - off, "%c%u", "nrwb"[e & 3],
					  (e >> 2) & 3) + 1;
	}
	fzx_send(op->c, XS_SET_PERMS, op->tx_id, buf, off);
}

/* BULK: count nodes under path, as siblings (one WRITE each) or as a chain
 * (one WRITE of path/c/c/...): big and deep subtrees, node quotas. */
static void fzx_send_bulk(struct fzx_op *op, const char *path, struct fzx_in *in)
{
	uint8_t b = fzx_byte(in);
	unsigned count = 1 + (b & 0x7f) % FZX_BULK_MAX;
	char child[XENSTORE_ABS_PATH_MAX + 1];
	size_t off = (size_t)snprintf(child, sizeof(child), "%s", path);

	if (b & 0x80) {
		for (unsigned i = 0; i < count && off + 2 < sizeof(child); i++)
			off += (size_t)snprintf(child + off, sizeof(child) - off, "/c");
		fzx_send_path(op, XS_WRITE, child, NULL);
		return;
	}
	for (unsigned i = 0; i < count; i++) {
		snprintf(child + off, sizeof(child) - off, "/n%u", i);
		fzx_send_path(op, XS_WRITE, child, NULL);
	}
}

static void fzx_send_domain_op(struct fzx_op *op, uint32_t type, uint32_t domid)
{
	char arg[16], buf[32];
	const char *s[3] = {arg, "0", "1"};   /* INTRODUCE: mfn 0, event channel 1 */

	snprintf(arg, sizeof(arg), "%u", domid);
	fzx_send(op->c, type, op->tx_id, buf,
		 fzx_strings(buf, sizeof(buf), s, type == XS_INTRODUCE ? 3 : 1));
}

static void fzx_send_control(struct fzx_op *op, struct fzx_in *in)
{
	static const char *const names[] = {"nodes", "watches", "transactions", "value_bytes",
					    "perms", "events"};
	uint8_t b = fzx_byte(in);
	char buf[64], val[16], dom[16];
	/* "check", "quota" (the table), "quota set NAME N", "quota DOMID" */
	const char *v[4][4] = {{"check"}, {"quota"}, {"quota", "set", names[(b >> 2) % 6], val},
			       {"quota", dom}};
	static const unsigned n[4] = {1, 1, 4, 2};

	snprintf(val, sizeof(val), "%u", fzx_byte(in) & 0x1f);
	snprintf(dom, sizeof(dom), "%u", b >> 6);
	fzx_send(op->c, XS_CONTROL, op->tx_id, buf, fzx_strings(buf, sizeof(buf), v[b & 3], n[b & 3]));
}

/* RAW: one framed message of any type with the input's bytes as payload. */
static void fzx_send_raw(struct fzx_op *op, struct fzx_in *in)
{
	uint32_t type = fzx_byte(in) % (XS_TYPE_COUNT + 2);
	unsigned len = fzx_byte(in);
	char buf[256];

	if (len > in->left)
		len = (unsigned)in->left;
	for (unsigned i = 0; i < len; i++)
		buf[i] = (char)fzx_byte(in);
	fzx_send(op->c, type, op->tx_id, buf, len);
}

/* Decode the op's arguments, note what the judge needs before it runs, send
 * its messages. */
static void fzx_op_send(struct fzx_op *op, struct fzx_in *in, struct fzx_before *before)
{
	static const uint32_t simple[] = {
		[FZX_READ] = XS_READ, [FZX_MKDIR] = XS_MKDIR, [FZX_RM] = XS_RM,
		[FZX_DIRECTORY] = XS_DIRECTORY, [FZX_GET_PERMS] = XS_GET_PERMS,
	};
	char path[XENSTORE_ABS_PATH_MAX + 1], token[8];

	if (op->kind <= FZX_SET_PERMS || op->kind == FZX_WATCH || op->kind == FZX_UNWATCH ||
	    op->kind == FZX_DIRECTORY_PART || op->kind == FZX_BULK) {
		fzx_path(fzx_byte(in), path, sizeof(path));
		fzx_canon(op->c->domid, path, op->path, sizeof(op->path));
	}
	if (op->kind == FZX_INTRODUCE || op->kind == FZX_RELEASE)
		op->domid = fzx_byte(in) & 3;
	fzx_judge_before(op, before);
	switch (op->kind) {
	case FZX_WRITE: fzx_send_write(op, path, in); break;
	case FZX_SET_PERMS: fzx_send_perms(op, path, in); break;
	case FZX_WATCH:
	case FZX_UNWATCH:
		snprintf(token, sizeof(token), "t%u", fzx_byte(in) & 3);
		fzx_send_path(op, op->kind == FZX_WATCH ? XS_WATCH : XS_UNWATCH, path, token);
		break;
	case FZX_TX_START: fzx_send(op->c, XS_TRANSACTION_START, op->tx_id, "", 1); break;
	case FZX_TX_END: fzx_send_path(op, XS_TRANSACTION_END, fzx_byte(in) & 1 ? "F" : "T", NULL); break;
	case FZX_INTRODUCE:
	case FZX_RELEASE:
		fzx_send_domain_op(op, op->kind == FZX_INTRODUCE ? XS_INTRODUCE : XS_RELEASE, op->domid);
		break;
	case FZX_RESET_WATCHES: fzx_send(op->c, XS_RESET_WATCHES, op->tx_id, "", 1); break;
	case FZX_DIRECTORY_PART:
		snprintf(token, sizeof(token), "%u", fzx_byte(in));
		fzx_send_path(op, XS_DIRECTORY_PART, path, token);
		break;
	case FZX_DOMAIN: {
		uint8_t b = fzx_byte(in);
		fzx_send_domain_op(op, b & 4 ? XS_IS_DOMAIN_INTRODUCED : XS_GET_DOMAIN_PATH, b & 3);
		break;
	}
	case FZX_SET_TARGET: {
		uint8_t b = fzx_byte(in);
		snprintf(token, sizeof(token), "%u", (b >> 2) & 3);
		snprintf(path, sizeof(path), "%u", b & 3);
		fzx_send_path(op, XS_SET_TARGET, path, token);
		break;
	}
	case FZX_CONTROL: fzx_send_control(op, in); break;
	case FZX_BULK: fzx_send_bulk(op, path, in); break;
	case FZX_RAW: fzx_send_raw(op, in); break;
	case FZX_RECONNECT: break;
	default: fzx_send_path(op, simple[op->kind], path, NULL); break;
	}
}

/* What a reply means for the connection's transaction slots. */
static void fzx_note_tx(struct fzx_op *op, unsigned slot)
{
	struct fzx_conn *c = op->c;

	if (op->kind == FZX_TX_START && c->rx.last_type == XS_TRANSACTION_START) {
		for (unsigned i = 0; i < FZX_TXS; i++)
			if (!c->txs[i]) {
				c->txs[i] = (uint32_t)strtoul(c->rx.last, NULL, 10);
				break;
			}
	} else if (op->kind == FZX_TX_END && op->tx_id && strcmp(c->rx.last, "ENOENT") != 0 &&
		   strcmp(c->rx.last, "EINVAL") != 0) {
		c->txs[slot] = 0;   /* committed, conflicted or refused: gone either way */
	}
}

/* One op: decode, send, wait for its replies and for the world to settle,
 * judge. */
static void fzx_op_run(struct fzx_in *in);

/* Run one op given as bytes (the set-up, implicit starts and commits). */
static void fzx_op_bytes(const uint8_t *bytes, size_t len)
{
	struct fzx_in in = {bytes, len};

	fzx_op_run(&in);
}

/* An op in transaction slot `slot` that holds none starts one there first. */
static void fzx_tx_begin(struct fzx_conn *c, unsigned slot)
{
	const uint8_t start[] = {(uint8_t)(FZX_TX_START | c->idx << FZX_OP_CONN_SHIFT)};
	uint32_t id;

	fzx_op_bytes(start, sizeof(start));
	if (c->rx.last_type != XS_TRANSACTION_START)
		return;   /* over the quota, or the connection is gone */
	id = (uint32_t)strtoul(c->rx.last, NULL, 10);
	for (unsigned i = 0; i < FZX_TXS; i++)
		if (c->txs[i] == id)
			c->txs[i] = 0;
	c->txs[slot] = id;
}

/* At the end of an input every transaction still open commits, in order of
 * connection and slot: a client finishing its work. */
static void fzx_commit_all(void)
{
	for (unsigned i = 0; i < FZX_CONNS; i++)
		for (unsigned slot = 0; slot < FZX_TXS; slot++) {
			const uint8_t end[] = {(uint8_t)(FZX_TX_END | i << FZX_OP_CONN_SHIFT | FZX_OP_TX),
					       (uint8_t)slot, 0};
			if (fzx_conns[i].txs[slot] && fzx_conns[i].fd >= 0 && !fzx_conns[i].closed)
				fzx_op_bytes(end, sizeof(end));
		}
}

static bool fzx_trace;   /* FZX_TRACE set: each op and its answer on stderr */

static void fzx_trace_op(const struct fzx_op *op)
{
	static const char *const names[FZX_OP_COUNT] = {
		"READ", "WRITE", "MKDIR", "RM", "DIRECTORY", "GET_PERMS", "SET_PERMS", "WATCH",
		"UNWATCH", "TX_START", "TX_END", "INTRODUCE", "RELEASE", "RESET_WATCHES",
		"DIRECTORY_PART", "DOMAIN", "SET_TARGET", "CONTROL", "BULK", "RECONNECT", "RAW",
	};

	fprintf(stderr, "fzx: conn %u (domain %u) %s%s%s tx %u -> %s%s, %u events\n", op->c->idx,
		op->c->domid, names[op->kind], op->path[0] ? " " : "", op->path, op->tx_id,
		op->c->rx.last_type == XS_ERROR ? "" : "ok ",
		op->c->rx.last_type == XS_ERROR ? op->c->rx.last : "", fzx_events_n);
}

/* One op: decode, send, wait for its replies and for the world to settle,
 * judge. An op byte with FZX_OP_TX is followed by a slot byte: the slot's
 * transaction (started first if the slot is empty), or with bit 2 set and
 * the slot empty an id the server does not know. */
static void fzx_op_run(struct fzx_in *in)
{
	struct fzx_op op;
	struct fzx_before before;
	size_t want = fzx_op_len(in->p, in->left), left = in->left;
	uint8_t b = fzx_byte(in), sb;
	unsigned slot = 0;

	op.kind = fzx_op_kind(b);
	op.c = &fzx_conns[(b >> FZX_OP_CONN_SHIFT) & 3];
	op.tx_id = 0;
	op.path[0] = '\0';
	op.domid = UINT32_MAX;
	if (b & FZX_OP_TX) {
		sb = fzx_byte(in);
		slot = sb % FZX_TXS;
		if (!op.c->txs[slot] && !(sb & FZX_TXS) && op.kind != FZX_RECONNECT && !op.c->closed)
			fzx_tx_begin(op.c, slot);
		op.tx_id = op.c->txs[slot] ? op.c->txs[slot] : UINT32_MAX - slot;
	}
	if (op.kind == FZX_RECONNECT) {
		fzx_close_conns(op.c->idx);
		fzx_conn_open(op.c);
		return;
	}
	if (op.c->closed) {   /* cut off: only a RECONNECT brings it back */
		in->p += want - (left - in->left);
		in->left = left - want;
		return;
	}
	if (op.c->fd < 0)
		fzx_conn_open(op.c);
	op.c->rx.last_type = UINT32_MAX;
	op.c->rx.last[0] = '\0';
	fzx_op_send(&op, in, &before);
	if (left - in->left != want)
		FUZZ_FAIL("op kind %u took %zu bytes, fzx_op_len says %zu", op.kind, left - in->left, want);
	fzx_settle(fzx_all_answered);
	fzx_note_tx(&op, slot);
	if (fzx_trace)
		fzx_trace_op(&op);
	fzx_judge(&op, &before);
}

/* The toolstack's part, as dom0 on conn 0: homes owned by the guests, the
 * guests introduced, small quotas (a guest reaches each in a few ops) unless
 * the defaults are asked for. */
static void fzx_setup(uint8_t cfg)
{
	static const uint8_t homes[] = {
		FZX_WRITE, 4, 0, FZX_SET_PERMS, 4, 0, 1 << 2,
		FZX_WRITE, 5, 0, FZX_SET_PERMS, 5, 0, 2 << 2,
	};
	static const uint8_t intro[] = {FZX_INTRODUCE, 1, FZX_INTRODUCE, 2};

	if (!(cfg & FZX_CFG_DEFAULT_QUOTAS))
		for (size_t i = 0; i < sizeof(fzx_small_quotas) / sizeof(fzx_small_quotas[0]); i++)
			xs_quota_set(fzx_small_quotas[i].name, fzx_small_quotas[i].value);
	if (!(cfg & FZX_CFG_NO_HOMES))
		for (size_t off = 0; off < sizeof(homes); off += fzx_op_len(homes + off, sizeof(homes) - off))
			fzx_op_bytes(homes + off, sizeof(homes) - off);
	if (!(cfg & FZX_CFG_NO_INTRODUCE))
		for (size_t off = 0; off < sizeof(intro); off += fzx_op_len(intro + off, sizeof(intro) - off))
			fzx_op_bytes(intro + off, sizeof(intro) - off);
}

static void fzx_ops(const uint8_t *data, size_t size)
{
	struct fzx_in in = {data + 1, size - 1};

	fzx_conns_fresh();
	fzx_setup(data[0]);
	for (unsigned n = 0; in.left && n < FZX_OPS_MAX; n++)
		fzx_op_run(&in);
	fzx_commit_all();
	fzx_settle(NULL);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sim_domain_config dom0 = {.name = "dom0", .privileged = true, .domid = 0};
	char dir[] = "/tmp/xensim-fuzz-xs-XXXXXX";
	char path[108];

	(void)argc, (void)argv;
	fzx_trace = getenv("FZX_TRACE") != NULL;
	if (sim_init() < 0 || sim_domain_create(&dom0) != 0 || !mkdtemp(dir))
		FUZZ_FAIL("cannot set up dom0 or a socket directory");
	snprintf(fzx_dir, sizeof(fzx_dir), "%s", dir);
	fzx_base = event_base_new();
	if (!fzx_base)
		FUZZ_FAIL("no event_base");
	for (unsigned s = 0; s < FZX_SERVERS; s++) {
		struct xs_server_config cfg = {.quiet = true, .base = fzx_base, .domid = (uint16_t)s,
					       .socket_path = path};
		fzx_socket_path(s, path, sizeof(path));
		if (xs_server_start(&cfg, &fzx_srv[s]) < 0)
			FUZZ_FAIL("cannot start the xs_wire server of domain %u on %s", s, path);
	}
	for (unsigned i = 0; i < FZX_CONNS; i++) {
		fzx_conns[i].fd = -1;
		fzx_conns[i].idx = i;
		fzx_conns[i].domid = fzx_conn_domid[i];
	}
	/* The guests become known to the store (their first connection), so
	 * that INTRODUCE finds them from the first input on. */
	for (unsigned i = 2; i < FZX_CONNS; i++)
		fzx_conn_open(&fzx_conns[i]);
	fzx_close_conns(FZX_CLOSE_ALL);
	return 0;
}

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Three in four ops-mode mutations change whole ops (xs_wire_ops.h); the
 * rest, and every raw input, are libFuzzer's byte mutations. */
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	size_t n = 0;

	if (size >= 1 && data[0] >= FZX_RAW_MODE_MAX && seed % 4)
		n = fzx_mutate_ops(data, size, max_size, seed / 4);
	return n ? n : LLVMFuzzerMutate(data, size, max_size);
}

/* The server's open connections must be exactly ours. */
static void fzx_check_open(void)
{
	struct xs_server_stats st;
	unsigned mine[FZX_SERVERS] = {0};

	for (unsigned i = 0; i < FZX_CONNS; i++)
		mine[fzx_conns[i].domid] += fzx_conns[i].fd >= 0 && !fzx_conns[i].closed;
	for (unsigned s = 0; s < FZX_SERVERS; s++) {
		xs_server_stats_get(fzx_srv[s], &st);
		if (st.conns_open != mine[s])
			FUZZ_FAIL("domain %u's server: %llu connections open, the client has %u",
				  s, (unsigned long long)st.conns_open, mine[s]);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > FZX_INPUT_MAX)
		size = FZX_INPUT_MAX;
	if (size == 0 || data[0] < FZX_RAW_MODE_MAX)
		fzx_raw(data, size);
	else
		fzx_ops(data, size);
	event_base_loop(fzx_base, EVLOOP_NONBLOCK);
	fzx_check_open();
	xs_store_check();
	xs_store_reset();
	xs_quota_reset();
	return 0;
}
