/*
 * tests/exec/grant_peer: a small program built against Debian's Xen headers
 * and libraries only, run as an exec'd domain by tests/check-exec.sh.
 *
 *   grant_peer share PEER_DOMID      shares one page read-only with PEER
 *                                    (its first bytes "exec-grant"), writes
 *                                    the ref to data/ref, serves until
 *                                    SIGTERM, then unshares and removes it
 *   grant_peer map GRANTOR MODE      reads the grantor's data/ref, maps it
 *                                    read-only, checks the bytes, then MODE:
 *                                    ok (unmap, exit 0), write (a write through
 *                                    the read-only map), stale (a read after
 *                                    unmap); the last two must fault
 * Exit 0 done, 1 failed, 2 usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>
#include <xenstore.h>

#define GP_WAIT_STEPS 2000         /* x 5 ms */

static volatile sig_atomic_t gp_term;

static void gp_on_term(int sig)
{
	(void)sig;
	gp_term = 1;
}

static int gp_domid(struct xs_handle *xs)
{
	char *v = xs_read(xs, XBT_NULL, "domid", NULL);
	int d = v ? atoi(v) : -1;

	free(v);
	return d;
}

static char *gp_wait(struct xs_handle *xs, const char *path)
{
	for (int i = 0; i < GP_WAIT_STEPS && !gp_term; i++) {
		char *v = xs_read(xs, XBT_NULL, path, NULL);
		if (v)
			return v;
		usleep(5000);
	}
	fprintf(stderr, "grant_peer: %s never appeared\n", path);
	return NULL;
}

static int gp_share(struct xs_handle *xs, int peer)
{
	xengntshr_handle *gs = xengntshr_open(NULL, 0);
	uint32_t ref;
	char buf[64];
	int me = gp_domid(xs);

	char *p = gs ? xengntshr_share_pages(gs, (uint32_t)peer, 1, &ref, 0) : NULL;
	if (!p || me < 0) {
		fprintf(stderr, "grant_peer: %s: %s\n", me < 0 ? "no domid in my home" : "share failed",
			strerror(errno));
		return 1;
	}
	strcpy(p, "exec-grant");
	struct xs_permissions perms[2] = {{.id = (unsigned)me, .perms = XS_PERM_NONE},
					  {.id = (unsigned)peer, .perms = XS_PERM_READ}};
	snprintf(buf, sizeof(buf), "%u", ref);
	if (!xs_write(xs, XBT_NULL, "data/ref", buf, strlen(buf)) ||
	    !xs_set_permissions(xs, XBT_NULL, "data/ref", perms, 2)) {
		perror("grant_peer: data/ref");
		return 1;
	}
	printf("grant_peer: dom%d shares ref %u read-only with dom%d\n", me, ref, peer);
	fflush(stdout);
	while (!gp_term)   /* until xensim ends the run (SIGTERM) */
		usleep(5000);
	xengntshr_unshare(gs, p, 1);
	xs_rm(xs, XBT_NULL, "data/ref");
	xengntshr_close(gs);
	return 0;
}

static int gp_map(struct xs_handle *xs, int grantor, const char *mode)
{
	char path[64];
	xengnttab_handle *gt = xengnttab_open(NULL, 0);

	snprintf(path, sizeof(path), "/local/domain/%d/data/ref", grantor);
	char *v = gp_wait(xs, path);
	if (!v || !gt)
		return 1;
	uint32_t ref = (uint32_t)atoi(v);
	free(v);
	volatile char *p = xengnttab_map_grant_ref(gt, (uint32_t)grantor, ref, PROT_READ);
	if (!p || strcmp((const char *)p, "exec-grant") != 0) {
		fprintf(stderr, "grant_peer: map of dom%d ref %u: %s\n", grantor, ref,
			p ? "wrong bytes" : "failed");
		return 1;
	}
	printf("grant_peer: mapped dom%d ref %u, read \"%s\"\n", grantor, ref, (const char *)p);
	fflush(stdout);
	if (strcmp(mode, "write") == 0)
		p[1] = 'X';
	xengnttab_unmap(gt, (void *)p, 1);
	if (strcmp(mode, "stale") == 0)
		printf("grant_peer: read after unmap: %c\n", p[0]);
	xengnttab_close(gt);
	return strcmp(mode, "ok") == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
	struct xs_handle *xs;

	signal(SIGTERM, gp_on_term);
	if (argc < 3 || (strcmp(argv[1], "map") == 0 && argc < 4))
		return 2;
	xs = xs_open(0);
	if (!xs) {
		perror("grant_peer: xs_open");
		return 1;
	}
	int rc = strcmp(argv[1], "share") == 0 ? gp_share(xs, atoi(argv[2]))
						: gp_map(xs, atoi(argv[2]), argv[3]);
	xs_close(xs);
	return rc;
}
