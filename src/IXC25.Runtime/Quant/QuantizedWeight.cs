using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>
/// The data of a weight that a quantized checkpoint stores block-quantized: the tensor keeps its logical name, shape
/// [OUT, IN] and dtype f32 (every dequantized value is a float32), so the spec's binding validates it as any weight,
/// and its <see cref="Matrix"/> holds the stored blocks (mapped, never dequantized). Only the quantized linear path
/// reads it (<see cref="Quantizer.Quantize(QuantFormat, NamedTensor)"/> hands the matrix over); reading its bytes as
/// floats is an IxcException naming the tensor.
/// </summary>
public sealed class QuantizedWeight : TensorBuffer
{
    private readonly string _name;

    public QuantizedWeight(string name, QuantizedMatrix matrix)
    {
        _name = name;
        Matrix = matrix;
    }

    public QuantizedMatrix Matrix { get; }

    /// <summary>The tensor over it: <paramref name="name"/>, f32 [Rows, Cols].</summary>
    public static NamedTensor Tensor(string name, QuantizedMatrix matrix) =>
        new(name, DType.F32, [matrix.Rows, matrix.Cols], new QuantizedWeight(name, matrix));

    /// <summary>The bytes the tensor would have as f32 (what its shape and dtype say).</summary>
    public override long ByteLength => (long)Matrix.Rows * Matrix.Cols * sizeof(float);

    public override ReadOnlySpan<byte> Bytes => throw Refusal();

    public override ReadOnlySpan<byte> Slice(long offset, int length) => throw Refusal();

    private IxcException Refusal() =>
        new($"tensor '{_name}' is stored {Matrix.Format}-quantized: it runs only as a quantized linear (the cpu or reference backend), its values are not stored as floats");
}
