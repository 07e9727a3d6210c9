using IXC25.Backends.Cpu;
using IXC25.Conformance.Ops;
using IXC25.Graph;
using IXC25.Runtime.Compare;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Tests;

/// <summary>Deterministic random data, weights in every dtype, and the checks shared by the fast-path tests.</summary>
internal static class FastPathData
{
    public static readonly DType[] WeightTypes = [DType.F32, DType.BF16, DType.F16];

    /// <summary>Normal(0, scale) values from a fixed seed (the op inputs' generator, shared with the conformance kit).</summary>
    public static float[] Normal(int n, int seed, double scale = 1.0) => OpData.Normal(n, seed, scale);

    /// <summary>A weight tensor of the given dtype rounded from <paramref name="values"/>.</summary>
    public static NamedTensor Weight(string name, DType dtype, long[] shape, float[] values) => OpData.Weight(name, dtype, shape, values);

    /// <summary>A random [rows, cols] weight of the given dtype with N(0, 1/cols) entries (unit-scale outputs).</summary>
    public static NamedTensor RandomWeight(string name, DType dtype, int rows, int cols, int seed) =>
        Weight(name, dtype, [rows, cols], Normal(rows * cols, seed, 1 / Math.Sqrt(Math.Max(1, cols))));

    public static ToleranceInfo Tolerance(string op) => ToleranceTable.Find(OpCatalog.Find(op)!.Tolerance)!;

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference, ToleranceInfo tol, string what)
    {
        var r = TensorComparer.Compare(actual, reference, tol);
        Assert.True(r.Pass, $"{what}: {r}");
    }

    public static void AssertBitEqual(float[] a, float[] b, string what)
    {
        Assert.Equal(a.Length, b.Length);
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i]))
                Assert.Fail($"{what}: element {i} differs ({a[i]:R} vs {b[i]:R})");
    }

    /// <summary>Output buffer with sentinel regions of <see cref="Pad"/> elements on both sides.</summary>
    public const int Pad = 37;
    public const float Sentinel = -12345.678f;

    public static float[] Guarded(int n)
    {
        var a = new float[n + 2 * Pad];
        a.AsSpan().Fill(Sentinel);
        return a;
    }

    public static Span<float> Inner(float[] guarded) => guarded.AsSpan(Pad, guarded.Length - 2 * Pad);

    public static void AssertSentinels(float[] guarded, string what)
    {
        for (int i = 0; i < Pad; i++)
        {
            Assert.True(guarded[i] == Sentinel, $"{what}: sentinel before the output overwritten at {i - Pad}");
            Assert.True(guarded[^(i + 1)] == Sentinel, $"{what}: sentinel after the output overwritten at +{i}");
        }
    }
}
