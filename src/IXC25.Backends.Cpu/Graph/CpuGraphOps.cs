using IXC25.Backends.Reference;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// The CPU backend (--backend cpu): each <see cref="IGraphOps"/> method checks its inputs' shapes against
/// the spec (generated <see cref="OpShapes"/>), allocates the outputs as host tensors and calls
/// <see cref="CpuOps"/> (generated SIMD kernels and hand-written drivers). The ops spec/ops.json lowers to
/// "reference" on the CPU go to the reference backend (<see cref="Fallback"/>, host tensors too).
/// </summary>
public sealed class CpuGraphOps(CpuOps cpu, IOracleOps? fallback = null) : IOracleOps
{
    public CpuOps Cpu { get; } = cpu;

    /// <summary>Where the ops lowered to "reference" run (<see cref="CpuLowering"/>).</summary>
    public IOracleOps Fallback { get; } = fallback ?? new RefGraphOps();

    public CpuGraphOps(int threads = 0) : this(new CpuOps(threads)) { }

    public string Name => "cpu";

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => HostMemory.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => HostMemory.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => HostMemory.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => new CpuKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => a.Release();
    public void Dispose() => Fallback.Dispose();

    private static Dictionary<string, long[]> Shapes(params (string Name, object? Value)[] ports)
    {
        var d = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (n, v) in ports)
            if (v is Act a) d[n] = a.Shape;
            else if (v is NamedTensor t) d[n] = t.Shape;
        return d;
    }

    private static float[] F(NamedTensor t) => t.DType == DType.F32 ? t.AsSpan<float>().ToArray() : t.ToFloat32();
    private static int I(IReadOnlyDictionary<string, long> s, string k) => checked((int)s[k]);
    private static Span<float> X(Act a) => HostAct.Of(a).Span;
    private static HostAct Out(long[]? shape) => HostAct.F32(shape ?? throw new InvalidOperationException("output shape not determined by the spec"));

    /// <summary>[..., C] viewed as [rows, C].</summary>
    private static long[] Rows(Act x) => x.Shape.Length == 0 ? [1, 1] : [x.Numel / Math.Max(1, x.Shape[^1]), x.Shape[^1]];

    public Act Embedding(Act ids, NamedTensor table, EmbeddingAttrs attrs)
    {
        var s = OpShapes.Embedding(Shapes(("ids", ids), ("table", table)), attrs);
        var y = Out(OpShapes.EmbeddingYShape(s));
        Cpu.Embedding(HostAct.Of(ids).Longs, table, y.Span);
        return y;
    }

    public Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs)
    {
        // leading dimensions are flattened into T ([N, T, C] activations of the vision tower)
        var shapes = Shapes(("weight", weight), ("bias", bias));
        shapes["x"] = Rows(x);
        var s = OpShapes.Linear(shapes, attrs);
        var shape = (long[])x.Shape.Clone();
        shape[^1] = s["OUT"];
        var y = HostAct.F32(shape);
        Cpu.Linear(X(x), I(s, "T"), weight, bias, y.Span);
        return y;
    }

    public Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
    {
        var s = OpShapes.PloraLinear(Shapes(("x", x), ("weight", weight), ("lora_a", loraA), ("lora_b", loraB), ("im_mask", imMask)), attrs);
        var y = Out(OpShapes.PloraLinearYShape(s));
        Cpu.PloraLinear(X(x), I(s, "T"), weight, loraA, loraB, HostAct.Of(imMask).Bytes, attrs.Scale, y.Span);
        return y;
    }

    public Act RmsNorm(Act x, NamedTensor weight, RmsNormAttrs attrs)
    {
        var s = OpShapes.RmsNorm(Shapes(("x", x), ("weight", weight)), attrs);
        var y = Out(OpShapes.RmsNormYShape(s));
        Cpu.RmsNorm(X(x), I(s, "T"), I(s, "C"), F(weight), attrs.Eps, y.Span);
        return y;
    }

    public Act LayerNorm(Act x, NamedTensor weight, NamedTensor bias, LayerNormAttrs attrs)
    {
        // the vision tower's activations are [N, T, C]: normalize over the last dimension
        var s = OpShapes.LayerNorm(new Dictionary<string, long[]> { ["x"] = Rows(x), ["weight"] = weight.Shape, ["bias"] = bias.Shape }, attrs);
        var y = HostAct.F32((long[])x.Shape.Clone());
        Cpu.LayerNorm(X(x), I(s, "T"), I(s, "C"), F(weight), F(bias), attrs.Eps, y.Span);
        return y;
    }

    public Act Gelu(Act x, GeluAttrs attrs)
    {
        var y = HostAct.F32((long[])x.Shape.Clone());
        Cpu.Gelu(X(x), y.Span);
        return y;
    }

    public Act QuickGelu(Act x, QuickGeluAttrs attrs)
    {
        var y = HostAct.F32((long[])x.Shape.Clone());
        Cpu.QuickGelu(X(x), y.Span);
        return y;
    }

    public Act SiluGate(Act a, Act b, SiluGateAttrs attrs)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op 'silu_gate': a {a} and b {b} differ in shape");
        var y = HostAct.F32((long[])a.Shape.Clone());
        Cpu.SiluGate(X(a), X(b), y.Span);
        return y;
    }

    public Act Add(Act a, Act b, AddAttrs attrs)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op 'add': a {a} and b {b} differ in shape");
        var y = HostAct.F32((long[])a.Shape.Clone());
        Cpu.Add(X(a), X(b), y.Span);
        return y;
    }

    public Act Softmax(Act x, SoftmaxAttrs attrs)
    {
        var s = OpShapes.Softmax(Shapes(("x", x)), attrs);
        var y = Out(OpShapes.SoftmaxYShape(s));
        Cpu.Softmax(X(x), I(s, "T"), I(s, "K"), y.Span);
        return y;
    }

    public Act Rope(Act x, Act cos, Act sin, RopeAttrs attrs)
    {
        var s = OpShapes.Rope(Shapes(("x", x), ("cos", cos), ("sin", sin)), attrs);
        var y = Out(OpShapes.RopeYShape(s));
        Cpu.Rope(X(x), I(s, "HX"), I(s, "T"), I(s, "D"), X(cos), X(sin), y.Span);
        return y;
    }

    public AttentionOutputs Attention(Act qkv, Act cos, Act sin, Act? kPast, Act? vPast, AttentionAttrs attrs)
    {
        if ((kPast is null) != (vPast is null)) throw new IxcException("op 'attention': give both k_past and v_past, or neither");
        var s = OpShapes.Attention(Shapes(("qkv", qkv), ("cos", cos), ("sin", sin), ("k_past", kPast), ("v_past", vPast)), attrs);
        int TP = s.TryGetValue("TP", out var tp) ? checked((int)tp) : 0;
        var y = Out(OpShapes.AttentionYShape(s));
        var kNew = Out(OpShapes.AttentionKNewShape(s));
        var vNew = Out(OpShapes.AttentionVNewShape(s));
        Cpu.Attention(X(qkv), I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), X(cos), X(sin),
            kPast is null ? [] : X(kPast), vPast is null ? [] : X(vPast), TP, y.Span, kNew.Span, vNew.Span);
        return new AttentionOutputs(y, kNew, vNew);
    }

    public Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs)
    {
        var s = OpShapes.AttentionCached(Shapes(("qkv", qkv), ("cos", cos), ("sin", sin)), attrs);
        var layer = cache as CpuKvLayer ?? throw new IxcException($"attention_cached: the KV cache belongs to another backend ({cache.GetType().Name})");
        var y = Out(OpShapes.AttentionCachedYShape(s));
        Cpu.AttentionCached(X(qkv), I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), X(cos), X(sin), layer, y.Span);
        return y;
    }

    public Act Mha(Act q, Act k, Act v, MhaAttrs attrs)
    {
        var s = OpShapes.Mha(Shapes(("q", q), ("k", k), ("v", v)), attrs);
        var y = Out(OpShapes.MhaYShape(s));
        Cpu.Mha(X(q), X(k), X(v), I(s, "N"), I(s, "T"), I(s, "C"), attrs.Heads, attrs.Scale, y.Span);
        return y;
    }

    public Act ClipEmbed(Act pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, ClipEmbedAttrs attrs)
    {
        var s = OpShapes.ClipEmbed(Shapes(("pixels", pixels), ("patch_weight", patchWeight), ("class_embedding", classEmbedding), ("position_embedding", positionEmbedding)), attrs);
        if (s["PZ"] != attrs.Patch) throw new IxcException($"op 'clip_embed': attribute patch={attrs.Patch} but patch_weight has {s["PZ"]}x{s["PZ"]} kernels");
        var y = Out(OpShapes.ClipEmbedYShape(s));
        Cpu.ClipEmbed(X(pixels), I(s, "N"), I(s, "S"), patchWeight, classEmbedding, positionEmbedding, y.Span);
        return y;
    }

    // ops lowered to "reference" on the CPU (spec/ops.json): the reference backend, on the same host tensors
    public SplitQkvOutputs SplitQkv(Act qkv, SplitQkvAttrs attrs) => Fallback.SplitQkv(qkv, attrs);
    public Act Sdpa(Act q, Act k, Act v, SdpaAttrs attrs) => Fallback.Sdpa(q, k, v, attrs);
    public Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs) => Fallback.MergeGn(features, subGn, glbGn, attrs);
    public Act DropFirst(Act x, DropFirstAttrs attrs) => Fallback.DropFirst(x, attrs);
}
