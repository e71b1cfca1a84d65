/*
 * fuzz_xs_wire's judge: after each op of ops mode (fuzz/fuzz_xs_wire.c's
 * header lists what), the target's view of what happened against the store's
 * own state (xs_internal.h), under its lock.
 */
#include <stdio.h>
#include <string.h>

#include "fuzz/fuzz_common.h"
#include "fuzz/xs_wire.h"

#define FZX_EXPECT_MAX 64u              /* events one op must cause */

/* An event the current op must cause: conn must see path. */
struct fzx_expect {
	unsigned conn;
	char path[XENSTORE_ABS_PATH_MAX + 1];
};

static struct fzx_expect fzx_expects[FZX_EXPECT_MAX];
static unsigned fzx_expects_n;

static bool fzx_readable(const struct xs_conn *sc, const char *path)
{
	const struct xs_node *n = xs_tree_get(path);

	return n && (xs_perm_for(sc, n->perms, n->perms_num) & XS_PERM_READ);
}

static bool fzx_parent_readable(const struct xs_conn *sc, const char *path)
{
	char parent[XS_PATH_BUF];

	snprintf(parent, sizeof(parent), "%.*s", (int)xs_path_parent_len(path), path);
	return fzx_readable(sc, parent);
}

/* Before an RM or a WRITE outside a transaction: which guests must be told. */
static void fzx_expect_events(const struct fzx_op *op)
{
	fzx_expects_n = 0;
	if ((op->kind != FZX_RM && op->kind != FZX_WRITE) || op->tx_id || op->path[0] != '/')
		return;
	xs_lock();
	if (op->kind == FZX_RM && !xs_tree_get(op->path))
		goto out;   /* ENOENT: nothing changes */
	for (unsigned i = 0; i < FZX_CONNS; i++) {
		const struct fzx_conn *g = &fzx_conns[i];
		if (!g->store || g->closed || g->store->priv || g->store->dead ||
		    (!fzx_readable(g->store, op->path) && !fzx_parent_readable(g->store, op->path)))
			continue;
		for (const struct xs_watch *w = g->store->watches; w; w = w->next) {
			struct fzx_expect *x = &fzx_expects[fzx_expects_n];
			const char *epath = op->path + w->rel_len;
			if (!xs_path_below(op->path, w->path) || fzx_expects_n >= FZX_EXPECT_MAX)
				continue;
			if (w->rel_len && *epath == '/')
				epath++;
			x->conn = i;
			snprintf(x->path, sizeof(x->path), "%s", epath);
			fzx_expects_n++;
		}
	}
out:
	xs_unlock();
}

static bool fzx_event_seen(unsigned conn, const char *path)
{
	for (unsigned i = 0; i < fzx_events_n; i++)
		if (fzx_events[i].conn == conn && strcmp(fzx_events[i].path, path) == 0)
			return true;
	return false;
}

/* Each event a guest got for a node a WRITE, MKDIR or BULK made (or an
 * INTRODUCE/RELEASE's @special) names what it may read. */
static void fzx_check_event_perms(const struct fzx_op *op)
{
	bool nodes = op->kind == FZX_WRITE || op->kind == FZX_MKDIR || op->kind == FZX_BULK;
	bool specials = op->kind == FZX_INTRODUCE || op->kind == FZX_RELEASE;

	for (unsigned i = 0; i < fzx_events_n && (nodes || specials); i++) {
		const struct fzx_conn *g = &fzx_conns[fzx_events[i].conn];
		char abs[XS_PATH_BUF + 32];
		const struct xs_special *s;

		if (!g->store || g->store->priv)
			continue;
		fzx_canon(g->domid, fzx_events[i].path, abs, sizeof(abs));
		if (abs[0] == '@') {
			s = xs_special_find(abs);
			if (specials && s && !(xs_perm_for(g->store, s->perms, s->perms_num) & XS_PERM_READ))
				FUZZ_FAIL("domain %u (conn %u) got the event %s, which it may not read",
					  g->domid, g->idx, abs);
		} else if (nodes && xs_tree_get(abs) && !fzx_readable(g->store, abs) &&
			   !fzx_parent_readable(g->store, abs)) {
			FUZZ_FAIL("domain %u (conn %u) got an event for %s: it may read neither the "
				  "node nor its parent", g->domid, g->idx, abs);
		}
	}
}

/* RELEASE of domid done: its nodes gone, no live permission entry names it. */
static void fzx_check_released(uint32_t domid, unsigned total_before, unsigned owned_before)
{
	uint32_t i;

	if (xs_g.nodes.count + owned_before > total_before)
		FUZZ_FAIL("domain %u released owning %u of %u nodes: %u nodes left", domid,
			  owned_before, total_before, xs_g.nodes.count);
	for (struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i); e; e = xs_htab_next(&xs_g.nodes, e, &i)) {
		const struct xs_node *n = (const struct xs_node *)e;
		for (unsigned k = 0; k < n->perms_num; k++)
			if (n->perms[k].id == domid && !(n->perms[k].perms & XS_PERM_IGNORE))
				FUZZ_FAIL("%s: entry %u still names released domain %u", n->path, k, domid);
	}
	for (int s = 0; s < XS_SPECIAL_COUNT; s++)
		for (unsigned k = 0; k < xs_g.special[s].perms_num; k++)
			if (xs_g.special[s].perms[k].id == domid &&
			    !(xs_g.special[s].perms[k].perms & XS_PERM_IGNORE))
				FUZZ_FAIL("%s: entry %u still names released domain %u",
					  xs_g.special[s].name, k, domid);
}

static void fzx_usage_get(const struct fzx_conn *c, struct fzx_usage *u)
{
	*u = (struct fzx_usage){0};
	if (c->store && !c->closed) {
		u->nodes = xs_domain_nodes(c->domid);
		u->watches = c->store->watches_num;
		u->txs = c->store->txs_num;
	}
}

static void fzx_check_quota(const struct fzx_conn *c, const char *what, unsigned before,
			    unsigned after, enum xs_quota_id q)
{
	if (after > before && after > xs_quota(q))
		FUZZ_FAIL("domain %u (conn %u): %s went from %u to %u, over the quota of %u",
			  c->domid, c->idx, what, before, after, xs_quota(q));
}

void fzx_judge_before(const struct fzx_op *op, struct fzx_before *b)
{
	fzx_expect_events(op);
	xs_lock();
	fzx_usage_get(op->c, &b->usage);
	b->total = xs_g.nodes.count;
	b->owned = op->domid < XS_DOMID_SLOTS ? xs_domain_nodes((domid_t)op->domid) : 0;
	if (b->owned && xs_node_owner(xs_tree_get("/")) == op->domid)
		b->owned--;   /* the root stays (passed to dom0) */
	xs_unlock();
	fzx_events_n = 0;
}

void fzx_judge(const struct fzx_op *op, const struct fzx_before *b)
{
	bool ok = op->c->rx.last_type == (op->kind == FZX_RM ? XS_RM : XS_WRITE);
	struct fzx_usage u;

	xs_lock();
	if (op->c->domid != 0) {
		fzx_usage_get(op->c, &u);
		fzx_check_quota(op->c, "nodes owned", b->usage.nodes, u.nodes, XS_QUOTA_NODES);
		fzx_check_quota(op->c, "watches", b->usage.watches, u.watches, XS_QUOTA_WATCHES);
		fzx_check_quota(op->c, "transactions", b->usage.txs, u.txs, XS_QUOTA_TRANSACTIONS);
	}
	fzx_check_event_perms(op);
	for (unsigned i = 0; i < fzx_expects_n && ok && !op->c->closed; i++)
		if (!fzx_conns[fzx_expects[i].conn].closed &&
		    !fzx_event_seen(fzx_expects[i].conn, fzx_expects[i].path))
			FUZZ_FAIL("domain %u (conn %u) watches %s and could read it or its parent, "
				  "but was not told of its %s", fzx_conns[fzx_expects[i].conn].domid,
				  fzx_expects[i].conn, op->path, op->kind == FZX_RM ? "removal" : "write");
	if (op->kind == FZX_RELEASE && op->c->rx.last_type == XS_RELEASE)
		fzx_check_released(op->domid, b->total, b->owned);
	xs_unlock();
}
