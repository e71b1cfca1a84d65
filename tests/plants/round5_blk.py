#!/usr/bin/env python3
"""Fifth round, block stack: plants written blind from drivers/ (README.md,
"Fifth round"). Kept apart from make.py's table so the net round merges
cleanly; make_one is make.py's.  python3 tests/plants/round5_blk.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BF_IO, BF_RING, BF = "drivers/blk/blkfront_io.c", "drivers/blk/blkfront_ring.c", "drivers/blk/blkfront.c"
BB_IO, BB_REQ, BB_RING = "drivers/blk/blkback_io.c", "drivers/blk/blkback_req.c", "drivers/blk/blkback_ring.c"

PLANTS = [
    ("blkback-range-sum-wraps", "request-trust", "blkback",
     "a request's range is checked as sector + count <= sectors: a start sector near 2^64 wraps the sum and "
     "passes, the disk is read or written at a huge offset (or a store error taken as the frontend's fault)",
     "a hostile frontend's read/write/discard whose sector + count wraps: BLKIF_RSP_ERROR expected",
     [(BB_REQ, "return n > 0 && sector <= lim->sectors && n <= lim->sectors - sector;",
       "return n > 0 && sector + n <= lim->sectors;")]),
    ("blkback-readonly-direct-only", "read-only", "blkback",
     "the read-only refusal looks at the ring operation (BLKIF_OP_WRITE) rather than the decoded one: an "
     "indirect write, or a barrier/flush carrying data, to a read-only vbd is served",
     "a hostile frontend's indirect write to a read-only vbd: refused, the disk unchanged",
     [(BB_REQ, "if (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)",
       "if (st == BLKIF_RSP_OKAY && lim->readonly && req->operation == BLKIF_OP_WRITE)")]),
    ("blkback-pgrant-table-no-spare", "persistent-limit", "blkback",
     "the persistent-grant hash table is sized to the limit, not twice it: once the limit (a power of two) "
     "is reached the table has no empty slot and the lookup of a new ref probes for ever",
     "a frontend using more distinct pages than the backend's persistent limit: a livelock",
     [(BB_RING, "blkback_pow2_at_least(2 * vbd->vbd_pgrants_max)", "blkback_pow2_at_least(vbd->vbd_pgrants_max)")]),
    ("blkback-pgrants-count-kept", "persistent-limit", "blkback",
     "the count of persistent maps is not reset when the table is freed at a disconnect: after a reconnect "
     "or two the backend believes its table full and copies every segment for good",
     "reconnects under persistent I/O: the backend maps persistently on every connection",
     [(BB_RING, "\tvbd->vbd_pgrants = NULL;\n\tvbd->vbd_pgrants_used = 0;\n", "\tvbd->vbd_pgrants = NULL;\n")]),
    ("blkfront-event-no-kick", "lost-wakeup", "blkfront",
     "pending I/O is issued again only when an I/O finishes (the dispatch), not after each response: a part "
     "that completes without finishing its I/O frees ring slots and grant pages that the rest of that I/O "
     "waits for, and nothing issues it",
     "an I/O split into more parts than the ring or the grant budget holds at once, the last I/O of a run: "
     "a hang",
     [(BF_IO, "\tbool work = blkfront_consume(q);\n\tblkfront_kick(bf);\n", "\tbool work = blkfront_consume(q);\n"),
      (BF_IO, "\tbool plugged = bf->bf_plugged;\n", "\tbool plugged = bf->bf_plugged, finished = false;\n"),
      (BF_IO, "\t\tbf->bf_ios--;\n", "\t\tbf->bf_ios--;\n\t\tfinished = true;\n"),
      (BF_IO, "if (!plugged && bf->bf_pending.head)\n\t\tblkfront_kick(bf);",
       "if (!plugged && finished && bf->bf_pending.head)\n\t\tblkfront_kick(bf);")]),
    ("blkfront-indirect-pages-not-unshared", "grant-leak", "blkfront",
     "without persistent grants a completed part unshares only its data pages, not its indirect segment "
     "pages (the count is lowered for all): each indirect request leaks grants",
     "indirect I/O without persistent grants: grants of the guest left at the end",
     [(BF_IO, "xengntshr_unshare(bf->bf_gs, sh->sh_share, sh->sh_npages);",
       "xengntshr_unshare(bf->bf_gs, sh->sh_share, sh->sh_ndata);")]),
    ("blkfront-drop-scans-inflight", "reconnect", "blkfront",
     "at a disconnect the shadow table is scanned for the first q_inflight slots only (a count, not the "
     "table): parts in later slots are never requeued, their I/Os never complete",
     "a disconnect with requests in flight in high slots: a hang",
     [(BF_RING, "for (unsigned i = 0; q->q_shadow && i < RING_SIZE(&q->q_ring); i++) {",
       "for (unsigned i = 0; q->q_shadow && i < q->q_inflight; i++) {")]),
    ("blkfront-clean-keeps-ring-order", "xenbus", "blkfront",
     "ring-page-order is not among the keys cleaned before publishing: a reconnect with a one-page ring after "
     "a multi-page one leaves the old order, the backend looks for ring-ref0.. and refuses",
     "a reconnect to a backend offering a smaller ring order than the first: never Connected",
     [(BF_RING, "\"multi-queue-num-queues\",\n\t\t\t\t\t       \"ring-page-order\", \"error\"};",
       "\"multi-queue-num-queues\",\n\t\t\t\t\t       \"error\"};")]),
    ("blkfront-connect-tries-kept", "xenbus", "blkfront",
     "the count of refused connections is not reset at a successful connect: three backend closes during "
     "handshakes spread over a device's life fail it for good",
     "several backend restarts mid-handshake across a run: the device must stay usable",
     [(BF, "\tbf->bf_connect_tries = 0;\n", "")]),
    ("blkfront-rsp-status-refetched", "double-fetch", "blkfront",
     "the status of a response whose copy passed the checks is read again from the shared ring",
     "check-access (a shared ring field read twice)",
     [(BF_IO, "blkfront_complete(q, &q->q_shadow[(uint32_t)rsp.id], rsp.status);",
       "blkfront_complete(q, &q->q_shadow[(uint32_t)rsp.id], RING_GET_RESPONSE(ring, ring->rsp_cons - 1)->status);")]),
    ("blkback-req-prod-refetched", "double-fetch", "blkback",
     "the request loop compares req_cons with sring->req_prod read again, not with the value checked for "
     "overflow: a frontend moving req_prod past the check has stale slots served",
     "check-access (req_prod read twice)",
     [(BB_IO, "while (ring->req_cons != rp && done < BLKBACK_REQS_PER_BATCH",
       "while (ring->req_cons != ring->sring->req_prod && done < BLKBACK_REQS_PER_BATCH")]),
    ("blkback-flush-error-ignored", "error-mapping", "blkback",
     "the pre-flush of a flush or barrier is issued but its status dropped: a flush the disk failed is "
     "answered OKAY, the guest believes its writes durable",
     "disk flush errors (blk.disk.flush): the guest's flush must fail",
     [(BB_IO, "\tif (flushing)\n\t\tst = blkback_store_status(blk_store_flush(store));",
       "\tif (flushing)\n\t\tblk_store_flush(store);")]),
    ("blkback-indirect-op-unchecked", "request-trust", "blkback",
     "an indirect request's inner operation is not checked: an indirect flush, barrier or discard is "
     "served past the feature checks (discard with the segment count's garbage range)",
     "a hostile frontend's indirect request with an operation other than read/write: BLKIF_RSP_ERROR",
     [(BB_REQ, "\tif (ind.indirect_op != BLKIF_OP_READ && ind.indirect_op != BLKIF_OP_WRITE)\n"
       "\t\treturn blkback_refuse(why, \"indirect operation is neither read nor write\", BLKIF_RSP_ERROR);\n", "")]),
    ("blkfront-rsp-op-unchecked", "response-trust", "blkfront",
     "a response's operation is not compared with its request's: a backend answering a read with a write's "
     "response (or a discard's) completes it, the caller's buffer filled from pages never read into",
     "a hostile backend's response with another operation: the device fails",
     [(BF_IO, "\tif (rsp->operation != sh->sh_op) {\n\t\t*why = \"operation differs from the request's\";\n"
       "\t\treturn -EPROTO;\n\t}\n", "")]),
    ("xenbus-closing-restart-skips-closed", "xenbus", "xenbus",
     "a Closing backend whose frontend starts over publishes InitWait straight away: Closing -> InitWait, "
     "without the Closed a new InitWait must follow",
     "a frontend going Closing then Initialising at once: the backend's states must pass through Closed",
     [("drivers/xenbus/xenbus_backend.c",
       "\t\tif (fe_gone)\n\t\t\txenbus_backend_close(bd, XenbusStateClosed);\n\t\telse if (fe_restart)\n"
       "\t\t\txenbus_backend_restart(bd);\n",
       "\t\tif (fe_gone)\n\t\t\txenbus_backend_close(bd, XenbusStateClosed);\n\t\telse if (fe_restart)\n"
       "\t\t\txenbus_backend_publish(bd);\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
