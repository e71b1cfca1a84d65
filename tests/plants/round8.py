#!/usr/bin/env python3
"""Eighth round: plants written blind from drivers/ (blk, net and xenbus),
one bug each of the held-out classes. Kept apart from make.py's table so
other rounds merge cleanly; make_one is make.py's.
python3 tests/plants/round8.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BF, BF_IO = "drivers/blk/blkfront.c", "drivers/blk/blkfront_io.c"
BB = "drivers/blk/blkback.c"
NB_RX, NPKT = "drivers/net/netback_rx.c", "drivers/net/netpkt.c"
NF_RING, NF_RSP = "drivers/net/netfront_ring.c", "drivers/net/netfront_rsp.c"
XB_BE, XB_EV, XB_TS = ("drivers/xenbus/xenbus_backend.c", "drivers/xenbus/xenbus_evtchn.c",
                       "drivers/xenbus/xenbus_toolstack.c")

PLANTS = [
    # ---------------- block ----------------
    ("blkfront-close-fails-before-teardown", "reconnect", "blkfront",
     "closing fails the pending list before the rings are taken down, not after: the teardown then puts the "
     "I/Os that were in flight back on the pending list, which nobody looks at again; their callbacks never "
     "run (not even with -ECANCELED) and their records leak",
     "a vbd closed while I/O is in flight: every I/O submitted gets exactly one completion",
     [(BF, "\tbf->bf_closing = true;   /* completions below may try to submit more */\n"
       "\tblkfront_rings_teardown(bf);\n\tblkfront_fail_all(bf, -ECANCELED);\n",
       "\tbf->bf_closing = true;   /* completions below may try to submit more */\n"
       "\tblkfront_fail_all(bf, -ECANCELED);\n\tblkfront_rings_teardown(bf);\n")]),
    ("blkfront-pool-grow-partial", "persistent-limit", "blkfront",
     "the persistent pool grows by what the grant budget has left even when that is less than the part "
     "needs (the -ENOSPC for a short grow is gone): the part then takes more pages off the free list than "
     "it holds and dereferences its NULL end",
     "persistent grants with a grant budget that parts in flight nearly exhaust, then a large part: the "
     "part must wait for pages, not crash",
     [(BF_IO, "\tif (n > room)\n\t\tn = room;\n\tif (n < need)\n\t\treturn -ENOSPC;\n",
       "\tif (n > room)\n\t\tn = room;\n")]),
    ("blkfront-reconnect-timer-kept", "reconnect", "blkfront",
     "connecting no longer cancels the reconnect timer armed when the backend went away: after a quick "
     "reconnect the old timer stays pending, so a second outage does not re-arm it and its pending I/O "
     "is failed -ETIMEDOUT when the first outage's deadline passes, long before reconnect_timeout_ms",
     "two backend restarts within reconnect_timeout_ms, the second one long enough to cross the first's "
     "deadline: I/O must survive an outage shorter than the timeout",
     [(BF, "\tbf->bf_stats.connects++;\n\tevent_del(bf->bf_reconnect_timer);\n",
       "\tbf->bf_stats.connects++;\n")]),
    ("blkfront-new-backend-skips-closed", "xenbus", "blkfront",
     "a Connected frontend whose backend starts over (InitWait/Initialising after a restart) goes straight "
     "back to Initialising: Connected -> Initialising without the Closed between (\"a new backend never saw "
     "our Connected\")",
     "a backend restart under a connected vbd: the frontend's XenbusState must go through Closed",
     [(BF, "\tblkfront_disconnect(bf);\n\tif (!blkfront_go(bf, XenbusStateClosed))\n\t\treturn;\n"
       "\tbf->bf_phase = BF_BACKEND_CLOSED;\n\tblkfront_step(bf, be);\n",
       "\tblkfront_disconnect(bf);\n"
       "\tbf->bf_phase = BF_BACKEND_CLOSED;   /* a new backend never saw our Connected */\n"
       "\tblkfront_step(bf, be);\n")]),
    ("blkfront-rsp-checked-in-ring", "double-fetch", "blkfront",
     "each response is copied out of the ring, but the check looks at the ring slot again while the "
     "completion uses the copy: a backend rewriting the slot between the two reads has an id checked that "
     "is not the one completed (an out-of-range id indexes past the shadow table, another outstanding id "
     "completes the wrong request)",
     "access points (a response slot read more than once); a hostile backend changing a response's id "
     "after the frontend copied it",
     [(BF_IO, "\t\t\tif (blkfront_rsp_check(q, &rsp, &why) < 0) {",
       "\t\t\tif (blkfront_rsp_check(q, RING_GET_RESPONSE(ring, ring->rsp_cons - 1), &why) < 0) {")]),
    ("blkback-ready-on-connected", "xenbus", "blkback",
     "blkback takes a frontend at Connected as ready to connect, as netback does (netif has no Initialised): "
     "a backend in InitWait (restarted, or a new blkback instance) that finds its frontend still Connected "
     "from the previous connection maps those old rings and announces Connected; the old ring's req_prod "
     "makes it serve requests answered long ago",
     "a backend restart racing the frontend's notice of it (the frontend still Connected when the new "
     "backend looks): the backend must wait for the frontend to start over",
     [(BB, "\t.ready_states = 1u << XenbusStateInitialised,\n",
       "\t.ready_states = 1u << XenbusStateInitialised | 1u << XenbusStateConnected,\n")]),
    # ---------------- network ----------------
    ("netback-rx-request-read-in-place", "double-fetch", "netback",
     "rx requests are used where they lie in the shared ring (\"8 bytes, only this frame uses it\"): the id "
     "is read when the slot is taken and the gref again when the copy is set up, two reads of a slot the "
     "frontend may rewrite in between",
     "access points (an rx request slot read more than once)",
     [(NB_RX, "\t\tnetif_rx_request_t req;\n\t\tstruct netback_rxslot *s = &q->q_rx_slots[(*nslots)++];\n"
       "\t\tRING_COPY_REQUEST(&q->q_rx, q->q_rx.req_cons, &req);\n\t\tq->q_rx.req_cons++;\n"
       "\t\t*s = (struct netback_rxslot){.rs_id = req.id, .rs_seg = -1, .rs_pkt = p};\n",
       "\t\tstruct netback_rxslot *s = &q->q_rx_slots[(*nslots)++];\n"
       "\t\t/* Used where it lies: 8 bytes, and only this frame takes it. */\n"
       "\t\tconst netif_rx_request_t *req = RING_GET_REQUEST(&q->q_rx, q->q_rx.req_cons);\n"
       "\t\tq->q_rx.req_cons++;\n"
       "\t\t*s = (struct netback_rxslot){.rs_id = req->id, .rs_seg = -1, .rs_pkt = p};\n"),
      (NB_RX, "\t\tseg->dest.foreign.ref = req.gref;\n", "\t\tseg->dest.foreign.ref = req->gref;\n")]),
    ("netback-rx-wait-no-poll", "lost-wakeup", "netback",
     "a frame waiting for rx buffers arms its timer for the stall deadline whether or not the frontend "
     "notifies: a frontend without feature-rx-notify posts buffers silently and is no longer polled while "
     "a frame waits, so each time its ring runs dry delivery stops for rx_stall_ms (2 s) and the queue "
     "behind overflows",
     "a netfront with rx_notify off receiving a steady stream: delivery must keep up (polling every "
     "rx_poll_ms), no 2 s gaps, no drops",
     [(NB_RX, "\tnetback_rx_timer_arm(q, notify ? left_ms : (left_ms < c->rx_poll_ms ? left_ms : c->rx_poll_ms));\n",
       "\tnetback_rx_timer_arm(q, left_ms);   /* req_event is armed: the frontend tells us */\n")]),
    ("netpkt-ipv4-length-unchecked", "request-trust", "netback",
     "an IPv4 header's total length is no longer bounded by the frame: a guest sending a checksum-offload or "
     "GSO frame whose tot_len exceeds it makes the backends read past the packet (checksum completion sums "
     "it, GSO segmentation copies it into frames for another guest: a memory disclosure)",
     "a hostile guest sending csum_blank / GSO TCPv4 frames with a tot_len larger than the frame, to a "
     "guest that needs the checksum completed or the GSO cut",
     [(NPKT, "\tif (ihl < NETPKT_IPV4_HLEN || tot < ihl || tot > len - NETPKT_ETH_HLEN)\n",
       "\tif (ihl < NETPKT_IPV4_HLEN || tot < ihl)\n")]),
    ("netfront-tx-null-unchecked", "response-trust", "netfront",
     "a tx response NETIF_RSP_NULL is taken as an extra info slot's answer without checking that one is "
     "outstanding: a backend answering a data slot with NULL keeps that page busy for ever (the frame never "
     "counted answered) and the extras count wraps; the pool drains and tx stops",
     "a hostile net backend answering data slots with NETIF_RSP_NULL: the frontend must fail, not leak",
     [(NF_RSP, "\tif (rsp->status == NETIF_RSP_NULL) {\n\t\tif (v->extras_outstanding == 0)\n"
       "\t\t\treturn netfront_why(why, why_len, \"tx response NULL (id %u) but no extra info slot is outstanding\",\n"
       "\t\t\t\t\t    rsp->id);\n\t\treturn 1;\n\t}\n",
       "\tif (rsp->status == NETIF_RSP_NULL)\n\t\treturn 1;   /* an extra info slot's answer */\n")]),
    ("netfront-rx-extras-unbounded", "response-trust", "netfront",
     "the chain of rx extra info slots is no longer bounded (\"the ring bounds it\"): a backend chaining more "
     "than 21 GSO extras (each with XEN_NETIF_EXTRA_FLAG_MORE) has the copies written past q_rx_rsps[] over "
     "the queue's frame buffer pointer",
     "a hostile net backend sending a long chain of extra info slots: the frontend must fail, not corrupt "
     "memory",
     [(NF_RSP, "\tint more = (s->rsps[0].flags & NETRXF_extra_info) ? 1 : 0;\n\tunsigned seen = 0;\n",
       "\tint more = (s->rsps[0].flags & NETRXF_extra_info) ? 1 : 0;\n"),
      (NF_RSP, "\t\tif (++seen > NETFRONT_EXTRAS_MAX)\n"
       "\t\t\treturn netfront_why(s->why, s->why_len, \"rx frame at slot %u has more than %u extra info slots\",\n"
       "\t\t\t\t\t    s->cons, NETFRONT_EXTRAS_MAX);\n", "")]),
    ("netfront-rings-unshare-one-page", "grant-leak", "netfront",
     "a queue's ring pages (tx and rx, shared as one pair) are unshared with a count of 1: the rx ring's page "
     "stays granted to the backend after every disconnect, failure and close (the grant count is lowered "
     "for both)",
     "any vif connection that ends (close, backend restart): grant balance",
     [(NF_RING, "\t\txengntshr_unshare(nf->nf_gs, q->q_rings, 2);\n",
       "\t\txengntshr_unshare(nf->nf_gs, q->q_rings, 1);\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-fatal-pending-kept", "xenbus", "xenbus",
     "the sync that acts on a protocol violation no longer clears bd_fatal_pending: every later sync closes "
     "again, so a frontend that restarts after the violation is answered Closed -> Closing and never "
     "InitWait; the device cycles Closing/Closed (close timer) and never reconnects, and later violations "
     "are not reported",
     "a frontend that breaks the protocol, is disconnected, then starts over: the backend must offer a new "
     "connection",
     [(XB_BE, "\tif (bd->bd_fatal_pending) {\n\t\tbd->bd_fatal_pending = false;\n",
       "\tif (bd->bd_fatal_pending) {\n")]),
    ("xenbus-evtchn-delay-uncapped", "lost-wakeup", "xenbus",
     "the delayed unmask after events without work doubles without its 50 ms cap: a peer that storms the "
     "port for a while leaves it masked for seconds to minutes, and the first real notification after the "
     "storm waits that long",
     "an event storm (XSA-332/391 style) followed by real work on the same channel: the work must be "
     "served within a bounded delay",
     [(XB_EV, "\tif (ch->ec_delay_us > XENBUS_EVTCHN_DELAY_US_MAX)\n"
       "\t\tch->ec_delay_us = XENBUS_EVTCHN_DELAY_US_MAX;\n", "")]),
    ("xenbus-regrant-dir-only", "xenbus", "xenbus",
     "recreating a backend (a restarted driver domain) gives the backend domain read access back on the "
     "frontend's directory only, not on the nodes below it (believed inherited): xenstored dropped the dead "
     "domain's entries everywhere (XSA-322), so the new backend cannot read the frontend's state or ring "
     "keys and never connects",
     "a backend domain restart with the device recreated backend-only: the device must reconnect",
     [(XB_TS, "\treturn xenbus_perms_tree(xs, t, c->fe, c->fe_perms, 0);\n",
       "\treturn xenbus_perms_tree(xs, t, c->fe, c->fe_perms, XENBUS_PERMS_DEPTH_MAX);   /* nodes inherit */\n")]),
    ("xenbus-shutdown-connect-keeps-rings", "grant-leak", "xenbus",
     "a connect whose announce finds the device closed by the toolstack (online=0) writes Closed without "
     "disconnecting (\"nothing was announced\"): the rings mapped and channels bound by connect() stay, the "
     "backend keeps serving them while Closed, and a frontend restart connects again over them (the old "
     "maps and handle leak)",
     "a toolstack close (online=0) racing the backend's connect: the backend must let go of the rings",
     [(XB_BE, "\tif (rc == -ESHUTDOWN) {   /* closed by the toolstack: never Closing -> Connected */\n"
       "\t\txenbus_backend_close(bd, XenbusStateClosed);\n",
       "\tif (rc == -ESHUTDOWN) {   /* closed by the toolstack before anything was announced */\n"
       "\t\tbd->bd_phase = XENBUS_BE_CLOSED;\n\t\txenbus_backend_switch(bd, XenbusStateClosed);\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
