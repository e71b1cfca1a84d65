/*
 * The sim side of exec'd domains: one listening socket per domain, one thread
 * per connection (a library handle of the process) that acts as the domain
 * (sim_thread_enter) and makes the in-process call the client forwarded. So
 * every rule of the in-process API (ownership, quotas, fault sites, the
 * messages naming domain, port and ref) holds unchanged; what is added is
 * only the passing of fds (the handle's eventfd, the grantor's memfd) and of
 * the bytes of grant copies whose local side is in the client's memory.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>

#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/remote/remote.h"
#include "sim/remote/remote_internal.h"
#include "sim/remote/remote_proto.h"
#include "sim/xenstore/xs_server.h"

struct rs_conn {
	struct remote_dom *rd;
	int fd;
	pthread_t thread;
	bool done;                  /* the thread has finished (joinable) */
	struct rs_conn *next;
	/* the handle, by kind */
	enum rmt_op kind;
	xenevtchn_handle *xce;
	xengnttab_handle *xgt;
	xengntshr_handle *xgs;
	uint64_t memfds[REMOTE_MEMFDS_MAX];   /* ids already passed */
	unsigned nmemfds;
	uint8_t *buf;                /* request payload */
	uint8_t *out;                /* reply payload */
	size_t buf_cap, out_cap;
};

struct remote_dom {
	domid_t domid;
	int lfd;
	char path[REMOTE_PATH_MAX];
	char xs_path[REMOTE_PATH_MAX];
	struct xs_server *xs;
	pthread_t accept_thread;
	pthread_mutex_t lock;
	struct rs_conn *conns;
	bool stopping;
	struct remote_stats st;
};

/* ---- reply ---- */

static int rs_reply(struct rs_conn *c, struct rmt_rep *rep, const int *fds, unsigned nfds)
{
	struct iovec iov[2] = {{rep, sizeof(*rep)}, {c->out, rep->len}};
	char cbuf[CMSG_SPACE(sizeof(int) * RMT_FDS_MAX)];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = rep->len ? 2 : 1};

	rep->nfds = nfds;
	rep->domid = c->rd->domid;
	if (nfds) {
		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * nfds);
	}
	return rmt_sendmsg_all(c->fd, &mh, sizeof(*rep) + rep->len);
}

static int rs_out_reserve(struct rs_conn *c, size_t n)
{
	if (n <= c->out_cap)
		return 0;
	uint8_t *p = realloc(c->out, n);
	if (!p)
		return -ENOMEM;
	c->out = p;
	c->out_cap = n;
	return 0;
}

/* ---- pages of a map or share ---- */

static bool rs_memfd_known(struct rs_conn *c, uint64_t id)
{
	for (unsigned i = 0; i < c->nmemfds; i++)
		if (c->memfds[i] == id)
			return true;
	return false;
}

/* Describe the count pages at addr (a live sim mapping) into c->out, with the
 * memfds the client has not seen yet in fds[]. */
static int rs_pages(struct rs_conn *c, uint8_t *addr, uint32_t count, int *fds, unsigned *nfds)
{
	int rc = rs_out_reserve(c, sizeof(struct rmt_page) * count);

	for (uint32_t i = 0; i < count && rc == 0; i++) {
		struct rmt_page *pg = (struct rmt_page *)c->out + i;
		struct sim_mem_where w;
		struct stat sb;
		uint8_t *a = addr + (size_t)i * SIM_PAGE_SIZE;
		int fd = sim_mem_page_fd(a, &pg->offset);

		if (fd < 0 || !sim_mem_where(a, &w) || fstat(fd, &sb) < 0) {
			rc = fd < 0 ? fd : -EIO;
			if (fd >= 0)
				close(fd);
			break;
		}
		pg->memfd_id = (uint64_t)sb.st_ino;
		pg->grantor = w.page.grantor;
		pg->frame = w.page.frame;
		pg->ref = w.page.ref;
		snprintf(pg->grantor_name, sizeof(pg->grantor_name), "%s",
			 sim_domain_name(w.page.grantor));
		pg->fd_index = -1;
		bool seen = rs_memfd_known(c, pg->memfd_id);
		for (uint32_t k = 0; k < i && !seen; k++)
			seen = ((struct rmt_page *)c->out)[k].memfd_id == pg->memfd_id;
		if (seen || *nfds == RMT_FDS_MAX) {
			close(fd);
			if (!seen)
				rc = -E2BIG;   /* more new memories than one reply carries */
			continue;
		}
		pg->fd_index = (int32_t)*nfds;
		fds[(*nfds)++] = fd;
		if (c->nmemfds < REMOTE_MEMFDS_MAX)
			c->memfds[c->nmemfds++] = pg->memfd_id;
	}
	return rc;
}

/* The pages of a new map or share as the reply (its address, their
 * descriptions); on failure the reply says why and the caller undoes it. */
static int rs_pages_reply(struct rs_conn *c, void *addr, uint32_t count, int *fds, unsigned *nfds,
			  struct rmt_rep *rep)
{
	int rc = rs_pages(c, addr, count, fds, nfds);

	if (rc < 0) {
		rs_fail(rep, -rc);
		return rc;
	}
	rep->v0 = (uint64_t)(uintptr_t)addr;
	rep->len = (uint32_t)(sizeof(struct rmt_page) * count);
	return 0;
}

/* ---- the calls ---- */

static int rs_open(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep, int *fds,
		   unsigned *nfds)
{
	if (c->kind) {
		rs_fail(rep, EPROTO);
		return 0;
	}
	c->kind = rq->op;
	snprintf(rep->name, sizeof(rep->name), "%s", sim_domain_name(c->rd->domid));
	if (rq->op == RMT_OPEN_EVTCHN) {
		c->xce = xenevtchn_open(NULL, (unsigned)rq->a[0]);
		if (c->xce)
			fds[(*nfds)++] = xenevtchn_fd(c->xce);   /* counted with the reply */
	} else if (rq->op == RMT_OPEN_GNTTAB) {
		c->xgt = xengnttab_open(NULL, 0);
	} else if (rq->op == RMT_OPEN_CTRL) {
		return 0;   /* no sim handle: domain info only */
	} else {
		c->xgs = xengntshr_open(NULL, 0);
	}
	if (!c->xce && !c->xgt && !c->xgs) {
		rs_fail(rep, errno);
		c->kind = 0;
	}
	return 0;
}

/* Block like xenevtchn_pending, but return when the client goes away. */
static void rs_pending(struct rs_conn *c, struct rmt_rep *rep)
{
	struct pollfd pf[2] = {{.fd = xenevtchn_fd(c->xce), .events = POLLIN},
			       {.fd = c->fd, .events = POLLIN}};

	for (;;) {
		int n = poll(pf, 2, -1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			rs_fail(rep, n < 0 ? errno : ECONNRESET);
			return;
		}
		if (pf[0].revents)
			break;
	}
	rep->rc = xenevtchn_pending(c->xce);
	rep->err = rep->rc < 0 ? errno : 0;
}

static void rs_evtchn(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep)
{
	const uint64_t *a = rq->a;

	switch (rq->op) {
	case RMT_EVT_BIND_UNBOUND:
		rep->rc = xenevtchn_bind_unbound_port(c->xce, (uint32_t)a[0]);
		break;
	case RMT_EVT_BIND_INTERDOMAIN:
		rep->rc = xenevtchn_bind_interdomain(c->xce, (uint32_t)a[0], (evtchn_port_t)a[1]);
		break;
	case RMT_EVT_BIND_VIRQ:
		rep->rc = xenevtchn_bind_virq(c->xce, (unsigned)a[0]);
		break;
	case RMT_EVT_UNBIND:
		rep->rc = xenevtchn_unbind(c->xce, (evtchn_port_t)a[0]);
		break;
	case RMT_EVT_NOTIFY:
		rep->rc = xenevtchn_notify(c->xce, (evtchn_port_t)a[0]);
		break;
	case RMT_EVT_UNMASK:
		rep->rc = xenevtchn_unmask(c->xce, (evtchn_port_t)a[0]);
		break;
	case RMT_EVT_RESTRICT:
		rep->rc = xenevtchn_restrict(c->xce, (domid_t)a[0]);
		break;
	default:
		rs_pending(c, rep);
		return;
	}
	rep->err = rep->rc < 0 ? errno : 0;
}

static void rs_map(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep, int *fds,
		   unsigned *nfds)
{
	uint32_t count = (uint32_t)rq->a[0];
	const uint32_t *pairs = (const uint32_t *)c->buf;
	uint32_t domids[RMT_MAP_PAGES_MAX], refs[RMT_MAP_PAGES_MAX];
	void *addr;

	if (count == 0 || count > RMT_MAP_PAGES_MAX || rq->len != count * 8u ||
	    (rq->a[4] && count != 1)) {
		rs_fail(rep, EINVAL);
		return;
	}
	for (uint32_t i = 0; i < count; i++) {
		domids[i] = pairs[2 * i];
		refs[i] = pairs[2 * i + 1];
	}
	if (rq->a[4])
		addr = xengnttab_map_grant_ref_notify(c->xgt, domids[0], refs[0], (int)rq->a[1],
						      (uint32_t)rq->a[2], (evtchn_port_t)rq->a[3]);
	else
		addr = xengnttab_map_grant_refs(c->xgt, count, domids, refs, (int)rq->a[1]);
	if (!addr) {
		rs_fail(rep, errno);
		return;
	}
	if (rs_pages_reply(c, addr, count, fds, nfds, rep) < 0)
		xengnttab_unmap(c->xgt, addr, count);
}

static void rs_share(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep, int *fds,
		     unsigned *nfds)
{
	uint32_t count = (uint32_t)rq->a[1], refs[RMT_MAP_PAGES_MAX];
	void *addr;

	if (count == 0 || count > RMT_MAP_PAGES_MAX || (rq->a[5] && count != 1)) {
		rs_fail(rep, EINVAL);
		return;
	}
	if (rq->a[5])
		addr = xengntshr_share_page_notify(c->xgs, (uint32_t)rq->a[0], refs,
						   (int)rq->a[2], (uint32_t)rq->a[3],
						   (evtchn_port_t)rq->a[4]);
	else
		addr = xengntshr_share_pages(c->xgs, (uint32_t)rq->a[0], (int)count, refs,
					     (int)rq->a[2]);
	if (!addr) {
		rs_fail(rep, errno);
		return;
	}
	if (rs_pages_reply(c, addr, count, fds, nfds, rep) < 0) {
		xengntshr_unshare(c->xgs, addr, count);
		return;
	}
	for (uint32_t i = 0; i < count; i++)   /* a read-only share's own view says ref too */
		((struct rmt_page *)c->out)[i].ref = refs[i];
}

static void rs_unmap(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep)
{
	void *addr = (void *)(uintptr_t)rq->a[0];

	if (c->xgt)
		rep->rc = xengnttab_unmap(c->xgt, addr, (uint32_t)rq->a[1]);
	else
		rep->rc = xengntshr_unshare(c->xgs, addr, (uint32_t)rq->a[1]);
	rep->err = rep->rc < 0 ? errno : 0;
}

/* xc_domain_getinfo: the live domains from a0 on. Any domain may ask (Xen's
 * getdomaininfo is not restricted to dom0 under the default XSM policy). */
static void rs_dominfo(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep)
{
	uint32_t max = rq->a[1] < RMT_DOMINFO_MAX ? (uint32_t)rq->a[1] : RMT_DOMINFO_MAX, n = 0;

	if (c->kind != RMT_OPEN_CTRL || rs_out_reserve(c, sizeof(struct rmt_dominfo) * RMT_DOMINFO_MAX) < 0) {
		rs_fail(rep, c->kind != RMT_OPEN_CTRL ? EBADF : ENOMEM);
		return;
	}
	for (uint64_t d = rq->a[0]; d < SIM_DOMID_LIMIT && n < max; d++) {
		if (!sim_domain_alive((domid_t)d))
			continue;
		((struct rmt_dominfo *)c->out)[n++] = (struct rmt_dominfo){
			.domid = (uint32_t)d, .privileged = sim_domain_privileged((domid_t)d),
			.pages = sim_frames_total((domid_t)d)};
	}
	rep->rc = n;
	rep->len = (uint32_t)(sizeof(struct rmt_dominfo) * n);
}

static void rs_dispatch(struct rs_conn *c, const struct rmt_req *rq, struct rmt_rep *rep,
			int *fds, unsigned *nfds)
{
	bool evt = rq->op >= RMT_EVT_BIND_UNBOUND && rq->op <= RMT_EVT_RESTRICT;
	bool tab = rq->op == RMT_GNT_SET_MAX || rq->op == RMT_GNT_MAP || rq->op == RMT_GNT_COPY ||
		   (rq->op == RMT_GNT_UNMAP && c->xgt);
	bool shr = rq->op == RMT_SHR_SHARE || (rq->op == RMT_SHR_UNSHARE && c->xgs);

	if ((rq->op >= RMT_OPEN_EVTCHN && rq->op <= RMT_OPEN_GNTSHR) || rq->op == RMT_OPEN_CTRL) {
		rs_open(c, rq, rep, fds, nfds);
	} else if (rq->op == RMT_CTRL_DOMINFO) {
		rs_dominfo(c, rq, rep);
	} else if ((evt && !c->xce) || (tab && !c->xgt) || (shr && !c->xgs) ||
		   (!evt && !tab && !shr)) {
		rs_fail(rep, EBADF);   /* not this handle's kind, or no such call */
	} else if (evt) {
		rs_evtchn(c, rq, rep);
	} else if (rq->op == RMT_GNT_SET_MAX) {
		rep->rc = xengnttab_set_max_grants(c->xgt, (uint32_t)rq->a[0]);
		rep->err = rep->rc < 0 ? errno : 0;
	} else if (rq->op == RMT_GNT_MAP) {
		rs_map(c, rq, rep, fds, nfds);
	} else if (rq->op == RMT_GNT_COPY) {
		rs_copy(c->xgt, rq, c->buf, rep, &c->out, &c->out_cap);
	} else if (rq->op == RMT_SHR_SHARE) {
		rs_share(c, rq, rep, fds, nfds);
	} else {
		rs_unmap(c, rq, rep);
	}
}

/* ---- a connection ---- */

static int rs_read_req(struct rs_conn *c, struct rmt_req *rq)
{
	int rc = rmt_read_all(c->fd, rq, sizeof(*rq));

	if (rc == 0 && (rq->magic != RMT_MAGIC || rq->len > RMT_PAYLOAD_MAX || rq->op == 0 ||
			rq->op >= RMT_OP_LIMIT))
		rc = -EPROTO;
	if (rc == 0 && rq->len > c->buf_cap) {
		uint8_t *p = realloc(c->buf, rq->len);
		rc = p ? 0 : -ENOMEM;
		if (p) {
			c->buf = p;
			c->buf_cap = rq->len;
		}
	}
	if (rc == 0 && rq->len)
		rc = rmt_read_all(c->fd, c->buf, rq->len);
	return rc;
}

static void rs_close_handle(struct rs_conn *c)
{
	if (c->xce)
		xenevtchn_close(c->xce);
	if (c->xgt)   /* the program closed it or exited: we cannot tell which */
		gnttab_close_at_exit(c->xgt);
	if (c->xgs)
		xengntshr_close(c->xgs);
	c->xce = NULL;
	c->xgt = NULL;
	c->xgs = NULL;
}

static void *rs_conn_main(void *arg)
{
	struct rs_conn *c = arg;
	struct rmt_req rq;
	int rc = sim_thread_enter(c->rd->domid);

	while (rc == 0 && (rc = rs_read_req(c, &rq)) == 0) {
		struct rmt_rep rep = {0};
		int fds[RMT_FDS_MAX];
		unsigned nfds = 0;

		rs_dispatch(c, &rq, &rep, fds, &nfds);
		rc = rs_reply(c, &rep, fds, nfds);
		/* The eventfd stays the handle's; memfd fds were our copies. */
		for (unsigned i = c->kind == RMT_OPEN_EVTCHN && rq.op == RMT_OPEN_EVTCHN ? 1 : 0;
		     i < nfds; i++)
			close(fds[i]);
		pthread_mutex_lock(&c->rd->lock);   /* every connection thread counts */
		c->rd->st.fds_sent += nfds;
		c->rd->st.calls++;
		pthread_mutex_unlock(&c->rd->lock);
	}
	if (rc == -EPROTO)
		sim_log("remote: dom%u: a malformed request on connection fd %d: closed",
			c->rd->domid, c->fd);
	rs_close_handle(c);
	sim_thread_leave();
	pthread_mutex_lock(&c->rd->lock);
	c->done = true;
	c->rd->st.conns_open--;
	pthread_mutex_unlock(&c->rd->lock);
	return NULL;
}

/* Join and free the connections whose threads have finished. */
static void rs_reap_locked(struct remote_dom *rd, bool all)
{
	for (struct rs_conn **pp = &rd->conns; *pp;) {
		struct rs_conn *c = *pp;
		if (!c->done && !all) {
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		pthread_mutex_unlock(&rd->lock);
		pthread_join(c->thread, NULL);
		pthread_mutex_lock(&rd->lock);
		close(c->fd);
		free(c->buf);
		free(c->out);
		free(c);
	}
}

static void rs_accept_one(struct remote_dom *rd, int fd)
{
	struct rs_conn *c = calloc(1, sizeof(*c));

	pthread_mutex_lock(&rd->lock);
	rs_reap_locked(rd, false);
	bool full = rd->st.conns_open >= REMOTE_CONNS_MAX;
	if (!c || full || rd->stopping) {
		pthread_mutex_unlock(&rd->lock);
		if (full)
			sim_log("remote: dom%u: refusing a connection: %u handles open", rd->domid,
				REMOTE_CONNS_MAX);
		free(c);
		close(fd);
		return;
	}
	c->rd = rd;
	c->fd = fd;
	if (pthread_create(&c->thread, NULL, rs_conn_main, c) != 0) {
		pthread_mutex_unlock(&rd->lock);
		sim_log("remote: dom%u: cannot start a connection thread", rd->domid);
		close(fd);
		free(c);
		return;
	}
	c->next = rd->conns;
	rd->conns = c;
	rd->st.conns_accepted++;
	rd->st.conns_open++;
	pthread_mutex_unlock(&rd->lock);
}

static void *rs_accept_main(void *arg)
{
	struct remote_dom *rd = arg;

	for (;;) {
		int fd = accept4(rd->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0 && (errno == EINTR || errno == ECONNABORTED))
			continue;
		if (fd < 0)
			break;   /* shut down by remote_dom_stop */
		rs_accept_one(rd, fd);
	}
	return NULL;
}

/* ---- start / stop ---- */

static int rs_listen(struct remote_dom *rd)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", rd->path);
	unlink(rd->path);
	rd->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (rd->lfd < 0)
		return -errno;
	if (bind(rd->lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(rd->lfd, 64) < 0) {
		int rc = -errno;
		close(rd->lfd);
		rd->lfd = -1;
		return rc;
	}
	return 0;
}

int remote_dom_start(domid_t domid, const char *dir, struct remote_dom **out)
{
	struct remote_dom *rd;
	int rc;

	*out = NULL;
	if (sim_mode() == SIM_MODE_DET) {
		sim_log("remote: dom%u: exec'd domains run in free mode only (%s:%d): det mode "
			"runs one domain thread at a time under the token, and a process outside "
			"the scheduler cannot be made to wait for it", domid, __FILE__, __LINE__);
		return -ENOTSUP;
	}
	rd = calloc(1, sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	rd->domid = domid;
	rd->lfd = -1;
	pthread_mutex_init(&rd->lock, NULL);
	if ((size_t)snprintf(rd->path, sizeof(rd->path), "%s/dom%u.sock", dir, domid) >=
		    sizeof(rd->path) ||
	    (size_t)snprintf(rd->xs_path, sizeof(rd->xs_path), "%s/dom%u.xs", dir, domid) >=
		    sizeof(rd->xs_path)) {
		free(rd);
		return -ENAMETOOLONG;
	}
	rc = rs_listen(rd);
	struct xs_server_config xc = {.socket_path = rd->xs_path, .quiet = true, .domid = domid};
	if (rc == 0)
		rc = xs_server_start(&xc, &rd->xs);
	if (rc == 0 && pthread_create(&rd->accept_thread, NULL, rs_accept_main, rd) != 0)
		rc = -EAGAIN;
	if (rc < 0) {
		sim_log("remote: dom%u: cannot serve %s: %s", domid, rd->path, strerror(-rc));
		if (rd->xs)
			xs_server_stop(rd->xs);
		if (rd->lfd >= 0)
			close(rd->lfd);
		unlink(rd->path);
		free(rd);
		return rc;
	}
	*out = rd;
	return 0;
}

void remote_dom_stop(struct remote_dom *rd)
{
	if (!rd)
		return;
	shutdown(rd->lfd, SHUT_RDWR);
	pthread_join(rd->accept_thread, NULL);
	close(rd->lfd);
	unlink(rd->path);
	xs_server_stop(rd->xs);
	pthread_mutex_lock(&rd->lock);
	rd->stopping = true;
	for (struct rs_conn *c = rd->conns; c; c = c->next)
		shutdown(c->fd, SHUT_RDWR);   /* each thread sees EOF and closes its handle */
	rs_reap_locked(rd, true);
	pthread_mutex_unlock(&rd->lock);
	pthread_mutex_destroy(&rd->lock);
	free(rd);
}

const char *remote_dom_socket(const struct remote_dom *rd)
{
	return rd->path;
}

const char *remote_dom_xs_socket(const struct remote_dom *rd)
{
	return rd->xs_path;
}

void remote_dom_stats(struct remote_dom *rd, struct remote_stats *out)
{
	pthread_mutex_lock(&rd->lock);
	*out = rd->st;
	pthread_mutex_unlock(&rd->lock);
}
