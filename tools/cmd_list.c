/*
 * `xensim list [DIR]`: the scenario corpus, one line per file with its
 * category, expectation and description; `--workloads`: the workload types
 * the engine knows, with their parameters and counters.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim/scenario/workload.h"
#include "tools/xensim.h"

#define LIST_DIR_DEFAULT "scenarios"

static const char *list_expect(const struct scenario *s)
{
	switch (scn_expectation(s)) {
	case SCN_EXPECT_HANG: return "hang";
	case SCN_EXPECT_ERROR: return "error";
	case SCN_EXPECT_FAIL: return "fail";
	default: return "pass";
	}
}

static int list_corpus(const char *dir, const char *category)
{
	char **paths;
	unsigned n, shown = 0, bad = 0;
	int rc = scn_corpus_list(dir, &paths, &n);

	if (rc < 0) {
		fprintf(stderr, "xensim list: %s: %s\n", dir, strerror(-rc));
		return XENSIM_EXIT_USAGE;
	}
	printf("%-52s %-14s %-6s %-6s %s\n", "scenario", "category", "expect", "seed", "description");
	for (unsigned i = 0; i < n; i++) {
		struct scenario *s = NULL;
		char err[SCN_ERR_MAX], seed[24] = "-";
		uint64_t pinned;
		if (scn_parse_file(paths[i], &s, err, sizeof(err)) < 0) {
			printf("%-52s PARSE ERROR: %s\n", paths[i], err);
			bad++;
		} else if (!category || strcmp(category, scn_category_name(scn_category(s))) == 0) {
			if (scn_seed_pinned(s, &pinned))
				snprintf(seed, sizeof(seed), "%lu", pinned);
			printf("%-52s %-14s %-6s %-6s %s\n", paths[i], scn_category_name(scn_category(s)),
			       list_expect(s), seed, scn_description(s));
			shown++;
		}
		if (s)
			scn_free(s);
		free(paths[i]);
	}
	free(paths);
	printf("%u scenarios%s\n", shown, bad ? ", some with parse errors" : "");
	return bad ? XENSIM_EXIT_USAGE : XENSIM_EXIT_PASS;
}

static void list_workloads(void)
{
	static const char *const kinds[] = {
		[SCN_P_UINT] = "count", [SCN_P_SIZE] = "size", [SCN_P_TIME] = "time",
		[SCN_P_BOOL] = "bool", [SCN_P_PERCENT] = "percent", [SCN_P_DOMAIN] = "domain",
		[SCN_P_DOMAINS] = "domains", [SCN_P_STRING] = "text",
	};
	unsigned n;
	const struct scn_wl_type *const *t = scn_wl_types(&n);

	for (unsigned i = 0; i < n; i++) {
		printf("workload %s: %s\n", t[i]->name, t[i]->what);
		for (const struct scn_param *p = t[i]->params; p->key; p++)
			printf("  %-10s %-8s %-10s %s\n", p->key, kinds[p->kind],
			       p->dflt ? p->dflt : "(required)", p->what);
		printf("  counters:");
		for (unsigned c = 0; t[i]->counters && t[i]->counters[c]; c++)
			printf(" %s.%s", t[i]->name, t[i]->counters[c]);
		printf("\n");
	}
}

int cmd_list(int argc, char **argv)
{
	const char *dir = LIST_DIR_DEFAULT, *category = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--workloads") == 0) {
			list_workloads();
			return XENSIM_EXIT_PASS;
		}
		if (strcmp(argv[i], "--category") == 0 && i + 1 < argc)
			category = argv[++i];
		else if (argv[i][0] != '-')
			dir = argv[i];
		else {
			fprintf(stderr, "usage: xensim list [DIR] [--category C] | xensim list --workloads\n");
			return XENSIM_EXIT_USAGE;
		}
	}
	return list_corpus(dir, category);
}
