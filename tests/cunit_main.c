/* Common main() of every test binary: runs the suites the file registered
 * (all, or only those named on the command line) and prints one machine line
 * "RESULT <binary> tests=N failed=M" that tests/run-all.sh adds up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/Basic.h>

#include "tests/test.h"

static int suite_wanted(int argc, char **argv, const char *name)
{
	if (argc < 2)
		return 1;
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return 1;
	return 0;
}

static int g_argc;
static char **g_argv;

void test_add_suite(const char *name, int (*init)(void), int (*fini)(void),
		    const struct test_case *cases)
{
	if (!suite_wanted(g_argc, g_argv, name))
		return;
	CU_pSuite suite = CU_add_suite(name, init, fini);
	if (!suite) {
		fprintf(stderr, "test: cannot add suite %s: %s\n", name, CU_get_error_msg());
		exit(3);
	}
	for (const struct test_case *c = cases; c->name; c++)
		if (!CU_add_test(suite, c->name, c->fn)) {
			fprintf(stderr, "test: cannot add %s.%s\n", name, c->name);
			exit(3);
		}
}

int main(int argc, char **argv)
{
	const char *self = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];

	g_argc = argc;
	g_argv = argv;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 3;
	test_register();
	CU_basic_set_mode(CU_BRM_VERBOSE);
	CU_basic_run_tests();
	unsigned run = CU_get_number_of_tests_run();
	unsigned failed = CU_get_number_of_tests_failed();
	unsigned suites_failed = CU_get_number_of_suites_failed();
	printf("RESULT %s tests=%u failed=%u\n", self, run, failed + suites_failed);
	CU_cleanup_registry();
	return failed + suites_failed ? 1 : 0;
}
