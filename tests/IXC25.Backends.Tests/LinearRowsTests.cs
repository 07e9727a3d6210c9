using IXC25.Backends.Cpu.Gemm;
using IXC25.Graph;
using IXC25.Runtime.Tensors;
using static IXC25.Backends.Tests.FastPathData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The row-exact GEMM entry of batched decode (<see cref="GemmDriver.LinearRows"/>): every row of a call with 1..16 rows is
/// bit-identical to the same row computed alone by <see cref="GemmDriver.Linear(float*, nint, int, WeightView, float*, float*, nint, int)"/>
/// (m = 1, the decode path), for every weight dtype, ragged K (dot-block tails) and N (weight-row tails), with and without
/// bias, and for every thread count. Category Isa: ./test.sh re-runs it with AVX-512, AVX2 and all intrinsics switched off,
/// so each tier's generated row-exact kernels (DotRowsAcc, DotRowsEnd) are checked against that tier's one-row kernel.
/// </summary>
[Trait("Category", "Isa")]
public unsafe class LinearRowsTests
{
    private static readonly int[] Ks = [1, 17, 64, 96, 131, 300, 1100, 1600];
    private static readonly int[] Ns = [1, 3, 9, 17];

    private static float[] Alone(float[] x, int m, int K, NamedTensor w, float[]? bias, int N, int threads)
    {
        var y = new float[m * N];
        fixed (float* xp = x, yp = y, bp = bias)
        fixed (byte* wp = w.Data.Bytes)
            for (int t = 0; t < m; t++)
                GemmDriver.Linear(xp + t * K, K, 1, new WeightView(wp, w.DType, N, K, K), bp, yp + t * N, N, threads);
        return y;
    }

    private static float[] Together(float[] x, int m, int K, NamedTensor w, float[]? bias, int N, int threads)
    {
        var y = Guarded(m * N);
        fixed (float* xp = x, yp = y, bp = bias)
        fixed (byte* wp = w.Data.Bytes)
            GemmDriver.LinearRows(xp, K, m, new WeightView(wp, w.DType, N, K, K), bp, yp + Pad, N, threads);
        AssertSentinels(y, $"rows m={m} K={K} N={N}");
        return Inner(y).ToArray();
    }

    [Fact]
    public void EveryRowOfABatchEqualsTheRowAloneBitwise()
    {
        int seed = 0;
        foreach (var dtype in WeightTypes)
            foreach (int K in Ks)
                foreach (int N in Ns)
                {
                    seed++;
                    var w = RandomWeight("w", dtype, N, K, seed);
                    float[]? bias = (seed & 1) == 0 ? Normal(N, seed + 100, 0.1) : null;
                    var x = Normal(16 * K, seed + 200);
                    var alone = Alone(x, 16, K, w, bias, N, 1);
                    for (int m = 1; m <= 16; m++)
                    {
                        var together = Together(x, m, K, w, bias, N, 1 + m % 3);
                        AssertBitEqual(together, alone.AsSpan(0, m * N).ToArray(), $"{dtype} m={m} K={K} N={N} ({GemmDriver.Tier})");
                    }
                }
    }

    [Fact]
    public void ARowDoesNotDependOnItsNeighbours()
    {
        const int K = 131, N = 9;
        var w = RandomWeight("w", DType.BF16, N, K, 5);
        var x = Normal(8 * K, 6);
        var first = Together(x, 8, K, w, null, N, 2);
        // same row 3, every other row replaced (including NaN and infinity)
        var y = Normal(8 * K, 7);
        y[0] = float.NaN;
        y[K + 2] = float.PositiveInfinity;
        x.AsSpan(3 * K, K).CopyTo(y.AsSpan(3 * K, K));
        var second = Together(y, 8, K, w, null, N, 3);
        AssertBitEqual(second.AsSpan(3 * N, N).ToArray(), first.AsSpan(3 * N, N).ToArray(), "row 3 with other neighbours");
    }

    [Fact]
    public void RowExactOpsEqualEachRowAloneIncludingTheZeroMaskQuirk()
    {
        const int IN = 70, OUT = 45, R = 8, T = 11;
        var ops = new IXC25.Backends.Cpu.CpuOps(2);
        foreach (var dtype in WeightTypes)
        {
            var w = RandomWeight("w", dtype, OUT, IN, 1);
            var a = RandomWeight("a", dtype, R, IN, 2);
            var b = RandomWeight("b", dtype, OUT, R, 3);
            var x = Normal(T * IN, 4);
            x[3 * IN + 5] = float.PositiveInfinity; // row 3 unmasked: alone, its quirk B(A x) * 0 turns it to NaN
            x[6 * IN + 1] = float.NaN;
            byte[] mask = [0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 0];
            var together = new float[T * OUT];
            ops.PloraLinear(x, T, w, a, b, mask, 1f, together, rowExact: true);
            var linear = new float[T * OUT];
            ops.Linear(x, T, w, null, linear, rowExact: true);
            for (int t = 0; t < T; t++)
            {
                var alone = new float[OUT];
                ops.PloraLinear(x.AsSpan(t * IN, IN), 1, w, a, b, mask.AsSpan(t, 1), 1f, alone);
                AssertBitEqual(together.AsSpan(t * OUT, OUT).ToArray(), alone, $"plora_linear row {t} {dtype}");
                var one = new float[OUT];
                ops.Linear(x.AsSpan(t * IN, IN), 1, w, null, one);
                AssertBitEqual(linear.AsSpan(t * OUT, OUT).ToArray(), one, $"linear row {t} {dtype}");
            }
        }
    }

    [Fact]
    public void ZeroKGivesTheBias()
    {
        var w = RandomWeight("w", DType.F32, 3, 0, 1);
        float[] bias = [1, 2, 3];
        var y = Together([], 2, 0, w, bias, 3, 1);
        Assert.Equal([1f, 2, 3, 1, 2, 3], y);
    }
}
