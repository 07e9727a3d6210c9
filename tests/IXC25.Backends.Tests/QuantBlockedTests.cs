using FsCheck;
using FsCheck.Fluent;
using IXC25.Backends.Cpu.Quant;
using IXC25.Runtime.Quant;

namespace IXC25.Backends.Tests;

/// <summary>
/// The register-blocked kernels (QuantEmitter.Blocked.cs, QuantDriver.Blocked.cs) of each 256-bit tier this process
/// accelerates: the four-row GEMV and the tiled GEMM against the scalar definition (<see cref="Quantizer.Dot"/>) bit for
/// bit, over ragged block counts (partial groups of 8), weight rows that are not multiples of the tile, x rows that are
/// not multiples of the tile, bias and NaN activation blocks, and thread counts; and the property that the GEMM of T rows
/// equals T separate GEMVs (batch composition: a row's result never depends on which rows share its tile).
/// Category Isa: ./test.sh re-runs these with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class QuantBlockedTests
{
    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 33, 37, 128];

    private delegate void Path(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads);

    private static float[] Random(int n, int seed, float scale) => QuantReference.Random(n, seed, scale);

    private static float[] Reference(QuantizedMatrix m, float[] x, int T, float[]? bias) => QuantReference.Linear(m, x, T, bias);

    private static string? Diff(float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            bool ok = float.IsNaN(expected[i]) ? float.IsNaN(actual[i]) : BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]);
            if (!ok) return $"y[{i}] = {actual[i]:R}, expected {expected[i]:R}";
        }
        return null;
    }

    private static void Same(float[] expected, float[] actual, string what)
    {
        string? d = Diff(expected, actual);
        Assert.True(d is null, $"{what}: {d}");
    }

    /// <summary>Runs a path into a y with a wider row stride (ldy = N + 3) guarded by sentinels, returns the [T, N] part.</summary>
    private static float[] Run(Path path, float[] x, int T, QuantizedMatrix m, float[]? bias, int threads, string what)
    {
        int N = m.Rows, ldy = N + 3;
        var y = new float[T * ldy + 1];
        Array.Fill(y, 12345f);
        fixed (float* yp = y) path(x, T, m, bias, yp, ldy, threads);
        var r = new float[T * N];
        for (int t = 0; t < T; t++)
        {
            for (int i = N; i < ldy; i++) Assert.True(y[t * ldy + i] == 12345f, $"{what}: wrote past row {t}");
            Array.Copy(y, t * ldy, r, t * N, N);
        }
        Assert.True(y[^1] == 12345f, $"{what}: wrote past the end");
        return r;
    }

    private static void CheckTier<TK>(Path gemv, Path gemm) where TK : struct, IQuantBlockedKernels
    {
        if (!TK.IsSupported) return;
        int seed = 100;
        foreach (var fmt in QuantFormat.All)
            foreach (int nb in BlockCounts)
                foreach (var (T, N) in new[] { (1, 11), (2, 4), (3, 9), (5, 13), (9, 67) })
                {
                    int K = nb * 32;
                    var w = Random(N * K, seed++, 0.05f);
                    var x = Random(T * K, seed++, 2f);
                    if (nb == 9 && T >= 3) x[K + 5 * 32 + 7] = float.NaN; // one NaN activation block in row 1
                    float[]? bias = nb % 2 == 0 ? Random(N, seed++, 1f) : null;
                    var m = Quantizer.Quantize(fmt, w, N, K, "w");
                    var expected = Reference(m, x, T, bias);
                    int threads = 1 + seed % 3;
                    string what = $"{TK.Name} {fmt} T={T} N={N} K={K} threads={threads}";
                    Same(expected, Run(gemv, x, T, m, bias, threads, what + " gemv"), what + " gemv");
                    Same(expected, Run(gemm, x, T, m, bias, threads, what + " gemm"), what + " gemm");
                }
    }

    [Fact]
    public void EveryBlockedTierEqualsTheScalarDefinitionBitwise()
    {
        CheckTier<VnniKernels>(QuantDriver.Gemv<VnniKernels>, QuantDriver.Gemm<VnniKernels>);
        CheckTier<Avx2Kernels>(QuantDriver.Gemv<Avx2Kernels>, QuantDriver.Gemm<Avx2Kernels>);
    }

    [Fact]
    public void ExtremeValuesStayExact()
    {
        // full-scale weights and activations: the largest block sums (q8_0: 32 * 127 * 127, panel values up to 255)
        foreach (var fmt in QuantFormat.All)
        {
            int nb = 19, K = nb * 32, N = 9, T = 6;
            var w = new float[N * K];
            var x = new float[T * K];
            for (int i = 0; i < w.Length; i++) w[i] = (i / 7 % 3 == 0 ? -1f : 1f) * (i % 32 == 0 ? 1f : 0.999f);
            for (int i = 0; i < x.Length; i++) x[i] = (i / 5 % 2 == 0 ? -3f : 3f) * (i % 32 == 1 ? 1f : 0.9999f);
            var m = Quantizer.Quantize(fmt, w, N, K, "w");
            var expected = Reference(m, x, T, null);
            foreach (var (name, gemv, gemm, ok) in Tiers())
                if (ok)
                {
                    Same(expected, Run(gemv, x, T, m, null, 2, name), $"{name} {fmt} gemv");
                    Same(expected, Run(gemm, x, T, m, null, 2, name), $"{name} {fmt} gemm");
                }
        }
    }

    private static (string Name, Path Gemv, Path Gemm, bool Supported)[] Tiers() =>
    [
        (VnniKernels.Name, QuantDriver.Gemv<VnniKernels>, QuantDriver.Gemm<VnniKernels>, VnniKernels.IsSupported),
        (Avx2Kernels.Name, QuantDriver.Gemv<Avx2Kernels>, QuantDriver.Gemm<Avx2Kernels>, Avx2Kernels.IsSupported),
    ];

    [Fact]
    public void TheGemmOfTRowsIsTSeparateGemvs()
    {
        var gen =
            from T in Gen.Choose(1, 13)
            from N in Gen.Choose(1, 70)
            from nb in Gen.Choose(1, 40)
            from threads in Gen.Choose(1, 4)
            from fmt in Gen.Elements(0, 1)
            from seed in Gen.Choose(0, 1 << 20)
            select (T, N, nb, threads, fmt, seed);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            var (T, N, nb, threads, fi, seed) = c;
            int K = nb * 32;
            var m = Quantizer.Quantize(QuantFormat.All[fi], Random(N * K, seed, 0.03f), N, K, "w");
            var x = Random(T * K, seed + 1, 1.5f);
            var bias = seed % 3 == 0 ? Random(N, seed + 2, 1f) : null;
            foreach (var (name, gemv, gemm, ok) in Tiers())
            {
                if (!ok) continue;
                var together = Run(gemm, x, T, m, bias, threads, name);
                var apart = new float[T * N];
                for (int t = 0; t < T; t++)
                    Array.Copy(Run(gemv, x[(t * K)..((t + 1) * K)], 1, m, bias, 1 + (t + threads) % 3, name), 0, apart, t * N, N);
                string? d = Diff(apart, together);
                if (d is not null) throw new Xunit.Sdk.XunitException($"{name} {QuantFormat.All[fi]} T={T} N={N} nb={nb} threads={threads}: GEMM {d} (GEMVs)");
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(60));
    }

    [Fact]
    public void VectorActivationQuantizationIsTheDefinition()
    {
        // random blocks, exact ties (amax 127: id = 1, so x.5 values are halfway cases), zeros, -0, an infinity, a NaN, subnormals
        int nb = 40, K = nb * 32;
        var x = Random(K, 9, 3f);
        for (int j = 0; j < 32; j++) x[32 + j] = j == 0 ? 127f : (j % 2 == 0 ? 1 : -1) * (j + 0.5f);
        for (int j = 0; j < 32; j++) x[64 + j] = j % 2 == 0 ? 0f : -0f;
        x[96 + 3] = float.PositiveInfinity;
        x[128 + 9] = float.NaN;
        for (int j = 0; j < 32; j++) x[160 + j] = (j - 16) * 1e-42f;
        for (int j = 0; j < 32; j++) x[192 + j] = (j - 16) * (1f / 127f) * 0.5f * 127f / 16f;
        var (q1, s1, u1) = (new sbyte[K], new float[nb], new int[nb]);
        var (q2, s2, u2) = (new sbyte[K], new float[nb], new int[nb]);
        Quantizer.QuantizeActivations(x, q1, s1, u1);
        ActivationQuantizer.Quantize(x, q2, s2, u2);
        Assert.Equal(q1, q2);
        Assert.Equal(u1, u2);
        Assert.Equal(s1.Select(BitConverter.SingleToUInt32Bits), s2.Select(BitConverter.SingleToUInt32Bits));
    }

    [Fact]
    public void TheDriverPicksTheBlockedPathsAndStaysThreadInvariant()
    {
        var fmt = QuantFormat.Q8_0;
        int K = 32 * 45, N = 77;
        var m = Quantizer.Quantize(fmt, Random(N * K, 5, 0.02f), N, K, "w");
        foreach (int T in new[] { 1, 6, QuantDriver.GemmMinRows + 1 }) // the GEMV, the GEMV over several rows, the GEMM
        {
            var x = Random(T * K, 6 + T, 1f);
            var expected = Reference(m, x, T, null);
            foreach (int threads in new[] { 1, 2, 3, 8 })
            {
                var y = new float[T * N];
                new IXC25.Backends.Cpu.CpuOps(threads).QuantLinear(x, T, m, null, y);
                Same(expected, y, $"T={T} {threads} threads ({QuantDriver.Tier})");
            }
        }
    }
}
