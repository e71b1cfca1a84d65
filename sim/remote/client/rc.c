/*
 * Connections of the client libraries: connect to the domain's socket, one
 * synchronous request/reply at a time, fds received with SCM_RIGHTS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sim/remote/client/rc.h"

static int rc_connect(void)
{
	const char *path = getenv(RMT_ENV_SOCKET);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "xensim remote: %s is %s: this library serves exec'd domains "
			"of xensim only\n", RMT_ENV_SOCKET, path && *path ? "too long" : "not set");
		errno = ENOENT;
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;
		fprintf(stderr, "xensim remote: cannot connect to %s: %s\n", path, strerror(e));
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

/* The reply header with its fds, then its payload. */
static int rc_recv(struct rc_conn *c, struct rc_reply *r, bool cloexec)
{
	char cbuf[CMSG_SPACE(sizeof(int) * RMT_FDS_MAX)];
	struct iovec iov = {&r->rep, sizeof(r->rep)};
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf)};
	ssize_t n;
	unsigned nfds = 0;

	do
		n = recvmsg(c->fd, &mh, cloexec ? MSG_CMSG_CLOEXEC : 0);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return n == 0 ? -ECONNRESET : -errno;
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
			nfds = (unsigned)((cm->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(r->fds, CMSG_DATA(cm), sizeof(int) * nfds);
		}
	int rc = (size_t)n < sizeof(r->rep) ? rmt_read_all(c->fd, (char *)&r->rep + n,
							   sizeof(r->rep) - (size_t)n) : 0;
	if (rc == 0 && (nfds != r->rep.nfds || r->rep.len > RMT_PAYLOAD_MAX))
		rc = -EPROTO;
	if (rc == 0 && r->rep.len) {
		r->data = malloc(r->rep.len);
		rc = r->data ? rmt_read_all(c->fd, r->data, r->rep.len) : -ENOMEM;
	}
	if (rc < 0) {
		for (unsigned i = 0; i < nfds; i++)
			close(r->fds[i]);
		free(r->data);
		r->data = NULL;
	}
	return rc;
}

static int64_t rc_call_flags(struct rc_conn *c, enum rmt_op op, const uint64_t a[6],
			     const void *p1, size_t n1, const void *p2, size_t n2,
			     struct rc_reply *r, bool cloexec)
{
	struct rmt_req rq = {.magic = RMT_MAGIC, .op = op, .len = (uint32_t)(n1 + n2)};
	struct iovec iov[3] = {{&rq, sizeof(rq)}, {(void *)p1, n1}, {(void *)p2, n2}};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 3};
	struct rc_reply local;
	int rc;

	if (n1 + n2 > RMT_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (a)
		memcpy(rq.a, a, sizeof(rq.a));
	if (!r)
		r = &local;
	memset(r, 0, sizeof(*r));
	pthread_mutex_lock(&c->lock);
	rc = rmt_sendmsg_all(c->fd, &mh, sizeof(rq) + n1 + n2);
	if (rc == 0)
		rc = rc_recv(c, r, cloexec);
	pthread_mutex_unlock(&c->lock);
	if (rc < 0) {
		fprintf(stderr, "xensim remote: dom%u: call %u: the sim's connection failed: %s\n",
			c->domid, op, strerror(-rc));
		errno = rc == -ECONNRESET ? ESRCH : -rc;
		return -1;
	}
	if (r == &local) {
		free(local.data);
		for (unsigned i = 0; i < local.rep.nfds; i++)
			close(local.fds[i]);
	}
	if (r->rep.rc < 0)
		errno = r->rep.err;
	return r->rep.rc;
}

int64_t rc_call(struct rc_conn *c, enum rmt_op op, const uint64_t a[6], const void *p1,
		size_t n1, const void *p2, size_t n2, struct rc_reply *r)
{
	return rc_call_flags(c, op, a, p1, n1, p2, n2, r, true);
}

struct rc_conn *rc_open(enum rmt_op op, uint64_t flags, bool cloexec, int *efd)
{
	struct rc_conn *c = calloc(1, sizeof(*c));
	uint64_t a[6] = {flags};
	struct rc_reply r;

	*efd = -1;
	if (!c)
		return NULL;
	pthread_mutex_init(&c->lock, NULL);
	c->domid = UINT32_MAX;
	c->fd = rc_connect();
	if (c->fd < 0 || rc_call_flags(c, op, a, NULL, 0, NULL, 0, &r, cloexec) < 0) {
		int e = errno;
		rc_close(c);
		errno = e;
		return NULL;
	}
	c->domid = r.rep.domid;
	memcpy(c->name, r.rep.name, sizeof(c->name));
	c->name[sizeof(c->name) - 1] = '\0';
	free(r.data);
	if (r.rep.nfds)
		*efd = r.fds[0];
	return c;
}

void rc_close(struct rc_conn *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	pthread_mutex_destroy(&c->lock);
	free(c);
}
