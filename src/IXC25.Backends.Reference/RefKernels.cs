using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Reference;

/// <summary>
/// The reference backend's kernels (<see cref="IRefKernels"/>, generated from spec/ops.json, target ref): each
/// widens stored weights to float32 (exact) and calls the scalar reference <see cref="RefOps"/> with the
/// dimensions the generated <see cref="RefGraphOps"/> bound from the spec's shapes.
/// </summary>
public sealed class RefKernels : IRefKernels
{
    public static RefKernels Instance { get; } = new();

    private static float[] F(NamedTensor t) => t.ToFloat32();

    public void Embedding(ReadOnlySpan<long> ids, NamedTensor table, in EmbeddingDims d, EmbeddingAttrs attrs, Span<float> y) =>
        RefOps.Embedding(ids, F(table), d.V, d.C, y);

    public void Linear(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor? bias, in LinearDims d, LinearAttrs attrs, Span<float> y) =>
        RefOps.Linear(x, d.T, d.IN, F(weight), d.OUT, bias is null ? [] : F(bias), y);

    public void PloraLinear(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, in PloraLinearDims d, PloraLinearAttrs attrs, Span<float> y) =>
        RefOps.PloraLinear(x, d.T, d.IN, F(weight), d.OUT, F(loraA), F(loraB), d.R, imMask, attrs.Scale, y, attrs.RowExact);

    public void RmsNorm(ReadOnlySpan<float> x, NamedTensor weight, in RmsNormDims d, RmsNormAttrs attrs, Span<float> y) =>
        RefOps.RmsNorm(x, d.T, d.C, F(weight), attrs.Eps, y);

    public void LayerNorm(ReadOnlySpan<float> x, NamedTensor weight, NamedTensor bias, in LayerNormDims d, LayerNormAttrs attrs, Span<float> y) =>
        RefOps.LayerNorm(x, d.T, d.C, F(weight), F(bias), attrs.Eps, y);

    public void Gelu(ReadOnlySpan<float> x, in GeluDims d, GeluAttrs attrs, Span<float> y) => RefOps.Gelu(x, y);

    public void QuickGelu(ReadOnlySpan<float> x, in QuickGeluDims d, QuickGeluAttrs attrs, Span<float> y) => RefOps.QuickGelu(x, y);

    public void SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in SiluGateDims d, SiluGateAttrs attrs, Span<float> y) => RefOps.SiluGate(a, b, y);

    public void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, in AddDims d, AddAttrs attrs, Span<float> y) => RefOps.Add(a, b, y);

    public void Softmax(ReadOnlySpan<float> x, in SoftmaxDims d, SoftmaxAttrs attrs, Span<float> y) => RefOps.Softmax(x, d.T, d.K, y);

    public void Rope(ReadOnlySpan<float> x, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, in RopeDims d, RopeAttrs attrs, Span<float> y) =>
        RefOps.Rope(x, d.HX, d.T, d.D, cos, sin, y);

    public void SplitQkv(ReadOnlySpan<float> qkv, in SplitQkvDims d, SplitQkvAttrs attrs, Span<float> q, Span<float> k, Span<float> v) =>
        RefOps.SplitQkv(qkv, d.T, d.H, d.HKV, d.D, q, k, v);

    public void Sdpa(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, in SdpaDims d, SdpaAttrs attrs, Span<float> y) =>
        RefOps.Sdpa(q, k, v, d.H, d.HKV, d.TQ, d.TK, d.D, attrs.Scale, attrs.Causal, attrs.ScaleQ, y);

    public void Attention(ReadOnlySpan<float> qkv, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, ReadOnlySpan<float> kPast, ReadOnlySpan<float> vPast,
        in AttentionDims d, AttentionAttrs attrs, Span<float> y, Span<float> kNew, Span<float> vNew)
    {
        if (kPast.Length != vPast.Length) throw new IxcException("op 'attention': give both k_past and v_past, or neither");
        RefOps.Attention(qkv, d.T, d.H, d.HKV, d.D, cos, sin, kPast, vPast, d.TP, y, kNew, vNew);
    }

    /// <summary>
    /// attention over the cache: the stored tokens (as stored) are the past of <see cref="RefOps.Attention"/>;
    /// the new rotated keys and values are appended afterwards (a 16-bit cache stores them rounded, the
    /// new tokens attend to their unrounded selves, as the CPU backend does).
    /// </summary>
    public void AttentionCached(ReadOnlySpan<float> qkv, ReadOnlySpan<float> cos, ReadOnlySpan<float> sin, KvLayer cache, in AttentionCachedDims d, AttentionCachedAttrs attrs, Span<float> y)
    {
        int T = d.T, H = d.H, HKV = d.HKV, D = d.D;
        if (cache is not RefKvLayer) throw new IxcException($"attention_cached: the KV cache belongs to another backend ({cache.GetType().Name})");
        if (cache.HKV != HKV || cache.D != D) throw new IxcException($"attention_cached: cache has {cache.HKV} heads of {cache.D}, the layer needs {HKV} of {D}");
        cache.Reserve(T); // room for this pass before any work; beyond the cache's limit it throws naming it
        int TP = cache.Length;
        var kPast = new float[(long)HKV * TP * D];
        var vPast = new float[kPast.Length];
        cache.CopyTo(kPast, vPast);
        var kNew = new float[(long)HKV * T * D];
        var vNew = new float[kNew.Length];
        RefOps.Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, TP, y, kNew, vNew);
        cache.Append(kNew, vNew, T);
    }

    public void Mha(ReadOnlySpan<float> q, ReadOnlySpan<float> k, ReadOnlySpan<float> v, in MhaDims d, MhaAttrs attrs, Span<float> y) =>
        RefOps.Mha(q, k, v, d.N, d.T, d.C, attrs.Heads, attrs.Scale, y);

    public void ClipEmbed(ReadOnlySpan<float> pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, in ClipEmbedDims d, ClipEmbedAttrs attrs, Span<float> y) =>
        RefOps.ClipEmbed(pixels, d.N, d.S, F(patchWeight), d.CV, d.PZ, F(classEmbedding), F(positionEmbedding), y);

    public void MergeGn(ReadOnlySpan<float> features, NamedTensor subGn, NamedTensor glbGn, in MergeGnDims d, MergeGnAttrs attrs, Span<float> y) =>
        RefOps.MergeGn(features, d.N, attrs.Grid, d.CV, F(subGn), F(glbGn), attrs.Rows, attrs.Cols, y);

    public void DropFirst(ReadOnlySpan<float> x, in DropFirstDims d, DropFirstAttrs attrs, Span<float> y) =>
        RefOps.DropFirst(x, d.N, d.T, d.C, y);
}
