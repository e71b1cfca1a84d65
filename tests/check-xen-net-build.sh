#!/usr/bin/env bash
# `make xen` builds the network drivers for real Xen: the same drivers/
# sources, linked against Debian's libxenevtchn, libxengnttab, libxenstore and
# libevent (ldd must resolve them), with nothing of the sim library inside.
# The tools answer a usage error without touching Xen, and fail cleanly (one
# verdict line, exit 1) where there is no Xen to talk to.
set -u
BUILD=${BUILD:-build}
out=$(make --no-print-directory BUILD="$BUILD" xen-net 2>&1); rc=$?
echo "$out" | tail -n 5
tests=0 failed=0
check() { tests=$((tests + 1)); if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi; }
check "make xen-net exits 0" '[ $rc -eq 0 ]'
for tool in xensim-netback xensim-netfront; do
	bin="$BUILD/xen/$tool"
	check "$tool built" '[ -x "$bin" ]'
	libs=$(ldd "$bin" 2>&1)
	for lib in libxenevtchn.so.1 libxengnttab.so.1 libxenstore.so.4 libevent-2.1.so; do
		check "$tool links $lib from the system" 'grep -Eq "^[[:space:]]*$lib[^ ]* => /[^ ]*$lib" <<<"$libs"'
	done
	check "$tool has no sim code in it" '! nm "$bin" 2>/dev/null | grep -Eq " [TtDdBb] (sim_|gnttab_|evtchn_|xs_conn_|switch_)"'
	check "$tool takes the real xs_open from libxenstore" 'nm -D "$bin" | grep -Eq " U xs_open"'
	"$bin" --bogus >/dev/null 2>&1; urc=$?
	check "$tool: a bad option is a usage error (2)" '[ $urc -eq 2 ]'
done
# No Xen here: xenstore is unreachable, the frontend says so and fails.
nf=$(XENSTORED_PATH=/nonexistent/socket timeout 20 "$BUILD/xen/xensim-netfront" --index 0 --peers 2 \
	--timeout-s 5 --verdict net-nox 2>&1); nrc=$?
check "xensim-netfront without Xen: exit 1" '[ $nrc -eq 1 ]'
check "xensim-netfront without Xen: one FAIL verdict" '[ "$(grep -c "^XCHECK FAIL net-nox" <<<"$nf")" -eq 1 ]'
nb=$(XENSTORED_PATH=/nonexistent/socket timeout 20 "$BUILD/xen/xensim-netback" --seconds 1 --verdict netb-nox 2>&1); brc=$?
check "xensim-netback without Xen: exit 1" '[ $brc -eq 1 ]'
check "xensim-netback without Xen: one FAIL verdict" '[ "$(grep -c "^XCHECK FAIL netb-nox" <<<"$nb")" -eq 1 ]'
echo "RESULT check-xen-net-build tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
