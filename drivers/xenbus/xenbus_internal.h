/* Private to drivers/xenbus. */
#ifndef XENSIM_DRIVERS_XENBUS_INTERNAL_H
#define XENSIM_DRIVERS_XENBUS_INTERNAL_H

#include <event2/event.h>

#include "drivers/platform.h"
#include "drivers/xenbus/xenbus.h"

#define XENBUS_TOKEN_MAX 24u

struct xenbus_watch {
	struct xenbus_watch *xw_next;
	struct xenbus *xw_xb;
	char xw_token[XENBUS_TOKEN_MAX];
	char *xw_path;
	xenbus_watch_fn *xw_fn;
	void *xw_arg;
	/* Discovery watches: who hears about (frontend, devid) pairs. */
	xenbus_device_fn *xw_dev_fn;
	void *xw_dev_arg;
};

struct xenbus_destroy;

struct xenbus {
	struct event_base *xb_base;
	struct xs_handle *xb_xs;
	struct event *xb_ev;          /* xs_fileno readable (or more to drain) */
	struct xenbus_watch *xb_watches;
	unsigned xb_nwatches;
	uint64_t xb_token_seq;
	struct xenbus_destroy *xb_destroys;   /* device destroys in progress */
};

/* "<dir>/<key>" (key NULL or "": dir) into buf; -ENAMETOOLONG. */
int xenbus_join(char *buf, size_t len, const char *dir, const char *key);

/* xenbus_toolstack.c: drop destroys still waiting when xb closes. */
void xenbus_destroys_cancel(struct xenbus *xb);

#endif
