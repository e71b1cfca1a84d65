/*
 * Workload `xs-attack`: a hostile guest attacks the store the way the
 * xenstored advisories (scenarios/xsa/) describe, through Xen's <xenstore.h>
 * API as any guest would, and checks the store's answer. One attack per run
 * (`attack=`), each a short sequence done on the attacker's (and the
 * victim's) own domain thread:
 *
 *   watch-perms  XSA-115: the attacker watches a directory holding a node it
 *                may not read and one it may; the toolstack changes both. An
 *                event for the secret node is a leak; none for the open one
 *                means no events at all (the check would prove nothing).
 *   rm-watch     XSA-414: the same watcher; the toolstack removes the open
 *                node (with children) and the secret one: the removal of
 *                open must be told, nothing of secret.
 *   dead-perms   XSA-322/417: the toolstack grants the victim write access
 *                to one node; once the victim has used it the workload's
 *                `phase` counter is 1 (the scenario restarts the victim: a
 *                new domain with the same domid). The new domain must be
 *                refused both read and write.
 *   tx-nodes     XSA-421 (and 326's "nodes in transactions"): a node created
 *                and removed in one transaction, rounds of it, then two
 *                transactions each filling the node quota, both committed:
 *                the attacker may never own more than the quota.
 *   tx-orphan    XSA-415: a node created in a transaction whose parent was
 *                removed outside it; the commit must fail, and a directory
 *                must never list a child that is not there.
 *   quotas       XSA-326: one past each per-connection quota (watches,
 *                transactions, value bytes, permission entries, nodes) must
 *                be refused, one below must work (set the quotas low).
 *   event-flood  XSA-349: the attacker rewrites a node the victim watches
 *                (a backend watching its frontend's nodes) many times while
 *                the victim reads nothing: the victim's queue stays within
 *                the events quota, and a read still gives the last value.
 *   deep         XSA-418: the deepest path a relative path allows, written
 *                in one request and removed in one: nothing may be left.
 *   dead-owner   XSA-419: the victim lets the attacker write below its own
 *                data/; the attacker creates `rounds` nodes there, then the
 *                scenario destroys it (phase 1): its nodes must go with it.
 *   long-path    XSA-323: the longest relative path (2048 bytes) works; one
 *                byte more, a relative path as long as an absolute one may
 *                be, and an absolute path one past 3072 are refused: no node
 *                may have an absolute path a client cannot name.
 *   big-event    XSA-324: a watch whose path and token fill a whole message;
 *                a change below the watched node would make an event longer
 *                than a message may be: it must be dropped, and the change
 *                of the node itself (an event of exactly 4096 bytes) told.
 *
 * Checked: what each attack says above; the store's own invariants are the
 * engine's (xs_store_check every 16 slices). Counters: phase (0 set up, 1
 * attacked, 2 checked), refused (requests the store refused as it should),
 * events (watch events the attacker or the victim received).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "sim/scenario/wl_xsa.h"
#include "sim/xenstore/xs_store.h"

#define XSA_ROUNDS_MAX 1000u
#define XSA_QUOTA_PROBE_MAX 64u   /* tries past a quota before calling it unbounded */

enum xsa_param { XSA_P_ATTACKER, XSA_P_VICTIM, XSA_P_ATTACK, XSA_P_ROUNDS, XSA_P_COUNT };

static const struct scn_param xsa_params[XSA_P_COUNT + 1] = {
	[XSA_P_ATTACKER] = {"attacker", SCN_P_DOMAIN, NULL, 0, 0, "the hostile guest"},
	[XSA_P_VICTIM] = {"victim", SCN_P_DOMAIN, NULL, 0, 0, "the other guest (dead-perms, event-flood)"},
	[XSA_P_ATTACK] = {"attack", SCN_P_STRING, NULL, 0, 0,
			  "watch-perms|rm-watch|dead-perms|tx-nodes|tx-orphan|quotas|event-flood|deep|dead-owner|"
			  "long-path|big-event"},
	[XSA_P_ROUNDS] = {"rounds", SCN_P_UINT, "20", 1, XSA_ROUNDS_MAX, "repetitions of the attack's loop"},
};

static const char *const xsa_counters[XSA_C_COUNT + 1] = {"phase", "refused", "events", NULL};



static void xsa_set(struct xsa *x, enum xsa_counter k, uint64_t v)
{
	atomic_store(&x->cnt[k], v);
}

void xsa_add(struct xsa *x, enum xsa_counter k)
{
	atomic_fetch_add(&x->cnt[k], 1);
}

struct xs_handle *xsa_open(struct xsa *x, domid_t d)
{
	struct xs_handle *h = xs_open(0);

	if (!h)
		scn_wl_error(x->wl, "dom %u: xs_open failed: %s", d, strerror(errno));
	return h;
}

/* Drain the handle's queued events; how many, and whether one named `bad`
 * (a prefix) or `want` (exact) came. */
static unsigned xsa_drain(struct xs_handle *h, const char *bad, const char *want, bool *saw_bad,
			  bool *saw_want, char *bad_path, size_t len)
{
	unsigned n = 0;
	char **v;

	while ((v = xs_check_watch(h)) != NULL) {
		n++;
		if (bad && strncmp(v[XS_WATCH_PATH], bad, strlen(bad)) == 0 && !*saw_bad) {
			*saw_bad = true;
			snprintf(bad_path, len, "%s", v[XS_WATCH_PATH]);
		}
		if (want && strcmp(v[XS_WATCH_PATH], want) == 0)
			*saw_want = true;
		free(v);
	}
	return n;
}

/* ---- watch-perms (XSA-115) ---- */

/* /tool/ID and its secret are dom0's alone; open is readable by the attacker.
 * (The parent counts too: a watcher that may read a node's parent is told of
 * its children, which it could list anyway.) */
static int xsa_watch_setup(struct xsa *x)
{
	char p[XSA_PATH_MAX], perms[32];
	int rc = scn_wl_xs_write(x->wl, x->dir, "");

	if (rc == 0)
		rc = scn_wl_xs_set_perms(x->wl, x->dir, "n0");
	snprintf(p, sizeof(p), "%.100s/secret", x->dir);
	if (rc == 0)
		rc = scn_wl_xs_write(x->wl, p, "s0");
	snprintf(p, sizeof(p), "%.100s/open", x->dir);
	if (rc == 0)
		rc = scn_wl_xs_write(x->wl, p, "o0");
	snprintf(perms, sizeof(perms), "n0 r%u", x->att);
	if (rc == 0)
		rc = scn_wl_xs_set_perms(x->wl, p, perms);
	return rc;
}

static int xsa_watch_arm(void *arg)
{
	struct xsa *x = arg;
	struct xs_handle *h = xsa_open(x, x->att);
	bool b = false, w = false;
	char bad[XSA_PATH_MAX];

	if (!h)
		return -EIO;
	if (!xs_watch(h, x->dir, "xsa115")) {
		scn_wl_error(x->wl, "dom %u: xs_watch %s failed: %s", x->att, x->dir, strerror(errno));
		xs_close(h);
		return -EIO;
	}
	xsa_drain(h, NULL, NULL, &b, &w, bad, sizeof(bad));   /* the watch's first event */
	x->vh = h;
	return 0;
}

static int xsa_watch_collect(void *arg)
{
	struct xsa *x = arg;
	char secret[XSA_PATH_MAX], open[XSA_PATH_MAX], bad[XSA_PATH_MAX] = "";
	bool saw_bad = false, saw_open = false;

	snprintf(secret, sizeof(secret), "%.100s/secret", x->dir);
	snprintf(open, sizeof(open), "%.100s/open", x->dir);
	unsigned n = xsa_drain(x->vh, secret, open, &saw_bad, &saw_open, bad, sizeof(bad));
	x->cnt[XSA_C_EVENTS] += n;
	xs_close(x->vh);
	x->vh = NULL;
	if (saw_bad)
		scn_wl_fail(x->wl, "XSA-115: dom %u got a watch event for %s, a node it may not read (perms n0)",
			    x->att, bad);
	else if (!saw_open)
		scn_wl_fail(x->wl, "dom %u got no watch event for %s, which it may read (%u events): a "
			    "watcher allowed to see the change was not told", x->att, open, n);
	return 0;
}

/* The toolstack changes the secret node (write, perms, remove) and the open one. */
static int xsa_watch_changes(struct xsa *x)
{
	char p[XSA_PATH_MAX], v[16];
	int rc = 0;

	snprintf(p, sizeof(p), "%.100s/secret", x->dir);
	for (unsigned i = 0; i < x->rounds && rc == 0; i++) {
		snprintf(v, sizeof(v), "s%u", i + 1);
		rc = scn_wl_xs_write(x->wl, p, v);
	}
	if (rc == 0)
		rc = scn_wl_xs_set_perms(x->wl, p, "n0");
	if (rc == 0)
		rc = scn_wl_xs_rm(x->wl, p);
	snprintf(p, sizeof(p), "%.100s/open", x->dir);
	if (rc == 0)
		rc = scn_wl_xs_write(x->wl, p, "o1");
	return rc;
}

static int xsa_watch_run(struct xsa *x)
{
	int rc = xsa_watch_setup(x);

	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_watch_arm, x);

	if (rc == 0)
		rc = xsa_watch_changes(x);
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_watch_collect, x);
	return rc;
}

/* rm-watch (XSA-414): nodes the attacker may read are removed, with the
 * secret one: each removal is told with the node's permissions from before
 * it went (the removed node `open` itself, whose parent the attacker may not
 * read, included), the secret one's not at all. */
static int xsa_rm_watch_run(struct xsa *x)
{
	char p[XSA_PATH_MAX];
	int rc = xsa_watch_setup(x);

	for (unsigned i = 0; rc == 0 && i < x->rounds; i++) {
		snprintf(p, sizeof(p), "%s/open/k%u", x->dir, i);
		rc = scn_wl_xs_write(x->wl, p, "k");
	}
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_watch_arm, x);
	snprintf(p, sizeof(p), "%s/open", x->dir);
	if (rc == 0)
		rc = scn_wl_xs_rm(x->wl, p);
	snprintf(p, sizeof(p), "%s/secret", x->dir);
	if (rc == 0)
		rc = scn_wl_xs_rm(x->wl, p);
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_watch_collect, x);
	return rc;
}

/* ---- dead-perms (XSA-322, 417) ---- */

static int xsa_acl_use(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	struct xs_handle *h = xsa_open(x, x->vic);

	if (!h)
		return -EIO;
	snprintf(p, sizeof(p), "%.100s/acl", x->dir);
	if (!xs_write(h, XBT_NULL, p, "a1", 2))
		scn_wl_fail(x->wl, "dom %u may not write %s, granted to it (perms n0 b%u): %s", x->vic, p,
			    x->vic, strerror(errno));
	xs_close(h);
	return 0;
}

static int xsa_dead_run(struct xsa *x)
{
	char p[XSA_PATH_MAX], perms[32];

	snprintf(p, sizeof(p), "%.100s/acl", x->dir);
	snprintf(perms, sizeof(perms), "n0 b%u", x->vic);
	int rc = scn_wl_xs_write(x->wl, p, "a0");
	if (rc == 0)
		rc = scn_wl_xs_set_perms(x->wl, p, perms);
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->vic, xsa_acl_use, x);
	return rc;
}

/* The new domain with the old domid: no access through the dead one's entry. */
static int xsa_acl_probe(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	unsigned len;
	struct xs_handle *h = xsa_open(x, x->vic);

	if (!h)
		return -EIO;
	snprintf(p, sizeof(p), "%.100s/acl", x->dir);
	char *v = xs_read(h, XBT_NULL, p, &len);
	bool wrote = xs_write(h, XBT_NULL, p, "a2", 2);
	if (v || wrote)
		scn_wl_fail(x->wl, "XSA-322: dom %u, a new domain with a dead one's domid, could %s %s "
			    "(the dead domain's permission entry was kept)", x->vic, wrote ? "write" : "read", p);
	else
		x->cnt[XSA_C_REFUSED] += 2;
	free(v);
	xs_close(h);
	return 0;
}

/* ---- tx-nodes (XSA-421, 326) ---- */

static bool xsa_commit(struct xs_handle *h, xs_transaction_t t)
{
	return xs_transaction_end(h, t, false);
}

/* A node made and removed in one transaction, rounds of it: no count drifts. */
static int xsa_tx_churn(struct xsa *x, struct xs_handle *h, const char *base)
{
	char p[XSA_PATH_MAX], k[XSA_PATH_MAX];

	if (!xs_write(h, XBT_NULL, base, "", 0))
		return scn_wl_error(x->wl, "dom %u: writing %s: %s", x->att, base, strerror(errno)), -EIO;
	unsigned before = xs_store_nodes_owned(x->att);

	snprintf(p, sizeof(p), "%.100s/gone", base);
	snprintf(k, sizeof(k), "%.100s/kept", base);
	for (unsigned i = 0; i < x->rounds; i++) {
		xs_transaction_t t = xs_transaction_start(h);
		if (t == XBT_NULL || !xs_write(h, t, p, "x", 1) || !xs_rm(h, t, p) || !xs_write(h, t, k, "k", 1) ||
		    !xsa_commit(h, t)) {
			scn_wl_fail(x->wl, "dom %u: create, remove, write in one transaction failed (round %u): %s",
				    x->att, i, strerror(errno));
			return -EIO;
		}
	}
	unsigned after = xs_store_nodes_owned(x->att);
	if (after != before + 1)
		scn_wl_fail(x->wl, "XSA-421: dom %u owned %u nodes, %u after %u transactions that each left "
			    "one node (%s) behind", x->att, before, after, x->rounds, k);
	return 0;
}

/* Fill the quota in transaction t under dir; how many writes went in. */
static unsigned xsa_tx_fill(struct xs_handle *h, xs_transaction_t t, const char *dir)
{
	char p[XSA_PATH_MAX];
	unsigned n = 0;

	for (; n < XSA_QUOTA_PROBE_MAX; n++) {
		snprintf(p, sizeof(p), "%.100s/k%u", dir, n);
		if (!xs_write(h, t, p, "v", 1))
			break;
	}
	return n;
}

/* Two transactions, each filling the quota on its own: both cannot commit. */
static int xsa_tx_double(struct xsa *x, struct xs_handle *h, const char *base)
{
	char d1[XSA_PATH_MAX], d2[XSA_PATH_MAX];
	unsigned quota = xs_quota_table()[XS_QUOTA_NODES].value;

	snprintf(d1, sizeof(d1), "%.100s/t1", base);
	snprintf(d2, sizeof(d2), "%.100s/t2", base);
	if (!xs_write(h, XBT_NULL, d1, "", 0) || !xs_write(h, XBT_NULL, d2, "", 0))
		return scn_wl_error(x->wl, "dom %u: writing %s: %s", x->att, d1, strerror(errno)), -EIO;
	xs_transaction_t t1 = xs_transaction_start(h), t2 = xs_transaction_start(h);
	if (t1 == XBT_NULL || t2 == XBT_NULL)
		return scn_wl_error(x->wl, "dom %u: transaction start: %s", x->att, strerror(errno)), -EIO;
	unsigned n1 = xsa_tx_fill(h, t1, d1), n2 = xsa_tx_fill(h, t2, d2);
	bool c1 = xsa_commit(h, t1), c2 = xsa_commit(h, t2);
	unsigned owned = xs_store_nodes_owned(x->att);
	if (owned > quota)
		scn_wl_fail(x->wl, "XSA-421: dom %u owns %u nodes, its quota is %u: two transactions of %u and "
			    "%u new nodes both committed (%d, %d)", x->att, owned, quota, n1, n2, c1, c2);
	else if (!c1 || !c2)
		xsa_add(x, XSA_C_REFUSED);
	return 0;
}

static int xsa_tx_nodes(void *arg)
{
	struct xsa *x = arg;
	char base[XSA_PATH_MAX];
	struct xs_handle *h = xsa_open(x, x->att);

	if (!h)
		return -EIO;
	snprintf(base, sizeof(base), "data/%s", x->wl->id);
	int rc = xsa_tx_churn(x, h, base);
	if (rc == 0 && !scn_wl_finished(x->wl))
		rc = xsa_tx_double(x, h, base);
	xs_close(h);
	return rc;
}

/* ---- tx-orphan (XSA-415) ---- */

/* Every child a directory lists must be there. */
static void xsa_no_ghosts(struct xsa *x, struct xs_handle *h, const char *dir)
{
	char p[XSA_PATH_MAX];
	unsigned num = 0, len;
	char **kids = xs_directory(h, XBT_NULL, dir, &num);

	for (unsigned i = 0; kids && i < num; i++) {
		snprintf(p, sizeof(p), "%.64s/%.60s", dir, kids[i]);
		char *v = xs_read(h, XBT_NULL, p, &len);
		if (!v && errno == ENOENT)
			scn_wl_fail(x->wl, "XSA-415: %s lists %s, which is not there (a node resurrected by a "
				    "transaction whose parent was removed)", dir, kids[i]);
		free(v);
	}
	free(kids);
}

static int xsa_orphan_round(struct xsa *x, struct xs_handle *h, const char *dir)
{
	char other[XSA_PATH_MAX], child[XSA_PATH_MAX];

	snprintf(other, sizeof(other), "%.100s/other", dir);
	snprintf(child, sizeof(child), "%.100s/child", dir);
	if (!xs_write(h, XBT_NULL, other, "o", 1))
		return scn_wl_error(x->wl, "dom %u: writing %s: %s", x->att, other, strerror(errno)), -EIO;
	xs_transaction_t t = xs_transaction_start(h);
	if (t == XBT_NULL || !xs_write(h, t, child, "c", 1))
		return scn_wl_error(x->wl, "dom %u: transaction write %s: %s", x->att, child, strerror(errno)), -EIO;
	if (!xs_rm(h, XBT_NULL, dir))
		return scn_wl_error(x->wl, "dom %u: removing %s: %s", x->att, dir, strerror(errno)), -EIO;
	if (!xsa_commit(h, t) && errno == EAGAIN) {
		xsa_add(x, XSA_C_REFUSED);
		return 0;
	}
	xsa_no_ghosts(x, h, dir);
	xs_rm(h, XBT_NULL, dir);
	return 0;
}

static int xsa_orphan(void *arg)
{
	struct xsa *x = arg;
	char dir[XSA_PATH_MAX];
	struct xs_handle *h = xsa_open(x, x->att);
	int rc = 0;

	if (!h)
		return -EIO;
	snprintf(dir, sizeof(dir), "data/%s/o", x->wl->id);
	for (unsigned i = 0; i < x->rounds && rc == 0 && !scn_wl_finished(x->wl); i++)
		rc = xsa_orphan_round(x, h, dir);
	xs_close(h);
	return rc;
}

/* ---- quotas (XSA-326) ---- */

static void xsa_quota_verdict(struct xsa *x, const char *what, unsigned got, unsigned quota)
{
	if (got > quota)
		scn_wl_fail(x->wl, "XSA-326: dom %u got %u %s, the quota is %u", x->att, got, what, quota);
	else if (got < quota)
		scn_wl_fail(x->wl, "dom %u got only %u %s, the quota is %u (refused too early)", x->att, got,
			    what, quota);
	else
		xsa_add(x, XSA_C_REFUSED);
}

static unsigned xsa_q(enum xs_quota_id id)
{
	return xs_quota_table()[id].value;
}

static void xsa_quota_watches(struct xsa *x, struct xs_handle *h, const char *base)
{
	char tok[16];
	unsigned n = 0;

	for (; n <= xsa_q(XS_QUOTA_WATCHES) && n < XSA_QUOTA_PROBE_MAX; n++) {
		snprintf(tok, sizeof(tok), "w%u", n);
		if (!xs_watch(h, base, tok))
			break;
	}
	xsa_quota_verdict(x, "watches", n, xsa_q(XS_QUOTA_WATCHES));
	for (unsigned i = 0; i < n; i++) {
		snprintf(tok, sizeof(tok), "w%u", i);
		xs_unwatch(h, base, tok);
	}
}

static void xsa_quota_txs(struct xsa *x, struct xs_handle *h)
{
	xs_transaction_t t[XSA_QUOTA_PROBE_MAX];
	unsigned n = 0;

	for (; n <= xsa_q(XS_QUOTA_TRANSACTIONS) && n < XSA_QUOTA_PROBE_MAX; n++)
		if ((t[n] = xs_transaction_start(h)) == XBT_NULL)
			break;
	xsa_quota_verdict(x, "open transactions", n, xsa_q(XS_QUOTA_TRANSACTIONS));
	for (unsigned i = 0; i < n; i++)
		xs_transaction_end(h, t[i], true);
}

/* The largest value accepted, in whole bytes up to one past the quota. */
static void xsa_quota_value(struct xsa *x, struct xs_handle *h, const char *base)
{
	unsigned q = xsa_q(XS_QUOTA_VALUE_BYTES);
	char p[XSA_PATH_MAX], *v = calloc(1, q + 2u);

	if (!v)
		return;
	memset(v, 'v', q + 1u);
	snprintf(p, sizeof(p), "%.100s/value", base);
	unsigned got = xs_write(h, XBT_NULL, p, v, q + 1u) ? q + 1u : xs_write(h, XBT_NULL, p, v, q) ? q : 0;
	xsa_quota_verdict(x, "value bytes", got, q);
	free(v);
}

static void xsa_quota_perms(struct xsa *x, struct xs_handle *h, const char *base)
{
	struct xs_permissions p[XSA_QUOTA_PROBE_MAX];
	unsigned q = xsa_q(XS_QUOTA_PERMS), got = 0;
	char path[XSA_PATH_MAX];

	snprintf(path, sizeof(path), "%.100s/value", base);
	for (unsigned i = 0; i < XSA_QUOTA_PROBE_MAX; i++)
		p[i] = (struct xs_permissions){.id = i ? x->vic : x->att, .perms = XS_PERM_READ};
	if (q + 1u < XSA_QUOTA_PROBE_MAX)
		got = xs_set_permissions(h, XBT_NULL, path, p, q + 1u) ? q + 1u
		      : xs_set_permissions(h, XBT_NULL, path, p, q) ? q : 0;
	xsa_quota_verdict(x, "permission entries", got, q);
}

static void xsa_quota_nodes(struct xsa *x, struct xs_handle *h, const char *base)
{
	char p[XSA_PATH_MAX];
	unsigned q = xsa_q(XS_QUOTA_NODES);

	for (unsigned n = 0; n < XSA_QUOTA_PROBE_MAX && xs_store_nodes_owned(x->att) <= q; n++) {
		snprintf(p, sizeof(p), "%.100s/n%u", base, n);
		if (!xs_write(h, XBT_NULL, p, "n", 1))
			break;
	}
	xsa_quota_verdict(x, "nodes", xs_store_nodes_owned(x->att), q);
}

static int xsa_quotas(void *arg)
{
	struct xsa *x = arg;
	char base[XSA_PATH_MAX];
	struct xs_handle *h = xsa_open(x, x->att);

	if (!h)
		return -EIO;
	snprintf(base, sizeof(base), "data/%s", x->wl->id);
	xsa_quota_watches(x, h, base);
	xsa_quota_txs(x, h);
	xsa_quota_value(x, h, base);
	xsa_quota_perms(x, h, base);
	xsa_quota_nodes(x, h, base);
	xs_close(h);
	return 0;
}

/* ---- event-flood (XSA-349) ---- */

static int xsa_flood_arm(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	bool b = false, w = false;

	snprintf(p, sizeof(p), "%.100s/flood", x->dir);
	if (!(x->vh = xsa_open(x, x->vic)))
		return -EIO;
	if (!xs_watch(x->vh, p, "xsa349"))
		return scn_wl_error(x->wl, "dom %u: xs_watch %s: %s", x->vic, p, strerror(errno)), -EIO;
	xsa_drain(x->vh, NULL, NULL, &b, &w, p, sizeof(p));
	return 0;
}

static int xsa_flood_write(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX], v[16];
	struct xs_handle *h = xsa_open(x, x->att);

	if (!h)
		return -EIO;
	snprintf(p, sizeof(p), "%.100s/flood", x->dir);
	for (unsigned i = 1; i <= x->rounds; i++) {
		snprintf(v, sizeof(v), "%u", i);
		if (!xs_write(h, XBT_NULL, p, v, (unsigned)strlen(v)))
			break;
	}
	xs_close(h);
	return 0;
}

/* The victim reads at last: a bounded queue, and the value is the newest. */
static int xsa_flood_collect(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX], bad[8];
	bool b = false, w = false;
	unsigned len, q = xsa_q(XS_QUOTA_EVENTS);

	snprintf(p, sizeof(p), "%.100s/flood", x->dir);
	unsigned n = xsa_drain(x->vh, NULL, p, &b, &w, bad, sizeof(bad));
	x->cnt[XSA_C_EVENTS] += n;
	char *v = xs_read(x->vh, XBT_NULL, p, &len);
	if (n > q)
		scn_wl_fail(x->wl, "XSA-349: %u watch events were queued for dom %u, which read none, over the "
			    "events quota of %u: the queue is unbounded", n, x->vic, q);
	else if (!w)
		scn_wl_fail(x->wl, "dom %u got no event for %s after %u writes", x->vic, p, x->rounds);
	else if (!v || strtoul(v, NULL, 10) != x->rounds)
		scn_wl_fail(x->wl, "dom %u reads %s as %s after the flood, not the last value %u", x->vic, p,
			    v ? v : strerror(errno), x->rounds);
	free(v);
	xs_close(x->vh);
	x->vh = NULL;
	return 0;
}

static int xsa_flood_run(struct xsa *x)
{
	char p[XSA_PATH_MAX];

	snprintf(p, sizeof(p), "%.100s/flood", x->dir);
	int rc = scn_wl_xs_write(x->wl, p, "0");
	if (rc == 0)
		rc = scn_wl_xs_set_perms(x->wl, p, "b0");   /* both guests read and write it */
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->vic, xsa_flood_arm, x);
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_flood_write, x);
	if (rc == 0)
		rc = scn_wl_call(x->wl, x->vic, xsa_flood_collect, x);
	return rc;
}

/* ---- deep (XSA-418) ---- */

static const char *xsa_deep_top(const struct xsa *x, char *buf, size_t len)
{
	snprintf(buf, len, "data/%.64s/d", x->wl->id);
	return buf;
}

/* The deepest chain a relative path allows, written in one request (its
 * parents are made with it), then removed in one: nothing may be left. */
static int xsa_deep(void *arg)
{
	struct xsa *x = arg;
	char *p = malloc(XENSTORE_REL_PATH_MAX + 1u);
	struct xs_handle *h = xsa_open(x, x->att);
	char top[XSA_PATH_MAX];
	unsigned len, depth = 0;

	if (!p || !h) {
		free(p);
		if (h)
			xs_close(h);
		return -ENOMEM;
	}
	size_t n = (size_t)snprintf(p, XENSTORE_REL_PATH_MAX + 1u, "data/%s", x->wl->id);
	unsigned before = xs_store_nodes_owned(x->att);
	for (; n + 2 <= XENSTORE_REL_PATH_MAX; n += 2, depth++)
		memcpy(p + n, "/d", 3);
	if (!xs_write(h, XBT_NULL, p, "bottom", 6))
		scn_wl_error(x->wl, "dom %u: writing a path %u deep: %s", x->att, depth, strerror(errno));
	else if (!xs_rm(h, XBT_NULL, xsa_deep_top(x, top, sizeof(top))))
		scn_wl_fail(x->wl, "dom %u: removing a tree %u deep: %s", x->att, depth, strerror(errno));
	char *v = xs_read(h, XBT_NULL, p, &len);
	unsigned after = xs_store_nodes_owned(x->att);
	if (!scn_wl_finished(x->wl) && (v || after > before + 1))
		scn_wl_fail(x->wl, "XSA-418: after removing data/%s/d (%u levels) dom %u owns %u nodes (%u "
			    "before)%s", x->wl->id, depth, x->att, after, before, v ? ", the bottom still reads" : "");
	else
		xsa_add(x, XSA_C_REFUSED);
	free(v);
	free(p);
	xs_close(h);
	return 0;
}

/* ---- dead-owner (XSA-419) ---- */

/* The victim lets the attacker write below its own data/ (cooperating
 * guests), the attacker fills it; then the attacker goes. */
static int xsa_share_dir(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	struct xs_permissions perms[2] = {{.id = x->vic, .perms = XS_PERM_NONE},
					   {.id = x->att, .perms = XS_PERM_READ | XS_PERM_WRITE}};
	struct xs_handle *h = xsa_open(x, x->vic);

	if (!h)
		return -EIO;
	snprintf(p, sizeof(p), "data/%s", x->wl->id);
	bool ok = xs_write(h, XBT_NULL, p, "", 0) && xs_set_permissions(h, XBT_NULL, p, perms, 2);
	xs_close(h);
	return ok ? 0 : -EIO;
}

static int xsa_fill_shared(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	struct xs_handle *h = xsa_open(x, x->att);

	if (!h)
		return -EIO;
	for (unsigned i = 0; i < x->rounds; i++) {
		snprintf(p, sizeof(p), "/local/domain/%u/data/%s/n%u", x->vic, x->wl->id, i);
		if (!xs_write(h, XBT_NULL, p, "x", 1)) {
			scn_wl_error(x->wl, "dom %u: writing %s: %s", x->att, p, strerror(errno));
			break;
		}
	}
	xs_close(h);
	return 0;
}

static int xsa_left_behind(void *arg)
{
	struct xsa *x = arg;
	char p[XSA_PATH_MAX];
	unsigned num = 0;
	struct xs_handle *h = xsa_open(x, x->vic);

	if (!h)
		return -EIO;
	snprintf(p, sizeof(p), "data/%s", x->wl->id);
	char **kids = xs_directory(h, XBT_NULL, p, &num);
	if (kids && num)
		scn_wl_fail(x->wl, "XSA-419: %u nodes dom %u created under dom %u's %s are still there after "
			    "dom %u went (first: %s): a guest that reboots can create any number", num, x->att,
			    x->vic, p, x->att, kids[0]);
	free(kids);
	xs_close(h);
	return 0;
}

static int xsa_owner_run(struct xsa *x)
{
	int rc = scn_wl_call(x->wl, x->vic, xsa_share_dir, x);

	if (rc == 0)
		rc = scn_wl_call(x->wl, x->att, xsa_fill_shared, x);
	return rc;
}

/* ---- the workload ---- */

/* The attacks: run on the harness thread (run), or on the attacker's
 * thread (on_att); waits: the second half comes with a domain event. */
static const struct xsa_kind {
	const char *name;
	int (*run)(struct xsa *x);
	int (*on_att)(void *arg);
	bool waits;
} xsa_kinds[] = {
	{"watch-perms", xsa_watch_run, NULL, false}, {"rm-watch", xsa_rm_watch_run, NULL, false},
	{"dead-perms", xsa_dead_run, NULL, true},     {"tx-nodes", NULL, xsa_tx_nodes, false},
	{"tx-orphan", NULL, xsa_orphan, false},       {"quotas", NULL, xsa_quotas, false},
	{"event-flood", xsa_flood_run, NULL, false},  {"deep", NULL, xsa_deep, false},
	{"dead-owner", xsa_owner_run, NULL, true},    {"long-path", NULL, xsa_long_paths, false},
	{"big-event", NULL, xsa_big_event, false},
};

static const struct xsa_kind *xsa_kind(const char *name)
{
	for (size_t i = 0; i < sizeof(xsa_kinds) / sizeof(xsa_kinds[0]); i++)
		if (strcmp(name, xsa_kinds[i].name) == 0)
			return &xsa_kinds[i];
	return NULL;
}

/* Parse time: an attack name that does not exist is a file:line error. */
static int xsa_validate(const struct scn_wl_args *a, char *err, size_t len)
{
	if (xsa_kind(a->s[XSA_P_ATTACK]))
		return 0;
	snprintf(err, len, "attack: '%s' is none of %s", a->s[XSA_P_ATTACK], xsa_params[XSA_P_ATTACK].what);
	return -EINVAL;
}

static int xsa_attack(struct xsa *x, const struct xsa_kind *k)
{
	return k->run ? k->run(x) : scn_wl_call(x->wl, x->att, k->on_att, x);
}

static int xsa_start(struct scn_wl *wl)
{
	struct xsa *x = calloc(1, sizeof(*x));

	if (!x)
		return -ENOMEM;
	wl->priv = x;
	x->wl = wl;
	x->att = scn_wl_domid(wl, XSA_P_ATTACKER);
	x->vic = scn_wl_domid(wl, XSA_P_VICTIM);
	scn_wl_hostile(wl, x->att);
	x->rounds = (unsigned)scn_wl_u(wl, XSA_P_ROUNDS);
	snprintf(x->dir, sizeof(x->dir), "/tool/%s", wl->id);
	const char *name = scn_wl_s(wl, XSA_P_ATTACK);
	const struct xsa_kind *k = xsa_kind(name);   /* xsa_validate: never NULL */
	int rc = xsa_attack(x, k);
	if (rc < 0 && !scn_wl_finished(wl))
		scn_wl_error(wl, "attack %s: set-up failed: %s", name, strerror(-rc));
	xsa_set(x, XSA_C_PHASE, 1);
	if (!k->waits && !scn_wl_finished(wl)) {
		xsa_set(x, XSA_C_PHASE, 2);
		scn_wl_done(wl);
	}
	return 0;
}

/* dead-perms: the victim's domid comes back as a new domain; dead-owner: the
 * attacker is gone. */
static void xsa_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct xsa *x = wl->priv;
	const char *name = scn_wl_s(wl, XSA_P_ATTACK);
	int rc;

	if (scn_wl_finished(wl))
		return;
	if (strcmp(name, "dead-perms") == 0 && domid == x->vic && ev == SCN_DOM_RESTARTED)
		rc = scn_wl_call(wl, domid, xsa_acl_probe, x);
	else if (strcmp(name, "dead-owner") == 0 && domid == x->att && ev == SCN_DOM_CRASHED)
		rc = scn_wl_call(wl, x->vic, xsa_left_behind, x);
	else
		return;
	if (rc < 0 && !scn_wl_finished(wl))
		scn_wl_error(wl, "attack %s: the check after dom %u %s failed: %s", name, domid,
			     ev == SCN_DOM_CRASHED ? scn_wl_gone(wl, domid) : "restarted", strerror(-rc));
	xsa_set(x, XSA_C_PHASE, 2);
	if (!scn_wl_finished(wl))
		scn_wl_done(wl);
}

static void xsa_stop(struct scn_wl *wl)
{
	struct xsa *x = wl->priv;
	char p[XSA_PATH_MAX];

	if (x->vh)
		xs_close(x->vh);   /* an attack cut short: the handle's domain thread is gone or idle */
	scn_wl_xs_rm(wl, x->dir);
	snprintf(p, sizeof(p), "/local/domain/%u/data/%s", x->att, wl->id);
	scn_wl_xs_rm(wl, p);
	snprintf(p, sizeof(p), "/local/domain/%u/data/%s", x->vic, wl->id);
	scn_wl_xs_rm(wl, p);
	free(x);
}

static uint64_t xsa_counter(struct scn_wl *wl, unsigned index)
{
	struct xsa *x = wl->priv;

	return index < XSA_C_COUNT ? atomic_load(&x->cnt[index]) : 0;
}

const struct scn_wl_type scn_wl_xs_attack = {
	.name = "xs-attack",
	.what = "a hostile guest attacks the store as the xenstored advisories do (scenarios/xsa/)",
	.params = xsa_params,
	.counters = xsa_counters,
	.validate = xsa_validate,
	.start = xsa_start,
	.domain_event = xsa_domain_event,
	.stop = xsa_stop,
	.counter = xsa_counter,
};
