using IXC25.Runtime.Tensors;

namespace IXC25.Conformance.Ops;

/// <summary>Deterministic random data for op inputs: normal values, weights rounded to a dtype, special values (NaN, ±inf).</summary>
public static class OpData
{
    /// <summary>Normal(0, scale) values from a fixed seed (Box-Muller).</summary>
    public static float[] Normal(int n, int seed, double scale = 1.0)
    {
        var rng = new Random(seed);
        var a = new float[n];
        for (int i = 0; i < n; i++)
        {
            double u = 1.0 - rng.NextDouble(), v = rng.NextDouble();
            a[i] = (float)(Math.Sqrt(-2 * Math.Log(u)) * Math.Cos(2 * Math.PI * v) * scale);
        }
        return a;
    }

    /// <summary>A weight tensor of the given dtype rounded from <paramref name="values"/>.</summary>
    public static NamedTensor Weight(string name, DType dtype, long[] shape, float[] values) => dtype switch
    {
        DType.BF16 => NamedTensor.BF16(name, shape, values.Select(BFloat16.FromSingle).ToArray()),
        DType.F16 => NamedTensor.F16(name, shape, values.Select(v => (Half)v).ToArray()),
        _ => NamedTensor.F32(name, shape, (float[])values.Clone()),
    };

    /// <summary>Puts NaN, +inf and -inf at random positions (each with probability <paramref name="p"/>; at least one of each when n &gt;= 3).</summary>
    public static void Specials(Random rng, Span<float> a, double p = 0.03)
    {
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity];
        for (int i = 0; i < a.Length; i++)
        {
            double u = rng.NextDouble();
            if (u < 3 * p) a[i] = specials[(int)(u / p)];
        }
        if (a.Length >= 3)
            foreach (var s in specials) a[rng.Next(a.Length)] = s;
    }
}
