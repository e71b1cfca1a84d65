#!/usr/bin/env bash
# Boot Xen 4.17 under QEMU (software emulation: -accel tcg -cpu qemu64; KVM
# fails on these machines and -cpu max crashes dom0) with dom0's kernel and
# initramfs as multiboot modules, collect the serial log (Xen, dom0, and the
# guest's console that dom0 copies there), and turn the verdict lines into an
# exit status and a report. QEMU's own exit status says nothing about the
# tests; a verdict line is the only evidence, and every wait is bounded.
#
# usage: run.sh CACHE IMAGES REPORT TIMEOUT_S EXPECTED...
#   CACHE     fetch.sh's cache (xen-hypervisor/xen.elf, linux-image/vmlinuz)
#   IMAGES    assemble.sh's output (dom0.cpio); serial.log goes there too
#   REPORT    the report to write (reports/xen-check.txt)
#   EXPECTED  verdict names that must PASS; any FAIL line fails the run too
# Exit: 0 every expected verdict passed; 1 a verdict failed or is missing;
# 2 QEMU could not start.
set -uo pipefail
cache=${1:?usage: run.sh CACHE IMAGES REPORT TIMEOUT_S EXPECTED...}
images=${2:?} report=${3:?} timeout_s=${4:?}
shift 4
expected=("$@")
log=$images/serial.log
qemu=${QEMU:-qemu-system-x86_64}
xen_args="console=com1 com1=115200,8n1 dom0_mem=512M,max:512M dom0_max_vcpus=2 loglvl=warning guest_loglvl=warning"
dom0_args="console=hvc0 earlyprintk=xen quiet loglevel=3"

die() { echo "xen-check: $*" >&2; exit 2; }
# QEMU splits -initrd at commas; a literal one is written twice.
commas() { printf '%s' "${1//,/,,}"; }
now_ms() { date +%s%3N; }

[ -s "$cache/xen-hypervisor/xen.elf" ] || die "no $cache/xen-hypervisor/xen.elf (run fetch.sh)"
[ -s "$images/dom0.cpio" ] || die "no $images/dom0.cpio (run assemble.sh)"
command -v "$qemu" >/dev/null || die "$qemu not found (apt-get install --no-install-recommends qemu-system-x86)"
mkdir -p "$(dirname "$report")"
: >"$log"

start_ms=$(now_ms)
"$qemu" -accel tcg -cpu qemu64 -smp 2 -m 1280 -no-reboot \
	-display none -vga none -monitor none -parallel none -serial "file:$log" \
	-kernel "$cache/xen-hypervisor/xen.elf" -append "$xen_args" \
	-initrd "$(commas "$cache/linux-image/vmlinuz") $dom0_args,$(commas "$images/dom0.cpio")" \
	>"$images/qemu.out" 2>&1 &
qemu_pid=$!
trap 'kill -KILL $qemu_pid 2>/dev/null' EXIT
trap 'exit 130' INT TERM

# Watch the log: note when each STAGE first shows, stop at DONE, at QEMU's
# exit, or at the deadline.
declare -A stage_ms=()
outcome=timeout
while :; do
	elapsed=$(($(now_ms) - start_ms))
	while IFS= read -r line; do
		[ -n "${stage_ms[$line]:-}" ] || stage_ms[$line]=$elapsed
	done < <(tr -d '\r' <"$log" | grep '^XCHECK STAGE ' | sed 's/^XCHECK STAGE //; s/ uptime=.*//')
	if tr -d '\r' <"$log" | grep -q '^XCHECK DONE'; then outcome=finished; break; fi
	if ! kill -0 $qemu_pid 2>/dev/null; then outcome=exited; break; fi
	if [ "$elapsed" -ge $((timeout_s * 1000)) ]; then outcome=timeout; break; fi
	sleep 0.2
done
total_ms=$(($(now_ms) - start_ms))
kill -KILL $qemu_pid 2>/dev/null
wait $qemu_pid 2>/dev/null
trap - EXIT INT TERM
qemu_msg=$(head -c 300 "$images/qemu.out" | tr '\n' ' ')

# summary: totals of what the passing verdicts say they verified.
summary() {
	awk '
	/^XCHECK PASS / {
		if (match($0, /requests_verified=[0-9]+/)) ring += substr($0, RSTART + 18, RLENGTH - 18)
		if (match($0, /[0-9]+\/[0-9]+ I\/Os/)) { split(substr($0, RSTART, RLENGTH), a, "/"); ios += a[1]; blk++ }
		if (match($0, /[0-9]+ blocks verified/)) blocks += substr($0, RSTART, RLENGTH) + 0
		if (match($0, /received, [0-9]+ verified/)) { frames += substr($0, RSTART + 10, RLENGTH - 10) + 0; net++ }
		if (match($0, /[0-9]+ replies from the vif verified/)) tap += substr($0, RSTART, RLENGTH) + 0
		if (match($0, /came as [0-9]+ segments/)) segs += substr($0, RSTART + 8, RLENGTH - 8) + 0
	}
	END {
		printf "  selftest ring: %d requests verified\n", ring
		printf "  block: %d I/Os completed and checked in %d runs, %d blocks verified\n", ios, blk, blocks
		printf "  net: %d frames verified in %d runs\n", frames, net
		printf "  tap: %d requests and their replies verified through a TAP, %d GSO-cut segments\n", tap, segs
	}'
}

# ---- verdicts ----
mapfile -t verdicts < <(tr -d '\r' <"$log" | sed -n 's/^\(\[guest\] \)\{0,1\}\(XCHECK \(PASS\|FAIL\) .*\)/\2/p')
failed=0 lines=()
for v in "${verdicts[@]}"; do
	[[ $v == "XCHECK FAIL "* ]] && failed=$((failed + 1))
done
# An expected verdict with neither PASS nor FAIL is a failure of its own; one
# that failed is counted once, above.
for name in "${expected[@]}"; do
	if ! printf '%s\n' "${verdicts[@]}" | grep -q "^XCHECK \(PASS\|FAIL\) $name\( \|$\)"; then
		lines+=("XCHECK FAIL $name never reported")
		failed=$((failed + 1))
	fi
done
case $outcome in
finished) ;;
exited)
	lines+=("XCHECK FAIL run QEMU exited after $((total_ms / 1000)) s before dom0 said DONE (a Xen or dom0 panic?)${qemu_msg:+; QEMU said: $qemu_msg}")
	failed=$((failed + 1)) ;;
timeout)
	last=$(tr -d '\r' <"$log" | grep '^XCHECK STAGE ' | tail -n1 | sed 's/^XCHECK STAGE //; s/ uptime=.*//')
	if [ -n "$last" ]; then
		why="hung after stage '$last'"
	else
		why="dom0's /init never started (Xen or the dom0 kernel hung)"
	fi
	lines+=("XCHECK FAIL run timed out after ${timeout_s} s: $why")
	failed=$((failed + 1)) ;;
esac

{
	echo "make xen-check: xensim's drivers on real Xen under QEMU"
	echo "date: $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "xen: xen-hypervisor-4.17-amd64 $(cat "$cache/xen-hypervisor/version" 2>/dev/null)"
	echo "kernel (dom0 and guest): $(cat "$cache/linux-image/version" 2>/dev/null)"
	echo "qemu: $("$qemu" --version | head -n1) -accel tcg -cpu qemu64 -smp 2"
	echo "result: $([ $failed -eq 0 ] && echo PASS || echo "FAIL ($failed)") in $((total_ms / 1000)).$(((total_ms % 1000) / 100)) s, boot outcome: $outcome"
	echo
	echo "timeline (wall clock since QEMU started):"
	for s in "${!stage_ms[@]}"; do
		printf '  %6d.%d s  %s\n' $((stage_ms[$s] / 1000)) $(((stage_ms[$s] % 1000) / 100)) "$s"
	done | sort -n
	echo
	echo "verified on real Xen (sums over the passing verdicts):"
	printf '%s\n' "${verdicts[@]}" | summary
	echo
	echo "verdicts (what ran, and the counts it verified):"
	printf '  %s\n' "${verdicts[@]}" "${lines[@]}" | sed 's/^  XCHECK /  /'
	echo
	echo "serial log: $log"
} >"$report"

cat "$report"
if [ $failed -ne 0 ]; then
	echo
	echo "---- last 60 lines of $log ----"
	tr -d '\r' <"$log" | tail -n 60
	echo "----"
	{
		echo "xen-check: FAILED ($failed):"
		printf '%s\n' "${verdicts[@]}" "${lines[@]}" | grep '^XCHECK FAIL' | sed 's/^XCHECK /  /'
		echo "xen-check: report $report, serial log $log"
	} >&2
	exit 1
fi
echo "xen-check: all ${#expected[@]} expected verdicts passed (report: $report)"
