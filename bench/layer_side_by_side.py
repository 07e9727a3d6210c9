#!/usr/bin/python3
"""One InternLM2-7B-shaped decoder layer with Partial LoRA: ours (bench/IXC25.Bench layer-prefill,
layer-decode, memread) against PyTorch on the same shapes, in the same session, alternating.

    /usr/bin/python3 bench/layer_side_by_side.py --openblas DIR [--rounds 3] [--runs 3] [--append-results]

Shapes: hidden 4096, 32 query / 8 KV heads of 128, FFN 14336, Partial LoRA rank 256 (scale 1) on wqkv, wo,
w1, w2, w3, exactly as upstream's PLoRA.forward (separate products added on masked rows; with no masked
row, B(A(x[:1])) * 0 is added to row 0). Workloads:
  prefill-all   512 tokens, every token image-masked (LoRA on all rows)
  prefill-none  512 tokens, no token masked
  decode        1 token against a KV cache of 1024 tokens (PyTorch computes the LoRA quirk row, B(A(x[:1])) * 0;
                ours proves it a no-op for finite data and skips it, bit-identically)
  memread       sum of a 2 GiB float32 array (torch: x.sum(); ours: the `memread` benchmark)
PyTorch runs the layer with float32 weights and with bfloat16 weights (activations in the weights' dtype,
RMSNorm and softmax in float32 as upstream); ours reads bfloat16 weights and computes in float32.

Fair PyTorch (bench/../shared PERF-ANCHORS): Debian's torch links the reference BLAS unless OpenBLAS is
found; --openblas DIR points LD_LIBRARY_PATH at an OpenBLAS OpenMP build (apt-get download
libopenblas0-openmp; dpkg -x it; DIR = .../usr/lib/x86_64-linux-gnu/openblas-openmp). The script then
re-executes itself with OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (so OpenBLAS picks its AVX-512
kernels) and glibc malloc settings that keep large temporaries mapped, in its own environment only; the
dotnet side runs with the original environment. torch.set_num_threads(2); ours uses all processors (2).

Each round runs every PyTorch workload (--runs timed runs after a warm-up) and then the dotnet benchmarks
(--runs timed runs each); medians over all rounds per side are reported, with ratios:
  prefill: PyTorch time / our time (> 1: we are faster)
  decode: our weight bytes read per second as a fraction of the measured read bandwidth (x.sum() and our
          memread, measured in the same rounds; and, steadier on a shared machine, the median over decode steps
          each paired with a read probe run right before it in the same process)
"""
import argparse
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DLL = os.path.join(ROOT, "artifacts", "bin", "IXC25.Bench", "release", "IXC25.Bench.dll")
MALLOC_ENV = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "17179869184", "MALLOC_TOP_PAD_": "1073741824"}
MARK = "IXC25_LAYER_BENCH_ORIGINAL_ENV"

C, H, HKV, D, FF, R = 4096, 32, 8, 128, 14336, 256
TOKENS, CONTEXT, EPS = 512, 1024, 1e-5


def reexec(openblas):
    """Re-run this script with the PyTorch environment; remember the original one for the dotnet side."""
    if MARK in os.environ:
        return
    env = dict(os.environ)
    env[MARK] = json.dumps(dict(os.environ))
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.update(MALLOC_ENV)
    if openblas:
        env["LD_LIBRARY_PATH"] = openblas + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def dotnet_env():
    return json.loads(os.environ[MARK]) if MARK in os.environ else dict(os.environ)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except (OSError, subprocess.CalledProcessError):
        pass
    return platform.processor() or "unknown"


def blas_library():
    """The BLAS torch actually loaded (from /proc/self/maps)."""
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if "blas" in line.lower() and "/" in line}
        return ", ".join(sorted(libs)) or "none mapped"
    except OSError:
        return "unknown"


# ---------------------------------------------------------------------------------------------- PyTorch


def build_torch_layer(torch, dtype, seed):
    g = torch.Generator().manual_seed(seed)

    def w(out_f, in_f):
        return (torch.randn(out_f, in_f, generator=g) / math.sqrt(in_f)).to(dtype)

    def plora(out_f, in_f):
        return (w(out_f, in_f), w(R, in_f), w(out_f, R))

    return {
        "wqkv": plora((H + 2 * HKV) * D, C), "wo": plora(C, H * D),
        "w1": plora(FF, C), "w3": plora(FF, C), "w2": plora(C, FF),
        "attention_norm": torch.ones(C, dtype=dtype), "ffn_norm": torch.ones(C, dtype=dtype),
    }


def torch_forward(torch, F, layer, x, im_mask, cos, sin, past_k, past_v):
    """InternLM2DecoderLayer with PLoRA, as upstream computes it (eager attention, torch 1.13 has no sdpa)."""
    T = x.shape[0]

    def lin(v, wt):
        if T == 1 and wt.dtype == torch.float32:
            return torch.mv(wt, v[0])[None]  # fastest float32 decode path in this torch
        return F.linear(v, wt)

    def plora(v, p):
        wt, a, b = p
        res = lin(v, wt)
        if im_mask.any():
            part = v[im_mask]
            res[im_mask] += F.linear(F.linear(part, a), b) * 1.0
        else:
            res[:1] += lin(lin(v[:1], a), b) * 0
        return res

    def rms(v, wt):
        v32 = v.float()
        v32 = v32 * torch.rsqrt(v32.pow(2).mean(-1, keepdim=True) + EPS)
        return wt * v32.to(v.dtype)

    def rotate_half(v):
        return torch.cat((-v[..., D // 2:], v[..., : D // 2]), dim=-1)

    G = H // HKV
    qkv = plora(rms(x, layer["attention_norm"]), layer["wqkv"]).view(T, HKV, G + 2, D)
    q = qkv[:, :, :G].reshape(T, H, D).transpose(0, 1)
    k = qkv[:, :, G].transpose(0, 1)
    v = qkv[:, :, G + 1].transpose(0, 1)
    q = q * cos + rotate_half(q) * sin
    k = k * cos + rotate_half(k) * sin
    if past_k is not None:
        k = torch.cat([past_k, k], dim=1)
        v = torch.cat([past_v, v], dim=1)
    TK = k.shape[1]
    k = k[:, None].expand(HKV, G, TK, D).reshape(H, TK, D)
    v = v[:, None].expand(HKV, G, TK, D).reshape(H, TK, D)
    scores = torch.matmul(q, k.transpose(1, 2)) / math.sqrt(D)
    if T > 1:
        mask = torch.full((T, TK), float("-inf"), dtype=scores.dtype).triu(TK - T + 1)
        scores = scores + mask
    probs = F.softmax(scores, dim=-1, dtype=torch.float32).to(q.dtype)
    attn = torch.matmul(probs, v).transpose(0, 1).reshape(T, H * D)
    h = x + plora(attn, layer["wo"])
    n = rms(h, layer["ffn_norm"])
    return h + plora(F.silu(plora(n, layer["w1"])) * plora(n, layer["w3"]), layer["w2"])


def torch_times(fn, runs, warmup=1):
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


# ---------------------------------------------------------------------------------------------- ours


def ours(args):
    """Runs the dotnet benchmarks once; returns {bench: [per-run seconds... as median+min+max], ...} raw JSON."""
    env = dotnet_env()
    results = {}
    for cmd in (["memread", "--gib", "2"],
                ["layer-prefill", "--tokens", str(TOKENS), "--mask", "both", "--runs", str(args.runs)],
                ["layer-decode", "--context", str(CONTEXT), "--runs", str(max(args.runs, 5))]):
        out = subprocess.run(["dotnet", BENCH_DLL] + cmd, capture_output=True, text=True, cwd=ROOT, env=env)
        if out.returncode != 0:
            sys.exit(f"IXC25.Bench {cmd[0]} failed:\n{out.stderr}")
        for line in out.stdout.splitlines():
            if line.strip().startswith("{"):
                r = json.loads(line)
                results[r["bench"]] = r
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--openblas", help="directory with the OpenBLAS OpenMP libblas.so.3 (see the docstring)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--append-results", action="store_true")
    ap.add_argument("--no-build", action="store_true", help="do not build bench/IXC25.Bench first")
    args = ap.parse_args()
    reexec(args.openblas)

    import torch
    import torch.nn.functional as F

    torch.set_num_threads(2)
    load_before = os.getloadavg()
    if not args.no_build:
        b = subprocess.run(["dotnet", "build", os.path.join(ROOT, "bench", "IXC25.Bench"), "-c", "Release", "-nologo", "-v", "quiet"],
                           capture_output=True, text=True, cwd=ROOT, env=dotnet_env())
        if b.returncode != 0:
            sys.exit(f"build failed:\n{b.stdout}\n{b.stderr}")

    torch.manual_seed(0)
    layers = {dt: build_torch_layer(torch, dt, 1) for dt in (torch.float32, torch.bfloat16)}
    pos = torch.arange(CONTEXT + 1, dtype=torch.float64)
    inv = 1.0 / (1e6 ** (torch.arange(0, D, 2, dtype=torch.float64) / D))
    ang = torch.cat([pos[:, None] * inv[None]] * 2, dim=-1)
    cos_all, sin_all = ang.cos().float(), ang.sin().float()
    x_pre = torch.randn(TOKENS, C)
    x_dec = torch.randn(1, C)
    past_k, past_v = torch.randn(HKV, CONTEXT, D), torch.randn(HKV, CONTEXT, D)
    big = torch.ones((2 << 30) // 4)
    blas = blas_library()

    times = {}

    def add(key, ts):
        times.setdefault(key, []).extend(ts)

    ours_runs = []
    with torch.no_grad():
        for rnd in range(args.rounds):
            for dt, name in ((torch.float32, "fp32"), (torch.bfloat16, "bf16")):
                lay = layers[dt]
                for kind in ("all", "none"):
                    mask = torch.full((TOKENS,), kind == "all")
                    xp = x_pre.to(dt)
                    cs, sn = cos_all[:TOKENS].to(dt), sin_all[:TOKENS].to(dt)
                    add(f"torch-{name}-prefill-{kind}", torch_times(lambda: torch_forward(torch, F, lay, xp, mask, cs, sn, None, None), args.runs))
                mask1 = torch.zeros(1, dtype=torch.bool)
                xd = x_dec.to(dt)
                cs, sn = cos_all[CONTEXT:CONTEXT + 1].to(dt), sin_all[CONTEXT:CONTEXT + 1].to(dt)
                pk, pv = past_k.to(dt), past_v.to(dt)
                add(f"torch-{name}-decode", torch_times(lambda: torch_forward(torch, F, lay, xd, mask1, cs, sn, pk, pv), max(args.runs, 5), warmup=2))
            add("torch-memread", torch_times(lambda: big.sum(), 9, warmup=2))
            r = ours(args)
            ours_runs.append(r)
            print(f"round {rnd + 1}/{args.rounds} done (load {os.getloadavg()[0]:.2f})", file=sys.stderr)
    load_after = os.getloadavg()

    med = {k: statistics.median(v) for k, v in times.items()}
    o = lambda b, key="median_s": statistics.median(r[b][key] for r in ours_runs)
    our_pre_all, our_pre_none, our_dec, our_mem = o("layer-prefill-mask-all"), o("layer-prefill-mask-none"), o("layer-decode"), o("memread")
    parts = {k: {p: o(k + "-parts", p) for p in ("linear_s", "attention_s", "other_s")} for k in ("layer-prefill-mask-all", "layer-prefill-mask-none", "layer-decode")}
    bytes_mem = (2 << 30)
    torch_bw = bytes_mem / med["torch-memread"]
    our_bw = bytes_mem / our_mem
    weight_bytes = ours_runs[0]["layer-decode"]["weight_byte_per_s"] * ours_runs[0]["layer-decode"]["median_s"]
    flops_all = ours_runs[0]["layer-prefill-mask-all"]["flop_per_s"] * ours_runs[0]["layer-prefill-mask-all"]["median_s"]
    flops_none = ours_runs[0]["layer-prefill-mask-none"]["flop_per_s"] * ours_runs[0]["layer-prefill-mask-none"]["median_s"]

    rows = []
    for kind, ours_t, fl, pk in (("all", our_pre_all, flops_all, "layer-prefill-mask-all"), ("none", our_pre_none, flops_none, "layer-prefill-mask-none")):
        t32, t16 = med[f"torch-fp32-prefill-{kind}"], med[f"torch-bf16-prefill-{kind}"]
        p = parts[pk]
        rows.append(f"| prefill {TOKENS}, mask {kind} | {t32:.3f} s | {t16:.3f} s | {ours_t:.3f} s ({fl / ours_t / 1e9:.0f} GFLOP/s) | "
                    f"{t32 / ours_t:.2f}x | {t16 / ours_t:.2f}x | linear {p['linear_s']:.3f} s, attention {p['attention_s']:.3f} s, other {p['other_s']:.3f} s |")
    t32, t16 = med["torch-fp32-decode"], med["torch-bf16-decode"]
    p = parts["layer-decode"]
    rows.append(f"| decode 1 token at {CONTEXT} | {t32 * 1e3:.1f} ms | {t16 * 1e3:.1f} ms | {our_dec * 1e3:.1f} ms ({weight_bytes / our_dec / 1e9:.1f} GB/s of bf16 weights) | "
                f"{t32 / our_dec:.2f}x | {t16 / our_dec:.2f}x | linear {p['linear_s'] * 1e3:.1f} ms, attention {p['attention_s'] * 1e3:.2f} ms, other {p['other_s'] * 1e3:.2f} ms |")
    header = ("| workload | PyTorch fp32 | PyTorch bf16 | ours (bf16 weights, fp32 compute) | PyTorch fp32 / ours | PyTorch bf16 / ours | our time by op group |\n"
              "|---|---|---|---|---|---|---|")
    paired = statistics.median(r["layer-decode-vs-read"]["fraction_of_read"] for r in ours_runs)
    summary = (f"memory read bandwidth (sum over 2 GiB): PyTorch {torch_bw / 1e9:.1f} GB/s, ours {our_bw / 1e9:.1f} GB/s; "
               f"decode reads {weight_bytes / 1e6:.0f} MB of bf16 weights (the empty-mask LoRA term is proven a no-op and skipped) at {weight_bytes / our_dec / 1e9:.1f} GB/s = "
               f"{weight_bytes / our_dec / torch_bw * 100:.0f}% of PyTorch's and {weight_bytes / our_dec / our_bw * 100:.0f}% of our measured read bandwidth; "
               f"decode steps alternating with a 1 GiB read probe in one process: {paired * 100:.0f}% of the probe's bandwidth (median of pairs).")
    print(header)
    print("\n".join(rows))
    print(summary)
    print(f"torch {torch.__version__}, BLAS: {blas}; load average before {load_before[0]:.2f}/{load_before[1]:.2f}, after {load_after[0]:.2f}")

    if args.append_results:
        path = os.path.join(ROOT, "bench", "RESULTS.md")
        with open(path, "a", encoding="utf-8") as f:
            f.write(f"\n### layer_side_by_side.py run ({datetime.datetime.now().strftime('%Y-%m-%d %H:%M')})\n\n")
            f.write(f"CPU: {cpu_model()}; {os.cpu_count()} logical CPUs; torch {torch.__version__} with {blas}, 2 threads, "
                    f"OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset, malloc env {' '.join(f'{k}={v}' for k, v in MALLOC_ENV.items())}; "
                    f"medians of {args.rounds} alternating rounds x {args.runs}+ runs per side; load average before "
                    f"{load_before[0]:.2f} (1 min) / {load_before[1]:.2f} (5 min), after {load_after[0]:.2f}.\n\n")
            f.write(header + "\n" + "\n".join(rows) + "\n\n" + summary + "\n")
        print(f"appended to {path}")


if __name__ == "__main__":
    main()
