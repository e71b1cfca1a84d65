/*
 * sim/xenstore: the in-memory store. One dispatcher takes xs_wire messages from
 * connections; two fronts feed it: the in-process xs_* API of Debian's
 * <xenstore.h> (identity = calling domain) and the xs_wire server on a unix
 * socket (a socket connection is dom0). This header is the sim-side view.
 */
#ifndef SIM_XS_STORE_H
#define SIM_XS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>
#include <xen/xen.h>

/* Quotas: a named table; scenarios can lower them (xs_quota_set). */
enum xs_quota_id {
	XS_QUOTA_NODES,          /* nodes owned per domain            (1000) */
	XS_QUOTA_WATCHES,        /* watches per connection            (128)  */
	XS_QUOTA_TRANSACTIONS,   /* open transactions per connection  (10)   */
	XS_QUOTA_VALUE_BYTES,    /* bytes in one node's value         (2048) */
	XS_QUOTA_PERMS,          /* entries in one node's perm list   (5)    */
	XS_QUOTA_EVENTS,         /* queued watch events per connection (1024) */
	XS_QUOTA_COUNT
};
struct xs_quota {
	const char *name;        /* "nodes", "watches", ... for scenario files */
	unsigned value;
	unsigned dflt;
};
const struct xs_quota *xs_quota_table(void);   /* XS_QUOTA_COUNT entries */
int xs_quota_set(const char *name, unsigned value);  /* -ENOENT unknown name */
void xs_quota_reset(void);

/* A connection: one client of the store, with its identity, watches, open
 * transactions and outgoing queue. `deliver` is called for every reply and every
 * watch event (hdr then payload of hdr->len bytes), possibly from another thread
 * (the one that made the change); it must not call back into the store. */
typedef void xs_deliver_fn(void *ctx, const struct xsd_sockmsg *hdr, const void *payload);
struct xs_conn;
/* domid < SIM_DOMID_LIMIT; dom0 and privileged domains may do anything. The
 * connections of a guest (domid != 0) are dropped when it dies or is RELEASEd:
 * no more events, and every request is answered EIO until xs_conn_free. */
struct xs_conn *xs_conn_new(domid_t domid, xs_deliver_fn *deliver, void *ctx);
/* Drop the connection: its watches and open transactions go. */
void xs_conn_free(struct xs_conn *conn);
domid_t xs_conn_domid(const struct xs_conn *conn);
/* Handle one request. The reply (or an XS_ERROR with the errno name) is
 * delivered before this returns. Malformed requests get an error reply (an
 * unknown or reply-only type gets ENOSYS, as xenstored answers); -EPROTO means
 * the connection should be closed (hdr->len > XENSTORE_PAYLOAD_MAX: no reply). */
int xs_conn_request(struct xs_conn *conn, const struct xsd_sockmsg *hdr, const void *payload);

/* Pending watch events (XS_QUOTA_EVENTS). A front that queues events may let
 * the store bound its queue: after xs_conn_events_bounded(), each event
 * delivered counts as pending until the front calls xs_conn_event_taken();
 * at the quota, further events for that connection are dropped and counted
 * (the in-process xs_* handles do this). Connections not bounded are not
 * limited here (the socket server bounds its own output). */
void xs_conn_events_bounded(struct xs_conn *conn);
void xs_conn_event_taken(struct xs_conn *conn);
uint64_t xs_conn_events_dropped(const struct xs_conn *conn);

/* Counters since the process started (or the last xs_store_reset). */
struct xs_store_stats {
	uint64_t requests;          /* messages dispatched */
	uint64_t errors;            /* XS_ERROR replies */
	uint64_t quota_refusals;    /* requests refused by a quota */
	uint64_t events;            /* watch events delivered */
	uint64_t events_dropped;    /* over XS_QUOTA_EVENTS */
	uint64_t commits;           /* transactions committed */
	uint64_t conflicts;         /* TRANSACTION_END "T" answered EAGAIN */
	uint64_t conns_dropped;     /* in-process connections of a domain that went */
	uint64_t partial_commits;   /* committed after a change in them was refused */
};
void xs_store_stats_get(struct xs_store_stats *out);
/* A transaction committed ("T") after one of its own changes (WRITE, MKDIR,
 * SET_PERMS, an RM of a node that exists) was refused publishes a partial
 * view: half of an update its client meant as one. Xen's xenstored commits
 * it too; it is the client's bug, counted in stats.partial_commits, and the
 * last one described here ("domain 2 committed transaction 5 after its WRITE
 * of device/vbd/51712/ring-ref failed (ENOSPC)"; "" if none). */
void xs_store_partial_last(char *buf, size_t len);

/* The whole store: reset to the initial tree (/, /local, /local/domain, /tool).
 * Connections stay open but lose their watches and transactions; domains lose
 * their introduced state; quotas are kept (xs_quota_reset). */
void xs_store_reset(void);
/* The toolstack's part of domain creation (home.c): every new domain gets
 * /local/domain/N with name, domid and data/, removed when it dies. On by
 * default; the store's own unit tests, which count every node of a store
 * without a toolstack, turn it off. */
void xs_home_set_enabled(bool on);
/* When a domain dies or is released, the nodes it owned are removed, as
 * xenstored does since XSA-419; true keeps them, owned by dom0 (xenstored -K,
 * the XSA-322 behaviour). */
void xs_store_set_keep_orphans(bool on);
/* Homes owned by dom0 with read for the domain, as libxl writes them (the
 * standalone start), instead of owned by the domain (the default). */
void xs_home_set_libxl(bool on);

/* Nodes owned by the domain (for leak checks); total nodes. */
unsigned xs_store_nodes_owned(domid_t domid);
unsigned xs_store_nodes_total(void);
/* Verify the whole store (every node's parent lists it once, children exist,
 * owner counts, permissions name only live domains, connection counts);
 * aborts with the path on a broken invariant. Usage above a quota that was
 * lowered since is not an error. */
void xs_store_check(void);

/* The errno name of the XS error table ("ENOENT"), or "EINVAL" for unknown. */
const char *xs_errno_name(int err);

#endif
