/* Two sim domains talk over Debian's libxenvchan, deterministically: the same
 * seed gives the same run and trace hash. Usage: vchan-pair [SEED] */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxenvchan.h>
#include <xensim.h>

static int srv, cli;
static atomic_int done, ready;                   /* atomic: free mode would race */
static char path[64], got[2][8];

static bool is_ready(void *arg) { (void)arg; return ready; }
static bool both_done(void *arg) { (void)arg; return done == 2; }

static void server(void *arg)            /* runs on srv's thread, as srv */
{
	struct libxenvchan *v = libxenvchan_server_init(NULL, cli, path, 0, 0);
	ready = 1;
	if (v)
		v->blocking = 1;                        /* recv/send wait for all the bytes */
	if (v && libxenvchan_recv(v, got[0], 5) == 5)  /* blocks: the scheduler runs cli */
		libxenvchan_send(v, "pong!", 5);
	while (v && libxenvchan_is_open(v))             /* until the client closes */
		libxenvchan_wait(v);
	libxenvchan_close(v);
	done++;
	(void)arg;
}

static void client(void *arg)            /* runs on cli's thread, as cli */
{
	xensim_wait_until(is_ready, NULL);
	struct libxenvchan *v = libxenvchan_client_init(NULL, srv, path);
	if (v)
		v->blocking = 1;
	if (v && libxenvchan_send(v, "ping!", 5) == 5)
		libxenvchan_recv(v, got[1], 5);
	libxenvchan_close(v);
	done++;
	(void)arg;
}

int main(int argc, char **argv)
{
	struct xensim_config cfg = {.mode = XENSIM_MODE_DET, .seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1};
	struct xensim_domain_config d0 = {"dom0", true, 0, 0}, ds = {"srv", false, 16 << 20, -1};
	struct xensim_domain_config dc = {"cli", false, 16 << 20, -1};

	if (xensim_start(&cfg) < 0 || xensim_domain_create(&d0) < 0 ||
	    (srv = xensim_domain_create(&ds)) < 0 || (cli = xensim_domain_create(&dc)) < 0)
		return fprintf(stderr, "vchan-pair: the sim did not start\n"), 2;
	snprintf(path, sizeof(path), "/local/domain/%d/data/vchan", srv);
	xensim_domain_post(srv, server, NULL);
	xensim_domain_post(cli, client, NULL);
	enum xensim_run_result r = xensim_run(both_done, NULL, XENSIM_NO_DEADLINE, 1000000);
	bool ok = r == XENSIM_RUN_DONE && !memcmp(got[0], "ping!", 5) && !memcmp(got[1], "pong!", 5);
	printf("%s seed=%llu steps=%llu trace-hash=0x%016llx\n", ok ? "PASS" : "FAIL",
	       (unsigned long long)xensim_seed(), (unsigned long long)xensim_steps(),
	       (unsigned long long)xensim_trace_hash());
	xensim_stop();
	return ok ? 0 : 1;
}
