/*
 * The consumer side of libxengnttab (xengnttab_*): mapping and copying grants
 * other domains gave the calling domain, with Xen's per-ref checks and
 * GNTST_* statuses. A multi-ref map is all or nothing, like the real library.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "sim/gnttab/gnttab_internal.h"

SIM_FAULT_SITE_TRACED(gnttab_fault_map, "gnttab.map",
	       "one grant ref of a map fails with GNTST_general_error (the whole map fails)");
SIM_FAULT_SITE_TRACED(gnttab_fault_copy, "gnttab.copy",
	       "one grant-copy segment fails with GNTST_general_error");

#define GNTTAB_WHY_MAX 128

struct gnttab_map_req {
	uint32_t count;
	bool writable;
	uint32_t notify_offset;
	evtchn_port_t notify_port;
	const char *api;
};

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger;
	(void)open_flags;
	sim_sched_point("gnttab.open");
	return gnttab_handle_open(GNTTAB_KIND_TAB, "xengnttab_open");
}

int xengnttab_close(xengnttab_handle *xgt)
{
	sim_sched_point("gnttab.close");
	return gnttab_handle_close(xgt, GNTTAB_KIND_TAB, false);
}

int gnttab_close_at_exit(xengnttab_handle *xgt)
{
	return gnttab_handle_close(xgt, GNTTAB_KIND_TAB, true);
}

int xengnttab_fd(xengnttab_handle *xgt)
{
	sim_sched_point("gnttab.fd");
	return gnttab_handle_fd(xgt, GNTTAB_KIND_TAB, "xengnttab_fd");
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	sim_sched_point("gnttab.set_max_grants");
	pthread_mutex_lock(&gnttab_lock);
	int rc = gnttab_handle_use_locked(xgt, GNTTAB_KIND_TAB, "xengnttab_set_max_grants");
	if (rc == 0 && xgt->used) {
		/* The header: call it after open and before anything else. */
		sim_log("gnttab: xengnttab_set_max_grants(%u) by dom%u: too late, the handle "
			"was asked to map already", nr_grants, xgt->domid);
		rc = -EINVAL;
	}
	if (rc == 0)
		xgt->max_grants = nr_grants;
	gnttab_unlock();
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* ---- map ---- */

static void gnttab_map_fail_log(const struct xengntdev_handle *h, const struct gnttab_map_req *rq,
				const struct gnttab_page *p, uint32_t i, int16_t st, const char *why)
{
	sim_log("gnttab: %s: map by dom%u of dom%u ref %u (ref %u of %u) failed: %s: %s",
		rq->api, h->domid, p->grantor_id, p->ref, i + 1, rq->count,
		gnttab_status_name(st), why);
}

/* Check one ref the way GNTTABOP_map_grant_ref does and pin it. */
static int16_t gnttab_map_one_locked(struct xengntdev_handle *h, const struct gnttab_map_req *rq,
				     struct gnttab_page *p, uint32_t i, char *why)
{
	uint32_t gid = p->grantor_id == DOMID_SELF ? h->domid : p->grantor_id;
	struct gnttab_domain *g = gnttab_domain_locked(gid);
	int16_t st;

	if (sim_fault_hit_ctx(&gnttab_fault_map,
			      &(struct sim_fault_ctx){.domid = h->domid, .peer = (domid_t)gid,
						      .port = SIM_FAULT_PORT_ANY})) {
		st = GNTST_general_error;
		snprintf(why, GNTTAB_WHY_MAX, "injected fault gnttab.map");
		sim_trace_event(SIM_TR_FAULT, h->domid, (domid_t)gid, p->ref, 0, "gnttab.map");
	} else {
		st = gnttab_access_check_locked(h->domid, g, p->ref, rq->writable, why,
						GNTTAB_WHY_MAX);
	}
	if (st == GNTST_okay && h->grants_mapped + i >= h->max_grants) {
		st = GNTST_no_device_space;
		snprintf(why, GNTTAB_WHY_MAX, "the handle's cap of %u grants is reached",
			 h->max_grants);
	} else if (st == GNTST_okay &&
		   h->dom->maptrack_used >= gnttab_maptrack_limit_locked(h->domid)) {
		st = GNTST_no_device_space;
		snprintf(why, GNTTAB_WHY_MAX, "dom%u's maptrack is full (%u grants mapped)",
			 h->domid, gnttab_maptrack_limit_locked(h->domid));
	}
	if (st == GNTST_okay) {
		gnttab_pin_locked(g, p->ref, rq->writable);
		h->dom->maptrack_used++;
		p->grantor = g;
		p->frame = g->entries[p->ref].frame;
	}
	return st;
}

static int gnttab_map_mmap_locked(struct xengntdev_handle *h, const struct gnttab_map_req *rq,
				  struct gnttab_mapping *m)
{
	struct sim_page_desc *desc = calloc(rq->count, sizeof(*desc));
	int rc = 0;

	if (!desc)
		return -ENOMEM;
	for (uint32_t i = 0; i < rq->count; i++)
		desc[i] = (struct sim_page_desc){.grantor = m->pages[i].grantor->domid,
						 .frame = m->pages[i].frame,
						 .ref = m->pages[i].ref};
	m->addr = sim_mem_map(h->domid, SIM_MAP_GRANT, rq->count, desc,
			      rq->writable ? PROT_READ | PROT_WRITE : PROT_READ);
	if (!m->addr) {
		rc = -errno;
		sim_log("gnttab: %s: map by dom%u of %u page(s) (first dom%u ref %u) failed: %s",
			rq->api, h->domid, rq->count, desc[0].grantor, desc[0].ref, strerror(errno));
	}
	free(desc);
	return rc;
}

static int gnttab_map_locked(struct xengntdev_handle *h, const struct gnttab_map_req *rq,
			     struct gnttab_mapping *m)
{
	char why[GNTTAB_WHY_MAX];
	int16_t st = GNTST_okay;
	uint32_t pinned = 0;
	int rc;

	h->used = true;
	m->domid = h->domid;
	m->owner = h->dom;
	while (pinned < rq->count && st == GNTST_okay) {
		st = gnttab_map_one_locked(h, rq, &m->pages[pinned], pinned, why);
		pinned += st == GNTST_okay;
	}
	if (st != GNTST_okay) {
		gnttab_map_fail_log(h, rq, &m->pages[pinned], pinned, st, why);
		rc = -gnttab_status_errno(st);
	} else {
		rc = gnttab_map_mmap_locked(h, rq, m);
	}
	if (rc < 0) {
		gnttab_mapping_unpin_locked(m, pinned);
	} else {
		for (uint32_t i = 0; i < rq->count; i++)
			sim_trace_event(SIM_TR_GRANT_MAP, h->domid, m->pages[i].grantor->domid,
					m->pages[i].ref, !rq->writable, NULL);
		h->grants_mapped += rq->count;
		gnttab_mapping_add_locked(h, m);
	}
	return rc;
}

static int gnttab_map_args_check(const struct gnttab_map_req *rq, const uint32_t *refs)
{
	if (rq->count == 0 || !refs) {
		sim_log("gnttab: %s: %u refs at %p: nothing to map", rq->api, rq->count,
			(const void *)refs);
		return -EINVAL;
	}
	if (rq->count > GNTTAB_MAPTRACK_MAX) {
		sim_log("gnttab: %s: %u refs is more than a domain may map (%u)", rq->api,
			rq->count, GNTTAB_MAPTRACK_MAX);
		return -ENOSPC;
	}
	if (rq->notify_offset != GNTTAB_NOTIFY_NONE &&
	    (rq->notify_offset >= GNTTAB_PAGE_SIZE || !rq->writable)) {
		sim_log("gnttab: %s: notify offset %u needs a writable map and < %u", rq->api,
			rq->notify_offset, GNTTAB_PAGE_SIZE);
		return -EINVAL;
	}
	return gnttab_notify_port_check(sim_current_domid(), rq->notify_port, rq->api);
}

/* domids == NULL: every ref is of `domid`. The caller's arrays are read
 * before taking the lock: they may be guest memory. */
static void *gnttab_map(xengnttab_handle *h, const struct gnttab_map_req *rq,
			const uint32_t *domids, uint32_t domid, const uint32_t *refs)
{
	struct gnttab_mapping *m = NULL;
	void *addr = NULL;
	int rc = gnttab_map_args_check(rq, refs);

	if (rc == 0) {
		m = gnttab_mapping_alloc(GNTTAB_KIND_TAB, rq->count);
		rc = m ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		m->writable = rq->writable;
		m->notify_offset = rq->notify_offset;
		m->notify_port = rq->notify_port;
		for (uint32_t i = 0; i < rq->count; i++) {
			m->pages[i].grantor_id = domids ? domids[i] : domid;
			m->pages[i].ref = refs[i];
		}
		pthread_mutex_lock(&gnttab_lock);
		rc = gnttab_handle_use_locked(h, GNTTAB_KIND_TAB, rq->api);
		if (rc == 0)
			rc = gnttab_mapping_reserve_locked(h, rq->api);
		if (rc == 0)
			rc = gnttab_map_locked(h, rq, m);
		addr = rc == 0 ? m->addr : NULL;
		gnttab_unlock();
	}
	if (rc < 0) {
		free(m);
		errno = -rc;
	}
	return addr;
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t *domids,
			       uint32_t *refs, int prot)
{
	struct gnttab_map_req rq = {.count = count, .writable = (prot & PROT_WRITE) != 0,
				    .notify_offset = GNTTAB_NOTIFY_NONE,
				    .notify_port = GNTTAB_NOTIFY_NONE,
				    .api = "xengnttab_map_grant_refs"};

	sim_sched_point("gnttab.map");
	if (!domids) {
		sim_log("gnttab: %s: no domids array", rq.api);
		errno = EINVAL;
		return NULL;
	}
	return gnttab_map(xgt, &rq, domids, 0, refs);
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
	struct gnttab_map_req rq = {.count = 1, .writable = (prot & PROT_WRITE) != 0,
				    .notify_offset = GNTTAB_NOTIFY_NONE,
				    .notify_port = GNTTAB_NOTIFY_NONE,
				    .api = "xengnttab_map_grant_ref"};

	sim_sched_point("gnttab.map");
	return gnttab_map(xgt, &rq, NULL, domid, &ref);
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count, uint32_t domid,
				      uint32_t *refs, int prot)
{
	struct gnttab_map_req rq = {.count = count, .writable = (prot & PROT_WRITE) != 0,
				    .notify_offset = GNTTAB_NOTIFY_NONE,
				    .notify_port = GNTTAB_NOTIFY_NONE,
				    .api = "xengnttab_map_domain_grant_refs"};

	sim_sched_point("gnttab.map");
	return gnttab_map(xgt, &rq, NULL, domid, refs);
}

void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid, uint32_t ref,
				     int prot, uint32_t notify_offset, evtchn_port_t notify_port)
{
	struct gnttab_map_req rq = {.count = 1, .writable = (prot & PROT_WRITE) != 0,
				    .notify_offset = notify_offset, .notify_port = notify_port,
				    .api = "xengnttab_map_grant_ref_notify"};

	sim_sched_point("gnttab.map");
	return gnttab_map(xgt, &rq, NULL, domid, &ref);
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	sim_sched_point("gnttab.unmap");
	return gnttab_handle_unmap(xgt, GNTTAB_KIND_TAB, start_address, count, "xengnttab_unmap");
}

/* ---- copy ---- */

/* One gref side of a copy: checked like a map, then the hypervisor's view. */
static int16_t gnttab_copy_side_locked(domid_t copier, const struct xengnttab_grant_copy_segment *s,
				       bool dest, uint8_t **p, char *why)
{
	uint32_t gid = dest ? s->dest.foreign.domid : s->source.foreign.domid;
	uint32_t ref = dest ? s->dest.foreign.ref : s->source.foreign.ref;
	uint16_t offset = dest ? s->dest.foreign.offset : s->source.foreign.offset;
	struct gnttab_domain *g = gnttab_domain_locked(gid == DOMID_SELF ? copier : gid);
	int16_t st = gnttab_access_check_locked(copier, g, ref, dest, why, GNTTAB_WHY_MAX);

	if (st == GNTST_okay) {
		uint8_t *hv = sim_frame_hv(g->domid, g->entries[ref].frame);
		if (!hv) {
			/* Dying, before our hook revoked its table. */
			st = GNTST_bad_domain;
			snprintf(why, GNTTAB_WHY_MAX, "grantor is dying");
		}
		*p = hv ? hv + offset : NULL;
	}
	if (st != GNTST_okay)
		sim_log("gnttab: xengnttab_grant_copy by dom%u: %s dom%u ref %u: %s: %s", copier,
			dest ? "to" : "from", gid, ref, gnttab_status_name(st), why);
	return st;
}

static bool gnttab_copy_crosses(const struct xengnttab_grant_copy_segment *s)
{
	return ((s->flags & GNTCOPY_source_gref) &&
		s->source.foreign.offset + s->len > GNTTAB_PAGE_SIZE) ||
	       ((s->flags & GNTCOPY_dest_gref) && s->dest.foreign.offset + s->len > GNTTAB_PAGE_SIZE);
}

/* A copy on the timeline: copier -> the domain of its (first) gref side. */
static void gnttab_copy_trace(domid_t copier, const struct xengnttab_grant_copy_segment *s,
			      enum sim_trace_kind kind, const char *text)
{
	const union xengnttab_copy_ptr *f =
		(s->flags & GNTCOPY_source_gref) ? &s->source : &s->dest;

	sim_trace_event(kind, copier, f->foreign.domid, f->foreign.ref, s->len, text);
}

/* The virtual side is only touched without the lock (it may fault); the
 * grant side only under it, through the bounce page. */
static int16_t gnttab_copy_one(domid_t copier, const struct xengnttab_grant_copy_segment *s)
{
	uint8_t bounce[GNTTAB_PAGE_SIZE];
	uint8_t *src = bounce, *dst = bounce;
	char why[GNTTAB_WHY_MAX];
	int16_t st = GNTST_okay;

	const union xengnttab_copy_ptr *fp =
		(s->flags & GNTCOPY_source_gref) ? &s->source : &s->dest;
	if (sim_fault_hit_ctx(&gnttab_fault_copy,
			      &(struct sim_fault_ctx){.domid = copier, .peer = fp->foreign.domid,
						      .port = SIM_FAULT_PORT_ANY})) {
		sim_log("gnttab: xengnttab_grant_copy by dom%u: injected fault gnttab.copy", copier);
		gnttab_copy_trace(copier, s, SIM_TR_FAULT, "gnttab.copy");
		return GNTST_general_error;
	}
	if (gnttab_copy_crosses(s)) {
		bool src = (s->flags & GNTCOPY_source_gref) &&
			   s->source.foreign.offset + s->len > GNTTAB_PAGE_SIZE;
		const union xengnttab_copy_ptr *f = src ? &s->source : &s->dest;
		sim_log("gnttab: xengnttab_grant_copy by dom%u: %s dom%u ref %u offset %u + "
			"%u bytes crosses the page: GNTST_bad_copy_arg", copier, src ? "from" : "to",
			f->foreign.domid, f->foreign.ref, f->foreign.offset, s->len);
		return GNTST_bad_copy_arg;
	}
	if (!(s->flags & GNTCOPY_source_gref))
		memcpy(bounce, s->source.virt, s->len);
	pthread_mutex_lock(&gnttab_lock);
	if (s->flags & GNTCOPY_source_gref)
		st = gnttab_copy_side_locked(copier, s, false, &src, why);
	if (st == GNTST_okay && (s->flags & GNTCOPY_dest_gref))
		st = gnttab_copy_side_locked(copier, s, true, &dst, why);
	if (st == GNTST_okay && src != dst)
		memmove(dst, src, s->len);
	gnttab_unlock();
	if (st == GNTST_okay && !(s->flags & GNTCOPY_dest_gref))
		memcpy(s->dest.virt, bounce, s->len);
	if (st == GNTST_okay)
		gnttab_copy_trace(copier, s, SIM_TR_GRANT_COPY, NULL);
	return st;
}

/* A bad call (as opposed to a bad segment) fails the whole call, before any
 * copying, like gntdev's checks. */
static int gnttab_copy_args_check(uint32_t count, const xengnttab_grant_copy_segment_t *segs)
{
	const uint16_t gref_flags = GNTCOPY_source_gref | GNTCOPY_dest_gref;

	if (count && !segs) {
		sim_log("gnttab: xengnttab_grant_copy: %u segments at NULL", count);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < count; i++)
		if (!(segs[i].flags & gref_flags) || (segs[i].flags & ~gref_flags)) {
			sim_log("gnttab: xengnttab_grant_copy: segment %u: flags 0x%x (need "
				"GNTCOPY_source_gref and/or GNTCOPY_dest_gref, nothing else)", i,
				segs[i].flags);
			return -EINVAL;
		}
	return 0;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count, xengnttab_grant_copy_segment_t *segs)
{
	sim_sched_point("gnttab.copy");
	pthread_mutex_lock(&gnttab_lock);
	int rc = gnttab_handle_use_locked(xgt, GNTTAB_KIND_TAB, "xengnttab_grant_copy");
	domid_t copier = rc == 0 ? xgt->domid : DOMID_INVALID;
	gnttab_unlock();
	if (rc == 0)
		rc = gnttab_copy_args_check(count, segs);
	for (uint32_t i = 0; rc == 0 && i < count; i++) {
		xengnttab_grant_copy_segment_t seg = segs[i];
		segs[i].status = gnttab_copy_one(copier, &seg);
	}
	if (rc < 0) {
		errno = -rc;
		return -1;
	}
	return 0;
}

/* ---- dma-buf: a Linux gntdev feature the sim does not model ---- */

static int gnttab_dmabuf_unsupported(const char *api)
{
	sim_sched_point("gnttab.dmabuf");
	sim_log("gnttab: %s by dom%u: dma-buf is not simulated (ENOSYS)", api,
		sim_current_domid());
	errno = ENOSYS;
	return -1;
}

int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t flags,
				   uint32_t count, const uint32_t *refs, uint32_t *fd)
{
	(void)xgt, (void)domid, (void)flags, (void)count, (void)refs, (void)fd;
	return gnttab_dmabuf_unsupported("xengnttab_dmabuf_exp_from_refs");
}

int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd, uint32_t wait_to_ms)
{
	(void)xgt, (void)fd, (void)wait_to_ms;
	return gnttab_dmabuf_unsupported("xengnttab_dmabuf_exp_wait_released");
}

int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid, uint32_t fd,
				 uint32_t count, uint32_t *refs)
{
	(void)xgt, (void)domid, (void)fd, (void)count, (void)refs;
	return gnttab_dmabuf_unsupported("xengnttab_dmabuf_imp_to_refs");
}

int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
	(void)xgt, (void)fd;
	return gnttab_dmabuf_unsupported("xengnttab_dmabuf_imp_release");
}
