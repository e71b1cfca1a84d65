#!/usr/bin/env python3
"""Eleventh round: plants written blind from drivers/ (blk, net and xenbus),
six in blk, six in net, four in xenbus, spread over the classes, mostly on
paths a basic run does not take first (concurrent I/O, multi-page rings with
small persistent limits, read-only vbds, backends that vanish or restart
mid-handshake, refused connections, toolstack closes racing a connect, watch
floods, GSO, hostile peers). Kept apart from make.py's table so other rounds
merge cleanly; make_one is make.py's.
python3 tests/plants/round11.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB_REQ, BB_RING = "drivers/blk/blkback_req.c", "drivers/blk/blkback_ring.c"
BF, BF_IO = "drivers/blk/blkfront.c", "drivers/blk/blkfront_io.c"
NB_RING, NB_PARSE = "drivers/net/netback_ring.c", "drivers/net/netback_txparse.c"
NF, NF_IO, NF_RSP = "drivers/net/netfront.c", "drivers/net/netfront_io.c", "drivers/net/netfront_rsp.c"
XB, XB_BE, XB_W = ("drivers/xenbus/xenbus.c", "drivers/xenbus/xenbus_backend.c",
                   "drivers/xenbus/xenbus_watch.c")

PLANTS = [
    # ---------------- block ----------------
    ("blkback-pgrant-limit-ring-floor", "persistent-limit", "blkback",
     "the persistent grant limit is raised to blkif.h's \"ideal\" RING_SIZE * 11 of the negotiated ring when the "
     "configured persistent_grants_max is smaller (\"so that a full ring never falls back to copying\"): the "
     "configured limit is no longer a limit; a vbd configured for 16 kept maps keeps up to 352 with a one-page "
     "ring, and a 16-page ring keeps 5632 even past the 2048 default",
     "persistent grants with a small persistent_grants_max (or ring-page-order >= 3) and a frontend touching "
     "more distinct pages than the limit: grants mapped by the backend at once, compared with the configured "
     "limit; the persistent_full counter that stays 0",
     [(BB_RING, "\t\tvbd->vbd_pgrants_max = vbd->vbd_bb->bb_cfg.persistent_grants_max;\n",
       "\t\t/* blkif.h, feature-persistent: ideally RING_SIZE * 11, so that a\n"
       "\t\t * full ring of requests never falls back to copying; the\n"
       "\t\t * configured limit only matters above that. */\n"
       "\t\tunsigned ideal = __CONST_RING_SIZE(blkif, BLKBACK_PAGE_SIZE << order) * BLKIF_MAX_SEGMENTS_PER_REQUEST;\n"
       "\t\tvbd->vbd_pgrants_max = vbd->vbd_bb->bb_cfg.persistent_grants_max;\n"
       "\t\tif (vbd->vbd_pgrants_max < ideal)\n"
       "\t\t\tvbd->vbd_pgrants_max = ideal;\n")]),
    ("blkfront-publish-gone-keeps-rings", "grant-leak", "blkfront",
     "a publish that fails because the backend's directory vanished meanwhile no longer takes the rings it "
     "just set up down (\"backend_away lets go of them\"), but backend_away lets go of nothing in "
     "BF_WAIT_BACKEND: the ring pages stay granted and the channels bound, and the next InitWait sets up new "
     "rings over them (bf_queues overwritten): every such publish leaks its rings' grants and ports, and "
     "grant_pages counts them for good",
     "a blk backend domain that dies (directory removed) between its InitWait and the frontend's publish, then "
     "comes back: frontend grants and event channels left after the reconnect or the close",
     [(BF, "\t\tblkfront_rings_teardown(bf);   /* shared with a domain that died (ESRCH) */\n"
       "\t\tblkfront_backend_away(bf);\n",
       "\t\t/* Shared with a domain that died (ESRCH): backend_away lets go of\n"
       "\t\t * them, as for any backend that went away. */\n"
       "\t\tblkfront_backend_away(bf);\n")]),
    ("blkback-readonly-write-eopnotsupp", "read-only", "blkback",
     "a write (direct or indirect) to a read-only vbd is answered BLKIF_RSP_EOPNOTSUPP (\"the vbd does not do "
     "writes\") instead of BLKIF_RSP_ERROR: blkif.h keeps EOPNOTSUPP for optional operations (barrier, flush, "
     "discard) a frontend may drop; the guest gets -EOPNOTSUPP for a plain write, and the refusal is no longer "
     "counted as an invalid request",
     "a read-only vbd (mode r or a read-only store) receiving a write from a frontend that ignores (or never "
     "read) VDISK_READONLY: the response status, the rsp_error/invalid/rsp_eopnotsupp counters",
     [(BB_REQ, "\tif (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)\n"
       "\t\tst = blkback_refuse(why, \"write to a read-only vbd\", BLKIF_RSP_ERROR);\n",
       "\t/* Not an I/O error: this vbd does not do writes at all, as for an\n"
       "\t * operation it does not offer. */\n"
       "\tif (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)\n"
       "\t\tst = blkback_refuse(why, \"write to a read-only vbd\", BLKIF_RSP_EOPNOTSUPP);\n")]),
    ("blkback-rw-zero-segments-by-feature", "request-trust", "blkback",
     "whether a request may come without segments is decided by the vbd's flush/barrier features, not by the "
     "request's operation: on a vbd offering flush or barrier, a READ or WRITE with nr_segments 0 passes, "
     "covers no sectors and is answered BLKIF_RSP_OKAY (blkif.h: 1..11 segments, 0 only for flush/barrier); "
     "a data-less flush on a vbd without flush still gets its EOPNOTSUPP first",
     "a hostile blk frontend sending a read or write with nr_segments = 0 to a vbd with feature-flush-cache: "
     "the response status (OKAY instead of ERROR), the invalid counter",
     [(BB_REQ, "\tbool data_optional = req->operation == BLKIF_OP_FLUSH_DISKCACHE ||\n"
       "\t\t\t     req->operation == BLKIF_OP_WRITE_BARRIER;\n",
       "\tbool data_optional = lim->flush || lim->barrier;   /* flushes and barriers may carry none */\n")]),
    ("blkfront-push-skips-busy-ring", "lost-wakeup", "blkfront",
     "a push notifies the backend only when no older request of ours is still unanswered on that ring (\"the "
     "backend is working on it and takes the new ones in the same pass\"); but q_inflight counts responses not "
     "yet consumed: once the backend has answered and armed req_event, a request pushed before our response "
     "handler ran raises no event, and if nothing else follows it is never served",
     "concurrent blk I/O (several async I/Os, I/O submitted from completion callbacks or other devices' "
     "events, multi-queue): I/O that never completes, backend idle with requests in the ring",
     [(BF_IO, "\t\tint notify;\n\t\tif (!touched[i])\n\t\t\tcontinue;\n"
       "\t\tRING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&bf->bf_queues[i].q_ring, notify);\n"
       "\t\tif (notify)\n\t\t\txenbus_evtchn_notify(bf->bf_queues[i].q_evtchn);\n",
       "\t\tstruct blkfront_queue *q = &bf->bf_queues[i];\n\t\tint notify;\n"
       "\t\tif (!touched[i])\n\t\t\tcontinue;\n"
       "\t\t/* Older requests of ours unanswered: the backend is working on\n"
       "\t\t * this ring and takes the new ones in the same pass. */\n"
       "\t\tbool busy = q->q_inflight > q->q_ring.req_prod_pvt - q->q_ring.sring->req_prod;\n"
       "\t\tRING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->q_ring, notify);\n"
       "\t\tif (notify && !busy)\n\t\t\txenbus_evtchn_notify(q->q_evtchn);\n")]),
    ("blkfront-away-while-published-kept", "reconnect", "blkfront",
     "a backend whose directory vanishes while we are BF_PUBLISHED (rings out, waiting for its Connected) is "
     "treated as one with no rings out: we stay BF_PUBLISHED with the rings granted, and when the backend comes "
     "back (Initialising/InitWait) BF_PUBLISHED waits for a Connected that never comes: the device never "
     "reconnects, the I/O accepted meanwhile (requeued from the previous connection) fails -ETIMEDOUT, and so "
     "does every later one",
     "a blk driver domain that dies again while the frontend is reconnecting to it (restart storms, a backend "
     "killed before it maps the rings), with I/O pending: the device never back, I/O failed",
     [(BF, "\tif (bf->bf_phase != BF_CONNECTED && bf->bf_phase != BF_PUBLISHED) {\n"
       "\t\tblkfront_reconnect_arm(bf);   /* no rings out, but the wait is bounded */\n",
       "\tif (bf->bf_phase != BF_CONNECTED) {\n"
       "\t\tblkfront_reconnect_arm(bf);   /* no connection to take down, but the wait is bounded */\n")]),
    # ---------------- net ----------------
    ("netfront-rx-gso-size-zero", "response-trust", "netfront",
     "an rx GSO extra info slot with gso.size 0 is no longer a violation: the frame is handed to the user as a "
     "GSO frame with an MSS of 0 (which cannot be segmented: a divide by zero or a refused frame further on), "
     "where netfront_rsp.c says anything a response says that cannot be true is terminal",
     "a hostile net backend answering a GSO frame with gso.size 0 to a frontend with feature-gso-tcpv4/v6: "
     "the frontend does not fail; frames delivered with gso_size 0",
     [(NF_RSP, "\tif (x.u.gso.size == 0)\n"
       "\t\treturn netfront_why(s->why, s->why_len, \"rx slot %u: GSO size 0\", s->cons + i);\n", "")]),
    ("netfront-tx-rsp-prod-refetched", "double-fetch", "netfront",
     "the tx reap loop runs to rsp_prod read again from the shared ring at every response (\"responses "
     "published meanwhile are taken too\"), not to the value netfront_rsp_prod_ok checked: a backend moving "
     "rsp_prod on after the check has slots it never answered (the previous lap's responses) taken as "
     "answers, without the barrier; ids in flight again are released early and their pages reused while the "
     "backend still reads them",
     "a hostile net backend raising tx rsp_prod past the requests outstanding after the frontend read it; "
     "access tracing of tx rsp_prod (read more than once per pass)",
     [(NF_IO, "\t\tfor (; q->q_tx.rsp_cons != rp; q->q_tx.rsp_cons++) {\n",
       "\t\t/* Responses published meanwhile are taken in the same pass. */\n"
       "\t\tfor (; q->q_tx.rsp_cons != q->q_tx.sring->rsp_prod; q->q_tx.rsp_cons++) {\n")]),
    ("netback-tx-extra-type-off-by-one", "request-trust", "netback",
     "the unknown extra info type check is off by one (> XEN_NETIF_EXTRA_TYPE_MAX instead of >=): a tx extra "
     "of type 5 (XEN_NETIF_EXTRA_TYPE_MAX, no such type) is taken and ignored instead of disconnecting the "
     "frontend, as netback_txparse.c says an unknown extra type does",
     "a hostile net frontend sending an extra info slot of type 5: the vif is not disconnected, the packet "
     "goes out",
     [(NB_PARSE, "\t\tif (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type >= XEN_NETIF_EXTRA_TYPE_MAX)\n",
       "\t\tif (x.type == XEN_NETIF_EXTRA_TYPE_NONE || x.type > XEN_NETIF_EXTRA_TYPE_MAX)\n")]),
    ("netfront-close-skips-closing", "xenbus", "netfront",
     "netfront_close writes Closed straight away (\"the rings are down already: nothing for the backend to "
     "finish\"), without the Closing netfront.h promises (state Closing then Closed): a connected frontend "
     "goes Connected -> Closed, and a backend or toolstack waiting for Closing never sees it",
     "any netfront close while connected: the frontend's state transitions",
     [(NF, "\tnetfront_rings_teardown(nf);\n\tif (nf->nf_phase != NF_DEAD)\n"
       "\t\tnetfront_switch(nf, XenbusStateClosing);\n\tnetfront_switch(nf, XenbusStateClosed);\n",
       "\tnetfront_rings_teardown(nf);\n"
       "\t/* The rings are down already: nothing for the backend to finish,\n"
       "\t * Closed at once (it disconnects on Closed as on Closing). */\n"
       "\tnetfront_switch(nf, XenbusStateClosed);\n")]),
    ("netfront-new-backend-not-followed", "reconnect", "netfront",
     "a connected frontend that sees its backend start over (a restarted driver domain) goes Closed and waits "
     "for the backend's next state (\"its next state brings us back\") instead of taking the state it saw: "
     "right when it saw Initialising, but a backend seen at InitWait already (events coalesced, a quick "
     "restart) waits for the frontend and never moves again: the vif never reconnects",
     "a net backend restart where the frontend's first look finds the new backend at InitWait: no reconnect, "
     "sends -ENOTCONN for good",
     [(NF, "static void netfront_new_backend(struct netfront *nf, XenbusState be)\n{\n"
       "\tif (netfront_close_connection(nf))\n\t\tnetfront_step(nf, be);\n}\n",
       "static void netfront_new_backend(struct netfront *nf, XenbusState be)\n{\n"
       "\t/* Closed now: the new backend's next state brings us back to start\n"
       "\t * over from there. */\n"
       "\t(void)be;\n\tnetfront_close_connection(nf);\n}\n")]),
    ("netback-ev-both-short-circuit", "lost-wakeup", "netback",
     "netback's handler of a shared event channel returns tx_work() || rx_work(): when tx requests were there "
     "the rx ring is not looked at; the buffers the frontend posted (and notified, crossing req_event) are not "
     "taken, and its later posts raise no event, so frames for the guest wait for the rx timer (rx_stall_ms) "
     "or an event without tx work, and may be dropped as a stall",
     "net without split event channels, traffic both ways, a guest whose rx ring runs dry now and then: rx "
     "latency of seconds, stall drops",
     [(NB_RING, "\tstruct netback_queue *q = arg;\n\tbool tx = netback_tx_work(q);\n"
       "\tbool rx = netback_rx_work(q);\n\n\treturn tx || rx;\n",
       "\tstruct netback_queue *q = arg;\n\n"
       "\t/* One channel for both rings: the event found work if either did. */\n"
       "\treturn netback_tx_work(q) || netback_rx_work(q);\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-offer-inprogress-keeps-rings", "grant-leak", "xenbus",
     "xenbus_offer_answer returns -EINPROGRESS (the backend no longer waits for us) without tearing the rings "
     "down (\"the backend's next InitWait answers with these rings\"), against its contract: the frontend "
     "stays waiting with them set up, and its next publish sets up new ones over them, so the ring pages (and "
     "netfront's tx/rx pools) stay granted and their channels bound",
     "a backend that leaves InitWait between the frontend's look and its publish transaction (restart or "
     "close storms, a toolstack close during the handshake), blk or net: frontend grants and event channels "
     "left after reconnect and close",
     [(XB, "\t\tif (rc != -ESTALE && rc != -EINPROGRESS)\n\t\t\treturn rc;\n\t\tops->teardown(arg);\n"
       "\t\tif (rc == -EINPROGRESS || tries == XENBUS_OFFER_TRIES)\n\t\t\treturn rc;\n",
       "\t\tif (rc != -ESTALE && rc != -EINPROGRESS)\n\t\t\treturn rc;\n"
       "\t\tif (rc == -EINPROGRESS)\n"
       "\t\t\treturn rc;   /* the backend's next InitWait answers with these rings */\n"
       "\t\tops->teardown(arg);\n"
       "\t\tif (tries == XENBUS_OFFER_TRIES)\n\t\t\treturn rc;\n")]),
    ("xenbus-online-read-outside-tx", "xenbus", "xenbus",
     "the backend's check of online before InitWait and before Connected reads it outside the transaction "
     "(\"the toolstack's key, not part of what we write\"): a toolstack close (online=0, state Closing) between "
     "that read and the commit no longer conflicts, so InitWait or Connected is committed over the toolstack's "
     "Closing (Closing -> InitWait / Connected) and the closed device is served",
     "a toolstack close or destroy racing a backend's publish or connect (blk and net): the backend's state "
     "transitions, a device served after online=0",
     [(XB_BE, "\tuint64_t online = 0;\n\tint rc = xenbus_read_uint(xs, t, dir, \"online\", 1, &online);\n",
       "\tuint64_t online = 0;\n"
       "\t/* online is the toolstack's key, not part of what this transaction\n"
       "\t * writes: read it as it is now. */\n"
       "\t(void)t;\n"
       "\tint rc = xenbus_read_uint(xs, XBT_NULL, dir, \"online\", 1, &online);\n")]),
    ("xenbus-dispatch-batch-not-resumed", "lost-wakeup", "xenbus",
     "after a full dispatch of 64 watch events the dispatcher no longer schedules itself again (\"the fd stays "
     "readable while events are queued\"): events libxenstore already read off the connection (while our "
     "callbacks waited for replies) sit in its queue with nothing readable on the fd, and wait for the next "
     "unrelated xenstore traffic: devices not discovered, state changes not acted on",
     "a watch flood (many devices created or closed at once, a guest writing many nodes under a watched "
     "path): handshakes that stall until something else touches xenstore",
     [(XB_W, "\tif (n == XENBUS_EVENTS_PER_DISPATCH)\n\t\tevent_active(xb->xb_ev, EV_READ, 0);\n",
       "\t/* The rest stay queued on the connection, whose fd stays readable:\n"
       "\t * the loop comes back to them after the others had their turn. */\n")]),
    ("xenbus-connect-failure-taken-as-stale", "xenbus", "xenbus",
     "a failed connect is taken as stale (not the frontend's fault) when the frontend's keys are the same as "
     "before it, instead of when they changed (== for !=): a refused connection (bad ring ref, bad port, "
     "unknown protocol, too many queues) disconnects and kicks itself again for ever, never writing the error "
     "or Closing, and a frontend that really moved on is blamed with an error and Closing",
     "a refused connection on either driver (hostile or malformed frontend keys): no Closing, no error key, "
     "the backend retrying in a loop; the frontend's refusal count never moving",
     [(XB_BE, "\telse if (xenbus_transact(xs, xenbus_view_tx, &now) == 0 && now.digest != seen.digest)\n",
       "\telse if (xenbus_transact(xs, xenbus_view_tx, &now) == 0 && now.digest == seen.digest)\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
