/*
 * The double-fetch detector and the table of code locations.
 *
 * The window. A ring slot may hold new peer data only after the domain has
 * answered it and published that: a backend's request slot is refilled after
 * the backend pushed rsp_prod past it, a frontend's response slot after the
 * frontend pushed new requests (req_prod). So, per domain, the window runs
 * from one push of its producer index (a 4-byte write at offset 0 or 8 of a
 * page: req_prod, rsp_prod) to the next; within it, the
 * same bytes of shared memory read twice are a double fetch, unless the
 * domain wrote them itself in between (a frontend reading back what it put in
 * its own request). Reads of the sring header (req_prod, req_event, rsp_prod,
 * rsp_event) are meant to be re-read and are never findings. Whose page it is
 * does not matter: a frontend's ring is its own page, yet the backend writes
 * the responses there.
 */
#include <stdlib.h>
#include <string.h>

#include "sim/access/access_internal.h"

struct acc_record {
	uintptr_t addr;
	uint32_t len;
	bool write;
	const void *pc;
};

struct acc_dom {
	uint32_t n;
	struct acc_record rec[SIM_ACCESS_RECORDS_MAX];
};

static struct acc_dom *acc_doms[SIM_DOMID_LIMIT];
static struct acc_finding acc_found[SIM_ACCESS_FINDINGS_MAX];
static unsigned acc_nfound;
static uint64_t acc_overflows;

static struct acc_site acc_site_tab[SIM_ACCESS_SITES_MAX];   /* open addressing by pc */
static struct acc_site acc_site_list[SIM_ACCESS_SITES_MAX];  /* the same, packed */
static unsigned acc_nsites;

_Static_assert((SIM_ACCESS_SITES_MAX & (SIM_ACCESS_SITES_MAX - 1)) == 0,
	       "the site table is indexed by a mask");

void acc_detect_reset(void)
{
	for (unsigned i = 0; i < SIM_DOMID_LIMIT; i++)
		if (acc_doms[i])
			acc_doms[i]->n = 0;
	acc_nfound = 0;
	acc_overflows = 0;
}

static bool acc_header(const struct acc_event *ev)
{
	/* Any page: one mapping may hold several rings (a frontend sharing
	 * its tx and rx rings at once). A data page's first bytes are left out
	 * with them: a miss, never a false finding. */
	return ev->where.offset < SIM_ACCESS_HEADER_BYTES;
}

static bool acc_push(const struct acc_event *ev)
{
	return ev->write && ev->len == 4 && (ev->where.offset == 0 || ev->where.offset == 8);
}

void acc_finding_add(const struct acc_finding *f)
{
	/* A third read at the same location adds nothing. */
	for (unsigned i = 0; i < acc_nfound; i++)
		if (acc_found[i].pc_again == f->pc_again)
			return;
	if (acc_nfound < SIM_ACCESS_FINDINGS_MAX)
		acc_found[acc_nfound++] = *f;
}

/* The newest record of d overlapping [a, a + len), or NULL. */
static const struct acc_record *acc_overlap(const struct acc_dom *d, uintptr_t a, uint32_t len)
{
	for (uint32_t i = d->n; i-- > 0;) {
		const struct acc_record *r = &d->rec[i];
		if (r->addr < a + len && a < r->addr + r->len)
			return r;
	}
	return NULL;
}

static void acc_append(struct acc_dom *d, const struct acc_event *ev)
{
	/* A loop filling or scanning a buffer: one record grows (reads only from
	 * one code location, so that a finding still names it). */
	struct acc_record *last = d->n ? &d->rec[d->n - 1] : NULL;
	if (last && last->write == ev->write && last->addr + last->len == ev->addr &&
	    (ev->write || last->pc == ev->pc) && last->len + ev->len >= last->len) {
		last->len += ev->len;
		return;
	}
	if (d->n == SIM_ACCESS_RECORDS_MAX) {
		/* No push for this long: keep the newer half (may miss, never lies). */
		memmove(d->rec, d->rec + d->n / 2, (d->n - d->n / 2) * sizeof(d->rec[0]));
		d->n -= d->n / 2;
		acc_overflows++;
	}
	d->rec[d->n++] = (struct acc_record){.addr = ev->addr, .len = ev->len, .write = ev->write,
					     .pc = ev->pc};
}

void acc_detect(const struct acc_event *ev)
{
	if (ev->dom >= SIM_DOMID_LIMIT)
		return;   /* a harness thread: no domain handles requests there */
	struct acc_dom *d = acc_doms[ev->dom];
	if (!d && !(d = acc_doms[ev->dom] = calloc(1, sizeof(*d))))
		return;
	if (acc_header(ev)) {
		if (acc_push(ev))
			d->n = 0;
		return;
	}
	if (!ev->write) {
		const struct acc_record *r = acc_overlap(d, ev->addr, ev->len);
		if (r && !r->write)
			acc_finding_add(&(struct acc_finding){
				.dom = ev->dom, .grantor = ev->where.page.grantor, .ref = ev->where.page.ref,
				.offset = ev->where.offset, .len = ev->len, .pc_first = r->pc, .pc_again = ev->pc});
	}
	acc_append(d, ev);
}

const struct acc_finding *acc_findings(unsigned *n)
{
	*n = acc_nfound;
	return acc_found;
}

unsigned sim_access_findings(void)
{
	pthread_mutex_lock(&acc_lock);
	unsigned n = acc_nfound;
	pthread_mutex_unlock(&acc_lock);
	return n;
}

/* ---- code locations ---- */

void acc_sites_reset(void)
{
	if (acc_nsites)   /* 160 KiB: left alone by a run that saw none (every uninstrumented one) */
		memset(acc_site_tab, 0, sizeof(acc_site_tab));
	acc_nsites = 0;
}

static uint32_t acc_size_bit(uint32_t len)
{
	return (len & (len - 1)) == 0 && len <= (1u << 30) ? len : 1u << 31;
}

void acc_sites_add(const struct acc_event *ev)
{
	size_t h = (size_t)(((uintptr_t)ev->pc * 0x9E3779B97F4A7C15ull) >> 20);
	struct acc_site *s = NULL;

	for (unsigned k = 0; k < SIM_ACCESS_SITES_MAX; k++, h++) {
		s = &acc_site_tab[h & (SIM_ACCESS_SITES_MAX - 1)];
		if (s->pc == ev->pc || !s->pc)
			break;
		s = NULL;
	}
	if (!s || (!s->pc && acc_nsites == SIM_ACCESS_SITES_MAX - 1))
		return;   /* full: the report says how many sites it has */
	if (!s->pc) {
		*s = (struct acc_site){.pc = ev->pc, .dom = ev->dom};
		acc_nsites++;
	}
	s->reads += !ev->write;
	s->writes += ev->write;
	s->sizes |= acc_size_bit(ev->len);
	s->kinds |= (uint8_t)(1u << ev->where.kind);
}

/* Packed, in table order; the caller holds acc_lock. */
const struct acc_site *acc_sites(unsigned *n)
{
	unsigned k = 0;

	for (unsigned i = 0; i < SIM_ACCESS_SITES_MAX; i++)
		if (acc_site_tab[i].pc)
			acc_site_list[k++] = acc_site_tab[i];
	*n = k;
	return acc_site_list;
}
