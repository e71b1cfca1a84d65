#!/usr/bin/env python3
"""Twelfth round: plants written blind from drivers/ (blk, net and xenbus),
six in blk, six in net, four in xenbus, spread over the classes, mostly on
paths a basic run does not take first (32-bit or hostile frontends, a backend
that goes away and stays away, reconnects under persistent grants, a backend
restarting while the frontend reads the disk description, toolstack closes
before or during the handshake, split event channels with a full tx pool,
18-slot packets, GSO, rx grant copy faults, backends started after their
devices, long-running channels). Kept apart from make.py's table so other
rounds merge cleanly; make_one is make.py's.
python3 tests/plants/round12.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BB_IO, BB_RING = "drivers/blk/blkback_io.c", "drivers/blk/blkback_ring.c"
BF = "drivers/blk/blkfront.c"
NB_RX, NB_TX, NB_PARSE = ("drivers/net/netback_rx.c", "drivers/net/netback_tx.c",
                          "drivers/net/netback_txparse.c")
NF, NF_IO, NF_RING = "drivers/net/netfront.c", "drivers/net/netfront_io.c", "drivers/net/netfront_ring.c"
XB, XB_EV, XB_TS, XB_W = ("drivers/xenbus/xenbus.c", "drivers/xenbus/xenbus_evtchn.c",
                          "drivers/xenbus/xenbus_toolstack.c", "drivers/xenbus/xenbus_watch.c")

PLANTS = [
    # ---------------- block ----------------
    ("blkback-protocol-arch-only", "request-trust", "blkback",
     "the frontend's protocol key is compared with the native ABI on its architecture prefix only (the first "
     "three characters, \"x86\" or \"arm\", on the belief that one architecture's ABIs share the request "
     "layout): a frontend announcing x86_32-abi (a 32-bit guest) on an x86_64 backend, or any name starting "
     "with \"x86\", is connected instead of refused, and its requests are read with the 64-bit layout: id, "
     "sector_number and the segments are taken 4 bytes off, so I/O lands on the wrong sectors and responses "
     "carry ids the frontend never sent",
     "a frontend (hostile, or a 32-bit guest) publishing protocol x86_32-abi or another non-native name: the "
     "connection should be refused (Closing with an error key) and is Connected instead; wrong data or a "
     "frontend failing on the responses",
     [(BB_RING,
       "\tif (rc == -E2BIG || rc == -EINVAL || (rc == 0 && strcmp(proto, XEN_IO_PROTO_ABI_NATIVE) != 0)) {\n",
       "\t/* The ABIs of one architecture (x86_32-abi, x86_64-abi) share the\n"
       "\t * request layout: compare the architecture. */\n"
       "\tif (rc == -E2BIG || rc == -EINVAL || (rc == 0 && strncmp(proto, XEN_IO_PROTO_ABI_NATIVE, 3) != 0)) {\n")]),
    ("blkback-pgrants-unmap-by-count", "grant-leak", "blkback",
     "at a disconnect the persistent grants are unmapped one page each, walking the grant table (as if each "
     "had been mapped alone), instead of each map call's range whole with its count: the unmap of a page "
     "inside a range of several pages is refused (a partial unmap), so every request's batch of new grants "
     "stays mapped, and the table holding their addresses is then freed. Every disconnect, reconnect and "
     "close of a vbd using persistent grants leaves the frontend's pool pages mapped in the backend, and "
     "the frontend can never end those grants",
     "persistent grants (both ends) with I/Os of several new pages, then a disconnect, a backend or frontend "
     "restart, or a close: backend maps still held after the disconnect, frontend grants that never end at "
     "its close (grant accounting at the end)",
     [(BB_RING, "\tfor (unsigned i = 0; i < vbd->vbd_pmaps_n; i++)\n"
       "\t\txengnttab_unmap(vbd->vbd_gt, vbd->vbd_pmaps[i].pm_addr, vbd->vbd_pmaps[i].pm_pages);\n",
       "\tfor (unsigned i = 0; vbd->vbd_pgrants && i < vbd->vbd_pgrants_slots; i++)   /* each grant's page */\n"
       "\t\tif (vbd->vbd_pgrants[i].pg_addr)\n"
       "\t\t\txengnttab_unmap(vbd->vbd_gt, vbd->vbd_pgrants[i].pg_addr, 1);\n")]),
    ("blkback-rw-sector-refetched", "double-fetch", "blkback",
     "on the copy paths (bounce buffer: no persistent grants, or the table full) the disk offset of a read or "
     "write is taken from sector_number read again in the shared ring slot (\"the same place in the direct and "
     "the indirect layout\"), not from the copy blkback_segs_check bounded: a frontend rewriting the slot after "
     "the backend copied it has the I/O done at a sector never checked (past the end of the disk, left to the "
     "store to refuse, or anywhere else inside it), and the slot is read twice",
     "a frontend (or the shared-memory attack) rewriting sector_number of a request after the backend copied "
     "it, without persistent grants: a second read of the slot after RING_COPY_REQUEST, data at a sector other "
     "than the request's, or a request past the end answered by the store's error instead of the check's",
     [(BB_IO,
       "\tuint64_t off = r->sector << BLKBACK_SECTOR_SHIFT, bytes = r->nr_sectors << BLKBACK_SECTOR_SHIFT;\n",
       "\t/* sector_number sits at the same offset in the direct and the\n"
       "\t * indirect layout: take it where the request lies. */\n"
       "\tuint64_t off = RING_GET_REQUEST(&q->q_ring, q->q_ring.req_cons - 1)->sector_number << BLKBACK_SECTOR_SHIFT;\n"
       "\tuint64_t bytes = r->nr_sectors << BLKBACK_SECTOR_SHIFT;\n")]),
    # Written blind as blkfront-disk-read-aborts-mixed-view (blkfront's disk
    # read returning its read error, aborting, instead of committing). Since
    # xenbus_transact commits every pass that failed before writing, that
    # patch is no bug any more; the same mistake now lives in the helper.
    ("xenbus-transact-read-failure-aborts", "xenstore-transaction", "xenbus",
     "xenbus_transact aborts a pass that failed even when it only read, instead of committing it: a "
     "transaction snapshots each node when it first reads it, so a peer's directory removed and written "
     "again between two reads (a backend restarting, the toolstack recreating it) gives a mixed view whose "
     "failed read only the commit's EAGAIN would have exposed and reread; aborted, the failed read is "
     "believed: blkfront fails for good (\"Connected without a valid disk description\"), a backend refuses "
     "a frontend's rings and writes an error, netfront's connect fails",
     "a transaction's read meeting a key removed and put back (xenstore.tx.stale, legal: its fault sweep "
     "must pass), or a driver domain restarting just as its peer reads: the device fails or is refused "
     "instead of reconnecting",
     [(XB,
       "		bool commit = fn_rc == 0 || !xenbus_tx_now.wrote;\n",
       "		bool commit = fn_rc == 0;   /* a failed pass aborts: nothing of it is published */\n")]),
    ("blkfront-reconnect-timeout-once", "reconnect", "blkfront",
     "the reconnect timer is no longer armed again when it expires with the backend closed but not gone: the "
     "I/O pending then fails with -ETIMEDOUT, but every I/O submitted afterwards, while the backend stays "
     "away, waits without bound (its callback never runs) until a backend comes back, since only a "
     "disconnect arms the timer and none comes while we are disconnected",
     "a blk backend that closes (or refuses and stays Closed) for longer than twice reconnect_timeout_ms "
     "while the workload keeps submitting I/O: the I/O submitted after the first expiry never completes "
     "(bounded-wait / callbacks-run checks)",
     [(BF,
       "static void blkfront_reconnect_timeout(evutil_socket_t fd, short what, void *arg)\n{\n"
       "\tstruct blkfront *bf = arg;\n"
       "\tstruct timeval tv = {.tv_sec = bf->bf_cfg.reconnect_timeout_ms / 1000,\n"
       "\t\t\t     .tv_usec = (bf->bf_cfg.reconnect_timeout_ms % 1000) * 1000};\n\n",
       "static void blkfront_reconnect_timeout(evutil_socket_t fd, short what, void *arg)\n{\n"
       "\tstruct blkfront *bf = arg;\n\n"),
      (BF,
       "\tblkfront_fail_all(bf, -ETIMEDOUT);\n\tevtimer_add(bf->bf_reconnect_timer, &tv);\n}\n",
       "\t/* What waited has failed; the next disconnect arms the timer again. */\n"
       "\tblkfront_fail_all(bf, -ETIMEDOUT);\n}\n")]),
    ("blkfront-away-drops-features", "reconnect", "blkfront",
     "leaving Connected clears flush, barrier, discard and readonly in the disk description (\"the next "
     "backend says again\"), not only connected: while the backend is away (closed, restarting, gone) a flush "
     "or discard submitted is refused -EOPNOTSUPP at once instead of waiting for the reconnect (a guest told "
     "its disk has no cache flush may stop flushing), and a write to a read-only vbd is accepted instead of "
     "-EROFS, queued, and sent to the next connection, which answers it BLKIF_RSP_ERROR (-EIO); "
     "blkfront_info reports the features off meanwhile",
     "a blk backend restart or close/reconnect with flushes, discards or (on a read-only vbd) writes submitted "
     "during the outage: -EOPNOTSUPP for a flush the backend offers, a write to a read-only vbd reaching the "
     "backend and failing -EIO instead of -EROFS",
     [(BF,
       "\tblkfront_rings_teardown(bf);\n\tbf->bf_info.connected = false;\n\tblkfront_reconnect_arm(bf);\n",
       "\tblkfront_rings_teardown(bf);\n"
       "\t/* The disk's description was this backend's: the next connection\n"
       "\t * reads it again (a restarted backend may offer less). */\n"
       "\tbf->bf_info.connected = false;\n"
       "\tbf->bf_info.flush = bf->bf_info.barrier = bf->bf_info.discard = bf->bf_info.readonly = false;\n"
       "\tblkfront_reconnect_arm(bf);\n")]),
    # ---------------- net ----------------
    ("netfront-tx-no-final-check", "lost-wakeup", "netfront",
     "netfront's tx reap stops without re-arming rsp_event (RING_HAS_UNCONSUMED_RESPONSES instead of "
     "RING_FINAL_CHECK_FOR_RESPONSES, \"tx pages are reaped again at the next send that runs short\"): "
     "rsp_event stays at its initial 1, the backend never notifies tx responses after the first, and a "
     "sender blocked on a full pool or ring (-EAGAIN) waits for a TX_READY that only a tx event brings; with "
     "split event channels nothing else ever reaps (with one channel only rx traffic does)",
     "net with split event channels and a small tx pool (or any tx-only stream that fills the pool): the "
     "sender stalls for good; without split channels, stalls until rx traffic arrives",
     [(NF_IO, "\t\tRING_FINAL_CHECK_FOR_RESPONSES(&q->q_tx, more);\n",
       "\t\t/* No event needed: a send that runs short of pages reaps first. */\n"
       "\t\tmore = RING_HAS_UNCONSUMED_RESPONSES(&q->q_tx);\n")]),
    ("netfront-waiting-ignores-closing", "xenbus", "netfront",
     "a frontend still waiting for the backend (NF_WAIT_BACKEND, nothing published) no longer answers the "
     "backend's Closing (\"nothing of ours to close\"): a backend the toolstack closed before the frontend "
     "published (online=0, Closing) waits for a Closed that never comes, until its close timeout, and the "
     "toolstack's unplug or destroy waits as long (or times out and removes the device under it)",
     "a toolstack close/unplug of a vif during the handshake (before the frontend answered InitWait), or a "
     "netfront opened on a device being closed: the backend reaches Closed only by its close timeout; slow "
     "destroy, the backend's timeout log line",
     [(NF,
       "\t\tif (be == XenbusStateInitWait)\n"
       "\t\t\tnetfront_publish(nf);\n"
       "\t\telse if (be == XenbusStateClosing)\n"
       "\t\t\t/* Closed before we connected (a toolstack's close: online=0,\n"
       "\t\t\t * Closing): it waits for us to close, as for a connected\n"
       "\t\t\t * frontend. Its Closed brings us back to Initialising. */\n"
       "\t\t\tnetfront_close_connection(nf);\n"
       "\t\tbreak;\n",
       "\t\t/* Closing before we published: nothing of ours to close, and our\n"
       "\t\t * node says Initialising already; its next InitWait brings us on. */\n"
       "\t\tif (be == XenbusStateInitWait)\n"
       "\t\t\tnetfront_publish(nf);\n"
       "\t\tbreak;\n")]),
    ("netfront-queues-by-backend-offer", "response-trust", "netfront",
     "the number of queues is the backend's multi-queue-max-queues as it stands (\"as many as it serves\"), "
     "no longer bounded by the frontend's queues_max: a frontend configured for one queue connects with every "
     "queue a backend offers (each with its rings, channels and 2 x 256 shared pages), and a hostile backend "
     "offering up to 2^32-1 queues makes it attempt an allocation of that many queues and fail the device",
     "a net backend offering more queues than the frontend's queues_max (multi-queue backend, single-queue "
     "guest), or a hostile backend with a huge multi-queue-max-queues: queues, grant pages and event channels "
     "beyond the frontend's configuration, or a frontend failing to connect",
     [(NF_RING,
       "\tnf->nf_nq = f.queues < nf->nf_cfg.queues_max ? (f.queues ? (unsigned)f.queues : 1) : nf->nf_cfg.queues_max;\n",
       "\t/* As many queues as the backend serves: it offered them. */\n"
       "\tnf->nf_nq = f.queues ? (unsigned)f.queues : 1;\n")]),
    ("netback-rx-copy-error-first-slot-only", "grant-error", "netback",
     "a failed rx grant copy is answered NETIF_RSP_ERROR only for a frame's first slot (\"the first slot's "
     "status speaks for the frame\"): when the copy into a later buffer of a multi-slot frame fails (a bad or "
     "revoked gref the guest posted, a copy fault), that slot is answered with its length as if filled, and "
     "the guest takes the frame as good with the old contents of that buffer (an earlier frame's bytes) in "
     "its middle; rx_grant_errors no longer counts it",
     "rx grant copy failures on frames of several slots (sg or GSO towards the guest) from bad rx grefs or "
     "grant-copy fault injection: frames delivered with wrong bytes instead of dropped, the guest's rx "
     "error count not moving",
     [(NB_RX, "\t\tif (seg->status != GNTST_okay) {\n",
       "\t\t/* The first slot's status speaks for the frame: the frontend\n"
       "\t\t * drops the whole frame on it. */\n"
       "\t\tif (s->rs_first && seg->status != GNTST_okay) {\n")]),
    ("netback-tx-extra-answered-with-status", "extra-info", "netback",
     "every slot of a tx packet is answered with the packet's status, extra info slots included, instead of "
     "NETIF_RSP_NULL for those (netif.h): the GSO extra's response says OKAY (or ERROR) with an id taken from "
     "the extra info's bytes (0), so the frontend sees a data response for a page that is not in flight (a "
     "violation: the vif fails) or releases page 0 while it is still in flight, and its count of outstanding "
     "extras never comes down",
     "a net frontend sending GSO (or any extra info) on tx: the frontend fails on the responses, or tx pages "
     "released early and frames corrupted",
     [(NB_TX, "\t\trsp->status = s->ts_extra ? NETIF_RSP_NULL : s->ts_status;\n",
       "\t\trsp->status = s->ts_status;   /* the packet's, for each of its slots */\n")]),
    ("netback-tx-slots-max-off-by-one", "request-trust", "netback",
     "a tx packet is dropped when its data slots reach tx_slots_max (>= instead of >): with the default of "
     "XEN_NETIF_NR_SLOTS_MIN (18), a packet of exactly 18 slots, which netif.h requires every backend to "
     "accept, is answered NETIF_RSP_ERROR and lost",
     "a net frontend sending frames of exactly tx_slots_max slots (18 fragments, or a large frame in 18 "
     "pages): those frames dropped with error responses, tx_dropped rising",
     [(NB_PARSE, "\tif (p->ndata > s->lim->slots_max)\n", "\tif (p->ndata >= s->lim->slots_max)\n")]),
    # ---------------- xenbus ----------------
    ("xenbus-discover-root-not-listed", "lost-wakeup", "xenbus",
     "backend discovery no longer lists what exists when the event names the watched root itself (\"the "
     "root's event is our registration, made before any device\"): a backend started or restarted after the "
     "toolstack created its devices never finds them (they stay Initialising, the frontends wait) until some "
     "key under one of them changes",
     "a blk or net backend started after the devices exist, or restarted (driver domain restart, a new "
     "backend instance) without the toolstack rewriting the devices: no InitWait, the handshake never starts",
     [(XB_W,
       "\t\tw->xw_dev_fn(w->xw_dev_arg, (uint32_t)fe, XENBUS_DEVID_ANY);\n"
       "\t\txenbus_discover_list(w, w->xw_xb->xb_xs, (uint32_t)fe);\n",
       "\t\tw->xw_dev_fn(w->xw_dev_arg, (uint32_t)fe, XENBUS_DEVID_ANY);\n"
       "\t\t/* The root's event is our registration, made before any device;\n"
       "\t\t * a frontend's level is listed, its devices may be there already. */\n"
       "\t\tif (fe != XENBUS_DEVID_ANY)\n"
       "\t\t\txenbus_discover_list(w, w->xw_xb->xb_xs, (uint32_t)fe);\n")]),
    ("xenbus-read-uint-or-malformed-default", "request-trust", "xenbus",
     "xenbus_read_uint_or takes a malformed or out-of-range value (-EINVAL) as absent and returns the "
     "default, as Linux's xenbus_read_unsigned does, instead of an error: every bounded optional key a peer "
     "writes is silently replaced by its default: a backend's sector-size of 8192 becomes 512, a malformed "
     "info loses VDISK_READONLY, a frontend's feature flag of 2 or \"yes\" is 0 instead of refused, a "
     "ring-page-order or queue count beyond the offer falls back to 1 page or 1 queue (the rings then looked "
     "for where they are not)",
     "hostile or malformed peer keys (out-of-range sector-size, info, feature flags, ring-page-order, "
     "multi-queue-num-queues): connections that should be refused or fail go ahead with defaults, or are "
     "refused for another reason",
     [(XB, "\tint rc = xenbus_read_uint(xs, t, dir, key, max, out);\n\n\tif (rc == -ENOENT) {\n",
       "\tint rc = xenbus_read_uint(xs, t, dir, key, max, out);\n\n"
       "\t/* Absent or not a value we take: the default. */\n"
       "\tif (rc == -ENOENT || rc == -EINVAL) {\n")]),
    ("xenbus-evtchn-empty-run-kept", "event-storm", "xenbus",
     "the count of events that found no work is not reset when an event finds work (only the delay is): it "
     "counts every empty event of the channel's life, not a run, so after XENBUS_EVTCHN_SPURIOUS_FREE (16) of "
     "them, which ordinary coalesced notifications produce over any long run, every later unmask, of events "
     "with work too, is delayed by at least 100 us: a well-behaved peer's ring is throttled for good",
     "long blk or net streams on one connection (thousands of events, some finding the work already done): "
     "events_delayed rising for a well-behaved peer, throughput falling over the run",
     [(XB_EV, "\tif (work) {\n\t\tch->ec_empty_run = 0;\n\t\tch->ec_delay_us = 0;\n\t} else {\n",
       "\tif (work) {\n\t\tch->ec_delay_us = 0;   /* the run counts for the channel's life */\n\t} else {\n")]),
    ("xenbus-close-keeps-online", "xenbus", "xenbus",
     "the toolstack's close writes state Closing but no longer online=0 (\"online is the hotplug side's; the "
     "backend follows its state node\"): backends act on online and their frontend's state, not on their own "
     "node, so a Connected backend stays Connected under a Closing node until its frontend closes (a dead or "
     "hostile frontend: the destroy times out and removes the device under it), and a backend in InitWait or "
     "not yet started writes InitWait or Connected over the toolstack's Closing (Closing -> InitWait, "
     "Closing -> Connected)",
     "toolstack close/unplug/destroy of blk or net devices, especially racing the handshake or with a frontend "
     "that does not answer: XenbusState transitions out of Closing, destroys that time out",
     [(XB_TS,
       "\t/* As libxl does: online=0 always, Closing only if the backend is not\n"
       "\t * Closed already (its frontend may have closed first; overwriting Closed\n"
       "\t * would leave nobody to write it again). */\n"
       "\tuint64_t state = XenbusStateUnknown;\n"
       "\trc = xenbus_write_fmt(xs, t, be, \"online\", \"0\");\n",
       "\t/* Closing only if the backend is not Closed already (its frontend may\n"
       "\t * have closed first; overwriting Closed would leave nobody to write it\n"
       "\t * again). online is the hotplug side's: the backend follows its state. */\n"
       "\tuint64_t state = XenbusStateUnknown;\n")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
