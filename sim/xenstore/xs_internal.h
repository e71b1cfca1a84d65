/*
 * Private to sim/xenstore. The store is one lock, one table of nodes keyed by
 * path, the connections with their watches and transactions, and a small
 * registry of the domains xenstore knows. Everything named *_locked, every
 * handler and every view operation expects xs_g.lock to be held.
 *
 * Nodes are immutable once in a table: a change builds a new node and puts it
 * in place of the old one (xs_view_put). That makes "nothing half written"
 * easy: a handler checks everything, allocates what it needs, and only then
 * puts, and a put cannot fail.
 */
#ifndef SIM_XS_INTERNAL_H
#define SIM_XS_INTERNAL_H

#include <errno.h>   /* before xs_wire.h: it defines xsd_errors only after errno.h */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <xenstore_lib.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"

/* ---- limits ---- */
#define XS_PATH_BUF (XENSTORE_ABS_PATH_MAX + 1u)
#define XS_DOMID_SLOTS SIM_DOMID_LIMIT          /* registry: domids 0 .. limit-1 */
#define XS_PERMS_WIRE_MAX (XENSTORE_PAYLOAD_MAX / 2u) /* "n0\0" is 3 bytes at least */
#define XS_TX_ID_STR_MAX 11u                   /* "4294967295" and its NUL */
#define XS_HTAB_BUCKETS_MIN 64u
#define XS_GEN_NONE 0u                         /* generation of a missing node */
#define XS_PERM_MASK (XS_PERM_READ | XS_PERM_WRITE)
#define XS_PERM_ALL (XS_PERM_READ | XS_PERM_WRITE | XS_PERM_OWNER)

_Static_assert(XENSTORE_REL_PATH_MAX < XENSTORE_ABS_PATH_MAX, "relative paths are shorter");
_Static_assert(XENSTORE_ABS_PATH_MAX < XENSTORE_PAYLOAD_MAX, "a path fits in a message");
_Static_assert(XS_DOMID_SLOTS <= DOMID_FIRST_RESERVED, "registry slots are real domids");

/* Invariants are checked always, not only in debug builds. */
#define XS_ASSERT(cond, ...) SIM_ASSERT_IN("xenstore", cond, __VA_ARGS__)

/* ---- a small chained hash table keyed by strings (paths) ---- */
struct xs_hentry {
	struct xs_hentry *next;
	const char *key;
	uint32_t hash;
};
struct xs_htab {
	struct xs_hentry **b;
	uint32_t nb;      /* buckets, a power of two */
	uint32_t count;
};
/* FNV-1a, which hashes byte by byte: the hash of "/a/b" is that of "/a"
 * continued over "/b", so the hashes of every prefix of a path cost one pass
 * (the watch index looks up each ancestor of a changed path). */
#define XS_HASH_INIT 2166136261u
static inline uint32_t xs_hash_add(uint32_t h, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 16777619u;
	return h;
}
uint32_t xs_hash(const char *key);
int xs_htab_init(struct xs_htab *t);
void xs_htab_fini(struct xs_htab *t);     /* the entries are the caller's */
struct xs_hentry *xs_htab_find(const struct xs_htab *t, const char *key);
/* The entry keyed by key[0..len) (no NUL in it; key may go on), given
 * xs_hash of that key, which the caller has at hand. */
struct xs_hentry *xs_htab_find_len(const struct xs_htab *t, const char *key, size_t len,
				   uint32_t hash);
/* Key not present; e->hash must be xs_hash(e->key) (set with the key, where
 * it is known already: a node's, from xs_node_make). */
void xs_htab_insert(struct xs_htab *t, struct xs_hentry *e);
void xs_htab_remove(struct xs_htab *t, struct xs_hentry *e);
/* Iterate: for (e = xs_htab_first(t, &i); e; e = xs_htab_next(t, e, &i)).
 * The table must not change during the walk. */
struct xs_hentry *xs_htab_first(const struct xs_htab *t, uint32_t *i);
struct xs_hentry *xs_htab_next(const struct xs_htab *t, struct xs_hentry *e, uint32_t *i);

/* ---- nodes ---- */
struct xs_node {
	struct xs_hentry h;                 /* key = path; hash set when made */
	uint64_t gen;                       /* store generation of the last change */
	char *path;
	struct xs_permissions *perms;       /* perms[0]: owner and default */
	unsigned perms_num;                 /* >= 1 */
	char *value;
	unsigned value_len;
	char *children;                     /* leaf names, each NUL-terminated */
	unsigned children_len;
};
/* One allocation holding copies of everything; NULL on ENOMEM. */
struct xs_node *xs_node_make(const char *path, const struct xs_permissions *perms,
			     unsigned perms_num, const void *value, unsigned value_len,
			     const char *children, unsigned children_len);
struct xs_node *xs_node_copy(const struct xs_node *n);
struct xs_node *xs_node_with_value(const struct xs_node *n, const void *value, unsigned len);
struct xs_node *xs_node_with_perms(const struct xs_node *n, const struct xs_permissions *p,
				   unsigned num);
struct xs_node *xs_node_with_child(const struct xs_node *n, const char *leaf);
struct xs_node *xs_node_without_child(const struct xs_node *n, const char *leaf);
static inline domid_t xs_node_owner(const struct xs_node *n)
{
	return (domid_t)n->perms[0].id;
}

/* ---- domains xenstore knows ---- */
struct xs_dom {
	bool alive;            /* created and not yet gone (hooks, or a connection) */
	bool introduced;       /* INTRODUCE seen, no RELEASE or death since */
	domid_t target;        /* SET_TARGET; DOMID_INVALID: none */
};

/* ---- connections, watches, transactions ---- */
struct xs_watch {
	struct xs_watch *next;
	char *path;            /* canonical (absolute, or @special) */
	char *token;
	unsigned rel_len;      /* relative watch: length of the implicit prefix; else 0 */
};

/* What the watch permission rule needs about one change besides the parent
 * (looked up in the committed tree at delivery): the node's perms (after the
 * change, or before a removal) and, for SET_PERMS, the old ones. num == 0:
 * absent. */
struct xs_ev_perms {
	const struct xs_permissions *p[2];
	unsigned num[2];
};
enum { XS_EVP_NODE, XS_EVP_OLD };

struct xs_qevent {             /* an event held back until its transaction commits */
	struct xs_qevent *next;
	bool exact;
	struct xs_permissions *perms;      /* node then old, back to back */
	unsigned num[2];
	char path[];
};

struct xs_tx_entry {           /* a node as this transaction first saw it, and since */
	struct xs_hentry h;            /* key = path */
	struct xs_tx_entry *next;      /* in first-access order */
	char *path;
	struct xs_node *node;          /* the transaction's view; NULL: missing */
	uint64_t base_gen;             /* generation when first accessed */
	bool dirty;                    /* changed by the transaction */
};

/* "WRITE of PATH failed (ENOSPC)": what a partial commit is blamed on. */
#define XS_PARTIAL_MAX 160u

struct xs_tx {
	struct xs_tx *next;
	uint32_t id;
	struct xs_htab entries;
	struct xs_tx_entry *first, **last;
	int own_delta;                 /* nodes the connection's domain gains on commit */
	bool failed;                   /* lost an event to ENOMEM: commit says ENOMEM */
	bool stale_spared;             /* xenstore.tx.stale: hit once, or the rerun of a hit one */
	struct xs_qevent *events, **events_last;
	char write_failed[XS_PARTIAL_MAX];   /* the first change refused in it, or "" */
};

/* A watch event held back by the xenstore.watch.delay fault site. */
struct xs_delayed {
	struct xs_delayed *next;
	unsigned len;
	char payload[];
};

/* Where a xenstore fault site hits: the connection's domain (so that `fault
 * xs.* ... on DOMAIN` aims at one client). */
#define XS_FAULT_CTX(d) XS_FAULT_CTX_DEV(d, NULL)
#define XS_FAULT_CTX_DEV(d, dev) ((struct sim_fault_ctx){.domid = (d), .peer = DOMID_INVALID, \
							  .port = SIM_FAULT_PORT_ANY, .device = (dev)})

/* The device a path belongs to, as fault aims name it ("vbd/51712" from
 * .../device/vbd/51712/... or .../backend/vbd/FE/51712/...), or NULL; path
 * may be unterminated within len. buf: SIM_FAULT_DEVICE_MAX bytes. */
static inline const char *xs_fault_device(const char *path, unsigned len, char *buf)
{
	char p[XENSTORE_ABS_PATH_MAX + 2], kind[8];
	unsigned fe, dev;
	const char *d;

	if (!path || !memchr(path, '\0', len) || strlen(path) > XENSTORE_ABS_PATH_MAX)
		return NULL;
	p[0] = '/';   /* a relative path ("device/vbd/...") matches too */
	memcpy(p + 1, path, strlen(path) + 1);
	if ((d = strstr(p, "/device/")) && sscanf(d, "/device/%7[a-z]/%u", kind, &dev) == 2)
		return snprintf(buf, SIM_FAULT_DEVICE_MAX, "%s/%u", kind, dev), buf;
	if ((d = strstr(p, "/backend/")) && sscanf(d, "/backend/%7[a-z]/%u/%u", kind, &fe, &dev) == 3)
		return snprintf(buf, SIM_FAULT_DEVICE_MAX, "%s/%u", kind, dev), buf;
	return NULL;
}

/* sim_fault_hit_ctx for a request or event about path (as xs_fault_device).
 * An unarmed site only counts the occurrence and never reads the context, so
 * the device (sscanf, snprintf: on every watch event) is worked out only for
 * an armed one. Were the site armed or disarmed in between (only another
 * thread could, in free mode), the occurrence is as if it came before that. */
static inline bool xs_fault_hit_path(struct sim_fault_site *site, domid_t domid,
				     const char *path, unsigned len)
{
	char dev[SIM_FAULT_DEVICE_MAX];
	const char *device = NULL;

	if (atomic_load_explicit(&site->armed, memory_order_relaxed))
		device = xs_fault_device(path, len, dev);
	return sim_fault_hit_ctx(site, &XS_FAULT_CTX_DEV(domid, device));
}

struct xs_conn {
	struct xs_conn *next, *prev;   /* xs_g.conns */
	bool tx_stale_hit;             /* its last transaction met xenstore.tx.stale */
	uint64_t order;                /* creation order: the list runs newest first */
	domid_t domid;
	char home[sizeof("/local/domain/65535")];   /* what relative paths are under */
	bool priv;                     /* dom0 or a privileged domain: no checks, no quotas */
	bool inproc;                   /* an xs_* handle (dom0's are dropped with dom0) */
	bool dead;                     /* dropped: requests get EIO */
	xs_deliver_fn *deliver;
	void *ctx;
	void (*dropped)(void *ctx);    /* inproc: told (under the lock) when dropped */
	struct xs_watch *watches;
	unsigned watches_num;
	struct xs_tx *txs;
	unsigned txs_num;
	uint32_t tx_next_id;
	bool events_bounded;
	struct xs_delayed *delayed_head, *delayed_tail;   /* watch.delay fault */
	atomic_uint events_pending;
	uint64_t events_dropped;
	uint64_t requests, errors;
};

/* ---- the whole store ---- */
enum { XS_SPECIAL_INTRODUCE, XS_SPECIAL_RELEASE, XS_SPECIAL_COUNT };
struct xs_special {
	const char *name;                  /* "@introduceDomain", "@releaseDomain" */
	struct xs_permissions *perms;
	unsigned perms_num;
};

struct xs_store_state {
	pthread_mutex_t lock;
	bool ready;
	struct xs_htab nodes;
	uint64_t gen;                      /* last generation handed out */
	struct xs_conn *conns;
	struct xs_dom doms[XS_DOMID_SLOTS];
	/* Nodes each domain owns in the committed tree; an array of its own so
	 * that the check compares it with its count in one memcmp. */
	unsigned dom_nodes[XS_DOMID_SLOTS];
	struct xs_special special[XS_SPECIAL_COUNT];
	struct xs_quota quotas[XS_QUOTA_COUNT];
	struct xs_store_stats stats;
	char partial_last[XS_PARTIAL_MAX + 48];   /* the last partial commit, described */
};
extern struct xs_store_state xs_g;

void xs_lock(void);      /* also builds the initial tree the first time */
void xs_unlock(void);
static inline unsigned xs_quota(enum xs_quota_id id)
{
	return xs_g.quotas[id].value;
}
void xs_store_check_locked(void);
/* A node of the tree was changed in place (not by xs_tree_put/del), or a
 * domain's liveness: the next check walks every node again. */
void xs_tree_touched(void);
unsigned xs_domain_nodes(domid_t domid);
bool xs_domain_known(uint32_t domid);       /* dom0, or alive */
bool xs_domain_introduced(uint32_t domid);

/* ---- views: the committed tree, or a transaction's view of it ---- */
struct xs_view {
	struct xs_conn *conn;
	struct xs_tx *tx;                  /* NULL: the committed tree */
};
/* The node at path, or NULL if missing (*err = 0) or on ENOMEM (*err < 0).
 * In a transaction, the first access snapshots the node. */
const struct xs_node *xs_view_get(struct xs_view *v, const char *path, int *err);
/* Put n (owned from now on) at n->path, replacing what was there. Never fails;
 * in a transaction n->path must have been read through the view before. */
void xs_view_put(struct xs_view *v, struct xs_node *n);
/* Remove the one node at path (not its children; not from its parent's list). */
void xs_view_del(struct xs_view *v, const char *path);
/* Remove top and everything below it through v (not "/"), firing the watches
 * as an RM does; -ENOMEM leaves the tree as it was. */
int xs_node_rm(struct xs_view *v, const char *top);
/* The committed tree (tx.c replays into it). */
const struct xs_node *xs_tree_get(const char *path);
/* The node at path[0..len) (no NUL in it), given xs_hash of that path. */
const struct xs_node *xs_tree_get_len(const char *path, size_t len, uint32_t hash);
void xs_tree_put(struct xs_node *n);
void xs_tree_del(const char *path);

/* ---- requests ---- */
struct xs_req {
	struct xs_conn *conn;
	const struct xsd_sockmsg *hdr;
	const char *payload;
	unsigned len;
	struct xs_tx *tx;                  /* the request's transaction, or NULL */
	struct xs_view view;
	bool replied;
};
unsigned xs_req_strings(const struct xs_req *rq, const char **vec, unsigned max);
const char *xs_req_onearg(const struct xs_req *rq);
int xs_reply(struct xs_req *rq, const void *data, unsigned len);   /* -E2BIG: too long */
int xs_reply_ok(struct xs_req *rq);

/* Handlers: 0 after replying, or a negative errno for the dispatcher to send. */
typedef int xs_op_fn(struct xs_req *rq);
xs_op_fn xs_op_read, xs_op_write, xs_op_mkdir, xs_op_rm, xs_op_directory,
	xs_op_directory_part, xs_op_get_perms, xs_op_set_perms;
xs_op_fn xs_op_watch, xs_op_unwatch, xs_op_reset_watches;
/* node.c: a "<dir>/state" path while a trace sink listens; a decimal value. */
bool xs_is_state_path(const char *path);
unsigned xs_value_uint(const char *value, unsigned len);
xs_op_fn xs_op_tx_start, xs_op_tx_end;
xs_op_fn xs_op_introduce, xs_op_release, xs_op_get_domain_path, xs_op_is_introduced,
	xs_op_resume, xs_op_set_target, xs_op_control;

/* ---- paths and permissions (node.c) ---- */
/* Canonical absolute path (malloc'd) of a request path: relative ones are
 * under /local/domain/<domid>. *rel_len: the implicit prefix length, or 0. */
int xs_path_canon(const struct xs_conn *c, const char *in, bool allow_special, char **out,
		  unsigned *rel_len);
bool xs_path_is_special(const char *path);
/* Length of the parent's path ("/a/b" -> 2, "/a" -> 1; "/" -> 1). */
unsigned xs_path_parent_len(const char *path);
/* buf (XS_PATH_BUF bytes) holding the first len bytes of path. */
char *xs_prefix(const char *path, unsigned len, char *buf);
/* Is child at or below parent ("/" is above everything, even @specials). */
bool xs_path_below(const char *child, const char *parent);
unsigned xs_perm_for(const struct xs_conn *c, const struct xs_permissions *p, unsigned num);
int xs_perms_parse(const char *strings, unsigned num, struct xs_permissions *out);
struct xs_special *xs_special_find(const char *path);

/* ---- watches and events (watch.c) ---- */
/* A change at path: deliver now, or hold it in the view's transaction. */
void xs_event_fire(struct xs_view *v, const char *path, bool exact, const struct xs_ev_perms *ep);
/* Deliver now, to every connection allowed to see it. */
/* Send the watch events the delay fault held back, on every connection, in
 * order (before the next request is handled). Caller holds the lock. */
void xs_delayed_flush(void);
void xs_delayed_free(struct xs_conn *c);
void xs_event_dispatch(const char *path, bool exact, const struct xs_ev_perms *ep);
void xs_event_special(int which);                  /* @introduceDomain / @releaseDomain */
void xs_watches_free(struct xs_conn *c);
void xs_qevents_free(struct xs_qevent *e);
void xs_qevents_dispatch(struct xs_qevent *e);

/* ---- transactions (tx.c) ---- */
struct xs_tx *xs_tx_find(struct xs_conn *c, uint32_t id);
void xs_txs_free(struct xs_conn *c);
const struct xs_node *xs_tx_get(struct xs_tx *tx, const char *path, int *err);
/* The xenstore.tx.stale fault site, at a READ in tx of path (len: its bytes). */
void xs_tx_stale_read(struct xs_conn *c, struct xs_tx *tx, const char *path, unsigned len);
void xs_tx_put(struct xs_tx *tx, const struct xs_conn *c, struct xs_node *n);
void xs_tx_del(struct xs_tx *tx, const struct xs_conn *c, const char *path);
void xs_tx_queue_event(struct xs_tx *tx, const char *path, bool exact,
		       const struct xs_ev_perms *ep);
/* Apply fn to every permission list held by open transactions: their node
 * copies and held-back events (domain cleanup). num may be 0. */
void xs_tx_foreach_perms(void (*fn)(struct xs_permissions *p, unsigned num, void *arg), void *arg);

/* ---- domains (domain.c) ---- */
void xs_domain_reset_locked(void);
void xs_conn_drop_locked(struct xs_conn *c);
/* Remove domid from every permission list (owner -> dom0). */
void xs_perms_forget_domain(domid_t domid);

/* ---- connections (dispatch.c) ---- */
struct xs_conn *xs_conn_new_inproc(domid_t domid, bool priv, xs_deliver_fn *deliver,
				   void (*dropped)(void *ctx), void *ctx);
void xs_conn_send(struct xs_conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
		  const void *data, unsigned len);
int xs_errno_from_name(const char *name);

#endif
