"""Op goldens: every op of spec/ops.json evaluated by PyTorch on aligned and ragged shapes.

The math comes from golden/reference/modeling_ref.py (the plain-torch mirror of the upstream classes):
InternLM2RMSNorm, PLoRA, rotate_half/apply_rotary_pos_emb, repeat_kv and InternLM2Attention's eager
attention, CLIPVisionEmbeddings, CLIPAttention, CLIPVisionTower's merge; torch.nn.functional for
layer_norm, gelu, silu, softmax. Everything is float32 on CPU. Each op gets one file
golden/ops/data/<op>.safetensors holding, for case n, the inputs and outputs as `c<n>.<port>`, and in its
metadata `cases`: a JSON list of {"dims": {...}, "attrs": {...}, "note": ...}.

Run: /usr/bin/python3 golden/ops/make_op_goldens.py   (rewrites golden/ops/data/)
"""
import json
import math
import os
import sys

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from common import safetensors_io as st  # noqa: E402
from reference import modeling_ref as ref  # noqa: E402

SEED = 20261124
OUT = os.path.join(HERE, "data")
SCRIPT = "golden/ops/make_op_goldens.py"

g = torch.Generator().manual_seed(SEED)


def randn(*shape, scale=1.0, dtype=torch.float32):
    return (torch.randn(*shape, generator=g) * scale).to(dtype)


def bf16(t):
    return t.to(torch.bfloat16)


class OpFile:
    def __init__(self, op):
        self.op = op
        self.tensors = {}
        self.cases = []

    def add(self, dims, attrs=None, note="", **tensors):
        n = len(self.cases)
        for k, v in tensors.items():
            self.tensors[f"c{n}.{k}"] = v.contiguous()
        self.cases.append({"dims": dims, "attrs": attrs or {}, "note": note})

    def save(self):
        md = st.provenance(SCRIPT, SEED, op=self.op, cases=json.dumps(self.cases))
        st.save(os.path.join(OUT, f"{self.op}.safetensors"), self.tensors, md)
        return len(self.cases)


RAGGED = [1, 5, 7, 11, 13, 31, 32, 33]


def make_linear():
    f = OpFile("linear")
    for T, IN, OUT in [(1, 32, 32), (5, 31, 33), (7, 33, 31), (13, 64, 11), (3, 128, 96)]:
        for wdt in (torch.float32, torch.bfloat16, torch.float16):
            for with_bias in (False, True):
                x = randn(T, IN)
                w = randn(OUT, IN, scale=1 / math.sqrt(IN), dtype=wdt)
                b = randn(OUT, scale=0.1, dtype=wdt) if with_bias else None
                y = F.linear(x, w.float(), None if b is None else b.float())
                kw = dict(x=x, weight=w, y=y)
                if b is not None:
                    kw["bias"] = b
                f.add({"T": T, "IN": IN, "OUT": OUT}, note=f"weight {str(wdt)[6:]}{' + bias' if with_bias else ''}", **kw)
    return f.save()


def make_plora():
    f = OpFile("plora_linear")
    for T, IN, OUT, R in [(7, 32, 48, 8), (13, 33, 31, 16), (5, 64, 32, 256)]:
        for mask_kind in ("empty", "partial", "full"):
            for wdt in (torch.float32, torch.bfloat16):
                m = ref.PLoRA(IN, OUT, bias=False, lora_r=R, lora_alpha=R)
                with torch.no_grad():
                    m.weight.copy_(randn(OUT, IN, scale=1 / math.sqrt(IN), dtype=wdt).float())
                    m.Plora_A.weight.copy_(randn(R, IN, scale=1 / math.sqrt(IN), dtype=wdt).float())
                    m.Plora_B.weight.copy_(randn(OUT, R, scale=1 / math.sqrt(R), dtype=wdt).float())
                x = randn(T, IN)
                if mask_kind == "empty":
                    mask = torch.zeros(T, dtype=torch.bool)
                elif mask_kind == "full":
                    mask = torch.ones(T, dtype=torch.bool)
                else:
                    mask = torch.rand(T, generator=g) < 0.5
                    mask[1] = True
                    mask[0] = False
                with torch.no_grad():
                    y = m(x[None], mask[None])[0]
                f.add({"T": T, "IN": IN, "OUT": OUT, "R": R}, {"scale": 1.0}, note=f"mask {mask_kind}, weights {str(wdt)[6:]}",
                      x=x, weight=m.weight.detach().to(wdt), lora_a=m.Plora_A.weight.detach().to(wdt),
                      lora_b=m.Plora_B.weight.detach().to(wdt), im_mask=mask.to(torch.uint8), y=y)
    return f.save()


def make_norms():
    f = OpFile("rms_norm")
    for T, C in [(1, 32), (5, 31), (7, 33), (3, 4096)]:
        for wdt in (torch.float32, torch.bfloat16):
            m = ref.InternLM2RMSNorm(C, eps=1e-5)
            with torch.no_grad():
                m.weight.copy_((1 + randn(C, scale=0.1, dtype=wdt)).float())
            x = randn(T, C, scale=3.0)
            with torch.no_grad():
                y = m(x)
            f.add({"T": T, "C": C}, {"eps": 1e-5}, note=f"weight {str(wdt)[6:]}", x=x, weight=m.weight.detach().to(wdt), y=y)
    n = f.save()
    f = OpFile("layer_norm")
    for T, C in [(1, 32), (5, 31), (7, 33), (3, 1024)]:
        x = randn(T, C, scale=2.0) + 0.5
        w = 1 + randn(C, scale=0.1)
        b = randn(C, scale=0.1)
        y = F.layer_norm(x, (C,), w, b, 1e-5)
        f.add({"T": T, "C": C}, {"eps": 1e-5}, x=x, weight=w, bias=b, y=y)
    return n + f.save()


def make_elementwise():
    total = 0
    special = torch.tensor([0.0, -0.0, 1e-30, -1e-30, 20.0, -20.0, 88.0, -88.0, 100.0, -100.0])
    for op, fn in [("gelu", F.gelu), ("quick_gelu", ref.quick_gelu)]:
        f = OpFile(op)
        for n in RAGGED + [64]:
            x = randn(n, scale=3.0)
            f.add({"T": 1, "C": n}, x=x[None], y=fn(x)[None])
        f.add({"T": 1, "C": special.numel()}, note="special values", x=special[None], y=fn(special)[None])
        total += f.save()
    f = OpFile("silu_gate")
    for n in RAGGED + [64]:
        a, b = randn(n, scale=3.0), randn(n)
        f.add({"T": 1, "F": n}, a=a[None], b=b[None], y=(F.silu(a) * b)[None])
    f.add({"T": 1, "F": special.numel()}, note="special values", a=special[None], b=torch.ones(1, special.numel()),
          y=(F.silu(special) * torch.ones(special.numel()))[None])
    total += f.save()
    f = OpFile("add")
    for n in RAGGED:
        a, b = randn(3, n), randn(3, n)
        f.add({"T": 3, "C": n}, a=a, b=b, y=a + b)
    total += f.save()
    f = OpFile("softmax")
    for T, K in [(1, 1), (3, 5), (2, 31), (4, 33), (2, 1000)]:
        x = randn(T, K, scale=4.0)
        f.add({"T": T, "K": K}, x=x, y=F.softmax(x, dim=-1))
    x = torch.tensor([[1000.0, 1001.0, 999.0], [-1000.0, -1001.0, -999.0], [0.0, float("-inf"), 1.0]])
    f.add({"T": 3, "K": 3}, note="large magnitudes and a masked entry", x=x, y=F.softmax(x, dim=-1))
    total += f.save()
    return total


def make_rope():
    f = OpFile("rope")
    for HX, T, D in [(1, 1, 8), (4, 7, 16), (2, 13, 128), (3, 5, 64)]:
        x = randn(1, HX, T, D)
        pos = torch.randint(0, 40000, (1, T), generator=g)
        rot = ref.InternLM2RotaryEmbedding(D, max_position_embeddings=40000, base=1e6)
        cos, sin = rot(x, seq_len=40000)
        y, _ = ref.apply_rotary_pos_emb(x, x, cos, sin, pos)
        f.add({"HX": HX, "T": T, "D": D}, note="cos/sin gathered at random positions < 40000, theta 1e6",
              x=x[0], cos=cos[pos[0]], sin=sin[pos[0]], y=y[0])
    return f.save()


def qkv_split(qkv, H, HKV, D):
    """The upstream view of wqkv's output (InternLM2Attention.forward), for [T, (H+2HKV)D]."""
    T = qkv.shape[0]
    G = H // HKV
    v5 = qkv.reshape(1, T, HKV, G + 2, D)
    q = v5[..., :G, :].reshape(1, T, H, D).transpose(1, 2)
    k = v5[..., -2, :].transpose(1, 2)
    v = v5[..., -1, :].transpose(1, 2)
    return q, k, v


def make_attention():
    f_split = OpFile("split_qkv")
    f_sdpa = OpFile("sdpa")
    f_att = OpFile("attention")
    f_cached = OpFile("attention_cached")
    for H, HKV, D, T, TP in [(4, 2, 8, 5, 0), (4, 1, 16, 7, 13), (8, 2, 32, 1, 33), (6, 3, 8, 11, 0), (2, 2, 64, 1, 31)]:
        qkv = randn(T, (H + 2 * HKV) * D)
        q, k, v = qkv_split(qkv, H, HKV, D)
        f_split.add({"T": T, "H": H, "HKV": HKV, "D": D}, {"heads": H, "kv_heads": HKV, "head_dim": D},
                    qkv=qkv, q=q[0], k=k[0], v=v[0])
        # attention with a KV cache: positions TP .. TP+T-1, cos/sin from the rotary module
        rot = ref.InternLM2RotaryEmbedding(D, max_position_embeddings=64, base=1e6)
        cos, sin = rot(v, seq_len=TP + T)
        pos = torch.arange(TP, TP + T)[None]
        qr, kr = ref.apply_rotary_pos_emb(q, k, cos, sin, pos)
        k_past = randn(1, HKV, TP, D)
        v_past = randn(1, HKV, TP, D)
        k_all = torch.cat([k_past, kr], dim=2)
        v_all = torch.cat([v_past, v], dim=2)
        G = H // HKV
        kk = ref.repeat_kv(k_all, G)
        vv = ref.repeat_kv(v_all, G)
        scores = torch.matmul(qr, kk.transpose(2, 3)) / math.sqrt(D)
        mask = ref._make_causal_mask((1, T), torch.float32, "cpu", past_key_values_length=TP)
        probs = F.softmax(scores + mask, dim=-1, dtype=torch.float32)
        out = torch.matmul(probs, vv).transpose(1, 2).reshape(T, H * D)
        f_att.add({"T": T, "H": H, "HKV": HKV, "D": D, "TP": TP}, {"heads": H, "kv_heads": HKV, "head_dim": D},
                  note="prefill" if TP == 0 else "decode/extend against a KV cache",
                  qkv=qkv, cos=cos[pos[0]], sin=sin[pos[0]], k_past=k_past[0], v_past=v_past[0],
                  y=out, k_new=kr[0], v_new=v[0])
        # the same pass against a KV cache object: its contents before ("cache.k"/"cache.v" = the past)
        # and after ("cache.k_after"/"cache.v_after" = past followed by this pass's rotated keys / values)
        f_cached.add({"T": T, "H": H, "HKV": HKV, "D": D, "TP": TP}, {"heads": H, "kv_heads": HKV, "head_dim": D},
                     note="a KV cache is given as its contents [HKV, TP, D] before the call",
                     qkv=qkv, cos=cos[pos[0]], sin=sin[pos[0]], **{"cache.k": k_past[0], "cache.v": v_past[0],
                     "cache.k_after": k_all[0], "cache.v_after": v_all[0]}, y=out)
        f_sdpa.add({"H": H, "HKV": HKV, "TQ": T, "TK": TP + T, "D": D},
                   {"scale": 1 / math.sqrt(D), "causal": True, "scale_q": False},
                   q=qr[0], k=k_all[0], v=v_all[0], y=out)
    # non-causal with q scaling (CLIP style), through sdpa
    for H, TQ, D in [(2, 9, 8), (4, 33, 16)]:
        q, k, v = randn(1, H, TQ, D), randn(1, H, TQ, D), randn(1, H, TQ, D)
        s = D ** -0.5
        probs = F.softmax(torch.matmul(q * s, k.transpose(2, 3)), dim=-1)
        out = torch.matmul(probs, v).transpose(1, 2).reshape(TQ, H * D)
        f_sdpa.add({"H": H, "HKV": H, "TQ": TQ, "TK": TQ, "D": D}, {"scale": s, "causal": False, "scale_q": True},
                   q=q[0], k=k[0], v=v[0], y=out)
    return f_split.save() + f_sdpa.save() + f_att.save() + f_cached.save()


def make_mha():
    f = OpFile("mha")
    for N, T, C, heads in [(1, 5, 16, 2), (2, 33, 64, 4), (3, 17, 48, 3)]:
        vc = ref.VisionConfig(hidden_size=C, num_attention_heads=heads)
        m = ref.CLIPAttention(vc)
        x = randn(N, T, C)
        with torch.no_grad():
            q = m.q_proj(x)
            k = m.k_proj(x)
            v = m.v_proj(x)
            # CLIPAttention.forward up to (excluding) out_proj
            bsz = N
            qs = m._shape(q * m.scale, T, bsz).view(bsz * heads, -1, C // heads)
            ks = m._shape(k, -1, bsz).view(bsz * heads, -1, C // heads)
            vs = m._shape(v, -1, bsz).view(bsz * heads, -1, C // heads)
            p = F.softmax(torch.bmm(qs, ks.transpose(1, 2)), dim=-1)
            o = torch.bmm(p, vs).view(bsz, heads, T, C // heads).transpose(1, 2).reshape(bsz, T, C)
        f.add({"N": N, "T": T, "C": C}, {"heads": heads, "scale": m.scale}, q=q, k=k, v=v, y=o)
    return f.save()


def make_vision():
    f = OpFile("clip_embed")
    for N, CV, S, PZ in [(1, 16, 56, 14), (2, 8, 28, 14), (1, 4, 140, 14)]:
        vc = ref.VisionConfig(hidden_size=CV, image_size=S, patch_size=PZ)
        m = ref.CLIPVisionEmbeddings(vc)
        with torch.no_grad():
            m.class_embedding.copy_(randn(CV))
            m.patch_embedding.weight.copy_(randn(CV, 3, PZ, PZ, scale=1 / math.sqrt(3 * PZ * PZ), dtype=torch.bfloat16).float())
            m.position_embedding.weight.copy_(randn((S // PZ) ** 2 + 1, CV, scale=0.1))
        px = randn(N, 3, S, S)
        with torch.no_grad():
            y = m(px)
        f.add({"N": N, "S": S, "CV": CV, "PZ": PZ}, {"patch": PZ}, pixels=px, patch_weight=m.patch_embedding.weight.detach().to(torch.bfloat16),
              class_embedding=m.class_embedding.detach(), position_embedding=m.position_embedding.weight.detach(), y=y)
    n = f.save()
    f = OpFile("merge_gn")
    for rows, cols, CV in [(1, 1, 4), (2, 3, 2), (3, 1, 3)]:
        N = 1 + rows * cols
        feats = randn(N, 1600, CV)
        sub = randn(1, 1, 1, 4 * CV)
        glb = randn(1, 1, 4 * CV)
        y = _merge(feats, sub, glb, rows, cols)
        f.add({"N": N, "P": 1600, "CV": CV}, {"rows": rows, "cols": cols, "grid": 40}, features=feats, sub_gn=sub.reshape(-1),
              glb_gn=glb.reshape(-1), y=y)
    n += f.save()
    f = OpFile("drop_first")
    for N, T, C in [(1, 2, 3), (3, 1601, 4)]:
        x = randn(N, T, C)
        f.add({"N": N, "T": T, "C": C}, x=x, y=x[:, 1:])
    n += f.save()
    f = OpFile("embedding")
    for V, C, T in [(11, 8, 5), (92544, 2, 7)]:
        table = randn(V, C, dtype=torch.bfloat16)
        ids = torch.randint(0, V, (T,), generator=g)
        ids[0] = V - 1
        f.add({"V": V, "C": C, "T": T}, ids=ids, table=table, y=F.embedding(ids, table.float()))
    n += f.save()
    return n


def _merge(features, sub_GN, glb_GN, h, w):
    """Same reshapes as build_mlp.py CLIPVisionTower.forward (written out for one image)."""
    _, N, C = features.shape
    H = int(math.sqrt(N))
    glb = features[:1].reshape(1, H, H, C).reshape(1, H // 2, 2, H // 2, 2, C).permute(0, 1, 3, 2, 4, 5).reshape(1, H // 2, H // 2, 4 * C)
    glb = torch.cat([glb, sub_GN.repeat(1, H // 2, 1, 1)], dim=2).reshape(1, -1, 4 * C)
    B = h * w
    sub = features[1:1 + B].reshape(B, H, H, C).reshape(B, H // 2, 2, H // 2, 2, C).permute(0, 1, 3, 2, 4, 5).reshape(B, -1, 4 * C)
    sub = sub.reshape(1, h, w, 20, 20, -1).permute(0, 1, 3, 2, 4, 5).reshape(1, h * 20, w * 20, 4 * C)
    sub = torch.cat([sub, sub_GN.repeat(1, h * 20, 1, 1)], dim=2).reshape(1, -1, 4 * C)
    return torch.cat([glb, glb_GN, sub], dim=1)[0]


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    torch.set_num_threads(1)
    torch.manual_seed(SEED)  # modules built with default initialization (CLIPAttention in make_mha) draw from the global RNG
    counts = {}
    for fn in (make_linear, make_plora, make_norms, make_elementwise, make_rope, make_attention, make_mha, make_vision):
        counts[fn.__name__] = fn()
    st.write_manifest(OUT, SCRIPT, SEED)
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
