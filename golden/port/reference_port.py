#!/usr/bin/env python3
"""The PyTorch reference port of the conformance kit's port protocol (spec/port.json, version 1).

Speaks the protocol on stdin/stdout: one JSON object per line in each direction (UTF-8, flushed after
every line); logs go to stderr. Every surface is computed by the plain-torch reference of
golden/reference/ (modeling_ref.py, tokenizer_ref.py, ixc_utils_ref.py) and golden/common/safetensors_io.py,
in float32 on CPU; nothing of the C# engine is imported or called.

    /usr/bin/python3 golden/port/reference_port.py [--mutant NAME]

Responses: 'ok' with the surface's fields; 'refused' when the reference computation itself raises
for the input (upstream refuses it: e.g. an image whose resized side rounds to 0, a head_dim that does
not divide, an id outside the table); 'error' when the request is bad or the port fails (missing field,
missing input file, unknown op, ...).

--mutant NAME injects one realistic porting bug into exactly one surface (for checking that the kit
catches it); see MUTANTS below and golden/port/README.md.
"""
import argparse
import contextlib
import json
import math
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
GOLDEN = os.path.dirname(HERE)
ROOT = os.path.dirname(GOLDEN)
sys.path.insert(0, ROOT)    # modeling_ref imports golden.common.safetensors_io when it loads a checkpoint
sys.path.insert(0, GOLDEN)  # reference.*, common.*

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

from common import safetensors_io as st  # noqa: E402
from reference import ixc_utils_ref as U  # noqa: E402  (the module modeling_ref's encode_img imports too)
from reference import modeling_ref as ref  # noqa: E402
from reference import tokenizer_ref  # noqa: E402

NAME = "pytorch-reference"
VERSION = "1"
PROTOCOL = "ixc25-port"
PROTOCOL_VERSION = 1
SURFACES = ["tokenize", "prompt", "partition", "rope", "op", "layer", "model"]
TOKENIZER_MODEL = os.path.join(GOLDEN, "tokenizer", "tokenizer.model")
OPS_SPEC = os.path.join(ROOT, "spec", "ops.json")

#: mutant name -> the one surface it changes (each a single, deliberate porting bug).
MUTANTS = {
    "ntk-per-call": "rope",              # dynamic NTK base from each call's length (no HF stateful cache)
    "rotate-half-swapped": "layer",      # rotate_half = cat(x[D/2:], -x[:D/2])
    "plora-every-token": "layer",        # Partial LoRA applied on every token (im_mask ignored)
    "bicubic-hd-resize": "partition",    # HD resize bicubic instead of bilinear (global view unchanged)
    "hd-grid-off-by-one": "partition",   # hd_scale without the final `scale -= 1`
    "rmsnorm-eps-outside-sqrt": "op",    # rms_norm: x / (sqrt(mean(x^2)) + eps)
    "no-byte-fallback": "tokenize",      # unknown characters -> <unk> instead of byte pieces
    "wqkv-gqa-order": "layer",           # wqkv output read as [all q | all k | all v]
    "vit-merge-transposed": "model",     # 2x2 merge cell order (2i,2j),(2i+1,2j),(2i,2j+1),(2i+1,2j+1)
}

MUTANT = None

torch.set_grad_enabled(False)


def log(*a):
    print("[reference_port]", *a, file=sys.stderr, flush=True)


class PortError(Exception):
    """A bad request or a failure of the port itself -> status 'error'."""


class Refused(Exception):
    """The reference computation refuses the input -> status 'refused'."""


@contextlib.contextmanager
def reference_call():
    """Runs the reference computation: any exception it raises is the reference refusing the input."""
    try:
        yield
    except (PortError, Refused):
        raise
    except Exception as e:  # noqa: BLE001 - the reference's own refusal, whatever its type
        log("reference refused:", "".join(traceback.format_exception_only(type(e), e)).strip())
        raise Refused(f"{type(e).__name__}: {e}") from e


@contextlib.contextmanager
def patched(obj, name, value, active=True):
    """Temporarily sets obj.name = value (when active)."""
    if not active:
        yield
        return
    old = getattr(obj, name)
    setattr(obj, name, value)
    try:
        yield
    finally:
        setattr(obj, name, old)


# ----------------------------------------------------------------------------------------------
# request helpers
# ----------------------------------------------------------------------------------------------

def field(req, name, kinds, optional=False, default=None):
    """req[name], checked against the JSON kinds (python types); a missing/invalid field is a port error."""
    if name not in req or req[name] is None:
        if optional:
            return default
        raise PortError(f"request lacks field '{name}'")
    v = req[name]
    if bool in kinds and isinstance(v, bool):
        return v
    if isinstance(v, bool) or not isinstance(v, kinds):
        raise PortError(f"field '{name}': expected {'/'.join(k.__name__ for k in kinds)}, got {type(v).__name__}")
    return v


def work_path(req, name):
    work = field(req, "work", (str,))
    if not os.path.isdir(work):
        raise PortError(f"work folder {work!r} does not exist")
    return os.path.join(work, name)


def input_file(req, name):
    p = work_path(req, name)
    if not os.path.isfile(p):
        raise PortError(f"input file {p!r} not found")
    return p


def load_inputs(req, key="inputs"):
    path = input_file(req, field(req, key, (str,)))
    try:
        tensors, _ = st.load(path)
    except Exception as e:  # noqa: BLE001
        raise PortError(f"{path}: not a readable safetensors file ({e})") from e
    return tensors


def save_outputs(req, tensors):
    path = work_path(req, field(req, "out", (str,)))
    tmp = path + ".tmp"
    _save_safetensors(tmp, tensors, {"port": NAME, "mutant": MUTANT or "none"})
    os.replace(tmp, path)


def _save_safetensors(path, tensors, metadata):
    """golden/common/safetensors_io.save's format, written without copying each tensor into a bytes
    object first (the model surface writes [T, V] logits)."""
    header, arrays, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        a = (t.view(torch.int16) if t.dtype == torch.bfloat16 else t).numpy()
        header[name] = {"dtype": st._TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + a.nbytes]}
        arrays.append(a)
        offset += a.nbytes
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for a in arrays:
            f.write(memoryview(a.reshape(-1)).cast("B") if a.size else b"")


def f32(t):
    """A float input widened to float32 (bf16/f16 exactly)."""
    if not t.is_floating_point():
        raise PortError(f"expected a floating tensor, got {t.dtype}")
    return t.to(torch.float32)


_TOKENIZERS = {}


def tokenizer(path=TOKENIZER_MODEL):
    if path not in _TOKENIZERS:
        _TOKENIZERS[path] = tokenizer_ref.InternLM2TokenizerRef(path)
    return _TOKENIZERS[path]


# ----------------------------------------------------------------------------------------------
# surfaces
# ----------------------------------------------------------------------------------------------

def surface_tokenize(req):
    text = field(req, "text", (str,))
    add_bos = field(req, "add_bos", (bool,))
    tok = tokenizer()
    with reference_call():
        ids = tok.encode(text, add_special_tokens=add_bos)
    if MUTANT == "no-byte-fallback":  # every run of byte-fallback pieces becomes one <unk> (0)
        is_byte = [tok.sp_model.IsByte(i) for i in ids]
        ids = [0 if b else i for k, (i, b) in enumerate(zip(ids, is_byte)) if not (b and k > 0 and is_byte[k - 1])]
    return {"ids": [int(i) for i in ids]}


def _image_request(req, image):
    if not isinstance(image, dict) or not isinstance(image.get("path"), str):
        raise PortError("images: each entry must be {\"path\": ..., \"width\": W, \"height\": H}")
    return work_path(req, image["path"])


def _hd_image(path, image, hd_num):
    """Image_transform of the image (from the file; from a blank image of the given size when the file
    is absent: the layout depends on the size only)."""
    if os.path.isfile(path):
        pil = U.load_image(path)
    else:
        w, h = image.get("width"), image.get("height")
        if not isinstance(w, int) or not isinstance(h, int) or isinstance(w, bool) or isinstance(h, bool):
            raise PortError(f"image {path!r} not found and no integer width/height given")
        if w <= 0 or h <= 0:
            raise Refused(f"image size {w}x{h}")
        pil = Image.new("RGB", (w, h), (255, 255, 255))
    return U.Image_transform(pil, hd_num=hd_num)


class _PromptOnly:
    """Stands in for the model in InternLMXComposer2ForCausalLM.interleav_wrap_chat: text embeddings and
    image encodings are zero tensors of the right length (only the layout is wanted); records where each
    image's tokens go."""

    def __init__(self, images):
        self.images = images
        self.max_length = 16384
        self.pos = 0
        self.spans = []

    def _embed_ids(self, ids):
        self.pos += len(ids)
        return torch.zeros(1, len(ids), 1)

    def encode_img(self, image, hd_num=25, trace=None, trace_index=0):
        path, spec = image
        hd = _hd_image(path, spec, hd_num)
        w, h = hd.size
        n = U.token_count(h // U.CROP, w // U.CROP)
        self.spans.append([self.pos, n])
        self.pos += n
        return torch.zeros(1, n, 1)


def surface_prompt(req):
    query = field(req, "query", (str,))
    images = field(req, "images", (list,), optional=True, default=[])
    history = field(req, "history", (list,), optional=True, default=[])
    meta = field(req, "meta", (str,), optional=True, default=None)
    hd_num = field(req, "hd_num", (int,))
    for turn in history:
        if not isinstance(turn, list) or len(turn) != 2 or not all(isinstance(s, str) for s in turn):
            raise PortError("history: expected [[question, answer], ...] of strings")
    imgs = [(_image_request(req, im), im) for im in images]
    fake = _PromptOnly(imgs)
    trace = {}
    with reference_call():
        ref.InternLMXComposer2ForCausalLM.interleav_wrap_chat(
            fake, query, imgs, history=[tuple(t) for t in history], meta_instruction=meta or "",
            hd_num=hd_num, tokenizer=tokenizer(), trace=trace)
    ids = trace["prompt.input_ids"].tolist()
    spans = [[s, min(n, len(ids) - s)] for s, n in fake.spans if s < len(ids)]
    return {"ids": [int(i) for i in ids], "image_spans": spans}


class _BicubicTF:
    """torchvision.transforms.functional with a bicubic resize (the bicubic-hd-resize mutant)."""

    import torchvision.transforms.functional as TF

    def __getattr__(self, name):
        return getattr(self.TF, name)

    def resize(self, img, size, *a, **kw):
        return self.TF.resize(img, size, interpolation=self.TF.InterpolationMode.BICUBIC)


def _hd_scale_off_by_one(width, height, hd_num):
    """hd_scale without the `scale -= 1` after the loop (the hd-grid-off-by-one mutant)."""
    ratio, scale = width / height, 1
    while scale * np.ceil(scale / ratio) <= hd_num:
        scale += 1
    return min(np.ceil(width / U.CROP), scale)


def surface_partition(req):
    path = input_file(req, field(req, "image", (str,)))
    hd_num = field(req, "hd_num", (int,))
    with reference_call(), \
            patched(U, "TF", _BicubicTF(), MUTANT == "bicubic-hd-resize"), \
            patched(U, "hd_scale", _hd_scale_off_by_one, MUTANT == "hd-grid-off-by-one"):
        hd, pv, gv = U.preprocess(U.load_image(path), hd_num)
    arr = torch.from_numpy(np.asarray(hd, dtype=np.uint8).copy())
    H, W = arr.shape[:2]
    save_outputs(req, {"hd_image": arr, "pixel_values": pv.to(torch.float32), "global_view": gv.to(torch.float32),
                       "grid": torch.tensor([H // U.CROP, W // U.CROP], dtype=torch.int64)})
    return {}


def _rotary(head_dim, theta, max_pos, scaling, factor, stateless=False):
    """The rotary module InternLM2Attention._init_rope builds for this configuration."""
    kw = dict(max_position_embeddings=max_pos, base=theta)
    if scaling == "none":
        return ref.InternLM2RotaryEmbedding(head_dim, **kw)
    # InternLMXcomposer2Config._rope_scaling_validation (upstream builds scaled modules from a validated config)
    ref.IXCConfig(rope_scaling={"type": scaling, "factor": factor})
    if scaling == "linear":
        return ref.InternLM2LinearScalingRotaryEmbedding(head_dim, scaling_factor=factor, **kw)
    return ref.InternLM2DynamicNTKScalingRotaryEmbedding(head_dim, scaling_factor=factor, stateless=stateless, **kw)


def surface_rope(req):
    D = field(req, "head_dim", (int,))
    theta = float(field(req, "theta", (int, float)))
    max_pos = field(req, "max_position_embeddings", (int,))
    scaling = field(req, "scaling", (str,))
    factor = float(field(req, "factor", (int, float), optional=True, default=1.0))
    calls = field(req, "calls", (list,))
    positions = field(req, "positions", (list,))
    if scaling not in ("none", "linear", "dynamic"):
        raise PortError(f"scaling {scaling!r}: expected none, linear or dynamic")
    if not all(isinstance(x, int) and not isinstance(x, bool) for x in calls + positions):
        raise PortError("calls and positions must be integers")
    if any(p < 0 for p in positions) or any(L < 0 for L in calls):
        raise PortError("calls and positions must be >= 0")
    if D <= 0 or D % 2:
        # upstream builds cat(freqs, freqs) with 2 * ceil(D / 2) columns and apply_rotary_pos_emb fails on them
        raise Refused(f"head_dim {D}: rotary tables need an even, positive head_dim (upstream's cos/sin would "
                      f"have {2 * ((D + 1) // 2)} columns)")
    tensors = {}
    with reference_call():
        m = _rotary(D, theta, max_pos, scaling, factor, stateless=MUTANT == "ntk-per-call")
        x = torch.zeros(1, 1, 1, D)
        for k, L in enumerate(calls):
            cos, sin = m(x, seq_len=L)
            pos = [p for p in positions if p < L]
            tensors[f"call{k}.cos"] = cos[pos].to(torch.float32)
            tensors[f"call{k}.sin"] = sin[pos].to(torch.float32)
    save_outputs(req, tensors)
    return {}


# ---- ops ---------------------------------------------------------------------------------------

_OPS = None


def ops_spec():
    global _OPS
    if _OPS is None:
        with open(OPS_SPEC, "r", encoding="utf-8") as f:
            _OPS = {op["name"]: op for op in json.load(f)["ops"]}
    return _OPS


def _attn_core(q, k, v, scale, causal, scale_q, upstream_div=None):
    """Grouped-KV attention as InternLM2Attention (eager) / CLIPAttention compute it. q [H, TQ, D], k, v
    [HKV, TK, D] -> [TQ, H * D]. upstream_div: divide the scores by it (InternLM2's / sqrt(D))."""
    H, TQ, D = q.shape
    HKV, TK, _ = k.shape
    if H % HKV:
        raise ValueError(f"heads {H} not a multiple of kv heads {HKV}")
    kk = ref.repeat_kv(k[None], H // HKV)
    vv = ref.repeat_kv(v[None], H // HKV)
    q = q[None]
    if scale_q:
        w = torch.matmul(q * scale, kk.transpose(2, 3))
    elif upstream_div is not None:
        w = torch.matmul(q, kk.transpose(2, 3)) / upstream_div
    else:
        w = torch.matmul(q, kk.transpose(2, 3)) * scale
    if causal and TQ > 1:
        if TK < TQ:
            raise ValueError(f"causal attention with {TQ} queries and only {TK} keys")
        w = w + ref._make_causal_mask((1, TQ), torch.float32, "cpu", past_key_values_length=TK - TQ)
    p = F.softmax(w, dim=-1, dtype=torch.float32)
    return torch.matmul(p, vv)[0].transpose(0, 1).reshape(TQ, H * D)


def _split_qkv(qkv, H, HKV, D):
    """InternLM2Attention.forward's view of wqkv's output [T, (H + 2 HKV) D] -> q [H,T,D], k, v [HKV,T,D]."""
    T = qkv.shape[0]
    if H % HKV or qkv.shape[1] != (H + 2 * HKV) * D:
        raise ValueError(f"qkv width {qkv.shape[1]} is not (heads {H} + 2 * kv_heads {HKV}) * head_dim {D} "
                         f"with heads a multiple of kv_heads")
    gs = 2 + H // HKV
    s = qkv.reshape(1, T, -1, gs, D)
    q = s[..., : H // HKV, :].reshape(1, T, -1, D).transpose(1, 2)
    k = s[..., -2, :].transpose(1, 2)
    v = s[..., -1, :].transpose(1, 2)
    return q[0], k[0], v[0]


def _attention(t, a, k_past, v_past):
    H, HKV, D = a["heads"], a["kv_heads"], a["head_dim"]
    q, k, v = _split_qkv(f32(t["qkv"]), H, HKV, D)
    T = q.shape[1]
    qr, kr = ref.apply_rotary_pos_emb(q[None], k[None], f32(t["cos"]), f32(t["sin"]), torch.arange(T)[None])
    qr, kr = qr[0], kr[0]
    k_all = kr if k_past is None else torch.cat([f32(k_past), kr], dim=1)
    v_all = v if v_past is None else torch.cat([f32(v_past), v], dim=1)
    y = _attn_core(qr, k_all, v_all, 1 / math.sqrt(D), True, False, upstream_div=math.sqrt(D))
    return y, kr, v, k_all, v_all


def _merge_gn(features, sub_gn, glb_gn, h, w, G):
    """CLIPVisionTower.forward's token layout for one image (modeling_ref, build_mlp.py), grid G."""
    _, _, C = features.shape
    half = G // 2
    sub_GN = sub_gn.reshape(1, 1, 1, -1)
    glb_GN = glb_gn.reshape(1, 1, -1)
    B_ = h * w
    glb_img = features[:1].reshape(1, G, G, C).reshape(1, half, 2, half, 2, C).contiguous() \
        .permute(0, 1, 3, 2, 4, 5).reshape(1, half, half, 4 * C).contiguous()
    glb_img = torch.cat([glb_img, sub_GN.repeat(1, half, 1, 1)], dim=2).reshape(1, -1, 4 * C)
    sub_img = features[1:1 + B_].reshape(B_, G, G, C).reshape(B_, half, 2, half, 2, C).contiguous() \
        .permute(0, 1, 3, 2, 4, 5).reshape(B_, -1, 4 * C).contiguous()
    sub_img = sub_img.reshape(1, h, w, half, half, -1).permute(0, 1, 3, 2, 4, 5).reshape(1, h * half, w * half, 4 * C)
    sub_img = torch.cat([sub_img, sub_GN.repeat(1, h * half, 1, 1)], dim=2).reshape(1, -1, 4 * C)
    return torch.cat([glb_img, glb_GN, sub_img], dim=1)[0]


def _op_eval(name, t, a):
    """One op of spec/ops.json in float32 torch. t: inputs by port name, a: attrs (defaults filled)."""
    if name == "embedding":
        return {"y": F.embedding(t["ids"].to(torch.int64), f32(t["table"]))}
    if name == "linear":
        b = t.get("bias")
        return {"y": F.linear(f32(t["x"]), f32(t["weight"]), None if b is None else f32(b))}
    if name == "plora_linear":
        w, A, B = f32(t["weight"]), f32(t["lora_a"]), f32(t["lora_b"])
        m = torch.nn.utils.skip_init(ref.PLoRA, w.shape[1], w.shape[0], bias=False, lora_r=A.shape[0],
                                     lora_alpha=A.shape[0])
        m.lora_scaling = float(a["scale"])
        m.load_state_dict({"weight": w, "Plora_A.weight": A, "Plora_B.weight": B})
        return {"y": m(f32(t["x"])[None], t["im_mask"].to(torch.bool)[None])[0]}
    if name == "rms_norm":
        x, w = f32(t["x"]), f32(t["weight"])
        if MUTANT == "rmsnorm-eps-outside-sqrt":
            return {"y": w * (x / (torch.sqrt(x.pow(2).mean(-1, keepdim=True)) + a["eps"]))}
        m = ref.InternLM2RMSNorm(w.shape[0], eps=a["eps"])
        m.weight.copy_(w)
        return {"y": m(x)}
    if name == "layer_norm":
        x = f32(t["x"])
        return {"y": F.layer_norm(x, (x.shape[-1],), f32(t["weight"]), f32(t["bias"]), a["eps"])}
    if name == "gelu":
        return {"y": torch.nn.GELU()(f32(t["x"]))}
    if name == "quick_gelu":
        return {"y": ref.quick_gelu(f32(t["x"]))}
    if name == "silu_gate":
        return {"y": F.silu(f32(t["a"])) * f32(t["b"])}
    if name == "add":
        return {"y": f32(t["a"]) + f32(t["b"])}
    if name == "softmax":
        return {"y": F.softmax(f32(t["x"]), dim=-1)}
    if name == "rope":
        x, cos, sin = f32(t["x"]), f32(t["cos"]), f32(t["sin"])
        return {"y": x * cos + ref.rotate_half(x) * sin}
    if name == "split_qkv":
        q, k, v = _split_qkv(f32(t["qkv"]), a["heads"], a["kv_heads"], a["head_dim"])
        return {"q": q, "k": k, "v": v}
    if name == "sdpa":
        q, k, v = f32(t["q"]), f32(t["k"]), f32(t["v"])
        scale = float(a["scale"])
        D = q.shape[-1]
        div = math.sqrt(D) if scale == 1 / math.sqrt(D) else None  # InternLM2 writes / sqrt(D)
        return {"y": _attn_core(q, k, v, scale, bool(a["causal"]), bool(a["scale_q"]), upstream_div=div)}
    if name == "attention":
        y, kr, v, _, _ = _attention(t, a, t.get("k_past"), t.get("v_past"))
        return {"y": y, "k_new": kr, "v_new": v}
    if name == "attention_cached":
        y, _, _, k_all, v_all = _attention(t, a, t["cache.k"], t["cache.v"])
        return {"y": y, "cache.k_after": k_all, "cache.v_after": v_all}
    if name == "mha":
        q, k, v = f32(t["q"]), f32(t["k"]), f32(t["v"])
        N, T, C = q.shape
        heads = int(a["heads"])
        if C % heads:
            raise ValueError(f"C {C} not divisible by heads {heads}")
        hd = C // heads

        def shape(x):  # CLIPAttention._shape + view(bsz * heads, -1, head_dim)
            return x.reshape(N, -1, heads, hd).transpose(1, 2).contiguous().view(N * heads, -1, hd)
        w = torch.bmm(shape(q * float(a["scale"])), shape(k).transpose(1, 2))
        o = torch.bmm(F.softmax(w, dim=-1), shape(v))
        return {"y": o.view(N, heads, T, hd).transpose(1, 2).reshape(N, T, C)}
    if name == "clip_embed":
        px, pw = f32(t["pixels"]), f32(t["patch_weight"])
        PZ = int(a["patch"])
        if tuple(pw.shape[1:]) != (3, PZ, PZ):
            raise ValueError(f"patch_weight {list(pw.shape)} does not match patch {PZ}")
        vc = ref.VisionConfig(hidden_size=pw.shape[0], image_size=px.shape[-1], patch_size=PZ)
        m = ref.CLIPVisionEmbeddings(vc)
        m.class_embedding.copy_(f32(t["class_embedding"]))
        m.patch_embedding.weight.copy_(pw)
        m.position_embedding.weight.copy_(f32(t["position_embedding"]))
        return {"y": m(px)}
    if name == "merge_gn":
        return {"y": _merge_gn(f32(t["features"]), f32(t["sub_gn"]), f32(t["glb_gn"]), int(a["rows"]),
                               int(a["cols"]), int(a["grid"]))}
    if name == "drop_first":
        return {"y": f32(t["x"])[:, 1:]}
    raise PortError(f"op '{name}' is in spec/ops.json but this port has no evaluation for it")


def surface_op(req):
    name = field(req, "op", (str,))
    attrs = field(req, "attrs", (dict,), optional=True, default={})
    spec = ops_spec().get(name)
    if spec is None:
        raise PortError(f"unknown op '{name}' (not in spec/ops.json)")
    a = {}
    for at in spec.get("attrs", []):
        if at["name"] in attrs:
            a[at["name"]] = attrs[at["name"]]
        elif "default" in at:
            a[at["name"]] = at["default"]
        else:
            raise PortError(f"op '{name}': attr '{at['name']}' not given and has no default")
    unknown = set(attrs) - {at["name"] for at in spec.get("attrs", [])}
    if unknown:
        raise PortError(f"op '{name}': unknown attrs {sorted(unknown)}")
    t = load_inputs(req)
    for p in spec["inputs"]:
        names = [p["name"] + ".k", p["name"] + ".v"] if p.get("dtype") == "kv" else [p["name"]]
        for n in names:
            if n not in t and not p.get("optional"):
                raise PortError(f"op '{name}': input '{n}' missing from {req['inputs']}")
    with reference_call():
        out = _op_eval(name, t, a)
    save_outputs(req, {k: v.to(torch.float32) for k, v in out.items()})
    return {}


# ---- layer -------------------------------------------------------------------------------------

def _gqa_blocks_perm(H, HKV):
    """wqkv-gqa-order mutant: the interleaved slot (g, j) is filled from block j' of a
    [all q | all k | all v] reading of the same output."""
    G = H // HKV
    return [b for g in range(HKV) for b in [g * G + j for j in range(G)] + [H + g, H + HKV + g]]


def _rotate_half_swapped(x):
    half = x.shape[-1] // 2
    return torch.cat((x[..., half:], -x[..., :half]), dim=-1)


def surface_layer(req):
    cfg = field(req, "config", (dict,))
    keys = ["hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "rms_norm_eps",
            "rope_theta"]
    for k in keys:
        field(cfg, k, (int, float))
    t = load_inputs(req)
    for k in ("x", "im_mask", "position_ids", "attention.wqkv.weight", "attention.wqkv.Plora_A.weight"):
        if k not in t:
            raise PortError(f"layer inputs lack '{k}'")
    x = f32(t.pop("x"))
    im_mask = t.pop("im_mask").to(torch.bool)
    position_ids = t.pop("position_ids").to(torch.int64)
    state = {k: f32(v) for k, v in t.items()}
    with reference_call():
        if x.dim() != 2:
            raise ValueError(f"x must be [T, C], got {list(x.shape)}")
        T = x.shape[0]
        config = ref.IXCConfig(vocab_size=1, hidden_size=int(cfg["hidden_size"]),
                               intermediate_size=int(cfg["intermediate_size"]), num_hidden_layers=1,
                               num_attention_heads=int(cfg["num_attention_heads"]),
                               num_key_value_heads=int(cfg["num_key_value_heads"]),
                               rms_norm_eps=float(cfg["rms_norm_eps"]), rope_theta=float(cfg["rope_theta"]),
                               rope_scaling=None, bias=False, attn_implementation="eager",
                               max_position_embeddings=max(T, int(position_ids.max()) + 1 if T else 1, 1))
        rank = state["attention.wqkv.Plora_A.weight"].shape[0]
        # the Partial LoRA rank comes from the weights (upstream hard-codes r = alpha = 256: scale 1)
        with patched(ref, "PLORA_RANK", rank), patched(ref, "PLORA_ALPHA", rank):
            layer = torch.nn.utils.skip_init(ref.InternLM2DecoderLayer, config, 0)
            layer.attention._init_rope(None, None, False)  # skip_init leaves the rotary tables empty
        # upstream slices the (unscaled) table to the pass's length T, so position ids >= T would fail with an
        # IndexError there; the rows do not depend on that length, so serve every position asked for
        rot, need = layer.attention.rotary_emb, config.max_position_embeddings
        rot_forward = rot.forward
        rot.forward = lambda v, seq_len=None: rot_forward(v, seq_len=max(seq_len, need))
        try:
            layer.load_state_dict(state, strict=True)
        except RuntimeError as e:  # missing, unexpected or mis-shaped weights: a bad request
            raise PortError(f"layer weights do not fit the config: {e}") from e
        layer.eval()
        if MUTANT == "wqkv-gqa-order":
            H, HKV = config.num_attention_heads, config.num_key_value_heads
            perm, orig, D = _gqa_blocks_perm(H, HKV), layer.attention.wqkv.forward, config.hidden_size // H
            layer.attention.wqkv.forward = lambda h, m: orig(h, m).reshape(1, T, -1, D)[:, :, perm].reshape(1, T, -1)
        if MUTANT == "plora-every-token":
            im_mask = torch.ones_like(im_mask)
        mask = ref.InternLM2Model._prepare_decoder_attention_mask(None, torch.ones(1, T, dtype=torch.bool), (1, T),
                                                                  x[None], 0)
        with patched(ref, "rotate_half", _rotate_half_swapped, MUTANT == "rotate-half-swapped"):
            y, _ = layer(x[None], attention_mask=mask, position_ids=position_ids[None], past_key_value=None,
                         use_cache=False, im_mask=im_mask[None])
    save_outputs(req, {"y": y[0].to(torch.float32)})
    return {}


# ---- model -------------------------------------------------------------------------------------

_MODELS = {}


def model_for(checkpoint):
    key = os.path.realpath(checkpoint)
    if key not in _MODELS:
        log("loading checkpoint", key)
        model, _ = ref.load_pretrained(key)
        tok_path = os.path.join(key, "tokenizer.model")
        _MODELS[key] = (model, tokenizer(tok_path if os.path.isfile(tok_path) else TOKENIZER_MODEL))
    return _MODELS[key]


def _transposed_merge_features(tower):
    """vit-merge-transposed mutant: features pre-permuted inside each 2x2 cell, so that the (correct)
    merge concatenates (2i,2j), (2i+1,2j), (2i,2j+1), (2i+1,2j+1)."""
    orig = tower.feature_select

    def feature_select(hs):
        f = orig(hs)
        N, P, C = f.shape
        h = tower.grid // 2
        return f.reshape(N, h, 2, h, 2, C).permute(0, 1, 4, 3, 2, 5).reshape(N, P, C)
    return feature_select


def surface_model(req):
    checkpoint = field(req, "checkpoint", (str,))
    query = field(req, "query", (str,))
    images = field(req, "images", (list,), optional=True, default=[])
    hd_num = field(req, "hd_num", (int,))
    taps = field(req, "taps", (list,))
    if not os.path.isfile(os.path.join(checkpoint, "config.json")):
        raise PortError(f"checkpoint {checkpoint!r} has no config.json")
    paths = [_image_request(req, im) for im in images]
    for p in paths:
        if not os.path.isfile(p):
            raise PortError(f"image {p!r} not found")
    try:
        model, tok = model_for(checkpoint)
    except Exception as e:  # noqa: BLE001
        raise PortError(f"loading {checkpoint}: {type(e).__name__}: {e}") from e
    wanted = set(taps)
    trace = {}
    with reference_call(), patched(model.vit, "feature_select", _transposed_merge_features(model.vit),
                                   MUTANT == "vit-merge-transposed"):
        model.reset_rope_caches()  # every request starts from a freshly loaded model's state
        model.chat(tok, query, image=paths, hd_num=hd_num, history=(), max_new_tokens=1, do_sample=False,
                   trace=trace)
        L = len(model.vit.vision_tower.vision_model.encoder.layers)
        hd_eff = 6 if len(paths) > 1 else hd_num
        for k, p in enumerate(paths):
            if f"vit.{k}.layer.{L - 1}" in trace and MUTANT == "vit-merge-transposed":
                trace[f"vit.{k}.features"] = trace[f"vit.{k}.layer.{L - 1}"][:, 1:]  # the tap as computed
            if f"image.{k}.hd_image" in wanted:
                hd = U.Image_transform(U.load_image(p), hd_num=hd_eff)
                trace[f"image.{k}.hd_image"] = torch.from_numpy(np.asarray(hd, dtype=np.uint8).copy())
            if f"image.{k}.global_view" in wanted and f"vit.{k}.input" in trace:
                trace[f"image.{k}.global_view"] = trace[f"vit.{k}.input"][0]
    save_outputs(req, {name: trace[name] for name in taps if name in trace})
    return {}


HANDLERS = {
    "tokenize": surface_tokenize,
    "prompt": surface_prompt,
    "partition": surface_partition,
    "rope": surface_rope,
    "op": surface_op,
    "layer": surface_layer,
    "model": surface_model,
}


def handle(req):
    surface = req.get("surface")
    if surface == "hello":
        if req.get("protocol", PROTOCOL) != PROTOCOL or req.get("version", PROTOCOL_VERSION) != PROTOCOL_VERSION:
            raise PortError(f"protocol {req.get('protocol')!r} version {req.get('version')!r}: this port speaks "
                            f"{PROTOCOL} version {PROTOCOL_VERSION}")
        return {"name": NAME + (f"+{MUTANT}" if MUTANT else ""), "version": VERSION,
                "protocol_version": PROTOCOL_VERSION, "surfaces": list(SURFACES)}
    if surface not in HANDLERS:
        raise PortError(f"unknown surface {surface!r} (this port implements {', '.join(SURFACES)})")
    return HANDLERS[surface](req)


def main():
    global MUTANT
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mutant", choices=sorted(MUTANTS), help="inject one porting bug (see MUTANTS)")
    args = ap.parse_args()
    MUTANT = args.mutant
    # the protocol owns the original stdout; anything else printing (the reference's warnings, torch) goes to stderr
    proto = os.fdopen(os.dup(1), "w", encoding="utf-8", newline="\n")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    log(f"ready (mutant: {MUTANT or 'none'})")
    for raw in sys.stdin.buffer:
        if not raw.strip():
            continue
        rid = None
        try:
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise PortError(f"request is not UTF-8: {e}") from e
            req = json.loads(line)
            if not isinstance(req, dict):
                raise PortError("a request must be a JSON object")
            rid = req.get("id")
            resp = {"status": "ok", **handle(req)}
        except Refused as e:
            resp = {"status": "refused", "message": str(e)}
        except PortError as e:
            log("error:", e)
            resp = {"status": "error", "message": str(e)}
        except json.JSONDecodeError as e:
            resp = {"status": "error", "message": f"request is not JSON: {e}"}
        except Exception as e:  # noqa: BLE001 - a failure of the port itself
            traceback.print_exc(file=sys.stderr)
            resp = {"status": "error", "message": f"port failure: {type(e).__name__}: {e}"}
        proto.write(json.dumps({"id": rid, **resp}) + "\n")
        proto.flush()
    log("stdin closed, exiting")


if __name__ == "__main__":
    main()
