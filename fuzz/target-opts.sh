#!/usr/bin/env bash
# libFuzzer options of one target, beyond the common ones (fuzz/run.sh,
# fuzz/plant-demo.sh): fuzz/target-opts.sh TARGET prints them.
#
# -detect_leaks=0 for the driver targets: they keep one world across inputs
# (fuzz/world.h): almost every input leaves more allocated than it found (a
# reconnect's new rings, a watch), so libFuzzer's per-input leak check
# (-detect_leaks, which then scans the whole heap under LeakSanitizer) ran on
# most inputs and took more than half of their time. What they hold is
# checked instead by the targets' own invariants after each input (grants and
# maps back to the idle count, gnttab_check, evtchn_check, xs_store_check)
# and bounded by -rss_limit_mb.
#
# -max_len: the longest input each layout reads (the header comment of each
# target); without it libFuzzer takes the largest seed or 4096, which for
# blkfront and netfront is mostly bytes no one reads (mutations wasted on
# them) and for blkback and netback cuts the layout short (no whole indirect
# pages, no full data pages or 64 KiB frame).
#   blkback   6 + 32 requests * 112 + 2 indirect pages * 4096      = 11782
#   netback   7 + 255 * 12 (tx) + 255 * 8 (rx) + a 65536-byte frame = 70643
#             (the data pages, 8 * 4096, are the frame's first bytes)
#   blkfront  5 + 40 responses * 16                                 =   645
#   netfront  7 + 64 * 4 (tx) + 64 * 8 (rx)                         =   775
case "$1" in
fuzz_blkback) echo "-detect_leaks=0 -max_len=11782" ;;
fuzz_netback) echo "-detect_leaks=0 -max_len=70643" ;;
fuzz_blkfront) echo "-detect_leaks=0 -max_len=645" ;;
fuzz_netfront) echo "-detect_leaks=0 -max_len=775" ;;
esac
