using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>
/// The tensor and cache members of a backend (the op methods are generated from spec/ops.json into
/// IGraphOps.g.cs). Every tensor an op takes or returns was made by the same backend; a driver moves data
/// in with <see cref="Upload{T}"/> or <see cref="Act.Write{T}"/> and out with <see cref="Act.Read{T}"/>.
/// </summary>
public partial interface IGraphOps : IDisposable
{
    /// <summary>The backend's name as the CLI's --backend gives it (cpu, reference, gpu, gpu-sim, gpu-ocl), with the device where it has one.</summary>
    string Name { get; }

    /// <summary>A new tensor holding a copy of <paramref name="data"/> (T: float f32, byte u8, long i64).</summary>
    Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged;

    /// <summary>A new tensor with unspecified contents.</summary>
    Act Alloc(DType dtype, params long[] shape);

    /// <summary>Copies <paramref name="count"/> elements between two tensors of this backend and of one dtype.</summary>
    void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count);

    /// <summary>An empty KV cache of one decoder layer.</summary>
    KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens);

    /// <summary>Gives a tensor's storage back (the generated code calls it after the last use).</summary>
    void Release(Act a);

    /// <summary>
    /// Whether this backend's ops take <paramref name="a"/> as it is (a tensor of its kind); the fallback route
    /// (<see cref="FallbackRoute"/>) moves the others. Host backends own every <see cref="HostAct"/>.
    /// </summary>
    bool Owns(Act a) => a is HostAct;
}
