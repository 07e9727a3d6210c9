using IXC25.Graph;
using IXC25.Runtime.Tensors;

namespace IXC25.Model.Inference;

/// <summary>Keeps copies of the taps whose names pass <paramref name="filter"/> (all when null), in recording order.</summary>
public sealed class MemoryTapSink(Func<string, bool>? filter = null) : ITapSink
{
    private readonly Dictionary<string, NamedTensor> _taps = new(StringComparer.Ordinal);
    private readonly List<string> _order = [];

    public IReadOnlyList<string> Names => _order;
    public NamedTensor this[string name] => _taps[name];
    public bool TryGet(string name, out NamedTensor tensor) => _taps.TryGetValue(name, out tensor!);

    public bool Wants(string name) => filter?.Invoke(name) ?? true;

    public void Record(string name, Act value)
    {
        if (!Wants(name)) return;
        if (!_taps.TryAdd(name, value.ToNamed(name))) throw new InvalidOperationException($"tap '{name}' recorded twice");
        _order.Add(name);
    }
}
