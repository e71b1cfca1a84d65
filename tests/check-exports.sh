#!/usr/bin/env bash
# The sim library must define every function Debian's real Xen libraries export
# (what drivers may call), so that the same driver objects link against either.
# One test per exported symbol.
set -u
BUILD=${BUILD:-build}
lib="$BUILD/libxensim.a"
libdir=$(dirname "$(find /usr/lib -name 'libxenevtchn.so.1' -print -quit 2>/dev/null)")
[ -f "$lib" ] || { echo "check-exports: $lib not built"; exit 3; }
defined=$(nm -g --defined-only "$lib" 2>/dev/null | awk '$2 == "T" { print $3 }' | sort -u)
tests=0 failed=0
for so in libxenevtchn.so.1 libxengnttab.so.1 libxenstore.so.4 ${XENSIM_EXPORT_LIBS:-}; do
	[ -e "$libdir/$so" ] || { echo "check-exports: $libdir/$so missing (libxen-dev)"; exit 3; }
	for sym in $(objdump -T "$libdir/$so" | awk '$2 == "g" && $4 == ".text" { print $NF }' | sort -u); do
		tests=$((tests + 1))
		if ! grep -qx "$sym" <<<"$defined"; then
			echo "missing: $sym (exported by $so)"
			failed=$((failed + 1))
		fi
	done
done
echo "checked $tests exported functions"
echo "RESULT check-exports tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
