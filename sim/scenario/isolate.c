/*
 * Isolated runs: each run in its own forked child, so that what the code
 * under test may do to the process (a memory-protection fault ends it with
 * status 1 and a report; an abort; a hang past the wall-clock limit) ends that
 * run only, and every run starts from a fresh process. The child writes its
 * result, and after every slice its trace hash, into a page shared with the
 * parent: a run that died still has a hash to print, the one of its last
 * slice, which is as reproducible as the death itself.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sim/scenario/scn_internal.h"

struct scn_shared {
	struct scn_result result;
	struct scn_progress progress;
	bool result_done;
};

static struct scn_shared *shared_new(void)
{
	void *p = mmap(NULL, sizeof(struct scn_shared), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

static void shared_free(struct scn_shared *sh)
{
	if (sh)
		munmap(sh, sizeof(*sh));
}

static void child_main(struct scn_job *job)
{
	struct scn_result r;

	if (job->out_fd >= 0) {
		if (!job->capture_stderr_only)
			dup2(job->out_fd, STDOUT_FILENO);
		dup2(job->out_fd, STDERR_FILENO);
	}
	alarm(job->o.wall_limit_s ? job->o.wall_limit_s : SCN_WALL_LIMIT_S_DEFAULT);
	job->o.progress = &job->shared->progress;
	scn_run_process_ends();
	scn_run(job->s, &job->o, &r);
	job->shared->result = r;
	job->shared->result_done = true;
	fflush(NULL);
	sim_coverage_flush();
	_exit(0);
}

static int job_start(struct scn_job *job)
{
	job->shared = shared_new();
	job->out_fd = -1;
	if (!job->shared)
		return -ENOMEM;
	if (job->capture)
		job->out_fd = memfd_create("xensim-run", MFD_CLOEXEC);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int err = errno;
		shared_free(job->shared);
		job->shared = NULL;
		return -err;
	}
	if (pid == 0)
		child_main(job);
	job->pid = pid;
	return 0;
}

/* The child ended without a result: say how, with what it last published. */
void scn_job_died(struct scn_job *job, int status, const struct scn_progress *last)
{
	struct scn_result *r = &job->r;
	uint64_t seed = job->o.seed_set ? job->o.seed : job->s->seed;

	memset(r, 0, sizeof(*r));
	r->verdict = SCN_VERDICT_FAIL;
	r->outcome = SCN_OUT_FAIL;
	r->died = true;
	r->seed = seed;
	r->mode = job->o.mode >= 0 ? job->o.mode : (int)job->s->mode;
	r->trace_hash = last->trace_hash;
	r->steps = last->steps;
	r->vt_ns = last->vt_ns;
	if (WIFEXITED(status) && WEXITSTATUS(status) == SCN_EXIT_LIVELOCK && last->livelock[0]) {
		/* Not a death: the run ended itself, with a verdict to give. */
		r->died = false;
		r->outcome = SCN_OUT_HANG;
		r->verdict = job->s->expect == SCN_EXPECT_HANG ? SCN_VERDICT_PASS : SCN_VERDICT_FAIL;
		snprintf(r->reason, sizeof(r->reason), "livelock: %s (the run ended there, after "
			 "step %lu)", last->livelock, r->steps);
	} else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM) {
		r->verdict = SCN_VERDICT_HARNESS;
		r->outcome = SCN_OUT_HARNESS;
		snprintf(r->reason, sizeof(r->reason), "the run passed its wall-clock limit of %u s "
			 "(a domain spinning without scheduling points?)",
			 job->o.wall_limit_s ? job->o.wall_limit_s : SCN_WALL_LIMIT_S_DEFAULT);
	} else if (WIFSIGNALED(status)) {
		snprintf(r->reason, sizeof(r->reason), "the run died of signal %d (%s) after step %lu: "
			 "a broken invariant or a crash in the code under test (see its output)",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), r->steps);
	} else {
		snprintf(r->reason, sizeof(r->reason), "the run ended with status %d after step %lu "
			 "without a verdict: a memory-protection fault or an exit in the code under test "
			 "(see its output)", WEXITSTATUS(status), r->steps);
	}
}

static void job_finish(struct scn_job *job, int status)
{
	if (job->shared->result_done)
		job->r = job->shared->result;
	else
		scn_job_died(job, status, &job->shared->progress);
	shared_free(job->shared);
	job->shared = NULL;
	job->pid = 0;
}

int scn_jobs_run(struct scn_job *jobs, unsigned n, unsigned parallel,
		 void (*on_done)(struct scn_job *job, void *arg), void *arg)
{
	unsigned next = 0, running = 0;
	int rc = 0;

	if (parallel == 0)
		parallel = 1;
	while (next < n || running > 0) {
		while (next < n && running < parallel && rc == 0) {
			rc = job_start(&jobs[next++]);
			running += rc == 0;
		}
		if (running == 0)
			break;
		int status;
		pid_t pid = waitpid(-1, &status, 0);
		if (pid < 0 && errno == EINTR)
			continue;
		if (pid < 0)
			return -errno;
		for (unsigned i = 0; i < next; i++) {
			if (jobs[i].pid != pid)
				continue;
			job_finish(&jobs[i], status);
			running--;
			if (on_done)
				on_done(&jobs[i], arg);
			if (jobs[i].out_fd >= 0)
				close(jobs[i].out_fd);
			jobs[i].out_fd = -1;
		}
	}
	return rc;
}

void scn_job_tail(const struct scn_job *job, unsigned lines, char *buf, size_t len)
{
	off_t size = job->out_fd >= 0 ? lseek(job->out_fd, 0, SEEK_END) : 0;
	size_t want = len - 1;
	off_t from = size > (off_t)want ? size - (off_t)want : 0;

	buf[0] = '\0';
	if (size <= 0)
		return;
	ssize_t got = pread(job->out_fd, buf, (size_t)(size - from), from);
	buf[got > 0 ? got : 0] = '\0';
	/* Keep the last `lines` lines. */
	char *p = buf + strlen(buf);
	unsigned seen = 0;
	while (p > buf && seen <= lines)
		if (*--p == '\n' && p[1])
			seen++;
	if (p != buf)
		memmove(buf, p + 1, strlen(p + 1) + 1);
}

int scn_run_isolated(const struct scenario *s, const struct scn_run_opts *o,
		     struct scn_result *r)
{
	struct scn_job job = {.s = s, .o = *o};
	int rc = scn_jobs_run(&job, 1, 1, NULL, NULL);

	*r = job.r;
	return rc;
}

/* The whole held-back log of a run, to stderr. */
static void job_log_show(struct scn_job *job, void *arg)
{
	bool show = *(bool *)arg || job->r.verdict != SCN_VERDICT_PASS;
	char buf[4096];
	ssize_t got;

	if (!show || job->out_fd < 0)
		return;
	for (off_t at = 0; (got = pread(job->out_fd, buf, sizeof(buf), at)) > 0; at += got)
		if (write(STDERR_FILENO, buf, (size_t)got) != got)
			return;
}

int scn_run_isolated_log(const struct scenario *s, const struct scn_run_opts *o,
			 struct scn_result *r, bool show_log)
{
	struct scn_job job = {.s = s, .o = *o, .capture = !show_log, .capture_stderr_only = true};
	int rc = scn_jobs_run(&job, 1, 1, job_log_show, &show_log);

	*r = job.r;
	return rc;
}
