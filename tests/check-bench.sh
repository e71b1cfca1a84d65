#!/usr/bin/env bash
# make bench's harness, smoke-tested: every benchmark runs once at a small
# scale, every metric gets a value and a ceiling ratio where it names one, the
# JSON report holds the fields the issue lists, and bad arguments are usage
# errors. No number is compared with a threshold: timings are `make bench`'s
# business, never a test's.
set -u
BUILD=${BUILD:-build}
make -s --no-print-directory BUILD="$BUILD" "$BUILD/xen/xensim-xsbench" >/dev/null 2>&1
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }

"$BUILD/xensim" bench --list >"$tmp/list"; rc=$?
check "--list exits 0" '[ $rc -eq 0 ]'
metrics=$(awk '/^  [a-z]/ {print $1}' "$tmp/list")
benches=$(awk '/^[a-z]/ {print $1}' "$tmp/list")
for b in ceiling ring evtchn xenstore blk net det scale; do
	check "benchmark $b is registered" 'grep -qx "$b" <<<"$benches"'
done

"$BUILD/xensim" bench --quick --runs 1 --json "$tmp/bench.json" >"$tmp/out" 2>"$tmp/err"; rc=$?
cat "$tmp/out"; tail -n 20 "$tmp/err"
check "every run passed (exit 0)" '[ $rc -eq 0 ]'
check "table printed" 'grep -q "^metric .*median .*ceiling .*ratio" "$tmp/out"'
for m in $metrics; do
	line=$(grep -F "{\"name\": \"$m\"," "$tmp/bench.json")
	check "$m has a value" 'grep -Eq "\"value\": [0-9.e+-]+," <<<"$line"'
	check "$m has name, value, unit, ceiling, ratio, median, n, min, max" \
		'grep -Eq "\"unit\": \"[^\"]+\", \"ceiling\": .*\"ratio\": .*\"median\": .*\"n\": 1, \"min\": .*\"max\": " <<<"$line"'
	if grep -Eq "\"ceiling\": \"" <<<"$line"; then
		check "$m has a ratio to its ceiling" 'grep -Eq "\"ratio\": [0-9.e+-]+," <<<"$line"'
	fi
done

# Three runs: the harness's statistics must be ordered and count the runs.
"$BUILD/xensim" bench --quick --runs 3 --json "$tmp/three.json" ceiling >/dev/null 2>&1; rc=$?
check "three runs of the ceilings exit 0" '[ $rc -eq 0 ]'
bad=$(awk -F'[:,]' '/"name": "ceil\./ {
	for (i = 1; i < NF; i++) { gsub(/[ "]/, "", $i); v[$i] = $(i + 1) + 0 }
	if (!(v["min"] <= v["median"] && v["median"] <= v["max"] && v["n"] == 3 && v["value"] == v["median"])) print
}' "$tmp/three.json")
check "every metric of 3 runs has n 3 and min <= median = value <= max" '[ -z "$bad" ] && grep -q "\"n\": 3" "$tmp/three.json"'

"$BUILD/xensim" bench no-such-bench >/dev/null 2>"$tmp/err"; rc=$?
check "unknown benchmark is a usage error (2) naming it" '[ $rc -eq 2 ] && grep -q "no-such-bench" "$tmp/err"'
"$BUILD/xensim" bench --runs 0 ring >/dev/null 2>&1; rc=$?
check "--runs 0 is a usage error (2)" '[ $rc -eq 2 ]'
echo "RESULT check-bench tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
