using IXC25.Backends.Cpu.Reference;
using IXC25.Runtime;

namespace IXC25.Backends.Cpu;

// attention_cached: the decoder's attention with the KV cache kept in place.
public sealed partial class CpuOps
{
    /// <summary>
    /// qkv [T, (H + 2 HKV) D], cos/sin [T, D], cache (HKV heads of D, Length = TP rows before the call),
    /// y [T, H D]. Writes the rotated keys and the values of the T new tokens at rows [TP, TP + T) and
    /// attends causally over [0, TP + T) with scale 1/sqrt(D). Lowering today: split_qkv, rope and sdpa
    /// references over a packed copy of the cache.
    /// </summary>
    public void AttentionCached(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, KvLayer cache, Span<float> y)
    {
        if (cache.HKV != HKV || cache.D != D) throw new IxcException($"attention_cached: cache has {cache.HKV} heads of {cache.D}, the layer needs {HKV} of {D}");
        int TP = cache.Length;
        cache.Reserve(T);
        var q = new float[H * T * D];
        var k = new float[HKV * T * D];
        var v = new float[HKV * T * D];
        RefOps.SplitQkv(qkv, T, H, HKV, D, q, k, v);
        RefOps.Rope(q, H, T, D, cos, sin, q);
        RefOps.Rope(k, HKV, T, D, cos, sin, k);
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < T; t++)
                cache.Write(g, TP + t, k.AsSpan((g * T + t) * D, D), v.AsSpan((g * T + t) * D, D));
        cache.Advance(T);
        int TK = TP + T;
        var kAll = new float[HKV * TK * D];
        var vAll = new float[HKV * TK * D];
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < TK; t++)
                cache.Read(g, t, kAll.AsSpan((g * TK + t) * D, D), vAll.AsSpan((g * TK + t) * D, D));
        RefOps.Sdpa(q, kAll, vAll, H, HKV, T, TK, D, (float)(1.0 / Math.Sqrt(D)), causal: true, scaleQ: false, y);
    }
}
