/*
 * sim/xenstore: the committed tree (a table of immutable nodes keyed by path),
 * the store lock, quotas, counters, reset and the whole-store check.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

struct xs_store_state xs_g = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.quotas = {
		[XS_QUOTA_NODES] = {"nodes", 1000, 1000},
		[XS_QUOTA_WATCHES] = {"watches", 128, 128},
		[XS_QUOTA_TRANSACTIONS] = {"transactions", 10, 10},
		[XS_QUOTA_VALUE_BYTES] = {"value_bytes", 2048, 2048},
		[XS_QUOTA_PERMS] = {"perms", 5, 5},
		[XS_QUOTA_EVENTS] = {"events", 1024, 1024},
	},
};

/* The nodes every store starts with, owned by dom0, "n0". */
static const struct {
	const char *path;
	const char *children;
	unsigned children_len;
} xs_initial[] = {
	{"/", "local\0tool", sizeof("local\0tool")},
	{"/local", "domain", sizeof("domain")},
	{"/local/domain", NULL, 0},
	{"/tool", NULL, 0},
};

/* ---- hash table ---- */

uint32_t xs_hash(const char *key)
{
	return xs_hash_add(XS_HASH_INIT, key, strlen(key));
}

int xs_htab_init(struct xs_htab *t)
{
	t->b = calloc(XS_HTAB_BUCKETS_MIN, sizeof(*t->b));
	t->nb = t->b ? XS_HTAB_BUCKETS_MIN : 0;
	t->count = 0;
	return t->b ? 0 : -ENOMEM;
}

void xs_htab_fini(struct xs_htab *t)
{
	free(t->b);
	t->b = NULL;
	t->nb = t->count = 0;
}

/* key[0..len) holds no NUL (a prefix of a path), so a key that strncmp finds
 * equal over len bytes is at least that long, and key[len] is in it. */
struct xs_hentry *xs_htab_find_len(const struct xs_htab *t, const char *key, size_t len,
				   uint32_t hash)
{
	struct xs_hentry *e = t->nb ? t->b[hash & (t->nb - 1)] : NULL;

	while (e && (e->hash != hash || strncmp(e->key, key, len) != 0 || e->key[len] != '\0'))
		e = e->next;
	return e;
}

struct xs_hentry *xs_htab_find(const struct xs_htab *t, const char *key)
{
	size_t len = strlen(key);

	return xs_htab_find_len(t, key, len, xs_hash_add(XS_HASH_INIT, key, len));
}

/* Doubling keeps chains short; when memory is short the chains just get longer. */
static void xs_htab_grow(struct xs_htab *t)
{
	uint32_t nb = t->nb ? t->nb * 2 : XS_HTAB_BUCKETS_MIN;
	struct xs_hentry **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (uint32_t i = 0; i < t->nb; i++) {
		while (t->b[i]) {
			struct xs_hentry *e = t->b[i];

			t->b[i] = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(t->b);
	t->b = b;
	t->nb = nb;
}

void xs_htab_insert(struct xs_htab *t, struct xs_hentry *e)
{
	if (t->count >= t->nb)
		xs_htab_grow(t);
	XS_ASSERT(t->nb > 0, "no bucket for %s", e->key);
	e->next = t->b[e->hash & (t->nb - 1)];
	t->b[e->hash & (t->nb - 1)] = e;
	t->count++;
}

void xs_htab_remove(struct xs_htab *t, struct xs_hentry *e)
{
	struct xs_hentry **pp = &t->b[e->hash & (t->nb - 1)];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	XS_ASSERT(*pp == e, "entry %s not in its table", e->key);
	*pp = e->next;
	t->count--;
}

static struct xs_hentry *xs_htab_scan(const struct xs_htab *t, uint32_t *i)
{
	while (*i < t->nb && !t->b[*i])
		(*i)++;
	return *i < t->nb ? t->b[*i] : NULL;
}

struct xs_hentry *xs_htab_first(const struct xs_htab *t, uint32_t *i)
{
	*i = 0;
	return xs_htab_scan(t, i);
}

struct xs_hentry *xs_htab_next(const struct xs_htab *t, struct xs_hentry *e, uint32_t *i)
{
	if (e->next)
		return e->next;
	(*i)++;
	return xs_htab_scan(t, i);
}

/* ---- nodes ---- */

/* path_len counts the NUL; hash is xs_hash(path). */
static struct xs_node *xs_node_alloc(const char *path, size_t path_len, uint32_t hash,
				     const struct xs_permissions *perms, unsigned perms_num,
				     const void *value, unsigned value_len,
				     const char *children, unsigned children_len)
{
	size_t perms_bytes = perms_num * sizeof(*perms);
	struct xs_node *n = malloc(sizeof(*n) + perms_bytes + path_len + value_len + children_len + 1);

	XS_ASSERT(perms_num >= 1, "node %s without permissions", path);
	if (!n)
		return NULL;
	n->perms = (struct xs_permissions *)(n + 1);
	n->path = (char *)n->perms + perms_bytes;
	n->value = n->path + path_len;
	n->children = n->value + value_len;
	memcpy(n->perms, perms, perms_bytes);
	memcpy(n->path, path, path_len);
	if (value_len)
		memcpy(n->value, value, value_len);
	if (children_len)
		memcpy(n->children, children, children_len);
	n->children[children_len] = '\0';
	n->perms_num = perms_num;
	n->value_len = value_len;
	n->children_len = children_len;
	n->gen = XS_GEN_NONE;
	n->h.key = n->path;
	n->h.hash = hash;
	return n;
}

struct xs_node *xs_node_make(const char *path, const struct xs_permissions *perms,
			     unsigned perms_num, const void *value, unsigned value_len,
			     const char *children, unsigned children_len)
{
	return xs_node_alloc(path, strlen(path) + 1, xs_hash(path), perms, perms_num, value,
			     value_len, children, children_len);
}

/* A node like n but for what the caller gives: its path, and so its hash, are n's. */
static struct xs_node *xs_node_remake(const struct xs_node *n, const struct xs_permissions *perms,
				      unsigned perms_num, const void *value, unsigned value_len,
				      const char *children, unsigned children_len)
{
	return xs_node_alloc(n->path, strlen(n->path) + 1, n->h.hash, perms, perms_num, value,
			     value_len, children, children_len);
}

struct xs_node *xs_node_copy(const struct xs_node *n)
{
	return xs_node_remake(n, n->perms, n->perms_num, n->value, n->value_len, n->children,
			      n->children_len);
}

struct xs_node *xs_node_with_value(const struct xs_node *n, const void *value, unsigned len)
{
	return xs_node_remake(n, n->perms, n->perms_num, value, len, n->children,
			      n->children_len);
}

struct xs_node *xs_node_with_perms(const struct xs_node *n, const struct xs_permissions *p,
				   unsigned num)
{
	return xs_node_remake(n, p, num, n->value, n->value_len, n->children, n->children_len);
}

struct xs_node *xs_node_with_child(const struct xs_node *n, const char *leaf)
{
	size_t leaf_len = strlen(leaf) + 1;
	char *children;
	struct xs_node *out = NULL;

	/* Listed already (a transaction's snapshot of the parent still lists a
	 * child removed outside since, which the transaction makes again): once. */
	for (unsigned off = 0; off < n->children_len; off += (unsigned)strlen(n->children + off) + 1)
		if (strcmp(n->children + off, leaf) == 0)
			leaf_len = 0;
	children = malloc(n->children_len + leaf_len);
	if (children) {
		memcpy(children, n->children, n->children_len);
		memcpy(children + n->children_len, leaf, leaf_len);
		out = xs_node_remake(n, n->perms, n->perms_num, n->value, n->value_len,
				     children, n->children_len + (unsigned)leaf_len);
		free(children);
	}
	return out;
}

/* The leaf is listed once (xs_store_check); removing it keeps the others' order. */
struct xs_node *xs_node_without_child(const struct xs_node *n, const char *leaf)
{
	struct xs_node *out = xs_node_copy(n);
	unsigned off = 0;

	while (out && off < out->children_len && strcmp(out->children + off, leaf) != 0)
		off += (unsigned)strlen(out->children + off) + 1;
	if (out && off < out->children_len) {
		unsigned gone = (unsigned)strlen(leaf) + 1;

		memmove(out->children + off, out->children + off + gone,
			out->children_len - off - gone + 1);
		out->children_len -= gone;
	}
	return out;
}

/* ---- the committed tree ---- */

static struct xs_node *xs_tree_node(const char *path)
{
	struct xs_hentry *e = xs_htab_find(&xs_g.nodes, path);

	return e ? (struct xs_node *)e : NULL;
}

static struct xs_node *xs_tree_node_len(const char *path, size_t len, uint32_t hash)
{
	struct xs_hentry *e = xs_htab_find_len(&xs_g.nodes, path, len, hash);

	return e ? (struct xs_node *)e : NULL;
}

const struct xs_node *xs_tree_get(const char *path)
{
	return xs_tree_node(path);
}

const struct xs_node *xs_tree_get_len(const char *path, size_t len, uint32_t hash)
{
	return xs_tree_node_len(path, len, hash);
}

static void xs_owner_count(domid_t owner, int delta)
{
	XS_ASSERT(owner < XS_DOMID_SLOTS, "node owner %u out of range", owner);
	XS_ASSERT(delta > 0 || xs_g.dom_nodes[owner] > 0, "domain %u owns no node", owner);
	xs_g.dom_nodes[owner] += (unsigned)delta;
}

void xs_tree_put(struct xs_node *n)
{
	struct xs_node *old = xs_tree_node_len(n->path, strlen(n->path), n->h.hash);

	if (old) {
		xs_owner_count(xs_node_owner(old), -1);
		xs_htab_remove(&xs_g.nodes, &old->h);
		free(old);
	}
	n->gen = ++xs_g.gen;
	xs_htab_insert(&xs_g.nodes, &n->h);
	xs_owner_count(xs_node_owner(n), 1);
}

void xs_tree_del(const char *path)
{
	struct xs_node *old = xs_tree_node(path);

	XS_ASSERT(old, "deleting missing node %s", path);
	XS_ASSERT(strcmp(path, "/") != 0, "deleting the root");
	xs_owner_count(xs_node_owner(old), -1);
	xs_htab_remove(&xs_g.nodes, &old->h);
	free(old);
	xs_g.gen++;
}

const struct xs_node *xs_view_get(struct xs_view *v, const char *path, int *err)
{
	*err = 0;
	return v->tx ? xs_tx_get(v->tx, path, err) : xs_tree_get(path);
}

void xs_view_put(struct xs_view *v, struct xs_node *n)
{
	if (v->tx)
		xs_tx_put(v->tx, v->conn, n);
	else
		xs_tree_put(n);
}

void xs_view_del(struct xs_view *v, const char *path)
{
	if (v->tx)
		xs_tx_del(v->tx, v->conn, path);
	else
		xs_tree_del(path);
}

/* ---- set-up, reset ---- */

static void xs_tree_free_all(void)
{
	uint32_t i;
	struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i);

	while (e) {
		struct xs_hentry *next = e->next;

		xs_htab_remove(&xs_g.nodes, e);
		free(e);
		e = next ? next : xs_htab_first(&xs_g.nodes, &i);
	}
	xs_htab_fini(&xs_g.nodes);
}

static void xs_tree_build_initial(void)
{
	static const struct xs_permissions n0 = {.id = 0, .perms = XS_PERM_NONE};

	XS_ASSERT(xs_htab_init(&xs_g.nodes) == 0, "no memory for the node table");
	for (size_t i = 0; i < sizeof(xs_initial) / sizeof(xs_initial[0]); i++) {
		struct xs_node *n = xs_node_make(xs_initial[i].path, &n0, 1, NULL, 0,
						 xs_initial[i].children,
						 xs_initial[i].children_len);

		XS_ASSERT(n, "no memory for initial node %s", xs_initial[i].path);
		xs_tree_put(n);
	}
}

static void xs_special_reset(void)
{
	for (int i = 0; i < XS_SPECIAL_COUNT; i++) {
		struct xs_special *s = &xs_g.special[i];

		free(s->perms);
		s->name = i == XS_SPECIAL_INTRODUCE ? "@introduceDomain" : "@releaseDomain";
		s->perms = calloc(1, sizeof(*s->perms));
		XS_ASSERT(s->perms, "no memory for %s", s->name);
		s->perms_num = 1;   /* "n0": only privileged connections see them */
	}
}

static void xs_store_init_locked(void)
{
	xs_domain_reset_locked();
	xs_tree_build_initial();
	xs_special_reset();
	xs_g.ready = true;
}

void xs_lock(void)
{
	pthread_mutex_lock(&xs_g.lock);
	if (!xs_g.ready)
		xs_store_init_locked();
}

/* Every unlock may have changed the store (reads are counted too: one
 * counter, no judgement per call site). xs_store_check skips a state it has
 * already found consistent, which is what a full check would find again:
 * all it reads is under the lock. */
static uint64_t xs_unlocks;
static uint64_t xs_checked_at = UINT64_MAX;   /* xs_unlocks when a check last passed */

void xs_unlock(void)
{
	xs_unlocks++;
	pthread_mutex_unlock(&xs_g.lock);
}

void xs_store_reset(void)
{
	xs_lock();
	for (struct xs_conn *c = xs_g.conns; c; c = c->next) {
		xs_watches_free(c);
		xs_txs_free(c);
	}
	xs_tree_free_all();
	memset(xs_g.dom_nodes, 0, sizeof(xs_g.dom_nodes));
	memset(&xs_g.stats, 0, sizeof(xs_g.stats));
	xs_g.partial_last[0] = '\0';
	xs_store_init_locked();
	xs_unlock();
}

/* ---- quotas and counters ---- */

const struct xs_quota *xs_quota_table(void)
{
	return xs_g.quotas;
}

int xs_quota_set(const char *name, unsigned value)
{
	int rc = -ENOENT;

	xs_lock();
	for (int i = 0; i < XS_QUOTA_COUNT; i++) {
		if (strcmp(xs_g.quotas[i].name, name) == 0) {
			xs_g.quotas[i].value = value;
			rc = 0;
		}
	}
	xs_unlock();
	return rc;
}

void xs_quota_reset(void)
{
	xs_lock();
	for (int i = 0; i < XS_QUOTA_COUNT; i++)
		xs_g.quotas[i].value = xs_g.quotas[i].dflt;
	xs_unlock();
}

void xs_store_stats_get(struct xs_store_stats *out)
{
	xs_lock();
	*out = xs_g.stats;
	xs_unlock();
}

void xs_store_partial_last(char *buf, size_t len)
{
	xs_lock();
	snprintf(buf, len, "%s", xs_g.partial_last);
	xs_unlock();
}

unsigned xs_store_nodes_owned(domid_t domid)
{
	unsigned n;

	xs_lock();
	n = domid < XS_DOMID_SLOTS ? xs_g.dom_nodes[domid] : 0;
	xs_unlock();
	return n;
}

unsigned xs_store_nodes_total(void)
{
	unsigned n;

	xs_lock();
	n = xs_g.nodes.count;
	xs_unlock();
	return n;
}

/* ---- the whole-store check ---- */

/* Every non-ignored entry names a domain xenstore knows: a new domain with a
 * dead one's id must never find its permissions waiting for it. */
static void xs_check_perms(const char *what, const struct xs_permissions *p, unsigned num)
{
	XS_ASSERT(num >= 1, "%s: no permissions", what);
	XS_ASSERT(xs_domain_known(p[0].id), "%s: owner %u is not a known domain", what, p[0].id);
	for (unsigned i = 0; i < num; i++) {
		XS_ASSERT((p[i].perms & ~(XS_PERM_MASK | XS_PERM_IGNORE)) == 0,
			  "%s: entry %u has bits %#x", what, i, p[i].perms);
		XS_ASSERT((p[i].perms & XS_PERM_IGNORE) || xs_domain_known(p[i].id),
			  "%s: entry %u names dead domain %u", what, i, p[i].id);
	}
}

/* Each listed child exists, under this path, and is listed once here.
 * Returns how many it lists. */
static unsigned xs_check_children(const struct xs_node *n)
{
	char path[XS_PATH_BUF + XENSTORE_ABS_PATH_MAX];
	size_t plen = strcmp(n->path, "/") ? strlen(n->path) : 0;
	/* Every child's path starts with "<n->path>/": its hash goes on from n's. */
	uint32_t phash = plen ? n->h.hash : XS_HASH_INIT;
	unsigned listed = 0;

	memcpy(path, n->path, plen);
	path[plen] = '/';
	phash = xs_hash_add(phash, "/", 1);
	for (unsigned off = 0; off < n->children_len; off += (unsigned)strlen(n->children + off) + 1) {
		const char *leaf = n->children + off;
		size_t ll = strlen(leaf);
		const struct xs_node *child = NULL;

		XS_ASSERT(*leaf && !memchr(leaf, '/', ll), "%s: bad child name '%s'", n->path, leaf);
		if (plen + 1 + ll < sizeof(path)) {
			memcpy(path + plen + 1, leaf, ll + 1);
			child = xs_tree_get_len(path, plen + 1 + ll, xs_hash_add(phash, leaf, ll));
		}
		XS_ASSERT(child, "%s lists child %s/%s, which does not exist", n->path,
			  plen ? n->path : "", leaf);
		XS_ASSERT(xs_path_parent_len(child->path) == strlen(n->path),
			  "%s: child %s has another parent", n->path, child->path);
		for (unsigned o = 0, olen; o < off; o += olen + 1) {
			olen = (unsigned)strlen(n->children + o);
			XS_ASSERT(olen != ll || memcmp(n->children + o, leaf, ll) != 0,
				  "%s: lists %s twice", n->path, leaf);
		}
		listed++;
	}
	XS_ASSERT(n->children_len == 0 || n->children[n->children_len - 1] == '\0',
		  "%s: children list not terminated", n->path);
	return listed;
}

/* The node appears exactly once in its parent's list. (The walk needs this
 * only to name a node when the lists' total is wrong: see xs_check_walk.) */
static void xs_check_parent(const struct xs_node *n)
{
	char parent[XS_PATH_BUF];
	const char *leaf = n->path + xs_path_parent_len(n->path) + (xs_path_parent_len(n->path) > 1);
	const struct xs_node *p;
	unsigned seen = 0;

	if (strcmp(n->path, "/") == 0)
		return;
	snprintf(parent, sizeof(parent), "%.*s", (int)xs_path_parent_len(n->path), n->path);
	p = xs_tree_get(parent);
	XS_ASSERT(p, "%s: parent %s missing", n->path, parent);
	for (unsigned off = 0; off < p->children_len; off += (unsigned)strlen(p->children + off) + 1)
		seen += strcmp(p->children + off, leaf) == 0;
	XS_ASSERT(seen == 1, "%s: listed %u times by %s", n->path, seen, parent);
}

/* The node walk of a check reads the tree, which domains are alive and the
 * node counts per owner, and nothing else. The tree changes only by
 * xs_tree_put and xs_tree_del, which bump xs_g.gen (never lowered) and keep
 * the counts; the rest is written only where xs_tree_touched is called too
 * (a node's permissions in place, a domain's liveness) or before the
 * initial tree is put (a reset). So while the generation is that of the last
 * walk that passed and nothing was touched, a walk would find what it found
 * then; it is skipped, but for every XS_CHECK_WALK_EVERY-th check. */
#define XS_CHECK_WALK_EVERY 16u

static struct {
	bool valid;
	uint64_t gen;
	unsigned checks;
	unsigned owned[XS_DOMID_SLOTS];     /* scratch: nodes per owner */
} xs_walked;

void xs_tree_touched(void)
{
	xs_walked.valid = false;
}

static void xs_check_walk(void)
{
	unsigned *owned = xs_walked.owned, listed = 0;
	uint32_t i;

	xs_walked.valid = false;
	memset(owned, 0, sizeof(xs_walked.owned));
	for (struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i); e; e = xs_htab_next(&xs_g.nodes, e, &i)) {
		const struct xs_node *n = (const struct xs_node *)e;

		XS_ASSERT(n->gen != XS_GEN_NONE && n->gen <= xs_g.gen, "%s: generation %llu",
			  n->path, (unsigned long long)n->gen);
		xs_check_perms(n->path, n->perms, n->perms_num);
		listed += xs_check_children(n);
		owned[xs_node_owner(n)]++;
	}
	/* Every listed child exists, and no list names one twice: the entries
	 * name distinct nodes, none the root. As many as the nodes but the root,
	 * they name each node once, in its parent's list (which so exists). */
	if (listed + 1 != xs_g.nodes.count) {
		for (struct xs_hentry *e = xs_htab_first(&xs_g.nodes, &i); e; e = xs_htab_next(&xs_g.nodes, e, &i))
			xs_check_parent((const struct xs_node *)e);
		XS_ASSERT(false, "%u nodes, %u listed as children", xs_g.nodes.count, listed);
	}
	/* Every slot at once (there are thousands); the loop names the domain. */
	_Static_assert(sizeof(xs_walked.owned) == sizeof(xs_g.dom_nodes), "one slot per domain");
	bool differ = memcmp(owned, xs_g.dom_nodes, sizeof(xs_walked.owned)) != 0;
	for (unsigned d = 0; differ && d < XS_DOMID_SLOTS; d++)
		XS_ASSERT(owned[d] == xs_g.dom_nodes[d], "domain %u owns %u nodes, counted %u", d,
			  owned[d], xs_g.dom_nodes[d]);
	xs_walked.gen = xs_g.gen;
	xs_walked.valid = true;   /* a failed walk panicked */
}

void xs_store_check_locked(void)
{
	XS_ASSERT(xs_tree_get("/"), "the root is missing");
	if (!xs_walked.valid || xs_walked.gen != xs_g.gen ||
	    ++xs_walked.checks % XS_CHECK_WALK_EVERY == 0)
		xs_check_walk();
	for (int s = 0; s < XS_SPECIAL_COUNT; s++)
		xs_check_perms(xs_g.special[s].name, xs_g.special[s].perms, xs_g.special[s].perms_num);
	for (struct xs_conn *c = xs_g.conns; c; c = c->next) {
		unsigned w = 0, t = 0;

		for (struct xs_watch *wa = c->watches; wa; wa = wa->next)
			w++;
		for (struct xs_tx *tx = c->txs; tx; tx = tx->next)
			t++;
		XS_ASSERT(w == c->watches_num && t == c->txs_num,
			  "domain %u connection: %u watches (counted %u), %u transactions (counted %u)",
			  c->domid, w, c->watches_num, t, c->txs_num);
		XS_ASSERT(!c->dead || (w == 0 && t == 0), "dropped connection of domain %u kept state",
			  c->domid);
	}
}

void xs_store_check(void)
{
	xs_lock();
	if (xs_unlocks != xs_checked_at) {
		xs_store_check_locked();
		xs_checked_at = xs_unlocks;   /* a failed check panicked */
	}
	pthread_mutex_unlock(&xs_g.lock);   /* changed nothing: no xs_unlock */
}
