using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 conform --port "COMMAND" [--surface NAME]... [--cases N] [--seed S] [--json] [--out DIR]</c>:
/// drives a port (a command speaking spec/port.json's protocol) through generated cases of every surface it
/// implements, compares each with this engine, shrinks failures and writes each shrunk failing case as a
/// self-contained folder under --out. Exit 0 only when every covered case passes. <c>--replay CASE.json</c>
/// runs one case again. Subcommands export and grade work with case packs (ports that cannot be driven live).
/// </summary>
internal static class ConformCommand
{
    public static Command Create()
    {
        var port = new Option<string>("--port") { Description = "The port's command line (run with /bin/sh -c); e.g. \"python3 my_port.py\" or \"./ixc25 serve-port\"." };
        var surfaces = new Option<string[]>("--surface") { Description = $"Surface to run (repeatable; default: every surface the port implements): {string.Join(", ", SurfaceCatalog.All.Select(s => s.Name))}." };
        var cases = new Option<int?>("--cases") { Description = "Cases per surface (default: each surface's own count)." }.WithinIfGiven(1, OptionLimits.MaxCases);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the generators (a run is reproducible from it).", DefaultValueFactory = _ => 1 }.Within(ulong.MinValue, ulong.MaxValue);
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON document on stdout." };
        var outDir = new Option<string>("--out") { Description = "Folder for the shrunk failing cases.", DefaultValueFactory = _ => "conform-out" };
        var replay = new Option<string?>("--replay") { Description = "Run only the case of this case.json (written in every failing case's folder)." };
        var timeout = new Option<double>("--timeout") { Description = "Seconds a port may take for one request before it counts as hung.", DefaultValueFactory = _ => 60 }.Within(0, OptionLimits.MaxTimeoutSeconds, minOpen: true);
        var backend = new Option<string>("--backend") { Description = "Backend of the reference for the op, layer and model surfaces.", DefaultValueFactory = _ => "reference" };
        var strict = new Option<bool>("--strict") { Description = "Count answers where the reference refuses as failures." };
        var cmd = new Command("conform", "Check a port of IXC-2.5 against this engine: generated cases per surface, shrunk failures, a report per surface.")
        {
            port, surfaces, cases, seed, json, outDir, replay, timeout, backend, strict,
        };
        cmd.Subcommands.Add(ConformPackCommands.Export());
        cmd.Subcommands.Add(ConformPackCommands.Grade());
        cmd.SetAction(r =>
        {
            string command = r.GetValue(port) ?? throw new IxcException("conform: --port \"COMMAND\" is required (or use 'conform export' / 'conform grade')");
            double t = r.GetValue(timeout);
            var err = r.InvocationConfiguration.Error;
            var stdout = r.InvocationConfiguration.Output;
            using var reference = new EnginePort(r.GetValue(backend)!);
            using var target = new ProcessPort(command, TimeSpan.FromSeconds(t));
            var runner = new ConformanceRunner(target, reference, SurfaceCatalog.All);
            if (r.GetValue(replay) is { } casePath) return Replay(runner, casePath, command, r.GetValue(outDir)!, stdout);
            var options = new ConformanceOptions
            {
                Surfaces = r.GetValue(surfaces) ?? [],
                Cases = r.GetValue(cases),
                Seed = r.GetValue(seed),
                OutDir = r.GetValue(outDir)!,
                Strict = r.GetValue(strict),
                ReplayCommand = p => $"./ixc25 conform --port {ShellQuote(command)} --replay {ShellQuote(p)}",
                Progress = line => err.WriteLine("conform: " + line),
            };
            err.WriteLine($"conform: port {target.Info.Name} {target.Info.Version} implements {string.Join(", ", target.Info.Surfaces)}");
            var report = runner.Run(options);
            stdout.Write(r.GetValue(json) ? report.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n" : report.ToText());
            return report.Passed ? 0 : 1;
        });
        return cmd;
    }

    private static int Replay(ConformanceRunner runner, string casePath, string command, string outDir, TextWriter stdout)
    {
        if (!File.Exists(casePath)) throw new IxcException($"--replay: {casePath} not found");
        JsonNode doc;
        try { doc = JsonNode.Parse(File.ReadAllText(casePath)) ?? throw new JsonException("empty"); }
        catch (JsonException e) { throw new IxcException($"--replay: {casePath} is not JSON ({e.Message})"); }
        var surface = SurfaceCatalog.Get((string?)doc["surface"] ?? throw new IxcException($"--replay: {casePath} names no surface"));
        object c;
        try { c = surface.FromJson(doc["case"] ?? throw new IxcException($"--replay: {casePath} holds no case")); }
        catch (Exception e) when (e is InvalidOperationException or NullReferenceException or FormatException or JsonException)
        {
            throw new IxcException($"--replay: {casePath} is not a case of surface {surface.Name} ({e.Message})");
        }
        string folder = Path.Combine(outDir, "replay-" + surface.Name);
        var run = runner.Replay(surface, c, folder);
        stdout.Write(CaseRunner.VerdictText(surface, c, run.Verdict));
        stdout.WriteLine($"case folder: {Path.GetFullPath(folder)}");
        return run.Verdict.Outcome == Outcome.Fail ? 1 : 0;
    }

    /// <summary>A word quoted for /bin/sh when it needs it.</summary>
    public static string ShellQuote(string s) =>
        s.Length > 0 && s.All(ch => char.IsLetterOrDigit(ch) || "-_./=:,+@".Contains(ch)) ? s : "'" + s.Replace("'", "'\\''") + "'";
}
