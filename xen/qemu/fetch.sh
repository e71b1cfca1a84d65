#!/usr/bin/env bash
# Fetch what the QEMU-booted Xen needs into a cache under build/, installing
# nothing on the host: `apt-get download` + `dpkg-deb -x` of
#   xen-hypervisor-4.17-amd64  -> xen-hypervisor/xen.elf (uncompressed: QEMU's
#                                 multiboot loader cannot read the .gz)
#   linux-image-<abi>-amd64    -> linux-image/vmlinuz + the five Xen modules
#                                 and tun (xensim-netback's TAP bridge)
#   xen-utils-4.17             -> xen-utils-4.17/ (xl, xenstored, xenconsoled,
#                                 xen-init-dom0; same layout as
#                                 tests/check-test-xenstore.sh uses)
#   busybox-static             -> busybox-static/bin/busybox
# A second run finds everything and fetches nothing. Each part is unpacked in
# a scratch directory and renamed into place, under the cache's lock, so an
# interrupted or concurrent run never sees half a package.
#
# usage: fetch.sh CACHE_DIR
set -euo pipefail
cache=${1:?usage: fetch.sh CACHE_DIR}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
MODULES="xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs tun"
# What of the kernel's module tree is unpacked to look for them in.
MODULE_GLOBS="drivers/xen/* drivers/net/tun.ko"
updated=0

die() { echo "xen-check fetch: $*" >&2; exit 1; }

# apt-get download needs a current index: an old one names .debs the mirror
# no longer has. Refresh it once per run, only when something is missing.
apt_update_once() {
	[ "$updated" -eq 1 ] && return 0
	updated=1
	if [ "$(id -u)" -eq 0 ]; then
		echo "xen-check fetch: apt-get update"
		apt-get update -qq || die "apt-get update failed (no network?)"
	fi
}

# download PKG DIR: the .deb of PKG into DIR.
download() {
	local pkg=$1 dir=$2
	apt_update_once
	echo "xen-check fetch: apt-get download $pkg"
	if ! (cd "$dir" && apt-get download "$pkg") >"$dir/apt.log" 2>&1; then
		sed 's/^/    /' "$dir/apt.log" >&2
		die "apt-get download $pkg failed (no network, or run 'apt-get update' as root)"
	fi
}

fetch_xen_utils() {
	local dest=$cache/xen-utils-4.17 work
	[ -x "$dest/usr/lib/xen-4.17/bin/xl" ] && return 0
	work=$(mktemp -d "$cache/.unpack-XXXXXX")
	download xen-utils-4.17 "$work"
	dpkg-deb -x "$work"/xen-utils-4.17_*.deb "$work/root"
	[ -x "$work/root/usr/lib/xen-4.17/bin/xl" ] || die "xen-utils-4.17 has no usr/lib/xen-4.17/bin/xl"
	rm -rf "$dest" && mv "$work/root" "$dest" && rm -rf "$work"
}

fetch_busybox() {
	local dest=$cache/busybox-static work
	[ -x "$dest/bin/busybox" ] && return 0
	work=$(mktemp -d "$cache/.unpack-XXXXXX")
	download busybox-static "$work"
	dpkg-deb -x "$work"/busybox-static_*.deb "$work/root"
	[ -x "$work/root/bin/busybox" ] || die "busybox-static has no bin/busybox"
	rm -rf "$dest" && mv "$work/root" "$dest" && rm -rf "$work"
}

fetch_hypervisor() {
	local dest=$cache/xen-hypervisor work gz
	[ -s "$dest/xen.elf" ] && return 0
	work=$(mktemp -d "$cache/.unpack-XXXXXX")
	download xen-hypervisor-4.17-amd64 "$work"
	dpkg-deb -x "$work"/xen-hypervisor-4.17-amd64_*.deb "$work/root"
	gz=$(ls "$work"/root/boot/xen-4.17-amd64.gz 2>/dev/null) ||
		die "xen-hypervisor-4.17-amd64 has no boot/xen-4.17-amd64.gz"
	mkdir -p "$work/out"
	zcat "$gz" >"$work/out/xen.elf"
	dpkg-deb -f "$work"/xen-hypervisor-4.17-amd64_*.deb Version >"$work/out/version"
	rm -rf "$dest" && mv "$work/out" "$dest" && rm -rf "$work"
}

# have_kernel: vmlinuz and every module of MODULES are in the cache (a cache
# made before a module joined MODULES is fetched again).
have_kernel() {
	local m
	[ -s "$cache/linux-image/vmlinuz" ] && [ -s "$cache/linux-image/modules.list" ] || return 1
	for m in $MODULES; do
		grep -qx "$m.ko" "$cache/linux-image/modules.list" || return 1
	done
}

# The kernel .deb is large; only vmlinuz and the modules of MODULE_GLOBS are
# unpacked, and only those the check loads are kept. modules.dep is made by
# depmod at install time, so the load order comes from each module's own
# "depends".
fetch_kernel() {
	local dest=$cache/linux-image work pkg deb kver dir d
	local globs=() pats
	have_kernel && return 0
	work=$(mktemp -d "$cache/.unpack-XXXXXX")
	apt_update_once
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9].*-amd64\)$/\1/p' | head -n1)
	[ -n "$pkg" ] || die "cannot resolve linux-image-amd64 to a kernel package (apt-cache depends)"
	download "$pkg" "$work"
	deb=$(ls "$work"/"$pkg"_*.deb)
	mkdir -p "$work/root" "$work/out/modules"
	read -ra pats <<<"$MODULE_GLOBS"   # no pathname expansion here
	for d in "${pats[@]}"; do globs+=("./lib/modules/*/kernel/$d"); done
	dpkg-deb --fsys-tarfile "$deb" |
		tar -x -C "$work/root" --wildcards './boot/vmlinuz-*' "${globs[@]}"
	kver=$(ls "$work/root/lib/modules")
	dir=$work/root/lib/modules/$kver/kernel
	cp "$work/root/boot/vmlinuz-$kver" "$work/out/vmlinuz"
	echo "$kver" >"$work/out/kernel-release"
	echo "$pkg $(dpkg-deb -f "$deb" Version)" >"$work/out/version"
	: >"$work/out/modules.list"     # the insmod order, dependencies first
	for m in $MODULES; do
		kernel_module "$dir" "$m" "$work/out" "$pkg"
	done
	rm -rf "$dest" && mv "$work/out" "$dest" && rm -rf "$work"
}

# kernel_module DIR NAME OUT PKG: copy NAME.ko and (first) what it depends on.
kernel_module() {
	local dir=$1 m=$2 out=$3 pkg=$4 ko d deps
	grep -qx "$m.ko" "$out/modules.list" && return 0
	ko=$(find "$dir" -name "$m.ko" -o -name "${m//-/_}.ko" | head -n1)
	[ -n "$ko" ] || die "$pkg: no module $m in kernel/{${MODULE_GLOBS// /,}}"
	# .modinfo holds NUL-separated key=value strings; no kmod needed.
	deps=$(tr '\0' '\n' <"$ko" | sed -n 's/^depends=//p' | head -n1)
	for d in ${deps//,/ }; do
		kernel_module "$dir" "$d" "$out" "$pkg"
	done
	cp "$ko" "$out/modules/$m.ko"
	echo "$m.ko" >>"$out/modules.list"
}

exec 9>"$cache/.lock"
flock -w 600 9 || die "cannot lock $cache/.lock"
rm -rf "$cache"/.unpack-*   # left by an interrupted run; we hold the lock
fetch_hypervisor
fetch_kernel
fetch_xen_utils
fetch_busybox
