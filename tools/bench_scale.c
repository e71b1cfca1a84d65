/*
 * `xensim bench scale`: N guests in one process (free mode), each with a vbd
 * (blkfront/blkback on a small ram disk) and a vif (netfront/netback), the
 * devices created through xenstore by the toolstack code the drivers share
 * (drivers/xenbus), exactly as the other benches and tests do it.
 *
 * Layout of a world: dom0 is the toolstack (this thread acts for it), driver
 * domains drv1..drvK each run one blkback and one netback for up to
 * SCALE_GUESTS_PER_BACKEND guests (a driver domain owns the backend
 * directories, about 35 nodes per vbd+vif, within xenstored's default quota
 * of 1000 nodes per domain; and a backend watches each frontend, within the
 * quota of 128 watches per connection), guests guest1..guestN run blkfront
 * and netfront. The netbacks' link reflects every frame back to the vif it
 * came from, so each guest proves its vif with one frame of its own.
 *
 * Metrics per N: scale.N.connect, seconds from the first device node written
 * until every frontend reported Connected (a frontend goes Connected only
 * after its backend did, so both ends are), then each device does one
 * verified I/O (a 4 KiB read of a pattern the toolstack wrote on the disk,
 * one 64-byte frame there and back) outside the timed part;
 * scale.N.connect.per_guest, the same over N in microseconds, against the
 * cost of creating one thread with an event_base (ceil.thread); scale.N.rss, KiB
 * resident per guest: VmRSS after the I/O minus VmRSS before the domains
 * existed, over N, minus the guest's ring pages (see scale_ring_kib()).
 *
 * tests/scale_test.c includes this file with SCALE_WORLD_ONLY defined to get
 * the world without the bench harness.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <xenstore.h>

#include "drivers/blk/blkback.h"
#include "drivers/blk/blkfront.h"
#include "drivers/blk/blkstore.h"
#include "drivers/net/netback.h"
#include "drivers/net/netfront.h"
#include "drivers/net/netpkt.h"
#include "drivers/xenbus/xenbus.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"

/* ---- limits ---- */
#define SCALE_GUESTS_PER_BACKEND 25u        /* vbds (and vifs) one driver domain serves */
#define SCALE_BACKEND_NODES_PER_GUEST 40u   /* nodes a backend owns per vbd+vif (measured: 35) */
#define SCALE_GUESTS_MAX 1000u
#define SCALE_VBD_DEVID 51712u              /* xvda */
#define SCALE_VIF_DEVID 0u
#define SCALE_DISK_BYTES (1u << 20)
#define SCALE_IO_BYTES 4096u                /* the one read per vbd */
#define SCALE_FRAME_BYTES 64u               /* the one frame per vif */
#define SCALE_GUEST_MEM_BYTES (8u << 20)    /* netfront's pools fit: 2 x 256 pages */
#define SCALE_BACKEND_MEM_BYTES (4u << 20)  /* a backend maps; it grants nothing */
#define SCALE_WAIT_MS 600000u               /* bound on every wait for the domains */
#define SCALE_FDS_PER_GUEST 17u             /* measured 16.3 at 1000 guests, backends included */
#define SCALE_FDS_SPARE 256u

_Static_assert(SCALE_GUESTS_PER_BACKEND < XENBUS_WATCHES_MAX,
	       "a backend's watches (one per device and its discovery) fit the quota");
_Static_assert(SCALE_GUESTS_PER_BACKEND * SCALE_BACKEND_NODES_PER_GUEST <= 1000u,
	       "a driver domain's nodes fit xenstored's default quota of 1000");
_Static_assert(SCALE_IO_BYTES <= SCALE_DISK_BYTES, "the read is inside the disk");
_Static_assert(SCALE_GUESTS_MAX + SCALE_GUESTS_MAX / SCALE_GUESTS_PER_BACKEND + 2 <= SIM_DOMID_LIMIT,
	       "every domain of the largest world has a domid");

struct scale_world;

struct scale_backend {
	struct scale_world *w;
	domid_t domid;
	unsigned first, count;          /* the guests it serves, by index */
	struct blkback *bb;
	struct netback *nb;
	struct blkback_stats bstats;
	struct netback_stats nstats;
};

struct scale_guest {
	struct scale_world *w;
	unsigned index;
	domid_t domid;
	struct scale_backend *be;
	struct xenbus_device vbd, vif;
	const char *vbd_fe_keys[5], *vbd_be_keys[7], *vif_fe_keys[5], *vif_be_keys[7];
	char vdev[12], disk[16], mac[20], handle[8];
	struct blk_store *store;
	/* Guest thread only. */
	struct blkfront *bf;
	struct netfront *nf;
	bool blk_up, net_up, blk_verified, frame_verified;
	uint8_t buf[SCALE_IO_BYTES];
};

/* Counters the domain threads raise and the toolstack thread waits on. */
enum scale_sig { SCALE_CONNECTED, SCALE_VERIFIED, SCALE_FAILED, SCALE_SIGS };

struct scale_world {
	unsigned n, nbe;
	struct scale_backend *be;
	struct scale_guest *g;
	struct xs_handle *xs;           /* the toolstack's connection, as dom0 */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned sig[SCALE_SIGS];
	char failure[256];              /* the first thing that went wrong */
};

/* ---- signals ---- */

static void scale_raise(struct scale_world *w, enum scale_sig s, const char *why)
{
	pthread_mutex_lock(&w->lock);
	w->sig[s]++;
	if (why && !w->failure[0])
		snprintf(w->failure, sizeof(w->failure), "%s", why);
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

static void scale_fail(struct scale_guest *g, const char *what, int rc)
{
	char why[200];

	snprintf(why, sizeof(why), "guest %u (dom%u): %s: %s", g->index, g->domid, what,
		 strerror(rc < 0 ? -rc : rc));
	scale_raise(g->w, SCALE_FAILED, why);
}

/* Wait until counter s reaches want (or something failed); true if it did. */
static bool scale_wait(struct scale_world *w, enum scale_sig s, unsigned want)
{
	struct timespec dl;

	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += SCALE_WAIT_MS / 1000;
	pthread_mutex_lock(&w->lock);
	while (w->sig[s] < want && !w->sig[SCALE_FAILED])
		if (pthread_cond_timedwait(&w->cond, &w->lock, &dl) == ETIMEDOUT)
			break;
	bool ok = w->sig[s] >= want && !w->sig[SCALE_FAILED];
	pthread_mutex_unlock(&w->lock);
	return ok;
}

/* ---- the driver domains: blkback and netback, frames reflected ---- */

static int scale_link_attach(void *link_arg, struct netback_vif *vif, void **port)
{
	(void)link_arg;
	*port = vif;
	return 0;
}

static void scale_link_detach(void *link_arg, void *port)
{
	(void)link_arg;
	(void)port;
}

/* The frame goes back to the guest that sent it (netback counts a drop). */
static void scale_link_output(void *link_arg, void *port, struct netpkt *pkt)
{
	(void)link_arg;
	netback_vif_input(port, pkt);
}

static const struct netback_link_ops scale_link = {
	.attach = scale_link_attach,
	.detach = scale_link_detach,
	.output = scale_link_output,
};

static int scale_backend_start_fn(void *arg)
{
	struct scale_backend *b = arg;
	struct blkback_config bc = {.base = sim_domain_event_base(), .vbds_max = SCALE_GUESTS_PER_BACKEND};
	struct netback_config nc = {.base = sim_domain_event_base(), .link = &scale_link,
				    .vifs_max = SCALE_GUESTS_PER_BACKEND};
	int rc = blkback_start(&bc, &b->bb);

	for (unsigned i = 0; rc == 0 && i < b->count; i++) {
		struct scale_guest *g = &b->w->g[b->first + i];
		rc = blkback_disk_add(b->bb, g->disk, g->store);
	}
	return rc ? rc : netback_start(&nc, &b->nb);
}

static int scale_backend_stop_fn(void *arg)
{
	struct scale_backend *b = arg;

	if (b->bb) {
		blkback_stats(b->bb, &b->bstats);
		blkback_stop(b->bb);
	}
	if (b->nb) {
		netback_stats(b->nb, &b->nstats);
		netback_stop(b->nb);
	}
	b->bb = NULL;
	b->nb = NULL;
	return 0;
}

/* ---- a guest: blkfront and netfront on its own thread ---- */

static void scale_up(struct scale_guest *g, bool *flag)
{
	if (*flag)
		return;   /* a later reconnect is not a new connection */
	*flag = true;
	scale_raise(g->w, SCALE_CONNECTED, NULL);
}

static void scale_blk_event(void *arg, struct blkfront *bf, enum blkfront_event ev)
{
	struct scale_guest *g = arg;

	if (ev == BLKFRONT_EV_CONNECTED)
		scale_up(g, &g->blk_up);
	else if (ev == BLKFRONT_EV_FAILED)
		scale_fail(g, blkfront_error(bf) ? blkfront_error(bf) : "blkfront failed", EIO);
}

static void scale_net_event(void *arg, struct netfront *nf, enum netfront_event ev)
{
	struct scale_guest *g = arg;

	if (ev == NETFRONT_EV_CONNECTED)
		scale_up(g, &g->net_up);
	else if (ev == NETFRONT_EV_FAILED)
		scale_fail(g, netfront_error(nf) ? netfront_error(nf) : "netfront failed", EIO);
}

/* Byte i of guest g's disk pattern and frame. */
static uint8_t scale_pattern(const struct scale_guest *g, unsigned i)
{
	return (uint8_t)(g->index * 131u + i * 7u + 1u);
}

static void scale_net_rx(void *arg, struct netfront *nf, const struct netfront_rx *rx)
{
	struct scale_guest *g = arg;
	bool ok = rx->len == SCALE_FRAME_BYTES;

	(void)nf;
	for (unsigned i = 14; ok && i < SCALE_FRAME_BYTES; i++)
		ok = rx->data[i] == scale_pattern(g, i);
	if (!ok) {
		scale_fail(g, "the reflected frame differs", EBADMSG);
	} else if (!g->frame_verified) {
		g->frame_verified = true;
		scale_raise(g->w, SCALE_VERIFIED, NULL);
	}
}

static void scale_guest_open(void *arg)
{
	struct scale_guest *g = arg;
	struct blkfront_config bc = {.base = sim_domain_event_base(), .devid = SCALE_VBD_DEVID,
				     .on_event = scale_blk_event, .arg = g};
	struct netfront_config nc = {.base = sim_domain_event_base(), .devid = SCALE_VIF_DEVID,
				     .rx_notify = true, .on_rx = scale_net_rx,
				     .on_event = scale_net_event, .arg = g};
	int rc = blkfront_open(&bc, &g->bf);

	if (rc < 0)
		scale_fail(g, "blkfront_open", rc);
	rc = netfront_open(&nc, &g->nf);
	if (rc < 0)
		scale_fail(g, "netfront_open", rc);
}

static void scale_read_done(void *arg, int status)
{
	struct scale_guest *g = arg;
	bool ok = status == 0;

	for (unsigned i = 0; ok && i < SCALE_IO_BYTES; i++)
		ok = g->buf[i] == scale_pattern(g, i);
	if (!ok) {
		scale_fail(g, status ? "the 4 KiB read" : "the 4 KiB read returned other data",
			   status ? status : EBADMSG);
		return;
	}
	g->blk_verified = true;
	scale_raise(g->w, SCALE_VERIFIED, NULL);
}

static void scale_guest_io(void *arg)
{
	struct scale_guest *g = arg;
	uint8_t frame[SCALE_FRAME_BYTES];
	struct iovec iov = {.iov_base = frame, .iov_len = sizeof(frame)};
	struct netfront_tx tx = {.iov = &iov, .iovcnt = 1};
	int rc = blkfront_submit(g->bf, BLKFRONT_READ, 0, g->buf, SCALE_IO_BYTES, scale_read_done, g);

	if (rc < 0)
		scale_fail(g, "blkfront_submit", rc);
	for (unsigned i = 0; i < SCALE_FRAME_BYTES; i++)
		frame[i] = scale_pattern(g, i);
	memset(frame, 0xff, 6);                    /* broadcast: nobody filters it */
	frame[12] = 0x88, frame[13] = 0xB5;        /* local experimental ethertype */
	rc = netfront_send(g->nf, &tx);
	if (rc < 0)
		scale_fail(g, "netfront_send", rc);
}

static int scale_guest_close_fn(void *arg)
{
	struct scale_guest *g = arg;

	blkfront_close(g->bf);
	netfront_close(g->nf);
	g->bf = NULL;
	g->nf = NULL;
	return 0;
}

/* ---- the toolstack ---- */

static void scale_guest_devices(struct scale_guest *g)
{
	snprintf(g->vdev, sizeof(g->vdev), "%u", SCALE_VBD_DEVID);
	snprintf(g->disk, sizeof(g->disk), "disk%u", g->index);
	snprintf(g->handle, sizeof(g->handle), "%u", SCALE_VIF_DEVID);
	snprintf(g->mac, sizeof(g->mac), "00:16:3e:%02x:%02x:%02x", (g->index >> 16) & 0xff,
		 (g->index >> 8) & 0xff, g->index & 0xff);
	const char *vfe[] = {"virtual-device", g->vdev, "device-type", "disk", NULL};
	const char *vbe[] = {"params", g->disk, "type", "ram", "mode", "w", NULL};
	const char *nfe[] = {"mac", g->mac, "handle", g->handle, NULL};
	const char *nbe[] = {"mac", g->mac, "handle", g->handle, "type", "vif", NULL};
	memcpy(g->vbd_fe_keys, vfe, sizeof(vfe));
	memcpy(g->vbd_be_keys, vbe, sizeof(vbe));
	memcpy(g->vif_fe_keys, nfe, sizeof(nfe));
	memcpy(g->vif_be_keys, nbe, sizeof(nbe));
	g->vbd = (struct xenbus_device){.type = "vbd", .fe_domid = g->domid, .be_domid = g->be->domid,
					.devid = SCALE_VBD_DEVID, .fe_keys = g->vbd_fe_keys,
					.be_keys = g->vbd_be_keys};
	g->vif = (struct xenbus_device){.type = "vif", .fe_domid = g->domid, .be_domid = g->be->domid,
					.devid = SCALE_VIF_DEVID, .fe_keys = g->vif_fe_keys,
					.be_keys = g->vif_be_keys};
}

/* A ram disk whose first 4 KiB hold the guest's pattern. */
static int scale_disk(struct scale_guest *g)
{
	uint8_t pat[SCALE_IO_BYTES];
	int rc = blk_store_ram_create(SCALE_DISK_BYTES, 512, &g->store);

	for (unsigned i = 0; i < SCALE_IO_BYTES; i++)
		pat[i] = scale_pattern(g, i);
	return rc ? rc : blk_store_write(g->store, 0, pat, sizeof(pat));
}

static int scale_domain(const char *prefix, unsigned num, domid_t domid, size_t mem_bytes,
			bool privileged)
{
	char name[SIM_DOMAIN_NAME_MAX];

	snprintf(name, sizeof(name), "%s%u", prefix, num);
	int rc = sim_domain_create(&(struct sim_domain_config){
		.name = name, .domid = domid, .mem_bytes = mem_bytes, .privileged = privileged});
	return rc < 0 ? rc : 0;
}

/* /local/domain/<d>, owned by d: what a toolstack writes for a new domain. */
static int scale_home(struct scale_world *w, domid_t d)
{
	char path[64];
	struct xs_permissions p = {.id = d, .perms = XS_PERM_NONE};

	snprintf(path, sizeof(path), "/local/domain/%u", d);
	if (!xs_mkdir(w->xs, XBT_NULL, path) || !xs_set_permissions(w->xs, XBT_NULL, path, &p, 1))
		return errno ? -errno : -EIO;
	return 0;
}

static int scale_domains(struct scale_world *w)
{
	int rc = scale_domain("dom", 0, 0, SCALE_BACKEND_MEM_BYTES, true);

	for (unsigned b = 0; rc == 0 && b < w->nbe; b++)
		rc = scale_domain("drv", b + 1, w->be[b].domid, SCALE_BACKEND_MEM_BYTES, false);
	for (unsigned i = 0; rc == 0 && i < w->n; i++)
		rc = scale_domain("guest", i + 1, w->g[i].domid, SCALE_GUEST_MEM_BYTES, false);
	if (rc < 0)
		return rc;
	xs_store_reset();
	rc = sim_thread_enter(0);
	w->xs = rc == 0 ? xs_open(0) : NULL;
	if (!w->xs)
		return rc ? rc : -EIO;
	for (unsigned d = 0; rc == 0 && d <= w->nbe + w->n; d++)
		rc = scale_home(w, (domid_t)d);
	return rc;
}

static void scale_layout(struct scale_world *w)
{
	for (unsigned b = 0; b < w->nbe; b++) {
		struct scale_backend *be = &w->be[b];
		be->w = w;
		be->domid = (domid_t)(b + 1);
		be->first = b * SCALE_GUESTS_PER_BACKEND;
		be->count = w->n - be->first < SCALE_GUESTS_PER_BACKEND ? w->n - be->first
									: SCALE_GUESTS_PER_BACKEND;
	}
	for (unsigned i = 0; i < w->n; i++) {
		struct scale_guest *g = &w->g[i];
		g->w = w;
		g->index = i;
		g->domid = (domid_t)(w->nbe + 1 + i);
		g->be = &w->be[i / SCALE_GUESTS_PER_BACKEND];
		scale_guest_devices(g);
	}
}

/* Domains, homes, disks and running backends: everything before the devices. */
static int scale_world_up(struct scale_world *w, unsigned n)
{
	int rc = n && n <= SCALE_GUESTS_MAX ? 0 : -EINVAL;

	memset(w, 0, sizeof(*w));
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->n = n;
	w->nbe = (n + SCALE_GUESTS_PER_BACKEND - 1) / SCALE_GUESTS_PER_BACKEND;
	w->be = calloc(w->nbe ? w->nbe : 1, sizeof(*w->be));
	w->g = calloc(n ? n : 1, sizeof(*w->g));
	if (rc == 0 && (!w->be || !w->g))
		rc = -ENOMEM;
	if (rc < 0)
		return rc;
	scale_layout(w);
	sim_reset();
	for (unsigned i = 0; rc == 0 && i < n; i++)
		rc = scale_disk(&w->g[i]);
	if (rc == 0)
		rc = scale_domains(w);
	for (unsigned b = 0; rc == 0 && b < w->nbe; b++)
		rc = sim_domain_call(w->be[b].domid, scale_backend_start_fn, &w->be[b]);
	return rc;
}

/* The timed part: write every device, start every frontend, wait. */
static int scale_connect(struct scale_world *w)
{
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < w->n; i++) {
		rc = xenbus_device_create(w->xs, &w->g[i].vbd);
		if (rc == 0)
			rc = xenbus_device_create(w->xs, &w->g[i].vif);
	}
	for (unsigned i = 0; rc == 0 && i < w->n; i++)
		rc = sim_domain_post(w->g[i].domid, scale_guest_open, &w->g[i]);
	if (rc == 0 && !scale_wait(w, SCALE_CONNECTED, 2 * w->n))
		rc = -ETIMEDOUT;
	return rc;
}

/* One verified read and one reflected frame per guest. */
static int scale_io(struct scale_world *w)
{
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < w->n; i++)
		rc = sim_domain_post(w->g[i].domid, scale_guest_io, &w->g[i]);
	if (rc == 0 && !scale_wait(w, SCALE_VERIFIED, 2 * w->n))
		rc = -ETIMEDOUT;
	return rc;
}

/* Both ends of every device say Connected in xenstore. */
static unsigned scale_states_connected(struct scale_world *w)
{
	unsigned ok = 0;

	for (unsigned i = 0; i < 2 * w->n; i++) {
		const struct xenbus_device *dev = i % 2 ? &w->g[i / 2].vif : &w->g[i / 2].vbd;
		char fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];
		XenbusState sf = XenbusStateUnknown, sb = XenbusStateUnknown;

		if (xenbus_device_paths(dev, fe, be, sizeof(fe)) == 0 &&
		    xenbus_state_read(w->xs, fe, &sf) == 0 && xenbus_state_read(w->xs, be, &sb) == 0 &&
		    sf == XenbusStateConnected && sb == XenbusStateConnected)
			ok++;
	}
	return ok;
}

/* Frontends closed, backends stopped, devices removed: nothing of the
 * drivers is left. The domains stay (the caller checks, then resets). */
static void scale_teardown(struct scale_world *w)
{
	for (unsigned i = 0; i < w->n && w->g; i++)
		sim_domain_call(w->g[i].domid, scale_guest_close_fn, &w->g[i]);
	for (unsigned b = 0; b < w->nbe && w->be; b++)
		sim_domain_call(w->be[b].domid, scale_backend_stop_fn, &w->be[b]);
	for (unsigned i = 0; i < w->n && w->g && w->xs; i++) {
		xenbus_device_remove(w->xs, &w->g[i].vbd);
		xenbus_device_remove(w->xs, &w->g[i].vif);
	}
}

static void scale_world_down(struct scale_world *w)
{
	if (w->xs)
		xs_close(w->xs);
	w->xs = NULL;
	sim_thread_leave();
	sim_reset();
	for (unsigned i = 0; i < w->n && w->g; i++)
		blk_store_put(w->g[i].store);
	free(w->g);
	free(w->be);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	memset(w, 0, sizeof(*w));
}

/* Descriptors: each guest costs about SCALE_FDS_PER_GUEST (the memfd and
 * eventfds of its domain and event loop, of every xenevtchn, xengnttab and
 * xenstore handle of both ends). Raise the soft limit to the hard one; the
 * soft limit it ends at, or 0. */
static uint64_t scale_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return 0;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0 && getrlimit(RLIMIT_NOFILE, &rl) != 0)
			return 0;
	}
	return rl.rlim_cur;
}

#ifndef SCALE_WORLD_ONLY
#include <dirent.h>

#include "tools/bench.h"

/* ---- the bench ---- */

/* VmRSS of the process in KiB (0 if unreadable). */
static uint64_t scale_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

/* Open descriptors and mappings of the process: the limits that bind first
 * (RLIMIT_NOFILE, vm.max_map_count). */
static void scale_count_fds_maps(unsigned *fds, unsigned *maps)
{
	DIR *dir = opendir("/proc/self/fd");
	FILE *f = fopen("/proc/self/maps", "r");
	int c;

	*fds = *maps = 0;
	while (dir && readdir(dir))
		(*fds)++;
	while (f && (c = fgetc(f)) != EOF)
		*maps += c == '\n';
	if (dir)
		closedir(dir);
	if (f)
		fclose(f);
}

/* A guest's ring pages, in KiB, as VmRSS counts them: one blkif ring page
 * and a tx and an rx netif ring page (one queue each: the frontends'
 * defaults), each resident twice, in the frontend's shared view and in its
 * backend's grant map. */
static double scale_ring_kib(void)
{
	const unsigned pages = 1 + 2, views = 2;

	return (double)(pages * views * SIM_PAGE_SIZE) / 1024.0;
}

static int scale_run_n(struct bench_run *r, unsigned nominal)
{
	struct scale_world w;
	unsigned n = (unsigned)bench_count(r, nominal);
	uint64_t fds_max = scale_raise_nofile(), fds_need = (uint64_t)n * SCALE_FDS_PER_GUEST + SCALE_FDS_SPARE;

	if (fds_max < fds_need) {
		bench_log(r, "%u guests need about %" PRIu64 " descriptors, RLIMIT_NOFILE allows %" PRIu64
			  " (raise the hard limit: ulimit -Hn)", n, fds_need, fds_max);
		return -EMFILE;
	}
	uint64_t rss0 = scale_rss_kib();
	int rc = scale_world_up(&w, n);
	uint64_t t0 = bench_now_ns();

	if (rc == 0)
		rc = scale_connect(&w);
	uint64_t t1 = bench_now_ns();
	if (rc == 0)
		rc = scale_io(&w);
	if (rc == 0 && scale_states_connected(&w) != 2 * n)
		rc = -ENOTCONN;
	uint64_t rss1 = scale_rss_kib();
	unsigned fds, maps;
	scale_count_fds_maps(&fds, &maps);
	if (rc == 0) {
		char name[48];
		double per_guest = ((double)rss1 - (double)rss0) / n - scale_ring_kib();
		snprintf(name, sizeof(name), "scale.%u.connect", nominal);
		bench_put(r, name, (double)(t1 - t0) / 1e9);
		/* Per guest, to compare with making one domain-like thread. */
		snprintf(name, sizeof(name), "scale.%u.connect.per_guest", nominal);
		bench_put(r, name, (double)(t1 - t0) / 1e3 / n);
		snprintf(name, sizeof(name), "scale.%u.rss", nominal);
		bench_put(r, name, per_guest);
		bench_log(r, "%u guests (%u driver domains): connected in %.3f s, %.0f KiB resident per guest "
			  "beyond %.0f KiB of rings (VmRSS %" PRIu64 " -> %" PRIu64 " KiB), %u fds, %u mappings",
			  n, w.nbe, (double)(t1 - t0) / 1e9, per_guest, scale_ring_kib(), rss0, rss1, fds, maps);
	} else {
		bench_log(r, "%u guests: %s (%s; %u/%u connected, %u/%u verified)", n, strerror(-rc),
			  w.failure[0] ? w.failure : "no failure reported", w.sig[SCALE_CONNECTED], 2 * n,
			  w.sig[SCALE_VERIFIED], 2 * n);
	}
	scale_teardown(&w);
	scale_world_down(&w);
	return rc;
}

static int scale_run(struct bench_run *r)
{
	static const unsigned sizes[] = {1, 10, 100, 1000};
	int rc = 0;

	for (unsigned i = 0; rc == 0 && i < sizeof(sizes) / sizeof(sizes[0]); i++)
		rc = scale_run_n(r, sizes[i]);
	return rc;
}

#define SCALE_METRICS(N, CONNECT_TARGET, RSS_TARGET)                                            \
	{.name = "scale." #N ".connect", .unit = "s", .ceiling = NULL,                         \
	 .target = (CONNECT_TARGET), .lower_is_better = 1},                                     \
	{.name = "scale." #N ".connect.per_guest", .unit = "us", .ceiling = "ceil.thread",     \
	 .target = 0, .lower_is_better = 1},                                                    \
	{.name = "scale." #N ".rss", .unit = "KiB", .ceiling = NULL, .target = (RSS_TARGET),   \
	 .lower_is_better = 1}

static const struct bench_metric scale_metrics[] = {
	SCALE_METRICS(1, 0, 0),
	SCALE_METRICS(10, 0, 0),
	SCALE_METRICS(100, 0, 0),
	SCALE_METRICS(1000, 10, 1024),
	{.name = NULL},
};

const struct bench bench_scale = {
	.name = "scale",
	.what = "N = 1, 10, 100, 1000 guests with a vbd and a vif: time to connect all, KiB resident per guest",
	.metrics = scale_metrics,
	.runs = 3,
	.run = scale_run,
};
#endif
