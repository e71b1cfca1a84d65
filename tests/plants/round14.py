#!/usr/bin/env python3
"""Fourteenth round: plants written blind from drivers/ (blk, net and xenbus),
four in blk, four in net, four in xenbus, spread over the classes, mostly on
paths a basic run does not take first (a grant budget that binds the size of
indirect requests, indirect reads of a read-only vbd, an event channel that
cannot be had while the rings are set up, a hostile backend's disk size or a
hostile frontend's runt frame, a tx response rewritten after its check, split
event channels, a backend directory that vanishes and comes back, overflowing
decimals in xenstore, a frontend that reconnects between two of the
backend's looks, a toolstack destroy after the backend domain died, a
transaction whose commit fails). Kept apart from make.py's table so other
rounds merge cleanly; make_one is make.py's.
python3 tests/plants/round14.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB_REQ = "drivers/blk/blkback_req.c"
BF, BF_RING = "drivers/blk/blkfront.c", "drivers/blk/blkfront_ring.c"
NB_TXPARSE = "drivers/net/netback_txparse.c"
NF, NF_IO = "drivers/net/netfront.c", "drivers/net/netfront_io.c"
XB, XB_BE, XB_TS = ("drivers/xenbus/xenbus.c", "drivers/xenbus/xenbus_backend.c",
                    "drivers/xenbus/xenbus_toolstack.c")

PLANTS = [
    # ---------------- blk ----------------
    ("blkfront-indirect-budget-no-indirect-pages", "persistent-grants", "blkfront",
     "the segments per request are bounded by the grant budget left after the rings, forgetting the "
     "request's own indirect pages: when the budget binds, the largest request needs more pages than "
     "the pool (or the per-request grants) may ever hold, and with nothing else in flight it fails "
     "-ENOSPC instead of being issued",
     "blk with indirect segments and a grant budget smaller than the rings plus the indirect segments "
     "both ends offer (e.g. grant-pages 64..2048 with 4096 indirect segments): a read or write as large "
     "as the negotiated request size fails with ENOSPC",
     [(BF,
       "\tunsigned room = bf->bf_cfg.grant_pages_max - bf->bf_nq * (1u << bf->bf_order) -\n"
       "\t\t\tBLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;\n",
       "\tunsigned room = bf->bf_cfg.grant_pages_max - bf->bf_nq * (1u << bf->bf_order);\n")]),
    ("blkback-readonly-indirect-read-refused", "read-only", "blkback",
     "the read-only check compares the request's raw operation with BLKIF_OP_READ instead of the "
     "resolved one: an indirect request (operation BLKIF_OP_INDIRECT) is taken for a write, so every "
     "indirect read of a read-only vbd is answered BLKIF_RSP_ERROR",
     "a read-only vbd (mode=r or a read-only store) with feature-max-indirect-segments negotiated: a "
     "read of more than 11 pages fails with EIO while smaller reads work",
     [(BB_REQ,
       "\tif (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)\n",
       "\tif (st == BLKIF_RSP_OKAY && lim->readonly && req->operation != BLKIF_OP_READ && out->nr_segs)\n")]),
    ("blkfront-ring-unshare-needs-channel", "grant-leak", "blkfront",
     "a queue's ring pages are unshared only if the queue also got its event channel: when the "
     "channel cannot be allocated after the ring was shared (backend domain gone, ESRCH; no ports), "
     "teardown leaves the ring pages granted and counted in the grant budget for good",
     "blk whose event channel allocation fails during ring setup (an evtchn fault, or a backend domain "
     "that dies between its InitWait and our setup), then a close: ring grants still shared, "
     "grant_pages not back to 0 (resource balance)",
     [(BF_RING,
       "\tif (q->q_sring) {\n",
       "\tif (q->q_sring && q->q_evtchn) {\n")]),
    ("blkfront-sectors-shift-wraps", "response-trust", "blkfront",
     "the backend's sectors key is bounded by UINT64_MAX instead of UINT64_MAX >> 9 at connect: a "
     "size in sectors of 2^55 or more wraps when turned into bytes, and the frontend connects with a "
     "wrong (possibly zero) disk size instead of refusing the description",
     "a hostile blk backend publishing sectors >= 2^55 (e.g. 36028797018963968): the frontend should "
     "fail the connection, here it is Connected with size 0 (or the low bits)",
     [(BF,
       "xenbus_read_uint(xs, t, d, \"sectors\", UINT64_MAX >> BLKFRONT_SECTOR_SHIFT, &sectors);",
       "xenbus_read_uint(xs, t, d, \"sectors\", UINT64_MAX, &sectors);")]),
    # ---------------- net ----------------
    ("netback-tx-runt-accepted", "request-trust", "netback",
     "a tx packet is only refused when it is empty, not when it is shorter than an Ethernet header: "
     "a 1..13 byte frame without offload flags is answered OKAY and handed to the link and the peers",
     "a hostile net frontend sending a frame of fewer than 14 bytes (the original drops it with "
     "NETIF_RSP_ERROR; here a runt reaches the link / the other guest)",
     [(NB_TXPARSE,
       "\tif (p->len < NETPKT_ETH_HLEN)\n",
       "\tif (p->len == 0)\n")]),
    ("netfront-tx-null-refetched", "double-fetch", "netfront",
     "after the tx response copy passed its check, whether it answers an extra info slot is decided "
     "by reading its status again from the shared ring: a response turned into NULL leaks its page "
     "and underflows the extra count, one turned from NULL into data releases an unchecked id",
     "a net backend (or the shared-memory attack) rewriting a tx response's status between netfront's "
     "copy and its use: tx pages never freed (sends block for good) or q_txb[] indexed out of range",
     [(NF_IO,
       "\t\t\tif (rc == 1) {\n\t\t\t\tq->q_tx_extras--;\n",
       "\t\t\tif (RING_GET_RESPONSE(&q->q_tx, q->q_tx.rsp_cons)->status == NETIF_RSP_NULL) {\n"
       "\t\t\t\tq->q_tx_extras--;\n")]),
    ("netfront-refill-notifies-tx-port", "lost-wakeup", "netfront",
     "with split event channels, posting rx buffers notifies the tx channel instead of the rx one: "
     "a netback waiting for buffers (req_event set) is not woken and delivers nothing until its stall "
     "timer fires",
     "net with feature-split-event-channels and feature-rx-notify under receive pressure (small "
     "rx-bufs, bulk to the guest): deliveries pause for up to rx_stall_ms each time the rx ring runs "
     "dry, spurious events on the tx channel, timeouts",
     [(NF_IO,
       "xenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);",
       "xenbus_evtchn_notify(q->q_ev_tx);")]),
    ("netfront-away-timer-kept", "reconnect", "netfront",
     "the bounded wait for a vanished backend is not cancelled when the backend's directory comes "
     "back: the frontend reconnects, then fails as 'backend gone' once away_timeout_ms have passed",
     "a net backend whose directory vanishes and comes back (driver domain restart) with the run "
     "going on past away_timeout_ms: a connected netfront fails (EV_FAILED, error written)",
     [(NF,
       "\tevent_del(nf->nf_away_timer);   /* back (or never gone) */\n", "")]),
    # ---------------- xenbus ----------------
    ("xenbus-parse-uint-wraps", "request-trust", "xenbus",
     "the decimal parser no longer refuses values past UINT64_MAX: an overflowing number wraps "
     "modulo 2^64 and is accepted whenever the wrapped value is within the key's bound",
     "a hostile peer writing an overflowing decimal to a key the other end reads (e.g. a frontend's "
     "ring-page-order or event-channel = 18446744073709551618, a backend's sector-size = "
     "18446744073709552128): refused as malformed before, taken as 2 / 512 here",
     [(XB,
       "\t\tif (v > (UINT64_MAX - d) / 10)\n\t\t\treturn -EINVAL;\n", "")]),
    ("xenbus-view-keys-skip-top-level", "reconnect", "xenbus",
     "the digest of the frontend's keys that tells a reconnect in place leaves out every key of the "
     "device directory itself (|| written as &&), keeping only queue-N/ ones: a single-queue frontend "
     "that reconnected between two of the backend's looks is not seen, its new rings are never served",
     "a single-queue blk or net frontend that goes Closed, Initialising and back to its ready state "
     "with new rings while the backend stays Connected (coalesced watch events): the backend keeps "
     "the old rings mapped, the frontend's I/O hangs",
     [(XB_BE,
       "if (depth > 1 || strcmp(names[i], \"state\") != 0)",
       "if (depth > 1 && strcmp(names[i], \"state\") != 0)")]),
    ("xenbus-destroy-ignores-vanished-backend", "xenbus", "xenbus",
     "an asynchronous destroy finishes only on a backend state Closed, no longer when the backend "
     "directory is gone: a device whose backend vanished waits the whole timeout and reports "
     "-ETIMEDOUT",
     "a toolstack destroy of a device whose backend domain died (or whose backend directory was "
     "removed): done should run at once with 0, here after timeout_ms with ETIMEDOUT",
     [(XB_TS,
       "if (rc == -ENOENT || (rc == 0 && st == XenbusStateClosed))",
       "if (rc == 0 && st == XenbusStateClosed)")]),
    ("xenbus-tx-commit-error-lost", "xenstore-transaction", "xenbus",
     "when fn succeeded but the commit fails with an error other than EAGAIN (quota, EACCES, EIO), "
     "xenbus_transact returns fn's 0: the caller believes writes took effect that were thrown away "
     "(a state never written, keys never published)",
     "a transaction end refused by xenstored (a node quota exceeded at commit, a xenstore fault at "
     "TRANSACTION_END): a backend believing it is InitWait/Connected or a frontend believing its rings "
     "are published, and the handshake hangs",
     [(XB,
       "\t\telse if (end_rc == -EAGAIN || fn_rc == 0)\n",
       "\t\telse if (end_rc == -EAGAIN)\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
