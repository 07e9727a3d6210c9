"""Checks the tiny checkpoint and exercises the reference model on it (PyTorch only).

1. Loads both forms with our own loaders (torch.load(weights_only=True) for the .bin shards,
   golden/common/safetensors_io.load for the .safetensors shards) and asserts: same names, bf16, the
   same bits, indexes consistent with the shards, names == the reference module's state-dict keys.
2. Text-only prompt (build_inputs, '<s>' literal -> ids [1, 1, ...]) and a prompt with one random
   normalized 560x560 pixel tensor (interleav_wrap_chat): prefill + 8 greedy tokens each.
3. Self-consistency: KV-cache decode logits == a full forward over prompt + generated tokens;
   the trace has every documented name with the documented shape; float64 vs float32 gap; Partial
   LoRA and task LoRA visibly change the logits; the dynamic-NTK cache quirk persists and
   reset_rope_caches() undoes it; runs are bit-identical.

Run from the repository root: /usr/bin/python3 golden/model/check_tiny.py
"""
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from golden.common import safetensors_io  # noqa: E402
from golden.reference import modeling_ref  # noqa: E402
from golden.reference.tokenizer_ref import InternLM2TokenizerRef  # noqa: E402

TINY = os.path.join(REPO, "golden", "model", "tiny")
CLIP_MEAN = torch.tensor((0.48145466, 0.4578275, 0.40821073)).view(3, 1, 1)
CLIP_STD = torch.tensor((0.26862954, 0.26130258, 0.27577711)).view(3, 1, 1)


def load_bin_form(folder):
    with open(os.path.join(folder, "pytorch_model.bin.index.json")) as f:
        index = json.load(f)
    out = {}
    for fn in sorted(set(index["weight_map"].values())):
        part = torch.load(os.path.join(folder, fn), map_location="cpu", weights_only=True)
        for k, v in part.items():
            assert index["weight_map"][k] == fn, k
            out[k] = v
    return out, index


def load_safetensors_form(folder):
    with open(os.path.join(folder, "model.safetensors.index.json")) as f:
        index = json.load(f)
    out = {}
    for fn in sorted(set(index["weight_map"].values())):
        part, meta = safetensors_io.load(os.path.join(folder, fn))
        assert meta.get("format") == "pt", fn
        for k, v in part.items():
            assert index["weight_map"][k] == fn, k
            out[k] = v
    return out, index


def random_pixels(seed, height=560, width=560):
    """A random normalized image tensor [1, 3, H, W] (uint8 noise -> /255 -> CLIP normalize)."""
    g = torch.Generator().manual_seed(seed)
    u8 = torch.randint(0, 256, (3, height, width), generator=g, dtype=torch.uint8)
    return ((u8.float() / 255 - CLIP_MEAN) / CLIP_STD).unsqueeze(0)


def expected_trace_shapes(cfg, T, n_vit, Ti):
    vc = cfg.vision_config
    C, Cv, V = cfg.hidden_size, vc.hidden_size, cfg.vocab_size
    P = (vc.image_size // vc.patch_size) ** 2
    qkv = (cfg.num_attention_heads + 2 * cfg.num_key_value_heads) * (C // cfg.num_attention_heads)
    shapes = {
        "image.0.pixel_values": (3, 560, 560), "vit.0.input": (n_vit, 3, 560, 560),
        "vit.0.embeddings": (n_vit, P + 1, Cv), "vit.0.pre_layrnorm": (n_vit, P + 1, Cv),
        "vit.0.features": (n_vit, P, Cv), "image.0.merged": (Ti, 4 * Cv), "image.0.projected": (Ti, C),
        "llm.input_embeds": (T, C), "llm.im_mask": (T,), "llm.position_ids": (T,), "llm.norm": (T, C),
        "llm.logits": (T, V), "prompt.input_ids": (T,),
    }
    for l in range(vc.num_hidden_layers):
        shapes[f"vit.0.layer.{l}"] = (n_vit, P + 1, Cv)
    for i in range(cfg.num_hidden_layers):
        shapes.update({f"llm.layer.{i}.attention_norm": (T, C), f"llm.layer.{i}.qkv": (T, qkv),
                       f"llm.layer.{i}.attn_out": (T, C), f"llm.layer.{i}.ffn_norm": (T, C),
                       f"llm.layer.{i}.ffn_out": (T, C), f"llm.layer.{i}.output": (T, C)})
    return shapes


def full_forward_logits(model, prompt, new_tokens, im_mask=None):
    """Logits of one forward over prompt + new_tokens[:-1] (no cache), rows predicting new tokens."""
    with torch.no_grad():
        if isinstance(prompt, torch.Tensor) and prompt.dtype == torch.long:
            ids = torch.cat([prompt, torch.tensor([new_tokens[:-1]], dtype=torch.long)], dim=1)
            logits, _ = model(input_ids=ids, use_cache=False)
            L = prompt.shape[1]
        else:
            extra = model.model.tok_embeddings(torch.tensor([new_tokens[:-1]], dtype=torch.long))
            embeds = torch.cat([prompt, extra], dim=1)
            mask = torch.cat([im_mask, torch.zeros(1, len(new_tokens) - 1, dtype=torch.bool)], dim=1)
            logits, _ = model(inputs_embeds=embeds, im_mask=mask, use_cache=False)
            L = prompt.shape[1]
    return logits[0, L - 1:]


def main():
    torch.set_num_threads(1)
    # ---- 1. both forms ---------------------------------------------------------------------
    sd_bin, idx_bin = load_bin_form(os.path.join(TINY, "bin"))
    sd_st, idx_st = load_safetensors_form(os.path.join(TINY, "safetensors"))
    assert set(sd_bin) == set(sd_st), "forms differ in names"
    for k in sd_bin:
        a, b = sd_bin[k], sd_st[k]
        assert a.dtype == b.dtype == torch.bfloat16, k
        assert a.shape == b.shape and torch.equal(a.view(torch.int16), b.view(torch.int16)), k
    assert idx_bin["metadata"] == idx_st["metadata"]
    assert idx_bin["metadata"]["total_size"] == sum(2 * v.numel() for v in sd_bin.values())
    shard_of = lambda idx: {k: v.split("-")[1] for k, v in idx["weight_map"].items()}  # noqa: E731
    assert shard_of(idx_bin) == shard_of(idx_st)
    print(f"forms: {len(sd_bin)} tensors, identical bf16 bits in bin and safetensors, "
          f"total_size {idx_bin['metadata']['total_size']}")

    model, stored = modeling_ref.load_pretrained(os.path.join(TINY, "safetensors"), dtype=torch.float32)
    model_b, _ = modeling_ref.load_pretrained(os.path.join(TINY, "bin"), dtype=torch.float32)
    assert list(model.state_dict()) == list(model_b.state_dict())
    assert set(model.state_dict()) == set(sd_bin)
    for k, v in model.state_dict().items():
        assert torch.equal(v, model_b.state_dict()[k]), k
    cfg = model.config
    print(f"reference model: task LoRA ranks {cfg.task_lora_ranks}, "
          f"{sum(v.numel() for v in model.state_dict().values())} parameters")

    tok = InternLM2TokenizerRef(os.path.join(TINY, "safetensors", "tokenizer.model"))
    sp_ids = tok.sp_model.encode("Hello world")
    assert tok("Hello world") == [1] + sp_ids
    assert tok("<s>Hello") == [1, 1] + tok.sp_model.encode("Hello")
    assert tok("a </s> b", add_special_tokens=False) == tok.sp_model.encode("a") + [2] + tok.sp_model.encode("b")

    # ---- 2a. text-only prompt -----------------------------------------------------------------
    query = "Describe the weather today in one sentence."
    input_ids = model.build_inputs(tok, query)
    assert input_ids[0, :3].tolist() == [1, 1, 92543], input_ids[0, :3]
    text_out = model.generate(input_ids=input_ids, max_new_tokens=8, eos_token_id=[2, 92542], output_scores=True)
    full = full_forward_logits(model, input_ids, text_out.new_tokens)
    text_gap = max((full[t] - text_out.scores[t]).abs().max().item() for t in range(len(text_out.new_tokens)))
    assert text_gap < 1e-4, text_gap
    print(f"text prompt: {input_ids.shape[1]} ids, first {input_ids[0, :6].tolist()}; greedy -> "
          f"{text_out.new_tokens} {tok.decode(text_out.new_tokens)!r}; cache vs full forward max |dlogit| "
          f"{text_gap:.2e}")

    # ---- 2b. image prompt -------------------------------------------------------------------
    pixels = random_pixels(1)
    trace = {}
    with torch.no_grad():
        inputs, im_mask, temp_len = model.interleav_wrap_chat("What is in the image?", [pixels], tokenizer=tok,
                                                              trace=trace)
    embeds = inputs["inputs_embeds"]
    T = embeds.shape[1]
    img_out = model.generate(inputs_embeds=embeds, im_mask=im_mask, max_new_tokens=8, eos_token_id=[2, 92542],
                             trace=trace, output_scores=True)
    Ti = int(im_mask.sum())
    assert Ti == 841 and temp_len == T
    shapes = expected_trace_shapes(cfg, T, 2, Ti)
    missing = sorted(set(shapes) - set(trace))
    assert not missing, missing
    for name, shape in shapes.items():
        assert tuple(trace[name].shape) == shape, (name, tuple(trace[name].shape), shape)
    assert trace["llm.im_mask"].dtype == torch.uint8 and trace["llm.position_ids"].dtype == torch.int64
    assert torch.equal(trace["llm.position_ids"], torch.arange(T))
    assert torch.equal(trace["image.0.projected"], trace["llm.input_embeds"][1:1 + Ti])
    full = full_forward_logits(model, embeds, img_out.new_tokens, im_mask)
    img_gap = max((full[t] - img_out.scores[t]).abs().max().item() for t in range(len(img_out.new_tokens)))
    assert img_gap < 1e-4, img_gap
    print(f"image prompt: T={T} (image tokens {Ti}, text {T - Ti}); trace has {len(trace)} tensors; greedy -> "
          f"{img_out.new_tokens}; cache vs full forward max |dlogit| {img_gap:.2e}")

    # determinism
    again = model.generate(inputs_embeds=embeds, im_mask=im_mask, max_new_tokens=8, eos_token_id=[2, 92542],
                           output_scores=True)
    assert again.new_tokens == img_out.new_tokens
    assert all(torch.equal(a, b) for a, b in zip(again.scores, img_out.scores))

    # ---- 3. precision and LoRA effects --------------------------------------------------------
    with torch.no_grad():
        logits32, _ = model(inputs_embeds=embeds, im_mask=im_mask, use_cache=False)
        model64, _ = modeling_ref.load_pretrained(os.path.join(TINY, "safetensors"), dtype=torch.float64)
        inputs64, mask64, _ = model64.interleav_wrap_chat("What is in the image?", [pixels], tokenizer=tok)
        logits64, _ = model64(inputs_embeds=inputs64["inputs_embeds"], im_mask=mask64, use_cache=False)
        gap64 = (logits32.double() - logits64).abs().max().item()
        no_plora, _ = model(inputs_embeds=embeds, im_mask=torch.zeros_like(im_mask), use_cache=False)
        plora_effect = (no_plora - logits32).abs().max().item()
        web, _ = model(inputs_embeds=embeds, im_mask=im_mask, use_cache=False, infer_mode="web")
        write, _ = model(inputs_embeds=embeds, im_mask=im_mask, use_cache=False, infer_mode="write")
        base, _ = model(inputs_embeds=embeds, im_mask=im_mask, use_cache=False, infer_mode="base")
    assert torch.equal(base, logits32)
    print(f"float32 vs float64 logits max |d| {gap64:.2e}; Partial LoRA effect {plora_effect:.3f}; "
          f"task LoRA effect web {(web - base).abs().max().item():.3f}, write {(write - base).abs().max().item():.3f}")
    assert plora_effect > 0.1 and (web - base).abs().max() > 0.1 and (write - base).abs().max() > 0.1
    assert gap64 < 1e-3

    # ---- 4. dynamic NTK quirk --------------------------------------------------------------
    short = input_ids
    with torch.no_grad():
        before, _ = model(input_ids=short, use_cache=False)
        big = random_pixels(2, 1120, 1120)          # 2x2 crops: 2061 image tokens > 2048
        inputs_l, mask_l, _ = model.interleav_wrap_chat("Long.", [big], tokenizer=tok)
        Tl = inputs_l["inputs_embeds"].shape[1]
        hidden, _ = model.model(inputs_embeds=inputs_l["inputs_embeds"], im_mask=mask_l, use_cache=False)
        rot = model.model.layers[0].attention.rotary_emb
        grown = rot.max_seq_len_cached
        after, _ = model(input_ids=short, use_cache=False)
        model.reset_rope_caches()
        reset, _ = model(input_ids=short, use_cache=False)
    quirk = (after - before).abs().max().item()
    assert Tl > cfg.max_position_embeddings and grown == Tl and quirk > 0 and torch.equal(reset, before)
    print(f"dynamic NTK: a {Tl}-token prompt grew the cache to {grown}; a later short prompt then differs by "
          f"{quirk:.2e} (upstream quirk); reset_rope_caches restores it exactly")
    print("check_tiny: OK")


if __name__ == "__main__":
    main()
