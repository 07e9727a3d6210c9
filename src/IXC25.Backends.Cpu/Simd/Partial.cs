using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace IXC25.Backends.Cpu.Simd;

/// <summary>
/// The last, partial vector of a row: loads fewer than W elements into a zero-padded vector through a
/// stack buffer, stores only the valid lanes back, and masks the padding out of reductions. Nothing is
/// read or written out of bounds and no element is computed twice, so outputs may alias inputs.
/// </summary>
public static class Partial
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Load128(ReadOnlySpan<float> src)
    {
        Span<float> buf = stackalloc float[4];
        buf.Clear();
        src.CopyTo(buf);
        return Vector128.Create<float>(buf);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load256(ReadOnlySpan<float> src)
    {
        Span<float> buf = stackalloc float[8];
        buf.Clear();
        src.CopyTo(buf);
        return Vector256.Create<float>(buf);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load512(ReadOnlySpan<float> src)
    {
        Span<float> buf = stackalloc float[16];
        buf.Clear();
        src.CopyTo(buf);
        return Vector512.Create<float>(buf);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector128<float> v, Span<float> dst)
    {
        Span<float> buf = stackalloc float[4];
        v.CopyTo(buf);
        buf[..dst.Length].CopyTo(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector256<float> v, Span<float> dst)
    {
        Span<float> buf = stackalloc float[8];
        v.CopyTo(buf);
        buf[..dst.Length].CopyTo(dst);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<float> v, Span<float> dst)
    {
        Span<float> buf = stackalloc float[16];
        v.CopyTo(buf);
        buf[..dst.Length].CopyTo(dst);
    }

    /// <summary>All-ones in lanes 0 .. count-1, zero elsewhere.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> Mask128(int count) => Vector128.LessThan(Vector128<int>.Indices, Vector128.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Mask256(int count) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(count)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Mask512(int count) => Vector512.LessThan(Vector512<int>.Indices, Vector512.Create(count)).AsSingle();
}
