using System.Runtime.CompilerServices;
using IXC25.Runtime;
using IXC25.Runtime.Tensors;
using TensorShape = IXC25.Runtime.Tensors.Shape;

namespace IXC25.Graph;

/// <summary>
/// A tensor of the forward pass (an activation: float32; u8 for masks, i64 for token ids), row-major,
/// outermost dimension first, owned by the backend that made it (<see cref="IGraphOps"/>): host memory,
/// device memory or a mapped file. Its contents are reached only through <see cref="Read{T}"/> (taps,
/// results) and <see cref="Write{T}"/> (inputs), in pieces of any size, so a tensor larger than a span
/// can hold is still read and written. Ops take and return the handles of their own backend; the
/// generated graph gives every temporary back with <see cref="IGraphOps.Release"/> after its last use.
/// </summary>
public abstract class Act
{
    protected Act(DType dtype, long[] shape)
    {
        if (dtype is not (DType.F32 or DType.U8 or DType.I64)) throw new IxcException($"an activation is f32, u8 or i64 (got {dtype.SpecName()})");
        foreach (var d in shape)
            if (d < 0) throw new IxcException($"negative dimension in shape {TensorShape.Format(shape)}");
        DType = dtype;
        Shape = shape;
        Numel = TensorShape.Numel(shape);
    }

    public DType DType { get; }
    /// <summary>Outermost dimension first.</summary>
    public long[] Shape { get; }
    /// <summary>Elements (the product of the shape).</summary>
    public long Numel { get; }
    public bool Released { get; protected set; }

    public int Dim(int i) => checked((int)Shape[i]);

    /// <summary>Copies elements [<paramref name="start"/>, start + destination.Length) out (T: float for f32, byte for u8, long for i64).</summary>
    public abstract void Read<T>(long start, Span<T> destination) where T : unmanaged;

    /// <summary>Copies <paramref name="source"/> into elements [<paramref name="start"/>, start + source.Length).</summary>
    public abstract void Write<T>(long start, ReadOnlySpan<T> source) where T : unmanaged;

    /// <summary>Gives the storage back; further use throws.</summary>
    public abstract void Release();

    /// <summary>All elements as a new array (for tensors an array can hold).</summary>
    public T[] ToArray<T>() where T : unmanaged
    {
        if (Numel > Array.MaxLength) throw new IxcException($"tensor {this} has {Numel:N0} elements, more than one array holds (read it in pieces)");
        var a = new T[Numel];
        Read<T>(0, a);
        return a;
    }

    /// <summary>A host copy as a named tensor (for tensors an array can hold).</summary>
    public NamedTensor ToNamed(string name) => DType switch
    {
        DType.F32 => NamedTensor.F32(name, (long[])Shape.Clone(), ToArray<float>()),
        DType.U8 => NamedTensor.U8(name, (long[])Shape.Clone(), ToArray<byte>()),
        _ => NamedTensor.I64(name, (long[])Shape.Clone(), ToArray<long>()),
    };

    /// <summary>Throws unless T is this tensor's element type and the range lies inside it, or the tensor was released.</summary>
    protected void CheckAccess<T>(long start, int count) where T : unmanaged
    {
        if (Released) throw new ObjectDisposedException(nameof(Act), "activation used after release");
        if (ElementType<T>() != DType) throw new InvalidOperationException($"activation is {DType.SpecName()}, accessed as {typeof(T).Name}");
        if (start < 0 || start + count > Numel) throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + count}) outside {this}");
    }

    /// <summary>The activation dtype stored as T (float: f32, byte: u8, long: i64).</summary>
    public static DType ElementType<T>() where T : unmanaged =>
        typeof(T) == typeof(float) ? DType.F32 : typeof(T) == typeof(byte) ? DType.U8 : typeof(T) == typeof(long) ? DType.I64
        : throw new InvalidOperationException($"{typeof(T).Name} is not an activation element type (float, byte, long)");

    public override string ToString() => DType.SpecName() + TensorShape.Format(Shape);
}
