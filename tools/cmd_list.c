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

/* A time bound as a scenario file writes it: 1ms, 60s. */
static const char *list_time(uint64_t ns, char *buf, size_t len)
{
	static const struct { uint64_t ns; const char *unit; } units[] = {
		{1000000000ull, "s"}, {1000000ull, "ms"}, {1000ull, "us"}, {1ull, "ns"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (ns % units[i].ns == 0 || units[i].ns == 1) {
			snprintf(buf, len, "%lu%s", ns / units[i].ns, units[i].unit);
			break;
		}
	return buf;
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
		printf("workload %s: %s\n  %-10s %-8s %-10s %-12s %s\n", t[i]->name, t[i]->what,
		       "parameter", "kind", "default", "accepts", "what");
		for (const struct scn_param *p = t[i]->params; p->key; p++) {
			char range[48] = "";
			if (p->kind == SCN_P_TIME && (p->min || p->max)) {
				char lo[16], hi[16];
				snprintf(range, sizeof(range), "%s..%s", list_time(p->min, lo, sizeof(lo)),
					 list_time(p->max, hi, sizeof(hi)));
			} else if (p->min || p->max) {
				snprintf(range, sizeof(range), "%lu..%lu", p->min, p->max);
			}
			printf("  %-10s %-8s %-10s %-12s %s\n", p->key, kinds[p->kind],
			       p->dflt ? p->dflt : "(required)", range, p->what);
		}
		printf("  counters:");
		for (unsigned c = 0; t[i]->counters && t[i]->counters[c]; c++)
			printf(" %s.%s", t[i]->name, t[i]->counters[c]);
		printf("\n");
	}
}

struct list_cli {
	const char *category;
	bool workloads;
};

static int list_opt(void *ctx, int opt, const char *arg)
{
	struct list_cli *c = ctx;

	if (opt == 'w')
		c->workloads = true;
	else
		c->category = arg;
	return 0;
}

static void list_usage(FILE *out)
{
	fprintf(out, "usage: xensim list [DIR] [--category C] | xensim list --workloads\n"
		     "  The scenario files under DIR (default scenarios/) with category,\n"
		     "  expectation, pinned seed and description; or the workload types with\n"
		     "  their parameters (kind, default, accepted range) and counters.\n");
}

int cmd_list(int argc, char **argv)
{
	static const struct xensim_opt opts[] = {
		{"workloads", 'w', NULL},
		{"category", 'c', "functional, fault, race, regression or in-development"}, {0},
	};
	struct list_cli c = {0};
	const struct xensim_cli cli = {.cmd = "list", .opts = opts, .apply = list_opt, .ctx = &c,
				       .usage = list_usage, .args_min = 0, .args_max = 1};
	int first = xensim_getopt(&cli, argc, argv);

	if (first < 0)
		return first == -ECANCELED ? XENSIM_EXIT_PASS : XENSIM_EXIT_USAGE;
	if (c.workloads) {
		list_workloads();
		return XENSIM_EXIT_PASS;
	}
	if (c.category && xensim_parse_category("list", c.category) < 0)
		return XENSIM_EXIT_USAGE;
	return list_corpus(first < argc ? argv[first] : LIST_DIR_DEFAULT, c.category);
}
