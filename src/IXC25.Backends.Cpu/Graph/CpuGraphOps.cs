using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// Runs the generated graph on the CPU: each <see cref="IGraphOps"/> method checks its inputs' shapes
/// against the spec (generated <see cref="OpShapes"/>), allocates the outputs and calls <see cref="CpuOps"/>.
/// </summary>
public sealed class CpuGraphOps(CpuOps cpu) : IGraphOps
{
    public CpuOps Cpu { get; } = cpu;

    /// <summary>
    /// Task LoRAs of the active mode, by base weight: each (A [R, IN], B [OUT, R]) pair adds (x A^T) B^T to
    /// every row of that linear, which equals merging W + B A at scale 1 (spec/model.json 'modes'); the
    /// products are kept separate instead of materializing merged copies of the weights. Null: none.
    /// </summary>
    public IReadOnlyDictionary<NamedTensor, (NamedTensor A, NamedTensor B)[]>? TaskLoras { get; set; }

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

    public void Release(Act a) => a.Release();

    public Act Embedding(Act ids, NamedTensor table, EmbeddingAttrs attrs)
    {
        var s = OpShapes.Embedding(Shapes(("ids", ids), ("table", table)), attrs);
        var y = Act.F32(OpShapes.EmbeddingYShape(s)!);
        Cpu.Embedding(ids.Longs, table, y.Span);
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
        var y = Act.F32(shape);
        Cpu.Linear(x.Span, I(s, "T"), weight, bias, y.Span);
        return y;
    }

    /// <summary>[..., C] viewed as [rows, C].</summary>
    private static long[] Rows(Act x) => x.Shape.Length == 0 ? [1, 1] : [x.Length / Math.Max(1, x.Shape[^1]), x.Shape[^1]];

    public Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
    {
        var s = OpShapes.PloraLinear(Shapes(("x", x), ("weight", weight), ("lora_a", loraA), ("lora_b", loraB), ("im_mask", imMask)), attrs);
        var y = Act.F32(OpShapes.PloraLinearYShape(s)!);
        int T = I(s, "T");
        Cpu.PloraLinear(x.Span, T, weight, loraA, loraB, imMask.Bytes, attrs.Scale, y.Span);
        if (TaskLoras is not null && TaskLoras.TryGetValue(weight, out var pairs))
            foreach (var (a, b) in pairs)
            {
                var xa = Act.F32(T, a.Shape[0]);
                var xab = Act.F32(T, b.Shape[0]);
                Cpu.Linear(x.Span, T, a, null, xa.Span);
                Cpu.Linear(xa.Span, T, b, null, xab.Span);
                Cpu.Add(y.Span, xab.Span, y.Span);
                xa.Release();
                xab.Release();
            }
        return y;
    }

    public Act RmsNorm(Act x, NamedTensor weight, RmsNormAttrs attrs)
    {
        var s = OpShapes.RmsNorm(Shapes(("x", x), ("weight", weight)), attrs);
        var y = Act.F32(OpShapes.RmsNormYShape(s)!);
        Cpu.RmsNorm(x.Span, I(s, "T"), I(s, "C"), F(weight), attrs.Eps, y.Span);
        return y;
    }

    public Act LayerNorm(Act x, NamedTensor weight, NamedTensor bias, LayerNormAttrs attrs)
    {
        // the vision tower's activations are [N, T, C]: normalize over the last dimension
        var s = OpShapes.LayerNorm(new Dictionary<string, long[]> { ["x"] = Rows(x), ["weight"] = weight.Shape, ["bias"] = bias.Shape }, attrs);
        var y = Act.F32((long[])x.Shape.Clone());
        Cpu.LayerNorm(x.Span, I(s, "T"), I(s, "C"), F(weight), F(bias), attrs.Eps, y.Span);
        return y;
    }

    public Act Gelu(Act x, GeluAttrs attrs)
    {
        var y = Act.F32((long[])x.Shape.Clone());
        Cpu.Gelu(x.Span, y.Span);
        return y;
    }

    public Act QuickGelu(Act x, QuickGeluAttrs attrs)
    {
        var y = Act.F32((long[])x.Shape.Clone());
        Cpu.QuickGelu(x.Span, y.Span);
        return y;
    }

    public Act SiluGate(Act a, Act b, SiluGateAttrs attrs)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op 'silu_gate': a {a} and b {b} differ in shape");
        var y = Act.F32((long[])a.Shape.Clone());
        Cpu.SiluGate(a.Span, b.Span, y.Span);
        return y;
    }

    public Act Add(Act a, Act b, AddAttrs attrs)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op 'add': a {a} and b {b} differ in shape");
        var y = Act.F32((long[])a.Shape.Clone());
        Cpu.Add(a.Span, b.Span, y.Span);
        return y;
    }

    public Act Softmax(Act x, SoftmaxAttrs attrs)
    {
        var s = OpShapes.Softmax(Shapes(("x", x)), attrs);
        var y = Act.F32(OpShapes.SoftmaxYShape(s)!);
        Cpu.Softmax(x.Span, I(s, "T"), I(s, "K"), y.Span);
        return y;
    }

    public Act Rope(Act x, Act cos, Act sin, RopeAttrs attrs)
    {
        var s = OpShapes.Rope(Shapes(("x", x), ("cos", cos), ("sin", sin)), attrs);
        var y = Act.F32(OpShapes.RopeYShape(s)!);
        Cpu.Rope(x.Span, I(s, "HX"), I(s, "T"), I(s, "D"), cos.Span, sin.Span, y.Span);
        return y;
    }

    public SplitQkvOutputs SplitQkv(Act qkv, SplitQkvAttrs attrs)
    {
        var s = OpShapes.SplitQkv(Shapes(("qkv", qkv)), attrs);
        var q = Act.F32(OpShapes.SplitQkvQShape(s)!);
        var k = Act.F32(OpShapes.SplitQkvKShape(s)!);
        var v = Act.F32(OpShapes.SplitQkvVShape(s)!);
        Reference.RefOps.SplitQkv(qkv.Span, I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), q.Span, k.Span, v.Span);
        return new SplitQkvOutputs(q, k, v);
    }

    public Act Sdpa(Act q, Act k, Act v, SdpaAttrs attrs)
    {
        var s = OpShapes.Sdpa(Shapes(("q", q), ("k", k), ("v", v)), attrs);
        var y = Act.F32(OpShapes.SdpaYShape(s)!);
        Reference.RefOps.Sdpa(q.Span, k.Span, v.Span, I(s, "H"), I(s, "HKV"), I(s, "TQ"), I(s, "TK"), I(s, "D"), attrs.Scale, attrs.Causal, attrs.ScaleQ, y.Span);
        return y;
    }

    public AttentionOutputs Attention(Act qkv, Act cos, Act sin, Act? kPast, Act? vPast, AttentionAttrs attrs)
    {
        var s = OpShapes.Attention(Shapes(("qkv", qkv), ("cos", cos), ("sin", sin), ("k_past", kPast), ("v_past", vPast)), attrs);
        int TP = s.TryGetValue("TP", out var tp) ? checked((int)tp) : 0;
        var y = Act.F32(OpShapes.AttentionYShape(s)!);
        var kNew = Act.F32(OpShapes.AttentionKNewShape(s)!);
        var vNew = Act.F32(OpShapes.AttentionVNewShape(s)!);
        Cpu.Attention(qkv.Span, I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), cos.Span, sin.Span,
            kPast is null ? [] : kPast.Span, vPast is null ? [] : vPast.Span, TP, y.Span, kNew.Span, vNew.Span);
        return new AttentionOutputs(y, kNew, vNew);
    }

    public Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs)
    {
        var s = OpShapes.AttentionCached(Shapes(("qkv", qkv), ("cos", cos), ("sin", sin)), attrs);
        var y = Act.F32(OpShapes.AttentionCachedYShape(s)!);
        Cpu.AttentionCached(qkv.Span, I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), cos.Span, sin.Span, cache, y.Span);
        return y;
    }

    public Act Mha(Act q, Act k, Act v, MhaAttrs attrs)
    {
        var s = OpShapes.Mha(Shapes(("q", q), ("k", k), ("v", v)), attrs);
        var y = Act.F32(OpShapes.MhaYShape(s)!);
        Cpu.Mha(q.Span, k.Span, v.Span, I(s, "N"), I(s, "T"), I(s, "C"), attrs.Heads, attrs.Scale, y.Span);
        return y;
    }

    public Act ClipEmbed(Act pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, ClipEmbedAttrs attrs)
    {
        var s = OpShapes.ClipEmbed(Shapes(("pixels", pixels), ("patch_weight", patchWeight), ("class_embedding", classEmbedding), ("position_embedding", positionEmbedding)), attrs);
        var y = Act.F32(OpShapes.ClipEmbedYShape(s)!);
        Cpu.ClipEmbed(pixels.Span, I(s, "N"), I(s, "S"), patchWeight, classEmbedding, positionEmbedding, y.Span);
        return y;
    }

    public Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs)
    {
        var shapes = Shapes(("features", features));
        shapes["sub_gn"] = [subGn.Numel];
        shapes["glb_gn"] = [glbGn.Numel];
        var s = OpShapes.MergeGn(shapes, attrs);
        var y = Act.F32(OpShapes.MergeGnYShape(s)!);
        Cpu.MergeGn(features.Span, I(s, "N"), attrs.Grid, I(s, "CV"), F(subGn), F(glbGn), attrs.Rows, attrs.Cols, y.Span);
        return y;
    }

    public Act DropFirst(Act x, DropFirstAttrs attrs)
    {
        var s = OpShapes.DropFirst(Shapes(("x", x)), attrs);
        var y = Act.F32(OpShapes.DropFirstYShape(s)!);
        Cpu.DropFirst(x.Span, I(s, "N"), I(s, "T"), I(s, "C"), y.Span);
        return y;
    }
}
