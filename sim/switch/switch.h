/*
 * sim/switch: an L2 learning switch joining the vifs of several guests
 * (through netback's link interface) and test ports, on one libevent loop:
 * the loop of the domain that runs the backends.
 *
 * Learning: a frame's source MAC is remembered on its input port; a unicast
 * frame to a known MAC goes out of that port only (never back out of its
 * input port), anything else is flooded to every other port.
 *
 * Faults (sim fault sites, armed like any other; each output copy of a frame
 * is one occurrence):
 *   switch.loss     the copy is dropped
 *   switch.dup      the copy is delivered twice
 *   switch.reorder  the copy is held back and delivered after the next frame
 *                   to the same port (or after reorder_hold_us)
 *   switch.delay    the copy waits delay_us_min..max before delivery; later
 *                   frames to that port queue behind it (latency, FIFO)
 * Delays are libevent timers, which follow virtual time in deterministic
 * mode; delay lengths come from the sim's seeded PRNG. Same seed, same run.
 *
 * All functions run on cfg->base's thread. 0 or a negative errno.
 */
#ifndef SIM_SWITCH_H
#define SIM_SWITCH_H

#include <stdbool.h>
#include <stdint.h>

#include "drivers/net/netback.h"
#include "drivers/net/netpkt.h"

struct event_base;
struct net_switch;

/* ---- limits ---- */
#define SWITCH_PORTS_MAX 64u
#define SWITCH_MACS_MAX 1024u
#define SWITCH_QUEUE_FRAMES_DEFAULT 4096u     /* per port, frames held by delays */
#define SWITCH_QUEUE_FRAMES_LIMIT 65536u
#define SWITCH_DELAY_US_MIN_DEFAULT 100u
#define SWITCH_DELAY_US_MAX_DEFAULT 5000u
#define SWITCH_REORDER_HOLD_US_DEFAULT 2000u

struct switch_config {
	struct event_base *base;         /* required */
	unsigned delay_us_min, delay_us_max;   /* switch.delay; 0: defaults */
	unsigned reorder_hold_us;        /* switch.reorder; 0: default */
	unsigned queue_frames_max;       /* per port; 0: default */
};

struct switch_stats {
	uint64_t frames_in, frames_out;
	uint64_t flooded;                /* input frames sent to every other port */
	uint64_t dropped_loss;           /* switch.loss */
	uint64_t dropped_queue;          /* a port's delay queue was full */
	uint64_t dropped_noport;         /* the port went away with frames waiting */
	uint64_t dropped_runt, dropped_hairpin, dropped_nomem;
	uint64_t duplicated, reordered, delayed;
	unsigned ports, macs, queued;
};

/* Hand a frame to a port's owner; ownership passes. */
typedef void switch_deliver_fn(void *arg, struct netpkt *pkt);

int switch_create(const struct switch_config *cfg, struct net_switch **out);
/* Frames waiting are dropped. Every port should be gone first (vifs detach
 * when their netback stops). NULL is ignored. */
void switch_destroy(struct net_switch *sw);

/* A port; *port names it until switch_port_remove (ids are not reused soon).
 * -ENOSPC past SWITCH_PORTS_MAX. */
int switch_port_add(struct net_switch *sw, switch_deliver_fn *fn, void *arg, unsigned *port);
/* Its MACs are forgotten, frames waiting for it dropped (counted). */
void switch_port_remove(struct net_switch *sw, unsigned port);
/* A frame entering at port; ownership passes. */
void switch_input(struct net_switch *sw, unsigned port, struct netpkt *pkt);

void switch_stats(const struct net_switch *sw, struct switch_stats *out);
/* Verify the whole state (queue counts, MAC table, ports); aborts on a broken
 * invariant with a message naming the port. */
void switch_check(const struct net_switch *sw);

/* The netback link that puts every vif on a switch: give it as
 * netback_config.link with link_arg = the switch. */
extern const struct netback_link_ops switch_netback_link;

#endif
