#!/bin/sh
# SPDX-License-Identifier: MIT
# `vmpilot run` and vmpilotd as processes on libvirt's test:///default driver: SIGHUP
# swaps in a valid config and refuses an invalid one (the loop keeps running on the
# old one), SIGTERM stops it cleanly (exit 0), -n checks a file, a bad key is reported
# as file:line:. SIGHUP reopens the journal (moved away by logrotate, or a new
# `journal =`). A FIFO where a file is expected (config, journal, swapped in before
# SIGHUP) is a clear error, never a hang; SIGTERM works throughout.
# Usage: test-run-signals.sh VMPILOT VMPILOTD
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
# A FIFO swapped in for the config before SIGHUP: refused at once, the daemon goes on.
mv "$dir/run.conf" "$dir/run.conf.real"
mkfifo "$dir/run.conf"
kill -HUP $pid
wait_log "cannot read config '$dir/run.conf': not a regular file"
rm "$dir/run.conf"
mv "$dir/run.conf.real" "$dir/run.conf"
kill -0 $pid || fail "the daemon died after a FIFO config"
# Rotated away (as logrotate does), then SIGHUP: the journal is reopened at its path.
printf 'interval_ms = 1000\n' >"$dir/run.conf"
mv "$dir/journal" "$dir/journal.1"
kill -HUP $pid
wait_log 'journal reopened'
i=0
while ! grep -q '"event":"journal_reopened"' "$dir/journal" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "nothing written to the reopened journal"
	sleep 0.1
done
[ "$(stat -c %a "$dir/journal")" = 640 ] || fail "journal mode $(stat -c %a "$dir/journal")"
n1=$(wc -l <"$dir/journal.1")
sleep 1.5
[ "$(wc -l <"$dir/journal.1")" = "$n1" ] || fail "still writing the moved-away journal"
kill -TERM $pid
wait $pid
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"
grep -q 'stopping' "$dir/log" || fail "no clean stop"

# A new `journal =` takes effect at SIGHUP (no -J).
printf 'interval_ms = 1000\njournal = %s\n' "$dir/j1" >"$dir/j.conf"
"$VMPILOT" run -v -c test:///default -f "$dir/j.conf" >"$dir/log" 2>&1 &
pid=$!
wait_log "journal $dir/j1"
printf 'interval_ms = 1000\njournal = %s\n' "$dir/j2" >"$dir/j.conf"
kill -HUP $pid
wait_log "journal reopened: $dir/j2"
i=0
while ! grep -q '"event":"journal_reopened"' "$dir/j2" 2>/dev/null; do
	i=$((i + 1))
	[ $i -gt 100 ] && fail "nothing written to the new journal"
	sleep 0.1
done
# A symlink at the journal's path is not followed: the old journal is kept.
ln -s "$dir/elsewhere" "$dir/j3"
printf 'interval_ms = 1000\njournal = %s\n' "$dir/j3" >"$dir/j.conf"
kill -HUP $pid
wait_log "keeping the journal '$dir/j2'"
[ -e "$dir/elsewhere" ] && fail "the journal followed a symlink"
kill -TERM $pid
wait $pid
rc=$?
pid=
[ $rc -eq 0 ] || fail "exit status $rc after SIGTERM"

# FIFOs: a clear error at once, never a hang.
mkfifo "$dir/fifo"
out=$(timeout 5 "$VMPILOT" run -n -f "$dir/fifo" 2>&1)
[ $? -eq 124 ] && fail "run -n -f FIFO hung"
echo "$out" | grep -q "not a regular file" || fail "run -n -f FIFO said: $out"
out=$(timeout 5 "$VMPILOT" run -c test:///default -N 1 -J "$dir/fifo" 2>&1)
[ $? -eq 124 ] && fail "run -J FIFO hung"
echo "$out" | grep -q "cannot open journal '$dir/fifo': not a regular file" || fail "run -J FIFO said: $out"
out=$(timeout 5 "$VMPILOT" why -J "$dir/fifo" test 2>&1)
[ $? -eq 124 ] && fail "why -J FIFO hung"
echo "$out" | grep -q "not a regular file" || fail "why -J FIFO said: $out"
out=$(timeout 5 "$VMPILOT" why -J /dev/zero test 2>&1)
echo "$out" | grep -q "not a regular file" || fail "why -J /dev/zero said: $out"
echo "ok: -n, SIGHUP reload (valid swapped in, invalid and FIFO refused), journal reopened (moved, new path, symlink refused), FIFOs refused, SIGTERM exit 0"
