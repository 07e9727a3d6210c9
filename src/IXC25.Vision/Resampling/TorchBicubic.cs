using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
    /// The same values, computed separably: for each output row, the W-interpolation of its 4 input rows
    /// at every output column, then their H-combination (the same operations in the same order as the
    /// reference, so identical results), vectorised over output columns (AVX2 gathers + FMA; each lane
    /// performs exactly the scalar operations). Output rows are split across threads.
    /// </summary>
    public static float[] Resize(float[] src, int channels, int inH, int inW, int outH, int outW, int maxThreads = -1)
    {
        var dst = GC.AllocateUninitializedArray<float>(checked(channels * outH * outW));
        ResizeInto(src, channels, inH, inW, dst, outH, outW, maxThreads);
        return dst;
    }

    /// <summary><see cref="Resize"/> into the first <c>channels * outH * outW</c> values of <paramref name="dst"/>.</summary>
    public static void ResizeInto(float[] src, int channels, int inH, int inW, float[] dst, int outH, int outW, int maxThreads = -1)
    {
        Check(src.Length, channels, inH, inW, outH, outW);
        if (dst.Length < (long)channels * outH * outW) throw new ArgumentException($"{dst.Length} values for [{channels}, {outH}, {outW}]", nameof(dst));
        var ty = ComputeTaps(inH, outH);
        var tx = ComputeTaps(inW, outW);
        // structure of arrays for the columns: index/weight j of every output column
        var xIndex = new int[4 * outW];
        var xWeight = new float[4 * outW];
        for (int ox = 0; ox < outW; ox++)
            for (int j = 0; j < 4; j++)
            {
                xIndex[j * outW + ox] = tx.Index[4 * ox + j];
                xWeight[j * outW + ox] = tx.Weight[4 * ox + j];
            }
        var contiguous = new bool[outW / 8 + 1];
        unsafe
        {
            fixed (int* xi = xIndex)
                for (int g = 0; g + 1 <= outW / 8; g++) contiguous[g] = Contiguous8(xi, outW, 8 * g);
        }
        Parallel.For(0, channels * outH, new ParallelOptions { MaxDegreeOfParallelism = maxThreads }, () => new float[4 * outW], (item, _, rows) =>
        {
            int c = item / outH, oy = item % outH;
            long plane = (long)c * inH * inW;
            unsafe
            {
                fixed (float* s = src)
                fixed (float* d = dst)
                fixed (float* r = rows)
                fixed (int* xi = xIndex)
                fixed (float* xw = xWeight)
                fixed (bool* cg = contiguous)
                {
                    for (int j = 0; j < 4; j++)
                        InterpolateRow(s + plane + (long)ty.Index[4 * oy + j] * inW, xi, xw, cg, r + j * outW, outW);
                    CombineRows(r, outW, ty.Weight[4 * oy], ty.Weight[4 * oy + 1], ty.Weight[4 * oy + 2], ty.Weight[4 * oy + 3],
                                d + ((long)c * outH + oy) * outW);
                }
            }
            return rows;
        }, _ => { });
    }

    /// <summary>
    /// out[ox] = Sum4(row[xi0[ox]], .., row[xi3[ox]]; xw0[ox], .., xw3[ox]) for ox &lt; n (index/weight arrays
    /// j-major, stride n). Away from the borders the 4 taps of an output are 4 consecutive inputs: 8 outputs
    /// are then computed at once from 8 unaligned 4-float loads transposed in registers (no gathers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void InterpolateRow(float* row, int* xi, float* xw, bool* contiguous, float* o, int n)
    {
        int ox = 0;
        if (Fma.IsSupported)
        {
            for (; ox + 8 <= n; ox += 8)
            {
                int* b = xi + ox;
                if (!contiguous[ox >> 3]) { Scalar8(row, xi, xw, o, n, ox); continue; }
                var a = Vector256.Create(Vector128.Load(row + b[0]), Vector128.Load(row + b[4]));
                var bb = Vector256.Create(Vector128.Load(row + b[1]), Vector128.Load(row + b[5]));
                var c = Vector256.Create(Vector128.Load(row + b[2]), Vector128.Load(row + b[6]));
                var d = Vector256.Create(Vector128.Load(row + b[3]), Vector128.Load(row + b[7]));
                // in-lane 4x4 transpose: v_j = tap j of outputs ox .. ox + 7
                var t0 = Avx.UnpackLow(a, bb);   // a0 b0 a1 b1
                var t1 = Avx.UnpackLow(c, d);    // c0 d0 c1 d1
                var t2 = Avx.UnpackHigh(a, bb);  // a2 b2 a3 b3
                var t3 = Avx.UnpackHigh(c, d);   // c2 d2 c3 d3
                var v0 = Avx.Shuffle(t0, t1, 0x44);  // a0 b0 c0 d0
                var v1 = Avx.Shuffle(t0, t1, 0xEE);  // a1 b1 c1 d1
                var v2 = Avx.Shuffle(t2, t3, 0x44);
                var v3 = Avx.Shuffle(t2, t3, 0xEE);
                var acc = Fma.MultiplyAdd(v0, Avx.LoadVector256(xw + ox), Avx.Multiply(v1, Avx.LoadVector256(xw + n + ox)));
                acc = Fma.MultiplyAdd(v2, Avx.LoadVector256(xw + 2 * n + ox), acc);
                acc = Fma.MultiplyAdd(v3, Avx.LoadVector256(xw + 3 * n + ox), acc);
                Avx.Store(o + ox, acc);
            }
        }
        for (; ox < n; ox++)
            o[ox] = Sum4(row[xi[ox]], row[xi[n + ox]], row[xi[2 * n + ox]], row[xi[3 * n + ox]], xw[ox], xw[n + ox], xw[2 * n + ox], xw[3 * n + ox]);
    }

    /// <summary>True when the 4 taps of each of the outputs ox .. ox + 7 are 4 consecutive inputs (no clamping).</summary>
    private static unsafe bool Contiguous8(int* xi, int n, int ox)
    {
        for (int k = 0; k < 8; k++)
            if (xi[n + ox + k] != xi[ox + k] + 1 || xi[2 * n + ox + k] != xi[ox + k] + 2 || xi[3 * n + ox + k] != xi[ox + k] + 3) return false;
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Scalar8(float* row, int* xi, float* xw, float* o, int n, int ox)
    {
        for (int k = ox; k < ox + 8; k++)
            o[k] = Sum4(row[xi[k]], row[xi[n + k]], row[xi[2 * n + k]], row[xi[3 * n + k]], xw[k], xw[n + k], xw[2 * n + k], xw[3 * n + k]);
    }

    /// <summary>out[x] = Sum4(r0[x], r1[x], r2[x], r3[x]; w0..w3) for the 4 consecutive rows at <paramref name="r"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void CombineRows(float* r, int n, float w0, float w1, float w2, float w3, float* o)
    {
        int x = 0;
        if (Fma.IsSupported)
        {
            var vw0 = Vector256.Create(w0); var vw1 = Vector256.Create(w1); var vw2 = Vector256.Create(w2); var vw3 = Vector256.Create(w3);
            for (; x + 8 <= n; x += 8)
            {
                var acc = Fma.MultiplyAdd(Avx.LoadVector256(r + x), vw0, Avx.Multiply(Avx.LoadVector256(r + n + x), vw1));
                acc = Fma.MultiplyAdd(Avx.LoadVector256(r + 2 * n + x), vw2, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(r + 3 * n + x), vw3, acc);
                Avx.Store(o + x, acc);
            }
        }
        for (; x < n; x++) o[x] = Sum4(r[x], r[n + x], r[2 * n + x], r[3 * n + x], w0, w1, w2, w3);
    }

    private static void Check(int length, int channels, int inH, int inW, int outH, int outW)
    {
        if (channels <= 0 || inH <= 0 || inW <= 0 || outH <= 0 || outW <= 0)
            throw new IxcException($"bicubic interpolation of [{channels}, {inH}, {inW}] to [{outH}, {outW}]: every size must be positive");
        if (length != (long)channels * inH * inW)
            throw new ArgumentException($"{length} values for a [{channels}, {inH}, {inW}] tensor");
    }
}
