using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Spec;

namespace IXC25.Model.Loading;

/// <summary>
/// A Hugging Face model folder: config.json, the checkpoint (sharded or single, safetensors or torch
/// .bin) and tokenizer.model. Opening reads the config and the index only; <see cref="BindWeights"/>
/// validates every tensor against the spec and maps the shards. A quantized checkpoint (ixc25 quantize: config.json's
/// "quantization" entry, spec/quant.json "checkpoint") is recognised here: <see cref="Quantization"/> names its format
/// and <see cref="Source"/> presents its stored blocks as the weights (<see cref="QuantizedWeightSource"/>).
/// </summary>
public sealed class ModelDirectory : IDisposable
{
    private ICheckpoint? _checkpoint;
    private IWeightSource? _source;

    private ModelDirectory(string path, Ixc25Config config, Ixc25Dims dims, CheckpointIndex? index, CheckpointFormat format, QuantFormat? quantization)
    {
        Quantization = quantization;
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

    /// <summary>The weight format of a quantized checkpoint (config.json "quantization"); null: weights as stored.</summary>
    public QuantFormat? Quantization { get; }
    public string TokenizerPath => System.IO.Path.Combine(Path, "tokenizer.model");

    /// <summary>True when every data file the checkpoint needs is present (an index-only folder has none).</summary>
    public bool HasWeights => Index is null || Index.ShardFiles.All(f => File.Exists(System.IO.Path.Combine(Path, f)));

    public static ModelDirectory Open(string path, CheckpointFormat format = CheckpointFormat.Auto)
    {
        if (!Directory.Exists(path)) throw new IxcException($"{path}: model directory not found");
        string configPath = System.IO.Path.Combine(path, "config.json");
        if (!File.Exists(configPath)) throw new IxcException($"{path}: no config.json (not a Hugging Face model folder)");
        var config = Ixc25Config.Load(configPath);
        var quantization = QuantLayout.ReadConfig(configPath);
        Ixc25Dims dims;
        try { dims = Ixc25Dims.FromConfig(config); }
        catch (IxcException e) { throw new IxcException($"{configPath}: {e.Message}", e); }

        var detected = Detect(path, format);
        if (detected is null)
            throw new IxcException($"{path}: no checkpoint found (expected model.safetensors[.index.json] or pytorch_model.bin[.index.json])");
        var (fmt, indexName) = detected.Value;
        var index = indexName is null ? null : CheckpointIndex.Load(path, fmt);
        if (quantization is not null && fmt != CheckpointFormat.Safetensors)
            throw new IxcException($"{path}: config.json says {quantization}-quantized, but the checkpoint is {fmt} (a quantized checkpoint is safetensors)");
        return new ModelDirectory(System.IO.Path.GetFullPath(path), config, dims, index, fmt, quantization);
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

    /// <summary>
    /// The weight format a run holds the linears in, given --weights (<paramref name="requested"/>): a quantized
    /// checkpoint's own format (another one is refused: blocks are never requantized), else what was requested (null:
    /// the stored weights).
    /// </summary>
    public QuantFormat? CheckWeights(QuantFormat? requested)
    {
        if (Quantization is not { } q) return requested;
        if (requested is not null && requested != q)
            throw new IxcException($"{Path}: a {q}-quantized checkpoint runs as {q} only (--weights {requested} given); quantize the original checkpoint with --format {requested}");
        return q;
    }

    /// <summary>The checkpoint as the spec's binding sees it (a quantized one's pairs as its weights); opens the checkpoint.</summary>
    public IWeightSource Source
    {
        get
        {
            if (_source is not null) return _source;
            IWeightSource s = new CheckpointWeightSource(Checkpoint);
            return _source = Quantization is { } q ? new QuantizedWeightSource(s, q) : s;
        }
    }

    /// <summary>
    /// Validates the checkpoint against the spec and returns the typed, memory-mapped weights. In a quantized
    /// checkpoint every quantized weight must be one the forward pass runs as a linear (<see cref="Ixc25Weights.LinearWeights"/>).
    /// </summary>
    public Ixc25Weights BindWeights()
    {
        var weights = Ixc25Weights.Bind(Source, Dims);
        if (Source is QuantizedWeightSource q)
        {
            var linears = weights.LinearWeights().Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
            if (q.QuantizedKeys.FirstOrDefault(k => !linears.Contains(k)) is { } bad)
                throw new IxcException($"{Path}: '{bad}' is stored {q.Format}-quantized, but it is not the weight of a linear (only those are quantized)");
        }
        return weights;
    }

    public void Dispose() => _checkpoint?.Dispose();
}
