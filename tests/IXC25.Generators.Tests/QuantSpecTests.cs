using System.Text.Json.Nodes;

namespace IXC25.Generators.Tests;

/// <summary>spec/quant.json through the generator: the kernels are emitted for the cpu target; a format the emitter
/// cannot compile is a located IXC0003 in quant.json.</summary>
public class QuantSpecTests
{
    private static JsonObject Format(JsonNode q, string name) => q["formats"]!.AsArray().Select(o => o!.AsObject()).Single(o => (string)o["name"]! == name);

    [Fact]
    public void TheRealSpecEmitsTheQuantKernelsForTheCpuTarget()
    {
        var (result, _, _) = GeneratorHarness.Run(GeneratorHarness.RealSpec(), "ops,cpu");
        Assert.Empty(result.Diagnostics);
        var src = result.GeneratedSources.Single(s => s.HintName == "QuantKernels.g.cs").SourceText.ToString();
        foreach (var part in new[] { "struct VnniKernels", "struct Avx2Kernels", "struct Ssse3Kernels", "struct ScalarQuantKernels", "SumsQ8_0", "SumsQ4_0", "public const int Q4_0 = 1;" })
            Assert.Contains(part, src);
    }

    [Theory]
    [InlineData("packing", "nibbles_low_high", "has no kernel emitter")]
    [InlineData("scale_dtype", "f32", "scale_dtype must be f16")]
    [InlineData("block_bytes", "20", "block_bytes must be 18")]
    [InlineData("qmax", "300", "must lie in [-127, 127]")]
    public void AFormatTheEmitterCannotCompileIsIXC0003InQuantJson(string key, string value, string message)
    {
        var spec = GeneratorHarness.Mutate("quant.json", n => Format(n, "q4_0")[key] = int.TryParse(value, out int i) ? JsonValue.Create(i) : JsonValue.Create(value));
        var (result, _, _) = GeneratorHarness.Run(spec, "ops,cpu");
        var d = Assert.Single(result.Diagnostics, x => x.Id == "IXC0003");
        Assert.Contains(message, d.GetMessage());
        Assert.EndsWith("quant.json", d.Location.GetLineSpan().Path);
        Assert.DoesNotContain(result.GeneratedSources, s => s.HintName == "QuantKernels.g.cs");
    }
}
