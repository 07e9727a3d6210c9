using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu.Gemm;

/// <summary>
/// Per-weight facts computed once and remembered for the life of the tensor object (weights are immutable):
/// the largest magnitude, used to prove that a product cannot overflow.
/// </summary>
internal static class WeightStats
{
    private static readonly ConditionalWeakTable<NamedTensor, StrongBox<float>> Max = new();

    /// <summary>max |w| over the tensor (f32, bf16 or f16); +Inf if it holds an infinity, NaN if it holds a NaN.</summary>
    public static float MaxAbs(NamedTensor t) => Max.GetValue(t, static t => new StrongBox<float>(Compute(t))).Value;

    private static float Compute(NamedTensor t)
    {
        // magnitudes of IEEE values order like their bit patterns with the sign cleared; NaNs sort above infinity
        switch (t.DType)
        {
            case DType.F32:
                {
                    uint m = MaxMasked(MemoryMarshal.Cast<byte, uint>(t.Data.Bytes), 0x7FFF_FFFFu);
                    return m > 0x7F80_0000u ? float.NaN : BitConverter.UInt32BitsToSingle(m);
                }
            case DType.BF16:
                {
                    uint m = MaxMasked(MemoryMarshal.Cast<byte, ushort>(t.Data.Bytes), 0x7FFF);
                    return m > 0x7F80u ? float.NaN : BitConverter.UInt32BitsToSingle(m << 16);
                }
            case DType.F16:
                {
                    uint m = MaxMasked(MemoryMarshal.Cast<byte, ushort>(t.Data.Bytes), 0x7FFF);
                    return m > 0x7C00u ? float.NaN : (float)BitConverter.UInt16BitsToHalf((ushort)m);
                }
            default:
                return float.NaN;
        }
    }

    private static uint MaxMasked(ReadOnlySpan<uint> bits, uint mask)
    {
        uint m = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vm = Vector<uint>.Zero;
            var vmask = new Vector<uint>(mask);
            var v = MemoryMarshal.Cast<uint, Vector<uint>>(bits);
            foreach (var x in v) vm = Vector.Max(vm, x & vmask);
            for (int j = 0; j < Vector<uint>.Count; j++) m = Math.Max(m, vm[j]);
            i = v.Length * Vector<uint>.Count;
        }
        for (; i < bits.Length; i++) m = Math.Max(m, bits[i] & mask);
        return m;
    }

    private static uint MaxMasked(ReadOnlySpan<ushort> bits, ushort mask)
    {
        ushort m = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vm = Vector<ushort>.Zero;
            var vmask = new Vector<ushort>(mask);
            var v = MemoryMarshal.Cast<ushort, Vector<ushort>>(bits);
            foreach (var x in v) vm = Vector.Max(vm, x & vmask);
            for (int j = 0; j < Vector<ushort>.Count; j++) m = Math.Max(m, vm[j]);
            i = v.Length * Vector<ushort>.Count;
        }
        for (; i < bits.Length; i++) m = Math.Max(m, (ushort)(bits[i] & mask));
        return m;
    }
}
