/*
 * sim/xenstore: the toolstack's part of a domain's birth and death, in one
 * place for every domain however it is created (the scenario engine, the
 * embedding API of include/xensim.h, a test calling sim_domain_create).
 *
 * As libxl does, a new domain N gets /local/domain/N with `name` and `domid`
 * (owner dom0, read for N: the guest reads them, cannot change them; code
 * such as libxenvchan reads its own domid from there) and `data` (owned by N,
 * for the guest's own keys, e.g. a vchan server's). By default, unlike libxl,
 * the home itself stays owned by N, so that a guest may create its own nodes
 * anywhere in it (libxl gives it only data/, device/... subdirectories);
 * xs_home_set_libxl(true) (the standalone start) keeps it dom0's with read
 * for N, as libxl does. When the domain dies, its home goes, as libxl's
 * domain destroy removes it.
 *
 * The requests go through the store's dispatcher on a dom0 connection of
 * their own, like any toolstack's: watches fire, the timeline sees them.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "sim/xenstore/xs_internal.h"

#define XS_HOME_ORDER 35          /* after the store knows the domain (30) */
#define XS_HOME_PATH_MAX 64u

static atomic_bool xs_home_enabled = true;
static atomic_bool xs_home_libxl;   /* the home dom0's, read for N */

void xs_home_set_enabled(bool on)
{
	atomic_store(&xs_home_enabled, on);
}

void xs_home_set_libxl(bool on)
{
	atomic_store(&xs_home_libxl, on);
}

struct xs_home_reply {
	uint32_t type;
	char err[16];
};

static void xs_home_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct xs_home_reply *r = ctx;

	if (hdr->type == XS_WATCH_EVENT)
		return;
	r->type = hdr->type;
	if (hdr->type == XS_ERROR)
		snprintf(r->err, sizeof(r->err), "%.*s", (int)hdr->len, (const char *)payload);
}

/* One request of strings a\0b\0... (the last one without its NUL for WRITE). */
static int xs_home_req(struct xs_conn *c, struct xs_home_reply *r, uint32_t type,
		       const char *const *v, unsigned n, bool last_nul)
{
	char buf[XS_HOME_PATH_MAX * 8];
	unsigned len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(v[i]) + (i + 1 < n || last_nul);
		XS_ASSERT(len + l <= sizeof(buf), "home request too long (%s)", v[0]);
		memcpy(buf + len, v[i], l);
		len += (unsigned)l;
	}
	struct xsd_sockmsg hdr = {.type = type, .len = len};
	r->type = XS_ERROR;
	snprintf(r->err, sizeof(r->err), "EIO");
	int rc = xs_conn_request(c, &hdr, buf);
	if (rc == 0 && r->type == XS_ERROR)
		rc = -EIO;
	if (rc < 0)
		sim_log("xenstore: toolstack %s of %s failed: %s", type == XS_WRITE ? "write"
			: type == XS_RM ? "rm" : "set-perms", v[0], r->err);
	return rc;
}

static void xs_home_create(domid_t domid)
{
	struct xs_home_reply r;
	struct xs_conn *c = xs_conn_new(0, xs_home_deliver, &r);
	char home[XS_HOME_PATH_MAX], name[XS_HOME_PATH_MAX + 8], id[XS_HOME_PATH_MAX + 8];
	char data[XS_HOME_PATH_MAX + 8];
	char num[16], owner[16], reader[16];

	if (!atomic_load(&xs_home_enabled)) {
		xs_conn_free(c);
		return;
	}
	if (!c) {
		sim_log("xenstore: no memory for the home of domain %u", domid);
		return;
	}
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	snprintf(name, sizeof(name), "%s/name", home);
	snprintf(id, sizeof(id), "%s/domid", home);
	snprintf(data, sizeof(data), "%s/data", home);
	snprintf(num, sizeof(num), "%u", domid);
	snprintf(owner, sizeof(owner), "n%u", domid);
	snprintf(reader, sizeof(reader), "r%u", domid);
	int rc = xs_home_req(c, &r, XS_WRITE, (const char *[]){home, ""}, 2, false);
	if (rc == 0)
		rc = xs_home_req(c, &r, XS_WRITE, (const char *[]){name, sim_domain_name(domid)}, 2, false);
	if (rc == 0)
		rc = xs_home_req(c, &r, XS_WRITE, (const char *[]){id, num}, 2, false);
	if (rc == 0 && domid != 0)
		rc = xs_home_req(c, &r, XS_SET_PERMS, (const char *[]){name, "n0", reader}, 3, true);
	if (rc == 0 && domid != 0)
		rc = xs_home_req(c, &r, XS_SET_PERMS, (const char *[]){id, "n0", reader}, 3, true);
	if (rc == 0)
		rc = xs_home_req(c, &r, XS_WRITE, (const char *[]){data, ""}, 2, false);
	if (rc == 0)
		rc = xs_home_req(c, &r, XS_SET_PERMS, (const char *[]){data, owner}, 2, true);
	if (rc == 0 && atomic_load(&xs_home_libxl) && domid != 0)
		xs_home_req(c, &r, XS_SET_PERMS, (const char *[]){home, "n0", reader}, 3, true);
	else if (rc == 0)
		xs_home_req(c, &r, XS_SET_PERMS, (const char *[]){home, owner}, 2, true);
	xs_conn_free(c);
}

static void xs_home_destroy(domid_t domid, bool crashed)
{
	struct xs_home_reply r;
	struct xs_conn *c = xs_conn_new(0, xs_home_deliver, &r);
	char home[XS_HOME_PATH_MAX];
	struct xsd_sockmsg hdr = {.type = XS_RM};

	(void)crashed;
	if (!c || !atomic_load(&xs_home_enabled)) {
		xs_conn_free(c);
		return;
	}
	snprintf(home, sizeof(home), "/local/domain/%u", domid);
	hdr.len = (uint32_t)strlen(home) + 1;
	xs_conn_request(c, &hdr, home);   /* already gone (the engine's rm): fine */
	xs_conn_free(c);
}

static const struct sim_domain_hooks xs_home_hooks = {
	.name = "xenstore-home",
	.order = XS_HOME_ORDER,
	.on_create = xs_home_create,
	.on_destroy = xs_home_destroy,
};

__attribute__((constructor)) static void xs_home_register(void)
{
	sim_domain_hooks_register(&xs_home_hooks);
}
