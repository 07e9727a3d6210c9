using IXC25.Conformance.Engine;
using IXC25.Conformance.Kit;
using IXC25.Conformance.Surfaces;
using IXC25.Conformance.Tests.Mutants;
using Xunit.Abstractions;

namespace IXC25.Conformance.Tests;

/// <summary>Shared reference engine of the kit tests (backends made once).</summary>
public sealed class ReferenceFixture : IDisposable
{
    public EnginePort Reference { get; } = new("reference", threads: 2);
    public void Dispose() => Reference.Dispose();
}

/// <summary>
/// Each mutant port (one realistic porting bug) is caught on its surface with the default case count and
/// seed, shrunk to a case no larger than the surface's bound, and passes every other surface.
/// </summary>
public sealed class MutantTests(ReferenceFixture fixture, ITestOutputHelper output) : IClassFixture<ReferenceFixture>
{
    /// <summary>The largest size (ISurface.Size) a shrunk counterexample may have, per surface.</summary>
    public static readonly IReadOnlyDictionary<string, long> ShrinkBound = new Dictionary<string, long>
    {
        ["tokenize"] = 4, // one character (2 per character, +1 with BOS)
        // the bug lives in the image tokens: one image (1 + pixels/64) is left, with hd_num 1 and no query text;
        // 2 allows one image of up to 8x8 pixels (its crop grid is 1x1 at any size up to 560 pixels)
        ["model"] = 2,
        // a few pixels (Size = pixels + one per remaining step of hd_num, format, pattern, seed): the grid bug
        // shows on a 1x1 image, the bicubic one needs two different pixels (e.g. a 2x1 gradient)
        ["partition"] = 6,
        // rope: two calls (a long one, then a shorter one the stale base shows in), one position >= 1, head dim 4:
        // 2 rows x 4 + lengths + position + max_position_embeddings + scaling, e.g. calls [3, 2] at max_pos 1: 16
        ["rope"] = 40,
        // op: rms_norm on one row of one element is 2 input elements (x and weight); a few more where eps's place
        // shows only with several elements
        ["op"] = 8,
        // layer: the smallest layer is C = 2 (one head of dim 2), F = 1, rank 1, T = 1: 51 elements; rotate_half
        // needs 2 tokens (relative angles), the GQA order 2 query heads (C = 4); T = 2 with 2 heads and 1 or 2 kv
        // heads stays under 200
        ["layer"] = 200,
    };

    public static IEnumerable<object[]> Mutants() => MutantCatalog.All.Select((_, i) => new object[] { i });

    [Theory]
    [MemberData(nameof(Mutants))]
    public void Mutant_is_caught_on_its_surface_and_shrunk(int index)
    {
        using var mutant = MutantCatalog.All[index]();
        var surface = SurfaceCatalog.Get(mutant.Surface);
        string outDir = Path.Combine(Path.GetTempPath(), $"ixc25-mutant-{mutant.Name}-{Environment.ProcessId}");
        var runner = new ConformanceRunner(mutant, fixture.Reference, SurfaceCatalog.All);
        var report = runner.Run(new ConformanceOptions { Surfaces = [surface.Name], OutDir = outDir, MaxShrinks = 1 });
        output.WriteLine(report.ToText());
        var r = report.Surfaces.Single();
        Assert.True(r.Failed > 0, $"mutant {mutant.Name} was not caught on {surface.Name}");
        var f = r.Failures[0];
        Assert.True(f.ShrunkSize <= ShrinkBound[surface.Name], $"mutant {mutant.Name}: shrunk case {f.Shrunk} has size {f.ShrunkSize} > bound {ShrinkBound[surface.Name]}");
        Assert.True(File.Exists(Path.Combine(f.Folder, "case.json")));
        Directory.Delete(outDir, recursive: true);
    }

    [Theory]
    [MemberData(nameof(Mutants))]
    public void Mutant_passes_every_other_surface(int index)
    {
        using var mutant = MutantCatalog.All[index]();
        var others = SurfaceCatalog.All.Where(s => s.Name != mutant.Surface && s.Name != "model").Select(s => s.Name).ToList();
        if (others.Count == 0) return;
        var runner = new ConformanceRunner(mutant, fixture.Reference, SurfaceCatalog.All);
        // a few cases per other surface: the mutant's bug must not leak there
        var report = runner.Run(new ConformanceOptions { Surfaces = others, Cases = 8, OutDir = Path.GetTempPath() });
        output.WriteLine(report.ToText());
        Assert.True(report.Passed, report.ToText());
    }
}
