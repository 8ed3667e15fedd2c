#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Recomputes the simulator's continuous metrics from the trace and an events file alone.

    bench/sim-recompute.py EVENTS.jsonl [--trace DIR] [--tol 1e-6]

EVENTS.jsonl is written by `vmpilot simulate --events FILE` (format: doc/sim-events.md).
For each run in it, this script replays the placement changes over the trace (PlanetLab
day directory or per-VM CSV directory, read here, not by vmpilot), integrates the demand
of every host exactly as doc/metrics.md defines it, and prints its figures beside the
simulator's "result" line with the relative difference. It exits 1 if any difference is
above the tolerance. Python 3 standard library only.

It shares no code with the simulator: the trace is parsed here, placement is rebuilt from
the events, crossings are solved here, and a VM's share on an overloaded host (the
integral of r * C / D) is taken by 8-point Gauss-Legendre quadrature rather than by the
simulator's closed form.
"""
import argparse
import json
import math
import os
import sys

STEP_S = 300.0

# 8-point Gauss-Legendre nodes and weights on [-1, 1]
GL = [(-0.9602898564975363, 0.1012285362903763), (-0.7966664774136267, 0.2223810344533745),
      (-0.5255324099163290, 0.3137066458778873), (-0.1834346424956498, 0.3626837833783620),
      (0.1834346424956498, 0.3626837833783620), (0.5255324099163290, 0.3137066458778873),
      (0.7966664774136267, 0.2223810344533745), (0.9602898564975363, 0.1012285362903763)]


def read_planetlab(d, names):
    cpu = {}
    for n in names:
        with open(os.path.join(d, n), encoding="utf-8") as f:
            cpu[n] = [int(x) / 100.0 for x in f.read().split()]
    return cpu, None


def read_csv_dir(d, names):
    """Per-VM CSV (Bitbrains): each VM's rows on a 300-s grid of its own from its first
    row, carried forward; as many steps as the shortest VM spans, later rows left out
    (as src/trace does)."""
    rows = {}
    span = None
    for n in names:
        with open(os.path.join(d, n), encoding="utf-8") as f:
            header = [h.strip() for h in f.readline().split(";")]
            ic = header.index("CPU usage [%]")
            imp = header.index("Memory capacity provisioned [KB]")
            imu = header.index("Memory usage [KB]")
            r = []
            for line in f:
                p = [x.strip() for x in line.split(";")]
                if len(p) < len(header):
                    continue
                r.append((int(float(p[0])), float(p[ic]), float(p[imu]), float(p[imp])))
        ts = [x[0] for x in r]
        span = max(ts) - min(ts) if span is None else min(span, max(ts) - min(ts))
        rows[n] = r
    nsteps = int(round(span / STEP_S)) + 1
    cpu, mem = {}, {}
    for n, r in rows.items():
        start = min(x[0] for x in r)
        c = [None] * nsteps
        m = [None] * nsteps
        for ts, pct, mu, mp in r:
            k = int(round((ts - start) / STEP_S))
            if k >= nsteps:
                continue
            c[k] = pct / 100.0
            # a guest holds at most its RAM (vmpilot simulate caps the same way)
            m[k] = min(mu / mp, 1.0) if mp > 0 else 0.0
        for arr in (c, m):
            first = next((x for x in arr if x is not None), 0.0)
            last = first
            for k in range(nsteps):
                if arr[k] is None:
                    arr[k] = last
                else:
                    last = arr[k]
        cpu[n], mem[n] = c, m
    return cpu, mem


def value(samples, t):
    """Linear between samples (sample k at k * 300 s), the last one repeated after."""
    k = int(math.floor(t / STEP_S))
    n = len(samples)
    a = samples[min(max(k, 0), n - 1)]
    b = samples[min(max(k + 1, 0), n - 1)]
    return a + (b - a) * (t - k * STEP_S) / STEP_S


class Run:
    def __init__(self, head):
        self.head = head
        self.hosts = []
        self.vms = []
        self.events = []
        self.result = None


def parse(path):
    runs = []
    with open(path, encoding="utf-8") as f:
        for ln, line in enumerate(f, 1):
            try:
                o = json.loads(line)
            except ValueError as e:
                sys.exit(f"{path}:{ln}: {e}")
            t = o.get("type")
            if t == "run":
                runs.append(Run(o))
            elif not runs:
                sys.exit(f"{path}:{ln}: event before the first 'run' line")
            elif t == "host":
                runs[-1].hosts.append(o)
            elif t == "vm":
                runs[-1].vms.append(o)
            elif t == "result":
                runs[-1].result = o
            else:
                runs[-1].events.append(o)
    return runs


def recompute(run, cpu, mem):
    hosts, vms = run.hosts, run.vms
    nh = len(hosts)
    cap = [h["mips"] for h in hosts]
    ram = [h["ram_mb"] for h in hosts]
    vcpu = [cpu[v["name"]] for v in vms]
    vmem = [mem[v["name"]] for v in vms] if mem else None
    mips = [v["mips"] for v in vms]
    vram = [v["ram_mb"] for v in vms]
    res = [set() for _ in range(nh)]     # resident (or migrating out)
    inc = [set() for _ in range(nh)]     # migrating in
    in_mig = [False] * len(vms)
    where = [-1] * len(vms)
    acc = [0.0] * nh
    vreq = [0.0] * len(vms)
    vuns = [0.0] * len(vms)
    tot = dict(active=0.0, over=0.0, req=0.0, uns=0.0, mem_over=0.0, mem_req=0.0,
               mem_exc=0.0)

    def demand(v, t):
        return value(vcpu[v], t) * mips[v]

    def memd(v, t):
        return (value(vmem[v], t) if vmem else 1.0) * vram[v]

    def over_part(d0, d1, c, length):
        """[lo, hi] where a line from d0 to d1 over length exceeds c, and the excess."""
        if d0 <= c and d1 <= c:
            return None
        if d0 > c and d1 > c:
            return 0.0, length, ((d0 - c) + (d1 - c)) / 2 * length
        x = min(max(length * (d0 - c) / (d0 - d1), 0.0), length)
        if d0 > c:
            return 0.0, x, (d0 - c) * x / 2
        return x, length, (d1 - c) * (length - x) / 2

    def piece(h, a, b):
        length = b - a
        vs = list(res[h])
        ins = list(inc[h])
        ra = {v: demand(v, a) for v in vs}
        rb = {v: demand(v, b) for v in vs}
        d0 = sum(ra.values()) + 0.1 * sum(demand(v, a) for v in ins)
        d1 = sum(rb.values()) + 0.1 * sum(demand(v, b) for v in ins)
        m0 = sum(memd(v, a) for v in vs + ins)
        m1 = sum(memd(v, b) for v in vs + ins)
        tot["active"] += length
        for v in vs:
            tot["mem_req"] += (memd(v, a) + memd(v, b)) / 2 * length
        mo = over_part(m0, m1, ram[h], length)
        if mo:
            tot["mem_over"] += mo[1] - mo[0]
            tot["mem_exc"] += mo[2]
        co = over_part(d0, d1, cap[h], length)
        if co:
            tot["over"] += co[1] - co[0]
        for v in vs:
            req = (ra[v] + rb[v]) / 2 * length
            got = req
            if co and co[1] > co[0]:
                lo, hi = co[0], co[1]
                half, mid = (hi - lo) / 2, (hi + lo) / 2
                share, plain = 0.0, 0.0
                for x, w in GL:
                    s = mid + half * x
                    r = ra[v] + (rb[v] - ra[v]) * s / length
                    d = d0 + (d1 - d0) * s / length
                    share += w * r * cap[h] / d
                    plain += w * r
                got = req - plain * half + share * half
            f = 0.9 if in_mig[v] else 1.0
            vreq[v] += req
            vuns[v] += req - f * got
            tot["req"] += req
            tot["uns"] += req - f * got

    def flush(h, t):
        a = acc[h]
        if not t > a:
            return
        acc[h] = t
        if not res[h] and not inc[h]:
            return
        while a < t:
            k = math.floor(a / STEP_S)
            b = (k + 1) * STEP_S
            if not b > a:
                b = (k + 2) * STEP_S
            b = min(b, t)
            piece(h, a, b)
            a = b

    for e in run.events:
        t, kind = e["t"], e["type"]
        if kind == "place":
            flush(e["host"], t)
            res[e["host"]].add(e["vm"])
            where[e["vm"]] = e["host"]
        elif kind == "mig_start":
            v, src, dst = e["vm"], e["from"], e["to"]
            flush(dst, t)
            if src >= 0:
                flush(src, t)
            in_mig[v] = True
            inc[dst].add(v)
        elif kind == "mig_end":
            v, src, dst = e["vm"], e["from"], e["to"]
            flush(dst, t)
            if src >= 0:
                flush(src, t)
                res[src].discard(v)
            inc[dst].discard(v)
            res[dst].add(v)
            in_mig[v] = False
            where[v] = dst
        elif kind == "remove":
            flush(e["host"], t)
            res[e["host"]].discard(e["vm"])
            where[e["vm"]] = -1
        elif kind in ("host_on", "host_off"):
            h = e["host"]
            on = bool(res[h] or inc[h])
            if on != (kind == "host_on"):
                sys.exit(f"event {e}: the host holds {len(res[h]) + len(inc[h])} VMs")
    end = run.head["end_s"]
    for h in range(nh):
        flush(h, end)
    worst = max((vuns[v] / vreq[v] for v in range(len(vms)) if vreq[v] > 0), default=0.0)
    return {
        "overload_host_h": tot["over"] / 3600,
        "overload_pct": 100 * tot["over"] / tot["active"] if tot["active"] else 0.0,
        "active_host_h": tot["active"] / 3600,
        "unserved_mips_s": tot["uns"],
        "unserved_pct": 100 * tot["uns"] / tot["req"] if tot["req"] else 0.0,
        "worst_vm_unserved_pct": 100 * worst,
        "mem_overload_host_h": tot["mem_over"] / 3600,
        "mem_excess_mb_s": tot["mem_exc"],
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("events")
    ap.add_argument("--trace", help="trace directory (default: the run's own)")
    ap.add_argument("--tol", type=float, default=1e-6, help="largest relative difference")
    a = ap.parse_args()
    bad = False
    for run in parse(a.events):
        d = a.trace or run.head["trace"]
        names = [v["name"] for v in run.vms]
        csv = any(n.endswith(".csv") for n in names)
        cpu, mem = read_csv_dir(d, names) if csv else read_planetlab(d, names)
        if run.head.get("memory") != "trace":
            mem = None
        mine = recompute(run, cpu, mem)
        print(f"{run.head['policy']} ({run.head['compat']}), {len(run.events)} events:")
        print(f"  {'metric':24} {'simulator':>18} {'recomputed':>18} {'rel. diff':>10}")
        for k, v in mine.items():
            sim = run.result[k] if run.result else float("nan")
            den = max(abs(sim), abs(v))
            rel = abs(sim - v) / den if den > 0 else 0.0
            flag = "" if rel <= a.tol else "  TOO FAR"
            bad |= not rel <= a.tol
            print(f"  {k:24} {sim:18.9g} {v:18.9g} {rel:10.2e}{flag}")
    if bad:
        print(f"FAIL: a difference above {a.tol:g}")
        sys.exit(1)
    print(f"OK: every metric within {a.tol:g}")


if __name__ == "__main__":
    main()
