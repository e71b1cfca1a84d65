/* `xensim faults`: list the fault sites the sim registers. */
#include <stdio.h>

#include "sim/hypervisor/hypervisor.h"
#include "tools/xensim.h"

int cmd_faults(int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		fprintf(stderr, "usage: xensim faults\n");
		return XENSIM_EXIT_USAGE;
	}
	for (struct sim_fault_site *s = sim_fault_site_first(); s; s = s->next)
		printf("%-28s %s\n", s->name, s->what);
	return XENSIM_EXIT_PASS;
}
