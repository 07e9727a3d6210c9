using IXC25.Runtime;

namespace IXC25.Vision.Resampling;

/// <summary>
/// torch 1.13's <c>F.interpolate(x, size, mode='bicubic', align_corners=False)</c> on a float32
/// [C, H, W] tensor (CPU, no antialias), reproduced bit for bit against the Debian build used for
/// the goldens (its AVX2/AVX-512 kernel, compiled with floating-point contraction).
///
/// Per output index i of a dimension (in -> out):
/// <list type="bullet">
/// <item>scale = (float)in / (float)out (float32 division);</item>
/// <item>real = (double)scale * (i + 0.5) - 0.5 in double; index = floorf((float)real); t = (float)(real - index);</item>
/// <item>cubic convolution weights with A = -0.75 in float32:
///   w0 = c2(t + 1), w1 = c1(t), w2 = c1(1 - t), w3 = c2((1 - t) + 1), where
///   c1(x) = ((fma(1.25, x, -2.25) * x) * x) + 1 and c2(x) = (fma(fma(-0.75, x, 3.75), x, -6) * x) + 3
///   (the contraction pattern of the compiled kernel, found by matching its weights exactly);</item>
/// <item>taps index - 1 .. index + 2, clamped to [0, in - 1].</item>
/// </list>
/// The value is interpolated along W first for each of the 4 rows, then along H, each 4-term sum as
/// fma(v0, w0, v1 * w1), then fma(v2, w2, .), then fma(v3, w3, .).
/// </summary>
public static class TorchBicubic
{
    /// <summary>Taps of one dimension: <c>Index[4 * i + j]</c>, <c>Weight[4 * i + j]</c> for j = 0..3.</summary>
    public sealed record Taps(int InSize, int OutSize, int[] Index, float[] Weight);

    public static Taps ComputeTaps(int inSize, int outSize)
    {
        if (inSize <= 0 || outSize <= 0) throw new IxcException($"cannot interpolate {inSize} samples to {outSize}");
        float scale = (float)inSize / (float)outSize;
        var index = new int[outSize * 4];
        var weight = new float[outSize * 4];
        for (int i = 0; i < outSize; i++)
        {
            double real = (double)scale * (i + 0.5) - 0.5;
            long input = (long)MathF.Floor((float)real);
            float t = (float)(real - input);
            float x2 = 1f - t;
            weight[4 * i + 0] = Cubic2(t + 1f);
            weight[4 * i + 1] = Cubic1(t);
            weight[4 * i + 2] = Cubic1(x2);
            weight[4 * i + 3] = Cubic2(x2 + 1f);
            for (int j = 0; j < 4; j++)
                index[4 * i + j] = (int)Math.Max(Math.Min(input - 1 + j, inSize - 1), 0);
        }
        return new Taps(inSize, outSize, index, weight);
    }

    /// <summary>((A + 2) x - (A + 3)) x x + 1 for |x| &lt;= 1, A = -0.75.</summary>
    internal static float Cubic1(float x)
    {
        float p = MathF.FusedMultiplyAdd(1.25f, x, -2.25f);
        p *= x;
        p *= x;
        return p + 1f;
    }

    /// <summary>((A x - 5A) x + 8A) x - 4A for 1 &lt;= |x| &lt;= 2, A = -0.75.</summary>
    internal static float Cubic2(float x)
    {
        float p = MathF.FusedMultiplyAdd(-0.75f, x, 3.75f);
        p = MathF.FusedMultiplyAdd(p, x, -6f);
        p *= x;
        return p + 3f;
    }

    /// <summary>fma(v3, w3, fma(v2, w2, fma(v0, w0, v1 * w1))): torch's 4-tap sum.</summary>
    internal static float Sum4(float v0, float v1, float v2, float v3, float w0, float w1, float w2, float w3)
    {
        float s = MathF.FusedMultiplyAdd(v0, w0, v1 * w1);
        s = MathF.FusedMultiplyAdd(v2, w2, s);
        return MathF.FusedMultiplyAdd(v3, w3, s);
    }

    /// <summary>Plain reference: every output value computed on its own from its 16 taps.</summary>
    public static float[] ResizeReference(ReadOnlySpan<float> src, int channels, int inH, int inW, int outH, int outW)
    {
        Check(src.Length, channels, inH, inW, outH, outW);
        var ty = ComputeTaps(inH, outH);
        var tx = ComputeTaps(inW, outW);
        var dst = new float[channels * outH * outW];
        Span<float> rows = stackalloc float[4];
        for (int c = 0; c < channels; c++)
        {
            var plane = src.Slice(c * inH * inW, inH * inW);
            for (int oy = 0; oy < outH; oy++)
                for (int ox = 0; ox < outW; ox++)
                {
                    for (int j = 0; j < 4; j++)
                    {
                        var row = plane.Slice(ty.Index[4 * oy + j] * inW, inW);
                        rows[j] = Sum4(row[tx.Index[4 * ox]], row[tx.Index[4 * ox + 1]], row[tx.Index[4 * ox + 2]], row[tx.Index[4 * ox + 3]],
                                       tx.Weight[4 * ox], tx.Weight[4 * ox + 1], tx.Weight[4 * ox + 2], tx.Weight[4 * ox + 3]);
                    }
                    dst[(c * outH + oy) * outW + ox] = Sum4(rows[0], rows[1], rows[2], rows[3],
                        ty.Weight[4 * oy], ty.Weight[4 * oy + 1], ty.Weight[4 * oy + 2], ty.Weight[4 * oy + 3]);
                }
        }
        return dst;
    }

    /// <summary>
    /// The same values, computed separably: the W-interpolation of each input row is computed once
    /// per output row block and reused (identical operations, so identical results). Output rows are
    /// split across threads.
    /// </summary>
    public static float[] Resize(float[] src, int channels, int inH, int inW, int outH, int outW, int maxThreads = -1)
    {
        Check(src.Length, channels, inH, inW, outH, outW);
        var ty = ComputeTaps(inH, outH);
        var tx = ComputeTaps(inW, outW);
        var dst = GC.AllocateUninitializedArray<float>(channels * outH * outW);
        Parallel.For(0, channels * outH, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, () => new float[4 * outW], (item, _, rows) =>
        {
            int c = item / outH, oy = item % outH;
            int plane = c * inH * inW;
            for (int j = 0; j < 4; j++)
            {
                int rowStart = plane + ty.Index[4 * oy + j] * inW;
                var r = rows.AsSpan(j * outW, outW);
                for (int ox = 0; ox < outW; ox++)
                {
                    int k = 4 * ox;
                    r[ox] = Sum4(src[rowStart + tx.Index[k]], src[rowStart + tx.Index[k + 1]], src[rowStart + tx.Index[k + 2]], src[rowStart + tx.Index[k + 3]],
                                 tx.Weight[k], tx.Weight[k + 1], tx.Weight[k + 2], tx.Weight[k + 3]);
                }
            }
            float w0 = ty.Weight[4 * oy], w1 = ty.Weight[4 * oy + 1], w2 = ty.Weight[4 * oy + 2], w3 = ty.Weight[4 * oy + 3];
            var o = dst.AsSpan((c * outH + oy) * outW, outW);
            for (int ox = 0; ox < outW; ox++)
                o[ox] = Sum4(rows[ox], rows[outW + ox], rows[2 * outW + ox], rows[3 * outW + ox], w0, w1, w2, w3);
            return rows;
        }, _ => { });
        return dst;
    }

    private static void Check(int length, int channels, int inH, int inW, int outH, int outW)
    {
        if (channels <= 0 || inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0)
            throw new IxcException($"bicubic interpolation of [{channels}, {inH}, {inW}] to [{outH}, {outW}]: every size must be positive");
        if (length != (long)channels * inH * inW)
            throw new ArgumentException($"{length} values for a [{channels}, {inH}, {inW}] tensor");
    }
}
