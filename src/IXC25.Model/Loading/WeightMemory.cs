using System.Globalization;
using IXC25.Runtime;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Loading;

/// <summary>
/// How a model's weights are held and what they take (`ixc25 info`): the linears held block-quantized (by a quantized
/// checkpoint, or by <c>--weights F</c> at load) and their bytes, and every other tensor in its stored precision.
/// </summary>
/// <param name="Stored">The stored dtypes of the tensors kept as stored ("bf16", "f16+f32").</param>
/// <param name="Format">The quantized format; null: every weight as stored.</param>
/// <param name="FromCheckpoint">The checkpoint stores the blocks (else --weights quantizes at load).</param>
/// <param name="Quantized">Linear weights held quantized.</param>
/// <param name="QuantizedBytes">Their blocks (values and scales).</param>
/// <param name="QuantizedSourceBytes">What the same weights take in the stored dtype (--weights: they stay mapped, read once).</param>
/// <param name="Kept">Tensors kept as stored.</param>
/// <param name="KeptBytes">Their bytes.</param>
/// <param name="KeptLinears">Linear weights kept as stored (row width not a multiple of 32).</param>
public sealed record WeightMemory(string Stored, QuantFormat? Format, bool FromCheckpoint, int Quantized, long QuantizedBytes, long QuantizedSourceBytes,
    int Kept, long KeptBytes, int KeptLinears)
{
    /// <summary>Bytes resident when every weight is in use: the blocks and the tensors kept as stored.</summary>
    public long Total => QuantizedBytes + KeptBytes;

    /// <summary>Bytes of a weight [rows, cols] in <paramref name="f"/>: values and f16 scales.</summary>
    public static long BlockBytes(QuantFormat f, long rows, long cols) => f.QsBytes(rows, cols) + 2L * rows * (cols / QuantFormat.Block);

    /// <summary>
    /// The breakdown for <paramref name="tensors"/> (name, shape, bytes per element as stored) of <paramref name="dir"/>.
    /// <paramref name="requested"/> is --weights (a quantized checkpoint accepts only its own format).
    /// </summary>
    public static WeightMemory For(ModelDirectory dir, IEnumerable<(string Name, long[] Shape, DType DType)> tensors, IReadOnlySet<string> storedQuantized, QuantFormat? requested)
    {
        var format = dir.CheckWeights(requested);
        var linears = LinearShapes(dir.Dims);
        var quantize = format is null ? new HashSet<string>(StringComparer.Ordinal)
            : dir.Quantization is not null ? storedQuantized
            : linears.Where(kv => QuantLayout.Quantizable(kv.Key, kv.Value)).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
        int nq = 0, nk = 0;
        long qBytes = 0, qSource = 0, kBytes = 0;
        var dtypes = new SortedSet<DType>();
        foreach (var (name, shape, dtype) in tensors)
        {
            if (quantize.Contains(name))
            {
                nq++;
                qBytes += BlockBytes(format!, shape[0], shape[1]);
                if (dir.Quantization is null) qSource += Shape.Numel(shape) * dtype.Size();
            }
            else
            {
                nk++;
                kBytes += Shape.Numel(shape) * dtype.Size();
                dtypes.Add(dtype);
            }
        }
        int keptLinears = format is null ? 0 : linears.Keys.Count(k => !quantize.Contains(k));
        return new WeightMemory(string.Join("+", dtypes.Select(d => d.SpecName())), format, dir.Quantization is not null, nq, qBytes, qSource, nk, kBytes, keptLinears);
    }

    /// <summary>Name and shape of every linear weight of the configuration (<see cref="Ixc25Weights.LinearWeights"/>), from the
    /// spec's catalog alone (no shard needed).</summary>
    public static IReadOnlyDictionary<string, long[]> LinearShapes(Ixc25Dims dims)
    {
        var catalog = Ixc25Weights.Catalog(dims).Where(p => p.Group is null).ToList();
        var tree = Ixc25Weights.Bind(new DictionaryWeightSource(catalog.Select(p =>
            new NamedTensor(p.Key, DType.BF16, [.. p.Shape.Select(d => d.Value)], new ShapeOnly(p.Numel!.Value * 2))), "shapes"), dims);
        return tree.LinearWeights().ToDictionary(t => t.Name, t => t.Shape, StringComparer.Ordinal);
    }

    public string ToText(string indent)
    {
        var ci = CultureInfo.InvariantCulture;
        static string G(long b) => MemoryEstimate.Size(b);
        if (Format is null) return string.Create(ci, $"{indent}format       {Stored} as stored: {Kept:N0} tensors, {G(KeptBytes)}\n");
        string how = FromCheckpoint ? $"{Format}-quantized checkpoint" : $"--weights {Format}: quantized at load";
        string kept = KeptLinears > 0 ? $"; {KeptLinears} linears kept as stored (row width not a multiple of {QuantFormat.Block})" : "";
        string source = FromCheckpoint ? "" : $" (stored {G(QuantizedSourceBytes)}, mapped and read once)";
        return string.Create(ci,
            $"{indent}format       {how}: {Quantized} linear weights in {Format}{kept}\n" +
            $"{indent}quantized    {G(QuantizedBytes)} ({Format.Bits + 16.0 / QuantFormat.Block:0.0} bits per weight){source}\n" +
            $"{indent}as stored    {G(KeptBytes)} ({Kept:N0} tensors, {Stored})\n");
    }

    /// <summary>A tensor's size without its data (shapes for <see cref="LinearShapes"/>).</summary>
    private sealed class ShapeOnly(long bytes) : TensorBuffer
    {
        public override long ByteLength => bytes;
        public override ReadOnlySpan<byte> Bytes => throw new InvalidOperationException("a shape-only tensor has no data");
    }
}
