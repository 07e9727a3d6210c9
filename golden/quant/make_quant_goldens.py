"""Goldens of the quantize step and the quantized dot (spec/quant.json), from their definition in quant_ref.py.

Writes golden/quant/data/quant.safetensors + MANIFEST.json. For each case c: c.w f32 [R, K] (the weight, bf16
values widened), per format f: c.f.qs, c.f.scales (f16), c.f.deq f32 [R, K] (dequantized), c.f.y f32 [T, R] (the
quantized dot with the case's activations); c.x f32 [T, K], c.act.qs i8, c.act.scales f32. Also cross-checks our
blocks against ../shared/bench/llamacpp/make_gguf.py (byte-identical to ggml's reference quantizers) where present.

    /usr/bin/python3 golden/quant/make_quant_goldens.py
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
from golden.common import safetensors_io as st  # noqa: E402
import quant_ref as qr  # noqa: E402

SEED = 20261207


def edge_rows():
    """One row of 8 blocks (K = 256) with the rounding and selection corner cases of both rules."""
    blocks = []
    blocks.append([0.0] * 32)                                               # all zero: d = 0, id = 0
    blocks.append([127.0] + [k + 0.5 for k in range(-15, 16)])              # q8_0 d = 1: exact .5 ties
    blocks.append([-8.0] + [k * 0.5 for k in range(-15, 16)])               # q4_0 d = 1: ties at x + 8.5
    blocks.append([3.0, -3.0] + [0.25] * 30)                                # equal magnitudes: the first wins
    blocks.append([-3.0, 3.0] + [-0.25] * 30)
    blocks.append([8.0, -8.0, 7.5, -7.5] + [0.5 * (j % 5) for j in range(28)])  # max positive: q4_0 clips -8 at 15
    blocks.append([1e-5] + [-3e-6] * 31)                                    # f16 subnormal scale
    blocks.append([5.0e5] + [-1.0] * 31)                                    # large scale: q4_0 d = 62500, near the f16 maximum
    return torch.tensor([sum(blocks, [])], dtype=torch.float32)


def bf16(t):
    return t.to(torch.bfloat16).to(torch.float32)


def cases(g):
    yield "edge", edge_rows(), torch.randn(3, 256, generator=g)
    yield "rand", bf16(torch.randn(8, 256, generator=g) * 0.02), torch.randn(2, 256, generator=g)
    w = bf16(torch.randn(5, 96, generator=g) * 0.02)
    w[1, 7] = 0.5  # an outlier
    x = torch.randn(3, 96, generator=g)
    x[2, 40] = float("nan")  # a non-finite activation block: its outputs are NaN
    yield "outlier", w, x
    yield "long", bf16(torch.randn(3, 32 * 37, generator=g)), torch.randn(2, 32 * 37, generator=g) * 3  # 37 blocks: tail lanes


def main():
    g = torch.Generator().manual_seed(SEED)
    out = {}
    gguf = None
    try:
        sys.path.insert(0, os.path.join(HERE, "..", "..", "..", "shared", "bench", "llamacpp"))
        import make_gguf  # noqa: E402
        gguf = make_gguf.encode
    except Exception as e:  # not part of the product: the cross-check is optional
        print(f"make_gguf cross-check unavailable: {e}")
    checked = 0
    for name, w, x in cases(g):
        R, K = w.shape
        out[f"{name}.w"] = w
        aq, ad = qr.quantize_act(x)
        out[f"{name}.x"] = x
        out[f"{name}.act.qs"] = aq
        out[f"{name}.act.scales"] = ad
        for fmt, fn in qr.QUANTIZE.items():
            qs, sc = fn(w)
            deq = qr.dequantize(fmt, qs, sc, K)
            out[f"{name}.{fmt}.qs"] = qs
            out[f"{name}.{fmt}.scales"] = sc
            out[f"{name}.{fmt}.deq"] = deq
            out[f"{name}.{fmt}.y"] = qr.dot(fmt, qs, sc, K, aq, ad)
            if gguf is not None:
                # planar -> GGUF blocks: each block's f16 scale (little-endian) before its qs bytes
                per = 32 if fmt == "q8_0" else 16
                blocks = np.concatenate([sc.view(torch.int16).numpy().astype("<i2").view(np.uint8).reshape(R, -1, 2),
                                         qs.view(torch.uint8).numpy().reshape(R, -1, per)], axis=2)
                assert blocks.tobytes() == gguf(w.numpy().reshape(-1), fmt), f"{name} {fmt}: differs from make_gguf.encode"
                checked += 1
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    extra = {"gguf_crosscheck": f"{checked} (case, format) pairs byte-identical to make_gguf.encode" if gguf else "not run"}
    st.save(os.path.join(HERE, "data", "quant.safetensors"), out, st.provenance("golden/quant/make_quant_goldens.py", SEED, **extra))
    st.write_manifest(os.path.join(HERE, "data"), "golden/quant/make_quant_goldens.py", SEED, extra)
    print(f"{len(out)} tensors; {extra['gguf_crosscheck']}")


if __name__ == "__main__":
    main()
