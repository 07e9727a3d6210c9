using IXC25.Backends.Cpu;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// The graph on the ILGPU backend where it has kernels: the ops spec/ops.json lowers to "ilgpu"
/// (<see cref="GpuLowering"/>: norms, activations, residual adds, softmax, RoPE) run on the accelerator;
/// every other op (GEMM, attention, embedding, vision layout) runs on the CPU backend it wraps. Each
/// GPU op uploads its inputs and downloads its output. Shapes are checked by the CPU backend's rules.
/// </summary>
public sealed class GpuGraphOps(CpuGraphOps cpu, GpuBackend gpu) : IGraphOps
{
    public CpuGraphOps Cpu { get; } = cpu;
    public GpuBackend Gpu { get; } = gpu;

    /// <summary>Ops that ran on the accelerator so far, by name (for reports).</summary>
    public IReadOnlyDictionary<string, int> GpuCalls => _calls;
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

    private void Count(string op) => _calls[op] = _calls.TryGetValue(op, out var n) ? n + 1 : 1;

    private static float[] F(NamedTensor t) => t.ToFloat32();

    private static long[] Rows(Act x) => [x.Length / Math.Max(1, x.Shape[^1]), x.Shape[^1]];

    public void Release(Act a) => a.Release();

    public Act RmsNorm(Act x, NamedTensor weight, RmsNormAttrs attrs)
    {
        var s = OpShapes.RmsNorm(new Dictionary<string, long[]> { ["x"] = x.Shape, ["weight"] = weight.Shape }, attrs);
        var y = Act.F32(OpShapes.RmsNormYShape(s)!);
        Gpu.RmsNorm(x.Span, (int)s["T"], (int)s["C"], F(weight), attrs.Eps, y.Span);
        Count("rms_norm");
        return y;
    }

    public Act LayerNorm(Act x, NamedTensor weight, NamedTensor bias, LayerNormAttrs attrs)
    {
        var s = OpShapes.LayerNorm(new Dictionary<string, long[]> { ["x"] = Rows(x), ["weight"] = weight.Shape, ["bias"] = bias.Shape }, attrs);
        var y = Act.F32((long[])x.Shape.Clone());
        Gpu.LayerNorm(x.Span, (int)s["T"], (int)s["C"], F(weight), F(bias), attrs.Eps, y.Span);
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
        var y = Act.F32((long[])x.Shape.Clone());
        f(x.Span, y.Span);
        Count(op);
        return y;
    }

    private Act Binary(Act a, Act b, string op, BinaryOp f)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op '{op}': a {a} and b {b} differ in shape");
        var y = Act.F32((long[])a.Shape.Clone());
        f(a.Span, b.Span, y.Span);
        Count(op);
        return y;
    }

    public Act Softmax(Act x, SoftmaxAttrs attrs)
    {
        var s = OpShapes.Softmax(new Dictionary<string, long[]> { ["x"] = x.Shape }, attrs);
        var y = Act.F32(OpShapes.SoftmaxYShape(s)!);
        Gpu.Softmax(x.Span, (int)s["T"], (int)s["K"], y.Span);
        Count("softmax");
        return y;
    }

    public Act Rope(Act x, Act cos, Act sin, RopeAttrs attrs)
    {
        var s = OpShapes.Rope(new Dictionary<string, long[]> { ["x"] = x.Shape, ["cos"] = cos.Shape, ["sin"] = sin.Shape }, attrs);
        var y = Act.F32(OpShapes.RopeYShape(s)!);
        Gpu.Rope(x.Span, (int)s["HX"], (int)s["T"], (int)s["D"], cos.Span, sin.Span, y.Span);
        Count("rope");
        return y;
    }

    // ops without an ILGPU kernel: the CPU backend
    public Act Embedding(Act ids, NamedTensor table, EmbeddingAttrs attrs) => Cpu.Embedding(ids, table, attrs);
    public Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs) => Cpu.Linear(x, weight, bias, attrs);
    public Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs) => Cpu.PloraLinear(x, weight, loraA, loraB, imMask, attrs);
    public SplitQkvOutputs SplitQkv(Act qkv, SplitQkvAttrs attrs) => Cpu.SplitQkv(qkv, attrs);
    public Act Sdpa(Act q, Act k, Act v, SdpaAttrs attrs) => Cpu.Sdpa(q, k, v, attrs);
    public AttentionOutputs Attention(Act qkv, Act cos, Act sin, Act? kPast, Act? vPast, AttentionAttrs attrs) => Cpu.Attention(qkv, cos, sin, kPast, vPast, attrs);
    public Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs) => Cpu.AttentionCached(qkv, cos, sin, cache, attrs);
    public Act Mha(Act q, Act k, Act v, MhaAttrs attrs) => Cpu.Mha(q, k, v, attrs);
    public Act ClipEmbed(Act pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, ClipEmbedAttrs attrs) => Cpu.ClipEmbed(pixels, patchWeight, classEmbedding, positionEmbedding, attrs);
    public Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs) => Cpu.MergeGn(features, subGn, glbGn, attrs);
    public Act DropFirst(Act x, DropFirstAttrs attrs) => Cpu.DropFirst(x, attrs);
}
