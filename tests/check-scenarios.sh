#!/usr/bin/env bash
# The scenario corpus through the command line: every scenario not marked
# in-development, a few seeds each (a scenario that pins its seed: that seed),
# trace-hash determinism across processes, parse errors and exit codes,
# shards, the lost-wakeup hunt against the correct consumer, the fault sweep,
# shrink, and the reports. Ends with "RESULT check-scenarios tests=N failed=M".
set -u
SEEDS=${SCENARIO_SEEDS:-1..3}
name=check-scenarios
. "$(dirname "$0")/lib/check.sh"

# ---- the corpus, with the JUnit XML and HTML reports for CI ----
REPORTS=${REPORTS:-reports}
out=$("$X" run scenarios --seeds "$SEEDS" --report "$REPORTS" 2>&1); rc=$?
summary=$(grep -E '^[0-9]+ runs: [0-9]+ passed, [0-9]+ failed' <<<"$out")
runs=$(sed -E 's/^([0-9]+) runs.*/\1/' <<<"$summary")
fails=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$summary")
echo "corpus: ${summary:-no summary} (exit $rc)"
grep -E '^\[ *[0-9]+/[0-9]+\] (FAIL|ERROR)' -A 3 <<<"$out" | head -n 40 | sed 's/^/    /'
grep -E ' PARSE ERROR$' <<<"$out" | sed 's/^/    /'   # a file that does not parse: a row, no run
tests=$((tests + ${runs:-1})); failed=$((failed + ${fails:-1}))
if [ $rc -ne 0 ] && [ "${fails:-0}" -eq 0 ]; then failed=$((failed + 1)); fi
check "the corpus wrote $REPORTS/junit-scenarios.xml and $REPORTS/index.html" \
	'grep -q "<testcase" "$REPORTS/junit-scenarios.xml" && grep -q "<table>" "$REPORTS/index.html"'

# ---- every fault site in the corpus at least once ----
uncovered=""
for site in $("$X" faults | awk '{print $1}'); do
	grep -rlE "^fault $site " scenarios --include='*.scn' | grep -qv in-development || uncovered="$uncovered $site"
done
check "every fault site is used by a corpus scenario${uncovered:+ (missing:$uncovered)}" '[ -z "$uncovered" ]'

# ---- determinism: the same seed gives the same hash in another process ----
for f in scenarios/ring/batch.scn scenarios/xenstore/counter.scn scenarios/race/xs-coalesced-state.scn \
	 scenarios/faults/evtchn-delay.scn scenarios/ring/backend-restart.scn; do
	out=$("$X" run "$f" --seed 11 --check-determinism 2>/dev/null); rc=$?
	check "same seed, same trace hash: $f" '[ $rc -eq 0 ] && grep -q "^deterministic: " <<<"$out"'
done
h1=$("$X" run scenarios/ring/batch.scn --seed 1 2>/dev/null | grep -o 'trace-hash=0x[0-9a-f]*')
h2=$("$X" run scenarios/ring/batch.scn --seed 2 2>/dev/null | grep -o 'trace-hash=0x[0-9a-f]*')
check "other seed, other trace hash ($h1 / $h2)" '[ -n "$h1" ] && [ "$h1" != "$h2" ]'
out=$("$X" run scenarios/ring/basic.scn --seed 4 2>/dev/null)
check "the verdict line holds seed= and trace-hash=" \
	'tail -n 1 <<<"$out" | grep -qE "^PASS .* seed=4 trace-hash=0x[0-9a-f]{16}"'

# ---- usage and parse errors: exit 2, file:line: message ----
printf 'domain dom0 priv\ndomain guest\n\nworkload ring front=guest back=dom0\nwithin 5\n' >"$tmp/bad.scn"
out=$("$X" run "$tmp/bad.scn" 2>&1); rc=$?
check "a bad time unit is a usage error naming file:line" \
	'[ $rc -eq 2 ] && grep -q "^$tmp/bad.scn:5: within: .5. is not a time with a unit" <<<"$out"'
printf 'domain dom0 priv\nworkload ring front=nobody back=dom0\n' >"$tmp/undef.scn"
out=$("$X" run "$tmp/undef.scn" 2>&1); rc=$?
check "an undefined domain names line 2" '[ $rc -eq 2 ] && grep -q "undef.scn:2: undefined domain .nobody." <<<"$out"'
"$X" run scenarios/ring/basic.scn --policy pct:99 >/dev/null 2>&1; rc=$?
check "a bad --policy is a usage error (2)" '[ $rc -eq 2 ]'

# ---- exit codes of failing runs, and the replay command ----
printf 'domain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=5\nexpect ring.responses == 6\n' >"$tmp/fail.scn"
out=$("$X" run "$tmp/fail.scn" --seed 3 2>&1); rc=$?
check "a failing run exits 1 and prints its replay command" \
	'[ $rc -eq 1 ] && grep -q "replay: $X run $tmp/fail.scn --seed 3" <<<"$out"'

# ---- shards partition the seed range ----
for i in 0 1 2; do
	"$X" sweep scenarios/ring/basic.scn --seeds 5..16 --shard $i/3 2>/dev/null |
		grep -oE 'seed=[0-9]+' | sort -u >"$tmp/shard$i"
done
all=$(cat "$tmp"/shard* | sort | uniq -c | awk '$1 != 1' | wc -l)
union=$(cat "$tmp"/shard* | sort -u | wc -l)
check "shards 0/3 1/3 2/3 of 5..16 partition it ($union seeds, $all overlaps)" '[ "$union" -eq 12 ] && [ "$all" -eq 0 ]'

# ---- PCT finds the lost wakeup; the correct consumer passes the same sweep ----
out=$("$X" sweep scenarios/race/ring-lost-wakeup.scn --seeds 1..50 --find -j 2 2>/dev/null); rc=$?
check "pct:2 finds the broken consumer's hang within 50 seeds" '[ $rc -eq 0 ] && grep -q "^found: seed" <<<"$out"'
seed=$(grep -oE '^found: seed [0-9]+' <<<"$out" | grep -oE '[0-9]+$')
out=$("$X" run scenarios/race/ring-lost-wakeup.scn --seed "${seed:-1}" 2>/dev/null)
check "the found seed replays the hang (seed ${seed:-?})" 'grep -q "outcome=hang" <<<"$out"'
out=$("$X" sweep scenarios/race/ring-notify-suppression.scn --seeds 1..50 -j 2 --quiet 2>/dev/null); rc=$?
check "the correct consumer passes the same 50 seeds" '[ $rc -eq 0 ] && grep -q "50 runs, 50 passed" <<<"$out"'

# ---- fault sweep: every occurrence of every reached site, one at a time ----
printf 'domain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=6 batch=2 kick=1ms\n' >"$tmp/fs.scn"
out=$("$X" sweep "$tmp/fs.scn" --faults 2>/dev/null); rc=$?
sites=$(grep -oE '[0-9]+ sites' <<<"$out" | grep -oE '[0-9]+')
check "fault sweep: every run passes or ends in a clean error (${sites:-0} sites)" \
	'[ $rc -eq 0 ] && [ "${sites:-0}" -ge 5 ]'
check "fault sweep leaves out evtchn.notify.drop and ring.hostile.rewrite, and says why" \
	'grep -qE "evtchn.notify.drop +left out: Xen never drops" <<<"$out" && grep -qE "ring.hostile.rewrite +left out: a hostile peer" <<<"$out" && grep -q "(2 reached sites left out)" <<<"$out"'
out=$("$X" sweep "$tmp/fs.scn" --faults --site evtchn.notify.drop 2>/dev/null)
check "a site named with --site is swept even if left out by default" \
	'grep -qE "evtchn.notify.drop +reached +[0-9]+ times in the baseline; +[0-9]+ runs" <<<"$out"'
out=$("$X" sweep scenarios/faults/evtchn-drop-hang.scn --faults 2>/dev/null); rc=$?
check "a scenario expecting a hang is not fault-swept, and says why (exit $rc)" \
	'[ $rc -eq 0 ] && grep -q "skipped (it expects a hang, an error or a failure)" <<<"$out"'
out=$("$X" sweep scenarios/hostile/blk-front-id.scn --faults 2>/dev/null); rc=$?
check "a scenario running an attacker is not fault-swept, and says why (exit $rc)" \
	'[ $rc -eq 0 ] && grep -q "skipped (it runs an attacker" <<<"$out"'
out=$("$X" sweep "$tmp/fs.scn" --faults --site gnttab.copy 2>/dev/null)
check "fault sweep stops when the occurrence is not reached (gnttab.copy: 7 runs)" \
	'grep -qE "gnttab.copy +reached +6 times in the baseline; +7 runs, 0 failed" <<<"$out"'

# ---- a legal site's error is not excused: a client that believes a failed
# read in a transaction (xenstore.tx.stale: a key removed and put back) fails
# the sweep; the same client committing to learn passes it ----
printf 'domain dom0 priv\ndomain a\nworkload xenstore clients=a ops=8 tx=100 watch=0 believe-reads=%s\n' 0 >"$tmp/stale.scn"
out=$("$X" sweep "$tmp/stale.scn" --faults --site xenstore.tx.stale 2>/dev/null); rc=$?
check "fault sweep of xenstore.tx.stale: a client that commits to learn passes (exit $rc)" \
	'[ $rc -eq 0 ] && grep -qE "xenstore.tx.stale +reached +[0-9]+ times in the baseline; +[0-9]+ runs, 0 failed" <<<"$out"'
printf 'domain dom0 priv\ndomain a\nworkload xenstore clients=a ops=8 tx=100 watch=0 believe-reads=%s\n' 1 >"$tmp/stale.scn"
out=$("$X" sweep "$tmp/stale.scn" --faults --site xenstore.tx.stale 2>/dev/null); rc=$?
check "... one that believes the failed read fails it: a legal site's clean error is a failure (exit $rc)" \
	'[ $rc -eq 1 ] && grep -q "transaction on the counter failed: ENOENT" <<<"$out"'

# ---- shrink ----
out=$("$X" shrink scenarios/in-development/shrink-example.scn --seed 3 -o "$tmp/shrunk.scn" 2>/dev/null); rc=$?
before=$(grep -cvE '^\s*(#|$)' scenarios/in-development/shrink-example.scn)
after=$(grep -cvE '^\s*(#|$)' "$tmp/shrunk.scn" 2>/dev/null)
check "shrink writes a smaller scenario ($before -> $after lines)" '[ $rc -eq 0 ] && [ "$after" -lt 8 ]'
"$X" run "$tmp/shrunk.scn" >"$tmp/shrunk.out" 2>&1; rc=$?
check "the shrunk scenario still fails the same way" '[ $rc -eq 1 ] && grep -q "ENOSPC" "$tmp/shrunk.out"'
"$X" shrink scenarios/ring/basic.scn --seed 1 -o "$tmp/none.scn" >/dev/null 2>&1; rc=$?
check "shrink of a passing scenario is refused (2)" '[ $rc -eq 2 ]'

# ---- free mode ----
out=$("$X" run scenarios/xenstore/counter.scn --mode free 2>/dev/null); rc=$?
check "free mode runs the same file on parallel threads" \
	'[ $rc -eq 0 ] && grep -q "mode=free.*not reproducible" <<<"$out"'

# ---- reports: an expected hang gets its timeline ----
"$X" run scenarios/regression --report "$tmp/rep" >"$tmp/rep.out" 2>&1; rc=$?
check "the regression report shows the lost wakeup's timeline" \
	'[ $rc -eq 0 ] && grep -q "<svg" "$tmp/rep/index.html" && grep -q "hang: nothing can run" "$tmp/rep/index.html"'

finish
