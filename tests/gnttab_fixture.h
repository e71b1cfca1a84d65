/* What the grant-table suites (gnttab_test, gnttab_notify_test) share:
 * domains with memory, handles opened as a domain, pages shared and granted,
 * a mapped fixture, pokes from another thread, an event-channel pair for the
 * unmap-notify tests, and finish(): whole-state check, reset, nothing left
 * mapped or counted. */
#ifndef XENSIM_TESTS_GNTTAB_FIXTURE_H
#define XENSIM_TESTS_GNTTAB_FIXTURE_H

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "tests/sim_fixture.h"
#include "tests/test.h"

#define PAGE SIM_PAGE_SIZE
#define NOTIFY_NONE ((uint32_t)-1)


static inline int make_domain(const char *name, int domid, size_t mem_bytes)
{
	struct sim_domain_config cfg = {.name = name, .domid = domid, .privileged = domid == 0,
					.mem_bytes = mem_bytes};
	return sim_domain_create(&cfg);
}


static inline struct gnttab_stats stats_of(domid_t domid)
{
	struct gnttab_stats s;

	CU_ASSERT_EQUAL(gnttab_stats(domid, &s), 0);
	return s;
}

static inline bool stats_zero(domid_t domid)
{
	struct gnttab_stats s = stats_of(domid);

	return !s.grants_active && !s.maps_active && !s.maptrack_used && !s.end_deferred;
}

/* Every test ends here: consistent, and nothing left behind. */
static inline void finish(void)
{
	gnttab_check();
	sim_reset();
	gnttab_check();
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 0);
	for (domid_t d = 0; d < 8; d++)
		CU_ASSERT_TRUE(stats_zero(d));
}

static inline int suite_fini(void)
{
	sim_reset();
	return 0;
}

static inline xengntshr_handle *shr_open_as(domid_t domid)
{
	as(domid);
	xengntshr_handle *h = xengntshr_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

static inline xengnttab_handle *tab_open_as(domid_t domid)
{
	as(domid);
	xengnttab_handle *h = xengnttab_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(h);
	return h;
}

/* `owner` shares `count` pages with `peer`; each page starts with its index. */
static uint8_t *share_as(xengntshr_handle *shr, domid_t owner, domid_t peer, int count,
			 uint32_t *refs, int writable)
{
	as(owner);
	uint8_t *p = xengntshr_share_pages(shr, peer, count, refs, writable);
	CU_ASSERT_PTR_NOT_NULL_FATAL(p);
	for (int i = 0; i < count; i++)
		p[(size_t)i * PAGE] = (uint8_t)(0xA0 + i);
	return p;
}

/* A fresh frame of dom `d` granted to `peer` with the sim-side call. */
static inline int grant_frame(domid_t d, domid_t peer, bool readonly, uint32_t *frame_out)
{
	uint32_t frame;

	CU_ASSERT_EQUAL_FATAL(sim_frame_alloc(d, &frame), 0);
	if (frame_out)
		*frame_out = frame;
	return gnttab_grant_access(d, peer, frame, readonly);
}

/* The common set-up: dom1 shares `count` pages with dom2 (f->own, f->refs),
 * dom2 has a gnttab handle and is the current domain. */
struct fx {
	xengntshr_handle *shr;
	xengnttab_handle *tab;
	uint8_t *own;
	uint32_t refs[8];
};

static inline void fx_up(struct fx *f, int count, int writable)
{
	doms_up();
	f->shr = shr_open_as(1);
	f->own = share_as(f->shr, 1, 2, count, f->refs, writable);
	f->tab = tab_open_as(2);
}

static inline void fx_down(struct fx *f)
{
	CU_ASSERT_EQUAL(xengnttab_close(f->tab), 0);
	CU_ASSERT_EQUAL(xengntshr_close(f->shr), 0);
	finish();
}

/* ---- event channels for the notify tests ---- */

struct chan {
	domid_t da, db;
	xenevtchn_handle *a, *b;
	evtchn_port_t pa, pb;
};

/* The port delivered to h now, or -1 if none is queued. */
static inline int pending_now(xenevtchn_handle *h)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(h), .events = POLLIN};

	if (poll(&pfd, 1, 0) != 1)
		return -1;
	int port = xenevtchn_pending(h);
	if (port > 0)
		xenevtchn_unmask(h, (evtchn_port_t)port);
	return port;
}

static inline void chan_up(struct chan *c, domid_t da, domid_t db)
{
	*c = (struct chan){.da = da, .db = db};
	as(da);
	c->a = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->a);
	int pa = xenevtchn_bind_unbound_port(c->a, db);
	CU_ASSERT_FATAL(pa > 0);
	as(db);
	c->b = xenevtchn_open(NULL, 0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c->b);
	int pb = xenevtchn_bind_interdomain(c->b, da, (evtchn_port_t)pa);
	CU_ASSERT_FATAL(pb > 0);
	c->pa = (evtchn_port_t)pa;
	c->pb = (evtchn_port_t)pb;
	/* bind_interdomain leaves the new port pending: drain it. */
	CU_ASSERT_EQUAL(pending_now(c->b), pb);
	as(da);
	CU_ASSERT_EQUAL(pending_now(c->a), -1);
}

static inline void chan_down(struct chan *c)
{
	xenevtchn_close(c->a);
	xenevtchn_close(c->b);
}

/* Grant copy segments: local bytes into a grant, a grant into local bytes. */
static inline xengnttab_grant_copy_segment_t seg_to_gref(void *src, domid_t d, uint32_t ref,
						  uint16_t off, uint16_t len)
{
	return (xengnttab_grant_copy_segment_t){
		.source.virt = src, .dest.foreign = {.ref = ref, .offset = off, .domid = d},
		.len = len, .flags = GNTCOPY_dest_gref, .status = 99};
}

static inline xengnttab_grant_copy_segment_t seg_from_gref(domid_t d, uint32_t ref, uint16_t off,
						    void *dst, uint16_t len)
{
	return (xengnttab_grant_copy_segment_t){
		.source.foreign = {.ref = ref, .offset = off, .domid = d}, .dest.virt = dst,
		.len = len, .flags = GNTCOPY_source_gref, .status = 99};
}

#endif
