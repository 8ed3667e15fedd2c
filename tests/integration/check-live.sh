#!/bin/sh
# SPDX-License-Identifier: MIT
# vmpilot check on the real host: it runs (exit 0 or 1, never 2), every WARN/FAIL row
# has a fix line, and a fixture captured from this host with
# tools/capture-host-fixture.sh replays with the same status for every check.
# Usage: check-live.sh VMPILOT CAPTURE_SCRIPT
set -u
vmpilot=$1 capture=$2
tmp=$(mktemp -d /tmp/vmp-check-live-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

"$vmpilot" check --no-color > "$tmp/live.txt"
rc=$?
if [ "$rc" != 0 ] && [ "$rc" != 1 ]; then
	echo "check-live: vmpilot check exited $rc" >&2
	exit 1
fi
cat "$tmp/live.txt"
# A WARN/FAIL row must be followed by its "fix:" line.
awk '$2 == "WARN" || $2 == "FAIL" { want = $1; next }
     want != "" { if ($1 != "fix:") { print "check-live: " want " has no fix line"; bad = 1 } want = "" }
     END { if (want != "") { print "check-live: " want " has no fix line"; bad = 1 } exit bad }' \
	"$tmp/live.txt" || fail=1

"$capture" "$tmp/host" "$vmpilot" || { echo "check-live: capture failed" >&2; exit 1; }
"$vmpilot" check --no-color > "$tmp/live2.txt"
"$vmpilot" check --no-color --root "$tmp/host" > "$tmp/replay.txt"
# Compare "id status" of every row (findings may quote counters that move).
awk 'NR > 1 && $2 ~ /^(PASS|INFO|SKIP|WARN|FAIL|UNKNOWN)$/ { print $1, $2 }' "$tmp/live2.txt" > "$tmp/a"
awk 'NR > 1 && $2 ~ /^(PASS|INFO|SKIP|WARN|FAIL|UNKNOWN)$/ { print $1, $2 }' "$tmp/replay.txt" > "$tmp/b"
if [ "$(wc -l < "$tmp/a")" -lt 25 ] || ! diff -u "$tmp/a" "$tmp/b"; then
	echo "check-live: the captured fixture does not replay like the live host" >&2
	fail=1
fi
exit $fail
