using System.Buffers;
using System.Runtime.InteropServices;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;
using TensorShape = IXC25.Runtime.Tensors.Shape;

namespace IXC25.Graph;

/// <summary>
/// An activation in host memory (the CPU and reference backends' tensors, and host-side values such as
/// the preprocessed image that a driver records as a tap). Float32 storage is rented from
/// <see cref="ArrayPool{T}"/> and given back by <see cref="Release"/>; wrapped arrays are not pooled.
/// </summary>
public sealed class HostAct : Act
{
    private float[]? _f;
    private byte[]? _b;
    private long[]? _l;
    private readonly bool _pooled;

    private HostAct(DType dtype, long[] shape, bool pooled) : base(dtype, shape)
    {
        if (Numel > Array.MaxLength) throw new IxcException($"activation {this} has {Numel:N0} elements, more than one host array holds");
        Length = (int)Numel;
        _pooled = pooled;
    }

    /// <summary>Elements (host tensors fit one array).</summary>
    public int Length { get; }

    /// <summary>A float32 activation with uninitialized contents.</summary>
    public static HostAct F32(params long[] shape)
    {
        var a = new HostAct(DType.F32, shape, pooled: true);
        a._f = ArrayPool<float>.Shared.Rent(Math.Max(1, a.Length));
        return a;
    }

    /// <summary>An activation of any element type with uninitialized (f32) or zeroed (u8, i64) contents.</summary>
    public static HostAct Alloc(DType dtype, params long[] shape) => dtype switch
    {
        DType.F32 => F32(shape),
        DType.U8 => new HostAct(DType.U8, shape, pooled: false) { _b = new byte[TensorShape.Numel(shape)] },
        DType.I64 => new HostAct(DType.I64, shape, pooled: false) { _l = new long[TensorShape.Numel(shape)] },
        _ => throw new IxcException($"an activation is f32, u8 or i64 (got {dtype.SpecName()})"),
    };

    /// <summary>Wraps an existing array (not pooled; release is a no-op for the data).</summary>
    public static HostAct Wrap(float[] data, params long[] shape)
    {
        var a = new HostAct(DType.F32, shape, pooled: false) { _f = data };
        if (data.Length < a.Length) throw new ArgumentException("data shorter than the shape");
        return a;
    }

    public static HostAct Mask(byte[] mask) => new(DType.U8, [mask.Length], pooled: false) { _b = mask };

    /// <summary>Wraps bytes as a u8 activation of the given shape (e.g. an [H, W, 3] image).</summary>
    public static HostAct U8(byte[] data, params long[] shape)
    {
        var a = new HostAct(DType.U8, shape, pooled: false) { _b = data };
        if (data.Length < a.Length) throw new ArgumentException("data shorter than the shape");
        return a;
    }

    public static HostAct Ids(long[] ids) => new(DType.I64, [ids.Length], pooled: false) { _l = ids };

    /// <summary>A host copy of <paramref name="data"/> with the element type of T.</summary>
    public static HostAct From<T>(ReadOnlySpan<T> data, long[] shape) where T : unmanaged
    {
        var a = Alloc(ElementType<T>(), shape);
        if (data.Length != a.Length) throw new IxcException($"{data.Length} values given for a tensor of shape {TensorShape.Format(shape)} ({a.Length} elements)");
        a.Write(0, data);
        return a;
    }

    public Span<float> Span => Released ? throw new ObjectDisposedException("activation used after release")
        : DType == DType.F32 ? _f.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not f32");
    public Span<byte> Bytes => DType == DType.U8 ? _b.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not u8");
    public Span<long> Longs => DType == DType.I64 ? _l.AsSpan(0, Length) : throw new InvalidOperationException($"activation is {DType.SpecName()}, not i64");

    private Span<T> Elements<T>() where T : unmanaged => DType switch
    {
        DType.F32 => MemoryMarshal.Cast<float, T>(Span),
        DType.U8 => MemoryMarshal.Cast<byte, T>(Bytes),
        _ => MemoryMarshal.Cast<long, T>(Longs),
    };

    public override void Read<T>(long start, Span<T> destination)
    {
        CheckAccess<T>(start, destination.Length);
        Elements<T>().Slice((int)start, destination.Length).CopyTo(destination);
    }

    public override void Write<T>(long start, ReadOnlySpan<T> source)
    {
        CheckAccess<T>(start, source.Length);
        source.CopyTo(Elements<T>().Slice((int)start, source.Length));
    }

    /// <summary>Gives the storage back to the pool; further use throws.</summary>
    public override void Release()
    {
        if (Released) return;
        Released = true;
        if (_pooled && _f is not null) ArrayPool<float>.Shared.Return(_f);
        _f = null;
    }

    /// <summary>The host tensor behind an activation of a host backend; another backend's tensor is an error naming it.</summary>
    public static HostAct Of(Act a) => a as HostAct
        ?? throw new IxcException($"activation {a} belongs to another backend ({a.GetType().Name}); a host backend reads only host tensors");
}
