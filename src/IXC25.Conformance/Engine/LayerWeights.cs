using IXC25.Model;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Engine;

/// <summary>
/// The weights of one InternLM2DecoderLayer, named as its state_dict names them (attention_norm.weight,
/// attention.wqkv.weight, attention.wqkv.Plora_A.weight, ...), checked against the spec's catalog of layer 0
/// (spec/model.json via <see cref="Ixc25Weights.Catalog"/>, with the Partial LoRA rank read from the tensors) and
/// bound into <see cref="Ixc25Weights"/> as layer 0 of a one-layer model. The layer surface has no vision tower,
/// embeddings or head: those members hold an empty tensor, which no block but DecoderLayer(0, ...) is given.
/// </summary>
public static class LayerWeights
{
    /// <summary>The state_dict prefix of layer 0 in a checkpoint.</summary>
    public const string Prefix = "model.layers.0.";

    public static Ixc25Weights Bind(IReadOnlyDictionary<string, NamedTensor> tensors, Ixc25Dims dims)
    {
        var expected = Ixc25Weights.Catalog(dims).Where(p => p.Group is null && p.Key.StartsWith(Prefix, StringComparison.Ordinal))
            .ToDictionary(p => p.Key[Prefix.Length..], StringComparer.Ordinal);
        foreach (var (name, info) in expected)
        {
            if (!tensors.TryGetValue(name, out var t)) throw new IxcException($"layer: missing weight '{name}' {info.ShapeText}");
            if (t.DType is not (DType.F32 or DType.BF16 or DType.F16)) throw new IxcException($"layer: weight '{name}' is {t.DType.SpecName()}, expected f32, bf16 or f16");
            if (!t.Shape.AsSpan().SequenceEqual(info.Shape.Select(d => d.Value).ToArray()))
                throw new IxcException($"layer: weight '{name}' has shape {Shape.Format(t.Shape)}, expected {info.ShapeText} = {Runtime.Spec.ShapeDim.Format(info.Shape)}");
        }
        NamedTensor W(string name) => tensors[name];
        PLoraLinearParams P(string module) => new() { Weight = W(module + ".weight"), PloraA = W(module + ".Plora_A.weight"), PloraB = W(module + ".Plora_B.weight") };
        var layer = new DecoderLayerWeights
        {
            AttentionNorm = new RmsNormParams { Weight = W("attention_norm.weight") },
            Wqkv = P("attention.wqkv"),
            Wo = P("attention.wo"),
            FfnNorm = new RmsNormParams { Weight = W("ffn_norm.weight") },
            W1 = P("feed_forward.w1"),
            W3 = P("feed_forward.w3"),
            W2 = P("feed_forward.w2"),
        };
        var none = NamedTensor.F32("absent", [0], []);
        return new Ixc25Weights
        {
            Dims = dims,
            Groups = new HashSet<string>(),
            Vision = new VisionWeights
            {
                ClassEmbedding = none, PatchEmbedding = none, PositionEmbedding = none,
                PreLayrnorm = new LayerNormParams { Weight = none, Bias = none }, Layers = [],
                PostLayernorm = new LayerNormParams { Weight = none, Bias = none },
            },
            Projector = new ProjectorWeights
            {
                SubGn = none, GlbGn = none,
                Proj0 = new LinearBiasParams { Weight = none, Bias = none }, Proj2 = new LinearBiasParams { Weight = none, Bias = none },
            },
            Llm = new LlmWeights
            {
                TokEmbeddings = new EmbeddingParams { Weight = none },
                Layers = [layer],
                Norm = new RmsNormParams { Weight = none },
                Output = new LinearParams { Weight = none },
            },
        };
    }
}
