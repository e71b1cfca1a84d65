/*
 * What the network suites share: a world of dom0 (netback + the switch, on
 * dom0's thread) and guests (netfront + the verified workload, each on its
 * own thread), the toolstack role on the test's main thread (acting as dom0),
 * bounded waits for what domain threads report, and the leak check.
 *
 * Free mode: waits are condition variables with a deadline. Deterministic
 * mode: the same calls work, and nh_run() drives sim_run() until a predicate.
 */
#ifndef XENSIM_TESTS_NET_HARNESS_H
#define XENSIM_TESTS_NET_HARNESS_H

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <xenstore.h>

#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/network.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/switch/switch.h"
#include "sim/xenstore/xs_store.h"
#include "tests/leftovers.h"
#include "tests/test.h"

#define NH_UNUSED __attribute__((unused))
#define NH_WAIT_MS 90000u          /* bound on every wait for a domain thread */
#define NH_GUESTS_MAX 4u
#define NH_DEVID 0u

/* ---- signals from domain threads to the test thread ---- */

static pthread_mutex_t nh_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nh_cond = PTHREAD_COND_INITIALIZER;
static unsigned nh_bits;

/* NH_FAILED: the guest's netfront failed; NH_BACK_FAILED: netback disconnected
 * the guest's vif for a violation. Both are terminal for that pair: a wait
 * that names the guest ends at once (nh_wait). */
enum nh_sig { NH_CONNECTED, NH_FINISHED, NH_FAILED, NH_DISCONNECTED, NH_BACK_FAILED, NH_SIGS };

#define NH_FAILURE_MAX 320u
/* What the drivers said when they failed, by guest index (under nh_lock). */
static char nh_failure[NH_GUESTS_MAX][NH_FAILURE_MAX];
/* Scheduler steps (det mode) or wake-ups (free mode) the last nh_wait took. */
static __thread uint64_t nh_wait_spent;   /* per waiting thread */

_Static_assert(NH_GUESTS_MAX * NH_SIGS <= 24, "the guests' bits stay below the tests' own (1u << 24 up)");

static NH_UNUSED unsigned nh_bit(unsigned guest, enum nh_sig s)
{
	return 1u << (guest * NH_SIGS + s);
}

/* A driver of guest g reached its terminal state: the bit, and its words. */
static NH_UNUSED void nh_raise_failure(unsigned guest, enum nh_sig s, const char *who, const char *why)
{
	pthread_mutex_lock(&nh_lock);
	if (guest < NH_GUESTS_MAX && !nh_failure[guest][0])
		snprintf(nh_failure[guest], NH_FAILURE_MAX, "%s: %s", who, why ? why : "?");
	nh_bits |= guest < NH_GUESTS_MAX ? nh_bit(guest, s) : 0;
	pthread_cond_broadcast(&nh_cond);
	pthread_mutex_unlock(&nh_lock);
}

static NH_UNUSED void nh_raise(unsigned bits)
{
	pthread_mutex_lock(&nh_lock);
	nh_bits |= bits;
	pthread_cond_broadcast(&nh_cond);
	pthread_mutex_unlock(&nh_lock);
}

static NH_UNUSED bool nh_peek(unsigned bits)
{
	pthread_mutex_lock(&nh_lock);
	bool ok = (nh_bits & bits) == bits;
	pthread_mutex_unlock(&nh_lock);
	return ok;
}

/* The failure bits of every guest a wait for `bits` names, but those it
 * waits for: a test that provokes a failure waits for its bit. */
static NH_UNUSED unsigned nh_fail_mask(unsigned bits)
{
	unsigned fail = 0;

	for (unsigned g = 0; g < NH_GUESTS_MAX; g++) {
		unsigned all = 0;
		for (unsigned s = 0; s < NH_SIGS; s++)
			all |= nh_bit(g, (enum nh_sig)s);
		if (bits & all)
			fail |= nh_bit(g, NH_FAILED) | nh_bit(g, NH_BACK_FAILED);
	}
	return fail & ~bits;
}

struct nh_until {
	unsigned bits, fail;
};

static NH_UNUSED bool nh_until_bits(void *arg)
{
	const struct nh_until *u = arg;

	pthread_mutex_lock(&nh_lock);
	bool done = (nh_bits & u->bits) == u->bits || (nh_bits & u->fail);
	pthread_mutex_unlock(&nh_lock);
	return done;
}

static NH_UNUSED void nh_deadline(struct timespec *dl, unsigned ms)
{
	clock_gettime(CLOCK_REALTIME, dl);
	dl->tv_sec += ms / 1000;
	dl->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (dl->tv_nsec >= 1000000000L) {
		dl->tv_sec++;
		dl->tv_nsec -= 1000000000L;
	}
}

/* Say which driver ended the wait, with its words. */
static NH_UNUSED void nh_wait_failed(unsigned failed)
{
	for (unsigned g = 0; g < NH_GUESTS_MAX; g++)
		if (failed & (nh_bit(g, NH_FAILED) | nh_bit(g, NH_BACK_FAILED)))
			printf("  wait ended early: guest %u (dom%u): %s\n", g, g + 1, nh_failure[g]);
}

/* Wait for every bit, then clear them. Det mode: run the scheduler
 * meanwhile. Ends at once, false, when a driver of a guest the bits name
 * reached its terminal state (and the bits do not ask for that): the
 * driver's words are printed and stay in nh_failure[guest]. */
static NH_UNUSED bool nh_wait(unsigned bits, unsigned ms)
{
	struct nh_until u = {.bits = bits, .fail = nh_fail_mask(bits)};
	struct timespec dl;
	bool ok;

	nh_wait_spent = 0;
	if (sim_mode() == SIM_MODE_DET) {
		uint64_t steps = sim_sched_steps();
		sim_run(nh_until_bits, &u, sim_now_ns() + (uint64_t)ms * 1000000u, 0);
		nh_wait_spent = sim_sched_steps() - steps;
	} else {
		nh_deadline(&dl, ms);
		pthread_mutex_lock(&nh_lock);
		while ((nh_bits & bits) != bits && !(nh_bits & u.fail) && ++nh_wait_spent)
			if (pthread_cond_timedwait(&nh_cond, &nh_lock, &dl) == ETIMEDOUT)
				break;
		pthread_mutex_unlock(&nh_lock);
	}
	pthread_mutex_lock(&nh_lock);
	ok = (nh_bits & bits) == bits;
	unsigned failed = nh_bits & u.fail;
	nh_bits &= ~bits;
	if (!ok && failed)
		nh_wait_failed(failed);
	pthread_mutex_unlock(&nh_lock);
	return ok;
}

static NH_UNUSED void nh_clear(void)
{
	pthread_mutex_lock(&nh_lock);
	nh_bits = 0;
	memset(nh_failure, 0, sizeof(nh_failure));
	pthread_mutex_unlock(&nh_lock);
}

/* ---- feature sets ---- */

struct nh_features {
	const char *name;
	struct netback_config be;
	struct netfront_config fe;
	bool offload;
};

static const struct nh_features nh_all_on = {
	.name = "all features on",
	.be = {.queues_max = 4, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true, .ipv6_csum = true,
	       .split_evtchn = true, .tx_slots_max = 32, .tx_slots_fatal = 40},
	.fe = {.queues_max = 4, .sg = true, .gso_tcpv4 = true, .gso_tcpv6 = true, .csum = true, .ipv6_csum = true,
	       .split_evtchn = true, .rx_notify = true, .tx_slots_max = 32},
	.offload = true,
};

static const struct nh_features nh_all_off = {
	.name = "all features off",
	.be = {.queues_max = 1},
	.fe = {.queues_max = 1, .csum = false, .rx_notify = false},
	.offload = false,
};

/* ---- the world: dom0 + guests, homes in xenstore ---- */

static struct xs_handle *nh_xs;   /* the toolstack's connection (as dom0) */
/* The vifs, by frontend domain, while attached to the switch (dom0's thread). */
static struct netback_vif *nh_vifs[NH_GUESTS_MAX + 1];
static void *nh_ports[NH_GUESTS_MAX + 1];
static unsigned nh_nodes_base;

static NH_UNUSED void nh_home(domid_t d)
{
	char path[64];
	struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	CU_ASSERT_FATAL(xs_mkdir(nh_xs, XBT_NULL, path));
	CU_ASSERT_FATAL(xs_set_permissions(nh_xs, XBT_NULL, path, &p, 1));
}

/* cfg: the scheduler's mode (NULL: free running). */
static NH_UNUSED void nh_world_up_mode(unsigned guests, const struct sim_sched_config *cfg)
{
	sim_reset();
	nh_clear();
	memset(nh_vifs, 0, sizeof(nh_vifs));
	memset(nh_ports, 0, sizeof(nh_ports));
	if (cfg)
		CU_ASSERT_EQUAL_FATAL(sim_sched_configure(cfg), 0);
	CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
				      .name = "dom0", .domid = 0, .privileged = true, .mem_bytes = 256u << 20}), 0);
	for (unsigned g = 1; g <= guests; g++) {
		char name[16];
		snprintf(name, sizeof(name), "guest%u", g);
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&(struct sim_domain_config){
					      .name = name, .domid = (int)g, .mem_bytes = 128u << 20}), (int)g);
	}
	xs_store_reset();
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(0), 0);
	nh_xs = xs_open(0);
	CU_ASSERT_PTR_NOT_NULL_FATAL(nh_xs);
	for (unsigned d = 0; d <= guests; d++)
		nh_home((domid_t)d);
	nh_nodes_base = xs_store_nodes_total();
}

static NH_UNUSED void nh_world_up(unsigned guests)
{
	nh_world_up_mode(guests, NULL);
}

static NH_UNUSED void nh_world_down(void)
{
	if (nh_xs)
		xs_close(nh_xs);
	nh_xs = NULL;
	sim_thread_leave();
	sim_fault_site_disarm_all();
	sim_reset();
}

/* Nothing of the drivers left: grants, maps, ports, handles, nodes. */
static NH_UNUSED void nh_check_clean(unsigned guests)
{
	expect_nothing_left((domid_t)guests, nh_nodes_base);
}

static NH_UNUSED bool nh_key_is(const char *dir, const char *key, const char *want)
{
	char path[256];
	unsigned len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	char *v = xs_read(nh_xs, XBT_NULL, path, &len);
	bool ok = want ? v && strcmp(v, want) == 0 : v == NULL;
	if (!ok)
		printf("  %s is '%s', expected '%s'\n", path, v ? v : "(absent)", want ? want : "(absent)");
	free(v);
	return ok;
}

/* ---- the toolstack: a vif per guest, mac by the workload's convention ---- */

struct nh_vif {
	struct xenbus_device dev;
	const char *fe_keys[8], *be_keys[8];
	char mac[24], handle[12];
};

static NH_UNUSED void nh_vif_create(struct nh_vif *v, domid_t fe, unsigned index)
{
	uint8_t m[6];

	network_addr(index, m, NULL, NULL);
	snprintf(v->mac, sizeof(v->mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
	snprintf(v->handle, sizeof(v->handle), "%u", NH_DEVID);
	const char *fe_keys[] = {"mac", v->mac, "handle", v->handle, NULL};
	const char *be_keys[] = {"mac", v->mac, "handle", v->handle, "type", "vif", NULL};
	memcpy(v->fe_keys, fe_keys, sizeof(fe_keys));
	memcpy(v->be_keys, be_keys, sizeof(be_keys));
	v->dev = (struct xenbus_device){.type = "vif", .fe_domid = fe, .be_domid = 0, .devid = NH_DEVID,
					.fe_keys = v->fe_keys, .be_keys = v->be_keys};
	CU_ASSERT_EQUAL_FATAL(xenbus_device_create(nh_xs, &v->dev), 0);
}

static NH_UNUSED void nh_vif_remove(struct nh_vif *v)
{
	CU_ASSERT_EQUAL(xenbus_device_remove(nh_xs, &v->dev), 0);
}

/* ---- dom0: the switch and netback ---- */

/* The switch's link, with the vifs remembered by frontend domain (while
 * attached) for tests that act on a vif (carrier). Runs on dom0's thread. */

static NH_UNUSED int nh_link_attach(void *link_arg, struct netback_vif *vif, void **port)
{
	struct netback_vif_info in;
	int rc = switch_netback_link.attach(link_arg, vif, port);

	netback_vif_info(vif, &in);
	if (rc == 0 && in.fe_domid <= NH_GUESTS_MAX) {
		nh_vifs[in.fe_domid] = vif;
		nh_ports[in.fe_domid] = *port;
	}
	return rc;
}

static NH_UNUSED void nh_link_detach(void *link_arg, void *port)
{
	for (unsigned i = 0; i <= NH_GUESTS_MAX; i++)
		if (nh_ports[i] == port) {
			nh_vifs[i] = NULL;
			nh_ports[i] = NULL;
		}
	switch_netback_link.detach(link_arg, port);
}

static NH_UNUSED void nh_link_output(void *link_arg, void *port, struct netpkt *pkt)
{
	switch_netback_link.output(link_arg, port, pkt);
}

static const struct netback_link_ops nh_link = {
	.attach = nh_link_attach,
	.detach = nh_link_detach,
	.output = nh_link_output,
};

struct nh_backend {
	struct netback_config cfg;
	struct switch_config sw_cfg;
	struct netback *nb;
	struct net_switch *sw;
	struct netback_stats stats, stats_prev;   /* prev: of a stopped instance */
	struct switch_stats sw_stats;
	int rc;
};

/* netback judged a guest's frontend broken: terminal for that pair. */
static NH_UNUSED void nh_netback_fatal(void *arg, const struct netback_vif_info *vif, const char *why)
{
	char who[64];

	(void)arg;
	snprintf(who, sizeof(who), "netback disconnected vif %u of dom%u", vif->devid, vif->fe_domid);
	if (vif->fe_domid >= 1)
		nh_raise_failure(vif->fe_domid - 1u, NH_BACK_FAILED, who, why);
}

static NH_UNUSED int nh_netback_start_fn(void *arg)
{
	struct nh_backend *b = arg;

	b->cfg.base = sim_domain_event_base();
	b->cfg.link = &nh_link;
	b->cfg.link_arg = b->sw;
	b->cfg.on_fatal = nh_netback_fatal;
	return netback_start(&b->cfg, &b->nb);
}

static NH_UNUSED void nh_netback_stop_fn(void *arg)
{
	struct nh_backend *b = arg;

	if (b->nb) {
		netback_stats(b->nb, &b->stats);
		netback_stop(b->nb);
	}
	b->nb = NULL;
}

static NH_UNUSED int nh_backend_start_fn(void *arg)
{
	struct nh_backend *b = arg;
	int rc;

	b->sw_cfg.base = sim_domain_event_base();
	rc = switch_create(&b->sw_cfg, &b->sw);
	return rc ? rc : nh_netback_start_fn(b);
}

static NH_UNUSED int nh_backend_stop_fn(void *arg)
{
	struct nh_backend *b = arg;

	nh_netback_stop_fn(b);
	if (b->sw) {
		switch_check(b->sw);
		switch_stats(b->sw, &b->sw_stats);
		switch_destroy(b->sw);
	}
	b->sw = NULL;
	return 0;
}

static NH_UNUSED int nh_backend_peek_fn(void *arg)
{
	struct nh_backend *b = arg;

	if (b->nb)
		netback_stats(b->nb, &b->stats);
	if (b->sw) {
		switch_check(b->sw);
		switch_stats(b->sw, &b->sw_stats);
	}
	return 0;
}

static NH_UNUSED void nh_backend_start(struct nh_backend *b)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(0, nh_backend_start_fn, b), 0);
}

static NH_UNUSED void nh_backend_stop(struct nh_backend *b)
{
	sim_domain_call(0, nh_backend_stop_fn, b);
}

static NH_UNUSED void nh_backend_peek(struct nh_backend *b)
{
	sim_domain_call(0, nh_backend_peek_fn, b);
}

/* ---- a guest: netfront and the workload on its thread ---- */

struct nh_guest {
	domid_t domid;
	unsigned index;                 /* in the workload: domid - 1 */
	struct netfront_config cfg;
	struct netfront *nf;
	struct network *work;
	struct network_config wcfg;
	struct network_result res;
	struct netfront_stats stats;
	struct netfront_info info;
	char error[256];
	int error_code;   /* netfront_error_code() */
	unsigned connects, disconnects;
	void (*on_rx)(struct nh_guest *g, const struct netfront_rx *rx);   /* test hooks, or NULL */
	void (*on_event)(struct nh_guest *g, enum netfront_event ev);
	void *user;
};

static NH_UNUSED void nh_guest_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct nh_guest *g = arg;

	(void)nf;
	if (g->on_rx)
		g->on_rx(g, rx);
	if (g->work)
		network_rx(g->work, rx);
}

static NH_UNUSED void nh_guest_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct nh_guest *g = arg;

	if (ev == NETFRONT_EV_CONNECTED) {
		g->connects++;
		nh_raise(nh_bit(g->index, NH_CONNECTED));
	} else if (ev == NETFRONT_EV_DISCONNECTED) {
		g->disconnects++;
		nh_raise(nh_bit(g->index, NH_DISCONNECTED));
	} else if (ev == NETFRONT_EV_FAILED) {
		nh_raise_failure(g->index, NH_FAILED, "netfront failed", netfront_error(nf));
	}
	if (g->on_event)
		g->on_event(g, ev);
	if (g->work)
		network_event(g->work, ev);
}

static NH_UNUSED int nh_guest_open_fn(void *arg)
{
	struct nh_guest *g = arg;

	g->cfg.base = sim_domain_event_base();
	g->cfg.devid = NH_DEVID;
	g->cfg.on_rx = nh_guest_rx;
	g->cfg.on_event = nh_guest_event;
	g->cfg.arg = g;
	return netfront_open(&g->cfg, &g->nf);
}

static NH_UNUSED void nh_work_finished(void *arg)
{
	struct nh_guest *g = arg;

	network_result(g->work, &g->res);
	nh_raise(nh_bit(g->index, NH_FINISHED));
}

static NH_UNUSED int nh_guest_work_fn(void *arg)
{
	struct nh_guest *g = arg;

	g->wcfg.base = sim_domain_event_base();
	g->wcfg.index = g->index;
	g->wcfg.finished = nh_work_finished;
	g->wcfg.arg = g;
	return network_start(g->nf, &g->wcfg, &g->work);
}

static NH_UNUSED int nh_guest_peek_fn(void *arg)
{
	struct nh_guest *g = arg;

	if (!g->nf)
		return -ENODEV;
	netfront_stats(g->nf, &g->stats);
	const char *e = netfront_error(g->nf);
	snprintf(g->error, sizeof(g->error), "%s", e ? e : "");
	g->error_code = netfront_error_code(g->nf);
	if (g->work)
		network_result(g->work, &g->res);
	return netfront_info(g->nf, &g->info);
}

static NH_UNUSED int nh_guest_close_fn(void *arg)
{
	struct nh_guest *g = arg;

	if (g->nf)
		nh_guest_peek_fn(g);
	network_free(g->work);
	g->work = NULL;
	netfront_close(g->nf);
	g->nf = NULL;
	return 0;
}

/* One minimal raw frame from guest g to guest index `to`. */
struct nh_send_one {
	struct nh_guest *g;
	unsigned to;
};

static NH_UNUSED int nh_send_one_to_fn(void *arg)
{
	struct nh_send_one *s = arg;
	uint8_t frame[60] = {0};
	struct iovec iov = {.iov_base = frame, .iov_len = sizeof(frame)};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};

	network_addr(s->to, frame, NULL, NULL);
	network_addr(s->g->index, frame + 6, NULL, NULL);
	frame[12] = 0x88, frame[13] = 0xB5;   /* local experimental ethertype */
	return netfront_send(s->g->nf, &tx);
}

static NH_UNUSED void nh_guest_init(struct nh_guest *g, domid_t domid, const struct nh_features *f)
{
	memset(g, 0, sizeof(*g));
	g->domid = domid;
	g->index = domid - 1u;
	g->cfg = f->fe;
}

/* Set a running guest's test hooks, on its own thread. */
struct nh_hooks {
	struct nh_guest *g;
	void (*on_rx)(struct nh_guest *g, const struct netfront_rx *rx);
	void (*on_event)(struct nh_guest *g, enum netfront_event ev);
	void *user;
};

static NH_UNUSED int nh_hooks_fn(void *arg)
{
	struct nh_hooks *h = arg;

	h->g->on_rx = h->on_rx;
	h->g->on_event = h->on_event;
	h->g->user = h->user;
	return 0;
}

static NH_UNUSED void nh_guest_hooks(struct nh_guest *g, void (*on_rx)(struct nh_guest *, const struct netfront_rx *),
				     void (*on_event)(struct nh_guest *, enum netfront_event), void *user)
{
	struct nh_hooks h = {.g = g, .on_rx = on_rx, .on_event = on_event, .user = user};

	sim_domain_call(g->domid, nh_hooks_fn, &h);
}

static NH_UNUSED void nh_guest_open(struct nh_guest *g)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(g->domid, nh_guest_open_fn, g), 0);
}

static NH_UNUSED void nh_guest_work(struct nh_guest *g)
{
	CU_ASSERT_EQUAL_FATAL(sim_domain_call(g->domid, nh_guest_work_fn, g), 0);
}

static NH_UNUSED void nh_guest_release_fn(void *arg)
{
	network_release(((struct nh_guest *)arg)->work);
}

static NH_UNUSED int nh_guest_peek(struct nh_guest *g)
{
	return sim_domain_call(g->domid, nh_guest_peek_fn, g);
}

static NH_UNUSED void nh_guest_close(struct nh_guest *g)
{
	sim_domain_call(g->domid, nh_guest_close_fn, g);
}

/* ---- a whole network: backend, n guests with a vif each ---- */

struct nh_net {
	unsigned n;
	struct nh_backend b;
	struct nh_vif vifs[NH_GUESTS_MAX];
	struct nh_guest g[NH_GUESTS_MAX];
};

static NH_UNUSED void nh_net_up(struct nh_net *net, unsigned n, const struct nh_features *f)
{
	unsigned want = 0;

	memset(net, 0, sizeof(*net));
	net->n = n;
	net->b.cfg = f->be;
	nh_backend_start(&net->b);
	for (unsigned i = 0; i < n; i++) {
		nh_vif_create(&net->vifs[i], (domid_t)(i + 1), i);
		nh_guest_init(&net->g[i], (domid_t)(i + 1), f);
		nh_guest_open(&net->g[i]);
		want |= nh_bit(i, NH_CONNECTED);
	}
	CU_ASSERT_TRUE_FATAL(nh_wait(want, NH_WAIT_MS));
}

/* Start the workload on every guest; the bits that say each finished. */
static NH_UNUSED unsigned nh_net_work_start(struct nh_net *net, const struct network_config *w)
{
	unsigned want = 0;

	for (unsigned i = 0; i < net->n; i++) {
		net->g[i].wcfg = *w;
		net->g[i].wcfg.peers = net->n;
		net->g[i].wcfg.held = true;   /* nobody sends before everyone listens */
		nh_guest_work(&net->g[i]);
		want |= nh_bit(i, NH_FINISHED);
	}
	for (unsigned i = 0; i < net->n; i++)
		sim_domain_post(net->g[i].domid, nh_guest_release_fn, &net->g[i]);
	return want;
}

/* ... and wait until each finished sending. */
static NH_UNUSED bool nh_net_work(struct nh_net *net, const struct network_config *w)
{
	return nh_wait(nh_net_work_start(net, w), NH_WAIT_MS);
}

static NH_UNUSED unsigned nh_all(const struct nh_net *net, enum nh_sig s)
{
	unsigned bits = 0;

	for (unsigned i = 0; i < net->n; i++)
		bits |= nh_bit(i, s);
	return bits;
}

static NH_UNUSED void nh_net_down(struct nh_net *net)
{
	for (unsigned i = 0; i < net->n; i++)
		nh_guest_close(&net->g[i]);
	nh_backend_stop(&net->b);
	for (unsigned i = 0; i < net->n; i++)
		nh_vif_remove(&net->vifs[i]);
	nh_check_clean(net->n);
}

/* Sums over the guests' workload results. */
struct nh_totals {
	struct network_result r;   /* summed over the guests (acks_received depends on timing) */
	uint64_t tx_errors, rx_errors, tx_lost, tx_packed;   /* netfront's */
};

/* Free-running, a ping may time out on a loaded machine and its echo come
 * later: lost is what never came back. */
static NH_UNUSED uint64_t nh_pings_lost(const struct nh_totals *t)
{
	return t->r.ping_timeouts > t->r.pings_late ? t->r.ping_timeouts - t->r.pings_late : 0;
}

static NH_UNUSED void nh_totals(struct nh_net *net, struct nh_totals *t)
{
	*t = (struct nh_totals){.r.finished = true};
	for (unsigned i = 0; i < net->n; i++) {
		const struct network_result *r = &net->g[i].res;
		const struct netfront_stats *s = &net->g[i].stats;
		network_result_add(&t->r, r);
		t->tx_errors += s->tx_errors;
		t->rx_errors += s->rx_errors;
		t->tx_lost += s->tx_lost;
		t->tx_packed += s->tx_packed;
		if (r->failure[0])
			printf("  guest %u: %s\n", i, r->failure);
	}
}

/* ---- waiting on the store from the test thread (the hostile suites) ---- */

#define NH_POLL_MS 10u

static NH_UNUSED void nh_sleep_ms(unsigned ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* Wait (bounded) until path holds want. */
static NH_UNUSED bool nh_wait_key(const char *path, const char *want, unsigned ms)
{
	for (unsigned t = 0; t <= ms; t += NH_POLL_MS) {
		unsigned len;
		char *v = xs_read(nh_xs, XBT_NULL, path, &len);
		bool ok = v && strcmp(v, want) == 0;
		free(v);
		if (ok)
			return true;
		nh_sleep_ms(NH_POLL_MS);
	}
	return false;
}

/* A suite's clean-up. */
static NH_UNUSED int nh_fini(void)
{
	nh_world_down();
	return 0;
}

#endif
