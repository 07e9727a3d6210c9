using IXC25.Runtime.Quant;

namespace IXC25.Backends.Tests;

/// <summary>What the quantized-kernel tests compare against: the spec's definition, one scalar dot per output.</summary>
internal static class QuantReference
{
    /// <summary>n uniform values in [-scale, scale), seeded.</summary>
    public static float[] Random(int n, int seed, float scale)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return v;
    }

    /// <summary>y[T, rows] = x W^T (+ bias) by the definition: each x row quantized to q8 activations, then <see cref="Quantizer.Dot"/> per output.</summary>
    public static float[] Linear(QuantizedMatrix m, float[] x, int T, float[]? bias)
    {
        int K = m.Cols, nb = m.Blocks;
        var y = new float[T * m.Rows];
        for (int t = 0; t < T; t++)
        {
            var qs = new sbyte[K];
            var sc = new float[nb];
            Quantizer.QuantizeActivations(x.AsSpan(t * K, K), qs, sc, new int[nb]);
            for (int r = 0; r < m.Rows; r++)
            {
                float v = Quantizer.Dot(m, r, qs, sc);
                if (bias != null) v += bias[r];
                y[t * m.Rows + r] = v;
            }
        }
        return y;
    }
}
