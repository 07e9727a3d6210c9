using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Tests;

public class KvLayerTests
{
    private static float[] Random(int n, int seed)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 4 - 2)).ToArray();
    }

    [Theory]
    [InlineData(DType.F32)]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void AppendCopyTruncateAndCloneKeepTheTokens(DType storage)
    {
        const int HKV = 2, D = 40;
        using var layer = new CpuKvLayer(HKV, D, storage, 1000, initialCapacity: 3);
        var k1 = Random(HKV * 5 * D, 1); var v1 = Random(k1.Length, 2);
        var k2 = Random(HKV * 7 * D, 3); var v2 = Random(k2.Length, 4);
        layer.Append(k1, v1, 5);
        layer.Append(k2, v2, 7); // grows past the initial capacity
        Assert.Equal(12, layer.Length);
        var k = new float[HKV * 12 * D]; var v = new float[k.Length];
        layer.CopyTo(k, v);
        for (int g = 0; g < HKV; g++)
            for (int t = 0; t < 12; t++)
                for (int d = 0; d < D; d++)
                {
                    float expected = t < 5 ? k1[(g * 5 + t) * D + d] : k2[(g * 7 + t - 5) * D + d];
                    float stored = storage switch { DType.BF16 => BFloat16.ToSingle(BFloat16.FromSingle(expected)), DType.F16 => (float)(Half)expected, _ => expected };
                    Assert.Equal(stored, k[(g * 12 + t) * D + d]);
                }
        using var other = new CpuKvLayer(HKV, D, storage, 1000);
        layer.CopyTo(other);
        var k3 = new float[k.Length]; var v3 = new float[k.Length];
        other.CopyTo(k3, v3);
        Assert.Equal(k, k3);
        Assert.Equal(v, v3);
        layer.Truncate(4);
        Assert.Equal(4, layer.Length);
    }

    [Fact]
    public void AFullCacheIsAClearError()
    {
        using var layer = new CpuKvLayer(1, 8, DType.F32, maxTokens: 4);
        layer.Append(new float[32], new float[32], 4);
        var e = Assert.Throws<IxcException>(() => layer.Append(new float[8], new float[8], 1));
        Assert.Contains("at most 4", e.Message);
    }

    [Theory]
    [InlineData(DType.BF16)]
    [InlineData(DType.F16)]
    public void SixteenBitCachesAttendLikeTheFloat32OneWithinTheirRounding(DType storage)
    {
        const int H = 4, HKV = 2, D = 16, TP = 9, T = 3;
        var ops = new CpuOps(1);
        var qkv1 = Random(TP * (H + 2 * HKV) * D, 5);
        var qkv2 = Random(T * (H + 2 * HKV) * D, 6);
        var cos = Enumerable.Repeat(1f, (TP + T) * D).ToArray();
        var sin = new float[(TP + T) * D];
        float[] Run(DType dt)
        {
            using var cache = new CpuKvLayer(HKV, D, dt, 100);
            var y1 = new float[TP * H * D];
            ops.AttentionCached(qkv1, TP, H, HKV, D, cos.AsSpan(0, TP * D), sin.AsSpan(0, TP * D), cache, y1);
            var y2 = new float[T * H * D];
            ops.AttentionCached(qkv2, T, H, HKV, D, cos.AsSpan(0, T * D), sin.AsSpan(0, T * D), cache, y2);
            Assert.Equal(TP + T, cache.Length);
            return y2;
        }
        var exact = Run(DType.F32);
        var rounded = Run(storage);
        double tol = storage == DType.BF16 ? 2e-2 : 3e-3; // relative precision of the stored keys and values
        for (int i = 0; i < exact.Length; i++) Assert.InRange(rounded[i] - exact[i], -tol * 2, tol * 2);
        Assert.NotEqual(exact, rounded);
    }
}
