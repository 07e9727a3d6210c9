using IXC25.Backends.Cpu.Reference;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// Runs one op of spec/ops.json on named tensors (the `ixc25 op` command and the op golden tests).
/// Inputs are validated against the spec: names, dtypes, symbolic shapes (generated <see cref="OpShapes"/>),
/// attributes (generated *Attrs records). Weights in bf16/f16 are widened exactly to float32.
/// </summary>
public static class OpRunner
{
    /// <summary>The spec entry of <paramref name="opName"/>; an unknown name is an error naming it.</summary>
    public static IXC25.Runtime.Spec.OpInfo Require(string opName) =>
        OpCatalog.Find(opName) ?? throw new IxcException($"unknown op '{opName}' (see 'ixc25 op --list')");

    public static IReadOnlyList<NamedTensor> Run(string opName, IReadOnlyDictionary<string, NamedTensor> inputs, IReadOnlyDictionary<string, string> attrs)
    {
        var op = Require(opName);
        if (opName == "attention_cached") return RunAttentionCached(inputs, attrs);
        foreach (var name in inputs.Keys)
            if (!op.Inputs.Any(p => p.Name == name))
                throw new IxcException($"op '{opName}' has no input '{name}' (inputs: {string.Join(", ", op.Inputs.Select(p => p.Name))})");
        foreach (var p in op.Inputs)
        {
            if (!inputs.TryGetValue(p.Name, out var t))
            {
                if (!p.Optional) throw new IxcException($"op '{opName}': missing input '{p.Name}' ({p})");
                continue;
            }
            if (Array.IndexOf(p.DTypes, t.DType) < 0)
                throw new IxcException($"op '{opName}': input '{p.Name}' has dtype {t.DType.SpecName()}, expected {string.Join(" or ", p.DTypes.Select(d => d.SpecName()))}");
        }
        var shapes = inputs.ToDictionary(kv => kv.Key, kv => kv.Value.Shape);
        float[] F(string n) => inputs[n].ToFloat32();
        float[] Opt(string n) => inputs.TryGetValue(n, out var t) ? t.ToFloat32() : [];
        int I(IReadOnlyDictionary<string, long> s, string k) => checked((int)s[k]);

        switch (opName)
        {
            case "embedding":
                {
                    var s = OpShapes.Embedding(shapes, EmbeddingAttrs.Parse(attrs));
                    var ids = inputs["ids"].DType == DType.I64 ? inputs["ids"].AsSpan<long>().ToArray() : inputs["ids"].AsSpan<int>().ToArray().Select(i => (long)i).ToArray();
                    var y = new float[ids.Length * I(s, "C")];
                    RefOps.Embedding(ids, F("table"), I(s, "V"), I(s, "C"), y);
                    return [Out("y", y, OpShapes.EmbeddingYShape(s))];
                }
            case "linear":
                {
                    var s = OpShapes.Linear(shapes, LinearAttrs.Parse(attrs));
                    var y = new float[I(s, "T") * I(s, "OUT")];
                    RefOps.Linear(F("x"), I(s, "T"), I(s, "IN"), F("weight"), I(s, "OUT"), Opt("bias"), y);
                    return [Out("y", y, OpShapes.LinearYShape(s))];
                }
            case "plora_linear":
                {
                    var a = PloraLinearAttrs.Parse(attrs);
                    var s = OpShapes.PloraLinear(shapes, a);
                    var y = new float[I(s, "T") * I(s, "OUT")];
                    RefOps.PloraLinear(F("x"), I(s, "T"), I(s, "IN"), F("weight"), I(s, "OUT"), F("lora_a"), F("lora_b"), I(s, "R"),
                        inputs["im_mask"].AsSpan<byte>(), a.Scale, y);
                    return [Out("y", y, OpShapes.PloraLinearYShape(s))];
                }
            case "rms_norm":
                {
                    var a = RmsNormAttrs.Parse(attrs);
                    var s = OpShapes.RmsNorm(shapes, a);
                    var y = new float[I(s, "T") * I(s, "C")];
                    RefOps.RmsNorm(F("x"), I(s, "T"), I(s, "C"), F("weight"), a.Eps, y);
                    return [Out("y", y, OpShapes.RmsNormYShape(s))];
                }
            case "layer_norm":
                {
                    var a = LayerNormAttrs.Parse(attrs);
                    var s = OpShapes.LayerNorm(shapes, a);
                    var y = new float[I(s, "T") * I(s, "C")];
                    RefOps.LayerNorm(F("x"), I(s, "T"), I(s, "C"), F("weight"), F("bias"), a.Eps, y);
                    return [Out("y", y, OpShapes.LayerNormYShape(s))];
                }
            case "gelu":
                {
                    var s = OpShapes.Gelu(shapes, GeluAttrs.Parse(attrs));
                    var x = F("x");
                    var y = new float[x.Length];
                    RefOps.Gelu(x, y);
                    return [Out("y", y, OpShapes.GeluYShape(s))];
                }
            case "quick_gelu":
                {
                    var s = OpShapes.QuickGelu(shapes, QuickGeluAttrs.Parse(attrs));
                    var x = F("x");
                    var y = new float[x.Length];
                    RefOps.QuickGelu(x, y);
                    return [Out("y", y, OpShapes.QuickGeluYShape(s))];
                }
            case "silu_gate":
                {
                    var s = OpShapes.SiluGate(shapes, SiluGateAttrs.Parse(attrs));
                    var a = F("a");
                    var y = new float[a.Length];
                    RefOps.SiluGate(a, F("b"), y);
                    return [Out("y", y, OpShapes.SiluGateYShape(s))];
                }
            case "add":
                {
                    var s = OpShapes.Add(shapes, AddAttrs.Parse(attrs));
                    var a = F("a");
                    var y = new float[a.Length];
                    RefOps.Add(a, F("b"), y);
                    return [Out("y", y, OpShapes.AddYShape(s))];
                }
            case "softmax":
                {
                    var s = OpShapes.Softmax(shapes, SoftmaxAttrs.Parse(attrs));
                    var y = new float[I(s, "T") * I(s, "K")];
                    RefOps.Softmax(F("x"), I(s, "T"), I(s, "K"), y);
                    return [Out("y", y, OpShapes.SoftmaxYShape(s))];
                }
            case "rope":
                {
                    var s = OpShapes.Rope(shapes, RopeAttrs.Parse(attrs));
                    var y = new float[I(s, "HX") * I(s, "T") * I(s, "D")];
                    RefOps.Rope(F("x"), I(s, "HX"), I(s, "T"), I(s, "D"), F("cos"), F("sin"), y);
                    return [Out("y", y, OpShapes.RopeYShape(s))];
                }
            case "split_qkv":
                {
                    var s = OpShapes.SplitQkv(shapes, SplitQkvAttrs.Parse(attrs));
                    int T = I(s, "T"), H = I(s, "H"), HKV = I(s, "HKV"), D = I(s, "D");
                    var q = new float[H * T * D];
                    var k = new float[HKV * T * D];
                    var v = new float[HKV * T * D];
                    RefOps.SplitQkv(F("qkv"), T, H, HKV, D, q, k, v);
                    return [Out("q", q, OpShapes.SplitQkvQShape(s)), Out("k", k, OpShapes.SplitQkvKShape(s)), Out("v", v, OpShapes.SplitQkvVShape(s))];
                }
            case "sdpa":
                {
                    var a = SdpaAttrs.Parse(attrs);
                    var s = OpShapes.Sdpa(shapes, a);
                    int H = I(s, "H"), TQ = I(s, "TQ"), D = I(s, "D");
                    var y = new float[TQ * H * D];
                    RefOps.Sdpa(F("q"), F("k"), F("v"), H, I(s, "HKV"), TQ, I(s, "TK"), D, a.Scale, a.Causal, a.ScaleQ, y);
                    return [Out("y", y, OpShapes.SdpaYShape(s))];
                }
            case "attention":
                {
                    var s = OpShapes.Attention(shapes, AttentionAttrs.Parse(attrs));
                    int T = I(s, "T"), H = I(s, "H"), HKV = I(s, "HKV"), D = I(s, "D");
                    int TP = s.TryGetValue("TP", out var tp) ? checked((int)tp) : 0;
                    if (inputs.ContainsKey("k_past") != inputs.ContainsKey("v_past"))
                        throw new IxcException("op 'attention': give both k_past and v_past, or neither");
                    var y = new float[T * H * D];
                    var kNew = new float[HKV * T * D];
                    var vNew = new float[HKV * T * D];
                    RefOps.Attention(F("qkv"), T, H, HKV, D, F("cos"), F("sin"), Opt("k_past"), Opt("v_past"), TP, y, kNew, vNew);
                    return [Out("y", y, OpShapes.AttentionYShape(s)), Out("k_new", kNew, OpShapes.AttentionKNewShape(s)), Out("v_new", vNew, OpShapes.AttentionVNewShape(s))];
                }
            case "mha":
                {
                    var a = MhaAttrs.Parse(attrs);
                    var s = OpShapes.Mha(shapes, a);
                    int N = I(s, "N"), T = I(s, "T"), C = I(s, "C");
                    var y = new float[N * T * C];
                    RefOps.Mha(F("q"), F("k"), F("v"), N, T, C, a.Heads, a.Scale, y);
                    return [Out("y", y, OpShapes.MhaYShape(s))];
                }
            case "clip_embed":
                {
                    var a = ClipEmbedAttrs.Parse(attrs);
                    var s = OpShapes.ClipEmbed(shapes, a);
                    if (s["PZ"] != a.Patch) throw new IxcException($"op 'clip_embed': attribute patch={a.Patch} but patch_weight has {s["PZ"]}x{s["PZ"]} kernels");
                    int N = I(s, "N"), S = I(s, "S"), CV = I(s, "CV"), PZ = I(s, "PZ");
                    var shape = OpShapes.ClipEmbedYShape(s)!;
                    var y = new float[Shape.Numel(shape)];
                    RefOps.ClipEmbed(F("pixels"), N, S, F("patch_weight"), CV, PZ, F("class_embedding"), F("position_embedding"), y);
                    return [Out("y", y, shape)];
                }
            case "merge_gn":
                {
                    var a = MergeGnAttrs.Parse(attrs);
                    var s = OpShapes.MergeGn(shapes, a);
                    var shape = OpShapes.MergeGnYShape(s)!;
                    var y = new float[Shape.Numel(shape)];
                    RefOps.MergeGn(F("features"), I(s, "N"), a.Grid, I(s, "CV"), F("sub_gn"), F("glb_gn"), a.Rows, a.Cols, y);
                    return [Out("y", y, shape)];
                }
            case "drop_first":
                {
                    var s = OpShapes.DropFirst(shapes, DropFirstAttrs.Parse(attrs));
                    var shape = OpShapes.DropFirstYShape(s)!;
                    var y = new float[Shape.Numel(shape)];
                    RefOps.DropFirst(F("x"), I(s, "N"), I(s, "T"), I(s, "C"), y);
                    return [Out("y", y, shape)];
                }
            default:
                throw new IxcException($"op '{opName}' has no CPU implementation");
        }
    }

    /// <summary>
    /// attention_cached on files: the KV cache is given as its contents before the call, `cache.k` and
    /// `cache.v` (f32 [HKV, TP, D]); the outputs are `y` and the cache after the call, `cache.k_after`
    /// and `cache.v_after` ([HKV, TP + T, D]).
    /// </summary>
    private static IReadOnlyList<NamedTensor> RunAttentionCached(IReadOnlyDictionary<string, NamedTensor> inputs, IReadOnlyDictionary<string, string> attrs)
    {
        string[] known = ["qkv", "cos", "sin", "cache.k", "cache.v"];
        foreach (var n in inputs.Keys)
            if (Array.IndexOf(known, n) < 0) throw new IxcException($"op 'attention_cached' has no input '{n}' (inputs: {string.Join(", ", known)}; the cache is given as its contents cache.k, cache.v)");
        foreach (var n in known)
            if (!inputs.ContainsKey(n)) throw new IxcException($"op 'attention_cached': missing input '{n}'");
        var a = AttentionCachedAttrs.Parse(attrs);
        var s = OpShapes.AttentionCached(new Dictionary<string, long[]> { ["qkv"] = inputs["qkv"].Shape, ["cos"] = inputs["cos"].Shape, ["sin"] = inputs["sin"].Shape }, a);
        int T = checked((int)s["T"]), H = a.Heads, HKV = a.KvHeads, D = a.HeadDim;
        var k = inputs["cache.k"];
        var v = inputs["cache.v"];
        if (k.Shape.Length != 3 || k.Shape[0] != HKV || k.Shape[2] != D || !k.Shape.AsSpan().SequenceEqual(v.Shape))
            throw new IxcException($"op 'attention_cached': cache.k {Shape.Format(k.Shape)} and cache.v {Shape.Format(v.Shape)} must both be [{HKV}, TP, {D}]");
        int TP = checked((int)k.Shape[1]);
        using var cache = new KvLayer(HKV, D, DType.F32, TP + T, TP + T);
        cache.Append(k.ToFloat32(), v.ToFloat32(), TP);
        var y = new float[T * H * D];
        new CpuOps(1).AttentionCached(inputs["qkv"].ToFloat32(), T, H, HKV, D, inputs["cos"].ToFloat32(), inputs["sin"].ToFloat32(), cache, y);
        int TK = TP + T;
        var kOut = new float[HKV * TK * D];
        var vOut = new float[HKV * TK * D];
        cache.CopyTo(kOut, vOut);
        return [Out("y", y, [T, (long)H * D]), Out("cache.k_after", kOut, [HKV, TK, D]), Out("cache.v_after", vOut, [HKV, TK, D])];
    }

    private static NamedTensor Out(string name, float[] data, long[]? shape) =>
        NamedTensor.F32(name, shape ?? throw new InvalidOperationException($"output '{name}' shape not determined"), data);
}
