#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# vmpilot's policy against the baselines on the five PlanetLab days: for each day prints
# vmpilot, LR-MMT-1.2 and the oracle lower bound side by side (energy, ratio to the bound,
# SLAV, ESV, migrations) and whether issue 3's goal holds that day:
#   ESV <= half the best baseline's ESV, energy <= LR-MMT-1.2's, fewer migrations than
#   every baseline.
# The baselines are every migrating row of `vmpilot simulate --policy list`. The tuning
# days (20110303, 20110322) and the held-out days are reported separately.
# usage: bench/pilot-goal.py [--build DIR] [--compat] [--pilot KEY=VAL,...] [--days D,D]
import argparse
import json
import os
import subprocess
import sys

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUNING = ['20110303', '20110322']
HELD_OUT = ['20110306', '20110309', '20110325']
# every migrating row of the policy table (NPA and DVFS never migrate)
BASELINES = []


def list_baselines(build):
    out = subprocess.run([os.path.join(build, 'vmpilot'), 'simulate', '--policy', 'list'],
                         check=True, stdout=subprocess.PIPE, text=True).stdout
    return [line.split()[0] for line in out.splitlines()
            if line.split() and line.split()[0] not in ('npa', 'dvfs', 'vmpilot')]


def run_day(args, day):
    cmd = [os.path.join(args.build, 'vmpilot'), 'simulate', '--json', '--trace',
           os.path.join(SRC, 'data/traces/planetlab', day),
           '--policy', ','.join(BASELINES + ['vmpilot'])]
    if args.compat:
        cmd += ['--compat', 'cloudsim']
    if args.pilot:
        cmd += ['--pilot', args.pilot]
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True).stdout
    res = json.loads(out)
    return res['bound_kwh'], {r['policy']: r for r in res['results']}


def judge(rs):
    pilot, lr = rs['vmpilot'], rs['lr-mmt-1.2']
    base = [rs[b] for b in BASELINES]
    best = min(base, key=lambda r: r['esv'])
    esv_ok = pilot['esv'] <= best['esv'] / 2
    energy_ok = pilot['energy_kwh'] <= lr['energy_kwh']
    mig_ok = all(pilot['migrations'] < r['migrations'] for r in base)
    return best, esv_ok, energy_ok, mig_ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default=os.path.join(SRC, 'build'))
    ap.add_argument('--compat', action='store_true', help='CloudSim 3.0.3 compat mode')
    ap.add_argument('--pilot', default='', help='vmpilot policy parameters')
    ap.add_argument('--days', default=','.join(TUNING + HELD_OUT))
    args = ap.parse_args()
    BASELINES.extend(list_baselines(args.build))
    days = args.days.split(',')
    allok = True
    print('mode: %s%s' % ('CloudSim 3.0.3 compat' if args.compat else 'default',
                          ', pilot ' + args.pilot if args.pilot else ''))
    print('baselines: ' + ', '.join(BASELINES))
    for title, group in (('tuning days', TUNING), ('held-out days', HELD_OUT)):
        group = [d for d in group if d in days]
        if not group:
            continue
        print('\n== %s' % title)
        print('%-9s %-12s %10s %8s %10s %10s %10s  %s' % (
            'day', 'policy', 'energy_kWh', 'E/bound', 'SLAV_1e-5', 'ESV_1e-3', 'migrations',
            'goal'))
        for day in group:
            bound, rs = run_day(args, day)
            best, esv_ok, energy_ok, mig_ok = judge(rs)
            ok = esv_ok and energy_ok and mig_ok
            allok = allok and ok
            for name in ('vmpilot', 'lr-mmt-1.2'):
                r = rs[name]
                print('%-9s %-12s %10.2f %8.3f %10.3f %10.3f %10d' % (
                    day, name, r['energy_kwh'], r['energy_bound_ratio'], r['slav'] * 1e5,
                    r['esv'] * 1e3, r['migrations']), end='')
                if name == 'vmpilot':
                    print('  %s (ESV %s %.3f = half of %s; energy %s; migrations %s, fewest '
                          'baseline %d)' % (
                              'MET' if ok else 'NOT MET',
                              '<=' if esv_ok else '>', best['esv'] * 1e3 / 2,
                              best['policy'], 'ok' if energy_ok else 'too high',
                              'ok' if mig_ok else 'too many',
                              min(rs[b]['migrations'] for b in BASELINES)))
                else:
                    print()
            print('%-9s %-12s %10.2f %8.3f' % (day, 'lower-bound', bound, 1.0))
    print('\ngoal %s on every day shown' % ('MET' if allok else 'NOT MET'))
    return 0 if allok else 1


if __name__ == '__main__':
    sys.exit(main())
