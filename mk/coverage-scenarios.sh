#!/usr/bin/env bash
# Coverage per scenario (make coverage-scenarios): every corpus scenario file
# runs in its own process with its own GCOV_PREFIX, the CUnit suites in one
# more ("_units"), then tools/covmap.py merges them into one map that answers
# "which scenario reaches this branch?" and "what does my scenario add?".
# Needs the cov build (build-cov/, VARIANT=cov).
set -u
BUILD=build-cov
ROOT=$BUILD/per-run
OUT=${COVMAP_OUT:-reports/coverage}
SEEDS=${COVMAP_SEEDS:-1..3}
FILES=${COVMAP_FILES:-$(find scenarios -name '*.scn' -not -path '*/in-development/*' | sort)}
strip=$(pwd | tr -cd / | wc -c)     # GCOV_PREFIX replaces the repository's absolute path

rm -rf "$ROOT" && mkdir -p "$ROOT" "$OUT"
n=0
for f in $FILES; do
	run=$(sed 's|/|__|g; s|\.scn$||' <<<"$f")
	GCOV_PREFIX=$ROOT/$run GCOV_PREFIX_STRIP=$strip timeout 300 \
		"$BUILD/xensim" run "$f" --seeds "$SEEDS" >/dev/null 2>&1
	n=$((n + 1))
done
echo "coverage-scenarios: $n scenario files run at seeds $SEEDS"
if [ -z "${COVMAP_NO_UNITS:-}" ]; then
	for t in "$BUILD"/tests/*_test; do
		GCOV_PREFIX=$ROOT/_units GCOV_PREFIX_STRIP=$strip timeout 600 "$t" >/dev/null 2>&1
	done
	echo "coverage-scenarios: unit suites run"
fi
python3 tools/covmap.py collect "$ROOT" "$OUT/covmap.json" || exit 1
python3 tools/covmap.py report "$OUT/covmap.json" > "$OUT/scenarios.txt" || exit 1
cat "$OUT/scenarios.txt"
echo "per-scenario coverage: $OUT/scenarios.txt; ask it with"
echo "  python3 tools/covmap.py who $OUT/covmap.json drivers/blk/blkback.c:LINE"
echo "  python3 tools/covmap.py adds $OUT/covmap.json scenarios__blk__basic"
