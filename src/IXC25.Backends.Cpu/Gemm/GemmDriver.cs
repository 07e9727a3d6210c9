using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu.Gemm;

/// <summary>One product of a multi-target GEMM: c (row stride ldc) = a W^T (+ bias), or c += a W^T when <see cref="Accumulate"/>.</summary>
internal readonly unsafe struct GemmTarget
{
    public GemmTarget(WeightView w, float* bias, float* c, nint ldc, bool accumulate)
    {
        W = w;
        Bias = bias;
        C = c;
        Ldc = ldc;
        Accumulate = accumulate;
    }

    public WeightView W { get; }
    public float* Bias { get; }
    public float* C { get; }
    public nint Ldc { get; }
    public bool Accumulate { get; }
}

/// <summary>A weight matrix as stored: <see cref="Rows"/> rows of <see cref="Cols"/> elements of <see cref="DType"/>, rows <see cref="Stride"/> elements apart.</summary>
internal readonly unsafe struct WeightView
{
    public WeightView(void* data, DType dtype, int rows, int cols, nint stride)
    {
        Data = data;
        DType = dtype;
        Rows = rows;
        Cols = cols;
        Stride = stride;
    }

    public void* Data { get; }
    public DType DType { get; }
    public int Rows { get; }
    public int Cols { get; }
    public nint Stride { get; }

    /// <summary>Address of element (row r, column k).</summary>
    public void* At(int r, int k) => (byte*)Data + ((nint)r * Stride + k) * DType.Size();
}

/// <summary>
/// Loop drivers of y = x W^T (+ b) over the generated kernels of the best ISA tier (<see cref="IGemmKernels"/>).
/// <list type="bullet">
/// <item>Many rows (prefill): BLIS-style blocking. x is packed once per block of up to ~576 rows into
/// [rows / MR][K][MR] panels (native scratch); for each block of KC = 384 elements of K and each NR-column
/// panel of W, the panel is widened and transposed into a KC x NR float32 buffer on the worker's stack
/// (about L1-sized) and swept over all row panels by the MR x NR microkernel. The weight rows of the next
/// panel and the output tile of the next step are prefetched.</item>
/// <item>Few rows (decode, up to <see cref="DotMaxRows"/>): dot-product kernels that stream W once, reading
/// bf16/f16 directly and widening in registers, several weight rows per pass.</item>
/// </list>
/// Threads split output columns (weight rows) only. Every output element is computed by one fixed sequence
/// of operations whatever the split: in the blocked path, for each block of KC in order, one fused multiply-add
/// chain from zero added to the output, which starts as the bias (or the first block's sum); in the dot path
/// lane-wise chains, a fixed horizontal sum, the tail, then the bias.
/// Results are therefore bit-identical for every thread count. Which path runs depends on the row count only.
/// </summary>
internal static unsafe class GemmDriver
{
    /// <summary>Block of K per packed weight panel.</summary>
    public const int KC = 384;

    /// <summary>Row count up to which the dot-product path is used.</summary>
    public const int DotMaxRows = 6;

    /// <summary>Target rows per packed x block (the block stays in L2 while a weight panel sweeps it).</summary>
    private const int MCTarget = 576;

    /// <summary>The ISA tier in use ("Vector512", "Vector256", "Vector128", "Scalar").</summary>
    public static string Tier =>
        V512Kernels.IsSupported ? V512Kernels.Name : V256Kernels.IsSupported ? V256Kernels.Name : V128Kernels.IsSupported ? V128Kernels.Name : ScalarKernels.Name;

    /// <summary>c[m, N] (row stride ldc) = a[m, K] (row stride lda) W^T (+ bias[N]) with W = <paramref name="w"/> [N, K].</summary>
    public static void Linear(float* a, nint lda, int m, WeightView w, float* bias, float* c, nint ldc, int threads) =>
        Linear(a, lda, m, [new GemmTarget(w, bias, c, ldc, accumulate: false)], threads);

    /// <summary>
    /// Several products of the same a[m, K] (row stride lda), packed once: for each target, c = a W^T (+ bias), or with
    /// <see cref="GemmTarget.Accumulate"/> (blocked path only, m &gt; <see cref="DotMaxRows"/>), c = c + a W^T where each
    /// block of KC adds its chain sum to c (one add per output for K &lt;= KC).
    /// </summary>
    public static void Linear(float* a, nint lda, int m, GemmTarget[] targets, int threads)
    {
        if (V512Kernels.IsSupported) Linear<V512Kernels>(a, lda, m, targets, threads);
        else if (V256Kernels.IsSupported) Linear<V256Kernels>(a, lda, m, targets, threads);
        else if (V128Kernels.IsSupported) Linear<V128Kernels>(a, lda, m, targets, threads);
        else Linear<ScalarKernels>(a, lda, m, targets, threads);
    }

    internal static void Linear<TK>(float* a, nint lda, int m, GemmTarget[] targets, int threads) where TK : struct, IGemmKernels
    {
        if (m <= 0 || targets.Length == 0) return;
        int k = targets[0].W.Cols;
        foreach (var t in targets)
        {
            if (t.W.Cols != k) throw new ArgumentException("GEMM targets of one call must share K");
            if (t.Accumulate && (m <= DotMaxRows || t.Bias != null)) throw new ArgumentException("accumulating GEMM targets need more than DotMaxRows rows and no bias");
        }
        if (k == 0)
        {
            foreach (var t in targets)
                if (!t.Accumulate)
                    for (int r = 0; r < m; r++)
                        for (int j = 0; j < t.W.Rows; j++) t.C[r * t.Ldc + j] = t.Bias != null ? t.Bias[j] : 0f;
            return;
        }
        if (m <= DotMaxRows)
            foreach (var t in targets) Dot<TK>(a, lda, m, t.W, t.Bias, t.C, t.Ldc, threads);
        else Blocked<TK>(a, lda, m, targets, threads);
    }

    /// <summary>
    /// Row-exact product (batched decode, rows of different sequences): c[m, N] = a[m, K] W^T (+ bias) for any m, with
    /// every row bit-identical to <see cref="Linear(float*, nint, int, WeightView, float*, float*, nint, int)"/> on that
    /// row alone (m = 1: the one-row dot kernel), whatever the other rows and the thread count. W is streamed once for
    /// all rows: each group of weight rows meets every x row (<see cref="IGemmKernels.DotRowsAcc"/>, RowsTR x rows at a time, K in blocks)
    /// while it is in cache.
    /// </summary>
    public static void LinearRows(float* a, nint lda, int m, WeightView w, float* bias, float* c, nint ldc, int threads)
    {
        if (V512Kernels.IsSupported) LinearRows<V512Kernels>(a, lda, m, w, bias, c, ldc, threads);
        else if (V256Kernels.IsSupported) LinearRows<V256Kernels>(a, lda, m, w, bias, c, ldc, threads);
        else if (V128Kernels.IsSupported) LinearRows<V128Kernels>(a, lda, m, w, bias, c, ldc, threads);
        else LinearRows<ScalarKernels>(a, lda, m, w, bias, c, ldc, threads);
    }

    internal static void LinearRows<TK>(float* a, nint lda, int m, WeightView w, float* bias, float* c, nint ldc, int threads) where TK : struct, IGemmKernels
    {
        if (m <= 0) return;
        if (w.Cols == 0)
        {
            Linear<TK>(a, lda, m, [new GemmTarget(w, bias, c, ldc, accumulate: false)], threads);
            return;
        }
        Dot<TK>(a, lda, m, w, bias, c, ldc, threads, rowExact: true);
    }

    /// <summary>Weight rows whose accumulators stay together over the blocks of K of the row-exact product.</summary>
    private const int RowsGroup = 8;

    /// <summary>Elements of K per block of the row-exact product: the x block of 8 rows (16 KB) and the group's weights (8 KB
    /// of bf16) stay in L1 while every pair of weight rows meets every x row.</summary>
    private const int RowsKc = 512;

    /// <summary>
    /// Row-exact product of weight rows [r0, r1): per group of <see cref="RowsGroup"/> rows, K in blocks of
    /// <see cref="RowsKc"/> (rounded to 2 BK), each block through every (x rows, weight rows) tile with the accumulators in
    /// memory between blocks (same values, same order as in registers), then the end of every output. The weights the next
    /// call reads are prefetched during the current one.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRowsRange<TK>(float* xp, nint ldx, int m, WeightView w, float* bias, float* c, nint ldc, int r0, int r1) where TK : struct, IGemmKernels
    {
        int tr = TK.RowsTR, rwMax = TK.RowsRW, bk = TK.BK, k = w.Cols;
        int kMain = k - k % (2 * bk), kc = Math.Max(2 * bk, RowsKc - RowsKc % (2 * bk));
        nint lacc = (nint)RowsGroup * bk;
        long accFloats = m * lacc;
        float* onStack = stackalloc float[(int)Math.Min(accFloats, 16384)];
        float* acc = accFloats <= 16384 ? onStack : (float*)NativeMemory.AlignedAlloc((nuint)(accFloats * sizeof(float)), 64);
        try
        {
            for (int g0 = r0; g0 < r1; g0 += RowsGroup)
            {
                int g1 = Math.Min(r1, g0 + RowsGroup);
                for (int k0 = 0; k0 < kMain; k0 += kc)
                {
                    int k1 = Math.Min(kMain, k0 + kc);
                    for (int j = g0; j < g1;)
                    {
                        int rw = g1 - j >= rwMax ? rwMax : 1;
                        // next: the same rows' next block, else the next group's first block (the same rows at the very end)
                        void* pf = k1 < kMain ? w.At(j, k1) : j + RowsGroup + rw <= r1 ? w.At(j + RowsGroup, 0) : w.At(j, k0);
                        for (int t0 = 0; t0 < m; t0 += tr)
                            TK.DotRowsAcc(w.DType, Math.Min(tr, m - t0), rw, xp + t0 * ldx, ldx, w.At(j, 0), w.Stride, k0, k1, acc + t0 * lacc + (j - g0) * bk, lacc, pf);
                        j += rw;
                    }
                }
                for (int j = g0; j < g1;)
                {
                    int rw = g1 - j >= rwMax ? rwMax : 1;
                    for (int t0 = 0; t0 < m; t0 += tr)
                        TK.DotRowsEnd(w.DType, Math.Min(tr, m - t0), rw, xp + t0 * ldx, ldx, w.At(j, 0), w.Stride, k, acc + t0 * lacc + (j - g0) * bk,
                            lacc, c + t0 * ldc + j, ldc, bias == null ? null : bias + j);
                    j += rw;
                }
            }
        }
        finally
        {
            if (accFloats > 16384) NativeMemory.AlignedFree(acc);
        }
    }

    // ------------------------------------------------------------------ blocked (prefill)

    private static void Blocked<TK>(float* a, nint lda, int m, GemmTarget[] targets, int threads) where TK : struct, IGemmKernels
    {
        int mr = TK.MR, nr = TK.NR, k = targets[0].W.Cols;
        int blocks = (m + MCTarget - 1) / MCTarget;
        int mc = RoundUp((m + blocks - 1) / blocks, mr);
        // the column panels of all targets form one list of work items: [start[o], start[o + 1]) belong to target o
        var start = new int[targets.Length + 1];
        for (int o = 0; o < targets.Length; o++) start[o + 1] = start[o] + (targets[o].W.Rows + nr - 1) / nr;
        using var ap = Scratch.Rent((long)mc * k);
        nint apP = (nint)ap.Pointer, aP = (nint)a;
        for (int ic = 0; ic < m; ic += mc)
        {
            int mcb = Math.Min(mc, m - ic), row0 = ic;
            int panelsM = (mcb + mr - 1) / mr;
            Workers.Run(threads, panelsM, (p0, p1) =>
            {
                for (int p = p0; p < p1; p++)
                    PackA((float*)aP + (nint)(row0 + p * mr) * lda, lda, Math.Min(mr, mcb - p * mr), k, (float*)apP + (nint)p * mr * k, mr);
            });
            Workers.Run(threads, start[^1], (i0, i1) =>
            {
                for (int o = 0; o < targets.Length; o++)
                {
                    int j0 = Math.Max(i0, start[o]) - start[o], j1 = Math.Min(i1, start[o + 1]) - start[o];
                    if (j0 >= j1) continue;
                    var t = targets[o];
                    BlockedColumns<TK>((float*)apP, mcb, t.W, t.Bias, t.C + row0 * t.Ldc, t.Ldc, j0, j1, t.Accumulate);
                }
            });
        }
    }

    /// <summary>Output rows [0, mcb) (x panels packed in ap) times the NR-column panels [j0, j1) of W.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void BlockedColumns<TK>(float* ap, int mcb, WeightView w, float* bias, float* c, nint ldc, int j0, int j1, bool into) where TK : struct, IGemmKernels
    {
        int mr = TK.MR, nr = TK.NR, n = w.Rows, k = w.Cols;
        int panelsM = (mcb + mr - 1) / mr;
        float* bRaw = stackalloc float[KC * nr + 16];
        float* bp = (float*)(((nint)bRaw + 63) & ~(nint)63);
        float* tmp = stackalloc float[mr * nr];
        int c0 = j0 * nr, c1 = Math.Min(n, j1 * nr);
        if (bias != null && !into)
            for (int t = 0; t < mcb; t++) new ReadOnlySpan<float>(bias + c0, c1 - c0).CopyTo(new Span<float>(c + t * ldc + c0, c1 - c0));
        for (int pc = 0; pc < k; pc += KC)
        {
            int kc = Math.Min(KC, k - pc);
            bool accumulate = into || pc > 0 || bias != null;
            for (int jp = j0; jp < j1; jp++)
            {
                int n0 = jp * nr, nn = Math.Min(nr, n - n0);
                if (!FastPack.TryPackB(w.DType, w.At(n0, pc), w.Stride, nn, kc, bp, nr)) GemmPack.PackB(w.DType, w.At(n0, pc), w.Stride, nn, kc, bp, nr);
                // weight rows of the next panel, spread over this panel's sweep (they come from memory)
                int nextRows = jp + 1 < j1 ? Math.Min(nr, n - n0 - nr) : 0, rowBytes = kc * w.DType.Size();
                int linesPerRow = (rowBytes + 63) / 64, nextLines = nextRows * linesPerRow, line = 0;
                for (int p = 0; p < panelsM; p++)
                {
                    int rows = Math.Min(mr, mcb - p * mr);
                    float* apan = ap + (nint)p * mr * k + (nint)pc * mr;
                    float* cp = c + (nint)p * mr * ldc + n0;
                    if (Sse.IsSupported)
                    {
                        // the output tile of the next sweep step (rows far apart: not caught by the hardware prefetcher)
                        if (p + 1 < panelsM)
                        {
                            float* cn = cp + (nint)mr * ldc;
                            int nextTileRows = Math.Min(mr, mcb - (p + 1) * mr);
                            for (int i = 0; i < nextTileRows; i++)
                                for (int j = 0; j < nn; j += 16) Sse.Prefetch0(cn + i * ldc + j);
                        }
                        for (int stop = (int)((long)nextLines * (p + 1) / panelsM); line < stop; line++)
                            Sse.Prefetch1((byte*)w.At(n0 + nr + line / linesPerRow, pc) + (line % linesPerRow) * 64);
                    }
                    if (nn == nr)
                    {
                        TK.Micro(rows, apan, mr, bp, nr, kc, cp, ldc, accumulate);
                        continue;
                    }
                    if (accumulate)
                        for (int i = 0; i < rows; i++)
                            for (int j = 0; j < nn; j++) tmp[i * nr + j] = cp[i * ldc + j];
                    TK.Micro(rows, apan, mr, bp, nr, kc, tmp, nr, accumulate);
                    for (int i = 0; i < rows; i++)
                        for (int j = 0; j < nn; j++) cp[i * ldc + j] = tmp[i * nr + j];
                }
            }
        }
    }

    /// <summary>dst[kk * mr + i] = src[i * lda + kk] for i &lt; rows, zero for rows &lt;= i &lt; mr.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackA(float* src, nint lda, int rows, int k, float* dst, int mr)
    {
        for (int i = 0; i < rows; i++)
        {
            float* s = src + i * lda;
            float* d = dst + i;
            for (int kk = 0; kk < k; kk++) d[(nint)kk * mr] = s[kk];
        }
        for (int i = rows; i < mr; i++)
            for (int kk = 0; kk < k; kk++) dst[(nint)kk * mr + i] = 0f;
    }

    // ------------------------------------------------------------------ dot (decode)

    /// <summary>x packed once in the dot layout, weight rows split among the workers in groups of 8; each group through
    /// the row-exact kernels (<see cref="DotRowsRange{TK}"/>) or the few-rows ones (<see cref="DotRows{TK}"/>). One row
    /// takes the one-row kernel, which defines the row-exact result, streaming each weight row whole.</summary>
    private static void Dot<TK>(float* a, nint lda, int m, WeightView w, float* bias, float* c, nint ldc, int threads, bool rowExact = false) where TK : struct, IGemmKernels
    {
        int k = w.Cols, n = w.Rows;
        nint ldx = RoundUp(k, 16);
        using var xp = Scratch.Rent(m * ldx);
        PackDotX(a, lda, m, k, TK.BK, TK.DotEvenOdd(w.DType), xp.Pointer, ldx);
        nint xP = (nint)xp.Pointer, cP = (nint)c, biasP = (nint)bias;
        const int Group = 8;
        Workers.Run(threads, (n + Group - 1) / Group, (g0, g1) =>
        {
            int r0 = g0 * Group, r1 = Math.Min(n, g1 * Group);
            if (rowExact && m > 1) DotRowsRange<TK>((float*)xP, ldx, m, w, (float*)biasP, (float*)cP, ldc, r0, r1);
            else DotRows<TK>((float*)xP, ldx, m, w, (float*)biasP, (float*)cP, ldc, r0, r1);
        });
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DotRows<TK>(float* xp, nint ldx, int m, WeightView w, float* bias, float* c, nint ldc, int r0, int r1) where TK : struct, IGemmKernels
    {
        // 4 weight rows per pass (1 at the end of the range); up to 4 x rows per kernel call. The variants for the
        // same number of x rows compute each output identically, so where a range ends does not matter.
        int dist = PrefetchGroups * 4;
        nint rowBytes = (nint)w.Cols * w.DType.Size();
        for (int j = r0; j < r1;)
        {
            int rw = r1 - j >= 4 ? 4 : 1;
            if (dist > 0 && Sse.IsSupported && rw == 4)
            {
                // the weight rows dist ahead (in this range), one burst per pass: they are in flight while this pass reads
                // its own (it helped under load; on a quiet machine distances 0, 1 and 2 measured the same: RESULTS.md)
                int p0 = j + dist, p1 = Math.Min(r1, p0 + 4);
                for (int r = p0; r < p1; r++)
                {
                    byte* row = (byte*)w.At(r, 0);
                    for (nint o = 0; o < rowBytes; o += 64) Sse.Prefetch0(row + o);
                }
            }
            for (int t0 = 0; t0 < m; t0 += 4)
                TK.Dot(w.DType, Math.Min(4, m - t0), rw, xp + t0 * ldx, ldx, w.At(j, 0), w.Stride, w.Cols, c + t0 * ldc + j, ldc, bias == null ? null : bias + j);
            j += rw;
        }
    }

    /// <summary>
    /// x rows in the dot layout: each block of bk elements even/odd-permuted (evens first) when
    /// <paramref name="evenOdd"/>, the tail (k mod bk) in natural order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void PackDotX(float* x, nint lda, int m, int k, int bk, bool evenOdd, float* dst, nint ldd)
    {
        for (int t = 0; t < m; t++)
        {
            float* s = x + t * lda, d = dst + t * ldd;
            int kk = 0;
            if (evenOdd)
            {
                int half = bk / 2;
                for (; kk + bk <= k; kk += bk)
                    for (int l = 0; l < half; l++)
                    {
                        d[kk + l] = s[kk + 2 * l];
                        d[kk + half + l] = s[kk + 2 * l + 1];
                    }
            }
            for (; kk < k; kk++) d[kk] = s[kk];
        }
    }

    /// <summary>
    /// Software prefetch distance of the few-rows dot path (decode), in passes of 4 weight rows: before each pass, the
    /// rows this many passes ahead in the worker's range are prefetched (every cache line, in one burst). 2 measured best
    /// on the whole 7B decode under load; on a quiet machine 0, 1 and 2 were not separable (bench/RESULTS.md); 0 turns it off. Internal and settable
    /// for the benchmarks and tests; results do not depend on it (a prefetch only hints the cache).
    /// </summary>
    internal static int PrefetchGroups = 2;

    internal static int RoundUp(int v, int m) => (v + m - 1) / m * m;
}
