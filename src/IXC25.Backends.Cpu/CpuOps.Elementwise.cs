using IXC25.Backends.Cpu.Reference;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Elementwise and row ops. Lowering today: scalar reference (to be replaced by the generated SIMD kernels).
public sealed partial class CpuOps
{
    /// <summary>x [T, C], weight [C], y [T, C].</summary>
    public void RmsNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, float eps, Span<float> y) => RefOps.RmsNorm(x, T, C, weight, eps, y);

    /// <summary>x [T, C], weight [C], bias [C], y [T, C].</summary>
    public void LayerNorm(ReadOnlySpan<float> x, int T, int C, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias, float eps, Span<float> y) => RefOps.LayerNorm(x, T, C, weight, bias, eps, y);

    public void Gelu(ReadOnlySpan<float> x, Span<float> y) => RefOps.Gelu(x, y);
    public void QuickGelu(ReadOnlySpan<float> x, Span<float> y) => RefOps.QuickGelu(x, y);
    public void SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => RefOps.SiluGate(a, b, y);
    public void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y) => RefOps.Add(a, b, y);

    /// <summary>x [T, K], y [T, K].</summary>
    public void Softmax(ReadOnlySpan<float> x, int T, int K, Span<float> y) => RefOps.Softmax(x, T, K, y);

    /// <summary>x [HX, T, D], cos/sin [T, D], y [HX, T, D] (may alias x).</summary>
    public void Rope(ReadOnlySpan<float> x, int HX, int T, int D, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, Span<float> y) => RefOps.Rope(x, HX, T, D, cos, sin, y);

    /// <summary>ids [T], table [V, C] as stored, y [T, C].</summary>
    public void Embedding(ReadOnlySpan<long> ids, NamedTensor table, Span<float> y)
    {
        int V = checked((int)table.Shape[0]), C = checked((int)table.Shape[1]);
        for (int t = 0; t < ids.Length; t++)
        {
            long id = ids[t];
            if (id < 0 || id >= V) throw new IXC25.Runtime.IxcException($"embedding: id {id} at position {t} is outside the vocabulary [0, {V})");
            var dst = y.Slice(t * C, C);
            switch (table.DType)
            {
                case DType.BF16: BFloat16.Widen(table.AsSpan<ushort>().Slice((int)id * C, C), dst); break;
                case DType.F16:
                    var h = table.AsSpan<Half>().Slice((int)id * C, C);
                    for (int c = 0; c < C; c++) dst[c] = (float)h[c];
                    break;
                default: table.AsSpan<float>().Slice((int)id * C, C).CopyTo(dst); break;
            }
        }
    }
}
