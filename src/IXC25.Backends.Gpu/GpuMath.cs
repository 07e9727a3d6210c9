using ILGPU.Algorithms;
using IXC25.Backends.Cpu.Simd;

namespace IXC25.Backends.Gpu;

/// <summary>
/// Scalar math for the generated ILGPU kernels: the functions kernel expressions may call, with the same
/// algorithms and coefficients as the CPU's <see cref="VMath"/> (constants shared), built on XMath.
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
        float p = VMath.ErfP6 * s + VMath.ErfP5;
        p = p * s + VMath.ErfP4;
        p = p * s + VMath.ErfP3;
        p = p * s + VMath.ErfP2;
        p = p * s + VMath.ErfP1;
        p = p * s + VMath.ErfP0;
        return p * x + x;
    }

    public static float Erf(float x)
    {
        float t = XMath.Abs(x);
        if (t < VMath.ErfSplit) return ErfSmall(x);
        if (XMath.IsNaN(x)) return x;
        t = XMath.Min(t, VMath.ErfClamp);
        float q = VMath.ErfQ8 * t + VMath.ErfQ7;
        q = q * t + VMath.ErfQ6;
        q = q * t + VMath.ErfQ5;
        q = q * t + VMath.ErfQ4;
        q = q * t + VMath.ErfQ3;
        q = q * t + VMath.ErfQ2;
        q = q * t + VMath.ErfQ1;
        q = q * t + VMath.ErfQ0;
        float r = 1f - XMath.Exp(q);
        return x < 0f ? -r : r;
    }

    public static float Erfc(float x)
    {
        float t = XMath.Abs(x);
        if (t < VMath.ErfcSplit1) return 1f - ErfSmall(x);
        if (XMath.IsNaN(x)) return x;
        float u = XMath.Min(t, VMath.ErfcClamp);
        float r;
        if (u < VMath.ErfcSplit2)
        {
            float v = u - VMath.ErfcCenter;
            r = VMath.ErfcH11 * v + VMath.ErfcH10;
            r = r * v + VMath.ErfcH9;
            r = r * v + VMath.ErfcH8;
            r = r * v + VMath.ErfcH7;
            r = r * v + VMath.ErfcH6;
            r = r * v + VMath.ErfcH5;
            r = r * v + VMath.ErfcH4;
            r = r * v + VMath.ErfcH3;
            r = r * v + VMath.ErfcH2;
            r = r * v + VMath.ErfcH1;
            r = r * v + VMath.ErfcH0;
        }
        else
        {
            float s = 1f / u;
            float w = s * s;
            r = VMath.ErfcG7 * w + VMath.ErfcG6;
            r = r * w + VMath.ErfcG5;
            r = r * w + VMath.ErfcG4;
            r = r * w + VMath.ErfcG3;
            r = r * w + VMath.ErfcG2;
            r = r * w + VMath.ErfcG1;
            r = r * w + VMath.ErfcG0;
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
        if (t < VMath.TanhSplit)
        {
            float s = x * x;
            float r = VMath.TanhR6 * s + VMath.TanhR5;
            r = r * s + VMath.TanhR4;
            r = r * s + VMath.TanhR3;
            r = r * s + VMath.TanhR2;
            r = r * s + VMath.TanhR1;
            r = r * s + VMath.TanhR0;
            return r * s * x + x;
        }
        float e = XMath.Exp(t + t);
        float y = 1f - 2f / (e + 1f);
        return x < 0f ? -y : y;
    }
}
