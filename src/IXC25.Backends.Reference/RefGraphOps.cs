using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Reference;

/// <summary>
/// The reference backend (--backend reference): every op of spec/ops.json on the scalar references
/// (<see cref="RefOps"/>: plain loops, double accumulation), host tensors, a plain KV cache. It runs the
/// whole model, slowly: the second opinion of the fast backends and the readable definition for porters.
/// Each method checks its inputs' shapes against the spec (generated <see cref="OpShapes"/>), allocates the
/// outputs, widens stored weights to float32 (exact) and calls the reference.
/// </summary>
public sealed class RefGraphOps : IOracleOps
{
    public string Name => "reference";

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => HostMemory.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => HostMemory.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => HostMemory.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => new RefKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => a.Release();
    public void Dispose() { }

    // ------------------------------------------------------------------ plumbing

    private static Dictionary<string, long[]> Shapes(params (string Name, object? Value)[] ports)
    {
        var d = new Dictionary<string, long[]>(StringComparer.Ordinal);
        foreach (var (n, v) in ports)
            if (v is Act a) d[n] = a.Shape;
            else if (v is NamedTensor t) d[n] = t.Shape;
        return d;
    }

    /// <summary>[..., C] viewed as [rows, C] (the vision tower's [N, T, C] activations go through linear and layer_norm row by row).</summary>
    private static long[] Rows(Act x) => x.Shape.Length == 0 ? [1, 1] : [x.Numel / Math.Max(1, x.Shape[^1]), x.Shape[^1]];

    private static int I(IReadOnlyDictionary<string, long> s, string k) => checked((int)s[k]);
    private static float[] F(NamedTensor t) => t.ToFloat32();
    private static Span<float> X(Act a) => HostAct.Of(a).Span;
    private static HostAct Out(long[]? shape) => HostAct.F32(shape ?? throw new InvalidOperationException("output shape not determined by the spec"));

    // ------------------------------------------------------------------ ops

    public Act Embedding(Act ids, NamedTensor table, EmbeddingAttrs attrs)
    {
        var s = OpShapes.Embedding(Shapes(("ids", ids), ("table", table)), attrs);
        var y = Out(OpShapes.EmbeddingYShape(s));
        RefOps.Embedding(HostAct.Of(ids).Longs, F(table), I(s, "V"), I(s, "C"), y.Span);
        return y;
    }

    public Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs)
    {
        var shapes = Shapes(("weight", weight), ("bias", bias));
        shapes["x"] = Rows(x);
        var s = OpShapes.Linear(shapes, attrs);
        var shape = (long[])x.Shape.Clone();
        shape[^1] = s["OUT"];
        var y = HostAct.F32(shape);
        RefOps.Linear(X(x), I(s, "T"), I(s, "IN"), F(weight), I(s, "OUT"), bias is null ? [] : F(bias), y.Span);
        return y;
    }

    public Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
    {
        var s = OpShapes.PloraLinear(Shapes(("x", x), ("weight", weight), ("lora_a", loraA), ("lora_b", loraB), ("im_mask", imMask)), attrs);
        var y = Out(OpShapes.PloraLinearYShape(s));
        RefOps.PloraLinear(X(x), I(s, "T"), I(s, "IN"), F(weight), I(s, "OUT"), F(loraA), F(loraB), I(s, "R"), HostAct.Of(imMask).Bytes, attrs.Scale, y.Span);
        return y;
    }

    public Act RmsNorm(Act x, NamedTensor weight, RmsNormAttrs attrs)
    {
        var s = OpShapes.RmsNorm(Shapes(("x", x), ("weight", weight)), attrs);
        var y = Out(OpShapes.RmsNormYShape(s));
        RefOps.RmsNorm(X(x), I(s, "T"), I(s, "C"), F(weight), attrs.Eps, y.Span);
        return y;
    }

    public Act LayerNorm(Act x, NamedTensor weight, NamedTensor bias, LayerNormAttrs attrs)
    {
        var s = OpShapes.LayerNorm(new Dictionary<string, long[]> { ["x"] = Rows(x), ["weight"] = weight.Shape, ["bias"] = bias.Shape }, attrs);
        var y = HostAct.F32((long[])x.Shape.Clone());
        RefOps.LayerNorm(X(x), I(s, "T"), I(s, "C"), F(weight), F(bias), attrs.Eps, y.Span);
        return y;
    }

    public Act Gelu(Act x, GeluAttrs attrs)
    {
        var s = OpShapes.Gelu(Shapes(("x", x)), attrs);
        var y = Out(OpShapes.GeluYShape(s));
        RefOps.Gelu(X(x), y.Span);
        return y;
    }

    public Act QuickGelu(Act x, QuickGeluAttrs attrs)
    {
        var y = HostAct.F32((long[])x.Shape.Clone());
        RefOps.QuickGelu(X(x), y.Span);
        return y;
    }

    public Act SiluGate(Act a, Act b, SiluGateAttrs attrs)
    {
        SameShape("silu_gate", a, b);
        var y = HostAct.F32((long[])a.Shape.Clone());
        RefOps.SiluGate(X(a), X(b), y.Span);
        return y;
    }

    public Act Add(Act a, Act b, AddAttrs attrs)
    {
        SameShape("add", a, b);
        var y = HostAct.F32((long[])a.Shape.Clone());
        RefOps.Add(X(a), X(b), y.Span);
        return y;
    }

    private static void SameShape(string op, Act a, Act b)
    {
        if (!a.Shape.AsSpan().SequenceEqual(b.Shape)) throw new IxcException($"op '{op}': a {a} and b {b} differ in shape");
    }

    public Act Softmax(Act x, SoftmaxAttrs attrs)
    {
        var s = OpShapes.Softmax(Shapes(("x", x)), attrs);
        var y = Out(OpShapes.SoftmaxYShape(s));
        RefOps.Softmax(X(x), I(s, "T"), I(s, "K"), y.Span);
        return y;
    }

    public Act Rope(Act x, Act cos, Act sin, RopeAttrs attrs)
    {
        var s = OpShapes.Rope(Shapes(("x", x), ("cos", cos), ("sin", sin)), attrs);
        var y = Out(OpShapes.RopeYShape(s));
        RefOps.Rope(X(x), I(s, "HX"), I(s, "T"), I(s, "D"), X(cos), X(sin), y.Span);
        return y;
    }

    public SplitQkvOutputs SplitQkv(Act qkv, SplitQkvAttrs attrs)
    {
        var s = OpShapes.SplitQkv(Shapes(("qkv", qkv)), attrs);
        var q = Out(OpShapes.SplitQkvQShape(s));
        var k = Out(OpShapes.SplitQkvKShape(s));
        var v = Out(OpShapes.SplitQkvVShape(s));
        RefOps.SplitQkv(X(qkv), I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), q.Span, k.Span, v.Span);
        return new SplitQkvOutputs(q, k, v);
    }

    public Act Sdpa(Act q, Act k, Act v, SdpaAttrs attrs)
    {
        var s = OpShapes.Sdpa(Shapes(("q", q), ("k", k), ("v", v)), attrs);
        var y = Out(OpShapes.SdpaYShape(s));
        RefOps.Sdpa(X(q), X(k), X(v), I(s, "H"), I(s, "HKV"), I(s, "TQ"), I(s, "TK"), I(s, "D"), attrs.Scale, attrs.Causal, attrs.ScaleQ, y.Span);
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
        RefOps.Attention(X(qkv), I(s, "T"), I(s, "H"), I(s, "HKV"), I(s, "D"), X(cos), X(sin),
            kPast is null ? [] : X(kPast), vPast is null ? [] : X(vPast), TP, y.Span, kNew.Span, vNew.Span);
        return new AttentionOutputs(y, kNew, vNew);
    }

    /// <summary>
    /// attention over the cache: the stored tokens (as stored) are the past of <see cref="RefOps.Attention"/>;
    /// the new rotated keys and values are appended afterwards (a 16-bit cache stores them rounded, the
    /// new tokens attend to their unrounded selves, as the CPU backend does).
    /// </summary>
    public Act AttentionCached(Act qkv, Act cos, Act sin, KvLayer cache, AttentionCachedAttrs attrs)
    {
        var s = OpShapes.AttentionCached(Shapes(("qkv", qkv), ("cos", cos), ("sin", sin)), attrs);
        int T = I(s, "T"), H = I(s, "H"), HKV = I(s, "HKV"), D = I(s, "D");
        if (cache is not RefKvLayer) throw new IxcException($"attention_cached: the KV cache belongs to another backend ({cache.GetType().Name})");
        if (cache.HKV != HKV || cache.D != D) throw new IxcException($"attention_cached: cache has {cache.HKV} heads of {cache.D}, the layer needs {HKV} of {D}");
        if ((long)cache.Length + T > cache.MaxTokens) cache.Reserve(T); // throws naming the limit
        int TP = cache.Length;
        var kPast = new float[(long)HKV * TP * D];
        var vPast = new float[kPast.Length];
        cache.CopyTo(kPast, vPast);
        var y = Out(OpShapes.AttentionCachedYShape(s));
        var kNew = new float[(long)HKV * T * D];
        var vNew = new float[kNew.Length];
        RefOps.Attention(X(qkv), T, H, HKV, D, X(cos), X(sin), kPast, vPast, TP, y.Span, kNew, vNew);
        cache.Append(kNew, vNew, T);
        return y;
    }

    public Act Mha(Act q, Act k, Act v, MhaAttrs attrs)
    {
        var s = OpShapes.Mha(Shapes(("q", q), ("k", k), ("v", v)), attrs);
        var y = Out(OpShapes.MhaYShape(s));
        RefOps.Mha(X(q), X(k), X(v), I(s, "N"), I(s, "T"), I(s, "C"), attrs.Heads, attrs.Scale, y.Span);
        return y;
    }

    public Act ClipEmbed(Act pixels, NamedTensor patchWeight, NamedTensor classEmbedding, NamedTensor positionEmbedding, ClipEmbedAttrs attrs)
    {
        var s = OpShapes.ClipEmbed(Shapes(("pixels", pixels), ("patch_weight", patchWeight), ("class_embedding", classEmbedding), ("position_embedding", positionEmbedding)), attrs);
        if (s["PZ"] != attrs.Patch) throw new IxcException($"op 'clip_embed': attribute patch={attrs.Patch} but patch_weight has {s["PZ"]}x{s["PZ"]} kernels");
        var y = Out(OpShapes.ClipEmbedYShape(s));
        RefOps.ClipEmbed(X(pixels), I(s, "N"), I(s, "S"), F(patchWeight), I(s, "CV"), I(s, "PZ"), F(classEmbedding), F(positionEmbedding), y.Span);
        return y;
    }

    public Act MergeGn(Act features, NamedTensor subGn, NamedTensor glbGn, MergeGnAttrs attrs)
    {
        var shapes = Shapes(("features", features));
        shapes["sub_gn"] = [subGn.Numel];
        shapes["glb_gn"] = [glbGn.Numel];
        var s = OpShapes.MergeGn(shapes, attrs);
        var y = Out(OpShapes.MergeGnYShape(s));
        RefOps.MergeGn(X(features), I(s, "N"), attrs.Grid, I(s, "CV"), F(subGn), F(glbGn), attrs.Rows, attrs.Cols, y.Span);
        return y;
    }

    public Act DropFirst(Act x, DropFirstAttrs attrs)
    {
        var s = OpShapes.DropFirst(Shapes(("x", x)), attrs);
        var y = Out(OpShapes.DropFirstYShape(s));
        RefOps.DropFirst(X(x), I(s, "N"), I(s, "T"), I(s, "C"), y.Span);
        return y;
    }
}
