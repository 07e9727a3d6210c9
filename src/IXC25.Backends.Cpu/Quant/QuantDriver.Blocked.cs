using System.Buffers;
using IXC25.Runtime.Quant;

namespace IXC25.Backends.Cpu.Quant;

// The blocked paths of the 256-bit tiers: the four-row GEMV (one x row) and the register-blocked GEMM (several).
internal static unsafe partial class QuantDriver
{
    /// <summary>Bytes of packed weight panel a worker keeps in L2 while the x rows stream past it.</summary>
    public const int PanelBytes = 256 * 1024;

    /// <summary>Most weight rows in a panel.</summary>
    public const int PanelRowsMax = 64;

    /// <summary>Fewest x rows for the GEMM: below, each packed panel would serve too few rows to pay for its packing, and
    /// the GEMV runs the rows against four weight rows at a time while those stay in L1 (bench/RESULTS.md, quant-gemm).</summary>
    public const int GemmMinRows = 8;

    /// <summary>The GEMV below <see cref="GemmMinRows"/> x rows, the GEMM from there (the same bits either way).</summary>
    internal static void Blocked<TK>(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads) where TK : struct, IQuantBlockedKernels
    {
        if (T < GemmMinRows) Gemv<TK>(x, T, w, bias, y, ldy, threads);
        else Gemm<TK>(x, T, w, bias, y, ldy, threads);
    }

    /// <summary>The q8 activations of x [T, K]: values [T, K], scales [T, nb], block sums [T, nb]; rows split over threads.</summary>
    private static (sbyte[] Qs, float[] Scales, int[] Sums) Activations(ReadOnlySpan<float> x, int T, int K, int threads)
    {
        int nb = K / QuantFormat.Block;
        var qs = new sbyte[(long)T * K];
        var sc = new float[(long)T * nb];
        var sums = new int[(long)T * nb];
        fixed (float* xp = x)
        {
            nint xP = (nint)xp;
            Workers.Run(threads, T, K, (t0, t1) =>
            {
                for (int t = t0; t < t1; t++)
                    ActivationQuantizer.Quantize(new ReadOnlySpan<float>((float*)xP + (nint)t * K, K), qs.AsSpan((int)((long)t * K), K), sc.AsSpan(t * nb, nb), sums.AsSpan(t * nb, nb));
            });
        }
        return (qs, sc, sums);
    }

    private static void Check(ReadOnlySpan<float> x, int T, QuantizedMatrix w)
    {
        if (x.Length != (long)T * w.Cols) throw new ArgumentException($"x has {x.Length} elements, expected {(long)T * w.Cols}");
    }

    /// <summary>Every x row on its own against four weight rows per pass (the decode path; any T, for the tests).</summary>
    internal static void Gemv<TK>(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads) where TK : struct, IQuantBlockedKernels
    {
        Check(x, T, w);
        int K = w.Cols, N = w.Rows, nb = w.Blocks, nbp = (nb + 7) & ~7, format = w.Format.Id, offset = w.Format.Offset;
        if (T == 0 || N == 0) return;
        var (qs, sc, sums) = Activations(x, T, K, threads);
        var act = new sbyte[(long)T * nbp * 32];
        var da = new float[(long)T * nbp];
        var off = new int[(long)T * nbp];
        fixed (sbyte* qp = qs, ap = act)
            for (int t = 0; t < T; t++)
            {
                TK.PackGemvActivations(format, qp + (nint)t * K, nb, ap + (nint)t * nbp * 32);
                for (int b = 0; b < nb; b++)
                {
                    da[(long)t * nbp + b] = sc[(long)t * nb + b];
                    off[(long)t * nbp + b] = offset * sums[(long)t * nb + b];
                }
            }
        int qsRow = nb * w.Format.QsBytesPerBlock;
        nint yP = (nint)y;
        var wqs = w.Qs; // an array or a mapped quantized checkpoint, pinned by fixed below
        var wsc = w.Scales;
        Workers.Run(threads, (N + ChunkRows - 1) / ChunkRows, (c0, c1) =>
        {
            float* o = stackalloc float[4];
            fixed (byte* wq = wqs)
            fixed (ushort* ws = wsc)
            fixed (sbyte* ap = act)
            fixed (float* dp = da)
            fixed (int* op = off)
                for (int r0 = c0 * ChunkRows; r0 < Math.Min(N, c1 * ChunkRows); r0 += 4)
                {
                    int rows = Math.Min(4, N - r0);
                    for (int t = 0; t < T; t++)
                    {
                        TK.GemvRows(format, wq + (nint)r0 * qsRow, qsRow, ws + (nint)r0 * nb, nb, rows, ap + (nint)t * nbp * 32, dp + (nint)t * nbp, op + (nint)t * nbp, nb, o);
                        float* yr = (float*)yP + (nint)t * ldy + r0;
                        for (int i = 0; i < rows; i++) yr[i] = bias is null ? o[i] : o[i] + bias[r0 + i];
                    }
                }
        });
    }

    /// <summary>
    /// The register-blocked GEMM: weight rows in panels of up to <see cref="PanelRowsMax"/> rows (about
    /// <see cref="PanelBytes"/> packed), split over threads; each worker packs a panel once and runs every tile of
    /// TileCols x rows against it, TileRows weight rows at a time.
    /// </summary>
    internal static void Gemm<TK>(ReadOnlySpan<float> x, int T, QuantizedMatrix w, float[]? bias, float* y, nint ldy, int threads) where TK : struct, IQuantBlockedKernels
    {
        Check(x, T, w);
        int K = w.Cols, N = w.Rows, nb = w.Blocks, nbp = (nb + 7) & ~7, format = w.Format.Id;
        if (T == 0 || N == 0) return;
        int R = TK.TileRows, TC = TK.TileCols, Tp = (T + TC - 1) / TC * TC, panelOffset = TK.PanelOffset(format);
        var (qs, sc, sums) = Activations(x, T, K, threads);
        long rowBytes = (long)nbp * 32;
        // pooled, not allocated: per-call large-object allocations cost more than small GEMMs (bench/RESULTS.md)
        var act = ArrayPool<sbyte>.Shared.Rent(checked((int)(Tp * rowBytes))); // tiles of TC rows, k-vectors interleaved
        var da = ArrayPool<float>.Shared.Rent(Tp * nbp);
        var off = ArrayPool<int>.Shared.Rent(Tp * nbp);
        try
        {
        // the last tile is cleared first: its rows past T (interleaved with the real ones) stay zero, outputs dropped
        Array.Clear(act, (int)((Tp - TC) * rowBytes), (int)(TC * rowBytes));
        Array.Clear(da, 0, Tp * nbp);
        Array.Clear(off, 0, Tp * nbp);
        fixed (sbyte* qp = qs, ap = act)
            for (int t = 0; t < T; t++)
            {
                TK.PackActivations(qp + (nint)t * K, nb, ap + (nint)(t / TC * TC * rowBytes) + (t % TC) * 32, TC * 32);
                for (int b = 0; b < nb; b++)
                {
                    da[(long)t * nbp + b] = sc[(long)t * nb + b];
                    off[(long)t * nbp + b] = panelOffset * sums[(long)t * nb + b];
                }
            }
        int P = (int)Math.Clamp(PanelBytes / rowBytes / R * R, R, PanelRowsMax);
        int panels = (N + P - 1) / P;
        int qsRow = nb * w.Format.QsBytesPerBlock;
        nint yP = (nint)y;
        var wqs = w.Qs; // an array or a mapped quantized checkpoint, pinned by fixed below
        var wsc = w.Scales;
        Workers.Run(threads, panels, (p0, p1) =>
        {
            // native, not managed: a managed panel is a large-object allocation per chunk (zeroed, and gen-2 collections)
            byte* pp = (byte*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)(P * rowBytes), 64);
            float* pscp = (float*)System.Runtime.InteropServices.NativeMemory.AlignedAlloc((nuint)((long)P * nbp * sizeof(float)), 64);
            float* o = stackalloc float[R * TC];
            try
            {
            fixed (byte* wq = wqs)
            fixed (ushort* ws = wsc)
            fixed (float* dp = da)
            fixed (sbyte* ap = act)
            fixed (int* op = off)
                for (int p = p0; p < p1; p++)
                {
                    int r0 = p * P, rows = Math.Min(P, N - r0), subs = (rows + R - 1) / R;
                    for (int s = 0; s < subs; s++)
                        TK.PackPanel(format, wq + (nint)(r0 + s * R) * qsRow, qsRow, ws + (nint)(r0 + s * R) * nb, nb, Math.Min(R, rows - s * R), nb,
                            pp + (nint)(s * R * rowBytes), pscp + (nint)s * R * nbp);
                    for (int t0 = 0; t0 < T; t0 += TC)
                    {
                        int tn = Math.Min(TC, T - t0);
                        for (int s = 0; s < subs; s++)
                        {
                            TK.GemmTile(format, pp + (nint)(s * R * rowBytes), pscp + (nint)s * R * nbp, ap + (nint)(t0 * rowBytes),
                                dp + (nint)t0 * nbp, op + (nint)t0 * nbp, nbp, nbp, o);
                            int rb = r0 + s * R, rn = Math.Min(R, rows - s * R);
                            for (int t = 0; t < tn; t++)
                            {
                                float* yr = (float*)yP + (nint)(t0 + t) * ldy + rb;
                                for (int r = 0; r < rn; r++) yr[r] = bias is null ? o[t * R + r] : o[t * R + r] + bias[rb + r];
                            }
                        }
                    }
                }
            }
            finally
            {
                System.Runtime.InteropServices.NativeMemory.AlignedFree(pp);
                System.Runtime.InteropServices.NativeMemory.AlignedFree(pscp);
            }
        });
        }
        finally
        {
            ArrayPool<sbyte>.Shared.Return(act);
            ArrayPool<float>.Shared.Return(da);
            ArrayPool<int>.Shared.Return(off);
        }
    }
}
