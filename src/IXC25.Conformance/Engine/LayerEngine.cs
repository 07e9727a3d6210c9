using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Graph;
using IXC25.Model;
using IXC25.Model.Rope;
using IXC25.Runtime;
using IXC25.Runtime.IO;
using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Engine;

/// <summary>
/// layer: one InternLM2DecoderLayer with Partial LoRA, run as the generated graph's block
/// (<see cref="Ixc25Graph.DecoderLayer"/>) on the context's backend over one pass of T tokens with an empty KV
/// cache: the weights bound as layer 0 (<see cref="LayerWeights"/>), cos/sin from a stateless
/// <see cref="RotaryEmbedding"/> (base rope_theta, no scaling) at position_ids. The config is read as a model
/// config (spec/model.json) of one layer, so that the same checks apply (hidden_size divisible by the heads).
/// </summary>
public sealed class LayerEngine : IEngineSurface
{
    public string Name => "layer";

    public PortReply Handle(PortRequest request, EngineContext context) => Run(request, EngineBackend.Get(context));

    /// <summary>The layer on <paramref name="ops"/> (a mutant may pass a decorated backend), its output written to "out".</summary>
    public static PortReply Run(PortRequest request, IGraphOps ops)
    {
        var config = Config((JsonObject)request.Fields["config"]!);
        using var f = new SafetensorsFile(EnginePort.WorkFile(request, "inputs"));
        var tensors = f.Tensors.ToDictionary(t => t.Name, t => t, StringComparer.Ordinal);
        var x = Input(tensors, "x", DType.F32);
        var mask = Input(tensors, "im_mask", DType.U8);
        var positions = Input(tensors, "position_ids", DType.I64);
        if (!tensors.TryGetValue("attention.wqkv.Plora_A.weight", out var loraA) || loraA.Shape.Length != 2)
            throw new IxcException("layer: attention.wqkv.Plora_A.weight [R, C] is missing");
        var dims = Ixc25Dims.FromConfig(config) with { R = checked((int)loraA.Shape[0]) };
        int T = x.Shape.Length == 2 ? checked((int)x.Shape[0]) : throw new IxcException($"layer: x is {Shape.Format(x.Shape)}, expected [T, C]");
        if (T < 1 || x.Shape[1] != dims.C) throw new IxcException($"layer: x is {Shape.Format(x.Shape)}, expected [T, {dims.C}] with T >= 1");
        if (!mask.Shape.AsSpan().SequenceEqual([(long)T]) || !positions.Shape.AsSpan().SequenceEqual([(long)T]))
            throw new IxcException($"layer: im_mask {Shape.Format(mask.Shape)} and position_ids {Shape.Format(positions.Shape)} must both be [{T}]");
        var weights = LayerWeights.Bind(tensors.Where(kv => kv.Key is not ("x" or "im_mask" or "position_ids")).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal), dims);

        var rope = new RotaryEmbedding(new RopeConfig(dims.D, config.RopeTheta, config.MaxPositionEmbeddings, RopeScaling.None, 1.0), RopeMode.Stateless);
        var cosHost = new float[T * dims.D];
        var sinHost = new float[T * dims.D];
        rope.Gather(positions.AsSpan<long>(), cosHost, sinHost);

        var graph = new Ixc25Graph(ops, weights, config);
        var acts = new List<Act>();
        using var cache = ops.NewKvLayer(dims.HKV, dims.D, DType.F32, T);
        try
        {
            acts.Add(ops.Upload(x.AsSpan<float>(), T, dims.C));
            acts.Add(ops.Upload(mask.AsSpan<byte>(), T));
            acts.Add(ops.Upload<float>(cosHost, T, dims.D));
            acts.Add(ops.Upload<float>(sinHost, T, dims.D));
            var y = graph.DecoderLayer(0, false, acts[0], acts[1], acts[2], acts[3], cache);
            acts.Add(y);
            SafetensorsWriter.Write(EnginePort.WorkFile(request, "out"), [y.ToNamed("y")], new Dictionary<string, string> { ["producer"] = "ixc25 serve-port layer" });
        }
        finally
        {
            foreach (var a in acts) ops.Release(a);
        }
        return PortReply.Ok([]);
    }

    /// <summary>The request's config as the config of a one-layer model (spec/model.json's checks and defaults; no vocabulary, no biases).</summary>
    public static Ixc25Config Config(JsonObject config)
    {
        var o = new JsonObject { ["vocab_size"] = 1, ["num_hidden_layers"] = 1, ["bias"] = false };
        foreach (var key in new[] { "hidden_size", "intermediate_size", "num_attention_heads", "num_key_value_heads", "rms_norm_eps", "rope_theta" })
            if (config[key] is { } v) o[key] = v.DeepClone();
        using var doc = JsonDocument.Parse(o.ToJsonString());
        var c = Ixc25Config.FromJson(doc.RootElement, "layer config");
        if (c.NumKeyValueHeads < 1 || c.NumAttentionHeads % c.NumKeyValueHeads != 0)
            throw new IxcException($"layer config: num_attention_heads {c.NumAttentionHeads} is not a multiple of num_key_value_heads {c.NumKeyValueHeads}");
        return c;
    }

    private static NamedTensor Input(Dictionary<string, NamedTensor> tensors, string name, DType dtype) =>
        tensors.TryGetValue(name, out var t) ? t.DType == dtype ? t : throw new IxcException($"layer: {name} is {t.DType.SpecName()}, expected {dtype.SpecName()}")
            : throw new IxcException($"layer: input '{name}' is missing");
}
