#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# The daemon in replay: each bundled PlanetLab day (1052 VMs, 800 hosts, 287 cycles)
# through the whole autopilot loop (`vmpilot run --replay`: sampling through the sim
# backend's ops table, right-sizing, budget, the cluster planner, migrations), timed
# (wall and CPU of the loop alone, as the command reports them) against
# `vmpilot simulate --policy vmpilot` on the same day in the same run (the baseline:
# the same planner driven by core/simrun.c), and the two rows compared digit for digit.
# Target: one day through the loop in under 5 s. usage: bench/replay-speed.py [BUILD_DIR]
import os
import re
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build')
VMPILOT = os.path.join(BUILD, 'vmpilot')
DAYS = ['20110303', '20110306', '20110309', '20110322', '20110325']


def replay(day):
    out = subprocess.run([VMPILOT, 'run', '--replay', '-c',
                          'sim://' + os.path.join(SRC, 'data/traces/planetlab', day)],
                         check=True, capture_output=True, text=True).stdout
    m = re.search(r"cycles of the daemon's loop in ([0-9.]+) s \(([0-9.]+) s CPU\)", out)
    rows = {}
    for line in out.splitlines():
        if line.startswith('vmpilot run --replay (daemon)'):
            rows['daemon'] = line.split()[-5:]
        elif line.startswith('simulate --policy vmpilot'):
            rows['simulate'] = line.split()[-5:]
    return float(m.group(1)), float(m.group(2)), rows


def simulate(day):
    t0 = time.monotonic()
    subprocess.run([VMPILOT, 'simulate', '--trace',
                    os.path.join(SRC, 'data/traces/planetlab', day), '--policy', 'vmpilot'],
                   check=True, capture_output=True)
    return time.monotonic() - t0


print('day        loop_wall_s loop_cpu_s simulate_s  ratio  rows equal  '
      '(energy_kWh overload_% unserved_% migrations SLATAH_%)')
worst = 0.0
all_equal = True
for day in DAYS:
    wall, cpu, rows = replay(day)
    base = simulate(day)
    same = rows.get('daemon') == rows.get('simulate') and 'daemon' in rows
    all_equal = all_equal and same
    worst = max(worst, wall)
    print(f"{day}  {wall:10.2f} {cpu:10.2f} {base:10.2f} {wall / base:6.1f}  {'yes' if same else 'NO '}"
          f"         {' '.join(rows.get('daemon', []))}")
print(f"slowest day through the loop: {worst:.2f} s wall (target < 5 s); "
      f"rows equal on every day: {'yes' if all_equal else 'NO'}")
sys.exit(0 if all_equal else 1)
