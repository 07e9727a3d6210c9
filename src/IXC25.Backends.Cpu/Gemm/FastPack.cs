using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu.Gemm;

/// <summary>
/// AVX-512 version of the widening panel transpose (<see cref="GemmPack.PackB"/>) for full 32-column panels of
/// bf16 or f32 weights: 16 rows x 16 elements are loaded (bf16 widened by zero-extension and a shift), transposed
/// in registers with 64 shuffles and stored as 16 panel rows. The result is bit-identical to the scalar packer
/// (widening is exact); anything else falls back to it.
/// </summary>
internal static unsafe class FastPack
{
    /// <summary>Packs like <see cref="GemmPack.PackB"/> when this path applies; returns false otherwise.</summary>
    public static bool TryPackB(DType dtype, void* wt, nint ldw, int n, int kc, float* dst, int nr)
    {
        if (!Avx512F.IsSupported || nr != 32 || n != 32 || dtype is not (DType.BF16 or DType.F32)) return false;
        if (dtype == DType.BF16) PackBf16((ushort*)wt, ldw, kc, dst);
        else PackF32((float*)wt, ldw, kc, dst);
        return true;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackBf16(ushort* w, nint ldw, int kc, float* dst)
    {
        int k0 = 0;
        for (; k0 + 16 <= kc; k0 += 16)
            for (int half = 0; half < 2; half++)
            {
                ushort* p = w + (nint)half * 16 * ldw + k0;
                Transpose16(
                    Bf16(p), Bf16(p + ldw), Bf16(p + 2 * ldw), Bf16(p + 3 * ldw), Bf16(p + 4 * ldw), Bf16(p + 5 * ldw), Bf16(p + 6 * ldw), Bf16(p + 7 * ldw),
                    Bf16(p + 8 * ldw), Bf16(p + 9 * ldw), Bf16(p + 10 * ldw), Bf16(p + 11 * ldw), Bf16(p + 12 * ldw), Bf16(p + 13 * ldw), Bf16(p + 14 * ldw), Bf16(p + 15 * ldw),
                    dst + (nint)k0 * 32 + half * 16);
            }
        for (; k0 < kc; k0++)
            for (int j = 0; j < 32; j++) dst[(nint)k0 * 32 + j] = BitConverter.Int32BitsToSingle(w[j * ldw + k0] << 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void PackF32(float* w, nint ldw, int kc, float* dst)
    {
        int k0 = 0;
        for (; k0 + 16 <= kc; k0 += 16)
            for (int half = 0; half < 2; half++)
            {
                float* p = w + (nint)half * 16 * ldw + k0;
                Transpose16(
                    Vector512.Load(p), Vector512.Load(p + ldw), Vector512.Load(p + 2 * ldw), Vector512.Load(p + 3 * ldw),
                    Vector512.Load(p + 4 * ldw), Vector512.Load(p + 5 * ldw), Vector512.Load(p + 6 * ldw), Vector512.Load(p + 7 * ldw),
                    Vector512.Load(p + 8 * ldw), Vector512.Load(p + 9 * ldw), Vector512.Load(p + 10 * ldw), Vector512.Load(p + 11 * ldw),
                    Vector512.Load(p + 12 * ldw), Vector512.Load(p + 13 * ldw), Vector512.Load(p + 14 * ldw), Vector512.Load(p + 15 * ldw),
                    dst + (nint)k0 * 32 + half * 16);
            }
        for (; k0 < kc; k0++)
            for (int j = 0; j < 32; j++) dst[(nint)k0 * 32 + j] = w[j * ldw + k0];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Bf16(ushort* p) => (Avx512F.ConvertToVector512UInt32(Vector256.Load(p)) << 16).AsSingle();

    /// <summary>Stores column k of the 16 x 16 matrix with rows r0..r15 at dst + k * 32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose16(
        Vector512<float> r0, Vector512<float> r1, Vector512<float> r2, Vector512<float> r3, Vector512<float> r4, Vector512<float> r5, Vector512<float> r6, Vector512<float> r7,
        Vector512<float> r8, Vector512<float> r9, Vector512<float> r10, Vector512<float> r11, Vector512<float> r12, Vector512<float> r13, Vector512<float> r14, Vector512<float> r15,
        float* dst)
    {
        // 1: interleave pairs of rows within 128-bit lanes
        var t0 = Avx512F.UnpackLow(r0, r1); var t1 = Avx512F.UnpackHigh(r0, r1);
        var t2 = Avx512F.UnpackLow(r2, r3); var t3 = Avx512F.UnpackHigh(r2, r3);
        var t4 = Avx512F.UnpackLow(r4, r5); var t5 = Avx512F.UnpackHigh(r4, r5);
        var t6 = Avx512F.UnpackLow(r6, r7); var t7 = Avx512F.UnpackHigh(r6, r7);
        var t8 = Avx512F.UnpackLow(r8, r9); var t9 = Avx512F.UnpackHigh(r8, r9);
        var t10 = Avx512F.UnpackLow(r10, r11); var t11 = Avx512F.UnpackHigh(r10, r11);
        var t12 = Avx512F.UnpackLow(r12, r13); var t13 = Avx512F.UnpackHigh(r12, r13);
        var t14 = Avx512F.UnpackLow(r14, r15); var t15 = Avx512F.UnpackHigh(r14, r15);
        // 2: 4 x 4 blocks within 128-bit lanes
        var u0 = Avx512F.Shuffle(t0, t2, 0x44); var u1 = Avx512F.Shuffle(t0, t2, 0xEE);
        var u2 = Avx512F.Shuffle(t1, t3, 0x44); var u3 = Avx512F.Shuffle(t1, t3, 0xEE);
        var u4 = Avx512F.Shuffle(t4, t6, 0x44); var u5 = Avx512F.Shuffle(t4, t6, 0xEE);
        var u6 = Avx512F.Shuffle(t5, t7, 0x44); var u7 = Avx512F.Shuffle(t5, t7, 0xEE);
        var u8 = Avx512F.Shuffle(t8, t10, 0x44); var u9 = Avx512F.Shuffle(t8, t10, 0xEE);
        var u10 = Avx512F.Shuffle(t9, t11, 0x44); var u11 = Avx512F.Shuffle(t9, t11, 0xEE);
        var u12 = Avx512F.Shuffle(t12, t14, 0x44); var u13 = Avx512F.Shuffle(t12, t14, 0xEE);
        var u14 = Avx512F.Shuffle(t13, t15, 0x44); var u15 = Avx512F.Shuffle(t13, t15, 0xEE);
        // 3: 128-bit lanes of row groups 0-3 with 4-7, 8-11 with 12-15
        var v0 = Avx512F.Shuffle4x128(u0, u4, 0x88); var v1 = Avx512F.Shuffle4x128(u1, u5, 0x88);
        var v2 = Avx512F.Shuffle4x128(u2, u6, 0x88); var v3 = Avx512F.Shuffle4x128(u3, u7, 0x88);
        var v4 = Avx512F.Shuffle4x128(u0, u4, 0xDD); var v5 = Avx512F.Shuffle4x128(u1, u5, 0xDD);
        var v6 = Avx512F.Shuffle4x128(u2, u6, 0xDD); var v7 = Avx512F.Shuffle4x128(u3, u7, 0xDD);
        var v8 = Avx512F.Shuffle4x128(u8, u12, 0x88); var v9 = Avx512F.Shuffle4x128(u9, u13, 0x88);
        var v10 = Avx512F.Shuffle4x128(u10, u14, 0x88); var v11 = Avx512F.Shuffle4x128(u11, u15, 0x88);
        var v12 = Avx512F.Shuffle4x128(u8, u12, 0xDD); var v13 = Avx512F.Shuffle4x128(u9, u13, 0xDD);
        var v14 = Avx512F.Shuffle4x128(u10, u14, 0xDD); var v15 = Avx512F.Shuffle4x128(u11, u15, 0xDD);
        // 4: combine the two halves of the rows
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0x88), dst);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0x88), dst + 32);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0x88), dst + 2 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0x88), dst + 3 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0x88), dst + 4 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0x88), dst + 5 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0x88), dst + 6 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0x88), dst + 7 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v0, v8, 0xDD), dst + 8 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v1, v9, 0xDD), dst + 9 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v2, v10, 0xDD), dst + 10 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v3, v11, 0xDD), dst + 11 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v4, v12, 0xDD), dst + 12 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v5, v13, 0xDD), dst + 13 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v6, v14, 0xDD), dst + 14 * 32);
        Vector512.Store(Avx512F.Shuffle4x128(v7, v15, 0xDD), dst + 15 * 32);
    }
}
