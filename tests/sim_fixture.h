/* What the sim's test suites share: expectations in the real libraries' error
 * convention, and the usual three domains. */
#ifndef XENSIM_TEST_SIM_FIXTURE_H
#define XENSIM_TEST_SIM_FIXTURE_H

#include <errno.h>

#include "sim/hypervisor/hypervisor.h"
#include "tests/test.h"

/* A call that must fail like the real library: -1 (or NULL) and errno. */
#define EXPECT_FAIL(call, err)                                                 \
	do {                                                                   \
		errno = 0;                                                     \
		CU_ASSERT_EQUAL((call), -1);                                   \
		CU_ASSERT_EQUAL(errno, (err));                                 \
	} while (0)
#define EXPECT_NULL(call, err)                                                 \
	do {                                                                   \
		errno = 0;                                                     \
		CU_ASSERT_PTR_NULL(call);                                      \
		CU_ASSERT_EQUAL(errno, (err));                                 \
	} while (0)

/* A fresh sim with dom0 (privileged), dom1 "guest1" and dom2 "guest2". */
static inline void doms_up(void)
{
	static const char *const names[] = {"dom0", "guest1", "guest2"};

	sim_reset();
	for (int id = 0; id < 3; id++) {
		struct sim_domain_config cfg = {.name = names[id], .domid = id, .privileged = id == 0};
		CU_ASSERT_EQUAL_FATAL(sim_domain_create(&cfg), id);
	}
}

/* Memory accesses run under sim_fault_catch(). */
struct poke {
	volatile uint8_t *p;
	uint8_t v;
};

static inline void poke_write(void *arg)
{
	struct poke *k = arg;
	*k->p = k->v;
}

static inline void poke_read(void *arg)
{
	struct poke *k = arg;
	k->v = *k->p;
}

/* Let the test thread act for a domain. */
static inline void as(domid_t domid)
{
	CU_ASSERT_EQUAL_FATAL(sim_thread_enter(domid), 0);
}

#endif
