"""Checks modeling_ref.py against independent re-statements of IXC25-SEMANTICS.md (float64).

Each check writes the stage the way the semantics document describes it (explicit loops, per-head
attention, pairwise rotations, torch.nn.MultiheadAttention for CLIP) and compares it with the
upstream-structured reference code on the tiny checkpoint. Run from the repository root:

    /usr/bin/python3 golden/reference/selftest_ref.py
"""
import math
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from golden.reference import modeling_ref as ref  # noqa: E402
from golden.reference.tokenizer_ref import InternLM2TokenizerRef  # noqa: E402

TINY = os.path.join(REPO, "golden", "model", "tiny", "safetensors")


def close(a, b, tol, what):
    d = (a - b).abs().max().item()
    assert d <= tol, f"{what}: max |d| {d:.3e} > {tol:.1e}"
    print(f"  ok {what} (max |d| {d:.1e})")


def rope_pairwise(x, positions, inv_freq):
    """Rotation of (x_i, x_{i+D/2}) by angle p * inv_freq[i], written per pair (SEMANTICS 6)."""
    D = x.shape[-1]
    out = torch.empty_like(x)
    for t, p in enumerate(positions):
        for i in range(D // 2):
            a = float(p) * float(inv_freq[i])
            c, s = math.cos(a), math.sin(a)
            x1, x2 = x[..., t, i], x[..., t, i + D // 2]
            out[..., t, i] = x1 * c - x2 * s
            out[..., t, i + D // 2] = x2 * c + x1 * s
    return out


def attention_by_heads(model, layer, x, positions):
    """InternLM2 attention per SEMANTICS 5/6: interleaved wqkv groups, per-head causal softmax."""
    cfg = model.config
    H, Hkv = cfg.num_attention_heads, cfg.num_key_value_heads
    D = cfg.hidden_size // H
    n_rep = H // Hkv
    att = model.model.layers[layer].attention
    qkv = x @ att.wqkv.weight.T                       # [T, (H + 2Hkv) D]
    T = x.shape[0]
    groups = qkv.view(T, Hkv, n_rep + 2, D)
    inv_freq = att.rotary_emb.inv_freq.double()
    heads = []
    for q_head in range(H):
        g = q_head // n_rep
        q = rope_pairwise(groups[:, g, q_head % n_rep, :], positions, inv_freq)
        k = rope_pairwise(groups[:, g, n_rep, :], positions, inv_freq)
        v = groups[:, g, n_rep + 1, :]
        s = (q @ k.T) / math.sqrt(D)
        s = s.masked_fill(torch.ones(T, T).triu(1).bool(), float("-inf"))
        heads.append(torch.softmax(s, dim=-1) @ v)
    return torch.cat(heads, dim=-1) @ att.wo.weight.T


def main():
    torch.set_num_threads(1)
    # float64 everywhere, RoPE tables included (upstream's float32 tables are checked separately)
    model, _ = ref.load_pretrained(TINY, dtype=torch.float64, rope_table_dtype=torch.float64)
    model32rope, _ = ref.load_pretrained(TINY, dtype=torch.float64)
    cfg = model.config
    g = torch.Generator().manual_seed(7)
    print("InternLM2")

    # attention: interleaved layout, GQA, rope, causal softmax (no image positions -> base weights)
    x = torch.randn(1, 9, cfg.hidden_size, generator=g, dtype=torch.float64)
    mask = torch.zeros(1, 9, dtype=torch.bool)
    pos = torch.arange(0, 9).unsqueeze(0)  # upstream gathers cos[:kv_len][position_ids]
    attn_mask = model.model._prepare_decoder_attention_mask(None, (1, 9), x, 0)
    got, _ = model.model.layers[1].attention(x, attention_mask=attn_mask, position_ids=pos, im_mask=mask)
    by_heads = attention_by_heads(model, 1, x[0], pos[0].tolist())
    close(got[0], by_heads, 1e-12, "attention vs per-head restatement")
    got32, _ = model32rope.model.layers[1].attention(x, attention_mask=attn_mask, position_ids=pos, im_mask=mask)
    close(got32[0], by_heads, 1e-6, "same with upstream's float32 RoPE tables")

    # KV cache: two chunks == one pass
    full, _ = model.model.layers[0].attention(x, attention_mask=attn_mask, position_ids=pos, im_mask=mask)
    m1 = model.model._prepare_decoder_attention_mask(None, (1, 5), x, 0)
    a, past = model.model.layers[0].attention(x[:, :5], attention_mask=m1, position_ids=pos[:, :5],
                                              im_mask=mask[:, :5], use_cache=True)
    m2 = model.model._prepare_decoder_attention_mask(torch.ones(1, 9), (1, 4), x, 5)
    b, _ = model.model.layers[0].attention(x[:, 5:], attention_mask=m2, position_ids=pos[:, 5:],
                                           im_mask=mask[:, 5:], past_key_value=past)
    close(torch.cat([a, b], 1), full, 1e-12, "attention with KV cache in two chunks")

    # Partial LoRA: only masked rows get x A^T B^T (scale 1); all-false mask is the plain linear
    lin = model.model.layers[0].feed_forward.w1
    im = torch.tensor([[True, False, True, False, False, True, False, False, False]])
    y = lin(x, im)[0]
    expect = x[0] @ lin.weight.T + im[0, :, None].double() * ((x[0] @ lin.Plora_A.weight.T) @ lin.Plora_B.weight.T)
    close(y, expect, 1e-12, "PLoRA on image rows only")
    close(lin(x, mask)[0], x[0] @ lin.weight.T, 1e-12, "PLoRA with an all-false mask")

    # task LoRA merge (ours): write = W + B_sft A_sft + B_dpo A_dpo
    model.set_infer_mode("write")
    w = lin.weight + lin.lora_sft_B.weight @ lin.lora_sft_A.weight + lin.lora_dpo_B.weight @ lin.lora_dpo_A.weight
    close(lin(x, mask)[0], x[0] @ w.T, 1e-12, "infer_mode write merges sft + dpo")
    model.set_infer_mode("base")

    # RMSNorm
    n = model.model.layers[0].attention_norm
    expect = x / torch.sqrt((x * x).mean(-1, keepdim=True) + cfg.rms_norm_eps) * n.weight
    close(n(x), expect, 1e-12, "RMSNorm")

    # MLP
    mlp = model.model.layers[0].feed_forward
    expect = (F.silu(x[0] @ mlp.w1.weight.T) * (x[0] @ mlp.w3.weight.T)) @ mlp.w2.weight.T
    close(mlp(x, mask)[0], expect, 1e-12, "MLP w2(silu(w1 x) * w3 x)")

    # dynamic NTK base and persistence
    rot = model.model.layers[0].attention.rotary_emb
    L = 3000
    rot(torch.zeros(1, dtype=torch.float64), seq_len=L)
    D = rot.dim
    base = cfg.rope_theta * (2.0 * L / cfg.max_position_embeddings - 1.0) ** (D / (D - 2))
    expect = torch.tensor([1.0 / base ** (2 * i / D) for i in range(D // 2)], dtype=torch.float64)
    close(rot.inv_freq.double(), expect, 1e-6 * expect.abs().max().item(), "dynamic NTK inv_freq for L=3000")
    rot32 = model32rope.model.layers[0].attention.rotary_emb
    rot32(torch.zeros(1, dtype=torch.float64), seq_len=L)
    assert rot32.inv_freq.dtype == torch.float32 and rot32.cos_cached.dtype == torch.float32
    close(rot32.inv_freq.double(), expect, 1e-6 * expect.abs().max().item(), "same, upstream float32 inv_freq")
    rot(torch.zeros(1, dtype=torch.float64), seq_len=10)
    assert rot.max_seq_len_cached == L, "cache must not shrink"
    model.reset_rope_caches()
    assert rot.max_seq_len_cached == cfg.max_position_embeddings

    print("vision")
    # CLIP encoder layer vs torch.nn.MultiheadAttention
    layer = model.vit.vision_tower.vision_model.encoder.layers[0]
    vc = cfg.vision_config
    mha = torch.nn.MultiheadAttention(vc.hidden_size, vc.num_attention_heads, batch_first=True, dtype=torch.float64)
    sa = layer.self_attn
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([sa.q_proj.weight, sa.k_proj.weight, sa.v_proj.weight]))
        mha.in_proj_bias.copy_(torch.cat([sa.q_proj.bias, sa.k_proj.bias, sa.v_proj.bias]))
        mha.out_proj.weight.copy_(sa.out_proj.weight)
        mha.out_proj.bias.copy_(sa.out_proj.bias)
    v = torch.randn(2, 50, vc.hidden_size, generator=g, dtype=torch.float64)
    h = layer.layer_norm1(v)
    h = v + mha(h, h, h, need_weights=False)[0]
    z = layer.layer_norm2(h) @ layer.mlp.fc1.weight.T + layer.mlp.fc1.bias
    expect = h + (z * torch.sigmoid(1.702 * z)) @ layer.mlp.fc2.weight.T + layer.mlp.fc2.bias
    close(layer(v), expect, 1e-12, "CLIP encoder layer vs nn.MultiheadAttention")

    # 2x2 merge and separator layout (SEMANTICS 10/11) with injected ViT features
    tower = model.vit
    G = tower.grid
    Cv = vc.hidden_size
    for h_, w_ in ((1, 1), (2, 3), (3, 1)):
        feats = torch.randn(1 + h_ * w_, G * G + 1, Cv, generator=g, dtype=torch.float64)
        orig = tower.vision_tower.forward
        tower.vision_tower.forward = lambda px, trace=None, prefix="": (feats,)
        try:
            img = torch.zeros(1, 3, 560 * h_, 560 * w_, dtype=torch.float64)
            got, lens = tower([img], model.plora_glb_GN, model.plora_sub_GN)
        finally:
            tower.vision_tower.forward = orig
        grid = feats[:, 1:].reshape(-1, G, G, Cv)

        def cell(k, i, j):
            return torch.cat([grid[k, 2 * i, 2 * j], grid[k, 2 * i, 2 * j + 1], grid[k, 2 * i + 1, 2 * j],
                              grid[k, 2 * i + 1, 2 * j + 1]])
        sub_gn = model.plora_sub_GN.reshape(-1)
        rows = []
        for i in range(G // 2):
            rows += [cell(0, i, j) for j in range(G // 2)] + [sub_gn]
        rows.append(model.plora_glb_GN.reshape(-1))
        for r in range(h_ * G // 2):
            for c in range(w_ * G // 2):
                rows.append(cell(1 + (r // (G // 2)) * w_ + c // (G // 2), r % (G // 2), c % (G // 2)))
            rows.append(sub_gn)
        expect = torch.stack(rows)
        assert lens == [(h_ * w_ + 1) * 400 + 1 + (h_ + 1) * 20] == [expect.shape[0]]
        close(got[0], expect, 0.0, f"merge layout for a {h_}x{w_} grid ({lens[0]} tokens)")

    print("generation and prompt")
    tok = InternLM2TokenizerRef(os.path.join(TINY, "tokenizer.model"))
    assert tok("a <s> b", add_special_tokens=False) == tok.sp_model.encode("a") + [1] + tok.sp_model.encode("b")
    ids = ref.InternLMXComposer2ForCausalLM.build_inputs(tok, "hi", history=[("q", "a")])
    expect = [1, 1] + tok.sp_model.encode("[UNUSED_TOKEN_146]user\nq[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]assistant\n"
                                          "a[UNUSED_TOKEN_145]\n[UNUSED_TOKEN_146]user\nhi[UNUSED_TOKEN_145]\n"
                                          "[UNUSED_TOKEN_146]assistant\n")
    assert ids[0].tolist() == expect
    print("  ok build_inputs = [1, 1] + template ids")
    # an empty image list goes through interleav_wrap_chat: one BOS, embeddings
    inputs, im_mask, _ = model.interleav_wrap_chat("hi", [], history=[("q", "a")], tokenizer=tok)
    emb = model.model.tok_embeddings(torch.tensor([expect[1:]]))
    close(inputs["inputs_embeds"], emb, 0.0, "no-image interleav_wrap_chat = BOS + template embeddings")
    # eos stops generation and is kept; max_new_tokens bounds it
    out = model.generate(input_ids=ids, max_new_tokens=5)
    first = out.new_tokens[0]
    out2 = model.generate(input_ids=ids, max_new_tokens=5, eos_token_id=[first])
    assert out2.new_tokens == [first] and len(out.new_tokens) == 5 and out.sequences.shape[1] == ids.shape[1] + 5
    print("  ok greedy stops at eos (kept) and at max_new_tokens")
    # repetition penalty (HF rule)
    proc = ref.RepetitionPenaltyLogitsProcessor(2.0)
    s = proc(torch.tensor([[0, 2]]), torch.tensor([[1.0, -1.0, -3.0, 4.0]]))
    assert s.tolist() == [[0.5, -1.0, -6.0, 4.0]]
    print("  ok repetition penalty")
    print("selftest_ref: OK")


if __name__ == "__main__":
    main()
