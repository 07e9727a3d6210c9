using System.Runtime.CompilerServices;

namespace IXC25.Runtime.Tensors;

/// <summary>
/// bfloat16 conversions. A bf16 value is the upper 16 bits of a float32; widening is exact
/// (shift left by 16). Narrowing rounds to nearest, ties to even, as torch's <c>.to(torch.bfloat16)</c>;
/// NaN stays NaN (quiet bit set).
/// </summary>
public static class BFloat16
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        uint u = BitConverter.SingleToUInt32Bits(value);
        if ((u & 0x7FFF_FFFFu) > 0x7F80_0000u) return (ushort)((u >> 16) | 0x0040u); // NaN: keep sign, force quiet
        uint lsb = (u >> 16) & 1u;
        u += 0x7FFFu + lsb;
        return (ushort)(u >> 16);
    }

    public static void Widen(ReadOnlySpan<ushort> src, Span<float> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination too short", nameof(dst));
        for (int i = 0; i < src.Length; i++) dst[i] = ToSingle(src[i]);
    }

    public static void Narrow(ReadOnlySpan<float> src, Span<ushort> dst)
    {
        if (dst.Length < src.Length) throw new ArgumentException("destination too short", nameof(dst));
        for (int i = 0; i < src.Length; i++) dst[i] = FromSingle(src[i]);
    }
}
