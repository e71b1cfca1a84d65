/*
 * sim/xenstore: the in-process xs_* API of Debian's <xenstore.h>.
 *
 * A handle is a store connection of the calling thread's domain (identity =
 * sim_current_domid() at xs_open; outside a domain xs_open fails with ESRCH).
 * Each call builds the xs_wire message libxenstore would send and runs it
 * through xs_conn_request(); the reply comes back before that returns. Watch
 * events go to the handle's queue, bounded by XS_QUOTA_EVENTS; xs_fileno() is
 * an eventfd that is readable exactly while events are queued (or once the
 * connection was dropped), so it works in a libevent loop. Errors: NULL /
 * false with errno set from the XS error name, like libxenstore.
 *
 * xs_read_watch blocks through the scheduler in deterministic mode.
 *
 * Locks: req_lock (one request in flight per handle) -> store lock -> ev_lock.
 * The store delivers under its lock; delivery only fills the reply slot (on
 * the requesting thread) or queues an event.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>
#include <xenstore.h>

#include "sim/xenstore/xs_internal.h"

#define XS_API_DIR_PART_RESTARTS_MAX 64   /* the directory kept changing: EAGAIN */

struct xs_api_event {
	struct xs_api_event *next;
	unsigned len;
	char data[];          /* "path\0token\0" */
};

struct xs_handle {
	struct xs_conn *conn;
	bool unwatch_filter;
	pthread_mutex_t req_lock;
	struct xsd_sockmsg reply_hdr;      /* the request in flight: under req_lock */
	char *reply_body;
	bool reply_seen;
	pthread_mutex_t ev_lock;
	pthread_cond_t ev_cond;
	struct xs_api_event *ev_head, **ev_tail;
	unsigned ev_count;
	int ev_fd;
	bool dead;                         /* the store dropped the connection */
};

/* ---- events ---- */

static void xs_api_fd_set(struct xs_handle *h)
{
	uint64_t one = 1;

	if (write(h->ev_fd, &one, sizeof(one)) != sizeof(one))
		sim_log("xs handle of domain %u: eventfd write failed", xs_conn_domid(h->conn));
}

static void xs_api_fd_clear(struct xs_handle *h)
{
	uint64_t v;

	if (read(h->ev_fd, &v, sizeof(v)) != sizeof(v))
		sim_log("xs handle of domain %u: eventfd read failed", xs_conn_domid(h->conn));
}

static void xs_api_event_push(struct xs_handle *h, const void *payload, unsigned len)
{
	struct xs_api_event *e = malloc(sizeof(*e) + len);

	if (!e) {
		xs_conn_event_taken(h->conn);   /* never queued: not pending */
		return;
	}
	e->next = NULL;
	e->len = len;
	memcpy(e->data, payload, len);
	pthread_mutex_lock(&h->ev_lock);
	*h->ev_tail = e;
	h->ev_tail = &e->next;
	if (h->ev_count++ == 0 && !h->dead)
		xs_api_fd_set(h);
	pthread_cond_broadcast(&h->ev_cond);
	pthread_mutex_unlock(&h->ev_lock);
}

static void xs_api_deliver(void *ctx, const struct xsd_sockmsg *hdr, const void *payload)
{
	struct xs_handle *h = ctx;

	if (hdr->type == XS_WATCH_EVENT) {
		xs_api_event_push(h, payload, hdr->len);
		return;
	}
	h->reply_hdr = *hdr;
	h->reply_body = malloc(hdr->len + 1);
	if (h->reply_body) {
		memcpy(h->reply_body, payload, hdr->len);
		h->reply_body[hdr->len] = '\0';   /* libxenstore terminates replies */
	}
	h->reply_seen = true;
}

static void xs_api_dropped(void *ctx)
{
	struct xs_handle *h = ctx;

	pthread_mutex_lock(&h->ev_lock);
	h->dead = true;
	if (h->ev_count == 0)
		xs_api_fd_set(h);   /* a dead connection stays readable, like EOF */
	pthread_cond_broadcast(&h->ev_cond);
	pthread_mutex_unlock(&h->ev_lock);
}

static bool xs_api_event_ready(void *arg)
{
	struct xs_handle *h = arg;
	bool ready;

	pthread_mutex_lock(&h->ev_lock);
	ready = h->ev_head || h->dead;
	pthread_mutex_unlock(&h->ev_lock);
	return ready;
}

/* Take the oldest event; with `wait`, block until there is one (or the
 * connection is dropped). In deterministic mode the wait goes through the
 * scheduler, so that the token passes on; in free mode a condvar. Returns
 * with ev_lock held. */
static void xs_api_event_wait_locked(struct xs_handle *h, bool wait)
{
	bool det = wait && sim_mode() == SIM_MODE_DET;

	for (;;) {
		if (det)
			sim_sched_block_until(xs_api_event_ready, h);
		pthread_mutex_lock(&h->ev_lock);
		while (wait && !det && !h->ev_head && !h->dead)
			pthread_cond_wait(&h->ev_cond, &h->ev_lock);
		if (!wait || h->ev_head || h->dead)
			return;
		pthread_mutex_unlock(&h->ev_lock);   /* another reader took it */
	}
}

static struct xs_api_event *xs_api_event_pop(struct xs_handle *h, bool wait)
{
	struct xs_api_event *e;

	xs_api_event_wait_locked(h, wait);
	e = h->ev_head;
	if (e) {
		h->ev_head = e->next;
		if (!h->ev_head)
			h->ev_tail = &h->ev_head;
		if (--h->ev_count == 0 && !h->dead)
			xs_api_fd_clear(h);
	}
	errno = e ? errno : h->dead ? EIO : EAGAIN;
	pthread_mutex_unlock(&h->ev_lock);
	if (e)
		xs_conn_event_taken(h->conn);
	return e;
}

/* One allocation: {path, token} then the strings, freed with one free(). */
static char **xs_api_event_strings(struct xs_api_event *e)
{
	char **v = e ? malloc(2 * sizeof(char *) + e->len + 1) : NULL;

	if (v) {
		char *s = (char *)(v + 2);

		memcpy(s, e->data, e->len);
		s[e->len] = '\0';
		v[XS_WATCH_PATH] = s;
		v[XS_WATCH_TOKEN] = s + strlen(s) + 1;
	} else if (e) {
		errno = ENOMEM;
	}
	free(e);
	return v;
}

/* ---- requests ---- */

/* Send one message made of the iovecs; the reply body (NUL-terminated) or
 * NULL with errno. */
static char *xs_api_talk(struct xs_handle *h, xs_transaction_t t, uint32_t type,
			 const struct iovec *iov, unsigned iov_num, unsigned *len)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	struct xsd_sockmsg hdr = {.type = type, .req_id = 0, .tx_id = t, .len = 0}, rhdr;
	char *body;

	for (unsigned i = 0; i < iov_num; i++) {
		if (iov[i].iov_len > sizeof(buf) - hdr.len) {
			errno = E2BIG;
			return NULL;
		}
		if (iov[i].iov_len)   /* xs_control_command(h, cmd, NULL, 0) */
			memcpy(buf + hdr.len, iov[i].iov_base, iov[i].iov_len);
		hdr.len += (uint32_t)iov[i].iov_len;
	}
	pthread_mutex_lock(&h->req_lock);
	h->reply_seen = false;
	XS_ASSERT(xs_conn_request(h->conn, &hdr, buf) == 0 && h->reply_seen,
		  "domain %u: no reply to request type %u", xs_conn_domid(h->conn), type);
	body = h->reply_body;
	rhdr = h->reply_hdr;
	h->reply_body = NULL;
	pthread_mutex_unlock(&h->req_lock);
	if (body && rhdr.type == XS_ERROR) {
		errno = xs_errno_from_name(body);
		free(body);
		return NULL;
	}
	if (!body)
		errno = ENOMEM;
	else if (len)
		*len = rhdr.len;
	return body;
}

static char *xs_api_single(struct xs_handle *h, xs_transaction_t t, uint32_t type,
			   const char *arg, unsigned *len)
{
	struct iovec iov = {.iov_base = (void *)arg, .iov_len = strlen(arg) + 1};

	return xs_api_talk(h, t, type, &iov, 1, len);
}

static bool xs_api_bool(char *reply)
{
	free(reply);
	return reply != NULL;
}

static char *xs_api_domid_single(struct xs_handle *h, uint32_t type, unsigned int domid)
{
	char s[16];

	snprintf(s, sizeof(s), "%u", domid);
	return xs_api_single(h, XBT_NULL, type, s, NULL);
}

/* ---- open / close ---- */

struct xs_handle *xs_open(unsigned long flags)
{
	domid_t domid = sim_current_domid();
	struct xs_handle *h;

	sim_sched_point("xenstore.open");
	if (domid == DOMID_INVALID) {
		errno = ESRCH;   /* not on a domain's thread */
		return NULL;
	}
	h = calloc(1, sizeof(*h));
	if (!h || (h->ev_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
		free(h);
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_init(&h->req_lock, NULL);
	pthread_mutex_init(&h->ev_lock, NULL);
	pthread_cond_init(&h->ev_cond, NULL);
	h->ev_tail = &h->ev_head;
	h->unwatch_filter = flags & XS_UNWATCH_FILTER;
	h->conn = xs_conn_new_inproc(domid, domid == 0 || sim_domain_privileged(domid),
				     xs_api_deliver, xs_api_dropped, h);
	if (!h->conn) {
		xs_close(h);
		errno = ENOMEM;
		return NULL;
	}
	xs_conn_events_bounded(h->conn);
	return h;
}

void xs_close(struct xs_handle *h)
{
	sim_sched_point("xenstore.close");
	if (!h)
		return;
	xs_conn_free(h->conn);   /* no delivery reaches h after this */
	while (h->ev_head) {
		struct xs_api_event *e = h->ev_head;

		h->ev_head = e->next;
		free(e);
	}
	close(h->ev_fd);
	pthread_cond_destroy(&h->ev_cond);
	pthread_mutex_destroy(&h->ev_lock);
	pthread_mutex_destroy(&h->req_lock);
	free(h);
}

struct xs_handle *xs_daemon_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_domain_open(void)
{
	return xs_open(0);
}

struct xs_handle *xs_daemon_open_readonly(void)
{
	return xs_open(0);
}

void xs_daemon_close(struct xs_handle *h)
{
	xs_close(h);
}

/* Nothing is shared with a forked child here: just let the handle go. */
void xs_daemon_destroy_postfork(struct xs_handle *h)
{
	xs_close(h);
}

/* ---- directory ---- */

/* {names...} then the strings: one allocation, one free(). */
static char **xs_api_split(char *strings, unsigned len, unsigned int *num)
{
	unsigned n = 0;
	char **v, *copy;

	for (unsigned i = 0; i < len; i++)
		n += strings[i] == '\0';
	v = malloc(n * sizeof(char *) + len + 1);
	if (v) {
		copy = (char *)(v + n);
		memcpy(copy, strings, len);
		for (unsigned i = 0; i < n; i++, copy += strlen(copy) + 1)
			v[i] = copy;
		*num = n;
	} else {
		errno = ENOMEM;
	}
	free(strings);
	return v;
}

/* Append one DIRECTORY_PART chunk (after its "<gen>\0"); true once the
 * chunk ended with the empty string that closes the list. */
static bool xs_api_part_append(char **all, unsigned *all_len, const char *reply, unsigned len,
			       int *err)
{
	unsigned gen_len = (unsigned)strlen(reply) + 1, add = len - gen_len;
	char *grown = realloc(*all, *all_len + add + 1);

	if (!grown) {
		*err = ENOMEM;
		return true;
	}
	*all = grown;
	memcpy(grown + *all_len, reply + gen_len, add);
	*all_len += add;
	return *all_len <= 1 || grown[*all_len - 2] == '\0';
}

/* A list too long for one reply, in parts; restarted if the node changes. */
static char *xs_api_directory_part(struct xs_handle *h, xs_transaction_t t, const char *path,
				   unsigned *len)
{
	char gen[32] = "", off_str[16], *all = NULL, *reply;
	unsigned all_len = 0, rlen, restarts = 0;
	struct iovec iov[2] = {{(void *)path, strlen(path) + 1}, {off_str, 0}};
	int err = 0;

	for (bool done = false; !done && !err;) {
		iov[1].iov_len = (size_t)snprintf(off_str, sizeof(off_str), "%u", all_len) + 1;
		reply = xs_api_talk(h, t, XS_DIRECTORY_PART, iov, 2, &rlen);
		if (!reply) {
			err = errno;
		} else if (all_len && strcmp(gen, reply) != 0) {
			all_len = 0;   /* changed under us: start again */
			err = ++restarts > XS_API_DIR_PART_RESTARTS_MAX ? EAGAIN : 0;
		} else {
			snprintf(gen, sizeof(gen), "%s", reply);
			done = xs_api_part_append(&all, &all_len, reply, rlen, &err);
		}
		free(reply);
	}
	if (err) {
		free(all);
		errno = err;
		return NULL;
	}
	*len = all_len ? all_len - 1 : 0;   /* without the closing empty string */
	return all;
}

char **xs_directory(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *num)
{
	unsigned len;
	char *strings;

	sim_sched_point("xenstore.directory");
	strings = xs_api_single(h, t, XS_DIRECTORY, path, &len);
	if (!strings && errno == E2BIG)
		strings = xs_api_directory_part(h, t, path, &len);
	return strings ? xs_api_split(strings, len, num) : NULL;
}

/* ---- nodes ---- */

void *xs_read(struct xs_handle *h, xs_transaction_t t, const char *path, unsigned int *len)
{
	sim_sched_point("xenstore.read");
	return xs_api_single(h, t, XS_READ, path, len);
}

bool xs_write(struct xs_handle *h, xs_transaction_t t, const char *path, const void *data,
	      unsigned int len)
{
	struct iovec iov[2] = {{(void *)path, strlen(path) + 1}, {(void *)data, len}};

	sim_sched_point("xenstore.write");
	return xs_api_bool(xs_api_talk(h, t, XS_WRITE, iov, 2, NULL));
}

bool xs_mkdir(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	sim_sched_point("xenstore.mkdir");
	return xs_api_bool(xs_api_single(h, t, XS_MKDIR, path, NULL));
}

bool xs_rm(struct xs_handle *h, xs_transaction_t t, const char *path)
{
	sim_sched_point("xenstore.rm");
	return xs_api_bool(xs_api_single(h, t, XS_RM, path, NULL));
}

/* Kept only so that libxenstore's ABI stays 3.0: always false. */
bool xs_restrict(struct xs_handle *h, unsigned domid)
{
	(void)h;
	(void)domid;
	sim_sched_point("xenstore.restrict");
	return false;
}

struct xs_permissions *xs_get_permissions(struct xs_handle *h, xs_transaction_t t,
					  const char *path, unsigned int *num)
{
	struct xs_permissions *p = NULL;
	unsigned len, n = 0;
	char *strings;

	sim_sched_point("xenstore.get_permissions");
	strings = xs_api_single(h, t, XS_GET_PERMS, path, &len);
	for (unsigned i = 0; strings && i < len; i++)
		n += strings[i] == '\0';
	if (strings && !(p = malloc((n ? n : 1) * sizeof(*p))))
		errno = ENOMEM;
	if (p && !xs_strings_to_perms(p, n, strings)) {
		free(p);
		p = NULL;
	}
	if (p)
		*num = n;
	free(strings);
	return p;
}

/* Each entry as "<letter><domid>\0" after the path. */
static int xs_api_perms_encode(char *buf, unsigned room, const struct xs_permissions *perms,
			       unsigned int num)
{
	static const char letter[] = {'n', 'r', 'w', 'b'};
	unsigned len = 0;

	for (unsigned i = 0; i < num; i++) {
		int n;

		if (perms[i].perms & ~(unsigned)(XS_PERM_READ | XS_PERM_WRITE))
			return -EINVAL;
		n = snprintf(buf + len, room - len, "%c%u", letter[perms[i].perms], perms[i].id);
		if (n < 0 || (unsigned)n + 1 > room - len)
			return -E2BIG;
		len += (unsigned)n + 1;
	}
	return (int)len;
}

bool xs_set_permissions(struct xs_handle *h, xs_transaction_t t, const char *path,
			struct xs_permissions *perms, unsigned int num_perms)
{
	char buf[XENSTORE_PAYLOAD_MAX];
	struct iovec iov[2] = {{(void *)path, strlen(path) + 1}, {buf, 0}};
	int len;

	sim_sched_point("xenstore.set_permissions");
	len = xs_api_perms_encode(buf, sizeof(buf), perms, num_perms);
	if (len < 0) {
		errno = -len;
		return false;
	}
	iov[1].iov_len = (size_t)len;
	return xs_api_bool(xs_api_talk(h, t, XS_SET_PERMS, iov, 2, NULL));
}

/* ---- watches ---- */

bool xs_watch(struct xs_handle *h, const char *path, const char *token)
{
	struct iovec iov[2] = {{(void *)path, strlen(path) + 1}, {(void *)token, strlen(token) + 1}};

	sim_sched_point("xenstore.watch");
	return xs_api_bool(xs_api_talk(h, XBT_NULL, XS_WATCH, iov, 2, NULL));
}

int xs_fileno(struct xs_handle *h)
{
	sim_sched_point("xenstore.fileno");
	return h->ev_fd;
}

char **xs_check_watch(struct xs_handle *h)
{
	sim_sched_point("xenstore.check_watch");
	return xs_api_event_strings(xs_api_event_pop(h, false));
}

char **xs_read_watch(struct xs_handle *h, unsigned int *num)
{
	char **v;

	sim_sched_point("xenstore.read_watch");
	v = xs_api_event_strings(xs_api_event_pop(h, true));
	if (v && num)
		*num = 2;
	return v;
}

/* With XS_UNWATCH_FILTER, queued events of that watch go too (same token,
 * path at or below the watched one). */
static void xs_api_unwatch_filter(struct xs_handle *h, const char *path, const char *token)
{
	struct xs_api_event **pp = &h->ev_head;
	unsigned gone = 0;

	pthread_mutex_lock(&h->ev_lock);
	while (*pp) {
		struct xs_api_event *e = *pp;
		const char *epath = e->data, *etoken = e->data + strlen(e->data) + 1;

		if (strcmp(etoken, token) == 0 && xs_path_is_subpath(path, epath)) {
			*pp = e->next;
			free(e);
			gone++;
		} else {
			pp = &e->next;
		}
	}
	h->ev_tail = pp;
	h->ev_count -= gone;
	if (gone && h->ev_count == 0 && !h->dead)
		xs_api_fd_clear(h);
	pthread_mutex_unlock(&h->ev_lock);
	while (gone--)
		xs_conn_event_taken(h->conn);
}

bool xs_unwatch(struct xs_handle *h, const char *path, const char *token)
{
	struct iovec iov[2] = {{(void *)path, strlen(path) + 1}, {(void *)token, strlen(token) + 1}};
	bool ok;

	sim_sched_point("xenstore.unwatch");
	ok = xs_api_bool(xs_api_talk(h, XBT_NULL, XS_UNWATCH, iov, 2, NULL));
	if (ok && h->unwatch_filter)
		xs_api_unwatch_filter(h, path, token);
	return ok;
}

/* ---- transactions ---- */

xs_transaction_t xs_transaction_start(struct xs_handle *h)
{
	char *id;
	xs_transaction_t t;

	sim_sched_point("xenstore.transaction_start");
	id = xs_api_single(h, XBT_NULL, XS_TRANSACTION_START, "", NULL);
	if (!id)
		return XBT_NULL;
	t = (xs_transaction_t)strtoul(id, NULL, 0);
	free(id);
	return t;
}

bool xs_transaction_end(struct xs_handle *h, xs_transaction_t t, bool abort)
{
	sim_sched_point("xenstore.transaction_end");
	return xs_api_bool(xs_api_single(h, t, XS_TRANSACTION_END, abort ? "F" : "T", NULL));
}

/* ---- domains ---- */

bool xs_introduce_domain(struct xs_handle *h, unsigned int domid, unsigned long mfn,
			 unsigned int eventchn)
{
	char d[16], m[24], e[16];
	struct iovec iov[3] = {
		{d, (size_t)snprintf(d, sizeof(d), "%u", domid) + 1},
		{m, (size_t)snprintf(m, sizeof(m), "%lu", mfn) + 1},
		{e, (size_t)snprintf(e, sizeof(e), "%u", eventchn) + 1},
	};

	sim_sched_point("xenstore.introduce_domain");
	return xs_api_bool(xs_api_talk(h, XBT_NULL, XS_INTRODUCE, iov, 3, NULL));
}

bool xs_set_target(struct xs_handle *h, unsigned int domid, unsigned int target)
{
	char d[16], t[16];
	struct iovec iov[2] = {
		{d, (size_t)snprintf(d, sizeof(d), "%u", domid) + 1},
		{t, (size_t)snprintf(t, sizeof(t), "%u", target) + 1},
	};

	sim_sched_point("xenstore.set_target");
	return xs_api_bool(xs_api_talk(h, XBT_NULL, XS_SET_TARGET, iov, 2, NULL));
}

bool xs_resume_domain(struct xs_handle *h, unsigned int domid)
{
	sim_sched_point("xenstore.resume_domain");
	return xs_api_bool(xs_api_domid_single(h, XS_RESUME, domid));
}

bool xs_release_domain(struct xs_handle *h, unsigned int domid)
{
	sim_sched_point("xenstore.release_domain");
	return xs_api_bool(xs_api_domid_single(h, XS_RELEASE, domid));
}

char *xs_get_domain_path(struct xs_handle *h, unsigned int domid)
{
	sim_sched_point("xenstore.get_domain_path");
	return xs_api_domid_single(h, XS_GET_DOMAIN_PATH, domid);
}

bool xs_is_domain_introduced(struct xs_handle *h, unsigned int domid)
{
	char *reply;
	bool introduced;

	sim_sched_point("xenstore.is_domain_introduced");
	reply = xs_api_domid_single(h, XS_IS_DOMAIN_INTRODUCED, domid);
	introduced = reply && strcmp(reply, "F") != 0;
	free(reply);
	return introduced;
}

char *xs_control_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
	struct iovec iov[2] = {{(void *)cmd, strlen(cmd) + 1}, {data, len}};

	sim_sched_point("xenstore.control_command");
	return xs_api_talk(h, XBT_NULL, XS_CONTROL, iov, 2, NULL);
}

char *xs_debug_command(struct xs_handle *h, const char *cmd, void *data, unsigned int len)
{
	return xs_control_command(h, cmd, data, len);
}

/* The guest's suspend event channel, as the toolstack published it; -1 if
 * there is none (or no handle could be opened). */
int xs_suspend_evtchn_port(int domid)
{
	char path[64];
	struct xs_handle *h = xs_open(0);
	unsigned len = 0;
	char *port_str;
	int port = -1;

	sim_sched_point("xenstore.suspend_evtchn_port");
	if (!h)
		return -1;
	snprintf(path, sizeof(path), "/local/domain/%d/device/suspend/event-channel", domid);
	port_str = xs_read(h, XBT_NULL, path, &len);
	xs_close(h);
	if (port_str && len)
		port = atoi(port_str);
	free(port_str);
	return port;
}
