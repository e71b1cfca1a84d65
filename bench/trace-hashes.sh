#!/bin/sh
# Print "path seed verdict hash" for every run of `xensim run DIR --seeds A..B`:
# diff two outputs to show a change kept every trace identical.
# usage: bench/trace-hashes.sh [XENSIM] [SEEDS] [DIR...]
set -eu
x=${1:-build/xensim}; seeds=${2:-1..3}
[ $# -ge 2 ] && shift 2 || set --
[ $# -ge 1 ] || set -- scenarios
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
"$x" run "$@" --seeds "$seeds" --quiet --report "$d" -j 2 >/dev/null 2>&1 || true
# one row per run: path seed verdict outcome virtual-time hash
sed -n 's/^<tr><td class="\([A-Z]*\)">[A-Z]*<\/td><td>\([^<]*\)<br>.*<\/small><\/td><td>[^<]*<\/td><td>\([0-9]*\)<\/td><td>\([^<]*\)<\/td><td>\([^<]*\)<\/td><td>[^<]*<\/td><td><code>\(0x[0-9a-f]*\)<\/code>.*/\2 \3 \1 \4 \5 \6/p' \
	"$d/index.html" | sort
