using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Reference;

/// <summary>
/// The reference backend (--backend reference): every op of spec/ops.json on the scalar references
/// (<see cref="RefOps"/>: plain loops, double accumulation), host tensors, a plain KV cache. It runs the
/// whole model, slowly: the second opinion of the fast backends and the readable definition for porters.
/// The op methods are generated from the spec (RefGraphOps.g.cs, target ref): each checks its inputs'
/// shapes (<see cref="OpShapes"/>), allocates the outputs and calls <see cref="RefKernels"/>, which widens
/// stored weights to float32 (exact) and calls the reference. This half holds the tensor and cache members.
/// </summary>
public sealed partial class RefGraphOps : IOracleOps
{
    private IRefKernels Kernels { get; } = RefKernels.Instance;

    public string Name => "reference";

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => HostMemory.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => HostMemory.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => HostMemory.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => new RefKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => a.Release();
    public void Dispose() { }
}
