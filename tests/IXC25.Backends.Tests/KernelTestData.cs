using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Simd;
using IXC25.Runtime.Compare;
using IXC25.Runtime.Spec;

namespace IXC25.Backends.Tests;

/// <summary>Inputs, guarded outputs and comparisons for the kernel cross-checks.</summary>
internal static class KernelTestData
{
    /// <summary>Elements of guard on each side of an output; they must keep <see cref="Sentinel"/>.</summary>
    public const int Guard = 19;

    /// <summary>A NaN with a payload no kernel produces: a guard element that changed was written.</summary>
    public static readonly float Sentinel = BitConverter.Int32BitsToSingle(0x7FC0BEEF);

    /// <summary>Every length 0 .. 2W+1 for the widest tier (W = 16) and a few big, ragged ones.</summary>
    public static IEnumerable<int> Lengths() => Enumerable.Range(0, 2 * 16 + 2).Concat([63, 64, 65, 127, 1000, 4099]);

    /// <summary>Tiers to check: every accelerated one (the ISA runs of test.sh switch wide ones off).</summary>
    public static IReadOnlyList<KernelTier> Tiers => KernelTiers.Accelerated;

    /// <summary>Values of scale <paramref name="scale"/> (normal-ish), some exact zeros and -0.</summary>
    public static float[] Random(Random rng, int n, double scale = 2.0)
    {
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble();
            a[i] = u < 0.02 ? 0f : u < 0.04 ? -0f : (float)(scale * Gaussian(rng));
        }
        return a;
    }

    public static double Gaussian(Random rng) =>
        Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    /// <summary>Puts NaN, +inf and -inf at random positions (each with probability <paramref name="p"/>; at least one of each when n &gt;= 3).</summary>
    public static void Specials(Random rng, Span<float> a, double p = 0.03) => IXC25.Conformance.Ops.OpData.Specials(rng, a, p);

    /// <summary>An output buffer with guards: use <c>Inner</c>, then <see cref="CheckGuards"/>.</summary>
    public static float[] Guarded(int n)
    {
        var buf = new float[n + 2 * Guard];
        buf.AsSpan().Fill(Sentinel);
        return buf;
    }

    public static Span<float> Inner(float[] guarded) => guarded.AsSpan(Guard, guarded.Length - 2 * Guard);

    /// <summary>An input placed between NaN guards: a kernel reading past it pulls NaN into its results.</summary>
    public static ReadOnlySpan<float> Poisoned(float[] values, out float[] backing)
    {
        backing = new float[values.Length + 2 * Guard];
        backing.AsSpan().Fill(float.NaN);
        values.CopyTo(backing.AsSpan(Guard));
        return backing.AsSpan(Guard, values.Length);
    }

    public static void CheckGuards(float[] guarded, string what)
    {
        int sentinel = BitConverter.SingleToInt32Bits(Sentinel), n = guarded.Length - 2 * Guard;
        for (int g = 0; g < Guard; g++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(guarded[g]) == sentinel, $"{what}: guard element {g - Guard} before the output was overwritten");
            Assert.True(BitConverter.SingleToInt32Bits(guarded[Guard + n + g]) == sentinel, $"{what}: guard element {g} after the output was overwritten");
        }
    }

    public static ToleranceInfo Tolerance(string op) => ToleranceTable.Find(OpCatalog.Find(op)!.Tolerance)!;

    public static void AssertClose(ReadOnlySpan<float> actual, ReadOnlySpan<float> reference, ToleranceInfo tol, string what)
    {
        var r = TensorComparer.Compare(actual, reference, tol);
        Assert.True(r.Pass, $"{what}: {r}");
    }

    public static bool BitEqual(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        if (a.Length != b.Length) return false;
        for (int i = 0; i < a.Length; i++)
            if (BitConverter.SingleToInt32Bits(a[i]) != BitConverter.SingleToInt32Bits(b[i])) return false;
        return true;
    }
}
