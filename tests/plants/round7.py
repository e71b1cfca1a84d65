#!/usr/bin/env python3
"""Seventh round: plants written blind from drivers/ (blk, net and xenbus),
one bug each of the held-out classes. Kept apart from make.py's table so
other rounds merge cleanly; make_one is make.py's.
python3 tests/plants/round7.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BF_IO, BF_INT, BF = "drivers/blk/blkfront_io.c", "drivers/blk/blkfront_internal.h", "drivers/blk/blkfront.c"
BB, BB_IO = "drivers/blk/blkback.c", "drivers/blk/blkback_io.c"
NB_RX, NB_TX = "drivers/net/netback_rx.c", "drivers/net/netback_tx.c"
NF, NF_IO, NF_RING, NF_RSP = ("drivers/net/netfront.c", "drivers/net/netfront_io.c", "drivers/net/netfront_ring.c",
                              "drivers/net/netfront_rsp.c")
XB_BE, XB_TS = "drivers/xenbus/xenbus_backend.c", "drivers/xenbus/xenbus_toolstack.c"

PLANTS = [
    # ---------------- block ----------------
    ("blkback-request-read-in-place", "double-fetch", "blkback",
     "requests are served where they lie in the shared ring, not from a copy (\"112 bytes, no need to copy\"): "
     "nr_segments is read once for the bound of 11 and again for the segment count, operation once for the "
     "switch and again in the checks; a frontend rewriting the slot in between has 255 segments walked over "
     "r.direct[] and q_pages[]",
     "access points (a request slot read more than once); a hostile frontend raising nr_segments after the "
     "check (memory fault)",
     [(BB_IO, "\t\tblkif_request_t req;\n\t\tRING_COPY_REQUEST(ring, ring->req_cons, &req);\n"
       "\t\tring->req_cons++;\n\t\tblkback_serve(q, &req);\n",
       "\t\t/* Served where it lies: a request is 112 bytes, no need to copy it out. */\n"
       "\t\tconst blkif_request_t *req = RING_GET_REQUEST(ring, ring->req_cons);\n"
       "\t\tring->req_cons++;\n\t\tblkback_serve(q, req);\n")]),
    ("blkfront-sector-size-zero", "response-trust", "blkfront",
     "the backend's sector-size is checked for a power of two only (ss & (ss - 1)), which 0 passes, and no "
     "longer for at least 512: a backend publishing sector-size 0 has the guest divide by it in the first "
     "I/O's range check (SIGFPE); 1..256 let I/Os of a few bytes through, shaped into segments whose "
     "last_sect wraps to 255",
     "a hostile backend publishing sector-size 0 (or 256): the device fails, the guest does not crash",
     [(BF, "if (rc == 0 && (ss < 512 || (ss & (ss - 1))))",
       "if (rc == 0 && (ss & (ss - 1)))   /* a power of two; at most a page (read bounded) */")]),
    ("blkfront-dispatch-kick-while-plugged", "lost-wakeup", "blkfront",
     "the dispatch loop tests whether to issue what its callbacks submitted before it restores the plug "
     "(so that the kick's completions do not dispatch from inside it), reading the flag it set itself: I/O "
     "submitted from a completion callback is never kicked from there and waits for the next ring event; "
     "when the completion was the last I/O in flight, none comes",
     "any blk workload resubmitting from its completion callbacks: the last chain of I/Os hangs (liveness)",
     [(BF_IO, "\tbf->bf_plugged = plugged;\n\tbf->bf_cb_depth--;\n\tif (!plugged && bf->bf_pending.head)\n"
       "\t\tblkfront_kick(bf);\n",
       "\tbf->bf_cb_depth--;\n"
       "\tif (!bf->bf_plugged && bf->bf_pending.head)   /* outermost: issue what the callbacks submitted */\n"
       "\t\tblkfront_kick(bf);\n"
       "\tbf->bf_plugged = plugged;   /* after the kick: its completions must not dispatch inside it */\n")]),
    ("blkfront-pool-grows-by-whole-need", "persistent-limit", "blkfront",
     "a part short of pool pages grows the pool by all the pages it takes, not by what the free list lacks: "
     "the pool grows past what it needs, and a large (indirect) request whose whole size no longer fits the "
     "budget left is refused -ENOSPC though the free pages and the budget together hold it; with nothing in "
     "flight the I/O fails",
     "persistent grants with a grant budget near the largest request, small I/Os then large ones: an I/O "
     "fails -ENOSPC that fits the budget",
     [(BF_IO, "rc = blkfront_pool_grow(bf, n - bf->bf_pool_free);", "rc = blkfront_pool_grow(bf, n);")]),
    ("blkfront-requeue-splice-no-tail", "reconnect", "blkfront",
     "putting the I/Os that were in flight back ahead of the pending list forgets the empty list's tail: "
     "after a disconnect with nothing else pending, head is the requeued I/Os and tail NULL, and the next "
     "submission (or an I/O left when the new ring fills) replaces the head: the requeued I/Os are lost, "
     "never reissued, never completed",
     "a backend restart or close under blk I/O that goes on submitting: I/Os that never complete (liveness), "
     "verified data",
     [(BF_INT, "\tfront->tail->io_next = l->head;\n\tif (!l->tail)\n\t\tl->tail = front->tail;\n"
       "\tl->head = front->head;\n",
       "\tfront->tail->io_next = l->head;\n\tl->head = front->head;\n")]),
    ("blkback-readonly-store-ignored", "read-only", "blkback",
     "the vbd is read-only only when the toolstack's mode says so, not when its disk is read-only itself: a "
     "read-only disk (a shared read-only image) attached with mode w is published without VDISK_READONLY and "
     "with flush and discard offered, and every write the guest sends fails EIO at the store instead of the "
     "guest knowing the disk read-only",
     "a read-only disk attached with mode w: info must carry VDISK_READONLY, writes refused -EROFS in the "
     "frontend",
     [(BB, "\tbool ro = vbd->vbd_readonly || info.readonly;",
       "\tbool ro = vbd->vbd_readonly;   /* the toolstack's mode */")]),
    # ---------------- network ----------------
    ("netback-rx-req-prod-refetched", "double-fetch", "netback",
     "the rx loop reads req_prod again for each frame (\"buffers posted meanwhile count too\"), after the "
     "overflow check and without a barrier: a frontend raising req_prod past the ring has netback take "
     "more requests than the ring holds, rx slot records past q_rx_slots[256] (memory), responses over "
     "requests not yet read",
     "access points (req_prod read twice); a hostile frontend moving rx req_prod far ahead during delivery",
     [(NB_RX, "\twhile (q->q_rxq_head && npkts < NETBACK_RX_BATCH_PKTS) {\n\t\tstruct netpkt *p = q->q_rxq_head;\n",
       "\twhile (q->q_rxq_head && npkts < NETBACK_RX_BATCH_PKTS) {\n\t\tstruct netpkt *p = q->q_rxq_head;\n"
       "\t\trp = q->q_rx.sring->req_prod;   /* buffers posted meanwhile count too */\n")]),
    ("netfront-rx-partial-event-at-cons", "lost-wakeup", "netfront",
     "a frame that continues past rsp_prod asks for an event at rsp_cons + 1, the frame's own first slot, "
     "which the backend has already passed: its next push does not cross rsp_event and sends no event, the "
     "frame's tail is never taken and rx stops (without split channels a tx event may rescue it)",
     "a backend that pushes a frame's rx responses in more than one go (split channels): rx hangs",
     [(NF_IO, "\t\tq->q_rx.sring->rsp_event = rp + 1;", "\t\tq->q_rx.sring->rsp_event = q->q_rx.rsp_cons + 1;")]),
    ("netfront-rx-slots-bound-by-frame-slots", "response-trust", "netfront",
     "an rx frame's data slots are bounded by NETFRONT_RX_FRAME_SLOTS_MAX (data and extra info, 22) instead of "
     "NETFRONT_RX_SLOTS_MAX (18): frames of 19..22 data slots are taken, and with an extra info slot the "
     "responses are copied past q_rx_rsps[] over the frame buffer's pointer",
     "a hostile net backend sending a frame of more than 18 data slots (with a GSO extra): the frontend "
     "must fail it, not crash",
     [(NF_RSP, "\t\tif (++out->ndata > NETFRONT_RX_SLOTS_MAX)\n"
       "\t\t\treturn netfront_why(why, why_len, \"rx frame at slot %u takes more than %u data slots\", cons,\n"
       "\t\t\t\t\t    NETFRONT_RX_SLOTS_MAX);",
       "\t\tif (++out->ndata > NETFRONT_RX_FRAME_SLOTS_MAX)\n"
       "\t\t\treturn netfront_why(why, why_len, \"rx frame at slot %u takes more than %u data slots\", cons,\n"
       "\t\t\t\t\t    NETFRONT_RX_FRAME_SLOTS_MAX);")]),
    ("netfront-tx-pages-kept-in-flight", "grant-leak", "netfront",
     "taking a queue down keeps its tx pages shared when frames are still in flight (\"the backend may still "
     "read them\"; the unshare already waits for that): every disconnect or close with unanswered tx frames "
     "leaves tx_bufs pages granted to the backend for good",
     "a backend that closes or restarts under tx traffic, a vif closed while sending: grant balance",
     [(NF_RING, "\tif (q->q_tx_pages) {",
       "\tif (q->q_tx_pages && !q->q_tx_frames) {   /* pages the backend may still read stay shared */")]),
    ("netback-tx-batch-room-by-min-slots", "request-trust", "netback",
     "the tx batch leaves room for one more packet's copy segments by netif's minimum slot count (18), not by "
     "the most a packet may take: with tx_slots_max above 18, a packet of many small fragments at the end of "
     "a full batch writes copy segments past q_copy[512], over the batch's map refs",
     "tx_slots_max > 18 and frames of many small fragments in large batches: ASan, wrong data or map "
     "failures",
     [(NB_TX, "*nsegs + NETBACK_TX_PKT_SLOTS_MAX <= NETBACK_COPY_SEGS_MAX",
       "*nsegs + XEN_NETIF_NR_SLOTS_MIN <= NETBACK_COPY_SEGS_MAX")]),
    ("netfront-refusals-counted-when-connected", "xenbus", "netfront",
     "backend closes are counted against the connection tries in NF_CONNECTED instead of NF_PUBLISHED: a "
     "connected vif's count is reset at each connect, and refusals (the backend closing on published rings) "
     "are never counted: a backend that refuses every connection has the frontend go round Closed, "
     "Initialising, Connected for ever instead of failing after 4",
     "a net backend that refuses the connection (bad keys, missing feature): the frontend must fail, not "
     "loop",
     [(NF, "if (nf->nf_phase == NF_PUBLISHED && ++nf->nf_connect_tries >= NETFRONT_CONNECT_TRIES_MAX) {",
       "if (nf->nf_phase == NF_CONNECTED && ++nf->nf_connect_tries >= NETFRONT_CONNECT_TRIES_MAX) {")]),
    # ---------------- xenbus ----------------
    ("xenbus-view-retry-accumulates", "xenbus", "xenbus",
     "the frontend view's digests are initialised where the view is declared, not at the start of the "
     "transaction that reads it: a transaction rerun after EAGAIN hashes the keys on top of the first "
     "attempt's; the announce finds its digest changed (a stale connect, rings let go), and a Connected "
     "backend whose look conflicted takes its frontend for one that reconnected and connects again in place",
     "xenstore conflicts (EAGAIN at commit) during a connect or while connected: spurious disconnects, "
     "a blkback ring re-initialised under a live frontend",
     [(XB_BE, "\tv->digest = v->keys_digest = 0xcbf29ce484222325ull;\n\tv->keys = 0;\n", ""),
      (XB_BE, "\tconst uint64_t *expect;           /* announce: the digest connect() saw */\n};\n",
       "\tconst uint64_t *expect;           /* announce: the digest connect() saw */\n};\n\n"
       "/* A fresh view: the digests start at FNV-1a's offset basis. */\n"
       "#define XENBUS_VIEW_INIT(b) {.bd = (b), .digest = 0xcbf29ce484222325ull, "
       ".keys_digest = 0xcbf29ce484222325ull}\n"),
      (XB_BE, "\tstruct xenbus_view seen = {.bd = bd}, now = {.bd = bd};",
       "\tstruct xenbus_view seen = XENBUS_VIEW_INIT(bd), now = XENBUS_VIEW_INIT(bd);"),
      (XB_BE, "\tstruct xenbus_view v = {.bd = bd};", "\tstruct xenbus_view v = XENBUS_VIEW_INIT(bd);")]),
    ("xenbus-backend-fe-vanished-kept", "xenbus", "xenbus",
     "a frontend is taken as gone at Closed only, not at Unknown (its state node gone or unreadable: its "
     "domain died and its directory went): a Connected backend keeps the dead guest's rings mapped and its "
     "channels bound until the toolstack removes the device; a Closing one waits out the close timer",
     "a guest that dies (its xenstore directory removed) with the device left in place: the backend must "
     "let go of its grants",
     [(XB_BE, "\tbool fe_gone = fe == XenbusStateClosed || fe == XenbusStateUnknown;",
       "\tbool fe_gone = fe == XenbusStateClosed;")]),
    ("xenbus-stale-connect-keeps-rings", "grant-leak", "xenbus",
     "a connect whose announce finds the frontend moved on (stale) no longer lets go of the rings it mapped, "
     "leaving it to the next sync: when that sync connects again, connect() opens a new grant handle and "
     "queues over the old ones, whose maps and bound channels are never released (the frontend's unshare "
     "of the old rings waits for ever)",
     "a frontend that restarts while the backend connects (its keys change between the two looks): "
     "grant balance, old rings still mapped",
     [(XB_BE, "static void xenbus_backend_stale(struct xenbus_backend_dev *bd)\n{\n"
       "\tbd->bd_ops->disconnect(bd->bd_arg);\n\txenbus_backend_kick(bd);\n}",
       "static void xenbus_backend_stale(struct xenbus_backend_dev *bd)\n{\n"
       "\txenbus_backend_kick(bd);   /* the next sync connects again, or closes */\n}")]),
    ("xenbus-close-overwrites-closed", "xenbus", "xenbus",
     "the toolstack's close writes Closing unless the backend is Closing already (compared with the wrong "
     "constant), so a backend already Closed (its frontend closed first) is put back to Closing: it waits "
     "for a frontend that has gone, nobody writes Closed again, and the destroy waits its whole timeout and "
     "reports -ETIMEDOUT",
     "a device closed by the guest, then destroyed by the toolstack: the destroy completes at once, "
     "XenbusState never goes Closed -> Closing",
     [(XB_TS, "state != XenbusStateClosed))", "state != XenbusStateClosing))")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
