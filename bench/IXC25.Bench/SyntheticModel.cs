using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Backends;
using IXC25.Model;
using IXC25.Model.Inference;
using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;
using IXC25.Tokenizer;

namespace IXC25.Bench;

/// <summary>
/// A model without a checkpoint, for benchmarks: the 7B config (golden/model/config-7b) with few layers and, optionally,
/// other dimensions, and random bf16 weights for every tensor the spec's weight map names (task LoRA groups left out),
/// bound through the spec like a checkpoint. Norm weights are 1 and biases 0; every other tensor is uniform in
/// +-sqrt(3 / fan-in) (unit-variance products), from one fixed xorshift stream, so two builds are identical.
/// Shared by bench/IXC25.Bench (model-scale, batch-decode) and bench/gpu/IXC25.GpuCheck (linked there).
/// </summary>
internal static class SyntheticModel
{
    /// <summary>
    /// The 7B config with <paramref name="layers"/> decoder layers and one ViT layer; <paramref name="overrides"/> replaces
    /// top-level keys (e.g. hidden_size) and <paramref name="vision"/> the vision_config keys.
    /// </summary>
    public static Ixc25Config Config(int layers, IReadOnlyDictionary<string, JsonNode?>? overrides = null, IReadOnlyDictionary<string, JsonNode?>? vision = null)
    {
        using var doc = ConfigReader.ParseFile(RepoLayout.Path("golden", "model", "config-7b", "config.json"));
        var json = JsonNode.Parse(doc.RootElement.GetRawText())!.AsObject();
        json["num_hidden_layers"] = layers;
        var v = new JsonObject { ["num_hidden_layers"] = 1 };
        foreach (var kv in overrides ?? new Dictionary<string, JsonNode?>()) json[kv.Key] = kv.Value?.DeepClone();
        foreach (var kv in vision ?? new Dictionary<string, JsonNode?>()) v[kv.Key] = kv.Value?.DeepClone();
        json["vision_config"] = v;
        using var cfgDoc = JsonDocument.Parse(json.ToJsonString());
        return Ixc25Config.FromJson(cfgDoc.RootElement, $"synthetic config ({layers} decoder layers + 1 ViT layer)");
    }

    /// <summary>A model of <paramref name="config"/> with random bf16 weights on the backend <paramref name="options"/> names.</summary>
    public static Ixc25Model Create(Ixc25Config config, ModelOptions options)
    {
        var dims = Ixc25Dims.FromConfig(config);
        var tensors = new List<NamedTensor>();
        ulong state = 0x9E3779B97F4A7C15UL;
        foreach (var p in Ixc25Weights.Catalog(dims).Where(p => p.Group is null))
        {
            var shape = p.Shape.Select(s => s.Value).ToArray();
            long n = Shape.Numel(shape);
            var data = GC.AllocateUninitializedArray<ushort>(checked((int)n));
            bool norm = p.Key.EndsWith("norm.weight", StringComparison.Ordinal) || p.Key.Contains("layer_norm") || p.Key.Contains("layrnorm");
            float scale = norm ? 0f : (float)(Math.Sqrt(3.0) / Math.Sqrt(shape.Length > 1 ? shape[^1] : shape[0]));
            for (long i = 0; i < n; i++)
            {
                state ^= state << 13; state ^= state >> 7; state ^= state << 17;
                float u = (state >> 40) * (1f / (1 << 24)) * 2f - 1f;
                data[i] = BFloat16.FromSingle(norm && p.Key.EndsWith("weight", StringComparison.Ordinal) ? 1f : u * (norm ? 0f : scale));
            }
            tensors.Add(NamedTensor.BF16(p.Key, shape, data));
        }
        var tokenizer = InternLM2Tokenizer.Load(InternLM2Tokenizer.BundledModelPath);
        return Ixc25Model.Create(config, new DictionaryWeightSource(tensors, "synthetic bf16 weights"), tokenizer, options);
    }
}
