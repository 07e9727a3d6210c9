using ILGPU.Algorithms;
using IXC25.Runtime.Numerics;

namespace IXC25.Backends.Gpu;

/// <summary>
/// Scalar math for the generated ILGPU kernels: the functions kernel expressions may call, with the same
/// algorithms and coefficients as the CPU's VMath (<see cref="MathCoefficients"/> shared), built on XMath.
/// Kept to what ILGPU compiles: no System.Half, no MathF.CopySign. Fused multiply-adds are written as
/// a * b + c (a backend may contract them); erfc splits x^2 exactly by truncating x to 1/16 instead.
/// </summary>
public static class GpuMath
{
    public static float Exp(float x) => XMath.Exp(x);

    public static float Sqrt(float x) => XMath.Sqrt(x);

    /// <summary>1 / sqrt(x) (not the approximate reciprocal square root).</summary>
    public static float Rsqrt(float x) => 1f / XMath.Sqrt(x);

    public static float Abs(float x) => XMath.Abs(x);

    /// <summary>IEEE 754-2019 maximum: NaN propagates, +0 &gt; -0.</summary>
    public static float Max(float a, float b)
    {
        if (XMath.IsNaN(a) || XMath.IsNaN(b)) return a + b;
        if (a == b) return a == 0f && 1f / a < 0f ? b : a;
        return a > b ? a : b;
    }

    /// <summary>IEEE 754-2019 minimum: NaN propagates, -0 &lt; +0.</summary>
    public static float Min(float a, float b)
    {
        if (XMath.IsNaN(a) || XMath.IsNaN(b)) return a + b;
        if (a == b) return a == 0f && 1f / a > 0f ? b : a;
        return a < b ? a : b;
    }

    public static float Sigmoid(float x)
    {
        float e = XMath.Exp(-XMath.Abs(x));
        float d = 1f + e;
        return x >= 0f ? 1f / d : e / d;
    }

    private static float ErfSmall(float x)
    {
        float s = x * x;
        float p = MathCoefficients.ErfP6 * s + MathCoefficients.ErfP5;
        p = p * s + MathCoefficients.ErfP4;
        p = p * s + MathCoefficients.ErfP3;
        p = p * s + MathCoefficients.ErfP2;
        p = p * s + MathCoefficients.ErfP1;
        p = p * s + MathCoefficients.ErfP0;
        return p * x + x;
    }

    public static float Erf(float x)
    {
        float t = XMath.Abs(x);
        if (t < MathCoefficients.ErfSplit) return ErfSmall(x);
        if (XMath.IsNaN(x)) return x;
        t = XMath.Min(t, MathCoefficients.ErfClamp);
        float q = MathCoefficients.ErfQ8 * t + MathCoefficients.ErfQ7;
        q = q * t + MathCoefficients.ErfQ6;
        q = q * t + MathCoefficients.ErfQ5;
        q = q * t + MathCoefficients.ErfQ4;
        q = q * t + MathCoefficients.ErfQ3;
        q = q * t + MathCoefficients.ErfQ2;
        q = q * t + MathCoefficients.ErfQ1;
        q = q * t + MathCoefficients.ErfQ0;
        float r = 1f - XMath.Exp(q);
        return x < 0f ? -r : r;
    }

    public static float Erfc(float x)
    {
        float t = XMath.Abs(x);
        if (t < MathCoefficients.ErfcSplit1) return 1f - ErfSmall(x);
        if (XMath.IsNaN(x)) return x;
        float u = XMath.Min(t, MathCoefficients.ErfcClamp);
        float r;
        if (u < MathCoefficients.ErfcSplit2)
        {
            float v = u - MathCoefficients.ErfcCenter;
            r = MathCoefficients.ErfcH11 * v + MathCoefficients.ErfcH10;
            r = r * v + MathCoefficients.ErfcH9;
            r = r * v + MathCoefficients.ErfcH8;
            r = r * v + MathCoefficients.ErfcH7;
            r = r * v + MathCoefficients.ErfcH6;
            r = r * v + MathCoefficients.ErfcH5;
            r = r * v + MathCoefficients.ErfcH4;
            r = r * v + MathCoefficients.ErfcH3;
            r = r * v + MathCoefficients.ErfcH2;
            r = r * v + MathCoefficients.ErfcH1;
            r = r * v + MathCoefficients.ErfcH0;
        }
        else
        {
            float s = 1f / u;
            float w = s * s;
            r = MathCoefficients.ErfcG7 * w + MathCoefficients.ErfcG6;
            r = r * w + MathCoefficients.ErfcG5;
            r = r * w + MathCoefficients.ErfcG4;
            r = r * w + MathCoefficients.ErfcG3;
            r = r * w + MathCoefficients.ErfcG2;
            r = r * w + MathCoefficients.ErfcG1;
            r = r * w + MathCoefficients.ErfcG0;
            r /= u;
        }
        // exp(-u^2) = exp(-hi) exp(-lo) with hi = uh^2 exact (uh = u truncated to 1/16) and lo = (u - uh)(u + uh)
        float uh = XMath.Floor(u * 16f) / 16f;
        float e = XMath.Exp(-uh * uh) * XMath.Exp(-(u - uh) * (u + uh)) * r;
        return x > 0f ? e : 2f - e;
    }

    public static float Tanh(float x)
    {
        float t = XMath.Abs(x);
        if (t < MathCoefficients.TanhSplit)
        {
            float s = x * x;
            float r = MathCoefficients.TanhR6 * s + MathCoefficients.TanhR5;
            r = r * s + MathCoefficients.TanhR4;
            r = r * s + MathCoefficients.TanhR3;
            r = r * s + MathCoefficients.TanhR2;
            r = r * s + MathCoefficients.TanhR1;
            r = r * s + MathCoefficients.TanhR0;
            return r * s * x + x;
        }
        float e = XMath.Exp(t + t);
        float y = 1f - 2f / (e + 1f);
        return x < 0f ? -y : y;
    }
}
