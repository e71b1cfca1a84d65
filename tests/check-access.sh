#!/usr/bin/env bash
# Shared-memory access tracing (sim/access, `make access`), end to end:
#  1. build build-access/xensim, the drivers instrumented (the uninstrumented
#     sim and tool objects are taken from build/ when build-access/ is new:
#     only the drivers compile);
#  2. blk, net and hostile scenarios run instrumented: no double fetch in
#     xensim's drivers, the same trace hash as the uninstrumented binary, an
#     attack-surface report naming blkback's and blkfront's code;
#  3. a det sweep with access points (`xensim sweep --access-points`): every
#     seed passes (a check-then-arm lost wakeup would hang some seeds);
#  4. the index jump (`--access-jump`): a sweep of seeds 1..$JUMP_SEEDS moves
#     a producer index past the ring at each re-reading location in turn; no
#     driver of xensim reads slots with it;
#  5. planted double fetches (tests/plants/) in blkback and netback, and
#     producer indices read again and used unchecked in all four drivers, each
#     in a scratch copy rebuilt: reported, naming both code locations.
# tests/plants-run.sh runs this script for every plant (it sweeps). A plant
# step that does not apply on a tree planted already is skipped, not failed.
# Ends with "RESULT check-access tests=N failed=M".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 3
B=${BUILD:-build}
AB=build-access
# Seeds of the access-point sweeps: the planted check-then-arm lost wakeups
# (tests/plants/*-event-no-recheck) fail first at seed 10 (blkback), 1
# (blkfront) and 1 (netback).
BLK_SEEDS=${ACCESS_BLK_SEEDS:-1..40}
NET_SEEDS=${ACCESS_NET_SEEDS:-1..12}
JOBS=${ACCESS_JOBS:-2}
# The jump's seeds: each of the first eight re-reading locations (sim/access/
# jump.c) at its first and second re-read. The planted re-reads of
# tests/plants/*-prod-refetched are found at 2 to 5 of these 16.
JUMP_SEEDS=${ACCESS_JUMP_SEEDS:-16}
name=check-access
. "$here/tests/lib/check.sh"

# A new build-access/ starts from the uninstrumented objects of build/ (the
# same flags; never a sanitizer tree's): their dependency files are renamed
# with them. Any variant's make check builds it: make bench's `access` entry
# (check-bench) needs it.
seed_build() { # tree
	[ -d "$1/$AB/obj" ] || [ ! -d "$1/build/obj/sim" ] || {
		mkdir -p "$1/$AB/obj"
		cp -a "$1/build/obj/sim" "$1/build/obj/tools" "$1/$AB/obj/"
		rm -f "$1/$AB/obj/sim/access/access.o"
		find "$1/$AB/obj" -name '*.d' -exec sed -i "s|^build/obj/|$AB/obj/|; s| build/obj/| $AB/obj/|g" {} +
	}
}

build() { # tree, log
	seed_build "$1"
	nice make -C "$1" -j"$JOBS" BUILD=$AB VARIANT=access $AB/xensim >"$2" 2>&1
}

# ---- 1. the instrumented build ----
t0=$(date +%s)
build "$here" "$tmp/build.log"
rc=$?
check "build-access/xensim builds (exit $rc, $(($(date +%s) - t0)) s)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || { tail -n 20 "$tmp/build.log"; echo "RESULT check-access tests=$tests failed=$failed"; exit 1; }
check "the driver objects call the access runtime" \
	'nm "$AB/obj/drivers/blk/blkback_io.o" | grep -q " U __asan_load4_noabort"'
check "the sim objects are not instrumented" \
	'! nm "$AB/obj/sim/gnttab/gnttab.o" | grep -q __asan_'

# ---- 2. the corpus, instrumented: no finding ----
FILES="scenarios/blk/basic.scn scenarios/blk/two-guests.scn scenarios/blk/features.scn scenarios/net/basic.scn"
FILES="$FILES $(ls scenarios/hostile/*.scn 2>/dev/null | head -n 4 | tr '\n' ' ')"
for f in $FILES; do
	out=$("$AB/xensim" run "$f" --seeds 1..2 -j "$JOBS" 2>&1)
	rc=$?
	check "$f instrumented: passes, no double fetch (exit $rc)" \
		'[ $rc -eq 0 ] && ! grep -q "double fetch" <<<"$out"'
	[ $rc -eq 0 ] || grep -E "FAIL|double fetch|reason" <<<"$out" | head -n 4 | sed 's/^/    /'
done
h1=$("$B/xensim" run scenarios/blk/basic.scn --seed 3 2>&1 | grep -oE 'trace-hash=0x[0-9a-f]+')
h2=$("$AB/xensim" run scenarios/blk/basic.scn --seed 3 2>&1 | grep -oE 'trace-hash=0x[0-9a-f]+')
check "instrumentation alone changes no scheduling decision ($h1 vs $h2)" '[ -n "$h1" ] && [ "$h1" = "$h2" ]'
"$AB/xensim" run scenarios/blk/basic.scn --access-report "$tmp/surface.txt" >/dev/null 2>&1
check "the attack surface names blkback's and blkfront's ring code" \
	'grep -qE "blkback_[a-z_]+ drivers/blk/blkback[a-z_]*\.c:[0-9]+" "$tmp/surface.txt" &&
	 grep -qE "blkfront_[a-z_]+ drivers/blk/blkfront[a-z_]*\.c:[0-9]+" "$tmp/surface.txt"'
out=$("$B/xensim" run scenarios/blk/basic.scn --access-points 2>&1)
check "--access-points in an uninstrumented build is a harness error, not a silent pass" \
	'grep -q "needs the instrumented" <<<"$out"'

# ---- 3. access points: interleavings at the ring indices ----
for fs in scenarios/blk/basic.scn:$BLK_SEEDS scenarios/net/basic.scn:$NET_SEEDS; do
	f=${fs%%:*} seeds=${fs#*:}
	out=$("$AB/xensim" sweep "$f" --seeds "$seeds" -j "$JOBS" --quiet --access-points 2>&1)
	rc=$?
	check "sweep $f --seeds $seeds --access-points: every seed passes (exit $rc)" '[ $rc -eq 0 ]'
	[ $rc -eq 0 ] || grep -E "FAIL|replay|first failing" <<<"$out" | head -n 4 | sed 's/^/    /'
done

# ---- 4. the index jump: every driver checks the index it acts on ----
for f in scenarios/blk/basic.scn scenarios/blk/two-guests.scn scenarios/net/basic.scn; do
	out=$("$AB/xensim" run "$f" --seeds 1..$JUMP_SEEDS -j "$JOBS" --access-jump 2>&1)
	rc=$?
	check "$f --seeds 1..$JUMP_SEEDS --access-jump: passes, no index used unchecked (exit $rc)" \
		'[ $rc -eq 0 ] && ! grep -q "index used unchecked" <<<"$out"'
	[ $rc -eq 0 ] || grep -E "^FAIL|index used|reason" <<<"$out" | head -n 4 | sed 's/^/    /'
done
out=$("$AB/xensim" run scenarios/blk/basic.scn --seed 1 --access-jump --verbose 2>&1)
check "a jump moves the index: the driver says the value is past the ring" \
	'grep -qE "rsp_prod 10737418[0-9]+|req_prod 10737418[0-9]+" <<<"$out"'
out=$("$B/xensim" run scenarios/blk/basic.scn --access-jump 2>&1)
check "--access-jump in an uninstrumented build is a harness error" 'grep -q "needs the instrumented" <<<"$out"'

# ---- 5. planted bugs: reported with both code locations ----
mkdir -p "$tmp/tree"
tar -C "$here" --exclude='./build*' --exclude=./reports --exclude=./.git -cf - . | tar -C "$tmp/tree" -xf -
cp -a "$here/$AB" "$tmp/tree/$AB"
plant() { # patch name, scenario, regex of the finding[, run options]
	local p="tests/plants/$1.patch" out want=$3 opts=${4:---seed 1}
	if ! (cd "$tmp/tree" && patch -p1 -s -N --dry-run <"$p" >/dev/null 2>&1); then
		echo "skip: $1 does not apply here (a tree planted already?)"
		return
	fi
	(cd "$tmp/tree" && patch -p1 -s <"$p")
	if ! build "$tmp/tree" "$tmp/plant-build.log"; then
		check "$1: the planted tree builds" false
	else
		out=$(cd "$tmp/tree" && "$AB/xensim" run "$2" $opts -j "$JOBS" 2>&1)
		grep -m1 -E "double fetch|index used" <<<"$out" | sed 's/^/    /'
		check "$1: $2 $opts fails naming both code locations" \
			'grep -qE "$want" <<<"$out" && grep -qE "^FAIL .*outcome=fail|\] FAIL +fail " <<<"$out"'
	fi
	(cd "$tmp/tree" && patch -R -p1 -s <"$p")
}
LOC='first at [a-z_]+ drivers/%s[a-z_]*\.c:[0-9]+, again at [a-z_]+ drivers/%s[a-z_]*\.c:[0-9]+'
plant blkback-segments-in-ring scenarios/blk/basic.scn \
	"double fetch: domain [0-9]+ read grant ref [0-9]+ of domain [0-9]+ offset 0x[0-9a-f]+ .*$(printf "$LOC" blk/blkback blk/blkback)"
plant netback-tx-size-refetched scenarios/net/basic.scn \
	"double fetch: domain [0-9]+ read grant ref [0-9]+ of domain [0-9]+ offset 0x[0-9a-f]+ .*$(printf "$LOC" net/netback net/netback)"
JLOC='again at [a-z_]+ drivers/%s[a-z_]*\.c:[0-9]+, moved there from [0-9]+ to [0-9]+ .* read the ring.s slots at [a-z_]+ drivers/%s[a-z_]*\.c:[0-9]+'
for pl in blkback-req-prod-refetched:blk/blkback:blk/basic blkfront-rsp-prod-refetched:blk/blkfront:blk/basic \
	  netback-tx-req-prod-refetched:net/netback:net/basic netfront-rx-rsp-prod-refetched:net/netfront:net/basic; do
	IFS=: read -r pname drv scn <<<"$pl"
	plant "$pname" "scenarios/$scn.scn" "index used unchecked: domain [0-9]+ read the producer index .*$(printf "$JLOC" "$drv" "$drv")" \
		"--seeds 1..$JUMP_SEEDS --access-jump"
done

finish
