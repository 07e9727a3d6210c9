using IXC25.Conformance.Kit;
using IXC25.Conformance.Surfaces;
using IXC25.Conformance.Tests.MlTokenizers;
using MlTokenizersPort;
using Xunit.Abstractions;

namespace IXC25.Conformance.Tests;

/// <summary>
/// The worked example of docs/PORTING.md (worked example): the kit against a real foreign implementation,
/// Microsoft.ML.Tokenizers on the InternLM2 tokenizer.model. Each known kind of difference must still be
/// found with the default case count and a fixed seed, and shrunk to a few characters; if the library
/// changes (a fix, a new bug) or the kit regresses (a kind no longer told apart, shrinking weaker), a test
/// here says so.
/// </summary>
public sealed class MlTokenizersTests(ReferenceFixture fixture, ITestOutputHelper output) : IClassFixture<ReferenceFixture>
{
    private const ulong Seed = 1;

    private SurfaceReport Run(SpecialTokenSplit split)
    {
        using var port = new InProcessMlTokenizersPort(split);
        string outDir = Path.Combine(Path.GetTempPath(), $"ixc25-mltokenizers-{split}-{Environment.ProcessId}");
        var runner = new ConformanceRunner(port, fixture.Reference, SurfaceCatalog.All);
        // MaxShrinks above the number of kinds: every kind the run meets is shrunk
        var report = runner.Run(new ConformanceOptions { Surfaces = ["tokenize"], Seed = Seed, OutDir = outDir, MaxShrinks = 10 });
        output.WriteLine(report.ToText());
        try { Directory.Delete(outDir, recursive: true); } catch (DirectoryNotFoundException) { }
        return report.Surfaces.Single();
    }

    private static FailureReport Kind(SurfaceReport r, string kind) =>
        r.Failures.SingleOrDefault(f => f.Kind == kind) ?? throw new Xunit.Sdk.XunitException(
            $"kind '{kind}' not found; the run found: {string.Join("; ", r.Failures.Select(f => $"{f.Kind} ({f.Shrunk})"))}");

    [Fact]
    public void With_the_ports_settings_the_three_known_differences_are_found_and_shrunk()
    {
        var r = Run(SpecialTokenSplit.TransformersAndUnused);
        Assert.Equal(
            new[] { TokenizeFailureKind.DifferentText, TokenizeFailureKind.DifferentWhitespace, TokenizeFailureKind.Segmentation }.Order(),
            r.Failures.Select(f => f.Kind).Order());

        // library bug: EncodeToIds returns [] for empty text before it adds BOS
        var bos = Kind(r, TokenizeFailureKind.DifferentText);
        Assert.Equal(1, bos.ShrunkSize); // the empty text with add_bos
        Assert.Contains("text \"\" (0 characters), add_bos true", bos.Shrunk, StringComparison.Ordinal);

        // transformers strips whitespace around <s>, </s>, <unk>; the library has no such setting:
        // one whitespace character next to one special literal
        var ws = Kind(r, TokenizeFailureKind.DifferentWhitespace);
        Assert.True(ws.ShrunkSize <= 10, $"whitespace difference shrunk only to {ws.Shrunk}");
        Assert.Matches("</?(s|unk)>", ws.Shrunk);

        // library bug: BPE score ties merged at the rightmost pair (sentencepiece: leftmost): a run of one character
        var tie = Kind(r, TokenizeFailureKind.Segmentation);
        Assert.True(tie.ShrunkSize <= 12, $"tie difference shrunk only to {tie.Shrunk}");
    }

    [Fact]
    public void Without_special_tokens_the_kit_finds_the_unused_tokens_split_into_pieces()
    {
        var r = Run(SpecialTokenSplit.None);
        var split = Kind(r, TokenizeFailureKind.SplitsSpecial);
        // shrunk to the literal alone: [UNUSED_TOKEN_n] (or </s>, <unk>), nothing around it
        Assert.Matches(@"^text ""(\[UNUSED_TOKEN_\d+\]|</s>|<unk>)"" ", split.Shrunk);
    }
}
