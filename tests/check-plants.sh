#!/usr/bin/env bash
# The checks can fail: a few planted driver bugs (tests/plants/, one patch
# each) must each be caught by the scenario corpus, and the unpatched tree
# must pass the same scenario files (else "caught" would mean nothing).
# A small sample of `make plants` (tests/plants-run.sh), scenario mode only,
# on the few corpus files that should catch them. Ends with
# "RESULT check-plants tests=N failed=M".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d /tmp/xensim-check-plants.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tests=0 failed=0

check() { # name, shell condition
	tests=$((tests + 1))
	if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi
}

# plant -> the kind of failure it causes (see each patch's header)
PLANTS="blkfront-publishes-connected blkfront-reconnect-drops-inflight netback-txmap-failure-ignored xenbus-tx-eagain-as-success
	netfront-tx-blocked-forever blkback-readonly-mode-ignored blkback-ring-unmap-first-page
	xenbus-destroy-timeout-keeps-device netfront-rx-error-keeps-buffers blkfront-discard-slot-kept
	xenbus-transact-read-failure-aborts"
FILES="scenarios/blk/basic.scn scenarios/blk/backend-restart.scn scenarios/net/tx-map-faults.scn scenarios/coverage/blk-xs-eagain.scn
	scenarios/coverage/net-tx-pressure.scn scenarios/hostile/blk-front-readonly-ro.scn
	scenarios/blk/restart-ring-larger.scn scenarios/blk/unplug-backend-hung.scn scenarios/net/rx-copy-faults.scn
	scenarios/blk/xs-tx-stale.scn"

for f in $FILES; do
	check "$f exists" '[ -f "$here/$f" ]'
done
# Every plant still applies: a driver change that moves an anchor must
# regenerate the patch (tests/plants/make.py or its round file), else the
# plant quietly drops out of `make plants`.
stale=""
for p in "$here"/tests/plants/*.patch; do
	(cd "$here" && patch -p1 --dry-run -s -f <"$p" >/dev/null 2>&1) || stale="$stale $(basename "$p" .patch)"
done
check "every plant applies to this tree (stale:${stale:- none})" '[ -z "$stale" ]'
PLANT_JOBS=2 bash "$here/tests/plants-run.sh" --plants "$PLANTS" --files "$FILES" --seeds 1..2 \
	--out "$tmp/plants.tsv" >"$tmp/table.txt" 2>"$tmp/log.txt"
rc=$?
sed 's/^/    /' "$tmp/log.txt"
check "the harness ran (exit $rc)" '[ $rc -eq 0 ] && [ -s "$tmp/plants.tsv" ]'
check "the unpatched tree passes the same scenario files" 'grep -q "; 0 left out" "$tmp/log.txt"'
for p in $PLANTS; do
	row=$(grep -P "^$p\t" "$tmp/plants.tsv")
	scn=$(cut -f4 <<<"$row")
	check "planted bug $p is caught by the scenarios (${scn:-not run})" \
		'[ -n "$row" ] && [ "$scn" != "-" ] && ! grep -q "does not" <<<"$scn"'
done
echo "RESULT check-plants tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
