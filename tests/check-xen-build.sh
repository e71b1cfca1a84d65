#!/usr/bin/env bash
# `make xen` builds the block drivers for real Xen: the same drivers/ sources,
# linked against Debian's libxenevtchn, libxengnttab, libxenstore and libevent
# (ldd must resolve them), with nothing of the sim library inside. The tools
# answer a usage error without touching Xen.
set -u
BUILD=${BUILD:-build}
out=$(make --no-print-directory BUILD="$BUILD" xen 2>&1); rc=$?
echo "$out" | tail -n 5
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }
check "make xen exits 0" '[ $rc -eq 0 ]'
for tool in xensim-blkback xensim-blkfront; do
	bin="$BUILD/xen/$tool"
	check "$tool built" '[ -x "$bin" ]'
	libs=$(ldd "$bin" 2>&1)
	for lib in libxenevtchn.so.1 libxengnttab.so.1 libxenstore.so.4 libevent-2.1.so; do
		check "$tool links $lib from the system" 'grep -Eq "^[[:space:]]*$lib[^ ]* => /[^ ]*$lib" <<<"$libs"'
	done
	check "$tool has no sim code in it" '! nm "$bin" 2>/dev/null | grep -Eq " [TtDdBb] (sim_|gnttab_|evtchn_|xs_conn_)"'
	check "$tool takes the real xs_open from libxenstore" 'nm -D "$bin" | grep -Eq " U xs_open"'
	"$bin" --bogus >/dev/null 2>&1; urc=$?
	check "$tool: a bad option is a usage error (2)" '[ $urc -eq 2 ]'
done
echo "RESULT check-xen-build tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
