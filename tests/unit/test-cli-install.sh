#!/bin/sh
# SPDX-License-Identifier: MIT
# The installed vmpilot finds its bundled traces from any working directory: `meson
# install` puts data/traces below datadir/vmpilot, and a binary outside its build
# directory looks there (not in the working directory, not in the source tree).
# Also: `vmpilot run` prints a line per cycle on a terminal (a pty from script(1)) and a
# summary at exit either way; vmpilotd --help is vmpilotd's own.
# Usage: test-cli-install.sh BUILD_DIR
set -u
build=$1
tmp=$(mktemp -d /tmp/vmp-cli-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
fail() {
	echo "FAIL: $*" >&2
	exit 1
}

meson install -C "$build" --no-rebuild --quiet --destdir "$tmp/root" > "$tmp/install.log" 2>&1 ||
	{ cat "$tmp/install.log" >&2; fail "meson install"; }
bin=$(find "$tmp/root" -path '*/bin/vmpilot' -type f)
sbin=$(find "$tmp/root" -path '*/sbin/vmpilotd' -type f)
data=$(find "$tmp/root" -path '*/share/vmpilot' -type d)
[ -n "$bin" ] && [ -n "$sbin" ] && [ -n "$data" ] || fail "installed tree lacks vmpilot, vmpilotd or share/vmpilot"
[ -d "$data/traces/planetlab/20110303" ] || fail "no traces in $data"
prefix_data=${data#"$tmp/root"}

# From / the installed binary looks in the installed data directory ($prefix_data,
# absent on this machine, as the error must say) ...
out=$(cd / && "$bin" simulate --hosts 50 2>&1) && fail "simulate ran without its data directory"
echo "$out" | grep -q "$prefix_data/traces/planetlab/20110303" ||
	fail "the error does not name the installed data directory: $out"
# ... and with that directory in place (here relocated by VMPILOT_DATADIR) it works
# from any working directory.
for dir in / "$tmp"; do
	(cd "$dir" && VMPILOT_DATADIR="$data" "$bin" simulate --hosts 50 -p thr-mmt-0.8) \
		> "$tmp/sim.txt" 2>&1 || { cat "$tmp/sim.txt" >&2; fail "simulate from $dir"; }
	grep -q '^thr-mmt-0.8 ' "$tmp/sim.txt" || fail "no result row from $dir"
	(cd "$dir" && VMPILOT_DATADIR="$data" "$bin" replay --max-vms 3 -p static) \
		> "$tmp/replay.txt" 2>&1 || { cat "$tmp/replay.txt" >&2; fail "replay from $dir"; }
done

# vmpilotd's own help
"$sbin" --help | head -1 | grep -q '^usage: vmpilotd \[OPTION...\]' || fail "vmpilotd --help"

# run on a terminal: one line per cycle, then the summary
if ! command -v script > /dev/null; then
	fail "script(1) (bsdutils) is not installed"
fi
script -qec "'$bin' run -c test:///default -d -N 2 -i 100ms -J '$tmp/j.jsonl'" "$tmp/tty.log" \
	> /dev/null 2>&1 || { cat "$tmp/tty.log" >&2; fail "run on a pty"; }
grep -q 'cycle 1/2: 1 host ok, 1 vm (' "$tmp/tty.log" || { cat "$tmp/tty.log" >&2; fail "no line for cycle 1"; }
grep -q 'cycle 2/2:' "$tmp/tty.log" || fail "no line for cycle 2"
grep -q '^2 cycles in .* decisions, 0 actions (dry run), 0 failed actions' "$tmp/tty.log" || fail "no summary on the pty"
# not a terminal: no cycle lines, the summary still
"$bin" run -c test:///default -d -N 2 -i 100ms -J "$tmp/j.jsonl" > "$tmp/out" 2> "$tmp/err" || fail "run"
grep -q 'cycle 1/2' "$tmp/err" && fail "cycle lines without a terminal"
grep -q '^2 cycles in' "$tmp/err" || fail "no summary without a terminal"
echo "ok: installed data directory, any working directory, vmpilotd --help, run's cycle lines and summary"
