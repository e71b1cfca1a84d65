/*
 * `xensim xenstored --socket PATH`: a fresh store served over xs_wire on a unix
 * socket, in the foreground, until SIGINT or SIGTERM. Debian's clients reach
 * it with XENSTORED_PATH=PATH. A socket connection is dom0, so a privileged
 * dom0 is created first for the store's identity and permission checks.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "tools/xensim.h"

struct xenstored_opts {
	const char *socket_path;
	bool quiet;
};

struct xenstored_run {
	struct event_base *base;
	struct event *sig_evs[2];
	int signal_seen;
};

static void xenstored_usage(FILE *out)
{
	fprintf(out, "usage: xensim xenstored --socket PATH [--quiet]\n"
		     "  serve a fresh store over xs_wire on the unix socket PATH (< %u bytes)\n"
		     "  until SIGINT or SIGTERM; clients use XENSTORED_PATH=PATH.\n"
		     "  --quiet  no line per connection\n",
		XS_SERVER_SOCKET_PATH_MAX + 1);
}

#define XENSTORED_HELP_SHOWN (-1)

/* 0 to run, XENSTORED_HELP_SHOWN, or an exit code for a bad command line. */
static int xenstored_parse(int argc, char **argv, struct xenstored_opts *o)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--socket") == 0 && i + 1 < argc) {
			o->socket_path = argv[++i];
		} else if (strncmp(argv[i], "--socket=", 9) == 0) {
			o->socket_path = argv[i] + 9;
		} else if (strcmp(argv[i], "--quiet") == 0) {
			o->quiet = true;
		} else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			xenstored_usage(stdout);
			return XENSTORED_HELP_SHOWN;
		} else {
			fprintf(stderr, "xensim xenstored: unexpected argument '%s'\n", argv[i]);
			xenstored_usage(stderr);
			return XENSIM_EXIT_USAGE;
		}
	}
	if (!o->socket_path || !o->socket_path[0]) {
		fprintf(stderr, "xensim xenstored: --socket PATH is required\n");
		xenstored_usage(stderr);
		return XENSIM_EXIT_USAGE;
	}
	if (strlen(o->socket_path) > XS_SERVER_SOCKET_PATH_MAX) {
		fprintf(stderr, "xensim xenstored: socket path is %zu bytes, a unix socket "
			"path holds at most %u: %s\n", strlen(o->socket_path),
			XS_SERVER_SOCKET_PATH_MAX, o->socket_path);
		return XENSIM_EXIT_USAGE;
	}
	return 0;
}

static void xenstored_on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct xenstored_run *run = arg;

	(void)what;
	run->signal_seen = (int)sig;
	event_base_loopbreak(run->base);
}

/* The socket belongs to dom0: make sure dom0 exists and is privileged. */
static int xenstored_dom0(void)
{
	struct sim_domain_config cfg = {.name = "dom0", .privileged = true, .domid = 0};
	int rc = sim_init();

	if (rc < 0 || sim_domain_alive(0))
		return rc;
	rc = sim_domain_create(&cfg);
	return rc < 0 ? rc : 0;
}

static int xenstored_signals(struct xenstored_run *run)
{
	static const int sigs[2] = {SIGINT, SIGTERM};

	for (int i = 0; i < 2; i++) {
		run->sig_evs[i] = evsignal_new(run->base, sigs[i], xenstored_on_signal, run);
		if (!run->sig_evs[i] || event_add(run->sig_evs[i], NULL) < 0)
			return -ENOMEM;
	}
	return 0;
}

static void xenstored_cleanup(struct xenstored_run *run)
{
	for (int i = 0; i < 2; i++)
		if (run->sig_evs[i])
			event_free(run->sig_evs[i]);
	if (run->base)
		event_base_free(run->base);
}

int cmd_xenstored(int argc, char **argv)
{
	struct xenstored_opts opts = {0};
	struct xenstored_run run = {0};
	struct xs_server *srv = NULL;
	int rc, code = xenstored_parse(argc, argv, &opts);

	if (code != 0)
		return code == XENSTORED_HELP_SHOWN ? XENSIM_EXIT_PASS : code;
	code = XENSIM_EXIT_HARNESS;
	rc = xenstored_dom0();
	if (rc < 0) {
		fprintf(stderr, "xensim xenstored: cannot create dom0: %s\n", strerror(-rc));
		goto out;
	}
	run.base = event_base_new();
	if (!run.base || xenstored_signals(&run) < 0) {
		fprintf(stderr, "xensim xenstored: cannot set up the event loop\n");
		goto out;
	}
	rc = xs_server_start(&(struct xs_server_config){.socket_path = opts.socket_path,
							.base = run.base, .quiet = opts.quiet},
			     &srv);
	if (rc < 0) {
		fprintf(stderr, "xensim xenstored: cannot serve %s: %s\n", opts.socket_path,
			strerror(-rc));
		goto out;
	}
	sim_log("xenstored: serving %s (XENSTORED_PATH=%s)", opts.socket_path, opts.socket_path);
	if (event_base_dispatch(run.base) < 0) {
		fprintf(stderr, "xensim xenstored: event loop failed\n");
		goto out;
	}
	sim_log("xenstored: %s received, stopping", strsignal(run.signal_seen));
	code = XENSIM_EXIT_PASS;
out:
	xs_server_stop(srv);
	xenstored_cleanup(&run);
	sim_reset();
	return code;
}
