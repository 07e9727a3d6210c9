#!/usr/bin/python3
"""Reads the conformance reports run_conformance.sh keeps in golden/port/results/ and writes summary.txt:
the reference port must pass every surface it covers; each mutant must fail on its own surface and nowhere
else. Exits 1 when any run is not as expected (a kit crash leaves no valid JSON and counts as unexpected)."""
import json, os, sys

MUTANTS = {
    "ntk-per-call": "rope", "rotate-half-swapped": "layer", "plora-every-token": "layer",
    "bicubic-hd-resize": "partition", "hd-grid-off-by-one": "partition", "rmsnorm-eps-outside-sqrt": "op",
    "no-byte-fallback": "tokenize", "wqkv-gqa-order": "layer", "vit-merge-transposed": "model",
}


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        return None


def line(name, report, expect_surface):
    if report is None:
        return False, f"{name}: NO REPORT (the kit crashed or was not run)"
    failing = [s["surface"] for s in report["surfaces"] if s["failed"]]
    covered = [s["surface"] for s in report["surfaces"] if s["covered"]]
    cases = sum(s["cases"] for s in report["surfaces"])
    lenient = sum(s["lenient"] for s in report["surfaces"])
    if expect_surface is None:
        ok = report["passed"] and not failing
        verdict = "pass (expected)" if ok else f"FAIL on {failing} (expected to pass)"
    else:
        ok = failing == [expect_surface]
        f = next(s for s in report["surfaces"] if s["surface"] == expect_surface)
        shrunk = f["failures"][0] if f["failures"] else None
        verdict = (f"caught on {expect_surface} only ({f['failed']}/{f['cases']} cases)" if ok
                   else f"NOT AS EXPECTED: failing surfaces {failing}, expected [{expect_surface}]")
        if shrunk:
            verdict += f"; shrunk {shrunk['original_size']} -> {shrunk['shrunk_size']}: {shrunk['shrunk']}"
    return ok, f"{name}: {verdict} [{len(covered)} surfaces, {cases} cases, {lenient} answered where the reference refuses]"


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")
    lines, status = [], 0
    ok, l = line("reference", load(os.path.join(out, "reference.json")), None)
    lines.append(l); status |= not ok
    for m, surface in MUTANTS.items():
        ok, l = line(f"mutant {m}", load(os.path.join(out, f"mutant-{m}.json")), surface)
        lines.append(l); status |= not ok
    with open(os.path.join(out, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main())
