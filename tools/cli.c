/*
 * The command line's common ground: one option parser for every subcommand,
 * so that each says the same things the same way. A bad value names the
 * option and what it accepts ("--seeds: bad value '7-9' (valid: A..B ...)"),
 * an unknown option or a stray argument is an error, and --help prints the
 * usage on stdout and exits 0. The value parsers are shared by run, sweep,
 * shrink and pingpong.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/scenario.h"
#include "tools/xensim.h"

#define CLI_OPTS_MAX 32u

int xensim_parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno || *end ? -EINVAL : 0;
}

int xensim_parse_u64_in(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
	return xensim_parse_u64(s, out) < 0 || *out < lo || *out > hi ? -EINVAL : 0;
}

/* "A..B" with A <= B, or "N" alone for N..N. */
int xensim_parse_range(const char *s, uint64_t *first, uint64_t *last)
{
	const char *dots = strstr(s, "..");
	char a[32];

	if (!dots) {
		if (xensim_parse_u64(s, first) < 0)
			return -EINVAL;
		*last = *first;
		return 0;
	}
	if ((size_t)(dots - s) >= sizeof(a))
		return -EINVAL;
	snprintf(a, sizeof(a), "%.*s", (int)(dots - s), s);
	if (xensim_parse_u64(a, first) < 0 || xensim_parse_u64(dots + 2, last) < 0 || *last < *first)
		return -EINVAL;
	return 0;
}

int xensim_parse_mode(const char *s, int *mode)
{
	if (strcmp(s, "det") == 0)
		*mode = SIM_MODE_DET;
	else if (strcmp(s, "free") == 0)
		*mode = SIM_MODE_FREE;
	else
		return -EINVAL;
	return 0;
}

int xensim_parse_policy(const char *s, int *policy, unsigned *depth)
{
	enum sim_policy p;
	int rc = scn_parse_policy(s, &p, depth);

	if (rc == 0)
		*policy = (int)p;
	return rc;
}

int xensim_parse_category(const char *cmd, const char *s)
{
	for (int c = 0; c < SCN_CAT_COUNT; c++)
		if (strcmp(s, scn_category_name((enum scn_category)c)) == 0)
			return 0;
	fprintf(stderr, "xensim %s: --category: no category '%s' (valid:", cmd, s);
	for (int c = 0; c < SCN_CAT_COUNT; c++)
		fprintf(stderr, " %s", scn_category_name((enum scn_category)c));
	fprintf(stderr, ")\n");
	return -EINVAL;
}

/* "--name" for a long option, "-j" for a short one. */
static void opt_label(const struct xensim_opt *o, char *buf, size_t len)
{
	if (o->name)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->val);
}

static const struct xensim_opt *opt_find(const struct xensim_opt *opts, int val)
{
	for (; opts->val; opts++)
		if (opts->val == val)
			return opts;
	return NULL;
}

/* getopt's tables from ours: long options, and short ones for those without a name. */
static void opt_tables(const struct xensim_opt *opts, struct option *longopts, char *shortopts)
{
	unsigned n = 0;
	char *sp = shortopts;

	*sp++ = ':';   /* a missing argument is ':', told apart from an unknown option */
	for (; opts->val; opts++) {
		if (n == CLI_OPTS_MAX) {   /* a subcommand's table outgrew ours: a bug here */
			fprintf(stderr, "xensim: more than %u options in one table\n", CLI_OPTS_MAX);
			abort();
		}
		if (opts->name)
			longopts[n++] = (struct option){opts->name, opts->valid ? required_argument
									: no_argument, NULL, opts->val};
		if (!opts->name) {
			*sp++ = (char)opts->val;
			if (opts->valid)
				*sp++ = ':';
		}
	}
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	*sp++ = 'h';
	*sp = '\0';
}

static int opt_fail(const struct xensim_cli *cli, const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "xensim %s: ", cli->cmd);
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	if (cli->usage)
		cli->usage(stderr);
	return -EINVAL;
}

int xensim_getopt(const struct xensim_cli *cli, int argc, char **argv)
{
	struct option longopts[CLI_OPTS_MAX + 2];
	char shortopts[2 * CLI_OPTS_MAX + 3], label[64];
	int c;

	opt_tables(cli->opts, longopts, shortopts);
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c == 'h' && !opt_find(cli->opts, 'h')) {
			if (cli->usage)
				cli->usage(stdout);
			return -ECANCELED;
		}
		if (c == '?')
			return opt_fail(cli, "unknown option '%s'%s", argv[optind - 1], "");
		if (c == ':')
			return opt_fail(cli, "option '%s' needs a value%s", argv[optind - 1], "");
		const struct xensim_opt *o = opt_find(cli->opts, c);
		opt_label(o, label, sizeof(label));
		if (cli->apply(cli->ctx, c, optarg) < 0) {
			fprintf(stderr, "xensim %s: %s: bad value '%s' (valid: %s)\n", cli->cmd, label,
				optarg ? optarg : "", o->valid ? o->valid : "no value");
			return -EINVAL;
		}
	}
	if (argc - optind < (int)cli->args_min || argc - optind > (int)cli->args_max) {
		if (argc - optind > (int)cli->args_max)
			return opt_fail(cli, "unexpected argument '%s'%s", argv[optind + cli->args_max], "");
		return opt_fail(cli, "%s%s", cli->args_what ? cli->args_what : "an argument is missing", "");
	}
	return optind;
}
