using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>The tensor members of a backend whose tensors are <see cref="HostAct"/>s (CPU, reference).</summary>
public static class HostMemory
{
    public static Act Upload<T>(ReadOnlySpan<T> data, long[] shape) where T : unmanaged => HostAct.From(data, shape);

    public static Act Alloc(DType dtype, long[] shape) => HostAct.Alloc(dtype, shape);

    public static void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count)
    {
        var s = HostAct.Of(source);
        var d = HostAct.Of(destination);
        if (s.DType != d.DType) throw new IxcException($"copy from {s} to {d}: the dtypes differ");
        if (count < 0 || sourceStart < 0 || destinationStart < 0 || sourceStart + count > s.Numel || destinationStart + count > d.Numel)
            throw new ArgumentOutOfRangeException(nameof(count), $"copy of {count} elements from {s} at {sourceStart} to {d} at {destinationStart}");
        int n = (int)count, si = (int)sourceStart, di = (int)destinationStart;
        switch (s.DType)
        {
            case DType.F32: s.Span.Slice(si, n).CopyTo(d.Span.Slice(di, n)); break;
            case DType.U8: s.Bytes.Slice(si, n).CopyTo(d.Bytes.Slice(di, n)); break;
            default: s.Longs.Slice(si, n).CopyTo(d.Longs.Slice(di, n)); break;
        }
    }
}
