using System.Runtime.Intrinsics;
using IXC25.Backends.Reference;
using IXC25.Backends.Cpu.Simd;
using Xunit.Abstractions;

namespace IXC25.Backends.Tests;

/// <summary>
/// Accuracy of VMath's functions, in ulp of the correctly rounded float result, at every accelerated width,
/// on a dense sweep plus special values (double-precision references: ErfMath, Math.Tanh, Math.Exp).
/// </summary>
[Trait("Category", "Isa")]
public class VMathTests(ITestOutputHelper output)
{
    private delegate float Scalar(float x);

    /// <summary>f applied at every accelerated tier: lanes of one vector at a time (Scalar: MathF path).</summary>
    private static float[] Apply(KernelTier tier, string f, float[] x)
    {
        var y = new float[x.Length];
        int w = KernelTiers.Width(tier);
        var bx = new float[16];
        var by = new float[16];
        for (int i = 0; i < x.Length; i += w)
        {
            int n = Math.Min(w, x.Length - i);
            Array.Clear(bx);
            Array.Copy(x, i, bx, 0, n);
            switch (tier)
            {
                case KernelTier.V128: Vec128(f, Vector128.Create<float>(bx)).CopyTo(by); break;
                case KernelTier.V256: Vec256(f, Vector256.Create<float>(bx)).CopyTo(by); break;
                case KernelTier.V512: Vec512(f, Vector512.Create<float>(bx)).CopyTo(by); break;
                default: by[0] = Scal(f, bx[0]); break;
            }
            Array.Copy(by, 0, y, i, n);
        }
        return y;
    }

    private static float Scal(string f, float x) => f switch
    {
        "erf" => VMath.Erf(x), "erfc" => VMath.Erfc(x), "tanh" => VMath.Tanh(x), "sigmoid" => VMath.Sigmoid(x),
        "exp" => VMath.Exp(x), "rsqrt" => VMath.Rsqrt(x), _ => VMath.Sqrt(x),
    };

    private static Vector128<float> Vec128(string f, Vector128<float> x) => f switch
    {
        "erf" => VMath.Erf(x), "erfc" => VMath.Erfc(x), "tanh" => VMath.Tanh(x), "sigmoid" => VMath.Sigmoid(x),
        "exp" => VMath.Exp(x), "rsqrt" => VMath.Rsqrt(x), _ => VMath.Sqrt(x),
    };

    private static Vector256<float> Vec256(string f, Vector256<float> x) => f switch
    {
        "erf" => VMath.Erf(x), "erfc" => VMath.Erfc(x), "tanh" => VMath.Tanh(x), "sigmoid" => VMath.Sigmoid(x),
        "exp" => VMath.Exp(x), "rsqrt" => VMath.Rsqrt(x), _ => VMath.Sqrt(x),
    };

    private static Vector512<float> Vec512(string f, Vector512<float> x) => f switch
    {
        "erf" => VMath.Erf(x), "erfc" => VMath.Erfc(x), "tanh" => VMath.Tanh(x), "sigmoid" => VMath.Sigmoid(x),
        "exp" => VMath.Exp(x), "rsqrt" => VMath.Rsqrt(x), _ => VMath.Sqrt(x),
    };

    private static double Exact(string f, float x) => f switch
    {
        "erf" => ErfMath.Erf(x), "erfc" => ErfMath.Erfc(x), "tanh" => Math.Tanh(x), "sigmoid" => RefOps.Sigmoid(x),
        "exp" => Math.Exp(x), "rsqrt" => 1.0 / Math.Sqrt(x), _ => Math.Sqrt(x),
    };

    /// <summary>|a - exact| in units of the spacing of floats at the correctly rounded result (results below
    /// the smallest normal float count in units of the smallest normal's spacing: relative accuracy ends there).</summary>
    private static double Ulps(float a, double exact)
    {
        float r = (float)exact;
        float mag = Math.Max(Math.Abs(r), 1.17549435e-38f);
        double ulp = MathF.BitIncrement(mag) - mag;
        return Math.Abs(a - exact) / ulp;
    }

    private static float[] Sweep(float lo, float hi, int n)
    {
        var x = new float[n + 1];
        for (int i = 0; i <= n; i++) x[i] = (float)(lo + (hi - lo) * (double)i / n);
        return x;
    }

    /// <param name="maxUlp">Measured maximum (all tiers, this sweep) rounded up: the bound documented in VMath.</param>
    [Theory]
    [InlineData("erf", -6f, 6f, 1.25)]         // measured 1.02
    [InlineData("erfc", -4f, 9.5f, 3.5)]       // measured 3.42 (vector), 3.37 (scalar)
    [InlineData("tanh", -12f, 12f, 1.25)]      // measured 0.98
    [InlineData("sigmoid", -100f, 40f, 2.25)]  // measured 1.96
    [InlineData("exp", -87f, 88f, 1.0)]        // measured 0.87 (vector), 0.50 (MathF)
    [InlineData("rsqrt", 1e-30f, 1e5f, 1.5)]   // measured 1.46: two correctly rounded steps
    [InlineData("sqrt", 0f, 1e5f, 0.5)]        // correctly rounded
    public void AccurateAtEveryTier(string f, float lo, float hi, double maxUlp)
    {
        var x = Sweep(lo, hi, 400_000).Concat(Sweep(-1e-3f, 1e-3f, 20_000)).Where(v => v >= lo && v <= hi).ToArray();
        foreach (var tier in KernelTiers.Accelerated)
        {
            var y = Apply(tier, f, x);
            double worst = 0;
            float at = 0;
            for (int i = 0; i < x.Length; i++)
            {
                double u = Ulps(y[i], Exact(f, x[i]));
                if (u > worst) { worst = u; at = x[i]; }
            }
            output.WriteLine($"{f} {tier}: max {worst:0.###} ulp at x = {at:R}");
            Assert.True(worst <= maxUlp, $"{f} {tier}: {worst:0.###} ulp at x = {at:R} (bound {maxUlp})");
        }
    }

    [Theory]
    [InlineData("erf")]
    [InlineData("erfc")]
    [InlineData("tanh")]
    [InlineData("sigmoid")]
    [InlineData("exp")]
    [InlineData("rsqrt")]
    [InlineData("sqrt")]
    public void SpecialValuesMatchTheLimits(string f)
    {
        float[] x = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f, -0f, float.Epsilon, -float.Epsilon, float.MaxValue, -float.MaxValue, 1e-20f, -1e-20f, 200f, -200f];
        foreach (var tier in KernelTiers.Accelerated)
        {
            var y = Apply(tier, f, x);
            for (int i = 0; i < x.Length; i++)
            {
                double e = Exact(f, x[i]);
                string what = $"{f}({x[i]:R}) at {tier}: {y[i]:R}, exact {e:R}";
                if (double.IsNaN(e)) Assert.True(float.IsNaN(y[i]), what);
                else if (double.IsInfinity((float)e)) Assert.True(y[i] == (float)e, what);
                else Assert.True(Ulps(y[i], e) <= 4, what);
            }
        }
    }

    [Fact]
    public void HorizontalReductionsUseTheDocumentedOrder()
    {
        // values where the association order changes the float result
        float[] v = [1e8f, 1f, -1e8f, 1f, 3f, 1e-8f, 5f, -3f, 1e8f, 2f, -1e8f, 7f, 0.5f, 1f, 0.25f, -7f];
        Assert.Equal((v[0] + v[1]) + (v[2] + v[3]), VMath.Sum(Vector128.Create<float>(v)));
        Assert.Equal(((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7])), VMath.Sum(Vector256.Create<float>(v)));
        var lanes8 = new float[8];
        for (int i = 0; i < 8; i++) lanes8[i] = v[i] + v[i + 8];
        Assert.Equal(VMath.Sum(Vector256.Create<float>(lanes8)), VMath.Sum(Vector512.Create<float>(v)));
        Assert.Equal(7f, VMath.MaxAcross(Vector512.Create<float>(v.Select(a => Math.Min(a, 7f)).ToArray())));
        Assert.True(float.IsNaN(VMath.MaxAcross(Vector256.Create(1f, 2f, float.NaN, 4f, 5f, 6f, 7f, 8f))));
    }
}
