#!/bin/sh
# SPDX-License-Identifier: MIT
# Regular files only, everywhere: a FIFO where vmpilot expects a file (config, journal,
# trace CSV, a file under `check --root`, simulate's events file, replay's journal)
# is a clear "not a regular file" error at once, never a hang (each command runs under
# `timeout`; 124 = it hung). The reload and SIGTERM cases are in test-run-signals.sh.
# Usage: test-regular-files.sh VMPILOT SOURCE_ROOT
set -u
VMPILOT=$1
SRC=$2
dir=$(mktemp -d /tmp/vmp-regular-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() {
	echo "FAIL: $*" >&2
	exit 1
}
# Runs a command under a 10 s timeout; its output must name the problem.
expect() {
	what=$1
	shift
	out=$(timeout 10 "$@" 2>&1 </dev/null)
	rc=$?
	[ $rc -eq 124 ] && fail "$what: hung"
	[ $rc -eq 0 ] && fail "$what: exit status 0"
	echo "$out" | grep -q "not a regular file" || fail "$what said: $out"
}
mkfifo "$dir/fifo"

expect "run -n -f FIFO" "$VMPILOT" run -n -f "$dir/fifo"
expect "run -J FIFO" "$VMPILOT" run -c test:///default -N 1 -J "$dir/fifo"
expect "why -J FIFO" "$VMPILOT" why -J "$dir/fifo" vm1

# A trace directory with a FIFO named like a trace file.
mkdir "$dir/trace"
cp "$SRC/data/traces/bitbrains-rnd/"*.csv "$dir/trace/" 2>/dev/null
mkfifo "$dir/trace/zz-fifo.csv"
expect "replay --trace DIR with a FIFO" "$VMPILOT" replay --trace "$dir/trace"
expect "simulate --trace DIR with a FIFO" "$VMPILOT" simulate --trace "$dir/trace" --format csv
expect "simulate --events FIFO" "$VMPILOT" simulate --events "$dir/fifo"
expect "replay -J FIFO" "$VMPILOT" replay -J "$dir/fifo" --max-vms 1

# check --root on a captured host whose /proc/cpuinfo is a FIFO.
cp -r "$SRC/tests/data/hosts/pvm-nested-v1" "$dir/root"
rm -f "$dir/root/proc/cpuinfo"
mkfifo "$dir/root/proc/cpuinfo"
out=$(timeout 10 "$VMPILOT" check --root "$dir/root" 2>&1 </dev/null)
[ $? -eq 124 ] && fail "check --root with a FIFO: hung"
echo "$out" | grep -q "cannot read '.*cpuinfo': not a regular file" || fail "check --root said: $out"
echo "ok: FIFOs as config, journal, why -J, trace file, events file, replay journal and under check --root: clear errors, no hang"
