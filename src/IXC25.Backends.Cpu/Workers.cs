using System.Runtime.CompilerServices;

namespace IXC25.Backends.Cpu;

/// <summary>
/// The CPU backend's one thread splitter. It runs a range of independent work items on worker threads (the calling
/// thread included): the range [0, count) is cut into contiguous chunks (about <c>ChunksPerThread</c> per thread) that
/// the workers take in turn, so a worker whose core is busy with something else does not hold the others up. Every
/// callback receives a chunk as <c>(start, end)</c>, end exclusive. Which thread runs a chunk never changes what it
/// computes: every work item writes only its own outputs with a fixed sequence of operations, so results are
/// bit-identical for any thread count. Small work runs on the calling thread.
/// </summary>
internal static class Workers
{
    private const int ChunksPerThread = 8;

    /// <summary>Fewest elements worth a chunk of a memory-bound row or elementwise op (32 Ki floats: 128 KiB).</summary>
    public const int Grain = 1 << 15;

    /// <summary>Chunk starts of <see cref="RunElements"/> are multiples of this many elements.</summary>
    public const int ElementAlign = 64;

    /// <summary>True when <paramref name="elements"/> of memory-bound work should be split over <paramref name="threads"/>.</summary>
    public static bool Worth(int threads, long elements) => threads > 1 && elements >= 2L * Grain;

    /// <summary>Runs body(start, end) over chunks covering [0, count); every item is worth a thread (GEMM panels, attention blocks).</summary>
    public static void Run(int threads, int count, Action<int, int> body) =>
        Split(threads, count, Math.Min(count, threads * ChunksPerThread), body);

    /// <summary>
    /// Runs body(start, end) over chunks covering [0, count) of items (rows) of <paramref name="itemElements"/> elements,
    /// each chunk at least <see cref="Grain"/> elements; all on the calling thread unless <see cref="Worth"/>.
    /// </summary>
    public static void Run(int threads, int count, long itemElements, Action<int, int> body)
    {
        long total = count * itemElements;
        if (count < 2 || !Worth(threads, total))
        {
            if (count > 0) body(0, count);
            return;
        }
        Split(threads, count, (int)Math.Min(Math.Min(count, total / Grain), (long)threads * ChunksPerThread), body);
    }

    /// <summary>Runs body(start, end) over chunks covering the flat range [0, count) of elements, chunk starts multiples of <see cref="ElementAlign"/>.</summary>
    public static void RunElements(int threads, int count, Action<int, int> body)
    {
        if (!Worth(threads, count))
        {
            if (count > 0) body(0, count);
            return;
        }
        Run(threads, (count + ElementAlign - 1) / ElementAlign, ElementAlign, (u0, u1) => body(u0 * ElementAlign, Math.Min(count, u1 * ElementAlign)));
    }

    private static void Split(int threads, int count, int chunks, Action<int, int> body)
    {
        int nt = Math.Min(threads, chunks);
        if (nt <= 1)
        {
            if (count > 0) body(0, count);
            return;
        }
        var next = new StrongBox<int>(-1);
        Parallel.For(0, nt, new ParallelOptions { MaxDegreeOfParallelism = nt }, _ =>
        {
            int c;
            while ((c = Interlocked.Increment(ref next.Value)) < chunks)
                body((int)((long)count * c / chunks), (int)((long)count * (c + 1) / chunks));
        });
    }
}
