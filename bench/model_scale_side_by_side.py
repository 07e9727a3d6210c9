#!/usr/bin/python3
"""The 7B code path at real dimensions, ours (bench/IXC25.Bench model-scale) against PyTorch on the same
shapes, in the same session: one CLIP ViT-L/14-560 layer on a single-image batch (global view + 1 crop,
2 x 1601 tokens), one InternLM2-7B decoder layer with Partial LoRA over an 858-position single-image prompt
(841 image positions), one decode step at that context, and the output head on one row; both extrapolated
to 24 ViT and 32 decoder layers (prefill tokens/s, decode tokens/s).

    /usr/bin/python3 bench/model_scale_side_by_side.py --openblas DIR [--runs 3] [--append-results]

PyTorch runs with float32 weights (the float32 evaluation this engine also does; bf16 weights are
widened) and, for reference, bfloat16 weights. The fair-PyTorch setup follows PERF-ANCHORS.md: --openblas
points LD_LIBRARY_PATH at an OpenBLAS OpenMP build (apt-get download libopenblas0-openmp; dpkg -x),
OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE are unset and glibc malloc keeps large temporaries mapped, in the
PyTorch process only; torch.set_num_threads(2).
"""
import argparse
import datetime
import json
import math
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DLL = os.path.join(ROOT, "artifacts", "bin", "IXC25.Bench", "release", "IXC25.Bench.dll")
MARK = "IXC25_MODEL_SCALE_ORIGINAL_ENV"
C, H, HKV, D, FF, R, V = 4096, 32, 8, 128, 14336, 256, 92544
CV, FV, HV, NP = 1024, 4096, 16, 1600
PROMPT, IMAGE = 858, 841


def reexec(openblas):
    if MARK in os.environ:
        return
    env = dict(os.environ)
    env[MARK] = json.dumps(dict(os.environ))
    env.pop("OPENBLAS_CORETYPE", None)
    env.pop("OPENBLAS_L2_SIZE", None)
    env.update({"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "17179869184", "MALLOC_TOP_PAD_": "1073741824"})
    if openblas:
        env["LD_LIBRARY_PATH"] = openblas + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    os.execve(sys.executable, [sys.executable] + sys.argv, env)


def timed(fn, runs):
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def torch_side(runs, dtype):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(2)
    torch.manual_seed(0)

    def w(out, inp):
        return (torch.rand(out, inp) * 2 - 1).mul_(math.sqrt(3 / inp)).to(dtype)

    res = {}
    with torch.no_grad():
        # CLIPEncoderLayer on [2, 1601, 1024]
        vit = {k: w(o, i) for k, (o, i) in dict(q=(CV, CV), k=(CV, CV), v=(CV, CV), o=(CV, CV), fc1=(FV, CV), fc2=(CV, FV)).items()}
        x = torch.randn(2, NP + 1, CV).to(dtype)

        def vit_layer():
            h = F.layer_norm(x, (CV,))
            q = F.linear(h, vit["q"]) * (CV // HV) ** -0.5
            k = F.linear(h, vit["k"])
            v = F.linear(h, vit["v"])
            q, k, v = (t.view(2, -1, HV, CV // HV).transpose(1, 2) for t in (q, k, v))
            p = torch.softmax(q @ k.transpose(-1, -2), dim=-1)
            a = F.linear((p @ v).transpose(1, 2).reshape(2, -1, CV), vit["o"])
            h2 = x + a
            m = F.linear(h2, vit["fc1"])
            return h2 + F.linear(m * torch.sigmoid(1.702 * m), vit["fc2"])

        res["vit"] = timed(vit_layer, runs)

        # InternLM2 decoder layer with Partial LoRA on the image positions (PLoRA.forward)
        lin = dict(wqkv=((H + 2 * HKV) * D, C), wo=(C, C), w1=(FF, C), w3=(FF, C), w2=(C, FF))
        base = {k: w(o, i) for k, (o, i) in lin.items()}
        la = {k: w(R, i) for k, (o, i) in lin.items()}
        lb = {k: w(o, R) for k, (o, i) in lin.items()}
        mask = torch.zeros(PROMPT, dtype=torch.bool)
        mask[:IMAGE] = True

        def lin(t, wt):
            # one float32 row: torch.mv is this torch's fastest path (F.linear on one row is several times slower)
            if t.shape[0] == 1 and wt.dtype == torch.float32:
                return torch.mv(wt, t[0])[None]
            return F.linear(t, wt)

        def plora(name, t, m):
            y = lin(t, base[name])
            if m.any():
                y[m] += F.linear(F.linear(t[m], la[name]), lb[name])
            else:
                y[:1] += lin(lin(t[:1], la[name]), lb[name]) * 0
            return y

        def rms(t):
            t32 = t.float()
            return (t32 * torch.rsqrt(t32.pow(2).mean(-1, keepdim=True) + 1e-5)).to(dtype)

        def layer(t, m, k_cache, v_cache):
            T = t.shape[0]
            qkv = plora("wqkv", rms(t), m).view(T, HKV, H // HKV + 2, D)
            q = qkv[:, :, :H // HKV].reshape(T, H, D).transpose(0, 1)
            k = qkv[:, :, -2].transpose(0, 1)
            v = qkv[:, :, -1].transpose(0, 1)
            if k_cache is not None:
                k = torch.cat([k_cache, k], 1)
                v = torch.cat([v_cache, v], 1)
            kk = k.repeat_interleave(H // HKV, 0)
            vv = v.repeat_interleave(H // HKV, 0)
            s = (q @ kk.transpose(1, 2)) / math.sqrt(D)
            if T > 1:
                s = s + torch.full((T, T), float("-inf")).triu(1)
            o = (torch.softmax(s.float(), -1).to(dtype) @ vv).transpose(0, 1).reshape(T, C)
            h = t + plora("wo", o, m)
            g = rms(h)
            return h + plora("w2", F.silu(plora("w1", g, m)) * plora("w3", g, m), m)

        xs = torch.randn(PROMPT, C).to(dtype)
        res["prefill"] = timed(lambda: layer(xs, mask, None, None), runs)
        kc = torch.randn(HKV, PROMPT, D).to(dtype)
        vc = torch.randn(HKV, PROMPT, D).to(dtype)
        x1 = torch.randn(1, C).to(dtype)
        res["decode"] = timed(lambda: layer(x1, torch.zeros(1, dtype=torch.bool), kc, vc), max(runs, 5))
        head = w(V, C)
        res["head"] = timed(lambda: lin(rms(x1), head), max(runs, 5))
    return res


def ours(runs):
    env = json.loads(os.environ[MARK]) if MARK in os.environ else dict(os.environ)
    out = subprocess.run(["dotnet", BENCH_DLL, "model-scale", "--runs", str(runs)], capture_output=True, text=True, env=env, check=True).stdout
    rows = [json.loads(l) for l in out.splitlines() if l.startswith("{")]
    pick = lambda key: next(r["median_s"] for r in rows if key in r["bench"])
    return dict(vit=pick("vit layer"), prefill=pick("layer prefill"), decode=pick("decode step"), head=pick("output head"))


def extrapolate(r):
    return dict(vit_s=r["vit"] * 24, prefill_tok_s=PROMPT / (r["prefill"] * 32 + r["head"]), decode_tok_s=1 / (r["decode"] * 32 + r["head"]))


def one_round(runs):
    """One round in this (fresh) process: PyTorch fp32, PyTorch bf16, then ours in its own fresh process."""
    import torch
    return dict(t32=torch_side(runs, torch.float32), t16=torch_side(runs, torch.bfloat16), me=ours(runs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--openblas", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=3,
                    help="rounds, each in fresh processes on both sides (this VM's memory speed is decided per process); medians are reported")
    ap.add_argument("--append-results", action="store_true")
    ap.add_argument("--one-round", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    reexec(a.openblas)
    if a.one_round:
        print(json.dumps(one_round(a.runs)))
        return
    import torch
    load = os.getloadavg()[0]
    rounds = []
    for i in range(a.rounds):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), "--one-round", "--runs", str(a.runs)],
                             capture_output=True, text=True, check=True).stdout
        rounds.append(json.loads(out.strip().splitlines()[-1]))
        print(f"round {i + 1}/{a.rounds}: " + ", ".join(f"{k} {rounds[-1]['t32'][k]*1e3:.0f}/{rounds[-1]['me'][k]*1e3:.0f} ms" for k in ("vit", "prefill", "decode", "head")), file=sys.stderr)
    med = lambda side: {k: statistics.median(r[side][k] for r in rounds) for k in rounds[0][side]}
    t32, t16, me = med("t32"), med("t16"), med("me")
    ratio_range = {k: (min(r["t32"][k] / r["me"][k] for r in rounds), max(r["t32"][k] / r["me"][k] for r in rounds)) for k in me}
    e32, e16, em = extrapolate(t32), extrapolate(t16), extrapolate(me)
    lines = [
        f"## model-scale: 7B dimensions, one ViT and one decoder layer extrapolated ({datetime.date.today()})", "",
        f"CPU: {subprocess.run(['lscpu'], capture_output=True, text=True).stdout.split('Model name:')[1].splitlines()[0].strip()}; 2 threads both sides; "
        f"PyTorch {torch.__version__} with {'OpenBLAS (openmp, AVX-512 kernels)' if a.openblas else 'the default BLAS'}; load average before {load:.2f}; "
        f"medians over {a.rounds} rounds (fresh processes on both sides each round) of the median of {a.runs} runs; "
        f"`/usr/bin/python3 bench/model_scale_side_by_side.py --openblas DIR --runs {a.runs} --rounds {a.rounds}`.", "",
        "| per layer | PyTorch fp32 | PyTorch bf16 | ours (bf16 weights, fp32 math) | fp32 / ours | fp32 / ours per round |",
        "|---|---|---|---|---|---|",
    ]
    for key, label in (("vit", "ViT layer, 2 x 1601 tokens"), ("prefill", f"decoder layer prefill, {PROMPT} positions ({IMAGE} with Partial LoRA)"),
                       ("decode", f"decoder layer decode step at context {PROMPT}"), ("head", "output head, 1 row")):
        lines.append(f"| {label} | {t32[key]*1e3:.1f} ms | {t16[key]*1e3:.1f} ms | {me[key]*1e3:.1f} ms | {t32[key]/me[key]:.2f}x | "
                     f"{ratio_range[key][0]:.2f}x to {ratio_range[key][1]:.2f}x |")
    lines += ["", "| whole model (24 ViT + 32 decoder layers + head) | PyTorch fp32 | PyTorch bf16 | ours |", "|---|---|---|---|",
              f"| vision tower, one 1x1-grid image | {e32['vit_s']:.1f} s | {e16['vit_s']:.1f} s | {em['vit_s']:.1f} s |",
              f"| prefill, {PROMPT}-position single-image prompt | {e32['prefill_tok_s']:.1f} tok/s | {e16['prefill_tok_s']:.1f} tok/s | {em['prefill_tok_s']:.1f} tok/s |",
              f"| decode | {e32['decode_tok_s']:.2f} tok/s | {e16['decode_tok_s']:.2f} tok/s | {em['decode_tok_s']:.2f} tok/s |", ""]
    text = "\n".join(lines)
    print(text)
    if a.append_results:
        with open(os.path.join(ROOT, "bench", "RESULTS.md"), "a") as f:
            f.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
