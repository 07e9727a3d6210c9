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

    public ReadOnlySpan<T> AsSpan<T>() where T : unmanaged => MemoryMarshal.Cast<byte, T>(Data.Bytes);

    /// <summary>Copies the values into a new float32 array, widening F16/BF16 exactly and narrowing F64.</summary>
    public float[] ToFloat32()
    {
        var result = new float[Numel];
        switch (DType)
        {
            case DType.F32: AsSpan<float>().CopyTo(result); break;
            case DType.BF16: BFloat16.Widen(AsSpan<ushort>(), result); break;
            case DType.F16:
                {
                    var s = AsSpan<Half>();
                    for (int i = 0; i < s.Length; i++) result[i] = (float)s[i];
                    break;
                }
            case DType.F64:
                {
                    var s = AsSpan<double>();
                    for (int i = 0; i < s.Length; i++) result[i] = (float)s[i];
                    break;
                }
            default: throw new IxcException($"tensor '{Name}' has dtype {DType.SafetensorsName()}, expected a floating-point tensor");
        }
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
