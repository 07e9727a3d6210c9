namespace IXC25.Backends.Reference;

public static partial class RefOps
{
    /// <summary>
    /// y = x W^T (+ bias). x [T, IN], weight [OUT, IN], bias [OUT] or empty, y [T, OUT].
    /// Each output is one double-precision dot product (plus bias) rounded once to float32.
    /// </summary>
    public static void Linear(ReadOnlySpan<float> x, int T, int IN, ReadOnlySpan<float> weight, int OUT, ReadOnlySpan<float> bias, Span<float> y)
    {
        Length(x.Length, (long)T * IN, "linear", "x");
        Length(weight.Length, (long)OUT * IN, "linear", "weight");
        Require(bias.Length == 0 || bias.Length == OUT, "linear", $"'bias' has {bias.Length} elements, expected {OUT} or none");
        Length(y.Length, (long)T * OUT, "linear", "y");
        for (int t = 0; t < T; t++)
        {
            var row = x.Slice(t * IN, IN);
            for (int o = 0; o < OUT; o++)
            {
                var w = weight.Slice(o * IN, IN);
                double s = bias.Length == 0 ? 0 : bias[o];
                for (int i = 0; i < IN; i++) s += (double)row[i] * w[i];
                y[t * OUT + o] = (float)s;
            }
        }
    }

    /// <summary>
    /// Partial LoRA (build_mlp.py PLoRA.forward). x [T, IN], weight [OUT, IN], lora_a [R, IN],
    /// lora_b [OUT, R], im_mask [T], y [T, OUT]:
    /// y = x W^T; on rows with im_mask != 0, y[t] += (B (A x[t])) * scale, with the float32 rounding
    /// points of upstream (A x, then B(A x), then * scale, then the add). With an all-zero mask,
    /// upstream adds B(A(x[0])) * 0 to row 0; we do the same (it turns -0 into +0, propagates NaN/Inf).
    /// With <paramref name="rowExact"/> every row is a call of its own (rows of different sequences in a batched
    /// decode step): each unmasked row gets the quirk. (Linear needs no such flag here: each output is one double
    /// dot product whatever T is.)
    /// </summary>
    public static void PloraLinear(ReadOnlySpan<float> x, int T, int IN, ReadOnlySpan<float> weight, int OUT,
        ReadOnlySpan<float> loraA, ReadOnlySpan<float> loraB, int R, ReadOnlySpan<byte> imMask, float scale, Span<float> y, bool rowExact = false)
    {
        Length(loraA.Length, (long)R * IN, "plora_linear", "lora_a");
        Length(loraB.Length, (long)OUT * R, "plora_linear", "lora_b");
        Length(imMask.Length, T, "plora_linear", "im_mask");
        if (rowExact && T > 1)
        {
            // every row as a call of its own (the quirk then applies to each unmasked row)
            for (int t = 0; t < T; t++)
                PloraLinear(x.Slice(t * IN, IN), 1, IN, weight, OUT, loraA, loraB, R, imMask.Slice(t, 1), scale, y.Slice(t * OUT, OUT));
            return;
        }
        Linear(x, T, IN, weight, OUT, [], y);
        bool any = imMask.IndexOfAnyExcept((byte)0) >= 0;
        var a = new float[R];
        var b = new float[OUT];
        for (int t = 0; t < T; t++)
        {
            bool apply = any ? imMask[t] != 0 : t == 0;
            if (!apply) continue;
            Linear(x.Slice(t * IN, IN), 1, IN, loraA, R, [], a);
            Linear(a, 1, R, loraB, OUT, [], b);
            float s = any ? scale : 0f;
            var o = y.Slice(t * OUT, OUT);
            for (int j = 0; j < OUT; j++) o[j] = o[j] + b[j] * s;
        }
    }

    /// <summary>Row lookup. ids [T] (each in [0, V)), table [V, C], y [T, C].</summary>
    public static void Embedding(ReadOnlySpan<long> ids, ReadOnlySpan<float> table, int V, int C, Span<float> y)
    {
        Length(table.Length, (long)V * C, "embedding", "table");
        Length(y.Length, (long)ids.Length * C, "embedding", "y");
        for (int t = 0; t < ids.Length; t++)
        {
            long id = ids[t];
            Require(id >= 0 && id < V, "embedding", $"id {id} at position {t} is outside the vocabulary [0, {V})");
            table.Slice((int)id * C, C).CopyTo(y.Slice(t * C, C));
        }
    }
}
