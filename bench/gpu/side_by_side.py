#!/usr/bin/env python3
"""Joins the JSON lines of IXC25.GpuCheck's bench (--json) and torch_side.py (--json) into one markdown table.

    python3 bench/gpu/side_by_side.py OURS.jsonl TORCH.jsonl [MORE.jsonl ...]

One row per case (in the bench's order), per side: median milliseconds, tokens/s, TFLOP/s and the fraction of the device's
memory bandwidth; then the speed of the first side relative to each other side (its time / the first side's time: above 1
means the first side is faster). Exit 1 when the sides' FLOPs of a case differ (the two counts are meant to be one
formula) or a case is missing on a side.
"""
import json
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: side_by_side.py OURS.jsonl TORCH.jsonl [MORE.jsonl ...]")
    sides, rows = [], {}
    for path in sys.argv[1:]:
        with open(path) as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r["side"] not in sides:
                    sides.append(r["side"])
                rows.setdefault(r["case"], {})[r["side"]] = r
    if not rows:
        sys.exit("side_by_side.py: no rows in " + ", ".join(sys.argv[1:]))
    problems = []
    first = sides[0]
    ref = {s: next(r for c in rows.values() for t, r in c.items() if t == s) for s in sides}
    print("devices: " + "; ".join(f"{s}: {ref[s]['backend']} on {ref[s]['device']} (peaks: {ref[s]['peak_source'] or 'unknown'})" for s in sides))
    print(f"dims: {', '.join(sorted({ref[s]['dims'] for s in sides}))}; speed = other side's time / {first}'s time (> 1: {first} faster)")
    print()
    head = ["case"] + [f"{s} {m}" for s in sides for m in ("ms", "tok/s", "TFLOP/s", "%bw")] + [f"speed vs {s}" for s in sides[1:]]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for case, by_side in rows.items():
        cells = [case]
        for s in sides:
            r = by_side.get(s)
            if r is None:
                problems.append(f"{case}: no row from {s}")
                cells += ["-"] * 4
                continue
            bw = r["bandwidth_fraction"]
            cells += [f"{r['median_s'] * 1e3:.3f}", f"{r['tokens_per_s']:.1f}", f"{r['tflops']:.3g}", "-" if bw is None else f"{100 * bw:.1f}"]
        for s in sides[1:]:
            a, b = by_side.get(first), by_side.get(s)
            cells.append(f"{b['median_s'] / a['median_s']:.3g}x" if a and b else "-")
        f0 = [r["flops"] for r in by_side.values()]
        if max(f0) - min(f0) > 1e-9 * max(f0):
            counts = ", ".join("%s %.6g" % (s, r["flops"]) for s, r in by_side.items())
            problems.append(f"{case}: the sides count different FLOPs ({counts})")
        print("| " + " | ".join(cells) + " |")
    for p in problems:
        print("side_by_side.py: " + p, file=sys.stderr)
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
