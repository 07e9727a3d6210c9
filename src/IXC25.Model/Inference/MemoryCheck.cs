using System.Globalization;
using IXC25.Model.Loading;
using IXC25.Runtime;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>
/// Refuses a context that would not fit: the estimate (weights as stored + KV cache for the context in
/// the cache dtype + working set, <see cref="MemoryEstimate"/>) against this machine's (or container's)
/// memory. Called before a prefill, so a too-long conversation fails with a clear message instead of
/// running out of memory minutes later.
/// </summary>
public static class MemoryCheck
{
    /// <summary>The estimate for <paramref name="contextTokens"/> on this model.</summary>
    public static MemoryEstimate Estimate(Ixc25Model model, int contextTokens)
    {
        long weightBytes = Ixc25Weights.Catalog(model.Dims)
            .Where(p => p.Group is null || model.Weights.Groups.Contains(p.Group))
            .Sum(p => model.WeightSource is QuantizedWeightSource q && q.IsQuantized(p.Key, out var rows, out var cols)
                ? WeightMemory.BlockBytes(q.Format, rows, cols)   // a quantized checkpoint's blocks
                : (p.Numel ?? p.Shape.Aggregate(1L, (a, d) => a * (d.IsFree ? model.Dims.Get(d.Free!) ?? 0 : d.Value))) * (model.WeightSource.TryGetInfo(p.Key, out var dt, out _) ? dt.Size() : 2));
        return MemoryEstimate.For(model.Dims, weightBytes, contextTokens, model.Options.KvDType);
    }

    /// <summary>Physical memory available to this process (container limit included).</summary>
    public static long TotalMemory() => GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;

    /// <summary>Throws when the estimate for the context exceeds the memory of the machine (unless <see cref="ModelOptions.IgnoreMemoryCheck"/>).</summary>
    public static MemoryEstimate Ensure(Ixc25Model model, int contextTokens, long? totalMemory = null)
    {
        var e = Estimate(model, contextTokens);
        if (model.Options.IgnoreMemoryCheck) return e;
        long total = totalMemory ?? TotalMemory();
        if (e.Total > total)
        {
            var ci = CultureInfo.InvariantCulture;
            string hint = model.Options.KvDType == DType.F32 ? "; --kv-dtype bf16 halves the KV cache" : "";
            throw new IxcException(string.Create(ci,
                $"a context of {contextTokens:N0} tokens needs about {e.Total / (double)(1L << 30):0.0} GiB (weights {e.WeightBytes / (double)(1L << 30):0.0}, KV cache {e.KvBytes / (double)(1L << 30):0.0}, work {e.WorkspaceBytes / (double)(1L << 30):0.0}), this machine has {total / (double)(1L << 30):0.0} GiB{hint}; {LoadMemoryCheck.OverrideFlag} runs it anyway"));
        }
        return e;
    }
}
