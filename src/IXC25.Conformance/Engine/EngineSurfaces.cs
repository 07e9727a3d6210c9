namespace IXC25.Conformance.Engine;

/// <summary>The engine's implementation of every surface (one file each in this folder).</summary>
public static class EngineSurfaces
{
    public static IReadOnlyList<IEngineSurface> All { get; } =
    [
        new TokenizeEngine(),
        new PromptEngine(),
        new PartitionEngine(),
        new RopeEngine(),
        new OpEngine(),
        new LayerEngine(),
        new ModelEngine(),
    ];
}
