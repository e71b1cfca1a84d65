/*
 * Debian's own libxenvchan (unmodified, -lxenvchan), a server and a client in
 * one dom0 process: the server streams pseudo-random bytes, the client checks
 * them and echoes them back, the server checks the echo. Then both ends close.
 * Built against Xen's headers and Debian's libraries only; run on the sim with
 * LD_LIBRARY_PATH=build/lib (tests/check-libs.sh, which also requires that
 * nothing at all is printed on stderr, e.g. by a notify on a closed port).
 *
 *   vchan_peer [BYTES [CHUNK]]    default 1 MiB in chunks of 1000 bytes
 *
 * Prints "vchan_peer: ok N bytes each way" and exits 0, or exits 1.
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxenvchan.h>

#define XS_PATH "/local/domain/0/data/vchan-peer"
#define RING_BYTES 4096
#define CHUNK_MAX 4096
#define TIMEOUT_S 20

struct stream {
	struct libxenvchan *ctrl;
	size_t total, chunk;
	uint64_t rng;
	const char *who;
	int rc;
};

static unsigned char next_byte(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (unsigned char)(*s >> 56);
}

static int expect(struct stream *st, const unsigned char *buf, size_t n, size_t at)
{
	for (size_t i = 0; i < n; i++)
		if (buf[i] != next_byte(&st->rng)) {
			fprintf(stdout, "vchan_peer: %s: byte %zu differs\n", st->who, at + i);
			return -1;
		}
	return 0;
}

/* Client: read what arrives, check it, echo it. */
static void *client_main(void *arg)
{
	struct stream *st = arg;
	unsigned char buf[CHUNK_MAX];
	size_t done = 0;

	while (done < st->total && st->rc == 0) {
		int n = libxenvchan_read(st->ctrl, buf, sizeof(buf));
		if (n <= 0 || expect(st, buf, (size_t)n, done) < 0 ||
		    libxenvchan_send(st->ctrl, buf, (size_t)n) != n)
			st->rc = -1;
		done += n > 0 ? (size_t)n : 0;
	}
	return NULL;
}

/* Server: one chunk out, the same chunk back, checked. */
static void server_run(struct stream *st)
{
	unsigned char out[CHUNK_MAX], in[CHUNK_MAX];
	uint64_t send_rng = st->rng;

	for (size_t done = 0; done < st->total && st->rc == 0;) {
		size_t n = st->total - done < st->chunk ? st->total - done : st->chunk;
		for (size_t i = 0; i < n; i++)
			out[i] = next_byte(&send_rng);
		if (libxenvchan_send(st->ctrl, out, n) != (int)n ||
		    libxenvchan_recv(st->ctrl, in, n) != (int)n || expect(st, in, n, done) < 0)
			st->rc = -1;
		done += n;
	}
}

int main(int argc, char **argv)
{
	size_t total = argc > 1 ? strtoul(argv[1], NULL, 0) : (1u << 20);
	size_t chunk = argc > 2 ? strtoul(argv[2], NULL, 0) : 1000;
	pthread_t client;

	if (chunk == 0 || chunk > CHUNK_MAX || chunk > RING_BYTES - 1) {
		fprintf(stdout, "vchan_peer: chunk must be 1..%d\n", RING_BYTES - 1);
		return 2;
	}
	alarm(TIMEOUT_S);
	struct libxenvchan *srv = libxenvchan_server_init(NULL, 0, XS_PATH, RING_BYTES, RING_BYTES);
	if (!srv) {
		fprintf(stdout, "vchan_peer: libxenvchan_server_init: %s\n", strerror(errno));
		return 1;
	}
	struct libxenvchan *cli = libxenvchan_client_init(NULL, 0, XS_PATH);
	if (!cli) {
		fprintf(stdout, "vchan_peer: libxenvchan_client_init: %s\n", strerror(errno));
		return 1;
	}
	srv->blocking = cli->blocking = 1;
	struct stream s = {.ctrl = srv, .total = total, .chunk = chunk, .rng = 42, .who = "server"};
	struct stream c = {.ctrl = cli, .total = total, .chunk = chunk, .rng = 42, .who = "client"};
	if (pthread_create(&client, NULL, client_main, &c) != 0)
		return 1;
	server_run(&s);
	if (s.rc < 0)   /* unblock a client waiting for bytes that will not come */
		libxenvchan_close(srv);
	pthread_join(client, NULL);
	libxenvchan_close(cli);
	if (s.rc == 0)
		libxenvchan_close(srv);
	if (s.rc < 0 || c.rc < 0) {
		fprintf(stdout, "vchan_peer: failed (server %d, client %d)\n", s.rc, c.rc);
		return 1;
	}
	printf("vchan_peer: ok %zu bytes each way\n", total);
	return 0;
}
