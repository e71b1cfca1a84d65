#!/usr/bin/env python3
"""Sixth round, block stack: plants written blind from drivers/ (README.md,
"Sixth round"). Kept apart from make.py's table so other rounds merge
cleanly; make_one is make.py's.  python3 tests/plants/round6_blk.py [NAME...]"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make  # noqa: E402

BF_IO, BF_RING, BF = "drivers/blk/blkfront_io.c", "drivers/blk/blkfront_ring.c", "drivers/blk/blkfront.c"
BB_IO, BB_REQ = "drivers/blk/blkback_io.c", "drivers/blk/blkback_req.c"
XB_BE = "drivers/xenbus/xenbus_backend.c"

PLANTS = [
    ("blkback-range-counts-segments", "request-trust", "blkback",
     "the range a request covers is checked with its segment count, not its sector count: a read or write "
     "that starts a few sectors before the end of the disk runs past it (left to the disk to refuse)",
     "a hostile frontend's request whose sectors end past the disk but whose segment count does not: "
     "BLKIF_RSP_ERROR, and no I/O past the end reaches the disk",
     [(BB_REQ, "if (!blkback_range_ok(lim, r->sector, total))",
       "if (!blkback_range_ok(lim, r->sector, r->nr_segs))")]),
    ("blkback-seg-length-not-position", "request-trust", "blkback",
     "a segment's sectors are bounded by their number (last_sect - first_sect < 8), not by their place in "
     "the page: first_sect 4, last_sect 10 passes and the data runs 1.5 KiB past the granted page",
     "a hostile frontend's segment starting inside the page and ending past sector 7, fewer than 8 "
     "sectors long: BLKIF_RSP_ERROR",
     [(BB_REQ, "if (s.first_sect > s.last_sect || s.last_sect >= BLKBACK_SECTORS_PER_PAGE)",
       "if (s.first_sect > s.last_sect || (unsigned)(s.last_sect - s.first_sect) >= BLKBACK_SECTORS_PER_PAGE)")]),
    ("blkfront-rsp-free-slot-accepted", "response-trust", "blkfront",
     "a response's id is compared with its slot's without looking whether the slot is in use: a response "
     "with id 0 (an all-zero slot) matches free slot 0, whose empty shadow says READ, and completes a "
     "request that does not exist (a NULL I/O)",
     "a hostile backend's zeroed response (id 0, READ, OKAY) while slot 0 is free: the device fails, the "
     "guest does not crash",
     [(BF_IO, "if (!sh->sh_id || sh->sh_id != rsp->id) {", "if (sh->sh_id != rsp->id) {")]),
    ("blkfront-rsp-op-unchecked-indirect", "response-trust", "blkfront",
     "a response's operation is compared with its request's for direct requests only (as if backends "
     "answered indirect ones BLKIF_OP_INDIRECT): an indirect read answered as a write completes OKAY with "
     "pages never read into",
     "a hostile backend answering an indirect request with another operation: the device fails",
     [(BF_IO, "if (rsp->operation != sh->sh_op) {", "if (!sh->sh_indirect && rsp->operation != sh->sh_op) {")]),
    ("blkfront-rsp-prod-refetched", "double-fetch", "blkfront",
     "the consume loop runs to rsp_prod read again from the shared ring, not to the value checked against "
     "the requests outstanding: a backend moving rsp_prod on after the check has unchecked slots taken as "
     "responses, read before the barrier",
     "access points (a shared index read twice); a hostile backend raising rsp_prod between the reads",
     [(BF_IO, "\t\twhile (ring->rsp_cons != rp) {", "\t\twhile (ring->rsp_cons != ring->sring->rsp_prod) {")]),
    ("blkback-full-batch-no-notify", "lost-wakeup", "blkback",
     "a full batch's responses are pushed without a notification, on the thought that the continuation "
     "will notify: when it finds no new request it pushes nothing new and notifies nothing, the frontend "
     "never hears of the 32 responses",
     "a frontend with 32 requests or more out at once that then waits for them (a full one-page ring): "
     "a hang",
     [(BB_IO, "\tblkback_push(q);\n\tif (done == BLKBACK_REQS_PER_BATCH)\n",
       "\tif (done < BLKBACK_REQS_PER_BATCH)\n\t\tblkback_push(q);\n\telse\n"
       "\t\tRING_PUSH_RESPONSES(ring);   /* the continuation notifies */\n"
       "\tif (done == BLKBACK_REQS_PER_BATCH)\n")]),
    ("blkfront-push-marks-next-queue", "lost-wakeup", "blkfront",
     "the queue a request went on is marked for the push by the round-robin cursor, which pick_queue "
     "already moved on: with several queues a request's ring is neither pushed nor notified until a later "
     "request lands on the queue before it",
     "multi-queue I/O at a low depth: the last requests of a run hang",
     [(BF_IO, "\ttouched[q->q_index] = true;", "\ttouched[bf->bf_next_queue] = true;")]),
    ("blkfront-failed-keeps-rings", "grant-leak", "blkfront",
     "a device that failed (the backend broke the protocol) completes what was pending but keeps its rings "
     "and the parts in flight: the backend that broke the protocol keeps the ring and every data page in "
     "flight granted until the guest closes the device, and the I/Os in flight never complete",
     "a hostile backend's violation with I/O in flight: every I/O completes (-EIO) and no grant but the "
     "persistent pool stays shared",
     [(BF, "\tblkfront_rings_teardown(bf);\n\tblkfront_fail_all(bf, bf->bf_fail_status ? bf->bf_fail_status : -EIO);\n",
       "\tblkfront_fail_all(bf, bf->bf_fail_status ? bf->bf_fail_status : -EIO);\n")]),
    ("blkfront-pool-count-data-pages", "grant-leak", "blkfront",
     "a completed part puts all its pages back on the pool's free list but counts only its data pages: each "
     "indirect request loses its indirect pages from the count, the pool shares new chunks while pages sit "
     "unused on the list, until the grant budget runs out",
     "indirect I/O with persistent grants: at an idle point the pool's free pages are all its pages",
     [(BF_IO, "\t\tbf->bf_pool_free += sh->sh_npages;", "\t\tbf->bf_pool_free += sh->sh_ndata;")]),
    ("blkback-pgrant-count-failed-maps", "persistent-limit", "blkback",
     "the persistent map count is raised before the map is tried: every failed map (a bad or revoked "
     "grant ref) uses up a place of the limit, and after enough of them the vbd copies every segment for "
     "good",
     "grant map failures on a vbd with persistent grants and a small limit: persistent_full > 0 though "
     "the guest never granted more pages than the limit",
     [(BB_IO, "\tvbd->vbd_pgrants[i] = (struct blkback_pgrant){.pg_ref = ref, .pg_addr = addr};\n"
       "\tvbd->vbd_pgrants_used++;\n",
       "\tvbd->vbd_pgrants[i] = (struct blkback_pgrant){.pg_ref = ref, .pg_addr = addr};\n"),
      (BB_IO, "\tuint8_t *addr = xengnttab_map_domain_grant_refs(",
       "\tvbd->vbd_pgrants_used += kept;\n\tuint8_t *addr = xengnttab_map_domain_grant_refs(")]),
    ("blkfront-readonly-info-exact", "read-only", "blkfront",
     "the info key is compared with VDISK_READONLY instead of tested for its bit: a read-only vbd published "
     "with another bit as well (VDISK_CDROM | VDISK_READONLY, a removable disk) is taken as writable",
     "a backend publishing info with VDISK_READONLY and another bit: writes fail -EROFS in the frontend",
     [(BF, "in->readonly = info & VDISK_READONLY;", "in->readonly = info == VDISK_READONLY;")]),
    ("blkfront-reconnect-pending-io-not-rewound", "reconnect", "blkfront",
     "at a disconnect only I/Os wholly issued are rewound: an I/O still partly pending (parts in flight, "
     "the rest waiting for ring slots or grants) keeps io_issued, its dropped parts are never issued again "
     "and it completes OKAY with those bytes never written or read",
     "a reconnect while an I/O is split over more requests than the ring or the grants hold at once: "
     "verified data",
     [(BF_RING, "\t\tio->io_parts = 0;\n\t\tio->io_issued = 0;\n\t\tif (!io->io_pending) {\n",
       "\t\tio->io_parts = 0;\n\t\tif (!io->io_pending) {\n\t\t\tio->io_issued = 0;\n")]),
    ("xenbus-blk-announce-ignores-online", "xenbus", "xenbus",
     "the transaction announcing Connected no longer reads online again: a device the toolstack closed "
     "(online=0, state Closing) while the backend mapped the rings is written Connected over the "
     "toolstack's Closing (Closing -> Connected) and served until the next sync",
     "a toolstack close of the vbd while the backend connects (a nemesis close at every step): the "
     "XenbusState oracle",
     [(XB_BE, "\tif (rc == 0)   /* the toolstack may have closed the device meanwhile */\n"
       "\t\trc = xenbus_backend_online_tx(xs, t, v->bd->bd_dir);\n", "")]),
    ("xenbus-blk-front-publishes-on-connected", "xenbus", "blkfront",
     "a frontend waiting for its backend publishes its rings on Connected as well as InitWait: reopened "
     "while the backend is still Connected to the previous instance's rings, it goes Initialised and "
     "waits for a Connected the backend already wrote, or connects to a backend that never mapped them",
     "a blkfront closed and reopened at once, the backend still Connected: a hang or the XenbusState "
     "oracle",
     [(BF, "if (be == XenbusStateInitWait || be == XenbusStateInitialised)\n\t\t\tblkfront_publish(bf);",
       "if (be == XenbusStateInitWait || be == XenbusStateInitialised || be == XenbusStateConnected)\n"
       "\t\t\tblkfront_publish(bf);")]),
]


if __name__ == "__main__":
    sys.exit(make.make_round(PLANTS, sys.argv[1:]))
