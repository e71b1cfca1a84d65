#!/usr/bin/env bash
# Run every test binary in $BUILD/tests and every check script tests/check-*.sh,
# one progress line each, logs in $BUILD/test-logs/, and close with the line
# "N passed, N failed". Exit non-zero if anything failed.
#
# A CUnit binary prints "RESULT <name> tests=N failed=M"; a check script prints
# "RESULT <name> tests=N failed=M" too (or counts as one test by its exit code).
set -u
BUILD=${BUILD:-build}
logs="$BUILD/test-logs"
mkdir -p "$logs"
timeout_s=${TEST_TIMEOUT_S:-600}
passed=0 failed=0
export BUILD

run_one() { # name, command...
	local name=$1; shift
	local log="$logs/$name.log" start end rc line t f
	start=$(date +%s.%N)
	timeout --kill-after=10 "$timeout_s" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s.%N)
	line=$(grep -E '^RESULT [^ ]+ tests=[0-9]+ failed=[0-9]+' "$log" | tail -n 1)
	if [ -n "$line" ]; then
		t=$(sed -E 's/.*tests=([0-9]+).*/\1/' <<<"$line")
		f=$(sed -E 's/.*failed=([0-9]+).*/\1/' <<<"$line")
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1   # crashed after its summary
	else
		t=1; f=$(( rc == 0 ? 0 : 1 ))
	fi
	[ "$f" -gt "$t" ] && t=$f
	passed=$((passed + t - f)); failed=$((failed + f))
	printf '%-28s %4d tests  %3d failed  %6.1fs%s\n' "$name" "$t" "$f" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')" "$([ "$f" -ne 0 ] && echo "   FAIL (exit $rc) see $log")"
	if [ "$f" -ne 0 ]; then
		failure_excerpt "$log" | head -n 24 | sed "s/^/    /"
	fi
}

# What failed, from a log: each failed CUnit test by name with its numbered
# assertion lines (the test's own output may come between "Test: name ..."
# and its verdict), then sanitizer and script verdicts.
failure_excerpt() { # log
	awk '
		/^  Test: / { test = $0; sub(/ \.\.\..*/, "", test) }
		/FAILED/ && test != "" { print test " ... FAILED"; inlist = 1; test = ""; next }
		inlist && /^ +[0-9]+\. / { print; next }
		{ inlist = 0 }
		/FAILED|^missing:|Assertion|ERROR|runtime error|Sanitizer/ { print }
	' "$1"
}

for t in "$BUILD"/tests/*_test; do
	[ -x "$t" ] || continue
	run_one "$(basename "$t")" "$t"
done
for s in tests/check-*.sh; do
	[ -f "$s" ] || continue
	run_one "$(basename "$s" .sh)" bash "$s"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
