"""Image front end: PIL 9.4 + torchvision 0.14 + torch 1.13 (single-threaded) against `IXC25.Bench preprocess`.

The same work on the same machine and the same 4000x3000 JPEG: decode (Image.open + convert('RGB')),
Image_transform (hd_num 24), ToTensor + Normalize, global view (bicubic to 560x560). Prints one JSON
line per measurement and the ratios (PIL+torchvision time / our time; > 1 means we are faster).

Run: /usr/bin/python3 bench/preprocess_side_by_side.py [--image PATH] [--runs 7] [--hd-num 24]
(builds bench/IXC25.Bench in Release first if needed).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import torch

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "golden", "reference"))
import ixc_utils_ref as ref  # noqa: E402


def measure(name, fn, runs, warmup=2):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    times.sort()
    r = {"bench": name, "median_s": statistics.median(times), "min_s": times[0], "max_s": times[-1], "runs": runs}
    print(json.dumps(r), flush=True)
    return r


def python_side(image, hd_num, runs):
    torch.set_num_threads(1)
    out = {}

    def whole():
        img = ref.load_image(image)
        hd, pv, gv = ref.preprocess(img, hd_num)
        return gv

    out["preprocess"] = measure("pil_preprocess_1t", whole, runs)
    img = ref.load_image(image)
    out["decode"] = measure("pil_decode_1t", lambda: ref.load_image(image), runs, 1)
    out["resize_pad"] = measure("pil_resize_pad_1t", lambda: ref.Image_transform(img, hd_num), runs, 1)
    hd = ref.Image_transform(img, hd_num)
    out["normalize"] = measure("pil_normalize_1t", lambda: ref.vis_processor(hd), runs, 1)
    pv = ref.vis_processor(hd)
    out["global_view"] = measure("pil_global_view_1t", lambda: ref.global_view(pv), runs, 1)
    return out


def ours(image, hd_num, runs, threads):
    dll = os.path.join(ROOT, "artifacts", "bin", "IXC25.Bench", "release", "IXC25.Bench.dll")
    if not os.path.exists(dll):
        subprocess.run(["dotnet", "build", os.path.join(ROOT, "bench", "IXC25.Bench"), "-c", "Release", "-nologo", "-v", "quiet"], check=True)
    res = subprocess.run(["dotnet", dll, "preprocess", "--image", image, "--hd-num", str(hd_num), "--runs", str(runs),
                          "--threads", str(threads)], check=True, capture_output=True, text=True)
    out = {}
    for line in res.stdout.splitlines():
        r = json.loads(line)
        print(json.dumps(r), flush=True)
        out[r["bench"].removesuffix("_1t")] = r
    return out


STAGES = ["preprocess", "decode", "resize_pad", "normalize", "global_view"]


def best(results):
    """Per stage, the round with the smallest median (rounds alternate sides, so load spikes hit both)."""
    out = {}
    for k in STAGES:
        out[k] = min((r[k] for r in results), key=lambda m: m["median_s"])
    return out


def machine():
    lines = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:20]
    keep = ("Architecture", "Model name", "CPU(s):", "Thread(s) per core", "Core(s) per socket", "Flags")
    desc = [" ".join(l.split()) for l in lines if l.startswith(keep) and not l.startswith("Flags")]
    return "; ".join(desc)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--image", default=os.path.join(ROOT, "golden", "vision", "media", "jpeg_4000x3000.jpg"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--hd-num", type=int, default=24)
    ap.add_argument("--append-results", action="store_true", help="append a section to bench/RESULTS.md")
    a = ap.parse_args()
    load_before = os.getloadavg()[0]
    pys, ones, manys = [], [], []
    for _ in range(a.rounds):
        pys.append(python_side(a.image, a.hd_num, a.runs))
        ones.append(ours(a.image, a.hd_num, a.runs, 1))
        manys.append(ours(a.image, a.hd_num, a.runs, -1))
    py, one, many = best(pys), best(ones), best(manys)
    print(f"\nratio = PIL+torchvision (1 thread) time / ours; > 1: ours is faster   [{os.cpu_count()} cores]")
    print(f"{'stage':<12} {'PIL+tv 1t':>10} {'ours 1t':>10} {'ours all':>10} {'ratio 1t':>9} {'ratio all':>9}   (median s; min s in brackets)")
    rows = []
    for k in STAGES:
        p, o1, om = py[k], one[k], many[k]
        print(f"{k:<12} {p['median_s']:>10.4f} {o1['median_s']:>10.4f} {om['median_s']:>10.4f} "
              f"{p['median_s'] / o1['median_s']:>9.2f} {p['median_s'] / om['median_s']:>9.2f}   "
              f"[{p['min_s']:.4f} {o1['min_s']:.4f} {om['min_s']:.4f} -> {p['min_s'] / o1['min_s']:.2f}x {p['min_s'] / om['min_s']:.2f}x]")
        rows.append(f"| {k} | {p['median_s'] * 1000:.1f} | {o1['median_s'] * 1000:.1f} | {om['median_s'] * 1000:.1f} | "
                    f"{p['median_s'] / o1['median_s']:.2f}x | {p['median_s'] / om['median_s']:.2f}x | "
                    f"{p['min_s'] * 1000:.1f} / {o1['min_s'] * 1000:.1f} / {om['min_s'] * 1000:.1f} |")
    if a.append_results:
        path = os.path.join(ROOT, "bench", "RESULTS.md")
        head = "" if os.path.exists(path) else "# Benchmark results\n"
        img = os.path.relpath(a.image, ROOT)
        with open(path, "a") as f:
            f.write(head + f"""
## preprocess: image front end vs PIL 9.4 + torchvision 0.14 + torch 1.13 ({time.strftime('%Y-%m-%d')})

Machine: {machine()}. Load average before: {load_before:.2f}. Image {img} (4000x3000 JPEG), hd_num {a.hd_num}
(-> 2800x2240, grid 4x5). The same work on both sides: decode (`Image.open` + `convert('RGB')`),
Image_transform, ToTensor + Normalize, global view. PIL/torch with `torch.set_num_threads(1)`; ours with
1 thread and with all cores. Each cell: the best of {a.rounds} alternating rounds of the median of
{a.runs} runs (after warm-up). Ratio = PIL+torchvision time / ours (> 1: ours is faster).
`/usr/bin/python3 bench/preprocess_side_by_side.py --runs {a.runs} --rounds {a.rounds} --append-results`.

| stage | PIL+tv 1 thread ms | ours 1 thread ms | ours all cores ms | ratio 1 thread | ratio all cores | min ms (PIL / ours 1t / ours all) |
|---|---|---|---|---|---|---|
""" + "\n".join(rows) + "\n")
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
