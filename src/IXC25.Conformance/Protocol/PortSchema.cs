using System.Text.Json.Nodes;
using IXC25.Runtime;

namespace IXC25.Conformance.Protocol;

/// <summary>A request or response field of spec/port.json.</summary>
/// <param name="Type">string, bool, int, number, object, int[], int[][], string[], string[][], object[]; a trailing '?' allows null.</param>
/// <param name="Compare">For response fields: how the kit compares the port's value with the reference's ("exact").</param>
public sealed record FieldSchema(string Name, string Type, string? Compare, string Doc);

/// <summary>An output tensor of a surface: its name (or a pattern with {k}, {output}, {tap}), dtype, tolerance class.</summary>
public sealed record TensorSchema(string Name, string DType, string Tolerance, string Doc);

/// <summary>One surface of the protocol.</summary>
public sealed record SurfaceSchema(string Name, string Doc, IReadOnlyList<FieldSchema> Request, IReadOnlyList<FieldSchema> Response, IReadOnlyList<TensorSchema> Tensors)
{
    /// <summary>True when the surface's outputs travel in a safetensors file (the request names it in "out").</summary>
    public bool HasTensors => Tensors.Count > 0;
}

/// <summary>
/// spec/port.json, compiled into this assembly: the protocol name and version, the handshake and every
/// surface's request and response fields. The kit validates every message against it.
/// </summary>
public sealed class PortSchema
{
    public const string ProtocolName = "ixc25-port";

    public int Version { get; }
    public IReadOnlyList<FieldSchema> Handshake { get; }
    public IReadOnlyList<SurfaceSchema> Surfaces { get; }

    private PortSchema(int version, IReadOnlyList<FieldSchema> handshake, IReadOnlyList<SurfaceSchema> surfaces)
    {
        Version = version;
        Handshake = handshake;
        Surfaces = surfaces;
    }

    /// <summary>The schema compiled in from spec/port.json.</summary>
    public static PortSchema Default { get; } = Load();

    public SurfaceSchema Surface(string name) =>
        Surfaces.FirstOrDefault(s => s.Name == name) ?? throw new IxcException($"'{name}' is not a surface of spec/port.json (surfaces: {string.Join(", ", Surfaces.Select(s => s.Name))})");

    public IEnumerable<string> SurfaceNames => Surfaces.Select(s => s.Name);

    private static PortSchema Load()
    {
        using var stream = typeof(PortSchema).Assembly.GetManifestResourceStream("IXC25.Conformance.port.json")
            ?? throw new InvalidOperationException("spec/port.json is not embedded in IXC25.Conformance");
        var root = JsonNode.Parse(stream)!.AsObject();
        if ((string?)root["protocol"] != ProtocolName) throw new InvalidOperationException("spec/port.json: protocol must be " + ProtocolName);
        var surfaces = root["surfaces"]!.AsArray().Select(s => new SurfaceSchema(
            (string)s!["name"]!, (string?)s["doc"] ?? "",
            Fields(s["request"]), Fields(s["response"]),
            (s["tensors"]?.AsArray() ?? []).Select(t => new TensorSchema((string)t!["name"]!, (string)t["dtype"]!, (string)t["tolerance"]!, (string?)t["doc"] ?? "")).ToList())).ToList();
        return new PortSchema((int)root["version"]!, Fields(root["handshake"]!["response"]), surfaces);
    }

    private static List<FieldSchema> Fields(JsonNode? list) =>
        (list?.AsArray() ?? []).Select(f => new FieldSchema((string)f!["name"]!, (string)f["type"]!, (string?)f["compare"], (string?)f["doc"] ?? "")).ToList();

    /// <summary>Null when <paramref name="value"/> has the schema type, else what is wrong.</summary>
    public static string? CheckType(FieldSchema field, JsonNode? value)
    {
        string type = field.Type;
        bool nullable = type.EndsWith('?');
        if (nullable) type = type[..^1];
        if (value is null) return nullable ? null : $"field '{field.Name}' is missing or null (expected {type})";
        return Matches(type, value) ? null : $"field '{field.Name}' is not {type}: {Short(value)}";
    }

    private static bool Matches(string type, JsonNode value)
    {
        if (type.EndsWith("[]"))
            return value is JsonArray arr && arr.All(e => e is not null && Matches(type[..^2], e));
        if (value is not JsonValue v) return type == "object" && value is JsonObject;
        // by the JSON kind, not the CLR type behind the node: a value parsed from a line is a JsonElement, one
        // built in process (the kit's own requests to the in-process reference) holds an int, long, double...
        var kind = v.GetValueKind();
        return type switch
        {
            "string" => kind == System.Text.Json.JsonValueKind.String,
            "bool" => kind is System.Text.Json.JsonValueKind.True or System.Text.Json.JsonValueKind.False,
            "int" => Number(v) is { } d && d == Math.Floor(d) && Math.Abs(d) < 9e15,
            "number" => Number(v) is not null,
            _ => false,
        };
    }

    /// <summary>A JSON number's value, whether it was parsed from text or made in process from any numeric type (JsonValue.Create(5) holds an int); null for anything else.</summary>
    public static double? Number(JsonValue v) =>
        v.GetValueKind() == System.Text.Json.JsonValueKind.Number
        && double.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var d) ? d : null;

    /// <summary>A JSON value cut to at most 120 characters for messages.</summary>
    public static string Short(JsonNode? value)
    {
        string s = value?.ToJsonString() ?? "null";
        return s.Length <= 120 ? s : s[..117] + "...";
    }
}
