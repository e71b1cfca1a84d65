/*
 * libxenctrl.so.4.17 for exec'd domains: only what a program that is not a
 * toolstack uses to ask whether its peer lives (Debian's vchan-socket-proxy:
 * xc_interface_open, xc_domain_getinfo, xc_interface_close). The sim has no
 * hypercalls to offer the rest (domctl, sysctl, foreign mapping): a program
 * that needs more fails to start (symbol lookup error), as it would fail
 * without /dev/xen/privcmd on Debian's library.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <xenctrl.h>

#include "sim/remote/client/rc.h"

struct xc_interface_core {
	struct rc_conn *c;
};

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
				unsigned open_flags)
{
	xc_interface *x = calloc(1, sizeof(*x));
	int efd;

	(void)logger, (void)dombuild_logger, (void)open_flags;
	if (!x)
		return NULL;
	x->c = rc_open(RMT_OPEN_CTRL, 0, true, &efd);
	if (!x->c) {
		int e = errno;
		free(x);
		errno = e;
		return NULL;
	}
	return x;
}

int xc_interface_close(xc_interface *xch)
{
	if (!xch)
		return 0;
	rc_close(xch->c);
	free(xch);
	return 0;
}

/* The live domains from first_domid on: domid, memory; never dying,
 * crashed, shutdown or paused (a dead domain is simply not listed). */
int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
		      xc_dominfo_t *info)
{
	uint64_t a[6] = {first_domid, max_doms};
	struct rc_reply r;
	int64_t n = rc_call(xch->c, RMT_CTRL_DOMINFO, a, NULL, 0, NULL, 0, &r);

	if (n < 0)
		return -1;
	if (r.rep.len != sizeof(struct rmt_dominfo) * (uint64_t)n || (uint64_t)n > max_doms) {
		free(r.data);
		errno = EPROTO;
		return -1;
	}
	for (int64_t i = 0; i < n; i++) {
		const struct rmt_dominfo *d = (const struct rmt_dominfo *)r.data + i;
		memset(&info[i], 0, sizeof(info[i]));
		info[i].domid = d->domid;
		info[i].running = 1;
		info[i].nr_pages = (unsigned long)d->pages;
		info[i].max_memkb = (unsigned long)(d->pages * 4);
		info[i].nr_online_vcpus = 1;
		info[i].xenstore = 1;
	}
	free(r.data);
	return (int)n;
}
