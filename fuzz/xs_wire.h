/*
 * What fuzz_xs_wire's files share: the op kinds, one connection of the
 * target as the judge sees it, the events an op caused, and the judge's
 * entry points. fuzz/fuzz_xs_wire.c is the target (servers, connections,
 * the two input modes), fuzz/xs_wire_judge.c the checks after each op of
 * ops mode, fuzz/xs_wire_ops.h the ops-mode input layout and mutator.
 */
#ifndef XENSIM_FUZZ_XS_WIRE_H
#define XENSIM_FUZZ_XS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sim/xenstore/xs_internal.h"

#define FZX_INPUT_MAX (64u * 1024u)     /* bytes of one input used; the rest is cut */
#define FZX_HDR sizeof(struct xsd_sockmsg)
#define FZX_REQS_MAX (FZX_INPUT_MAX / FZX_HDR + 1)
#define FZX_CONNS 4u                    /* dom0 twice, then one per guest */
#define FZX_TXS 4u                      /* transactions an op can name per connection */
#define FZX_EVENTS_MAX 256u             /* events of one op looked at */

enum fzx_op_kind {
	FZX_READ, FZX_WRITE, FZX_MKDIR, FZX_RM, FZX_DIRECTORY, FZX_GET_PERMS, FZX_SET_PERMS,
	FZX_WATCH, FZX_UNWATCH, FZX_TX_START, FZX_TX_END, FZX_INTRODUCE, FZX_RELEASE,
	FZX_RESET_WATCHES, FZX_DIRECTORY_PART, FZX_DOMAIN, FZX_SET_TARGET, FZX_CONTROL,
	FZX_BULK, FZX_RECONNECT, FZX_RAW, FZX_OP_COUNT
};

struct fzx_in {
	const uint8_t *p;
	size_t left;
};

/* The requests not yet answered on a connection, in order. */
struct fzx_reqs {
	struct xsd_sockmsg hdr[FZX_REQS_MAX];
	unsigned n, next;                /* next: the first not yet answered */
};

/* What came back on a connection, parsed as it arrives. */
struct fzx_rx {
	uint8_t buf[2 * (FZX_HDR + XENSTORE_PAYLOAD_MAX)];
	size_t len;
	unsigned replies, events;
	char last[32];                   /* the head of the last reply's payload */
	uint32_t last_type;
};

struct fzx_conn {
	int fd;                          /* -1: not open */
	unsigned idx;
	domid_t domid;
	bool shut, closed;               /* we shut our side; the server closed */
	struct xs_conn *store;           /* the server's store connection */
	uint32_t txs[FZX_TXS];           /* ids from TRANSACTION_START; 0: none */
	uint32_t req_id;
	struct fzx_reqs reqs;
	struct fzx_rx rx;
};

/* An event a connection received during the current op. */
struct fzx_event {
	unsigned conn;
	char path[XENSTORE_ABS_PATH_MAX + 1];
};

/* A guest's usage, before and after its own op. */
struct fzx_usage {
	unsigned nodes, watches, txs;
};

struct fzx_before {
	struct fzx_usage usage;
	unsigned total, owned;        /* RELEASE: the store's nodes, the domain's but "/" */
};

/* One op as decoded: what the judge needs. */
struct fzx_op {
	enum fzx_op_kind kind;
	struct fzx_conn *c;
	uint32_t tx_id;
	char path[XENSTORE_ABS_PATH_MAX + 1];    /* canonical, or "" */
	uint32_t domid;                          /* INTRODUCE / RELEASE */
};

extern struct fzx_conn fzx_conns[FZX_CONNS];
extern struct fzx_event fzx_events[FZX_EVENTS_MAX];   /* of the current op */
extern unsigned fzx_events_n;

/* The canonical form of a path as conn domid names it. */
void fzx_canon(domid_t domid, const char *path, char *buf, size_t len);

/* Before an op is sent (its events are counted from here), and after it was
 * answered and the world settled: the ops-mode invariants (xs_wire_judge.c). */
void fzx_judge_before(const struct fzx_op *op, struct fzx_before *b);
void fzx_judge(const struct fzx_op *op, const struct fzx_before *b);

#endif
