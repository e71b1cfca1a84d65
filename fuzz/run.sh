#!/usr/bin/env bash
# Run libFuzzer targets from build-fuzz/fuzz/ for a bounded time each.
#   fuzz/run.sh [--seconds N] [--smoke] [TARGET ...]      (default: every target)
# Each target first runs every committed input of fuzz/corpus/TARGET/ once
# (regressions: a crash there fails at once), then fuzzes for N seconds from a
# working corpus build-fuzz/corpus/TARGET/ (seeded from the committed one, kept
# between runs, never committed). --smoke starts each from the committed corpus
# alone (make check), in build-fuzz/smoke/ so that it leaves a long run's
# working corpus and log alone. Prints execs and exec/s per target, appends
# them to build-fuzz/fuzz-runs.tsv; exits 1 if any target crashed (the input
# is kept in build-fuzz/artifacts/TARGET/, the log in build-fuzz/logs/TARGET.log;
# with --smoke under build-fuzz/smoke/).
set -u
B=build-fuzz
seconds=60
smoke=0
targets=()
while [ $# -gt 0 ]; do
	case "$1" in
	--seconds) seconds="$2"; shift 2 ;;
	--smoke) smoke=1; shift ;;
	*) targets+=("$1"); shift ;;
	esac
done
if [ ${#targets[@]} -eq 0 ]; then
	for f in fuzz/fuzz_*.c; do targets+=("$(basename "$f" .c)"); done
fi
W=$B                                   # working corpus, logs, artifacts
[ "$smoke" = 1 ] && W=$B/smoke
mkdir -p "$W/logs" "$W/artifacts"
fail=0
total=0
printf '%-16s %8s %12s %10s  %s\n' target seconds execs exec/s result
for t in "${targets[@]}"; do
	bin="$B/fuzz/$t"
	seeds="fuzz/corpus/$t"
	work="$W/corpus/$t"
	art="$W/artifacts/$t/"
	log="$W/logs/$t.log"
	[ -x "$bin" ] || { echo "$t: $bin not built (make fuzz-build)"; fail=1; continue; }
	[ "$smoke" = 1 ] && rm -rf "$work"
	mkdir -p "$work" "$art"
	dict=()
	[ -f "fuzz/$t.dict" ] && dict=("-dict=fuzz/$t.dict")
	opts=(-artifact_prefix="$art" -timeout=30 -rss_limit_mb=4096 -print_final_stats=1 "${dict[@]}")
	opts+=($(bash fuzz/target-opts.sh "$t"))
	# The smoke in make check mutates from a fixed seed: the same inputs in the
	# same order on every machine (how far it gets still depends on speed).
	[ "$smoke" = 1 ] && opts+=(-seed=1)
	result=ok
	# The committed inputs, each once: the regression part.
	if [ -d "$seeds" ] && ! "$bin" "${opts[@]}" -runs=1 "$seeds"/* > "$log" 2>&1; then
		result="CRASH on a committed input"
	fi
	if [ "$result" = ok ]; then
		cp -n "$seeds"/* "$work"/ 2>/dev/null
		"$bin" "${opts[@]}" -max_total_time="$seconds" "$work" >> "$log" 2>&1 || result=CRASH
	fi
	execs=$(grep -a 'stat::number_of_executed_units' "$log" | tail -1 | awk '{print $2}')
	rate=$(grep -a 'stat::average_exec_per_sec' "$log" | tail -1 | awk '{print $2}')
	execs=${execs:-0}; rate=${rate:-0}
	total=$((total + execs))
	printf '%-16s %8s %12s %10s  %s\n' "$t" "$seconds" "$execs" "$rate" "$result"
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$seconds" "$execs" "$rate" "$result" >> "$B/fuzz-runs.tsv"
	if [ "$result" != ok ]; then
		fail=1
		grep -a -m1 -A25 -E 'ERROR: (AddressSanitizer|libFuzzer)|runtime error|fuzz invariant broken|deadly signal' "$log" | head -40
		echo "($t: log $log, input in $art)"
	fi
done
echo "total: $total executions"
exit $fail
