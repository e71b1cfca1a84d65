#!/usr/bin/env bash
# Assemble the two initramfs images the QEMU-booted Xen runs:
#
#   OUT/guest.cpio   busybox-static, /init = init-guest.sh, the modules a PV
#                    guest needs for userspace drivers (xen-evtchn, xen-gntdev,
#                    xen-gntalloc), the guest's programs and their libraries
#   OUT/dom0.cpio    busybox-static, /init = init-dom0.sh, the five Xen
#                    modules and tun (xensim-netback's TAP), xenstored,
#                    xenconsoled, xen-init-dom0, xl, the check's
#                    programs, their libraries (ldd) plus libgcc_s.so.1
#                    (libxenstore cancels threads: glibc loads it then), and
#                    /xcheck/guest/{vmlinuz,initrd.cpio,guest.cfg} for `xl create`
#
# The images are uncompressed: under TCG, decompressing costs more emulated
# time than QEMU takes to copy the bytes.
#
# usage: assemble.sh CACHE OUT PLAN "DOM0 PROGRAMS" "GUEST PROGRAMS"
#   CACHE    what fetch.sh unpacked
#   OUT      where the images go (rebuilt from scratch)
#   PLAN     the steps to run, one per line (see init-dom0.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${1:?usage: assemble.sh CACHE OUT PLAN DOM0_PROGRAMS GUEST_PROGRAMS}
out=${2:?} plan=${3:?} dom0_progs=${4:?} guest_progs=${5-}
cache=$(cd "$cache" && pwd)
xenbin=usr/lib/xen-4.17/bin
busybox=$cache/busybox-static/bin/busybox

die() { echo "xen-check assemble: $*" >&2; exit 1; }

# libs ELF...: every library the ELFs load (ldd), one path per line.
libs() {
	local f
	for f in "$@"; do
		if ldd "$f" 2>&1 | grep -q 'not found'; then
			ldd "$f" | grep 'not found' >&2
			die "$f needs libraries this host lacks (install libxen-dev, libevent-dev)"
		fi
		ldd "$f" | sed -n 's|.*=> \(/[^ ]*\) .*|\1|p; s|^[[:space:]]*\(/[^ ]*\) (.*|\1|p'
	done | sort -u
}

# base ROOT: directories, busybox and its applets, the dynamic loader.
base() {
	local root=$1 a
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,lib/modules,lib64,etc,proc,sys,dev,tmp,run,var,xcheck/bin}
	cp "$busybox" "$root/bin/busybox"
	for a in $("$busybox" --list-full); do
		[ -e "$root/$a" ] || ln -s /bin/busybox "$root/$a"
	done
	echo "root:x:0:0:root:/:/bin/sh" >"$root/etc/passwd"
	echo "root:x:0:" >"$root/etc/group"
}

# install ROOT SRC DEST: copy a file (dereferenced) to ROOT/DEST.
install_file() {
	mkdir -p "$1/$(dirname "$3")"
	cp -L "$2" "$1/$3"
}

# programs ROOT FILE...: into /xcheck/bin, with their libraries.
programs() {
	local root=$1 f
	shift
	for f in "$@"; do
		[ -x "$f" ] || die "program $f is missing (not built?)"
		install_file "$root" "$f" "xcheck/bin/$(basename "$f")"
	done
	with_libs "$root" "$@"
}

# with_libs ROOT ELF...: the libraries of the ELFs, at their host paths.
with_libs() {
	local root=$1 l
	shift
	for l in $(libs "$@") /lib/x86_64-linux-gnu/libgcc_s.so.1; do
		[ -e "$root/$l" ] || install_file "$root" "$l" "$l"
	done
}

modules() {
	local root=$1 m
	shift
	: >"$root/lib/modules/modules.list"
	for m in "$@"; do
		grep -qx "$m.ko" "$cache/linux-image/modules.list" || die "module $m was not fetched"
	done
	# Keep fetch.sh's order (dependencies first), only the modules asked for.
	while read -r m; do
		case " $* " in *" ${m%.ko} "*) ;; *) continue ;; esac
		cp "$cache/linux-image/modules/$m" "$root/lib/modules/$m"
		echo "$m" >>"$root/lib/modules/modules.list"
	done <"$cache/linux-image/modules.list"
}

cpio_of() { # ROOT FILE
	if ! (cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
		"$busybox" cpio -o -H newc -R 0:0) >"$2.tmp" 2>"$2.err"; then
		cat "$2.err" >&2
		die "cpio of $1 failed"
	fi
	rm -f "$2.err"
	mv "$2.tmp" "$2"
}

[ -x "$busybox" ] || die "no busybox in $cache (run fetch.sh first)"
[ -s "$cache/linux-image/vmlinuz" ] || die "no kernel in $cache (run fetch.sh first)"
rm -rf "$out/guest-root" "$out/dom0-root"
mkdir -p "$out"

g=$out/guest-root
base "$g"
modules "$g" xen-evtchn xen-gntdev xen-gntalloc
install_file "$g" "$here/init-guest.sh" init
chmod 755 "$g/init"
cp "$plan" "$g/xcheck/plan"
if [ -n "$guest_progs" ]; then
	# shellcheck disable=SC2086
	programs "$g" $guest_progs
fi
cpio_of "$g" "$out/guest.cpio"

d=$out/dom0-root
base "$d"
modules "$d" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs tun
install_file "$d" "$here/init-dom0.sh" init
chmod 755 "$d/init"
cp "$plan" "$d/xcheck/plan"
for p in xenstored xenconsoled xen-init-dom0 xl; do
	install_file "$d" "$cache/xen-utils-4.17/$xenbin/$p" "$xenbin/$p"
	with_libs "$d" "$cache/xen-utils-4.17/$xenbin/$p"
done
# shellcheck disable=SC2086
programs "$d" $dom0_progs
mkdir -p "$d/xcheck/guest"
cp "$cache/linux-image/vmlinuz" "$d/xcheck/guest/vmlinuz"
cp "$out/guest.cpio" "$d/xcheck/guest/initrd.cpio"
cp "$here/guest.cfg" "$d/xcheck/guest/guest.cfg"
cpio_of "$d" "$out/dom0.cpio"
rm -rf "$g" "$d"
echo "xen-check assemble: $out/dom0.cpio $(du -k "$out/dom0.cpio" | cut -f1) KiB" \
	"(guest $(du -k "$out/guest.cpio" | cut -f1) KiB)"
