using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu.Gemm;

/// <summary>
/// The kernels of one ISA tier, generated from spec/ops.json (pattern "gemm") by GemmEmitter into
/// GemmKernels.g.cs: <c>V512Kernels</c>, <c>V256Kernels</c>, <c>V128Kernels</c>, <c>ScalarKernels</c>.
/// The drivers in <see cref="GemmDriver"/> are generic over this interface, so each tier gets its own
/// specialized machine code.
/// </summary>
internal unsafe interface IGemmKernels
{
    /// <summary>Whether this tier's vectors are hardware-accelerated on this machine.</summary>
    static abstract bool IsSupported { get; }

    static abstract string Name { get; }

    /// <summary>Rows of the microkernel (rows of A / of the output).</summary>
    static abstract int MR { get; }

    /// <summary>Columns of the microkernel (columns of B / of the output), a whole number of vectors.</summary>
    static abstract int NR { get; }

    /// <summary>Elements per step of the dot kernels (2 vectors).</summary>
    static abstract int BK { get; }

    /// <summary>
    /// C[i, j] = (accumulate ? C[i, j] + s : s) with s = sum over k &lt; kc of A[k * lda + i] * B[k * ldb + j] for
    /// i &lt; mr, j &lt; NR: s is one fused multiply-add chain from zero in k order (multiply then add on tiers
    /// without FMA), added to C once at the end.
    /// </summary>
    static abstract void Micro(int mr, float* a, nint lda, float* b, nint ldb, int kc, float* c, nint ldc, bool accumulate);

    /// <summary>
    /// y[t * ldy + j] = dot(x row t, W row j) (+ bias[j]) for t &lt; tr, j &lt; rw; x rows in the dot layout for
    /// <paramref name="dtype"/> (<see cref="DotEvenOdd"/>), W rows of stride ldw elements of that dtype.
    /// </summary>
    static abstract void Dot(DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k, float* y, nint ldy, float* bias);

    /// <summary>x rows of the widest row-exact dot kernel (<see cref="DotRowsAcc"/>).</summary>
    static abstract int RowsTR { get; }

    /// <summary>Weight rows of the widest row-exact dot kernel (<see cref="DotRowsAcc"/> takes rw 1 or this).</summary>
    static abstract int RowsRW { get; }

    /// <summary>
    /// The row-exact dot kernels (batched decode), for tr &lt;= <see cref="RowsTR"/> x rows and rw 1 or <see cref="RowsRW"/>
    /// weight rows, in blocks of K: every output is computed exactly as the one-row (tr = 1) <see cref="Dot"/> kernel computes
    /// it (two accumulators, even and odd steps of <see cref="BK"/>; the same last block, horizontal sum, tail and bias), so a
    /// row's result does not depend on which rows share the call (the rows belong to different sequences). The accumulators
    /// of output (i, j) are the <see cref="BK"/> floats at acc + i * lacc + j * BK; this advances them over [k0, k1), both
    /// multiples of 2 BK, starting from zero when k0 is 0. <paramref name="pf"/>: rw weight rows (stride ldw) whose first
    /// k1 - k0 elements are prefetched while computing: the weights the caller passes next (a hint, never read).
    /// </summary>
    static abstract void DotRowsAcc(DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k0, int k1, float* acc, nint lacc, void* pf);

    /// <summary>
    /// The end of the row-exact dot kernels: y[t * ldy + j] from the accumulators after every block of 2 BK of K (ignored
    /// when K &lt; 2 BK), the last block of BK, the horizontal sum, the tail and the bias (see <see cref="DotRowsAcc"/>).
    /// </summary>
    static abstract void DotRowsEnd(DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k, float* acc, nint lacc, float* y, nint ldy, float* bias);

    /// <summary>Whether the dot kernels for this dtype read x even/odd-permuted within each block of <see cref="BK"/>.</summary>
    static abstract bool DotEvenOdd(DType dtype);
}
