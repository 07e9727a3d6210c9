"""Minimal safetensors reader/writer for the golden scripts (no `safetensors` package on Debian).

Format: 8-byte little-endian header length N, N bytes of JSON header (padded with spaces to a
multiple of 8), then the raw little-endian tensor data. Header entries:
``name: {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}`` plus optional
``"__metadata__": {str: str}``.
"""
import json
import struct

import numpy as np
import torch

_TORCH_TO_ST = {
    torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.float64: "F64",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_ST_TO_TORCH = {v: k for k, v in _TORCH_TO_ST.items()}


def _tensor_bytes(t: torch.Tensor) -> bytes:
    t = t.detach().contiguous().cpu()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().tobytes()
    return t.numpy().tobytes()


def save(path, tensors, metadata=None):
    """Writes ``tensors`` (an ordered dict name -> torch.Tensor) in insertion order."""
    header = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _TORCH_TO_ST:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        b = _tensor_bytes(t)
        header[name] = {"dtype": _TORCH_TO_ST[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        blobs.append(b)
        offset += len(b)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def load(path):
    """Returns (dict name -> torch.Tensor, metadata dict)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out = {}
    for name, e in header.items():
        b, end = e["data_offsets"]
        dt = _ST_TO_TORCH[e["dtype"]]
        raw = bytearray(data[base + b:base + end])
        if dt == torch.bfloat16:
            t = torch.from_numpy(np.frombuffer(raw, dtype=np.int16).copy()).view(torch.bfloat16)
        else:
            t = torch.from_numpy(np.frombuffer(raw, dtype=torch.empty(0, dtype=dt).numpy().dtype).copy())
        out[name] = t.reshape(e["shape"])
    return out, meta


def provenance(script, seed=None, **extra):
    """Standard golden metadata: schema version, generating script, library versions, seed."""
    import platform
    md = {"schema": "1", "script": script, "torch": torch.__version__, "python": platform.python_version(),
          "numpy": np.__version__}
    try:
        import PIL
        md["pil"] = PIL.__version__
    except ImportError:
        pass
    if seed is not None:
        md["seed"] = str(seed)
    md.update({k: str(v) for k, v in extra.items()})
    return md


def write_manifest(folder, script, seed=None, extra=None):
    """Writes MANIFEST.json in ``folder``: provenance plus the sha256 of every other file below it."""
    import hashlib
    import os
    files = {}
    for root, _, names in os.walk(folder):
        for nm in sorted(names):
            if nm == "MANIFEST.json":
                continue
            p = os.path.join(root, nm)
            rel = os.path.relpath(p, folder)
            with open(p, "rb") as f:
                files[rel] = hashlib.sha256(f.read()).hexdigest()
    m = {"schema_version": 1, **provenance(script, seed, **(extra or {})), "files": dict(sorted(files.items()))}
    with open(os.path.join(folder, "MANIFEST.json"), "w") as f:
        json.dump(m, f, indent=1, sort_keys=False)
        f.write("\n")
