using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Backends.Reference;
using IXC25.Runtime.Tensors;
using static IXC25.Backends.Tests.FastPathData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The GEMM drivers (CpuOps.Linear, PloraLinear) against the scalar references on ragged and aligned shapes,
/// every weight dtype, with and without bias, with guards around the output (the driver's larger shapes and paths
/// are lines of the op table, OpTable/OpTableCases.cs); NaN/Inf propagation; sentinels; determinism over thread counts.
/// Category Isa: ./test.sh re-runs these with AVX-512, AVX2 and all intrinsics switched off.
/// </summary>
[Trait("Category", "Isa")]
public class LinearFastTests
{
    private static readonly int[] Sizes = [1, 5, 7, 11, 13, 31, 32, 33, 64, 100];

    private static void CheckLinear(CpuOps ops, int T, int IN, int OUT, DType dtype, bool withBias, int seed)
    {
        var x = Normal(T * IN, seed);
        var w = RandomWeight("w", dtype, OUT, IN, seed + 1);
        var b = withBias ? Weight("b", dtype, [OUT], Normal(OUT, seed + 2, 0.1)) : null;
        var expected = new float[T * OUT];
        RefOps.Linear(x, T, IN, w.ToFloat32(), OUT, b is null ? [] : b.ToFloat32(), expected);
        var y = Guarded(T * OUT);
        ops.Linear(x, T, w, b, Inner(y));
        string what = $"linear T={T} IN={IN} OUT={OUT} {dtype}{(withBias ? " + bias" : "")} ({GemmDriver.Tier}, {ops.Threads} threads)";
        AssertSentinels(y, what);
        AssertClose(Inner(y), expected, Tolerance("linear"), what);
    }

    [Fact]
    public void AllRaggedAndAlignedShapesMatchTheReference()
    {
        var ops = new CpuOps(3);
        int seed = 0;
        foreach (var dtype in WeightTypes)
            foreach (int T in Sizes)
                foreach (int IN in Sizes)
                    foreach (int OUT in Sizes)
                        CheckLinear(ops, T, IN, OUT, dtype, withBias: (seed++ & 1) == 1, seed * 7);
    }

    [Fact]
    public void ZeroSizedShapes()
    {
        var ops = new CpuOps(2);
        var w = RandomWeight("w", DType.BF16, 5, 0, 1);
        var b = Weight("b", DType.F32, [5], [1, 2, 3, 4, 5]);
        var y = new float[2 * 5];
        ops.Linear([], 2, w, b, y);
        Assert.Equal([1, 2, 3, 4, 5, 1, 2, 3, 4, 5], y);
        ops.Linear([], 0, RandomWeight("w", DType.F32, 5, 3, 1), null, []);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    [InlineData(20)]
    public void NanAndInfinityPropagateLikeTheReference(int T)
    {
        const int IN = 70, OUT = 45;
        var ops = new CpuOps(2);
        foreach (var dtype in WeightTypes)
        {
            var x = Normal(T * IN, 11);
            var wv = Normal(OUT * IN, 12, 1 / Math.Sqrt(IN));
            var rng = new Random(13);
            float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
            for (int i = 0; i < 3; i++) x[rng.Next(x.Length)] = specials[i];
            for (int i = 0; i < 3; i++) wv[rng.Next(wv.Length)] = specials[i];
            var w = Weight("w", dtype, [OUT, IN], wv);
            var expected = new float[T * OUT];
            RefOps.Linear(x, T, IN, w.ToFloat32(), OUT, [], expected);
            var y = new float[T * OUT];
            ops.Linear(x, T, w, null, y);
            Assert.Contains(expected, float.IsNaN);
            AssertClose(y, expected, Tolerance("linear"), $"linear with NaN/Inf T={T} {dtype}");
        }
    }

    [Fact]
    public void BitIdenticalForEveryThreadCountAndRun()
    {
        foreach (var (T, IN, OUT) in new[] { (1, 300, 130), (5, 300, 130), (40, 300, 130), (600, 300, 67) })
            foreach (var dtype in WeightTypes)
            {
                var x = Normal(T * IN, T);
                var w = RandomWeight("w", dtype, OUT, IN, OUT);
                var b = Weight("b", DType.F32, [OUT], Normal(OUT, 3));
                float[] Run(int threads)
                {
                    var y = new float[T * OUT];
                    new CpuOps(threads).Linear(x, T, w, b, y);
                    return y;
                }
                var one = Run(1);
                foreach (int threads in new[] { 2, 4, 1, 3 })
                    AssertBitEqual(one, Run(threads), $"linear T={T} {dtype} threads 1 vs {threads}");
            }
    }

    [Fact]
    public void DotPrefetchDistanceDoesNotChangeResults()
    {
        // the few-rows dot path prefetches weight rows ahead (GemmDriver.PrefetchGroups); it only hints the cache
        int saved = GemmDriver.PrefetchGroups;
        try
        {
            foreach (var (T, IN, OUT) in new[] { (1, 300, 1001), (3, 77, 530), (6, 1030, 64) })
                foreach (var dtype in WeightTypes)
                {
                    var x = Normal(T * IN, T + IN);
                    var w = RandomWeight("w", dtype, OUT, IN, OUT);
                    float[] Run(int groups, int threads)
                    {
                        GemmDriver.PrefetchGroups = groups;
                        var y = new float[T * OUT];
                        new CpuOps(threads).Linear(x, T, w, null, y);
                        return y;
                    }
                    var none = Run(0, 1);
                    foreach (var (groups, threads) in new[] { (1, 1), (2, 1), (2, 2), (7, 3), (300, 1) })
                        AssertBitEqual(none, Run(groups, threads), $"linear T={T} IN={IN} OUT={OUT} {dtype} prefetch 0 vs {groups} groups, {threads} threads");
                }
        }
        finally { GemmDriver.PrefetchGroups = saved; }
    }

    [Fact]
    public void WrongShapesAreInputErrors()
    {
        var ops = new CpuOps(1);
        var w = RandomWeight("w", DType.BF16, 4, 3, 1);
        Assert.Throws<IXC25.Runtime.IxcException>(() => ops.Linear(new float[5], 2, w, null, new float[8]));
        Assert.Throws<IXC25.Runtime.IxcException>(() => ops.Linear(new float[6], 2, w, null, new float[7]));
        Assert.Throws<IXC25.Runtime.IxcException>(() => ops.Linear(new float[6], 2, w, Weight("b", DType.F32, [3], [1, 2, 3]), new float[8]));
        Assert.Throws<IXC25.Runtime.IxcException>(() => ops.Linear(new float[6], 2, NamedTensor.I32("w", [4, 3], new int[12]), null, new float[8]));
    }

    // ------------------------------------------------------------------ Partial LoRA

    private static void CheckPlora(CpuOps ops, int T, int IN, int OUT, int R, string maskKind, DType dtype, int seed, bool specials = false)
    {
        var x = Normal(T * IN, seed);
        var w = RandomWeight("w", dtype, OUT, IN, seed + 1);
        var aValues = Normal(R * IN, seed + 2, 1 / Math.Sqrt(IN));
        var bValues = Normal(OUT * R, seed + 3, 1 / Math.Sqrt(R));
        if (specials) { bValues[1] = float.PositiveInfinity; aValues[R * IN - 1] = float.NaN; }
        var a = Weight("a", dtype, [R, IN], aValues);
        var b = Weight("b", dtype, [OUT, R], bValues);
        var rng = new Random(seed);
        var mask = new byte[T];
        for (int t = 0; t < T; t++)
            mask[t] = maskKind switch { "full" => 1, "empty" => 0, _ => (byte)(rng.Next(3) == 0 ? 0 : rng.Next(1, 255)) };
        if (maskKind == "partial" && T > 1) { mask[0] = 0; mask[T - 1] = 1; }
        var expected = new float[T * OUT];
        RefOps.PloraLinear(x, T, IN, w.ToFloat32(), OUT, a.ToFloat32(), b.ToFloat32(), R, mask, 1f, expected);
        var y = Guarded(T * OUT);
        ops.PloraLinear(x, T, w, a, b, mask, 1f, Inner(y));
        string what = $"plora_linear T={T} IN={IN} OUT={OUT} R={R} mask {maskKind} {dtype} ({GemmDriver.Tier})";
        AssertSentinels(y, what);
        AssertClose(Inner(y), expected, Tolerance("plora_linear"), what);
    }

    [Fact]
    public void PloraMatchesTheReference()
    {
        var ops = new CpuOps(2);
        int seed = 100;
        foreach (var dtype in WeightTypes)
            foreach (var (T, IN, OUT, R) in new[] { (1, 32, 33, 8), (5, 31, 48, 16), (7, 64, 31, 8), (13, 33, 100, 256), (33, 100, 64, 16), (40, 300, 70, 32) })
                foreach (var mask in new[] { "empty", "partial", "full" })
                    CheckPlora(ops, T, IN, OUT, R, mask, dtype, seed++);
    }

    [Fact]
    public void PloraEmptyMaskPropagatesNonFiniteLoraIntoRowZeroOnly()
    {
        // upstream adds B(A(x[0])) * 0 to row 0 when no row is masked: an infinite or NaN LoRA output turns row 0 into NaN
        var ops = new CpuOps(2);
        foreach (var mask in new[] { "empty", "partial" })
            CheckPlora(ops, 9, 40, 20, 8, mask, DType.F32, 7, specials: true);
    }

    [Fact]
    public void PloraWithEveryRowMaskedIsBitIdenticalToTheSeparateProducts()
    {
        // the all-masked, scale-1 path accumulates B(A x) straight into y: it must equal y + b computed step by step
        foreach (var dtype in WeightTypes)
            foreach (var (T, R) in new[] { (40, 32), (9, 256), (600, 16) })
            {
                const int IN = 70, OUT = 90;
                var ops = new CpuOps(2);
                var x = Normal(T * IN, T);
                var w = RandomWeight("w", dtype, OUT, IN, 1);
                var a = RandomWeight("a", dtype, R, IN, 2);
                var b = RandomWeight("b", dtype, OUT, R, 3);
                var mask = Enumerable.Repeat((byte)1, T).ToArray();
                var fused = new float[T * OUT];
                ops.PloraLinear(x, T, w, a, b, mask, 1f, fused);
                var y = new float[T * OUT];
                var ax = new float[T * R];
                var bx = new float[T * OUT];
                ops.Linear(x, T, w, null, y);
                ops.Linear(x, T, a, null, ax);
                ops.Linear(ax, T, b, null, bx);
                for (int i = 0; i < y.Length; i++) y[i] = y[i] + bx[i] * 1f;
                AssertBitEqual(y, fused, $"plora all-masked T={T} R={R} {dtype}");
            }
    }

    [Fact]
    public void PloraEmptyMaskWithAnOverflowingLoraProductGivesNaNInRowZero()
    {
        // finite LoRA weights whose product overflows: B(A x0) is infinite, times 0 is NaN (the skip must not apply)
        const int T = 3, IN = 16, OUT = 8, R = 4;
        var x = Normal(T * IN, 5);
        var w = RandomWeight("w", DType.F32, OUT, IN, 1);
        var a = Weight("a", DType.BF16, [R, IN], Enumerable.Repeat(3e37f, R * IN).ToArray());
        var b = Weight("b", DType.F32, [OUT, R], Enumerable.Repeat(2e30f, OUT * R).ToArray());
        var mask = new byte[T];
        var expected = new float[T * OUT];
        RefOps.PloraLinear(x, T, IN, w.ToFloat32(), OUT, a.ToFloat32(), b.ToFloat32(), R, mask, 1f, expected);
        var y = new float[T * OUT];
        new CpuOps(2).PloraLinear(x, T, w, a, b, mask, 1f, y);
        Assert.True(float.IsNaN(expected[0]));
        AssertClose(y, expected, Tolerance("plora_linear"), "plora_linear overflowing LoRA, empty mask");
    }

    [Fact]
    public void WeightMaxAbsSeesInfinityAndNaN()
    {
        foreach (var dtype in WeightTypes)
        {
            Assert.Equal(3f, WeightStats.MaxAbs(Weight("m", dtype, [5], [1, -3, 2, 0, -0.5f])));
            Assert.Equal(float.PositiveInfinity, WeightStats.MaxAbs(Weight("i", dtype, [3], [1, float.NegativeInfinity, 2])));
            Assert.True(float.IsNaN(WeightStats.MaxAbs(Weight("n", dtype, [40], Enumerable.Range(0, 40).Select(i => i == 33 ? float.NaN : i).ToArray()))));
        }
    }

    [Fact]
    public void PloraBitIdenticalForEveryThreadCount()
    {
        foreach (int T in new[] { 1, 6, 50 })
            foreach (var dtype in new[] { DType.BF16, DType.F32 })
            {
                var x = Normal(T * 200, T);
                var w = RandomWeight("w", dtype, 90, 200, 1);
                var a = RandomWeight("a", dtype, 32, 200, 2);
                var b = RandomWeight("b", dtype, 90, 32, 3);
                var mask = Enumerable.Range(0, T).Select(t => (byte)(t % 3 == 1 ? 0 : 1)).ToArray();
                float[] Run(int threads)
                {
                    var y = new float[T * 90];
                    new CpuOps(threads).PloraLinear(x, T, w, a, b, mask, 1f, y);
                    return y;
                }
                var one = Run(1);
                foreach (int threads in new[] { 2, 4, 1 })
                    AssertBitEqual(one, Run(threads), $"plora_linear T={T} {dtype} threads 1 vs {threads}");
            }
    }
}

/// <summary>The AVX-512 panel transpose is bit-identical to the generated scalar packer.</summary>
[Trait("Category", "Isa")]
public unsafe class FastPackTests
{
    [Theory]
    [InlineData(256, 300)]
    [InlineData(37, 40)]
    [InlineData(5, 64)]
    public void FastPackEqualsScalarPack(int kc, int ldw)
    {
        foreach (var dtype in new[] { DType.BF16, DType.F32 })
        {
            var w = FastPathData.Weight("w", dtype, [32, ldw], FastPathData.Normal(32 * ldw, kc));
            var fast = new float[kc * 32];
            var slow = new float[kc * 32];
            fixed (byte* wp = w.Data.Bytes)
            fixed (float* f = fast, s = slow)
            {
                bool used = FastPack.TryPackB(dtype, wp + 3 * dtype.Size(), ldw, 32, kc, f, 32);
                GemmPack.PackB(dtype, wp + 3 * dtype.Size(), ldw, 32, kc, s, 32);
                if (!used) return; // no AVX-512 here: nothing to compare
            }
            FastPathData.AssertBitEqual(slow, fast, $"pack {dtype} kc={kc}");
        }
    }
}
