"""End-to-end goldens on the tiny checkpoint: the PyTorch reference (golden/reference/modeling_ref.py)
traces a prefill tap by tap and then decodes 32 tokens greedily, for four prompts:

  single_image      one image (cars1.jpg, 1x1 grid, hd_num 24) and a question
  two_images        two images (hd_num 6 each, 1x1 grids) placed by <ImageHere> markers, after one history turn
  text_only         no image (upstream chat's default image=[] path: one BOS, embeddings)
  long_ntk          screenshot.jpg at hd_num 24 (2x3 grid): 2900 positions > max_position_embeddings 2048
                    of the tiny config, so dynamic NTK rescales the rotary base
  write_mode        an image prompt with infer_mode 'write' (task LoRAs lora_sft + lora_dpo merged)
  web_mode          a text prompt with infer_mode 'web' (lora_web merged)

Each case writes golden/model/traces/<case>.safetensors with the taps of spec/model.json (the
image-front-end taps hd_image/pixel_values/global_view/vit.*.input are left out: they are covered
bit-exactly by golden/vision; see keep() for what the larger cases leave out to stay small). The head runs on
the last position only (llm.norm and llm.logits are [1, *], the engine's default). Metadata: the
prompt, images, greedy token ids, and the margin between the best and second-best logit at every step
(the test needs margins well above the tolerance to be meaningful; the script fails if one is < 1e-4).

Run: /usr/bin/python3 golden/model/make_trace_goldens.py
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from golden.common import safetensors_io as st  # noqa: E402
from golden.reference import modeling_ref  # noqa: E402
from golden.reference.tokenizer_ref import InternLM2TokenizerRef  # noqa: E402

SCRIPT = "golden/model/make_trace_goldens.py"
MODEL = os.path.join(HERE, "tiny", "safetensors")
MEDIA = os.path.join(REPO, "golden", "media")
OUT = os.path.join(HERE, "traces")
NEW_TOKENS = 32
MIN_MARGIN = 1e-4  # logits of the tiny model agree to ~1e-6 between engines; argmax needs a gap well above that

CASES = [
    dict(name="single_image", query="Describe this image in detail.", images=["cars1.jpg"], history=[]),
    dict(name="two_images", query="Image 1 <ImageHere>; Image 2 <ImageHere>; which one is cuter?",
         images=["panda.jpeg", "cars1.jpg"], history=[["What animal is black and white?", "A panda, usually."]]),
    dict(name="text_only", query="Write a short poem about the sea.", images=[], history=[]),
    dict(name="long_ntk", query="Read the text in this screenshot.", images=["screenshot.jpg"], history=[]),
    # task modes (UNCONFIRMED upstream: lora_sft + lora_dpo merged for write, lora_web for web)
    dict(name="write_mode", query="Write an article about this picture.", images=["cars1.jpg"], history=[], mode="write"),
    dict(name="web_mode", query="Generate a webpage for a bakery.", images=[], history=[], mode="web"),
]

SKIP_PREFIXES = ("prompt.",)
SKIP_SUFFIXES = (".hd_image", ".pixel_values", ".global_view", ".input")


def keep(case, name):
    """Every spec tap for single_image; the larger cases keep fewer to stay small (each kept tap is
    still compared): no per-layer ViT taps, and for long_ntk only the layer outputs and wo outputs."""
    if name.startswith(SKIP_PREFIXES) or name.endswith(SKIP_SUFFIXES):
        return False
    if case != "single_image" and name.startswith("vit.") and ".layer." in name:
        return False
    if case == "long_ntk" and name.startswith("llm.layer.") and not name.endswith((".output", ".attn_out")):
        return False
    if case.endswith("_mode") and not (name.startswith("llm.layer.") and name.endswith((".qkv", ".output")) or name == "llm.logits"):
        return False
    return True


def main():
    torch.set_num_threads(2)
    os.makedirs(OUT, exist_ok=True)
    tokenizer = InternLM2TokenizerRef(os.path.join(MODEL, "tokenizer.model"))
    model, _ = modeling_ref.load_pretrained(MODEL, dtype=torch.float32)
    summary = {}
    for case in CASES:
        model.reset_rope_caches()
        model.set_infer_mode(case.get("mode", "base"))
        trace = {}
        images = [os.path.join(MEDIA, f) for f in case["images"]]
        history = [tuple(h) for h in case["history"]]
        inputs, im_mask, _ = model.interleav_wrap_chat(case["query"], images, history=history, hd_num=24,
                                                       tokenizer=tokenizer, trace=trace)
        T = inputs["inputs_embeds"].shape[1]
        # prefill + greedy decoding, the repetition penalty off (plain argmax), stop ids of chat()
        margins = []
        ids = []
        past = None
        embeds = inputs["inputs_embeds"]
        mask = im_mask
        for step in range(NEW_TOKENS):
            if past is None:
                logits, past = model.forward(inputs_embeds=embeds, im_mask=mask, use_cache=True, trace=trace)
            else:
                logits, past = model.forward(input_ids=torch.tensor([[ids[-1]]]), past_key_values=past, use_cache=True)
            last = logits[0, -1]
            top2 = torch.topk(last, 2)
            margins.append(float(top2.values[0] - top2.values[1]))
            ids.append(int(top2.indices[0]))
            if ids[-1] in modeling_ref.CHAT_EOS_IDS:
                break
        if min(margins) < MIN_MARGIN:
            raise SystemExit(f"{case['name']}: greedy margin {min(margins):.2e} too small for a robust golden; change the prompt")
        tensors = {}
        for name, t in trace.items():
            if not keep(case["name"], name):
                continue
            if name in ("llm.logits", "llm.norm"):
                t = t[-1:]  # the head on the last position only, as the engine does by default
            tensors[name] = t.contiguous()
        meta = st.provenance(SCRIPT, None, case=case["name"], mode=case.get("mode", "chat"), query=case["query"], images=json.dumps(case["images"]),
                             history=json.dumps(case["history"]), tokens=json.dumps(ids), margins=json.dumps(margins),
                             sequence_length=T, model="golden/model/tiny/safetensors")
        st.save(os.path.join(OUT, case["name"] + ".safetensors"), tensors, meta)
        summary[case["name"]] = dict(T=T, tokens=ids, min_margin=min(margins), taps=len(tensors))
        print(case["name"], T, ids[:8], "min margin %.3g" % min(margins), flush=True)
    st.write_manifest(OUT, SCRIPT)
    print(json.dumps({k: {kk: v for kk, v in s.items() if kk != "tokens"} for k, s in summary.items()}))


if __name__ == "__main__":
    main()
