#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# Cost of the right-sizing policies per VM per cycle, with 1,000 VMs: replays a trace of
# 1,000 VMs (the 20 bundled Bitbrains VMs, each used 50 times, two days at 300 s) once per
# policy with `vmpilot replay --policy P` and prints wall and CPU time, peak RSS, the time
# per VM-cycle of each policy's decisions (its run minus the `static` run, which loads and
# measures but decides nothing) and the ratio of vmpilot to the VPA-like baseline.
# This is the policy core's cost; the live loop's own cost (sampling, acting) is not in it.
# usage: bench/policy-cost.py [BUILD_DIR] [TRACE_DIR] [RUNS]
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, 'build')
TRACE = sys.argv[2] if len(sys.argv) > 2 else os.path.join(SRC, 'data/traces/bitbrains-rnd')
RUNS = int(sys.argv[3]) if len(sys.argv) > 3 else 5
NVMS = 1000


def make_trace(tmp):
    files = sorted(f for f in os.listdir(TRACE) if f.endswith('.csv'))
    if not files:
        sys.exit('no *.csv in ' + TRACE)
    for i in range(NVMS):
        os.symlink(os.path.join(os.path.abspath(TRACE), files[i % len(files)]),
                   os.path.join(tmp, '%04d.csv' % i))


def run(tmp, policy):
    t0 = time.monotonic()
    p = subprocess.Popen([os.path.join(BUILD, 'vmpilot'), 'replay', '--json', '--trace', tmp,
                          '--policy', policy], stdout=subprocess.PIPE, text=True)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    if status != 0:
        sys.exit('vmpilot replay failed')
    res = json.loads(out)['policies'][0]
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss / 1024.0, res['vm_steps']


def main():
    tmp = tempfile.mkdtemp(prefix='vmp-bench-')
    try:
        make_trace(tmp)
        best = {}
        for policy in ('static', 'mom', 'vpa', 'autopilot', 'vmpilot'):
            runs = [run(tmp, policy) for _ in range(RUNS)]
            cpu = statistics.median(r[1] for r in runs)
            best[policy] = (statistics.median(r[0] for r in runs), cpu,
                            max(r[2] for r in runs), runs[0][3])
    finally:
        shutil.rmtree(tmp)
    base = best['static'][1]
    print('%d VMs, %d VM-cycles, median of %d runs' % (NVMS, best['static'][3], RUNS))
    print('%-8s %8s %8s %9s %16s' % ('policy', 'wall s', 'cpu s', 'peak MB', 'us/VM-cycle'))
    per = {}
    for policy, (wall, cpu, rss, steps) in best.items():
        per[policy] = max(cpu - base, 0.0) / steps * 1e6
        print('%-8s %8.3f %8.3f %9.1f %16.2f' % (policy, wall, cpu, rss, per[policy]))
    if per['vpa'] > 0:
        print('vmpilot / vpa decision cost: %.2f' % (per['vmpilot'] / per['vpa']))


if __name__ == '__main__':
    main()
