"""Writes the checkpoint-reader fixtures into golden/checkpoint/data/.

Run with Debian's interpreter (it has torch):  /usr/bin/python3 golden/checkpoint/make_fixtures.py

Every .bin here is written by torch.save (or is a byte-level edit of one, said so below) and every
expected value in expected.json comes from torch.load of the file, never from our engine. The
malicious fixtures are only *pickled* here; nothing in this script unpickles them.
Everything is byte-for-byte reproducible except legacy.bin (the legacy format keys storages by id()).
"""
import collections
import hashlib
import json
import os
import shutil
import struct
import sys
import zipfile
import zlib

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
from golden.common import safetensors_io  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "data")
SCRIPT = "golden/checkpoint/make_fixtures.py"
SEED = 1234
PWNED = "/tmp/ixc25-pwned"

_ST_NAME = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
            torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
            torch.uint8: "U8", torch.bool: "BOOL"}


def contiguous_bytes(t):
    t = t.detach().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def describe(t):
    """What a reader must reproduce: dtype, shape, the row-major bytes and a few values."""
    flat = t.detach().contiguous().reshape(-1)
    if t.dtype.is_floating_point:
        values = [float(v) for v in flat.double().tolist()]
        total = float(flat.double().sum())
    elif t.dtype == torch.bool:
        values = [bool(v) for v in flat.tolist()]
        total = int(flat.long().sum())
    else:
        values = [int(v) for v in flat.tolist()]
        total = int(flat.long().sum())
    b = contiguous_bytes(t)
    return {"dtype": _ST_NAME[t.dtype], "shape": list(t.shape), "numel": t.numel(),
            "storage_offset": t.storage_offset(), "stride": list(t.stride()),
            "contiguous": t.is_contiguous(), "sum": total, "values": values,
            "nbytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}


def expected_of(path):
    """torch.load the file we wrote and describe every tensor of its state dict."""
    obj = torch.load(path, map_location="cpu")
    wrapper = []
    while isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        key = next(k for k in ("state_dict", "model", "module") if k in obj)
        wrapper.append(key)
        obj = obj[key]
    return {"wrapper": wrapper, "names": list(obj.keys()),
            "tensors": {k: describe(v) for k, v in obj.items()}}


def rng():
    return torch.Generator().manual_seed(SEED)


def dtypes_dict():
    g = rng()
    sd = collections.OrderedDict()
    sd["f32"] = torch.randn(3, 4, generator=g)
    sd["f16"] = torch.randn(5, generator=g).half()
    sd["bf16"] = torch.randn(2, 3, generator=g).bfloat16()
    sd["f64"] = torch.randn(2, generator=g).double()
    sd["i64"] = torch.tensor([0, -1, 2**40, -(2**62)], dtype=torch.int64)
    sd["i32"] = torch.tensor([7, -8, 2**31 - 1], dtype=torch.int32)
    sd["i16"] = torch.tensor([-32768, 12345], dtype=torch.int16)
    sd["i8"] = torch.tensor([-128, 0, 127], dtype=torch.int8)
    sd["u8"] = torch.tensor([0, 1, 200, 255], dtype=torch.uint8)
    sd["bool"] = torch.tensor([True, False, True, True, False])
    sd["scalar"] = torch.tensor(2.5)
    sd["empty"] = torch.zeros(0, 3)
    return sd


def shared_dict():
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    sd = collections.OrderedDict()
    sd["base"] = base
    sd["row2"] = base[2]                       # same storage, offset 12, contiguous
    sd["tail"] = base.view(-1)[5:17]           # offset 5
    sd["block"] = base[1:3]                    # offset 6, contiguous [2, 6]
    sd["transposed"] = base.t()                # non-contiguous [6, 4], strides (1, 6)
    sd["cols"] = base[:, 1:3]                  # non-contiguous with offset 1
    sd["expanded"] = torch.tensor([1.5, -2.0, 3.25]).expand(2, 3)   # stride 0
    w = torch.randn(4, 3, generator=rng()).bfloat16()
    sd["tied.a"] = w                           # two names, one bf16 storage (tied weights)
    sd["tied.b"] = w
    sd["tied.row"] = w[3]
    return sd


def save(obj, name, **kw):
    p = os.path.join(OUT, name)
    torch.save(obj, p, **kw)
    return p


# ---------------------------------------------------------------- zip edits

def read_entries(path):
    with zipfile.ZipFile(path) as z:
        return [(i.filename, z.read(i.filename)) for i in z.infolist()]


def rezip_python(src, dst, compression, force_zip64=False):
    """Rewrites a torch zip with Python's zipfile (used for DEFLATED and force_zip64 variants)."""
    entries = read_entries(src)
    with zipfile.ZipFile(dst, "w", compression=compression) as z:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = compression
            with z.open(info, "w", force_zip64=force_zip64) as f:
                f.write(data)


def write_zip64(dst, entries, align=64):
    """A hand-made STORED zip in which every size and offset lives in ZIP64 extra fields
    (0xFFFFFFFF in the 32-bit slots), with a ZIP64 end record and locator, data aligned to
    `align` bytes as torch's writer does. This is what a >4 GiB torch shard looks like, in miniature."""
    out = bytearray()
    central = bytearray()
    for name, data in entries:
        nb = name.encode("utf-8")
        crc = zlib.crc32(data) & 0xFFFFFFFF
        offset = len(out)
        z64_local = struct.pack("<HHQQ", 0x0001, 16, len(data), len(data))
        header_len = 30 + len(nb) + len(z64_local)
        pad = (-(offset + header_len + 4)) % align
        pad_extra = struct.pack("<HH", 0x4246, pad) + b"Z" * pad   # 'FB' padding field, like torch
        extra = z64_local + pad_extra
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0x0800, 0, 0, 0x21, crc,
                           0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(extra))
        out += nb + extra
        assert len(out) % align == 0
        out += data
        z64_central = struct.pack("<HHQQQ", 0x0001, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0x0800, 0, 0, 0x21, crc,
                               0xFFFFFFFF, 0xFFFFFFFF, len(nb), len(z64_central), 0, 0, 0, 0, 0xFFFFFFFF)
        central += nb + z64_central
    cd_offset = len(out)
    out += central
    z64_eocd_offset = len(out)
    out += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, len(entries), len(entries),
                       len(central), cd_offset)
    out += struct.pack("<IIQI", 0x07064B50, 0, z64_eocd_offset, 1)
    out += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    with open(dst, "wb") as f:
        f.write(out)


def write_stored_zip(dst, entries):
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in entries:
            z.writestr(zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0)), data)


# ---------------------------------------------------------------- malicious payloads

class EvilSystem:
    def __reduce__(self):
        return (os.system, ("echo pwned > " + PWNED,))


class EvilEval:
    def __reduce__(self):
        return (eval, ("__import__('os').system('echo pwned > " + PWNED + "')",))


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    expected = {}

    def record(name, path=None):
        expected[name] = expected_of(path or os.path.join(OUT, name))

    save(dtypes_dict(), "dtypes.bin")
    record("dtypes.bin")
    save(shared_dict(), "shared.bin")
    record("shared.bin")
    save(dtypes_dict(), "proto4.bin", pickle_protocol=4)   # FRAME, MEMOIZE, STACK_GLOBAL
    record("proto4.bin")

    g = rng()
    inner = collections.OrderedDict([("w", torch.randn(2, 2, generator=g)), ("b", torch.arange(3))])
    save({"epoch": 3, "note": "nested", "state_dict": inner, "optimizer": {"lr": 0.1}}, "nested.bin")
    record("nested.bin")

    torch.manual_seed(SEED)
    net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.LayerNorm(3))
    save(net.state_dict(), "module_state.bin")         # OrderedDict + BUILD of _metadata
    record("module_state.bin")
    save(collections.OrderedDict(net.named_parameters()), "parameters.bin")   # _rebuild_parameter
    record("parameters.bin")

    # Same archive rewritten: DEFLATED entries; Python's force_zip64; a hand-made all-ZIP64 zip.
    rezip_python(os.path.join(OUT, "dtypes.bin"), os.path.join(OUT, "deflated.bin"), zipfile.ZIP_DEFLATED)
    record("deflated.bin")
    rezip_python(os.path.join(OUT, "shared.bin"), os.path.join(OUT, "zip64_python.bin"), zipfile.ZIP_STORED,
                 force_zip64=True)
    record("zip64_python.bin")
    write_zip64(os.path.join(OUT, "zip64.bin"), read_entries(os.path.join(OUT, "shared.bin")))
    record("zip64.bin")
    # explicit byteorder records (torch >= 2.1 writes one): 'little' loads, 'big' is refused
    ents = read_entries(os.path.join(OUT, "shared.bin"))
    arch = ents[0][0].split("/")[0]
    write_stored_zip(os.path.join(OUT, "byteorder_little.bin"), ents + [(arch + "/byteorder", b"little")])
    record("byteorder_little.bin")
    write_stored_zip(os.path.join(OUT, "byteorder_big.bin"), ents + [(arch + "/byteorder", b"big")])

    # Formats and damage that must be refused.
    torch.save(dtypes_dict(), os.path.join(OUT, "legacy.bin"), _use_new_zipfile_serialization=False)
    whole = open(os.path.join(OUT, "dtypes.bin"), "rb").read()
    open(os.path.join(OUT, "truncated.bin"), "wb").write(whole[: len(whole) // 2])
    pkl_name = next(n for n, _ in read_entries(os.path.join(OUT, "dtypes.bin")) if n.endswith("/data.pkl"))
    ents = read_entries(os.path.join(OUT, "dtypes.bin"))
    pkl = dict(ents)[pkl_name]
    write_stored_zip(os.path.join(OUT, "truncated_pickle.bin"),
                     [(n, d[: len(d) // 2] if n == pkl_name else d) for n, d in ents])
    write_stored_zip(os.path.join(OUT, "corrupt_pickle.bin"),
                     [(n, d[:42] + b"\xff" + d[43:] if n == pkl_name else d) for n, d in ents])
    assert pkl[42] == ord("q")  # a BINPUT opcode becomes the unknown opcode 0xff

    # Malicious pickles (written, never loaded).
    save(EvilSystem(), "evil_os_system.bin")                    # GLOBAL 'posix system'
    save(EvilEval(), "evil_eval.bin")                           # GLOBAL '__builtin__ eval'
    save(EvilSystem(), "evil_stack_global.bin", pickle_protocol=4)   # STACK_GLOBAL 'posix' 'system'
    hidden = dtypes_dict()
    hidden["zzz_payload"] = EvilSystem()
    save(hidden, "evil_in_state_dict.bin")                      # payload after valid tensors
    # The raw pickles too, for the interpreter's own tests.
    for n in ("evil_os_system", "evil_eval", "evil_stack_global"):
        e = read_entries(os.path.join(OUT, n + ".bin"))
        open(os.path.join(OUT, n + ".pkl"), "wb").write(next(d for k, d in e if k.endswith("/data.pkl")))
    open(os.path.join(OUT, "dtypes.pkl"), "wb").write(pkl)

    # A sharded checkpoint in both forms, plus an index-only folder.
    sharded_dir = os.path.join(OUT, "sharded")
    os.makedirs(sharded_dir)
    g = rng()
    C, V, F = 8, 16, 12
    full = collections.OrderedDict()
    full["model.tok_embeddings.weight"] = torch.randn(V, C, generator=g).bfloat16()
    for n in range(2):
        p = f"model.layers.{n}."
        full[p + "attention.wqkv.weight"] = torch.randn(3 * C, C, generator=g).bfloat16()
        full[p + "attention.wo.weight"] = torch.randn(C, C, generator=g).bfloat16()
        full[p + "attention_norm.weight"] = torch.ones(C).bfloat16()
        full[p + "feed_forward.w1.weight"] = torch.randn(F, C, generator=g).bfloat16()
        full[p + "feed_forward.w2.weight"] = torch.randn(C, F, generator=g).bfloat16()
        full[p + "feed_forward.w3.weight"] = torch.randn(F, C, generator=g).bfloat16()
        full[p + "ffn_norm.weight"] = torch.ones(C).bfloat16()
    full["model.norm.weight"] = torch.ones(C).bfloat16()
    full["output.weight"] = torch.randn(V, C, generator=g).bfloat16()
    full["plora_glb_GN"] = torch.randn(1, 1, C, generator=g).bfloat16()
    names = list(full.keys())
    shard_of = {k: (1 if i < len(names) // 2 else 2) for i, k in enumerate(names)}
    total = sum(t.numel() * t.element_size() for t in full.values())
    bin_map, st_map = {}, {}
    for s in (1, 2):
        part = collections.OrderedDict((k, v) for k, v in full.items() if shard_of[k] == s)
        bn = f"pytorch_model-0000{s}-of-00002.bin"
        sn = f"model-0000{s}-of-00002.safetensors"
        torch.save(part, os.path.join(sharded_dir, bn))
        safetensors_io.save(os.path.join(sharded_dir, sn), part, metadata={"format": "pt"})
        for k in part:
            bin_map[k] = bn
            st_map[k] = sn
    for fname, wmap in (("pytorch_model.bin.index.json", bin_map), ("model.safetensors.index.json", st_map)):
        with open(os.path.join(sharded_dir, fname), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(wmap.items()))}, f, indent=2)
    config = {"architectures": ["InternLMXComposer2ForCausalLM"], "hidden_size": C, "vocab_size": V,
              "intermediate_size": F, "num_hidden_layers": 2, "torch_dtype": "bfloat16"}
    with open(os.path.join(sharded_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    sharded_expected = {"total_size": total, "names_sorted": sorted(names),
                        "tensors": {k: describe(v) for k, v in full.items()}}
    # cross-check: torch.load of each bin shard and our safetensors writer agree with `full`
    for s in (1, 2):
        got = torch.load(os.path.join(sharded_dir, f"pytorch_model-0000{s}-of-00002.bin"))
        st, _ = safetensors_io.load(os.path.join(sharded_dir, f"model-0000{s}-of-00002.safetensors"))
        for k, v in got.items():
            assert describe(v) == sharded_expected["tensors"][k]
            assert torch.equal(st[k].view(torch.int16), v.view(torch.int16))
    expected["sharded"] = sharded_expected

    index_only = os.path.join(OUT, "index_only")
    os.makedirs(index_only)
    for fname in ("config.json", "model.safetensors.index.json", "pytorch_model.bin.index.json"):
        shutil.copy(os.path.join(sharded_dir, fname), index_only)

    # Single-file forms side by side (safetensors must win unless the caller asks for .bin).
    both = os.path.join(OUT, "single_both")
    os.makedirs(both)
    torch.save(shared_dict_contiguous(), os.path.join(both, "pytorch_model.bin"))
    safetensors_io.save(os.path.join(both, "model.safetensors"), shared_dict_contiguous(), metadata={"format": "pt"})
    expected["single_both"] = expected_of(os.path.join(both, "pytorch_model.bin"))

    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")
    safetensors_io.write_manifest(OUT, SCRIPT, seed=SEED, extra={"pwned_marker": PWNED})
    size = sum(os.path.getsize(os.path.join(r, n)) for r, _, ns in os.walk(OUT) for n in ns)
    print(f"wrote {OUT} ({size} bytes)")
    assert not os.path.exists(PWNED)


def shared_dict_contiguous():
    g = rng()
    sd = collections.OrderedDict()
    sd["a.weight"] = torch.randn(3, 2, generator=g)
    sd["a.bias"] = torch.randn(3, generator=g).half()
    sd["b.weight"] = torch.randn(2, 2, generator=g).bfloat16()
    return sd


if __name__ == "__main__":
    main()
