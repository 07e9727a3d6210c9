using IXC25.Conformance.Kit;
using IXC25.Conformance.Surfaces;
using IXC25.Conformance.Surfaces.Images;
using IXC25.Runtime;
using IXC25.Vision.Imaging;
using Xunit.Abstractions;

namespace IXC25.Conformance.Tests;

/// <summary>The partition and prompt surfaces: exact PNG inputs, and default cases that reach the inputs issue 18 names.</summary>
public sealed class VisionSurfaceTests(ReferenceFixture fixture, ITestOutputHelper output) : IClassFixture<ReferenceFixture>
{
    [Theory]
    [InlineData(PngPixelFormat.Rgb8)]
    [InlineData(PngPixelFormat.Gray8)]
    [InlineData(PngPixelFormat.GrayAlpha8)]
    [InlineData(PngPixelFormat.Rgba8)]
    [InlineData(PngPixelFormat.Rgb16)]
    public void Synthetic_png_decodes_to_its_samples(PngPixelFormat format)
    {
        string dir = Directory.CreateTempSubdirectory("ixc25-png-").FullName;
        try
        {
            foreach (var pattern in Enum.GetValues<ImagePattern>())
            {
                var image = new SyntheticImage(37, 23, format, pattern, seed: 7);
                string path = Path.Combine(dir, "i.png");
                image.WritePng(path);
                using var decoded = ImageDecoder.Decode(path);
                Assert.Equal((37, 23), (decoded.Width, decoded.Height));
                bool gray = PngWriter.Channels(format) <= 2;
                for (int y = 0; y < 23; y++)
                    for (int x = 0; x < 37; x++)
                        for (int c = 0; c < 3; c++)
                            // PIL's convert('RGB'): gray replicated, alpha dropped, 16-bit samples keep their high byte
                            Assert.Equal(image.Sample(x, y, gray ? 0 : c) >> 8, decoded.Pixels[(y * 37 + x) * 3 + c]);
            }
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Gray16_png_is_refused_by_the_reference_decoder()
    {
        string dir = Directory.CreateTempSubdirectory("ixc25-png-").FullName;
        try
        {
            string path = Path.Combine(dir, "g.png");
            new SyntheticImage(5, 4, PngPixelFormat.Gray16, ImagePattern.Noise, 1).WritePng(path);
            Assert.Throws<IxcException>(() => ImageDecoder.Decode(path));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }

    [Fact]
    public void Partition_default_cases_reach_the_limits()
    {
        ISurface s = new PartitionSurface();
        var cases = Enumerable.Range(0, s.DefaultCases).Select(i => (PartitionCase)s.Generate(1, i, s.DefaultCases)).ToList();
        foreach (var c in cases) output.WriteLine(s.Describe(c));
        foreach (var f in Enum.GetValues<PngPixelFormat>()) Assert.Contains(cases, c => c.Format == f);
        Assert.Contains(cases, c => c.HdNum == 1);
        Assert.Contains(cases, c => c.HdNum >= 24);
        Assert.Contains(cases, c => Math.Min(c.Width, c.Height) == 1);
        Assert.Contains(cases, c => Math.Max(c.Width, c.Height) >= 20 * Math.Min(c.Width, c.Height) && Math.Min(c.Width, c.Height) > 1);
        Assert.Contains(cases, c => c.Width == c.Height);
        Assert.Contains(cases, c => new[] { c.Width, c.Height }.Any(v => (v + 1) % 560 <= 2 || (v + 1) % 336 <= 2));
        Assert.All(cases, c => Assert.True((long)c.Width * c.Height <= PartitionSurface.MaxPixels));
        // upstream refuses some (a resized side of 0 pixels): so does the reference
        var runs = RunAll(s, cases.Where(c => c.Format != PngPixelFormat.Gray16 && Math.Min(c.Width, c.Height) == 1).Cast<object>());
        Assert.Contains(runs, r => r.Reference.Status == Protocol.ReplyStatus.Refused);
        Assert.Contains(runs, r => r.Reference.IsOk);
    }

    [Fact]
    public void Prompt_default_cases_reach_truncation_refusal_and_every_image_count()
    {
        ISurface s = new PromptSurface();
        var cases = Enumerable.Range(0, s.DefaultCases).Select(i => (PromptCase)s.Generate(1, i, s.DefaultCases)).ToList();
        for (int n = 0; n <= 3; n++) Assert.Contains(cases, c => c.Images.Count == n);
        Assert.Contains(cases, c => c.History.Count == 2);
        Assert.Contains(cases, c => c.Meta is { Length: > 0 });
        var runs = RunAll(s, cases.Cast<object>());
        foreach (var r in runs) output.WriteLine($"{r.Reference.Status} {(r.Reference.IsOk ? r.Reference.Fields["ids"]!.AsArray().Count : 0)} {s.Describe(r.Case)[..Math.Min(100, s.Describe(r.Case).Length)]}");
        Assert.All(runs, r => Assert.True(r.Verdict.Outcome == Outcome.Pass, r.Verdict.Problems.FirstOrDefault()));
        Assert.Contains(runs, r => r.Reference.Status == Protocol.ReplyStatus.Refused);
        Assert.Contains(runs, r => r.Reference.IsOk && r.Reference.Fields["ids"]!.AsArray().Count == Tokenizer.Prompt.ChatPrompt.DefaultMaxLength);
        Assert.Contains(runs, r => r.Reference.IsOk && r.Reference.Fields["image_spans"]!.AsArray().Count == 3);
    }

    private List<CaseRun> RunAll(ISurface s, IEnumerable<object> cases)
    {
        string dir = Directory.CreateTempSubdirectory($"ixc25-{s.Name}-").FullName;
        try { return cases.Select(c => CaseRunner.Run(s, c, fixture.Reference, fixture.Reference, dir, keepFiles: false)).ToList(); }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
