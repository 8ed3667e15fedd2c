#!/bin/sh
# SPDX-License-Identifier: MIT
# vmpilot simulate draws a progress bar when stderr is a terminal (a real pty from
# script(1)) and nothing when it is not; the table on stdout is the same either way.
# Usage: simulate-progress.sh VMPILOT TRACE_DIR
set -u
vmpilot=$1 trace=$2
tmp=$(mktemp -d /tmp/vmp-progress-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail=0

if ! command -v script > /dev/null; then
	echo "simulate-progress: FAILED: script(1) (bsdutils) is not installed" >&2
	exit 1
fi
# on a pty: stdout and stderr both go to the terminal, which script records
script -qec "'$vmpilot' simulate --trace '$trace' --policy vmpilot" "$tmp/tty.log" \
	> /dev/null 2>&1 || { echo "simulate-progress: vmpilot simulate failed on a pty" >&2; exit 1; }
grep -q 'vmpilot        \[##############################\] 100 %' "$tmp/tty.log" || {
	echo "simulate-progress: no completed progress bar on the terminal" >&2
	fail=1
}
grep -q '^vmpilot ' "$tmp/tty.log" || { echo "simulate-progress: no table row" >&2; fail=1; }
# not a tty: stderr stays empty
"$vmpilot" simulate --trace "$trace" --policy vmpilot > "$tmp/out.txt" 2> "$tmp/err.txt" || exit 1
if [ -s "$tmp/err.txt" ]; then
	echo "simulate-progress: stderr not empty without a terminal:" >&2
	cat "$tmp/err.txt" >&2
	fail=1
fi
[ "$fail" = 0 ] && echo "simulate-progress: ok"
exit $fail
