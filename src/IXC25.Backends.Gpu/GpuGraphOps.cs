using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// The graph on the ILGPU backend (--backend gpu, gpu-sim): the ops spec/ops.json lowers to "ilgpu"
/// (<see cref="GpuLowering"/>: norms, activations, residual adds, softmax, RoPE) run on the accelerator;
/// every op lowered to "none" runs on <see cref="Fallback"/>, the host backend the factory gives it.
/// Tensors are the fallback's host tensors for now, and each GPU op uploads its inputs and downloads its
/// output (resident device tensors are the GPU issue's). Shapes are checked by the spec's rules.
/// </summary>
public sealed class GpuGraphOps(GpuBackend gpu, IOracleOps fallback, string name) : IOracleOps
{
    public GpuBackend Gpu { get; } = gpu;

    /// <summary>Where the ops without an ILGPU kernel run (and whose tensors this backend uses).</summary>
    public IOracleOps Fallback { get; } = fallback;

    public string Name { get; } = name;

    /// <summary>Ops that ran on the accelerator so far, by name (for reports).</summary>
    public IReadOnlyDictionary<string, int> GpuCalls => _calls;
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

    private void Count(string op) => _calls[op] = _calls.TryGetValue(op, out var n) ? n + 1 : 1;

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => Fallback.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => Fallback.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => Fallback.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => Fallback.NewKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => Fallback.Release(a);

    public void Dispose()
    {
        Gpu.Dispose();
        Fallback.Dispose();
    }

    private static float[] F(NamedTensor t) => t.ToFloat32();
    private static Span<float> X(Act a) => HostAct.Of(a).Span;
    private static long[] Rows(Act x) => [x.Numel / Math.Max(1, x.Shape[^1]), x.Shape[^1]];

    public Act RmsNorm(Act x, NamedTensor weight, RmsNormAttrs attrs)
    {
        var s = OpShapes.RmsNorm(new Dictionary<string, long[]> { ["x"] = x.Shape, ["weight"] = weight.Shape }, attrs);
        var y = HostAct.F32(OpShapes.RmsNormYShape(s)!);
        Gpu.RmsNorm(X(x), (int)s["T"], (int)s["C"], F(weight), attrs.Eps, y.Span);
        Count("rms_norm");
        return y;
    }

    public Act LayerNorm(Act x, NamedTensor weight, NamedTensor bias, LayerNormAttrs attrs)
    {
        var s = OpShapes.LayerNorm(new Dictionary<string, long[]> { ["x"] = Rows(x), ["weight"] = weight.Shape, ["bias"] = bias.Shape }, attrs);
        var y = HostAct.F32((long[])x.Shape.Clone());
        Gpu.LayerNorm(X(x), (int)s["T"], (int)s["C"], F(weight), F(bias), attrs.Eps, y.Span);
        Count("layer_norm");
        return y;
    }

    public Act Gelu(Act x, GeluAttrs attrs) => Unary(x, "gelu", Gpu.Gelu);
    public Act QuickGelu(Act x, QuickGeluAttrs attrs) => Unary(x, "quick_gelu", Gpu.QuickGelu);
    public Act SiluGate(Act a, Act b, SiluGateAttrs attrs) => Binary(a, b, "silu_gate", Gpu.SiluGate);
    public Act Add(Act a, Act b, AddAttrs attrs) => Binary(a, b, "add", Gpu.Add);

    private delegate void UnaryOp(ReadOnlySpan<float> x, Span<float> y);
    private delegate void BinaryOp(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    private Act Unary(Act x, string op, UnaryOp f)
    {
        var y = HostAct.F32((long[])x.Shape.Clone());
        f(X(x), y.Span);
        Count(op);
        return y;
    }

    private Act Binary(Act a, Act b, string op, BinaryOp f)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op '{op}': a {a} and b {b} differ in shape");
        var y = HostAct.F32((long[])a.Shape.Clone());
        f(X(a), X(b), y.Span);
        Count(op);
        return y;
    }

    public Act Softmax(Act x, SoftmaxAttrs attrs)
    {
        var s = OpShapes.Softmax(new Dictionary<string, long[]> { ["x"] = x.Shape }, attrs);
        var y = HostAct.F32(OpShapes.SoftmaxYShape(s)!);
        Gpu.Softmax(X(x), (int)s["T"], (int)s["K"], y.Span);
        Count("softmax");
        return y;
    }

    public Act Rope(Act x, Act cos, Act sin, RopeAttrs attrs)
    {
        var s = OpShapes.Rope(new Dictionary<string, long[]> { ["x"] = x.Shape, ["cos"] = cos.Shape, ["sin"] = sin.Shape }, attrs);
        var y = HostAct.F32(OpShapes.RopeYShape(s)!);
        Gpu.Rope(X(x), (int)s["HX"], (int)s["T"], (int)s["D"], X(cos), X(sin), y.Span);
        Count("rope");
        return y;
    }

    // ops lowered to "none" on the GPU (spec/ops.json): the fallback backend
    public Act Embedding(Act ids, NamedTensor table, EmbeddingAttrs attrs) => Fallback.Embedding(ids, table, attrs);
    public Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs) => Fallback.Linear(x, weight, bias, attrs);
    public Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs) => Fallback.PloraLinear(x, weight, loraA, loraB, imMask, attrs);
    public SplitQkvOutputs SplitQkv(Act qkv, SplitQkvAttrs attrs) => Fallback.SplitQkv(qkv, attrs);
    public Act Sdpa(Act q, Act k, Act v, SdpaAttrs attrs) => Fallback.Sdpa(q, k, v, attrs);
    public AttentionOutputs Attention(Act qkv, Act cos, Act sin, Act? kPast, Act? vPast, AttentionAttrs attrs) => Fallback.Attention(qkv, cos, sin, kPast, vPast, attrs);
    public Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs) => Fallback.AttentionCached(qkv, cos, sin, cache, attrs);
    public Act Mha(Act q, Act k, Act v, MhaAttrs attrs) => Fallback.Mha(q, k, v, attrs);
    public Act ClipEmbed(Act pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, ClipEmbedAttrs attrs) => Fallback.ClipEmbed(pixels, patchWeight, classEmbedding, positionEmbedding, attrs);
    public Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs) => Fallback.MergeGn(features, subGn, glbGn, attrs);
    public Act DropFirst(Act x, DropFirstAttrs attrs) => Fallback.DropFirst(x, attrs);
}
