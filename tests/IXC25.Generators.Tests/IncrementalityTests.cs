using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;

namespace IXC25.Generators.Tests;

public class IncrementalityTests
{
    private static IncrementalStepRunReason[] Reasons(GeneratorDriver driver, string step) =>
        driver.GetRunResult().Results.Single().TrackedSteps[step].SelectMany(s => s.Outputs).Select(o => o.Reason).ToArray();

    [Fact]
    public void SameSpecIsCachedAcrossRuns()
    {
        var driver = GeneratorHarness.CreateDriver(GeneratorHarness.RealSpec(), "model,taps,ops");
        var compilation = GeneratorHarness.EmptyCompilation("class A {}");
        driver = driver.RunGenerators(compilation);
        Assert.All(Reasons(driver, SpecGenerator.ParseStep), r => Assert.Equal(IncrementalStepRunReason.New, r));

        // an unrelated code edit: the parsed spec is reused, nothing is re-emitted
        driver = driver.RunGenerators(compilation.AddSyntaxTrees(CSharpSyntaxTree.ParseText("class B {}", GeneratorHarness.ParseOptions)));
        Assert.All(Reasons(driver, SpecGenerator.ParseStep), r => Assert.Equal(IncrementalStepRunReason.Cached, r));
        var outputs = driver.GetRunResult().Results.Single().TrackedOutputSteps.SelectMany(kv => kv.Value).SelectMany(s => s.Outputs).Select(o => o.Reason);
        Assert.All(outputs, r => Assert.Equal(IncrementalStepRunReason.Cached, r));
    }

    [Fact]
    public void EditingTheSpecReparses()
    {
        var texts = GeneratorHarness.RealSpec().Select(kv => new GeneratorHarness.MemoryText(Path.Combine(GeneratorHarness.SpecDir, kv.Key), kv.Value)).ToList();
        var driver = GeneratorHarness.CreateDriver(texts, "ops");
        var compilation = GeneratorHarness.EmptyCompilation("class A {}");
        driver = driver.RunGenerators(compilation);
        var edited = GeneratorHarness.Mutate("ops.json", n => n["ops"]![0]!["doc"] = "edited")["ops.json"];
        var old = texts.Single(t => t.Path.EndsWith("ops.json", StringComparison.Ordinal));
        driver = driver.ReplaceAdditionalText(old, new GeneratorHarness.MemoryText(old.Path, edited));
        driver = driver.RunGenerators(compilation);
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, SpecGenerator.ParseStep));
    }

    [Fact]
    public void AnEditThatDoesNotChangeTheParsedSpecIsUnchanged()
    {
        // reformatting or editing the file-level doc string parses to an equal model: emission is skipped
        var texts = GeneratorHarness.RealSpec().Select(kv => new GeneratorHarness.MemoryText(Path.Combine(GeneratorHarness.SpecDir, kv.Key), kv.Value)).ToList();
        var driver = GeneratorHarness.CreateDriver(texts, "ops");
        var compilation = GeneratorHarness.EmptyCompilation("class A {}");
        driver = driver.RunGenerators(compilation);
        var old = texts.Single(t => t.Path.EndsWith("ops.json", StringComparison.Ordinal));
        driver = driver.ReplaceAdditionalText(old, new GeneratorHarness.MemoryText(old.Path, GeneratorHarness.Mutate("ops.json", n => n["doc"] = "edited")["ops.json"]));
        driver = driver.RunGenerators(compilation);
        Assert.All(Reasons(driver, SpecGenerator.ParseStep), r => Assert.Equal(IncrementalStepRunReason.Unchanged, r));
    }

    [Fact]
    public void AToleranceEditReEmitsTheToleranceTableButNotTheKernels()
    {
        // each target is its own output over the part of the spec it reads: a tolerance edit changes the
        // tolerance table only; the CPU kernels, the GEMM micro-kernels, the adapters and the registry are cached
        var texts = GeneratorHarness.RealSpec().Select(kv => new GeneratorHarness.MemoryText(Path.Combine(GeneratorHarness.SpecDir, kv.Key), kv.Value)).ToList();
        var driver = GeneratorHarness.CreateDriver(texts, "ops,cpu");
        var compilation = GeneratorHarness.EmptyCompilation("class A {}");
        driver = driver.RunGenerators(compilation);
        Assert.All(Reasons(driver, SpecGenerator.GemmTargetStep), r => Assert.Equal(IncrementalStepRunReason.New, r));

        var old = texts.Single(t => t.Path.EndsWith("tolerances.json", StringComparison.Ordinal));
        var edited = GeneratorHarness.Mutate("tolerances.json", n => n["classes"]![0]!["atol"] = 0.125)["tolerances.json"];
        driver = driver.ReplaceAdditionalText(old, new GeneratorHarness.MemoryText(old.Path, edited));
        driver = driver.RunGenerators(compilation);

        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, SpecGenerator.ParseStep));
        Assert.Contains(IncrementalStepRunReason.Modified, Reasons(driver, SpecGenerator.ToleranceTargetStep));
        foreach (var step in new[] { SpecGenerator.OpsStep, SpecGenerator.CpuTargetStep, SpecGenerator.GemmTargetStep, SpecGenerator.QuantTargetStep, SpecGenerator.OpsTargetStep })
            Assert.All(Reasons(driver, step), r => Assert.True(r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{step}: {r}"));
        var table = driver.GetRunResult().Results.Single().GeneratedSources.Single(s => s.HintName == "ToleranceTable.g.cs").SourceText.ToString();
        Assert.Contains("0.125d", table);
    }
}
