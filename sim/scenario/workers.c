/*
 * Reused worker processes for runs that are many and short (a seed sweep).
 * A fresh process per run costs about a fifth of a short block run: the fork,
 * a page fault for every page of the parent the child writes, a malloc arena
 * per domain thread, and the unmapping of every quarantined range. A worker
 * is forked once from the parent (the scenario parsed, the library
 * initialised) and runs job after job in-process, resetting the sim between
 * them as the tests do but leaving the quarantine to its exit, which frees it
 * at once; the parent hands out one job at a time over a socket pair, with
 * the memory file the run's output goes to.
 *
 * Isolation stays what a user relies on: a worker goes on only after a run
 * that passed cleanly (outcome pass, det mode, every domain gone); after
 * anything else it exits and the next job gets a fresh worker. A worker that
 * dies (a memory-protection fault, an abort, the wall-clock limit) costs only
 * the run it had: that run is reported as died, with the trace hash of its
 * last slice, exactly as an isolated run would be. A run's trace hash does
 * not depend on what ran before it in the process: the engine resets every
 * seeded state at the start of a run (tests/sweep_workers_test.c compares
 * with a fresh process per run).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/scenario/scn_internal.h"

#define WK_MAX 64u                    /* worker processes at once */
#define WK_NONE UINT32_MAX
/* Runs a worker does before it hands over to a fresh one: each run leaves its
 * unmapped ranges in quarantine, which the exit frees at once, far cheaper
 * than range by range; a fork per this many runs is cheap. */
#define WK_RUNS_MAX 64u

/* What a worker shares with the parent, one job at a time. */
struct wk_shared {
	struct scn_result result;
	struct scn_progress progress;
};

/* parent -> worker: run job `index` (its output fd rides along) or stop;
 * worker -> parent: job `index` is done, and whether the worker goes on. */
struct wk_msg {
	uint32_t index;
	bool more;
};

struct wk {
	pid_t pid;
	int sock;                 /* the parent's end */
	uint32_t job;             /* the job it runs, or WK_NONE */
	struct wk_shared *sh;
};

struct wk_pool {
	struct scn_job *jobs;
	unsigned n, next, done;
	void (*on_done)(struct scn_job *job, void *arg);
	void *arg;
	struct wk w[WK_MAX];
	unsigned nw;
};

/* ---- the worker ---- */

static int wk_recv(int sock, struct wk_msg *m, int *fd)
{
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			    .msg_controllen = sizeof(ctl)};
	ssize_t got;

	*fd = -1;
	while ((got = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
		;
	if (got != (ssize_t)sizeof(*m))
		return -EPIPE;
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return 0;
}

static int wk_send(int sock, const struct wk_msg *m, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = {0};
	struct iovec iov = {(void *)m, sizeof(*m)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

	if (fd >= 0) {
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	ssize_t put;
	while ((put = sendmsg(sock, &mh, MSG_NOSIGNAL)) < 0 && errno == EINTR)
		;
	return put == (ssize_t)sizeof(*m) ? 0 : -EPIPE;
}

/* One job, in this process; true if the process is fit for another. */
static bool wk_run_one(struct scn_job *job, struct wk_shared *sh, int out_fd)
{
	if (out_fd >= 0) {
		dup2(out_fd, STDOUT_FILENO);
		dup2(out_fd, STDERR_FILENO);
		close(out_fd);
	}
	memset(&sh->progress, 0, sizeof(sh->progress));
	job->o.progress = &sh->progress;
	alarm(job->o.wall_limit_s ? job->o.wall_limit_s : SCN_WALL_LIMIT_S_DEFAULT);
	scn_run(job->s, &job->o, &sh->result);
	alarm(0);
	fflush(NULL);
	/* Free mode: its timers are detached threads that may outlive the run. */
	return sh->result.verdict == SCN_VERDICT_PASS && sh->result.outcome == SCN_OUT_PASS &&
	       sh->result.mode == SIM_MODE_DET && sim_domain_count() == 0;
}

static __attribute__((noreturn)) void wk_main(struct wk_pool *p, int sock, struct wk_shared *sh)
{
	struct wk_msg m;
	int fd;

	for (unsigned runs = 1; wk_recv(sock, &m, &fd) == 0 && m.index < p->n; runs++) {
		m.more = wk_run_one(&p->jobs[m.index], sh, fd) && runs < WK_RUNS_MAX;
		if (wk_send(sock, &m, -1) < 0 || !m.more)
			break;
	}
	_exit(0);
}

/* ---- the parent ---- */

static int wk_start(struct wk_pool *p, struct wk *w)
{
	int sv[2];

	w->sh = mmap(NULL, sizeof(*w->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (w->sh == MAP_FAILED) {
		w->sh = NULL;
		return -errno;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		int err = -errno;
		munmap(w->sh, sizeof(*w->sh));
		w->sh = NULL;
		return err;
	}
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		for (unsigned i = 0; i < p->nw; i++)   /* the other workers' sockets */
			if (p->w[i].pid > 0)
				close(p->w[i].sock);
		wk_main(p, sv[1], w->sh);
	}
	close(sv[1]);
	if (pid < 0) {
		close(sv[0]);
		munmap(w->sh, sizeof(*w->sh));
		w->sh = NULL;
		return -errno;
	}
	*w = (struct wk){.pid = pid, .sock = sv[0], .job = WK_NONE, .sh = w->sh};
	return 0;
}

/* Give the worker the next job; false when there is none (it is told to stop). */
static bool wk_assign(struct wk_pool *p, struct wk *w)
{
	if (p->next >= p->n)
		return false;
	struct scn_job *job = &p->jobs[p->next];
	job->out_fd = job->capture ? memfd_create("xensim-run", MFD_CLOEXEC) : -1;
	if (wk_send(w->sock, &(struct wk_msg){.index = p->next}, job->out_fd) < 0) {
		if (job->out_fd >= 0)
			close(job->out_fd);
		job->out_fd = -1;
		return false;   /* it died: the caller reaps it, the job waits for another */
	}
	job->pid = w->pid;
	w->job = p->next++;
	return true;
}

static void wk_job_done(struct wk_pool *p, struct scn_job *job)
{
	p->done++;
	job->pid = 0;
	if (p->on_done)
		p->on_done(job, p->arg);
	if (job->out_fd >= 0)
		close(job->out_fd);
	job->out_fd = -1;
}

/* The worker is gone: reap it, and its unfinished job (if any) died with it. */
static void wk_reap(struct wk_pool *p, struct wk *w)
{
	int status = 0;

	close(w->sock);
	while (waitpid(w->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (w->job != WK_NONE) {
		struct scn_job *job = &p->jobs[w->job];
		scn_job_died(job, status, &w->sh->progress);
		wk_job_done(p, job);
	}
	munmap(w->sh, sizeof(*w->sh));
	*w = (struct wk){.pid = 0, .job = WK_NONE};
}

/* A message from the worker, or its end. */
static void wk_event(struct wk_pool *p, struct wk *w)
{
	struct wk_msg m;
	int fd;

	if (wk_recv(w->sock, &m, &fd) < 0 || m.index != w->job) {
		wk_reap(p, w);
		return;
	}
	struct scn_job *job = &p->jobs[w->job];
	job->r = w->sh->result;
	w->job = WK_NONE;
	wk_job_done(p, job);
	if (!m.more || !wk_assign(p, w)) {
		shutdown(w->sock, SHUT_WR);   /* it stops at EOF */
		wk_reap(p, w);
	}
}

/* Enough workers for the jobs not yet handed out, each with its first job. */
static int wk_fill(struct wk_pool *p)
{
	for (unsigned i = 0; i < p->nw && p->next < p->n; i++) {
		struct wk *w = &p->w[i];
		if (w->pid > 0)
			continue;
		int rc = wk_start(p, w);
		if (rc < 0)
			return rc;
		if (!wk_assign(p, w)) {
			shutdown(w->sock, SHUT_WR);
			wk_reap(p, w);
		}
	}
	return 0;
}

static int wk_wait(struct wk_pool *p)
{
	struct pollfd fds[WK_MAX];
	unsigned idx[WK_MAX], k = 0;

	for (unsigned i = 0; i < p->nw; i++) {
		if (p->w[i].pid <= 0)
			continue;
		fds[k] = (struct pollfd){.fd = p->w[i].sock, .events = POLLIN};
		idx[k++] = i;
	}
	if (k == 0)
		return -EIO;   /* jobs left, no worker: cannot happen after wk_fill */
	if (poll(fds, k, -1) < 0)
		return errno == EINTR ? 0 : -errno;
	for (unsigned j = 0; j < k; j++)
		if (fds[j].revents)
			wk_event(p, &p->w[idx[j]]);
	return 0;
}

int scn_jobs_run_reusing(struct scn_job *jobs, unsigned n, unsigned parallel,
			 void (*on_done)(struct scn_job *job, void *arg), void *arg)
{
	struct wk_pool *p = calloc(1, sizeof(*p));
	int rc = 0;

	if (!p)
		return -ENOMEM;
	*p = (struct wk_pool){.jobs = jobs, .n = n, .on_done = on_done, .arg = arg};
	p->nw = parallel == 0 ? 1 : parallel > WK_MAX ? WK_MAX : parallel;
	if (p->nw > n)
		p->nw = n;
	for (unsigned i = 0; i < n; i++)
		jobs[i].out_fd = -1;
	while (rc == 0 && p->done < n) {
		rc = wk_fill(p);
		if (rc == 0)
			rc = wk_wait(p);
	}
	for (unsigned i = 0; i < p->nw; i++) {   /* an error: let the workers go */
		if (p->w[i].pid > 0) {
			shutdown(p->w[i].sock, SHUT_WR);
			wk_reap(p, &p->w[i]);
		}
	}
	free(p);
	return rc;
}
