#!/usr/bin/env bash
# libFuzzer options of one target, beyond the common ones (fuzz/run.sh,
# fuzz/plant-demo.sh): fuzz/target-opts.sh TARGET prints them.
# The driver targets keep one world across inputs (fuzz/world.h): almost
# every input leaves more allocated than it found (a reconnect's new rings, a
# watch), so libFuzzer's per-input leak check (-detect_leaks, which then
# scans the whole heap under LeakSanitizer) ran on most inputs and took more
# than half of their time. What they hold is checked instead by the targets'
# own invariants after each input (grants and maps back to the idle count,
# gnttab_check, evtchn_check, xs_store_check) and bounded by -rss_limit_mb.
case "$1" in
fuzz_blkback|fuzz_blkfront|fuzz_netback|fuzz_netfront) echo "-detect_leaks=0" ;;
esac
