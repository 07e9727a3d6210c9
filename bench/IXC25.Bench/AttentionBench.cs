using IXC25.Backends.Cpu;
using IXC25.Graph;
using IXC25.Backends.Cpu.Attention;

namespace IXC25.Bench;

/// <summary>
/// `attention`: the attention drivers on model shapes. InternLM2 (32 query / 8 KV heads of 128): prefill of
/// --tokens (512) tokens, and one decode step against caches of 1024 and 16384 tokens (KV bytes read per
/// second); CLIP (16 heads of 64, 1024 channels): Mha over one image of 1601 tokens.
/// </summary>
internal static class AttentionBench
{
    public static void Run(BenchArgs a)
    {
        const int H = 32, HKV = 8, D = 128;
        int T = a.GetInt("tokens", 512), runs = a.GetInt("runs", 7);
        var ops = new CpuOps(a.GetInt("threads", 0));
        var rng = new Random(1);
        float[] R(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = (float)rng.NextDouble() * 2 - 1; return v; }
        float[] Unit(int n) { var v = new float[n]; for (int i = 0; i < n; i++) v[i] = i % 2 == 0 ? 1f : 0f; return v; }

        using (var cache = new KvPanels(HKV, D, T))
        {
            var qkv = R(T * (H + 2 * HKV) * D);
            var y = new float[T * H * D];
            var cos = Unit(T * D);
            var sin = new float[T * D];
            double flops = 4.0 * H * D * T * (T + 1) / 2;
            BenchHost.Measure($"attention-prefill-{T}", () => { cache.Clear(); ops.Attention(qkv, T, H, HKV, D, cos, sin, cache, y); },
                runs: runs, perSecond: new Dictionary<string, double> { ["flop"] = flops });
        }
        foreach (int context in new[] { 1024, 16384 })
        {
            using var cache = new KvPanels(HKV, D, context + 1);
            cache.Append(R(HKV * context * D), R(HKV * context * D), context);
            var qkv = R((H + 2 * HKV) * D);
            var y = new float[H * D];
            var cos = Unit(D);
            var sin = new float[D];
            double kvBytes = 2.0 * HKV * (context + 1) * D * 4;
            BenchHost.Measure($"attention-decode-{context}", () => { cache.Truncate(context); ops.Attention(qkv, 1, H, HKV, D, cos, sin, cache, y); },
                runs: runs * 3, perSecond: new Dictionary<string, double> { ["kv_byte"] = kvBytes });
            if (context < 16384) continue;
            // paired with the read probe (a cache this large comes from memory): fraction of the read bandwidth
            using var probe = new ReadBandwidth(1);
            var fractions = new List<double>();
            for (int i = 0; i < runs * 2; i++)
            {
                double read = probe.Bytes / probe.Measure(ops.Threads);
                cache.Truncate(context);
                long t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                ops.Attention(qkv, 1, H, HKV, D, cos, sin, cache, y);
                fractions.Add(kvBytes / System.Diagnostics.Stopwatch.GetElapsedTime(t0).TotalSeconds / read);
            }
            Console.WriteLine(System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
            {
                ["bench"] = $"attention-decode-{context}-vs-read",
                ["fraction_of_read"] = fractions.Order().ElementAt(fractions.Count / 2),
                ["pairs"] = fractions.Count,
            }));
        }
        {
            const int N = 1, TV = 1601, C = 1024, heads = 16;
            var q = R(N * TV * C);
            var k = R(N * TV * C);
            var v = R(N * TV * C);
            var y = new float[N * TV * C];
            BenchHost.Measure("mha-clip-1601", () => ops.Mha(q, k, v, N, TV, C, heads, 0.125f, y),
                runs: runs, perSecond: new Dictionary<string, double> { ["flop"] = 4.0 * N * TV * TV * C });
        }
    }
}
