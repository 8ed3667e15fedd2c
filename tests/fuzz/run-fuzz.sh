#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs one libFuzzer target for a bounded time: new inputs go to a scratch corpus in the
# build directory, the checked-in seeds are read only. Usage: run-fuzz.sh EXE SEEDS SECONDS
set -eu
exe=$1 seeds=$2 seconds=$3
work="${exe}.corpus"
mkdir -p "$work"
exec "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="${exe}-crash-" "$work" "$seeds"
