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
        JsonNode? root;
        try { root = JsonNode.Parse(File.ReadAllBytes(configPath)); }
        catch (Exception e) when (e is JsonException or IOException or UnauthorizedAccessException) { throw new IxcException($"{configPath}: cannot read: {e.Message}", e); }
        if (root is not JsonObject o || !o.TryGetPropertyValue(ConfigKey, out var entry) || entry is null) return null;
        string where = $"{configPath}: \"{ConfigKey}\"";
        if (entry is not JsonObject q) throw new IxcException($"{where} must be an object {{format, block, layout}} (found {entry.GetValueKind()})");
        string? format = q["format"] is JsonValue fv && fv.TryGetValue<string>(out var s) ? s : null;
        if (format is null) throw new IxcException($"{where} has no \"format\" string");
        var fmt = QuantFormat.All.FirstOrDefault(x => x.Name == format)
            ?? throw new IxcException($"{where}: format '{format}' is not a known weight format (known: {string.Join(", ", QuantFormat.All.Select(x => x.Name))})");
        if (q["block"] is not JsonValue bv || !bv.TryGetValue<int>(out int block) || block != QuantFormat.Block)
            throw new IxcException($"{where}: block must be {QuantFormat.Block} (found {q["block"]?.ToJsonString() ?? "nothing"})");
        if (q["layout"] is not JsonValue lv || !lv.TryGetValue<int>(out int layout) || layout != Version)
            throw new IxcException($"{where}: layout {q["layout"]?.ToJsonString() ?? "(missing)"} is not one this build reads (layout {Version}); quantize the original checkpoint again");
        return fmt;
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
