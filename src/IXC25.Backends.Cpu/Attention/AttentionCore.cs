using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Backends.Cpu.Simd;

namespace IXC25.Backends.Cpu.Attention;

/// <summary>
/// Blocked softmax attention over the GEMM microkernels. A block of up to <see cref="QB"/> query rows
/// (packed transposed, [D][QB]) sharing one KV head runs against the keys in blocks of <see cref="KB"/>
/// (keys in transposed 32-key panels, values in 32-dim panels: <see cref="KvPanels"/>'s layout):
/// <list type="number">
/// <item>scores: with more than <see cref="SmallQ"/> rows (prefill), transposed, S[s][q] = sum_d K[s][d] Q[q][d]
/// with keys as microkernel rows and queries as vector lanes, times the scale, masked to -inf where key s is
/// not visible to row q; then an online softmax per query lane: running max m and sum l, P = exp(S - m)
/// overwrites S, earlier output rows are rescaled by exp(m_old - m_new). With few rows (decode: the query
/// heads of one KV group), queries are the microkernel rows and keys the lanes (no idle lanes), the softmax
/// runs along each row, and P is written transposed into S;</item>
/// <item>O[q][d] (+)= sum_s P[s][q] V[s][d] (microkernel: queries are rows, head dims are the lanes).</item>
/// </list>
/// The output row is O / l. All reductions run in a fixed order (key blocks in order, fixed lanes), so the
/// result does not depend on threads. Masked keys inside a block get probability exactly 0 but still
/// pass through the P V product (0 * V; like torch's masked matmul, an infinite V at a masked key gives NaN).
/// </summary>
internal static unsafe class AttentionCore
{
    /// <summary>Query rows per block: the lanes of the score tile.</summary>
    public const int QB = 32;

    /// <summary>Keys per block (a multiple of the key panel).</summary>
    public const int KB = 256;

    /// <summary>Keys per transposed key panel (<see cref="KvPanels.KeyPanel"/>).</summary>
    public const int KeyPanel = KvPanels.KeyPanel;

    /// <summary>Head dims per value panel (<see cref="KvPanels.ValuePanel"/>).</summary>
    public const int ValuePanel = KvPanels.ValuePanel;

    /// <summary>
    /// Up to this many query rows (decode: the G heads of a group), scores are computed with queries as microkernel
    /// rows and keys as lanes (no idle lanes), then transposed into the score tile.
    /// </summary>
    public const int SmallQ = 8;

    /// <summary>Per-worker scratch for <see cref="Block{TK}"/>.</summary>
    public readonly struct Work
    {
        public Work(float* memory, int d, int dv)
        {
            QT = memory;                       // [D][QB]
            S = QT + (nint)d * QB;             // [KB][QB]
            O = S + (nint)KB * QB;             // [QB][DV]
            M = O + (nint)QB * dv;             // [QB] running max
            L = M + QB;                        // [QB] running sum
            Alpha = L + QB;                    // [QB] rescale factors
            SRows = Alpha + QB;                // [SmallQ][KB]
        }

        /// <summary>Floats needed for head dim d and value row length dv.</summary>
        public static long Floats(int d, int dv) => (long)d * QB + (long)KB * QB + (long)QB * dv + 3 * QB + (long)SmallQ * KB;

        public float* QT { get; }
        public float* S { get; }
        public float* O { get; }
        public float* M { get; }
        public float* L { get; }
        public float* Alpha { get; }
        public float* SRows { get; }
    }

    /// <summary>
    /// Rows q &lt; nq of w.QT (zero beyond nq) attend to keys [0, visible[q]) of one KV head: keys in transposed
    /// panels of 32 (element (s, d) at keys[(s / 32) * ldp + d * 32 + s % 32], whole panels readable), values
    /// in panels of 32 dims (element (s, d) at v[(d / 32) * ldvp + s * 32 + d % 32], dims up to dv readable). Writes D values
    /// of row q to yRows[q].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block<TK>(in Work w, int nq, int* visible, float* keys, nint ldp, float* v, nint ldvp, int d, int dv, float scale, float** yRows)
        where TK : struct, IGemmKernels
    {
        int mr = TK.MR, nr = TK.NR, lanes = Vector<float>.Count, softLanes = Vector512.IsHardwareAccelerated ? 16 : lanes;
        int qEnd = (nq + softLanes - 1) / softLanes * softLanes, kend = 0, minVisible = int.MaxValue;
        for (int q = 0; q < nq; q++) { kend = Math.Max(kend, visible[q]); minVisible = Math.Min(minVisible, visible[q]); }
        float* S = w.S, O = w.O, m = w.M, l = w.L, alpha = w.Alpha;
        for (int s0 = 0; s0 < kend; s0 += KB)
        {
            int nk = Math.Min(KB, kend - s0);
            bool first = s0 == 0;

            // scores; key block s0 starts on a panel boundary (KB is a multiple of 32)
            float* panels = keys + (nint)(s0 / KeyPanel) * ldp;
            if (nq <= SmallQ && nq <= mr)
            {
                // few rows (decode): queries as rows, keys as lanes (whole panels: the cache is padded to them);
                // softmax along each row, probabilities written transposed into S[s][q]
                float* sr = w.SRows;
                int nextKeys = Math.Min(KB, kend - s0 - nk);
                for (int j = 0; j < nk; j += nr)
                {
                    if (Sse.IsSupported && j % KeyPanel == 0 && j < nextKeys)
                    {
                        // decode streams the cache: prefetch the matching panel and value rows of the next key block
                        byte* kn = (byte*)(panels + (nint)((KB + j) / KeyPanel) * ldp);
                        for (int b = 0; b < KeyPanel * d * sizeof(float); b += 64) Sse.Prefetch1(kn + b);
                        int rows = Math.Min(KeyPanel, nextKeys - j);
                        for (int vp = 0; vp < dv; vp += ValuePanel)
                        {
                            byte* vn = (byte*)(v + (vp / ValuePanel) * ldvp + (nint)(s0 + KB + j) * ValuePanel);
                            for (int b = 0; b < rows * ValuePanel * sizeof(float); b += 64) Sse.Prefetch1(vn + b);
                        }
                    }
                    TK.Micro(nq, w.QT, QB, panels + (nint)(j / KeyPanel) * ldp + j % KeyPanel, KeyPanel, d, sr + j, KB, false);
                }
                for (int q = 0; q < nq; q++)
                    SoftmaxRow(sr + q * KB, nk, Math.Clamp(visible[q] - s0, 0, nk), first, scale, m + q, l + q, alpha + q, S + q);
            }
            else
            {
                // keys as rows (tiles of up to MR keys inside each panel), queries as lanes: S[s][q]
                for (int p0 = 0; p0 < nk; p0 += KeyPanel)
                {
                    float* panel = panels + (nint)(p0 / KeyPanel) * ldp;
                    int inPanel = Math.Min(KeyPanel, nk - p0);
                    for (int i0 = 0; i0 < inPanel; i0 += mr)
                        for (int qp = 0; qp < qEnd; qp += nr)
                            TK.Micro(Math.Min(mr, inPanel - i0), panel + i0, KeyPanel, w.QT + qp, QB, d, S + (p0 + i0) * QB + qp, QB, false);
                }
                if (s0 + nk > minVisible)
                    for (int s = Math.Max(0, minVisible - s0); s < nk; s++)
                        for (int q = 0; q < nq; q++)
                            if (s0 + s >= visible[q]) S[s * QB + q] = float.NegativeInfinity;

                // online softmax over the key block, per query lane (scores scaled on the fly)
                if (Vector512.IsHardwareAccelerated) Softmax512(S, nk, qEnd, first, scale, m, l, alpha);
                else SoftmaxVector(S, nk, qEnd, first, scale, m, l, alpha);
            }
            if (!first)
                for (int q = 0; q < nq; q++)
                {
                    float a = alpha[q];
                    if (a == 1f) continue;
                    var va = new Vector<float>(a);
                    float* row = O + (nint)q * dv;
                    for (int j = 0; j < dv; j += lanes) St(Ld(row + j, lanes) * va, row + j, lanes);
                }

            // O[q][:] (+)= sum_s P[s][q] V[s0 + s][:]
            for (int q0 = 0; q0 < nq; q0 += mr)
                for (int dp = 0; dp < dv; dp += nr)
                    TK.Micro(Math.Min(mr, nq - q0), S + q0, QB, v + (dp / ValuePanel) * ldvp + (nint)s0 * ValuePanel + dp % ValuePanel, ValuePanel, nk,
                        O + (nint)q0 * dv + dp, dv, !first);
        }
        for (int q = 0; q < nq; q++)
        {
            float lq = l[q];
            float* row = O + (nint)q * dv, y = yRows[q];
            int j = 0;
            if (Vector.IsHardwareAccelerated)
                for (var vl = new Vector<float>(lq); j + lanes <= d; j += lanes) (Vector.Load(row + j) / vl).Store(y + j);
            for (; j < d; j++) y[j] = row[j] / lq;
        }
    }

    /// <summary>
    /// Online softmax of one query row of scores x[0, n) (x * scale; entries from <paramref name="valid"/> on are masked):
    /// updates the running max *m and sum *l (first block: from scratch), sets *alpha = exp(m_old - m_new), and writes
    /// the probabilities to p[s * QB] (zero for masked keys). Max and sum run over vector lanes, then across lanes.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxRow(float* x, int n, int valid, bool first, float scale, float* m, float* l, float* alpha, float* p)
    {
        int lanes = Vector<float>.Count, s = 0;
        var vs = new Vector<float>(scale);
        float mx = first ? float.NegativeInfinity : *m;
        if (Vector.IsHardwareAccelerated && valid >= lanes)
        {
            var vm = new Vector<float>(mx);
            for (; s + lanes <= valid; s += lanes) vm = Vector.Max(vm, Vector.Load(x + s) * vs);
            for (int i = 0; i < lanes; i++) mx = MathF.Max(mx, vm[i]);
        }
        for (; s < valid; s++) mx = MathF.Max(mx, x[s] * scale);
        float sum = 0f;
        s = 0;
        if (Vector.IsHardwareAccelerated && valid >= lanes)
        {
            var vmx = new Vector<float>(mx);
            var acc = Vector<float>.Zero;
            for (; s + lanes <= valid; s += lanes)
            {
                var e = ExpV(Vector.Load(x + s) * vs - vmx);
                acc += e;
                for (int i = 0; i < lanes; i++) p[(s + i) * QB] = e[i];
            }
            sum = Vector.Sum(acc);
        }
        for (; s < valid; s++)
        {
            float e = MathF.Exp(x[s] * scale - mx);
            sum += e;
            p[s * QB] = e;
        }
        for (; s < n; s++) p[s * QB] = 0f;
        if (first) *l = sum;
        else
        {
            float a = MathF.Exp(*m - mx);
            *alpha = a;
            *l = *l * a + sum;
        }
        *m = mx;
    }

    /// <summary>
    /// For each query lane q &lt; qEnd over the key rows s &lt; nk of the score tile (x = S * scale): m_new = max(m, max_s x),
    /// P = exp(x - m_new) written back to S, l = l * alpha + sum_s P with alpha = exp(m - m_new) (first block: l = sum).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Softmax512(float* S, int nk, int qEnd, bool first, float scale, float* m, float* l, float* alpha)
    {
        var vs = Vector512.Create(scale);
        for (int q = 0; q < qEnd; q += 16)
        {
            var mx = first ? Vector512.Create(float.NegativeInfinity) : Vector512.Load(m + q);
            for (int s = 0; s < nk; s++) mx = Vector512.Max(mx, Vector512.Load(S + s * QB + q) * vs);
            var sum = Vector512<float>.Zero;
            for (int s = 0; s < nk; s++)
            {
                var p = VMath.Exp(Vector512.Load(S + s * QB + q) * vs - mx);
                p.Store(S + s * QB + q);
                sum += p;
            }
            if (first) sum.Store(l + q);
            else
            {
                var a = VMath.Exp(Vector512.Load(m + q) - mx);
                a.Store(alpha + q);
                (Vector512.Load(l + q) * a + sum).Store(l + q);
            }
            mx.Store(m + q);
        }
    }

    /// <summary><see cref="Softmax512"/> with <see cref="Vector{T}"/> lanes.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SoftmaxVector(float* S, int nk, int qEnd, bool first, float scale, float* m, float* l, float* alpha)
    {
        int lanes = Vector<float>.Count;
        var vs = new Vector<float>(scale);
        for (int q = 0; q < qEnd; q += lanes)
        {
            var mx = first ? new Vector<float>(float.NegativeInfinity) : Vector.Load(m + q);
            for (int s = 0; s < nk; s++) mx = Vector.Max(mx, Vector.Load(S + s * QB + q) * vs);
            var sum = Vector<float>.Zero;
            for (int s = 0; s < nk; s++)
            {
                var p = ExpV(Vector.Load(S + s * QB + q) * vs - mx);
                p.Store(S + s * QB + q);
                sum += p;
            }
            if (first) sum.Store(l + q);
            else
            {
                var a = ExpV(Vector.Load(m + q) - mx);
                a.Store(alpha + q);
                (Vector.Load(l + q) * a + sum).Store(l + q);
            }
            mx.Store(m + q);
        }
    }

    /// <summary>
    /// <see cref="VMath"/>'s vector exp (0.87 ulp, the same algorithm at every width, and faster than .NET's
    /// VectorNNN.Exp) on <see cref="Vector{T}"/>; a width it has no overload for falls back to MathF.Exp per lane.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpV(Vector<float> x)
    {
        if (Vector<float>.Count == 8) return VMath.Exp(x.AsVector256()).AsVector();
        if (Vector<float>.Count == 16) return VMath.Exp(x.AsVector512()).AsVector();
        if (Vector<float>.Count == 4) return VMath.Exp(x.AsVector128()).AsVector();
        Span<float> lanes = stackalloc float[Vector<float>.Count];
        for (int i = 0; i < lanes.Length; i++) lanes[i] = MathF.Exp(x[i]);
        return new Vector<float>(lanes);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Ld(float* p, int lanes) => Vector.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St(Vector<float> v, float* p, int lanes) => v.Store(p);
}
