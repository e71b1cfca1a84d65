/*
 * A process that sets the sim up itself through libxensim.so.0 (sim_init, a
 * domain, a thread entering it) while loading the Xen-named libraries too:
 * the standalone mode must stay out of its way (its main thread is the harness,
 * outside every domain), and the Xen-named libraries must reach the same sim
 * state as its own sim calls (one libxensim.so.0 per process).
 * Built with -I. against build/lib (tests/check-libs.sh). Exits 0 or 1.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <xenevtchn.h>
#include <xenstore.h>

#include "sim/evtchn/evtchn.h"
#include "sim/hypervisor/hypervisor.h"

#define CHECK(cond, what)                                                      \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("embed_peer: %s failed (errno %d)\n", what, errno); \
			return 1;                                              \
		}                                                              \
	} while (0)

int main(void)
{
	struct sim_domain_config g = {.name = "guest", .domid = 3};

	CHECK(sim_init() == 0, "sim_init");
	CHECK(sim_domain_create(&g) == 3, "create dom3");
	errno = 0;
	CHECK(xs_open(0) == NULL && errno == ESRCH, "xs_open outside a domain fails (harness)");
	CHECK(sim_current_domid() == DOMID_INVALID, "the harness is outside every domain");
	CHECK(!sim_domain_alive(0), "no standalone dom0 was made");
	CHECK(sim_thread_enter(3) == 0, "enter dom3");
	xenevtchn_handle *h = xenevtchn_open(NULL, 0);
	CHECK(h != NULL, "xenevtchn_open as dom3");
	int p = xenevtchn_bind_unbound_port(h, 3);
	CHECK(p > 0, "bind_unbound_port");
	CHECK(evtchn_ports_in_use(3) == 1, "the port is in this process's sim (one state)");
	uint64_t before = evtchn_unbound_sends();
	CHECK(xenevtchn_notify(h, (evtchn_port_t)p) == 0, "notify on an unbound port succeeds");
	CHECK(evtchn_unbound_sends() == before + 1, "and is counted in the same sim");
	xenevtchn_close(h);
	sim_thread_leave();
	sim_reset();
	printf("embed_peer: ok\n");
	return 0;
}
