using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Engine;

/// <summary>Typed reads of request fields spec/port.json has checked (an "int" may arrive as 5 or 5.0).</summary>
public static class RequestFields
{
    public static long Long(JsonNode? node, string field) => node switch
    {
        JsonValue v when long.TryParse(v.ToJsonString(), System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var l) => l,
        JsonValue v when PortSchema.Number(v) is { } d && d == Math.Floor(d) && Math.Abs(d) < 9e15 => (long)d,
        _ => throw new IxcException($"{field}: {node?.ToJsonString() ?? "null"} is not an integer"),
    };

    public static int Int(JsonNode? node, string field)
    {
        long v = Long(node, field);
        return v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new IxcException($"{field}: {v} is out of range");
    }

    public static double Double(JsonNode? node, string field) =>
        node is JsonValue v && PortSchema.Number(v) is { } d ? d : throw new IxcException($"{field}: {node?.ToJsonString() ?? "null"} is not a number");

    public static long[] Longs(JsonNode? node, string field) =>
        node is JsonArray a ? a.Select((n, i) => Long(n, $"{field}[{i}]")).ToArray() : throw new IxcException($"{field} is not an array");

    public static int Int(this PortRequest r, string field) => Int(r.Fields[field], field);
    public static double Double(this PortRequest r, string field) => Double(r.Fields[field], field);
    public static long[] Longs(this PortRequest r, string field) => Longs(r.Fields[field], field);
}
