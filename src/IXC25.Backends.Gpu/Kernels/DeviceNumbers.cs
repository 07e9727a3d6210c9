using ILGPU;

namespace IXC25.Backends.Gpu.Kernels;

/// <summary>
/// Number formats on the device: widening a stored weight (f32, bf16, f16) to float32 exactly, and rounding a
/// float32 to bf16/f16 precision (round to nearest even, as the CPU backend's KV storage does). Bit operations
/// only, so every accelerator gives the same bits.
/// </summary>
public static class DeviceNumbers
{
    /// <summary>Element <paramref name="i"/> of a stored weight as float32 (<paramref name="kind"/>: <see cref="WeightKind"/>).</summary>
    public static float Weight(ArrayView<float> w32, ArrayView<ushort> w16, int kind, long i) =>
        kind == 0 ? w32[i] : kind == 1 ? Bf16(w16[i]) : F16(w16[i]);

    /// <summary>bfloat16 bits widened exactly.</summary>
    public static float Bf16(ushort u) => Interop.IntAsFloat((uint)u << 16);

    /// <summary>IEEE half bits widened exactly (subnormals, infinities and NaN included).</summary>
    public static float F16(ushort h)
    {
        uint sign = (uint)(h >> 15) << 31;
        int exp = (h >> 10) & 0x1F;
        uint mant = (uint)(h & 0x3FF);
        if (exp == 0)
        {
            float v = mant * 5.9604644775390625e-8f; // mant * 2^-24, exact
            return sign != 0 ? -v : v;
        }
        if (exp == 31) return Interop.IntAsFloat(sign | 0x7F800000u | (mant << 13));
        return Interop.IntAsFloat(sign | ((uint)(exp - 15 + 127) << 23) | (mant << 13));
    }

    /// <summary>x rounded to bfloat16 precision (nearest even; NaN stays NaN).</summary>
    public static float RoundBf16(float x)
    {
        if (float.IsNaN(x)) return x;
        uint b = Interop.FloatAsInt(x);
        b += 0x7FFFu + ((b >> 16) & 1u);
        return Interop.IntAsFloat(b & 0xFFFF0000u);
    }

    /// <summary>x rounded to IEEE half precision (nearest even; past the half range: infinity; NaN stays NaN).</summary>
    public static float RoundF16(float x)
    {
        if (float.IsNaN(x)) return x;
        uint bits = Interop.FloatAsInt(x);
        uint sign = bits & 0x80000000u;
        uint abs = bits & 0x7FFFFFFFu;
        float a = Interop.IntAsFloat(abs);
        float r;
        if (a >= 65520f) r = float.PositiveInfinity;
        else if (a < 6.103515625e-5f) // below 2^-14: multiples of 2^-24
        {
            float v = a * 16777216f; // exact scaling by 2^24, v < 1024
            float q = (v + 12582912f) - 12582912f; // nearest even integer (1.5 * 2^23)
            r = q * 5.9604644775390625e-8f;
        }
        else
        {
            uint b = abs + 0xFFFu + ((abs >> 13) & 1u);
            r = Interop.IntAsFloat(b & 0xFFFFE000u);
        }
        return Interop.IntAsFloat(sign | Interop.FloatAsInt(r));
    }

    /// <summary>A value as a KV cache of storage <paramref name="kind"/> holds it (0 f32, 1 bf16, 2 f16).</summary>
    public static float Stored(float x, int kind) => kind == 0 ? x : kind == 1 ? RoundBf16(x) : RoundF16(x);
}
