#!/usr/bin/env python3
"""Ninth round: plants written blind from drivers/ (blk, net and xenbus),
six in blk, six in net, four in xenbus, spread over the classes, mostly on
paths that are not the first thing a run exercises (limits, error paths,
negotiation combos, restarts). Kept apart from make.py's table so other
rounds merge cleanly; make_one is make.py's.
python3 tests/plants/round9.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB_IO, BB_RING = "drivers/blk/blkback_io.c", "drivers/blk/blkback_ring.c"
BF_IO, BF_RING = "drivers/blk/blkfront_io.c", "drivers/blk/blkfront_ring.c"
NB_TX, NB_RING = "drivers/net/netback_tx.c", "drivers/net/netback_ring.c"
NF_IO = "drivers/net/netfront_io.c"
XB_BE, XB_WATCH, XB_TS = ("drivers/xenbus/xenbus_backend.c", "drivers/xenbus/xenbus_watch.c",
                          "drivers/xenbus/xenbus_toolstack.c")

PLANTS = [
    # ---------------- block ----------------
    ("blkback-pgrant-full-fails-request", "persistent-limit", "blkback",
     "once the persistent grant table holds persistent_grants_max maps, a segment whose grant is not mapped yet "
     "is taken as a failed map instead of falling back to grant copy: every request naming a new grant ref is "
     "answered BLKIF_RSP_ERROR for the rest of the connection",
     "persistent grants with a backend persistent_grants_max below the frontend's pool (a frontend that "
     "touches more distinct pages than the backend keeps mapped): I/O errors where the copy path should serve",
     [(BB_IO, "\t\tif (!q->q_pages[i])\n\t\t\treturn false;\n",
       "\t\tif (!q->q_pages[i]) {   /* no map, no I/O */\n\t\t\t*st = BLKIF_RSP_ERROR;\n\t\t\treturn false;\n\t\t}\n")]),
    ("blkback-indirect-page-in-place", "double-fetch", "blkback",
     "with persistent grants, an indirect request of one segment page uses that page where it is mapped "
     "(\"mapped for good already: no need to copy it\") instead of the copy in q_segs: the segments are read "
     "once by blkback_segs_check and again by the I/O (grefs, first_sect, last_sect), from a page the frontend "
     "may rewrite in between; a last_sect rewritten to 255 after the check runs the direct I/O past the page",
     "a hostile blk frontend with persistent grants and indirect requests rewriting its segment page after "
     "submitting; access tracing of the indirect page (read twice)",
     [(BB_IO, "\t\tconst struct blkif_request_segment *segs = r.indirect ? q->q_segs : r.direct;\n"
       "\t\tif (r.indirect)\n\t\t\tst = blkback_fetch_indirect(q, &r);\n",
       "\t\tconst struct blkif_request_segment *segs = r.indirect ? q->q_segs : r.direct;\n"
       "\t\tvoid *ind = r.indirect && r.nr_indirect_pages == 1 && vbd->vbd_persistent\n"
       "\t\t\t\t    ? blkback_pgrant(q, r.indirect_grefs[0]) : NULL;\n"
       "\t\tif (ind && ind != BLKBACK_PGRANT_FAILED)\n"
       "\t\t\tsegs = ind;   /* one segment page, mapped for good already: no need to copy it */\n"
       "\t\telse if (r.indirect)\n\t\t\tst = blkback_fetch_indirect(q, &r);\n")]),
    ("blkfront-kick-failure-not-dispatched", "lost-wakeup", "blkfront",
     "an I/O that fails while being issued (a grant share refused or the budget short with nothing in flight, "
     "an orphaned I/O cancelled) is put on the done list but the kick no longer schedules the dispatch "
     "(\"the dispatch that follows runs it\"): issued from blkfront_submit or a (re)connect, nothing follows, "
     "and its callback never runs while nothing else completes",
     "a grant share failure (gntshr fault injection) on an I/O submitted with nothing else in flight "
     "(queue depth 1): every I/O submitted gets exactly one completion, in bounded time",
     [(BF_IO, "\tblkfront_push(bf, touched);\n\tif (bf->bf_done.head)\n"
       "\t\tevent_active(bf->bf_done_ev, EV_TIMEOUT, 0);\n}\n",
       "\tblkfront_push(bf, touched);   /* failures on the done list run from the dispatch that follows */\n}\n")]),
    ("blkfront-ring-unshare-max-order", "grant-leak", "blkfront",
     "a queue's ring is unshared with the configured largest ring order, not the negotiated one: when the "
     "backend offered a smaller max-ring-page-order than the frontend's ring_page_order_max, the unshare "
     "names more pages than were shared and the ring's grants stay with the backend after every "
     "disconnect, reconnect and close (the grant count is lowered anyway)",
     "a blk frontend whose ring_page_order_max exceeds the backend's max-ring-page-order, then a backend "
     "restart or close: grant balance",
     [(BF_RING, "\t\txengntshr_unshare(bf->bf_gs, q->q_sring, 1u << bf->bf_order);\n",
       "\t\txengntshr_unshare(bf->bf_gs, q->q_sring, 1u << bf->bf_cfg.ring_page_order_max);\n")]),
    ("blkback-queues-bound-by-limit", "request-trust", "blkback",
     "the frontend's multi-queue-num-queues is bounded by the build's BLKBACK_QUEUES_MAX (16), not by the "
     "multi-queue-max-queues we offered (1 by default, key absent): a frontend gets up to 16 rings, channels "
     "and per-queue request buffers (up to 16 MiB each with indirect segments) the configuration does not allow",
     "a hostile blk frontend asking for more queues than offered: the connection must be refused",
     [(BB_RING, "\"multi-queue-num-queues\", c->queues_max, 1, &q);",
       "\"multi-queue-num-queues\", BLKBACK_QUEUES_MAX, 1, &q);")]),
    ("blkback-readonly-maps-readonly", "read-only", "blkback",
     "persistent grants of a read-only vbd are mapped read-only (\"a read-only vbd never writes\"): but serving "
     "a read writes the disk's data into the frontend's page, so the direct path (and the copy into a mapped "
     "page) writes through a read-only mapping",
     "a read-only vbd with persistent grants on both ends, reading: a fault in blkback (or data never "
     "delivered)",
     [(BB_IO, "\t\t\t\t\t\t\tPROT_READ | PROT_WRITE);\n\tif (!addr) {\n",
       "\t\t\t\t\t\t\tvbd->vbd_limits.readonly ? PROT_READ   /* a read-only vbd never writes */\n"
       "\t\t\t\t\t\t\t\t\t\t  : PROT_READ | PROT_WRITE);\n\tif (!addr) {\n")]),
    # ---------------- network ----------------
    ("netback-attach-skips-unanswered", "reconnect", "netback",
     "a tx ring taken up where it is (a frontend that kept its rings across a backend restart) is attached at "
     "req_prod instead of rsp_prod (\"what was published before us was the old backend's\"): the requests "
     "published but never answered are skipped, their frames lost and their pages never given back, and the "
     "new responses are pushed past slots still holding requests, which the frontend then reads as responses",
     "a backend restart under tx traffic where the frontend keeps its rings (sees the new backend only at "
     "Connected): no frame lost or duplicated, no protocol violation",
     [(NB_RING, "\tBACK_RING_ATTACH(&q->q_tx, txs, tx_rsp, NETBACK_PAGE_SIZE);\n",
       "\tBACK_RING_ATTACH(&q->q_tx, txs, tx_req, NETBACK_PAGE_SIZE);   /* the old backend's requests are not ours */\n")]),
    ("netfront-tx-notify-rx-port", "lost-wakeup", "netfront",
     "a sent frame is notified on the rx event channel when the queue has split channels (the refill's "
     "expression, copied): netback's rx handler runs, its tx ring is not looked at, and frames wait for a "
     "continuation that never comes",
     "a net guest with split event channels (feature-split-event-channels on both ends) sending: tx stalls",
     [(NF_IO, "\tRING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_tx, notify);\n\tif (notify)\n"
       "\t\txenbus_evtchn_notify(q->q_ev_tx);\n",
       "\tRING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_tx, notify);\n\tif (notify)\n"
       "\t\txenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);\n")]),
    ("netback-tx-full-batch-waits-event", "lost-wakeup", "netback",
     "after a full tx batch (64 packets, or the copy/map segment limit) with requests left, netback sets "
     "req_event to req_cons + 1 and waits instead of continuing: req_event is then behind req_prod, so the "
     "frontend's later pushes raise no event, and the rest of the ring waits until an rx event happens to "
     "run the tx work (never, with split channels or no rx traffic)",
     "a guest sending bursts of more than 64 small frames (tx only, or split channels): tx stalls",
     [(NB_TX, "\t\tevent_active(q->q_tx_work, EV_TIMEOUT, 0);   /* a full batch: yield, then go on */\n",
       "\t\tq->q_tx.sring->req_event = q->q_tx.req_cons + 1;   /* a full batch: the frontend tells us of more */\n")]),
    ("netback-tx-ipv6-csum-unoffered", "request-trust", "netback",
     "a tx packet asking for checksum offload (NETTXF_csum_blank) over IPv6 is checked against the "
     "frontend's own feature-ipv6-csum-offload (what it says it takes on rx) instead of what the backend "
     "offered: a guest that claims IPv6 checksum offload has partial IPv6 checksums taken by a backend that "
     "never offered feature-ipv6-csum-offload",
     "a net backend without ipv6_csum and a guest with ipv6_csum sending IPv6 TCP/UDP frames with csum_blank "
     "(must be dropped with NETIF_RSP_ERROR); the other combination, a backend offering it to a guest that "
     "takes none, has good frames dropped",
     [(NB_TX, "\tconst struct netback_config *c = &q->q_vif->vif_nb->nb_cfg;\n\tstruct netpkt_hdrs h;\n",
       "\tconst struct netback_vif_info *in = &q->q_vif->vif_info;\n\tstruct netpkt_hdrs h;\n"),
      (NB_TX, "\t\tif (h.ipv6 && !c->ipv6_csum)\n", "\t\tif (h.ipv6 && !in->rx_ipv6_csum)\n")]),
    ("netfront-tx-prod-bound-by-ring", "response-trust", "netfront",
     "the tx rsp_prod is checked against the ring's size, not against the requests outstanding: a backend "
     "moving rsp_prod ahead has stale slots (the previous lap's responses) taken as answers, and the ids they "
     "name that are in flight again are released early: a tx page is reused while the backend still reads it",
     "a hostile net backend publishing tx rsp_prod far ahead of its responses: the frontend must fail",
     [(NF_IO, "\t\tif (!netfront_rsp_prod_ok(rp, q->q_tx.rsp_cons, q->q_tx.req_prod_pvt)) {\n",
       "\t\tif ((RING_IDX)(rp - q->q_tx.rsp_cons) > RING_SIZE(&q->q_tx)) {\n")]),
    ("netback-tx-id-read-in-place", "double-fetch", "netback",
     "the id a tx slot is answered with is read again from the shared ring when the batch's slots are "
     "recorded (\"only echoed back\"), not from the copy netback_tx_parse made: each tx request slot is read "
     "twice, and a frontend rewriting the id in between has a response with an id it never sent",
     "access points (a tx request slot read more than once); a hostile frontend rewriting ids after pushing",
     [(NB_TX, "\t\t\t\t.ts_id = q->q_tx_reqs[j].id, .ts_extra = j >= 1 && j <= b->tb_meta.nextras};\n",
       "\t\t\t\t.ts_id = RING_GET_REQUEST(&q->q_tx, q->q_tx.req_cons + j)->id,   /* only echoed back */\n"
       "\t\t\t\t.ts_extra = j >= 1 && j <= b->tb_meta.nextras};\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-watch-token-by-count", "xenbus", "xenbus",
     "a watch's token is made from the number of watches the connection holds, not from a sequence: after "
     "an unwatch, the next watch gets the token of a watch still registered, and the dispatcher (first match, "
     "newest first) hands every event of both paths to the new one; the older watch never hears again",
     "device hotplug churn on one backend (unplug one vbd/vif, plug another while a third lives), or "
     "concurrent toolstack destroys: the surviving device's frontend state changes are never followed",
     [(XB_WATCH, "\tsnprintf(w->xw_token, sizeof(w->xw_token), \"xb%\" PRIu64, ++xb->xb_token_seq);\n",
       "\tsnprintf(w->xw_token, sizeof(w->xw_token), \"xb%u\", xb->xb_nwatches);\n")]),
    ("xenbus-view-skips-queue-dirs", "reconnect", "xenbus",
     "the consistent view of the frontend digests the device directory's own keys only, not its queue-N/ "
     "subdirectories: with two queues or more every ring ref and event channel lives there, so a multi-queue "
     "frontend that reconnects between two of the backend's looks (or during its connect) shows the same "
     "digest, and the backend keeps serving (or announces Connected for) the old rings",
     "a multi-queue blk or net frontend reconnecting quickly (Closed, Initialising, rings again) while the "
     "backend is Connected or connecting: the new rings must be served",
     [(XB_BE, "#define XENBUS_VIEW_DEPTH_MAX 2u      /* the device directory and its queue-N/ */\n",
       "#define XENBUS_VIEW_DEPTH_MAX 1u      /* the device directory's keys */\n")]),
    ("xenbus-remove-paths-outside-tx", "xenbus", "xenbus",
     "the paths a device removal deletes are made once, outside the transaction, but xenbus_rm_cleanup "
     "truncates them in place while climbing to the parents: a removal rerun after EAGAIN removes the last "
     "parent reached (device/vbd, or the guest's whole home /local/domain/<fe>) instead of the device",
     "a device removal whose transaction conflicts (concurrent xenstore writers, EAGAIN at commit) while the "
     "guest has other devices: those devices' directories vanish",
     [(XB_TS, "static int xenbus_remove_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)\n{\n"
       "\tconst struct xenbus_device *dev = arg;\n\tchar fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];\n"
       "\tint rc = xenbus_device_paths(dev, fe, be, sizeof(fe));\n\n"
       "\tif (rc == 0)\n\t\trc = xenbus_rm_cleanup(xs, t, fe);\n"
       "\tif (rc == 0)\n\t\trc = xenbus_rm_cleanup(xs, t, be);\n\treturn rc;\n}\n\n"
       "int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device *dev)\n{\n"
       "\tint rc = xenbus_transact(xs, xenbus_remove_tx, (void *)dev);\n",
       "struct xenbus_remove {\n\tchar fe[XENBUS_PATH_MAX], be[XENBUS_PATH_MAX];\n};\n\n"
       "/* The paths are made once by the caller: every run removes the same nodes. */\n"
       "static int xenbus_remove_tx(struct xs_handle *xs, xs_transaction_t t, void *arg)\n{\n"
       "\tstruct xenbus_remove *r = arg;\n\tint rc = xenbus_rm_cleanup(xs, t, r->fe);\n\n"
       "\tif (rc == 0)\n\t\trc = xenbus_rm_cleanup(xs, t, r->be);\n\treturn rc;\n}\n\n"
       "int xenbus_device_remove(struct xs_handle *xs, const struct xenbus_device *dev)\n{\n"
       "\tstruct xenbus_remove r;\n\tint rc = xenbus_device_paths(dev, r.fe, r.be, sizeof(r.fe));\n\n"
       "\tif (rc == 0)\n\t\trc = xenbus_transact(xs, xenbus_remove_tx, &r);\n")]),
    ("xenbus-stop-writes-closing", "xenbus", "xenbus",
     "a backend that stops leaves its devices at Closing (\"the frontends close and wait for the next "
     "backend\") instead of Closed: the successor starts from Closing and writes InitWait over it (Closing -> "
     "InitWait without the Closed between), and a toolstack destroy waiting for Closed after the backend "
     "stopped for good waits for its timeout",
     "a backend restart (stop, start) or a backend stopped before its devices are destroyed: the backend's "
     "XenbusState sequence, destroy completing without timeout",
     [(XB_BE, "\tif (was)\n\t\txenbus_backend_switch(bd, XenbusStateClosed);\n}\n",
       "\tif (was)   /* the frontends close and wait for the next backend */\n"
       "\t\txenbus_backend_switch(bd, XenbusStateClosing);\n}\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
