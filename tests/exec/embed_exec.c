/*
 * tests/exec/embed_exec: xensim_domain_exec from the embedding API. A
 * process embedding the sim (free mode) creates dom0 and two guests, starts
 * tests/exec/grant_peer as both guests (one shares a page read-only, the
 * other maps it and checks it, or writes through it: argv[2]), waits for the
 * mapper, ends the sharer with SIGTERM, destroys the domains and checks that
 * nothing is left mapped. Prints one line; exit 0 if the mapper's status is
 * what argv[2] expects (ok: 0, write: 1), 1 otherwise, 2 usage.
 *
 * usage: embed_exec PATH/TO/grant_peer ok|write
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "include/xensim.h"

static int ee_dom(const char *name, bool priv)
{
	struct xensim_domain_config c = {.name = name, .privileged = priv, .domid = priv ? 0 : -1,
					  .mem_bytes = 4u << 20};
	return xensim_domain_create(&c);
}

int main(int argc, char **argv)
{
	char cmd[512];
	int st = 0;

	if (argc != 3 || (strcmp(argv[2], "ok") && strcmp(argv[2], "write")))
		return 2;
	int rc = xensim_start(NULL), d0 = rc < 0 ? rc : ee_dom("dom0", true);
	if (rc < 0 || d0 != 0) {
		fprintf(stderr, "embed_exec: start %d, dom0 %d\n", rc, d0);
		return 1;
	}
	int a = ee_dom("ga", false), b = ee_dom("gb", false);
	snprintf(cmd, sizeof(cmd), "%s share %d", argv[1], b);
	int pa = xensim_domain_exec(a, cmd);
	snprintf(cmd, sizeof(cmd), "%s map %d %s", argv[1], a, argv[2]);
	int pb = xensim_domain_exec(b, cmd);
	if (pa <= 0 || pb <= 0) {
		fprintf(stderr, "embed_exec: xensim_domain_exec: %d %d\n", pa, pb);
		return 1;
	}
	waitpid(pb, &st, 0);
	kill(pa, SIGTERM);
	waitpid(pa, NULL, 0);
	int want = strcmp(argv[2], "ok") == 0 ? 0 : 1;
	bool ok = WIFEXITED(st) && WEXITSTATUS(st) == want;
	xensim_domain_destroy(b);
	xensim_domain_destroy(a);
	xensim_domain_destroy(0);
	uint64_t maps = xensim_memory_faults();
	printf("embed_exec: mapper (%s) exit %d, expected %d; %s; sim faults %lu\n", argv[2],
	       WIFEXITED(st) ? WEXITSTATUS(st) : -1, want, ok ? "ok" : "WRONG",
	       (unsigned long)maps);
	xensim_stop();
	return ok ? 0 : 1;
}
