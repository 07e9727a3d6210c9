using System.Text.Json.Nodes;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;

namespace IXC25.Conformance.Packs;

/// <summary>Options of `ixc25 conform export`.</summary>
public sealed record PackOptions
{
    /// <summary>Surfaces to export (empty: every surface the reference implements).</summary>
    public IReadOnlyList<string> Surfaces { get; init; } = [];
    /// <summary>Cases per surface (null: <see cref="PackExporter.DefaultCases"/>).</summary>
    public int? Cases { get; init; }
    public ulong Seed { get; init; } = 1;
    public Action<string>? Progress { get; init; }
}

/// <summary>
/// Writes a case pack (<see cref="CasePack"/>): the cases of each surface, each with its inputs, the request, and
/// the reference's reply and outputs. Case k of a pack of n is case floor(k D / n) of the live run with the same
/// seed and the surface's default count D (n &lt; D: spread over the live run's sizes, smallest first), or case k of
/// a live run of n cases (n &gt;= D): a pack case fails exactly as the live case does.
/// </summary>
public static class PackExporter
{
    /// <summary>
    /// Cases per surface of a default pack, chosen to keep the whole pack to a few MB (the model's case holds
    /// llm.logits [T, 92544] f32); other surfaces: their live default, at most 20.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, int> PackCases = new Dictionary<string, int>
    {
        ["tokenize"] = 20,
        ["prompt"] = 10,
        ["partition"] = 5,
        ["rope"] = 20,
        ["op"] = 40,
        ["layer"] = 5,
        ["model"] = 1,
    };

    public static int DefaultCases(ISurface s) => PackCases.TryGetValue(s.Name, out var n) ? n : Math.Min(s.DefaultCases, 20);

    /// <summary>Exports the pack into <paramref name="dir"/> (absent or empty); returns the manifest.</summary>
    public static JsonObject Export(IPort reference, IReadOnlyList<ISurface> surfaces, PackOptions o, string dir)
    {
        if (o.Cases is < 1) throw new IxcException($"--cases must be at least 1 (got {o.Cases})");
        if (Directory.Exists(dir) && Directory.EnumerateFileSystemEntries(dir).Any())
            throw new IxcException($"{dir} is not empty: export writes a new pack into an absent or empty folder");
        var chosen = o.Surfaces.Count == 0 ? surfaces.Where(s => reference.Info.Surfaces.Contains(s.Name)).ToList()
            : o.Surfaces.Select(n => surfaces.FirstOrDefault(s => s.Name == n)
                ?? throw new IxcException($"--surface {n}: not a surface of the kit ({string.Join(", ", surfaces.Select(s => s.Name))})")).ToList();
        foreach (var s in chosen)
            if (!reference.Info.Surfaces.Contains(s.Name)) throw new IxcException($"--surface {s.Name}: the reference does not implement it");
        Directory.CreateDirectory(Path.Combine(dir, CasePack.CasesFolder));
        var cases = new JsonArray();
        var classes = new SortedDictionary<string, Runtime.Spec.ToleranceInfo>(StringComparer.Ordinal);
        long requestId = 0;
        foreach (var s in chosen)
        {
            int n = o.Cases ?? DefaultCases(s);
            for (int k = 0; k < n; k++)
            {
                var c = n >= s.DefaultCases ? s.Generate(o.Seed, k, n) : s.Generate(o.Seed, (int)((long)k * s.DefaultCases / n), s.DefaultCases);
                cases.Add(ExportCase(reference, s, c, $"{s.Name}-{k}", ++requestId, dir, classes));
            }
            o.Progress?.Invoke($"{s.Name}: {n} cases");
        }
        var tolerances = new JsonObject();
        foreach (var (name, t) in classes)
            tolerances[name] = new JsonObject { ["atol"] = t.Atol, ["rtol"] = t.Rtol, ["nmse"] = t.Nmse, ["atol_per_position"] = t.AtolPerPosition, ["reason"] = t.Reason };
        var manifest = new JsonObject
        {
            ["format"] = CasePack.Format,
            ["doc"] = "A case pack of the IXC-2.5 conformance kit (docs/PORTING.md). For each case: run cases/ID/request.json with that folder as the work folder "
                + "(\"work\": \".\"), write the reply line to RESULTS/ID/reply.json and the output file (the request's \"out\") to RESULTS/ID/, then "
                + "run `ixc25 conform grade PACK --results RESULTS`. expected.* are the reference's reply and outputs; tolerances are spec/tolerances.json's.",
            ["protocol"] = PortSchema.ProtocolName,
            ["protocol_version"] = PortSchema.Default.Version,
            ["seed"] = o.Seed,
            ["reference"] = new JsonObject { ["name"] = reference.Info.Name, ["version"] = reference.Info.Version },
            ["tolerances"] = tolerances,
            ["cases"] = cases,
        };
        File.WriteAllText(Path.Combine(dir, CasePack.ManifestFile), manifest.ToJsonString(CasePack.Indented));
        return manifest;
    }

    private static JsonObject ExportCase(IPort reference, ISurface s, object c, string id, long requestId, string dir,
        SortedDictionary<string, Runtime.Spec.ToleranceInfo> classes)
    {
        string folder = Path.GetFullPath(Path.Combine(dir, CasePack.CasesFolder, id));
        Directory.CreateDirectory(folder);
        var request = s.Prepare(c, folder);
        var inputs = Directory.EnumerateFiles(folder).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        var reply = reference.Call(s.Schema.HasTensors ? request.With("out", CasePack.ExpectedOut) : request);
        if (reply.Status is not (ReplyStatus.Ok or ReplyStatus.Refused))
            throw new IxcException($"the reference failed on {id} ({reply.Status}: {reply.Message}); this is a bug of the kit or the engine, please report it");
        var portRequest = (s.Schema.HasTensors ? request.With("out", CasePack.PortOut) : request) with { Work = "." };
        File.WriteAllText(Path.Combine(folder, CasePack.RequestFile), portRequest.ToMessage(requestId).ToJsonString(CasePack.Indented));
        File.WriteAllText(Path.Combine(folder, CasePack.CaseFile), CaseRunner.CaseJson(s, c).ToJsonString(CasePack.Indented));
        File.WriteAllText(Path.Combine(folder, CasePack.ExpectedReply), reply.ToMessage(requestId).ToJsonString(CasePack.Indented));
        var expected = new List<string> { CasePack.ExpectedReply };
        var used = new SortedSet<string>(StringComparer.Ordinal);
        string outPath = Path.Combine(folder, CasePack.ExpectedOut);
        if (s.Schema.HasTensors && reply.IsOk && File.Exists(outPath))
        {
            expected.Add(CasePack.ExpectedOut);
            using var file = new Runtime.IO.SafetensorsFile(outPath);
            foreach (var t in file.Tensors)
            {
                var tol = s.Tolerance(c, t.Name);
                classes[tol.Name] = tol;
                used.Add(tol.Name);
            }
        }
        return new JsonObject
        {
            ["id"] = id,
            ["request_id"] = requestId,
            ["surface"] = s.Name,
            ["description"] = s.Describe(c),
            ["reference_status"] = reply.Status == ReplyStatus.Ok ? "ok" : "refused",
            ["out"] = s.Schema.HasTensors ? CasePack.PortOut : null,
            ["tolerance_classes"] = new JsonArray(used.Select(u => (JsonNode)u).ToArray()),
            ["files"] = new JsonObject
            {
                ["request"] = CasePack.RequestFile,
                ["case"] = CasePack.CaseFile,
                ["inputs"] = new JsonArray(inputs.Select(i => (JsonNode)i!).ToArray()),
                ["expected"] = new JsonArray(expected.Select(e => (JsonNode)e).ToArray()),
            },
            ["case"] = s.ToJson(c),
        };
    }
}
