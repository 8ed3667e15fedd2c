#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds vmpilot into ./build, first installing (as root, with apt-get) any Debian
# package from tools/debian-packages.txt that is missing. Set VMP_WERROR=1 to turn
# warnings into errors (CI does). Safe to run again: it only rebuilds what changed.
set -eu
cd "$(dirname "$0")"

missing=
for pkg in $(grep -v '^#' tools/debian-packages.txt); do
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	case "$status" in
	*" installed") ;;
	*) missing="$missing $pkg" ;;
	esac
done
if [ -n "$missing" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "build.sh: missing Debian packages:$missing; run as root to install them" >&2
		exit 1
	fi
	echo "build.sh: installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	# shellcheck disable=SC2086
	apt-get install -y -q --no-install-recommends $missing
fi

werror=false
[ "${VMP_WERROR:-0}" = 1 ] && werror=true
if [ -f build/build.ninja ]; then
	meson configure build -Dwerror=$werror >/dev/null
else
	meson setup build -Dwerror=$werror
fi
ninja -C build
