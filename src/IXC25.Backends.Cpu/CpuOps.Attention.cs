using IXC25.Backends.Cpu.Reference;

namespace IXC25.Backends.Cpu;

// Attention. Lowering today: scalar reference (to be replaced by the blocked attention drivers).
public sealed partial class CpuOps
{
    /// <summary>qkv [T, (H + 2 HKV) D], cos/sin [T, D], k_past/v_past [HKV, TP, D], y [T, H D], k_new/v_new [HKV, T, D].</summary>
    public void Attention(ReadOnlySpan<float> qkv, int T, int H, int HKV, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin,
        ReadOnlySpan<float> kPast, ReadOnlySpan<float> vPast, int TP, Span<float> y, Span<float> kNew, Span<float> vNew) =>
        RefOps.Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, TP, y, kNew, vNew);

    /// <summary>q, k, v, y [N, T, C] (CLIP attention core).</summary>
    public void Mha(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, int N, int T, int C, int heads, float scale, Span<float> y) =>
        RefOps.Mha(q, k, v, N, T, C, heads, scale, y);
}
