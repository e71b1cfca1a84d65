/*
 * The xs_wire server: a unix socket served with libevent; every connection is
 * a dom0 connection of the store (xs_store.h). See xs_server.h for the rules.
 *
 * Threads. Everything about sockets and bufferevents belongs to the loop's
 * thread. The store delivers replies and watch events through xsw_deliver(),
 * from whichever thread made the change and possibly under the store's own
 * lock, so xsw_deliver() only appends to the connection's `pending` buffer
 * under srv->out_lock and pokes an eventfd; the loop moves pending output to
 * the socket. Lock order: store lock -> out_lock; this file never calls into
 * the store while holding out_lock.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "sim/xenstore/xs_store.h"

#define XSW_ASSERT(cond, ...) SIM_ASSERT_IN("xs_server", cond, __VA_ARGS__)

#define XSW_HDR_BYTES sizeof(struct xsd_sockmsg)
#define XSW_ACCEPT_RETRY_MS 100
#define XSW_DROP_LOGS_PER_S 10    /* a storm of bad clients must not flood the log */

_Static_assert(sizeof(struct xsd_sockmsg) == 16, "xs_wire header is 4 x uint32");
_Static_assert(XS_SERVER_OUT_PAUSE_BYTES < XS_SERVER_OUT_BYTES_MAX,
	       "a paused client must not be dropped by its own replies");
_Static_assert(XS_SERVER_OUT_BYTES_MAX >= 16 * (XSW_HDR_BYTES + XENSTORE_PAYLOAD_MAX),
	       "the output bound holds many full messages");

/* Why a connection closed: one word for the log line. */
enum xsw_close_why {
	XSW_CLOSE_EOF,
	XSW_CLOSE_ERROR,
	XSW_CLOSE_OVERSIZED,
	XSW_CLOSE_PROTOCOL,
	XSW_CLOSE_BACKLOG,
	XSW_CLOSE_NOMEM,
	XSW_CLOSE_STOPPING,
};

static const char *const xsw_close_names[] = {
	[XSW_CLOSE_EOF] = "closed by client",
	[XSW_CLOSE_ERROR] = "socket error",
	[XSW_CLOSE_OVERSIZED] = "dropped: oversized message",
	[XSW_CLOSE_PROTOCOL] = "dropped: protocol violation",
	[XSW_CLOSE_BACKLOG] = "dropped: output backlog over the bound",
	[XSW_CLOSE_NOMEM] = "dropped: out of memory",
	[XSW_CLOSE_STOPPING] = "server stopping",
};

struct xsw_conn {
	struct xs_server *srv;
	uint64_t id;
	struct bufferevent *bev;
	struct xs_conn *store;
	uint64_t requests;
	bool paused;                  /* EV_READ off until output drains */
	bool doomed;                  /* close at the end of this flush */
	struct xsw_conn *prev, *next; /* srv->conns, loop thread only */

	/* Under srv->out_lock. */
	struct evbuffer *pending;     /* delivered, not yet on the socket */
	bool ready;                   /* on srv->ready */
	bool overflow;                /* pending passed out_bytes_max */
	struct xsw_conn *ready_next;
};

struct xsw_counters {
	_Atomic uint64_t conns_accepted, conns_refused, conns_open, requests, msgs_out;
	_Atomic uint64_t drops_oversized, drops_protocol, drops_backlog;
};

struct xs_server {
	char path[XS_SERVER_SOCKET_PATH_MAX + 1];
	struct event_base *base;
	bool own_thread;
	pthread_t thread;
	bool quiet;
	uint16_t domid;               /* every connection's domain */
	size_t out_bytes_max;
	struct evconnlistener *listener;
	struct event *retry_ev;       /* re-enable accepting after EMFILE */
	int wake_fd;                  /* eventfd: pending output or stop */
	struct event *wake_ev;
	atomic_bool stopping;
	struct xsw_conn *conns;       /* loop thread only */
	uint64_t conn_id_next;
	unsigned conns_doomed;
	time_t drop_log_window_s;     /* rate limit of drop lines, loop thread */
	unsigned drop_logs, drop_logs_suppressed;

	pthread_mutex_t out_lock;
	struct xsw_conn *ready;       /* conns with pending output, under out_lock */
	bool wake_posted;             /* under out_lock */

	struct xsw_counters n;
};

/* The server whose read callback runs on this thread: its deliveries are
 * flushed when the callback ends, so they need no eventfd wake-up. */
static _Thread_local struct xs_server *xsw_dispatching;

static void xsw_count(_Atomic uint64_t *counter, int64_t delta)
{
	atomic_fetch_add_explicit(counter, (uint64_t)delta, memory_order_relaxed);
}

/* Loop thread: may a drop be logged now? At most XSW_DROP_LOGS_PER_S a
 * second; the count of the others is logged when the next second starts. */
static bool xsw_drop_log_ok(struct xs_server *srv)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec != srv->drop_log_window_s) {
		if (srv->drop_logs_suppressed)
			sim_log("xenstored %s: %u more dropped connections not logged", srv->path,
				srv->drop_logs_suppressed);
		srv->drop_log_window_s = now.tv_sec;
		srv->drop_logs = 0;
		srv->drop_logs_suppressed = 0;
	}
	if (srv->drop_logs < XSW_DROP_LOGS_PER_S) {
		srv->drop_logs++;
		return true;
	}
	srv->drop_logs_suppressed++;
	return false;
}

static void xsw_wake(struct xs_server *srv)
{
	uint64_t one = 1;

	/* A full counter (EAGAIN) still wakes the loop: nothing to do then. */
	if (write(srv->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		sim_log("xs_server %s: eventfd write: %s", srv->path, strerror(errno));
}

/* Called by the store, from any thread, possibly under the store's lock. */
static void xsw_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct xsw_conn *c = ctx;
	struct xs_server *srv = c->srv;
	size_t bytes = XSW_HDR_BYTES + hdr->len;
	bool wake = false;

	XSW_ASSERT(hdr->len <= XENSTORE_PAYLOAD_MAX, "conn %llu: store delivered %u bytes",
		   (unsigned long long)c->id, hdr->len);
	pthread_mutex_lock(&srv->out_lock);
	if (c->overflow || evbuffer_get_length(c->pending) + bytes > srv->out_bytes_max) {
		c->overflow = true;
	} else if (evbuffer_add(c->pending, hdr, XSW_HDR_BYTES) < 0 ||
		   evbuffer_add(c->pending, payload, hdr->len) < 0) {
		c->overflow = true;   /* out of memory: treat like a backlog */
	} else {
		xsw_count(&srv->n.msgs_out, 1);
	}
	if (!c->ready) {
		c->ready = true;
		c->ready_next = srv->ready;
		srv->ready = c;
	}
	if (xsw_dispatching != srv && !srv->wake_posted) {
		wake = true;
		srv->wake_posted = true;
	}
	pthread_mutex_unlock(&srv->out_lock);
	if (wake)
		xsw_wake(srv);
}

/* Under out_lock: hand the pending output to the socket; false if the
 * connection went over its output bound. */
static bool xsw_conn_move_pending(struct xsw_conn *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->overflow)
		return false;
	if (evbuffer_add_buffer(out, c->pending) < 0)
		return false;
	return evbuffer_get_length(out) <= c->srv->out_bytes_max;
}

static void xsw_ready_unlink(struct xs_server *srv, struct xsw_conn *c)
{
	struct xsw_conn **pp = &srv->ready;

	while (*pp && *pp != c)
		pp = &(*pp)->ready_next;
	XSW_ASSERT(*pp == c, "conn %llu marked ready but not on the list",
		   (unsigned long long)c->id);
	*pp = c->ready_next;
	c->ready = false;
}

static void xsw_log_conn(const struct xsw_conn *c, const char *what)
{
	if (!c->srv->quiet)
		sim_log("xenstored %s: conn %llu %s (%llu requests)", c->srv->path,
			(unsigned long long)c->id, what, (unsigned long long)c->requests);
}

static void xsw_conn_close(struct xsw_conn *c, enum xsw_close_why why)
{
	struct xs_server *srv = c->srv;

	/* First the store: after xs_conn_free no delivery can reach c. */
	xs_conn_free(c->store);
	pthread_mutex_lock(&srv->out_lock);
	if (c->ready)
		xsw_ready_unlink(srv, c);
	evbuffer_free(c->pending);
	pthread_mutex_unlock(&srv->out_lock);
	if (c->doomed)
		srv->conns_doomed--;
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	bufferevent_free(c->bev);
	xsw_count(&srv->n.conns_open, -1);
	if (why == XSW_CLOSE_BACKLOG) {
		/* Logged even when quiet (rate-limited): a drop is never silent. */
		if (xsw_drop_log_ok(srv))
			sim_log("xenstored %s: conn %llu: more than %zu bytes of output queued",
				srv->path, (unsigned long long)c->id, srv->out_bytes_max);
		xsw_count(&srv->n.drops_backlog, 1);
	}
	xsw_log_conn(c, xsw_close_names[why]);
	free(c);
}

/* Loop thread: move every connection's pending output to its socket, then
 * close those that went over their bound. */
static void xsw_flush_ready(struct xs_server *srv)
{
	pthread_mutex_lock(&srv->out_lock);
	for (struct xsw_conn *c = srv->ready; c; c = c->ready_next) {
		c->ready = false;
		if (!xsw_conn_move_pending(c) && !c->doomed) {
			c->doomed = true;
			srv->conns_doomed++;
		}
	}
	srv->ready = NULL;
	srv->wake_posted = false;
	pthread_mutex_unlock(&srv->out_lock);
	for (struct xsw_conn *c = srv->conns, *next; c && srv->conns_doomed; c = next) {
		next = c->next;
		if (c->doomed)
			xsw_conn_close(c, XSW_CLOSE_BACKLOG);
	}
}

static void xsw_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xs_server *srv = arg;
	uint64_t count;

	(void)what;
	if (read(fd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		sim_log("xs_server %s: eventfd read: %s", srv->path, strerror(errno));
	if (atomic_load(&srv->stopping))
		event_base_loopbreak(srv->base);
	else
		xsw_flush_ready(srv);
}

/* Hand one whole message to the store. 1: a message was handled, 0: more
 * bytes are needed, < 0: close the connection (the enum value negated). */
static int xsw_take_message(struct xsw_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct xs_server *srv = c->srv;
	struct xsd_sockmsg hdr;
	char *payload;
	int rc;

	if (evbuffer_copyout(in, &hdr, XSW_HDR_BYTES) < (ev_ssize_t)XSW_HDR_BYTES)
		return 0;
	if (hdr.len > XENSTORE_PAYLOAD_MAX) {
		if (xsw_drop_log_ok(srv))
			sim_log("xenstored %s: conn %llu: message type %u req_id %u announces %u "
				"payload bytes, more than %u", srv->path, (unsigned long long)c->id,
				hdr.type, hdr.req_id, hdr.len, XENSTORE_PAYLOAD_MAX);
		xsw_count(&srv->n.drops_oversized, 1);
		return -XSW_CLOSE_OVERSIZED;
	}
	if (evbuffer_get_length(in) < XSW_HDR_BYTES + hdr.len)
		return 0;
	/* Exactly len bytes, so that a sanitizer sees any read past the payload. */
	payload = malloc(hdr.len ? hdr.len : 1);
	if (!payload)
		return -XSW_CLOSE_NOMEM;   /* no read event would come to retry it */
	evbuffer_drain(in, XSW_HDR_BYTES);
	rc = evbuffer_remove(in, payload, hdr.len);
	XSW_ASSERT(rc == (int)hdr.len, "conn %llu: %d of %u payload bytes",
		   (unsigned long long)c->id, rc, hdr.len);
	c->requests++;
	xsw_count(&srv->n.requests, 1);
	rc = xs_conn_request(c->store, &hdr, payload);
	free(payload);
	if (rc == -EPROTO) {
		if (xsw_drop_log_ok(srv))
			sim_log("xenstored %s: conn %llu: protocol violation in message type %u "
				"req_id %u tx_id %u len %u", srv->path, (unsigned long long)c->id,
				hdr.type, hdr.req_id, hdr.tx_id, hdr.len);
		xsw_count(&srv->n.drops_protocol, 1);
		return -XSW_CLOSE_PROTOCOL;
	}
	return 1;
}

/* Move this connection's own replies to its socket now (rather than on the
 * next wake-up) so that its output size is known for flow control. */
static int xsw_conn_collect(struct xsw_conn *c)
{
	bool ok;

	pthread_mutex_lock(&c->srv->out_lock);
	ok = xsw_conn_move_pending(c);
	pthread_mutex_unlock(&c->srv->out_lock);
	return ok ? 0 : -XSW_CLOSE_BACKLOG;
}

/* Handle every whole message buffered, unless the client stops reading its
 * replies: then pause until the write callback sees them drained. */
static int xsw_conn_process(struct xsw_conn *c)
{
	int rc = 1;

	while (rc == 1 && !c->paused) {
		rc = xsw_take_message(c);
		if (rc == 1 && xsw_conn_collect(c) < 0)
			rc = -XSW_CLOSE_BACKLOG;
		if (rc == 1 && evbuffer_get_length(bufferevent_get_output(c->bev)) >
				       XS_SERVER_OUT_PAUSE_BYTES) {
			c->paused = true;
			bufferevent_disable(c->bev, EV_READ);
		}
	}
	return rc < 0 ? rc : 0;
}

static void xsw_read_cb(struct bufferevent *bev, void *arg)
{
	struct xsw_conn *c = arg;
	struct xs_server *srv = c->srv;
	int rc;

	(void)bev;
	xsw_dispatching = srv;
	rc = xsw_conn_process(c);
	if (rc < 0)
		xsw_conn_close(c, (enum xsw_close_why)-rc);
	/* c may be gone from here on. */
	xsw_flush_ready(srv);
	xsw_dispatching = NULL;
}

/* The output drained below the low watermark: resume a paused client. */
static void xsw_write_cb(struct bufferevent *bev, void *arg)
{
	struct xsw_conn *c = arg;

	if (!c->paused)
		return;
	c->paused = false;
	bufferevent_enable(bev, EV_READ);
	xsw_read_cb(bev, arg);   /* requests may already be buffered */
}

static void xsw_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct xsw_conn *c = arg;

	(void)bev;
	if (what & BEV_EVENT_EOF) {
		xsw_conn_close(c, XSW_CLOSE_EOF);
	} else if (what & BEV_EVENT_ERROR) {
		if (!c->srv->quiet)
			sim_log("xenstored %s: conn %llu: %s", c->srv->path,
				(unsigned long long)c->id, strerror(EVUTIL_SOCKET_ERROR()));
		xsw_conn_close(c, XSW_CLOSE_ERROR);
	}
}

static struct xsw_conn *xsw_conn_new(struct xs_server *srv, evutil_socket_t fd)
{
	struct xsw_conn *c = calloc(1, sizeof(*c));

	if (!c)
		goto fail;
	c->srv = srv;
	c->pending = evbuffer_new();
	if (!c->pending)
		goto fail_conn;
	c->bev = bufferevent_socket_new(srv->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev)
		goto fail_pending;
	c->store = xs_conn_new(srv->domid, xsw_deliver, c);
	if (!c->store)
		goto fail_bev;
	return c;

fail_bev:
	bufferevent_free(c->bev);   /* closes fd */
	fd = -1;
fail_pending:
	evbuffer_free(c->pending);
fail_conn:
	free(c);
fail:
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void xsw_accept_cb(struct evconnlistener *listener, evutil_socket_t fd,
			  struct sockaddr *sa, int salen, void *arg)
{
	struct xs_server *srv = arg;
	struct xsw_conn *c;

	(void)listener, (void)sa, (void)salen;
	if (atomic_load(&srv->n.conns_open) >= XS_SERVER_CONNS_MAX) {
		sim_log("xenstored %s: refusing a connection: %u already open", srv->path,
			XS_SERVER_CONNS_MAX);
		xsw_count(&srv->n.conns_refused, 1);
		close(fd);
		return;
	}
	c = xsw_conn_new(srv, fd);
	if (!c) {
		sim_log("xenstored %s: cannot set up a connection (out of memory)", srv->path);
		xsw_count(&srv->n.conns_refused, 1);
		return;
	}
	c->id = ++srv->conn_id_next;
	c->next = srv->conns;
	if (srv->conns)
		srv->conns->prev = c;
	srv->conns = c;
	xsw_count(&srv->n.conns_accepted, 1);
	xsw_count(&srv->n.conns_open, 1);
	bufferevent_setcb(c->bev, xsw_read_cb, xsw_write_cb, xsw_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_WRITE, XS_SERVER_OUT_PAUSE_BYTES / 4, 0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (!srv->quiet)
		sim_log("xenstored %s: conn %llu open", srv->path, (unsigned long long)c->id);
}

static void xsw_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct xs_server *srv = arg;

	(void)fd, (void)what;
	evconnlistener_enable(srv->listener);
}

/* accept() failed: out of descriptors or memory would make the listener spin,
 * so pause accepting for a moment. */
static void xsw_accept_error_cb(struct evconnlistener *listener, void *arg)
{
	struct xs_server *srv = arg;
	struct timeval tv = {0, XSW_ACCEPT_RETRY_MS * 1000};
	int err = EVUTIL_SOCKET_ERROR();

	sim_log("xenstored %s: accept: %s; retrying in %d ms", srv->path, strerror(err),
		XSW_ACCEPT_RETRY_MS);
	evconnlistener_disable(listener);
	event_add(srv->retry_ev, &tv);
}

/* A socket file left by a dead server is replaced; a live server is not. */
static int xsw_clear_stale(const char *path, const struct sockaddr_un *sa)
{
	struct stat st;
	int probe, rc = 0;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe < 0)
		return -errno;
	if (connect(probe, (const struct sockaddr *)sa, sizeof(*sa)) == 0)
		rc = -EADDRINUSE;
	else if (unlink(path) < 0 && errno != ENOENT)
		rc = -errno;
	close(probe);
	return rc;
}

static int xsw_listen_fd(const char *path, int *fd_out)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	int fd, rc;

	_Static_assert(sizeof(sa.sun_path) == XS_SERVER_SOCKET_PATH_MAX + 1, "sun_path size");
	memcpy(sa.sun_path, path, len + 1);
	rc = xsw_clear_stale(path, &sa);
	if (rc < 0)
		return rc;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, XS_SERVER_LISTEN_BACKLOG) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

static int xsw_events_setup(struct xs_server *srv, int listen_fd)
{
	srv->listener = evconnlistener_new(srv->base, xsw_accept_cb, srv,
					   LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, -1,
					   listen_fd);
	if (!srv->listener) {
		close(listen_fd);
		return -ENOMEM;
	}
	evconnlistener_set_error_cb(srv->listener, xsw_accept_error_cb);
	srv->retry_ev = evtimer_new(srv->base, xsw_retry_cb, srv);
	srv->wake_ev = event_new(srv->base, srv->wake_fd, EV_READ | EV_PERSIST, xsw_wake_cb, srv);
	if (!srv->retry_ev || !srv->wake_ev || event_add(srv->wake_ev, NULL) < 0)
		return -ENOMEM;
	return 0;
}

static void *xsw_thread_main(void *arg)
{
	struct xs_server *srv = arg;

	while (!atomic_load(&srv->stopping))
		if (event_base_loop(srv->base, EVLOOP_NO_EXIT_ON_EMPTY) < 0)
			break;
	return NULL;
}

static void xsw_teardown(struct xs_server *srv)
{
	while (srv->conns)
		xsw_conn_close(srv->conns, XSW_CLOSE_STOPPING);
	if (srv->listener) {
		evconnlistener_free(srv->listener);
		unlink(srv->path);
	}
	if (srv->retry_ev)
		event_free(srv->retry_ev);
	if (srv->wake_ev)
		event_free(srv->wake_ev);
	if (srv->wake_fd >= 0)
		close(srv->wake_fd);
	if (srv->own_thread && srv->base)
		event_base_free(srv->base);
	pthread_mutex_destroy(&srv->out_lock);
	free(srv);
}

static int xsw_config_check(const struct xs_server_config *cfg)
{
	if (!cfg || !cfg->socket_path || !cfg->socket_path[0])
		return -EINVAL;
	if (strlen(cfg->socket_path) > XS_SERVER_SOCKET_PATH_MAX)
		return -ENAMETOOLONG;
	return 0;
}

/* A client hanging up must not kill the process with SIGPIPE on our next
 * write; only an untouched default disposition is changed. */
static void xsw_ignore_sigpipe(void)
{
	struct sigaction old;

	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
}

static struct xs_server *xsw_server_alloc(const struct xs_server_config *cfg)
{
	struct xs_server *srv = calloc(1, sizeof(*srv));

	if (!srv)
		return NULL;
	strcpy(srv->path, cfg->socket_path);
	srv->quiet = cfg->quiet;
	srv->domid = cfg->domid;
	srv->out_bytes_max = cfg->out_bytes_max ? cfg->out_bytes_max : XS_SERVER_OUT_BYTES_MAX;
	srv->wake_fd = -1;
	pthread_mutex_init(&srv->out_lock, NULL);
	return srv;
}

int xs_server_start(const struct xs_server_config *cfg, struct xs_server **out)
{
	struct xs_server *srv = NULL;
	int listen_fd = -1, rc;

	rc = xsw_config_check(cfg);
	if (rc < 0)
		goto fail;
	xsw_ignore_sigpipe();
	rc = -ENOMEM;
	srv = xsw_server_alloc(cfg);
	if (!srv)
		goto fail;
	srv->own_thread = !cfg->base;
	srv->base = cfg->base ? cfg->base : event_base_new();
	srv->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!srv->base || srv->wake_fd < 0)
		goto fail;
	rc = xsw_listen_fd(srv->path, &listen_fd);
	if (rc < 0)
		goto fail;
	rc = xsw_events_setup(srv, listen_fd);
	if (rc < 0)
		goto fail;
	if (srv->own_thread) {
		rc = -pthread_create(&srv->thread, NULL, xsw_thread_main, srv);
		if (rc < 0)
			goto fail;
	}
	*out = srv;
	return 0;

fail:   /* the caller reports it: it knows what the path was for */
	if (srv)
		xsw_teardown(srv);
	return rc;
}

void xs_server_stop(struct xs_server *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stopping, true);
	if (srv->own_thread) {
		xsw_wake(srv);
		pthread_join(srv->thread, NULL);
	}
	xsw_teardown(srv);
}

void xs_server_stats_get(const struct xs_server *srv, struct xs_server_stats *out)
{
	const struct xsw_counters *n = &srv->n;

	out->conns_accepted = atomic_load(&n->conns_accepted);
	out->conns_refused = atomic_load(&n->conns_refused);
	out->conns_open = atomic_load(&n->conns_open);
	out->requests = atomic_load(&n->requests);
	out->msgs_out = atomic_load(&n->msgs_out);
	out->drops_oversized = atomic_load(&n->drops_oversized);
	out->drops_protocol = atomic_load(&n->drops_protocol);
	out->drops_backlog = atomic_load(&n->drops_backlog);
}

const char *xs_server_socket_path(const struct xs_server *srv)
{
	return srv->path;
}
