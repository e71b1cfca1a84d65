#!/usr/bin/env bash
# Debian's xenstore-utils clients, unmodified, against `xensim xenstored`:
# each check runs one client with XENSTORED_PATH pointing at the sim's socket
# and compares its exit code, stdout and stderr with what the real clients
# print against a real xenstored. Ends with "RESULT check-xenstore-tools ...".
set -u
name=check-xenstore-tools
. "$(dirname "$0")/lib/xenstored.sh"

# check NAME RC STDOUT STDERR -- COMMAND...: exact exit code, stdout, stderr.
check() {
	local what=$1 want_rc=$2 want_out=$3 want_err=$4 out err rc
	shift 5
	tests=$((tests + 1))
	out=$(timeout 10 "$@" 2>"$tmp/stderr")
	rc=$?
	err=$(cat "$tmp/stderr")
	if [ "$rc" -ne "$want_rc" ] || [ "$out" != "$want_out" ] || [ "$err" != "$want_err" ]; then
		fail "$what" "command: $*" "exit $rc (want $want_rc)" \
			"stdout: $(printf '%q' "$out")" "  want: $(printf '%q' "$want_out")" \
			"stderr: $(printf '%q' "$err")" "  want: $(printf '%q' "$want_err")"
	else
		echo "ok: $what"
	fi
}

# Stop it with a signal: exit code 0 and the socket file removed.
stop_server() { # signal, what, server log
	local rc
	tests=$((tests + 1))
	kill -"$1" "$server_pid"
	wait "$server_pid"
	rc=$?
	server_pid=
	if [ "$rc" -ne 0 ] || [ -e "$sock" ]; then
		fail "$2" "exit $rc after SIG$1 (want 0); socket file $( [ -e "$sock" ] && echo left behind || echo removed)" \
			"$(tail -n 20 "$3")"
	else
		echo "ok: $2"
	fi
}

for tool in xenstore-read xenstore-write xenstore-ls xenstore-list xenstore-rm \
	    xenstore-exists xenstore-chmod xenstore-watch; do
	if ! command -v "$tool" >/dev/null; then
		fail "$tool not installed (Debian package xenstore-utils; make setup installs it)"
		finish
	fi
done
if [ ! -x "$XENSIM" ]; then
	fail "$XENSIM not built"
	finish
fi
if ! start_server "$sock" "$tmp/server.log"; then
	fail "server start"
	finish
fi
export XENSTORED_PATH=$sock
T=/tool/xensim-check

# --- the initial tree, then write and read ---
check "list / shows the initial tree" 0 $'local\ntool' "" -- xenstore-list /
check "write one key" 0 "" "" -- xenstore-write $T/a hello
check "write several keys in one transaction" 0 "" "" -- \
	xenstore-write $T/b "two words" $T/c "" $T/d/e deep
check "read a key" 0 "hello" "" -- xenstore-read $T/a
check "read several keys" 0 $'hello\n\ntwo words' "" -- xenstore-read $T/a $T/c $T/b
check "read with prefix" 0 "$T/a: hello" "" -- xenstore-read -p $T/a
check "read an empty value" 0 "" "" -- xenstore-read $T/c
check "read a directory node (empty value)" 0 "" "" -- xenstore-read $T/d
check "read a missing key fails" 1 "" "xenstore-read: couldn't read path $T/missing" -- \
	xenstore-read $T/missing
check "read under a missing parent fails" 1 "" "xenstore-read: couldn't read path $T/no/such" -- \
	xenstore-read $T/no/such
check "escaped value written" 0 "" "" -- xenstore-write $T/esc 'a\tb\x01c'
check "escaped value read back" 0 'a\tb\001c' "" -- xenstore-read $T/esc
big=$(head -c 2000 /dev/zero | tr '\0' 'z')
check "write a 2000-byte value" 0 "" "" -- xenstore-write $T/big "$big"
check "read a 2000-byte value" 0 "$big" "" -- xenstore-read $T/big
check "rm the big value" 0 "" "" -- xenstore-rm $T/big
check "rm the escaped value" 0 "" "" -- xenstore-rm $T/esc

# --- list, ls ---
check "list children" 0 $'a\nb\nc\nd' "" -- xenstore-list $T
check "list with prefix" 0 "$T/a"$'\n'"$T/b"$'\n'"$T/c"$'\n'"$T/d" "" -- xenstore-list -p $T
check "list a missing node fails" 1 "" "xenstore-list: could not list path $T/missing" -- \
	xenstore-list $T/missing
check "ls a subtree" 0 'a = "hello"
b = "two words"
c = ""
d = ""
 e = "deep"' "" -- xenstore-ls $T
check "ls -f full paths" 0 "$T/a = \"hello\"
$T/b = \"two words\"
$T/c = \"\"
$T/d = \"\"
$T/d/e = \"deep\"" "" -- xenstore-ls -f $T
check "ls a missing node fails" 1 "" \
	"xenstore-ls: xs_directory ($T/missing): No such file or directory" -- xenstore-ls $T/missing

# --- exists ---
check "exists: present" 0 "" "" -- xenstore-exists $T/a
check "exists: several present" 0 "" "" -- xenstore-exists $T/a $T/d/e
check "exists: missing" 1 "" "" -- xenstore-exists $T/missing

# --- permissions: chmod, then read them back with ls -p ---
check "chmod one node" 0 "" "" -- xenstore-chmod $T/a n0 r5 w7 b9
check "chmod recursive" 0 "" "" -- xenstore-chmod -r $T/d b0 r3
check "ls -p shows the perms" 0 \
'a = "hello"  . . . . . . . . . . . . . . . . . . . . . . . .  (n0,r5,w7,b9)
b = "two words"  . . . . . . . . . . . . . . . . . . . . . .  (n0)
c = "" . . . . . . . . . . . . . . . . . . . . . . . . . . .  (n0)
d = "" . . . . . . . . . . . . . . . . . . . . . . . . . . .  (b0,r3)
 e = "deep"  . . . . . . . . . . . . . . . . . . . . . . . .  (b0,r3)' "" -- xenstore-ls -p $T
check "ls -fp shows the perms with full paths" 0 \
"$T/a = \"hello\"   (n0,r5,w7,b9)
$T/b = \"two words\"   (n0)
$T/c = \"\"   (n0)
$T/d = \"\"   (b0,r3)
$T/d/e = \"deep\"   (b0,r3)" "" -- xenstore-ls -fp $T
check "chmod with a bad perm letter fails" 1 "" \
	"xenstore-chmod: Invalid permission specification: 'x'" -- xenstore-chmod $T/a x3
# As xenstored: the owner must be a domain it knows (none but dom0 here).
check "chmod to an unknown owner fails" 1 "" \
	"xenstore-chmod: Error occurred setting permissions on '$T/c': No such file or directory" \
	-- xenstore-chmod $T/c n1
check "chmod a missing node fails" 1 "" \
	"xenstore-chmod: Error occurred setting permissions on '$T/missing': No such file or directory" \
	-- xenstore-chmod $T/missing n0
check "chmod back to dom0 only" 0 "" "" -- xenstore-chmod $T/a n0

# --- rm ---
check "rm a key" 0 "" "" -- xenstore-rm $T/a
check "a removed key is gone" 1 "" "" -- xenstore-exists $T/a
check "rm a subtree" 0 "" "" -- xenstore-rm $T/d
check "its children are gone" 1 "" "" -- xenstore-exists $T/d/e
check "rm a missing key under an existing parent succeeds" 0 "" "" -- xenstore-rm $T/missing
check "rm under a missing parent fails" 1 "" "xenstore-rm: could not remove path $T/no/such" -- \
	xenstore-rm $T/no/such
check "write a deep key" 0 "" "" -- xenstore-write $T/t1/t2/t3 v
check "rm -t tidies empty parents" 0 "" "" -- xenstore-rm -t $T/t1/t2/t3
check "tidied parents are gone" 1 "" "" -- xenstore-exists $T/t1
check "siblings survive the tidy" 0 $'b\nc' "" -- xenstore-list $T

# --- relative paths resolve against /local/domain/0 (a socket is dom0) ---
check "write a relative path" 0 "" "" -- xenstore-write xensim-rel/x 1
check "read it back absolute" 0 "1" "" -- xenstore-read /local/domain/0/xensim-rel/x
check "read it back relative" 0 "1" "" -- xenstore-read xensim-rel/x

# --- watch: the immediate event, then changes at and below the path ---
watch_check() { # what, expected lines, path, number of events, commands to run...
	local what=$1 want=$2 path=$3 n=$4 out rc
	shift 4
	tests=$((tests + 1))
	# Emptied here, not by the background job's redirection: that one may
	# come after the wait below has seen the previous check's events.
	: >"$tmp/watch.out"
	timeout 10 xenstore-watch -n "$n" "$path" >"$tmp/watch.out" 2>"$tmp/watch.err" &
	local wpid=$!
	for _ in $(seq 1 100); do   # the first event means the watch is registered
		[ -s "$tmp/watch.out" ] && break
		sleep 0.05
	done
	for cmd in "$@"; do eval "$cmd" >/dev/null 2>&1; done
	wait "$wpid"
	rc=$?
	out=$(cat "$tmp/watch.out")
	if [ "$rc" -ne 0 ] || [ "$out" != "$want" ]; then
		fail "$what" "xenstore-watch -n $n $path: exit $rc (want 0)" \
			"stdout: $(printf '%q' "$out")" "  want: $(printf '%q' "$want")" \
			"stderr: $(cat "$tmp/watch.err")"
	else
		echo "ok: $what"
	fi
}
check "write the watched node" 0 "" "" -- xenstore-write $T/w ""
watch_check "watch: immediate event, a child written, the node removed" \
	"$T/w"$'\n'"$T/w/x"$'\n'"$T/w" "$T/w" 3 \
	"xenstore-write $T/w/x 1" "xenstore-rm $T/w"
watch_check "watch: an ancestor removed fires on the watched path" \
	"$T/b"$'\n'"$T/b" "$T/b" 2 "xenstore-rm $T"
watch_check "watch a relative path: relative events" \
	$'xensim-rel\nxensim-rel/y' xensim-rel 2 "xenstore-write xensim-rel/y 2"
watch_check "watch a missing node: fires when it is created" \
	"$T/later"$'\n'"$T/later" "$T/later" 2 "xenstore-write $T/later now"
check "clean up" 0 "" "" -- xenstore-rm $T xensim-rel

# --- the server itself ---
stop_server TERM "SIGTERM stops the server with exit 0 and removes the socket" "$tmp/server.log"
tests=$((tests + 1))
if grep -Eq 'conn [0-9]+ open' "$tmp/server.log" &&
   grep -Eq 'conn [0-9]+ closed by client' "$tmp/server.log"; then
	echo "ok: one log line per connection opened and closed"
else
	fail "connection log lines" "$(head -n 5 "$tmp/server.log")"
fi
if start_server "$sock" "$tmp/server2.log"; then
	check "a fresh server starts with a fresh store" 1 "" "" -- xenstore-exists $T/c
	stop_server INT "SIGINT stops the server with exit 0" "$tmp/server2.log"
else
	fail "restart on the same socket path"
fi
long=/tmp/$(head -c 120 /dev/zero | tr '\0' 'p')
check "a socket path over 107 bytes is refused clearly" 2 "" \
	"xensim xenstored: socket path is 125 bytes, a unix socket path holds at most 107: $long" \
	-- "$XENSIM" xenstored --socket "$long"
check "--socket is required" 2 "" \
	"$(printf 'xensim xenstored: --socket PATH is required\n%s' "$("$XENSIM" xenstored --help)")" \
	-- "$XENSIM" xenstored
finish
