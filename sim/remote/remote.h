/*
 * sim/remote: domains that are separate processes (exec'd domains).
 *
 * The sim side of the client libraries in sim/remote/client/: for one domain,
 * a listening unix socket whose every connection acts as that domain (one per
 * xenevtchn/xengnttab/xengntshr handle of the process, served by a thread of
 * its own that calls the in-process API as that domain), and a xenstored
 * socket (sim/xenstore/wire_server) whose connections are that domain's, for
 * Debian's own libxenstore.so.4 through XENSTORED_PATH.
 *
 * Free mode only: in det mode one domain thread runs at a time, under the
 * token; a process outside the scheduler cannot be made to wait for it, so
 * remote_dom_start refuses (-ENOTSUP, with a log line naming this file).
 *
 * Conventions: 0 or a negative errno.
 */
#ifndef SIM_REMOTE_H
#define SIM_REMOTE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <xen/xen.h>

#define REMOTE_PATH_MAX 108u              /* sun_path, with its NUL */
#define REMOTE_CONNS_MAX 256u             /* handles open at once per domain */
#define REMOTE_MEMFDS_MAX 256u            /* memfds remembered per connection */
#define REMOTE_ENV_LIB "XENSIM_LIB_REMOTE"  /* the client libraries' directory, if not
                                               lib-remote beside the running binary */

struct remote_dom;

struct remote_stats {
	uint64_t conns_accepted;   /* handles opened */
	uint64_t conns_open;       /* open now */
	uint64_t calls;            /* requests served */
	uint64_t fds_sent;         /* eventfds and memfds passed */
};

/* Serve domain domid on dir/dom<domid>.sock and dir/dom<domid>.xs (dir must
 * exist; stale sockets there are replaced). */
int remote_dom_start(domid_t domid, const char *dir, struct remote_dom **out);
/* Close every connection (the sim closes their handles: maps unmapped,
 * shares ended, ports closed, as for an in-process handle), join the
 * threads, remove the sockets, free. NULL is fine. */
void remote_dom_stop(struct remote_dom *rd);

const char *remote_dom_socket(const struct remote_dom *rd);
const char *remote_dom_xs_socket(const struct remote_dom *rd);
void remote_dom_stats(struct remote_dom *rd, struct remote_stats *out);

/* Start /bin/sh -c "exec COMMAND" as rd's domain (spawn.c): its own process
 * group, stdin /dev/null, stdout and stderr to out_fd (< 0: inherited);
 * LD_LIBRARY_PATH, XENSIM_REMOTE_SOCKET and XENSTORED_PATH set. */
int remote_spawn(const struct remote_dom *rd, const char *command, int out_fd, pid_t *pid);
/* xensim_domain_exec: the domain's sockets are made at the first call and
 * stay until the domain is destroyed (a domain hook). */
int remote_domain_exec(domid_t domid, const char *command, pid_t *pid);

#endif
