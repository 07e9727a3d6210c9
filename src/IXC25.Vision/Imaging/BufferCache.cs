namespace IXC25.Vision.Imaging;

/// <summary>
/// A small cache of large arrays of exact lengths, for results that callers hand back with
/// <see cref="Transforms.HdTransformResult.Dispose"/>. Reusing memory matters because touching fresh
/// pages is expensive (13 us per 4 KiB page measured on the project's VMs, i.e. ~250 ms for one
/// 75 MB pixel_values tensor); glibc gives PIL and torch the same reuse for free. Holds at most
/// <see cref="MaxArrays"/> arrays and <see cref="MaxBytes"/> bytes per element type; thread-safe.
/// Contents of a rented array are undefined: callers overwrite every element.
/// </summary>
internal static class BufferCache<T> where T : unmanaged
{
    public const int MaxArrays = 6;
    public const long MaxBytes = 1L << 30;
    private static readonly List<T[]> Free = [];
    private static long _bytes;

    public static unsafe T[] Rent(int length)
    {
        lock (Free)
        {
            for (int i = Free.Count - 1; i >= 0; i--)
                if (Free[i].Length == length)
                {
                    var a = Free[i];
                    Free.RemoveAt(i);
                    _bytes -= (long)length * sizeof(T);
                    return a;
                }
        }
        return GC.AllocateUninitializedArray<T>(length);
    }

    public static unsafe void Return(T[]? array)
    {
        if (array is null || array.Length < 4096) return;
        long size = (long)array.Length * sizeof(T);
        lock (Free)
        {
            foreach (var a in Free) if (ReferenceEquals(a, array)) return; // returned twice
            while (Free.Count > 0 && (Free.Count >= MaxArrays || _bytes + size > MaxBytes))
            {
                _bytes -= (long)Free[0].Length * sizeof(T);
                Free.RemoveAt(0);
            }
            if (size > MaxBytes) return;
            Free.Add(array);
            _bytes += size;
        }
    }
}
