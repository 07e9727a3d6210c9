"""Makes the tiny IXC-2.5 checkpoint (golden/model/tiny/{bin,safetensors}/) and the 7B layout
description (golden/model/config-7b/).

tiny/bin/ and tiny/safetensors/ are complete HF-style folders in the exact upstream layout:
config.json, tokenizer.model (the real InternLM2 tokenizer), and the same bf16 tensors sharded in
two: pytorch_model-0000N-of-00002.bin + pytorch_model.bin.index.json (torch.save of state-dict parts)
or model-0000N-of-00002.safetensors + model.safetensors.index.json (__metadata__ format=pt plus our
provenance). Tensor names come from the reference module (golden/reference/modeling_ref.py), i.e.
upstream's names, plus task LoRAs lora_sft (rank 8), lora_dpo (8), lora_web (16).

Weights: random from a fixed seed, drawn in state-dict order, scaled so activations stay well
conditioned (linear weights N(0, 1/fan_in), norm weights 1 + 0.1 N(0,1), biases 0.05 N(0,1),
separators N(0,1), Plora_B and task LoRA B at half the base-path gain so they visibly matter),
rounded to bf16.

config-7b/: config.json with the real 7B values (no vision_config => CLIP ViT-L/14-560) and both
index files listing every upstream tensor name of the 7B model (no task LoRAs), split over 3 shards
like upstream, total_size in bf16 bytes; built from the reference module on device='meta'.

Run from the repository root: /usr/bin/python3 golden/model/make_tiny_checkpoint.py
"""
import collections
import json
import math
import os
import shutil
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

import torch  # noqa: E402

from golden.common import safetensors_io  # noqa: E402
from golden.reference import modeling_ref  # noqa: E402

SEED = 20240705
SCRIPT = "golden/model/make_tiny_checkpoint.py"
HERE = os.path.join(REPO, "golden", "model")
TOKENIZER = "/work/shared/data/internlm2/tokenizer.model"
if not os.path.exists(TOKENIZER):
    TOKENIZER = os.path.join(REPO, "shared", "data", "internlm2", "tokenizer.model")

#: Keys common to the tiny and the 7B config.json (upstream values).
COMMON_CONFIG = {
    "architectures": ["InternLMXComposer2ForCausalLM"],
    "attn_implementation": "eager",
    "bias": False,
    "bos_token_id": 1,
    "eos_token_id": 2,
    "hidden_act": "silu",
    "initializer_range": 0.02,
    "max_length": 16384,
    "model_type": "internlmxcomposer2",
    "pad_token_id": 2,
    "rms_norm_eps": 1e-05,
    "rope_scaling": {"factor": 2.0, "type": "dynamic"},
    "rope_theta": 1000000,
    "tie_word_embeddings": False,
    "torch_dtype": "bfloat16",
    "transformers_version": "4.33.2",
    "use_cache": True,
    "vocab_size": 92544,
}

TINY_CONFIG = dict(COMMON_CONFIG, hidden_size=32, intermediate_size=88, num_hidden_layers=2, num_attention_heads=4,
                   num_key_value_heads=2, max_position_embeddings=2048,
                   vision_config={"hidden_size": 16, "intermediate_size": 40, "num_hidden_layers": 2,
                                  "num_attention_heads": 2, "image_size": 560, "patch_size": 14, "num_channels": 3,
                                  "layer_norm_eps": 1e-05, "hidden_act": "quick_gelu"})

CONFIG_7B = dict(COMMON_CONFIG, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=24576)

TINY_TASK_LORA_RANKS = {"sft": 8, "dpo": 8, "web": 16}


def sorted_config(d):
    """config.json text as HF writes it (json.dumps(indent=2, sort_keys=True) + newline)."""
    return json.dumps(d, indent=2, sort_keys=True) + "\n"


def init_tensor(name, shape, gen):
    """Random value for one tensor, by its role (see module doc). float32, then rounded by caller."""
    def randn(*s):
        return torch.randn(*s, generator=gen, dtype=torch.float32)

    leaf = name.rsplit(".", 1)[-1]
    if name in ("plora_glb_GN", "plora_sub_GN"):
        return randn(*shape)
    if name == "model.tok_embeddings.weight":
        return randn(*shape)
    if name.endswith("embeddings.class_embedding"):
        return randn(*shape)
    if name.endswith("embeddings.position_embedding.weight"):
        return randn(*shape) * 0.5
    if name.endswith("embeddings.patch_embedding.weight"):
        fan_in = shape[1] * shape[2] * shape[3]
        return randn(*shape) / math.sqrt(fan_in)
    if leaf == "bias":
        return randn(*shape) * 0.05
    if len(shape) == 1 and leaf == "weight":  # RMSNorm / LayerNorm gains
        return 1.0 + 0.1 * randn(*shape)
    if ".Plora_B." in name or (".lora_" in name and "_B." in name):
        return randn(*shape) * (0.5 / math.sqrt(shape[1]))
    if len(shape) == 2:
        return randn(*shape) / math.sqrt(shape[1])
    raise ValueError(f"no init rule for {name} {tuple(shape)}")


def make_tiny_state_dict():
    """Builds the tiny module (float32, CPU), returns its state dict with random bf16 values."""
    config = modeling_ref.IXCConfig(**TINY_CONFIG, task_lora_ranks=TINY_TASK_LORA_RANKS)
    model = modeling_ref.InternLMXComposer2ForCausalLM(config, dtype=torch.float32)
    gen = torch.Generator().manual_seed(SEED)
    out = collections.OrderedDict()
    for name, t in model.state_dict().items():
        out[name] = init_tensor(name, tuple(t.shape), gen).to(torch.bfloat16).contiguous()
    return out


def shard_names(names_sizes, n_shards):
    """HF shard_checkpoint's greedy split (state-dict order; a new shard when the next tensor would
    exceed max_shard_size), with the smallest max_shard_size >= total / n that gives n shards.
    Returns a list of lists of names."""
    total = sum(s for _, s in names_sizes)
    limit = -(-total // n_shards)
    while True:
        shards, size = [[]], 0
        for name, s in names_sizes:
            if size + s > limit and shards[-1]:
                shards.append([])
                size = 0
            shards[-1].append(name)
            size += s
        if len(shards) <= n_shards:
            if len(shards) != n_shards:
                raise ValueError(f"cannot split into {n_shards} shards")
            return shards
        limit += max(1, total // 1000)


def index_json(shards, file_pattern, total_size):
    """HF index file text: {"metadata": {"total_size": N}, "weight_map": {name: file}}, sorted keys."""
    n = len(shards)
    weight_map = {}
    for i, names in enumerate(shards):
        for name in names:
            weight_map[name] = file_pattern.format(i + 1, n)
    return json.dumps({"metadata": {"total_size": total_size}, "weight_map": weight_map}, indent=2,
                      sort_keys=True) + "\n"


def bf16_bytes(shape):
    return 2 * math.prod(shape)


def write_tiny(state):
    """Writes tiny/bin and tiny/safetensors from the same bf16 tensors."""
    tiny = os.path.join(HERE, "tiny")
    if os.path.isdir(tiny):
        for sub in ("bin", "safetensors"):
            shutil.rmtree(os.path.join(tiny, sub), ignore_errors=True)
    names_sizes = [(k, bf16_bytes(v.shape)) for k, v in state.items()]
    total = sum(s for _, s in names_sizes)
    shards = shard_names(names_sizes, 2)
    provenance = safetensors_io.provenance(SCRIPT, SEED)
    for sub in ("bin", "safetensors"):
        folder = os.path.join(tiny, sub)
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "config.json"), "w") as f:
            f.write(sorted_config(TINY_CONFIG))
        shutil.copyfile(TOKENIZER, os.path.join(folder, "tokenizer.model"))
        if sub == "bin":
            pattern, index_name = "pytorch_model-{:05d}-of-{:05d}.bin", "pytorch_model.bin.index.json"
        else:
            pattern, index_name = "model-{:05d}-of-{:05d}.safetensors", "model.safetensors.index.json"
        for i, names in enumerate(shards):
            path = os.path.join(folder, pattern.format(i + 1, len(shards)))
            if sub == "bin":
                part = collections.OrderedDict((k, state[k].clone()) for k in names)
                torch.save(part, path)
            else:
                part = collections.OrderedDict((k, state[k]) for k in sorted(names))
                safetensors_io.save(path, part, metadata=dict({"format": "pt"}, **provenance))
        with open(os.path.join(folder, index_name), "w") as f:
            f.write(index_json(shards, pattern, total))
    with open(os.path.join(tiny, ".gitignore"), "w") as f:
        f.write("# the repository ignores bin/ folders (build outputs); this one is a checkpoint form\n!bin/\n")
    safetensors_io.write_manifest(tiny, SCRIPT, SEED, extra={
        "what": "tiny IXC-2.5 checkpoint, random bf16 weights, both upstream forms",
        "task_lora_ranks": json.dumps(TINY_TASK_LORA_RANKS, sort_keys=True)})
    return total, shards


def write_config_7b():
    """Writes config-7b/ from the reference module instantiated on device='meta'."""
    folder = os.path.join(HERE, "config-7b")
    os.makedirs(folder, exist_ok=True)
    config = modeling_ref.IXCConfig(**CONFIG_7B)
    model = modeling_ref.InternLMXComposer2ForCausalLM(config, device="meta", dtype=torch.bfloat16)
    state = model.state_dict()
    n_params = sum(t.numel() for t in state.values())
    names_sizes = [(k, bf16_bytes(t.shape)) for k, t in state.items()]
    total = sum(s for _, s in names_sizes)
    shards = shard_names(names_sizes, 3)
    with open(os.path.join(folder, "config.json"), "w") as f:
        f.write(sorted_config(CONFIG_7B))
    with open(os.path.join(folder, "pytorch_model.bin.index.json"), "w") as f:
        f.write(index_json(shards, "pytorch_model-{:05d}-of-{:05d}.bin", total))
    with open(os.path.join(folder, "model.safetensors.index.json"), "w") as f:
        f.write(index_json(shards, "model-{:05d}-of-{:05d}.safetensors", total))
    safetensors_io.write_manifest(folder, SCRIPT, None, extra={
        "what": "IXC-2.5 7B config and tensor-name indexes (no weights); shard split is ours",
        "parameters": n_params})
    return n_params, total, shards, state


def main():
    torch.set_num_threads(1)
    state = make_tiny_state_dict()
    total, shards = write_tiny(state)
    n_tiny = sum(v.numel() for v in state.values())
    print(f"tiny: {len(state)} tensors, {n_tiny} parameters, {total} bytes bf16, shards of "
          f"{[len(s) for s in shards]} tensors")
    n7, total7, shards7, state7 = write_config_7b()
    print(f"7B: {len(state7)} tensors, {n7} parameters ({n7 / 1e9:.3f}e9), {total7} bytes bf16, shards of "
          f"{[len(s) for s in shards7]} tensors")


if __name__ == "__main__":
    main()
