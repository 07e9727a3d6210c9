"""Golden of the drift metrics (ixc25 drift, docs/QUANT.md): two tap files (a reference and a drifted copy) and
the metrics computed from them in torch float64, from the definitions:
NMSE = sum (a - r)^2 / sum r^2; max |a - r|; KL(P_ref || P) with log-softmax in float64; top-1 agreement (first
argmax); rank of the reference's argmax token among the drifted logits (number strictly greater).

Writes golden/quant/drift/drift_ref.safetensors, drift_quant.safetensors, drift_expected.safetensors (+ MANIFEST.json).

    /usr/bin/python3 golden/quant/make_drift_golden.py
"""
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", ".."))
from golden.common import safetensors_io as st  # noqa: E402

SEED = 20261208


def main():
    g = torch.Generator().manual_seed(SEED)
    ref, q = {}, {}
    ref["llm.layer.0.output"] = torch.randn(7, 32, generator=g)
    q["llm.layer.0.output"] = ref["llm.layer.0.output"] + 0.01 * torch.randn(7, 32, generator=g)
    ref["llm.norm"] = torch.randn(7, 32, generator=g)
    q["llm.norm"] = ref["llm.norm"] * 1.001
    V = 1000
    r = torch.randn(9, V, generator=g) * 3
    d = r + 0.3 * torch.randn(9, V, generator=g)
    d[4] = r[4]  # identical row: KL 0, rank 0
    d[5, r[5].argmax()] -= 20  # the reference token pushed down: disagreement, a large rank
    ref["llm.logits"], q["llm.logits"] = r, d
    exp = {}
    for name in ref:
        a, b = q[name].double(), ref[name].double()
        exp[f"{name}.nmse"] = (((a - b) ** 2).sum() / (b ** 2).sum()).reshape(1)
        exp[f"{name}.max_abs"] = (a - b).abs().max().reshape(1)
    lr = torch.log_softmax(r.double(), dim=1)
    lq = torch.log_softmax(d.double(), dim=1)
    exp["kl"] = (lr.exp() * (lr - lq)).sum(dim=1)
    rt = r.argmax(dim=1)
    exp["top1"] = (rt == d.argmax(dim=1)).to(torch.uint8)
    exp["rank"] = (d > d.gather(1, rt[:, None])).sum(dim=1).to(torch.int64)
    exp["ref_token"] = rt.to(torch.int64)
    out = os.path.join(HERE, "drift")
    os.makedirs(out, exist_ok=True)
    md = st.provenance("golden/quant/make_drift_golden.py", SEED)
    st.save(os.path.join(out, "drift_ref.safetensors"), ref, md)
    st.save(os.path.join(out, "drift_quant.safetensors"), q, md)
    st.save(os.path.join(out, "drift_expected.safetensors"), {k: v.to(torch.float64) if v.is_floating_point() else v for k, v in exp.items()}, md)
    st.write_manifest(out, "golden/quant/make_drift_golden.py", SEED)
    print("kl", exp["kl"].tolist(), "top1", exp["top1"].tolist(), "rank", exp["rank"].tolist())


if __name__ == "__main__":
    main()
