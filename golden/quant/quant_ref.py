"""The quantized formats of spec/quant.json written from their definition in plain torch (docs/QUANT.md).

Weights: q8_0 and q4_0 exactly as ggml's reference quantizers (quantize_row_q8_0_ref, quantize_row_q4_0_ref),
stored planar (qs, f16 scales). Activations: q8_0's rule with a float32 scale. Dot: the exact integer block sums,
then the float part in the spec's fixed order (16 lanes, pairwise). float32 arithmetic is IEEE round-to-nearest in
torch on the CPU, one operation at a time, so every expression below rounds where the definition rounds.
"""
import torch

BLOCK = 32
LANES = 16


def roundf(v):
    """C roundf (half away from zero) of a float32 tensor; exact: float32 values are exact in float64."""
    a = v.double().abs()
    return (torch.sign(v.double()) * torch.floor(a + 0.5)).to(torch.float32)


def _blocks(w):
    w = w.to(torch.float32)
    assert w.dim() == 2 and w.shape[1] % BLOCK == 0, w.shape
    if not torch.isfinite(w).all():
        raise ValueError("non-finite weight")
    return w.reshape(w.shape[0], -1, BLOCK)


def _inv(d):
    return torch.where(d != 0, torch.tensor(1.0, dtype=torch.float32) / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d))


def quantize_q8_0(w):
    """w [R, K] -> (qs int8 [R, K], scales f16 [R, K/32])."""
    b = _blocks(w)
    amax = b.abs().amax(dim=2)
    d = amax / torch.tensor(127.0, dtype=torch.float32)
    idv = _inv(d)
    q = roundf(b * idv[:, :, None]).to(torch.int8)
    return q.reshape(w.shape[0], -1), d.to(torch.float16)


def quantize_q4_0(w):
    """w [R, K] -> (qs uint8 [R, K/2] (ggml nibble order), scales f16 [R, K/32])."""
    b = _blocks(w)
    R, nb, _ = b.shape
    mx = torch.zeros(R, nb, dtype=torch.float32)
    amax = torch.zeros(R, nb, dtype=torch.float32)
    for j in range(BLOCK):  # the C loop's strict '<': the first element of the largest magnitude wins
        v = b[:, :, j]
        take = amax < v.abs()
        amax = torch.where(take, v.abs(), amax)
        mx = torch.where(take, v, mx)
    d = mx / torch.tensor(-8.0, dtype=torch.float32)
    idv = _inv(d)
    t = b * idv[:, :, None] + torch.tensor(8.5, dtype=torch.float32)
    q = torch.clamp(torch.trunc(t), max=15).to(torch.int64)  # (int8_t) truncates toward zero; MIN(15, .)
    assert (q >= 0).all()
    packed = (q[:, :, :16] | (q[:, :, 16:] << 4)).to(torch.uint8)
    return packed.reshape(R, -1), d.to(torch.float16)


def unpack_q4_0(qs, K):
    R = qs.shape[0]
    b = qs.reshape(R, -1, 16).to(torch.int64)
    return torch.cat([b & 15, b >> 4], dim=2).reshape(R, K)


def dequantize(fmt, qs, scales, K):
    d = scales.to(torch.float32)
    q = qs.to(torch.int64) if fmt == "q8_0" else unpack_q4_0(qs, K) - 8
    q = q.to(torch.float32).reshape(qs.shape[0], -1, BLOCK)
    return (q * d[:, :, None]).reshape(qs.shape[0], K)


def quantize_act(x):
    """x [T, K] float32 -> (qs int8 [T, K], scales float32 [T, K/32]); a block with NaN/inf: scale NaN, q 0."""
    b = x.to(torch.float32).reshape(x.shape[0], -1, BLOCK)
    bad = ~torch.isfinite(b).all(dim=2)
    b = torch.where(bad[:, :, None], torch.zeros_like(b), b)
    amax = b.abs().amax(dim=2)
    d = amax / torch.tensor(127.0, dtype=torch.float32)
    idv = _inv(d)
    q = roundf(b * idv[:, :, None]).to(torch.int8)
    d = torch.where(bad, torch.full_like(d, float("nan")), d)
    return q.reshape(x.shape[0], -1), d


def dot(fmt, qs, scales, K, aqs, ascales, bias=None):
    """y [T, R] = the spec's quantized dot of every activation row with every weight row."""
    qw = (qs.to(torch.int64) if fmt == "q8_0" else unpack_q4_0(qs, K) - 8).reshape(qs.shape[0], -1, BLOCK)
    qa = aqs.to(torch.int64).reshape(aqs.shape[0], -1, BLOCK)
    s = torch.einsum("rbk,tbk->trb", qw, qa)  # exact int64 block sums [T, R, nb]
    dw = scales.to(torch.float32)  # [R, nb]
    prod = dw[None, :, :] * ascales[:, None, :]  # scale product first (float32)
    p = s.to(torch.float32) * prod
    T, R, nb = p.shape
    acc = torch.zeros(T, R, LANES, dtype=torch.float32)
    for blk in range(nb):
        acc[:, :, blk % LANES] = acc[:, :, blk % LANES] + p[:, :, blk]
    h = LANES // 2
    while h >= 1:
        acc[:, :, :h] = acc[:, :, :h] + acc[:, :, h:2 * h]
        h //= 2
    y = acc[:, :, 0].clone()
    if bias is not None:
        y = y + bias.to(torch.float32)[None, :]
    return y


QUANTIZE = {"q8_0": quantize_q8_0, "q4_0": quantize_q4_0}
