using IXC25.Model.Loading;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Tensors;

namespace IXC25.Fuzz.Targets;

/// <summary>config: two files split by <see cref="TwoParts"/>: config.json and model.safetensors.index.json
/// (the shard index; no shard present), opened as a model folder (ModelDirectory.Open: Ixc25Config, the
/// dimensions, the index) and reported as `ixc25 info` does (ModelReport: the memory estimate).</summary>
public sealed class ConfigTarget : IFuzzTarget
{
    public string Name => "config";
    public string Description => "config.json + model.safetensors.index.json (split at \"\\n--8<--\\n\"): ModelDirectory.Open and ModelReport.Build";

    /// <summary>1 MiB + 64 per input byte + 32 MiB: the index's names (28 bytes per input byte on the sharded seed)
    /// and, bounded by spec/model.json's layer range (1..256) rather than by the input, the weight catalog and the
    /// report (256 decoder and 256 ViT layers: 27 MB from 2.2 KB; before the range, 100,000 layers took 7.3 GB).</summary>
    public AllocationBudget Budget { get; } = new(Floor: 1 << 20, PerInputByte: 64, LimitBytes: 32 << 20, LimitReason: "the catalog of 256 + 256 layers, spec/model.json's range");

    public void Execute(ReadOnlySpan<byte> data)
    {
        var (config, index) = TwoParts.Split(data);
        string dir = Scratch.Fresh();
        Scratch.Write(dir, "config.json", config);
        Scratch.Write(dir, CheckpointIndex.SafetensorsIndexName, index);
        using var model = ModelDirectory.Open(dir);
        if (model.Index is { } ix)
        {
            foreach (var name in ix.Names) _ = ix.WeightMap[name];
            foreach (var shard in ix.ShardFiles) _ = ix.NamesInShard(shard).Count;
        }
        _ = ModelReport.Build(model, 4096, DType.BF16).ToText();
    }
}
