/*
 * fuzz_xs_wire: the input is the byte stream of one client connection to the
 * real xs_wire server (sim/xenstore/wire_server.c, over a real unix socket)
 * in front of the real store. The server runs on this thread's event_base, so
 * one input is: connect, send every byte (then shut our side), run the loop
 * until the server has closed the connection, reading its replies meanwhile.
 *
 * Invariants after each input: the server closed the connection (it sees EOF
 * or cuts us off) within a bounded number of loop turns; every message it
 * sent is framed (len <= XENSTORE_PAYLOAD_MAX); every reply answers one of
 * our requests in order (same req_id, same type or XS_ERROR); no connection
 * is left open; xs_store_check() finds the store consistent. The store is
 * reset (xs_store_reset) before the next input.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "fuzz/fuzz_common.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_server.h"
#include "sim/xenstore/xs_store.h"

#define FZX_INPUT_MAX (64u * 1024u)     /* bytes of one input sent; the rest is cut */
#define FZX_TURNS_MAX 100000u           /* loop turns before "the server hangs" */
#define FZX_HDR sizeof(struct xsd_sockmsg)
#define FZX_REQS_MAX (FZX_INPUT_MAX / FZX_HDR + 1)

static struct event_base *fzx_base;
static struct xs_server *fzx_srv;
static char fzx_path[108];

/* The whole requests of the input, in order, as the server frames them. */
struct fzx_reqs {
	struct xsd_sockmsg hdr[FZX_REQS_MAX];
	unsigned n, next;                /* next: the first not yet answered */
};

/* What came back, parsed as it arrives. */
struct fzx_rx {
	uint8_t buf[2 * (FZX_HDR + XENSTORE_PAYLOAD_MAX)];
	size_t len;
	unsigned replies, events;
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sim_domain_config dom0 = {.name = "dom0", .privileged = true, .domid = 0};
	char dir[] = "/tmp/xensim-fuzz-xs-XXXXXX";
	struct xs_server_config cfg = {.quiet = true};

	(void)argc, (void)argv;
	if (sim_init() < 0 || sim_domain_create(&dom0) != 0 || !mkdtemp(dir))
		FUZZ_FAIL("cannot set up dom0 or a socket directory");
	snprintf(fzx_path, sizeof(fzx_path), "%s/socket", dir);
	fzx_base = event_base_new();
	cfg.socket_path = fzx_path;
	cfg.base = fzx_base;
	if (!fzx_base || xs_server_start(&cfg, &fzx_srv) < 0)
		FUZZ_FAIL("cannot start the xs_wire server on %s", fzx_path);
	return 0;
}

static void fzx_frame(const uint8_t *data, size_t size, struct fzx_reqs *reqs)
{
	size_t off = 0;

	reqs->n = reqs->next = 0;
	while (size - off >= FZX_HDR) {
		struct xsd_sockmsg h;
		memcpy(&h, data + off, FZX_HDR);
		if (h.len > XENSTORE_PAYLOAD_MAX || size - off - FZX_HDR < h.len)
			return;   /* the server closes here, or waits for bytes that never come */
		reqs->hdr[reqs->n++] = h;
		off += FZX_HDR + h.len;
	}
}

static void fzx_one_msg(const struct xsd_sockmsg *m, struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	if (m->type == XS_WATCH_EVENT) {
		rx->events++;
		return;
	}
	rx->replies++;
	while (reqs->next < reqs->n && reqs->hdr[reqs->next].req_id != m->req_id)
		reqs->next++;   /* a request may close the connection unanswered, never skip one silently */
	if (reqs->next >= reqs->n)
		FUZZ_FAIL("reply %u (type %u req_id %u) answers no request sent", rx->replies,
			  m->type, m->req_id);
	if (m->type != reqs->hdr[reqs->next].type && m->type != XS_ERROR)
		FUZZ_FAIL("reply type %u to request type %u req_id %u", m->type,
			  reqs->hdr[reqs->next].type, m->req_id);
	reqs->next++;
}

static void fzx_parse(struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	size_t off = 0;

	while (rx->len - off >= FZX_HDR) {
		struct xsd_sockmsg m;
		memcpy(&m, rx->buf + off, FZX_HDR);
		if (m.len > XENSTORE_PAYLOAD_MAX)
			FUZZ_FAIL("server sent type %u with len %u", m.type, m.len);
		if (rx->len - off - FZX_HDR < m.len)
			break;
		fzx_one_msg(&m, reqs, rx);
		off += FZX_HDR + m.len;
	}
	memmove(rx->buf, rx->buf + off, rx->len - off);
	rx->len -= off;
}

static int fzx_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", fzx_path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		FUZZ_FAIL("connect %s: %s", fzx_path, strerror(errno));
	return fd;
}

/* One turn: send what the socket takes, run the loop once, read what came.
 * true once the server has closed the connection. */
static bool fzx_turn(int fd, const uint8_t *data, size_t size, size_t *sent, bool *shut,
		     struct fzx_reqs *reqs, struct fzx_rx *rx)
{
	ssize_t n;

	if (*sent < size) {
		n = send(fd, data + *sent, size - *sent, MSG_NOSIGNAL);
		if (n > 0)
			*sent += (size_t)n;
		else if (n < 0 && errno != EAGAIN)
			*sent = size;   /* EPIPE / ECONNRESET: it cut us off */
	}
	if (*sent == size && !*shut) {
		shutdown(fd, SHUT_WR);
		*shut = true;
	}
	event_base_loop(fzx_base, EVLOOP_NONBLOCK);
	n = recv(fd, rx->buf + rx->len, sizeof(rx->buf) - rx->len, 0);
	if (n > 0) {
		rx->len += (size_t)n;
		fzx_parse(reqs, rx);
	}
	return n == 0 || (n < 0 && errno == ECONNRESET);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fzx_reqs reqs;
	static struct fzx_rx rx;
	struct xs_server_stats st;
	size_t sent = 0;
	bool shut = false, closed = false;
	int fd;

	if (size > FZX_INPUT_MAX)
		size = FZX_INPUT_MAX;
	fzx_frame(data, size, &reqs);
	rx.len = rx.replies = rx.events = 0;
	fd = fzx_connect();
	for (unsigned t = 0; t < FZX_TURNS_MAX && !closed; t++)
		closed = fzx_turn(fd, data, size, &sent, &shut, &reqs, &rx);
	if (!closed)
		FUZZ_FAIL("the server neither closed nor finished after %u turns (%zu of %zu bytes "
			  "sent, %u replies)", FZX_TURNS_MAX, sent, size, rx.replies);
	close(fd);
	event_base_loop(fzx_base, EVLOOP_NONBLOCK);
	xs_server_stats_get(fzx_srv, &st);
	if (st.conns_open != 0)
		FUZZ_FAIL("%llu connections still open after the client went",
			  (unsigned long long)st.conns_open);
	xs_store_check();
	xs_store_reset();
	return 0;
}
