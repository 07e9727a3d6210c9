using IXC25.Runtime;

namespace IXC25.Backends.Reference;

/// <summary>
/// Scalar references: the living definition of every op of spec/ops.json, one plain loop nest each.
/// Generated SIMD kernels, hand-tuned drivers and GPU kernels are tested against these; these are
/// tested against PyTorch goldens (golden/ops). Conventions:
/// <list type="bullet">
/// <item>Tensors are row-major float32 spans, outermost dimension first (shapes in each doc comment).
/// Weights stored as bf16/f16 are widened to float32 by the caller first; widening is exact, so the
/// result equals computing on the stored values.</item>
/// <item>Dot products and reductions accumulate in double and round once: the reference is closer
/// to the exact result than any float32 implementation (torch's included), so a tolerance measured
/// against it bounds the float32 implementation's own error.</item>
/// <item>Elementwise float32 expressions are evaluated in float32 in the same order as torch (so
/// e.g. add and rope are bit-identical to torch); transcendental functions are evaluated in double and
/// rounded once.</item>
/// </list>
/// Shape letters: T tokens, C channels, IN/OUT linear widths, H/HKV heads, D head dim, R rank, N batch.
/// </summary>
public static partial class RefOps
{
    public static void Require(bool ok, string op, string what)
    {
        if (!ok) throw new IxcException($"{op}: {what}");
    }

    public static void Length(int actual, long expected, string op, string name)
    {
        if (actual != expected) throw new IxcException($"{op}: '{name}' has {actual} elements, expected {expected}");
    }
}
