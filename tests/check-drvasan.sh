#!/usr/bin/env bash
# The drivers under ASan+UBSan in scenario runs and sweeps: build-drvasan/xensim
# (mk/drvasan.mk) instruments drivers/** only and links build/'s sim, so a
# driver's out-of-bounds access, use after free or undefined behaviour on what
# a hostile peer or a fault handed it ends the run that provoked it (the
# run's log is the sanitizer's report), at about the cost of a plain run.
#  1. the adversarial corpus (hostile peers, faults, blk, net, xsa) at seeds
#     1..3 passes instrumented;
#  2. a seed sweep of each hostile peer beside a good guest passes;
#  3. the check can fail: a planted backend trusting nr_segments
#     (tests/plants/blkback-nr-segments-unbounded) reads past its 11-segment
#     copy and refuses on the garbage, as a correct backend would: the plain
#     binary passes blk-front-nseg.scn with it, this one fails it.
# tests/plants-run.sh runs this script for every plant (it sweeps); nested
# there, step 3 is left out. Other variants (check-asan instruments
# everything already; TSan cannot mix with ASan) skip it.
# Ends with "RESULT check-drvasan tests=N failed=M".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 3
name=check-drvasan
. "$here/tests/lib/check.sh"
DX=build-drvasan/xensim
SEEDS=${DRVASAN_SEEDS:-1..3}
SWEEP_SEEDS=${DRVASAN_SWEEP_SEEDS:-4..27}
JOBS=${DRVASAN_JOBS:-2}

if [ "${VARIANT:-default}" != default ]; then
	echo "skipped: VARIANT=$VARIANT (check-drvasan builds on the default build/)"
	finish
	exit
fi

nice make --no-print-directory -j"$JOBS" BUILD=build VARIANT=default "$DX" >"$tmp/build.log" 2>&1
rc=$?
check "build $DX (the drivers instrumented, build/'s sim linked)" '[ $rc -eq 0 ] && [ -x "$DX" ]'
[ $rc -eq 0 ] || { sed 's/^/    /' "$tmp/build.log" | tail -20; finish; exit; }
check "$DX carries ASan and UBSan in the drivers only" \
	'nm "$DX" | grep -q "__asan_report_load" && nm build-drvasan/obj/drivers/blk/blkback.o | grep -q __asan_ &&
	 ! nm build/obj/sim/gnttab/gnttab.o | grep -q __asan_'

dirs="scenarios/hostile scenarios/faults scenarios/blk scenarios/net"
[ -d scenarios/xsa ] && dirs="$dirs scenarios/xsa"
out=$("$DX" run $dirs --seeds "$SEEDS" -j "$JOBS" 2>&1)
rc=$?
summary=$(grep -E '^[0-9]+ runs: ' <<<"$out")
check "the adversarial corpus at seeds $SEEDS passes instrumented (${summary:-no summary})" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || grep -E -A8 '^\[ *[0-9]+/[0-9]+\] (FAIL|ERROR)' <<<"$out" | head -60 | sed 's/^/    /'

for f in scenarios/hostile/blk-front-beside-good-guest.scn scenarios/hostile/net-front-beside-good-guest.scn; do
	out=$("$DX" sweep "$f" --seeds "$SWEEP_SEEDS" -j "$JOBS" 2>&1)
	rc=$?
	check "sweep of $f at seeds $SWEEP_SEEDS passes instrumented" '[ $rc -eq 0 ]'
	[ $rc -eq 0 ] || tail -20 <<<"$out" | sed 's/^/    /'
done

# ---- the check can fail (not when plants-run.sh runs this script) ----
if [ -z "${XENSIM_PLANT_RUN:-}" ]; then
	plant=blkback-nr-segments-unbounded
	f=scenarios/hostile/blk-front-nseg.scn
	for how in plain drvasan; do
		flag=$([ $how = drvasan ] && echo --drvasan)
		PLANT_JOBS=$JOBS PLANT_SWEEPS="" bash tests/plants-run.sh $flag --reuse-build \
			--plants $plant --files $f --seeds 1..2 --out "$tmp/$how.tsv" >"$tmp/$how.txt" 2>"$tmp/$how.log"
		eval "rc_$how=$?"
		eval "row_$how=\$(grep -P \"^$plant\\t\" \"$tmp/$how.tsv\" | cut -f4)"
	done
	check "plants-run ran both ways (exit $rc_plain, $rc_drvasan)" '[ $rc_plain -eq 0 ] && [ $rc_drvasan -eq 0 ]'
	check "planted $plant: the plain binary passes $f (${row_plain:-not run})" '[ "$row_plain" = "-" ]'
	check "planted $plant: $DX fails $f (${row_drvasan:-not run})" \
		'[ -n "$row_drvasan" ] && [ "$row_drvasan" != "-" ] && ! grep -q "does not" <<<"$row_drvasan"'
fi
finish
