#!/usr/bin/env bash
# xensim's Xen-compatible shared libraries (mk/lib.mk), checked from outside:
#  (a) a program built against Debian's headers and libraries only
#      (tests/libs/xenapi_peer.c) runs on the sim with LD_LIBRARY_PATH, in the
#      standalone mode (dom0, XENSIM_DOMAINS guests, XENSIM_REPORT, bad knobs);
#      a process that sets the sim up itself (tests/libs/embed_peer.c) is
#      left alone and shares one sim state with the Xen-named libraries;
#  (b) Debian's unmodified libxenvchan.so, server and client in one process
#      (tests/libs/vchan_peer.c): a verified stream both ways and a close with
#      nothing at all on stderr;
#  (c) our sonames, version nodes and symbol -> version pairs are Debian's;
#  (d) make install into a temporary prefix, and a program built with
#      `pkg-config --cflags --libs xensim` alone runs on the sim.
# Each check that passes on the sim is paired with one showing it can fail
# (Debian's real libraries on this host without /dev/xen; strict evtchn mode).
set -u
BUILD=${BUILD:-build}
VARIANT=${VARIANT:-default}
LIB="$BUILD/lib"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tests=0 failed=0
debian=$(dirname "$(find /usr/lib -name 'libxenevtchn.so.1' -print -quit 2>/dev/null)")

ok() { tests=$((tests + 1)); echo "ok: $1"; }
bad() { tests=$((tests + 1)); failed=$((failed + 1)); echo "FAILED: $1"; [ -n "${2:-}" ] && sed 's/^/    /' "$2" | head -n 15; }
# check NAME CMD...: the command must succeed.
check() { local name=$1; shift; if "$@" >"$tmp/out" 2>&1; then ok "$name"; else bad "$name" "$tmp/out"; fi; }
# refute NAME CMD...: the command must fail.
refute() { local name=$1; shift; if "$@" >"$tmp/out" 2>&1; then bad "$name (succeeded)" "$tmp/out"; else ok "$name"; fi; }

for f in "$LIB/libxensim.so.0" "$LIB/libxenevtchn.so.1" "$LIB/libxengnttab.so.1" "$LIB/libxenstore.so.4"; do
	[ -f "$f" ] || { echo "check-libs: $f not built (make libs)"; exit 3; }
done
[ -n "$debian" ] && [ -e /usr/include/libxenvchan.h ] || { echo "check-libs: libxen-dev missing"; exit 3; }

# A program not built with TSan cannot load TSan-built libraries.
if [ "$VARIANT" = tsan ]; then
	echo "check-libs: skipped under ThreadSanitizer (the peers are not TSan programs)"
	echo "RESULT check-libs tests=0 failed=0"
	exit 0
fi
# Under the ASan variant the libraries need the ASan runtime first in line.
run_env=(env LD_LIBRARY_PATH="$LIB")
if [ "$VARIANT" = asan ]; then
	run_env+=(LD_PRELOAD="$(gcc -print-file-name=libasan.so)" ASAN_OPTIONS=detect_leaks=0)
fi
on_sim() { "${run_env[@]}" "$@"; }

# Debian's headers and libraries only: no -I or -L of ours.
cc_debian() { gcc -std=gnu11 -Wall -Wextra -Werror -O1 -g "$@"; }
check "build xenapi_peer against Debian's headers and libraries" \
	cc_debian tests/libs/xenapi_peer.c -o "$tmp/xenapi_peer" -lxenevtchn -lxengnttab -lxenstore
check "build vchan_peer against Debian's libxenvchan" \
	cc_debian tests/libs/vchan_peer.c -o "$tmp/vchan_peer" -lxenvchan -pthread

# ---- (a) a program that knows nothing of xensim ----
check "xenapi_peer resolves libxenevtchn.so.1 to ours" \
	bash -c "LD_LIBRARY_PATH='$LIB' ldd '$tmp/xenapi_peer' | grep -q '$LIB/libxenevtchn.so.1'"
check "xenapi_peer on the sim (dom0: grants, event channels, xenstore)" on_sim "$tmp/xenapi_peer"
if [ ! -e /dev/xen/evtchn ]; then
	refute "xenapi_peer on Debian's real libraries fails here (no /dev/xen)" "$tmp/xenapi_peer"
fi
check "xenapi_peer with XENSIM_DOMAINS guests (homes, grant and port to a guest)" \
	on_sim env XENSIM_DOMAINS=guest1:5,other "$tmp/xenapi_peer" guest guest1 5
refute "a guest that is not there is not found" \
	on_sim env XENSIM_DOMAINS=other "$tmp/xenapi_peer" guest guest1 5
on_sim env XENSIM_REPORT=1 "$tmp/xenapi_peer" leak >"$tmp/leak" 2>&1
check "XENSIM_REPORT=1 names the shared page and port left open" \
	grep -q 'dom0 (Domain-0): 1 grants active, 0 foreign maps of them, 0 grants of others mapped, 1 event-channel ports' "$tmp/leak"
on_sim env XENSIM_REPORT=1 "$tmp/xenapi_peer" >"$tmp/clean" 2>&1
check "XENSIM_REPORT=1 after a clean run: nothing left" \
	grep -q 'dom0 (Domain-0): 0 grants active, 0 foreign maps of them, 0 grants of others mapped, 0 event-channel ports' "$tmp/clean"
for knob in XENSIM_DOMAINS=bad:0 XENSIM_DOMAINS=a,a XENSIM_DOMAINS=Domain-0 XENSIM_MODE=det \
	    XENSIM_REPORT=yes XENSIM_STANDALONE=2; do
	on_sim env "$knob" "$tmp/xenapi_peer" >"$tmp/knob" 2>&1
	rc=$?
	if [ "$rc" -ne 0 ] && grep -q "xensim: standalone: ${knob%%=*}" "$tmp/knob"; then
		ok "$knob refused, naming the variable"
	else
		bad "$knob not refused by name (exit $rc)" "$tmp/knob"
	fi
done
# Debian's own xenstore-ls binary, unmodified: the homes the standalone start wrote.
if [ -x /usr/bin/xenstore-ls ]; then
	on_sim env XENSIM_DOMAINS=web:7 /usr/bin/xenstore-ls -p /local/domain >"$tmp/ls" 2>&1
	check "Debian's xenstore-ls on the sim lists dom0's and a guest's homes with their permissions" \
		bash -c "grep -q 'name = \"Domain-0\"' '$tmp/ls' && grep -q 'name = \"web\".*(n0,r7)' '$tmp/ls' && grep -q 'data = \"\".*(n7)' '$tmp/ls'"
	refute "Debian's xenstore-ls on its real library fails here (no xenstored)" \
		env XENSTORED_PATH="$tmp/none" /usr/bin/xenstore-ls /local/domain
fi
check "build embed_peer (sim_init, its own domain) against libxensim.so.0" \
	gcc -std=gnu11 -Wall -Wextra -Werror -O1 -D_GNU_SOURCE -I. tests/libs/embed_peer.c \
	    -o "$tmp/embed_peer" -L"$LIB" -lxensim -lxenevtchn -lxenstore
check "a process that set the sim up itself is not standalone; one sim state" on_sim "$tmp/embed_peer"
refute "XENSIM_STANDALONE=0: no dom0 for the program" on_sim env XENSIM_STANDALONE=0 "$tmp/xenapi_peer"
refute "XENSIM_EVTCHN_STRICT=1: a notify after the peer closed fails" \
	on_sim env XENSIM_EVTCHN_STRICT=1 "$tmp/xenapi_peer"

# ---- (b) Debian's libxenvchan ----
on_sim "$tmp/vchan_peer" >"$tmp/vchan.out" 2>"$tmp/vchan.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -q 'vchan_peer: ok 1048576 bytes each way' "$tmp/vchan.out" && [ ! -s "$tmp/vchan.err" ]; then
	ok "libxenvchan: 1 MiB each way verified, both ends closed, stderr empty"
else
	cat "$tmp/vchan.out" >>"$tmp/vchan.err"
	bad "libxenvchan on the sim (exit $rc, stderr above must be empty)" "$tmp/vchan.err"
fi
on_sim env XENSIM_EVTCHN_STRICT=1 "$tmp/vchan_peer" 10000 >/dev/null 2>"$tmp/strict.err"
check "strict evtchn mode: the same close does warn (the empty-stderr check can fail)" \
	grep -q 'evtchn: notify: dom 0 port .*: port is unbound' "$tmp/strict.err"
if [ ! -e /dev/xen/evtchn ]; then
	refute "libxenvchan on Debian's real libraries fails here" "$tmp/vchan_peer" 10000
fi

# ---- (c) sonames, versions, symbol -> version ----
dynsyms() { objdump -T "$1" | awk '$2 == "g" && $0 !~ /\*UND\*/ { print $(NF-1), $NF }' | sort; }
for so in libxenevtchn.so.1 libxengnttab.so.1 libxenstore.so.4; do
	if diff <(dynsyms "$debian/$so") <(dynsyms "$LIB/$so") >"$tmp/diff"; then
		ok "$so: the same $(dynsyms "$LIB/$so" | wc -l) symbols with the same versions as Debian's"
	else
		bad "$so: symbols or versions differ from Debian's (< Debian, > ours)" "$tmp/diff"
	fi
	check "$so: soname $so, NEEDED libxensim.so.0" \
		bash -c "objdump -p '$LIB/$so' | grep -q 'SONAME *$so' && objdump -p '$LIB/$so' | grep -q 'NEEDED *libxensim.so.0'"
	check "$so: version definitions as Debian's" \
		diff <(objdump -p "$debian/$so" | sed -n '/Version definitions/,/^$/p') \
		     <(objdump -p "$LIB/$so" | sed -n '/Version definitions/,/^$/p')
done
refute "libxensim.so.0 does not export Xen's names (one definition per process)" \
	bash -c "objdump -T '$LIB/libxensim.so.0' | awk '\$NF == \"xenevtchn_open\" || \$NF == \"xs_read\"' | grep -q ."

# ---- (d) make install and pkg-config ----
make --no-print-directory BUILD="$BUILD" VARIANT="$VARIANT" install PREFIX="$tmp/prefix" >"$tmp/install" 2>&1
check "make install PREFIX=tmp" test -x "$tmp/prefix/bin/xensim"
for f in lib/libxensim.so.0 lib/libxensim.so lib/libxenevtchn.so.1 lib/libxenevtchn.so lib/libxengnttab.so.1 \
	 lib/libxenstore.so.4 lib/libxensim.a lib/pkgconfig/xensim.pc share/doc/xensim/README.md; do
	[ -e "$tmp/prefix/$f" ] || missing="${missing:-} $f"
done
if [ -z "${missing:-}" ]; then
	ok "installed: libraries, symlinks, archive, xensim.pc, scenario docs"
else
	bad "installed: missing$missing" "$tmp/install"
fi
pc() { PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig" pkg-config "$@"; }
check "pkg-config --cflags --libs xensim names the prefix" \
	bash -c "PKG_CONFIG_PATH='$tmp/prefix/lib/pkgconfig' pkg-config --cflags --libs xensim | grep -q -- '-L$tmp/prefix/lib'"
# shellcheck disable=SC2046
check "build xenapi_peer with pkg-config alone" \
	gcc -std=gnu11 -O1 tests/libs/xenapi_peer.c -o "$tmp/pc_peer" $(pc --cflags --libs xensim)
if [ "$VARIANT" != asan ]; then
	check "the pkg-config build runs on the installed sim (rpath, no LD_LIBRARY_PATH)" "$tmp/pc_peer"
fi
make --no-print-directory BUILD="$BUILD" VARIANT="$VARIANT" install DESTDIR="$tmp/stage" PREFIX=/opt/xensim >"$tmp/install2" 2>&1
check "make install DESTDIR=stage PREFIX=/opt/xensim: files staged, .pc names /opt/xensim" \
	bash -c "test -e '$tmp/stage/opt/xensim/lib/libxenstore.so.4' && grep -qx 'prefix=/opt/xensim' '$tmp/stage/opt/xensim/lib/pkgconfig/xensim.pc'"

echo "RESULT check-libs tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
