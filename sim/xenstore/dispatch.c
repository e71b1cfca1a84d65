/*
 * sim/xenstore: connections and the dispatcher. The protocol is one table;
 * privilege and transaction policy are checked here once; handlers return a
 * negative errno and this is the one place that turns it into an XS_ERROR
 * reply carrying the errno's name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

enum {
	XS_OPF_PRIV = 1u << 0,   /* dom0 / privileged domains only (else EACCES) */
	XS_OPF_NOTX = 1u << 1,   /* tx_id ignored, even an unknown one */
};

static const struct xs_op {
	const char *name;
	xs_op_fn *fn;
	unsigned flags;
} xs_ops[XS_TYPE_COUNT] = {
	[XS_CONTROL] = {"CONTROL", xs_op_control, XS_OPF_PRIV},
	[XS_DIRECTORY] = {"DIRECTORY", xs_op_directory, 0},
	[XS_READ] = {"READ", xs_op_read, 0},
	[XS_GET_PERMS] = {"GET_PERMS", xs_op_get_perms, 0},
	[XS_WATCH] = {"WATCH", xs_op_watch, XS_OPF_NOTX},
	[XS_UNWATCH] = {"UNWATCH", xs_op_unwatch, XS_OPF_NOTX},
	[XS_TRANSACTION_START] = {"TRANSACTION_START", xs_op_tx_start, 0},
	[XS_TRANSACTION_END] = {"TRANSACTION_END", xs_op_tx_end, 0},
	[XS_INTRODUCE] = {"INTRODUCE", xs_op_introduce, XS_OPF_PRIV},
	[XS_RELEASE] = {"RELEASE", xs_op_release, XS_OPF_PRIV},
	[XS_GET_DOMAIN_PATH] = {"GET_DOMAIN_PATH", xs_op_get_domain_path, 0},
	[XS_WRITE] = {"WRITE", xs_op_write, 0},
	[XS_MKDIR] = {"MKDIR", xs_op_mkdir, 0},
	[XS_RM] = {"RM", xs_op_rm, 0},
	[XS_SET_PERMS] = {"SET_PERMS", xs_op_set_perms, 0},
	[XS_WATCH_EVENT] = {"WATCH_EVENT", NULL, 0},    /* server to client only */
	[XS_ERROR] = {"ERROR", NULL, 0},
	[XS_IS_DOMAIN_INTRODUCED] = {"IS_DOMAIN_INTRODUCED", xs_op_is_introduced, XS_OPF_PRIV},
	[XS_RESUME] = {"RESUME", xs_op_resume, XS_OPF_PRIV},
	[XS_SET_TARGET] = {"SET_TARGET", xs_op_set_target, XS_OPF_PRIV},
	[XS_RESET_WATCHES] = {"RESET_WATCHES", xs_op_reset_watches, 0},
	[XS_DIRECTORY_PART] = {"DIRECTORY_PART", xs_op_directory_part, 0},
};

static const char *xs_op_name(uint32_t type)
{
	return type < XS_TYPE_COUNT && xs_ops[type].name ? xs_ops[type].name : "(unknown)";
}

/* ---- errors ---- */

const char *xs_errno_name(int err)
{
	int e = err < 0 ? -err : err;

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (xsd_errors[i].errnum == e)
			return xsd_errors[i].errstring;
	return "EINVAL";
}

int xs_errno_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]); i++)
		if (strcmp(xsd_errors[i].errstring, name) == 0)
			return xsd_errors[i].errnum;
	return EINVAL;
}

/* ---- connections ---- */

/* Connections made so far (under the lock): their order, for watch events. */
static uint64_t xs_conns_created;

static struct xs_conn *xs_conn_create(domid_t domid, bool priv, bool inproc,
				      xs_deliver_fn *deliver, void (*dropped)(void *ctx),
				      void *ctx)
{
	struct xs_conn *c;

	XS_ASSERT(domid < XS_DOMID_SLOTS, "connection for domid %u (limit %u)", domid,
		  XS_DOMID_SLOTS);
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->domid = domid;
	snprintf(c->home, sizeof(c->home), "/local/domain/%u", domid);
	c->priv = priv;
	c->inproc = inproc;
	c->deliver = deliver;
	c->dropped = dropped;
	c->ctx = ctx;
	c->tx_next_id = 1;
	atomic_init(&c->events_pending, 0);
	xs_lock();
	xs_g.doms[domid].alive = true;   /* it talks, whatever the hooks said yet */
	xs_tree_touched();
	c->order = ++xs_conns_created;
	c->next = xs_g.conns;
	if (c->next)
		c->next->prev = c;
	xs_g.conns = c;
	xs_unlock();
	return c;
}

struct xs_conn *xs_conn_new(domid_t domid, xs_deliver_fn *deliver, void *ctx)
{
	bool priv = domid == 0 || sim_domain_privileged(domid);

	return xs_conn_create(domid, priv, false, deliver, NULL, ctx);
}

struct xs_conn *xs_conn_new_inproc(domid_t domid, bool priv, xs_deliver_fn *deliver,
				   void (*dropped)(void *ctx), void *ctx)
{
	return xs_conn_create(domid, priv, true, deliver, dropped, ctx);
}

void xs_conn_free(struct xs_conn *c)
{
	if (!c)
		return;
	xs_lock();
	if (c->prev)
		c->prev->next = c->next;
	else
		xs_g.conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	xs_watches_free(c);
	xs_txs_free(c);
	xs_delayed_free(c);
	xs_unlock();
	free(c);
}

domid_t xs_conn_domid(const struct xs_conn *c)
{
	return c->domid;
}

void xs_conn_events_bounded(struct xs_conn *c)
{
	xs_lock();
	c->events_bounded = true;
	xs_unlock();
}

void xs_conn_event_taken(struct xs_conn *c)
{
	unsigned n = atomic_load(&c->events_pending);

	while (n > 0 && !atomic_compare_exchange_weak(&c->events_pending, &n, n - 1))
		;
}

uint64_t xs_conn_events_dropped(const struct xs_conn *c)
{
	uint64_t n;

	xs_lock();
	n = c->events_dropped;
	xs_unlock();
	return n;
}

void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, unsigned len)
{
	struct xsd_sockmsg hdr = {.type = type, .req_id = req_id, .tx_id = tx_id, .len = len};

	XS_ASSERT(len <= XENSTORE_PAYLOAD_MAX, "domain %u: %u-byte message of type %u",
		  c->domid, len, type);
	c->deliver(c->ctx, &hdr, data);
}

/* ---- requests ---- */

/* How many NUL-terminated strings the payload holds (bytes after the last
 * NUL are not a string); the first `max` are stored in vec. */
unsigned xs_req_strings(const struct xs_req *rq, const char **vec, unsigned max)
{
	unsigned off = 0, n = 0;

	while (off < rq->len) {
		const char *nul = memchr(rq->payload + off, '\0', rq->len - off);

		if (!nul)
			break;
		if (n < max)
			vec[n] = rq->payload + off;
		n++;
		off = (unsigned)(nul - rq->payload) + 1;
	}
	return n;
}

/* Exactly one string, its NUL the payload's last byte; else NULL. */
const char *xs_req_onearg(const struct xs_req *rq)
{
	if (rq->len == 0 || memchr(rq->payload, '\0', rq->len) != rq->payload + rq->len - 1)
		return NULL;
	return rq->payload;
}

int xs_reply(struct xs_req *rq, const void *data, unsigned len)
{
	if (len > XENSTORE_PAYLOAD_MAX)
		return -E2BIG;
	XS_ASSERT(!rq->replied, "second reply to a request of domain %u", rq->conn->domid);
	rq->replied = true;
	xs_conn_send(rq->conn, rq->hdr->type, rq->hdr->req_id, rq->hdr->tx_id, data, len);
	return 0;
}

int xs_reply_ok(struct xs_req *rq)
{
	return xs_reply(rq, "OK", sizeof("OK"));
}

SIM_FAULT_SITE(xs_fault_write_enospc, "xenstore.write.enospc",
	       "a guest's WRITE or MKDIR is refused as over quota (ENOSPC), nothing written")

static int xs_dispatch(struct xs_req *rq)
{
	uint32_t type = rq->hdr->type;
	const struct xs_op *op = type < XS_TYPE_COUNT ? &xs_ops[type] : NULL;

	if (rq->conn->dead)
		return -EIO;
	if (!op || !op->fn)
		return -ENOSYS;
	if ((op->flags & XS_OPF_PRIV) && !rq->conn->priv)
		return -EACCES;
	if (!(op->flags & XS_OPF_NOTX) && rq->hdr->tx_id != 0) {
		rq->tx = xs_tx_find(rq->conn, rq->hdr->tx_id);
		if (!rq->tx)
			return -ENOENT;
	}
	rq->view = (struct xs_view){.conn = rq->conn, .tx = rq->tx};
	/* Quota errors, like xenstored's, only ever hit unprivileged domains. */
	if ((type == XS_WRITE || type == XS_MKDIR) && !rq->conn->priv &&
	    xs_fault_hit_path(&xs_fault_write_enospc, rq->conn->domid, rq->payload, rq->len))
		return -ENOSPC;
	return op->fn(rq);
}

/* A change refused inside a transaction: remember the first, so that a
 * commit of that transaction is known to publish a partial view. An RM of a
 * node already gone changes nothing: not a refusal. */
static void xs_tx_note_refused(struct xs_req *rq, int rc)
{
	uint32_t type = rq->hdr->type;
	bool change = type == XS_WRITE || type == XS_MKDIR || type == XS_SET_PERMS ||
		      (type == XS_RM && rc != -ENOENT);

	if (!rq->tx || !change || rq->tx->write_failed[0])
		return;
	snprintf(rq->tx->write_failed, sizeof(rq->tx->write_failed), "%s of %.*s failed (%s)",
		 xs_op_name(type), (int)strnlen(rq->payload, rq->len), rq->payload, xs_errno_name(rc));
}

int xs_conn_request(struct xs_conn *c, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct xs_req rq = {.conn = c, .hdr = hdr, .payload = payload ? payload : "", .len = hdr->len};
	int rc;

	if (hdr->len > XENSTORE_PAYLOAD_MAX)
		return -EPROTO;
	xs_lock();
	xs_delayed_flush();
	xs_g.stats.requests++;
	c->requests++;
	rc = xs_dispatch(&rq);
	if (rc < 0) {
		const char *name = xs_errno_name(rc);

		XS_ASSERT(!rq.replied, "%s from domain %u replied and failed (%s)",
			  xs_op_name(hdr->type), c->domid, name);
		xs_g.stats.errors++;
		c->errors++;
		xs_tx_note_refused(&rq, rc);
		xs_conn_send(c, XS_ERROR, hdr->req_id, hdr->tx_id, name, (unsigned)strlen(name) + 1);
	}
	XS_ASSERT(rq.replied || rc < 0, "%s (type %u) from domain %u got no reply",
		  xs_op_name(hdr->type), hdr->type, c->domid);
	xs_unlock();
	return 0;
}
