namespace IXC25.Runtime.Tensors;

/// <summary>Helpers for shapes written as <c>long[]</c> (outermost dimension first).</summary>
public static class Shape
{
    /// <summary>Number of elements; throws on negative dimensions or overflow.</summary>
    public static long Numel(ReadOnlySpan<long> shape)
    {
        long n = 1;
        foreach (var d in shape)
        {
            if (d < 0) throw new IxcException($"negative dimension {d} in shape {Format(shape)}");
            n = checked(n * d);
        }
        return n;
    }

    /// <summary>
    /// The byte size of <paramref name="shape"/> with elements of <paramref name="elementSize"/> bytes, in
    /// overflow-safe arithmetic: false when a dimension is negative or the exact size does not fit a long
    /// (a shape with a zero dimension has size 0 however large the others are).
    /// </summary>
    public static bool TryByteLength(ReadOnlySpan<long> shape, int elementSize, out long bytes)
    {
        bytes = 0;
        foreach (var d in shape)
        {
            if (d < 0) return false;
            if (d == 0) return true;
        }
        long n = elementSize;
        foreach (var d in shape)
        {
            if (n > long.MaxValue / d) return false;
            n *= d;
        }
        bytes = n;
        return true;
    }

    public static string Format(ReadOnlySpan<long> shape)
    {
        var parts = new string[shape.Length];
        for (int i = 0; i < shape.Length; i++) parts[i] = shape[i].ToString(System.Globalization.CultureInfo.InvariantCulture);
        return "[" + string.Join(", ", parts) + "]";
    }

    public static bool Equal(ReadOnlySpan<long> a, ReadOnlySpan<long> b) => a.SequenceEqual(b);
}
