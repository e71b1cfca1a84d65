/*
 * Grant tables (v1): one table of entries {flags, domid, frame} per domain
 * incarnation, with Xen's active-entry bookkeeping (live read and write maps)
 * behind it. The grantor cannot end a grant while it is mapped: the end is
 * refused (-EBUSY) or, for gntshr pages, deferred to the last unmap; either way
 * it is counted (the XSA-396 window made observable).
 *
 * A destroyed domain's table is revoked for new maps and copies, but lingers
 * while foreign maps of its grants remain: they stay valid until unmapped.
 */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "sim/gnttab/gnttab_internal.h"

pthread_mutex_t gnttab_lock = PTHREAD_MUTEX_INITIALIZER;

static struct gnttab_domain *gnttab_doms[SIM_DOMID_LIMIT];
/* Above every domid that ever had a table: the check's scans stop here. */
static uint32_t gnttab_doms_hi;
/* Dead tables whose domid already has a new incarnation. */
static struct gnttab_domain *gnttab_zombies;
/* Scenario quotas by domid (a restarted domain keeps them); 0: the default. */
static uint32_t gnttab_lim_grants[SIM_DOMID_LIMIT], gnttab_lim_maptrack[SIM_DOMID_LIMIT];

int gnttab_set_limits(domid_t domid, uint32_t grants, uint32_t maptrack)
{
	if (domid >= SIM_DOMID_LIMIT || grants > GNTTAB_REFS_USABLE || maptrack > GNTTAB_MAPTRACK_MAX)
		return -EINVAL;
	pthread_mutex_lock(&gnttab_lock);
	gnttab_lim_grants[domid] = grants;
	gnttab_lim_maptrack[domid] = maptrack;
	gnttab_unlock();
	return 0;
}

void gnttab_limits_reset(void)
{
	pthread_mutex_lock(&gnttab_lock);
	memset(gnttab_lim_grants, 0, sizeof(gnttab_lim_grants));
	memset(gnttab_lim_maptrack, 0, sizeof(gnttab_lim_maptrack));
	gnttab_unlock();
}

uint32_t gnttab_grants_limit_locked(domid_t domid)
{
	return domid < SIM_DOMID_LIMIT && gnttab_lim_grants[domid] ? gnttab_lim_grants[domid]
								   : GNTTAB_REFS_USABLE;
}

uint32_t gnttab_maptrack_limit_locked(domid_t domid)
{
	return domid < SIM_DOMID_LIMIT && gnttab_lim_maptrack[domid] ? gnttab_lim_maptrack[domid]
								     : GNTTAB_MAPTRACK_MAX;
}

static const char *const gnttab_status_names[] = {
	[-GNTST_okay] = "GNTST_okay",
	[-GNTST_general_error] = "GNTST_general_error",
	[-GNTST_bad_domain] = "GNTST_bad_domain",
	[-GNTST_bad_gntref] = "GNTST_bad_gntref",
	[-GNTST_bad_handle] = "GNTST_bad_handle",
	[-GNTST_bad_virt_addr] = "GNTST_bad_virt_addr",
	[-GNTST_bad_dev_addr] = "GNTST_bad_dev_addr",
	[-GNTST_no_device_space] = "GNTST_no_device_space",
	[-GNTST_permission_denied] = "GNTST_permission_denied",
	[-GNTST_bad_page] = "GNTST_bad_page",
	[-GNTST_bad_copy_arg] = "GNTST_bad_copy_arg",
	[-GNTST_address_too_big] = "GNTST_address_too_big",
	[-GNTST_eagain] = "GNTST_eagain",
	[-GNTST_no_space] = "GNTST_no_space",
};

const char *gnttab_status_name(int16_t st)
{
	size_t i = (size_t)-(int)st;

	if (st > 0 || i >= sizeof(gnttab_status_names) / sizeof(gnttab_status_names[0]))
		return "GNTST_(unknown)";
	return gnttab_status_names[i];
}

int gnttab_status_errno(int16_t st)
{
	switch (st) {
	case GNTST_okay:
		return 0;
	case GNTST_bad_domain:
		return ESRCH;
	case GNTST_bad_gntref:
		return EINVAL;
	case GNTST_permission_denied:
		return EACCES;
	case GNTST_no_device_space:
		return ENOSPC;
	default:
		return EIO;
	}
}

/* ---- tables ---- */

/* A table is mapped anonymous, not calloc'd: its pages are zero until
 * touched, and a run touches a few of them (calloc would clear all 300 KiB
 * of a chunk it reuses). */
static struct gnttab_domain *gnttab_domain_new(domid_t domid)
{
	struct gnttab_domain *d = mmap(NULL, sizeof(*d), PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (d == MAP_FAILED)
		return NULL;
	d->domid = domid;
	d->fresh = GNTTAB_RESERVED_REFS;
	return d;
}

struct gnttab_domain *gnttab_domain_locked(uint32_t domid)
{
	struct gnttab_domain *d = domid < SIM_DOMID_LIMIT ? gnttab_doms[domid] : NULL;

	return d && !d->dead ? d : NULL;
}

bool gnttab_domain_known_locked(const struct gnttab_domain *d)
{
	if (d->domid < SIM_DOMID_LIMIT && gnttab_doms[d->domid] == d)
		return true;
	for (const struct gnttab_domain *z = gnttab_zombies; z; z = z->zombie_next)
		if (z == d)
			return true;
	return false;
}

void gnttab_domain_put_locked(struct gnttab_domain *d)
{
	if (!d->dead || d->grants_active || d->maps_active || d->maptrack_used || d->handles)
		return;
	if (gnttab_doms[d->domid] == d) {
		gnttab_doms[d->domid] = NULL;
	} else {
		struct gnttab_domain **pp = &gnttab_zombies;
		while (*pp && *pp != d)
			pp = &(*pp)->zombie_next;
		GNTTAB_ASSERT(*pp, "dead table of dom%u is neither current nor a zombie", d->domid);
		*pp = d->zombie_next;
	}
	munmap(d, sizeof(*d));
}

/* ---- entries ---- */

int16_t gnttab_access_check_locked(domid_t user, const struct gnttab_domain *g,
				   uint32_t ref, bool write, char *why, size_t why_len)
{
	const struct gnttab_entry *e = g && ref < GNTTAB_GRANTS_MAX ? &g->entries[ref] : NULL;
	int16_t st = GNTST_okay;

	if (!g) {
		st = GNTST_bad_domain;
		snprintf(why, why_len, "grantor is not a live domain");
	} else if (ref < GNTTAB_RESERVED_REFS || ref >= GNTTAB_GRANTS_MAX) {
		st = GNTST_bad_gntref;
		snprintf(why, why_len, "ref %s (usable refs are %u..%u)",
			 ref < GNTTAB_RESERVED_REFS ? "is reserved" : "out of range",
			 GNTTAB_RESERVED_REFS, GNTTAB_GRANTS_MAX - 1);
	} else if ((e->flags & GTF_type_mask) != GTF_permit_access) {
		st = GNTTAB_ST_DENIED;
		snprintf(why, why_len, "ref not granted (flags 0x%x)", e->flags);
	} else if (e->domid != user) {
		st = GNTTAB_ST_DENIED;
		snprintf(why, why_len, "ref granted to dom%u, not dom%u", e->domid, user);
	} else if (write && (e->flags & GTF_readonly)) {
		st = GNTTAB_ST_DENIED;
		snprintf(why, why_len, "write access to a read-only grant");
	}
	return st;
}

static struct gnttab_entry *gnttab_entry_used(struct gnttab_domain *d, uint32_t ref)
{
	GNTTAB_ASSERT(ref >= GNTTAB_RESERVED_REFS && ref < GNTTAB_GRANTS_MAX,
		      "dom%u: ref %u out of range", d->domid, ref);
	struct gnttab_entry *e = &d->entries[ref];
	GNTTAB_ASSERT((e->flags & GTF_type_mask) == GTF_permit_access,
		      "dom%u ref %u: entry not in use (flags 0x%x)", d->domid, ref, e->flags);
	return e;
}

static void gnttab_entry_flags_sync(struct gnttab_entry *e)
{
	e->flags &= (uint16_t)~(GTF_reading | GTF_writing);
	if (e->maps_read + e->maps_write)
		e->flags |= GTF_reading;
	if (e->maps_write)
		e->flags |= GTF_writing;
}

void gnttab_pin_locked(struct gnttab_domain *g, uint32_t ref, bool write)
{
	struct gnttab_entry *e = gnttab_entry_used(g, ref);

	GNTTAB_ASSERT(!write || !(e->flags & GTF_readonly),
		      "dom%u ref %u: writable pin of a read-only grant", g->domid, ref);
	if (write)
		e->maps_write++;
	else
		e->maps_read++;
	g->maps_active++;
	gnttab_entry_flags_sync(e);
}

/* The entry becomes free; a gntshr frame goes back to its domain (a dead
 * domain's memory goes away with its last mapping, in the hypervisor). */
static void gnttab_entry_release_locked(struct gnttab_domain *d, uint32_t ref)
{
	struct gnttab_entry *e = gnttab_entry_used(d, ref);

	GNTTAB_ASSERT(e->maps_read + e->maps_write == 0, "dom%u ref %u: released while mapped",
		      d->domid, ref);
	if (e->shr_owned && !d->dead) {
		int rc = sim_frame_free(d->domid, e->frame);
		if (rc < 0 && rc != -ESRCH)
			sim_log("gnttab: dom%u ref %u: freeing frame %u failed: %s", d->domid, ref,
				e->frame, strerror(-rc));
	}
	memset(e, 0, sizeof(*e));
	GNTTAB_ASSERT(gnttab_refs_free(d) < GNTTAB_REFS_USABLE, "dom%u: free ref stack overflow",
		      d->domid);
	d->released[d->released_n++] = ref;
	d->grants_active--;
}

void gnttab_unpin_locked(struct gnttab_domain *g, uint32_t ref, bool write)
{
	struct gnttab_entry *e = gnttab_entry_used(g, ref);
	uint32_t *maps = write ? &e->maps_write : &e->maps_read;

	GNTTAB_ASSERT(*maps > 0 && g->maps_active > 0, "dom%u ref %u: unpin of an unmapped %s grant",
		      g->domid, ref, write ? "writable" : "read-only");
	(*maps)--;
	g->maps_active--;
	gnttab_entry_flags_sync(e);
	if (e->end_pending && e->maps_read + e->maps_write == 0)
		gnttab_entry_release_locked(g, ref);
	gnttab_domain_put_locked(g);
}

int gnttab_grant_locked(struct gnttab_domain *d, domid_t grantee, uint32_t frame,
			bool readonly, bool shr_owned)
{
	GNTTAB_ASSERT(!d->dead, "grant in the dead table of dom%u", d->domid);
	if (gnttab_refs_free(d) == 0 || d->grants_active >= gnttab_grants_limit_locked(d->domid))
		return -ENOSPC;
	uint32_t ref = d->released_n ? d->released[--d->released_n] : d->fresh++;
	struct gnttab_entry *e = &d->entries[ref];
	GNTTAB_ASSERT(e->flags == GTF_invalid, "dom%u ref %u: free ref in use (flags 0x%x)",
		      d->domid, ref, e->flags);
	*e = (struct gnttab_entry){
		.flags = (uint16_t)(GTF_permit_access | (readonly ? GTF_readonly : 0)),
		.domid = grantee,
		.frame = frame,
		.shr_owned = shr_owned,
	};
	d->grants_active++;
	return (int)ref;
}

int gnttab_end_locked(struct gnttab_domain *d, uint32_t ref, bool defer)
{
	struct gnttab_entry *e = gnttab_entry_used(d, ref);

	if (e->maps_read + e->maps_write == 0) {
		gnttab_entry_release_locked(d, ref);
		return 0;
	}
	if (!d->dead && !e->end_pending)
		d->end_deferred++;
	if (!defer)
		return -EBUSY;
	e->end_pending = true;
	return 1;
}

/* A dying domain's grants: unmapped ones go now, mapped ones at their last unmap. */
static void gnttab_revoke_all_locked(struct gnttab_domain *d)
{
	for (uint32_t ref = GNTTAB_RESERVED_REFS; ref < d->fresh; ref++)
		if (d->entries[ref].flags != GTF_invalid)
			gnttab_end_locked(d, ref, true);
}

/* ---- domain hooks ---- */

static void gnttab_on_create(domid_t domid)
{
	struct gnttab_domain *d = gnttab_domain_new(domid);

	if (!d) {
		sim_log("gnttab: dom%u: no memory for its grant table; its grant calls will fail",
			domid);
		return;
	}
	pthread_mutex_lock(&gnttab_lock);
	struct gnttab_domain *old = gnttab_doms[domid];
	if (old) {
		GNTTAB_ASSERT(old->dead, "dom%u created while its grant table is live", domid);
		old->zombie_next = gnttab_zombies;
		gnttab_zombies = old;
	}
	gnttab_doms[domid] = d;
	if (domid >= gnttab_doms_hi)
		gnttab_doms_hi = domid + 1u;
	gnttab_unlock();
}

/* Order 10: the unmap notifications go out while event channels still work.
 * Revoking first keeps the state consistent at every unlock: a dead table
 * holds only grants still mapped by someone, each with its end pending. */
static void gnttab_on_destroy(domid_t domid, bool crashed)
{
	(void)crashed;
	pthread_mutex_lock(&gnttab_lock);
	struct gnttab_domain *d = gnttab_doms[domid];
	if (d) {
		d->dead = true;
		gnttab_revoke_all_locked(d);
	}
	struct gnttab_mapping *list = gnttab_handles_kill_locked(domid);
	gnttab_unlock();

	while (list) {
		struct gnttab_mapping *next = list->next;
		gnttab_mapping_release(list);
		list = next;
	}
	pthread_mutex_lock(&gnttab_lock);
	/* Re-read: the releases may have freed the table already. */
	d = gnttab_doms[domid];
	if (d && d->dead)
		gnttab_domain_put_locked(d);
	gnttab_unlock();
}

static const struct sim_domain_hooks gnttab_hooks = {
	.name = "gnttab",
	.order = 10,
	.on_create = gnttab_on_create,
	.on_destroy = gnttab_on_destroy,
};

__attribute__((constructor)) static void gnttab_hooks_register(void)
{
	sim_domain_hooks_register(&gnttab_hooks);
}

/* ---- sim-side API (gnttab.h) ---- */

int gnttab_grant_access(domid_t domid, domid_t grantee, uint32_t frame, bool readonly)
{
	int rc;

	pthread_mutex_lock(&gnttab_lock);
	struct gnttab_domain *d = gnttab_domain_locked(domid);
	if (!d)
		rc = -ESRCH;
	else if (grantee >= SIM_DOMID_LIMIT || frame >= sim_frames_total(domid))
		rc = -EINVAL;
	else
		rc = gnttab_grant_locked(d, grantee, frame, readonly, false);
	gnttab_unlock();
	if (rc < 0)
		sim_log("gnttab: dom%u: grant of frame %u to dom%u failed: %s", domid, frame,
			grantee, rc == -ENOSPC ? "grant table full" : strerror(-rc));
	return rc;
}

int gnttab_end_access(domid_t domid, uint32_t ref)
{
	int rc;

	pthread_mutex_lock(&gnttab_lock);
	struct gnttab_domain *d = gnttab_domain_locked(domid);
	const struct gnttab_entry *e =
		d && ref >= GNTTAB_RESERVED_REFS && ref < GNTTAB_GRANTS_MAX ? &d->entries[ref] : NULL;
	if (!d)
		rc = -ESRCH;
	else if (!e || e->flags == GTF_invalid || e->end_pending)
		rc = e && e->end_pending ? -EBUSY : -EINVAL;
	else if (e->shr_owned)
		rc = -EPERM;
	else
		rc = gnttab_end_locked(d, ref, false);
	gnttab_unlock();
	if (rc < 0 && rc != -EBUSY)
		sim_log("gnttab: dom%u: end access of ref %u failed: %s", domid, ref,
			rc == -EPERM   ? "the grant belongs to a gntshr share (EPERM)"
			: rc == -ESRCH ? "no live domain (ESRCH)"
				       : "ref reserved, out of range or not granted (EINVAL)");
	return rc;
}

int16_t gnttab_check_map(domid_t mapper, domid_t grantor, uint32_t ref, bool readonly)
{
	char why[128];

	pthread_mutex_lock(&gnttab_lock);
	struct gnttab_domain *g = gnttab_domain_locked(grantor == DOMID_SELF ? mapper : grantor);
	int16_t st = gnttab_access_check_locked(mapper, g, ref, !readonly, why, sizeof(why));
	struct gnttab_domain *m = gnttab_domain_locked(mapper);
	if (st == GNTST_okay && m && m->maptrack_used >= gnttab_maptrack_limit_locked(m->domid))
		st = GNTST_no_device_space;
	pthread_mutex_unlock(&gnttab_lock);   /* read only */
	return st;
}

int gnttab_stats(domid_t domid, struct gnttab_stats *out)
{
	if (domid >= SIM_DOMID_LIMIT || !out)
		return -EINVAL;
	pthread_mutex_lock(&gnttab_lock);
	const struct gnttab_domain *d = gnttab_doms[domid];
	*out = (struct gnttab_stats){0};
	if (d)
		*out = (struct gnttab_stats){
			.grants_active = d->grants_active,
			.maps_active = d->maps_active,
			.maptrack_used = d->maptrack_used,
			.end_deferred = d->end_deferred,
			.maps_closed = d->maps_closed,
			.closed_mapped = d->closed_mapped,
		};
	pthread_mutex_unlock(&gnttab_lock);   /* read only */
	return 0;
}

/* ---- whole-state check ---- */

uint32_t gnttab_check_round = 1;

/* The entries' scratch goes stale with the round (gnttab_entry_scratch). */
static void gnttab_table_check_begin(struct gnttab_domain *d)
{
	d->check_maptrack = 0;
	d->check_handles = 0;
}

void gnttab_tables_check_begin_locked(void)
{
	if (++gnttab_check_round == 0)
		gnttab_check_round = 1;
	for (uint32_t id = 0; id < gnttab_doms_hi; id++)
		if (gnttab_doms[id])
			gnttab_table_check_begin(gnttab_doms[id]);
	for (struct gnttab_domain *z = gnttab_zombies; z; z = z->zombie_next)
		gnttab_table_check_begin(z);
}

static void gnttab_entry_check(struct gnttab_domain *d, uint32_t ref)
{
	const struct gnttab_entry *e = gnttab_entry_scratch(&d->entries[ref]);
	const uint16_t legal = GTF_permit_access | GTF_readonly | GTF_reading | GTF_writing;

	if (e->flags == GTF_invalid) {
		GNTTAB_ASSERT(e->maps_read + e->maps_write == 0 && !e->end_pending && !e->shr_owned,
			      "dom%u ref %u: free entry with maps or state", d->domid, ref);
		GNTTAB_ASSERT(ref >= GNTTAB_RESERVED_REFS ? e->check_free : !e->check_free,
			      "dom%u ref %u: free ref %s the free stack", d->domid, ref,
			      e->check_free ? "reserved but on" : "missing from");
		return;
	}
	GNTTAB_ASSERT(ref >= GNTTAB_RESERVED_REFS, "dom%u: reserved ref %u in use", d->domid, ref);
	GNTTAB_ASSERT((e->flags & GTF_type_mask) == GTF_permit_access && !(e->flags & ~legal),
		      "dom%u ref %u: illegal flags 0x%x", d->domid, ref, e->flags);
	GNTTAB_ASSERT(!e->check_free, "dom%u ref %u: in use and on the free stack", d->domid, ref);
	GNTTAB_ASSERT(e->maps_read == e->check_read && e->maps_write == e->check_write,
		      "dom%u ref %u: map counts r%u w%u, live maps r%u w%u", d->domid, ref,
		      e->maps_read, e->maps_write, e->check_read, e->check_write);
	GNTTAB_ASSERT(!(e->flags & GTF_readonly) || e->maps_write == 0,
		      "dom%u ref %u: writable map of a read-only grant", d->domid, ref);
	GNTTAB_ASSERT(!!(e->flags & GTF_reading) == !!(e->maps_read + e->maps_write) &&
			      !!(e->flags & GTF_writing) == !!e->maps_write,
		      "dom%u ref %u: flags 0x%x disagree with maps r%u w%u", d->domid, ref,
		      e->flags, e->maps_read, e->maps_write);
	GNTTAB_ASSERT(!e->end_pending || e->maps_read + e->maps_write,
		      "dom%u ref %u: end pending but not mapped", d->domid, ref);
	GNTTAB_ASSERT(!d->dead || e->end_pending, "dom%u ref %u: live grant in a dead table",
		      d->domid, ref);
}

static void gnttab_table_check_end(struct gnttab_domain *d)
{
	const uint32_t span = d->fresh;
	uint32_t used = 0, maps = 0;

	for (uint32_t i = 0; i < d->released_n; i++) {
		uint32_t ref = d->released[i];
		GNTTAB_ASSERT(ref >= GNTTAB_RESERVED_REFS && ref < span &&
				      !gnttab_entry_scratch(&d->entries[ref])->check_free,
			      "dom%u: free stack slot %u holds bad or duplicate ref %u", d->domid,
			      i, ref);
		d->entries[ref].check_free = true;
	}
	for (uint32_t ref = 0; ref < span; ref++) {
		gnttab_entry_check(d, ref);
		used += d->entries[ref].flags != GTF_invalid;
		maps += d->entries[ref].maps_read + d->entries[ref].maps_write;
	}
	GNTTAB_ASSERT(used == d->grants_active && used + gnttab_refs_free(d) == GNTTAB_REFS_USABLE,
		      "dom%u: %u entries in use, grants_active %u, %u free (%u released, fresh from %u)",
		      d->domid, used, d->grants_active, gnttab_refs_free(d), d->released_n, span);
	GNTTAB_ASSERT(maps == d->maps_active, "dom%u: entries hold %u maps, maps_active %u",
		      d->domid, maps, d->maps_active);
	GNTTAB_ASSERT(d->maptrack_used == d->check_maptrack && d->maptrack_used <= GNTTAB_MAPTRACK_MAX,
		      "dom%u: maptrack_used %u, its handles map %u", d->domid, d->maptrack_used,
		      d->check_maptrack);
	GNTTAB_ASSERT(d->handles == d->check_handles, "dom%u: %u handles counted, %u found",
		      d->domid, d->handles, d->check_handles);
	GNTTAB_ASSERT(d->dead || gnttab_doms[d->domid] == d, "dom%u: live table is a zombie",
		      d->domid);
}

void gnttab_tables_check_end_locked(void)
{
	for (uint32_t id = 0; id < gnttab_doms_hi; id++)
		if (gnttab_doms[id]) {
			GNTTAB_ASSERT(gnttab_doms[id]->domid == id, "slot %u holds the table of dom%u",
				      id, gnttab_doms[id]->domid);
			gnttab_table_check_end(gnttab_doms[id]);
		}
	for (struct gnttab_domain *z = gnttab_zombies; z; z = z->zombie_next) {
		GNTTAB_ASSERT(z->dead, "zombie table of dom%u is not dead", z->domid);
		gnttab_table_check_end(z);
	}
}

uint64_t gnttab_gen = 1;
static uint64_t gnttab_gen_checked;   /* the state last found consistent */

void gnttab_check(void)
{
	pthread_mutex_lock(&gnttab_lock);
	if (gnttab_gen != gnttab_gen_checked) {
		gnttab_tables_check_begin_locked();
		gnttab_handles_check_locked();
		gnttab_tables_check_end_locked();
		gnttab_gen_checked = gnttab_gen;   /* a failed check panicked */
	}
	pthread_mutex_unlock(&gnttab_lock);
}
