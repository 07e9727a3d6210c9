namespace IXC25.Backends.Cpu.Simd;

/// <summary>
/// Splits independent rows (or elements) into contiguous blocks for <see cref="Parallel.For(int, int, ParallelOptions, Action{int})"/>.
/// Every row is computed by the same kernel code whatever the split, so results are bit-identical for
/// any thread count; small work runs on the calling thread.
/// </summary>
public static class RowParallel
{
    /// <summary>Fewest elements worth a parallel block (32 Ki floats: 128 KiB).</summary>
    public const int Grain = 1 << 15;

    /// <summary>True when <paramref name="elements"/> of work should be split over threads.</summary>
    public static bool Worth(ParallelOptions options, long elements) =>
        options.MaxDegreeOfParallelism != 1 && elements >= 2L * Grain;

    /// <summary>Runs <paramref name="body"/>(firstRow, rowCount) over blocks of whole rows covering [0, rows).</summary>
    public static void For(ParallelOptions options, int rows, long rowElements, Action<int, int> body)
    {
        long total = rows * rowElements;
        int threads = options.MaxDegreeOfParallelism > 0 ? options.MaxDegreeOfParallelism : Environment.ProcessorCount;
        if (rows < 2 || !Worth(options, total)) { body(0, rows); return; }
        int blocks = (int)Math.Min(Math.Min(rows, total / Grain), 4L * threads);
        System.Threading.Tasks.Parallel.For(0, blocks, options, b =>
        {
            int r0 = (int)((long)b * rows / blocks), r1 = (int)((long)(b + 1) * rows / blocks);
            body(r0, r1 - r0);
        });
    }

    /// <summary>Runs <paramref name="body"/>(start, count) over blocks of a flat range [0, count), block starts aligned to 64 elements.</summary>
    public static void ForRange(ParallelOptions options, int count, Action<int, int> body)
    {
        const int Align = 64;
        if (!Worth(options, count)) { body(0, count); return; }
        int chunks = (count + Align - 1) / Align;
        For(options, chunks, Align, (c0, cn) =>
        {
            int start = c0 * Align;
            body(start, Math.Min(count, (c0 + cn) * Align) - start);
        });
    }
}
