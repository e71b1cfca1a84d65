/*
 * sim/xenstore: transactions (TRANSACTION_START, TRANSACTION_END).
 *
 * A transaction snapshots each node the first time it touches it (read or
 * write, present or missing) and from then on sees only its own copy, so its
 * reads repeat and see its own writes. At commit every node it touched must
 * still have the generation it had then, else EAGAIN; then its changes are
 * put into the committed tree, and the events it caused go out. This is the
 * per-node scheme of xenstored since 4.9. Nodes it creates count against its
 * domain's quota while it runs, and again at commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

struct xs_tx *xs_tx_find(struct xs_conn *c, uint32_t id)
{
	struct xs_tx *tx = c->txs;

	while (tx && tx->id != id)
		tx = tx->next;
	return tx;
}

static void xs_tx_free(struct xs_tx *tx)
{
	struct xs_tx_entry *e = tx->first;

	while (e) {
		struct xs_tx_entry *next = e->next;

		free(e->node);
		free(e->path);
		free(e);
		e = next;
	}
	xs_htab_fini(&tx->entries);
	xs_qevents_free(tx->events);
	free(tx);
}

void xs_txs_free(struct xs_conn *c)
{
	while (c->txs) {
		struct xs_tx *tx = c->txs;

		c->txs = tx->next;
		xs_tx_free(tx);
	}
	c->txs_num = 0;
}

/* hash: xs_hash(path), which the lookups of one access share. */
static struct xs_tx_entry *xs_tx_entry(struct xs_tx *tx, const char *path, uint32_t hash)
{
	struct xs_hentry *h = xs_htab_find_len(&tx->entries, path, strlen(path), hash);

	return h ? (struct xs_tx_entry *)h : NULL;
}

/* The committed node at the entry's path, or NULL. */
static const struct xs_node *xs_tx_committed(const struct xs_tx_entry *e)
{
	return xs_tree_get_len(e->path, strlen(e->path), e->h.hash);
}

static void xs_tx_entry_add(struct xs_tx *tx, struct xs_tx_entry *e, uint32_t hash, uint64_t base_gen)
{
	e->base_gen = base_gen;
	e->h.key = e->path;
	e->h.hash = hash;
	xs_htab_insert(&tx->entries, &e->h);
	*tx->last = e;
	tx->last = &e->next;
}

/* First access: copy the committed node (or remember it is missing). */
static struct xs_tx_entry *xs_tx_snapshot(struct xs_tx *tx, const char *path, uint32_t hash)
{
	const struct xs_node *cur = xs_tree_get_len(path, strlen(path), hash);
	struct xs_tx_entry *e = calloc(1, sizeof(*e));

	if (e)
		e->path = strdup(path);
	if (e && e->path && cur) {
		e->node = xs_node_copy(cur);
		if (e->node)
			e->node->gen = cur->gen;
	}
	if (!e || !e->path || (cur && !e->node)) {
		if (e)
			free(e->path);
		free(e);
		return NULL;
	}
	xs_tx_entry_add(tx, e, hash, cur ? cur->gen : XS_GEN_NONE);
	return e;
}

const struct xs_node *xs_tx_get(struct xs_tx *tx, const char *path, int *err)
{
	uint32_t hash = xs_hash(path);
	struct xs_tx_entry *e = xs_tx_entry(tx, path, hash);

	*err = 0;
	if (!e)
		e = xs_tx_snapshot(tx, path, hash);
	if (!e)
		*err = -ENOMEM;
	return e ? e->node : NULL;
}

SIM_FAULT_SITE_FLAGS(xs_fault_tx_stale, "xenstore.tx.stale",
	       "a transaction's first read of a key finds it gone: another client removed it and put it back "
	       "since the transaction began (read ENOENT, commit EAGAIN, watches fire twice)", SIM_FAULT_LEGAL)

/* xenstore.tx.stale: what a transaction sees when the key it reads first now
 * was removed by another client after the transaction's earlier reads and is
 * written back (the same value) before it commits, as a toolstack tearing a
 * device directory down and putting it up again does. Both changes happen in
 * the committed tree (a new generation for the key and its parent, one event
 * for each change), and the transaction's snapshot of the key is the moment
 * between them: missing. So its reads of the key fail with ENOENT and its
 * commit with EAGAIN (xenstored's per-node scheme gives exactly this
 * history). Only a leaf that exists and that the transaction has not touched
 * yet qualifies, so a hit always changes what the transaction sees. Such a
 * change is rare: a transaction is hit once at most, and the next one of its
 * connection (the rerun) is spared, so a client that reruns a conflicted
 * transaction always gets through. */
void xs_tx_stale_read(struct xs_conn *c, struct xs_tx *tx, const char *path, unsigned len)
{
	uint32_t hash = xs_hash(path);
	const struct xs_node *cur = xs_tree_get_len(path, strlen(path), hash);
	char parent_path[XS_PATH_BUF];

	if (tx->stale_spared || !cur || cur->children_len || strcmp(path, "/") == 0 ||
	    xs_tx_entry(tx, path, hash) || !xs_fault_hit_path(&xs_fault_tx_stale, c->domid, path, len))
		return;
	tx->stale_spared = true;
	c->tx_stale_hit = true;
	const struct xs_node *parent = xs_tree_get(xs_prefix(path, xs_path_parent_len(path), parent_path));
	struct xs_node *again = xs_node_copy(cur), *parent_again = parent ? xs_node_copy(parent) : NULL;
	struct xs_tx_entry *e = calloc(1, sizeof(*e));

	if (e)
		e->path = strdup(path);
	if (!again || !parent_again || !e || !e->path) {
		free(again);
		free(parent_again);
		if (e)
			free(e->path);
		free(e);
		return;   /* no memory: the read goes on unfaulted */
	}
	struct xs_ev_perms ep = {.p[XS_EVP_NODE] = again->perms, .num[XS_EVP_NODE] = again->perms_num};
	xs_event_dispatch(path, false, &ep);   /* removed */
	xs_tree_put(again);                    /* written back: new generations */
	xs_tree_put(parent_again);
	xs_event_dispatch(path, false, &ep);   /* written */
	xs_tx_entry_add(tx, e, hash, XS_GEN_NONE);   /* seen missing: the commit conflicts */
}

/* Count how many nodes the connection's own domain gains, for its quota. */
static void xs_tx_own_count(struct xs_tx *tx, const struct xs_conn *c, const struct xs_node *n,
			    int delta)
{
	if (n && xs_node_owner(n) == c->domid)
		tx->own_delta += delta;
}

void xs_tx_put(struct xs_tx *tx, const struct xs_conn *c, struct xs_node *n)
{
	struct xs_tx_entry *e = xs_tx_entry(tx, n->path, n->h.hash);

	XS_ASSERT(e, "transaction %u writes %s without reading it first", tx->id, n->path);
	xs_tx_own_count(tx, c, e->node, -1);
	xs_tx_own_count(tx, c, n, 1);
	free(e->node);
	n->gen = ++xs_g.gen;   /* DIRECTORY_PART inside the transaction sees changes */
	e->node = n;
	e->dirty = true;
}

void xs_tx_del(struct xs_tx *tx, const struct xs_conn *c, const char *path)
{
	struct xs_tx_entry *e = xs_tx_entry(tx, path, xs_hash(path));

	XS_ASSERT(e && e->node, "transaction %u removes %s, which it does not see", tx->id, path);
	xs_tx_own_count(tx, c, e->node, -1);
	free(e->node);
	e->node = NULL;
	e->dirty = true;
}

void xs_tx_foreach_perms(void (*fn)(struct xs_permissions *p, unsigned num, void *arg), void *arg)
{
	for (struct xs_conn *c = xs_g.conns; c; c = c->next) {
		for (struct xs_tx *tx = c->txs; tx; tx = tx->next) {
			for (struct xs_tx_entry *e = tx->first; e; e = e->next)
				if (e->node)
					fn(e->node->perms, e->node->perms_num, arg);
			for (struct xs_qevent *q = tx->events; q; q = q->next) {
				fn(q->perms, q->num[XS_EVP_NODE], arg);
				fn(q->perms + q->num[XS_EVP_NODE], q->num[XS_EVP_OLD], arg);
			}
		}
	}
}

/* ---- commit ---- */

static int xs_tx_validate(const struct xs_tx *tx)
{
	for (const struct xs_tx_entry *e = tx->first; e; e = e->next) {
		const struct xs_node *cur = xs_tx_committed(e);

		if ((cur ? cur->gen : XS_GEN_NONE) != e->base_gen)
			return -EAGAIN;
	}
	return 0;
}

/* The committing domain's node count after the commit must fit its quota
 * (someone else may have used up its room since the transaction checked). */
static int xs_tx_check_quota(const struct xs_conn *c, const struct xs_tx *tx)
{
	long delta = 0;

	if (c->priv)
		return 0;
	for (const struct xs_tx_entry *e = tx->first; e; e = e->next) {
		const struct xs_node *cur = xs_tx_committed(e);

		if (!e->dirty)
			continue;
		delta += e->node && xs_node_owner(e->node) == c->domid;
		delta -= cur && xs_node_owner(cur) == c->domid;
	}
	if (delta <= 0 || xs_domain_nodes(c->domid) + delta <= xs_quota(XS_QUOTA_NODES))
		return 0;
	xs_g.stats.quota_refusals++;
	return -ENOSPC;
}

/* A state node the commit changes goes on the timeline now (see node.c). */
static void xs_tx_trace_state(const struct xs_conn *c, const struct xs_tx_entry *e)
{
	const struct xs_node *cur = xs_tx_committed(e);
	unsigned from = cur ? xs_value_uint(cur->value, cur->value_len) : 0;

	sim_trace_event(SIM_TR_STATE, c->domid, DOMID_INVALID, from,
			xs_value_uint(e->node->value, e->node->value_len), e->path);
}

static void xs_tx_apply(const struct xs_conn *c, struct xs_tx *tx)
{
	for (struct xs_tx_entry *e = tx->first; e; e = e->next) {
		if (!e->dirty)
			continue;
		if (e->node) {
			if (xs_is_state_path(e->path))
				xs_tx_trace_state(c, e);
			xs_tree_put(e->node);
			e->node = NULL;   /* the tree owns it now */
		} else if (xs_tx_committed(e)) {
			xs_tree_del(e->path);
		}
	}
}

static int xs_tx_commit(const struct xs_conn *c, struct xs_tx *tx)
{
	int rc = tx->failed ? -ENOMEM : xs_tx_validate(tx);

	if (rc == -EAGAIN)
		xs_g.stats.conflicts++;
	if (rc == 0)
		rc = xs_tx_check_quota(c, tx);
	if (rc == 0) {
		xs_tx_apply(c, tx);
		xs_qevents_dispatch(tx->events);
		xs_g.stats.commits++;
	}
	if (rc == 0 && tx->write_failed[0]) {
		xs_g.stats.partial_commits++;
		snprintf(xs_g.partial_last, sizeof(xs_g.partial_last),
			 "domain %u committed transaction %u after its %s", c->domid, tx->id, tx->write_failed);
		sim_log("xenstore: %s: a partial update published", xs_g.partial_last);
	}
	return rc;
}

/* ---- handlers ---- */

static uint32_t xs_tx_new_id(struct xs_conn *c)
{
	uint32_t id;

	do {
		id = c->tx_next_id++;
	} while (id == 0 || xs_tx_find(c, id));
	return id;
}

int xs_op_tx_start(struct xs_req *rq)
{
	struct xs_conn *c = rq->conn;
	char id_str[XS_TX_ID_STR_MAX];
	struct xs_tx *tx;

	if (rq->tx)
		return -EBUSY;   /* no nested transactions */
	if (!c->priv && c->txs_num >= xs_quota(XS_QUOTA_TRANSACTIONS)) {
		xs_g.stats.quota_refusals++;
		return -ENOSPC;
	}
	tx = calloc(1, sizeof(*tx));
	if (!tx || xs_htab_init(&tx->entries) < 0) {
		free(tx);
		return -ENOMEM;
	}
	tx->last = &tx->first;
	tx->events_last = &tx->events;
	tx->id = xs_tx_new_id(c);
	tx->stale_spared = c->tx_stale_hit;
	c->tx_stale_hit = false;
	tx->next = c->txs;
	c->txs = tx;
	c->txs_num++;
	snprintf(id_str, sizeof(id_str), "%u", tx->id);
	return xs_reply(rq, id_str, (unsigned)strlen(id_str) + 1);
}

static void xs_tx_unlink(struct xs_conn *c, struct xs_tx *tx)
{
	struct xs_tx **pp = &c->txs;

	while (*pp != tx)
		pp = &(*pp)->next;
	*pp = tx->next;
	c->txs_num--;
}

SIM_FAULT_SITE_FLAGS(xs_fault_tx_eagain, "xenstore.tx.eagain",
	       "a transaction commit fails with EAGAIN as if it conflicted (the client redoes it)",
		     SIM_FAULT_LEGAL)

SIM_FAULT_SITE(xs_fault_tx_enospc, "xenstore.tx.enospc",
	       "a guest's transaction commit is refused as over quota (ENOSPC), nothing of it published")

/* "T" commits, "F" abandons; either way the transaction is gone after. */
int xs_op_tx_end(struct xs_req *rq)
{
	const char *arg = xs_req_onearg(rq);
	struct xs_tx *tx = rq->tx;
	int rc = 0;

	if (!arg || (strcmp(arg, "T") != 0 && strcmp(arg, "F") != 0))
		return -EINVAL;
	if (!tx)
		return -ENOENT;
	xs_tx_unlink(rq->conn, tx);
	rq->tx = NULL;
	rq->view.tx = NULL;
	if (arg[0] == 'T') {
		if (sim_fault_hit_ctx(&xs_fault_tx_eagain, &XS_FAULT_CTX(rq->conn->domid)))
			rc = -EAGAIN;
		else if (!rq->conn->priv && sim_fault_hit_ctx(&xs_fault_tx_enospc, &XS_FAULT_CTX(rq->conn->domid)))
			rc = -ENOSPC;   /* as xs_tx_check_quota refuses it */
		else
			rc = xs_tx_commit(rq->conn, tx);
		/* A partial commit's event names the refused change (hypervisor.h). */
		sim_trace_event(SIM_TR_XS, rq->conn->domid, DOMID_INVALID, XS_TRANSACTION_END,
				(uint32_t)-rc, rc == 0 ? tx->write_failed : "");
	}
	xs_tx_free(tx);
	return rc ? rc : xs_reply_ok(rq);
}
