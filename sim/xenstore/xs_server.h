/*
 * sim/xenstore: the xs_wire server. Serves the store (xs_store.h) over a unix
 * socket the way xenstored does, so that Debian's libxenstore clients work with
 * XENSTORED_PATH=<socket>. Every socket connection is a connection of
 * cfg.domid (dom0 unless said).
 *
 * Framing: a 16-byte header {type, req_id, tx_id, len} then len payload bytes,
 * len <= XENSTORE_PAYLOAD_MAX. Reads and writes may be partial. A header
 * announcing more than XENSTORE_PAYLOAD_MAX closes that connection (logged);
 * other malformed messages are for the dispatcher, which answers XS_ERROR or
 * asks for a close (-EPROTO). Other clients carry on.
 *
 * Output: replies and watch events may be delivered from any thread; they go
 * through a locked queue and an eventfd to the server's loop. A connection
 * whose queued output passes out_bytes_max is dropped (logged). A client that
 * sends requests without reading replies is paused once its output passes
 * XS_SERVER_OUT_PAUSE_BYTES, and resumed once it has read them.
 *
 * Conventions: 0 or a negative errno.
 */
#ifndef SIM_XS_SERVER_H
#define SIM_XS_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct xs_server;

/* Limits. */
#define XS_SERVER_SOCKET_PATH_MAX 107u            /* sun_path holds 108 with its NUL */
#define XS_SERVER_CONNS_MAX 1024u                 /* open connections at once */
#define XS_SERVER_OUT_BYTES_MAX (1024u * 1024u)   /* queued output per connection */
#define XS_SERVER_OUT_PAUSE_BYTES (256u * 1024u)  /* stop reading requests above */
#define XS_SERVER_LISTEN_BACKLOG 128

struct xs_server_config {
	const char *socket_path;     /* required, at most XS_SERVER_SOCKET_PATH_MAX bytes */
	struct event_base *base;     /* NULL: the server runs its own thread and loop */
	bool quiet;                  /* no open/close line per connection */
	uint16_t domid;              /* the domain every connection acts as (0: dom0;
	                                another: sim/remote's exec'd domains) */
	size_t out_bytes_max;        /* 0: XS_SERVER_OUT_BYTES_MAX */
};

struct xs_server_stats {
	uint64_t conns_accepted;     /* connections served since start */
	uint64_t conns_refused;      /* over XS_SERVER_CONNS_MAX, closed at once */
	uint64_t conns_open;         /* open now */
	uint64_t requests;           /* whole messages passed to the dispatcher */
	uint64_t msgs_out;           /* replies and watch events queued */
	uint64_t drops_oversized;    /* closed: header announced len > payload max */
	uint64_t drops_protocol;     /* closed: the dispatcher said -EPROTO */
	uint64_t drops_backlog;      /* closed: output over out_bytes_max */
};

/* Listen on cfg->socket_path (a stale socket there is replaced; a live one
 * gives -EADDRINUSE; anything else than a socket -EEXIST) and serve it.
 * With cfg->base, the server's events live in that base: the caller runs the
 * loop and calls xs_server_stop() from the loop's thread (or with the loop not
 * running). Without, the server starts its own thread and event_base.
 * -ENAMETOOLONG path too long, -EINVAL no path, -ENOMEM, or the errno of
 * socket/bind/listen/pthread_create. */
int xs_server_start(const struct xs_server_config *cfg, struct xs_server **out);

/* Close every connection (their watches and transactions go), stop listening,
 * remove the socket file, join the server's own thread if any, free. */
void xs_server_stop(struct xs_server *srv);

/* A consistent-enough snapshot of the counters (each read atomically). */
void xs_server_stats_get(const struct xs_server *srv, struct xs_server_stats *out);

/* The path being served (as given). */
const char *xs_server_socket_path(const struct xs_server *srv);

#endif
