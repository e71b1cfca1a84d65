/* The `xensim` command line: one table of subcommands, one file each. */
#ifndef XENSIM_TOOL_H
#define XENSIM_TOOL_H

#include <stdint.h>

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
int cmd_run(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_shrink(int argc, char **argv);
int cmd_list(int argc, char **argv);
int cmd_faults(int argc, char **argv);
int cmd_xenstored(int argc, char **argv);
int cmd_bench(int argc, char **argv);

/* Option helpers shared by run, sweep and shrink (tools/cmd_run.c); 0 or
 * -EINVAL. A range is "A..B" with A <= B. */
struct scenario;
struct scn_run_opts;
struct scn_result;
int xensim_parse_u64(const char *s, uint64_t *out);
int xensim_parse_range(const char *s, uint64_t *first, uint64_t *last);
int xensim_parse_mode(const char *s, int *mode);
int xensim_parse_policy(const char *s, int *policy, unsigned *depth);
/* The verdict line (and, for a failure, the reason and the replay command). */
void xensim_print_result(const struct scenario *s, const struct scn_run_opts *o,
			 const struct scn_result *r);

#endif
