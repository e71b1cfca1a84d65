/* The `xensim` command line: one table of subcommands, one file each. */
#ifndef XENSIM_TOOL_H
#define XENSIM_TOOL_H

#include <stdint.h>
#include <stdio.h>

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

/* Value parsers shared by the subcommands (tools/cli.c); 0 or -EINVAL.
 * A range is "A..B" with A <= B, or "N" for N..N. */
struct scenario;
struct scn_run_opts;
struct scn_result;
int xensim_parse_u64(const char *s, uint64_t *out);
int xensim_parse_u64_in(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);
int xensim_parse_range(const char *s, uint64_t *first, uint64_t *last);
int xensim_parse_mode(const char *s, int *mode);
int xensim_parse_policy(const char *s, int *policy, unsigned *depth);
/* 0 if S names a scenario category; else says so, with the valid ones. */
int xensim_parse_category(const char *cmd, const char *s);

/* One option of a subcommand, for xensim_getopt(). */
struct xensim_opt {
	const char *name;    /* long name ("seeds"); NULL: a short option only (-j) */
	int val;             /* what apply() is given; the short letter if name is NULL */
	const char *valid;   /* the values it takes, for errors ("1..64"); NULL: no value */
};

struct xensim_cli {
	const char *cmd;                       /* "run" */
	const struct xensim_opt *opts;         /* ends with {0} */
	int (*apply)(void *ctx, int val, const char *arg);   /* 0, or -EINVAL: bad value */
	void *ctx;
	void (*usage)(FILE *out);
	unsigned args_min, args_max;           /* operands after the options */
	const char *args_what;                 /* said when fewer than args_min */
};

/* Parse argv (argv[0] is the subcommand). Returns the index of the first
 * operand; -ECANCELED after --help (usage on stdout: exit 0); -EINVAL after a
 * message on stderr that names the option and the values it takes, an unknown
 * option, a missing value, or a missing or extra operand (exit 2). */
int xensim_getopt(const struct xensim_cli *cli, int argc, char **argv);

/* The verdict line (and, for a failure, the reason and the replay command). */
void xensim_print_result(const struct scenario *s, const struct scn_run_opts *o,
			 const struct scn_result *r);

#endif
