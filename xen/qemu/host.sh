#!/usr/bin/env bash
# The one host package `make xen-check` installs: QEMU (qemu-system-x86,
# without recommends: no GUI, no firmware extras). Everything booted inside
# comes from .debs unpacked into a cache by fetch.sh, not installed.
# As root: apt-get update + install; otherwise stop with the command to run.
set -euo pipefail
command -v qemu-system-x86_64 >/dev/null && exit 0
cmd="apt-get update && apt-get install -y --no-install-recommends qemu-system-x86"
if [ "$(id -u)" -ne 0 ]; then
	echo "xen-check: qemu-system-x86_64 is missing; run as root:  $cmd" >&2
	exit 1
fi
echo "xen-check: installing qemu-system-x86 (--no-install-recommends)"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
command -v qemu-system-x86_64 >/dev/null || { echo "xen-check: qemu-system-x86_64 still missing" >&2; exit 1; }
