using System.Text.Json;
using IXC25.Runtime.Spec;

namespace IXC25.Runtime.Compare;

/// <summary>
/// A table of tolerance classes with their overrides (the format of spec/tolerances.json). The compiled-in
/// table comes from the spec; <see cref="Load"/> reads another file of the same format.
/// </summary>
public sealed class ToleranceSet
{
    private readonly Dictionary<string, ToleranceInfo> _classes;
    private readonly List<(string Class, string? DType, string? Backend, ToleranceInfo Value)> _overrides;

    public ToleranceSet(IEnumerable<ToleranceInfo> classes, IEnumerable<(string Class, string? DType, string? Backend, ToleranceInfo Value)>? overrides = null)
    {
        _classes = classes.ToDictionary(c => c.Name, StringComparer.Ordinal);
        _overrides = overrides?.ToList() ?? [];
    }

    public IReadOnlyCollection<ToleranceInfo> Classes => _classes.Values;

    /// <summary>The class, refined by the most specific override for the weight dtype and backend.</summary>
    public ToleranceInfo Get(string name, string? dtype = null, string? backend = null)
    {
        if (!_classes.TryGetValue(name, out var t)) throw new IxcException($"unknown tolerance class '{name}' (known: {string.Join(", ", _classes.Keys)})");
        var best = _overrides
            .Where(o => o.Class == name && (o.DType is null || o.DType == dtype) && (o.Backend is null || o.Backend == backend))
            .OrderByDescending(o => (o.DType is null ? 0 : 1) + (o.Backend is null ? 0 : 1))
            .FirstOrDefault();
        return best.Value ?? t;
    }

    /// <summary>Reads a file in the format of spec/tolerances.json.</summary>
    public static ToleranceSet Load(string path)
    {
        using var doc = ConfigReader.ParseFile(path);
        var root = doc.RootElement;
        try
        {
            var classes = new List<ToleranceInfo>();
            foreach (var c in Required(root, "classes", "the file").EnumerateArray())
                classes.Add(Read(c, Required(c, "name", "a class").GetString()!));
            var overrides = new List<(string, string?, string?, ToleranceInfo)>();
            if (root.TryGetProperty("overrides", out var ov))
                foreach (var o in ov.EnumerateArray())
                {
                    string cls = Required(o, "class", "an override").GetString()!;
                    overrides.Add((cls, o.TryGetProperty("dtype", out var d) ? d.GetString() : null,
                        o.TryGetProperty("backend", out var b) ? b.GetString() : null, Read(o, cls)));
                }
            return new ToleranceSet(classes, overrides);
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or FormatException)
        {
            throw new IxcException($"{path}: not a tolerance table ({e.Message}); see spec/tolerances.json for the format");
        }
    }

    private static ToleranceInfo Read(JsonElement e, string name) => new(name,
        Required(e, "atol", $"'{name}'").GetDouble(), Required(e, "rtol", $"'{name}'").GetDouble(), Required(e, "nmse", $"'{name}'").GetDouble(),
        e.TryGetProperty("reason", out var r) ? r.GetString() ?? "" : "")
    {
        AtolPerPosition = e.TryGetProperty("atol_per_position", out var pp) ? pp.GetDouble() : 0,
    };

    private static JsonElement Required(JsonElement e, string key, string where) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(key, out var v) ? v
            : throw new KeyNotFoundException($"{where} has no \"{key}\"");
}
