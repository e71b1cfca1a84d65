#!/usr/bin/env bash
# The XSA corpus (scenarios/xsa/): every file passes on this tree, and each
# planted bug of its class (tests/plants/) makes it fail. The table of
# scenarios/xsa/README.md is the mapping (class, advisories, file, plants,
# build); this reads it:
#  1. every scenarios/xsa/*.scn that is not in development has a row, and
#     every row's file and plants exist;
#  2. `xensim run scenarios/xsa --seeds 1..2` passes (build/xensim);
#  3. tests/plants-run.sh --pairs: each plant applied alone, only its own
#     row's file run (seeds 1..2), must fail it; the rows built `access` run
#     build-access/xensim (the double-fetch oracle), built here from build/'s
#     sim objects when missing (as check-access.sh does).
# About 60-90 s on an idle 2-core machine once build/ exists.
# Ends with "RESULT check-xsa tests=N failed=M".
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here" || exit 3
name=check-xsa
. "$here/tests/lib/check.sh"
SEEDS=${XSA_SEEDS:-1..2}
JOBS=${PLANT_JOBS:-2}
DIR=scenarios/xsa
AB=build-access

# ---- 1. the table ----
# "| class | advisories | file | plants | build |" rows naming a .scn file
# of the section "## Classes" only (the in-development table follows it)
rows=$(awk -F'|' '/^## / { in_t = ($0 == "## Classes") } in_t && $4 ~ /\.scn/ {
	gsub(/ /, "", $4); gsub(/ /, "", $5); gsub(/ /, "", $6); print $4 "|" $5 "|" $6 }' "$DIR/README.md")
check "the table of $DIR/README.md has rows ($(wc -l <<<"$rows"))" '[ "$(wc -l <<<"$rows")" -ge 20 ]'
for f in "$DIR"/*.scn; do
	grep -qE '^\s*category\s+in-development' "$f" && continue
	b=$(basename "$f")
	check "$b has a row" 'grep -q "^$b|" <<<"$rows"'
done
plain="" access=""
while IFS='|' read -r file plants build; do
	check "$file exists" '[ -f "$DIR/$file" ]'
	for p in ${plants//,/ }; do
		check "plant $p exists" '[ -f tests/plants/$p.patch ]'
		if [ "$build" = access ]; then access="$access $p=$DIR/$file"; else plain="$plain $p=$DIR/$file"; fi
	done
done <<<"$rows"

# ---- 2. the corpus passes here ----
out=$("$X" run "$DIR" --seeds "$SEEDS" -j "$JOBS" 2>&1)
rc=$?
check "xensim run $DIR --seeds $SEEDS passes (exit $rc)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || grep -E "FAIL|ERROR|reason" <<<"$out" | head -n 8 | sed 's/^/    /'

# ---- 3. each plant fails its own file ----
# Pairs of one plant and its file; a plant in two rows is caught by either.
judge() { # tsv, label
	local p row scn
	for p in $(cut -f1 "$1" | tail -n +2 | sort -u); do
		row=$(grep -P "^$p\t" "$1" | head -n 1)
		scn=$(cut -f4 <<<"$row")
		check "$2planted bug $p fails its xsa file (${scn:-not run})" \
			'[ -n "$scn" ] && [ "$scn" != "-" ] && ! grep -q "does not" <<<"$scn"'
	done
}
# plants-run takes one file list per plant: a plant of two rows gets both.
pairs() { # "p=f p=f ..." -> "p=f,f ..."
	tr ' ' '\n' <<<"$1" | sed '/^$/d' | awk -F= '{ a[$1] = a[$1] ? a[$1] "," $2 : $2 } END { for (p in a) print p "=" a[p] }' |
		sort | tr '\n' ' '
}
t0=$(date +%s)
PLANT_JOBS=$JOBS bash tests/plants-run.sh --reuse-build --seeds "$SEEDS" --pairs "$(pairs "$plain")" \
	--out "$tmp/plain.tsv" >"$tmp/plain.txt" 2>"$tmp/plain.log"
rc=$?
check "plants-run ran (exit $rc, $(($(date +%s) - t0)) s)" '[ $rc -eq 0 ] && [ -s "$tmp/plain.tsv" ]'
check "the unpatched tree passes every paired file" 'grep -q "; 0 left out" "$tmp/plain.log"'
[ -s "$tmp/plain.tsv" ] && judge "$tmp/plain.tsv" ""
grep -E "fails unpatched|does not" "$tmp/plain.log" | sed 's/^/    /'

if [ -n "$access" ]; then
	# A new build-access/ starts from build/'s uninstrumented sim objects.
	if [ ! -d "$AB/obj" ] && [ -d build/obj/sim ]; then
		mkdir -p "$AB/obj"
		cp -a build/obj/sim build/obj/tools "$AB/obj/"
		rm -f "$AB/obj/sim/access/access.o"
		find "$AB/obj" -name '*.d' -exec sed -i "s|^build/obj/|$AB/obj/|; s| build/obj/| $AB/obj/|g" {} +
	fi
	nice make -j"$JOBS" BUILD=$AB VARIANT=access $AB/xensim >"$tmp/access-build.log" 2>&1
	rc=$?
	check "build-access/xensim builds (exit $rc)" '[ $rc -eq 0 ]'
	t0=$(date +%s)
	PLANT_JOBS=$JOBS bash tests/plants-run.sh --access --reuse-build --seeds "$SEEDS" --pairs "$(pairs "$access")" \
		--out "$tmp/access.tsv" >"$tmp/access.txt" 2>"$tmp/access.log"
	rc=$?
	check "plants-run --access ran (exit $rc, $(($(date +%s) - t0)) s)" '[ $rc -eq 0 ] && [ -s "$tmp/access.tsv" ]'
	check "the unpatched tree passes the access rows' files (instrumented)" 'grep -q "; 0 left out" "$tmp/access.log"'
	[ -s "$tmp/access.tsv" ] && judge "$tmp/access.tsv" "(access) "
fi
finish
