using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;

namespace IXC25.Model.Loading;

/// <summary>
/// A Hugging Face model folder: config.json, the checkpoint (sharded or single, safetensors or torch
/// .bin) and tokenizer.model. Opening reads the config and the index only; <see cref="BindWeights"/>
/// validates every tensor against the spec and maps the shards.
/// </summary>
public sealed class ModelDirectory : IDisposable
{
    private ICheckpoint? _checkpoint;

    private ModelDirectory(string path, Ixc25Config config, Ixc25Dims dims, CheckpointIndex? index, CheckpointFormat format)
    {
        Path = path;
        Config = config;
        Dims = dims;
        Index = index;
        Format = format;
    }

    public string Path { get; }
    public Ixc25Config Config { get; }
    public Ixc25Dims Dims { get; }
    /// <summary>The index of a sharded checkpoint (null for a single file).</summary>
    public CheckpointIndex? Index { get; }
    public CheckpointFormat Format { get; }
    public string TokenizerPath => System.IO.Path.Combine(Path, "tokenizer.model");

    /// <summary>True when every data file the checkpoint needs is present (an index-only folder has none).</summary>
    public bool HasWeights => Index is null || Index.ShardFiles.All(f => File.Exists(System.IO.Path.Combine(Path, f)));

    public static ModelDirectory Open(string path, CheckpointFormat format = CheckpointFormat.Auto)
    {
        if (!Directory.Exists(path)) throw new IxcException($"{path}: model directory not found");
        string configPath = System.IO.Path.Combine(path, "config.json");
        if (!File.Exists(configPath)) throw new IxcException($"{path}: no config.json (not a Hugging Face model folder)");
        var config = Ixc25Config.Load(configPath);
        Ixc25Dims dims;
        try { dims = Ixc25Dims.FromConfig(config); }
        catch (IxcException e) { throw new IxcException($"{configPath}: {e.Message}", e); }

        var detected = Detect(path, format);
        if (detected is null)
            throw new IxcException($"{path}: no checkpoint found (expected model.safetensors[.index.json] or pytorch_model.bin[.index.json])");
        var (fmt, indexName) = detected.Value;
        var index = indexName is null ? null : CheckpointIndex.Load(path, fmt);
        return new ModelDirectory(System.IO.Path.GetFullPath(path), config, dims, index, fmt);
    }

    private static (CheckpointFormat, string?)? Detect(string dir, CheckpointFormat want)
    {
        (CheckpointFormat Fmt, string File, bool IsIndex)[] order =
        [
            (CheckpointFormat.Safetensors, global::IXC25.Runtime.Checkpoints.Checkpoint.SafetensorsFileName, false),
            (CheckpointFormat.Safetensors, CheckpointIndex.SafetensorsIndexName, true),
            (CheckpointFormat.TorchBin, global::IXC25.Runtime.Checkpoints.Checkpoint.TorchFileName, false),
            (CheckpointFormat.TorchBin, CheckpointIndex.TorchIndexName, true),
        ];
        foreach (var (fmt, file, isIndex) in order)
        {
            if (want != CheckpointFormat.Auto && want != fmt) continue;
            if (File.Exists(System.IO.Path.Combine(dir, file))) return (fmt, isIndex ? file : null);
        }
        return null;
    }

    /// <summary>The open checkpoint (opened on first use; needs the shards).</summary>
    public ICheckpoint Checkpoint
    {
        get
        {
            if (_checkpoint is not null) return _checkpoint;
            if (!HasWeights)
            {
                var missing = Index!.ShardFiles.First(f => !File.Exists(System.IO.Path.Combine(Path, f)));
                throw new IxcException($"{Path}: shard '{missing}' is missing (the folder has the index only)");
            }
            return _checkpoint = global::IXC25.Runtime.Checkpoints.Checkpoint.Open(Path, Format);
        }
    }

    /// <summary>Validates the checkpoint against the spec and returns the typed, memory-mapped weights.</summary>
    public Ixc25Weights BindWeights() => Ixc25Weights.Bind(new CheckpointWeightSource(Checkpoint), Dims);

    public void Dispose() => _checkpoint?.Dispose();
}
