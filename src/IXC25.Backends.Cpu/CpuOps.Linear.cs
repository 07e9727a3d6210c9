using System.Numerics;
using IXC25.Backends.Cpu.Gemm;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Matrix products: the GEMM drivers of Gemm/ over the generated kernels (GemmKernels.g.cs), reading
// bf16/f16/f32 weights where they are stored.
public sealed partial class CpuOps
{
    /// <summary>
    /// x [T, IN], weight [OUT, IN] as stored, bias [OUT] or null, y [T, OUT]. With <paramref name="rowExact"/> every row is
    /// bit-identical to the call on that row alone (<see cref="GemmDriver.LinearRows"/>, batched decode).
    /// </summary>
    public unsafe void Linear(ReadOnlySpan<float> x, int T, NamedTensor weight, NamedTensor? bias, Span<float> y, bool rowExact = false)
    {
        var (OUT, IN) = Matrix("linear", "weight", weight);
        Check(x.Length == (long)T * IN, "linear", $"'x' has {x.Length} elements, expected {(long)T * IN} ({T} x {IN})");
        Check(y.Length == (long)T * OUT, "linear", $"'y' has {y.Length} elements, expected {(long)T * OUT} ({T} x {OUT})");
        float[]? b = null;
        if (bias is not null)
        {
            Check(bias.Numel == OUT, "linear", $"'bias' has {bias.Numel} elements, expected {OUT}");
            b = bias.ToFloat32();
        }
        fixed (float* xp = x, yp = y, bp = b)
        fixed (byte* wp = weight.Data.Bytes)
        {
            var w = new WeightView(wp, weight.DType, OUT, IN, IN);
            if (rowExact) GemmDriver.LinearRows(xp, IN, T, w, bp, yp, OUT, Threads);
            else GemmDriver.Linear(xp, IN, T, w, bp, yp, OUT, Threads);
        }
    }

    /// <summary>x [T, IN], weight [OUT, IN], lora_a [R, IN], lora_b [OUT, R] as stored, im_mask [T], y [T, OUT].</summary>
    /// <remarks>
    /// Same semantics and float32 rounding points as <see cref="RefOps.PloraLinear"/>: y = x W^T; then
    /// the masked rows are gathered, a = x_m A^T and b = a B^T are separate products, and y[t] = y[t] + b * scale
    /// (a multiply, then an add). With an all-zero mask, row 0 gets b * 0 added (upstream's quirk).
    /// When every row is masked, x is packed once for W and A. When moreover scale is 1 (the model's alpha / r) and
    /// R fits one K block, b is accumulated straight into y: y + (b * 1) is y + b, and the product's single chain
    /// per output is added once, so the result is bit-identical to the separate steps.
    /// With <paramref name="rowExact"/> (batched decode) see <see cref="PloraLinearRows"/>.
    /// </remarks>
    public unsafe void PloraLinear(ReadOnlySpan<float> x, int T, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, float scale, Span<float> y, bool rowExact = false)
    {
        var (OUT, IN) = Matrix("plora_linear", "weight", weight);
        var (R, inA) = Matrix("plora_linear", "lora_a", loraA);
        var (outB, rB) = Matrix("plora_linear", "lora_b", loraB);
        Check(inA == IN, "plora_linear", $"'lora_a' is [{R}, {inA}], expected [R, {IN}]");
        Check(outB == OUT && rB == R, "plora_linear", $"'lora_b' is [{outB}, {rB}], expected [{OUT}, {R}]");
        Check(imMask.Length == T, "plora_linear", $"'im_mask' has {imMask.Length} elements, expected {T}");
        Check(x.Length == (long)T * IN, "plora_linear", $"'x' has {x.Length} elements, expected {(long)T * IN} ({T} x {IN})");
        Check(y.Length == (long)T * OUT, "plora_linear", $"'y' has {y.Length} elements, expected {(long)T * OUT} ({T} x {OUT})");
        if (T == 0) return;
        if (rowExact && T > 1)
        {
            PloraLinearRows(x, T, IN, OUT, R, weight, loraA, loraB, imMask, scale, y);
            return;
        }

        bool any = imMask.IndexOfAnyExcept((byte)0) >= 0;
        int rows = 0;
        var index = new int[any ? T : 1];
        if (any) { for (int t = 0; t < T; t++) if (imMask[t] != 0) index[rows++] = t; }
        else rows = 1; // row 0, multiplied by 0 below
        float s = any ? scale : 0f;
        bool all = rows == T;
        using var aBuf = Scratch.Rent((long)rows * R);
        fixed (float* xp = x, yp = y)
        fixed (byte* wp = weight.Data.Bytes, ap = loraA.Data.Bytes, bp = loraB.Data.Bytes)
        {
            var w = new WeightView(wp, weight.DType, OUT, IN, IN);
            var a = new WeightView(ap, loraA.DType, R, IN, IN);
            var b = new WeightView(bp, loraB.DType, OUT, R, R);
            if (!any)
            {
                // no masked row: upstream adds B(A(x[0])) * 0 to row 0, which leaves row 0 unchanged whenever that
                // product is finite and row 0 holds no -0 (y + (+-0) = y for every other y): skip it when provable
                GemmDriver.Linear(xp, IN, T, w, null, yp, OUT, Threads);
                if (QuirkIsNoOp(x.Slice(0, IN), y.Slice(0, OUT), loraA, loraB, R)) return;
                GemmDriver.Linear(xp, IN, 1, a, null, aBuf.Pointer, R, Threads);
            }
            else if (all)
            {
                // every row masked: one packing of x for the base product and the first LoRA product
                GemmDriver.Linear(xp, IN, T, [new GemmTarget(w, null, yp, OUT, false), new GemmTarget(a, null, aBuf.Pointer, R, false)], Threads);
                if (s == 1f && R <= GemmDriver.KC && T > GemmDriver.DotMaxRows)
                {
                    GemmDriver.Linear(aBuf.Pointer, R, T, [new GemmTarget(b, null, yp, OUT, accumulate: true)], Threads);
                    return;
                }
            }
            else
            {
                GemmDriver.Linear(xp, IN, T, w, null, yp, OUT, Threads);
                using var gathered = Scratch.Rent((long)rows * IN);
                for (int r = 0; r < rows; r++) x.Slice(index[r] * IN, IN).CopyTo(new Span<float>(gathered.Pointer + (nint)r * IN, IN));
                GemmDriver.Linear(gathered.Pointer, IN, rows, a, null, aBuf.Pointer, R, Threads);
            }
            using var bBuf = Scratch.Rent((long)rows * OUT);
            GemmDriver.Linear(aBuf.Pointer, R, rows, b, null, bBuf.Pointer, OUT, Threads);
            nint yP = (nint)yp, bP = (nint)bBuf.Pointer;
            int[] idx = index;
            Workers.Run(Threads, rows, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                    AddScaled(new Span<float>((float*)yP + (nint)(all ? r : idx[r]) * OUT, OUT), new ReadOnlySpan<float>((float*)bP + (nint)r * OUT, OUT), s);
            });
        }
    }

    /// <summary>
    /// Row-exact Partial LoRA (rows of different sequences): every row as <see cref="PloraLinear"/> on that row and its mask
    /// alone. Base product through <see cref="GemmDriver.LinearRows"/> (one pass over W for all rows); then the rows that
    /// need the LoRA path alone (masked rows, at <paramref name="scale"/>; unmasked rows whose quirk B(A x) * 0 is not
    /// provably a no-op, at 0) are gathered and go through row-exact products, and each gets its own multiply and add.
    /// </summary>
    private unsafe void PloraLinearRows(ReadOnlySpan<float> x, int T, int IN, int OUT, int R, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, float scale, Span<float> y)
    {
        var rowsList = new List<int>();
        fixed (float* xp = x, yp = y)
        fixed (byte* wp = weight.Data.Bytes, ap = loraA.Data.Bytes, bp = loraB.Data.Bytes)
        {
            GemmDriver.LinearRows(xp, IN, T, new WeightView(wp, weight.DType, OUT, IN, IN), null, yp, OUT, Threads);
            for (int t = 0; t < T; t++)
                if (imMask[t] != 0 || !QuirkIsNoOp(x.Slice(t * IN, IN), y.Slice(t * OUT, OUT), loraA, loraB, R)) rowsList.Add(t);
            int rows = rowsList.Count;
            if (rows == 0) return;
            using var gathered = Scratch.Rent((long)rows * IN);
            for (int r = 0; r < rows; r++) x.Slice(rowsList[r] * IN, IN).CopyTo(new Span<float>(gathered.Pointer + (nint)r * IN, IN));
            using var aBuf = Scratch.Rent((long)rows * R);
            using var bBuf = Scratch.Rent((long)rows * OUT);
            GemmDriver.LinearRows(gathered.Pointer, IN, rows, new WeightView(ap, loraA.DType, R, IN, IN), null, aBuf.Pointer, R, Threads);
            GemmDriver.LinearRows(aBuf.Pointer, R, rows, new WeightView(bp, loraB.DType, OUT, R, R), null, bBuf.Pointer, OUT, Threads);
            for (int r = 0; r < rows; r++)
            {
                int t = rowsList[r];
                AddScaled(y.Slice(t * OUT, OUT), new ReadOnlySpan<float>(bBuf.Pointer + (nint)r * OUT, OUT), imMask[t] != 0 ? scale : 0f);
            }
        }
    }

    /// <summary>
    /// Whether adding B(A x0) * 0 to y0 provably changes nothing: x0 is finite, the product cannot overflow (bounded by
    /// max|B| R max|A| sum|x0| with room for rounding), so every term is +-0, and y0 has no -0 (the only value that
    /// + 0 would change). Otherwise the product is computed (NaN/Inf propagate as upstream).
    /// </summary>
    private static bool QuirkIsNoOp(ReadOnlySpan<float> x0, ReadOnlySpan<float> y0, NamedTensor loraA, NamedTensor loraB, int R)
    {
        double sum = 0;
        foreach (float v in x0)
        {
            if (!float.IsFinite(v)) return false;
            sum += Math.Abs(v);
        }
        double bound = 1.01 * WeightStats.MaxAbs(loraB) * R * (1.01 * WeightStats.MaxAbs(loraA) * sum);
        if (!(bound < 1e30)) return false; // also false for NaN
        foreach (float v in y0)
            if (BitConverter.SingleToUInt32Bits(v) == 0x8000_0000u) return false;
        return true;
    }

    /// <summary>y[j] = y[j] + b[j] * s: a float32 multiply, then a float32 add (never fused).</summary>
    private static void AddScaled(Span<float> y, ReadOnlySpan<float> b, float s)
    {
        int j = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(s);
            for (; j + Vector<float>.Count <= y.Length; j += Vector<float>.Count)
            {
                var prod = new Vector<float>(b.Slice(j)) * vs;
                (new Vector<float>(y.Slice(j)) + prod).CopyTo(y.Slice(j));
            }
        }
        for (; j < y.Length; j++)
        {
            float prod = b[j] * s;
            y[j] = y[j] + prod;
        }
    }

    /// <summary>The [rows, cols] of a 2-D weight in a dtype the GEMM kernels read.</summary>
    private static (int Rows, int Cols) Matrix(string op, string name, NamedTensor t)
    {
        Check(t.Shape.Length == 2, op, $"'{name}' has shape {Shape.Format(t.Shape)}, expected 2 dimensions");
        Check(t.DType is DType.F32 or DType.BF16 or DType.F16, op, $"'{name}' has dtype {t.DType.SpecName()}, expected f32, bf16 or f16");
        return (checked((int)t.Shape[0]), checked((int)t.Shape[1]));
    }

    private static void Check(bool ok, string op, string what)
    {
        if (!ok) throw new IxcException($"{op}: {what}");
    }
}
