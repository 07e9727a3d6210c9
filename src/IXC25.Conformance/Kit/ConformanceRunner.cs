using System.Diagnostics;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Surfaces;

namespace IXC25.Conformance.Kit;

/// <summary>Options of a conformance run.</summary>
public sealed record ConformanceOptions
{
    /// <summary>Surfaces to run (empty: every surface of the kit).</summary>
    public IReadOnlyList<string> Surfaces { get; init; } = [];
    /// <summary>Cases per surface (null: each surface's default).</summary>
    public int? Cases { get; init; }
    public ulong Seed { get; init; } = 1;
    /// <summary>Folder for failing cases (each shrunk failure gets a self-contained folder).</summary>
    public string OutDir { get; init; } = "conform-out";
    /// <summary>Distinct failures shrunk per surface (the first failures whose kind differs).</summary>
    public int MaxShrinks { get; init; } = 3;
    /// <summary>Cases tried while shrinking one failure.</summary>
    public int ShrinkBudget { get; init; } = 400;
    /// <summary>Wall-clock budget for shrinking one failure.</summary>
    public TimeSpan ShrinkTime { get; init; } = TimeSpan.FromSeconds(90);
    /// <summary>Count "answers where the reference refuses" as failures.</summary>
    public bool Strict { get; init; }
    /// <summary>The command line that replays a case, given the case.json path (for the report).</summary>
    public Func<string, string> ReplayCommand { get; init; } = p => $"ixc25 conform --port \"...\" --replay {p}";
    /// <summary>Progress lines (long runs).</summary>
    public Action<string>? Progress { get; init; }
}

/// <summary>
/// Drives a port through generated cases per surface (FsCheck generators, seeded per case so that every case
/// is reproducible alone), compares each with the reference, and shrinks failures greedily: the first
/// smaller case that still fails replaces the failing one until no smaller case fails or the budget is spent.
/// </summary>
public sealed class ConformanceRunner(IPort port, IPort reference, IReadOnlyList<ISurface> surfaces)
{
    public ConformanceReport Run(ConformanceOptions o)
    {
        var report = new ConformanceReport(port.Info, o.Seed) { Strict = o.Strict };
        var chosen = o.Surfaces.Count == 0 ? surfaces : o.Surfaces.Select(n => surfaces.FirstOrDefault(s => s.Name == n)
            ?? throw new Runtime.IxcException($"--surface {n}: not a surface of the kit ({string.Join(", ", surfaces.Select(s => s.Name))})")).ToList();
        string work = Directory.CreateTempSubdirectory("ixc25-conform-").FullName;
        try
        {
            foreach (var s in chosen) report.Surfaces.Add(RunSurface(s, o, work));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
        return report;
    }

    private SurfaceReport RunSurface(ISurface s, ConformanceOptions o, string work)
    {
        var r = new SurfaceReport(s.Name);
        if (!port.Info.Surfaces.Contains(s.Name)) return r;
        r.Covered = true;
        int count = o.Cases ?? s.DefaultCases;
        var sw = Stopwatch.StartNew();
        var lastProgress = Stopwatch.StartNew();
        var kinds = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var c = s.Generate(o.Seed, i, count);
            var run = CaseRunner.Run(s, c, port, reference, Path.Combine(work, s.Name, "case"), keepFiles: false);
            r.Add(run.Verdict);
            if (run.Verdict.Outcome == Outcome.Lenient) r.LenientCases.Add(s.Describe(c));
            if (run.Verdict.Outcome == Outcome.Fail && r.Failures.Count < o.MaxShrinks && kinds.Add(run.Verdict.Kind))
                r.Failures.Add(ShrinkAndKeep(s, i, run, o, work));
            if (o.Progress is { } progress && (lastProgress.Elapsed.TotalSeconds >= 5 || i == count - 1))
            {
                progress($"{s.Name}: {i + 1}/{count} cases, {r.Failed} failed ({sw.Elapsed.TotalSeconds:0} s)");
                lastProgress.Restart();
            }
        }
        r.Seconds = sw.Elapsed.TotalSeconds;
        return r;
    }

    /// <summary>Shrinks a failing case and writes the smallest one that still fails into its own folder under OutDir.</summary>
    private FailureReport ShrinkAndKeep(ISurface s, int index, CaseRun failing, ConformanceOptions o, string work)
    {
        var (smallest, steps) = Shrink(s, failing.Case, o, Path.Combine(work, s.Name, "shrink"), failing.Verdict.SurfaceKind);
        string folder = Path.GetFullPath(Path.Combine(o.OutDir, $"{s.Name}-{index}"));
        var final = CaseRunner.Run(s, smallest, port, reference, folder);
        // a port that fails only now and then may pass the final run: keep the original failure then
        if (final.Verdict.Outcome != Outcome.Fail)
        {
            smallest = failing.Case;
            final = CaseRunner.Run(s, smallest, port, reference, folder);
        }
        o.Progress?.Invoke($"{s.Name}: case {index} fails ({failing.Verdict.Summary}); shrunk in {steps} steps to {s.Describe(smallest)}");
        return new FailureReport(s.Name, index, s.Describe(failing.Case), s.Size(failing.Case), s.Describe(smallest), s.Size(smallest), steps,
            final.Verdict.Problems, folder, o.ReplayCommand(Path.Combine(folder, "case.json")))
        { Kind = failing.Verdict.Kind };
    }

    /// <summary>
    /// Greedy shrinking: take the first candidate that still fails (with <paramref name="kind"/> given: fails
    /// with that surface kind), repeat; stop when none fails or the budget is spent.
    /// </summary>
    public (object Smallest, int Steps) Shrink(ISurface s, object failing, ConformanceOptions o, string folder, string? kind = null)
    {
        var sw = Stopwatch.StartNew();
        int tried = 0, steps = 0;
        var current = failing;
        bool improved = true;
        while (improved && tried < o.ShrinkBudget && sw.Elapsed < o.ShrinkTime)
        {
            improved = false;
            long size = s.Size(current);
            foreach (var candidate in s.Shrink(current))
            {
                if (tried >= o.ShrinkBudget || sw.Elapsed >= o.ShrinkTime) break;
                if (s.Size(candidate) > size) continue;
                tried++;
                var run = CaseRunner.Run(s, candidate, port, reference, folder, keepFiles: false);
                if (run.Verdict.Outcome == Outcome.Fail && (kind is null || run.Verdict.Kind == kind))
                {
                    current = candidate;
                    steps++;
                    improved = true;
                    break;
                }
            }
        }
        return (current, steps);
    }

    /// <summary>Runs one case (from a case.json) on the port and the reference, keeping its folder.</summary>
    public CaseRun Replay(ISurface s, object c, string folder) => CaseRunner.Run(s, c, port, reference, folder);
}
