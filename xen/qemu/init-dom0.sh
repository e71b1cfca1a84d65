#!/bin/sh
# /init of dom0 in the QEMU-booted Xen (busybox sh). Brings up what a Xen
# toolstack needs (modules, xenfs, devpts, xenstored, xen-init-dom0,
# xenconsoled), then runs the steps listed in /xcheck/plan, each under a time
# limit, and prints on the console (Xen's serial port):
#   XCHECK STAGE <what>               progress, for the runner's timings
#   XCHECK PASS|FAIL <name> <details> one verdict
#   XCHECK DONE                       the end; the runner stops QEMU then
# Steps: selftest, blk-self, blk-guest, net-self, net-tap, net-guest (see below).
export PATH=/xcheck/bin:/usr/lib/xen-4.17/bin:/bin:/sbin:/usr/bin:/usr/sbin
export LD_LIBRARY_PATH=/lib/x86_64-linux-gnu
GUEST=xcheck-guest
GUEST_LOG=/var/log/xen/console/guest-$GUEST.log
GUEST_WAIT_S=90
LOGS=/tmp/xcheck
DISKS=/tmp/disks
# The block workload: enough I/O to cross every path (indirect requests,
# several queues, persistent grants, flush, discard), small enough for TCG.
BLK_DISK=32M
BLK_ARGS="--ios 1500 --queue-depth 32 --size-min 512 --size-max 262144 --flush-pct 3 --discard-pct 3 --span 16777216 --timeout-s 60"
VBD_RAM=51712    # xvda
VBD_FILE=51728   # xvdb
# The network workload, per pair of netfronts on xensim-netback's hub: bulk
# streams (some GSO frames) and pings both ways, every frame checked. Both
# ends of a pair take the same --seed: a receiver regenerates what its peer
# sent from it. Seeds are fixed, so a failing run replays as it was.
NET_ARGS="--messages 1000 --pings 50 --size-max 65535 --large-pct 8 --linger-ms 1500"
# The TAP step: requests of 60..1514 bytes from the TAP's kernel side, each
# answered by the vif's netfront, at most TAP_WINDOW unanswered.
TAP_IF=xtap0
TAP_FRAMES=2000
TAP_SEED=31
TAP_WINDOW=8

# xen-gntalloc allows 1024 shared pages by default (all of its users
# together); a netfront with 4 queues shares 2048 and more.
modparams() { [ "$1" = xen-gntalloc.ko ] && echo limit=65536; }
say() { echo "XCHECK $*"; }
stage() { say "STAGE $* uptime=$(cut -d' ' -f1 /proc/uptime)"; }
planned() { grep -qx "$1" /xcheck/plan; }

# indent FILE: a program's output under a verdict that failed.
# Its verdict lines are printed already, so they are left out here.
indent() { grep -v '^XCHECK ' "$1" | sed 's/^/    | /' | tail -n 40; }

# run NAME SECONDS CMD...: CMD under a time limit, its output in $LOGS/NAME.
# The program prints its own verdicts; this adds one only if it could not.
run() {
	name=$1 limit=$2
	shift 2
	timeout -s KILL "$limit" "$@" >"$LOGS/$name.out" 2>&1
	rc=$?
	grep '^XCHECK ' "$LOGS/$name.out"
	if [ $rc -eq 137 ]; then
		say "FAIL $name killed after ${limit}s: $*"
		indent "$LOGS/$name.out"
	elif [ $rc -ne 0 ]; then
		grep -q '^XCHECK FAIL' "$LOGS/$name.out" || say "FAIL $name exit status $rc: $*"
		indent "$LOGS/$name.out"
	fi
	return $rc
}

# wait_for SECONDS CMD...: retry CMD every 0.1 s until it succeeds.
wait_for() {
	n=$(($1 * 10))
	shift
	while [ $n -gt 0 ]; do
		"$@" >/dev/null 2>&1 && return 0
		usleep 100000
		n=$((n - 1))
	done
	return 1
}

up() {
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	mkdir -p /dev/pts /dev/shm
	mount -t devpts devpts /dev/pts   # xl allocates a pty for the guest console
	mount -t tmpfs tmpfs /run
	mount -t tmpfs tmpfs /tmp        # file disks: tmpfs punches holes for discard
	mkdir -p $LOGS $DISKS
	mkdir -p /var && ln -s /run /var/run
	mkdir -p /run/xenstored /run/xen /var/lib/xenstored /var/log/xen/console /var/lib/xen /etc/xen
	stage "dom0 init"
	for m in $(cat /lib/modules/modules.list); do
		insmod "/lib/modules/$m" $(modparams "$m") || { say "FAIL boot insmod $m"; return 1; }
	done
	mount -t xenfs xenfs /proc/xen || { say "FAIL boot mount xenfs"; return 1; }
	xenstored --pid-file /run/xenstored.pid || { say "FAIL boot xenstored exit $?"; return 1; }
	wait_for 10 test -S /run/xenstored/socket || { say "FAIL boot xenstored socket never appeared"; return 1; }
	xen-init-dom0 >$LOGS/init-dom0.out 2>&1 || { say "FAIL boot xen-init-dom0"; indent $LOGS/init-dom0.out; return 1; }
	xenconsoled --log=guest --log-dir=/var/log/xen/console --pid-file=/run/xenconsoled.pid ||
		{ say "FAIL boot xenconsoled exit $?"; return 1; }
	echo 'autoballoon="off"' >/etc/xen/xl.conf   # dom0_mem is fixed; ballooning is slow under TCG
	say "PASS boot dom0 up: modules $(tr '\n' ' ' </lib/modules/modules.list)xenstored xen-init-dom0 xenconsoled"
}

step_selftest() {
	stage selftest
	run selftest 60 xcheck-selftest --requests 4000 --timeout-s 40
}

# ---- block: xensim-blkback in dom0 serving a ram disk and a file disk ----

# blk_backend_start WHO: a backend for this step's disks, in the background.
blk_backend_start() {
	truncate -s $BLK_DISK $DISKS/$1.img
	xensim-blkback --ram ram-$1=$BLK_DISK --verdict blk-$1-backend >$LOGS/blkback-$1.out 2>&1 &
	BLKBACK_PID=$!
}

# blk_devices_create WHO FE_DOMID: vbd VBD_RAM on the ram disk, VBD_FILE on
# the file, written the way the sim's toolstack writes them.
blk_devices_create() {
	common="--be mode=w --be device-type=disk --be removable=0 --fe device-type=disk"
	# shellcheck disable=SC2086
	xcheck-toolstack create vbd "$2" $VBD_RAM --be params=ram-$1 --be type=ram --be dev=xvda \
		--fe virtual-device=$VBD_RAM $common >$LOGS/ts-$1.out 2>&1 &&
	xcheck-toolstack create vbd "$2" $VBD_FILE --be params=$DISKS/$1.img --be type=file --be dev=xvdb \
		--fe virtual-device=$VBD_FILE $common >>$LOGS/ts-$1.out 2>&1 && return 0
	say "FAIL blk-$1-devices toolstack could not create the vbds of dom$2"
	indent $LOGS/ts-$1.out
	return 1
}

blk_teardown() { # WHO FE_DOMID
	teardown blk-$1-teardown vbd "$2:$VBD_RAM" "$2:$VBD_FILE"
	stop_backend $BLKBACK_PID blk-$1-backend $LOGS/blkback-$1.out
	rm -f $DISKS/$1.img
}

# Dom0 to itself: dom0 is frontend and backend, as in the selftest.
step_blk_self() {
	stage blk-self
	blk_backend_start self
	if blk_devices_create self 0; then
		# shellcheck disable=SC2086
		run blk-self-ram 90 xensim-blkfront --devid $VBD_RAM --seed 1001 $BLK_ARGS --verdict blk-self-ram
		# shellcheck disable=SC2086
		run blk-self-file 90 xensim-blkfront --devid $VBD_FILE --seed 1002 $BLK_ARGS --verdict blk-self-file
	fi
	blk_teardown self 0
}

# ---- net: xensim-netback in dom0, its vifs joined in a hub ----

net_backend_start() {
	xensim-netback --verdict net-$1-backend >$LOGS/netback-$1.out 2>&1 &
	NETBACK_PID=$!
}

# net_vif_create WHO FE_DOMID DEVID INDEX: a vif whose MAC is the one the
# workload gives netfront INDEX (02:00:00:00:00:<INDEX+1>).
net_vif_create() {
	mac=02:00:00:00:00:0$(($4 + 1))
	xcheck-toolstack create vif "$2" "$3" --be mac=$mac --be handle="$3" --be type=vif \
		--fe mac=$mac --fe handle="$3" >>$LOGS/ts-net-$1.out 2>&1 && return 0
	say "FAIL net-$1-devices toolstack could not create vif $3 of dom$2"
	indent $LOGS/ts-net-$1.out
	return 1
}

# stop_backend PID NAME OUT: SIGTERM, then its verdict (counters).
stop_backend() {
	kill -TERM "$1" 2>/dev/null
	n=100
	while [ $n -gt 0 ] && kill -0 "$1" 2>/dev/null; do usleep 100000; n=$((n - 1)); done
	kill -KILL "$1" 2>/dev/null && say "FAIL $2 did not stop within 10 s of SIGTERM"
	wait "$1" 2>/dev/null
	grep '^XCHECK ' "$3" || { say "FAIL $2 no verdict"; indent "$3"; }
	grep -q '^XCHECK FAIL' "$3" && indent "$3"
}

# teardown NAME TYPE FE:DEVID...: the toolstack's orderly removal of each
# device (backend to Closed, both directories gone), one verdict for all.
teardown() {
	name=$1 type=$2 ok=1 msg=""
	shift 2
	for dev in "$@"; do
		out=$(timeout -s KILL 20 xcheck-toolstack destroy "$type" "${dev%:*}" "${dev#*:}" --timeout-ms 10000 2>&1)
		rc=$?
		out=$(echo "$out" | sed 's/^xcheck-toolstack: //; s/^xensim: //' | tr '\n' '|' | sed 's/|*$//; s/|/ | /g')
		[ $rc -eq 0 ] || ok=0
		[ $rc -eq 137 ] && out="destroy of $type ${dev#*:} of dom${dev%:*} killed after 20 s"
		msg="$msg $out;"
	done
	if [ $ok -eq 1 ]; then say "PASS $name$msg"; else say "FAIL $name$msg"; fi
}

step_net_self() {
	stage net-self
	net_backend_start self
	if net_vif_create self 0 0 0 && net_vif_create self 0 1 1; then
		# shellcheck disable=SC2086
		run net-self-a 90 xensim-netfront --devid 0 --index 0 --peers 2 --seed 11 $NET_ARGS --timeout-s 60 --verdict net-self-a &
		peer=$!
		# shellcheck disable=SC2086
		run net-self-b 90 xensim-netfront --devid 1 --index 1 --peers 2 --seed 11 $NET_ARGS --timeout-s 60 --verdict net-self-b
		wait $peer
	fi
	teardown net-self-teardown vif 0:0 0:1
	stop_backend $NETBACK_PID net-self-backend $LOGS/netback-self.out
}

# The TAP: xensim-netback bridges vif 3 of dom0 to TAP_IF, which dom0
# brings up (no address: nothing of the kernel's IP stack is involved).
# xcheck-tappeer sends into the TAP through an AF_PACKET socket and checks
# the replies; the netfront on the vif checks the requests and answers them.
step_net_tap() {
	stage net-tap
	xensim-netback --tap $TAP_IF --verdict net-tap-backend >$LOGS/netback-tap.out 2>&1 &
	NETBACK_PID=$!
	if ! wait_for 10 ip link show dev $TAP_IF; then
		say "FAIL net-tap-up xensim-netback did not create TAP $TAP_IF within 10 s"
	elif ! ip link set dev $TAP_IF up >$LOGS/ip-tap.out 2>&1; then
		say "FAIL net-tap-up ip link set dev $TAP_IF up: $(cat $LOGS/ip-tap.out)"
	elif net_vif_create tap 0 3 1; then
		# shellcheck disable=SC2086
		run net-tap-vif 90 xensim-netfront --devid 3 --tap-echo $TAP_FRAMES --seed $TAP_SEED --linger-ms 500 \
			--timeout-s 75 --verdict net-tap-vif &
		peer=$!
		run net-tap-peer 90 xcheck-tappeer --if $TAP_IF --frames $TAP_FRAMES --seed $TAP_SEED \
			--window $TAP_WINDOW --timeout-s 75 --verdict net-tap-peer
		wait $peer
		teardown net-tap-teardown vif 0:3
	fi
	stop_backend $NETBACK_PID net-tap-backend $LOGS/netback-tap.out
}

# The guest: created paused, so that its devices exist before its frontends
# look; its console (xenconsoled's log) is copied to ours at the end, each
# line under "[guest] ".
guest_run() {
	stage "guest create"
	if ! timeout -s KILL 60 xl create -p /xcheck/guest/guest.cfg >$LOGS/xl-create.out 2>&1; then
		say "FAIL guest-create xl create -p exit $?"
		indent $LOGS/xl-create.out
		return 1
	fi
	domid=$(xl domid $GUEST)
	say "PASS guest-create $GUEST is domain $domid (PV, paused)"
	if planned blk-guest; then
		blk_backend_start guest
		blk_devices_create guest "$domid"
	fi
	if planned net-guest; then
		net_backend_start guest
		net_vif_create guest "$domid" 0 1 && net_vif_create guest 0 2 0
	fi
	xl unpause $GUEST
	# dom0's peer of the guest's netfront; it waits for the guest's hello.
	if planned net-guest; then
		# shellcheck disable=SC2086
		run net-guest-dom0 $((GUEST_WAIT_S + 10)) xensim-netfront --devid 2 --index 0 --peers 2 --seed 21 \
			$NET_ARGS --timeout-s $GUEST_WAIT_S --verdict net-guest-dom0 &
		PEER_PID=$!
	fi
	stage "guest running"
	n=$((GUEST_WAIT_S * 10))
	while [ $n -gt 0 ] && ! grep -q 'XCHECK GUEST-DONE' $GUEST_LOG 2>/dev/null; do
		xl domid $GUEST >/dev/null 2>&1 || break
		usleep 100000
		n=$((n - 1))
	done
	stage "guest done"
	tr -d '\r' <$GUEST_LOG | sed 's/^/[guest] /'
	grep -q 'XCHECK GUEST-DONE' $GUEST_LOG ||
		say "FAIL guest-run no GUEST-DONE on the guest's console within ${GUEST_WAIT_S}s"
	[ -n "${PEER_PID:-}" ] && wait $PEER_PID
	# Devices go before the domain, as a toolstack does it.
	planned blk-guest && blk_teardown guest "$domid"
	if planned net-guest; then
		teardown net-guest-teardown vif "$domid:0" 0:2
		stop_backend $NETBACK_PID net-guest-backend $LOGS/netback-guest.out
	fi
	xl destroy $GUEST >/dev/null 2>&1
}

if up; then
	planned selftest && step_selftest
	planned blk-self && step_blk_self
	planned net-self && step_net_self
	planned net-tap && step_net_tap
	planned guest && guest_run
fi
stage end
say DONE
sync
poweroff -f
sleep 30
