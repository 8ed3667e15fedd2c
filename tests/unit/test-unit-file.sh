#!/bin/sh
# SPDX-License-Identifier: MIT
# The systemd unit of vmpilotd (contrib/systemd/vmpilotd.service.in as meson
# configured it): `systemd-analyze verify` says nothing, and
# `systemd-analyze security --offline=true` rates its exposure 4.0 or lower.
# Usage: test-unit-file.sh BUILD_UNIT VMPILOTD SOURCE_ROOT
set -u
unit=$1 vmpilotd=$(realpath "$2") src=$3
dir=$(mktemp -d /tmp/vmp-test-unit-XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v systemd-analyze >/dev/null || fail "systemd-analyze not found (package systemd)"

# verify checks that ExecStart= exists and that Documentation= man pages open: point
# both at this tree.
sed "s|^ExecStart=[^ ]*|ExecStart=$vmpilotd|" "$unit" >"$dir/vmpilotd.service"
mkdir -p "$dir/man/man1" "$dir/man/man5" "$dir/man/man8"
ln -s "$src/doc/man/vmpilot.1" "$dir/man/man1/"
ln -s "$src/doc/man/vmpilot.conf.5" "$dir/man/man5/"
ln -s "$src/doc/man/vmpilotd.8" "$dir/man/man8/"
out=$(MANPATH="$dir/man" systemd-analyze verify "$dir/vmpilotd.service" 2>&1) ||
	fail "systemd-analyze verify failed: $out"
[ -z "$out" ] || fail "systemd-analyze verify is not clean: $out"

out=$(systemd-analyze security --offline=true "$dir/vmpilotd.service" 2>&1)
level=$(echo "$out" | sed -n 's/.*Overall exposure level for vmpilotd.service: \([0-9.]*\).*/\1/p')
[ -n "$level" ] || fail "no exposure level in: $out"
echo "$out" | grep '✗'
echo "exposure: $level"
awk -v l="$level" 'BEGIN { exit !(l <= 4.0) }' || fail "exposure $level is above 4.0"
echo "ok: systemd-analyze verify clean, exposure $level"
