#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Why "less memory slack than static at no more shortage" cannot be met on the Bitbrains
# traces, computed from the CSV files alone (this script's own parser, none of vmpilot's
# code), per set of VMs of bench/replay-goal.py's split:
#
# 1. Static's shortage is the rows where the trace's use exceeds the provisioned size.
#    Every policy starts a VM at its provisioned size, so the first row of each run is
#    short for every policy; the table splits the rest by position and says how much a
#    resizer could avoid if it were allowed to grow above the provisioned size (to 2x, or
#    without bound): the replay's bound is the provisioned size for every policy.
# 2. The most cautious history-based rule that still shrinks: the next allocation is
#    k x the largest use the VM has ever shown (within [256 MiB, provisioned], hot-added
#    memory added as in the replay). Its slack and shortage for k from 1.1 to 9: how much
#    slack a causal policy keeps before its shortage comes down to static's.
#
# usage: bench/replay-static-floor.py [--trace DIR]
import argparse
import os
import zlib

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = '/work/shared/data/traces/bitbrains-rnd'
BUNDLED = os.path.join(SRC, 'data/traces/bitbrains-rnd')
GIB = 1024.0 * 1024.0
STEP_H = 300 / 3600.0
MIN_KIB = 256 * 1024.0
KS = [1.1, 1.5, 2, 3, 5, 9]


def is_tuning(name):
    stem = name[:-4]
    n = int(stem) if stem.isdigit() else zlib.crc32(stem.encode())
    return n % 2 == 0


def load(path):
    """(provisioned KiB, used KiB) per row; None for a row where the VM is off."""
    rows = []
    with open(path) as f:
        head = [h.strip() for h in f.readline().split(';')]
        col = {h: i for i, h in enumerate(head)}
        for line in f:
            c = [x.strip() for x in line.split(';')]
            if len(c) < len(head):
                continue
            prov = float(c[col['Memory capacity provisioned [KB]']])
            cpu = float(c[col['CPU capacity provisioned [MHZ]']])
            used = float(c[col['Memory usage [KB]']])
            rows.append((prov, used) if prov > 0 and cpu > 0 else None)
    return rows


def static_rows(vms):
    """Static's short rows by position in their run, and what growth above prov avoids."""
    pos = {}
    for rows in vms:
        k = -1
        for r in rows:
            if r is None:
                k = -1
                continue
            k += 1
            prov, used = r
            if used <= prov:
                continue
            key = 'first' if k == 0 else 'second' if k == 1 else 'third' if k == 2 else 'later'
            a = pos.setdefault(key, [0, 0.0, 0, 0.0])
            a[0] += 1
            a[1] += (used - prov) / GIB * STEP_H
            if used > 2 * prov:
                a[2] += 1
                a[3] += (used - 2 * prov) / GIB * STEP_H
    return pos


def peak_rule(vms, k):
    used_sum = slack = gib = 0.0
    steps = short = 0
    for rows in vms:
        alloc = prev_prov = None
        peak = 0.0
        for r in rows:
            if r is None:
                continue
            prov, used = r
            if alloc is None:
                alloc = prov
            if prev_prov is not None and prov > prev_prov:
                alloc += prov - prev_prov
            prev_prov = prov
            alloc = min(alloc, prov)
            steps += 1
            used_sum += used
            if alloc >= used:
                slack += alloc - used
            else:
                short += 1
                gib += (used - alloc) / GIB * STEP_H
            peak = max(peak, used)
            alloc = prov if k is None else min(prov, max(MIN_KIB, k * peak))
    return 100 * slack / used_sum, 100 * short / steps, short * STEP_H, gib


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--trace', default=SHARED if os.path.isdir(SHARED) else BUNDLED)
    args = ap.parse_args()
    every = sorted(os.path.join(args.trace, f) for f in os.listdir(args.trace)
                   if f.endswith('.csv') and not f.startswith('.'))
    bundled = sorted(os.path.join(BUNDLED, f) for f in os.listdir(BUNDLED) if f.endswith('.csv'))
    sets = [(f'all ({len(every)} VMs)', every),
            ('tuning (even ids)', [f for f in every if is_tuning(os.path.basename(f))]),
            ('held-out (odd ids)', [f for f in every if not is_tuning(os.path.basename(f))]),
            (f'bundled ({len(bundled)} VMs)', bundled)]
    for label, files in sets:
        if not files:
            continue
        vms = [load(f) for f in files]
        print(f'== {label}')
        pos = static_rows(vms)
        n = sum(a[0] for a in pos.values())
        print(f'static: {n} short rows, {n * STEP_H:.1f} VM-h, '
              f'{sum(a[1] for a in pos.values()):.1f} GiB-h')
        for key in ('first', 'second', 'third', 'later'):
            a = pos.get(key, [0, 0.0, 0, 0.0])
            print(f'  {key:<7} row of a run: {a[0]:4d} rows {a[1]:6.1f} GiB-h; above 2x '
                  f'provisioned: {a[2]:4d} rows {a[3]:6.1f} GiB-h')
        first = pos.get('first', [0, 0.0])
        print(f'  unavoidable for any policy (first rows): {first[0]} rows, '
              f'{first[0] * STEP_H:.1f} VM-h, {first[1]:.1f} GiB-h')
        st = peak_rule(vms, None)
        print(f'  static recomputed: {st[0]:.1f} % slack, short {st[1]:.3f} %, '
              f'{st[2]:.1f} VM-h, {st[3]:.1f} GiB-h')
        print('next allocation = k x the largest use ever seen:')
        for k in KS:
            s = peak_rule(vms, k)
            print(f'  k {k:<4} slack {s[0]:7.1f} %  short {s[1]:.3f} %  {s[2]:5.1f} VM-h  '
                  f'{s[3]:6.1f} GiB-h')
        print()
    return 0


if __name__ == '__main__':
    raise SystemExit(main())
