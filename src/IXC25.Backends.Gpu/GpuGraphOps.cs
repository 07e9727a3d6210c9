using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// The graph on the ILGPU backend (--backend gpu, gpu-sim). The op methods are generated from spec/ops.json
/// (GpuGraphOps.g.cs, target gpu): the ops lowered to "ilgpu" (<see cref="GpuLowering"/>: norms, activations,
/// residual adds, softmax, RoPE) check their shapes, allocate their outputs and run the kernels of
/// <see cref="GpuOps"/> (<see cref="IGpuKernels"/>); every op lowered to "none" takes the generic
/// <see cref="FallbackRoute"/> to <see cref="Fallback"/>, the host backend the factory gives it. Tensors are the
/// fallback's host tensors for now, and each GPU kernel uploads its inputs and downloads its output
/// (resident device tensors are the GPU issue's). This half holds the tensor and cache members.
/// </summary>
public sealed partial class GpuGraphOps : IOracleOps
{
    public GpuGraphOps(GpuOps gpu, IOracleOps fallback, string name)
    {
        Gpu = gpu;
        Kernels = gpu;
        Fallback = fallback;
        Name = name;
        Route = new FallbackRoute(this, fallback);
    }

    public GpuOps Gpu { get; }

    /// <summary>Where the ops without an ILGPU kernel run (and whose tensors this backend uses).</summary>
    public IOracleOps Fallback { get; }

    private IGpuKernels Kernels { get; }
    private FallbackRoute Route { get; }

    public string Name { get; }

    /// <summary>Ops that ran on the accelerator so far, by name (for reports).</summary>
    public IReadOnlyDictionary<string, int> GpuCalls => _calls;
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

    partial void OnKernel(string op) => _calls[op] = _calls.TryGetValue(op, out var n) ? n + 1 : 1;

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => Fallback.Upload(data, shape);
    public Act Alloc(DType dtype, params long[] shape) => Fallback.Alloc(dtype, shape);
    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => Fallback.Copy(source, sourceStart, destination, destinationStart, count);
    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => Fallback.NewKvLayer(kvHeads, headDim, storage, maxTokens);
    public void Release(Act a) => Fallback.Release(a);
    public bool Owns(Act a) => Fallback.Owns(a);

    public void Dispose()
    {
        Gpu.Dispose();
        Fallback.Dispose();
    }
}
