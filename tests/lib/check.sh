# Shared by the check scripts: the sourcing script sets `name` (check-NAME);
# this gives BUILD, X (the xensim binary), tmp (a directory removed at exit),
# the counters, check NAME CONDITION (an ok:/FAILED: line each) and finish
# (the "RESULT name tests=N failed=M" line run-all.sh reads, and the status).
BUILD=${BUILD:-build}
X=${X:-$BUILD/xensim}
tests=0 failed=0
tmp=$(mktemp -d "/tmp/xensim-$name.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

check() { # name, shell condition (evaluated here, so it sees the caller's variables)
	tests=$((tests + 1))
	if eval "$2"; then echo "ok: $1"; else echo "FAILED: $1"; failed=$((failed + 1)); fi
}

finish() {
	echo "RESULT $name tests=$tests failed=$failed"
	[ "$failed" -eq 0 ]
}
