/*
 * The L2 switch. Ports live in a fixed table; a port id carries the slot and
 * a generation, so a frame that waits for a port which went away (and whose
 * slot was reused) is recognised and dropped. Each port has a FIFO of frames
 * held by switch.delay, one frame held by switch.reorder, and a timer for
 * each. Nothing here blocks: delivery is a call into the port's owner.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/switch/switch.h"

#define SWITCH_ASSERT(cond, ...) SIM_ASSERT_IN("switch", cond, __VA_ARGS__)
#define SWITCH_SLOT_BITS 8u
#define SWITCH_HASH_BUCKETS 2048u             /* MAC table index: chains stay short */
#define SWITCH_MAC_NONE UINT16_MAX

_Static_assert(SWITCH_MACS_MAX < SWITCH_MAC_NONE, "an entry index fits a chain link");
_Static_assert(SWITCH_HASH_BUCKETS >= 2 * SWITCH_MACS_MAX, "chains stay short at a full table");
_Static_assert((SWITCH_HASH_BUCKETS & (SWITCH_HASH_BUCKETS - 1)) == 0, "buckets: a power of two");

_Static_assert(SWITCH_PORTS_MAX <= (1u << SWITCH_SLOT_BITS), "a slot fits in its bits");
_Static_assert(SWITCH_QUEUE_FRAMES_DEFAULT <= SWITCH_QUEUE_FRAMES_LIMIT, "default within limit");

SIM_FAULT_SITE(switch_fault_loss, "switch.loss", "the switch drops a frame on its way to a port")
SIM_FAULT_SITE(switch_fault_dup, "switch.dup", "the switch delivers a frame twice")
SIM_FAULT_SITE(switch_fault_reorder, "switch.reorder", "the switch holds a frame back behind the next one")
SIM_FAULT_SITE(switch_fault_delay, "switch.delay", "the switch delays a frame (and the frames behind it)")

struct switch_port {
	bool sp_used;
	unsigned sp_gen;
	struct net_switch *sp_sw;
	unsigned sp_slot;
	switch_deliver_fn *sp_fn;
	void *sp_arg;
	struct netpkt *sp_qhead, *sp_qtail;   /* delayed frames; np_stamp: due time */
	unsigned sp_qlen;
	struct netpkt *sp_held;               /* switch.reorder */
	struct event *sp_qtimer, *sp_htimer;
};

struct switch_mac {
	uint8_t sm_mac[6];
	uint16_t sm_next;                     /* next entry of its hash chain, or SWITCH_MAC_NONE */
	unsigned sm_port;                     /* a port id */
};

struct net_switch {
	struct switch_config sw_cfg;
	struct switch_port sw_ports[SWITCH_PORTS_MAX];
	struct switch_mac sw_macs[SWITCH_MACS_MAX];
	unsigned sw_nmacs;
	uint16_t sw_hash[SWITCH_HASH_BUCKETS];   /* first entry of each chain */
	unsigned sw_gen;
	struct switch_stats sw_stats;
};

static unsigned switch_port_id(const struct switch_port *p)
{
	return p->sp_gen << SWITCH_SLOT_BITS | p->sp_slot;
}

static struct switch_port *switch_port_get(struct net_switch *sw, unsigned id)
{
	unsigned slot = id & ((1u << SWITCH_SLOT_BITS) - 1);
	struct switch_port *p = slot < SWITCH_PORTS_MAX ? &sw->sw_ports[slot] : NULL;

	return p && p->sp_used && switch_port_id(p) == id ? p : NULL;
}

static uint64_t switch_us_to_ns(unsigned us)
{
	return (uint64_t)us * 1000u;
}

static void switch_timer_at(struct event *ev, uint64_t due_ns)
{
	uint64_t now = sim_now_ns(), d = due_ns > now ? due_ns - now : 0;
	struct timeval tv = {.tv_sec = (time_t)(d / 1000000000u), .tv_usec = (suseconds_t)(d % 1000000000u / 1000u)};

	evtimer_add(ev, &tv);
}

/* ---- delivery to a port ---- */

static void switch_hand(struct switch_port *p, struct netpkt *pkt)
{
	p->sp_sw->sw_stats.frames_out++;
	p->sp_fn(p->sp_arg, pkt);
}

/* The last step: give the frame; a frame held back goes right after it. */
static void switch_deliver_now(struct switch_port *p, struct netpkt *pkt)
{
	struct netpkt *held = p->sp_held;

	switch_hand(p, pkt);
	if (held && p->sp_used && p->sp_held == held) {
		p->sp_held = NULL;
		evtimer_del(p->sp_htimer);
		switch_hand(p, held);
	}
}

static void switch_queue_push(struct switch_port *p, struct netpkt *pkt, uint64_t due_ns)
{
	struct net_switch *sw = p->sp_sw;

	if (p->sp_qlen >= sw->sw_cfg.queue_frames_max) {
		sw->sw_stats.dropped_queue++;
		netpkt_free(pkt);
		return;
	}
	pkt->np_stamp = due_ns;
	pkt->np_next = NULL;
	if (p->sp_qtail)
		p->sp_qtail->np_next = pkt;
	else
		p->sp_qhead = pkt;
	p->sp_qtail = pkt;
	p->sp_qlen++;
	sw->sw_stats.queued++;
	if (p->sp_qhead == pkt)
		switch_timer_at(p->sp_qtimer, due_ns);
}

static struct netpkt *switch_queue_pop(struct switch_port *p)
{
	struct netpkt *pkt = p->sp_qhead;

	p->sp_qhead = pkt->np_next;
	if (!p->sp_qhead)
		p->sp_qtail = NULL;
	pkt->np_next = NULL;
	p->sp_qlen--;
	p->sp_sw->sw_stats.queued--;
	return pkt;
}

static void switch_queue_due(evutil_socket_t fd, short what, void *arg)
{
	struct switch_port *p = arg;
	unsigned id = switch_port_id(p);

	(void)fd;
	(void)what;
	/* The owner may remove the port from inside its deliver function. */
	while (switch_port_get(p->sp_sw, id) && p->sp_qhead && p->sp_qhead->np_stamp <= sim_now_ns())
		switch_deliver_now(p, switch_queue_pop(p));
	if (switch_port_get(p->sp_sw, id) && p->sp_qhead)
		switch_timer_at(p->sp_qtimer, p->sp_qhead->np_stamp);
}

static void switch_held_due(evutil_socket_t fd, short what, void *arg)
{
	struct switch_port *p = arg;
	struct netpkt *held = p->sp_held;

	(void)fd;
	(void)what;
	if (held) {
		p->sp_held = NULL;
		switch_hand(p, held);
	}
}

/* One output copy of a frame: where the faults act. */
static void switch_output(struct switch_port *p, struct netpkt *pkt)
{
	struct net_switch *sw = p->sp_sw;
	const struct switch_config *c = &sw->sw_cfg;

	/* The clock is read only where a fault or a queue needs it: this runs
	 * for every frame. */
	if (sim_fault_hit(&switch_fault_loss)) {
		sw->sw_stats.dropped_loss++;
		netpkt_free(pkt);
		return;
	}
	if (sim_fault_hit(&switch_fault_dup)) {
		struct netpkt *twin = netpkt_clone(pkt);
		if (twin) {
			sw->sw_stats.duplicated++;
			switch_output(p, twin);
		}
	}
	if (sim_fault_hit(&switch_fault_delay)) {
		unsigned span = c->delay_us_max - c->delay_us_min + 1;
		sw->sw_stats.delayed++;
		switch_queue_push(p, pkt,
				  sim_now_ns() + switch_us_to_ns(c->delay_us_min + (unsigned)(sim_rng_next() % span)));
	} else if (p->sp_qhead) {
		switch_queue_push(p, pkt, sim_now_ns());   /* latency is FIFO: behind the delayed ones */
	} else if (!p->sp_held && sim_fault_hit(&switch_fault_reorder)) {
		sw->sw_stats.reordered++;
		p->sp_held = pkt;
		switch_timer_at(p->sp_htimer, sim_now_ns() + switch_us_to_ns(c->reorder_hold_us));
	} else {
		switch_deliver_now(p, pkt);
	}
}

/* ---- learning and forwarding ---- */

/* Every frame looks up two MACs: a hash of the address picks a short chain. */
static unsigned switch_mac_bucket(const uint8_t *mac)
{
	uint32_t lo = (uint32_t)mac[2] << 24 | (uint32_t)mac[3] << 16 | (uint32_t)mac[4] << 8 | mac[5];
	uint32_t hi = (uint32_t)mac[0] << 8 | mac[1];
	uint32_t h = (lo ^ hi * 0x9E3779B1u) * 0x9E3779B1u;

	return (h >> 16 ^ h) & (SWITCH_HASH_BUCKETS - 1);
}

static struct switch_mac *switch_mac_find(struct net_switch *sw, const uint8_t *mac)
{
	for (uint16_t i = sw->sw_hash[switch_mac_bucket(mac)]; i != SWITCH_MAC_NONE; i = sw->sw_macs[i].sm_next)
		if (memcmp(sw->sw_macs[i].sm_mac, mac, 6) == 0)
			return &sw->sw_macs[i];
	return NULL;
}

static void switch_hash_rebuild(struct net_switch *sw)
{
	memset(sw->sw_hash, 0xFF, sizeof(sw->sw_hash));
	for (unsigned i = 0; i < sw->sw_nmacs; i++) {
		unsigned b = switch_mac_bucket(sw->sw_macs[i].sm_mac);
		sw->sw_macs[i].sm_next = sw->sw_hash[b];
		sw->sw_hash[b] = (uint16_t)i;
	}
}

static void switch_learn(struct net_switch *sw, const uint8_t *src, unsigned port)
{
	struct switch_mac *m;

	if (src[0] & 1)
		return;   /* a group address is never a source */
	m = switch_mac_find(sw, src);
	if (!m && sw->sw_nmacs < SWITCH_MACS_MAX) {
		unsigned b = switch_mac_bucket(src);
		m = &sw->sw_macs[sw->sw_nmacs];
		memcpy(m->sm_mac, src, 6);
		m->sm_next = sw->sw_hash[b];
		sw->sw_hash[b] = (uint16_t)sw->sw_nmacs++;
	}
	if (m)
		m->sm_port = port;
}

/* Rare (a port goes away): entries move, so the index is made again. */
static void switch_forget_port(struct net_switch *sw, unsigned port)
{
	for (unsigned i = 0; i < sw->sw_nmacs;)
		if (sw->sw_macs[i].sm_port == port)
			sw->sw_macs[i] = sw->sw_macs[--sw->sw_nmacs];
		else
			i++;
	switch_hash_rebuild(sw);
}

static void switch_flood(struct net_switch *sw, unsigned in, struct netpkt *pkt)
{
	struct switch_port *last = NULL;

	sw->sw_stats.flooded++;
	for (unsigned i = 0; i < SWITCH_PORTS_MAX; i++) {
		struct switch_port *p = &sw->sw_ports[i];
		if (!p->sp_used || switch_port_id(p) == in)
			continue;
		if (last) {
			struct netpkt *copy = netpkt_clone(pkt);
			if (copy)
				switch_output(last, copy);
			else
				sw->sw_stats.dropped_nomem++;
		}
		last = p;
	}
	if (last) {
		switch_output(last, pkt);
	} else {   /* no port but the one it came in on: dropped, and counted */
		sw->sw_stats.dropped_noport++;
		netpkt_free(pkt);
	}
}

void switch_input(struct net_switch *sw, unsigned port, struct netpkt *pkt)
{
	sw->sw_stats.frames_in++;
	if (pkt->np_len < NETPKT_ETH_HLEN || !switch_port_get(sw, port)) {
		sw->sw_stats.dropped_runt += pkt->np_len < NETPKT_ETH_HLEN;
		sw->sw_stats.dropped_noport += pkt->np_len >= NETPKT_ETH_HLEN;
		netpkt_free(pkt);
		return;
	}
	const uint8_t *dst = pkt->np_data, *src = pkt->np_data + 6;
	switch_learn(sw, src, port);
	struct switch_mac *m = (dst[0] & 1) ? NULL : switch_mac_find(sw, dst);
	if (!m) {
		switch_flood(sw, port, pkt);
	} else if (m->sm_port == port) {
		sw->sw_stats.dropped_hairpin++;
		netpkt_free(pkt);
	} else {
		switch_output(switch_port_get(sw, m->sm_port), pkt);
	}
}

/* ---- ports ---- */

int switch_port_add(struct net_switch *sw, switch_deliver_fn *fn, void *arg, unsigned *port)
{
	struct switch_port *p = NULL;

	for (unsigned i = 0; !p && i < SWITCH_PORTS_MAX; i++)
		if (!sw->sw_ports[i].sp_used)
			p = &sw->sw_ports[i];
	if (!p)
		return -ENOSPC;
	*p = (struct switch_port){.sp_used = true, .sp_sw = sw, .sp_slot = (unsigned)(p - sw->sw_ports),
				  .sp_fn = fn, .sp_arg = arg,
				  .sp_gen = (++sw->sw_gen) & ((1u << (31 - SWITCH_SLOT_BITS)) - 1)};
	p->sp_qtimer = evtimer_new(sw->sw_cfg.base, switch_queue_due, p);
	p->sp_htimer = evtimer_new(sw->sw_cfg.base, switch_held_due, p);
	if (!p->sp_qtimer || !p->sp_htimer) {
		if (p->sp_qtimer)
			event_free(p->sp_qtimer);
		if (p->sp_htimer)
			event_free(p->sp_htimer);
		p->sp_used = false;
		return -ENOMEM;
	}
	sw->sw_stats.ports++;
	*port = switch_port_id(p);
	return 0;
}

void switch_port_remove(struct net_switch *sw, unsigned port)
{
	struct switch_port *p = switch_port_get(sw, port);

	if (!p)
		return;
	while (p->sp_qhead) {
		netpkt_free(switch_queue_pop(p));
		sw->sw_stats.dropped_noport++;
	}
	if (p->sp_held) {
		netpkt_free(p->sp_held);
		sw->sw_stats.dropped_noport++;
	}
	event_free(p->sp_qtimer);
	event_free(p->sp_htimer);
	switch_forget_port(sw, port);
	*p = (struct switch_port){.sp_gen = p->sp_gen};
	sw->sw_stats.ports--;
}

/* ---- the instance ---- */

int switch_create(const struct switch_config *cfg, struct net_switch **out)
{
	struct net_switch *sw;

	if (!cfg->base || cfg->queue_frames_max > SWITCH_QUEUE_FRAMES_LIMIT ||
	    (cfg->delay_us_max && cfg->delay_us_max < cfg->delay_us_min))
		return -EINVAL;
	sw = calloc(1, sizeof(*sw));
	if (!sw)
		return -ENOMEM;
	sw->sw_cfg = *cfg;
	struct switch_config *c = &sw->sw_cfg;
	if (!c->delay_us_max) {
		c->delay_us_min = c->delay_us_min ? c->delay_us_min : SWITCH_DELAY_US_MIN_DEFAULT;
		c->delay_us_max = c->delay_us_min > SWITCH_DELAY_US_MAX_DEFAULT ? c->delay_us_min
										 : SWITCH_DELAY_US_MAX_DEFAULT;
	}
	c->reorder_hold_us = c->reorder_hold_us ? c->reorder_hold_us : SWITCH_REORDER_HOLD_US_DEFAULT;
	c->queue_frames_max = c->queue_frames_max ? c->queue_frames_max : SWITCH_QUEUE_FRAMES_DEFAULT;
	switch_hash_rebuild(sw);
	*out = sw;
	return 0;
}

void switch_destroy(struct net_switch *sw)
{
	if (!sw)
		return;
	for (unsigned i = 0; i < SWITCH_PORTS_MAX; i++)
		if (sw->sw_ports[i].sp_used)
			switch_port_remove(sw, switch_port_id(&sw->sw_ports[i]));
	free(sw);
}

void switch_stats(const struct net_switch *sw, struct switch_stats *out)
{
	*out = sw->sw_stats;
	out->macs = sw->sw_nmacs;
}

void switch_check(const struct net_switch *sw)
{
	unsigned ports = 0, queued = 0;

	for (unsigned i = 0; i < SWITCH_PORTS_MAX; i++) {
		const struct switch_port *p = &sw->sw_ports[i];
		unsigned n = 0;
		if (!p->sp_used) {
			SWITCH_ASSERT(!p->sp_qhead && !p->sp_held, "free port slot %u holds frames", i);
			continue;
		}
		ports++;
		for (const struct netpkt *f = p->sp_qhead; f; f = f->np_next)
			n++;
		SWITCH_ASSERT(n == p->sp_qlen, "port %u: %u frames queued, count says %u", i, n, p->sp_qlen);
		SWITCH_ASSERT(n <= sw->sw_cfg.queue_frames_max, "port %u: %u frames over the bound %u", i, n,
			      sw->sw_cfg.queue_frames_max);
		queued += n;
	}
	SWITCH_ASSERT(ports == sw->sw_stats.ports, "%u ports in use, count says %u", ports, sw->sw_stats.ports);
	SWITCH_ASSERT(queued == sw->sw_stats.queued, "%u frames queued, count says %u", queued, sw->sw_stats.queued);
	SWITCH_ASSERT(sw->sw_nmacs <= SWITCH_MACS_MAX, "%u MACs over the bound", sw->sw_nmacs);
	for (unsigned i = 0; i < sw->sw_nmacs; i++) {
		SWITCH_ASSERT(switch_port_get((struct net_switch *)sw, sw->sw_macs[i].sm_port),
			      "MAC entry %u names port %#x, which is gone", i, sw->sw_macs[i].sm_port);
		SWITCH_ASSERT(switch_mac_find((struct net_switch *)sw, sw->sw_macs[i].sm_mac) == &sw->sw_macs[i],
			      "MAC entry %u is not found through the index (or is there twice)", i);
	}
}

/* ---- the netback link ---- */

static void switch_vif_deliver(void *arg, struct netpkt *pkt)
{
	netback_vif_input(arg, pkt);   /* drops are netback's to count */
}

static int switch_link_attach(void *link_arg, struct netback_vif *vif, void **port)
{
	unsigned id;
	int rc = switch_port_add(link_arg, switch_vif_deliver, vif, &id);

	if (rc == 0)
		*port = (void *)(uintptr_t)(id + 1u);
	return rc;
}

static void switch_link_detach(void *link_arg, void *port)
{
	switch_port_remove(link_arg, (unsigned)((uintptr_t)port - 1u));
}

static void switch_link_output(void *link_arg, void *port, struct netpkt *pkt)
{
	switch_input(link_arg, (unsigned)((uintptr_t)port - 1u), pkt);
}

const struct netback_link_ops switch_netback_link = {
	.attach = switch_link_attach,
	.detach = switch_link_detach,
	.output = switch_link_output,
};
