#!/usr/bin/env python3
"""Thirteenth round: plants written blind from drivers/ (blk, net and xenbus),
five in blk, four in net, three in xenbus, spread over the classes, mostly on
paths a basic run does not take first (indirect requests on a fresh queue or
a read-only vbd, a persistent-grant table at its limit, I/O in flight across
a backend reconnect, multi-queue, duplicate tx answers and failed rx frames
from a backend, a producer index moved under netback, split event channels,
a backend restarting or a toolstack closing during the handshake, a frontend
whose directory vanishes). Kept apart from make.py's table so other rounds
merge cleanly; make_one is make.py's.
python3 tests/plants/round13.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB_IO, BB_REQ, BB_RING = ("drivers/blk/blkback_io.c",
                         "drivers/blk/blkback_req.c", "drivers/blk/blkback_ring.c")
BF_IO, BF_RING = "drivers/blk/blkfront_io.c", "drivers/blk/blkfront_ring.c"
NB_RX, NB_TX = "drivers/net/netback_rx.c", "drivers/net/netback_tx.c"
NF_IO, NF_RSP = "drivers/net/netfront_io.c", "drivers/net/netfront_rsp.c"
XB_BE = "drivers/xenbus/xenbus_backend.c"

PLANTS = [
    # ---------------- blk ----------------
    ("blkback-indirect-checked-before-fetch", "request-trust", "blkback",
     "the segment check runs before an indirect request's segment pages are copied in: it validates "
     "(and sizes nr_sectors from) whatever q_segs held before, the previous indirect request's or zeroes, "
     "and the freshly fetched segments are used unchecked",
     "indirect I/O without persistent grants: the first indirect request of a queue counts one sector per "
     "segment, so a read returns stale bounce-buffer bytes and a write stores only its first sectors; and a "
     "hostile blk frontend putting last_sect >= 8 or a range past the end in its indirect pages is served",
     [(BB_IO,
       "\t\tif (r.indirect)\n"
       "\t\t\tst = blkback_fetch_indirect(q, &r);\n"
       "\t\tif (st == BLKIF_RSP_OKAY)\n"
       "\t\t\tst = blkback_segs_check(&vbd->vbd_limits, &r, segs, &why);\n",
       "\t\tst = blkback_segs_check(&vbd->vbd_limits, &r, segs, &why);\n"
       "\t\tif (st == BLKIF_RSP_OKAY && r.indirect)\n"
       "\t\t\tst = blkback_fetch_indirect(q, &r);\n")]),
    ("blkback-pgrant-table-no-slack", "persistent-grants", "blkback",
     "the persistent-grant hash table is sized to the grant limit itself instead of twice it: with a "
     "power-of-two limit (the default 2048) the table fills completely at the limit, and the probe for "
     "the next unknown ref never finds an empty slot (an endless loop before the limit check)",
     "a frontend using more distinct persistent grants than persistent_grants_max (a small "
     "persistent_grants_max such as 64 or 256, a frontend with a large grant budget, or a hostile one "
     "cycling grant refs): the backend hangs and every vbd stops",
     [(BB_RING,
       "blkback_pow2_at_least(2 * vbd->vbd_pgrants_max);",
       "blkback_pow2_at_least(vbd->vbd_pgrants_max);")]),
    ("blkback-readonly-indirect-write", "read-only", "blkback",
     "the read-only refusal tests the request's raw operation for BLKIF_OP_WRITE instead of the resolved "
     "one: a write sent as BLKIF_OP_INDIRECT (indirect_op WRITE) reaches the store on a read-only vbd",
     "a frontend sending indirect writes to a mode=r vbd over a writable disk (a hostile frontend, or "
     "large writes accepted while the vbd was writable and reissued after a reconnect made it read-only): "
     "the disk changes instead of BLKIF_RSP_ERROR",
     [(BB_REQ,
       "if (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)",
       "if (st == BLKIF_RSP_OKAY && lim->readonly && req->operation == BLKIF_OP_WRITE)")]),
    ("blkfront-reconnect-parts-kept", "reconnect", "blkfront",
     "when the rings go down, an I/O with parts in flight is rewound (io_issued = 0) and requeued but its "
     "part count is not reset: after the reissue its last part leaves io_parts at the old count, so the "
     "I/O never completes (nor fails at the reconnect timeout)",
     "a backend restart, close or vanishing with I/O in flight: the requeued I/Os hang (sync calls time "
     "out, callbacks never run, ios_inflight stays up)",
     [(BF_RING,
       "\t\tblkfront_part_release(q, sh);\n"
       "\t\tio->io_parts = 0;\n",
       "\t\tblkfront_part_release(q, sh);\n")]),
    ("blkfront-push-stops-at-idle-queue", "lost-wakeup", "blkfront",
     "pushing the queues touched by a kick stops at the first queue that was not touched (break instead "
     "of continue): requests placed on a later queue are neither published (req_prod) nor notified",
     "multi-queue blk (both ends offering 2+ queues): an I/O round-robined onto queue 1 while queue 0 got "
     "nothing in that kick waits forever (sync I/O times out)",
     [(BF_IO,
       "\t\tif (!touched[i])\n\t\t\tcontinue;\n",
       "\t\tif (!touched[i])\n\t\t\tbreak;\n")]),
    # ---------------- net ----------------
    ("netfront-tx-rsp-not-busy-accepted", "response-trust", "netfront",
     "a tx response id is checked for range but not for naming a page in flight: a duplicate or stale "
     "answer puts a free page on the free list again (a loop in the list, q_tx_nfree over-counted) and "
     "may decrement q_tx_frames for a frame already done",
     "a hostile net backend answering a tx id twice (or an id it was never given): later frames share a "
     "page and go out corrupted, the pool count exceeds tx-bufs, the page of the unanswered id is lost",
     [(NF_RSP,
       "\tif (!v->bufs[rsp->id].tb_busy)\n"
       "\t\treturn netfront_why(why, why_len, \"tx response id %u answers no request in flight\", rsp->id);\n",
       "")]),
    ("netfront-rx-error-keeps-buffers", "grant-leak", "netfront",
     "a received frame that a slot marked NETIF_RSP_ERROR/DROPPED returns early from the gather, before "
     "its buffers are put back on the free list: they stay granted to the backend and are never posted "
     "again",
     "a backend answering rx slots with errors (an rx grant copy fault in netback, a hostile backend): "
     "each failed frame loses its buffers, and after rx-bufs of them the frontend posts none and receive "
     "stops (netback stalls and drops)",
     [(NF_IO,
       "\tuint32_t off = 0;\n\n\tfor (unsigned i = 0; i < p->nslots; i++) {\n\t\tRING_IDX idx",
       "\tuint32_t off = 0;\n\n\tif (p->error)\n\t\treturn;   /* nothing to copy out of a failed frame */\n"
       "\tfor (unsigned i = 0; i < p->nslots; i++) {\n\t\tRING_IDX idx")]),
    ("netback-tx-avail-refetched", "double-fetch", "netback",
     "the slots a tx packet may take are counted with XEN_RING_NR_UNCONSUMED_REQUESTS, which reads req_prod "
     "from the shared ring again after netback_tx_work read it once, fenced it and checked it for overflow: "
     "the parse runs past the validated producer index",
     "a frontend (or the shared-memory attack) moving req_prod during a tx batch: a chain continuing past "
     "req_prod is not fatal, req_cons can step past rp and unpublished slots (old responses) are parsed and "
     "answered instead of the overflow disconnecting the frontend",
     [(NB_TX,
       "\t\t\t\t\t\t\t     rp - q->q_tx.req_cons, q->q_tx_reqs, &b->tb_meta,\n",
       "\t\t\t\t\t\t\t     XEN_RING_NR_UNCONSUMED_REQUESTS(&q->q_tx), q->q_tx_reqs, &b->tb_meta,\n")]),
    ("netback-rx-notify-tx-channel", "lost-wakeup", "netback",
     "rx responses are always signalled on the tx (first) event channel: with split event channels the "
     "frontend's rx handler is never woken for guest-bound frames",
     "net scenarios with feature-split-event-channels on both ends and traffic to the guest: frames sit "
     "answered in the rx ring undelivered (stall, rx timeouts), the frontend's tx port sees spurious events",
     [(NB_RX,
       "\t\txenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);\n",
       "\t\txenbus_evtchn_notify(q->q_ev_tx);\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-stale-connect-not-undone", "grant-leak", "xenbus",
     "when the frontend moved on between connect and announce (or a failed connect's keys changed), the "
     "backend only reschedules itself and no longer disconnects: the rings, persistent maps, event "
     "channels and gnttab handle of that attempt stay, and the next connect overwrites them (leaked)",
     "a frontend that republishes its keys or restarts during the handshake (a reconnect racing the "
     "backend's connect, a stale view at announce): the frontend's old ring grants stay mapped for good "
     "and its old ports stay bound",
     [(XB_BE,
       "\tbd->bd_ops->disconnect(bd->bd_arg);\n\txenbus_backend_kick(bd);\n",
       "\txenbus_backend_kick(bd);\n")]),
    ("xenbus-initwait-online-outside-tx", "xenstore-transaction", "xenbus",
     "the publish transaction checks online with a read outside the transaction (XBT_NULL): a toolstack "
     "close (online=0, state Closing) landing before the transaction writes state is not a conflict, and "
     "InitWait is committed over Closing",
     "a toolstack closing a device while its backend publishes features (close right after create, a "
     "backend started after its devices, a frontend restarting as the device is closed): the backend goes "
     "Closing -> InitWait and the destroy waits for its close timeout",
     [(XB_BE,
       "\tint rc = xenbus_backend_online_tx(xs, t, dir);\n",
       "\tint rc = xenbus_backend_online_tx(xs, XBT_NULL, dir);\n")]),
    ("xenbus-backend-fe-vanished-not-gone", "xenbus", "xenbus",
     "a frontend whose state is unreadable (its directory removed: Unknown) no longer counts as gone, only "
     "Closed does: a connected backend keeps serving a frontend that vanished, and a closing one waits for "
     "a Closed that cannot come",
     "a frontend domain dying or its device directory removed before the backend's: the backend stays "
     "Connected with its rings mapped until online=0, then sits in Closing for the whole close timeout "
     "(a toolstack destroy times out)",
     [(XB_BE,
       "\tbool fe_gone = fe == XenbusStateClosed || fe == XenbusStateUnknown;\n",
       "\tbool fe_gone = fe == XenbusStateClosed;\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
