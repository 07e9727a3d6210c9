using IXC25.Backends.Cpu.Attention;
using IXC25.Runtime;

namespace IXC25.Backends.Cpu;

// attention_cached: the decoder's attention with the KV cache kept in place.
public sealed partial class CpuOps
{
    /// <summary>
    /// qkv [T, (H + 2 HKV) D], cos/sin [T, D], cache (HKV heads of D, TP tokens before the call),
    /// y [T, H D]. Rotates the new keys, appends keys and values (the cache then holds TP + T tokens) and
    /// attends causally over all of them with scale 1/sqrt(D). A float32 cache is read in place by the
    /// blocked attention; a 16-bit cache is widened into a temporary float32 cache for the pass (the new
    /// tokens attend to their own unrounded keys and are stored rounded).
    /// </summary>
    public void AttentionCached(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, CpuKvLayer cache, Span<float> y)
    {
        if (cache.HKV != HKV || cache.D != D) throw new IxcException($"attention_cached: cache has {cache.HKV} heads of {cache.D}, the layer needs {HKV} of {D}");
        cache.Reserve(T);
        if (cache.Fast is { } fast)
        {
            Attention(qkv, T, H, HKV, D, cos, sin, fast, y);
            return;
        }
        int TP = cache.Length;
        var kPast = new float[(long)HKV * TP * D];
        var vPast = new float[kPast.Length];
        cache.CopyTo(kPast, vPast);
        using var temp = new KvPanels(HKV, D, TP + T);
        temp.Append(kPast, vPast, TP);
        Attention(qkv, T, H, HKV, D, cos, sin, temp, y);
        var kAll = new float[(long)HKV * (TP + T) * D];
        var vAll = new float[kAll.Length];
        temp.CopyTo(kAll, vAll);
        var kNew = new float[(long)HKV * T * D];
        var vNew = new float[kNew.Length];
        for (int g = 0; g < HKV; g++)
        {
            kAll.AsSpan((g * (TP + T) + TP) * D, T * D).CopyTo(kNew.AsSpan(g * T * D));
            vAll.AsSpan((g * (TP + T) + TP) * D, T * D).CopyTo(vNew.AsSpan(g * T * D));
        }
        cache.Append(kNew, vNew, T);
    }
}
