#!/bin/sh
# SPDX-License-Identifier: MIT
# Builds the Debian package from debian/ (dpkg-buildpackage -us -uc -b) in a copy of
# the files git tracks (nothing is written into the source tree) and runs lintian on
# it: every error and warning fails (the justified ones are overridden, with their
# reason, in debian/vmpilot.lintian-overrides).
# Usage: tools/build-deb.sh OUTDIR   (the .deb, .buildinfo, .changes and lintian.txt go there)
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "$1" && cd "$1" && pwd)
work=$(mktemp -d /tmp/vmp-deb-XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir "$work/vmpilot"
(cd "$src" && git ls-files -z | xargs -0 cp -P --parents -t "$work/vmpilot")
cd "$work/vmpilot"
dpkg-buildpackage -us -uc -b >"$out/build.log" 2>&1 || {
	tail -40 "$out/build.log" >&2
	echo "build-deb: dpkg-buildpackage failed (log: $out/build.log)" >&2
	exit 1
}
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out/"
# --fail-on error,warning: a warning is a failure unless overridden with its reason.
lintian --fail-on error,warning --display-info "$work"/*.changes >"$out/lintian.txt" 2>&1 || {
	cat "$out/lintian.txt" >&2
	echo "build-deb: lintian found errors or warnings" >&2
	exit 1
}
cat "$out/lintian.txt"
ls "$out"/*.deb
