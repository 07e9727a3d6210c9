"""Measures the 4-bit candidates (ggml q4_0 and q4_1, reference quantizers) against the weights they quantize:
NMSE of the dequantized weights and of the quantized dot (activations q8 per block, float32 scale) against the
float32 product, on the tiny checkpoint's quantizable linears and on random 7B-shaped rows. Prints the table of
docs/QUANT.md. Not a golden: a measurement (numbers depend only on the seed).

    /usr/bin/python3 golden/quant/measure_4bit.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from golden.common import safetensors_io as st  # noqa: E402
import quant_ref as qr  # noqa: E402


def q4_1(w):
    """ggml quantize_row_q4_1_ref then dequantize_row_q4_1 (x * d + m, not fused), float32."""
    b = w.reshape(w.shape[0], -1, 32)
    mn, mx = b.amin(dim=2), b.amax(dim=2)
    d = (mx - mn) / torch.tensor(15.0)
    idv = torch.where(d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d))
    q = torch.clamp(torch.trunc((b - mn[:, :, None]) * idv[:, :, None] + 0.5), max=15)
    dd, mm = d.to(torch.float16).float(), mn.to(torch.float16).float()
    return (q * dd[:, :, None] + mm[:, :, None]).reshape(w.shape)


def q4_0(w):
    qs, sc = qr.quantize_q4_0(w)
    return qr.dequantize("q4_0", qs, sc, w.shape[1])


def q8_0(w):
    qs, sc = qr.quantize_q8_0(w)
    return qr.dequantize("q8_0", qs, sc, w.shape[1])


def nmse(a, r):
    return float(((a.double() - r.double()) ** 2).sum() / (r.double() ** 2).sum())


def row(label, ws, xs):
    out = [label]
    for f in (q8_0, q4_0, q4_1):
        ew, ey = [], []
        for w, x in zip(ws, xs):
            dq = f(w)
            ew.append(nmse(dq, w))
            aq, ad = qr.quantize_act(x)
            xa = (aq.float().reshape(x.shape[0], -1, 32) * ad[:, :, None]).reshape(x.shape)
            ey.append(nmse(xa @ dq.T, x @ w.T))
        out.append(f"{sum(ew) / len(ew):.2e} / {sum(ey) / len(ey):.2e}")
    print("| " + " | ".join(out) + " |")


def main():
    g = torch.Generator().manual_seed(7)
    print("| weights | q8_0 NMSE weight / dot | q4_0 | q4_1 |")
    print("|---|---|---|---|")
    tiny = {}
    d = os.path.join(HERE, "..", "model", "tiny", "safetensors")
    for f in sorted(os.listdir(d)):
        if f.endswith(".safetensors"):
            tiny.update(st.load(os.path.join(d, f))[0])
    lin = [t.float() for k, t in sorted(tiny.items()) if t.dim() == 2 and t.shape[1] % 32 == 0 and "lora" not in k.lower()
           and "embed" not in k and "tok_" not in k and "output" not in k]
    row(f"tiny checkpoint, {len(lin)} linears", lin, [torch.randn(4, w.shape[1], generator=g) for w in lin])
    for out_f, in_f in ((4096, 4096), (1024, 14336)):
        w = (torch.randn(out_f, in_f, generator=g) * 0.02).to(torch.bfloat16).float()
        row(f"N(0, 0.02) [{out_f}, {in_f}]", [w], [torch.randn(4, in_f, generator=g)])
    w = (torch.randn(4096, 4096, generator=g) * 0.02)
    w[torch.rand(4096, 4096, generator=g) < 1e-3] *= 20  # heavy-tailed: 0.1% outliers x20
    w = w.to(torch.bfloat16).float()
    row("N(0, 0.02) + 0.1% outliers x20 [4096, 4096]", [w], [torch.randn(4, 4096, generator=g)])


if __name__ == "__main__":
    main()
