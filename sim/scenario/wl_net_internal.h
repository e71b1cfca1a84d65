/*
 * The net workload (wl_net.c) and its toolstack actions (wl_net_act.c):
 * private to the two.
 */
#ifndef SIM_SCENARIO_WL_NET_INTERNAL_H
#define SIM_SCENARIO_WL_NET_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/scenario/hostile_net.h"
#include "sim/scenario/toolstack.h"
#include "sim/scenario/workload.h"
#include "sim/switch/switch.h"

#define NW_GUESTS_MAX 8u
#define NW_JUDGE_DEFERS_MAX 64u        /* netback steps the verdict waits for its rx queue to drain */
#define NW_JUDGE_STALL_WAITS_MAX 4u    /* waits of NW_JUDGE_STALL_WAIT_MS for a stalled queue's next look */
#define NW_JUDGE_STALL_WAIT_MS 20u     /* well over netback's rx poll period (a few ms) */
#define NW_DEVID 0u
#define NW_ACT_POLLS_MAX 200000u        /* checks waiting for netback to close a vif */
#define NW_BUFS_DEFAULT 256u            /* netfront tx_bufs / rx_bufs 0: a ring's worth */

enum nw_act_step { NW_ACT_NONE, NW_ACT_WAIT_CLOSED };
/* As a toolstack serialises operations on a device, one asked for while
 * another is under way waits for it (an unplug outranks a suspend). */
enum nw_act_next { NW_NEXT_NONE, NW_NEXT_SUSPEND, NW_NEXT_UNPLUG };

/* What the toolstack does: create the vifs, re-create the backend's halves
 * after a restart of its domain (the guests' halves live on), remove them. */
enum nw_ts { NW_TS_CREATE, NW_TS_BACKEND, NW_TS_REMOVE };

struct nw;

struct nw_guest {
	struct nw *w;
	domid_t domid;
	unsigned index;
	bool alive;
	struct xenbus_device dev;
	const char *fe_keys[5], *be_keys[7];
	char mac[24], handle[12];
	struct netfront_config cfg;
	struct netfront *nf;
	struct network_config wcfg;
	struct network *work;
	bool started;
	/* Published on the guest's thread, read anywhere. */
	_Atomic uint64_t verified, sent, corrupt, duplicates, out_of_order, gaps, pings_ok;
	_Atomic unsigned connects;
	/* Its vif in netback and the switch (backend thread), and the frames
	 * netback had answered into its rx rings when it last let go of them. */
	struct netback_vif *be_vif;
	void *be_port;
	_Atomic uint64_t be_rx_frames;
	/* reload=: frames received, the reload's event (guest thread); once
	 * reloaded, its netfront's counts start again (atomic: judged anywhere). */
	uint64_t rx_seen;
	struct event *reload_ev;
	atomic_bool reloaded;
	/* The result when this guest finished sending (under nw.lock). */
	struct network_result fin;
	struct netfront_stats fin_stats;
	unsigned fin_queues;                /* its vif's queues, when it finished */
	/* Toolstack actions (wl_net_act.c): a disconnection
	 * we asked for is expected; any other one is netback's doing. */
	atomic_bool expect_down, kicked, unplugged;
	unsigned deaths_at_down;      /* w->be_deaths at its last DISCONNECTED (its thread) */
	unsigned fakes_at_up;         /* the file's writes of its frontend state at CONNECTED */
	/* An action under way: a CONNECTED now is the old connection's, about
	 * to go (until the guest saw it go: down_ends_act, guest thread). */
	atomic_bool acting;
	bool down_ends_act;
	/* Unplugged once: its peers forgot it for good (w->gone), and it sends
	 * nothing if plugged back. */
	atomic_bool gone;
	bool arrived;                       /* at the start barrier (under nw.lock) */
	unsigned forgotten;                 /* peers' bits network_peer_gone() had (guest thread) */
	int act;                            /* enum nw_act_step, harness thread */
	bool act_unplug;
	int act_next;                       /* enum nw_act_next: asked for during an action */
	unsigned act_polls;
	struct scn_destroy *destroy;        /* an unplug's, under way */
	bool act_paused;                    /* the backend was paused during it */
	/* network's -EAGAIN count at the last TX_READY (or connection change):
	 * any -EAGAIN after it is owed a TX_READY (netfront.h). Guest thread. */
	uint64_t again_at_ready;
};

struct nw {
	struct scn_wl *wl;
	domid_t be;
	bool be_alive;
	atomic_uint be_deaths;        /* the backend domain crashed or destroyed */
	unsigned n;
	struct nw_guest g[NW_GUESTS_MAX];
	struct netback_config bcfg;
	struct switch_config scfg;
	struct netback *nb;
	struct net_switch *sw;
	pthread_mutex_t lock;
	_Atomic unsigned finished;
	/* The start barrier: every guest started its workload or was
	 * unplugged before it could; then the started ones send. */
	unsigned arrived;                   /* under lock */
	bool released;                      /* under lock */
	_Atomic unsigned gone;              /* bit i: guest i unplugged, its peers forget it */
	atomic_bool judged;
	unsigned judge_defers;           /* steps the verdict gave netback to drain (backend thread) */
	unsigned judge_stall_waits;      /* and waits for a stalled queue to be looked at again */
	_Atomic uint64_t drops;     /* published by the backend's thread */
	/* What a crash of the backend domain may have lost, uncounted: the
	 * drops its switch and netback had counted, and the frames in flight
	 * then (sent by the guests as each said soon after, less what had been
	 * received at the crash). */
	_Atomic uint64_t live_drops;    /* the running backend's own count */
	_Atomic uint64_t dead_drops, crash_sent, crash_verified;
	_Atomic uint64_t fatal, no_link, slots_peak, rxq_peak;
	_Atomic uint64_t suspends, unplugs;
	_Atomic uint64_t reload_allowance;  /* frames a reload's closed rings may have held */
	uint64_t faults_at_start;           /* sim_fault_count() when the workload started */
	/* The hostile frontend (hostile=), beside the guests on the same netback:
	 * its vif is not on the switch; what netback passes on from it is
	 * checked and reflected back into it. */
	bool has_hostile, h_alive;
	struct nw_guest hg;                 /* its device; hg.domid */
	struct hostile_front *hf;
	struct netback_vif *hvif;           /* backend's thread */
	_Atomic uint64_t reflected, refl_dropped;
	_Atomic uint64_t refl_unlinked;     /* dropped here, its vif detached: not netback's count */
	atomic_bool h_done;
	/* Duplicates and reorderings the switches of crashed backends made. */
	_Atomic uint64_t live_dups, live_reorders, dead_dups, dead_reorders;
};

/* wl_net.c */
int nw_toolstack(struct nw *w, enum nw_ts what, struct nw_guest *only);
int nw_guest_open(void *arg);             /* on the guest's thread */
int nw_guest_close(void *arg);            /* on the guest's thread */
void nw_guest_forget_peers(void *arg);    /* on the guest's thread */
void nw_barrier_arrive(struct nw *w, struct nw_guest *g);
void nw_judge_soon(struct nw *w);

/* wl_net_judge.c: oracles; NULL, or what is wrong (in buf, or a constant) */
const char *nw_judge_idle_maps(struct nw *w, char *buf, size_t len);
const char *nw_judge_idle_rxq(struct nw *w, uint64_t queued, char *buf, size_t len);
bool nw_undisturbed(struct nw *w);
bool nw_calm(struct nw *w);
bool nw_guest_paused(struct nw *w);
/* A guest's sends refused -EAGAIN: noted at each TX_READY (and connection
 * change), judged when its netfront closes. */
void nw_guest_tx_ready_mark(struct nw_guest *g, enum netfront_event ev);
void nw_guest_tx_ready_check(struct nw_guest *g);
const char *nw_judge_stalls(struct nw *w, uint64_t stalls, char *buf, size_t len);
const char *nw_judge_unstalls(struct nw *w, uint64_t stalls, uint64_t unstalls, char *buf, size_t len);
#define NW_PAGE_BYTES 4096u               /* a tx slot's page */
const char *nw_probe_tx_limits(struct netfront *nf, char *buf, size_t len);
const char *nw_rx_offload_bad(const struct nw_guest *g, const struct netfront_rx *rx);
void nw_features_fewer(struct netback_config *b);
void nw_link_attached(struct nw *w, struct netback_vif *vif, void *port);
void nw_link_detached(struct nw *w, void *port);
const char *nw_judge_rx_taken(struct nw_guest *g, char *buf, size_t len);

/* wl_net_reload.c: reload= (guest thread) */
void nw_reload_maybe(struct nw_guest *g, uint64_t after);
void nw_reload_free(struct nw_guest *g);
const char *nw_judge_negotiated(const struct nw_guest *g, struct netfront *nf, char *buf, size_t len);

/* wl_net_act.c: the hooks, and check()'s part (harness thread) */
int nw_unplug(struct scn_wl *wl);
int nw_plug(struct scn_wl *wl);
int nw_suspend(struct scn_wl *wl, domid_t guest, domid_t new_back);
void nw_act_poll(struct nw *w, struct nw_guest *g);
void nw_act_backend_gone(struct nw *w);
void nw_act_backend_back(struct nw *w);
void nw_be_path(const struct nw *w, const struct nw_guest *g, const char *key, char *out, size_t len);

#endif
