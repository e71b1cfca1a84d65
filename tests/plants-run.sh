#!/usr/bin/env bash
# The planted-bug harness: how many driver bugs do the checks catch?
#
# For each tests/plants/NAME.patch (one bug in drivers/, see its header) this
# copies the tree with its build objects into a scratch directory, applies the
# patch, rebuilds (only the patched file recompiles) and runs the catchers:
#   scenarios  build/xensim run FILE --seeds $SEEDS for every corpus file, in
#              order, until one fails (a failure the unpatched tree does not have)
#   sweeps     the check scripts that sweep ($PLANT_SWEEPS; default: every
#              tests/check-*.sh that runs `xensim sweep`, but check-scenarios.sh
#              and check-plants.sh), when --mode check
#   unit       the CUnit suites (build/tests/*_test; PLANT_UNITS="blk_test ..."
#              narrows them), with --unit
#   nemesis    with --nemesis "FILE ...": `xensim sweep FILE --nemesis` of each
#              (not counted as make check unless a check script runs it)
# Every run is bounded by `timeout`: a planted hang counts as caught. The
# unpatched tree runs the same catchers first; what fails there is left out
# (else "caught" would mean nothing) and printed.
#
#   bash tests/plants-run.sh [--src DIR] [--mode scenarios|check] [--unit]
#        [--plants "A B ..."] [--seeds A..B] [--files "F ..."] [--matrix]
#        [--out FILE] [--keep] [--reuse-build] [--nemesis "FILE ..."]
#        [--asan | --drvasan | --access] [--pairs "PLANT=FILE[,FILE] ..."]
#
# --asan        build and run everything under ASan+UBSan (build-asan/), as
#               make check-asan does: an out-of-bounds access is caught
# --drvasan     run the scenarios with build-drvasan/xensim (only the drivers
#               under ASan+UBSan, mk/drvasan.mk): the same catch, at a
#               fraction of the cost
# --access      run build-access/xensim (make access: the double-fetch oracle,
#               `access points` lines take effect)
# --pairs       each plant named runs only its own files (the others none);
#               the baseline runs their union (tests/check-xsa.sh)
#
# --src DIR     the tree to plant into (default: this one), e.g. a fresh copy of
#               the integration tree; it is only read. Its build/ objects are
#               reused (make rebuilds what is older than its source) for this
#               tree, or with --reuse-build
# --files       the scenario files (default: every *.scn under scenarios/ but
#               in-development ones); --matrix runs them all for every plant
# --out FILE    also write the table as tab-separated values
# Prints one line per plant, a table and the totals; exit 0 unless the harness
# itself broke (a plant that does not apply or compile is reported, not fatal).
set -u
# Run from a copy: bash reads a script as it goes, and this one runs for long.
if [ -z "${PLANTS_RUN_HERE:-}" ]; then
	self=$(mktemp /tmp/xensim-plants-run.XXXXXX)
	cp "$0" "$self"
	PLANTS_RUN_HERE=$(cd "$(dirname "$0")/.." && pwd) PLANTS_RUN_SELF=$self exec bash "$self" "$@"
fi
here=$PLANTS_RUN_HERE
rm -f "${PLANTS_RUN_SELF:-}"
unset PLANTS_RUN_HERE PLANTS_RUN_SELF
SRC=$here MODE=scenarios UNIT=0 NEMESIS="" ONLY="" SEEDS=${SEEDS:-1..3} FILES="" MATRIX=0 OUT="" KEEP=0 REUSE=0
RUN_TIMEOUT_S=${PLANT_RUN_TIMEOUT_S:-60}      # one scenario file, all its seeds
SWEEP_TIMEOUT_S=${PLANT_SWEEP_TIMEOUT_S:-600}
UNIT_TIMEOUT_S=${PLANT_UNIT_TIMEOUT_S:-300}
JOBS=${PLANT_JOBS:-2}
while [ $# -gt 0 ]; do
	case "$1" in
	--src) SRC=$(cd "$2" && pwd); shift ;;
	--mode) MODE=$2; shift ;;
	--unit) UNIT=1 ;;
	--nemesis) NEMESIS=$2; shift ;;
	--plants) ONLY=$2; shift ;;
	--seeds) SEEDS=$2; shift ;;
	--files) FILES=$2; shift ;;
	--matrix) MATRIX=1 ;;
	--out) OUT=$2; shift ;;
	--keep) KEEP=1 ;;
	--reuse-build) REUSE=1 ;;
	--asan) ASAN=1 ;;
	--drvasan) DRVASAN=1 ;;
	--access) ACCESS=1 ;;
	--pairs) PAIRS=$2; shift ;;
	-h|--help) sed -n '2,/^set -u$/{/^set -u$/!p}' "$here/tests/plants-run.sh"; exit 0 ;;
	*) echo "plants-run: unknown argument '$1'" >&2; exit 2 ;;
	esac
	shift
done
B=build MAKEVARS="BUILD=build VARIANT=default"   # whatever variant runs this script
if [ "${ASAN:-0}" -eq 1 ]; then   # as make check-asan: every memory error ends the run
	B=build-asan MAKEVARS="BUILD=build-asan VARIANT=asan"
	export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
fi
if [ "${DRVASAN:-0}" -eq 1 ]; then   # the drivers alone under ASan+UBSan (mk/drvasan.mk)
	B=build-drvasan MAKEVARS="BUILD=build VARIANT=default"
fi
if [ "${ACCESS:-0}" -eq 1 ]; then   # the drivers instrumented (mk/access.mk)
	B=build-access MAKEVARS="BUILD=build-access VARIANT=access"
fi
declare -A pair_files=()
for p in ${PAIRS:-}; do
	pair_files[${p%%=*}]=$(tr ',' ' ' <<<"${p#*=}")
	ONLY="$ONLY ${p%%=*}"
	[ -n "$FILES" ] || FILES_FROM_PAIRS=1
done
if [ "${FILES_FROM_PAIRS:-0}" -eq 1 ]; then
	FILES=$(printf '%s\n' "${pair_files[@]}" | tr ' ' '\n' | sed '/^$/d' | sort -u | tr '\n' ' ')
fi
case "$MODE" in scenarios|check) ;; *) echo "plants-run: --mode scenarios|check" >&2; exit 2 ;; esac

export XENSIM_PLANT_RUN=1   # the check scripts it runs know they are nested
PLANT_DIR=$here/tests/plants
work=$(mktemp -d /tmp/xensim-plants.XXXXXX)
[ "$KEEP" -eq 1 ] || trap 'rm -rf "$work"' EXIT
log() { printf '%s\n' "$*" >&2; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# ---- the base: sources and objects, built once ----
t0=$(now)
mkdir -p "$work/base"
tar -C "$SRC" --exclude='./build*' --exclude=./reports --exclude=./.git -cf - . | tar -C "$work/base" -xf -
mkdir -p "$work/base/reports"
if [ -d "$SRC/$B/obj" ] && { [ "$SRC" = "$here" ] || [ "$REUSE" -eq 1 ]; }; then
	cp -a "$SRC/$B" "$work/base/$B"      # same sources: only what changed rebuilds
	# build-drvasan/xensim links build/'s sim and tool objects
	[ "$B" = build-drvasan ] && [ -d "$SRC/build/obj" ] && cp -a "$SRC/build" "$work/base/build"
fi
targets="$B/xensim"
if [ "$UNIT" -eq 1 ] && [ -n "${PLANT_UNITS:-}" ]; then
	targets="$B/xensim $(printf "$B/tests/%s " $PLANT_UNITS)"
elif [ "$UNIT" -eq 1 ]; then
	targets="all"
fi
if ! make -C "$work/base" -j"$JOBS" $MAKEVARS $targets >"$work/base-build.log" 2>&1; then
	log "plants-run: the unpatched tree does not build (see $work/base-build.log)"; KEEP=1; exit 3
fi
log "base: $SRC built in $(secs "$t0" "$(now)") s ($work/base)"

if [ -z "$FILES" ]; then
	# coverage/ last: a plant caught there only is one the rest missed
	FILES=$(cd "$work/base" && find scenarios -name '*.scn' | sort |
		awk '/^scenarios\/coverage\//{c[n++]=$0; next} {print} END{for (i = 0; i < n; i++) print c[i]}' |
		while read -r f; do grep -qE '^\s*category\s+in-development' "$f" || echo "$f"; done)
fi
if [ -z "${PLANT_SWEEPS+x}" ]; then
	PLANT_SWEEPS=$(cd "$work/base" && grep -lE 'sweep' tests/check-*.sh 2>/dev/null |
		grep -vE 'check-(scenarios|plants)\.sh' | tr '\n' ' ')
fi

# ---- catchers: each prints what failed (empty: nothing) ----

# One scenario file at every seed in its own process group, bounded.
run_file() { # tree, file -> "seed=N outcome" lines of the failing runs, or TIMEOUT
	local out rc
	out=$(cd "$1" && timeout -k 5 "$RUN_TIMEOUT_S" "$B/xensim" run "$2" --seeds "$SEEDS" -j "$JOBS" 2>&1)
	rc=$?
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then echo "TIMEOUT"; return; fi
	grep -E '^\[ *[0-9]+/[0-9]+\] (FAIL|ERROR)' <<<"$out" | grep -oE 'seed=[0-9]+' | tr '\n' ' '
	if [ $rc -ne 0 ] && ! grep -qE '^\[ *[0-9]+/[0-9]+\] (FAIL|ERROR)' <<<"$out"; then echo "exit-$rc"; fi
}

run_script() { # tree, script -> "failed" or "" ; bounded
	local rc
	(cd "$1" && BUILD=$B VARIANT=${MAKEVARS##*VARIANT=} REPORTS="$1/reports" timeout -k 10 "$SWEEP_TIMEOUT_S" bash "$2") >"$1/$(basename "$2").log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || echo "exit-$rc"
}

run_nemesis() { # tree, file -> "" or "exit-N"; every point must pass
	local rc
	(cd "$1" && timeout -k 10 "$SWEEP_TIMEOUT_S" "$B/xensim" sweep "$2" --nemesis -j "$JOBS") \
		>"$1/nemesis-$(basename "$2").log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || echo "exit-$rc"
}

run_unit() { # tree, binary -> "" or "exit-N"
	local rc
	(cd "$1" && timeout -k 10 "$UNIT_TIMEOUT_S" "$2") >"$1/$(basename "$2").log" 2>&1
	rc=$?
	[ $rc -eq 0 ] || echo "exit-$rc"
}

# ---- the baseline ----
declare -A base_fail=([none]=)
t0=$(now)
nbase=0 nleft=0
for f in $FILES; do
	r=$(run_file "$work/base" "$f")
	[ -n "$r" ] && base_fail["scn:$f"]="$r" && nleft=$((nleft + 1)) && log "baseline: $f fails unpatched ($r): left out"
	nbase=$((nbase + 1))
done
if [ "$MODE" = check ]; then
	for s in $PLANT_SWEEPS; do
		r=$(run_script "$work/base" "$s")
		[ -n "$r" ] && base_fail["sweep:$s"]="$r" && nleft=$((nleft + 1)) && log "baseline: $s fails unpatched ($r): left out"
	done
fi
for f in $NEMESIS; do
	r=$(run_nemesis "$work/base" "$f")
	[ -n "$r" ] && base_fail["nem:$f"]="$r" && nleft=$((nleft + 1)) && log "baseline: nemesis of $f fails unpatched ($r): left out"
done
UNITS=""
if [ "$UNIT" -eq 1 ]; then
	UNITS=$(cd "$work/base" && if [ -n "${PLANT_UNITS:-}" ]; then printf "$B/tests/%s\n" $PLANT_UNITS; else ls $B/tests/*_test; fi 2>/dev/null)
	for u in $UNITS; do
		r=$(run_unit "$work/base" "$u")
		[ -n "$r" ] && base_fail["unit:$u"]="$r" && nleft=$((nleft + 1)) && log "baseline: $u fails unpatched ($r): left out"
	done
fi
log "baseline: $nbase scenario files${PLANT_SWEEPS:+, sweeps: $PLANT_SWEEPS}${UNITS:+, $(wc -w <<<"$UNITS") suites} in $(secs "$t0" "$(now)") s; $nleft left out"

# ---- one plant ----
rows=()
n=0 n_cov=0 n_scn=0 n_chk=0 n_unit=0 n_nem=0 n_any=0 n_bad=0
declare -A cls_n=() cls_scn=() cls_chk=()
for patch in "$PLANT_DIR"/*.patch; do
	name=$(basename "$patch" .patch)
	if [ -n "$ONLY" ] && ! grep -qw -- "$name" <<<"$ONLY"; then continue; fi
	class=$(sed -n 's/^# class: //p' "$patch" | head -n 1)
	module=$(sed -n 's/^# module: //p' "$patch" | head -n 1)
	t0=$(now)
	tree="$work/p"
	rm -rf "$tree"
	cp -a "$work/base" "$tree"
	scn="-" chk="-" unit="-" nem="-" note=""
	if ! (cd "$tree" && patch -p1 -s --no-backup-if-mismatch <"$patch" >"$tree/patch.log" 2>&1); then
		note="does not apply"
	elif ! make -C "$tree" -j"$JOBS" $MAKEVARS $targets >"$tree/build.log" 2>&1; then
		note="does not compile"
	fi
	if [ -n "$note" ]; then
		n_bad=$((n_bad + 1))
		rows+=("$name	$class	$module	$note	$note	-	-	$(secs "$t0" "$(now)")")
		log "$(printf '%-38s %s' "$name" "$note")"
		continue
	fi
	tbuild=$(secs "$t0" "$(now)")
	pfiles=$FILES
	[ -n "${PAIRS:-}" ] && pfiles=${pair_files[$name]:-}
	for f in $pfiles; do
		[ -n "${base_fail["scn:$f"]:-}" ] && continue
		r=$(run_file "$tree" "$f")
		[ -z "$r" ] && continue
		seed=$(grep -oE 'seed=[0-9]+' <<<"$r" | head -n 1)
		[ "$r" = TIMEOUT ] && seed="timeout"
		hit="$f${seed:+:}${seed:-$r}"
		if [ "$scn" = "-" ]; then scn=$hit; else scn="$scn,$hit"; fi
		[ "$MATRIX" -eq 1 ] || break
	done
	[ "$scn" != "-" ] && chk="scenarios"
	if [ "$MODE" = check ] && { [ "$chk" = "-" ] || [ "$MATRIX" -eq 1 ]; }; then
		for s in $PLANT_SWEEPS; do
			[ -n "${base_fail["sweep:$s"]:-}" ] && continue
			r=$(run_script "$tree" "$s")
			[ -z "$r" ] && continue
			if [ "$chk" = "-" ]; then chk=$(basename "$s" .sh); else chk="$chk,$(basename "$s" .sh)"; fi
			[ "$MATRIX" -eq 1 ] || break
		done
	fi
	if [ "$UNIT" -eq 1 ]; then
		for u in $UNITS; do
			[ -n "${base_fail["unit:$u"]:-}" ] && continue
			r=$(run_unit "$tree" "$u")
			[ -z "$r" ] && continue
			if [ "$unit" = "-" ]; then unit=$(basename "$u"); else unit="$unit,$(basename "$u")"; fi
		done
	fi
	if [ "$scn" = "-" ] || [ "$MATRIX" -eq 1 ]; then
		for f in $NEMESIS; do
			[ -n "${base_fail["nem:$f"]:-}" ] && continue
			r=$(run_nemesis "$tree" "$f")
			[ -z "$r" ] && continue
			if [ "$nem" = "-" ]; then nem=$f; else nem="$nem,$f"; fi
			[ "$MATRIX" -eq 1 ] || break
		done
	fi
	n=$((n + 1))
	cls_n[$class]=$(( ${cls_n[$class]:-0} + 1 ))
	case "$scn" in scenarios/coverage/*) n_cov=$((n_cov + 1)) ;; esac
	if [ "$scn" != "-" ]; then n_scn=$((n_scn + 1)); cls_scn[$class]=$(( ${cls_scn[$class]:-0} + 1 )); fi
	if [ "$chk" != "-" ]; then n_chk=$((n_chk + 1)); cls_chk[$class]=$(( ${cls_chk[$class]:-0} + 1 )); fi
	[ "$unit" != "-" ] && n_unit=$((n_unit + 1))
	[ "$nem" != "-" ] && n_nem=$((n_nem + 1))
	{ [ "$chk" != "-" ] || [ "$unit" != "-" ] || [ "$nem" != "-" ]; } && n_any=$((n_any + 1))
	dt=$(secs "$t0" "$(now)")
	rows+=("$name	$class	$module	$scn	$chk	$unit	$nem	$dt")
	log "$(printf '%-38s scenarios: %-44s check: %-12s unit: %-8s nemesis: %-8s %6ss (build %ss)' "$name" "$scn" "$chk" "$unit" "$nem" "$dt" "$tbuild")"
	[ "$KEEP" -eq 1 ] && mv "$tree" "$work/$name"
done

# ---- the table ----
pct() { [ "$2" -gt 0 ] && awk -v a="$1" -v b="$2" 'BEGIN { printf "%d%%", 100 * a / b + 0.5 }' || echo "-"; }
{
	printf '%-38s %-16s %-9s %-52s %-16s %-12s %s\n' plant class module "caught by scenarios (first)" "make check" unit nemesis
	for r in "${rows[@]}"; do
		IFS=$'\t' read -r a b c d e f g h <<<"$r"
		printf '%-38s %-16s %-9s %-52s %-16s %-12s %s\n' "$a" "$b" "$c" "$d" "$e" "$f" "$g"
	done
	echo
	for c in $(printf '%s\n' "${!cls_n[@]}" | sort); do
		printf '  %-18s %2d plants: scenarios %2d, make check %2d\n' "$c" "${cls_n[$c]}" "${cls_scn[$c]:-0}" "${cls_chk[$c]:-0}"
	done
	echo "scenarios caught $n_scn/$n ($(pct $n_scn $n); $n_cov of them by scenarios/coverage/ only), make check caught $n_chk/$n ($(pct $n_chk $n))$([ "$UNIT" -eq 1 ] && echo ", unit tests caught $n_unit/$n ($(pct $n_unit $n))")$([ -n "$NEMESIS" ] && echo ", nemesis sweeps caught $n_nem/$n; any catcher $n_any/$n ($(pct $n_any $n))")$([ $n_bad -gt 0 ] && echo "; $n_bad plant(s) did not apply or compile")"
	echo "mode=$MODE$([ "$B" != build ] && echo " ($B)") seeds=$SEEDS src=$SRC$([ "$MODE" = check ] && echo " sweeps=${PLANT_SWEEPS:-none}")"
}
if [ -n "$OUT" ]; then
	mkdir -p "$(dirname "$OUT")"
	printf 'plant\tclass\tmodule\tscenarios\tcheck\tunit\tnemesis\tseconds\n' >"$OUT"
	printf '%s\n' "${rows[@]}" >>"$OUT"
fi
exit 0
