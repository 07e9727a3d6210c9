using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>
/// A decorator over another backend: every member forwards to <see cref="Inner"/> (the op methods are
/// generated into DelegatingGraphOps.g.cs); a subclass overrides what it changes (e.g. the model's task
/// LoRAs on top of plora_linear).
/// </summary>
public abstract partial class DelegatingGraphOps(IGraphOps inner) : IGraphOps
{
    public IGraphOps Inner { get; } = inner;

    public virtual string Name => Inner.Name;
    public virtual Act Upload<T>(ReadOnlySpan<T> data, params long[] shape) where T : unmanaged => Inner.Upload(data, shape);
    public virtual Act Alloc(DType dtype, params long[] shape) => Inner.Alloc(dtype, shape);
    public virtual void Copy(Act source, long sourceStart, Act destination, long destinationStart, long count) => Inner.Copy(source, sourceStart, destination, destinationStart, count);
    public virtual KvLayer NewKvLayer(int kvHeads, int headDim, DType storage, int maxTokens) => Inner.NewKvLayer(kvHeads, headDim, storage, maxTokens);
    public virtual void Release(Act a) => Inner.Release(a);
    public virtual bool Owns(Act a) => Inner.Owns(a);

    /// <summary>Disposes the inner backend (a decorator owns what it wraps).</summary>
    public virtual void Dispose()
    {
        Inner.Dispose();
        GC.SuppressFinalize(this);
    }
}
