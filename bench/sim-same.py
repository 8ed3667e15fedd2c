#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Checks that a change to the simulator changed no decision: records, for every policy
on every PlanetLab day in both modes, `vmpilot simulate --json` (wall_s dropped) and a
SHA-256 of its `--events` file (every placement change, doc/sim-events.md), then compares
two such records.

usage: sim-same.py record VMPILOT OUT.json [TRACE_ROOT]
       sim-same.py compare BEFORE.json AFTER.json

Typical use: build main, `record build/vmpilot /tmp/before.json`; build the change,
`record build/vmpilot /tmp/after.json`; `compare /tmp/before.json /tmp/after.json`
prints every row that differs and exits 1 if any does. About 20 s of CPU per record.
"""
import hashlib
import json
import os
import subprocess
import sys
import tempfile


def policies(vmpilot):
    out = subprocess.run([vmpilot, "simulate", "--policy", "list"], check=True,
                         capture_output=True, text=True).stdout
    names = [line.split()[0] for line in out.splitlines() if line.strip()]
    return [n for n in names if not n.endswith(":")]


def record(vmpilot, out_path, root):
    days = sorted(d for d in os.listdir(root) if os.path.isdir(os.path.join(root, d)))
    pols = policies(vmpilot)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        ev = os.path.join(tmp, "events.jsonl")
        for day in days:
            for compat in (False, True):
                for pol in pols:
                    cmd = [vmpilot, "simulate", "--trace", os.path.join(root, day),
                           "--policy", pol, "--json", "--events", ev]
                    if compat:
                        cmd += ["--compat", "cloudsim"]
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    key = "%s %s %s" % (day, "compat" if compat else "default", pol)
                    if res.returncode != 0:
                        rows[key] = {"error": res.stderr.strip()}
                        continue
                    doc = json.loads(res.stdout)
                    for r in doc["results"]:
                        r.pop("wall_s", None)
                    with open(ev, "rb") as f:
                        doc["events_sha256"] = hashlib.sha256(f.read()).hexdigest()
                    rows[key] = doc
                    print(key, doc["results"][0].get("migrations"), flush=True)
    with open(out_path, "w") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
    print("%d rows in %s" % (len(rows), out_path))


def compare(a_path, b_path):
    with open(a_path) as f:
        a = json.load(f)
    with open(b_path) as f:
        b = json.load(f)
    bad = 0
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            bad += 1
            print("DIFFERS: %s" % key)
            ra, rb = a.get(key) or {}, b.get(key) or {}
            for field in ("events_sha256",):
                if ra.get(field) != rb.get(field):
                    print("  %s: %s -> %s" % (field, ra.get(field), rb.get(field)))
            for x, y in zip(ra.get("results", []), rb.get("results", [])):
                for k in sorted(set(x) | set(y)):
                    if x.get(k) != y.get(k):
                        print("  %s: %s -> %s" % (k, x.get(k), y.get(k)))
    print("%d of %d rows differ" % (bad, len(set(a) | set(b))))
    return 1 if bad else 0


def main():
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        root = sys.argv[4] if len(sys.argv) > 4 else os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "data", "traces", "planetlab")
        record(sys.argv[2], sys.argv[3], root)
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "compare":
        return compare(sys.argv[2], sys.argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
