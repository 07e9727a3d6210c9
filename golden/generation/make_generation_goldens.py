"""Generation goldens: the transformers 4.33 decoding re-written in golden/reference/generation_ref.py.

(a) data/processors.safetensors: logits processors and warpers on random float32 scores (and the
    generation ids they see), alone and chained in 4.33's order (_get_logits_processor then
    _get_logits_warper, as sample() and beam_sample() apply them):
      repetition penalty (duplicates in the ids, zero / negative / -inf scores, penalty < 1),
      temperature, top-k (ties at the k-th value, -inf, min_tokens_to_keep, k > V),
      top-p (0, 1 with underflowing probabilities, min_tokens_to_keep, ties away from the threshold),
      pipelines built from upstream's chat / write / web settings (web: on log-softmax scores plus a
      beam score, warpers after the beam score as 4.33's beam_sample does),
      and log_softmax itself (compared with a tolerance: torch sums exp in float32 lanes).
    Each case: its input scores f32 [R, V] and generation ids i64 [R, L] (tensors named in the case's
    metadata entry `scores` / `ids`, shared between cases with the same inputs; no ids when L = 0), and the
    result either dense (`<case>.out` f32 [R, V]) or, for V = 92544 rows, as the kept entries
    (`<case>.kept` i64 [K] flat row-major indices, `<case>.kept_values` f32 [K]; every other entry is
    -inf). The metadata entry `cases` lists {name, chain or config, out}.
    Robustness: top-p results depend on float32 cumulative sums; every case is checked to have no
    cumulative probability within 1e-6 of the threshold, no probability in float32's denormal range,
    and no tie that straddles the cut (torch.sort is not stable on CPU), else the script fails.

(b) data/decoding.json: end-to-end decoding on the tiny checkpoint with repetition_penalty 1.005
    (chat's), do_sample False, 24 new tokens: greedy and beam search with 2 and 3 beams on an image
    prompt and a text prompt (embeddings: generation ids start empty), and beam cases that finish
    hypotheses: eos ids extended with tokens the plain search ranks first at some steps (the random
    tiny model never produces 2 or 92542), with early_stopping True / False / "never" and
    length_penalty != 1, and an input_ids prompt (build_inputs: the prompt ids count for the penalty
    and the hypothesis lengths). Each case records the prompt, the settings, the new token ids (as
    4.33 returns them), the beam sequence score, and the smallest margin of any comparison the
    result depends on (candidate order, hypothesis admission, is_done, final ranking); the script
    fails if one is below MIN_MARGIN.

Run: /usr/bin/python3 golden/generation/make_generation_goldens.py
"""
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from golden.common import safetensors_io as st  # noqa: E402
from golden.reference import generation_ref as G  # noqa: E402
from golden.reference import modeling_ref  # noqa: E402
from golden.reference.tokenizer_ref import InternLM2TokenizerRef  # noqa: E402

SCRIPT = "golden/generation/make_generation_goldens.py"
OUT = os.path.join(HERE, "data")
MODEL = os.path.join(REPO, "golden", "model", "tiny", "safetensors")
MEDIA = os.path.join(REPO, "golden", "media")
SEED = 20240707
V = 92544
NEW_TOKENS = 24
#: Candidate scores are float32 sums of log-probabilities that the engines compute to ~1e-5; a
#: comparison closer than this could go either way.
MIN_MARGIN = 1e-4
#: Length-normalized hypothesis scores (divided by len ** length_penalty) are compared in the same units.
MIN_NORMALIZED_MARGIN = 1e-5
TOP_P_GAP = 1e-6


# ----------------------------------------------------------------------------------------------
# (a) processors
# ----------------------------------------------------------------------------------------------

def apply_op(op, ids, scores):
    kind = op["op"]
    if kind == "repetition_penalty":
        return G.RepetitionPenaltyLogitsProcessor(float(op["penalty"]))(ids, scores.clone())
    if kind == "temperature":
        return G.TemperatureLogitsWarper(float(op["temperature"]))(ids, scores)
    if kind == "top_k":
        return G.TopKLogitsWarper(op["top_k"], min_tokens_to_keep=op["min_tokens_to_keep"])(ids, scores)
    if kind == "top_p":
        check_top_p(scores, op["top_p"], op["min_tokens_to_keep"])
        return G.TopPLogitsWarper(op["top_p"], min_tokens_to_keep=op["min_tokens_to_keep"])(ids, scores)
    if kind == "add":
        return scores + torch.tensor(op["values"], dtype=torch.float32)[:, None]
    raise ValueError(kind)


def check_top_p(scores, top_p, min_keep):
    """Fails unless the top-p cut of every row is robust: no cumulative probability within TOP_P_GAP of
    the float32 threshold, no probability in the denormal range (engines' exp may differ there), and
    the stable-order result equals torch's (no tie straddles the cut)."""
    thr = torch.tensor(1 - top_p, dtype=torch.float32)
    for r in range(scores.shape[0]):
        row = scores[r:r + 1]
        s, idx = torch.sort(row, descending=False)
        finite = s[torch.isfinite(s)]
        if finite.numel():
            d = finite - finite.max()
            if ((d < -80) & (d > -110)).any():
                raise SystemExit(f"top_p {top_p}: a score is {float(d[(d < -80) & (d > -110)][0]):.1f} below the max "
                                 "(denormal probability); change the case")
        cum = s.softmax(-1).cumsum(-1)
        gap = (cum - thr).abs()
        gap = gap[cum > 0]  # zero-probability entries are removed by both engines whatever the gap
        if top_p not in (0.0, 1.0) and gap.numel() and float(gap.min()) < TOP_P_GAP:
            raise SystemExit(f"top_p {top_p}: cumulative probability {float(gap.min()):.2e} from the threshold; "
                             "change the case")
        ours = G.TopPLogitsWarper(top_p, min_tokens_to_keep=min_keep)(None, row.clone())
        st_s, st_idx = torch.sort(row, descending=False, stable=True)
        st_cum = st_s.softmax(-1).cumsum(-1)
        st_rm = st_cum <= thr
        st_rm[..., -min_keep:] = 0
        stable = row.masked_fill(st_rm.scatter(1, st_idx, st_rm), -float("inf"))
        if not torch.equal(ours, stable):
            raise SystemExit(f"top_p {top_p}: the result depends on the order of tied scores; change the case")


def realistic_logits(gen, rows, vocab, peaks=12):
    """LM-like scores: N(0, 2) with a few peaks 6..14 above."""
    x = torch.randn((rows, vocab), generator=gen) * 2.0
    for r in range(rows):
        idx = torch.randperm(vocab, generator=gen)[:peaks]
        x[r, idx] += 6.0 + 8.0 * torch.rand(peaks, generator=gen)
    return x


def processor_cases(gen):
    cases = []

    def add(name, scores, ids, chain=None, config=None, dense=True):
        cases.append(dict(name=name, scores=scores.float().contiguous(), ids=ids, chain=chain, config=config,
                          dense=dense))

    # repetition penalty: duplicates, 0, negative, positive, -inf among the penalized ids
    s = torch.randn((3, 1000), generator=gen) * 3
    s[0, 7] = 0.0
    s[0, 8] = -float("inf")
    s[1, 11] = -0.0
    ids = torch.tensor([[7, 8, 9, 9, 9, 500, 999, 0],
                        [11, 12, 13, 14, 15, 16, 17, 11],
                        [3, 3, 3, 3, 3, 3, 3, 3]])
    for p in (1.005, 1.3, 0.7, 3.0):
        add(f"repetition_{p}", s, ids, chain=[dict(op="repetition_penalty", penalty=p)])
    add("repetition_no_ids", s[:1], torch.zeros((1, 0), dtype=torch.long),
        chain=[dict(op="repetition_penalty", penalty=1.5)])

    # temperature
    s = torch.randn((2, 1000), generator=gen) * 4
    s[1, :5] = -float("inf")
    for t in (0.7, 1.3, 0.05):
        add(f"temperature_{t}", s, None, chain=[dict(op="temperature", temperature=t)])

    # top-k: ties at the k-th value, -inf, min_tokens_to_keep, k > V
    s = torch.randn((3, 1000), generator=gen)
    s[0, 100:104] = 5.0           # four-way tie for ranks 1..4
    s[1, 200:203] = 4.0
    s[1, 300] = 4.5               # rank 1 then a three-way tie for ranks 2..4
    s[2, 10:] = -float("inf")     # only 10 finite
    for k, m in ((1, 1), (2, 1), (3, 1), (4, 1), (5, 1), (50, 1), (2, 3), (20, 1), (2000, 1)):
        add(f"top_k_{k}_keep{m}", s, None, chain=[dict(op="top_k", top_k=k, min_tokens_to_keep=m)])

    # top-p
    s = realistic_logits(gen, 3, 1000)
    s[2, :100] = -float("inf")
    for p, m in ((0.8, 1), (0.5, 1), (0.95, 1), (0.3, 3), (0.0, 1), (0.0, 4)):
        add(f"top_p_{p}_keep{m}", s, None, chain=[dict(op="top_p", top_p=p, min_tokens_to_keep=m)])
    u = torch.randn((1, 1000), generator=gen)
    u[0, :300] -= 200.0  # probabilities that underflow to exactly 0 in float32
    add("top_p_1.0_underflow", u, None, chain=[dict(op="top_p", top_p=1.0, min_tokens_to_keep=1)])
    t = realistic_logits(gen, 1, 1000)
    t[0, 500:503] = t[0].max() + 3.0  # a three-way tie at the top: always kept together
    add("top_p_0.8_top_tie", t, None, chain=[dict(op="top_p", top_p=0.8, min_tokens_to_keep=1)])

    # chains in 4.33 order on a small vocabulary
    s = realistic_logits(gen, 2, 1000)
    ids = torch.tensor([[int(i) for i in torch.topk(s[0], 6).indices[::2]] + [3, 3],
                        [int(i) for i in torch.topk(s[1], 6).indices[1::2]] + [4, 5]])
    add("chain_all", s, ids, chain=[dict(op="repetition_penalty", penalty=1.2), dict(op="temperature", temperature=0.7),
                                    dict(op="top_k", top_k=20, min_tokens_to_keep=1),
                                    dict(op="top_p", top_p=0.8, min_tokens_to_keep=1)])

    # pipelines from upstream's settings on full-vocabulary rows (kept entries stored)
    big = realistic_logits(gen, 2, V, peaks=40)
    hist = torch.stack([torch.topk(big[r], 30).indices[::3] for r in range(2)])
    chat = dict(do_sample=True, num_beams=1, temperature=1.0, top_k=50, top_p=0.8, repetition_penalty=1.005,
                eos_token_id=[2, 92542])
    add("pipeline_chat", big, hist, config=chat, dense=False)
    add("pipeline_chat_temp0.7_topk0", big, hist, config=dict(chat, temperature=0.7, top_k=0), dense=False)
    add("pipeline_write", big, hist, config=dict(chat, top_k=40), dense=False)
    add("pipeline_chat_beams2", big, hist, config=dict(chat, num_beams=2), dense=False)
    logp = torch.log_softmax(big, dim=-1)
    web = dict(do_sample=True, num_beams=2, temperature=1.0, top_k=50, top_p=1.0, repetition_penalty=3.0,
               eos_token_id=2, beam_scores=[-3.25, -41.671875])
    add("pipeline_web_beam", logp, hist, config=web, dense=False)
    # temperature makes 4.33's order visible: (log p + beam score) / T, not log p / T + beam score
    add("pipeline_beam_sample_temp0.7", logp, hist, config=dict(web, temperature=0.7, top_p=0.9, repetition_penalty=1.005,
                                                               eos_token_id=[2, 92542]), dense=False)
    small_hist = torch.stack([torch.topk(logp[r, :4096], 30).indices[::3] for r in range(2)])
    add("pipeline_greedy_beams", logp[:, :4096], small_hist,
        config=dict(do_sample=False, num_beams=2, repetition_penalty=1.005, eos_token_id=[2, 92542],
                    beam_scores=[-17.5, -1e9]))
    return cases


def run_config(cfg, ids, scores):
    """sample(): processors then warpers; beam_sample(): log-softmax scores -> processors -> + beam
    score -> warpers (4.33 order); beam_search (do_sample False): processors -> + beam score."""
    gc = G.GenerationConfig(max_new_tokens=1, **{k: v for k, v in cfg.items() if k != "beam_scores"})
    out = G.get_logits_processor(gc)(ids, scores.clone())
    if "beam_scores" in cfg:
        out = out + torch.tensor(cfg["beam_scores"], dtype=torch.float32)[:, None]
    if gc.do_sample:
        for w in G.get_logits_warper(gc):
            if isinstance(w, G.TopPLogitsWarper):
                check_top_p(out, w.top_p, w.min_tokens_to_keep)
            out = w(ids, out)
    return out


def make_processor_goldens():
    gen = torch.Generator().manual_seed(SEED)
    tensors, meta_cases, stored = {}, [], []
    for c in processor_cases(gen):
        ids = c["ids"] if c["ids"] is not None else torch.zeros((c["scores"].shape[0], 0), dtype=torch.long)
        if c["chain"] is not None:
            out = c["scores"].clone()
            for op in c["chain"]:
                out = apply_op(op, ids, out)
        else:
            out = run_config(c["config"], ids, c["scores"])
        # identical inputs are stored once; the case names the tensor that holds them
        same = next((n for n, t in stored if t.shape == c["scores"].shape and torch.equal(t, c["scores"])), None)
        if same is None:
            same = c["name"] + ".scores"
            tensors[same] = c["scores"]
            stored.append((same, c["scores"]))
        ids_name = None
        if ids.shape[1] > 0:
            ids_name = next((n for n, t in stored if t.shape == ids.shape and t.dtype == ids.dtype and torch.equal(t, ids)),
                            None)
            if ids_name is None:
                ids_name = c["name"] + ".ids"
                tensors[ids_name] = ids.contiguous()
                stored.append((ids_name, ids))
        if c["dense"]:
            tensors[c["name"] + ".out"] = out.contiguous()
        else:
            flat = out.reshape(-1)
            kept = torch.nonzero(torch.isfinite(flat)).reshape(-1)
            tensors[c["name"] + ".kept"] = kept
            tensors[c["name"] + ".kept_values"] = flat[kept].contiguous()
        entry = dict(name=c["name"], scores=same, ids=ids_name, out="dense" if c["dense"] else "kept")
        entry["chain" if c["chain"] is not None else "config"] = c["chain"] if c["chain"] is not None else c["config"]
        meta_cases.append(entry)
        kept_n = int(torch.isfinite(out).sum())
        print(f"  {c['name']}: {tuple(c['scores'].shape)} kept {kept_n}", flush=True)
    # log_softmax, compared with a tolerance
    x = realistic_logits(gen, 2, 4096)
    x[1, :7] = -float("inf")
    tensors["log_softmax.scores"] = x.contiguous()
    tensors["log_softmax.out"] = torch.log_softmax(x, dim=-1).contiguous()
    meta = st.provenance(SCRIPT, SEED, cases=json.dumps(meta_cases))
    st.save(os.path.join(OUT, "processors.safetensors"), tensors, meta)


# ----------------------------------------------------------------------------------------------
# (b) end-to-end decoding on the tiny checkpoint
# ----------------------------------------------------------------------------------------------

PROMPTS = {
    "image": dict(kind="chat", query="Describe this image in detail.", images=["cars1.jpg"], history=[]),
    "text": dict(kind="chat", query="Write a short poem about the sea.", images=[], history=[]),
    "text_ids": dict(kind="input_ids", query="What is the capital of France?", images=[], history=[]),
}

#: name, prompt, num_beams, length_penalty, early_stopping, extra eos = the tokens ranked first
#: (ranks < num_beams) by the plain search at steps [start, start + width)
CASES = [
    ("image_greedy", "image", 1, 1.0, False, None),
    ("image_beam2", "image", 2, 1.0, False, None),
    ("image_beam3", "image", 3, 1.0, False, None),
    ("text_greedy", "text", 1, 1.0, False, None),
    ("text_beam2", "text", 2, 1.0, False, None),
    ("text_beam3", "text", 3, 1.0, False, None),
    ("text_beam2_eos_early_true", "text", 2, 1.0, True, (5, 3)),
    ("text_beam3_eos_lp0.5", "text", 3, 0.5, False, (5, 3)),
    ("image_beam3_eos_early_true", "image", 3, 1.0, True, (3, 2)),
    ("text_ids_greedy", "text_ids", 1, 1.0, False, None),
    ("text_ids_beam2_eos", "text_ids", 2, 1.0, False, (3, 2)),
    ("text_ids_beam2_eos_never", "text_ids", 2, 1.0, "never", (5, 3)),
    ("text_ids_beam2_eos_lp2", "text_ids", 2, 2.0, False, (8, 4)),
]


def build_prompt(model, tokenizer, p):
    model.reset_rope_caches()
    history = [tuple(h) for h in p["history"]]
    if p["kind"] == "input_ids":
        ids = model.build_inputs(tokenizer, p["query"], history)
        return dict(input_ids=ids, im_mask=torch.zeros(ids.shape, dtype=torch.bool)), ids.shape[1]
    images = [os.path.join(MEDIA, f) for f in p["images"]]
    inputs, im_mask, _ = model.interleav_wrap_chat(p["query"], images, history=history, hd_num=24, tokenizer=tokenizer)
    return dict(inputs_embeds=inputs["inputs_embeds"], im_mask=im_mask), inputs["inputs_embeds"].shape[1]


def beam_margins(diag, nb):
    """Smallest gaps of the comparisons a beam result depends on: adjacent candidate scores (the
    2 * num_beams taken and the next one), admission of a hypothesis into a full list, is_done's
    comparison, and the final best-vs-second. Returns (candidate margin, normalized margin)."""
    cand, norm = math.inf, math.inf
    for d in diag:
        if d["kind"] == "candidates":
            top = d["top"]
            cand = min(cand, min(top[i] - top[i + 1] for i in range(len(top) - 1)))
        elif d["kind"] == "add":
            if math.isfinite(d["worst"]) and math.isfinite(d["score"]):
                norm = min(norm, abs(d["score"] - d["worst"]))
        elif d["kind"] == "is_done" and d["hyps"] >= nb and d["early_stopping"] is not True:
            lp = d["length_penalty"]
            n = d["max_length"] if (d["early_stopping"] == "never" and lp > 0) else d["cur_len"]
            best = G._normalized(d["best"], n, lp)
            if math.isfinite(best) and math.isfinite(d["worst"]):
                norm = min(norm, abs(d["worst"] - best))
        elif d["kind"] == "finalize" and len(d["scores"]) > 1:
            s = sorted(d["scores"])
            norm = min(norm, s[-1] - s[-2])
    return cand, norm


def make_decoding_goldens():
    torch.set_num_threads(2)
    tokenizer = InternLM2TokenizerRef(os.path.join(MODEL, "tokenizer.model"))
    model, _ = modeling_ref.load_pretrained(MODEL, dtype=torch.float32)
    prompts = {name: build_prompt(model, tokenizer, p) for name, p in PROMPTS.items()}
    plain_candidates = {}
    results = []
    for name, pname, nb, lp, es, eos_from in CASES:
        inputs, T = prompts[pname]
        eos = list(modeling_ref.CHAT_EOS_IDS)
        if eos_from is not None:
            key = (pname, nb)
            if key not in plain_candidates:
                diag = []
                G.generate(model, G.GenerationConfig(NEW_TOKENS, num_beams=nb, repetition_penalty=1.005), diag=diag,
                           **inputs)
                plain_candidates[key] = [d["tokens"] for d in diag if d["kind"] == "candidates"]
            start, width = eos_from
            cands = plain_candidates[key][start:start + width]
            eos += sorted({t for c in cands for t in c[:nb]})
        cfg = G.GenerationConfig(NEW_TOKENS, do_sample=False, num_beams=nb, repetition_penalty=1.005,
                                 length_penalty=lp, early_stopping=es, eos_token_id=eos)
        model.reset_rope_caches()
        if nb == 1:
            out = model.generate(max_new_tokens=NEW_TOKENS, eos_token_id=eos, logits_processor=G.get_logits_processor(cfg),
                                 output_scores=True, **inputs)
            tokens, score = out.new_tokens, None
            margin = min(float(torch.topk(s, 2).values[0] - torch.topk(s, 2).values[1]) for s in out.scores)
            norm_margin = None
            steps = len(tokens)
            if margin < MIN_MARGIN:
                raise SystemExit(f"{name}: greedy margin {margin:.2e} < {MIN_MARGIN}; change the case")
        else:
            diag = []
            tokens, score = G.generate(model, cfg, diag=diag, **inputs)
            margin, norm_margin = beam_margins(diag, nb)
            steps = sum(1 for d in diag if d["kind"] == "candidates")
            if margin < MIN_MARGIN or norm_margin < MIN_NORMALIZED_MARGIN:
                raise SystemExit(f"{name}: margins {margin:.2e} / {norm_margin:.2e} below {MIN_MARGIN} / "
                                 f"{MIN_NORMALIZED_MARGIN}; change the case")
        entry = dict(name=name, prompt=pname, **PROMPTS[pname], prompt_length=T,
                     config=dict(max_new_tokens=NEW_TOKENS, do_sample=False, num_beams=nb, repetition_penalty=1.005,
                                 length_penalty=lp, early_stopping=es, eos_token_id=eos),
                     tokens=tokens, sequence_score=score, steps=steps, min_margin=margin,
                     min_normalized_margin=None if norm_margin in (None, math.inf) else norm_margin)
        results.append(entry)
        print(f"  {name}: T {T}, {steps} steps, {len(tokens)} tokens, score {score}, margins {margin:.2e} / "
              f"{norm_margin if norm_margin is None else f'{norm_margin:.2e}'}", flush=True)
    with open(os.path.join(OUT, "decoding.json"), "w") as f:
        json.dump(dict(provenance=st.provenance(SCRIPT, SEED, model="golden/model/tiny/safetensors"),
                       cases=results), f, indent=1)
        f.write("\n")


def main():
    os.makedirs(OUT, exist_ok=True)
    print("processors", flush=True)
    make_processor_goldens()
    print("decoding", flush=True)
    make_decoding_goldens()
    st.write_manifest(OUT, SCRIPT, SEED)


if __name__ == "__main__":
    main()
