namespace IXC25.GpuCheck.Bench;

/// <summary>What one timed call does: a decoder layer's prefill or decode step, a ViT layer, or the output head.</summary>
internal enum CaseKind { Prefill, Decode, Vit, Head }

/// <summary>
/// One workload of the bench: <paramref name="Tokens"/> new tokens (prefill T, decode 1, ViT T, head rows) after
/// <paramref name="Past"/> tokens already in the KV cache (decode only). Named as torch_side.py names it.
/// </summary>
internal sealed record BenchCase(CaseKind Kind, int Tokens, int Past)
{
    public string Name => Kind switch
    {
        CaseKind.Prefill => $"prefill-{Tokens}",
        CaseKind.Decode => $"decode-{Past}",
        CaseKind.Vit => $"vit-{Tokens}",
        _ => $"head-{Tokens}",
    };

    public string Label => Kind switch
    {
        CaseKind.Prefill => $"decoder layer prefill {Tokens}",
        CaseKind.Decode => $"decoder layer decode @{Past}",
        CaseKind.Vit => $"ViT layer {Tokens} tokens",
        _ => $"output head {Tokens} row{(Tokens == 1 ? "" : "s")}",
    };

    /// <summary>The preset's workloads in the report's order.</summary>
    public static IReadOnlyList<BenchCase> Of(Workloads w) =>
    [
        .. w.Prefill.Select(t => new BenchCase(CaseKind.Prefill, t, 0)),
        .. w.Decode.Select(c => new BenchCase(CaseKind.Decode, 1, c)),
        new BenchCase(CaseKind.Vit, w.VitTokens, 0),
        new BenchCase(CaseKind.Head, w.HeadRows, 0),
    ];
}

/// <summary>
/// The arithmetic and the memory traffic of a case, counted as torch_side.py counts them (its <c>flops</c> and
/// <c>bytes</c>; side_by_side.py checks that the two sides' FLOPs agree).
/// <para>FLOPs: 2 per multiply-add of every matrix product: 2 * parameters * tokens for the linears, plus attention:
/// q k^T and p v, 4 * H * D per (query, visible key) pair; causal attention counts only the visible pairs (T * past +
/// T (T + 1) / 2), the ViT's all T^2. Norms, RoPE, softmax and activations are not counted (a few percent at most).</para>
/// <para>Bytes: the least traffic a step must move: every weight read once (at the weight's storage size), the past
/// keys and values read once and the new ones written once (at the KV cache's storage size), the layer's input read
/// and output written once (at the activation size), the head's logits written in float32.</para>
/// </summary>
internal static class WorkCounts
{
    /// <summary>Weights of one decoder layer's linears (wqkv, wo, w1, w3, w2).</summary>
    public static double DecoderParams(Workloads w) => (double)w.QKV * w.C + (double)w.H * w.D * w.C + 3.0 * w.C * w.F;

    /// <summary>Weights of one ViT layer's linears (q, k, v, out, fc1, fc2).</summary>
    public static double VitParams(Workloads w) => 4.0 * w.CV * w.CV + 2.0 * w.CV * w.FV;

    public static double Flops(Workloads w, BenchCase c)
    {
        double t = c.Tokens;
        return c.Kind switch
        {
            CaseKind.Prefill or CaseKind.Decode => 2 * DecoderParams(w) * t + 4.0 * w.H * w.D * (t * c.Past + t * (t + 1) / 2),
            CaseKind.Vit => 2 * VitParams(w) * t + 4.0 * t * t * w.CV,
            _ => 2.0 * t * w.C * w.V,
        };
    }

    /// <param name="weightBytes">Bytes per weight (2 for bf16).</param>
    /// <param name="kvBytes">Bytes per cached key or value element.</param>
    /// <param name="actBytes">Bytes per activation element (4 for float32).</param>
    public static double Bytes(Workloads w, BenchCase c, int weightBytes, int kvBytes, int actBytes)
    {
        double t = c.Tokens;
        return c.Kind switch
        {
            CaseKind.Prefill or CaseKind.Decode => weightBytes * (DecoderParams(w) + 2.0 * w.C)
                + kvBytes * 2.0 * w.HKV * w.D * (c.Past + t) + actBytes * 2.0 * t * w.C,
            CaseKind.Vit => weightBytes * (VitParams(w) + 5.0 * w.CV + w.FV + 4.0 * w.CV) + actBytes * 2.0 * t * w.CV,
            _ => weightBytes * ((double)w.V * w.C + w.C) + actBytes * t * w.C + 4.0 * t * w.V,
        };
    }
}
