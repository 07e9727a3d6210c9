using IXC25.Backends.Reference;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// The CPU backend: one entry point per op of spec/ops.json, used by the model. Each entry lowers to
/// a generated SIMD kernel (elementwise and row ops, driven by hand-written loops), a hand-written fast
/// driver (GEMM, attention), or the scalar reference (<see cref="RefOps"/>) where nothing faster exists.
/// Weights are passed as stored (<see cref="NamedTensor"/> in bf16, f16 or f32); activations are float32
/// spans, row-major, outermost dimension first. Results are bit-identical for every thread count:
/// work is split over independent output rows/columns only, never over a reduction.
/// The file is split by area: CpuOps.Elementwise.cs, CpuOps.Linear.cs, CpuOps.Attention.cs, CpuOps.Vision.cs.
/// </summary>
public sealed partial class CpuOps
{
    /// <param name="threads">Worker threads (0: all processors).</param>
    public CpuOps(int threads = 0)
    {
        if (threads < 0) throw new IxcException($"threads must be >= 0 (got {threads})");
        Threads = threads == 0 ? Environment.ProcessorCount : threads;
    }

    /// <summary>Worker threads of every split (<see cref="Workers"/>).</summary>
    public int Threads { get; }

    /// <summary>The weight widened to float32 (exact), for paths that have no native bf16/f16 kernel yet.</summary>
    internal static float[] Widen(NamedTensor t) => t.ToFloat32();
}
