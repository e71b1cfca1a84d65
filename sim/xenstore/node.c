/*
 * sim/xenstore: paths, permissions, and the handlers that read and change
 * nodes (READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS,
 * SET_PERMS). They work on a view, so the same code serves transactions.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

/* ---- paths ---- */

/* xenstored's path characters, as a table (strspn with a set this long walks
 * the set for every byte of every path). */
static const bool xs_path_char_ok[256] = {
	['A' ... 'Z'] = true, ['a' ... 'z'] = true, ['0' ... '9'] = true,
	['-'] = true, ['/'] = true, ['_'] = true, ['@'] = true,
};

bool xs_path_is_special(const char *path)
{
	return path[0] == '@';
}

unsigned xs_path_parent_len(const char *path)
{
	const char *slash = strrchr(path + 1, '/');

	return slash ? (unsigned)(slash - path) : 1;
}

bool xs_path_below(const char *child, const char *parent)
{
	size_t len = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return true;
	return strncmp(child, parent, len) == 0 && (child[len] == '/' || child[len] == '\0');
}

/* Trailing or doubled slashes and over-long paths are refused like xenstored. */
static bool xs_path_shape_ok(const char *p)
{
	size_t len = strlen(p);

	return p[0] == '/' && !(len > 1 && p[len - 1] == '/') && !strstr(p, "//") &&
	       len <= XENSTORE_ABS_PATH_MAX;
}

/* A relative path is under c->home (no printf per request: it is the same
 * for every request of a connection). */
int xs_path_canon(const struct xs_conn *c, const char *in, bool allow_special, char **out,
		  unsigned *rel_len)
{
	size_t in_len = 0, home_len = 0;
	char *p = NULL;
	int rc = -EINVAL;

	*out = NULL;
	*rel_len = 0;
	if (!in)
		return -EINVAL;
	while (xs_path_char_ok[(unsigned char)in[in_len]])   /* not NUL */
		in_len++;
	if (in[in_len] != '\0')
		return -EINVAL;
	if (in[0] == '@') {
		if (allow_special && in_len <= XENSTORE_REL_PATH_MAX)
			rc = (*out = strdup(in)) ? 0 : -ENOMEM;
		return rc;
	}
	if (in[0] != '/' && strlen(in) > XENSTORE_REL_PATH_MAX)
		return -EINVAL;
	if (in[0] != '/')
		home_len = strlen(c->home) + 1;   /* and a slash */
	if (!(p = malloc(home_len + in_len + 1)))
		return -ENOMEM;
	if (home_len) {
		memcpy(p, c->home, home_len - 1);
		p[home_len - 1] = '/';
	}
	memcpy(p + home_len, in, in_len + 1);
	if (xs_path_shape_ok(p)) {
		*rel_len = home_len ? (unsigned)home_len - 1 : 0;
		*out = p;
		return 0;
	}
	free(p);
	return -EINVAL;
}

/* ---- permissions ---- */

unsigned xs_perm_for(const struct xs_conn *c, const struct xs_permissions *p, unsigned num)
{
	domid_t target = c->domid < XS_DOMID_SLOTS ? xs_g.doms[c->domid].target : DOMID_INVALID;

	if (c->priv || p[0].id == c->domid || (target != DOMID_INVALID && p[0].id == target))
		return XS_PERM_ALL;
	for (unsigned i = 1; i < num; i++) {
		if (p[i].perms & XS_PERM_IGNORE)
			continue;
		if (p[i].id == c->domid || (target != DOMID_INVALID && p[i].id == target))
			return p[i].perms & XS_PERM_MASK;
	}
	return p[0].perms & XS_PERM_MASK;
}

int xs_perms_parse(const char *strings, unsigned num, struct xs_permissions *out)
{
	return xs_strings_to_perms(out, num, strings) ? 0 : -EINVAL;
}

struct xs_special *xs_special_find(const char *path)
{
	for (int i = 0; i < XS_SPECIAL_COUNT; i++)
		if (strcmp(xs_g.special[i].name, path) == 0)
			return &xs_g.special[i];
	return NULL;
}

/* The nearest existing ancestor of path (the root always exists). */
static const struct xs_node *xs_nearest_ancestor(struct xs_view *v, const char *path, int *err)
{
	char buf[XS_PATH_BUF];
	const struct xs_node *n = NULL;
	unsigned len = (unsigned)strlen(path);

	memcpy(buf, path, len + 1);
	if (len == 1)
		return xs_view_get(v, path, err);   /* "/" has no ancestor: its own rule */
	while (!n && len > 1) {
		len = xs_path_parent_len(buf);
		buf[len] = '\0';
		n = xs_view_get(v, buf, err);
		if (*err)
			return NULL;
	}
	XS_ASSERT(n, "no ancestor of %s exists, not even the root", path);
	return n;
}

/* The node if the connection has `need` on it. Otherwise xenstored's rule: a
 * missing or refused node is ENOENT only if the nearest existing ancestor
 * grants the access, else EACCES, so a refused caller learns nothing. */
static int xs_node_get_checked(struct xs_req *rq, const char *path, unsigned need,
			       const struct xs_node **out)
{
	int err;
	const struct xs_node *n = xs_view_get(&rq->view, path, &err), *anc;

	*out = NULL;
	if (err)
		return err;
	if (n && (xs_perm_for(rq->conn, n->perms, n->perms_num) & need) == need) {
		*out = n;
		return 0;
	}
	anc = xs_nearest_ancestor(&rq->view, path, &err);
	if (err)
		return err;
	if (!(xs_perm_for(rq->conn, anc->perms, anc->perms_num) & need))
		return -EACCES;
	return n ? -EACCES : -ENOENT;
}

/* Canonicalize the one path argument and fetch its node with `need`. */
static int xs_req_node(struct xs_req *rq, const char *arg, unsigned need, char **path,
		       const struct xs_node **out)
{
	unsigned rel_len;
	int rc = xs_path_canon(rq->conn, arg, false, path, &rel_len);

	*out = NULL;
	return rc < 0 ? rc : xs_node_get_checked(rq, *path, need, out);
}

static void xs_ev_perms_set(struct xs_ev_perms *ep, int which, const struct xs_node *n)
{
	ep->p[which] = n ? n->perms : NULL;
	ep->num[which] = n ? n->perms_num : 0;
}

/* Fire the event for a change at path (which exists in the view now). */
static void xs_fire_changed(struct xs_req *rq, const char *path, const struct xs_permissions *old,
			    unsigned old_num)
{
	struct xs_ev_perms ep = {.p[XS_EVP_OLD] = old, .num[XS_EVP_OLD] = old_num};
	int err;

	xs_ev_perms_set(&ep, XS_EVP_NODE, xs_view_get(&rq->view, path, &err));
	XS_ASSERT(!err && ep.num[XS_EVP_NODE], "changed node %s not in its view", path);
	xs_event_fire(&rq->view, path, false, &ep);
}

/* ---- creating ---- */

struct xs_create {
	unsigned *lens;            /* lengths of the missing prefixes, deepest first */
	unsigned missing;
	const struct xs_node *anc; /* the nearest existing ancestor */
	struct xs_node **made;     /* new nodes, topmost first; then the new ancestor */
};

static int xs_create_find_missing(struct xs_req *rq, char *buf, struct xs_create *cr)
{
	unsigned len = (unsigned)strlen(buf), slashes = 0;
	int err = 0;

	for (const char *s = buf; *s; s++)
		slashes += *s == '/';
	cr->lens = malloc((slashes + 1) * sizeof(*cr->lens));
	if (!cr->lens)
		return -ENOMEM;
	for (;;) {
		buf[len] = '\0';
		cr->anc = xs_view_get(&rq->view, buf, &err);
		if (err || cr->anc)
			return err;
		cr->lens[cr->missing++] = len;
		len = xs_path_parent_len(buf);
	}
}

char *xs_prefix(const char *path, unsigned len, char *buf)
{
	memcpy(buf, path, len);
	buf[len] = '\0';
	return buf;
}

static const char *xs_leaf(const char *path)
{
	return strrchr(path, '/') + 1;
}

/* Build every node first: a put cannot fail, an allocation can. made[i] for
 * i < missing are the new nodes, topmost first; made[missing] is the ancestor
 * with its new child. */
static int xs_create_build(const char *path, const struct xs_permissions *perms, unsigned perms_num,
			   const void *value, unsigned value_len, struct xs_create *cr)
{
	char node_path[XS_PATH_BUF], child_path[XS_PATH_BUF];
	unsigned k = cr->missing;

	cr->made = calloc(k + 1, sizeof(*cr->made));
	if (!cr->made)
		return -ENOMEM;
	for (unsigned i = 0; i < k; i++) {
		unsigned j = k - 1 - i;
		const char *leaf = j ? xs_leaf(xs_prefix(path, cr->lens[j - 1], child_path)) : NULL;

		cr->made[i] = xs_node_make(xs_prefix(path, cr->lens[j], node_path), perms, perms_num,
					   j ? NULL : value, j ? 0 : value_len, leaf,
					   leaf ? (unsigned)strlen(leaf) + 1 : 0);
		if (!cr->made[i])
			return -ENOMEM;
	}
	cr->made[k] = xs_node_with_child(cr->anc, xs_leaf(xs_prefix(path, cr->lens[k - 1], child_path)));
	return cr->made[k] ? 0 : -ENOMEM;
}

static void xs_create_free(struct xs_create *cr)
{
	for (unsigned i = 0; cr->made && i <= cr->missing; i++)
		free(cr->made[i]);
	free(cr->made);
	free(cr->lens);
}

/* Nodes an unprivileged domain creates count against its quota, in a
 * transaction too (what the transaction created so far counts). */
static int xs_create_quota(struct xs_req *rq, unsigned adding)
{
	const struct xs_conn *c = rq->conn;
	long have;

	if (c->priv)
		return 0;
	have = (long)xs_domain_nodes(c->domid) + (rq->tx ? rq->tx->own_delta : 0);
	if (have + adding <= (long)xs_quota(XS_QUOTA_NODES))
		return 0;
	xs_g.stats.quota_refusals++;
	return -ENOSPC;
}

/* Create path and its missing parents, each with the nearest existing
 * ancestor's permissions; an unprivileged creator owns them. */
static int xs_node_create(struct xs_req *rq, const char *path, const void *value, unsigned value_len)
{
	char buf[XS_PATH_BUF];
	size_t len = strnlen(path, sizeof(buf) - 1);   /* canonical: it fits */
	struct xs_create cr = {0};
	struct xs_permissions *perms = NULL;
	int rc;

	memcpy(buf, path, len);
	buf[len] = '\0';
	rc = xs_create_find_missing(rq, buf, &cr);
	if (rc == 0)
		rc = xs_create_quota(rq, cr.missing);
	if (rc == 0 && !(perms = malloc(cr.anc->perms_num * sizeof(*perms))))
		rc = -ENOMEM;
	if (rc == 0) {
		memcpy(perms, cr.anc->perms, cr.anc->perms_num * sizeof(*perms));
		if (!rq->conn->priv)
			perms[0].id = rq->conn->domid;
		rc = xs_create_build(path, perms, cr.anc->perms_num, value, value_len, &cr);
	}
	if (rc == 0) {
		xs_view_put(&rq->view, cr.made[cr.missing]);
		for (unsigned i = 0; i < cr.missing; i++)
			xs_view_put(&rq->view, cr.made[i]);
		cr.missing = 0;
		cr.made[0] = NULL;
	}
	free(perms);
	xs_create_free(&cr);
	return rc;
}

/* ---- removing ---- */

struct xs_subtree {
	char **paths;              /* pre-order: parents before children */
	unsigned num, cap;
};

static int xs_subtree_add(struct xs_subtree *st, const char *path)
{
	char *copy;

	if (st->num == st->cap) {
		unsigned cap = st->cap ? st->cap * 2 : 16;
		char **p = realloc(st->paths, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		st->paths = p;
		st->cap = cap;
	}
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	st->paths[st->num++] = copy;
	return 0;
}

/* Every node of the subtree, through the view (a transaction snapshots each:
 * a node added below by someone else then makes the commit fail). */
static int xs_subtree_collect(struct xs_view *v, const char *top, struct xs_subtree *st)
{
	char child[XS_PATH_BUF + XENSTORE_ABS_PATH_MAX];
	int rc = xs_subtree_add(st, top);

	for (unsigned i = 0; rc == 0 && i < st->num; i++) {
		const struct xs_node *n = xs_view_get(v, st->paths[i], &rc);
		size_t plen = strlen(st->paths[i]);

		XS_ASSERT(rc || n, "listed child %s is missing", st->paths[i]);
		memcpy(child, st->paths[i], plen);
		child[plen] = '/';
		for (unsigned off = 0; rc == 0 && off < n->children_len;
		     off += (unsigned)strlen(n->children + off) + 1) {
			size_t leaf_len = strlen(n->children + off);

			/* Room for a path, a slash and a leaf no longer than a path. */
			XS_ASSERT(plen + 1 + leaf_len < sizeof(child), "%s: child path too long for %s",
				  st->paths[i], n->children + off);
			memcpy(child + plen + 1, n->children + off, leaf_len + 1);
			/* A transaction's snapshot may list a child removed since:
			 * EAGAIN (the transaction cannot commit). */
			if (v->tx && !xs_view_get(v, child, &rc) && rc == 0)
				rc = -EAGAIN;
			if (rc == 0)
				rc = xs_subtree_add(st, child);
		}
	}
	return rc;
}

static void xs_subtree_free(struct xs_subtree *st)
{
	for (unsigned i = 0; i < st->num; i++)
		free(st->paths[i]);
	free(st->paths);
}

/* Children go before their parent; each removal fires with the node's own
 * permissions: exact for the nodes below, subtree-wide for the top. */
int xs_node_rm(struct xs_view *v, const char *top)
{
	char parent_path[XS_PATH_BUF];
	struct xs_subtree st = {0};
	struct xs_node *parent_new = NULL;
	const struct xs_node *parent = NULL;
	int rc = xs_subtree_collect(v, top, &st);

	if (rc == 0)
		parent = xs_view_get(v, xs_prefix(top, xs_path_parent_len(top), parent_path), &rc);
	if (rc == 0 && !parent)
		rc = -EAGAIN;   /* a transaction's view: the parent was removed since */
	if (rc == 0 && !(parent_new = xs_node_without_child(parent, xs_leaf(top))))
		rc = -ENOMEM;
	for (unsigned i = st.num; rc == 0 && i-- > 0;) {
		struct xs_ev_perms ep = {{0}};
		int err;

		xs_ev_perms_set(&ep, XS_EVP_NODE, xs_view_get(v, st.paths[i], &err));
		XS_ASSERT(!err && ep.num[XS_EVP_NODE], "view lost node %s", st.paths[i]);
		xs_event_fire(v, st.paths[i], i != 0, &ep);
		xs_view_del(v, st.paths[i]);
	}
	if (rc == 0) {
		xs_view_put(v, parent_new);
		parent_new = NULL;
	}
	free(parent_new);
	xs_subtree_free(&st);
	return rc;
}

/* ---- handlers ---- */

int xs_op_read(struct xs_req *rq)
{
	const struct xs_node *n = NULL;
	unsigned rel_len;
	char *path = NULL;
	int rc = xs_path_canon(rq->conn, xs_req_onearg(rq), false, &path, &rel_len);

	if (rc == 0 && rq->tx)
		xs_tx_stale_read(rq->conn, rq->tx, path, (unsigned)strlen(path) + 1);
	if (rc == 0)
		rc = xs_node_get_checked(rq, path, XS_PERM_READ, &n);
	if (rc == 0)
		rc = xs_reply(rq, n->value, n->value_len);
	free(path);
	return rc;
}

int xs_op_directory(struct xs_req *rq)
{
	const struct xs_node *n;
	char *path;
	int rc = xs_req_node(rq, xs_req_onearg(rq), XS_PERM_READ, &path, &n);

	if (rc == 0)
		rc = xs_reply(rq, n->children, n->children_len);
	free(path);
	return rc;
}

/* "<gen>\0" then the children from the byte offset on that fit, then an empty
 * string once the list is complete (so the client knows it is done). */
static int xs_directory_part_reply(struct xs_req *rq, const struct xs_node *n, unsigned off)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	unsigned gen_len = (unsigned)snprintf(buf, sizeof(buf), "%" PRIu64, n->gen) + 1;
	unsigned len = 0, max = XENSTORE_PAYLOAD_MAX - gen_len - 1;

	if (off >= n->children_len) {
		buf[gen_len] = '\0';
		return xs_reply(rq, buf, gen_len + 1);
	}
	while (off + len < n->children_len && len + strlen(n->children + off + len) < max)
		len += (unsigned)strlen(n->children + off + len) + 1;
	memcpy(buf + gen_len, n->children + off, len);
	if (off + len == n->children_len)
		buf[gen_len + len++] = '\0';
	return xs_reply(rq, buf, gen_len + len);
}

int xs_op_directory_part(struct xs_req *rq)
{
	const char *vec[2];
	const struct xs_node *n;
	char *path = NULL;
	int rc = -EINVAL;

	if (xs_req_strings(rq, vec, 2) == 2)
		rc = xs_req_node(rq, vec[0], XS_PERM_READ, &path, &n);
	if (rc == 0)
		rc = xs_directory_part_reply(rq, n, (unsigned)atoi(vec[1]));
	free(path);
	return rc;
}

/* A decimal value (a XenbusState), 0 if none. */
unsigned xs_value_uint(const char *value, unsigned len)
{
	char v[12] = "";

	if (!value || len == 0 || len >= sizeof(v))
		return 0;
	memcpy(v, value, len);
	return (unsigned)strtoul(v, NULL, 10);
}

/* Writes of "<dir>/state" go on the run's timeline (sim_trace_event): old -> new,
 * when they take effect: at once, or at the commit of their transaction (one
 * that fails to commit changed nothing). */
bool xs_is_state_path(const char *path)
{
	size_t n = path ? strlen(path) : 0;

	return atomic_load_explicit(&sim_trace_sink, memory_order_relaxed) && n >= 6 &&
	       strcmp(path + n - 6, "/state") == 0;
}

int xs_op_write(struct xs_req *rq)
{
	const char *vec[1];
	const struct xs_node *n = NULL;
	char *path = NULL;
	int rc = -EINVAL;
	unsigned off = 0, value_len = 0;

	if (xs_req_strings(rq, vec, 1) >= 1) {
		off = (unsigned)strlen(vec[0]) + 1;
		value_len = rq->len - off;
		rc = xs_req_node(rq, vec[0], XS_PERM_WRITE, &path, &n);
	}
	if ((rc == 0 || rc == -ENOENT) && !rq->conn->priv &&
	    value_len > xs_quota(XS_QUOTA_VALUE_BYTES)) {
		xs_g.stats.quota_refusals++;
		rc = -ENOSPC;
	}
	bool state = (rc == 0 || rc == -ENOENT) && xs_is_state_path(path);
	unsigned from = state && rc == 0 ? xs_value_uint(n->value, n->value_len) : 0;
	if (rc == -ENOENT)
		rc = xs_node_create(rq, path, rq->payload + off, value_len);
	else if (rc == 0) {
		struct xs_node *m = xs_node_with_value(n, rq->payload + off, value_len);

		rc = m ? 0 : -ENOMEM;
		if (m)
			xs_view_put(&rq->view, m);
	}
	if (rc == 0) {
		if (state && !rq->tx)
			sim_trace_event(SIM_TR_STATE, rq->conn->domid, DOMID_INVALID, from,
					xs_value_uint(rq->payload + off, value_len), path);
		else
			sim_trace_event(SIM_TR_XS, rq->conn->domid, DOMID_INVALID, XS_WRITE, 0, path);
		xs_fire_changed(rq, path, NULL, 0);
		rc = xs_reply_ok(rq);
	}
	free(path);
	return rc;
}

int xs_op_mkdir(struct xs_req *rq)
{
	const struct xs_node *n;
	char *path;
	int rc = xs_req_node(rq, xs_req_onearg(rq), XS_PERM_WRITE, &path, &n);

	if (rc == -ENOENT) {
		rc = xs_node_create(rq, path, NULL, 0);
		if (rc == 0)
			xs_fire_changed(rq, path, NULL, 0);
	}
	if (rc == 0) {
		sim_trace_event(SIM_TR_XS, rq->conn->domid, DOMID_INVALID, XS_RM, 0, path);
		rc = xs_reply_ok(rq);
	}
	free(path);
	return rc;
}

/* Removing a missing node is fine while its parent exists (xenstored). */
int xs_op_rm(struct xs_req *rq)
{
	char parent[XS_PATH_BUF];
	const struct xs_node *n;
	char *path;
	int rc = xs_req_node(rq, xs_req_onearg(rq), XS_PERM_WRITE, &path, &n);

	if (rc == -ENOENT) {
		n = xs_view_get(&rq->view, xs_prefix(path, xs_path_parent_len(path), parent), &rc);
		if (rc == 0 && !n)
			rc = -ENOENT;
	} else if (rc == 0) {
		rc = strcmp(path, "/") == 0 ? -EINVAL : xs_node_rm(&rq->view, path);
	}
	if (rc == 0)
		rc = xs_reply_ok(rq);
	free(path);
	return rc;
}

static int xs_perms_reply(struct xs_req *rq, const struct xs_permissions *p, unsigned num)
{
	static const char letter[] = {'n', 'r', 'w', 'b'};
	char buf[XENSTORE_PAYLOAD_MAX + 16];
	unsigned len = 0;

	for (unsigned i = 0; i < num && len < XENSTORE_PAYLOAD_MAX; i++)
		len += (unsigned)snprintf(buf + len, sizeof(buf) - len, "%c%u",
					  letter[p[i].perms & XS_PERM_MASK], p[i].id) + 1;
	return xs_reply(rq, buf, len);
}

int xs_op_get_perms(struct xs_req *rq)
{
	const struct xs_node *n;
	struct xs_special *s;
	unsigned rel_len;
	char *path;
	int rc = xs_path_canon(rq->conn, xs_req_onearg(rq), true, &path, &rel_len);

	if (rc == 0 && xs_path_is_special(path)) {
		s = xs_special_find(path);
		rc = !s ? -ENOENT : !(xs_perm_for(rq->conn, s->perms, s->perms_num) & XS_PERM_READ)
				 ? -EACCES : xs_perms_reply(rq, s->perms, s->perms_num);
	} else if (rc == 0) {
		rc = xs_node_get_checked(rq, path, XS_PERM_READ, &n);
		if (rc == 0)
			rc = xs_perms_reply(rq, n->perms, n->perms_num);
	}
	free(path);
	return rc;
}

/* Parse the new list: too many entries (unprivileged) ENOSPC, bad syntax
 * EINVAL, an owner xenstore does not know ENOENT. Entries naming a domain
 * that does not exist are kept but ignored, so that a domain created later
 * with that id does not get them (xenstored). */
static int xs_set_perms_parse(struct xs_req *rq, unsigned count, struct xs_permissions **out)
{
	unsigned num = count - 1;
	const char *first = rq->payload + strlen(rq->payload) + 1;
	struct xs_permissions *p;
	int rc;

	*out = NULL;
	if (!rq->conn->priv && num > xs_quota(XS_QUOTA_PERMS)) {
		xs_g.stats.quota_refusals++;
		return -ENOSPC;
	}
	p = malloc(num * sizeof(*p));
	if (!p)
		return -ENOMEM;
	rc = xs_perms_parse(first, num, p);
	if (rc == 0 && !xs_domain_known(p[0].id))
		rc = -ENOENT;
	for (unsigned i = 1; rc == 0 && i < num; i++)
		if (!xs_domain_known(p[i].id))
			p[i].perms |= XS_PERM_IGNORE;
	if (rc == 0)
		*out = p;
	else
		free(p);
	return rc;
}

static int xs_set_perms_special(struct xs_req *rq, const char *path, struct xs_permissions *p,
				unsigned num)
{
	struct xs_special *s = xs_special_find(path);

	if (!s)
		return -ENOENT;
	if ((xs_perm_for(rq->conn, s->perms, s->perms_num) & (XS_PERM_WRITE | XS_PERM_OWNER)) !=
	    (XS_PERM_WRITE | XS_PERM_OWNER))
		return -EACCES;
	if (!rq->conn->priv && p[0].id != s->perms[0].id)
		return -EPERM;
	free(s->perms);
	s->perms = p;
	s->perms_num = num;
	xs_event_special((int)(s - xs_g.special));
	return 0;
}

static int xs_set_perms_node(struct xs_req *rq, const char *path, const struct xs_permissions *p,
			     unsigned num)
{
	const struct xs_node *n;
	struct xs_node *m = NULL;
	struct xs_permissions *old = NULL;
	unsigned old_num = 0;
	int rc = xs_node_get_checked(rq, path, XS_PERM_WRITE | XS_PERM_OWNER, &n);

	if (rc == 0 && !rq->conn->priv && p[0].id != xs_node_owner(n))
		rc = -EPERM;
	if (rc == 0 && !(old = malloc(n->perms_num * sizeof(*old))))
		rc = -ENOMEM;
	if (rc == 0 && !(m = xs_node_with_perms(n, p, num)))
		rc = -ENOMEM;
	if (rc == 0) {
		old_num = n->perms_num;
		memcpy(old, n->perms, old_num * sizeof(*old));
		xs_view_put(&rq->view, m);
		xs_fire_changed(rq, path, old, old_num);
	}
	free(old);
	return rc;
}

int xs_op_set_perms(struct xs_req *rq)
{
	const char *vec[1];
	unsigned count = xs_req_strings(rq, vec, 1), rel_len;
	struct xs_permissions *p = NULL;
	char *path = NULL;
	int rc = count < 2 ? -EINVAL : xs_set_perms_parse(rq, count, &p);

	if (rc == 0)
		rc = xs_path_canon(rq->conn, vec[0], true, &path, &rel_len);
	if (rc == 0 && xs_path_is_special(path)) {
		rc = xs_set_perms_special(rq, path, p, count - 1);
		if (rc == 0)
			p = NULL;   /* the special node owns it now */
	} else if (rc == 0) {
		rc = xs_set_perms_node(rq, path, p, count - 1);
	}
	if (rc == 0)
		rc = xs_reply_ok(rq);
	free(p);
	free(path);
	return rc;
}
