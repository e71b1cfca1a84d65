/* The `xensim` command line: one table of subcommands, one file each. */
#ifndef XENSIM_TOOL_H
#define XENSIM_TOOL_H

/* Exit codes of every subcommand. */
enum {
	XENSIM_EXIT_PASS = 0,     /* the run passed */
	XENSIM_EXIT_FAIL = 1,     /* the code under test failed */
	XENSIM_EXIT_USAGE = 2,    /* bad command line or input file */
	XENSIM_EXIT_HARNESS = 3,  /* the harness itself broke */
};

struct xensim_cmd {
	const char *name;
	const char *usage;        /* arguments, for `xensim help` */
	const char *what;         /* one line */
	int (*run)(int argc, char **argv);   /* argv[0] is the subcommand */
};

int cmd_pingpong(int argc, char **argv);
int cmd_faults(int argc, char **argv);
int cmd_xenstored(int argc, char **argv);

#endif
