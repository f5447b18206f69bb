#!/usr/bin/env python3
"""Summarise criterion results side by side: reqtrack vs reference (ratio = reference / reqtrack)
and vs the floor, from target/criterion/*/*/new/estimates.json (the latest run).

    python3 benches/report.py            # markdown table on stdout
"""
import json
import os
import sys

ROOT = os.path.join(os.path.dirname(__file__), "..", "target", "criterion")


def mean_ns(group, name):
    path = os.path.join(ROOT, group, name, "new", "estimates.json")
    try:
        with open(path) as f:
            est = json.load(f)
    except OSError:
        return None
    return est["mean"]["point_estimate"]


def fmt(ns):
    if ns is None:
        return "-"
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.2f} ns"


def main():
    if not os.path.isdir(ROOT):
        sys.exit("no criterion results: run cargo bench first")
    groups = sorted(g for g in os.listdir(ROOT) if os.path.isdir(os.path.join(ROOT, g)) and g != "report")
    print("| benchmark | reqtrack | reference | reference / reqtrack | other |")
    print("|---|---:|---:|---:|---|")
    for g in groups:
        names = sorted(n for n in os.listdir(os.path.join(ROOT, g)) if n != "report")
        ours, theirs = mean_ns(g, "reqtrack"), mean_ns(g, "reference")
        others = [f"{n} {fmt(mean_ns(g, n))}" for n in names if n not in ("reqtrack", "reference")]
        ratio = f"{theirs / ours:.2f}x" if ours and theirs else "-"
        print(f"| {g} | {fmt(ours)} | {fmt(theirs)} | {ratio} | {', '.join(others)} |")

    # The lifecycle floor: what one request cannot avoid, from parts measured in the same run.
    parts = {n: mean_ns("floor_parts", n) for n in
             ("instant_now", "system_time_now", "atomic_rmw", "json_encode", "kept_gauge_set")}
    life = mean_ns("lifecycle", "reqtrack")
    if life and all(parts.values()):
        # new(): 1 Instant + 1 SystemTime; prefill start, first token, 16 finishes: 18 Instants.
        # RMWs: gate acquire + release (2), 2 worker-slot CAS (Aggregated is 1 here: Prefill
        # phase, 1 slot), prefill start, first token, kv, isl (4), 16 finish fetch_max, 64
        # detokenize x 2 (128). JSON: one TimingInfo. Gauges: 3 kept-handle sets.
        clocks = 19 * parts["instant_now"] + parts["system_time_now"]
        rmws = (2 + 1 + 4 + 16 + 128) * parts["atomic_rmw"]
        floor = clocks + rmws + parts["json_encode"] + 3 * parts["kept_gauge_set"]
        print()
        print(f"lifecycle floor: {fmt(floor)} = clocks {fmt(clocks)} + 151 RMWs {fmt(rmws)} "
              f"+ JSON {fmt(parts['json_encode'])} + 3 gauge sets {fmt(3 * parts['kept_gauge_set'])}; "
              f"reqtrack {fmt(life)} = {life / floor:.2f}x floor")


if __name__ == "__main__":
    main()
