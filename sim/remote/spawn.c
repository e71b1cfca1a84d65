/*
 * Starting an exec'd domain's program: /bin/sh -c "exec COMMAND" in its own
 * process group, stdin /dev/null, with the environment that makes Debian's
 * Xen libraries reach the sim as that domain (remote.h). Used by the exec
 * workload and by xensim_domain_exec (include/xensim.h), which also keeps
 * the domain's sockets until the domain goes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim/hypervisor/hypervisor.h"
#include "sim/remote/remote.h"
#include "sim/remote/remote_proto.h"

#define SP_ENV_MAX 256u           /* variables passed on */
#define SP_VAR_MAX (PATH_MAX + 64)

extern char **environ;

static int sp_lib_dir(char *buf, size_t len)
{
	const char *env = getenv(REMOTE_ENV_LIB);
	char exe[PATH_MAX];
	ssize_t n;

	if (env && *env)
		return snprintf(buf, len, "%s", env) < (int)len ? 0 : -ENAMETOOLONG;
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n < 0)
		return -errno;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = '\0';
	return snprintf(buf, len, "%s/lib-remote", exe) < (int)len ? 0 : -ENAMETOOLONG;
}

/* environ with our three variables set (LD_LIBRARY_PATH: ours first). */
static int sp_env(const struct remote_dom *rd, char **envp, char (*own)[SP_VAR_MAX])
{
	char lib[PATH_MAX];
	const char *old = getenv("LD_LIBRARY_PATH");
	unsigned n = 0;
	int rc = sp_lib_dir(lib, sizeof(lib));

	if (rc < 0)
		return rc;
	char probe[PATH_MAX + 32];
	snprintf(probe, sizeof(probe), "%s/libxenevtchn.so.1", lib);
	if (access(probe, R_OK) != 0) {
		sim_log("remote: no %s: the client libraries are built by make in build/lib-remote; "
			"set %s to their directory", probe, REMOTE_ENV_LIB);
		return -ENOENT;
	}
	int len = snprintf(own[0], SP_VAR_MAX, "LD_LIBRARY_PATH=%s%s%.*s", lib,
			   old && *old ? ":" : "", PATH_MAX, old && *old ? old : "");
	if (len < 0 || len >= (int)SP_VAR_MAX) {
		sim_log("remote: LD_LIBRARY_PATH with %s in front is over %u bytes", lib,
			(unsigned)SP_VAR_MAX);
		return -ENAMETOOLONG;
	}
	snprintf(own[1], SP_VAR_MAX, "%s=%s", RMT_ENV_SOCKET, remote_dom_socket(rd));
	snprintf(own[2], SP_VAR_MAX, "XENSTORED_PATH=%s", remote_dom_xs_socket(rd));
	for (char **p = environ; *p && n < SP_ENV_MAX - 4; p++)
		if (strncmp(*p, "LD_LIBRARY_PATH=", 16) != 0 && strncmp(*p, "XENSTORED_PATH=", 15) != 0 &&
		    strncmp(*p, RMT_ENV_SOCKET "=", sizeof(RMT_ENV_SOCKET)) != 0)
			envp[n++] = *p;
	for (unsigned i = 0; i < 3; i++)
		envp[n++] = own[i];
	envp[n] = NULL;
	return 0;
}

int remote_spawn(const struct remote_dom *rd, const char *command, int out_fd, pid_t *pid)
{
	char *envp[SP_ENV_MAX];
	char (*own)[SP_VAR_MAX] = malloc(3 * SP_VAR_MAX);
	char *cmd = malloc(strlen(command) + 6);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t at;
	int rc = own && cmd ? sp_env(rd, envp, own) : -ENOMEM;

	if (rc == 0) {
		sprintf(cmd, "exec %s", command);
		char *argv[] = {"/bin/sh", "-c", cmd, NULL};
		posix_spawn_file_actions_init(&fa);
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		if (out_fd >= 0) {
			posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
			posix_spawn_file_actions_adddup2(&fa, out_fd, 2);
		}
		posix_spawnattr_init(&at);
		posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
		posix_spawnattr_setpgroup(&at, 0);
		rc = -posix_spawn(pid, "/bin/sh", &fa, &at, argv, envp);
		posix_spawn_file_actions_destroy(&fa);
		posix_spawnattr_destroy(&at);
	}
	free(own);
	free(cmd);
	return rc;
}

/* ---- xensim_domain_exec: the sockets live as long as the domain ---- */

static pthread_mutex_t sp_lock = PTHREAD_MUTEX_INITIALIZER;
static struct remote_dom *sp_doms[SIM_DOMID_LIMIT];
static char sp_dirs[SIM_DOMID_LIMIT][32];

static void sp_on_destroy(domid_t domid, bool crashed)
{
	(void)crashed;
	pthread_mutex_lock(&sp_lock);
	struct remote_dom *rd = sp_doms[domid];
	sp_doms[domid] = NULL;
	pthread_mutex_unlock(&sp_lock);
	if (!rd)
		return;
	remote_dom_stop(rd);
	rmdir(sp_dirs[domid]);
}

static const struct sim_domain_hooks sp_hooks = {
	.name = "remote-exec",
	.order = 40,                  /* after xenstore's: the handles are dead already */
	.on_destroy = sp_on_destroy,
};

__attribute__((constructor)) static void sp_register(void)
{
	sim_domain_hooks_register(&sp_hooks);
}

int remote_domain_exec(domid_t domid, const char *command, pid_t *pid)
{
	struct remote_dom *rd;
	int rc = 0;

	if (!sim_domain_alive(domid))
		return -ESRCH;
	pthread_mutex_lock(&sp_lock);
	rd = sp_doms[domid];
	if (!rd) {
		snprintf(sp_dirs[domid], sizeof(sp_dirs[domid]), "/tmp/xensim-exec-XXXXXX");
		rc = mkdtemp(sp_dirs[domid]) ? remote_dom_start(domid, sp_dirs[domid], &rd) : -errno;
		if (rc == 0)
			sp_doms[domid] = rd;
	}
	pthread_mutex_unlock(&sp_lock);
	return rc < 0 ? rc : remote_spawn(rd, command, -1, pid);
}
