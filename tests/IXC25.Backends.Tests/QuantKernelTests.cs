using IXC25.Backends.Cpu;
using IXC25.Backends.Cpu.Quant;
using IXC25.Runtime.Quant;

namespace IXC25.Backends.Tests;

/// <summary>
/// The generated integer dot kernels (QuantKernels.g.cs) against the scalar definition (<see cref="Quantizer.Dot"/>):
/// every tier this process accelerates, bit for bit, over ragged block counts (tails of the 8-block groups and of the
/// 16 lanes), with and without bias, NaN activations; the driver over thread counts. Category Isa: ./test.sh
/// re-runs these with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class QuantKernelTests
{
    private static readonly int[] BlockCounts = [1, 2, 3, 7, 8, 9, 15, 16, 17, 33, 37, 128];

    private static float[] Random(int n, int seed, float scale) => QuantReference.Random(n, seed, scale);

    private static float[] Reference(QuantizedMatrix m, float[] x, int T, float[]? bias) => QuantReference.Linear(m, x, T, bias);

    private static void Same(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            bool ok = float.IsNaN(expected[i]) ? float.IsNaN(actual[i]) : BitConverter.SingleToUInt32Bits(expected[i]) == BitConverter.SingleToUInt32Bits(actual[i]);
            Assert.True(ok, $"{what}: y[{i}] = {actual[i]:R}, the definition gives {expected[i]:R}");
        }
    }

    private static void CheckTier<TK>(int threads) where TK : struct, IQuantKernels
    {
        if (!TK.IsSupported) return;
        int seed = 1;
        foreach (var fmt in QuantFormat.All)
            foreach (int nb in BlockCounts)
                foreach (int T in new[] { 1, 3 })
                {
                    int K = nb * 32, N = 11;
                    var w = Random(N * K, seed++, 0.05f);
                    var x = Random(T * K, seed++, 2f);
                    if (nb == 9 && T == 3) x[K + 5 * 32 + 7] = float.NaN; // one NaN activation block in row 1
                    float[]? bias = nb % 2 == 0 ? Random(N, seed++, 1f) : null;
                    var m = Quantizer.Quantize(fmt, w, N, K, "w");
                    var expected = Reference(m, x, T, bias);
                    var y = new float[T * N];
                    fixed (float* yp = y) QuantDriver.Linear<TK>(x, T, m, bias, yp, N, threads);
                    Same(expected, y, $"{TK.Name} {fmt} T={T} K={K} threads={threads}");
                }
    }

    [Fact]
    public void EveryAcceleratedTierEqualsTheScalarDefinitionBitwise()
    {
        CheckTier<ScalarQuantKernels>(1);
        CheckTier<Ssse3Kernels>(1);
        CheckTier<Avx2Kernels>(2);
        CheckTier<VnniKernels>(3);
    }

    [Fact]
    public void TheDriverIsBitIdenticalOverThreadCounts()
    {
        var fmt = QuantFormat.Q4_0;
        int K = 32 * 45, N = 77, T = 5;
        var m = Quantizer.Quantize(fmt, Random(N * K, 5, 0.02f), N, K, "w");
        var x = Random(T * K, 6, 1f);
        float[]? first = null;
        foreach (int threads in new[] { 1, 2, 3, 8 })
        {
            var y = new float[T * N];
            new CpuOps(threads).QuantLinear(x, T, m, null, y);
            if (first is null) first = y;
            else Same(first, y, $"{threads} threads ({QuantDriver.Tier})");
        }
        Same(Reference(m, x, T, null), first!, QuantDriver.Tier);
    }

    [Fact]
    public void TheGeneratedCatalogIsTheRuntimeFormats()
    {
        Assert.Equal(QuantFormat.All.Count, QuantCatalog.Formats.Length);
        foreach (var f in QuantFormat.All)
        {
            var g = QuantCatalog.Formats[f.Id];
            Assert.Equal((f.Name, f.GgmlType, f.Bits, f.BlockBytes, f.Offset, f.QMin, f.QMax), (g.Name, g.GgmlType, g.Bits, g.BlockBytes, g.Offset, g.QMin, g.QMax));
        }
        Assert.Equal(QuantFormat.Block, QuantCatalog.Block);
    }
}
