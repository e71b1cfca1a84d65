/*
 * Workload `exec`: a domain whose code is a separate program, started by
 * xensim (`domain NAME exec "COMMAND ARGS"` declares one). The program is
 * unmodified: LD_LIBRARY_PATH puts build/lib-remote's libxenevtchn.so.1 and
 * libxengnttab.so.1 first, XENSIM_REMOTE_SOCKET names its domain's socket and
 * XENSTORED_PATH its domain's xenstored socket (Debian's libxenstore.so.4).
 *
 * Its stdout and stderr are captured line by line into the run's log
 * ("[dom NAME] line") and its timeline. It completes when it exits: status
 * `exit` (default 0) is done, another status a failure, a signal a crashed
 * domain (the crash path of a thread domain: grants, ports, store connection
 * torn down) and an error. A daemon (daemon=1) does not hold the run up; at
 * the end it gets SIGTERM and must then exit with `exit` (or die of it). A crash of the
 * domain by the scenario kills the process (SIGKILL); a restart starts it
 * again. With device=TYPE/DEVID and back=DOMAIN, the toolstack (the harness,
 * as dom0) writes the device's nodes first, as libxl does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "drivers/xenbus/xenbus.h"
#include "sim/remote/remote.h"
#include "sim/remote/remote_proto.h"
#include "sim/scenario/scn_internal.h"
#include "sim/scenario/wl_blk.h"
#include "sim/scenario/workload.h"

#define EX_LINE_MAX 400u
#define EX_TAIL_LINES 8u          /* last output lines put on the timeline at its end */
#define EX_TERM_WAIT_MS 5000u     /* a daemon's time to exit after SIGTERM */
#define EX_CLOSE_WAIT_MS 2000u    /* a backend's time to close a dead guest's device */

enum { P_DOM, P_CMD, P_DAEMON, P_EXIT, P_DEVICE, P_BACK, P_BE, P_FE, P_COUNT };

static const struct scn_param ex_params[] = {
	[P_DOM] = {"dom", SCN_P_DOMAIN, NULL, 0, 0, "the domain the program is"},
	[P_CMD] = {"cmd", SCN_P_STRING, NULL, 0, 0, "COMMAND ARGS, run by /bin/sh -c"},
	[P_DAEMON] = {"daemon", SCN_P_BOOL, "0", 0, 0,
		      "1: does not hold the run up; SIGTERM at the end"},
	[P_EXIT] = {"exit", SCN_P_UINT, "0", 0, 255, "the exit status that is a pass"},
	[P_DEVICE] = {"device", SCN_P_STRING, "", 0, 0,
		      "TYPE/DEVID (vbd/51712, vif/0): the toolstack writes its nodes first"},
	[P_BACK] = {"back", SCN_P_STRING, "", 0, 0, "the device's backend domain (a declared name)"},
	[P_BE] = {"be", SCN_P_STRING, "", 0, 0, "backend keys: KEY=VALUE,KEY=VALUE"},
	[P_FE] = {"fe", SCN_P_STRING, "", 0, 0, "frontend keys: KEY=VALUE,KEY=VALUE"},
	{NULL},
};

static const char *const ex_counters[] = {"starts", "exits", "lines", NULL};

struct ex_state {
	struct scn_wl *wl;
	domid_t domid;
	unsigned dom;                 /* index of the domain */
	char dir[64];                 /* the sockets' directory */
	struct remote_dom *rd;
	pid_t pid;                    /* 0: none running */
	pthread_t reader, waiter;
	bool threads;
	int out_fd;
	atomic_bool exited;
	int status;
	bool killed_by_us;            /* the domain was crashed: SIGKILL is ours */
	pthread_mutex_t lock;
	char fault_line[EX_LINE_MAX]; /* a memory-fault report in its output */
	char last_line[EX_LINE_MAX];
	char tail[EX_TAIL_LINES][EX_LINE_MAX];   /* the last lines, a ring */
	unsigned ntail;
	atomic_uint_fast64_t starts, exits, lines;
	/* the device */
	struct xenbus_device dev;
	char type[16];
	const char *fe_kv[33], *be_kv[33];
	char kvbuf[2][SCN_TEXT_MAX];
	bool dev_made;
};

/* ---- the toolstack (the harness, as dom0) ---- */

/* The toolstack's device nodes (the block workloads' toolstack: it knows
 * any xenbus device, not only vbds). */
static int ex_ts(const struct xenbus_device *dev, bool create)
{
	return scn_blk_toolstack(dev, create ? SCN_BLK_TS_CREATE : SCN_BLK_TS_REMOVE);
}

/* A dead guest's device, as libxl removes it: ask the backend to close,
 * give it EX_CLOSE_WAIT_MS to reach Closed (or drop the directory), then
 * remove both directories. Free mode: the backend runs meanwhile. */
static void ex_ts_teardown(const struct xenbus_device *dev)
{
	char fe[SCN_XS_PATH_MAX], be[SCN_XS_PATH_MAX + 8];
	struct xs_handle *xs;

	if (sim_thread_enter(0) < 0)
		return;
	xs = xs_open(0);
	if (xs && xenbus_device_paths(dev, fe, be, sizeof(fe)) == 0 &&
	    xenbus_device_close(xs, dev) == 0) {
		strcat(be, "/state");
		for (unsigned t = 0; t < EX_CLOSE_WAIT_MS; t += 5) {
			char *v = xs_read(xs, XBT_NULL, be, NULL);
			bool closed = !v || atoi(v) == XenbusStateClosed;
			free(v);
			if (closed)
				break;
			usleep(5000);
		}
	}
	if (xs) {
		xenbus_device_remove(xs, dev);
		xs_close(xs);
	}
	sim_thread_leave();
}

static int ex_back_domid(struct ex_state *e, domid_t *out)
{
	const struct scenario *s = e->wl->run->s;
	const char *name = scn_wl_s(e->wl, P_BACK);

	for (unsigned i = 0; i < s->ndoms; i++)
		if (strcmp(s->doms[i].name, name) == 0) {
			*out = e->wl->run->domids[i];
			return 0;
		}
	scn_wl_error(e->wl, "back=%s: no such domain", name);
	return -EINVAL;
}

/* ---- output ---- */

static void ex_line(struct ex_state *e, const char *line)
{
	const char *name = sim_domain_name(e->domid);

	fprintf(stderr, "[dom %s] %s\n", name, line);
	atomic_fetch_add(&e->lines, 1);
	pthread_mutex_lock(&e->lock);
	snprintf(e->last_line, sizeof(e->last_line), "%s", line);
	snprintf(e->tail[e->ntail++ % EX_TAIL_LINES], EX_LINE_MAX, "%s", line);
	if (strncmp(line, "xensim: memory fault:", 21) == 0)
		snprintf(e->fault_line, sizeof(e->fault_line), "%s", line + 8);
	pthread_mutex_unlock(&e->lock);
}

static void *ex_reader(void *arg)
{
	struct ex_state *e = arg;
	FILE *f = fdopen(e->out_fd, "r");
	char line[EX_LINE_MAX];

	while (f && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		ex_line(e, line);
	}
	if (f)
		fclose(f);
	return NULL;
}

static void *ex_waiter(void *arg)
{
	struct ex_state *e = arg;
	int st;

	while (waitpid(e->pid, &st, 0) < 0 && errno == EINTR)
		;
	e->status = st;
	atomic_fetch_add(&e->exits, 1);
	atomic_store(&e->exited, true);
	return NULL;
}

/* ---- start ---- */

static int ex_spawn(struct ex_state *e)
{
	int pfd[2];

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	int rc = remote_spawn(e->rd, scn_wl_s(e->wl, P_CMD), pfd[1], &e->pid);
	close(pfd[1]);
	if (rc < 0) {
		close(pfd[0]);
		e->pid = 0;
		return rc;
	}
	e->out_fd = pfd[0];
	atomic_store(&e->exited, false);
	e->killed_by_us = false;
	pthread_create(&e->reader, NULL, ex_reader, e);
	pthread_create(&e->waiter, NULL, ex_waiter, e);
	e->threads = true;
	atomic_fetch_add(&e->starts, 1);
	scn_wl_note(e->wl, e->domid, "%s: exec'd pid %d: %s", e->wl->id, (int)e->pid,
		    scn_wl_s(e->wl, P_CMD));
	fprintf(stderr, "[dom %s] exec'd pid %d: %s\n", sim_domain_name(e->domid), (int)e->pid,
		scn_wl_s(e->wl, P_CMD));
	return 0;
}

/* The domain's sockets and its process. */
static int ex_up(struct ex_state *e)
{
	int rc = remote_dom_start(e->domid, e->dir, &e->rd);

	if (rc == 0)
		rc = ex_spawn(e);
	if (rc < 0)
		scn_wl_error(e->wl, "domain %s: cannot start '%s': %s", sim_domain_name(e->domid),
			     scn_wl_s(e->wl, P_CMD), strerror(-rc));
	return rc;
}

/* Wait for the process (it was told to go), join its threads, close its
 * sockets: the sim closes every handle it had. */
static void ex_reap(struct ex_state *e, unsigned wait_ms)
{
	for (unsigned t = 0; e->pid && !atomic_load(&e->exited) && t < wait_ms; t += 10)
		usleep(10000);
	if (e->pid && !atomic_load(&e->exited)) {
		kill(-e->pid, SIGKILL);
		e->killed_by_us = true;
	}
	if (e->threads) {
		pthread_join(e->waiter, NULL);
		pthread_join(e->reader, NULL);
		e->threads = false;
	}
	remote_dom_stop(e->rd);
	e->rd = NULL;
}

static void ex_kv(const char *s, char *buf, size_t len, const char **kv)
{
	unsigned n = 0;
	char *save = NULL;

	snprintf(buf, len, "%s", s);
	for (char *it = strtok_r(buf, ",", &save); it && n < 32; it = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(it, '=');
		if (!eq)
			continue;
		*eq = '\0';
		kv[n++] = it;
		kv[n++] = eq + 1;
	}
	kv[n] = NULL;
}

static int ex_device(struct ex_state *e)
{
	const char *d = scn_wl_s(e->wl, P_DEVICE);
	const char *slash = strchr(d, '/');

	if (!*d)
		return 0;
	if (!slash || slash == d || (size_t)(slash - d) >= sizeof(e->type) || !*scn_wl_s(e->wl, P_BACK)) {
		scn_wl_error(e->wl, "device '%s': TYPE/DEVID with back=DOMAIN", d);
		return -EINVAL;
	}
	domid_t back;
	if (ex_back_domid(e, &back) < 0)
		return -EINVAL;
	snprintf(e->type, sizeof(e->type), "%.*s", (int)(slash - d), d);
	ex_kv(scn_wl_s(e->wl, P_BE), e->kvbuf[0], sizeof(e->kvbuf[0]), e->be_kv);
	ex_kv(scn_wl_s(e->wl, P_FE), e->kvbuf[1], sizeof(e->kvbuf[1]), e->fe_kv);
	e->dev = (struct xenbus_device){.type = e->type, .fe_domid = e->domid,
					.be_domid = back,
					.devid = (uint32_t)strtoul(slash + 1, NULL, 10),
					.fe_keys = e->fe_kv, .be_keys = e->be_kv};
	int rc = ex_ts(&e->dev, true);
	if (rc < 0)
		scn_wl_error(e->wl, "device %s of domain %u: the toolstack could not write it: %s", d,
			     e->domid, strerror(-rc));
	e->dev_made = rc == 0;
	return rc;
}

static int ex_start(struct scn_wl *wl)
{
	struct ex_state *e = calloc(1, sizeof(*e));

	if (!e)
		return -ENOMEM;
	wl->priv = e;
	e->wl = wl;
	e->domid = scn_wl_domid(wl, P_DOM);
	e->dom = (unsigned)scn_wl_u(wl, P_DOM);
	pthread_mutex_init(&e->lock, NULL);
	snprintf(e->dir, sizeof(e->dir), "/tmp/xensim-exec-XXXXXX");
	if (!mkdtemp(e->dir)) {
		scn_wl_error(wl, "cannot make a directory for the sockets: %s", strerror(errno));
		return -errno;
	}
	int rc = ex_device(e);
	if (rc == 0)
		rc = ex_up(e);
	if (rc == 0 && scn_wl_u(wl, P_DAEMON))
		scn_wl_done(wl);   /* it serves; the run does not wait for it */
	return rc;
}

/* ---- how it ended ---- */

/* The process's last lines on the run's timeline (its report), harness thread. */
static void ex_note_tail(struct ex_state *e)
{
	unsigned n = e->ntail < EX_TAIL_LINES ? e->ntail : EX_TAIL_LINES;

	for (unsigned i = e->ntail - n; i < e->ntail; i++)
		scn_wl_note(e->wl, e->domid, "%s: [%s] %.200s", e->wl->id, sim_domain_name(e->domid),
			    e->tail[i % EX_TAIL_LINES]);
	e->ntail = 0;
}

static void ex_ended(struct ex_state *e)
{
	int st = e->status;
	const char *name = sim_domain_name(e->domid);
	char fault[EX_LINE_MAX];
	unsigned want = (unsigned)scn_wl_u(e->wl, P_EXIT);

	pthread_mutex_lock(&e->lock);
	snprintf(fault, sizeof(fault), "%s", e->fault_line);
	pthread_mutex_unlock(&e->lock);
	ex_note_tail(e);
	if (fault[0]) {
		scn_wl_fail(e->wl, "%s", fault);
	} else if (WIFSIGNALED(st)) {
		scn_wl_error(e->wl, "domain %s (exec'd pid %d) killed by signal %d (%s): crashed",
			     name, (int)e->pid, WTERMSIG(st), strsignal(WTERMSIG(st)));
	} else if ((unsigned)WEXITSTATUS(st) != want) {
		scn_wl_fail(e->wl, "domain %s (exec'd pid %d) exited with status %d (expected %u); "
			    "its last line: %.200s", name, (int)e->pid, WEXITSTATUS(st), want,
			    e->last_line);
	} else {
		scn_wl_done(e->wl);
	}
}

/* A daemon told to go by SIGTERM at the end. */
static void ex_ended_daemon(struct ex_state *e)
{
	int st = e->status;

	ex_note_tail(e);
	unsigned want = (unsigned)scn_wl_u(e->wl, P_EXIT);

	/* Dying of the SIGTERM itself is a daemon's ordinary end too; what it
	 * left in xenstore then goes with its domain, destroyed as a toolstack
	 * destroys the domain of a program that ended. One that exits by itself
	 * keeps its domain: the leak checks hold it to clean up. */
	bool termed = WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM;
	bool clean = (WIFEXITED(st) && (unsigned)WEXITSTATUS(st) == want) || termed;
	if (clean && !e->fault_line[0]) {
		if (termed && e->wl->run->dom_alive[e->dom]) {
			e->pid = 0;
			scn_domain_crash(e->wl->run, e->dom, true);
		}
		return;
	}
	scn_run_outcome(e->wl->run, SCN_OUT_FAIL, "domain %s (exec'd pid %d, a daemon) after "
			"SIGTERM: %s %d; its last line: %.200s", sim_domain_name(e->domid),
			(int)e->pid, WIFSIGNALED(st) ? "killed by signal" : "exit status",
			WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st),
			e->fault_line[0] ? e->fault_line : e->last_line);
}

static void ex_check(struct scn_wl *wl)
{
	struct ex_state *e = wl->priv;

	if (!e || !e->pid || !atomic_load(&e->exited) || e->killed_by_us)
		return;
	ex_reap(e, 0);
	bool sig = WIFSIGNALED(e->status);
	scn_wl_note(wl, e->domid, "%s: pid %d %s %d", wl->id, (int)e->pid,
		    sig ? "killed by signal" : "exited with status",
		    sig ? WTERMSIG(e->status) : WEXITSTATUS(e->status));
	ex_ended(e);
	e->pid = 0;
	/* A program that died is a crashed domain, as a thread domain's crash. */
	if (sig && e->wl->run->dom_alive[e->dom])
		scn_domain_crash(e->wl->run, e->dom, false);
}

static void ex_domain_event(struct scn_wl *wl, domid_t domid, enum scn_dom_event ev)
{
	struct ex_state *e = wl->priv;

	if (!e || domid != e->domid)
		return;
	if (ev == SCN_DOM_CRASHED && e->pid) {
		if (!atomic_load(&e->exited)) {
			e->killed_by_us = true;
			kill(-e->pid, SIGKILL);
		}
		ex_reap(e, EX_TERM_WAIT_MS);
		scn_wl_note(wl, domid, "%s: domain %s %s: pid %d killed", wl->id,
			    sim_domain_name(domid), scn_wl_gone(wl, domid), (int)e->pid);
		e->pid = 0;
	} else if (ev == SCN_DOM_CRASHED) {
		remote_dom_stop(e->rd);
		e->rd = NULL;
	}
	if (ev == SCN_DOM_CRASHED && e->dev_made)
		ex_ts_teardown(&e->dev);   /* as libxl does for a dead guest's devices */
	if (ev == SCN_DOM_RESTARTED && !scn_wl_finished(wl)) {
		if (e->dev_made)
			ex_ts(&e->dev, true);
		ex_up(e);
	}
}

static void ex_stop(struct scn_wl *wl)
{
	struct ex_state *e = wl->priv;

	if (!e)
		return;
	if (e->pid && !atomic_load(&e->exited)) {
		kill(-e->pid, SIGTERM);
		ex_reap(e, EX_TERM_WAIT_MS);
		if (!e->killed_by_us)
			ex_ended_daemon(e);
		else
			scn_run_outcome(wl->run, SCN_OUT_FAIL, "domain %s (exec'd pid %d) did not exit "
					"within %u ms of SIGTERM: killed", sim_domain_name(e->domid),
					(int)e->pid, EX_TERM_WAIT_MS);
	} else if (e->pid) {
		ex_check(wl);
	}
	remote_dom_stop(e->rd);
	if (e->dev_made)
		ex_ts(&e->dev, false);
	rmdir(e->dir);
	pthread_mutex_destroy(&e->lock);
	free(e);
	wl->priv = NULL;
}

static uint64_t ex_counter(struct scn_wl *wl, unsigned i)
{
	struct ex_state *e = wl->priv;

	if (!e)
		return 0;
	return atomic_load(i == 0 ? &e->starts : i == 1 ? &e->exits : &e->lines);
}

const struct scn_wl_type scn_wl_exec = {
	.name = "exec",
	.what = "an unmodified program as the domain (`domain NAME exec \"CMD\"`), free mode",
	.params = ex_params,
	.counters = ex_counters,
	.start = ex_start,
	.domain_event = ex_domain_event,
	.check = ex_check,
	.stop = ex_stop,
	.counter = ex_counter,
};

/* ---- `domain NAME exec "COMMAND ARGS" [KEY=VALUE]...` ---- */

int scn_domain_exec(struct scn_parser *p, const char *dom, char **v, unsigned n)
{
	char id[SCN_NAME_MAX + 8], dparam[SCN_NAME_MAX + 8], cmd[SCN_TEXT_MAX + 8];
	char *argv[SCN_TOKENS_MAX + 8];
	unsigned k = 0;

	if (n == 0 || !v[0][0])
		return scn_perr(p, "domain %s: exec needs \"COMMAND ARGS\"", dom);
	if (strlen(v[0]) >= SCN_TEXT_MAX)
		return scn_perr(p, "domain %s: exec: the command is longer than %u bytes", dom,
				SCN_TEXT_MAX - 1);
	snprintf(id, sizeof(id), "id=%s", dom);
	snprintf(dparam, sizeof(dparam), "dom=%s", dom);
	snprintf(cmd, sizeof(cmd), "cmd=%s", v[0]);
	argv[k++] = "workload";
	argv[k++] = "exec";
	argv[k++] = id;
	argv[k++] = dparam;
	argv[k++] = cmd;
	for (unsigned i = 1; i < n && k < SCN_TOKENS_MAX + 7; i++)
		argv[k++] = v[i];
	argv[k] = NULL;
	return scn_parse_workload(p, argv, k);
}
