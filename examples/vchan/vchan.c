/*
 * A workload plugin (include/xensim_plugin.h) around Debian's unmodified
 * libxenvchan (libxen-dev): a vchan server in one domain, its client in
 * another, a verified byte stream both ways.
 *
 *     plugin $XENSIM/examples/libxensim-vchan.so
 *     workload vchan server=srv client=cli bytes=64k
 *
 * The client sends requests of seeded sizes (1..chunk bytes) of its stream;
 * the server answers every byte it received with one byte of its own stream;
 * a round trip is a request whose answer is all in. Both streams are seeded
 * patterns, so every byte is checked where it arrives: intact and in order.
 * At the end the client closes its vchan, the server must see the close
 * (libxenvchan_is_open), and closes its own. Each end runs from its domain's
 * event loop on the event channel's fd (libxenvchan_fd_for_select), with
 * non-blocking reads and writes, as a select() loop would.
 *
 * A domain crash: the other end sees its vchan close (libxenvchan maps and
 * shares the ring with unmap notification, so the hypervisor clears the dead
 * end's live flag and sends the event, as Linux's gntdev does) and stops;
 * the workload, as the toolstack, decides: a restarted end gets a new session
 * (the survivor closes its vchan, a new server and client connect, both
 * streams start again from byte 0); an end that stays dead ends the run in a
 * clean error. A close by a live peer before the end of the stream is a
 * failure.
 *
 * Copy it: build with
 *     cc -shared -fPIC vchan.c -o libxensim-vchan.so $(pkg-config --cflags xensim) -lxenvchan
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxenvchan.h>
#include <xensim_plugin.h>

#define VC_BUF_BYTES 4096u
#define VC_RING_MAX 1024u    /* in-page rings: see the `ring` parameter */

enum vc_param { P_SERVER, P_CLIENT, P_BYTES, P_CHUNK, P_RING, P_KICK, P_CORRUPT, P_COUNT };

static const struct xensim_param vc_params[P_COUNT + 1] = {
	[P_SERVER] = {"server", XENSIM_P_DOMAIN, NULL, 0, 0, "domain of the vchan server"},
	[P_CLIENT] = {"client", XENSIM_P_DOMAIN, NULL, 0, 0, "domain of the vchan client"},
	[P_BYTES] = {"bytes", XENSIM_P_SIZE, "64k", 1, 1u << 30, "bytes each way"},
	[P_CHUNK] = {"chunk", XENSIM_P_SIZE, "3000", 1, 1u << 20, "largest request of the client"},
	/* Larger rings are separate granted pages, which libxenvchan_close()
	 * releases with munmap(): Linux's gntdev unmaps the grants then, the
	 * sim's userspace mappings do not see it. */
	[P_RING] = {"ring", XENSIM_P_SIZE, "1024", 0, VC_RING_MAX,
		    "read_min and write_min of libxenvchan_server_init (in-page rings)"},
	[P_KICK] = {"kick", XENSIM_P_TIME, "0ms", 0, 0,
		    "each end also polls every T (survives lost notifications; 0: never)"},
	[P_CORRUPT] = {"corrupt", XENSIM_P_UINT, "0", 0, 0,
		       "test only: the client sends byte N (1-based) of its stream wrong"},
};

enum vc_counter { C_SENT, C_RECEIVED, C_ROUNDTRIPS, C_SESSIONS, C_COUNT };
static const char *const vc_counters[C_COUNT + 1] = {"sent", "received", "roundtrips", "sessions",
						      NULL};

struct vc;

struct vc_end {
	struct vc *w;
	int domid, peer;
	bool server;
	atomic_bool alive;           /* its domain (the harness writes, the peer reads) */
	atomic_bool closed;          /* it closed its vchan after a whole session */
	atomic_bool died;            /* its domain died during this session */
	atomic_bool saw_close;       /* it saw its peer's vchan close mid-stream */
	struct libxenvchan *ctrl;
	struct xensim_event *ev, *tick;
	uint64_t sent, recvd;        /* this session: own stream written, peer's verified */
	uint64_t req_end;            /* client: end of the current request in its stream */
	uint64_t rng;
};

struct vc {
	struct xensim_wl *wl;
	uint64_t bytes, chunk, ring, kick_ns, corrupt, seed;
	char path[96];
	unsigned session;
	bool stopping;               /* teardown: the ends' closes are the workload's own */
	atomic_uint ends_closed;     /* this session's ends that closed after a whole stream */
	struct vc_end srv, cli;
	_Atomic uint64_t cnt[C_COUNT];
};

static uint64_t vc_mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* Byte i of a stream: the client's (to_server) or the server's, per session. */
static uint8_t vc_byte(const struct vc *w, bool to_server, uint64_t i)
{
	uint64_t h = vc_mix(w->seed ^ ((uint64_t)w->session << 48) ^ (to_server ? 1ull << 47 : 0) ^
			    (i >> 3));
	return (uint8_t)(h >> ((i & 7) * 8));
}

static void vc_count(struct vc *w, enum vc_counter c, uint64_t n)
{
	atomic_fetch_add(&w->cnt[c], n);
}

static const char *vc_who(const struct vc_end *e)
{
	return e->server ? "server" : "client";
}

/* ---- one end's pump: read and check what came, write what it owes ---- */

/* Bytes read (0: none), -1: libxenvchan says closed, -EIO: a wrong byte. */
static int vc_read(struct vc_end *e)
{
	uint8_t buf[VC_BUF_BYTES];
	struct vc *w = e->w;
	int n = libxenvchan_read(e->ctrl, buf, sizeof(buf));

	for (int k = 0; k < n; k++) {
		uint8_t want = vc_byte(w, e->server, e->recvd + (uint64_t)k);
		if (buf[k] != want) {
			xensim_wl_fail(w->wl, "%s dom %d: byte %lu of the %s's stream (session %u) is "
				       "0x%02x, expected 0x%02x", vc_who(e), e->domid,
				       (unsigned long)(e->recvd + (uint64_t)k + 1),
				       e->server ? "client" : "server", w->session, buf[k], want);
			return -EIO;
		}
	}
	if (n > 0) {
		e->recvd += (uint64_t)n;
		vc_count(w, C_RECEIVED, (uint64_t)n);
		if (!e->server && e->recvd == e->req_end)
			vc_count(w, C_ROUNDTRIPS, 1);
	}
	return n < 0 ? -1 : n;
}

/* How far its stream may go now: the server answers what it got; the
 * client sends one request at a time, of a seeded size. */
static uint64_t vc_write_limit(struct vc_end *e)
{
	struct vc *w = e->w;

	if (e->server)
		return e->recvd;
	if (e->recvd == e->req_end && e->req_end < w->bytes) {
		uint64_t len = 1 + vc_mix(e->rng++) % w->chunk;
		e->req_end += len < w->bytes - e->req_end ? len : w->bytes - e->req_end;
	}
	return e->req_end;
}

static int vc_write(struct vc_end *e)
{
	uint8_t buf[VC_BUF_BYTES];
	struct vc *w = e->w;
	uint64_t n = vc_write_limit(e) - e->sent;

	if (n == 0)
		return 0;
	if (n > sizeof(buf))
		n = sizeof(buf);
	for (uint64_t k = 0; k < n; k++) {
		buf[k] = vc_byte(w, !e->server, e->sent + k);
		if (!e->server && w->session == 0 && e->sent + k + 1 == w->corrupt)
			buf[k] ^= 0x5A;   /* the test-only wrong byte */
	}
	int rc = libxenvchan_write(e->ctrl, buf, (size_t)n);
	if (rc > 0) {
		e->sent += (uint64_t)rc;
		vc_count(w, C_SENT, (uint64_t)rc);
	}
	return rc;
}

/* The end closes its vchan (on its own thread): events first, their fd goes. */
static void vc_end_close(struct vc_end *e)
{
	xensim_event_free(e->ev);
	xensim_event_free(e->tick);
	e->ev = e->tick = NULL;
	libxenvchan_close(e->ctrl);
	e->ctrl = NULL;
}

static void vc_session_end(struct vc_end *e)
{
	struct vc *w = e->w;
	struct xensim_wl *wl = w->wl;

	atomic_store(&e->closed, true);   /* first: the close is a scheduling point, the peer looks */
	vc_end_close(e);
	/* The second end to close reports, once: in free mode the harness may
	 * free everything as soon as it has, so the first must not look again. */
	if (atomic_fetch_add(&w->ends_closed, 1) == 1)
		xensim_wl_done(wl);
}

/* The peer's vchan closed before the end of the stream: its domain died
 * (the workload decides, vc_check and vc_domain_event), or it is wrong. */
static void vc_peer_closed(struct vc_end *e)
{
	struct vc *w = e->w;
	const struct vc_end *peer = e->server ? &w->cli : &w->srv;

	if (peer->died || !peer->alive) {
		if (!e->saw_close)
			xensim_wl_note(w->wl, e->domid, "%s dom %d: the dead %s's vchan closed after %lu "
				       "bytes", vc_who(e), e->domid, vc_who(peer), (unsigned long)e->recvd);
		e->saw_close = true;
		return;
	}
	xensim_wl_fail(w->wl, "%s dom %d: the %s closed the vchan after %lu of %lu bytes (session %u)",
		       vc_who(e), e->domid, vc_who(peer), (unsigned long)e->recvd,
		       (unsigned long)w->bytes, w->session);
}

static void vc_pump(struct vc_end *e)
{
	struct vc *w = e->w;
	int r, s;

	if (!e->ctrl || w->stopping || e->saw_close || xensim_wl_finished(w->wl))
		return;
	do {
		r = vc_read(e);
		if (r == -EIO)
			return;
		s = vc_write(e);
	} while (r > 0 || s > 0);
	/* The server's last write may report -1 though its bytes went out (the
	 * notify after them found the client's port closed): the client, which
	 * closes only once it checked every byte, is the judge of that stream. */
	bool whole = e->recvd == w->bytes && atomic_load(&w->cli.closed);
	if (!e->server && e->recvd == w->bytes)
		vc_session_end(e);   /* all in: the client closes first */
	else if (!libxenvchan_is_open(e->ctrl) && e->server && whole)
		vc_session_end(e);   /* the server saw the client's close */
	else if (!libxenvchan_is_open(e->ctrl))
		vc_peer_closed(e);
}

static void vc_on_event(void *arg)
{
	struct vc_end *e = arg;

	if (!e->ctrl)
		return;
	if (libxenvchan_wait(e->ctrl) < 0) {
		xensim_wl_error(e->w->wl, "%s dom %d: libxenvchan_wait failed: %s", vc_who(e), e->domid,
				strerror(errno));
		return;
	}
	vc_pump(e);
}

static void vc_on_tick(void *arg)
{
	struct vc_end *e = arg;

	xensim_event_add(e->tick, e->w->kick_ns);   /* first: the pump may end it all */
	vc_pump(e);
}

/* ---- set-up, on each end's thread ---- */

static int vc_end_events(struct vc_end *e)
{
	e->ctrl->blocking = 0;
	e->ev = xensim_event_new(e->w->wl, libxenvchan_fd_for_select(e->ctrl), vc_on_event, e);
	if (!e->ev || xensim_event_add(e->ev, 0) < 0)
		return -ENOMEM;
	if (e->w->kick_ns) {
		e->tick = xensim_event_new(e->w->wl, -1, vc_on_tick, e);
		if (!e->tick || xensim_event_add(e->tick, e->w->kick_ns) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void vc_end_reset(struct vc_end *e)
{
	e->sent = e->recvd = e->req_end = 0;
	atomic_store(&e->closed, false);
	atomic_store(&e->died, false);
	atomic_store(&e->saw_close, false);
}

static int vc_server_up(void *arg)
{
	struct vc_end *e = arg;
	struct vc *w = e->w;

	vc_end_reset(e);
	e->ctrl = libxenvchan_server_init(NULL, e->peer, w->path, w->ring, w->ring);
	if (!e->ctrl) {
		xensim_wl_error(w->wl, "server dom %d: libxenvchan_server_init(%d, %s) failed: %s",
				e->domid, e->peer, w->path, strerror(errno));
		return 0;
	}
	return vc_end_events(e);
}

static int vc_client_up(void *arg)
{
	struct vc_end *e = arg;
	struct vc *w = e->w;

	vc_end_reset(e);
	e->ctrl = libxenvchan_client_init(NULL, e->peer, w->path);
	if (!e->ctrl) {
		xensim_wl_error(w->wl, "client dom %d: libxenvchan_client_init(%d, %s) failed: %s",
				e->domid, e->peer, w->path, strerror(errno));
		return 0;
	}
	int rc = vc_end_events(e);
	if (rc == 0)
		vc_pump(e);   /* the first request */
	return rc;
}

static int vc_end_down(void *arg)
{
	vc_end_close(arg);
	return 0;
}

static int vc_session(struct vc *w)
{
	vc_count(w, C_SESSIONS, 1);
	atomic_store(&w->ends_closed, 0);
	int rc = xensim_wl_call(w->wl, w->srv.domid, vc_server_up, &w->srv);
	if (rc == 0 && w->srv.ctrl)
		rc = xensim_wl_call(w->wl, w->cli.domid, vc_client_up, &w->cli);
	return rc;
}

/* ---- the workload's hooks (harness thread) ---- */

static int vc_start(struct xensim_wl *wl)
{
	struct vc *w = calloc(1, sizeof(*w));

	if (!w)
		return -ENOMEM;
	xensim_wl_set_priv(wl, w);
	w->wl = wl;
	w->bytes = xensim_wl_u(wl, P_BYTES);
	w->chunk = xensim_wl_u(wl, P_CHUNK);
	w->ring = xensim_wl_u(wl, P_RING);
	w->kick_ns = xensim_wl_u(wl, P_KICK);
	w->corrupt = xensim_wl_u(wl, P_CORRUPT);
	w->seed = xensim_wl_seed(wl);
	w->srv = (struct vc_end){.w = w, .server = true, .alive = true,
				 .domid = xensim_wl_domid(wl, P_SERVER),
				 .peer = xensim_wl_domid(wl, P_CLIENT)};
	w->cli = (struct vc_end){.w = w, .alive = true, .domid = w->srv.peer, .peer = w->srv.domid,
				 .rng = w->seed};
	if (w->srv.domid == w->cli.domid) {
		xensim_wl_error(wl, "server and client are the same domain (%d)", w->srv.domid);
		return 0;   /* a clean give-up, not the harness's fault */
	}
	snprintf(w->path, sizeof(w->path), "/local/domain/%d/data/vchan-%s", w->srv.domid,
		 xensim_wl_id(wl));
	return vc_session(w);
}

/* A dead end's handles are closed from here (its pages went with it); the
 * libxenvchan struct is freed by hand, as libxenvchan_close would write to
 * the dead domain's shared page and xenstore. */
static void vc_end_dead(struct vc_end *e)
{
	struct libxenvchan *c = e->ctrl;

	xensim_event_free(e->ev);
	xensim_event_free(e->tick);
	e->ev = e->tick = NULL;
	e->ctrl = NULL;
	if (!c)
		return;
	if (c->event)
		xenevtchn_close(c->event);
	if (c->is_server && c->gntshr)
		xengntshr_close(c->gntshr);
	else if (!c->is_server && c->gnttab)
		xengnttab_close(c->gnttab);
	if (c->is_server)
		free(c->xs_path);   /* a client's is never set (libxenvchan_client_init) */
	free(c);
}

static void vc_domain_event(struct xensim_wl *wl, int domid, enum xensim_dom_event ev)
{
	struct vc *w = xensim_wl_priv(wl);
	struct vc_end *e = domid == w->srv.domid ? &w->srv : domid == w->cli.domid ? &w->cli : NULL;

	if (!e)
		return;
	if (ev == XENSIM_DOM_CRASHED) {
		e->alive = false;
		e->died = true;
		vc_end_dead(e);
		return;
	}
	/* Restarted: the survivor's vchan goes too; a new session from byte 0.
	 * Not with a dead peer: libxenvchan_server_init, failing to bind the
	 * event channel to a dead domain, calls libxenvchan_close with its
	 * xs_path not yet set, and close_xs_srv xs_rm()s that garbage pointer
	 * (Debian's 4.17; found under ASan by a nemesis sweep). vc_check ends
	 * the run in a clean error instead. */
	struct vc_end *other = e == &w->srv ? &w->cli : &w->srv;
	e->alive = true;
	if (!other->alive)
		return;
	if (other->ctrl)
		xensim_wl_call(wl, other->domid, vc_end_down, other);
	w->session++;
	xensim_wl_note(wl, domid, "dom %d restarted: session %u", domid, w->session);
	vc_session(w);
}

static void vc_check(struct xensim_wl *wl)
{
	struct vc *w = xensim_wl_priv(wl);
	const struct vc_end *dead = !w->srv.alive ? &w->srv : !w->cli.alive ? &w->cli : NULL;
	const struct vc_end *other = dead == &w->srv ? &w->cli : &w->srv;

	if (dead && !xensim_wl_finished(wl))
		xensim_wl_error(wl, "the %s domain %d died, the stream cannot complete (session %u: "
				"%lu bytes received in all, %lu each way a session; the %s %s its vchan "
				"close)", vc_who(dead), dead->domid, w->session,
				(unsigned long)atomic_load(&w->cnt[C_RECEIVED]),
				(unsigned long)w->bytes, vc_who(other),
				other->saw_close ? "saw" : "did not see yet");
}

static void vc_stop(struct xensim_wl *wl)
{
	struct vc *w = xensim_wl_priv(wl);

	if (!w)
		return;
	w->stopping = true;
	if (w->cli.ctrl && w->cli.alive)
		xensim_wl_call(wl, w->cli.domid, vc_end_down, &w->cli);
	if (w->srv.ctrl && w->srv.alive)
		xensim_wl_call(wl, w->srv.domid, vc_end_down, &w->srv);
	vc_end_dead(&w->cli);   /* whatever a failed call left */
	vc_end_dead(&w->srv);
	free(w);
}

static uint64_t vc_counter(struct xensim_wl *wl, unsigned i)
{
	struct vc *w = xensim_wl_priv(wl);

	return i < C_COUNT ? atomic_load(&w->cnt[i]) : 0;
}

static const struct xensim_workload vc_workload = {
	.name = "vchan",
	.what = "Debian's libxenvchan: a server and a client, a verified byte stream both ways",
	.params = vc_params,
	.counters = vc_counters,
	.start = vc_start,
	.check = vc_check,
	.stop = vc_stop,
	.domain_event = vc_domain_event,
	.counter = vc_counter,
};

XENSIM_PLUGIN("vchan", &vc_workload);
