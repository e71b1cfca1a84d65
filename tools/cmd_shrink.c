/*
 * `xensim shrink FILE --seed N -o OUT`: reduce a scenario that fails at seed N
 * (drop lines, lower counts) to a smaller one that still fails the same way,
 * ready to be kept under scenarios/regression/.
 */
#include <errno.h>
#include <getopt.h>
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

int cmd_shrink(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"seed", required_argument, NULL, 's'}, {"output", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0},
	};
	const char *out = NULL;
	uint64_t seed = 0;
	bool seed_set = false;
	int opt;

	optind = 1;
	while ((opt = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
		if (opt == 'h') {
			shrink_usage(stdout);
			return XENSIM_EXIT_PASS;
		}
		if (opt == 's' && xensim_parse_u64(optarg, &seed) == 0)
			seed_set = true;
		else if (opt == 'o')
			out = optarg;
		else {
			shrink_usage(stderr);
			return XENSIM_EXIT_USAGE;
		}
	}
	if (optind != argc - 1 || !seed_set || !out) {
		shrink_usage(stderr);
		return XENSIM_EXIT_USAGE;
	}
	struct scenario *s;
	char err[SCN_ERR_MAX];
	if (scn_parse_file(argv[optind], &s, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return XENSIM_EXIT_USAGE;
	}
	struct scn_shrink_stats st;
	int rc = scn_shrink(s, seed, out, &st);
	if (rc == -EINVAL)
		fprintf(stderr, "xensim shrink: %s does not fail at seed %lu (%s): nothing to shrink\n",
			argv[optind], seed, st.reason[0] ? st.reason : "it passes");
	else if (rc < 0)
		fprintf(stderr, "xensim shrink: %s\n", strerror(-rc));
	else
		printf("shrunk %s: %u -> %u lines in %u runs; still fails with: %s\nwrote %s\n",
		       argv[optind], st.lines_before, st.lines_after, st.runs, st.reason, out);
	scn_free(s);
	return rc == 0 ? XENSIM_EXIT_PASS : rc == -EINVAL ? XENSIM_EXIT_USAGE : XENSIM_EXIT_HARNESS;
}
