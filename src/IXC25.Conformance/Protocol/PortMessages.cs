using System.Text.Json.Nodes;

namespace IXC25.Conformance.Protocol;

/// <summary>A request of one surface: the fields of spec/port.json (without id, surface and work) and the work folder holding its input files.</summary>
public sealed record PortRequest(string Surface, string Work, JsonObject Fields)
{
    /// <summary>The line the kit writes: {"id":..,"surface":..,"work":..,...fields}.</summary>
    public JsonObject ToMessage(long id)
    {
        var o = new JsonObject { ["id"] = id, ["surface"] = Surface, ["work"] = Work };
        foreach (var (k, v) in Fields) o[k] = v?.DeepClone();
        return o;
    }

    /// <summary>The request with its fields copied and one set (the output file name of each side differs).</summary>
    public PortRequest With(string field, JsonNode? value)
    {
        var f = (JsonObject)Fields.DeepClone();
        f[field] = value;
        return this with { Fields = f };
    }

    /// <summary>Reads a request line; null fields when it is not one.</summary>
    public static (long Id, PortRequest? Request, string? Problem) Parse(string line)
    {
        JsonObject o;
        try { o = Line.ParseObject(line); }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException) { return (-1, null, "the request is not a JSON object: " + e.Message); }
        long id = o["id"] is JsonValue iv && iv.TryGetValue<long>(out var i) ? i : -1;
        if (id < 0) return (-1, null, "the request has no integer 'id'");
        if (o["surface"] is not JsonValue sv || !sv.TryGetValue<string>(out var surface)) return (id, null, "the request has no 'surface'");
        string work = o["work"] is JsonValue wv && wv.TryGetValue<string>(out var w) ? w : "";
        var fields = new JsonObject();
        foreach (var (k, v) in o)
            if (k is not ("id" or "surface" or "work")) fields[k] = v?.DeepClone();
        return (id, new PortRequest(surface, work, fields), null);
    }
}

/// <summary>Parsing of one protocol line.</summary>
internal static class Line
{
    /// <summary>
    /// Duplicate keys are refused while parsing (a JsonObject built from them would throw ArgumentException
    /// on first use, and which value counts would be a guess); nesting is bounded by the default depth of 64.
    /// </summary>
    private static readonly System.Text.Json.JsonDocumentOptions Options = new() { AllowDuplicateProperties = false };

    /// <summary>
    /// The line as a JSON object; JsonException or FormatException when it is not one. A string or name holding an
    /// escaped lone surrogate (e.g. "\uDE2D") is refused here: JSON accepts it, but reading it as a string throws.
    /// </summary>
    public static JsonObject ParseObject(string line)
    {
        try
        {
            var o = JsonNode.Parse(line, documentOptions: Options) as JsonObject ?? throw new FormatException("not a JSON object");
            CheckStrings(o);
            return o;
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException(e.Message, e);
        }
    }

    private static void CheckStrings(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                foreach (var (_, v) in o) CheckStrings(v);
                break;
            case JsonArray a:
                foreach (var v in a) CheckStrings(v);
                break;
            case JsonValue v when v.GetValueKind() == System.Text.Json.JsonValueKind.String:
                _ = v.GetValue<string>();
                break;
        }
    }
}

/// <summary>How a port answered (or failed to).</summary>
public enum ReplyStatus
{
    /// <summary>status "ok": the surface's fields follow.</summary>
    Ok,
    /// <summary>status "refused": the port refuses this input (as upstream does for inputs it cannot handle).</summary>
    Refused,
    /// <summary>status "error": the port failed and said so.</summary>
    Error,
    /// <summary>The port process exited (or closed stdout) before answering.</summary>
    Crashed,
    /// <summary>No answer within the per-request time limit.</summary>
    TimedOut,
    /// <summary>The answer is not a JSON object of the protocol (or its id, status or fields are wrong).</summary>
    Garbage,
}

/// <summary>A port's answer to one request; the tensor outputs (if any) are in <c>Work/Fields["out"]</c> of the request.</summary>
public sealed record PortReply(ReplyStatus Status, JsonObject Fields, string? Message)
{
    public static PortReply Ok(JsonObject fields) => new(ReplyStatus.Ok, fields, null);
    public static PortReply Refused(string message) => new(ReplyStatus.Refused, [], message);
    public static PortReply Error(string message) => new(ReplyStatus.Error, [], message);
    public static PortReply Failed(ReplyStatus status, string message) => new(status, [], message);

    public bool IsOk => Status == ReplyStatus.Ok;

    /// <summary>The response line: {"id":..,"status":..,...fields} or with "message".</summary>
    public JsonObject ToMessage(long id)
    {
        var o = new JsonObject { ["id"] = id, ["status"] = Status switch { ReplyStatus.Ok => "ok", ReplyStatus.Refused => "refused", _ => "error" } };
        if (Message is not null) o["message"] = Message;
        foreach (var (k, v) in Fields) o[k] = v?.DeepClone();
        return o;
    }

    /// <summary>Reads a response line for request <paramref name="id"/> of <paramref name="surface"/>, checking it against spec/port.json.</summary>
    public static PortReply Parse(string line, long id, SurfaceSchema? surface, IReadOnlyList<FieldSchema>? handshake = null)
    {
        JsonObject o;
        try { o = Line.ParseObject(line); }
        catch (Exception e) when (e is System.Text.Json.JsonException or FormatException)
        {
            return Failed(ReplyStatus.Garbage, $"the port wrote a line that is not a JSON object ({e.Message}): {Cut(line)}");
        }
        if (o["id"] is not JsonValue iv || !iv.TryGetValue<long>(out var got) || got != id)
            return Failed(ReplyStatus.Garbage, $"the port answered with id {PortSchema.Short(o["id"])} to request {id}");
        string? status = o["status"] is JsonValue sv && sv.TryGetValue<string>(out var s) ? s : null;
        string? message = o["message"] is JsonValue mv && mv.TryGetValue<string>(out var m) ? m : null;
        switch (status)
        {
            case "refused": return Refused(message ?? "(no message)");
            case "error": return Error(message ?? "(no message)");
            case "ok": break;
            default: return Failed(ReplyStatus.Garbage, $"the port answered with status {PortSchema.Short(o["status"])} (expected ok, refused or error)");
        }
        var fields = new JsonObject();
        foreach (var (k, v) in o)
            if (k is not ("id" or "status" or "message")) fields[k] = v?.DeepClone();
        foreach (var f in handshake ?? surface?.Response ?? [])
            if (PortSchema.CheckType(f, fields[f.Name]) is { } problem)
                return Failed(ReplyStatus.Garbage, $"the port's answer breaks spec/port.json: {problem}");
        return Ok(fields);
    }

    private static string Cut(string s) => s.Length <= 120 ? s : s[..117] + "...";
}
