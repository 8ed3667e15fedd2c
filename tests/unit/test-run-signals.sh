#!/bin/sh
# SPDX-License-Identifier: MIT
# `vmpilot run` and vmpilotd as processes on libvirt's test:///default driver: SIGHUP
# swaps in a valid config and refuses an invalid one (the loop keeps running on the
# old one), SIGTERM stops it cleanly (exit 0), -n checks a file, a bad key is reported
# as file:line:. Usage: test-run-signals.sh VMPILOT VMPILOTD
set -u
VMPILOT=$1
VMPILOTD=$2
dir=$(mktemp -d /tmp/vmp-run-signals-XXXXXX)
pid=
cleanup() {
	[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*" >&2
	echo "--- log" >&2; cat "$dir/log" >&2 2>/dev/null
	exit 1
}
# Polls (every 0.1 s, up to 10 s) until the log has the text.
wait_log() {
	i=0
	while ! grep -q -- "$1" "$dir/log" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 100 ] && fail "no '$1' in the log"
		sleep 0.1
	done
}

printf 'interval_ms = 1000\nstatus_file = %s/status.json\n' "$dir" >"$dir/ok.conf"
"$VMPILOT" run -n -f "$dir/ok.conf" | grep -q 'configuration OK' || fail "-n on a valid file"
printf 'interval_ms = 1000\n[vm test]\nmem_min_kib = -5\n' >"$dir/bad.conf"
out=$("$VMPILOT" run -n -f "$dir/bad.conf" 2>&1) && fail "-n accepted a bad file"
echo "$out" | grep -q "$dir/bad.conf:3: 'mem_min_kib' must be between" || fail "-n said: $out"
"$VMPILOTD" -n -f "$dir/ok.conf" | grep -q 'configuration OK' || fail "vmpilotd -n"

cp "$dir/ok.conf" "$dir/run.conf"
"$VMPILOTD" -v -c test:///default -f "$dir/run.conf" -J "$dir/journal" >"$dir/log" 2>&1 &
pid=$!
wait_log 'watching 1 host every 1000 ms'
# A valid new file is swapped in.
printf 'interval_ms = 2000\nstatus_file = %s/status.json\n' "$dir" >"$dir/run.conf"
kill -HUP $pid
wait_log 'configuration reloaded'
# An invalid one is refused; the daemon keeps running.
printf 'interval_ms = 5\n' >"$dir/run.conf"
kill -HUP $pid
wait_log 'reload refused'
grep -q "run.conf:1: 'interval_ms' must be between 1000 and" "$dir/log" || fail "no file:line: in the log"
kill -0 $pid || fail "the daemon died after a bad reload"
# Still deciding: the journal has the VM's entries; its status is published with its
# mode (advise, the default).
grep -q '"vm":"test"' "$dir/journal" || fail "no journal entry for vm test"
grep -q '"name":"test","mode":"advise"' "$dir/status.json" || fail "no status of vm test"
kill -TERM $pid
wait $pid
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
grep -q 'stopping' "$dir/log" || fail "no clean stop"
echo "ok: -n, SIGHUP reload (valid swapped in, invalid refused), SIGTERM exit 0"
