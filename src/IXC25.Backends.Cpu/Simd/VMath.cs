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
/// <para>Each vector algorithm is written once, generic over the width (<see cref="IFloatVector{TV}"/>, one small
/// adapter per width in VMath.Widths.cs); the public Vector128/256/512 overloads, which the generated kernels call
/// by name, instantiate it. The scalar tier keeps its own form (branches, MathF.Exp).</para>
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

    // ------------------------------------------------------------------ Vector128/256/512<float>: the entry points

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Exp(Vector128<float> x) => Exp<Vector128<float>, W128>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Exp(Vector256<float> x) => Exp<Vector256<float>, W256>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Exp(Vector512<float> x) => Exp<Vector512<float>, W512>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sigmoid(Vector128<float> x) => Sigmoid<Vector128<float>, W128>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sigmoid(Vector256<float> x) => Sigmoid<Vector256<float>, W256>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sigmoid(Vector512<float> x) => Sigmoid<Vector512<float>, W512>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Erf(Vector128<float> x) => Erf<Vector128<float>, W128>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Erf(Vector256<float> x) => Erf<Vector256<float>, W256>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Erf(Vector512<float> x) => Erf<Vector512<float>, W512>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Erfc(Vector128<float> x) => Erfc<Vector128<float>, W128>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Erfc(Vector256<float> x) => Erfc<Vector256<float>, W256>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Erfc(Vector512<float> x) => Erfc<Vector512<float>, W512>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Tanh(Vector128<float> x) => Tanh<Vector128<float>, W128>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Tanh(Vector256<float> x) => Tanh<Vector256<float>, W256>(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Tanh(Vector512<float> x) => Tanh<Vector512<float>, W512>(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Rsqrt(Vector128<float> x) => Vector128<float>.One / Vector128.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Rsqrt(Vector256<float> x) => Vector256<float>.One / Vector256.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Rsqrt(Vector512<float> x) => Vector512<float>.One / Vector512.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Sqrt(Vector128<float> x) => Vector128.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Sqrt(Vector256<float> x) => Vector256.Sqrt(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Sqrt(Vector512<float> x) => Vector512.Sqrt(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Abs(Vector128<float> x) => Vector128.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Abs(Vector256<float> x) => Vector256.Abs(x);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Abs(Vector512<float> x) => Vector512.Abs(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Max(Vector128<float> a, Vector128<float> b) => Vector128.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Max(Vector256<float> a, Vector256<float> b) => Vector256.Max(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Max(Vector512<float> a, Vector512<float> b) => Vector512.Max(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector128<float> Min(Vector128<float> a, Vector128<float> b) => Vector128.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector256<float> Min(Vector256<float> a, Vector256<float> b) => Vector256.Min(a, b);
    [MethodImpl(MethodImplOptions.AggressiveInlining)] public static Vector512<float> Min(Vector512<float> a, Vector512<float> b) => Vector512.Min(a, b);

    // ------------------------------------------------------------------ the vector algorithms, once for every width

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Exp<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var xc = W.Min(W.Max(x, ExpMin), ExpMax);
        var n = W.Round(W.Mul(xc, W.Create(ExpLog2E)));
        var r = W.Fma(W.Neg(n), W.Create(ExpLn2Hi), xc);
        r = W.Fma(W.Neg(n), W.Create(ExpLn2Lo), r);
        var p = W.Fma(W.Create(ExpC6), r, W.Create(ExpC5));
        p = W.Fma(p, r, W.Create(ExpC4));
        p = W.Fma(p, r, W.Create(ExpC3));
        p = W.Fma(p, r, W.Create(ExpC2));
        p = W.Fma(p, r, W.Create(ExpC1));
        p = W.Fma(p, r, W.Create(ExpC0));
        var y = W.ScaleByPow2(p, n);
        return W.Select(W.Equal(x, x), y, x); // branch values before the mask: AVX-512 keeps it in a mask register
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Sigmoid<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var e = Exp<TV, W>(W.Neg(W.Abs(x)));
        var d = W.Add(W.Create(1f), e);
        var pos = W.Div(W.Create(1f), d);
        var neg = W.Div(e, d);
        return W.Select(W.GreaterThanOrEqual(x, W.Create(0f)), pos, neg);
    }

    /// <summary>x + x P(x^2): erf for |x| &lt; ErfSplit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ErfSmall<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var s = W.Mul(x, x);
        var p = W.Fma(W.Create(ErfP6), s, W.Create(ErfP5));
        p = W.Fma(p, s, W.Create(ErfP4));
        p = W.Fma(p, s, W.Create(ErfP3));
        p = W.Fma(p, s, W.Create(ErfP2));
        p = W.Fma(p, s, W.Create(ErfP1));
        p = W.Fma(p, s, W.Create(ErfP0));
        return W.Fma(p, x, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Erf<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var t = W.Abs(x);
        var small = ErfSmall<TV, W>(x);
        var u = W.Min(t, ErfClamp);
        var q = W.Fma(W.Create(ErfQ8), u, W.Create(ErfQ7));
        q = W.Fma(q, u, W.Create(ErfQ6));
        q = W.Fma(q, u, W.Create(ErfQ5));
        q = W.Fma(q, u, W.Create(ErfQ4));
        q = W.Fma(q, u, W.Create(ErfQ3));
        q = W.Fma(q, u, W.Create(ErfQ2));
        q = W.Fma(q, u, W.Create(ErfQ1));
        q = W.Fma(q, u, W.Create(ErfQ0));
        var large = W.CopySign(W.Sub(W.Create(1f), Exp<TV, W>(q)), x);
        var r = W.Select(W.LessThan(t, W.Create(ErfSplit)), small, large);
        return W.Select(W.Equal(x, x), r, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Erfc<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var t = W.Abs(x);
        var small = W.Sub(W.Create(1f), ErfSmall<TV, W>(x));
        var u = W.Min(t, ErfcClamp);
        var hi = W.Mul(u, u);
        var lo = W.Fma(u, u, W.Neg(hi));
        var v = W.Sub(u, W.Create(ErfcCenter));
        var h = W.Fma(W.Create(ErfcH11), v, W.Create(ErfcH10));
        h = W.Fma(h, v, W.Create(ErfcH9));
        h = W.Fma(h, v, W.Create(ErfcH8));
        h = W.Fma(h, v, W.Create(ErfcH7));
        h = W.Fma(h, v, W.Create(ErfcH6));
        h = W.Fma(h, v, W.Create(ErfcH5));
        h = W.Fma(h, v, W.Create(ErfcH4));
        h = W.Fma(h, v, W.Create(ErfcH3));
        h = W.Fma(h, v, W.Create(ErfcH2));
        h = W.Fma(h, v, W.Create(ErfcH1));
        h = W.Fma(h, v, W.Create(ErfcH0));
        var r = W.Div(W.Create(1f), u);
        var w = W.Mul(r, r);
        var g = W.Fma(W.Create(ErfcG7), w, W.Create(ErfcG6));
        g = W.Fma(g, w, W.Create(ErfcG5));
        g = W.Fma(g, w, W.Create(ErfcG4));
        g = W.Fma(g, w, W.Create(ErfcG3));
        g = W.Fma(g, w, W.Create(ErfcG2));
        g = W.Fma(g, w, W.Create(ErfcG1));
        g = W.Fma(g, w, W.Create(ErfcG0));
        g = W.Div(g, u);
        var eh = Exp<TV, W>(W.Neg(hi));
        var e = W.Mul(eh, W.Select(W.LessThan(u, W.Create(ErfcSplit2)), h, g));
        e = W.Fma(W.Neg(lo), e, e);
        var reflected = W.Sub(W.Create(2f), e);
        var large = W.Select(W.GreaterThan(x, W.Create(0f)), e, reflected);
        var result = W.Select(W.LessThan(t, W.Create(ErfcSplit1)), small, large);
        return W.Select(W.Equal(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Tanh<TV, W>(TV x) where TV : struct where W : IFloatVector<TV>
    {
        var t = W.Abs(x);
        var s = W.Mul(x, x);
        var r = W.Fma(W.Create(TanhR6), s, W.Create(TanhR5));
        r = W.Fma(r, s, W.Create(TanhR4));
        r = W.Fma(r, s, W.Create(TanhR3));
        r = W.Fma(r, s, W.Create(TanhR2));
        r = W.Fma(r, s, W.Create(TanhR1));
        r = W.Fma(r, s, W.Create(TanhR0));
        var small = W.Fma(W.Mul(r, s), x, x);
        var e = Exp<TV, W>(W.Add(t, t));
        var large = W.CopySign(W.Sub(W.Create(1f), W.Div(W.Create(2f), W.Add(e, W.Create(1f)))), x);
        return W.Select(W.LessThan(t, W.Create(TanhSplit)), small, large);
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
