using IXC25.Backends.Reference;
using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// The CPU backend (--backend cpu). The op methods are generated from spec/ops.json (CpuGraphOps.g.cs,
/// target cpu): each op the CPU lowering table gives to "simd" or "driver" checks its inputs' shapes
/// (<see cref="OpShapes"/>), allocates its outputs as host tensors and calls the span-level kernel of
/// <see cref="CpuOps"/> (<see cref="ICpuKernels"/>); the ops lowered to "reference" take the generic
/// <see cref="FallbackRoute"/> to <see cref="Fallback"/> (the reference backend: host tensors too, so nothing
/// is copied). This half holds the tensor and cache members.
/// </summary>
public sealed partial class CpuGraphOps : IOracleOps
{
    public CpuGraphOps(CpuOps cpu, IOracleOps? fallback = null)
    {
        Cpu = cpu;
        Kernels = cpu;
        Fallback = fallback ?? new RefGraphOps();
        Route = new FallbackRoute(this, Fallback);
    }

    public CpuGraphOps(int threads = 0) : this(new CpuOps(threads)) { }

    public CpuOps Cpu { get; }

    /// <summary>Where the ops lowered to "reference" run (<see cref="CpuLowering"/>).</summary>
    public IOracleOps Fallback { get; }

    private ICpuKernels Kernels { get; }
    private FallbackRoute Route { get; }

    public string Name => "cpu";

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => HostMemory.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => HostMemory.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => HostMemory.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => new CpuKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => a.Release();
    public void Dispose() => Fallback.Dispose();
}
