#!/bin/sh
# SPDX-License-Identifier: MIT
# vmpilot simulate --report FILE.html opens in a real browser: headless Chromium (Debian's
# chromium package) loads the report, its DOM has the four charts with one line per
# policy (plus the bound) and the results table, and a screenshot is drawn.
# Usage: simulate-report.sh VMPILOT TRACE_DIR
set -u
vmpilot=$1 trace=$2
tmp=$(mktemp -d /tmp/vmp-report-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

browser=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$browser" ]; then
	echo "simulate-report: FAILED: chromium is not installed (tools/debian-packages.txt lists it)" >&2
	exit 1
fi
"$vmpilot" simulate --trace "$trace" --policy thr-mmt-0.8,vmpilot --report "$tmp/r.html" \
	> "$tmp/table.txt" || { echo "simulate-report: vmpilot simulate failed" >&2; exit 1; }
cat "$tmp/table.txt"
chrome() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --disable-component-update --disable-sync \
		--user-data-dir="$tmp/profile" "$@" "file://$tmp/r.html" 2> "$tmp/chrome.err"
}
chrome --dump-dom > "$tmp/dom.html" || { cat "$tmp/chrome.err" >&2; exit 1; }
fail=0
want() { # what count pattern
	n=$(grep -o "$3" "$tmp/dom.html" | wc -l)
	if [ "$n" -ne "$2" ]; then
		echo "simulate-report: want $2 $1 in the rendered DOM, got $n" >&2
		fail=1
	fi
}
want "svg charts" 4 '<svg '
want "lines (2 policies x 4 charts + the bound)" 9 '<polyline'
want "result rows" 2 '<tr class="run">'
want "bound rows" 1 '<tr class="bound">'
grep -q '<td>vmpilot</td>\|</i>vmpilot</td>' "$tmp/dom.html" || { echo "simulate-report: no vmpilot row" >&2; fail=1; }
chrome --screenshot="$tmp/shot.png" --window-size=1000,1600 || { cat "$tmp/chrome.err" >&2; exit 1; }
size=$(stat -c %s "$tmp/shot.png" 2>/dev/null || echo 0)
# a blank 1000x1600 page compresses to a few KiB; the charts make it far larger
if [ "$size" -lt 30000 ]; then
	echo "simulate-report: screenshot is $size bytes: nothing drawn?" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "simulate-report: ok (screenshot $size bytes)"
exit $fail
