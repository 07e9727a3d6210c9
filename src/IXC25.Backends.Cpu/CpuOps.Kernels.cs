using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// ICpuKernels (generated from spec/ops.json, target cpu): the entry points the generated CpuGraphOps calls
// once it has checked the shapes and allocated the outputs; each maps the bound dimensions onto the span-level
// kernel of its area (CpuOps.Elementwise.cs, CpuOps.Linear.cs, CpuOps.Attention*.cs, CpuOps.Vision.cs).
public sealed partial class CpuOps : ICpuKernels
{
    /// <summary>A weight as float32: the stored array when it is f32, else widened (exact).</summary>
    private static float[] F(NamedTensor t) => t.DType == DType.F32 ? t.AsSpan<float>().ToArray() : t.ToFloat32();

    void ICpuKernels.Embedding(ReadOnlySpan<long> ids, NamedTensor table, in EmbeddingDims d, EmbeddingAttrs attrs, Span<float> y) =>
        Embedding(ids, table, y);

    void ICpuKernels.Linear(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor? bias, in LinearDims d, LinearAttrs attrs, Span<float> y) =>
        Linear(x, d.T, weight, bias, y, attrs.RowExact);

    void ICpuKernels.PloraLinear(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, in PloraLinearDims d, PloraLinearAttrs attrs, Span<float> y) =>
        PloraLinear(x, d.T, weight, loraA, loraB, imMask, attrs.Scale, y, attrs.RowExact);

    void ICpuKernels.RmsNorm(ReadOnlySpan<float> x, NamedTensor weight, in RmsNormDims d, RmsNormAttrs attrs, Span<float> y) =>
        RmsNorm(x, d.T, d.C, F(weight), attrs.Eps, y);

    void ICpuKernels.LayerNorm(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor bias, in LayerNormDims d, LayerNormAttrs attrs, Span<float> y) =>
        LayerNorm(x, d.T, d.C, F(weight), F(bias), attrs.Eps, y);

    void ICpuKernels.Gelu(ReadOnlySpan<float> x, in GeluDims d, GeluAttrs attrs, Span<float> y) => Gelu(x, y);

    void ICpuKernels.QuickGelu(ReadOnlySpan<float> x, in QuickGeluDims d, QuickGeluAttrs attrs, Span<float> y) => QuickGelu(x, y);

    void ICpuKernels.SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in SiluGateDims d, SiluGateAttrs attrs, Span<float> y) => SiluGate(a, b, y);

    void ICpuKernels.Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in AddDims d, AddAttrs attrs, Span<float> y) => Add(a, b, y);

    void ICpuKernels.Softmax(ReadOnlySpan<float> x, in SoftmaxDims d, SoftmaxAttrs attrs, Span<float> y) => Softmax(x, d.T, d.K, y);

    void ICpuKernels.Rope(ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, in RopeDims d, RopeAttrs attrs, Span<float> y) =>
        Rope(x, d.HX, d.T, d.D, cos, sin, y);

    void ICpuKernels.Attention(ReadOnlySpan<float> qkv, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, ReadOnlySpan<float> kPast, ReadOnlySpan<float> vPast,
        in AttentionDims d, AttentionAttrs attrs, Span<float> y, Span<float> kNew, Span<float> vNew)
    {
        if (kPast.Length != vPast.Length) throw new IxcException("op 'attention': give both k_past and v_past, or neither");
        Attention(qkv, d.T, d.H, d.HKV, d.D, cos, sin, kPast, vPast, d.TP, y, kNew, vNew);
    }

    void ICpuKernels.AttentionCached(ReadOnlySpan<float> qkv, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, KvLayer cache, in AttentionCachedDims d, AttentionCachedAttrs attrs, Span<float> y)
    {
        var layer = cache as CpuKvLayer ?? throw new IxcException($"attention_cached: the KV cache belongs to another backend ({cache.GetType().Name})");
        AttentionCached(qkv, d.T, d.H, d.HKV, d.D, cos, sin, layer, y);
    }

    void ICpuKernels.Mha(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, in MhaDims d, MhaAttrs attrs, Span<float> y) =>
        Mha(q, k, v, d.N, d.T, d.C, attrs.Heads, attrs.Scale, y);

    void ICpuKernels.ClipEmbed(ReadOnlySpan<float> pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, in ClipEmbedDims d, ClipEmbedAttrs attrs, Span<float> y) =>
        ClipEmbed(pixels, d.N, d.S, patchWeight, classEmbedding, positionEmbedding, y);
}
