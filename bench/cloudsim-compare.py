#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Reproduction bench: runs `vmpilot simulate --compat cloudsim` on every PlanetLab day
# and prints ours against CloudSim 3.0.3's reference results (data/traces/reference/),
# with the % differences and whether each is inside the tolerance (energy and
# migrations 5 %, SLAV 10 %). Exit status 1 if any value is outside.
# usage: bench/cloudsim-compare.py [BUILD_DIR] [TRACE_ROOT]
import csv
import json
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build')
ROOT = sys.argv[2] if len(sys.argv) > 2 else os.path.join(SRC, 'data/traces/planetlab')
REF = os.path.join(SRC, 'data/traces/reference/cloudsim-3.0.3-sorted.csv')
POLICIES = ['npa', 'dvfs', 'thr-mmt-1.0', 'thr-mmt-0.8', 'iqr-mmt-1.5', 'mad-mmt-2.5',
            'lr-mmt-1.2', 'lrr-mmt-1.2']
TOL = {'energy_kwh': 5.0, 'migrations': 5.0, 'slav': 10.0}


def pct(ours, ref):
    if ref == 0:
        return 0.0 if ours == 0 else float('inf')
    return (ours - ref) / ref * 100.0


def main():
    ref = {}
    with open(REF) as f:
        for row in csv.DictReader(f):
            ref[(row['day'], row['policy'].lower())] = row
    days = sorted(d for d in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, d)))
    bad = 0
    print('%-8s %-12s %9s %9s %7s | %7s %7s %7s | %8s %8s %7s | %7s %7s' % (
        'day', 'policy', 'kWh', 'ref', 'd%', 'migr', 'ref', 'd%', 'SLAV', 'ref', 'd%',
        'ours_s', 'cs_s'))
    for day in days:
        out = subprocess.run([os.path.join(BUILD, 'vmpilot'), 'simulate', '--compat',
                              'cloudsim', '--json', '--trace', os.path.join(ROOT, day),
                              '--policy', ','.join(POLICIES)],
                             check=True, capture_output=True, text=True).stdout
        for r in json.loads(out)['results']:
            rr = ref.get((day, r['policy']))
            if not rr:
                continue
            d = {k: pct(r[k], float(rr[k])) for k in TOL}
            ok = all(abs(d[k]) <= TOL[k] for k in TOL)
            bad += not ok
            print('%-8s %-12s %9.2f %9.2f %+7.2f | %7d %7d %+7.2f | %8.3g %8.3g %+7.2f | '
                  '%7.3f %7.2f %s' % (
                      day, r['policy'], r['energy_kwh'], float(rr['energy_kwh']),
                      d['energy_kwh'], r['migrations'], int(rr['migrations']),
                      d['migrations'], r['slav'], float(rr['slav']), d['slav'],
                      r['wall_s'], float(rr['cloudsim_wall_s']), 'ok' if ok else 'OUT'))
    print('%d row(s) outside tolerance' % bad)
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main())
