/*
 * drivers/platform.h for real Xen: the barriers in the header are real fences
 * already and there is no scheduler to hand the point to; log lines go to
 * stderr, one per call.
 */
#include <stdarg.h>
#include <stdio.h>

#include "drivers/platform.h"

void xd_barrier_point(const char *what)
{
	(void)what;
}

void xd_log(const char *fmt, ...)
{
	char line[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, "xensim: %s\n", line);
}
