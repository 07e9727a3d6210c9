namespace IXC25.Conformance.Surfaces;

/// <summary>Every surface the kit drives, in the order of spec/port.json (one file each in this folder).</summary>
public static class SurfaceCatalog
{
    public static IReadOnlyList<ISurface> All { get; } =
    [
        new TokenizeSurface(),
        new PromptSurface(),
        new PartitionSurface(),
        new RopeSurface(),
        new OpSurface(),
        new LayerSurface(),
        new ModelSurface(),
    ];

    public static ISurface Get(string name) => All.FirstOrDefault(s => s.Name == name)
        ?? throw new Runtime.IxcException($"'{name}' is not a surface of the kit (surfaces: {string.Join(", ", All.Select(s => s.Name))})");
}
