using System.Text.Json.Nodes;
using IXC25.Conformance.Ports;

namespace IXC25.Conformance.Kit;

/// <summary>The worst error seen in one tolerance class on one surface.</summary>
public sealed class ClassWorst
{
    public double MaxAbs { get; set; }
    public double MaxRel { get; set; }
    public double Nmse { get; set; }
    public long Tensors { get; set; }
}

/// <summary>A failure the kit found and shrank.</summary>
public sealed record FailureReport(string Surface, int CaseIndex, string Original, long OriginalSize, string Shrunk, long ShrunkSize, int ShrinkSteps,
    IReadOnlyList<string> Problems, string Folder, string Replay)
{
    /// <summary>The failure's kind (<see cref="CaseVerdict.Kind"/>); one failure per kind is shrunk.</summary>
    public string Kind { get; init; } = "";
}

/// <summary>What one surface's run found.</summary>
public sealed class SurfaceReport(string name)
{
    public string Name { get; } = name;
    public bool Covered { get; set; }
    public int Cases { get; set; }
    public int Passed { get; set; }
    public int Failed { get; set; }
    public int Lenient { get; set; }
    public double Seconds { get; set; }
    public SortedDictionary<string, ClassWorst> WorstByClass { get; } = new(StringComparer.Ordinal);
    public SortedSet<string> NotCoveredOutputs { get; } = new(StringComparer.Ordinal);
    public List<FailureReport> Failures { get; } = [];
    public List<string> LenientCases { get; } = [];

    public void Add(CaseVerdict v)
    {
        Cases++;
        switch (v.Outcome)
        {
            case Outcome.Pass: Passed++; break;
            case Outcome.Fail: Failed++; break;
            case Outcome.Lenient: Lenient++; break;
        }
        foreach (var t in v.Tensors)
        {
            if (!WorstByClass.TryGetValue(t.Class, out var w)) WorstByClass[t.Class] = w = new ClassWorst();
            w.MaxAbs = Math.Max(w.MaxAbs, t.Stats.MaxAbs);
            w.MaxRel = Math.Max(w.MaxRel, t.Stats.MaxRel);
            w.Nmse = Math.Max(w.Nmse, t.Stats.Nmse);
            w.Tensors++;
        }
        foreach (var n in v.NotCovered) NotCoveredOutputs.Add(n);
    }
}

/// <summary>The whole run: per surface, cases run, passed, worst error per class, coverage, shrunk failures.</summary>
public sealed class ConformanceReport(PortInfo port, ulong seed)
{
    public PortInfo Port { get; } = port;
    public ulong Seed { get; } = seed;
    public List<SurfaceReport> Surfaces { get; } = [];
    public bool Strict { get; init; }

    /// <summary>Every covered case passed (and, with --strict, no case was lenient), and at least one surface was covered.</summary>
    public bool Passed => Surfaces.Any(s => s.Covered) && Surfaces.All(s => s.Failed == 0 && (!Strict || s.Lenient == 0));

    public JsonObject ToJson()
    {
        var surfaces = new JsonArray();
        foreach (var s in Surfaces)
        {
            var classes = new JsonObject();
            foreach (var (k, w) in s.WorstByClass)
                classes[k] = new JsonObject { ["max_abs"] = Num(w.MaxAbs), ["max_rel"] = Num(w.MaxRel), ["nmse"] = Num(w.Nmse), ["tensors"] = w.Tensors };
            surfaces.Add(new JsonObject
            {
                ["surface"] = s.Name,
                ["covered"] = s.Covered,
                ["cases"] = s.Cases,
                ["passed"] = s.Passed,
                ["failed"] = s.Failed,
                ["lenient"] = s.Lenient,
                ["seconds"] = Math.Round(s.Seconds, 2),
                ["worst_by_class"] = classes,
                ["not_covered_outputs"] = new JsonArray(s.NotCoveredOutputs.Select(n => (JsonNode)n).ToArray()),
                ["lenient_cases"] = new JsonArray(s.LenientCases.Select(n => (JsonNode)n).ToArray()),
                ["failures"] = new JsonArray(s.Failures.Select(f => (JsonNode)new JsonObject
                {
                    ["case_index"] = f.CaseIndex,
                    ["kind"] = f.Kind,
                    ["original"] = f.Original,
                    ["original_size"] = f.OriginalSize,
                    ["shrunk"] = f.Shrunk,
                    ["shrunk_size"] = f.ShrunkSize,
                    ["shrink_steps"] = f.ShrinkSteps,
                    ["problems"] = new JsonArray(f.Problems.Select(p => (JsonNode)p).ToArray()),
                    ["folder"] = f.Folder,
                    ["replay"] = f.Replay,
                }).ToArray()),
            });
        }
        return new JsonObject
        {
            ["port"] = new JsonObject { ["name"] = Port.Name, ["version"] = Port.Version, ["surfaces"] = new JsonArray(Port.Surfaces.Select(n => (JsonNode)n).ToArray()) },
            ["seed"] = Seed,
            ["passed"] = Passed,
            ["surfaces"] = surfaces,
        };
    }

    /// <summary>A number for JSON: finite values as numbers, infinities and NaN (a port's NaN where the reference has none) as strings.</summary>
    private static JsonNode Num(double v) => double.IsFinite(v) ? JsonValue.Create(v) : JsonValue.Create(double.IsNaN(v) ? "nan" : v > 0 ? "inf" : "-inf");

    public string ToText()
    {
        var sb = new System.Text.StringBuilder();
        sb.AppendLine($"port {Port.Name} {Port.Version}, seed {Seed}");
        foreach (var s in Surfaces)
        {
            if (!s.Covered) { sb.AppendLine($"{s.Name,-10} not covered (the port does not implement it)"); continue; }
            sb.AppendLine(FormattableString.Invariant($"{s.Name,-10} {s.Cases} cases, {s.Passed} passed, {s.Failed} failed{(s.Lenient > 0 ? $", {s.Lenient} answered where the reference refuses" : "")} ({s.Seconds:0.0} s)"));
            foreach (var (k, w) in s.WorstByClass)
                sb.AppendLine(FormattableString.Invariant($"           worst {k}: max_abs {w.MaxAbs:0.###e+0} max_rel {w.MaxRel:0.###e+0} nmse {w.Nmse:0.###e+0} over {w.Tensors} tensors"));
            if (s.NotCoveredOutputs.Count > 0)
                sb.AppendLine($"           not covered: {string.Join(", ", s.NotCoveredOutputs.Take(8))}{(s.NotCoveredOutputs.Count > 8 ? $" and {s.NotCoveredOutputs.Count - 8} more" : "")}");
            foreach (var l in s.LenientCases.Take(3)) sb.AppendLine($"           answers where the reference refuses: {l}");
            foreach (var f in s.Failures)
            {
                sb.AppendLine($"  FAIL case {f.CaseIndex}: {f.Original}");
                if (f.Kind.Length > 0) sb.AppendLine($"       kind: {f.Kind}");
                if (f.ShrinkSteps > 0 || f.Shrunk != f.Original) // graded offline (case packs): nothing was shrunk
                    sb.AppendLine($"       shrunk in {f.ShrinkSteps} steps (size {f.OriginalSize} -> {f.ShrunkSize}) to: {f.Shrunk}");
                foreach (var p in f.Problems.Take(4)) sb.AppendLine($"       {p}");
                sb.AppendLine($"       case folder: {f.Folder}");
                sb.AppendLine($"       replay: {f.Replay}");
            }
        }
        sb.AppendLine(Passed ? "PASS: every covered case agrees with the reference" : "FAIL");
        return sb.ToString();
    }
}
