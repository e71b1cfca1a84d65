#!/usr/bin/env python3
"""Tenth round: plants written blind from drivers/ (blk, net and xenbus),
six in blk, six in net, four in xenbus, spread over the classes, mostly on
paths that are not the first thing a run exercises (multi-queue, multi-page
rings, refused connections, reconnects, stalls, small pools, GSO, toolstack
destroy, bad ports). Kept apart from make.py's table so other rounds merge
cleanly; make_one is make.py's.
python3 tests/plants/round10.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB, BB_IO, BB_RING = "drivers/blk/blkback.c", "drivers/blk/blkback_io.c", "drivers/blk/blkback_ring.c"
BF, BF_RING = "drivers/blk/blkfront.c", "drivers/blk/blkfront_ring.c"
NB_TX, NB_RX, NB_RING = "drivers/net/netback_tx.c", "drivers/net/netback_rx.c", "drivers/net/netback_ring.c"
NF_IO = "drivers/net/netfront_io.c"
XB, XB_TS, XB_EV = ("drivers/xenbus/xenbus.c", "drivers/xenbus/xenbus_toolstack.c",
                    "drivers/xenbus/xenbus_evtchn.c")

PLANTS = [
    # ---------------- block ----------------
    ("blkback-pgrant-limit-per-queue", "persistent-limit", "blkback",
     "the persistent grant limit is multiplied by the number of queues (\"each ring keeps its own working set, "
     "as Linux's per-ring limit\"), but the table is one per vbd and persistent_grants_max is documented per "
     "vbd: a multi-queue frontend gets up to queues x persistent_grants_max of its grants kept mapped (16 x 8192 "
     "past the frontend's whole grant table)",
     "persistent grants with two queues or more and a frontend touching more distinct pages than "
     "persistent_grants_max: grants mapped by the backend at once, compared with the configured limit",
     [(BB_RING, "\t\tvbd->vbd_pgrants_max = vbd->vbd_bb->bb_cfg.persistent_grants_max;\n",
       "\t\t/* Each ring keeps its own working set mapped, as Linux's blkback\n"
       "\t\t * keeps persistent grants per ring: the limit is per queue. */\n"
       "\t\tvbd->vbd_pgrants_max = vbd->vbd_bb->bb_cfg.persistent_grants_max * nq;\n")]),
    ("blkback-discard-range-refetched", "double-fetch", "blkback",
     "a discard's range is checked on the request copy (blkback_check_discard) but the discard is issued with "
     "sector_number and nr_sectors copied again from the shared ring slot (\"in the discard layout\"): a "
     "frontend rewriting the slot after the check discards a range nobody checked (another part of the disk, "
     "or one the vbd's limits refuse)",
     "a hostile blk frontend with feature-discard rewriting a discard request's range after pushing it; "
     "access tracing of the request slot (read twice)",
     [(BB_IO, "\tif (st == BLKIF_RSP_OKAY && r.op == BLKIF_OP_DISCARD) {\n"
       "\t\tst = blkback_store_status(blk_store_discard(vbd->vbd_store, r.sector << BLKBACK_SECTOR_SHIFT,\n"
       "\t\t\t\t\t\t\t    r.nr_sectors << BLKBACK_SECTOR_SHIFT));\n",
       "\tif (st == BLKIF_RSP_OKAY && r.op == BLKIF_OP_DISCARD) {\n"
       "\t\t/* The discard's own layout (blkif_request_discard_t): nr_sectors lies\n"
       "\t\t * where a read's segments do, so take it as the frontend laid it out. */\n"
       "\t\tblkif_request_discard_t d;\n"
       "\t\tmemcpy(&d, RING_GET_REQUEST(&q->q_ring, q->q_ring.req_cons - 1), sizeof(d));\n"
       "\t\tst = blkback_store_status(blk_store_discard(vbd->vbd_store, d.sector_number << BLKBACK_SECTOR_SHIFT,\n"
       "\t\t\t\t\t\t\t    d.nr_sectors << BLKBACK_SECTOR_SHIFT));\n")]),
    ("blkback-readonly-offers-flush", "read-only", "blkback",
     "feature-flush-cache is offered on read-only vbds too (\"a flush orders reads as well\"), while a flush of a "
     "read-only vbd is still refused: the guest, told it may flush, has every flush answered BLKIF_RSP_ERROR "
     "(-EIO, not -EOPNOTSUPP, so it never stops trying)",
     "a read-only vbd (mode r, or a read-only store) with flush configured: feature-flush-cache published, "
     "and a guest flush failing -EIO",
     [(BB, "\t\t.flush = c->flush && !ro,\n",
       "\t\t.flush = c->flush,   /* orders reads as well: offered whatever the mode, as Linux does */\n")]),
    ("blkback-ring-unmap-first-page", "grant-leak", "blkback",
     "a queue's ring is unmapped with a count of one page (\"one mapping call, one unmap\") whatever the "
     "negotiated ring-page-order: with a multi-page ring the other pages stay mapped after every disconnect, "
     "reconnect and close, and the frontend cannot end those grants",
     "blk with max-ring-page-order > 0 and a disconnect (backend restart, frontend close, reconnect): grant "
     "maps left by the backend, frontend unshare that never completes",
     [(BB_RING, "\t\txengnttab_unmap(vbd->vbd_gt, q->q_ring_addr, q->q_ring_pages);\n",
       "\t\txengnttab_unmap(vbd->vbd_gt, q->q_ring_addr, 1);   /* one mapping call, one unmap */\n")]),
    ("blkfront-requeue-rewinds-by-part", "reconnect", "blkfront",
     "at a disconnect each dropped part rewinds its I/O by that part's bytes only (\"parts already answered are "
     "done\") instead of to the start: right when parts complete in order, but with parts on several queues "
     "answered out of order (a later part answered, an earlier one not) the I/O resumes at the wrong offset: "
     "the earlier part's sectors are never written or read again, the I/O completes OKAY (a lost write, a read "
     "with a hole of stale data)",
     "multi-queue blk with I/O split over queues (indirect or > 11 segments) and a backend restart (or a "
     "backend answering queues out of order, then closing): data check after the reconnect",
     [(BF_RING, "/* Every part in flight is dropped; its I/O starts over on the next ring. */\n",
       "/* Every part in flight is dropped and goes out again on the next ring. */\n"),
      (BF_RING, "\t\tstruct blkfront_io *io = sh->sh_io;\n\t\tblkfront_part_release(q, sh);\n"
       "\t\tio->io_parts = 0;\n\t\tio->io_issued = 0;\n",
       "\t\tstruct blkfront_io *io = sh->sh_io;\n\t\tuint32_t bytes = sh->sh_bytes;\n"
       "\t\tblkfront_part_release(q, sh);\n"
       "\t\t/* Only this part goes out again: what its I/O's answered parts\n"
       "\t\t * carried is done, and what lies past it was never issued. */\n"
       "\t\tio->io_parts--;\n\t\tio->io_issued -= bytes;\n")]),
    ("blkfront-refused-restarts-without-closed", "xenbus", "blkfront",
     "a frontend whose published rings the backend refused (backend Closing while we are Initialised) goes "
     "straight back to Initialising (\"nothing was connected, nothing to close\"): Initialised -> Initialising, "
     "without the Closed a new Initialising must follow",
     "a blk backend refusing the connection (bad or missing ring keys, a map or bind failure): the "
     "frontend's state transitions",
     [(BF, "\t\t\t      why[0] ? why : \"no reason given\");\n\t\treturn;\n\t}\n"
       "\tblkfront_disconnect(bf);\n\tif (blkfront_go(bf, XenbusStateClosed))\n"
       "\t\tbf->bf_phase = BF_BACKEND_CLOSED;\n}\n",
       "\t\t\t      why[0] ? why : \"no reason given\");\n\t\treturn;\n\t}\n"
       "\tblkfront_disconnect(bf);\n"
       "\t/* Refused before we ever connected: there is no connection to close,\n"
       "\t * ask for a new one at once. */\n"
       "\tif (bf->bf_phase == BF_PUBLISHED) {\n"
       "\t\tif (blkfront_go(bf, XenbusStateInitialising))\n"
       "\t\t\tbf->bf_phase = BF_WAIT_BACKEND;\n"
       "\t\treturn;\n"
       "\t}\n"
       "\tif (blkfront_go(bf, XenbusStateClosed))\n"
       "\t\tbf->bf_phase = BF_BACKEND_CLOSED;\n}\n")]),
    # ---------------- net ----------------
    ("netfront-rx-buffer-by-id", "response-trust", "netfront",
     "the buffer a received slot gives back is found by the response's id (\"a response names the request it "
     "answers\") rather than by its ring slot: right for data slots (their id is checked), but a GSO extra info "
     "slot has no id, its bytes are the extra's type and flags (1): every GSO frame gives back the buffer of "
     "request id 1 (possibly still posted) instead of its own, which leaks; the same page ends up posted "
     "twice and two frames are copied into it",
     "rx GSO to a netfront with sg and gso-tcpv4/v6: data check of received frames, rx buffers granted and "
     "posted over time",
     [(NF_IO, "\t\tRING_IDX idx = q->q_rx.rsp_cons + i;\n"
       "\t\tuint16_t b = q->q_rx_buf_of_id[idx & (RING_SIZE(&q->q_rx) - 1)];\n"
       "\t\tconst netif_rx_response_t *r = &q->q_rx_rsps[i];\n",
       "\t\tconst netif_rx_response_t *r = &q->q_rx_rsps[i];\n"
       "\t\t/* A response names the request it answers (netif.h): its id finds\n"
       "\t\t * the buffer. */\n"
       "\t\tuint16_t b = q->q_rx_buf_of_id[r->id & (RING_SIZE(&q->q_rx) - 1)];\n")]),
    ("netfront-tx-ready-off-by-one", "lost-wakeup", "netfront",
     "a blocked sender is told TX_READY only when more than NETFRONT_TX_BUFS_MIN (19) tx pages are free, not "
     "at least that many: with the smallest pool (tx_bufs = 19) that never happens, and a sender that got "
     "-EAGAIN waits for ever",
     "net with tx_bufs = 19 and a sender that fills the pool (large frames back to back): the stream stalls",
     [(NF_IO, "\tif (q->q_tx_blocked && q->q_tx_nfree >= NETFRONT_TX_BUFS_MIN &&\n",
       "\tif (q->q_tx_blocked && q->q_tx_nfree > NETFRONT_TX_BUFS_MIN &&\n")]),
    ("netfront-ev-both-short-circuit", "lost-wakeup", "netfront",
     "the handler of a shared event channel returns tx_work() || rx_work(): when tx responses were there the "
     "rx ring is not looked at, and rsp_event is not re-armed; netback's later rx pushes raise no event, so "
     "received frames wait until an event finds no tx work (with steady tx, never)",
     "net without split event channels and traffic both ways at once: rx stalls, frames left in the ring",
     [(NF_IO, "bool netfront_ev_both(void *arg)\n{\n\tbool tx = netfront_tx_work(arg);\n"
       "\tbool rx = netfront_rx_work(arg);\n\n\treturn tx || rx;\n}\n",
       "bool netfront_ev_both(void *arg)\n{\n"
       "\t/* One channel for both rings: the event found work if either did. */\n"
       "\treturn netfront_tx_work(arg) || netfront_rx_work(arg);\n}\n")]),
    ("netback-tx-alloc-size-refetched", "double-fetch", "netback",
     "a tx packet's buffer is sized by the first request's size read again from the shared ring, not by the "
     "copy netback_tx_parse checked (m->len): a frontend shrinking it after the parse has the grant copies "
     "and mapped fragments written past the buffer (heap overflow); growing it sends trailing garbage",
     "a hostile net frontend rewriting the first tx slot's size after pushing it; access tracing of the tx "
     "request slot (read twice)",
     [(NB_TX, "\tb->tb_pkt = netpkt_alloc(m->len);\n",
       "\t/* Sized by the first request's size: the whole packet (netif.h). */\n"
       "\tb->tb_pkt = netpkt_alloc(RING_GET_REQUEST(&q->q_tx, q->q_tx.req_cons - m->nslots)->size);\n")]),
    ("netback-tx-sg-needs-both-ends", "request-trust", "netback",
     "tx packets of several data slots are taken only if the frontend's own feature-sg is set as well "
     "(\"fragments need scatter-gather at both ends\"), but the frontend's key says what it can receive: a "
     "frontend without feature-sg sending fragmented frames to a backend that offered feature-sg has them "
     "all dropped with NETIF_RSP_ERROR",
     "net with netback sg on and netfront sg off, frames larger than a page or sent in several fragments: "
     "frames lost, tx errors",
     [(NB_RING, "\tvif->vif_tx_limits = (struct netback_tx_limits){.slots_max = c->tx_slots_max, "
       ".slots_fatal = c->tx_slots_fatal,\n\t\t\t\t\t\t\t.sg = c->sg, .gso_tcpv4",
       "\t/* Fragments need scatter-gather at both ends. */\n"
       "\tvif->vif_tx_limits = (struct netback_tx_limits){.slots_max = c->tx_slots_max, "
       ".slots_fatal = c->tx_slots_fatal,\n\t\t\t\t\t\t\t.sg = c->sg && sg, .gso_tcpv4")]),
    ("netback-rx-stall-no-recheck", "lost-wakeup", "netback",
     "a queue that stalls (no rx buffers for rx_stall_ms) sets req_event to req_cons + 1 and waits for an "
     "event, without looking again at buffers already posted: those posted before (too few for the head "
     "frame, now dropped) are behind req_event, the frontend's later posts raise no event, and the queue "
     "stays stalled, every frame for the guest dropped, for good",
     "net with feature-rx-notify, a guest that stops taking frames while large frames wait for buffers, then "
     "resumes: rx never comes back",
     [(NB_RX, "\tif (!q->q_vif->vif_info.rx_notify)\n"
       "\t\tnetback_rx_timer_arm(q, q->q_vif->vif_nb->nb_cfg.rx_poll_ms);\n"
       "\telse if (q->q_rx.sring->req_prod != q->q_rx.req_cons)\n"
       "\t\tevent_active(q->q_rx_work, EV_TIMEOUT, 0);\n",
       "\tif (!q->q_vif->vif_info.rx_notify)\n"
       "\t\tnetback_rx_timer_arm(q, q->q_vif->vif_nb->nb_cfg.rx_poll_ms);\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-destroy-done-at-closing", "xenbus", "xenbus",
     "the toolstack's destroy takes a backend at Closing as done (\"it disconnects before it writes either\"), "
     "but Closing is what the destroy's own close just wrote: the first look finds it and both directories "
     "are removed at once, under a backend still Connected (it never reaches Closed) and a frontend still "
     "using the device",
     "any device destroy: the backend's states before the removal, the frontend's view of its device",
     [(XB_TS, "\tif (rc == -ENOENT || (rc == 0 && st == XenbusStateClosed))\n",
       "\t/* Closing or Closed: the backend has let go of the rings (it\n"
       "\t * disconnects before it writes either). */\n"
       "\tif (rc == -ENOENT || (rc == 0 && st >= XenbusStateClosing))\n")]),
    ("xenbus-dev-fatal-writes-closed", "xenbus", "xenbus",
     "xenbus_dev_fatal writes the error with state Closed instead of Closing: a backend that then closes the "
     "connection (a violation, a refused connect) writes Closing over it, Closed -> Closing; a frontend "
     "failing goes Connected -> Closed without Closing",
     "a protocol violation or refused connection on either driver: the backend's state transitions",
     [(XB, "\tstruct xenbus_switch sw = {.dir = dir, .state = XenbusStateClosing, .error = msg};\n",
       "\t/* A fatal error ends the connection for good: Closed, the state a\n"
       "\t * new one starts from. */\n"
       "\tstruct xenbus_switch sw = {.dir = dir, .state = XenbusStateClosed, .error = msg};\n")]),
    ("xenbus-destroy-timeout-keeps-device", "xenbus", "xenbus",
     "a destroy whose backend did not reach Closed in time no longer removes the device (\"it may still be "
     "using it\"), though nothing removes it later: both directories stay in xenstore for good, against "
     "xenbus_device_destroy's contract (remove anyway after timeout_ms)",
     "a device destroy that times out (a frontend that never answers Closing, a stuck backend): xenstore "
     "nodes left after the destroy",
     [(XB_TS, "\tint rc = xenbus_device_remove(xenbus_xs(d->xd_xb), &d->xd_dev);\n\n"
       "\txenbus_destroy_unlink(d);\n\tif (why < 0)\n"
       "\t\txd_log(\"xenbus: %s %\" PRIu32 \" of dom%\" PRIu32 \": backend did not close in time, removed anyway\",\n",
       "\t/* A backend that did not close may still be using the device: its\n"
       "\t * directories stay until it does (removed under it, it would keep\n"
       "\t * serving rings nobody owns). */\n"
       "\tint rc = why < 0 ? 0 : xenbus_device_remove(xenbus_xs(d->xd_xb), &d->xd_dev);\n\n"
       "\txenbus_destroy_unlink(d);\n\tif (why < 0)\n"
       "\t\txd_log(\"xenbus: %s %\" PRIu32 \" of dom%\" PRIu32 \": backend did not close in time, left in place\",\n")]),
    ("xenbus-evtchn-bind-failure-leaks-handle", "grant-leak", "xenbus",
     "a refused bind_interdomain frees only the channel's record (\"nothing was bound\"), not its xenevtchn "
     "handle: every connection refused over a bad or stale event-channel port leaks an open evtchn handle "
     "(fd) in the backend",
     "a frontend naming a port that cannot be bound (hostile keys, stale keys after a restart, refused "
     "connections): evtchn handles left open at the end",
     [(XB_EV, "\t\txd_log(\"xenbus: binding to dom%u port %u failed: %s\", remote_domid, remote_port,\n"
       "\t\t       strerror(-rc));\n\t\txenbus_evtchn_free(ch);\n",
       "\t\txd_log(\"xenbus: binding to dom%u port %u failed: %s\", remote_domid, remote_port,\n"
       "\t\t       strerror(-rc));\n\t\tfree(ch);   /* nothing was bound: only the record to give back */\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
