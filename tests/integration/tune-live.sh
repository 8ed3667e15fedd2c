#!/bin/sh
# SPDX-License-Identifier: MIT
# vmpilot tune on this real host, once per profile: apply (the persistent files and
# the state under a temporary --persist-root, never the real /etc), verify (exit 0, and
# every value written reads back), rollback, and every knob a profile may touch is
# byte-for-byte what it was before. Whatever happens, the trap puts every saved value
# back. Never touches CPU online files. Usage: tune-live.sh VMPILOT
set -u
vmpilot=$1
tmp=$(mktemp -d /tmp/vmp-tune-live-XXXXXX)
fail=0

# Every file a profile may write on a host (cpufreq and irq affinity where present).
knobs() {
	for f in /proc/sys/vm/swappiness /proc/sys/vm/dirty_ratio /proc/sys/vm/dirty_background_ratio \
		/proc/sys/kernel/numa_balancing /proc/irq/default_smp_affinity \
		/sys/kernel/mm/transparent_hugepage/enabled /sys/kernel/mm/transparent_hugepage/defrag \
		/sys/kernel/mm/ksm/run /sys/kernel/mm/ksm/pages_to_scan /sys/kernel/mm/ksm/sleep_millisecs \
		/sys/block/*/queue/scheduler /sys/block/*/queue/read_ahead_kb \
		/sys/devices/system/cpu/cpu[0-9]*/cpufreq/scaling_governor; do
		[ -f "$f" ] && echo "$f"
	done
}
snapshot() {
	for f in $(knobs); do printf '%s\t%s\n' "$f" "$(cat "$f" 2>/dev/null)"; done
}
# Puts a snapshot back: the selected word of a choice file, the value otherwise.
restore() {
	while IFS="$(printf '\t')" read -r f v; do
		case "$v" in
		*\[*) v=$(printf '%s' "$v" | sed 's/.*\[\([^]]*\)\].*/\1/') ;;
		esac
		[ "$(cat "$f" 2>/dev/null)" = "$(grep -F "$f	" "$tmp/before" | cut -f2-)" ] && continue
		printf '%s' "$v" > "$f" 2>/dev/null || echo "tune-live: could not restore $f" >&2
	done < "$1"
}
trap 'restore "$tmp/before"; rm -rf "$tmp"' EXIT INT TERM
snapshot > "$tmp/before"

for profile in $("$vmpilot" tune list | cut -d' ' -f1); do
	p="$tmp/$profile"
	mkdir -p "$p"
	"$vmpilot" tune apply "$profile" --persist-root "$p" > "$p/apply.txt" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "tune-live: apply $profile exited $rc" >&2
		cat "$p/apply.txt" >&2
		fail=1
	fi
	written=$(grep -c '^~' "$p/apply.txt")
	"$vmpilot" tune verify --persist-root "$p" > "$p/verify.txt" 2>&1
	rc=$?
	if [ "$rc" != 0 ]; then
		echo "tune-live: verify $profile exited $rc" >&2
		cat "$p/verify.txt" >&2
		fail=1
	fi
	# A changed value behind vmpilot's back is drift (swappiness: always present).
	old=$(cat /proc/sys/vm/swappiness)
	echo 77 > /proc/sys/vm/swappiness
	"$vmpilot" tune verify --persist-root "$p" > "$p/drift.txt" 2>&1
	rc=$?
	echo "$old" > /proc/sys/vm/swappiness
	if [ "$rc" != 1 ] || ! grep -q '^DRIFT vm.swappiness' "$p/drift.txt"; then
		echo "tune-live: verify did not report drift for $profile (exit $rc)" >&2
		fail=1
	fi
	"$vmpilot" tune rollback --persist-root "$p" > "$p/rollback.txt" 2>&1 || {
		echo "tune-live: rollback $profile failed" >&2
		cat "$p/rollback.txt" >&2
		fail=1
	}
	snapshot > "$tmp/after"
	if ! diff "$tmp/before" "$tmp/after" >&2; then
		echo "tune-live: $profile left values changed (above)" >&2
		fail=1
	fi
	if [ -n "$(find "$p" -path "$p/etc/*" -type f)" ] || [ -e "$p/var/lib/vmpilot/tune-state.json" ]; then
		echo "tune-live: $profile left files under $p" >&2
		fail=1
	fi
	echo "tune-live: $profile: $written value(s) applied, verified, drift seen, rolled back"
done
exit $fail
