using System.Runtime.Intrinsics;

namespace IXC25.Bench;

/// <summary>
/// Memory read bandwidth: sums a float32 array much larger than the caches with all cores, 512-bit
/// loads where available. The same measurement as bench/pytorch_side_by_side.py's `x.sum()`, so
/// decode-step kernels can be reported as a fraction of what this machine can read.
/// </summary>
internal static unsafe class MemoryBandwidth
{
    public static void Run(BenchArgs a)
    {
        double gib = a.GetDouble("gib", 2);
        long n = (long)(gib * (1L << 30) / sizeof(float));
        float* p = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(n * sizeof(float)), 64);
        try
        {
            new Span<float>(p, (int)Math.Min(n, int.MaxValue)).Fill(1f);
            for (long i = int.MaxValue; i < n; i++) p[i] = 1f;
            int threads = Environment.ProcessorCount;
            float sink = 0;
            BenchHost.Measure("memread", () =>
            {
                var partial = new float[threads];
                Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
                {
                    long chunk = (n / threads) & ~63L;
                    long start = t * chunk, end = t == threads - 1 ? n : start + chunk;
                    partial[t] = Sum(p + start, end - start);
                });
                sink += partial.Sum();
            }, runs: 9, warmup: 2, perSecond: new Dictionary<string, double> { ["bytes"] = n * 4.0 });
            GC.KeepAlive(sink);
        }
        finally { System.Runtime.InteropServices.NativeMemory.AlignedFree(p); }
    }

    private static float Sum(float* p, long n)
    {
        var a0 = Vector512<float>.Zero; var a1 = a0; var a2 = a0; var a3 = a0;
        long i = 0;
        for (; i + 64 <= n; i += 64)
        {
            a0 += Vector512.Load(p + i);
            a1 += Vector512.Load(p + i + 16);
            a2 += Vector512.Load(p + i + 32);
            a3 += Vector512.Load(p + i + 48);
        }
        float s = Vector512.Sum(a0 + a1 + a2 + a3);
        for (; i < n; i++) s += p[i];
        return s;
    }
}
