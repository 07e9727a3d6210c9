using System;
using System.Collections.Generic;
using System.Linq;
using IXC25.Generators.Spec;

namespace IXC25.Generators.Emit;

/// <summary>
/// Emits the register-blocked CPU kernels of the ops whose kernel pattern is <c>gemm</c> (spec/ops.json
/// "linear"), one struct per ISA tier (Vector512, Vector256, Vector128, scalar) implementing the
/// hand-written <c>IXC25.Backends.Cpu.Gemm.IGemmKernels</c>:
/// <list type="bullet">
/// <item><c>Micro</c>: the outer-product microkernel C[mr, NR] (+)= sum_k A[k, 0..mr) x B[k, 0..NR) over
/// float32 panels with arbitrary row strides, fully unrolled for every mr in 1..MR (accumulators stay in
/// registers). Every output element gets one fused multiply-add chain in k order starting from zero, added
/// to C at the end when accumulating (so a long K summed in blocks is as accurate as a pairwise split).</item>
/// <item><c>Dot</c>: the dot-product kernels for few rows (decode): tr rows of x against rw rows of a
/// weight stored as one of the spec's widen dtypes, widened in registers (bf16: shift; f16: exact bit
/// conversion; f32: none). Per output: lane-wise fused chains over blocks of BK = 2W elements, a fixed
/// horizontal sum, the tail in k order, then the bias. The same order for every (tr, rw) variant.</item>
/// <item><c>PackB</c>: widening transpose of NR weight rows into a [kc, NR] float32 panel.</item>
/// </list>
/// The loop drivers, threading and memory are hand-written (src/IXC25.Backends.Cpu/Gemm).
/// </summary>
internal static class GemmEmitter
{
    public const string Namespace = "IXC25.Backends.Cpu.Gemm";

    /// <param name="Vec">Vector type name (null: scalar).</param>
    /// <param name="W">float lanes per vector.</param>
    /// <param name="MR">rows of the microkernel (x rows).</param>
    /// <param name="NV">vectors per microkernel row (NR = NV * W).</param>
    /// <param name="Fma">condition under which the fused multiply-add is a single instruction.</param>
    /// <param name="RowsTr">x rows of the widest row-exact dot kernel (<c>DotRowsAcc</c>, <c>DotRowsEnd</c>).</param>
    /// <param name="RowsRw">weight rows of the widest row-exact dot kernel.</param>
    private sealed record Tier(string Name, string? Vec, int W, int MR, int NV, string Accelerated, string Fma, string Doc, int RowsTr, int RowsRw)
    {
        public int NR => NV * W;
        public int BK => Vec is null ? 1 : 2 * W;
    }

    private static readonly Tier[] Tiers =
    {
        new("V512Kernels", "Vector512", 16, 14, 2, "global::System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated", "true",
            "AVX-512: 14 x 32 microkernel (28 zmm accumulators); row-exact dot 4 x 2 (16 zmm accumulators).", 4, 2),
        new("V256Kernels", "Vector256", 8, 6, 2, "global::System.Runtime.Intrinsics.Vector256.IsHardwareAccelerated",
            "global::System.Runtime.Intrinsics.X86.Fma.IsSupported", "AVX2: 6 x 16 microkernel (12 ymm accumulators); row-exact dot 2 x 2 (8 ymm accumulators).", 2, 2),
        new("V128Kernels", "Vector128", 4, 6, 2, "global::System.Runtime.Intrinsics.Vector128.IsHardwareAccelerated",
            "(global::System.Runtime.Intrinsics.X86.Fma.IsSupported || global::System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)",
            "SSE/NEON: 6 x 8 microkernel (12 xmm accumulators); row-exact dot 2 x 2; multiply then add where there is no FMA instruction.", 2, 2),
        new("ScalarKernels", null, 1, 4, 4, "true", "false", "No SIMD: 4 x 4 microkernel of float locals, multiply then add; row-exact dot 2 x 2.", 2, 2),
    };

    /// <summary>
    /// (tr, rw) variants of the dot kernels: tr x rows times rw weight rows. With one x row (decode) each weight row
    /// has two accumulators (even and odd steps of BK), so that four rows give eight independent chains while the
    /// x loads are shared by four weight streams.
    /// </summary>
    private static readonly (int Tr, int Rw)[] DotShapes = { (1, 1), (1, 4), (2, 1), (2, 4), (3, 1), (3, 4), (4, 1), (4, 4) };

    /// <summary>
    /// (tr, rw) variants of the row-exact dot kernels (<c>DotRowsAcc</c> / <c>DotRowsEnd</c>, batched decode: rows of different sequences):
    /// every tr in 1..RowsTr with rw 1 and RowsRw. Each output is computed exactly as the tr == 1 <c>Dot</c> kernel
    /// computes it (same two accumulators, same order), so a row's result does not depend on the other rows.
    /// </summary>
    private static IEnumerable<(int Tr, int Rw)> RowsShapes(Tier t)
    {
        for (int tr = 1; tr <= t.RowsTr; tr++)
        {
            yield return (tr, 1);
            if (t.RowsRw > 1) yield return (tr, t.RowsRw);
        }
    }

    public static IEnumerable<(string HintName, string Source)> Emit(OpSet ops)
    {
        var widen = new List<string>();
        foreach (var op in ops.Ops)
            if (op.Kernel is { Pattern: "gemm" } k)
                foreach (var d in k.Widen)
                    if (!widen.Contains(d)) widen.Add(d);
        if (widen.Count == 0) yield break;
        yield return ("GemmKernels.g.cs", EmitKernels(widen));
    }

    internal static string EmitKernels(IReadOnlyList<string> widen)
    {
        foreach (var d in widen)
            if (d is not ("f32" or "bf16" or "f16")) throw new InvalidOperationException($"gemm widen dtype '{d}' has no emitter (known: f32, bf16, f16)");
        var w = new CodeWriter();
        w.Line("using System.Runtime.CompilerServices;");
        w.Line("using System.Runtime.Intrinsics;");
        w.Line();
        foreach (var t in Tiers) EmitTier(w, t, widen);
        EmitPack(w, widen);
        return CodeWriter.Header(Namespace) + w;
    }

    private static string Elem(string d) => d switch { "f32" => "float", "bf16" => "ushort", _ => "ushort" };

    private static string DTypeCase(string d) => "global::IXC25.Runtime.Tensors.DType." + d.ToUpperInvariant();

    private static void EmitTier(CodeWriter w, Tier t, IReadOnlyList<string> widen)
    {
        w.Doc($"{t.Doc} MR = {t.MR}, NR = {t.NR}, dot block BK = {t.BK}.");
        w.Open($"internal unsafe struct {t.Name} : IGemmKernels");
        w.Line($"public static bool IsSupported => {t.Accelerated};");
        w.Line($"public static string Name => {CodeWriter.Str(t.Vec ?? "Scalar")};");
        w.Line($"public static int MR => {t.MR};");
        w.Line($"public static int NR => {t.NR};");
        w.Line($"public static int BK => {t.BK};");
        w.Line($"public static int RowsTR => {t.RowsTr};");
        w.Line($"public static int RowsRW => {t.RowsRw};");
        w.Line();
        if (t.Vec is not null)
        {
            string v = t.Vec, vf = $"{v}<float>";
            w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
            w.Line($"private static {vf} Fma({vf} a, {vf} b, {vf} c) => {t.Fma} ? {v}.FusedMultiplyAdd(a, b, c) : a * b + c;");
            w.Line();
        }

        // microkernel dispatcher
        w.Doc("C[mr, NR] (row stride ldc) = (accumulate ? C + s : s) with s = sum over k < kc of A[k * lda + i] * B[k * ldb + j], one chain from zero.");
        w.Line(Hot);
        w.Open("public static void Micro(int mr, float* a, nint lda, float* b, nint ldb, int kc, float* c, nint ldc, bool accumulate)");
        w.Open("switch (mr)");
        for (int m = 1; m <= t.MR; m++) w.Line($"case {m}: Micro{m}(a, lda, b, ldb, kc, c, ldc, accumulate); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(mr));");
        w.Close();
        w.Close();
        w.Line();
        for (int m = 1; m <= t.MR; m++) EmitMicro(w, t, m);

        // dot dispatcher
        w.Doc("y[t, j] = sum_k x[t, k] W[j, k] (+ bias[j]) for t < tr, j < rw; x in the dot layout of the weight's dtype (see Gemm.PackDotX).");
        w.Line(Hot);
        w.Open("public static void Dot(global::IXC25.Runtime.Tensors.DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k, float* y, nint ldy, float* bias)");
        w.Open("switch (dtype, tr, rw)");
        foreach (var d in widen)
            foreach (var (tr, rw) in DotShapes)
                w.Line($"case ({DTypeCase(d)}, {tr}, {rw}): Dot{Pascal(d)}_{tr}x{rw}(x, ldx, ({Elem(d)}*)wt, ldw, k, y, ldy, bias); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(dtype), $\"no dot kernel for {dtype} {tr}x{rw}\");");
        w.Close();
        w.Close();
        w.Line();
        w.Doc("Whether x must be stored even/odd-permuted within each block of BK elements for this dtype (bf16/f16 pairs are split by shifts).");
        w.Open("public static bool DotEvenOdd(global::IXC25.Runtime.Tensors.DType dtype)");
        var pairs = widen.Where(d => d != "f32").ToList();
        w.Line(t.Vec is null || pairs.Count == 0 ? "return false;" : $"return {string.Join(" || ", pairs.Select(d => "dtype == " + DTypeCase(d)))};");
        w.Close();
        w.Line();
        foreach (var d in widen)
            foreach (var (tr, rw) in DotShapes)
                EmitDot(w, t, d, tr, rw);

        // row-exact dot kernels (batched decode), K-blocked: accumulators kept in memory between blocks of K
        w.Doc("Row-exact dot, one block of K: the accumulators of every output (tr x rows, rw weight rows; at acc + i * lacc + j * BK) " +
              "advanced over [k0, k1) (multiples of 2 BK) exactly as the one-row Dot kernel advances them; started from zero when k0 is 0.");
        w.Line(Hot);
        w.Open("public static void DotRowsAcc(global::IXC25.Runtime.Tensors.DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k0, int k1, float* acc, nint lacc, void* pf)");
        w.Open("switch (dtype, tr, rw)");
        foreach (var d in widen)
            foreach (var (tr, rw) in RowsShapes(t))
                w.Line($"case ({DTypeCase(d)}, {tr}, {rw}): DotRowsAcc{Pascal(d)}_{tr}x{rw}(x, ldx, ({Elem(d)}*)wt, ldw, k0, k1, acc, lacc, ({Elem(d)}*)pf); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(dtype), $\"no row-exact dot kernel for {dtype} {tr}x{rw}\");");
        w.Close();
        w.Close();
        w.Line();
        w.Doc("Row-exact dot, the end: from the accumulators after the 2 BK blocks of K (zero when K < 2 BK), the last BK block, " +
              "the horizontal sum, the tail and the bias, exactly as the one-row Dot kernel ends.");
        w.Line(Hot);
        w.Open("public static void DotRowsEnd(global::IXC25.Runtime.Tensors.DType dtype, int tr, int rw, float* x, nint ldx, void* wt, nint ldw, int k, float* acc, nint lacc, float* y, nint ldy, float* bias)");
        w.Open("switch (dtype, tr, rw)");
        foreach (var d in widen)
            foreach (var (tr, rw) in RowsShapes(t))
                w.Line($"case ({DTypeCase(d)}, {tr}, {rw}): DotRowsEnd{Pascal(d)}_{tr}x{rw}(x, ldx, ({Elem(d)}*)wt, ldw, k, acc, lacc, y, ldy, bias); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(dtype), $\"no row-exact dot kernel for {dtype} {tr}x{rw}\");");
        w.Close();
        w.Close();
        w.Line();
        foreach (var d in widen)
            foreach (var (tr, rw) in RowsShapes(t))
            {
                EmitRowsAcc(w, t, d, tr, rw);
                EmitRowsEnd(w, t, d, tr, rw);
            }
        if (t.Vec is not null && widen.Contains("f16")) EmitHalfWiden(w, t);
        w.Close();
        w.Line();
    }

    /// <summary>Kernels are compiled fully optimized on first call (no tier-0 code, no on-stack replacement).</summary>
    private const string Hot = "[MethodImpl(MethodImplOptions.AggressiveOptimization)]";

    private static string Pascal(string d) => d switch { "f32" => "F32", "bf16" => "Bf16", _ => "F16" };

    private static void EmitMicro(CodeWriter w, Tier t, int m)
    {
        string vf = t.Vec is null ? "float" : $"{t.Vec}<float>";
        w.Line(Hot);
        w.Open($"private static void Micro{m}(float* a, nint lda, float* b, nint ldb, int kc, float* c, nint ldc, bool accumulate)");
        var names = new List<string>();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < t.NV; j++) names.Add($"c{i}_{j}");
        w.Line($"{vf} {string.Join(", ", names.Select(n => n + (t.Vec is null ? " = 0f" : " = default")))};");
        w.Open("for (int k = 0; k < kc; k++)");
        for (int j = 0; j < t.NV; j++) w.Line($"{vf} b{j} = {Load(t, j == 0 ? "b" : $"b + {j * t.W}")};");
        for (int i = 0; i < m; i++)
        {
            string x = t.Vec is null ? $"a[{i}]" : $"{t.Vec}.Create(a[{i}])";
            w.Line($"{vf} a{i} = {x};");
            for (int j = 0; j < t.NV; j++)
                w.Line(t.Vec is null ? $"c{i}_{j} = a{i} * b{j} + c{i}_{j};" : $"c{i}_{j} = Fma(a{i}, b{j}, c{i}_{j});");
        }
        w.Line("a += lda;");
        w.Line("b += ldb;");
        w.Close();
        w.Open("if (accumulate)");
        for (int i = 0; i < m; i++)
            for (int j = 0; j < t.NV; j++)
                w.Line(t.Vec is null ? $"*({Row(i, "c", "ldc", j)}) += c{i}_{j};" : $"{t.Vec}.Store({Load(t, Row(i, "c", "ldc", j * t.W))} + c{i}_{j}, {Row(i, "c", "ldc", j * t.W)});");
        w.Close();
        w.Open("else");
        for (int i = 0; i < m; i++)
            for (int j = 0; j < t.NV; j++)
                w.Line(t.Vec is null ? $"*({Row(i, "c", "ldc", j)}) = c{i}_{j};" : $"{t.Vec}.Store(c{i}_{j}, {Row(i, "c", "ldc", j * t.W)});");
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>Address of element (row i, column offset col) of a row-major panel.</summary>
    private static string Row(int i, string p, string ld, int col)
    {
        string r = i == 0 ? p : i == 1 ? $"{p} + {ld}" : $"{p} + {i} * {ld}";
        return col == 0 ? r : $"{r} + {col}";
    }

    private static string Load(Tier t, string addr) => t.Vec is null ? $"*({addr})" : $"{t.Vec}.Load({addr})";

    /// <summary>
    /// One dot kernel: tr x rows times rw weight rows. The one-row form (tr == 1) keeps two accumulators per output; the
    /// multi-row form (tr &gt; 1) keeps one (a different sum order). The row-exact kernels (<see cref="EmitRowsAcc"/>,
    /// <see cref="EmitRowsEnd"/>) compute each of several rows as the one-row form does.
    /// </summary>
    private static void EmitDot(CodeWriter w, Tier t, string d, int tr, int rw)
    {
        string elem = Elem(d);
        w.Line(Hot);
        w.Open($"private static void Dot{Pascal(d)}_{tr}x{rw}(float* x, nint ldx, {elem}* wt, nint ldw, int k, float* y, nint ldy, float* bias)");
        if (t.Vec is null)
        {
            // scalar: one product per element in k order
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"float s{i}_{j} = 0f;");
            w.Open("for (int kk = 0; kk < k; kk++)");
            EmitProducts(w, d, tr, rw);
            w.Close();
        }
        else if (tr == 1)
        {
            // one x row: per weight row, even steps of BK go to accA and odd steps to accB, combined as accA + accB
            string v = t.Vec, vf = $"{v}<float>";
            for (int j = 0; j < rw; j++) w.Line($"{vf} accA{j} = default, accB{j} = default;");
            w.Line("int kk = 0;");
            w.Open($"for (; kk + {2 * t.BK} <= k; kk += {2 * t.BK})");
            w.Line($"{vf} xe0 = {v}.Load(x + kk), xo0 = {v}.Load(x + kk + {t.W}), xe1 = {v}.Load(x + kk + {t.BK}), xo1 = {v}.Load(x + kk + {t.BK + t.W});");
            for (int j = 0; j < rw; j++)
            {
                EmitWeightStep(w, t, d, Row(j, "wt", "ldw", 0), "kk", $"{j}a");
                w.Line($"accA{j} = Fma(xe0, we{j}a, accA{j});");
                w.Line($"accA{j} = Fma(xo0, wo{j}a, accA{j});");
                EmitWeightStep(w, t, d, Row(j, "wt", "ldw", 0), $"kk + {t.BK}", $"{j}b");
                w.Line($"accB{j} = Fma(xe1, we{j}b, accB{j});");
                w.Line($"accB{j} = Fma(xo1, wo{j}b, accB{j});");
            }
            w.Close();
            w.Open($"if (kk + {t.BK} <= k)");
            w.Line($"{vf} xe0 = {v}.Load(x + kk), xo0 = {v}.Load(x + kk + {t.W});");
            for (int j = 0; j < rw; j++)
            {
                EmitWeightStep(w, t, d, Row(j, "wt", "ldw", 0), "kk", $"{j}a");
                w.Line($"accA{j} = Fma(xe0, we{j}a, accA{j});");
                w.Line($"accA{j} = Fma(xo0, wo{j}a, accA{j});");
            }
            w.Line($"kk += {t.BK};");
            w.Close();
            for (int j = 0; j < rw; j++) w.Line($"float s0_{j} = {v}.Sum(accA{j} + accB{j});");
            w.Open("for (; kk < k; kk++)");
            EmitProducts(w, d, 1, rw);
            w.Close();
        }
        else
        {
            string v = t.Vec, vf = $"{v}<float>", vu = $"{v}<uint>";
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"{vf} acc{i}_{j} = default;");
            w.Line("int kk = 0;");
            w.Open($"for (; kk + {t.BK} <= k; kk += {t.BK})");
            for (int i = 0; i < tr; i++)
            {
                w.Line($"{vf} x{i}e = {v}.Load({Row(i, "x", "ldx", 0)} + kk);");
                w.Line($"{vf} x{i}o = {v}.Load({Row(i, "x", "ldx", 0)} + kk + {t.W});");
            }
            for (int j = 0; j < rw; j++)
            {
                switch (d)
                {
                    case "f32":
                        w.Line($"{vf} w{j}e = {v}.Load({Row(j, "wt", "ldw", 0)} + kk);");
                        w.Line($"{vf} w{j}o = {v}.Load({Row(j, "wt", "ldw", 0)} + kk + {t.W});");
                        break;
                    case "bf16":
                        w.Line($"{vu} w{j} = {v}.Load((uint*)({Row(j, "wt", "ldw", 0)} + kk));");
                        w.Line($"{vf} w{j}e = (w{j} << 16).AsSingle();");
                        w.Line($"{vf} w{j}o = (w{j} & {v}.Create(0xFFFF0000u)).AsSingle();");
                        break;
                    default:
                        w.Line($"{vu} w{j} = {v}.Load((uint*)({Row(j, "wt", "ldw", 0)} + kk));");
                        w.Line($"{vf} w{j}e = HalfToSingle(w{j} & {v}.Create(0xFFFFu));");
                        w.Line($"{vf} w{j}o = HalfToSingle(w{j} >> 16);");
                        break;
                }
                for (int i = 0; i < tr; i++)
                {
                    w.Line($"acc{i}_{j} = Fma(x{i}e, w{j}e, acc{i}_{j});");
                    w.Line($"acc{i}_{j} = Fma(x{i}o, w{j}o, acc{i}_{j});");
                }
            }
            w.Close();
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"float s{i}_{j} = {v}.Sum(acc{i}_{j});");
            w.Open("for (; kk < k; kk++)");
            EmitProducts(w, d, tr, rw);
            w.Close();
        }
        EmitStore(w, tr, rw);
        w.Close();
        w.Line();
    }

    /// <summary>Address of the accumulators of output (x row i, weight row j): BK floats, accA then accB.</summary>
    private static string AccAt(int i, int j, Tier t)
    {
        string r = i == 0 ? "acc" : i == 1 ? "acc + lacc" : $"acc + {i} * lacc";
        return j == 0 ? r : $"{r} + {j * t.BK}";
    }

    /// <summary>
    /// One block of K of the row-exact kernel: per output the one-row kernel's two accumulators (even and odd steps of BK;
    /// scalar: one sum in k order), loaded from memory (or zero at k0 = 0), advanced over [k0, k1), stored back. Per half
    /// step: the weights of all rw rows, then each x row against them; the next weights (pf) prefetched into L2.
    /// </summary>
    private static void EmitRowsAcc(CodeWriter w, Tier t, string d, int tr, int rw)
    {
        string elem = Elem(d);
        w.Line(Hot);
        w.Open($"private static void DotRowsAcc{Pascal(d)}_{tr}x{rw}(float* x, nint ldx, {elem}* wt, nint ldw, int k0, int k1, float* acc, nint lacc, {elem}* pf)");
        if (t.Vec is null)
        {
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"float s{i}_{j} = k0 == 0 ? 0f : *({AccAt(i, j, t)});");
            w.Open("for (int kk = k0; kk < k1; kk++)");
            EmitProducts(w, d, tr, rw);
            w.Close();
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"*({AccAt(i, j, t)}) = s{i}_{j};");
            w.Close();
            w.Line();
            return;
        }
        string v = t.Vec, vf = $"{v}<float>";
        for (int i = 0; i < tr; i++)
            for (int j = 0; j < rw; j++) w.Line($"{vf} accA{i}_{j} = default, accB{i}_{j} = default;");
        w.Open("if (k0 != 0)");
        for (int i = 0; i < tr; i++)
            for (int j = 0; j < rw; j++)
                w.Line($"accA{i}_{j} = {v}.Load({AccAt(i, j, t)}); accB{i}_{j} = {v}.Load({AccAt(i, j, t)} + {t.W});");
        w.Close();
        w.Line("nint p = 0;");
        w.Open($"for (int kk = k0; kk + {2 * t.BK} <= k1; kk += {2 * t.BK}, p += {2 * t.BK})");
        EmitPrefetch(w, t, d, rw);
        foreach (var (half, acc, at) in new[] { ("a", "accA", "kk"), ("b", "accB", $"kk + {t.BK}") })
        {
            for (int j = 0; j < rw; j++) EmitWeightStep(w, t, d, Row(j, "wt", "ldw", 0), at, $"{j}{half}");
            // x loaded by every product that uses it (an L1 hit folded into the multiply-add): no x registers, which keeps
            // the JIT from moving accumulators around registers that die in the product
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++)
                {
                    w.Line($"{acc}{i}_{j} = Fma(we{j}{half}, {v}.Load({Row(i, "x", "ldx", 0)} + {at}), {acc}{i}_{j});");
                    w.Line($"{acc}{i}_{j} = Fma(wo{j}{half}, {v}.Load({Row(i, "x", "ldx", 0)} + {at} + {t.W}), {acc}{i}_{j});");
                }
        }
        w.Close();
        for (int i = 0; i < tr; i++)
            for (int j = 0; j < rw; j++)
                w.Line($"{v}.Store(accA{i}_{j}, {AccAt(i, j, t)}); {v}.Store(accB{i}_{j}, {AccAt(i, j, t)} + {t.W});");
        w.Close();
        w.Line();
    }

    /// <summary>
    /// The end of the row-exact kernel after its blocks of 2 BK (kk = k rounded down to 2 BK; the accumulators are zero when
    /// kk is 0): the last block of BK into accA, Sum(accA + accB), the tail in k order, the bias; as the one-row Dot kernel.
    /// </summary>
    private static void EmitRowsEnd(CodeWriter w, Tier t, string d, int tr, int rw)
    {
        string elem = Elem(d);
        w.Line(Hot);
        w.Open($"private static void DotRowsEnd{Pascal(d)}_{tr}x{rw}(float* x, nint ldx, {elem}* wt, nint ldw, int k, float* acc, nint lacc, float* y, nint ldy, float* bias)");
        w.Line($"int kk = k - k % {2 * t.BK};");
        if (t.Vec is null)
        {
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"float s{i}_{j} = kk == 0 ? 0f : *({AccAt(i, j, t)});");
        }
        else
        {
            string v = t.Vec, vf = $"{v}<float>";
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"{vf} accA{i}_{j} = default, accB{i}_{j} = default;");
            w.Open("if (kk != 0)");
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++)
                    w.Line($"accA{i}_{j} = {v}.Load({AccAt(i, j, t)}); accB{i}_{j} = {v}.Load({AccAt(i, j, t)} + {t.W});");
            w.Close();
            w.Open($"if (kk + {t.BK} <= k)");
            for (int j = 0; j < rw; j++) EmitWeightStep(w, t, d, Row(j, "wt", "ldw", 0), "kk", $"{j}a");
            for (int i = 0; i < tr; i++)
            {
                w.Line($"{vf} x{i}ea = {v}.Load({Row(i, "x", "ldx", 0)} + kk), x{i}oa = {v}.Load({Row(i, "x", "ldx", 0)} + kk + {t.W});");
                for (int j = 0; j < rw; j++)
                {
                    w.Line($"accA{i}_{j} = Fma(x{i}ea, we{j}a, accA{i}_{j});");
                    w.Line($"accA{i}_{j} = Fma(x{i}oa, wo{j}a, accA{i}_{j});");
                }
            }
            w.Line($"kk += {t.BK};");
            w.Close();
            for (int i = 0; i < tr; i++)
                for (int j = 0; j < rw; j++) w.Line($"float s{i}_{j} = {v}.Sum(accA{i}_{j} + accB{i}_{j});");
        }
        w.Open("for (; kk < k; kk++)");
        EmitProducts(w, d, tr, rw);
        w.Close();
        EmitStore(w, tr, rw);
        w.Close();
        w.Line();
    }

    /// <summary>One step kk in k order for every output of a tr x rw kernel: s = s + x * widen(w), one rounding each.</summary>
    private static void EmitProducts(CodeWriter w, string d, int tr, int rw)
    {
        for (int j = 0; j < rw; j++) w.Line($"float w{j} = {WidenScalar(d, $"({Row(j, "wt", "ldw", 0)})[kk]")};");
        for (int i = 0; i < tr; i++)
        {
            w.Line($"float x{i} = ({Row(i, "x", "ldx", 0)})[kk];");
            for (int j = 0; j < rw; j++) w.Line($"s{i}_{j} = s{i}_{j} + x{i} * w{j};");
        }
    }

    /// <summary>y = s (+ bias) for every output of a tr x rw dot kernel.</summary>
    private static void EmitStore(CodeWriter w, int tr, int rw)
    {
        w.Open("if (bias != null)");
        for (int i = 0; i < tr; i++)
            for (int j = 0; j < rw; j++) w.Line($"*({Row(i, "y", "ldy", j)}) = s{i}_{j} + bias[{j}];");
        w.Close();
        w.Open("else");
        for (int i = 0; i < tr; i++)
            for (int j = 0; j < rw; j++) w.Line($"*({Row(i, "y", "ldy", j)}) = s{i}_{j};");
        w.Close();
    }

    /// <summary>Loads BK weights of one row at <paramref name="at"/> into we{tag} (even elements) and wo{tag} (odd elements), widened.</summary>
    private static void EmitWeightStep(CodeWriter w, Tier t, string d, string row, string at, string tag)
    {
        string v = t.Vec!, vf = $"{v}<float>", vu = $"{v}<uint>";
        switch (d)
        {
            case "f32":
                w.Line($"{vf} we{tag} = {v}.Load({row} + {at});");
                w.Line($"{vf} wo{tag} = {v}.Load({row} + {at} + {t.W});");
                break;
            case "bf16":
                w.Line($"{vu} w{tag} = {v}.Load((uint*)({row} + {at}));");
                w.Line($"{vf} we{tag} = (w{tag} << 16).AsSingle();");
                w.Line($"{vf} wo{tag} = (w{tag} & {v}.Create(0xFFFF0000u)).AsSingle();");
                break;
            default:
                w.Line($"{vu} w{tag} = {v}.Load((uint*)({row} + {at}));");
                w.Line($"{vf} we{tag} = HalfToSingle(w{tag} & {v}.Create(0xFFFFu));");
                w.Line($"{vf} wo{tag} = HalfToSingle(w{tag} >> 16);");
                break;
        }
    }

    /// <summary>
    /// Prefetches into L2, at step p of a block, the weights p elements after <c>pf</c> in each of rw rows (stride ldw): the
    /// driver points pf at the weights it will pass next (the next block of K of these rows, or the next rows), so their
    /// stream from memory overlaps this call's arithmetic instead of stalling the next call.
    /// </summary>
    private static void EmitPrefetch(CodeWriter w, Tier t, string d, int rw)
    {
        int size = d == "f32" ? 4 : 2, bytes = 2 * t.BK * size;
        w.Open("if (global::System.Runtime.Intrinsics.X86.Sse.IsSupported)");
        for (int j = 0; j < rw; j++)
            for (int off = 0; off < Math.Max(bytes, 64); off += 64)
                w.Line($"global::System.Runtime.Intrinsics.X86.Sse.Prefetch1((byte*)({Row(j, "pf", "ldw", 0)} + p){(off == 0 ? "" : $" + {off}")});");
        w.Close();
    }

    private static string WidenScalar(string d, string e) => d switch
    {
        "f32" => e,
        "bf16" => $"global::System.BitConverter.Int32BitsToSingle((int)((uint){e} << 16))",
        _ => $"(float)global::System.BitConverter.UInt16BitsToHalf({e})",
    };

    private static void EmitHalfWiden(CodeWriter w, Tier t)
    {
        string v = t.Vec!, vf = $"{v}<float>", vu = $"{v}<uint>";
        w.Doc("IEEE half bits (low 16 bits of each lane) to float32, exactly: normals and subnormals by rescaling, infinities and NaNs by exponent fill.");
        w.Line("[MethodImpl(MethodImplOptions.AggressiveInlining)]");
        w.Open($"private static {vf} HalfToSingle({vu} h)");
        w.Line($"{vu} em = h & {v}.Create(0x7FFFu);");
        w.Line($"{vu} sign = (h & {v}.Create(0x8000u)) << 16;");
        w.Line($"{vu} finite = ((em << 13).AsSingle() * {v}.Create(5.192296858534828e33f)).AsUInt32();");
        w.Line($"{vu} special = (em << 13) | {v}.Create(0x7F800000u);");
        w.Line($"return ({v}.ConditionalSelect({v}.GreaterThanOrEqual(em, {v}.Create(0x7C00u)), special, finite) | sign).AsSingle();");
        w.Close();
        w.Line();
    }

    private static void EmitPack(CodeWriter w, IReadOnlyList<string> widen)
    {
        w.Doc("Widening transposes of weight rows into microkernel panels.");
        w.Open("internal static unsafe partial class GemmPack");
        w.Doc("dst[k, j] = widen(W[j, k]) for j < n, k < kc (W rows of stride ldw elements), zero for n <= j < nr.");
        w.Open("public static void PackB(global::IXC25.Runtime.Tensors.DType dtype, void* wt, nint ldw, int n, int kc, float* dst, int nr)");
        w.Open("switch (dtype)");
        foreach (var d in widen) w.Line($"case {DTypeCase(d)}: PackB{Pascal(d)}(({Elem(d)}*)wt, ldw, n, kc, dst, nr); break;");
        w.Line("default: throw new global::System.ArgumentOutOfRangeException(nameof(dtype), $\"no panel packer for {dtype}\");");
        w.Close();
        w.Line("for (int j = n; j < nr; j++) for (int k = 0; k < kc; k++) dst[(nint)k * nr + j] = 0f;");
        w.Close();
        w.Line();
        foreach (var d in widen)
        {
            w.Line(Hot);
            w.Open($"private static void PackB{Pascal(d)}({Elem(d)}* wt, nint ldw, int n, int kc, float* dst, int nr)");
            w.Open("for (int j = 0; j < n; j++)");
            w.Line($"{Elem(d)}* src = wt + j * ldw;");
            w.Line("float* o = dst + j;");
            w.Line($"for (int k = 0; k < kc; k++) o[(nint)k * nr] = {WidenScalar(d, "src[k]")};");
            w.Close();
            w.Close();
            w.Line();
        }
        w.Close();
    }
}
