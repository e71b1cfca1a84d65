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
struct xs_conn *xs_conn_new(domid_t domid, xs_deliver_fn *deliver, void *ctx);
/* Drop the connection: its watches and open transactions go. */
void xs_conn_free(struct xs_conn *conn);
domid_t xs_conn_domid(const struct xs_conn *conn);
/* Handle one request. The reply (or an XS_ERROR with the errno name) is
 * delivered before this returns. Malformed requests get an error reply; -EPROTO
 * means the connection should be closed (unknown type, bad length). */
int xs_conn_request(struct xs_conn *conn, const struct xsd_sockmsg *hdr, const void *payload);

/* The whole store: reset to the initial tree (/, /local, /local/domain, /tool). */
void xs_store_reset(void);
/* Nodes owned by the domain (for leak checks); total nodes. */
unsigned xs_store_nodes_owned(domid_t domid);
unsigned xs_store_nodes_total(void);
/* Verify the whole tree (parents, counts, quotas); aborts with the path on a
 * broken invariant. */
void xs_store_check(void);

/* The errno name of the XS error table ("ENOENT"), or "EINVAL" for unknown. */
const char *xs_errno_name(int err);

#endif
