using IXC25.Backends.Cpu.Reference;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

// Matrix products. Lowering today: scalar reference on widened weights (to be replaced by the GEMM drivers).
public sealed partial class CpuOps
{
    /// <summary>x [T, IN], weight [OUT, IN] as stored, bias [OUT] or null, y [T, OUT].</summary>
    public void Linear(ReadOnlySpan<float> x, int T, NamedTensor weight, NamedTensor? bias, Span<float> y)
    {
        int OUT = checked((int)weight.Shape[0]), IN = checked((int)weight.Shape[1]);
        RefOps.Linear(x, T, IN, Widen(weight), OUT, bias is null ? [] : Widen(bias), y);
    }

    /// <summary>x [T, IN], weight [OUT, IN], lora_a [R, IN], lora_b [OUT, R] as stored, im_mask [T], y [T, OUT].</summary>
    public void PloraLinear(ReadOnlySpan<float> x, int T, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, ReadOnlySpan<byte> imMask, float scale, Span<float> y)
    {
        int OUT = checked((int)weight.Shape[0]), IN = checked((int)weight.Shape[1]), R = checked((int)loraA.Shape[0]);
        RefOps.PloraLinear(x, T, IN, Widen(weight), OUT, Widen(loraA), Widen(loraB), R, imMask, scale, y);
    }
}
