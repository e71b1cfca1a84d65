/*
 * The client side of exec'd domains (see sim/remote/remote_proto.h): what
 * libxenevtchn.so.1 and libxengnttab.so.1 of build/lib-remote/ share. Each
 * library handle is one connection to the domain's socket, named by
 * XENSIM_REMOTE_SOCKET, which xensim sets for the processes it starts.
 * Nothing of the sim is linked in: every call is a request to the sim.
 */
#ifndef SIM_REMOTE_CLIENT_RC_H
#define SIM_REMOTE_CLIENT_RC_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sim/remote/remote_proto.h"

struct rc_conn {
	int fd;
	uint32_t domid;
	char name[RMT_NAME_MAX];
	pthread_mutex_t lock;        /* one call at a time per handle */
};

struct rc_reply {
	struct rmt_rep rep;
	uint8_t *data;               /* rep.len bytes, malloc'd (NULL if none) */
	int fds[RMT_FDS_MAX];        /* rep.nfds of them, now ours */
};

/* Connect and open a handle of kind op (RMT_OPEN_*) with flags; NULL with
 * errno on failure (one stderr line says why). *efd: the eventfd passed
 * (evtchn), else -1. cloexec: keep received fds close-on-exec. */
struct rc_conn *rc_open(enum rmt_op op, uint64_t flags, bool cloexec, int *efd);
void rc_close(struct rc_conn *c);
/* One call: rc >= 0 as returned, or -1 with errno set. r may be NULL when the
 * reply carries nothing but rc; otherwise free r->data (and use or close
 * r->fds) after. */
int64_t rc_call(struct rc_conn *c, enum rmt_op op, const uint64_t a[6], const void *p1,
		size_t n1, const void *p2, size_t n2, struct rc_reply *r);

#endif
