/* After a driver test's teardown: nothing of domains 0..last_domid is left in
 * the hypervisor (grants, maps, maptrack, ports, mappings, handles), the store
 * is back to `nodes_base` nodes, and each module's whole-state check holds.
 * Prints what leaked, per domain, before the assertions fail. */
#ifndef XENSIM_TEST_LEFTOVERS_H
#define XENSIM_TEST_LEFTOVERS_H

#include <stdio.h>

#include "sim/evtchn/evtchn.h"
#include "sim/gnttab/gnttab.h"
#include "sim/hypervisor/hypervisor.h"
#include "sim/xenstore/xs_store.h"
#include "tests/test.h"

static inline __attribute__((unused)) void expect_nothing_left(domid_t last_domid, unsigned nodes_base)
{
	for (domid_t d = 0; d <= last_domid; d++) {
		struct gnttab_stats st = {0};
		gnttab_stats(d, &st);
		CU_ASSERT_EQUAL(st.grants_active, 0);
		CU_ASSERT_EQUAL(st.maps_active, 0);
		CU_ASSERT_EQUAL(st.maptrack_used, 0);
		CU_ASSERT_EQUAL(evtchn_ports_in_use(d), 0);
		if (st.grants_active || st.maps_active || st.maptrack_used || evtchn_ports_in_use(d))
			printf("  dom%u leaks: %llu grants, %llu maps, %llu maptrack, %u ports\n", d,
			       (unsigned long long)st.grants_active, (unsigned long long)st.maps_active,
			       (unsigned long long)st.maptrack_used, evtchn_ports_in_use(d));
	}
	CU_ASSERT_EQUAL(sim_mem_mappings(), 0);
	CU_ASSERT_EQUAL(gnttab_handles_open(), 0);
	CU_ASSERT_EQUAL(evtchn_handles_open(), 0);
	CU_ASSERT_EQUAL(xs_store_nodes_total(), nodes_base);
	if (xs_store_nodes_total() != nodes_base)
		printf("  xenstore: %u nodes, %u before the devices\n", xs_store_nodes_total(), nodes_base);
	gnttab_check();
	evtchn_check();
	xs_store_check();
}

#endif
