#!/usr/bin/env python3
"""Fifteenth round: plants written blind from drivers/ (blk, net and xenbus),
four in blk, four in net, four in xenbus, spread over the classes, mostly on
paths a basic run does not take first (several queues whose notifications go
to the first queue's channel, I/Os of several parts requeued at a backend
restart, a persistent pool near its grant budget, a flush offered without a
barrier, large tx fragments taken by mapping read-only grants, an rx offset
rewritten after its check, a backend that vanishes while the frontend
publishes, a hostile frontend's rx req_prod, a toolstack removing one of
several devices, a frontend that never answers Closing, out-of-range
decimals in xenstore, a backend restarted while the frontend answers its
offer). Kept apart from make.py's table so other rounds merge cleanly;
make_one is make.py's.
python3 tests/plants/round15.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BF, BF_IO, BF_RING = ("drivers/blk/blkfront.c", "drivers/blk/blkfront_io.c",
                      "drivers/blk/blkfront_ring.c")
NB_RX, NB_TXMAP = "drivers/net/netback_rx.c", "drivers/net/netback_txmap.c"
NF, NF_IO = "drivers/net/netfront.c", "drivers/net/netfront_io.c"
XB, XB_BE, XB_TS = ("drivers/xenbus/xenbus.c", "drivers/xenbus/xenbus_backend.c",
                    "drivers/xenbus/xenbus_toolstack.c")

PLANTS = [
    # ---------------- blk ----------------
    ("blkfront-push-notifies-first-queue", "lost-wakeup", "blkfront",
     "after pushing requests, the notification for every touched queue goes to queue 0's event channel "
     "(bf_queues->q_evtchn instead of bf_queues[i].q_evtchn): with two queues or more, a blkback queue "
     "sleeping with req_event set is never woken for the requests put on its ring, and queue 0 gets "
     "spurious events instead",
     "blk with multi-queue negotiated (queues_max >= 2 on both ends) and I/O spread over the queues: the "
     "parts on queue 1 and above are never served, I/Os hang (liveness), spurious events on queue 0",
     [(BF_IO,
       "\t\t\txenbus_evtchn_notify(bf->bf_queues[i].q_evtchn);\n",
       "\t\t\txenbus_evtchn_notify(bf->bf_queues->q_evtchn);\n")]),
    ("blkfront-requeue-not-marked-pending", "reconnect", "blkfront",
     "when the rings go down, an I/O with parts in flight is pushed on the requeue list but not marked "
     "pending: each further part of it pushes it again (the list is relinked, another I/O pushed in between "
     "is cut off and never completes), and after the reconnect a reissued part that completes while the "
     "rest of the I/O is not issued yet finishes the I/O early (short read, callback while it is still on "
     "the pending list, record reused)",
     "a blk backend restart (or close and reconnect) with I/Os of several parts in flight (larger than "
     "11 pages without indirect segments, or than the negotiated segments), several I/Os interleaved in "
     "the ring or over queues: lost I/Os (hang, sync timeout), short or wrong read data, ios_inflight "
     "never back to 0",
     [(BF_RING,
       "\t\tif (!io->io_pending) {\n\t\t\tio->io_pending = true;\n\t\t\tblkfront_ioq_push(requeue, io);\n",
       "\t\tif (!io->io_pending) {\n\t\t\tblkfront_ioq_push(requeue, io);\n")]),
    ("blkfront-pool-grows-whole-chunks", "persistent-limit", "blkfront",
     "the persistent pool grows only by a whole chunk (64 pages): when less than a chunk is left of the "
     "grant budget, a grow is refused with ENOSPC even though the pages needed fit, so the pool never uses "
     "the last pages of the budget; a request sized to the budget (the largest indirect request) then "
     "waits for pages that can never be free and fails with ENOSPC once nothing else is in flight",
     "blk with persistent grants where the grant budget binds (grant-pages small, e.g. 64..200, or large "
     "indirect segments) and the pool first grew by chunks (small I/Os), then an I/O of the negotiated "
     "maximum size: ENOSPC instead of data (the same I/O on a fresh device works)",
     [(BF_IO,
       "\tif (n > room)\n\t\tn = room;\n\tif (n < need)\n\t\treturn -ENOSPC;\n",
       "\tif (n > room)\n\t\treturn -ENOSPC;\n")]),
    ("blkfront-flush-from-barrier-key", "feature-negotiation", "blkfront",
     "whether the backend takes BLKIF_OP_FLUSH_DISKCACHE is read from feature-barrier instead of "
     "feature-flush-cache (copy of the next line): a backend offering flush without barrier is taken as "
     "offering no flush (flushes refused with EOPNOTSUPP), and one offering only barrier gets "
     "FLUSH_DISKCACHE requests it answers EOPNOTSUPP",
     "blk flush with a backend whose flush and barrier offers differ (flush=1 barrier=0 is the usual "
     "one): blkfront_info says flush=false and BLKFRONT_FLUSH fails EOPNOTSUPP; or barrier=1 flush=0: "
     "flushes sent, refused by the backend",
     [(BF,
       "blkfront_read_flag(bf, t, \"feature-flush-cache\", &in->flush);",
       "blkfront_read_flag(bf, t, \"feature-barrier\", &in->flush);")]),
    # ---------------- net ----------------
    ("netback-txmap-maps-writable", "read-only", "netback",
     "tx fragments taken by mapping are mapped PROT_READ|PROT_WRITE: netfront grants its tx pages "
     "read-only, so every map is refused, the narrowing refuses each packet's own map too, and every "
     "packet with a fragment at or above tx_map_threshold_bytes (2048 by default) is answered "
     "NETIF_RSP_ERROR and dropped",
     "net tx of frames with a slot of 2 KiB or more (jumbo / scatter-gather / GSO sends from the guest): "
     "those frames never reach the link, tx_errors and tx_map_failures grow while small frames pass",
     [(NB_TXMAP,
       "&q->q_map_refs[first],\n\t\t\t\t\t\t\tPROT_READ);",
       "&q->q_map_refs[first],\n\t\t\t\t\t\t\tPROT_READ | PROT_WRITE);")]),
    ("netfront-rx-offset-refetched", "double-fetch", "netfront",
     "the rx data is copied out of the buffer at the offset read again from the shared ring, not the "
     "copy netfront_rx_parse checked (offset + length within the page): a backend rewriting the offset "
     "after the check makes netfront read up to 64 KiB past the buffer (other buffers' frames, or past "
     "the pool)",
     "a net backend (or the shared-memory attack) rewriting an rx response's offset between netfront's "
     "parse and its copy: out-of-page read, frames with another frame's data, a fault",
     [(NF_IO,
       "memcpy(q->q_rx_frame + off, page + r->offset, (size_t)r->status);",
       "memcpy(q->q_rx_frame + off, page + RING_GET_RESPONSE(&q->q_rx, idx)->offset, (size_t)r->status);")]),
    ("netfront-publish-gone-keeps-rings", "grant-leak", "netfront",
     "when the backend's directory vanishes between the ring setup and the publish transaction, netfront "
     "waits for the backend without taking the rings down: when the backend comes back, the next setup "
     "overwrites nf_queues and the old rings, tx and rx pools (2 + tx_bufs + rx_bufs pages) stay granted, "
     "their event channels allocated, for good",
     "a net driver domain that dies while netfront answers its InitWait and comes back (backend directory "
     "removed then recreated): grant_pages and event channels not back to 0 at close (resource balance)",
     [(NF,
       "\t\tnetfront_rings_teardown(nf);   /* shared with a domain that died (ESRCH) */\n", "")]),
    ("netback-rx-req-prod-overflow-unchecked", "request-trust", "netback",
     "the frontend's rx req_prod is no longer checked against the ring: a frontend claiming more buffers "
     "than slots is not disconnected, netback takes stale slots as buffers (grant copies to junk refs, "
     "responses past what was posted), and a batch of large frames consumes more than 256 slots, writing "
     "past q_rx_slots[] into the queue's state",
     "a hostile net frontend publishing rx req_prod far beyond rsp_prod while frames are queued for it "
     "(bulk or GSO to the guest): no fatal disconnect, copy errors, memory corruption / crash in netback",
     [(NB_RX,
       "\tif (RING_REQUEST_PROD_OVERFLOW(&q->q_rx, rp)) {\n"
       "\t\tnetback_vif_fatal(q->q_vif, \"queue %u: rx req_prod %u is more than %u slots ahead of rsp_prod %u\",\n"
       "\t\t\t\t  q->q_index, rp, RING_SIZE(&q->q_rx), q->q_rx.rsp_prod_pvt);\n"
       "\t\treturn true;\n"
       "\t}\n", "")]),
    # ---------------- xenbus ----------------
    ("xenbus-remove-cleanup-takes-siblings", "xenbus", "xenbus",
     "the removal of a device's directory also removes a parent listing one entry (n > 1 instead of "
     "n > 0, as if the transaction still listed the node just removed): removing one of two devices "
     "removes the other's frontend and backend directories too (device/vbd, device/ or backend/vbd/<fe> "
     "with a sibling in it)",
     "a toolstack remove or destroy of one device of a guest that has another (two vbds, or a vbd and a "
     "vif): the sibling's directories vanish, its frontend fails 'device removed' (ENODEV) and its backend "
     "frees it",
     [(XB_TS,
       "\t\tif (!names || n > 0)\n",
       "\t\tif (!names || n > 1)\n")]),
    ("xenbus-close-timeout-stays-closing", "xenbus", "xenbus",
     "when the frontend does not answer Closing in time, the backend closes 'anyway' by writing Closing "
     "again (and re-arming the timer) instead of Closed: it never reaches Closed while the frontend stays "
     "silent, rewriting Closing every close_timeout_ms",
     "a device closed (toolstack online=0, or a violation) whose frontend never answers (a hung or "
     "hostile guest): the backend should be Closed after 10 s; a destroy waits its whole timeout and "
     "reports ETIMEDOUT",
     [(XB_BE,
       "\t\t\t   bd->bd_ops->close_timeout_ms);\n\txenbus_backend_close(bd, XenbusStateClosed);\n",
       "\t\t\t   bd->bd_ops->close_timeout_ms);\n\txenbus_backend_close(bd, XenbusStateClosing);\n")]),
    ("xenbus-parse-uint-clamps", "response-trust", "xenbus",
     "a decimal above a key's bound is clamped to the bound instead of refused: a backend's sectors past "
     "2^55 becomes a 16 EiB disk, sector-size 8192 becomes 4096, a feature flag 2 becomes 1, a state 9 "
     "Reconfigured; a frontend's ring-page-order or queue count above the offer becomes the offer",
     "a hostile blk backend publishing sectors >= 2^55 or sector-size above a page (the frontend should "
     "refuse the description, here it connects), or a hostile frontend asking for more queues or a "
     "larger ring than offered (refused before, connected here with another geometry)",
     [(XB,
       "\tif (v > max)\n\t\treturn -EINVAL;\n",
       "\tif (v > max)\n\t\tv = max;\n")]),
    ("xenbus-offer-verdict-ignored", "xenbus", "xenbus",
     "xenbus_offer_answer returns the transaction's 0 without the check's verdict: when the backend is no "
     "longer waiting (-EINPROGRESS), its offer changed (-ESTALE) or it cannot be served "
     "(-EPROTONOSUPPORT), nothing was published but the frontend believes it was, keeps its rings and "
     "waits for a Connected that never comes",
     "a blk or net backend restarted (or its offer rewritten) between the frontend's InitWait and its "
     "publish, or a net backend without feature-rx-copy: the frontend stays Initialising with its phase "
     "published, the handshake hangs (it should have waited for the next InitWait or failed)",
     [(XB,
       "\t\tif (rc == 0)\n\t\t\trc = c.verdict;\n", "")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
