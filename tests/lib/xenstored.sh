# Shared by the check scripts that talk to `xensim xenstored` over its socket.
# The sourcing script sets `name` first; this sets BUILD, XENSIM, tmp, sock,
# the counters and the exit trap, and gives finish, fail and start_server.
BUILD=${BUILD:-build}
XENSIM=${XENSIM:-$BUILD/xensim}
tests=0 failed=0
tmp=$(mktemp -d "/tmp/xensim-$name-XXXXXX")
sock=$tmp/socket
server_pid=

finish() {
	[ "$tests" -lt "$failed" ] && tests=$failed   # stopped early on a prerequisite
	echo "RESULT $name tests=$tests failed=$failed"
	[ "$failed" -eq 0 ]
	exit
}

cleanup() {
	[ -n "$server_pid" ] && kill -KILL "$server_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() { # what, details...
	failed=$((failed + 1))
	echo "FAIL: $1"
	shift
	for d in "$@"; do printf '    %s\n' "$d"; done
}

# Start the sim's xenstored and wait until a client gets an answer.
start_server() { # socket path, log file, extra options...
	local path=$1 log=$2
	shift 2
	"$XENSIM" xenstored --socket "$path" "$@" 2>"$log" &
	server_pid=$!
	for _ in $(seq 1 100); do
		[ -S "$path" ] && XENSTORED_PATH=$path xenstore-exists / 2>/dev/null && return 0
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.05
	done
	echo "xensim xenstored did not come up on $path:"
	sed 's/^/    /' "$log"
	return 1
}
