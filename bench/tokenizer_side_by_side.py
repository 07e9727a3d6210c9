#!/usr/bin/python3
"""Encode throughput: our SentencePiece-BPE (bench/IXC25.Bench `tokenize`) against the sentencepiece
C++ library through Python (Debian python3-sentencepiece), on the same corpus, in the same session.

    /usr/bin/python3 bench/tokenizer_side_by_side.py [--runs 5] [--rounds 3] [--append-results]

Both sides run on one thread and time the same two workloads over golden/tokenizer/data/corpus.jsonl:
  per_line   every corpus line encoded with its own call (sentencepiece: one Python call per line,
             so its numbers include the Python call overhead, about a microsecond per line)
  document   the whole corpus joined with newlines, encoded with one call
The two sides alternate for --rounds rounds and each keeps its fastest run, so that a busy machine
disturbs both alike. Prints one row per workload with MB/s on both sides and the ratio
ours / sentencepiece (> 1: we are faster). --append-results appends the table to bench/RESULTS.md with the CPU model (lscpu).
"""
import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import time

import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "golden", "tokenizer", "data", "corpus.jsonl")
MODEL = os.path.join(ROOT, "golden", "tokenizer", "tokenizer.model")


def min_seconds(fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def ours(runs):
    cmd = ["dotnet", "run", "-c", "Release", "--project", os.path.join(ROOT, "bench", "IXC25.Bench"), "--",
           "tokenize", "--runs", str(runs), "--corpus", CORPUS]
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        sys.exit(f"IXC25.Bench failed:\n{out.stderr}")
    results = {}
    for line in out.stdout.splitlines():
        line = line.strip()
        if line.startswith("{"):
            r = json.loads(line)
            results[r["bench"]] = r
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--append-results", action="store_true")
    args = ap.parse_args()

    load_before = os.getloadavg()[0]
    sp = spm.SentencePieceProcessor(model_file=MODEL)
    with open(CORPUS, encoding="utf-8") as f:
        lines = [json.loads(l) for l in f if l.strip()]
    document = "\n".join(lines)
    line_bytes = sum(len(l.encode("utf-8")) for l in lines)
    doc_bytes = len(document.encode("utf-8"))

    # The machine may be shared: alternate the two sides for a few rounds and keep each side's
    # fastest run (the least disturbed one) rather than a median taken at a different moment.
    sp_line = sp_doc = our_line = our_doc = float("inf")
    for _ in range(args.rounds):
        sp_line = min(sp_line, min_seconds(lambda: [sp.encode(l) for l in lines], args.runs))
        sp_doc = min(sp_doc, min_seconds(lambda: sp.encode(document), args.runs))
        r = ours(args.runs)
        our_line = min(our_line, r["tokenize_per_line"]["min_s"])
        our_doc = min(our_doc, r["tokenize_document"]["min_s"])

    rows = [
        ("per_line", line_bytes, sp_line, our_line),
        ("document", doc_bytes, sp_doc, our_doc),
    ]
    header = f"| workload | bytes | sentencepiece MB/s | ours MB/s | ours / sentencepiece |\n|---|---|---|---|---|"
    body = "\n".join(f"| {name} | {n} | {n / s / 1e6:.2f} | {n / o / 1e6:.2f} | {s / o:.2f}x |" for name, n, s, o in rows)
    print(header)
    print(body)

    if args.append_results:
        path = os.path.join(ROOT, "bench", "RESULTS.md")
        new = not os.path.exists(path)
        with open(path, "a", encoding="utf-8") as f:
            if new:
                f.write("# Benchmark results\n")
            f.write(f"\n## tokenize: SentencePiece-BPE encode vs sentencepiece {spm.__version__} ({datetime.date.today()})\n\n")
            f.write(f"CPU: {cpu_model()}; {os.cpu_count()} logical CPUs; one thread on both sides; "
                    f"corpus golden/tokenizer/data/corpus.jsonl ({len(lines)} lines); fastest of {args.rounds} alternating rounds "
                    f"of {args.runs} runs per side; load average before: {load_before:.2f}; "
                    f"`/usr/bin/python3 bench/tokenizer_side_by_side.py --runs {args.runs} --rounds {args.rounds} --append-results`.\n\n")
            f.write(header + "\n" + body + "\n")
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
