#!/usr/bin/env bash
# The command line and the verdicts tell the truth: a bad option value names
# the option and what it takes; --help works on every subcommand and exits 0;
# `xensim help` lists only options that exist; a stray argument is an error;
# a file that does not parse is a row (JUnit <error>, table, HTML), never left
# out; a NUL byte is a parse error at its line; an unwritable --trace fails
# before the run; list and run agree on categories; every injected fault and
# the xenstore operations are on the timeline, states by name; a passing run
# is quiet on stderr, a failing one shows its log.
# Ends with "RESULT check-cli tests=N failed=M".
set -u
name=check-cli
. "$(dirname "$0")/lib/check.sh"

# ---- options: the error names the option and the values it takes ----
out=$("$X" run scenarios/blk/basic.scn -j 1000 2>&1); rc=$?
check "run -j 1000: exit 2, names -j and 1..64" '[ $rc -eq 2 ] && grep -q -- "-j: bad value .1000. (valid: 1..64)" <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --seeds 9..3 2>&1); rc=$?
check "run --seeds 9..3: names --seeds and A..B" '[ $rc -eq 2 ] && grep -q -- "--seeds: bad value .9..3. (valid: A..B" <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --policy pct:99 2>&1); rc=$?
check "run --policy pct:99: names the depth range" '[ $rc -eq 2 ] && grep -q -- "--policy: .*pct:D with D 1..16" <<<"$out"'
out=$("$X" pingpong --round-trips 0 2>&1); rc=$?
check "pingpong --round-trips 0: names the range" '[ $rc -eq 2 ] && grep -q -- "--round-trips: bad value .0. (valid: 1..100000000)" <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --frobnicate 2>&1); rc=$?
check "an unknown option is named" '[ $rc -eq 2 ] && grep -q "unknown option .--frobnicate." <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --seed 2>&1); rc=$?
check "a missing value is named" '[ $rc -eq 2 ] && grep -q "option .--seed. needs a value" <<<"$out"'
out=$("$X" faults extra 2>&1); rc=$?
check "faults with an extra argument: exit 2, names it" '[ $rc -eq 2 ] && grep -q "unexpected argument .extra." <<<"$out"'
out=$("$X" shrink a.scn b.scn --seed 1 -o x 2>&1); rc=$?
check "shrink with two files: exit 2" '[ $rc -eq 2 ] && grep -q "unexpected argument .b.scn." <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --seeds 2 2>&1); rc=$?
check "--seeds N is N..N" '[ $rc -eq 0 ] && grep -q "seed=2 " <<<"$out"'

# ---- --help everywhere; help lists only what exists ----
for c in run sweep shrink list faults xenstored pingpong bench; do
	out=$("$X" $c --help 2>&1); rc=$?
	check "$c --help exits 0 with a usage" '[ $rc -eq 0 ] && grep -qi "usage" <<<"$out"'
done
help=$("$X" help)
bad=""
while read -r cmd opts; do
	for o in $(grep -oE -- '--[a-z][a-z-]*' <<<"$opts"); do
		"$X" "$cmd" --help 2>&1 | grep -q -- "$o" || bad="$bad $cmd:$o"
	done
done < <(sed -nE 's/^  ([a-z]+) +(.*)$/\1 \2/p' <<<"$help")
check "every option 'xensim help' lists is in its command's usage${bad:+ (not:$bad)}" '[ -z "$bad" ]'

# ---- every workload parameter is documented ----
undoc=""
while read -r w k; do
	grep -qE -- "(\[|\`| )$k(=|\`)" scenarios/README.md || undoc="$undoc $w$k"
done < <("$X" list --workloads | awk '/^workload/ {w = $2} /^  [a-z]/ && $1 != "parameter" && $1 != "counters:" {print w, $1}')
check "every parameter of list --workloads is in scenarios/README.md${undoc:+ (not:$undoc)}" '[ -z "$undoc" ]'

# ---- a listed range is what the code accepts: its ends run, one past is a parse error ----
lo=$("$X" list --workloads | awk '/^workload net:/ {n = 1} n && $1 == "tx-bufs" {sub(/\.\..*/, "", $4); print $4; exit}')
printf 'describe x\ndomain dom0 priv\ndomain g1\ndomain g2\nworkload net back=dom0 guests=g1,g2 messages=20 pings=2 tx-bufs=%s\nwithin 30s\nexpect pass\n' "$lo" >"$tmp/lo.scn"
out=$("$X" run "$tmp/lo.scn" 2>&1); rc=$?
check "net tx-bufs at its listed minimum ($lo) runs and passes" '[ -n "$lo" ] && [ $rc -eq 0 ]'
sed -i "s/tx-bufs=$lo/tx-bufs=$((lo - 1))/" "$tmp/lo.scn"
out=$("$X" run "$tmp/lo.scn" 2>&1); rc=$?
check "one below it is a parse error naming the range" '[ $rc -eq 2 ] && grep -q "lo.scn:5: .*tx-bufs=$((lo - 1)) is out of range $lo.." <<<"$out"'

# ---- categories: list and run agree ----
"$X" list --category nosuch >/dev/null 2>"$tmp/l.err"; rl=$?
"$X" run scenarios --category nosuch >/dev/null 2>"$tmp/r.err"; rr=$?
check "list and run both refuse --category nosuch, naming the valid ones" \
	'[ $rl -eq 2 ] && [ $rr -eq 2 ] && grep -q "in-development" "$tmp/l.err" && grep -q "in-development" "$tmp/r.err"'

# ---- a file that does not parse is a row, an error ----
mkdir -p "$tmp/dir"
cp scenarios/blk/basic.scn "$tmp/dir/good.scn"
printf 'domain guest\nfrobnicate 1\n' >"$tmp/dir/bad.scn"
out=$("$X" run "$tmp/dir" --seeds 1..1 --report "$tmp/rep" 2>&1); rc=$?
check "a directory with a bad file exits 2" '[ $rc -eq 2 ]'
check "the bad file is a JUnit <error> (tests=2 errors=1)" \
	'grep -q "tests=\"2\" failures=\"0\" errors=\"1\"" "$tmp/rep/junit-scenarios.xml" && grep -q "bad.scn:2" "$tmp/rep/junit-scenarios.xml"'
check "the bad file is a row of the table and the HTML" \
	'grep -q "bad.scn .*PARSE ERROR" <<<"$out" && grep -q "bad.scn" "$tmp/rep/index.html"'
printf 'describe x\nmode det\n\000frob\nexpect hang\n' >"$tmp/nul.scn"
out=$("$X" run "$tmp/nul.scn" 2>&1); rc=$?
check "a NUL byte is a parse error at its line" '[ $rc -eq 2 ] && grep -q "nul.scn:3: a NUL byte" <<<"$out"'
out=$("$X" run scenarios/blk/basic.scn --trace /nonexistent-dir/t.txt 2>&1); rc=$?
check "an unwritable --trace exits 2 and names the path" '[ $rc -eq 2 ] && grep -q "/nonexistent-dir/t.txt" <<<"$out"'

# ---- every injection on the timeline; xenstore operations; states by name ----
for f in scenarios/faults/switch-loss.scn scenarios/faults/xs-tx-eagain.scn \
	 scenarios/faults/xs-write-enospc.scn scenarios/blk/disk-errors.scn; do
	out=$("$X" run "$f" --trace "$tmp/t.txt" 2>&1)
	inj=$(grep -oE 'injected=[0-9]+' <<<"$out" | tail -1 | cut -d= -f2)
	site=$(sed -nE 's/^fault ([a-z.]+) .*/\1/p' "$f" | head -1)
	traced=$(grep -cE "^ +[0-9]+ +[^ ]+ +fault +$site " "$tmp/t.txt")
	check "$(basename "$f"): each of the ${inj:-?} injections of $site is a trace event ($traced)" \
		'[ -n "$inj" ] && [ "$inj" -gt 0 ] && [ "$traced" -eq "$inj" ]'
done
"$X" run scenarios/blk/basic.scn --seed 1 --trace "$tmp/t.txt" >/dev/null 2>&1
check "xenstore writes, removes and watch events are trace events" \
	'grep -qE " xs +dom0 xenstore write /local/domain/" "$tmp/t.txt" && grep -qE " xs .* rm /" "$tmp/t.txt" && grep -qE " xs .* watch-event /" "$tmp/t.txt"'
check "XenbusState changes are named, with the node path" \
	'grep -qE " state +dom[0-9]+ InitWait -> Connected /local/domain/.*/state" "$tmp/t.txt" || grep -qE " state +dom[0-9]+ [A-Z][a-zA-Z]+ -> [A-Z][a-zA-Z]+ /local/domain/.*/state" "$tmp/t.txt"'
"$X" run scenarios/faults/xs-tx-eagain.scn --trace "$tmp/t.txt" >/dev/null 2>&1
check "a transaction commit and its EAGAIN are trace events" \
	'grep -qE " xs .* commit$" "$tmp/t.txt" && grep -qE " xs .* commit: Resource temporarily unavailable" "$tmp/t.txt"'

# ---- blame the right thing ----
printf 'describe set-up fails\ndomain dom0 priv\ndomain guest\nquota guest grants 1\nworkload blk front=guest back=dom0 ios=50 qd=8\nfault gnttab.map after 10\nwithin 30s\nexpect pass\nexpect fault gnttab.map\n' >"$tmp/setup.scn"
out=$("$X" run "$tmp/setup.scn" 2>&1)
check "a workload that could not work is the reason, not the fault it never reached" \
	'grep -q "reason: expected pass, got error: blk: .*No space left on device" <<<"$out" && ! grep -q "reason: expect fault" <<<"$out"'

for act in crash destroy; do
	printf 'describe ring backend gone\ndomain dom0 priv\ndomain back\ndomain guest\nworkload ring front=guest back=back requests=200 batch=2\nwhen ring.responses >= 40 %s back\nwithin 10s\nexpect pass\n' "$act" >"$tmp/gone.scn"
	out=$("$X" run "$tmp/gone.scn" 2>&1)
	word=$([ $act = crash ] && echo "crashed" || echo "was destroyed")
	check "a hang after '$act back' blames it ('back $word'), not a lost wakeup" \
		'grep -q "reason: .*(back $word at .*: its peers may be waiting for it)" <<<"$out" && ! grep -q "lost wakeup" <<<"$out"'
done

# ---- expect fired: an action whose trigger never came fails the run ----
printf 'describe x\ndomain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=50\nat 60s crash guest\nexpect pass\nexpect fired\n' >"$tmp/fired.scn"
out=$("$X" run "$tmp/fired.scn" 2>&1); rc=$?
check "expect fired: an action that never fired fails the run, naming its line" '[ $rc -eq 1 ] && grep -q "reason: expect fired: line 5: the crash action never fired" <<<"$out"'
sed -i '/^expect fired/d' "$tmp/fired.scn"
out=$("$X" run "$tmp/fired.scn" 2>&1); rc=$?
check "without it, the same is a warning and the run passes" '[ $rc -eq 0 ] && grep -q "warning: .*fired.scn:5: the crash action never fired" <<<"$out"'

# ---- a destroyed domain is not called crashed ----
for act in crash destroy; do
	printf 'describe x\ndomain dom0 priv\ndomain guest\nworkload ring front=guest back=dom0 requests=200\nwhen ring.responses >= 20 %s guest\nexpect error "front"\n' "$act" >"$tmp/gone2.scn"
	out=$("$X" run "$tmp/gone2.scn" 2>&1)
	word=$([ $act = crash ] && echo "crashed" || echo "was destroyed")
	check "'$act guest': the workload says the front $word" 'grep -q "front (dom [0-9]*) $word with" <<<"$out"'
done

# ---- a passing run prints no error-looking noise; a failing one shows its log ----
f=scenarios/blk/grant-copy-fault.scn
err=$("$X" run $f --seed 1 2>&1 >/dev/null); rc=$?
check "a passing run with a deliberate fault: exit 0, nothing on stderr${err:+ (got: ${err%%$'\n'*})}" '[ $rc -eq 0 ] && [ -z "$err" ]'
err=$("$X" run $f --seed 1 --verbose 2>&1 >/dev/null); rc=$?
check "--verbose shows the log of a passing run" '[ $rc -eq 0 ] && grep -q "injected fault gnttab.copy" <<<"$err"'
sed 's/^expect error .*/expect pass/' $f >"$tmp/fails.scn"
err=$("$X" run "$tmp/fails.scn" --seed 1 2>&1 >/dev/null); rc=$?
check "a failing run shows its whole log on stderr" '[ $rc -eq 1 ] && grep -q "injected fault gnttab.copy" <<<"$err" && grep -q "grant copy of ref [0-9]* failed" <<<"$err"'

finish
