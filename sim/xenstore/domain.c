/*
 * sim/xenstore: the domains xenstore knows, and the domain requests
 * (INTRODUCE, RELEASE, RESUME, SET_TARGET, IS_DOMAIN_INTRODUCED,
 * GET_DOMAIN_PATH) plus CONTROL.
 *
 * A domain is known from its creation (hypervisor hook, order 30) or its first
 * connection until it dies; dom0 always. Like real Xen, domain creation fires
 * nothing: the toolstack calls xs_introduce_domain(), which fires
 * @introduceDomain. When a domain dies (destroy or crash) or is RELEASEd, its
 * in-process connections are dropped, the nodes it owned are removed with
 * everything below them, watches firing as for an RM (xenstored since XSA-419:
 * nodes a guest made outside its home would otherwise outlive it, counted
 * against no quota), every permission entry naming it is ignored from then on,
 * so that a new domain with the same id never inherits them, and
 * @releaseDomain fires. xs_store_set_keep_orphans(true) keeps the nodes, owned
 * by dom0, as xenstored -K (and before XSA-419) does. The event
 * fires for any dying domain, introduced or not: xenstore.txt allows spurious
 * events, and sim domains often never see INTRODUCE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

bool xs_domain_known(uint32_t domid)
{
	return domid == 0 || (domid < XS_DOMID_SLOTS && xs_g.doms[domid].alive);
}

bool xs_domain_introduced(uint32_t domid)
{
	return domid == 0 || (domid < XS_DOMID_SLOTS && xs_g.doms[domid].introduced);
}

unsigned xs_domain_nodes(domid_t domid)
{
	return domid < XS_DOMID_SLOTS ? xs_g.dom_nodes[domid] : 0;
}

/* Liveness comes from the hypervisor and outlives a store reset. */
void xs_domain_reset_locked(void)
{
	for (unsigned d = 0; d < XS_DOMID_SLOTS; d++) {
		xs_g.doms[d].introduced = false;
		xs_g.doms[d].target = DOMID_INVALID;
		xs_g.dom_nodes[d] = 0;
	}
	xs_g.doms[0].alive = true;
	xs_g.doms[0].introduced = true;
}

/* ---- forgetting a domain ---- */

static bool xs_keep_orphans;   /* under the store lock */

void xs_store_set_keep_orphans(bool on)
{
	xs_lock();
	xs_keep_orphans = on;
	xs_unlock();
}

static int xs_path_depth_cmp(const void *a, const void *b)
{
	size_t la = strlen(*(char *const *)a), lb = strlen(*(char *const *)b);

	return la < lb ? -1 : la > lb;
}

/* The nodes domid owns, each with its subtree, as the store itself (no
 * connection, the committed tree). Shorter paths first, so an ancestor goes
 * before its descendants, which are then skipped. Out of memory, the rest
 * pass to dom0 as with -K. */
static void xs_domain_nodes_remove(domid_t domid)
{
	struct xs_view v = {0};
	char **paths = calloc(xs_g.dom_nodes[domid] + 1u, sizeof(*paths));
	unsigned n = 0;
	uint32_t i;

	for (struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i); paths && e && n < xs_g.dom_nodes[domid];
	     e = xs_htab_next(&xs_g.nodes, e, &i)) {
		struct xs_node *node = (struct xs_node *)e;
		if (xs_node_owner(node) == domid && strcmp(node->path, "/") != 0)
			paths[n++] = strdup(node->path);
	}
	if (paths)
		qsort(paths, n, sizeof(*paths), xs_path_depth_cmp);
	for (unsigned k = 0; k < n; k++) {
		int err = 0;
		if (paths[k] && xs_view_get(&v, paths[k], &err))
			xs_node_rm(&v, paths[k]);
		free(paths[k]);
	}
	free(paths);
}

/* The owner entry passes to dom0; other entries naming domid stay listed but
 * are ignored (xenstored's XS_PERM_IGNORE). */
static void xs_perms_forget(struct xs_permissions *p, unsigned num, void *arg)
{
	domid_t domid = *(const domid_t *)arg;

	if (num && p[0].id == domid)
		p[0].id = 0;
	for (unsigned i = 1; i < num; i++)
		if (p[i].id == domid)
			p[i].perms |= XS_PERM_IGNORE;
}

/* The one change made to nodes in place: no client wrote them, so their
 * generation stays and no transaction fails because of it. */
void xs_perms_forget_domain(domid_t domid)
{
	uint32_t i;

	xs_tree_touched();
	for (struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i); e; e = xs_htab_next(&xs_g.nodes, e, &i)) {
		struct xs_node *n = (struct xs_node *)e;

		if (xs_node_owner(n) == domid) {
			xs_g.dom_nodes[domid]--;
			xs_g.dom_nodes[0]++;
		}
		xs_perms_forget(n->perms, n->perms_num, &domid);
	}
	for (int s = 0; s < XS_SPECIAL_COUNT; s++)
		xs_perms_forget(xs_g.special[s].perms, xs_g.special[s].perms_num, &domid);
	xs_tx_foreach_perms(xs_perms_forget, &domid);
	XS_ASSERT(xs_g.dom_nodes[domid] == 0, "domain %u still owns %u nodes", domid,
		  xs_g.dom_nodes[domid]);
}

void xs_conn_drop_locked(struct xs_conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	xs_watches_free(c);
	xs_txs_free(c);
	xs_g.stats.conns_dropped++;
	if (c->dropped)
		c->dropped(c->ctx);
}

/* The connections that speak for the domain: all of a guest's; for dom0 only
 * its in-process handles (socket clients are dom0 too, but outside the sim). */
static bool xs_conn_of_domain(const struct xs_conn *c, domid_t domid)
{
	return c->domid == domid && (domid != 0 || c->inproc);
}

/* The domain's own connections lose their watches and transactions, like
 * xenstored resetting a re-introduced domain's ring connection. */
static void xs_domain_conns_reset(domid_t domid)
{
	for (struct xs_conn *c = xs_g.conns; c; c = c->next) {
		if (xs_conn_of_domain(c, domid) && !c->dead) {
			xs_watches_free(c);
			xs_txs_free(c);
		}
	}
}

/* The domain went away (dead) or was released: see the file comment. */
static void xs_domain_gone_locked(domid_t domid, bool dead)
{
	for (struct xs_conn *c = xs_g.conns; c; c = c->next)
		if (xs_conn_of_domain(c, domid))
			xs_conn_drop_locked(c);
	if (domid == 0 || domid >= XS_DOMID_SLOTS)
		return;   /* xenstore's own domain does not go */
	xs_g.doms[domid].alive = xs_g.doms[domid].alive && !dead;
	xs_tree_touched();
	xs_g.doms[domid].introduced = false;
	xs_g.doms[domid].target = DOMID_INVALID;
	for (unsigned d = 0; d < XS_DOMID_SLOTS; d++)
		if (xs_g.doms[d].target == domid)
			xs_g.doms[d].target = DOMID_INVALID;
	if (!xs_keep_orphans)
		xs_domain_nodes_remove(domid);
	xs_perms_forget_domain(domid);
	xs_event_special(XS_SPECIAL_RELEASE);
}

/* ---- hypervisor hooks ---- */

static void xs_hook_create(domid_t domid)
{
	xs_lock();
	if (domid < XS_DOMID_SLOTS)
		xs_g.doms[domid].alive = true;
	xs_tree_touched();
	xs_unlock();
}

static void xs_hook_destroy(domid_t domid, bool crashed)
{
	(void)crashed;
	xs_lock();
	xs_domain_gone_locked(domid, true);
	xs_unlock();
}

static const struct sim_domain_hooks xs_hooks = {
	.name = "xenstore",
	.order = 30,
	.on_create = xs_hook_create,
	.on_destroy = xs_hook_destroy,
};

__attribute__((constructor)) static void xs_hooks_register(void)
{
	sim_domain_hooks_register(&xs_hooks);
}

/* ---- handlers ---- */

/* xenstored reads domids with atoi(): garbage is 0, -1 is 4294967295. */
static uint32_t xs_domid_arg(const char *s)
{
	return (uint32_t)atoi(s);
}

int xs_op_introduce(struct xs_req *rq)
{
	const char *vec[3];
	uint32_t domid;

	if (xs_req_strings(rq, vec, 3) < 3 || atoi(vec[2]) <= 0)
		return -EINVAL;   /* domid, mfn (ignored), event channel > 0 */
	domid = xs_domid_arg(vec[0]);
	if (!xs_domain_known(domid))
		return -EINVAL;   /* xenstored could not map its page */
	if (domid != 0 && xs_g.doms[domid].introduced) {
		xs_domain_conns_reset((domid_t)domid);
	} else if (domid != 0) {
		xs_g.doms[domid].introduced = true;
		xs_event_special(XS_SPECIAL_INTRODUCE);
	}
	return xs_reply_ok(rq);
}

/* RELEASE and RESUME: a real, introduced domain other than dom0. */
static int xs_domain_arg(struct xs_req *rq, uint32_t *domid)
{
	const char *arg = xs_req_onearg(rq);

	if (!arg || (*domid = xs_domid_arg(arg)) == 0)
		return -EINVAL;
	return xs_domain_introduced(*domid) ? 0 : -ENOENT;
}

int xs_op_release(struct xs_req *rq)
{
	uint32_t domid;
	int rc = xs_domain_arg(rq, &domid);

	if (rc == 0) {
		xs_domain_gone_locked((domid_t)domid, false);
		rc = xs_reply_ok(rq);
	}
	return rc;
}

int xs_op_resume(struct xs_req *rq)
{
	uint32_t domid;
	int rc = xs_domain_arg(rq, &domid);

	return rc ? rc : xs_reply_ok(rq);   /* no shutdown state to clear here */
}

int xs_op_get_domain_path(struct xs_req *rq)
{
	const char *arg = xs_req_onearg(rq);
	char path[32];

	if (!arg)
		return -EINVAL;
	snprintf(path, sizeof(path), "/local/domain/%u", xs_domid_arg(arg));
	return xs_reply(rq, path, (unsigned)strlen(path) + 1);
}

int xs_op_is_introduced(struct xs_req *rq)
{
	const char *arg = xs_req_onearg(rq);
	uint32_t domid;

	if (!arg)
		return -EINVAL;
	domid = xs_domid_arg(arg);
	return xs_reply(rq, domid == DOMID_SELF || xs_domain_introduced(domid) ? "T" : "F", 2);
}

/* From now on domid may act on what belongs to tdomid (a device model). */
int xs_op_set_target(struct xs_req *rq)
{
	const char *vec[2];
	uint32_t domid, tdomid;

	if (xs_req_strings(rq, vec, 2) < 2)
		return -EINVAL;
	domid = xs_domid_arg(vec[0]);
	tdomid = xs_domid_arg(vec[1]);
	if (!xs_domain_introduced(domid) || !xs_domain_introduced(tdomid) ||
	    domid >= XS_DOMID_SLOTS)
		return -ENOENT;
	xs_g.doms[domid].target = (domid_t)tdomid;
	return xs_reply_ok(rq);
}

/* ---- CONTROL: a small subset of xenstored's commands ---- */

static int xs_control_text(struct xs_req *rq, const char *text)
{
	return xs_reply(rq, text, (unsigned)strlen(text) + 1);
}

static int xs_control_quota(struct xs_req *rq, const char **vec, unsigned n)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	unsigned len = 0;
	uint32_t domid;

	if (n == 4 && strcmp(vec[1], "set") == 0) {
		for (int i = 0; i < XS_QUOTA_COUNT; i++)
			if (strcmp(xs_g.quotas[i].name, vec[2]) == 0) {
				xs_g.quotas[i].value = (unsigned)atoi(vec[3]);
				return xs_reply_ok(rq);
			}
		return -EINVAL;
	}
	if (n == 2) {
		domid = xs_domid_arg(vec[1]);
		if (!xs_domain_known(domid) || domid >= XS_DOMID_SLOTS)
			return -ENOENT;
		snprintf(buf, sizeof(buf), "Domain %u:\nnodes: %u\n", domid, xs_g.dom_nodes[domid]);
		return xs_control_text(rq, buf);
	}
	for (int i = 0; i < XS_QUOTA_COUNT && n == 1; i++)
		len += (unsigned)snprintf(buf + len, sizeof(buf) - len, "%s: %u\n",
					  xs_g.quotas[i].name, xs_g.quotas[i].value);
	return n == 1 ? xs_control_text(rq, buf) : -EINVAL;
}

int xs_op_control(struct xs_req *rq)
{
	const char *vec[4];
	unsigned n = xs_req_strings(rq, vec, 4);

	if (n < 1)
		return -EINVAL;
	if (strcmp(vec[0], "check") == 0) {
		xs_store_check_locked();
		return xs_reply_ok(rq);
	}
	if (strcmp(vec[0], "log") == 0)
		return xs_reply_ok(rq);
	if (strcmp(vec[0], "print") == 0 && n >= 2) {
		sim_log("xenstore: control print from domain %u: %s", rq->conn->domid, vec[1]);
		return xs_reply_ok(rq);
	}
	if (strcmp(vec[0], "help") == 0)
		return xs_control_text(rq, "check\nhelp\nlog\nprint\nquota\n");
	if (strcmp(vec[0], "quota") == 0)
		return xs_control_quota(rq, vec, n);
	return -EINVAL;
}
