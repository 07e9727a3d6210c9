using System.Globalization;
using System.Text.Json;

namespace IXC25.Runtime.Spec;

/// <summary>
/// Typed reads from a Hugging Face config.json, used by the generated config class. Keys may be
/// dotted ("rope_scaling.type", "vision_config.hidden_size"): a missing parent object means the key
/// is absent. Every problem is an <see cref="IxcException"/> naming the file and the key.
/// </summary>
public sealed class ConfigReader
{
    private readonly JsonElement _root;

    public ConfigReader(JsonElement root, string source)
    {
        if (root.ValueKind != JsonValueKind.Object) throw new IxcException($"{source}: config must be a JSON object");
        _root = root;
        Source = source;
    }

    public string Source { get; }

    public static JsonDocument ParseFile(string path)
    {
        byte[] text;
        try { text = File.ReadAllBytes(path); }
        catch (FileNotFoundException) { throw new IxcException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new IxcException($"{path}: file not found"); }
        catch (IOException e) { throw new IxcException($"{path}: {e.Message}"); }
        if (IO.Utf8Text.FirstInvalidByte(text) is int bad)
            throw new IxcException($"{path}: not valid UTF-8 (byte {bad}, 0x{text[bad]:X2})");
        // File.ReadAllText, used before, dropped a byte order mark: keep accepting one
        var json = text.AsMemory(text.AsSpan().StartsWith("\uFEFF"u8) ? 3 : 0);
        try { return JsonDocument.Parse(json); }
        catch (JsonException e) { throw new IxcException($"{path}: not valid JSON ({e.Message})"); }
    }

    private bool TryFind(string key, out JsonElement value)
    {
        value = _root;
        foreach (var part in key.Split('.'))
        {
            if (value.ValueKind != JsonValueKind.Object || !value.TryGetProperty(part, out value)) return false;
        }
        return value.ValueKind != JsonValueKind.Null;
    }

    private IxcException Bad(string key, string expected, JsonElement v) => new($"{Source}: '{key}' must be {expected}, found {v.GetRawText()}");

    public bool Has(string key) => TryFind(key, out _);

    public int? IntOptional(string key)
    {
        if (!TryFind(key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out int x)) throw Bad(key, "an integer", v);
        return x;
    }

    public int Int(string key) => IntOptional(key) ?? throw new IxcException($"{Source}: missing '{key}'");
    public int Int(string key, int fallback) => IntOptional(key) ?? fallback;

    public double? DoubleOptional(string key)
    {
        if (!TryFind(key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Bad(key, "a number", v);
        return v.GetDouble();
    }

    public double Double(string key) => DoubleOptional(key) ?? throw new IxcException($"{Source}: missing '{key}'");
    public double Double(string key, double fallback) => DoubleOptional(key) ?? fallback;

    public string? StringOptional(string key)
    {
        if (!TryFind(key, out var v)) return null;
        if (v.ValueKind != JsonValueKind.String) throw Bad(key, "a string", v);
        return v.GetString();
    }

    public string String(string key) => StringOptional(key) ?? throw new IxcException($"{Source}: missing '{key}'");
    public string String(string key, string fallback) => StringOptional(key) ?? fallback;

    public bool? BoolOptional(string key)
    {
        if (!TryFind(key, out var v)) return null;
        if (v.ValueKind is not (JsonValueKind.True or JsonValueKind.False)) throw Bad(key, "true or false", v);
        return v.GetBoolean();
    }

    public bool Bool(string key) => BoolOptional(key) ?? throw new IxcException($"{Source}: missing '{key}'");
    public bool Bool(string key, bool fallback) => BoolOptional(key) ?? fallback;

    /// <summary>Checks that an integer lies in the range the spec gives its key (both bounds included).</summary>
    public int Within(string key, int value, int min, int max)
    {
        if (value < min || value > max)
            throw new IxcException($"{Source}: '{key}' = {value} is outside the supported range {min}..{max}");
        return value;
    }

    /// <summary>Checks that a value is one the engine supports.</summary>
    public T Allowed<T>(string key, T value, params T[] allowed)
    {
        if (allowed.Length > 0 && Array.IndexOf(allowed, value) < 0)
            throw new IxcException($"{Source}: '{key}' = {Show(value)} is not supported (supported: {string.Join(", ", allowed.Select(Show))})");
        return value;
    }

    private static string Show<T>(T v) => v switch
    {
        string s => "\"" + s + "\"",
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => v?.ToString() ?? "null",
    };
}
