/* `xensim faults`: list the fault sites the sim registers. */
#include <errno.h>
#include <stdio.h>

#include "sim/hypervisor/hypervisor.h"
#include "tools/xensim.h"

static void faults_usage(FILE *out)
{
	fprintf(out, "usage: xensim faults\n  Every fault site the sim registers, with what it does.\n"
		     "  legal: a history Xen itself may produce; a correct driver carries on,\n"
		     "  so a fault sweep does not excuse an error it leads to.\n");
}

static int faults_opt(void *ctx, int opt, const char *arg)
{
	(void)ctx, (void)opt, (void)arg;
	return -EINVAL;
}

int cmd_faults(int argc, char **argv)
{
	static const struct xensim_opt opts[] = {{0}};
	const struct xensim_cli cli = {.cmd = "faults", .opts = opts, .apply = faults_opt,
				       .usage = faults_usage};
	int first = xensim_getopt(&cli, argc, argv);

	if (first < 0)
		return first == -ECANCELED ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	for (struct sim_fault_site *s = sim_fault_site_first(); s; s = s->next)
		printf("%-28s %s%s\n", s->name, s->legal ? "legal: " : "", s->what);
	return XENSIM_EXIT_PASS;
}
