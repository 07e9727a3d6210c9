using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>
/// A quantized checkpoint (spec/quant.json "checkpoint") presented to the spec's weight binding: every pair
/// '&lt;key&gt;.qs' + '&lt;key&gt;.scales' becomes the weight '&lt;key&gt;' f32 [OUT, IN] over its stored blocks
/// (<see cref="QuantizedWeight"/>: mapped when the source maps, never dequantized); every other tensor passes through.
/// Opening checks every pair from the headers (a missing half, a dtype or shape other than the layout's, a key the
/// layout would not quantize, a key present both ways); building a weight checks its scales are finite. Each is an
/// IxcException naming the tensor.
/// </summary>
public sealed class QuantizedWeightSource : IWeightSource
{
    private readonly IWeightSource _inner;
    private readonly Dictionary<string, (long Rows, long Cols)> _quantized = new(StringComparer.Ordinal);
    private readonly Dictionary<string, NamedTensor> _built = new(StringComparer.Ordinal);
    private readonly List<string> _names = [];
    private readonly Lock _lock = new();

    public QuantizedWeightSource(IWeightSource inner, QuantFormat format)
    {
        _inner = inner;
        Format = format;
        string src = inner.Description;
        var names = new HashSet<string>(inner.Names, StringComparer.Ordinal);
        foreach (var name in inner.Names)
        {
            if (QuantLayout.KeyOfScales(name) is { } sk)
            {
                if (!names.Contains(QuantLayout.QsName(sk)))
                    throw new IxcException($"{src}: tensor '{name}' has no '{QuantLayout.QsName(sk)}' (a quantized weight is stored as both)");
                continue;
            }
            if (QuantLayout.KeyOfQs(name) is not { } key)
            {
                _names.Add(name);
                continue;
            }
            string scalesName = QuantLayout.ScalesName(key);
            if (!names.Contains(scalesName)) throw new IxcException($"{src}: tensor '{name}' has no '{scalesName}' (a quantized weight is stored as both)");
            if (names.Contains(key)) throw new IxcException($"{src}: weight '{key}' is stored both as is and quantized ('{name}')");
            inner.TryGetInfo(name, out var qdt, out var qshape);
            inner.TryGetInfo(scalesName, out var sdt, out var sshape);
            var wantQ = QuantLayout.QsDType(format);
            if (qdt != wantQ) throw new IxcException($"{src}: tensor '{name}' has dtype {qdt.SpecName()}, expected {wantQ.SpecName()} (the {format} values)");
            if (sdt != QuantLayout.ScaleDType) throw new IxcException($"{src}: tensor '{scalesName}' has dtype {sdt.SpecName()}, expected {QuantLayout.ScaleDType.SpecName()} (the {format} block scales)");
            if (qshape.Length != 2 || qshape[1] <= 0 || qshape[1] % format.QsBytesPerBlock != 0)
                throw new IxcException($"{src}: tensor '{name}' has shape {Shape.Format(qshape)}, expected [OUT, IN * {format.Bits} / 8] with whole {format} blocks of {format.QsBytesPerBlock} bytes per row (truncated?)");
            long rows = qshape[0], cols = qshape[1] / format.QsBytesPerBlock * QuantFormat.Block;
            var wantS = QuantLayout.ScalesShape(rows, cols);
            if (!sshape.AsSpan().SequenceEqual(wantS))
                throw new IxcException($"{src}: tensor '{scalesName}' has shape {Shape.Format(sshape)}, expected {Shape.Format(wantS)} (one scale per {QuantFormat.Block} values of '{name}' {Shape.Format(qshape)})");
            if (!QuantLayout.Quantizable(key, [rows, cols]))
                throw new IxcException($"{src}: tensor '{name}' stores '{key}' [{rows}, {cols}] quantized, which the layout never quantizes (a LoRA factor)");
            if (rows > int.MaxValue || cols > int.MaxValue) throw new IxcException($"{src}: weight '{key}' [{rows}, {cols}] is too large");
            _quantized[key] = (rows, cols);
            _names.Add(key);
        }
    }

    public QuantFormat Format { get; }

    /// <summary>The weight keys stored quantized, in checkpoint order.</summary>
    public IReadOnlyCollection<string> QuantizedKeys => _quantized.Keys;

    /// <summary>Whether <paramref name="key"/> is stored quantized, and its logical shape.</summary>
    public bool IsQuantized(string key, out long rows, out long cols)
    {
        bool q = _quantized.TryGetValue(key, out var rc);
        (rows, cols) = rc;
        return q;
    }

    public string Description => _inner.Description;
    public IReadOnlyCollection<string> Names => _names;

    public bool TryGetInfo(string name, out DType dtype, out long[] shape)
    {
        if (_quantized.TryGetValue(name, out var rc))
        {
            dtype = DType.F32;
            shape = [rc.Rows, rc.Cols];
            return true;
        }
        if (QuantLayout.KeyOfQs(name) is not null || QuantLayout.KeyOfScales(name) is not null) { dtype = default; shape = []; return false; }
        return _inner.TryGetInfo(name, out dtype, out shape);
    }

    public NamedTensor Get(string name)
    {
        if (!_quantized.TryGetValue(name, out var rc)) return _inner.Get(name);
        lock (_lock)
        {
            if (_built.TryGetValue(name, out var t)) return t;
            var qs = _inner.Get(QuantLayout.QsName(name));
            var scales = _inner.Get(QuantLayout.ScalesName(name));
            var m = new QuantizedMatrix(Format, (int)rc.Rows, (int)rc.Cols, Buffer<byte>(qs), Buffer<ushort>(scales), name);
            return _built[name] = QuantizedWeight.Tensor(name, m);
        }
    }

    /// <summary>The stored bytes as they are: mapped memory stays mapped; anything else is copied once.</summary>
    private static QuantBuffer<T> Buffer<T>(NamedTensor t) where T : unmanaged =>
        t.Data is PointerBuffer p ? new QuantBuffer<T>(p) : new QuantBuffer<T>(System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(t.Data.Bytes).ToArray());
}
