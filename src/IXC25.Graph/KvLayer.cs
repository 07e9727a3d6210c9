using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>
/// One decoder layer's KV cache, owned by a backend (<see cref="IGraphOps.NewKvLayer"/>): keys (already
/// rotated, as upstream's cache holds them) and values of the tokens seen so far, per KV head. The
/// attention op of the same backend appends to it and reads it in place; <see cref="Append"/> and
/// <see cref="CopyTo(Span{float}, Span{float})"/> are the explicit host writes and reads (op files, tests).
/// Storage is f32 (exact) or bf16/f16 (values rounded to nearest even when stored, widened exactly when
/// read). Not thread-safe: a cache belongs to one sequence.
/// </summary>
public abstract class KvLayer : IDisposable
{
    protected KvLayer(int kvHeads, int headDim, DType storage, int maxTokens)
    {
        if (storage is not (DType.F32 or DType.BF16 or DType.F16)) throw new IxcException($"KV cache dtype must be f32, bf16 or f16 (got {storage.SpecName()})");
        if (maxTokens < 1) throw new IxcException($"KV cache: maximum {maxTokens} tokens must be positive");
        if (kvHeads < 1 || headDim < 1) throw new IxcException($"KV cache: {kvHeads} heads of dimension {headDim} must be positive");
        HKV = kvHeads;
        D = headDim;
        Storage = storage;
        MaxTokens = maxTokens;
    }

    public int HKV { get; }
    public int D { get; }
    public DType Storage { get; }
    public int MaxTokens { get; }

    /// <summary>Tokens stored per head.</summary>
    public abstract int Length { get; }

    /// <summary>Tokens the storage holds before it grows.</summary>
    public abstract int Capacity { get; }

    /// <summary>Bytes of key and value storage held.</summary>
    public abstract long Bytes { get; }

    /// <summary>Makes room for <paramref name="extra"/> more tokens (within <see cref="MaxTokens"/>).</summary>
    public abstract void Reserve(int extra);

    /// <summary>Appends T tokens: k, v [HKV, T, D] (keys already rotated).</summary>
    public abstract void Append(ReadOnlySpan<float> k, ReadOnlySpan<float> v, int T);

    /// <summary>Copies the stored tokens out as float32 k, v [HKV, Length, D].</summary>
    public abstract void CopyTo(Span<float> k, Span<float> v);

    /// <summary>Forgets tokens from <paramref name="length"/> on (to reuse a prefix).</summary>
    public abstract void Truncate(int length);

    /// <summary>Makes <paramref name="other"/> (of the same backend, heads, dimension and storage) hold the same tokens (beam search reassigns caches this way).</summary>
    public virtual void CopyTo(KvLayer other)
    {
        CheckCompatible(other);
        other.Truncate(0);
        if (Length == 0) return;
        var k = new float[(long)HKV * Length * D];
        var v = new float[k.Length];
        CopyTo(k, v);
        other.Append(k, v, Length);
    }

    /// <summary>Throws unless <paramref name="other"/> has the same heads, head dimension and storage.</summary>
    protected void CheckCompatible(KvLayer other)
    {
        if (other.HKV != HKV || other.D != D || other.Storage != Storage)
            throw new ArgumentException($"incompatible KV caches: [{HKV} heads, {D}, {Storage.SpecName()}] and [{other.HKV} heads, {other.D}, {other.Storage.SpecName()}]");
    }

    /// <summary>A value as the storage dtype holds it (bf16 and f16 round to nearest even; f32 as it is): what a cache
    /// that keeps float32 arrays writes so that it holds the same values as one that stores the narrow type.</summary>
    protected float Stored(float x) => Storage switch
    {
        DType.BF16 => BFloat16.ToSingle(BFloat16.FromSingle(x)),
        DType.F16 => (float)(Half)x,
        _ => x,
    };

    /// <summary>The error for a cache that outgrows <see cref="MaxTokens"/>.</summary>
    protected IxcException Full(long need) => new($"KV cache full: {need} tokens needed, the cache holds at most {MaxTokens} (--max-context)");

    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing) { }
}
