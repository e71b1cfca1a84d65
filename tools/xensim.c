/* xensim: the command line. Subcommands live in tools/cmd_*.c. */
#include <stdio.h>
#include <string.h>

#include "tools/xensim.h"

static const struct xensim_cmd commands[] = {
	{"pingpong", "[--round-trips N] [--seed N]",
	 "two domains exchange verified requests over a granted ring and an event channel",
	 cmd_pingpong},
	{"run", "FILE|DIR... [--seed N] [...]",
	 "run scenarios; the verdict line holds seed= and trace-hash=", cmd_run},
	{"sweep", "FILE --seeds A..B | --faults", "run a seed range, or sweep fault occurrences",
	 cmd_sweep},
	{"shrink", "FILE --seed N -o OUT", "reduce a failing scenario to a smaller one", cmd_shrink},
	{"list", "[DIR] [--category C] | --workloads", "the scenario corpus with categories; or the workloads",
	 cmd_list},
	{"faults", "", "list the fault sites", cmd_faults},
	{"bench", "[NAME...] [--runs N] [--quick] [--json FILE] [--list]",
	 "measure speed and scale against ceilings measured in the same run", cmd_bench},
	{"xenstored", "--socket PATH", "serve a fresh store over xs_wire until SIGINT/SIGTERM",
	 cmd_xenstored},
};

static void usage(FILE *out)
{
	fprintf(out, "usage: xensim COMMAND [ARGS]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(out, "  %-10s %-32s %s\n", commands[i].name, commands[i].usage,
			commands[i].what);
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? XENSIM_EXIT_USAGE : XENSIM_EXIT_PASS;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "xensim: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return XENSIM_EXIT_USAGE;
}
