#!/usr/bin/env bash
# Show that a fuzz target finds a planted bug of its class (fuzz/README.md).
#   fuzz/plant-demo.sh PLANT TARGET [SECONDS] [SEED ...]
# Copies the tree (and build-fuzz/, so only the patched file recompiles) to a
# temporary directory, applies tests/plants/PLANT.patch there, builds TARGET
# and fuzzes it from the given seeds of fuzz/corpus/TARGET/ (default: all;
# give harmless ones so that the bug is found, not replayed) until it crashes
# or SECONDS (600) pass. Prints the time to the crash and the crash's head.
# FUZZ_SEED=N in the environment: libFuzzer's -seed (the same mutations again).
# Exit 0: crashed (the bug was found); 1: not found in time.
set -u
plant="$1"; target="$2"; seconds="${3:-600}"; shift 3 2>/dev/null || shift $#
seeds=("$@")
src=$(pwd)
tmp=$(mktemp -d /tmp/xensim-plant-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
tar -C "$src" --exclude=./build --exclude=./build-asan --exclude=./build-tsan --exclude=./build-cov \
    --exclude=./build-bench --exclude=./reports --exclude=./.git --exclude=./build-fuzz/corpus \
    --exclude=./build-fuzz/artifacts --exclude=./build-fuzz/logs --exclude=./build-fuzz/smoke --exclude=./build-fuzz/plant-logs -cf - . | tar -C "$tmp" -xf -
cd "$tmp" || exit 2
rm -rf build-fuzz/corpus build-fuzz/artifacts build-fuzz/logs
patch -s -p1 < "tests/plants/$plant.patch" || { echo "$plant: does not apply"; exit 2; }
make --no-print-directory fuzz-build FUZZ_ALL="$target" > build.log 2>&1 || { tail -20 build.log; exit 2; }
mkdir -p corpus art
if [ ${#seeds[@]} -eq 0 ]; then cp "fuzz/corpus/$target"/* corpus/; else
	for s in "${seeds[@]}"; do cp "fuzz/corpus/$target/$s" corpus/; done; fi
dict=()
[ -f "fuzz/$target.dict" ] && dict=("-dict=fuzz/$target.dict")
start=$(date +%s.%N)
"build-fuzz/fuzz/$target" "${dict[@]}" $(bash fuzz/target-opts.sh "$target") ${FUZZ_SEED:+-seed=$FUZZ_SEED} -artifact_prefix=art/ -timeout=30 -max_total_time="$seconds" \
	-print_final_stats=1 corpus > fuzz.log 2>&1
rc=$?
end=$(date +%s.%N)
mkdir -p "$src/build-fuzz/plant-logs"
cp fuzz.log "$src/build-fuzz/plant-logs/$plant.log"
execs=$(grep -a 'stat::number_of_executed_units' fuzz.log | awk '{print $2}')
if [ $rc -ne 0 ] && [ -n "$(ls art/)" ]; then
	printf '%s / %s: found in %.1f s (%s executions)\n' "$plant" "$target" "$(echo "$end - $start" | bc)" "${execs:-?}"
	grep -a -m1 -A12 -E 'ERROR: (AddressSanitizer|libFuzzer)|runtime error|fuzz invariant broken|panic' fuzz.log
	mkdir -p "$src/build-fuzz/plant-crashes"
	cp art/* "$src/build-fuzz/plant-crashes/" 2>/dev/null
	exit 0
fi
echo "$plant / $target: not found in $seconds s (${execs:-?} executions)"
tail -5 fuzz.log
exit 1
