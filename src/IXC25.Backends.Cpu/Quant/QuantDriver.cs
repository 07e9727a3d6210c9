using IXC25.Runtime.Quant;

namespace IXC25.Backends.Cpu.Quant;

/// <summary>
/// y = x W^T (+ b) for a block-quantized W (spec/quant.json): each row of x is quantized once to q8 activations
/// (<see cref="Quantizer.QuantizeActivations"/>); every output is the spec's dot (integer block sums, then the float part
/// in the spec's order), computed on the best tier. On the 256-bit tiers (AvxVnni, Avx2) one x row runs the four-row
/// GEMV (<see cref="Gemv{TK}"/>, decode) and several run the register-blocked GEMM over packed weight panels
/// (<see cref="Gemm{TK}"/>, prefill and batched decode); Ssse3 and Scalar run one dot per output (<see cref="Linear{TK}"/>).
/// Threads split weight rows only. Results are bit-identical for every tier, thread count, path and number of x rows
/// processed together (docs/QUANT.md).
/// </summary>
internal static unsafe partial class QuantDriver
{
    /// <summary>Weight rows per chunk (8 rows of 4096 int8 values: 32 KB).</summary>
    public const int ChunkRows = 8;

    /// <summary>The tier in use ("AvxVnni", "Avx2", "Ssse3", "Scalar").</summary>
    public static string Tier =>
        VnniKernels.IsSupported ? VnniKernels.Name : Avx2Kernels.IsSupported ? Avx2Kernels.Name : Ssse3Kernels.IsSupported ? Ssse3Kernels.Name : ScalarQuantKernels.Name;

    /// <summary>x [T, K] (row stride K), W [N, K] quantized, bias [N] or null, y [T, N] (row stride ldy).</summary>
    public static void Linear(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads)
    {
        if (VnniKernels.IsSupported) Blocked<VnniKernels>(x, T, w, bias, y, ldy, threads);
        else if (Avx2Kernels.IsSupported) Blocked<Avx2Kernels>(x, T, w, bias, y, ldy, threads);
        else if (Ssse3Kernels.IsSupported) Linear<Ssse3Kernels>(x, T, w, bias, y, ldy, threads);
        else Linear<ScalarQuantKernels>(x, T, w, bias, y, ldy, threads);
    }

    /// <summary>One dot per output (BlockSums, then Combine): the path of the tiers without blocked kernels.</summary>
    internal static void Linear<TK>(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads) where TK : struct, IQuantKernels
    {
        int K = w.Cols, N = w.Rows, nb = w.Blocks;
        if (x.Length != (long)T * K) throw new ArgumentException($"x has {x.Length} elements, expected {(long)T * K}");
        if (T == 0 || N == 0) return;
        // the q8 activations of every x row, shared by all weight rows
        var aqs = new sbyte[(long)T * K];
        var asc = new float[(long)T * nb];
        var aoff = new int[(long)T * nb];
        for (int t = 0; t < T; t++)
            Quantizer.QuantizeActivations(x.Slice(t * K, K), aqs.AsSpan(t * K, K), asc.AsSpan(t * nb, nb), aoff.AsSpan(t * nb, nb));
        int offset = w.Format.Offset;
        if (offset != 0) for (int i = 0; i < aoff.Length; i++) aoff[i] *= offset;
        int format = w.Format.Id, qsRow = nb * w.Format.QsBytesPerBlock;
        nint yP = (nint)y;
        var (qs, scales) = (w.Qs, w.Scales); // arrays or a mapped quantized checkpoint, pinned by fixed below
        Workers.Run(threads, (N + ChunkRows - 1) / ChunkRows, (c0, c1) =>
        {
            Span<int> sums = nb <= 4096 ? stackalloc int[nb] : new int[nb]; // the block sums of one row
            fixed (int* s = sums)
            fixed (byte* wq = qs)
            fixed (ushort* ws = scales)
            fixed (sbyte* ap = aqs)
            fixed (float* ad = asc)
            fixed (int* ao = aoff)
            {
                for (int r0 = c0 * ChunkRows; r0 < Math.Min(N, c1 * ChunkRows); r0 += ChunkRows)
                {
                    int r1 = Math.Min(N, r0 + ChunkRows);
                    for (int t = 0; t < T; t++)
                        for (int r = r0; r < r1; r++)
                        {
                            TK.BlockSums(format, wq + (nint)r * qsRow, ap + (nint)t * K, nb, s);
                            float v = TK.Combine(s, offset == 0 ? null : ao + (nint)t * nb, ws + (nint)r * nb, ad + (nint)t * nb, nb);
                            if (bias != null) v += bias[r];
                            ((float*)yP)[(nint)t * ldy + r] = v;
                        }
                }
            }
        });
    }
}
