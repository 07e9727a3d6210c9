using System.Globalization;

namespace IXC25.Runtime.Spec;

/// <summary>Parses `key=value` op attributes for the generated attribute records.</summary>
public sealed class AttrParser
{
    private readonly string _op;
    private readonly IReadOnlyDictionary<string, string> _attrs;

    public AttrParser(string op, IReadOnlyDictionary<string, string> attrs, string[] known)
    {
        _op = op;
        _attrs = attrs;
        foreach (var k in attrs.Keys)
            if (Array.IndexOf(known, k) < 0)
                throw new IxcException($"op '{op}' has no attribute '{k}' (attributes: {(known.Length == 0 ? "none" : string.Join(", ", known))})");
    }

    private string? Raw(string key) => _attrs.TryGetValue(key, out var v) ? v : null;

    private IxcException Missing(string key) => new($"op '{_op}' needs attribute '{key}' (--attr {key}=VALUE)");
    private IxcException Bad(string key, string v, string what) => new($"op '{_op}': attribute {key}={v} is not {what}");

    public int Int(string key) => Int(key, null) ?? throw Missing(key);
    public int Int(string key, int fallback) => Int(key, (int?)fallback)!.Value;
    private int? Int(string key, int? fallback)
    {
        var v = Raw(key);
        if (v is null) return fallback;
        return int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out int x) ? x : throw Bad(key, v, "an integer");
    }

    public float Float(string key) => Float(key, null) ?? throw Missing(key);
    public float Float(string key, float fallback) => Float(key, (float?)fallback)!.Value;
    private float? Float(string key, float? fallback)
    {
        var v = Raw(key);
        if (v is null) return fallback;
        return float.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out float x) ? x : throw Bad(key, v, "a number");
    }

    public bool Bool(string key) => Bool(key, null) ?? throw Missing(key);
    public bool Bool(string key, bool fallback) => Bool(key, (bool?)fallback)!.Value;
    private bool? Bool(string key, bool? fallback)
    {
        var v = Raw(key);
        if (v is null) return fallback;
        return v switch { "true" or "1" => true, "false" or "0" => false, _ => throw Bad(key, v, "true or false") };
    }

    public string String(string key) => Raw(key) ?? throw Missing(key);
    public string String(string key, string fallback) => Raw(key) ?? fallback;
}
