using System.CommandLine;
using System.Text.Json;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Packs;
using IXC25.Conformance.Surfaces;
using IXC25.Runtime;

namespace IXC25.Cli.Commands;

/// <summary>
/// <c>ixc25 conform export [--surface NAME]... [--cases N] [--seed S] --out DIR</c> and
/// <c>ixc25 conform grade DIR --results DIR2 [--json] [--strict]</c>: case packs for ports that cannot be driven
/// live (the layout: <see cref="CasePack"/>; the logic: IXC25.Conformance.Packs).
/// </summary>
internal static class ConformPackCommands
{
    public static Command Export()
    {
        var surfaces = new Option<string[]>("--surface") { Description = $"Surface to export (repeatable; default: every surface): {string.Join(", ", SurfaceCatalog.All.Select(s => s.Name))}." };
        var cases = new Option<int?>("--cases") { Description = $"Cases per surface (default: {string.Join(", ", SurfaceCatalog.All.Select(s => $"{s.Name} {PackExporter.DefaultCases(s)}"))})." }.WithinIfGiven(1, OptionLimits.MaxCases);
        var seed = new Option<ulong>("--seed") { Description = "Seed of the generators (the pack's cases are those of a live run with this seed).", DefaultValueFactory = _ => 1 }.Within(ulong.MinValue, ulong.MaxValue);
        var outDir = new Option<string>("--out") { Description = "Folder of the pack (absent or empty).", Required = true };
        var backend = new Option<string>("--backend") { Description = "Backend of the reference for the op, layer and model surfaces.", DefaultValueFactory = _ => "reference" };
        var cmd = new Command("export", "Write a case pack: cases with inputs, requests, the reference's replies and outputs, tolerances and a manifest.json.")
        {
            surfaces, cases, seed, outDir, backend,
        };
        cmd.SetAction(r =>
        {
            var err = r.InvocationConfiguration.Error;
            string dir = r.GetValue(outDir)!;
            using var reference = new EnginePort(r.GetValue(backend)!);
            var manifest = PackExporter.Export(reference, SurfaceCatalog.All, new PackOptions
            {
                Surfaces = r.GetValue(surfaces) ?? [],
                Cases = r.GetValue(cases),
                Seed = r.GetValue(seed),
                Progress = line => err.WriteLine("conform export: " + line),
            }, dir);
            long bytes = new DirectoryInfo(dir).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
            r.InvocationConfiguration.Output.WriteLine(FormattableString.Invariant(
                $"wrote {manifest["cases"]!.AsArray().Count} cases ({bytes / 1e6:0.0} MB) to {Path.GetFullPath(dir)}; grade a port's results with: ixc25 conform grade {ConformCommand.ShellQuote(dir)} --results RESULTS"));
            return 0;
        });
        return cmd;
    }

    public static Command Grade()
    {
        var pack = new Argument<string>("DIR") { Description = "The case pack (written by conform export)." };
        var results = new Option<string>("--results") { Description = "The port's results: RESULTS/ID/reply.json and its output file for each case ID.", Required = true };
        var json = new Option<bool>("--json") { Description = "Print the report as one JSON document on stdout." };
        var strict = new Option<bool>("--strict") { Description = "Count answers where the reference refuses as failures." };
        var cmd = new Command("grade", "Grade a port's offline results for a case pack; exit 0 only if every case passes.") { pack, results, json, strict };
        cmd.SetAction(r =>
        {
            var report = PackGrader.Grade(r.GetValue(pack)!, r.GetValue(results)!, SurfaceCatalog.All, r.GetValue(strict));
            var stdout = r.InvocationConfiguration.Output;
            stdout.Write(r.GetValue(json) ? report.ToJson().ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n" : report.ToText());
            return report.Passed ? 0 : 1;
        });
        return cmd;
    }
}
