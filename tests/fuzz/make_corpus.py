#!/usr/bin/env python3
"""Writes the seed corpora of tests/fuzz/corpus/TARGET/ (small valid inputs, < 1 MB in all) from files in
golden/ and spec/. Re-run after a format change: python3 tests/fuzz/make_corpus.py"""
import json, os, struct, shutil, subprocess, zlib

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fuzz", "corpus")
SEP = b"\n--8<--\n"  # TwoParts.Separator


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] -> a safetensors file."""
    header, offset, blobs = {}, 0, []
    if metadata:
        header["__metadata__"] = metadata
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_header_tensors(count):
    """The first tensors of the tiny checkpoint's header (names and dtypes), shrunk to a few elements."""
    path = os.path.join(ROOT, "golden", "model", "tiny", "safetensors", "model-00001-of-00002.safetensors")
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
    size = {"F32": 4, "BF16": 2, "F16": 2, "I64": 8, "U8": 1}
    out = []
    for name, info in list((k, v) for k, v in header.items() if k != "__metadata__")[:count]:
        shape = [min(d, 3) for d in info["shape"]]
        numel = 1
        for d in shape:
            numel *= d
        out.append((name, info["dtype"], shape, bytes((i * 37 + 11) % 256 for i in range(numel * size[info["dtype"]]))))
    return out


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    f32 = struct.pack("<4f", 1.0, -2.5, 0.0, 3.25)
    # safetensors
    put("safetensors", "tiny-header.safetensors", safetensors(tiny_header_tensors(4), {"format": "pt"}))
    put("safetensors", "dtypes.safetensors", safetensors([
        ("f32", "F32", [2, 2], f32), ("bf16", "BF16", [3], b"\x80\x3f\x00\x40\x00\xc0"),
        ("f16", "F16", [1, 2], b"\x00\x3c\x00\xc0"), ("i64", "I64", [1], struct.pack("<q", -7)), ("u8", "U8", [2], b"\x01\xff"),
        ("empty", "F32", [0, 4], b""), ("scalar", "F32", [], struct.pack("<f", 0.5))]))
    put("safetensors", "empty.safetensors", safetensors([]))
    # torch zip: the small fixtures of golden/checkpoint/data
    data = os.path.join(ROOT, "golden", "checkpoint", "data")
    for name in ["parameters.bin", "nested.bin", "dtypes.bin", "zip64.bin", "deflated.bin", "proto4.bin", "legacy.bin", "byteorder_big.bin"]:
        with open(os.path.join(data, name), "rb") as f:
            put("torchzip", name, f.read())
    # config + index
    tiny = os.path.join(ROOT, "golden", "model", "tiny", "safetensors")
    cfg = open(os.path.join(tiny, "config.json"), "rb").read()
    idx = open(os.path.join(tiny, "model.safetensors.index.json"), "rb").read()
    put("config", "tiny-sharded.txt", cfg + SEP + idx)
    small_idx = open(os.path.join(data, "sharded", "model.safetensors.index.json"), "rb").read()
    put("config", "tiny-small-index.txt", cfg + SEP + small_idx)
    put("config", "tiny-no-index.txt", cfg + SEP)
    cfg7b = open(os.path.join(ROOT, "golden", "model", "config-7b", "config.json"), "rb").read()
    put("config", "7b.txt", cfg7b + SEP + small_idx)
    # the most layers spec/model.json's range allows: the catalog the allocation budget's limit term is for
    c = json.loads(cfg7b)
    c["num_hidden_layers"] = 256
    c["vision_config"] = {"num_hidden_layers": 256}
    put("config", "256-layers.txt", json.dumps(c, indent=2).encode() + SEP + small_idx)
    # sentencepiece: the bundled InternLM2 model cut down to the pieces the tokenizer needs (specials, bytes, a few merges)
    put("sentencepiece", "internlm2-small.model", small_sentencepiece(os.path.join(tiny, "tokenizer.model")))
    # image: small files of golden/vision/media and golden/media
    media = [os.path.join(ROOT, "golden", "vision", "media", n) for n in sorted(os.listdir(os.path.join(ROOT, "golden", "vision", "media")))]
    media += [os.path.join(ROOT, "golden", "media", "panda.jpeg")]
    for p in media:
        if 0 < os.path.getsize(p) <= 8192 and p.rsplit(".", 1)[-1] in ("png", "jpg", "jpeg", "gif", "webp", "bmp"):
            put("image", os.path.basename(p), open(p, "rb").read())
    # a 13 KB PNG of 4000x1000 px, at the target's 4 Mpx decode limit: the budget's limit term
    put("image", "limit_4000x1000.png", png_rgb(4000, 1000))
    # compare: two small traces (same names, one differing value), and a shape mismatch
    a = safetensors([("x", "F32", [2, 2], f32), ("ids", "I64", [1], struct.pack("<q", 3))], {"op": "rms_norm"})
    b = safetensors([("x", "F32", [2, 2], struct.pack("<4f", 1.0, -2.5, 0.0, 3.5)), ("ids", "I64", [1], struct.pack("<q", 3))])
    put("compare", "two-traces.txt", a + SEP + b)
    put("compare", "bf16-vs-f32.txt", safetensors([("x", "BF16", [2], b"\x80\x3f\x00\x40")]) + SEP + safetensors([("x", "F32", [2], struct.pack("<2f", 1.0, 2.0))]))
    # port-request: one line per surface, from spec/port.json's field types
    lines = [
        {"id": 0, "surface": "hello"},
        {"id": 1, "surface": "tokenize", "work": ".", "text": "Hello <s>世界 [UNUSED_TOKEN_146]", "add_bos": True},
        {"id": 2, "surface": "prompt", "work": ".", "query": "<ImageHere>What is this?", "images": [{"path": "a.png", "width": 560, "height": 336}]},
        {"id": 3, "surface": "partition", "work": ".", "image": "a.png", "hd_num": 4, "out": "p.safetensors"},
        {"id": 4, "surface": "rope", "work": ".", "head_dim": 8, "theta": 10000.0, "max_position_embeddings": 64, "scaling": "dynamic", "factor": 2.0, "out": "r.safetensors"},
        {"id": 5, "surface": "op", "work": ".", "op": "rms_norm", "attrs": {"eps": 1e-5}, "inputs": "in.safetensors", "out": "o.safetensors"},
    ]
    for l in lines:
        put("port-request", f"{l['id']}-{l['surface']}.jsonl", (json.dumps(l, ensure_ascii=False) + "\n").encode())
    put("port-request", "all.jsonl", b"".join((json.dumps(l, ensure_ascii=False) + "\n").encode() for l in lines))
    # video-probe: ffprobe's real reports on the test videos (the arguments of VideoFrames.Probe / ProbeReport.Entries),
    # and a few reports ffprobe writes for odd files (no stream, unknown rates, a rotation)
    vids = os.path.join(ROOT, "golden", "vision", "media")
    for n in sorted(os.listdir(vids)):
        if n.endswith(".mp4"):
            put("video-probe", n + ".json", subprocess.run(
                ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                 "stream=avg_frame_rate,r_frame_rate,width,height,nb_frames:stream_side_data=rotation", "-of", "json",
                 "file:" + os.path.join(vids, n)], check=True, capture_output=True).stdout)
    put("video-probe", "no-stream.json", b'{\n    "programs": [\n\n    ],\n    "streams": [\n\n    ]\n}\n')
    put("video-probe", "unknown-avg-rate.json", json.dumps({"programs": [], "streams": [
        {"width": 640, "height": 360, "r_frame_rate": "24000/1001", "avg_frame_rate": "0/0"}]}, indent=4).encode())
    put("video-probe", "rotation-180.json", json.dumps({"programs": [], "streams": [
        {"width": 64, "height": 48, "r_frame_rate": "30/1", "avg_frame_rate": "30/1", "nb_frames": "3000",
         "side_data_list": [{"rotation": 180}]}]}, indent=4).encode())


def png_rgb(w, h):
    """An 8-bit RGB PNG of one colour."""
    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    raw = b"".join(b"\0" + b"\x10\x20\x30" * w for _ in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def varint(b, i):
    v = s = 0
    while True:
        c = b[i]; i += 1
        v |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return v, i


def fields(b):
    i = 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        wire = key & 7
        if wire == 0:
            _, i = varint(b, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = varint(b, i)
            yield key >> 3, b[start:i + n], b[i:i + n]
            i += n
            continue
        yield key >> 3, b[start:i], None


def small_sentencepiece(path):
    b = open(path, "rb").read()
    out, kept = [], 0
    for field, raw, payload in fields(b):
        if field == 1:
            piece = next((p for f, _, p in fields(payload) if f == 1), b"").decode("utf-8", "replace")
            keep = kept < 300 or piece.startswith("[UNUSED_TOKEN_14") or piece in ("▁", "▁the", "He", "ll", "llo")
            kept += 1
            if not keep:
                continue
        out.append(raw)
    return b"".join(out)


if __name__ == "__main__":
    main()
