using IXC25.Runtime;

namespace IXC25.Backends.Cpu.Simd;

/// <summary>Argument checks shared by the generated kernels: one-line <see cref="IxcException"/>s naming the op and the tensor.</summary>
public static class KernelChecks
{
    public static void Length(string op, string name, int actual, long expected)
    {
        if (actual != expected) throw new IxcException($"{op}: '{name}' has {actual} elements, expected {expected}");
    }

    /// <summary>Rows of a [rows, n] tensor of <paramref name="length"/> elements.</summary>
    public static int Rows(string op, string name, int length, int n)
    {
        if (n == 0 && length == 0) return 0;
        if (n <= 0) throw new IxcException($"{op}: row length {n} of '{name}' must be positive");
        if (length % n != 0) throw new IxcException($"{op}: '{name}' has {length} elements, not a whole number of rows of {n}");
        return length / n;
    }

    /// <summary>
    /// The output may be the input itself (in-place) or separate memory; a partial overlap (the same
    /// buffer shifted) would read elements already written and is rejected.
    /// </summary>
    public static void NoPartialOverlap(string op, string input, ReadOnlySpan<float> x, ReadOnlySpan<float> y)
    {
        if (x.Overlaps(y, out int offset) && offset != 0)
            throw new IxcException($"{op}: output overlaps input '{input}' shifted by {offset} elements (it must be the same memory or disjoint)");
    }

    public static void Require(bool ok, string op, string what)
    {
        if (!ok) throw new IxcException($"{op}: {what}");
    }
}
