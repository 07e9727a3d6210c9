namespace IXC25.Runtime.Quant;

/// <summary>
/// A block-quantized weight format of spec/quant.json (docs/QUANT.md): blocks of <see cref="Block"/> values along a
/// row, one f16 scale per block, stored planar: <c>qs</c> (<see cref="QsBytesPerBlock"/> bytes per block) and
/// <c>scales</c>. The value of an element is (q - <see cref="Offset"/>) * scale.
/// </summary>
public sealed record QuantFormat(string Name, int Id, int GgmlType, int Bits, int Offset, int QMin, int QMax)
{
    /// <summary>Values per block (ggml's QK8_0 = QK4_0 = 32).</summary>
    public const int Block = 32;

    /// <summary>ggml q8_0: int8 values, scale = amax / 127, roundf.</summary>
    public static readonly QuantFormat Q8_0 = new("q8_0", 0, 8, 8, 0, -127, 127);

    /// <summary>ggml q4_0: 4-bit values with offset 8 (element j low nibble, j + 16 high nibble of byte j), scale = signed max / -8.</summary>
    public static readonly QuantFormat Q4_0 = new("q4_0", 1, 2, 4, 8, 0, 15);

    /// <summary>Every format, in spec order (<see cref="Id"/> is the index).</summary>
    public static IReadOnlyList<QuantFormat> All { get; } = [Q8_0, Q4_0];

    /// <summary>Bytes of stored values per block (32 for 8 bits, 16 for 4).</summary>
    public int QsBytesPerBlock => Block * Bits / 8;

    /// <summary>Bytes of one GGUF block (the f16 scale and the values).</summary>
    public int BlockBytes => 2 + QsBytesPerBlock;

    /// <summary>Bytes of the stored values of a [rows, cols] matrix.</summary>
    public long QsBytes(long rows, long cols) => rows * (cols / Block) * QsBytesPerBlock;

    /// <summary>The format named <paramref name="name"/> (q8_0, q4_0); anything else is an IxcException listing them.</summary>
    public static QuantFormat Parse(string name) =>
        All.FirstOrDefault(f => f.Name == name)
        ?? throw new IxcException($"unknown weight format '{name}' (known: {string.Join(", ", All.Select(f => f.Name))})");

    public override string ToString() => Name;
}
