#!/usr/bin/env bash
# The HTML report in a real browser (headless Chromium): a failing run's page
# renders its timeline with the failing event marked and the whole reason;
# the kind filter hides events (the page with every kind hidden differs from
# the full one); screenshots of both are kept in $BUILD/test-logs/ to look at.
# Ends with "RESULT check-report tests=N failed=M".
set -u
name=check-report
. "$(dirname "$0")/lib/check.sh"
shots="$BUILD/test-logs"
mkdir -p "$shots"

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "check-report: no chromium (mk/packages lists it; run make check as root to install)"
	echo "RESULT check-report tests=1 failed=1"
	exit 1
fi
run_browser() { # extra args...
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
		--no-first-run --user-data-dir="$tmp/profile" --virtual-time-budget=3000 "$@" 2>/dev/null
}

# A run that fails: the backend of a ring crashes for good mid-run.
printf 'describe ring backend crash\ndomain dom0 priv\ndomain back\ndomain guest\nworkload ring front=guest back=back requests=200 batch=2\nfault evtchn.notify.dup after 5\nwhen ring.responses >= 150 crash back\nwithin 10s\nexpect pass\n' >"$tmp/crash.scn"
"$X" run "$tmp/crash.scn" --seeds 1..1 --report "$tmp/rep" >/dev/null 2>&1
page="file://$tmp/rep/index.html"
check "the report was written" '[ -s "$tmp/rep/index.html" ]'

dom=$(run_browser --dump-dom "$page")
check "the browser renders the timeline with its failing event marked" \
	'grep -q "tl-failing" <<<"$dom" && grep -q "failed here" <<<"$dom"'
check "the whole reason is under the picture, not cut" \
	'grep -q "may be waiting for it" <<<"$(grep -A40 "tl-verdict" <<<"$dom")"'
check "the picture starts at the first fault (evtchn.notify.dup) before the last events" \
	'grep -q "tl-fault" <<<"$dom" && grep -q "events not shown" <<<"$dom"'
dom_hidden=$(run_browser --dump-dom "$page#hide=copy,notify")
check "hide=copy,notify checks those boxes and hides those kinds" \
	'grep -qE "<body class=\"hide-copy hide-notify\"" <<<"$dom_hidden"'

run_browser --window-size=1400,1600 --screenshot="$shots/report-full.png" "$page" >/dev/null
run_browser --window-size=1400,1600 --screenshot="$shots/report-hidden.png" \
	"$page#hide=notify,map,unmap,copy,xs,state,fault,domain,note" >/dev/null
full=$(stat -c %s "$shots/report-full.png" 2>/dev/null || echo 0)
hidden=$(stat -c %s "$shots/report-hidden.png" 2>/dev/null || echo 0)
check "a screenshot of the failing run's page ($full bytes, in $shots/report-full.png)" '[ "$full" -gt 20000 ]'
check "with every kind hidden the page looks different ($hidden bytes)" \
	'[ "$hidden" -gt 0 ] && ! cmp -s "$shots/report-full.png" "$shots/report-hidden.png"'

finish
