/*
 * sim/remote: the wire between an exec'd domain's client libraries
 * (sim/remote/client/, built as build/lib-remote/libxenevtchn.so.1 and
 * libxengnttab.so.1) and the sim process (sim/remote/server.c).
 *
 * Identity: each exec'd domain has its own listening socket (its path in the
 * child's XENSIM_REMOTE_SOCKET); every connection to it acts as that domain.
 * One connection per library handle (xenevtchn_open, xengnttab_open,
 * xengntshr_open): closing the handle closes the connection and the sim
 * closes its handle, with every map, share and notify the handle held, as
 * for an in-process handle; a process that dies closes them all.
 *
 * Messages are synchronous: one request, one reply. A request is a
 * struct rmt_req then req.len payload bytes; a reply a struct rmt_rep then
 * rep.len bytes, with rep.nfds file descriptors passed by SCM_RIGHTS on its
 * first byte (an eventfd at open, a domain's memfd the first time a map or
 * share names that domain's memory).
 *
 * This header is shared by both sides; it includes nothing of the sim.
 */
#ifndef SIM_REMOTE_PROTO_H
#define SIM_REMOTE_PROTO_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

#define RMT_ENV_SOCKET "XENSIM_REMOTE_SOCKET"   /* the domain's socket path */
#define RMT_MAGIC 0x78736d72u                   /* "xsmr" */
#define RMT_PAYLOAD_MAX (4u << 20)              /* one message's payload */
#define RMT_COPY_SEGS_MAX 256u                  /* grant copy segments per message */
#define RMT_MAP_PAGES_MAX 1024u                 /* pages of one map or share */
#define RMT_FDS_MAX 8u                          /* fds on one reply */
#define RMT_NAME_MAX 32u                        /* a domain's name, with NUL */

enum rmt_op {
	RMT_OPEN_EVTCHN = 1,   /* a0 flags; reply: domid, fds[0] the eventfd */
	RMT_OPEN_GNTTAB,       /* reply: domid, name */
	RMT_OPEN_GNTSHR,       /* reply: domid, name */
	RMT_EVT_BIND_UNBOUND,  /* a0 remote domid */
	RMT_EVT_BIND_INTERDOMAIN, /* a0 remote domid, a1 remote port */
	RMT_EVT_BIND_VIRQ,     /* a0 virq */
	RMT_EVT_UNBIND,        /* a0 port */
	RMT_EVT_NOTIFY,        /* a0 port */
	RMT_EVT_PENDING,       /* blocks as xenevtchn_pending does */
	RMT_EVT_UNMASK,        /* a0 port */
	RMT_EVT_RESTRICT,      /* a0 domid */
	RMT_GNT_SET_MAX,       /* a0 count */
	RMT_GNT_MAP,           /* a0 count, a1 prot, a2 notify offset, a3 notify port,
	                          a4 1: notify; payload count x {u32 domid, u32 ref};
	                          reply: v0 the sim-side address (the handle of the map),
	                          payload count x struct rmt_page */
	RMT_GNT_UNMAP,         /* a0 sim-side address, a1 count */
	RMT_GNT_COPY,          /* a0 count; payload count x struct rmt_copy_seg then the
	                          bytes of segments whose source is local; reply payload:
	                          count x int16 status then the bytes of segments whose
	                          destination is local */
	RMT_SHR_SHARE,         /* a0 domid, a1 count, a2 writable, a3 notify offset,
	                          a4 notify port, a5 1: notify; reply: v0 sim-side address,
	                          payload count x struct rmt_page */
	RMT_SHR_UNSHARE,       /* a0 sim-side address, a1 count */
	RMT_OPEN_CTRL,         /* libxenctrl's few calls (client/ctrl.c); reply: domid, name */
	RMT_CTRL_DOMINFO,      /* a0 first domid, a1 max; reply payload: n x struct rmt_dominfo,
	                          the live domains from a0 on, ascending */
	RMT_OP_LIMIT
};

struct rmt_req {
	uint32_t magic;
	uint32_t op;
	uint32_t len;
	uint32_t pad;
	uint64_t a[6];
};

struct rmt_rep {
	int64_t rc;            /* >= 0, or -1 with err the errno */
	int32_t err;
	uint32_t len;
	uint32_t nfds;
	uint32_t domid;        /* the connection's domain */
	uint64_t v0;
	char name[RMT_NAME_MAX];   /* the connection's domain's name (open) */
};

/* One page of a map or share: where its frame lives and what to report on a
 * fault. memfd_id names the grantor's memory; the first reply naming an id
 * on a connection carries its fd (fd_index), later ones fd_index = -1. */
struct rmt_page {
	uint64_t memfd_id;
	uint64_t offset;       /* of the frame in that memory */
	uint32_t grantor;
	uint32_t frame;
	uint32_t ref;
	int32_t fd_index;      /* into the reply's fds, or -1 */
	char grantor_name[RMT_NAME_MAX];
};

#define RMT_DOMINFO_MAX 64u     /* domains of one RMT_CTRL_DOMINFO reply */

struct rmt_dominfo {
	uint32_t domid;
	uint32_t privileged;
	uint64_t pages;        /* frames of its memory */
};

struct rmt_copy_seg {
	uint32_t flags;        /* GNTCOPY_source_gref / GNTCOPY_dest_gref */
	uint32_t len;
	uint32_t src_ref, src_domid, src_offset;
	uint32_t dst_ref, dst_domid, dst_offset;
};

/* Read exactly len bytes: 0, -ECONNRESET at EOF, or -errno. */
static inline int rmt_read_all(int fd, void *buf, size_t len)
{
	for (size_t got = 0; got < len;) {
		ssize_t n = read(fd, (char *)buf + got, len - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n == 0 ? -ECONNRESET : -errno;
		got += (size_t)n;
	}
	return 0;
}

/* Send all of mh's iovecs (total bytes); the control data goes with the
 * first sendmsg only. 0 or -errno. */
static inline int rmt_sendmsg_all(int fd, struct msghdr *mh, size_t total)
{
	size_t sent = 0;

	while (sent < total) {
		ssize_t n = sendmsg(fd, mh, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		sent += (size_t)n;
		mh->msg_control = NULL;
		mh->msg_controllen = 0;
		while (n > 0 && mh->msg_iovlen) {   /* drop what went out */
			size_t k = (size_t)n < mh->msg_iov->iov_len ? (size_t)n : mh->msg_iov->iov_len;
			mh->msg_iov->iov_base = (char *)mh->msg_iov->iov_base + k;
			mh->msg_iov->iov_len -= k;
			n -= (ssize_t)k;
			if (mh->msg_iov->iov_len == 0) {
				mh->msg_iov++;
				mh->msg_iovlen--;
			}
		}
	}
	return 0;
}

#endif
