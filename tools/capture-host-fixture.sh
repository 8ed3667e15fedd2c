#!/bin/sh
# SPDX-License-Identifier: MIT
# Captures the files `vmpilot check` reads on this host into a fixture tree DEST, so
# the checks can be replayed with `vmpilot check --root DEST` (tests/data/hosts/).
# Only the inputs the probes actually asked for are copied (`vmpilot check
# --list-inputs`); device nodes become empty regular files and the /dev/kvm ioctl
# results go to DEST/dev/kvm.ioctl (`vmpilot check --kvm-facts`). See
# doc/design/check.md. Usage: tools/capture-host-fixture.sh DEST [VMPILOT]
set -eu
dest=${1:?usage: capture-host-fixture.sh DEST [VMPILOT]}
vmpilot=${2:-$(dirname "$0")/../build/vmpilot}
[ -e "$dest" ] && { echo "capture-host-fixture.sh: '$dest' exists; remove it first" >&2; exit 2; }
mkdir -p "$dest"

"$vmpilot" check --list-inputs | sort -u | while IFS= read -r path; do
	out="$dest$path"
	case "$path" in
	/proc/[0-9]*/comm)
		# Keep only the processes a probe looks for (numad), not every process name.
		[ "$(cat "$path" 2>/dev/null)" = numad ] || continue
		mkdir -p "$(dirname "$out")"
		cat "$path" > "$out"
		continue ;;
	esac
	case "$path" in
	*/)
		# A directory listing: its entries' names matter (ACPI tables, IOMMU groups,
		# CPUs, block devices, NUMA nodes), their contents only where a probe reads them.
		path=${path%/}
		out=${out%/}
		[ -d "$path" ] || continue
		mkdir -p "$out"
		[ "$path" = /proc ] && continue
		for child in "$path"/*; do
			[ -e "$child" ] || continue
			name=${child##*/}
			if [ -d "$child" ]; then
				mkdir -p "$out/$name"
			elif [ ! -e "$out/$name" ]; then
				: > "$out/$name"
			fi
		done
		continue ;;
	esac
	if [ -c "$path" ] || [ -b "$path" ]; then
		mkdir -p "$(dirname "$out")"
		: > "$out"
	elif [ -d "$path" ]; then
		mkdir -p "$out"
	elif [ -f "$path" ]; then
		mkdir -p "$(dirname "$out")"
		# sysfs files report a size of 4096: cat, never cp. Unreadable files stay absent.
		# A file already created as a listing placeholder is overwritten with its content.
		cat "$path" > "$out" 2>/dev/null || rm -f "$out"
	fi
done

if [ -e /dev/kvm ]; then
	mkdir -p "$dest/dev"
	: > "$dest/dev/kvm"
	"$vmpilot" check --kvm-facts > "$dest/dev/kvm.ioctl"
fi
# git keeps no empty directory: mark them (probes ignore .vmp-keep).
find "$dest" -type d -empty -exec touch {}/.vmp-keep \;
echo "captured $(find "$dest" -type f | wc -l) files into $dest"
