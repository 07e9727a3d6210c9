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
}
