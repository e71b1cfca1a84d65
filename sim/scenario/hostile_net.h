/*
 * sim/scenario: hostile peers of the network drivers, harness code written
 * from io/netif.h with Xen's API only (xengntshr, xengnttab, xenevtchn,
 * xs_*). Private to the scenario workloads (wl_net.c, hostile_net_back.c).
 *
 * The hostile frontend (hostile_net_front.c) talks to the real netback from a
 * guest domain. It sends well-formed packets and, where its fault sites fire
 * (net.hostile.front.*), lies in one field class of a packet. For every
 * packet it works out, from the requests as it wrote them, what a correct
 * backend may do (pass it on byte for byte, answer it NETIF_RSP_ERROR, or
 * disconnect), and checks what netback did: every response (ring order, ids,
 * statuses), every frame netback passed on (hostile_front_output, on the
 * backend's thread), every disconnection (only for a packet that called for
 * it), and at every reconnection that netback holds nothing of the old
 * connection (no grant of ours mapped, no port bound to us).
 */
#ifndef SIM_SCENARIO_HOSTILE_NET_H
#define SIM_SCENARIO_HOSTILE_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "sim/scenario/workload.h"

struct hostile_front;

struct hostile_front_config {
	struct scn_wl *wl;
	domid_t domid, back;          /* this guest, the backend's domain */
	unsigned devid;               /* device/vif/<devid> */
	uint64_t seed;
	uint32_t packets;             /* to send (1..HOSTILE_FRONT_PACKETS_MAX) */
	uint8_t mac[6];
	/* The backend's documented bounds on a packet's data slots, if known
	 * (0: only netif.h's, beyond which it may drop, disconnect or take):
	 * more than slots_max are dropped, more than slots_fatal disconnect. */
	unsigned slots_max, slots_fatal;
	void (*done)(void *arg);      /* every packet answered; the guest's thread, once */
	void *arg;
};

#define HOSTILE_FRONT_PACKETS_MAX 100000u

struct hostile_front_stats {
	uint64_t sent, answered, okay, errors, lies, disconnects, connects;
	uint64_t output, rx_frames, rx_errors, rewrites;
};

/* On the guest's thread: the handshake starts at once. 0 or -errno. */
int hostile_front_open(const struct hostile_front_config *cfg, struct hostile_front **out);
/* On the guest's thread (alive): state Closed, grants and ports released. */
void hostile_front_close(struct hostile_front *h);
/* The toolstack sets the vif offline (a suspend): the disconnection that
 * follows is not netback's doing (any thread); and online again (the
 * guest's thread, once netback said Closed). */
void hostile_front_toolstack_down(struct hostile_front *h);
void hostile_front_toolstack_up(struct hostile_front *h);
/* Any thread, before the workload stops netback: what netback does from now
 * on (closing the vif) is teardown, not judged. */
void hostile_front_quiesce(struct hostile_front *h);
/* After the guest died: the memory only (its handles went with it). */
void hostile_front_forget(struct hostile_front *h);

/* On the backend's thread: netback passed on a frame from this frontend's
 * vif. 0 if a correct backend could have (the frame is one the frontend
 * sent, as it described it); -EPROTO with why otherwise. */
int hostile_front_output(struct hostile_front *h, const uint8_t *data, uint32_t len, char *why, size_t why_len);

/* Any thread. */
void hostile_front_stats(const struct hostile_front *h, struct hostile_front_stats *out);
bool hostile_front_done(const struct hostile_front *h);
/* Disconnections netback made that a packet called for. */
uint64_t hostile_front_fatal_expected(const struct hostile_front *h);
/* At the end: what only the whole run shows (a packet answered OKAY that
 * netback never passed on, beyond no_link such frames). NULL if fine. */
const char *hostile_front_verdict(struct hostile_front *h, uint64_t no_link, char *buf, size_t len);

#endif
