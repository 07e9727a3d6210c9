using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>
/// The quantize and dequantize steps of spec/quant.json, written from the definition (ggml's reference quantizers,
/// quantize_row_q8_0_ref and quantize_row_q4_0_ref: byte-identical blocks), and the q8 activations of the integer dot.
/// Plain scalar code: this is the definition the goldens (golden/quant) check.
/// </summary>
public static class Quantizer
{
    /// <summary>Quantizes w [rows, cols] (float32 values); a non-finite weight, cols not a multiple of 32 or a block
    /// scale past the f16 range is an IxcException naming <paramref name="what"/> and the row (counted from
    /// <paramref name="firstRow"/>: the rows of a larger matrix quantized piece by piece).</summary>
    public static QuantizedMatrix Quantize(QuantFormat f, ReadOnlySpan<float> w, int rows, int cols, string what, long firstRow = 0)
    {
        if (cols % QuantFormat.Block != 0)
            throw new IxcException($"{what}: {cols} columns is not a multiple of the {f} block ({QuantFormat.Block})");
        if (w.Length != (long)rows * cols) throw new IxcException($"{what}: {w.Length} values, expected {(long)rows * cols} ([{rows}, {cols}])");
        int nb = cols / QuantFormat.Block;
        var qs = new byte[f.QsBytes(rows, cols)];
        var scales = new ushort[(long)rows * nb];
        for (int r = 0; r < rows; r++)
            for (int b = 0; b < nb; b++)
            {
                var x = w.Slice(r * cols + b * QuantFormat.Block, QuantFormat.Block);
                long blk = (long)r * nb + b;
                var q = qs.AsSpan((int)(blk * f.QsBytesPerBlock), f.QsBytesPerBlock);
                float d = f.Id == QuantFormat.Q8_0.Id ? BlockQ8_0(x, q, what, firstRow + r) : BlockQ4_0(x, q, what, firstRow + r);
                var h = (Half)d;
                if (!Half.IsFinite(h)) throw new IxcException($"{what}: row {firstRow + r} block {b}: the {f} scale {d:R} is past the f16 range");
                scales[blk] = BitConverter.HalfToUInt16Bits(h);
            }
        return new QuantizedMatrix(f, rows, cols, qs, scales);
    }

    /// <summary>Quantizes a stored 2-D weight (f32, bf16 or f16, widened exactly). A weight a quantized checkpoint
    /// stores in <paramref name="f"/> (<see cref="QuantizedWeight"/>) is returned as stored; in another format it is
    /// refused (blocks are never requantized).</summary>
    public static QuantizedMatrix Quantize(QuantFormat f, NamedTensor w)
    {
        if (w.Data is QuantizedWeight stored)
            return stored.Matrix.Format == f ? stored.Matrix
                : throw new IxcException($"{w.Name}: stored {stored.Matrix.Format}-quantized; it cannot run as {f} (quantize the original checkpoint with --format {f})");
        if (w.Shape.Length != 2) throw new IxcException($"{w.Name}: shape {Shape.Format(w.Shape)} is not a matrix");
        return Quantize(f, w.ToFloat32(), checked((int)w.Shape[0]), checked((int)w.Shape[1]), w.Name);
    }

    private static void CheckFinite(ReadOnlySpan<float> x, string what, long row)
    {
        foreach (float v in x)
            if (!float.IsFinite(v)) throw new IxcException($"{what}: row {row} holds a non-finite value ({v}); quantized formats hold finite weights only");
    }

    /// <summary>quantize_row_q8_0_ref for one block: returns d (before the f16 rounding).</summary>
    private static float BlockQ8_0(ReadOnlySpan<float> x, Span<byte> q, string what, long row)
    {
        CheckFinite(x, what, row);
        float amax = 0f;
        foreach (float v in x) amax = MathF.Max(amax, MathF.Abs(v));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < x.Length; j++) q[j] = (byte)(sbyte)MathF.Round(x[j] * id, MidpointRounding.AwayFromZero);
        return d;
    }

    /// <summary>quantize_row_q4_0_ref for one block: returns d (before the f16 rounding).</summary>
    private static float BlockQ4_0(ReadOnlySpan<float> x, Span<byte> q, string what, long row)
    {
        CheckFinite(x, what, row);
        float amax = 0f, max = 0f;
        foreach (float v in x)
            if (amax < MathF.Abs(v)) { amax = MathF.Abs(v); max = v; }
        float d = max / -8f;
        float id = d != 0f ? 1f / d : 0f;
        for (int j = 0; j < 16; j++)
        {
            int x0 = Math.Min(15, (int)(sbyte)(int)(x[j] * id + 8.5f));
            int x1 = Math.Min(15, (int)(sbyte)(int)(x[j + 16] * id + 8.5f));
            q[j] = (byte)(x0 | (x1 << 4));
        }
        return d;
    }

    /// <summary>The signed integer value of element j (0..31) of a block's stored bytes.</summary>
    public static int Value(QuantFormat f, ReadOnlySpan<byte> block, int j) =>
        f.Bits == 8 ? (sbyte)block[j] : (j < 16 ? block[j] & 15 : block[j - 16] >> 4) - f.Offset;

    /// <summary>w[r, k] = value * float(scale): one float32 multiply per element (the format's definition).</summary>
    public static float[] Dequantize(QuantizedMatrix m)
    {
        var f = m.Format;
        var y = new float[(long)m.Rows * m.Cols];
        int nb = m.Blocks;
        for (int r = 0; r < m.Rows; r++)
            for (int b = 0; b < nb; b++)
            {
                long blk = (long)r * nb + b;
                var q = m.Qs.Slice(blk * f.QsBytesPerBlock, f.QsBytesPerBlock);
                float d = (float)BitConverter.UInt16BitsToHalf(m.Scales[blk]);
                for (int j = 0; j < QuantFormat.Block; j++) y[(long)r * m.Cols + b * QuantFormat.Block + j] = Value(f, q, j) * d;
            }
        return y;
    }

    /// <summary>
    /// The q8 activations of one row x [cols]: qs[k] = roundf(x[k] * id), scales[b] = amax / 127 (float32), and
    /// sums[b] = the sum of the block's qs (for formats with an offset). A block holding NaN or an infinity gets
    /// scale NaN and qs 0 (spec/quant.json "activation").
    /// </summary>
    public static void QuantizeActivations(ReadOnlySpan<float> x, Span<sbyte> qs, Span<float> scales, Span<int> sums)
    {
        int nb = x.Length / QuantFormat.Block;
        for (int b = 0; b < nb; b++)
        {
            var xb = x.Slice(b * QuantFormat.Block, QuantFormat.Block);
            var qb = qs.Slice(b * QuantFormat.Block, QuantFormat.Block);
            float amax = 0f;
            bool finite = true;
            foreach (float v in xb)
            {
                if (!float.IsFinite(v)) finite = false;
                else amax = MathF.Max(amax, MathF.Abs(v));
            }
            int sum = 0;
            if (!finite)
            {
                qb.Clear();
                scales[b] = float.NaN;
            }
            else
            {
                float d = amax / 127f;
                float id = d != 0f ? 1f / d : 0f;
                for (int j = 0; j < QuantFormat.Block; j++)
                {
                    sbyte q = (sbyte)MathF.Round(xb[j] * id, MidpointRounding.AwayFromZero);
                    qb[j] = q;
                    sum += q;
                }
                scales[b] = d;
            }
            if (!sums.IsEmpty) sums[b] = sum;
        }
    }

    /// <summary>
    /// The quantized dot of spec/quant.json ("dot"), the scalar definition every kernel tier must equal bitwise:
    /// exact integer block sums, p_b = float(s_b) * (scale_w * scale_a), 16 lanes in block order, summed pairwise.
    /// </summary>
    public static float Dot(QuantizedMatrix m, int row, ReadOnlySpan<sbyte> aqs, ReadOnlySpan<float> ascales)
    {
        var f = m.Format;
        int nb = m.Blocks;
        Span<float> acc = stackalloc float[16];
        acc.Clear();
        for (int b = 0; b < nb; b++)
        {
            long blk = (long)row * nb + b;
            var q = m.Qs.Slice(blk * f.QsBytesPerBlock, f.QsBytesPerBlock);
            int s = 0;
            for (int j = 0; j < QuantFormat.Block; j++) s += Value(f, q, j) * aqs[b * QuantFormat.Block + j];
            float prod = (float)BitConverter.UInt16BitsToHalf(m.Scales[blk]) * ascales[b];
            float p = s * prod;
            acc[b % 16] = acc[b % 16] + p;
        }
        for (int h = 8; h >= 1; h /= 2)
            for (int j = 0; j < h; j++) acc[j] = acc[j] + acc[j + h];
        return acc[0];
    }
}
