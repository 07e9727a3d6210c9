using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using IXC25.Backends.Cpu.Gemm;

namespace IXC25.Backends.Cpu.Attention;

/// <summary>
/// Blocked softmax attention over the GEMM microkernels. A block of up to <see cref="QB"/> query rows
/// (packed transposed, [D][QB]) sharing one KV head runs against the keys in blocks of <see cref="KB"/>:
/// <list type="number">
/// <item>scores transposed, S[s][q] = sum_d K^T[d][s] Q^T[d][q] (microkernel: keys are rows, queries are
/// the vector lanes), times the scale, masked to -inf where key s is not visible to row q;</item>
/// <item>online softmax per query lane: running max m and sum l; probabilities P = exp(S - m) overwrite S;
/// earlier output rows are rescaled by exp(m_old - m_new);</item>
/// <item>O[q][d] += sum_s P[s][q] V[s][d] (microkernel: queries are rows, head dims are the lanes).</item>
/// </list>
/// The output row is O / l. All reductions run in a fixed order (key blocks in order, fixed lanes), so the
/// result does not depend on threads. Masked keys inside a block get probability exactly 0 but still
/// pass through the P V product (0 * V; like torch's masked matmul, an infinite V at a masked key gives NaN).
/// </summary>
internal static unsafe class AttentionCore
{
    /// <summary>Query rows per block: the lanes of the score tile.</summary>
    public const int QB = 32;

    /// <summary>Keys per block.</summary>
    public const int KB = 256;

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
    /// Rows q &lt; nq of w.QT (zero beyond nq) attend to keys [0, visible[q]) of one KV head: keys transposed
    /// (element (d, s) at kT[d * ldk + s], readable up to column max(visible) rounded up to 32), values (element (s, d) at v[s * ldv + d], readable up to column dv,
    /// a multiple of the tier's NR). Writes D values of row q to yRows[q].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Block<TK>(in Work w, int nq, int* visible, float* kT, nint ldk, float* v, nint ldv, int d, int dv, float scale, float** yRows)
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

            // scores, transposed: S[s][q]
            if (nq <= SmallQ && nq <= mr)
            {
                // queries as rows, keys as lanes (reads whole NR-key panels: the key layout is padded), then transpose
                float* sr = w.SRows;
                for (int j = 0; j < nk; j += nr) TK.Micro(nq, w.QT, QB, kT + s0 + j, ldk, d, sr + j, KB, false);
                for (int s = 0; s < nk; s++)
                {
                    for (int q = 0; q < nq; q++) S[s * QB + q] = sr[q * KB + s];
                    for (int q = nq; q < qEnd; q++) S[s * QB + q] = 0f;
                }
            }
            else
            {
                for (int s = 0; s < nk; s += mr)
                    for (int qp = 0; qp < QB; qp += nr)
                        TK.Micro(Math.Min(mr, nk - s), kT + s0 + s, ldk, w.QT + qp, QB, d, S + s * QB + qp, QB, false);
            }
            if (s0 + nk > minVisible)
                for (int s = Math.Max(0, minVisible - s0); s < nk; s++)
                    for (int q = 0; q < nq; q++)
                        if (s0 + s >= visible[q]) S[s * QB + q] = float.NegativeInfinity;

            // online softmax over the key block, per query lane (scores scaled on the fly)
            if (Vector512.IsHardwareAccelerated) Softmax512(S, nk, qEnd, first, scale, m, l, alpha);
            else SoftmaxVector(S, nk, qEnd, first, scale, m, l, alpha);
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
                    TK.Micro(Math.Min(mr, nq - q0), S + q0, QB, v + s0 * ldv + dp, ldv, nk, O + (nint)q0 * dv + dp, dv, !first);
        }
        for (int q = 0; q < nq; q++)
        {
            float lq = l[q];
            float* row = O + (nint)q * dv, y = yRows[q];
            for (int j = 0; j < d; j++) y[j] = row[j] / lq;
        }
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
                var p = Vector512.Exp(Vector512.Load(S + s * QB + q) * vs - mx);
                p.Store(S + s * QB + q);
                sum += p;
            }
            if (first) sum.Store(l + q);
            else
            {
                var a = Vector512.Exp(Vector512.Load(m + q) - mx);
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
                var p = Vector.Exp(Vector.Load(S + s * QB + q) * vs - mx);
                p.Store(S + s * QB + q);
                sum += p;
            }
            if (first) sum.Store(l + q);
            else
            {
                var a = Vector.Exp(Vector.Load(m + q) - mx);
                a.Store(alpha + q);
                (Vector.Load(l + q) * a + sum).Store(l + q);
            }
            mx.Store(m + q);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Ld(float* p, int lanes) => Vector.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void St(Vector<float> v, float* p, int lanes) => v.Store(p);
}
