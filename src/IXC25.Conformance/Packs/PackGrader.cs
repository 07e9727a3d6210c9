using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;

namespace IXC25.Conformance.Packs;

/// <summary>
/// Grades a port's offline results for a case pack: RESULTS/ID/reply.json (the port's reply line) and the
/// output file it wrote there under the request's "out", compared with the pack's expected reply and outputs by
/// the live kit's rules (<see cref="ReplyComparer"/>), into the live kit's report (<see cref="ConformanceReport"/>).
/// A case without reply.json fails with "no result".
/// </summary>
public static class PackGrader
{
    /// <summary>Failing cases listed per surface (one per kind of failure).</summary>
    public const int MaxListed = 5;

    public static ConformanceReport Grade(string packDir, string resultsDir, IReadOnlyList<ISurface> surfaces, bool strict = false)
    {
        if (!Directory.Exists(resultsDir)) throw new IxcException($"--results {resultsDir}: folder not found");
        var (manifest, cases) = CasePack.ReadManifest(packDir);
        ulong seed = manifest["seed"] is JsonValue sv && sv.TryGetValue<ulong>(out var s) ? s : 0;
        var names = cases.Select(c => c.Surface).Distinct().ToList();
        var report = new ConformanceReport(new PortInfo($"offline results {Path.GetFullPath(resultsDir)}", "", names), seed) { Strict = strict };
        foreach (var name in names)
        {
            var surface = surfaces.FirstOrDefault(x => x.Name == name) ?? throw new IxcException($"the pack has cases of surface '{name}', which this kit does not know");
            var r = new SurfaceReport(name) { Covered = true };
            var sw = Stopwatch.StartNew();
            int index = 0;
            var kinds = new HashSet<string>(StringComparer.Ordinal);
            foreach (var pc in cases.Where(c => c.Surface == name))
            {
                object c;
                try { c = surface.FromJson(pc.Case); }
                catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
                {
                    throw new IxcException($"pack case {pc.Id}: not a case of surface {name} ({e.Message})");
                }
                var v = GradeCase(packDir, resultsDir, surface, pc, c);
                r.Add(v);
                if (v.Outcome == Outcome.Lenient) r.LenientCases.Add($"{pc.Id}: {pc.Description}");
                // as the live report: the first failure of each kind, at most MaxListed (the counts say how many failed)
                if (v.Outcome == Outcome.Fail && r.Failures.Count < MaxListed && kinds.Add(v.Kind))
                {
                    string folder = Path.GetFullPath(Path.Combine(packDir, CasePack.CasesFolder, pc.Id));
                    r.Failures.Add(new FailureReport(name, index, $"{pc.Id}: {pc.Description}", surface.Size(c), $"{pc.Id}: {pc.Description}", surface.Size(c), 0,
                        v.Problems, folder, $"ixc25 conform --port \"...\" --replay {Path.Combine(folder, CasePack.CaseFile)}"));
                }
                index++;
            }
            r.Seconds = sw.Elapsed.TotalSeconds;
            report.Surfaces.Add(r);
        }
        return report;
    }

    /// <summary>One case: its expected reply and outputs against the port's (a missing reply.json is "no result").</summary>
    public static CaseVerdict GradeCase(string packDir, string resultsDir, ISurface surface, PackCase pc, object c)
    {
        string caseDir = Path.Combine(packDir, CasePack.CasesFolder, pc.Id);
        string resultDir = Path.Combine(resultsDir, pc.Id);
        string replyPath = Path.Combine(resultDir, CasePack.ReplyFile);
        if (!File.Exists(replyPath)) return new(Outcome.Fail, [$"no result: {replyPath} not found"], [], []);
        string expectedPath = Path.Combine(caseDir, CasePack.ExpectedReply);
        if (!File.Exists(expectedPath)) throw new IxcException($"pack case {pc.Id}: {expectedPath} is missing (the pack is incomplete)");
        var expected = CasePack.ReadReply(expectedPath, pc.RequestId, surface.Schema);
        var port = CasePack.ReadReply(replyPath, pc.RequestId, surface.Schema);
        return ReplyComparer.Compare(surface, c, expected, surface.Schema.HasTensors ? Path.Combine(caseDir, CasePack.ExpectedOut) : null,
            port, surface.Schema.HasTensors ? Path.Combine(resultDir, pc.Out ?? CasePack.PortOut) : null);
    }
}
