#!/usr/bin/env python3
"""Write tests/plants/NAME.patch, one planted driver bug each, from the table
below: a header (class, module, the bug, what should catch it) and a unified
diff against drivers/ made by exact text replacement in a scratch copy.

    python3 tests/plants/make.py [--tree DIR] [NAME...]

An anchor that is no longer found (the drivers moved on) is reported and that
plant's patch is left as it was. Run from the top of the tree.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))

# name, class, module, bug, caught-by, [(file, old, new), ...]
PLANTS = [
    # ---------------- backend trusting a field of a request ----------------
    ("blkback-nr-segments-unbounded", "request-trust", "blkback",
     "nr_segments of a direct request is no longer bounded by 11: the segment "
     "loops run past r->direct[] and q_copy[]",
     "a hostile blk frontend sending nr_segments > 11 (memory fault / wrong data)",
     [("drivers/blk/blkback_req.c",
       "\tif (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)\n"
       "\t\treturn blkback_refuse(why, \"more than 11 segments\", BLKIF_RSP_ERROR);\n", "")]),
    ("blkback-nr-segments-edge-refused", "request-trust", "blkback",
     "a direct request's nr_segments is bounded with >= instead of >: a request of exactly 11 segments, "
     "the most blkif.h allows, is refused with an error",
     "a frontend sending well-formed requests of 11 segments (the hostile blk frontend's good requests "
     "take the edge one time in eight): an error answered to a legal request",
     [("drivers/blk/blkback_req.c",
       "\tif (req->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)\n",
       "\tif (req->nr_segments >= BLKIF_MAX_SEGMENTS_PER_REQUEST)\n")]),
    ("blkback-last-sect-unchecked", "request-trust", "blkback",
     "a segment's last_sect is only compared with first_sect, not with the page "
     "(0..7): data is copied past the end of the granted page",
     "a hostile blk frontend with last_sect >= 8 (memory fault through a persistent map)",
     [("drivers/blk/blkback_req.c",
       "if (s.first_sect > s.last_sect || s.last_sect >= BLKBACK_SECTORS_PER_PAGE)",
       "if (s.first_sect > s.last_sect)")]),
    ("blkback-indirect-count-unbounded", "request-trust", "blkback",
     "an indirect request's nr_segments is not bounded by what was offered: "
     "nr_indirect_pages runs past indirect_grefs[] and the segment buffers",
     "a hostile blk frontend sending BLKIF_OP_INDIRECT with nr_segments > feature-max-indirect-segments",
     [("drivers/blk/blkback_req.c",
       "if (ind.nr_segments == 0 || ind.nr_segments > lim->indirect_segs_max)",
       "if (ind.nr_segments == 0)")]),
    ("blkback-range-end-unchecked", "request-trust", "blkback",
     "a discard's range is checked for its start only: a discard may run past "
     "the end of the disk",
     "a hostile blk frontend discarding past the end (the store refuses today: a "
     "response other than BLKIF_RSP_ERROR would tell)",
     [("drivers/blk/blkback_req.c",
       "\tif (!blkback_range_ok(lim, d.sector_number, d.nr_sectors))\n",
       "\tif (d.nr_sectors == 0 || d.sector_number > lim->sectors)\n")]),
    ("blkback-ring-order-unbounded", "request-trust", "blkback",
     "the frontend's ring-page-order is bounded by blkif.h's largest (8), not "
     "by what we offered (4): refs[] on the stack overflows for order > 4",
     "a hostile blk frontend writing ring-page-order=8 (stack overflow / crash)",
     [("drivers/blk/blkback_ring.c",
       "\"ring-page-order\",\n\t\t\t\t\t c->ring_page_order_max, 0, &o);",
       "\"ring-page-order\",\n\t\t\t\t\t 8, 0, &o);")]),
    ("netback-tx-chain-unbounded", "request-trust", "netback",
     "the fatal bound on a tx packet's data slots is gone: a long chain writes "
     "past q_tx_reqs[]",
     "a hostile net frontend sending a chain of more than 18+ slots (corruption / crash)",
     [("drivers/net/netback_txparse.c",
       "\t\tif (p->ndata + 1 > s->lim->slots_fatal)\n"
       "\t\t\treturn txscan_fatal(s, \"packet takes more than %u data slots\", s->lim->slots_fatal);\n", "")]),
    ("netback-tx-size-unchecked", "request-trust", "netback",
     "a further tx slot's size is not checked against the bytes left of the "
     "packet: rest underflows and the first slot's length becomes huge",
     "a hostile net frontend whose slot sizes add up to more than the first slot's size",
     [("drivers/net/netback_txparse.c",
       "\t\tif (r->size > *rest)\n"
       "\t\t\ttxscan_drop(s, \"slot %u: size %u is more than the %\" PRIu32 \" bytes left of the packet\", *i, r->size,\n"
       "\t\t\t\t    *rest);\n"
       "\t\telse\n"
       "\t\t\t*rest -= r->size;\n",
       "\t\t*rest -= r->size;\n")]),
    # ---------------- frontend trusting a response ----------------
    ("blkfront-rsp-slot-unchecked", "response-trust", "blkfront",
     "a response id's slot is not checked against the ring size: q_shadow[] is "
     "indexed out of bounds",
     "a hostile blk backend answering with an id whose low 32 bits are >= RING_SIZE",
     [("drivers/blk/blkfront_io.c",
       "\tif (slot >= RING_SIZE(&q->q_ring)) {\n"
       "\t\t*why = \"id names no slot of the ring\";\n"
       "\t\treturn -EPROTO;\n"
       "\t}\n", "")]),
    ("blkfront-rsp-generation-ignored", "response-trust", "blkfront",
     "only the slot of a response id is compared, not its generation: a stale "
     "or replayed response completes whatever request now uses the slot",
     "a hostile blk backend replaying an old response (wrong data / double completion)",
     [("drivers/blk/blkfront_io.c",
       "if (!sh->sh_id || sh->sh_id != rsp->id) {",
       "if (!sh->sh_id || (uint32_t)sh->sh_id != slot) {")]),
    ("blkfront-rsp-prod-trusted", "response-trust", "blkfront",
     "the backend's rsp_prod is not checked against the requests outstanding: "
     "stale slots are consumed as responses",
     "a hostile blk backend publishing rsp_prod far ahead",
     [("drivers/blk/blkfront_io.c",
       "\t\tif (!blkfront_rsp_prod_ok(ring, rp)) {",
       "\t\tif (0) {")]),
    ("netfront-tx-id-unchecked", "response-trust", "netfront",
     "a tx response id is not checked against the number of tx pages: q_txb[] "
     "is written out of bounds",
     "a hostile net backend answering a tx id >= tx-bufs",
     [("drivers/net/netfront_rsp.c",
       "\tif (rsp->id >= v->nbufs)\n"
       "\t\treturn netfront_why(why, why_len, \"tx response id %u is out of range (%u pages)\", rsp->id, v->nbufs);\n", "")]),
    ("netfront-rx-offset-unchecked", "response-trust", "netfront",
     "an rx response's offset + length is not checked against the page: the copy "
     "reads past the buffer",
     "a hostile net backend answering rx with offset + status > 4096",
     [("drivers/net/netfront_rsp.c",
       "\tif ((uint32_t)r->offset + (uint32_t)r->status > NETFRONT_PAGE_SIZE)\n",
       "\tif ((uint32_t)r->status > NETFRONT_PAGE_SIZE)\n")]),
    ("netfront-rx-frame-unbounded", "response-trust", "netfront",
     "an rx frame's total length is not bounded: 18 full slots overflow the "
     "64 KiB reassembly buffer",
     "a hostile net backend sending one frame of 18 full pages",
     [("drivers/net/netfront_rsp.c",
       "\tif (s->pkt->len > NETFRONT_RX_FRAME_MAX)\n"
       "\t\treturn netfront_why(s->why, s->why_len, \"rx frame at slot %u is longer than %u bytes\", s->cons,\n"
       "\t\t\t\t    NETFRONT_RX_FRAME_MAX);\n", "")]),
    # ---------------- double fetches of shared ring fields ----------------
    ("blkback-segments-in-ring", "double-fetch", "blkback",
     "direct segments are used in place in the shared ring instead of the copy: "
     "checked once, read again after grant maps (scheduling points)",
     "a frontend (or the shared-memory attack) rewriting a segment between the "
     "check and the I/O: sectors out of the page",
     [("drivers/blk/blkback_io.c",
       "\t\tconst struct blkif_request_segment *segs = r.indirect ? q->q_segs : r.direct;\n",
       "\t\tconst struct blkif_request_segment *segs =\n"
       "\t\t\tr.indirect ? q->q_segs : RING_GET_REQUEST(&q->q_ring, q->q_ring.req_cons - 1)->seg;\n")]),
    ("blkfront-rsp-id-refetched", "double-fetch", "blkfront",
     "after the copied response passed its check, the id used to complete is "
     "read again from the shared ring",
     "a backend (or the shared-memory attack) rewriting the id after the check: "
     "wrong request completed / out-of-bounds slot",
     [("drivers/blk/blkfront_io.c",
       "\t\t\tblkfront_complete(q, &q->q_shadow[(uint32_t)rsp.id], rsp.status);\n",
       "\t\t\tblkfront_complete(q, &q->q_shadow[(uint32_t)RING_GET_RESPONSE(ring, ring->rsp_cons - 1)->id],\n"
       "\t\t\t\t\t  rsp.status);\n")]),
    ("netfront-tx-id-refetched", "double-fetch", "netfront",
     "the tx response id is checked on the copy, then the page is released by "
     "the id read again from the ring",
     "a backend (or the shared-memory attack) rewriting the id after the check",
     [("drivers/net/netfront_io.c",
       "\t\t\tnetfront_txb_put(q, rsp.id);\n",
       "\t\t\tnetfront_txb_put(q, RING_GET_RESPONSE(&q->q_tx, q->q_tx.rsp_cons)->id);\n")]),
    ("netback-tx-size-refetched", "double-fetch", "netback",
     "the data slots' sizes are read again from the shared ring when the grant "
     "copies are set up, after netback_tx_parse validated the copies",
     "a frontend (or the shared-memory attack) growing a slot's size after the "
     "parse: the copy overruns the packet buffer",
     [("drivers/net/netback_tx.c",
       "\t\tuint32_t size = j == 0 ? m->first_len : r->size;\n",
       "\t\tuint32_t size = j == 0 ? m->first_len\n"
       "\t\t\t\t       : RING_GET_REQUEST(&q->q_tx, q->q_tx.req_cons - m->nslots + j)->size;\n")]),
    # ---------------- lost wakeups ----------------
    ("blkback-no-final-check", "lost-wakeup", "blkback",
     "after a batch the backend looks for more requests without re-arming "
     "req_event (RING_HAS_UNCONSUMED_REQUESTS instead of RING_FINAL_CHECK_FOR_REQUESTS)",
     "any blk scenario with queue depth > 1: a hang (liveness oracle)",
     [("drivers/blk/blkback_io.c",
       "\t\tRING_FINAL_CHECK_FOR_REQUESTS(ring, more);\n",
       "\t\tmore = RING_HAS_UNCONSUMED_REQUESTS(ring);\n")]),
    ("blkfront-no-final-check", "lost-wakeup", "blkfront",
     "the frontend stops consuming responses without re-arming rsp_event",
     "any blk scenario: a hang",
     [("drivers/blk/blkfront_io.c",
       "\t\tRING_FINAL_CHECK_FOR_RESPONSES(ring, more);\n\t} while (more);\n\treturn work;",
       "\t\tmore = RING_HAS_UNCONSUMED_RESPONSES(ring);\n\t} while (more);\n\treturn work;")]),
    ("netback-tx-no-final-check", "lost-wakeup", "netback",
     "netback's tx loop sleeps without re-arming req_event",
     "net scenarios: frames wait until the next unrelated event; timeouts / hang",
     [("drivers/net/netback_tx.c",
       "\t\tRING_FINAL_CHECK_FOR_REQUESTS(&q->q_tx, more);\n",
       "\t\tmore = RING_HAS_UNCONSUMED_REQUESTS(&q->q_tx);\n")]),
    ("netback-rx-no-recheck", "lost-wakeup", "netback",
     "waiting for rx buffers, netback sets req_event but does not look at "
     "req_prod again after the barrier: buffers posted in between are missed",
     "net scenarios with few rx buffers (rx-bufs=18) under pct: a stall, dropped frames",
     [("drivers/net/netback_rx.c",
       "\tif (q->q_rx.sring->req_prod - q->q_rx.req_cons >= need) {\n"
       "\t\tevent_active(q->q_rx_work, EV_TIMEOUT, 0);\n"
       "\t\treturn;\n"
       "\t}\n", "")]),
    ("netfront-tx-blocked-forever", "lost-wakeup", "netfront",
     "a sender blocked on a full tx ring is never told it may go on: the "
     "blocked flag is cleared without the TX_READY event",
     "net scenarios whose tx pool fills (tx-bufs small): the stream stalls",
     [("drivers/net/netfront_io.c",
       "\t\tq->q_tx_blocked = false;\n\t\tnetfront_event(q->q_nf, NETFRONT_EV_TX_READY);\n",
       "\t\tq->q_tx_blocked = false;\n")]),
    ("xenbus-evtchn-spurious-masked", "lost-wakeup", "xenbus",
     "an event that found no work is never unmasked: the port stays masked and "
     "the next real notification is lost",
     "spurious/duplicate notification faults on blk or net (evtchn.notify.spurious|dup): a hang",
     [("drivers/xenbus/xenbus_evtchn.c",
       "\tif (ch->ec_empty_run <= XENBUS_EVTCHN_SPURIOUS_FREE) {\n\t\txenbus_evtchn_unmask(ch);\n",
       "\tif (ch->ec_empty_run <= XENBUS_EVTCHN_SPURIOUS_FREE) {\n\t\tif (work)\n\t\t\txenbus_evtchn_unmask(ch);\n")]),
    # ---------------- grant leaks on error and disconnect paths ----------------
    ("blkfront-error-rsp-leaks-grant", "grant-leak", "blkfront",
     "a request answered with an error gives back its shadow slot but never "
     "ends the grants of its pages (share mode)",
     "blk with persistent=0 and an error (gnttab.copy or blk.disk.io fault): "
     "resource balance at teardown",
     [("drivers/blk/blkfront_io.c",
       "\tif (sh->sh_share) {\n\t\t/* The grant ends when the backend unmaps, not before (XSA-396). */\n",
       "\tif (sh->sh_share && !sh->sh_io->io_status) {\n\t\t/* The grant ends when the backend unmaps, not before (XSA-396). */\n"),
      ("drivers/blk/blkfront_io.c",
       "\tbf->bf_stats.io_errors += st != 0;\n\tblkfront_part_release(q, sh);\n",
       "\tbf->bf_stats.io_errors += st != 0;\n\tif (st && !io->io_status)\n\t\tio->io_status = st;\n\tblkfront_part_release(q, sh);\n")]),
    ("blkfront-requeue-leaks-grant", "grant-leak", "blkfront",
     "parts in flight at a disconnect are requeued but their grants are not "
     "given back (the shadow table is freed with the ring)",
     "blk backend restart (scenarios/blk/backend-restart.scn): resource balance",
     [("drivers/blk/blkfront_ring.c",
       "\t\tstruct blkfront_io *io = sh->sh_io;\n\t\tblkfront_part_release(q, sh);\n",
       "\t\tstruct blkfront_io *io = sh->sh_io;\n\t\tq->q_inflight--;\n")]),
    ("netfront-fail-leaks-rx-pages", "grant-leak", "netfront",
     "when netfront fails (a violation or a refused connection) its rx buffers "
     "are never unshared",
     "a net backend that netfront must give up on (hostile backend, refused "
     "connection, gnttab.map fault in netback): resource balance",
     [("drivers/net/netfront_ring.c",
       "\tif (q->q_rx_pages) {\n\t\txengntshr_unshare(nf->nf_gs, q->q_rx_pages, nf->nf_cfg.rx_bufs);\n",
       "\tif (q->q_rx_pages && nf->nf_phase != NF_DEAD) {\n\t\txengntshr_unshare(nf->nf_gs, q->q_rx_pages, nf->nf_cfg.rx_bufs);\n")]),
    ("netback-connect-error-keeps-handle", "grant-leak", "netback",
     "disconnecting a vif that never got Connected is skipped: a connection "
     "that failed half way (rings mapped, grant handle open) is never undone",
     "net with a fault while netback connects (gnttab.map on a ring, "
     "scenarios/coverage/net-refused.scn): xengnttab handles and maps at the end",
     [("drivers/net/netback.c",
       "\tvif->vif_info.connected = false;\n\tif (!vif->vif_queues && !vif->vif_gt)\n\t\treturn;\n",
       "\tif (!vif->vif_info.connected)\n\t\treturn;\n\tvif->vif_info.connected = false;\n")]),
    ("netback-txmap-failure-ignored", "grant-leak", "netback",
     "a refused tx grant map of a single packet is not marked failed: the "
     "packet goes out with zeros where the fragment was",
     "net with gnttab.map faults (scenarios/net/tx-map-faults.scn): corrupt frames",
     [("drivers/net/netback_txmap.c",
       "\tif (owners == 1)\n\t\tq->q_tx_batch[owner].tb_map_failed = true;   /* its own map was the one refused */\n\telse\n\t\tnetback_txmap_narrow(q, npkts);\n",
       "\tif (owners > 1)\n\t\tnetback_txmap_narrow(q, npkts);\n\t(void)owner;\n")]),
    # ---------------- persistent-grant limits ----------------
    ("blkback-pgrant-limit-ignored", "persistent-limit", "blkback",
     "blkback maps every new grant persistently, never falling back to copy "
     "at persistent_grants_max: the table fills (and the list of its map "
     "calls runs past its end) and the probe loops for ever",
     "blk with more distinct grants than the backend's limit (a frontend pool "
     "larger than 2048 pages, or a smaller backend limit): a hang",
     [("drivers/blk/blkback_io.c",
       "\tunsigned room = vbd->vbd_pgrants_max - vbd->vbd_pgrants_used, n = 0;\n",
       "\tunsigned n = 0;\n"),
      ("drivers/blk/blkback_io.c", "\t\tif (!q->q_pages[i] && n < room)\n", "\t\tif (!q->q_pages[i])\n")]),
    ("blkback-pgrant-limit-off-by-one", "persistent-limit", "blkback",
     "the room left under the persistent grant limit is counted one too "
     "many: one grant more than the limit stays mapped",
     "an oracle on blkback's persistent map count against its limit (needs a "
     "small limit in the workload)",
     [("drivers/blk/blkback_io.c",
       "\tunsigned room = vbd->vbd_pgrants_max - vbd->vbd_pgrants_used, n = 0;\n",
       "\tunsigned room = vbd->vbd_pgrants_max + 1 - vbd->vbd_pgrants_used, n = 0;\n")]),
    ("blkfront-pool-over-budget", "persistent-limit", "blkfront",
     "the persistent pool grows by a whole chunk even past grant_pages_max",
     "blk with a small grant budget (grant_pages_max) and large I/Os: more "
     "grants than the budget (an oracle on blkfront's grant_pages)",
     [("drivers/blk/blkfront_io.c",
       "\tif (n > room)\n\t\tn = room;\n\tif (n < need)\n\t\treturn -ENOSPC;\n",
       "\tif (need > room)\n\t\treturn -ENOSPC;\n")]),
    # ---------------- read-only vbds ----------------
    ("blkback-readonly-write-served", "read-only", "blkback",
     "blkback no longer refuses writes to a read-only vbd",
     "a read-only vbd (mode=r) and a frontend that writes anyway (hostile), "
     "disk content changed",
     [("drivers/blk/blkback_req.c",
       "\tif (st == BLKIF_RSP_OKAY && lim->readonly && out->op != BLKIF_OP_READ && out->nr_segs)\n"
       "\t\tst = blkback_refuse(why, \"write to a read-only vbd\", BLKIF_RSP_ERROR);\n", "")]),
    ("blkback-readonly-not-published", "read-only", "blkback",
     "the info key never carries VDISK_READONLY: the frontend of a read-only "
     "vbd believes it may write",
     "a read-only vbd workload: writes fail with I/O errors instead of EROFS",
     [("drivers/blk/blkback.c",
       "\tunsigned info = vbd->vbd_limits.readonly ? VDISK_READONLY : 0;\n",
       "\tunsigned info = 0;\n")]),
    ("blkback-readonly-mode-ignored", "read-only", "blkback",
     "the vbd's mode key is read but only 'r' exactly is taken as read-only "
     "('ro' is writable)",
     "a read-only vbd with mode=ro",
     [("drivers/blk/blkback.c",
       "\tvbd->vbd_readonly = mode[0] != 'w';\n",
       "\tvbd->vbd_readonly = strcmp(mode, \"r\") == 0;\n")]),
    # ---------------- reconnect losing in-flight I/O ----------------
    ("blkfront-reconnect-drops-inflight", "reconnect", "blkfront",
     "at a disconnect the parts in flight are released and their I/Os "
     "collected, but the list is never put back ahead of the pending ones: "
     "they never complete",
     "blk backend restart with I/O in flight: a hang",
     [("drivers/blk/blkfront_ring.c",
       "\t/* Ahead of what was never issued: they were accepted first. */\n\tblkfront_ioq_prepend(&bf->bf_pending, &requeue);\n",
       "")]),
    ("blkfront-reconnect-no-rewind", "reconnect", "blkfront",
     "requeued I/Os keep io_issued: on the new ring they are taken as wholly "
     "issued (a read/write part of 0 bytes)",
     "blk backend restart with I/O in flight: errors or a hang",
     [("drivers/blk/blkfront_ring.c",
       "\t\tio->io_parts = 0;\n\t\tio->io_issued = 0;\n",
       "\t\tio->io_parts = 0;\n")]),
    ("blkfront-reconnect-fails-inflight", "reconnect", "blkfront",
     "at a disconnect the I/Os in flight are completed with -EIO instead of "
     "being reissued on the next connection",
     "blk backend restart with I/O in flight: I/O errors",
     [("drivers/blk/blkfront.c",
       "\tblkfront_rings_teardown(bf);\n\tbf->bf_info.connected = false;\n",
       "\tblkfront_rings_teardown(bf);\n\tblkfront_fail_all(bf, -EIO);\n\tbf->bf_info.connected = false;\n")]),
    # ---------------- XenbusState and transaction mistakes ----------------
    ("blkfront-publishes-connected", "xenbus", "blkfront",
     "blkfront writes Connected instead of Initialised with its rings (as "
     "netfront does): the backend waits for Initialised for ever",
     "every blk scenario: a hang",
     [("drivers/blk/blkfront.c",
       "rc = xenbus_write_fmt(xs, t, bf->bf_dir, \"state\", \"%d\", XenbusStateInitialised);",
       "rc = xenbus_write_fmt(xs, t, bf->bf_dir, \"state\", \"%d\", XenbusStateConnected);")]),
    ("xenbus-backend-restart-skips-closed", "xenbus", "xenbus",
     "a frontend that starts over while the backend is Connected makes the "
     "backend disconnect and publish again straight away: Connected -> "
     "InitWait, without the Closed a new InitWait must follow",
     "blk or net with a frontend restart or a coalesced Closed -> Initialising "
     "(scenarios/coverage/*-frontend-reinit.scn, nemesis restart of a guest): "
     "the XenbusState oracle",
     [("drivers/xenbus/xenbus_backend.c",
       "\txenbus_backend_close(bd, XenbusStateClosed);\n\txenbus_backend_publish(bd);\n}",
       "\txenbus_backend_disconnect(bd);\n\txenbus_backend_publish(bd);\n}")]),
    ("blkback-connected-before-keys", "xenbus", "blkback",
     "blkback writes Connected first and the disk's keys (sectors, info, "
     "sector-size) after it, outside a transaction: a frontend that looks in "
     "between finds no disk description",
     "blk scenarios under an interleaving where blkfront reads between the "
     "writes (random or pct policy, a few seeds): blkfront fails",
     [("drivers/blk/blkback.c",
       "\tunsigned info = vbd->vbd_limits.readonly ? VDISK_READONLY : 0;\n\tint rc = 0;\n\n",
       "\tunsigned info = vbd->vbd_limits.readonly ? VDISK_READONLY : 0;\n"
       "\tint rc = xenbus_write_fmt(xs, t, d, \"state\", \"%d\", XenbusStateConnected);\n\n"),
      ("drivers/blk/blkback.c",
       "\tif (rc)\n\t\treturn rc < 0 ? rc : -EIO;\n\treturn xenbus_write_fmt(xs, t, d, \"state\", \"%d\", XenbusStateConnected);\n",
       "\treturn rc < 0 ? rc : rc ? -EIO : 0;\n"),
      ("drivers/blk/blkback.c",
       "\treturn blkback_connected_tx(xs, t, vbd);\n",
       "\t(void)t;   /* written at once: the frontend is waiting for them */\n"
       "\treturn blkback_connected_tx(xs, XBT_NULL, vbd);\n")]),
    ("xenbus-tx-eagain-not-retried", "xenbus", "xenbus",
     "xenbus_transact gives up on the first EAGAIN at commit",
     "blk or net with xenstore.tx.eagain faults: the handshake fails",
     [("drivers/xenbus/xenbus.c",
       "for (unsigned i = 0; i < XENBUS_TX_RETRIES && rc == -EAGAIN; i++) {",
       "for (unsigned i = 0; i < 1 && rc == -EAGAIN; i++) {")]),
    ("xenbus-tx-eagain-as-success", "xenbus", "xenbus",
     "a transaction that failed its commit with EAGAIN is taken as done: the "
     "state it wrote is silently lost",
     "blk or net with xenstore.tx.eagain faults: a hang in the handshake",
     [("drivers/xenbus/xenbus.c",
       "\t\tif (!commit || end_rc == 0)\n",
       "\t\tif (!commit || end_rc == 0 || end_rc == -EAGAIN)\n")]),
    ("xenbus-switch-resurrects", "xenbus", "xenbus",
     "a state switch no longer checks that the device directory still exists: "
     "a driver writing its state after the toolstack removed the device "
     "recreates the node (a leaked xenstore node)",
     "device removal while a driver is still running (unplug, destroy): the "
     "xenstore node balance at the end",
     [("drivers/xenbus/xenbus.c",
       "\tint rc = xenbus_exists(xs, t, sw->dir);   /* the directory must still be there */\n\n\tif (rc < 0)\n\t\treturn rc;\n",
       "\tint rc = 0;\n\n")]),
    ("blkfront-pool-full-fails-io", "persistent-limit", "blkfront",
     "when the grant budget has no room for a part's pages, the I/O fails "
     "with ENOSPC even though requests in flight will give pages back",
     "blk with I/Os larger than the budget allows at the queue depth "
     "(scenarios/coverage/blk-pool-pressure.scn): I/O errors",
     [("drivers/blk/blkfront_io.c",
       "\t\t\treturn blkfront_inflight(bf) ? 0 : rc;\n",
       "\t\t\treturn blkfront_inflight(bf) && rc != -ENOSPC ? 0 : rc;\n")]),
    ("netfront-rx-no-final-check", "lost-wakeup", "netfront",
     "netfront's rx loop stops without re-arming rsp_event",
     "net scenarios: frames for the guest wait for an unrelated event; timeouts",
     [("drivers/net/netfront_io.c",
       "\t\tRING_FINAL_CHECK_FOR_RESPONSES(&q->q_rx, more);\n",
       "\t\tmore = RING_HAS_UNCONSUMED_RESPONSES(&q->q_rx);\n")]),
    # ---------------- second round: the held-out classes, written blind ----------------
    ("blkback-readonly-shared-disk", "read-only", "blkback",
     "the vbd's read-only mode is taken from the store only (a file opened "
     "O_RDONLY): a disk the backend already has (shared, RAM) given with mode=r "
     "is writable and not published read-only",
     "a read-only vbd of a backend disk (scenarios/blk/read-only.scn, the hostile "
     "front on mode=r): writes served, disk changed",
     [("drivers/blk/blkback.c",
       "\tbool ro = vbd->vbd_readonly || info.readonly;\n",
       "\tbool ro = info.readonly;\n")]),
    ("blkback-persistent-not-asked", "persistent-limit", "blkback",
     "grants are kept mapped whenever the backend offers feature-persistent, "
     "whether or not the frontend asked for it: a frontend that ends its "
     "grants after each I/O finds them still mapped",
     "blk with persistent=0 in the frontend (coverage/blk-*-nopersist.scn): "
     "grants never end, leak at teardown or stale data",
     [("drivers/blk/blkback_ring.c",
       "\tvbd->vbd_persistent = p && c->persistent;\n",
       "\t(void)p;\n\tvbd->vbd_persistent = c->persistent;\n")]),
    ("blkfront-reconnect-no-kick", "reconnect", "blkfront",
     "after a reconnect the requeued I/Os are not issued until the next new "
     "I/O is submitted: with everything already in flight, they wait for ever",
     "blk backend restart with every I/O of the workload in flight: a hang",
     [("drivers/blk/blkfront.c",
       "\tblkfront_event(bf, BLKFRONT_EV_CONNECTED);\n\tblkfront_kick(bf);\n}",
       "\tblkfront_event(bf, BLKFRONT_EV_CONNECTED);\n}")]),
    ("blkfront-rsp-status-positive-ok", "response-trust", "blkfront",
     "a response status blkif.h does not define is taken as success when it "
     "is not negative: a read answered with status 1 hands the caller stale data",
     "a hostile blk backend answering unknown statuses (hostile/blk-back-status.scn)",
     [("drivers/blk/blkfront_io.c",
       "\t\tblkfront_log(bf, \"unknown response status %d taken as an error\", status);\n\t\treturn -EIO;\n",
       "\t\tblkfront_log(bf, \"unknown response status %d taken as %s\", status, status > 0 ? \"success\" : \"an error\");\n"
       "\t\treturn status > 0 ? 0 : -EIO;\n")]),
    ("netback-tx-offset-unchecked", "request-trust", "netback",
     "a tx slot's offset is checked alone, not offset + size: a slot may cross "
     "the end of its granted page",
     "a hostile net frontend with offset + size > 4096 (hostile/net-front-offset.scn)",
     [("drivers/net/netback_txparse.c",
       "\tif ((uint32_t)r->offset + size > NETBACK_PAGE_SIZE)\n",
       "\tif ((uint32_t)r->offset >= NETBACK_PAGE_SIZE)\n")]),
    ("netfront-tx-blocked-ring-only", "lost-wakeup", "netfront",
     "a sender is marked blocked only when the tx ring is full, not when the tx "
     "pages ran out: it gets EAGAIN and is never told TX_READY",
     "net with few tx pages and a fast sender: the stream stalls",
     [("drivers/net/netfront_io.c",
       "\t\t\tq->q_tx_blocked = true;\n\t\t\treturn -EAGAIN;\n",
       "\t\t\tq->q_tx_blocked = ring_slots > RING_FREE_REQUESTS(&q->q_tx);\n\t\t\treturn -EAGAIN;\n")]),
    ("netfront-tx-error-keeps-page", "grant-leak", "netfront",
     "a tx page answered with an error status is kept back (for a resend that "
     "never comes) instead of going back to the pool: the pool drains",
     "net with tx drops or map faults (net/tx-map-faults.scn, hostile back "
     "status): a stall, grants held",
     [("drivers/net/netfront_io.c",
       "\t\t\tnetfront_txb_put(q, rsp.id);\n",
       "\t\t\tif (rsp.status == NETIF_RSP_OKAY)\n\t\t\t\tnetfront_txb_put(q, rsp.id);\n")]),
    ("blkfront-reconnect-keeps-ring", "grant-leak", "blkfront",
     "the old ring's grant is not ended when a queue is freed at a disconnect "
     "(the count is lowered, the unshare forgotten): each reconnect leaks a page",
     "blk backend restart / frontend reinit: grants of the guest at an idle point",
     [("drivers/blk/blkfront_ring.c",
       "\t\txengntshr_unshare(bf->bf_gs, q->q_sring, 1u << bf->bf_order);\n", "")]),
    ("xenbus-backend-ignores-closing", "xenbus", "xenbus",
     "a Connected backend does not follow its frontend to Closing: only the "
     "toolstack (online=0) or a Closed frontend closes it",
     "a guest unplugging its device, suspend: the frontend waits for Closing",
     [("drivers/xenbus/xenbus_backend.c",
       "\t\telse if (fe_gone)\n\t\t\txenbus_backend_close(bd, XenbusStateClosed);\n"
       "\t\telse if (!online || fe == XenbusStateClosing)\n",
       "\t\telse if (fe_gone)\n\t\t\txenbus_backend_close(bd, XenbusStateClosed);\n"
       "\t\telse if (!online)\n")]),
    ("netfront-tx-error-keeps-buffer", "grant-leak", "netfront",
     "a tx data slot answered with an error keeps its buffer: the reap skips putting it back on the free "
     "list, so each failed slot shrinks the tx pool for the rest of the connection",
     "tx responses other than OKAY (netback's grant map faults, a hostile or strict backend): the pool's "
     "balance at the end (free + in the rings = pool) is short",
     [("drivers/net/netfront_io.c",
       "\t\t\tnetfront_txb_put(q, rsp.id);\n\t\t}\n\t\tRING_FINAL_CHECK_FOR_RESPONSES(&q->q_tx, more);\n",
       "\t\t\tif (rsp.status == NETIF_RSP_OKAY)\n\t\t\t\tnetfront_txb_put(q, rsp.id);\n"
       "\t\t}\n\t\tRING_FINAL_CHECK_FOR_RESPONSES(&q->q_tx, more);\n")]),
    ("blkfront-discard-slot-kept", "grant-leak", "blkfront",
     "a discard's request slot is cleared but never put back on its queue's free list (a discard has no "
     "pages to give back, and the release returns early for it): each discard shrinks its queue for the "
     "rest of the connection, a ring's worth of them stops the queue",
     "discards (feature-discard): the balance of blkfront's request slots at its close is short",
     [("drivers/blk/blkfront_io.c",
       "\tuint32_t slot = (uint32_t)(sh - q->q_shadow);\n\t*sh = (struct blkfront_shadow){.sh_next_free = q->q_free};\n"
       "\tq->q_free = slot;\n",
       "\tuint32_t slot = (uint32_t)(sh - q->q_shadow);\n\tbool discard = sh->sh_op == BLKIF_OP_DISCARD;\n"
       "\t*sh = (struct blkfront_shadow){.sh_next_free = q->q_free};\n\tif (!discard)\n\t\tq->q_free = slot;\n")]),
    ("xenbus-tx-commit-on-error", "xenbus", "xenbus",
     "a transaction whose body failed is committed instead of aborted: half "
     "of what it wrote is published",
     "a handshake step failing half way (xs.write.enospc, refused keys): keys "
     "left behind, a peer acting on a partial view",
     [("drivers/xenbus/xenbus.c",
       "\t\tbool commit = fn_rc == 0 || !xenbus_tx_now.wrote;\n",
       "\t\tbool commit = true;\n")]),
    # ---------------- the XSA corpus (scenarios/xsa/, tests/check-xsa.sh) ----------------
    ("blkback-rsp-padding-uninit", "xsa", "blkback",
     "a response is built on the stack without zeroing it first: its padding "
     "bytes carry backend stack contents into the frontend's ring (XSA-216)",
     "a frontend checking that response padding is zero (xsa/xsa-216-response-padding.scn)",
     [("drivers/blk/blkback_io.c",
       "\tmemset(&rsp, 0, sizeof(rsp));\n\trsp.id = id;\n", "\trsp.id = id;\n")]),
    ("netback-tx-zero-frag-fatal", "xsa", "netback",
     "a zero-length tx fragment (legal: netif.h only bounds sizes from above) "
     "is taken as a protocol violation and kills the vif (XSA-448's class: "
     "zero-length fragments mishandled)",
     "a hostile net frontend sending zero-length fragments (xsa/xsa-448-zero-length-fragment.scn)",
     [("drivers/net/netback_txparse.c",
       "\t\tp->zero_slots += r->size == 0;\n",
       "\t\tif (r->size == 0)\n"
       "\t\t\treturn txscan_fatal(s, \"slot %u: a fragment of no bytes\", *i);\n")]),
    ("xenbus-evtchn-storm-unbounded", "xsa", "xenbus",
     "an event that found no work is not counted as such: the unmask is never "
     "delayed and a peer's storm runs the handler once per notification "
     "(XSA-332 for backends, XSA-391 for frontends)",
     "xsa/xsa-332-event-storm-to-backend.scn, xsa/xsa-391-event-storm-to-frontend.scn",
     [("drivers/xenbus/xenbus_evtchn.c",
       "\t\tch->ec_stats.spurious++;\n\t\tch->ec_empty_run++;\n",
       "\t\tch->ec_stats.spurious++;\n")]),
    ("blkback-disconnect-keeps-work-timer", "xsa", "blkback",
     "a queue's continuation timer (armed when a batch stopped with requests "
     "left) is not freed at a disconnect: it fires on the freed queue and its "
     "unmapped ring (XSA-350's class: use after free at disconnect)",
     "xsa/xsa-350-disconnect-under-io.scn: a frontend starting over with a full ring",
     [("drivers/blk/blkback_ring.c",
       "\tif (q->q_work_ev)\n\t\tevent_free(q->q_work_ev);\n", "")]),
    ("gntshr-end-while-mapped", "xsa", "gnttab",
     "ending a shared page's grant does not wait for the peer's unmap: the "
     "page goes back to the granting domain while the peer still maps it "
     "(XSA-396: a frontend ending access while the backend maps the page)",
     "xsa/xsa-396-grant-ended-while-mapped.scn (ring revoke=1)",
     [("sim/gnttab/table.c",
       "\tif (e->maps_read + e->maps_write == 0) {\n\t\tgnttab_entry_release_locked(d, ref);",
       "\tif (defer || e->maps_read + e->maps_write == 0) {\n\t\tgnttab_entry_release_locked(d, ref);")]),
    ("xs-watch-perms-unchecked", "xsa", "xenstore",
     "a watch event goes to every watcher of the path, whatever it may read "
     "(XSA-115)",
     "xsa/xsa-115-watch-perms.scn",
     [("sim/xenstore/watch.c",
       "\tif (xs_path_is_special(path)) {\n\t\ts = xs_special_find(path);",
       "\treturn true;\n\tif (xs_path_is_special(path)) {\n\t\ts = xs_special_find(path);")]),
    ("xs-dead-perms-kept", "xsa", "xenstore",
     "a dead domain's permission entries stay live: a new domain given its "
     "domid inherits its access (XSA-322)",
     "xsa/xsa-322-dead-domain-perms.scn (and xs_store_check)",
     [("sim/xenstore/domain.c",
       "\tfor (unsigned i = 1; i < num; i++)\n\t\tif (p[i].id == domid)\n\t\t\tp[i].perms |= XS_PERM_IGNORE;\n",
       "")]),
    ("netback-rx-queue-bytes-unbounded", "xsa", "netback",
     "the rx queue towards a guest is bounded in frames only, not in bytes "
     "(rx_queue_bytes_max ignored): a guest that posts no rx buffers makes "
     "netback hold up to a thousand large frames for it (XSA-392)",
     "xsa/xsa-392-netback-rx-queue.scn",
     [("drivers/net/netback_rx.c",
       "\tif (q->q_rxq_frames >= c->rx_queue_frames_max || q->q_rxq_bytes + fp > c->rx_queue_bytes_max)\n",
       "\tif (q->q_rxq_frames >= c->rx_queue_frames_max)\n")]),
    ("xs-dead-nodes-kept", "xsa", "xenstore",
     "a dead domain's nodes are kept by default (passed to dom0, the "
     "pre-XSA-419 way) instead of removed: nodes a guest made outside its home "
     "outlive it, counted against no quota, so cooperating guests grow the "
     "store by rebooting (XSA-419)",
     "xsa/xsa-419-dead-owner-nodes.scn",
     [("sim/xenstore/domain.c",
       "static bool xs_keep_orphans;   /* under the store lock */\n",
       "static bool xs_keep_orphans = true;   /* under the store lock */\n")]),
    ("xs-watch-quota-unchecked", "xsa", "xenstore",
     "the watch quota is compared with the connection's open transactions "
     "instead of its watches: a guest sets any number of watches (XSA-326)",
     "xsa/xsa-326-quotas.scn",
     [("sim/xenstore/watch.c",
       "c->watches_num >= xs_quota(XS_QUOTA_WATCHES)",
       "c->txs_num >= xs_quota(XS_QUOTA_WATCHES)")]),
    ("xs-events-unbounded", "xsa", "xenstore",
     "the in-process handle does not ask the store to bound its event queue: "
     "a watcher that reads nothing queues every event (XSA-349)",
     "xsa/xsa-349-watch-event-flood.scn",
     [("sim/xenstore/xs_api.c",
       "\txs_conn_events_bounded(h->conn);\n", "")]),
    ("xs-tx-vanished-parent", "xsa", "xenstore",
     "a node the transaction read that was removed since does not conflict at "
     "commit: a child is committed under a parent removed meanwhile (XSA-415)",
     "xsa/xsa-415-orphan-nodes.scn (and xs_store_check)",
     [("sim/xenstore/tx.c",
       "if ((cur ? cur->gen : XS_GEN_NONE) != e->base_gen)",
       "if (cur && cur->gen != e->base_gen)")]),
    ("xs-tx-commit-quota-unchecked", "xsa", "xenstore",
     "the commit-time node quota check counts only the transaction's new "
     "nodes, not those the domain owns already: two transactions each within "
     "the quota commit past it (XSA-421)",
     "xsa/xsa-421-tx-node-accounting.scn",
     [("sim/xenstore/tx.c",
       "if (delta <= 0 || xs_domain_nodes(c->domid) + delta <= xs_quota(XS_QUOTA_NODES))",
       "if (delta <= 0 || delta <= xs_quota(XS_QUOTA_NODES))")]),
    ("mem-frame-reused-unscrubbed", "xsa", "memory",
     "a frame handed out to a domain again keeps what it held before: a "
     "frontend shares pages with old contents, data the backend has no "
     "business seeing (XSA-403)",
     "xsa/xsa-403-frontend-page-data.scn (a backend reading whole fresh pages)",
     [("sim/hypervisor/memory.c",
       "\tmemset(mem_frame_hv(mem, frame), 0, SIM_PAGE_SIZE);\n\tbit_set(mem->dirty, frame, false);",
       "\tbit_set(mem->dirty, frame, false);")]),
    ("xs-rm-subtree-bounded", "xsa", "xenstore",
     "a removal collects at most 64 nodes of the subtree (a bound on the work "
     "of one request, XSA-418's fix gone wrong): the deeper nodes are left "
     "without a parent",
     "xsa/xsa-418-deep-nesting.scn (and xs_store_check)",
     [("sim/xenstore/node.c",
       "\tfor (unsigned i = 0; rc == 0 && i < st->num; i++) {\n\t\tconst struct xs_node *n = xs_view_get(v, st->paths[i], &rc);",
       "\tfor (unsigned i = 0; rc == 0 && i < st->num && st->num < 64; i++) {\n\t\tconst struct xs_node *n = xs_view_get(v, st->paths[i], &rc);")]),
    ("xs-rm-event-perms-after-delete", "xsa", "xenstore",
     "a removal looks up the node's permissions for its watch event after the "
     "node is gone (XSA-414: C xenstored used the freed node; here the event "
     "is judged with no permissions and a watcher that may read it is not told)",
     "xsa/xsa-414-rm-watch-perms.scn",
     [("sim/xenstore/node.c",
       "\t\txs_ev_perms_set(&ep, XS_EVP_NODE, xs_view_get(v, st.paths[i], &err));\n"
       "\t\tXS_ASSERT(!err && ep.num[XS_EVP_NODE], \"view lost node %s\", st.paths[i]);\n"
       "\t\txs_event_fire(v, st.paths[i], i != 0, &ep);\n"
       "\t\txs_view_del(v, st.paths[i]);\n",
       "\t\txs_view_del(v, st.paths[i]);\n"
       "\t\txs_ev_perms_set(&ep, XS_EVP_NODE, xs_view_get(v, st.paths[i], &err));\n"
       "\t\txs_event_fire(v, st.paths[i], i != 0, &ep);\n")]),
    ("xs-path-length-as-sent", "xsa", "xenstore",
     "the path length is checked as the client sent it, against the absolute "
     "limit (XSA-323's class): a guest's relative path of up to 3072 bytes is "
     "taken, and its node's absolute path is longer than any client may name",
     "xsa/xsa-323-path-length.scn",
     [("sim/xenstore/node.c",
       "\tif (in[0] != '/' && strlen(in) > XENSTORE_REL_PATH_MAX)\n\t\treturn -EINVAL;\n",
       "\tif (strlen(in) > XENSTORE_ABS_PATH_MAX)\n\t\treturn -EINVAL;\n"),
      ("sim/xenstore/node.c",
       " && !strstr(p, \"//\") &&\n\t       len <= XENSTORE_ABS_PATH_MAX;\n",
       " && !strstr(p, \"//\");\n")]),
    ("xs-event-size-unchecked", "xsa", "xenstore",
     "a watch event is sized by the longest path plus its token, not by the "
     "message limit (XSA-324): a watch with a huge token and a change below "
     "the watched node make a message longer than 4096 bytes",
     "xsa/xsa-324-watch-event-size.scn",
     [("sim/xenstore/watch.c",
       "\tchar buf[XENSTORE_PAYLOAD_MAX];\n\tconst char *epath",
       "\tchar buf[XENSTORE_ABS_PATH_MAX + XENSTORE_PAYLOAD_MAX];\n\tconst char *epath")]),
    ("scn-quoted-escape-past-end", "parser", "scenario",
     "in a quoted string a backslash escapes whatever follows it, the line's "
     "terminating NUL included: a line ending in a backslash inside an "
     "unterminated quote makes the tokenizer read past the end of the line",
     "fuzz/fuzz_scenario (ASan: heap-buffer-overflow read in tok_quoted)",
     [("sim/scenario/parse.c",
       "\t\tif (*p == '\\\\' && (p[1] == '\"' || p[1] == '\\\\'))\n\t\t\tp++;\n",
       "\t\tif (*p == '\\\\')\n\t\t\tp++;\n")]),
    # ---------------- third round: written blind from the drivers and the headers ----------------
    # (tests/plants/README.md, "Third round"): placement and unit arithmetic,
    # feature negotiation, GSO/checksum metadata, multi-queue bookkeeping,
    # continuations and bounded waits, teardown leftovers, the xenbus backend.
    ("blkfront-part-sector-offset", "data-placement", "blkfront",
     "a ring request's sector is the I/O's first sector, not that of its part: "
     "every part of an I/O split over several requests reads or writes the "
     "first part's sectors (data to the wrong place)",
     "a blk workload whose I/Os are larger than one request (more than 11 "
     "segments, or than the negotiated indirect segments): wrong data on read-back",
     [("drivers/blk/blkfront_io.c",
       "uint64_t sector = (io->io_offset + sh->sh_off) >> BLKFRONT_SECTOR_SHIFT;",
       "uint64_t sector = io->io_offset >> BLKFRONT_SECTOR_SHIFT;")]),
    ("blkfront-read-copy-part-offset", "data-placement", "blkfront",
     "a read's completion copies each part's pages to the start of the "
     "caller's buffer, not to the part's offset in it",
     "a blk workload reading more than one request's worth at once: wrong data",
     [("drivers/blk/blkfront_io.c",
       "memcpy(io->io_buf + sh->sh_off + (size_t)i * BLKFRONT_PAGE_SIZE, blkfront_page(sh, i),",
       "memcpy(io->io_buf + (size_t)i * BLKFRONT_PAGE_SIZE, blkfront_page(sh, i),")]),
    ("blkfront-partial-status-last-wins", "partial-failure", "blkfront",
     "an I/O split into parts takes the status of the part that completes "
     "last: a failed first part followed by a good one reports success (a "
     "lost write acknowledged, a read with a hole of stale data)",
     "errors on some requests of multi-request I/Os (an I/O error fault while "
     "large I/Os run): an acknowledged write missing",
     [("drivers/blk/blkfront_io.c",
       "\tif (st && !io->io_status)\n\t\tio->io_status = st;\n",
       "\tio->io_status = st;\n")]),
    ("blkfront-discard-sector-bytes", "unit", "blkfront",
     "a discard's sector_number is written in bytes, not 512-byte sectors: "
     "the discard lands elsewhere (or past the end and fails)",
     "a blk workload with discards: zeros where written data should be, or "
     "discards failing",
     [("drivers/blk/blkfront_io.c",
       "d->sector_number = io->io_offset >> BLKFRONT_SECTOR_SHIFT;",
       "d->sector_number = io->io_offset;")]),
    ("blkfront-indirect-max-as-flag", "feature-negotiation", "blkfront",
     "feature-max-indirect-segments is taken as a flag: any non-zero offer "
     "makes the frontend use its own maximum, more than the backend accepts",
     "a backend offering fewer indirect segments than the frontend's maximum, "
     "with large I/Os: requests refused, I/O errors",
     [("drivers/blk/blkfront.c",
       "unsigned segs = in->indirect_segs < bf->bf_cfg.indirect_segs_max ? in->indirect_segs\n"
       "\t\t\t\t\t\t\t\t\t  : bf->bf_cfg.indirect_segs_max;",
       "unsigned segs = in->indirect_segs ? bf->bf_cfg.indirect_segs_max : 0;")]),
    ("blkfront-ring-order-as-flag", "feature-negotiation", "blkfront",
     "max-ring-page-order is taken as a flag: a backend offering any order "
     "gets the frontend's largest ring, past what it offered",
     "a backend whose max-ring-page-order is below the frontend's: the "
     "connection refused, the device never connects",
     [("drivers/blk/blkfront_ring.c",
       "*order = be_order < bf->bf_cfg.ring_page_order_max ? (unsigned)be_order : bf->bf_cfg.ring_page_order_max;",
       "*order = be_order ? bf->bf_cfg.ring_page_order_max : 0;")]),
    ("blkfront-disconnect-unbounded-wait", "bounded-wait", "blkfront",
     "leaving Connected no longer arms the reconnect timer: I/O waiting for a "
     "backend that closed and never comes back waits forever",
     "a backend closed (or its domain destroyed) for good under I/O: the "
     "workload hangs instead of failing its I/O after reconnect_timeout_ms",
     [("drivers/blk/blkfront.c",
       "\tbf->bf_info.connected = false;\n\tblkfront_reconnect_arm(bf);\n",
       "\tbf->bf_info.connected = false;\n")]),
    ("blkback-direct-offset-not-advanced", "data-placement", "blkback",
     "with persistent grants, the direct path does not advance the disk "
     "offset from one segment to the next: every segment of a request goes "
     "to its first sectors",
     "any blk workload with persistent grants and multi-segment requests: "
     "wrong data",
     [("drivers/blk/blkback_io.c",
       "\t\toff += len;\n\t}\n\treturn blkback_store_status(rc);",
       "\t}\n\treturn blkback_store_status(rc);")]),
    ("blkback-read-copy-before-store", "response-before-data", "blkback",
     "a read through the bounce buffer copies the buffer to the frontend's "
     "pages before reading the disk into it: the frontend gets the previous "
     "request's data",
     "a blk workload without persistent grants (or with the table full): "
     "wrong data on reads",
     [("drivers/blk/blkback_io.c",
       "\t\tst = blkback_store_status(blk_store_read(store, off, q->q_buf, bytes));\n"
       "\t\tif (st == BLKIF_RSP_OKAY)\n"
       "\t\t\tst = blkback_move(q, segs, r->nr_segs, true);\n",
       "\t\tst = blkback_move(q, segs, r->nr_segs, true);\n"
       "\t\tif (st == BLKIF_RSP_OKAY)\n"
       "\t\t\tst = blkback_store_status(blk_store_read(store, off, q->q_buf, bytes));\n")]),
    ("blkback-batch-no-continue", "lost-continuation", "blkback",
     "after a full batch (32 requests) the backend waits for the frontend's "
     "next notification instead of continuing: the frontend already notified "
     "and will not again, the rest of the ring waits forever",
     "more than 32 requests outstanding on one ring (a multi-page ring with a "
     "deep queue): a hang",
     [("drivers/blk/blkback_io.c",
       "\tif (done == BLKBACK_REQS_PER_BATCH)\n\t\tmore = 1;\n",
       "\tif (done == BLKBACK_REQS_PER_BATCH)\n\t\tmore = 0;   /* the frontend's next notification brings us back */\n")]),
    ("blkback-indirect-pages-floor", "indirect-arithmetic", "blkback",
     "an indirect request's page count is rounded down: fewer than 512 "
     "segments fetch no segment page at all, and the segments used are stale",
     "any blk workload with indirect requests: I/O errors or wrong data",
     [("drivers/blk/blkback_req.c",
       "out->nr_indirect_pages = (unsigned)((ind.nr_segments + BLKBACK_SEGS_PER_INDIRECT_PAGE - 1) /",
       "out->nr_indirect_pages = (unsigned)((ind.nr_segments) /")]),
    ("blkback-sectors-in-block-units", "unit", "blkback",
     "\"sectors\" is published in units of the disk's sector size, not of 512 "
     "bytes (blkif.h): a 4096-byte-sector disk looks 8 times smaller",
     "a 4 KiB-sector disk whose size the frontend reports: the guest sees "
     "1/8 of its disk",
     [("drivers/blk/blkback.c",
       "rc |= xenbus_write_fmt(xs, t, d, \"sectors\", \"%\" PRIu64, vbd->vbd_limits.sectors);",
       "rc |= xenbus_write_fmt(xs, t, d, \"sectors\", \"%\" PRIu64,\n"
       "\t\t\t       (vbd->vbd_limits.sectors << BLKBACK_SECTOR_SHIFT) / vbd->vbd_limits.sector_size);")]),
    ("netfront-rx-gso-dropped", "gso-metadata", "netfront",
     "a received frame's GSO type and size (its extra info slot) are not "
     "passed to the user: a 64 KiB GSO frame arrives as a plain frame",
     "net traffic with GSO to a frontend that takes it, GSO metadata checked "
     "on delivery",
     [("drivers/net/netfront_io.c",
       ".len = p->len, .gso_type = p->gso_type,\n\t\t\t\t .gso_size = p->gso_size, .queue",
       ".len = p->len,\n\t\t\t\t .queue")]),
    ("netfront-rx-refill-no-notify", "lost-wakeup", "netfront",
     "the rx-notify test is inverted: with feature-rx-notify the refill never "
     "notifies, a backend waiting for buffers sleeps until its stall timer "
     "(frames dropped)",
     "net traffic faster than the rx ring refills: rx stalls, frames dropped",
     [("drivers/net/netfront_io.c",
       "\tif (notify && nf->nf_cfg.rx_notify && nf->nf_info.connected)\n",
       "\tif (notify && !nf->nf_cfg.rx_notify && nf->nf_info.connected)\n")]),
    ("netfront-closed-at-no-step", "xenbus", "netfront",
     "a backend seen at Closed directly (Closing skipped or coalesced) is "
     "answered Closed but not followed up: both ends wait, the vif never "
     "reconnects",
     "a backend restart or close where the watch coalesces Closing and "
     "Closed: the vif stays down",
     [("drivers/net/netfront.c",
       "\tnetfront_backend_closed(nf);\n"
       "\tif (nf->nf_phase == NF_BACKEND_CLOSED && be == XenbusStateClosed)\n"
       "\t\tnetfront_step(nf, be);\n",
       "\t(void)be;\n\tnetfront_backend_closed(nf);\n")]),
    ("netfront-tx-csum-flag-swapped", "checksum-flags", "netfront",
     "a frame with a partial checksum is sent as NETTXF_data_validated instead "
     "of NETTXF_csum_blank: its blank checksum is never filled in, the peer "
     "gets a corrupt checksum it is told is valid",
     "net traffic with checksum offload, the receiver verifying checksums",
     [("drivers/net/netfront_io.c",
       "(tx->flags & NETFRONT_F_CSUM_PARTIAL) ? NETTXF_csum_blank : 0",
       "(tx->flags & NETFRONT_F_CSUM_PARTIAL) ? NETTXF_data_validated : 0")]),
    ("netback-rx-offset-counts-extra", "gso-metadata", "netback",
     "a received frame's data offset counts ring slots, not data slots: with "
     "a GSO extra info slot every data slot after the first takes the bytes "
     "one page further on",
     "GSO frames to a frontend that takes them: wrong data (or a read past the frame)",
     [("drivers/net/netback_rx.c",
       "uint32_t off = d * NETBACK_PAGE_SIZE;",
       "uint32_t off = k * NETBACK_PAGE_SIZE;")]),
    ("netback-txmap-offset-ignored", "data-placement", "netback",
     "a mapped tx fragment is copied from the start of its page, not from its "
     "offset: the part of a large first slot after its copied head is taken "
     "from the wrong bytes",
     "tx frames whose first slot is at least tx_map_threshold_bytes: wrong data",
     [("drivers/net/netback_txmap.c",
       "addr + (size_t)k * NETBACK_PAGE_SIZE + f->tf_offset, f->tf_size);",
       "addr + (size_t)k * NETBACK_PAGE_SIZE, f->tf_size);")]),
    ("netback-rx-queue-by-max", "multi-queue", "netback",
     "a received frame's queue is its hash modulo the backend's maximum, not "
     "the number of queues the frontend asked for: an index past the queues",
     "a frontend with fewer queues than the backend's maximum (but more than "
     "one): a crash or frames lost",
     [("drivers/net/netback_rx.c",
       "netpkt_flow_hash(p->np_data, p->np_len) % vif->vif_nr_queues : 0;",
       "netpkt_flow_hash(p->np_data, p->np_len) % c->queues_max : 0;")]),
    ("netback-rx-csum-offload-assumed", "feature-negotiation", "netback",
     "feature-no-csum-offload is read but ignored: a frontend that cannot "
     "take partial checksums gets them blank",
     "a frontend with checksum offload off receiving partial-checksum frames: "
     "bad checksums delivered",
     [("drivers/net/netback_ring.c",
       "in->rx_csum = !nocsum;",
       "in->rx_csum = true;\n\t(void)nocsum;")]),
    ("netback-disconnect-keeps-rxq", "teardown-leak", "netback",
     "a queue's frames waiting for the guest are not dropped at disconnect: "
     "their memory leaks and the queued-bytes count never returns to zero",
     "a vif disconnected with frames queued (the guest slow or gone): a leak "
     "(queued bytes non-zero at the end)",
     [("drivers/net/netback_ring.c",
       "\tnetback_rxq_purge(q, &nb->nb_stats.rx_dropped_down);\n\tif (q->q_tx_addr)",
       "\tif (q->q_tx_addr)")]),
    ("netback-rx-need-off-by-one", "ring-boundary", "netback",
     "a frame waits for one buffer more than it needs: with exactly enough "
     "posted the backend neither delivers nor sleeps (it spins), and a "
     "frontend with few buffers never gets the frame",
     "rx with the frontend's ring nearly empty (few rx buffers, bursts): a "
     "stall or a spin",
     [("drivers/net/netback_rx.c",
       "if (rp - q->q_rx.req_cons < need || nsegs + need > NETBACK_COPY_SEGS_MAX)",
       "if (rp - q->q_rx.req_cons <= need || nsegs + need > NETBACK_COPY_SEGS_MAX)")]),
    ("xenbus-announce-skips-view-check", "xenbus", "xenbus",
     "Connected is announced without checking that the frontend's keys are "
     "the ones the rings were mapped from: a frontend that restarted between "
     "the two gets a backend serving its old rings",
     "a frontend restarted (or republishing) during the backend's connect: "
     "a hang or the wrong ring",
     [("drivers/xenbus/xenbus_backend.c",
       "if (rc == 0 && (v->digest != *v->expect || !xenbus_view_ready(v->bd, v)))",
       "if (rc == 0 && !xenbus_view_ready(v->bd, v))")]),
    ("xenbus-close-timer-not-armed", "bounded-wait", "xenbus",
     "a backend going Closing does not arm its close timer: a frontend that "
     "never answers keeps the device at Closing for ever",
     "an unplug or violation with a frontend that does not answer (paused, "
     "hung): the backend never reaches Closed",
     [("drivers/xenbus/xenbus_backend.c",
       "\tif (st == XenbusStateClosing)\n\t\tevtimer_add(bd->bd_close_timer, &tv);\n",
       "\t(void)tv;\n")]),
    ("xenbus-reconnect-unseen-ignored", "xenbus", "xenbus",
     "a Connected backend never compares the frontend's keys with those it "
     "connected to: a frontend that went Closed, Initialising and Connected "
     "again between two looks (new rings, new grant refs) is left on rings "
     "nobody serves while its old grants stay mapped",
     "a backend paused or slow while its frontend reconnects "
     "(scenarios/regression/net-reconnect-unseen.scn): a hang or a grant leak",
     [("drivers/xenbus/xenbus_backend.c",
       "return xenbus_view_ready(bd, &v) && (!bd->bd_fe_served || v.keys_digest != bd->bd_fe_keys);",
       "return false;")]),
    ("xenbus-reconnect-keeps-old-rings", "grant-leak", "xenbus",
     "the in-place reconnect connects to the frontend's new rings without "
     "disconnecting from the old ones: their grant maps and event channel "
     "stay with the backend",
     "a frontend that reconnects between two of the backend's looks "
     "(scenarios/regression/net-reconnect-unseen.scn): maps left open, a leak",
     [("drivers/xenbus/xenbus_backend.c",
       "\t\t\t   \"between two looks): connecting to its new rings\", xenbus_state_name(fe));\n"
       "\txenbus_backend_disconnect(bd);\n",
       "\t\t\t   \"between two looks): connecting to its new rings\", xenbus_state_name(fe));\n")]),
    ("xenbus-reconnect-stuck-between", "xenbus", "xenbus",
     "an in-place reconnect that cannot connect yet (the frontend starts over "
     "while the backend maps its new keys) leaves the backend in InitWait "
     "with its node still at Connected: the start-over's Initialising is "
     "ignored there and the frontend waits for ever",
     "a frontend that reconnects unseen and then starts over during the "
     "backend's connect (tests/xenbus_test.c reconnect_meets_a_start_over; "
     "net_test's stale-state case under load)",
     [("drivers/xenbus/xenbus_backend.c",
       "\txenbus_backend_disconnect(bd);\n\tbd->bd_fe_served = false;\n",
       "\txenbus_backend_disconnect(bd);\n\tbd->bd_phase = XENBUS_BE_INITWAIT;\n")]),
    # ---------------- fourth round: written blind from the drivers and the headers ----------------
    # (tests/plants/README.md, "Fourth round"): error-code mapping, a feature's
    # lifetime, multi-page rings, per-queue keys, the backend in a driver
    # domain, event channel ports, integer truncation, free-list and budget
    # arithmetic, timers and watches outliving their owner, string bounds,
    # frame-size limits, buffers on the rx error path, optional keys absent.
    ("blkfront-eopnotsupp-as-eio", "error-mapping", "blkfront",
     "BLKIF_RSP_EOPNOTSUPP is mapped to -EIO like BLKIF_RSP_ERROR: the caller "
     "gets an I/O error for an operation the backend does not do, and the "
     "feature is never dropped (every later flush or discard fails again)",
     "a backend answering a flush or discard EOPNOTSUPP although it offered it "
     "(feature withdrawn, a disk that cannot): -EOPNOTSUPP expected, -EIO seen",
     [("drivers/blk/blkfront_io.c",
       "\tcase BLKIF_RSP_EOPNOTSUPP:\n\t\treturn -EOPNOTSUPP;\n\tcase BLKIF_RSP_ERROR:\n",
       "\tcase BLKIF_RSP_EOPNOTSUPP:\n\tcase BLKIF_RSP_ERROR:\n")]),
    ("blkfront-flush-dropped-on-error", "feature-lifetime", "blkfront",
     "any failed flush, not only one answered EOPNOTSUPP, withdraws the flush "
     "feature: after one transient disk error the guest can never flush again "
     "(its later flushes fail -EOPNOTSUPP though the backend offers them)",
     "disk errors while flushes run, then flushes after the errors stop: they "
     "must succeed",
     [("drivers/blk/blkfront_io.c",
       "if (st == -EOPNOTSUPP && io->io_op == BLKIF_OP_FLUSH_DISKCACHE)",
       "if (st && io->io_op == BLKIF_OP_FLUSH_DISKCACHE)")]),
    ("blkback-ring-size-one-page", "multi-page-ring", "blkback",
     "the back ring is initialised with the size of one page whatever the "
     "negotiated order: with a multi-page ring the backend's index mask is "
     "smaller than the frontend's, requests past the first page's slots are "
     "read from the wrong slot and answered in the wrong one",
     "a multi-page ring (ring-page-order >= 1) with more requests than one "
     "page holds over the run: wrong ids, a violation or a hang",
     [("drivers/blk/blkback_ring.c",
       "BACK_RING_INIT(&q->q_ring, (blkif_sring_t *)q->q_ring_addr, BLKBACK_PAGE_SIZE * q->q_ring_pages);",
       "BACK_RING_INIT(&q->q_ring, (blkif_sring_t *)q->q_ring_addr, BLKBACK_PAGE_SIZE);")]),
    ("blkfront-queues-publish-first", "multi-queue", "blkfront",
     "every queue-N/ directory gets queue 0's ring refs and event channel: "
     "the backend serves queue 0's ring N times, requests put on the other "
     "queues are never seen",
     "a blk device with two queues or more under I/O: a hang",
     [("drivers/blk/blkfront_ring.c",
       "rc = blkfront_queue_publish(xs, t, bf, &bf->bf_queues[i], dir);",
       "rc = blkfront_queue_publish(xs, t, bf, &bf->bf_queues[0], dir);")]),
    ("blkfront-evtchn-for-dom0", "driver-domain", "blkfront",
     "each queue's event channel is allocated for dom0, not for the backend's "
     "domain: a backend in a driver domain cannot bind it, the device never "
     "connects",
     "a blk backend in a domain other than dom0 (a storage driver domain)",
     [("drivers/blk/blkfront_ring.c",
       "return xenbus_evtchn_alloc(bf->bf_cfg.base, bf->bf_back.domid, blkfront_queue_event, q, &q->q_evtchn);",
       "return xenbus_evtchn_alloc(bf->bf_cfg.base, 0, blkfront_queue_event, q, &q->q_evtchn);")]),
    ("netback-rx-notify-tx-port", "event-channel", "netback",
     "rx responses are notified on the tx event channel: with split event "
     "channels the frontend's tx handler runs, its rx ring is not looked at "
     "until something else wakes it",
     "a net frontend with feature-split-event-channels receiving: rx stalls, "
     "frames late or dropped",
     [("drivers/net/netback_rx.c",
       "\t\txenbus_evtchn_notify(q->q_ev_rx ? q->q_ev_rx : q->q_ev_tx);\n\tnetback_rx_stats(q->q_vif)->rx_slots",
       "\t\txenbus_evtchn_notify(q->q_ev_tx);\n\tnetback_rx_stats(q->q_vif)->rx_slots")]),
    ("netback-tx-failure-answered-okay", "error-mapping", "netback",
     "a tx packet dropped after its grant copy or map failed (or its offload "
     "did not match) is freed but its slots are answered NETIF_RSP_OKAY: the "
     "frontend counts as sent a frame that was lost",
     "tx grant copy failures (a grant fault, a frontend revoking a page): "
     "frames answered OKAY that never reached the link",
     [("drivers/net/netback_tx.c",
       "\t\tb->tb_pkt = NULL;\n\t\tb->tb_status = NETIF_RSP_ERROR;\n\t}\n",
       "\t\tb->tb_pkt = NULL;\n\t}\n")]),
    ("blkback-direct-offset-32bit", "integer-truncation", "blkback",
     "the direct (persistent-grant) path keeps the disk offset in 32 bits: "
     "I/O beyond 4 GiB lands 4 GiB lower",
     "a disk larger than 4 GiB with persistent grants, I/O above 4 GiB: "
     "wrong data (the low 4 GiB overwritten)",
     [("drivers/blk/blkback_io.c",
       "\tuint64_t off = r->sector << BLKBACK_SECTOR_SHIFT;\n\tint rc = 0;\n",
       "\tunsigned off = r->sector << BLKBACK_SECTOR_SHIFT;\n\tint rc = 0;\n")]),
    ("netfront-tx-size-limit-rx", "integer-truncation", "netfront",
     "a frame's length is checked against the rx limit (65535 + an Ethernet "
     "header), not the tx one: frames of 65536..65549 bytes are sent with "
     "their 16-bit size truncated",
     "a frame just over 65535 bytes sent: -EMSGSIZE expected; sent, the "
     "backend drops it or delivers a wrong length",
     [("drivers/net/netfront_io.c",
       "\t\tif (total > NETFRONT_TX_FRAME_MAX)\n",
       "\t\tif (total > NETFRONT_RX_FRAME_MAX)\n")]),
    ("netfront-tx-pool-off-by-one", "free-list", "netfront",
     "after reaping, a frame is let through with one tx page more than the "
     "pool has free: the last page taken is the free list's end marker, past "
     "the pool (a page pointer read out of bounds)",
     "the tx page pool run dry (few tx pages, a wide window): a crash, heap "
     "corruption (ASan) or a frame from the wrong page",
     [("drivers/net/netfront_io.c",
       "\t\tif (slots > q->q_tx_nfree || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {\n\t\t\tq->q_tx_blocked = true;",
       "\t\tif (slots > q->q_tx_nfree + 1 || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {\n\t\t\tq->q_tx_blocked = true;")]),
    ("xenbus-close-timer-kept", "timer-left-armed", "xenbus",
     "leaving a connection does not cancel the close timer: a frontend that "
     "answered Closing and reconnected within the timeout is closed under "
     "its feet when the old timer fires",
     "a backend going Closing (unplug, violation, online=0) whose frontend "
     "answers and connects again, the run going on past the close timeout: "
     "a spurious disconnect",
     [("drivers/xenbus/xenbus_backend.c",
       "\tif (bd->bd_close_timer)\n\t\tevent_del(bd->bd_close_timer);\n\tbd->bd_ops->disconnect(bd->bd_arg);\n",
       "\tbd->bd_ops->disconnect(bd->bd_arg);\n")]),
    ("xenbus-fini-keeps-watch", "watch-after-free", "xenbus",
     "a backend device's teardown does not unregister its watch on the "
     "frontend's state: the next change of that state calls into freed memory",
     "a backend device removed (toolstack) while its frontend lives on and "
     "changes state: a use after free (ASan) or a crash",
     [("drivers/xenbus/xenbus_backend.c",
       "\txenbus_unwatch(bd->bd_xb, bd->bd_fe_watch);\n\tbd->bd_fe_watch = NULL;\n",
       "")]),
    ("xenbus-read-str-off-by-one", "string-bound", "xenbus",
     "a string key exactly as long as the buffer is taken: its NUL lands one "
     "byte past the buffer (a stack overflow by one written by the peer)",
     "a hostile peer writing keys exactly the buffer's length (a 32-byte "
     "protocol): ASan's stack-buffer-overflow",
     [("drivers/xenbus/xenbus.c",
       "\tif (vlen >= len || strlen(v) != vlen)\n",
       "\tif (vlen > len || strlen(v) != vlen)\n")]),
    ("netfront-rx-error-leaks-buffer", "buffer-leak", "netfront",
     "the buffers of a frame answered with an error are not given back: each "
     "rx error loses buffers until none are left to post and rx stops",
     "rx errors (grant copy failures towards the guest) then more traffic: "
     "rx stalls",
     [("drivers/net/netfront_io.c",
       "\t\t\toff += (uint32_t)r->status;\n\t\t}\n\t\tq->q_rx_free[q->q_rx_nfree++] = b;\n",
       "\t\t\toff += (uint32_t)r->status;\n\t\t\tq->q_rx_free[q->q_rx_nfree++] = b;\n\t\t}\n")]),
    ("blkfront-features-kept-across-reconnect", "feature-renegotiation", "blkfront",
     "flush, barrier and discard are taken from the first connection only: "
     "after a reconnect to a backend with other features the frontend uses "
     "what the new one does not offer, or never uses what it now offers",
     "a backend restarted (or replaced) with different features, the "
     "frontend's view compared with them after the reconnect",
     [("drivers/blk/blkfront.c",
       "\tin.connected = true;\n\tin.backend_domid",
       "\tif (bf->bf_ever_connected) {   /* the device's features: probed once */\n"
       "\t\tin.flush = bf->bf_info.flush;\n\t\tin.barrier = bf->bf_info.barrier;\n"
       "\t\tin.discard = bf->bf_info.discard;\n\t}\n"
       "\tin.connected = true;\n\tin.backend_domid")]),
    ("netfront-carrier-absent-down", "optional-key", "netfront",
     "a backend without a carrier key is taken as link down (netif.h: absent "
     "means up): with a backend that never writes it nothing is ever sent",
     "a net backend that does not publish carrier (older backends): every "
     "send fails -ENETDOWN",
     [("drivers/net/netfront.c",
       "\"carrier\", 1, 1,\n\t\t\t\t\t\t  &v) != 0 || v == 1;",
       "\"carrier\", 1, 0,\n\t\t\t\t\t\t  &v) != 0 || v == 1;")]),
    ("blkfront-budget-ignores-rings", "budget-arithmetic", "blkfront",
     "the request size is bounded by the grant budget without the ring pages: "
     "with a small budget and a multi-page ring an indirect request needs "
     "more pages than are left, and fails instead of waiting",
     "a small grant_pages_max with a large indirect maximum and a multi-page "
     "ring, large I/Os: I/O errors (ENOSPC)",
     [("drivers/blk/blkfront.c",
       "\tunsigned room = bf->bf_cfg.grant_pages_max - bf->bf_nq * (1u << bf->bf_order) -\n\t\t\tBLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;",
       "\tunsigned room = bf->bf_cfg.grant_pages_max - BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST;")]),
    # ---------------- fifth round (net): written blind from drivers/net and drivers/xenbus ----------------
    # (tests/plants/README.md, "Fifth round (net)"): a chain read past req_prod,
    # a queue count bounded by the build limit, more_data counting the extra
    # slot, a response length
    # fetched again from the ring, an unoffered rx GSO type, a full ring
    # without the extra slot, rx pages unshared by the tx count, a disconnect
    # that drops answered responses, Closed not taken as a fresh backend, the
    # state written outside the publish transaction, a stale Connected taken
    # as InitWait, split channels not offered, an rx id not checked.
    ("netback-tx-chain-past-prod", "request-trust", "netback",
     "a tx packet's chain is bounded by req_prod one slot late: a chain whose "
     "last slot asks for more data reads the unpublished slot after req_prod "
     "(an old request) and takes it as part of the packet instead of disconnecting",
     "a hostile net frontend whose chain runs past req_prod: never disconnected",
     [("drivers/net/netback_txparse.c",
       "\t\tif (++*i >= s->avail)\n\t\t\treturn txscan_fatal(s, \"packet continues",
       "\t\tif (++*i > s->avail)\n\t\t\treturn txscan_fatal(s, \"packet continues")]),
    ("netback-queues-bound-by-limit", "request-trust", "netback",
     "the frontend's multi-queue-num-queues is bounded by the build's limit "
     "(8), not by the multi-queue-max-queues we offered: a frontend gets more "
     "queues (rings, channels, memory) than the backend's configuration allows",
     "a hostile net frontend asking for more queues than offered: served",
     [("drivers/net/netback_ring.c",
       "\"multi-queue-num-queues\",\n\t\t\t\t     vif->vif_nb->nb_cfg.queues_max, 1, &q);",
       "\"multi-queue-num-queues\",\n\t\t\t\t     NETBACK_QUEUES_MAX, 1, &q);")]),
    ("netback-rx-more-data-counts-extra", "gso-metadata", "netback",
     "NETRXF_more_data is decided by the slot count with the GSO extra slot: "
     "a GSO frame that fits one page says more data follows, and the "
     "frontend takes the next frame's first slot as its tail",
     "GSO frames of one page or less towards a GSO guest: frames merged, a violation",
     [("drivers/net/netback_rx.c",
       "\t\ts->rs_flags = d + 1 < ndata ? NETRXF_more_data : 0;",
       "\t\ts->rs_flags = k + 1 < need ? NETRXF_more_data : 0;"),
      ("drivers/net/netback_rx.c",
       "\tunsigned need = netback_rx_slots(p->np_len, gso), ndata = need - gso;",
       "\tunsigned need = netback_rx_slots(p->np_len, gso);")]),
    # Dropped after the first measurement: netback-rx-stall-no-recheck (the
    # stall not re-reading req_prod) is no bug a guest sees: the rx timer
    # netback_rx_wait armed just before (0 ms left) fires at once and finds
    # the buffers.
    ("netfront-rx-status-refetched", "double-fetch", "netfront",
     "the rx copy-out takes each slot's length and offset from the shared ring "
     "again, not from the copy netfront_rx_parse checked: a backend changing "
     "them after the check overruns the frame buffer",
     "a hostile net backend rewriting an rx response after publishing it; access tracing",
     [("drivers/net/netfront_io.c",
       "\t\tconst netif_rx_response_t *r = &q->q_rx_rsps[i];",
       "\t\tconst netif_rx_response_t *r = RING_GET_RESPONSE(&q->q_rx, idx);")]),
    ("netfront-rx-gso-type-unoffered", "response-trust", "netfront",
     "an rx GSO extra is checked for a known type only, not for one the "
     "frontend offered: a guest without feature-gso-tcpv6 (or without GSO) is "
     "handed GSO frames it said it cannot take",
     "a hostile net backend sending GSO extras to a guest that offered none: not refused",
     [("drivers/net/netfront_rsp.c",
       "\tif ((!v4 || !s->lim->gso_tcpv4) && (!v6 || !s->lim->gso_tcpv6))",
       "\tif (!v4 && !v6)")]),
    ("netfront-tx-ring-full-ignores-extra", "ring-full", "netfront",
     "the ring-full test counts a frame's data slots but not its GSO extra "
     "slot: with the ring nearly full a GSO frame is pushed one slot past "
     "rsp_cons + RING_SIZE, over a request the backend has not answered",
     "GSO bulk traffic against a slow backend (tx ring full): netback disconnects the frontend",
     [("drivers/net/netfront_io.c",
       "\tif (slots > q->q_tx_nfree || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {\n"
       "\t\tif (!netfront_tx_reap(q, &work))\n\t\t\treturn -EIO;\n"
       "\t\tif (slots > q->q_tx_nfree || ring_slots > RING_FREE_REQUESTS(&q->q_tx)) {",
       "\tif (slots > q->q_tx_nfree || slots > RING_FREE_REQUESTS(&q->q_tx)) {\n"
       "\t\tif (!netfront_tx_reap(q, &work))\n\t\t\treturn -EIO;\n"
       "\t\tif (slots > q->q_tx_nfree || slots > RING_FREE_REQUESTS(&q->q_tx)) {")]),
    ("netfront-unshare-rx-count", "grant-leak", "netfront",
     "at a disconnect the rx buffers are unshared with the tx pool's page "
     "count: with fewer tx pages than rx buffers the rest stay granted to the "
     "backend after every connection",
     "a net guest with tx-bufs != rx-bufs that reconnects or closes: grant balance",
     [("drivers/net/netfront_ring.c",
       "\t\txengntshr_unshare(nf->nf_gs, q->q_rx_pages, nf->nf_cfg.rx_bufs);",
       "\t\txengntshr_unshare(nf->nf_gs, q->q_rx_pages, nf->nf_cfg.tx_bufs);")]),
    ("netfront-disconnect-skips-reap", "reconnect", "netfront",
     "leaving Connected, netfront tears the rings down without taking the "
     "responses the backend already published: frames received before the "
     "backend closed are lost, sent frames already answered count as lost",
     "a backend that closes or restarts under traffic: frames lost that were delivered",
     [("drivers/net/netfront.c",
       "\tfor (unsigned i = 0; was && nf->nf_queues && i < nf->nf_nq; i++) {\n"
       "\t\tfor (unsigned turn = 0; turn < NETFRONT_DRAIN_TURNS_MAX; turn++)\n"
       "\t\t\tif (!netfront_ev_both(&nf->nf_queues[i]) || nf->nf_phase == NF_DEAD || !nf->nf_queues)\n"
       "\t\t\t\tbreak;\n\t\tif (nf->nf_phase == NF_DEAD)\n\t\t\treturn false;\n\t}\n", "")]),
    ("netfront-closed-not-fresh", "xenbus", "netfront",
     "a backend at Closed is not taken as one a new connection may start with "
     "(only InitWait, Initialising, Unknown): after a backend-initiated close "
     "both ends wait for each other",
     "a backend that closes a connected vif (toolstack online=0 and back, a violation, a restart seen at Closed): a hang",
     [("drivers/net/netfront.c",
       "\treturn be == XenbusStateClosed || be == XenbusStateInitWait || be == XenbusStateInitialising ||",
       "\treturn be == XenbusStateInitWait || be == XenbusStateInitialising ||")]),
    ("netfront-state-outside-tx", "xenbus", "netfront",
     "the publish transaction writes Connected outside itself (XBT_NULL): the "
     "backend may see Connected before the ring keys commit, and a retried "
     "transaction announces Connected twice",
     "any net connection at some seeds: the backend refuses keys it cannot find yet",
     [("drivers/net/netfront.c",
       "\t\trc = xenbus_write_fmt(xs, t, nf->nf_dir, \"state\", \"%d\", XenbusStateConnected);",
       "\t\trc = xenbus_write_fmt(xs, XBT_NULL, nf->nf_dir, \"state\", \"%d\", XenbusStateConnected);")]),
    ("netfront-publish-on-stale-backend", "xenbus", "netfront",
     "a frontend waiting for the backend publishes when it sees InitWait or "
     "Connected: reopened while the backend is still Connected to the old "
     "rings, it publishes and connects at once to a backend that never mapped them",
     "a vif closed and reopened at once (guest reboot, unplug and replug) under traffic: frames into a dead ring, a hang",
     [("drivers/net/netfront.c",
       "\t\tif (be == XenbusStateInitWait)\n\t\t\tnetfront_publish(nf);",
       "\t\tif (be == XenbusStateInitWait || be == XenbusStateConnected)\n\t\t\tnetfront_publish(nf);")]),
    ("netfront-split-without-offer", "feature-negotiation", "netfront",
     "netfront uses split event channels whenever it is configured to, "
     "without looking at feature-split-event-channels: a backend that offers "
     "none finds no event-channel key and refuses the connection",
     "a net guest with split channels against a backend without them: never connected",
     [("drivers/net/netfront_ring.c",
       "\tbool split = f.split && nf->nf_cfg.split_evtchn;",
       "\tbool split = nf->nf_cfg.split_evtchn;")]),
    ("netfront-rx-id-unchecked", "response-trust", "netfront",
     "an rx response's id is no longer compared with the request in its slot: "
     "a backend answering in the wrong slot or with a stale id is believed",
     "a hostile net backend with wrong rx ids: the frontend must fail it",
     [("drivers/net/netfront_rsp.c",
       "\tif (r->id != want)\n\t\treturn netfront_why(s->why, s->why_len, \"rx slot %u: response id %u, the request there was id %u\",\n\t\t\t\t    slot, r->id, want);\n",
       "\t(void)want;\n")]),
]



def make_one(tree, plant, out_dir):
    name, cls, module, bug, catch, edits = plant
    scratch = tempfile.mkdtemp(prefix="plant-")
    try:
        files = sorted({f for f, _, _ in edits})
        for f in files:
            for side in ("a", "b"):
                os.makedirs(os.path.join(scratch, side, os.path.dirname(f)), exist_ok=True)
                shutil.copy(os.path.join(tree, f), os.path.join(scratch, side, f))
        for f, old, new in edits:
            p = os.path.join(scratch, "b", f)
            text = open(p).read()
            if text.count(old) != 1:
                print(f"{name}: anchor found {text.count(old)} times in {f}", file=sys.stderr)
                return False
            open(p, "w").write(text.replace(old, new))
        diff = ""
        for f in files:
            r = subprocess.run(["diff", "-u", "--label", "a/" + f, "--label", "b/" + f,
                                os.path.join(scratch, "a", f), os.path.join(scratch, "b", f)],
                               capture_output=True, text=True)
            diff += r.stdout
        head = (f"# plant: {name}\n# class: {cls}\n# module: {module}\n"
                f"# bug: {bug}\n# caught-by: {catch}\n")
        with open(os.path.join(out_dir, name + ".patch"), "w") as fh:
            fh.write(head + diff)
        return True
    finally:
        shutil.rmtree(scratch)


def make_round(plants, names):
    """A round file's main: write the plants named (all by default) from this tree."""
    tree = os.path.join(HERE, "..", "..")
    ok = True
    for p in plants:
        if not names or p[0] in names:
            ok = make_one(tree, p, HERE) and ok
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tree", default=".")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    ok = True
    for p in PLANTS:
        if a.names and p[0] not in a.names:
            continue
        ok = make_one(a.tree, p, HERE) and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
