using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using IXC25.Runtime.Quant;

namespace IXC25.Backends.Cpu.Quant;

/// <summary>
/// The q8 activations of spec/quant.json ("activation") in 256-bit vectors, bit-identical to the scalar definition
/// <see cref="Quantizer.QuantizeActivations"/>: per block of 32, amax = max |x| (a block with a NaN or an infinity gets
/// scale NaN and q = 0), d = amax / 127, id = d != 0 ? 1 / d : 0, q = round half away from zero of x * id (as trunc(v) +
/// sign(v) where |v - trunc(v)| &gt;= 0.5: exact, |v| &lt;= 127), and the block sums of q; a block whose 1 / d overflows
/// (amax below about 3.7e-37) runs the definition itself. Every step is one float32
/// operation of the definition, so the results are the same bits; falls back to the definition without AVX2.
/// </summary>
internal static unsafe class ActivationQuantizer
{
    public static void Quantize(ReadOnlySpan<float> x, Span<sbyte> qs, Span<float> scales, Span<int> sums)
    {
        if (!Avx2.IsSupported)
        {
            Quantizer.QuantizeActivations(x, qs, scales, sums);
            return;
        }
        int nb = x.Length / QuantFormat.Block;
        fixed (float* xp = x)
        fixed (sbyte* qp = qs)
        fixed (float* sp = scales)
        fixed (int* up = sums)
            for (int b = 0; b < nb; b++) Block(xp + b * 32, qp + b * 32, sp + b, up + b);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Block(float* x, sbyte* q, float* scale, int* sum)
    {
        Vector256<float> x0 = Vector256.Load(x), x1 = Vector256.Load(x + 8), x2 = Vector256.Load(x + 16), x3 = Vector256.Load(x + 24);
        Vector256<float> a0 = Vector256.Abs(x0), a1 = Vector256.Abs(x1), a2 = Vector256.Abs(x2), a3 = Vector256.Abs(x3);
        // finite: |x| <= max float (false for NaN and infinities)
        Vector256<float> big = Vector256.Create(float.MaxValue);
        bool finite = Vector256.LessThanOrEqualAll(a0, big) && Vector256.LessThanOrEqualAll(a1, big) && Vector256.LessThanOrEqualAll(a2, big) && Vector256.LessThanOrEqualAll(a3, big);
        if (!finite)
        {
            Vector256.Store(Vector256<sbyte>.Zero, q);
            *scale = float.NaN;
            *sum = 0;
            return;
        }
        Vector256<float> m = Vector256.Max(Vector256.Max(a0, a1), Vector256.Max(a2, a3));
        Vector128<float> m4 = Vector128.Max(m.GetLower(), m.GetUpper());
        float amax = MathF.Max(MathF.Max(m4.GetElement(0), m4.GetElement(1)), MathF.Max(m4.GetElement(2), m4.GetElement(3)));
        float d = amax / 127f;
        float id = d != 0f ? 1f / d : 0f;
        if (float.IsInfinity(id))
        {
            // amax below ~3.7e-37: 1 / d overflows and x * id is infinite or NaN; the definition's conversions decide
            Quantizer.QuantizeActivations(new ReadOnlySpan<float>(x, 32), new Span<sbyte>(q, 32), new Span<float>(scale, 1), new Span<int>(sum, 1));
            return;
        }
        Vector256<float> vid = Vector256.Create(id);
        Vector256<int> q0 = Round(x0 * vid), q1 = Round(x1 * vid), q2 = Round(x2 * vid), q3 = Round(x3 * vid);
        Vector256<short> s01 = Avx2.PackSignedSaturate(q0, q1), s23 = Avx2.PackSignedSaturate(q2, q3); // lanes interleaved by 128-bit halves
        Vector256<sbyte> packed = Avx2.PackSignedSaturate(s01, s23);
        Vector256.Store(Avx2.PermuteVar8x32(packed.AsInt32(), Vector256.Create(0, 4, 1, 5, 2, 6, 3, 7)).AsSByte(), q);
        *scale = d;
        *sum = Vector256.Sum((q0 + q1) + (q2 + q3));
    }

    /// <summary>Round half away from zero of v (|v| &lt;= 127 here), as int32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Round(Vector256<float> v)
    {
        Vector256<float> t = Avx.RoundToZero(v);
        Vector256<float> up = Vector256.GreaterThanOrEqual(Vector256.Abs(v - t), Vector256.Create(0.5f));
        Vector256<float> step = (Vector256.Create(1f) & up) | (v & Vector256.Create(-0f));
        return Avx.ConvertToVector256Int32WithTruncation(t + step);
    }
}
