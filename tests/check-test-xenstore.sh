#!/usr/bin/env bash
# Debian's own test-xenstore (package xen-utils-4.17) against `xensim xenstored`.
# Each of its tests runs on its own (-t NAME), then all of them in sequence
# with iterations, then several instances at once. Ends with
# "RESULT check-test-xenstore tests=N failed=M".
#
# Installing xen-utils-4.17 would upgrade systemd and bring udev and the Xen
# init scripts, so unless it is installed already the .deb is fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` into a cache under build/
# (nothing is installed). test-xenstore needs only libxenstore.so.4, which
# xenstore-utils brings.
set -u
name=check-test-xenstore
. "$(dirname "$0")/lib/xenstored.sh"
CACHE=${XENSIM_DEB_CACHE:-build/deb-cache}
PKG=xen-utils-4.17
REL=usr/lib/xen-4.17/bin/test-xenstore

# Unpack the package into $CACHE/$PKG once; concurrent runs wait on a lock and
# a half-done unpack never becomes visible (it is renamed into place).
fetch_test_xenstore() {
	local dest=$CACHE/$PKG work
	[ -x "$dest/$REL" ] && return 0
	mkdir -p "$CACHE" || return 1
	exec 9>"$CACHE/.lock"
	flock -w 300 9 || { echo "cannot lock $CACHE/.lock"; return 1; }
	if [ ! -x "$dest/$REL" ]; then
		work=$(mktemp -d "$CACHE/.unpack-XXXXXX")
		if ! (cd "$work" && apt-get download "$PKG") >"$work/apt.log" 2>&1; then
			echo "apt-get download $PKG failed (no network, or run 'apt-get update' first):"
			sed 's/^/    /' "$work/apt.log"
			rm -rf "$work"
			flock -u 9
			return 1
		fi
		if ! dpkg-deb -x "$work"/"$PKG"_*.deb "$work/root" || [ ! -x "$work/root/$REL" ]; then
			echo "unpacking $(ls "$work"/*.deb) gave no $REL"
			rm -rf "$work"
			flock -u 9
			return 1
		fi
		rm -rf "$dest"
		mv "$work/root" "$dest"
		rm -rf "$work"
	fi
	flock -u 9
	exec 9>&-
	return 0
}

# run WHAT ARGS...: test-xenstore must exit 0 and report no failure.
run() {
	local what=$1 out rc
	shift
	tests=$((tests + 1))
	out=$(timeout 120 "$TX" "$@" 2>&1)
	rc=$?
	if [ "$rc" -ne 0 ] || grep -Eq 'failed|Exhaustive' <<<"$out"; then
		fail "$what" "test-xenstore $*: exit $rc" "$(sed 's/^/  /' <<<"$out")"
	else
		echo "ok: $what"
	fi
}

if [ -x "/$REL" ]; then
	TX=/$REL
elif fetch_test_xenstore; then
	TX=$CACHE/$PKG/$REL
else
	fail "cannot obtain test-xenstore from $PKG"
	finish
fi
if ! command -v xenstore-exists >/dev/null || [ ! -x "$XENSIM" ]; then
	fail "needs xenstore-utils installed and $XENSIM built"
	finish
fi
mapfile -t names < <("$TX" --list-tests | sed -E 's/ *:.*$//')
if [ "${#names[@]}" -lt 10 ]; then
	fail "test-xenstore --list-tests listed ${#names[@]} tests" "$("$TX" --list-tests 2>&1)"
	finish
fi
if ! start_server "$sock" "$tmp/server.log" --quiet; then
	fail "server start"
	finish
fi
export XENSTORED_PATH=$sock

for t in "${names[@]}"; do
	run "test-xenstore -t '$t'" -t "$t"
done
run "all tests in sequence, 20 iterations each" -i 20

# Its clean-up removes its directory, relative to dom0's home.
tests=$((tests + 1))
if xenstore-exists /local/domain/0/xenstore-test; then
	fail "test-xenstore left /local/domain/0/xenstore-test behind" \
		"$(xenstore-ls /local/domain/0/xenstore-test 2>&1 | head -n 5)"
else
	echo "ok: nothing left behind"
fi

# Several instances at once: each works in its own directory, their
# transactions interleave on one server.
tests=$((tests + 1))
pids=()
for i in 1 2 3 4; do
	timeout 120 "$TX" -i 5 >"$tmp/par$i.out" 2>&1 &
	pids+=($!)
done
par_failed=0
for i in 1 2 3 4; do
	wait "${pids[$((i - 1))]}" || par_failed=1
	grep -q failed "$tmp/par$i.out" && par_failed=1
done
if [ "$par_failed" -ne 0 ]; then
	fail "4 instances at once" "$(grep -h . "$tmp"/par*.out | sed 's/^/  /' | head -n 40)"
else
	echo "ok: 4 instances at once"
fi

tests=$((tests + 1))
kill -TERM "$server_pid"
wait "$server_pid"
rc=$?
server_pid=
if [ "$rc" -ne 0 ]; then
	fail "server exit after SIGTERM: $rc" "$(tail -n 20 "$tmp/server.log")"
else
	echo "ok: server stopped cleanly"
fi
finish
