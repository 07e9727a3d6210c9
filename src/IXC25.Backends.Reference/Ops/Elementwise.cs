namespace IXC25.Backends.Reference;

public static partial class RefOps
{
    /// <summary>y = a + b (one float32 rounding: bit-exact with torch).</summary>
    public static void Add(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Length(b.Length, a.Length, "add", "b");
        Length(y.Length, a.Length, "add", "y");
        for (int i = 0; i < a.Length; i++) y[i] = a[i] + b[i];
    }

    /// <summary>Exact GELU: y = 0.5 x (1 + erf(x / sqrt 2)), evaluated in double.</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        Length(y.Length, x.Length, "gelu", "y");
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(0.5 * v * (1.0 + ErfMath.Erf(v * 0.70710678118654752440)));
        }
    }

    /// <summary>CLIP quick_gelu: y = x * sigmoid(1.702 x), evaluated in double.</summary>
    public static void QuickGelu(ReadOnlySpan<float> x, Span<float> y)
    {
        Length(y.Length, x.Length, "quick_gelu", "y");
        for (int i = 0; i < x.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(v * Sigmoid(1.702 * v));
        }
    }

    /// <summary>InternLM2 MLP gate: y = silu(a) * b = a * sigmoid(a) * b, evaluated in double.</summary>
    public static void SiluGate(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y)
    {
        Length(b.Length, a.Length, "silu_gate", "b");
        Length(y.Length, a.Length, "silu_gate", "y");
        for (int i = 0; i < a.Length; i++)
        {
            double v = a[i];
            y[i] = (float)(v * Sigmoid(v) * b[i]);
        }
    }

    /// <summary>1 / (1 + e^-x), stable for large |x|.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1.0 / (1.0 + Math.Exp(-x)) : Math.Exp(x) / (1.0 + Math.Exp(x));
}

/// <summary>
/// erf in double precision (.NET has none): W. J. Cody's rational Chebyshev approximations
/// (Math. Comp. 1969), relative error below 1e-15 on the whole line. NaN propagates, erf(±inf) = ±1.
/// </summary>
public static class ErfMath
{
    private static readonly double[] A = [3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02, 3.20937758913846947e03, 1.85777706184603153e-1];
    private static readonly double[] B = [2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03, 2.84423683343917062e03];
    private static readonly double[] C = [5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01, 2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03, 2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8];
    private static readonly double[] D = [1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02, 1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03, 3.43936767414372164e03, 1.23033935480374942e03];
    private static readonly double[] P = [3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1, 1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2];
    private static readonly double[] Q = [2.56852019228982242e00, 1.87295284992346047e00, 5.27905102951428412e-1, 6.05183413124413191e-2, 2.33520497626869185e-3];
    private const double SqrPi = 5.6418958354775628695e-1; // 1/sqrt(pi)

    public static double Erf(double x)
    {
        if (double.IsNaN(x)) return x;
        double y = Math.Abs(x);
        if (y <= 0.46875)
        {
            double z = y > 1.11e-16 ? y * y : 0;
            double xnum = A[4] * z, xden = z;
            for (int i = 0; i < 3; i++) { xnum = (xnum + A[i]) * z; xden = (xden + B[i]) * z; }
            return x * (xnum + A[3]) / (xden + B[3]);
        }
        if (y >= 6.0) return x > 0 ? 1.0 : -1.0;
        double r = 1.0 - ErfcLarge(y);
        return x < 0 ? -r : r;
    }

    /// <summary>erfc(x) = 1 - erf(x) without the cancellation of that difference: relative error about
    /// 1e-15 down to the double underflow (x about 26.5). NaN propagates, erfc(-inf) = 2, erfc(inf) = 0.</summary>
    public static double Erfc(double x)
    {
        if (double.IsNaN(x)) return x;
        double y = Math.Abs(x);
        if (y <= 0.46875) return 1.0 - Erf(x);
        double e = y >= 26.6 ? 0.0 : ErfcLarge(y);
        return x > 0 ? e : 2.0 - e;
    }

    /// <summary>erfc(y) for 0.46875 &lt; y &lt; 26.6 (Cody's second and third ranges).</summary>
    private static double ErfcLarge(double y)
    {
        double erfc;
        if (y <= 4.0)
        {
            double xnum = C[8] * y, xden = y;
            for (int i = 0; i < 7; i++) { xnum = (xnum + C[i]) * y; xden = (xden + D[i]) * y; }
            erfc = (xnum + C[7]) / (xden + D[7]);
        }
        else
        {
            double z = 1.0 / (y * y);
            double xnum = P[5] * z, xden = z;
            for (int i = 0; i < 4; i++) { xnum = (xnum + P[i]) * z; xden = (xden + Q[i]) * z; }
            erfc = z * (xnum + P[4]) / (xden + Q[4]);
            erfc = (SqrPi - erfc) / y;
        }
        // erfc(y) = exp(-y^2) * R(y), with y^2 split to keep precision
        double ysq = Math.Truncate(y * 16.0) / 16.0;
        double del = (y - ysq) * (y + ysq);
        return Math.Exp(-ysq * ysq) * Math.Exp(-del) * erfc;
    }
}
