using System.Globalization;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Checkpoints;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// The memory check before a checkpoint is opened (issue 15): the weights as they will be held (the checkpoint
/// files, memory-mapped in their stored dtype and resident once touched), the KV cache for the context the
/// caller asks for (<see cref="ModelOptions.LoadContext"/>, by default the checkpoint's max_length capped by
/// <see cref="ModelOptions.MaxContext"/>) and the working set (<see cref="MemoryEstimate"/>), against what the
/// machine has available (<see cref="IMemoryProbe"/>: MemAvailable and the cgroup limit). Refused before
/// anything is mapped or allocated, with both numbers; <see cref="ModelOptions.IgnoreMemoryCheck"/>
/// (<c>--ignore-memory-check</c>) skips it.
/// </summary>
public static class LoadMemoryCheck
{
    public const string OverrideFlag = "--ignore-memory-check";

    /// <summary>The context the check reserves a KV cache for.</summary>
    public static int Context(ModelDirectory dir, ModelOptions options) =>
        Math.Max(1, options.LoadContext ?? Math.Min(options.MaxContext, Math.Max(1, dir.Config.MaxLength)));

    /// <summary>The estimate from the folder alone: checkpoint file sizes (nothing opened) and the config's dimensions.</summary>
    public static MemoryEstimate Estimate(ModelDirectory dir, ModelOptions options)
    {
        IEnumerable<string> files = dir.Index is { } index ? index.ShardFiles
            : [dir.Format == CheckpointFormat.TorchBin ? Checkpoint.TorchFileName : Checkpoint.SafetensorsFileName];
        long weights = 0;
        foreach (var f in files.Distinct(StringComparer.Ordinal))
        {
            var info = new FileInfo(Path.Combine(dir.Path, f));
            if (info.Exists) weights += info.Length;   // a missing shard is reported when the checkpoint opens
        }
        return MemoryEstimate.For(dir.Dims, weights, Context(dir, options), options.KvDType);
    }

    /// <summary>Throws when the estimate exceeds what is available, unless the options say to ignore it.</summary>
    public static MemoryEstimate? Ensure(ModelDirectory dir, ModelOptions options)
    {
        if (options.IgnoreMemoryCheck) return null;
        var e = Estimate(dir, options);
        var available = (options.Memory ?? SystemMemoryProbe.Instance).Available();
        if (e.Total > available.Bytes)
            throw new IxcException(string.Create(CultureInfo.InvariantCulture,
                $"{dir.Path}: the model needs about {MemoryEstimate.Size(e.Total)} (weights {MemoryEstimate.Size(e.WeightBytes)} as stored, KV cache {MemoryEstimate.Size(e.KvBytes)} for {e.ContextTokens:N0} tokens in {e.KvDType.SpecName()}, work {MemoryEstimate.Size(e.WorkspaceBytes)}) but {MemoryEstimate.Size(available.Bytes)} is available ({available.Source}); nothing was loaded. A shorter --max-context or --kv-dtype bf16 needs less; {OverrideFlag} loads it anyway"));
        return e;
    }
}
