using IXC25.Runtime;
using IXC25.Runtime.Spec;
using IXC25.Runtime.Tensors;

namespace IXC25.Graph;

/// <summary>
/// The hand-written half of the op invoker (the per-op dispatch is generated into OpInvoker.g.cs): the
/// spec checks of the named inputs, and <see cref="OpIo"/>, which moves tensors in and out of a backend.
/// </summary>
public static partial class OpInvoker
{
    /// <summary>The spec entry of <paramref name="opName"/>; an unknown name is an error naming it.</summary>
    public static OpInfo Require(string opName) =>
        OpCatalog.Find(opName) ?? throw new IxcException($"unknown op '{opName}' (see 'ixc25 op --list')");

    /// <summary>The names a port's inputs take in a file: the port itself, or &lt;port&gt;.k and &lt;port&gt;.v for a KV cache (its contents before the call).</summary>
    public static IEnumerable<string> InputNames(PortInfo p) => p.IsCache ? [p.Name + ".k", p.Name + ".v"] : [p.Name];

    /// <summary>Every input is a port of the op with an allowed dtype; every required port is given.</summary>
    public static void CheckInputs(OpInfo op, IReadOnlyDictionary<string, NamedTensor> inputs)
    {
        var names = op.Inputs.SelectMany(InputNames).ToList();
        foreach (var name in inputs.Keys)
            if (!names.Contains(name))
                throw new IxcException($"op '{op.Name}' has no input '{name}' (inputs: {string.Join(", ", names)})");
        foreach (var p in op.Inputs)
        {
            if (p.IsCache)
            {
                foreach (var n in InputNames(p))
                {
                    if (!inputs.TryGetValue(n, out var c)) throw new IxcException($"op '{op.Name}': missing input '{n}' (the contents of the KV cache '{p.Name}' before the call, f32 [HKV, TP, D])");
                    if (c.DType != DType.F32) throw new IxcException($"op '{op.Name}': input '{n}' has dtype {c.DType.SpecName()}, expected f32");
                }
                continue;
            }
            if (!inputs.TryGetValue(p.Name, out var t))
            {
                if (!p.Optional) throw new IxcException($"op '{op.Name}': missing input '{p.Name}' ({p})");
                continue;
            }
            if (Array.IndexOf(p.DTypes, t.DType) < 0)
                throw new IxcException($"op '{op.Name}': input '{p.Name}' has dtype {t.DType.SpecName()}, expected {string.Join(" or ", p.DTypes.Select(d => d.SpecName()))}");
        }
    }

    /// <summary>The backend as one that runs oracle-only ops too, or an error naming the op.</summary>
    private static IOracleOps Oracle(IGraphOps ops, string op) => ops as IOracleOps
        ?? throw new IxcException($"op '{op}' is oracle-only (\"graph\": false) and backend '{ops.Name}' runs only the graph's ops");

    /// <summary>The tensors of one invocation: uploaded inputs and caches (released at the end), results read back.</summary>
    private sealed class OpIo(IGraphOps ops, IReadOnlyDictionary<string, NamedTensor> inputs) : IDisposable
    {
        private readonly List<Act> _acts = [];
        private readonly List<(string Port, KvLayer Cache)> _caches = [];
        private readonly List<NamedTensor> _results = [];

        public Act? Activation(string name, bool optional)
        {
            if (!inputs.TryGetValue(name, out var t))
                return optional ? null : throw new IxcException($"missing input '{name}'");
            var a = t.DType switch
            {
                DType.F32 => ops.Upload(t.AsSpan<float>(), t.Shape),
                DType.U8 => ops.Upload(t.AsSpan<byte>(), t.Shape),
                DType.I64 => ops.Upload(t.AsSpan<long>(), t.Shape),
                DType.I32 => ops.Upload<long>(t.AsSpan<int>().ToArray().Select(i => (long)i).ToArray(), t.Shape),
                DType.BF16 or DType.F16 => ops.Upload<float>(t.ToFloat32(), t.Shape),
                _ => throw new IxcException($"input '{name}' has dtype {t.DType.SpecName()}, which no activation takes"),
            };
            _acts.Add(a);
            return a;
        }

        public NamedTensor? Weight(string name, bool optional) =>
            inputs.TryGetValue(name, out var t) ? t : optional ? null : throw new IxcException($"missing input '{name}'");

        /// <summary>A KV cache of the backend holding &lt;port&gt;.k and &lt;port&gt;.v ([HKV, TP, D] each).</summary>
        public KvLayer Cache(string port)
        {
            var k = inputs[port + ".k"];
            var v = inputs[port + ".v"];
            if (k.Shape.Length != 3 || !k.Shape.AsSpan().SequenceEqual(v.Shape) || k.Shape[0] < 1 || k.Shape[2] < 1)
                throw new IxcException($"{port}.k {Shape.Format(k.Shape)} and {port}.v {Shape.Format(v.Shape)} must both be [HKV, TP, D] with HKV, D > 0");
            int hkv = checked((int)k.Shape[0]), tp = checked((int)k.Shape[1]), d = checked((int)k.Shape[2]);
            var cache = ops.NewKvLayer(hkv, d, DType.F32, int.MaxValue);
            _caches.Add((port, cache));
            cache.Append(k.AsSpan<float>(), v.AsSpan<float>(), tp);
            return cache;
        }

        public void Output(string name, Act value)
        {
            _acts.Add(value);
            _results.Add(value.ToNamed(name));
        }

        public IReadOnlyList<NamedTensor> Results()
        {
            foreach (var (port, cache) in _caches)
            {
                long[] shape = [cache.HKV, cache.Length, cache.D];
                var k = new float[Shape.Numel(shape)];
                var v = new float[k.Length];
                cache.CopyTo(k, v);
                _results.Add(NamedTensor.F32(port + ".k_after", shape, k));
                _results.Add(NamedTensor.F32(port + ".v_after", (long[])shape.Clone(), v));
            }
            return _results;
        }

        public void Dispose()
        {
            foreach (var a in _acts) ops.Release(a);
            foreach (var (_, c) in _caches) c.Dispose();
        }
    }
}
