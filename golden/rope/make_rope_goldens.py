"""RoPE goldens: the upstream rotary modules (golden/reference/modeling_ref.py mirrors
InternLM2RotaryEmbedding, ...LinearScaling..., ...DynamicNTKScaling..., stateful by default, plus our
stateless variant) driven through sequences of forward passes of growing and shrinking total
length. For each configuration and call k we store the module's cos/sin rows at a fixed set of
positions below L_k, and its inv_freq after the call.

Run: /usr/bin/python3 golden/rope/make_rope_goldens.py   (rewrites golden/rope/data/)
"""
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from common import safetensors_io as st  # noqa: E402
from reference import modeling_ref as ref  # noqa: E402

SCRIPT = "golden/rope/make_rope_goldens.py"
POSITIONS = [0, 1, 2, 3, 100, 2047, 2048, 2049, 5000, 24575, 24576, 24577, 30000, 49151, 49152, 98303, 98304, 131071]

CASES = [
    # name, head_dim, theta, max_pos, scaling, factor, stateless, calls
    ("ixc7b_hf", 128, 1e6, 24576, "dynamic", 2.0, False, [512, 24576, 30000, 1000, 30001, 30002, 98304, 24000, 131072]),
    ("ixc7b_stateless", 128, 1e6, 24576, "dynamic", 2.0, True, [512, 24576, 30000, 1000, 30001, 98304, 24000]),
    ("tiny_hf", 8, 1e6, 2048, "dynamic", 2.0, False, [10, 2048, 2049, 5000, 100, 5001, 2047]),
    ("tiny_stateless", 8, 1e6, 2048, "dynamic", 2.0, True, [10, 2049, 100, 5001]),
    ("linear", 64, 10000.0, 4096, "linear", 2.0, False, [100, 5000, 100]),
    ("none", 16, 10000.0, 4096, None, 1.0, False, [100, 5000, 100, 98304]),
]


def make_module(head_dim, theta, max_pos, scaling, factor, stateless):
    kw = dict(max_position_embeddings=max_pos, base=theta)
    if scaling is None:
        return ref.InternLM2RotaryEmbedding(head_dim, **kw)
    if scaling == "linear":
        return ref.InternLM2LinearScalingRotaryEmbedding(head_dim, scaling_factor=factor, **kw)
    return ref.InternLM2DynamicNTKScalingRotaryEmbedding(head_dim, scaling_factor=factor, stateless=stateless, **kw)


def main():
    out = os.path.join(HERE, "data")
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    for name, D, theta, max_pos, scaling, factor, stateless, calls in CASES:
        m = make_module(D, theta, max_pos, scaling, factor, stateless)
        tensors = {}
        for k, L in enumerate(calls):
            x = torch.zeros(1, 1, 1, D)
            cos, sin = m(x, seq_len=L)
            pos = [p for p in POSITIONS if p < L]
            tensors[f"call{k}.cos"] = cos[pos].contiguous()
            tensors[f"call{k}.sin"] = sin[pos].contiguous()
            if stateless and scaling == "dynamic":
                inv = m._ntk_inv_freq(L, "cpu") if L > max_pos else m._compute_inv_freq(m.base, "cpu")
            else:
                inv = m.inv_freq
            tensors[f"call{k}.inv_freq"] = inv.clone()
        meta = st.provenance(SCRIPT, None, head_dim=D, theta=theta, max_pos=max_pos, scaling=scaling or "none",
                             factor=factor, mode="stateless" if stateless else "hf", calls=json.dumps(calls),
                             positions=json.dumps(POSITIONS))
        st.save(os.path.join(out, f"{name}.safetensors"), tensors, meta)
    st.write_manifest(out, SCRIPT)
    print("wrote", len(CASES), "rope golden files")


if __name__ == "__main__":
    main()
