using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Runtime.Tensors;

namespace IXC25.Runtime.Quant;

/// <summary>
/// The file layout of a quantized checkpoint (spec/quant.json "checkpoint", read from the spec compiled into this
/// assembly; docs/QUANT.md): each quantized weight '&lt;key&gt;' stored as '&lt;key&gt;.qs' and '&lt;key&gt;.scales',
/// config.json with a "quantization" entry {format, block, layout}, and the rule of which weights are quantized.
/// </summary>
public static class QuantLayout
{
    private static readonly Lazy<Spec> Loaded = new(Load);

    private sealed record Spec(int Layout, string ConfigKey, string QsSuffix, string ScalesSuffix, IReadOnlyDictionary<string, DType> QsDTypes, DType ScaleDType);

    /// <summary>The layout version this build writes and reads.</summary>
    public static int Version => Loaded.Value.Layout;

    /// <summary>The config.json entry marking a quantized checkpoint ("quantization").</summary>
    public static string ConfigKey => Loaded.Value.ConfigKey;

    public static string QsName(string key) => key + Loaded.Value.QsSuffix;
    public static string ScalesName(string key) => key + Loaded.Value.ScalesSuffix;

    /// <summary>The weight key of a '&lt;key&gt;.qs' tensor name; null for any other name.</summary>
    public static string? KeyOfQs(string name) => name.EndsWith(Loaded.Value.QsSuffix, StringComparison.Ordinal) ? name[..^Loaded.Value.QsSuffix.Length] : null;

    /// <summary>The weight key of a '&lt;key&gt;.scales' tensor name; null for any other name.</summary>
    public static string? KeyOfScales(string name) => name.EndsWith(Loaded.Value.ScalesSuffix, StringComparison.Ordinal) ? name[..^Loaded.Value.ScalesSuffix.Length] : null;

    /// <summary>dtype of the stored values (q8_0: i8, q4_0: u8).</summary>
    public static DType QsDType(QuantFormat f) => Loaded.Value.QsDTypes.TryGetValue(f.Name, out var d) ? d : throw new InvalidOperationException($"spec/quant.json has no qs dtype for {f}");

    /// <summary>dtype of the block scales (f16).</summary>
    public static DType ScaleDType => Loaded.Value.ScaleDType;

    /// <summary>Shape of '&lt;key&gt;.qs' for a weight [rows, cols]: [rows, cols * bits / 8].</summary>
    public static long[] QsShape(QuantFormat f, long rows, long cols) => [rows, cols * f.Bits / 8];

    /// <summary>Shape of '&lt;key&gt;.scales' for a weight [rows, cols]: [rows, cols / 32].</summary>
    public static long[] ScalesShape(long rows, long cols) => [rows, cols / QuantFormat.Block];

    /// <summary>
    /// The rule of spec/quant.json "checkpoint.quantized" for a linear's weight: a matrix whose row width is a positive
    /// multiple of the block, not a LoRA factor (key containing "lora", any case: Plora_A/B, lora_sft_A, ...).
    /// </summary>
    public static bool Quantizable(string key, long[] shape) =>
        shape.Length == 2 && shape[1] > 0 && shape[1] % QuantFormat.Block == 0 && !key.Contains("lora", StringComparison.OrdinalIgnoreCase);

    /// <summary>The config.json entry for <paramref name="f"/>: {"format": "q8_0", "block": 32, "layout": 1}.</summary>
    public static JsonObject ConfigEntry(QuantFormat f) => new()
    {
        ["format"] = f.Name,
        ["block"] = QuantFormat.Block,
        ["layout"] = Version,
    };

    /// <summary>
    /// The format a config.json declares (its <see cref="ConfigKey"/> entry), or null for a checkpoint of stored
    /// weights. An entry that is not an object, an unknown format, another block size or layout version is an
    /// IxcException naming the file and the field.
    /// </summary>
    public static QuantFormat? ReadConfig(string configPath)
    {
        JsonDocument doc;
        try
        {
            ReadOnlyMemory<byte> bytes = File.ReadAllBytes(configPath);
            if (bytes.Span.StartsWith("\uFEFF"u8)) bytes = bytes[3..];   // a byte order mark, as the config reader allows
            doc = JsonDocument.Parse(bytes, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { throw new IxcException($"{configPath}: cannot read: {e.Message}", e); }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty(ConfigKey, out var q) || q.ValueKind == JsonValueKind.Null) return null;
            string where = $"{configPath}: \"{ConfigKey}\"";
            if (q.ValueKind != JsonValueKind.Object) throw new IxcException($"{where} must be an object {{format, block, layout}} (found {q.ValueKind})");
            string? format = q.TryGetProperty("format", out var fv) && fv.ValueKind == JsonValueKind.String ? fv.GetString() : null;
            if (format is null) throw new IxcException($"{where} has no \"format\" string");
            var fmt = QuantFormat.All.FirstOrDefault(x => x.Name == format)
                ?? throw new IxcException($"{where}: format '{Printable(format)}' is not a known weight format (known: {string.Join(", ", QuantFormat.All.Select(x => x.Name))})");
            if (!q.TryGetProperty("block", out var bv) || bv.ValueKind != JsonValueKind.Number || !bv.TryGetInt32(out int block) || block != QuantFormat.Block)
                throw new IxcException($"{where}: block must be {QuantFormat.Block} (found {(q.TryGetProperty("block", out var b) ? Printable(b.GetRawText()) : "nothing")})");
            if (!q.TryGetProperty("layout", out var lv) || lv.ValueKind != JsonValueKind.Number || !lv.TryGetInt32(out int layout) || layout != Version)
                throw new IxcException($"{where}: layout {(q.TryGetProperty("layout", out var l) ? Printable(l.GetRawText()) : "(missing)")} is not one this build reads (layout {Version}); quantize the original checkpoint again");
            return fmt;
        }
    }

    /// <summary>A config value for a one-line message: at most 40 characters, control characters escaped.</summary>
    private static string Printable(string s)
    {
        var t = new string([.. s.Take(40).Select(c => char.IsControl(c) ? '?' : c)]);
        return s.Length > 40 ? t + "..." : t;
    }

    private static Spec Load()
    {
        using var stream = typeof(QuantLayout).Assembly.GetManifestResourceStream("IXC25.Runtime.quant.json")
            ?? throw new InvalidOperationException("spec/quant.json is not embedded in IXC25.Runtime");
        var root = JsonNode.Parse(stream)!.AsObject();
        var c = root["checkpoint"]!.AsObject();
        var qs = new Dictionary<string, DType>(StringComparer.Ordinal);
        DType? scale = null;
        foreach (var f in root["formats"]!.AsArray())
        {
            qs[(string)f!["name"]!] = SpecDType((string)f["qs"]!["dtype"]!);
            var sd = SpecDType((string)f["scale_dtype"]!);
            if (scale is not null && scale != sd) throw new InvalidOperationException("spec/quant.json: the formats' scale dtypes differ");
            scale = sd;
        }
        return new Spec((int)c["layout"]!, (string)c["config_key"]!, (string)c["qs_suffix"]!, (string)c["scales_suffix"]!, qs, scale ?? DType.F16);
    }

    private static DType SpecDType(string s) => DTypeInfo.TryParseSpec(s, out var d) ? d : throw new InvalidOperationException($"spec/quant.json: unknown dtype '{s}'");
}
