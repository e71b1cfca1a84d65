/*
 * `xensim shrink FILE --seed N -o OUT`: reduce a scenario that fails at seed N
 * (drop lines, lower counts) to a smaller one that still fails the same way,
 * ready to be kept under scenarios/regression/.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sim/scenario/scenario.h"
#include "tools/xensim.h"

static void shrink_usage(FILE *out)
{
	fprintf(out, "usage: xensim shrink FILE --seed N -o OUT\n"
		     "  reduce a scenario failing at seed N to a smaller one failing the same way\n"
		     "exit: 0 written, 2 usage (or the scenario does not fail at that seed), 3 harness\n");
}

struct shrink_cli {
	const char *out;
	uint64_t seed;
	bool seed_set;
};

static int shrink_opt(void *ctx, int opt, const char *arg)
{
	struct shrink_cli *c = ctx;

	if (opt == 'o') {
		c->out = arg;
		return 0;
	}
	c->seed_set = true;
	return xensim_parse_u64(arg, &c->seed);
}

int cmd_shrink(int argc, char **argv)
{
	static const struct xensim_opt opts[] = {
		{"seed", 's', "an unsigned integer"}, {"output", 'o', "a file path"},
		{NULL, 'o', "a file path"}, {0},
	};
	struct shrink_cli c = {0};
	const struct xensim_cli cli = {
		.cmd = "shrink", .opts = opts, .apply = shrink_opt, .ctx = &c, .usage = shrink_usage,
		.args_min = 1, .args_max = 1, .args_what = "no scenario file given",
	};
	int first = xensim_getopt(&cli, argc, argv);

	if (first < 0)
		return first == -ECANCELED ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	if (!c.seed_set || !c.out) {
		fprintf(stderr, "xensim shrink: %s is required\n", c.seed_set ? "-o OUT" : "--seed N");
		shrink_usage(stderr);
		return XENSIM_EXIT_USAGE;
	}
	uint64_t seed = c.seed;
	const char *out = c.out;
	struct scenario *s;
	char err[SCN_ERR_MAX];
	if (scn_parse_file(argv[first], &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return XENSIM_EXIT_USAGE;
	}
	struct scn_shrink_stats st;
	int rc = scn_shrink(s, seed, out, &st);
	if (rc == -EINVAL)
		fprintf(stderr, "xensim shrink: %s does not fail at seed %lu (%s): nothing to shrink\n",
			argv[first], seed, st.reason[0] ? st.reason : "it passes");
	else if (rc < 0)
		fprintf(stderr, "xensim shrink: %s\n", strerror(-rc));
	else
		printf("shrunk %s: %u -> %u lines in %u runs; still fails with: %s\nwrote %s\n",
		       argv[first], st.lines_before, st.lines_after, st.runs, st.reason, out);
	scn_free(s);
	return rc == 0 ? XENSIM_EXIT_PASS : rc == -EINVAL ? XENSIM_EXIT_USAGE : XENSIM_EXIT_HARNESS;
}
