using IXC25.Backends.Cpu.Gemm;
using IXC25.Backends.Cpu.Quant;
using IXC25.Runtime;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Matrix products with block-quantized weights (spec/quant.json): the integer dot kernels of Quant/ over q8 activations.
public sealed partial class CpuOps
{
    /// <summary>The ISA tier of the quantized kernels ("AvxVnni", "Avx2", "Ssse3", "Scalar").</summary>
    public static string QuantTier => QuantDriver.Tier;

    /// <summary>x [T, IN], weight [OUT, IN] quantized, bias [OUT] (float32) or null, y [T, OUT].</summary>
    public unsafe void QuantLinear(ReadOnlySpan<float> x, int T, QuantizedMatrix weight, float[]? bias, Span<float> y)
    {
        int OUT = weight.Rows, IN = weight.Cols;
        Check(x.Length == (long)T * IN, "linear", $"'x' has {x.Length} elements, expected {(long)T * IN} ({T} x {IN})");
        Check(y.Length == (long)T * OUT, "linear", $"'y' has {y.Length} elements, expected {(long)T * OUT} ({T} x {OUT})");
        Check(bias is null || bias.Length == OUT, "linear", $"'bias' has {bias?.Length} elements, expected {OUT}");
        fixed (float* yp = y)
            QuantDriver.Linear(x, T, weight, bias, yp, OUT, Threads);
    }

    /// <summary>
    /// Partial LoRA over a quantized base weight: y = quantized x W^T, then exactly the LoRA steps of
    /// <see cref="PloraLinear"/> on the stored (unquantized) A and B: masked rows gathered, a = x_m A^T, b = a B^T,
    /// y[t] = y[t] + b * scale (upstream's row-0 quirk for an all-zero mask included).
    /// </summary>
    public unsafe void QuantPloraLinear(ReadOnlySpan<float> x, int T, QuantizedMatrix weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, float scale, Span<float> y)
    {
        int OUT = weight.Rows, IN = weight.Cols;
        var (R, inA) = Matrix("plora_linear", "lora_a", loraA);
        var (outB, rB) = Matrix("plora_linear", "lora_b", loraB);
        Check(inA == IN, "plora_linear", $"'lora_a' is [{R}, {inA}], expected [R, {IN}]");
        Check(outB == OUT && rB == R, "plora_linear", $"'lora_b' is [{outB}, {rB}], expected [{OUT}, {R}]");
        Check(imMask.Length == T, "plora_linear", $"'im_mask' has {imMask.Length} elements, expected {T}");
        QuantLinear(x, T, weight, null, y);
        if (T == 0) return;
        bool any = imMask.IndexOfAnyExcept((byte)0) >= 0;
        int rows = 0;
        var index = new int[any ? T : 1];
        if (any) { for (int t = 0; t < T; t++) if (imMask[t] != 0) index[rows++] = t; }
        else
        {
            rows = 1; // row 0, multiplied by 0 below
            if (QuirkIsNoOp(x.Slice(0, IN), y.Slice(0, OUT), loraA, loraB, R)) return;
        }
        float s = any ? scale : 0f;
        using var gathered = Scratch.Rent((long)rows * IN);
        for (int r = 0; r < rows; r++) x.Slice(index[r] * IN, IN).CopyTo(new Span<float>(gathered.Pointer + (nint)r * IN, IN));
        using var aBuf = Scratch.Rent((long)rows * R);
        using var bBuf = Scratch.Rent((long)rows * OUT);
        fixed (float* yp = y)
        fixed (byte* ap = loraA.Data.Bytes, bp = loraB.Data.Bytes)
        {
            GemmDriver.Linear(gathered.Pointer, IN, rows, new WeightView(ap, loraA.DType, R, IN, IN), null, aBuf.Pointer, R, Threads);
            GemmDriver.Linear(aBuf.Pointer, R, rows, new WeightView(bp, loraB.DType, OUT, R, R), null, bBuf.Pointer, OUT, Threads);
            nint yP = (nint)yp, bP = (nint)bBuf.Pointer;
            Workers.Run(Threads, rows, (r0, r1) =>
            {
                for (int r = r0; r < r1; r++)
                    AddScaled(new Span<float>((float*)yP + (nint)index[r] * OUT, OUT), new ReadOnlySpan<float>((float*)bP + (nint)r * OUT, OUT), s);
            });
        }
    }
}
