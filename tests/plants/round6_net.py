#!/usr/bin/env python3
"""Sixth round, network stack: plants written blind from drivers/net,
drivers/xenbus and Xen's io headers (README.md, "Sixth round"). Kept apart
from make.py's table like round5_blk.py; make_one is make.py's.
netback-rx-event-one-late replaced netback-rx-stall-no-recheck after the
first measurement: the stall's own timer callback leaves the rx timer armed
(0 ms), so every stall is followed by a look at req_prod and the missing
re-check changes nothing a peer can see.
python3 tests/plants/round6_net.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

NB_PARSE, NB_TX, NB_MAP = "drivers/net/netback_txparse.c", "drivers/net/netback_tx.c", "drivers/net/netback_txmap.c"
NB_RX, NB_RING = "drivers/net/netback_rx.c", "drivers/net/netback_ring.c"
NF, NF_IO, NF_RSP = "drivers/net/netfront.c", "drivers/net/netfront_io.c", "drivers/net/netfront_rsp.c"
XB_BE = "drivers/xenbus/xenbus_backend.c"

PLANTS = [
    # ---- request-trust (netback tx) ----
    ("netback-tx-gso-v6-checks-v4", "request-trust", "netback",
     "a tx GSO extra of type TCPv6 is checked against the TCPv4 offer (a copy-paste slip): a backend offering "
     "feature-gso-tcpv4 but not feature-gso-tcpv6 takes TCPv6 GSO requests it never offered instead of "
     "disconnecting the frontend",
     "a hostile frontend's GSO extra of a type the backend did not offer: the vif must be disconnected",
     [(NB_PARSE, "if ((v4 && !s->lim->gso_tcpv4) || (v6 && !s->lim->gso_tcpv6))",
       "if ((v4 && !s->lim->gso_tcpv4) || (v6 && !s->lim->gso_tcpv4))")]),
    ("netback-tx-extras-bound-by-slots", "request-trust", "netback",
     "a tx packet's chain of extra info slots is bounded by the size of the packet's slot array, not by the "
     "number of extra types: a frontend chaining more than four extras is not disconnected, and extras "
     "followed by data slots run past q_tx_reqs[] into the batch's slot table (the ids answered)",
     "a hostile frontend chaining five or more extra info slots (MCAST_ADD repeated): the vif disconnected",
     [(NB_PARSE, "\t\tif (++seen > NETBACK_EXTRAS_MAX)\n"
       "\t\t\treturn txscan_fatal(s, \"more than %u extra info slots\", NETBACK_EXTRAS_MAX);\n",
       "\t\tif (++seen > NETBACK_TX_PKT_SLOTS_MAX)\n"
       "\t\t\treturn txscan_fatal(s, \"more than %u extra info slots\", NETBACK_TX_PKT_SLOTS_MAX);\n")]),
    ("netback-tx-drop-stops-chain", "request-trust", "netback",
     "a data slot larger than the bytes left of its packet drops the packet and stops reading its chain there: "
     "the slots after it (NETTXF_more_data still set) are read as the next packets, and a middle fragment of "
     "the bad packet goes out on the link as a frame of its own",
     "a hostile frontend's chain whose second slot is larger than the first slot's total: every slot answered "
     "once, nothing of it delivered to another guest",
     [(NB_PARSE, "\t\tif (r->size > *rest)\n"
       "\t\t\ttxscan_drop(s, \"slot %u: size %u is more than the %\" PRIu32 \" bytes left of the packet\", *i, "
       "r->size,\n\t\t\t\t    *rest);\n\t\telse\n\t\t\t*rest -= r->size;\n",
       "\t\tif (r->size > *rest) {\n"
       "\t\t\ttxscan_drop(s, \"slot %u: size %u is more than the %\" PRIu32 \" bytes left of the packet\", *i, "
       "r->size,\n\t\t\t\t    *rest);\n\t\t\tbreak;   /* the packet is dropped anyway */\n\t\t}\n"
       "\t\t*rest -= r->size;\n")]),
    # ---- response-trust (netfront) ----
    ("netfront-tx-id-in-flight-unchecked", "response-trust", "netfront",
     "a tx response's id is checked against the pool's size only, not against the pages in flight: a backend "
     "answering an id twice (or one never sent) puts a page on the free list twice, and two frames later "
     "share a page while the backend reads it",
     "a hostile backend repeating a tx response id: netfront must fail, never reuse a page in flight",
     [(NF_RSP, "\tif (!v->bufs[rsp->id].tb_busy)\n"
       "\t\treturn netfront_why(why, why_len, \"tx response id %u answers no request in flight\", rsp->id);\n",
       "")]),
    ("netfront-rx-prod-bound-by-ring", "response-trust", "netfront",
     "the rx rsp_prod is checked against the ring's size, not against the requests outstanding: with fewer rx "
     "buffers than ring slots a backend jumping rsp_prod ahead has stale slots read as frames, their buffers "
     "given back twice (past the free stack)",
     "a hostile backend's rx rsp_prod past the requests posted, with rx_bufs below 256: netfront fails",
     [(NF_IO, "if (!netfront_rsp_prod_ok(rp, q->q_rx.rsp_cons, q->q_rx.req_prod_pvt)) {\n"
       "\t\tnetfront_fail_proto(nf, \"queue %u: rx rsp_prod",
       "if (rp - q->q_rx.rsp_cons > RING_SIZE(&q->q_rx)) {\n"
       "\t\tnetfront_fail_proto(nf, \"queue %u: rx rsp_prod")]),
    # ---- double-fetch ----
    ("netback-tx-req-prod-refetched", "double-fetch", "netback",
     "the slots a tx packet may take are counted from req_prod read again from the shared ring, not from the "
     "value checked against the ring's size: a frontend moving req_prod after the check has its chain run "
     "into slots never published (old requests)",
     "check-access (req_prod read twice); a hostile frontend rewriting req_prod between the reads",
     [(NB_TX, "rp - q->q_tx.req_cons, q->q_tx_reqs, &b->tb_meta,",
       "q->q_tx.sring->req_prod - q->q_tx.req_cons, q->q_tx_reqs, &b->tb_meta,")]),
    ("netfront-rx-rsp-prod-refetched", "double-fetch", "netfront",
     "a frame's responses are bounded by rsp_prod read again from the shared ring for each frame, not by the "
     "value netfront_rsp_prod_ok checked: a backend moving rsp_prod after the check has slots it never "
     "answered read as frames",
     "check-access (rsp_prod read twice); a hostile backend rewriting rsp_prod between the reads",
     [(NF_IO, "static int netfront_rx_one(struct netfront_queue *q, RING_IDX rp)",
       "static int netfront_rx_one(struct netfront_queue *q)"),
      (NF_IO, "q->q_rx.rsp_cons, rp - q->q_rx.rsp_cons, q->q_rx_rsps,",
       "q->q_rx.rsp_cons, q->q_rx.sring->rsp_prod - q->q_rx.rsp_cons, q->q_rx_rsps,"),
      (NF_IO, "rc = netfront_rx_one(q, rp);", "rc = netfront_rx_one(q);")]),
    # ---- lost-wakeup ----
    ("netfront-rx-batch-not-resumed", "lost-wakeup", "netfront",
     "after a full batch of 64 frames the rx loop stops without scheduling itself again and without re-arming "
     "rsp_event: the frames left in the ring wait for an event the backend never sends (rsp_event is behind "
     "its rsp_prod), with split channels for ever",
     "a burst of more than 64 small frames to one guest with split event channels: a hang or frames never seen",
     [(NF_IO, "\t\tmore = 1;   /* a full batch: yield, then go on */\n",
       "\t\tmore = 0;   /* a full batch: the backend's next event brings us back */\n")]),
    ("netback-rx-event-one-late", "lost-wakeup", "netback",
     "waiting for rx buffers, netback sets req_event one past the buffers the head frame needs: a frontend that "
     "posts exactly enough raises no event, and the frame waits for the stall timer (2 s) though its buffers "
     "are there",
     "a guest with few rx buffers under frames of many sizes: frames held up for seconds (ping timeouts, "
     "nothing dropped)",
     [(NB_RX, "\tq->q_rx.sring->req_event = q->q_rx.req_cons + need;\n",
       "\tq->q_rx.sring->req_event = q->q_rx.req_cons + need + 1;\n")]),
    # ---- grant-leak ----
    ("netback-txmap-unmap-one", "grant-leak", "netback",
     "a pass's mapping of several tx fragments is unmapped with a count of 1 (as the ring pages are): the "
     "other pages of the frontend stay mapped until the vif disconnects, and the frontend cannot end those "
     "grants",
     "large fragments mapped in one pass (tx_map_threshold), then a resource balance at an idle point",
     [(NB_MAP, "if (xengnttab_unmap(vif->vif_gt, addr, n) < 0)", "if (xengnttab_unmap(vif->vif_gt, addr, 1) < 0)")]),
    ("netback-disconnect-keeps-rx-ring", "grant-leak", "netback",
     "a queue's disconnect unmaps the tx ring but not the rx ring: every connection leaves one of the "
     "frontend's ring pages mapped (until the handle is closed)",
     "reconnects, then a resource balance: the frontend's ring grants still mapped",
     [(NB_RING, "\tif (q->q_rx_addr)\n\t\txengnttab_unmap(vif->vif_gt, q->q_rx_addr, 1);\n", "")]),
    # ---- reconnect ----
    ("netfront-disconnect-drains-one-batch", "reconnect", "netfront",
     "leaving Connected, netfront takes the responses already published with one pass of its rx loop (64 "
     "frames), not until the ring is empty: frames the backend delivered beyond the first batch are lost "
     "without being counted",
     "a disconnect with more than 64 received frames not yet taken: every frame netback delivered is seen",
     [(NF, "for (unsigned turn = 0; turn < NETFRONT_DRAIN_TURNS_MAX; turn++)",
       "for (unsigned turn = 0; turn < 1; turn++)")]),
    # ---- xenbus ----
    ("xenbus-net-front-tries-kept", "xenbus", "netfront",
     "the count of refused connections is not reset when a connection succeeds: four backend closes during "
     "handshakes spread over a vif's life (backend restarts) fail it for good",
     "several backend restarts during the handshake over one run: the vif must stay usable",
     [(NF, "\tnf->nf_connect_tries = 0;\n", "")]),
    ("xenbus-net-initwait-outside-tx", "xenbus", "xenbus",
     "the backend's InitWait is written outside the publish transaction (XBT_NULL): a frontend may see InitWait "
     "before the feature keys commit (no feature-rx-copy: refused), and a toolstack close racing the publish "
     "gets Closing -> InitWait",
     "a frontend reading the backend's features at InitWait; a toolstack close at the backend's publish",
     [(XB_BE, "return rc < 0 ? rc : xenbus_write_fmt(xs, t, dir, \"state\", \"%d\", XenbusStateInitWait);",
       "return rc < 0 ? rc : xenbus_write_fmt(xs, XBT_NULL, dir, \"state\", \"%d\", XenbusStateInitWait);")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
