using System.Globalization;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Loading;

/// <summary>
/// RAM needed to run: the weights (memory-mapped, stored dtype; resident once touched), the KV cache
/// for a context length (2 x L x HKV x D values per token), and the largest transient working set
/// (decoder activations of a prefill chunk, the vision tower on one crop batch, the logits row).
/// </summary>
public sealed record MemoryEstimate(long WeightBytes, long KvBytes, long WorkspaceBytes, int ContextTokens, DType KvDType)
{
    /// <summary>Tokens processed per prefill chunk; the workspace scales with it, not with the prompt.</summary>
    public const int PrefillChunk = 512;

    public long Total => WeightBytes + KvBytes + WorkspaceBytes;

    /// <summary>How the weights are held, for the report.</summary>
    public string WeightsNote { get; init; } = "memory-mapped, stored dtype";

    public static MemoryEstimate For(Ixc25Dims d, long weightBytes, int contextTokens, DType kvDType)
    {
        long kvPerToken = 2L * d.L * d.HKV * d.D * kvDType.Size();
        long kv = kvPerToken * contextTokens;
        long t = Math.Min(PrefillChunk, Math.Max(1, contextTokens));
        // decoder chunk: x, norm, qkv, attention output, gate, up, act (f32), plus the scores of one head
        // against the whole context for each of two worker threads
        long decoder = 4L * t * (3L * d.C + d.QKV + 3L * d.F) + 2L * 4L * t * contextTokens;
        // vision tower on one crop: activations of (NP + 1) tokens, qkv, mlp, attention scores of one head
        long tokens = d.NP + 1;
        long vision = 4L * tokens * (6L * d.CV + d.FV) + 4L * tokens * tokens;
        long logits = 4L * d.V;
        return new MemoryEstimate(weightBytes, kv, Math.Max(decoder, vision) + logits, contextTokens, kvDType);
    }

    /// <summary>A byte count for people: "12.34 GiB" from 1 GiB on, else "5.6 MiB".</summary>
    public static string Size(long b) => b >= 1L << 30 ? (b / (double)(1L << 30)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB" : (b / (double)(1L << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB";

    public string ToText(string indent)
    {
        var ci = CultureInfo.InvariantCulture;
        static string G(long b) => Size(b);
        return string.Create(ci,
            $"{indent}weights      {G(WeightBytes)} ({WeightsNote})\n" +
            $"{indent}kv cache     {G(KvBytes)} for {ContextTokens:N0} tokens in {KvDType.SpecName()}\n" +
            $"{indent}workspace    {G(WorkspaceBytes)}\n" +
            $"{indent}total        {G(Total)}\n");
    }
}
