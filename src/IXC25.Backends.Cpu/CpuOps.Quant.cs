using IXC25.Backends.Cpu.Quant;
using IXC25.Runtime;
using IXC25.Runtime.Quant;

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
}
