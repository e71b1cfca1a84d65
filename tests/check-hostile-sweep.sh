#!/usr/bin/env bash
# Hostile-peer seed sweeps in CI: every scenario under scenarios/hostile/
# (a hostile blk/net frontend or backend lying to the real drivers) is swept
# over seeds the corpus run does not use (`xensim sweep FILE --seeds A..B`).
# A hostile peer draws which lie to tell, and which variant of it, from the
# seed: three seeds see a few of them first, two dozen see each variant lead
# a run (the victim's oracle judges the first lie it must refuse). Every run
# must pass or end in the scenario's expected clean error; a failing seed is
# printed with its replay command.
#
# Configuration (environment):
#   HOSTILE_SEEDS      the seed range (default 4..27: beyond the corpus' 1..3)
#   HOSTILE_SCENARIOS  the files swept (default: scenarios/hostile/*.scn)
#   HOSTILE_JOBS       parallel runs (default 2)
# Ends with "RESULT check-hostile-sweep tests=N failed=M".
set -u
BUILD=${BUILD:-build}
X="$BUILD/xensim"
SEEDS=${HOSTILE_SEEDS:-4..27}
JOBS=${HOSTILE_JOBS:-2}
list=${HOSTILE_SCENARIOS:-$(ls scenarios/hostile/*.scn)}
tests=0 failed=0

for f in $list; do
	tests=$((tests + 1))
	out=$("$X" sweep "$f" --seeds "$SEEDS" -j "$JOBS" --quiet 2>&1)
	rc=$?
	summary=$(grep -E '^sweep .*runs' <<<"$out" | tail -n 1)
	if [ "$rc" -eq 0 ] && grep -qE 'runs, ([0-9]+) passed, 0 failed, 0 harness' <<<"$summary"; then
		echo "ok: $summary"
	else
		echo "FAILED: $f (exit $rc): ${summary:-no summary}"
		grep -E 'replay:|reason:|first failing' <<<"$out" | head -n 6 | sed 's/^/    /'
		failed=$((failed + 1))
	fi
done
echo "RESULT check-hostile-sweep tests=$tests failed=$failed"
[ "$failed" -eq 0 ]
