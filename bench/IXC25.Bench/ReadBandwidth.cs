using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace IXC25.Bench;

/// <summary>
/// A memory-read probe for interleaving with other measurements: sums a float32 buffer much larger than the
/// caches with all cores (the same loop as the `memread` benchmark), so that a bandwidth-bound kernel can be
/// reported as a fraction of the read bandwidth measured right next to it in time (on a shared machine the
/// available bandwidth drifts; adjacent pairs cancel most of it).
/// </summary>
internal sealed unsafe class ReadBandwidth : IDisposable
{
    private readonly float* _p;
    private readonly long _n;

    public ReadBandwidth(double gib)
    {
        _n = (long)(gib * (1L << 30) / sizeof(float)) & ~1023L;
        _p = (float*)NativeMemory.AlignedAlloc((nuint)(_n * sizeof(float)), 64);
        for (long i = 0; i < _n; i++) _p[i] = 1f;
    }

    public long Bytes => _n * sizeof(float);

    /// <summary>Seconds for one pass over the buffer.</summary>
    public double Measure(int threads)
    {
        long t0 = Stopwatch.GetTimestamp();
        var partial = new float[threads];
        long n = _n;
        nint p = (nint)_p;
        Parallel.For(0, threads, new ParallelOptions { MaxDegreeOfParallelism = threads }, t =>
        {
            long chunk = (n / threads) & ~63L;
            long start = t * chunk, end = t == threads - 1 ? n : start + chunk;
            partial[t] = Sum((float*)p + start, end - start);
        });
        double s = Stopwatch.GetElapsedTime(t0).TotalSeconds;
        GC.KeepAlive(partial.Sum());
        return s;
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

    public void Dispose() => NativeMemory.AlignedFree(_p);
}
