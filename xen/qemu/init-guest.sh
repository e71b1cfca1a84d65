#!/bin/sh
# /init of the PV guest (busybox sh): the modules userspace frontends need,
# then the guest half of each step in /xcheck/plan. Its console goes to
# xenconsoled's log in dom0, which dom0 copies to the serial log.
export PATH=/xcheck/bin:/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
# xen-gntalloc allows 1024 shared pages by default (all of its users
# together); a netfront with 4 queues shares 2048 and more.
modparams() { [ "$1" = xen-gntalloc.ko ] && echo limit=65536; }
say() { echo "XCHECK $*"; }
planned() { grep -qx "$1" /xcheck/plan; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
say "STAGE guest init uptime=$(cut -d' ' -f1 /proc/uptime)"
for m in $(cat /lib/modules/modules.list); do
	insmod "/lib/modules/$m" $(modparams "$m") || say "FAIL guest-boot insmod $m"
done
say "PASS guest-boot modules $(tr '\n' ' ' </lib/modules/modules.list)"

# run NAME SECONDS CMD...: as in dom0's init, a verdict even if CMD dies.
run() {
	name=$1 limit=$2
	shift 2
	timeout -s KILL "$limit" "$@" >/tmp/$name.out 2>&1
	rc=$?
	grep '^XCHECK ' /tmp/$name.out
	if [ $rc -eq 137 ]; then
		say "FAIL $name killed after ${limit}s: $*"
	elif [ $rc -ne 0 ]; then
		grep -q '^XCHECK FAIL' /tmp/$name.out || say "FAIL $name exit status $rc: $*"
	fi
	[ $rc -ne 0 ] && grep -v '^XCHECK ' /tmp/$name.out | sed 's/^/    | /' | tail -n 40
}

# Keep in step with init-dom0.sh (BLK_ARGS, VBD_RAM, VBD_FILE).
BLK_ARGS="--ios 1500 --queue-depth 32 --size-min 512 --size-max 262144 --flush-pct 3 --discard-pct 3 --span 16777216 --timeout-s 60"
# Keep in step with init-dom0.sh (NET_ARGS): dom0's netfront is the peer.
NET_ARGS="--messages 1000 --pings 50 --size-max 65535 --large-pct 8 --linger-ms 1500"
if planned net-guest; then
	say "STAGE guest net uptime=$(cut -d' ' -f1 /proc/uptime)"
	# shellcheck disable=SC2086
	run net-guest 90 xensim-netfront --devid 0 --index 1 --peers 2 --seed 21 $NET_ARGS --timeout-s 60 --verdict net-guest
fi
if planned blk-guest; then
	say "STAGE guest blk uptime=$(cut -d' ' -f1 /proc/uptime)"
	# shellcheck disable=SC2086
	run blk-guest-ram 90 xensim-blkfront --devid 51712 --seed 2001 $BLK_ARGS --verdict blk-guest-ram
	# shellcheck disable=SC2086
	run blk-guest-file 90 xensim-blkfront --devid 51728 --seed 2002 $BLK_ARGS --verdict blk-guest-file
fi
say "STAGE guest end uptime=$(cut -d' ' -f1 /proc/uptime)"
# dom0 now removes the devices, then destroys this domain.
say GUEST-DONE
sleep 600
