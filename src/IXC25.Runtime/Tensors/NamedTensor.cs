using System.Runtime.InteropServices;

namespace IXC25.Runtime.Tensors;

/// <summary>A tensor with its name, element type and shape (outermost first), over some bytes.</summary>
public sealed class NamedTensor
{
    public NamedTensor(string name, DType dtype, long[] shape, TensorBuffer data)
    {
        Name = name;
        DType = dtype;
        Shape = shape;
        Data = data;
        long expected = checked(Tensors.Shape.Numel(shape) * dtype.Size());
        if (data.ByteLength != expected)
            throw new IxcException($"tensor '{name}': {data.ByteLength} bytes for {dtype.SafetensorsName()} {Tensors.Shape.Format(shape)} (expected {expected})");
    }

    public string Name { get; }
    public DType DType { get; }
    public long[] Shape { get; }
    public TensorBuffer Data { get; }
    public long Numel => Tensors.Shape.Numel(Shape);

    /// <summary>The values as one span; a tensor above 2 GiB is refused (one line naming it): read it with <see cref="ReadFloat32"/> or <see cref="ByteSlice"/>.</summary>
    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged
    {
        if (Data.ByteLength > int.MaxValue) throw new IxcException(TensorBuffer.TooLargeForSpan($"tensor '{Name}' ({DType.SafetensorsName()} {Tensors.Shape.Format(Shape)})", Data.ByteLength));
        return MemoryMarshal.Cast<byte, T>(Data.Bytes);
    }

    /// <summary><paramref name="length"/> bytes from <paramref name="offset"/>, for a tensor of any size.</summary>
    public ReadOnlySpan<byte> ByteSlice(long offset, int length) => Data.Slice(offset, length);

    /// <summary>
    /// Widens <paramref name="destination"/>.Length elements from element <paramref name="start"/> to float32
    /// (F16/BF16 exactly, F64 narrowed): a tensor of any size read in pieces.
    /// </summary>
    public void ReadFloat32(long start, Span<float> destination)
    {
        int n = destination.Length;
        if (start < 0 || start > Numel - n) throw new ArgumentOutOfRangeException(nameof(start), $"elements [{start}, {start + n}) are outside tensor '{Name}' of {Numel}");
        int size = DType.Size();
        if (!DType.IsFloat()) throw new IxcException($"tensor '{Name}' has dtype {DType.SafetensorsName()}, expected a floating-point tensor");
        // a piece is at most int.MaxValue bytes; F64 halves the elements that fit
        int piece = int.MaxValue / size;
        for (int done = 0; done < n;)
        {
            int m = Math.Min(piece, n - done);
            var bytes = Data.Slice((start + done) * size, m * size);
            var dst = destination.Slice(done, m);
            switch (DType)
            {
                case DType.F32: MemoryMarshal.Cast<byte, float>(bytes).CopyTo(dst); break;
                case DType.BF16: BFloat16.Widen(MemoryMarshal.Cast<byte, ushort>(bytes), dst); break;
                case DType.F16:
                    {
                        var s = MemoryMarshal.Cast<byte, Half>(bytes);
                        for (int i = 0; i < s.Length; i++) dst[i] = (float)s[i];
                        break;
                    }
                default:
                    {
                        var s = MemoryMarshal.Cast<byte, double>(bytes);
                        for (int i = 0; i < s.Length; i++) dst[i] = (float)s[i];
                        break;
                    }
            }
            done += m;
        }
    }

    /// <summary>
    /// Copies the values into a new float32 array, widening F16/BF16 exactly and narrowing F64. Works for a
    /// tensor above 2 GiB of data as long as its elements fit one array (<see cref="Array.MaxLength"/>);
    /// a larger one is refused in one line naming it.
    /// </summary>
    public float[] ToFloat32()
    {
        if (!DType.IsFloat()) throw new IxcException($"tensor '{Name}' has dtype {DType.SafetensorsName()}, expected a floating-point tensor");
        if (Numel > Array.MaxLength)
            throw new IxcException(FormattableString.Invariant($"tensor '{Name}' ({DType.SafetensorsName()} {Tensors.Shape.Format(Shape)}) has {Numel:N0} elements, more than one float array holds ({Array.MaxLength:N0}); it can only be read in pieces"));
        var result = new float[Numel];
        ReadFloat32(0, result);
        return result;
    }

    public static NamedTensor F32(string name, long[] shape, float[] data) => new(name, DType.F32, shape, TensorBuffer.FromArray(data));
    public static NamedTensor U8(string name, long[] shape, byte[] data) => new(name, DType.U8, shape, TensorBuffer.FromArray(data));
    public static NamedTensor I64(string name, long[] shape, long[] data) => new(name, DType.I64, shape, TensorBuffer.FromArray(data));
    public static NamedTensor I32(string name, long[] shape, int[] data) => new(name, DType.I32, shape, TensorBuffer.FromArray(data));
    public static NamedTensor BF16(string name, long[] shape, ushort[] data) => new(name, DType.BF16, shape, TensorBuffer.FromArray(data));
    public static NamedTensor F16(string name, long[] shape, Half[] data) => new(name, DType.F16, shape, TensorBuffer.FromArray(data));

    public override string ToString() => $"{Name}: {DType.SpecName()}{Tensors.Shape.Format(Shape)}";
}
