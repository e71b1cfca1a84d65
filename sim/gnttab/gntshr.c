/*
 * The producer side of libxengnttab (xengntshr_*), as Linux's gntalloc does
 * it: allocate zeroed pages from the caller's memory, grant them to one peer,
 * map them into the caller. Unsharing a page the peer still maps cannot end
 * its grant: the end is deferred, counted, and done at the peer's last unmap,
 * when the frame goes back to the domain.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "sim/gnttab/gnttab_internal.h"

SIM_FAULT_SITE_TRACED(gnttab_fault_share, "gnttab.share",
	       "xengntshr_share_pages fails with ENOMEM (nothing is shared)");

struct gntshr_req {
	int count;
	uint32_t grantee;
	bool writable;
	uint32_t notify_offset;
	evtchn_port_t notify_port;
	const char *api;
};

xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger, unsigned open_flags)
{
	(void)logger;
	(void)open_flags;
	sim_sched_point("gnttab.shr_open");
	return gnttab_handle_open(GNTTAB_KIND_SHR, "xengntshr_open");
}

int xengntshr_close(xengntshr_handle *xgs)
{
	sim_sched_point("gnttab.shr_close");
	return gnttab_handle_close(xgs, GNTTAB_KIND_SHR, false);
}

int xengntshr_fd(xengntshr_handle *xgs)
{
	sim_sched_point("gnttab.shr_fd");
	return gnttab_handle_fd(xgs, GNTTAB_KIND_SHR, "xengntshr_fd");
}

/* Allocate, zero (no stale data leaks to the peer, XSA-403) and grant. */
static int gntshr_grant_pages_locked(struct xengntdev_handle *h, const struct gntshr_req *rq,
				     struct gnttab_mapping *m, uint32_t *granted)
{
	int rc = 0;

	for (*granted = 0; *granted < (uint32_t)rq->count && rc == 0; (*granted)++) {
		uint32_t frame;
		rc = sim_frame_alloc(h->domid, &frame);
		if (rc < 0)
			break;
		void *hv = sim_frame_hv(h->domid, frame);
		if (!hv) {
			/* Dying since the alloc: the frame goes with its memory. */
			rc = -ESRCH;
			break;
		}
		/* No memset: sim_frame_alloc hands out zero-filled frames, and
		 * clearing would make every shared page resident. */
		int ref = gnttab_grant_locked(h->dom, (domid_t)rq->grantee, frame, !rq->writable, true);
		GNTTAB_ASSERT(ref > 0, "dom%u: no free ref after checking for %d", h->domid, rq->count);
		m->pages[*granted] = (struct gnttab_page){.grantor = h->dom, .grantor_id = h->domid,
							  .ref = (uint32_t)ref, .frame = frame};
	}
	return rc;
}

static int gntshr_mmap_locked(struct xengntdev_handle *h, struct gnttab_mapping *m)
{
	struct sim_page_desc *desc = calloc(m->count, sizeof(*desc));

	if (!desc)
		return -ENOMEM;
	for (uint32_t i = 0; i < m->count; i++)
		desc[i] = (struct sim_page_desc){.grantor = h->domid, .frame = m->pages[i].frame,
						 .ref = m->pages[i].ref};
	m->addr = sim_mem_map(h->domid, SIM_MAP_SHARED, m->count, desc, PROT_READ | PROT_WRITE);
	int rc = m->addr ? 0 : -errno;
	free(desc);
	return rc;
}

static int gntshr_share_locked(struct xengntdev_handle *h, const struct gntshr_req *rq,
			       struct gnttab_mapping *m)
{
	const char *why = "";
	uint32_t granted = 0;
	int rc = 0;

	m->domid = h->domid;
	m->owner = h->dom;
	m->writable = true;   /* the sharer's own view is always read-write */
	if (sim_fault_hit_ctx(&gnttab_fault_share,
			      &(struct sim_fault_ctx){.domid = h->domid, .peer = (domid_t)rq->grantee,
						      .port = SIM_FAULT_PORT_ANY})) {
		rc = -ENOMEM;
		why = " (injected fault gnttab.share)";
		sim_trace_event(SIM_TR_FAULT, h->domid, (domid_t)rq->grantee, 0, 0, "gnttab.share");
	} else if (gnttab_refs_free(h->dom) < (uint32_t)rq->count ||
		   h->dom->grants_active + (uint32_t)rq->count > gnttab_grants_limit_locked(h->domid)) {
		rc = -ENOSPC;
		why = " (grant table full)";
	}
	if (rc == 0)
		rc = gntshr_grant_pages_locked(h, rq, m, &granted);
	if (rc == 0)
		rc = gntshr_mmap_locked(h, m);
	if (rc < 0) {
		/* All or nothing; nobody can have mapped these refs yet. */
		for (uint32_t i = 0; i < granted; i++) {
			int ended = gnttab_end_locked(h->dom, m->pages[i].ref, false);
			GNTTAB_ASSERT(ended == 0, "dom%u ref %u: fresh share is mapped", h->domid,
				      m->pages[i].ref);
		}
		sim_log("gnttab: %s: dom%u sharing %d page(s) with dom%u failed: %s%s", rq->api,
			h->domid, rq->count, rq->grantee, strerror(-rc), why);
	} else {
		gnttab_mapping_add_locked(h, m);
	}
	return rc;
}

static int gntshr_args_check(const struct gntshr_req *rq, const uint32_t *refs)
{
	int rc = 0;

	if (rq->count <= 0 || !refs || rq->grantee >= SIM_DOMID_LIMIT)
		rc = -EINVAL;
	else if ((uint32_t)rq->count > GNTTAB_REFS_USABLE)
		rc = -ENOSPC;
	else if (rq->notify_offset != GNTTAB_NOTIFY_NONE && rq->notify_offset >= GNTTAB_PAGE_SIZE)
		rc = -EINVAL;
	if (rc < 0) {
		sim_log("gnttab: %s: %d page(s) for dom%u, notify offset %d: bad arguments (%s)",
			rq->api, rq->count, rq->grantee, (int)rq->notify_offset, strerror(-rc));
		return rc;
	}
	return gnttab_notify_port_check(sim_current_domid(), rq->notify_port, rq->api);
}

static void *gntshr_share(xengntshr_handle *h, const struct gntshr_req *rq, uint32_t *refs)
{
	struct gnttab_mapping *m = NULL;
	uint32_t *out = NULL;
	void *addr = NULL;
	int rc = gntshr_args_check(rq, refs);

	if (rc == 0) {
		m = gnttab_mapping_alloc(GNTTAB_KIND_SHR, (uint32_t)rq->count);
		out = calloc((size_t)rq->count, sizeof(*out));
		rc = m && out ? 0 : -ENOMEM;
	}
	if (rc == 0) {
		m->notify_offset = rq->notify_offset;
		m->notify_port = rq->notify_port;
		pthread_mutex_lock(&gnttab_lock);
		rc = gnttab_handle_use_locked(h, GNTTAB_KIND_SHR, rq->api);
		if (rc == 0)
			rc = gnttab_mapping_reserve_locked(h, rq->api);
		if (rc == 0)
			rc = gntshr_share_locked(h, rq, m);
		/* Copied under the lock: once linked, m is the domain hook's too. */
		for (int i = 0; rc == 0 && i < rq->count; i++)
			out[i] = m->pages[i].ref;
		addr = rc == 0 ? m->addr : NULL;
		gnttab_unlock();
	}
	if (rc == 0)
		memcpy(refs, out, (size_t)rq->count * sizeof(*out));
	else
		free(m);
	free(out);
	if (rc < 0)
		errno = -rc;
	return addr;
}

void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count, uint32_t *refs,
			    int writable)
{
	struct gntshr_req rq = {.count = count, .grantee = domid, .writable = writable != 0,
				.notify_offset = GNTTAB_NOTIFY_NONE,
				.notify_port = GNTTAB_NOTIFY_NONE, .api = "xengntshr_share_pages"};

	sim_sched_point("gnttab.share");
	return gntshr_share(xgs, &rq, refs);
}

void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid, uint32_t *ref,
				  int writable, uint32_t notify_offset, evtchn_port_t notify_port)
{
	struct gntshr_req rq = {.count = 1, .grantee = domid, .writable = writable != 0,
				.notify_offset = notify_offset, .notify_port = notify_port,
				.api = "xengntshr_share_page_notify"};

	sim_sched_point("gnttab.share");
	return gntshr_share(xgs, &rq, ref);
}

int xengntshr_unshare(xengntshr_handle *xgs, void *start_address, uint32_t count)
{
	sim_sched_point("gnttab.unshare");
	return gnttab_handle_unmap(xgs, GNTTAB_KIND_SHR, start_address, count, "xengntshr_unshare");
}
