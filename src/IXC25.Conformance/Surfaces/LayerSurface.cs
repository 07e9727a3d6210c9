using System.Globalization;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Ops;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Surfaces;

/// <summary>
/// A layer case: the decoder layer's sizes (C = Heads * HeadDim), its Partial LoRA rank, eps and theta, the weight
/// dtype, T tokens with their im_mask pattern and position ids, and the seed of the random x and weights.
/// </summary>
public sealed record LayerCase(int Heads, int KvHeads, int HeadDim, int Ffn, int Rank, double Eps, double Theta, string WeightDType,
    string Mask, long[] Positions, int Seed)
{
    public int C => Heads * HeadDim;
    public int T => Positions.Length;
    public int Qkv => (Heads + 2 * KvHeads) * HeadDim;
}

/// <summary>
/// layer: one InternLM2DecoderLayer with Partial LoRA over T tokens (spec/port.json "layer"). Heads with GQA
/// ratios 1, 2 and 4, head dims 2..16 (even), T 1..17, FFN widths around SIMD multiples, Partial LoRA ranks 1..8,
/// weights f32, bf16 or f16, im_mask all/none/alternating/single, increasing position ids that may start late
/// and skip. Weights are unit-scale (standard deviation 1/sqrt(fan_in), Plora_B's fan-in being the rank R, so that a Partial LoRA changes its
/// tokens' outputs as much as the base weight does); norm weights near 1. Shrinks T, the heads (toward one KV
/// group and ratio 1), the head dim, the FFN width and the rank toward their minimum, the weights to f32,
/// the positions toward 0, 1, 2, ...
/// </summary>
public sealed class LayerSurface : Surface<LayerCase>
{
    public override string Name => "layer";
    public override int DefaultCases => 100;

    public static readonly string[] Masks = ["all", "none", "alt", "single"];

    public override Gen<LayerCase> Generator =>
        from kv in Gen.Elements(1, 1, 2, 3)
        from ratio in Gen.Elements(1, 2, 4)
        from d in Gen.Elements(2, 4, 6, 8, 16)
        from ffn in Gen.Elements(1, 3, 8, 13, 16, 33)
        from rank in Gen.Choose(1, 8)
        from eps in Gen.Elements(1e-6, 1e-5, 1e-2)
        from theta in Gen.Elements(10000.0, 1000000.0, 100.0)
        from dt in Gen.Elements("f32", "bf16", "f16")
        from mask in Gen.Elements(Masks)
        from t in Gen.Sized(s => Gen.Choose(1, Math.Max(2, Math.Min(17, 2 + s / 6))))
        from start in Gen.Frequency((2, Gen.Constant(0)), (1, Gen.Choose(1, 60)))
        from gaps in Gen.ArrayOf(Gen.Frequency((4, Gen.Constant(1)), (1, Gen.Choose(2, 7))), t)
        from seed in Gen.Choose(0, 0xFFFF)
        select new LayerCase(kv * ratio, kv, d, ffn, rank, eps, theta, dt, mask, Positions(start, gaps), seed);

    /// <summary>start, start + gaps[1], ... (the first gap is not used: the first position is start).</summary>
    private static long[] Positions(int start, int[] gaps)
    {
        var p = new long[gaps.Length];
        for (int i = 0; i < p.Length; i++) p[i] = i == 0 ? start : p[i - 1] + gaps[i];
        return p;
    }

    public override IEnumerable<LayerCase> Shrink(LayerCase c)
    {
        if (c.T > 1)
        {
            yield return c with { Positions = c.Positions[..1] };
            if (c.T > 2) yield return c with { Positions = c.Positions[..(c.T / 2)] };
            yield return c with { Positions = c.Positions[..^1] };
            yield return c with { Positions = c.Positions[1..] };
        }
        if (c.KvHeads > 1) yield return c with { Heads = c.Heads / c.KvHeads, KvHeads = 1 };
        if (c.Heads > c.KvHeads)
            foreach (int ratio in new[] { 1, 2 })
                if (ratio < c.Heads / c.KvHeads) yield return c with { Heads = c.KvHeads * ratio };
        foreach (int d in new[] { 2, c.HeadDim / 2, c.HeadDim - 2 }.Distinct())
            if (d >= 2 && d % 2 == 0 && d < c.HeadDim) yield return c with { HeadDim = d };
        foreach (int f in new[] { 1, c.Ffn / 2, c.Ffn - 1 }.Distinct())
            if (f >= 1 && f < c.Ffn) yield return c with { Ffn = f };
        foreach (int r in new[] { 1, c.Rank / 2, c.Rank - 1 }.Distinct())
            if (r >= 1 && r < c.Rank) yield return c with { Rank = r };
        if (c.WeightDType != "f32") yield return c with { WeightDType = "f32" };
        var consecutive = Enumerable.Range(0, c.T).Select(i => (long)i).ToArray();
        if (!c.Positions.SequenceEqual(consecutive)) yield return c with { Positions = consecutive };
        if (c.Positions[0] > 0) yield return c with { Positions = c.Positions.Select(p => p - c.Positions[0]).ToArray() };
    }

    /// <summary>Input elements: x, im_mask, position_ids and every weight.</summary>
    public override long Size(LayerCase c) => Weights(c).Sum(w => (long)w.Rows * w.Cols) + (long)c.T * (c.C + 2) + Positions(c);

    /// <summary>The positions count too (a small amount), so that lowering them is a smaller case.</summary>
    private static long Positions(LayerCase c) => c.Positions.Sum() / Math.Max(1, c.T);

    /// <summary>Every weight of the layer: state_dict name, rows, columns (norm weights have one row).</summary>
    public static IEnumerable<(string Name, int Rows, int Cols)> Weights(LayerCase c)
    {
        int C = c.C, HD = c.Heads * c.HeadDim, F = c.Ffn, R = c.Rank;
        yield return ("attention_norm.weight", 1, C);
        foreach (var (module, outDim, inDim) in new[] { ("attention.wqkv", c.Qkv, C), ("attention.wo", C, HD), ("feed_forward.w1", F, C), ("feed_forward.w3", F, C), ("feed_forward.w2", C, F) })
        {
            if (module == "feed_forward.w1") yield return ("ffn_norm.weight", 1, C);
            yield return (module + ".weight", outDim, inDim);
            yield return (module + ".Plora_A.weight", R, inDim);
            yield return (module + ".Plora_B.weight", outDim, R);
        }
    }

    public override string Describe(LayerCase c) => string.Create(CultureInfo.InvariantCulture,
        $"heads {c.Heads}, kv_heads {c.KvHeads}, head_dim {c.HeadDim} (C {c.C}), intermediate {c.Ffn}, rank {c.Rank}, eps {c.Eps}, theta {c.Theta}, {c.WeightDType} weights, T {c.T}, im_mask {c.Mask}, positions [{string.Join(", ", c.Positions)}], seed {c.Seed}");

    public override JsonNode ToJson(LayerCase c) => new JsonObject
    {
        ["heads"] = c.Heads, ["kv_heads"] = c.KvHeads, ["head_dim"] = c.HeadDim, ["intermediate_size"] = c.Ffn, ["rank"] = c.Rank,
        ["rms_norm_eps"] = c.Eps, ["rope_theta"] = c.Theta, ["weight_dtype"] = c.WeightDType, ["im_mask"] = c.Mask,
        ["positions"] = new JsonArray(c.Positions.Select(p => (JsonNode)p).ToArray()), ["seed"] = c.Seed,
    };

    public override LayerCase FromJson(JsonNode json)
    {
        int I(string k) => RequestFields.Int(json[k], k);
        double D(string k) => RequestFields.Double(json[k], k);
        string S(string k) => (string?)json[k] ?? throw new IxcException($"layer case: no '{k}'");
        var c = new LayerCase(I("heads"), I("kv_heads"), I("head_dim"), I("intermediate_size"), I("rank"), D("rms_norm_eps"), D("rope_theta"),
            S("weight_dtype"), S("im_mask"), RequestFields.Longs(json["positions"], "positions"), I("seed"));
        if (c.T < 1 || c.Heads < 1 || c.KvHeads < 1 || c.HeadDim < 2 || c.Ffn < 1 || c.Rank < 1 || !Masks.Contains(c.Mask) || c.WeightDType is not ("f32" or "bf16" or "f16"))
            throw new IxcException($"layer case: {json.ToJsonString()} is not a valid case");
        return c;
    }

    public override PortRequest Prepare(LayerCase c, string work)
    {
        var rng = new Random(c.Seed);
        var dtype = c.WeightDType switch { "bf16" => DType.BF16, "f16" => DType.F16, _ => DType.F32 };
        var tensors = new List<NamedTensor>
        {
            NamedTensor.F32("x", [c.T, c.C], OpData.Normal(c.T * c.C, rng.Next())),
            NamedTensor.U8("im_mask", [c.T], OpTableInputs.MaskPattern(c.Mask, c.T, rng)),
            NamedTensor.I64("position_ids", [c.T], (long[])c.Positions.Clone()),
        };
        foreach (var (name, rows, cols) in Weights(c))
        {
            bool norm = rows == 1 && name.EndsWith("norm.weight", StringComparison.Ordinal);
            var values = OpData.Normal(rows * cols, rng.Next(), norm ? 0.1 : 1 / Math.Sqrt(cols));
            if (norm) for (int i = 0; i < values.Length; i++) values[i] += 1;
            tensors.Add(OpData.Weight(name, dtype, norm ? [cols] : [rows, cols], values));
        }
        SafetensorsWriter.Write(Path.Combine(work, "inputs.safetensors"), tensors, new Dictionary<string, string> { ["case"] = Describe(c) });
        var config = new JsonObject
        {
            ["hidden_size"] = c.C, ["intermediate_size"] = c.Ffn, ["num_attention_heads"] = c.Heads, ["num_key_value_heads"] = c.KvHeads,
            ["rms_norm_eps"] = c.Eps, ["rope_theta"] = c.Theta,
        };
        return new PortRequest("layer", work, new JsonObject { ["config"] = config, ["inputs"] = "inputs.safetensors" });
    }
}
