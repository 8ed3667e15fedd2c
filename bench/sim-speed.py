#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Speed bench: one PlanetLab day (1052 VMs, 800 hosts, 288 steps) with LR-MMT-1.2 in
# CloudSim-compat mode. Prints vmpilot's wall time (whole process: trace read +
# simulation, and the simulation alone), its peak RSS, CloudSim 3.0.3's wall time and
# peak memory for the same day from the reference CSV, and the ratios.
# Targets: < 0.2 s and < 50 MB. Use a release build for timing (meson setup build-rel
# --buildtype=release). usage: bench/sim-speed.py [BUILD_DIR] [DAY_DIR] [RUNS]
import csv
import json
import os
import statistics
import subprocess
import sys
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build')
DAY_DIR = sys.argv[2] if len(sys.argv) > 2 else os.path.join(SRC, 'data/traces/planetlab/20110303')
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 7
REF = os.path.join(SRC, 'data/traces/reference/cloudsim-3.0.3-sorted.csv')
POLICY = 'lr-mmt-1.2'


def run_once():
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(BUILD, 'vmpilot'), 'simulate', '--compat', 'cloudsim',
                          '--json', '--trace', DAY_DIR, '--policy', POLICY],
                         stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, rusage = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status != 0:
        sys.exit('vmpilot simulate failed')
    res = json.loads(out)['results'][0]
    return wall, res['wall_s'], rusage.ru_maxrss / 1024.0, res


def main():
    day = os.path.basename(os.path.normpath(DAY_DIR))
    ref = None
    with open(REF) as f:
        for row in csv.DictReader(f):
            if row['day'] == day and row['policy'].lower() == POLICY:
                ref = row
    runs = [run_once() for _ in range(RUNS)]
    wall = statistics.median(r[0] for r in runs)
    sim = statistics.median(r[1] for r in runs)
    rss = max(r[2] for r in runs)
    res = runs[0][3]
    print('day %s, %s, %d runs (median):' % (day, POLICY, RUNS))
    print('  vmpilot  process %.3f s  (simulation alone %.3f s), peak RSS %.1f MB' %
          (wall, sim, rss))
    print('           energy %.2f kWh, %d migrations, SLAV %.4g' %
          (res['energy_kwh'], res['migrations'], res['slav']))
    if ref:
        cs_s, cs_mb = float(ref['cloudsim_wall_s']), float(ref['cloudsim_maxrss_mb'])
        print('  CloudSim 3.0.3 (reference CSV) %.2f s, peak %.0f MB' % (cs_s, cs_mb))
        print('  ratio    time %.0fx faster (simulation alone %.0fx), memory %.0fx smaller' %
              (cs_s / wall, cs_s / sim, cs_mb / rss))
    print('  targets  < 0.2 s: %s   < 50 MB: %s' % ('met' if wall < 0.2 else 'MISSED',
                                                   'met' if rss < 50 else 'MISSED'))


if __name__ == '__main__':
    main()
