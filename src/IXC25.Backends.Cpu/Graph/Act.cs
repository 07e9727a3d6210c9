using System.Buffers;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu;

/// <summary>
/// An activation: a row-major tensor the forward pass produces and consumes (float32; u8 for masks,
/// i64 for token ids). Its storage is rented from <see cref="ArrayPool{T}"/> and given back by
/// <see cref="Release"/>; the generated graph code releases every temporary right after its last use.
/// </summary>
public sealed class Act
{
    private float[]? _f;
    private byte[]? _b;
    private long[]? _l;
    private readonly bool _pooled;

    private Act(DType dtype, long[] shape, bool pooled)
    {
        DType = dtype;
        Shape = shape;
        Length = checked((int)global::IXC25.Runtime.Tensors.Shape.Numel(shape));
        _pooled = pooled;
    }

    public DType DType { get; }
    /// <summary>Outermost dimension first.</summary>
    public long[] Shape { get; }
    public int Length { get; }
    public bool Released { get; private set; }

    public int Dim(int i) => checked((int)Shape[i]);

    /// <summary>A float32 activation with uninitialized contents.</summary>
    public static Act F32(params long[] shape)
    {
        var a = new Act(DType.F32, shape, pooled: true);
        a._f = ArrayPool<float>.Shared.Rent(Math.Max(1, a.Length));
        return a;
    }

    /// <summary>Wraps an existing array (not pooled; release is a no-op for the data).</summary>
    public static Act Wrap(float[] data, params long[] shape)
    {
        var a = new Act(DType.F32, shape, pooled: false) { _f = data };
        if (data.Length < a.Length) throw new ArgumentException("data shorter than the shape");
        return a;
    }

    public static Act Mask(byte[] mask) => new(DType.U8, [mask.Length], pooled: false) { _b = mask };

    /// <summary>Wraps bytes as a u8 activation of the given shape (e.g. an [H, W, 3] image).</summary>
    public static Act U8(byte[] data, params long[] shape)
    {
        var a = new Act(DType.U8, shape, pooled: false) { _b = data };
        if (data.Length < a.Length) throw new ArgumentException("data shorter than the shape");
        return a;
    }
    public static Act Ids(long[] ids) => new(DType.I64, [ids.Length], pooled: false) { _l = ids };

    public Span<float> Span => Released ? throw new ObjectDisposedException("activation used after release")
        : DType == DType.F32 ? _f.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not f32");
    public Span<byte> Bytes => DType == DType.U8 ? _b.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not u8");
    public Span<long> Longs => DType == DType.I64 ? _l.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not i64");

    /// <summary>A copy as a named tensor (for traces).</summary>
    public NamedTensor ToNamed(string name) => DType switch
    {
        DType.F32 => NamedTensor.F32(name, (long[])Shape.Clone(), Span.ToArray()),
        DType.U8 => NamedTensor.U8(name, (long[])Shape.Clone(), Bytes.ToArray()),
        DType.I64 => NamedTensor.I64(name, (long[])Shape.Clone(), Longs.ToArray()),
        _ => throw new InvalidOperationException(),
    };

    /// <summary>Gives the storage back to the pool; further use throws.</summary>
    public void Release()
    {
        if (Released) return;
        Released = true;
        if (_pooled && _f is not null) ArrayPool<float>.Shared.Return(_f);
        _f = null;
    }

    /// <summary>Rows [start, start + count) of a 2-D float activation as a new activation (copy).</summary>
    public Act Rows(int start, int count)
    {
        if (Shape.Length != 2 || start < 0 || count < 0 || start + count > Shape[0]) throw new ArgumentOutOfRangeException(nameof(start));
        int w = Dim(1);
        var r = F32(count, w);
        Span.Slice(start * w, count * w).CopyTo(r.Span);
        return r;
    }

    public override string ToString() => DType.SpecName() + global::IXC25.Runtime.Tensors.Shape.Format(Shape);
}
