#!/usr/bin/env python3
"""The device check's PyTorch side: the layers IXC25.GpuCheck's bench times, in plain PyTorch, bf16 and fp32.

    python3 bench/gpu/torch_side.py [--dims 7b|small] [--dtypes bf16,fp32] [--runs 5] [--budget 30]
                                    [--device auto|cuda|cpu] [--peak-bw TBPS] [--json FILE]

Written from the upstream modeling semantics (/work/shared/reference/IXC25-SEMANTICS.md sections 1, 5, 6; CLIP ViT-L/14):
InternLM2DecoderLayer = RMSNorm (in float32) -> wqkv (interleaved per KV group) -> RoPE (rotate_half, theta 1e6) ->
grouped-query attention through scaled_dot_product_attention (causal in prefill) over a static KV cache -> wo ->
residual -> RMSNorm -> w2(silu(w1 x) * w3 x) -> residual; CLIPEncoderLayer = LayerNorm -> q, k, v (with bias) ->
attention -> out_proj -> residual -> LayerNorm -> fc2(quick_gelu(fc1 x)) -> residual; the head = RMSNorm -> output
projection, logits in float32. Text tokens: no Partial LoRA (as the bench). Weights are uniform in +-sqrt(3 / fan-in),
norm weights 1 and biases 0, as IXC25.GpuCheck's synthetic weights. The workloads, the device peaks and the counting of
FLOPs and bytes are those of bench/gpu/dims.json and IXC25.GpuCheck (Bench/BenchCase.cs: WorkCounts): side_by_side.py
checks that the FLOPs agree. Each case: one warm-up call, then up to --runs timed calls within --budget seconds, each
ended by torch.cuda.synchronize() on CUDA; the median is reported.
"""
import argparse
import json
import math
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROPE_THETA, EPS, VIT_EPS = 1_000_000.0, 1e-5, 1e-5


def load_dims(preset, path=os.path.join(HERE, "dims.json")):
    with open(path) as f:
        doc = json.load(f)
    if preset not in doc["dims"]:
        sys.exit(f"torch_side.py: --dims {preset}: not a preset of {path} ({', '.join(k for k in doc['dims'] if not k.startswith('_'))})")
    w = dict(doc["dims"][preset])
    w["D"] = w["C"] // w["H"]
    w["QKV"] = (w["H"] + 2 * w["HKV"]) * w["D"]
    return w, doc["devices"]["table"]


def cases(w):
    """(name, label, kind, tokens, past) in the bench's order and with its names."""
    out = [(f"prefill-{t}", f"decoder layer prefill {t}", "prefill", t, 0) for t in w["prefill"]]
    out += [(f"decode-{c}", f"decoder layer decode @{c}", "decode", 1, c) for c in w["decode"]]
    out.append((f"vit-{w['vit_tokens']}", f"ViT layer {w['vit_tokens']} tokens", "vit", w["vit_tokens"], 0))
    r = w["head_rows"]
    out.append((f"head-{r}", f"output head {r} row{'' if r == 1 else 's'}", "head", r, 0))
    return out


# ---------------------------------------------------------------- counting (as IXC25.GpuCheck's WorkCounts)

def decoder_params(w):
    return w["QKV"] * w["C"] + w["H"] * w["D"] * w["C"] + 3 * w["C"] * w["F"]


def vit_params(w):
    return 4 * w["CV"] * w["CV"] + 2 * w["CV"] * w["FV"]


def flops(w, kind, t, past):
    if kind in ("prefill", "decode"):
        return 2.0 * decoder_params(w) * t + 4.0 * w["H"] * w["D"] * (t * past + t * (t + 1) / 2)
    if kind == "vit":
        return 2.0 * vit_params(w) * t + 4.0 * t * t * w["CV"]
    return 2.0 * t * w["C"] * w["V"]


def bytes_moved(w, kind, t, past, wb, kb, ab):
    if kind in ("prefill", "decode"):
        return wb * (decoder_params(w) + 2.0 * w["C"]) + kb * 2.0 * w["HKV"] * w["D"] * (past + t) + ab * 2.0 * t * w["C"]
    if kind == "vit":
        return wb * (vit_params(w) + 5.0 * w["CV"] + w["FV"] + 4.0 * w["CV"]) + ab * 2.0 * t * w["CV"]
    return wb * (float(w["V"]) * w["C"] + w["C"]) + ab * t * w["C"] + 4.0 * t * w["V"]


def lookup_peaks(table, device_name):
    for row in table:
        if row["match"].lower() in device_name.lower():
            return dict(source=f"{row['name']} from bench/gpu/dims.json", bw=row["bandwidth_tbps"] * 1e12, bf16=row["bf16_tflops"] * 1e12)
    return None


# ---------------------------------------------------------------- the layers

class Layers:
    def __init__(self, torch, w, dtype, device, max_past):
        self.torch, self.F, self.w, self.dtype, self.device = torch, torch.nn.functional, w, dtype, device
        g = torch.Generator(device="cpu").manual_seed(1)

        def lin(out, inp):
            t = torch.rand(out, inp, generator=g).mul_(2).sub_(1).mul_(math.sqrt(3.0 / inp))
            return t.to(device=device, dtype=dtype)

        def vec(n, value):
            return torch.full((n,), value, device=device, dtype=dtype)

        C, F, D, CV, FV = w["C"], w["F"], w["D"], w["CV"], w["FV"]
        self.wqkv, self.wo = lin(w["QKV"], C), lin(C, w["H"] * D)
        self.w1, self.w3, self.w2 = lin(F, C), lin(F, C), lin(C, F)
        self.attention_norm, self.ffn_norm, self.norm = vec(C, 1.0), vec(C, 1.0), vec(C, 1.0)
        self.output = lin(w["V"], C)
        self.vq, self.vk, self.vv, self.vo = lin(CV, CV), lin(CV, CV), lin(CV, CV), lin(CV, CV)
        self.vqb, self.vkb, self.vvb, self.vob = vec(CV, 0.0), vec(CV, 0.0), vec(CV, 0.0), vec(CV, 0.0)
        self.fc1, self.fc1b, self.fc2, self.fc2b = lin(FV, CV), vec(FV, 0.0), lin(CV, FV), vec(CV, 0.0)
        self.ln1w, self.ln1b, self.ln2w, self.ln2b = vec(CV, 1.0), vec(CV, 0.0), vec(CV, 1.0), vec(CV, 0.0)
        # rotary tables up to the longest context (float32, as upstream's cos_cached / sin_cached before the cast)
        inv_freq = 1.0 / (ROPE_THETA ** (torch.arange(0, D, 2, dtype=torch.float32, device=device) / D))
        t = torch.arange(max_past + max(w["prefill"]) + 1, dtype=torch.float32, device=device)
        emb = torch.cat([torch.outer(t, inv_freq)] * 2, dim=-1)
        self.cos, self.sin = emb.cos().to(dtype), emb.sin().to(dtype)
        self.sdpa = getattr(self.F, "scaled_dot_product_attention", None)
        self.gqa = False
        if self.sdpa is not None:
            try:
                q = torch.zeros(1, 2, 1, 8, device=device, dtype=dtype)
                kv = torch.zeros(1, 1, 1, 8, device=device, dtype=dtype)
                self.sdpa(q, kv, kv, enable_gqa=True)
                self.gqa = True
            except TypeError:
                pass

    @property
    def attention_path(self):
        return "sdpa (enable_gqa)" if self.gqa else "sdpa (repeat_kv)" if self.sdpa else "matmul-softmax-matmul (torch without sdpa)"

    def upcast(self, x):
        """float32 for bf16 and float32 inputs (upstream's upcasts), float64 kept (the --verify mode)."""
        return x if x.dtype == self.torch.float64 else x.float()

    def rms(self, x, weight):
        # InternLM2RMSNorm: variance in float32, then weight * x.to(input dtype)
        x32 = self.upcast(x)
        return weight * (x32 * self.torch.rsqrt(x32.pow(2).mean(-1, keepdim=True) + EPS)).to(x.dtype)

    def rotate_half(self, x):
        h = x.shape[-1] // 2
        return self.torch.cat((-x[..., h:], x[..., :h]), -1)

    def attend(self, q, k, v, causal):
        """q [1, Hq, T, d], k, v [1, Hk, S, d]: softmax(q k^T / sqrt(d)) v, grouped heads share k, v."""
        rep = q.shape[1] // k.shape[1]
        if self.gqa and rep > 1:
            return self.sdpa(q, k, v, is_causal=causal, enable_gqa=True)
        if rep > 1:
            k, v = k.repeat_interleave(rep, 1), v.repeat_interleave(rep, 1)
        if self.sdpa is not None:
            return self.sdpa(q, k, v, is_causal=causal)
        s = (q @ k.transpose(-1, -2)) * (1.0 / math.sqrt(q.shape[-1]))
        if causal:
            T, S = s.shape[-2], s.shape[-1]
            s = s + self.torch.full((T, S), float("-inf"), device=s.device, dtype=s.dtype).triu(S - T + 1)
        return self.torch.softmax(self.upcast(s), -1).to(q.dtype) @ v

    def decoder(self, x, past, k_cache, v_cache):
        """x [1, T, C] at positions past .. past + T - 1; k_cache, v_cache [1, HKV, S, D] (written in place)."""
        w = self.w
        T, H, HKV, D = x.shape[1], w["H"], w["HKV"], w["D"]
        qkv = self.F.linear(self.rms(x, self.attention_norm), self.wqkv).view(1, T, HKV, H // HKV + 2, D)
        q = qkv[:, :, :, : H // HKV].reshape(1, T, H, D).transpose(1, 2)
        k = qkv[:, :, :, -2].transpose(1, 2)
        v = qkv[:, :, :, -1].transpose(1, 2)
        cos, sin = self.cos[past: past + T], self.sin[past: past + T]
        q = q * cos + self.rotate_half(q) * sin
        k = k * cos + self.rotate_half(k) * sin
        k_cache[:, :, past: past + T] = k
        v_cache[:, :, past: past + T] = v
        o = self.attend(q, k_cache[:, :, : past + T], v_cache[:, :, : past + T], causal=past == 0 and T > 1)
        h = x + self.F.linear(o.transpose(1, 2).reshape(1, T, H * D), self.wo)
        n = self.rms(h, self.ffn_norm)
        return h + self.F.linear(self.F.silu(self.F.linear(n, self.w1)) * self.F.linear(n, self.w3), self.w2)

    def vit(self, x):
        """x [1, T, CV]: CLIPEncoderLayer (quick_gelu)."""
        w, F = self.w, self.F
        T, CV, HV = x.shape[1], w["CV"], w["HV"]
        h = F.layer_norm(x, (CV,), self.ln1w, self.ln1b, VIT_EPS)
        q, k, v = (F.linear(h, wt, b).view(1, T, HV, CV // HV).transpose(1, 2)
                   for wt, b in ((self.vq, self.vqb), (self.vk, self.vkb), (self.vv, self.vvb)))
        a = self.attend(q, k, v, causal=False)
        x = x + F.linear(a.transpose(1, 2).reshape(1, T, CV), self.vo, self.vob)
        m = F.linear(F.layer_norm(x, (CV,), self.ln2w, self.ln2b, VIT_EPS), self.fc1, self.fc1b)
        return x + F.linear(m * self.torch.sigmoid(1.702 * m), self.fc2, self.fc2b)

    def head(self, x):
        return self.F.linear(self.rms(x, self.norm), self.output).float()


# ---------------------------------------------------------------- checked against the plain-torch mirror of upstream

def verify(torch, w):
    """The layers above, in float64 on the CPU, against golden/reference/modeling_ref.py (the repository's plain-torch
    mirror of upstream's modeling files) with the same weights: a prefill from position 0, a decode step after it,
    a ViT layer and the head. Returns the failures (empty when every output agrees within 1e-9 relative)."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "golden", "reference"))
    import modeling_ref as ref
    cpu, f64 = torch.device("cpu"), torch.float64
    L = Layers(torch, w, f64, cpu, max(w["decode"]))
    cfg = ref.IXCConfig(vocab_size=w["V"], hidden_size=w["C"], intermediate_size=w["F"], num_hidden_layers=1,
                        num_attention_heads=w["H"], num_key_value_heads=w["HKV"], max_position_embeddings=1 << 20,
                        rms_norm_eps=EPS, bias=False, rope_theta=ROPE_THETA, rope_scaling=None,
                        vision_config=dict(hidden_size=w["CV"], intermediate_size=w["FV"], num_attention_heads=w["HV"]))
    layer = ref.InternLM2DecoderLayer(cfg, 0, dtype=f64, rope_table_dtype=torch.float32)
    vit = ref.CLIPEncoderLayer(cfg.vision_config, dtype=f64)
    with torch.no_grad():
        for mod, t in ((layer.attention.wqkv, L.wqkv), (layer.attention.wo, L.wo), (layer.feed_forward.w1, L.w1),
                       (layer.feed_forward.w3, L.w3), (layer.feed_forward.w2, L.w2)):
            mod.weight.copy_(t)
            mod.Plora_A.weight.zero_()
            mod.Plora_B.weight.zero_()
        a = vit.self_attn
        for mod, t, b in ((a.q_proj, L.vq, L.vqb), (a.k_proj, L.vk, L.vkb), (a.v_proj, L.vv, L.vvb), (a.out_proj, L.vo, L.vob),
                          (vit.mlp.fc1, L.fc1, L.fc1b), (vit.mlp.fc2, L.fc2, L.fc2b)):
            mod.weight.copy_(t)
            mod.bias.copy_(b)
        failures = []

        def check(name, ours, theirs):
            err = (ours - theirs).abs().max().item() / max(theirs.abs().max().item(), 1e-30)
            print(f"verify {name}: max |difference| / max |reference| = {err:.2e}")
            if not err < 1e-9:
                failures.append(name)

        g = torch.Generator().manual_seed(3)
        T, P = 7, 5
        x = torch.rand(1, T + 1, w["C"], generator=g, dtype=f64) * 2 - 1
        kc = torch.zeros(1, w["HKV"], T + 1, w["D"], dtype=f64)
        vc = torch.zeros_like(kc)
        # upstream's tables are float32 (cast to the compute dtype), as this script's: take the same rows
        L.cos, L.sin = (t.double() for t in layer.attention.rotary_emb(x, seq_len=T + 1))
        none = torch.zeros(1, T, dtype=torch.bool)
        causal = torch.full((T, T), float("-inf"), dtype=f64).triu(1)[None, None]
        want, present = layer(x[:, :T], attention_mask=causal, position_ids=torch.arange(T)[None], use_cache=True, im_mask=none)
        check(f"decoder prefill {T}", L.decoder(x[:, :T], 0, kc, vc), want)
        want, _ = layer(x[:, T:], attention_mask=None, position_ids=torch.tensor([[T]]), past_key_value=present,
                        use_cache=True, im_mask=torch.zeros(1, 1, dtype=torch.bool))
        check(f"decoder decode @{T}", L.decoder(x[:, T:], T, kc, vc), want)
        xv = torch.rand(1, 2 * P + 1, w["CV"], generator=g, dtype=f64) * 2 - 1
        check(f"vit layer {2 * P + 1}", L.vit(xv), vit(xv))
        norm = ref.InternLM2RMSNorm(w["C"], eps=EPS, dtype=f64)
        check("head", L.head(x[0, :2]), torch.nn.functional.linear(norm(x[0, :2]), L.output).float())
    return failures


# ---------------------------------------------------------------- timing and report

def time_case(torch, fn, device, runs, budget):
    def once():
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
    once()
    times = []
    t_start = time.perf_counter()
    while len(times) < runs and (not times or time.perf_counter() - t_start < budget):
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return statistics.median_high(times), len(times)  # the upper middle for an even count, as the bench


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims", default="7b")
    ap.add_argument("--dtypes", default="bf16,fp32")
    ap.add_argument("--runs", type=int, default=5, help="timed calls per case (1..100)")
    ap.add_argument("--budget", type=float, default=30, help="seconds of timed calls per case (1..600)")
    ap.add_argument("--device", default="auto", choices=["auto", "cuda", "cpu"])
    ap.add_argument("--peak-bw", type=float, default=None, help="device memory bandwidth in TB/s (0..100], instead of the table")
    ap.add_argument("--json", default=None, help="write one JSON object per case and dtype to this file")
    ap.add_argument("--verify", action="store_true",
                    help="check the layers against golden/reference/modeling_ref.py in float64 on the CPU (no timing); exit 1 on a difference")
    a = ap.parse_args()
    if not 1 <= a.runs <= 100:
        ap.error(f"--runs {a.runs}: must be at least 1 and at most 100")
    if not 1 <= a.budget <= 600:
        ap.error(f"--budget {a.budget}: must be at least 1 and at most 600")
    if a.peak_bw is not None and not 0 < a.peak_bw <= 100:
        ap.error(f"--peak-bw {a.peak_bw}: must be greater than 0 and at most 100")
    dtypes = a.dtypes.split(",")
    for d in dtypes:
        if d not in ("bf16", "fp32"):
            ap.error(f"--dtypes {a.dtypes}: each of bf16, fp32")
    w, table = load_dims(a.dims)
    try:
        import torch
    except ImportError:
        sys.exit("torch_side.py: PyTorch is not installed for " + sys.executable)
    if a.verify:
        failures = verify(torch, w)
        print(f"verify: {4 - len(failures)} of 4 outputs agree with golden/reference/modeling_ref.py" + (f"; FAILED: {', '.join(failures)}" if failures else ""))
        sys.exit(1 if failures else 0)
    device = torch.device("cuda" if a.device == "cuda" or (a.device == "auto" and torch.cuda.is_available()) else "cpu")
    if device.type == "cuda" and not torch.cuda.is_available():
        sys.exit("torch_side.py: --device cuda: torch sees no CUDA device")
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    peaks = dict(source="--peak-bw", bw=a.peak_bw * 1e12, bf16=None) if a.peak_bw else lookup_peaks(table, device_name)
    lines = []
    for dt in dtypes:
        dtype = torch.bfloat16 if dt == "bf16" else torch.float32
        esize = 2 if dt == "bf16" else 4
        side = f"torch-{dt}"
        backend = f"torch {torch.__version__} {device.type}"
        with torch.no_grad():
            t0 = time.perf_counter()
            L = Layers(torch, w, dtype, device, max(w["decode"]))
            print(f"{side}: weights ready in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
            print(f"bench {side}: backend {backend}, device {device_name}, dims {a.dims}; weights, activations and kv cache {dt}, "
                  f"attention {L.attention_path}, tf32 {'on' if device.type == 'cuda' and torch.backends.cuda.matmul.allow_tf32 else 'off'}; "
                  f"{a.runs} runs or {a.budget:g} s per case, median")
            print("peaks: none known for '%s' (give --peak-bw TB/s): fractions not printed" % device_name if peaks is None else
                  f"peaks: {peaks['bw'] / 1e12:.3g} TB/s" + (f", {peaks['bf16'] / 1e12:.0f} bf16 TFLOP/s dense" if peaks["bf16"] else "") + f" ({peaks['source']})")
            print(f"{'case':<30} {'median ms':>10} {'runs':>4} {'tok/s':>10} {'TFLOP/s':>8} {'%bf16pk':>7} {'MB moved':>9} {'GB/s':>8} {'%bw':>6}")
            gen = torch.Generator(device="cpu").manual_seed(2)
            for name, label, kind, t, past in cases(w):
                def rand(*shape):
                    return (torch.rand(*shape, generator=gen) * 2 - 1).to(device=device, dtype=dtype)
                if kind in ("prefill", "decode"):
                    x = rand(1, t, w["C"])
                    kc = rand(1, w["HKV"], past + t, w["D"])
                    vc = rand(1, w["HKV"], past + t, w["D"])
                    fn = (lambda x=x, past=past, kc=kc, vc=vc: L.decoder(x, past, kc, vc))
                elif kind == "vit":
                    x = rand(1, t, w["CV"])
                    fn = (lambda x=x: L.vit(x))
                else:
                    x = rand(t, w["C"])
                    fn = (lambda x=x: L.head(x))
                med, n = time_case(torch, fn, device, a.runs, a.budget)
                fl, by = flops(w, kind, t, past), bytes_moved(w, kind, t, past, esize, esize, esize)
                bw = by / med / peaks["bw"] if peaks else None
                pk = fl / med / peaks["bf16"] if peaks and peaks["bf16"] else None
                tfl = fl / med / 1e12
                pct = lambda f: "-" if f is None else f"{100 * f:.1f}"
                tf = f"{tfl:.3f}" if tfl >= 0.01 else f"{tfl:.2e}"
                print(f"{label:<30} {med * 1e3:>10.3f} {n:>4} {t / med:>10.1f} {tf:>8} {pct(pk):>7} {by / 1e6:>9.1f} {by / med / 1e9:>8.1f} {pct(bw):>6}", flush=True)
                lines.append(dict(side=side, backend=backend, device=device_name, dims=a.dims, case=name, kind=kind, tokens=t, context=past,
                                  median_s=med, runs=n, flops=fl, bytes=by, tokens_per_s=t / med, tflops=tfl, gbps=by / med / 1e9,
                                  bandwidth_fraction=bw, bf16_peak_fraction=pk, peak_source=peaks["source"] if peaks else None))
            del L
            if device.type == "cuda":
                torch.cuda.empty_cache()
    if a.json:
        with open(a.json + ".tmp", "w") as f:
            f.write("".join(json.dumps(l) + "\n" for l in lines))
        os.replace(a.json + ".tmp", a.json)


if __name__ == "__main__":
    main()
