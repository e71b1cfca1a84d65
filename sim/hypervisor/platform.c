/* The sim build's side of drivers/platform.h: barriers are scheduling points,
 * driver log lines carry the calling domain. */
#include <stdarg.h>
#include <stdio.h>

#include "drivers/platform.h"
#include "sim/hypervisor/hypervisor.h"

void xd_barrier_point(const char *what)
{
	sim_sched_point(what);
}

void xd_log(const char *fmt, ...)
{
	char line[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	sim_log("dom%u: %s", sim_current_domid(), line);
}
