using IXC25.Conformance.Engine;
using IXC25.Conformance.Ports;
using IXC25.Conformance.Protocol;

namespace IXC25.Conformance.Tests.Mutants;

/// <summary>
/// A mutant port: this engine on every surface except one, where a single realistic porting bug replaces
/// the engine's implementation. Each mutant must be caught on its surface, with the default case count,
/// and nowhere else (<see cref="MutantTests"/>).
/// </summary>
public sealed class MutantPort : IPort
{
    private readonly EnginePort _inner;

    public MutantPort(string name, IEngineSurface bug)
    {
        Name = name;
        Surface = bug.Name;
        _inner = new EnginePort("reference", threads: 2, surfaces: EngineSurfaces.All.Select(s => s.Name == bug.Name ? bug : s));
        Info = new PortInfo("mutant-" + name, "1", _inner.Info.Surfaces);
    }

    public string Name { get; }

    /// <summary>The surface the bug lives on.</summary>
    public string Surface { get; }

    public PortInfo Info { get; }

    public PortReply Call(PortRequest request) => _inner.Call(request);

    public void Dispose() => _inner.Dispose();
}

/// <summary>An engine surface with a bug: wraps the engine's own surface and changes one thing.</summary>
public abstract class BuggySurface(string name) : IEngineSurface
{
    public string Name { get; } = name;
    public abstract PortReply Handle(PortRequest request, EngineContext context);
}
