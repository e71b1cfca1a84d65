#!/usr/bin/env bash
# Outside code on the sim: the public API (include/xensim.h) through the
# example test program, workload plugins (include/xensim_plugin.h) through
# the vchan plugin around Debian's libxenvchan, and the ways a plugin is
# refused or fails (wrong ABI, missing symbol, a corrupted byte stream).
# Ends with "RESULT check-embed tests=N failed=M".
set -u
name=check-embed
. "$(dirname "$0")/lib/check.sh"
PLUGIN="$BUILD/examples/libxensim-vchan.so"
PAIR="$BUILD/examples/vchan-pair"
CC=${CC:-cc}

# ---- the xensim executable exports the Xen API and xensim_*, nothing of sim/ ----
syms=$(nm -D --defined-only "$X" | awk '{print $3}')
check "xensim exports xs_open, xenevtchn_open, xengnttab_map_grant_ref, xengntshr_share_pages, xensim_wl_fail" \
	'for s in xs_open xenevtchn_open xengnttab_map_grant_ref xengntshr_share_pages xensim_wl_fail xensim_start; do grep -qx "$s" <<<"$syms" || exit 1; done'
check "xensim exports no sim internals (sim_*, scn_*, xs_store_*, evtchn_*)" \
	'! grep -qE "^(sim_|scn_|xs_store_|xs_conn_|evtchn_|gnttab_)" <<<"$syms"'

# ---- Debian's libxenvchan, dlopened with the plugin, binds to the sim ----
LD_DEBUG=bindings LD_DEBUG_OUTPUT="$tmp/bind" "$X" run scenarios/vchan/basic.scn >/dev/null 2>&1
binds=$(cat "$tmp"/bind.* 2>/dev/null | grep 'binding file [^ ]*libxenvchan' |
	grep -E "symbol \`(xs_|xenevtchn_|xengnttab_|xengntshr_)")
to_sim=$(grep -c "to $X \[0\]" <<<"$binds")
elsewhere=$(grep -v "to $X \[0\]" <<<"$binds" | grep -c .)
check "libxenvchan binds its Xen calls to xensim ($to_sim bindings) and none to Debian's libraries ($elsewhere)" \
	'[ "$to_sim" -ge 20 ] && [ "$elsewhere" -eq 0 ]'

# ---- plugins refused: wrong ABI, no symbol, no file; parse errors exit 2 ----
mkscn() { # file, plugin path, workload line
	printf 'plugin %s\ndomain dom0 priv\ndomain srv\ndomain cli\n%s\n' "$2" "$3" >"$1"
}
printf '#include <xensim_plugin.h>\nstatic int s(struct xensim_wl *w) { (void)w; return 0; }\nstatic void t(struct xensim_wl *w) { (void)w; }\nstatic const struct xensim_param p[] = {{0}};\nstatic const struct xensim_workload wl = {.name = "old", .params = p, .start = s, .stop = t};\nconst struct xensim_plugin xensim_plugin = {XENSIM_PLUGIN_ABI + 1, "old", (const struct xensim_workload *const[]){&wl, 0}};\n' >"$tmp/old.c"
$CC -shared -fPIC -Iinclude "$tmp/old.c" -o "$tmp/libold.so"
mkscn "$tmp/abi.scn" libold.so 'workload old'
out=$("$X" run "$tmp/abi.scn" 2>&1); rc=$?
abi=$(grep -o 'define XENSIM_PLUGIN_ABI [0-9]*' include/xensim_plugin.h | awk '{print $3}')
check "a plugin built for ABI $((abi + 1)) is refused at file:line, naming the plugin and both versions (exit $rc)" \
	'[ $rc -eq 2 ] && grep -q "^$tmp/abi.scn:1: plugin $tmp/libold.so: built for plugin ABI version $((abi + 1)), this xensim has version $abi" <<<"$out"'
printf 'int xensim_plugin_not_here;\n' >"$tmp/none.c"
$CC -shared -fPIC "$tmp/none.c" -o "$tmp/libnone.so"
mkscn "$tmp/nosym.scn" libnone.so 'workload none'
out=$("$X" run "$tmp/nosym.scn" 2>&1); rc=$?
check "a shared object without xensim_plugin is refused at file:line" \
	'[ $rc -eq 2 ] && grep -q "^$tmp/nosym.scn:1: plugin $tmp/libnone.so: no symbol .xensim_plugin." <<<"$out"'
mkscn "$tmp/nofile.scn" nowhere.so 'workload none'
out=$("$X" run "$tmp/nofile.scn" 2>&1); rc=$?
check "a plugin that cannot be loaded: file:line and dlopen's reason" \
	'[ $rc -eq 2 ] && grep -q "^$tmp/nofile.scn:1: plugin $tmp/nowhere.so: cannot load: .*No such file" <<<"$out"'
mkscn "$tmp/param.scn" "$PWD/$PLUGIN" 'workload vchan server=srv client=cli bytez=1k'
out=$("$X" run "$tmp/param.scn" 2>&1); rc=$?
check "a plugin workload's parameters are checked like a built-in's" \
	'[ $rc -eq 2 ] && grep -q "param.scn:5: workload vchan: unknown parameter .bytez. (known: id server client bytes" <<<"$out"'
printf 'domain dom0 priv\ndomain srv\ndomain cli\nworkload vchan server=srv client=cli\n' >"$tmp/noplugin.scn"
out=$("$X" run "$tmp/noplugin.scn" 2>&1); rc=$?
check "without its plugin line, a plugin workload is unknown" \
	'[ $rc -eq 2 ] && grep -q "noplugin.scn:4: unknown workload .vchan." <<<"$out"'

# ---- a corrupted stream fails the run, naming the byte, plugin and line ----
mkscn "$tmp/corrupt.scn" "$PWD/$PLUGIN" 'workload vchan server=srv client=cli bytes=8k corrupt=777'
out=$("$X" run "$tmp/corrupt.scn" --seed 3 2>&1); rc=$?
check "a wrong byte fails the run (exit $rc): byte 777, plugin vchan, corrupt.scn:5" \
	'[ $rc -eq 1 ] && grep -q "reason: vchan: server dom 1: byte 777 of the client.s stream (session 0) is 0x[0-9a-f]*, expected 0x[0-9a-f]* (plugin vchan, $tmp/corrupt.scn:5)" <<<"$out"'
mkscn "$tmp/good.scn" "$PWD/$PLUGIN" 'workload vchan server=srv client=cli bytes=8k'
out=$("$X" run "$tmp/good.scn" --seed 3 2>&1); rc=$?
check "the same run without corrupt= passes (exit $rc)" '[ $rc -eq 0 ]'

# ---- determinism through a plugin ----
for f in scenarios/vchan/basic.scn scenarios/vchan/restart-server.scn scenarios/vchan/evtchn-dup-delay.scn; do
	out=$("$X" run "$f" --seed 7 --check-determinism 2>/dev/null); rc=$?
	check "same seed, same trace hash: $f" '[ $rc -eq 0 ] && grep -q "^deterministic: " <<<"$out"'
done

# ---- the example test program (include/xensim.h) ----
a=$("$PAIR" 1 2>/dev/null); b=$("$PAIR" 1 2>/dev/null); c=$("$PAIR" 2 2>/dev/null)
check "examples/embed/vchan-pair passes, same seed same hash, another seed another ($a / $c)" \
	'grep -q "^PASS seed=1 " <<<"$a" && [ "$a" = "$b" ] && grep -q "^PASS seed=2 " <<<"$c" && [ "${a##*=}" != "${c##*=}" ]'
make -s -C examples/embed XENSIM_TREE="$PWD" OUT="$tmp" >"$tmp/make.log" 2>&1
out=$("$tmp/vchan-pair" 4 2>/dev/null); rc=$?
check "examples/embed/Makefile builds it in the tree; it runs (exit $rc)" '[ $rc -eq 0 ] && grep -q "^PASS seed=4" <<<"$out"'
make -s -C examples/vchan XENSIM_TREE="$PWD" OUT="$tmp" >>"$tmp/make.log" 2>&1
sed "s|^plugin .*|plugin $tmp/libxensim-vchan.so|" scenarios/vchan/basic.scn >"$tmp/copy.scn"
out=$("$X" run "$tmp/copy.scn" 2>&1); rc=$?
check "examples/vchan/Makefile builds the plugin; a scenario runs it (exit $rc)" '[ $rc -eq 0 ]'

# ---- the examples from an install tree, with pkg-config alone ----
# (the example program calls Xen only through libxenvchan: what it links must
# still bring xensim's libxen*.so, or libxenvchan finds the system's real ones)
# In the plain build only: a sanitizer's install would need its runtime preloaded.
if [ "${VARIANT:-default}" = default ]; then
make --no-print-directory BUILD="$BUILD" VARIANT=default install PREFIX="$tmp/inst" >"$tmp/install.log" 2>&1
mkdir -p "$tmp/ex" && cp -r examples/embed examples/vchan "$tmp/ex/"
PKG_CONFIG_PATH="$tmp/inst/lib/pkgconfig" make -s -C "$tmp/ex/embed" >>"$tmp/make.log" 2>&1
PKG_CONFIG_PATH="$tmp/inst/lib/pkgconfig" make -s -C "$tmp/ex/vchan" >>"$tmp/make.log" 2>&1
out=$(env -u LD_LIBRARY_PATH "$tmp/ex/embed/vchan-pair" 3 2>&1); rc=$?
check "installed: examples/embed builds with pkg-config and passes (exit $rc)" '[ $rc -eq 0 ] && grep -q "^PASS seed=3" <<<"$out"'
sed "s|^plugin .*|plugin $tmp/ex/vchan/libxensim-vchan.so|" scenarios/vchan/basic.scn >"$tmp/inst.scn"
out=$("$tmp/inst/bin/xensim" run "$tmp/inst.scn" 2>&1); rc=$?
check "installed: the plugin built with pkg-config runs in the installed xensim (exit $rc)" '[ $rc -eq 0 ]'
fi

finish
