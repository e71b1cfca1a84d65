#!/usr/bin/env bash
# Find the Debian packages listed in mk/packages that are missing and install them
# with apt-get when run as root; otherwise stop with the exact command to run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
missing=() ; norec=()
while read -r name opts; do
	case "$name" in ''|'#'*) continue ;; esac
	if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q 'install ok installed'; then
		if [ "${opts:-}" = "--no-install-recommends" ]; then norec+=("$name"); else missing+=("$name"); fi
	fi
done < "$here/packages"
[ ${#missing[@]} -eq 0 ] && [ ${#norec[@]} -eq 0 ] && exit 0
cmd_all="apt-get update && apt-get install -y ${missing[*]:-}"
[ ${#norec[@]} -gt 0 ] && cmd_all+=" && apt-get install -y --no-install-recommends ${norec[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "xensim setup: missing Debian packages: ${missing[*]:-} ${norec[*]:-}" >&2
	echo "run as root:  $cmd_all" >&2
	exit 1
fi
echo "xensim setup: installing ${missing[*]:-} ${norec[*]:-}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ ${#missing[@]} -gt 0 ] && apt-get install -y -qq "${missing[@]}" >/dev/null
[ ${#norec[@]} -gt 0 ] && apt-get install -y -qq --no-install-recommends "${norec[@]}" >/dev/null
echo "xensim setup: done"
