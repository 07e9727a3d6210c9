using System.Text.Json.Nodes;
using IXC25.Conformance.Engine;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Packs;
using IXC25.Conformance.Surfaces;
using IXC25.Conformance.Tests.Mutants;
using IXC25.Runtime;
using Xunit.Abstractions;

namespace IXC25.Conformance.Tests;

/// <summary>Two packs exported once: tokenize with its default pack count, model with two cases (the second has an image).</summary>
public sealed class PackFixture : IDisposable
{
    public string Root { get; } = Path.Combine(Path.GetTempPath(), $"ixc25-packs-{Environment.ProcessId}-{Guid.NewGuid():N}");
    public string Tokenize => Path.Combine(Root, "tokenize");
    public string Model => Path.Combine(Root, "model");

    public PackFixture()
    {
        using var reference = new EnginePort("reference", threads: 2);
        PackExporter.Export(reference, SurfaceCatalog.All, new PackOptions { Surfaces = ["tokenize"], Seed = 1 }, Tokenize);
        PackExporter.Export(reference, SurfaceCatalog.All, new PackOptions { Surfaces = ["model"], Cases = 2, Seed = 1 }, Model);
    }

    /// <summary>A fresh results folder.</summary>
    public string Results(string name)
    {
        string dir = Path.Combine(Root, "results-" + name);
        if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        Directory.CreateDirectory(dir);
        return dir;
    }

    public void Dispose()
    {
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { }
    }
}

/// <summary>Case packs: export, offline results, grading with the live kit's comparison and report.</summary>
public sealed class PackTests(PackFixture packs, ITestOutputHelper output) : IClassFixture<PackFixture>
{
    [Fact]
    public void Export_writes_every_case_with_its_request_inputs_expected_outputs_and_manifest()
    {
        var (manifest, cases) = CasePack.ReadManifest(packs.Model);
        Assert.Equal(1UL, (ulong)manifest["seed"]!);
        Assert.Equal(["model-0", "model-1"], cases.Select(c => c.Id));
        Assert.Contains(cases, c => c.Inputs.Any(i => i.EndsWith(".png", StringComparison.Ordinal))); // an image case
        foreach (var c in cases)
        {
            string dir = Path.Combine(packs.Model, CasePack.CasesFolder, c.Id);
            var request = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, CasePack.RequestFile)))!;
            Assert.Equal(".", (string?)request["work"]);
            Assert.Equal(CasePack.PortOut, (string?)request["out"]);
            Assert.Equal(c.RequestId, (long)request["id"]!);
            foreach (var f in c.Inputs.Concat(c.Expected)) Assert.True(File.Exists(Path.Combine(dir, f)), $"{c.Id}: {f} missing");
            Assert.Contains("llm", c.ToleranceClasses);
            Assert.NotNull(manifest["tolerances"]!["llm"]);
        }
        var (_, tokenize) = CasePack.ReadManifest(packs.Tokenize);
        Assert.Equal(PackExporter.PackCases["tokenize"], tokenize.Count);
        Assert.All(tokenize, c => Assert.Null(c.Out));
    }

    [Fact]
    public void Grade_of_the_engines_own_results_passes()
    {
        foreach (var pack in new[] { packs.Tokenize, packs.Model })
        {
            string results = packs.Results("engine-" + Path.GetFileName(pack));
            using (var engine = new EnginePort("reference", threads: 2)) PackRunner.Run(engine, pack, results);
            var report = PackGrader.Grade(pack, results, SurfaceCatalog.All);
            output.WriteLine(report.ToText());
            Assert.True(report.Passed, report.ToText());
            Assert.All(report.Surfaces, s => Assert.Equal(s.Cases, s.Passed));
        }
    }

    [Theory]
    [InlineData("no-byte-fallback", "tokenize")]
    [InlineData("vit-merge-transposed", "model")]
    public void Grade_of_a_mutants_results_fails(string mutantName, string surface)
    {
        string pack = surface == "model" ? packs.Model : packs.Tokenize;
        string results = packs.Results("mutant-" + mutantName);
        using (var mutant = Mutant(mutantName)) PackRunner.Run(mutant, pack, results);
        var report = PackGrader.Grade(pack, results, SurfaceCatalog.All);
        output.WriteLine(report.ToText());
        Assert.False(report.Passed);
        var r = report.Surfaces.Single(s => s.Name == surface);
        Assert.True(r.Failed > 0);
        Assert.NotEmpty(r.Failures[0].Problems);
    }

    private static MutantPort Mutant(string name)
    {
        foreach (var make in MutantCatalog.All)
        {
            var m = make();
            if (m.Name == name) return m;
            m.Dispose();
        }
        throw new InvalidOperationException($"no mutant {name} in MutantCatalog");
    }

    [Fact]
    public void A_missing_result_fails_with_no_result()
    {
        string results = packs.Results("missing");
        var report = PackGrader.Grade(packs.Tokenize, results, SurfaceCatalog.All);
        var r = report.Surfaces.Single();
        Assert.False(report.Passed);
        Assert.Equal(r.Cases, r.Failed);
        Assert.StartsWith("no result", r.Failures[0].Problems[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_and_wrong_ids_in_results_fail_with_a_clear_line()
    {
        string results = packs.Results("garbage");
        using (var engine = new EnginePort("reference", threads: 2)) PackRunner.Run(engine, packs.Tokenize, results);
        File.WriteAllText(Path.Combine(results, "tokenize-0", CasePack.ReplyFile), "not json");
        File.WriteAllText(Path.Combine(results, "tokenize-1", CasePack.ReplyFile), "{\"id\": 999, \"status\": \"ok\", \"ids\": []}");
        var report = PackGrader.Grade(packs.Tokenize, results, SurfaceCatalog.All);
        Assert.Equal(2, report.Surfaces.Single().Failed);
        var surface = SurfaceCatalog.Get("tokenize");
        var cases = CasePack.ReadManifest(packs.Tokenize).Cases;
        string Problem(int k) => PackGrader.GradeCase(packs.Tokenize, results, surface, cases[k], surface.FromJson(cases[k].Case)).Problems.Single();
        Assert.Contains("not a JSON object", Problem(0), StringComparison.Ordinal);
        Assert.Contains("id 999", Problem(1), StringComparison.Ordinal);
    }

    [Fact]
    public void Export_refuses_a_folder_that_is_not_empty()
    {
        using var reference = new EnginePort("reference", threads: 2);
        var e = Assert.Throws<IxcException>(() => PackExporter.Export(reference, SurfaceCatalog.All, new PackOptions { Surfaces = ["tokenize"], Cases = 1 }, packs.Tokenize));
        Assert.Contains("not empty", e.Message, StringComparison.Ordinal);
    }
}
