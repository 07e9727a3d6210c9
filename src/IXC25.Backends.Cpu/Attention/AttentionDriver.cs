using System.Numerics;
using System.Runtime.CompilerServices;
using IXC25.Backends.Cpu.Gemm;

namespace IXC25.Backends.Cpu.Attention;

/// <summary>Where the query rows of an attention call come from and where each output row goes.</summary>
internal unsafe interface IQuerySource
{
    /// <summary>Writes the D values of query head <paramref name="head"/> at token <paramref name="t"/> to dst.</summary>
    void Load(int head, int t, float* dst);

    /// <summary>The D-element output row of query head <paramref name="head"/> at token <paramref name="t"/>.</summary>
    float* Output(int head, int t);
}

/// <summary>InternLM2's fused wqkv output: qkv [T, (H + 2 HKV) D] interleaved per KV group, rotated with cos/sin [T, D]; y [T, H D].</summary>
internal readonly unsafe struct InternLm2Queries(float* qkv, float* cos, float* sin, int h, int hkv, int d, float* y) : IQuerySource
{
    public void Load(int head, int t, float* dst)
    {
        int g = hkv, groupSize = h / g, group = head / groupSize, j = head % groupSize;
        float* src = qkv + (nint)t * (h + 2 * hkv) * d + (nint)(group * (groupSize + 2) + j) * d;
        RopeKernel.Row(src, cos + (nint)t * d, sin + (nint)t * d, d, dst);
    }

    public float* Output(int head, int t) => y + (nint)t * h * d + (nint)head * d;
}

/// <summary>Plain queries q [H, T, D] (optionally multiplied by the scale in float32 first); y [T, H D].</summary>
internal readonly unsafe struct PlainQueries(float* q, int h, int tq, int d, float scaleQ, float* y) : IQuerySource
{
    public void Load(int head, int t, float* dst)
    {
        float* src = q + ((nint)head * tq + t) * d;
        if (scaleQ == 1f) new ReadOnlySpan<float>(src, d).CopyTo(new Span<float>(dst, d));
        else for (int i = 0; i < d; i++) dst[i] = src[i] * scaleQ;
    }

    public float* Output(int head, int t) => y + (nint)t * h * d + (nint)head * d;
}

/// <summary>Rotary embedding of one row, in torch's float32 order: y = x * cos + rotate_half(x) * sin (no fused multiply-add).</summary>
internal static unsafe class RopeKernel
{
    public static void Row(float* x, float* cos, float* sin, int d, float* y)
    {
        int half = d / 2, i = 0, lanes = Vector<float>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i + lanes <= half; i += lanes)
            {
                var lo = Vector.Load(x + i);
                var hi = Vector.Load(x + half + i);
                var rlo = lo * Vector.Load(cos + i) + -hi * Vector.Load(sin + i);
                var rhi = hi * Vector.Load(cos + half + i) + lo * Vector.Load(sin + half + i);
                rlo.Store(y + i);
                rhi.Store(y + half + i);
            }
        for (; i < half; i++)
        {
            float lo = x[i], hi = x[half + i];
            float rlo = lo * cos[i] + -hi * sin[i];
            float rhi = hi * cos[half + i] + lo * sin[half + i];
            y[i] = rlo;
            y[half + i] = rhi;
        }
    }
}

/// <summary>
/// Attention drivers over <see cref="AttentionCore"/>: grouped-query causal attention against a
/// <see cref="KvPanels"/> (InternLM2 prefill and decode, sdpa) and CLIP's batched multi-head attention.
/// Work items are (KV head, block of tokens, block of the group's query heads): the query heads that share
/// a KV head are stacked into one block (for decode, all G heads of a group in one block), so each key
/// block is read once per group. Items are split statically over threads; each item writes only its own
/// output rows, and its arithmetic does not depend on the split.
/// </summary>
internal static unsafe class AttentionDriver
{
    /// <summary>
    /// T query tokens of H heads (from <paramref name="queries"/>) attend to the cache's keys of their group;
    /// query token t sees keys [0, TP + t] when causal, all keys otherwise (TP = cache.Length - T for causal).
    /// Scores are multiplied by <paramref name="scale"/> (pass 1 when the queries are pre-scaled).
    /// </summary>
    public static void Gqa<TQ>(TQ queries, int H, int HKV, int T, int D, KvPanels cache, bool causal, float scale, int threads) where TQ : struct, IQuerySource
    {
        if (V512Kernels.IsSupported) Gqa<V512Kernels, TQ>(queries, H, HKV, T, D, cache, causal, scale, threads);
        else if (V256Kernels.IsSupported) Gqa<V256Kernels, TQ>(queries, H, HKV, T, D, cache, causal, scale, threads);
        else if (V128Kernels.IsSupported) Gqa<V128Kernels, TQ>(queries, H, HKV, T, D, cache, causal, scale, threads);
        else Gqa<ScalarKernels, TQ>(queries, H, HKV, T, D, cache, causal, scale, threads);
    }

    private static void Gqa<TK, TQ>(TQ queries, int H, int HKV, int T, int D, KvPanels cache, bool causal, float scale, int threads)
        where TK : struct, IGemmKernels where TQ : struct, IQuerySource
    {
        const int QB = AttentionCore.QB;
        int G = H / HKV, TKeys = cache.Length, TP = TKeys - T, DV = cache.ValueStride;
        int tokensPerBlock = Math.Max(1, QB / G), headsPerBlock = Math.Min(G, QB / tokensPerBlock);
        int tokenBlocks = (T + tokensPerBlock - 1) / tokensPerBlock, headBlocks = (G + headsPerBlock - 1) / headsPerBlock;
        int items = HKV * tokenBlocks * headBlocks;
        Workers.Run(threads, items, (i0, i1) =>
        {
            using var mem = Scratch.Rent(AttentionCore.Work.Floats(D, DV) + D);
            var work = new AttentionCore.Work(mem.Pointer, D, DV);
            float* row = mem.Pointer + AttentionCore.Work.Floats(D, DV);
            int* visible = stackalloc int[QB];
            float** yRows = stackalloc float*[QB];
            for (int item = i0; item < i1; item++)
            {
                int g = item / (tokenBlocks * headBlocks), rest = item % (tokenBlocks * headBlocks);
                int tb = rest / headBlocks, hb = rest % headBlocks;
                int nq = 0;
                for (int jj = 0; jj < headsPerBlock; jj++)
                {
                    int j = hb * headsPerBlock + jj;
                    if (j >= G) break;
                    int head = g * G + j;
                    for (int tt = 0; tt < tokensPerBlock; tt++)
                    {
                        int t = tb * tokensPerBlock + tt;
                        if (t >= T) break;
                        queries.Load(head, t, row);
                        for (int dd = 0; dd < D; dd++) work.QT[(nint)dd * QB + nq] = row[dd];
                        visible[nq] = causal ? TP + t + 1 : TKeys;
                        yRows[nq] = queries.Output(head, t);
                        nq++;
                    }
                }
                for (int dd = 0; dd < D; dd++)
                    for (int q = nq; q < QB; q++) work.QT[(nint)dd * QB + q] = 0f;
                AttentionCore.Block<TK>(work, nq, visible, cache.Keys(g), cache.KeyPanelStride, cache.Values(g), cache.ValuePanelStride, D, DV, scale, yRows);
            }
        });
    }

    /// <summary>
    /// CLIP attention core: q, k, v, y [N, T, C] with heads of C / heads channels; y = softmax((q * scale) k^T) v per
    /// image and head, no mask. One work item per (image, head): its keys are packed transposed and its values
    /// padded once, then all its query blocks run.
    /// </summary>
    public static void Mha(float* q, float* k, float* v, int N, int T, int C, int heads, float scale, float* y, int threads)
    {
        if (V512Kernels.IsSupported) Mha<V512Kernels>(q, k, v, N, T, C, heads, scale, y, threads);
        else if (V256Kernels.IsSupported) Mha<V256Kernels>(q, k, v, N, T, C, heads, scale, y, threads);
        else if (V128Kernels.IsSupported) Mha<V128Kernels>(q, k, v, N, T, C, heads, scale, y, threads);
        else Mha<ScalarKernels>(q, k, v, N, T, C, heads, scale, y, threads);
    }

    private static void Mha<TK>(float* q, float* k, float* v, int N, int T, int C, int heads, float scale, float* y, int threads) where TK : struct, IGemmKernels
    {
        const int QB = AttentionCore.QB;
        int D = C / heads, DV = (D + 31) / 32 * 32;
        nint qP = (nint)q, kP = (nint)k, vP = (nint)v, yP = (nint)y;
        Workers.Run(threads, N * heads, (i0, i1) =>
        {
            long workFloats = AttentionCore.Work.Floats(D, DV);
            const int KP = KvPanels.KeyPanel, VP = KvPanels.ValuePanel;
            int tPad = (T + KP - 1) / KP * KP;
            using var mem = Scratch.Rent(workFloats + (long)D * tPad + (long)T * DV);
            var work = new AttentionCore.Work(mem.Pointer, D, DV);
            float* kp = mem.Pointer + workFloats, vv = kp + (nint)D * tPad;
            for (int s = T; s < tPad; s++)
                for (int dd = 0; dd < D; dd++) kp[(nint)(s / KP) * KP * D + dd * KP + s % KP] = 0f;
            int* visible = stackalloc int[QB];
            float** yRows = stackalloc float*[QB];
            for (int q = 0; q < QB; q++) visible[q] = T;
            for (int item = i0; item < i1; item++)
            {
                int n = item / heads, h = item % heads;
                float* kb = (float*)kP + (nint)n * T * C + h * D, vb = (float*)vP + (nint)n * T * C + h * D;
                float* qb = (float*)qP + (nint)n * T * C + h * D, yb = (float*)yP + (nint)n * T * C + h * D;
                for (int s = 0; s < T; s++)
                {
                    float* ks = kb + (nint)s * C, vs = vb + (nint)s * C;
                    for (int dd = 0; dd < D; dd++) kp[(nint)(s / KP) * KP * D + dd * KP + s % KP] = ks[dd];
                    for (int dd = 0; dd < DV; dd++) vv[(nint)(dd / VP) * T * VP + (nint)s * VP + dd % VP] = dd < D ? vs[dd] : 0f;
                }
                for (int t0 = 0; t0 < T; t0 += QB)
                {
                    int nq = Math.Min(QB, T - t0);
                    for (int r = 0; r < QB; r++)
                    {
                        float* src = qb + (nint)(t0 + r) * C;
                        for (int dd = 0; dd < D; dd++) work.QT[(nint)dd * QB + r] = r < nq ? src[dd] * scale : 0f;
                        if (r < nq) yRows[r] = yb + (nint)(t0 + r) * C;
                    }
                    AttentionCore.Block<TK>(work, nq, visible, kp, KP * D, vv, (nint)T * VP, D, DV, 1f, yRows);
                }
            }
        });
    }
}
