/*
 * The primitives: event-channel round trips and Xenstore operations, through
 * the same API the drivers use (libxenevtchn's and libxenstore's functions as
 * the sim implements them), free mode.
 *
 * - evtchn.rtt: dom0 and a guest, an interdomain channel, each end on its own
 *   thread waiting in poll() on xenevtchn_fd(), then xenevtchn_pending(),
 *   xenevtchn_unmask(), xenevtchn_notify() back: the full path of a driver.
 * - xs.read / xs.write: a guest reading and writing its own nodes in-process.
 * - xs.socket.read / .write: Debian's libxenstore (build/xen/xensim-xsbench,
 *   linked against libxenstore.so.4) talking xs_wire to the sim's server.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xenstore.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "tools/bench.h"

#define PRIM_RTT_OPS 50000u
#define PRIM_XS_READS 2000000u
#define PRIM_XS_WRITES 600000u
#define PRIM_XS_SOCKET_OPS 100000u
#define PRIM_XS_KEYS 64u
#define PRIM_GUEST 1

static int prim_domains(void)
{
	struct sim_domain_config d0 = {.name = "dom0", .domid = 0, .privileged = true};
	struct sim_domain_config g = {.name = "guest", .domid = PRIM_GUEST};

	if (sim_init() < 0 || sim_domain_create(&d0) != 0 || sim_domain_create(&g) != PRIM_GUEST)
		return -EAGAIN;
	return 0;
}

/* ---- event channel round trips ---- */

struct prim_evtchn {
	xenevtchn_handle *xce;
	evtchn_port_t port;
	uint64_t ops;
	int rc;
};

/* Wait for the port to fire, then unmask it, as a driver's event loop does. */
static int evtchn_wait(xenevtchn_handle *xce, evtchn_port_t port)
{
	struct pollfd pfd = {.fd = xenevtchn_fd(xce), .events = POLLIN};

	if (poll(&pfd, 1, 10000) != 1)
		return -ETIMEDOUT;
	xenevtchn_port_or_error_t got = xenevtchn_pending(xce);
	if (got != (xenevtchn_port_or_error_t)port || xenevtchn_unmask(xce, port) < 0)
		return -EPROTO;
	return 0;
}

static void *evtchn_guest(void *arg)
{
	struct prim_evtchn *g = arg;

	g->rc = sim_thread_enter(PRIM_GUEST);
	for (uint64_t i = 0; g->rc == 0 && i < g->ops; i++) {
		g->rc = evtchn_wait(g->xce, g->port);
		if (g->rc == 0 && xenevtchn_notify(g->xce, g->port) < 0)
			g->rc = -errno;
	}
	sim_thread_leave();
	return NULL;
}

/* dom0 offers a port, the guest binds it (and drains the bind's pending event). */
static int evtchn_pair(struct prim_evtchn *d0, struct prim_evtchn *g)
{
	if (sim_thread_enter(0) < 0 || !(d0->xce = xenevtchn_open(NULL, 0)))
		return -EAGAIN;
	xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(d0->xce, PRIM_GUEST);
	sim_thread_leave();
	if (p < 0 || sim_thread_enter(PRIM_GUEST) < 0 || !(g->xce = xenevtchn_open(NULL, 0)))
		return -EAGAIN;
	d0->port = (evtchn_port_t)p;
	xenevtchn_port_or_error_t q = xenevtchn_bind_interdomain(g->xce, 0, d0->port);
	int rc = q < 0 ? -errno : evtchn_wait(g->xce, (evtchn_port_t)q);
	g->port = (evtchn_port_t)q;
	sim_thread_leave();
	return rc;
}

static int evtchn_run(struct bench_run *r)
{
	struct prim_evtchn d0 = {0}, g = {0};
	uint64_t n = bench_count(r, PRIM_RTT_OPS);
	double *samples = calloc(n, sizeof(double));
	pthread_t t;
	int rc = samples ? prim_domains() : -ENOMEM;

	if (rc == 0)
		rc = evtchn_pair(&d0, &g);
	g.ops = n;
	if (rc == 0 && (rc = -pthread_create(&t, NULL, evtchn_guest, &g)) == 0) {
		sim_thread_enter(0);
		for (uint64_t i = 0; rc == 0 && i < n; i++) {
			uint64_t t0 = bench_now_ns();
			rc = xenevtchn_notify(d0.xce, d0.port) < 0 ? -errno : evtchn_wait(d0.xce, d0.port);
			samples[i] = (double)(bench_now_ns() - t0) / 1000.0;
		}
		sim_thread_leave();
		pthread_join(t, NULL);
		rc = rc ? rc : g.rc;
	}
	if (rc == 0) {
		bench_put(r, "evtchn.rtt.p50", bench_percentile(samples, n, 50));
		bench_put(r, "evtchn.rtt.p99", bench_percentile(samples, n, 99));
	} else {
		bench_log(r, "event channel round trips failed: %s", strerror(-rc));
	}
	free(samples);
	return rc;
}

/* ---- xenstore in-process ---- */

static void xs_key(char *buf, size_t len, unsigned i)
{
	snprintf(buf, len, "/local/domain/%d/bench/key%u", PRIM_GUEST, i % PRIM_XS_KEYS);
}

static int xs_inproc(struct bench_run *r, struct xs_handle *xs)
{
	uint64_t writes = bench_count(r, PRIM_XS_WRITES), reads = bench_count(r, PRIM_XS_READS);
	char path[96], val[32];

	uint64_t t0 = bench_now_ns();
	for (uint64_t i = 0; i < writes; i++) {
		xs_key(path, sizeof(path), (unsigned)i);
		int n = snprintf(val, sizeof(val), "%llu", (unsigned long long)i);
		if (!xs_write(xs, XBT_NULL, path, val, (unsigned)n)) {
			bench_log(r, "xs_write %s failed: %s", path, strerror(errno));
			return -EIO;
		}
	}
	uint64_t t1 = bench_now_ns();
	uint64_t last_sum = 0;
	for (uint64_t i = 0; i < reads; i++) {
		unsigned len;
		xs_key(path, sizeof(path), (unsigned)i);
		char *v = xs_read(xs, XBT_NULL, path, &len);
		if (!v) {
			bench_log(r, "xs_read %s failed: %s", path, strerror(errno));
			return -EIO;
		}
		last_sum += strtoull(v, NULL, 10);
		free(v);
	}
	uint64_t t2 = bench_now_ns();
	/* Key k holds the last index written to it: the reads must add up to that. */
	uint64_t last[PRIM_XS_KEYS] = {0}, expect = 0;
	for (uint64_t i = writes > PRIM_XS_KEYS ? writes - PRIM_XS_KEYS : 0; i < writes; i++)
		last[i % PRIM_XS_KEYS] = i;
	for (uint64_t i = 0; i < reads; i++)
		expect += last[i % PRIM_XS_KEYS];
	if (writes >= PRIM_XS_KEYS && last_sum != expect) {
		bench_log(r, "reads returned other values than written (sum %llu, expected %llu)",
			  (unsigned long long)last_sum, (unsigned long long)expect);
		return -EIO;
	}
	bench_put(r, "xs.write", (double)writes * 1e9 / (double)(t1 - t0));
	bench_put(r, "xs.read", (double)reads * 1e9 / (double)(t2 - t1));
	return 0;
}

/* ---- xenstore over the socket, Debian's libxenstore as the client ---- */

static int xsbench_path(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

	if (n <= 0)
		return -ENOENT;
	self[n] = '\0';
	char *slash = strrchr(self, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%s/xen/xensim-xsbench", self);
	return access(buf, X_OK) == 0 ? 0 : -ENOENT;
}

/* Run the client against a server on `sock`; it prints "reads/s writes/s". */
static int xs_socket_client(struct bench_run *r, const char *client, const char *sock)
{
	char ops[32], line[128] = "";
	int fds[2];

	snprintf(ops, sizeof(ops), "%llu", (unsigned long long)bench_count(r, PRIM_XS_SOCKET_OPS));
	if (pipe(fds) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		setenv("XENSTORED_PATH", sock, 1);
		execl(client, client, ops, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	FILE *in = fdopen(fds[0], "r");
	if (in && !fgets(line, sizeof(line), in))
		line[0] = '\0';
	if (in)
		fclose(in);
	int status = 0;
	waitpid(pid, &status, 0);
	double rd, wr;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || sscanf(line, "%lf %lf", &rd, &wr) != 2) {
		bench_log(r, "%s failed (status %d, output '%s')", client, status, line);
		return -EIO;
	}
	bench_put(r, "xs.socket.read", rd);
	bench_put(r, "xs.socket.write", wr);
	return 0;
}

static int xs_socket(struct bench_run *r)
{
	char client[PATH_MAX + 32], sock[64];
	struct xs_server *srv = NULL;

	if (xsbench_path(client, sizeof(client)) < 0) {
		bench_log(r, "%s not built (make build-bench/xen/xensim-xsbench): no socket figures",
			  client);
		return -ENOENT;
	}
	snprintf(sock, sizeof(sock), "/tmp/xensim-bench-%d.sock", (int)getpid());
	int rc = xs_server_start(&(struct xs_server_config){.socket_path = sock, .quiet = true}, &srv);
	if (rc < 0) {
		bench_log(r, "xenstored on %s: %s", sock, strerror(-rc));
		return rc;
	}
	rc = xs_socket_client(r, client, sock);
	xs_server_stop(srv);
	return rc;
}

/* The toolstack's part: dom0 makes the guest's home and hands it over. */
static int xs_guest_home(void)
{
	char home[64];
	struct xs_permissions perms = {.id = PRIM_GUEST, .perms = XS_PERM_NONE};
	struct xs_handle *xs;
	int rc = -EAGAIN;

	snprintf(home, sizeof(home), "/local/domain/%d/bench", PRIM_GUEST);
	if (sim_thread_enter(0) < 0)
		return rc;
	if ((xs = xs_open(0)) && xs_mkdir(xs, XBT_NULL, home) &&
	    xs_set_permissions(xs, XBT_NULL, home, &perms, 1))
		rc = 0;
	if (xs)
		xs_close(xs);
	sim_thread_leave();
	return rc;
}

static int xenstore_run(struct bench_run *r)
{
	int rc = prim_domains();
	struct xs_handle *xs = NULL;

	if (rc == 0)
		rc = xs_guest_home();
	if (rc == 0 && sim_thread_enter(PRIM_GUEST) == 0 && (xs = xs_open(0))) {
		rc = xs_inproc(r, xs);
		xs_close(xs);
		sim_thread_leave();
	} else if (rc == 0) {
		rc = -EAGAIN;
	}
	return rc == 0 ? xs_socket(r) : rc;
}

static const struct bench_metric evtchn_metrics[] = {
	{"evtchn.rtt.p50", "us", "ceil.eventfd.rtt", 10, 1},
	{"evtchn.rtt.p99", "us", "ceil.eventfd.rtt.p99", 0, 1},
	{NULL},
};

static const struct bench_metric xenstore_metrics[] = {
	{"xs.read", "ops/s", NULL, 1000000, 0},
	{"xs.write", "ops/s", NULL, 300000, 0},
	{"xs.socket.read", "ops/s", "ceil.unix.ops", 0, 0},
	{"xs.socket.write", "ops/s", "ceil.unix.ops", 0, 0},
	{NULL},
};

const struct bench bench_evtchn = {
	.name = "evtchn",
	.what = "interdomain notification round trip through xenevtchn_* (poll, pending, unmask, notify)",
	.metrics = evtchn_metrics,
	.run = evtchn_run,
	.one_cpu_too = 1,
};

const struct bench bench_xenstore = {
	.name = "xenstore",
	.what = "a guest's in-process xs_read/xs_write; Debian's libxenstore over the socket",
	.metrics = xenstore_metrics,
	.run = xenstore_run,
	.one_cpu_too = 1,
};
