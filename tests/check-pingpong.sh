#!/usr/bin/env bash
# The demo exchange as a test: 20,000 verified round trips between two domains,
# nothing left over at teardown, and a usage error for a bad option.
set -u
BUILD=${BUILD:-build}
out=$("$BUILD/xensim" pingpong --round-trips 20000 --seed 7 2>&1); rc=$?
echo "$out"
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }
check "exit 0" '[ $rc -eq 0 ]'
check "all round trips verified" 'grep -q "^PASS: 20000 round trips verified, 0 leaks" <<<"$out"'
check "backend served every request" 'grep -q "20000 requests served" <<<"$out"'
"$BUILD/xensim" pingpong --round-trips 0 >/dev/null 2>&1; rc=$?
check "bad option is a usage error (2)" '[ $rc -eq 2 ]'
echo "RESULT check-pingpong tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
