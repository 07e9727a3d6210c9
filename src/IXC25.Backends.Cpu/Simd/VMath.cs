using static IXC25.Runtime.Numerics.MathCoefficients;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace IXC25.Backends.Cpu.Simd;

/// <summary>
/// The vector math library of the generated CPU kernels: every function the spec's kernel expressions
/// may call (exp, sigmoid, erf, erfc, rsqrt, sqrt, tanh, max, min, abs), for float and for
/// Vector128/256/512&lt;float&gt;, plus the fixed-order horizontal reductions. One algorithm per
/// function, the same at every width, so the vector tiers agree lane for lane (the scalar tier uses
/// MathF.Exp, which may differ from the vector exp by an ulp). Functions are available to kernel
/// expressions by their lower-case name (spec/README.md, Kernels).
/// <list type="bullet">
/// <item>exp: vector tiers: Cody-Waite reduction to |r| &lt;= ln2/2 with fused multiply-adds, a degree-6
/// polynomial (0.7 ulp on the reduced range), exact scaling by 2^n in two steps (correct subnormals);
/// measured 0.87 ulp (.NET's VectorNNN.Exp reaches 1.8). Scalar tier: MathF.Exp (0.5 ulp).</item>
/// <item>erf: |x| &lt; 0.921875: x + x P(x^2), P of degree 6; else sign(x) (1 - exp(Q(min(|x|, 4)))),
/// Q of degree 8 fitting log erfc. Coefficients from tools/fit_vmath.py (weighted minimax, float32
/// coefficients); measured 1.02 ulp.</item>
/// <item>erfc: |x| &lt; 0.5: 1 - erf(x); else with t = min(|x|, 10.5): e = exp(-t^2) H(t - 1.25) for t &lt; 2,
/// exp(-t^2) G(1/t^2) / t beyond (H of degree 11, G of degree 7, fitted like erf), t^2 split exactly into
/// hi + lo so exp(-t^2) = exp(-hi) (1 - lo); erfc(-t) = 2 - e. No cancellation for large |x| (what
/// 1 + erf(x) suffers): measured 3.4 ulp.</item>
/// <item>tanh: |x| &lt; 0.75: x + x s R(s), s = x^2, R of degree 6; else sign(x) (1 - 2 / (exp(2|x|) + 1)); measured 0.98 ulp.</item>
/// <item>sigmoid: 1 / (1 + e) for x &gt;= 0, e / (1 + e) for x &lt; 0, e = exp(-|x|): never overflows; measured 1.96 ulp.</item>
/// <item>rsqrt: 1 / sqrt(x), correctly rounded sqrt and division (not the approximate instruction); measured 1.46 ulp.</item>
/// <item>max/min: IEEE 754-2019 maximum/minimum (NaN propagates, -0 &lt; +0), as MathF.Max/Min.</item>
/// </list>
/// Polynomials are evaluated by Horner's rule with fused multiply-adds (one rounding by definition, so the
/// result does not depend on whether the hardware has FMA). NaN propagates through every function.
/// </summary>
public static class VMath
{

    // ------------------------------------------------------------------ float

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Exp(float x) => MathF.Exp(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sqrt(float x) => MathF.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Rsqrt(float x) => 1f / MathF.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Abs(float x) => MathF.Abs(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Max(float a, float b) => MathF.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Min(float a, float b) => MathF.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sigmoid(float x)
    {
        float e = MathF.Exp(-MathF.Abs(x));
        float d = 1f + e;
        return x >= 0 ? 1f / d : e / d;
    }

    /// <summary>erf for |x| &lt; ErfSplit: x + x P(x^2).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float ErfSmall(float x)
    {
        float s = x * x;
        float p = MathF.FusedMultiplyAdd(ErfP6, s, ErfP5);
        p = MathF.FusedMultiplyAdd(p, s, ErfP4);
        p = MathF.FusedMultiplyAdd(p, s, ErfP3);
        p = MathF.FusedMultiplyAdd(p, s, ErfP2);
        p = MathF.FusedMultiplyAdd(p, s, ErfP1);
        p = MathF.FusedMultiplyAdd(p, s, ErfP0);
        return MathF.FusedMultiplyAdd(p, x, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erf(float x)
    {
        float t = MathF.Abs(x);
        if (t < ErfSplit) return ErfSmall(x);
        if (float.IsNaN(x)) return x;
        t = MathF.Min(t, ErfClamp);
        float q = MathF.FusedMultiplyAdd(ErfQ8, t, ErfQ7);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ6);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ5);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ4);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ3);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ2);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ1);
        q = MathF.FusedMultiplyAdd(q, t, ErfQ0);
        return MathF.CopySign(1f - MathF.Exp(q), x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Erfc(float x)
    {
        float t = MathF.Abs(x);
        if (t < ErfcSplit1) return 1f - ErfSmall(x);
        if (float.IsNaN(x)) return x;
        float u = MathF.Min(t, ErfcClamp);
        float hi = u * u;
        float lo = MathF.FusedMultiplyAdd(u, u, -hi);
        float r;
        if (u < ErfcSplit2)
        {
            float v = u - ErfcCenter;
            r = MathF.FusedMultiplyAdd(ErfcH11, v, ErfcH10);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH9);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH8);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH7);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH6);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH5);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH4);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH3);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH2);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH1);
            r = MathF.FusedMultiplyAdd(r, v, ErfcH0);
        }
        else
        {
            float s = 1f / u;
            float w = s * s;
            r = MathF.FusedMultiplyAdd(ErfcG7, w, ErfcG6);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG5);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG4);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG3);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG2);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG1);
            r = MathF.FusedMultiplyAdd(r, w, ErfcG0);
            r /= u;
        }
        float e = MathF.Exp(-hi) * r;
        e = MathF.FusedMultiplyAdd(-lo, e, e);
        return x > 0 ? e : 2f - e;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Tanh(float x)
    {
        float t = MathF.Abs(x);
        if (t < TanhSplit)
        {
            float s = x * x;
            float r = MathF.FusedMultiplyAdd(TanhR6, s, TanhR5);
            r = MathF.FusedMultiplyAdd(r, s, TanhR4);
            r = MathF.FusedMultiplyAdd(r, s, TanhR3);
            r = MathF.FusedMultiplyAdd(r, s, TanhR2);
            r = MathF.FusedMultiplyAdd(r, s, TanhR1);
            r = MathF.FusedMultiplyAdd(r, s, TanhR0);
            return MathF.FusedMultiplyAdd(r * s, x, x);
        }
        float e = MathF.Exp(t + t);
        return MathF.CopySign(1f - 2f / (e + 1f), x);
    }

    // ------------------------------------------------------------------ Vector128<float>

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Exp(Vector128<float> x)
    {
        var xc = Vector128.Min(Vector128.Max(x, Vector128.Create(ExpMin)), Vector128.Create(ExpMax));
        var n = Vector128.Round(xc * Vector128.Create(ExpLog2E));
        var r = Vector128.FusedMultiplyAdd(-n, Vector128.Create(ExpLn2Hi), xc);
        r = Vector128.FusedMultiplyAdd(-n, Vector128.Create(ExpLn2Lo), r);
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(ExpC6), r, Vector128.Create(ExpC5));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC4));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC3));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC2));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC1));
        p = Vector128.FusedMultiplyAdd(p, r, Vector128.Create(ExpC0));
        // 2^n = 2^n1 2^n2 with n1 = floor(n / 2): both factors are normal floats for n in [-150, 128]
        var ni = Vector128.ConvertToInt32(n);
        var n1 = Vector128.ShiftRightArithmetic(ni, 1);
        var bias = Vector128.Create(127);
        var s1 = Vector128.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector128.ShiftLeft(ni - n1 + bias, 23).AsSingle();
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), p * s1 * s2, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sqrt(Vector128<float> x) => Vector128.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Rsqrt(Vector128<float> x) => Vector128<float>.One / Vector128.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Abs(Vector128<float> x) => Vector128.Abs(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Sigmoid(Vector128<float> x)
    {
        var e = Exp(-Vector128.Abs(x));
        var d = Vector128<float>.One + e;
        return Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(x, Vector128<float>.Zero), Vector128<float>.One / d, e / d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Erf(Vector128<float> x)
    {
        var t = Vector128.Abs(x);
        var s = x * x;
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(ErfP6), s, Vector128.Create(ErfP5));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP4));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP3));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP2));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP1));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP0));
        var small = Vector128.FusedMultiplyAdd(p, x, x);
        var u = Vector128.Min(t, Vector128.Create(ErfClamp));
        var q = Vector128.FusedMultiplyAdd(Vector128.Create(ErfQ8), u, Vector128.Create(ErfQ7));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ6));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ5));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ4));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ3));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ2));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ1));
        q = Vector128.FusedMultiplyAdd(q, u, Vector128.Create(ErfQ0));
        var large = Vector128.CopySign(Vector128<float>.One - Exp(q), x);
        var r = Vector128.ConditionalSelect(Vector128.LessThan(t, Vector128.Create(ErfSplit)), small, large);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Erfc(Vector128<float> x)
    {
        var t = Vector128.Abs(x);
        var s = x * x;
        var p = Vector128.FusedMultiplyAdd(Vector128.Create(ErfP6), s, Vector128.Create(ErfP5));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP4));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP3));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP2));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP1));
        p = Vector128.FusedMultiplyAdd(p, s, Vector128.Create(ErfP0));
        var small = Vector128<float>.One - Vector128.FusedMultiplyAdd(p, x, x);
        var u = Vector128.Min(t, Vector128.Create(ErfcClamp));
        var hi = u * u;
        var lo = Vector128.FusedMultiplyAdd(u, u, -hi);
        var v = u - Vector128.Create(ErfcCenter);
        var h = Vector128.FusedMultiplyAdd(Vector128.Create(ErfcH11), v, Vector128.Create(ErfcH10));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH9));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH8));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH7));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH6));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH5));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH4));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH3));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH2));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH1));
        h = Vector128.FusedMultiplyAdd(h, v, Vector128.Create(ErfcH0));
        var r = Vector128<float>.One / u;
        var w = r * r;
        var g = Vector128.FusedMultiplyAdd(Vector128.Create(ErfcG7), w, Vector128.Create(ErfcG6));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG5));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG4));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG3));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG2));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG1));
        g = Vector128.FusedMultiplyAdd(g, w, Vector128.Create(ErfcG0));
        g /= u;
        var e = Exp(-hi) * Vector128.ConditionalSelect(Vector128.LessThan(u, Vector128.Create(ErfcSplit2)), h, g);
        e = Vector128.FusedMultiplyAdd(-lo, e, e);
        var large = Vector128.ConditionalSelect(Vector128.GreaterThan(x, Vector128<float>.Zero), e, Vector128.Create(2f) - e);
        var result = Vector128.ConditionalSelect(Vector128.LessThan(t, Vector128.Create(ErfcSplit1)), small, large);
        return Vector128.ConditionalSelect(Vector128.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Tanh(Vector128<float> x)
    {
        var t = Vector128.Abs(x);
        var s = x * x;
        var r = Vector128.FusedMultiplyAdd(Vector128.Create(TanhR6), s, Vector128.Create(TanhR5));
        r = Vector128.FusedMultiplyAdd(r, s, Vector128.Create(TanhR4));
        r = Vector128.FusedMultiplyAdd(r, s, Vector128.Create(TanhR3));
        r = Vector128.FusedMultiplyAdd(r, s, Vector128.Create(TanhR2));
        r = Vector128.FusedMultiplyAdd(r, s, Vector128.Create(TanhR1));
        r = Vector128.FusedMultiplyAdd(r, s, Vector128.Create(TanhR0));
        var small = Vector128.FusedMultiplyAdd(r * s, x, x);
        var e = Exp(t + t);
        var large = Vector128.CopySign(Vector128<float>.One - Vector128.Create(2f) / (e + Vector128<float>.One), x);
        return Vector128.ConditionalSelect(Vector128.LessThan(t, Vector128.Create(TanhSplit)), small, large);
    }

    // ------------------------------------------------------------------ Vector256<float>

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Exp(Vector256<float> x)
    {
        var xc = Vector256.Min(Vector256.Max(x, Vector256.Create(ExpMin)), Vector256.Create(ExpMax));
        var n = Vector256.Round(xc * Vector256.Create(ExpLog2E));
        var r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(ExpLn2Hi), xc);
        r = Vector256.FusedMultiplyAdd(-n, Vector256.Create(ExpLn2Lo), r);
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(ExpC6), r, Vector256.Create(ExpC5));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC4));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC3));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC2));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC1));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(ExpC0));
        // 2^n = 2^n1 2^n2 with n1 = floor(n / 2): both factors are normal floats for n in [-150, 128]
        var ni = Vector256.ConvertToInt32(n);
        var n1 = Vector256.ShiftRightArithmetic(ni, 1);
        var bias = Vector256.Create(127);
        var s1 = Vector256.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector256.ShiftLeft(ni - n1 + bias, 23).AsSingle();
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), p * s1 * s2, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sqrt(Vector256<float> x) => Vector256.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Rsqrt(Vector256<float> x) => Vector256<float>.One / Vector256.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Abs(Vector256<float> x) => Vector256.Abs(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x)
    {
        var e = Exp(-Vector256.Abs(x));
        var d = Vector256<float>.One + e;
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One / d, e / d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erf(Vector256<float> x)
    {
        var t = Vector256.Abs(x);
        var s = x * x;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(ErfP6), s, Vector256.Create(ErfP5));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP4));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP3));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP2));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP1));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP0));
        var small = Vector256.FusedMultiplyAdd(p, x, x);
        var u = Vector256.Min(t, Vector256.Create(ErfClamp));
        var q = Vector256.FusedMultiplyAdd(Vector256.Create(ErfQ8), u, Vector256.Create(ErfQ7));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ6));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ5));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ4));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ3));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ2));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ1));
        q = Vector256.FusedMultiplyAdd(q, u, Vector256.Create(ErfQ0));
        var large = Vector256.CopySign(Vector256<float>.One - Exp(q), x);
        var r = Vector256.ConditionalSelect(Vector256.LessThan(t, Vector256.Create(ErfSplit)), small, large);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Erfc(Vector256<float> x)
    {
        var t = Vector256.Abs(x);
        var s = x * x;
        var p = Vector256.FusedMultiplyAdd(Vector256.Create(ErfP6), s, Vector256.Create(ErfP5));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP4));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP3));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP2));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP1));
        p = Vector256.FusedMultiplyAdd(p, s, Vector256.Create(ErfP0));
        var small = Vector256<float>.One - Vector256.FusedMultiplyAdd(p, x, x);
        var u = Vector256.Min(t, Vector256.Create(ErfcClamp));
        var hi = u * u;
        var lo = Vector256.FusedMultiplyAdd(u, u, -hi);
        var v = u - Vector256.Create(ErfcCenter);
        var h = Vector256.FusedMultiplyAdd(Vector256.Create(ErfcH11), v, Vector256.Create(ErfcH10));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH9));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH8));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH7));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH6));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH5));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH4));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH3));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH2));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH1));
        h = Vector256.FusedMultiplyAdd(h, v, Vector256.Create(ErfcH0));
        var r = Vector256<float>.One / u;
        var w = r * r;
        var g = Vector256.FusedMultiplyAdd(Vector256.Create(ErfcG7), w, Vector256.Create(ErfcG6));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG5));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG4));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG3));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG2));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG1));
        g = Vector256.FusedMultiplyAdd(g, w, Vector256.Create(ErfcG0));
        g /= u;
        var e = Exp(-hi) * Vector256.ConditionalSelect(Vector256.LessThan(u, Vector256.Create(ErfcSplit2)), h, g);
        e = Vector256.FusedMultiplyAdd(-lo, e, e);
        var large = Vector256.ConditionalSelect(Vector256.GreaterThan(x, Vector256<float>.Zero), e, Vector256.Create(2f) - e);
        var result = Vector256.ConditionalSelect(Vector256.LessThan(t, Vector256.Create(ErfcSplit1)), small, large);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        var t = Vector256.Abs(x);
        var s = x * x;
        var r = Vector256.FusedMultiplyAdd(Vector256.Create(TanhR6), s, Vector256.Create(TanhR5));
        r = Vector256.FusedMultiplyAdd(r, s, Vector256.Create(TanhR4));
        r = Vector256.FusedMultiplyAdd(r, s, Vector256.Create(TanhR3));
        r = Vector256.FusedMultiplyAdd(r, s, Vector256.Create(TanhR2));
        r = Vector256.FusedMultiplyAdd(r, s, Vector256.Create(TanhR1));
        r = Vector256.FusedMultiplyAdd(r, s, Vector256.Create(TanhR0));
        var small = Vector256.FusedMultiplyAdd(r * s, x, x);
        var e = Exp(t + t);
        var large = Vector256.CopySign(Vector256<float>.One - Vector256.Create(2f) / (e + Vector256<float>.One), x);
        return Vector256.ConditionalSelect(Vector256.LessThan(t, Vector256.Create(TanhSplit)), small, large);
    }

    // ------------------------------------------------------------------ Vector512<float>

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Exp(Vector512<float> x)
    {
        var xc = Vector512.Min(Vector512.Max(x, Vector512.Create(ExpMin)), Vector512.Create(ExpMax));
        var n = Vector512.Round(xc * Vector512.Create(ExpLog2E));
        var r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(ExpLn2Hi), xc);
        r = Vector512.FusedMultiplyAdd(-n, Vector512.Create(ExpLn2Lo), r);
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(ExpC6), r, Vector512.Create(ExpC5));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC4));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC3));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC2));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC1));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(ExpC0));
        // 2^n = 2^n1 2^n2 with n1 = floor(n / 2): both factors are normal floats for n in [-150, 128]
        var ni = Vector512.ConvertToInt32(n);
        var n1 = Vector512.ShiftRightArithmetic(ni, 1);
        var bias = Vector512.Create(127);
        var s1 = Vector512.ShiftLeft(n1 + bias, 23).AsSingle();
        var s2 = Vector512.ShiftLeft(ni - n1 + bias, 23).AsSingle();
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), p * s1 * s2, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sqrt(Vector512<float> x) => Vector512.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Rsqrt(Vector512<float> x) => Vector512<float>.One / Vector512.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Abs(Vector512<float> x) => Vector512.Abs(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        var e = Exp(-Vector512.Abs(x));
        var d = Vector512<float>.One + e;
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One / d, e / d);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erf(Vector512<float> x)
    {
        var t = Vector512.Abs(x);
        var s = x * x;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(ErfP6), s, Vector512.Create(ErfP5));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP4));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP3));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP2));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP1));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP0));
        var small = Vector512.FusedMultiplyAdd(p, x, x);
        var u = Vector512.Min(t, Vector512.Create(ErfClamp));
        var q = Vector512.FusedMultiplyAdd(Vector512.Create(ErfQ8), u, Vector512.Create(ErfQ7));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ6));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ5));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ4));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ3));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ2));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ1));
        q = Vector512.FusedMultiplyAdd(q, u, Vector512.Create(ErfQ0));
        var large = Vector512.CopySign(Vector512<float>.One - Exp(q), x);
        var r = Vector512.ConditionalSelect(Vector512.LessThan(t, Vector512.Create(ErfSplit)), small, large);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Erfc(Vector512<float> x)
    {
        var t = Vector512.Abs(x);
        var s = x * x;
        var p = Vector512.FusedMultiplyAdd(Vector512.Create(ErfP6), s, Vector512.Create(ErfP5));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP4));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP3));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP2));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP1));
        p = Vector512.FusedMultiplyAdd(p, s, Vector512.Create(ErfP0));
        var small = Vector512<float>.One - Vector512.FusedMultiplyAdd(p, x, x);
        var u = Vector512.Min(t, Vector512.Create(ErfcClamp));
        var hi = u * u;
        var lo = Vector512.FusedMultiplyAdd(u, u, -hi);
        var v = u - Vector512.Create(ErfcCenter);
        var h = Vector512.FusedMultiplyAdd(Vector512.Create(ErfcH11), v, Vector512.Create(ErfcH10));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH9));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH8));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH7));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH6));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH5));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH4));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH3));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH2));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH1));
        h = Vector512.FusedMultiplyAdd(h, v, Vector512.Create(ErfcH0));
        var r = Vector512<float>.One / u;
        var w = r * r;
        var g = Vector512.FusedMultiplyAdd(Vector512.Create(ErfcG7), w, Vector512.Create(ErfcG6));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG5));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG4));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG3));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG2));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG1));
        g = Vector512.FusedMultiplyAdd(g, w, Vector512.Create(ErfcG0));
        g /= u;
        var e = Exp(-hi) * Vector512.ConditionalSelect(Vector512.LessThan(u, Vector512.Create(ErfcSplit2)), h, g);
        e = Vector512.FusedMultiplyAdd(-lo, e, e);
        var large = Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<float>.Zero), e, Vector512.Create(2f) - e);
        var result = Vector512.ConditionalSelect(Vector512.LessThan(t, Vector512.Create(ErfcSplit1)), small, large);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        var t = Vector512.Abs(x);
        var s = x * x;
        var r = Vector512.FusedMultiplyAdd(Vector512.Create(TanhR6), s, Vector512.Create(TanhR5));
        r = Vector512.FusedMultiplyAdd(r, s, Vector512.Create(TanhR4));
        r = Vector512.FusedMultiplyAdd(r, s, Vector512.Create(TanhR3));
        r = Vector512.FusedMultiplyAdd(r, s, Vector512.Create(TanhR2));
        r = Vector512.FusedMultiplyAdd(r, s, Vector512.Create(TanhR1));
        r = Vector512.FusedMultiplyAdd(r, s, Vector512.Create(TanhR0));
        var small = Vector512.FusedMultiplyAdd(r * s, x, x);
        var e = Exp(t + t);
        var large = Vector512.CopySign(Vector512<float>.One - Vector512.Create(2f) / (e + Vector512<float>.One), x);
        return Vector512.ConditionalSelect(Vector512.LessThan(t, Vector512.Create(TanhSplit)), small, large);
    }

    // ------------------------------------------------------------------ horizontal reductions (fixed order)

    /// <summary>(v0 + v1) + (v2 + v3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector128<float> v) => (v.GetElement(0) + v.GetElement(1)) + (v.GetElement(2) + v.GetElement(3));

    /// <summary>Sum(lower + upper).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector256<float> v) => Sum(v.GetLower() + v.GetUpper());

    /// <summary>Sum(lower + upper).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Sum(Vector512<float> v) => Sum(v.GetLower() + v.GetUpper());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector128<float> v) => MathF.Max(MathF.Max(v.GetElement(0), v.GetElement(1)), MathF.Max(v.GetElement(2), v.GetElement(3)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector256<float> v) => MaxAcross(Vector128.Max(v.GetLower(), v.GetUpper()));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float MaxAcross(Vector512<float> v) => MaxAcross(Vector256.Max(v.GetLower(), v.GetUpper()));
}
