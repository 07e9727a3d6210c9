using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Spec;

/// <summary>Where the weight binding reads tensors from: a checkpoint, or anything else that has names.</summary>
public interface IWeightSource
{
    /// <summary>A short description for error messages (a directory, a file).</summary>
    string Description { get; }

    /// <summary>All tensor names available.</summary>
    IReadOnlyCollection<string> Names { get; }

    /// <summary>The tensor's dtype and shape (cheap: no data is read).</summary>
    bool TryGetInfo(string name, out DType dtype, out long[] shape);

    /// <summary>The tensor itself (memory-mapped where the source allows).</summary>
    NamedTensor Get(string name);
}

/// <summary>An in-memory weight source (tests, synthetic weights).</summary>
public sealed class DictionaryWeightSource(IEnumerable<NamedTensor> tensors, string description = "in-memory weights") : IWeightSource
{
    private readonly Dictionary<string, NamedTensor> _map = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public string Description => description;
    public IReadOnlyCollection<string> Names => _map.Keys;

    public bool TryGetInfo(string name, out DType dtype, out long[] shape)
    {
        if (_map.TryGetValue(name, out var t)) { dtype = t.DType; shape = t.Shape; return true; }
        dtype = default; shape = [];
        return false;
    }

    public NamedTensor Get(string name) => _map.TryGetValue(name, out var t) ? t : throw new IxcException($"{description}: no tensor named '{name}'");
}
