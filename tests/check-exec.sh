#!/usr/bin/env bash
# Exec'd domains (sim/remote, issue 15): unmodified programs linked against
# Debian's libxenevtchn.so.1 / libxengnttab.so.1 / libxenstore.so.4 run as
# domains of a scenario, on build/lib-remote's client libraries:
#  - make xen's blkback + blkfront, and netback + two netfronts: verified I/O;
#  - the frontend's domain crashed and restarted mid-run: blkback serves the
#    new one; its process SIGKILLed from outside: a crashed domain, the
#    backend exits clean, the leak checks at teardown hold;
#  - tests/exec/grant_peer: a read-only grant between two exec'd domains;
#    a write through it, and a read after unmap, reported with the sim's
#    in-process message (domain, grantor, grant ref);
#  - Debian's unmodified vchan-socket-proxy (xen-utils-4.17) as two exec'd
#    domains relays 256 KiB both ways, verified;
#  - xensim_domain_exec from the embedding API (tests/exec/embed_exec.c);
#  - det mode is refused with a message naming sim/remote/server.c.
# And that the checks can fail: with the client libraries out of the way
# (Debian's real ones, no /dev/xen here) the blk pair fails.
set -u
name=check-exec
. tests/lib/check.sh

# Under TSan the sim process (its server threads, one per handle) is what is
# checked: the programs stay plain, on build/'s plain client libraries.
if [ "${VARIANT:-default}" = tsan ] && [ -e build/lib-remote/libxenevtchn.so.1 ] &&
   [ -x build/xen/xensim-blkfront ] && [ -x build/xen/xensim-netfront ]; then
	for s in tests/exec/blk-pair.scn tests/exec/net-pair.scn tests/exec/blk-front-restart.scn; do
		out=$(XENSIM_LIB_REMOTE=$PWD/build/lib-remote timeout 120 "$X" run "$s" --verbose 2>&1)
		check "TSan: $s passes, no race in the sim's server" \
			'grep -q "^PASS" <<<"$out" && ! grep -q "ThreadSanitizer" <<<"$out"'
	done
	finish
	exit
fi
for f in "$X" "$BUILD/lib-remote/libxenevtchn.so.1" "$BUILD/lib-remote/libxengnttab.so.1" \
	 "$BUILD/tests/exec/grant_peer" "$BUILD/tests/exec/embed_exec"; do
	[ -e "$f" ] || { echo "check-exec: $f not built (make all)"; exit 3; }
done
if [ "${VARIANT:-default}" = tsan ] || [ "${VARIANT:-default}" = asan ]; then
	echo "check-exec: skipped under sanitizers (the exec'd programs are not built with them)"
	echo "RESULT $name tests=0 failed=0"
	exit 0
fi
if [ ! -x build/xen/xensim-blkfront ] || [ ! -x build/xen/xensim-netfront ]; then
	nice make -s xen >"$tmp/make-xen" 2>&1 || { echo "check-exec: make xen failed"; cat "$tmp/make-xen"; exit 3; }
fi

run() { # NAME SCN [env...]: the run's output in $tmp/NAME
	local n=$1 s=$2
	shift 2
	env "$@" timeout 60 "$X" run "$s" --verbose >"$tmp/$n" 2>&1
}

run blk tests/exec/blk-pair.scn
check "blk pair: PASS" "grep -q '^PASS tests/exec/blk-pair.scn' $tmp/blk"
check "blk pair: blkfront verified its I/O" \
	"grep -Eq 'XCHECK PASS exec-blkfront vbd 51712: 300/300 I/Os.* 0 errors, 0 mismatches' $tmp/blk"
check "blk pair: blkback's verdict" "grep -q 'XCHECK PASS exec-blkback 1 connections' $tmp/blk"

run net tests/exec/net-pair.scn
check "net pair: PASS" "grep -q '^PASS tests/exec/net-pair.scn' $tmp/net"
check "net pair: both netfronts verified every frame" \
	"[ \$(grep -Ec 'XCHECK PASS exec-netfront-[ab] .* 0 corrupt, 0 duplicated, 0 out of order, 0 bytes lost' $tmp/net) = 2 ]"
check "net pair: netback's verdict" "grep -q 'XCHECK PASS exec-netback 2 connections' $tmp/net"

run restart tests/exec/blk-front-restart.scn
check "front crashed and restarted: PASS (starts == 2)" \
	"grep -q '^PASS tests/exec/blk-front-restart.scn' $tmp/restart"
check "front crashed and restarted: blkback served both" \
	"grep -q 'XCHECK PASS exec-blkback 2 connections' $tmp/restart"

# SIGKILL from outside, once blkfront runs.
env timeout 60 "$X" run tests/exec/blk-front-kill.scn --verbose >"$tmp/kill" 2>&1 &
runner=$!
for _ in $(seq 100); do
	# This run's own frontend: its pid is in the run's log.
	pid=$(sed -nE "s/^\[dom guest\] exec'd pid ([0-9]+): .*exec-kill-front.*/\1/p" "$tmp/kill" | head -n 1)
	[ -n "$pid" ] && grep -q 'serving backend' "$tmp/kill" && break
	sleep 0.05
done
sleep 0.3
[ -n "${pid:-}" ] && kill -KILL "$pid"
wait "$runner"
check "front SIGKILLed: a crashed domain, the run's expected error" \
	"grep -q '^PASS tests/exec/blk-front-kill.scn outcome=error' $tmp/kill && grep -q 'killed by signal 9' $tmp/kill"
check "front SIGKILLed: blkback exits clean" "grep -q 'XCHECK PASS exec-blkback 1 connections' $tmp/kill"
check "front SIGKILLed: no leak at teardown" "! grep -q 'leak at teardown' $tmp/kill"

run gp-ok tests/exec/grant-ro.scn
check "read-only grant between exec'd domains: PASS" "grep -q '^PASS' $tmp/gp-ok"
for mode in write stale; do
	sed "s/grant_peer map 1 ok/grant_peer map 1 $mode/" tests/exec/grant-ro.scn >"$tmp/gp-$mode.scn"
	run gp-$mode "$tmp/gp-$mode.scn"
done
ro='memory fault: domain 2 \(gb\): write of grant ref [0-9]+ of domain 1 \(ga\) \(frame [0-9]+, offset 0x1\) mapped by domain 2 at 0x[0-9a-f]+ through a read-only mapping'
uaf='memory fault: domain 2 \(gb\): read of grant ref [0-9]+ of domain 1 \(ga\) \(frame [0-9]+, offset 0x0\) mapped by domain 2 at 0x[0-9a-f]+ after it was unmapped'
check "write through a read-only map: the in-process message, the run fails" \
	"grep -Eq \"reason: b: $ro\" $tmp/gp-write && grep -q '^FAIL' $tmp/gp-write"
check "read after unmap: the in-process message, the run fails" \
	"grep -Eq \"reason: b: $uaf\" $tmp/gp-stale && grep -q '^FAIL' $tmp/gp-stale"

sed 's/^mode free/mode det/' tests/exec/blk-pair.scn >"$tmp/det.scn"
run det "$tmp/det.scn"
check "det mode refused, naming sim/remote/server.c" \
	"grep -Eq 'free mode only \\(sim/remote/server.c:[0-9]+\\)' $tmp/det && ! grep -q '^PASS' $tmp/det"

# Debian's vchan-socket-proxy (xen-utils-4.17) in two exec'd domains. Not
# installed (it would pull systemd's upgrade): unpacked into the cache that
# check-test-xenstore.sh shares, with its lock and layout.
CACHE=${XENSIM_DEB_CACHE:-build/deb-cache}
REL=usr/lib/xen-4.17/bin
fetch_xen_utils() {
	local work
	mkdir -p "$CACHE" && exec 9>"$CACHE/.lock" && flock -w 300 9 || return 1
	if [ ! -x "$CACHE/xen-utils-4.17/$REL/vchan-socket-proxy" ]; then
		work=$(mktemp -d "$CACHE/.unpack-XXXXXX")
		if (cd "$work" && apt-get download xen-utils-4.17) >"$work/apt.log" 2>&1 &&
		   dpkg-deb -x "$work"/xen-utils-4.17_*.deb "$work/root"; then
			rm -rf "$CACHE/xen-utils-4.17"
			mv "$work/root" "$CACHE/xen-utils-4.17"
		else
			sed 's/^/    /' "$work/apt.log"
		fi
		rm -rf "$work"
	fi
	flock -u 9
	exec 9>&-
}
vsp=""
for d in "${XEN_UTILS_BIN:-}" /usr/lib/xen-4.17/bin "$CACHE/xen-utils-4.17/$REL"; do
	[ -n "$d" ] && [ -x "$d/vchan-socket-proxy" ] && { vsp=$d; break; }
done
[ -z "$vsp" ] && fetch_xen_utils && [ -x "$CACHE/xen-utils-4.17/$REL/vchan-socket-proxy" ] &&
	vsp=$CACHE/xen-utils-4.17/$REL
if [ -n "$vsp" ]; then
	mkdir -p "$tmp/vsock"
	run vchan tests/exec/vchan-proxy.scn XEN_UTILS_BIN="$vsp" EXEC_DIR="$tmp/vsock"
	check "Debian's vchan-socket-proxy in two exec'd domains: PASS" \
		"grep -q '^PASS tests/exec/vchan-proxy.scn' $tmp/vchan"
	check "vchan-socket-proxy: 256 KiB through the vchan and back, verified" \
		"grep -q '262144 of 262144 bytes back through vchan-socket-proxy, all verified' $tmp/vchan"
else
	echo "check-exec: no vchan-socket-proxy (xen-utils-4.17 not installed, apt-get download failed): skipped"
fi

# xensim_domain_exec (include/xensim.h) from a process embedding the sim.
E=$BUILD/tests/exec/embed_exec
GP=$BUILD/tests/exec/grant_peer
XENSIM_LIB_REMOTE=$BUILD/lib-remote "$E" "$GP" ok >"$tmp/emb-ok" 2>&1
check "embedding API: xensim_domain_exec runs two exec'd domains sharing a grant" \
	"grep -q 'mapper (ok) exit 0, expected 0; ok' $tmp/emb-ok && grep -q 'read \"exec-grant\"' $tmp/emb-ok"
XENSIM_LIB_REMOTE=$BUILD/lib-remote "$E" "$GP" write >"$tmp/emb-write" 2>&1
check "embedding API: a write through the read-only map is the in-process fault" \
	"grep -Eq \"$ro\" $tmp/emb-write && grep -q 'mapper (write) exit 1, expected 1; ok' $tmp/emb-write"
XENSIM_LIB_REMOTE=/nonexistent "$E" "$GP" ok >"$tmp/emb-nolib" 2>&1
check "embedding API: no client libraries: refused, naming XENSIM_LIB_REMOTE" \
	"grep -q 'set XENSIM_LIB_REMOTE' $tmp/emb-nolib && grep -q 'xensim_domain_exec: -2 -2' $tmp/emb-nolib"

# Can fail: without the client libraries the programs get Debian's real ones.
run nolib tests/exec/blk-pair.scn XENSIM_LIB_REMOTE=/nonexistent
check "without build/lib-remote the blk pair fails" "! grep -q '^PASS' $tmp/nolib"

[ "$failed" -eq 0 ] || for f in "$tmp"/*; do [ -f "$f" ] && { echo "== $f"; tail -n 8 "$f"; }; done
finish
