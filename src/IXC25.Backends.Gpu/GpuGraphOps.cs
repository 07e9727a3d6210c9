using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Gpu;

/// <summary>
/// The graph on the ILGPU backend (--backend gpu, gpu-sim). Its tensors (<see cref="GpuAct"/>) and KV caches
/// (<see cref="GpuKvLayer"/>) live in the accelerator's memory and its weights are uploaded once
/// (<see cref="DeviceWeights"/>). The op methods are generated from spec/ops.json (GpuGraphOps.g.cs, target gpu):
/// every op lowered to "ilgpu" or "driver" (<see cref="GpuLowering"/>) checks its shapes, allocates its outputs on
/// the device and runs the kernels of <see cref="GpuOps"/> (<see cref="IGpuKernels"/>); the oracle-only ops lowered
/// to "none" (split_qkv, sdpa, attention: the references the graph never calls) take the generic
/// <see cref="FallbackRoute"/> to <see cref="Fallback"/>, which moves their tensors to the host and back. This half
/// holds the tensor and cache members.
/// </summary>
public sealed partial class GpuGraphOps : IOracleOps, IDeviceBackend
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

    /// <summary>Where the ops without an ILGPU kernel run (host tensors, moved there and back by the route).</summary>
    public IOracleOps Fallback { get; }

    private IGpuKernels Kernels { get; }
    private FallbackRoute Route { get; }

    public string Name { get; }

    public string DeviceName => Gpu.Device.Description;
    public long DeviceMemoryBytes => Gpu.DeviceMemory;
    public long WeightBytesOnDevice => Gpu.Weights.Bytes;

    public int ArgMax(Act row)
    {
        int i = Gpu.ArgMax(GpuAct.Of(row));
        OnKernel("argmax");
        return i;
    }

    public void UploadWeights(IEnumerable<NamedTensor> weights)
    {
        foreach (var t in weights)
        {
            Gpu.Weights.Get(t);
            if (t.Shape.Length == 1) Gpu.Weights.GetF32(t); // norms and biases: also the f32 copy the row kernels read
        }
    }

    /// <summary>Ops that ran on the accelerator so far, by name (for reports).</summary>
    public IReadOnlyDictionary<string, int> GpuCalls => _calls;
    private readonly Dictionary<string, int> _calls = new(StringComparer.Ordinal);

    partial void OnKernel(string op) => _calls[op] = _calls.TryGetValue(op, out var n) ? n + 1 : 1;

    public Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged
    {
        var a = Gpu.Alloc(Act.ElementType<T>(), shape);
        if (data.Length != a.Numel)
        {
            a.Release();
            throw new IXC25.Runtime.IxcException($"upload of {data.Length} values into a tensor of shape {Shape.Format(shape)} ({a.Numel} elements)");
        }
        a.Write(0, data);
        return a;
    }

    public Act Alloc(DType dtype, params long[] shape) => Gpu.Alloc(dtype, shape);

    public void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) =>
        Gpu.Copy(GpuAct.Of(source), sourceStart, GpuAct.Of(destination), destinationStart, count);

    public KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => Gpu.NewKvLayer(kvHeads, headDim, storage, maxTokens);

    public void Release(Act a) => a.Release();

    public bool Owns(Act a) => a is GpuAct g && ReferenceEquals(g.Owner, Gpu);

    public void Dispose()
    {
        Gpu.Dispose();
        Fallback.Dispose();
    }
}
