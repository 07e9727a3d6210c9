using System.Collections.Concurrent;
using IXC25.Graph;
using IXC25.Runtime;
using IXC25.Runtime.Quant;
using IXC25.Runtime.Tensors;

namespace IXC25.Backends.Cpu.Quant;

/// <summary>
/// Block-quantized weights over a host backend (<c>--weights q8_0|q4_0</c>): every linear whose weight is
/// quantizable (<see cref="Quantizable"/>) runs the integer dot kernels of <see cref="CpuOps.QuantLinear"/> on the
/// weight quantized once, at its first use (spec/quant.json, docs/QUANT.md); Partial LoRA and task LoRA weights and
/// every other op stay on the inner backend in their stored precision.
/// </summary>
public sealed class QuantizedGraphOps : DelegatingGraphOps
{
    private readonly CpuOps _cpu;
    private readonly ConcurrentDictionary<NamedTensor, QuantizedMatrix?> _weights = new(ReferenceEqualityComparer.Instance);
    private readonly ConcurrentDictionary<NamedTensor, float[]> _biases = new(ReferenceEqualityComparer.Instance);

    public QuantizedGraphOps(IGraphOps inner, QuantFormat format, int threads) : base(inner)
    {
        Format = format;
        _cpu = new CpuOps(threads);
    }

    public QuantFormat Format { get; }

    /// <summary>Whether a weight is held quantized: a matrix whose row width is a multiple of 32, not a LoRA factor
    /// (<see cref="QuantLayout.Quantizable"/>, the rule a quantized checkpoint follows too). A weight of a quantized
    /// checkpoint is used as stored (<see cref="Quantizer.Quantize(QuantFormat, NamedTensor)"/>).</summary>
    public static bool Quantizable(NamedTensor w) => QuantLayout.Quantizable(w.Name, w.Shape);

    /// <summary>The weights quantized so far: count and bytes, and the linears kept in stored precision.</summary>
    public (int Quantized, long Bytes, IReadOnlyList<string> Kept) Stats()
    {
        var q = _weights.Where(kv => kv.Value is not null).ToList();
        return (q.Count, q.Sum(kv => kv.Value!.Bytes), _weights.Where(kv => kv.Value is null).Select(kv => kv.Key.Name).Order(StringComparer.Ordinal).ToList());
    }

    private QuantizedMatrix? Get(NamedTensor w) => _weights.GetOrAdd(w, t => Quantizable(t) ? Quantizer.Quantize(Format, t) : null);

    private static HostAct Host(Act a, string op) =>
        a as HostAct ?? throw new IxcException($"{op}: quantized weights run on a host backend (cpu or reference), not on a device backend");

    public override Act Linear(Act x, NamedTensor weight, NamedTensor? bias, LinearAttrs attrs)
    {
        var q = Get(weight);
        if (q is null) return Inner.Linear(x, weight, bias, attrs);
        var hx = Host(x, "linear");
        int T = ShapeT(x, q.Cols, "linear");
        var y = Host(Inner.Alloc(DType.F32, OutShape(x, q.Rows)), "linear");
        float[]? b = bias is null ? null : _biases.GetOrAdd(bias, t => t.ToFloat32());
        _cpu.QuantLinear(hx.Span, T, q, b, y.Span);
        return y;
    }

    public override Act PloraLinear(Act x, NamedTensor weight, NamedTensor loraA, NamedTensor loraB, Act imMask, PloraLinearAttrs attrs)
    {
        var q = Get(weight);
        if (q is null) return Inner.PloraLinear(x, weight, loraA, loraB, imMask, attrs);
        var hx = Host(x, "plora_linear");
        int T = ShapeT(x, q.Cols, "plora_linear");
        var y = Host(Inner.Alloc(DType.F32, OutShape(x, q.Rows)), "plora_linear");
        _cpu.QuantPloraLinear(hx.Span, T, q, loraA, loraB, Host(imMask, "plora_linear").Bytes, (float)attrs.Scale, y.Span);
        return y;
    }

    private static int ShapeT(Act x, int cols, string op)
    {
        if (x.Shape.Length == 0 || x.Shape[^1] != cols) throw new IxcException($"{op}: 'x' has shape {Shape.Format(x.Shape)}, expected [..., {cols}]");
        return checked((int)(x.Numel / cols));
    }

    private static long[] OutShape(Act x, int rows) => [.. x.Shape[..^1], rows];
}
