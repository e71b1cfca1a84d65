/*
 * sim/xenstore: watches and watch events (WATCH, UNWATCH, RESET_WATCHES).
 *
 * A change at a path matches every watch at or above it ("exact" events,
 * from the nodes below the top of a recursive removal, match only a watch on
 * that very path). A watcher gets the event only if it may read the node
 * (before a removal: as it was), its parent, or for SET_PERMS the node under
 * its old permissions: xenstored's rule, so a watcher learns no name it could
 * not list anyway. @introduceDomain / @releaseDomain go to whoever may read
 * the special node (dom0 only, by default).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

static bool xs_perms_readable(const struct xs_conn *c, const struct xs_permissions *p, unsigned num)
{
	return num && (xs_perm_for(c, p, num) & XS_PERM_READ);
}

static bool xs_watch_permitted(const struct xs_conn *c, const char *path, const struct xs_ev_perms *ep)
{
	const struct xs_node *parent;
	const struct xs_special *s;
	unsigned parent_len;

	if (xs_path_is_special(path)) {
		s = xs_special_find(path);
		return s && xs_perms_readable(c, s->perms, s->perms_num);
	}
	if (xs_perms_readable(c, ep->p[XS_EVP_NODE], ep->num[XS_EVP_NODE]) ||
	    xs_perms_readable(c, ep->p[XS_EVP_OLD], ep->num[XS_EVP_OLD]))
		return true;
	parent_len = xs_path_parent_len(path);
	parent = xs_tree_get_len(path, parent_len, xs_hash_add(XS_HASH_INIT, path, parent_len));
	return parent && xs_perms_readable(c, parent->perms, parent->perms_num);
}

static bool xs_watch_matches(const struct xs_watch *w, const char *path, bool exact)
{
	return exact ? strcmp(path, w->path) == 0 : xs_path_below(path, w->path);
}

/* A full queue loses the event (counted, logged once per connection): the
 * client can tell only by re-reading, as with xenstored's event timeouts. */
static bool xs_event_room(struct xs_conn *c)
{
	if (!c->events_bounded || atomic_load(&c->events_pending) < xs_quota(XS_QUOTA_EVENTS))
		return true;
	if (c->events_dropped++ == 0)
		sim_log("xenstore: domain %u connection: more than %u watch events pending, "
			"dropping events", c->domid, xs_quota(XS_QUOTA_EVENTS));
	xs_g.stats.events_dropped++;
	return false;
}

SIM_FAULT_SITE_FLAGS(xs_fault_watch_delay, "xenstore.watch.delay",
	       "a watch event (and every later one of its connection) is held back up to 10 ms, or until the next request to the store",
		     SIM_FAULT_LEGAL)

/* Hold an event back: once one is held, later ones queue behind it (a
 * connection's events stay in order). False without memory: send it now. */
#define XS_WATCH_DELAY_NS 10000000ull   /* a held-back event waits at most 10 ms */

/* One timer per held-back event (bounded by the events quota); a flush with
 * nothing held is a no-op. */
static void xs_delay_timer(void *arg)
{
	(void)arg;
	xs_lock();
	xs_delayed_flush();
	xs_unlock();
}

/* Connections holding events back: a request flushes them first, and with
 * none (the usual case) that costs nothing however many connections exist. */
static unsigned xs_delayed_conns;

static bool xs_event_delay(struct xs_conn *c, const char *buf, unsigned len)
{
	if (!c->delayed_head && !xs_fault_hit_path(&xs_fault_watch_delay, c->domid, buf, len))
		return false;
	if (sim_timer_at(sim_now_ns() + XS_WATCH_DELAY_NS, xs_delay_timer, NULL) < 0)
		return false;
	struct xs_delayed *d = malloc(sizeof(*d) + len);
	if (!d)
		return false;
	d->next = NULL;
	d->len = len;
	memcpy(d->payload, buf, len);
	if (c->delayed_tail) {
		c->delayed_tail->next = d;
	} else {
		c->delayed_head = d;
		xs_delayed_conns++;
	}
	c->delayed_tail = d;
	return true;
}

void xs_delayed_flush(void)
{
	for (struct xs_conn *c = xs_delayed_conns ? xs_g.conns : NULL; c; c = c->next) {
		struct xs_delayed *d = c->delayed_head;
		c->delayed_head = c->delayed_tail = NULL;
		for (struct xs_delayed *next; d; d = next) {
			next = d->next;
			if (!c->dead)
				xs_conn_send(c, XS_WATCH_EVENT, 0, 0, d->payload, d->len);
			free(d);
		}
	}
	xs_delayed_conns = 0;
}

void xs_delayed_free(struct xs_conn *c)
{
	if (c->delayed_head) {
		XS_ASSERT(xs_delayed_conns > 0, "domain %u connection holds events nobody counted",
			  c->domid);
		xs_delayed_conns--;
	}
	for (struct xs_delayed *d = c->delayed_head, *next; d; d = next) {
		next = d->next;
		free(d);
	}
	c->delayed_head = c->delayed_tail = NULL;
}

/* "path\0token\0"; a relative watch sees the path below its domain's home. */
static void xs_event_send(struct xs_conn *c, const struct xs_watch *w, const char *path)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	const char *epath = path + w->rel_len;
	size_t plen, tlen = strlen(w->token);

	if (w->rel_len && *epath == '/')
		epath++;
	plen = strlen(epath);
	if (plen + tlen + 2 > sizeof(buf) || !xs_event_room(c))
		return;
	memcpy(buf, epath, plen + 1);
	memcpy(buf + plen + 1, w->token, tlen + 1);
	if (c->events_bounded)
		atomic_fetch_add(&c->events_pending, 1);
	xs_g.stats.events++;
	sim_trace_event(SIM_TR_XS, c->domid, DOMID_INVALID, XS_WATCH_EVENT, 0, path);
	if (!xs_event_delay(c, buf, (unsigned)(plen + tlen + 2)))
		xs_conn_send(c, XS_WATCH_EVENT, 0, 0, buf, (unsigned)(plen + tlen + 2));
}

/* ---- the watch index: path -> the watches set on it, on any connection ----
 *
 * A change at a path can match only watches on that path or on one of its
 * ancestors, so dispatch looks up those few paths instead of testing every
 * watch of every connection (a thousand guests set five thousand watches, and
 * each write would test them all). Events still go out in the order the old
 * walk gave: connections newest first, a connection's watches in the order
 * they were set. */

struct xs_widx_ref {
	struct xs_widx_ref *next;
	struct xs_conn *conn;
	struct xs_watch *w;
	uint64_t seq;                  /* when it was set, process-wide */
};

struct xs_widx {
	struct xs_hentry h;            /* key = path */
	struct xs_widx_ref *refs;
	char path[];
};

static struct xs_htab xs_widx_tab;
static uint64_t xs_widx_seq;
static size_t xs_widx_refs;            /* every connection's watches_num, summed */
static struct xs_widx_ref **xs_match; /* dispatch scratch: room for every ref */
static size_t xs_match_cap;

static int xs_widx_add(struct xs_conn *c, struct xs_watch *w)
{
	struct xs_widx *e = (struct xs_widx *)xs_htab_find(&xs_widx_tab, w->path);
	struct xs_widx_ref *r = malloc(sizeof(*r));
	size_t len = strlen(w->path) + 1;

	if (r && xs_match_cap <= xs_widx_refs) {
		size_t cap = xs_match_cap ? xs_match_cap * 2 : 64;
		struct xs_widx_ref **m = realloc(xs_match, cap * sizeof(*m));
		xs_match = m ? m : xs_match;
		xs_match_cap = m ? cap : xs_match_cap;
	}
	if (r && !e && (e = malloc(sizeof(*e) + len))) {
		memcpy(e->path, w->path, len);
		e->h.key = e->path;
		e->h.hash = xs_hash(e->path);
		e->refs = NULL;
		xs_htab_insert(&xs_widx_tab, &e->h);
	}
	if (!r || !e || xs_match_cap <= xs_widx_refs) {
		free(r);   /* an entry left empty is harmless and found again */
		return -ENOMEM;
	}
	*r = (struct xs_widx_ref){.next = e->refs, .conn = c, .w = w, .seq = ++xs_widx_seq};
	e->refs = r;
	xs_widx_refs++;
	return 0;
}

static void xs_widx_remove(struct xs_conn *c, struct xs_watch *w)
{
	struct xs_widx *e = (struct xs_widx *)xs_htab_find(&xs_widx_tab, w->path);
	struct xs_widx_ref **pp = e ? &e->refs : NULL;

	while (pp && *pp && (*pp)->w != w)
		pp = &(*pp)->next;
	XS_ASSERT(pp && *pp && (*pp)->conn == c, "domain %u watch %s (token %s) not indexed",
		  c->domid, w->path, w->token);
	struct xs_widx_ref *r = *pp;
	*pp = r->next;
	free(r);
	xs_widx_refs--;
	if (!e->refs) {
		xs_htab_remove(&xs_widx_tab, &e->h);
		free(e);
	}
}

/* Add the watches set on exactly path[0..len) (hash: its xs_hash) to the matches. */
static size_t xs_widx_collect(const char *path, size_t len, uint32_t hash, size_t n)
{
	struct xs_widx *e = (struct xs_widx *)xs_htab_find_len(&xs_widx_tab, path, len, hash);

	for (struct xs_widx_ref *r = e ? e->refs : NULL; r; r = r->next) {
		XS_ASSERT(n < xs_match_cap, "%zu watch matches, room for %zu", n + 1, xs_match_cap);
		xs_match[n++] = r;
	}
	return n;
}

/* The watches a change at path matches: on path, and unless exact on each
 * ancestor and on "/" (which is above everything, even @specials). Ancestors
 * are found going down the path, hashing it once on the way; the order they
 * are collected in does not matter (xs_widx_sort). */
static size_t xs_widx_matches(const char *path, bool exact)
{
	size_t len = strlen(path), n = 0;
	uint32_t h = XS_HASH_INIT;

	if (!exact && strcmp(path, "/") != 0)
		n = xs_widx_collect("/", 1, xs_hash("/"), n);
	for (size_t i = 0; i < len; i++) {
		if (!exact && i > 0 && path[i] == '/')
			n = xs_widx_collect(path, i, h, n);
		h = xs_hash_add(h, path + i, 1);
	}
	return xs_widx_collect(path, len, h, n);
}

static bool xs_widx_before(const struct xs_widx_ref *a, const struct xs_widx_ref *b)
{
	return a->conn->order != b->conn->order ? a->conn->order > b->conn->order : a->seq < b->seq;
}

/* Insertion sort: a change matches a handful of watches. */
static void xs_widx_sort(size_t n)
{
	for (size_t i = 1; i < n; i++) {
		struct xs_widx_ref *r = xs_match[i];
		size_t j = i;

		for (; j > 0 && xs_widx_before(r, xs_match[j - 1]); j--)
			xs_match[j] = xs_match[j - 1];
		xs_match[j] = r;
	}
}

void xs_event_dispatch(const char *path, bool exact, const struct xs_ev_perms *ep)
{
	size_t n = xs_widx_matches(path, exact);
	struct xs_conn *asked = NULL;   /* the connection `permitted` is about */
	bool permitted = false;

	xs_widx_sort(n);
	for (size_t i = 0; i < n; i++) {
		struct xs_conn *c = xs_match[i]->conn;

		XS_ASSERT(xs_watch_matches(xs_match[i]->w, path, exact), "watch %s indexed for %s",
			  xs_match[i]->w->path, path);
		if (c->dead)
			continue;
		if (c != asked)
			permitted = xs_watch_permitted(c, path, ep);
		asked = c;
		if (permitted)
			xs_event_send(c, xs_match[i]->w, path);
	}
}

void xs_event_fire(struct xs_view *v, const char *path, bool exact, const struct xs_ev_perms *ep)
{
	if (v->tx)
		xs_tx_queue_event(v->tx, path, exact, ep);
	else
		xs_event_dispatch(path, exact, ep);
}

void xs_event_special(int which)
{
	struct xs_ev_perms none = {{0}};

	XS_ASSERT(which >= 0 && which < XS_SPECIAL_COUNT, "special event %d", which);
	xs_event_dispatch(xs_g.special[which].name, false, &none);
}

/* ---- events held back by a transaction ---- */

void xs_tx_queue_event(struct xs_tx *tx, const char *path, bool exact, const struct xs_ev_perms *ep)
{
	size_t path_len = strlen(path) + 1;
	unsigned num = ep->num[XS_EVP_NODE] + ep->num[XS_EVP_OLD];
	struct xs_qevent *e = malloc(sizeof(*e) + path_len);

	if (e)
		e->perms = malloc((num ? num : 1) * sizeof(*e->perms));
	if (!e || !e->perms) {
		free(e);
		tx->failed = true;
		return;
	}
	memcpy(e->path, path, path_len);
	e->exact = exact;
	for (int i = 0; i < 2; i++)
		e->num[i] = ep->num[i];
	if (ep->num[XS_EVP_NODE])
		memcpy(e->perms, ep->p[XS_EVP_NODE], ep->num[XS_EVP_NODE] * sizeof(*e->perms));
	if (ep->num[XS_EVP_OLD])
		memcpy(e->perms + ep->num[XS_EVP_NODE], ep->p[XS_EVP_OLD],
		       ep->num[XS_EVP_OLD] * sizeof(*e->perms));
	e->next = NULL;
	*tx->events_last = e;
	tx->events_last = &e->next;
}

void xs_qevents_dispatch(struct xs_qevent *e)
{
	for (; e; e = e->next) {
		struct xs_ev_perms ep = {
			.p = {e->perms, e->perms + e->num[XS_EVP_NODE]},
			.num = {e->num[XS_EVP_NODE], e->num[XS_EVP_OLD]},
		};

		xs_event_dispatch(e->path, e->exact, &ep);
	}
}

void xs_qevents_free(struct xs_qevent *e)
{
	while (e) {
		struct xs_qevent *next = e->next;

		free(e->perms);
		free(e);
		e = next;
	}
}

/* ---- watches ---- */

static void xs_watch_free(struct xs_watch *w)
{
	free(w->path);
	free(w->token);
	free(w);
}

void xs_watches_free(struct xs_conn *c)
{
	while (c->watches) {
		struct xs_watch *w = c->watches;

		c->watches = w->next;
		xs_widx_remove(c, w);
		xs_watch_free(w);
	}
	c->watches_num = 0;
}

static struct xs_watch **xs_watch_find(struct xs_conn *c, const char *path, const char *token)
{
	struct xs_watch **pp = &c->watches;

	while (*pp && (strcmp((*pp)->path, path) != 0 || strcmp((*pp)->token, token) != 0))
		pp = &(*pp)->next;
	return pp;
}

static int xs_watch_add(struct xs_conn *c, char *path, const char *token, unsigned rel_len,
			struct xs_watch **out)
{
	struct xs_watch *w = calloc(1, sizeof(*w));
	struct xs_watch **tail = &c->watches;

	if (w)
		w->token = strdup(token);
	if (!w || !w->token) {
		free(w);
		return -ENOMEM;
	}
	w->path = path;
	w->rel_len = rel_len;
	if (xs_widx_add(c, w) < 0) {
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	while (*tail)
		tail = &(*tail)->next;
	*tail = w;   /* events go out in the order the watches were set */
	c->watches_num++;
	*out = w;
	return 0;
}

int xs_op_watch(struct xs_req *rq)
{
	struct xs_conn *c = rq->conn;
	const char *vec[2];
	struct xs_watch *w = NULL;
	char *path = NULL;
	unsigned rel_len;
	int rc = xs_req_strings(rq, vec, 2) == 2 ? 0 : -EINVAL;

	if (rc == 0)
		rc = xs_path_canon(c, vec[0], true, &path, &rel_len);
	if (rc == 0 && *xs_watch_find(c, path, vec[1]))
		rc = -EEXIST;
	if (rc == 0 && !c->priv && c->watches_num >= xs_quota(XS_QUOTA_WATCHES)) {
		xs_g.stats.quota_refusals++;
		rc = -E2BIG;
	}
	if (rc == 0)
		rc = xs_watch_add(c, path, vec[1], rel_len, &w);
	if (rc == 0) {
		path = NULL;
		rc = xs_reply_ok(rq);
		/* Fired once straight away, whatever the permissions (xenstored). */
		xs_event_send(c, w, w->path);
	}
	free(path);
	return rc;
}

int xs_op_unwatch(struct xs_req *rq)
{
	const char *vec[2];
	struct xs_watch **pp, *w;
	char *path = NULL;
	unsigned rel_len;
	int rc = xs_req_strings(rq, vec, 2) == 2 ? 0 : -EINVAL;

	if (rc == 0)
		rc = xs_path_canon(rq->conn, vec[0], true, &path, &rel_len);
	if (rc == 0) {
		pp = xs_watch_find(rq->conn, path, vec[1]);
		w = *pp;
		rc = w ? 0 : -ENOENT;
	}
	if (rc == 0) {
		*pp = w->next;
		xs_widx_remove(rq->conn, w);
		xs_watch_free(w);
		rq->conn->watches_num--;
		rc = xs_reply_ok(rq);
	}
	free(path);
	return rc;
}

int xs_op_reset_watches(struct xs_req *rq)
{
	xs_watches_free(rq->conn);
	xs_txs_free(rq->conn);
	rq->tx = NULL;
	rq->view.tx = NULL;
	return xs_reply_ok(rq);
}
