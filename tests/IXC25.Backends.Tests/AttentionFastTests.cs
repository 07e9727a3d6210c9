using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Attention;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Backends.Reference;
using IXC25.Runtime.Tensors;
using static IXC25.Backends.Tests.FastPathData;

namespace IXC25.Backends.Tests;

/// <summary>
/// The blocked attention drivers (CpuOps.Attention with and without a KvPanels, Mha, Sdpa) and the ClipEmbed
/// fast path against the scalar references; determinism over thread counts. Category Isa (see LinearFastTests).
/// </summary>
[Trait("Category", "Isa")]
public class AttentionFastTests
{
    /// <summary>cos/sin tables [T, D] of rotary positions p0 .. p0 + T - 1 (theta 1e6), float32 like the model's.</summary>
    private static (float[] Cos, float[] Sin) Rotary(int p0, int T, int D)
    {
        var cos = new float[T * D];
        var sin = new float[T * D];
        for (int t = 0; t < T; t++)
            for (int i = 0; i < D / 2; i++)
            {
                float invFreq = (float)(1.0 / Math.Pow(1e6, 2.0 * i / D));
                float angle = (p0 + t) * invFreq;
                cos[t * D + i] = cos[t * D + i + D / 2] = MathF.Cos(angle);
                sin[t * D + i] = sin[t * D + i + D / 2] = MathF.Sin(angle);
            }
        return (cos, sin);
    }

    public static TheoryData<int, int, int, int, int> AttentionShapes => new()
    {
        { 4, 2, 8, 5, 0 }, { 4, 1, 16, 7, 13 }, { 8, 2, 32, 1, 33 }, { 6, 3, 8, 11, 0 }, { 2, 2, 64, 1, 31 },
        { 8, 2, 128, 40, 0 },    // model head dim, GQA 4
        { 8, 2, 128, 1, 300 },   // decode across two key blocks
        { 4, 4, 16, 300, 0 },    // causal prefill across key blocks
        { 8, 1, 32, 9, 600 },    // extend: 9 new tokens after 600
        { 40, 1, 8, 3, 5 },      // more query heads per group than a query block holds
        { 3, 3, 6, 33, 2 },      // odd head dim
    };

    [Theory]
    [MemberData(nameof(AttentionShapes))]
    public void AttentionMatchesTheReference(int H, int HKV, int D, int T, int TP)
    {
        var qkv = Normal(T * (H + 2 * HKV) * D, H * 1000 + T);
        var (cos, sin) = Rotary(TP, T, D);
        var kPast = Normal(HKV * TP * D, 5);
        var vPast = Normal(HKV * TP * D, 6);
        var y0 = new float[T * H * D];
        var k0 = new float[HKV * T * D];
        var v0 = new float[HKV * T * D];
        RefOps.Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, TP, y0, k0, v0);
        var y = Guarded(T * H * D);
        var k = new float[HKV * T * D];
        var v = new float[HKV * T * D];
        new CpuOps(2).Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, TP, Inner(y), k, v);
        string what = $"attention H={H} HKV={HKV} D={D} T={T} TP={TP} ({GemmDriver.Tier})";
        AssertSentinels(y, what);
        AssertClose(Inner(y), y0, Tolerance("attention"), what);
        AssertBitEqual(k0, k, what + " k_new");
        AssertBitEqual(v0, v, what + " v_new");
    }

    [Fact]
    public void KvCachePrefillThenDecodeMatchesTheReference()
    {
        // prefill 60 tokens, 10 decode steps (the cache grows past its first 64-token capacity), then extend by 3
        const int H = 8, HKV = 2, D = 32;
        var ops = new CpuOps(2);
        using var cache = new KvPanels(HKV, D);
        var kAll = new List<float[]>();
        var vAll = new List<float[]>();
        int past = 0, step = 0;
        foreach (int T in new[] { 60 }.Concat(Enumerable.Repeat(1, 10)).Append(3))
        {
            var qkv = Normal(T * (H + 2 * HKV) * D, 77 + step++);
            var (cos, sin) = Rotary(past, T, D);
            var kPast = Concat(kAll, HKV, past, D);
            var vPast = Concat(vAll, HKV, past, D);
            var y0 = new float[T * H * D];
            var k0 = new float[HKV * T * D];
            var v0 = new float[HKV * T * D];
            RefOps.Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, past, y0, k0, v0);
            var y = new float[T * H * D];
            ops.Attention(qkv, T, H, HKV, D, cos, sin, cache, y);
            AssertClose(y, y0, Tolerance("attention"), $"cached attention T={T} after {past}");
            kAll.Add(k0);
            vAll.Add(v0);
            past += T;
            Assert.Equal(past, cache.Length);
        }
        var kc = new float[HKV * past * D];
        var vc = new float[HKV * past * D];
        cache.CopyTo(kc, vc);
        AssertBitEqual(Concat(kAll, HKV, past, D), kc, "cached keys");
        AssertBitEqual(Concat(vAll, HKV, past, D), vc, "cached values");
        cache.Truncate(5);
        Assert.Equal(5, cache.Length);
    }

    /// <summary>Per-step [HKV, T_i, D] chunks concatenated along tokens into [HKV, sum T_i, D].</summary>
    private static float[] Concat(List<float[]> chunks, int HKV, int total, int D)
    {
        var all = new float[HKV * total * D];
        for (int g = 0; g < HKV; g++)
        {
            int s = 0;
            foreach (var c in chunks)
            {
                int T = c.Length / (HKV * D);
                c.AsSpan(g * T * D, T * D).CopyTo(all.AsSpan((g * total + s) * D));
                s += T;
            }
        }
        return all;
    }

    [Theory]
    [InlineData(1, 5, 16, 2)]
    [InlineData(2, 33, 64, 4)]
    [InlineData(3, 17, 48, 3)]
    [InlineData(1, 300, 128, 2)]
    [InlineData(2, 40, 60, 3)]
    public void MhaMatchesTheReference(int N, int T, int C, int heads)
    {
        var q = Normal(N * T * C, 1);
        var k = Normal(N * T * C, 2);
        var v = Normal(N * T * C, 3);
        float scale = (float)Math.Pow(C / heads, -0.5);
        var y0 = new float[N * T * C];
        RefOps.Mha(q, k, v, N, T, C, heads, scale, y0);
        var y = Guarded(N * T * C);
        new CpuOps(2).Mha(q, k, v, N, T, C, heads, scale, Inner(y));
        string what = $"mha N={N} T={T} C={C} heads={heads} ({GemmDriver.Tier})";
        AssertSentinels(y, what);
        AssertClose(Inner(y), y0, Tolerance("mha"), what);
    }

    [Theory]
    [InlineData(4, 2, 5, 9, 16, true, false)]
    [InlineData(4, 4, 33, 33, 8, false, true)]
    [InlineData(2, 1, 1, 70, 32, true, false)]
    public void SdpaMatchesTheReference(int H, int HKV, int TQ, int TK, int D, bool causal, bool scaleQ)
    {
        var q = Normal(H * TQ * D, 1);
        var k = Normal(HKV * TK * D, 2);
        var v = Normal(HKV * TK * D, 3);
        float scale = 1 / MathF.Sqrt(D);
        var y0 = new float[TQ * H * D];
        RefOps.Sdpa(q, k, v, H, HKV, TQ, TK, D, scale, causal, scaleQ, y0);
        var y = new float[TQ * H * D];
        new CpuOps(2).Sdpa(q, k, v, H, HKV, TQ, TK, D, scale, causal, scaleQ, y);
        AssertClose(y, y0, Tolerance("sdpa"), $"sdpa H={H} HKV={HKV} TQ={TQ} TK={TK} D={D}");
    }

    [Fact]
    public void NanInAQueryOrAVisibleKeyPropagatesLikeTheReference()
    {
        const int H = 4, HKV = 2, D = 16, T = 6;
        var qkv = Normal(T * (H + 2 * HKV) * D, 9);
        int W = (H + 2 * HKV) * D;
        qkv[2 * W + 3] = float.NaN;                 // query head 0 of token 2
        qkv[4 * W + (1 * 4 + 2) * D + 1] = float.PositiveInfinity; // key of group 1 at token 4
        var (cos, sin) = Rotary(0, T, D);
        var y0 = new float[T * H * D];
        var k0 = new float[HKV * T * D];
        var v0 = new float[HKV * T * D];
        RefOps.Attention(qkv, T, H, HKV, D, cos, sin, [], [], 0, y0, k0, v0);
        var y = new float[T * H * D];
        new CpuOps(2).Attention(qkv, T, H, HKV, D, cos, sin, [], [], 0, y, new float[HKV * T * D], new float[HKV * T * D]);
        Assert.Contains(y0, float.IsNaN);
        AssertClose(y, y0, Tolerance("attention"), "attention with NaN/Inf");
    }

    [Fact]
    public void AttentionBitIdenticalForEveryThreadCountAndRun()
    {
        const int H = 8, HKV = 2, D = 32;
        foreach (var (T, TP) in new[] { (70, 0), (1, 300), (5, 40) })
        {
            var qkv = Normal(T * (H + 2 * HKV) * D, T);
            var (cos, sin) = Rotary(TP, T, D);
            var kPast = Normal(HKV * TP * D, 1);
            var vPast = Normal(HKV * TP * D, 2);
            float[] Run(int threads)
            {
                var y = new float[T * H * D];
                new CpuOps(threads).Attention(qkv, T, H, HKV, D, cos, sin, kPast, vPast, TP, y, new float[HKV * T * D], new float[HKV * T * D]);
                return y;
            }
            var one = Run(1);
            foreach (int threads in new[] { 2, 4, 1, 3 })
                AssertBitEqual(one, Run(threads), $"attention T={T} TP={TP} threads 1 vs {threads}");
        }
        var q = Normal(2 * 50 * 48, 1);
        float[] RunMha(int threads)
        {
            var y = new float[2 * 50 * 48];
            new CpuOps(threads).Mha(q, q, q, 2, 50, 48, 3, 0.25f, y);
            return y;
        }
        var m1 = RunMha(1);
        foreach (int threads in new[] { 2, 4 }) AssertBitEqual(m1, RunMha(threads), $"mha threads 1 vs {threads}");
    }

    [Theory]
    [InlineData(2, 28, 14, 40)]
    [InlineData(1, 56, 14, 70)]
    [InlineData(3, 15, 5, 33)]
    public void ClipEmbedMatchesTheReference(int N, int S, int PZ, int CV)
    {
        int G = S / PZ, P = G * G + 1;
        var pixels = Normal(N * 3 * S * S, 1);
        foreach (var dtype in WeightTypes)
        {
            var w = Weight("patch", dtype, [CV, 3, PZ, PZ], Normal(CV * 3 * PZ * PZ, 2, 1 / Math.Sqrt(3 * PZ * PZ)));
            var cls = Weight("cls", dtype, [CV], Normal(CV, 3));
            var pos = Weight("pos", dtype, [P, CV], Normal(P * CV, 4, 0.1));
            var y0 = new float[N * P * CV];
            RefOps.ClipEmbed(pixels, N, S, w.ToFloat32(), CV, PZ, cls.ToFloat32(), pos.ToFloat32(), y0);
            var y = Guarded(N * P * CV);
            new CpuOps(2).ClipEmbed(pixels, N, S, w, cls, pos, Inner(y));
            string what = $"clip_embed N={N} S={S} PZ={PZ} CV={CV} {dtype}";
            AssertSentinels(y, what);
            AssertClose(Inner(y), y0, Tolerance("clip_embed"), what);
        }
    }
}
