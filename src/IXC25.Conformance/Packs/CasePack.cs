using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Protocol;
using IXC25.Runtime;

namespace IXC25.Conformance.Packs;

/// <summary>One case of a pack as manifest.json lists it.</summary>
/// <param name="Id">The case folder's name under cases/ ("tokenize-3") and the results folder's name.</param>
/// <param name="RequestId">The request's "id" (the port's reply.json repeats it).</param>
/// <param name="Case">The case's JSON (the surface's own form: what `conform --replay` reads from case.json).</param>
/// <param name="Out">The request's "out" (the port's output file in its results folder), or null for surfaces without tensors.</param>
public sealed record PackCase(string Id, long RequestId, string Surface, string Description, JsonNode Case, string? Out,
    IReadOnlyList<string> Inputs, IReadOnlyList<string> Expected, IReadOnlyList<string> ToleranceClasses);

/// <summary>
/// The layout of a case pack (`ixc25 conform export`), for ports that cannot be driven live:
/// <code>
/// DIR/manifest.json                     protocol, version, seed, the tolerance classes used, every case
/// DIR/cases/ID/request.json             the request, "work": "." (this folder), file names relative to it
/// DIR/cases/ID/case.json                the case, replayable live: ixc25 conform --port CMD --replay case.json
/// DIR/cases/ID/(inputs)                 the request's input files (images, safetensors inputs)
/// DIR/cases/ID/expected.reply.json      the reference's reply line
/// DIR/cases/ID/expected.safetensors     the reference's outputs (surfaces with tensors, when it answered)
/// </code>
/// A port answers each request with the case folder as its work folder and puts its reply line in
/// RESULTS/ID/reply.json and its output file (the request's "out") in RESULTS/ID/; `ixc25 conform grade DIR
/// --results RESULTS` compares them with the expected ones by the rules of the live kit.
/// </summary>
public static class CasePack
{
    public const string ManifestFile = "manifest.json";
    public const string CasesFolder = "cases";
    public const string RequestFile = "request.json";
    public const string CaseFile = "case.json";
    public const string ExpectedReply = "expected.reply.json";
    public const string ExpectedOut = "expected.safetensors";
    public const string ReplyFile = "reply.json";
    /// <summary>The "out" of every pack request (the port's output file in its results folder).</summary>
    public const string PortOut = "out.safetensors";
    public const string Format = "ixc25-case-pack";

    internal static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Reads DIR/manifest.json: the seed, the port it was made with, and the cases.</summary>
    public static (JsonObject Manifest, IReadOnlyList<PackCase> Cases) ReadManifest(string dir)
    {
        string path = Path.Combine(dir, ManifestFile);
        if (!File.Exists(path)) throw new IxcException($"{dir}: no {ManifestFile} (not a case pack made by `ixc25 conform export`)");
        JsonObject m;
        try { m = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new JsonException("not a JSON object"); }
        catch (JsonException e) { throw new IxcException($"{path} is not JSON: {e.Message}"); }
        if ((string?)m["format"] != Format) throw new IxcException($"{path}: format is not {Format}");
        if ((int?)m["protocol_version"] != PortSchema.Default.Version)
            throw new IxcException($"{path}: protocol version {PortSchema.Short(m["protocol_version"])}, this kit speaks {PortSchema.Default.Version}");
        var cases = new List<PackCase>();
        try
        {
            foreach (var c in m["cases"]!.AsArray())
            {
                string id = (string)c!["id"]!;
                if (!IsPlainName(id)) throw new IxcException($"{path}: case id '{id}' is not a plain folder name");
                string? output = (string?)c["out"];
                if (output is not null && !IsPlainName(output)) throw new IxcException($"{path}: case {id}: out '{output}' is not a plain file name");
                cases.Add(new PackCase(id, (long)c["request_id"]!, (string)c["surface"]!, (string?)c["description"] ?? "", c["case"]!.DeepClone(), output,
                    Names(c["files"]?["inputs"]), Names(c["files"]?["expected"]), Names(c["tolerance_classes"])));
            }
        }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException)
        {
            throw new IxcException($"{path}: a case entry is malformed ({e.Message})");
        }
        return (m, cases);
    }

    private static List<string> Names(JsonNode? list) => (list?.AsArray() ?? []).Select(n => (string)n!).ToList();

    /// <summary>A file or folder name without separators or parent references.</summary>
    public static bool IsPlainName(string name) =>
        name.Length > 0 && name is not ("." or "..") && name.IndexOfAny(['/', '\\', '\0']) < 0;

    /// <summary>Reads a reply line file (reply.json, expected.reply.json) as the reply to request <paramref name="id"/>.</summary>
    public static PortReply ReadReply(string path, long id, SurfaceSchema surface) =>
        PortReply.Parse(File.ReadAllText(path), id, surface);
}
