namespace IXC25.Conformance.Tests.Mutants;

/// <summary>Every mutant port of the suite: a name, the surface of its bug, how to make it (one file each in this folder).</summary>
public static class MutantCatalog
{
    public static IReadOnlyList<Func<MutantPort>> All { get; } =
    [
        () => new MutantPort("no-byte-fallback", new NoByteFallbackTokenizer()),
        () => new MutantPort("vit-merge-transposed", new VitMergeTransposed()),
        () => new MutantPort("bicubic-hd-resize", new BicubicHdResize()),
        () => new MutantPort("hd-grid-off-by-one", new HdGridOffByOne()),
        () => new MutantPort("ntk-per-call", new NtkPerCallRope()),
        () => new MutantPort("rmsnorm-eps-outside-sqrt", new RmsNormEpsOutsideSqrt()),
        () => new MutantPort("plora-every-token", new PloraEveryToken()),
        () => new MutantPort("rotate-half-swapped", new RotateHalfSwapped()),
        () => new MutantPort("wqkv-gqa-order", new WqkvGqaOrder()),
    ];
}
