using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Reference;
using IXC25.Backends.Cpu.Simd;
using IXC25.Runtime;
using static IXC25.Backends.Tests.KernelTestData;

namespace IXC25.Backends.Tests;

/// <summary>
/// Every generated CPU kernel, at every accelerated tier, against its scalar reference (RefOps) within the
/// op's tolerance class: all lengths 0 .. 2W+1 (W = 16) and a few big ragged ones, random data with NaN and
/// infinities at random positions, sentinel guards around outputs, NaN guards around inputs, in-place calls.
/// test.sh runs this class again with AVX-512, AVX2 and all hardware intrinsics switched off.
/// </summary>
[Trait("Category", "Isa")]
public class SimdKernelTests
{
    private delegate void Unary(KernelTier tier, ReadOnlySpan<float> x, Span<float> y);
    private delegate void Binary(KernelTier tier, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);
    private delegate void RefUnary(ReadOnlySpan<float> x, Span<float> y);
    private delegate void RefBinary(ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> y);

    private static bool Off(string isa) => Environment.GetEnvironmentVariable("DOTNET_Enable" + isa) == "0";

    /// <summary>The tier the DOTNET_Enable* switches of this process leave as the widest.</summary>
    private static KernelTier ExpectedTier()
    {
        if (Off("HWIntrinsic")) return KernelTier.Scalar;
        if (RuntimeInformation.ProcessArchitecture != Architecture.X64)
            return Vector256.IsHardwareAccelerated ? KernelTier.V256 : KernelTier.V128; // arm64: NEON, 128 bits
        if (Off("AVX2")) return KernelTier.V128;
        if (Off("AVX512")) return Avx2.IsSupported ? KernelTier.V256 : KernelTier.V128;
        // nothing switched off: the widest the hardware has (the runtime may decline Vector512 where AVX-512 throttles)
        return Vector512.IsHardwareAccelerated ? KernelTier.V512 : Avx2.IsSupported ? KernelTier.V256 : KernelTier.V128;
    }

    [Fact]
    public void BestTierFollowsTheEnabledIsa()
    {
        var expected = ExpectedTier();
        Assert.Equal(expected, KernelTiers.Best);
        foreach (var tier in new[] { GeluKernel.BestTier, QuickGeluKernel.BestTier, SiluGateKernel.BestTier, AddKernel.BestTier,
                     RmsNormKernel.BestTier, LayerNormKernel.BestTier, SoftmaxKernel.BestTier, RopeKernel.BestTier })
            Assert.Equal(expected, tier);
        Assert.Contains(KernelTier.Scalar, Tiers);
        Assert.Equal(expected, Tiers[^1]);
        if (Off("HWIntrinsic")) Assert.Equal([KernelTier.Scalar], Tiers);
        if (Off("AVX512")) Assert.DoesNotContain(KernelTier.V512, Tiers);
        if (Off("AVX2")) Assert.DoesNotContain(KernelTier.V256, Tiers);
    }

    [Fact]
    public void RunDispatchesToTheBestTier()
    {
        var rng = new Random(5);
        int n = 4099;
        var x = Random(rng, 3 * n);
        var w = Random(rng, n);
        var viaRun = new float[x.Length];
        var viaTier = new float[x.Length];
        RmsNormKernel.Run(x, n, w, 1e-6f, viaRun);
        RmsNormKernel.Run(KernelTiers.Best, x, n, w, 1e-6f, viaTier);
        Assert.True(BitEqual(viaRun, viaTier));
        SoftmaxKernel.Run(x, n, viaRun);
        SoftmaxKernel.Run(KernelTiers.Best, x, n, viaTier);
        Assert.True(BitEqual(viaRun, viaTier));
    }

    // ------------------------------------------------------------------ map

    [Theory]
    [InlineData("gelu")]
    [InlineData("quick_gelu")]
    public void UnaryMapMatchesReference(string op)
    {
        (Unary kernel, RefUnary reference, double scale) = op switch
        {
            "gelu" => ((Unary)GeluKernel.Run, (RefUnary)RefOps.Gelu, 3.0),
            _ => ((Unary)QuickGeluKernel.Run, (RefUnary)RefOps.QuickGelu, 4.0),
        };
        var tol = Tolerance(op);
        foreach (var tier in Tiers)
            foreach (int n in Lengths())
                foreach (bool specials in new[] { false, true })
                {
                    string what = $"{op} {tier} n={n}{(specials ? " with NaN/inf" : "")}";
                    var rng = new Random(n * 7919 + (int)tier * 31 + (specials ? 1 : 0));
                    var x = Random(rng, n, scale);
                    if (specials) Specials(rng, x);
                    var expected = new float[n];
                    reference(x, expected);

                    var y = Guarded(n);
                    kernel(tier, Poisoned(x, out _), Inner(y));
                    CheckGuards(y, what);
                    AssertClose(Inner(y), expected, tol, what);

                    var inPlace = Guarded(n);
                    x.CopyTo(Inner(inPlace));
                    kernel(tier, Inner(inPlace), Inner(inPlace));
                    CheckGuards(inPlace, what + " in place");
                    Assert.True(BitEqual(Inner(inPlace), Inner(y)), what + ": in place differs from out of place");
                }
    }

    [Theory]
    [InlineData("silu_gate")]
    [InlineData("add")]
    public void BinaryMapMatchesReference(string op)
    {
        (Binary kernel, RefBinary reference) = op switch
        {
            "silu_gate" => ((Binary)SiluGateKernel.Run, (RefBinary)RefOps.SiluGate),
            _ => ((Binary)AddKernel.Run, (RefBinary)RefOps.Add),
        };
        var tol = Tolerance(op);
        foreach (var tier in Tiers)
            foreach (int n in Lengths())
                foreach (bool specials in new[] { false, true })
                {
                    string what = $"{op} {tier} n={n}{(specials ? " with NaN/inf" : "")}";
                    var rng = new Random(n * 7919 + (int)tier * 31 + (specials ? 1 : 0));
                    var a = Random(rng, n, 4);
                    var b = Random(rng, n, 2);
                    if (specials) { Specials(rng, a); Specials(rng, b); }
                    var expected = new float[n];
                    reference(a, b, expected);

                    var y = Guarded(n);
                    kernel(tier, Poisoned(a, out _), Poisoned(b, out _), Inner(y));
                    CheckGuards(y, what);
                    AssertClose(Inner(y), expected, tol, what);

                    var intoA = Guarded(n);
                    a.CopyTo(Inner(intoA));
                    kernel(tier, Inner(intoA), b, Inner(intoA));
                    CheckGuards(intoA, what + " into a");
                    Assert.True(BitEqual(Inner(intoA), Inner(y)), what + ": y = a in place differs");

                    var intoB = Guarded(n);
                    b.CopyTo(Inner(intoB));
                    kernel(tier, a, Inner(intoB), Inner(intoB));
                    CheckGuards(intoB, what + " into b");
                    Assert.True(BitEqual(Inner(intoB), Inner(y)), what + ": y = b in place differs");
                }
    }

    // ------------------------------------------------------------------ rows

    /// <summary>Three rows: clean, with NaN/inf, clean (so one bad row must not leak into the others).</summary>
    private static float[] ThreeRows(Random rng, int n, double scale)
    {
        var x = Random(rng, 3 * n, scale);
        Specials(rng, x.AsSpan(n, n), 0.05);
        return x;
    }

    [Fact]
    public void RmsNormMatchesReference()
    {
        var tol = Tolerance("rms_norm");
        foreach (var tier in Tiers)
            foreach (int n in Lengths())
            {
                string what = $"rms_norm {tier} n={n}";
                var rng = new Random(n * 7919 + (int)tier);
                var x = ThreeRows(rng, n, 3);
                var w = Random(rng, n, 1);
                const float eps = 1e-6f;
                var expected = new float[x.Length];
                RefOps.RmsNorm(x, 3, n, w, eps, expected);

                var y = Guarded(x.Length);
                RmsNormKernel.Run(tier, Poisoned(x, out _), n, Poisoned(w, out _), eps, Inner(y));
                CheckGuards(y, what);
                AssertClose(Inner(y), expected, tol, what);

                var inPlace = Guarded(x.Length);
                x.CopyTo(Inner(inPlace));
                RmsNormKernel.Run(tier, Inner(inPlace), n, w, eps, Inner(inPlace));
                CheckGuards(inPlace, what + " in place");
                Assert.True(BitEqual(Inner(inPlace), Inner(y)), what + ": in place differs");
            }
    }

    [Fact]
    public void LayerNormMatchesReference()
    {
        var tol = Tolerance("layer_norm");
        foreach (var tier in Tiers)
            foreach (int n in Lengths())
            {
                string what = $"layer_norm {tier} n={n}";
                var rng = new Random(n * 7919 + (int)tier);
                var x = ThreeRows(rng, n, 3);
                for (int i = 0; i < x.Length; i++) x[i] += 0.5f; // a non-zero mean
                var w = Random(rng, n, 1);
                var b = Random(rng, n, 1);
                const float eps = 1e-5f;
                var expected = new float[x.Length];
                RefOps.LayerNorm(x, 3, n, w, b, eps, expected);

                var y = Guarded(x.Length);
                LayerNormKernel.Run(tier, Poisoned(x, out _), n, Poisoned(w, out _), Poisoned(b, out _), eps, Inner(y));
                CheckGuards(y, what);
                AssertClose(Inner(y), expected, tol, what);

                var inPlace = Guarded(x.Length);
                x.CopyTo(Inner(inPlace));
                LayerNormKernel.Run(tier, Inner(inPlace), n, w, b, eps, Inner(inPlace));
                CheckGuards(inPlace, what + " in place");
                Assert.True(BitEqual(Inner(inPlace), Inner(y)), what + ": in place differs");
            }
    }

    [Fact]
    public void SoftmaxMatchesReference()
    {
        var tol = Tolerance("softmax");
        foreach (var tier in Tiers)
            foreach (int n in Lengths())
            {
                string what = $"softmax {tier} n={n}";
                var rng = new Random(n * 7919 + (int)tier);
                // rows: clean; NaN/inf; partly masked with -inf (finite result); all -inf (NaN); +inf (NaN)
                const int rows = 5;
                var x = Random(rng, rows * n, 6);
                Specials(rng, x.AsSpan(n, n), 0.05);
                for (int i = 0; i < n; i++) if (rng.NextDouble() < 0.4 && i != n / 2) x[2 * n + i] = float.NegativeInfinity;
                x.AsSpan(3 * n, n).Fill(float.NegativeInfinity);
                if (n > 0) x[4 * n + rng.Next(n)] = float.PositiveInfinity;
                var expected = new float[x.Length];
                RefOps.Softmax(x, rows, n, expected);

                var y = Guarded(x.Length);
                SoftmaxKernel.Run(tier, Poisoned(x, out _), n, Inner(y));
                CheckGuards(y, what);
                AssertClose(Inner(y), expected, tol, what);

                var inPlace = Guarded(x.Length);
                x.CopyTo(Inner(inPlace));
                SoftmaxKernel.Run(tier, Inner(inPlace), n, Inner(inPlace));
                CheckGuards(inPlace, what + " in place");
                Assert.True(BitEqual(Inner(inPlace), Inner(y)), what + ": in place differs");
            }
    }

    [Fact]
    public void RopeMatchesReference()
    {
        var tol = Tolerance("rope");
        foreach (var tier in Tiers)
            foreach (int half in Lengths().Where(h => h > 0))
            {
                int d = 2 * half;
                string what = $"rope {tier} d={d}";
                var rng = new Random(half * 7919 + (int)tier);
                const int rows = 3;
                var x = ThreeRows(rng, d, 2);
                var cos = new float[rows * d];
                var sin = new float[rows * d];
                for (int i = 0; i < cos.Length; i++)
                {
                    double angle = rng.NextDouble() * 100;
                    cos[i] = (float)Math.Cos(angle);
                    sin[i] = (float)Math.Sin(angle);
                }
                var expected = new float[x.Length];
                RefOps.Rope(x, 1, rows, d, cos, sin, expected);

                var y = Guarded(x.Length);
                RopeKernel.Run(tier, Poisoned(x, out _), d, Poisoned(cos, out _), Poisoned(sin, out _), Inner(y));
                CheckGuards(y, what);
                AssertClose(Inner(y), expected, tol, what);

                var inPlace = Guarded(x.Length);
                x.CopyTo(Inner(inPlace));
                RopeKernel.Run(tier, Inner(inPlace), d, cos, sin, Inner(inPlace));
                CheckGuards(inPlace, what + " in place");
                Assert.True(BitEqual(Inner(inPlace), Inner(y)), what + ": in place differs");
            }
    }

    // ------------------------------------------------------------------ argument checks

    [Fact]
    public void KernelsRejectBadArgumentsWithOneLineErrors()
    {
        var x = new float[12];
        var y = new float[12];
        foreach (var tier in Tiers)
        {
            Assert.Contains("'weight' has 5 elements, expected 4", Assert.Throws<IxcException>(() => RmsNormKernel.Run(tier, x, 4, new float[5], 1e-6f, y)).Message);
            Assert.Contains("not a whole number of rows of 5", Assert.Throws<IxcException>(() => SoftmaxKernel.Run(tier, x, 5, y)).Message);
            Assert.Contains("'y' has 11 elements, expected 12", Assert.Throws<IxcException>(() => GeluKernel.Run(tier, x, new float[11])).Message);
            Assert.Contains("must be positive and even", Assert.Throws<IxcException>(() => RopeKernel.Run(tier, x, 3, x, x, y)).Message);
            Assert.Contains("shifted by", Assert.Throws<IxcException>(() => AddKernel.Run(tier, x.AsSpan(0, 8), x.AsSpan(0, 8), x.AsSpan(1, 8))).Message);
        }
    }
}
