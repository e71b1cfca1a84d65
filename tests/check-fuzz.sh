#!/usr/bin/env bash
# The fuzz smoke of make check (fuzz/README.md): build the libFuzzer targets
# (build-fuzz/, clang-14; mk/packages installs it) and run each one over its
# committed corpus (every input once: the regressions) and then for
# FUZZ_SMOKE_SECONDS (5) of fuzzing. Any crash, hang past a target's own
# bound, or broken invariant fails. Without clang-14 and libFuzzer it says so
# and counts nothing.
set -u
secs=${FUZZ_SMOKE_SECONDS:-5}
if ! command -v clang-14 > /dev/null || ! ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a > /dev/null 2>&1; then
	echo "skip: clang-14 or libFuzzer (libfuzzer-14-dev) not installed; make setup installs them"
	echo "RESULT check-fuzz tests=0 failed=0"
	exit 0
fi
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }
start=$(date +%s)
out=$(nice make --no-print-directory -j2 fuzz-build 2>&1); rc=$?
echo "$out" | grep -E 'error|warning' | head -20
check "make fuzz-build exits 0 ($(( $(date +%s) - start )) s)" '[ $rc -eq 0 ]'
for src in fuzz/fuzz_*.c; do
	t=$(basename "$src" .c)
	check "$t: committed corpus present" '[ -n "$(ls fuzz/corpus/$t 2>/dev/null)" ]'
	res=$(bash fuzz/run.sh --smoke --seconds "$secs" "$t" 2>&1); trc=$?
	echo "$res" | grep -v '^target\|^total'
	if [ $trc -ne 0 ]; then
		# The driver targets' waits are bounded in real time (fuzz/world.h;
		# a driver's own timers run on the clock): on a badly loaded machine
		# a wait can run out. A crash of the input itself comes back when
		# the saved input runs alone; a timing one does not.
		art=$(ls -t "build-fuzz/smoke/artifacts/$t/" 2>/dev/null | head -n 1)
		if [ -n "$art" ] && timeout 120 "build-fuzz/fuzz/$t" $(bash fuzz/target-opts.sh "$t") "build-fuzz/smoke/artifacts/$t/$art" >/dev/null 2>&1; then
			echo "warning: $t: the crash does not come back when its input runs alone" \
			     "(build-fuzz/smoke/artifacts/$t/$art, log build-fuzz/smoke/logs/$t.log): timing, not counted"
			trc=0
		fi
	fi
	check "$t: corpus and ${secs} s of fuzzing without a crash" '[ $trc -eq 0 ]'
	execs=$(echo "$res" | awk -v t="$t" '$1 == t { print $3 }')
	check "$t: ran inputs ($execs)" '[ "${execs:-0}" -gt 0 ]'
done
# fuzz_xs_wire's ops mode reaches the store's cross-connection semantics
# (fuzz/README.md): traced, its seeds show a dom0 transaction conflicting with
# another connection's write, and guests refused what their perms refuse.
tr=$(FZX_TRACE=1 timeout 60 build-fuzz/fuzz/fuzz_xs_wire -runs=1 fuzz/corpus/fuzz_xs_wire/ops-tx \
	fuzz/corpus/fuzz_xs_wire/ops-perms 2>&1)
check "fuzz_xs_wire ops-tx: the commit of conn 0 conflicts with conn 1's write (EAGAIN)" \
	'echo "$tr" | grep -q "conn 0 (domain 0) TX_END tx [0-9]* -> EAGAIN"'
check "fuzz_xs_wire ops-perms: domain 1 reads /a/x (r1) but may not write it, domain 2 may not read it" \
	'echo "$tr" | grep -q "conn 2 (domain 1) READ /a/x tx 0 -> ok" &&
	 echo "$tr" | grep -q "conn 2 (domain 1) WRITE /a/x tx 0 -> EACCES" &&
	 echo "$tr" | grep -q "conn 3 (domain 2) READ /a/x tx 0 -> EACCES"'
echo "check-fuzz: $(( $(date +%s) - start )) s in all"
echo "RESULT check-fuzz tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
