/*
 * libxengnttab.so.1 (xengnttab and xengntshr) for exec'd domains. The sim
 * makes each map or share as this domain (its checks, quotas and messages);
 * the client then maps the same frames from the grantor's memfd (maps.c).
 * Unmap: the range goes PROT_NONE here first, then the sim unmaps, which
 * does the unmap-notify (byte cleared, port notified) as in process. Grant
 * copy sends and receives the bytes of its local sides.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>
#include <xen/grant_table.h>

#include "sim/remote/client/rc.h"
#include "sim/remote/client/rc_maps.h"

struct gt_handle {
	struct rc_conn *c;
	struct rm_memfds mf;
};

struct xengntdev_handle {
	struct gt_handle h;
};

static xengnttab_handle *gt_open(enum rmt_op op)
{
	xengnttab_handle *g = calloc(1, sizeof(*g));
	int efd;

	if (!g)
		return NULL;
	g->h.c = rc_open(op, 0, true, &efd);
	if (!g->h.c) {
		int e = errno;
		free(g);
		errno = e;
		return NULL;
	}
	return g;
}

/* Every mapping of the handle goes (the sim releases them when the
 * connection closes, as xengnttab_close does in process). */
static int gt_close(xengnttab_handle *g)
{
	uint64_t sim_addr;

	if (!g)
		return 0;
	while (rm_unmap(g, NULL, 0, &sim_addr))
		;
	rc_close(g->h.c);
	rm_memfds_close(&g->h.mf);
	free(g);
	return 0;
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger, (void)open_flags;
	return gt_open(RMT_OPEN_GNTTAB);
}

int xengnttab_close(xengnttab_handle *xgt)
{
	return gt_close(xgt);
}

xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger, (void)open_flags;
	return gt_open(RMT_OPEN_GNTSHR);
}

int xengntshr_close(xengntshr_handle *xgs)
{
	return gt_close(xgs);
}

int xengnttab_fd(xengnttab_handle *xgt)
{
	return xgt->h.c->fd;
}

int xengntshr_fd(xengntshr_handle *xgs)
{
	return xgs->h.c->fd;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	uint64_t a[6] = {nr_grants};

	return (int)rc_call(xgt->h.c, RMT_GNT_SET_MAX, a, NULL, 0, NULL, 0, NULL);
}

/* ---- map and share ---- */

static void gt_close_unused(const struct rm_memfds *mf, const int *fds, unsigned nfds)
{
	for (unsigned i = 0; i < nfds; i++) {
		bool kept = false;
		for (unsigned k = 0; k < mf->n && !kept; k++)
			kept = mf->fd[k] == fds[i];
		if (!kept)
			close(fds[i]);
	}
}

/* The sim made the map (r); now this process's view of it. */
static void *gt_map_reply(xengnttab_handle *g, struct rc_reply *r, uint32_t count, int prot,
			  bool shared, enum rmt_op undo)
{
	struct rm_map *m = calloc(1, sizeof(*m));
	void *addr = NULL;
	int e = ENOMEM;

	if (m && r->rep.len == sizeof(struct rmt_page) * count) {
		m->owner = g;
		m->count = count;
		m->prot = prot;
		m->shared = shared;
		m->sim_addr = r->rep.v0;
		m->domid = g->h.c->domid;
		memcpy(m->name, g->h.c->name, sizeof(m->name));
		m->pages = (struct rmt_page *)r->data;
		addr = rm_map(m, &g->h.mf, r->fds, r->rep.nfds);
		e = addr ? 0 : errno;
	}
	gt_close_unused(&g->h.mf, r->fds, r->rep.nfds);
	if (!addr) {
		uint64_t a[6] = {r->rep.v0, count};
		rc_call(g->h.c, undo, a, NULL, 0, NULL, 0, NULL);
		free(r->data);
		free(m);
		errno = e;
	}
	return addr;
}

static void *gt_map(xengnttab_handle *g, uint32_t count, const uint32_t *domids, uint32_t domid,
		    const uint32_t *refs, int prot, const uint32_t *notify)
{
	struct rc_reply r;
	uint64_t a[6] = {count, (uint64_t)prot, notify ? notify[0] : 0, notify ? notify[1] : 0,
			 notify != NULL};

	if (count == 0 || count > RMT_MAP_PAGES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	uint32_t *pairs = malloc(sizeof(uint32_t) * 2 * count);
	if (!pairs)
		return NULL;
	for (uint32_t i = 0; i < count; i++) {
		pairs[2 * i] = domids ? domids[i] : domid;
		pairs[2 * i + 1] = refs[i];
	}
	int64_t rc = rc_call(g->h.c, RMT_GNT_MAP, a, pairs, sizeof(uint32_t) * 2 * count, NULL, 0, &r);
	free(pairs);
	if (rc < 0)
		return NULL;
	/* PROT_WRITE without PROT_READ is no mapping Xen makes: read goes with it. */
	int mprot = (prot & PROT_WRITE) ? PROT_READ | PROT_WRITE : PROT_READ;
	return gt_map_reply(g, &r, count, mprot, false, RMT_GNT_UNMAP);
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
	return gt_map(xgt, 1, NULL, domid, &ref, prot, NULL);
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
			       uint32_t *refs, int prot)
{
	return gt_map(xgt, count, domids, 0, refs, prot, NULL);
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
				      uint32_t *refs, int prot)
{
	return gt_map(xgt, count, NULL, domid, refs, prot, NULL);
}

void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid, uint32_t ref,
				     int prot, uint32_t notify_offset, evtchn_port_t notify_port)
{
	uint32_t n[2] = {notify_offset, notify_port};

	return gt_map(xgt, 1, NULL, domid, &ref, prot, n);
}

static int gt_unmap(xengnttab_handle *g, void *addr, uint32_t count, enum rmt_op op)
{
	uint64_t sim_addr;

	if (!rm_unmap(g, addr, count, &sim_addr)) {
		fprintf(stderr, "xensim remote: dom%u: %s of %p (%u pages): not exactly one "
			"mapping of this handle\n", g->h.c->domid,
			op == RMT_GNT_UNMAP ? "xengnttab_unmap" : "xengntshr_unshare", addr, count);
		errno = EINVAL;
		return -1;
	}
	uint64_t a[6] = {sim_addr, count};
	return (int)rc_call(g->h.c, op, a, NULL, 0, NULL, 0, NULL);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	return gt_unmap(xgt, start_address, count, RMT_GNT_UNMAP);
}

static void *gt_share(xengntshr_handle *g, uint32_t domid, int count, uint32_t *refs,
		      int writable, const uint32_t *notify)
{
	struct rc_reply r;
	uint64_t a[6] = {domid, (uint64_t)count, (uint64_t)writable, notify ? notify[0] : 0,
			 notify ? notify[1] : 0, notify != NULL};

	if (count <= 0 || (uint32_t)count > RMT_MAP_PAGES_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (rc_call(g->h.c, RMT_SHR_SHARE, a, NULL, 0, NULL, 0, &r) < 0)
		return NULL;
	if (r.rep.len == sizeof(struct rmt_page) * (uint32_t)count)
		for (int i = 0; i < count; i++)
			refs[i] = ((struct rmt_page *)r.data)[i].ref;
	/* The sharer's own view is always writable (as the sim's gntshr map). */
	return gt_map_reply(g, &r, (uint32_t)count, PROT_READ | PROT_WRITE, true,
			    RMT_SHR_UNSHARE);
}

void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count, uint32_t *refs,
			    int writable)
{
	return gt_share(xgs, domid, count, refs, writable, NULL);
}

void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid, uint32_t *ref,
				  int writable, uint32_t notify_offset, evtchn_port_t notify_port)
{
	uint32_t n[2] = {notify_offset, notify_port};

	return gt_share(xgs, domid, 1, ref, writable, n);
}

int xengntshr_unshare(xengntshr_handle *xgs, void *start_address, uint32_t count)
{
	return gt_unmap(xgs, start_address, count, RMT_SHR_UNSHARE);
}

/* ---- grant copy ---- */

static int gt_copy_batch(xengnttab_handle *g, uint32_t count, xengnttab_grant_copy_segment_t *segs)
{
	struct rmt_copy_seg s[RMT_COPY_SEGS_MAX];
	size_t nin = 0, nout = 0;

	for (uint32_t i = 0; i < count; i++) {
		const xengnttab_grant_copy_segment_t *g0 = &segs[i];
		bool fs = g0->flags & GNTCOPY_source_gref, fd = g0->flags & GNTCOPY_dest_gref;
		s[i] = (struct rmt_copy_seg){.flags = g0->flags, .len = g0->len};
		if (fs) {
			s[i].src_ref = g0->source.foreign.ref;
			s[i].src_domid = g0->source.foreign.domid;
			s[i].src_offset = g0->source.foreign.offset;
		} else {
			nin += g0->len;
		}
		if (fd) {
			s[i].dst_ref = g0->dest.foreign.ref;
			s[i].dst_domid = g0->dest.foreign.domid;
			s[i].dst_offset = g0->dest.foreign.offset;
		} else {
			nout += g0->len;
		}
	}
	uint8_t *in = malloc(nin ? nin : 1), *p = in;
	if (!in)
		return -1;
	for (uint32_t i = 0; i < count; i++)
		if (!(segs[i].flags & GNTCOPY_source_gref)) {
			memcpy(p, segs[i].source.virt, segs[i].len);
			p += segs[i].len;
		}
	struct rc_reply r;
	uint64_t a[6] = {count};
	int64_t rc = rc_call(g->h.c, RMT_GNT_COPY, a, s, sizeof(s[0]) * count, in, nin, &r);
	free(in);
	if (rc < 0 && r.rep.len == 0)
		return -1;
	if (r.rep.len != sizeof(int16_t) * count + nout) {
		free(r.data);
		errno = EPROTO;
		return -1;
	}
	p = r.data + sizeof(int16_t) * count;
	for (uint32_t i = 0; i < count; i++) {
		memcpy(&segs[i].status, r.data + sizeof(int16_t) * i, sizeof(int16_t));
		if (!(segs[i].flags & GNTCOPY_dest_gref)) {
			if (segs[i].status == GNTST_okay)
				memcpy(segs[i].dest.virt, p, segs[i].len);
			p += segs[i].len;
		}
	}
	free(r.data);
	return (int)rc;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count, xengnttab_grant_copy_segment_t *segs)
{
	int rc = 0;

	for (uint32_t done = 0; done < count && rc == 0; done += RMT_COPY_SEGS_MAX) {
		uint32_t n = count - done < RMT_COPY_SEGS_MAX ? count - done : RMT_COPY_SEGS_MAX;
		rc = gt_copy_batch(xgt, n, segs + done);
	}
	return rc;
}

/* ---- dma-buf: no device here, as on a kernel without it ---- */

int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t flags,
				   uint32_t count, const uint32_t *refs, uint32_t *fd)
{
	(void)xgt, (void)domid, (void)flags, (void)count, (void)refs, (void)fd;
	errno = EOPNOTSUPP;
	return -1;
}

int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd, uint32_t wait_to_ms)
{
	(void)xgt, (void)fd, (void)wait_to_ms;
	errno = EOPNOTSUPP;
	return -1;
}

int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t fd,
				 uint32_t count, uint32_t *refs)
{
	(void)xgt, (void)domid, (void)fd, (void)count, (void)refs;
	errno = EOPNOTSUPP;
	return -1;
}

int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
	(void)xgt, (void)fd;
	errno = EOPNOTSUPP;
	return -1;
}
