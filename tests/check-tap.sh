#!/usr/bin/env bash
# xensim-netback's TAP bridge (drivers/net/nettap) on this host, no Xen
# needed: xcheck-tapvif opens a TAP through nettap and stands where the vifs
# would; xcheck-tappeer talks to the TAP through the kernel (AF_PACKET), the
# way `make xen-check`'s net-tap step does in dom0. Checked both ways: the
# peer's requests arrive intact and in order, the replies come back intact,
# and the bulk stream's GSO frames and partial checksums come out of the TAP
# cut into MTU segments with complete checksums. Then three faults put in on
# purpose (a flipped byte, a lost reply, a wrong partial checksum) must each
# make the peer fail, naming what it found.
#
# Needs /dev/net/tun, CAP_NET_ADMIN and CAP_NET_RAW (CI runs as root);
# without them it prints a SKIP line with the reason and counts no test.
set -u
BUILD=${BUILD:-build}
bin=$BUILD/xen-check
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }
skip() { echo "SKIP check-tap: $*"; echo "RESULT check-tap tests=0 failed=0"; exit 0; }

[ -c /dev/net/tun ] || skip "no /dev/net/tun on this host (the tun module is not loaded?)"
out=$(make --no-print-directory BUILD="$BUILD" xen-check-tap-tools 2>&1) || {
	echo "$out" | tail -n 20
	echo "FAILED: make xen-check-tap-tools"
	echo "RESULT check-tap tests=1 failed=1"
	exit 1
}
work=$(mktemp -d)
vif_pid=
cleanup() { [ -n "$vif_pid" ] && kill "$vif_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# run_pair FAULT FRAMES: tapvif on a fresh TAP, then tappeer against it;
# their outputs in $work/vif.out and $work/peer.out, the peer's exit in prc.
run_pair() {
	local fault=$1 frames=$2 tap=xstap$$x$RANDOM
	tap=${tap:0:15}
	: >"$work/vif.out"
	"$bin/xcheck-tapvif" --tap "$tap" --frames "$frames" --seed 7 --timeout-s 30 --fault "$fault" \
		>"$work/vif.out" 2>&1 &
	vif_pid=$!
	local n=100
	while [ $n -gt 0 ] && ! grep -q '^tapvif: ready' "$work/vif.out" && kill -0 $vif_pid 2>/dev/null; do
		sleep 0.1
		n=$((n - 1))
	done
	if grep -q '^SKIP' "$work/vif.out"; then
		wait $vif_pid
		skip "$(sed -n 's/^SKIP tap-vif: //p' "$work/vif.out")"
	fi
	timeout -s KILL 60 "$bin/xcheck-tappeer" --if "$tap" --frames "$frames" --seed 7 --timeout-s 20 \
		--verdict tap-peer >"$work/peer.out" 2>&1
	prc=$?
	if grep -q 'socket(AF_PACKET.*Operation not permitted' "$work/peer.out"; then
		kill $vif_pid 2>/dev/null
		wait $vif_pid 2>/dev/null
		vif_pid=
		skip "xcheck-tappeer cannot open an AF_PACKET socket: needs CAP_NET_RAW"
	fi
	if [ "$fault" = none ]; then
		wait $vif_pid
		vrc=$?
	else
		kill $vif_pid 2>/dev/null
		wait $vif_pid 2>/dev/null
	fi
	vif_pid=
	sed 's/^/    /' "$work/peer.out" "$work/vif.out"
}

run_pair none 500
check "the peer verified 500 replies and the whole bulk stream (exit 0)" \
	'[ $prc -eq 0 ] && grep -q "^XCHECK PASS tap-peer .*500 replies from the vif verified in order" "$work/peer.out"'
check "the vif side verified 500 requests through nettap (exit 0)" \
	'[ $vrc -eq 0 ] && grep -q "^XCHECK PASS tap-vif 500 of 500 requests verified" "$work/vif.out"'
segs=$(sed -n 's/.* came as \([0-9]*\) segments of at most \([0-9]*\) bytes.*/\1 \2/p' "$work/peer.out")
check "nettap cut the GSO frames into more segments than frames, none above 1514 bytes ($segs)" \
	'[ -n "$segs" ] && [ "${segs% *}" -gt 24 ] && [ "${segs#* }" -le 1514 ]'
check "nettap counted the cuts and no error" \
	'grep -q "GSO cut, 0 errors" "$work/vif.out" && ! grep -q " 0 GSO cut" "$work/vif.out"'

run_pair reply-byte 100
check "fault reply-byte: the peer fails on the flipped byte of reply 7" \
	'[ $prc -eq 1 ] && grep -q "^XCHECK FAIL tap-peer .*corrupt frame.*seq 7 .*byte" "$work/peer.out"'
run_pair drop-reply 100
check "fault drop-reply: the peer fails on the missing reply 7" \
	'[ $prc -eq 1 ] && grep -q "^XCHECK FAIL tap-peer .*reply 8 .*where reply 7 .*was due" "$work/peer.out"'
run_pair bulk-csum 100
check "fault bulk-csum: the peer fails on the wrong TCP checksum" \
	'[ $prc -eq 1 ] && grep -q "^XCHECK FAIL tap-peer .*TCP checksum 0x[0-9a-f]* is wrong" "$work/peer.out"'

echo "RESULT check-tap tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
