/*
 * The hostile net frontend's model of a correct backend: from a packet's
 * requests as written (io/netif.h, "Guest transmit"), what netback may do:
 *  - disconnect (HF_FATAL): a slot crossing its page, a chain running past
 *    what was published, an extra info slot of unknown type, GSO of an
 *    unknown type, not offered, or of size 0, more extras than types;
 *  - answer NETIF_RSP_ERROR (HF_DROP): fragments larger than the first
 *    slot's size says, several slots without feature-sg, a packet shorter
 *    than an Ethernet header, GSO on a frame without TCP, a ref never
 *    granted for bytes that must be read, checksum offload on headers whose
 *    lengths do not hold (the lie says so: hf_expect_set);
 *  - pass it on (HF_OK), as exactly the bytes the slots describe: the first
 *    slot holds what the others do not.
 * netif.h makes a backend take XEN_NETIF_NR_SLOTS_MIN data slots; beyond, it
 * may also drop or disconnect, unless the configuration says which it does
 * (slots_max, slots_fatal). A zero-length slot needs no grant.
 *
 * The expectations table is shared with the backend's thread, which checks
 * each frame netback passes on against it (hostile_front_output).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim/scenario/hostile_net_internal.h"

struct hf_model {
	uint8_t accept;
	uint32_t len;
	uint64_t hash;
};

struct hf_scan {
	const netif_tx_request_t *r;
	unsigned n, i;
	bool fatal, drop, amb_slots, amb_ref, gso;
	unsigned data[HF_SLOTS_MAX], ndata;
	uint32_t first_len;
};

static void hf_scan_extras(const struct hostile_front *h, struct hf_scan *s)
{
	bool more = s->r[0].flags & NETTXF_extra_info;
	unsigned seen = 0;

	while (more && !s->fatal) {
		netif_extra_info_t x;
		if (++s->i >= s->n || ++seen > XEN_NETIF_EXTRA_TYPE_MAX - 1) {
			s->fatal = true;
			break;
		}
		memcpy(&x, &s->r[s->i], sizeof(x));
		if (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)
			s->fatal = true;
		if (x.type == XEN_NETIF_EXTRA_TYPE_GSO) {
			bool v4 = x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4, v6 = x.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV6;
			if ((!v4 && !v6) || (v4 && !h->gso4) || (v6 && !h->gso6) || x.u.gso.size == 0)
				s->fatal = true;
			s->gso = true;
		}
		more = x.flags & XEN_NETIF_EXTRA_FLAG_MORE;
	}
}

static void hf_scan_data(struct hf_scan *s)
{
	bool more = s->r[0].flags & NETTXF_more_data;
	uint32_t rest = s->r[0].size;

	s->data[s->ndata++] = 0;
	while (more && !s->fatal) {
		if (++s->i >= s->n) {
			s->fatal = true;
			break;
		}
		const netif_tx_request_t *q = &s->r[s->i];
		s->data[s->ndata++] = s->i;
		if ((uint32_t)q->offset + q->size > HF_PAGE_BYTES)
			s->fatal = true;
		if (q->size > rest)
			s->drop = true;
		else
			rest -= q->size;
		more = q->flags & NETTXF_more_data;
	}
	s->first_len = rest;
	if ((uint32_t)s->r[0].offset + rest > HF_PAGE_BYTES)
		s->fatal = true;
}

/* Refs of slots with bytes must be ours. */
static void hf_scan_refs(const struct hostile_front *h, struct hf_scan *s)
{
	for (unsigned k = 0; k < s->ndata; k++) {
		const netif_tx_request_t *q = &s->r[s->data[k]];
		uint32_t bytes = k == 0 ? s->first_len : q->size;
		if (hf_tx_page_of(h, q->gref))
			continue;
		if (bytes)
			s->drop = true;
		else
			s->amb_ref = true;
	}
}

static void hf_assemble(const struct hostile_front *h, const struct hf_scan *s, uint8_t *buf, struct hf_model *m)
{
	uint32_t at = 0;

	for (unsigned k = 0; k < s->ndata; k++) {
		const netif_tx_request_t *q = &s->r[s->data[k]];
		uint32_t bytes = k == 0 ? s->first_len : q->size;
		const uint8_t *page = hf_tx_page_of(h, q->gref);
		if (bytes && page && at + bytes <= HF_FRAME_MAX) {
			memcpy(buf + at, page + q->offset, bytes);
			at += bytes;
		}
	}
	m->len = at;
	m->hash = hf_fnv(buf, at, 14695981039346656037ull);
}

static void hf_model(struct hostile_front *h, const netif_tx_request_t *r, unsigned n, struct hf_model *m)
{
	struct hf_scan s = {.r = r, .n = n};

	memset(m, 0, sizeof(*m));
	hf_scan_extras(h, &s);
	if (!s.fatal)
		hf_scan_data(&s);
	if (s.fatal) {
		m->accept = HF_FATAL;
		return;
	}
	hf_scan_refs(h, &s);
	s.amb_slots = s.ndata > XEN_NETIF_NR_SLOTS_MIN && !h->cfg.slots_fatal;
	if (h->cfg.slots_fatal && s.ndata > h->cfg.slots_fatal) {
		m->accept = HF_FATAL;   /* a documented bound: past it, a disconnection */
		return;
	}
	if (h->cfg.slots_max && s.ndata > h->cfg.slots_max)
		s.drop = true;
	if ((s.ndata > 1 && !h->sg) || r[0].size < NETPKT_ETH_HLEN_BYTES || s.gso)
		s.drop = true;   /* our frames carry no TCP: GSO never fits them */
	if (s.drop) {
		m->accept = (uint8_t)(HF_DROP | (s.amb_slots ? HF_FATAL : 0));
		return;
	}
	m->accept = (uint8_t)(HF_OK | (s.amb_slots ? HF_DROP | HF_FATAL : 0) | (s.amb_ref ? HF_DROP : 0));
	hf_assemble(h, &s, h->mbuf, m);
}

/* ---- the table ---- */

void hf_expect_set(struct hostile_front *h, const struct hf_build *b)
{
	struct hf_model m;

	hf_model(h, b->reqs, b->n, &m);
	if (b->csum_lie && (m.accept & HF_OK))   /* headers that do not hold: no checksum to complete */
		m.accept = (uint8_t)((m.accept & ~HF_OK) | HF_DROP);
	pthread_mutex_lock(&h->lock);
	struct hf_expect *e = &h->exp[b->seq];
	*e = (struct hf_expect){.accept = m.accept, .nok = (m.accept & HF_OK) ? 1 : 0, .len = {m.len},
				.hash = {m.hash}};
	snprintf(e->lie, sizeof(e->lie), "%s", b->lie[0] ? b->lie : "none");
	pthread_mutex_unlock(&h->lock);
}

uint8_t hf_expect_accept(struct hostile_front *h, uint32_t seq)
{
	pthread_mutex_lock(&h->lock);
	uint8_t a = h->exp[seq].accept;
	pthread_mutex_unlock(&h->lock);
	return a;
}

void hf_expect_widen(struct hostile_front *h, uint32_t seq, const netif_tx_request_t *reqs, const bool *extra,
		     unsigned n, const char *what)
{
	struct hf_model m;

	(void)extra;
	hf_model(h, reqs, n, &m);
	pthread_mutex_lock(&h->lock);
	struct hf_expect *e = &h->exp[seq];
	e->accept |= m.accept;
	if ((m.accept & HF_OK) && e->nok < 2) {
		e->len[e->nok] = m.len;
		e->hash[e->nok++] = m.hash;
	}
	size_t k = strlen(e->lie);
	snprintf(e->lie + k, sizeof(e->lie) - k, "; rewritten: %s", what);
	pthread_mutex_unlock(&h->lock);
}

static uint64_t hf_grant_faults(void)
{
	static const char *const sites[] = {"gnttab.copy", "gnttab.map"};
	uint64_t n = 0;

	for (unsigned i = 0; i < 2; i++) {
		struct sim_fault_site *s = sim_fault_site_find(sites[i]);
		n += s ? atomic_load(&s->injected) : 0;
	}
	return n;
}

static const char *hf_accept_name(uint8_t a)
{
	static const char *const names[8] = {"nothing", "pass it on", "answer it with an error",
					      "pass it on or answer it with an error", "disconnect",
					      "pass it on or disconnect", "answer it with an error or disconnect",
					      "anything"};
	return names[a & 7];
}

void hf_expect_status(struct hostile_front *h, uint32_t seq, enum hf_status st, char *err, size_t len)
{
	err[0] = '\0';
	pthread_mutex_lock(&h->lock);
	struct hf_expect *e = &h->exp[seq];
	e->status = (uint8_t)st;
	if (st == HF_ST_OKAY && !(e->accept & HF_OK))
		snprintf(err, len, "netback answered packet %u OKAY, but a correct backend must %s (lie: %s)", seq,
			 hf_accept_name(e->accept), e->lie);
	else if (st == HF_ST_ERROR && !(e->accept & HF_DROP) && hf_grant_faults() == 0)
		snprintf(err, len, "netback answered packet %u with an error, but a correct backend must %s (lie: %s)",
			 seq, hf_accept_name(e->accept), e->lie);
	pthread_mutex_unlock(&h->lock);
}

/* The packet a frame's header names, or NULL: no header of ours (a lie may
 * have cut it off or written over it). */
static struct hf_expect *hf_expect_by_header(struct hostile_front *h, const uint8_t *data, uint32_t len)
{
	uint32_t magic, seq;

	if (len < HF_HDR_BYTES)
		return NULL;
	memcpy(&magic, data + 14, 4);
	memcpy(&seq, data + 18, 4);
	return magic == HF_MAGIC && seq < h->cfg.packets ? &h->exp[seq] : NULL;
}

/* The packet a frame is (by its header, else by its bytes: a lie may have
 * cut the header off); passed: one netback passed on already, else one not
 * passed on yet. */
static struct hf_expect *hf_expect_match(struct hostile_front *h, const uint8_t *data, uint32_t len, uint64_t hash,
					 bool passed)
{
	struct hf_expect *named = hf_expect_by_header(h, data, len);

	for (unsigned k = 0; named && (named->accept & HF_OK) && k < named->nok; k++)
		if (named->len[k] == len && named->hash[k] == hash)
			return named;
	/* A frame whose header is not where it should be: any packet like it. */
	for (uint32_t s = 0; s < h->cfg.packets; s++) {
		struct hf_expect *e = &h->exp[s];
		for (unsigned k = 0; (e->accept & HF_OK) && k < e->nok; k++)
			if (e->len[k] == len && e->hash[k] == hash && (e->outputs > 0) == passed)
				return e;
	}
	return NULL;
}

bool hf_expect_frame(struct hostile_front *h, const uint8_t *data, uint32_t len)
{
	uint64_t hash = hf_fnv(data, len, 14695981039346656037ull);

	pthread_mutex_lock(&h->lock);
	struct hf_expect *e = hf_expect_match(h, data, len, hash, false);
	bool ok = e && e->outputs == 0;
	if (e)
		e->outputs++;
	pthread_mutex_unlock(&h->lock);
	return ok;
}

/* A frame that came back on rx: one netback passed on (the harness reflects
 * each frame into the vif it came from). */
bool hf_expect_reflected(struct hostile_front *h, const uint8_t *data, uint32_t len)
{
	uint64_t hash = hf_fnv(data, len, 14695981039346656037ull);

	pthread_mutex_lock(&h->lock);
	struct hf_expect *e = hf_expect_match(h, data, len, hash, true);
	bool ok = e && e->outputs > 0;
	pthread_mutex_unlock(&h->lock);
	return ok;
}

int hostile_front_output(struct hostile_front *h, const uint8_t *data, uint32_t len, char *why, size_t why_len)
{
	atomic_fetch_add(&h->st[HF_S_OUTPUT], 1);
	if (hf_expect_frame(h, data, len))
		return 0;
	pthread_mutex_lock(&h->lock);
	const struct hf_expect *e = hf_expect_by_header(h, data, len);
	if (e)
		snprintf(why, why_len, "netback passed on a frame of %u bytes from vif %s of dom %u that no correct "
			 "backend would (header says packet %u: a correct backend must %s; lie: %s, %u bytes%s)", len,
			 h->device + 4, h->cfg.domid, (unsigned)(e - h->exp), hf_accept_name(e->accept), e->lie, e->len[0],
			 e->outputs > 1 ? "; passed on twice" : "");
	else   /* the checksum lie writes IP headers over ours */
		snprintf(why, why_len, "netback passed on a frame of %u bytes from vif %s of dom %u that no correct "
			 "backend would (not one of its packets byte for byte, and without our header)", len,
			 h->device + 4, h->cfg.domid);
	pthread_mutex_unlock(&h->lock);
	return -EPROTO;
}

const char *hostile_front_verdict(struct hostile_front *h, uint64_t no_link, char *buf, size_t len)
{
	uint64_t missing = 0;
	int first = -1, bad = -1;

	pthread_mutex_lock(&h->lock);
	for (uint32_t s = 0; s < h->cfg.packets; s++) {
		const struct hf_expect *e = &h->exp[s];
		if (e->status == HF_ST_OKAY && e->outputs == 0 && missing++ == 0)
			first = (int)s;
		if (e->status == HF_ST_ERROR && e->outputs && bad < 0)
			bad = (int)s;
	}
	if (bad >= 0)
		snprintf(buf, len, "netback answered packet %d of dom %u with an error but passed it on (lie: %s)", bad,
			 h->cfg.domid, h->exp[bad].lie);
	else if (missing > no_link)
		snprintf(buf, len, "netback answered %lu packet(s) of dom %u OKAY that it never passed on (first: "
			 "packet %d, lie: %s)", missing, h->cfg.domid, first, h->exp[first].lie);
	pthread_mutex_unlock(&h->lock);
	return bad >= 0 || missing > no_link ? buf : NULL;
}
