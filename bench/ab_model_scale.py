#!/usr/bin/env python3
"""A/B of two builds of this engine on the model-scale benchmark (IXC25.Bench model-scale: one ViT layer,
one decoder layer prefill and decode step, the output head at 7B dimensions with synthetic bf16 weights),
run alternately in fresh processes on the same machine, so that a refactoring can show it lost no speed.

    /usr/bin/python3 bench/ab_model_scale.py --before OLD/IXC25.Bench.dll --after NEW/IXC25.Bench.dll [--rounds 3] [--runs 5]

Each round runs before, then after (the order alternates every round), each in its own process; each process
reports the median of --runs timings per workload. Printed: per workload the median over rounds for each build,
the range, and the after/before ratio of the medians and its range over rounds (1.00 = same speed; < 1 faster).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

KEYS = [("vit layer", "ViT layer, 2 x 1601 tokens"), ("prefill", "decoder layer prefill, 858 positions"),
        ("decode step", "decoder layer decode step at context 858"), ("head", "output head, 1 row")]


def run(dll, runs, threads):
    env = dict(os.environ)
    out = subprocess.run(["dotnet", dll, "model-scale", "--runs", str(runs), "--threads", str(threads)],
                         capture_output=True, text=True, env=env, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    return {k: next(r["median_s"] for r in rows if k in r["bench"]) for k, _ in KEYS}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", required=True)
    ap.add_argument("--after", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    res = {"before": [], "after": []}
    for i in range(a.rounds):
        order = ["before", "after"] if i % 2 == 0 else ["after", "before"]
        for side in order:
            res[side].append(run(getattr(a, side), a.runs, a.threads))
        print(f"round {i + 1}/{a.rounds}: " + ", ".join(
            f"{k} {res['before'][-1][k] * 1e3:.0f}/{res['after'][-1][k] * 1e3:.0f} ms" for k, _ in KEYS), file=sys.stderr)
    load = os.getloadavg()
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}; {a.rounds} rounds, median of {a.runs} runs per process, {a.threads} threads")
    print("| per layer | before | after | after / before | per round |")
    print("|---|---|---|---|---|")
    for k, label in KEYS:
        b = [r[k] for r in res["before"]]
        f = [r[k] for r in res["after"]]
        ratios = [y / x for x, y in zip(b, f)]
        print(f"| {label} | {statistics.median(b) * 1e3:.1f} ms ({min(b) * 1e3:.1f}-{max(b) * 1e3:.1f}) | "
              f"{statistics.median(f) * 1e3:.1f} ms ({min(f) * 1e3:.1f}-{max(f) * 1e3:.1f}) | "
              f"{statistics.median(f) / statistics.median(b):.3f} | {min(ratios):.3f} to {max(ratios):.3f} |")


if __name__ == "__main__":
    main()
