namespace IXC25.Runtime.Quant;

/// <summary>
/// A weight matrix [Rows, Cols] in a block-quantized format: <see cref="Qs"/> row by row (Cols / 32 blocks of
/// <see cref="QuantFormat.QsBytesPerBlock"/> bytes each), <see cref="Scales"/> the f16 bits [Rows, Cols / 32].
/// </summary>
public sealed class QuantizedMatrix
{
    public QuantizedMatrix(QuantFormat format, int rows, int cols, byte[] qs, ushort[] scales)
    {
        if (cols % QuantFormat.Block != 0) throw new IxcException($"{format}: {cols} columns is not a multiple of {QuantFormat.Block}");
        if (qs.LongLength != format.QsBytes(rows, cols)) throw new IxcException($"{format}: qs has {qs.LongLength} bytes, expected {format.QsBytes(rows, cols)} for [{rows}, {cols}]");
        if (scales.LongLength != (long)rows * (cols / QuantFormat.Block)) throw new IxcException($"{format}: scales has {scales.LongLength} elements, expected {(long)rows * (cols / QuantFormat.Block)} for [{rows}, {cols}]");
        foreach (ushort h in scales)
            if ((h & 0x7C00) == 0x7C00) throw new IxcException($"{format}: a block scale is not finite (f16 bits 0x{h:X4})");
        Format = format;
        Rows = rows;
        Cols = cols;
        Qs = qs;
        Scales = scales;
    }

    public QuantFormat Format { get; }
    public int Rows { get; }
    public int Cols { get; }
    public int Blocks => Cols / QuantFormat.Block;
    public byte[] Qs { get; }
    public ushort[] Scales { get; }

    /// <summary>Bytes held (values and scales).</summary>
    public long Bytes => Qs.LongLength + 2L * Scales.LongLength;
}
