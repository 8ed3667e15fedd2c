#!/bin/sh
# SPDX-License-Identifier: MIT
# `vmpilot simulate --events`: the file it writes lets bench/sim-recompute.py recompute
# every continuous metric from the trace alone, equal to the simulator's within 1e-6,
# in both modes; a symbolic link in place of the file is refused.
# Usage: test-sim-events.sh VMPILOT SOURCE_DIR
set -u
VMPILOT=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
SRC=$2
dir=$(mktemp -d /tmp/vmp-sim-events-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
cd "$SRC" || fail "no source dir $SRC"
"$VMPILOT" simulate -p vmpilot,lr-mmt-1.2 --events "$dir/default.jsonl" >/dev/null ||
	fail "simulate (default mode)"
python3 bench/sim-recompute.py "$dir/default.jsonl" || fail "recompute, default mode"
"$VMPILOT" simulate --compat cloudsim -p thr-mmt-0.8 --events "$dir/compat.jsonl" \
	>/dev/null || fail "simulate (compat)"
python3 bench/sim-recompute.py "$dir/compat.jsonl" || fail "recompute, compat"
"$VMPILOT" simulate -t data/traces/bitbrains-rnd --hosts 10 -p lr-mmt-1.2,vmpilot \
	--events "$dir/csv.jsonl" >/dev/null || fail "simulate (Bitbrains)"
python3 bench/sim-recompute.py "$dir/csv.jsonl" || fail "recompute, Bitbrains"
ln -s "$dir/target" "$dir/link"
if "$VMPILOT" simulate -p dvfs --events "$dir/link" >/dev/null 2>"$dir/err"; then
	fail "wrote through a symbolic link"
fi
grep -q "cannot write events" "$dir/err" || fail "no clear error: $(cat "$dir/err")"
[ -e "$dir/target" ] && fail "created the link's target"
echo "ok"
