namespace IXC25.Runtime.Quant;

/// <summary>
/// A weight matrix [Rows, Cols] in a block-quantized format: <see cref="Qs"/> row by row (Cols / 32 blocks of
/// <see cref="QuantFormat.QsBytesPerBlock"/> bytes each), <see cref="Scales"/> the f16 bits [Rows, Cols / 32]. Both
/// live in managed arrays (quantized in memory) or in a mapped quantized checkpoint (<see cref="QuantBuffer{T}"/>).
/// </summary>
public sealed class QuantizedMatrix
{
    /// <summary>Over managed arrays (a matrix quantized in memory).</summary>
    public QuantizedMatrix(QuantFormat format, int rows, int cols, byte[] qs, ushort[] scales, string? name = null)
        : this(format, rows, cols, new QuantBuffer<byte>(qs), new QuantBuffer<ushort>(scales), name) { }

    /// <param name="name">What the messages name (the weight's key); null: the format only.</param>
    public QuantizedMatrix(QuantFormat format, int rows, int cols, QuantBuffer<byte> qs, QuantBuffer<ushort> scales, string? name = null)
    {
        string what = name is null ? format.Name : $"{name} ({format})";
        if (rows < 0 || cols <= 0 || cols % QuantFormat.Block != 0) throw new IxcException($"{what}: [{rows}, {cols}] is not a matrix of whole {QuantFormat.Block}-value blocks");
        if (qs.LongLength != format.QsBytes(rows, cols)) throw new IxcException($"{what}: qs has {qs.LongLength} bytes, expected {format.QsBytes(rows, cols)} for [{rows}, {cols}]");
        if (scales.LongLength != (long)rows * (cols / QuantFormat.Block)) throw new IxcException($"{what}: scales has {scales.LongLength} elements, expected {(long)rows * (cols / QuantFormat.Block)} for [{rows}, {cols}]");
        const int piece = 1 << 20;
        for (long i = 0; i < scales.LongLength; i += piece)
        {
            var s = scales.Slice(i, (int)Math.Min(piece, scales.LongLength - i));
            for (int j = 0; j < s.Length; j++)
                if ((s[j] & 0x7C00) == 0x7C00)
                {
                    long k = i + j, nb = cols / QuantFormat.Block;
                    throw new IxcException($"{what}: the scale of row {k / nb} block {k % nb} is not finite (f16 bits 0x{s[j]:X4})");
                }
        }
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
    public QuantBuffer<byte> Qs { get; }
    public QuantBuffer<ushort> Scales { get; }

    /// <summary>Bytes held (values and scales).</summary>
    public long Bytes => Qs.LongLength + 2L * Scales.LongLength;
}
