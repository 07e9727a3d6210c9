"""Plain-torch reference implementation of InternLM-XComposer-2.5 (IXC-2.5).

Re-written (not copied) from the upstream remote code, function by function, with the same module
structure and names so that `state_dict()` keys are exactly upstream's checkpoint names:

* modeling_internlm2.py: InternLM2RMSNorm, the three rotary classes, rotate_half,
  apply_rotary_pos_emb, InternLM2MLP, repeat_kv, InternLM2Attention (eager), InternLM2DecoderLayer,
  InternLM2Model (_make_causal_mask, _expand_mask, _prepare_decoder_attention_mask, forward);
* build_mlp.py: PLoRA, CLIPVisionTower, build_vision_projector;
* modeling_internlm_xcomposer2.py: InternLMXComposer2ForCausalLM (encode_img, img2emb,
  interleav_wrap_chat, forward, prepare_inputs_for_generation, build_inputs, chat);
* transformers 4.33 (not in the upstream folder): CLIPVisionModel (modeling_clip.py) and the greedy
  path of GenerationMixin.generate (generation/utils.py: greedy_search, the logits-processor chain,
  RepetitionPenaltyLogitsProcessor).

Dtype policy. Upstream runs bf16 weights on CUDA (some entry points under fp16 autocast). This
reference converts the bf16 weights to float32 and evaluates everything in float32 on CPU: it is the
float32 evaluation of the same function, not a bit-exact copy of upstream's bf16 arithmetic. Build
the model with `dtype=torch.float64` to evaluate the same function in float64 (a higher-precision
truth for measuring tolerances): the places where upstream upcasts to float32 (RMSNorm, attention
softmax, logits) then use float64 too. The RoPE cos/sin tables stay float32 in both modes, built
from a float32 inv_freq exactly as upstream does, unless `rope_table_dtype` is given.

Trace hooks: the forward functions take `trace` (a dict, or a `Trace` for another float dtype) and
store CPU copies under fixed names (batch dim dropped), see README and `_record`.

Task LoRAs (UNCONFIRMED upstream): infer_mode 'write' uses lora_sft + lora_dpo, 'web' uses lora_web,
'base' none; they are merged into the base weight as W + sum(B @ A) at scale 1 for every token,
which is what the only public engine that supported them (lmdeploy TurboMind) did. The tensor names
`<X>.lora_{sft,dpo,web}_{A,B}.weight` are ours (the official checkpoint's names are unconfirmed).
"""
import json
import math
import os

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------
# configuration
# ----------------------------------------------------------------------------------------------

#: CLIP ViT-L/14 at 560 px: what IXC-2.5 uses when config.json has no "vision_config" (our extension).
CLIP_L14_560 = dict(hidden_size=1024, intermediate_size=4096, num_hidden_layers=24, num_attention_heads=16,
                    image_size=560, patch_size=14, num_channels=3, layer_norm_eps=1e-5, hidden_act="quick_gelu")

#: Which task LoRA sets each infer_mode merges (UNCONFIRMED upstream, see module doc).
INFER_MODE_TASK_LORAS = {"base": (), "write": ("sft", "dpo"), "web": ("web",)}
TASK_LORA_NAMES = ("sft", "dpo", "web")

#: Partial LoRA rank and alpha, hard-coded in InternLM2Attention/InternLM2MLP (lora_r=256, lora_alpha=256).
PLORA_RANK = 256
PLORA_ALPHA = 256

#: Stop ids of chat(): tokenizer.eos_token_id and [UNUSED_TOKEN_145].
CHAT_EOS_IDS = (2, 92542)

#: chat()'s default meta_instruction (used only with use_meta=True), as upstream defines it.
DEFAULT_META_INSTRUCTION = (
    "You are an AI assistant whose name is InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14).\n"
    "- InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14) is a multi-modality conversational language model that "
    "is developed by Shanghai AI Laboratory (\u4e0a\u6d77\u4eba\u5de5\u667a\u80fd\u5b9e\u9a8c\u5ba4). It is designed "
    "to be helpful, honest, and harmless.\n"
    "- InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14) can understand and communicate fluently in the language "
    "chosen by the user such as English and \u4e2d\u6587.\n"
    "- InternLM-XComposer (\u6d66\u8bed\u00b7\u7075\u7b14) is capable of comprehending and articulating responses "
    "effectively based on the provided image.")

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".gif", ".bmp", ".webp"}
VIDEO_EXTENSIONS = {".mp4", ".avi", ".mkv", ".mov", ".wmv"}


class VisionConfig:
    """Mirrors transformers 4.33 CLIPVisionConfig (only the keys the vision tower uses)."""

    KEYS = tuple(CLIP_L14_560.keys())

    def __init__(self, **kw):
        """Defaults are CLIP ViT-L/14-560 (IXC-2.5's IXC2d5_clip_l_560); unknown keys are kept."""
        for k, v in CLIP_L14_560.items():
            setattr(self, k, kw.pop(k, v))
        self.extra = kw

    def to_dict(self):
        """The keys written to config.json "vision_config", sorted like HF's to_json_string."""
        return {k: getattr(self, k) for k in sorted(self.KEYS)}


class IXCConfig:
    """Mirrors configuration_internlm_xcomposer2.py: InternLMXcomposer2Config (defaults and
    _rope_scaling_validation) plus PretrainedConfig's generic keys that IXC-2.5 uses (max_length,
    token ids, tie_word_embeddings, torch_dtype, ...).

    Our documented extension: "vision_config" (HF CLIPVisionConfig keys); absent means CLIP ViT-L/14-560.
    `task_lora_ranks` ({"sft": r, ...}) is not a config.json key: the loader reads the ranks from the
    checkpoint's tensor shapes and sets it; it decides whether the PLoRA modules get task LoRAs."""

    def __init__(self, vocab_size=103168, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=None, hidden_act="silu",
                 max_position_embeddings=2048, initializer_range=0.02, rms_norm_eps=1e-6, use_cache=True,
                 pad_token_id=0, bos_token_id=1, eos_token_id=2, tie_word_embeddings=False, bias=True,
                 rope_theta=10000, rope_scaling=None, attn_implementation="flash_attention_2",
                 max_length=20, vision_config=None, task_lora_ranks=None, **kwargs):
        self.vocab_size = vocab_size
        self.max_position_embeddings = max_position_embeddings
        self.hidden_size = hidden_size
        self.intermediate_size = intermediate_size
        self.num_hidden_layers = num_hidden_layers
        self.num_attention_heads = num_attention_heads
        self.bias = bias
        self.num_key_value_heads = num_attention_heads if num_key_value_heads is None else num_key_value_heads
        self.hidden_act = hidden_act
        self.initializer_range = initializer_range
        self.rms_norm_eps = rms_norm_eps
        self.use_cache = use_cache
        self.rope_theta = rope_theta
        self.rope_scaling = rope_scaling
        self._rope_scaling_validation()
        self.attn_implementation = attn_implementation or "flash_attention_2"
        self.pad_token_id = pad_token_id
        self.bos_token_id = bos_token_id
        self.eos_token_id = eos_token_id
        self.tie_word_embeddings = tie_word_embeddings
        self.max_length = max_length
        self.vision_config = VisionConfig(**(vision_config or {}))
        self.has_vision_config = vision_config is not None
        self.task_lora_ranks = dict(task_lora_ranks) if task_lora_ranks else {}
        self.extra = kwargs  # architectures, model_type, torch_dtype, transformers_version, auto_map, ...
        if self.tie_word_embeddings:
            raise ValueError("config: tie_word_embeddings must be false for IXC-2.5")
        if self.hidden_act != "silu":
            raise ValueError(f"config: hidden_act {self.hidden_act!r}, expected 'silu'")

    def _rope_scaling_validation(self):
        """Mirrors InternLMXcomposer2Config._rope_scaling_validation."""
        if self.rope_scaling is None:
            return
        if not isinstance(self.rope_scaling, dict) or len(self.rope_scaling) != 2:
            raise ValueError(f"config: rope_scaling must be a dict with 'type' and 'factor', got {self.rope_scaling}")
        kind = self.rope_scaling.get("type")
        factor = self.rope_scaling.get("factor")
        if kind not in ("linear", "dynamic"):
            raise ValueError(f"config: rope_scaling type must be 'linear' or 'dynamic', got {kind!r}")
        if not isinstance(factor, float) or factor < 1.0:
            raise ValueError(f"config: rope_scaling factor must be a float >= 1, got {factor!r}")

    @classmethod
    def from_json_file(cls, path):
        """Reads an upstream-style config.json."""
        with open(path, "r", encoding="utf-8") as f:
            return cls(**json.load(f))

    def to_dict(self):
        """config.json content with the upstream keys (sorted, as HF's to_json_string writes them)."""
        d = dict(self.extra)
        d.update(vocab_size=self.vocab_size, hidden_size=self.hidden_size, intermediate_size=self.intermediate_size,
                 num_hidden_layers=self.num_hidden_layers, num_attention_heads=self.num_attention_heads,
                 num_key_value_heads=self.num_key_value_heads, hidden_act=self.hidden_act,
                 max_position_embeddings=self.max_position_embeddings, initializer_range=self.initializer_range,
                 rms_norm_eps=self.rms_norm_eps, use_cache=self.use_cache, pad_token_id=self.pad_token_id,
                 bos_token_id=self.bos_token_id, eos_token_id=self.eos_token_id,
                 tie_word_embeddings=self.tie_word_embeddings, bias=self.bias, rope_theta=self.rope_theta,
                 rope_scaling=self.rope_scaling, attn_implementation=self.attn_implementation,
                 max_length=self.max_length)
        if self.has_vision_config:
            d["vision_config"] = self.vision_config.to_dict()
        return {k: d[k] for k in sorted(d)}


# ----------------------------------------------------------------------------------------------
# tracing
# ----------------------------------------------------------------------------------------------

class Trace(dict):
    """A trace dict whose floating tensors are stored as `float_dtype` (a plain dict stores float32)."""

    def __init__(self, float_dtype=torch.float32):
        super().__init__()
        self.float_dtype = float_dtype


def _record(trace, name, t, drop_batch=True):
    """Stores a detached CPU copy of `t` in `trace[name]`: floats as float32 (or the Trace's
    float_dtype), bool as uint8, integers as int64; the leading batch dim (must be 1) is dropped."""
    if trace is None:
        return
    t = t.detach()
    if drop_batch:
        if t.shape[0] != 1:
            raise ValueError(f"trace {name}: batch {t.shape[0]}, tracing supports batch 1")
        t = t[0]
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    elif t.is_floating_point():
        t = t.to(getattr(trace, "float_dtype", torch.float32))
    elif t.dtype != torch.uint8:
        t = t.to(torch.int64)
    trace[name] = t.cpu().clone()


def _upcast(dtype):
    """The dtype upstream's float32 upcasts become: float32, or float64 in float64 mode."""
    return torch.float64 if dtype == torch.float64 else torch.float32


# ----------------------------------------------------------------------------------------------
# InternLM2 building blocks (modeling_internlm2.py)
# ----------------------------------------------------------------------------------------------

def _make_causal_mask(input_ids_shape, dtype, device, past_key_values_length=0):
    """Mirrors modeling_internlm2.py: _make_causal_mask (copied there from BART): a [T, T] matrix
    filled with finfo(dtype).min, zero on and below the diagonal, zeros prepended for the past,
    expanded to [B, 1, T, past + T]."""
    bsz, tgt_len = input_ids_shape
    mask = torch.full((tgt_len, tgt_len), torch.tensor(torch.finfo(dtype).min, device=device), device=device)
    cond = torch.arange(mask.size(-1), device=device)
    mask.masked_fill_(cond < (cond + 1).view(mask.size(-1), 1), 0)
    mask = mask.to(dtype)
    if past_key_values_length > 0:
        mask = torch.cat([torch.zeros(tgt_len, past_key_values_length, dtype=dtype, device=device), mask], dim=-1)
    return mask[None, None, :, :].expand(bsz, 1, tgt_len, tgt_len + past_key_values_length)


def _expand_mask(mask, dtype, tgt_len=None):
    """Mirrors modeling_internlm2.py: _expand_mask: [B, S] 0/1 mask -> [B, 1, T, S] additive mask
    (0 where attended, finfo(dtype).min where masked)."""
    bsz, src_len = mask.size()
    tgt_len = tgt_len if tgt_len is not None else src_len
    expanded = mask[:, None, None, :].expand(bsz, 1, tgt_len, src_len).to(dtype)
    inverted = 1.0 - expanded
    return inverted.masked_fill(inverted.to(torch.bool), torch.finfo(dtype).min)


class InternLM2RMSNorm(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2RMSNorm: in float32 (float64 in float64 mode),
    x * rsqrt(mean(x^2) + eps), cast back to the input dtype, times weight."""

    def __init__(self, hidden_size, eps=1e-6, device=None, dtype=None):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(hidden_size, device=device, dtype=dtype))
        self.variance_epsilon = eps

    def forward(self, hidden_states):
        """Mirrors InternLM2RMSNorm.forward."""
        input_dtype = hidden_states.dtype
        hidden_states = hidden_states.to(_upcast(input_dtype))
        variance = hidden_states.pow(2).mean(-1, keepdim=True)
        hidden_states = hidden_states * torch.rsqrt(variance + self.variance_epsilon)
        return self.weight * hidden_states.to(input_dtype)


class InternLM2RotaryEmbedding(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2RotaryEmbedding (LlamaRotaryEmbedding).

    Stateful like upstream: the cos/sin cache is built at init for max_position_embeddings (in the
    process default dtype: float32 here; under HF from_pretrained(torch_dtype=bf16) upstream's
    initial table is bf16) and rebuilt (in float32) only when a forward sees seq_len >
    max_seq_len_cached. inv_freq and t are float32 as upstream. `table_dtype` (ours) replaces every
    table/inv_freq dtype, e.g. float64 for a higher-precision truth."""

    def __init__(self, dim, max_position_embeddings=2048, base=10000, device=None, table_dtype=None):
        super().__init__()
        self.dim = dim
        self.max_position_embeddings = max_position_embeddings
        self.base = base
        self.table_dtype = table_dtype
        self.register_buffer("inv_freq", self._compute_inv_freq(self.base, device), persistent=False)
        self._set_cos_sin_cache(seq_len=max_position_embeddings, device=self.inv_freq.device,
                                dtype=table_dtype or torch.get_default_dtype())

    def _compute_inv_freq(self, base, device):
        """inv_freq = 1 / base^(arange(0, dim, 2) / dim) in float32 (the expression upstream writes in
        __init__ and in the dynamic _set_cos_sin_cache)."""
        exponent = torch.arange(0, self.dim, 2, device=device).to(self.table_dtype or torch.float32) / self.dim
        return 1.0 / (base ** exponent)

    def _positions(self, seq_len, device):
        """t = arange(seq_len) in inv_freq's dtype (the Linear subclass divides it by the factor)."""
        return torch.arange(seq_len, device=device, dtype=self.inv_freq.dtype)

    def _build_tables(self, seq_len, device, dtype, inv_freq):
        """freqs = outer(t, inv_freq) (einsum i,j->ij), emb = cat(freqs, freqs), then cos/sin to dtype."""
        t = self._positions(seq_len, device)
        freqs = torch.einsum("i,j->ij", t, inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos().to(dtype), emb.sin().to(dtype)

    def _set_cos_sin_cache(self, seq_len, device, dtype):
        """Mirrors InternLM2RotaryEmbedding._set_cos_sin_cache."""
        self.max_seq_len_cached = seq_len
        cos, sin = self._build_tables(seq_len, device, dtype, self.inv_freq)
        self.register_buffer("cos_cached", cos, persistent=False)
        self.register_buffer("sin_cached", sin, persistent=False)

    def forward(self, x, seq_len=None):
        """Mirrors InternLM2RotaryEmbedding.forward: rebuild (float32) if seq_len exceeds the cache,
        return the first seq_len rows cast to x.dtype."""
        if seq_len > self.max_seq_len_cached:
            self._set_cos_sin_cache(seq_len=seq_len, device=x.device, dtype=self.table_dtype or torch.float32)
        return self.cos_cached[:seq_len].to(dtype=x.dtype), self.sin_cached[:seq_len].to(dtype=x.dtype)


class InternLM2LinearScalingRotaryEmbedding(InternLM2RotaryEmbedding):
    """Mirrors modeling_internlm2.py: InternLM2LinearScalingRotaryEmbedding: positions t / factor."""

    def __init__(self, dim, max_position_embeddings=2048, base=10000, device=None, scaling_factor=1.0,
                 table_dtype=None):
        self.scaling_factor = scaling_factor
        super().__init__(dim, max_position_embeddings, base, device, table_dtype)

    def _positions(self, seq_len, device):
        """Mirrors the `t = t / self.scaling_factor` line of the Linear _set_cos_sin_cache."""
        t = torch.arange(seq_len, device=device, dtype=self.inv_freq.dtype)
        return t / self.scaling_factor


class InternLM2DynamicNTKScalingRotaryEmbedding(InternLM2RotaryEmbedding):
    """Mirrors modeling_internlm2.py: InternLM2DynamicNTKScalingRotaryEmbedding.

    Upstream quirk kept (default, `stateless=False`): when a rebuild happens for
    seq_len > max_position_embeddings, base' = base * (factor * seq_len / max_pos - (factor - 1)) **
    (dim / (dim - 2)) and the new inv_freq REPLACES the buffer, so it persists for the life of the
    module (later short prompts use the enlarged base too); the table is only rebuilt when seq_len
    exceeds the largest length seen so far; keys already in the KV cache keep their old rotation.
    `stateless=True` (ours) computes base' from the current seq_len only, without touching state."""

    def __init__(self, dim, max_position_embeddings=2048, base=10000, device=None, scaling_factor=1.0,
                 table_dtype=None, stateless=False):
        self.scaling_factor = scaling_factor
        self.stateless = stateless
        super().__init__(dim, max_position_embeddings, base, device, table_dtype)

    def _ntk_inv_freq(self, seq_len, device):
        """inv_freq for the NTK-scaled base of seq_len (seq_len > max_position_embeddings)."""
        base = self.base * ((self.scaling_factor * seq_len / self.max_position_embeddings)
                            - (self.scaling_factor - 1)) ** (self.dim / (self.dim - 2))
        return self._compute_inv_freq(base, device)

    def _set_cos_sin_cache(self, seq_len, device, dtype):
        """Mirrors InternLM2DynamicNTKScalingRotaryEmbedding._set_cos_sin_cache (inv_freq replaced)."""
        self.max_seq_len_cached = seq_len
        if seq_len > self.max_position_embeddings:
            self.register_buffer("inv_freq", self._ntk_inv_freq(seq_len, device), persistent=False)
        cos, sin = self._build_tables(seq_len, device, dtype, self.inv_freq)
        self.register_buffer("cos_cached", cos, persistent=False)
        self.register_buffer("sin_cached", sin, persistent=False)

    def forward(self, x, seq_len=None):
        """Upstream (stateful) forward, or the stateless variant (ours)."""
        if not self.stateless:
            return super().forward(x, seq_len)
        if seq_len > self.max_position_embeddings:
            inv_freq = self._ntk_inv_freq(seq_len, x.device)
        else:
            inv_freq = self._compute_inv_freq(self.base, x.device)
        cos, sin = self._build_tables(seq_len, x.device, self.table_dtype or torch.float32, inv_freq)
        return cos.to(dtype=x.dtype), sin.to(dtype=x.dtype)


def rotate_half(x):
    """Mirrors modeling_internlm2.py: rotate_half: cat(-x[..., D/2:], x[..., :D/2])."""
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin, position_ids, unsqueeze_dim=1):
    """Mirrors modeling_internlm2.py: apply_rotary_pos_emb: gather cos/sin rows by position_ids,
    q * cos + rotate_half(q) * sin (same for k)."""
    cos = cos[position_ids].unsqueeze(unsqueeze_dim)
    sin = sin[position_ids].unsqueeze(unsqueeze_dim)
    q_embed = (q * cos) + (rotate_half(q) * sin)
    k_embed = (k * cos) + (rotate_half(k) * sin)
    return q_embed, k_embed


def repeat_kv(hidden_states, n_rep):
    """Mirrors modeling_internlm2.py: repeat_kv: [B, Hkv, S, D] -> [B, Hkv * n_rep, S, D], KV head g
    serving query heads g*n_rep .. g*n_rep + n_rep - 1."""
    batch, num_kv, slen, head_dim = hidden_states.shape
    if n_rep == 1:
        return hidden_states
    hidden_states = hidden_states[:, :, None, :, :].expand(batch, num_kv, n_rep, slen, head_dim)
    return hidden_states.reshape(batch, num_kv * n_rep, slen, head_dim)


class PLoRA(nn.Linear):
    """Mirrors build_mlp.py: PLoRA (Partial LoRA): a Linear whose output gets
    Plora_B(Plora_A(x)) * (alpha / r) added at the image positions (im_mask True) only.

    Upstream quirk kept: when im_mask has no True entry, `res[:1] += B(A(x[:1])) * 0` is still
    evaluated (it only matters if that product is inf/nan, or for the sign of a zero). Dropout is
    the identity (eval mode). Ours: optional task LoRAs lora_{sft,dpo,web}_{A,B} (Linear without
    bias, A [R, in], B [out, R]) merged into the base weight for the active infer_mode."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None, lora_r=8, lora_alpha=16,
                 lora_dropout=0.05, lora_len=0, task_lora_ranks=None):
        super().__init__(in_features, out_features, bias, device, dtype)
        self.lora_r = lora_r
        self.lora_alpha = lora_alpha
        self.lora_len = lora_len
        self.lora_dropout_p = lora_dropout
        self.lora_scaling = self.lora_alpha / self.lora_r
        self.Plora_A = nn.Linear(in_features, self.lora_r, bias=False, device=device, dtype=dtype)
        self.Plora_B = nn.Linear(self.lora_r, out_features, bias=False, device=device, dtype=dtype)
        self.task_lora_names = []
        for name in TASK_LORA_NAMES:
            rank = (task_lora_ranks or {}).get(name)
            if rank:
                setattr(self, f"lora_{name}_A", nn.Linear(in_features, rank, bias=False, device=device, dtype=dtype))
                setattr(self, f"lora_{name}_B", nn.Linear(rank, out_features, bias=False, device=device, dtype=dtype))
                self.task_lora_names.append(name)
        self.infer_mode = "base"
        self._merged_weight = None

    def set_infer_mode(self, infer_mode):
        """Ours (UNCONFIRMED upstream): weight used by forward = W + sum over the mode's task LoRA
        sets of B @ A (scale 1), computed once in the compute dtype."""
        if infer_mode not in INFER_MODE_TASK_LORAS:
            raise ValueError(f"infer_mode {infer_mode!r}: expected one of {sorted(INFER_MODE_TASK_LORAS)}")
        if infer_mode == self.infer_mode:
            return
        names = INFER_MODE_TASK_LORAS[infer_mode]
        if not names:
            self._merged_weight = None
        else:
            missing = [n for n in names if n not in self.task_lora_names]
            if missing:
                raise ValueError(f"infer_mode {infer_mode!r} needs task LoRA {missing}, the checkpoint has "
                                 f"{self.task_lora_names or 'none'}")
            w = self.weight.detach().clone()
            for n in names:
                w = w + getattr(self, f"lora_{n}_B").weight.detach() @ getattr(self, f"lora_{n}_A").weight.detach()
            self._merged_weight = w
        self.infer_mode = infer_mode

    def forward(self, x, im_mask=None):
        """Mirrors PLoRA.forward (x [B, T, in], im_mask bool [B, T])."""
        B, N, C = x.shape
        im_mask = im_mask.view(-1)
        x = x.reshape(-1, C)
        weight = self.weight if self._merged_weight is None else self._merged_weight
        res = F.linear(x, weight, self.bias)
        if torch.sum(im_mask) > 0:
            part_x = x[im_mask]
            res[im_mask] += self.Plora_B(self.Plora_A(part_x)) * self.lora_scaling
        else:
            part_x = x[:1]
            res[:1] += self.Plora_B(self.Plora_A(part_x)) * 0
        return res.reshape(B, N, -1)


class InternLM2MLP(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2MLP: w2(silu(w1 x) * w3 x), all three PLoRA."""

    def __init__(self, config, device=None, dtype=None):
        super().__init__()
        self.config = config
        self.hidden_size = config.hidden_size
        self.intermediate_size = config.intermediate_size
        kw = dict(bias=False, device=device, dtype=dtype, lora_r=PLORA_RANK, lora_alpha=PLORA_ALPHA, lora_len=1225,
                  task_lora_ranks=config.task_lora_ranks)
        self.w1 = PLoRA(self.hidden_size, self.intermediate_size, **kw)
        self.w3 = PLoRA(self.hidden_size, self.intermediate_size, **kw)
        self.w2 = PLoRA(self.intermediate_size, self.hidden_size, **kw)
        self.act_fn = F.silu

    def forward(self, x, im_mask):
        """Mirrors InternLM2MLP.forward."""
        return self.w2(self.act_fn(self.w1(x, im_mask)) * self.w3(x, im_mask), im_mask)


class InternLM2Attention(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2Attention (eager; the config's flash_attention_2 is
    evaluated with the same eager math).

    wqkv output [B, T, (H + 2 Hkv) D] is interleaved per KV group: reshape to [B, T, Hkv, gs, D] with
    gs = 2 + H/Hkv (einops "b q (h gs d) -> b q h gs d"); the first gs - 2 slices of group g are query
    heads g*(H/Hkv).., slice -2 is key head g, slice -1 value head g."""

    def __init__(self, config, layer_idx=0, device=None, dtype=None, rope_table_dtype=None, rope_stateless=False):
        super().__init__()
        self.config = config
        self.layer_idx = layer_idx
        self.hidden_size = config.hidden_size
        self.num_heads = config.num_attention_heads
        self.head_dim = self.hidden_size // self.num_heads
        self.num_key_value_heads = config.num_key_value_heads
        self.num_key_value_groups = self.num_heads // self.num_key_value_heads
        self.max_position_embeddings = config.max_position_embeddings
        self.is_causal = True
        if self.head_dim * self.num_heads != self.hidden_size:
            raise ValueError(f"config: hidden_size {self.hidden_size} not divisible by num_heads {self.num_heads}")
        kw = dict(device=device, dtype=dtype, lora_r=PLORA_RANK, lora_alpha=PLORA_ALPHA, lora_len=1225,
                  task_lora_ranks=config.task_lora_ranks)
        self.wqkv = PLoRA(self.hidden_size, (self.num_heads + 2 * self.num_key_value_heads) * self.head_dim,
                          bias=config.bias, **kw)
        self.wo = PLoRA(self.num_heads * self.head_dim, self.hidden_size, bias=config.bias, **kw)
        self._init_rope(device, rope_table_dtype, rope_stateless)

    def _init_rope(self, device, table_dtype, stateless):
        """Mirrors InternLM2Attention._init_rope (plain / dynamic / linear by config.rope_scaling)."""
        kw = dict(max_position_embeddings=self.max_position_embeddings, base=self.config.rope_theta, device=device,
                  table_dtype=table_dtype)
        if self.config.rope_scaling is None:
            self.rotary_emb = InternLM2RotaryEmbedding(self.head_dim, **kw)
        else:
            kind = self.config.rope_scaling["type"]
            factor = self.config.rope_scaling["factor"]
            if kind == "dynamic":
                self.rotary_emb = InternLM2DynamicNTKScalingRotaryEmbedding(self.head_dim, scaling_factor=factor,
                                                                            stateless=stateless, **kw)
            elif kind == "linear":
                self.rotary_emb = InternLM2LinearScalingRotaryEmbedding(self.head_dim, scaling_factor=factor, **kw)
            else:
                raise ValueError(f"config: rope_scaling type {kind!r}")
        return self.rotary_emb

    def forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_value=None,
                use_cache=False, im_mask=None, trace=None):
        """Mirrors InternLM2Attention.forward (eager). Returns (wo output, present (k, v) or None)."""
        bsz, q_len, _ = hidden_states.size()
        qkv_states = self.wqkv(hidden_states, im_mask)
        _record(trace, f"llm.layer.{self.layer_idx}.qkv", qkv_states)

        gs = 2 + self.num_key_value_groups
        qkv_states = qkv_states.reshape(bsz, q_len, -1, gs, self.head_dim)
        query_states = qkv_states[..., : self.num_key_value_groups, :]
        query_states = query_states.reshape(bsz, q_len, -1, self.head_dim)
        key_states = qkv_states[..., -2, :]
        value_states = qkv_states[..., -1, :]

        query_states = query_states.transpose(1, 2)
        key_states = key_states.transpose(1, 2)
        value_states = value_states.transpose(1, 2)

        kv_seq_len = key_states.shape[-2]
        if past_key_value is not None:
            kv_seq_len += past_key_value[0].shape[-2]
        cos, sin = self.rotary_emb(value_states, seq_len=kv_seq_len)
        query_states, key_states = apply_rotary_pos_emb(query_states, key_states, cos, sin, position_ids)

        if past_key_value is not None:
            key_states = torch.cat([past_key_value[0], key_states], dim=2)
            value_states = torch.cat([past_key_value[1], value_states], dim=2)
        past_key_value = (key_states, value_states) if use_cache else None

        key_states = repeat_kv(key_states, self.num_key_value_groups)
        value_states = repeat_kv(value_states, self.num_key_value_groups)

        attn_weights = torch.matmul(query_states, key_states.transpose(2, 3)) / math.sqrt(self.head_dim)
        if attn_weights.size() != (bsz, self.num_heads, q_len, kv_seq_len):
            raise ValueError(f"attention weights of size {tuple(attn_weights.size())}")
        if attention_mask is not None:
            if attention_mask.size() != (bsz, 1, q_len, kv_seq_len):
                raise ValueError(f"attention mask of size {tuple(attention_mask.size())}")
            attn_weights = attn_weights + attention_mask
        attn_weights = F.softmax(attn_weights, dim=-1, dtype=_upcast(query_states.dtype)).to(query_states.dtype)
        attn_output = torch.matmul(attn_weights, value_states)
        attn_output = attn_output.transpose(1, 2).contiguous().reshape(bsz, q_len, self.hidden_size)
        attn_output = self.wo(attn_output, im_mask)
        return attn_output, past_key_value


class InternLM2DecoderLayer(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2DecoderLayer (pre-norm attention and MLP, residuals)."""

    def __init__(self, config, layer_idx=0, device=None, dtype=None, rope_table_dtype=None, rope_stateless=False):
        super().__init__()
        self.hidden_size = config.hidden_size
        self.layer_idx = layer_idx
        self.attention = InternLM2Attention(config, layer_idx, device, dtype, rope_table_dtype, rope_stateless)
        self.feed_forward = InternLM2MLP(config, device, dtype)
        self.attention_norm = InternLM2RMSNorm(config.hidden_size, eps=config.rms_norm_eps, device=device, dtype=dtype)
        self.ffn_norm = InternLM2RMSNorm(config.hidden_size, eps=config.rms_norm_eps, device=device, dtype=dtype)

    def forward(self, hidden_states, attention_mask=None, position_ids=None, past_key_value=None, use_cache=False,
                im_mask=None, trace=None):
        """Mirrors InternLM2DecoderLayer.forward. Returns (hidden_states, present)."""
        i = self.layer_idx
        residual = hidden_states
        hidden_states = self.attention_norm(hidden_states)
        _record(trace, f"llm.layer.{i}.attention_norm", hidden_states)
        hidden_states, present = self.attention(hidden_states, attention_mask=attention_mask,
                                                position_ids=position_ids, past_key_value=past_key_value,
                                                use_cache=use_cache, im_mask=im_mask, trace=trace)
        _record(trace, f"llm.layer.{i}.attn_out", hidden_states)
        hidden_states = residual + hidden_states

        residual = hidden_states
        hidden_states = self.ffn_norm(hidden_states)
        _record(trace, f"llm.layer.{i}.ffn_norm", hidden_states)
        hidden_states = self.feed_forward(hidden_states, im_mask)
        _record(trace, f"llm.layer.{i}.ffn_out", hidden_states)
        hidden_states = residual + hidden_states
        _record(trace, f"llm.layer.{i}.output", hidden_states)
        return hidden_states, present


class InternLM2Model(nn.Module):
    """Mirrors modeling_internlm2.py: InternLM2Model (embeddings, decoder layers, final norm)."""

    def __init__(self, config, device=None, dtype=None, rope_table_dtype=None, rope_stateless=False):
        super().__init__()
        self.config = config
        self.padding_idx = config.pad_token_id
        self.vocab_size = config.vocab_size
        self.tok_embeddings = nn.Embedding(config.vocab_size, config.hidden_size, self.padding_idx, device=device,
                                           dtype=dtype)
        self.layers = nn.ModuleList([InternLM2DecoderLayer(config, i, device, dtype, rope_table_dtype, rope_stateless)
                                     for i in range(config.num_hidden_layers)])
        self.norm = InternLM2RMSNorm(config.hidden_size, eps=config.rms_norm_eps, device=device, dtype=dtype)

    def _prepare_decoder_attention_mask(self, attention_mask, input_shape, inputs_embeds, past_key_values_length):
        """Mirrors InternLM2Model._prepare_decoder_attention_mask: causal mask (only when T > 1) plus
        the expanded padding mask."""
        combined = None
        if input_shape[-1] > 1:
            combined = _make_causal_mask(input_shape, inputs_embeds.dtype, device=inputs_embeds.device,
                                         past_key_values_length=past_key_values_length)
        if attention_mask is not None:
            expanded = _expand_mask(attention_mask, inputs_embeds.dtype, tgt_len=input_shape[-1])
            combined = expanded if combined is None else expanded + combined
        return combined

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=True, im_mask=None, trace=None):
        """Mirrors InternLM2Model.forward (eager path). Returns (last hidden state after norm,
        next cache tuple or None). position_ids default to arange(past, past + T); when input_ids are
        given instead of embeddings, im_mask becomes all False."""
        if input_ids is not None and inputs_embeds is not None:
            raise ValueError("give input_ids or inputs_embeds, not both")
        if input_ids is not None:
            batch_size, seq_length = input_ids.shape[:2]
        elif inputs_embeds is not None:
            batch_size, seq_length = inputs_embeds.shape[:2]
        else:
            raise ValueError("give input_ids or inputs_embeds")

        seq_length_with_past = seq_length
        past_key_values_length = 0
        if past_key_values is not None:
            past_key_values_length = past_key_values[0][0].shape[2]
            seq_length_with_past += past_key_values_length

        if position_ids is None:
            device = input_ids.device if input_ids is not None else inputs_embeds.device
            position_ids = torch.arange(past_key_values_length, seq_length + past_key_values_length,
                                        dtype=torch.long, device=device).unsqueeze(0)

        if inputs_embeds is None:
            inputs_embeds = self.tok_embeddings(input_ids)
            im_mask = torch.zeros(inputs_embeds.shape[:2]).to(inputs_embeds.device).bool()

        if attention_mask is None:
            attention_mask = torch.ones((batch_size, seq_length_with_past), dtype=torch.bool,
                                        device=inputs_embeds.device)
        attention_mask = self._prepare_decoder_attention_mask(attention_mask, (batch_size, seq_length), inputs_embeds,
                                                              past_key_values_length)
        _record(trace, "llm.input_embeds", inputs_embeds)
        _record(trace, "llm.im_mask", im_mask)
        _record(trace, "llm.position_ids", position_ids)

        hidden_states = inputs_embeds
        next_cache = () if use_cache else None
        for idx, layer in enumerate(self.layers):
            past = past_key_values[idx] if past_key_values is not None else None
            hidden_states, present = layer(hidden_states, attention_mask=attention_mask, position_ids=position_ids,
                                           past_key_value=past, use_cache=use_cache, im_mask=im_mask, trace=trace)
            if use_cache:
                next_cache += (present,)
        hidden_states = self.norm(hidden_states)
        _record(trace, "llm.norm", hidden_states)
        return hidden_states, next_cache


# ----------------------------------------------------------------------------------------------
# CLIP vision model (transformers 4.33 modeling_clip.py) and the IXC vision tower (build_mlp.py)
# ----------------------------------------------------------------------------------------------

def quick_gelu(x):
    """Mirrors transformers activations.QuickGELUActivation: x * sigmoid(1.702 x)."""
    return x * torch.sigmoid(1.702 * x)


_VISION_ACT = {"quick_gelu": quick_gelu, "gelu": F.gelu}


class CLIPVisionEmbeddings(nn.Module):
    """Mirrors transformers 4.33 CLIPVisionEmbeddings: conv patch embedding (no bias), class token
    prepended, position embedding over position_ids 0..P (non-persistent buffer)."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.embed_dim = vc.hidden_size
        self.image_size = vc.image_size
        self.patch_size = vc.patch_size
        self.class_embedding = nn.Parameter(torch.empty(self.embed_dim, device=device, dtype=dtype))
        self.patch_embedding = nn.Conv2d(vc.num_channels, self.embed_dim, kernel_size=self.patch_size,
                                         stride=self.patch_size, bias=False, device=device, dtype=dtype)
        self.num_patches = (self.image_size // self.patch_size) ** 2
        self.num_positions = self.num_patches + 1
        self.position_embedding = nn.Embedding(self.num_positions, self.embed_dim, device=device, dtype=dtype)
        self.register_buffer("position_ids", torch.arange(self.num_positions, device=device).expand((1, -1)),
                             persistent=False)

    def forward(self, pixel_values):
        """Mirrors CLIPVisionEmbeddings.forward: [N, 3, S, S] -> [N, 1 + P, Cv]."""
        batch_size = pixel_values.shape[0]
        patch_embeds = self.patch_embedding(pixel_values.to(dtype=self.patch_embedding.weight.dtype))
        patch_embeds = patch_embeds.flatten(2).transpose(1, 2)
        class_embeds = self.class_embedding.expand(batch_size, 1, -1)
        embeddings = torch.cat([class_embeds, patch_embeds], dim=1)
        return embeddings + self.position_embedding(self.position_ids)


class CLIPAttention(nn.Module):
    """Mirrors transformers 4.33 CLIPAttention (no causal mask for vision): q scaled by
    head_dim^-0.5 before q k^T, softmax (in the compute dtype: float32, float64 in float64 mode)."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.embed_dim = vc.hidden_size
        self.num_heads = vc.num_attention_heads
        self.head_dim = self.embed_dim // self.num_heads
        if self.head_dim * self.num_heads != self.embed_dim:
            raise ValueError(f"vision_config: hidden_size {self.embed_dim} not divisible by heads {self.num_heads}")
        self.scale = self.head_dim ** -0.5
        self.k_proj = nn.Linear(self.embed_dim, self.embed_dim, device=device, dtype=dtype)
        self.v_proj = nn.Linear(self.embed_dim, self.embed_dim, device=device, dtype=dtype)
        self.q_proj = nn.Linear(self.embed_dim, self.embed_dim, device=device, dtype=dtype)
        self.out_proj = nn.Linear(self.embed_dim, self.embed_dim, device=device, dtype=dtype)

    def _shape(self, tensor, seq_len, bsz):
        """Mirrors CLIPAttention._shape: [N, S, Cv] -> [N, heads, S, head_dim]."""
        return tensor.view(bsz, seq_len, self.num_heads, self.head_dim).transpose(1, 2).contiguous()

    def forward(self, hidden_states):
        """Mirrors CLIPAttention.forward (attention_mask and causal mask None, no dropout)."""
        bsz, tgt_len, embed_dim = hidden_states.size()
        query_states = self.q_proj(hidden_states) * self.scale
        key_states = self._shape(self.k_proj(hidden_states), -1, bsz)
        value_states = self._shape(self.v_proj(hidden_states), -1, bsz)
        proj_shape = (bsz * self.num_heads, -1, self.head_dim)
        query_states = self._shape(query_states, tgt_len, bsz).view(*proj_shape)
        key_states = key_states.view(*proj_shape)
        value_states = value_states.view(*proj_shape)
        attn_weights = torch.bmm(query_states, key_states.transpose(1, 2))
        attn_weights = F.softmax(attn_weights, dim=-1)
        attn_output = torch.bmm(attn_weights, value_states)
        attn_output = attn_output.view(bsz, self.num_heads, tgt_len, self.head_dim).transpose(1, 2)
        attn_output = attn_output.reshape(bsz, tgt_len, embed_dim)
        return self.out_proj(attn_output)


class CLIPMLP(nn.Module):
    """Mirrors transformers 4.33 CLIPMLP: fc2(act(fc1 x))."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.activation_fn = _VISION_ACT[vc.hidden_act]
        self.fc1 = nn.Linear(vc.hidden_size, vc.intermediate_size, device=device, dtype=dtype)
        self.fc2 = nn.Linear(vc.intermediate_size, vc.hidden_size, device=device, dtype=dtype)

    def forward(self, hidden_states):
        """Mirrors CLIPMLP.forward."""
        return self.fc2(self.activation_fn(self.fc1(hidden_states)))


class CLIPEncoderLayer(nn.Module):
    """Mirrors transformers 4.33 CLIPEncoderLayer: x + attn(ln1 x), then + mlp(ln2 x)."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.embed_dim = vc.hidden_size
        self.self_attn = CLIPAttention(vc, device, dtype)
        self.layer_norm1 = nn.LayerNorm(self.embed_dim, eps=vc.layer_norm_eps, device=device, dtype=dtype)
        self.mlp = CLIPMLP(vc, device, dtype)
        self.layer_norm2 = nn.LayerNorm(self.embed_dim, eps=vc.layer_norm_eps, device=device, dtype=dtype)

    def forward(self, hidden_states):
        """Mirrors CLIPEncoderLayer.forward."""
        residual = hidden_states
        hidden_states = self.layer_norm1(hidden_states)
        hidden_states = self.self_attn(hidden_states)
        hidden_states = residual + hidden_states
        residual = hidden_states
        hidden_states = self.layer_norm2(hidden_states)
        hidden_states = self.mlp(hidden_states)
        return residual + hidden_states


class CLIPEncoder(nn.Module):
    """Mirrors transformers 4.33 CLIPEncoder (layers only; returns all hidden states)."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.layers = nn.ModuleList([CLIPEncoderLayer(vc, device, dtype) for _ in range(vc.num_hidden_layers)])

    def forward(self, inputs_embeds, trace=None, trace_prefix=""):
        """Mirrors CLIPEncoder.forward(output_hidden_states=True): returns the tuple
        (input, output of layer 0, ..., output of the last layer)."""
        hidden_states = inputs_embeds
        encoder_states = (hidden_states,)
        for idx, layer in enumerate(self.layers):
            hidden_states = layer(hidden_states)
            _record(trace, f"{trace_prefix}.layer.{idx}", hidden_states, drop_batch=False)
            encoder_states = encoder_states + (hidden_states,)
        return encoder_states


class CLIPVisionTransformer(nn.Module):
    """Mirrors transformers 4.33 CLIPVisionTransformer: embeddings -> pre_layrnorm -> encoder.
    post_layernorm exists (its weights are in the checkpoint) but only feeds the pooled CLS output,
    which IXC-2.5 never uses, so it is not evaluated here."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.config = vc
        self.embeddings = CLIPVisionEmbeddings(vc, device, dtype)
        self.pre_layrnorm = nn.LayerNorm(vc.hidden_size, eps=vc.layer_norm_eps, device=device, dtype=dtype)
        self.encoder = CLIPEncoder(vc, device, dtype)
        self.post_layernorm = nn.LayerNorm(vc.hidden_size, eps=vc.layer_norm_eps, device=device, dtype=dtype)

    def forward(self, pixel_values, trace=None, trace_prefix=""):
        """Mirrors CLIPVisionTransformer.forward(output_hidden_states=True): returns hidden_states."""
        hidden_states = self.embeddings(pixel_values)
        _record(trace, f"{trace_prefix}.embeddings", hidden_states, drop_batch=False)
        hidden_states = self.pre_layrnorm(hidden_states)
        _record(trace, f"{trace_prefix}.pre_layrnorm", hidden_states, drop_batch=False)
        return self.encoder(hidden_states, trace, trace_prefix)


class CLIPVisionModel(nn.Module):
    """Mirrors transformers 4.33 CLIPVisionModel (a `vision_model` wrapper)."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.config = vc
        self.vision_model = CLIPVisionTransformer(vc, device, dtype)

    def forward(self, pixel_values, trace=None, trace_prefix=""):
        """Returns the hidden_states tuple (what IXC reads with output_hidden_states=True)."""
        return self.vision_model(pixel_values, trace, trace_prefix)


class CLIPVisionTower(nn.Module):
    """Mirrors build_mlp.py: CLIPVisionTower (select_layer -1, select_feature 'patch')."""

    def __init__(self, vc, device=None, dtype=None):
        super().__init__()
        self.select_layer = -1
        self.select_feature = "patch"
        self.crop = vc.image_size          # upstream hard-codes 560
        self.grid = vc.image_size // vc.patch_size   # upstream hard-codes 40 (and 20 = grid / 2)
        self.vision_tower = CLIPVisionModel(vc, device, dtype)

    def feature_select(self, hidden_states):
        """Mirrors CLIPVisionTower.feature_select: hidden_states[-1] without the CLS token."""
        return hidden_states[self.select_layer][:, 1:]

    def forward(self, images, glb_GN, sub_GN, trace=None, trace_index=0):
        """Mirrors CLIPVisionTower.forward.

        images: list of normalized [1, 3, H, W] tensors (H, W multiples of 560). Per image: a global
        view F.interpolate(img, (560, 560), mode='bicubic') and the row-major 560x560 crops; ViT on
        [global, crops...]; each 40x40 patch grid merged 2x2 into 20x20 tokens of 4 Cv; global rows
        each followed by sub_GN, then glb_GN, then the crops tiled into a (20 h) x (20 w) grid whose
        rows are each followed by sub_GN. Returns ([1, sum Ti, 4 Cv], [Ti per image]). Tracing
        (names vit.{trace_index}.*) needs a single image, like img2emb."""
        assert type(images) is list
        S, G = self.crop, self.grid
        half = G // 2
        shapes = []
        input_imgs = []
        for img in images:
            _, C, H, W = img.shape
            shapes.append([H // S, W // S])
            sub_img = img.reshape(1, 3, H // S, S, W // S, S).permute(0, 2, 4, 1, 3, 5) \
                .reshape(-1, 3, S, S).contiguous()
            glb_img = F.interpolate(img.to(_upcast(img.dtype)), size=(S, S), mode="bicubic").to(sub_img.dtype)
            input_imgs.append(glb_img)
            input_imgs.append(sub_img)
        input_imgs = torch.cat(input_imgs, dim=0)
        dtype = self.vision_tower.vision_model.embeddings.patch_embedding.weight.dtype
        prefix = f"vit.{trace_index}"
        if trace is not None and len(images) != 1:
            raise ValueError("vision trace: one image per call (img2emb)")
        _record(trace, f"{prefix}.input", input_imgs, drop_batch=False)
        hidden_states = self.vision_tower(input_imgs.to(dtype=dtype), trace, prefix)
        image_features = self.feature_select(hidden_states).to(input_imgs.dtype)
        _record(trace, f"{prefix}.features", image_features, drop_batch=False)
        _, N, C = image_features.shape
        assert N == G ** 2

        output_imgs = []
        output_len = []
        for h, w in shapes:
            B_ = h * w
            glb_img = image_features[:1]
            glb_img = glb_img.reshape(1, G, G, C).reshape(1, half, 2, half, 2, C).contiguous() \
                .permute(0, 1, 3, 2, 4, 5).reshape(1, half, half, 4 * C).contiguous()
            temp_glb_GN = sub_GN.repeat(1, half, 1, 1)
            glb_img = torch.cat([glb_img, temp_glb_GN], dim=2).reshape(1, -1, 4 * C)

            sub_img = image_features[1:1 + B_]
            sub_img = sub_img.reshape(B_, G, G, C).reshape(B_, half, 2, half, 2, C).contiguous() \
                .permute(0, 1, 3, 2, 4, 5).reshape(B_, -1, 4 * C).contiguous()
            sub_img = sub_img.reshape(1, h, w, half, half, -1).permute(0, 1, 3, 2, 4, 5) \
                .reshape(1, h * half, w * half, 4 * C)
            temp_sub_GN = sub_GN.repeat(1, h * half, 1, 1)
            sub_img = torch.cat([sub_img, temp_sub_GN], dim=2).reshape(1, -1, 4 * C)

            output_imgs.append(torch.cat([glb_img, glb_GN, sub_img], dim=1))
            temp_len = int((h * w + 1) * half * half + 1 + (h + 1) * half)
            assert temp_len == output_imgs[-1].shape[1]
            output_len.append(temp_len)
            image_features = image_features[1 + h * w:]
        return torch.cat(output_imgs, dim=1), output_len


def build_vision_projector(input_dim, hidden_size, device=None, dtype=None):
    """Mirrors build_mlp.py: build_vision_projector ('mlp2x_gelu'): Linear(4 Cv, C) -> GELU (erf)
    -> Linear(C, C), with bias (upstream's hard-coded 4096s are 4 * 1024 = C = 4096)."""
    return nn.Sequential(nn.Linear(input_dim, hidden_size, device=device, dtype=dtype), nn.GELU(),
                         nn.Linear(hidden_size, hidden_size, device=device, dtype=dtype))


# ----------------------------------------------------------------------------------------------
# generation helpers (transformers 4.33 generation/logits_process.py, stopping_criteria.py)
# ----------------------------------------------------------------------------------------------

class LogitsProcessorList(list):
    """Mirrors transformers 4.33 LogitsProcessorList: applies each processor(input_ids, scores)."""

    def __call__(self, input_ids, scores):
        for processor in self:
            scores = processor(input_ids, scores)
        return scores


class RepetitionPenaltyLogitsProcessor:
    """Mirrors transformers 4.33 RepetitionPenaltyLogitsProcessor: for every id in input_ids,
    score < 0 -> score * penalty, else score / penalty (input_ids are the generation ids: the prompt
    ids when prompting with input_ids, only generated ids when prompting with embeddings)."""

    def __init__(self, penalty):
        if not (isinstance(penalty, float) and penalty > 0):
            raise ValueError(f"repetition_penalty must be a positive float, got {penalty!r}")
        self.penalty = penalty

    def __call__(self, input_ids, scores):
        score = torch.gather(scores, 1, input_ids)
        score = torch.where(score < 0, score * self.penalty, score / self.penalty)
        scores.scatter_(1, input_ids, score)
        return scores


class GenerateOutput:
    """Result of generate(): `sequences` as HF returns them (prompt ids + new ids for an input_ids
    prompt, only new ids for an embeddings prompt), `new_tokens` (list of ints), `scores` (processed
    next-token logits per step, [V] each, when output_scores)."""

    def __init__(self, sequences, new_tokens, scores):
        self.sequences = sequences
        self.new_tokens = new_tokens
        self.scores = scores


# ----------------------------------------------------------------------------------------------
# the full model (modeling_internlm_xcomposer2.py)
# ----------------------------------------------------------------------------------------------

class InternLMXComposer2ForCausalLM(nn.Module):
    """Mirrors modeling_internlm_xcomposer2.py: InternLMXComposer2ForCausalLM (inference paths).

    Parameters are created in `dtype` (float32 default, float64 allowed) on `device` ('cpu', or
    'meta' to list names and shapes without memory). Not present: video_mem_proj (the OmniLive copy
    of the file builds it; the IXC-2.5 checkpoint has no such tensors)."""

    def __init__(self, config, device=None, dtype=torch.float32, rope_table_dtype=None, rope_stateless=False):
        super().__init__()
        self.config = config
        self.compute_dtype = dtype
        vc = config.vision_config
        merged_dim = 4 * vc.hidden_size
        self.plora_glb_GN = nn.Parameter(torch.zeros([1, 1, merged_dim], device=device, dtype=dtype))
        self.plora_sub_GN = nn.Parameter(torch.zeros([1, 1, 1, merged_dim], device=device, dtype=dtype))
        self.model = InternLM2Model(config, device, dtype, rope_table_dtype, rope_stateless)
        self.vocab_size = config.vocab_size
        self.output = nn.Linear(config.hidden_size, config.vocab_size, bias=False, device=device, dtype=dtype)
        self.vit = CLIPVisionTower(vc, device, dtype)
        self.vision_proj = build_vision_projector(merged_dim, config.hidden_size, device, dtype)
        self.max_length = config.max_length
        self.tokenizer = None
        self.infer_mode = "base"

    # ---- weights -------------------------------------------------------------------------

    def plora_modules(self):
        """All PLoRA modules (wqkv, wo, w1, w2, w3 of every layer)."""
        return [m for m in self.modules() if isinstance(m, PLoRA)]

    def set_infer_mode(self, infer_mode):
        """Ours: merges the task LoRAs of `infer_mode` into every PLoRA (see PLoRA.set_infer_mode)."""
        for m in self.plora_modules():
            m.set_infer_mode(infer_mode)
        self.infer_mode = infer_mode

    # ---- vision ---------------------------------------------------------------------------

    @staticmethod
    def _ixc_utils():
        """Lazy import of the preprocessing reference (golden/reference/ixc_utils_ref.py, another
        helper's file); only needed when an image is given as a path."""
        import importlib
        if __package__:
            return importlib.import_module(__package__ + ".ixc_utils_ref")
        return importlib.import_module("ixc_utils_ref")

    def vis_processor(self, pil_image):
        """Mirrors the `vis_processor` attribute (ToTensor then Normalize with the CLIP mean/std),
        taken from the preprocessing reference. Returns [3, H, W] float32."""
        return self._ixc_utils().vis_processor(pil_image)

    def encode_img(self, image, hd_num=25, trace=None, trace_index=0):
        """Mirrors InternLMXComposer2ForCausalLM.encode_img. `image` is a normalized pixel tensor
        [1, 3, H, W] (or [3, H, W]), a callable `preprocess(hd_num) -> tensor`, or a path (image
        extensions -> Image_transform, video extensions -> load_video + frame2img + Video_transform,
        from ixc_utils_ref). Returns [1, Ti, C]."""
        if image is None:
            return None
        if isinstance(image, str):
            ext = os.path.splitext(image)[1].lower()
            utils = self._ixc_utils()
            if ext in IMAGE_EXTENSIONS:
                # the preprocessing reference's load_image adds convert('RGB') (its documented deviation)
                pil = utils.Image_transform(utils.load_image(image), hd_num=hd_num)
            elif ext in VIDEO_EXTENSIONS:
                frames = utils.load_video(image)
                pil = utils.Video_transform(utils.frame2img(frames, utils.get_font()), hd_num=hd_num)
            else:
                raise ValueError(f"image {image}: unknown extension {ext!r}")
            image = self.vis_processor(pil).unsqueeze(0)
        elif callable(image) and not isinstance(image, torch.Tensor):
            image = image(hd_num)
        if not isinstance(image, torch.Tensor):
            raise TypeError(f"image: expected a tensor, a callable or a path, got {type(image).__name__}")
        if image.dim() == 3:
            image = image.unsqueeze(0)
        return self.img2emb(image, trace, trace_index)[0]

    def img2emb(self, image, trace=None, trace_index=0):
        """Mirrors InternLMXComposer2ForCausalLM.img2emb: vit -> vision_proj. Returns
        (img_embeds [1, Ti, C], atts_img, img_target)."""
        image = image.to(self.compute_dtype)
        _record(trace, f"image.{trace_index}.pixel_values", image)
        img_embeds, img_split = self.vit([image], self.plora_glb_GN, self.plora_sub_GN, trace, trace_index)
        if len(img_split) > 1:
            raise ValueError("img2emb: batch size > 1 is not supported")
        _record(trace, f"image.{trace_index}.merged", img_embeds)
        img_embeds = self.vision_proj(img_embeds)
        _record(trace, f"image.{trace_index}.projected", img_embeds)
        atts_img = torch.ones(img_embeds.size()[:-1], dtype=torch.long)
        img_target = torch.ones(img_embeds.size()[:2], dtype=torch.long) * -100
        return img_embeds, atts_img, img_target

    # ---- prompts --------------------------------------------------------------------------

    def _embed_ids(self, ids):
        """tok_embeddings of a list of ids -> [1, T, C]."""
        return self.model.tok_embeddings(torch.tensor([ids], dtype=torch.long))

    def interleav_wrap_chat(self, query, image, history=(), meta_instruction="", max_length=16384, hd_num=24,
                            tokenizer=None, trace=None):
        """Mirrors InternLMXComposer2ForCausalLM.interleav_wrap_chat.

        Builds the chat template (optional system block, history turns, the query, the assistant
        prefix); with exactly one image and no <ImageHere> marker, the marker is prepended; splits
        at the markers; the first part is always tokenized with BOS (even if empty), later non-empty
        parts without; images (hd_num 6 each when there are several) go between the parts; stops
        after the part that pushes the running length past max_length, then cuts to max_length.
        Returns ({'inputs_embeds': [1, T, C]}, im_mask bool [1, T], untruncated length). Also traces
        `prompt.input_ids` i64 [T] (ours): text ids, -100 at image positions."""
        tokenizer = tokenizer or self.tokenizer
        self.max_length = max_length
        prompt = ""
        if meta_instruction:
            prompt += f"[UNUSED_TOKEN_146]system\n{meta_instruction}[UNUSED_TOKEN_145]\n"
        for record in history:
            prompt += (f"[UNUSED_TOKEN_146]user\n{record[0]}[UNUSED_TOKEN_145]\n"
                       f"[UNUSED_TOKEN_146]assistant\n{record[1]}[UNUSED_TOKEN_145]\n")
        prompt += f"[UNUSED_TOKEN_146]user\n{query}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n"

        image_nums = len(image)
        if image_nums == 1 and prompt.find("<ImageHere>") == -1:
            prompt = "<ImageHere>" + prompt
        parts = prompt.split("<ImageHere>")
        wrap_embeds, wrap_im_mask, wrap_ids = [], [], []
        temp_len = 0
        need_bos = True
        if len(parts) != image_nums + 1:
            print("Waring! The image number != given position!")
        if image_nums > 1:
            hd_num = 6
        for idx, part in enumerate(parts):
            if need_bos or len(part) > 0:
                ids = tokenizer(part, add_special_tokens=need_bos)
                need_bos = False
                part_embeds = self._embed_ids(ids)
                wrap_embeds.append(part_embeds)
                wrap_im_mask.append(torch.zeros(part_embeds.shape[:2]))
                wrap_ids.extend(ids)
                temp_len += part_embeds.shape[1]
            if idx < image_nums:
                img = self.encode_img(image[idx], hd_num, trace=trace, trace_index=idx)
                wrap_embeds.append(img)
                wrap_im_mask.append(torch.ones(img.shape[:2]))
                wrap_ids.extend([-100] * img.shape[1])
                temp_len += img.shape[1]
            if temp_len > self.max_length:
                break
        wrap_embeds = torch.cat(wrap_embeds, dim=1)[:, :self.max_length]
        wrap_im_mask = torch.cat(wrap_im_mask, dim=1)[:, :self.max_length].bool()
        _record(trace, "prompt.input_ids", torch.tensor([wrap_ids[:self.max_length]], dtype=torch.long))
        return {"inputs_embeds": wrap_embeds}, wrap_im_mask, temp_len

    @staticmethod
    def build_inputs(tokenizer, query, history=(), meta_instruction=""):
        """Mirrors InternLMXComposer2ForCausalLM.build_inputs (text-only prompt): the template starts
        with the literal '<s>' and is tokenized with add_special_tokens=True, so it begins [1, 1, ...]
        (the HF slow tokenizer maps the literal '<s>' to BOS). Returns input_ids [1, T]."""
        prompt = ""
        if meta_instruction:
            prompt += f"<s>[UNUSED_TOKEN_146]system\n{meta_instruction}[UNUSED_TOKEN_145]\n"
        else:
            prompt += "<s>"
        for record in history:
            prompt += (f"[UNUSED_TOKEN_146]user\n{record[0]}[UNUSED_TOKEN_145]\n"
                       f"[UNUSED_TOKEN_146]assistant\n{record[1]}[UNUSED_TOKEN_145]\n")
        prompt += f"[UNUSED_TOKEN_146]user\n{query}[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n"
        return torch.tensor([tokenizer(prompt, add_special_tokens=True)], dtype=torch.long)

    # ---- forward / generate ---------------------------------------------------------------

    def forward(self, input_ids=None, attention_mask=None, position_ids=None, past_key_values=None,
                inputs_embeds=None, use_cache=True, im_mask=None, infer_mode=None, trace=None):
        """Mirrors InternLMXComposer2ForCausalLM.forward (inference: no samples, no labels).
        Returns (logits [B, T, V] in float32 (float64 in float64 mode), next cache)."""
        if infer_mode is not None and infer_mode != self.infer_mode:
            self.set_infer_mode(infer_mode)
        if im_mask is None and inputs_embeds is not None:
            im_mask = torch.zeros(inputs_embeds.shape[:2]).to(inputs_embeds.device).bool()
        hidden_states, next_cache = self.model(input_ids=input_ids, attention_mask=attention_mask,
                                               position_ids=position_ids, past_key_values=past_key_values,
                                               inputs_embeds=inputs_embeds, use_cache=use_cache, im_mask=im_mask,
                                               trace=trace)
        logits = self.output(hidden_states).to(_upcast(hidden_states.dtype))
        _record(trace, "llm.logits", logits)
        return logits, next_cache

    @staticmethod
    def prepare_inputs_for_generation(input_ids, past_key_values=None, attention_mask=None, inputs_embeds=None,
                                      im_mask=None, infer_mode="base", position_ids=None):
        """Mirrors InternLMXComposer2ForCausalLM.prepare_inputs_for_generation: with a cache keep only
        the new ids; position_ids = cumsum(attention_mask) - 1 (last ones with a cache); embeddings only
        on the first step."""
        if past_key_values is not None:
            past_length = past_key_values[0][0].shape[2]
            if input_ids.shape[1] > past_length:
                remove_prefix_length = past_length
            else:
                remove_prefix_length = input_ids.shape[1] - 1
            input_ids = input_ids[:, remove_prefix_length:]
        if attention_mask is not None and position_ids is None:
            position_ids = attention_mask.long().cumsum(-1) - 1
            position_ids.masked_fill_(attention_mask == 0, 1)
            if past_key_values:
                position_ids = position_ids[:, -input_ids.shape[1]:]
        if inputs_embeds is not None and past_key_values is None:
            model_inputs = {"inputs_embeds": inputs_embeds}
        else:
            model_inputs = {"input_ids": input_ids}
        model_inputs.update(position_ids=position_ids, past_key_values=past_key_values, use_cache=True,
                            attention_mask=attention_mask, im_mask=im_mask, infer_mode=infer_mode)
        return model_inputs

    @torch.no_grad()
    def generate(self, input_ids=None, inputs_embeds=None, im_mask=None, attention_mask=None, max_new_tokens=20,
                 eos_token_id=CHAT_EOS_IDS, logits_processor=None, stopping_criteria=None, infer_mode="base",
                 trace=None, output_scores=False):
        """Mirrors transformers 4.33 GenerationMixin.generate -> greedy_search for batch 1.

        For an embeddings prompt the generation ids start empty (so max_length = max_new_tokens and
        HF returns only new tokens), attention_mask = ones; every step: prepare_inputs_for_generation,
        forward, last-position logits -> logits_processor(ids, logits) -> argmax (first max), append,
        attention_mask += [1]; stop when the token is one of eos_token_id (it is kept), at max_length,
        or when a stopping criterion (callable(ids, scores) -> bool) fires. Decode steps feed
        input_ids, so their im_mask is all False, at positions L + t. `trace` records the prefill."""
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("generate: give exactly one of input_ids and inputs_embeds")
        if inputs_embeds is not None:
            batch = inputs_embeds.shape[0]
            ids = torch.ones((batch, 0), dtype=torch.long)
            prompt_len = inputs_embeds.shape[1]
        else:
            batch = input_ids.shape[0]
            ids = input_ids
            prompt_len = input_ids.shape[1]
        if batch != 1:
            raise ValueError("generate: batch 1 only")
        if attention_mask is None:
            attention_mask = torch.ones((batch, prompt_len), dtype=torch.long)
        processors = LogitsProcessorList(logits_processor or [])
        eos = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)
        start = ids.shape[1]
        max_length = max_new_tokens + start
        past = None
        scores_out = []
        first = True
        while True:
            model_inputs = self.prepare_inputs_for_generation(ids, past_key_values=past, attention_mask=attention_mask,
                                                              inputs_embeds=inputs_embeds, im_mask=im_mask,
                                                              infer_mode=infer_mode)
            logits, past = self.forward(**model_inputs, trace=trace if first else None)
            first = False
            next_token_logits = logits[:, -1, :]
            next_token_scores = processors(ids, next_token_logits)
            if output_scores:
                scores_out.append(next_token_scores[0].detach().clone())
            next_tokens = torch.argmax(next_token_scores, dim=-1)
            ids = torch.cat([ids, next_tokens[:, None]], dim=-1)
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones((batch, 1))], dim=-1)
            if int(next_tokens[0]) in eos:
                break
            if ids.shape[-1] >= max_length:
                break
            if stopping_criteria and any(c(ids, next_token_scores) for c in stopping_criteria):
                break
        return GenerateOutput(ids, ids[0, start:].tolist(), scores_out)

    @torch.no_grad()
    def chat(self, tokenizer, query, image=(), hd_num=24, history=(), max_new_tokens=1024, do_sample=True,
             num_beams=1, temperature=1.0, top_p=0.8, repetition_penalty=1.005, infer_mode="base", use_meta=False,
             meta_instruction=DEFAULT_META_INSTRUCTION, trace=None):
        """Mirrors InternLMXComposer2ForCausalLM.chat for do_sample=False, num_beams=1 (greedy; the
        repetition penalty still applies, as in HF). image=None -> build_inputs (text-only, '<s>'
        literal, ids [1, 1, ...]); anything else, including upstream's default empty list, goes
        through interleav_wrap_chat (embeddings, one BOS). Returns (response, history, new token
        ids). Sampling and beam search are not implemented yet (they need the HF warpers / beam scorer)."""
        if do_sample or num_beams != 1:
            raise NotImplementedError("chat: only greedy decoding (do_sample=False, num_beams=1) so far")
        if not use_meta:
            meta_instruction = ""
        if image is None:
            input_ids = self.build_inputs(tokenizer, query, history, meta_instruction)
            gen_inputs = dict(input_ids=input_ids, im_mask=torch.zeros(input_ids.shape[:2]).bool())
        else:
            inputs, im_mask, _ = self.interleav_wrap_chat(query, image, history=history,
                                                          meta_instruction=meta_instruction, hd_num=hd_num,
                                                          tokenizer=tokenizer, trace=trace)
            gen_inputs = dict(inputs_embeds=inputs["inputs_embeds"], im_mask=im_mask)
        processors = []
        if repetition_penalty is not None and repetition_penalty != 1.0:
            processors.append(RepetitionPenaltyLogitsProcessor(float(repetition_penalty)))
        eos_token_id = [tokenizer.eos_token_id, tokenizer.convert_tokens_to_ids("[UNUSED_TOKEN_145]")]
        out = self.generate(**gen_inputs, max_new_tokens=max_new_tokens, eos_token_id=eos_token_id,
                            logits_processor=processors, infer_mode=infer_mode, trace=trace)
        response = tokenizer.decode(out.new_tokens, skip_special_tokens=True)
        response = response.split("[UNUSED_TOKEN_145]")[0]
        return response, list(history) + [(query, response)], out.new_tokens

    def reset_rope_caches(self):
        """Ours: puts every rotary module back into its just-constructed state (the upstream dynamic
        NTK quirk keeps state across calls; goldens that need independent runs call this)."""
        for layer in self.model.layers:
            rot = layer.attention.rotary_emb
            rot.register_buffer("inv_freq", rot._compute_inv_freq(rot.base, rot.inv_freq.device), persistent=False)
            rot._set_cos_sin_cache(rot.max_position_embeddings, rot.inv_freq.device,
                                   rot.table_dtype or torch.get_default_dtype())


# ----------------------------------------------------------------------------------------------
# checkpoint loading
# ----------------------------------------------------------------------------------------------

#: Non-persistent buffers that some CLIP checkpoints still carry; accepted and checked, not loaded.
OPTIONAL_BUFFER_KEYS = ("vit.vision_tower.vision_model.embeddings.position_ids",)


def task_lora_ranks_from_state_dict(state_dict):
    """Reads the task LoRA ranks from the tensor shapes (`...lora_<name>_A.weight` is [R, in]); all
    occurrences of one set must agree."""
    ranks = {}
    for name, t in state_dict.items():
        for n in TASK_LORA_NAMES:
            if name.endswith(f".lora_{n}_A.weight"):
                r = int(t.shape[0])
                if ranks.setdefault(n, r) != r:
                    raise ValueError(f"{name}: task LoRA rank {r}, other lora_{n} tensors have {ranks[n]}")
    return ranks


def load_state_dict_files(folder, form="auto"):
    """Loads the sharded (or single-file) weights of an HF-style folder without executing pickle
    code: 'safetensors' via golden/common/safetensors_io.py, 'bin' via torch.load(weights_only=True).
    Returns (dict name -> tensor in the stored dtype, form used)."""
    st_index = os.path.join(folder, "model.safetensors.index.json")
    bin_index = os.path.join(folder, "pytorch_model.bin.index.json")
    if form == "auto":
        if os.path.exists(st_index) or os.path.exists(os.path.join(folder, "model.safetensors")):
            form = "safetensors"
        else:
            form = "bin"
    index = st_index if form == "safetensors" else bin_index
    if os.path.exists(index):
        with open(index, "r", encoding="utf-8") as f:
            weight_map = json.load(f)["weight_map"]
        files = sorted(set(weight_map.values()))
    else:
        weight_map = None
        files = ["model.safetensors" if form == "safetensors" else "pytorch_model.bin"]
    state = {}
    for fn in files:
        path = os.path.join(folder, fn)
        if form == "safetensors":
            from golden.common import safetensors_io
            part, _ = safetensors_io.load(path)
        else:
            part = torch.load(path, map_location="cpu", weights_only=True)
        for k, v in part.items():
            if k in state:
                raise ValueError(f"{path}: tensor {k} appears in two shards")
            if weight_map is not None and weight_map.get(k) != fn:
                raise ValueError(f"{path}: tensor {k} is not mapped to this shard by the index")
            state[k] = v
    if weight_map is not None and set(weight_map) != set(state):
        missing = sorted(set(weight_map) - set(state))[:3]
        raise ValueError(f"{folder}: index names tensors the shards lack, e.g. {missing}")
    return state, form


def load_pretrained(folder, dtype=torch.float32, form="auto", rope_table_dtype=None, rope_stateless=False):
    """Builds the reference model from an HF-style folder (config.json + sharded .bin or
    .safetensors): stored (bf16) weights are converted to `dtype`; task LoRA ranks come from the
    shapes. Returns (model, state_dict as stored)."""
    config = IXCConfig.from_json_file(os.path.join(folder, "config.json"))
    state, _ = load_state_dict_files(folder, form)
    for k in OPTIONAL_BUFFER_KEYS:
        if k in state:
            v = state.pop(k)
            if not torch.equal(v.reshape(-1).long(), torch.arange(v.numel())):
                raise ValueError(f"{k}: expected arange({v.numel()})")
    config.task_lora_ranks = task_lora_ranks_from_state_dict(state)
    model = InternLMXComposer2ForCausalLM(config, dtype=dtype, rope_table_dtype=rope_table_dtype,
                                          rope_stateless=rope_stateless)
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise ValueError(f"{folder}: missing tensors {missing[:5]}, unexpected tensors {unexpected[:5]}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(expected[k].shape):
            raise ValueError(f"{k}: shape {tuple(v.shape)}, expected {tuple(expected[k].shape)}")
    model.load_state_dict({k: v.to(dtype) for k, v in state.items()}, strict=True)
    model.eval()
    model.requires_grad_(False)
    return model, state
