/* The CUnit harness shared by every tests/<module>_test.c.
 * A test file defines test_register() and adds its suites with TEST_SUITE. */
#ifndef XENSIM_TEST_H
#define XENSIM_TEST_H

#include <CUnit/CUnit.h>

struct test_case {
	const char *name;
	void (*fn)(void);
};

/* Register a suite from a { name, fn } array ended by { NULL, NULL }. */
void test_add_suite(const char *name, int (*init)(void), int (*fini)(void),
		    const struct test_case *cases);

/* Every test file provides this. */
void test_register(void);

#define TEST(fn) { #fn, fn }
#define TEST_END { NULL, NULL }

#endif
