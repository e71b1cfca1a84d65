/*
 * sim/remote internals shared by server.c and copy.c.
 */
#ifndef SIM_REMOTE_INTERNAL_H
#define SIM_REMOTE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <xengnttab.h>

#include "sim/remote/remote_proto.h"

/* RMT_GNT_COPY: the in-process grant copy with the client's local bytes in a
 * bounce buffer; the reply payload (statuses, then the bytes copied to the
 * client's side) into *out (grown as needed). */
void rs_copy(xengnttab_handle *xgt, const struct rmt_req *rq, const uint8_t *in,
	     struct rmt_rep *rep, uint8_t **out, size_t *out_cap);

/* A reply that failed with err, and carries no payload. */
static inline void rs_fail(struct rmt_rep *rep, int err)
{
	rep->rc = -1;
	rep->err = err;
	rep->len = 0;
}

#endif
